"""Import an ONNX file as a cnncalc Graph: each node mapped onto cnncalc's ops, parameters counted from initializers.

How it works. The file is read with `onnx.load`, external data left unread (only the weights' dimensions are needed;
external data files are checked to be there and long enough). ONNX shape inference runs on a copy that holds no
large tensor, with the input's batch (and any `--input` given) fixed, so every tensor has concrete dimensions. The
nodes are then walked in order, tracking for every tensor either the cnncalc layer that made it or a constant
(initializers, `Constant` nodes and whatever is computed from them alone, evaluated with onnx's reference evaluator
when it is small).

Layouts. ONNX tensors keep the batch and order their axes as the model does: NCHW after a convolution, N,L,C for
tokens, anything after a Transpose. cnncalc writes a tensor without its batch, channels last. Each activation records
which ONNX axes its cnncalc shape writes, in what order (`_Act.order`): a Transpose is then only a new order, and an op
that needs its input laid out a certain way (a convolution: channels first in ONNX; a matrix product or a layer norm:
the reduced axis last) asks for that layout. Reshapes, transposes, Gather and Slice are recorded lazily and followed
value by value when an op reads them: a selection becomes `slice` layers, a rearrangement `reshape`, `permute`,
`flatten` or `shuffle` layers, and nothing at all where the values are already in the order the reader wants. A Pad
is folded into the convolution or pooling that reads it. Sigmoid (or HardSigmoid) times its own input becomes `silu`
(`hswish`), an Add of a per-channel constant after a layer without bias becomes that layer's bias, and layer
normalisation written out op by op (exports before opset 17) becomes one `layernorm`.

Every mapped layer is checked against cnncalc's own op: its output shape against ONNX shape inference, its parameters
and buffers against the sizes of the initializers it reads (weights and biases are parameters, batch-norm running
statistics are buffers). A node cnncalc has no op for, or one that fails the check, becomes an `opaque` layer with
ONNX's output shape and its floating-point initializers counted as parameters, and a warning naming the op type and
the node. An initializer read by two layers (tied weights) counts once, at its first use; an Identity that copies an
initializer (torch.onnx.export writes initializers of equal value so) counts as a tensor of its own.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..builder import Builder
from ..errors import CnnCalcError
from ..formulas import effective_kernel, same_padding
from ..ir import AXIS_NAMES, Graph, Shape
from ..ops.base import Context, get_op, read_args
from ..ops.base import shape as shape_param
from . import _ops
from ._ops import ONNX_ACTIVATIONS, PAD_MODES

__all__ = ["OnnxImport", "OnnxImportWarning", "graph_from_onnx", "read_onnx", "require_onnx"]

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_SMALL = 1 << 16  # constants up to this many values are evaluated (shapes, scales, pads); larger ones only sized


class OnnxImportWarning(UserWarning):
    """A node kept as an opaque layer, or a mapping that is exact in counts but not in every detail."""


@dataclass
class OnnxImport:
    """What an import found: the graph, and how the initializers' values were accounted for."""

    graph: Graph
    opset: int
    params: int  # initializer values counted as parameters (mapped layers and opaque ones)
    buffers: int  # initializer values counted as buffers (batch-norm running statistics)
    constants: int  # initializer values read as constants: shapes, scales, pads, scalar operands
    unused: int  # initializer values no node reads: not counted
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"ONNX opset {self.opset}: initializers give {self.params:,} params and {self.buffers:,} buffers; "
            f"{self.constants:,} constant values and {self.unused:,} unused values not counted"
        )


def require_onnx() -> Any:
    """Import onnx, or say how to install it (the CLI then exits with code 2)."""
    try:
        import onnx
    except ImportError:
        raise CnnCalcError(
            "reading ONNX files needs the onnx package, an optional extra: pip install 'cnncalc[onnx]'"
        ) from None
    return onnx


def graph_from_onnx(path: Path, input: str | Mapping[str, Any] | None = None) -> Graph:
    """The graph of an ONNX file. `input` (`HxWxC`, or `name=HxWxC,...`) sets the input size, batch left out."""
    return read_onnx(path, input).graph


def read_onnx(path: Path | str, input: str | Mapping[str, Any] | None = None) -> OnnxImport:
    """Import an ONNX file; warnings (`OnnxImportWarning`) name every node kept as an opaque layer."""
    path = Path(path)
    if not path.exists():
        raise CnnCalcError(f"{path}: no such file")
    if path.is_dir():
        raise CnnCalcError(f"{path}: is a folder, not an ONNX file")
    onnx = require_onnx()
    model = _load(onnx, path)
    importer = _Importer(onnx, path, model, _overrides(input))
    result = importer.run()
    for note in result.notes:
        warnings.warn(note, OnnxImportWarning, stacklevel=3)
    return result


# ----------------------------------------------------------------------------- reading the file


def _one_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _load(onnx: Any, path: Path) -> Any:
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf's DecodeError, or onnx's own checks
        raise CnnCalcError(
            f"{path}: cannot read it as an ONNX model (truncated, or not ONNX?): {_one_line(exc)}"
        ) from None
    graph = model.graph
    if not model.HasField("graph") or (not graph.node and not graph.input):
        raise CnnCalcError(f"{path}: not an ONNX model (no graph in it), or a truncated one")
    if not any(o.domain in ("", "ai.onnx") for o in model.opset_import):
        raise CnnCalcError(f"{path}: the model names no ONNX opset (a truncated or hand-made file?)")
    _check_names(path, model)
    _check_external_data(onnx, path, model)
    return model


def _check_names(path: Path, model: Any) -> None:
    """Every name is text (protobuf gives bytes for a string field that is not UTF-8: a corrupt file)."""
    g = model.graph
    texts: list[Any] = [g.name, *(o.domain for o in model.opset_import)]
    texts += [v.name for v in (*g.input, *g.output, *g.initializer)]
    for node in g.node:
        texts += [node.name, node.op_type, node.domain, *node.input, *node.output, *(a.name for a in node.attribute)]
    if not all(isinstance(t, str) for t in texts):
        raise CnnCalcError(f"{path}: a name in it is not valid UTF-8 text: a corrupt file")


def _tensors(graph: Any) -> list[Any]:
    """Initializers and the tensors of Constant nodes: those that may live in external data."""
    found = list(graph.initializer)
    for node in graph.node:
        found.extend(a.t for a in node.attribute if a.HasField("t"))
    return found


def _check_external_data(onnx: Any, path: Path, model: Any) -> None:
    """Every external data file a tensor names must be there and long enough; nothing is read."""
    from onnx.external_data_helper import ExternalDataInfo, uses_external_data

    folder = path.parent
    sizes: dict[str, int] = {}
    for tensor in _tensors(model.graph):
        if not uses_external_data(tensor):
            continue
        try:  # onnx refuses a negative or unreadable offset or length with a ValueError
            info = ExternalDataInfo(tensor)
        except ValueError as exc:
            raise CnnCalcError(f"{path}: tensor {tensor.name!r}: bad external data entry ({str(exc)[:120]})") from None
        location = str(info.location)
        if "\x00" in location:
            raise CnnCalcError(f"{path}: tensor {tensor.name!r}: its external data location holds a NUL character")
        where = (folder / location).resolve()
        if not location or Path(location).is_absolute() or folder.resolve() not in (where, *where.parents):
            raise CnnCalcError(
                f"{path}: tensor {tensor.name!r} names the external data file {location!r}, outside its folder"
            )
        if location not in sizes:
            if not where.is_file():
                raise CnnCalcError(
                    f"{path}: its weights are in the external data file {location}, which is missing "
                    f"(keep it beside the .onnx file{'' if str(folder) == '.' else f', in {folder}'})"
                )
            sizes[location] = where.stat().st_size
        offset = int(info.offset or 0)
        length = int(info.length) if info.length else 0
        if offset + length > sizes[location]:
            raise CnnCalcError(
                f"{path}: the external data file {location} is {sizes[location]:,} bytes, too short for tensor "
                f"{tensor.name!r} (which ends at byte {offset + length:,}): truncated?"
            )


def _overrides(raw: str | Mapping[str, Any] | None) -> dict[str | None, Shape]:
    """`HxWxC`, `name=HxWxC,...` or a mapping; None names the only input."""
    if raw is None:
        return {}
    parse = shape_param()[0]
    items: dict[str | None, Any]
    if isinstance(raw, Mapping):
        items = dict(raw)
    elif "=" in raw:
        items = {}
        for part in raw.split(","):
            key, _, value = part.partition("=")
            items[key.strip()] = value
    else:
        items = {None: raw}
    out: dict[str | None, Shape] = {}
    for key, value in items.items():
        try:
            out[key] = parse(value)
        except ValueError as exc:
            raise CnnCalcError(f"--input {value}: {exc}") from None
    return out


# ----------------------------------------------------------------------------- tensors as the walk sees them


@dataclass
class _Const:
    """A tensor known without running the network: an initializer, a Constant, or computed from those."""

    dims: tuple[int, ...] | None
    value: Any = None  # numpy array, when small enough to know
    sources: frozenset[str] = frozenset()  # the stored tensors it is made from (what parameters count)
    floating: bool = True
    init: Any = None  # the TensorProto, to read its value on demand


@dataclass(frozen=True)
class _Act:
    """An activation: the layer that made it, its ONNX dimensions, and where those axes are in the layer's shape.

    `order` lists ONNX axes in cnncalc's written order (lead axes, window axes, channels last): (2, 3, 1) for NCHW,
    (0, 1, 2) for N,L,C. The axes it leaves out have size 1, or are the batch (axis 0, when the batch is more than
    one). Axes of size 1 count for nothing when layouts are compared.
    """

    layer: str
    dims: tuple[int, ...]
    order: tuple[int, ...]


@dataclass(frozen=True)
class _View:
    """Reshapes, transposes and selections (Gather, Slice, Split) of an activation not yet made into layers."""

    base: _Act
    moves: tuple[tuple[str, Any], ...]  # ("reshape", dims), ("transpose", perm), ("take", (axis, index or indices))
    dims: tuple[int, ...]
    node: Any
    label: str | None = None  # the name its layers take, if not the node's


@dataclass(frozen=True)
class _Pad:
    """A Pad of an activation, folded into the convolution or pooling that reads it where possible."""

    src: str  # the padded tensor
    pads: tuple[tuple[int, int], ...]  # (before, after) per ONNX axis
    dims: tuple[int, ...]
    node: Any
    mode: str  # cnncalc's: zeros, reflect, replicate, circular
    label: str | None = None


class _Fused:
    """The output of a node folded into its consumer (a Sigmoid that becomes part of `silu`)."""


class _Aligned(tuple):  # type: ignore[type-arg]
    """Written axes a layer must have, but for leading 1s (which broadcasting and batched products ignore)."""


@dataclass
class _Rec:
    """One cnncalc layer as it will be built."""

    name: str
    op: str
    pos: tuple[Any, ...]
    keys: dict[str, Any]
    inputs: list[str]
    shape: Shape
    claims: dict[str, str]  # stored tensor -> "param" or "buffer", for those first used here
    node: str = ""  # the ONNX node's name and op type, for messages
    what: str = ""


class _Refuse(Exception):  # noqa: N818 (not an error: a way out of a handler)
    """The node cannot be this op: the reason, and the layer becomes opaque."""


class _NotBox(_Refuse):
    """A selection that is no box of the base's axes (it may be one after the moves before it are made)."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FLOAT_TYPES = frozenset([1, 10, 11, 16])  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_VIEWS = frozenset(["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"])
# Element-wise functions of one tensor: no parameters and no MACs by cnncalc's convention, kept as `identity` (as the
# PyTorch bridge keeps torch.exp, torch.sqrt...); GELU written out with Erf becomes a few such layers.
_UNARY = _words(
    "Erf Exp Log Sqrt Neg Abs Reciprocal Floor Ceil Round Sign Sin Cos Softplus Softsign Selu Celu Mish "
    "ThresholdedRelu LogSoftmax Not IsNaN IsInf"
)
_WITH_BIAS = frozenset(["conv", "dwconv", "convT", "fc", "scale"])
# Ops that read their first input channels first (N, C, then the window axes): a rank-3 input they read is N,C,L.
_CHANNELS_FIRST = _words(
    "Conv ConvTranspose MaxPool AveragePool LpPool GlobalAveragePool GlobalMaxPool BatchNormalization "
    "InstanceNormalization LRN Resize Upsample"
)
_MOST_FOLLOWED = 1 << 24  # values followed one by one through a view; a larger view is only reshaped to a vector


def _prod(values: Any) -> int:
    return math.prod(int(v) for v in values)


def _strip(values: Any) -> tuple[int, ...]:
    """Sizes without the 1s, which do not change how values are laid out."""
    return tuple(int(v) for v in values if v != 1)


def _lstrip(values: Any) -> tuple[int, ...]:
    values = tuple(int(v) for v in values)
    k = 0
    while k < len(values) - 1 and values[k] == 1:
        k += 1
    return values[k:]


def _cf_order(rank: int) -> tuple[int, ...]:
    """N, C, window axes: cnncalc writes the window axes, then the channels."""
    if rank >= 3:
        return (*range(2, rank), 1)
    return (1,) if rank == 2 else tuple(range(rank))


def _split_shape(axes: tuple[int, ...]) -> Shape:
    """Written axes as a shape: channels last, up to three window axes before them, lead axes for any more."""
    if not axes:
        return Shape(1)
    rest = tuple(axes[:-1])
    return Shape.of(int(axes[-1]), rest[-3:], rest[:-3])


def _cf_shape(dims: tuple[int, ...]) -> Shape:
    """The shape of an N,C,... tensor as a convolution reads it: its window axes, then the channels."""
    if len(dims) < 3:
        return Shape(dims[1] if len(dims) == 2 else _prod(dims))
    if len(dims) > 5:
        return _split_shape((*dims[2:], dims[1]))
    return Shape.of(dims[1], tuple(dims[2:]))


def _matrix_axes(written: tuple[int, ...]) -> _Aligned:
    """A matrix product's operand: its batch axes without 1s, then its rows and columns as they are."""
    return _Aligned((*_strip(written[:-2]), *written[-2:]))


def _axes_attr(values: Any, spatial: int, fill: int) -> tuple[int, ...]:
    """A per-axis attribute (kernel_shape, strides...) with one value per window axis."""
    v = [int(x) for x in values][:spatial]
    return tuple(v + [fill] * (spatial - len(v)))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pads_text(pads: list[tuple[int, int]]) -> str:
    if len(pads) == 2:
        return f"{pads[0][0]},{pads[0][1]} (top, bottom) and {pads[1][0]},{pads[1][1]} (left, right)"
    names = AXIS_NAMES[len(pads)]
    return " and ".join(f"{b},{e} along {n}" for (b, e), n in zip(pads, names, strict=True))


def _divisors(n: int) -> list[int]:
    """The divisors of n above 1, largest first."""
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)} - {1}, reverse=True)


def _runs(np: Any, flat: Any) -> list[tuple[int, int]] | None:
    """A permutation of 0..n-1 as nested runs (size, stride), outermost first, each run a whole axis of a reshaped
    source: what one permute between two reshapes does. None if no such axes give it (a reversal, a scatter)."""
    runs = []
    rest = flat
    while rest.size > 1:
        step = int(rest[1] - rest[0])
        if step <= 0:
            return None
        breaks = np.flatnonzero(np.diff(rest) != step)
        longest = int(breaks[0]) + 1 if breaks.size else int(rest.size)
        for size in _divisors(int(rest.size)):
            if size > longest:
                continue
            rows = rest.reshape(-1, size)
            if (rows == rows[:, :1] + step * np.arange(size)).all():
                break
        else:
            return None
        runs.append((size, step))
        rest = rows[:, 0]
    if rest.size != 1 or int(rest[0]) != 0:
        return None
    expect = 1
    for size, step in sorted(runs, key=lambda r: r[1]):
        if step != expect:
            return None
        expect *= size
    runs.reverse()
    return runs


def _step_args(op: str, arg: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """A view layer's positional value and keys, from its op and the one argument `_plan` gives it."""
    if op == "slice":
        return (arg[0],), arg[1]
    if op in ("reshape", "permute"):
        return (arg,), {}
    if op == "shuffle":
        return (), {"g": arg}
    return (), {}


def _moved_dims(dims: tuple[int, ...], moves: Any) -> tuple[int, ...]:
    """The dims after a view's moves."""
    for kind, arg in moves:
        if kind == "reshape":
            dims = tuple(arg)
        elif kind == "transpose":
            dims = tuple(dims[p] for p in arg)
        else:
            axis, index = arg
            dims = (*dims[:axis], *(() if isinstance(index, int) else (len(index),)), *dims[axis + 1 :])
    return dims


def _shuffle_groups(np: Any, flat: Any, shape: Shape) -> int | None:
    """g if the permutation is ShuffleNet's channel shuffle of a map in groups of g, else None."""
    c = shape.c
    if shape.rank != 2 or c < 4 or flat.size % c:
        return None
    rows = flat.reshape(-1, c)
    first = rows[0]
    if first[0] != 0 or first[1] < 1 or c % int(first[1]):
        return None
    g = c // int(first[1])
    if g < 2 or not (rows == first + c * np.arange(rows.shape[0])[:, None]).all():
        return None
    return g if (first == np.arange(c).reshape(g, c // g).T.reshape(-1)).all() else None


# ----------------------------------------------------------------------------- the walk


class _Importer:
    def __init__(self, onnx: Any, path: Path, model: Any, overrides: dict[str | None, Shape]) -> None:
        import numpy as np

        self.onnx, self.np, self.path, self.model = onnx, np, path, model
        self.g = model.graph
        self.overrides = overrides
        self.opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
        self.t: dict[str, Any] = {}
        self.recs: list[_Rec] = []
        self.by_name: dict[str, _Rec] = {}
        self.sizes: dict[str, int] = {}  # stored tensor -> values
        self.counted: dict[str, int] = {}  # stored tensor -> values counted, where fewer (a table it was gathered from)
        self.claimed: dict[str, str] = {}  # stored tensor -> layer that counts it
        self.notes: list[str] = []
        self.consumers: dict[str, list[Any]] = {}
        self.producer: dict[str, Any] = {}
        self.outputs = {o.name for o in self.g.output}
        self.fused: dict[int, tuple[str, str]] = {}  # id(Mul node) -> (op, the input it multiplies)
        self.skip: set[int] = set()  # nodes already made part of a layer (layer normalisation written out)
        self.names: dict[int, str] = {}
        self.paths: dict[int, str] = {}  # a node's module path without its op type (names view layers)
        self.taken: set[str] = set()
        self.inferred: dict[str, tuple[int, ...]] = {}
        self.batch = 1
        self.constant_reads: set[str] = set()
        self.alias_of: dict[str, frozenset[str]] = {}  # an Identity's copy of stored tensors -> those tensors
        self.settled: dict[Any, _Act] = {}  # (tensor, layout asked for) -> the activation laid out so
        self.made: dict[str, list[_Act]] = {}  # tensor -> the layouts made of it
        self.selected: dict[int, tuple[_View, _Act, Any]] = {}  # id(view) -> its selection made into slices
        self.prefixes: dict[int, tuple[_View, _View]] = {}  # id(view) -> the view cut from its moves made first
        self.param_layers: dict[frozenset[str], _Act] = {}  # stored tensors -> the `param` layer holding them

    # -- the whole import

    def run(self) -> OnnxImport:
        nodes = self._sorted_nodes()
        for node in nodes:
            for name in node.input:
                if name:
                    self.consumers.setdefault(name, []).append(node)
            for name in node.output:
                self.producer[name] = node
        self._read_initializers()
        data_inputs = self._read_inputs()
        self.inferred = self._infer(data_inputs)
        self._name_nodes(nodes)
        handlers = self._handlers()
        for node in nodes:
            self._visit(node, handlers)
        for out in self.g.output:
            if isinstance(self.t.get(out.name), (_View, _Pad)):
                self._act(out.name)  # kept opaque by _act if no layers write it
        return self._finish()

    def _sorted_nodes(self) -> list[Any]:
        """The nodes in an order where each comes after what it reads: the file's order where it is one (ONNX
        requires it), else a topological sort; a tensor nothing provides, or a cycle, is a clear error."""
        import heapq

        nodes = list(self.g.node)
        known = {i.name for i in self.g.initializer} | {i.name for i in self.g.input}
        known |= {s.values.name for s in self.g.sparse_initializer} | {""}
        producer = {o: k for k, node in enumerate(nodes) for o in node.output if o and o not in known}
        waiting: dict[int, list[int]] = {}
        needs = [0] * len(nodes)
        for k, node in enumerate(nodes):
            for name in set(node.input):
                if name in known:
                    continue
                if name not in producer:
                    raise CnnCalcError(
                        f"{self.path}: node {self._label(node)} reads {name!r}, but no node, initializer or input "
                        "provides it (a truncated or broken file?)"
                    )
                needs[k] += 1
                waiting.setdefault(producer[name], []).append(k)
        ready = [k for k in range(len(nodes)) if not needs[k]]
        heapq.heapify(ready)
        order = []
        while ready:
            k = heapq.heappop(ready)
            order.append(nodes[k])
            for j in waiting.get(k, []):
                needs[j] -= 1
                if not needs[j]:
                    heapq.heappush(ready, j)
        if len(order) != len(nodes):
            stuck = next(node for k, node in enumerate(nodes) if needs[k])
            raise CnnCalcError(f"{self.path}: node {self._label(stuck)} is in a cycle (a broken file?)")
        return order

    def _label(self, node: Any) -> str:
        return f"{node.name!r} ({node.op_type})" if node.name else node.op_type

    def _read_initializers(self) -> None:
        for init in self.g.initializer:
            dims = tuple(int(d) for d in init.dims)
            self.sizes[init.name] = _prod(dims)
            self.t[init.name] = _Const(dims, None, frozenset([init.name]), init.data_type in _FLOAT_TYPES, init)
        for sparse in self.g.sparse_initializer:
            dims = tuple(int(d) for d in sparse.dims)
            name = sparse.values.name
            self.sizes[name] = _prod(dims)
            self.t[name] = _Const(dims, None, frozenset([name]), sparse.values.data_type in _FLOAT_TYPES)

    def _read_inputs(self) -> dict[str, tuple[int, ...]]:
        """Input layers for the graph inputs that are not initializers; their dims with the batch fixed."""
        data = [vi for vi in self.g.input if vi.name not in self.t]
        if not data:
            raise CnnCalcError(f"{self.path}: the graph has no input (every input is an initializer)")
        unnamed = self.overrides.get(None)
        if unnamed is not None and len(data) != 1:
            listed = ", ".join(vi.name for vi in data)
            raise CnnCalcError(f"{self.path}: the network has several inputs ({listed}); write --input name=HxWxC,...")
        known = {vi.name for vi in data}
        for key in self.overrides:
            if key is not None and key not in known:
                raise CnnCalcError(
                    f"{self.path}: --input {key}=...: no input of that name (inputs: {', '.join(known)})"
                )
        found: dict[str, tuple[int, ...]] = {}
        for vi in data:
            if not vi.type.HasField("tensor_type"):
                raise CnnCalcError(
                    f"{self.path}: input {vi.name!r} is not a tensor; cnncalc reads image and vector inputs"
                )
            raw = [
                d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in vi.type.tensor_type.shape.dim
            ]
            channels_last = self._channels_last(vi.name, len(raw))
            given = self.overrides.get(vi.name, unnamed if len(data) == 1 else None)
            batch = raw[0] if raw and isinstance(raw[0], int) and raw[0] > 0 else 1
            if given is not None:
                if given.lead:
                    raise CnnCalcError(f"{self.path}: --input for {vi.name!r}: give it without lead axes (B*...)")
                if channels_last or not self._read_channels_first(vi.name, len(raw) or 2 + given.rank):
                    dims: tuple[Any, ...] = (batch, *given.sizes, given.c)
                else:
                    dims = (batch, given.c, *given.sizes)
                if len(raw) not in (0, len(dims)):
                    want = "a vector (N)" if len(raw) == 2 else {3: "LxC", 4: "HxWxC", 5: "DxHxWxC"}.get(len(raw), "?")
                    raise CnnCalcError(
                        f"{self.path}: --input for {vi.name!r}: it has {len(raw)} dimensions; give {want}"
                    )
            else:
                if not raw:
                    raise CnnCalcError(f"{self.path}: input {vi.name!r} has no shape; give it with --input HxWxC")
                loose = [f"{d}" for d in raw[1:] if not isinstance(d, int) or d < 1]
                if loose:
                    shown = "x".join(str(d) for d in raw)
                    raise CnnCalcError(
                        f"{self.path}: input {vi.name!r} has dimensions {shown} with {', '.join(loose)} not fixed; "
                        "give its size with --input HxWxC"
                    )
                dims = (batch, *raw[1:]) if len(raw) > 1 else (int(raw[0]),)
            self.batch = dims[0] if len(dims) > 1 else 1
            dims = tuple(int(d) for d in dims)
            found[vi.name] = dims
            rank = len(dims)
            if channels_last or (rank >= 3 and not self._read_channels_first(vi.name, rank)):
                order = self._cl_order(dims)
            else:
                order = _cf_order(rank)
            shape = self._shape_for(dims, order)
            name = self._unique(self._clean(vi.name) or "input")
            self._push(_Rec(name, "input", (shape,), {}, [], shape, {}))
            self.t[vi.name] = _Act(name, dims, order)
        return found

    def _channels_last(self, name: str, rank: int) -> bool:
        """An NHWC (NDHWC) input read only by Transposes to channels first (how converters from TensorFlow write it)."""
        users = self.consumers.get(name, [])
        if rank not in (4, 5) or not users:
            return False
        for node in users:
            perm = [a.ints for a in node.attribute if a.name == "perm"]
            if node.op_type != "Transpose" or not perm or list(perm[0]) != [0, rank - 1, *range(1, rank - 1)]:
                return False
        return True

    def _read_channels_first(self, name: str, rank: int) -> bool:
        """An input is N,C,... if a convolution, a pooling or a batch norm reads it; N,...,C (tokens) if a matrix
        product or a layer norm does; else N,C,... for four axes or more (an image), N,L,C for three."""
        users = {node.op_type for node in self.consumers.get(name, [])}
        if users & _CHANNELS_FIRST:
            return True
        return rank >= 4 and not users & {"MatMul", "Einsum", "Gemm", "LayerNormalization"}

    def _cl_order(self, dims: tuple[int, ...]) -> tuple[int, ...]:
        """The ONNX order itself (the last axis being the channels), without a batch of more than one, which must
        then be the first axis: elsewhere (torch's MultiheadAttention moves it) no axis can be told to be it."""
        rank = len(dims)
        if self.batch > 1 and rank > 1:
            if dims[0] != self.batch:
                raise _Refuse(f"its batch of {self.batch} is not its first axis ({list(dims)}): give a batch of 1")
            return tuple(range(1, rank))
        return tuple(range(rank))

    def _default_order(self, dims: tuple[int, ...]) -> tuple[int, ...]:
        if len(dims) >= 4:
            return _cf_order(len(dims))
        try:
            return self._cl_order(dims)
        except _Refuse:
            return tuple(range(len(dims)))  # an opaque layer's shape, batch and all

    def _shape_for(self, dims: tuple[int, ...], order: tuple[int, ...]) -> Shape:
        """The cnncalc shape of ONNX dims laid out in `order`: as a convolution reads it if channels first."""
        if 3 <= len(dims) <= 5 and tuple(order) == _cf_order(len(dims)):
            return _cf_shape(dims)
        if len(dims) == 2 and tuple(order) in ((1,), (0, 1)):
            return Shape(dims[1])
        return _split_shape(_strip(dims[a] for a in order))

    # -- ONNX shape inference on a copy without large tensors

    def _infer(self, data_inputs: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
        onnx = self.onnx
        helper = onnx.helper
        skeleton = onnx.ModelProto()
        skeleton.ir_version = self.model.ir_version
        skeleton.opset_import.extend(self.model.opset_import)
        g = skeleton.graph
        g.name = "skeleton"
        g.node.extend(self.g.node)
        g.output.extend(self.g.output)
        for vi in self.g.input:
            if vi.name in data_inputs:
                elem = vi.type.tensor_type.elem_type or onnx.TensorProto.FLOAT
                g.input.append(helper.make_tensor_value_info(vi.name, elem, list(data_inputs[vi.name])))
        for init in self.g.initializer:
            if _prod(init.dims) <= _SMALL and init.data_location != onnx.TensorProto.EXTERNAL:
                g.initializer.append(init)
            else:
                g.input.append(helper.make_tensor_value_info(init.name, init.data_type, list(init.dims)))
        try:
            inferred = onnx.shape_inference.infer_shapes(skeleton, check_type=False, strict_mode=False)
        except Exception as exc:  # an op newer than this onnx, or a broken node: work without ONNX's shapes
            self.notes.append(
                f"{self.path.name}: ONNX shape inference failed ({_one_line(exc)}); shapes are cnncalc's own"
            )
            return {}
        found: dict[str, tuple[int, ...]] = {}
        for vi in [*inferred.graph.value_info, *inferred.graph.output]:
            if not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
                continue
            dims = vi.type.tensor_type.shape.dim
            if all(d.HasField("dim_value") for d in dims):
                found[vi.name] = tuple(int(d.dim_value) for d in dims)
        return found

    def _infer_node(self, node: Any) -> dict[str, tuple[int, ...]]:
        """ONNX's shapes for one node's outputs, from the shapes and constant values the walk knows: where inference
        over the whole graph lost track (pads computed through ConstantOfShape, a shape ONNX could not follow)."""
        onnx = self.onnx
        helper = onnx.helper
        inputs, inits = [], []
        try:
            for name in dict.fromkeys(i for i in node.input if i):
                v = self.t.get(name)
                sized = isinstance(v, _Const) and v.dims is not None
                if sized and _prod(v.dims) <= _SMALL and self._value(v) is not None:
                    inits.append(onnx.numpy_helper.from_array(self.np.asarray(v.value), name))
                elif sized:
                    elem = v.init.data_type if v.init is not None else onnx.TensorProto.FLOAT
                    inputs.append(helper.make_tensor_value_info(name, elem, list(v.dims)))
                elif isinstance(v, (_Act, _View, _Pad)):
                    inputs.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, list(v.dims)))
                else:
                    return {}
            outputs = [helper.make_tensor_value_info(o, 0, None) for o in node.output if o]
            graph = helper.make_graph([node], "one", inputs, outputs, inits)
            model = helper.make_model(graph, opset_imports=list(self.model.opset_import))
            model.ir_version = self.model.ir_version or 8
            inferred = onnx.shape_inference.infer_shapes(model, check_type=False, strict_mode=False)
        except Exception:
            return {}
        found = {}
        for vi in [*inferred.graph.output, *inferred.graph.value_info]:
            dims = vi.type.tensor_type.shape.dim
            if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                found[vi.name] = tuple(int(d.dim_value) for d in dims)
        self.inferred.update(found)
        return found

    # -- names

    def _clean(self, text: str) -> str:
        name = re.sub(r"[^A-Za-z0-9_.\-]", "_", text).strip("_")
        if name and not NAME.match(name):
            name = f"n{name}"
        return name

    def _name_nodes(self, nodes: list[Any]) -> None:
        """A layer name per node: torch.onnx's `/layer1/layer1.0/conv1/Conv` gives `layer1.0.conv1`.

        The module path is kept without the segments that repeat in the next one, and without the op type at the end
        unless two nodes of one module would then share a name; a node without a name is `OpType_index`.
        """
        paths: dict[int, tuple[str, str]] = {}
        count: dict[str, int] = {}
        for index, node in enumerate(nodes):
            parts = [p for p in node.name.split("/") if p]
            last = ""
            if len(parts) > 1 and re.fullmatch(re.escape(node.op_type) + r"(_\d+)?", parts[-1]):
                last = parts.pop()
            parts = [p for i, p in enumerate(parts) if not (i + 1 < len(parts) and parts[i + 1].startswith(p + "."))]
            path = ".".join(parts) if parts else f"{node.op_type}_{index}"
            paths[id(node)] = (path, last)
            count[path] = count.get(path, 0) + 1
        for node in nodes:
            path, last = paths[id(node)]
            full = f"{path}.{last}" if last and count[path] > 1 else path
            self.names[id(node)] = self._clean(full) or node.op_type
            self.paths[id(node)] = self._clean(path) or self.names[id(node)]

    def _unique(self, base: str) -> str:
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name

    # -- visiting nodes

    def _visit(self, node: Any, handlers: dict[str, Callable[[Any, dict[str, Any]], None]]) -> None:
        if id(node) in self.skip:
            return
        ins = [self.t.get(i) if i else None for i in node.input]
        attrs = {}
        for attribute in node.attribute:
            try:
                value = self.onnx.helper.get_attribute_value(attribute)
            except Exception:  # an attribute of no known type: a corrupt file
                value = None
            if value is not None:
                attrs[attribute.name] = value
        if node.domain in ("", "ai.onnx"):
            if node.op_type in ("Shape", "Size") and ins and not isinstance(ins[0], _Const):
                self._shape_node(node, attrs)
                return
            if all(v is None or isinstance(v, _Const) for v in ins) and not any(isinstance(v, _Fused) for v in ins):
                self._fold(node, attrs)
                return
            if node.op_type == "Cast" and ins and isinstance(ins[0], (_Act, _View, _Pad)):
                self.t[node.output[0]] = ins[0]  # a change of type: nothing cnncalc counts
                return
        handler = handlers.get(node.op_type) if node.domain in ("", "ai.onnx") else None
        if handler is None:
            what = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
            self._opaque(node, f"cnncalc has no op for ONNX {what}")
            return
        try:
            handler(node, attrs)
        except _Refuse as exc:
            self._opaque(node, str(exc))
        except (TypeError, ValueError, IndexError, KeyError, OverflowError, ZeroDivisionError) as exc:
            # Attributes of the wrong type or length: the file is not what the ONNX spec says.
            raise CnnCalcError(
                f"{self.path}: node {self._label(node)}: cannot read its attributes ({_one_line(exc)}): a corrupt file?"
            ) from None

    def _handlers(self) -> dict[str, Callable[[Any, dict[str, Any]], None]]:
        table: dict[str, Callable[[Any, dict[str, Any]], None]] = {
            "Conv": self._conv, "ConvTranspose": self._conv_transpose, "MaxPool": self._pool,
            "AveragePool": self._pool, "GlobalAveragePool": self._global_pool, "GlobalMaxPool": self._global_pool,
            "Gemm": self._gemm, "MatMul": self._matmul, "Einsum": self._einsum,
            "BatchNormalization": self._batchnorm, "InstanceNormalization": self._instancenorm, "Clip": self._clip,
            "Add": self._add, "Sum": self._add, "Mul": self._mul, "Sub": self._arith, "Div": self._arith,
            "Concat": self._concat, "Split": self._split, "Slice": self._slice, "Gather": self._gather,
            "Resize": self._resize, "Upsample": self._resize, "Pad": self._pad, "Dropout": self._dropout,
            "LRN": self._lrn, "ReduceMean": self._reduce_mean, "Identity": self._identity,
            "LayerNormalization": self._layernorm, "LSTM": self._recurrent, "GRU": self._recurrent,
            "RNN": self._recurrent,
        }  # fmt: skip
        for op in ONNX_ACTIVATIONS:
            table[op] = self._activation
        for op in _VIEWS:
            table[op] = self._view
        for op in _UNARY:
            table[op] = self._unary
        for op in ("Pow", "Max", "Min", "Mean"):
            table[op] = self._arith
        return table

    # -- constants

    def _value(self, c: _Const) -> Any:
        """The constant's values (read from the file or evaluated), or None if they cannot be known."""
        if c.value is None and c.init is not None:
            try:
                c.value = self.onnx.numpy_helper.to_array(c.init, str(self.path.parent))
            except Exception as exc:
                raise CnnCalcError(f"{self.path}: cannot read tensor {c.init.name!r}: {_one_line(exc)}") from None
        return c.value

    def _const_array(self, node: Any, index: int, what: str) -> Any:
        """An input read as a constant setting (a shape, axes, pads, indices), or None if absent."""
        if index >= len(node.input) or not node.input[index]:
            return None
        c = self.t.get(node.input[index])
        if not isinstance(c, _Const):
            raise _Refuse(f"its {what} are computed at run time")
        value = self._value(c)
        if value is None:
            raise _Refuse(f"its {what} cannot be worked out without running the network")
        self.constant_reads |= c.sources
        return self.np.asarray(value)

    def _const_ints(self, node: Any, index: int, what: str) -> list[int] | None:
        """An input read as integers (a shape, axes, pads), or None if absent."""
        value = self._const_array(node, index, what)
        return None if value is None else [int(v) for v in value.reshape(-1)]

    def _const_floats(self, node: Any, index: int, what: str) -> list[float] | None:
        value = self._const_array(node, index, what)
        return None if value is None else [float(v) for v in value.reshape(-1)]

    def _weight(self, node: Any, index: int, what: str = "weights") -> _Const | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        c = self.t.get(node.input[index])
        if not isinstance(c, _Const):
            raise _Refuse(f"its {what} are computed at run time, not stored in the file")
        if c.dims is None:
            raise _Refuse(f"the size of its {what} is not known")
        return c

    def _fold(self, node: Any, attrs: dict[str, Any]) -> None:
        """A node that reads constants only gives constants (a weight transposed, a shape computed...)."""
        np = self.np
        ins = [self.t.get(i) if i else None for i in node.input]
        if node.op_type == "Constant":
            value = self._constant_value(node, attrs)
            floating = value.dtype.kind == "f"
            self.sizes[node.output[0]] = int(value.size)
            self.t[node.output[0]] = _Const(tuple(value.shape), value, frozenset(node.output[:1]), floating)
            return
        if node.op_type == "Identity" and ins and ins[0] is not None:
            c = ins[0]
            self.sizes[node.output[0]] = _prod(c.dims) if c.dims is not None else 0
            self.alias_of[node.output[0]] = c.sources
            self.t[node.output[0]] = _Const(c.dims, c.value, frozenset(node.output[:1]), c.floating, c.init)
            return
        values = None
        present = [c for c in ins if c is not None]
        small = all(c.dims is not None and _prod(c.dims) <= _SMALL for c in present)
        # Evaluated only if it cannot blow up: outputs ONNX knows to be small, or an op no larger than its inputs.
        known = all(c.dims is not None for c in present)
        if known and any(o and o not in self.inferred for o in node.output):
            self._infer_node(node)  # sized even where too large to evaluate (Swin's attention mask)
        outs = [self.inferred.get(o) for o in node.output if o]
        bounded = all(d is not None and _prod(d) <= _SMALL for d in outs) or node.op_type in _BOUNDED
        if small and bounded and not any(a.type in (5, 10) for a in node.attribute):  # no subgraphs (If, Loop)
            try:
                feeds = {name: self._value(c) for name, c in zip(node.input, ins, strict=True) if c is not None}
                if all(v is not None for v in feeds.values()):
                    from onnx.reference import ReferenceEvaluator

                    opsets = {o.domain or "": o.version for o in self.model.opset_import}
                    values = ReferenceEvaluator(node, opsets=opsets).run(None, feeds)
            except Exception:
                values = None
        for k, out in enumerate(node.output):
            if not out:
                continue
            value = values[k] if values is not None and k < len(values) else None
            dims = tuple(np.shape(value)) if value is not None else self.inferred.get(out)
            numel = _prod(dims) if dims is not None else None
            # A weight computed from stored tensors counts as those of its own size (a transposed matrix, not
            # the scale of a dequantisation), or else as all of them.
            same = frozenset(s for c in present for s in c.sources if self.sizes.get(s) == numel)
            floating = value.dtype.kind == "f" if value is not None else any(c.floating for c in present)
            # Else all of them, but for the integers (shapes, indices) a floating tensor is made with.
            sources = same or frozenset(s for c in present if c.floating or not floating for s in c.sources)
            self.t[out] = _Const(dims, None if value is None else np.asarray(value), sources, floating)

    def _constant_value(self, node: Any, attrs: dict[str, Any]) -> Any:
        np = self.np
        try:
            for key, value in attrs.items():
                if key == "value":
                    return self.onnx.numpy_helper.to_array(value, str(self.path.parent))
                if key in ("value_float", "value_int"):
                    return np.asarray(value)
                if key in ("value_floats", "value_ints"):
                    return np.asarray(list(value))
        except Exception as exc:  # a tensor whose type or size does not match its data: a corrupt file
            raise CnnCalcError(f"{self.path}: Constant node {self._label(node)}: {_one_line(exc)}") from None
        raise CnnCalcError(f"{self.path}: Constant node {self._label(node)} holds no value cnncalc can read")

    def _shape_node(self, node: Any, attrs: dict[str, Any]) -> None:
        dims = self._dims(node.input[0])
        if node.op_type == "Size":
            value = self.np.asarray(_prod(dims), dtype=self.np.int64)
        else:
            start, end = attrs.get("start", 0), attrs.get("end", len(dims))
            value = self.np.asarray(dims[start:end], dtype=self.np.int64)
        self.t[node.output[0]] = _Const(tuple(value.shape), value, frozenset(), False)

    # -- activations and layers

    # -- activations and layers

    def _dims(self, name: str) -> tuple[int, ...]:
        v = self.t.get(name)
        if isinstance(v, _Const):
            if v.dims is None:
                raise _Refuse("the size of its input is not known")
            return v.dims
        if isinstance(v, (_Act, _View, _Pad)):
            return v.dims
        raise _Refuse(f"its input {name!r} is not known")

    def _act(self, name: str, want: tuple[int, ...] | None = None, target: Any = None, user: Any = None) -> _Act:
        """The activation `name` as a layer's output, laid out as asked: `want` is the ONNX axes in written order
        (compared without axes of size 1), `target` the exact shape (a Shape), written axes (a tuple) or written axes
        but for leading 1s (`_Aligned`). Pending views and pads are made into layers here."""
        v = self.t.get(name)
        if isinstance(v, _Const):
            raise _Refuse(f"its input {name!r} is a constant, not an activation")
        if not isinstance(v, (_Act, _View, _Pad)):
            raise _Refuse(f"its input {name!r} is not known")
        if isinstance(v, _Act) and self._fits(v, want, target):
            return v
        key = (name, want, type(target).__name__, target)
        found = self.settled.get(key)
        if found is not None:
            return found
        for made in self.made.get(name, []):  # laid out already for another reader, and right for this one too
            if self._fits(made, want, target):
                return made
        try:
            try:
                found = self._settle(v, want, target, user)
            except (ValueError, IndexError) as exc:  # moves numpy cannot follow: a corrupt file
                raise _Refuse(f"its values cannot be followed ({_one_line(exc)})") from None
        except _Refuse as exc:
            if not isinstance(v, (_View, _Pad)):
                raise
            found = self.settled.get((name, "opaque"))
            if found is None:
                found = self._opaque_view(v, str(exc))
                self.settled[(name, "opaque")] = found
            if not self._fits(found, want, target):
                raise _Refuse(f"its input {name!r} is kept opaque ({exc})") from None
        self.settled[key] = found
        self.made.setdefault(name, []).append(found)
        return found

    def _cost(self, name: str, want: tuple[int, ...], target: Any, user: Any) -> int:
        """How many layers laying `name` out so would add (its selection, made either way, aside)."""
        v = self.t.get(name)
        if isinstance(v, _Act) and self._fits(v, want, target):
            return 0
        if (name, want, type(target).__name__, target) in self.settled:
            return 0
        if any(self._fits(made, want, target) for made in self.made.get(name, [])):
            return 0
        if isinstance(v, _Pad):
            v = self._act(name, user=user)
        if not isinstance(v, (_Act, _View)):
            return 0
        view = v if isinstance(v, _View) else _View(v, (), v.dims, None)
        try:
            return len(self._plan(view, want, target, user)[1])
        except (_Refuse, ValueError, IndexError):
            return 1 << 20  # not this way

    def _input(self, node: Any, index: int = 0) -> _Act:
        if index >= len(node.input) or not node.input[index]:
            raise _Refuse(f"its input {index + 1} is missing")
        return self._act(node.input[index], user=node)

    def _input_cf(self, node: Any, index: int = 0) -> _Act:
        """The input as a convolution reads it: N, C, then the window axes."""
        if index >= len(node.input) or not node.input[index]:
            raise _Refuse(f"its input {index + 1} is missing")
        dims = self._dims(node.input[index])
        if len(dims) < 2:
            raise _Refuse(f"a {len(dims)}-D input (it needs N, C and the window axes)")
        return self._act(node.input[index], _cf_order(len(dims)), _cf_shape(dims), node)

    def _input_cl(self, node: Any, index: int = 0, target: Any = None) -> _Act:
        """The input in ONNX's own order: its last axis written last, as the channels."""
        if index >= len(node.input) or not node.input[index]:
            raise _Refuse(f"its input {index + 1} is missing")
        dims = self._dims(node.input[index])
        return self._act(node.input[index], self._cl_order(dims), target, node)

    def _shape(self, act: _Act) -> Shape:
        return self.by_name[act.layer].shape

    def _fits(self, act: _Act, want: tuple[int, ...] | None, target: Any) -> bool:
        shape = self._shape(act)
        if isinstance(target, Shape):
            if shape != target:
                return False
        elif isinstance(target, _Aligned):
            if _lstrip(shape.axes()) != _lstrip(target):
                return False
        elif target is not None and shape.axes() != tuple(target):
            return False
        if want is None:
            return True
        dims = act.dims
        return [a for a in act.order if dims[a] != 1] == [a for a in want if dims[a] != 1]

    def _matches(self, shape: Shape, dims: tuple[int, ...], order: tuple[int, ...]) -> bool:
        """Whether a cnncalc shape is ONNX's dims laid out in `order` (axes of size 1 aside)."""
        if any(a >= len(dims) for a in order):
            return False
        left = (a for a in range(len(dims)) if a not in order)
        if any(dims[a] != 1 and not (a == 0 and self.batch > 1 and dims[0] == self.batch) for a in left):
            return False
        return _strip(shape.axes()) == _strip(dims[a] for a in order)

    def _push(self, rec: _Rec) -> None:
        self.recs.append(rec)
        self.by_name[rec.name] = rec
        self.taken.add(rec.name)
        for source in rec.claims:
            self.claimed.setdefault(source, rec.name)

    def _size(self, source: str) -> int:
        return self.counted.get(source, self.sizes.get(source, 0))

    def _claims(self, parts: list[tuple[_Const | None, str]]) -> tuple[dict[str, str], list[str]]:
        """The stored tensors a layer counts (first use), and those already counted by an earlier layer."""
        mine: dict[str, str] = {}
        shared: list[str] = []
        for c, kind in parts:
            if c is None:
                continue
            for s in sorted(c.sources):
                if s in self.claimed:
                    shared.append(s)
                else:
                    mine.setdefault(s, kind)
        return mine, shared

    def _try(self, op: str, pos: tuple[Any, ...], keys: dict[str, Any], inputs: list[_Act],
             claims: dict[str, str]) -> Shape | str:  # fmt: skip
        """cnncalc's output shape for this layer, or why it does not match the file."""
        calc = self._calc(op, pos, keys, [self._shape(a) for a in inputs], tuple(a.layer for a in inputs), full=True)
        if isinstance(calc, str):
            return calc
        params = sum(self._size(s) for s, kind in claims.items() if kind == "param")
        buffers = sum(self._size(s) for s, kind in claims.items() if kind == "buffer")
        if calc.weights + calc.biases != params:
            return f"cnncalc's {op} has {calc.weights + calc.biases:,} params, its initializers {params:,}"
        if calc.buffers != buffers:
            return f"cnncalc's {op} has {calc.buffers:,} buffers, its initializers {buffers:,}"
        return calc.output

    def _calc(self, op: str, pos: tuple[Any, ...], keys: dict[str, Any], shapes: list[Shape],
              names: tuple[str, ...] = (), full: bool = False) -> Any:  # fmt: skip
        """cnncalc's working of one layer on these input shapes (its output shape, or all if `full`), or why not."""
        spec = get_op(op)
        try:
            args = read_args(spec, pos, keys.items(), True)
            calc = spec.calc(args, shapes, Context(True, names))
        except CnnCalcError as exc:
            return f"cnncalc's {op} refuses it: {exc}"
        return calc if full else calc.output

    def _layer(self, node: Any, op: str, pos: tuple[Any, ...], keys: dict[str, Any], inputs: list[_Act],
               parts: Any = (), out: str | None = None, name: str | None = None, fallback: bool = True,
               order: tuple[int, ...] | None = None) -> _Act | str:  # fmt: skip
        """Add the layer if cnncalc's op agrees with the file (shape, params, buffers); else opaque, or the reason.

        `order` is where the output's ONNX axes are in the layer's shape: the first input's by default."""
        out = node.output[0] if out is None else out
        claims, shared = self._claims(list(parts))
        if shared:
            reason = f"its weights {', '.join(shared)} are shared with layer {self.claimed[shared[0]]}, counted there"
            return self._opaque(node, reason, out=out) if fallback else reason
        found = self._try(op, pos, keys, inputs, claims)
        expected = self.inferred.get(out)
        if expected is None and isinstance(found, Shape) and out in node.output:
            expected = self._infer_node(node).get(out)
        if order is None and inputs and expected is not None and len(expected) == len(inputs[0].dims):
            order = inputs[0].order
        if isinstance(found, Shape) and expected is not None:
            if order is None:
                order = self._default_order(expected)
            if not self._matches(found, expected, order):
                found = f"cnncalc's {op} gives {found.text()}, ONNX {'x'.join(map(str, expected))}"
        if isinstance(found, str):
            return self._opaque(node, found, out=out) if fallback else found
        if expected is None:  # ONNX lost track: the dims cnncalc's shape stands for
            expected, order = self._dims_for(found, inputs, order)
        assert order is not None
        label = self._unique(name or self.names[id(node)])
        self._push(_Rec(label, op, pos, keys, [a.layer for a in inputs], found, claims, self._label(node)))
        act = _Act(label, expected, order)
        self.t[out] = act
        return act

    def _dims_for(self, shape: Shape, inputs: list[_Act],
                  order: tuple[int, ...] | None) -> tuple[tuple[int, ...], tuple[int, ...]]:  # fmt: skip
        """ONNX dims for a layer's output where shape inference gives none: its input's if the shape is kept, N,C,...
        for a channels-first layer, else N then the written axes."""
        if inputs and self._shape(inputs[0]).axes() == shape.axes():
            return inputs[0].dims, inputs[0].order
        if order is not None and not shape.lead and order == _cf_order(len(shape.sizes) + 2) and shape.sizes:
            return (self.batch, shape.c, *shape.sizes), order
        axes = shape.axes()
        return (self.batch, *axes), tuple(range(1, len(axes) + 1))

    def _opaque(self, node: Any, reason: str, out: str | None = None, dims: tuple[int, ...] | None = None) -> _Act:
        """A layer cnncalc cannot work out: ONNX's shape, its unclaimed floating-point initializers as params."""
        outputs = [out] if out is not None else [o for o in node.output if o]
        acts = []
        for name in node.input:
            v = self.t.get(name) if name else None
            if isinstance(v, (_Act, _View, _Pad)):
                acts.append(self._act(name, user=node))
        parts = []
        for index, name in enumerate(node.input):
            c = self.t.get(name) if name else None
            kind = _operand_kind(node.op_type, index)
            if kind == "state" and self._zeros(c):
                continue  # a recurrent layer's initial state of zeros (PyTorch's default): not a parameter
            if isinstance(c, _Const) and c.floating and kind and not (kind == "operand" and _prod(c.dims or ()) == 1):
                parts.append((c, "buffer" if kind == "buffer" else "param"))
        claims, _ = self._claims(parts)
        first = None
        for k, name in enumerate(outputs):
            used = bool(self.consumers.get(name)) or name in self.outputs
            if k > 0 and not used:
                continue
            shape_dims = dims if dims is not None else self.inferred.get(name)
            if shape_dims is None:
                shape_dims = self._infer_node(node).get(name)
            if shape_dims is None:
                raise CnnCalcError(
                    f"{self.path}: node {self._label(node)}: {reason}, and ONNX shape inference gives no shape for "
                    f"its output {name!r}, so it cannot be kept as an opaque layer"
                )
            base = self.names[id(node)] if k == 0 else f"{self.names[id(node)]}.{k}"
            order = acts[0].order if acts and len(acts[0].dims) == len(shape_dims) else None
            act = self._opaque_layer(node, reason, acts, shape_dims, claims if first is None else {}, base, order)
            self.t[name] = act
            first = first or act
        if first is None:
            raise CnnCalcError(f"{self.path}: node {self._label(node)} has no output")
        return first

    def _opaque_layer(self, node: Any, reason: str, acts: list[_Act], dims: tuple[int, ...], claims: dict[str, str],
                      base: str, order: tuple[int, ...] | None = None) -> _Act:  # fmt: skip
        what = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        label = self._unique(base)
        params = sum(self._size(s) for s, kind in claims.items() if kind == "param")
        buffers = sum(self._size(s) for s, kind in claims.items() if kind == "buffer")
        if order is None or any(a >= len(dims) for a in order) or not self._matches_any(dims, order):
            order = self._default_order(dims)
        shape = self._shape_for(dims, order)
        keys = {"params": params, "buffers": buffers, "what": f"onnx.{what}"}
        inputs = [a.layer for a in acts] or [self.recs[0].name]
        self._push(_Rec(label, "opaque", (shape,), keys, inputs, shape, claims, self._label(node)))
        self.notes.append(
            f"{self.path.name}: {label}: ONNX {what} node {node.name or '(unnamed)'!r} kept as an opaque layer "
            f"({params:,} params, MACs unknown): {reason}"
        )
        return _Act(label, dims, order)

    def _matches_any(self, dims: tuple[int, ...], order: tuple[int, ...]) -> bool:
        """Whether `order` lists every axis of dims that is more than 1 (the batch aside)."""
        return all(dims[a] == 1 or a in order or (a == 0 and self.batch > 1) for a in range(len(dims)))

    def _opaque_view(self, v: _View | _Pad, reason: str) -> _Act:
        """A view or a pad no layers can write: an opaque layer with ONNX's shape."""
        src = v.base if isinstance(v, _View) else self._act(v.src)
        if isinstance(v, _Pad):
            reason = f"padding {[list(p) for p in v.pads]} that cnncalc's pad cannot write: {reason}"
        return self._opaque_layer(v.node, reason, [src], v.dims, {}, v.label or self.names[id(v.node)])

    # -- views, selections and pads, made into layers when read

    def _settle(self, v: Any, want: tuple[int, ...] | None, target: Any, user: Any) -> _Act:
        if isinstance(v, _Pad):
            act = self._pad_layer(v)
            if self._fits(act, want, target):
                return act
            v = _View(act, (), act.dims, None)
        elif isinstance(v, _Act):
            v = _View(v, (), v.dims, None)
        return self._arrange(v, want, target, user)

    def _moved(self, name: str, move: tuple[str, Any], dims: tuple[int, ...], node: Any,
               label: str | None = None) -> _View:  # fmt: skip
        """The tensor `name` with one more reshape, transpose or selection, not yet made into layers."""
        src = self.t.get(name)
        if isinstance(src, _Pad):
            src = self._act(name, user=node)
        if move[0] == "take" and isinstance(src, _View) and any(kind == "transpose" for kind, _ in src.moves):
            src = self._act(name, user=node)  # rearranged first (a channel shuffle stays one), then cut
        if isinstance(src, _View):
            return _View(src.base, (*src.moves, move), tuple(dims), node, label)
        if isinstance(src, _Act):
            return _View(src, (move,), tuple(dims), node, label)
        raise _Refuse("its input is not an activation")

    def _positions(self, v: _View, batch: int, n: int) -> Any:
        """For each value of the view (in ONNX's order, as an array of its dims): its position in the base layer's
        output, counted in cnncalc's written order (the batch outermost)."""
        np = self.np
        base = v.base
        dtype = np.int32 if batch * n < 1 << 31 else np.int64
        order = tuple(a for a in base.order if not (batch > 1 and a == 0))
        written = [base.dims[a] for a in order]
        if batch > 1:
            arr = np.arange(batch * n, dtype=dtype).reshape([batch, *written])
            order = (0, *order)
        else:
            arr = np.arange(n, dtype=dtype).reshape(written)
        arr = arr.transpose(np.argsort(order)).reshape(base.dims)
        for kind, arg in v.moves:
            if kind == "reshape":
                arr = arr.reshape(arg)
            elif kind == "transpose":
                arr = arr.transpose(arg)
            else:
                axis, index = arg
                arr = np.take(arr, index if isinstance(index, int) else list(index), axis=axis)
        return arr

    def _arrange(self, v: _View, want: tuple[int, ...] | None, target: Any, user: Any) -> _Act:
        """Make a view into layers that give its values laid out as asked (see `_act`)."""
        box, steps, order = self._plan(v, want, target, user)
        own = v.node is not None
        node = v.node if own else user
        act = box
        for op, arg in steps:
            act = self._derive(node, own, v.label, op, arg, act)
        return _Act(act.layer, v.dims, order)

    def _plan(self, v: _View, want: tuple[int, ...] | None, target: Any,
              user: Any) -> tuple[_Act, list[tuple[str, Any]], tuple[int, ...]]:  # fmt: skip
        """The layers a view needs: what they start from (its selection made into slices), each layer's op and
        argument, and the layout of the result."""
        np = self.np
        own = v.node is not None
        node = v.node if own else user
        base = v.base
        bshape = self._shape(base)
        n = bshape.numel
        batch = self.batch if self.batch > 1 and 0 not in base.order else 1
        if batch * n != _prod(v.dims) and not any(kind == "take" for kind, _ in v.moves):
            raise _Refuse(f"{list(v.dims)} does not hold the {batch * n:,} values of its input")
        if not all(v.dims) or _prod(base.dims) != batch * n:
            raise _Refuse(f"its input {base.layer} holds {n:,} values, its ONNX dims {list(base.dims)}")
        if batch * n > _MOST_FOLLOWED:
            return self._large_view(v, want, target)
        arr = self._positions(v, batch, n)
        if batch > 1:
            starts = (np.arange(batch) * n).reshape([batch] + [1] * (arr.ndim - 1))
            if v.dims[0] != batch or not (arr - starts == arr[:1]).all():
                raise _Refuse("it moves the batch among the other axes (only a batch of 1 can be followed there)")
            arr = arr[:1]
        try:
            box, arr = self._select(v, base, bshape, arr, node, own)
        except _NotBox:
            first = next((k for k, (kind, _) in enumerate(v.moves) if kind == "take"), 0)
            if first == 0:
                raise
            # Rearranged, then cut (Swin's roll of windows put back): the rearrangement made into layers first.
            cached = self.prefixes.get(id(v))
            if cached is None or cached[0] is not v:
                dims = _moved_dims(base.dims, v.moves[:first])
                made = self._arrange(_View(base, v.moves[:first], dims, v.node, v.label), None, None, user)
                cached = self.prefixes[id(v)] = (v, _View(made, v.moves[first:], v.dims, v.node, v.label))
            return self._plan(cached[1], want, target, user)
        shape = self._shape(box)
        m = shape.numel
        order = want if want is not None else self._free_order(arr, shape, v.dims)
        rest = [a for a in range(arr.ndim) if a not in order]
        if any(arr.shape[a] != 1 for a in rest):
            raise _Refuse(f"its axes {rest} are not laid out")
        flat = arr.transpose([*rest, *order]).reshape(-1)
        written = tuple(int(v.dims[a]) for a in order)
        if isinstance(target, Shape):
            goal = target
        elif isinstance(target, _Aligned):
            goal = _split_shape(_lstrip(target))
        elif target is not None:
            goal = _split_shape(tuple(target))
        else:
            goal = _split_shape(_strip(written))
        free = len(_strip(written)) <= 1 or len(_strip(shape.axes())) <= 1  # a vector's values have no layout
        if free or bool((flat == np.arange(m)).all()):
            steps: list[tuple[str, Any]] = []
        else:
            g = _shuffle_groups(np, flat, shape)
            steps = [("shuffle", g)] if g and _strip(shape.axes()) == _strip(written) else self._rearrange(flat, shape)
        now = shape
        for op, arg in steps:
            found = self._calc(op, *_step_args(op, arg), [now])
            if isinstance(found, str):
                raise _Refuse(found)
            now = found
        if isinstance(target, Shape):
            done = now == target
        elif isinstance(target, _Aligned):
            done = _lstrip(now.axes()) == _lstrip(target)
        else:
            done = now.axes() == goal.axes()  # a squeezed map (1x1xC to C) is a layer, as ONNX's shape says
        if not done:
            steps.append(("flatten" if not goal.spatial and not goal.lead else "reshape", goal))
        return box, steps, order

    def _large_view(self, v: _View, want: Any, target: Any) -> tuple[_Act, list[tuple[str, Any]], tuple[int, ...]]:
        """A view of too many values to follow one by one: only reshapes to a vector (a flatten) are made."""
        if any(kind != "reshape" for kind, _ in v.moves):
            raise _Refuse(f"it rearranges more than {_MOST_FOLLOWED:,} values (too many to follow one by one)")
        order = want if want is not None else self._cl_order(v.dims)
        written = _strip(v.dims[a] for a in order)
        if len(written) > 1 or (target is not None and not isinstance(target, Shape)):
            raise _Refuse(f"it reshapes more than {_MOST_FOLLOWED:,} values to a map (too many to follow)")
        return v.base, [("flatten", None)], order

    def _free_order(self, arr: Any, shape: Shape, dims: tuple[int, ...]) -> tuple[int, ...]:
        """The layout that needs no layer: axes ordered by how far apart their values are in the base (outermost
        first), if that keeps the values in order; else channels first if that is a channel shuffle; else ONNX's own
        order."""
        np = self.np
        axes = [a for a in range(arr.ndim) if arr.shape[a] != 1]
        origin = (0,) * arr.ndim
        start = int(arr[origin])

        def stride(a: int) -> int:
            index = list(origin)
            index[a] = 1
            return int(arr[tuple(index)]) - start

        order = tuple(sorted(axes, key=lambda a: -stride(a)))
        rest = [a for a in range(arr.ndim) if a not in order]
        flat = arr.transpose([*rest, *order]).reshape(-1)
        if start == 0 and bool((flat == np.arange(flat.size)).all()):
            return order
        if arr.ndim == 4:
            cf = _cf_order(4)
            if _shuffle_groups(np, arr.transpose(0, *cf).reshape(-1), shape):
                return cf
        return self._cl_order(dims)

    def _select(self, v: _View, base: _Act, shape: Shape, arr: Any, node: Any,
                own: bool) -> tuple[_Act, Any]:  # fmt: skip
        """The values a view takes (Gather, Slice, Split) as `slice` layers on the base, one per axis cut, and the
        view's positions counted in what they keep."""
        cached = self.selected.get(id(v))
        if cached is not None and cached[0] is v:
            return cached[1], cached[2]
        np = self.np
        flat = arr.reshape(-1)
        n = shape.numel
        if flat.size == n:
            seen = np.zeros(n, dtype=bool)
            seen[flat] = True
            if seen.all():
                return base, arr
        mark = np.zeros(n, dtype=bool)
        mark[flat] = True
        count = int(mark.sum())
        if count != flat.size:
            raise _Refuse("it repeats values (a broadcast), which cnncalc's layers do not write")
        axes = shape.axes()
        mark = mark.reshape(axes)
        every = tuple(range(len(axes)))
        kept = [np.flatnonzero(mark.any(axis=every[:k] + every[k + 1 :])) for k in every]
        if _prod(k.size for k in kept) != count:
            raise _NotBox("the values it takes are not a slice along each axis")
        act, lead = base, len(shape.lead)
        for k, keep in enumerate(kept):
            if keep.size == axes[k]:
                continue
            if k < lead:
                raise _Refuse("it slices a batch-like axis (cnncalc's slice takes the window axes and channels)")
            first, last = int(keep[0]), int(keep[-1])
            pick: Any = f"{first}:{last + 1}" if last - first + 1 == keep.size else tuple(int(i) for i in keep)
            keys = {} if k == len(axes) - 1 else {"axis": k - lead}
            act = self._derive(node, own, v.label, "slice", (pick, keys), act)
        where = np.full(n, -1, dtype=arr.dtype)
        where[np.ravel_multi_index(np.ix_(*kept), axes).reshape(-1)] = np.arange(count, dtype=arr.dtype)
        arr = where[arr]
        self.selected[id(v)] = (v, act, arr)
        return act, arr

    def _rearrange(self, flat: Any, shape: Shape) -> list[tuple[str, Any]]:
        """A reshape (if needed) and a permute that put the values of `shape` in the order `flat` gives."""
        runs = _runs(self.np, flat)
        if runs is None:
            raise _Refuse("it moves values in a way no permute of whole axes gives (a reversal or a scatter)")
        source = sorted(runs, key=lambda r: -r[1])
        perm = [source.index(r) for r in runs]
        sizes = tuple(s for s, _ in source)
        axes, lead = shape.axes(), len(shape.lead)
        if axes == sizes and perm[:lead] == list(range(lead)):
            return [("permute", tuple(p - lead for p in perm[lead:]))]
        if axes == sizes:
            return [("permute", tuple(perm))]  # lead axes move too: an order over every axis
        fixed = 0
        while fixed < len(perm) and perm[fixed] == fixed:
            fixed += 1
        if len(sizes) - fixed <= 4:
            before = Shape.of(sizes[-1], sizes[fixed:-1], sizes[:fixed])
            return [("reshape", before), ("permute", tuple(p - fixed for p in perm[fixed:]))]
        return [("reshape", _split_shape(sizes)), ("permute", tuple(perm))]

    def _derive(self, node: Any, own: bool, label: str | None, op: str, arg: Any, x: _Act) -> _Act:
        """One layer of a view (a slice, reshape, permute, flatten or shuffle) on `x`, named after the view's node
        (`own`), or after the node that reads it with the op's name added."""
        pos, keys = _step_args(op, arg)
        found = self._try(op, pos, keys, [x], {})
        if isinstance(found, str):
            raise _Refuse(found)
        base = label or (self.names[id(node)] if node is not None else "view")
        if not own or base in self.taken:
            base = f"{base}.{op}"
        name = self._unique(base)
        self._push(_Rec(name, op, pos, keys, [x.layer], found, {}, self._label(node) if node is not None else ""))
        axes = found.axes()
        return _Act(name, (self.batch, *axes), tuple(range(1, len(axes) + 1)))

    def _pad_layer(self, v: _Pad) -> _Act:
        """A Pad no convolution or pooling took in: cnncalc's `pad` along the window axes it pads."""
        x = self._act(v.src, user=v.node)
        shape = self._shape(x)
        lead = len(shape.lead)
        per_axis = [(0, 0)] * shape.rank
        for a, (before, after) in enumerate(v.pads):
            if not before and not after:
                continue
            w = x.order.index(a) - lead if a in x.order else -1
            if not 0 <= w < shape.rank:
                raise _Refuse(f"it pads ONNX axis {a}, which is not a window axis of {shape.text()}")
            per_axis[w] = (before, after)
        p = tuple(v for pair in per_axis for v in pair)
        keys = {} if v.mode == "zeros" else {"mode": v.mode}
        found = self._try("pad", (p,), keys, [x], {})
        if isinstance(found, str):
            raise _Refuse(found)
        name = self._unique(v.label or self.names[id(v.node)])
        self._push(_Rec(name, "pad", (p,), keys, [x.layer], found, {}, self._label(v.node)))
        return _Act(name, v.dims, x.order)

    # -- convolutions and pooling

    def _conv(self, node: Any, a: dict[str, Any]) -> None:
        w = self._weight(node, 1)
        b = self._weight(node, 2, "biases")
        assert w is not None and w.dims is not None
        spatial = len(w.dims) - 2
        if spatial not in (1, 2, 3):
            raise _Refuse(f"a {spatial}-D convolution (cnncalc's are 1-D, 2-D and 3-D)")
        g = int(a.get("group", 1))
        k = _axes_attr(a.get("kernel_shape", w.dims[2:]), spatial, 1)
        s = _axes_attr(a.get("strides", []), spatial, 1)
        d = _axes_attr(a.get("dilations", []), spatial, 1)
        c_out = int(w.dims[0])
        parts = [(w, "param"), (b, "param")]

        def attempt(x: _Act, extra: tuple[tuple[int, int], ...]) -> _Act | str:
            p = self._padding(node, a, x, spatial, k, s, d, extra)
            made = _ops.conv(self._shape(x).c, c_out, k, s, p, d, g, b is not None)
            return self._layer(node, *made, [x], parts, fallback=False, order=_cf_order(spatial + 2))

        self._windowed(node, attempt, spatial)

    def _windowed(self, node: Any, attempt: Callable[[_Act, Any], _Act | str], spatial: int) -> None:
        """Try the layer with a Pad before it folded in, then without; opaque if neither fits."""
        source = self.t.get(node.input[0])
        reason = ""
        single = len(self.consumers.get(node.input[0], [])) == 1 and node.input[0] not in self.outputs
        if isinstance(source, _Pad) and single and source.mode == "zeros" and len(source.dims) == spatial + 2:
            noted = len(self.notes)
            if any(source.pads[0]) or any(source.pads[1]):
                found: _Act | str = "it pads the batch or the channels"
            else:
                try:
                    dims = self._dims(source.src)
                    x = self._act(source.src, _cf_order(len(dims)), _cf_shape(dims), node)
                    found = attempt(x, source.pads[2:])
                except _Refuse as exc:
                    found = str(exc)
            if isinstance(found, _Act):
                return
            del self.notes[noted:]
            reason = found
        try:
            found = attempt(self._input_cf(node), ((0, 0),) * spatial)
        except _Refuse as exc:
            found = str(exc)
        if isinstance(found, str):
            self._opaque(node, found if not reason else f"{found} (with the Pad before it folded in: {reason})")

    def _padding(self, node: Any, a: dict[str, Any], x: _Act, spatial: int, k: tuple[int, ...],
                 s: tuple[int, ...], d: tuple[int, ...], extra: tuple[tuple[int, int], ...],
                 ceil: bool = False) -> Any:  # fmt: skip
        """cnncalc's `p` for ONNX's pads (and a Pad folded in): N, per axis, or same; asymmetric where sizes agree."""
        auto = _text(a.get("auto_pad", b"NOTSET"))
        sizes = self._shape(x).sizes
        if len(sizes) != spatial:
            raise _Refuse(f"a {spatial}-D window on {self._shape(x).text()}")
        axes = range(spatial)
        names = AXIS_NAMES[spatial]
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            if any(map(sum, extra)):
                raise _Refuse("auto_pad SAME with a Pad before it")
            if auto == "SAME_LOWER" and any(sum(same_padding(sizes[i], k[i], s[i], d[i])) % 2 for i in axes):
                self.notes.append(
                    f"{self.path.name}: node {self._label(node)}: SAME_LOWER puts the odd padding row before, "
                    "cnncalc's `same` after: sizes and counts agree, the receptive field's start moves by one pixel"
                )
            return "same"
        raw = [0] * (2 * spatial) if auto == "VALID" else [int(v) for v in a.get("pads", [0] * (2 * spatial))]
        if len(raw) != 2 * spatial:
            raise _Refuse(f"pads {raw} for a {spatial}-D window")
        pads = [(raw[i] + extra[i][0], raw[spatial + i] + extra[i][1]) for i in axes]
        if min(min(p) for p in pads) < 0:
            raise _Refuse(f"negative padding {raw}")
        if all(p[0] == p[1] for p in pads):
            return tuple(p[0] for p in pads)
        same = [same_padding(sizes[i], k[i], s[i], d[i]) for i in axes]
        note = f"{self.path.name}: node {self._label(node)}: asymmetric padding {_pads_text(pads)} is written as "
        if all(pads[i] == same[i] for i in axes):
            return "same"
        if all(sum(pads[i]) % 2 == 0 for i in axes):
            half = tuple(sum(pads[i]) // 2 for i in axes)
            shown = "x".join(map(str, half))
            self.notes.append(note + f"p={shown}: sizes and counts agree, the field's start moves")
            return half
        if all(sum(pads[i]) == sum(same[i]) for i in axes):
            self.notes.append(note + "`same`: sizes and counts agree, the receptive field's start moves by a pixel")
            return "same"

        def out(n: int, total: int, axis: int) -> int:
            span = n + total - effective_kernel(k[axis], d[axis])
            return (-(-span // s[axis]) if ceil else span // s[axis]) + 1

        chosen = []
        for i in axes:
            total = sum(pads[i])
            want = out(sizes[i], total, i)
            fits = [p for p in (total // 2, (total + 1) // 2) if out(sizes[i], 2 * p, i) == want]
            if not fits:
                raise _Refuse(
                    f"asymmetric padding {pads[i][0]},{pads[i][1]} along {names[i]}: cnncalc pads both sides "
                    "equally, and no equal padding gives the same output size"
                )
            chosen.append(fits[0])
        shown = "x".join(map(str, chosen))
        self.notes.append(note + f"p={shown}: the output size and counts agree, the field's start does not")
        return tuple(chosen)

    def _conv_transpose(self, node: Any, a: dict[str, Any]) -> None:
        w = self._weight(node, 1)
        b = self._weight(node, 2, "biases")
        assert w is not None and w.dims is not None
        spatial = len(w.dims) - 2
        if spatial not in (1, 2, 3):
            raise _Refuse(f"a {spatial}-D transposed convolution (cnncalc's are 1-D, 2-D and 3-D)")
        x = self._input_cf(node)
        g = int(a.get("group", 1))
        k = _axes_attr(a.get("kernel_shape", w.dims[2:]), spatial, 1)
        s = _axes_attr(a.get("strides", []), spatial, 1)
        d = _axes_attr(a.get("dilations", []), spatial, 1)
        op = list(_axes_attr(a.get("output_padding", []), spatial, 0))
        sizes = self._shape(x).sizes
        if len(sizes) != spatial:
            raise _Refuse(f"a {spatial}-D window on {self._shape(x).text()}")
        axes = range(spatial)
        auto = _text(a.get("auto_pad", b"NOTSET"))
        raw = [int(v) for v in a.get("pads", [0] * (2 * spatial))]
        if len(raw) != 2 * spatial:
            raise _Refuse(f"pads {raw} for a {spatial}-D window")
        pads = [(raw[i], raw[spatial + i]) for i in axes]
        target = a.get("output_shape")
        if target is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
            wanted = (
                _axes_attr(list(target)[-spatial:], spatial, 1)
                if target is not None
                else tuple(sizes[i] * s[i] for i in axes)
            )
            pads = []
            for i in axes:
                total = s[i] * (sizes[i] - 1) + op[i] + effective_kernel(k[i], d[i]) - wanted[i]
                if total < 0:
                    op[i] -= total  # ONNX makes up the difference with output padding
                    total = 0
                half = total // 2
                pads.append((half, total - half) if auto == "SAME_UPPER" else (total - half, half))
        p = []
        for i in axes:
            total = sum(pads[i])
            p.append((total + 1) // 2)
            op[i] += 2 * p[i] - total  # an odd total padding: one more on each side, one more output row back
        if any(pads[i][0] != pads[i][1] for i in axes):
            self.notes.append(
                f"{self.path.name}: node {self._label(node)}: asymmetric padding {pads} written as "
                f"p={'x'.join(map(str, p))}, op={'x'.join(map(str, op))}: the output size and counts agree"
            )
        made = _ops.conv_transpose(int(w.dims[1]) * g, k, s, tuple(p), tuple(op), d, g, b is not None)
        self._layer(node, *made, [x], [(w, "param"), (b, "param")], order=_cf_order(spatial + 2))

    def _pool(self, node: Any, a: dict[str, Any]) -> None:
        kernel = [int(v) for v in a.get("kernel_shape", [])]
        spatial = len(kernel)
        if spatial not in (1, 2, 3):
            raise _Refuse(f"a {spatial}-D pooling window (cnncalc's are 1-D, 2-D and 3-D)")
        if any(v != 1 for v in a.get("dilations", [])):
            raise _Refuse(f"dilations {list(a['dilations'])} (cnncalc's pooling has none)")
        k = tuple(kernel)
        s = _axes_attr(a.get("strides", []), spatial, 1)
        ceil = bool(a.get("ceil_mode", 0))
        op = "maxpool" if node.op_type == "MaxPool" else "avgpool"

        def attempt(x: _Act, extra: tuple[tuple[int, int], ...]) -> _Act | str:
            p = self._padding(node, a, x, spatial, k, s, (1,) * spatial, extra, ceil)
            return self._layer(node, *_ops.pool(op, k, s, p, ceil), [x], fallback=False, order=_cf_order(spatial + 2))

        self._windowed(node, attempt, spatial)

    def _global_pool(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input_cf(node)
        shape = self._shape(x)
        if not shape.spatial or not 3 <= len(x.dims) <= 5:
            raise _Refuse("global pooling of a tensor that is not a feature map")
        order = _cf_order(len(x.dims))
        if node.op_type == "GlobalAveragePool":
            self._layer(node, "gap", (), {}, [x], order=order)
        else:
            self._layer(node, "maxpool", (), {"k": shape.sizes}, [x], order=order)

    # -- products

    def _gemm(self, node: Any, a: dict[str, Any]) -> None:
        if a.get("transA", 0):
            raise _Refuse("transA=1 (the activation transposed)")
        if not isinstance(self.t.get(node.input[1]), _Const):
            raise _Refuse("a product of two activations written as Gemm")
        w = self._weight(node, 1)
        c = self._weight(node, 2, "biases")
        assert w is not None and w.dims is not None
        if len(w.dims) != 2:
            raise _Refuse(f"weights of {len(w.dims)} dimensions")
        x = self._input_cl(node)
        out = int(w.dims[0] if a.get("transB", 0) else w.dims[1])
        self._linear(node, x, out, [(w, "param"), (c, "param")], c is not None)

    def _linear(self, node: Any, x: _Act, out: int, parts: Any, bias: bool, order: Any = None) -> None:
        """An fc over the last written axis of x: at each position or token, as nn.Linear works."""
        keys: dict[str, Any] = {"bias": bias}
        shape = self._shape(x)
        if shape.rank >= 2 and shape.positions > 1:
            keys["pointwise"] = True
        if order is None:
            last = len(x.dims) - 1
            order = (*(a for a in x.order if a != last), last)
        self._layer(node, "fc", (out,), keys, [x], parts, order=order)

    def _matmul(self, node: Any, a: dict[str, Any]) -> None:
        first, second = (self.t.get(i) for i in node.input[:2])
        if isinstance(first, _Const):
            raise _Refuse("a constant times an activation (cnncalc's fc takes the activation first)")
        if isinstance(second, _Const):
            w = self._weight(node, 1)
            assert w is not None and w.dims is not None
            if len(w.dims) != 2:
                raise _Refuse(f"a product with a constant of {len(w.dims)} dimensions (cnncalc's fc takes a matrix)")
            if not w.sources:
                raise _Refuse("a product with a constant computed from shapes, not stored weights")
            self._linear(node, self._input_cl(node), int(w.dims[1]), [(w, "param")], False)
            return
        da, db = self._dims(node.input[0]), self._dims(node.input[1])
        if len(da) < 2 or len(db) < 2:
            raise _Refuse("a product with a vector (cnncalc's matmul takes matrices)")
        order = self._cl_order(da)
        x = self._act(node.input[0], order, _matrix_axes(tuple(da[a] for a in order)), node)
        out = self.inferred.get(node.output[0]) or max(da, db, key=len)
        self._product(node, x, node.input[1], self._cl_order(db), self._cl_order(out))

    def _product(self, node: Any, x: _Act, b_name: str, b_order: tuple[int, ...],
                 out_order: tuple[int, ...]) -> None:  # fmt: skip
        """A matrix product of two activations: B as it is, or read transposed (bt=true) where that is its layout."""
        db = self._dims(b_name)
        swapped = (*b_order[:-2], b_order[-1], b_order[-2])

        def target(order: tuple[int, ...]) -> _Aligned:
            return _matrix_axes(tuple(db[a] for a in order))

        bt = self._cost(b_name, swapped, target(swapped), node) < self._cost(b_name, b_order, target(b_order), node)
        order = swapped if bt else b_order
        y = self._act(b_name, order, target(order), node)
        self._layer(node, "matmul", (), {"bt": True} if bt else {}, [x, y], order=out_order)

    def _einsum(self, node: Any, a: dict[str, Any]) -> None:
        """A two-operand Einsum that is a (batched) matrix product: `matmul`, or `fc` by a stored matrix."""
        equation = _text(a.get("equation", "")).replace(" ", "")
        lhs, arrow, out = equation.partition("->")
        terms = lhs.split(",")
        if not arrow or "." in equation or len(terms) != 2 or len([i for i in node.input if i]) != 2:
            raise _Refuse(f"the einsum {equation!r} (cnncalc reads two operands and an explicit output)")
        ta, tb = terms
        if any(len(set(t)) != len(t) for t in (ta, tb, out)) or set(out) - set(ta + tb):
            raise _Refuse(f"the einsum {equation!r} repeats an index (a trace or a diagonal)")
        contracted = [c for c in ta if c in tb and c not in out]
        batch = [c for c in out if c in ta and c in tb]
        free_a = [c for c in ta if c in out and c not in tb]
        free_b = [c for c in out if c in tb and c not in ta]
        summed = [c for c in ta + tb if c not in out and c not in contracted]
        if isinstance(self.t.get(node.input[0]), _Const):
            raise _Refuse("a constant first operand")
        if len(contracted) != 1 or len(free_b) != 1 or summed or not free_a:
            raise _Refuse(f"the einsum {equation!r} is not a (batched) matrix product")
        k, j = contracted[0], free_b[0]
        da = self._dims(node.input[0])
        second = self.t.get(node.input[1])
        if isinstance(second, _Const):
            # A stored matrix: an fc over k, at every other index of the activation (its rows).
            w = self._weight(node, 1)
            assert w is not None and w.dims is not None
            if batch or sorted(tb) != sorted(k + j) or not w.sources:
                raise _Refuse(f"the einsum {equation!r} with a constant that is not a matrix of weights")
            rows = [c for c in free_a if not (self.batch > 1 and c == ta[0])]
            if self.batch > 1 and out[0] != ta[0]:
                raise _Refuse(f"the einsum {equation!r} does not keep the batch first")
            x = self._act(node.input[0], tuple(ta.index(c) for c in (*rows, k)), None, node)
            order = tuple(out.index(c) for c in (*rows, j))
            self._linear(node, x, int(w.dims[tb.index(j)]), [(w, "param")], False, order=order)
            return
        if len(free_a) != 1:
            raise _Refuse(f"the einsum {equation!r} is not a (batched) matrix product")
        i = free_a[0]
        if self.batch > 1:
            if not (ta[0] == tb[0] == out[0] and ta[0] in batch):
                raise _Refuse(f"the einsum {equation!r} does not keep the batch first")
            batch = batch[1:]
        want_a = tuple(ta.index(c) for c in (*batch, i, k))
        x = self._act(node.input[0], want_a, _matrix_axes(tuple(da[ta.index(c)] for c in (*batch, i, k))), node)
        out_order = tuple(out.index(c) for c in (*batch, i, j))
        self._product(node, x, node.input[1], tuple(tb.index(c) for c in (*batch, k, j)), out_order)

    # -- normalisation

    def _batchnorm(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input_cf(node)
        parts = [(self._weight(node, i, "statistics"), kind) for i, kind in ((1, "param"), (2, "param"),
                                                                           (3, "buffer"), (4, "buffer"))]  # fmt: skip
        self._layer(node, "bn", (), {}, [x], parts, order=_cf_order(len(x.dims)))

    def _instancenorm(self, node: Any, a: dict[str, Any]) -> None:
        scale, bias = self._weight(node, 1, "scale"), self._weight(node, 2, "bias")
        if self._group_norm(node, scale, bias):
            return
        x = self._input_cf(node)
        if self._literal(scale) and self._literal(bias):
            # torch.onnx writes affine=False as scale 1 and shift 0 in Constant nodes: no parameters.
            self.constant_reads |= scale.sources | bias.sources  # type: ignore[union-attr]
            self._layer(node, "instancenorm", (), {}, [x], order=_cf_order(len(x.dims)))
            return
        parts = [(scale, "param"), (bias, "param")]
        self._layer(node, "instancenorm", (), {"affine": True}, [x], parts, order=_cf_order(len(x.dims)))

    def _sole_user(self, name: str, op: str) -> Any:
        """The one node reading `name`, if it is an `op` and `name` is not a graph output; else None."""
        users = self.consumers.get(name, [])
        if len(users) != 1 or name in self.outputs or users[0].op_type != op:
            return None
        return users[0]

    def _literal(self, c: _Const | None) -> bool:
        """A constant written in a Constant node (not an initializer): ones or zeros the exporter made up."""
        stored = {i.name for i in self.g.initializer}
        return c is not None and bool(c.sources) and not c.sources & stored

    def _group_norm(self, node: Any, scale: _Const | None, bias: _Const | None) -> bool:
        """GroupNorm as torch.onnx writes it: Reshape to (N, g, -1), InstanceNormalization with scale 1 and shift 0,
        Reshape back, then Mul by gamma and Add beta per channel. One `groupnorm g=...`."""
        view = self.t.get(node.input[0])
        if not isinstance(view, _View) or len(view.moves) != 1 or view.moves[0][0] != "reshape":
            return False
        base, dims = view.base, view.dims
        if len(dims) != 3 or len(base.dims) < 3 or dims[0] != base.dims[0] or base.dims[1] % dims[1]:
            return False
        if not (self._literal(scale) and self._literal(bias)):
            return False

        back = self._sole_user(node.output[0], "Reshape")
        if back is None or self.inferred.get(back.output[0], base.dims) != base.dims:
            return False
        chain, end, parts = [back], back, []
        channels = base.dims[1]
        for op in ("Mul", "Add"):
            nxt = self._sole_user(end.output[0], op)
            other = next((i for i in nxt.input if i != end.output[0]), "") if nxt is not None else ""
            c = self._early(other) if other else None
            aligned = self._aligned(c, base) if isinstance(c, _Const) and c.sources else None
            if aligned is None or aligned[1] != channels or _prod(aligned) != channels:
                break
            parts.append((c, "param"))
            chain.append(nxt)
            end = nxt
        if len(parts) == 1:
            return False  # a scale without a shift: not GroupNorm's affine pair
        rank = len(base.dims)
        made = base
        if not self._fits(base, _cf_order(rank), _cf_shape(base.dims)):
            return False
        self.constant_reads |= scale.sources | bias.sources  # type: ignore[union-attr]
        self.inferred.setdefault(end.output[0], base.dims)  # a norm keeps the shape (ONNX may have lost it here)
        kind = _ops.norm("groupnorm", g=dims[1], affine=bool(parts))
        found = self._layer(node, *kind, [made], parts, out=end.output[0], fallback=False,
                            name=self.paths[id(node)], order=_cf_order(rank))  # fmt: skip
        if isinstance(found, str):
            return False
        self.skip |= {id(n) for n in chain}
        return True

    def _layernorm(self, node: Any, a: dict[str, Any]) -> None:
        """Over the last axes at each position or token: of tokens, or of a map made channels-last (ConvNeXt)."""
        scale = self._weight(node, 1, "scale")
        bias = self._weight(node, 2, "bias")
        dims = self._dims(node.input[0])
        axis = int(a.get("axis", -1))
        self._normalised(node, node.input[0], axis + len(dims) if axis < 0 else axis, scale, bias, node.output[0])

    def _normalised(self, node: Any, name: str, axis: int, scale: _Const | None, bias: _Const | None, out: str,
                    label: str | None = None) -> None:  # fmt: skip
        dims = self._dims(name)
        if not 0 <= axis < len(dims):
            raise _Refuse(f"a layer norm over axes {axis}.. of a {len(dims)}-D tensor")
        x = self._input_cl(node) if name == node.input[0] else self._act(name, self._cl_order(dims), None, node)
        made = _ops.norm("layernorm", n=len(_strip(dims[axis:])) or 1, affine=scale is not None, beta=bias is not None)
        self._layer(node, *made, [x], [(scale, "param"), (bias, "param")], out=out, name=label)

    def _early(self, name: str) -> Any:
        """The tensor `name`, a Constant node that makes it folded now if the walk has not reached it yet."""
        if name not in self.t:
            maker = self.producer.get(name)
            if maker is not None and maker.op_type == "Constant" and not maker.input:
                self._visit(maker, {})
                self.skip.add(id(maker))
        return self.t.get(name)

    def _decomposed_layernorm(self, node: Any, a: dict[str, Any]) -> bool:
        """ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div (then Mul by gamma, Add beta): layer normalisation
        as torch.onnx writes it before opset 17. One `layernorm`, named after its module."""
        axes = [int(v) for v in a["axes"]] if "axes" in a else self._const_ints(node, 1, "axes")
        x_name = node.input[0]
        rank = len(self._dims(x_name))
        norm = sorted(v + rank if v < 0 else v for v in axes or [])
        if not norm or norm != list(range(norm[0], rank)) or not a.get("keepdims", 1):
            return False

        def scalar(name: str) -> bool:
            c = self._early(name)
            return isinstance(c, _Const) and c.dims is not None and _prod(c.dims) == 1

        sub = self._sole_user(node.output[0], "Sub")
        if sub is None or list(sub.input) != [x_name, node.output[0]]:
            return False
        users = self.consumers.get(sub.output[0], [])
        power = next((u for u in users if u.op_type == "Pow"), None)
        div = next((u for u in users if u.op_type == "Div"), None)
        if len(users) != 2 or power is None or div is None or sub.output[0] in self.outputs:
            return False
        if not scalar(power.input[1]):
            return False
        mean2 = self._sole_user(power.output[0], "ReduceMean")
        eps = self._sole_user(mean2.output[0], "Add") if mean2 is not None else None
        root = self._sole_user(eps.output[0], "Sqrt") if eps is not None else None
        if (
            root is None
            or self._sole_user(root.output[0], "Div") is not div
            or list(div.input) != [sub.output[0], root.output[0]]
        ):
            return False
        if not any(scalar(i) for i in eps.input):
            return False
        chain = [sub, power, mean2, eps, root, div]
        end, scale, bias = div, None, None
        for op in ("Mul", "Add"):
            nxt = self._sole_user(end.output[0], op)
            if nxt is None:
                break
            other = next((i for i in nxt.input if i != end.output[0]), "")
            c = self._early(other)
            if not isinstance(c, _Const) or not c.sources or c.dims is None or _prod(c.dims) == 1:
                break
            if op == "Mul":
                scale = c
            elif scale is not None:
                bias = c
            else:
                break
            chain.append(nxt)
            end = nxt
        for n in (power, eps):
            for i in n.input:
                if isinstance(self.t.get(i), _Const):
                    self.constant_reads |= self.t[i].sources
        self.skip |= {id(n) for n in chain}
        self.inferred.setdefault(end.output[0], self._dims(x_name))
        self._normalised(node, x_name, norm[0], scale, bias, end.output[0], label=self.paths[id(node)])
        return True

    # -- element-wise layers

    def _activation(self, node: Any, a: dict[str, Any]) -> None:
        op = ONNX_ACTIVATIONS[node.op_type]
        if node.op_type in ("Sigmoid", "HardSigmoid") and self._gate_of_itself(node):
            return
        self._layer(node, op, (), {}, [self._input(node)])

    def _gate_of_itself(self, node: Any) -> bool:
        """x * sigmoid(x) is silu, x * hardsigmoid(x) hswish: the Mul that follows makes the layer."""
        out = node.output[0]
        users = self.consumers.get(out, [])
        if len(users) != 1 or out in self.outputs:
            return False
        mul = users[0]
        if mul.op_type != "Mul" or sorted(mul.input) != sorted([node.input[0], out]):
            return False
        self.fused[id(mul)] = ("silu" if node.op_type == "Sigmoid" else "hswish", node.input[0])
        self.t[out] = _Fused()
        return True

    def _clip(self, node: Any, a: dict[str, Any]) -> None:
        low = a.get("min")
        high = a.get("max")
        if low is None and high is None:
            found_low = self._const_floats(node, 1, "minimum")
            found_high = self._const_floats(node, 2, "maximum")
            low = found_low[0] if found_low else None
            high = found_high[0] if found_high else None
        op = _ops.clip(low, high)
        if op is None:
            raise _Refuse(f"Clip to [{low}, {high}] (cnncalc knows Clip to [0, 6] as relu6 and [0, inf) as relu)")
        self._layer(node, op, (), {}, [self._input(node)])

    def _split_operands(self, node: Any) -> tuple[list[str], list[_Const]]:
        acts, consts = [], []
        for name in node.input:
            if not name:
                continue
            v = self.t.get(name)
            (consts if isinstance(v, _Const) else acts).append(v if isinstance(v, _Const) else name)
        return acts, consts  # type: ignore[return-value]

    def _aligned(self, c: _Const, x: _Act) -> tuple[int, ...] | None:
        """The constant's dims against the activation's axes (NumPy broadcasting), or None if it does not fit."""
        if c.dims is None or len(c.dims) > len(x.dims):
            return None
        aligned = (1,) * (len(x.dims) - len(c.dims)) + tuple(c.dims)
        if any(v not in (1, x.dims[i]) for i, v in enumerate(aligned)):
            return None
        return aligned

    def _per_channel(self, c: _Const, x: _Act) -> bool:
        """A constant along the channels (the last axis cnncalc writes) only: [C], [1, C, 1, 1], [C, 1, 1]..."""
        aligned = self._aligned(c, x)
        if aligned is None or not x.order:
            return False
        channel = x.order[-1]
        return aligned[channel] == x.dims[channel] > 1 and all(v == 1 for i, v in enumerate(aligned) if i != channel)

    def _merge(self, node: Any, op: str, names: list[str]) -> None:
        """Element-wise layer of several activations: laid out as the largest (the others broadcast against it)."""
        if len(names) == 1:
            self._layer(node, "identity", (), {}, [self._input(node)])
            return
        dims = [self._dims(n) for n in names]
        rank = max(len(d) for d in dims)
        full = max(range(len(names)), key=lambda k: (len(dims[k]), _prod(dims[k]), isinstance(self.t[names[k]], _Act)))
        ref = self._act(names[full], user=node)
        inputs = []
        for k, name in enumerate(names):
            if k == full:
                inputs.append(ref)
                continue
            shift = rank - len(dims[k])
            want = tuple(a - shift for a in ref.order if a >= shift)
            written = _Aligned(dims[k][a] for a in want)
            inputs.append(self._act(name, want, written, node))
        self._layer(node, op, (), {}, inputs, order=ref.order)

    def _add(self, node: Any, a: dict[str, Any]) -> None:
        acts, consts = self._split_operands(node)
        if not consts:
            self._merge(node, "add", acts)
            return
        if len(acts) != 1 or len(consts) != 1:
            raise _Refuse("a sum of several constants and activations")
        self._with_constant(node, acts[0], consts[0])

    def _with_constant(self, node: Any, name: str, c: _Const) -> None:
        """An activation and a constant: a scalar is free arithmetic; a per-channel shift a bias or a layer; a fixed
        mask free arithmetic too; a learnt tensor (a position embedding) a `param` layer merged in."""
        x = self._act(name, user=node)
        if c.dims is not None and _prod(c.dims) == 1:
            self.constant_reads |= c.sources
            self._layer(node, "identity", (), {}, [x])
            return
        if node.op_type == "Mul" and self._per_channel(c, x):
            self._layer(node, "scale", (), {"bias": False}, [x], [(c, "param")])
            return
        if node.op_type in ("Add", "Sum") and self._per_channel(c, x) and self._as_bias(node, name, x, c):
            return
        aligned = self._aligned(c, x)
        if aligned is None:
            raise _Refuse(f"{node.op_type} of a constant of shape {list(c.dims or [])} that broadcasts {list(x.dims)}")
        if self._computed(c):
            # Computed from shapes and literals (Swin's attention mask): a fixed value, neither parameter nor buffer.
            self._layer(node, "identity", (), {}, [x])
            return
        if node.op_type not in ("Add", "Sum", "Mul") or not c.floating:
            raise _Refuse(f"{node.op_type} of a constant of shape {list(c.dims or [])} (not a scalar or a bias)")
        if any(aligned[i] != 1 and i not in x.order for i in range(len(aligned))):
            raise _Refuse(f"{node.op_type} of a constant of shape {list(c.dims or [])} along the batch")
        written = _lstrip(aligned[i] for i in x.order)
        param = self._param(node, c, _split_shape(written))
        self._layer(node, "add" if node.op_type != "Mul" else "mul", (), {}, [x, param], order=x.order)

    def _computed(self, c: _Const) -> bool:
        """A constant that is no learnt tensor: made from shapes alone, or larger than the stored values it is made
        from (a mask filled from a few literals)."""
        return c.dims is not None and _prod(c.dims) > sum(self.sizes.get(s, 0) for s in c.sources)

    def _param(self, node: Any, c: _Const, shape: Shape) -> _Act:
        """A `param` layer holding a learnt tensor an op reads as an operand (class token, position embedding)."""
        known = self.param_layers.get(c.sources)
        if known is not None:
            if self._shape(known) != shape:
                raise _Refuse(f"its constant is read elsewhere as {self._shape(known).text()}")
            return known
        claims, shared = self._claims([(c, "param")])
        if shared:
            raise _Refuse(f"its constant {', '.join(shared)} is counted by layer {self.claimed[shared[0]]}")
        keys: dict[str, Any] = {}
        table = self._table(c)
        if table is not None:
            keys["table"] = table
            for s in claims:
                self.counted[s] = table.numel
        found = self._try("param", (shape,), keys, [], claims)
        if isinstance(found, str):
            for s in claims:
                self.counted.pop(s, None)
            raise _Refuse(found)
        source = next(iter(c.sources)) if len(c.sources) == 1 else ""
        base = self._clean(source) if source and "::" not in source else f"{self.names[id(node)]}.param"
        label = self._unique(base or "param")
        self._push(_Rec(label, "param", (shape,), keys, [], found, claims, self._label(node)))
        if table is not None:
            self.notes.append(
                f"{self.path.name}: {label}: the exporter stored {_prod(c.dims or ()):,} values gathered from a "
                f"table of {table.numel:,} (a relative-position bias): the table's values are counted, as PyTorch does"
            )
        axes = found.axes()
        act = _Act(label, (self.batch, *axes), tuple(range(1, len(axes) + 1)))
        self.param_layers[c.sources] = act
        return act

    def _table(self, c: _Const) -> Shape | None:
        """The table a constant folded by the exporter was gathered from, if its values repeat so: Swin's relative
        position bias, (heads, N, N) values taken from a (2w-1)^2 x heads table. A named parameter counts whole."""
        if len(c.sources) != 1 or "::" not in next(iter(c.sources)) or c.dims is None or len(_strip(c.dims)) < 2:
            return None
        value = self._value(c) if c.init is not None or c.value is not None else None
        if value is None:
            return None
        np = self.np
        value = np.asarray(value).reshape(_strip(c.dims))
        heads = value.shape[0] if value.ndim >= 3 else 1
        # Positions that read one table row hold equal values in every head; two rows alike in all heads are
        # as unlikely as equal random draws can be, where one head alone may repeat a value by chance.
        cells = value.reshape(heads, -1).T
        rows = int(np.unique(cells, axis=0).shape[0])
        if rows * 2 > cells.shape[0]:
            return None
        return Shape.of(heads, (rows,)) if heads > 1 else Shape(rows)

    def _as_bias(self, node: Any, name: str, x: _Act, c: _Const) -> bool:
        """A per-channel constant added right after a layer without bias (MatMul + Add): that layer's bias."""
        rec = self.by_name.get(x.layer)
        if rec is None or rec.op not in _WITH_BIAS or rec.keys.get("bias") or len(self.consumers.get(name, [])) != 1:
            return False
        if name in self.outputs or any(x.layer in r.inputs for r in self.recs):
            return False
        claims, shared = self._claims([(c, "param")])
        if shared:
            return False
        keys = {**rec.keys, "bias": True}
        inputs = [_Act(n, (), ()) for n in rec.inputs]  # _try reads the layers' shapes only
        found = self._try(rec.op, rec.pos, keys, inputs, {**rec.claims, **claims})
        if not isinstance(found, Shape) or found != rec.shape:
            return False
        rec.keys = keys
        rec.claims = {**rec.claims, **claims}
        for s in claims:
            self.claimed.setdefault(s, rec.name)
        self.t[node.output[0]] = x
        return True

    def _mul(self, node: Any, a: dict[str, Any]) -> None:
        fused = self.fused.get(id(node))
        if fused is not None:
            self._layer(node, fused[0], (), {}, [self._act(fused[1], user=node)])
            return
        acts, consts = self._split_operands(node)
        if not consts:
            self._merge(node, "mul", acts)
            return
        if len(acts) != 1 or len(consts) != 1:
            raise _Refuse("a product of several constants and activations")
        self._with_constant(node, acts[0], consts[0])

    def _arith(self, node: Any, a: dict[str, Any]) -> None:
        """Sub, Div, Pow, Max, Min, Mean: with a scalar, free arithmetic; of activations, `add` or `mul` (no MACs)."""
        acts, consts = self._split_operands(node)
        if len(consts) == 1 and len(acts) == 1 and consts[0].dims is not None and _prod(consts[0].dims) == 1:
            self.constant_reads |= consts[0].sources
            self._layer(node, "identity", (), {}, [self._act(acts[0], user=node)])
            return
        if len(consts) == 1 and len(acts) == 1 and self._computed(consts[0]):
            x = self._act(acts[0], user=node)
            if self._aligned(consts[0], x) is not None:
                self._layer(node, "identity", (), {}, [x])  # a fixed value computed from shapes
                return
        if not consts and len(acts) >= 2:
            self._merge(node, "mul" if node.op_type in ("Div", "Pow") else "add", acts)
            return
        raise _Refuse(f"{node.op_type} of {'activations' if len(acts) > 1 else 'a constant that is not a scalar'}")

    def _unary(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        expected = self.inferred.get(node.output[0])
        if expected is not None and tuple(expected) != tuple(x.dims):
            raise _Refuse(f"{node.op_type} changes the shape {list(x.dims)} to {list(expected)}")
        self._layer(node, "identity", (), {}, [x])

    def _dropout(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        ratio = a.get("ratio")
        if ratio is None:
            found = self._const_floats(node, 1, "ratio") if len(node.input) > 1 else None
            ratio = found[0] if found else 0.5
        self._layer(node, *_ops.dropout(ratio), [x])

    def _lrn(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input_cf(node)
        self._layer(node, *_ops.norm("lrn", size=int(a.get("size", 5))), [x], order=_cf_order(len(x.dims)))

    def _identity(self, node: Any, a: dict[str, Any]) -> None:
        self._layer(node, "identity", (), {}, [self._input(node)])

    def _reduce_mean(self, node: Any, a: dict[str, Any]) -> None:
        if self._decomposed_layernorm(node, a):
            return
        dims = self._dims(node.input[0])
        rank = len(dims)
        axes = list(a["axes"]) if "axes" in a else self._const_ints(node, 1, "axes")
        axes_set = {v + rank if v < 0 else v for v in (axes or [])}
        if axes_set != set(range(2, rank)) or not 3 <= rank <= 5:
            raise _Refuse(f"a mean over axes {sorted(axes_set)} (cnncalc knows the mean over the window axes as gap)")
        x = self._input_cf(node)
        keep = bool(a.get("keepdims", 1))
        out = node.output[0]
        self.inferred[f"{out}#pooled"] = (*dims[:2], *(1,) * (rank - 2))
        pooled = self._layer(node, "gap", (), {}, [x], out=out if keep else f"{out}#pooled", order=_cf_order(rank))
        if not keep and isinstance(pooled, _Act):
            self.t[out] = _View(pooled, (("reshape", pooled.dims[:2]),), pooled.dims[:2], node)

    # -- joining and cutting

    def _concat(self, node: Any, a: dict[str, Any]) -> None:
        names = [n for n in node.input if n]
        values = [self.t.get(n) for n in names]
        acts = [n for n, v in zip(names, values, strict=True) if not isinstance(v, _Const)]
        if not acts:
            raise _Refuse("a concatenation of constants")
        rank = len(self._dims(names[0]))
        axis = int(a.get("axis", 1))
        axis = axis + rank if axis < 0 else axis
        ref = self._act(next((n for n in acts if isinstance(self.t[n], _Act)), acts[0]), user=node)
        order = ref.order
        if axis not in order:
            order = ref_cl if axis in (ref_cl := self._cl_order(ref.dims)) else (*order, axis)
        inputs = []
        for name, v in zip(names, values, strict=True):
            dims = self._dims(name)
            if len(dims) != rank:
                raise _Refuse("a concatenation of tensors of different ranks")
            shape = _split_shape(tuple(dims[i] for i in order))
            if isinstance(v, _Const):
                if not v.sources or not v.floating:
                    raise _Refuse("a concatenation with a constant computed from shapes")
                inputs.append(self._param(node, v, shape))
            else:
                inputs.append(self._act(name, order, shape, node))
        if len(inputs) == 1:
            self._layer(node, "identity", (), {}, inputs, order=order)
            return
        where = order.index(axis)
        lead = len(self._shape(inputs[0]).lead)
        if where < lead:
            raise _Refuse(f"a concatenation along a batch-like axis of {self._shape(inputs[0]).text()}")
        keys = {} if where == len(order) - 1 else {"axis": where - lead}
        self._layer(node, "concat", (), keys, inputs, order=order)

    def _split(self, node: Any, a: dict[str, Any]) -> None:
        dims = self._dims(node.input[0])
        rank = len(dims)
        axis = int(a.get("axis", 0))
        axis = axis + rank if axis < 0 else axis
        if not 0 <= axis < rank:
            raise _Refuse(f"a split along axis {axis} of a {rank}-D tensor")
        n = dims[axis]
        count = len(node.output)
        sizes = list(a["split"]) if "split" in a else self._const_ints(node, 1, "split sizes")
        if sizes is None:
            parts = int(a.get("num_outputs", count))
            step = -(-n // parts)
            sizes = [min(step, n - i * step) for i in range(parts)]
        src = self._act(node.input[0], user=node)  # laid out first: a channel shuffle before it stays one
        eager = bool(src.order) and src.order[-1] == axis
        self.t[node.input[0]] = src
        start = 0
        for k, (out, size) in enumerate(zip(node.output, sizes, strict=False)):
            label = f"{self.names[id(node)]}.{k}"
            if out and eager:
                x = self._input(node)
                self._layer(node, "slice", (f"{start}:{start + size}",), {}, [x], out=out, name=label)
            elif out:
                new = list(dims)
                new[axis] = size
                move = ("take", (axis, tuple(range(start, start + size))))
                self.t[out] = self._moved(node.input[0], move, tuple(new), node, label)
            start += size

    def _slice(self, node: Any, a: dict[str, Any]) -> None:
        dims = self._dims(node.input[0])
        rank = len(dims)
        if "starts" in a:
            starts, ends = list(a["starts"]), list(a["ends"])
            axes = list(a.get("axes", range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts = self._const_ints(node, 1, "starts") or []
            ends = self._const_ints(node, 2, "ends") or []
            axes = self._const_ints(node, 3, "axes") or list(range(len(starts)))
            steps = self._const_ints(node, 4, "steps") or [1] * len(starts)
        name = node.input[0]
        new = list(dims)
        moves = []
        for start, end, axis, step in zip(starts, ends, axes, steps, strict=False):
            axis = axis + rank if axis < 0 else axis
            if not 0 <= axis < rank or step == 0:
                raise _Refuse(f"a slice along axis {axis} with step {step}")
            picked = tuple(range(dims[axis]))[slice(start, end, step)]
            if picked == tuple(range(dims[axis])):
                continue
            if not picked:
                raise _Refuse("an empty slice")
            new[axis] = len(picked)
            moves.append(("take", (axis, picked)))
        if not moves:
            self.t[node.output[0]] = self.t[name]
            return
        view = self._moved(name, moves[0], tuple(new), node)
        self.t[node.output[0]] = _View(view.base, (*view.moves, *moves[1:]), tuple(new), node)

    def _gather(self, node: Any, a: dict[str, Any]) -> None:
        if isinstance(self.t.get(node.input[0]), _Const):
            raise _Refuse("a lookup in a stored table by indices computed at run time (an embedding)")
        dims = self._dims(node.input[0])
        rank = len(dims)
        axis = int(a.get("axis", 0))
        axis = axis + rank if axis < 0 else axis
        index = self._const_array(node, 1, "indices")
        if index is None or index.ndim > 1 or not 0 <= axis < rank:
            raise _Refuse("a gather of more than one axis of indices")
        picked = [int(i) + dims[axis] if int(i) < 0 else int(i) for i in index.reshape(-1)]
        if any(not 0 <= i < dims[axis] for i in picked):
            raise _Refuse(f"indices {picked} out of the {dims[axis]} along axis {axis}")
        new = list(dims)
        if index.ndim == 0:
            del new[axis]
            move: tuple[str, Any] = ("take", (axis, picked[0]))
        else:
            new[axis] = len(picked)
            move = ("take", (axis, tuple(picked)))
        self.t[node.output[0]] = self._moved(node.input[0], move, tuple(new), node)

    def _view(self, node: Any, a: dict[str, Any]) -> None:
        dims = self._dims(node.input[0])
        rank = len(dims)
        kind = "reshape"
        if node.op_type == "Transpose":
            perm = tuple(int(p) for p in a.get("perm", range(rank - 1, -1, -1)))
            new = tuple(dims[p] for p in perm)
            kind, arg = "transpose", perm
        elif node.op_type == "Flatten":
            axis = int(a.get("axis", 1))
            axis = axis + rank if axis < 0 else axis
            new = (_prod(dims[:axis]), _prod(dims[axis:]))
        elif node.op_type == "Reshape":
            target = self._const_ints(node, 1, "target shape")
            if target is None:
                raise _Refuse("no target shape")
            allow_zero = bool(a.get("allowzero", 0))
            new_list = [dims[i] if v == 0 and not allow_zero and i < rank else v for i, v in enumerate(target)]
            if new_list.count(-1) == 1:
                known = _prod(v for v in new_list if v != -1)
                new_list[new_list.index(-1)] = _prod(dims) // known if known else 0
            new = tuple(new_list)
        elif node.op_type == "Squeeze":
            axes = list(a["axes"]) if "axes" in a else self._const_ints(node, 1, "axes")
            if axes is None:
                new = tuple(v for v in dims if v != 1)
            else:
                drop = {v + rank if v < 0 else v for v in axes}
                new = tuple(v for i, v in enumerate(dims) if i not in drop)
        else:  # Unsqueeze
            axes = list(a["axes"]) if "axes" in a else self._const_ints(node, 1, "axes")
            if axes is None:
                raise _Refuse("no axes")
            out_rank = rank + len(axes)
            put = sorted(v + out_rank if v < 0 else v for v in axes)
            if len(set(put)) != len(put) or not all(0 <= v < out_rank for v in put):
                raise _Refuse(f"axes {axes} for {out_rank} dimensions")
            rest = iter(dims)
            new = tuple(1 if i in put else next(rest) for i in range(out_rank))
        if kind == "reshape":
            arg = new
        if _prod(new) != _prod(dims) or min(new, default=1) < 1:
            inferred = self.inferred.get(node.output[0])
            if inferred is None or _prod(inferred) != _prod(dims):
                raise _Refuse(f"cannot make {list(dims)} into {list(new)}")
            new, arg = inferred, inferred
            kind = "reshape"
        self.t[node.output[0]] = self._moved(node.input[0], (kind, tuple(arg)), tuple(new), node)

    # -- recurrent layers

    def _recurrent(self, node: Any, a: dict[str, Any]) -> None:
        """ONNX LSTM, GRU or RNN as torch.onnx.export writes nn.LSTM, nn.GRU and nn.RNN: one node a layer, from a
        constant initial state, its output Y (L, D, B, H) read through a Transpose and Reshape to (L, B, D*H); Y is
        the layer's L x D*H output seen through those moves, so that they make no layers."""
        op = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}[node.op_type]
        direction = _text(a.get("direction", "forward"))
        if direction not in ("forward", "bidirectional"):
            raise _Refuse(f"direction={direction} (cnncalc's {op} runs forward, or both ways)")
        d = 2 if direction == "bidirectional" else 1
        gates = {"lstm": ["Sigmoid", "Tanh", "Tanh"], "gru": ["Sigmoid", "Tanh"], "rnn": ["Tanh"]}[op]
        acts = [_text(v) for v in a.get("activations", gates * d)]
        keys: dict[str, Any] = {"bidirectional": d == 2}
        if op == "rnn" and acts == ["Relu"] * d:
            keys["act"] = "relu"
        elif acts != gates * d:
            raise _Refuse(f"activations {acts} (cnncalc's {op} has PyTorch's: {gates})")
        if a.get("clip") is not None or a.get("input_forget", 0):
            raise _Refuse("clip or input_forget, which PyTorch's layers do not have")
        if op == "gru" and not a.get("linear_before_reset", 0):
            raise _Refuse("linear_before_reset=0 (nn.GRU applies the reset gate after the product)")
        for index, what in ((4, "sequence_lens"), (7, "peepholes")):
            if index < len(node.input) and node.input[index]:
                raise _Refuse(f"{what} given (cnncalc's {op} has neither)")
        for index in (5, 6):  # initial_h, initial_c: PyTorch's zeros are no input of the layer, nor parameters
            c = self.t.get(node.input[index]) if index < len(node.input) and node.input[index] else None
            if c is not None and not (isinstance(c, _Const) and (not c.sources or self._zeros(c))):
                raise _Refuse("an initial state that is stored or computed by other layers, not zeros")
        if any(self.consumers.get(o) or o in self.outputs for o in node.output[1:] if o):
            raise _Refuse("its final states Y_h or Y_c are read")
        w, r, b = self._weight(node, 1), self._weight(node, 2, "recurrent weights"), self._weight(node, 3, "biases")
        if w is None or r is None:
            raise _Refuse("its weights are missing")
        keys["bias"] = b is not None
        dims = self._dims(node.input[0])
        layout = int(a.get("layout", 0))
        time, batch = (1, 0) if layout else (0, 1)
        if len(dims) != 3 or dims[batch] != 1:
            raise _Refuse(f"input {list(dims)}: cnncalc reads one sequence, (L, 1, C) or (1, L, C) with layout=1")
        hidden = int(a["hidden_size"])
        x = self._act(node.input[0], (time, 2), None, node)
        steps = dims[time]
        made = self._layer(node, op, (hidden,), keys, [x], [(w, "param"), (r, "param"), (b, "param")],
                           out=f"{node.output[0]}:{op}", fallback=False, order=(1, 2))  # fmt: skip
        if isinstance(made, str):
            raise _Refuse(made)
        # The layer's (1, L, D*H) split into directions and laid out as Y: (L, D, 1, H), or (1, L, D, H).
        moves: tuple[tuple[str, Any], ...] = (("reshape", (1, steps, d, hidden)),)
        if not layout:
            moves += (("transpose", (1, 2, 0, 3)),)
        y_dims = (1, steps, d, hidden) if layout else (steps, d, 1, hidden)
        self.t[node.output[0]] = _View(made, moves, y_dims, node)

    def _zeros(self, c: Any) -> bool:
        """Whether `c` is a constant known to hold only zeros: its values, or those of everything it is made from
        (zeros expanded to a shape known only at run time)."""
        if not isinstance(c, _Const):
            return False
        value = self._value(c)
        if value is not None:
            return not value.any()
        made_from = [self.t.get(s) for s in c.sources]
        values = [self._value(m) if isinstance(m, _Const) and m is not c else None for m in made_from]
        return bool(values) and all(v is not None and not v.any() for v in values)

    # -- resizing and padding

    def _resize(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input_cf(node)
        rank = len(x.dims)
        if not 3 <= rank <= 5:
            raise _Refuse(f"resizing a {rank}-D tensor")
        mode = _text(a.get("mode", b"nearest"))
        if "scales" in a:
            scales = [float(v) for v in a["scales"]]
        elif node.op_type == "Upsample" or self.opset < 11:
            scales = self._const_floats(node, 1, "scales") or []
        else:
            scales = self._const_floats(node, 2, "scales") or []
        sizes = None if scales else self._const_ints(node, 3, "sizes")
        spatial = x.dims[2:]
        names = " and ".join(AXIS_NAMES[rank - 2])
        if sizes:
            if "axes" in a or len(sizes) != rank or sizes[:2] != list(x.dims[:2]):
                raise _Refuse(f"resizing to sizes {sizes}")
            factors = {Fraction(o, i) for o, i in zip(sizes[2:], spatial, strict=True)}
            if len(factors) != 1:
                shown = " and ".join(f"{float(f):g}" for f in sorted(factors))
                raise _Refuse(f"scales {shown} along {names} (cnncalc's upsample takes one)")
            scale: Any = factors.pop()
            if any(math.floor(i * float(scale)) != o for o, i in zip(sizes[2:], spatial, strict=True)):
                scale = Fraction(2 * sizes[2] + 1, 2 * spatial[0])
        else:
            if len(scales) != rank or scales[0] != 1 or scales[1] != 1:
                raise _Refuse(f"scales {scales} (cnncalc's upsample scales the window axes)")
            if len(set(scales[2:])) != 1:
                shown = " and ".join(f"{v:g}" for v in scales[2:])
                raise _Refuse(f"scales {shown} along {names} (cnncalc's upsample takes one)")
            scale = repr(scales[2])
        # cnncalc's upsample knows nearest and (bi/tri)linear; cubic differs from linear only in the receptive field.
        linear = {3: "linear", 4: "bilinear", 5: "trilinear"}[rank]
        keys = {"scale": scale, "mode": "nearest" if mode == "nearest" else linear}
        self._layer(node, "upsample", (), keys, [x], order=_cf_order(rank))

    def _pad(self, node: Any, a: dict[str, Any]) -> None:
        dims = self._dims(node.input[0])
        rank = len(dims)
        raw = list(a["pads"]) if "pads" in a else self._const_ints(node, 1, "pads")
        if raw is None:
            raise _Refuse("no pads")
        axes = self._const_ints(node, 3, "axes") if len(node.input) > 3 else None
        axes = [v + rank if v < 0 else v for v in (axes or range(rank))]
        if len(raw) != 2 * len(axes):
            raise _Refuse(f"pads {raw} for {len(axes)} axes")
        begin = dict(zip(axes, raw[: len(axes)], strict=True))
        end = dict(zip(axes, raw[len(axes) :], strict=True))
        if min(raw, default=0) < 0:
            raise _Refuse(f"negative padding {raw} (a crop)")
        mode = PAD_MODES.get(_text(a.get("mode", b"constant")))
        if mode is None:
            raise _Refuse(f"padding mode {_text(a.get('mode'))}")
        if len(node.input) > 2 and node.input[2]:
            value = self._const_floats(node, 2, "padding value")
            if value and any(value) and mode == "zeros":
                mode = "constant"
        pads = tuple((int(begin.get(i, 0)), int(end.get(i, 0))) for i in range(rank))
        new = tuple(d + b + e for d, (b, e) in zip(dims, pads, strict=True))
        if not any(b or e for b, e in pads):
            self.t[node.output[0]] = self.t[node.input[0]]
            return
        if isinstance(self.t.get(node.input[0]), _Pad):
            self._act(node.input[0], user=node)
        self.t[node.output[0]] = _Pad(node.input[0], pads, new, node, mode)

    # -- the end

    def _finish(self) -> OnnxImport:
        b = Builder(self.path.stem)
        for r in self.recs:
            b.add(r.op, *r.pos, name=r.name, inputs=r.inputs, **r.keys)
        try:
            graph = b.build()
        except CnnCalcError as exc:
            raise CnnCalcError(f"{self.path}: {exc}") from None
        graph = replace(graph, source=str(self.path))
        params = buffers = 0
        for r in self.recs:
            for s, kind in r.claims.items():
                if kind == "buffer":
                    buffers += self._size(s)
                else:
                    params += self._size(s)
        read = {i for node in self.g.node for i in node.input}
        stored = {i.name for i in self.g.initializer} | {s.values.name for s in self.g.sparse_initializer}
        unused = [n for n in stored if n not in read]
        covered = set(self.claimed)
        for s in self.claimed:
            covered |= self.alias_of.get(s, frozenset())
        constants = sum(self.sizes[s] for s in stored if s in read and s not in covered)
        if unused:
            count = sum(self.sizes[n] for n in unused)
            shown = ", ".join(sorted(unused)[:3]) + (", ..." if len(unused) > 3 else "")
            self.notes.append(f"{self.path.name}: {count:,} values in {len(unused)} initializers no node reads "
                              f"({shown}) are not counted")  # fmt: skip
        return OnnxImport(graph, self.opset, params, buffers, constants,
                          sum(self.sizes[n] for n in unused), self.notes)  # fmt: skip


# Ops on constants whose output is no larger than their inputs (the shape arithmetic of dynamic reshapes).
_BOUNDED = _words(
    "Identity Cast Shape Size Gather Unsqueeze Squeeze Concat Slice Reshape Flatten Transpose Add Sub Mul Div Neg "
    "Abs Floor Ceil Sqrt Equal Less Greater Not And Or Where Min Max ReduceProd ReduceSum ReduceMin ReduceMax"
)
# Inputs that hold settings, not learnt values, of the ops that have them (shapes, scales, bounds, axes...).
_SETTINGS = _words(
    "Clip Resize Upsample Pad Dropout Slice Split Reshape Squeeze Unsqueeze ReduceMean ReduceMax "
    "ReduceSum Expand Tile TopK Range ConstantOfShape OneHot NonMaxSuppression RoiAlign"
)
_ELEMENTWISE = frozenset(["Add", "Sub", "Mul", "Div", "Pow", "Sum", "Max", "Min", "Mean"])


def _operand_kind(op_type: str, index: int) -> str:
    """How an opaque layer counts a floating-point constant it reads: "param", "buffer", "operand" or ""."""
    if op_type in _SETTINGS or (op_type == "Gather" and index > 0):
        return ""
    if op_type == "BatchNormalization":
        return "buffer" if index >= 3 else "param"
    if op_type in ("LSTM", "GRU", "RNN") and index in (4, 5, 6):
        return "" if index == 4 else "state"  # sequence_lens; initial_h and initial_c
    if op_type in _ELEMENTWISE:
        return "operand"  # a scalar is a constant (x + 3), a tensor a learnt value (a bias the layer before lacks)
    return "param"  # weights, or the table an embedding (Gather) looks values up in
