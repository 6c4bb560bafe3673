"""Video classifiers as torchvision builds them: R3D-18, MC3-18, R(2+1)D-18 and S3D (Kinetics-400, 400 classes).

Inputs are clips written frames first, DxHxWxC: 16x112x112x3 for the ResNets, 16x224x224x3 for S3D.
"""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry

# How a residual block's 3x3x3 convolutions are made (torchvision.models.video.resnet):
# "3d" Conv3DSimple, "2d" Conv3DNoTemporal (1x3x3, frames never strided), "2plus1d" Conv2Plus1D.
_MAKERS = {"r3d_18": ["3d"] * 4, "mc3_18": ["3d"] + ["2d"] * 3, "r2plus1d_18": ["2plus1d"] * 4}


def _axes(d: int, h: int, w: int) -> int | tuple[int, int, int]:
    """Frames, rows, columns: one number when they agree, as the spec writes it back."""
    return d if d == h == w else (d, h, w)


def _block_conv(b: Builder, maker: str, out: int, mid: int, stride: int, name: str, inputs: str | None = None) -> str:
    if maker == "3d":
        return b.add("conv", out, k=3, s=stride, p=1, bias=False, name=name, inputs=inputs)
    if maker == "2d":
        return b.add(
            "conv", out, k=(1, 3, 3), s=_axes(1, stride, stride), p=(0, 1, 1), bias=False, name=name, inputs=inputs
        )
    # (2+1)D: a spatial 1x3x3 conv to `mid` channels, BN, ReLU, then a temporal 3x1x1 conv.
    b.add(
        "conv", mid, k=(1, 3, 3), s=_axes(1, stride, stride), p=(0, 1, 1), bias=False, name=f"{name}.0", inputs=inputs
    )
    b.add("bn", name=f"{name}.1")
    b.add("relu", inplace=True, name=f"{name}.2")
    return b.add("conv", out, k=(3, 1, 1), s=_axes(stride, 1, 1), p=(1, 0, 0), bias=False, name=f"{name}.3")


def video_resnet(name: str) -> Graph:
    """VideoResNet with BasicBlocks [2, 2, 2, 2]: stem, four stages (64 to 512 channels), pool, fc."""
    makers = _MAKERS[name]
    b = Builder(name)
    b.input("16x112x112x3")
    if name == "r2plus1d_18":
        b.add("conv", 45, k=(1, 7, 7), s=(1, 2, 2), p=(0, 3, 3), bias=False, name="stem.0")
        b.add("bn", name="stem.1")
        b.add("relu", inplace=True, name="stem.2")
        b.add("conv", 64, k=(3, 1, 1), p=(1, 0, 0), bias=False, name="stem.3")
        b.add("bn", name="stem.4")
        b.add("relu", inplace=True, name="stem.5")
    else:
        b.add("conv", 64, k=(3, 7, 7), s=(1, 2, 2), p=(1, 3, 3), bias=False, name="stem.0")
        b.add("bn", name="stem.1")
        b.add("relu", inplace=True, name="stem.2")
    inplanes = 64
    for stage, (planes, maker) in enumerate(zip((64, 128, 256, 512), makers, strict=True), start=1):
        for index in range(2):
            stride = 2 if stage > 1 and index == 0 else 1
            prefix = f"layer{stage}.{index}"
            identity = b.last
            assert identity is not None
            # torchvision sizes the (2+1)D middle so that it has about the parameters of a full 3x3x3 conv from
            # the block's input width, and uses that one width for both of the block's convs.
            mid = (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)
            _block_conv(b, maker, planes, mid, stride, f"{prefix}.conv1.0", inputs=identity)
            b.add("bn", name=f"{prefix}.conv1.1")
            b.add("relu", inplace=True, name=f"{prefix}.conv1.2")
            _block_conv(b, maker, planes, mid, 1, f"{prefix}.conv2.0")
            branch = b.add("bn", name=f"{prefix}.conv2.1")
            shortcut = identity
            if stride != 1 or inplanes != planes:
                ds = _axes(1, stride, stride) if maker == "2d" else stride
                b.add("conv", planes, k=1, s=ds, bias=False, name=f"{prefix}.downsample.0", inputs=identity)
                shortcut = b.add("bn", name=f"{prefix}.downsample.1")
            b.add("add", inputs=[branch, shortcut], name=f"{prefix}.add")
            b.add("relu", inplace=True, name=f"{prefix}.relu")
            inplanes = planes
    b.add("gap", name="avgpool")
    b.add("flatten", name="flatten")
    b.add("fc", 400, name="fc")
    return b.build()


def _conv_bn_relu(
    b: Builder, out: int, name: str, k: int | tuple[int, int, int] = 1, s: int | tuple[int, int, int] = 1,
    p: int | tuple[int, int, int] = 0, inputs: str | None = None,
) -> str:  # fmt: skip
    """torchvision's Conv3dNormActivation: conv without bias (.0), BatchNorm3d (.1), ReLU (.2)."""
    b.add("conv", out, k=k, s=s, p=p, bias=False, name=f"{name}.0", inputs=inputs)
    b.add("bn", name=f"{name}.1")
    return b.add("relu", inplace=True, name=f"{name}.2")


def _separable(b: Builder, out: int, k: int, s: int, p: int, name: str, inputs: str | None = None) -> str:
    """TemporalSeparableConv: a 1xkxk spatial conv (.0), then a kx1x1 temporal conv (.1), each with BN and ReLU."""
    _conv_bn_relu(b, out, f"{name}.0", k=_axes(1, k, k), s=_axes(1, s, s), p=_axes(0, p, p), inputs=inputs)
    return _conv_bn_relu(b, out, f"{name}.1", k=_axes(k, 1, 1), s=_axes(s, 1, 1), p=_axes(p, 0, 0))


def _inception(b: Builder, name: str, b0: int, b1: tuple[int, int], b2: tuple[int, int], b3: int) -> str:
    """SepInceptionBlock3D: 1x1x1; 1x1x1 then separable 3x3x3; the same; 3x3x3 max pool then 1x1x1; concat."""
    x = b.last
    assert x is not None
    outs = [_conv_bn_relu(b, b0, f"{name}.branch0", inputs=x)]
    for branch, (mid, out) in (("branch1", b1), ("branch2", b2)):
        _conv_bn_relu(b, mid, f"{name}.{branch}.0", inputs=x)
        outs.append(_separable(b, out, 3, 1, 1, f"{name}.{branch}.1"))
    b.add("maxpool", k=3, s=1, p=1, name=f"{name}.branch3.0", inputs=x)
    outs.append(_conv_bn_relu(b, b3, f"{name}.branch3.1"))
    return b.add("concat", inputs=outs, name=f"{name}.cat")


# SepInceptionBlock3D widths (branch0, branch1 mid and out, branch2 mid and out, branch3), by index in `features`.
_S3D_BLOCKS: dict[int, tuple[int, tuple[int, int], tuple[int, int], int]] = {
    5: (64, (96, 128), (16, 32), 32),
    6: (128, (128, 192), (32, 96), 64),
    8: (192, (96, 208), (16, 48), 64),
    9: (160, (112, 224), (24, 64), 64),
    10: (128, (128, 256), (24, 64), 64),
    11: (112, (144, 288), (32, 64), 64),
    12: (256, (160, 320), (32, 128), 128),
    14: (256, (160, 320), (32, 128), 128),
    15: (384, (192, 384), (48, 128), 128),
}


@entry(
    "s3d",
    "S3D (torchvision): separable 3-D Inception (1xkxk then kx1x1 convs), 16x224x224 clips, 400 classes",
    "Xie et al., Rethinking Spatiotemporal Feature Learning: Speed-Accuracy Trade-offs in Video Classification, "
    "ECCV 2018 (arXiv:1712.04851); torchvision.models.video.s3d",
)
def s3d() -> Graph:
    b = Builder("s3d")
    b.input("16x224x224x3")
    _separable(b, 64, 7, 2, 3, "features.0")
    b.add("maxpool", k=(1, 3, 3), s=(1, 2, 2), p=(0, 1, 1), name="features.1")
    _conv_bn_relu(b, 64, "features.2")
    _separable(b, 192, 3, 1, 1, "features.3")
    b.add("maxpool", k=(1, 3, 3), s=(1, 2, 2), p=(0, 1, 1), name="features.4")
    for index in range(5, 16):
        if index == 7:
            b.add("maxpool", k=3, s=2, p=1, name="features.7")
        elif index == 13:
            b.add("maxpool", k=2, s=2, name="features.13")
        else:
            _inception(b, f"features.{index}", *_S3D_BLOCKS[index])
    b.add("avgpool", k=(2, 7, 7), s=1, name="avgpool")
    b.add("dropout", p=0.2, name="classifier.0")
    b.add("conv", 400, k=1, name="classifier.1")
    # torch.mean over frames, rows and columns of the 1x1x1 map.
    b.add("gap", name="mean")
    b.add("flatten", name="flatten")
    return b.build()


_SUMMARIES = {
    "r3d_18": "R3D-18 (torchvision): 18-layer ResNet of full 3x3x3 convs, 16x112x112 clips, 400 classes",
    "mc3_18": "MC3-18 (torchvision): 3x3x3 convs in the stem and first stage, then 1x3x3 (mixed convolutions)",
    "r2plus1d_18": "R(2+1)D-18 (torchvision): every 3x3x3 conv split into 1x3x3 spatial and 3x1x1 temporal",
}


def _register(name: str) -> None:
    entry(
        name,
        _SUMMARIES[name],
        "Tran et al., A Closer Look at Spatiotemporal Convolutions for Action Recognition, CVPR 2018 "
        f"(arXiv:1711.11248); torchvision.models.video.{name}",
    )(lambda: video_resnet(name))


for _name in _MAKERS:
    _register(_name)
