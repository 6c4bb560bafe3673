"""Text spec version 1 -> Graph. One layer per line: `[name:] op [positional] [key=value ...]`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._gc import gc_paused
from ..errors import OpError, SpecError
from ..ir import Graph, Node
from ..ops.base import Op, boolean, get_op, read_args

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
SETTINGS = ("bias",)

# How a layer finds its inputs: the layer before it, none, its from= list, or (an error) a merge without from=.
_PREVIOUS, _NONE, _FROM, _MERGE = range(4)


@dataclass
class _Line:
    number: int
    name: str | None
    op: str
    positional: list[str]
    keys: list[tuple[str, str]]


def parse_spec(text: str, source: str = "<spec>", name: str = "spec") -> Graph:
    """Parse a whole spec. Every error names the file, the line and the layer."""
    text = text.removeprefix("\ufeff")  # a byte-order mark some editors put first
    with gc_paused():  # thousands of nodes and no reference cycles: see _gc.py
        graph = _parse_fast(text, source, name)
        return graph if graph is not None else _parse(text, source, name)


def _parse(text: str, source: str, name: str) -> Graph:
    """The reference reading: every line split first, then names, then layers. It gives every error."""
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


def _parse_fast(text: str, source: str, name: str) -> Graph | None:
    """One pass, for a spec without errors; None when `_parse` must decide (any error or doubt).

    It gives the same graph as `_parse`: a layer's text after its name (`conv 64 k=3 p=1`) is read once and its
    parts reused, and automatic names skip only automatic names given before; one that an explicit name takes
    shows as a name given twice at the end, which is left to `_parse` (it picks another, or reports a duplicate).
    """
    defaults: dict[str, Any] = {"bias": True}
    memo = _LAYERS[True]
    autos: set[str] = set()
    counters: dict[str, int] = {}
    # The graph as columns (see ir.Columns): a Node per layer is made only if someone asks for `Graph.nodes`.
    names: list[str] = []
    infos: list[tuple[Any, ...]] = []
    lines: list[int] = []
    add_name, add_info, add_line = names.append, infos.append, lines.append
    others: list[tuple[int, int, tuple[str, ...]]] = []  # (position, how, from= names): not fed by the layer before
    try:
        for number, raw in enumerate(text.splitlines(), start=1):
            s = raw.strip()
            if not s:
                continue
            if "#" in s:
                s = s.split("#", 1)[0].rstrip()
                if not s:
                    continue
            # `name: rest` with a plain name, or a line with no colon: the only forms read here without `_split`.
            label, sep, body = s.partition(": ")
            if not sep or not label.isidentifier() or not label.isascii():
                if ":" in s:
                    return None
                label, body = None, s
            parts = memo.get(body)
            if parts is None:
                line = _split(raw, number, source)
                if line is None or line.name != label:
                    return None
                if line.op == "set":
                    if label is not None:
                        return None  # a named setting: its name is taken, which `_parse` sees from the start
                    _apply_settings(line, defaults, source)
                    memo = _LAYERS[defaults["bias"]]
                    continue
                op = get_op(line.op)
                if label is None:
                    label = _auto_name(op, counters, autos)
                parts = _parts(line, op, label, defaults, source)
                if len(memo) > _LAYER_LIMIT:
                    memo.clear()
                memo[body] = parts
            elif label is None:
                label = _auto_name(parts[0], counters, autos)
            if parts[1]:  # not the layer before (_PREVIOUS is 0)
                others.append((len(names), parts[1], parts[2]))
            add_name(label)
            add_info(parts[3])
            add_line(number)
    except (SpecError, OpError):
        return None
    if not names or len(set(names)) != len(names):
        return None
    # Each layer's inputs: the name of the layer before, but for the few that take none or name theirs.
    sources: list[str | tuple[str, ...]] = [None, *names[:-1]]  # type: ignore[list-item]
    merges = []
    for position, how, named in others:
        if how == _NONE:
            sources[position] = ()
        elif how == _FROM:
            sources[position] = named
            merges.append(position)
        else:
            return None  # a merge without from=, which `_parse` reports
    if sources[0] is None:
        return None  # the first layer takes the one before it: `_parse` reports it
    referenced = {i for k in merges for i in sources[k]}
    graph = Graph._of_columns(name, (names, sources, infos, lines, referenced), source)
    if merges:  # in order if every from= names an earlier layer, as `sorted` would find it
        position = {n: i for i, n in enumerate(names)}
        if not all(position.get(i, k) < k for k in merges for i in sources[k]):
            return graph.sorted()
    return graph


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
    _, how, named, (signature, aux, _, args) = _parts(line, op, name, defaults, source)
    if how == _NONE:
        inputs = []
    elif how == _FROM:
        inputs = list(named)
    elif how == _MERGE:
        raise SpecError(
            f"{op.name} merges layers: name them with from=a,b", source=source, line=line.number, layer=name
        )
    elif previous is None:
        raise SpecError(
            f"{op.name} has no input before it: the first layer must be `input HxWxC`",
            source=source,
            line=line.number,
            layer=name,
        )
    else:
        inputs = [previous]
    node = Node(name, op.name, args, inputs, line.number, aux)
    node._signature = signature
    return node


def _parts(
    line: _Line, op: Op, name: str, defaults: dict[str, Any], source: str
) -> tuple[Op, int, tuple[str, ...], tuple[int | None, bool, str, dict[str, Any]]]:
    """What a layer line gives whatever its name and place: op, how it finds its inputs (and its from= names),
    and (signature, aux, op name, arguments) as ir.Columns keeps them. Errors name the layer."""

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
            raise fail(str(exc) + _positional_hint(op, line.positional, own_keys)) from None
    args, signature = cached
    if inputs is not None:
        how = _FROM
    elif op.max_inputs == 0:
        how = _NONE
    elif op.min_inputs > 1:
        how = _MERGE
    else:
        how = _PREVIOUS
    return op, how, tuple(inputs or ()), (signature, aux, op.name, args)


# Read arguments by (op, positional, keys, bias default), shared by the nodes that repeat them
# (a node's args are never changed after it is made).
_PARSED: dict[tuple[Any, ...], tuple[dict[str, Any], int | None]] = {}

# A layer line's text after its name -> its `_parts`, by the `set bias=` default in force.
_LAYERS: dict[bool, dict[str, tuple[Any, ...]]] = {True: {}, False: {}}
_LAYER_LIMIT = 50_000


def _read_args(
    op: Op, positional: list[str], keys: list[tuple[str, str]], bias: bool
) -> tuple[dict[str, Any], int | None]:
    args = read_args(op, positional, keys, bias)
    return args, Node("", op.name, args).signature()


_WINDOW = re.compile(r"\d+(x\d+){0,2}")


def _positional_hint(op: Op, positional: Sequence[str], keys: Sequence[tuple[str, str]]) -> str:
    """`conv 6 5x5`: a kernel size written without its key; say how to write it."""
    extra = positional[1:]
    given = {k for k, _ in keys}
    if len(extra) != 1 or not _WINDOW.fullmatch(extra[0]) or "k" not in op.key_names() or "k" in given:
        return ""
    sides = extra[0].split("x")
    kernel = sides[0] if len(set(sides)) == 1 else extra[0]
    return f"; a kernel size is written k=: `{op.name} {positional[0]} k={kernel}`"
