"""Convolutions: conv, dwconv, convT."""

from __future__ import annotations

from typing import Any

from ..errors import OpError
from ..expr import Step
from ..formulas import AxisOut, conv_out, conv_transpose_out, effective_kernel, same_padding
from ..ir import Shape
from .base import (
    Calc,
    Context,
    Op,
    Warn,
    Window,
    boolean,
    format_pair,
    make,
    need_map,
    padding,
    pair,
    register,
    whole,
)

BIAS = make("bias", boolean(), True, help="learn a bias per output channel")
KERNEL = make("k", pair(1), required=True, help="kernel size K or KhxKw")
STRIDE = make("s", pair(1), (1, 1), help="stride")
PAD = make("p", padding(), (0, 0), help="padding: N, HxW, same or valid")
DILATION = make("d", pair(1), (1, 1), help="dilation")
GROUPS = make("g", whole(1), 1, help="groups")


def resolve_padding(p: Any, n: int, k: int, s: int, d: int, axis: int) -> tuple[int, int]:
    if p == "same":
        return same_padding(n, k, s, d)
    return p[axis], p[axis]


def spatial_out(
    calc: Calc, x: Shape, k: tuple[int, int], s: tuple[int, int], p: Any, d: tuple[int, int],
    ceil: bool = False,
) -> tuple[int, int, tuple[tuple[int, int], tuple[int, int]]]:  # fmt: skip
    """Output H and W of a sliding window, with steps, warnings and receptive-field windows."""
    h, w, _ = need_map("a sliding window", x)
    pads = [resolve_padding(p, n, k[a], s[a], d[a], a) for a, n in enumerate((h, w))]
    _check_fits(x, k, s, d, pads, ceil)
    outs = [
        conv_out(label, n, k[a], s[a], pads[a], d[a], ceil) for a, (n, label) in enumerate(((h, "H_out"), (w, "W_out")))
    ]
    calc.steps.extend(o.step for o in outs)
    if not ceil:
        same = (h, pads[0], s[0], k[0], d[0]) == (w, pads[1], s[1], k[1], d[1])
        for a, (n, axis, unit) in enumerate(((h, "H", "row"), (w, "W", "column"))):
            message = _inexact(n, outs[a], pads[a], s[a], k[a], d[a], "row and column" if same else unit)
            if message:
                # Only padding left unread (a ResNet's 3x3/2 on an even map) is by design: shown under --strict.
                code = "inexact" if outs[a].remainder > pads[a][1] else "inexact-padding"
                calc.warnings.append(Warn(code, f"{'H and W' if same else axis}: {message}"))
            if same:
                break
    calc.rf = (
        Window.conv(effective_kernel(k[0], d[0]), s[0], pads[0][0]),
        Window.conv(effective_kernel(k[1], d[1]), s[1], pads[1][0]),
    )
    return outs[0].value, outs[1].value, (pads[0], pads[1])


def _check_fits(
    x: Shape, k: tuple[int, int], s: tuple[int, int], d: tuple[int, int], pads: list[tuple[int, int]], ceil: bool
) -> None:
    sizes = (x.h or 1, x.w or 1)
    k_eff = [effective_kernel(k[a], d[a]) for a in (0, 1)]
    padded = [sizes[a] + sum(pads[a]) for a in (0, 1)]
    # Ceil mode keeps a window that starts inside the input even if it overhangs (PyTorch does).
    slack = [s[a] - 1 if ceil else 0 for a in (0, 1)]
    if all(k_eff[a] <= padded[a] + slack[a] for a in (0, 1)):
        return
    kernel = format_pair(k) + (f" (dilated to {format_pair(tuple(k_eff))})" if max(d) > 1 else "")  # type: ignore[arg-type]
    where = f"its {sizes[0]}x{sizes[1]} input"
    if any(map(sum, pads)):
        where += f" padded to {padded[0]}x{padded[1]}"
    fits = [(padded[a] - 1) // d[a] + 1 for a in (0, 1)]
    hint = f"a kernel of at most {format_pair(tuple(fits))}"  # type: ignore[arg-type]
    need = [max(-(-(k_eff[a] - sizes[a]) // 2), 0) for a in (0, 1)]
    if not any(map(sum, pads)):
        hint += f", or padding p={format_pair(tuple(need))}"  # type: ignore[arg-type]
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
    plural = unit.replace("row", "rows").replace("column", "columns") if real > 1 else unit
    return message + f" and the last {real} input {plural} {'is' if real == 1 else 'are'} never read"


@register
class Conv(Op):
    name = "conv"
    summary = "2-D convolution"
    positional = make("out", whole(1), required=True, help="output channels")
    keys = (KERNEL, STRIDE, PAD, DILATION, GROUPS, BIAS)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        return conv_calc(inputs[0], args["out"], args, args.get("g", 1), ctx)


def conv_calc(x: Shape, c_out: int, args: dict[str, Any], g: int, ctx: Context) -> Calc:
    _, _, c_in = need_map("conv", x)
    if c_in % g:
        raise OpError(f"groups g={g} must divide the {c_in} input channels (input {x.text()})")
    if c_out % g:
        raise OpError(f"groups g={g} must divide the {c_out} output channels")
    k, s, d = args["k"], args.get("s", (1, 1)), args.get("d", (1, 1))
    calc = Calc(Shape(c_out))
    h_out, w_out, _ = spatial_out(calc, x, k, s, args.get("p", (0, 0)), d)
    calc.output = Shape(c_out, h_out, w_out)
    per_group = "C_in/g" if g > 1 else "C_in"
    grp = {"g": g} if g > 1 else {}
    calc.weights = calc.step(
        Step.of("weights", f"K_h*K_w*{per_group}*C_out", K_h=k[0], K_w=k[1], C_in=c_in, C_out=c_out, **grp)
    )
    if args.get("bias", True) and ctx.count_biases:
        calc.biases = calc.step(Step.of("biases", "C_out", C_out=c_out))
    calc.macs = calc.step(
        Step.of(
            "MACs",
            f"H_out*W_out*C_out*K_h*K_w*{per_group}",
            H_out=h_out,
            W_out=w_out,
            C_out=c_out,
            K_h=k[0],
            K_w=k[1],
            C_in=c_in,
            **grp,
        )
    )
    return calc


@register
class DepthwiseConv(Op):
    name = "dwconv"
    summary = "depthwise convolution: one filter per input channel (groups = channels)"
    keys = (KERNEL, STRIDE, PAD, DILATION, make("m", whole(1), 1, help="channel multiplier"), BIAS)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        _, _, c = need_map("dwconv", inputs[0])
        return conv_calc(inputs[0], c * args.get("m", 1), args, c, ctx)


@register
class ConvTranspose(Op):
    name = "convT"
    aliases = ("deconv", "convtranspose")
    summary = "transposed convolution (PyTorch ConvTranspose2d)"
    positional = make("out", whole(1), required=True, help="output channels")
    keys = (
        KERNEL,
        STRIDE,
        make("p", pair(0), (0, 0), help="padding N or HxW"),
        make("op", pair(0), (0, 0), help="output padding"),
        DILATION,
        GROUPS,
        BIAS,
    )

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        h, w, c_in = need_map("convT", x)
        c_out, g = args["out"], args.get("g", 1)
        if c_in % g or c_out % g:
            raise OpError(f"groups g={g} must divide both the {c_in} input and {c_out} output channels")
        k, s, p = args["k"], args.get("s", (1, 1)), args.get("p", (0, 0))
        op, d = args.get("op", (0, 0)), args.get("d", (1, 1))
        calc = Calc(Shape(c_out))
        sizes = []
        for axis, (n, label) in enumerate(((h, "H_out"), (w, "W_out"))):
            step = conv_transpose_out(label, n, k[axis], s[axis], p[axis], op[axis], d[axis])
            sizes.append(calc.step(step))
        calc.output = Shape(c_out, sizes[0], sizes[1])
        calc.rf = tuple(  # type: ignore[assignment]
            Window.transposed(effective_kernel(k[a], d[a]), s[a], p[a]) for a in (0, 1)
        )
        per_group = "C_out/g" if g > 1 else "C_out"
        grp = {"g": g} if g > 1 else {}
        calc.weights = calc.step(
            Step.of("weights", f"C_in*{per_group}*K_h*K_w", C_in=c_in, C_out=c_out, K_h=k[0], K_w=k[1], **grp)
        )
        if args.get("bias", True) and ctx.count_biases:
            calc.biases = calc.step(Step.of("biases", "C_out", C_out=c_out))
        # Each input value meets the whole kernel: PyTorch's FLOP counter and fvcore count it so.
        calc.macs = calc.step(
            Step.of(
                "MACs",
                f"H_in*W_in*C_in*{per_group}*K_h*K_w",
                H_in=h,
                W_in=w,
                C_in=c_in,
                C_out=c_out,
                K_h=k[0],
                K_w=k[1],
                **grp,
            )
        )
        return calc
