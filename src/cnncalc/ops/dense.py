"""Fully connected layers and shape changes: fc, flatten, reshape."""

from __future__ import annotations

from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import DENSE, FLATTEN, SCRAMBLED, Calc, Context, Op, boolean, make, register, shape, whole


@register
class Linear(Op):
    name = "fc"
    aliases = ("linear", "dense")
    summary = "fully connected layer"
    positional = make("out", whole(1), required=True, help="output features")
    keys = (make("bias", boolean(), True, help="learn a bias per output"),)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        if x.spatial and (x.h, x.w) != (1, 1):
            raise OpError(
                f"fc needs a vector, but its input is the feature map {x.text()}: "
                f"add a `flatten` layer before it (giving {x.numel})"
            )
        f_in, f_out = x.c, args["out"]
        calc = Calc(Shape(f_out), rf=DENSE)
        calc.weights = calc.step(Step.of("weights", "F_in*F_out", F_in=f_in, F_out=f_out))
        if args.get("bias", True) and ctx.count_biases:
            calc.biases = calc.step(Step.of("biases", "F_out", F_out=f_out))
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


@register
class Flatten(Op):
    name = "flatten"
    summary = "feature map to vector: H*W*C values"

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        if not x.spatial:
            return Calc(x, rf=FLATTEN)
        calc = Calc(Shape(x.numel), rf=FLATTEN)
        calc.step(Step.of("features", "H*W*C", H=x.h or 1, W=x.w or 1, C=x.c))
        return calc


@register
class Reshape(Op):
    name = "reshape"
    aliases = ("view",)
    summary = "reinterpret the values as another shape (same count)"
    positional = make("shape", shape(), required=True, help="HxWxC or N")

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x, target = inputs[0], args["shape"]
        if x.numel != target.numel:
            raise OpError(f"cannot reshape {x.text()} ({x.numel} values) to {target.text()} ({target.numel} values)")
        return Calc(target, rf=FLATTEN if not target.spatial else SCRAMBLED)
