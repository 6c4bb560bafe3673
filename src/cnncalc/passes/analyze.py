"""The one walk over a graph that fills a Report."""

from __future__ import annotations

from collections import Counter
from itertools import chain, count
from operator import attrgetter, itemgetter
from typing import Any

from .._gc import gc_paused
from ..errors import CnnCalcError, OpError, SpecError
from ..ir import Graph, Node, Shape, inputs_list, shape_too_large
from ..ops.base import IDENTITY, Context, get_op
from ..report import Report, Settings, Totals, Walk
from . import rf


def analyze(graph: Graph, settings: Settings | None = None) -> Report:
    """Shapes, parameters, MACs, memory and receptive field of every layer, in order.

    Op errors carry no location; they get the file, line and layer here, once.
    """
    with gc_paused():
        return _analyze(graph, settings)


_NAME, _INPUTS, _LINE = attrgetter("name"), attrgetter("inputs"), attrgetter("line")
_SIGNATURE = attrgetter("_signature")
_INFO = attrgetter("_signature", "aux", "op", "args")  # ir.Columns' (signature, aux, op, args)


def _analyze(graph: Graph, settings: Settings | None) -> Report:
    settings = settings or Settings()
    columns = graph._node_columns()  # a parsed graph is read from its columns, without a Node per layer
    if columns is None:  # the same columns, read from the nodes in C calls (this runs on every zoo load)
        nodes = graph.nodes
        if None in map(_SIGNATURE, nodes):
            for n in nodes:
                n.signature()
        names = list(map(_NAME, nodes))
        sources: list[Any] = list(map(_INPUTS, nodes))
        lines = list(map(_LINE, nodes))
        infos: Any = list(map(_INFO, nodes))
        referenced = set(chain.from_iterable(sources))
    else:
        names, sources, infos, lines, referenced = columns
    if not names:
        raise SpecError("the network is empty: start with an input line such as `input 224x224x3`", source=graph.source)
    if not any(i[2] == "input" for i in infos):  # stops at the first input, usually the first layer
        raise SpecError(
            "the network has no input: start with a line such as `input 224x224x3`", source=graph.source, line=lines[0]
        )
    # An op's figures depend only on its arguments, input shapes and the settings, so repeated blocks
    # (a ResNet stage) are worked out once, and a network analysed again costs only the walk. The memo
    # keeps, per distinct layer, everything its row needs.
    memo = _ROWS.setdefault((settings.count_biases, settings.strict, settings.bytes_per_value), {})
    if len(memo) > _ROW_LIMIT:
        memo.clear()
    # Output shape and field by name, kept only for the layers `referenced` by name (the layer before is
    # carried along, and a parsed graph names only its from= layers): in a parsed chain, none.
    shapes: dict[str, Shape] = {}
    fields: dict[str, Any] = {}
    rows: list[tuple[Any, ...]] = []
    states: list[Any] = []
    add_row, add_state = rows.append, states.append
    aux: dict[str, bool] = {}  # filled from the first training-only layer on; a layer not in it is not one
    aux_bytes = aux_macs = 0
    notes_of: dict[str, tuple[str, ...]] = {}  # warnings of layers with more than their row's
    found: list[tuple[str, Shape]] = []  # the input layers
    Field = rf.Field  # noqa: N806
    as_field = _Fields().get  # rf.py's Field for a window's plain tuple, made once per tuple
    previous = output = state = None  # the layer before: its name, output shape and field
    for name, inputs, info in zip(names, sources, infos, strict=True):
        if inputs.__class__ is str:  # the layer before, in a parsed graph: most layers
            in_shapes = None
            row = memo.get((info[0], output))
        else:
            if len(inputs) == 1:
                one = inputs[0]
                in_shapes = None
                if one != previous:
                    output, state = shapes[one], fields[one]
                row = memo.get((info[0], output))
            else:
                in_shapes = [shapes[i] for i in inputs]
                state = fields[inputs[0]] if inputs else None
                row = memo.get((info[0], *in_shapes))
        # From here `output` and `state` are those of the (first) input, until the row replaces them.
        if row is None:
            shapes_in = [output] if in_shapes is None else in_shapes
            row = _new_row(graph, memo, name, inputs, info, lines[len(rows)], shapes_in, settings)
        rule = row[9]
        if rule is IDENTITY:  # most layers (activations, norms, dropout): the field passes through
            output = row[1]
        elif rule.__class__ is tuple:  # convolutions and pools: rf.windows written out, its Field kept as a tuple
            output = row[1]
            if state.__class__ is tuple or state.__class__ is Field:
                if state.__class__ is tuple:
                    size, jump, start2, _, extent, size_w, jump_w, start2_w, _, extent_w = state
                else:
                    (size, jump, start2, _, extent), (size_w, jump_w, start2_w, _, extent_w), _, _ = state
                (span, stride, offset2), (span_w, stride_w, offset2_w) = rule
                sizes = output[1]  # one or two axes: a 1-D map's W is a stand-in of one unit
                state = (size + span * jump, jump * stride, start2 + offset2 * jump, sizes[0], extent,
                         size_w + span_w * jump_w, jump_w * stride_w, start2_w + offset2_w * jump_w,
                         sizes[1] if len(sizes) > 1 else 1, extent_w)  # fmt: skip
        else:
            notes: list[str] = []
            if in_shapes is None:
                ins, in_shapes = [as_field(state)], [output]
            else:
                ins = [as_field(fields[i]) for i in inputs]
            output = row[1]
            state = rf.step(rule, ins, in_shapes, output, notes)
            if notes:
                notes_of[name] = row[7] + tuple(dict.fromkeys(notes))
            if not inputs and info[2] == "input":
                found.append((name, output))
        if referenced and name in referenced:
            shapes[name] = output
            fields[name] = state
        previous = name
        add_row(row)
        add_state(state)
        if aux or info[1]:
            from_aux = [aux.get(i, False) for i in inputs_list(inputs)]
            is_aux = info[1] or (bool(from_aux) and all(from_aux))
            if not is_aux and any(from_aux):
                branch = next(i for i in inputs_list(inputs) if aux.get(i, False))
                raise SpecError(
                    f"takes input from {branch}, a training-only (aux) layer, but is not training-only itself: "
                    f"inference would need it. Mark this layer aux=true, or take its input from elsewhere",
                    source=graph.source,
                    line=lines[len(rows) - 1],
                    layer=name,
                )
            aux[name] = is_aux
            if is_aux:  # in the params, not in the inference MACs or memory
                aux_bytes += row[6]
                aux_macs += row[5] or 0
    # The totals from each distinct row times its layers (params of every layer, as PyTorch counts a model).
    weights = biases = buffers = macs = activation_bytes = 0
    unknown_rows = False
    serials = list(map(_SERIAL, rows))
    distinct = dict(zip(serials, rows, strict=True))
    for serial, times in Counter(serials).items():
        row = distinct[serial]
        weights += row[2] * times
        biases += row[3] * times
        buffers += row[4] * times
        activation_bytes += row[6] * times
        if row[5] is None:
            unknown_rows = True
        else:
            macs += row[5] * times
    macs -= aux_macs
    activation_bytes -= aux_bytes
    totals = Totals(weights + biases, weights, biases, buffers, macs, 2 * macs, activation_bytes)
    unknown = [n for n, row in zip(names, rows, strict=True) if row[5] is None] if unknown_rows else []
    aux_names = {n for n, flag in aux.items() if flag}
    walk = Walk(names, sources, rows, states, lines, notes_of, aux_names, unknown)
    return Report._of_walk(graph.name, found, settings, walk, totals)


class _Fields(dict[int, Any]):
    """The Field of each plain state, by identity (a state merged many times, as in DenseNet, is made once)."""

    def get(self, state: Any) -> Any:  # type: ignore[override]
        if state.__class__ is not tuple:
            return state
        made = dict.get(self, id(state))
        if made is None or made[0] is not state:
            made = self[id(state)] = (state, field_of(state))
        return made[1]


def field_of(state: Any) -> Any:
    """A field state as rf.py keeps it: the walk keeps a window's result as a plain 10-tuple (two axes)."""
    if state.__class__ is tuple:
        return rf.Field(rf.Axis(*state[:5]), rf.Axis(*state[5:]))
    return state


def _new_row(
    graph: Graph,
    memo: dict[tuple[Any, ...], tuple[Any, ...]],
    name: str,
    inputs: Any,
    info: tuple[Any, ...],
    line: int | None,
    in_shapes: list[Shape],
    settings: Settings,
) -> tuple[Any, ...]:
    signature, node_aux, op, args = info
    row = _row(graph, Node(name, op, args, inputs_list(inputs), line, node_aux), in_shapes, settings)
    if signature is not None:  # None: arguments that cannot be hashed, worked out every time
        memo[(signature, *in_shapes)] = row
    return row


def _row(graph: Graph, node: Node, in_shapes: list[Shape], settings: Settings) -> tuple[Any, ...]:
    """Work out one distinct layer: the op's figures, its warnings under the settings, its field rule."""
    try:
        op = get_op(node.op)
        count = len(node.inputs)
        if count < op.min_inputs or (op.max_inputs is not None and count > op.max_inputs):
            raise OpError(_arity(op.name, op.min_inputs, op.max_inputs, node.inputs))
        calc = op.calc(op.complete(node.args), in_shapes, Context(settings.count_biases, tuple(node.inputs)))
        too_large = shape_too_large(calc.output)
        if too_large:  # refused here, so no later layer spends work on it
            raise OpError(too_large)
    except CnnCalcError as exc:
        if isinstance(exc, SpecError):
            raise
        raise _located(graph, node, str(exc)) from None
    warnings = []
    for w in calc.warnings:
        if settings.strict and w.code.startswith("inexact"):
            raise _located(graph, node, w.message + " (--strict)")
        if w.code != "inexact-padding":
            warnings.append(w.message)
    activation_bytes = calc.output.numel * settings.bytes_per_value
    # Then the row's JSON entry once made, per layout (see report.py), and a number of its own.
    return (op.name, calc.output, calc.weights, calc.biases, calc.buffers, calc.macs, activation_bytes,
            tuple(warnings), calc.steps, calc.rf, [None, None], next(_SERIALS))  # fmt: skip


# Rows of distinct layers by settings, then by (layer signature, input shapes): see `_analyze`.
_ROWS: dict[tuple[object, ...], dict[tuple[object, ...], tuple[Any, ...]]] = {}
_ROW_LIMIT = 50_000
_SERIALS = count()
_SERIAL = itemgetter(11)


def _located(graph: Graph, node: Node, message: str) -> SpecError:
    return SpecError(message, source=graph.source, line=node.line, layer=node.name)


def _arity(op: str, least: int, most: int | None, given: list[str]) -> str:
    got = f"got {len(given)}" + (f" ({', '.join(given)})" if given else "")
    if most == 0:
        return f"{op} takes no input, {got}"
    if most == 1:
        return f"{op} takes one input, {got}; use concat, add or mul to merge branches"
    return f"{op} needs at least {least} inputs (from=a,b), {got}"
