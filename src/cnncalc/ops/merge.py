"""Ops with several inputs: concat, add, mul."""

from __future__ import annotations

from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import MERGE, SCRAMBLED, Calc, Context, Op, integer, make, register, written_axis


def _describe(names: tuple[str, ...], shapes: list[Shape]) -> str:
    return ", ".join(f"{n} gives {s.text()}" for n, s in zip(names, shapes, strict=False))


@register
class Concat(Op):
    name = "concat"
    aliases = ("cat",)
    summary = "stack inputs along channels (feature maps of one HxW, or vectors), or along axis=N (tokens: axis=0)"
    keys = (make("axis", integer(), -1, help="the axis joined, counted in the written order (-1: channels)"),)
    min_inputs = 2
    max_inputs = None

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        first = inputs[0]
        axis = args.get("axis", -1)
        if axis in (-1, len(first.dims()) - 1):
            for x in inputs[1:]:
                if x.sizes != first.sizes or x.lead != first.lead:
                    what = "sizes" if x.spatial and first.spatial else "kinds (feature map and vector)"
                    if x.spatial and first.spatial and x.rank != first.rank:
                        what = "kinds (maps of different axes)"
                    raise OpError(
                        f"concat joins along channels, so H and W must match, but the {what} differ: "
                        + _describe(ctx.input_names, inputs)
                    )
            calc = Calc(first.with_channels(0), rf=MERGE)
            c = calc.step(_channels_step([x.c for x in inputs]))
            calc.output = first.with_channels(c)
            return calc
        dims = first.dims()
        where = written_axis(first, axis)
        for x in inputs[1:]:
            other = x.dims()
            if (
                len(other) != len(dims)
                or x.lead != first.lead
                or any(a != b for i, (a, b) in enumerate(zip(other, dims, strict=True)) if i != where)
            ):
                raise OpError(
                    f"concat along axis {axis} needs every other axis to match, but "
                    + _describe(ctx.input_names, inputs)
                )
        calc = Calc(first, rf=SCRAMBLED)
        total = calc.step(_channels_step([x.dims()[where] for x in inputs], "length"))
        out = [*dims]
        out[where] = total
        calc.output = Shape.of(out[-1], tuple(out[:-1]), first.lead)
        return calc


_MOST_TERMS = 64  # a formula is a syntax tree: thousands of terms would overflow the evaluator's recursion


def _channels_step(channels: list[int], label: str = "channels") -> Step:
    """C_1 + C_2 + ...; for many inputs, n·C per distinct channel count, or the sum alone."""
    if len(channels) <= _MOST_TERMS:
        names = [f"C_{i + 1}" for i in range(len(channels))]
        return Step.of(label, " + ".join(names), **dict(zip(names, channels, strict=True)))
    counts: dict[int, int] = {}
    for c in channels:
        counts[c] = counts.get(c, 0) + 1
    if len(counts) <= _MOST_TERMS:
        values: dict[str, int] = {}
        for i, (c, n) in enumerate(counts.items(), start=1):
            values[f"n_{i}"], values[f"C_{i}"] = n, c
        return Step.of(label, " + ".join(f"n_{i}*C_{i}" for i in range(1, len(counts) + 1)), **values)
    return Step.of(f"{label} (the sum over the {len(channels):,} inputs)", "C", C=sum(channels))


class _Elementwise(Op):
    """Element-wise merge; inputs broadcast as NumPy and PyTorch do (a 1x1xC map or a vector of C over H x W)."""

    min_inputs = 2
    max_inputs = None

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        full = max(inputs, key=lambda s: (len(s.axes()), s.numel))
        axes = list(full.axes())
        for x in inputs:
            if x == full:
                continue
            if x.c != full.c and x.c != 1 and full.c != 1:
                raise OpError(
                    f"{self.name} needs the same number of channels in every input, but "
                    + _describe(ctx.input_names, inputs)
                )
            mine = x.axes()
            if len(mine) > len(axes) or any(
                a != b and a != 1 and b != 1 for a, b in zip(reversed(mine), reversed(axes), strict=False)
            ):
                raise OpError(
                    f"{self.name} needs inputs of one shape (or 1x1xC to broadcast), but "
                    + _describe(ctx.input_names, inputs)
                )
            for i, a in enumerate(reversed(mine)):
                axes[-1 - i] = max(axes[-1 - i], a)
        out = Shape.of(axes[-1], tuple(axes[len(full.lead) : -1]), tuple(axes[: len(full.lead)]))
        return Calc(out, rf=MERGE)


@register
class Add(_Elementwise):
    name = "add"
    summary = "element-wise sum (residual connection)"


@register
class Mul(_Elementwise):
    name = "mul"
    summary = "element-wise product (gating, e.g. squeeze-and-excitation)"
