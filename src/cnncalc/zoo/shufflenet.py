"""ShuffleNet V2 x0.5, x1.0, x1.5 and x2.0, as torchvision builds them."""

from __future__ import annotations

from functools import partial

from ..builder import Builder
from ..ir import Graph
from . import entry

REPEATS = (4, 8, 4)  # units in stage2, stage3, stage4
# Output channels of conv1, stage2, stage3, stage4 and conv5 per width.
CHANNELS: dict[str, tuple[int, int, int, int, int]] = {
    "0_5": (24, 48, 96, 192, 1024),
    "1_0": (24, 116, 232, 464, 1024),
    "1_5": (24, 176, 352, 704, 1024),
    "2_0": (24, 244, 488, 976, 2048),
}


def _branch(b: Builder, name: str, x: str, c_in: int, c_out: int, stride: int) -> str:
    """torchvision's branch2: 1x1 conv + BN + ReLU, 3x3 depthwise + BN (no ReLU), 1x1 conv + BN + ReLU."""
    b.add("conv", c_out, k=1, bias=False, name=f"{name}.0", inputs=x)
    b.add("bn", name=f"{name}.1")
    b.add("relu", inplace=True, name=f"{name}.2")
    b.add("dwconv", k=3, s=stride, p=1, bias=False, name=f"{name}.3")
    b.add("bn", name=f"{name}.4")
    b.add("conv", c_out, k=1, bias=False, name=f"{name}.5")
    b.add("bn", name=f"{name}.6")
    return b.add("relu", inplace=True, name=f"{name}.7")


def _unit(b: Builder, name: str, x: str, c_in: int, c_out: int, stride: int) -> str:
    half = c_out // 2
    if stride == 1:
        # Channel split: the first half passes through untouched, the second goes through branch2.
        keep = b.add("slice", f"0:{half}", name=f"{name}.split1", inputs=x)
        rest = b.add("slice", f"{half}:{c_in}", name=f"{name}.split2", inputs=x)
        left, right = keep, _branch(b, f"{name}.branch2", rest, half, half, 1)
    else:
        # Downsampling unit: both branches see the whole input. branch1: 3x3 depthwise + BN, 1x1 conv + BN + ReLU.
        b.add("dwconv", k=3, s=stride, p=1, bias=False, name=f"{name}.branch1.0", inputs=x)
        b.add("bn", name=f"{name}.branch1.1")
        b.add("conv", half, k=1, bias=False, name=f"{name}.branch1.2")
        b.add("bn", name=f"{name}.branch1.3")
        left = b.add("relu", inplace=True, name=f"{name}.branch1.4")
        right = _branch(b, f"{name}.branch2", x, c_in, half, stride)
    b.add("concat", name=f"{name}.cat", inputs=[left, right])
    return b.add("shuffle", g=2, name=f"{name}.shuffle")


def shufflenet_v2(name: str, width: str) -> Graph:
    stem, *stages, last = CHANNELS[width]
    b = Builder(name)
    b.input("224x224x3")
    b.add("conv", stem, k=3, s=2, p=1, bias=False, name="conv1.0")
    b.add("bn", name="conv1.1")
    b.add("relu", inplace=True, name="conv1.2")
    x = b.add("maxpool", k=3, s=2, p=1, name="maxpool")
    c_in = stem
    for stage, (repeats, c_out) in enumerate(zip(REPEATS, stages, strict=True), start=2):
        for i in range(repeats):
            x = _unit(b, f"stage{stage}.{i}", x, c_in, c_out, 2 if i == 0 else 1)
            c_in = c_out
    b.add("conv", last, k=1, bias=False, name="conv5.0")
    b.add("bn", name="conv5.1")
    b.add("relu", inplace=True, name="conv5.2")
    b.add("gap", name="globalpool")  # x.mean([2, 3])
    b.add("flatten")
    b.add("fc", 1000, name="fc")
    return b.build()


for _width in CHANNELS:
    entry(
        f"shufflenet_v2_x{_width}",
        f"ShuffleNet V2 {_width.replace('_', '.')}x: channel split, concat and channel shuffle (torchvision)",
        "Ma et al., 'ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design', ECCV 2018, Table 5; "
        f"torchvision.models.shufflenet_v2_x{_width}",
    )(partial(shufflenet_v2, f"shufflenet_v2_x{_width}", _width))
