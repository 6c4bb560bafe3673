"""The ops added for the zoo (issue 3), each alone, worked by hand.

Figures are written as arithmetic from the op's definition (PyTorch docs for LayerNorm, ChannelShuffle,
Hardsigmoid, SiLU; torchvision's LayerNorm2d and ConvNeXt layer scale; LeCun et al. 1998 for the
trainable subsampling and the RBF output). Nothing here comes from a run of cnncalc.
"""

from __future__ import annotations

import pytest

import cnncalc


def layer_of(input_shape: str, line: str, **options):  # type: ignore[no-untyped-def]
    return cnncalc.load(f"input {input_shape}\nx: {line}\n", **options).layer("x")


NO_COST_OPS = ("silu", "swish", "hsigmoid", "hardsigmoid", "leakyrelu", "elu", "identity", "droppath p=0.2")

# (input, line, output, weights, biases, buffers, MACs)
ROWS = [
    # Activations and stochastic depth change nothing and cost nothing.
    *[pytest.param("7x5x3", op, [7, 5, 3], 0, 0, 0, 0, id=op) for op in NO_COST_OPS],
    # LayerNorm over the channels at each position: gamma and beta of C, no running statistics.
    pytest.param("56x56x96", "layernorm", [56, 56, 96], 96, 96, 0, 0, id="layernorm-map"),
    pytest.param("768", "ln", [768], 768, 768, 0, 0, id="layernorm-vector"),
    # Channel shuffle keeps the shape.
    pytest.param("28x28x116", "shuffle g=2", [28, 28, 116], 0, 0, 0, 0, id="shuffle"),
    # Channel split: ShuffleNet v2 keeps channels 0..57 of 116 (116 / 2 = 58).
    pytest.param("28x28x116", "slice 0:58", [28, 28, 116 // 2], 0, 0, 0, 0, id="slice-range"),
    pytest.param("28x28x116", "slice 58:116", [28, 28, 116 - 58], 0, 0, 0, 0, id="slice-second-half"),
    pytest.param("14x14x6", "slice 0,1,3,4", [14, 14, 4], 0, 0, 0, 0, id="slice-list"),
    # Layer scale: one learnt factor per channel (ConvNeXt gamma).
    pytest.param("56x56x96", "scale", [56, 56, 96], 96, 0, 0, 0, id="layer-scale"),
    # LeNet-5 S2: a trainable coefficient and bias per map: 6 * 2 = 12.
    pytest.param("14x14x6", "scale bias=true", [14, 14, 6], 6, 6, 0, 0, id="lenet-subsampling"),
    # LeNet-5 output: 10 RBF units over 84 inputs; the 84 * 10 vectors are fixed (buffers), each unit sums
    # 84 squared differences: 84 * 10 multiply-accumulates.
    pytest.param("84", "rbf 10", [10], 0, 0, 84 * 10, 84 * 10, id="rbf"),
]


@pytest.mark.parametrize(("shape", "line", "out", "weights", "biases", "buffers", "macs"), ROWS)
def test_new_op(shape, line, out, weights, biases, buffers, macs) -> None:  # type: ignore[no-untyped-def]
    x = layer_of(shape, line)
    assert [x.output.dims(), x.weights, x.biases, x.buffers, x.macs] == [out, weights, biases, buffers, macs]
    assert x.params == weights + biases


def test_scale_bias_follows_no_bias_counting() -> None:
    # --no-bias counts as if no layer had a bias: the subsampling shift goes too, the factor stays.
    x = layer_of("14x14x6", "scale bias=true", bias=False)
    assert (x.weights, x.biases) == (6, 0)


def test_scale_is_not_switched_on_by_set_bias() -> None:
    # `set bias=true` is the default for conv/fc biases; layer scale has no shift unless asked.
    m = cnncalc.load("set bias=true\ninput 8x8x4\nx: scale\n")
    assert m.layer("x").params == 4


@pytest.mark.parametrize(
    ("shape", "line", "phrase"),
    [
        ("8x8x6", "shuffle g=4", "must divide the 6 channels"),
        ("8x8x6", "slice 4:8", "run past the 6 channels"),
        ("8x8x6", "slice 0,6", "channel 6 does not exist"),
        ("8x8x6", "slice 3:3", "start < stop"),
        ("6x6x256", "rbf 10", "flatten it first"),
    ],
)
def test_new_op_errors(shape: str, line: str, phrase: str) -> None:
    with pytest.raises(cnncalc.CnnCalcError, match=phrase):
        layer_of(shape, line)
