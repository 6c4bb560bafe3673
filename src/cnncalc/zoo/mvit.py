"""Multiscale Vision Transformers (MViT v1-B, MViTv2-S) as torchvision builds them, on 16x224x224 clips.

A 3x7x7 stride 2x4x4 conv makes 8x56x56 = 25,088 tokens, a class token joins them, and sixteen blocks attend
with pooling: keys and values (queries too: in v1 at a stage change only, in v2 in every block) are each head's
8xHxW grid of tokens, pooled by a depthwise 3x3x3 Conv3d and normalised, the class token set aside and put back
in front. Heads are lead axes
(`2*25089x96`), so the poolers' and attention's work repeats over them. MViTv2 adds relative-position terms to
the attention logits (one product of the queries with a table per axis: T, H, W), adds the pooled queries back
to the attention's output, and widens channels in the attention instead of the MLP.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..builder import Builder
from ..ir import Graph
from . import entry

Grid = tuple[int, int, int]


@dataclass(frozen=True)
class _Block:
    heads: int
    c_in: int
    c_out: int
    kernel_q: tuple[int, ...]
    stride_q: tuple[int, ...]
    stride_kv: Grid


def _pooled(n: int, k: int, s: int) -> int:
    return (n + 2 * (k // 2) - k) // s + 1


def _x(values: tuple[int, ...]) -> str:
    return "x".join(map(str, values))


def _per_axis(values: tuple[int, ...]) -> str:
    """A window argument as the spec writes it back: one number when every axis has it."""
    return str(values[0]) if len(set(values)) == 1 else _x(values)


def _pool(b: Builder, p: str, x: str, heads: int, thw: Grid, dim: int, k: tuple[int, ...], s: tuple[int, ...]) -> Grid:
    """torchvision's Pool: the class token set aside, each head's tokens as a TxHxW grid, a depthwise Conv3d
    (no bias), the class token back in front, then LayerNorm(head_dim) (`norm_act.0`)."""
    tokens = 1 + thw[0] * thw[1] * thw[2]
    cls = b.add("slice", "0:1", axis=0, name=f"{p}.class_token", inputs=x)
    b.add("slice", f"1:{tokens}", axis=0, name=f"{p}.tokens", inputs=x)
    b.add("reshape", f"{heads}*{_x(thw)}x{dim}", name=f"{p}.grid")
    pad = _per_axis(tuple(v // 2 for v in k))
    b.add("dwconv", k=_per_axis(k), s=_per_axis(s), p=pad, bias=False, name=f"{p}.pool")
    out = tuple(_pooled(n, kk, ss) for n, kk, ss in zip(thw, k, s, strict=True))
    b.add("reshape", f"{heads}*{out[0] * out[1] * out[2]}x{dim}", name=f"{p}.flat")
    b.add("concat", inputs=[cls, b.last], axis=0, name=f"{p}.cat")
    b.add("layernorm", name=f"{p}.norm_act.0")
    return out[0], out[1], out[2]


def _pool_skip(b: Builder, p: str, x: str, thw: Grid, c: int, stride: tuple[int, ...]) -> str:
    """The shortcut's Pool: MaxPool3d with kernel stride+1 where the stride is above 1, on the whole width."""
    k = tuple(s + 1 if s > 1 else s for s in stride)
    tokens = 1 + thw[0] * thw[1] * thw[2]
    cls = b.add("slice", "0:1", axis=0, name=f"{p}.class_token", inputs=x)
    b.add("slice", f"1:{tokens}", axis=0, name=f"{p}.tokens", inputs=x)
    # transpose(1, 2).reshape(B, C, T, H, W): a copy, which the pooling keeps for its backward.
    b.add("reshape", f"{_x(thw)}x{c}", copy=True, name=f"{p}.grid")
    pad = _per_axis(tuple(v // 2 for v in k))
    b.add("maxpool", k=_per_axis(k), s=_per_axis(stride), p=pad, name=f"{p}.pool")
    out = [_pooled(n, kk, ss) for n, kk, ss in zip(thw, k, stride, strict=True)]
    b.add("reshape", f"{out[0] * out[1] * out[2]}x{c}", name=f"{p}.flat")
    return b.add("concat", inputs=[cls, b.last], axis=0, name=f"{p}.cat")


def _rel_pos(
    b: Builder, a: str, q: str, heads: int, dim: int, q_thw: Grid, k_thw: Grid, tables: tuple[int, int]
) -> str:
    """MViTv2's decomposed relative positions: the queries (class token left out) times a table per axis.

    torchvision gathers, for each query row along an axis, the rows of that axis's table for the key offsets it
    sees (`Rh = rel_pos_h[dist_h]`, q_h x k_h x head_dim) and multiplies (einsum, bmm): per query and head, k_h
    dot products of head_dim. No cnncalc op gathers, so the k_h rows one query reads are written as k_h rows of
    the table: the same product sizes, the same MACs. The three terms broadcast to q x k_t x k_h x k_w, and the
    sum is added to the logits but for the class token's row and column (zeros padded there)."""
    q_n, k_n = q_thw[0] * q_thw[1] * q_thw[2], k_thw[0] * k_thw[1] * k_thw[2]
    r_q = b.add("slice", f"1:{1 + q_n}", axis=0, name=f"{a}.r_q", inputs=q)
    terms = []
    temporal, spatial = tables
    for axis, key, table, view in (
        ("h", k_thw[1], spatial, f"1x{k_thw[1]}x1"),
        ("w", k_thw[2], spatial, f"1x1x{k_thw[2]}"),
        ("t", k_thw[0], temporal, f"{k_thw[0]}x1x1"),
    ):
        b.add("param", f"{table}x{dim}", name=f"{a}.rel_pos_{axis}")
        rows = b.add("slice", f"0:{key}", axis=0, name=f"{a}.R{axis}")
        name = f"{a}.rel_q_t" if axis == "t" else f"{a}.rel_{axis}_q"
        # einsum lays the queries out for its bmm, one copy per axis, which the product keeps.
        laid = b.add("reshape", f"{heads}*{q_n}x{dim}", copy=True, name=f"{name}.queries", inputs=r_q)
        b.add("matmul", inputs=[laid, rows], bt=True, name=name)
        terms.append(b.add("reshape", f"{heads}*{q_n}x{view}", name=f"{name}.expand"))
    b.add("add", inputs=terms, name=f"{a}.rel_pos")
    b.add("reshape", f"{heads}*{q_n}x{k_n}", name=f"{a}.rel_pos.view")
    b.add("permute", "1,0", name=f"{a}.rel_pos.transpose")
    b.add("pad", "1,0", name=f"{a}.rel_pos.pad_key")
    b.add("permute", "1,0", name=f"{a}.rel_pos.transpose_back")
    return b.add("pad", "1,0", name=f"{a}.rel_pos.pad_query")


def _attention(b: Builder, a: str, blk: _Block, dim_out: int, thw: Grid, v2: bool) -> Grid:
    """MultiscaleAttention: qkv linear, heads split, pooled q, k, v, attention, heads merged, projection."""
    heads, tokens = blk.heads, 1 + thw[0] * thw[1] * thw[2]
    dim = dim_out // heads
    qkv = b.add("fc", 3 * dim_out, name=f"{a}.qkv")
    parts = {}
    for i, what in enumerate("qkv"):
        b.add("slice", f"{i * dim_out}:{(i + 1) * dim_out}", name=f"{a}.{what}", inputs=qkv)
        # reshape(B, N, 3, heads, head_dim).transpose(1, 3): the heads move to the front, as lead axes.
        parts[what] = b.add("reshape", f"{heads}*{tokens}x{dim}", name=f"{a}.{what}.heads")
    # Every block of both models pools keys and values with a 3x3x3 kernel (strided or not).
    k_thw = _pool(b, f"{a}.pool_k", parts["k"], heads, thw, dim, (3, 3, 3), blk.stride_kv)
    parts["k"] = b.last
    _pool(b, f"{a}.pool_v", parts["v"], heads, thw, dim, (3, 3, 3), blk.stride_kv)
    parts["v"] = b.last
    q_thw = thw
    if blk.kernel_q and (max(blk.kernel_q) > 1 or max(blk.stride_q) > 1):
        q_thw = _pool(b, f"{a}.pool_q", parts["q"], heads, thw, dim, blk.kernel_q, blk.stride_q)
        parts["q"] = b.last
    q_n = q_thw[0] * q_thw[1] * q_thw[2]
    # Logits, (v2) relative positions, softmax and the product with v, spelled out as torchvision writes them (the
    # softmax is kept for the backward, as a fused attention would not).
    logits = b.add("matmul", inputs=[parts["q"], parts["k"]], bt=True, name=f"{a}.qk")
    if not v2:
        b.add("softmax", name=f"{a}.softmax")
        b.add("matmul", inputs=[b.last, parts["v"]], name=f"{a}.av")
    else:
        # torchvision sizes the tables from the block's input grid and the strides.
        size = max(thw[1:])
        q_size = size // blk.stride_q[1]
        kv_size = size // blk.stride_kv[1]
        tables = (2 * thw[0] - 1, 2 * max(q_size, kv_size) - 1)
        rel = _rel_pos(b, a, parts["q"], heads, dim, q_thw, k_thw, tables)
        b.add("add", inputs=[logits, rel], name=f"{a}.add_rel_pos")
        b.add("softmax", name=f"{a}.softmax")
        b.add("matmul", inputs=[b.last, parts["v"]], name=f"{a}.av")
        # residual_pool: the pooled queries added back (torchvision leaves the class token's row out: no MACs).
        b.add("add", inputs=[b.last, parts["q"]], name=f"{a}.residual_pool")
    b.add("reshape", f"{1 + q_n}x{dim_out}", name=f"{a}.merge_heads")
    b.add("fc", dim_out, name=f"{a}.project.0")
    return q_thw


def mvit(name: str, blocks: list[_Block], v2: bool) -> Graph:
    b = Builder(name)
    b.input("16x224x224x3")
    c0 = blocks[0].c_in
    b.add("conv", c0, k="3x7x7", s="2x4x4", p="1x3x3", name="conv_proj")
    thw: Grid = (8, 56, 56)
    n = thw[0] * thw[1] * thw[2]
    # flatten(2).transpose(1, 2): (B, C, T, H, W) to T*H*W tokens of C.
    patches = b.add("reshape", f"{n}x{c0}", name="conv_proj.tokens")
    cls = b.add("param", f"1x{c0}", name="pos_encoding.class_token")
    x = b.add("concat", inputs=[cls, patches], axis=0, name="pos_encoding.cat")
    if not v2:
        # Absolute positions: a temporal and a spatial table broadcast to every (t, h, w), the class's in front.
        t = b.add("param", f"{thw[0]}x1x1x{c0}", name="pos_encoding.temporal_pos")
        s = b.add("param", f"{thw[1]}x{thw[2]}x{c0}", name="pos_encoding.spatial_pos")
        b.add("add", inputs=[t, s], name="pos_encoding.pos_embedding")
        grid = b.add("reshape", f"{n}x{c0}", name="pos_encoding.pos_embedding.flat")
        c = b.add("param", f"1x{c0}", name="pos_encoding.class_pos")
        pos = b.add("concat", inputs=[c, grid], axis=0, name="pos_encoding.pos_embedding.cat")
        x = b.add("add", inputs=[x, pos], name="pos_encoding.add")
    for i, blk in enumerate(blocks):
        p = f"blocks.{i}"
        sd = round(0.2 * i / (len(blocks) - 1), 6)
        dim_out = blk.c_out if v2 else blk.c_in  # proj_after_attn (v2): the attention widens the channels
        normed = b.add("layernorm", name=f"{p}.norm1", inputs=x)
        new_thw = _attention(b, f"{p}.attn", blk, dim_out, thw, v2)
        attn = b.add("droppath", p=sd, name=f"{p}.stochastic_depth")
        shortcut = x
        if v2 and blk.c_in != blk.c_out:
            shortcut = b.add("fc", blk.c_out, name=f"{p}.project", inputs=normed)
        if blk.stride_q and max(blk.stride_q) > 1:
            shortcut = _pool_skip(b, f"{p}.pool_skip", shortcut, thw, dim_out, blk.stride_q)
        x = b.add("add", inputs=[shortcut, attn], name=f"{p}.add_1")
        normed2 = b.add("layernorm", name=f"{p}.norm2")
        b.add("fc", 4 * dim_out, name=f"{p}.mlp.0")
        b.add("gelu", name=f"{p}.mlp.1")
        b.add("fc", blk.c_out, name=f"{p}.mlp.3")
        mlp = b.add("droppath", p=sd, name=f"{p}.stochastic_depth_2")
        if not v2 and blk.c_in != blk.c_out:
            x = b.add("fc", blk.c_out, name=f"{p}.project", inputs=normed2)
        x = b.add("add", inputs=[x, mlp], name=f"{p}.add_2")
        thw = new_thw
    b.add("layernorm", name="norm", inputs=x)
    b.add("slice", "0:1", axis=0, name="class_token")
    b.add("flatten", name="class_token.flat")
    b.add("dropout", p=0.5, name="head.0")
    b.add("fc", 400, name="head.1")
    return b.build()


def _v1_blocks() -> list[_Block]:
    heads = [1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8]
    c_in = [96, 192, 192, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 768, 768]
    c_out = [192, 192, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 768, 768, 768]
    pooled_q = {1, 3, 14}  # kernel 3x3x3, stride 1x2x2; no pool_q elsewhere
    blocks = []
    for i in range(16):
        q = ((3, 3, 3), (1, 2, 2)) if i in pooled_q else ((), ())
        blocks.append(_Block(heads[i], c_in[i], c_out[i], q[0], q[1], _stride_kv(i)))
    return blocks


def _v2_blocks() -> list[_Block]:
    heads = [1, 2, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 8, 8]
    c_in = [96, 96, 192, 192, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 768]
    c_out = [96, 192, 192, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 384, 768, 768]
    blocks = []
    for i in range(16):
        stride_q = (1, 2, 2) if i in (1, 3, 14) else (1, 1, 1)
        blocks.append(_Block(heads[i], c_in[i], c_out[i], (3, 3, 3), stride_q, _stride_kv(i)))
    return blocks


def _stride_kv(i: int) -> Grid:
    """Keys and values pooled to 8x7x7 in the first three stages (strides 8, 4, 2 on 56, 28, 14), unstrided after."""
    if i == 0:
        return (1, 8, 8)
    if i < 3:
        return (1, 4, 4)
    if i < 14:
        return (1, 2, 2)
    return (1, 1, 1)


entry(
    "mvit_v1_b",
    "MViT v1-B (torchvision): pooling attention, 16 blocks, 96-192-384-768 channels, 16x224x224 clips",
    "Fan et al., Multiscale Vision Transformers, ICCV 2021 (arXiv:2104.11227); torchvision.models.video.mvit_v1_b",
)(lambda: mvit("mvit_v1_b", _v1_blocks(), v2=False))

entry(
    "mvit_v2_s",
    "MViTv2-S (torchvision): pooling attention with relative positions and residual pooling, 16 blocks, "
    "16x224x224 clips",
    "Li et al., MViTv2: Improved Multiscale Vision Transformers for Classification and Detection, CVPR 2022 "
    "(arXiv:2112.01526); torchvision.models.video.mvit_v2_s",
)(lambda: mvit("mvit_v2_s", _v2_blocks(), v2=True))
