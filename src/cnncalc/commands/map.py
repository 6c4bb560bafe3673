"""`cnncalc map`: the input window of a unit, the units that see a pixel, or an image point carried onto a map."""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import click

from ..errors import CnnCalcError
from ..ir import MAX_SIZE
from ..ops.base import read_whole, shortened
from ._common import fail, layout_option, load_model


def _pair(text: str, option: str, *, whole: bool) -> tuple[Any, Any]:
    example = "4,8" if whole else "4,8 or 4.5,8"
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        if any(len(p) > 30 for p in parts):
            raise ValueError
        values = tuple(int(p) if whole else Fraction(p) for p in parts)
    except (ValueError, ZeroDivisionError):
        kind = "whole numbers" if whole else "numbers"
        raise CnnCalcError(
            f"{option} {shortened(text)}: expected two {kind} y,x (row, column), like {example}"
        ) from None
    return values  # type: ignore[return-value]


def _size(text: str, option: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    try:
        if len(parts) not in (1, 2):
            raise ValueError
        values = [read_whole(p) for p in parts]
    except ValueError:
        raise CnnCalcError(
            f"{option} {shortened(text)}: expected a size N or HxW, like 32 or 32x24, up to {MAX_SIZE:,}"
        ) from None
    if min(values) < 1:
        raise CnnCalcError(f"{option} {text}: a size must be at least 1")
    return (values[0], values[-1])


def _unit_text(model: Any, row: Any, win: Any) -> str:
    from ..teach.fields import fmt

    h, w = row.h, row.w
    lines = [
        f"{model.name}: {row.name} ({row.op}, {row.output.text()}), unit ({win.unit[0]}, {win.unit[1]})",
        f"field {fmt(h.size)}x{fmt(w.size)} pixels, jump {_two(h.jump, w.jump)}, effective padding "
        f"{_two(h.padding, w.padding)}: unit u sees u*jump - P .. u*jump - P + size - 1",
    ]
    for axis, (word, extent) in ((win.rows, ("rows", win.input_hw[0])), (win.cols, ("columns", win.input_hw[1]))):
        lines.append(f"{word:<8}{axis.first}..{axis.last}: {axis.working}")
        lines.append(" " * 8 + _clip(axis, word, extent))
    lines.append(f"centre  ({fmt(win.rows.centre)}, {fmt(win.cols.centre)}) (row, column; pixel i is centred at i)")
    if win.share:
        lines.append(f"padding share of the window: {float(win.share) * 100:.1f}% of its area lies outside the input")
    else:
        lines.append("the whole window lies inside the input")
    if not (h.exact and w.exact):
        lines.append(
            "note: the field is not on whole pixels (upsampled): units read windows of different sizes; this is "
            "the widest, centred on the unit"
        )
    return "\n".join(lines) + "\n"


def _two(h: Any, w: Any) -> str:
    from ..teach.fields import fmt

    return fmt(h) if h == w else f"{fmt(h)}x{fmt(w)}"


def _clip(axis: Any, word: str, extent: int) -> str:
    from ..teach.fields import fmt

    if not axis.before and not axis.after:
        return f"all inside the input's {extent} {word} (0..{extent - 1})"
    parts = []
    if axis.before:
        parts.append(f"{fmt(axis.before)} before {word[:-1]} 0")
    if axis.after:
        parts.append(f"{fmt(axis.after)} past {word[:-1]} {extent - 1}")
    lo, hi = max(axis.first, 0), min(axis.last, extent - 1)
    inside = f"inside: {lo}..{hi}" if lo <= hi else "nothing inside the input"
    return f"clipped to the input, {inside}; in padding: {' and '.join(parts)}"


def _pixel_text(model: Any, row: Any, found: Any) -> str:
    lines = [f"{model.name}: units of {row.name} ({row.output.text()}) whose field holds input pixel "
             f"({found.pixel[0]}, {found.pixel[1]})"]  # fmt: skip
    for axis, word in ((found.rows, "rows"), (found.cols, "columns")):
        got = f"{axis.first}..{axis.last}" if axis.first is not None else "none"
        lines.append(f"{word:<8}{got}: {axis.working}")
    if found.count:
        r, c = found.rows, found.cols
        lines.append(f"that is {r.last - r.first + 1} x {c.last - c.first + 1} = {found.count} of the "
                     f"{found.map_hw[0]}x{found.map_hw[1]} units")  # fmt: skip
    else:
        lines.append("no unit of this layer sees that pixel (the windows step over it)")
    return "\n".join(lines) + "\n"


def _by_field(row: Any, mapped: Any) -> str:
    """The layer's own geometry: unit u is centred at input c0 + u*jump (pixel i centred at i)."""
    from ..teach.fields import fmt

    parts = []
    for a, p, name in ((row.h, mapped.y.point, "y"), (row.w, mapped.x.point, "x")):
        c0 = a.centre - Fraction(1, 2)
        parts.append(f"{name}' = ({fmt(p)} - {fmt(c0)})/{fmt(a.jump)} = {fmt((p - c0) / a.jump)}")
    return f"by {row.name}'s receptive field (unit u centred at input c0 + u*jump): " + ", ".join(parts)


@click.command(name="map")
@click.argument("spec", required=False)
@click.argument("options", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--layer", metavar="NAME", help="the layer whose units (or map) to use")
@click.option("--unit", metavar="Y,X", help="the input window unit (Y, X) of --layer sees")
@click.option("--pixel", metavar="Y,X", help="the units of --layer whose field holds input pixel (Y, X)")
@click.option("--point", metavar="Y,X", help="an image point to carry onto the map (with --image/--fmap, or --layer)")
@click.option("--image", metavar="N|HxW", help="image size, for --point without SPEC")
@click.option("--fmap", metavar="N|HxW", help="feature-map size, for --point without SPEC")
@click.option("--convention", type=click.Choice(("scale", "half-pixel", "align-corners")), default=None,
              help="how --point is carried onto the map [default: scale]")  # fmt: skip
@click.option("--align-corners", is_flag=True, help="same as --convention align-corners")
@click.option("--input", "input_", metavar="HxWxC", help="replace the input shape")
@layout_option("how --input writes shapes: H x W x C, or C x H x W as PyTorch does")
@click.option("--format", "fmt_", type=click.Choice(("text", "json")), default="text", show_default=True)
def command(
    spec: str | None,
    options: tuple[str, ...],
    layer: str | None,
    unit: str | None,
    pixel: str | None,
    point: str | None,
    image: str | None,
    fmap: str | None,
    convention: str | None,
    align_corners: bool,
    input_: str | None,
    layout: str,
    fmt_: str,
) -> None:
    """Map between input pixels and the units of a layer, or carry an image point onto a feature map.

    \b
    cnncalc map SPEC --layer L --unit Y,X     the input window unit (Y, X) sees, clipped part stated, and its centre
    cnncalc map SPEC --layer L --pixel Y,X    the units of L whose field holds input pixel (Y, X)
    cnncalc map --image 32 --fmap 10 --point 4,8
                                              the point on the map, its nearest and its four bilinear neighbours
    """
    try:
        text, data = _run(
            spec, options, layer, unit, pixel, point, image, fmap, convention, align_corners, input_, layout
        )
    except CnnCalcError as exc:
        fail(str(exc))
        return
    click.echo(json.dumps(data, indent=2) if fmt_ == "json" else text, nl=fmt_ == "json")


def _run(
    spec: str | None, options: tuple[str, ...], layer: str | None, unit: str | None, pixel: str | None,
    point: str | None, image: str | None, fmap: str | None, convention: str | None, align_corners: bool,
    input_: str | None, layout: str = "hwc",
) -> tuple[str, dict[str, Any]]:  # fmt: skip
    from ..teach.coords import map_point, unit_window, units_seeing
    from ..teach.fields import layer_field

    chosen = [name for name, value in (("--unit", unit), ("--pixel", pixel), ("--point", point)) if value]
    if len(chosen) != 1:
        raise CnnCalcError("give one of --unit Y,X, --pixel Y,X or --point Y,X" +
                           (f", not {' and '.join(chosen)}" if chosen else ""))  # fmt: skip
    if align_corners and convention not in (None, "align-corners"):
        raise CnnCalcError(f"--align-corners and --convention {convention} disagree: give one")
    convention = "align-corners" if align_corners else (convention or "scale")
    if (convention != "scale" or align_corners) and not point:
        raise CnnCalcError("--convention and --align-corners apply to --point only")
    if spec is None:
        if not point:
            raise CnnCalcError(f"{chosen[0]} needs a network: cnncalc map SPEC --layer NAME {chosen[0]} Y,X")
        if layer or input_ or options:
            raise CnnCalcError("--layer and --input need a network (SPEC)")
        if not image or not fmap:
            raise CnnCalcError("--point without SPEC needs --image N and --fmap N, e.g. --image 32 --fmap 10")
        mapped = map_point(_size(image, "--image"), _size(fmap, "--fmap"), _pair(point, "--point", whole=False),
                           convention)  # fmt: skip
        title = (f"image {mapped.y.image}x{mapped.x.image} -> feature map {mapped.y.fmap}x{mapped.x.fmap}, "
                 f"point ({point})")  # fmt: skip
        return title + "\n" + "\n".join(mapped.lines()) + "\n", mapped.to_dict()
    if image or fmap:
        raise CnnCalcError("--image and --fmap are for --point without SPEC; with SPEC they come from the network")
    if not layer:
        raise CnnCalcError(f"{chosen[0]} needs --layer NAME: the layer whose units to map")
    model = load_model(spec, options, input_, layout=layout)
    row = layer_field(model, layer)
    if row.kind == "global":
        message = (f"{model.name}: every unit of {row.name} ({row.output.text()}) sees the whole input "
                   f"(after global pooling or a layer over every position): no window applies")  # fmt: skip
        if point:
            raise CnnCalcError(message)
        return message + "\n", {"layer": row.name, "global": True}
    if point:
        if row.output.h is None:
            raise CnnCalcError(f"{row.name} is a vector: --point needs a layer with a feature map")
        shape = model.report.inputs[0][1]
        if len(model.report.inputs) != 1 or shape.h is None:
            raise CnnCalcError("--point with SPEC needs a network with one image input")
        mapped = map_point((shape.h, shape.w), (row.output.h, row.output.w),
                           _pair(point, "--point", whole=False), convention)  # fmt: skip
        title = f"{model.name}: input {shape.h}x{shape.w} -> {row.name} {row.output.h}x{row.output.w}, point ({point})"
        lines = mapped.lines()
        if row.h is not None and row.w is not None:
            lines.append(_by_field(row, mapped))
        return title + "\n" + "\n".join(lines) + "\n", {"layer": row.name, **mapped.to_dict()}
    if unit:
        win = unit_window(row, _pair(unit, "--unit", whole=True))
        return _unit_text(model, row, win), win.to_dict()
    found = units_seeing(row, _pair(pixel or "", "--pixel", whole=True))
    return _pixel_text(model, row, found), found.to_dict()
