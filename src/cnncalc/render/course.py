"""The course's other calculations (losses, linear scores, chain gradients, batch norm, low rank) as plain text,
Markdown, a LaTeX document and JSON, with the verdicts on a student's answers."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..teach.course import Answer, Figure, Worked, nums
from .explain import tex_escape

LATEX_PREAMBLE = (
    r"\documentclass[10pt]{article}",
    r"\usepackage[margin=2cm]{geometry}",
    r"\usepackage{amsmath}",
    r"\setlength{\parindent}{0pt}",
    r"\setlength{\parskip}{4pt}",
    r"\sloppy",
    r"\renewcommand{\labelitemi}{$\bullet$}",
)


_MATH = {"ε": r"$\epsilon$", "σ": r"$\sigma$", "μ": r"$\mu$", "Δ": r"$\Delta$", "ŷ": r"$\hat y$", "x̂": r"$\hat x$",
         "²": r"$^2$", "√": r"$\sqrt{}$", "ᵀ": r"$^T$", "≠": r"$\ne$", "Σ": r"$\Sigma$", "γ": r"$\gamma$",
         "β": r"$\beta$"}  # fmt: skip


def tex_text(text: str) -> str:
    """Text with the Greek and math signs of these calculations set in math mode, the rest escaped."""
    out = []
    i = 0
    while i < len(text):
        pair = text[i : i + 2]
        if pair in _MATH:
            out.append(_MATH[pair])
            i += 2
            continue
        out.append(_MATH.get(text[i]) or tex_escape(text[i]))
        i += 1
    return "".join(out)


def _figure(value: Figure) -> str:
    return nums(value) if isinstance(value, list) else nums([value])[1:-1]


def answer_lines(a: Answer, md: bool = False) -> list[str]:
    mark = "right" if a.ok else "wrong"
    head = f"{a.name} = {a.claimed} is {'**' + mark + '**' if md else mark}"
    if not a.ok:
        head += f"; the right figure is {_figure(a.right)}"
    lines = [("- " if md else "") + head]
    if not a.ok:
        pre = "  - " if md else "    "
        lines += [f"{pre}{s.id}: {s.explanation} (gives {_figure(s.gives[a.name])})" for s in a.slips]
        if not a.slips:
            lines.append(f"{pre}no usual slip gives this figure")
    return lines


def render_text(items: Sequence[Worked], answers: Sequence[Answer] = ()) -> str:
    lines: list[str] = []
    for w in items:
        if lines:
            lines.append("")
        lines += [w.title, *(f"  given: {g}" for g in w.given)]
        width = max((len(x.label) for x in w.lines), default=0)
        lines += [f"  {x.label.ljust(width)} : {x.plain}" for x in w.lines]
        lines += [f"  note: {n}" for n in w.notes]
    if answers:
        lines += ["", f"{sum(a.ok for a in answers)} of {len(answers)} answers right"]
        lines += [line for a in answers for line in answer_lines(a)]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return "".join("\\" + ch if ch in "\\`*_[]<>#|" else ch for ch in text)


def render_markdown(items: Sequence[Worked], answers: Sequence[Answer] = ()) -> str:
    lines: list[str] = []
    for w in items:
        lines += [f"## {_md(w.title)}", ""]
        lines += [f"Given: {_md(g)}  " for g in w.given] + [""]
        lines += [f"- {_md(x.label)}: `{x.plain}`" for x in w.lines]
        lines += [f"- *{_md(n)}*" for n in w.notes] + [""]
    if answers:
        lines += [f"## {sum(a.ok for a in answers)} of {len(answers)} answers right", ""]
        lines += [line for a in answers for line in answer_lines(a, md=True)] + [""]
    return "\n".join(lines)


def latex_section(w: Worked) -> list[str]:
    """One calculation as LaTeX body text: the given values, then its working in align*."""
    lines = [rf"\subsection*{{{tex_text(w.title[0].upper() + w.title[1:])}}}"]
    lines += [tex_text(g) + r"\\" for g in w.given]
    lines += [r"\begin{align*}", " \\\\\n".join(f"&{x.latex}" for x in w.lines), r"\end{align*}"]
    lines += [tex_text(n[0].upper() + n[1:]) + "." for n in w.notes]
    return lines


def render_latex(items: Sequence[Worked], answers: Sequence[Answer] = ()) -> str:
    """A complete document that compiles with pdflatex and the base packages."""
    lines = [*LATEX_PREAMBLE, r"\begin{document}"]
    for w in items:
        lines += ["", *latex_section(w)]
    if answers:
        lines += ["", r"\subsection*{Answers}", r"\begin{itemize}"]
        lines += [r"\item " + tex_text(" ".join(x.strip() for x in answer_lines(a))) for a in answers]
        lines.append(r"\end{itemize}")
    lines += ["", r"\end{document}"]
    return "\n".join(lines) + "\n"


def render_json(items: Sequence[Worked], answers: Sequence[Answer] = ()) -> str:
    out = {"calculations": [w.to_dict() for w in items], "answers": [a.to_dict() for a in answers]}
    if answers:
        out["ok"] = all(a.ok for a in answers)
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def render(items: Sequence[Worked], fmt: str, answers: Sequence[Answer] = ()) -> str:
    fn = {"md": render_markdown, "latex": render_latex, "json": render_json}.get(fmt, render_text)
    return fn(items, answers)
