"""VGG 11/13/16/19, with and without batch norm, as torchvision builds them."""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry

# Channels per conv, "M" for a 2x2 max pool: torchvision's configurations A, B, D and E.
CONFIGS: dict[int, list[int | str]] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def vgg(depth: int, batch_norm: bool = False) -> Graph:
    name = f"vgg{depth}" + ("_bn" if batch_norm else "")
    b = Builder(name)
    b.input("224x224x3")
    stage, index = 1, 1
    for item in CONFIGS[depth]:
        if item == "M":
            b.add("maxpool", k=2, name=f"pool{stage}")
            stage, index = stage + 1, 1
            continue
        b.add("conv", item, k=3, p=1, name=f"conv{stage}_{index}")
        if batch_norm:
            b.add("bn", name=f"bn{stage}_{index}")
        b.add("relu", inplace=True, name=f"relu{stage}_{index}")
        index += 1
    b.add("adaptiveavgpool", "7x7", name="avgpool")
    b.add("flatten")
    for i in (6, 7):
        b.add("fc", 4096, name=f"fc{i}")
        b.add("relu", inplace=True, name=f"relu{i}")
        b.add("dropout", name=f"drop{i}")
    b.add("fc", 1000, name="fc8")
    return b.build()


def _register(depth: int, batch_norm: bool) -> None:
    suffix = "_bn" if batch_norm else ""
    entry(
        f"vgg{depth}{suffix}",
        f"VGG-{depth}" + (" with batch norm" if batch_norm else "") + " (torchvision)",
        "Simonyan & Zisserman 2015, configuration " + "ABDE"[[11, 13, 16, 19].index(depth)] + "; torchvision.models",
    )(lambda: vgg(depth, batch_norm))


for _depth in CONFIGS:
    for _bn in (False, True):
        _register(_depth, _bn)
