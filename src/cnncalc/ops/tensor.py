"""Tensor ops beyond maps and vectors: matrix products, attention, axis moves, padding, free parameters."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import (
    ATTEND,
    IDENTITY,
    SCRAMBLED,
    Calc,
    Context,
    Op,
    Window,
    axes_rule,
    boolean,
    choice,
    make,
    register,
    repeat_factor,
    shape,
    whole,
)


def _batch(a: tuple[int, ...], b: tuple[int, ...], what: str) -> tuple[int, ...]:
    """Broadcast two lists of batch axes (NumPy's rule, aligned on the right)."""
    out = []
    for i in range(max(len(a), len(b))):
        x = a[len(a) - 1 - i] if i < len(a) else 1
        y = b[len(b) - 1 - i] if i < len(b) else 1
        if x != y and 1 not in (x, y):
            raise OpError(f"{what}: batch axes {'x'.join(map(str, a))} and {'x'.join(map(str, b))} do not broadcast")
        out.append(max(x, y))
    return tuple(reversed(out))


def _as_matrix(x: Shape) -> tuple[tuple[int, ...], int, int]:
    """A tensor as (batch axes, rows, columns): the written axes, the last two being the matrix."""
    axes = x.axes()
    if len(axes) < 2:
        return (), 1, axes[0]
    return axes[:-2], axes[-2], axes[-1]


def _shape_of(batch: tuple[int, ...], rows: int, cols: int, vector: bool) -> Shape:
    if vector:
        return Shape.of(cols, (), batch)
    return Shape.of(cols, (rows,), batch)


@register
class MatMul(Op):
    name = "matmul"
    aliases = ("bmm", "mm")
    summary = "matrix product A @ B over the last two axes (batched over the others); bt=true multiplies by B^T"
    keys = (make("bt", boolean(), False, help="use B transposed (A @ B^T, as Q @ K^T)"),)
    min_inputs = 2
    max_inputs = 2

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        a, b = inputs
        batch_a, n, k = _as_matrix(a)
        batch_b, kb, m = _as_matrix(b)
        if args.get("bt", False):
            kb, m = m, kb
        if k != kb:
            names = ctx.input_names or ("A", "B")
            raise OpError(
                f"matmul needs A's columns to equal B's rows: {names[0]} gives {a.text()} ({k} columns), "
                f"{names[1]} gives {b.text()} ({kb} rows{', B transposed' if args.get('bt') else ''})"
            )
        batch = _batch(batch_a, batch_b, "matmul")
        calc = Calc(_shape_of(batch, n, m, not a.spatial and not a.lead), rf=SCRAMBLED)
        rep, reps = repeat_factor(math.prod(batch))
        calc.macs = calc.step(Step.of("MACs", f"{rep}N*K*M", **reps, N=n, K=k, M=m))
        return calc


@register
class Attention(Op):
    name = "attention"
    aliases = ("sdpa",)
    summary = (
        "scaled dot-product attention, softmax(Q K^T / sqrt(d) + mask) V, split into heads: one input (q = k = v), "
        "or from=q,k,v; qkv=true reads q, k and v side by side in one input's channels; mask=true takes a last "
        "input added to the logits (a relative-position bias)"
    )
    keys = (
        make("heads", whole(1), 1, help="attention heads (the channels split among them)"),
        make("qkv", boolean(), False, help="one input holding q, k and v side by side"),
        make("mask", boolean(), False, help="a last input added to the logits (attn_mask, a position bias)"),
    )
    min_inputs = 1
    max_inputs = 4

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        heads = args.get("heads", 1)
        mask = inputs[-1] if args.get("mask", False) else None
        tensors = inputs[:-1] if mask is not None else inputs
        if len(tensors) not in (1, 3):
            extra = " and the mask last" if mask is not None else " (mask=true adds the mask as the last)"
            raise OpError(f"attention takes one input (q = k = v) or three (from=q,k,v){extra}, got {len(tensors)}")
        if len(tensors) == 1:
            x = tensors[0]
            if args.get("qkv", False):
                if x.c % 3:
                    raise OpError(f"qkv=true needs channels that split in three (q, k, v), got {x.c}")
                x = x.with_channels(x.c // 3)
            q = k = v = x
        else:
            q, k, v = tensors
        for t in (q, k, v):
            if not t.spatial:
                raise OpError(f"attention needs a sequence LxC (tokens), but an input is a vector of {t.c}")
        if q.c != k.c:
            raise OpError(f"queries and keys need the same width, got {q.c} and {k.c}")
        if k.positions != v.positions:
            raise OpError(f"keys and values need the same length, got {k.positions} and {v.positions}")
        for t, what in ((q, "query"), (v, "value")):
            if t.c % heads:
                raise OpError(f"heads={heads} must divide the {t.c} {what} channels")
        batch = _batch(q.lead, _batch(k.lead, v.lead, "attention"), "attention")
        l_q, l_k = q.positions, k.positions
        if mask is not None:
            axes = mask.axes()
            if len(axes) < 2 or axes[-1] not in (1, l_k) or axes[-2] not in (1, l_q):
                raise OpError(
                    f"the mask {mask.text()} must end in {l_q}x{l_k} (queries x keys), or 1 where it broadcasts"
                )
        # Every query sees every key: a global field, unless lead axes hold windows whose tokens see only their own.
        calc = Calc(Shape.of(v.c, q.sizes, batch), rf=ATTEND if not batch else SCRAMBLED)
        rep, reps = repeat_factor(math.prod(batch))
        values = {**reps, "h": heads, "L_q": l_q, "L_k": l_k}
        qk = calc.step(Step.of("QK^T MACs", f"{rep}h*L_q*L_k*d_k", **values, d_k=q.c // heads))
        av = calc.step(Step.of("AV MACs", f"{rep}h*L_q*L_k*d_v", **values, d_v=v.c // heads))
        calc.step(Step.of("softmax (exponentials, not MACs)", f"{rep}h*L_q*L_k", **values))
        calc.macs = calc.step(Step.of("MACs", "QK + AV", QK=qk, AV=av))
        return calc


@register
class Gather(Op):
    name = "gather"
    aliases = ("index", "take")
    summary = "values of its input picked by a fixed index into a new shape (a relative-position bias table spread "
    summary += "over heads x L x L); no parameters, no MACs"
    positional = make("shape", shape(), required=True, help="the shape picked out, like 3*49x49")

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        return Calc(args["shape"], rf=SCRAMBLED)


def axis_order() -> tuple[Callable[[Any], tuple[int, ...]], Callable[[Any], str]]:
    def parse(raw: Any) -> tuple[int, ...]:
        items = raw if isinstance(raw, (tuple, list)) else str(raw).split(",")
        try:
            order = tuple(int(v) for v in items)
        except ValueError:
            raise ValueError("expected axis numbers separated by commas, like 2,0,1") from None
        if sorted(order) != list(range(len(order))):
            raise ValueError(f"{','.join(map(str, order))} is not an order of the axes 0..{len(order) - 1}")
        return order

    return parse, lambda v: ",".join(map(str, v))


@register
class Permute(Op):
    name = "permute"
    aliases = ("transpose",)
    summary = "reorder the written axes (2,0,1 turns HxWxC into CxHxW); the last axis becomes the channels"
    positional = make("order", axis_order(), required=True, help="the new order of the axes, like 2,0,1")

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x, order = inputs[0], args["order"]
        dims = x.dims()
        if x.lead and len(order) == len(x.axes()):
            # An order over every axis, lead ones included: as many lead axes come out as went in.
            out = [x.axes()[i] for i in order]
            lead = len(x.lead)
            moved = order != tuple(range(len(order)))
            return Calc(Shape.of(out[-1], tuple(out[lead:-1]), tuple(out[:lead])), rf=SCRAMBLED if moved else IDENTITY)
        if len(order) != len(dims):
            raise OpError(
                f"permute {','.join(map(str, order))} names {len(order)} axes, but {x.text()} has {len(dims)}"
            )
        out = [dims[i] for i in order]
        return Calc(
            Shape.of(out[-1], tuple(out[:-1]), x.lead), rf=IDENTITY if order == tuple(range(len(order))) else SCRAMBLED
        )


def pads() -> tuple[Callable[[Any], tuple[int, ...]], Callable[[Any], str]]:
    def parse(raw: Any) -> tuple[int, ...]:
        items = raw if isinstance(raw, (tuple, list)) else str(raw).split(",")
        values = []
        for v in items:
            text = str(v).strip()
            if not text.isdigit() or not text.isascii():
                raise ValueError("expected padding as N, or before,after per axis like 0,1,0,1 (H then W)")
            values.append(int(text))
        if len(values) != 1 and len(values) % 2:
            raise ValueError(
                "expected one number, or two per axis (before,after): 0,1,0,1 pads H by 0 and 1, W by 0 and 1"
            )
        return tuple(values)

    return parse, lambda v: ",".join(map(str, v))


@register
class Pad(Op):
    name = "pad"
    summary = "explicit padding: N on every side, or before,after per axis (0,1,0,1: H then W), as F.pad and TF same do"
    positional = make("p", pads(), required=True, help="N, or before,after per axis")
    keys = (make("mode", choice("zeros", "constant", "reflect", "replicate", "circular"), "zeros", help="fill"),)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x, p = inputs[0], args["p"]
        if not x.spatial:
            raise OpError(f"pad needs a map (LxC, HxWxC, DxHxWxC), but its input is a vector of {x.c}")
        rank = x.rank
        if len(p) == 1:
            p = p * (2 * rank)
        if len(p) != 2 * rank:
            raise OpError(f"pad gives {len(p) // 2} axes, but {x.text()} has {rank}: write before,after for each")
        calc = Calc(x)
        out = []
        mode = args.get("mode", "zeros")
        for a, n in enumerate(x.sizes):
            before, after = p[2 * a], p[2 * a + 1]
            # PyTorch reflects within the axis (padding below its size) and wraps around it at most once.
            if (mode == "reflect" and max(before, after) >= n) or (mode == "circular" and max(before, after) > n):
                most = n - 1 if mode == "reflect" else n
                raise OpError(
                    f"mode={mode} pads axis {a} by {before},{after}, but it is {n} long: PyTorch allows at most {most}"
                )
            out.append(calc.step(Step.of(f"axis {a} size", "N + P_1 + P_2", N=n, P_1=before, P_2=after)))
        calc.output = x.with_sizes(tuple(out))
        calc.rf = axes_rule([Window.conv(1, 1, p[2 * a]) for a in range(rank)])
        return calc


@register
class FreeTensor(Op):
    name = "param"
    aliases = ("parameter", "token")
    summary = (
        "a learnt tensor of its own (class token, position embedding, relative-position table); buffer=true: fixed"
    )
    positional = make("shape", shape(), required=True, help="its shape, like 1x768 or 197x768")
    keys = (
        make("buffer", boolean(), False, help="a fixed buffer (running statistics), not a learnt parameter"),
        make("const", boolean(), False, help="a fixed table made at construction (relative coordinates): not counted"),
        make("table", shape(), help="gathered from a learnt table of this shape (relative-position bias): it counts"),
    )
    min_inputs = 0
    max_inputs = 0

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        s = args["shape"]
        calc = Calc(s, rf=SCRAMBLED)
        if args.get("const", False):
            calc.step(Step.of("fixed values (neither parameters nor statistics: not counted)", "N", N=s.numel))
        elif args.get("buffer", False):
            calc.buffers = calc.step(Step.of("values", "N", N=s.numel))
        elif args.get("table") is not None:
            calc.weights = calc.step(Step.of("values of the table it is gathered from", "N", N=args["table"].numel))
        else:
            calc.weights = calc.step(Step.of("values", "N", N=s.numel))
        return calc
