"""MaxViT-T as torchvision builds it: MBConv, then attention in 7x7 windows, then attention across a 7x7 grid.

Both attentions see 49 tokens at a time, in groups held as lead axes: a 56x56xC map is 64 windows of 7x7
neighbours, or 64 grids of 7x7 positions 8 apart (torchvision partitions 8x8 and swaps the two axes). Each
attention's relative-position bias table is picked out by an index buffer that the reference does not count
(only batch-norm statistics), and no cnncalc op gathers, so the table stands alone in the graph.
"""

from __future__ import annotations

from ..builder import Builder
from ..ir import Graph
from . import entry


def _mbconv(b: Builder, p: str, c_in: int, c_out: int, stride: int, drop: float) -> str:
    """Pre-norm inverted bottleneck: BN, 1x1 up (x4), 3x3 depthwise (strided), squeeze-excite, 1x1 down."""
    x = b.last
    assert x is not None
    mid, squeeze = 4 * c_out, c_out // 4
    shortcut = x
    if stride != 1 or c_in != c_out:
        index = 0
        if stride == 2:
            shortcut = b.add("avgpool", k=3, s=2, p=1, name=f"{p}.proj.0", inputs=x)
            index = 1
        shortcut = b.add("conv", c_out, k=1, name=f"{p}.proj.{index}", inputs=shortcut)
    b.add("bn", name=f"{p}.layers.pre_norm", inputs=x)
    b.add("conv", mid, k=1, bias=False, name=f"{p}.layers.conv_a.0")
    b.add("bn", name=f"{p}.layers.conv_a.1")
    b.add("gelu", name=f"{p}.layers.conv_a.2")
    b.add("dwconv", k=3, s=stride, p=1, bias=False, name=f"{p}.layers.conv_b.0")
    b.add("bn", name=f"{p}.layers.conv_b.1")
    y = b.add("gelu", name=f"{p}.layers.conv_b.2")
    se = f"{p}.layers.squeeze_excitation"
    b.add("gap", name=f"{se}.avgpool")
    b.add("conv", squeeze, k=1, name=f"{se}.fc1")
    b.add("silu", name=f"{se}.activation")
    b.add("conv", mid, k=1, name=f"{se}.fc2")
    gate = b.add("sigmoid", name=f"{se}.scale_activation")
    b.add("mul", inputs=[y, gate], name=f"{se}.scale")
    b.add("conv", c_out, k=1, name=f"{p}.layers.conv_c")
    if drop:
        b.add("droppath", p=drop, name=f"{p}.stochastic_depth")
    return b.add("add", inputs=[shortcut, b.last], name=f"{p}.add")


def _partition_attention(b: Builder, p: str, c: int, side: int, drop: float) -> str:
    """PartitionAttentionLayer: partition into groups of 49 tokens, pre-norm attention and MLP, departition."""
    groups, heads = (side // 7) ** 2, c // 32
    x = b.add("reshape", f"{groups}*49x{c}", name=f"{p}.partition_op")
    b.add("layernorm", name=f"{p}.attn_layer.0")
    normed = b.last
    b.add("param", f"{13 * 13}x{heads}", name=f"{p}.attn_layer.1.relative_position_bias_table")
    bias = b.add("gather", f"{heads}*49x49", name=f"{p}.attn_layer.1.relative_position_bias")
    qkv = b.add("fc", 3 * c, name=f"{p}.attn_layer.1.to_qkv", inputs=normed)
    b.add("attention", heads=heads, qkv=True, mask=True, name=f"{p}.attn_layer.1.attention", inputs=[qkv, bias])
    b.add("fc", c, name=f"{p}.attn_layer.1.merge")
    b.add("droppath", p=drop, name=f"{p}.stochastic_dropout")
    x = b.add("add", inputs=[x, b.last], name=f"{p}.add_1")
    b.add("layernorm", name=f"{p}.mlp_layer.0")
    b.add("fc", 4 * c, name=f"{p}.mlp_layer.1")
    b.add("gelu", name=f"{p}.mlp_layer.2")
    b.add("fc", c, name=f"{p}.mlp_layer.3")
    b.add("droppath", p=drop, name=f"{p}.stochastic_dropout_2")
    b.add("add", inputs=[x, b.last], name=f"{p}.add_2")
    return b.add("reshape", f"{side}x{side}x{c}", name=f"{p}.departition_op")


@entry(
    "maxvit_t",
    "MaxViT-T (torchvision): MBConv + window attention + grid attention, 64-128-256-512 channels, 2-2-5-2 layers",
    "Tu et al., MaxViT: Multi-Axis Vision Transformer, ECCV 2022 (arXiv:2204.01697); torchvision.models.maxvit_t",
)
def maxvit_t() -> Graph:
    channels, layers = [64, 128, 256, 512], [2, 2, 5, 2]
    b = Builder("maxvit_t")
    b.input("224x224x3")
    b.add("conv", 64, k=3, s=2, p=1, bias=False, name="stem.0.0")
    b.add("bn", name="stem.0.1")
    b.add("gelu", name="stem.0.2")
    b.add("conv", 64, k=3, p=1, name="stem.1.0")
    total = sum(layers)
    side, c_in, layer_id = 112, 64, 0
    for block, (c, n) in enumerate(zip(channels, layers, strict=True)):
        side = (side - 1) // 2 + 1  # the block's first MBConv: a 3x3 stride-2 conv padded by 1
        for i in range(n):
            p = f"blocks.{block}.layers.{i}.layers"
            # Stochastic depth rises linearly (np.linspace) from 0 at the first layer to 0.2 at the last.
            drop = round(0.2 * layer_id / (total - 1), 6)
            _mbconv(b, f"{p}.MBconv", c_in if i == 0 else c, c, 2 if i == 0 else 1, drop)
            _partition_attention(b, f"{p}.window_attention", c, side, drop)
            _partition_attention(b, f"{p}.grid_attention", c, side, drop)
            layer_id += 1
        c_in = c
    b.add("gap", name="classifier.0")
    b.add("flatten", name="classifier.1")
    b.add("layernorm", name="classifier.2")
    b.add("fc", 512, name="classifier.3")
    b.add("tanh", name="classifier.4")
    b.add("fc", 1000, bias=False, name="classifier.5")
    return b.build()
