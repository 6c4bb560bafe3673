"""Receptive fields you can trust: per layer size, jump, effective padding and the window of unit 0.

Read from the receptive-field pass (passes/rf.py), which keeps per axis the field's size, its jump (the
input distance between neighbouring units) and the centre of unit 0, input pixel 0 spanning [0, 1).
Effective padding is google-research/receptive_field's: the field of unit u covers input pixels
u*jump - P .. u*jump - P + size - 1, so P = size/2 - centre. Pixels below 0 or past the input are
padding (or, for a field larger than the input, nothing at all).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil, floor
from typing import Any

from ..errors import CnnCalcError
from ..ir import Shape
from ..passes import rf as rfpass

Number = int | Fraction

CONVENTIONS = [
    "size: rows (columns) of input one unit sees; jump: input pixels between neighbouring units (effective stride)",
    "padding: effective padding P (google-research/receptive_field): unit u sees input pixels u*jump - P .. "
    "u*jump - P + size - 1, so unit 0 starts at -P",
    "unit (0,0) sees: its first..last input row (and column when they differ); rows below 0 or past the input "
    "are padding",
    "in padding: rows (columns) of unit (0,0)'s window outside the input, and that share of the window's area",
    "after a transposed conv or upsampling, neighbouring units read windows of different sizes: the field is the "
    "widest, shown as [lo, hi) in input pixels (pixel i spans [i, i+1)) when it is off whole pixels",
    "branches: the field is the union over all paths (the largest); misaligned paths are noted; a 1x1 gate "
    "broadcast by add/mul (squeeze-and-excitation) adds global context not counted in it",
]


def num(value: Number) -> int | float:
    """A figure for JSON: an int when whole."""
    if isinstance(value, Fraction) and value.denominator != 1:
        return float(value)
    return int(value)


def fmt(value: Number) -> str:
    """An exact figure as text: 3, 1.5, 0.25; a repeating fraction as ~0.3333."""
    if type(value) is int:
        return str(value)
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d == 1:
        return f"{float(value):.10f}".rstrip("0")
    return f"~{float(value):.4f}"


@dataclass(frozen=True)
class AxisField:
    """The field along one axis (H or W), in input pixels."""

    size: Number
    jump: Number
    centre: Number  # centre of unit 0; input pixel 0 spans [0, 1) (cnncalc show's `start`)
    units: int  # length of the layer's map along this axis
    extent: int  # length of the input along this axis

    def _once(self, key: str, make: Callable[[], Any]) -> Any:
        """A figure of unit 0 worked out once: a table row asks for it several times, and Fraction arithmetic is
        most of `rf`'s time."""
        if key not in self.__dict__:
            object.__setattr__(self, key, make())
        return self.__dict__[key]

    @property
    def padding(self) -> Fraction:
        """Effective padding P = size/2 - centre: unit 0's field begins at -P."""
        return self._once("_padding", lambda: Fraction(self.size) / 2 - self.centre)  # type: ignore[no-any-return]

    def lo(self, unit: int = 0) -> Fraction:
        if unit == 0:
            return self._once("_lo0", lambda: self.centre - Fraction(self.size) / 2)  # type: ignore[no-any-return]
        return self.centre + unit * Fraction(self.jump) - Fraction(self.size) / 2

    def hi(self, unit: int = 0) -> Fraction:
        if unit == 0:
            return self._once("_hi0", lambda: self.lo() + self.size)  # type: ignore[no-any-return]
        return self.lo(unit) + self.size

    def pixels(self, unit: int = 0) -> tuple[int, int]:
        """First and last input pixel of the unit's window (may be negative or past the input: padding)."""
        return floor(self.lo(unit)), ceil(self.hi(unit)) - 1

    def outside(self, unit: int = 0) -> tuple[Fraction, Fraction]:
        """How much of the unit's window lies before pixel 0 and after the last pixel."""
        if unit == 0:
            return self._once("_outside0", lambda: self._outside(0))  # type: ignore[no-any-return]
        return self._outside(unit)

    def _outside(self, unit: int) -> tuple[Fraction, Fraction]:
        size = Fraction(self.size)
        before = min(max(-self.lo(unit), Fraction(0)), size)
        after = min(max(self.hi(unit) - self.extent, Fraction(0)), size)
        return before, after

    def inside(self, unit: int = 0) -> Fraction:
        if unit == 0:
            return self._once("_inside0", lambda: self._inside(0))  # type: ignore[no-any-return]
        return self._inside(unit)

    def _inside(self, unit: int) -> Fraction:
        before, after = self.outside(unit)
        return max(Fraction(self.size) - before - after, Fraction(0))

    def units_seeing(self, pixel: int) -> tuple[int, int] | None:
        """The units whose window holds input pixel `pixel` whole: lo(u) <= pixel and pixel + 1 <= hi(u)."""
        jump = Fraction(self.jump)
        first = max(0, ceil((pixel + 1 - self.hi(0)) / jump))
        last = min(self.units - 1, floor((pixel - self.lo(0)) / jump))
        return (first, last) if first <= last else None

    @property
    def exact(self) -> bool:
        """Whole-pixel windows (every conv and pool stack): the integer formulas apply."""
        return all(Fraction(v).denominator == 1 for v in (self.size, self.jump, self.lo()))

    def to_dict(self) -> dict[str, Any]:
        first, last = self.pixels()
        before, after = self.outside()
        return {
            "size": num(self.size),
            "jump": num(self.jump),
            "effective_padding": num(self.padding),
            "start": num(self.centre),
            "first_pixel": first,
            "last_pixel": last,
            "padding_before": num(before),
            "padding_after": num(after),
            "units": self.units,
            "input": self.extent,
        }


@dataclass
class FieldRow:
    """One layer: `kind` is "local" (a field), "global" (sees the whole input), "flat" or "none"."""

    name: str
    op: str
    output: Shape
    kind: str
    h: AxisField | None = None
    w: AxisField | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def padding_share(self) -> Fraction | None:
        """The share of unit (0,0)'s window area that lies outside the input."""
        if self.h is None or self.w is None:
            return None
        return 1 - (self.h.inside() * self.w.inside()) / (Fraction(self.h.size) * Fraction(self.w.size))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "op": self.op,
            "output_shape": self.output.dims(),
            "field": self.kind,
        }
        if self.h is not None and self.w is not None:
            out["h"] = self.h.to_dict()
            out["w"] = self.w.to_dict()
            out["padding_share"] = float(self.padding_share or 0)
        out["notes"] = list(self.notes)
        return out


def _axis(a: rfpass.Axis) -> AxisField:
    # The W of a 1-D map is a stand-in of extent 0: shown as the one column it is.
    return AxisField(a.size, a.jump, Fraction(a.start2) / 2, a.units, a.extent or 1)


def field_rows(model: Any) -> list[FieldRow]:
    """Every layer of a loaded model (cnncalc.load) with its field, window and notes."""
    by_name = {x.name: x for x in model.layers}
    axes: dict[Any, AxisField] = {}  # a norm or activation keeps its input's field: one AxisField serves both rows

    def axis(a: rfpass.Axis) -> AxisField:
        key = (a.size, a.jump, a.start2, a.units, a.extent)
        if key not in axes:
            axes[key] = _axis(a)
        return axes[key]

    rows = []
    for x in model.layers:
        state = x.field
        # A note is made where the field changes, not repeated down a run of activations and norms.
        changed = not x.inputs or by_name[x.inputs[0]].field != state
        if state == rfpass.WHOLE:
            row = FieldRow(x.name, x.op, x.output, "global", notes=["sees the whole input"] if changed else [])
        elif state is None:
            row = FieldRow(x.name, x.op, x.output, "none", notes=["no spatial field (a vector)"] if changed else [])
        elif state.flat:
            row = FieldRow(x.name, x.op, x.output, "flat", notes=["flattened: positions become features"])
        else:
            row = FieldRow(x.name, x.op, x.output, "local", axis(state.h), axis(state.w))
            if changed:
                row.notes += _size_notes(row)
        if len(x.inputs) > 1:
            row.notes += _merge_notes(x, [by_name[i] for i in x.inputs])
        rows.append(row)
    return rows


def _size_notes(row: FieldRow) -> list[str]:
    notes = []
    h, w = row.h, row.w
    assert h is not None and w is not None
    same = (h.size, h.extent) == (w.size, w.extent)
    for a, what in ((h, "rows" if not same else "rows and columns"), (w, "columns")):
        if a.size > a.extent:
            notes.append(
                f"field {fmt(a.size)} > input {a.extent}: at least {fmt(a.size - a.extent)} of every unit's "
                f"{fmt(a.size)} {what} fall in padding"
            )
        if same:
            break
    if not (h.exact and w.exact):
        notes.append("off whole pixels (upsampled): window shown as [lo, hi), the widest any unit reads")
    return notes


def _merge_notes(layer: Any, inputs: list[Any]) -> list[str]:
    """Say where the paths into a merge are misaligned (different jumps or centres) and what is left out."""
    out = layer.output
    notes = []
    kept = []
    for x in inputs:
        if x.field is None:
            continue
        if x.output.sizes != out.sizes and out.spatial and all(n == 1 for n in x.output.sizes):
            over = "x".join(map(str, out.sizes))
            notes.append(f"{x.name} is a gate broadcast over {over}: its global context is not counted")
        elif x.field != rfpass.WHOLE and not x.field.flat:
            kept.append(x)
    if len(kept) < 2:
        return notes
    square = all(x.field.h[:3] == x.field.w[:3] for x in kept)  # the same field along H and W
    for axis, word in ((0, "" if square else " (rows)"), (1, " (columns)")):
        fields = [(x.name, _axis(x.field[axis])) for x in kept]
        if len({a.jump for _, a in fields}) > 1 and fields[0][1].units > 1:  # one unit: the jump does not matter
            listed = ", ".join(f"{n} {fmt(a.jump)}" for n, a in fields)
            notes.append(f"paths misaligned{word}: jumps differ ({listed}); the field uses the largest")
        if len({a.centre for _, a in fields}) > 1:
            listed = ", ".join(f"{n} {_span(*a.pixels())}" for n, a in fields)
            lo = min(a.pixels()[0] for _, a in fields)
            hi = max(a.pixels()[1] for _, a in fields)
            notes.append(
                f"paths misaligned{word}: unit 0 is centred differently ({listed}); the field is their union, "
                f"{_span(lo, hi)}"
            )
        if square:
            break
    return notes


def _span(first: int, last: int) -> str:
    return f"{first}..{last}"


def find_layer(model: Any, name: str) -> Any:
    """The layer named `name`, or an error that suggests close names."""
    for x in model.layers:
        if x.name == name:
            return x
    close = difflib.get_close_matches(name, [x.name for x in model.layers], n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise CnnCalcError(f"no layer named {name!r} in {model.name}{hint}")


def layer_field(model: Any, name: str) -> FieldRow:
    layer = find_layer(model, name)
    for row in field_rows(model):
        if row.name == layer.name:
            return row
    raise AssertionError("unreachable")


def plot_fields(model: Any, rows: list[FieldRow], path: str) -> None:
    """Field size and jump (log scale) against depth, the input size as a line; global layers shaded."""
    try:
        import matplotlib
    except ImportError:
        raise CnnCalcError(
            "--plot needs matplotlib, an optional extra of cnncalc: pip install 'cnncalc[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    local = [(i, r) for i, r in enumerate(rows) if r.h is not None and r.w is not None]
    if not local:
        raise CnnCalcError(f"{model.name} has no layer with a spatial field to plot")
    fig, ax = plt.subplots(figsize=(max(6.0, min(0.25 * len(rows), 14.0)), 4.5))
    xs = [i for i, _ in local]
    ax.plot(xs, [float(r.h.size) for _, r in local], marker="o", ms=3, label="field size (H)")  # type: ignore[union-attr]
    if any(r.h.size != r.w.size for _, r in local):  # type: ignore[union-attr]
        ax.plot(xs, [float(r.w.size) for _, r in local], marker="o", ms=3, label="field size (W)")  # type: ignore[union-attr]
    ax.plot(xs, [float(r.h.jump) for _, r in local], marker="s", ms=3, label="jump (H)")  # type: ignore[union-attr]
    extent = local[0][1].h.extent  # type: ignore[union-attr]
    ax.axhline(extent, color="grey", ls="--", lw=1, label=f"input size {extent}")
    whole = [i for i, r in enumerate(rows) if r.kind == "global"]
    if whole:
        ax.axvspan(whole[0] - 0.5, len(rows) - 0.5, color="grey", alpha=0.15, label="sees the whole input")
    ax.set_yscale("log", base=2)
    ax.set_xlabel("layer (depth)")
    ax.set_ylabel("input pixels")
    ax.set_title(f"{model.name}: receptive field and jump")
    if len(rows) <= 60:
        ax.set_xticks(range(len(rows)), [r.name for r in rows], rotation=90, fontsize=7)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=120)
    except (OSError, ValueError) as exc:
        raise CnnCalcError(f"{path}: cannot write the plot: {exc}") from None
    finally:
        plt.close(fig)
