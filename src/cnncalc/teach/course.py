"""The course's other calculations, worked as a lecture works them: losses of class scores (softmax and
cross-entropy, multiclass hinge, MSE, MAE), a linear classifier's scores, the gradient through a chain of layers
with and without a skip, batch normalisation of a small batch, and low-rank factorisation of a conv or fc layer.

Each calculation returns a `Worked`: the given values, the lines of working (plain text and LaTeX from the same
numbers), the figures a student is asked for, and the usual slips with the figure each slip gives, so a wrong
answer can be named (`check_answer`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import CnnCalcError
from ..expr import Step
from ..ops.base import shortened

Figure = float | list[float]


def num(x: float) -> str:
    """A float as worked by hand: up to four decimals (four significant digits when smaller), no trailing zeros."""
    if x == 0:
        return "0"
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    text = f"{x:.4f}" if abs(x) >= 0.001 else f"{x:.4g}"
    return text.rstrip("0").rstrip(".") if "e" not in text else text


def nums(xs: Sequence[float]) -> str:
    return "[" + ", ".join(num(x) for x in xs) + "]"


def _tex(x: float) -> str:
    text = num(x)
    if "e" in text:
        mant, exp = text.split("e")
        return rf"{mant}\times 10^{{{int(exp)}}}"
    return text


def _ptex(x: float) -> str:
    """A number as a LaTeX factor: parenthesised when negative."""
    return f"({_tex(x)})" if x < 0 else _tex(x)


def _tex_list(xs: Sequence[float]) -> str:
    return "[" + ", ".join(_tex(x) for x in xs) + "]"


def _signed(terms: Sequence[tuple[float, str]], show: Callable[[float], str]) -> str:
    """`a·x + b·y - c·z`: each coefficient's sign written as the operator before it."""
    out = ""
    for n, (coef, rest) in enumerate(terms):
        if n == 0:
            out = f"{show(coef)}{rest}"
        else:
            out += f" {'-' if coef < 0 else '+'} {show(abs(coef))}{rest}"
    return out


def _pnum(x: float) -> str:
    return f"({num(x)})" if x < 0 else num(x)


@dataclass(frozen=True)
class Line:
    """One line of working: `label = plain`, and the same in LaTeX math."""

    label: str
    plain: str
    latex: str


@dataclass(frozen=True)
class Slip:
    id: str
    explanation: str
    gives: dict[str, Figure]


@dataclass
class Worked:
    title: str
    given: list[str]
    lines: list[Line]
    results: dict[str, Figure]
    slips: list[Slip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "given": self.given,
            "working": [{"label": x.label, "plain": x.plain, "latex": x.latex} for x in self.lines],
            "results": self.results,
            "notes": self.notes,
            "slips": [{"id": s.id, "explanation": s.explanation, "gives": s.gives} for s in self.slips],
        }


# ----------------------------------------------------------------------------- reading answers


# The course's numbers are scores, weights and derivatives: a bound keeps every worked sum a readable float.
MOST_VALUES = 1000
MOST_MAGNITUDE = 1e6


def parse_vector(text: str, option: str) -> list[float]:
    """`-2.85,0.86,0.28` (commas or spaces)."""
    parts = [p for p in re.split(r"[\s,]+", text.strip().strip("[]")) if p]
    example = "write numbers separated by commas, e.g. -2.85,0.86,0.28"
    if len(parts) > MOST_VALUES:
        raise CnnCalcError(f"{option}: {len(parts):,} values; at most {MOST_VALUES:,}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise CnnCalcError(f"{option} {shortened(text)!r}: {example}") from None
    if not values or not all(math.isfinite(v) for v in values):
        raise CnnCalcError(f"{option} {shortened(text)!r}: {example}")
    for part, v in zip(parts, values, strict=True):
        if abs(v) > MOST_MAGNITUDE:
            raise CnnCalcError(
                f"{option}: {shortened(part)} is out of range; values lie between {-MOST_MAGNITUDE:g} and "
                f"{MOST_MAGNITUDE:g}"
            )
    return values


def parse_matrix(text: str, option: str) -> list[list[float]]:
    """Rows separated by `;`, e.g. `1,2;3,4`."""
    rows = [parse_vector(r, option) for r in text.split(";") if r.strip()]
    if not rows or len({len(r) for r in rows}) != 1:
        raise CnnCalcError(f"{option} {shortened(text)!r}: write rows of equal length separated by ';', e.g. 1,2;3,4")
    return rows


def _decimals(text: str) -> int:
    mantissa = text.lower().split("e")[0]
    return len(mantissa.split(".")[1]) if "." in mantissa else 0


def matches(claimed_text: str, right: float) -> bool:
    """A claimed number is right within one unit of its last written decimal (intermediate figures rounded by
    hand, as a lecture's 0.016 for 0.01545 is) or within 0.5% of the right figure."""
    claimed = float(claimed_text)
    tolerance = max(10 ** -_decimals(claimed_text) + 1e-9, 0.005 * abs(right))
    return abs(claimed - right) <= tolerance


@dataclass
class Answer:
    name: str
    claimed: str
    right: Figure
    ok: bool
    slips: list[Slip]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "claimed": self.claimed,
            "right": self.right,
            "ok": self.ok,
            "slips": [{"id": s.id, "explanation": s.explanation, "gives": s.gives[self.name]} for s in self.slips],
        }


def _same(claimed: list[str], right: Figure) -> bool:
    values = right if isinstance(right, list) else [right]
    return len(claimed) == len(values) and all(matches(c, r) for c, r in zip(claimed, values, strict=True))


def check_answer(worked: Worked, name: str, text: str) -> Answer:
    """One answer (`loss=1.04`, `p=0.016,0.631,0.353`): right or wrong, and the slips that give the wrong figure."""
    if name not in worked.results:
        raise CnnCalcError(f"--answer {name}={shortened(text)}: {worked.title} asks for {', '.join(worked.results)}")
    parts = [p for p in re.split(r"[\s,;]+", text.strip().strip("[]")) if p]
    try:
        [float(p) for p in parts]
    except ValueError:
        raise CnnCalcError(
            f"--answer {name}={shortened(text)}: write a number, or numbers separated by commas"
        ) from None
    if not parts:
        raise CnnCalcError(f"--answer {name}=: no number given")
    right = worked.results[name]
    ok = _same(parts, right)
    slips = [] if ok else [s for s in worked.slips if name in s.gives and _same(parts, s.gives[name])]
    return Answer(name, text, right, ok, slips)


def parse_answer(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise CnnCalcError(f"--answer {shortened(text)!r}: write NAME=VALUE, e.g. loss=1.04 or p=0.016,0.631,0.353")
    return name.strip(), value.strip()


# ----------------------------------------------------------------------------- losses


def _check_label(scores: Sequence[float], label: int) -> None:
    if len(scores) < 2:
        raise CnnCalcError(f"--scores: give at least two class scores, got {len(scores)}")
    if not 0 <= label < len(scores):
        raise CnnCalcError(f"--label {label}: classes are numbered 0..{len(scores) - 1} (the first score is class 0)")


def softmax_cross_entropy(scores: Sequence[float], label: int) -> Worked:
    """Softmax probabilities p_j = e^{s_j} / sum_k e^{s_k} and the cross-entropy -ln p_y."""
    _check_label(scores, label)
    top = max(scores)
    if max(abs(v) for v in scores) > 700:
        raise CnnCalcError(
            "--scores: e^s of a score beyond ±700 does not fit a float; softmax is the same when one number is "
            f"subtracted from every score, so give the scores minus {top:g}"
        )
    exps = [math.exp(s) for s in scores]
    total = sum(exps)
    p = [math.exp(s - top) / sum(math.exp(t - top) for t in scores) for s in scores]
    loss = -math.log(p[label])
    lines = [
        Line(f"e^s_{j}", f"e^{num(s)} = {num(e)}", rf"e^{{s_{j}}} = e^{{{_tex(s)}}} = {_tex(e)}")
        for j, (s, e) in enumerate(zip(scores, exps, strict=True))
    ]
    lines.append(
        Line(
            "sum",
            " + ".join(num(e) for e in exps) + f" = {num(total)}",
            r"\sum_k e^{s_k} = " + " + ".join(_tex(e) for e in exps) + f" = {_tex(total)}",
        )
    )
    lines += [
        Line(
            f"p_{j}", f"{num(e)} / {num(total)} = {num(q)}", rf"p_{j} = \frac{{{_tex(e)}}}{{{_tex(total)}}} = {_tex(q)}"
        )
        for j, (e, q) in enumerate(zip(exps, p, strict=True))
    ]
    lines.append(
        Line(
            "cross-entropy",
            f"-ln p_{label} = -ln {num(p[label])} = {num(loss)}",
            rf"L = -\ln p_{label} = -\ln {_tex(p[label])} = {_tex(loss)}",
        )
    )
    slips = [
        Slip("log10", "log base 10 instead of the natural log ln", {"ce": -math.log10(p[label])}),
        Slip("log2", "log base 2 instead of the natural log ln", {"ce": -math.log2(p[label])}),
        Slip("not-normalised", "e^{s_j} not divided by the sum over classes", {"p": exps, "ce": -scores[label]}),
        Slip(
            "score-not-probability", "-ln of the raw score's e^s, or -s_y, instead of -ln p_y", {"ce": -scores[label]}
        ),
    ]
    slips += [
        Slip(
            "wrong-class",
            f"-ln p_{j}: the probability of class {j}, not of the true class {label}",
            {"ce": -math.log(p[j])},
        )
        for j in range(len(scores))
        if j != label
    ]
    return Worked(
        f"softmax and cross-entropy, true class {label}",
        [f"scores s = {nums(scores)}", f"true class y = {label} (classes numbered from 0)"],
        lines,
        {"p": p, "ce": loss},
        slips,
        ["cross-entropy uses the natural log ln"],
    )


def hinge(scores: Sequence[float], label: int, margin: float = 1.0) -> Worked:
    """Multiclass SVM loss L = sum over j != y of max(0, s_j - s_y + margin)."""
    _check_label(scores, label)
    sy = scores[label]
    others = [j for j in range(len(scores)) if j != label]
    terms = {j: max(0.0, scores[j] - sy + margin) for j in others}
    loss = sum(terms.values())
    d = num(margin)
    lines = [
        Line(
            f"j={j}",
            f"max(0, {num(scores[j])} - {_pnum(sy)} + {d}) = {num(terms[j])}",
            rf"\max(0,\ {_tex(scores[j])} - {_ptex(sy)} + {_tex(margin)}) = {_tex(terms[j])}",
        )
        for j in others
    ]
    lines.append(
        Line(
            "hinge loss",
            " + ".join(num(terms[j]) for j in others) + f" = {num(loss)}",
            r"L = \sum_{j \ne y} \max(0,\ s_j - s_y + \Delta) = "
            + " + ".join(_tex(terms[j]) for j in others)
            + f" = {_tex(loss)}",
        )
    )
    slips = [
        Slip(
            "hinge-no-margin",
            "the margin term + Δ forgotten: max(0, s_j - s_y)",
            {"hinge": sum(max(0.0, scores[j] - sy) for j in others)},
        ),
        Slip(
            "hinge-includes-y",
            "the sum also runs over j = y, which adds max(0, Δ) = Δ",
            {"hinge": loss + max(0.0, margin)},
        ),
        Slip(
            "hinge-swapped",
            "s_y - s_j instead of s_j - s_y inside the max",
            {"hinge": sum(max(0.0, sy - scores[j] + margin) for j in others)},
        ),
        Slip(
            "hinge-no-max",
            "the terms summed without max(0, ·): negative terms kept",
            {"hinge": sum(scores[j] - sy + margin for j in others)},
        ),
    ]
    return Worked(
        f"multiclass hinge (SVM) loss, true class {label}, margin {d}",
        [f"scores s = {nums(scores)}", f"true class y = {label} (classes numbered from 0)", f"margin Δ = {d}"],
        lines,
        {"hinge": loss},
        slips,
        ["the sum runs over the wrong classes only (j ≠ y)"],
    )


def regression(pred: Sequence[float], target: Sequence[float]) -> Worked:
    """Mean squared error and mean absolute error of predictions against targets."""
    if len(pred) != len(target):
        raise CnnCalcError(f"--target has {len(target)} values but --scores {len(pred)}: give one target a score")
    n = len(pred)
    diffs = [a - b for a, b in zip(pred, target, strict=True)]
    sq = [x * x for x in diffs]
    ab = [abs(x) for x in diffs]
    mse, mae = sum(sq) / n, sum(ab) / n
    lines = [
        Line(
            "differences",
            "ŷ - y = " + nums(diffs),
            r"\hat y - y = " + nums(diffs).replace("[", r"[\,").replace("]", r"\,]"),
        ),
        Line(
            "MSE",
            "(" + " + ".join(f"{_pnum(x)}²" for x in diffs) + f") / {n} = {num(sum(sq))} / {n} = {num(mse)}",
            r"\frac{1}{"
            + str(n)
            + "}("
            + " + ".join(f"{_ptex(x)}^2" for x in diffs)
            + rf") = \frac{{{_tex(sum(sq))}}}{{{n}}} = {_tex(mse)}",
        ),
        Line(
            "MAE",
            "(" + " + ".join(f"|{num(x)}|" for x in diffs) + f") / {n} = {num(sum(ab))} / {n} = {num(mae)}",
            r"\frac{1}{"
            + str(n)
            + "}("
            + " + ".join(f"|{_tex(x)}|" for x in diffs)
            + rf") = \frac{{{_tex(sum(ab))}}}{{{n}}} = {_tex(mae)}",
        ),
    ]
    slips = [
        Slip("sum-not-mean", "the sum, not divided by the number of values", {"mse": sum(sq), "mae": sum(ab)}),
        Slip("root", "the square root taken (that is the RMSE)", {"mse": math.sqrt(mse)}),
        Slip("half", "a factor 1/2 put in front", {"mse": mse / 2}),
        Slip("mse-for-mae", "squared differences where absolute ones were asked", {"mae": mse}),
        Slip("mae-for-mse", "absolute differences where squared ones were asked", {"mse": mae}),
    ]
    return Worked(
        "mean squared and mean absolute error",
        [f"predictions ŷ = {nums(pred)}", f"targets y = {nums(target)}"],
        lines,
        {"mse": mse, "mae": mae},
        slips,
        [],
    )


# ----------------------------------------------------------------------------- a linear classifier


def linear_scores(w: Sequence[Sequence[float]], x: Sequence[float], b: Sequence[float] | None) -> Worked:
    """s = W·x + b, one line a class."""
    if any(len(row) != len(x) for row in w):
        raise CnnCalcError(f"--W rows have {len(w[0])} values but --x has {len(x)}: W is classes x features")
    bias = list(b) if b is not None else [0.0] * len(w)
    if len(bias) != len(w):
        raise CnnCalcError(f"--b has {len(bias)} values but --W has {len(w)} rows (one bias a class)")
    wx = [sum(a * c for a, c in zip(row, x, strict=True)) for row in w]
    scores = [v + c for v, c in zip(wx, bias, strict=True)]
    lines = []
    for i, row in enumerate(w):
        plain = _signed([(a, f"·{_pnum(c)}") for a, c in zip(row, x, strict=True)], num)
        tex = _signed([(a, rf" \cdot {_ptex(c)}") for a, c in zip(row, x, strict=True)], _tex)
        if b is not None:
            plain += f" {'-' if bias[i] < 0 else '+'} {num(abs(bias[i]))}"
            tex += f" {'-' if bias[i] < 0 else '+'} {_tex(abs(bias[i]))}"
        lines.append(Line(f"s_{i}", f"{plain} = {num(scores[i])}", f"s_{i} = {tex} = {_tex(scores[i])}"))
    slips = [Slip("no-bias", "the bias b left out", {"scores": wx})] if b is not None else []
    if len(w) == len(x):
        wt = [sum(w[j][i] * x[j] for j in range(len(x))) + bias[i] for i in range(len(w))]
        slips.append(Slip("transposed", "Wᵀ·x: a column of W taken for a class instead of a row", {"scores": wt}))
    return Worked(
        "a linear classifier's scores s = W·x + b",
        [f"W = {[nums(r) for r in w]}".replace("'", ""), f"x = {nums(x)}"] + ([f"b = {nums(bias)}"] if b else []),
        lines,
        {"scores": scores},
        slips,
        ["one row of W per class: s_i = Σ_j W_ij x_j + b_i"],
    )


# ----------------------------------------------------------------------------- the gradient through a chain


def chain_gradient(local: Sequence[float]) -> Worked:
    """dy/dx through layers with the given local derivatives; with one skip around the chain, y = x + f(x)."""
    if not local:
        raise CnnCalcError("--local: give the local derivative of each layer, e.g. 0.8,0.2,0.8")
    grad = math.prod(local)
    plain = " × ".join(num(d) for d in local)
    tex = r" \times ".join(_ptex(d) for d in local)
    lines = [
        Line("without skip", f"dy/dx = {plain} = {num(grad)}", rf"\frac{{dy}}{{dx}} = {tex} = {_tex(grad)}"),
        Line(
            "with skip",
            f"y = x + f(x): dy/dx = 1 + {_pnum(grad)} = {num(1 + grad)}",
            rf"y = x + f(x):\ \frac{{dy}}{{dx}} = 1 + {_ptex(grad)} = {_tex(1 + grad)}",
        ),
    ]
    slips = [
        Slip("skip-forgotten", "the skip's own path (derivative 1) left out", {"grad_skip": grad}),
        Slip(
            "skip-per-layer",
            "1 added to every layer's derivative, as if each layer had its own skip",
            {"grad_skip": math.prod(1 + d for d in local)},
        ),
        Slip(
            "sum-not-product",
            "the local derivatives added instead of multiplied (the chain rule multiplies)",
            {"grad": sum(local), "grad_skip": 1 + sum(local)},
        ),
    ]
    return Worked(
        "the gradient through a chain of layers, without and with a skip connection",
        [f"local derivatives {nums(local)}, one skip connection around the whole chain"],
        lines,
        {"grad": grad, "grad_skip": 1 + grad},
        slips,
        ["the skip adds a path whose derivative is 1, so the gradient cannot vanish through it"],
    )


# ----------------------------------------------------------------------------- batch normalisation


def batch_norm(
    batch: Sequence[float], gamma: float = 1.0, beta: float = 0.0, eps: float = 1e-5, scale: float | None = None
) -> Worked:
    """One channel's values over a batch: mean, biased variance (as BN normalises in training), x̂, γx̂ + β;
    with `scale`, the same for the batch a·x that conv weights scaled by a give, showing x̂ unchanged."""
    if len(batch) < 2:
        raise CnnCalcError(f"--batch: give at least two values, got {len(batch)}")
    if eps < 0:
        raise CnnCalcError(f"--eps {eps}: must be 0 or more")
    n = len(batch)
    mean = sum(batch) / n
    var = sum((v - mean) ** 2 for v in batch) / n
    std = math.sqrt(var + eps)
    if std == 0:
        raise CnnCalcError("--batch: every value is the same and --eps is 0: the variance is 0, x̂ is undefined")
    xhat = [(v - mean) / std for v in batch]
    y = [gamma * v + beta for v in xhat]
    e = num(eps) if eps >= 0.001 else f"{eps:g}"
    lines = [
        Line(
            "mean",
            "μ = (" + " + ".join(_pnum(v) for v in batch) + f") / {n} = {num(mean)}",
            r"\mu = \frac{1}{" + str(n) + "}(" + " + ".join(_ptex(v) for v in batch) + f") = {_tex(mean)}",
        ),
        Line(
            "variance",
            "σ² = (" + " + ".join(f"({num(v)} - {_pnum(mean)})²" for v in batch) + f") / {n} = {num(var)}",
            r"\sigma^2 = \frac{1}{"
            + str(n)
            + "}("
            + " + ".join(f"({_tex(v)} - {_ptex(mean)})^2" for v in batch)
            + f") = {_tex(var)}",
        ),
        Line(
            "x̂",
            f"(x - μ) / √(σ² + ε) = (x - {_pnum(mean)}) / √({num(var)} + {e}) = {nums(xhat)}",
            rf"\hat x = \frac{{x - \mu}}{{\sqrt{{\sigma^2 + \epsilon}}}} = [{', '.join(_tex(v) for v in xhat)}]",
        ),
        Line(
            "y",
            f"γ·x̂ + β = {num(gamma)}·x̂ + {_pnum(beta)} = {nums(y)}",
            rf"y = \gamma \hat x + \beta = {_tex(gamma)}\,\hat x + {_ptex(beta)} = [{', '.join(_tex(v) for v in y)}]",
        ),
    ]
    results: dict[str, Figure] = {"mean": mean, "var": var, "xhat": xhat, "y": y}
    unbiased = sum((v - mean) ** 2 for v in batch) / (n - 1)
    slips = [
        Slip(
            "unbiased-variance",
            f"the unbiased variance (divided by n - 1 = {n - 1}); BN divides by n",
            {
                "var": unbiased,
                "xhat": [(v - mean) / math.sqrt(unbiased + eps) for v in batch],
                "y": [gamma * (v - mean) / math.sqrt(unbiased + eps) + beta for v in batch],
            },
        ),
        Slip(
            "variance-not-std",
            "divided by σ² instead of √(σ² + ε)",
            {"xhat": [(v - mean) / (var + eps) for v in batch] if var + eps else xhat},
        ),
        Slip("gamma-beta-skipped", "γ and β not applied", {"y": xhat}),
    ]
    notes = ["training mode: the batch's own mean and biased variance (1/n), as BN normalises"]
    if scale is not None:
        scaled = [scale * v for v in batch]
        m2 = sum(scaled) / n
        v2 = sum((v - m2) ** 2 for v in scaled) / n
        xh2 = [(v - m2) / math.sqrt(v2 + eps) for v in scaled]
        lines += [
            Line(
                "scaled batch",
                f"a·x with a = {num(scale)}: μ' = a·μ = {num(m2)}, σ'² = a²·σ² = {num(v2)}",
                rf"a = {_tex(scale)}:\ \mu' = a\mu = {_tex(m2)},\ \sigma'^2 = a^2\sigma^2 = {_tex(v2)}",
            ),
            Line(
                "x̂ of a·x",
                f"(a·x - a·μ) / √(a²σ² + ε) = {nums(xh2)}",
                r"\hat x' = \frac{a(x - \mu)}{\sqrt{a^2\sigma^2 + \epsilon}} = " + _tex_list(xh2),
            ),
        ]
        results["xhat_scaled"] = xh2
        notes.append(
            "scaling the conv weights by a scales its outputs, their mean and their deviation by a, so x̂ "
            "(and y) do not change, up to ε: BN makes the layer invariant to the weights' scale"
        )
    return Worked(
        "batch normalisation of one channel over a batch",
        [f"batch x = {nums(batch)}", f"γ = {num(gamma)}, β = {num(beta)}, ε = {e}"]
        + ([f"conv weights scaled by a = {num(scale)}"] if scale is not None else []),
        lines,
        results,
        slips,
        notes,
    )


# ----------------------------------------------------------------------------- low-rank factorisation


def low_rank(
    kind: str, c_in: int, c_out: int, rank: int, k: int = 1, h: int = 1, w: int = 1, bias: bool = True
) -> Worked:
    """A conv (k x k, C_in -> C_out, on an H x W output) or fc (C_in -> C_out) against its rank-r factorisation:
    for a conv, a k x k conv C_in -> r then a 1x1 conv r -> C_out; for an fc, V (r x C_in) then U (C_out x r).
    The bias stays on the second factor."""
    for name, value in (("--cin", c_in), ("--cout", c_out), ("--rank", rank), ("-k", k), ("--hw", min(h, w))):
        if value < 1:
            raise CnnCalcError(f"{name} {value}: must be a whole number of at least 1")
    b = 1 if bias else 0
    plus_b = " + C_out" if bias else ""  # the second factor's bias, as the full layer's
    if kind == "fc":
        steps = [
            Step.of("full params", "C_in*C_out" + plus_b, C_in=c_in, C_out=c_out),
            Step.of("full MACs", "C_in*C_out", C_in=c_in, C_out=c_out),
            Step.of("rank-r params", "r*C_in + r*C_out" + plus_b, r=rank, C_in=c_in, C_out=c_out),
            Step.of("rank-r MACs", "r*C_in + r*C_out", r=rank, C_in=c_in, C_out=c_out),
        ]
        what = f"fc {c_in} -> {c_out}, rank {rank}: V ({rank} x {c_in}) then U ({c_out} x {rank})"
    elif kind == "conv":
        steps = [
            Step.of("full params", "k*k*C_in*C_out" + plus_b, k=k, C_in=c_in, C_out=c_out),
            Step.of("full MACs", "H*W*k*k*C_in*C_out", H=h, W=w, k=k, C_in=c_in, C_out=c_out),
            Step.of("rank-r params", "k*k*C_in*r + r*C_out" + plus_b, k=k, C_in=c_in, r=rank, C_out=c_out),
            Step.of("rank-r MACs", "H*W*(k*k*C_in*r + r*C_out)", H=h, W=w, k=k, C_in=c_in, r=rank, C_out=c_out),
        ]
        what = (
            f"conv {k}x{k}, {c_in} -> {c_out} on a {h}x{w} output, rank {rank}: a {k}x{k} conv {c_in} -> {rank}, "
            f"then a 1x1 conv {rank} -> {c_out}"
        )
    else:
        raise CnnCalcError(f"{kind!r}: factorise a conv or an fc")
    from ..render.explain import LATEX, PLAIN, worked

    full_p, full_m, low_p, low_m = (s.value for s in steps)
    lines = [Line(s.label, worked(s, PLAIN), f"\\text{{{s.label}}} = " + worked(s, LATEX)) for s in steps]
    lines.append(
        Line(
            "MACs ratio",
            f"{low_m:,} / {full_m:,} = {num(low_m / full_m)}",
            rf"\frac{{{low_m}}}{{{full_m}}} = {_tex(low_m / full_m)}",
        )
    )
    return Worked(
        "low-rank factorisation",
        [what, "biases " + ("counted (on the second factor)" if bias else "not counted")],
        lines,
        {"full_params": float(full_p), "full_macs": float(full_m), "params": float(low_p), "macs": float(low_m)},
        [
            Slip("one-factor", "only the first factor counted", {"params": float(k * k * c_in * rank)}),
            Slip(
                "no-bias",
                "the bias left out",
                {"params": float(low_p - b * c_out), "full_params": float(full_p - b * c_out)},
            ),
        ],
        [
            "the factorisation saves when r·(k²·C_in + C_out) < k²·C_in·C_out, i.e. r < "
            f"{num(k * k * c_in * c_out / (k * k * c_in + c_out))}"
        ],
    )
