"""What mobile blocks cost: standard conv, depthwise-separable, inverted residual and squeeze-and-excitation.

Each block is built as a cnncalc network from spec text, so its params and MACs come from the same engine as every
other figure; its closed formula is worked beside it with exact fractions, and the two must agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..api import Model, load
from ..errors import CnnCalcError
from ..expr import Number, Step

# The map sizes at which the notes (001_98b6a54e5a2089f3.txt, question 6, part 3-3) compare SE with a separable conv.
NOTES_SIZES = (7, 14, 224)

CONVENTIONS = (
    "MACs: multiply-accumulates of the convolutions and FC layers only, as everywhere in cnncalc (FLOPs = 2 x MACs); "
    "batch norm, activations, the global pool, the residual add and the SE scale are not counted",
    "convs without biases, as MobileNet builds them (a BN follows each); BN is not included: it would add "
    "2 learnt values (gamma, beta) and 2 buffers per channel, and no MACs; the SE block's two FC layers keep "
    "their biases (C/r + C)",
    "padding (k-1)/2: a stride-1 block keeps H x W, stride s gives ceil(H/s); H and W in the formulas are the "
    "output's, H_in and W_in the input's where they differ",
    '"with the scale" counts SE as 2C²/r + C·H·W, as a course exercise does: the two FCs plus one multiply per '
    "value for the scale x̃_c = s_c·x_c (the global pool's sum is as many additions); with C = 64, r = 16 against "
    "a 3x3 separable conv 64 -> 64 that count gives the exercise's 1.59% at 7x7, 1.43% at 14x14 and 1.37% as H, W "
    "grow",
    "the same exercise's inverted-residual cost H·W·(C_in²·t + C_in·t·k²) leaves out the 1x1 projection "
    "(t·C_in·C_out a position); it is counted here",
)

_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _step(label: str, formula: str, values: dict[str, int]) -> Step:
    """A Step over the names the formula uses (so the working shows only those)."""
    used = set(_NAME.findall(formula))
    return Step.of(label, formula, **{k: v for k, v in values.items() if k in used})


def pretty(formula: str) -> str:
    """A formula as the notes write it: k·k as k², C*C as C², * as ·."""
    for name in ("C_in", "k", "C"):
        formula = re.sub(rf"\b{name}\*{name}\b", f"{name}²", formula)
    return formula.replace("(k²)", "k²").replace("*", "·")


def working(step: Step) -> str:
    """`formula = numbers put in = value` (an exact fraction shown as p/q)."""
    numbers = step.substituted().replace(" * ", "·")
    return f"{pretty(step.formula)} = {numbers} = {show_number(step.value)}"


def show_number(value: Number) -> str:
    if isinstance(value, Fraction):
        return f"{value.numerator:,}/{value.denominator:,}"
    return f"{value:,}"


def percent(value: Fraction | float) -> str:
    """A share as a percentage (two decimals, or two significant digits below 0.01%); a ratio above 1 as 1.43x."""
    x = float(value)
    if x > 1:
        return f"{x:.3g}x"
    return f"{100 * x:.2f}%" if x == 0 or 100 * x >= 0.01 else f"{100 * x:.2g}%"


@dataclass(frozen=True)
class Block:
    """One block: its layers as spec text, the network cnncalc made of it, and its formulas."""

    key: str
    title: str
    structure: str
    spec: str
    model: Model
    params: Step
    macs: Step
    extra: tuple[Step, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        t = self.model.totals
        return {
            "key": self.key,
            "title": self.title,
            "structure": self.structure,
            "spec": self.spec,
            "params": _step_dict(self.params),
            "macs": _step_dict(self.macs),
            "extra": [_step_dict(s) for s in self.extra],
            "engine": {
                "params": t.params,
                "weights": t.weights,
                "biases": t.biases,
                "buffers": t.buffers,
                "macs": t.macs,
            },
        }


@dataclass(frozen=True)
class Ratio:
    """A ratio of two counts, with its closed form where one exists (the two must agree)."""

    label: str
    counts: tuple[int, int]
    formula: Step | None = None

    @property
    def value(self) -> Fraction:
        return Fraction(*self.counts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "counts": list(self.counts),
            "value": show_number(self.value).replace(",", ""),
            "float": float(self.value),
            "formula": _step_dict(self.formula) if self.formula else None,
        }


@dataclass(frozen=True)
class SizeRow:
    """SE on an H x W x C map against a stride-1 depthwise-separable conv giving that map."""

    h: int
    w: int
    separable_macs: int
    se_macs: int  # the engine's: the two FCs
    se_notes: int  # the notes' count: the FCs plus C·H·W for the scale
    in_notes: bool

    @property
    def ratio(self) -> Fraction:
        return Fraction(self.se_macs, self.separable_macs)

    @property
    def ratio_notes(self) -> Fraction:
        return Fraction(self.se_notes, self.separable_macs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "h": self.h,
            "w": self.w,
            "separable_macs": self.separable_macs,
            "se_macs": self.se_macs,
            "se_macs_with_scale": self.se_notes,
            "ratio": float(self.ratio),
            "ratio_with_scale": float(self.ratio_notes),
            "course_size": self.in_notes,
        }


@dataclass(frozen=True)
class CostComparison:
    h: int
    w: int
    c_in: int
    c_out: int
    k: int
    t: int
    r: int
    stride: int
    h_out: int
    w_out: int
    blocks: tuple[Block, ...]
    ratios: tuple[Ratio, ...]
    se_by_size: tuple[SizeRow, ...]
    limit: Step  # the notes' SE / separable ratio as H, W grow

    def block(self, key: str) -> Block:
        for b in self.blocks:
            if b.key == key:
                return b
        raise KeyError(key)

    def ratio(self, label: str) -> Ratio:
        for x in self.ratios:
            if x.label == label:
                return x
        raise KeyError(label)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": [self.h, self.w, self.c_in],
            "output": [self.h_out, self.w_out, self.c_out],
            "settings": {"k": self.k, "t": self.t, "r": self.r, "stride": self.stride},
            "blocks": [b.to_dict() for b in self.blocks],
            "ratios": [x.to_dict() for x in self.ratios],
            "se_by_size": [x.to_dict() for x in self.se_by_size],
            "se_limit": _step_dict(self.limit) | {"float": float(self.limit.value)},
            "conventions": list(CONVENTIONS),
        }


def _step_dict(step: Step) -> dict[str, Any]:
    value = step.value
    return {
        "label": step.label,
        "formula": pretty(step.formula),
        "substituted": step.substituted().replace(" * ", "·"),
        "value": value if isinstance(value, int) else show_number(value).replace(",", ""),
    }


def _agree(what: str, step: Step, engine: int) -> None:
    if step.value != engine:  # a bug in the formula or the engine, never the user's doing
        raise AssertionError(f"{what}: the formula gives {step.value} but cnncalc's network {engine}")


def _build(title: str, spec: str) -> Model:
    try:
        return load(spec)
    except CnnCalcError as exc:  # e.g. a kernel larger than the map: name the block, not the spec text
        message = getattr(exc, "message", str(exc))
        raise CnnCalcError(f"{title}: {message}") from None


def _specs(h: int, w: int, c_in: int, c_out: int, k: int, t: int, r: int, s: int) -> dict[str, str]:
    p = (k - 1) // 2
    conv = f"k={k} s={s} p={p} bias=false"
    expand = f"expand: conv {t * c_in} k=1 bias=false\nrelu6\n" if t > 1 else ""
    residual = "add from=input,project\n" if s == 1 and c_in == c_out else ""
    return {
        "standard": f"input {h}x{w}x{c_in}\nconv: conv {c_out} {conv}\n",
        "separable": f"input {h}x{w}x{c_in}\ndepthwise: dwconv {conv}\npointwise: conv {c_out} k=1 bias=false\n",
        "inverted_residual": f"input {h}x{w}x{c_in}\n{expand}depthwise: dwconv {conv}\nrelu6\n"
        f"project: conv {c_out} k=1 bias=false\n{residual}",
        "se": f"input {{h}}x{{w}}x{c_out}\nsqueeze: gap\nreduce: fc {c_out // r}\nrelu\nexpand: fc {c_out}\n"
        "gate: sigmoid\nscale: mul from=input,gate\n",
    }


def _check(h: int, w: int, c_in: int, c_out: int, k: int, t: int, r: int, stride: int) -> None:
    for name, value in (
        ("--hw", min(h, w)),
        ("--cin", c_in),
        ("--cout", c_out),
        ("-k", k),
        ("--t", t),
        ("--r", r),
        ("--stride", stride),
    ):
        if value < 1:
            raise CnnCalcError(f"{name} {value}: must be a whole number of at least 1")
    if k % 2 == 0:
        raise CnnCalcError(f"-k {k}: use an odd kernel (1, 3, 5, 7): the blocks pad by (k-1)/2 to keep H x W")
    if c_out % r:
        raise CnnCalcError(f"--r {r} must divide --cout {c_out}: the SE block's hidden FC layer has C/r units")


def compare(h: int, w: int, c_in: int, c_out: int, k: int, t: int = 6, r: int = 16, stride: int = 1) -> CostComparison:
    """The four blocks on an H x W x C_in input with C_out outputs, kernel k, expansion t, SE reduction r."""
    _check(h, w, c_in, c_out, k, t, r, stride)
    specs = _specs(h, w, c_in, c_out, k, t, r, stride)
    std = _build("standard conv", specs["standard"])
    h_out, w_out, _ = std.layers[-1].output.dims()
    same = (h_out, w_out) == (h, w)
    v = {"H": h_out, "W": w_out, "H_in": h, "W_in": w, "C_in": c_in, "C_out": c_out, "k": k, "t": t, "r": r, "C": c_out}

    blocks = []
    std_params = _step("params", "k*k*C_in*C_out", v)
    std_macs = _step("MACs", "H*W*C_in*C_out*k*k", v)
    blocks.append(
        Block(
            "standard",
            "standard conv",
            f"{k}x{k} conv, {c_in} -> {c_out}",
            specs["standard"],
            std,
            std_params,
            std_macs,
        )
    )

    sep = _build("depthwise-separable", specs["separable"])
    blocks.append(
        Block(
            "separable",
            "depthwise-separable",
            f"{k}x{k} depthwise on {c_in}, then 1x1 pointwise to {c_out}",
            specs["separable"],
            sep,
            _step("params", "C_in*k*k + C_in*C_out", v),
            _step("MACs", "H*W*C_in*(k*k + C_out)", v),
            (
                _step("depthwise MACs", "H*W*C_in*k*k", v),
                _step("pointwise MACs", "H*W*C_in*C_out", v),
                _step("MACs a position", "C_in*(k*k + C_out)", v),
            ),
        )
    )

    ir = _build("inverted residual", specs["inverted_residual"])
    if t > 1:
        ir_params = _step("params", "t*C_in*C_in + t*C_in*k*k + t*C_in*C_out", v)
        if same:
            ir_macs = _step("MACs", "H*W*(t*C_in*C_in + t*C_in*k*k + t*C_in*C_out)", v)
        else:
            ir_macs = _step("MACs", "H_in*W_in*t*C_in*C_in + H*W*(t*C_in*k*k + t*C_in*C_out)", v)
        parts = [f"1x1 to t·C_in = {t * c_in}"]
    else:
        ir_params = _step("params", "C_in*k*k + C_in*C_out", v)
        ir_macs = _step("MACs", "H*W*C_in*(k*k + C_out)", v)
        parts = ["no expansion (t = 1)"]
    parts += [f"{k}x{k} depthwise" + (f" stride {stride}" if stride > 1 else ""), f"1x1 to {c_out}"]
    parts.append("residual add" if "add" in specs["inverted_residual"] else "no residual (the shape changes)")
    blocks.append(
        Block(
            "inverted_residual",
            f"inverted residual (t={t})",
            ", ".join(parts),
            specs["inverted_residual"],
            ir,
            ir_params,
            ir_macs,
        )
    )

    se_spec = specs["se"].format(h=h_out, w=w_out)
    se = _build("squeeze-and-excitation", se_spec)
    se_notes = _step("with the scale (FCs + C·H·W)", "2*C*C/r + C*H*W", v)
    blocks.append(
        Block(
            "se",
            f"squeeze-and-excitation (r={r})",
            f"on {h_out}x{w_out}x{c_out}: global pool, FC {c_out} -> {c_out // r}, FC {c_out // r} -> {c_out}, scale",
            se_spec,
            se,
            _step("params", "2*C*C/r + C/r + C", v),
            _step("MACs", "2*C*C/r", v),
            (_step("weights", "2*C*C/r", v), _step("biases", "C/r + C", v), se_notes),
        )
    )

    for b in blocks:
        _agree(f"{b.title} params", b.params, b.model.totals.params)
        _agree(f"{b.title} MACs", b.macs, b.model.totals.macs)
    _agree("SE weights", blocks[3].extra[0], se.totals.weights)

    # Closed forms for the inverted residual where every layer runs at one size (or there is no expansion).
    ir_std = ir_sep = None
    if t == 1:
        ir_std, ir_sep = _step("ratio", "1/C_out + 1/(k*k)", v), _step("ratio", "1", v)
    elif same:
        ir_std = _step("ratio", "t*(C_in + k*k + C_out)/(k*k*C_out)", v)
        ir_sep = _step("ratio", "t*(C_in + k*k + C_out)/(k*k + C_out)", v)
    ratios = [
        Ratio("separable / standard, MACs", (sep.totals.macs, std.totals.macs), _step("ratio", "1/C_out + 1/(k*k)", v)),
        Ratio(
            "separable / standard, params",
            (sep.totals.params, std.totals.params),
            _step("ratio", "1/C_out + 1/(k*k)", v),
        ),
        Ratio("inverted residual / standard, MACs", (ir.totals.macs, std.totals.macs), ir_std),
        Ratio("inverted residual / separable, MACs", (ir.totals.macs, sep.totals.macs), ir_sep),
        Ratio(
            "SE / separable, MACs (the FCs only)",
            (se.totals.macs, sep.totals.macs),
            _step("ratio", "(2*C*C/r)/(H*W*C_in*(k*k + C_out))", v),
        ),
        Ratio(
            "SE / separable, with the scale (FCs + C·H·W)",
            (se.totals.macs + c_out * h_out * w_out, sep.totals.macs),
            _step("ratio", "(2*C*C/r + C*H*W)/(H*W*C_in*(k*k + C_out))", v),
        ),
    ]
    for x in ratios:
        if x.formula is not None and x.formula.value != x.value:
            raise AssertionError(f"{x.label}: the formula gives {x.formula.value} but the counts {x.value}")

    return CostComparison(
        h,
        w,
        c_in,
        c_out,
        k,
        t,
        r,
        stride,
        h_out,
        w_out,
        tuple(blocks),
        tuple(ratios),
        _se_by_size(specs, c_in, c_out, k, r, (h_out, w_out)),
        _step("limit", "C/(C_in*(k*k + C_out))", v),
    )


def _se_by_size(
    specs: dict[str, str], c_in: int, c_out: int, k: int, r: int, hw: tuple[int, int]
) -> tuple[SizeRow, ...]:
    sizes = {(n, n) for n in NOTES_SIZES} | {hw}
    rows = []
    for h, w in sorted(sizes, key=lambda s: (s[0] * s[1], s)):
        sep = _build("depthwise-separable", _specs(h, w, c_in, c_out, k, 1, r, 1)["separable"])
        se = _build("squeeze-and-excitation", specs["se"].format(h=h, w=w))
        notes = se.totals.macs + c_out * h * w
        rows.append(SizeRow(h, w, sep.totals.macs, se.totals.macs, notes, h == w and h in NOTES_SIZES))
    return tuple(rows)
