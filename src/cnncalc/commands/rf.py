"""`cnncalc rf SPEC`: the receptive field layer by layer (size, jump, effective padding, unit 0's window)."""

from __future__ import annotations

import csv
import io
import json
from fractions import Fraction
from typing import Any

import click

from ..errors import CnnCalcError
from ._common import fail, layout_option, load_model

HEADERS = ("layer", "op", "output", "size", "jump", "padding", "unit (0,0) sees", "in padding", "notes")


def _pair(h: Any, w: Any) -> str:
    from ..teach.fields import fmt

    return fmt(h) if h == w else f"{fmt(h)}x{fmt(w)}"


def cells(row: Any, layout: str = "hwc") -> list[str]:
    """The table cells of one FieldRow."""
    from ..teach.fields import fmt

    out = [row.name, row.op, row.output.text(layout)]
    if row.kind == "global":
        return [*out, "whole input", "", "", "", "", "; ".join(row.notes)]
    if row.h is None or row.w is None:
        return [*out, "", "", "", "", "", "; ".join(row.notes)]
    h, w = row.h, row.w
    window_h, window_w = _window(h), _window(w)
    window = window_h if window_h == window_w else f"{window_h} x {window_w}"
    outside_h, outside_w = sum(h.outside()), sum(w.outside())
    if outside_h == outside_w == 0:
        share = "0"
    else:
        part_h, part_w = f"{fmt(outside_h)}/{fmt(h.size)}", f"{fmt(outside_w)}/{fmt(w.size)}"
        share = (part_h if part_h == part_w else f"{part_h} x {part_w}") + f" ({_percent(row.padding_share)})"
    return [
        *out,
        _pair(h.size, w.size),
        _pair(h.jump, w.jump),
        _pair(h.padding, w.padding),
        window,
        share,
        "; ".join(row.notes),
    ]


def _window(a: Any) -> str:
    """Unit 0's pixels first..last; off whole pixels (after upsampling), its extent [lo, hi) in input pixels."""
    from ..teach.fields import fmt

    if a.exact:
        return "..".join(map(str, a.pixels()))
    return f"[{fmt(a.lo())}, {fmt(a.hi())})"


def _percent(share: Fraction | None) -> str:
    value = float(share or 0) * 100
    return f"{value:.0f}%" if value >= 1 or value == 0 else f"{value:.1g}%"


def _title(model: Any, layout: str = "hwc") -> str:
    shapes = ", ".join(f"{name} {shape.text(layout)}" if len(model.report.inputs) > 1 else shape.text(layout)
                       for name, shape in model.report.inputs)  # fmt: skip
    return f"{model.name}: receptive fields on a {shapes} input"


def render(model: Any, rows: list[Any], fmt_: str, layout: str = "hwc") -> str:
    """The rows as a table, Markdown, JSON or CSV; the table and Markdown write shapes in `layout`'s order (JSON and
    CSV keep H x W x C, as the report does)."""
    from ..render.boxes import box_table
    from ..teach.fields import CONVENTIONS

    if fmt_ == "json":
        inputs = [{"name": n, "shape": s.dims()} for n, s in model.report.inputs]
        data = {"model": model.name, "inputs": inputs, "conventions": CONVENTIONS,
                "layers": [r.to_dict() for r in rows]}  # fmt: skip
        return json.dumps(data, indent=2) + "\n"
    if fmt_ == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        axis_keys = ("size", "jump", "effective_padding", "first_pixel", "last_pixel", "padding_before",
                     "padding_after")  # fmt: skip
        writer.writerow(["name", "op", "output_shape", "field", *(f"{k}_{a}" for a in "hw" for k in axis_keys),
                         "padding_share", "notes"])  # fmt: skip
        for r in rows:
            d = r.to_dict()
            values = [d[a][k] for a in "hw" for k in axis_keys] if "h" in d else [""] * (2 * len(axis_keys))
            share = f"{d['padding_share']:.4f}" if "h" in d else ""
            writer.writerow([r.name, r.op, "x".join(map(str, d["output_shape"])), r.kind, *values, share,
                             " | ".join(r.notes)])  # fmt: skip
        return out.getvalue()
    body = [cells(r, layout) for r in rows]
    if fmt_ == "md":
        lines = [f"### {_title(model, layout)}", "", "| " + " | ".join(HEADERS) + " |",
                 "|" + "|".join("---:" if i in (3, 4, 5) else "---" for i in range(len(HEADERS))) + "|"]  # fmt: skip
        lines += ["| " + " | ".join([f"`{c[0]}`", *c[1:]]) + " |" for c in body]
        lines += ["", *(f"- {c}" for c in CONVENTIONS)]
        return "\n".join(lines) + "\n"
    table = box_table(HEADERS, body, right={3, 4, 5}, title=_title(model, layout))
    local = [r for r in rows if r.h is not None and r.w is not None]
    widest = max(local, key=lambda r: r.h.size * r.w.size, default=None)
    summary = []
    if widest is not None and widest.h is not None and widest.w is not None:
        summary.append(
            f"largest local field: {widest.name}, {_pair(widest.h.size, widest.w.size)} pixels, jump "
            f"{_pair(widest.h.jump, widest.w.jump)}, on a {widest.h.extent}x{widest.w.extent} input"
        )
    first = next((r for r in rows if r.kind == "global"), None)
    if first is not None:
        summary.append(f"first layer that sees the whole input: {first.name} (global layers get no size: none applies)")
    return table + "\n".join([*summary, *CONVENTIONS]) + "\n"


@click.command(name="rf")
@click.argument("spec")
@click.argument("options", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--format", "fmt_", type=click.Choice(("table", "md", "json", "csv")), default="table",
              show_default=True)  # fmt: skip
@click.option("--input", "input_", metavar="HxWxC", help="replace the input shape (name=HxWxC for one of several)")
@layout_option()
@click.option("--plot", metavar="FILE.png", help="draw field size and jump against depth (needs cnncalc[plot])")
def command(spec: str, options: tuple[str, ...], fmt_: str, input_: str | None, layout: str, plot: str | None) -> None:
    """The receptive field of SPEC layer by layer: a spec file, - for standard input, or a zoo name.

    Size, jump (effective stride), effective padding, the input pixels unit (0,0) sees and how much
    of them is padding, with notes on misaligned branches, global layers and fields larger than the input.
    """
    from ..teach.fields import field_rows, plot_fields

    try:
        model = load_model(spec, options, input_, layout=layout)
        rows = field_rows(model)
        if plot:
            plot_fields(model, rows, plot)
    except CnnCalcError as exc:
        fail(str(exc))
        return
    click.echo(render(model, rows, fmt_, layout), nl=False)
    if plot:
        click.echo(f"wrote {plot}", err=True)
