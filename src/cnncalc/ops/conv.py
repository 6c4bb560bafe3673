"""Convolutions: conv, dwconv, convT."""

from __future__ import annotations

from typing import Any

from ..errors import OpError
from ..expr import Step
from ..formulas import AxisOut, conv_out, conv_transpose_out, effective_kernel, same_padding
from ..ir import AXIS_NAMES, Shape
from .base import (
    Calc,
    Context,
    Op,
    Warn,
    Window,
    axes_rule,
    boolean,
    fit,
    format_pair,
    make,
    need_spatial,
    padding,
    pair,
    register,
    repeat_factor,
    whole,
)

BIAS = make("bias", boolean(), True, help="learn a bias per output channel")
SHARED = make("shared", boolean(), False, help="its weights are an earlier layer's (called again): counted there")
KERNEL = make("k", pair(1), required=True, help="kernel size K or KhxKw")
STRIDE = make("s", pair(1), (1, 1), help="stride")
PAD = make("p", padding(), (0, 0), help="padding: N, HxW, same or valid")
DILATION = make("d", pair(1), (1, 1), help="dilation")
GROUPS = make("g", whole(1), 1, help="groups")


def resolve_padding(p: Any, n: int, k: int, s: int, d: int, axis: int) -> tuple[int, int]:
    if p == "same":
        return same_padding(n, k, s, d)
    return p[axis], p[axis]


OUT_LABELS = {1: ("L_out",), 2: ("H_out", "W_out"), 3: ("D_out", "H_out", "W_out")}
IN_LABELS = {1: ("L_in",), 2: ("H_in", "W_in"), 3: ("D_in", "H_in", "W_in")}
KERNEL_LABELS = {1: ("K",), 2: ("K_h", "K_w"), 3: ("K_d", "K_h", "K_w")}
_UNITS = {1: ("position",), 2: ("row", "column"), 3: ("frame", "row", "column")}


def spatial_out(
    calc: Calc, x: Shape, k: tuple[int, ...], s: tuple[int, ...], p: Any, d: tuple[int, ...],
    ceil: bool = False,
) -> tuple[int, ...]:  # fmt: skip
    """The output sizes of a sliding window along every axis of the map, with steps, warnings and the field rule.

    `k`, `s`, `d` and a numeric `p` are fitted to the map's axes (one number serves all)."""
    sizes = need_spatial("a sliding window", x)
    rank = len(sizes)
    k, s, d = fit(k, rank, "k"), fit(s, rank, "s"), fit(d, rank, "d")
    if p != "same":
        p = fit(p, rank, "p")
    pads = [resolve_padding(p, n, k[a], s[a], d[a], a) for a, n in enumerate(sizes)]
    _check_fits(sizes, k, s, d, pads, ceil)
    labels = OUT_LABELS[rank]
    outs = [conv_out(labels[a], n, k[a], s[a], pads[a], d[a], ceil) for a, n in enumerate(sizes)]
    calc.steps.extend(o.step for o in outs)
    if not ceil:
        axes = AXIS_NAMES[rank]
        same = all((sizes[a], pads[a], s[a], k[a], d[a]) == (sizes[0], pads[0], s[0], k[0], d[0]) for a in range(rank))
        units = _UNITS[rank]
        for a, n in enumerate(sizes):
            unit = ("row and column" if rank == 2 else " and ".join(units)) if same and rank > 1 else units[a]
            message = _inexact(n, outs[a], pads[a], s[a], k[a], d[a], unit)
            if message:
                # Only padding left unread (a ResNet's 3x3/2 on an even map) is by design: shown under --strict.
                code = "inexact" if outs[a].remainder > pads[a][1] else "inexact-padding"
                where = " and ".join(axes) if same else axes[a]
                calc.warnings.append(Warn(code, f"{where}: {message}"))
            if same:
                break
    calc.rf = axes_rule([Window.conv(effective_kernel(k[a], d[a]), s[a], pads[a][0]) for a in range(rank)])
    return tuple(o.value for o in outs)


def _check_fits(
    sizes: tuple[int, ...], k: tuple[int, ...], s: tuple[int, ...], d: tuple[int, ...], pads: list[tuple[int, int]],
    ceil: bool,
) -> None:  # fmt: skip
    axes = range(len(sizes))
    k_eff = tuple(effective_kernel(k[a], d[a]) for a in axes)
    padded = [sizes[a] + sum(pads[a]) for a in axes]
    # Ceil mode keeps a window that starts inside the input even if it overhangs (PyTorch does).
    slack = [s[a] - 1 if ceil else 0 for a in axes]
    if all(k_eff[a] <= padded[a] + slack[a] for a in axes):
        return
    kernel = format_pair(k) + (f" (dilated to {format_pair(k_eff)})" if max(d) > 1 else "")
    shown = "x".join(map(str, sizes)) if len(sizes) > 1 else f"{sizes[0]}-long"
    where = f"its {shown} input"
    if any(map(sum, pads)):
        where += " padded to " + "x".join(map(str, padded))
    fits = tuple((padded[a] - 1) // d[a] + 1 for a in axes)
    hint = f"a kernel of at most {format_pair(fits)}"
    need = tuple(max(-(-(k_eff[a] - sizes[a]) // 2), 0) for a in axes)
    if not any(map(sum, pads)):
        hint += f", or padding p={format_pair(need)}"
    raise OpError(f"kernel {kernel} is larger than {where}; it would fit with {hint}")


def _inexact(n: int, out: AxisOut, pad: tuple[int, int], s: int, k: int, d: int, unit: str) -> str | None:
    if out.exact:
        return None
    k_eff = effective_kernel(k, d)
    message = (
        f"({n} + {pad[0] + pad[1]} - {k_eff})/{s} + 1 = {float(out.quotient + 1):.2f} is not a whole number; "
        f"the output is floored to {out.value}"
    )
    real = max(out.dropped - pad[1], 0)
    if real == 0:
        return message + f" and only padding goes unread ({out.dropped} padded {unit})"
    plural = _plural(unit) if real > 1 else unit
    return message + f" and the last {real} input {plural} {'is' if real == 1 else 'are'} never read"


def _plural(unit: str) -> str:
    for word in ("row", "column", "frame", "position"):
        unit = unit.replace(word, word + "s")
    return unit


@register
class Conv(Op):
    name = "conv"
    summary = "convolution along the axes of its input: 1-D (LxC), 2-D (HxWxC) or 3-D (DxHxWxC)"
    positional = make("out", whole(1), required=True, help="output channels")
    keys = (KERNEL, STRIDE, PAD, DILATION, GROUPS, BIAS, SHARED)
    max_inputs = 2  # the second: its weight, made by other layers (a filter buffer, a weight computed in forward)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        own = len(inputs) == 1 and not args.get("shared", False)
        return conv_calc(inputs[0], args["out"], args, args.get("g", 1), ctx, own_weight=own)


def conv_calc(x: Shape, c_out: int, args: dict[str, Any], g: int, ctx: Context, *, own_weight: bool = True) -> Calc:
    """A convolution along the 1, 2 or 3 axes of its input; `own_weight=False` when the weight is another layer's
    output (`F.conv2d` with a weight computed in forward): then the layer holds no parameters of its own."""
    c_in = x.c
    sizes = need_spatial("conv", x)
    rank = len(sizes)
    if c_in % g:
        raise OpError(f"groups g={g} must divide the {c_in} input channels (input {x.text()})")
    if c_out % g:
        raise OpError(f"groups g={g} must divide the {c_out} output channels")
    k = fit(args["k"], rank, "k")
    calc = Calc(x.with_channels(c_out))
    out = spatial_out(calc, x, k, args.get("s", (1, 1)), args.get("p", (0, 0)), args.get("d", (1, 1)))
    calc.output = Shape.of(c_out, out, x.lead)
    per_group = "C_in/g" if g > 1 else "C_in"
    grp = {"g": g} if g > 1 else {}
    kernel = dict(zip(KERNEL_LABELS[rank], k, strict=True))
    k_terms = "*".join(kernel)
    if own_weight:
        calc.weights = calc.step(
            Step.of("weights", f"{k_terms}*{per_group}*C_out", C_in=c_in, C_out=c_out, **kernel, **grp)
        )
        if args.get("bias", True) and ctx.count_biases:
            calc.biases = calc.step(Step.of("biases", "C_out", C_out=c_out))
    outs = dict(zip(OUT_LABELS[rank], out, strict=True))
    rep, reps = repeat_factor(x.repeats)
    calc.macs = calc.step(
        Step.of(
            "MACs", f"{rep}{'*'.join(outs)}*C_out*{k_terms}*{per_group}", **reps, **outs, C_out=c_out, **kernel,
            C_in=c_in, **grp,
        )
    )  # fmt: skip
    return calc


@register
class DepthwiseConv(Op):
    name = "dwconv"
    summary = "depthwise convolution: one filter per input channel (groups = channels)"
    keys = (KERNEL, STRIDE, PAD, DILATION, make("m", whole(1), 1, help="channel multiplier"), BIAS, SHARED)
    max_inputs = 2  # the second: its weight, made by other layers (a blur filter buffer)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        need_spatial("dwconv", inputs[0])
        c = inputs[0].c
        own = len(inputs) == 1 and not args.get("shared", False)
        return conv_calc(inputs[0], c * args.get("m", 1), args, c, ctx, own_weight=own)


@register
class ConvTranspose(Op):
    name = "convT"
    aliases = ("deconv", "convtranspose")
    summary = "transposed convolution, 1-D, 2-D or 3-D (PyTorch ConvTranspose1d/2d/3d)"
    positional = make("out", whole(1), required=True, help="output channels")
    keys = (
        KERNEL,
        STRIDE,
        make("p", pair(0), (0, 0), help="padding N or HxW"),
        make("op", pair(0), (0, 0), help="output padding"),
        DILATION,
        GROUPS,
        BIAS,
        SHARED,
    )

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        sizes = need_spatial("convT", x)
        rank, c_in = len(sizes), x.c
        c_out, g = args["out"], args.get("g", 1)
        if c_in % g or c_out % g:
            raise OpError(f"groups g={g} must divide both the {c_in} input and {c_out} output channels")
        k, s, p = (
            fit(args["k"], rank, "k"),
            fit(args.get("s", (1, 1)), rank, "s"),
            fit(args.get("p", (0, 0)), rank, "p"),
        )
        op, d = fit(args.get("op", (0, 0)), rank, "op"), fit(args.get("d", (1, 1)), rank, "d")
        calc = Calc(x.with_channels(c_out))
        labels = OUT_LABELS[rank]
        out = tuple(
            calc.step(conv_transpose_out(labels[a], n, k[a], s[a], p[a], op[a], d[a])) for a, n in enumerate(sizes)
        )
        calc.output = Shape.of(c_out, out, x.lead)
        calc.rf = axes_rule([Window.transposed(effective_kernel(k[a], d[a]), s[a], p[a]) for a in range(rank)])
        per_group = "C_out/g" if g > 1 else "C_out"
        grp = {"g": g} if g > 1 else {}
        kernel = dict(zip(KERNEL_LABELS[rank], k, strict=True))
        k_terms = "*".join(kernel)
        if not args.get("shared", False):
            calc.weights = calc.step(
                Step.of("weights", f"C_in*{per_group}*{k_terms}", C_in=c_in, C_out=c_out, **kernel, **grp)
            )
            if args.get("bias", True) and ctx.count_biases:
                calc.biases = calc.step(Step.of("biases", "C_out", C_out=c_out))
        # Each input value meets the whole kernel: PyTorch's FLOP counter and fvcore count it so.
        ins = dict(zip(IN_LABELS[rank], sizes, strict=True))
        rep, reps = repeat_factor(x.repeats)
        calc.macs = calc.step(
            Step.of(
                "MACs", f"{rep}{'*'.join(ins)}*C_in*{per_group}*{k_terms}", **reps, **ins, C_in=c_in, C_out=c_out,
                **kernel, **grp,
            )
        )  # fmt: skip
        return calc
