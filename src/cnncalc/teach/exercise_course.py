"""Exercise questions on the course's other calculations (losses, linear scores, chain gradients, batch norm, low
rank), worked and graded by `teach.course`: the key's working is its lines, the slips its slips."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from .course import (
    Worked,
    batch_norm,
    chain_gradient,
    hinge,
    linear_scores,
    low_rank,
    softmax_cross_entropy,
)
from .exercise import Part, Question


def _round(x: float) -> float | int:
    """A figure as the key keeps it: whole numbers as ints, others without float noise (the key shows 4 decimals;
    a student's answer is graded to the decimals they write)."""
    r = round(x, 10)
    return int(r) if float(r).is_integer() else r


def _figure(value: Any) -> Any:
    return [_round(v) for v in value] if isinstance(value, list) else _round(value)


def _part(number: int, i: int, ask: str, w: Worked, name: str, pick: int | None = None) -> Part:
    """A part answered by one of the calculation's figures (or one element of it), with the slips that give it."""
    right = w.results[name] if pick is None else w.results[name][pick]  # type: ignore[index]
    slips = []
    for s in w.slips:
        if name in s.gives:
            gives = s.gives[name] if pick is None else s.gives[name][pick]  # type: ignore[index]
            if gives != right:
                slips.append({"id": s.id, "explanation": s.explanation, "gives": _figure(gives)})
    by = "numbers" if isinstance(right, list) else "number"
    return Part(f"q{number}{'abcdefghij'[i]}", ask, _figure(right), by, {"slips": slips})


def _question(number: int, kind: str, text: str, w: Worked, parts: list[Part], drawn: dict[str, Any]) -> Question:
    plain = [*(f"given: {g}" for g in w.given), *(f"{x.label}: {x.plain}" for x in w.lines)]
    tex = [f"&{x.latex}" for x in w.lines]
    return Question(number, kind, text, parts, working=plain, working_tex=tex, drawn=drawn)


def _scores(rng: random.Random, n: int) -> list[float]:
    while True:
        scores = [round(rng.uniform(-3, 3), 2) for _ in range(n)]
        if len(set(scores)) == n:
            return scores


def loss_question(number: int, sub: Any, rng: random.Random, level: int) -> Question:
    n = 3 if level < 2 else 4
    scores = _scores(rng, n)
    label = rng.randrange(n)
    ce = softmax_cross_entropy(scores, label)
    parts = [
        _part(number, 0, f"the softmax probability of the true class {label}", ce, "p", label),
        _part(number, 1, "the cross-entropy loss (natural log)", ce, "ce"),
    ]
    text = (
        f"A classifier gives the class scores s = {scores} (classes numbered from 0); the true class is {label}. "
        "Give the softmax probability of the true class and the cross-entropy loss"
    )
    worked = [ce]
    if level:
        h = hinge(scores, label, 1.0)
        parts.append(_part(number, 2, "the multiclass hinge (SVM) loss with margin 1", h, "hinge"))
        text += ", and the multiclass hinge (SVM) loss with margin Δ = 1"
        worked.append(h)
    both = Worked(ce.title, ce.given, [x for w in worked for x in w.lines], {}, [], [])
    drawn = {"scores": scores, "label": label}
    return _question(number, "loss", text + ".", both, parts, drawn)


def linear_question(number: int, sub: Any, rng: random.Random, level: int) -> Question:
    classes, features = (2, 2) if level == 0 else (3, 3) if level == 1 else (3, 4)
    w = [[rng.choice((-2, -1, -0.5, 0.5, 1, 1.5, 2, 3)) for _ in range(features)] for _ in range(classes)]
    x = [rng.randint(-4, 6) for _ in range(features)]
    b = [rng.choice((-1, -0.5, 0, 0.5, 1, 2)) for _ in range(classes)]
    calc = linear_scores(w, x, b)
    text = (
        f"A linear classifier has weights W = {w} (one row a class), biases b = {b}, and gets the input "
        f"x = {x}. Give its class scores s = W·x + b."
    )
    parts = [_part(number, 0, "the scores s, one per class", calc, "scores")]
    return _question(number, "linear", text, calc, parts, {"W": w, "x": x, "b": b})


def chain_question(number: int, sub: Any, rng: random.Random, level: int) -> Question:
    local = [rng.choice((0.1, 0.2, 0.25, 0.5, 0.8, 0.9)) for _ in range(3 + level)]
    calc = chain_gradient(local)
    text = (
        f"A chain of {len(local)} layers has the local derivatives {local} (dy_i/dy_(i-1), in order). Give the "
        "gradient dy/dx of the output with respect to the input, then the same with one skip connection added "
        "around the whole chain (y = x + f(x))."
    )
    parts = [
        _part(number, 0, "dy/dx without the skip", calc, "grad"),
        _part(number, 1, "dy/dx with the skip", calc, "grad_skip"),
    ]
    return _question(number, "chain", text, calc, parts, {"local": local})


def batchnorm_question(number: int, sub: Any, rng: random.Random, level: int) -> Question:
    n = 4
    while True:
        batch = [rng.randint(-4, 8) for _ in range(n)]
        if len(set(batch)) > 1:
            break
    gamma = rng.choice((1, 2, 0.5)) if level else 1
    beta = rng.choice((0, 1, -1, 0.5)) if level else 0
    calc = batch_norm(batch, gamma, beta, 0.0)
    text = (
        f"One channel of a conv layer's output takes the values x = {batch} over a batch of {n}. Batch "
        f"normalisation in training mode with γ = {gamma}, β = {beta} (take ε = 0): give the batch mean, the "
        "variance it normalises with, and the outputs y = γ·x̂ + β."
    )
    parts = [
        _part(number, 0, "the batch mean μ", calc, "mean"),
        _part(number, 1, "the variance σ²", calc, "var"),
        _part(number, 2, "the outputs y, in order", calc, "y"),
    ]
    return _question(number, "batchnorm", text, calc, parts, {"batch": batch, "gamma": gamma, "beta": beta})


def lowrank_question(number: int, sub: Any, rng: random.Random, level: int) -> Question:
    bias = rng.random() < 0.5
    if sub == "conv":
        c_in, c_out = rng.choice((32, 64, 128)), rng.choice((64, 128, 256))
        k, hw = rng.choice((3, 5)), rng.choice((7, 14, 28))
        rank = rng.choice((4, 8, 16, 32))
        calc = low_rank("conv", c_in, c_out, rank, k, hw, hw, bias)
        what = (
            f"A {k}x{k} convolution {c_in} -> {c_out} channels (stride 1, padded to keep its {hw} x {hw} map) is "
            f"replaced by a {k}x{k} convolution {c_in} -> {rank} followed by a 1x1 convolution {rank} -> {c_out}"
        )
    else:
        c_in, c_out = rng.choice((256, 512, 1024, 4096)), rng.choice((10, 100, 512, 1000))
        k = hw = 1
        rank = rng.choice((8, 16, 32, 64))
        calc = low_rank("fc", c_in, c_out, rank, 1, 1, 1, bias)
        what = (
            f"A fully connected layer {c_in} -> {c_out} is replaced by its rank-{rank} factorisation: a layer "
            f"{c_in} -> {rank} followed by a layer {rank} -> {c_out}"
        )
    text = what + (" (the second factor keeps the layer's bias)." if bias else "; no biases are counted.")
    text += " Give the full layer's parameters, then the factorised layer's parameters and MACs."
    parts = [
        _part(number, 0, "the full layer's parameters", calc, "full_params"),
        _part(number, 1, "the factorised layer's parameters", calc, "params"),
        _part(number, 2, "the factorised layer's MACs", calc, "macs"),
    ]
    drawn = {"sub": sub, "c_in": c_in, "c_out": c_out, "k": k, "hw": hw, "rank": rank, "bias": bias}
    return _question(number, "lowrank", text, calc, parts, drawn)


MAKERS: dict[str, Callable[[int, Any, random.Random, int], Question]] = {
    "loss": loss_question,
    "linear": linear_question,
    "chain": chain_question,
    "batchnorm": batchnorm_question,
    "lowrank": lowrank_question,
}
