"""Coordinates: which input pixels a unit sees, which units see a pixel, and where an image point lands on a map.

Pixels are indexed from 0 with pixel i centred at i. A unit's window comes from its layer's receptive field
(teach/fields.py). A point is carried onto a feature map by one of three conventions:

- scale: y' = y * fmap / image, as course exercises do (32/10 = 3.2, so 4 -> 1.25): pixel corners aligned;
- half-pixel: y' = (y + 1/2) * fmap / image - 1/2, pixel centres aligned (PyTorch align_corners=False);
- align-corners: y' = y * (fmap - 1) / (image - 1), the corner pixels aligned (align_corners=True).

Bilinear interpolation then reads the four neighbours (y0, x0), (y1, x0), (y0, x1), (y1, x1), y0 = floor(y'),
y1 = y0 + 1, with weights (1 - dy)(1 - dx), dy(1 - dx), (1 - dy)dx, dy*dx where dy = y' - y0; a coordinate
is clamped into the map as PyTorch clamps it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import ceil, floor
from typing import Any

from ..errors import CnnCalcError
from .fields import AxisField, FieldRow, fmt, num

CONVENTIONS = ("scale", "half-pixel", "align-corners")
CONVENTION_TEXT = {
    "scale": "scale: y' = y * fmap/image (pixel corners aligned, no half-pixel shift; as course exercises work it)",
    "half-pixel": "half-pixel: y' = (y + 0.5) * fmap/image - 0.5 (pixel centres aligned; PyTorch "
    "align_corners=False, OpenCV)",
    "align-corners": "align-corners: y' = y * (fmap - 1)/(image - 1) (corner pixels aligned; PyTorch "
    "align_corners=True)",
}


# ----------------------------------------------------------------------------- windows of units


@dataclass
class AxisWindow:
    """One axis of a unit's window: first..last input pixel, and how much of it is padding."""

    unit: int
    first: int
    last: int
    before: Fraction  # pixels before pixel 0
    after: Fraction  # pixels past the input
    centre: Fraction  # pixel i centred at i
    working: str  # the arithmetic, written out

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "first": self.first, "last": self.last, "padding_before": num(self.before),
                "padding_after": num(self.after), "centre": num(self.centre)}  # fmt: skip


def _check_unit(name: str, a: AxisField, unit: int, word: str) -> None:
    if not 0 <= unit < a.units:
        raise CnnCalcError(f"unit {word} {unit} is outside {name}'s map: its {word}s run 0..{a.units - 1}")


def axis_window(a: AxisField, unit: int) -> AxisWindow:
    lo, hi = a.lo(unit), a.hi(unit)
    first, last = a.pixels(unit)
    before, after = a.outside(unit)
    centre = (lo + hi) / 2 - Fraction(1, 2)
    if a.exact:
        working = (
            f"{unit}*{fmt(a.jump)} - {fmt(a.padding)} = {first} .. {first} + {fmt(a.size)} - 1 = {last}; "
            f"centre ({first} + {last})/2 = {fmt(centre)}"
        )
    else:
        working = f"[{fmt(lo)}, {fmt(hi)}) with pixel i spanning [i, i+1): pixels {first}..{last}"
    return AxisWindow(unit, first, last, before, after, centre, working)


@dataclass
class UnitWindow:
    layer: str
    unit: tuple[int, int]
    rows: AxisWindow
    cols: AxisWindow
    input_hw: tuple[int, int]
    share: Fraction  # share of the window's area in padding

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "unit": list(self.unit), "rows": self.rows.to_dict(),
                "columns": self.cols.to_dict(), "input": list(self.input_hw),
                "padding_share": float(self.share)}  # fmt: skip


def unit_window(row: FieldRow, unit: tuple[int, int]) -> UnitWindow:
    """The input window unit (y, x) of a layer sees."""
    h, w = _local(row)
    _check_unit(row.name, h, unit[0], "row")
    _check_unit(row.name, w, unit[1], "column")
    inside = h.inside(unit[0]) * w.inside(unit[1])
    share = 1 - inside / (Fraction(h.size) * Fraction(w.size))
    return UnitWindow(row.name, unit, axis_window(h, unit[0]), axis_window(w, unit[1]), (h.extent, w.extent), share)


@dataclass
class AxisUnits:
    pixel: int
    first: int | None  # None: no unit sees the pixel
    last: int | None
    working: str

    def to_dict(self) -> dict[str, Any]:
        return {"pixel": self.pixel, "first": self.first, "last": self.last}


def axis_units(a: AxisField, pixel: int, word: str) -> AxisUnits:
    if not 0 <= pixel < a.extent:
        raise CnnCalcError(f"pixel {word} {pixel} is outside the input: its {word}s run 0..{a.extent - 1}")
    found = a.units_seeing(pixel)
    if a.exact:
        # Unit u sees u*J - P .. u*J - P + R - 1, so it holds pixel p when (p + P - R + 1)/J <= u <= (p + P)/J.
        low = Fraction(pixel + a.padding - a.size + 1) / a.jump
        high = Fraction(pixel + a.padding) / a.jump
        working = (
            f"({pixel} + {fmt(a.padding)} - {fmt(a.size)} + 1)/{fmt(a.jump)} = {fmt(low)} <= u <= "
            f"({pixel} + {fmt(a.padding)})/{fmt(a.jump)} = {fmt(high)}; "
            f"u from max(0, ceil({fmt(low)})) = {max(0, ceil(low))} to min({a.units - 1}, floor({fmt(high)})) = "
            f"{min(a.units - 1, floor(high))}"
        )
    else:
        working = (
            f"units whose window [centre - {fmt(Fraction(a.size) / 2)}, centre + ...) holds [{pixel}, {pixel + 1})"
        )
    if found is None:
        return AxisUnits(pixel, None, None, working)
    return AxisUnits(pixel, found[0], found[1], working)


@dataclass
class PixelUnits:
    layer: str
    pixel: tuple[int, int]
    rows: AxisUnits
    cols: AxisUnits
    map_hw: tuple[int, int]

    @property
    def count(self) -> int:
        if self.rows.first is None or self.cols.first is None:
            return 0
        return (self.rows.last - self.rows.first + 1) * (self.cols.last - self.cols.first + 1)  # type: ignore[operator]

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "pixel": list(self.pixel), "rows": self.rows.to_dict(),
                "columns": self.cols.to_dict(), "units": self.count, "map": list(self.map_hw)}  # fmt: skip


def units_seeing(row: FieldRow, pixel: tuple[int, int]) -> PixelUnits:
    """The units of a layer whose field holds input pixel (y, x), as a range of rows and of columns."""
    h, w = _local(row)
    return PixelUnits(row.name, pixel, axis_units(h, pixel[0], "row"), axis_units(w, pixel[1], "column"),
                      (h.units, w.units))  # fmt: skip


def _local(row: FieldRow) -> tuple[AxisField, AxisField]:
    if row.h is None or row.w is None:
        what = {"flat": "is a flattened vector", "none": "has no spatial field (a vector)"}.get(row.kind, "")
        raise CnnCalcError(f"{row.name} {what}: pick a layer with a feature map")
    return row.h, row.w


# ----------------------------------------------------------------------------- a point onto a map


@dataclass
class AxisPoint:
    image: int
    fmap: int
    point: Fraction
    mapped: Fraction  # before clamping
    coord: Fraction  # clamped into [0, fmap - 1]
    low: int
    high: int
    frac: Fraction  # coord - low: the weight of `high`
    nearest: int
    lines: list[str] = field(default_factory=list)


def _axis_point(image: int, fmap: int, point: Fraction, convention: str, name: str, word: str) -> AxisPoint:
    if not 0 <= point <= image - 1:
        raise CnnCalcError(f"point {word} {fmt(point)} is outside the image: its {word}s run 0..{image - 1}")
    scale = Fraction(image, fmap)
    lines = []
    if convention == "scale":
        mapped = point / scale
        lines.append(f"{name}' = {name} / S = {fmt(point)} / {fmt(scale)} = {fmt(mapped)}")
    elif convention == "half-pixel":
        mapped = (point + Fraction(1, 2)) / scale - Fraction(1, 2)
        lines.append(f"{name}' = ({name} + 0.5) / S - 0.5 = ({fmt(point)} + 0.5) / {fmt(scale)} - 0.5 = {fmt(mapped)}")
    else:
        if image == 1 or fmap == 1:
            mapped = Fraction(0)
            lines.append(f"{name}' = 0 (a map of one {word} or an image of one {word}: align_corners maps to 0)")
        else:
            mapped = point * Fraction(fmap - 1, image - 1)
            lines.append(
                f"{name}' = {name} * (fmap - 1)/(image - 1) = {fmt(point)} * {fmap - 1}/{image - 1} = {fmt(mapped)}"
            )
    coord = min(max(mapped, Fraction(0)), Fraction(fmap - 1))
    if coord != mapped:
        lines.append(f"{fmt(mapped)} is outside the map's {word}s 0..{fmap - 1}: clamped to {fmt(coord)} (as PyTorch)")
    low = floor(coord)
    high = min(low + 1, fmap - 1)
    frac = coord - low
    nearest = min(floor(coord + Fraction(1, 2)), fmap - 1)
    return AxisPoint(image, fmap, point, mapped, coord, low, high, frac, nearest, lines)


@dataclass
class PointMap:
    convention: str
    y: AxisPoint
    x: AxisPoint

    @property
    def neighbours(self) -> list[tuple[tuple[int, int], Fraction]]:
        """The four bilinear neighbours with their weights, in the notes' order (y0,x0), (y1,x0), (y0,x1), (y1,x1)."""
        y, x = self.y, self.x
        return [
            ((y.low, x.low), (1 - y.frac) * (1 - x.frac)),
            ((y.high, x.low), y.frac * (1 - x.frac)),
            ((y.low, x.high), (1 - y.frac) * x.frac),
            ((y.high, x.high), y.frac * x.frac),
        ]

    @property
    def weights(self) -> dict[tuple[int, int], Fraction]:
        """The weight of each map pixel (neighbours that clamping made equal are summed)."""
        out: dict[tuple[int, int], Fraction] = {}
        for where, weight in self.neighbours:
            out[where] = out.get(where, Fraction(0)) + weight
        return out

    @property
    def nearest(self) -> tuple[int, int]:
        return self.y.nearest, self.x.nearest

    @property
    def floor_nearest(self) -> tuple[int, int]:
        """PyTorch's F.interpolate(mode="nearest"): floor(y * fmap/image), not the closest pixel."""
        return min(floor(self.y.point * self.y.fmap / self.y.image), self.y.fmap - 1), min(
            floor(self.x.point * self.x.fmap / self.x.image), self.x.fmap - 1
        )

    def lines(self) -> list[str]:
        """The working, as course exercises write it."""
        y, x = self.y, self.x
        out = [f"convention: {CONVENTION_TEXT[self.convention]}"]
        if self.convention == "align-corners":
            pass  # no S: the ratio is written in the mapping itself
        elif y.image * x.fmap == x.image * y.fmap:
            out.append(f"S = image / fmap = {y.image} / {y.fmap} = {fmt(Fraction(y.image, y.fmap))}")
        else:
            rows = f"rows {y.image} / {y.fmap} = {fmt(Fraction(y.image, y.fmap))}"
            cols = f"columns {x.image} / {x.fmap} = {fmt(Fraction(x.image, x.fmap))}"
            out.append(f"S = image / fmap: {rows}, {cols} (each axis its own S)")
        out.append(f"point (y, x) = ({fmt(y.point)}, {fmt(x.point)})")
        out += y.lines + x.lines
        out.append(f"on the map: ({fmt(y.coord)}, {fmt(x.coord)})")
        ties = [fmt(a.coord) for a in (y, x) if a.coord - floor(a.coord) == Fraction(1, 2)]
        tie = f" ({' and '.join(ties)} halfway: rounded up)" if ties else ""
        out.append(f"nearest neighbour: (round({fmt(y.coord)}), round({fmt(x.coord)})) = {_pt(self.nearest)}{tie}")
        if self.convention == "scale":
            out.append(f"  (PyTorch's F.interpolate mode='nearest' takes floor(y * fmap/image) instead: "
                       f"{_pt(self.floor_nearest)})")  # fmt: skip
        elif self.convention == "half-pixel":
            out.append("  (the pixel PyTorch's F.interpolate mode='nearest-exact' reads)")
        dy, dx = y.frac, x.frac
        out.append(
            f"bilinear: y0 = {y.low}, y1 = {_next(y)}, dy = {fmt(y.coord)} - {y.low} = {fmt(dy)}; "
            f"x0 = {x.low}, x1 = {_next(x)}, dx = {fmt(x.coord)} - {x.low} = {fmt(dx)}"
        )
        yc, xc = fmt(y.coord), fmt(x.coord)
        f = _f
        out.append(f"  f({yc}, {x.low}) = {fmt(1 - dy)} {f(y.low, x.low)} + {fmt(dy)} {f(y.high, x.low)}")
        out.append(f"  f({yc}, {x.high}) = {fmt(1 - dy)} {f(y.low, x.high)} + {fmt(dy)} {f(y.high, x.high)}")
        out.append(f"  f({yc}, {xc}) = {fmt(1 - dx)} f({yc}, {x.low}) + {fmt(dx)} f({yc}, {x.high})")
        terms = " + ".join(f"{fmt(wt)} {f(*where)}" for where, wt in self.neighbours)
        out.append(f"             = {terms}")
        weights = "   ".join(f"{_pt(where)} {fmt(wt)}" for where, wt in self.neighbours)
        out.append(f"weights: {weights}   (sum {fmt(sum(wt for _, wt in self.neighbours))})")
        return out

    def to_dict(self) -> dict[str, Any]:
        y, x = self.y, self.x
        return {
            "convention": self.convention,
            "image": [y.image, x.image],
            "fmap": [y.fmap, x.fmap],
            "point": [num(y.point), num(x.point)],
            "mapped": [num(y.mapped), num(x.mapped)],
            "on_map": [num(y.coord), num(x.coord)],
            "nearest": list(self.nearest),
            "bilinear": [{"row": r, "col": c, "weight": float(wt)} for (r, c), wt in self.neighbours],
            "formula": self.lines(),
        }


def _next(a: AxisPoint) -> str:
    if a.high == a.low + 1:
        return str(a.high)
    return f"min({a.low} + 1, {a.fmap - 1}) = {a.high} (the last one: clamped, as PyTorch does)"


def _pt(where: tuple[int, int]) -> str:
    return f"({where[0]}, {where[1]})"


def _f(r: int, c: int) -> str:
    return f"f({r}, {c})"


def map_point(
    image: tuple[int, int], fmap: tuple[int, int], point: tuple[Fraction, Fraction], convention: str = "scale"
) -> PointMap:
    """Carry an image point (y, x) onto a feature map: its coordinate, nearest neighbour and bilinear weights."""
    if convention not in CONVENTIONS:
        raise CnnCalcError(f"convention {convention!r}: use {', '.join(CONVENTIONS)}")
    for what, (h, w) in (("image", image), ("feature map", fmap)):
        if h < 1 or w < 1:
            raise CnnCalcError(f"the {what} size must be at least 1x1, got {h}x{w}")
    return PointMap(
        convention,
        _axis_point(image[0], fmap[0], Fraction(point[0]), convention, "y", "row"),
        _axis_point(image[1], fmap[1], Fraction(point[1]), convention, "x", "column"),
    )
