"""Worked solutions: every layer's arithmetic written out as lecture slides do, in plain text, Markdown or LaTeX.

Every figure shown is a Step's value or a report figure; the working is the Step's own formula with its values
substituted, printed from `ast.parse(step.formula)` with the zero and identity terms dropped ("+ 2·0" when P=0,
"/1" when S=1, a dilation of 1) and floor/ceil dropped where the division is exact.
"""

from __future__ import annotations

import ast
import functools
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from ..expr import Step
from ..report import Layer, ReceptiveField, Report
from .text import human_bytes, human_count

Number = int | Fraction | float

PLAIN = "plain"
LATEX = "latex"

SIZE_LABELS = ("H_out", "W_out", "D_out", "L_out")
BUFFER_LABELS = frozenset({"running mean and variance", "fixed parameter vectors"})
PADDING_TERMS = frozenset({"P", "P_1", "P_2", "O"})  # a term that is 0 for lack of padding is dropped ("+ 2·0")
IDENTITY_FACTORS = frozenset({"D", "S", "g"})  # a factor of 1 under these names is dropped; K_h=1 (a 1x1 conv) is not
MAX_TERMS = 30  # totals list the per-layer figures up to this many terms, then say how many were summed
LATEX_TERMS_PER_LINE = 6


# ----------------------------------------------------------------------------- the expression printer


@dataclass(frozen=True, slots=True)
class _Num:
    value: Number
    name: str | None = None


@dataclass(frozen=True, slots=True)
class _Bin:
    op: str  # + - * / // %
    left: _Expr
    right: _Expr
    value: Number


@dataclass(frozen=True, slots=True)
class _Neg:
    arg: _Expr
    value: Number


@dataclass(frozen=True, slots=True)
class _Call:
    fn: str
    args: tuple[_Expr, ...]
    value: Number


_Expr = _Num | _Bin | _Neg | _Call

_AST_OPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%"}
_CALLS: dict[str, Callable[..., Number]] = {"floor": math.floor, "ceil": math.ceil, "max": max, "min": min}


def _whole(value: Number) -> Number:
    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    return value


def _apply(op: str, a: Number, b: Number) -> Number:
    if op == "+":
        return _whole(a + b)
    if op == "-":
        return _whole(a - b)
    if op == "*":
        return _whole(a * b)
    if op == "/":
        if isinstance(a, float) or isinstance(b, float):
            return a / b
        return a // b if isinstance(a, int) and isinstance(b, int) and a % b == 0 else _whole(Fraction(a) / b)
    if op == "//":
        return a // b
    return a % b


def _bin(op: str, left: _Expr, right: _Expr) -> _Expr:
    """A binary node with the slides' simplifications: zero terms, identity factors and /1 dropped."""
    if op in ("+", "-") and right.value == 0 and _padding_only(right):
        return left
    if op == "+" and left.value == 0 and _padding_only(left):
        return right
    if op == "/" and right.value == 1:
        return left
    if op == "*":
        if isinstance(right, _Num) and right.name in IDENTITY_FACTORS and right.value == 1:
            return left
        if isinstance(left, _Num) and left.name in IDENTITY_FACTORS and left.value == 1:
            return right
    if op == "/" and isinstance(left, _Bin) and left.op == "*":
        # K_h*K_w*C_in/g reads as 5×5×(96/2): the division goes to the last factor, as the slides write it.
        return _bin("*", left.left, _bin("/", left.right, right))
    return _Bin(op, left, right, _apply(op, left.value, right.value))


def _padding_only(node: _Expr) -> bool:
    """A term made of padding and constants alone (2·P): when it is 0 there is no padding to show."""
    names: list[str | None] = []
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, _Num):
            names.append(x.name)
        elif isinstance(x, _Bin):
            stack += [x.left, x.right]
        elif isinstance(x, _Neg):
            stack.append(x.arg)
        else:
            return False
    named = [n for n in names if n is not None]
    return bool(named) and all(n in PADDING_TERMS for n in named)


@functools.cache
def _parse(formula: str) -> ast.expr:
    return ast.parse(formula, mode="eval").body


def _build(node: ast.expr, values: dict[str, Number]) -> _Expr:
    if isinstance(node, ast.Name):
        return _Num(values[node.id], node.id)
    if isinstance(node, ast.Constant):
        return _Num(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        arg = _build(node.operand, values)
        return _Neg(arg, -arg.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _AST_OPS:
        return _bin(_AST_OPS[type(node.op)], _build(node.left, values), _build(node.right, values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS:
        args = tuple(_build(a, values) for a in node.args)
        return _Call(node.func.id, args, _whole(_CALLS[node.func.id](*(a.value for a in args))))
    raise ValueError(f"cannot write out {ast.unparse(node)!r}")


def _decimal(value: Number) -> tuple[str, bool]:
    """A non-whole value as a decimal, and whether that decimal is exact (else it is rounded to 2 places)."""
    if isinstance(value, float):
        return (str(int(value)) if value.is_integer() else repr(value)), True
    q = Fraction(value)
    if 1000 % q.denominator == 0:
        return f"{float(q):.3f}".rstrip("0").rstrip("."), True
    return f"{float(q):.2f}", False


def _num(value: Number, fl: str) -> str:
    if isinstance(value, int):
        text = f"{value:,}"
        return text.replace(",", "{,}") if fl == LATEX else text
    return _decimal(value)[0]


def _paren(text: str, fl: str) -> str:
    return rf"\left({text}\right)" if fl == LATEX else f"({text})"


def _is_sum(node: _Expr) -> bool:
    return isinstance(node, _Bin) and node.op in ("+", "-")


def _show(node: _Expr, fl: str) -> str:
    if isinstance(node, _Num):
        return _num(node.value, fl)
    if isinstance(node, _Neg):
        inner = _show(node.arg, fl)
        return "-" + (_paren(inner, fl) if isinstance(node.arg, _Bin) else inner)
    if isinstance(node, _Call):
        args = [_show(a, fl) for a in node.args]
        if node.fn in ("floor", "ceil") and len(args) == 1:
            if fl == LATEX:
                return rf"\left\l{node.fn} {args[0]} \right\r{node.fn}"
            return ("⌊{}⌋" if node.fn == "floor" else "⌈{}⌉").format(args[0])
        return (rf"\{node.fn}" if fl == LATEX else node.fn) + _paren(", ".join(args), fl)
    left, right = _show(node.left, fl), _show(node.right, fl)
    if node.op in ("+", "-"):
        if node.op == "-" and (_is_sum(node.right) or isinstance(node.right, _Neg)):
            right = _paren(right, fl)
        return f"{left} {node.op} {right}"
    if node.op == "*":
        parts = [
            _paren(text, fl) if _needs_paren_as_factor(child, fl) else text
            for child, text in ((node.left, left), (node.right, right))
        ]
        return (r" \times " if fl == LATEX else "×").join(parts)
    if node.op == "/":
        if fl == LATEX:
            return rf"\frac{{{left}}}{{{right}}}"
        if isinstance(node.left, _Bin | _Neg):
            left = _paren(left, fl)
        if isinstance(node.right, _Bin | _Neg):
            right = _paren(right, fl)
        return f"{left}/{right}"
    if node.op == "//":
        return rf"\left\lfloor\frac{{{left}}}{{{right}}}\right\rfloor" if fl == LATEX else f"⌊{left}/{right}⌋"
    return rf"{left} \bmod {right}" if fl == LATEX else f"{left} mod {right}"


def _needs_paren_as_factor(child: _Expr, fl: str) -> bool:
    if _is_sum(child) or isinstance(child, _Neg):
        return True
    return fl == PLAIN and isinstance(child, _Bin) and child.op in ("/", "%")


def _unround(root: _Expr) -> tuple[_Expr, str] | None:
    """`floor(A) + c` as (A + c, "floor"): c whole, so floor(A) + c = floor(A + c) and one rounding shows it all."""
    if isinstance(root, _Call) and root.fn in ("floor", "ceil") and len(root.args) == 1:
        return root.args[0], root.fn
    if (
        isinstance(root, _Bin)
        and root.op in ("+", "-")
        and isinstance(root.left, _Call)
        and root.left.fn in ("floor", "ceil")
        and len(root.left.args) == 1
        and isinstance(root.right.value, int)
    ):
        return _bin(root.op, root.left.args[0], root.right), root.left.fn
    return None


def _sum_terms(node: _Expr) -> list[_Expr]:
    if isinstance(node, _Bin) and node.op == "+":
        return [*_sum_terms(node.left), *_sum_terms(node.right)]
    return [node]


def _equals(value: Number, fl: str) -> str:
    """`= 55` or, for a value that is not a short exact decimal, `≈ 2.33`."""
    if isinstance(value, int):
        return f"= {_num(value, fl)}"
    text, exact = _decimal(value)
    sign = "=" if exact else r"\approx" if fl == LATEX else "≈"
    return f"{sign} {text}"


def _result(expr: str, value: Number, fl: str) -> str:
    """`expr = value`, or the value alone where the expression is just that number (biases: 96)."""
    equals = _equals(value, fl)
    return equals.split(" ", 1)[1] if expr == equals.split(" ", 1)[1] else f"{expr} {equals}"


def _latex_lines(terms: list[str]) -> str:
    """A long sum broken over lines of an align* row."""
    chunks = [" + ".join(terms[i : i + LATEX_TERMS_PER_LINE]) for i in range(0, len(terms), LATEX_TERMS_PER_LINE)]
    return " \\\\\n&\\quad + ".join(chunks)


@functools.lru_cache(maxsize=8192)
def _worked(formula: str, values: tuple[tuple[str, Number], ...], value: Number, fl: str) -> str:
    root = _build(_parse(formula), dict(values))
    rounded = _unround(root)
    if rounded is not None:
        inner, mode = rounded
        expr = _show(inner, fl)
        q = inner.value
        if q == value:
            return _result(expr, value, fl)
        if (math.floor(q) if mode == "floor" else math.ceil(q)) == value:
            shown = _equals(q, fl)
            arrow = rf" \xrightarrow{{\text{{{mode}}}}} " if fl == LATEX else f" → {mode} "
            return f"{expr} {shown}{arrow}{_num(value, fl)}"
    terms = _sum_terms(root)
    if fl == LATEX and len(terms) > LATEX_TERMS_PER_LINE:
        expr = _latex_lines([_show(t, fl) for t in terms])
    else:
        expr = _show(root, fl)
    return _result(expr, value, fl)


def worked(step: Step, flavour: str = PLAIN) -> str:
    """A step's working, "plain" (also used inside Markdown code spans) or "latex" (math mode): its formula with
    the values substituted and simplified, then its value (always step.value)."""
    if flavour not in (PLAIN, LATEX):
        raise ValueError(f"flavour {flavour!r}: use {PLAIN!r} or {LATEX!r}")
    try:
        return _worked(step.formula, tuple(step.values.items()), step.value, flavour)
    except (ValueError, KeyError, TypeError, ZeroDivisionError):
        return _num(step.value, flavour)  # a formula the printer cannot write out still shows its figure


def _sum(terms: list[int], total: int, fl: str) -> str:
    """`a + b + c = total`, the terms being report figures; just the total when there is one term."""
    shown = [_num(t, fl) for t in terms]
    if len(shown) <= 1:
        return _num(total, fl)
    joined = _latex_lines(shown) if fl == LATEX else " + ".join(shown)
    return f"{joined} = {_num(total, fl)}"


# ----------------------------------------------------------------------------- what is said about a layer


@dataclass(frozen=True, slots=True)
class _Size:
    h: Step
    w: Step | None
    shape: str
    d: Step | None = None  # the depth of a volume, worked out apart
    one: bool = False  # a 1-D map: h is its length L

    def lead(self, fl: str) -> str:
        """What comes before H and W: `L = ...` for a 1-D map, `D = ...; ` for a volume."""
        if self.one:
            return ("L_\\text{out} = " if fl == LATEX else "L = ") + worked(self.h, fl)
        if self.d is None:
            return ""
        return ("D_\\text{out} = " if fl == LATEX else "D = ") + worked(self.d, fl) + "; "


@dataclass(frozen=True, slots=True)
class _Line:
    step: Step
    buffers: bool = False  # a step that counts buffers (not learnable)

    @property
    def label(self) -> str:
        return f"{self.step.label} (buffers)" if self.buffers else self.step.label


@dataclass(frozen=True, slots=True)
class _Sum:
    label: str
    terms: tuple[int, ...]
    total: int


@dataclass(frozen=True, slots=True)
class _Field:
    axes: tuple[tuple[str, Step, Step], ...]  # (axis, size step, jump step); axis "" when H and W agree


@dataclass(frozen=True, slots=True)
class _Note:
    text: str
    warning: bool = False


_Item = _Size | _Line | _Sum | _Field | _Note


@dataclass(frozen=True, slots=True)
class _Block:
    layer: Layer
    sources: tuple[str, ...]  # empty when the input is the layer just before
    shape: str
    items: tuple[_Item, ...]
    brief: str  # the one line of a layer without steps ("" for a layer with steps)


def _fmt(value: Number) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{float(value):g}"


def _field_words(rf: ReceptiveField) -> str:
    if rf.whole:
        return "global (every output sees the whole input)"
    axes = [a for a in (rf.d, rf.h, rf.w) if a is not None]
    if all((a.size, a.jump) == (axes[0].size, axes[0].jump) for a in axes):
        return f"size {_fmt(axes[0].size)}, jump {_fmt(axes[0].jump)}"
    return f"size {'x'.join(_fmt(a.size) for a in axes)}, jump {'x'.join(_fmt(a.jump) for a in axes)}"


def _field_steps(layer: Layer, source: Layer | None, sizes: list[Step]) -> _Field | None:
    """The field as the slides work it: size = R + D(K - 1)·J and jump = J·S, K, S and D from the size steps."""
    rf = layer.rf
    src = source.rf if source is not None else None
    if rf is None or rf.whole or src is None or src.whole or len(layer.inputs) != 1 or len(sizes) != 2:
        return None
    if rf.d is not None or rf.w is None:
        return None  # a volume or a 1-D map: the field is stated, not worked
    if not all(s.formula.startswith(("floor(", "ceil(")) for s in sizes):
        return None  # a transposed convolution or a resize moves the field in another way: stated, not worked
    axes = []
    for axis, step, before, after in (("H", sizes[0], src.h, rf.h), ("W", sizes[1], src.w, rf.w)):
        if before is None or after is None or not isinstance(before.size, int) or not isinstance(before.jump, int):
            return None
        k, s, d = step.values.get("K"), step.values.get("S"), step.values.get("D")
        if k is None or s is None:
            return None
        grow = "R + D*(K - 1)*J" if d is not None else "R + (K - 1)*J"
        extra = {"D": d} if d is not None else {}
        size = Step.of("RF", grow, R=before.size, K=k, J=before.jump, **extra)
        jump = Step.of("jump", "J*S", J=before.jump, S=s)
        if size.value != after.size or jump.value != after.jump:
            return None  # the field pass knows better (a union over branches): the figure is stated instead
        axes.append((axis, size, jump))
    if (axes[0][1].values, axes[0][2].values) == (axes[1][1].values, axes[1][2].values):
        return _Field((("", axes[0][1], axes[0][2]),))
    return _Field(tuple(axes))


def _field_note(layer: Layer, source: Layer | None) -> _Note | None:
    rf = layer.rf
    if rf is None:
        return None
    words = _field_words(rf)
    if rf.whole and source is not None and source.rf == rf:
        return _Note("RF: global")
    if len(layer.inputs) > 1:
        return _Note(f"RF: {words} (the union of its inputs' fields)")
    if source is not None and source.rf == rf:
        return _Note(f"RF: {words} (unchanged)")
    return _Note(f"RF: {words}")


def _blocks(report: Report) -> list[_Block]:
    by_name = {x.name: x for x in report.layers}
    layout = report.settings.layout
    out = []
    previous = None
    for layer in report.layers:
        sources = () if layer.inputs == [previous] else tuple(layer.inputs)
        previous = layer.name
        shape = layer.output.text(layout)
        source = by_name.get(layer.inputs[0]) if layer.inputs else None
        if not layer.steps:
            out.append(_Block(layer, sources, shape, _stepless_notes(layer), _brief(layer, source)))
            continue
        out.append(_Block(layer, sources, shape, tuple(_items(layer, source, shape, report)), ""))
    return out


def _brief(layer: Layer, source: Layer | None) -> str:
    parts = []
    if layer.op != "input":
        parts.append(f"params {layer.params:,}" if layer.params else "no parameters")
    if layer.buffers:
        parts.append(f"buffers {layer.buffers:,}")
    if layer.macs is None:
        parts.append("MACs unknown (left out of the total, not counted as 0)")
    elif layer.macs:
        parts.append(f"MACs {layer.macs:,}")
    if layer.aux:
        parts.append("training only")
    if layer.rf is not None and layer.op != "input" and (source is None or source.rf != layer.rf):
        note = _field_note(layer, source)
        if note is not None:
            parts.append(note.text)
    return "; ".join(parts)


def _stepless_notes(layer: Layer) -> tuple[_Item, ...]:
    return tuple(_Note(w, warning=True) for w in layer.warnings)


_AUX = "training only: its parameters count in the totals; its MACs and memory are not in the inference totals"


def _items(layer: Layer, source: Layer | None, shape: str, report: Report) -> list[_Item]:
    sizes = [s for s in layer.steps if s.label in SIZE_LABELS]
    macs = [s for s in layer.steps if s.label == "MACs"]
    others = [s for s in layer.steps if s.label not in SIZE_LABELS and s.label != "MACs"]
    items: list[_Item] = []
    depth = [s for s in sizes if s.label == "D_out"]
    length = [s for s in sizes if s.label == "L_out"]
    sizes = [s for s in sizes if s.label in ("H_out", "W_out")]
    if length:
        items.append(_Size(length[0], None, shape, one=True))
    elif sizes:
        h = sizes[0]
        w = sizes[1] if len(sizes) > 1 else None
        same = w is not None and (h.formula, h.values) == (w.formula, w.values)
        items.append(_Size(h, None if same else w, shape, depth[0] if depth else None))
    else:
        items.append(_Note(f"output: {shape}"))
    items.extend(_Line(s) for s in others if s.label not in BUFFER_LABELS)
    labels = {s.label for s in others}
    if "weights" in labels and "biases" not in labels:
        why = "not counted (--no-bias)" if not report.settings.count_biases else "none (bias=false)"
        items.append(_Note(f"biases: {why}"))
    if layer.params:
        parts = [x for x in (layer.weights, layer.biases) if x]
        items.append(_Sum("params", tuple(parts), layer.params))
    else:
        items.append(_Note("no learnable parameters" if layer.buffers else "no parameters"))
    items.extend(_Line(s, buffers=True) for s in others if s.label in BUFFER_LABELS)
    items.extend(_Line(s) for s in macs)
    if layer.macs is None:
        items.append(_Note("MACs: unknown, left out of the total (not counted as 0)"))
    if layer.aux:
        items.append(_Note(_AUX))
    field = _field_steps(layer, source, sizes)
    if field is not None:
        items.append(field)
    else:
        note = _field_note(layer, source)
        if note is not None:
            items.append(note)
    items.extend(_Note(w, warning=True) for w in layer.warnings)
    return items


# ----------------------------------------------------------------------------- totals


def _by_layer(report: Report) -> tuple[list[int], list[int], list[int]]:
    """The per-layer terms of the totals: params, buffers, and the MACs of inference layers that have them."""
    params = [x.params for x in report.layers if x.params]
    buffers = [x.buffers for x in report.layers if x.buffers]
    macs = [x.macs for x in report.layers if x.macs and not x.aux]
    return params, buffers, macs


def _short(n: int) -> str:
    return human_count(n) if n >= 1000 else ""


def _totals(report: Report) -> list[tuple[str, str, str]]:
    """The totals as (label, arithmetic, words) in plain flavour; the arithmetic is "" for a line of words."""
    t = report.totals
    params, buffers, macs = _by_layer(report)
    rows = [("params", f"weights + biases = {t.weights:,} + {t.biases:,} = {t.params:,}", _short(t.params))]
    rows.append(_over_layers("params by layer", params, t.params))
    if t.buffers:
        rows.append(_over_layers("buffers", buffers, t.buffers))
    rows.append(_over_layers("MACs", macs, t.macs))
    rows.append(("FLOPs", f"2×MACs = 2×{t.macs:,} = {t.flops:,}", _short(t.flops)))
    rows.append(("activation memory", "", _memory_words(report)))
    rows += [("", "", x) for x in _notes_after_totals(report)]
    return rows


def _over_layers(label: str, terms: list[int], total: int) -> tuple[str, str, str]:
    if len(terms) <= MAX_TERMS:
        return label, _sum(terms, total, PLAIN), _short(total)
    return label, f"{total:,}", f"the sum over the {len(terms)} layers above"


def _input_words(report: Report) -> str:
    layout = report.settings.layout
    return ", ".join(f"{name} {shape.text(layout)}" for name, shape in report.inputs) or "none"


def _notes_after_totals(report: Report) -> list[str]:
    lines = []
    aux = report.training_only
    if aux:
        lines.append(
            f"training only: {aux['layers']} {'layer adds' if aux['layers'] == 1 else 'layers add'} "
            f"{aux['params']:,} params (counted above) and "
            f"{aux['macs']:,} MACs (not in the inference total)"
        )
    if report.unknown_macs:
        lines.append("MACs unknown for " + ", ".join(report.unknown_macs) + ": left out of the total, not counted as 0")
    return lines


def _memory_words(report: Report) -> str:
    t = report.totals
    return (
        f"{t.activation_bytes:,} bytes ({human_bytes(t.activation_bytes)}): every inference layer's output "
        f"at {report.settings.bytes_per_value} bytes a value, batch 1"
    )


# ----------------------------------------------------------------------------- plain text


def _text_item(item: _Item) -> list[str]:
    if isinstance(item, _Size):
        if item.one:
            return [f"output: {item.lead(PLAIN)} → {item.shape}"]
        if item.w is None:
            return [f"output: {item.lead(PLAIN)}H = W = {worked(item.h)} → {item.shape}"]
        return [f"output: {item.lead(PLAIN)}H = {worked(item.h)}; W = {worked(item.w)} → {item.shape}"]
    if isinstance(item, _Line):
        return [f"{item.label}: {worked(item.step)}"]
    if isinstance(item, _Sum):
        return [f"{item.label}: {_sum(list(item.terms), item.total, PLAIN)}"]
    if isinstance(item, _Field):
        return [
            f"RF{f' ({axis})' if axis else ''}: {worked(size)}; jump: {worked(jump)}" for axis, size, jump in item.axes
        ]
    return [("warning: " if item.warning else "") + item.text]


def explain_text(report: Report) -> str:
    """The worked solution as plain text: every layer's steps with the numbers substituted, then the totals."""
    lines = [f"Worked solution: {report.model}", f"input: {_input_words(report)}", "conventions:"]
    lines += [f"  - {c}" for c in report.settings.conventions()]
    for block in _blocks(report):
        layer = block.layer
        head = f"{layer.name} ({layer.op}{', from ' + ', '.join(block.sources) if block.sources else ''})"
        lines.append("")
        if block.brief or not layer.steps:
            lines.append(f"{head}: {block.shape}" + (f"; {block.brief}" if block.brief else ""))
        else:
            lines.append(head)
        lines += [f"  {text}" for item in block.items for text in _text_item(item)]
    lines += ["", "totals"] + [f"  {_text_total(*row)}" for row in _totals(report)]
    return "\n".join(lines) + "\n"


def _text_total(label: str, math: str, words: str) -> str:
    if not math:
        return f"{label}: {words}" if label else words
    return f"{label} = {math}" + (f" ({words})" if words else "")


# ----------------------------------------------------------------------------- Markdown

_MD_SPECIAL = frozenset("\\`*_[]<>#|~&$")  # what can start emphasis, code, links, HTML, tables or math inline


def _md(text: str) -> str:
    """Text with Markdown's special characters escaped (names like conv_1 stay as typed)."""
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if "`" in text else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_item(item: _Item) -> list[str]:
    if isinstance(item, _Size):
        lead = item.lead(PLAIN)
        if item.one:
            return [f"- output: {_code(lead)} → {_code(item.shape)}"]
        if item.w is None:
            return [f"- output: {_code(f'{lead}H = W = {worked(item.h)}')} → {_code(item.shape)}"]
        return [f"- output: {_code(f'{lead}H = {worked(item.h)}; W = {worked(item.w)}')} → {_code(item.shape)}"]
    if isinstance(item, _Line):
        return [f"- {_md(item.label)}: {_code(worked(item.step))}"]
    if isinstance(item, _Sum):
        return [f"- {item.label}: {_code(_sum(list(item.terms), item.total, PLAIN))}"]
    if isinstance(item, _Field):
        return [
            f"- RF{f' ({axis})' if axis else ''}: {_code(worked(size))}; jump: {_code(worked(jump))}"
            for axis, size, jump in item.axes
        ]
    return [("- **warning:** " if item.warning else "- ") + _md(item.text)]


def _md_total(label: str, math: str, words: str) -> str:
    head = f"- {_md(label)}: " if label else "- "
    if not math:
        return head + _md(words)
    return head + _code(math) + (f" ({_md(words)})" if words else "")


def explain_markdown(report: Report) -> str:
    """The worked solution as Markdown (GitHub-readable): arithmetic in code spans, one list per layer."""
    lines = [
        f"# Worked solution: {_md(report.model)}",
        "",
        f"Input: {_md(_input_words(report))}",
        "",
        "Conventions:",
        "",
    ]
    lines += [f"- {_md(c)}" for c in report.settings.conventions()]
    lines += ["", "## Layers"]
    for block in _blocks(report):
        layer = block.layer
        sources = ", ".join(block.sources)
        head = f"**{_md(layer.name)}** ({_md(layer.op)}{', from ' + _md(sources) if sources else ''})"
        lines.append("")
        if block.brief or not layer.steps:
            lines.append(f"{head}: {_code(block.shape)}" + (f"; {_md(block.brief)}" if block.brief else ""))
            if block.items:
                lines.append("")
        else:
            lines += [head, ""]
        lines += [text for item in block.items for text in _md_item(item)]
    lines += ["", "## Totals", ""] + [_md_total(*row) for row in _totals(report)]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- LaTeX

_TEX = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "%": r"\%",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "-": "-{}",  # no -- or --- ligatures in option names
    '"': "''",
    "×": r"$\times$",
    "·": r"$\cdot$",
    "→": r"$\rightarrow$",
    "←": r"$\leftarrow$",
    "−": "-{}",
    "≈": r"$\approx$",
    "γ": r"$\gamma$",
    "β": r"$\beta$",
    "…": r"\dots{}",
    "⌊": r"$\lfloor$",
    "⌋": r"$\rfloor$",
    "⌈": r"$\lceil$",
    "⌉": r"$\rceil$",
}


def tex_escape(text: str) -> str:
    """Any text made safe for LaTeX's text mode with only the base packages (other non-ASCII becomes ASCII or ?)."""
    out = []
    for ch in text:
        if ch in _TEX:
            out.append(_TEX[ch])
        elif ch.isascii():
            out.append(ch)
        else:
            plain = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            out.append(_TEX.get(plain, plain) if plain else "?")
    return "".join(out)


def _tex_shape(shape: str) -> str:
    return r" \times ".join(shape.split("x"))


def _tex_label(label: str, buffers: bool = False) -> str:
    if label in SIZE_LABELS:
        return rf"{label[0]}_\text{{out}}"
    return rf"\text{{{tex_escape(label)}{' (buffers)' if buffers else ''}}}"


def _tex_rows(items: tuple[_Item, ...]) -> tuple[list[str], list[str]]:
    """The align* rows of a layer, and its notes (said in words after the equations)."""
    rows, notes = [], []
    for item in items:
        if isinstance(item, _Size):
            arrow = rf" \;\rightarrow\; {_tex_shape(item.shape)}"
            if item.one:
                rows.append(rf"L_\text{{out}} &= {worked(item.h, LATEX)}{arrow}")
                continue
            if item.d is not None:
                rows.append(rf"D_\text{{out}} &= {worked(item.d, LATEX)}")
            if item.w is None:
                rows.append(rf"H_\text{{out}} = W_\text{{out}} &= {worked(item.h, LATEX)}{arrow}")
            else:
                rows.append(rf"H_\text{{out}} &= {worked(item.h, LATEX)}")
                rows.append(rf"W_\text{{out}} &= {worked(item.w, LATEX)}{arrow}")
        elif isinstance(item, _Line):
            rows.append(rf"{_tex_label(item.step.label, item.buffers)} &= {worked(item.step, LATEX)}")
        elif isinstance(item, _Sum):
            rows.append(rf"\text{{{item.label}}} &= {_sum(list(item.terms), item.total, LATEX)}")
        elif isinstance(item, _Field):
            for axis, size, jump in item.axes:
                name = rf"\text{{RF}}_{axis}" if axis else r"\text{RF}"
                rows.append(rf"{name} &= {worked(size, LATEX)}, \qquad \text{{jump}} = {worked(jump, LATEX)}")
        elif item.warning:
            notes.append(r"\textbf{Warning:} " + tex_escape(item.text))
        else:
            notes.append(tex_escape(item.text[:1].upper() + item.text[1:]) + ".")
    return rows, notes


def _tex_align(rows: list[str]) -> list[str]:
    return [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"] if rows else []


# Rows per tabular: a table of any length is cut into tabulars of fixed column widths (longtable would need a
# second pdflatex run to settle its widths; these need none, and their columns line up from one to the next).
TABLE_CHUNK = 40


def _tex_table(report: Report) -> list[str]:
    t = report.totals
    layout = report.settings.layout
    plain: list[list[str]] = []  # the cells as printed, for the widths
    cells_tex: list[list[str]] = []
    aux = False
    for x in report.layers:
        macs = "?" if x.macs is None else f"{x.macs:,}" if x.macs else ""
        macs_tex = macs
        if x.aux:
            aux = True
            macs_tex += r"$^\dagger$"
        rf = x.rf.text() if x.rf is not None else ""
        shape = x.output.text(layout)
        params = f"{x.params:,}" if x.params else ""
        plain.append([x.name, x.op, shape, params, macs + ("+" if x.aux else ""), rf])
        cells_tex.append(
            [rf"\texttt{{{tex_escape(x.name)}}}", tex_escape(x.op), f"${_tex_shape(shape)}$", params, macs_tex,
             tex_escape(rf)]
        )  # fmt: skip
    headers = ["layer", "op", "output", "params", "MACs", "RF size/jump"]
    total = ["total", "", "", f"{t.params:,}", f"{t.macs:,}", ""]
    widths = [max(len(row[i]) for row in (headers, total, *plain)) for i in range(6)]
    # Widths in em at \footnotesize: typewriter letters are 0.525 em, digits and most roman letters about 0.5 em.
    ems = [min(16.0, 0.55 * widths[0] + 0.3), *(0.55 * w + 0.5 for w in widths[1:])]
    left = r">{\raggedright\arraybackslash}p{%.1fem}"
    right = r">{\raggedleft\arraybackslash}p{%.1fem}"
    spec = "@{}" + " ".join((right if i in (3, 4) else left) % w for i, w in enumerate(ems)) + "@{}"
    head = [rf"\begin{{tabular}}{{{spec}}}", r"\hline", " & ".join(headers) + r" \\", r"\hline"]
    lines = [r"{\footnotesize"]
    chunks = [cells_tex[i : i + TABLE_CHUNK] for i in range(0, len(cells_tex), TABLE_CHUNK)] or [[]]
    for k, chunk in enumerate(chunks):
        lines += head + [" & ".join(cells) + r" \\" for cells in chunk]
        if k == len(chunks) - 1:
            lines += [r"\hline", " & ".join(total) + r" \\"]
        lines += [r"\hline", r"\end{tabular}", r"\par\medskip"]
    lines.append("}")
    if aux:
        lines.append(r"$^\dagger$ training only: in the params, not in the inference MACs or memory.")
    return lines


def _tex_totals(report: Report) -> list[str]:
    t = report.totals
    params, buffers, macs = _by_layer(report)
    rows = [
        rf"\text{{params}} &= \text{{weights}} + \text{{biases}} = {_num(t.weights, LATEX)} + {_num(t.biases, LATEX)}"
        rf" = {_num(t.params, LATEX)}",
        _tex_by_layer("params by layer", params, t.params),
    ]
    if t.buffers:
        rows.append(_tex_by_layer("buffers", buffers, t.buffers))
    rows.append(_tex_by_layer("MACs", macs, t.macs))
    rows.append(rf"\text{{FLOPs}} &= 2 \times {_num(t.macs, LATEX)} = {_num(t.flops, LATEX)}")
    lines = _tex_align(rows)
    lines.append(r"Activation memory: " + tex_escape(_memory_words(report)) + ".")
    lines += ["", *(tex_escape(x) + "." for x in _notes_after_totals(report))]
    return lines


def _tex_by_layer(label: str, terms: list[int], total: int) -> str:
    if len(terms) <= MAX_TERMS:
        return rf"\text{{{label}}} &= {_sum(terms, total, LATEX)}"
    return rf"\text{{{label}}} &= \text{{the sum over the {len(terms)} layers}} = {_num(total, LATEX)}"


def explain_latex(report: Report, fragment: bool = False) -> str:
    """A complete LaTeX document (article; amsmath, array, geometry): the summary table, then each layer's equations
    in align*, then the totals. One pdflatex run is enough (Debian's texlive-latex-base). `fragment=True` gives the
    body alone, to \\input into one's own report (its preamble needs amsmath and array)."""
    name = tex_escape(report.model)
    preamble = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath}",
        r"\usepackage{array}",
        r"\setlength{\parindent}{0pt}",
        r"\setlength{\parskip}{4pt}",
        r"\sloppy",  # long layer names in typewriter type break lines loosely rather than run into the margin
        r"\renewcommand{\labelitemi}{$\bullet$}",  # the text bullet needs a TS1 font that Debian's base lacks
        rf"\title{{Worked solution: \texttt{{{name}}}}}",
        r"\author{cnncalc}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        "",
    ]
    if fragment:
        preamble = [
            f"% Worked solution of {report.model} by cnncalc: \\input this file into a LaTeX document whose",
            "% preamble has \\usepackage{amsmath} and \\usepackage{array}.",
            rf"\subsection*{{Worked solution: \texttt{{{name}}}}}",
        ]
    lines = [
        *preamble,
        r"\section*{Input and conventions}",
        "Input: " + tex_escape(_input_words(report)) + ".",
        r"\begin{itemize}",
        *(r"\item " + tex_escape(c) for c in report.settings.conventions()),
        r"\end{itemize}",
        "",
        r"\section*{Layers}",
        *_tex_table(report),
        "",
        r"\section*{Worked steps}",
    ]
    for block in _blocks(report):
        layer = block.layer
        head = rf"\texttt{{{tex_escape(layer.name)}}} ({tex_escape(layer.op)}"
        if block.sources:
            head += ", from " + ", ".join(rf"\texttt{{{tex_escape(x)}}}" for x in block.sources)
        head += ")"
        rows, notes = _tex_rows(block.items)
        if block.brief or not layer.steps:
            text = f"{head}: ${_tex_shape(block.shape)}$" + (f"; {tex_escape(block.brief)}" if block.brief else "")
            lines += ["", text + ".", *(f"\n{n}" for n in notes)]
            continue
        lines += ["", rf"\subsection*{{{head}}}", *_tex_align(rows), *(f"\n{n}" for n in notes)]
    lines += ["", r"\section*{Totals}", *_tex_totals(report)]
    if fragment:
        # Inside someone's report the sections become unnumbered subsubsections under the heading above.
        text = "\n".join(lines).replace(r"\subsection*{", r"\paragraph*{").replace(r"\section*{", r"\subsubsection*{")
        return text.replace(r"\paragraph*{Worked solution:", r"\subsection*{Worked solution:", 1) + "\n"
    return "\n".join([*lines, "", r"\end{document}"]) + "\n"


__all__ = ["explain_latex", "explain_markdown", "explain_text", "tex_escape", "worked"]
