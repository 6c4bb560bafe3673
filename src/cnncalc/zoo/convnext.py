"""ConvNeXt tiny/small/base/large, as torchvision builds them."""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry


def convnext(name: str, dims: list[int], depths: list[int], drop_path: float) -> Graph:
    """Stem 4x4/4 + LayerNorm, four stages of CNBlocks with LayerNorm + 2x2/2 conv between, pool, LN, fc."""
    b = Builder(name)
    b.input("224x224x3")
    b.add("conv", dims[0], k=4, s=4, name="features.0.conv")
    b.add("layernorm", name="features.0.norm")
    total = sum(depths)
    block_id = 0
    for stage, (dim, n) in enumerate(zip(dims, depths, strict=True)):
        index = 2 * stage + 1
        if stage:
            # Downsampling between stages: LayerNorm2d, then a 2x2 stride-2 conv (with bias).
            b.add("layernorm", name=f"features.{index - 1}.norm")
            b.add("conv", dim, k=2, s=2, name=f"features.{index - 1}.conv")
        for i in range(n):
            x = b.last
            p = f"features.{index}.{i}"
            b.add("dwconv", k=7, p=3, name=f"{p}.dwconv")
            b.add("layernorm", name=f"{p}.norm")
            # The two Linear layers act channels-last at every position: the same count as 1x1 convs.
            b.add("conv", 4 * dim, k=1, name=f"{p}.pwconv1")
            b.add("gelu", name=f"{p}.gelu")
            b.add("conv", dim, k=1, name=f"{p}.pwconv2")
            b.add("scale", name=f"{p}.layer_scale")
            # Stochastic depth rate grows linearly from 0 at the first block to drop_path at the last.
            b.add("droppath", p=round(drop_path * block_id / (total - 1), 6), name=f"{p}.droppath")
            b.add("add", inputs=[b.last, x], name=f"{p}.add")
            block_id += 1
    b.add("gap", name="avgpool")
    b.add("layernorm", name="classifier.0")
    b.add("flatten", name="classifier.1")
    b.add("fc", 1000, name="classifier.2")
    return b.build()


# name: (channels per stage, blocks per stage, stochastic depth rate), from torchvision.models.convnext.
_CONFIGS: dict[str, tuple[list[int], list[int], float]] = {
    "tiny": ([96, 192, 384, 768], [3, 3, 9, 3], 0.1),
    "small": ([96, 192, 384, 768], [3, 3, 27, 3], 0.4),
    "base": ([128, 256, 512, 1024], [3, 3, 27, 3], 0.5),
    "large": ([192, 384, 768, 1536], [3, 3, 27, 3], 0.5),
}


def _register(size: str, dims: list[int], depths: list[int], drop_path: float) -> None:
    name = f"convnext_{size}"
    entry(
        name,
        f"ConvNeXt-{size[0].upper()} (torchvision): {'/'.join(map(str, dims))} channels, "
        f"{'-'.join(map(str, depths))} blocks",
        f"Liu et al., A ConvNet for the 2020s, CVPR 2022 (arXiv:2201.03545); torchvision.models.{name}",
    )(lambda: convnext(name, dims, depths, drop_path))


for _size, (_dims, _depths, _dp) in _CONFIGS.items():
    _register(_size, _dims, _depths, _dp)
