"""The terminal table: one row per layer, a totals row, then totals in words, conventions and warnings."""

from __future__ import annotations

from ..report import Report
from .boxes import box_table
from .text import HEADERS, rows, summary_lines


def render_table(report: Report) -> str:
    body, total = rows(report)
    table = box_table(
        HEADERS,
        [tuple(r.__dict__.values()) for r in body],
        right={3, 4, 5, 6, 7},
        footer=[tuple(total.__dict__.values())],
        title=report.model,
    )
    lines = [table.rstrip("\n"), *summary_lines(report)]
    if report.warnings:
        lines += ["", f"{len(report.warnings)} warning(s):"]
        lines += [f"  {w}" for w in report.warnings]
    return "\n".join(lines) + "\n"
