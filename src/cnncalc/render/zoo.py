"""The zoo listing: every built-in model with its default input, params, MACs and source."""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass

from .text import human_count


@dataclass(frozen=True)
class ZooRow:
    name: str
    input: str
    params: int
    buffers: int
    macs: int
    summary: str
    source: str
    options: str


def render_zoo(rows: list[ZooRow], fmt: str = "table") -> str:
    if fmt == "json":
        return json.dumps([asdict(r) for r in rows], indent=2) + "\n"
    if fmt == "md":
        lines = [
            "# The zoo",
            "",
            f"{len(rows)} models, each at its default input: params are learnable parameters (batch-norm running "
            "statistics are buffers, apart); MACs are the multiply-accumulates of conv and fc layers at that input "
            "(inference: auxiliary heads left out). Any other input: `cnncalc show NAME --input HxWxC`. "
            "This page is `cnncalc zoo --format md`.",
            "",
            "| model | input | params | MACs | options | source |",
            "|---|---|---:|---:|---|---|",
        ]
        for r in rows:
            lines.append(
                f"| `{r.name}` | {r.input} | {r.params:,} | {r.macs:,} ({human_count(r.macs)}) | {r.options} "
                f"| {r.summary}; {r.source} |"
            )
        return "\n".join(lines) + "\n"
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"cnncalc zoo: {len(rows)} models", title_justify="left")
    table.add_column("model", no_wrap=True)
    table.add_column("input", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("MACs", justify="right", no_wrap=True)
    table.add_column("options", no_wrap=True)
    table.add_column("source")
    for r in rows:
        table.add_row(r.name, r.input, f"{r.params:,}", f"{r.macs:,}", r.options, r.source)
    buffer = io.StringIO()
    Console(file=buffer, width=200, no_color=True, highlight=False).print(table)
    return buffer.getvalue()
