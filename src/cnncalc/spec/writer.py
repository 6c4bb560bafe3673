"""Graph -> text spec version 1, which `parse_spec` reads back to the same graph."""

from __future__ import annotations

from ..ir import Graph, Node
from ..ops.base import get_op


def write_spec(graph: Graph, title: str | None = None) -> str:
    biased = [n for n in graph.nodes if get_op(n.op).bias_follows_setting()]
    no_bias = bool(biased) and not any(n.args.get("bias", True) for n in biased)
    lines = [f"# {title or graph.name}"]
    if no_bias:
        lines.append("set bias=false")
    previous: str | None = None
    width = max((len(n.name) for n in graph.nodes), default=0) + 1
    for node in graph.nodes:
        lines.append(f"{node.name + ':':<{width}} " + _body(node, previous, no_bias))
        previous = node.name
    return "\n".join(lines) + "\n"


def _body(node: Node, previous: str | None, no_bias: bool) -> str:
    op = get_op(node.op)
    parts = [op.name]
    if op.positional is not None and op.positional.name in node.args:
        parts.append(op.positional.fmt(node.args[op.positional.name]))
    for param in op.keys:
        if param.name not in node.args:
            continue
        value = node.args[param.name]
        default = (not no_bias) if param.name == "bias" and op.bias_follows_setting() else param.default
        if value == default or (param.name == "s" and value == node.args.get("k") and op.name.endswith("pool")):
            continue
        parts.append(f"{param.name}={param.fmt(value)}")
    if node.inputs and node.inputs != [previous]:
        parts.append("from=" + ",".join(node.inputs))
    if node.aux:
        parts.append("aux=true")
    return " ".join(parts)
