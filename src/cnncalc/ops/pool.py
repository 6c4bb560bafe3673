"""Pooling: maxpool, avgpool, gap, adaptiveavgpool."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import OpError
from ..ir import Shape
from .base import GLOBAL, Calc, Context, Op, Window, boolean, make, need_map, padding, pair, register, size2d
from .conv import spatial_out


class _Pool(Op):
    positional = None
    keys = (
        make("k", pair(1), required=True, help="window size K or KhxKw"),
        make("s", pair(1), help="stride (defaults to k)"),
        make("p", padding(), (0, 0), help="padding: N, HxW, same or valid"),
        make("ceil", boolean(), False, help="ceil mode: keep a last partial window"),
    )

    @classmethod
    def complete(cls, args: dict[str, Any]) -> dict[str, Any]:
        full = super().complete(args)
        if full.get("s") is None and "k" in full:
            full["s"] = full["k"]  # the stride defaults to the window
        return full

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        _, _, c = need_map(self.name, x)
        k = args["k"]
        s = args.get("s") or k
        p = args.get("p", (0, 0))
        if p != "same":
            for axis in (0, 1):
                if 2 * p[axis] > k[axis]:
                    raise OpError(
                        f"padding {p[axis]} is more than half the window {k[axis]}, "
                        f"which PyTorch refuses: use p<={k[axis] // 2}"
                    )
        calc = Calc(Shape(c))
        h, w, _ = spatial_out(calc, x, k, s, p, (1, 1), ceil=args.get("ceil", False))
        calc.output = Shape(c, h, w)
        return calc


@register
class MaxPool(_Pool):
    name = "maxpool"
    summary = "max pooling (no parameters)"


@register
class AvgPool(_Pool):
    name = "avgpool"
    summary = "average pooling (no parameters)"


@register
class GlobalAvgPool(Op):
    name = "gap"
    aliases = ("globalavgpool",)
    summary = "global average pooling to 1x1xC"

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        _, _, c = need_map("gap", inputs[0])
        return Calc(Shape(c, 1, 1), rf=GLOBAL)


_MOST_ADAPTIVE = 1_000_000  # the field's widest window is found by visiting every output position


@register
class AdaptiveAvgPool(Op):
    name = "adaptiveavgpool"
    aliases = ("adaptivepool",)
    summary = "adaptive average pooling to a fixed HxW (PyTorch AdaptiveAvgPool2d)"
    positional = make("size", size2d(), required=True, help="output HxW")

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        h, w, c = need_map("adaptiveavgpool", inputs[0])
        oh, ow = args["size"]
        calc = Calc(Shape(c, oh, ow))
        if oh == 1 and ow == 1:
            calc.rf = GLOBAL
            return calc
        if max(oh, ow) > _MOST_ADAPTIVE:
            raise OpError(f"output {oh}x{ow} is too large for adaptive pooling: at most {_MOST_ADAPTIVE:,} a side")
        windows = []
        for n, o in ((h, oh), (w, ow)):
            # Window i covers [floor(i*n/o), ceil((i+1)*n/o)): equal windows when o divides n.
            widest = max(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))
            first = -(-n // o)
            windows.append(Window.of(widest - 1, Fraction(n, o), Fraction(first - 1, 2)))
        calc.rf = (windows[0], windows[1])
        return calc
