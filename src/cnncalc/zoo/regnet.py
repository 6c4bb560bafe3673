"""RegNetX and RegNetY, as torchvision builds them from the paper's (depth, w_0, w_a, w_m, group width)."""

from __future__ import annotations

import math

from ..builder import Builder
from ..ir import Graph
from . import entry
from .efficientnet import make_divisible


def stage_plan(depth: int, w_0: int, w_a: float, w_m: float, group_width: int) -> list[tuple[int, int, int]]:
    """(width, depth, group width) per stage: torchvision's BlockParams.from_init_params, bottleneck ratio 1.

    Per-block widths come from a linear ramp quantised in log space to powers of w_m and rounded to
    multiples of 8; consecutive blocks of one width form a stage. Then _adjust_widths_groups_compatibilty
    caps the group width at the stage width and rounds the width to a multiple of it.
    """
    widths = []
    for i in range(depth):
        capacity = round(math.log((i * w_a + w_0) / w_0) / math.log(w_m))  # half to even, as torch.round
        widths.append(round(w_0 * w_m**capacity / 8) * 8)
    plan: list[tuple[int, int, int]] = []
    for w in widths:
        if plan and plan[-1][0] == w:
            plan[-1] = (w, plan[-1][1] + 1, 0)
        else:
            plan.append((w, 1, 0))
    adjusted = []
    for w, d, _ in plan:
        g = min(group_width, w)
        adjusted.append((make_divisible(w, g), d, g))
    return adjusted


def regnet(
    name: str, depth: int, w_0: int, w_a: float, w_m: float, group_width: int, se: bool = False, size: int = 224
) -> Graph:
    """Stem 3x3/2 to 32 channels, four stages of residual bottlenecks (first block stride 2), pool, fc."""
    b = Builder(name)
    b.input(f"{size}x{size}x3")
    b.add("conv", 32, k=3, s=2, p=1, bias=False, name="stem.conv")
    b.add("bn", name="stem.bn")
    b.add("relu", inplace=True, name="stem.relu")
    w_in = 32
    for stage, (w_out, n, gw) in enumerate(stage_plan(depth, w_0, w_a, w_m, group_width), start=1):
        for i in range(n):
            x = block_in = b.last
            s = 2 if i == 0 else 1
            p = f"trunk_output.block{stage}.block{stage}-{i}"
            if w_in != w_out or s != 1:
                b.add("conv", w_out, k=1, s=s, bias=False, name=f"{p}.proj.conv", inputs=x)
                x = b.add("bn", name=f"{p}.proj.bn")
            b.add("conv", w_out, k=1, bias=False, name=f"{p}.f.a.conv", inputs=block_in)
            b.add("bn", name=f"{p}.f.a.bn")
            b.add("relu", inplace=True, name=f"{p}.f.a.relu")
            b.add("conv", w_out, k=3, s=s, p=1, g=w_out // gw, bias=False, name=f"{p}.f.b.conv")
            b.add("bn", name=f"{p}.f.b.bn")
            mid = b.add("relu", inplace=True, name=f"{p}.f.b.relu")
            if se:
                # RegNetY's SE: squeeze = round(0.25 * block input width), ReLU, sigmoid gate.
                b.add("gap", name=f"{p}.f.se.pool")
                b.add("conv", round(0.25 * w_in), k=1, name=f"{p}.f.se.fc1")
                b.add("relu", name=f"{p}.f.se.relu")
                b.add("conv", w_out, k=1, name=f"{p}.f.se.fc2")
                b.add("sigmoid", name=f"{p}.f.se.sigmoid")
                b.add("mul", inputs=[mid, b.last], name=f"{p}.f.se.scale")
            b.add("conv", w_out, k=1, bias=False, name=f"{p}.f.c.conv")
            b.add("bn", name=f"{p}.f.c.bn")
            b.add("add", inputs=[x, b.last], name=f"{p}.add")
            b.add("relu", inplace=True, name=f"{p}.relu")
            w_in = w_out
    b.add("gap", name="avgpool")
    b.add("flatten", name="flatten")
    b.add("fc", 1000, name="fc")
    return b.build()


# name: (depth, w_0, w_a, w_m, group width), from torchvision.models.regnet (the paper's Tables).
_X = {
    "400mf": (22, 24, 24.48, 2.54, 16),
    "800mf": (16, 56, 35.73, 2.28, 16),
    "1_6gf": (18, 80, 34.01, 2.25, 24),
    "3_2gf": (25, 88, 26.31, 2.25, 48),
    "8gf": (23, 80, 49.56, 2.88, 120),
    "16gf": (22, 216, 55.59, 2.1, 128),
    "32gf": (23, 320, 69.86, 2.0, 168),
}
_Y = {
    "400mf": (16, 48, 27.89, 2.09, 8),
    "800mf": (14, 56, 38.84, 2.4, 16),
    "1_6gf": (27, 48, 20.71, 2.65, 24),
    "3_2gf": (21, 80, 42.63, 2.66, 24),
    "8gf": (17, 192, 76.82, 2.19, 56),
    "16gf": (18, 200, 106.23, 2.48, 112),
    "32gf": (20, 232, 115.89, 2.53, 232),
    "128gf": (27, 456, 160.83, 2.52, 264),
}


def _register(kind: str, key: str, cfg: tuple[int, int, float, float, int]) -> None:
    name = f"regnet_{kind}_{key}"
    se = kind == "y"
    size = 384 if key == "128gf" else 224  # torchvision's only 128GF weights (SWAG) are evaluated at 384
    label = key.replace("_", ".").upper()
    entry(
        name,
        f"RegNet{kind.upper()}-{label} (torchvision){': bottlenecks with SE' if se else ''}, {size}x{size}",
        f"Radosavovic et al., Designing Network Design Spaces, CVPR 2020; torchvision.models.{name}",
    )(lambda: regnet(name, *cfg, se=se, size=size))


for _key, _cfg in _X.items():
    _register("x", _key, _cfg)
for _key, _cfg in _Y.items():
    _register("y", _key, _cfg)
