"""Exercise sheets and their keys as Markdown and as LaTeX (one document for the whole class, a page per student,
compiling in one pdflatex run with the base packages). The key's worked solutions are the `--explain` steps of
each question's network, or the working of `teach.coords`, `teach.matrix` and `teach.cost`."""

from __future__ import annotations

from typing import Any

from ..teach.course import num
from ..teach.exercise import CONVENTIONS, KIND_TITLES, Question, Sheet, Variant, _load
from .course import tex_text
from .explain import _blocks, _md, _md_item, _tex_align, _tex_rows

_LATEX_HEAD = (
    r"\documentclass[11pt]{article}",
    r"\usepackage[margin=2cm]{geometry}",
    r"\usepackage{amsmath}",
    r"\usepackage{array}",
    r"\setlength{\parindent}{0pt}",
    r"\setlength{\parskip}{5pt}",
    r"\sloppy",
    r"\renewcommand{\labelitemi}{$\bullet$}",
    r"\begin{document}",
)


def _one(value: Any) -> str:
    return num(value) if isinstance(value, float) else str(value)


def _show(part_answer: Any, ask: str) -> str:
    if isinstance(part_answer, list) and "size of M" in ask:
        return " x ".join(map(str, part_answer))
    if isinstance(part_answer, list):
        return ", ".join(_one(v) for v in part_answer)
    if isinstance(part_answer, int):
        return f"{part_answer:,}"
    return _one(part_answer)


def _who(v: Variant) -> str:
    if not v.student:
        return ""
    return f"{v.name} ({v.student})" if v.name else v.student


def _title(q: Question) -> str:
    return f"Question {q.number}: {KIND_TITLES[q.kind]}"


# ----------------------------------------------------------------------------- Markdown


def _md_question(q: Question, key: bool) -> list[str]:
    lines = [f"### {_title(q)}", "", _md(q.text), ""]
    if q.rows:
        lines.append("| " + " | ".join(q.rows[0]) + " |")
        lines.append("|" + "---|" * len(q.rows[0]))
        lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in q.rows[1:]]
        lines.append("")
    for p in q.parts:
        letter = p.id[len(f"q{q.number}") :]
        if key:
            lines.append(f"- ({letter}) {_md(p.ask)}: **{_md(_show(p.answer, p.ask))}** (column `{p.id}`)")
        else:
            lines.append(f"- ({letter}) {_md(p.ask)}: ______ (column `{p.id}`)")
    lines.append("")
    if key:
        lines += ["Worked solution:", "", *_md_working(q), ""]
    return lines


def _md_working(q: Question) -> list[str]:
    if q.working:
        return ["```", *q.working, "```"]
    if q.spec is None:
        return []
    model = _load(q.spec)
    out = []
    for block in _blocks(model.report):
        layer = block.layer
        if layer.op == "input":
            continue
        if block.brief or not layer.steps:
            out.append(f"- **{_md(layer.name)}** ({_md(layer.op)}): `{block.shape}`; {_md(block.brief)}")
            continue
        out.append(f"- **{_md(layer.name)}** ({_md(layer.op)})")
        out += ["  " + line for item in block.items for line in _md_item(item)]
    if q.kind == "table":
        out.append(f"- total params: {model.totals.params:,}")
    return out


def sheet_markdown(sheet: Sheet, key: bool = False) -> str:
    """Every student's sheet (or key), one after the other."""
    lines: list[str] = []
    for v in sheet.variants:
        head = "Answer key" if key else "Exercise sheet"
        who = _who(v)
        lines += [f"# {head}" + (f": {_md(who)}" if who else ""), ""]
        if not key:
            lines += ["Conventions:", ""] + [f"- {_md(c)}" for c in CONVENTIONS] + [""]
        for q in v.questions:
            lines += _md_question(q, key)
    return "\n".join(lines).rstrip("\n") + "\n"


# ----------------------------------------------------------------------------- LaTeX


def _tex_question(q: Question, key: bool) -> list[str]:
    lines = [rf"\subsection*{{{tex_text(_title(q))}}}", tex_text(q.text)]
    if q.rows:
        cols = len(q.rows[0])
        lines += ["", r"\begin{tabular}{" + "l" * cols + "}", r"\hline",
                  " & ".join(tex_text(c) for c in q.rows[0]) + r" \\", r"\hline"]  # fmt: skip
        lines += [" & ".join(tex_text(c) for c in row) + r" \\" for row in q.rows[1:]]
        lines += [r"\hline", r"\end{tabular}"]
    lines += ["", r"\begin{itemize}"]
    for p in q.parts:
        letter = p.id[len(f"q{q.number}") :]
        answer = rf"\textbf{{{tex_text(_show(p.answer, p.ask))}}}" if key else r"\rule{3cm}{0.4pt}"
        lines.append(rf"\item[({letter})] {tex_text(p.ask)}: {answer} \hfill column \texttt{{{p.id}}}")
    lines.append(r"\end{itemize}")
    if key:
        lines += [r"\textit{Worked solution.}", *_tex_working(q)]
    return lines


def _tex_working(q: Question) -> list[str]:
    if q.working_tex:
        return _tex_align(q.working_tex)
    if q.working:
        return [r"\begin{flushleft}\small", " \\\\\n".join(tex_text(x) for x in q.working), r"\end{flushleft}"]
    if q.spec is None:
        return []
    model = _load(q.spec)
    out: list[str] = []
    for block in _blocks(model.report):
        layer = block.layer
        if layer.op == "input":
            continue
        name = rf"\texttt{{{tex_text(layer.name)}}} ({tex_text(layer.op)})"
        if block.brief or not layer.steps:
            out.append(f"{name}: {tex_text(block.shape)}; {tex_text(block.brief)}.\n")
            continue
        rows, notes = _tex_rows(block.items)
        out += [name, *_tex_align(rows), *notes, ""]
    if q.kind == "table":
        out.append(f"Total params: {model.totals.params:,}.")
    return out


def sheet_latex(sheet: Sheet, key: bool = False) -> str:
    """One document: a page (or more) per student."""
    lines = list(_LATEX_HEAD)
    for i, v in enumerate(sheet.variants):
        if i:
            lines.append(r"\clearpage")
        head = "Answer key" if key else "Exercise sheet"
        who = _who(v)
        lines += ["", rf"\section*{{{head}{': ' + tex_text(who) if who else ''}}}"]
        if not key:
            lines += [r"\begin{itemize}", *(r"\item " + tex_text(c) for c in CONVENTIONS), r"\end{itemize}"]
        for q in v.questions:
            lines += ["", *_tex_question(q, key)]
    lines += ["", r"\end{document}"]
    return "\n".join(lines) + "\n"
