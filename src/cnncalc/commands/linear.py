"""`cnncalc linear`: a linear classifier's scores W·x + b, worked."""

from __future__ import annotations

from typing import Any

import click

from ._course import course_options, finish, vector


@click.command(name="linear")
@click.option("--W", "w", required=True, metavar="ROW;ROW", help="the weights, one row a class, e.g. 0.2,-0.5;1.5,1.3")
@click.option("--x", "x", required=True, metavar="X0,X1,...", help="the input")
@click.option("--b", "b", metavar="B0,B1,...", help="the biases, one a class")
@course_options
def command(w: str, x: str, b: str | None, fmt: str, answers: tuple[str, ...]) -> None:
    """A linear classifier's scores s = W·x + b, one line a class. Answer name: scores."""
    from ..teach.course import linear_scores, parse_matrix

    def make() -> list[Any]:
        return [linear_scores(parse_matrix(w, "--W"), vector(x, "--x"), vector(b, "--b") if b else None)]

    finish(make, fmt, answers)
