"""Every op of spec v1 on its own, worked by hand.

Each expected figure is written as the arithmetic that produces it, so a reader can check it
against the formula (and nothing here comes from a run of cnncalc):

- output size (PyTorch Conv2d, MaxPool2d, AvgPool2d): floor((N + 2P - D(K - 1) - 1) / S) + 1,
  ceil instead of floor with ceil_mode, dropping a last window that would start in the right padding;
- ConvTranspose2d: (N - 1)S - 2P + D(K - 1) + output_padding + 1;
- AdaptiveAvgPool2d and gap: the output size asked for;
- weights: K_h * K_w * C_in / g * C_out (conv), C_in * C_out / g * K_h * K_w (convT), in * out (fc);
- MACs (DESIGN.md): conv H_out * W_out * C_out * K_h * K_w * C_in / g, convT H_in * W_in * C_in * K_h * K_w * C_out / g,
  fc in * out; pooling, activations, normalisation and resizing cost 0 MACs;
- activation bytes: the output's values at 4 bytes each (float32, batch 1).
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil, floor, prod

import pytest

import cnncalc


def layer_of(input_shape: str, line: str, **options):
    """The layer `x` of a two-line network: `input <input_shape>` then `x: <line>`."""
    return cnncalc.load(f"input {input_shape}\nx: {line}\n", **options).layer("x")


def figures(layer) -> dict:
    return {
        "output": layer.output.dims(),
        "weights": layer.weights,
        "biases": layer.biases,
        "buffers": layer.buffers,
        "macs": layer.macs,
    }


def check_row(input_shape, line, out, weights, biases, buffers, macs):
    layer = layer_of(input_shape, line)
    expected = {"output": out, "weights": weights, "biases": biases, "buffers": buffers, "macs": macs}
    assert figures(layer) == expected
    assert layer.params == weights + biases
    assert layer.activation_bytes == 4 * prod(out)


# ---------------------------------------------------------------------------------------------
# conv: (input, line, output [H, W, C], weights, biases, buffers, MACs)
CONV = [
    # LeNet-5 C1 (seed 002: 5*5*6 + 6 = 156): 32 - 5 + 1 = 28
    pytest.param(
        "32x32x1", "conv 6 k=5",
        [(32 - 5) // 1 + 1, (32 - 5) // 1 + 1, 6], 5 * 5 * 1 * 6, 6, 0, 28 * 28 * 6 * 5 * 5 * 1,
        id="lenet-c1",
    ),
    # seed 003 (the cs231n example): 32x32x3, ten 5x5 filters, stride 1, pad 2 -> (32 + 2*2 - 5)/1 + 1 = 32.
    # The slide's (5*5 + 1)*10 = 260 forgets the 3 input channels: (5*5*3 + 1)*10 = 760.
    pytest.param(
        "32x32x3", "conv 10 k=5 p=2",
        [(32 + 2 * 2 - 5) // 1 + 1, (32 + 2 * 2 - 5) // 1 + 1, 10], 5 * 5 * 3 * 10, 10, 0, 32 * 32 * 10 * 5 * 5 * 3,
        id="seed003-pad2",
    ),
    # seed 003: 7x7 input, 3x3 filter, stride 1 -> (7 - 3)/1 + 1 = 5; stride 2 -> (7 - 3)/2 + 1 = 3
    pytest.param(
        "7x7x1", "conv 1 k=3",
        [(7 - 3) // 1 + 1, (7 - 3) // 1 + 1, 1], 3 * 3 * 1 * 1, 1, 0, 5 * 5 * 1 * 3 * 3 * 1,
        id="seed003-7x7-s1",
    ),
    pytest.param(
        "7x7x1", "conv 1 k=3 s=2",
        [(7 - 3) // 2 + 1, (7 - 3) // 2 + 1, 1], 3 * 3 * 1 * 1, 1, 0, 3 * 3 * 1 * 3 * 3 * 1,
        id="seed003-7x7-s2",
    ),
    # AlexNet (Caffe) conv1, seed 003: (227 - 11)/4 + 1 = 55; (11*11*3)*96 + 96 = 34,944
    pytest.param(
        "227x227x3", "conv 96 k=11 s=4",
        [(227 - 11) // 4 + 1, (227 - 11) // 4 + 1, 96], 11 * 11 * 3 * 96, 96, 0, 55 * 55 * 96 * 11 * 11 * 3,
        id="alexnet-conv1",
    ),
    # AlexNet (Caffe) conv2, seed 003: pad 2, group 2 -> (27 - 5 + 2*2)/1 + 1 = 27; (5*5*48*128 + 128)*2 = 307,456
    pytest.param(
        "27x27x96", "conv 256 k=5 p=2 g=2",
        [27, 27, 256], 5 * 5 * (96 // 2) * 256, 256, 0, 27 * 27 * 256 * 5 * 5 * (96 // 2),
        id="alexnet-conv2-groups",
    ),
    # AlexNet (Caffe) conv4, seed 003: (3*3*192*192 + 192)*2 = 663,936
    pytest.param(
        "13x13x384", "conv 384 k=3 p=1 g=2",
        [13, 13, 384], 3 * 3 * (384 // 2) * 384, 384, 0, 13 * 13 * 384 * 3 * 3 * (384 // 2),
        id="alexnet-conv4-groups",
    ),
    # groups = C_in = C_out is a depthwise convolution: one 3x3 filter per channel
    pytest.param(
        "8x8x4", "conv 4 k=3 p=1 g=4",
        [8, 8, 4], 3 * 3 * (4 // 4) * 4, 4, 0, 8 * 8 * 4 * 3 * 3 * (4 // 4),
        id="groups-depthwise",
    ),
    # dilation 2: effective kernel 2*(3 - 1) + 1 = 5; floor((10 + 0 - 2*(3 - 1) - 1)/1) + 1 = 6
    pytest.param(
        "10x10x2", "conv 4 k=3 d=2",
        [(10 + 0 - 2 * (3 - 1) - 1) // 1 + 1, (10 + 0 - 2 * (3 - 1) - 1) // 1 + 1, 4],
        3 * 3 * 2 * 4, 4, 0, 6 * 6 * 4 * 3 * 3 * 2,
        id="dilation",
    ),
    # dilation 1 along H, 2 along W: W's effective kernel 2*(3 - 1) + 1 = 5
    pytest.param(
        "9x9x1", "conv 1 k=3 d=1x2",
        [(9 - 1 * (3 - 1) - 1) // 1 + 1, (9 - 2 * (3 - 1) - 1) // 1 + 1, 1], 3 * 3 * 1 * 1, 1, 0, 7 * 5 * 1 * 3 * 3 * 1,
        id="dilation-asymmetric",
    ),
    # kernel 3x5, stride 1x2: H floor((9 - 3)/1) + 1 = 7, W floor((11 - 5)/2) + 1 = 4
    pytest.param(
        "9x11x2", "conv 4 k=3x5 s=1x2",
        [(9 - 3) // 1 + 1, (11 - 5) // 2 + 1, 4], 3 * 5 * 2 * 4, 4, 0, 7 * 4 * 4 * 3 * 5 * 2,
        id="kernel-3x5-stride-1x2",
    ),
    # p=same, odd kernel: pads d(k - 1) = 2 in all, 1 each side: (13 + 1 + 1 - 3)/1 + 1 = 13
    pytest.param(
        "13x13x3", "conv 8 k=3 p=same",
        [(13 + 1 + 1 - 3) // 1 + 1, (13 + 1 + 1 - 3) // 1 + 1, 8], 3 * 3 * 3 * 8, 8, 0, 13 * 13 * 8 * 3 * 3 * 3,
        id="same-odd",
    ),
    # p=same, even kernel 4: pads 4 - 1 = 3, 1 before and 2 after: (10 + 1 + 2 - 4)/1 + 1 = 10
    pytest.param(
        "10x10x2", "conv 3 k=4 p=same",
        [(10 + 1 + 2 - 4) // 1 + 1, (10 + 1 + 2 - 4) // 1 + 1, 3], 4 * 4 * 2 * 3, 3, 0, 10 * 10 * 3 * 4 * 4 * 2,
        id="same-even-k4",
    ),
    # p=same, even kernel 2: pads 2 - 1 = 1, 0 before and 1 after: (7 + 0 + 1 - 2)/1 + 1 = 7
    pytest.param(
        "7x7x1", "conv 1 k=2 p=same",
        [(7 + 0 + 1 - 2) // 1 + 1, (7 + 0 + 1 - 2) // 1 + 1, 1], 2 * 2 * 1 * 1, 1, 0, 7 * 7 * 1 * 2 * 2 * 1,
        id="same-even-k2",
    ),
    # p=same with dilation 2: pads 2*(3 - 1) = 4, 2 each side: (10 + 4 - 2*(3 - 1) - 1)/1 + 1 = 10
    pytest.param(
        "10x10x2", "conv 2 k=3 d=2 p=same",
        [(10 + 4 - 2 * (3 - 1) - 1) // 1 + 1, (10 + 4 - 2 * (3 - 1) - 1) // 1 + 1, 2],
        3 * 3 * 2 * 2, 2, 0, 10 * 10 * 2 * 3 * 3 * 2,
        id="same-dilated",
    ),
    # p=same with kernel 1x3: H pads 0, W pads 2
    pytest.param(
        "6x8x2", "conv 2 k=1x3 p=same",
        [6, 8, 2], 1 * 3 * 2 * 2, 2, 0, 6 * 8 * 2 * 1 * 3 * 2,
        id="same-kernel-1x3",
    ),
    # p=valid is no padding: (10 - 3)/1 + 1 = 8
    pytest.param(
        "10x10x2", "conv 2 k=3 p=valid",
        [(10 - 3) // 1 + 1, (10 - 3) // 1 + 1, 2], 3 * 3 * 2 * 2, 2, 0, 8 * 8 * 2 * 3 * 3 * 2,
        id="valid",
    ),
    # p=1x0: H pads 1 each side, W none: H (8 + 2*1 - 3) + 1 = 8, W (10 + 2*0 - 3) + 1 = 8
    pytest.param(
        "8x10x1", "conv 2 k=3 p=1x0",
        [(8 + 2 * 1 - 3) // 1 + 1, (10 + 2 * 0 - 3) // 1 + 1, 2], 3 * 3 * 1 * 2, 2, 0, 8 * 8 * 2 * 3 * 3 * 1,
        id="padding-HxW",
    ),
    # ResNet stem (He et al. 2016; torchvision has no bias here): floor((224 + 2*3 - 7)/2) + 1 = 112
    pytest.param(
        "224x224x3", "conv 64 k=7 s=2 p=3 bias=false",
        [(224 + 2 * 3 - 7) // 2 + 1, (224 + 2 * 3 - 7) // 2 + 1, 64], 7 * 7 * 3 * 64, 0, 0, 112 * 112 * 64 * 7 * 7 * 3,
        id="resnet-stem-no-bias",
    ),
    # a 1x1 convolution is a per-pixel fc: 64*16 weights
    pytest.param(
        "14x14x64", "conv 16 k=1",
        [14, 14, 16], 1 * 1 * 64 * 16, 16, 0, 14 * 14 * 16 * 1 * 1 * 64,
        id="pointwise",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("input_shape", "line", "out", "weights", "biases", "buffers", "macs"), CONV)
def test_conv(input_shape, line, out, weights, biases, buffers, macs):
    check_row(input_shape, line, out, weights, biases, buffers, macs)


# ---------------------------------------------------------------------------------------------
# dwconv: C_out = m * C_in, one K_h x K_w filter per output channel
DWCONV = [
    pytest.param(
        "8x8x4", "dwconv k=3 p=1",
        [(8 + 2 - 3) // 1 + 1, (8 + 2 - 3) // 1 + 1, 4], 3 * 3 * 4, 4, 0, 8 * 8 * 4 * 3 * 3,
        id="m1",
    ),
    # channel multiplier 2, stride 2: floor((8 + 2*1 - 3)/2) + 1 = 4, 4*2 = 8 channels
    pytest.param(
        "8x8x4", "dwconv k=3 s=2 p=1 m=2",
        [(8 + 2 * 1 - 3) // 2 + 1, (8 + 2 * 1 - 3) // 2 + 1, 4 * 2], 3 * 3 * (4 * 2), 4 * 2, 0, 4 * 4 * 8 * 3 * 3,
        id="m2-stride2",
    ),
    # MobileNet v1 (Howard et al. 2017, Table 1), first "Conv dw / s1": 3x3x32 on 112x112x32
    pytest.param(
        "112x112x32", "dwconv k=3 p=1 bias=false",
        [112, 112, 32], 3 * 3 * 32, 0, 0, 112 * 112 * 32 * 3 * 3,
        id="mobilenet-dw1",
    ),
    # dilation 2 with p=same: pads 2*(3 - 1) = 4
    pytest.param(
        "9x9x3", "dwconv k=3 d=2 p=same",
        [9, 9, 3], 3 * 3 * 3, 3, 0, 9 * 9 * 3 * 3 * 3,
        id="dilated-same",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("input_shape", "line", "out", "weights", "biases", "buffers", "macs"), DWCONV)
def test_dwconv(input_shape, line, out, weights, biases, buffers, macs):
    check_row(input_shape, line, out, weights, biases, buffers, macs)


def test_depthwise_separable_saving_is_one_over_cout_plus_one_over_k_squared():
    # seed 001: a depthwise-separable conv costs (1/C_out + 1/k^2) of a standard one.
    # 16x16x32 -> 16x16x64 with 3x3: standard 16*16*64*3*3*32; separable 16*16*32*3*3 + 16*16*64*1*1*32
    spec = "input 16x16x32\nstd: conv 64 k=3 p=1\ndw: dwconv k=3 p=1 from=input\npw: conv 64 k=1\n"
    model = cnncalc.load(spec)
    standard = model.layer("std").macs
    separable = model.layer("dw").macs + model.layer("pw").macs
    assert standard == 16 * 16 * 64 * 3 * 3 * 32
    assert separable == 16 * 16 * 32 * 3 * 3 + 16 * 16 * 64 * 1 * 1 * 32
    assert Fraction(separable, standard) == Fraction(1, 64) + Fraction(1, 3 * 3)


# ---------------------------------------------------------------------------------------------
# convT: out = (N - 1)S - 2P + D(K - 1) + output_padding + 1; weights C_in * C_out/g * K_h * K_w
CONVT = [
    # the usual doubling: (4 - 1)*2 - 2*1 + 1*(4 - 1) + 0 + 1 = 8
    pytest.param(
        "4x4x8", "convT 4 k=4 s=2 p=1",
        [(4 - 1) * 2 - 2 * 1 + 1 * (4 - 1) + 0 + 1, (4 - 1) * 2 - 2 * 1 + 1 * (4 - 1) + 0 + 1, 4],
        8 * 4 * 4 * 4, 4, 0, 4 * 4 * 8 * 4 * 4 * 4,
        id="k4-s2-p1",
    ),
    # output padding: (4 - 1)*2 - 2*1 + 1*(3 - 1) + 1 + 1 = 8 (without op=1 it would be 7)
    pytest.param(
        "4x4x8", "convT 4 k=3 s=2 p=1 op=1",
        [(4 - 1) * 2 - 2 * 1 + 1 * (3 - 1) + 1 + 1, (4 - 1) * 2 - 2 * 1 + 1 * (3 - 1) + 1 + 1, 4],
        8 * 4 * 3 * 3, 4, 0, 4 * 4 * 8 * 3 * 3 * 4,
        id="output-padding",
    ),
    # groups 2: PyTorch's weight is (C_in, C_out/g, K, K) = 4 * 3 * 3 * 3; out (5 - 1)*1 + (3 - 1) + 1 = 7
    pytest.param(
        "5x5x4", "convT 6 k=3 g=2",
        [(5 - 1) * 1 + (3 - 1) + 1, (5 - 1) * 1 + (3 - 1) + 1, 6], 4 * (6 // 2) * 3 * 3, 6, 0,
        5 * 5 * 4 * 3 * 3 * (6 // 2),
        id="groups",
    ),
    # dilation 2: (3 - 1)*1 + 2*(3 - 1) + 1 = 7
    pytest.param(
        "3x3x1", "convT 1 k=3 d=2",
        [(3 - 1) * 1 + 2 * (3 - 1) + 1, (3 - 1) * 1 + 2 * (3 - 1) + 1, 1], 1 * 1 * 3 * 3, 1, 0, 3 * 3 * 1 * 3 * 3 * 1,
        id="dilation",
    ),
    # kernel 2x3, stride 2x1: H (3 - 1)*2 + (2 - 1) + 1 = 6, W (3 - 1)*1 + (3 - 1) + 1 = 5
    pytest.param(
        "3x3x2", "convT 2 k=2x3 s=2x1",
        [(3 - 1) * 2 + (2 - 1) + 1, (3 - 1) * 1 + (3 - 1) + 1, 2], 2 * 2 * 2 * 3, 2, 0, 3 * 3 * 2 * 2 * 3 * 2,
        id="asymmetric",
    ),
    # everything at once: (8 - 1)*2 - 2*1 + 2*(3 - 1) + 1 + 1 = 18; weights 2 * (4/2) * 3 * 3
    pytest.param(
        "8x8x2", "convT 4 k=3 s=2 p=1 d=2 op=1 g=2",
        [(8 - 1) * 2 - 2 * 1 + 2 * (3 - 1) + 1 + 1, (8 - 1) * 2 - 2 * 1 + 2 * (3 - 1) + 1 + 1, 4],
        2 * (4 // 2) * 3 * 3, 4, 0, 8 * 8 * 2 * 3 * 3 * (4 // 2),
        id="all-keys",
    ),
    # DCGAN generator (Radford et al. 2016): 4x4x1024 -> 8x8x512 with 4x4 kernels, stride 2, no bias
    pytest.param(
        "4x4x1024", "convT 512 k=4 s=2 p=1 bias=false",
        [8, 8, 512], 1024 * 512 * 4 * 4, 0, 0, 4 * 4 * 1024 * 4 * 4 * 512,
        id="dcgan",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("input_shape", "line", "out", "weights", "biases", "buffers", "macs"), CONVT)
def test_conv_transpose(input_shape, line, out, weights, biases, buffers, macs):
    check_row(input_shape, line, out, weights, biases, buffers, macs)


# ---------------------------------------------------------------------------------------------
# pooling: no parameters, no MACs; only the shape to work out
POOL = [
    # seed 003: 4x4, 2x2 filter, stride 2 -> 2x2 (max and average)
    pytest.param("4x4x1", "maxpool k=2", [(4 - 2) // 2 + 1, (4 - 2) // 2 + 1, 1], id="seed003-max"),
    pytest.param("4x4x1", "avgpool k=2", [(4 - 2) // 2 + 1, (4 - 2) // 2 + 1, 1], id="seed003-avg"),
    # seed 000 pose network: 104x104x32, maxpool 2 -> 52
    pytest.param("104x104x32", "maxpool k=2", [(104 - 2) // 2 + 1, (104 - 2) // 2 + 1, 32], id="pose-pool1"),
    # AlexNet (Caffe) pool1, seed 003: (55 - 3)/2 + 1 = 27
    pytest.param("55x55x96", "maxpool k=3 s=2", [(55 - 3) // 2 + 1, (55 - 3) // 2 + 1, 96], id="alexnet-pool1"),
    # the stride defaults to k: (9 - 3)/3 + 1 = 3
    pytest.param("9x9x2", "maxpool k=3", [(9 - 3) // 3 + 1, (9 - 3) // 3 + 1, 2], id="stride-defaults-to-k"),
    # floor and ceil: (6 - 3)/2 = 1.5 -> floor 1 + 1 = 2, ceil 2 + 1 = 3
    pytest.param("6x6x1", "maxpool k=3 s=2", [floor((6 - 3) / 2) + 1, floor((6 - 3) / 2) + 1, 1], id="floor"),
    pytest.param(
        "6x6x1", "maxpool k=3 s=2 ceil=true", [ceil((6 - 3) / 2) + 1, ceil((6 - 3) / 2) + 1, 1], id="ceil"
    ),
    # GoogLeNet pool1 (torchvision uses ceil_mode=True): ceil((112 - 3)/2) + 1 = 56
    pytest.param(
        "112x112x64", "maxpool k=3 s=2 ceil=true", [ceil((112 - 3) / 2) + 1, ceil((112 - 3) / 2) + 1, 64],
        id="googlenet-pool1-ceil",
    ),
    # ceil mode, but the last window would start in the right padding, which PyTorch drops:
    # ceil((5 + 2*1 - 2)/2) + 1 = 4, and (4 - 1)*2 = 6 >= 5 + 1, so 4 - 1 = 3
    pytest.param("5x5x1", "maxpool k=2 s=2 p=1 ceil=true", [4 - 1, 4 - 1, 1], id="ceil-window-in-padding"),
    # ceil on an average pool: ceil((7 - 2)/2) + 1 = 4; (4 - 1)*2 = 6 < 7 + 0, so it stays
    pytest.param("7x7x2", "avgpool k=2 ceil=true", [ceil((7 - 2) / 2) + 1, ceil((7 - 2) / 2) + 1, 2], id="avg-ceil"),
    # ceil with padding: ceil((8 + 2*1 - 3)/2) + 1 = 5, and (5 - 1)*2 = 8 < 8 + 1, so it stays
    pytest.param(
        "8x8x1", "avgpool k=3 s=2 p=1 ceil=true", [ceil((8 + 2 * 1 - 3) / 2) + 1, ceil((8 + 2 * 1 - 3) / 2) + 1, 1],
        id="avg-ceil-pad",
    ),
    # ceil when the division is exact changes nothing: (10 + 2*1 - 3)/3 + 1 = 4
    pytest.param("10x10x1", "maxpool k=3 s=3 p=1 ceil=true", [(10 + 2 * 1 - 3) // 3 + 1] * 2 + [1], id="ceil-exact"),
    # padding: floor((7 + 2*1 - 3)/2) + 1 = 4
    pytest.param("7x7x3", "avgpool k=3 s=2 p=1", [(7 + 2 * 1 - 3) // 2 + 1, (7 + 2 * 1 - 3) // 2 + 1, 3], id="avg-pad"),
    # ResNet's maxpool: floor((112 + 2*1 - 3)/2) + 1 = 56
    pytest.param(
        "112x112x64", "maxpool k=3 s=2 p=1", [(112 + 2 * 1 - 3) // 2 + 1, (112 + 2 * 1 - 3) // 2 + 1, 64],
        id="resnet-pool",
    ),
    # kernel 2x1, stride 2x1: H halves, W stays
    pytest.param("8x8x1", "maxpool k=2x1 s=2x1", [(8 - 2) // 2 + 1, (8 - 1) // 1 + 1, 1], id="asymmetric"),
]  # fmt: skip


@pytest.mark.parametrize(("input_shape", "line", "out"), POOL)
def test_pool(input_shape, line, out):
    check_row(input_shape, line, out, 0, 0, 0, 0)


GLOBAL_POOL = [
    # gap: to 1x1xC
    pytest.param("7x7x512", "gap", [1, 1, 512], id="gap"),
    pytest.param("13x10x3", "gap", [1, 1, 3], id="gap-non-square"),
    # torchvision AlexNet: AdaptiveAvgPool2d((6, 6)) after its 13x13x256 -> 6x6x256 (9216 features)
    pytest.param("13x13x256", "adaptiveavgpool 6x6", [6, 6, 256], id="adaptive-alexnet"),
    pytest.param("6x6x256", "adaptiveavgpool 6x6", [6, 6, 256], id="adaptive-identity"),
    pytest.param("7x7x2048", "adaptiveavgpool 1x1", [1, 1, 2048], id="adaptive-1x1"),
    pytest.param("10x7x3", "adaptiveavgpool 5x2", [5, 2, 3], id="adaptive-non-square"),
]


@pytest.mark.parametrize(("input_shape", "line", "out"), GLOBAL_POOL)
def test_global_and_adaptive_pool(input_shape, line, out):
    check_row(input_shape, line, out, 0, 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# batch norm: gamma and beta learnable (PyTorch's bn.weight and bn.bias), running mean and variance buffers
NORM = [
    pytest.param("8x8x16", "bn", [8, 8, 16], 16, 16, 2 * 16, id="bn-map"),
    pytest.param("128", "bn", [128], 128, 128, 2 * 128, id="bn-vector"),
    # LRN (AlexNet, seed 003: local_size 5) has nothing to learn
    pytest.param("27x27x96", "lrn", [27, 27, 96], 0, 0, 0, id="lrn"),
    pytest.param("27x27x96", "lrn size=3", [27, 27, 96], 0, 0, 0, id="lrn-size3"),
]


@pytest.mark.parametrize(("input_shape", "line", "out", "weights", "biases", "buffers"), NORM)
def test_normalisation(input_shape, line, out, weights, biases, buffers):
    check_row(input_shape, line, out, weights, biases, buffers, 0)


def test_bn_params_and_buffers_are_2c_each():
    layer = layer_of("4x4x64", "bn")
    assert layer.params == 2 * 64
    assert layer.buffers == 2 * 64


# ---------------------------------------------------------------------------------------------
# element-wise ops keep the shape and cost nothing
ELEMENTWISE = ["relu", "relu6", "sigmoid", "tanh", "hswish", "softmax", "gelu", "dropout", "dropout p=0.3"]


@pytest.mark.parametrize("line", ELEMENTWISE)
@pytest.mark.parametrize(("input_shape", "out"), [("8x8x16", [8, 8, 16]), ("4096", [4096])])
def test_elementwise(line, input_shape, out):
    check_row(input_shape, line, out, 0, 0, 0, 0)


# ---------------------------------------------------------------------------------------------
DENSE = [
    # LeNet-5, seed 002: 16*5*5*120 + 120 = 48,120; 120*84 + 84 = 10,164; 84*10 + 10 = 850
    pytest.param("400", "fc 120", [120], 400 * 120, 120, 400 * 120, id="fc"),
    pytest.param("120", "linear 84", [84], 120 * 84, 84, 120 * 84, id="linear"),
    pytest.param("84", "dense 10", [10], 84 * 10, 10, 84 * 10, id="dense"),
    # seed 000 pose network, counted without biases: 3200*512
    pytest.param("3200", "fc 512 bias=false", [512], 3200 * 512, 0, 3200 * 512, id="fc-no-bias"),
]


@pytest.mark.parametrize(("input_shape", "line", "out", "weights", "biases", "macs"), DENSE)
def test_dense(input_shape, line, out, weights, biases, macs):
    check_row(input_shape, line, out, weights, biases, 0, macs)


def test_fc_after_flatten():
    # LeNet-5, seed 002: 16*5*5*120 + 120 = 48,120
    model = cnncalc.load("input 5x5x16\nflat: flatten\nf5: fc 120\n")
    assert model.layer("flat").output.dims() == [16 * 5 * 5]
    assert model.layer("f5").params == 16 * 5 * 5 * 120 + 120 == 48_120


RESHAPE = [
    pytest.param("5x5x16", "flatten", [5 * 5 * 16], id="flatten-lenet"),
    pytest.param("6x6x256", "flatten", [6 * 6 * 256], id="flatten-alexnet"),
    pytest.param("400", "reshape 5x5x16", [5, 5, 16], id="reshape-vector-to-map"),
    pytest.param("8x8x4", "reshape 4x4x16", [4, 4, 16], id="reshape-map-to-map"),
    # nearest or bilinear, the size scales: 7*2 = 14, 7*3 = 21
    pytest.param("7x7x8", "upsample", [7 * 2, 7 * 2, 8], id="upsample-default-2"),
    pytest.param("7x7x8", "upsample scale=3", [7 * 3, 7 * 3, 8], id="upsample-3"),
    pytest.param("7x7x8", "upsample scale=2 mode=bilinear", [7 * 2, 7 * 2, 8], id="upsample-bilinear"),
    pytest.param("5x7x8", "upsample scale=2 mode=nearest", [5 * 2, 7 * 2, 8], id="upsample-non-square"),
]


@pytest.mark.parametrize(("input_shape", "line", "out"), RESHAPE)
def test_reshape_and_resize(input_shape, line, out):
    check_row(input_shape, line, out, 0, 0, 0, 0)


# ---------------------------------------------------------------------------------------------
# merges: whole networks, checking the merge layer `m`
MERGES = [
    # seed 003, naive inception: 28x28x(128 + 192 + 96 + 256) = 28x28x672
    pytest.param(
        """
        input 28x28x256
        a: conv 128 k=1
        b: conv 192 k=3 p=1 from=input
        c: conv 96 k=5 p=2 from=input
        d: maxpool k=3 s=1 p=1 from=input
        m: concat from=a,b,c,d
        """,
        [28, 28, 128 + 192 + 96 + 256],
        id="concat-naive-inception",
    ),
    # seed 003, inception with 1x1 reductions: 28x28x(128 + 192 + 96 + 64) = 28x28x480
    pytest.param(
        """
        input 28x28x256
        a: conv 128 k=1
        b1: conv 64 k=1 from=input
        b: conv 192 k=3 p=1
        c1: conv 64 k=1 from=input
        c: conv 96 k=5 p=2
        d1: maxpool k=3 s=1 p=1 from=input
        d: conv 64 k=1
        m: concat from=a,b,c,d
        """,
        [28, 28, 128 + 192 + 96 + 64],
        id="concat-inception-reduced",
    ),
    # a residual add: same shapes in, same shape out
    pytest.param(
        """
        input 8x8x16
        a: conv 16 k=3 p=1
        m: add from=input,a
        """,
        [8, 8, 16],
        id="add-residual",
    ),
    # add with a 1x1xC operand broadcast over H and W
    pytest.param(
        """
        input 8x8x16
        g: gap
        m: add from=input,g
        """,
        [8, 8, 16],
        id="add-broadcast",
    ),
    # squeeze-and-excitation: x * sigmoid(...) of shape 1x1xC
    pytest.param(
        """
        input 8x8x64
        sq: gap
        fc1: conv 4 k=1
        r: relu
        fc2: conv 64 k=1
        s: sigmoid
        m: mul from=input,s
        """,
        [8, 8, 64],
        id="mul-broadcast-se",
    ),
    # the broadcast operand may come first
    pytest.param(
        """
        input 8x8x64
        sq: gap
        s: sigmoid
        m: mul from=s,input
        """,
        [8, 8, 64],
        id="mul-broadcast-first",
    ),
]


@pytest.mark.parametrize(("spec", "out"), MERGES)
def test_merge(spec, out):
    layer = cnncalc.load(spec).layer("m")
    assert figures(layer) == {"output": out, "weights": 0, "biases": 0, "buffers": 0, "macs": 0}
    assert layer.activation_bytes == 4 * prod(out)


def test_inception_macs():
    # seed 003's two inception modules on 28x28x256; MACs H_out*W_out*C_out*K*K*C_in per conv
    naive = cnncalc.load(MERGES[0].values[0])
    assert naive.totals.macs == (
        28 * 28 * 128 * 1 * 1 * 256  # 1x1, 128
        + 28 * 28 * 192 * 3 * 3 * 256  # 3x3, 192
        + 28 * 28 * 96 * 5 * 5 * 256  # 5x5, 96
    )  # 854,196,224: the "854M ops" of the cs231n slide the seed copies
    reduced = cnncalc.load(MERGES[1].values[0])
    assert reduced.totals.macs == (
        28 * 28 * 128 * 1 * 1 * 256  # a: 1x1, 128
        + 28 * 28 * 64 * 1 * 1 * 256  # b1: 1x1, 64
        + 28 * 28 * 192 * 3 * 3 * 64  # b: 3x3, 192 on 64 channels
        + 28 * 28 * 64 * 1 * 1 * 256  # c1: 1x1, 64
        + 28 * 28 * 96 * 5 * 5 * 64  # c: 5x5, 96 on 64 channels
        + 28 * 28 * 64 * 1 * 1 * 256  # d: 1x1, 64 after the pool
    )  # 271,351,808 (the cs231n slide's "358M" does not follow from its own terms)


def test_squeeze_excitation_cost_is_2c2_over_r():
    # seed 001: squeeze-and-excitation costs 2C^2/r multiply-accumulates; C = 64, r = 16
    model = cnncalc.load(MERGES[4].values[0])
    se_macs = model.layer("fc1").macs + model.layer("fc2").macs
    assert se_macs == 2 * 64 * 64 // 16
    assert model.layer("fc1").params == 64 * 4 + 4
    assert model.layer("fc2").params == 4 * 64 + 64


# ---------------------------------------------------------------------------------------------
# non-exact output sizes (seed 003: N = 7, F = 3, stride 3 -> (7 - 3)/3 + 1 = 2.33...)
NON_EXACT = "input 7x7x1\nx: conv 1 k=3 s=3\n"


def test_non_exact_size_is_floored():
    layer = cnncalc.load(NON_EXACT).layer("x")
    assert layer.output.dims() == [floor((7 + 2 * 0 - 3) / 3) + 1, floor((7 + 2 * 0 - 3) / 3) + 1, 1]
    assert layer.warnings, "a non-exact output size must carry a warning"


def test_non_exact_warning_shows_the_slides_quotient():
    # seed 003 writes (7 - 3)/3 + 1 = 2.3333: the warning should show the number students compute
    layer = cnncalc.load(NON_EXACT).layer("x")
    assert any("2.33" in w for w in layer.warnings), layer.warnings


def test_exact_size_has_no_warning():
    # seed 003: (7 - 3)/2 + 1 = 3 exactly
    layer = cnncalc.load("input 7x7x1\nx: conv 1 k=3 s=2\n").layer("x")
    assert layer.warnings == []


def test_strict_makes_non_exact_an_error():
    with pytest.raises(cnncalc.CnnCalcError) as info:
        cnncalc.load(NON_EXACT, strict=True)
    message = str(info.value)
    assert "\n" not in message
    assert ":2: x: " in message  # FILE:LINE: LAYER: what is wrong


def test_strict_accepts_exact_sizes():
    layer = cnncalc.load("input 7x7x1\nx: conv 1 k=3 s=2\n", strict=True).layer("x")
    assert layer.output.dims() == [3, 3, 1]


# ---------------------------------------------------------------------------------------------
# settings and options
def test_set_bias_false_applies_to_later_layers_only():
    spec = """
    input 32x32x1
    c1: conv 6 k=5
    set bias=false
    c2: conv 16 k=5
    f: flatten
    fc1: fc 10 bias=true
    fc2: fc 10
    """
    model = cnncalc.load(spec)
    assert model.layer("c1").biases == 6
    assert model.layer("c2").biases == 0
    assert model.layer("c2").weights == 5 * 5 * 6 * 16
    assert model.layer("fc1").biases == 10  # a layer's own bias= wins
    assert model.layer("fc1").weights == (24 * 24 * 16) * 10  # 32 - 5 + 1 = 28, 28 - 5 + 1 = 24
    assert model.layer("fc2").biases == 0


def test_load_without_biases():
    # LeNet-5 C1 without its bias: 5*5*1*6 = 150
    layer = layer_of("32x32x1", "conv 6 k=5", bias=False)
    assert (layer.weights, layer.biases, layer.params) == (5 * 5 * 1 * 6, 0, 5 * 5 * 1 * 6)


def test_input_override():
    # 64x64x3 instead of 32x32x3: (64 - 5) + 1 = 60
    layer = layer_of("32x32x3", "conv 8 k=5", input="64x64x3")
    assert layer.output.dims() == [64 - 5 + 1, 64 - 5 + 1, 8]
    assert layer.macs == 60 * 60 * 8 * 5 * 5 * 3


def test_layout_chw():
    model = cnncalc.load("input 32x32x1\nx: conv 6 k=5\n", layout="chw")
    row = next(r for r in model.to_dict()["layers"] if r["name"] == "x")
    assert row["output_shape"] == [6, 28, 28]


def test_automatic_names():
    # DESIGN.md: an unnamed input is `input`, other layers are named from their op: conv1, conv2...
    model = cnncalc.load("input 32x32x1\nconv 6 k=5\nrelu\nconv 16 k=5\nrelu\n")
    assert [x.name for x in model.layers] == ["input", "conv1", "relu1", "conv2", "relu2"]
    assert model.layer("conv2").inputs == ["relu1"]


def test_input_layer():
    layer = cnncalc.load("input 224x224x3\n").layer("input")
    assert figures(layer) == {"output": [224, 224, 3], "weights": 0, "biases": 0, "buffers": 0, "macs": 0}
    assert layer.activation_bytes == 224 * 224 * 3 * 4
