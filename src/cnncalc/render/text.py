"""Plain-text renderers: JSON, CSV and Markdown, and the row model they share with the table."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from ..report import Report


def human_bytes(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def human_count(n: int) -> str:
    for unit, size in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if part and whole else ""


@dataclass(frozen=True)
class Row:
    """One display row: the columns of the terminal table and the Markdown table."""

    name: str
    op: str
    shape: str
    params: str
    params_pct: str
    macs: str
    macs_pct: str
    memory: str
    rf: str


HEADERS = ("layer", "op", "output", "params", "%", "MACs", "%", "memory", "RF size/jump")


def rows(report: Report) -> tuple[list[Row], Row]:
    """Layer rows and the totals row."""
    t = report.totals
    layout = report.settings.layout
    body = [
        Row(
            x.name + (" *" if x.aux else ""),
            x.op,
            x.output.text(layout),
            f"{x.params:,}" if x.params else "",
            percent(x.params, t.params),
            "?" if x.macs is None else f"{x.macs:,}" if x.macs else "",
            percent(x.macs or 0, t.macs),
            human_bytes(x.activation_bytes),
            x.rf.text() if x.rf else "",
        )
        for x in report.layers
    ]
    total = Row("total", "", "", f"{t.params:,}", "", f"{t.macs:,}", "", human_bytes(t.activation_bytes), "")
    return body, total


def summary_lines(report: Report) -> list[str]:
    """The totals in words, then the conventions they follow."""
    t = report.totals
    kinds = report.buffer_kinds
    buffers = f"buffers {t.buffers:,}"
    if kinds["other_buffers"]:
        buffers += f" = running statistics {kinds['running_statistics']:,} + other buffers {kinds['other_buffers']:,}"
    elif t.buffers:
        buffers += " (running statistics)"
    if kinds["fixed_tables"]:
        buffers += (
            f"; fixed tables {kinds['fixed_tables']:,} values (made at construction: index tables, coordinates, "
            "filters), in neither count"
        )
    lines = [
        f"params {t.params:,} ({human_count(t.params)}) = weights {t.weights:,} + biases {t.biases:,}; {buffers}",
        f"MACs {t.macs:,} ({human_count(t.macs)}); FLOPs {t.flops:,} ({human_count(t.flops)})",
        f"activations {t.activation_bytes:,} bytes ({human_bytes(t.activation_bytes)})",
    ]
    unknown = report.unknown_macs
    if unknown:
        shown = ", ".join(unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        lines.append(f"? MACs unknown for {len(unknown)} layer(s) ({shown}): the MACs total leaves them out")
    aux = report.training_only
    if aux:
        lines.append(
            f"* training only ({aux['layers']} layers of auxiliary classifiers): their {aux['params']:,} params are "
            f"in the total; their {aux['macs']:,} MACs are not in the inference MACs"
        )
    return lines + report.settings.conventions()


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2) + "\n"


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    layout = report.settings.layout
    writer.writerow(
        ["name", "op", "inputs", "output_shape", "params", "weights", "biases", "buffers", "macs",
         "activation_bytes", "rf_size", "rf_jump", "rf_start", "rf_size_w", "rf_jump_w", "rf_start_w", "warnings"]
    )  # fmt: skip
    for x in report.layers:
        rf = x.rf.to_dict() if x.rf else None
        if rf and rf.get("global"):
            field = ["global", "", "", "", "", ""]
        elif rf:
            field = [rf["size"], rf["jump"], rf["start"]]
            field += [rf.get("size_w", rf["size"]), rf.get("jump_w", rf["jump"]), rf.get("start_w", rf["start"])]
        else:
            field = [""] * 6
        writer.writerow(
            [x.name, x.op, ";".join(x.inputs), "x".join(map(str, x.output.dims(layout))), x.params, x.weights,
             x.biases, x.buffers, x.macs, x.activation_bytes, *field, " | ".join(x.warnings)]
        )  # fmt: skip
    t = report.totals
    writer.writerow(
        ["total", "", "", "", t.params, t.weights, t.biases, t.buffers, t.macs, t.activation_bytes] + [""] * 7
    )
    return out.getvalue()


def render_markdown(report: Report) -> str:
    body, total = rows(report)
    right = {3, 4, 5, 6, 7}
    lines = [
        f"### {report.model}",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(HEADERS))) + "|",
    ]
    for r in [*body, total]:
        cells = [f"`{r.name}`" if r is not total else "**total**", r.op, r.shape, r.params, r.params_pct, r.macs,
                 r.macs_pct, r.memory, r.rf]  # fmt: skip
        if r is total:
            cells[3], cells[5] = f"**{r.params}**", f"**{r.macs}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.extend(f"- {line}" for line in summary_lines(report))
    if report.warnings:
        lines += ["", "**Warnings**", ""]
        lines.extend(f"- `{w.split(':', 1)[0]}`:{w.split(':', 1)[1]}" for w in report.warnings)
    return "\n".join(lines) + "\n"
