"""`cnncalc loss`: softmax and cross-entropy, multiclass hinge, MSE and MAE of given scores, worked."""

from __future__ import annotations

from typing import Any

import click

from ..errors import CnnCalcError
from ._common import Real, Whole
from ._course import course_options, finish, vector


@click.command(name="loss")
@click.option("--scores", required=True, metavar="S0,S1,...", help="class scores (or predictions for MSE/MAE)")
@click.option("--label", type=Whole(0), help="the true class, numbered from 0 (softmax, cross-entropy, hinge)")
@click.option("--target", metavar="Y0,Y1,...", help="targets for MSE and MAE")
@click.option("--margin", type=Real(), default=1.0, show_default=True, help="the hinge loss's margin Δ")
@click.option("--of", "kinds", multiple=True, type=click.Choice(("ce", "hinge", "mse")),
              help="which losses (default: ce and hinge with --label, mse and mae with --target)")  # fmt: skip
@course_options
def command(
    scores: str, label: int | None, target: str | None, margin: float, kinds: tuple[str, ...], fmt: str,
    answers: tuple[str, ...],
) -> None:  # fmt: skip
    """The loss of given class scores, worked as a lecture works it: softmax probabilities and cross-entropy
    (natural log), the multiclass hinge (SVM) loss, MSE and MAE.

    Answer names: p (the probabilities), ce, hinge, mse, mae.
    """
    from ..teach.course import hinge, regression, softmax_cross_entropy

    def make() -> list[Any]:
        s = vector(scores, "--scores")
        chosen = kinds or ((("ce", "hinge") if label is not None else ()) + (("mse",) if target else ()))
        if not chosen:
            raise CnnCalcError("give --label (the true class) for cross-entropy and hinge, or --target for MSE/MAE")
        out: list[Any] = []
        for kind in chosen:
            if kind == "mse":
                if target is None:
                    raise CnnCalcError("--of mse needs --target: the values the scores should have been")
                out.append(regression(s, vector(target, "--target")))
                continue
            if label is None:
                raise CnnCalcError(f"--of {kind} needs --label: the true class, numbered from 0")
            out.append(softmax_cross_entropy(s, label) if kind == "ce" else hinge(s, label, margin))
        return out

    finish(make, fmt, answers)
