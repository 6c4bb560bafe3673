"""A class file graded against one network: a score per student, and which slips the class made."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..errors import CnnCalcError
from ..ir import Shape
from ..ops.base import shortened
from .answers import (
    CELL_FIELDS,
    TOTAL_FIELDS,
    Skipped,
    Verdict,
    check_cell,
    check_total,
    match_layer,
    parse_number,
    parse_shape,
    read_table,
)
from .diagnose import Network


@dataclass
class StudentResult:
    student: str
    line: int
    verdicts: list[Verdict]

    @property
    def right(self) -> int:
        return sum(v.ok for v in self.verdicts)

    @property
    def score(self) -> float:
        return self.right / len(self.verdicts) if self.verdicts else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "line": self.line,
            "right": self.right,
            "answered": len(self.verdicts),
            "score": round(self.score, 4),
            "verdicts": [v.to_dict() for v in self.verdicts],
        }


@dataclass
class ClassResult:
    students: list[StudentResult]
    skipped: list[Skipped]
    of: str

    def mistakes(self) -> list[tuple[str, int]]:
        """Each slip (the first diagnosis of a wrong cell) with how many students made it."""
        counts: Counter[str] = Counter()
        for s in self.students:
            made = {v.diagnoses[0].mistake if v.diagnoses else "unexplained" for v in s.verdicts if not v.ok}
            counts.update(made)
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "students": [s.to_dict() for s in self.students],
            "mistakes": [{"mistake": m, "students": n} for m, n in self.mistakes()],
            "skipped": [s.to_dict() for s in self.skipped],
        }


def _column(name: str, of: str) -> tuple[str, str] | None:
    """(`total` or a layer name, field) for a column such as `total`, `total.macs` or `conv1.params`."""
    if name == "total":
        return "total", of
    head, dot, tail = name.rpartition(".")
    if not dot:
        return None
    if head == "total" and tail in TOTAL_FIELDS:
        return "total", tail
    if tail in CELL_FIELDS:
        return head, tail
    return None


def grade(net: Network, text: str, source: str, of: str = "params") -> ClassResult:
    """Grade a class file: a `student` column, then `total` (the figure `of`) and/or LAYER.FIELD columns."""
    header, rows = read_table(text, source)
    if "student" not in header:
        raise CnnCalcError(
            f"{source}:1: the header has no `student` column (it has: {shortened(', '.join(header), 120)})"
        )
    columns: dict[str, tuple[str, str]] = {}
    skipped: list[Skipped] = []
    for h in header:
        if h == "student" or not h:
            continue
        parsed = _column(h, of)
        if parsed is None:
            skipped.append(
                Skipped(
                    1,
                    f"column {h!r} is not graded: use total, total.FIGURE or LAYER.FIELD "
                    f"(FIELD one of {', '.join(CELL_FIELDS)})",
                )
            )
            continue
        layer, field = parsed
        if layer != "total":
            try:
                layer = net.nodes[match_layer(net, layer)].name
            except ValueError as exc:
                skipped.append(Skipped(1, f"column {h!r}: {exc}"))
                continue
        columns[h] = (layer, field)
    if not columns:
        raise CnnCalcError(f"{source}:1: no column to grade (it has: {shortened(', '.join(header), 120)})")
    students = []
    for line, cells in rows:
        name = cells.get("student", "")
        if not name:
            skipped.append(Skipped(line, "no student name: row skipped"))
            continue
        try:
            students.append(StudentResult(name, line, _grade_row(net, cells, columns)))
        except ValueError as exc:
            skipped.append(Skipped(line, f"{name}: {exc}: row skipped"))
    return ClassResult(students, sorted(skipped, key=lambda s: s.line), of)


def _grade_row(net: Network, cells: dict[str, str], columns: dict[str, tuple[str, str]]) -> list[Verdict]:
    """Every answered cell of one student; a cell that cannot be read rejects the row (it is reported, not guessed)."""
    claimed_shapes: dict[str, Shape] = {}
    for h, (layer, field) in columns.items():
        if field == "output_shape" and cells.get(h):
            claimed_shapes[layer] = parse_shape(cells[h], net.layout)
    view = net.student_view(claimed_shapes)
    verdicts = []
    for h, (layer, field) in columns.items():
        text = cells.get(h, "")
        if not text:
            continue
        try:
            if layer == "total":
                verdicts.append(check_total(net, field, parse_number(text)))
            else:
                verdicts.append(check_cell(net, net.index[layer], field, text, view))
        except ValueError as exc:
            raise ValueError(f"column {h}: {exc}") from None
    if not verdicts:
        raise ValueError("no answer in any graded column")
    return verdicts
