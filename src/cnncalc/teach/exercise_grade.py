"""Grading a class file against an exercise key: each student against their own variant.

Network answers (shapes, params, MACs) go through `teach.answers`, which names the slip behind a wrong figure; the
receptive field, point-mapping and matrix answers are numbers compared with the key's, with the slips the key lists.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from ..errors import CnnCalcError
from .answers import Skipped, Verdict, check_cell, check_total, parse_number, parse_shape, read_table
from .course import matches
from .diagnose import Diagnosis, Network
from .exercise import KEY_FORMAT, KEY_VERSION, Question
from .grade import ClassResult, StudentResult


def is_key(text: str) -> bool:
    """Whether a file's text is an exercise key (JSON with our format tag), not a network."""
    head = text.lstrip()[:200]
    return head.startswith("{") and KEY_FORMAT in head


def read_key(text: str, source: str) -> dict[str, Any]:
    try:
        key = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CnnCalcError(f"{source}:{exc.lineno}: not a readable exercise key: {exc.msg}") from None
    if not isinstance(key, dict) or key.get("format") != KEY_FORMAT:
        raise CnnCalcError(f"{source}: not an exercise key (made by `cnncalc exercise`)")
    if key.get("version") != KEY_VERSION:
        raise CnnCalcError(f"{source}: key version {key.get('version')!r}; this cnncalc reads version {KEY_VERSION}")
    if not key.get("variants"):
        raise CnnCalcError(f"{source}: the key has no variant")
    return key


def _numbers(text: str) -> list[str]:
    """The numbers of a cell: `13`, `0.375`, `4x6`, `3 6 18 3`, `[1.2; -0.5]`."""
    parts = [p for p in re.split(r"[\s,;x×X()\[\]]+", text.strip()) if p]
    try:
        [float(p) for p in parts]
    except ValueError:
        raise ValueError(f"{text!r} is not a number or a list of numbers") from None
    if not parts:
        raise ValueError(f"{text!r} is not a number")
    return parts


def _close(claimed: str, right: int | float) -> bool:
    """A whole-number figure (a size, a count) must be exact; another is right within one unit of the last decimal
    the student wrote, or 0.5% (`teach.course.matches`)."""
    if isinstance(right, int):
        return float(claimed) == right
    return matches(claimed, right)


def _same(claimed: list[str], right: Any) -> bool:
    values = right if isinstance(right, list) else [right]
    return len(claimed) == len(values) and all(_close(c, r) for c, r in zip(claimed, values, strict=True))


def _show(texts: list[str]) -> Any:
    values = [float(t) for t in texts]
    shown = [int(v) if v.is_integer() else v for v in values]
    return shown[0] if len(shown) == 1 else shown


class _Grader:
    """Networks built once per spec text (a class shares many)."""

    def __init__(self) -> None:
        self.networks: dict[str, Network] = {}

    def network(self, spec: str) -> Network:
        if spec not in self.networks:
            from .exercise import _load

            self.networks[spec] = Network(_load(spec))
        return self.networks[spec]

    def view(self, q: Question, cells: dict[str, str]) -> dict[str, Any]:
        """The question's network as this student has it: their own output shapes where they gave them, so a
        wrong shape carried into the next layers is named where it began (as `cnncalc grade` does)."""
        assert q.spec is not None
        net = self.network(q.spec)
        claimed = {}
        for p in q.parts:
            if p.check.get("field") == "output_shape" and cells.get(p.id):
                with contextlib.suppress(ValueError):  # reported when the cell itself is graded
                    claimed[p.check["layer"]] = parse_shape(cells[p.id], "hwc")
        return net.student_view(claimed)

    def part(self, q: Question, part: Any, text: str, cells: dict[str, str]) -> Verdict:
        if part.by in ("cell", "total"):
            assert q.spec is not None
            net = self.network(q.spec)
            if part.by == "total":
                v = check_total(net, part.check["of"], parse_number(text))
            else:
                v = check_cell(net, net.index[part.check["layer"]], part.check["field"], text, self.view(q, cells))
            return Verdict(
                part.id, part.check.get("field") or part.check["of"], v.claimed, v.correct, v.ok, v.diagnoses
            )
        claimed = _numbers(text)
        ok = _same(claimed, part.answer)
        diagnoses = []
        if not ok:
            for slip in part.check.get("slips", []):
                if _same(claimed, slip["gives"]):
                    diagnoses.append(Diagnosis(slip["id"], slip["explanation"], slip["gives"], 1.0))
        return Verdict(part.id, "answer", _show(claimed), part.answer, ok, diagnoses)


def grade_exercise(key: dict[str, Any], text: str, source: str) -> ClassResult:
    """A class file: a `student` column (the roster id, or name) and one column per part (q1a, q1b, ...)."""
    header, rows = read_table(text, source)
    if "student" not in header:
        raise CnnCalcError(f"{source}:1: the header has no `student` column (it has: {', '.join(header)})")
    variants: dict[str, dict[str, Any]] = {}
    for v in key["variants"]:
        variants[v["student"].lower()] = v
        if v.get("name"):
            variants.setdefault(v["name"].lower(), v)
    shared = variants.get("") if len(key["variants"]) == 1 else None
    columns = [h for h in header if h and h != "student"]
    known = set(key.get("columns", []))
    skipped = [Skipped(1, f"column {h!r} is not a part of the sheet (its columns are q1a, q1b, ...)")
               for h in columns if h not in known]  # fmt: skip
    graded = [h for h in columns if h in known]
    if not graded:
        raise CnnCalcError(f"{source}:1: no column names a part of the sheet (e.g. {', '.join(key['columns'][:4])})")
    grader = _Grader()
    students = []
    for line, cells in rows:
        name = cells.get("student", "")
        if not name:
            skipped.append(Skipped(line, "no student name: row skipped"))
            continue
        variant = shared or variants.get(name.lower())
        if variant is None:
            skipped.append(Skipped(line, f"{name}: not on the key's roster: row skipped"))
            continue
        parts = {p["id"]: (Question.from_dict(q), p) for q in variant["questions"] for p in q["parts"]}
        verdicts = []
        try:
            for h in graded:
                answer = cells.get(h, "")
                if not answer:
                    continue
                q, _ = parts[h]
                part = next(p for p in q.parts if p.id == h)
                try:
                    verdicts.append(grader.part(q, part, answer, cells))
                except ValueError as exc:
                    raise ValueError(f"column {h}: {exc}") from None
            if not verdicts:
                raise ValueError("no answer in any graded column")
        except ValueError as exc:
            skipped.append(Skipped(line, f"{name}: {exc}: row skipped"))
            continue
        students.append(StudentResult(name, line, verdicts))
    return ClassResult(students, sorted(skipped, key=lambda s: s.line), "answers")
