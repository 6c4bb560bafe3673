"""Normalisation: bn, lrn."""

from __future__ import annotations

from typing import Any

from ..expr import Step
from ..ir import Shape
from .base import Calc, Context, Op, make, register, whole


@register
class BatchNorm(Op):
    name = "bn"
    aliases = ("batchnorm",)
    summary = "batch normalisation: gamma and beta learnt, running mean and variance as buffers"

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        calc = Calc(x)
        # PyTorch names gamma `weight` and beta `bias`; both are parameters whatever `bias=` says.
        calc.weights = calc.step(Step.of("gamma", "C", C=x.c))
        calc.biases = calc.step(Step.of("beta", "C", C=x.c))
        calc.buffers = calc.step(Step.of("running mean and variance", "2*C", C=x.c))
        return calc


@register
class LocalResponseNorm(Op):
    name = "lrn"
    summary = "local response normalisation across channels (no parameters)"
    keys = (make("size", whole(1), 5, help="channels in the window"),)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        return Calc(inputs[0])


@register
class LayerNorm(Op):
    name = "layernorm"
    aliases = ("ln",)
    summary = "layer normalisation over the channels at each position (gamma and beta learnt, no buffers)"

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        calc = Calc(x)
        calc.weights = calc.step(Step.of("gamma", "C", C=x.c))
        calc.biases = calc.step(Step.of("beta", "C", C=x.c))
        return calc
