"""Resizing: upsample."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import Calc, Context, Op, Window, choice, make, need_map, number, register


@register
class Upsample(Op):
    name = "upsample"
    summary = "resize by a scale factor, nearest or bilinear (PyTorch Upsample)"
    keys = (
        make("scale", number(0, open_low=True), Fraction(2), help="scale factor"),
        make("mode", choice("nearest", "bilinear"), "nearest", help="interpolation"),
    )

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        h, w, c = need_map("upsample", inputs[0])
        f = args.get("scale", Fraction(2))
        calc = Calc(Shape(c))
        # PyTorch floors N*F computed in double precision (45 * 1.4 gives 62, not 63): so does cnncalc.
        scale = float(f)
        sizes = [calc.step(Step.of(label, "floor(N*F)", N=n, F=scale)) for n, label in ((h, "H_out"), (w, "W_out"))]
        if min(sizes) < 1:
            raise OpError(f"scale {float(f):g} shrinks the {h}x{w} input to nothing")
        calc.output = Shape(c, sizes[0], sizes[1])
        # Output o samples input coordinate (o + 1/2)/F - 1/2 (half-pixel centres, as PyTorch
        # with align_corners=False): nearest reads one input, bilinear its two neighbours.
        span = Fraction(0 if args.get("mode", "nearest") == "nearest" else 1)
        window = Window.of(span, 1 / f, (1 / f - 1) / 2)
        calc.rf = (window, window)
        return calc
