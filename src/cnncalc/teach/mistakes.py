"""The catalogue of slips students make, and one layer worked out as if a slip had been made.

A slip is replayed the way a student makes it: on the layer's own arguments or
input (a padding left out, a 3 read for a 5, one input channel), or on the
formula of its worked steps (the ``+ 1`` of the output size dropped, floor read
as ceil), and the op then works the layer out as usual. So a mistaken figure is
exactly the figure that slip gives, by the same code that gives the right one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ..errors import CnnCalcError
from ..expr import Step
from ..ir import Node, Shape
from ..ops.base import Context, get_op


@dataclass(frozen=True)
class Mistake:
    id: str
    description: str
    prior: float  # how often the seeds show it: orders diagnoses that fit equally well
    scopes: tuple[str, ...] = ("one", "all")  # a slip on one layer, or made on every layer
    shape: bool = False  # changes output sizes, so later layers see other inputs


CATALOGUE: dict[str, Mistake] = {
    m.id: m
    for m in (
        Mistake("no_bias", "biases left out", 0.9),
        Mistake("bias_counted", "biases counted, but the question asks for weights only", 0.9),
        Mistake("bn_buffers", "batch-norm running mean and variance counted as parameters", 0.8),
        Mistake("one_input_channel", "the first layer's input taken as 1 channel", 0.75, ("all",)),
        Mistake("no_input_channels", "input channels left out of the weights: K·K·C_out, not K·K·C_in·C_out", 0.7),
        Mistake("ignored_groups", "groups ignored: every filter counted across all input channels", 0.7),
        Mistake("flops_for_macs", "FLOPs (2 x MACs) given where MACs are asked", 0.7, ("all",)),
        Mistake("macs_for_flops", "MACs given where FLOPs (2 x MACs) are asked", 0.7, ("all",)),
        Mistake("missing_plus_one", "the + 1 of the output size left out: (N + 2P - K)/S", 0.6, shape=True),
        Mistake("ignored_padding", "padding left out of the output size", 0.6, shape=True),
        Mistake("shared_branches", "parallel branches counted once, as if they shared their layers", 0.6, ("all",)),
        Mistake("separate_trunk", "the shared trunk counted again for every branch", 0.5, ("all",)),
        Mistake("ignored_stride", "stride left out of the output size (taken as 1)", 0.5, shape=True),
        Mistake("ceil_instead_of_floor", "a non-whole output size rounded up, not down", 0.5, shape=True),
        Mistake("padding_one_side", "padding added on one side only: N + P - K, not N + 2P - K", 0.4, shape=True),
        Mistake("wrong_kernel", "another kernel size read for this layer", 0.4, ("one",), shape=True),
        Mistake("in_out_swapped", "input and output channels swapped: a bias per input channel", 0.4),
        Mistake(
            "arithmetic_slip",
            "the right expression worked out wrongly: a digit lost, doubled, swapped or miscopied",
            0.3,
        ),
    )
}

# Slips replayed on a layer (the rest act on the figure asked for, or on the whole network).
LAYER_MISTAKES = (
    "no_bias",
    "bias_counted",
    "bn_buffers",
    "one_input_channel",
    "no_input_channels",
    "ignored_groups",
    "missing_plus_one",
    "ignored_padding",
    "ignored_stride",
    "ceil_instead_of_floor",
    "padding_one_side",
    "wrong_kernel",
    "in_out_swapped",
)

KERNEL_SIZES = (1, 2, 3, 4, 5, 6, 7, 9, 11)
_CONVS = ("conv", "dwconv", "convT")
_WINDOWS = ("conv", "dwconv", "maxpool", "avgpool")
_BIASED = ("conv", "dwconv", "convT", "fc", "scale")


class Slip(NamedTuple):
    """One mistake as made on one layer: `arg` says which kernel for wrong_kernel."""

    mistake: str
    arg: int | None = None

    def label(self) -> str:
        return self.mistake if self.arg is None else f"{self.mistake} (k={self.arg})"


class Figures(NamedTuple):
    """What a layer comes to, right or under slips."""

    output: Shape
    weights: int
    biases: int
    buffers: int
    macs: int | None

    @property
    def params(self) -> int:
        return self.weights + self.biases


def slips_for(node: Node, in_shapes: list[Shape], reads_input: bool) -> list[Slip]:
    """The slips that could change this layer at all (the rest are not tried on it)."""
    op = get_op(node.op).name
    args = get_op(node.op).complete(node.args)
    out: list[Slip] = []
    if op in _BIASED and args.get("bias", True):
        out += [Slip("no_bias"), Slip("bias_counted"), Slip("in_out_swapped")]
    if op in ("bn",):
        out.append(Slip("bn_buffers"))
    if op in _CONVS and in_shapes and in_shapes[0].spatial:
        if op != "dwconv":
            out.append(Slip("no_input_channels"))
        if reads_input and in_shapes[0].c != 1:
            out.append(Slip("one_input_channel"))
        if op == "dwconv" or args.get("g", 1) > 1:
            out.append(Slip("ignored_groups"))
    if op in _WINDOWS:
        out += [Slip("missing_plus_one"), Slip("ceil_instead_of_floor")]
        p = args.get("p", (0, 0))
        if p == "same" or p != (0, 0):
            out += [Slip("ignored_padding"), Slip("padding_one_side")]
        if args.get("s") not in (None, (1, 1)):
            out.append(Slip("ignored_stride"))
        if op != "maxpool" and op != "avgpool":
            out += [Slip("wrong_kernel", k) for k in KERNEL_SIZES if (k, k) != args.get("k")]
    return out


def work_out(node: Node, in_shapes: list[Shape], slips: tuple[Slip, ...], count_biases: bool) -> Figures | None:
    """The layer's figures with these slips made (None: the slips cannot be made on it, or leave no output)."""
    op = get_op(node.op)
    args = op.complete(node.args)
    ids = {s.mistake for s in slips}
    shapes = list(in_shapes)
    name = op.name
    if "ignored_groups" in ids:
        if name == "dwconv":
            op, name = get_op("conv"), "conv"
            args = {**args, "out": shapes[0].c * args.get("m", 1), "g": 1}
        else:
            args = {**args, "g": 1}
    if "one_input_channel" in ids or "no_input_channels" in ids:
        c_in = 1 if "one_input_channel" in ids else args.get("g", 1)
        shapes[0] = shapes[0]._replace(c=c_in)
    if "ignored_padding" in ids:
        args = {**args, "p": (0, 0)}
    if "ignored_stride" in ids:
        args = {**args, "s": (1, 1)}
    for slip in slips:
        if slip.mistake == "wrong_kernel":
            args = {**args, "k": (slip.arg, slip.arg)}
    try:
        calc = op.calc(args, shapes, Context(count_biases, tuple(node.inputs)))
    except (CnnCalcError, ArithmeticError, KeyError, TypeError, ValueError):
        return None
    output, weights, biases, buffers, macs = calc.output, calc.weights, calc.biases, calc.buffers, calc.macs
    if ids & {"missing_plus_one", "ceil_instead_of_floor", "padding_one_side"}:
        redone = _redo_sizes(calc.steps, ids)
        if redone is None:
            return None
        h, w, macs_step = redone
        output = output.with_sizes((h, w) if w is not None else (h,))
        if macs_step is not None:
            macs = int(macs_step.value)
    if "one_input_channel" in ids or "no_input_channels" in ids:
        output = output._replace(c=calc.output.c)
    if "in_out_swapped" in ids and biases:
        biases = in_shapes[0].c
    if "no_bias" in ids:
        biases = 0
    if "bn_buffers" in ids:
        weights, buffers = weights + buffers, 0
    return Figures(output, weights, biases, buffers, macs)


def _redo_sizes(steps: list[Step], ids: set[str]) -> tuple[int, int, Step | None] | None:
    """Output sizes from the size steps' formulas as the student misread them, and the MACs step again."""
    sizes: dict[str, int] = {}
    macs_step = None
    for step in steps:
        if step.label in ("H_out", "W_out") and ("floor(" in step.formula or "ceil(" in step.formula):
            formula = step.formula
            if "missing_plus_one" in ids:
                formula = formula.removesuffix(" + 1")
            if "ceil_instead_of_floor" in ids:
                formula = formula.replace("floor(", "ceil(")
            values = dict(step.values)
            if "padding_one_side" in ids:
                if "P" not in values:
                    return None
                formula = formula.replace("2*P", "P")
            value = Step.of(step.label, formula, **values).value
            if value != int(value) or value < 1:
                return None
            sizes[step.label] = int(value)
        elif step.label == "MACs" and "H_out" in step.values:
            values = {**step.values, **{k: v for k, v in sizes.items() if k in step.values}}
            macs_step = Step.of(step.label, step.formula, **values)
    if "H_out" not in sizes:
        return None
    return sizes["H_out"], sizes.get("W_out", sizes["H_out"]), macs_step


def describe(slip: Slip, layer: str | None) -> str:
    """A slip in words, on a layer or on every layer."""
    text = CATALOGUE[slip.mistake].description
    if slip.mistake == "wrong_kernel" and slip.arg is not None:
        text = f"kernel {slip.arg} used"
    return f"{text} ({layer})" if layer else text
