"""Recurrent layers over a sequence of tokens: lstm, gru, rnn, as nn.LSTM, nn.GRU and nn.RNN compute them."""

from __future__ import annotations

from typing import Any, ClassVar

from ..errors import OpError
from ..expr import Step
from ..ir import Shape
from .base import ATTEND, SCRAMBLED, Calc, Context, Op, Param, boolean, choice, make, register, whole

_COMMON = (
    make("layers", whole(1), 1, help="stacked layers, each reading the one before (num_layers)"),
    make("bidirectional", boolean(), False, help="a second pass from the last step back, its output beside the first"),
    make("bias", boolean(), True, help="learn the biases b_ih and b_hh of every gate"),
)


class _Recurrent(Op):
    """The three share their arithmetic: per layer and direction, G gates of H units, each gate one product with the
    step's input (I) and one with the previous output (H_out); every weight is used once per step, so the MACs
    are the weights times the steps."""

    gates: ClassVar[int]
    positional = make("hidden", whole(1), required=True, help="hidden size H")

    def calc(self, args: dict[str, Any], inputs: list[Shape], ctx: Context) -> Calc:
        x = inputs[0]
        name = self.name
        if x.rank != 1:
            lead = "x".join(map(str, x.lead)) + "*" if x.lead else ""
            seq = f"{lead}{x.positions}x{x.c}" if x.spatial else f"{lead}1x{x.c}"
            got = f"the vector {x.text()}" if not x.spatial else x.text()
            which = " (or `permute` first to choose which axis is the time axis)" if x.rank > 1 else ""
            raise OpError(f"{name} reads a sequence of tokens LxC, but its input is {got}: add `reshape {seq}` "
                          f"before it{which}")  # fmt: skip
        h, layers = args["hidden"], args.get("layers", 1)
        d = 2 if args.get("bidirectional", False) else 1
        p = args.get("proj", 0)
        if p >= h:
            raise OpError(f"{name} proj={p} must be smaller than the hidden size {h} (PyTorch's proj_size)")
        h_o = p or h
        g, i, steps = self.gates, x.c, x.positions
        # Unidirectional steps see every earlier step, bidirectional ones every step: global, as attention's field;
        # lead axes keep sequences apart (a sequencer's rows), so no field holds across them.
        calc = Calc(x.with_channels(d * h_o), rf=ATTEND if not x.lead else SCRAMBLED)
        proj = " + P*H" if p else ""
        values: dict[str, int] = {"D": d, "G": g, "H": h, "H_o": h_o, **({"P": p} if p else {})}
        first = calc.step(Step.of("weights, layer 1", f"D*(G*H*(I + H_o){proj})", **values, I=i))
        weights = first
        if layers > 1:
            label = "weights, layer 2" if layers == 2 else f"weights, layers 2-{layers}"
            rest = calc.step(Step.of(label, f"(N - 1)*D*(G*H*(D*H_o + H_o){proj})", **values, N=layers))
            weights = calc.step(Step.of("weights", "W_1 + W_rest", W_1=first, W_rest=rest))
        calc.weights = weights
        if args.get("bias", True) and ctx.count_biases:
            calc.biases = calc.step(Step.of("biases", "N*D*2*G*H", N=layers, D=d, G=g, H=h))
        rows = {"B": x.repeats, "L": steps} if x.lead else {"L": steps}
        times = "B*L" if x.lead else "L"
        # PyTorch's meta run multiplies (x W_ih^T, h W_hh^T, and h_t W_hr^T) once per step and direction.
        calc.macs = calc.step(Step.of("MACs (every weight once a step)", f"{times}*W", **rows, W=weights))
        return calc


@register
class LSTM(_Recurrent):
    name = "lstm"
    summary = "long short-term memory over a sequence LxC (nn.LSTM): 4 gates; proj= projects h_t (proj_size)"
    gates = 4
    keys: ClassVar[tuple[Param, ...]] = (
        *_COMMON,
        make("proj", whole(0), 0, help="project each output h_t to this size (proj_size; 0 = none)"),
    )


@register
class GRU(_Recurrent):
    name = "gru"
    summary = "gated recurrent unit over a sequence LxC (nn.GRU): 3 gates"
    gates = 3
    keys: ClassVar[tuple[Param, ...]] = _COMMON


@register
class RNN(_Recurrent):
    name = "rnn"
    summary = "Elman recurrent layer over a sequence LxC (nn.RNN): h_t = act(x W_ih^T + h W_hh^T + b)"
    gates = 1
    keys: ClassVar[tuple[Param, ...]] = (
        *_COMMON,
        make("act", choice("tanh", "relu"), "tanh", help="the non-linearity (nonlinearity=)"),
    )
