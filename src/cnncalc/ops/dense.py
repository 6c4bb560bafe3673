"""Fully connected layers and shape changes: fc, flatten, reshape."""

from __future__ import annotations

from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import DENSE, FLATTEN, IDENTITY, SCRAMBLED, Calc, Context, Op, boolean, make, register, shape, whole


@register
class Linear(Op):
    name = "fc"
    aliases = ("linear", "dense")
    summary = "fully connected layer, over the last axis (channels) of its input, at every token or position"
    positional = make("out", whole(1), required=True, help="output features")
    keys = (
        make("bias", boolean(), True, help="learn a bias per output"),
        make("pointwise", boolean(), False, help="on an image or volume map: apply at each position, as a 1x1 conv"),
        make("shared", boolean(), False, help="its weights are an earlier layer's (called again): counted there"),
    )

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        pointwise = args.get("pointwise", False)
        if x.rank >= 2 and not pointwise and x.positions != 1:
            raise OpError(
                f"fc needs a vector, but its input is the feature map {x.text()}: "
                f"add a `flatten` layer before it (giving {x.numel}), or write pointwise=true to apply it at each "
                f"position, as nn.Linear on a channels-last map does"
            )
        f_in, f_out = x.c, args["out"]
        # A vector, or a 1x1 map as the spec has always read it, gives a vector; tokens and maps keep their axes.
        keeps_axes = x.rank == 1 or x.lead or (pointwise and x.rank >= 2)
        calc = Calc(x.with_channels(f_out) if keeps_axes else Shape(f_out), rf=IDENTITY if keeps_axes else DENSE)
        if not args.get("shared", False):
            calc.weights = calc.step(Step.of("weights", "F_in*F_out", F_in=f_in, F_out=f_out))
            if args.get("bias", True) and ctx.count_biases:
                calc.biases = calc.step(Step.of("biases", "F_out", F_out=f_out))
        rows = x.positions * x.repeats if keeps_axes else 1
        if rows > 1:
            calc.macs = calc.step(Step.of("MACs", "N*F_in*F_out", N=rows, F_in=f_in, F_out=f_out))
        else:
            calc.macs = calc.step(Step.of("MACs", "F_in*F_out", F_in=f_in, F_out=f_out))
        return calc


@register
class RadialBasis(Op):
    name = "rbf"
    summary = "Euclidean radial basis units (LeNet-5's output): fixed, not learnt, parameter vectors"
    positional = make("out", whole(1), required=True, help="output units")

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        if x.spatial and (x.h, x.w) != (1, 1):
            raise OpError(f"rbf needs a vector, but its input is the feature map {x.text()}: flatten it first")
        f_in, f_out = x.c, args["out"]
        calc = Calc(Shape(f_out), rf=DENSE)
        # LeCun et al. 1998 set these vectors by hand and keep them fixed: buffers, not parameters.
        calc.buffers = calc.step(Step.of("fixed parameter vectors", "F_in*F_out", F_in=f_in, F_out=f_out))
        calc.macs = calc.step(Step.of("MACs", "F_in*F_out", F_in=f_in, F_out=f_out))
        return calc


_LETTERS = {0: (), 1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@register
class Flatten(Op):
    name = "flatten"
    summary = "any tensor to a vector: H*W*C values (L*C, D*H*W*C)"

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        if not x.spatial and not x.lead:
            return Calc(x, rf=FLATTEN)
        calc = Calc(Shape(x.numel), rf=FLATTEN)
        values = dict(zip(_LETTERS[x.rank], x.sizes, strict=True))
        if x.rank == 2:
            values = {"H": x.h or 1, "W": x.w or 1}
        terms = [*values, "C"]
        if x.lead:
            values = {"B": x.repeats, **values}
            terms = ["B", *terms]
        calc.step(Step.of("features", "*".join(terms), **values, C=x.c))
        return calc


@register
class Reshape(Op):
    name = "reshape"
    aliases = ("view",)
    summary = "reinterpret the values as another shape (same count): HxWxC, LxC, DxHxWxC, N, or B*... with lead axes"
    positional = make("shape", shape(), required=True, help="HxWxC, LxC or N")
    keys = (
        make("copy", boolean(), False,
             help="the values are copied into a new tensor, as reshaping a transposed tensor does (memory only)"),
    )  # fmt: skip

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x, target = inputs[0], args["shape"]
        if x.numel != target.numel:
            raise OpError(f"cannot reshape {x.text()} ({x.numel} values) to {target.text()} ({target.numel} values)")
        if not target.spatial:
            rule = FLATTEN
        elif target.sizes == x.sizes and target.c == x.c:
            rule = IDENTITY
        elif target.c == x.c and target.positions == x.positions and x.spatial:
            rule = FLATTEN  # positions laid out anew (a map to tokens): what each one sees stays, no longer on a grid
        else:
            rule = SCRAMBLED
        return Calc(target, rf=rule)
