"""Convolution and transposed convolution written as matrices, with their equations and input gradients.

A convolution is linear in its input, so y = M x for a matrix M whose entries are kernel taps (or 0). Indexing is
1-based, as worked by hand: x1..xN, y1..yM, w1..wK; in 2-D x11, x12, ..., the grids flattened row by row. The
convolution is PyTorch's (a cross-correlation: no kernel flip): y_i = Σ_k w_k·x_{(i-1)S + (k-1)D + 1 - P}, an x
outside 1..N being padding (0). A transposed convolution's matrix is the transpose of the matrix of the convolution
whose input has the transposed convolution's output size, so each one's backward pass is the other's forward pass:
dL/dx = Mᵀ dL/dy.

Everything is exact (ints and Fractions). `conv_matrix` and `conv_transpose_matrix` build a `ConvMatrix`; `render`
prints it as text, Markdown, LaTeX or JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import product
from typing import Any

from ..errors import CnnCalcError
from ..expr import Step
from ..formulas import AxisOut, conv_out, conv_transpose_out

MAX_SIDE = 64  # the largest matrix printed is MAX_SIDE x MAX_SIDE
FORMATS = ("text", "md", "latex", "json")
CONV_FORMULA = "floor((N + 2P - D(K - 1) - 1)/S) + 1"
CONVT_FORMULA = "(N - 1)S - 2P + D(K - 1) + output_padding + 1"
AXIS_LABELS = {1: ("N_out",), 2: ("H_out", "W_out")}

Index = tuple[int, ...]
Value = int | Fraction
Sizes = int | Sequence[int]


def _flat(idx: Index, shape: Index) -> int:
    out = 0
    for i, n in zip(idx, shape, strict=True):
        out = out * n + i
    return out


def _grid(shape: Index) -> list[Index]:
    """Every position of a grid, row by row (0-based)."""
    return list(product(*(range(n) for n in shape)))


def _subscript(idx: Index, shape: Index) -> str:
    """1-based: `3`, `12` (row 1, column 2), or `1_10` in a 2-D grid with a side over 9 (digits would run together)."""
    return ("_" if len(shape) > 1 and max(shape) > 9 else "").join(str(i + 1) for i in idx)


def _size(shape: Index) -> str:
    return "x".join(map(str, shape))


def _exact(v: Fraction) -> Value:
    return v.numerator if v.denominator == 1 else v


def _check_len(option: str, values: Sequence[Value], n: int, what: str) -> None:
    if len(values) != n:
        raise CnnCalcError(f"{option}: {what} takes {n} values (row by row), got {len(values)}")


@dataclass(frozen=True)
class ConvMatrix:
    """One convolution (op "conv") or transposed convolution ("convT") as a matrix of kernel taps.

    `entries[r][c]` is the 0-based kernel index that multiplies input c in output r, or None (a 0). Sizes are per
    axis: (N,) in 1-D, (H, W) in 2-D.
    """

    op: str
    input: Index
    kernel: Index
    stride: Index
    pad: Index
    dilation: Index
    output_padding: Index
    output: Index
    size_steps: tuple[Step, ...]
    entries: tuple[tuple[Index | None, ...], ...]
    unread: Index  # conv: padded inputs after the last window, per axis (dropped by the floor of the output size)

    @property
    def dims(self) -> int:
        return len(self.input)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.entries), len(self.entries[0])

    def x_names(self) -> list[str]:
        return ["x" + _subscript(i, self.input) for i in _grid(self.input)]

    def y_names(self) -> list[str]:
        return ["y" + _subscript(i, self.output) for i in _grid(self.output)]

    def w_name(self, k: Index) -> str:
        return "w" + _subscript(k, self.kernel)

    def w_names(self) -> list[str]:
        return [self.w_name(k) for k in _grid(self.kernel)]

    def transpose_of(self) -> ConvMatrix:
        """For convT: the convolution whose matrix this one transposes (its input is this one's output size)."""
        if self.op != "convT":
            raise ValueError("only a transposed convolution is the transpose of a convolution")
        return conv_matrix(self.output, self.kernel, self.stride, self.pad, self.dilation, limit=None)

    def padded(self) -> tuple[list[str], list[list[Index | None]]] | None:
        """For conv with padding: the column labels ("0" for padding) and the matrix on the zero-padded input, as the
        notes write it. None without padding or for convT."""
        if self.op != "conv" or not any(self.pad):
            return None
        shape = tuple(n + 2 * p for n, p in zip(self.input, self.pad, strict=True))
        labels = []
        for idx in _grid(shape):
            inner = tuple(i - p for i, p in zip(idx, self.pad, strict=True))
            inside = all(0 <= i < n for i, n in zip(inner, self.input, strict=True))
            labels.append("x" + _subscript(inner, self.input) if inside else "0")
        rows: list[list[Index | None]] = [[None] * math.prod(shape) for _ in range(math.prod(self.output))]
        for o in _grid(self.output):
            for k in _grid(self.kernel):
                pos = tuple(oa * s + ka * d for oa, ka, s, d in zip(o, k, self.stride, self.dilation, strict=True))
                rows[_flat(o, self.output)][_flat(pos, shape)] = k
        return labels, rows

    def equations(self) -> list[list[tuple[Index, int]]]:
        """Per output y_r, its terms (kernel index, input column) in column order."""
        return [[(k, c) for c, k in enumerate(row) if k is not None] for row in self.entries]

    def gradients(self) -> list[list[tuple[int, Index]]]:
        """Per input x_c, the terms (output row, kernel index) of dL/dx_c = Σ_r dL/dy_r·M[r][c], in row order."""
        out: list[list[tuple[int, Index]]] = [[] for _ in range(self.shape[1])]
        for r, row in enumerate(self.entries):
            for c, k in enumerate(row):
                if k is not None:
                    out[c].append((r, k))
        return out

    def numeric(self, weights: Sequence[Value]) -> list[list[Value]]:
        """The matrix with the weights (row by row over the kernel) put in."""
        _check_len("--weights", weights, math.prod(self.kernel), f"a kernel of {_size(self.kernel)}")
        w = dict(zip(_grid(self.kernel), weights, strict=True))
        return [[0 if k is None else w[k] for k in row] for row in self.entries]

    def forward(self, weights: Sequence[Value], x: Sequence[Value]) -> list[Value]:
        """y = M x."""
        _check_len("--x", x, math.prod(self.input), f"an input of {_size(self.input)}")
        return [_exact(sum((m * v for m, v in zip(row, x, strict=True)), Fraction(0))) for row in self.numeric(weights)]

    def input_grad(self, weights: Sequence[Value], dy: Sequence[Value]) -> list[Value]:
        """dL/dx = Mᵀ dL/dy."""
        _check_len("--dy", dy, math.prod(self.output), f"an output of {_size(self.output)}")
        m = self.numeric(weights)
        return [_exact(sum((m[r][c] * g for r, g in enumerate(dy)), Fraction(0))) for c in range(self.shape[1])]


# ----------------------------------------------------------------------------- building


def _axes(name: str, value: Sizes, dims: int) -> Index:
    values = (value,) if isinstance(value, int) else tuple(value)
    if len(values) == 1:
        values = values * dims
    if len(values) != dims:
        raise CnnCalcError(f"{name} {_size(values)} has {len(values)} axes but the input has {dims}")
    return values


def _args(input: Sizes, named: dict[str, Sizes]) -> tuple[Index, list[Index]]:
    """The input and the other arguments, one value per axis, checked."""
    inp = (input,) if isinstance(input, int) else tuple(input)
    if not 1 <= len(inp) <= 2:
        raise CnnCalcError(f"input {_size(inp)}: 1-D (N) or 2-D (HxW) only")
    axes = [_axes(name, value, len(inp)) for name, value in named.items()]
    for name, values in [("input", inp), *zip(named, axes, strict=True)]:
        least = 0 if name in ("padding", "output padding") else 1
        if any(v < least for v in values):
            raise CnnCalcError(f"{name} must be at least {least}, got {_size(values)}")
    return inp, axes


def _conv_sizes(inp: Index, k: Index, s: Index, p: Index, d: Index) -> list[AxisOut]:
    labels = AXIS_LABELS[len(inp)]
    return [conv_out(lab, *a) for lab, *a in zip(labels, inp, k, s, [(x, x) for x in p], d, strict=True)]


def _convt_sizes(inp: Index, k: Index, s: Index, p: Index, d: Index, op: Index) -> list[Step]:
    labels = AXIS_LABELS[len(inp)]
    return [conv_transpose_out(lab, *a) for lab, *a in zip(labels, inp, k, s, p, op, d, strict=True)]


def _limit(op: str, inp: Index, out: Index, limit: int | None, out_of: Callable[[Index], Index]) -> None:
    """Refuse a matrix over limit x limit, naming the largest input of the same proportions that fits."""
    rows, cols = math.prod(out), math.prod(inp)
    if limit is None or (rows <= limit and cols <= limit):
        return
    hint = ""
    for t in range(min(max(inp) - 1, limit), 0, -1):  # no side over the limit fits: at most `limit` tries
        smaller = tuple(min(n, t) for n in inp)
        try:
            fits = math.prod(out_of(smaller)) <= limit and math.prod(smaller) <= limit
        except CnnCalcError:
            fits = False
        if fits:
            hint = f": try --input {_size(smaller)}" + (" or a larger stride" if op == "conv" else "")
            break
    raise CnnCalcError(
        f"the {op} matrix would be {rows}x{cols} (output {_size(out)} by input {_size(inp)}); "
        f"at most {limit}x{limit} is printed{hint}"
    )


def conv_matrix(
    input: Sizes, kernel: Sizes, stride: Sizes = 1, pad: Sizes = 0, dilation: Sizes = 1, *, limit: int | None = MAX_SIDE
) -> ConvMatrix:
    """The matrix of a 1-D or 2-D convolution (PyTorch's conv1d/conv2d, one channel, no bias): y = M x.

    Each argument is an int or one per axis. Raises `CnnCalcError` for impossible sizes and, unless `limit` is None,
    for a matrix larger than limit x limit."""
    inp, (k, s, p, d) = _args(input, {"kernel": kernel, "stride": stride, "padding": pad, "dilation": dilation})
    sizes = _conv_sizes(inp, k, s, p, d)
    out = tuple(a.value for a in sizes)
    _limit("conv", inp, out, limit, lambda i: tuple(a.value for a in _conv_sizes(i, k, s, p, d)))
    rows: list[list[Index | None]] = [[None] * math.prod(inp) for _ in range(math.prod(out))]
    for o in _grid(out):
        for kk in _grid(k):
            i = tuple(oa * sa + ka * da - pa for oa, ka, sa, da, pa in zip(o, kk, s, d, p, strict=True))
            if all(0 <= ia < n for ia, n in zip(i, inp, strict=True)):
                rows[_flat(o, out)][_flat(i, inp)] = kk
    steps = tuple(a.step for a in sizes)
    unread = tuple(a.remainder for a in sizes)
    return ConvMatrix("conv", inp, k, s, p, d, (0,) * len(inp), out, steps, tuple(map(tuple, rows)), unread)


def conv_transpose_matrix(
    input: Sizes,
    kernel: Sizes,
    stride: Sizes = 1,
    pad: Sizes = 0,
    dilation: Sizes = 1,
    output_padding: Sizes = 0,
    *,
    limit: int | None = MAX_SIDE,
) -> ConvMatrix:
    """The matrix of a transposed convolution (PyTorch's conv_transpose1d/2d, one channel, no bias): y = M x.

    M is the transpose of the matrix of conv_matrix(output size, kernel, stride, pad, dilation). With an output
    padding of at least the stride (PyTorch allows it below the dilation) that convolution has more outputs than
    this one has inputs, and M is the transpose of its first rows only."""
    named = {"kernel": kernel, "stride": stride, "padding": pad, "dilation": dilation, "output padding": output_padding}
    inp, (k, s, p, d, op) = _args(input, named)
    steps = tuple(_convt_sizes(inp, k, s, p, d, op))
    out = tuple(int(st.value) for st in steps)
    _limit("convT", inp, out, limit, lambda i: tuple(int(st.value) for st in _convt_sizes(i, k, s, p, d, op)))
    conv = conv_matrix(out, k, s, p, d, limit=None)
    conv_rows = [_flat(i, conv.output) for i in _grid(inp)]  # input i of convT is output i of the conv
    rows = tuple(tuple(conv.entries[r][j] for r in conv_rows) for j in range(math.prod(out)))
    return ConvMatrix("convT", inp, k, s, p, d, op, out, steps, rows, (0,) * len(inp))


# ----------------------------------------------------------------------------- values


def parse_values(text: str, option: str) -> list[Value]:
    """`1,2,-3,0.5,1/3` as exact numbers."""
    out: list[Value] = []
    for part in text.split(","):
        try:
            out.append(_exact(Fraction(part.strip())))
        except (ValueError, ZeroDivisionError):
            raise CnnCalcError(f"{option}: {part.strip()!r} is not a number (write e.g. 1,2,-3,0.5,1/3)") from None
    return out


def parse_size(text: str, option: str) -> Index:
    """`4` or `4x5`."""
    from ..ops.base import read_whole, shortened

    try:
        values = tuple(read_whole(v) for v in text.lower().split("x"))
    except ValueError as exc:
        reason = str(exc) if "too large" in str(exc) else "write N, or HxW for 2-D"
        raise CnnCalcError(f"{option}: {shortened(text)!r} is not a size ({reason})") from None
    if len(values) > 2:
        raise CnnCalcError(f"{option}: {text!r} has {len(values)} axes; 1-D (N) or 2-D (HxW) only")
    return values


def format_value(v: Value) -> str:
    """An exact number: `3`, `-0.25`, or `1/3` where no decimal is exact."""
    if isinstance(v, int) or v.denominator == 1:
        return str(int(v))
    d = v.denominator
    for f in (2, 5):
        while d % f == 0:
            d //= f
    if d == 1:  # a terminating decimal: print enough digits to be exact
        digits = 0
        while (v * 10**digits).denominator != 1:
            digits += 1
        scaled = str(abs(int(v * 10**digits))).rjust(digits + 1, "0")
        return ("-" if v < 0 else "") + scaled[:-digits] + "." + scaled[-digits:]
    return f"{v.numerator}/{v.denominator}"


# ----------------------------------------------------------------------------- what is printed


@dataclass(frozen=True)
class Numeric:
    """Numbers to put in: weights (row by row over the kernel), and optionally x and the upstream gradient dL/dy."""

    weights: Sequence[Value]
    x: Sequence[Value] | None = None
    dy: Sequence[Value] | None = None


Terms = list[tuple[str, str]]  # (factor, factor) pairs of a sum


@dataclass
class _NumericShown:
    weights: list[tuple[str, Value]]
    matrix: list[list[Value]]
    x: list[Value] | None = None
    y: list[Value] | None = None
    y_work: list[list[tuple[Value, Value]]] | None = None
    dy: list[Value] | None = None
    dx: list[Value] | None = None
    dx_work: list[list[tuple[Value, Value]]] | None = None


@dataclass
class _Shown:
    """Everything printed, as names and numbers; each format lays it out."""

    x: list[str]
    y: list[str]
    matrix: list[list[str]]
    equations: list[Terms]  # per y: (weight, x)
    gradients: list[Terms]  # per x: (dL/dy, weight)
    padded: tuple[list[str], list[list[str]]] | None  # column labels and matrix on the zero-padded input
    padded_too_wide: bool
    numeric: _NumericShown | None


def _sym(m: ConvMatrix, entries: Sequence[Sequence[Index | None]]) -> list[list[str]]:
    return [["0" if k is None else m.w_name(k) for k in row] for row in entries]


def _shown(m: ConvMatrix, numeric: Numeric | None, padded: bool | None) -> _Shown:
    """The padded form is shown by default in 1-D only (in 2-D it is wide)."""
    x, y = m.x_names(), m.y_names()
    on_padded = m.padded() if (m.dims == 1 if padded is None else padded) else None
    too_wide = on_padded is not None and len(on_padded[0]) > MAX_SIDE
    return _Shown(
        x,
        y,
        _sym(m, m.entries),
        [[(m.w_name(k), x[c]) for k, c in terms] for terms in m.equations()],
        [[(f"dL/d{y[r]}", m.w_name(k)) for r, k in terms] for terms in m.gradients()],
        None if on_padded is None or too_wide else (on_padded[0], _sym(m, on_padded[1])),
        too_wide,
        None if numeric is None else _numeric(m, numeric),
    )


def _numeric(m: ConvMatrix, n: Numeric) -> _NumericShown:
    mat = m.numeric(n.weights)
    out = _NumericShown(list(zip(m.w_names(), n.weights, strict=True)), mat)
    if n.x is not None:
        out.x, out.y = list(n.x), m.forward(n.weights, n.x)
        out.y_work = [[(v, n.x[c]) for c, v in enumerate(row) if v != 0] for row in mat]
    if n.dy is not None:
        out.dy, out.dx = list(n.dy), m.input_grad(n.weights, n.dy)
        out.dx_work = [[(g, mat[r][c]) for r, g in enumerate(n.dy) if mat[r][c] != 0] for c in range(m.shape[1])]
    return out


def _title(m: ConvMatrix) -> str:
    what = "convolution" if m.op == "conv" else "transposed convolution"
    parts = [f"input {_size(m.input)}", f"kernel {_size(m.kernel)}", f"stride {_size(m.stride)}"]
    parts += [f"padding {_size(m.pad)}", f"dilation {_size(m.dilation)}"]
    if m.op == "convT":
        parts.append(f"output padding {_size(m.output_padding)}")
    return f"{m.op} ({m.dims}-D {what}): " + ", ".join(parts) + f" → output {_size(m.output)}"


def _worked(step: Step, latex: bool = False) -> str:
    from ..render.explain import LATEX, PLAIN, worked  # the same working `show --explain` prints

    return worked(step, LATEX if latex else PLAIN)


def _size_lines(m: ConvMatrix) -> list[str]:
    formula = CONV_FORMULA if m.op == "conv" else CONVT_FORMULA
    return [f"{st.label} = {formula} = {_worked(st)}" for st in m.size_steps]


_RULES = {
    (
        "conv",
        1,
    ): "PyTorch's convolution, a cross-correlation (no kernel flip): y_i = Σ_k w_k·x_{(i-1)S + (k-1)D + 1 - P}",
    ("conv", 2): "PyTorch's convolution, a cross-correlation (no kernel flip): "
    "y_ij = Σ_kl w_kl·x_{(i-1)S + (k-1)D + 1 - P, (j-1)S + (l-1)D + 1 - P}",
    ("convT", 1): "PyTorch's transposed convolution: y_j = Σ w_k·x_i over the i, k with j = (i-1)S + (k-1)D + 1 - P",
    ("convT", 2): "PyTorch's transposed convolution: y_ab = Σ w_kl·x_ij over the i, j, k, l with "
    "a = (i-1)S + (k-1)D + 1 - P, b = (j-1)S + (l-1)D + 1 - P",
}


def _notes(m: ConvMatrix) -> list[str]:
    grid = "" if m.dims == 1 else "; the grids are flattened row by row (x11, x12, ..., then x21, ...)"
    lines = ["indexing: 1-based, as worked by hand: inputs x, outputs y, kernel taps w (weights row by row)" + grid]
    if m.op == "conv":
        lines.append(_RULES["conv", m.dims] + ", an x outside the input being padding (0)")
        for axis, r, n, p in zip(("rows", "columns") if m.dims == 2 else ("x",), m.unread, m.input, m.pad, strict=True):
            if r:
                lost = r - p  # real inputs among the unread positions (the rest is padding)
                if lost <= 0:
                    which = ", all padding"
                elif m.dims == 1:
                    which = f": {', '.join(f'x{i}' for i in range(n - lost + 1, n + 1))}, whose columns are 0"
                else:
                    which = f", among them the last {lost} {axis[:-1]}(s) of x (their columns are 0)"
                lines.append(
                    f"the output size is floored: along {axis} the last {r} position(s) of the padded input are read "
                    f"by no window{which}"
                )
        return lines
    lines.append(_RULES["convT", m.dims] + ": each input spreads the kernel over the output, which the padding crops")
    c = m.transpose_of()
    extra = f"; the output padding adds {_size(m.output_padding)} at the end" if any(m.output_padding) else ""
    lines.append(
        f"M is the transpose of the matrix of conv with input {_size(c.input)}, kernel {_size(c.kernel)}, "
        f"stride {_size(c.stride)}, padding {_size(c.pad)}, dilation {_size(c.dilation)} "
        f"(output {_size(c.output)}){extra}"
    )
    if c.shape[0] != m.shape[1]:
        lines.append(
            f"that conv has {c.shape[0]} outputs, more than the {m.shape[1]} inputs here (output padding ≥ stride): "
            "M is the transpose of its first rows"
        )
    lines.append("so the forward pass of convT is the backward pass of that conv, and the other way round")
    return lines


# ----------------------------------------------------------------------------- text and Markdown


def _text_grid(rows: list[str], cols: list[str], cells: list[list[str]]) -> list[str]:
    width = max(len(c) for c in [*cols, *(c for row in cells for c in row)])
    lw = max(len(r) for r in rows)
    out = [" " * (lw + 3) + " ".join(c.rjust(width) for c in cols)]
    for r, row in zip(rows, cells, strict=True):
        out.append(f"{r.ljust(lw)} [ " + " ".join(c.rjust(width) for c in row) + " ]")
    return out


def _md_grid(rows: list[str], cols: list[str], cells: list[list[str]]) -> list[str]:
    out = ["| | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    out += [f"| **{r}** | " + " | ".join(row) + " |" for r, row in zip(rows, cells, strict=True)]
    return out


def _paren(v: Value) -> str:
    text = format_value(v)
    return f"({text})" if text.startswith("-") else text


def _sum(terms: Sequence[tuple[Any, Any]], show: Callable[[Any], str] = str) -> str:
    return " + ".join(f"{show(a)}·{show(b)}" for a, b in terms) if terms else "0"


def _vector(values: Sequence[Value]) -> str:
    return "(" + ", ".join(format_value(v) for v in values) + ")"


def render_text(
    m: ConvMatrix, numeric: Numeric | None = None, markdown: bool = False, padded: bool | None = None
) -> str:
    """Plain text, or Markdown (tables for matrices, code spans for equations)."""
    s = _shown(m, numeric, padded)
    grid = _md_grid if markdown else _text_grid
    lines = [f"**{_title(m)}**" if markdown else _title(m), ""]
    lines += [f"`{line}`" if markdown else line for line in _size_lines(m)]
    lines += ["", *(f"- {line}" if markdown else line for line in _notes(m))]

    def block(title: str, rows: list[str], cols: list[str], cells: list[list[str]]) -> None:
        lines.extend(["", title + ":", *([""] if markdown else []), *grid(rows, cols, cells)])

    def equations(title: str, eqs: list[tuple[str, str]]) -> None:
        lines.extend(["", title + ":", *([""] if markdown else [])])
        lines.extend(f"- `{lhs} = {rhs}`" if markdown else f"  {lhs} = {rhs}" for lhs, rhs in eqs)

    rows_n, cols_n = m.shape
    n = s.numeric
    if n is None:
        if s.padded is not None:
            labels, cells = s.padded
            block(f"on the zero-padded input, as worked by hand ({rows_n}x{len(labels)})", s.y, labels, cells)
        elif s.padded_too_wide:
            lines.extend(["", f"(the matrix on the zero-padded input is wider than {MAX_SIDE} columns: not shown)"])
        dropped = ", the padding columns dropped" if s.padded is not None or s.padded_too_wide else ""
        block(f"y = M x{dropped} ({rows_n}x{cols_n})", s.y, s.x, s.matrix)
        equations("equations", [(lhs, _sum(t)) for lhs, t in zip(s.y, s.equations, strict=True)])
        equations(
            "gradient of the loss L with respect to each input: dL/dx = Mᵀ dL/dy, dL/dx_i = Σ_j dL/dy_j·M_ji",
            [(f"dL/d{v}", _sum(t)) for v, t in zip(s.x, s.gradients, strict=True)],
        )
        return "\n".join(lines) + "\n"
    lines.extend(["", "weights: " + ", ".join(f"{w} = {format_value(v)}" for w, v in n.weights)])
    block(f"M ({rows_n}x{cols_n})", s.y, s.x, [[format_value(v) for v in row] for row in n.matrix])
    if n.x is not None and n.y is not None and n.y_work is not None:
        lines.extend(["", f"x = {_vector(n.x)}"])
        work = zip(s.y, n.y_work, n.y, strict=True)
        equations(f"y = M x = {_vector(n.y)}", [(lhs, f"{_sum(t, _paren)} = {format_value(v)}") for lhs, t, v in work])
    if n.dy is not None and n.dx is not None and n.dx_work is not None:
        lines.extend(["", f"dL/dy = {_vector(n.dy)}"])
        work = zip(s.x, n.dx_work, n.dx, strict=True)
        grads = [(f"dL/d{v}", f"{_sum(t, _paren)} = {format_value(g)}") for v, t, g in work]
        equations(f"dL/dx = Mᵀ dL/dy = {_vector(n.dx)}", grads)
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- LaTeX


def _tex_name(name: str) -> str:
    """`x12` → `x_{12}`, `x1_10` → `x_{1,10}`, `dL/dy3` → `\\frac{\\partial L}{\\partial y_{3}}`, `0` → `0`."""
    if name.startswith("dL/d"):
        return rf"\frac{{\partial L}}{{\partial {_tex_name(name[4:])}}}"
    if name[:1].isalpha() and len(name) > 1:
        return f"{name[0]}_{{{name[1:].replace('_', ',')}}}"
    return name


def _tex_value(v: Value) -> str:
    text = format_value(v)
    if "/" not in text:
        return text
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    a, b = text.split("/")
    return rf"{sign}\tfrac{{{a}}}{{{b}}}"


def _tex_matrix(cells: list[list[str]]) -> str:
    return "\\begin{bmatrix}\n" + " \\\\\n".join(" & ".join(row) for row in cells) + "\n\\end{bmatrix}"


def _tex_vector(items: list[str]) -> str:
    return _tex_matrix([[v] for v in items])


def _tex_align(rows: list[tuple[str, list[str]]], per_line: int) -> list[str]:
    lines = []
    for lhs, terms in rows:
        chunks = [" + ".join(terms[i : i + per_line]) for i in range(0, len(terms), per_line)] or ["0"]
        lines.append(f"{lhs} &= " + " \\\\\n&\\quad + ".join(chunks))
    return [r"\begin{align*}", " \\\\\n".join(lines), r"\end{align*}"]


_TEX_ESCAPES = (
    ("\\", r"\textbackslash{}"),
    ("_", r"\_"),
    ("{", r"\{"),
    ("}", r"\}"),
    ("&", r"\&"),
    ("%", r"\%"),
    ("#", r"\#"),
    ("Σ", r"$\Sigma$"),
    ("·", r"$\cdot$"),
    ("→", r"$\to$"),
    ("ᵀ", r"$^T$"),
    ("≥", r"$\geq$"),
)

# \fit{...}: a display shrunk to the line width, then to most of the page height, whichever binds (graphicx only).
_TEX_FIT = r"""\newsavebox{\fitbox}
\newlength{\fith}
\newcommand{\fit}[1]{%
  \sbox{\fitbox}{$\displaystyle #1$}%
  \ifdim\wd\fitbox>\linewidth \sbox{\fitbox}{\resizebox{\linewidth}{!}{\usebox{\fitbox}}}\fi
  \setlength{\fith}{\ht\fitbox}\addtolength{\fith}{\dp\fitbox}%
  \ifdim\fith>0.8\textheight \sbox{\fitbox}{\resizebox*{!}{0.8\textheight}{\usebox{\fitbox}}}\fi
  \[\usebox{\fitbox}\]}"""


def _tex_text(s: str) -> str:
    for a, b in _TEX_ESCAPES:
        s = s.replace(a, b)
    return s


def render_latex(m: ConvMatrix, numeric: Numeric | None = None, padded: bool | None = None) -> str:
    """A complete LaTeX document (amsmath, graphicx) that compiles with pdflatex."""
    s = _shown(m, numeric, padded)
    tx, ty = [_tex_name(v) for v in s.x], [_tex_name(v) for v in s.y]
    out = [
        r"\documentclass{article}",
        r"\usepackage[margin=2cm]{geometry}",
        r"\usepackage{amsmath}",
        r"\usepackage{graphicx}",
        r"\setcounter{MaxMatrixCols}{" + str(MAX_SIDE + 1) + "}",
        r"\allowdisplaybreaks",
        _TEX_FIT,
        r"\begin{document}",
        r"\section*{" + _tex_text(_title(m)) + "}",
    ]
    for st in m.size_steps:
        out.append("\\[" + st.label.replace("_out", r"_{\text{out}}") + " = " + _worked(st, latex=True) + "\\]")
    out += [r"\begin{itemize}", *(r"\item " + _tex_text(line) for line in _notes(m)), r"\end{itemize}"]

    def fit(body: str) -> None:
        out.extend([r"\fit{", body, "}"])

    n = s.numeric
    if n is None:
        if s.padded is not None:
            labels, cells = s.padded
            out.append(r"On the zero-padded input, as worked by hand:")
            tex_cells = [[_tex_name(c) for c in row] for row in cells]
            fit(f"{_tex_vector(ty)} = {_tex_matrix(tex_cells)} {_tex_vector([_tex_name(v) for v in labels])}")
        out.append(r"$y = Mx$" + (", the padding columns dropped:" if s.padded is not None else ":"))
        fit(f"{_tex_vector(ty)} = {_tex_matrix([[_tex_name(c) for c in row] for row in s.matrix])} {_tex_vector(tx)}")
        eqs = [(lhs, [f"{_tex_name(a)} {_tex_name(b)}" for a, b in t]) for lhs, t in zip(ty, s.equations, strict=True)]
        out += _tex_align(eqs, 6)
        out.append(
            r"Gradient of the loss with respect to each input, $\partial L/\partial x = M^T\,\partial L/\partial y$:"
        )
        grads = [
            (_tex_name(f"dL/d{v}"), [f"{_tex_name(a)} {_tex_name(b)}" for a, b in t])
            for v, t in zip(s.x, s.gradients, strict=True)
        ]
        out += _tex_align(grads, 4)
    else:
        out.append("Weights: $" + ", ".join(f"{_tex_name(w)} = {_tex_value(v)}" for w, v in n.weights) + "$.")
        mat = _tex_matrix([[_tex_value(v) for v in row] for row in n.matrix])
        if n.x is not None and n.y is not None:
            xs, ys = _tex_vector([_tex_value(v) for v in n.x]), _tex_vector([_tex_value(v) for v in n.y])
            fit(f"{_tex_vector(ty)} = {mat} {xs} = {ys}")
        else:
            fit(f"M = {mat}")
        if n.dx is not None:
            out.append(r"$\partial L/\partial x = M^T\,\partial L/\partial y$:")
            fit(f"{_tex_vector([_tex_name('dL/d' + v) for v in s.x])} = {_tex_vector([_tex_value(v) for v in n.dx])}")
    out.append(r"\end{document}")
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- JSON


def _json_number(v: Value) -> int | float:
    return int(v) if isinstance(v, int) or v.denominator == 1 else float(v)


def to_dict(m: ConvMatrix, numeric: Numeric | None = None, padded: bool | None = None) -> dict[str, object]:
    """The JSON form: sizes, the matrix (entries as strings: a weight's name or "0"), equations and gradients as
    lists of [factor, factor] terms; numbers as ints, or floats where not whole (1/3 rounded)."""
    s = _shown(m, numeric, padded)
    out: dict[str, object] = {"op": m.op, "dims": m.dims, "input": list(m.input), "kernel": list(m.kernel)}
    out |= {"stride": list(m.stride), "padding": list(m.pad), "dilation": list(m.dilation)}
    if m.op == "convT":
        c = m.transpose_of()
        out["output_padding"] = list(m.output_padding)
        out["transpose_of"] = {
            "op": "conv",
            "input": list(c.input),
            "kernel": list(c.kernel),
            "stride": list(c.stride),
            "padding": list(c.pad),
            "dilation": list(c.dilation),
            "output": list(c.output),
        }
    out["output"] = list(m.output)
    out["output_size"] = [f"{st.label} = {_worked(st)}" for st in m.size_steps]
    out["notes"] = _notes(m)
    out |= {"rows": s.y, "columns": s.x, "matrix": s.matrix}
    if s.padded is not None:
        out["padded"] = {"columns": s.padded[0], "matrix": s.padded[1]}
    out["equations"] = {lhs: [list(t) for t in terms] for lhs, terms in zip(s.y, s.equations, strict=True)}
    out["gradients"] = {f"dL/d{v}": [list(t) for t in terms] for v, terms in zip(s.x, s.gradients, strict=True)}
    n = s.numeric
    if n is not None:
        res: dict[str, object] = {"weights": {w: _json_number(v) for w, v in n.weights}}
        res["matrix"] = [[_json_number(v) for v in row] for row in n.matrix]
        for key, values in (("x", n.x), ("y", n.y), ("dy", n.dy), ("dx", n.dx)):
            if values is not None:
                res[key] = [_json_number(v) for v in values]
        out["numeric"] = res
    return out


def render(m: ConvMatrix, fmt: str = "text", numeric: Numeric | None = None, padded: bool | None = None) -> str:
    """`text`, `md`, `latex` (a complete document) or `json`. `padded`: also the matrix on the zero-padded input
    (conv with padding; by default in 1-D only)."""
    if fmt == "json":
        return json.dumps(to_dict(m, numeric, padded), indent=2, ensure_ascii=False) + "\n"
    if fmt == "latex":
        return render_latex(m, numeric, padded)
    if fmt in ("text", "md"):
        return render_text(m, numeric, markdown=fmt == "md", padded=padded)
    raise CnnCalcError(f"format {fmt!r}: use one of {', '.join(FORMATS)}")
