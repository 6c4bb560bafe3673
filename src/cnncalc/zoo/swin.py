"""Swin Transformers (v1: T, S, B) as torchvision builds them: attention inside 7x7 windows, shifted every other
block, and patch merging between four stages.

Windows are lead axes: a 56x56x96 map is reshaped to 64*49x96 (64 windows of 49 tokens), so the qkv and
projection layers and the attention products repeat over the windows. The shift (torch.roll) and the mask
of shifted windows move or add values and cost no MACs, so a shifted block counts as an unshifted one.
"""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry


def swin(name: str, dim: int, depths: list[int], heads: list[int], drop_path: float, window: int = 7) -> Graph:
    image = 224
    b = Builder(name)
    b.input(f"{image}x{image}x3")
    b.add("conv", dim, k=4, s=4, name="features.0.0")
    # features.0.1 permutes NCHW to NHWC: cnncalc's maps are channels-last already.
    b.add("layernorm", name="features.0.2")
    side = image // 4
    total = sum(depths)
    block_id = 0
    for stage, (n, h) in enumerate(zip(depths, heads, strict=True)):
        index = 2 * stage + 1
        if stage:
            # PatchMerging: the 2x2 neighbours of each position side by side (x0..x3 concatenated), LN, linear.
            p = f"features.{index - 1}"
            side //= 2
            b.add("reshape", f"{side}x{side}x{4 * dim}", name=f"{p}.patch_merging_pad")
            b.add("layernorm", name=f"{p}.norm")
            dim *= 2
            b.add("fc", dim, bias=False, pointwise=True, name=f"{p}.reduction")
        wins = (side // window) ** 2
        for i in range(n):
            p = f"features.{index}.{i}"
            x = b.last
            b.add("layernorm", name=f"{p}.norm1")
            windows = b.add("reshape", f"{wins}*{window * window}x{dim}", name=f"{p}.attn.window_partition")
            # The learnt bias added to each head's attention logits, one value per relative offset
            # ((2*7-1)^2 offsets), is picked out per token pair by an index: a buffer left uncounted, as
            # torchvision's reference counts only batch-norm statistics. No cnncalc op gathers, so the table
            # stands alone (an output of the graph that nothing reads).
            b.add("param", f"{(2 * window - 1) ** 2}x{h}", name=f"{p}.attn.relative_position_bias_table")
            b.add("fc", 3 * dim, name=f"{p}.attn.qkv", inputs=windows)
            b.add("attention", heads=h, qkv=True, name=f"{p}.attn.attention")
            b.add("fc", dim, name=f"{p}.attn.proj")
            b.add("reshape", f"{side}x{side}x{dim}", name=f"{p}.attn.window_reverse")
            sd = round(drop_path * block_id / (total - 1), 6)
            b.add("droppath", p=sd, name=f"{p}.stochastic_depth")
            x = b.add("add", inputs=[x, b.last], name=f"{p}.add_1")
            b.add("layernorm", name=f"{p}.norm2", inputs=x)
            b.add("fc", 4 * dim, pointwise=True, name=f"{p}.mlp.0")
            b.add("gelu", name=f"{p}.mlp.1")
            b.add("fc", dim, pointwise=True, name=f"{p}.mlp.3")
            b.add("droppath", p=sd, name=f"{p}.stochastic_depth_2")
            b.add("add", inputs=[x, b.last], name=f"{p}.add_2")
            block_id += 1
    b.add("layernorm", name="norm")
    b.add("gap", name="avgpool")
    b.add("flatten", name="flatten")
    b.add("fc", 1000, name="head")
    return b.build()


# name: (embedding dim, blocks per stage, heads per stage, stochastic depth rate), from torchvision.models.swin_*.
_CONFIGS: dict[str, tuple[int, list[int], list[int], float]] = {
    "swin_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 0.2),
    "swin_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], 0.3),
    "swin_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 0.5),
}


def _register(name: str, dim: int, depths: list[int], heads: list[int], drop_path: float) -> None:
    entry(
        name,
        f"Swin-{name[-1].upper()} (torchvision): width {dim}, {'-'.join(map(str, depths))} blocks, 7x7 windows",
        f"Liu et al., Swin Transformer, ICCV 2021 (arXiv:2103.14030); torchvision.models.{name}",
    )(lambda: swin(name, dim, depths, heads, drop_path))


for _name, (_dim, _depths, _heads, _dp) in _CONFIGS.items():
    _register(_name, _dim, _depths, _heads, _dp)
