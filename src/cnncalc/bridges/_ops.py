"""The op table both importers share: a cnncalc layer from what a framework op computes and its attributes.

The PyTorch importer reads attributes off modules and calls (`nn.Conv2d`, `F.max_pool2d`), the ONNX importer off
nodes (`Conv`, `MaxPool`); each normalises them (one value per window axis, padding as cnncalc writes it) and asks this
table for the layer, so that a convolution, a pooling window, a norm or an activation comes out the same from either
door. What stays in each importer is how it finds the tensors and their layouts.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, NamedTuple


class Layer(NamedTuple):
    """A cnncalc op, its positional arguments and its keys, as the text spec writes them."""

    op: str
    pos: tuple[Any, ...]
    keys: dict[str, Any]


# What each framework calls an activation, by cnncalc's op: PyTorch's functions and module classes, ONNX's ops.
_ACTIVATION_NAMES = {
    "relu": ("relu relu_ ReLU", "Relu"),
    "relu6": ("relu6 relu6_ ReLU6", ""),
    "sigmoid": ("sigmoid sigmoid_ Sigmoid", "Sigmoid"),
    "tanh": ("tanh tanh_ Tanh", "Tanh"),
    "silu": ("silu silu_ SiLU", ""),
    "gelu": ("gelu gelu_ GELU", "Gelu"),
    "hswish": ("hardswish hardswish_ Hardswish", "HardSwish"),
    "hsigmoid": ("hardsigmoid hardsigmoid_ Hardsigmoid", "HardSigmoid"),
    "leakyrelu": ("leaky_relu leaky_relu_ LeakyReLU", "LeakyRelu"),
    "elu": ("elu elu_ ELU", "Elu"),
    "softmax": ("softmax _softmax log_softmax Softmax Softmax2d", "Softmax"),
}
TORCH_ACTIVATIONS = {name: op for op, (names, _) in _ACTIVATION_NAMES.items() for name in names.split()}
ONNX_ACTIVATIONS = {name: op for op, (_, names) in _ACTIVATION_NAMES.items() for name in names.split()}

# Padding modes by cnncalc's name: PyTorch's (F.pad) and ONNX's (Pad) words for them.
PAD_MODES = {
    "constant": "zeros",
    "reflect": "reflect",
    "replicate": "replicate",
    "edge": "replicate",
    "circular": "circular",
    "wrap": "circular",
}

# Resampling modes cnncalc's upsample knows; nearest-exact differs from nearest only in where it samples.
UPSAMPLE_MODES = {
    "nearest": "nearest",
    "nearest-exact": "nearest",
    "linear": "linear",
    "bilinear": "bilinear",
    "trilinear": "trilinear",
    "bicubic": "bicubic",
}


def conv(c_in: int, c_out: int, k: tuple[int, ...], s: tuple[int, ...], p: Any, d: tuple[int, ...], groups: int,
         bias: bool) -> Layer:  # fmt: skip
    """A convolution: `dwconv` when every group is one input channel (with a multiplier `m` when it gives more),
    else `conv` with its groups."""
    keys: dict[str, Any] = {"k": k, "s": s, "p": p, "d": d, "bias": bias}
    if groups > 1 and groups == c_in and c_out % c_in == 0:
        if c_out != c_in:
            keys["m"] = c_out // c_in
        return Layer("dwconv", (), keys)
    if groups > 1:
        keys["g"] = groups
    return Layer("conv", (c_out,), keys)


def conv_transpose(c_out: int, k: tuple[int, ...], s: tuple[int, ...], p: Any, output_padding: tuple[int, ...],
                   d: tuple[int, ...], groups: int, bias: bool) -> Layer:  # fmt: skip
    keys = {"k": k, "s": s, "p": p, "op": output_padding, "d": d, "g": groups, "bias": bias}
    return Layer("convT", (c_out,), keys)


def pool(op: str, k: tuple[int, ...], s: tuple[int, ...], p: Any, ceil: bool) -> Layer:
    """`maxpool` or `avgpool` over a window."""
    return Layer(op, (), {"k": k, "s": s, "p": p, "ceil": bool(ceil)})


def clip(low: float | None, high: float | None) -> str | None:
    """The op of a clamp to [low, high]: relu6 for [0, 6], relu for [0, inf), identity for no bounds; None else."""
    if low is None and high is None:
        return "identity"
    if low == 0 and high == 6:
        return "relu6"
    if low == 0 and high is None:
        return "relu"
    return None


def dropout(p: Any) -> Layer:
    """Dropout with its probability exact as written (a float32's 0.1 stays the float it is)."""
    return Layer("dropout", (), {"p": Fraction(repr(float(p)))})


def norm(kind: str, **opts: Any) -> Layer:
    """A normalisation with only the keys that differ from cnncalc's defaults: `layernorm` / `rmsnorm` (n axes,
    affine, beta), `groupnorm` (g, affine), `instancenorm` (affine, track), `lrn` (size), `bn`."""
    keys: dict[str, Any] = {}
    if kind in ("layernorm", "rmsnorm"):
        if opts.get("n", 1) > 1:
            keys["n"] = opts["n"]
        if not opts.get("affine", True):
            keys["affine"] = False
        elif kind == "layernorm" and not opts.get("beta", True):
            keys["beta"] = False
    elif kind == "groupnorm":
        keys["g"] = opts["g"]
        if not opts.get("affine", True):
            keys["affine"] = False
    elif kind == "instancenorm":
        keys = {k: True for k in ("affine", "track") if opts.get(k)}
    elif kind == "lrn":
        keys["size"] = opts["size"]
    return Layer(kind, (), keys)
