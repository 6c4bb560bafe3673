"""ONNX tensors of any rank: 1-D and 3-D windows, tokens, matrix products, layouts, and whole exported models.

The small graphs are written with onnx.helper (they pass `onnx.checker.check_model(full_check=True)`); each expected
figure is worked out by hand in the test: output sizes from ONNX's formulas, weights from the initializers' dims,
MACs as output positions times the products per position (a matrix product (N x K)(K x M) is N*K*M, times its batch),
which is how PyTorch's FlopCounterMode counts (its FLOPs / 2). Modules written in PyTorch and whole models from
torchvision and timm are exported with torch.onnx's TorchScript exporter (`dynamo=False`) and checked against
PyTorch's own counts: parameters `sum(p.numel())`, buffers, and FlopCounterMode on the meta device.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx_nets import Net, hwc, load, stored_sizes  # skips the module without onnx

import cnncalc
from onnx import helper, numpy_helper

HAS_TORCH = importlib.util.find_spec("torch") is not None
needs_torch = pytest.mark.skipif(not HAS_TORCH, reason="needs torch (pip install 'cnncalc[torch]')")


def run(net: Net, tmp_path: Path, constants: tuple[str, ...] = (), **kwargs: Any) -> tuple[cnncalc.Model, list[str]]:
    """Save, import, and check that params + buffers are the initializers read, but for the named constants."""
    path = net.save(tmp_path / "net.onnx")
    model, notes = load(path, **kwargs)
    assert model.totals.params + model.totals.buffers == stored_sizes(path, constants)
    return model, notes


def ops(model: cnncalc.Model) -> list[str]:
    return [x.op for x in model.layers]


def only(model: cnncalc.Model, op: str) -> Any:
    found = [x for x in model.layers if x.op == op]
    assert len(found) == 1, [(x.name, x.op) for x in model.layers]
    return found[0]


def args(model: cnncalc.Model, layer: Any) -> dict[str, Any]:
    return model.graph.node(layer.name).args


# ----------------------------------------------------------------------------- 1-D and 3-D windows


def test_conv_1d_is_a_signal_of_channels(tmp_path: Path) -> None:
    net = Net((1, 4, 10))
    net.node("Conv", ["x", net.init("w", (6, 4, 3)), net.init("b", (6,))], strides=[2], pads=[1, 1])
    m, notes = run(net, tmp_path)
    assert hwc(m.layers[0]) == "10x4"
    conv = only(m, "conv")
    assert hwc(conv) == "5x6"  # (10 + 2 - 3)//2 + 1
    assert (conv.weights, conv.biases) == (6 * 4 * 3, 6)
    assert conv.macs == 5 * 6 * 3 * 4
    assert not notes


def test_conv_3d_with_strides_and_groups(tmp_path: Path) -> None:
    net = Net((1, 4, 8, 10, 10))
    w = net.init("w", (6, 2, 3, 3, 3))  # 2 groups: each filter sees 4/2 channels
    net.node("Conv", ["x", w, net.init("b", (6,))], name="c3d", group=2, strides=[1, 2, 2], pads=[1, 1, 1, 1, 1, 1])
    m, notes = run(net, tmp_path)
    assert hwc(m.layers[0]) == "8x10x10x4"
    conv = m.layer("c3d")
    assert conv.op == "conv" and hwc(conv) == "8x5x5x6"  # (8+2-3)//1+1, (10+2-3)//2+1
    assert (conv.weights, conv.biases) == (27 * 2 * 6, 6)
    assert conv.macs == 8 * 5 * 5 * 6 * 27 * 2
    assert not notes


def test_depthwise_conv_3d(tmp_path: Path) -> None:
    net = Net((1, 4, 4, 6, 6))
    net.node("Conv", ["x", net.init("w", (4, 1, 3, 3, 3))], group=4, pads=[1] * 6)
    m, _ = run(net, tmp_path)
    dw = only(m, "dwconv")
    assert hwc(dw) == "4x6x6x4" and dw.params == 4 * 27 and dw.macs == 4 * 6 * 6 * 4 * 27


def test_conv_transpose_1d_and_3d(tmp_path: Path) -> None:
    net = Net((1, 4, 3, 5, 5))
    a = net.node("ConvTranspose", ["x", net.init("w", (4, 2, 2, 2, 2))], name="up3", strides=[2, 2, 2])
    net.outputs = [a]
    m, _ = run(net, tmp_path)
    up = m.layer("up3")
    assert up.op == "convT" and hwc(up) == "6x10x10x2"  # (n - 1)*2 + 2
    assert up.weights == 4 * 2 * 8
    assert up.macs == 3 * 5 * 5 * 4 * 2 * 8  # every input value meets the whole kernel

    net = Net((1, 3, 7))
    net.node("ConvTranspose", ["x", net.init("w", (3, 5, 4)), net.init("b", (5,))], name="up1", strides=[3],
             pads=[1, 1])  # fmt: skip
    m, _ = run(net, tmp_path)
    up = m.layer("up1")
    assert hwc(up) == "20x5"  # (7 - 1)*3 - 2 + 4
    assert up.params == 3 * 5 * 4 + 5 and up.macs == 7 * 3 * 5 * 4


def test_pools_in_1d_and_3d(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 9, 9))
    a = net.node("MaxPool", ["x"], kernel_shape=[2, 3, 3], strides=[2, 2, 2], pads=[0, 1, 1, 0, 1, 1])
    b = net.node("AveragePool", ["x"], kernel_shape=[1, 3, 3], strides=[1, 3, 3], ceil_mode=1)
    c = net.node("GlobalAveragePool", ["x"])
    d = net.node("ReduceMean", ["x"], axes=[2, 3, 4], keepdims=0)
    net.outputs = [a, b, c, d]
    m, _ = run(net, tmp_path)
    assert hwc(only(m, "maxpool")) == "4x5x5x3"  # (8-2)//2+1, (9+2-3)//2+1
    assert hwc(only(m, "avgpool")) == "8x3x3x3"
    assert [hwc(x) for x in m.layers if x.op == "gap"] == ["1x1x1x3", "1x1x1x3"]
    assert hwc(only(m, "flatten")) == "3"  # keepdims=0
    assert m.totals.macs == 0

    net = Net((1, 5, 12))
    net.node("MaxPool", ["x"], kernel_shape=[3], strides=[2])
    m, _ = run(net, tmp_path)
    assert hwc(only(m, "maxpool")) == "5x5"  # (12 - 3)//2 + 1


def test_pad_folded_into_a_3d_conv(tmp_path: Path) -> None:
    net = Net((1, 2, 4, 6, 6))
    p = net.node("Pad", ["x", net.ints("pads", [0, 0, 1, 1, 1, 0, 0, 1, 1, 1])])
    net.node("Conv", [p, net.init("w", (3, 2, 3, 3, 3))], name="conv")
    m, notes = run(net, tmp_path)
    assert ops(m) == ["input", "conv"] and hwc(m.layer("conv")) == "4x6x6x3"
    assert args(m, m.layer("conv"))["p"] == (1, 1, 1)
    assert not notes


def test_a_pad_nothing_takes_in_is_a_pad_layer(tmp_path: Path) -> None:
    # Padding a map cnncalc has no convolution to fold it into: its own `pad` layer, along the axes it pads.
    net = Net((1, 3, 8, 8))
    p = net.node("Pad", ["x", net.ints("pads", [0, 0, 1, 2, 0, 0, 3, 4])], name="border", mode="reflect")
    net.node("Relu", [p])
    m, notes = run(net, tmp_path)
    assert ops(m) == ["input", "pad", "relu"]
    pad = m.layer("border")
    assert hwc(pad) == "12x14x3" and args(m, pad)["p"] == (1, 3, 2, 4) and args(m, pad)["mode"] == "reflect"
    assert not notes


def test_resize_3d_is_trilinear(tmp_path: Path) -> None:
    net = Net((1, 4, 2, 3, 3))
    scales = net.init("scales", None, np.array([1, 1, 2, 2, 2], dtype=np.float32))
    net.node("Resize", ["x", "", scales], name="up", mode="linear")
    m, _ = run(net, tmp_path, constants=("scales",))
    up = m.layer("up")
    assert (up.op, hwc(up), args(m, up)["mode"]) == ("upsample", "4x6x6x4", "trilinear")


def test_instance_norm(tmp_path: Path) -> None:
    net = Net((1, 6, 5, 5))
    net.node("InstanceNormalization", ["x", net.init("s", (6,)), net.init("b", (6,))])
    m, _ = run(net, tmp_path)
    norm = only(m, "instancenorm")
    assert (hwc(norm), norm.weights, norm.biases, norm.buffers) == ("5x5x6", 6, 6, 0)


def test_a_3d_input_size_given(tmp_path: Path) -> None:
    net = Net(("N", 3, "T", "H", "W"))
    net.node("Conv", ["x", net.init("w", (8, 3, 3, 3, 3))], strides=[1, 2, 2], pads=[1] * 6)
    m, _ = run(net, tmp_path, input="8x16x16x3")
    conv = only(m, "conv")
    assert hwc(m.layers[0]) == "8x16x16x3" and hwc(conv) == "8x8x8x8"
    assert conv.macs == 8 * 8 * 8 * 8 * 27 * 3


# ----------------------------------------------------------------------------- tokens and matrix products


def test_tokens_of_a_length_given(tmp_path: Path) -> None:
    net = Net(("N", "L", 8))
    net.node("MatMul", ["x", net.init("w", (8, 6))], name="proj")
    m, _ = run(net, tmp_path, input="5x8")
    assert (hwc(m.layers[0]), hwc(m.layer("proj")), m.layer("proj").macs) == ("5x8", "5x6", 5 * 8 * 6)


def test_matmul_of_tokens_by_weights_and_its_bias(tmp_path: Path) -> None:
    net = Net((1, 5, 8))
    h = net.node("MatMul", ["x", net.init("w", (8, 6))], name="proj")
    net.node("Add", [net.init("b", (6,)), h])
    m, notes = run(net, tmp_path)
    assert ops(m) == ["input", "fc"]
    fc = m.layer("proj")
    assert (hwc(m.layers[0]), hwc(fc)) == ("5x8", "5x6")
    assert (fc.weights, fc.biases, fc.macs) == (48, 6, 5 * 8 * 6)  # each of 5 tokens: 8 x 6
    assert not notes


def test_matmul_of_a_channels_last_map(tmp_path: Path) -> None:
    # ConvNeXt's block: NCHW made NHWC, a linear layer at each position, made NCHW again; no layer for the moves.
    net = Net((1, 4, 3, 5))
    a = net.node("Transpose", ["x"], perm=[0, 2, 3, 1])
    a = net.node("MatMul", [a, net.init("w", (4, 16))], name="pw")
    a = net.node("Transpose", [a], perm=[0, 3, 1, 2])
    net.node("Conv", [a, net.init("k", (2, 16, 1, 1))], name="conv")
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "fc", "conv"]
    assert hwc(m.layer("pw")) == "3x5x16" and m.layer("pw").macs == 3 * 5 * 4 * 16
    assert hwc(m.layer("conv")) == "3x5x2"


def test_gemm_of_tokens(tmp_path: Path) -> None:
    # torch's MultiheadAttention: its output projection is a Gemm on the tokens with the batch merged in.
    net = Net((1, 7, 12))
    a = net.node("Reshape", ["x", net.ints("flat", [7, 12])])
    net.node("Gemm", [a, net.init("w", (10, 12)), net.init("b", (10,))], name="out", transB=1)
    m, _ = run(net, tmp_path)
    fc = m.layer("out")
    assert (hwc(fc), fc.params, fc.macs) == ("7x10", 130, 7 * 12 * 10)


def test_matmul_of_two_activations_with_heads(tmp_path: Path) -> None:
    # q k^T of 2 heads, 5 tokens of 4 channels each: 2*5*4*5 MACs; then weights times v: 2*5*5*4.
    net = Net((1, 2, 5, 4))
    kt = net.node("Transpose", ["x"], perm=[0, 1, 3, 2])
    scores = net.node("MatMul", ["x", kt], name="qk")
    weights = net.node("Softmax", [scores], axis=-1)
    net.node("MatMul", [weights, "x"], name="av")
    m, notes = run(net, tmp_path)
    qk, av = m.layer("qk"), m.layer("av")
    assert (qk.op, hwc(qk), qk.macs) == ("matmul", "2*5x5", 2 * 5 * 4 * 5)
    assert args(m, qk)["bt"] is True  # k^T read as k transposed: no permute layer
    assert (av.op, hwc(av), av.macs) == ("matmul", "2*5x4", 2 * 5 * 5 * 4)
    assert "permute" not in ops(m) and not notes


def test_matmul_broadcasts_a_matrix_over_batch_axes(tmp_path: Path) -> None:
    net = Net((1, 3, 4, 6))
    w = net.node("Transpose", [net.node("Relu", ["x"])], perm=[0, 1, 3, 2])  # 3 x 6 x 4
    net.node("MatMul", ["x", w], name="gram")
    m, _ = run(net, tmp_path)
    gram = m.layer("gram")
    assert hwc(gram) == "3*4x4" and gram.macs == 3 * 4 * 6 * 4


@pytest.mark.parametrize(
    ("equation", "a", "b", "out", "macs"),
    [
        ("bhid,bhjd->bhij", (1, 2, 5, 4), (1, 2, 6, 4), "2*5x6", 2 * 5 * 4 * 6),  # q k^T
        ("bhij,bhjd->bhid", (1, 2, 5, 6), (1, 2, 6, 4), "2*5x4", 2 * 5 * 6 * 4),  # weights v
        ("bij,bjk->bik", (1, 5, 3), (1, 3, 7), "5x7", 5 * 3 * 7),
    ],
)
def test_einsum_as_a_batched_product(tmp_path: Path, equation: str, a: Any, b: Any, out: str, macs: int) -> None:
    net = Net(a)
    net.inputs.append(helper.make_tensor_value_info("y", 1, list(b)))
    net.node("Einsum", ["x", "y"], name="prod", equation=equation)
    m, notes = run(net, tmp_path)
    prod = m.layer("prod")
    assert (prod.op, hwc(prod), prod.macs) == ("matmul", out, macs)
    assert not notes


def test_einsum_with_weights_is_fc(tmp_path: Path) -> None:
    net = Net((1, 5, 8))
    net.node("Einsum", ["x", net.init("w", (6, 8))], name="proj", equation="bld,kd->blk")
    m, _ = run(net, tmp_path)
    fc = m.layer("proj")
    assert (fc.op, hwc(fc), fc.weights, fc.macs) == ("fc", "5x6", 48, 5 * 8 * 6)


def test_einsum_that_is_no_product_is_opaque(tmp_path: Path) -> None:
    net = Net((1, 4, 4))
    net.node("Einsum", ["x"], name="trace", equation="bii->b")
    m, notes = run(net, tmp_path)
    assert m.layer("trace").op == "opaque" and any("'trace'" in n for n in notes)


def test_layernorm_over_tokens_and_over_two_axes(tmp_path: Path) -> None:
    net = Net((1, 6, 8))
    a = net.node("LayerNormalization", ["x", net.init("g", (8,)), net.init("b", (8,))], name="ln", axis=-1)
    net.node("LayerNormalization", [a, net.init("g2", (6, 8))], name="ln2", axis=1)
    m, _ = run(net, tmp_path)
    ln, ln2 = m.layer("ln"), m.layer("ln2")
    assert (ln.op, hwc(ln), ln.weights, ln.biases) == ("layernorm", "6x8", 8, 8)
    assert (ln2.op, ln2.weights, ln2.biases) == ("layernorm", 48, 0)  # over both axes, no bias


@pytest.mark.parametrize("opset", [13, 18])
def test_layernorm_written_out_op_by_op(tmp_path: Path, opset: int) -> None:
    # What torch.onnx writes for nn.LayerNorm before opset 17.
    net = Net((1, 5, 8), opset=opset)
    axes = {"axes": [-1]} if opset < 18 else {}
    extra = [net.ints("axes", [-1])] if opset >= 18 else []
    mean = net.node("ReduceMean", ["x", *extra], name="/ln/ReduceMean", **axes)
    d = net.node("Sub", ["x", mean], name="/ln/Sub")
    sq = net.node("Pow", [d, net.init("two", None, np.float32(2))], name="/ln/Pow")
    var = net.node("ReduceMean", [sq, *extra], name="/ln/ReduceMean_1", **axes)
    var = net.node("Add", [var, net.init("eps", None, np.float32(1e-5))], name="/ln/Add")
    root = net.node("Sqrt", [var], name="/ln/Sqrt")
    n = net.node("Div", [d, root], name="/ln/Div")
    n = net.node("Mul", [n, net.init("gamma", (8,))], name="/ln/Mul")
    n = net.node("Add", [n, net.init("beta", (8,))], name="/ln/Add_1")
    net.node("MatMul", [n, net.init("w", (8, 3))], name="/fc/MatMul")
    m, notes = run(net, tmp_path, constants=("two", "eps"))
    assert ops(m) == ["input", "layernorm", "fc"]
    ln = m.layer("ln")
    assert (hwc(ln), ln.weights, ln.biases) == ("5x8", 8, 8)
    assert not notes


def test_patch_embedding_class_token_and_position_embedding(tmp_path: Path) -> None:
    # ViT's stem: a 4x4/4 conv, NCHW to tokens, a class token in front, a position embedding added.
    net = Net((1, 3, 8, 8))
    a = net.node("Conv", ["x", net.init("w", (16, 3, 4, 4)), net.init("b", (16,))], name="patch", strides=[4, 4])
    a = net.node("Reshape", [a, net.ints("shape", [1, 16, 4])])
    a = net.node("Transpose", [a], perm=[0, 2, 1])
    a = net.node("Concat", [net.init("class_token", (1, 1, 16)), a], name="cat", axis=1)
    a = net.node("Add", [a, net.init("pos_embedding", (1, 5, 16))], name="pos")
    cls = net.node("Gather", [a, net.ints("zero", 0)], name="first", axis=1)
    net.node("Gemm", [cls, net.init("head", (10, 16)), net.init("hb", (10,))], name="head", transB=1)
    m, notes = run(net, tmp_path)
    assert ops(m) == ["input", "conv", "reshape", "param", "concat", "param", "add", "slice", "flatten", "fc"]
    assert hwc(m.layer("patch")) == "2x2x16"
    assert hwc(m.layer("cat")) == "5x16" and args(m, m.layer("cat"))["axis"] == 0  # along the tokens
    assert m.layer("class_token").params == 16 and m.layer("pos_embedding").params == 5 * 16
    assert (hwc(m.layer("head")), m.layer("head").macs) == ("10", 16 * 10)
    assert not notes


def test_patch_merging_takes_every_other_row_and_column(tmp_path: Path) -> None:
    # Swin's PatchMerging: x[:, 0::2, 0::2], x[:, 1::2, 0::2]... joined along the channels, then a linear layer.
    net = Net((1, 4, 4, 6))
    x = net.node("LayerNormalization", ["x", net.init("g", (6,)), net.init("b", (6,))], axis=-1)  # channels last
    ends, axes, steps = net.ints("end", [4, 4]), net.ints("ax", [1, 2]), net.ints("st", [2, 2])
    parts = []
    for k, (r, c) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)]):
        parts.append(net.node("Slice", [x, net.ints(f"s{k}", [r, c]), ends, axes, steps], name=f"take{k}"))
    a = net.node("Concat", parts, name="cat", axis=-1)
    net.node("MatMul", [a, net.init("w", (24, 12))], name="reduction")
    m, _ = run(net, tmp_path)
    assert hwc(m.layer("cat")) == "2x2x24"
    slices = [x for x in m.layers if x.op == "slice"]
    assert len(slices) == 8 and all(hwc(x) in ("2x4x6", "2x2x6") for x in slices)
    assert args(m, slices[0])["channels"] == (0, 2) and args(m, slices[0])["axis"] == 0  # rows 0 and 2
    assert m.layer("reduction").macs == 2 * 2 * 24 * 12


def test_split_of_qkv_along_a_moved_axis(tmp_path: Path) -> None:
    # timm's attention: qkv (B, N, 3*C) reshaped to (B, N, 3, h, d), permuted to (3, B, h, N, d), split in three.
    net = Net((1, 5, 8))
    qkv = net.node("MatMul", ["x", net.init("w", (8, 24))], name="qkv")
    a = net.node("Reshape", [qkv, net.ints("shape", [1, 5, 3, 2, 4])])
    a = net.node("Transpose", [a], perm=[2, 0, 3, 1, 4])
    q, k, v = net.node("Split", [a, net.ints("sizes", [1, 1, 1])], 3, name="split", axis=0)
    q, k, v = (net.node("Squeeze", [t, net.ints(f"sq{i}", [0])]) for i, t in enumerate((q, k, v)))
    kt = net.node("Transpose", [k], perm=[0, 1, 3, 2])
    s = net.node("MatMul", [q, kt], name="qk")
    net.node("MatMul", [net.node("Softmax", [s], axis=-1), v], name="av")
    m, notes = run(net, tmp_path)
    assert m.layer("qk").macs == 2 * 5 * 4 * 5 and m.layer("av").macs == 2 * 5 * 5 * 4
    assert hwc(m.layer("av")) == "2*5x4"
    assert m.totals.macs == 5 * 8 * 24 + 2 * (2 * 5 * 4 * 5)
    assert not notes


def test_unfolding_a_map_into_patches_needs_a_five_axis_permute(tmp_path: Path) -> None:
    # MobileViT's unfold of a 4x4 map of 3 channels into 2x2 patches: (P, N, C) = (4, 4, 3).
    net = Net((1, 3, 4, 4))
    a = net.node("Reshape", ["x", net.ints("s1", [6, 2, 2, 2])])  # B*C*nh, ph, nw, pw
    a = net.node("Transpose", [a], perm=[0, 2, 1, 3])
    a = net.node("Reshape", [a, net.ints("s2", [1, 3, 4, 4])])  # B, C, N, P
    a = net.node("Transpose", [a], perm=[0, 3, 2, 1])
    a = net.node("Reshape", [a, net.ints("s3", [4, 4, 3])], name="tokens")
    net.node("LayerNormalization", [a, net.init("g", (3,)), net.init("b", (3,))], name="ln", axis=-1)
    m, notes = run(net, tmp_path)
    assert hwc(m.layer("ln")) == "4x4x3"
    permute = only(m, "permute")
    assert len(args(m, permute)["order"]) == 5  # nh, ph, nw, pw, c moved to ph, pw, nh, nw, c
    assert not notes


def test_a_folded_relative_position_bias_counts_its_table(tmp_path: Path) -> None:
    # Swin's table[index] folded by the exporter into a (1, heads, N, N) constant: PyTorch counts the table.
    rng = np.random.default_rng(1)
    table = rng.standard_normal((25, 2)).astype(np.float32)  # (2*3-1)^2 relative positions x 2 heads: window 3x3
    coords = np.stack(np.meshgrid(np.arange(3), np.arange(3), indexing="ij")).reshape(2, -1)
    rel = (coords[:, :, None] - coords[:, None, :]).transpose(1, 2, 0) + 2
    index = rel[..., 0] * 5 + rel[..., 1]
    bias = table[index.reshape(-1)].reshape(9, 9, 2).transpose(2, 0, 1)[None]  # (1, heads, N, N) as Swin adds it
    net = Net((1, 2, 9, 4))
    scores = net.node("MatMul", ["x", net.node("Transpose", ["x"], perm=[0, 1, 3, 2])])
    net.node("Add", [scores, net.init("onnx::Add_7", None, bias)], name="attn_bias")
    m, notes = load(net.save(tmp_path / "net.onnx"))
    param = only(m, "param")
    assert param.params == 25 * 2 and hwc(param) == "2x9x9"
    assert args(m, param)["table"].numel == 50
    assert m.totals.params == 50
    assert any("gathered from a table of 50" in n for n in notes)


def test_a_mask_made_from_literals_is_no_parameter(tmp_path: Path) -> None:
    # Swin's shifted-window mask: a tensor filled with -100 and 0, added to the scores: neither param nor buffer.
    net = Net((1, 2, 4, 4))
    fill = numpy_helper.from_array(np.array([-100.0], dtype=np.float32))
    mask = net.node("ConstantOfShape", [net.ints("dims", [1, 2, 4, 4])], value=fill)
    net.node("Add", ["x", mask], name="masked")
    m, _ = run(net, tmp_path)
    assert (m.layer("masked").op, m.totals.params) == ("identity", 0)


def test_rolling_windows_back_is_slices_and_concats(tmp_path: Path) -> None:
    # torch.roll of a channels-last map along H: two slices joined again, along the rows.
    net = Net((1, 4, 6, 6))
    a = net.node("Transpose", [net.node("Relu", ["x"])], perm=[0, 2, 3, 1])  # NHWC: nothing moves in cnncalc
    top = net.node("Slice", [a, net.ints("a0", [2]), net.ints("a1", [6]), net.ints("ax", [1])])
    bottom = net.node("Slice", [a, net.ints("b0", [0]), net.ints("b1", [2]), net.ints("ax2", [1])])
    net.node("Concat", [top, bottom], name="rolled", axis=1)
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "relu", "slice", "slice", "concat"]
    assert hwc(m.layer("rolled")) == "6x6x4" and args(m, m.layer("rolled"))["axis"] == 0


def test_a_channel_shuffle_before_a_split_stays_a_shuffle(tmp_path: Path) -> None:
    net = Net((1, 8, 4, 4))
    a = net.node("Reshape", ["x", net.ints("to5", [1, 2, 4, 4, 4])])
    a = net.node("Transpose", [a], perm=[0, 2, 1, 3, 4])
    a = net.node("Reshape", [a, net.ints("to4", [1, 8, 4, 4])], name="shuffle")
    left = net.node("Slice", [a, net.ints("s", [0]), net.ints("e", [4]), net.ints("ax", [1])], name="left")
    net.node("Conv", [left, net.init("w", (4, 4, 1, 1))])
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "shuffle", "slice", "conv"]
    assert args(m, m.layer("left"))["channels"] == ("range", 0, 4)


# ----------------------------------------------------------------------------- modules written in PyTorch


def _torch_modules() -> list[tuple[str, Any, tuple[int, ...]]]:
    """Small modules as users write them, with the input each takes (batch 1)."""
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812

    class TinyViT(nn.Module):
        """Patch embedding, class token, position embedding, pre-norm encoder blocks (torch's MultiheadAttention),
        the class token's output to a linear head."""

        def __init__(self) -> None:
            super().__init__()
            self.patch = nn.Conv2d(3, 32, 8, stride=8)
            self.cls = nn.Parameter(torch.zeros(1, 1, 32))
            self.pos = nn.Parameter(torch.randn(1, 17, 32) * 0.02)
            self.ln1, self.ln2, self.ln = nn.LayerNorm(32), nn.LayerNorm(32), nn.LayerNorm(32)
            self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(32, 64), nn.GELU(), nn.Linear(64, 32))
            self.head = nn.Linear(32, 10)

        def forward(self, x: Any) -> Any:
            x = self.patch(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            x = x + self.mlp(self.ln2(x))
            return self.head(self.ln(x)[:, 0])

    class EinsumAttention(nn.Module):
        """Attention written with einsum, heads split by reshape and permute."""

        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(24, 72)
            self.proj = nn.Linear(24, 24)

        def forward(self, x: Any) -> Any:
            b, n, c = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, 4, c // 4).permute(2, 0, 3, 1, 4)
            attn = torch.einsum("bhid,bhjd->bhij", q, k).softmax(-1)
            y = torch.einsum("bhij,bhjd->bhid", attn, v).transpose(1, 2).reshape(b, n, c)
            return self.proj(y)

    class SDPAttention(nn.Module):
        """timm's attention: qkv, unbind, F.scaled_dot_product_attention, projection."""

        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(16, 48)
            self.proj = nn.Linear(16, 16)

        def forward(self, x: Any) -> Any:
            b, n, c = x.shape
            q, k, v = self.qkv(x).reshape(b, n, 3, 2, c // 2).permute(2, 0, 3, 1, 4).unbind(0)
            return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, c))

    class ConvNeXtBlock(nn.Module):
        """Depthwise 7x7, channels-last layer norm and MLP, layer scale, residual."""

        def __init__(self) -> None:
            super().__init__()
            self.dw = nn.Conv2d(16, 16, 7, padding=3, groups=16)
            self.norm = nn.LayerNorm(16)
            self.pw1, self.pw2 = nn.Linear(16, 64), nn.Linear(64, 16)
            self.gamma = nn.Parameter(torch.ones(16) * 1e-6)

        def forward(self, x: Any) -> Any:
            y = self.norm(self.dw(x).permute(0, 2, 3, 1))
            y = self.gamma * self.pw2(F.gelu(self.pw1(y)))
            return x + y.permute(0, 3, 1, 2)

    class Video(nn.Module):
        """3-D convolutions, batch norm, pooling of frames and pixels, a classifier."""

        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv3d(3, 8, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False)
            self.bn = nn.BatchNorm3d(8)
            self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))
            self.conv = nn.Conv3d(8, 16, 3, stride=2, padding=1)
            self.avg = nn.AvgPool3d(2)
            self.up = nn.ConvTranspose3d(16, 4, 2, stride=2)
            self.fc = nn.Linear(4, 5)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.bn(self.stem(x))))
            x = self.up(self.avg(F.relu(self.conv(x))))
            return self.fc(F.adaptive_avg_pool3d(x, 1).flatten(1))

    class Signal(nn.Module):
        """1-D convolutions of a signal, batch norm, pooling, a transposed convolution."""

        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(2, 8, 5, stride=2, padding=2)
            self.bn = nn.BatchNorm1d(8)
            self.pool = nn.MaxPool1d(2)
            self.up = nn.ConvTranspose1d(8, 4, 4, stride=2, padding=1)
            self.fc = nn.Linear(4, 3)

        def forward(self, x: Any) -> Any:
            x = self.up(self.pool(F.relu(self.bn(self.conv(x)))))
            return self.fc(x.mean(-1))

    class Norms(nn.Module):
        """Group norm (written as a reshape, an instance norm and a per-channel affine), instance norms."""

        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.conv2 = nn.Conv2d(3, 8, 3), nn.Conv2d(8, 8, 3)
            self.gn = nn.GroupNorm(4, 8)
            self.inorm, self.inorm_affine = nn.InstanceNorm2d(8), nn.InstanceNorm2d(8, affine=True)

        def forward(self, x: Any) -> Any:
            x = self.inorm(F.relu(self.gn(self.conv1(x))))
            return self.inorm_affine(self.conv2(x))

    return [
        ("Norms", Norms, (3, 12, 12)),
        ("TinyViT", TinyViT, (3, 32, 32)),
        ("EinsumAttention", EinsumAttention, (9, 24)),
        ("SDPAttention", SDPAttention, (6, 16)),
        ("ConvNeXtBlock", ConvNeXtBlock, (16, 9, 9)),
        ("Video", Video, (3, 4, 32, 32)),
        ("Signal", Signal, (2, 40)),
    ]


MODULES = ["TinyViT", "EinsumAttention", "SDPAttention", "ConvNeXtBlock", "Video", "Signal", "Norms"]


def _export(module: Any, shape: tuple[int, ...], path: Path, opset: int = 17, **kwargs: Any) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(module, torch.zeros(1, *shape), str(path), dynamo=False, opset_version=opset, **kwargs)


def _torch_counts(module: Any, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """PyTorch's own figures: unique parameters, buffers (running statistics), FlopCounterMode's FLOPs / 2 on the
    meta device (on the CPU, scaled_dot_product_attention runs a fused kernel the counter does not see)."""
    import copy

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())
    buffers = sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked"))
    meta = copy.deepcopy(module).to("meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        meta(torch.zeros(1, *shape, device="meta"))
    return params, buffers, counter.get_total_flops() // 2


@needs_torch
@pytest.mark.parametrize("opset", [14, 17])
@pytest.mark.parametrize("name", MODULES)
def test_module_through_onnx(tmp_path: Path, name: str, opset: int) -> None:
    import torch

    torch.manual_seed(0)
    cls, shape = next((c, s) for n, c, s in _torch_modules() if n == name)
    module = cls().eval()
    path = tmp_path / f"{name}.onnx"
    _export(module, shape, path, opset, training=torch.onnx.TrainingMode.PRESERVE)
    m, notes = load(path)
    params, buffers, macs = _torch_counts(module, shape)
    assert (m.totals.params, m.totals.buffers, m.totals.macs) == (params, buffers, macs), notes
    assert not [x.name for x in m.layers if x.op == "opaque"], notes
    if opset < 17 and name in ("TinyViT", "ConvNeXtBlock"):  # layer norm written out op by op, read as one
        assert sum(x.op == "layernorm" for x in m.layers) == (3 if name == "TinyViT" else 1)
    if name == "Norms":
        assert [x.op for x in m.layers if "norm" in x.op] == ["groupnorm", "instancenorm", "instancenorm"]


# ----------------------------------------------------------------------------- whole models


def _model(name: str) -> tuple[Any, tuple[int, ...]]:
    """A torchvision or timm model with its random initial weights (weights=None), and its input (batch 1)."""
    if name == "mobilevit_xxs":
        timm = pytest.importorskip("timm")
        return timm.create_model(name, pretrained=False), (3, 256, 256)
    torchvision = pytest.importorskip("torchvision")
    if name == "r3d_18":
        return torchvision.models.video.r3d_18(weights=None), (3, 16, 112, 112)
    return getattr(torchvision.models, name)(weights=None), (3, 224, 224)


def _meta_macs(name: str, shape: tuple[int, ...]) -> int:
    """PyTorch's FlopCounterMode on the meta device (no memory, no time), FLOPs / 2."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    module, _ = _model(name)
    module = module.eval().to("meta")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.zeros(1, *shape, device="meta"))
    return counter.get_total_flops() // 2


MODELS = ["resnet50", "convnext_tiny", "vit_b_16", "swin_t", "r3d_18", "mobilevit_xxs"]


@needs_torch
@pytest.mark.parametrize("name", MODELS)
def test_model_exported_by_pytorch(tmp_path: Path, name: str) -> None:
    """`torch.onnx.export(model, x, f, opset_version=17, dynamo=False)`: params and MACs as PyTorch counts them.

    That export folds each batch norm into the convolution before it (eval mode): its gamma and beta are gone, the
    convolution (without a bias in these models) gains one, so the file holds PyTorch's params less one value per
    batch-norm channel; MACs are unchanged. Exported keeping batch norm (`training=PRESERVE`), params and buffers
    are PyTorch's exactly.
    """
    import torch

    torch.manual_seed(0)
    module, shape = _model(name)
    module = module.eval()
    params = sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())
    norms = [x for x in module.modules() if isinstance(x, torch.nn.modules.batchnorm._BatchNorm)]
    folded = params - sum(x.num_features for x in norms)
    macs = _meta_macs(name, shape)
    path = tmp_path / f"{name}.onnx"
    _export(module, shape, path)
    m, notes = load(path)
    assert (m.totals.params, m.totals.macs) == (folded, macs), notes
    assert not [x.name for x in m.layers if x.op == "opaque"], notes
    if norms:
        buffers = sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked"))
        kept = tmp_path / f"{name}_bn.onnx"
        _export(module, shape, kept, training=torch.onnx.TrainingMode.PRESERVE)
        m, notes = load(kept)
        assert (m.totals.params, m.totals.buffers, m.totals.macs) == (params, buffers, macs), notes


@needs_torch
def test_a_batch_of_two_moved_among_the_axes_is_never_counted_twice(tmp_path: Path) -> None:
    """torch's MultiheadAttention puts the batch second: with a batch of 2 fixed in the file, the layers where it is
    not first are kept opaque (MACs unknown, named in warnings); nothing is counted per sample twice."""
    import torch

    torch.manual_seed(0)
    cls, shape = next((c, s) for n, c, s in _torch_modules() if n == "TinyViT")
    module = cls().eval()
    path = tmp_path / "batch2.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.zeros(2, *shape), str(path), dynamo=False, opset_version=17)
    m, notes = load(path)
    params, _, macs = _torch_counts(module, shape)
    opaque = [x for x in m.layers if x.op == "opaque"]
    assert m.totals.params == params
    assert opaque and m.totals.macs < macs
    assert any("batch of 2" in n for n in notes)
    known = sum(x.macs for x in m.layers if x.macs)
    assert known == m.totals.macs
