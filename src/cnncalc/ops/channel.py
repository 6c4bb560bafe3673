"""Channel bookkeeping: shuffle, slice, and the learnt per-channel scale."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import SCRAMBLED, Calc, Context, Op, boolean, integer, make, need_map, register, whole, written_axis


@register
class ChannelShuffle(Op):
    name = "shuffle"
    aliases = ("channelshuffle",)
    summary = "channel shuffle (ShuffleNet): interleave g groups of channels; no parameters"
    keys = (make("g", whole(1), 2, help="groups"),)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x, g = inputs[0], args["g"]
        need_map("shuffle", x)
        if x.c % g:
            raise OpError(f"shuffle g={g} must divide the {x.c} channels")
        return Calc(x)


def channel_selection() -> tuple[Callable[[Any], Any], Callable[[Any], str]]:
    """`a:b` (channels a..b-1) or a list `0,1,3,4`."""

    def parse(raw: Any) -> tuple[int, ...] | tuple[str, int, int]:
        if isinstance(raw, (tuple, list)):
            return tuple(int(v) for v in raw)
        text = str(raw)
        if ":" in text:
            start, _, stop = text.partition(":")
            a, b = int(start or 0), int(stop)
            if not 0 <= a < b:
                raise ValueError(f"{text}: write start:stop with 0 <= start < stop")
            return ("range", a, b)
        picks = tuple(int(v) for v in text.split(",") if v != "")
        if not picks or min(picks) < 0 or len(set(picks)) != len(picks):
            raise ValueError("expected start:stop or distinct channel numbers like 0,1,3")
        return picks

    def fmt(value: Any) -> str:
        if value and value[0] == "range":
            return f"{value[1]}:{value[2]}"
        return ",".join(map(str, value))

    return parse, fmt


@register
class Slice(Op):
    name = "slice"
    aliases = ("split", "select")
    summary = (
        "take some of the channels: start:stop, or a list such as 0,1,3,4 (channel split); axis=N for another axis"
    )
    positional = make("channels", channel_selection(), required=True, help="channels start:stop or a list")
    keys = (make("axis", integer(), -1, help="the axis sliced, counted in the written order (-1: channels)"),)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x, picked = inputs[0], args["channels"]
        dims = x.dims()
        axis = args.get("axis", -1)
        where = written_axis(x, axis)
        n = dims[where]
        what = "channels" if where == len(dims) - 1 else f"positions along axis {axis}"
        if picked[0] == "range":
            _, start, stop = picked
            if stop > n:
                raise OpError(f"{what} {start}:{stop} run past the {n} {what} of the input")
            count = stop - start
        else:
            if max(picked) >= n:
                raise OpError(f"{what.split()[0][:-1]} {max(picked)} does not exist: the input has 0..{n - 1}")
            count = len(picked)
        if where == len(dims) - 1:
            return Calc(x.with_channels(count))
        dims[where] = count
        return Calc(Shape.of(dims[-1], tuple(dims[:-1]), x.lead), rf=SCRAMBLED)


@register
class Scale(Op):
    name = "scale"
    aliases = ("layerscale", "affine")
    summary = "a learnt factor per channel (layer scale); bias=true adds a learnt shift (LeNet-5's subsampling)"
    keys = (make("bias", boolean(), False, help="also learn a shift per channel"),)

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        calc = Calc(x)
        calc.weights = calc.step(Step.of("factors", "C", C=x.c))
        if args.get("bias") and ctx.count_biases:
            calc.biases = calc.step(Step.of("shifts", "C", C=x.c))
        return calc
