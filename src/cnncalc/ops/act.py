"""Element-wise ops that cost no parameters and no MACs: activations and dropout."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..ir import Shape
from .base import Calc, Context, Op, boolean, make, number, register

ACTIVATIONS = {
    "relu": "max(0, x)",
    "relu6": "min(max(0, x), 6)",
    "sigmoid": "1 / (1 + e^-x)",
    "tanh": "hyperbolic tangent",
    "hswish": "hard swish, x * relu6(x + 3) / 6",
    "softmax": "exp(x) / sum(exp(x)) over channels",
    "gelu": "Gaussian error linear unit",
    "silu": "x * sigmoid(x), also called swish",
    "hsigmoid": "hard sigmoid, relu6(x + 3) / 6",
    "leakyrelu": "max(0.01x, x)",
    "elu": "exponential linear unit",
    "identity": "passes its input through unchanged",
}
ALIASES = {"silu": ("swish",), "hsigmoid": ("hardsigmoid",), "hswish": ("hardswish",)}

# Writing the result over the input (PyTorch's `inplace=True`, `relu_`) changes no shape, parameter or MAC figure,
# only what training keeps: the input's storage is reused, so a ReLU after batch norm saves nothing of its own.
INPLACE = make("inplace", boolean(), False, help="writes its result over its input (PyTorch inplace=True)")


def _activation(op_name: str, text: str) -> type[Op]:
    class Activation(Op):
        name = op_name
        aliases = ALIASES.get(op_name, ())
        summary = f"activation: {text}" if op_name != "identity" else text
        keys = (INPLACE,) if op_name != "identity" else ()

        def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
            return Calc(inputs[0])

    Activation.__name__ = Activation.__qualname__ = f"Activation_{op_name}"
    return register(Activation)


for _name, _text in ACTIVATIONS.items():
    _activation(_name, _text)


@register
class DropPath(Op):
    name = "droppath"
    aliases = ("stochasticdepth",)
    summary = "stochastic depth: drops a whole residual branch in training (identity when counting)"
    keys = (make("p", number(0, 1), Fraction(0), help="drop probability"),)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        return Calc(inputs[0])


@register
class Dropout(Op):
    name = "dropout"
    summary = "dropout (identity when counting)"
    keys = (make("p", number(0, 1), Fraction(1, 2), help="drop probability"), INPLACE)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        return Calc(inputs[0])
