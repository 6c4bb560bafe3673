"""The input layer."""

from __future__ import annotations

from typing import Any

from ..ir import Shape
from .base import SOURCE, Calc, Context, Op, make, register, shape


@register
class Input(Op):
    name = "input"
    summary = "a network input: HxWxC image or N-vector"
    positional = make("shape", shape(), required=True, help="HxWxC or N")
    min_inputs = 0
    max_inputs = 0

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        return Calc(args["shape"], rf=SOURCE)
