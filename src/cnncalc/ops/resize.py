"""Resizing: upsample."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import Calc, Context, Op, Window, axes_rule, choice, make, need_spatial, number, register
from .conv import OUT_LABELS

# The interpolating modes PyTorch gives each rank (nn.Upsample refuses the others).
_MODE_RANKS = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
_RANK_MODES = {1: "linear", 2: "bilinear or bicubic", 3: "trilinear"}
_RANK_MAPS = {1: "1-D maps (LxC)", 2: "images (HxWxC)", 3: "volumes (DxHxWxC)"}


@register
class Upsample(Op):
    name = "upsample"
    summary = "resize by a scale factor along every axis, nearest or (bi/tri)linear (PyTorch Upsample)"
    keys = (
        make("scale", number(0, open_low=True), Fraction(2), help="scale factor"),
        make("mode", choice("nearest", "bilinear", "linear", "trilinear", "bicubic"), "nearest", help="interpolation"),
    )

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        sizes = need_spatial("upsample", x)
        mode = args.get("mode", "nearest")
        if mode != "nearest" and _MODE_RANKS[mode] != len(sizes):
            raise OpError(
                f"mode={mode} resizes {_RANK_MAPS[_MODE_RANKS[mode]]}, but the input is {x.text()}: PyTorch "
                f"refuses it; use {_RANK_MODES[len(sizes)]} or nearest"
            )
        f = args.get("scale", Fraction(2))
        calc = Calc(x)
        # PyTorch floors N*F computed in double precision (45 * 1.4 gives 62, not 63): so does cnncalc.
        scale = float(f)
        labels = OUT_LABELS[len(sizes)]
        out = tuple(
            calc.step(Step.of(label, "floor(N*F)", N=n, F=scale)) for n, label in zip(sizes, labels, strict=True)
        )
        if min(out) < 1:
            raise OpError(f"scale {float(f):g} shrinks the {x.text()} input to nothing")
        calc.output = x.with_sizes(out)
        # Output o samples input coordinate (o + 1/2)/F - 1/2 (half-pixel centres, as PyTorch
        # with align_corners=False): nearest reads one input, (bi/tri)linear its two neighbours.
        span = Fraction(0 if args.get("mode", "nearest") == "nearest" else 1)
        window = Window.of(span, 1 / f, (1 / f - 1) / 2)
        calc.rf = axes_rule([window] * len(sizes))
        return calc
