"""`cnncalc exercise`: exercise sheets with their answer keys, one variant per student, from a seed."""

from __future__ import annotations

import json
import os

import click

from ..errors import CnnCalcError
from ._common import fail


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except OSError as exc:
        raise CnnCalcError(f"{path}: cannot read it: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CnnCalcError(f"{path}: not a UTF-8 text file") from None


@click.command(name="exercise")
@click.option("--seed", type=int, required=True, help="the same seed gives the same sheets, byte for byte")
@click.option("--kinds", metavar="K1,K2", help="question kinds: size, params, macs, rf, blocks, map, matrix, table, "
              "loss, linear, chain, batchnorm, lowrank (default: all)")  # fmt: skip
@click.option("--difficulty", type=click.Choice(("easy", "medium", "hard")), default="medium", show_default=True)
@click.option("--questions", type=int, help="how many questions (default: one of each kind)")
@click.option("--students", "roster", metavar="ROSTER.csv",
              help="a CSV with an id (or student) column and optionally name: one variant per student")  # fmt: skip
@click.option("-o", "--out", metavar="DIR",
              help="write sheet.md, sheet.tex, key.md, key.tex, key.json and answers.csv there")  # fmt: skip
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("md", "latex", "json")),
    default="md",
    show_default=True,
    help="without --out: print the sheet (or, with --key, the key) in this format; json is the key file",
)
@click.option("--key", "show_key", is_flag=True, help="without --out: print the key with worked solutions")
def command(
    seed: int, kinds: str | None, difficulty: str, questions: int | None, roster: str | None, out: str | None,
    fmt: str, show_key: bool,
) -> None:  # fmt: skip
    """Exercise sheets on the course's calculations, with answer keys that `cnncalc grade KEY.json --answers
    CLASS.csv` reads: output sizes (inexact, ceil_mode, dilated, transposed), parameters (biases, groups,
    depthwise), MACs and FLOPs, receptive fields, mobile-block costs, image points on feature maps (bilinear
    weights), convolution as a matrix, a whole network's table; and losses (softmax, cross-entropy, hinge),
    linear scores, chain gradients with a skip, batch normalisation and low-rank factorisation.

    With --students each student gets their own numbers, drawn from the seed and their id (adding a student
    changes no one else's sheet). The LaTeX is one document, a page per student, for one pdflatex run.
    """
    from ..render.exercise import sheet_latex, sheet_markdown
    from ..teach.exercise import make_sheet, parse_kinds, read_roster

    try:
        students = read_roster(_read(roster), roster) if roster else None
        sheet = make_sheet(seed, parse_kinds(kinds), difficulty, questions, students)
    except CnnCalcError as exc:
        fail(str(exc))
    key_json = json.dumps(sheet.key(), indent=1, ensure_ascii=False) + "\n"
    if out is None:
        if fmt == "json":
            click.echo(key_json, nl=False)
        else:
            render = sheet_latex if fmt == "latex" else sheet_markdown
            click.echo(render(sheet, key=show_key), nl=False)
        return
    files = {
        "sheet.md": sheet_markdown(sheet),
        "sheet.tex": sheet_latex(sheet),
        "key.md": sheet_markdown(sheet, key=True),
        "key.tex": sheet_latex(sheet, key=True),
        "key.json": key_json,
        "answers.csv": sheet.answers_template(),
    }
    try:
        os.makedirs(out, exist_ok=True)
        for name, text in files.items():
            with open(os.path.join(out, name), "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
    except OSError as exc:
        fail(f"{out}: cannot write there: {exc.strerror}")
    n = len(sheet.variants)
    who = f"{n} student{'s' if n != 1 else ''}" if students else "one shared variant"
    click.echo(f"wrote {', '.join(files)} to {out} ({who}, {len(sheet.part_ids)} answers each)", err=True)
    click.echo(f"grade the filled-in answers with: cnncalc grade {os.path.join(out, 'key.json')} --answers "
               f"{os.path.join(out, 'answers.csv')}", err=True)  # fmt: skip
