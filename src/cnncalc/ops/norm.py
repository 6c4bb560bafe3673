"""Normalisation: bn, lrn, layernorm, rmsnorm, l2norm, groupnorm, instancenorm."""

from __future__ import annotations

from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import Calc, Context, Op, boolean, make, register, whole


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


def _last_axes(x: Shape, n: int, op: str) -> tuple[dict[str, int], str]:
    """The values of the last n written axes and their product formula (C, or W*C, or H*W*C...)."""
    dims = x.dims()
    if n > len(dims):
        raise OpError(f"{op} n={n} normalises more axes than the {len(dims)} of its input {x.text()}")
    names = ["C"] if n == 1 else [*_AXES[x.rank][len(dims) - n :], "C"]
    values = dict(zip(names, dims[len(dims) - n :], strict=True))
    return values, "*".join(names)


_AXES = {0: [], 1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def _affine(calc: Calc, gamma: bool, beta: bool, formula: str, values: dict[str, int]) -> Calc:
    """A norm's learnt scale (gamma) and shift (beta), one of each per normalised value."""
    if gamma:
        calc.weights = calc.step(Step.of("gamma", formula, **values))
        if beta:
            calc.biases = calc.step(Step.of("beta", formula, **values))
    return calc


@register
class LayerNorm(Op):
    name = "layernorm"
    aliases = ("ln",)
    summary = "layer normalisation over the last axes (n=1: the channels of each token or position)"
    keys = (
        make("n", whole(1), 1, help="how many last axes are normalised"),
        make("affine", boolean(), True, help="learn gamma (and beta)"),
        make("beta", boolean(), True, help="learn beta as well"),
    )

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        values, formula = _last_axes(x, args.get("n", 1), self.name)
        return _affine(Calc(x), args.get("affine", True), args.get("beta", True), formula, values)


@register
class RMSNorm(Op):
    name = "rmsnorm"
    summary = "root-mean-square normalisation over the last axes (a learnt gamma, no beta)"
    keys = (
        make("n", whole(1), 1, help="how many last axes are normalised"),
        make("affine", boolean(), True, help="learn gamma"),
    )

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        values, formula = _last_axes(x, args.get("n", 1), self.name)
        return _affine(Calc(x), args.get("affine", True), False, formula, values)


@register
class L2Norm(Op):
    name = "l2norm"
    aliases = ("normalize",)
    summary = "L2 normalisation of each channel vector, x / max(||x||, eps) (F.normalize, cosine attention): no params"

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        return Calc(inputs[0])


@register
class GroupNorm(Op):
    name = "groupnorm"
    aliases = ("gn",)
    summary = "group normalisation: channels in g groups (gamma and beta learnt per channel, no buffers)"
    keys = (make("g", whole(1), 32, help="groups"), make("affine", boolean(), True, help="learn gamma and beta"))

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x, g = inputs[0], args.get("g", 32)
        if x.c % g:
            raise OpError(f"groups g={g} must divide the {x.c} channels")
        return _affine(Calc(x), args.get("affine", True), True, "C", {"C": x.c})


@register
class InstanceNorm(Op):
    name = "instancenorm"
    summary = "instance normalisation per channel (PyTorch's default: no gamma, beta or running statistics)"
    keys = (
        make("affine", boolean(), False, help="learn gamma and beta"),
        make("track", boolean(), False, help="keep running mean and variance (buffers)"),
    )

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        if x.positions == 1:
            # Each channel is normalised over its own positions: PyTorch refuses one (F.instance_norm, training).
            raise OpError(f"instancenorm needs more than one position per channel, but its input is {x.text()}")
        calc = _affine(Calc(x), args.get("affine", False), True, "C", {"C": x.c})
        if args.get("track", False):
            calc.buffers = calc.step(Step.of("running mean and variance", "2*C", C=x.c))
        return calc
