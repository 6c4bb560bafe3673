"""Swin Transformers as torchvision builds them: v1 (T, S, B; 7x7 windows at 224) and v2 (T, S, B; 8x8 windows
at 256). Attention inside windows, shifted every other block, and patch merging between four stages.

Windows are lead axes: a 56x56x96 map is reshaped to 64*49x96 (64 windows of 49 tokens), so the qkv and
projection layers and the attention products repeat over the windows. The shift (torch.roll) and the mask
of shifted windows move or add values and cost no MACs, so a shifted block counts as an unshifted one.
"""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry


def swin(name: str, dim: int, depths: list[int], heads: list[int], drop_path: float, *, v2: bool = False) -> Graph:
    """v2 (Liu et al. 2022) normalises after attention and after the MLP instead of before, attends by cosine
    similarity with a learnt scale per head, makes the relative-position bias with a small MLP over log-spaced
    offsets, uses 8x8 windows at 256x256, and normalises after the patch-merging linear instead of before."""
    image, window = (256, 8) if v2 else (224, 7)
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
            if not v2:
                b.add("layernorm", name=f"{p}.norm")
            dim *= 2
            b.add("fc", dim, bias=False, pointwise=True, name=f"{p}.reduction")
            if v2:
                b.add("layernorm", name=f"{p}.norm")
        wins = (side // window) ** 2
        for i in range(n):
            p = f"features.{index}.{i}"
            x = b.last
            assert x is not None
            src = x if v2 else b.add("layernorm", name=f"{p}.norm1")
            windows = b.add("reshape", f"{wins}*{window * window}x{dim}", name=f"{p}.attn.window_partition", inputs=src)
            bias = _relative_position_bias(b, p, window, h, v2)
            qkv = b.add("fc", 3 * dim, name=f"{p}.attn.qkv", inputs=windows)
            if v2:
                _cosine_attention(b, p, qkv, bias, wins, window * window, dim, h)
            else:
                b.add("attention", heads=h, qkv=True, mask=True, name=f"{p}.attn.attention", inputs=[qkv, bias])
            b.add("fc", dim, name=f"{p}.attn.proj")
            b.add("reshape", f"{side}x{side}x{dim}", name=f"{p}.attn.window_reverse")
            if v2:
                b.add("layernorm", name=f"{p}.norm1")
            sd = round(drop_path * block_id / (total - 1), 6)
            b.add("droppath", p=sd, name=f"{p}.stochastic_depth")
            x = b.add("add", inputs=[x, b.last], name=f"{p}.add_1")
            src = x if v2 else b.add("layernorm", name=f"{p}.norm2")
            b.add("fc", 4 * dim, pointwise=True, name=f"{p}.mlp.0", inputs=src)
            b.add("gelu", name=f"{p}.mlp.1")
            b.add("fc", dim, pointwise=True, name=f"{p}.mlp.3")
            if v2:
                b.add("layernorm", name=f"{p}.norm2")
            b.add("droppath", p=sd, name=f"{p}.stochastic_depth_2")
            b.add("add", inputs=[x, b.last], name=f"{p}.add_2")
            block_id += 1
    b.add("layernorm", name="norm")
    b.add("gap", name="avgpool")
    b.add("flatten", name="flatten")
    b.add("fc", 1000, name="head")
    return b.build()


def _relative_position_bias(b: Builder, p: str, window: int, heads: int, v2: bool) -> str:
    """The bias added to each head's attention logits: one value per relative offset of two tokens in a window
    ((2w-1)^2 offsets), picked out per token pair by an index (a buffer the reference leaves uncounted, as it
    counts only batch-norm statistics). v2 makes the table with a small MLP from a fixed table of log-spaced
    offsets, then squashes it with 16·sigmoid."""
    offsets = 2 * window - 1
    tokens = window * window
    if not v2:
        b.add("param", f"{offsets * offsets}x{heads}", name=f"{p}.attn.relative_position_bias_table")
        return b.add("gather", f"{heads}*{tokens}x{tokens}", name=f"{p}.attn.relative_position_bias")
    b.add("param", f"{offsets}x{offsets}x2", const=True, name=f"{p}.attn.relative_coords_table")
    b.add("fc", 512, pointwise=True, name=f"{p}.attn.cpb_mlp.0")
    b.add("relu", inplace=True, name=f"{p}.attn.cpb_mlp.1")
    b.add("fc", heads, bias=False, pointwise=True, name=f"{p}.attn.cpb_mlp.2")
    b.add("gather", f"{heads}*{tokens}x{tokens}", name=f"{p}.attn.relative_position_bias")
    return b.add("sigmoid", name=f"{p}.attn.relative_position_bias_sigmoid")


def _cosine_attention(b: Builder, p: str, qkv: str, bias: str, wins: int, tokens: int, dim: int, heads: int) -> str:
    """v2's attention, as torchvision writes it: cosine similarity of q and k (F.normalize: `l2norm`, no MACs),
    scaled by a learnt temperature per head, the position bias added, softmax, then the product with v."""
    d = dim // heads
    split = {}
    for i, part in enumerate("qkv"):
        b.add("slice", f"{i * dim}:{(i + 1) * dim}", name=f"{p}.attn.{part}", inputs=qkv)
        split[part] = b.add("reshape", f"{wins}x{heads}*{tokens}x{d}", name=f"{p}.attn.{part}_heads")
        if part != "v":
            split[part] = b.add("l2norm", name=f"{p}.attn.{part}_normalized")
    b.add("matmul", bt=True, name=f"{p}.attn.logits", inputs=[split["q"], split["k"]])
    logits = b.last
    scale = b.add("param", f"{heads}x1x1", name=f"{p}.attn.logit_scale")
    b.add("mul", name=f"{p}.attn.scaled", inputs=[logits, scale])
    b.add("add", name=f"{p}.attn.biased", inputs=[b.last, bias])
    b.add("softmax", name=f"{p}.attn.softmax")
    b.add("matmul", name=f"{p}.attn.values", inputs=[b.last, split["v"]])
    return b.add("reshape", f"{wins}*{tokens}x{dim}", name=f"{p}.attn.merge_heads")


# name: (embedding dim, blocks per stage, heads per stage, stochastic depth rate), from torchvision.models.swin_*;
# swin_v2_t/s/b take the same figures.
_CONFIGS: dict[str, tuple[int, list[int], list[int], float]] = {
    "swin_t": (96, [2, 2, 6, 2], [3, 6, 12, 24], 0.2),
    "swin_s": (96, [2, 2, 18, 2], [3, 6, 12, 24], 0.3),
    "swin_b": (128, [2, 2, 18, 2], [4, 8, 16, 32], 0.5),
}


def _register(name: str, dim: int, depths: list[int], heads: list[int], drop_path: float, v2: bool) -> None:
    size = name.rpartition("_")[2].upper()
    if v2:
        summary = f"Swin-V2-{size} (torchvision): width {dim}, {'-'.join(map(str, depths))} blocks, 8x8 windows at 256"
        source = "Liu et al., Swin Transformer V2, CVPR 2022 (arXiv:2111.09883)"
    else:
        summary = f"Swin-{size} (torchvision): width {dim}, {'-'.join(map(str, depths))} blocks, 7x7 windows"
        source = "Liu et al., Swin Transformer, ICCV 2021 (arXiv:2103.14030)"
    entry(name, summary, f"{source}; torchvision.models.{name}")(
        lambda: swin(name, dim, depths, heads, drop_path, v2=v2)
    )


for _name, (_dim, _depths, _heads, _dp) in _CONFIGS.items():
    _register(_name, _dim, _depths, _heads, _dp, v2=False)
    _register(_name.replace("swin_", "swin_v2_"), _dim, _depths, _heads, _dp, v2=True)
