"""Ops with several inputs: concat, add, mul."""

from __future__ import annotations

from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import MERGE, Calc, Context, Op, register


def _describe(names: tuple[str, ...], shapes: list[Shape]) -> str:
    return ", ".join(f"{n} gives {s.text()}" for n, s in zip(names, shapes, strict=False))


@register
class Concat(Op):
    name = "concat"
    aliases = ("cat",)
    summary = "stack inputs along channels (feature maps of one HxW, or vectors)"
    min_inputs = 2
    max_inputs = None

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        first = inputs[0]
        for x in inputs[1:]:
            if x.spatial != first.spatial or (x.h, x.w) != (first.h, first.w):
                what = "sizes" if x.spatial and first.spatial else "kinds (feature map and vector)"
                raise OpError(
                    f"concat joins along channels, so H and W must match, but the {what} differ: "
                    + _describe(ctx.input_names, inputs)
                )
        calc = Calc(Shape(0, first.h, first.w), rf=MERGE)
        c = calc.step(_channels_step([x.c for x in inputs]))
        calc.output = Shape(c, first.h, first.w)
        return calc


_MOST_TERMS = 64  # a formula is a syntax tree: thousands of terms would overflow the evaluator's recursion


def _channels_step(channels: list[int]) -> Step:
    """C_1 + C_2 + ...; for many inputs, n·C per distinct channel count, or the sum alone."""
    if len(channels) <= _MOST_TERMS:
        names = [f"C_{i + 1}" for i in range(len(channels))]
        return Step.of("channels", " + ".join(names), **dict(zip(names, channels, strict=True)))
    counts: dict[int, int] = {}
    for c in channels:
        counts[c] = counts.get(c, 0) + 1
    if len(counts) <= _MOST_TERMS:
        values: dict[str, int] = {}
        for i, (c, n) in enumerate(counts.items(), start=1):
            values[f"n_{i}"], values[f"C_{i}"] = n, c
        return Step.of("channels", " + ".join(f"n_{i}*C_{i}" for i in range(1, len(counts) + 1)), **values)
    return Step.of(f"channels (the sum over the {len(channels):,} inputs)", "C", C=sum(channels))


class _Elementwise(Op):
    """Element-wise merge; a 1x1xC map (or a vector of C) broadcasts over H x W."""

    min_inputs = 2
    max_inputs = None

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        full = max(inputs, key=lambda s: s.numel)
        for x in inputs:
            if x == full:
                continue
            if x.c != full.c:
                raise OpError(
                    f"{self.name} needs the same number of channels in every input, but "
                    + _describe(ctx.input_names, inputs)
                )
            broadcast = not x.spatial or (x.h, x.w) == (1, 1)
            if not broadcast:
                raise OpError(
                    f"{self.name} needs inputs of one shape (or 1x1xC to broadcast), but "
                    + _describe(ctx.input_names, inputs)
                )
        return Calc(full, rf=MERGE)


@register
class Add(_Elementwise):
    name = "add"
    summary = "element-wise sum (residual connection)"


@register
class Mul(_Elementwise):
    name = "mul"
    summary = "element-wise product (gating, e.g. squeeze-and-excitation)"
