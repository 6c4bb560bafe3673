"""SqueezeNet 1.0 and 1.1, as torchvision builds them."""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry

# Per version: the stem conv (channels, kernel), then fire modules (squeeze, expand) and "M" for a max pool.
# Each fire's expand1x1 and expand3x3 have the same width, so one number stands for both.
STEMS: dict[str, tuple[int, int]] = {"1_0": (96, 7), "1_1": (64, 3)}
FIRES: dict[str, list[tuple[int, int] | str]] = {
    "1_0": [(16, 64), (16, 64), (32, 128), "M", (32, 128), (48, 192), (48, 192), (64, 256), "M", (64, 256)],
    "1_1": [(16, 64), (16, 64), "M", (32, 128), (32, 128), "M", (48, 192), (48, 192), (64, 256), (64, 256)],
}


def squeezenet(version: str) -> Graph:
    name = f"squeezenet{version}"
    b = Builder(name)
    b.input("224x224x3")
    channels, k = STEMS[version]
    b.add("conv", channels, k=k, s=2, name="conv1")
    b.add("relu", inplace=True, name="relu1")
    # Caffe's ceil-mode pooling, kept by torchvision: 109 -> 54 in 1.0, 111 -> 55 in 1.1.
    b.add("maxpool", k=3, s=2, ceil=True, name="pool1")
    fire, pool = 2, 2
    for item in FIRES[version]:
        if item == "M":
            b.add("maxpool", k=3, s=2, ceil=True, name=f"pool{pool}")
            pool += 1
            continue
        squeeze, expand = item
        b.add("conv", squeeze, k=1, name=f"fire{fire}.squeeze")
        x = b.add("relu", inplace=True, name=f"fire{fire}.squeeze_relu")
        b.add("conv", expand, k=1, name=f"fire{fire}.expand1x1", inputs=x)
        e1 = b.add("relu", inplace=True, name=f"fire{fire}.expand1x1_relu")
        b.add("conv", expand, k=3, p=1, name=f"fire{fire}.expand3x3", inputs=x)
        e3 = b.add("relu", inplace=True, name=f"fire{fire}.expand3x3_relu")
        b.add("concat", name=f"fire{fire}.cat", inputs=[e1, e3])
        fire += 1
    b.add("dropout", name="drop")
    b.add("conv", 1000, k=1, name="conv10")
    b.add("relu", inplace=True, name="relu10")
    b.add("adaptiveavgpool", "1x1", name="avgpool")
    b.add("flatten")
    return b.build()


entry(
    "squeezenet1_0",
    "SqueezeNet 1.0: fire modules, no fc layer (1,248,424 params)",
    "Iandola et al., 'SqueezeNet: AlexNet-level accuracy with 50x fewer parameters', arXiv:1602.07360, Table 1; "
    "torchvision.models.squeezenet1_0",
)(lambda: squeezenet("1_0"))

entry(
    "squeezenet1_1",
    "SqueezeNet 1.1: 3x3 stem and earlier pooling, 2.4x less computation than 1.0",
    "DeepScale/SqueezeNet repository, SqueezeNet_v1.1; torchvision.models.squeezenet1_1",
)(lambda: squeezenet("1_1"))
