"""The terminal table (rich)."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from ..report import Report
from .text import HEADERS, rows, summary_lines


def render_table(report: Report, *, width: int | None = None, color: bool = False) -> str:
    """The layer table, the totals row, then totals in words, conventions and warnings."""
    body, total = rows(report)
    table = Table(title=report.model, title_justify="left", show_footer=False)
    cells = [[*r.__dict__.values()] for r in [*body, total]]
    for i, header in enumerate(HEADERS):
        # Figures are never cut or wrapped: their columns are as wide as their widest cell.
        widest = max(len(row[i]) for row in cells)
        table.add_column(header, justify="right" if 3 <= i <= 7 else "left", no_wrap=True, min_width=widest)
    for r in body:
        table.add_row(r.name, r.op, r.shape, r.params, r.params_pct, r.macs, r.macs_pct, r.memory, r.rf)
    table.add_section()
    table.add_row(total.name, "", "", total.params, "", total.macs, "", total.memory, "", style="bold")
    buffer = io.StringIO()
    natural = Console(width=10_000).measure(table).maximum
    console = Console(file=buffer, width=width or natural, force_terminal=color, no_color=not color, highlight=False)
    console.print(table)
    for line in summary_lines(report):
        console.print(line, soft_wrap=True)
    if report.warnings:
        console.print()
        console.print(f"{len(report.warnings)} warning(s):", style="yellow")
        for w in report.warnings:
            console.print(f"  {w}", soft_wrap=True)
    return buffer.getvalue()
