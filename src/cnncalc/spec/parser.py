"""Text spec version 1 -> Graph. One layer per line: `[name:] op [positional] [key=value ...]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import OpError, SpecError
from ..ir import Graph, Node
from ..ops.base import Op, boolean, get_op, suggest_key

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

    args: dict[str, Any] = {}
    inputs: list[str] | None = None
    if line.positional:
        if op.positional is None:
            raise fail(f"{op.name} takes no value before its keys, got {line.positional[0]!r}{_key_list(op)}")
        if len(line.positional) > 1:
            raise fail(
                f"{op.name} takes one {op.positional.help or op.positional.name}, got {' '.join(line.positional)}"
            )
        try:
            args[op.positional.name] = op.positional.read(line.positional[0])
        except OpError as exc:
            raise fail(f"{op.positional.help or op.positional.name}: {exc}") from None
    elif op.positional is not None and op.positional.required:
        raise fail(f"{op.name} needs its {op.positional.help or op.positional.name}, e.g. `{_example(op)}`")
    seen: set[str] = set()
    aux = False
    for key, value in line.keys:
        if key in seen:
            raise fail(f"{key}= is given twice")
        seen.add(key)
        if key == "aux":
            try:
                aux = boolean()[0](value)
            except ValueError as exc:
                raise fail(f"aux={value}: {exc}") from None
            continue
        if key == "from":
            if op.max_inputs == 0:
                raise fail(f"{op.name} takes no input, so from= does not apply")
            inputs = [v for v in value.split(",") if v]
            if not inputs:
                raise fail("from= needs at least one layer name")
            continue
        param = op.param(key)
        if param is None or param is op.positional:
            raise fail(f"unknown key {key!r} for {op.name}{suggest_key(op, key)}{_key_list(op)}")
        try:
            args[key] = param.read(value)
        except OpError as exc:
            raise fail(str(exc)) from None
    for param in op.keys:
        if param.required and param.name not in args:
            raise fail(f"{op.name} needs {param.name}= ({param.help}), e.g. `{_example(op)}`")
    if op.bias_follows_setting() and "bias" not in args:
        args["bias"] = defaults["bias"]
    if inputs is None:
        if op.max_inputs == 0:
            inputs = []
        elif op.min_inputs > 1:
            raise fail(f"{op.name} merges layers: name them with from=a,b")
        elif previous is None:
            raise fail(f"{op.name} has no input before it: the first layer must be `input HxWxC`")
        else:
            inputs = [previous]
    return Node(name, op.name, op.complete(args), inputs, line.number, aux)


def _key_list(op: Op) -> str:
    names = op.key_names()
    return f" (keys: {', '.join(names)})" if names else f" ({op.name} takes no keys)"


def _example(op: Op) -> str:
    examples = {
        "conv": "conv 64 k=3 p=1",
        "convT": "convT 64 k=4 s=2 p=1",
        "fc": "fc 1000",
        "input": "input 224x224x3",
        "maxpool": "maxpool k=2",
        "avgpool": "avgpool k=2",
        "dwconv": "dwconv k=3 p=1",
        "adaptiveavgpool": "adaptiveavgpool 7x7",
        "reshape": "reshape 7x7x64",
    }
    return examples.get(op.name, op.name)
