"""The one walk over a graph that fills a Report."""

from __future__ import annotations

from typing import Any

from .._gc import gc_paused
from ..errors import CnnCalcError, OpError, SpecError
from ..ir import Graph, Node, Shape
from ..ops.base import IDENTITY, Context, get_op
from ..report import Layer, Report, Settings, Totals
from . import rf


def analyze(graph: Graph, settings: Settings | None = None) -> Report:
    """Shapes, parameters, MACs, memory and receptive field of every layer, in order.

    Op errors carry no location; they get the file, line and layer here, once.
    """
    with gc_paused():
        return _analyze(graph, settings)


def _analyze(graph: Graph, settings: Settings | None) -> Report:
    settings = settings or Settings()
    shapes: dict[str, Shape] = {}
    fields: dict[str, rf.State] = {}
    layers: list[Layer] = []
    aux: dict[str, bool] = {}
    if not graph.nodes:
        raise SpecError("the network is empty: start with an input line such as `input 224x224x3`", source=graph.source)
    if not graph.inputs:
        raise SpecError(
            "the network has no input: start with a line such as `input 224x224x3`",
            source=graph.source,
            line=graph.nodes[0].line,
        )
    # An op's figures depend only on its arguments, input shapes and the settings, so repeated blocks
    # (a ResNet stage) are worked out once, and a network analysed again costs only the walk. The memo
    # keeps, per distinct layer, everything its row needs.
    memo = _ROWS.setdefault((settings.count_biases, settings.strict, settings.bytes_per_value), {})
    if len(memo) > _ROW_LIMIT:
        memo.clear()
    has_aux = any(n.aux for n in graph.nodes)
    append = layers.append
    for node in graph.nodes:
        names = node.inputs
        in_shapes = [shapes[i] for i in names]
        signature = node._signature if node._signature is not None else node.signature()
        key = None if signature is None else (signature, *in_shapes)
        row = None if key is None else memo.get(key)
        if row is None:
            row = _row(graph, node, in_shapes, settings)
            if key is not None:
                memo[key] = row
        op_name, output, weights, biases, buffers, macs, activation_bytes, warnings, steps, rule = row
        if rule is IDENTITY:  # most layers: activations, norms, dropout
            state = fields[names[0]]
        elif rule.__class__ is tuple:  # convolutions and pools
            state = rf.windows(fields[names[0]], rule, output)
        else:
            notes: list[str] = []
            state = rf.step(rule, [fields[i] for i in names], in_shapes, output, notes)
            if notes:
                warnings = warnings + tuple(dict.fromkeys(notes))
        name = node.name
        shapes[name] = output
        fields[name] = state
        is_aux = False
        if has_aux:
            from_aux = [aux[i] for i in names]
            is_aux = node.aux or (bool(names) and all(from_aux))
            if not is_aux and any(from_aux):
                branch = next(i for i in names if aux[i])
                raise _located(
                    graph,
                    node,
                    f"takes input from {branch}, a training-only (aux) layer, but is not training-only itself: "
                    f"inference would need it. Mark this layer aux=true, or take its input from elsewhere",
                )
            aux[name] = is_aux
        values = (name, op_name, names, output, weights, biases, buffers, macs, activation_bytes, state,
                  list(warnings), steps, node.line, is_aux)  # fmt: skip
        append(_new(Layer, values))
    inputs = [(n.name, shapes[n.name]) for n in graph.inputs]
    return Report(graph.name, inputs, settings, layers, Totals.of(layers))


def _row(graph: Graph, node: Node, in_shapes: list[Shape], settings: Settings) -> tuple[Any, ...]:
    """Work out one distinct layer: the op's figures, its warnings under the settings, its field rule."""
    try:
        op = get_op(node.op)
        count = len(node.inputs)
        if count < op.min_inputs or (op.max_inputs is not None and count > op.max_inputs):
            raise OpError(_arity(op.name, op.min_inputs, op.max_inputs, node.inputs))
        calc = op.calc(op.complete(node.args), in_shapes, Context(settings.count_biases, tuple(node.inputs)))
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
    return (op.name, calc.output, calc.weights, calc.biases, calc.buffers, calc.macs, activation_bytes,
            tuple(warnings), calc.steps, calc.rf)  # fmt: skip


# Rows of distinct layers by settings, then by (layer signature, input shapes): see `_analyze`.
_ROWS: dict[tuple[object, ...], dict[tuple[object, ...], tuple[Any, ...]]] = {}
_ROW_LIMIT = 50_000


_new = tuple.__new__  # a Layer without its Python-level __new__ (one per layer per load)


def _located(graph: Graph, node: Node, message: str) -> SpecError:
    return SpecError(message, source=graph.source, line=node.line, layer=node.name)


def _arity(op: str, least: int, most: int | None, given: list[str]) -> str:
    got = f"got {len(given)}" + (f" ({', '.join(given)})" if given else "")
    if most == 0:
        return f"{op} takes no input, {got}"
    if most == 1:
        return f"{op} takes one input, {got}; use concat, add or mul to merge branches"
    return f"{op} needs at least {least} inputs (from=a,b), {got}"
