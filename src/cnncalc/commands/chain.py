"""`cnncalc chain`: the gradient through a chain of layers, without and with a skip connection."""

from __future__ import annotations

from typing import Any

import click

from ._course import course_options, finish, vector


@click.command(name="chain")
@click.option("--local", required=True, metavar="D1,D2,...", help="each layer's local derivative, e.g. 0.8,0.2,0.8")
@course_options
def command(local: str, fmt: str, answers: tuple[str, ...]) -> None:
    """dy/dx through layers with the given local derivatives (the chain rule multiplies them), and with one skip
    connection around the chain (y = x + f(x): 1 + the product). Answer names: grad, grad_skip."""
    from ..teach.course import chain_gradient

    def make() -> list[Any]:
        return [chain_gradient(vector(local, "--local"))]

    finish(make, fmt, answers)
