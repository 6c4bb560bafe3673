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
from .ops.base import get_op, read_args


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
        /,
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
                args = read_args(spec, positional, keys.items(), self.bias)
            except OpError as exc:
                raise CnnCalcError(f"{label}: {exc}") from None
            if key is not None:
                _PARSED[key] = args
        if inputs is None:
            wired = [] if spec.max_inputs == 0 else ([self.last] if self.last else [])
        else:
            wired = [inputs] if isinstance(inputs, str) else list(inputs)
        wired = [w for w in wired if w is not None]
        node = Node(label, spec.name, args, wired, aux=aux)  # args shared with equal layers, never changed
        self._nodes.append(node)
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
