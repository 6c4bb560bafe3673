"""The recording half of the PyTorch importer: tensors followed through a module run on the meta device.

Every tensor the module makes from its inputs stands for a record (a future layer) seen through a layout (`Lay`):
which torch axes make the record's lead axes, window axes and channels, the other axes having size 1. So one record
may be seen as (B, C, H, W) by a convolution and as (B, H, W, C) after a permute, without a layer in between.

Views, permutes, slices and broadcasts are pending until something consumes the tensor. A pending tensor knows its
axes as products of pieces (`Atom`s) of its base's axes, which says whether it is only the base seen another way (no
layer), the base with its channels split into heads (attention reads it as it is), a slice of the base's channels (a
`slice` layer, even through the views of a qkv split), a broadcast (an element-wise op reads the base), or something
that needs a `reshape`, `permute`, `flatten`, `shuffle` or `gather` layer in the layout its consumer asks for.
"""

from __future__ import annotations

import contextlib
import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import CnnCalcError
from ..ir import Shape

# ----------------------------------------------------------------------------- layouts


class Lay(NamedTuple):
    """Which torch axes of one tensor make which axes of its Shape; the axes left out all have size 1 (lead axes
    of size 1 are left out, but where they keep a broadcast aligned)."""

    lead: tuple[int, ...]
    sizes: tuple[int, ...]
    c: int | None  # None: no channel axis (one channel)


def _size(tshape: tuple[int, ...], d: int | None) -> int:
    return tshape[d] if d is not None and 0 <= d < len(tshape) else 1


def shape_of(tshape: tuple[int, ...], lay: Lay) -> Shape:
    lead = tuple(tshape[d] for d in lay.lead if 0 <= d < len(tshape))
    return Shape.of(_size(tshape, lay.c), tuple(_size(tshape, d) for d in lay.sizes), lead)


def written(tshape: tuple[int, ...], lay: Lay) -> tuple[int | None, ...]:
    """The torch axes behind the Shape's axes in its written order: lead, window axes, channels."""
    lead = tuple(d for d in lay.lead if 0 <= d < len(tshape))
    return (*lead, *lay.sizes, lay.c)


def _lead(tshape: tuple[int, ...], dims: range | list[int]) -> tuple[int, ...]:
    return tuple(d for d in dims if tshape[d] != 1)


def lay_first(tshape: tuple[int, ...], k: int) -> Lay:
    """(*lead, C, *k window axes): what convolutions, pools and batch norm read."""
    r = len(tshape)
    c = r - 1 - k
    if c < 0:
        return Lay((), tuple(range(r)), None)
    return Lay(_lead(tshape, range(c)), tuple(range(c + 1, r)), c)


def lay_last(tshape: tuple[int, ...], k: int) -> Lay:
    """(*lead, *k window axes, C): tokens (k=1), channels-last maps, the two axes of a matrix."""
    r = len(tshape)
    if r == 0:
        return Lay((), (), None)
    k = min(k, r - 1)
    return Lay(_lead(tshape, range(r - 1 - k)), tuple(range(r - 1 - k, r - 1)), r - 1)


def default_lay(tshape: tuple[int, ...], c_last: bool = False) -> Lay:
    """A layout for a tensor nothing else speaks for: dim 0 the batch, channels second (or last)."""
    r = len(tshape)
    if r == 0:
        return Lay((), (), None)
    if r == 1:
        return Lay((), (), 0)
    if r == 2:
        return Lay(_lead(tshape, [0]), (), 1)
    k = min(r - 2, 3)
    if not c_last:
        return lay_first(tshape, k)
    # tokens: the window axes are the last axes of more than one position (a sequence-first (L, 1, C) too)
    sizes = [d for d in range(r - 1) if tshape[d] != 1][-k:]
    if not sizes:
        return lay_last(tshape, k)
    return Lay(tuple(d for d in range(r - 1) if d not in sizes and tshape[d] != 1), tuple(sizes), r - 1)


def param_lay(tshape: tuple[int, ...]) -> Lay:
    """A free tensor's layout: every axis a window axis but the last (197x768, 169x3), a leading 1 dropped."""
    r = len(tshape)
    if r <= 1:
        return default_lay(tshape)
    k = min(r - 2 if tshape[0] == 1 else r - 1, 3)
    return lay_last(tshape, k)


# ----------------------------------------------------------------------------- atoms: axes as pieces of a base's


Atom = tuple[int, int, int]  # (base axis, stride within it, size); base axis -1: a broadcast, no values of its own
Group = tuple[Atom, ...]  # one axis: its atoms, outer first
Dims = tuple[Group, ...]


def ident(tshape: tuple[int, ...]) -> Dims:
    return tuple(((d, 1, n),) if n != 1 else () for d, n in enumerate(tshape))


def _tidy(group: list[Atom]) -> Group:
    """Neighbouring atoms of one base axis that are contiguous make one atom."""
    out: list[Atom] = []
    for a in group:
        if out and out[-1][0] == a[0] and out[-1][1] == a[1] * a[2]:
            b, _, n = out.pop()
            out.append((b, a[1], n * a[2]))
        else:
            out.append(a)
    return tuple(out)


def view_dims(dims: Dims, new: tuple[int, ...]) -> Dims | None:
    """The atoms of a reshape to `new` (row-major, as PyTorch reads it); None if an axis is not whole atoms."""
    flat = [a for g in dims for a in g]
    out: list[Group] = []
    i = 0
    cur: Atom | None = None
    for n in new:
        group: list[Atom] = []
        need = n
        while need > 1:
            if cur is None:
                if i == len(flat):
                    return None
                cur = flat[i]
                i += 1
            b, s, size = cur
            if size <= need:
                if need % size:
                    return None
                group.append(cur)
                need //= size
                cur = None
            else:
                if size % need:
                    return None
                inner = size // need
                group.append((b, s * inner, need))
                cur = (b, s, inner)
                need = 1
        out.append(_tidy(group))
    if cur is not None or i != len(flat):
        return None
    return tuple(out)


def axis_atoms(dims: Dims, tshape: tuple[int, ...], lay: Lay) -> tuple[Group, ...]:
    return tuple(() if d is None or not 0 <= d < len(dims) else dims[d] for d in written(tshape, lay))


def roles(dims: Dims, tshape: tuple[int, ...], lay: Lay) -> tuple[tuple[Group, ...], tuple[Group, ...], Group]:
    """The atoms of a tensor's lead axes, window axes and channels: equal roles, the same Shape read the same way."""

    def atoms(d: int | None) -> Group:
        return () if d is None or not 0 <= d < len(dims) else dims[d]

    return tuple(atoms(d) for d in lay.lead), tuple(atoms(d) for d in lay.sizes), atoms(lay.c)


def natural(dims: Dims, tshape: tuple[int, ...], base: tuple[int, ...], lay0: Lay) -> Lay | None:
    """The layout in which a tensor made of the base's axes is the base itself (a permute to channels last and
    back, a batch moved, axes of size 1 added), or None."""
    where = {g: j for j, g in enumerate(dims) if g}
    if len(where) != sum(1 for g in dims if g):
        return None
    spare = [j for j, g in enumerate(dims) if not g and (j or len(dims) == 1)]  # never the batch's place
    used: set[int] = set()

    def find(d: int | None) -> int | None:
        if d is None:
            return None
        g = ((d, 1, base[d]),) if base[d] != 1 else ()
        if not g:
            return spare.pop(0) if spare else -1
        j = where.get(g)
        if j is None:
            return -1
        used.add(j)
        return j

    lead = tuple(find(d) for d in lay0.lead if base[d] != 1)
    sizes = tuple(find(d) for d in lay0.sizes)
    c = find(lay0.c) if lay0.c is not None else None
    if -1 in (*lead, *sizes, c) or len(used) != len(where):
        return None
    return Lay(lead, sizes, c)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- records and what tensors stand for


@dataclass(eq=False, slots=True)
class Rec:
    """One layer as recorded; it becomes a graph node once names are settled."""

    base: str  # its name before duplicates get a suffix
    op: str
    pos: tuple[Any, ...]
    keys: dict[str, Any]
    inputs: list[int]  # indexes of the records it reads
    tshape: tuple[int, ...]  # the torch shape it was recorded at (with the batch)
    lay: Lay
    shape: Shape  # cnncalc's shape: shape_of(tshape, lay)
    what: str  # the PyTorch module or function, for an opaque layer
    claims: set[str]  # parameter and buffer keys this layer accounts for
    scope: str = ""
    aux: bool = False
    name: str = ""
    note: str = ""  # why it is opaque (for the warning)
    data: bool = True  # made from the module's inputs (not from parameters alone)


class Cut(NamedTuple):
    """A slice of a pending tensor's base, made into a `slice` layer when the tensor is consumed."""

    axis: int  # the slice op's axis, in the written order (-1: channels)
    sel: Any  # "a:b" or a tuple of picks
    shape: tuple[int, ...]  # the base's torch shape after it
    label: str
    scope: str


class Pend(NamedTuple):
    """Views, permutes and slices of a record not yet made into layers."""

    base: tuple[int, ...]  # the base's torch shape, after the cuts
    cuts: tuple[Cut, ...]
    dims: Dims | None  # the tensor's axes as atoms of the base's; None when a view cannot be followed
    shape: tuple[int, ...]
    label: str
    scope: str


class Info(NamedTuple):
    """What a tensor stands for: a record seen through a layout, perhaps through pending moves; or another output of
    a record, made into an opaque layer if something uses it."""

    rec: int
    lay: Lay
    pend: Pend | None = None
    extra: tuple[int, tuple[int, ...], str, str] | None = None  # (output index, shape, label, scope)


def start_pend(info: Info, tshape: tuple[int, ...]) -> Pend:
    if info.pend is not None:
        return info.pend
    return Pend(tshape, (), ident(tshape), tshape, "", "")


def settle(info: Info) -> Info:
    """A pending tensor that turned out to be its base again, as a plain one."""
    p = info.pend
    if p is not None and not p.cuts and p.shape == p.base and p.dims == ident(p.base):
        return Info(info.rec, info.lay)
    return info


def moved(info: Info, tshape: tuple[int, ...], new: tuple[int, ...], perm: tuple[int, ...] | None,
          label: str, scope: str) -> Info:  # fmt: skip
    """A view (perm None) or permute of a tensor."""
    p = start_pend(info, tshape)
    dims = p.dims
    if dims is not None:
        dims = tuple(dims[i] for i in perm) if perm is not None else view_dims(dims, new)
    return settle(info._replace(pend=p._replace(dims=dims, shape=new, label=label, scope=scope)))


def cut(info: Info, tshape: tuple[int, ...], dim: int, picks: range | list[int], keep: bool, new: tuple[int, ...],
        label: str, scope: str, whole: bool = False) -> Info | None:  # fmt: skip
    """Positions `picks` of axis `dim` (the axis dropped unless `keep`) as a slice of the base; None if the axis is
    not a whole outer piece of one of the base's written axes (the caller makes the tensor a layer first)."""
    p = start_pend(info, tshape)
    if p.dims is None:
        return None
    g = p.dims[dim]
    if not (isinstance(picks, range) and picks.step == 1):
        picks = list(picks)
    if not g:  # an axis of size 1
        if not picks:
            return None
        dims = p.dims if keep else p.dims[:dim] + p.dims[dim + 1 :]
        return settle(info._replace(pend=p._replace(dims=dims, shape=new, label=label, scope=scope)))
    if len(g) != 1:
        return None
    b, s, n = g[0]
    # A run of positions (most slices, thousands of tokens long) is checked by its ends, any other pick one by one.
    run = isinstance(picks, range) or picks == list(range(picks[0], picks[0] + len(picks))) if picks else False
    if run:
        valid = picks[0] >= 0 and picks[-1] < n
    else:
        valid = bool(picks) and len(set(picks)) == len(picks) and min(picks) >= 0 and max(picks) < n
    if b < 0 or s * n != p.base[b] or not valid:
        return None
    if b == info.lay.c:
        axis = -1
    elif b in info.lay.sizes:
        axis = info.lay.sizes.index(b)
    else:
        return None  # a lead axis: cnncalc slices written axes only
    count = len(picks)
    if count == n and run and not whole:
        dims = p.dims if keep else p.dims[:dim] + p.dims[dim + 1 :]
        return settle(info._replace(pend=p._replace(dims=dims, shape=new, label=label, scope=scope)))
    if run:
        sel: Any = f"{picks[0] * s}:{(picks[0] + count) * s}"
    else:
        sel = tuple(i * s + r for i in picks for r in range(s))
    base = list(p.base)
    base[b] = count * s
    piece = ((b, s, count),) if count > 1 else ()
    dims = p.dims[:dim] + ((piece,) if keep else ()) + p.dims[dim + 1 :]
    cuts = (*p.cuts, Cut(axis, sel, tuple(base), label, scope))
    return info._replace(pend=Pend(tuple(base), cuts, dims, new, label, scope))


# ----------------------------------------------------------------------------- labels


def one_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


_TYPE_LABELS: dict[type, str] = {}  # one per class: it is asked for every layer


def type_label(cls: type) -> str:
    label = _TYPE_LABELS.get(cls)
    if label is None:
        module = cls.__module__
        if module.startswith("torch.nn.modules."):
            module = "torch.nn"
        label = _TYPE_LABELS[cls] = re.sub(r"[\s#]", "_", f"{module}.{cls.__qualname__}")
    return label


_FUNC_LABELS: dict[Any, str] = {}  # one per function: it is asked for every call recorded


def func_label(func: Any) -> str:
    try:
        label = _FUNC_LABELS.get(func)
    except TypeError:  # not hashable
        return _new_func_label(func)
    if label is None:
        label = _new_func_label(func)
        if len(_FUNC_LABELS) < 10_000:
            _FUNC_LABELS[func] = label
    return label


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


def tensors_in(obj: Any, tensor: type, depth: int = 0) -> list[Any]:
    """The tensors in `obj` and in the lists, tuples and mappings it holds (three levels deep), in order."""
    found: list[Any] = []
    _collect(obj, tensor, depth, found)
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


class ImporterBugError(RuntimeError):
    """The importer itself failed (not the user's module): a bug, reported with its traceback."""


# ----------------------------------------------------------------------------- parameters and buffers


class Keys:
    """Every parameter and buffer of the module, by its first name; meta stand-ins for the trace."""

    def __init__(self, torch: Any, root: Any) -> None:
        self.sizes: dict[str, tuple[int, bool]] = {}  # key -> (count, is a parameter)
        self.meta: dict[str, Any] = {}
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
        self.const: set[str] = set()  # buffers that are fixed tables, not statistics: not counted

    def count(self, claims: set[str] | frozenset[str]) -> tuple[int, int]:
        params = sum(self.sizes[k][0] for k in claims if self.sizes[k][1])
        buffers = sum(self.sizes[k][0] for k in claims if not self.sizes[k][1] and k not in self.const)
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
    plain = _plain(torch)
    strided, contiguous, empty, empty_like = torch.strided, torch.contiguous_format, torch.empty, torch.empty_like

    def meta_like(t: Any) -> Any:
        if t.__class__ in plain and t.layout is strided and not t.is_quantized:
            return empty_like(t, device=device, memory_format=contiguous)
        return empty(t.shape, dtype=t.dtype, device=device)

    return meta_like


@contextlib.contextmanager
def meta_tensors(torch: Any, root: Any, modules: list[Any], keys: Keys, paths: dict[int, str]) -> Iterator[None]:
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


# ----------------------------------------------------------------------------- hooks and the function mode


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


_MODE_CLASS: list[type] = []


def _mode_class(torch: Any) -> type:
    if not _MODE_CLASS:

        class Mode(torch.overrides.TorchFunctionMode):  # type: ignore[misc, name-defined]
            def __init__(self, tracer: Tracer) -> None:
                super().__init__()
                self.tracer = tracer

            def __torch_function__(
                self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
            ) -> Any:
                return self.tracer.on_call(func, args, kwargs or {})

        _MODE_CLASS.append(Mode)
    return _MODE_CLASS[0]


@dataclass
class Frame:
    module: Any
    path: str
    kind: str  # "leaf", "scope", "inner" (inside a leaf)
    start: int = 0  # records made before this call
    inputs: list[tuple[Any, Info | None]] = field(default_factory=list)
    handler: Callable[..., Any] | None = None


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Calls that return no tensor worth following.
IGNORE = words(
    "__get__ __set__ size dim numel __len__ __repr__ __format__ __bool__ item tolist is_contiguous data_ptr "
    "element_size stride storage_offset __hash__ __index__ __int__ __float__ ndimension nelement get_device "
    "is_floating_point is_complex __array__ __iter__ __contains__ __reduce_ex__ __deepcopy__ dtype device "
    "is_nonzero equal allclose"
)
# Calls whose results hold no values of their tensor arguments, only their shapes: constants.
CONSTANT = words(
    "zeros_like ones_like empty_like full_like rand_like randn_like randint_like new_zeros new_ones new_empty "
    "new_full new_tensor"
)
# Shape-keeping functions, run as `empty_like` on the meta device (PyTorch's meta batch norm and activations are
# Python decompositions, milliseconds a call): name -> position of their `inplace` argument (-1: none).
SHAPE_KEEPING = {
    "batch_norm": -1, "layer_norm": -1, "group_norm": -1, "instance_norm": -1, "local_response_norm": -1,
    "relu": 1, "relu_": -1, "relu6": 1, "silu": 1, "gelu": -1, "hardswish": 1, "hardsigmoid": 1, "sigmoid": -1,
    "sigmoid_": -1, "tanh": -1, "tanh_": -1, "leaky_relu": 2, "leaky_relu_": -1, "elu": 2, "elu_": -1,
    "hardtanh": 3, "hardtanh_": -1, "softmax": -1, "log_softmax": -1, "dropout": 3, "dropout1d": 3,
    "dropout2d": 3, "dropout3d": 3, "alpha_dropout": 3, "feature_alpha_dropout": 3, "mish": 1, "selu": 1,
    "relu6_": -1, "silu_": -1, "hardswish_": -1, "hardsigmoid_": -1, "normalize": -1, "exp": -1, "exp_": -1,
    "rms_norm": -1, "clamp": -1, "clamp_": -1, "clip": -1, "clip_": -1, "clamp_min": -1, "clamp_max": -1,
}  # fmt: skip
# Of those, the ones whose bounds may be tensors that broadcast the input to a larger shape.
_BOUNDED = words("clamp clamp_ clip clip_ clamp_min clamp_max")


def writes_over_input(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether a shape-keeping call writes its result over its input: `relu_`, or `inplace=True` by keyword or at
    its place among the arguments (`F.hardtanh(x, 0, 6, True)`)."""
    if name.endswith("_") and not name.startswith("_"):
        return True
    spot = SHAPE_KEEPING.get(name, -1)
    return kwargs.get("inplace") is True or (0 < spot < len(args) and args[spot] is True)


# Element-wise functions of one float tensor (PyTorch's meta versions are Python decompositions).
_UNARY = words(
    "neg __neg__ negative abs __abs__ sqrt rsqrt sin cos reciprocal square erf log log1p log2 exp2 sign floor ceil "
    "trunc sinh cosh atan"
)
_BINARY_NAMES = words(
    "add radd iadd sub rsub isub subtract mul rmul imul multiply div truediv rtruediv itruediv divide true_divide rdiv"
)
DATA_DEPENDENT = words(
    "nonzero argwhere masked_select unique unique_consecutive nms batched_nms item tolist __bool__ bincount "
    "histc repeat_interleave"
)
_FIRST_ONLY = words("to type_as view_as reshape_as expand_as broadcast_to new_zeros new_ones new_empty new_full")
MAC_CALLS = words(
    "linear conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d matmul __matmul__ __rmatmul__ "
    "mm bmm baddbmm addmm einsum scaled_dot_product_attention multi_head_attention_forward"
)


# ----------------------------------------------------------------------------- the tracer


class Tracer:
    def __init__(self, torch: Any, root: Any, keys: Keys, *, training: bool, graph_name: str) -> None:
        self.torch = torch
        self.nn = torch.nn
        self.tensor = torch.Tensor
        self.root = root
        self.keys = keys
        self.training = training
        self.graph_name = graph_name
        self.recs: list[Rec] = []
        self.info: dict[int, tuple[Any, Info]] = {}
        self.origin: dict[int, tuple[Any, frozenset[str]]] = {}
        self.stack: list[Frame] = []
        self.leaf_depth = 0
        self.busy = False
        self.claimed: set[str] = set()
        self.consumed: set[int] = set()
        self.made: dict[tuple[Any, ...], tuple[Info, tuple[int, Lay]]] = {}  # resolutions, by (id(info), ...)
        self.params: dict[frozenset[str], int] = {}  # param records, by the keys they hold
        self.calling: tuple[str, Any] | None = None  # the call being run, for error messages
        self.journal: list[tuple[int, Any]] | None = None  # what `set` replaced, while a translation may give up
        self.shared: dict[str, list[int]] = {}  # layers whose parameters are counted at an earlier one, by module
        self.no_function = torch._C.DisableTorchFunction
        self.memo: dict[tuple[Any, ...], Any] = {}  # costly calls' outputs by signature: see `_memo_run`
        named = list(root.named_modules())
        self.meta_device = torch.device("meta")
        self.modules = [m for _, m in named]
        self.paths = {id(m): path for path, m in named}

    # -- running

    def run(self, inputs: list[tuple[str, tuple[int, ...]]], by_keyword: bool, dtype: Any = None) -> None:
        torch = self.torch
        for key, t in self.keys.meta.items():
            self.origin[id(t)] = (t, frozenset((key,)))
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        for name, shape in inputs:
            t = torch.empty((1, *shape), device="meta", dtype=dtype)
            lay = default_lay(tuple(t.shape))
            i = self.new(name, "input", (shape_of(tuple(t.shape), lay),), {}, [], t.shape, lay, scope="", base=name)
            self.set(t, Info(i, lay))
            if by_keyword:
                kwargs[name] = t
            else:
                args.append(t)
        root = self.root
        modules = self.modules
        flags = [(m, m.training) for m in modules]
        handles: list[Any] = []
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
                with torch.no_grad(), mode, meta_tensors(torch, root, modules, self.keys, self.paths):
                    out = root(*args, **kwargs)
            except (ImporterBugError, CnnCalcError):
                raise
            except Exception as exc:
                raise CnnCalcError(self._failure(exc)) from None
            self.busy = True
            self.guard(self._finish_outputs, out)
        finally:
            for h in handles:
                h.remove()
            for m, flag in flags:
                if m.training is not flag:
                    m.training = flag

    def _failure(self, exc: Exception) -> str:
        """One line: where the trace failed, and why, naming the call when it is known."""
        where = self.where()
        head = f"{self.graph_name}: tracing failed {where}"
        if self.calling is None:
            return f"{head}: {one_line(exc)}"
        name, func = self.calling
        # inside a stock layer the module names the op; elsewhere the call does
        what = "" if self.leaf_depth else f"{func_label(func)}: "
        text = str(exc)
        if name in DATA_DEPENDENT or isinstance(exc, NotImplementedError) or "meta" in text.lower():
            return (
                f"{head}: {what or 'it '}needs the values of a tensor, which cannot be known statically "
                f"(the meta device has none): {one_line(exc)}"
            )
        rank = _conv_rank(name)
        return f"{head}: {what}{one_line(exc)}{self._rank_hint(rank) if rank else ''}"

    def _rank_hint(self, rank: int) -> str:
        first = next((r for r in self.recs if r.op == "input"), None)
        if first is None or len(first.tshape) - 2 == rank:
            return ""
        given = first.tshape[1:]
        c = given[0] if given else 1
        sizes = list(given[1:]) or [32]
        if rank == 3:
            want = f"(C, D, H, W), e.g. {(c, 16, *(sizes[-2:] if len(sizes) >= 2 else sizes * 2))}"
        elif rank == 2:
            want = f"(C, H, W), e.g. {(c, *(sizes[-2:] if len(sizes) >= 2 else sizes * 2))}"
        else:
            want = f"(C, L), e.g. {(c, sizes[-1])}"
        return f" (input shape {given}: the network uses {rank}-D convolutions; give {want})"

    def where(self) -> str:
        for frame in reversed(self.stack):
            if frame.path:
                return f"in {frame.path} ({type_label(type(frame.module))})"
        return f"in the forward of {type(self.root).__name__}"

    def guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except (ImporterBugError, CnnCalcError):
            raise
        except Exception as exc:  # a bug of this importer, not of the user's module: keep its traceback
            raise ImporterBugError(f"cnncalc's torch import failed on {self.where()}: {exc!r}") from exc

    def _finish_outputs(self, out: Any) -> None:
        for t in tensors_in(out, self.tensor):
            info = self.get(t)
            if info is not None:
                self.resolve(info, tuple(t.shape), t=t)

    # -- bookkeeping

    def scope(self) -> str:
        for frame in reversed(self.stack):
            if frame.kind == "scope":
                return frame.path
        return ""

    def set(self, t: Any, info: Info) -> None:
        key = id(t)
        if self.journal is not None:
            self.journal.append((key, self.info.get(key)))
        self.info[key] = (t, info)

    def get(self, t: Any) -> Info | None:
        entry = self.info.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else None

    def bind(self, t: Any, rec: int, lay: Lay) -> None:
        self.set(t, Info(rec, lay))

    def origins(self, t: Any) -> frozenset[str]:
        entry = self.origin.get(id(t))
        return entry[1] if entry is not None and entry[0] is t else frozenset()

    def mark(self, t: Any, keys: frozenset[str]) -> None:
        """`t` was made from these parameters and buffers alone."""
        if keys:
            self.origin[id(t)] = (t, keys)

    def new(
        self,
        label: str,
        op: str,
        pos: tuple[Any, ...],
        keys: dict[str, Any],
        inputs: list[int],
        tshape: Any,
        lay: Lay,
        *,
        scope: str | None = None,
        what: str = "",
        claims: Any = frozenset(),
        base: str | None = None,
    ) -> int:
        scope = self.scope() if scope is None else scope
        if base is None:
            base = f"{scope}.{label}" if scope else label
        mine = set(claims)
        if mine:
            mine -= self.claimed
            self.claimed |= mine
        self.consumed.update(inputs)
        tshape = tuple(map(int, tshape))
        recs = self.recs
        data = op == "input" or any(recs[i].data for i in inputs)
        recs.append(
            Rec(base, op, pos, keys, list(inputs), tshape, lay, shape_of(tshape, lay), what or op, mine, scope,
                aux=self.training, data=data)
        )  # fmt: skip
        return len(recs) - 1

    # -- making tensors into records

    def resolve(
        self, info: Info, tshape: tuple[int, ...], want: Lay | None = None, *, c_last: bool = False, t: Any = None
    ) -> tuple[int, Lay]:
        """A record holding the tensor, and the layout in which it does (`want`, or channels last if `c_last`, or
        whatever needs no layer); conversion layers are made as needed, once per tensor and layout."""
        key = (id(info), tshape, want, c_last)
        done = self.made.get(key)
        if done is not None and done[0] is info:
            found = done[1]
        else:
            found = self._resolve(info, tshape, want, c_last)
            self.made[key] = (info, found)
            self.made[(id(info), tshape, found[1], False)] = (info, found)  # asked again for what it gave
        # a pending tensor made a layer, or an input that took its reader's layout: the tensor is that now
        moved_on = info.pend is not None or info.extra is not None or (found[0] == info.rec and found[1] != info.lay)
        if t is not None and moved_on and self.get(t) is info:
            self.bind(t, *found)
        return found

    def _resolve(self, info: Info, tshape: tuple[int, ...], want: Lay | None, c_last: bool) -> tuple[int, Lay]:
        if info.extra is not None:
            info = self._extra_done(info)
        r = len(tshape)
        if info.pend is None:
            rec, lay = info.rec, info.lay
            if want is None and (not c_last or lay.c == r - 1 or r == 0):
                return rec, lay
            target = want if want is not None else default_lay(tshape, True)
            dims = ident(tshape)
            if roles(dims, tshape, target) == roles(dims, tshape, lay):
                return rec, target
            made = self.recs[rec]
            fits = made.shape.rank == shape_of(tshape, target).rank  # (C, L) read as (L, C), not a new window axis
            if made.op in ("input", "param") and rec not in self.consumed and made.tshape == tshape and fits:
                made.lay, made.shape = target, shape_of(tshape, target)  # no layer read it yet: take the layout
                made.pos = (made.shape, *made.pos[1:])
                return rec, target
            return self._convert(rec, lay, tshape, dims, tshape, target, "reshape", self.scope()), target
        p = info.pend
        rec, lay0 = self.cuts_done(info)
        if want is None:
            if p.dims is not None:
                nat = natural(p.dims, tshape, p.base, lay0)
                if nat is not None and (not c_last or nat.c == r - 1):
                    return rec, nat
            base_last = len(p.base) >= 3 and lay0.c == len(p.base) - 1
            want = default_lay(tshape, c_last or base_last)
        if p.dims is not None and roles(p.dims, tshape, want) == roles(ident(p.base), p.base, lay0):
            return rec, want
        return self._convert(rec, lay0, p.base, p.dims, tshape, want, p.label, p.scope), want

    def _extra_done(self, info: Info) -> Info:
        assert info.extra is not None
        k, tshape, label, scope = info.extra
        key = ("extra", info.rec, k)
        done = self.made.get(key)
        if done is None:
            what = f"{self.recs[info.rec].what}[{k}]"
            lay = default_lay(tshape)
            i = self.new(label, "opaque", (), {}, [info.rec], tshape, lay, scope=scope, what=what)
            done = self.made[key] = (info, (i, lay))
        return Info(*done[1])

    def cuts_done(self, info: Info) -> tuple[int, Lay]:
        """The pending tensor's base, with its slices made into layers."""
        p = info.pend
        rec, lay = info.rec, info.lay
        if p is None or not p.cuts:
            return rec, lay
        for n, cut_ in enumerate(p.cuts):
            key = ("cut", rec, p.cuts[: n + 1])
            done = self.made.get(key)
            if done is None:
                i = self.new(cut_.label, "slice", (cut_.sel,), {} if cut_.axis == -1 else {"axis": cut_.axis}, [rec],
                             cut_.shape, lay, scope=cut_.scope)  # fmt: skip
                done = self.made[key] = (info, (i, lay))
            rec = done[1][0]
        return rec, lay

    def _convert(
        self, rec: int, lay0: Lay, base: tuple[int, ...], dims: Dims | None, tshape: tuple[int, ...], lay: Lay,
        label: str, scope: str,
    ) -> int:  # fmt: skip
        """One layer from a record to the tensor in layout `lay`: flatten, shuffle, permute or reshape."""
        s0, s1 = self.recs[rec].shape, shape_of(tshape, lay)
        if s1.numel != s0.numel:  # a broadcast or repeat read by more than an element-wise op: values picked
            return self.new("expand", "gather", (s1,), {}, [rec], tshape, lay, scope=scope)
        if not s1.sizes and not s1.lead:
            if s0 == s1:
                return rec
            return self.new("flatten", "flatten", (), {}, [rec], tshape, lay, scope=scope)
        if dims is not None and s0.lead == s1.lead:
            a0 = axis_atoms(ident(base), base, lay0)
            a1 = axis_atoms(dims, tshape, lay)
            n = len(s0.lead)
            src, dst = list(a0[n:]), list(a1[n:])
            if a0[:n] == a1[:n] and len(src) == len(dst):
                g = _shuffle_groups(src, dst)
                if g:
                    return self.new("shuffle", "shuffle", (), {"g": g}, [rec], tshape, lay, scope=scope)
                if sorted(src) == sorted(dst) and len(set(src)) == len(src):
                    order = tuple(src.index(x) for x in dst)
                    return self.new("permute", "permute", (order,), {}, [rec], tshape, lay, scope=scope)
        name = label if label and label not in ("view", "reshape") else "reshape"
        return self.new(name, "reshape", (s1,), {}, [rec], tshape, lay, scope=scope)

    def base_rec(self, info: Info) -> int:
        """The record behind a tensor, whatever its views (a weight read as it is)."""
        if info.extra is not None:
            info = self._extra_done(info)
        return self.cuts_done(info)[0]

    def rollback(self, start: int) -> None:
        """Forget the records from `start` on (a translation that gave up half-way), and all that points to them."""
        if len(self.recs) == start:
            return
        for r in self.recs[start:]:
            self.claimed -= r.claims
            if r.keys.get("const"):
                self.keys.const -= r.claims
        del self.recs[start:]
        self.consumed = {i for i in self.consumed if i < start}
        for key, old in reversed(self.journal or []):
            if old is None:
                self.info.pop(key, None)
            else:
                self.info[key] = old
        self.info = {k: v for k, v in self.info.items() if v[1].rec < start}
        self.made = {k: v for k, v in self.made.items() if v[1][0] < start}
        self.params = {k: v for k, v in self.params.items() if v < start}
        self.shared = {k: [i for i in v if i < start] for k, v in self.shared.items()}

    # -- parameters as layers

    def param_rec(self, t: Any, lay: Lay | None = None) -> tuple[int, Lay] | None:
        """A `param` layer for a tensor made from parameters (or buffers) alone, of as many values as they hold."""
        keys = frozenset(k for k in self.origins(t) if self.keys.sizes[k][0])
        if not keys:
            return None
        tshape = tuple(t.shape)
        made = self.params.get(keys)
        if made is not None:
            r = self.recs[made]
            if r.shape.numel != t.numel():
                return None
            info = Info(made, r.lay) if r.tshape == tshape else Info(made, r.lay, Pend(r.tshape, (), None, tshape,
                                                                                          "view", ""))  # fmt: skip
            return self.resolve(info, tshape, lay)
        if keys & self.claimed:
            return None
        total = sum(self.keys.sizes[k][0] for k in keys)
        kinds = {self.keys.sizes[k][1] for k in keys}
        if t.numel() != total or len(kinds) != 1:
            return None
        lay = lay or param_lay(tshape)
        i = self._param(min(keys, key=lambda k: (len(k), k)), keys, tshape, lay, True in kinds)
        self.set(t, Info(i, lay))
        return i, lay

    def _param(self, name: str, keys: frozenset[str], tshape: tuple[int, ...], lay: Lay, learnt: bool) -> int:
        """A `param` layer holding these keys. Buffers read as data are fixed tables made at construction (relative
        positions, coordinates, a blur filter): `const=true`, not counted, as running statistics are."""
        if not learnt:
            self.keys.const |= keys
        i = self.new(name, "param", (shape_of(tshape, lay),), {} if learnt else {"const": True}, [], tshape, lay,
                     scope="", claims=keys, base=name, what="parameter")  # fmt: skip
        self.params[keys] = i
        return i

    def picked(self, t: Any, lay: Lay | None = None) -> tuple[int, Lay] | None:
        """A tensor made of parameters with another number of values (a relative-position bias table spread over
        heads and token pairs by an index buffer): the table as a `param` layer and a `gather` layer picking from
        it; the index (a fixed table) apart."""
        sizes = self.keys.sizes
        keys = {k for k in self.origins(t) if sizes[k][0] and k not in self.claimed}
        tables = sorted((k for k in keys if sizes[k][1]), key=lambda k: (-sizes[k][0], k))
        if not tables:
            return None
        self.stand_apart(keys - {tables[0]})
        meta = tuple(self.keys.meta[tables[0]].shape)
        table = self._param(tables[0], frozenset(tables[:1]), meta, param_lay(meta), True)
        tshape = tuple(t.shape)
        lay = lay or default_lay(tshape, True)
        i = self.new("gather", "gather", (shape_of(tshape, lay),), {}, [table], tshape, lay)
        self.set(t, Info(i, lay))
        return i, lay

    def const_rec(self, t: Any, lay: Lay | None = None) -> tuple[int, Lay]:
        """A tensor the forward makes from no input and no parameter (RAFT's grid of coordinates, a zero flow), read
        by a layer: an input of the network, as cnncalc has no op that makes values."""
        tshape = tuple(t.shape)
        lay = lay or default_lay(tshape)
        i = self.new("constant", "input", (shape_of(tshape, lay),), {}, [], tshape, lay)
        self.set(t, Info(i, lay))
        return i, lay

    def stand_apart(self, keys: frozenset[str] | set[str]) -> None:
        """Parameters and buffers used only to make constants (an attention mask from an index buffer): a `param`
        layer each, read by no layer."""
        for key in sorted(keys):
            if key in self.claimed or not self.keys.sizes[key][0]:
                continue
            tshape = tuple(self.keys.meta[key].shape)
            self._param(key, frozenset((key,)), tshape, param_lay(tshape), self.keys.sizes[key][1])

    # -- module hooks

    # The hooks run for every module call: `guard` written out in them.
    def _pre(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._hook(self._enter, module, args, kwargs)

    def _post(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any) -> None:
        self._hook(self._leave, module, output)

    def _hook(self, work: Callable[..., None], *args: Any) -> None:
        """Run a hook's work once (not again for what it calls itself); its own failures name the module."""
        if self.busy:
            return
        self.busy = True
        try:
            with self.no_function():  # the hook's own reads of shapes need not pass through the mode
                work(*args)
        except (ImporterBugError, CnnCalcError):
            raise
        except Exception as exc:
            raise ImporterBugError(f"cnncalc's torch import failed on {self.where()}: {exc!r}") from exc
        finally:
            self.busy = False

    def _enter(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        path = self.paths.get(id(module))
        if path is None:
            path = type(module).__name__.lower()
        if self.leaf_depth:
            self.leaf_depth += 1
            self.stack.append(Frame(module, path, "inner"))
            return
        handler = _calls.leaf_handler(self.nn, module)
        if handler is None:
            self.stack.append(Frame(module, path, "scope", start=len(self.recs)))
            return
        frame = Frame(module, path, "leaf", start=len(self.recs), handler=handler)
        if not kwargs and len(args) == 1 and args[0].__class__ is self.tensor:
            tensors = [args[0]]  # most calls: the quick way to what tensors_in finds
        else:
            tensors = tensors_in((args, kwargs), self.tensor)
        frame.inputs = [(t, self.get(t)) for t in tensors]
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
        made = self.recs[frame.start :]
        if frame.path and len(made) == 1 and made[0].scope == frame.path and made[0].op not in ("input", "param"):
            made[0].base = frame.path  # a module that makes one layer (a Flatten of its own) is that layer

    def module_keys(self, module: Any) -> list[str]:
        """Keys of a module's parameters and buffers that count (the meta stand-ins it holds during the call)."""
        cache = self.keys.owned
        found = cache.get(id(module))
        if found is None:
            key_of, sizes = self.keys.key_of, self.keys.sizes
            if module._modules:
                tensors = [*module.parameters(), *module.buffers()]
            else:  # no submodules: its own, read directly (parameters() walks the tree with generators)
                tensors = [t for t in (*module._parameters.values(), *module._buffers.values()) if t is not None]
            keys = (key_of[id(t)] for t in tensors if id(t) in key_of)
            found = cache[id(module)] = [k for k in dict.fromkeys(keys) if sizes[k][0]]
        return found

    def _leaf(self, frame: Frame, output: Any) -> None:
        tensor = self.tensor
        outs = [output] if output.__class__ is tensor else tensors_in(output, tensor)
        module = frame.module
        own = self.module_keys(module)
        claims = {k for k in own if k not in self.claimed}
        shared = bool(own) and not claims  # every parameter counted at an earlier call: the module called again
        untracked = set()
        for t, info in frame.inputs:
            if info is None:
                untracked |= self.origins(t)
        claims |= {k for k in untracked if k not in self.claimed}
        tracked = [(t, info) for t, info in frame.inputs if info is not None]
        if not outs:
            return
        if not tracked and frame.inputs and frame.handler in _calls.MAC_LEAVES:
            t = frame.inputs[0][0]
            # a layer run on a parameter or buffer alone (Swin-V2's position MLP), or on a constant (RAFT's flow)
            made = self.param_rec(t) if self.origins(t) else self.const_rec(t)
            if made is not None:
                tracked = [(t, Info(*made))]
                claims -= self.origins(t)
                untracked -= self.origins(t)
        if not tracked:
            if claims or untracked:  # a module run on constants: what it gives carries its parameters
                for t in outs:
                    self.mark(t, frozenset(claims | untracked))
            return
        start = len(self.recs)
        call = _calls.Call(self, module, tracked, outs, claims, shared, frame.path or None)
        done = False
        self.journal = []
        try:
            done = bool(frame.handler(call)) if frame.handler is not _calls.opaque_module else False
        except Exception:  # an unusual configuration: kept exact as opaque
            done = False
        if not done:
            self.rollback(start)
        self.journal = None
        if not done:
            _calls.opaque_module(call)
        for r in self.recs[start:]:
            if r.what == r.op:
                r.what = type_label(type(module))
        if shared and len(self.recs) > start:
            self.shared.setdefault(frame.path, []).append(len(self.recs) - 1)

    # -- torch calls

    def on_call(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = getattr(func, "__name__", "")
        if self.busy or (self.leaf_depth and name in IGNORE):
            return func(*args, **kwargs)
        if name in IGNORE:
            if name != "__get__":
                self.calling = (name, func)
                out = func(*args, **kwargs)
                self.calling = None
                return out
            out = func(*args, **kwargs)  # a property: x.shape (nothing to follow), x.data, x.T
            if isinstance(out, self.tensor) and args and self.get(args[0]) is not None:
                prop = getattr(getattr(func, "__self__", None), "__name__", "")
                self.busy = True
                try:
                    self.guard(_calls.prop, self, prop, args[0], out)
                finally:
                    self.busy = False
            return out
        self.calling = (name, func)
        if self.leaf_depth:
            out = self._run_op(name, func, args, kwargs)
            self.calling = None
            return out
        tensors = tensors_in((args, kwargs), self.tensor)
        tracked = False
        for t in tensors[:1] if name in _FIRST_ONLY else tensors:  # `w.type_as(x)`: w's, not x's
            if self.get(t) is not None:
                tracked = True
                break
        out = self._run_op(name, func, args, kwargs)
        self.calling = None
        if name in CONSTANT:
            return out
        if not tracked:
            if name in MAC_CALLS and tensors:
                self.busy = True
                try:
                    if self.guard(_calls.promote, self, name, func, args, kwargs, out):
                        return out
                finally:
                    self.busy = False
            if self.origin and tensors:
                # `x.to(w)`, `x.type_as(w)` take no values from w: only the first argument's parameters carry over
                sources = tensors[:1] if name in _FIRST_ONLY else tensors
                found = frozenset().union(*(self.origins(t) for t in sources))
                if found:
                    for t in tensors_in(out, self.tensor):
                        self.origin[id(t)] = (t, found | self.origins(t))  # in place (add_) too
            return out
        self.busy = True
        try:
            self.guard(self._record_call, name, func, args, kwargs, out)
        finally:
            self.busy = False
        return out

    def _run_op(self, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Run a call; on the meta device, shape-keeping and element-wise ones are made by `torch.empty` at once
        (PyTorch runs them as Python decompositions there, a millisecond or more each, for nothing but the shape)."""
        torch = self.torch
        if name == "cat":
            out = _cat_meta(torch, self.meta_device, args, kwargs)
            if out is not None:
                return out
        if name in _POOL_ARGS and args:
            out = _pool2d_meta(torch, self.meta_device, name, args, kwargs)
            if out is not None:
                return out
        if name in _RNN_CALLS and len(args) == 9 and not kwargs:
            out = _rnn_meta(torch, self.meta_device, name, args)
            if out is not None:
                return out
        if name == "roll" and args and isinstance(args[0], torch.Tensor) and args[0].is_meta:
            return torch.empty(args[0].shape, dtype=args[0].dtype, device=self.meta_device)  # contiguous, always
        if name in MEMO_CALLS:
            return self._memo_run(func, args, kwargs)
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or not x.is_meta:
            return func(*args, **kwargs)
        if name == "adaptive_avg_pool2d" and x.dim() in (3, 4):
            # Its output size is its argument; PyTorch's meta version imports TorchDynamo (seconds) on first use.
            size = args[1] if len(args) > 1 else kwargs.get("output_size")
            size = (size, size) if isinstance(size, int) else tuple(size)
            if len(size) == 2:
                out = (*x.shape[:-2], *(x.shape[-2 + i] if v is None else int(v) for i, v in enumerate(size)))
                return torch.empty(out, dtype=x.dtype, device=self.meta_device)
        if name == "conv2d" and len(args) == 7 and not kwargs:
            out = _conv2d_meta(torch, self.meta_device, *args)
            if out is not None:
                return out
        if name == "linear":
            out = _linear_meta(torch, self.meta_device, args, kwargs)
            if out is not None:
                return out
        if (
            name in SHAPE_KEEPING
            and x.is_floating_point()  # exp of integers: floats
            and kwargs.get("out") is None  # F.normalize passes out=None
            and (name not in _BOUNDED or _bounds_fit(torch, x, (*args[1:], *kwargs.values())))
        ):
            if writes_over_input(name, args, kwargs):
                return x
            return torch.empty(x.shape, dtype=x.dtype, device=self.meta_device)
        elementwise = (name in _UNARY and len(args) == 1) or (
            name in ("pow", "__pow__") and len(args) == 2 and _scalar(args[1])
        )
        if elementwise and not kwargs and x.is_floating_point() and _in_order(x):
            return torch.empty(x.shape, dtype=x.dtype, device=self.meta_device)
        if name == "addcmul" and len(args) == 3 and set(kwargs) <= {"value"} and x.is_floating_point():
            plain = _plain(torch)
            if all(t.__class__ in plain and t.is_meta and t.dtype == x.dtype and _in_order(t) for t in args):
                shape = _broadcast(_broadcast(tuple(x.shape), tuple(args[1].shape)), tuple(args[2].shape))
                return torch.empty(shape, dtype=x.dtype, device=self.meta_device)
        if name.strip("_") in _BINARY_NAMES and len(args) == 2 and not kwargs:
            other = args[1]
            if isinstance(other, torch.Tensor) and not other.is_meta:
                return func(*args, **kwargs)
            inplace = (name.endswith("_") and not name.startswith("__")) or name.startswith("__i")
            try:
                shape = _broadcast(x.shape, other.shape) if isinstance(other, torch.Tensor) else x.shape
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

    def _memo_run(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A costly call (PyTorch's meta version is a Python decomposition: attention, interpolation, a concat) run
        once per distinct signature of a trace; again, its outputs are made empty of the shapes and strides it gave
        (the twelve blocks of a ViT make the same calls)."""
        key = _memo_key(self.torch, func, args, kwargs)
        if key is None:
            return func(*args, **kwargs)
        form = self.memo.get(key)
        if form is None:
            out = func(*args, **kwargs)
            self.memo[key] = _out_form(self.torch, out)
            return out
        if form is False:
            return func(*args, **kwargs)
        return _remake(self.torch, self.meta_device, form)

    def _record_call(self, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        outs = tensors_in(out, self.tensor)
        if outs and all(t.numel() == 0 for t in outs):
            return  # an empty slice (no prefix tokens): nothing to follow
        start = len(self.recs)
        self.journal = []
        try:
            done = _calls.translate(self, name, func, args, kwargs, out)
        except Exception:  # an unusual call: kept exact as opaque
            done = False
        if not done:
            self.rollback(start)
        self.journal = None
        if not done:
            _calls.opaque_call(self, name, func, args, kwargs, out)
        label = func_label(func)
        for r in self.recs[start:]:
            if r.what == r.op and r.op not in ("slice", "reshape", "flatten", "shuffle", "permute", "param"):
                r.what = label  # what the layer is in PyTorch, should it not match cnncalc's op


_RNN_CALLS = words("lstm gru rnn_tanh rnn_relu")


def _rnn_meta(torch: Any, meta: Any, name: str, args: tuple[Any, ...]) -> Any:
    """What `_VF.lstm` / `gru` / `rnn_tanh` / `rnn_relu` give on the meta device for a padded batch (as nn.LSTM,
    nn.GRU and nn.RNN call them): PyTorch runs them there step by step, tens of milliseconds a call. None: let it."""
    x, hx, _, _, _, _, _, bidirectional, batch_first = args
    states = tuple(hx) if name == "lstm" and isinstance(hx, (tuple, list)) else (hx,)
    if name == "lstm" and len(states) != 2:
        return None
    if not (
        isinstance(x, torch.Tensor)
        and x.is_meta
        and x.dim() == 3
        and x.is_floating_point()
        and bidirectional.__class__ is bool
        and batch_first.__class__ is bool
        and all(isinstance(h, torch.Tensor) and h.is_meta and h.dim() == 3 for h in states)
    ):
        return None
    steps, batch = (x.shape[1], x.shape[0]) if batch_first else (x.shape[0], x.shape[1])
    width = (2 if bidirectional else 1) * states[0].shape[-1]
    out = torch.empty((steps, batch, width), dtype=x.dtype, device=meta)
    if batch_first:
        out = out.transpose(0, 1)  # PyTorch runs time-major and hands back the transpose, strides included
    made = tuple(torch.empty(h.shape, dtype=h.dtype, device=meta) for h in states)
    return (out, *made)


def _bounds_fit(torch: Any, x: Any, bounds: tuple[Any, ...]) -> bool:
    """Whether `clamp(x, *bounds)` has x's shape and type: tensor bounds on the meta device that broadcast to x."""
    for b in bounds:
        if isinstance(b, torch.Tensor):
            if not b.is_meta or torch.result_type(x, b) != x.dtype:
                return False
            try:
                if _broadcast(tuple(x.shape), tuple(b.shape)) != tuple(x.shape):
                    return False
            except RuntimeError:
                return False
    return True


def _scalar(v: Any) -> bool:
    return v.__class__ in (int, float)


def _in_order(x: Any) -> bool:
    """Whether an element-wise op gives `x` a contiguous output: its axes lie in memory in their own order (a
    contiguous tensor, or a strided slice of one such as `x[..., ::2]`)."""
    strides = [s for n, s in zip(x.shape, x.stride(), strict=True) if n != 1]
    return all(a > b for a, b in itertools.pairwise(strides))


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """`torch.broadcast_shapes(a, b)` (which is Python, ten times slower) for two shapes."""
    if a == b:
        return a
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    out = []
    for m, n in zip(a, b, strict=True):
        if m != n and m != 1 and n != 1:
            raise RuntimeError(f"shapes {a} and {b} cannot be broadcast")
        out.append(n if m == 1 else m)
    return tuple(out)


def _conv_rank(name: str) -> int:
    for rank in (1, 2, 3):
        if name in (f"conv{rank}d", f"conv_transpose{rank}d"):
            return rank
    return 0


def _shuffle_groups(src: list[Group], dst: list[Group]) -> int | None:
    """ShuffleNet's channel shuffle written out (view (B, g, C/g, H, W), transpose(1, 2), view back): every axis as
    it was but the channels, whose two pieces swapped places."""
    if src[:-1] != dst[:-1] or len(src[-1]) != 1 or len(dst[-1]) != 2:
        return None
    (b, s, n), ((b1, s1, n1), (b2, s2, n2)) = src[-1][0], dst[-1]
    if s != 1 or b1 != b or b2 != b or s1 != 1 or s2 != n1 or n1 * n2 != n or n2 < 2:
        return None
    return n2


def _conv2d_meta(
    torch: Any, meta: Any, x: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any, groups: Any
) -> Any:
    """What `F.conv2d` gives on the meta device, worked out here when every argument is plain (as nn.Conv2d
    passes them): PyTorch's meta kernel is Python, a large share of a trace. None: let PyTorch run it."""
    plain = _plain(torch)
    if not (
        x.__class__ in plain
        and weight.__class__ in plain
        and weight.is_meta
        and x.dim() == 4
        and weight.dim() == 4
        and x.dtype == weight.dtype
        and x.is_floating_point()
        and (bias is None or (bias.__class__ in plain and bias.is_meta and bias.dtype == x.dtype))
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


def _plain(torch: Any) -> set[type]:
    """torch.Tensor and nn.Parameter: the tensors whose outputs the shortcuts make (a subclass runs its own way)."""
    if not _META_TENSORS:
        _META_TENSORS.update((torch.Tensor, torch.nn.Parameter))
    return _META_TENSORS


_POOL_ARGS = {
    "max_pool2d": ("kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avg_pool2d": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
}


def _pool2d_meta(torch: Any, meta: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What `max_pool2d` / `avg_pool2d` give on the meta device (Python there, as convolutions are), by PyTorch's
    size rule: a last window of ceil mode that would start in the padding is dropped. None: let PyTorch run it."""
    plain = _plain(torch)
    x = args[0]
    names = _POOL_ARGS[name]
    if len(args) > len(names) + 1 or not set(kwargs) <= {*names, "return_indices"} or kwargs.get("return_indices"):
        return None  # F.max_pool2d passes return_indices=False by keyword: with True, a tuple
    given = {**dict(zip(names, args[1:], strict=False)), **kwargs}
    if x.__class__ not in plain or not x.is_meta or x.dim() not in (3, 4) or not x.is_floating_point():
        return None

    def pair(v: Any, default: Any) -> tuple[int, int] | None:
        v = default if v is None or v == () or v == [] else v
        v = (v, v) if v.__class__ is int else tuple(v)
        return v if len(v) == 2 and all(n.__class__ is int for n in v) else None

    k = pair(given.get("kernel_size"), None) if given.get("kernel_size") is not None else None
    if k is None:
        return None
    s, p, d = pair(given.get("stride"), k), pair(given.get("padding", 0), 0), pair(given.get("dilation", 1), 1)
    ceil = given.get("ceil_mode", False)
    if s is None or p is None or d is None or ceil.__class__ is not bool:
        return None
    sizes = []
    for n, kk, ss, pp, dd in zip(x.shape[-2:], k, s, p, d, strict=True):
        if min(kk, ss, dd) < 1 or pp < 0 or 2 * pp > kk:
            return None
        out = (n + 2 * pp - dd * (kk - 1) - 1 + (ss - 1 if ceil else 0)) // ss + 1
        if ceil and (out - 1) * ss >= n + pp:
            out -= 1
        if out < 1:
            return None
        sizes.append(out)
    return torch.empty((*x.shape[:-2], *sizes), dtype=x.dtype, device=meta)


def _cat_meta(torch: Any, meta: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What `torch.cat(tensors, dim)` gives on the meta device for contiguous tensors of one type and rank
    (PyTorch's meta version is Python); None: let PyTorch run it."""
    plain = _plain(torch)
    if not 1 <= len(args) <= 2 or not set(kwargs) <= {"dim"} or len(args) + len(kwargs) > 2:
        return None
    seq, dim = args[0], args[1] if len(args) == 2 else kwargs.get("dim", 0)
    if dim.__class__ is not int:
        return None
    if seq.__class__ not in (list, tuple) or len(seq) < 2:
        return None
    first = seq[0]
    if first.__class__ not in plain or not first.is_meta or first.dim() == 0:
        return None
    rank, dtype = first.dim(), first.dtype
    d = dim + rank if dim < 0 else dim
    if not 0 <= d < rank:
        return None
    shape = list(first.shape)
    total = 0
    for t in seq:
        if t.__class__ not in plain or not t.is_meta or t.dtype != dtype or t.dim() != rank:
            return None
        if not t.is_contiguous():
            return None
        here = t.shape
        if any(here[a] != shape[a] for a in range(rank) if a != d):
            return None
        total += here[d]
    shape[d] = total
    return torch.empty(shape, dtype=dtype, device=meta)


def _linear_meta(torch: Any, meta: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """What `F.linear(x, w, b)` gives on the meta device (PyTorch decomposes it into addmm there, milliseconds a
    call); None: let PyTorch run it."""
    plain = _plain(torch)
    given = {**dict(zip(("input", "weight", "bias"), args, strict=False)), **kwargs}
    if len(args) > 3 or not {"input", "weight"} <= set(given) <= {"input", "weight", "bias"}:
        return None
    x, w, bias = given["input"], given["weight"], given.get("bias")
    if not (
        x.__class__ in plain
        and w.__class__ in plain
        and w.is_meta
        and w.dim() == 2
        and x.dim() >= 1
        and x.shape[-1] == w.shape[1]
        and x.dtype == w.dtype
        and x.is_floating_point()
        and (bias is None or (bias.__class__ in plain and bias.is_meta and bias.dtype == x.dtype))
    ):
        return None
    if bias is not None and tuple(bias.shape) not in ((w.shape[0],), (1,), ()):
        return None
    return torch.empty((*x.shape[:-1], w.shape[0]), dtype=x.dtype, device=meta)


# Calls whose meta versions cost a millisecond or more (Python decompositions): run once per signature in a trace.
MEMO_CALLS = words(
    "interpolate upsample upsample_nearest upsample_bilinear multi_head_attention_forward "
    "scaled_dot_product_attention cat concat concatenate stack matmul __matmul__ __rmatmul__ mm bmm baddbmm addmm "
    "einsum roll mean sum amax amin std var norm max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d "
    "max_pool2d_with_indices adaptive_avg_pool1d adaptive_avg_pool3d adaptive_max_pool2d pad masked_fill softmax "
    "log_softmax conv1d conv3d conv_transpose1d conv_transpose2d conv_transpose3d grid_sample unfold fold "
    "pixel_shuffle pixel_unshuffle"
)
_SCALARS = frozenset([int, float, bool, str, type(None), type(Ellipsis)])


def _memo_key(torch: Any, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """Everything a call's output shapes depend on: its tensors' shapes, strides and types (all on the meta device,
    plain tensors) and its other arguments by type and value; None when an argument is of another kind."""
    if "out" in kwargs:  # the output is that tensor, not a new one
        return None
    plain = _plain(torch)
    dtype, size = torch.dtype, torch.Size

    def part(v: Any) -> Any:
        cls = v.__class__
        if cls in plain:
            if not v.is_meta:
                raise LookupError
            return (0, tuple(v.shape), v.stride(), v.dtype)
        if cls in _SCALARS:
            return (cls, v)
        if cls is tuple or cls is list or cls is size:
            return (cls, tuple(part(x) for x in v))
        if cls is slice:
            return (cls, part(v.start), part(v.stop), part(v.step))
        if cls is dtype:
            return v
        raise LookupError

    try:
        return (func, tuple(part(a) for a in args), tuple((k, part(v)) for k, v in kwargs.items()))
    except (LookupError, TypeError):
        return None


def _out_form(torch: Any, out: Any) -> Any:
    """What `_remake` needs to make a call's outputs again (tensors, or tuples and lists of tensors and None);
    False for anything else."""
    cls = out.__class__
    if cls is torch.Tensor and out.is_meta:
        return (tuple(out.shape), out.stride(), out.dtype)
    if out is None:
        return None
    if cls is tuple or cls is list:
        forms = [_out_form(torch, x) for x in out]
        return False if any(f is False for f in forms) else (cls, forms)
    return False


def _remake(torch: Any, meta: Any, form: Any) -> Any:
    if form is None:
        return None
    if form[0] is tuple or form[0] is list:
        return form[0](_remake(torch, meta, f) for f in form[1])
    shape, stride, dtype = form
    return torch.empty_strided(shape, stride, dtype=dtype, device=meta)


from . import _torch_calls as _calls  # noqa: E402  (the translations read this module's names)
