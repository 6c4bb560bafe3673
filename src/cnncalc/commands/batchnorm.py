"""`cnncalc batchnorm`: batch normalisation of one channel over a small batch, worked."""

from __future__ import annotations

from typing import Any

import click

from ._common import Real
from ._course import course_options, finish, vector


@click.command(name="batchnorm")
@click.option("--batch", required=True, metavar="X1,X2,...", help="one channel's values over the batch")
@click.option("--gamma", type=Real(), default=1.0, show_default=True, help="the learnt scale γ")
@click.option("--beta", type=Real(), default=0.0, show_default=True, help="the learnt shift β")
@click.option(
    "--eps", type=Real(1.0, positive=True), default=1e-5, show_default=True, help="ε added to the variance (PyTorch's)"
)
@click.option("--scale", type=Real(), help="also normalise the batch a·x that conv weights scaled by a give")
@course_options
def command(
    batch: str, gamma: float, beta: float, eps: float, scale: float | None, fmt: str, answers: tuple[str, ...]
) -> None:
    """Batch normalisation in training mode: the batch mean, its variance (biased, 1/n, as BN normalises),
    the normalised values x̂ and γ·x̂ + β; with --scale, that x̂ does not change when the conv weights are scaled.
    Answer names: mean, var, xhat, y (and xhat_scaled)."""
    from ..teach.course import batch_norm

    def make() -> list[Any]:
        return [batch_norm(vector(batch, "--batch"), gamma, beta, eps, scale)]

    finish(make, fmt, answers)
