"""Import an ONNX file as a cnncalc Graph: each node mapped onto cnncalc's ops, parameters counted from initializers.

How it works. The file is read with `onnx.load`, external data left unread (only the weights' dimensions are needed;
external data files are checked to be there and long enough). ONNX shape inference runs on a copy that holds no
large tensor, with the input's batch (and any `--input` given) fixed, so every tensor has concrete dimensions. The
nodes are then walked in order, tracking for every tensor either the cnncalc layer that made it or a constant
(initializers, `Constant` nodes and whatever is computed from them alone, evaluated with onnx's reference evaluator
when it is small).

Views are recorded lazily, as in the PyTorch bridge: a chain of Reshape, Flatten, Squeeze, Unsqueeze and Transpose
becomes one `flatten`, `reshape` or `shuffle` layer when something consumes it, or nothing when it changes nothing; a
Pad is folded into the convolution or pooling that reads it. Sigmoid (or HardSigmoid) times its own input becomes
`silu` (`hswish`), and an Add of a per-channel constant after a layer without bias becomes that layer's bias.

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
from ..ir import Graph, Shape
from ..ops.base import Context, get_op, read_args
from ..ops.base import shape as shape_param

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
        info = ExternalDataInfo(tensor)
        location = str(info.location)
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
    """An activation: the layer that made it and its ONNX dimensions (batch first)."""

    layer: str
    dims: tuple[int, ...]


@dataclass(frozen=True)
class _View:
    """Reshapes and transposes of an activation not yet made into a layer."""

    base: _Act
    moves: tuple[tuple[str, tuple[int, ...]], ...]
    dims: tuple[int, ...]
    node: Any


@dataclass(frozen=True)
class _Pad:
    """A spatial Pad of an activation, folded into the convolution or pooling that reads it where possible."""

    base: _Act
    pads: tuple[tuple[int, int], tuple[int, int]]  # (top, bottom), (left, right)
    dims: tuple[int, ...]
    node: Any


class _Fused:
    """The output of a node folded into its consumer (a Sigmoid that becomes part of `silu`)."""


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


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_FLOAT_TYPES = frozenset([1, 10, 11, 16])  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
_ACTIVATIONS = {
    "Relu": "relu", "LeakyRelu": "leakyrelu", "Elu": "elu", "Tanh": "tanh", "Sigmoid": "sigmoid",
    "HardSigmoid": "hsigmoid", "HardSwish": "hswish", "Softmax": "softmax", "Gelu": "gelu",
}  # fmt: skip
_VIEWS = frozenset(["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose"])
# Element-wise functions of one tensor: no parameters and no MACs by cnncalc's convention, kept as `identity` (as the
# PyTorch bridge keeps torch.exp, torch.sqrt...); GELU written out with Erf becomes a few such layers.
_UNARY = _words(
    "Erf Exp Log Sqrt Neg Abs Reciprocal Floor Ceil Round Sign Sin Cos Softplus Softsign Selu Celu Mish "
    "ThresholdedRelu LogSoftmax Not IsNaN IsInf"
)
_WITH_BIAS = frozenset(["conv", "dwconv", "convT", "fc", "scale"])


def _prod(values: Any) -> int:
    return math.prod(int(v) for v in values)


def _shape_of(dims: tuple[int, ...]) -> Shape:
    """ONNX dims (batch first) as cnncalc's shape: NCHW a map, NC a vector, NCL an Lx1 map."""
    if len(dims) <= 1:
        return Shape(_prod(dims) if dims else 1)
    if len(dims) == 2:
        return Shape(dims[1])
    if len(dims) == 3:
        return Shape(dims[1], dims[2], 1)
    if len(dims) == 4:
        return Shape(dims[1], dims[2], dims[3])
    return Shape(_prod(dims[1:]))


def _dims_of(shape: Shape, rank: int, batch: int) -> tuple[int, ...]:
    if not shape.spatial:
        return (batch, shape.c)
    if rank == 3 and shape.w == 1:
        return (batch, shape.c, shape.h or 1)
    return (batch, shape.c, shape.h or 1, shape.w or 1)


def _pairs(values: list[int], spatial: int, fill: int) -> tuple[int, int]:
    """A 1-D or 2-D attribute as an (H, W) pair; a 1-D network has W = 1."""
    v = list(values) + [fill] * (2 - len(values))
    return int(v[0]) if spatial else fill, int(v[1]) if spatial > 1 else fill


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
        self.claimed: dict[str, str] = {}  # stored tensor -> layer that counts it
        self.notes: list[str] = []
        self.consumers: dict[str, list[Any]] = {}
        self.outputs = {o.name for o in self.g.output}
        self.fused: dict[int, tuple[str, str]] = {}  # id(Mul node) -> (op, the input it multiplies)
        self.names: dict[int, str] = {}
        self.paths: dict[int, str] = {}  # a node's module path without its op type (names view layers)
        self.taken: set[str] = set()
        self.inferred: dict[str, tuple[int, ...]] = {}
        self.batch = 1
        self.constant_reads: set[str] = set()
        self.alias_of: dict[str, frozenset[str]] = {}  # an Identity's copy of stored tensors -> those tensors

    # -- the whole import

    def run(self) -> OnnxImport:
        nodes = self._sorted_nodes()
        for node in nodes:
            for name in node.input:
                if name:
                    self.consumers.setdefault(name, []).append(node)
        self._read_initializers()
        data_inputs = self._read_inputs()
        self.inferred = self._infer(data_inputs)
        self._name_nodes(nodes)
        handlers = self._handlers()
        for node in nodes:
            self._visit(node, handlers)
        for out in self.g.output:
            if isinstance(self.t.get(out.name), (_View, _Pad)):
                self._act(out.name)
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
                dims = (batch, given.c) if not given.spatial else (batch, given.c, given.h, given.w)
                if len(raw) not in (0, len(dims)):
                    want = "a vector (N)" if len(raw) == 2 else "HxWxC"
                    raise CnnCalcError(
                        f"{self.path}: --input for {vi.name!r}: it has {len(raw)} dimensions; give {want}"
                    )
                if channels_last:
                    dims = (batch, given.h, given.w, given.c)  # type: ignore[assignment]
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
            found[vi.name] = tuple(int(d) for d in dims)
            ncdims = (dims[0], dims[3], dims[1], dims[2]) if channels_last else tuple(dims)
            name = self._unique(self._clean(vi.name) or "input")
            self._push(_Rec(name, "input", (_shape_of(ncdims),), {}, [], _shape_of(ncdims), {}))
            act = _Act(name, ncdims)
            self.t[vi.name] = act
            if channels_last:
                for node in self.consumers.get(vi.name, []):
                    self.t[node.output[0]] = act
                    self.fused[id(node)] = ("alias", vi.name)
        return found

    def _channels_last(self, name: str, rank: int) -> bool:
        """An NHWC input read only by Transposes to NCHW (how converters from TensorFlow write it)."""
        users = self.consumers.get(name, [])
        if rank != 4 or not users:
            return False
        for node in users:
            perm = [a.ints for a in node.attribute if a.name == "perm"]
            if node.op_type != "Transpose" or not perm or list(perm[0]) != [0, 3, 1, 2]:
                return False
        return True

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
        if self.fused.get(id(node), ("",))[0] == "alias":
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
            "Gemm": self._gemm, "MatMul": self._matmul, "BatchNormalization": self._batchnorm, "Clip": self._clip,
            "Add": self._add, "Sum": self._add, "Mul": self._mul, "Sub": self._arith, "Div": self._arith,
            "Concat": self._concat, "Split": self._split, "Slice": self._slice, "Resize": self._resize,
            "Upsample": self._resize, "Pad": self._pad, "Dropout": self._dropout, "LRN": self._lrn,
            "ReduceMean": self._reduce_mean, "Identity": self._identity,
        }  # fmt: skip
        for op in _ACTIVATIONS:
            table[op] = self._activation
        for op in _VIEWS:
            table[op] = self._view
        for op in _UNARY:
            table[op] = self._unary
        for op in ("Pow", "Max", "Min", "Mean"):
            table[op] = self._arith
        table["LayerNormalization"] = self._layernorm
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

    def _const_ints(self, node: Any, index: int, what: str) -> list[int] | None:
        """An input read as integers (a shape, axes, pads), or None if absent."""
        if index >= len(node.input) or not node.input[index]:
            return None
        c = self.t.get(node.input[index])
        if not isinstance(c, _Const):
            raise _Refuse(f"its {what} are computed at run time")
        value = self._value(c)
        if value is None:
            raise _Refuse(f"its {what} cannot be worked out without running the network")
        self.constant_reads |= c.sources
        return [int(v) for v in self.np.asarray(value).reshape(-1)]

    def _const_floats(self, node: Any, index: int, what: str) -> list[float] | None:
        if index >= len(node.input) or not node.input[index]:
            return None
        c = self.t.get(node.input[index])
        if not isinstance(c, _Const):
            raise _Refuse(f"its {what} is computed at run time")
        value = self._value(c)
        if value is None:
            raise _Refuse(f"its {what} cannot be worked out without running the network")
        self.constant_reads |= c.sources
        return [float(v) for v in self.np.asarray(value).reshape(-1)]

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
        if small and any(o and o not in self.inferred for o in node.output):
            self._infer_node(node)
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
            sources = same or frozenset(s for c in present for s in c.sources)
            floating = value.dtype.kind == "f" if value is not None else any(c.floating for c in present)
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

    def _dims(self, name: str) -> tuple[int, ...]:
        v = self.t[name]
        if isinstance(v, _Const):
            if v.dims is None:
                raise _Refuse("the size of its input is not known")
            return v.dims
        return v.dims  # type: ignore[no-any-return]

    def _act(self, name: str) -> _Act:
        """The activation `name` as a layer's output: pending views and pads are made into layers here."""
        v = self.t.get(name)
        if isinstance(v, _Act):
            return v
        if isinstance(v, _View):
            act = self._settle_view(v)
        elif isinstance(v, _Pad):
            act = self._settle_pad(v)
        elif isinstance(v, _Const):
            raise _Refuse(f"its input {name!r} is a constant, not an activation")
        else:
            raise _Refuse(f"its input {name!r} is not known")
        self.t[name] = act
        return act

    def _input(self, node: Any, index: int = 0) -> _Act:
        if index >= len(node.input) or not node.input[index]:
            raise _Refuse(f"its input {index + 1} is missing")
        return self._act(node.input[index])

    def _shape(self, act: _Act) -> Shape:
        return self.by_name[act.layer].shape

    def _push(self, rec: _Rec) -> None:
        self.recs.append(rec)
        self.by_name[rec.name] = rec
        self.taken.add(rec.name)
        for source in rec.claims:
            self.claimed.setdefault(source, rec.name)

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
        spec = get_op(op)
        try:
            args = read_args(spec, pos, keys.items(), True)
            names = tuple(a.layer for a in inputs)
            calc = spec.calc(args, [self._shape(a) for a in inputs], Context(True, names))
        except CnnCalcError as exc:
            return f"cnncalc's {op} refuses it: {exc}"
        params = sum(self.sizes.get(s, 0) for s, kind in claims.items() if kind == "param")
        buffers = sum(self.sizes.get(s, 0) for s, kind in claims.items() if kind == "buffer")
        if calc.weights + calc.biases != params:
            return f"cnncalc's {op} has {calc.weights + calc.biases:,} params, its initializers {params:,}"
        if calc.buffers != buffers:
            return f"cnncalc's {op} has {calc.buffers:,} buffers, its initializers {buffers:,}"
        return calc.output

    def _layer(self, node: Any, op: str, pos: tuple[Any, ...], keys: dict[str, Any], inputs: list[_Act],
               parts: list[tuple[_Const | None, str]] = (), out: str | None = None, name: str | None = None,
               fallback: bool = True) -> _Act | str:  # fmt: skip
        """Add the layer if cnncalc's op agrees with the file (shape, params, buffers); else opaque, or the reason."""
        out = node.output[0] if out is None else out
        claims, shared = self._claims(list(parts))
        if shared:
            reason = f"its weights {', '.join(shared)} are shared with layer {self.claimed[shared[0]]}, counted there"
            return self._opaque(node, reason, out=out) if fallback else reason
        found = self._try(op, pos, keys, inputs, claims)
        expected = self.inferred.get(out)
        if isinstance(found, Shape) and expected is not None and _shape_of(expected) != found:
            found = f"cnncalc's {op} gives {found.text('chw')} (C,H,W), ONNX {'x'.join(map(str, expected))}"
        if isinstance(found, str):
            return self._opaque(node, found, out=out) if fallback else found
        rank = len(expected) if expected is not None else len(inputs[0].dims) if inputs else 4
        label = self._unique(name or self.names[id(node)])
        self._push(_Rec(label, op, pos, keys, [a.layer for a in inputs], found, claims, self._label(node)))
        act = _Act(label, expected if expected is not None else _dims_of(found, rank, self.batch))
        self.t[out] = act
        return act

    def _opaque(self, node: Any, reason: str, out: str | None = None, dims: tuple[int, ...] | None = None) -> _Act:
        """A layer cnncalc cannot work out: ONNX's shape, its unclaimed floating-point initializers as params."""
        outputs = [out] if out is not None else [o for o in node.output if o]
        acts = []
        for name in node.input:
            v = self.t.get(name) if name else None
            if isinstance(v, (_Act, _View, _Pad)):
                acts.append(self._act(name))
        parts = []
        for index, name in enumerate(node.input):
            c = self.t.get(name) if name else None
            kind = _operand_kind(node.op_type, index)
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
            act = self._opaque_layer(node, reason, acts, shape_dims, claims if first is None else {}, base)
            self.t[name] = act
            first = first or act
        if first is None:
            raise CnnCalcError(f"{self.path}: node {self._label(node)} has no output")
        return first

    def _opaque_layer(self, node: Any, reason: str, acts: list[_Act], dims: tuple[int, ...], claims: dict[str, str],
                      base: str) -> _Act:  # fmt: skip
        what = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        label = self._unique(base)
        params = sum(self.sizes[s] for s, kind in claims.items() if kind == "param")
        buffers = sum(self.sizes[s] for s, kind in claims.items() if kind == "buffer")
        shape = _shape_of(dims)
        keys = {"params": params, "buffers": buffers, "what": f"onnx.{what}"}
        inputs = [a.layer for a in acts] or [self.recs[0].name]
        self._push(_Rec(label, "opaque", (shape,), keys, inputs, shape, claims, self._label(node)))
        self.notes.append(
            f"{self.path.name}: {label}: ONNX {what} node {node.name or '(unnamed)'!r} kept as an opaque layer "
            f"({params:,} params, MACs unknown): {reason}"
        )
        return _Act(label, dims)

    # -- views and pads, made into layers when consumed

    def _settle_view(self, v: _View) -> _Act:
        """A view as a layer: none if it moves nothing, `shuffle`, `flatten`, or `reshape`."""
        np = self.np
        base, dims = v.base, v.dims
        moved = any(kind == "transpose" for kind, _ in v.moves)
        order = None
        if moved and _prod(dims) <= 1 << 22:
            arr = np.arange(_prod(base.dims)).reshape(base.dims)
            for kind, arg in v.moves:
                arr = arr.reshape(arg) if kind == "reshape" else arr.transpose(arg)
            order = arr.reshape(-1)
            moved = not bool((order == np.arange(order.size)).all())
        if tuple(dims) == tuple(base.dims) and not moved:
            return base
        if tuple(dims) == tuple(base.dims) and len(dims) == 4 and order is not None:
            for kind, arg in v.moves:
                if kind == "reshape" and len(arg) == 5 and _is_shuffle(np, order, dims, arg[1]):
                    return self._view_layer(v, "shuffle", (), {"g": arg[1]})
        if len(dims) == 2 and len(base.dims) > 2:
            return self._view_layer(v, "flatten", (), {})
        return self._view_layer(v, "reshape", (_shape_of(dims),), {})

    def _view_layer(self, v: _View, op: str, pos: tuple[Any, ...], keys: dict[str, Any]) -> _Act:
        found = self._try(op, pos, keys, [v.base], {})
        if isinstance(found, str):
            return self._opaque_layer(v.node, found, [v.base], v.dims, {}, self.names[id(v.node)])
        path = self.paths[id(v.node)]
        label = self._unique(path if path not in self.taken else self.names[id(v.node)])
        self._push(_Rec(label, op, pos, keys, [v.base.layer], found, {}, self._label(v.node)))
        return _Act(label, v.dims)

    def _settle_pad(self, v: _Pad) -> _Act:
        (t, b), (left, r) = v.pads
        reason = (
            f"padding {t},{b} (top, bottom) and {left},{r} (left, right) that no convolution or pooling after it "
            "takes in (cnncalc has no pad op)"
        )
        return self._opaque_layer(v.node, reason, [v.base], v.dims, {}, self.names[id(v.node)])

    # -- the ops

    def _conv(self, node: Any, a: dict[str, Any]) -> None:
        w = self._weight(node, 1)
        b = self._weight(node, 2, "biases")
        assert w is not None and w.dims is not None
        spatial = len(w.dims) - 2
        if spatial not in (1, 2):
            raise _Refuse(f"a {spatial}-D convolution (cnncalc's are 2-D)")
        g = int(a.get("group", 1))
        k = _pairs(a.get("kernel_shape", w.dims[2:]), spatial, 1)
        s = _pairs(a.get("strides", []), spatial, 1)
        d = _pairs(a.get("dilations", []), spatial, 1)
        c_out = int(w.dims[0])
        parts = [(w, "param"), (b, "param")]

        def attempt(x: _Act, extra: tuple[tuple[int, int], tuple[int, int]]) -> _Act | str:
            c_in = self._shape(x).c
            p = self._padding(node, a, x, spatial, k, s, d, extra)
            keys: dict[str, Any] = {"k": k, "s": s, "p": p, "d": d, "bias": b is not None}
            if g > 1 and g == c_in and c_out % c_in == 0:
                if c_out != c_in:
                    keys["m"] = c_out // c_in
                return self._layer(node, "dwconv", (), keys, [x], parts, fallback=False)
            if g > 1:
                keys["g"] = g
            return self._layer(node, "conv", (c_out,), keys, [x], parts, fallback=False)

        self._windowed(node, attempt)

    def _windowed(self, node: Any, attempt: Callable[[_Act, Any], _Act | str]) -> None:
        """Try the layer with a Pad before it folded in, then without; opaque if neither fits."""
        source = self.t.get(node.input[0])
        reason = ""
        single = len(self.consumers.get(node.input[0], [])) == 1 and node.input[0] not in self.outputs
        if isinstance(source, _Pad) and single:
            noted = len(self.notes)
            try:
                found = attempt(source.base, source.pads)
            except _Refuse as exc:
                found = str(exc)
            if isinstance(found, _Act):
                return
            del self.notes[noted:]
            reason = found
        try:
            found = attempt(self._input(node), ((0, 0), (0, 0)))
        except _Refuse as exc:
            found = str(exc)
        if isinstance(found, str):
            self._opaque(node, found if not reason else f"{found} (with the Pad before it folded in: {reason})")

    def _padding(self, node: Any, a: dict[str, Any], x: _Act, spatial: int, k: tuple[int, int], s: tuple[int, int],
                 d: tuple[int, int], extra: tuple[tuple[int, int], tuple[int, int]],
                 ceil: bool = False) -> Any:  # fmt: skip
        """cnncalc's `p` for ONNX's pads (and a Pad folded in): N, HxW or same; asymmetric where the sizes agree."""
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        shape = self._shape(x)
        sizes = (shape.h or 1, shape.w or 1)
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            if any(map(sum, extra)):
                raise _Refuse("auto_pad SAME with a Pad before it")
            if auto == "SAME_LOWER" and any(sum(same_padding(sizes[i], k[i], s[i], d[i])) % 2 for i in (0, 1)):
                self.notes.append(
                    f"{self.path.name}: node {self._label(node)}: SAME_LOWER puts the odd padding row before, "
                    "cnncalc's `same` after: sizes and counts agree, the receptive field's start moves by one pixel"
                )
            return "same"
        raw = [0, 0, 0, 0] if auto == "VALID" else list(a.get("pads", [0] * (2 * spatial)))
        if len(raw) != 2 * spatial:
            raise _Refuse(f"pads {raw} for a {spatial}-D window")
        begin = _pairs(raw[:spatial], spatial, 0)
        end = _pairs(raw[spatial:], spatial, 0)
        pads = [(begin[i] + extra[i][0], end[i] + extra[i][1]) for i in (0, 1)]
        if min(min(p) for p in pads) < 0:
            raise _Refuse(f"negative padding {raw}")
        if all(p[0] == p[1] for p in pads):
            return (pads[0][0], pads[1][0])
        same = [same_padding(sizes[i], k[i], s[i], d[i]) for i in (0, 1)]
        note = (
            f"{self.path.name}: node {self._label(node)}: asymmetric padding {pads[0][0]},{pads[0][1]} (top, "
            f"bottom) and {pads[1][0]},{pads[1][1]} (left, right) is written as "
        )
        if all(pads[i] == same[i] for i in (0, 1)):
            return "same"
        if all(sum(pads[i]) % 2 == 0 for i in (0, 1)):
            half = (sum(pads[0]) // 2, sum(pads[1]) // 2)
            self.notes.append(note + f"p={half[0]}x{half[1]}: sizes and counts agree, the field's start moves")
            return half
        if all(sum(pads[i]) == sum(same[i]) for i in (0, 1)):
            self.notes.append(note + "`same`: sizes and counts agree, the receptive field's start moves by a pixel")
            return "same"

        def out(n: int, total: int, axis: int) -> int:
            span = n + total - effective_kernel(k[axis], d[axis])
            return (-(-span // s[axis]) if ceil else span // s[axis]) + 1

        chosen = []
        for i in (0, 1):
            total = sum(pads[i])
            want = out(sizes[i], total, i)
            fits = [p for p in (total // 2, (total + 1) // 2) if out(sizes[i], 2 * p, i) == want]
            if not fits:
                raise _Refuse(
                    f"asymmetric padding {pads[i][0]},{pads[i][1]} along {'HW'[i]}: cnncalc pads both sides equally, "
                    "and no equal padding gives the same output size"
                )
            chosen.append(fits[0])
        self.notes.append(
            note + f"p={chosen[0]}x{chosen[1]}: the output size and counts agree, the field's start does not"
        )
        return (chosen[0], chosen[1])

    def _conv_transpose(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        w = self._weight(node, 1)
        b = self._weight(node, 2, "biases")
        assert w is not None and w.dims is not None
        spatial = len(w.dims) - 2
        if spatial not in (1, 2):
            raise _Refuse(f"a {spatial}-D transposed convolution (cnncalc's are 2-D)")
        g = int(a.get("group", 1))
        k = _pairs(a.get("kernel_shape", w.dims[2:]), spatial, 1)
        s = _pairs(a.get("strides", []), spatial, 1)
        d = _pairs(a.get("dilations", []), spatial, 1)
        op = list(_pairs(a.get("output_padding", []), spatial, 0))
        shape = self._shape(x)
        sizes = (shape.h or 1, shape.w or 1)
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else str(auto)
        raw = list(a.get("pads", [0] * (2 * spatial)))
        pads = [(_pairs(raw[:spatial], spatial, 0)[i], _pairs(raw[spatial:], spatial, 0)[i]) for i in (0, 1)]
        target = a.get("output_shape")
        if target is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
            wanted = (
                _pairs(list(target)[-spatial:], spatial, 1)
                if target is not None
                else (sizes[0] * s[0], sizes[1] * s[1])
            )
            pads = []
            for i in (0, 1):
                total = s[i] * (sizes[i] - 1) + op[i] + effective_kernel(k[i], d[i]) - wanted[i]
                if total < 0:
                    op[i] -= total  # ONNX makes up the difference with output padding
                    total = 0
                half = total // 2
                pads.append((half, total - half) if auto == "SAME_UPPER" else (total - half, half))
        p = []
        for i in (0, 1):
            total = sum(pads[i])
            p.append((total + 1) // 2)
            op[i] += 2 * p[i] - total  # an odd total padding: one more on each side, one more output row back
        if any(pads[i][0] != pads[i][1] for i in (0, 1)):
            self.notes.append(
                f"{self.path.name}: node {self._label(node)}: asymmetric padding {pads} written as p={p[0]}x{p[1]}, "
                f"op={op[0]}x{op[1]}: the output size and counts agree"
            )
        keys = {"k": k, "s": s, "p": tuple(p), "op": tuple(op), "d": d, "g": g, "bias": b is not None}
        self._layer(node, "convT", (int(w.dims[1]) * g,), keys, [x], [(w, "param"), (b, "param")])

    def _pool(self, node: Any, a: dict[str, Any]) -> None:
        kernel = list(a.get("kernel_shape", []))
        spatial = len(kernel)
        if spatial not in (1, 2):
            raise _Refuse(f"a {spatial}-D pooling window (cnncalc's are 2-D)")
        if any(v != 1 for v in a.get("dilations", [])):
            raise _Refuse(f"dilations {list(a['dilations'])} (cnncalc's pooling has none)")
        k = _pairs(kernel, spatial, 1)
        s = _pairs(a.get("strides", []), spatial, 1)
        ceil = bool(a.get("ceil_mode", 0))
        op = "maxpool" if node.op_type == "MaxPool" else "avgpool"

        def attempt(x: _Act, extra: tuple[tuple[int, int], tuple[int, int]]) -> _Act | str:
            p = self._padding(node, a, x, spatial, k, s, (1, 1), extra, ceil)
            keys = {"k": k, "s": s, "p": p, "ceil": ceil}
            return self._layer(node, op, (), keys, [x], fallback=False)

        self._windowed(node, attempt)

    def _global_pool(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        shape = self._shape(x)
        if not shape.spatial or len(x.dims) not in (3, 4):
            raise _Refuse("global pooling of a tensor that is not a feature map")
        if node.op_type == "GlobalAveragePool":
            self._layer(node, "gap", (), {}, [x])
        else:
            self._layer(node, "maxpool", (), {"k": (shape.h, shape.w)}, [x])

    def _gemm(self, node: Any, a: dict[str, Any]) -> None:
        if a.get("transA", 0):
            raise _Refuse("transA=1 (the activation transposed)")
        x = self._input(node)
        w = self._weight(node, 1)
        c = self._weight(node, 2, "biases")
        assert w is not None and w.dims is not None
        if len(w.dims) != 2:
            raise _Refuse(f"weights of {len(w.dims)} dimensions")
        out = int(w.dims[0] if a.get("transB", 0) else w.dims[1])
        self._layer(node, "fc", (out,), {"bias": c is not None}, [x], [(w, "param"), (c, "param")])

    def _matmul(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        w = self._weight(node, 1)
        assert w is not None and w.dims is not None
        if len(x.dims) != 2 or len(w.dims) != 2:
            raise _Refuse(f"a product of {len(x.dims)}-D and {len(w.dims)}-D tensors (cnncalc's fc takes vectors)")
        self._layer(node, "fc", (int(w.dims[1]),), {"bias": False}, [x], [(w, "param")])

    def _batchnorm(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        parts = [(self._weight(node, i, "statistics"), kind) for i, kind in ((1, "param"), (2, "param"),
                                                                           (3, "buffer"), (4, "buffer"))]  # fmt: skip
        self._layer(node, "bn", (), {}, [x], parts)

    def _activation(self, node: Any, a: dict[str, Any]) -> None:
        op = _ACTIVATIONS[node.op_type]
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
        x = self._input(node)
        if low is None and high is None:
            self._layer(node, "identity", (), {}, [x])
        elif low == 0 and high == 6:
            self._layer(node, "relu6", (), {}, [x])
        elif low == 0 and high is None:
            self._layer(node, "relu", (), {}, [x])
        else:
            raise _Refuse(f"Clip to [{low}, {high}] (cnncalc knows Clip to [0, 6] as relu6 and [0, inf) as relu)")

    def _split_operands(self, node: Any) -> tuple[list[str], list[_Const]]:
        acts, consts = [], []
        for name in node.input:
            if not name:
                continue
            v = self.t.get(name)
            (consts if isinstance(v, _Const) else acts).append(v if isinstance(v, _Const) else name)
        return acts, consts  # type: ignore[return-value]

    def _per_channel(self, c: _Const, x: _Act) -> bool:
        """A constant that broadcasts along the channels only: [C], [1, C, 1, 1], [C, 1, 1]..."""
        if c.dims is None:
            return False
        channels = x.dims[1] if len(x.dims) > 1 else x.dims[0]
        dims = list(c.dims)
        if _prod(dims) != channels or len(dims) > len(x.dims):
            return False
        aligned = [1] * (len(x.dims) - len(dims)) + dims
        return all(v == 1 or i == 1 for i, v in enumerate(aligned))

    def _add(self, node: Any, a: dict[str, Any]) -> None:
        acts, consts = self._split_operands(node)
        if not consts:
            inputs = [self._act(n) for n in acts]
            if len(inputs) == 1:
                self._layer(node, "identity", (), {}, inputs)
            else:
                self._layer(node, "add", (), {}, inputs)
            return
        if len(acts) != 1 or len(consts) != 1:
            raise _Refuse("a sum of several constants and activations")
        self._with_constant(node, acts[0], consts[0])

    def _with_constant(self, node: Any, name: str, c: _Const) -> None:
        """An activation and a constant: a scalar is free arithmetic; a per-channel shift a bias or a layer."""
        x = self._act(name)
        if c.dims is not None and _prod(c.dims) == 1:
            self.constant_reads |= c.sources
            self._layer(node, "identity", (), {}, [x])
            return
        if node.op_type == "Mul" and self._per_channel(c, x):
            self._layer(node, "scale", (), {"bias": False}, [x], [(c, "param")])
            return
        if node.op_type in ("Add", "Sum") and self._per_channel(c, x) and self._as_bias(node, name, x, c):
            return
        raise _Refuse(f"{node.op_type} of a constant of shape {list(c.dims or [])} (not a scalar or a bias)")

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
        inputs = [_Act(n, ()) for n in rec.inputs]  # _try reads the layers' shapes only
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
            self._layer(node, fused[0], (), {}, [self._act(fused[1])])
            return
        acts, consts = self._split_operands(node)
        if not consts:
            self._layer(node, "mul", (), {}, [self._act(n) for n in acts])
            return
        self._with_constant(node, acts[0], consts[0])

    def _arith(self, node: Any, a: dict[str, Any]) -> None:
        """Sub, Div, Pow, Max, Min, Mean: with a scalar, free arithmetic; of activations, `add` or `mul` (no MACs)."""
        acts, consts = self._split_operands(node)
        if len(consts) == 1 and len(acts) == 1 and consts[0].dims is not None and _prod(consts[0].dims) == 1:
            self.constant_reads |= consts[0].sources
            self._layer(node, "identity", (), {}, [self._act(acts[0])])
            return
        if not consts and len(acts) >= 2:
            op = "mul" if node.op_type in ("Div", "Pow") else "add"
            self._layer(node, op, (), {}, [self._act(n) for n in acts])
            return
        raise _Refuse(f"{node.op_type} of {'activations' if len(acts) > 1 else 'a constant that is not a scalar'}")

    def _unary(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        expected = self.inferred.get(node.output[0])
        if expected is not None and tuple(expected) != tuple(x.dims):
            raise _Refuse(f"{node.op_type} changes the shape {list(x.dims)} to {list(expected)}")
        self._layer(node, "identity", (), {}, [x])

    def _layernorm(self, node: Any, a: dict[str, Any]) -> None:
        """Over the channels at each position: of a vector, or of a map made channels-last (ConvNeXt's blocks)."""
        parts = [(self._weight(node, 1, "scale"), "param"), (self._weight(node, 2, "bias"), "param")]
        src = self.t.get(node.input[0])
        rank = len(src.dims) if isinstance(src, (_Act, _View, _Pad)) else 0
        axis = int(a.get("axis", -1))
        if (axis + rank if axis < 0 else axis) != rank - 1:
            raise _Refuse(f"a layer norm over axes {axis}.. (cnncalc's layernorm takes the channels)")
        if isinstance(src, _View) and src.moves == (("transpose", (0, 2, 3, 1)),):
            made = self._layer(node, "layernorm", (), {}, [src.base], parts, out=f"{node.output[0]}#nchw")
            if isinstance(made, _Act) and self.by_name[made.layer].op == "layernorm":
                self.t[node.output[0]] = _View(made, src.moves, src.dims, node)
            else:
                self.t[node.output[0]] = made
            return
        x = self._input(node)
        if len(x.dims) != 2:
            raise _Refuse("a layer norm over the last axis of a channels-first map (cnncalc's takes the channels)")
        self._layer(node, "layernorm", (), {}, [x], parts)

    def _concat(self, node: Any, a: dict[str, Any]) -> None:
        acts, consts = self._split_operands(node)
        if consts:
            raise _Refuse("a concatenation with a constant")
        inputs = [self._act(n) for n in acts]
        rank = len(inputs[0].dims)
        axis = int(a.get("axis", 1))
        if (axis + rank if axis < 0 else axis) != 1:
            raise _Refuse(f"a concatenation along axis {axis} (cnncalc's concat joins channels)")
        if len(inputs) == 1:
            self._layer(node, "identity", (), {}, inputs)
        else:
            self._layer(node, "concat", (), {}, inputs)

    def _split(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        rank = len(x.dims)
        axis = int(a.get("axis", 0))
        if (axis + rank if axis < 0 else axis) != 1:
            raise _Refuse(f"a split along axis {axis} (cnncalc's slice takes channels)")
        channels = x.dims[1]
        count = len(node.output)
        sizes = list(a["split"]) if "split" in a else self._const_ints(node, 1, "split sizes")
        if sizes is None:
            parts = int(a.get("num_outputs", count))
            step = -(-channels // parts)
            sizes = [min(step, channels - i * step) for i in range(parts)]
        start = 0
        for k, (out, size) in enumerate(zip(node.output, sizes, strict=False)):
            if out:
                self._layer(node, "slice", (f"{start}:{start + size}",), {}, [x], out=out,
                            name=f"{self.names[id(node)]}.{k}")  # fmt: skip
            start += size

    def _slice(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        rank = len(x.dims)
        if "starts" in a:
            starts, ends = list(a["starts"]), list(a["ends"])
            axes = list(a.get("axes", range(len(starts))))
            steps = [1] * len(starts)
        else:
            starts = self._const_ints(node, 1, "starts") or []
            ends = self._const_ints(node, 2, "ends") or []
            axes = self._const_ints(node, 3, "axes") or list(range(len(starts)))
            steps = self._const_ints(node, 4, "steps") or [1] * len(starts)
        chosen = None
        for start, end, axis, step in zip(starts, ends, axes, steps, strict=False):
            axis = axis + rank if axis < 0 else axis
            n = x.dims[axis]
            first = max(0, min(n, start + n if start < 0 else start))
            last = max(0, min(n, end + n if end < 0 else end))
            if (first, last, step) == (0, n, 1):
                continue
            if axis != 1 or step != 1 or chosen is not None:
                raise _Refuse(f"a slice along axis {axis} with step {step} (cnncalc's slice takes channels)")
            chosen = (first, last)
        if chosen is None:
            self.t[node.output[0]] = x
            return
        if chosen[0] >= chosen[1]:
            raise _Refuse("an empty slice")
        self._layer(node, "slice", (f"{chosen[0]}:{chosen[1]}",), {}, [x])

    def _view(self, node: Any, a: dict[str, Any]) -> None:
        src = self.t.get(node.input[0])
        if isinstance(src, _Pad):
            src = self._act(node.input[0])
        if isinstance(src, _View):
            base, moves, dims = src.base, src.moves, src.dims
        elif isinstance(src, _Act):
            base, moves, dims = src, (), src.dims
        else:
            raise _Refuse("its input is not an activation")
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
        self.t[node.output[0]] = _View(base, (*moves, (kind, tuple(arg))), tuple(new), node)

    def _resize(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        if len(x.dims) != 4:
            raise _Refuse(f"resizing a {len(x.dims)}-D tensor")
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else str(mode)
        if "scales" in a:
            scales = [float(v) for v in a["scales"]]
        elif node.op_type == "Upsample" or self.opset < 11:
            scales = self._const_floats(node, 1, "scales") or []
        else:
            scales = self._const_floats(node, 2, "scales") or []
        sizes = None if scales else self._const_ints(node, 3, "sizes")
        h, w = x.dims[2], x.dims[3]
        if sizes:
            if "axes" in a or len(sizes) != 4 or sizes[:2] != list(x.dims[:2]):
                raise _Refuse(f"resizing to sizes {sizes}")
            factors = [Fraction(sizes[2], h), Fraction(sizes[3], w)]
            if factors[0] != factors[1]:
                raise _Refuse(
                    f"scales {float(factors[0]):g} and {float(factors[1]):g} along H and W "
                    "(cnncalc's upsample takes one)"
                )
            scale: Any = factors[0]
            if math.floor(h * float(scale)) != sizes[2] or math.floor(w * float(scale)) != sizes[3]:
                scale = Fraction(2 * sizes[2] + 1, 2 * h)
        else:
            if len(scales) != 4 or scales[0] != 1 or scales[1] != 1:
                raise _Refuse(f"scales {scales} (cnncalc's upsample scales H and W)")
            if scales[2] != scales[3]:
                raise _Refuse(f"scales {scales[2]:g} and {scales[3]:g} along H and W (cnncalc's upsample takes one)")
            scale = repr(scales[2])
        # cnncalc's upsample knows nearest and bilinear; cubic differs from bilinear only in the receptive field.
        keys = {"scale": scale, "mode": "nearest" if mode == "nearest" else "bilinear"}
        self._layer(node, "upsample", (), keys, [x])

    def _pad(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        rank = len(x.dims)
        raw = list(a["pads"]) if "pads" in a else self._const_ints(node, 1, "pads")
        if raw is None:
            raise _Refuse("no pads")
        axes = self._const_ints(node, 3, "axes") if len(node.input) > 3 else None
        axes = [v + rank if v < 0 else v for v in (axes or range(rank))]
        begin = dict(zip(axes, raw[: len(axes)], strict=False))
        end = dict(zip(axes, raw[len(axes) :], strict=False))
        if rank not in (3, 4) or any(begin.get(i, 0) or end.get(i, 0) for i in (0, 1)):
            raise _Refuse(f"padding {raw} beyond the spatial axes (cnncalc has no pad op)")
        if min(raw, default=0) < 0:
            raise _Refuse(f"negative padding {raw} (a crop)")
        pads = ((begin.get(2, 0), end.get(2, 0)), (begin.get(3, 0), end.get(3, 0)))
        dims = list(x.dims)
        dims[2] += sum(pads[0])
        if rank == 4:
            dims[3] += sum(pads[1])
        if pads == ((0, 0), (0, 0)):
            self.t[node.output[0]] = x
            return
        self.t[node.output[0]] = _Pad(x, pads, tuple(dims), node)

    def _dropout(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        ratio = a.get("ratio")
        if ratio is None:
            found = self._const_floats(node, 1, "ratio") if len(node.input) > 1 else None
            ratio = found[0] if found else 0.5
        self._layer(node, "dropout", (), {"p": repr(float(ratio))}, [x])

    def _lrn(self, node: Any, a: dict[str, Any]) -> None:
        self._layer(node, "lrn", (), {"size": int(a.get("size", 5))}, [self._input(node)])

    def _reduce_mean(self, node: Any, a: dict[str, Any]) -> None:
        x = self._input(node)
        rank = len(x.dims)
        axes = list(a["axes"]) if "axes" in a else self._const_ints(node, 1, "axes")
        axes_set = {v + rank if v < 0 else v for v in (axes or [])}
        if axes_set != set(range(2, rank)) or rank not in (3, 4):
            raise _Refuse(f"a mean over axes {sorted(axes_set)} (cnncalc knows the mean over H and W as gap)")
        keep = bool(a.get("keepdims", 1))
        out = node.output[0]
        pooled = self._layer(node, "gap", (), {}, [x], out=out if keep else f"{out}#pooled")
        if not keep and isinstance(pooled, _Act):
            self.t[out] = _View(pooled, (("reshape", pooled.dims[:2]),), pooled.dims[:2], node)

    def _identity(self, node: Any, a: dict[str, Any]) -> None:
        self._layer(node, "identity", (), {}, [self._input(node)])

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
                    buffers += self.sizes[s]
                else:
                    params += self.sizes[s]
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
    "ReduceSum Expand Tile Gather TopK Range ConstantOfShape OneHot NonMaxSuppression RoiAlign"
)
_ELEMENTWISE = frozenset(["Add", "Sub", "Mul", "Div", "Pow", "Sum", "Max", "Min", "Mean"])


def _operand_kind(op_type: str, index: int) -> str:
    """How an opaque layer counts a floating-point constant it reads: "param", "buffer", "operand" or ""."""
    if op_type in _SETTINGS:
        return ""
    if op_type == "BatchNormalization":
        return "buffer" if index >= 3 else "param"
    if op_type in _ELEMENTWISE:
        return "operand"  # a scalar is a constant (x + 3), a tensor a learnt value (a bias the layer before lacks)
    return "param"


def _is_shuffle(np: Any, order: Any, dims: tuple[int, ...], g: int) -> bool:
    """Whether a permutation of an NCHW tensor is ShuffleNet's channel shuffle with g groups."""
    n, c, h, w = dims
    if g < 2 or c % g:
        return False
    channels = np.arange(c).reshape(g, c // g).T.reshape(-1)
    want = np.arange(n * c * h * w).reshape(n, c, h, w)[:, channels].reshape(-1)
    return bool((order == want).all())
