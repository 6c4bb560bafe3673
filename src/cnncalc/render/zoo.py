"""The zoo listing: every built-in model with its default input, params, MACs and source."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from .boxes import box_table
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
    table = box_table(
        ("model", "input", "params", "MACs", "options", "source"),
        [(r.name, r.input, f"{r.params:,}", f"{r.macs:,}", r.options, r.source) for r in rows],
        right={2, 3},
        title=f"cnncalc zoo: {len(rows)} models",
    )
    return table
