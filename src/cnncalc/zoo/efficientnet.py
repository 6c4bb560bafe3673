"""EfficientNet B0-B7 and EfficientNetV2 S/M/L, as torchvision builds them (one builder for all)."""

from __future__ import annotations

import math

from ..builder import Builder
from ..ir import Graph
from . import entry

# A stage: (block, expand ratio, kernel, stride, in channels, out channels, layers); "mb" = MBConv with SE,
# "fused" = FusedMBConv. torchvision's _efficientnet_conf (Table 1 of the V1 paper, Table 4 of V2).
Stage = tuple[str, int, int, int, int, int, int]

V1: list[Stage] = [
    ("mb", 1, 3, 1, 32, 16, 1),
    ("mb", 6, 3, 2, 16, 24, 2),
    ("mb", 6, 5, 2, 24, 40, 2),
    ("mb", 6, 3, 2, 40, 80, 3),
    ("mb", 6, 5, 1, 80, 112, 3),
    ("mb", 6, 5, 2, 112, 192, 4),
    ("mb", 6, 3, 1, 192, 320, 1),
]
V2: dict[str, list[Stage]] = {
    "s": [
        ("fused", 1, 3, 1, 24, 24, 2),
        ("fused", 4, 3, 2, 24, 48, 4),
        ("fused", 4, 3, 2, 48, 64, 4),
        ("mb", 4, 3, 2, 64, 128, 6),
        ("mb", 6, 3, 1, 128, 160, 9),
        ("mb", 6, 3, 2, 160, 256, 15),
    ],
    "m": [
        ("fused", 1, 3, 1, 24, 24, 3),
        ("fused", 4, 3, 2, 24, 48, 5),
        ("fused", 4, 3, 2, 48, 80, 5),
        ("mb", 4, 3, 2, 80, 160, 7),
        ("mb", 6, 3, 1, 160, 176, 14),
        ("mb", 6, 3, 2, 176, 304, 18),
        ("mb", 6, 3, 1, 304, 512, 5),
    ],
    "l": [
        ("fused", 1, 3, 1, 32, 32, 4),
        ("fused", 4, 3, 2, 32, 64, 7),
        ("fused", 4, 3, 2, 64, 96, 7),
        ("mb", 4, 3, 2, 96, 192, 10),
        ("mb", 6, 3, 1, 192, 224, 19),
        ("mb", 6, 3, 2, 224, 384, 25),
        ("mb", 6, 3, 1, 384, 640, 7),
    ],
}


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """torchvision's _make_divisible: round to the nearest multiple, never more than 10% down."""
    min_value = divisor if min_value is None else min_value
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def _conv_bn(b: Builder, name: str, out: int, k: int, s: int = 1, g: int = 1, act: bool = True) -> str:
    # Conv2dNormActivation: padding (k-1)//2, no conv bias, BN, then SiLU unless it is a projection.
    b.add("conv", out, k=k, s=s, p=(k - 1) // 2, g=g, bias=False, name=f"{name}.conv")
    bn = b.add("bn", name=f"{name}.bn")
    return b.add("silu", inplace=True, name=f"{name}.silu") if act else bn


def efficientnet(
    name: str,
    size: int,
    stages: list[Stage],
    dropout: float,
    width: float = 1.0,
    depth: float = 1.0,
    last_channel: int | None = None,
) -> Graph:
    """Stem 3x3/2, the stages of (Fused)MBConv blocks, the 1x1 head conv, pool, dropout, fc."""
    # V1 scales channels with _make_divisible(c * width, 8) and repeats with ceil(n * depth); V2 has
    # width = depth = 1, where both are identities.
    cfg = [
        (kind, e, k, s, make_divisible(cin * width), make_divisible(cout * width), math.ceil(n * depth))
        for kind, e, k, s, cin, cout, n in stages
    ]
    b = Builder(name)
    b.input(f"{size}x{size}x3")
    _conv_bn(b, "features.0", cfg[0][4], 3, 2)
    total = sum(c[6] for c in cfg)
    block_id = 0
    for stage, (kind, expand, k, stride, cin, cout, n) in enumerate(cfg, start=1):
        for i in range(n):
            x = b.last
            c_in, s = (cin, stride) if i == 0 else (cout, 1)
            p = f"features.{stage}.{i}"
            hidden = make_divisible(c_in * expand)
            if kind == "fused":
                if hidden != c_in:
                    _conv_bn(b, f"{p}.expand", hidden, k, s)
                    _conv_bn(b, f"{p}.project", cout, 1, act=False)
                else:
                    _conv_bn(b, f"{p}.conv", cout, k, s)
            else:
                if hidden != c_in:
                    _conv_bn(b, f"{p}.expand", hidden, 1)
                dw = _conv_bn(b, f"{p}.dw", hidden, k, s, g=hidden)
                # Squeeze-and-excitation: squeeze = max(1, block input channels // 4), SiLU, sigmoid gate.
                b.add("gap", name=f"{p}.se.pool")
                b.add("conv", max(1, c_in // 4), k=1, name=f"{p}.se.fc1")
                b.add("silu", name=f"{p}.se.silu")
                b.add("conv", hidden, k=1, name=f"{p}.se.fc2")
                b.add("sigmoid", name=f"{p}.se.sigmoid")
                b.add("mul", inputs=[dw, b.last], name=f"{p}.se.scale")
                _conv_bn(b, f"{p}.project", cout, 1, act=False)
            if s == 1 and c_in == cout:
                # Stochastic depth only on residual blocks, its rate growing linearly with the block index.
                b.add("droppath", p=round(0.2 * block_id / total, 6), name=f"{p}.droppath")
                b.add("add", inputs=[b.last, x], name=f"{p}.add")
            block_id += 1
    head = last_channel or 4 * cfg[-1][5]
    _conv_bn(b, f"features.{len(cfg) + 1}", head, 1)
    b.add("gap", name="avgpool")
    b.add("flatten", name="flatten")
    b.add("dropout", p=dropout, name="classifier.0")
    b.add("fc", 1000, name="classifier.1")
    return b.build()


_V1_SOURCE = "Tan & Le, EfficientNet, ICML 2019 (arXiv:1905.11946); torchvision.models.efficientnet_{}"
_V2_SOURCE = "Tan & Le, EfficientNetV2, ICML 2021 (arXiv:2104.00298); torchvision.models.efficientnet_{}"

# name: (width, depth, dropout, torchvision's default input = its eval crop size)
_B: dict[str, tuple[float, float, float, int]] = {
    "b0": (1.0, 1.0, 0.2, 224),
    "b1": (1.0, 1.1, 0.2, 240),
    "b2": (1.1, 1.2, 0.3, 288),
    "b3": (1.2, 1.4, 0.3, 300),
    "b4": (1.4, 1.8, 0.4, 380),
    "b5": (1.6, 2.2, 0.4, 456),
    "b6": (1.8, 2.6, 0.5, 528),
    "b7": (2.0, 3.1, 0.5, 600),
}
# name: (dropout, default input)
_V2: dict[str, tuple[float, int]] = {"s": (0.2, 384), "m": (0.3, 480), "l": (0.4, 480)}


def _register_v1(key: str, width: float, depth: float, dropout: float, size: int) -> None:
    name = f"efficientnet_{key}"
    entry(
        name,
        f"EfficientNet-{key.upper()} (torchvision): MBConv + SE, width x{width}, depth x{depth}, {size}x{size}",
        _V1_SOURCE.format(key),
    )(lambda: efficientnet(name, size, V1, dropout, width, depth))


def _register_v2(key: str, dropout: float, size: int) -> None:
    name = f"efficientnet_v2_{key}"
    entry(
        name,
        f"EfficientNetV2-{key.upper()} (torchvision): FusedMBConv then MBConv + SE stages, {size}x{size}",
        _V2_SOURCE.format(f"v2_{key}"),
    )(lambda: efficientnet(name, size, V2[key], dropout, last_channel=1280))


for _key, (_w, _d, _drop, _size) in _B.items():
    _register_v1(_key, _w, _d, _drop, _size)
for _key, (_drop, _size) in _V2.items():
    _register_v2(_key, _drop, _size)
