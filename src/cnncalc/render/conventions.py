"""The FLOP-tool comparison: totals (and, on request, every layer) under each tool's convention, side by side."""

from __future__ import annotations

import json
import textwrap

from ..passes.conventions import ASSUMPTIONS, ConventionReport
from .boxes import box_table
from .text import human_count

FORMATS = ("table", "md", "json")
LEGEND_WIDTH = 120  # the sentences under the terminal table are wrapped to this width


def render_conventions(report: ConventionReport, per_layer: bool = False, fmt: str = "table") -> str:
    """`fmt` is table (box drawing), md or json; `per_layer` adds a row per layer with a column per convention."""
    if fmt == "json":
        return json.dumps(report.to_dict(per_layer=per_layer), indent=2) + "\n"
    if fmt == "md":
        return _markdown(report, per_layer)
    if fmt == "table":
        return _table(report, per_layer)
    raise ValueError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")


def _cell(value: int | None) -> str:
    """A layer's figure: ? when unknown, blank for 0 (as the layer table shows MACs)."""
    return "?" if value is None else f"{value:,}" if value else ""


def _total(report: ConventionReport, i: int) -> str:
    return f"{report.totals[i]:,}" + (" + ?" if report.unknown[i] else "")


def _ratio(report: ConventionReport, i: int) -> str:
    macs = report.totals[0]
    return f"{report.totals[i] / macs:.3f}" if macs else ""


def _title(report: ConventionReport) -> str:
    return f"{report.model}: one network, {len(report.conventions)} ways to count it"


def _notes(report: ConventionReport) -> list[str]:
    lines = [ASSUMPTIONS]
    unknown = {name for names in report.unknown for name in names}
    if unknown:
        shown = ", ".join(sorted(unknown)[:5]) + (", ..." if len(unknown) > 5 else "")
        lines.append(f"? unknown for {len(unknown)} layer(s) ({shown}): left out of every total")
    if any(row.aux for row in report.layers):
        lines.append("* training only (auxiliary classifier): not in the totals, as an eval forward pass skips it")
    params = report.params
    if any(p != params[0] for p in params):
        differ = ", ".join(
            f"{c.title} {p:,}" for c, p in zip(report.conventions, params, strict=True) if p != params[0]
        )
        lines.append(f"params: {params[0]:,} (PyTorch's numel), but {differ}")
    return lines


def _table(report: ConventionReport, per_layer: bool) -> str:
    conventions = report.conventions
    if per_layer:
        headers = ("layer", "op", *(c.title for c in conventions))
        body = [
            (row.name + (" *" if row.aux else ""), row.op, *(_cell(v) for v in row.values)) for row in report.layers
        ]
        footer = [("total", "", *(_total(report, i) for i in range(len(conventions))))]
        table = box_table(headers, body, right=set(range(2, len(headers))), footer=footer, title=_title(report)).rstrip(
            "\n"
        )
    else:
        rows = [
            (c.title, c.unit, _total(report, i), human_count(report.totals[i]), _ratio(report, i))
            for i, c in enumerate(conventions)
        ]
        table = box_table(
            ("convention", "unit", "total", "", "x MACs"), rows, right={2, 3, 4}, title=_title(report)
        ).rstrip("\n")
    width = max(len(c.title) for c in conventions) + 2
    legend = [
        textwrap.fill(f"{c.title.ljust(width)}{c.counts} [{c.source}]", LEGEND_WIDTH, subsequent_indent=" " * width)
        for c in conventions
    ]
    notes = [textwrap.fill(note, LEGEND_WIDTH, subsequent_indent="  ") for note in _notes(report)]
    return "\n".join([table, "", *legend, "", *notes]) + "\n"


def _markdown(report: ConventionReport, per_layer: bool) -> str:
    conventions = report.conventions
    lines = [f"### {_title(report)}", ""]
    if per_layer:
        headers = ["layer", "op", *(c.title for c in conventions)]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|---|---|" + "---:|" * len(conventions))
        for row in report.layers:
            name = f"`{row.name}`" + (" \\*" if row.aux else "")
            lines.append("| " + " | ".join([name, row.op, *(_cell(v) for v in row.values)]) + " |")
        totals = [f"**{_total(report, i)}**" for i in range(len(conventions))]
        lines.append("| " + " | ".join(["**total**", "", *totals]) + " |")
        lines.append("")
        lines.extend(f"- **{c.title}** ({c.unit}): {c.counts} ({c.source})" for c in conventions)
    else:
        lines.append("| convention | unit | total | | x MACs | what it counts |")
        lines.append("|---|---|---:|---:|---:|---|")
        for i, c in enumerate(conventions):
            lines.append(
                f"| {c.title} | {c.unit} | {_total(report, i)} | {human_count(report.totals[i])} | "
                f"{_ratio(report, i)} | {c.counts} ({c.source}) |"
            )
        lines.append("")
    lines.extend(f"- {note}" for note in _notes(report))
    return "\n".join(lines) + "\n"
