"""The input layer."""

from __future__ import annotations

from typing import Any

from ..ir import Shape
from .base import SCRAMBLED, SOURCE, Calc, Context, Op, Warn, make, register, shape, text, whole


@register
class Input(Op):
    name = "input"
    summary = "a network input: HxWxC image or N-vector"
    positional = make("shape", shape(), required=True, help="HxWxC or N")
    min_inputs = 0
    max_inputs = 0

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        return Calc(args["shape"], rf=SOURCE)


@register
class Opaque(Op):
    """A layer cnncalc cannot work out itself (from the PyTorch bridge, or written by hand).

    Its output shape, params and buffers are given; its MACs are unknown, shown as "?" and
    counted apart, never as 0.
    """

    name = "opaque"
    summary = "a layer cnncalc does not know: output shape, params and buffers given, MACs unknown"
    positional = make("shape", shape(), required=True, help="output HxWxC or N")
    keys = (
        make("params", whole(0), 0, help="learnable parameters"),
        make("buffers", whole(0), 0, help="non-learnable buffers"),
        make("what", text(), "unknown", help="what it is, e.g. torch.nn.GRU"),
    )
    min_inputs = 1
    max_inputs = None

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        calc = Calc(args["shape"], weights=args.get("params", 0), buffers=args.get("buffers", 0), macs=None)
        calc.rf = SCRAMBLED
        calc.warnings.append(
            Warn("unknown", f"cnncalc does not know {args.get('what', 'unknown')}: its MACs are unknown (shown as ?)")
        )
        return calc
