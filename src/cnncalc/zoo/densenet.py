"""DenseNet-121/161/169/201 (DenseNet-BC), as torchvision builds them."""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry


def densenet(name: str, growth: int, blocks: list[int], init_features: int, bn_size: int = 4) -> Graph:
    """Every dense layer sees the concatenation of the block input and all earlier layers' outputs."""
    b = Builder(name)
    b.input("224x224x3")
    b.add("conv", init_features, k=7, s=2, p=3, bias=False, name="conv0")
    b.add("bn", name="norm0")
    b.add("relu", inplace=True, name="relu0")
    x = b.add("maxpool", k=3, s=2, p=1, name="pool0")
    features = init_features
    for i, layers in enumerate(blocks, start=1):
        block = f"denseblock{i}"
        parts = [x]  # torchvision keeps a list of features and concatenates it in each layer
        for j in range(1, layers + 1):
            layer = f"{block}.denselayer{j}"
            src = b.add("concat", name=f"{layer}.cat", inputs=parts) if len(parts) > 1 else parts[0]
            b.add("bn", name=f"{layer}.norm1", inputs=src)
            b.add("relu", inplace=True, name=f"{layer}.relu1")
            b.add("conv", bn_size * growth, k=1, bias=False, name=f"{layer}.conv1")
            b.add("bn", name=f"{layer}.norm2")
            b.add("relu", inplace=True, name=f"{layer}.relu2")
            parts.append(b.add("conv", growth, k=3, p=1, bias=False, name=f"{layer}.conv2"))
        x = b.add("concat", name=f"{block}.cat", inputs=parts)
        features += layers * growth
        if i < len(blocks):
            features //= 2
            b.add("bn", name=f"transition{i}.norm")
            b.add("relu", inplace=True, name=f"transition{i}.relu")
            b.add("conv", features, k=1, bias=False, name=f"transition{i}.conv")
            x = b.add("avgpool", k=2, s=2, name=f"transition{i}.pool")
    b.add("bn", name="norm5")
    b.add("relu", inplace=True, name="relu5")
    b.add("adaptiveavgpool", "1x1", name="avgpool")
    b.add("flatten")
    b.add("fc", 1000, name="classifier")
    return b.build()


# name: (growth rate k, layers per dense block, stem channels)
CONFIGS: dict[str, tuple[int, list[int], int]] = {
    "densenet121": (32, [6, 12, 24, 16], 64),
    "densenet161": (48, [6, 12, 36, 24], 96),
    "densenet169": (32, [6, 12, 32, 32], 64),
    "densenet201": (32, [6, 12, 48, 32], 64),
}


def _register(name: str) -> None:
    growth, blocks, init = CONFIGS[name]
    entry(
        name,
        f"DenseNet-{name[8:]} (DenseNet-BC, growth rate {growth}; torchvision)",
        "Huang et al., 'Densely Connected Convolutional Networks', CVPR 2017; torchvision.models." + name,
    )(lambda: densenet(name, growth, blocks, init))


for _name in CONFIGS:
    _register(_name)
