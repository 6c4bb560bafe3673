"""The one walk over a graph that fills a Report."""

from __future__ import annotations

from ..errors import CnnCalcError, OpError, SpecError
from ..ir import Graph, Shape
from ..ops.base import Context, get_op
from ..report import Layer, Report, Settings, Totals
from . import rf


def analyze(graph: Graph, settings: Settings | None = None) -> Report:
    """Shapes, parameters, MACs, memory and receptive field of every layer, in order.

    Op errors carry no location; they get the file, line and layer here, once.
    """
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
    for node in graph.nodes:

        def fail(message: str, node=node) -> SpecError:  # type: ignore[no-untyped-def]
            return SpecError(message, source=graph.source, line=node.line, layer=node.name)

        try:
            op = get_op(node.op)
            count = len(node.inputs)
            if count < op.min_inputs or (op.max_inputs is not None and count > op.max_inputs):
                raise OpError(_arity(op.name, op.min_inputs, op.max_inputs, node.inputs))
            in_shapes = [shapes[i] for i in node.inputs]
            ctx = Context(count_biases=settings.count_biases, input_names=tuple(node.inputs))
            calc = op.calc({**op.defaults(), **node.args}, in_shapes, ctx)
        except CnnCalcError as exc:
            if isinstance(exc, SpecError):
                raise
            raise fail(str(exc)) from None
        warnings = []
        for w in calc.warnings:
            if settings.strict and w.code == "inexact":
                raise fail(w.message + " (--strict)")
            warnings.append(w.message)
        notes: list[str] = []
        state = rf.step(calc.rf, [fields[i] for i in node.inputs], in_shapes, calc.output, notes)
        warnings.extend(dict.fromkeys(notes))
        shapes[node.name] = calc.output
        fields[node.name] = state
        aux[node.name] = node.aux or (bool(node.inputs) and all(aux[i] for i in node.inputs))
        layers.append(
            Layer(
                name=node.name,
                op=op.name,
                inputs=list(node.inputs),
                output=calc.output,
                weights=calc.weights,
                biases=calc.biases,
                buffers=calc.buffers,
                macs=calc.macs,
                activation_bytes=calc.output.numel * settings.bytes_per_value,
                rf=rf.view(state),
                warnings=warnings,
                steps=calc.steps,
                line=node.line,
                aux=aux[node.name],
            )
        )
    inputs = [(n.name, shapes[n.name]) for n in graph.inputs]
    return Report(graph.name, inputs, settings, layers, Totals.of(layers))


def _arity(op: str, least: int, most: int | None, given: list[str]) -> str:
    got = f"got {len(given)}" + (f" ({', '.join(given)})" if given else "")
    if most == 0:
        return f"{op} takes no input, {got}"
    if most == 1:
        return f"{op} takes one input, {got}; use concat, add or mul to merge branches"
    return f"{op} needs at least {least} inputs (from=a,b), {got}"
