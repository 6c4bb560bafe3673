"""A student's answers against the network: one verdict per cell, with the slip that explains a wrong one."""

from __future__ import annotations

import contextlib
import csv
import difflib
import io
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import CnnCalcError
from ..ir import Shape
from ..ops.base import shortened
from .diagnose import Diagnosis, Network, diagnose_cell, diagnose_total, figure_name

CELL_FIELDS = ("output_shape", "params", "weights", "biases", "macs")
TOTAL_FIELDS = ("params", "weights", "macs", "flops")
_EXTRA = "\0extra"  # the key under which a row keeps cells past the header


@dataclass
class Verdict:
    layer: str  # a layer's name, or "total"
    field: str
    claimed: Any  # an int, or an HxWxC text
    correct: Any
    ok: bool
    diagnoses: list[Diagnosis] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "field": self.field,
            "claimed": self.claimed,
            "correct": self.correct,
            "ok": self.ok,
            "diagnoses": [d.to_dict() for d in self.diagnoses],
        }


@dataclass
class Skipped:
    line: int
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "message": self.message}


def parse_number(text: str) -> int:
    """A whole number as students write it: 34,944 or 34 944 or 34_944 or 34944.0."""
    cleaned = re.sub(r"[\s,_']", "", text)
    if re.fullmatch(r"[+-]?[0-9]{1,100}(\.0*)?", cleaned):  # ASCII digits; 100 digits is past any figure
        return int(cleaned.split(".")[0])
    if re.fullmatch(r"[+-]?[0-9]+(\.0*)?", cleaned):
        raise ValueError(f"a number of {len(cleaned):,} digits: no figure has more than 100")
    raise ValueError(f"{shortened(text)!r} is not a whole number")


def parse_shape(text: str, layout: str) -> Shape:
    """55x55x96 (or 55 × 55 × 96, 55*55*96) in the report's layout, or N for a vector."""
    parts = [p for p in re.split(r"\s*[x×X*,]\s*", text.strip()) if p]
    try:
        values = [parse_number(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        return Shape(values[0])
    if len(values) == 3:
        if layout == "chw":
            return Shape(values[0], values[1], values[2])
        return Shape(values[2], values[0], values[1])
    example = "96x55x55" if layout == "chw" else "55x55x96"
    raise ValueError(f"{text!r} is not a shape: write it like {example} (or N for a vector)")


def read_table(text: str, source: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header (lower case) and each row with its line number; blank lines and # comments skipped."""
    lines = text.splitlines()
    kept = [(n, line) for n, line in enumerate(lines, start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not kept:
        raise CnnCalcError(f"{source}: the file is empty: start with a header line such as `layer,output_shape,params`")
    # The delimiter is the one the header uses most (csv.Sniffer is quadratic in its sample: a 240 KB line held
    # the server for minutes).
    header_line = kept[0][1][:10_000]
    delimiter = max(",;\t", key=lambda d: (header_line.count(d), d == ","))
    try:
        rows = list(csv.reader(io.StringIO("\n".join(line for _, line in kept)), delimiter=delimiter))
    except csv.Error as exc:
        raise CnnCalcError(f"{source}: not a readable CSV table ({exc})") from None
    header = [h.strip().lower() for h in rows[0]]
    out = []
    for (n, _), row in zip(kept[1:], rows[1:], strict=False):
        cells = {h: (row[k].strip() if k < len(row) else "") for k, h in enumerate(header)}
        if len(row) > len(header) and any(c.strip() for c in row[len(header) :]):
            cells[_EXTRA] = ",".join(row[len(header) :])
        out.append((n, cells))
    return header, out


def match_layer(net: Network, name: str) -> int:
    if name in net.index:
        return net.index[name]
    lowered = {k.lower(): v for k, v in net.index.items()}
    if name.lower() in lowered:
        return lowered[name.lower()]
    close = difflib.get_close_matches(name, list(net.index), n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else f"; its layers are {', '.join(list(net.index)[:12])}"
    raise ValueError(f"layer {name!r} is not in the network{hint}")


def correct_cell(net: Network, i: int, field: str) -> Any:
    fig = net.right[i]
    if field == "output_shape":
        return fig.output
    if field == "biases":
        return fig.biases if net.count_biases else 0
    return net.value(i, field)


def check_cell(net: Network, i: int, field: str, text: str, view: dict[str, tuple[Shape, str]]) -> Verdict:
    """One cell: right or wrong, and if wrong, why. Raises ValueError if the cell cannot be read."""
    name = net.nodes[i].name
    claimed: Any = parse_shape(text, net.layout) if field == "output_shape" else parse_number(text)
    correct = correct_cell(net, i, field)
    ok = claimed == correct
    diagnoses = [] if ok else diagnose_cell(net, i, field, claimed, view)
    show = net.shape_text if field == "output_shape" else (lambda v: v)
    return Verdict(name, field, show(claimed), show(correct), ok, diagnoses)


def check_total(net: Network, of: str, claimed: int) -> Verdict:
    right = net.total(of)
    ok = claimed == right
    return Verdict("total", of, claimed, right, ok, [] if ok else diagnose_total(net, of, claimed))


@dataclass
class Checked:
    verdicts: list[Verdict]
    skipped: list[Skipped]

    @property
    def ok(self) -> bool:
        return all(v.ok for v in self.verdicts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdicts": [v.to_dict() for v in self.verdicts],
            "ok": self.ok,
            "skipped": [s.to_dict() for s in self.skipped],
        }


def check_answers(net: Network, text: str, source: str) -> Checked:
    """A student's table: a `layer` column and any of output_shape, params, weights, biases, macs."""
    header, rows = read_table(text, source)
    if "layer" not in header:
        raise CnnCalcError(
            f"{source}:1: the header has no `layer` column (it has: {shortened(', '.join(header), 120)})"
        )
    fields = [h for h in header if h in CELL_FIELDS]
    unknown = [h for h in header if h not in CELL_FIELDS and h != "layer" and h]
    if not fields:
        raise CnnCalcError(
            f"{source}:1: the header names none of {', '.join(CELL_FIELDS)} "
            f"(it has: {shortened(', '.join(header), 120)})"
        )
    verdicts: list[Verdict] = []
    skipped = [Skipped(1, f"column {h!r} is not checked (known: {', '.join(CELL_FIELDS)})") for h in unknown]
    claimed_shapes: dict[str, Shape] = {}
    parsed: list[tuple[int, int, dict[str, str]]] = []
    for line, cells in rows:
        if _EXTRA in cells:
            skipped.append(Skipped(line, f"more cells than the header has columns: {cells[_EXTRA]!r} not read"))
        try:
            i = match_layer(net, cells.get("layer", ""))
        except ValueError as exc:
            skipped.append(Skipped(line, str(exc)))
            continue
        parsed.append((line, i, cells))
        shape_text = cells.get("output_shape", "")
        if shape_text:
            with contextlib.suppress(ValueError):  # reported when the cell itself is checked
                claimed_shapes[net.nodes[i].name] = parse_shape(shape_text, net.layout)
    view = net.student_view(claimed_shapes)
    for line, i, cells in parsed:
        for f in fields:
            if not cells.get(f):
                continue
            try:
                verdicts.append(check_cell(net, i, f, cells[f], view))
            except ValueError as exc:
                skipped.append(Skipped(line, f"{net.nodes[i].name}.{f}: {exc}"))
    return Checked(verdicts, sorted(skipped, key=lambda s: s.line))


__all__ = [
    "CELL_FIELDS",
    "TOTAL_FIELDS",
    "Checked",
    "Skipped",
    "Verdict",
    "check_answers",
    "check_cell",
    "check_total",
    "figure_name",
    "parse_number",
    "parse_shape",
    "read_table",
]
