"""Receptive field, carried layer by layer along H and W.

State per layer: a `Field` (size, jump, start along each axis, plus how many
units the map has and how wide the input was), `WHOLE` for layers that see
the entire input, or None where no field applies (vector inputs, scrambling
reshapes). Over branches the field is the union of the fields of all paths.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from ..ir import Shape
from ..ops.base import DENSE, FLATTEN, GLOBAL, IDENTITY, MERGE, SOURCE, RFRule, Window
from ..report import AxisField, ReceptiveField


@dataclass(frozen=True)
class Axis:
    size: Fraction
    jump: Fraction
    start: Fraction  # centre of unit 0, in input pixels; input pixel 0 spans [0, 1)
    units: int  # length of the map along this axis
    extent: int  # length of the network input along this axis

    def lo(self) -> Fraction:
        return self.start - self.size / 2

    def hi(self) -> Fraction:
        return self.start + (self.units - 1) * self.jump + self.size / 2

    def through(self, w: Window, units: int) -> Axis:
        return Axis(
            size=self.size + w.span * self.jump,
            jump=self.jump * w.stride,
            start=self.start + w.offset * self.jump,
            units=units,
            extent=self.extent,
        )


@dataclass(frozen=True)
class Field:
    h: Axis
    w: Axis
    flat: bool = False  # flattened into a vector: kept only to work out what fc sees


WHOLE = "whole"
State = Field | str | None


def source(shape: Shape) -> State:
    if not shape.spatial:
        return None
    assert shape.h is not None and shape.w is not None
    one = Fraction(1)
    return Field(Axis(one, one, Fraction(1, 2), shape.h, shape.h), Axis(one, one, Fraction(1, 2), shape.w, shape.w))


def step(rule: RFRule, inputs: list[State], in_shapes: list[Shape], out: Shape, notes: list[str]) -> State:
    """The field of one layer from its rule and its inputs' fields."""
    first = inputs[0] if inputs else None
    if rule == SOURCE:
        return source(out)
    if rule == GLOBAL:
        return WHOLE if first is not None else None
    if rule == IDENTITY:
        return first
    if rule == FLATTEN:
        return replace(first, flat=True) if isinstance(first, Field) else first
    if rule == DENSE:
        return _dense(first)
    if rule == MERGE:
        return _merge(inputs, in_shapes, out, notes)
    if isinstance(rule, tuple):
        if not isinstance(first, Field):
            return first
        assert out.h is not None and out.w is not None
        return Field(first.h.through(rule[0], out.h), first.w.through(rule[1], out.w))
    return None  # a reshape that scrambles positions


def _dense(first: State) -> State:
    """Each fc output sees every position of the map it was flattened from."""
    if not isinstance(first, Field):
        return first
    axes = []
    for a in (first.h, first.w):
        lo, hi = a.lo(), a.hi()
        axes.append((lo, hi, a))
    if all(lo <= 0 and hi >= a.extent for lo, hi, a in axes):
        return WHOLE
    (hl, hh, ha), (wl, wh, wa) = axes
    return Field(
        Axis(hh - hl, ha.jump, (hl + hh) / 2, 1, ha.extent),
        Axis(wh - wl, wa.jump, (wl + wh) / 2, 1, wa.extent),
    )


def _merge(inputs: list[State], in_shapes: list[Shape], out: Shape, notes: list[str]) -> State:
    fields: list[Field] = []
    for state, shape in zip(inputs, in_shapes, strict=True):
        broadcast = shape != out and (not shape.spatial or (shape.h, shape.w) == (1, 1))
        if broadcast:
            if state is not None:
                notes.append(
                    "a 1x1 input is broadcast over the map; the global context it carries is not "
                    "counted in the receptive field shown"
                )
            continue
        if state == WHOLE:
            return WHOLE
        if isinstance(state, Field):
            fields.append(state)
    if not fields:
        return None
    if len(fields) == 1:
        return fields[0]
    return Field(*(_union([f.h if i == 0 else f.w for f in fields], notes) for i in (0, 1)))


def _union(axes: list[Axis], notes: list[str]) -> Axis:
    jumps = sorted({a.jump for a in axes})
    if len(jumps) > 1:
        shown = ", ".join(f"{float(j):g}" for j in jumps)
        notes.append(f"branches arrive with different jumps ({shown}); the field uses the largest")
    lo = min(a.start - a.size / 2 for a in axes)
    hi = max(a.start + a.size / 2 for a in axes)
    return Axis(hi - lo, jumps[-1], (lo + hi) / 2, axes[0].units, max(a.extent for a in axes))


def view(state: State) -> ReceptiveField | None:
    if state == WHOLE:
        return ReceptiveField(whole=True)
    if not isinstance(state, Field) or state.flat:
        return None
    return ReceptiveField(
        AxisField(state.h.size, state.h.jump, state.h.start), AxisField(state.w.size, state.w.jump, state.w.start)
    )
