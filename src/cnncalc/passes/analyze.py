"""The one walk over a graph that fills a Report."""

from __future__ import annotations

from .._gc import gc_paused
from ..errors import CnnCalcError, OpError, SpecError
from ..ir import Graph, Node, Shape
from ..ops.base import IDENTITY, Calc, Context, Op, get_op
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
    # An op's figures depend only on its arguments, input shapes and the bias setting, so repeated
    # blocks (a ResNet stage) are worked out once, and a network analysed again costs only the walk.
    memo = _CALCS[settings.count_biases]
    if len(memo) > _CALC_LIMIT:
        memo.clear()
    strict, bytes_per_value, count_biases = settings.strict, settings.bytes_per_value, settings.count_biases
    ops: dict[str, Op] = {}
    append = layers.append
    for node in graph.nodes:
        names = node.inputs
        try:
            op = ops.get(node.op) or ops.setdefault(node.op, get_op(node.op))
            in_shapes = [shapes[i] for i in names]
            signature = node._signature if node._signature is not None else node.signature()
            calc = key = None
            if signature is not None:
                key = (signature, *in_shapes)
                calc = memo.get(key)
            if calc is None:
                count = len(names)
                if count < op.min_inputs or (op.max_inputs is not None and count > op.max_inputs):
                    raise OpError(_arity(op.name, op.min_inputs, op.max_inputs, names))
                calc = op.calc(op.complete(node.args), in_shapes, Context(count_biases, tuple(names)))
                if key is not None:
                    memo[key] = calc
        except CnnCalcError as exc:
            if isinstance(exc, SpecError):
                raise
            raise _located(graph, node, str(exc)) from None
        warnings = []
        for w in calc.warnings:
            if strict and w.code.startswith("inexact"):
                raise _located(graph, node, w.message + " (--strict)")
            if w.code != "inexact-padding":
                warnings.append(w.message)
        if calc.rf is IDENTITY:  # most layers: activations, norms, dropout
            state = fields[names[0]]
        else:
            notes: list[str] = []
            state = rf.step(calc.rf, [fields[i] for i in names], in_shapes, calc.output, notes)
            if notes:
                warnings.extend(dict.fromkeys(notes))
        output = calc.output
        name = node.name
        shapes[name] = output
        fields[name] = state
        from_aux = [aux[i] for i in names]
        is_aux = aux[name] = node.aux or (bool(names) and all(from_aux))
        if not is_aux and any(from_aux):
            branch = next(i for i in names if aux[i])
            raise _located(
                graph,
                node,
                f"takes input from {branch}, a training-only (aux) layer, but is not training-only itself: "
                f"inference would need it. Mark this layer aux=true, or take its input from elsewhere",
            )
        append(
            Layer(
                name,
                op.name,
                list(names),
                output,
                calc.weights,
                calc.biases,
                calc.buffers,
                calc.macs,
                output.numel * bytes_per_value,
                state,
                warnings,
                calc.steps,
                node.line,
                is_aux,
            )
        )
    inputs = [(n.name, shapes[n.name]) for n in graph.inputs]
    return Report(graph.name, inputs, settings, layers, Totals.of(layers))


_CALCS: dict[bool, dict[tuple[object, ...], Calc]] = {True: {}, False: {}}
_CALC_LIMIT = 50_000


def _located(graph: Graph, node: Node, message: str) -> SpecError:
    return SpecError(message, source=graph.source, line=node.line, layer=node.name)


def _arity(op: str, least: int, most: int | None, given: list[str]) -> str:
    got = f"got {len(given)}" + (f" ({', '.join(given)})" if given else "")
    if most == 0:
        return f"{op} takes no input, {got}"
    if most == 1:
        return f"{op} takes one input, {got}; use concat, add or mul to merge branches"
    return f"{op} needs at least {least} inputs (from=a,b), {got}"
