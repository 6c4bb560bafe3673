"""The zoo listing: every built-in model with its default input, params, MACs and source."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import asdict, astuple, dataclass, fields

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


def render_zoo(rows: list[ZooRow], fmt: str = "table", width: int | None = None) -> str:
    """The listing as a table fitted to `width` (the terminal's by default), or whole as md, csv or json."""
    if fmt == "json":
        return json.dumps([asdict(r) for r in rows], indent=2) + "\n"
    if fmt == "md":
        lines = [
            "# The zoo",
            "",
            f"{len(rows)} models, each at its default input: params are learnable parameters (buffers, such as "
            "batch-norm running statistics, apart); MACs are the multiply-accumulates of conv and fc layers at that "
            "input (inference: auxiliary heads left out). Any other input: `cnncalc show NAME --input HxWxC`. "
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
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([f.name for f in fields(ZooRow)])
        writer.writerows(astuple(r) for r in rows)
        return out.getvalue()
    return _fitted_table(rows, width or shutil.get_terminal_size((100, 24)).columns)


def _fitted_table(rows: list[ZooRow], width: int) -> str:
    """The listing as wide as the terminal: the model's description (with its options) cut to the room left, MACs
    rounded (714.19M) when exact ones leave too little; the whole text is in --format md, csv or json."""
    room = 0
    for macs in ([f"{r.macs:,}" for r in rows], [human_count(r.macs) for r in rows]):
        fixed = [
            ("model", [r.name for r in rows]),
            ("input", [r.input for r in rows]),
            ("params", [f"{r.params:,}" for r in rows]),
            ("MACs", macs),
        ]
        room = width - sum(max(len(h), *map(len, cells)) + 3 for h, cells in fixed) - 4
        if room >= 24:
            break
    headers = [h for h, _ in fixed]
    columns = [cells for _, cells in fixed]
    if room >= 12:
        about = [r.summary + (f" [options: {r.options}]" if r.options else "") for r in rows]
        headers.append("what it is")
        columns.append([a if len(a) <= room else a[: room - 1] + "…" for a in about])
    table = box_table(headers, list(zip(*columns, strict=True)), right={2, 3}, title=f"cnncalc zoo: {len(rows)} models")
    return table + "whole descriptions and sources: cnncalc zoo --format md (or csv, json)\n"
