"""Mobile networks: MobileNet v1 (the paper's), MobileNet v2 and v3 and MNASNet (torchvision's)."""

from __future__ import annotations

from functools import partial

from ..builder import Builder
from ..ir import Graph
from . import entry


def _make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's `_make_divisible` (from TF's mobilenet.py): nearest multiple, never more than 10% down."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def _round_to_multiple_of(val: float, divisor: int = 8, round_up_bias: float = 0.9) -> int:
    """torchvision's MNASNet rounding: the same rule as `_make_divisible`, written apart there."""
    new_val = max(divisor, int(val + divisor / 2) // divisor * divisor)
    return new_val if new_val >= round_up_bias * val else new_val + divisor


def _conv_bn(
    b: Builder, name: str, out: int | None, k: int, s: int = 1, act: str | None = None, inplace: bool = True
) -> str:
    """Conv (no bias: BN follows) + BN + optional activation (in place, as torchvision's Conv2dNormActivation);
    `out=None` makes it depthwise."""
    if out is None:
        b.add("dwconv", k=k, s=s, p=(k - 1) // 2, bias=False, name=name)
    else:
        b.add("conv", out, k=k, s=s, p=(k - 1) // 2, bias=False, name=name)
    last = b.add("bn", name=f"{name}_bn")
    if act:
        last = b.add(act, inplace=inplace, name=f"{name}_{act}")
    return last


# ---------------------------------------------------------------------------------------------------------------
# MobileNet v1: Howard et al. 2017, Table 1.

# (pointwise output channels, depthwise stride) of the 13 depthwise-separable layers. Table 1 prints the last
# depthwise layer as s2 on a 7x7 input giving 7x7: a misprint, stride 1 (as in TF-Slim's mobilenet_v1).
V1_LAYERS: list[tuple[int, int]] = [
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
]  # fmt: skip


@entry(
    "mobilenet_v1",
    "MobileNet v1 (224, width multiplier alpha): 3x3 conv then 13 depthwise-separable layers, BN + ReLU",
    "Howard et al., 'MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications', "
    "arXiv:1704.04861, Table 1; layer names as TF-Slim's mobilenet_v1",
    alpha=1.0,
)
def mobilenet_v1(alpha: float) -> Graph:
    # TF-Slim scales every layer's depth by alpha and keeps at least 8 channels (min_depth).
    def depth(c: int) -> int:
        return max(int(c * alpha), 8)

    b = Builder("mobilenet_v1")
    b.input("224x224x3")
    _conv_bn(b, "Conv2d_0", depth(32), 3, s=2, act="relu", inplace=False)
    for i, (out, s) in enumerate(V1_LAYERS, start=1):
        _conv_bn(b, f"Conv2d_{i}_depthwise", None, 3, s=s, act="relu", inplace=False)
        _conv_bn(b, f"Conv2d_{i}_pointwise", depth(out), 1, act="relu", inplace=False)
    # Table 1's "Avg Pool 7x7" is global at 224; a global pool keeps the net valid at 192, 160 and 128 (Table 7).
    b.add("gap", name="avgpool")
    b.add("flatten")
    b.add("fc", 1000, name="fc")
    b.add("softmax")
    return b.build()


# ---------------------------------------------------------------------------------------------------------------
# MobileNet v2: Sandler et al. 2018; torchvision.models.mobilenetv2.

# t (expansion), c (output channels), n (repeats), s (stride of the first repeat)
V2_SETTING: list[tuple[int, int, int, int]] = [
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
]  # fmt: skip


def mobilenet_v2(name: str, width: float = 1.0) -> Graph:
    b = Builder(name)
    b.input("224x224x3")
    c_in = _make_divisible(32 * width)
    last_channel = _make_divisible(1280 * max(1.0, width))
    x = _conv_bn(b, "features.0", c_in, 3, s=2, act="relu6")
    index = 1
    for t, c, n, s in V2_SETTING:
        c_out = _make_divisible(c * width)
        for i in range(n):
            stride = s if i == 0 else 1
            block = f"features.{index}"
            hidden = round(c_in * t)
            if t != 1:
                _conv_bn(b, f"{block}.expand", hidden, 1, act="relu6")
            _conv_bn(b, f"{block}.dw", None, 3, s=stride, act="relu6")
            y = _conv_bn(b, f"{block}.project", c_out, 1)  # linear bottleneck: no activation
            if stride == 1 and c_in == c_out:
                y = b.add("add", inputs=[x, y], name=f"{block}.add")
            x, c_in, index = y, c_out, index + 1
    _conv_bn(b, f"features.{index}", last_channel, 1, act="relu6")
    b.add("adaptiveavgpool", "1x1", name="avgpool")
    b.add("flatten")
    b.add("dropout", p=0.2, name="classifier.0")
    b.add("fc", 1000, name="classifier.1")
    return b.build()


entry(
    "mobilenet_v2",
    "MobileNet v2: inverted residuals with linear bottlenecks, ReLU6 (torchvision, width 1.0)",
    "Sandler et al., 'MobileNetV2: Inverted Residuals and Linear Bottlenecks', CVPR 2018, Table 2; "
    "torchvision.models.mobilenet_v2",
)(lambda: mobilenet_v2("mobilenet_v2"))


# ---------------------------------------------------------------------------------------------------------------
# MobileNet v3: Howard et al. 2019; torchvision.models.mobilenetv3.

# kernel, expanded channels, output channels, squeeze-and-excitation, activation, stride (input channels follow)
V3_LARGE: list[tuple[int, int, int, bool, str, int]] = [
    (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2), (3, 72, 24, False, "relu", 1),
    (5, 72, 40, True, "relu", 2), (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1), (3, 480, 112, True, "hswish", 1), (3, 672, 112, True, "hswish", 1),
    (5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1), (5, 960, 160, True, "hswish", 1),
]  # fmt: skip
V3_SMALL: list[tuple[int, int, int, bool, str, int]] = [
    (3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2), (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hswish", 2), (5, 240, 40, True, "hswish", 1), (5, 240, 40, True, "hswish", 1),
    (5, 120, 48, True, "hswish", 1), (5, 144, 48, True, "hswish", 1), (5, 288, 96, True, "hswish", 2),
    (5, 576, 96, True, "hswish", 1), (5, 576, 96, True, "hswish", 1),
]  # fmt: skip
V3_CONFIGS = {"large": (V3_LARGE, 1280), "small": (V3_SMALL, 1024)}


def _squeeze_excite(b: Builder, name: str, x: str, channels: int) -> str:
    """torchvision's SqueezeExcitation: pool, 1x1 conv (bias) + ReLU, 1x1 conv (bias) + hard sigmoid, scale."""
    b.add("gap", name=f"{name}.avgpool", inputs=x)
    b.add("conv", _make_divisible(channels // 4, 8), k=1, name=f"{name}.fc1")
    b.add("relu", name=f"{name}.relu")
    b.add("conv", channels, k=1, name=f"{name}.fc2")
    gate = b.add("hsigmoid", name=f"{name}.hsigmoid")
    return b.add("mul", inputs=[x, gate], name=f"{name}.scale")


def mobilenet_v3(name: str, size: str, width: float = 1.0) -> Graph:
    setting, last = V3_CONFIGS[size]
    b = Builder(name)
    b.input("224x224x3")
    c_in = _make_divisible(16 * width)
    x = _conv_bn(b, "features.0", c_in, 3, s=2, act="hswish")
    for index, (k, expand, out, se, act, s) in enumerate(setting, start=1):
        block = f"features.{index}"
        expand, c_out = _make_divisible(expand * width), _make_divisible(out * width)
        if expand != c_in:
            _conv_bn(b, f"{block}.expand", expand, 1, act=act)
        y = _conv_bn(b, f"{block}.dw", None, k, s=s, act=act)
        if se:
            y = _squeeze_excite(b, f"{block}.se", y, expand)
        y = _conv_bn(b, f"{block}.project", c_out, 1)
        if s == 1 and c_in == c_out:
            y = b.add("add", inputs=[x, y], name=f"{block}.add")
        x, c_in = y, c_out
    _conv_bn(b, f"features.{len(setting) + 1}", 6 * c_in, 1, act="hswish")
    b.add("adaptiveavgpool", "1x1", name="avgpool")
    b.add("flatten")
    b.add("fc", _make_divisible(last * width), name="classifier.0")
    b.add("hswish", inplace=True, name="classifier.1")
    b.add("dropout", p=0.2, name="classifier.2")
    b.add("fc", 1000, name="classifier.3")
    return b.build()


for _size, _macs in (("large", "219M"), ("small", "66M")):
    entry(
        f"mobilenet_v3_{_size}",
        f"MobileNet v3 {_size.capitalize()}: searched inverted residuals, SE with hard sigmoid, hard swish "
        f"(torchvision; the paper counts {_macs} mult-adds)",
        "Howard et al., 'Searching for MobileNetV3', ICCV 2019, Tables 1-2; torchvision.models.mobilenet_v3_" + _size,
    )(partial(mobilenet_v3, f"mobilenet_v3_{_size}", _size))


# ---------------------------------------------------------------------------------------------------------------
# MNASNet-B1: Tan et al. 2019; torchvision.models.mnasnet (version 2: the stem scales with alpha too).

# kernel, stride of the first repeat, expansion, repeats of the six stacks (torchvision's layers.8 to layers.13)
MNAS_STACKS: list[tuple[int, int, int, int]] = [
    (3, 2, 3, 3), (5, 2, 3, 3), (5, 2, 6, 3), (3, 1, 6, 2), (5, 2, 6, 4), (3, 1, 6, 1),
]  # fmt: skip


def mnasnet(name: str, alpha: float) -> Graph:
    depths = [_round_to_multiple_of(d * alpha) for d in (32, 16, 24, 40, 80, 96, 192, 320)]
    b = Builder(name)
    b.input("224x224x3")
    _conv_bn(b, "layers.0", depths[0], 3, s=2, act="relu")
    _conv_bn(b, "layers.3", None, 3, act="relu")
    x = _conv_bn(b, "layers.6", depths[1], 1)  # no activation before the first stack
    c_in = depths[1]
    for stack, (k, s, t, repeats) in enumerate(MNAS_STACKS, start=8):
        c_out = depths[stack - 6]
        for i in range(repeats):
            block, stride = f"layers.{stack}.{i}", s if i == 0 else 1
            _conv_bn(b, f"{block}.expand", c_in * t, 1, act="relu")
            _conv_bn(b, f"{block}.dw", None, k, s=stride, act="relu")
            y = _conv_bn(b, f"{block}.project", c_out, 1)
            if stride == 1 and c_in == c_out:
                y = b.add("add", inputs=[x, y], name=f"{block}.add")
            x, c_in = y, c_out
    _conv_bn(b, "layers.14", 1280, 1, act="relu")
    b.add("gap", name="mean")  # x.mean([2, 3])
    b.add("flatten")
    b.add("dropout", p=0.2, name="classifier.0")
    b.add("fc", 1000, name="classifier.1")
    return b.build()


for _alpha in (0.5, 0.75, 1.0, 1.3):
    _mnas = "mnasnet" + f"{_alpha:g}".replace(".", "_") + ("_0" if _alpha == 1.0 else "")
    entry(
        _mnas,
        f"MNASNet-B1 with depth multiplier {_alpha} (torchvision)",
        "Tan et al., 'MnasNet: Platform-Aware Neural Architecture Search for Mobile', CVPR 2019; "
        f"torchvision.models.{_mnas}",
    )(partial(mnasnet, _mnas, _alpha))
