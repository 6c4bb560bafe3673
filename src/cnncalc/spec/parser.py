"""Text spec version 1 -> Graph. One layer per line: `[name:] op [positional] [key=value ...]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import OpError, SpecError
from ..ir import Graph, Node
from ..ops.base import Op, boolean, get_op, read_args

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
SETTINGS = ("bias",)


@dataclass
class _Line:
    number: int
    name: str | None
    op: str
    positional: list[str]
    keys: list[tuple[str, str]]


def parse_spec(text: str, source: str = "<spec>", name: str = "spec") -> Graph:
    """Parse a whole spec. Every error names the file, the line and the layer."""
    lines = [_split(raw, number, source) for number, raw in enumerate(text.splitlines(), start=1)]
    lines = [x for x in lines if x is not None]
    if not any(x.op != "set" for x in lines):
        raise SpecError("the spec is empty: start with an input line such as `input 224x224x3`", source=source)
    taken = {x.name for x in lines if x.name}
    counters: dict[str, int] = {}
    nodes: list[Node] = []
    defaults: dict[str, Any] = {"bias": True}
    previous: str | None = None
    for line in lines:
        if line.op == "set":
            _apply_settings(line, defaults, source)
            continue
        try:
            op = get_op(line.op)
        except OpError as exc:
            raise SpecError(str(exc), source=source, line=line.number, layer=line.name) from None
        layer = line.name or _auto_name(op, counters, taken)
        nodes.append(_node(line, op, layer, previous, defaults, source))
        previous = layer
    return Graph(name, nodes, source).sorted()


def _split(raw: str, number: int, source: str) -> _Line | None:
    text = raw.split("#", 1)[0].strip()
    if not text:
        return None
    tokens = text.split()
    name = None
    head = tokens[0]
    if head.endswith(":"):
        name = head[:-1]
        tokens = tokens[1:]
    elif ":" in head and "=" not in head:
        name, rest = head.split(":", 1)
        tokens = [rest, *tokens[1:]]
    elif len(tokens) > 1 and tokens[1] == ":":
        name, tokens = head, tokens[2:]
    if name is not None and not NAME.match(name):
        raise SpecError(
            f"{name!r} is not a usable layer name: use letters, digits, _ . or -, starting with a letter",
            source=source,
            line=number,
        )
    if not tokens:
        raise SpecError("a name but no op: write `name: op ...`", source=source, line=number, layer=name)
    positional: list[str] = []
    keys: list[tuple[str, str]] = []
    for token in tokens[1:]:
        if "=" in token:
            key, _, value = token.partition("=")
            if not key or not value:
                raise SpecError(
                    f"{token!r}: write key=value with no spaces, like k=3", source=source, line=number, layer=name
                )
            keys.append((key, value))
        elif keys:
            raise SpecError(
                f"{token!r} comes after key=value pairs; positional values go right after the op "
                "(or did you put spaces around '='?)",
                source=source,
                line=number,
                layer=name,
            )
        else:
            positional.append(token)
    return _Line(number, name, tokens[0], positional, keys)


def _apply_settings(line: _Line, defaults: dict[str, Any], source: str) -> None:
    where = {"source": source, "line": line.number}
    if line.positional or not line.keys:
        raise SpecError("write settings as `set bias=false`", **where)  # type: ignore[arg-type]
    for key, value in line.keys:
        if key not in SETTINGS:
            raise SpecError(f"unknown setting {key!r}; settings: {', '.join(SETTINGS)}", **where)  # type: ignore[arg-type]
        try:
            defaults[key] = boolean()[0](value)
        except ValueError as exc:
            raise SpecError(f"{key}={value}: {exc}", **where) from None  # type: ignore[arg-type]


def _auto_name(op: Op, counters: dict[str, int], taken: set[str]) -> str:
    """`input` for the first unnamed input, then `conv1`, `conv2`... skipping names in use."""
    base = op.name
    n = counters.get(base, 0)
    while True:
        n += 1
        candidate = base if base == "input" and n == 1 else f"{base}{n}"
        if candidate not in taken:
            break
    counters[base] = n
    taken.add(candidate)
    return candidate


def _node(line: _Line, op: Op, name: str, previous: str | None, defaults: dict[str, Any], source: str) -> Node:
    def fail(message: str) -> SpecError:
        return SpecError(message, source=source, line=line.number, layer=name)

    inputs: list[str] | None = None
    aux = False
    own_keys = []
    seen: set[str] = set()
    for key, value in line.keys:
        if key in seen:
            raise fail(f"{key}= is given twice")
        seen.add(key)
        if key == "aux":
            try:
                aux = boolean()[0](value)
            except ValueError as exc:
                raise fail(f"aux={value}: {exc}") from None
        elif key == "from":
            if op.max_inputs == 0:
                raise fail(f"{op.name} takes no input, so from= does not apply")
            inputs = [v for v in value.split(",") if v]
            if not inputs:
                raise fail("from= needs at least one layer name")
        else:
            own_keys.append((key, value))
    # Lines repeat (`conv 64 k=3 p=1` a hundred times): their arguments are read once.
    cache_key = (op.name, *line.positional, "|", *own_keys, defaults["bias"])
    cached = _PARSED.get(cache_key)
    if cached is None:
        try:
            cached = _PARSED[cache_key] = _read_args(op, line.positional, own_keys, defaults["bias"])
        except OpError as exc:
            raise fail(str(exc)) from None
    args, signature = cached
    if inputs is None:
        if op.max_inputs == 0:
            inputs = []
        elif op.min_inputs > 1:
            raise fail(f"{op.name} merges layers: name them with from=a,b")
        elif previous is None:
            raise fail(f"{op.name} has no input before it: the first layer must be `input HxWxC`")
        else:
            inputs = [previous]
    node = Node(name, op.name, args, inputs, line.number, aux)
    node._signature = signature
    return node


# Read arguments by (op, positional, keys, bias default), shared by the nodes that repeat them
# (a node's args are never changed after it is made).
_PARSED: dict[tuple[Any, ...], tuple[dict[str, Any], int | None]] = {}


def _read_args(
    op: Op, positional: list[str], keys: list[tuple[str, str]], bias: bool
) -> tuple[dict[str, Any], int | None]:
    args = read_args(op, positional, keys, bias)
    return args, Node("", op.name, args).signature()
