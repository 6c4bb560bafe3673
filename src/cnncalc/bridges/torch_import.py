"""Import a PyTorch module as a cnncalc Graph, by running it once on the meta device and recording what it does.

How it works. The module runs with meta copies of its parameters and buffers swapped in, as `torch.func.functional_call`
would swap them (so no memory is allocated and no weight is read), in eval mode, inside a `TorchFunctionMode` that sees
every torch call of every `forward`, and with forward hooks on each submodule. The layers cnncalc knows (Conv2d,
BatchNorm2d, ReLU, ...) become one layer each, named by their module path (`layer1.0.conv1`); calls made in a `forward`
(`torch.cat`, `+`, `x * torch.sigmoid(s)`, `.mean((2, 3))`, `torch.flatten`, slicing channels, ...) become layers named
after the module that made them (`layer1.0.add`). Which layer produced which tensor is tracked by tensor identity.

Views and reshapes are recorded lazily: a chain of `view`/`permute`/`flatten` calls becomes one `flatten`, `reshape` or
`shuffle` layer when something consumes its result, or nothing at all (a `contiguous`, or the permutation to channels
last that torchvision's ConvNeXt puts around its LayerNorm and Linear layers).

Parameters and buffers are attributed to the first layer that uses them, so tied weights count once; a module or call
cnncalc has no op for becomes an `opaque` layer with its own parameters counted and the output shape PyTorch gave;
every layer is checked against cnncalc's own op (shape, parameters, buffers) and kept as `opaque` where they differ.
Parameters that no traced layer used (an auxiliary classifier skipped in eval mode) are found by tracing again in
train mode, or else kept in an opaque training-only layer. Afterwards the module is exactly as it was: its own
tensors, device, training flags, and no hooks left.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import math
import re
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from .._gc import gc_paused
from ..builder import Builder
from ..errors import CnnCalcError
from ..ir import Graph, Shape
from ..ops.base import Context, get_op, read_args
from . import require_torch

__all__ = ["TorchImportWarning", "graph_from_torch", "load_module"]


class TorchImportWarning(UserWarning):
    """A part of a PyTorch module that cnncalc keeps as an opaque layer, or parameters no traced layer used."""


# ----------------------------------------------------------------------------- the recorded network


@dataclass(eq=False, slots=True)
class _Rec:
    """One layer as recorded; becomes a graph node once names are settled."""

    base: str  # name before duplicates get a suffix
    op: str
    pos: tuple[Any, ...]
    keys: dict[str, Any]
    inputs: list[int]  # indexes of the records it reads
    shape: Shape  # what PyTorch gave, as cnncalc writes shapes
    tshape: tuple[int, ...]  # what PyTorch gave, with the batch
    layout: str  # "chw", or "hwc" for a channels-last tensor (ConvNeXt's permuted blocks)
    what: str  # the PyTorch module or function, for an opaque layer
    claims: set[str]  # parameter and buffer keys this layer accounts for (their first use)
    scope: str = ""
    aux: bool = False
    name: str = ""
    note: str = ""  # why it is opaque (for the warning)


class _Move(NamedTuple):
    """A pending data movement: a view, permute, channel slice or extra output, recorded only when consumed."""

    kind: str  # "view", "permute", "slice", "output"
    shape: tuple[int, ...]  # the tensor's shape after the move
    detail: Any  # the permutation, the channel selection, the output's index
    scope: str
    label: str


class _Info(NamedTuple):
    """What is known of a tensor: the record that made it, its layout, and moves not yet made into layers."""

    rec: int
    layout: str
    moves: tuple[_Move, ...] = ()


@dataclass
class _Frame:
    module: Any
    path: str
    kind: str  # "leaf", "scope", "inner" (inside a leaf)
    start: int = 0  # records made before this call
    inputs: list[tuple[Any, _Info]] = field(default_factory=list)
    handler: Callable[..., Any] | None = None


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Functions that return no tensor worth following.
_IGNORE = _words(
    "__get__ __set__ size dim numel __len__ __repr__ __format__ __bool__ item tolist is_contiguous data_ptr "
    "element_size stride storage_offset __hash__ __index__ __int__ __float__ ndimension nelement get_device "
    "is_floating_point is_complex __array__ __iter__ __contains__ __reduce_ex__ __deepcopy__"
)

# Shape-keeping functions, run as `empty_like` on the meta device (PyTorch's meta batch norm and activations are
# Python decompositions, milliseconds a call): name -> position of their `inplace` argument (-1: none).
_SHAPE_KEEPING = {
    "batch_norm": -1, "layer_norm": -1, "group_norm": -1, "instance_norm": -1, "local_response_norm": -1,
    "relu": 1, "relu_": -1, "relu6": 1, "silu": 1, "gelu": -1, "hardswish": 1, "hardsigmoid": 1, "sigmoid": -1,
    "sigmoid_": -1, "tanh": -1, "tanh_": -1, "leaky_relu": 2, "leaky_relu_": -1, "elu": 2, "elu_": -1,
    "hardtanh": 3, "hardtanh_": -1, "softmax": -1, "log_softmax": -1, "dropout": 3, "dropout1d": 3,
    "dropout2d": 3, "dropout3d": 3, "alpha_dropout": 3, "feature_alpha_dropout": 3, "mish": 1, "selu": 1,
}  # fmt: skip

_ACTIVATIONS = {
    "relu": "relu", "relu_": "relu", "relu6": "relu6", "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "tanh": "tanh",
    "tanh_": "tanh", "silu": "silu", "silu_": "silu", "gelu": "gelu", "hardswish": "hswish", "hardswish_": "hswish",
    "hardsigmoid": "hsigmoid", "hardsigmoid_": "hsigmoid", "leaky_relu": "leakyrelu", "leaky_relu_": "leakyrelu",
    "elu": "elu", "elu_": "elu", "softmax": "softmax", "_softmax": "softmax",
}  # fmt: skip
_DROPOUTS = frozenset(
    ["dropout", "dropout_", "dropout1d", "dropout2d", "dropout3d", "feature_dropout", "alpha_dropout"]
)
# Element-wise arithmetic with constants: no parameters and no MACs by cnncalc's convention; kept as `identity`.
_ELEMENTWISE = _words(
    "abs abs_ neg neg_ exp exp_ log log_ sqrt sqrt_ rsqrt rsqrt_ square square_ reciprocal reciprocal_ clamp clamp_ "
    "clamp_min clamp_min_ clamp_max clamp_max_ clip clip_ sign erf floor ceil round pow pow_ __pow__ __ipow__ "
    "hardtanh hardtanh_ nan_to_num nan_to_num_"
)
# Calls that change nothing cnncalc counts: the result stands for the same layer.
_PASSTHROUGH = _words(
    "contiguous clone detach detach_ to float half double bfloat16 type type_as cpu cuda requires_grad_ expand "
    "expand_as broadcast_to align_as coalesce"
)
_VIEWS = _words("view view_as reshape reshape_as flatten unflatten squeeze squeeze_ unsqueeze unsqueeze_ ravel")
_PERMUTES = frozenset(["permute", "transpose", "transpose_", "swapaxes", "swapdims", "t", "movedim", "moveaxis"])
_SPLITS = frozenset(["chunk", "split", "tensor_split", "unbind", "split_with_sizes", "unsafe_split", "unsafe_chunk"])
_BINARY = {
    "add": "add", "radd": "add", "iadd": "add", "sub": "sub", "rsub": "sub", "isub": "sub", "subtract": "sub",
    "mul": "mul", "rmul": "mul", "imul": "mul", "multiply": "mul", "div": "div", "truediv": "div",
    "rtruediv": "div", "itruediv": "div", "divide": "div", "true_divide": "div", "rdiv": "div",
}  # fmt: skip

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


# ----------------------------------------------------------------------------- public functions


def graph_from_torch(module: Any, input_shape: Any, name: str | None = None) -> Graph:
    """The graph of `module` as it runs on the meta device, batch 1.

    `input_shape` is (C, H, W) or (C,) as PyTorch orders it, a list of such for several forward arguments, or a dict
    from argument names to shapes. The module is left exactly as it was.
    """
    torch = require_torch()
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise CnnCalcError(f"{type(module).__name__} is not a torch.nn.Module")
    graph_name = name or type(module).__name__
    inputs, by_keyword = _read_inputs(module, input_shape)
    with gc_paused():  # tens of thousands of objects, none in a cycle: see _gc.py
        keys = _Keys(torch, module)
        first = _Tracer(torch, module, keys, training=False, graph_name=graph_name)
        first.run(inputs, by_keyword)
        recs = first.recs
        _settle_names(recs, module)
        counted = {k for k, (n, _) in keys.sizes.items() if n}
        if counted - first.claimed:
            recs = _with_training_only(torch, module, keys, graph_name, inputs, by_keyword, recs)
        claimed = set().union(*(r.claims for r in recs))
        unused = [k for k in keys.sizes if k in counted and k not in claimed]
        if unused:
            recs = recs + _unused_holders(unused, keys, recs, module)
            _settle_names(recs, module, keep=True)
        graph = _build(graph_name, recs, keys)
    for r in recs:
        if r.op == "opaque":
            warnings.warn(_opaque_note(r, keys), TorchImportWarning, stacklevel=3)
    return graph


def load_module(reference: str) -> Any:
    """`path/to/file.py:Name`: the module `Name()` builds (a module class, or a function that returns a module)."""
    path_text, sep, attr = reference.rpartition(":")
    if not sep or not path_text.endswith(".py") or not attr.isidentifier():
        raise CnnCalcError(f"{reference}: expected path/to/file.py:Name")
    path = Path(path_text)
    if not path.is_file():
        raise CnnCalcError(f"{path_text}: no such file")
    torch = require_torch()  # after the checks that need no torch (importing it takes seconds)
    namespace = _import_file(path)
    if attr not in namespace:
        own = namespace.get("__name__")
        found = sorted(
            k
            for k, v in namespace.items()
            if not k.startswith("_") and getattr(v, "__module__", None) == own and _is_module_maker(torch, v)
        )
        hint = f" (it defines {', '.join(found)})" if found else " (it defines no nn.Module class or function)"
        raise CnnCalcError(f"{path_text} has no {attr}{hint}")
    obj = namespace[attr]
    if isinstance(obj, torch.nn.Module):
        return obj
    is_class = isinstance(obj, type)
    if is_class and not issubclass(obj, torch.nn.Module):
        raise CnnCalcError(f"{reference}: {attr} is a class but not a torch.nn.Module")
    if not is_class and not inspect.isfunction(obj):
        raise CnnCalcError(
            f"{reference}: {attr} is a {type(obj).__name__}, not an nn.Module class or a function returning one"
        )
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind()
        except TypeError:
            needed = [
                p.name
                for p in signature.parameters.values()
                if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            raise CnnCalcError(
                f"{reference}: {attr}() needs arguments ({', '.join(needed)}); give them defaults, or add a function "
                f"that takes none, e.g. def make(): return {attr}(...)"
            ) from None
    try:
        made = obj()
    except Exception as exc:
        raise CnnCalcError(f"{reference}: {attr}() failed: {_one_line(exc)}") from None
    if not isinstance(made, torch.nn.Module):
        raise CnnCalcError(f"{reference}: {attr}() returned {type(made).__name__!r}, not a torch.nn.Module")
    return made


# ----------------------------------------------------------------------------- loading a file


def _import_file(path: Path) -> dict[str, Any]:
    """Run a Python file as a module; it is in sys.modules (and its folder on sys.path) only while it runs."""
    stem = re.sub(r"\W", "_", path.stem) or "model"
    name = stem if stem not in sys.modules else f"_cnncalc_{stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise CnnCalcError(f"{path}: cannot import it as a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.modules[name] = module
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        raise CnnCalcError(f"{path}: importing it called exit({exc.code})") from None
    except Exception as exc:
        where = ""
        if isinstance(exc, SyntaxError) and exc.lineno:
            where = f" (line {exc.lineno})"
        raise CnnCalcError(f"{path}: cannot import it{where}: {_one_line(exc)}") from None
    finally:
        sys.modules.pop(name, None)
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
    return vars(module)


def _is_module_maker(torch: Any, value: Any) -> bool:
    if isinstance(value, type):
        return issubclass(value, torch.nn.Module)
    return inspect.isfunction(value)


def _one_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ----------------------------------------------------------------------------- inputs


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _one_shape(raw: Any) -> tuple[int, ...] | None:
    """(C, H, W), (C,) or (C, L); HxWxC text or a cnncalc Shape also do. None if `raw` is not a shape."""
    if isinstance(raw, Shape):
        return (raw.c,) if raw.h is None else (raw.c, raw.h, raw.w)  # type: ignore[return-value]
    if isinstance(raw, str):
        try:
            parts = [int(p) for p in raw.lower().split("x")]
        except ValueError:
            return None
        return (parts[0],) if len(parts) == 1 else (parts[2], parts[0], parts[1]) if len(parts) == 3 else None
    if _is_int(raw):
        return (raw,)
    if isinstance(raw, Sequence) and raw and all(_is_int(v) for v in raw):
        return tuple(int(v) for v in raw)
    return None


def _read_inputs(module: Any, input_shape: Any) -> tuple[list[tuple[str, tuple[int, ...]]], bool]:
    """[(name, shape)], and whether they are passed by keyword."""

    def check(shape: tuple[int, ...] | None, raw: Any) -> tuple[int, ...]:
        if shape is None or not 1 <= len(shape) <= 3 or min(shape) < 1:
            raise CnnCalcError(
                f"input shape {raw!r}: give (C, H, W) or (C,) as PyTorch orders it, without the batch, "
                "a list of such for several inputs, or a dict from forward argument names to shapes"
            )
        return shape

    if isinstance(input_shape, Mapping):
        if not input_shape:
            raise CnnCalcError("input shape: the dict is empty")
        return [(str(k), check(_one_shape(v), v)) for k, v in input_shape.items()], True
    single = _one_shape(input_shape)
    if single is not None:
        return [("input", check(single, input_shape))], False
    if isinstance(input_shape, Sequence) and not isinstance(input_shape, str) and input_shape:
        shapes = [check(_one_shape(s), s) for s in input_shape]
        if len(shapes) == 1:
            return [("input", shapes[0])], False
        return list(zip(_argument_names(module, len(shapes)), shapes, strict=True)), False
    check(None, input_shape)
    raise AssertionError("unreachable")


def _argument_names(module: Any, count: int) -> list[str]:
    try:
        params = list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = [n for n in names if NAME.match(n)]
    if len(names) < count or len(set(names)) != len(names):
        return [f"input{i + 1}" for i in range(count)]
    return names[:count]


# ----------------------------------------------------------------------------- parameters and buffers


class _Keys:
    """Every parameter and buffer of the module, by its first name; meta stand-ins for the trace."""

    def __init__(self, torch: Any, root: Any) -> None:
        self.sizes: dict[str, tuple[int, bool]] = {}  # key -> (count, is a parameter)
        self.meta: dict[str, Any] = {}
        self.key_of: dict[int, str] = {}  # id(meta tensor) -> key
        self.meta_of: dict[int, Any] = {}  # id(the module's tensor) -> its meta stand-in
        meta_like = _meta_maker(torch)
        # nn.Parameter(meta, requires_grad=...) for a plain tensor is exactly this call, without the checks before it.
        parameter, make = torch.nn.Parameter, torch.Tensor._make_subclass
        params, buffers = _named_tensors(torch, root)
        for key, p in params:
            self.sizes[key] = (p.numel(), True)
            meta = meta_like(p)
            self.meta[key] = self.meta_of[id(p)] = (
                make(parameter, meta, p.requires_grad) if p.is_floating_point() else meta
            )
        for key, b in buffers:
            # BatchNorm's step counter is bookkeeping, not a statistic: it counts nothing, as in the oracle.
            count = 0 if key.rsplit(".", 1)[-1] == "num_batches_tracked" else b.numel()
            self.sizes[key] = (count, False)
            self.meta[key] = self.meta_of[id(b)] = meta_like(b)
        self.key_of = {id(t): k for k, t in self.meta.items()}
        self.owned: dict[int, list[str]] = {}  # id(module) -> keys of its parameters and buffers

    def count(self, claims: set[str]) -> tuple[int, int]:
        params = sum(self.sizes[k][0] for k in claims if self.sizes[k][1])
        buffers = sum(self.sizes[k][0] for k in claims if not self.sizes[k][1])
        return params, buffers


def _named_tensors(torch: Any, root: Any) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """`list(root.named_parameters())` and `list(root.named_buffers())`, read in one walk of the modules."""
    module = torch.nn.Module
    kind = type(root)
    if (kind.named_parameters, kind.named_buffers, kind._named_members) != (
        module.named_parameters,
        module.named_buffers,
        module._named_members,
    ):  # a module that lists its tensors its own way
        return list(root.named_parameters()), list(root.named_buffers())
    params: list[tuple[str, Any]] = []
    buffers: list[tuple[str, Any]] = []
    seen_params: set[int] = set()
    seen_buffers: set[int] = set()
    for path, m in root.named_modules():
        prefix = path + "." if path else ""
        for found, seen, slots in ((params, seen_params, m._parameters), (buffers, seen_buffers, m._buffers)):
            for name, tensor in slots.items():
                if tensor is not None and id(tensor) not in seen:
                    seen.add(id(tensor))
                    found.append((prefix + name, tensor))
    return params, buffers


def _meta_maker(torch: Any) -> Callable[[Any], Any]:
    """A contiguous meta tensor of a tensor's shape and dtype: `torch.empty(t.shape, dtype=t.dtype, device="meta")`,
    made by `empty_like` (three times quicker) for the plain dense tensors that give the same."""
    device = torch.device("meta")
    plain = (torch.Tensor, torch.nn.Parameter)
    strided, contiguous, empty, empty_like = torch.strided, torch.contiguous_format, torch.empty, torch.empty_like

    def meta_like(t: Any) -> Any:
        if t.__class__ in plain and t.layout is strided and not t.is_quantized:
            return empty_like(t, device=device, memory_format=contiguous)
        return empty(t.shape, dtype=t.dtype, device=device)

    return meta_like


# ----------------------------------------------------------------------------- the tracer


def _type_label(cls: type) -> str:
    label = _TYPE_LABELS.get(cls)
    if label is None:
        module = cls.__module__
        if module.startswith("torch.nn.modules."):
            module = "torch.nn"
        label = _TYPE_LABELS[cls] = re.sub(r"[\s#]", "_", f"{module}.{cls.__qualname__}")
    return label


_TYPE_LABELS: dict[type, str] = {}  # one per class: it is asked for every layer


def _func_label(func: Any) -> str:
    try:
        label = _FUNC_LABELS.get(func)
    except TypeError:  # not hashable
        return _new_func_label(func)
    if label is None:
        label = _new_func_label(func)
        if len(_FUNC_LABELS) < 10_000:
            _FUNC_LABELS[func] = label
    return label


_FUNC_LABELS: dict[Any, str] = {}  # one per function: it is asked for every call recorded


def _new_func_label(func: Any) -> str:
    name = getattr(func, "__name__", repr(func))
    qual = getattr(func, "__qualname__", "") or ""
    module = getattr(func, "__module__", None) or ""
    if qual.startswith(("TensorBase.", "Tensor.")):
        return f"torch.Tensor.{name}"
    if module in ("torch._C._nn", "torch.nn.functional"):
        return f"torch.nn.functional.{name}"
    if module.startswith("torch._C._"):
        return f"torch.{module[len('torch._C._') :]}.{name}"
    return re.sub(r"[\s#]", "_", f"torch.{name}")


def _norm_dim(dim: int, rank: int) -> int:
    return dim + rank if dim < 0 else dim


def _channel_dim(layout: str, rank: int) -> int:
    return rank - 1 if layout == "hwc" and rank == 4 else 1


def _to_shape(tshape: Sequence[int], layout: str = "chw") -> Shape:
    """A PyTorch shape as cnncalc writes it: batch dropped, (C, H, W) or a C-vector; numel kept always."""
    dims = list(map(int, tshape))
    if layout == "hwc" and len(dims) == 4:
        return Shape(dims[3], dims[1], dims[2])
    if dims and dims[0] == 1 and len(dims) >= 2:
        dims = dims[1:]
    elif len(dims) >= 2 and 1 in dims[1:]:
        dims.pop(dims.index(1, 1))  # the batch, moved by a permute (a sequence-first RNN)
    elif len(dims) == 1 and dims[0] == 1:
        dims = []
    if not dims:
        return Shape(1)
    if len(dims) == 1:
        return Shape(dims[0])
    if len(dims) == 2:
        return Shape(dims[0], dims[1], 1)
    return Shape(dims[0], dims[1], math.prod(dims[2:]))


def _bind(args: Sequence[Any], kwargs: Mapping[str, Any], names: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments by name, from positions in the order `names` gives (the first, the input, left out)."""
    out = dict(defaults)
    for key, value in zip(names.split(), args[1:], strict=False):
        out[key] = value
    out.update({k: v for k, v in kwargs.items() if k in names.split() or k in defaults})
    return out


def _pair(v: Any) -> tuple[int, int]:
    if v.__class__ is tuple and len(v) == 2 and v[0].__class__ is int and v[1].__class__ is int:
        return v  # type: ignore[no-any-return]  # most: a module's (kh, kw)
    if isinstance(v, (tuple, list)):
        return (int(v[0]), int(v[-1])) if len(v) in (1, 2) else (int(v[0]), int(v[1]))
    return int(v), int(v)


def _tensors_in(obj: Any, torch: Any, depth: int = 0) -> list[Any]:
    """The tensors in `obj` and in the lists, tuples and mappings it holds (three levels deep), in order."""
    found: list[Any] = []
    _collect(obj, torch.Tensor, depth, found)
    return found


def _collect(obj: Any, tensor: type, depth: int, found: list[Any]) -> None:
    if isinstance(obj, tensor):
        found.append(obj)
    elif depth < 3 and isinstance(obj, (list, tuple)):
        for item in obj:
            if isinstance(item, tensor):  # most items: a call's tensor arguments
                found.append(item)
            else:
                _collect(item, tensor, depth + 1, found)
    elif depth < 3 and isinstance(obj, Mapping):
        for item in obj.values():
            _collect(item, tensor, depth + 1, found)


class _Tracer:
    def __init__(self, torch: Any, root: Any, keys: _Keys, *, training: bool, graph_name: str) -> None:
        self.torch = torch
        self.nn = torch.nn
        self.root = root
        self.keys = keys
        self.training = training
        self.graph_name = graph_name
        self.recs: list[_Rec] = []
        self.info: dict[int, tuple[Any, _Info]] = {}
        self.origin: dict[int, tuple[Any, frozenset[str]]] = {}
        self.stack: list[_Frame] = []
        self.leaf_depth = 0
        self.busy = False
        self.claimed: set[str] = set()
        self.consumed: set[int] = set()
        self.made: dict[int, tuple[_Info, _Info]] = {}  # pending moves already made into layers
        named = list(root.named_modules())
        self.meta_device = torch.device("meta")
        self.modules = [m for _, m in named]
        self.paths = {id(m): path for path, m in named}

    # -- running

    def run(self, inputs: list[tuple[str, tuple[int, ...]]], by_keyword: bool) -> None:
        torch = self.torch
        for key, t in self.keys.meta.items():
            self.origin[id(t)] = (t, frozenset((key,)))
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for name, shape in inputs:
            t = torch.empty((1, *shape), device="meta")
            i = self._new(name, "input", (_to_shape(t.shape),), {}, [], t.shape, "chw", scope="", base=name)
            self._set(t, _Info(i, "chw"))
            if by_keyword:
                kwargs[name] = t
            else:
                args.append(t)
        root = self.root
        modules = self.modules
        flags = [(m, m.training) for m in modules]
        handles = []
        try:
            # train() sets every flag; where all are already as wanted and no module has its own train(),
            # calling it would change nothing.
            module_train = self.nn.Module.train
            if any(flag is not self.training for _, flag in flags) or any(
                type(m).train is not module_train for m in modules
            ):
                root.train(self.training)
            for m in modules:
                try:
                    _add_hooks(self.nn.Module, m, self._pre, self._post, handles)
                except RuntimeError:  # a TorchScript module takes no hooks: its calls are recorded one by one
                    continue
            mode = _mode_class(torch)(self)
            try:
                with torch.no_grad(), mode, _meta_tensors(torch, root, modules, self.keys, self.paths):
                    out = root(*args, **kwargs)
            except _ImporterBugError:
                raise
            except CnnCalcError:
                raise
            except Exception as exc:
                raise CnnCalcError(f"{self.graph_name}: tracing failed {self._where()}: {_one_line(exc)}") from None
            self.busy = True
            self._guard(self._finish_outputs, out)
        finally:
            for h in handles:
                h.remove()
            for m, flag in flags:
                if m.training is not flag:
                    m.training = flag

    def _where(self) -> str:
        for frame in reversed(self.stack):
            if frame.path:
                return f"in {frame.path} ({_type_label(type(frame.module))})"
        return f"in the forward of {type(self.root).__name__}"

    def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except (_ImporterBugError, CnnCalcError):
            raise
        except Exception as exc:  # a bug of this importer, not of the user's module: keep its traceback
            raise _ImporterBugError(f"cnncalc's torch import failed on {self._where()}: {exc!r}") from exc

    def _finish_outputs(self, out: Any) -> None:
        for t in _tensors_in(out, self.torch):
            self._resolve_tensor(t)

    # -- bookkeeping

    def _scope(self) -> str:
        for frame in reversed(self.stack):
            if frame.kind == "scope":
                return frame.path
        return ""

    def _set(self, t: Any, info: _Info) -> None:
        self.info[id(t)] = (t, info)

    def _get(self, t: Any) -> _Info | None:
        entry = self.info.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def _origins(self, t: Any) -> frozenset[str]:
        entry = self.origin.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else frozenset()

    def _new(
        self,
        label: str,
        op: str,
        pos: tuple[Any, ...],
        keys: dict[str, Any],
        inputs: list[int],
        tshape: Sequence[int],
        layout: str,
        *,
        scope: str | None = None,
        what: str = "",
        claims: Iterator[str] | set[str] | frozenset[str] = frozenset(),
        base: str | None = None,
    ) -> int:
        scope = self._scope() if scope is None else scope
        if base is None:
            base = f"{scope}.{label}" if scope else label
        mine = set(claims)
        if mine:
            mine -= self.claimed
            self.claimed |= mine
        self.consumed.update(inputs)
        shape = _to_shape(tshape, layout)
        self.recs.append(
            _Rec(
                base,
                op,
                pos,
                keys,
                list(inputs),
                shape,
                tuple(map(int, tshape)),
                layout,
                what or op,
                mine,
                scope,
                aux=self.training,
            )
        )
        return len(self.recs) - 1

    def _resolve(self, t: Any, info: _Info) -> _Info:
        """`info` with its pending moves made into layers (once); remembered for `t` if it still stands for it."""
        if not info.moves:
            return info
        made = self.made.get(id(info))
        if made is not None and made[0] is info:
            done = made[1]
        else:
            done = self._materialize(info)
            self.made[id(info)] = (info, done)
        if self._get(t) is info:
            self._set(t, done)
        return done

    def _resolve_tensor(self, t: Any) -> _Info | None:
        info = self._get(t)
        return None if info is None else self._resolve(t, info)

    def _chw(self, info: _Info) -> int:
        """The record for `info`, as a channels-first tensor (a channels-last one gets a reshape layer)."""
        if info.layout == "chw":
            return info.rec
        r = self.recs[info.rec]
        return self._new("permute", "reshape", (_to_shape(r.tshape, "chw"),), {}, [info.rec], r.tshape, "chw",
                         scope=r.scope)  # fmt: skip

    # -- lazy moves made into layers

    def _materialize(self, info: _Info) -> _Info:
        rec, layout = info.rec, info.layout
        shape = self.recs[rec].tshape
        run: list[_Move] = []
        for mv in info.moves:
            if mv.kind in ("view", "permute"):
                run.append(mv)
                continue
            if run:
                rec, layout, shape = self._run(rec, layout, shape, run)
                run = []
            if mv.kind == "slice":
                rec = self._new(mv.label, "slice", (mv.detail,), {}, [rec], mv.shape, layout, scope=mv.scope)
            else:  # another output of a layer with several: opaque, it has no parameters of its own
                what = f"{self.recs[rec].what}[{mv.detail}]"
                rec = self._new(mv.label, "opaque", (), {}, [rec], mv.shape, "chw", scope=mv.scope, what=what)
                layout = "chw"
            shape = mv.shape
        if run:
            rec, layout, shape = self._run(rec, layout, shape, run)
        return _Info(rec, layout)

    def _run(
        self, rec: int, layout: str, shape0: tuple[int, ...], run: list[_Move]
    ) -> tuple[int, str, tuple[int, ...]]:
        """A chain of views and permutes: nothing, a change of layout, a shuffle, a flatten or a reshape."""
        final = run[-1].shape
        scope, label = run[-1].scope, run[-1].label
        views = [m for m in run if m.kind == "view"]
        perms = [m for m in run if m.kind == "permute"]
        if not views and all(m.detail is not None for m in perms):
            total = tuple(range(len(shape0)))
            for m in perms:
                total = tuple(total[i] for i in m.detail)
            if total == tuple(range(len(shape0))):
                return rec, layout, final
            if len(shape0) == 4 and layout == "chw" and total == (0, 2, 3, 1):
                return rec, "hwc", final
            if len(shape0) == 4 and layout == "hwc" and total == (0, 3, 1, 2):
                return rec, "chw", final
        g = _shuffle_groups(shape0, layout, run)
        if g:
            return self._new("shuffle", "shuffle", (), {"g": g}, [rec], final, "chw", scope=scope), "chw", final
        source = _to_shape(shape0, layout)
        target = _to_shape(final, "chw")
        if not perms and tuple(final) == tuple(shape0):
            return rec, layout, final
        if target == source and not perms and layout == "chw":
            return rec, layout, final
        if not target.spatial:
            if not source.spatial and source.c == target.c and not perms:
                return rec, "chw", final
            return self._new("flatten", "flatten", (), {}, [rec], final, "chw", scope=scope), "chw", final
        new = self._new(label, "reshape", (target,), {}, [rec], final, "chw", scope=scope)
        return new, "chw", final

    # -- module hooks

    # The hooks run for every module call: `_guard` written out in them.
    def _pre(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            self._enter(module, args, kwargs)
        except (_ImporterBugError, CnnCalcError):
            raise
        except Exception as exc:
            raise _ImporterBugError(f"cnncalc's torch import failed on {self._where()}: {exc!r}") from exc
        finally:
            self.busy = False

    def _post(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            self._leave(module, output)
        except (_ImporterBugError, CnnCalcError):
            raise
        except Exception as exc:
            raise _ImporterBugError(f"cnncalc's torch import failed on {self._where()}: {exc!r}") from exc
        finally:
            self.busy = False

    def _enter(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        path = self.paths.get(id(module))
        if path is None:
            path = type(module).__name__.lower()
        if self.leaf_depth:
            self.leaf_depth += 1
            self.stack.append(_Frame(module, path, "inner"))
            return
        handler = _leaf_handler(self.nn, module)
        if handler is None:
            self.stack.append(_Frame(module, path, "scope", start=len(self.recs)))
            return
        frame = _Frame(module, path, "leaf", start=len(self.recs), handler=handler)
        if not kwargs and len(args) == 1 and args[0].__class__ is self.torch.Tensor:
            tensors = [args[0]]  # most calls: the quick way to what _tensors_in finds
        else:
            tensors = _tensors_in((args, kwargs), self.torch)
        for t in tensors:
            info = self._get(t)
            if info is not None:
                frame.inputs.append((t, self._resolve(t, info)))
            else:
                frame.inputs.append((t, None))  # type: ignore[arg-type]
        self.stack.append(frame)
        self.leaf_depth = 1

    def _leave(self, module: Any, output: Any) -> None:
        while self.stack and self.stack[-1].module is not module:
            self.stack.pop()  # a call the module's own code caught an exception in
        if not self.stack:
            return
        frame = self.stack.pop()
        if frame.kind == "inner":
            self.leaf_depth -= 1
            return
        if frame.kind == "leaf":
            self.leaf_depth = 0
            self._leaf(frame, output)
            return
        self._finish_outputs(output)
        made = self.recs[frame.start :]
        if frame.path and len(made) == 1 and made[0].scope == frame.path and made[0].op != "input":
            made[0].base = frame.path  # a module that makes one layer (a Flatten of its own) is that layer

    def _leaf(self, frame: _Frame, output: Any) -> None:
        outs = [output] if output.__class__ is self.torch.Tensor else _tensors_in(output, self.torch)
        tracked = [(t, info) for t, info in frame.inputs if info is not None]
        module = frame.module
        claims = set(self._module_claims(module))
        for t, info in frame.inputs:
            if info is None:
                claims |= self._origins(t)
        if not outs or not tracked:
            if claims:  # a module run on constants (an embedding table): what it gives carries its parameters
                for t in outs:
                    self.origin[id(t)] = (t, frozenset(claims))
            return
        base = frame.path or None
        result = None
        if len(tracked) == 1 or frame.handler is _opaque_module:
            try:
                result = frame.handler(self, module, tracked[0][1], outs[0]) if frame.handler else None
            except Exception:  # an unusual configuration: keep it exact as opaque
                result = None
        if result is None:
            result = _opaque_module(self, module, tracked[0][1], outs[0])
        op, pos, keys, layout, label = result
        if op is None:  # nothing to record (a Flatten of a vector): the output stands for the input's layer
            self._set(outs[0], _Info(tracked[0][1].rec, layout))
            return
        if op == "__moves__":  # a Flatten or Unflatten module: a view made into a layer at once
            info = tracked[0][1]
            mv = _Move("view", tuple(outs[0].shape), None, self._scope(), label)
            done = self._materialize(_Info(info.rec, info.layout, (mv,)))
            if done.rec != info.rec and frame.path:
                self.recs[done.rec].base = frame.path
            self._set(outs[0], done)
            return
        inputs = [info.rec for _, info in tracked] if op == "opaque" else [tracked[0][1].rec]
        if op != "opaque" and layout == "chw" and tracked[0][1].layout == "hwc":
            inputs = [self._chw(tracked[0][1])]
        what = _type_label(type(module))
        inputs = inputs if len(inputs) == 1 else list(dict.fromkeys(inputs))
        i = self._new(label, op, pos, keys, inputs, outs[0].shape, layout, what=what, claims=claims, base=base)
        self._set(outs[0], _Info(i, layout))
        if len(outs) > 1:
            for k, t in enumerate(outs[1:], start=1):
                self._set(t, _Info(i, layout, (_Move("output", tuple(t.shape), k, self._scope(), f"{label}_out{k}"),)))

    def _module_claims(self, module: Any) -> list[str]:
        """Keys of a module's parameters and buffers (the meta stand-ins it holds during the call)."""
        cache = self.keys.owned
        found = cache.get(id(module))
        if found is None:
            key_of = self.keys.key_of
            if module._modules:
                tensors = [*module.parameters(), *module.buffers()]
            else:  # no submodules: its own, read directly (parameters() walks the tree with generators)
                tensors = [t for t in (*module._parameters.values(), *module._buffers.values()) if t is not None]
            found = cache[id(module)] = list(dict.fromkeys(key_of[id(t)] for t in tensors if id(t) in key_of))
        return found

    # -- torch calls

    def on_call(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = getattr(func, "__name__", "")
        if self.busy or (self.leaf_depth and name in _IGNORE):
            return func(*args, **kwargs)
        if name in _IGNORE:
            if name != "__get__":
                return func(*args, **kwargs)
            out = func(*args, **kwargs)  # a property: x.shape (nothing to follow), x.data, x.T
            if isinstance(out, self.torch.Tensor) and args and self._get(args[0]) is not None:
                prop = getattr(getattr(func, "__self__", None), "__name__", "")
                self.busy = True
                try:
                    self._guard(self._property, prop, args[0], out)
                finally:
                    self.busy = False
            return out
        if self.leaf_depth:
            return self._run_op(name, func, args, kwargs)
        tensors = list(_tensors_in((args, kwargs), self.torch))
        snap = {}
        for t in tensors:
            info = self._get(t)
            if info is not None:
                snap[id(t)] = info
        if not snap:
            out = self._run_op(name, func, args, kwargs)
            if self.origin and tensors:
                found = frozenset().union(*(self._origins(t) for t in tensors))
                if found:
                    for t in _tensors_in(out, self.torch):
                        if id(t) not in self.origin or self.origin[id(t)][0] is not t:
                            self.origin[id(t)] = (t, found)
            return out
        out = self._run_op(name, func, args, kwargs)
        self.busy = True
        try:
            self._guard(self._record_call, name, func, args, kwargs, out, snap)
        finally:
            self.busy = False
        return out

    def _property(self, prop: str, x: Any, out: Any) -> None:
        info = self._get(x)
        assert info is not None
        if prop in ("data", "real"):
            self._set(out, info)
        elif prop in ("T", "mT") and x.dim() >= 2:
            perm = list(range(x.dim()))
            if prop == "T":
                perm.reverse()
            else:
                perm[-2], perm[-1] = perm[-1], perm[-2]
            mv = _Move("permute", tuple(out.shape), tuple(perm), self._scope(), "transpose")
            base = info if all(m.kind in ("view", "permute") for m in info.moves) else self._resolve(x, info)
            self._set(out, base._replace(moves=(*base.moves, mv)))
        else:
            self._opaque_call(prop, getattr(type(x), prop, prop), (x,), {}, out, {id(x): info})

    def _run_op(self, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run a call; on the meta device, shape-keeping and element-wise ones are made by `torch.empty` at once
        (PyTorch runs them as Python decompositions there, a millisecond or more each, for nothing but the shape)."""
        torch = self.torch
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or not x.is_meta:
            return func(*args, **kwargs)
        if name == "adaptive_avg_pool2d" and x.dim() in (3, 4):
            # Its output size is its argument; PyTorch's meta version imports TorchDynamo (seconds) on first use.
            size = _bind(args, kwargs, "output_size", {})["output_size"]
            size = (size, size) if _is_int(size) else tuple(size)
            if len(size) == 2:
                out = (*x.shape[:-2], *(x.shape[-2 + i] if v is None else int(v) for i, v in enumerate(size)))
                return torch.empty(out, dtype=x.dtype, device=self.meta_device)
        if name == "conv2d" and len(args) == 7 and not kwargs:
            out = _conv2d_meta(torch, self.meta_device, *args)
            if out is not None:
                return out
        spot = _SHAPE_KEEPING.get(name)
        if spot is not None:
            inplace = (
                name.endswith("_") or kwargs.get("inplace") is True or (0 < spot < len(args) and args[spot] is True)
            )
            return x if inplace else torch.empty(x.shape, dtype=x.dtype, device=self.meta_device)
        if name.strip("_") in _BINARY and len(args) == 2 and not kwargs:
            other = args[1]
            if isinstance(other, torch.Tensor) and not other.is_meta:
                return func(*args, **kwargs)
            inplace = (name.endswith("_") and not name.startswith("__")) or name.startswith("__i")
            try:
                shape = torch.broadcast_shapes(x.shape, other.shape) if isinstance(other, torch.Tensor) else x.shape
                dtype = torch.result_type(x, other)
            except (RuntimeError, TypeError):
                return func(*args, **kwargs)
            if inplace:
                return func(*args, **kwargs) if tuple(shape) != tuple(x.shape) else x
            if (
                name.strip("_") in ("div", "truediv", "rtruediv", "true_divide", "divide")
                and not dtype.is_floating_point
            ):
                return func(*args, **kwargs)
            return torch.empty(shape, dtype=dtype, device=self.meta_device)
        return func(*args, **kwargs)

    def _record_call(
        self, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, snap: dict[int, _Info]
    ) -> None:
        first = len(self.recs)
        try:
            done = _translate(self, name, func, args, kwargs, out, snap)
        except Exception:  # an unusual call: keep it exact as opaque
            done = False
        if not done:
            self._opaque_call(name, func, args, kwargs, out, snap)
        label = _func_label(func)
        for r in self.recs[first:]:
            if r.what == r.op and r.op not in ("slice", "reshape", "flatten", "shuffle"):
                r.what = label  # what the layer is in PyTorch, should it not match cnncalc's op

    def _inputs(self, args: Any, snap: dict[int, _Info]) -> list[tuple[Any, _Info]]:
        seen = set()
        found = []
        for t in _tensors_in(args, self.torch):
            if id(t) in snap and id(t) not in seen:
                seen.add(id(t))
                found.append((t, self._resolve(t, snap[id(t)])))
        return found

    def _untracked_claims(self, args: Any, snap: dict[int, _Info]) -> set[str]:
        claims: set[str] = set()
        for t in _tensors_in(args, self.torch):
            if id(t) not in snap:
                claims |= self._origins(t)
        return claims

    def _opaque_call(
        self, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, snap: dict[int, _Info]
    ) -> None:
        outs = list(_tensors_in(out, self.torch))
        if not outs and (name.endswith("_") or name.startswith("__i") or name == "__setitem__"):
            outs = [args[0]] if args and isinstance(args[0], self.torch.Tensor) else []
        if not outs:
            return
        ins = self._inputs((args, kwargs), snap)
        claims = self._untracked_claims((args, kwargs), snap)
        label = name.strip("_") or "op"
        i = self._new(label, "opaque", (), {}, list(dict.fromkeys(info.rec for _, info in ins)), outs[0].shape,
                      "chw", what=_func_label(func), claims=claims)  # fmt: skip
        self._set(outs[0], _Info(i, "chw"))
        for k, t in enumerate(outs[1:], start=1):
            self._set(t, _Info(i, "chw", (_Move("output", tuple(t.shape), k, self._scope(), f"{label}_out{k}"),)))


class _Hooks:
    """The two hooks of one module, written into its hook dicts as `register_forward_pre_hook(..., with_kwargs=True)`
    and `register_forward_hook(..., with_kwargs=True)` write them, and taken out as their handles' `remove()` does:
    the same dicts and handle numbers, without two handles with weak references per module (a tenth of a large
    network's trace)."""

    __slots__ = ("first", "module")

    def __init__(self, module: Any, first: int) -> None:
        self.module, self.first = module, first

    def remove(self) -> None:
        m, pre, post = self.module, self.first, self.first + 1
        for hooks in (m._forward_pre_hooks, m._forward_pre_hooks_with_kwargs):
            hooks.pop(pre, None)
        for hooks in (m._forward_hooks, m._forward_hooks_with_kwargs, m._forward_hooks_always_called):
            hooks.pop(post, None)


def _add_hooks(base: type, m: Any, pre: Any, post: Any, handles: list[Any]) -> None:
    kind = type(m)
    try:
        dicts = (m._forward_pre_hooks, m._forward_pre_hooks_with_kwargs, m._forward_hooks, m._forward_hooks_with_kwargs)
        direct = (
            kind.register_forward_pre_hook is base.register_forward_pre_hook
            and kind.register_forward_hook is base.register_forward_hook
            and isinstance(m._forward_hooks_always_called, dict)
        )
    except AttributeError:  # another PyTorch's modules
        direct = False
    if not direct:  # a module with its own registration (TorchScript's refuses hooks): its own way
        handles.append(m.register_forward_pre_hook(pre, with_kwargs=True))
        handles.append(m.register_forward_hook(post, with_kwargs=True))
        return
    from torch.utils.hooks import RemovableHandle

    first = RemovableHandle.next_id
    RemovableHandle.next_id = first + 2
    pre_hooks, pre_kwargs, post_hooks, post_kwargs = dicts
    pre_hooks[first] = pre
    pre_kwargs[first] = True
    post_hooks[first + 1] = post
    post_kwargs[first + 1] = True
    handles.append(_Hooks(m, first))


@contextlib.contextmanager
def _meta_tensors(torch: Any, root: Any, modules: list[Any], keys: _Keys, paths: dict[int, str]) -> Iterator[None]:
    """The module's parameters and buffers swapped for their meta stand-ins while it runs, and put back after:
    what `torch.func.functional_call(root, keys.meta)` does (tied tensors share one stand-in), with the same
    refusals, without its per-name lookups (a tenth of the time of a large network's trace)."""
    jit = torch.jit
    if jit.is_tracing() or jit.is_scripting() or isinstance(root, (jit.RecursiveScriptModule, jit.ScriptModule)):
        raise RuntimeError("The stateless API can't be used with Jitted modules")
    if isinstance(root, torch.nn.DataParallel):
        raise RuntimeError("The stateless API can't be used with nn.DataParallel module")
    meta_of = keys.meta_of
    swapped: list[tuple[Any, dict[str, Any], str, Any, Any]] = []  # (module, slots, name, own tensor, stand-in)
    try:
        for m in modules:
            for slots in (m._parameters, m._buffers):
                for slot, tensor in slots.items():
                    meta = None if tensor is None else meta_of.get(id(tensor))
                    if meta is not None:
                        swapped.append((m, slots, slot, tensor, meta))
                        slots[slot] = meta
        yield
    finally:
        for m, slots, slot, tensor, meta in reversed(swapped):
            now = slots.get(slot)
            slots[slot] = tensor
            # A forward that replaced a tensor: functional_call hands the new one back under its first name.
            if now is not meta and isinstance(now, torch.Tensor):
                path = paths.get(id(m), "")
                key = f"{path}.{slot}" if path else slot
                if keys.key_of.get(id(meta)) == key:
                    keys.meta[key] = now


def _conv2d_meta(
    torch: Any, meta: Any, x: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, groups: Any
) -> Any:
    """What `F.conv2d` gives on the meta device, worked out here when every argument is plain (as nn.Conv2d
    passes them): PyTorch's meta kernel is Python, a large share of a trace. None: let PyTorch run it."""
    if not _META_TENSORS:
        _META_TENSORS.update((torch.Tensor, torch.nn.Parameter))
    if not (
        x.__class__ in _META_TENSORS
        and weight.__class__ in _META_TENSORS
        and weight.is_meta
        and x.dim() == 4
        and weight.dim() == 4
        and x.dtype == weight.dtype
        and x.is_floating_point()
        and (bias is None or (bias.__class__ in _META_TENSORS and bias.is_meta and bias.dtype == x.dtype))
        and groups.__class__ is int
        and all(v.__class__ is tuple and len(v) == 2 for v in (stride, padding, dilation))
    ):
        return None
    n, c, h, w = x.shape
    out_c, per_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    numbers = (sh, sw, ph, pw, dh, dw)
    if not all(v.__class__ is int for v in numbers) or min(sh, sw, dh, dw) < 1 or min(ph, pw) < 0:
        return None
    if min(n, c, h, w, out_c, kh, kw, groups) < 1 or per_group * groups != c or out_c % groups:
        return None
    if bias is not None and tuple(bias.shape) != (out_c,):
        return None
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    if oh < 1 or ow < 1:
        return None  # PyTorch's error, from PyTorch
    return torch.empty((n, out_c, oh, ow), dtype=x.dtype, device=meta)


_META_TENSORS: set[type] = set()  # torch.Tensor and nn.Parameter, filled on first use


class _ImporterBugError(RuntimeError):
    """The importer itself failed (not the user's module): a bug, reported with its traceback."""


_MODE_CLASS: list[type] = []


def _mode_class(torch: Any) -> type:
    if not _MODE_CLASS:

        class Mode(torch.overrides.TorchFunctionMode):  # type: ignore[misc, name-defined]
            def __init__(self, tracer: _Tracer) -> None:
                super().__init__()
                self.tracer = tracer

            def __torch_function__(
                self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
            ) -> Any:
                return self.tracer.on_call(func, args, kwargs or {})

        _MODE_CLASS.append(Mode)
    return _MODE_CLASS[0]


def _shuffle_groups(shape0: tuple[int, ...], layout: str, run: list[_Move]) -> int | None:
    """ShuffleNet's channel shuffle written out: view (B, g, C/g, H, W), transpose(1, 2), view back."""
    if layout != "chw" or len(shape0) != 4 or tuple(run[-1].shape) != tuple(shape0) or len(run) < 3:
        return None
    first, second = run[0], run[1]
    _, c, h, w = shape0
    if first.kind != "view" or len(first.shape) != 5 or tuple(first.shape[3:]) != (h, w):
        return None
    g = first.shape[1]
    if g * first.shape[2] != c or second.kind != "permute" or second.detail != (0, 2, 1, 3, 4):
        return None
    if any(m.kind != "view" for m in run[2:]) or g < 2:
        return None
    return int(g)


# ----------------------------------------------------------------------------- modules


_LEAF_TABLE: list[tuple[type, Callable[..., Any]]] = []
_CONTAINERS: tuple[type, ...] = ()


def _leaf_handler(nn: Any, module: Any) -> Callable[..., Any] | None:
    """How a module becomes a layer, or None to record what its forward does (found once per class)."""
    cls = type(module)
    if cls in _HANDLERS:
        return _HANDLERS[cls]
    handler = _HANDLERS[cls] = _class_handler(nn, cls, module)
    return handler


_HANDLERS: dict[type, Callable[..., Any] | None] = {}


def _class_handler(nn: Any, cls: type, module: Any) -> Callable[..., Any] | None:
    global _CONTAINERS
    if not _LEAF_TABLE:
        _LEAF_TABLE.extend(_leaf_table(nn))
        _CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict, nn.ParameterList, nn.ParameterDict)
    if cls.__name__ == "StochasticDepth":
        return _droppath
    if cls.__name__ == "FrozenBatchNorm2d":
        return _opaque_module
    for kind, handler in _LEAF_TABLE:
        if isinstance(module, kind):
            return handler
    if isinstance(module, _CONTAINERS):
        return None
    for klass in cls.__mro__:
        if klass is nn.Module or klass in _CONTAINERS:
            continue
        if klass.__module__.startswith(("torch.nn.modules.", "torch.ao.nn.", "torch.nn.quantized", "torch.nn.qat")):
            return _opaque_module
    return None


_Result = tuple[Any, tuple[Any, ...], dict[str, Any], str, str]  # op, positional, keys, output layout, label


def _conv(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    c_in, c_out, g = m.in_channels, m.out_channels, m.groups
    keys: dict[str, Any] = {"k": _pair(m.kernel_size), "s": _pair(m.stride), "d": _pair(m.dilation),
                            "bias": m.bias is not None}  # fmt: skip
    pad = m.padding
    keys["p"] = "same" if pad == "same" else (0, 0) if pad == "valid" else _pair(pad)
    if g > 1 and g == c_in and c_out % c_in == 0:
        if c_out != c_in:
            keys["m"] = c_out // c_in
        return "dwconv", (), keys, "chw", "dwconv"
    if g > 1:
        keys["g"] = g
    return "conv", (c_out,), keys, "chw", "conv"


def _conv_t(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    k, s, p, d = _pair(m.kernel_size), _pair(m.stride), _pair(m.padding), _pair(m.dilation)
    output_padding = _pair(m.output_padding)
    r = tr.recs[info.rec]
    if len(r.tshape) == 4 and out.dim() == 4:  # forward(x, output_size=...) chooses the output padding itself
        output_padding = tuple(  # type: ignore[assignment]
            int(out.shape[2 + a]) - ((r.tshape[2 + a] - 1) * s[a] - 2 * p[a] + d[a] * (k[a] - 1) + 1) for a in (0, 1)
        )
    keys = {"k": k, "s": s, "p": p, "op": output_padding, "d": d, "g": m.groups, "bias": m.bias is not None}
    return "convT", (m.out_channels,), keys, "chw", "convT"


def _linear(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result | None:
    bias = m.bias is not None
    if info.layout == "hwc" and out.dim() == 4:  # channels last: a 1x1 convolution (ConvNeXt)
        return "conv", (m.out_features,), {"k": 1, "bias": bias}, "hwc", "linear"
    return "fc", (m.out_features,), {"bias": bias}, "chw", "linear"


def _batchnorm(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "bn", (), {}, "chw", "bn"


def _layernorm(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result | None:
    shape = tuple(m.normalized_shape)
    nn = tr.nn
    own_forward = type(m).forward is not nn.LayerNorm.forward
    if len(shape) != 1:
        return None
    if info.layout == "hwc" and out.dim() == 4 and not own_forward:
        return "layernorm", (), {}, "hwc", "layernorm"
    if own_forward and out.dim() == 4 and out.shape[1] == shape[0]:  # torchvision's LayerNorm2d: over the channels
        return "layernorm", (), {}, "chw", "layernorm"
    return "layernorm", (), {}, info.layout, "layernorm"


def _same_layout(op: str, **keys: Any) -> Callable[..., _Result]:
    def handler(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
        return op, (), dict(keys), info.layout, op

    return handler


def _activation(op: str) -> Callable[..., _Result]:
    return _same_layout(op)


def _dropout(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "dropout", (), {"p": Fraction(str(m.p))}, info.layout, "dropout"


def _droppath(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    p = getattr(m, "p", 0)
    return "droppath", (), {"p": Fraction(str(p))}, info.layout, "droppath"


def _leaky(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "leakyrelu", (), {}, info.layout, "leakyrelu"


def _hardtanh(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    if (m.min_val, m.max_val) == (0.0, 6.0):
        return "relu6", (), {}, info.layout, "relu6"
    return "identity", (), {}, info.layout, "hardtanh"


def _pool(op: str) -> Callable[..., _Result | None]:
    def handler(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result | None:
        if op == "maxpool" and _pair(m.dilation) != (1, 1):
            return None
        k = _pair(m.kernel_size)
        s = _pair(m.stride) if m.stride not in (None, (), []) else k
        return op, (), {"k": k, "s": s, "p": _pair(m.padding), "ceil": bool(m.ceil_mode)}, "chw", op

    return handler


def _adaptive_avg(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    oh, ow = int(out.shape[-2]), int(out.shape[-1])
    if (oh, ow) == (1, 1):
        return "gap", (), {}, "chw", "gap"
    return "adaptiveavgpool", ((oh, ow),), {}, "chw", "adaptiveavgpool"


def _adaptive_max(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result | None:
    r = tr.recs[info.rec]
    if len(r.tshape) != 4 or out.dim() != 4:
        return None
    h, w = r.tshape[2:]
    oh, ow = int(out.shape[-2]), int(out.shape[-1])
    if h % oh or w % ow:
        return None
    k = (h // oh, w // ow)
    return "maxpool", (), {"k": k, "s": k}, "chw", "maxpool"


def _upsample(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result | None:
    return _upsample_from(tr, info, out, getattr(m, "mode", "nearest"))


def _upsample_from(tr: _Tracer, info: _Info, out: Any, mode: str) -> _Result | None:
    r = tr.recs[info.rec]
    if len(r.tshape) != 4 or out.dim() != 4 or info.layout != "chw":
        return None
    (h, w), (oh, ow) = r.tshape[2:], tuple(out.shape[2:])
    scale = Fraction(oh, h)
    if Fraction(ow, w) != scale or mode not in ("nearest", "nearest-exact", "bilinear"):
        return None
    return "upsample", (), {"scale": scale, "mode": "bilinear" if mode == "bilinear" else "nearest"}, "chw", "upsample"


def _shuffle(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "shuffle", (), {"g": m.groups}, "chw", "shuffle"


def _lrn(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "lrn", (), {"size": m.size}, "chw", "lrn"


def _flatten_module(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "__moves__", (), {}, "chw", "flatten"


def _pixel_shuffle(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "reshape", (_to_shape(out.shape),), {}, "chw", "pixelshuffle"


def _softmax(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "softmax", (), {}, info.layout, "softmax"


def _opaque_module(tr: _Tracer, m: Any, info: _Info, out: Any) -> _Result:
    return "opaque", (), {}, "chw", type(m).__name__.lower()


def _leaf_table(nn: Any) -> list[tuple[type, Callable[..., Any]]]:
    table: list[tuple[type, Callable[..., Any]]] = [
        (nn.Conv2d, _conv), (nn.ConvTranspose2d, _conv_t), (nn.Linear, _linear),
        (nn.BatchNorm1d, _batchnorm), (nn.BatchNorm2d, _batchnorm), (nn.SyncBatchNorm, _batchnorm),
        (nn.LayerNorm, _layernorm), (nn.LocalResponseNorm, _lrn),
        (nn.MaxPool2d, _pool("maxpool")), (nn.AvgPool2d, _pool("avgpool")),
        (nn.AdaptiveAvgPool2d, _adaptive_avg), (nn.AdaptiveMaxPool2d, _adaptive_max),
        (nn.ReLU, _activation("relu")), (nn.ReLU6, _activation("relu6")), (nn.SiLU, _activation("silu")),
        (nn.GELU, _activation("gelu")), (nn.Hardswish, _activation("hswish")),
        (nn.Hardsigmoid, _activation("hsigmoid")), (nn.Sigmoid, _activation("sigmoid")),
        (nn.Tanh, _activation("tanh")), (nn.LeakyReLU, _leaky), (nn.ELU, _activation("elu")),
        (nn.Hardtanh, _hardtanh), (nn.Softmax, _softmax), (nn.Softmax2d, _softmax),
        (nn.Dropout, _dropout), (nn.Dropout1d, _dropout), (nn.Dropout2d, _dropout), (nn.AlphaDropout, _dropout),
        (nn.Identity, _same_layout("identity")), (nn.Flatten, _flatten_module), (nn.Unflatten, _flatten_module),
        (nn.Upsample, _upsample), (nn.ChannelShuffle, _shuffle),
        (nn.PixelShuffle, _pixel_shuffle), (nn.PixelUnshuffle, _pixel_shuffle),
    ]  # fmt: skip
    return table


# ----------------------------------------------------------------------------- torch calls


def _translate(
    tr: _Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, snap: dict[int, _Info]
) -> bool:
    """Record a call made in a forward; False to keep it as opaque."""
    torch = tr.torch
    x = args[0] if args else next(iter(kwargs.values()), None)
    x_info = snap.get(id(x)) if isinstance(x, torch.Tensor) else None
    is_out = isinstance(out, torch.Tensor)
    label = name.strip("_")

    if name in _PASSTHROUGH or (name == "__getitem__" and _full_index(args[1] if len(args) > 1 else None)):
        if x_info is not None and is_out:
            tr._set(out, x_info)
            return True
        return False
    if name in _VIEWS or name in _PERMUTES:
        if x_info is None or not is_out:
            return False
        info = x_info if all(m.kind in ("view", "permute") for m in x_info.moves) else tr._resolve(x, x_info)
        detail = _permutation(name, args, kwargs, x.dim()) if name in _PERMUTES else None
        kind = "permute" if name in _PERMUTES else "view"
        mv = _Move(kind, tuple(out.shape), detail, tr._scope(), label)
        tr._set(out, info._replace(moves=(*info.moves, mv)))
        return True
    if name == "__getitem__":
        return _getitem(tr, x, x_info, args[1], out)
    if name in _SPLITS:
        return _split(tr, name, x, x_info, args, kwargs, out)

    if name in ("cat", "concat", "concatenate"):
        return _cat(tr, args, kwargs, out, snap)
    if name in _DROPOUTS:
        if x_info is None or not is_out:
            return False
        p = _bind(args, kwargs, "p training inplace", {"p": 0.5})["p"]
        info = tr._resolve(x, x_info)
        return _simple(tr, "dropout", (), {"p": Fraction(str(p))}, info, out, label)
    if name in _ACTIVATIONS or name in ("hardtanh", "hardtanh_"):
        if x_info is None or not is_out or len(snap) != 1:
            return False
        info = tr._resolve(x, x_info)
        op = _ACTIVATIONS.get(name, "identity")
        if name.startswith("hardtanh"):
            b = _bind(args, kwargs, "min_val max_val inplace", {"min_val": -1.0, "max_val": 1.0})
            op = "relu6" if (b["min_val"], b["max_val"]) == (0.0, 6.0) else "identity"
        return _simple(tr, op, (), {}, info, out, label)
    norm = _BINARY.get(label)
    if norm is not None:
        return _binary(tr, norm, label, args, kwargs, out, snap)
    if name in _ELEMENTWISE:
        if x_info is None or not is_out or len(snap) != 1 or tuple(out.shape) != tuple(x.shape):
            return False
        info = tr._resolve(x, x_info)
        return _simple(tr, "identity", (), {}, info, out, label)
    if name == "max_pool2d_with_indices":
        name = "max_pool2d"
    if x_info is None or (not is_out and name not in ("max_pool2d", "adaptive_max_pool2d")):
        return False
    if len(snap) != 1:
        return False
    info = tr._resolve(x, x_info)
    first = out[0] if isinstance(out, (tuple, list)) else out
    if name == "mean":
        return _mean(tr, x, info, args, kwargs, first)
    if name in ("max_pool2d", "avg_pool2d"):
        if name == "max_pool2d":
            b = _bind(args, kwargs, "kernel_size stride padding dilation ceil_mode return_indices",
                      {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False})  # fmt: skip
            if _pair(b["dilation"]) != (1, 1):
                return False
        else:
            b = _bind(args, kwargs, "kernel_size stride padding ceil_mode count_include_pad divisor_override",
                      {"stride": None, "padding": 0, "ceil_mode": False})  # fmt: skip
        k = _pair(b["kernel_size"])
        s = k if b["stride"] in (None, (), []) else _pair(b["stride"])
        op = "maxpool" if name == "max_pool2d" else "avgpool"
        keys = {"k": k, "s": s, "p": _pair(b["padding"]), "ceil": bool(b["ceil_mode"])}
        return _simple(tr, op, (), keys, _chw_info(tr, info), first, label, extra=out)
    if name == "adaptive_avg_pool2d":
        res = _adaptive_avg(tr, None, info, first)
        return _simple(tr, res[0], res[1], res[2], _chw_info(tr, info), first, label)
    if name == "adaptive_max_pool2d":
        res2 = _adaptive_max(tr, None, info, first)
        return res2 is not None and _simple(tr, res2[0], res2[1], res2[2], _chw_info(tr, info), first, label, extra=out)
    if name in ("interpolate", "upsample", "upsample_nearest", "upsample_bilinear"):
        mode = _bind(args, kwargs, "size scale_factor mode align_corners", {"mode": "nearest"})["mode"]
        if name == "upsample_bilinear":
            mode = "bilinear"
        res3 = _upsample_from(tr, info, first, mode)
        return res3 is not None and _simple(tr, res3[0], res3[1], res3[2], info, first, label)
    if name in ("conv2d", "conv_transpose2d", "linear", "batch_norm", "layer_norm"):
        return _with_weights(tr, name, x, info, args, kwargs, first, snap, label)
    if name == "local_response_norm":
        size = _bind(args, kwargs, "size alpha beta k", {})["size"]
        return _simple(tr, "lrn", (), {"size": int(size)}, _chw_info(tr, info), first, label)
    if name in ("channel_shuffle", "native_channel_shuffle"):
        g = _bind(args, kwargs, "groups", {})["groups"]
        return _simple(tr, "shuffle", (), {"g": int(g)}, _chw_info(tr, info), first, label)
    if name in ("pixel_shuffle", "pixel_unshuffle"):
        return _simple(tr, "reshape", (_to_shape(first.shape),), {}, _chw_info(tr, info), first, label)
    return False


def _chw_info(tr: _Tracer, info: _Info) -> _Info:
    return info if info.layout == "chw" else _Info(tr._chw(info), "chw")


def _simple(
    tr: _Tracer,
    op: str,
    pos: tuple[Any, ...],
    keys: dict[str, Any],
    info: _Info,
    out: Any,
    label: str,
    *,
    claims: set[str] | None = None,
    extra: Any = None,
    layout: str | None = None,
) -> bool:
    """One layer reading one input; a tuple result (pooling with indices) gives its other outputs lazily."""
    layout = layout or (info.layout if op in _LAYOUT_FREE else "chw")
    i = tr._new(label, op, pos, keys, [info.rec], out.shape, layout, claims=claims or set())
    tr._set(out, _Info(i, layout))
    if isinstance(extra, (tuple, list)):
        for k, t in enumerate(extra[1:], start=1):
            if isinstance(t, tr.torch.Tensor):
                tr._set(t, _Info(i, layout, (_Move("output", tuple(t.shape), k, tr._scope(), f"{label}_out{k}"),)))
    return True


_LAYOUT_FREE = _words(
    "relu relu6 sigmoid tanh silu gelu hswish hsigmoid leakyrelu elu softmax identity dropout droppath layernorm "
    "scale add mul"
)


def _full_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(i is Ellipsis or (isinstance(i, slice) and i == slice(None)) for i in items)


def _permutation(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], rank: int) -> tuple[int, ...] | None:
    try:
        if name == "permute":
            dims = args[1:] if len(args) > 2 else args[1] if len(args) == 2 else kwargs["dims"]
            dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
            return tuple(_norm_dim(int(d), rank) for d in dims)
        if name in ("transpose", "transpose_", "swapaxes", "swapdims"):
            b = _bind(args, kwargs, "dim0 dim1", {})
            a, c = _norm_dim(int(b["dim0"]), rank), _norm_dim(int(b["dim1"]), rank)
            perm = list(range(rank))
            perm[a], perm[c] = perm[c], perm[a]
            return tuple(perm)
        if name == "t" and rank == 2:
            return (1, 0)
    except (KeyError, TypeError, ValueError, IndexError):
        return None
    return None


def _getitem(tr: _Tracer, x: Any, x_info: _Info | None, index: Any, out: Any) -> bool:
    """Channel slices (x[:, a:b], x[:, [0, 2]]), added axes (x[:, None]) and the batch (x[0]); else opaque."""
    torch = tr.torch
    if x_info is None or not isinstance(out, torch.Tensor):
        return False
    items = list(index) if isinstance(index, tuple) else [index]
    if any(isinstance(i, torch.Tensor) for i in items):
        return False
    rank = x.dim()
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if sum(1 for i in items if i is Ellipsis) > 1:
        return False
    full: list[Any] = []
    for i in items:
        if i is Ellipsis:
            full.extend([slice(None)] * (rank - used))
        else:
            full.append(i)
    dim = 0
    picks: list[tuple[int, Any]] = []
    added = False
    for i in full:
        if i is None:
            added = True
            continue
        if isinstance(i, slice):
            if i != slice(None):
                picks.append((dim, i))
        elif isinstance(i, (int, list)) and not isinstance(i, bool):
            picks.append((dim, i))
        else:
            return False
        dim += 1
    if not picks:
        info = x_info if all(m.kind in ("view", "permute") for m in x_info.moves) else tr._resolve(x, x_info)
        tr._set(out, info._replace(moves=(*info.moves, _Move("view", tuple(out.shape), None, tr._scope(), "view"))))
        return True
    if len(picks) != 1:
        return False
    d, pick = picks[0]
    info = tr._resolve(x, x_info)
    if d == 0 and isinstance(pick, int) and x.shape[0] == 1 and not added:  # x[0]: the batch of one
        tr._set(out, info._replace(moves=(_Move("view", tuple(out.shape), None, tr._scope(), "view"),)))
        return True
    if d != _channel_dim(info.layout, rank):
        return False
    n = x.shape[d]
    if isinstance(pick, slice):
        chosen = list(range(n))[pick]
    elif isinstance(pick, int):
        chosen = [pick % n]
    else:
        chosen = [int(v) % n for v in pick]
    if not chosen:
        return False
    selection = _selection(chosen)
    kept = list(x.shape)
    kept[d] = len(chosen)
    moves = [_Move("slice", tuple(kept), selection, tr._scope(), "slice")]
    if tuple(kept) != tuple(out.shape):
        moves.append(_Move("view", tuple(out.shape), None, tr._scope(), "view"))
    tr._set(out, info._replace(moves=tuple(moves)))
    return True


def _selection(chosen: list[int]) -> Any:
    if chosen == list(range(chosen[0], chosen[0] + len(chosen))):
        return f"{chosen[0]}:{chosen[0] + len(chosen)}"
    if len(set(chosen)) != len(chosen):
        raise ValueError("repeated channels")
    return tuple(chosen)


def _split(
    tr: _Tracer, name: str, x: Any, x_info: _Info | None, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any
) -> bool:
    torch = tr.torch
    if x_info is None or not isinstance(out, (tuple, list)) or name == "unbind":
        return False
    names = "split_size_or_sections dim" if name in ("split", "unsafe_split", "split_with_sizes") else "chunks dim"
    if name == "tensor_split":
        names = "indices_or_sections dim"
    dim = _bind(args, kwargs, names, {"dim": 0})["dim"]
    info = tr._resolve(x, x_info)
    d = _norm_dim(int(dim), x.dim())
    if d != _channel_dim(info.layout, x.dim()):
        return False
    start = 0
    for piece in out:
        if not isinstance(piece, torch.Tensor):
            return False
        size = int(piece.shape[d])
        if size:
            sel = f"{start}:{start + size}"
            tr._set(piece, info._replace(moves=(_Move("slice", tuple(piece.shape), sel, tr._scope(), name),)))
        start += size
    return True


def _cat(tr: _Tracer, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, snap: dict[int, _Info]) -> bool:
    torch = tr.torch
    seq = args[0] if args else kwargs.get("tensors")
    dim = args[1] if len(args) > 1 else kwargs.get("dim", kwargs.get("axis", 0))
    if not isinstance(seq, (tuple, list)) or not isinstance(out, torch.Tensor):
        return False
    if any(not isinstance(t, torch.Tensor) or id(t) not in snap for t in seq):
        return False
    infos = [tr._resolve(t, snap[id(t)]) for t in seq]
    if len(infos) == 1:
        tr._set(out, infos[0])
        return True
    layouts = {i.layout for i in infos}
    layout = layouts.pop() if len(layouts) == 1 else "chw"
    if layout == "chw":
        infos = [_chw_info(tr, i) for i in infos]
    if _norm_dim(int(dim), out.dim()) != _channel_dim(layout, out.dim()):
        return False
    i = tr._new("cat", "concat", (), {}, [info.rec for info in infos], out.shape, layout)
    tr._set(out, _Info(i, layout))
    return True


def _mean(tr: _Tracer, x: Any, info: _Info, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """`x.mean((2, 3))` (or `(1, 2)` channels last): global average pooling, then a flatten unless keepdim."""
    b = _bind(args, kwargs, "dim keepdim", {"dim": None, "keepdim": False})
    dims = b["dim"]
    if dims is None or x.dim() != 4:
        return False
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    spatial = [1, 2] if info.layout == "hwc" else [2, 3]
    if sorted(_norm_dim(int(d), 4) for d in dims) != spatial:
        return False
    c = int(x.shape[_channel_dim(info.layout, 4)])
    pooled = (1, 1, 1, c) if info.layout == "hwc" else (1, c, 1, 1)
    gap = tr._new("mean", "gap", (), {}, [info.rec], pooled, info.layout)
    if b["keepdim"]:
        tr._set(out, _Info(gap, info.layout))
        return True
    flat = tr._new("flatten", "flatten", (), {}, [gap], out.shape, "chw")
    tr._set(out, _Info(flat, "chw"))
    return True


def _per_channel(t: Any, x: Any, layout: str) -> bool:
    """`t` broadcasts one value per channel of `x` (a layer scale of shape (C, 1, 1), a bias of (C,) for a vector)."""
    if t.numel() != x.shape[_channel_dim(layout, x.dim())] or t.dim() > x.dim():
        return False
    shape = [1] * (x.dim() - t.dim()) + list(t.shape)
    d = _channel_dim(layout, x.dim())
    return all(s == 1 for i, s in enumerate(shape) if i != d) and shape[d] == x.shape[d]


def _binary(
    tr: _Tracer, kind: str, label: str, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any, snap: dict[int, _Info]
) -> bool:
    torch = tr.torch
    if len(args) < 2 and "other" not in kwargs:
        return False
    a = args[0]
    b = args[1] if len(args) > 1 else kwargs["other"]
    if not isinstance(out, torch.Tensor):
        return False
    ta = isinstance(a, torch.Tensor) and id(a) in snap
    tb = isinstance(b, torch.Tensor) and id(b) in snap
    if ta and tb:
        ia, ib = tr._resolve(a, snap[id(a)]), tr._resolve(b, snap[id(b)])
        layout = ia.layout if ia.layout == ib.layout else "chw"
        if layout == "chw":
            ia, ib = _chw_info(tr, ia), _chw_info(tr, ib)
        op = "add" if kind in ("add", "sub") else "mul"
        i = tr._new(label, op, (), {}, list(dict.fromkeys([ia.rec, ib.rec])), out.shape, layout)
        if ia.rec == ib.rec:  # x + x, x * x: one input twice
            tr.recs[i].inputs = [ia.rec, ib.rec]
        tr._set(out, _Info(i, layout))
        return True
    x, other = (a, b) if ta else (b, a)
    info = tr._resolve(x, snap[id(x)])
    if not isinstance(other, torch.Tensor) or (other.numel() == 1 and not tr._origins(other)):
        if tuple(out.shape) != tuple(x.shape):
            return False
        return _simple(tr, "identity", (), {}, info, out, label)
    found = tr._origins(other)
    if not found:
        if tuple(out.shape) != tuple(x.shape):
            return False
        return _simple(tr, "identity", (), {}, info, out, label)
    if tuple(out.shape) != tuple(x.shape) or not _per_channel(other, x, info.layout):
        return False
    if kind in ("mul", "div"):
        return _simple(tr, "scale", (), {}, info, out, label, claims=set(found))
    # A learnt shift after a layer without its bias: that layer's bias (a scale's shift, a conv's own bias).
    rec = tr.recs[info.rec]
    fusable = rec.op in ("conv", "dwconv", "convT", "fc", "scale") and not rec.keys.get("bias")
    if not fusable or info.rec in tr.consumed or snap[id(x)].moves:
        return False
    rec.keys = {**rec.keys, "bias": True}
    mine = {k for k in found if k not in tr.claimed}
    tr.claimed |= mine
    rec.claims |= mine
    tr._set(out, _Info(info.rec, info.layout))
    return True


def _with_weights(
    tr: _Tracer,
    name: str,
    x: Any,
    info: _Info,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    out: Any,
    snap: dict[int, _Info],
    label: str,
) -> bool:
    """F.conv2d(x, self.weight, ...) and the like, written out in a custom module's forward."""
    torch = tr.torch
    claims = tr._untracked_claims((args[1:], kwargs), snap)
    if name == "conv2d":
        b = _bind(args, kwargs, "weight bias stride padding dilation groups",
                  {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})  # fmt: skip
        w = b["weight"]
        g = int(b["groups"])
        c_in = int(x.shape[1])
        pad = b["padding"]
        keys = {"k": _pair(tuple(w.shape[2:])), "s": _pair(b["stride"]), "d": _pair(b["dilation"]),
                "p": "same" if pad == "same" else (0, 0) if pad == "valid" else _pair(pad),
                "bias": b["bias"] is not None}  # fmt: skip
        c_out = int(w.shape[0])
        if g > 1 and g == c_in and c_out % c_in == 0:
            if c_out != c_in:
                keys["m"] = c_out // c_in
            return _simple(tr, "dwconv", (), keys, _chw_info(tr, info), out, label, claims=claims)
        if g > 1:
            keys["g"] = g
        return _simple(tr, "conv", (c_out,), keys, _chw_info(tr, info), out, label, claims=claims)
    if name == "conv_transpose2d":
        defaults = {"bias": None, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1}
        b = _bind(args, kwargs, "weight bias stride padding output_padding groups dilation", defaults)
        w = b["weight"]
        g = int(b["groups"])
        keys = {"k": _pair(tuple(w.shape[2:])), "s": _pair(b["stride"]), "p": _pair(b["padding"]),
                "op": _pair(b["output_padding"]), "d": _pair(b["dilation"]), "g": g,
                "bias": b["bias"] is not None}  # fmt: skip
        return _simple(tr, "convT", (int(w.shape[1]) * g,), keys, _chw_info(tr, info), out, label, claims=claims)
    if name == "linear":
        b = _bind(args, kwargs, "weight bias", {"bias": None})
        w = b["weight"]
        if not isinstance(w, torch.Tensor) or w.dim() != 2:
            return False
        bias = b["bias"] is not None
        if info.layout == "hwc" and x.dim() == 4:
            keys = {"k": 1, "bias": bias}
            return _simple(tr, "conv", (int(w.shape[0]),), keys, info, out, label, claims=claims, layout="hwc")
        return _simple(tr, "fc", (int(w.shape[0]),), {"bias": bias}, info, out, label, claims=claims)
    if name == "batch_norm":
        return _simple(tr, "bn", (), {}, _chw_info(tr, info), out, label, claims=claims)
    if name == "layer_norm":
        b = _bind(args, kwargs, "normalized_shape weight bias eps", {})
        shape = tuple(b["normalized_shape"]) if isinstance(b["normalized_shape"], (tuple, list)) else (0,)
        if len(shape) != 1 or int(shape[0]) != int(x.shape[_channel_dim(info.layout, x.dim())]):
            return False
        if info.layout == "chw" and x.dim() == 4:
            return False  # over the width of a channels-first map: not cnncalc's layernorm
        return _simple(tr, "layernorm", (), {}, info, out, label, claims=claims)
    return False


# ----------------------------------------------------------------------------- after the trace


def _settle_names(recs: list[_Rec], root: Any, keep: bool = False) -> None:
    """Unique names valid in the text spec; the first of equal names keeps it, later ones get _2, _3..."""
    prefix = re.sub(r"\W", "", type(root).__name__).lower() or "module"
    taken: set[str] = set()
    counts: dict[str, int] = {}
    for r in recs:
        if keep and r.name:
            taken.add(r.name)
    for r in recs:
        if keep and r.name:
            continue
        base = re.sub(r"[^A-Za-z0-9_.\-]", "_", r.base) or r.op
        if not NAME.match(base):
            base = f"{prefix}.{base}"
        name = base
        n = counts.get(base, 1)
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        counts[base] = n
        taken.add(name)
        r.name = name


def _with_training_only(
    torch: Any,
    module: Any,
    keys: _Keys,
    graph_name: str,
    inputs: list[tuple[str, tuple[int, ...]]],
    by_keyword: bool,
    recs: list[_Rec],
) -> list[_Rec]:
    """Trace again in train mode: layers only it runs (auxiliary classifiers) join as training-only layers."""
    second = _Tracer(torch, module, keys, training=True, graph_name=graph_name)
    try:
        second.run(inputs, by_keyword)
    except Exception:  # train mode is not required to work (BatchNorm1d on a batch of one refuses it)
        return recs
    _settle_names(second.recs, module)
    index = {r.name: i for i, r in enumerate(recs)}
    claimed = set().union(*(r.claims for r in recs))
    new_names = {r.name for r in second.recs if r.name not in index}
    if not new_names:
        return recs
    merged: list[_Rec] = []
    placed = 0
    position: dict[str, int] = {}

    def place(r: _Rec) -> None:
        position[r.name] = len(merged)
        merged.append(r)

    for r in second.recs:
        if r.name in index:
            while placed <= index[r.name]:
                place(recs[placed])
                placed += 1
            continue
        r.inputs = [second.recs[i].name for i in r.inputs]  # type: ignore[misc]  # names for now
        r.claims = {k for k in r.claims if k not in claimed}
        r.aux = True
        place(r)
    while placed < len(recs):
        place(recs[placed])
        placed += 1
    for r in merged:
        if r.name in new_names:
            r.inputs = [position[n] for n in r.inputs]  # type: ignore[index]
        else:
            r.inputs = [position[recs[i].name] for i in r.inputs]
    return merged


def _unused_holders(unused: list[str], keys: _Keys, recs: list[_Rec], root: Any) -> list[_Rec]:
    """Parameters no traced layer used: one opaque training-only layer per module that owns them."""
    modules = dict(root.named_modules())
    groups: dict[str, list[str]] = {}
    for key in unused:
        owner = key.rpartition(".")[0]
        parts = owner.split(".") if owner else []
        # The outermost module all of whose parameters went unused names the group (an auxiliary head).
        chosen = owner
        for depth in range(1, len(parts) + 1):
            path = ".".join(parts[:depth])
            m = modules.get(path)
            if m is None:
                continue
            own = [k for k, _ in m.named_parameters(prefix=path)] + [k for k, _ in m.named_buffers(prefix=path)]
            own = [k for k in own if keys.sizes.get(k, (0, True))[0]]  # not BatchNorm's step counter
            if own and all(k in unused for k in own):
                chosen = path
                break
        groups.setdefault(chosen, []).append(key)
    first = next(i for i, r in enumerate(recs) if r.op == "input")
    out = []
    for path, group in groups.items():
        m = modules.get(path, root)
        label = f"unused:{_type_label(type(m))}"
        base = path or "unused"
        r = recs[first]
        out.append(_Rec(base, "opaque", (), {}, [first], r.shape, r.tshape, "chw", label, set(group), aux=True,
                        note="unused"))  # fmt: skip
    return out


def _build(graph_name: str, recs: list[_Rec], keys: _Keys) -> Graph:
    """The graph, each layer checked against cnncalc's own op; those that differ become opaque."""
    for r in recs:
        if r.op not in ("input", "opaque"):
            problem = _check(r, recs, keys)
            if problem:
                r.note, r.op = problem, "opaque"
    b = Builder(graph_name)
    late: dict[str, dict[str, Any]] = {}
    for r in recs:
        if r.op == "input":
            b.add("input", r.shape, name=r.name)
        elif r.op == "opaque":
            params, buffers = keys.count(r.claims)
            b.add("opaque", r.shape, name=r.name, inputs=[recs[i].name for i in r.inputs], aux=r.aux,
                  params=params, buffers=buffers, what=r.what)  # fmt: skip
        else:
            # `Builder.add(op, ...)` cannot take a key named `op` (convT's output padding): it is set afterwards.
            own = {k: v for k, v in r.keys.items() if k != "op"}
            if "op" in r.keys:
                late[r.name] = {"op": r.keys["op"]}
            b.add(r.op, *r.pos, name=r.name, inputs=[recs[i].name for i in r.inputs], aux=r.aux, **own)
    graph = b.build()
    if late:
        nodes = []
        for node in graph.nodes:
            if node.name in late:
                op = get_op(node.op)
                extra = {}
                for key, value in late[node.name].items():
                    param = op.param(key)
                    assert param is not None
                    extra[key] = param.read(value)
                node = replace(node, args={**node.args, **extra})
            nodes.append(node)
        graph = replace(graph, nodes=nodes)
    return graph


_CHECKED: dict[tuple[Any, ...], tuple[Shape, int, int]] = {}


def _calc(r: _Rec, recs: list[_Rec]) -> tuple[Shape, int, int] | str:
    """cnncalc's output shape, params and buffers for a record, or why it refuses it; remembered per layer kind."""
    try:
        key: tuple[Any, ...] | None = (r.op, r.pos, tuple(r.keys.items()), *(recs[i].shape for i in r.inputs))
        hash(key)
    except TypeError:
        key = None
    if key is not None and key in _CHECKED:
        return _CHECKED[key]
    try:
        op = get_op(r.op)
        args = op.complete(read_args(op, r.pos, r.keys.items(), True))
        names = tuple(recs[i].name for i in r.inputs)
        count = len(r.inputs)
        if count < op.min_inputs or (op.max_inputs is not None and count > op.max_inputs):
            return f"{r.op} takes {op.min_inputs}..{op.max_inputs or 'any'} inputs, not {count}"
        calc = op.calc(args, [recs[i].shape for i in r.inputs], Context(True, names))
        found: tuple[Shape, int, int] | str = (calc.output, calc.weights + calc.biases, calc.buffers)
    except CnnCalcError as exc:
        found = f"cnncalc's {r.op} refuses it: {exc}"
    if key is not None and not isinstance(found, str):  # refusals name the layers: not shared
        if len(_CHECKED) > 20_000:
            _CHECKED.clear()
        _CHECKED[key] = found
    return found


def _check(r: _Rec, recs: list[_Rec], keys: _Keys) -> str:
    """Why cnncalc's op would not give what PyTorch gave for this layer ("" if it does)."""
    found = _calc(r, recs)
    if isinstance(found, str):
        return found
    output, own_params, own_buffers = found
    params, buffers = keys.count(r.claims)
    if output != r.shape:
        return f"cnncalc's {r.op} gives {output.text('chw')} (C,H,W), PyTorch {r.shape.text('chw')}"
    if own_params != params:
        if params == 0 and own_params:
            return "its parameters are shared with an earlier layer, where they are counted"
        return f"cnncalc's {r.op} has {own_params:,} params, PyTorch {params:,}"
    if own_buffers != buffers:
        return f"cnncalc's {r.op} has {own_buffers:,} buffers, PyTorch {buffers:,}"
    return ""


def _opaque_note(r: _Rec, keys: _Keys) -> str:
    params, buffers = keys.count(r.claims)
    counted = f"{params:,} params" + (f" and {buffers:,} buffers" if buffers else "")
    if r.note == "unused":
        return (
            f"{r.name}: {counted} of {r.what.removeprefix('unused:')} were not used by the traced forward; "
            "they are counted in an opaque training-only layer"
        )
    if r.note:
        return f"{r.name}: {r.what} kept as an opaque layer ({counted}, MACs unknown): {r.note}"
    return f"{r.name}: cnncalc has no op for {r.what}; kept as an opaque layer ({counted}, MACs unknown)"
