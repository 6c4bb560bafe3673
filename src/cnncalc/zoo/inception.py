"""GoogLeNet (Inception v1) and Inception v3, exactly as torchvision builds them, auxiliary heads included."""

from __future__ import annotations

from typing import Any

from ..builder import Builder
from ..ir import Graph
from . import entry


def _basic(b: Builder, out: int, name: str, inputs: str | None = None, *, aux: bool = False, **conv: Any) -> str:
    """torchvision's BasicConv2d: conv without bias, batch norm (eps 0.001), ReLU."""
    b.add("conv", out, bias=False, name=f"{name}.conv", inputs=inputs, aux=aux, **conv)
    b.add("bn", name=f"{name}.bn")
    return b.add("relu", inplace=True, name=f"{name}.relu")


# GoogLeNet's inception blocks: 1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool projection (paper Table 1).
GOOGLENET: list[tuple[str, tuple[int, int, int, int, int, int]]] = [
    ("inception3a", (64, 96, 128, 16, 32, 32)),
    ("inception3b", (128, 128, 192, 32, 96, 64)),
    ("inception4a", (192, 96, 208, 16, 48, 64)),
    ("inception4b", (160, 112, 224, 24, 64, 64)),
    ("inception4c", (128, 128, 256, 24, 64, 64)),
    ("inception4d", (112, 144, 288, 32, 64, 64)),
    ("inception4e", (256, 160, 320, 32, 128, 128)),
    ("inception5a", (256, 160, 320, 32, 128, 128)),
    ("inception5b", (384, 192, 384, 48, 128, 128)),
]


def _googlenet_inception(b: Builder, name: str, cfg: tuple[int, int, int, int, int, int]) -> str:
    ch1, ch3red, ch3, ch5red, ch5, pool_proj = cfg
    x = b.last
    one = _basic(b, ch1, f"{name}.branch1", x, k=1)
    _basic(b, ch3red, f"{name}.branch2.0", x, k=1)
    three = _basic(b, ch3, f"{name}.branch2.1", k=3, p=1)
    _basic(b, ch5red, f"{name}.branch3.0", x, k=1)
    # torchvision's "5x5" branch uses a 3x3 kernel (a known bug it keeps for its weights: vision issue #906).
    five = _basic(b, ch5, f"{name}.branch3.1", k=3, p=1)
    b.add("maxpool", k=3, s=1, p=1, ceil=True, name=f"{name}.branch4.0", inputs=x)
    pool = _basic(b, pool_proj, f"{name}.branch4.1", k=1)
    return b.add("concat", name=f"{name}.cat", inputs=[one, three, five, pool])


def _googlenet_aux(b: Builder, name: str, x: str) -> None:
    """torchvision's InceptionAux: adaptive pool to 4x4, 1x1 conv to 128, fc 2048 -> 1024, dropout 0.7, fc."""
    b.add("adaptiveavgpool", "4x4", name=f"{name}.pool", inputs=x, aux=True)
    _basic(b, 128, f"{name}.conv", k=1)
    b.add("flatten", name=f"{name}.flatten")
    b.add("fc", 1024, name=f"{name}.fc1")
    b.add("relu", inplace=True, name=f"{name}.relu")
    b.add("dropout", p=0.7, name=f"{name}.dropout")
    b.add("fc", 1000, name=f"{name}.fc2")


@entry(
    "googlenet",
    "GoogLeNet / Inception v1 (torchvision); aux=true adds the two training-only auxiliary classifiers",
    "Szegedy et al. 2015, Going Deeper with Convolutions (arXiv:1409.4842); torchvision.models.googlenet "
    "(batch norm, 3x3 in the '5x5' branch)",
    aux=False,
)
def googlenet(aux: bool) -> Graph:
    b = Builder("googlenet")
    b.input("224x224x3")
    _basic(b, 64, "conv1", k=7, s=2, p=3)
    b.add("maxpool", k=3, s=2, ceil=True, name="maxpool1")
    _basic(b, 64, "conv2", k=1)
    _basic(b, 192, "conv3", k=3, p=1)
    b.add("maxpool", k=3, s=2, ceil=True, name="maxpool2")
    for name, cfg in GOOGLENET:
        out = _googlenet_inception(b, name, cfg)
        # aux1 reads inception4a's output, aux2 inception4d's; both only while training.
        if aux and name in ("inception4a", "inception4d"):
            _googlenet_aux(b, "aux1" if name == "inception4a" else "aux2", out)
            b.last = out
        if name == "inception3b":
            b.add("maxpool", k=3, s=2, ceil=True, name="maxpool3")
        elif name == "inception4e":
            b.add("maxpool", k=2, s=2, ceil=True, name="maxpool4")
    b.add("adaptiveavgpool", "1x1", name="avgpool")
    b.add("flatten")
    b.add("dropout", p=0.2, name="dropout")
    b.add("fc", 1000, name="fc")
    return b.build()


def _inception_a(b: Builder, name: str, pool_features: int) -> str:
    x = b.last
    one = _basic(b, 64, f"{name}.branch1x1", x, k=1)
    _basic(b, 48, f"{name}.branch5x5_1", x, k=1)
    five = _basic(b, 64, f"{name}.branch5x5_2", k=5, p=2)
    _basic(b, 64, f"{name}.branch3x3dbl_1", x, k=1)
    _basic(b, 96, f"{name}.branch3x3dbl_2", k=3, p=1)
    dbl = _basic(b, 96, f"{name}.branch3x3dbl_3", k=3, p=1)
    b.add("avgpool", k=3, s=1, p=1, name=f"{name}.avgpool", inputs=x)
    pool = _basic(b, pool_features, f"{name}.branch_pool", k=1)
    return b.add("concat", name=f"{name}.cat", inputs=[one, five, dbl, pool])


def _inception_b(b: Builder, name: str) -> str:
    x = b.last
    three = _basic(b, 384, f"{name}.branch3x3", x, k=3, s=2)
    _basic(b, 64, f"{name}.branch3x3dbl_1", x, k=1)
    _basic(b, 96, f"{name}.branch3x3dbl_2", k=3, p=1)
    dbl = _basic(b, 96, f"{name}.branch3x3dbl_3", k=3, s=2)
    pool = b.add("maxpool", k=3, s=2, name=f"{name}.maxpool", inputs=x)
    return b.add("concat", name=f"{name}.cat", inputs=[three, dbl, pool])


def _inception_c(b: Builder, name: str, c7: int) -> str:
    x = b.last
    one = _basic(b, 192, f"{name}.branch1x1", x, k=1)
    _basic(b, c7, f"{name}.branch7x7_1", x, k=1)
    _basic(b, c7, f"{name}.branch7x7_2", k="1x7", p="0x3")
    seven = _basic(b, 192, f"{name}.branch7x7_3", k="7x1", p="3x0")
    _basic(b, c7, f"{name}.branch7x7dbl_1", x, k=1)
    _basic(b, c7, f"{name}.branch7x7dbl_2", k="7x1", p="3x0")
    _basic(b, c7, f"{name}.branch7x7dbl_3", k="1x7", p="0x3")
    _basic(b, c7, f"{name}.branch7x7dbl_4", k="7x1", p="3x0")
    dbl = _basic(b, 192, f"{name}.branch7x7dbl_5", k="1x7", p="0x3")
    b.add("avgpool", k=3, s=1, p=1, name=f"{name}.avgpool", inputs=x)
    pool = _basic(b, 192, f"{name}.branch_pool", k=1)
    return b.add("concat", name=f"{name}.cat", inputs=[one, seven, dbl, pool])


def _inception_d(b: Builder, name: str) -> str:
    x = b.last
    _basic(b, 192, f"{name}.branch3x3_1", x, k=1)
    three = _basic(b, 320, f"{name}.branch3x3_2", k=3, s=2)
    _basic(b, 192, f"{name}.branch7x7x3_1", x, k=1)
    _basic(b, 192, f"{name}.branch7x7x3_2", k="1x7", p="0x3")
    _basic(b, 192, f"{name}.branch7x7x3_3", k="7x1", p="3x0")
    seven = _basic(b, 192, f"{name}.branch7x7x3_4", k=3, s=2)
    pool = b.add("maxpool", k=3, s=2, name=f"{name}.maxpool", inputs=x)
    return b.add("concat", name=f"{name}.cat", inputs=[three, seven, pool])


def _inception_e(b: Builder, name: str) -> str:
    x = b.last
    one = _basic(b, 320, f"{name}.branch1x1", x, k=1)
    mid = _basic(b, 384, f"{name}.branch3x3_1", x, k=1)
    a = _basic(b, 384, f"{name}.branch3x3_2a", mid, k="1x3", p="0x1")
    c = _basic(b, 384, f"{name}.branch3x3_2b", mid, k="3x1", p="1x0")
    three = b.add("concat", name=f"{name}.branch3x3", inputs=[a, c])
    _basic(b, 448, f"{name}.branch3x3dbl_1", x, k=1)
    mid = _basic(b, 384, f"{name}.branch3x3dbl_2", k=3, p=1)
    a = _basic(b, 384, f"{name}.branch3x3dbl_3a", mid, k="1x3", p="0x1")
    c = _basic(b, 384, f"{name}.branch3x3dbl_3b", mid, k="3x1", p="1x0")
    dbl = b.add("concat", name=f"{name}.branch3x3dbl", inputs=[a, c])
    b.add("avgpool", k=3, s=1, p=1, name=f"{name}.avgpool", inputs=x)
    pool = _basic(b, 192, f"{name}.branch_pool", k=1)
    return b.add("concat", name=f"{name}.cat", inputs=[one, three, dbl, pool])


def _inception_v3_aux(b: Builder, x: str) -> None:
    """torchvision's InceptionAux: 5x5/3 average pool (17 -> 5), 1x1 conv to 128, 5x5 conv to 768, fc."""
    b.add("avgpool", k=5, s=3, name="AuxLogits.avgpool", inputs=x, aux=True)
    _basic(b, 128, "AuxLogits.conv0", k=1)
    _basic(b, 768, "AuxLogits.conv1", k=5)
    b.add("adaptiveavgpool", "1x1", name="AuxLogits.pool")
    b.add("flatten", name="AuxLogits.flatten")
    b.add("fc", 1000, name="AuxLogits.fc")


@entry(
    "inception_v3",
    "Inception v3 (torchvision), 299x299; its auxiliary classifier counts in params, not in inference MACs",
    "Szegedy et al. 2016, Rethinking the Inception Architecture (arXiv:1512.00567); torchvision.models.inception_v3",
)
def inception_v3() -> Graph:
    b = Builder("inception_v3")
    b.input("299x299x3")
    _basic(b, 32, "Conv2d_1a_3x3", k=3, s=2)
    _basic(b, 32, "Conv2d_2a_3x3", k=3)
    _basic(b, 64, "Conv2d_2b_3x3", k=3, p=1)
    b.add("maxpool", k=3, s=2, name="maxpool1")
    _basic(b, 80, "Conv2d_3b_1x1", k=1)
    _basic(b, 192, "Conv2d_4a_3x3", k=3)
    b.add("maxpool", k=3, s=2, name="maxpool2")
    for name, pool_features in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
        _inception_a(b, name, pool_features)
    _inception_b(b, "Mixed_6a")
    for name, c7 in (("Mixed_6b", 128), ("Mixed_6c", 160), ("Mixed_6d", 160), ("Mixed_6e", 192)):
        out = _inception_c(b, name, c7)
    _inception_v3_aux(b, out)
    b.last = out
    _inception_d(b, "Mixed_7a")
    _inception_e(b, "Mixed_7b")
    _inception_e(b, "Mixed_7c")
    b.add("adaptiveavgpool", "1x1", name="avgpool")
    b.add("dropout", p=0.5, name="dropout")
    b.add("flatten")
    b.add("fc", 1000, name="fc")
    return b.build()
