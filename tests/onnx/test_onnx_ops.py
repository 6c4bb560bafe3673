"""Every ONNX op the importer maps, on small graphs built with onnx.helper.

Each expected figure is worked out by hand in the test (output size from the ONNX formula, weights from the
initializer's dimensions, MACs as output positions times the products per position); the graphs pass
`onnx.checker.check_model(full_check=True)`, so they are ONNX as the spec defines it. Every test also checks that
params + buffers add up to the initializers the graph reads (each counted once).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx_nets import Net, hwc, load, stored_sizes

import cnncalc


def run(net: Net, tmp_path: Path, constants: tuple[str, ...] = (), **kwargs: Any) -> tuple[cnncalc.Model, list[str]]:
    """Save, import, and check that params + buffers are the initializers read, but for the named constants."""
    path = net.save(tmp_path / "net.onnx")
    model, notes = load(path, **kwargs)
    assert model.totals.params + model.totals.buffers == stored_sizes(path, constants)
    return model, notes


def only(model: cnncalc.Model, op: str) -> Any:
    found = [x for x in model.layers if x.op == op]
    assert len(found) == 1, [(x.name, x.op) for x in model.layers]
    return found[0]


def ops(model: cnncalc.Model) -> list[str]:
    return [x.op for x in model.layers]


# ----------------------------------------------------------------------------- Conv


def test_conv_with_bias_and_symmetric_pads(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    net.node("Conv", ["x", net.init("w", (8, 3, 3, 3)), net.init("b", (8,))], name="conv1", pads=[1, 1, 1, 1])
    m, notes = run(net, tmp_path)
    conv = only(m, "conv")
    assert conv.name == "conv1"
    assert hwc(conv) == "8x8x8"  # (8 + 2 - 3)/1 + 1
    assert (conv.weights, conv.biases) == (3 * 3 * 3 * 8, 8)
    assert conv.macs == 8 * 8 * 8 * (3 * 3 * 3)
    assert not notes


def test_conv_groups_without_bias(tmp_path: Path) -> None:
    net = Net((1, 8, 6, 6))
    net.node("Conv", ["x", net.init("w", (16, 4, 3, 3))], group=2)
    m, _ = run(net, tmp_path)
    conv = only(m, "conv")
    assert hwc(conv) == "4x4x16"
    assert (conv.weights, conv.biases) == (3 * 3 * 4 * 16, 0)  # each filter sees 8/2 channels
    assert conv.macs == 4 * 4 * 16 * 9 * 4


def test_conv_with_group_equal_to_channels_is_depthwise(tmp_path: Path) -> None:
    net = Net((1, 8, 6, 6))
    net.node("Conv", ["x", net.init("w", (16, 1, 3, 3)), net.init("b", (16,))], group=8, pads=[1, 1, 1, 1])
    m, _ = run(net, tmp_path)
    dw = only(m, "dwconv")
    assert hwc(dw) == "6x6x16"  # channel multiplier 2
    assert dw.params == 16 * 9 + 16
    assert dw.macs == 6 * 6 * 16 * 9


def test_conv_stride_and_dilation(tmp_path: Path) -> None:
    net = Net((1, 3, 9, 9))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))], strides=[2, 2], dilations=[2, 2])
    m, _ = run(net, tmp_path)
    conv = only(m, "conv")
    assert hwc(conv) == "3x3x4"  # dilated kernel 2*(3-1)+1 = 5; (9 - 5)/2 + 1 = 3
    assert conv.macs == 3 * 3 * 4 * 27


@pytest.mark.parametrize(
    ("auto_pad", "size"),
    [("SAME_UPPER", 4), ("SAME_LOWER", 4), ("VALID", 3)],  # ceil(8/2) = 4; floor((8 - 3)/2) + 1 = 3
)
def test_conv_auto_pad(tmp_path: Path, auto_pad: str, size: int) -> None:
    net = Net((1, 3, 8, 8))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))], strides=[2, 2], auto_pad=auto_pad)
    m, _ = run(net, tmp_path)
    conv = only(m, "conv")
    assert hwc(conv) == f"{size}x{size}x4"
    assert conv.macs == size * size * 4 * 27


def test_conv_asymmetric_pads_of_same(tmp_path: Path) -> None:
    # TensorFlow's SAME for k=3, s=2 on 8: (4 - 1)*2 + 3 - 8 = 1 row of padding, after.
    net = Net((1, 3, 8, 8))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))], strides=[2, 2], pads=[0, 0, 1, 1])
    m, notes = run(net, tmp_path)
    conv = only(m, "conv")
    assert hwc(conv) == "4x4x4"  # (8 + 1 - 3)//2 + 1
    assert m.graph.node(conv.name).args["p"] == "same"
    assert not notes


def test_conv_asymmetric_pads_with_an_even_total(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))], pads=[0, 0, 2, 2])
    m, notes = run(net, tmp_path)
    conv = only(m, "conv")
    assert hwc(conv) == "8x8x4"  # 8 + 2 - 3 + 1
    assert m.graph.node(conv.name).args["p"] == (1, 1)
    assert any("asymmetric padding" in n for n in notes)


def test_conv_asymmetric_pads_that_no_equal_padding_gives_is_opaque(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))], name="odd", pads=[1, 1, 0, 0])
    m, notes = run(net, tmp_path)
    layer = m.layer("odd")
    assert layer.op == "opaque"
    assert hwc(layer) == "7x7x4"  # 8 + 1 - 3 + 1: ONNX's shape, kept
    assert layer.params == 4 * 3 * 9 and layer.macs is None
    assert any("'odd'" in n and "Conv" in n and "asymmetric padding" in n for n in notes)


# ----------------------------------------------------------------------------- ConvTranspose


def test_conv_transpose_output_padding(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5))
    w = net.init("w", (4, 2, 3, 3))  # (C_in, C_out/g, k, k)
    net.node("ConvTranspose", ["x", w, net.init("b", (2,))], strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1])
    m, _ = run(net, tmp_path)
    up = only(m, "convT")
    assert hwc(up) == "10x10x2"  # (5 - 1)*2 - 2*1 + 3 + 1
    assert (up.weights, up.biases) == (4 * 2 * 9, 2)
    assert up.macs == 5 * 5 * 4 * 2 * 9  # every input value meets the whole kernel


def test_conv_transpose_groups_and_output_shape(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5))
    net.node("ConvTranspose", ["x", net.init("w", (4, 3, 4, 4))], group=2, strides=[2, 2], output_shape=[10, 10])
    m, _ = run(net, tmp_path)
    up = only(m, "convT")
    # (5 - 1)*2 + 4 = 12 before padding: 2 rows of padding bring it to 10; 2 groups of 3 output channels
    assert hwc(up) == "10x10x6"
    assert up.weights == 4 * 3 * 16
    assert up.macs == 5 * 5 * 4 * 3 * 16


# ----------------------------------------------------------------------------- pooling


def test_maxpool_stride_defaults_to_one_in_onnx(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    net.node("MaxPool", ["x"], kernel_shape=[2, 2])
    m, _ = run(net, tmp_path)
    assert hwc(only(m, "maxpool")) == "7x7x3"  # ONNX's strides default to 1, not to the kernel


def test_maxpool_pads_and_ceil_mode(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    a = net.node("MaxPool", ["x"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    net.node("MaxPool", [a], kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
    m, _ = run(net, tmp_path)
    first, second = [x for x in m.layers if x.op == "maxpool"]
    assert hwc(first) == "4x4x3"  # (8 + 2 - 3)//2 + 1
    assert hwc(second) == "2x2x3"  # ceil((4 - 3)/2) + 1


def test_averagepool(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    net.node("AveragePool", ["x"], kernel_shape=[2, 2], strides=[2, 2], count_include_pad=1)
    m, _ = run(net, tmp_path)
    pool = only(m, "avgpool")
    assert hwc(pool) == "4x4x3" and pool.params == 0 and pool.macs == 0


def test_global_pools(tmp_path: Path) -> None:
    net = Net((1, 5, 7, 6))
    a = net.node("GlobalAveragePool", ["x"])
    b = net.node("GlobalMaxPool", ["x"])
    net.outputs = [a, b]
    m, _ = run(net, tmp_path)
    assert hwc(only(m, "gap")) == "1x1x5"
    assert hwc(only(m, "maxpool")) == "1x1x5"  # a 7x6 window


# ----------------------------------------------------------------------------- dense layers


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_after_flatten(tmp_path: Path, trans_b: int) -> None:
    net = Net((1, 3, 8, 8))
    flat = net.node("Flatten", ["x"], axis=1)
    w = net.init("w", (10, 192) if trans_b else (192, 10))
    net.node("Gemm", [flat, w, net.init("b", (10,))], name="fc", transB=trans_b)
    m, _ = run(net, tmp_path)
    assert hwc(only(m, "flatten")) == "192"  # 8*8*3
    fc = m.layer("fc")
    assert (fc.op, hwc(fc), fc.weights, fc.biases, fc.macs) == ("fc", "10", 1920, 10, 1920)


def test_matmul_with_an_initializer_and_its_bias_add(tmp_path: Path) -> None:
    net = Net((1, 12))
    h = net.node("MatMul", ["x", net.init("w1", (12, 7))], name="lin1")
    h = net.node("Add", [h, net.init("b1", (7,))])
    net.node("MatMul", [h, net.init("w2", (7, 3))], name="lin2")
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "fc", "fc"]  # the Add is lin1's bias
    assert (m.layer("lin1").weights, m.layer("lin1").biases, m.layer("lin1").macs) == (84, 7, 84)
    assert (m.layer("lin2").weights, m.layer("lin2").biases) == (21, 0)


def test_tied_weights_count_once(tmp_path: Path) -> None:
    net = Net((1, 8))
    w = net.init("w", (8, 8))
    h = net.node("Gemm", ["x", w], name="a", transB=1)
    net.node("Gemm", [h, w], name="b", transB=1)
    m, notes = run(net, tmp_path)
    assert m.layer("a").params == 64 and m.layer("b").params == 0
    assert m.totals.params == 64  # as PyTorch counts a tied parameter
    assert any("shared" in n for n in notes)


# ----------------------------------------------------------------------------- normalisation


def test_batchnorm_params_and_buffers(tmp_path: Path) -> None:
    net = Net((1, 8, 4, 4))
    names = [net.init(n, (8,)) for n in ("gamma", "beta", "mean")] + [net.init("var", (8,), np.ones(8))]
    net.node("BatchNormalization", ["x", *names])
    m, _ = run(net, tmp_path)
    bn = only(m, "bn")
    assert (bn.params, bn.buffers, hwc(bn)) == (16, 16, "4x4x8")  # gamma, beta; running mean, variance


def test_identity_copies_of_an_initializer_count_as_their_own_tensors(tmp_path: Path) -> None:
    # torch.onnx.export writes running_var = Identity(gamma) when both hold ones: PyTorch counts both.
    net = Net((1, 8, 4, 4))
    gamma, beta = net.init("gamma", (8,), np.ones(8)), net.init("beta", (8,), np.zeros(8))
    var = net.node("Identity", [gamma])
    mean = net.node("Identity", [beta])
    net.node("BatchNormalization", ["x", gamma, beta, mean, var])
    path = net.save(tmp_path / "net.onnx")
    m, _ = load(path)
    bn = only(m, "bn")
    assert (bn.params, bn.buffers) == (16, 16)
    assert ops(m) == ["input", "bn"]


def test_lrn(tmp_path: Path) -> None:
    net = Net((1, 8, 4, 4))
    net.node("LRN", ["x"], size=3)
    m, _ = run(net, tmp_path)
    lrn = only(m, "lrn")
    assert m.graph.node(lrn.name).args["size"] == 3 and hwc(lrn) == "4x4x8"


# ----------------------------------------------------------------------------- activations


@pytest.mark.parametrize(
    ("onnx_op", "op", "attrs"),
    [
        ("Relu", "relu", {}),
        ("Sigmoid", "sigmoid", {}),
        ("HardSigmoid", "hsigmoid", {"alpha": 1 / 6}),
        ("HardSwish", "hswish", {}),
        ("LeakyRelu", "leakyrelu", {"alpha": 0.1}),
        ("Tanh", "tanh", {}),
        ("Softmax", "softmax", {"axis": 1}),
    ],
)
def test_activations(tmp_path: Path, onnx_op: str, op: str, attrs: dict[str, Any]) -> None:
    net = Net((1, 4, 5, 5))
    net.node(onnx_op, ["x"], **attrs)
    m, notes = run(net, tmp_path)
    layer = only(m, op)
    assert (hwc(layer), layer.params, layer.macs) == ("5x5x4", 0, 0)
    assert not notes


def test_clip_from_inputs_is_relu6_or_relu(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5))
    low, high = net.init("low", None, np.float32(0)), net.init("high", None, np.float32(6))
    a = net.node("Clip", ["x", low, high])
    net.node("Clip", [a, low])  # no maximum: ReLU
    m, _ = run(net, tmp_path, constants=("low", "high"))
    assert ops(m) == ["input", "relu6", "relu"]
    assert m.totals.params == 0  # the bounds are constants, not parameters


def test_clip_from_attributes_in_opset_6(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5), opset=6)
    net.node("Clip", ["x"], min=0.0, max=6.0)
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "relu6"]


def test_clip_to_another_range_is_opaque(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5), opset=6)
    net.node("Clip", ["x"], name="hardtanh", min=-1.0, max=1.0)
    m, notes = run(net, tmp_path)
    assert m.layer("hardtanh").op == "opaque"
    assert any("Clip" in n and "'hardtanh'" in n for n in notes)


@pytest.mark.parametrize(("gate", "op"), [("Sigmoid", "silu"), ("HardSigmoid", "hswish")])
def test_a_gate_of_its_own_input_is_one_layer(tmp_path: Path, gate: str, op: str) -> None:
    net = Net((1, 4, 5, 5))
    net.node("Mul", ["x", net.node(gate, ["x"])], name="act")
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", op] and m.layers[1].name == "act"


# ----------------------------------------------------------------------------- merges


def test_add_of_two_branches(tmp_path: Path) -> None:
    net = Net((1, 4, 6, 6))
    a = net.node("Conv", ["x", net.init("w", (4, 4, 3, 3))], pads=[1, 1, 1, 1])
    net.node("Add", ["x", a], name="residual")
    m, _ = run(net, tmp_path)
    add = m.layer("residual")
    assert (add.op, hwc(add), add.params, add.macs) == ("add", "6x6x4", 0, 0)
    assert sorted(add.inputs) == sorted(["x", ops_name(m, "conv")])


def ops_name(m: cnncalc.Model, op: str) -> str:
    return only(m, op).name


def test_mul_by_a_broadcast_gate(tmp_path: Path) -> None:
    # Squeeze-and-excitation: the 1x1xC gate scales every position.
    net = Net((1, 8, 6, 6))
    s = net.node("GlobalAveragePool", ["x"])
    s = net.node("Conv", [s, net.init("w1", (2, 8, 1, 1)), net.init("b1", (2,))])
    s = net.node("Relu", [s])
    s = net.node("Conv", [s, net.init("w2", (8, 2, 1, 1)), net.init("b2", (8,))])
    s = net.node("Sigmoid", [s])
    net.node("Mul", ["x", s], name="gate")
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "gap", "conv", "relu", "conv", "sigmoid", "mul"]
    assert hwc(m.layer("gate")) == "6x6x8"
    assert m.totals.params == (8 * 2 + 2) + (2 * 8 + 8)


def test_add_of_a_bias_after_a_conv_without_one(tmp_path: Path) -> None:
    net = Net((1, 3, 6, 6))
    c = net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))], name="conv")
    net.node("Add", [c, net.init("bias", (1, 4, 1, 1))])
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "conv"]
    assert (m.layer("conv").weights, m.layer("conv").biases) == (108, 4)


def test_arithmetic_with_scalars_is_free_and_a_per_channel_factor_is_a_scale(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5))
    a = net.node("Add", ["x", net.init("three", None, np.float32(3))])
    a = net.node("Div", [a, net.init("six", None, np.float32(6))])
    a = net.node("Sub", [a, net.init("half", None, np.float32(0.5))])
    net.node("Mul", [a, net.init("gamma", (4, 1, 1))], name="layer_scale")
    m, _ = run(net, tmp_path, constants=("three", "six", "half"))
    assert ops(m) == ["input", "identity", "identity", "identity", "scale"]
    assert m.layer("layer_scale").params == 4
    assert m.totals.params == 4  # 3, 6 and 0.5 are constants


def test_concat_along_channels(tmp_path: Path) -> None:
    net = Net((1, 4, 6, 6))
    a = net.node("Conv", ["x", net.init("w", (6, 4, 1, 1))])
    net.node("Concat", ["x", a], name="cat", axis=1)
    m, _ = run(net, tmp_path)
    assert (m.layer("cat").op, hwc(m.layer("cat"))) == ("concat", "6x6x10")


@pytest.mark.parametrize("opset", [11, 13, 18])
def test_split_channels(tmp_path: Path, opset: int) -> None:
    net = Net((1, 8, 4, 4), opset=opset)
    if opset == 11:
        outs = net.node("Split", ["x"], 2, name="split", axis=1, split=[3, 5])
    elif opset == 13:
        outs = net.node("Split", ["x", net.ints("sizes", [3, 5])], 2, name="split", axis=1)
    else:
        outs = net.node("Split", ["x"], 2, name="split", axis=1, num_outputs=2)
    net.outputs = list(outs)
    m, _ = run(net, tmp_path)
    sizes = [3, 5] if opset != 18 else [4, 4]
    slices = [x for x in m.layers if x.op == "slice"]
    assert [hwc(x) for x in slices] == [f"4x4x{c}" for c in sizes]
    assert [x.name for x in slices] == ["split.0", "split.1"]


def test_slice_of_channels(tmp_path: Path) -> None:
    net = Net((1, 8, 4, 4))
    starts, ends, axes = net.ints("starts", [2]), net.ints("ends", [6]), net.ints("axes", [1])
    net.node("Slice", ["x", starts, ends, axes], name="half")
    m, _ = run(net, tmp_path)
    assert (m.layer("half").op, hwc(m.layer("half"))) == ("slice", "4x4x4")
    assert m.graph.node("half").args["channels"] == ("range", 2, 6)


# ----------------------------------------------------------------------------- views


def test_reshape_to_a_vector_is_flatten(tmp_path: Path) -> None:
    net = Net((1, 4, 3, 3))
    net.node("Reshape", ["x", net.ints("shape", [1, -1])], name="view")
    m, _ = run(net, tmp_path)
    assert (m.layer("view").op, hwc(m.layer("view"))) == ("flatten", "36")


def test_squeeze_after_global_pooling_is_flatten(tmp_path: Path) -> None:
    net = Net((1, 4, 3, 3))
    p = net.node("GlobalAveragePool", ["x"])
    net.node("Squeeze", [p, net.ints("axes", [2, 3])])
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "gap", "flatten"]
    assert hwc(m.layers[-1]) == "4"


def test_reshape_to_another_map(tmp_path: Path) -> None:
    net = Net((1, 8))
    net.node("Reshape", ["x", net.ints("shape", [1, 2, 2, 2])], name="unflat")
    m, _ = run(net, tmp_path)
    assert (m.layer("unflat").op, hwc(m.layer("unflat"))) == ("reshape", "2x2x2")


def test_reshape_transpose_reshape_is_channel_shuffle(tmp_path: Path) -> None:
    net = Net((1, 8, 4, 4))
    a = net.node("Reshape", ["x", net.ints("to5", [1, 2, 4, 4, 4])])
    a = net.node("Transpose", [a], perm=[0, 2, 1, 3, 4])
    net.node("Reshape", [a, net.ints("to4", [1, 8, 4, 4])], name="shuffle")
    m, _ = run(net, tmp_path)
    layer = only(m, "shuffle")
    assert hwc(layer) == "4x4x8" and m.graph.node(layer.name).args["g"] == 2


def test_a_transpose_and_its_inverse_are_nothing(tmp_path: Path) -> None:
    net = Net((1, 4, 3, 5))
    a = net.node("Transpose", ["x"], perm=[0, 2, 3, 1])
    a = net.node("Transpose", [a], perm=[0, 3, 1, 2])
    net.node("Relu", [a])
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "relu"]


def test_an_nhwc_input_read_through_a_transpose(tmp_path: Path) -> None:
    # How converters from TensorFlow write it: the input is NHWC, a Transpose makes it NCHW.
    net = Net((1, 8, 8, 3))
    a = net.node("Transpose", ["x"], perm=[0, 3, 1, 2])
    net.node("Conv", [a, net.init("w", (4, 3, 3, 3))])
    m, _ = run(net, tmp_path)
    assert hwc(m.layers[0]) == "8x8x3" and hwc(only(m, "conv")) == "6x6x4"


# ----------------------------------------------------------------------------- resizing and padding


@pytest.mark.parametrize(("mode", "want"), [("nearest", "nearest"), ("linear", "bilinear")])
def test_resize_by_scales(tmp_path: Path, mode: str, want: str) -> None:
    net = Net((1, 4, 5, 5))
    scales = net.init("scales", None, np.array([1, 1, 2, 2], dtype=np.float32))
    net.node("Resize", ["x", "", scales], name="up", mode=mode)
    m, _ = run(net, tmp_path, constants=("scales",))
    up = m.layer("up")
    assert (up.op, hwc(up)) == ("upsample", "10x10x4")
    assert m.graph.node("up").args["mode"] == want


def test_resize_to_sizes(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5))
    sizes = net.ints("sizes", [1, 4, 15, 15])
    net.node("Resize", ["x", "", "", sizes], name="up")
    m, _ = run(net, tmp_path)
    assert hwc(m.layer("up")) == "15x15x4"  # 5 x 3


def test_upsample_of_opset_9(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5), opset=9)
    net.node("Upsample", ["x", net.init("scales", None, np.array([1, 1, 2, 2], dtype=np.float32))], name="up")
    m, _ = run(net, tmp_path, constants=("scales",))
    assert (m.layer("up").op, hwc(m.layer("up"))) == ("upsample", "10x10x4")


def test_resize_with_two_scales_is_opaque(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5))
    scales = net.init("scales", None, np.array([1, 1, 2, 3], dtype=np.float32))
    net.node("Resize", ["x", "", scales], name="up")
    m, notes = run(net, tmp_path, constants=("scales",))
    assert m.layer("up").op == "opaque" and hwc(m.layer("up")) == "10x15x4"
    assert any("Resize" in n for n in notes)


def test_pad_folded_into_the_conv_after_it(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    p = net.node("Pad", ["x", net.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])])
    net.node("Conv", [p, net.init("w", (4, 3, 3, 3))], name="conv")
    m, notes = run(net, tmp_path)
    assert ops(m) == ["input", "conv"]
    assert hwc(m.layer("conv")) == "8x8x4" and m.graph.node("conv").args["p"] == (1, 1)
    assert not notes


def test_asymmetric_pad_folded_into_a_strided_conv_is_same(tmp_path: Path) -> None:
    # torchvision-style "TF same" for k=3, s=2 on 8: pad 0 before, 1 after.
    net = Net((1, 3, 8, 8))
    p = net.node("Pad", ["x", net.ints("pads", [0, 0, 0, 0, 0, 0, 1, 1])])
    net.node("Conv", [p, net.init("w", (4, 3, 3, 3))], name="conv", strides=[2, 2])
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "conv"] and hwc(m.layer("conv")) == "4x4x4"


def test_pad_before_a_pool(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8))
    p = net.node("Pad", ["x", net.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1])])
    net.node("MaxPool", [p], kernel_shape=[3, 3], strides=[2, 2])
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "maxpool"] and hwc(m.layers[-1]) == "4x4x3"  # (8 + 2 - 3)//2 + 1


# ----------------------------------------------------------------------------- the rest


@pytest.mark.parametrize("opset", [7, 13])
def test_dropout(tmp_path: Path, opset: int) -> None:
    net = Net((1, 4, 3, 3), opset=opset)
    if opset == 7:
        net.node("Dropout", ["x"], name="drop", ratio=0.25)
    else:
        net.node("Dropout", ["x", net.init("ratio", None, np.float32(0.25))], name="drop")
    m, _ = run(net, tmp_path, constants=("ratio",))
    assert m.layer("drop").op == "dropout" and float(m.graph.node("drop").args["p"]) == 0.25


@pytest.mark.parametrize(("opset", "keep"), [(13, 1), (13, 0), (18, 1)])
def test_reduce_mean_over_h_and_w_is_global_pooling(tmp_path: Path, opset: int, keep: int) -> None:
    net = Net((1, 6, 5, 5), opset=opset)
    if opset < 18:
        net.node("ReduceMean", ["x"], axes=[2, 3], keepdims=keep)
    else:
        net.node("ReduceMean", ["x", net.ints("axes", [-2, -1])], keepdims=keep)
    m, _ = run(net, tmp_path)
    assert hwc(only(m, "gap")) == "1x1x6"
    assert ops(m) == (["input", "gap"] if keep else ["input", "gap", "flatten"])


def test_reduce_mean_over_channels_is_opaque(tmp_path: Path) -> None:
    net = Net((1, 6, 5, 5))
    net.node("ReduceMean", ["x"], name="mean_c", axes=[1], keepdims=1)
    m, notes = run(net, tmp_path)
    assert m.layer("mean_c").op == "opaque" and hwc(m.layer("mean_c")) == "5x5x1"
    assert notes


def test_identity(tmp_path: Path) -> None:
    net = Net((1, 4, 3, 3))
    net.node("Identity", ["x"], name="same")
    m, _ = run(net, tmp_path)
    assert (m.layer("same").op, hwc(m.layer("same"))) == ("identity", "3x3x4")


def test_shape_arithmetic_on_constants_is_folded(tmp_path: Path) -> None:
    # A dynamic-batch flatten: Reshape(x, Concat(Gather(Shape(x), 0), [-1])).
    net = Net((1, 4, 3, 3))
    shape = net.node("Shape", ["x"])
    batch = net.node("Gather", [shape, net.ints("zero", [0])], axis=0)
    target = net.node("Concat", [batch, net.ints("rest", [-1])], axis=0)
    net.node("Reshape", ["x", target], name="flat")
    m, _ = run(net, tmp_path)
    assert ops(m) == ["input", "flatten"] and hwc(m.layer("flat")) == "36"


def test_an_unknown_op_is_kept_with_a_warning_naming_it(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5))
    a = net.node("Conv", ["x", net.init("w", (4, 4, 3, 3))], pads=[1, 1, 1, 1])
    a = net.node("PRelu", [a, net.init("slope", (4, 1, 1))], name="prelu_a")
    net.node("Relu", [a])
    m, notes = run(net, tmp_path)
    layer = m.layer("prelu_a")
    assert (layer.op, hwc(layer), layer.params, layer.macs) == ("opaque", "5x5x4", 4, None)
    assert ops(m) == ["input", "conv", "opaque", "relu"]  # kept in place, never dropped
    assert any("PRelu" in n and "'prelu_a'" in n for n in notes)
    assert any("onnx.PRelu" in w for w in m.warnings)


def test_an_op_of_another_domain_is_kept(tmp_path: Path) -> None:
    net = Net((1, 4, 5, 5))
    net.node("Relu", ["x"])
    model = net.model()
    from onnx import helper

    model.graph.node.append(
        helper.make_node("Fancy", [model.graph.node[0].output[0]], ["y"], name="f", domain="my.ops")
    )
    model.graph.output[0].name = "y"
    model.opset_import.append(helper.make_opsetid("my.ops", 1))
    model.graph.value_info.append(helper.make_tensor_value_info("y", 1, [1, 4, 5, 5]))
    import onnx

    onnx.save(model, str(tmp_path / "custom.onnx"))
    m, notes = load(tmp_path / "custom.onnx")
    assert m.layer("f").op == "opaque" and any("my.ops.Fancy" in n for n in notes)


def test_layer_names_from_torch_style_node_names(tmp_path: Path) -> None:
    net = Net((1, 3, 8, 8), input_name="input.1")
    a = net.node("Conv", ["input.1", net.init("w", (4, 3, 3, 3))], name="/layer1/layer1.0/conv1/Conv")
    a = net.node("Relu", [a], name="/layer1/layer1.0/Relu")
    a = net.node("Relu", [a], name="/layer1/layer1.0/Relu_1")
    net.node("Relu", [a], name="")
    m, _ = run(net, tmp_path)
    assert [x.name for x in m.layers] == ["input.1", "layer1.0.conv1", "layer1.0.Relu", "layer1.0.Relu_1", "Relu_3"]


def test_input_size_given_for_a_symbolic_input(tmp_path: Path) -> None:
    net = Net(("N", 3, "H", "W"))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))], strides=[2, 2])
    net.node("GlobalAveragePool", [net.nodes[-1].output[0]])
    m, _ = run(net, tmp_path, input="33x17x3")
    assert hwc(only(m, "conv")) == "16x8x4"  # (33 - 3)//2 + 1, (17 - 3)//2 + 1
    assert only(m, "conv").macs == 16 * 8 * 4 * 27


def test_a_symbolic_batch_is_fine(tmp_path: Path) -> None:
    net = Net(("batch", 3, 8, 8))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))])
    m, _ = run(net, tmp_path)
    assert hwc(only(m, "conv")) == "6x6x4"


def test_input_size_from_the_command_line(tmp_path: Path, cli: Any) -> None:
    # `cnncalc show model.onnx --input` reads the file at that size (not the file's graph reshaped afterwards).
    net = Net(("N", 3, "H", "W"))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))], strides=[2, 2])
    path = net.save(tmp_path / "sym.onnx")
    out = cli("show", str(path), "--input", "33x17x3", "--format", "json")
    assert out.returncode == 0, out.stderr
    conv = next(x for x in json.loads(out.stdout)["layers"] if x["op"] == "conv")
    assert conv["output_shape"] == [16, 8, 4] and conv["macs"] == 16 * 8 * 4 * 27
    missing = cli("show", str(path))
    assert missing.returncode == 2 and "--input" in missing.stderr and "Traceback" not in missing.stderr
