"""Video Swin Transformers (T, S, B) as torchvision builds them (swin3d_*), on 16x224x224 clips.

A 2x4x4 patch conv makes an 8x56x56 grid of tokens; attention runs inside 8x7x7 windows of 392 tokens, shifted by
4x3x3 every other block, with patch merging (H and W halved, frames kept) between four stages. A window never
spans more than the map: along an axis no longer than the window, the window shrinks to the map and that axis is
not shifted (the 8 frames always, all axes at 8x7x7). Windows are lead axes (`64*392x96`), so the qkv and
projection layers and the attention products repeat over them. The shift (torch.roll) and the mask of shifted
windows move or add values and cost no MACs, so a shifted block counts as an unshifted one.
"""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry

WINDOW = (8, 7, 7)


def swin3d(name: str, dim: int, depths: list[int], heads: list[int]) -> Graph:
    b = Builder(name)
    b.input("16x224x224x3")
    # 16, 224 and 224 are multiples of the 2x4x4 patch: PatchEmbed3d pads nothing.
    b.add("conv", dim, k="2x4x4", s="2x4x4", name="patch_embed.proj")
    b.add("layernorm", name="patch_embed.norm")
    b.add("dropout", p=0, name="pos_drop")
    size = [8, 56, 56]
    total = sum(depths)
    block_id = 0
    for stage, (n, h) in enumerate(zip(depths, heads, strict=True)):
        if stage:
            # PatchMerging on (B, T, H, W, C): the 2x2 neighbours in H and W side by side, LN, linear, no bias.
            p = f"features.{2 * stage - 1}"
            size = [size[0], size[1] // 2, size[2] // 2]
            b.add("reshape", f"{size[0]}x{size[1]}x{size[2]}x{4 * dim}", name=f"{p}.patch_merging_pad")
            b.add("layernorm", name=f"{p}.norm")
            dim *= 2
            b.add("fc", dim, bias=False, pointwise=True, name=f"{p}.reduction")
        window = [min(w, s) for w, s in zip(WINDOW, size, strict=True)]
        # The sizes are multiples of the window at every stage: no padding.
        wins = (size[0] // window[0]) * (size[1] // window[1]) * (size[2] // window[2])
        tokens = window[0] * window[1] * window[2]
        lead = f"{wins}*" if wins > 1 else ""
        grid = "x".join(map(str, size))
        for i in range(n):
            p = f"features.{2 * stage}.{i}"
            x = b.last
            assert x is not None
            b.add("layernorm", name=f"{p}.norm1")
            windows = b.add("reshape", f"{lead}{tokens}x{dim}", name=f"{p}.attn.window_partition")
            # One bias per head for each of the (2*8-1)(2*7-1)(2*7-1) relative offsets, picked out per token pair
            # by an index buffer that the reference leaves uncounted (only batch-norm statistics count).
            offsets = (2 * WINDOW[0] - 1) * (2 * WINDOW[1] - 1) * (2 * WINDOW[2] - 1)
            b.add("param", f"{offsets}x{h}", name=f"{p}.attn.relative_position_bias_table")
            bias = b.add("gather", f"{h}*{tokens}x{tokens}", name=f"{p}.attn.relative_position_bias")
            qkv = b.add("fc", 3 * dim, name=f"{p}.attn.qkv", inputs=windows)
            b.add("attention", heads=h, qkv=True, mask=True, name=f"{p}.attn.attention", inputs=[qkv, bias])
            b.add("fc", dim, name=f"{p}.attn.proj")
            b.add("reshape", f"{grid}x{dim}", name=f"{p}.attn.window_reverse")
            sd = round(0.1 * block_id / (total - 1), 6)
            b.add("droppath", p=sd, name=f"{p}.stochastic_depth")
            x = b.add("add", inputs=[x, b.last], name=f"{p}.add_1")
            b.add("layernorm", name=f"{p}.norm2")
            b.add("fc", 4 * dim, pointwise=True, name=f"{p}.mlp.0")
            b.add("gelu", name=f"{p}.mlp.1")
            b.add("fc", dim, pointwise=True, name=f"{p}.mlp.3")
            b.add("droppath", p=sd, name=f"{p}.stochastic_depth_2")
            b.add("add", inputs=[x, b.last], name=f"{p}.add_2")
            block_id += 1
    b.add("layernorm", name="norm")
    b.add("gap", name="avgpool")
    b.add("flatten", name="flatten")
    b.add("fc", 400, name="head")
    return b.build()


# name: (embedding dim, blocks per stage, heads per stage), from torchvision.models.video.swin3d_*.
_CONFIGS: dict[str, tuple[int, list[int], list[int]]] = {
    "swin3d_t": (96, [2, 2, 6, 2], [3, 6, 12, 24]),
    "swin3d_s": (96, [2, 2, 18, 2], [3, 6, 12, 24]),
    "swin3d_b": (128, [2, 2, 18, 2], [4, 8, 16, 32]),
}


def _register(name: str, dim: int, depths: list[int], heads: list[int]) -> None:
    size = name[-1].upper()
    entry(
        name,
        f"Video Swin-{size} (torchvision): width {dim}, {'-'.join(map(str, depths))} blocks, 8x7x7 windows, "
        "16x224x224 clips",
        f"Liu et al., Video Swin Transformer, CVPR 2022 (arXiv:2106.13230); torchvision.models.video.{name}",
    )(lambda: swin3d(name, dim, depths, heads))


for _name, (_dim, _depths, _heads) in _CONFIGS.items():
    _register(_name, _dim, _depths, _heads)
