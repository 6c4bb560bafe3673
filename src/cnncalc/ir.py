"""The graph every front-end builds and every pass reads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from ._gc import gc_paused
from .errors import SpecError


class _ShapeFields(NamedTuple):
    c: int
    sizes: tuple[int, ...]
    lead: tuple[int, ...]


class Shape(_ShapeFields):
    """A tensor without its batch, in the spec's order: batch-like axes, the axes a window slides along, channels.

    `sizes` holds 0 to 3 axes: none for a vector of C, (L,) for a 1-D signal or a sequence of tokens (LxC),
    (H, W) for an image, (D, H, W) for a volume or a video (frames first). `lead` holds axes that only repeat the
    work, such as attention heads, windows, or a batch the model builds inside itself: written `2*224x224x3`.
    `Shape(c, h, w)` still makes an image map and `Shape(c)` a vector. A tuple underneath, so that comparing and
    hashing shapes (done for every layer) is cheap.
    """

    __slots__ = ()

    def __new__(
        cls, c: int, h: int | None = None, w: int | None = None, *, sizes: tuple[int, ...] | None = None,
        lead: tuple[int, ...] = (),
    ) -> Shape:  # fmt: skip
        if sizes is None:
            sizes = () if h is None else (h,) if w is None else (h, w)
        return tuple.__new__(cls, (c, tuple(sizes), tuple(lead)))

    @classmethod
    def of(cls, c: int, sizes: tuple[int, ...] = (), lead: tuple[int, ...] = ()) -> Shape:
        return tuple.__new__(cls, (c, sizes, lead))

    @property
    def spatial(self) -> bool:
        return bool(self.sizes)

    @property
    def rank(self) -> int:
        """How many axes a window slides along: 0 (vector), 1, 2 or 3."""
        return len(self.sizes)

    @property
    def h(self) -> int | None:
        """H of an image or a volume, L of a 1-D map, None for a vector."""
        sizes = self.sizes
        return sizes[-2] if len(sizes) > 1 else sizes[0] if sizes else None

    @property
    def w(self) -> int | None:
        """W of an image or a volume; None for a vector or a 1-D map."""
        sizes = self.sizes
        return sizes[-1] if len(sizes) > 1 else None

    @property
    def d(self) -> int | None:
        """D (depth, or frames) of a volume; None otherwise."""
        return self.sizes[0] if len(self.sizes) == 3 else None

    @property
    def positions(self) -> int:
        """Positions along the window axes (1 for a vector)."""
        n = 1
        for v in self.sizes:
            n *= v
        return n

    @property
    def repeats(self) -> int:
        """How many times the lead axes repeat the work (1 without them)."""
        n = 1
        for v in self.lead:
            n *= v
        return n

    @property
    def numel(self) -> int:
        return self.c * self.positions * self.repeats

    def axes(self) -> tuple[int, ...]:
        """Every axis as written: lead, sizes, channels."""
        return (*self.lead, *self.sizes, self.c)

    def dims(self, layout: str = "hwc") -> list[int]:
        """The shape without its lead axes, as the report writes it."""
        if layout == "chw":
            return [self.c, *self.sizes]
        return [*self.sizes, self.c]

    def text(self, layout: str = "hwc") -> str:
        body = "x".join(str(d) for d in self.dims(layout))
        return "x".join(map(str, self.lead)) + "*" + body if self.lead else body

    def with_channels(self, c: int) -> Shape:
        return tuple.__new__(Shape, (c, self.sizes, self.lead))

    def with_sizes(self, sizes: tuple[int, ...]) -> Shape:
        return tuple.__new__(Shape, (self.c, sizes, self.lead))

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        extra = f", lead={self.lead}" if self.lead else ""
        return f"Shape({self.c}, sizes={self.sizes}{extra})"


AXIS_NAMES = {0: (), 1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

# The one limit on sizes: every number a layer is written with and every axis of every tensor (sides, channels,
# heads) is at most this. Far above any real network, low enough that no figure grows past what floats and
# Python's int-to-text conversion handle, and checked before any work is spent on a larger one.
MAX_SIZE = 1_000_000_000


def too_large(value: int | float) -> str | None:
    """Why a size is refused, or None."""
    if value > MAX_SIZE or value < -MAX_SIZE:
        return f"too large: at most {MAX_SIZE:,}"
    return None


def shape_too_large(shape: Shape) -> str | None:
    """Why a tensor's shape is refused (an axis past MAX_SIZE), or None."""
    for v in (shape.c, *shape.sizes, *shape.lead):
        if v > MAX_SIZE:
            return f"shape {shape.text()} has an axis of {v:.3g}, over the limit of {MAX_SIZE:,} an axis"
    return None


@dataclass
class Node:
    """One layer: its op, its parsed arguments and the names of its inputs."""

    name: str
    op: str
    args: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    line: int | None = None
    aux: bool = False  # training only (an auxiliary classifier): params count, inference MACs do not
    _signature: int | None = field(default=None, init=False, compare=False, repr=False)

    def signature(self) -> int | None:
        """A number standing for the op and its arguments (equal numbers, equal arguments); None if an
        argument cannot be hashed. Worked out once: a node's args are not changed after it is made."""
        if self._signature is None:
            try:
                key = (self.op, *self.args.items())
                self._signature = _SIGNATURES.setdefault(key, len(_SIGNATURES))
            except TypeError:
                return None
        return self._signature


# Op-and-arguments tuples interned as small ints, so that hashing them per layer is cheap.
_SIGNATURES: dict[tuple[Any, ...], int] = {}

# A parsed graph's nodes as four lists (one item per layer), which a load reads without a Node per layer:
# names; inputs (the one input's name, the layer before, or a tuple of names); (signature, aux, op, args),
# shared by the layers of equal text; source lines. Then the set of names that inputs tuples hold.
Columns = tuple[
    list[str], list["str | tuple[str, ...]"], list[tuple[int | None, bool, str, dict[str, Any]]], list[int], set[str]
]


def inputs_list(inputs: str | tuple[str, ...] | list[str]) -> list[str]:
    """A column's inputs as a node's list."""
    return [inputs] if inputs.__class__ is str else list(inputs)


def _nodes_of(columns: Columns) -> list[Node]:
    nodes = []
    for name, inputs, (signature, aux, op, args), line in zip(*columns[:4], strict=True):
        node = Node(name, op, args, inputs_list(inputs), line, aux)
        node._signature = signature
        nodes.append(node)
    return nodes


@dataclass
class Graph:
    """Layers in topological order; a node that nobody consumes is an output."""

    name: str
    nodes: list[Node]
    source: str | None = None

    @classmethod
    def _of_columns(cls, name: str, columns: Columns, source: str | None) -> Graph:
        """A graph in order whose Node objects are made on first use of `nodes` (the parser's)."""
        graph = cls.__new__(cls)
        graph.name, graph.source = name, source
        graph._columns = columns
        return graph

    def __getattr__(self, attr: str) -> Any:  # called only for attributes not found: `nodes` not made yet
        if attr == "nodes":
            columns = self.__dict__.get("_columns")
            if columns is not None:
                with gc_paused():  # thousands of nodes, no cycle
                    nodes = self.__dict__.setdefault("nodes", _nodes_of(columns))
                self.__dict__.pop("_columns", None)
                return nodes
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def _node_columns(self) -> Columns | None:
        """The parser's columns while `nodes` has not been made (then they are the graph), else None."""
        found = self.__dict__
        return None if "nodes" in found else found.get("_columns")

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    @property
    def inputs(self) -> list[Node]:
        return [n for n in self.nodes if n.op == "input"]

    @property
    def outputs(self) -> list[Node]:
        used = {i for n in self.nodes for i in n.inputs}
        return [n for n in self.nodes if n.name not in used]

    def with_input_shapes(self, shapes: dict[str, Shape]) -> Graph:
        """A copy whose named input layers take new shapes (`--input`)."""
        nodes = [replace(n, args={**n.args, "shape": shapes[n.name]}) if n.name in shapes else n for n in self.nodes]
        return replace(self, nodes=nodes)

    def sorted(self) -> Graph:
        """Put nodes in topological order, keeping the given order where it is one.

        Raises a located error for a cycle or an input that names no layer.
        """
        by_name: dict[str, Node] = {}
        for n in self.nodes:
            if n.name in by_name:
                first = by_name[n.name]
                at = f" (first used on line {first.line})" if first.line else ""
                raise SpecError(
                    f"the name {n.name!r} is already taken{at}; give this layer another name",
                    source=self.source,
                    line=n.line,
                    layer=n.name,
                )
            by_name[n.name] = n
        for n in self.nodes:
            for i in n.inputs:
                if i not in by_name:
                    raise SpecError(
                        f"from={i} names no layer of this network{_suggest(i, list(by_name))}",
                        source=self.source,
                        line=n.line,
                        layer=n.name,
                    )
        seen: set[str] = set()
        for n in self.nodes:
            if any(i not in seen for i in n.inputs):
                break
            seen.add(n.name)
        else:
            return self  # already in order, as the parser and the builder give it
        order: list[Node] = []
        state: dict[str, int] = {}  # 1 = on the current path, 2 = placed
        for root in self.nodes:
            # Depth-first without recursion, so a 10,000-layer chain is no problem.
            stack: list[tuple[Node, int]] = [(root, 0)]
            while stack:
                n, next_input = stack.pop()
                if next_input == 0:
                    if state.get(n.name) == 2:
                        continue
                    state[n.name] = 1
                if next_input < len(n.inputs):
                    stack.append((n, next_input + 1))
                    child = by_name[n.inputs[next_input]]
                    if state.get(child.name) == 1:
                        path = [m.name for m, _ in stack]
                        cycle = [*path[path.index(child.name) :], child.name]
                        raise SpecError(
                            "cycle: " + " -> ".join(reversed(cycle)) + "; a layer cannot depend on its own output",
                            source=self.source,
                            line=n.line,
                            layer=n.name,
                        )
                    if state.get(child.name) != 2:
                        stack.append((child, 0))
                    continue
                state[n.name] = 2
                order.append(n)
        return replace(self, nodes=order)


def _suggest(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]}?)" if close else ""
