"""Receptive field, carried layer by layer along H and W.

State per layer: a `Field` (per axis: size, jump, twice the start, units in the
map, width of the input), `WHOLE` for layers that see the entire input, or
None where no field applies (vector inputs, scrambling reshapes). Over
branches the field is the union of the fields of all paths. Starts are kept
doubled (input pixel 0 is centred at 1/2, so at 1) to stay whole numbers.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

from ..ir import Shape
from ..ops.base import ATTEND, DENSE, FLATTEN, GLOBAL, IDENTITY, MERGE, SOURCE, RFRule, Window, Windows3, exact

Number = int | Fraction


class Axis(NamedTuple):
    size: Number
    jump: Number
    start2: Number  # twice the centre of unit 0, in input pixels; input pixel 0 spans [0, 1)
    units: int  # length of the map along this axis
    extent: int  # length of the network input along this axis

    def lo2(self) -> Number:
        return self.start2 - self.size

    def hi2(self) -> Number:
        return self.start2 + 2 * (self.units - 1) * self.jump + self.size


_new = tuple.__new__  # builds a NamedTuple without its Python-level __new__: this runs for every layer


class Field(NamedTuple):
    """Per axis: H and W (for a 1-D map, H is its one axis and W a stand-in of extent 0), D for a volume."""

    h: Axis
    w: Axis
    flat: bool = False  # flattened into a vector: kept only to work out what fc sees
    d: Axis | None = None

    def axes(self) -> tuple[Axis, ...]:
        return (self.h, self.w) if self.d is None else (self.d, self.h, self.w)

    def with_axes(self, axes: list[Axis], flat: bool | None = None) -> Field:
        flat = self.flat if flat is None else flat
        return Field(axes[0], axes[1], flat) if len(axes) == 2 else Field(axes[1], axes[2], flat, axes[0])


ABSENT = Axis(1, 1, 1, 1, 0)  # the W of a 1-D map: extent 0 says there is no such axis


WHOLE = "whole"  # report.field_view knows this word
State = Field | str | None


def source(shape: Shape) -> State:
    sizes = shape.sizes
    if not sizes:
        return None
    axes = [Axis(1, 1, 1, n, n) for n in sizes]
    if len(axes) == 1:
        return Field(axes[0], ABSENT)
    if len(axes) == 2:
        return Field(axes[0], axes[1])
    return Field(axes[1], axes[2], False, axes[0])


def step(rule: RFRule, inputs: list[State], in_shapes: list[Shape], out: Shape, notes: list[str]) -> State:
    """The field of one layer from its rule and its inputs' fields."""
    first = inputs[0] if inputs else None
    if rule.__class__ is tuple:
        return windows(first, rule, out)
    if rule.__class__ is Windows3:
        return _windows3(first, rule, out)
    if rule == IDENTITY:
        return first
    if rule == SOURCE:
        return source(out)
    if rule == GLOBAL:
        return WHOLE if first is not None else None
    if rule == ATTEND:
        return WHOLE
    if rule == FLATTEN:
        return first._replace(flat=True) if isinstance(first, Field) else first
    if rule == DENSE:
        return _dense(first)
    if rule == MERGE:
        return _merge(inputs, in_shapes, out, notes)
    return None  # a reshape that scrambles positions


def windows(first: State, rule: tuple[Window, Window], out: Shape) -> State:
    """A sliding window (conv, pool...) along H and W: the commonest step, written out for speed."""
    if first.__class__ is not Field:
        return first
    (size, jump, start2, _, extent), (size_w, jump_w, start2_w, _, extent_w), _ = first  # type: ignore[misc]
    (span, stride, offset2), (span_w, stride_w, offset2_w) = rule
    h = _new(Axis, (size + span * jump, jump * stride, start2 + offset2 * jump, out.h, extent))
    w = _new(Axis, (size_w + span_w * jump_w, jump_w * stride_w, start2_w + offset2_w * jump_w, out.w or 1, extent_w))
    return _new(Field, (h, w, False, None))


def _windows3(first: State, rule: Windows3, out: Shape) -> State:
    if first.__class__ is not Field or first.d is None:  # type: ignore[union-attr]
        return first
    axes = [
        Axis(a.size + win.span * a.jump, a.jump * win.stride, a.start2 + win.offset2 * a.jump, units, a.extent)
        for a, win, units in zip(first.axes(), rule, out.sizes, strict=True)  # type: ignore[union-attr]
    ]
    return Field(axes[1], axes[2], False, axes[0])


def _half(value: Number) -> Number:
    if isinstance(value, int):
        return value >> 1 if value & 1 == 0 else Fraction(value, 2)
    return exact(value / 2)


def _dense(first: State) -> State:
    """Each fc output sees every position of the map it was flattened from."""
    if not isinstance(first, Field):
        return first
    axes = first.axes()
    if all(a.lo2() <= 0 and a.hi2() >= 2 * a.extent for a in axes if a.extent):
        return WHOLE
    return first.with_axes([_covered(a) if a.extent else a for a in axes], False)


def counted(inputs: list[State], in_shapes: list[Shape], out: Shape) -> list[State]:
    """The inputs of a merge whose fields count: all but gates broadcast over H x W.

    Only add and mul broadcast (a 1x1xC map or a vector over the whole map, as squeeze-and-excitation
    does); their global context is left out, as the conventions say. A concat's inputs all have the
    output's H and W, so every one counts, even when that H x W is 1x1.
    """
    return [
        state for state, shape in zip(inputs, in_shapes, strict=True) if state is not None and shape.sizes == out.sizes
    ]


def _merge(inputs: list[State], in_shapes: list[Shape], out: Shape, notes: list[str]) -> State:
    if out.spatial and any(
        state is None and shape.sizes == out.sizes for state, shape in zip(inputs, in_shapes, strict=True)
    ):
        return None  # a path whose positions were rearranged (windows put back in place): no one field applies
    fields: list[Field] = []
    for state in counted(inputs, in_shapes, out):
        if state == WHOLE:
            return WHOLE
        if state not in fields:
            fields.append(state)  # type: ignore[arg-type]
    if not fields:
        return None
    if len(fields) == 1:
        return fields[0]
    if any(len(f.axes()) != len(fields[0].axes()) for f in fields):
        return None  # maps of different ranks meet: no one field applies
    if fields[0].flat:  # flattened vectors: each counts as one unit that sees what its whole map saw
        fields = [f.with_axes([_covered(a) if a.extent else a for a in f.axes()], True) for f in fields]
    axes = [_union([f.axes()[i] for f in fields], notes) for i in range(len(fields[0].axes()))]
    return fields[0].with_axes(axes)


def _covered(a: Axis) -> Axis:
    return Axis(_half(a.hi2() - a.lo2()), a.jump, _half(a.lo2() + a.hi2()), 1, a.extent)


def _union(axes: list[Axis], notes: list[str]) -> Axis:
    jumps = sorted({a.jump for a in axes})
    if len(jumps) > 1 and axes[0].units > 1:  # along an axis of one unit the jump does not matter
        shown = ", ".join(f"{float(j):g}" for j in jumps)
        notes.append(f"branches arrive with different jumps ({shown}); the field uses the largest")
    lo2 = min([a.start2 - a.size for a in axes])
    hi2 = max([a.start2 + a.size for a in axes])
    return Axis(_half(hi2 - lo2), jumps[-1], _half(lo2 + hi2), axes[0].units, max([a.extent for a in axes]))
