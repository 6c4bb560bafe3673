"""Import a PyTorch module as a cnncalc Graph, by running it once on the meta device and recording what it computes.

How it works. The module runs with meta copies of its parameters and buffers swapped in, as `torch.func.functional_call`
would swap them (so no memory is allocated and no weight is read), in eval mode, inside a `TorchFunctionMode` that sees
every torch call of every `forward`, and with forward hooks on each submodule (`_torch_trace.py`). Stock layers whose
forward is PyTorch's own (Conv2d, BatchNorm2d, Linear, ReLU, ...) become one layer each, named by their module path
(`layer1.0.conv1`); everything else is followed call by call (`_torch_calls.py`): a convolution is `F.conv1d/2d/3d`
whatever makes its weight, a matrix product is `F.linear`, `@`, `bmm`, `einsum` or attention, and the layers a forward
makes are named after its module (`layer1.0.add`). Tensors of any rank are read as cnncalc shapes: channels first for
convolutions, last for tokens, the batch and attention heads or windows as lead axes that repeat the work; views,
permutes and slices become layers only where the consumer needs them.

Parameters and buffers are attributed to the first layer that uses them, so tied weights count once and a layer called
again is marked `shared=true` (its MACs count at every call); learnt tensors a forward adds or joins (a class token, a
position embedding) become `param` layers; a weight computed in forward from parameters (weight standardisation) is
the layer's own, a gain per output channel beside it a `scale`. A module or call cnncalc has no op for becomes an
`opaque` layer with its own parameters counted and the output shape PyTorch gave; every layer is checked against
cnncalc's own op (shape, parameters, buffers) and kept as `opaque` where they differ. Parameters that no traced layer
used (an auxiliary classifier skipped in eval mode) are found by tracing again in train mode, or else kept in an opaque
training-only layer. Afterwards the module is exactly as it was: its own tensors, device, training flags, and no hooks.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import re
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._gc import gc_paused
from ..builder import Builder
from ..errors import CnnCalcError
from ..ir import Graph, Shape
from ..ops.base import Context, get_op, read_args, shape
from . import require_torch
from ._torch_trace import Keys, Rec, Tracer, one_line, type_label

__all__ = ["TorchImportWarning", "graph_from_torch", "load_module"]


class TorchImportWarning(UserWarning):
    """A part of a PyTorch module that cnncalc keeps as an opaque layer, or parameters no traced layer used."""


NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


# ----------------------------------------------------------------------------- public functions


def graph_from_torch(module: Any, input_shape: Any, name: str | None = None) -> Graph:
    """The graph of `module` as it runs on the meta device, batch 1.

    `input_shape` is the input's shape as PyTorch orders it, without the batch: (C, H, W) for an image, (C, D, H, W)
    for a video or volume, (C, L) for a 1-D signal, (L, C) for tokens, (C,) for a vector; a list of such for several
    forward arguments, or a dict from argument names to shapes. The module is left exactly as it was.
    """
    torch = require_torch()
    nn = torch.nn
    if not isinstance(module, nn.Module):
        raise CnnCalcError(f"{type(module).__name__} is not a torch.nn.Module")
    graph_name = name or type(module).__name__
    inputs, by_keyword = _read_inputs(module, input_shape)
    with gc_paused():  # tens of thousands of objects, none in a cycle: see _gc.py
        first, keys, inputs, dtype = _first_trace(torch, module, graph_name, inputs, by_keyword)
        recs = first.recs
        _settle_names(recs, module)
        counted = {k for k, (n, _) in keys.sizes.items() if n}
        # Only learnt parameters make a forward worth running again in train mode (an auxiliary classifier); a
        # buffer left unread (a cache timm's rotary embedding keeps beside its table) gets the same counts below.
        if any(keys.sizes[k][1] for k in counted - first.claimed):
            recs = _with_training_only(torch, module, keys, graph_name, inputs, by_keyword, recs, dtype)
        claimed = set().union(*(r.claims for r in recs))
        unused = [k for k in keys.sizes if k in counted and k not in claimed]
        if unused:
            recs = recs + _unused_holders(unused, keys, recs, module)
            _settle_names(recs, module, keep=True)
        graph = _build(graph_name, recs, keys)
    for r in recs:
        if r.op == "opaque":
            warnings.warn(_opaque_note(r, keys), TorchImportWarning, stacklevel=3)
    for note in _shared_notes(first, recs):
        warnings.warn(note, TorchImportWarning, stacklevel=3)
    return graph


def _first_trace(
    torch: Any, module: Any, graph_name: str, inputs: list[tuple[str, tuple[int, ...]]], by_keyword: bool
) -> tuple[Tracer, Keys, list[tuple[str, tuple[int, ...]]], Any]:
    """The trace in eval mode. Where the input does not fit, the other reading it may have been meant as: token ids
    (an nn.Embedding first) as integers, or a signal (C, L) as tokens (L, C), since `LxC` text reads either way."""

    def trace(shapes: list[tuple[str, tuple[int, ...]]], dtype: Any) -> tuple[Tracer, Keys]:
        keys = Keys(torch, module)
        tracer = Tracer(torch, module, keys, training=False, graph_name=graph_name)
        tracer.run(shapes, by_keyword, dtype)
        return tracer, keys

    try:
        return (*trace(inputs, None), inputs, None)
    except CnnCalcError as exc:
        if "scalar types: Long" in str(exc):
            retry, dtype = inputs, torch.long
        elif any(len(shape) == 2 for _, shape in inputs):
            retry, dtype = [(n, shape[::-1] if len(shape) == 2 else shape) for n, shape in inputs], None
        else:
            raise
        try:
            return (*trace(retry, dtype), retry, dtype)
        except CnnCalcError:
            raise exc from None


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
        raise CnnCalcError(f"{reference}: {attr}() failed: {one_line(exc)}") from None
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
        raise CnnCalcError(f"{path}: cannot import it{where}: {one_line(exc)}") from None
    finally:
        sys.modules.pop(name, None)
        with contextlib.suppress(ValueError):
            sys.path.remove(folder)
    return vars(module)


def _is_module_maker(torch: Any, value: Any) -> bool:
    if isinstance(value, type):
        return issubclass(value, torch.nn.Module)
    return inspect.isfunction(value)


# ----------------------------------------------------------------------------- inputs


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _one_shape(raw: Any) -> tuple[int, ...] | None:
    """A PyTorch shape without the batch; cnncalc's HxWxC, DxHxWxC or LxC text (or a Shape) also does, read as
    channels first. None if `raw` is not a shape."""
    if isinstance(raw, str):
        try:
            raw = shape()[0](raw)
        except ValueError:
            return None
    if isinstance(raw, Shape):
        return None if raw.lead else (raw.c, *raw.sizes)
    if _is_int(raw):
        return (raw,)
    if isinstance(raw, Sequence) and raw and all(_is_int(v) for v in raw):
        return tuple(int(v) for v in raw)
    return None


def _read_inputs(module: Any, input_shape: Any) -> tuple[list[tuple[str, tuple[int, ...]]], bool]:
    """[(name, shape)], and whether they are passed by keyword."""

    def check(found: tuple[int, ...] | None, raw: Any) -> tuple[int, ...]:
        if found is None or not 1 <= len(found) <= 4 or min(found) < 1:
            raise CnnCalcError(
                f"input shape {raw!r}: give it as PyTorch orders it, without the batch: (C, H, W) for an image, "
                "(C, D, H, W) for a video, (C, L) or (L, C) for a signal or tokens, (C,) for a vector; a list of such "
                "for several inputs, or a dict from forward argument names to shapes"
            )
        return found

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


# ----------------------------------------------------------------------------- after the trace


def _settle_names(recs: list[Rec], root: Any, keep: bool = False) -> None:
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
    keys: Keys,
    graph_name: str,
    inputs: list[tuple[str, tuple[int, ...]]],
    by_keyword: bool,
    recs: list[Rec],
    dtype: Any = None,
) -> list[Rec]:
    """Trace again in train mode: layers only it runs (auxiliary classifiers) join as training-only layers."""
    second = Tracer(torch, module, keys, training=True, graph_name=graph_name)
    try:
        second.run(inputs, by_keyword, dtype)
    except Exception:  # train mode is not required to work (BatchNorm1d on a batch of one refuses it)
        return recs
    _settle_names(second.recs, module)
    index = {r.name: i for i, r in enumerate(recs)}
    claimed = set().union(*(r.claims for r in recs))
    new_names = {r.name for r in second.recs if r.name not in index}
    if not new_names:
        return recs
    merged: list[Rec] = []
    placed = 0
    position: dict[str, int] = {}

    def place(r: Rec) -> None:
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


def _unused_holders(unused: list[str], keys: Keys, recs: list[Rec], root: Any) -> list[Rec]:
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
        label = f"unused:{type_label(type(m))}"
        base = path or "unused"
        r = recs[first]
        out.append(Rec(base, "opaque", (), {}, [first], r.tshape, r.lay, r.shape, label, set(group), aux=True,
                       note="unused"))  # fmt: skip
    return out


def _build(graph_name: str, recs: list[Rec], keys: Keys) -> Graph:
    """The graph, each layer checked against cnncalc's own op; those that differ become opaque."""
    for r in recs:
        if r.op not in ("input", "opaque"):
            problem = _check(r, recs, keys)
            if problem:
                r.note, r.op = problem, "opaque"
    b = Builder(graph_name)
    for r in recs:
        if r.op == "input":
            b.add("input", r.shape, name=r.name)
        elif r.op == "opaque":
            params, buffers = keys.count(r.claims)
            b.add("opaque", r.shape, name=r.name, inputs=[recs[i].name for i in r.inputs], aux=r.aux,
                  params=params, buffers=buffers, what=r.what)  # fmt: skip
        else:
            b.add(r.op, *r.pos, name=r.name, inputs=[recs[i].name for i in r.inputs], aux=r.aux, **r.keys)
    return b.build()


_CHECKED: dict[tuple[Any, ...], tuple[Shape, int, int]] = {}


def _calc(r: Rec, recs: list[Rec]) -> tuple[Shape, int, int] | str:
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


def _check(r: Rec, recs: list[Rec], keys: Keys) -> str:
    """Why cnncalc's op would not give what PyTorch gave for this layer ("" if it does)."""
    found = _calc(r, recs)
    if isinstance(found, str):
        return found
    output, own_params, own_buffers = found
    params, buffers = keys.count(r.claims)
    if output != r.shape:
        return f"cnncalc's {r.op} gives {output.text()}, PyTorch {r.shape.text()}"
    if own_params != params:
        if params == 0 and own_params:
            return "its parameters are shared with an earlier layer, where they are counted"
        return f"cnncalc's {r.op} has {own_params:,} params, PyTorch {params:,}"
    if own_buffers != buffers:
        return f"cnncalc's {r.op} has {own_buffers:,} buffers, PyTorch {buffers:,}"
    return ""


def _opaque_note(r: Rec, keys: Keys) -> str:
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


def _shared_notes(tracer: Tracer, recs: list[Rec]) -> list[str]:
    """One note per module whose parameters an earlier layer counts: called again, or tied to another's."""
    notes = []
    for found in tracer.shared.values():
        layers = [tracer.recs[i] for i in found if i < len(tracer.recs) and tracer.recs[i].op != "opaque"]
        if layers:
            again = f", called {len(layers)} more times" if len(layers) > 1 else ""
            notes.append(
                f"{layers[0].name}: {layers[0].what}{again}: its parameters are shared with an earlier layer, where "
                "they are counted"
            )
    del recs
    return notes
