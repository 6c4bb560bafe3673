"""Pooling: maxpool, avgpool, gap, adaptiveavgpool."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import OpError
from ..ir import Shape
from .base import (
    GLOBAL,
    Calc,
    Context,
    Op,
    Window,
    axes_rule,
    boolean,
    fit,
    make,
    need_spatial,
    padding,
    pair,
    register,
    size2d,
)
from .conv import spatial_out


class _Pool(Op):
    positional = None
    keys = (
        make("k", pair(1), required=True, help="window size K, KhxKw or KdxKhxKw"),
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
        rank = len(need_spatial(self.name, x))
        k = fit(args["k"], rank, "k")
        s = args.get("s") or k
        p = args.get("p", (0, 0))
        if p != "same":
            p = fit(p, rank, "p")
            for axis in range(rank):
                if 2 * p[axis] > k[axis]:
                    raise OpError(
                        f"padding {p[axis]} is more than half the window {k[axis]}, "
                        f"which PyTorch refuses: use p<={k[axis] // 2}"
                    )
        calc = Calc(x)
        out = spatial_out(calc, x, k, s, p, (1,) * rank, ceil=args.get("ceil", False))
        calc.output = x.with_sizes(out)
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
    summary = "global average pooling to 1x1xC (1xC, 1x1x1xC for 1-D and 3-D maps)"

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        sizes = need_spatial("gap", x)
        return Calc(x.with_sizes((1,) * len(sizes)), rf=GLOBAL)


_MOST_ADAPTIVE = 1_000_000  # the field's widest window is found by visiting every output position


class _AdaptivePool(Op):
    positional = make("size", size2d(), required=True, help="output size: L, HxW or DxHxW")

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        sizes = need_spatial(self.name, x)
        out = fit(args["size"], len(sizes), "size")
        calc = Calc(x.with_sizes(out))
        if all(o == 1 for o in out):
            calc.rf = GLOBAL
            return calc
        if max(out) > _MOST_ADAPTIVE:
            raise OpError(
                f"output {'x'.join(map(str, out))} is too large for adaptive pooling: at most {_MOST_ADAPTIVE:,} a side"
            )
        windows = []
        for n, o in zip(sizes, out, strict=True):
            # Window i covers [floor(i*n/o), ceil((i+1)*n/o)): equal windows when o divides n.
            widest = max(-(-(i + 1) * n // o) - (i * n // o) for i in range(o))
            first = -(-n // o)
            windows.append(Window.of(widest - 1, Fraction(n, o), Fraction(first - 1, 2)))
        calc.rf = axes_rule(windows)
        return calc


@register
class AdaptiveAvgPool(_AdaptivePool):
    name = "adaptiveavgpool"
    aliases = ("adaptivepool",)
    summary = "adaptive average pooling to a fixed size (PyTorch AdaptiveAvgPool1d/2d/3d)"


@register
class AdaptiveMaxPool(_AdaptivePool):
    name = "adaptivemaxpool"
    summary = "adaptive max pooling to a fixed size (PyTorch AdaptiveMaxPool1d/2d/3d)"
