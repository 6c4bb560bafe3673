"""Verdicts on a student's answers and a class's grades, as text, Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from ..teach.answers import Checked, Verdict
from ..teach.grade import ClassResult


def _value(v: Any) -> str:
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _cell(v: Verdict) -> str:
    return f"total {v.field}" if v.layer == "total" else f"{v.layer}.{v.field}"


def verdict_lines(v: Verdict, md: bool = False) -> list[str]:
    """One verdict: the mark, the claimed and right figures, then each diagnosis with what it gives."""
    mark = "right" if v.ok else "wrong"
    head = f"{_cell(v)}: {_value(v.claimed)} is {mark}"
    if not v.ok:
        head += f"; the right figure is {_value(v.correct)}"
    if md:
        head = f"- **{_cell(v)}**: {_value(v.claimed)} is **{mark}**" + (
            f"; the right figure is {_value(v.correct)}" if not v.ok else ""
        )
    lines = [head]
    if not v.ok:
        if not v.diagnoses:
            lines.append(("  - " if md else "    ") + "no slip in the catalogue gives this figure")
        for d in v.diagnoses:
            lines.append(("  - " if md else "    ") + f"{d.mistake}: {d.explanation} (gives {_value(d.gives)})")
    return lines


def render_checked(checked: Checked, fmt: str, convention: str) -> str:
    if fmt == "json":
        return json.dumps({**checked.to_dict(), "convention": convention}, indent=2) + "\n"
    md = fmt == "md"
    right = sum(v.ok for v in checked.verdicts)
    lines = [f"{'# ' if md else ''}{right} of {len(checked.verdicts)} answers right ({convention})", ""]
    for v in checked.verdicts:
        lines += verdict_lines(v, md)
    if checked.skipped:
        lines += ["", "Not checked:"] + [f"{'- ' if md else '    '}line {s.line}: {s.message}" for s in checked.skipped]
    return "\n".join(lines) + "\n"


def spreadsheet_safe(cell: str) -> str:
    """A text cell a spreadsheet will not run as a formula: one starting with =, +, -, @, a tab or a CR gets a
    leading ' (OWASP's advice on CSV injection)."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@", "\t", "\r") else cell


def render_grades(result: ClassResult, fmt: str, convention: str) -> str:
    if fmt == "json":
        return json.dumps({**result.to_dict(), "convention": convention}, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["student", "right", "answered", "score", "wrong cells", "diagnoses"])
        for s in result.students:
            wrong = [v for v in s.verdicts if not v.ok]
            w.writerow([
                spreadsheet_safe(s.student), s.right, len(s.verdicts), f"{s.score:.2f}",
                "; ".join(f"{_cell(v)}={_value(v.claimed)} (right {_value(v.correct)})" for v in wrong),
                "; ".join(v.diagnoses[0].mistake if v.diagnoses else "unexplained" for v in wrong),
            ])  # fmt: skip
        return buf.getvalue()
    md = fmt == "md"
    lines: list[str] = []
    if md:
        lines += [f"# Grades ({convention})", "", "| student | score | right | wrong cells | diagnosis |",
                  "|---|---:|---:|---|---|"]  # fmt: skip
    else:
        lines += [f"Grades ({convention})", ""]
    for s in result.students:
        wrong = [v for v in s.verdicts if not v.ok]
        cells = ", ".join(f"{_cell(v)} {_value(v.claimed)} (right {_value(v.correct)})" for v in wrong) or "-"
        why = "; ".join(
            f"{_cell(v)}: {v.diagnoses[0].mistake} ({v.diagnoses[0].explanation})" if v.diagnoses
            else f"{_cell(v)}: unexplained" for v in wrong
        ) or "-"  # fmt: skip
        if md:
            lines.append(f"| {s.student} | {s.score:.0%} | {s.right}/{len(s.verdicts)} | {cells} | {why} |")
        else:
            lines.append(f"{s.student}: {s.score:.0%} ({s.right}/{len(s.verdicts)} right)")
            for v in wrong:
                lines += ["    " + x for x in verdict_lines(v)]
    mistakes = result.mistakes()
    lines += ["", "## Mistakes in the class" if md else "Mistakes in the class:"]
    if md and mistakes:
        lines += ["", "| mistake | students |", "|---|---:|"] + [f"| {m} | {n} |" for m, n in mistakes]
    else:
        lines += [f"    {m}: {n}" for m, n in mistakes] or ["    none"]
    if result.skipped:
        lines += ["", "## Skipped" if md else "Skipped:"]
        lines += [f"{'- ' if md else '    '}line {s.line}: {s.message}" for s in result.skipped]
    return "\n".join(lines) + "\n"
