"""The one walk over a graph that fills a Report."""

from __future__ import annotations

from ..errors import CnnCalcError, OpError, SpecError
from ..ir import Graph, Node, Shape
from ..ops.base import IDENTITY, Calc, Context, get_op
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
    # An op's figures depend only on its arguments and input shapes, so repeated blocks
    # (a ResNet stage, an EfficientNet stage) are worked out once per distinct layer.
    memo: dict[tuple[object, ...], Calc] = {}
    last_state: rf.State = None
    last_view = None
    for node in graph.nodes:

        def fail(message: str, node: Node = node) -> SpecError:
            return SpecError(message, source=graph.source, line=node.line, layer=node.name)

        try:
            op = get_op(node.op)
            count = len(node.inputs)
            if count < op.min_inputs or (op.max_inputs is not None and count > op.max_inputs):
                raise OpError(_arity(op.name, op.min_inputs, op.max_inputs, node.inputs))
            in_shapes = [shapes[i] for i in node.inputs]
            args = op.complete(node.args)
            try:
                key: tuple[object, ...] | None = (op.name, *args.items(), *in_shapes)
                calc = memo.get(key)  # type: ignore[arg-type]
            except TypeError:  # an argument that cannot be hashed: work it out every time
                key, calc = None, None
            if calc is None:
                calc = op.calc(args, in_shapes, Context(settings.count_biases, tuple(node.inputs)))
                if key is not None:
                    memo[key] = calc
        except CnnCalcError as exc:
            if isinstance(exc, SpecError):
                raise
            raise fail(str(exc)) from None
        warnings = []
        for w in calc.warnings:
            if settings.strict and w.code == "inexact":
                raise fail(w.message + " (--strict)")
            warnings.append(w.message)
        if calc.rf is IDENTITY:  # most layers: activations, norms, dropout
            state = fields[node.inputs[0]]
        else:
            notes: list[str] = []
            state = rf.step(calc.rf, [fields[i] for i in node.inputs], in_shapes, calc.output, notes)
            warnings.extend(dict.fromkeys(notes))
        if state is not last_state:
            last_state, last_view = state, rf.view(state)
        shapes[node.name] = calc.output
        fields[node.name] = state
        is_aux = aux[node.name] = node.aux or (bool(node.inputs) and all(aux[i] for i in node.inputs))
        layers.append(
            Layer(
                node.name,
                op.name,
                list(node.inputs),
                calc.output,
                calc.weights,
                calc.biases,
                calc.buffers,
                calc.macs,
                calc.output.numel * settings.bytes_per_value,
                last_view,
                warnings,
                calc.steps,
                node.line,
                is_aux,
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
