"""ResNet, ResNeXt and Wide ResNet as torchvision builds them, and SE-ResNet-50 (Hu et al. 2018)."""

from __future__ import annotations

from ..builder import Builder
from ..errors import CnnCalcError
from ..ir import Graph
from . import entry


def resnet(
    name: str,
    block: str,
    layers: list[int],
    *,
    groups: int = 1,
    width_per_group: int = 64,
    se_reduction: int = 0,
    stride_on_1x1: bool = False,
) -> Graph:
    """One residual network: `block` is "basic" (two 3x3) or "bottleneck" (1x1, 3x3, 1x1, expansion 4).

    torchvision (ResNet "v1.5") strides the bottleneck's 3x3 conv; `stride_on_1x1` strides its first 1x1
    instead, as the original Caffe ResNet and the official SENet do. `se_reduction` > 0 adds a
    squeeze-and-excitation block with that reduction ratio on each block's residual branch.
    """
    bottleneck = block == "bottleneck"
    expansion = 4 if bottleneck else 1
    b = Builder(name)
    b.input("224x224x3")
    b.add("conv", 64, k=7, s=2, p=3, bias=False, name="conv1")
    b.add("bn", name="bn1")
    b.add("relu", inplace=True, name="relu")
    b.add("maxpool", k=3, s=2, p=1, name="maxpool")
    inplanes = 64
    for stage, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers, strict=True), start=1):
        for index in range(blocks):
            stride = 2 if stage > 1 and index == 0 else 1
            prefix = f"layer{stage}.{index}"
            identity = b.last
            out = planes * expansion
            if bottleneck:
                # torchvision: width = int(planes * (base_width / 64)) * groups
                width = int(planes * (width_per_group / 64)) * groups
                s1, s2 = (stride, 1) if stride_on_1x1 else (1, stride)
                b.add("conv", width, k=1, s=s1, bias=False, name=f"{prefix}.conv1", inputs=identity)
                b.add("bn", name=f"{prefix}.bn1")
                b.add("relu", inplace=True, name=f"{prefix}.relu1")
                b.add("conv", width, k=3, s=s2, p=1, g=groups, bias=False, name=f"{prefix}.conv2")
                b.add("bn", name=f"{prefix}.bn2")
                b.add("relu", inplace=True, name=f"{prefix}.relu2")
                b.add("conv", out, k=1, bias=False, name=f"{prefix}.conv3")
                branch = b.add("bn", name=f"{prefix}.bn3")
            else:
                b.add("conv", planes, k=3, s=stride, p=1, bias=False, name=f"{prefix}.conv1", inputs=identity)
                b.add("bn", name=f"{prefix}.bn1")
                b.add("relu", inplace=True, name=f"{prefix}.relu1")
                b.add("conv", planes, k=3, p=1, bias=False, name=f"{prefix}.conv2")
                branch = b.add("bn", name=f"{prefix}.bn2")
            if se_reduction:
                branch = _squeeze_excite(b, branch, out, out // se_reduction, f"{prefix}.se")
            shortcut = identity
            if stride != 1 or inplanes != out:
                b.add("conv", out, k=1, s=stride, bias=False, name=f"{prefix}.downsample.0", inputs=identity)
                shortcut = b.add("bn", name=f"{prefix}.downsample.1")
            b.add("add", name=f"{prefix}.add", inputs=[branch, shortcut])
            b.add("relu", inplace=True, name=f"{prefix}.relu")
            inplanes = out
    b.add("gap", name="avgpool")
    b.add("flatten")
    b.add("fc", 1000, name="fc")
    return b.build()


def _squeeze_excite(b: Builder, x: str, channels: int, squeeze: int, prefix: str) -> str:
    """Hu et al. 2018, Fig. 3: global pool, fc down (ReLU), fc up (sigmoid), rescale x channel by channel.

    The two fcs are 1x1 convs with biases on the 1x1 map, as in the official Caffe SENet.
    """
    b.add("gap", name=f"{prefix}.pool", inputs=x)
    b.add("conv", squeeze, k=1, bias=True, name=f"{prefix}.fc1")
    b.add("relu", inplace=True, name=f"{prefix}.relu")
    b.add("conv", channels, k=1, bias=True, name=f"{prefix}.fc2")
    gate = b.add("sigmoid", name=f"{prefix}.sigmoid")
    return b.add("mul", name=f"{prefix}.scale", inputs=[x, gate])


# name: (block, layers, groups, width_per_group, summary)
TORCHVISION: dict[str, tuple[str, list[int], int, int, str]] = {
    "resnet18": ("basic", [2, 2, 2, 2], 1, 64, "ResNet-18"),
    "resnet34": ("basic", [3, 4, 6, 3], 1, 64, "ResNet-34"),
    "resnet50": ("bottleneck", [3, 4, 6, 3], 1, 64, "ResNet-50 (v1.5: stride on the 3x3)"),
    "resnet101": ("bottleneck", [3, 4, 23, 3], 1, 64, "ResNet-101"),
    "resnet152": ("bottleneck", [3, 8, 36, 3], 1, 64, "ResNet-152"),
    "resnext50_32x4d": ("bottleneck", [3, 4, 6, 3], 32, 4, "ResNeXt-50 32x4d"),
    "resnext101_32x8d": ("bottleneck", [3, 4, 23, 3], 32, 8, "ResNeXt-101 32x8d"),
    "resnext101_64x4d": ("bottleneck", [3, 4, 23, 3], 64, 4, "ResNeXt-101 64x4d"),
    "wide_resnet50_2": ("bottleneck", [3, 4, 6, 3], 1, 128, "Wide ResNet-50-2"),
    "wide_resnet101_2": ("bottleneck", [3, 4, 23, 3], 1, 128, "Wide ResNet-101-2"),
}


def _paper(name: str) -> str:
    if name.startswith("resnext"):
        return "Xie et al. 2017, Aggregated Residual Transformations"
    if name.startswith("wide"):
        return "Zagoruyko & Komodakis 2016, Wide Residual Networks (bottleneck 3x3 twice as wide)"
    return "He et al. 2016, Deep Residual Learning"


def _register(name: str) -> None:
    block, layers, groups, width, summary = TORCHVISION[name]
    entry(name, f"{summary} (torchvision)", f"{_paper(name)}; torchvision.models.{name}")(
        lambda: resnet(name, block, layers, groups=groups, width_per_group=width)
    )


for _name in TORCHVISION:
    _register(_name)


@entry(
    "se_resnet50",
    "SE-ResNet-50: ResNet-50 with squeeze-and-excitation (r=16) on every bottleneck",
    "Hu et al. 2018, Squeeze-and-Excitation Networks (arXiv:1709.01507); official Caffe SENet: stride on the "
    "first 1x1 as in the original ResNet (v1_5=true strides the 3x3 as torchvision and timm do)",
    reduction=16,
    v1_5=False,
)
def se_resnet50(reduction: int, v1_5: bool) -> Graph:
    if reduction < 1:  # 0 would silently drop every squeeze-and-excitation block
        raise CnnCalcError(f"reduction={reduction}: the squeeze-and-excitation ratio is at least 1 (the paper's: 16)")
    return resnet("se_resnet50", "bottleneck", [3, 4, 6, 3], se_reduction=reduction, stride_on_1x1=not v1_5)
