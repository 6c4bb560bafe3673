"""Convolutions: conv, dwconv, convT."""

from __future__ import annotations

from typing import Any

from ..errors import OpError
from ..expr import Step
from ..formulas import AxisOut, conv_out, conv_transpose_out, effective_kernel, same_padding
from ..ir import Shape
from .base import Calc, Context, Op, Warn, Window, boolean, make, need_map, padding, pair, register, whole

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
    sizes = []
    pads = []
    for axis, (n, label) in enumerate(((h, "H_out"), (w, "W_out"))):
        pad = resolve_padding(p, n, k[axis], s[axis], d[axis], axis)
        try:
            out = conv_out(label, n, k[axis], s[axis], pad, d[axis], ceil)
        except OpError as exc:
            raise OpError(f"{exc} (input {x.text()})") from None
        calc.steps.append(out.step)
        if not ceil and not out.exact:
            calc.warnings.append(_inexact("H" if axis == 0 else "W", n, out, pad, s[axis], k[axis], d[axis]))
        sizes.append(out.value)
        pads.append(pad)
    calc.rf = (
        Window.conv(effective_kernel(k[0], d[0]), s[0], pads[0][0]),
        Window.conv(effective_kernel(k[1], d[1]), s[1], pads[1][0]),
    )
    return sizes[0], sizes[1], (pads[0], pads[1])


def _inexact(axis: str, n: int, out: AxisOut, pad: tuple[int, int], s: int, k: int, d: int) -> Warn:
    k_eff = effective_kernel(k, d)
    q = out.quotient
    kind = "row" if axis == "H" else "column"
    dropped = f"the last {out.dropped} {kind}{'s' if out.dropped > 1 else ''}"
    from_input = max(out.dropped - pad[1], 0)
    if pad[1]:
        dropped += f" of the padded input ({from_input} of them real input)"
    else:
        dropped += " of the input"
    return Warn(
        "inexact",
        f"{axis}: ({n} + {pad[0] + pad[1]} - {k_eff})/{s} = {float(q):.2f} is not a whole number; "
        f"it is floored to {q.numerator // q.denominator}, giving {out.value}, and {dropped} "
        f"{'is' if out.dropped == 1 else 'are'} never read",
    )


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
            H_out=h_out, W_out=w_out, C_out=c_out, K_h=k[0], K_w=k[1], C_in=c_in, **grp,
        )  # fmt: skip
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
                H_in=h, W_in=w, C_in=c_in, C_out=c_out, K_h=k[0], K_w=k[1], **grp,
            )  # fmt: skip
        )
        return calc
