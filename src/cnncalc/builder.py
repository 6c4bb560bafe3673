"""Build a network in Python with the same ops and keys as the text spec.

    b = Builder("tiny")
    b.input("32x32x3")
    b.add("conv", 16, k=3, p=1)
    skip = b.add("relu")
    b.add("conv", 16, k=3, p=1)
    b.add("add", inputs=[skip, b.last])
    graph = b.build()

The zoo is written with this class; values are checked exactly as the parser checks them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .errors import CnnCalcError, OpError
from .ir import Graph, Node
from .ops.base import Op, get_op, suggest_key


class Builder:
    def __init__(self, name: str, *, bias: bool = True) -> None:
        self.name = name
        self.bias = bias
        self._nodes: list[Node] = []
        self._counters: dict[str, int] = {}
        self._taken: set[str] = set()
        self.last: str | None = None

    def input(self, shape: Any, name: str = "input") -> str:
        return self.add("input", shape, name=name)

    def add(
        self,
        op: str,
        *positional: Any,
        name: str | None = None,
        inputs: str | Sequence[str] | None = None,
        aux: bool = False,
        **keys: Any,
    ) -> str:
        """Add a layer after `self.last` (or after `inputs`) and return its name.

        `aux=True` starts a training-only branch (an auxiliary classifier).
        """
        spec = get_op(op)
        label = name or self._auto_name(spec.name)
        if label in self._taken:
            raise CnnCalcError(f"{label}: the name is already taken")
        try:
            key = (spec.name, positional, tuple(keys.items()), self.bias)
            args = _PARSED.get(key)
        except TypeError:  # an unhashable value: parse without the cache
            key, args = None, None
        if args is None:
            try:
                args = _parse_args(spec, positional, keys, self.bias)
            except OpError as exc:
                raise CnnCalcError(f"{label}: {exc}") from None
            if key is not None:
                _PARSED[key] = args
        if inputs is None:
            wired = [] if spec.max_inputs == 0 else ([self.last] if self.last else [])
        else:
            wired = [inputs] if isinstance(inputs, str) else list(inputs)
        wired = [w for w in wired if w is not None]
        self._nodes.append(Node(label, spec.name, dict(args), wired, aux=aux))
        self._taken.add(label)
        self.last = label
        return label

    def _auto_name(self, base: str) -> str:
        n = self._counters.get(base, 0)
        while True:
            n += 1
            candidate = base if base == "input" and n == 1 else f"{base}{n}"
            if candidate not in self._taken:
                break
        self._counters[base] = n
        return candidate

    def build(self) -> Graph:
        return Graph(self.name, list(self._nodes), source=self.name).sorted()


# Parsed arguments by (op, positional, keys, bias default): a zoo model repeats a few layer kinds many times.
_PARSED: dict[tuple[Any, ...], dict[str, Any]] = {}


def _parse_args(spec: Op, positional: tuple[Any, ...], keys: dict[str, Any], bias: bool) -> dict[str, Any]:
    """Check and read the values exactly as the spec parser does; defaults filled in."""
    args: dict[str, Any] = {}
    if positional:
        if spec.positional is None or len(positional) > 1:
            raise OpError(f"{spec.name} takes {'one value' if spec.positional else 'no value'} before its keys")
        args[spec.positional.name] = spec.positional.read(positional[0])
    elif spec.positional is not None and spec.positional.required:
        raise OpError(f"{spec.name} needs its {spec.positional.help or spec.positional.name}")
    for key, value in keys.items():
        param = spec.param(key)
        if param is None or param is spec.positional:
            raise OpError(f"unknown key {key!r} for {spec.name}{suggest_key(spec, key)}")
        args[key] = param.read(value)
    for param in spec.keys:
        if param.required and param.name not in args:
            raise OpError(f"{spec.name} needs {param.name}= ({param.help})")
    if spec.bias_follows_setting():
        args.setdefault("bias", bias)
    return spec.complete(args)
