"""The translating half of the PyTorch importer: modules and calls of a traced forward as cnncalc layers.

A handler gets the tensors a module or call read and gave, asks the tracer for records in the layout the op reads
(`Tracer.resolve`), records the layer and says what its output stands for; it returns False to leave the call as an
opaque layer (its parameters counted, its MACs unknown). What makes a layer is the computation, not the class: a
convolution is `F.conv1d/2d/3d` with its weight wherever it comes from (the module's own, one standardised in
forward, a filter buffer, a weight a routing layer computed), a matrix product is `nn.Linear`, `F.linear`, `@`, `bmm`,
`einsum` or attention. Stock `torch.nn` layers whose forward is PyTorch's own are translated whole, so that they get
their module path as a name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any, NamedTuple

from ..ir import Shape
from ..ops.base import get_op
from . import _ops
from ._torch_trace import (
    IGNORE,
    Info,
    Lay,
    Pend,
    Tracer,
    cut,
    default_lay,
    func_label,
    ident,
    lay_first,
    lay_last,
    moved,
    natural,
    roles,
    shape_of,
    start_pend,
    tensors_in,
    type_label,
    words,
    writes_over_input,
)

# ----------------------------------------------------------------------------- small helpers


def _bind(args: tuple[Any, ...], kwargs: dict[str, Any], names: str, defaults: dict[str, Any]) -> dict[str, Any]:
    """Arguments by name, from positions in the order `names` gives (the first, the input, left out)."""
    out = dict(defaults)
    keys = names.split()
    for key, value in zip(keys, args[1:], strict=False):
        out[key] = value
    out.update({k: v for k, v in kwargs.items() if k in keys or k in defaults})
    return out


def _tuple(v: Any, k: int) -> tuple[int, ...]:
    if isinstance(v, (tuple, list)):
        values = tuple(int(x) for x in v)
        return values * k if len(values) == 1 else values
    return (int(v),) * k


def _dim(d: Any, rank: int) -> int:
    d = int(d)
    return d + rank if d < 0 else d


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(t.shape)


class Call(NamedTuple):
    """A stock module's call: what it read and gave, and the parameters it holds."""

    tr: Tracer
    module: Any
    tracked: list[tuple[Any, Info]]
    outs: list[Any]
    claims: set[str]
    shared: bool  # every parameter already counted at an earlier call
    base: str | None  # its module path, the layer's name


def layer(
    tr: Tracer, label: str, op: str, pos: tuple[Any, ...], keys: dict[str, Any], ins: list[int], out: Any, lay: Lay,
    *, claims: Any = frozenset(), base: str | None = None, what: str = "",
) -> int:  # fmt: skip
    i = tr.new(label, op, pos, keys, ins, _shape(out), lay, claims=claims, base=base, what=what)
    tr.bind(out, i, lay)
    return i


def _extras(tr: Tracer, i: int, lay: Lay, outs: Any, label: str) -> None:
    """A call's other outputs (max pooling's indices): layers only if something reads them."""
    if isinstance(outs, (tuple, list)):
        for k, t in enumerate(outs[1:], start=1):
            if isinstance(t, tr.tensor):
                tr.set(t, Info(i, lay, extra=(k, _shape(t), f"{label}_out{k}", tr.scope())))


def unary(tr: Tracer, x: Any, info: Info, out: Any, op: str, keys: dict[str, Any], label: str,
          base: str | None = None) -> bool:  # fmt: skip
    """A shape-keeping op on one tensor; on a pending view it is recorded on the view's base, and the view stays
    pending (a scale on a head's queries keeps them a view of the qkv layer)."""
    xs = _shape(x)
    if _shape(out) != xs:
        return False
    p = info.pend
    if info.extra is None and p is not None and p.dims is not None and _rebased(info, xs):
        rec, lay0 = tr.cuts_done(info)
        i = tr.new(label, op, (), keys, [rec], p.base, lay0, base=base)
        tr.set(out, Info(i, lay0, p._replace(cuts=())))
        return True
    rec, lay = tr.resolve(info, xs, t=x)
    layer(tr, label, op, (), keys, [rec], out, lay, base=base)
    return True


def _rebased(info: Info, tshape: tuple[int, ...]) -> bool:
    """Whether an op on a pending view is better recorded on its base: when the view is no plain layout of the base
    and not a flatten to a vector, which are layers of their own (heads of a qkv layer, windows)."""
    p = info.pend
    assert p is not None and p.dims is not None
    if natural(p.dims, tshape, p.base, info.lay) is not None:
        return False
    lay = default_lay(tshape, len(p.base) >= 3 and info.lay.c == len(p.base) - 1)
    s = shape_of(tshape, lay)
    return bool(s.sizes or s.lead)


def _shifted(lay: Lay, shift: int, tshape: tuple[int, ...]) -> Lay:
    """The layout of a tensor broadcast against one in `lay`, aligned on the right (`shift` axes fewer); its lead
    axes of size 1 are kept after the first larger one, so that the axes stay aligned (a mask (nW, 1, N, N))."""
    n = len(tshape)
    lead = tuple(d - shift for d in lay.lead if 0 <= d - shift < n)
    while lead and tshape[lead[0]] == 1:
        lead = lead[1:]
    sizes = tuple(d - shift for d in lay.sizes)
    c = lay.c - shift if lay.c is not None and lay.c - shift >= 0 else None
    return Lay(lead, sizes, c)


def merge(tr: Tracer, op: str, label: str, items: list[tuple[Any, Info]], out: Any, spread: bool = False) -> bool:
    """An element-wise op on several tensors: the one of the output's shape read as it is, the others in its layout
    (broadcast as PyTorch does, aligned on the right). `spread`: the output may be larger than every input (a gate
    (C, 1, 1) times a map (1, H, W))."""
    os = _shape(out)
    read = [_unbroadcast(info, _shape(t)) for t, info in items]
    shapes = [s for _, s in read]
    infos = [i for i, _ in read]
    ts_ = [t if i is info else None for (t, info), i in zip(items, infos, strict=True)]
    spread = spread or any(s != _shape(t) for s, (t, _) in zip(shapes, items, strict=True))
    full = next((k for k, s in enumerate(shapes) if s == os), None)
    if full is None:
        full = next((k for k, s in enumerate(shapes) if len(s) == len(os)), None) if spread else None
        if full is None:
            return False
    s0, i0 = shapes[full], infos[full]
    rec0, lay0 = tr.resolve(i0, s0, t=ts_[full])
    if s0 != os:
        placed = {*lay0.sizes, lay0.c}
        lay0 = lay0._replace(lead=tuple(d for d in range(len(os)) if d not in placed and os[d] != 1))
        rec0, _ = tr.resolve(i0, s0, _shifted(lay0, 0, s0), t=ts_[full])
    recs = []
    for k, (ts, info) in enumerate(zip(shapes, infos, strict=True)):
        if k == full:
            recs.append(rec0)
            continue
        rec, _ = tr.resolve(info, ts, _shifted(lay0, len(os) - len(ts), ts), t=ts_[k])
        recs.append(rec)
    layer(tr, label, op, (), {}, recs, out, lay0)
    return True


def _needs_layer(tr: Tracer, info: Info, tshape: tuple[int, ...], want: Lay) -> bool:
    if info.extra is not None:
        return True
    p = info.pend
    if p is None:
        dims = ident(tshape)
        return roles(dims, tshape, want) != roles(dims, tshape, info.lay)
    if p.dims is None:
        return True
    return roles(p.dims, tshape, want) != roles(ident(p.base), p.base, info.lay)


def _matrix_lay(tshape: tuple[int, ...]) -> Lay:
    return lay_last(tshape, 1) if len(tshape) >= 2 else Lay((), (), 0 if tshape else None)


# ----------------------------------------------------------------------------- layers with weights


def _weight(tr: Tracer, w: Any, c_out: int) -> tuple[int | None, set[str], bool, set[str]] | None:
    """How a layer holds its weight: (a record giving it, the keys it counts as its own, shared, keys beside it
    (a gain per output channel)); None when it cannot be told."""
    info = tr.get(w)
    if info is not None:
        return tr.base_rec(info), set(), False, set()
    sizes = tr.keys.sizes
    found = {k for k in tr.origins(w) if sizes[k][0]}
    if not found:
        return None
    if not any(sizes[k][1] for k in found):  # a fixed filter (a blur pool's): its buffer is the layer's second input
        made = tr.param_rec(w)
        return (made[0], set(), False, set()) if made is not None else None
    fresh = {k for k in found if k not in tr.claimed}
    if not fresh:
        return None, set(), True, set()
    numel = w.numel()
    if sum(sizes[k][0] for k in fresh) == numel:
        return None, fresh, False, set()
    shape = tuple(w.shape)
    main = [k for k in fresh if tuple(tr.keys.meta[k].shape) == shape] or [k for k in fresh if sizes[k][0] == numel]
    if not main:
        return None
    extra = fresh - {main[0]}
    return None, {main[0]}, False, extra


def _beside(tr: Tracer, out: Any, extra: set[str], c_out: int, label: str) -> None:
    """Parameters a weight is computed from besides itself: a gain per output channel (weight standardisation,
    weight norm) as a `scale` after the layer; anything else apart."""
    gain = {k for k in extra if tr.keys.sizes[k][0] == c_out and tr.keys.sizes[k][1]}
    if len(gain) == 1:
        info = tr.get(out)
        assert info is not None
        rec, lay = info.rec, info.lay
        layer(tr, label, "scale", (), {}, [rec], out, lay, claims=gain)
        extra = extra - gain
    if extra:
        tr.stand_apart(extra)


def conv_layer(
    tr: Tracer, x: Any, info: Info, out: Any, wshape: tuple[int, ...], stride: Any, padding: Any, dilation: Any,
    groups: int, bias: bool, claims: set[str], label: str, base: str | None, *, transposed: bool = False,
    shared: bool = False, weight: int | None = None,
) -> bool:  # fmt: skip
    k = len(wshape) - 2
    xs, os = _shape(x), _shape(out)
    if k < 1 or k > 3 or len(xs) not in (k + 1, k + 2):
        return False
    rec, _ = tr.resolve(info, xs, lay_first(xs, k), t=x)
    kernel, s, d = tuple(wshape[2:]), _tuple(stride, k), _tuple(dilation, k)
    if isinstance(padding, str):
        p: Any = "same" if padding == "same" else (0,) * k
    else:
        p = _tuple(padding, k)
    if transposed:
        # forward(x, output_size=...) chooses the output padding itself: read it off the output
        op = tuple(os[-k + a] - ((xs[-k + a] - 1) * s[a] - 2 * p[a] + d[a] * (kernel[a] - 1) + 1) for a in range(k))
        made = _ops.conv_transpose(wshape[1] * groups, kernel, s, p, op, d, groups, bias)
    else:
        made = _ops.conv(xs[-1 - k], wshape[0], kernel, s, p, d, groups, bias)
    keys = {**made.keys, "shared": True} if shared else made.keys
    ins = [rec] if weight is None else [rec, weight]
    layer(tr, label, made.op, made.pos, keys, ins, out, lay_first(os, k), claims=claims, base=base)
    return True


def linear_layer(
    tr: Tracer, x: Any, info: Info, out: Any, f_out: int, bias: bool, claims: set[str], label: str,
    base: str | None, *, shared: bool = False,
) -> bool:  # fmt: skip
    xs = _shape(x)
    rec, lay = tr.resolve(info, xs, c_last=True, t=x)
    op, pos, keys = _fc(tr.recs[rec].shape, f_out, bias, shared)
    layer(tr, label, op, pos, keys, [rec], out, lay, claims=claims, base=base)
    return True


def _fc(shape: Shape, f_out: int, bias: bool, shared: bool) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    keys: dict[str, Any] = {"bias": bias}
    if shared:
        keys["shared"] = True
    if shape.rank == 2:  # a channels-last image map (ConvNeXt's blocks): a 1x1 convolution
        return "conv", (f_out,), {"k": 1, **keys}
    if shape.rank == 3:
        keys["pointwise"] = True
    return "fc", (f_out,), keys


def norm_layer(
    tr: Tracer, x: Any, info: Info, out: Any, kind: str, claims: set[str], label: str, base: str | None, **opts: Any
) -> bool:
    xs = _shape(x)
    r = len(xs)
    if kind in ("layernorm", "rmsnorm"):
        n = opts["n"]
        rec, lay = tr.resolve(info, xs, c_last=True, t=x)
        if n > 1 and (n - 1 > len(lay.sizes) or lay.sizes[len(lay.sizes) - (n - 1) :] != tuple(range(r - n, r - 1))):
            if n - 1 > 3:
                return False
            rec, lay = tr.resolve(info, xs, lay_last(xs, n - 1), t=x)
    else:
        if r < 2 and kind != "lrn":
            return False
        rec, lay = tr.resolve(info, xs, lay_first(xs, max(r - 2, 0)), t=x)
    layer(tr, label, kind, (), _ops.norm(kind, **opts).keys, [rec], out, lay, claims=claims, base=base)
    return True


def pool_layer(
    tr: Tracer, x: Any, info: Info, out: Any, op: str, k: int, kernel: Any, stride: Any, padding: Any,
    ceil: bool, label: str, base: str | None = None,
) -> bool:  # fmt: skip
    xs = _shape(x)
    if len(xs) not in (k + 1, k + 2):
        return False
    kk = _tuple(kernel, k)
    ss = kk if stride in (None, (), []) else _tuple(stride, k)
    rec, _ = tr.resolve(info, xs, lay_first(xs, k), t=x)
    first = out[0] if isinstance(out, (tuple, list)) else out
    olay = lay_first(_shape(first), k)
    i = layer(tr, label, op, (), _ops.pool(op, kk, ss, _tuple(padding, k), ceil).keys, [rec], first, olay, base=base)
    _extras(tr, i, olay, out, label)
    return True


def adaptive_layer(tr: Tracer, x: Any, info: Info, out: Any, op: str, k: int, label: str,
                   base: str | None = None) -> bool:  # fmt: skip
    xs = _shape(x)
    if len(xs) not in (k + 1, k + 2):
        return False
    first = out[0] if isinstance(out, (tuple, list)) else out
    fs = _shape(first)
    rec, _ = tr.resolve(info, xs, lay_first(xs, k), t=x)
    olay = lay_first(fs, k)
    size = fs[-k:]
    if op == "adaptiveavgpool" and all(v == 1 for v in size):
        i = layer(tr, label, "gap", (), {}, [rec], first, olay, base=base)
    else:
        i = layer(tr, label, op, (size,), {}, [rec], first, olay, base=base)
    _extras(tr, i, olay, out, label)
    return True


def upsample_layer(tr: Tracer, x: Any, info: Info, out: Any, mode: str, scale: Any, label: str,
                   base: str | None = None) -> bool:  # fmt: skip
    xs, os = _shape(x), _shape(out)
    k = len(xs) - 2
    if k < 1 or k > 3 or len(os) != len(xs):
        return False
    rec, _ = tr.resolve(info, xs, lay_first(xs, k), t=x)
    ins, outs = xs[2:], os[2:]
    if mode == "area":
        layer(tr, label, "adaptiveavgpool", (outs,), {}, [rec], out, lay_first(os, k), base=base)
        return True
    if mode not in _ops.UPSAMPLE_MODES:
        return False
    candidates = []
    if scale is not None:
        values = _tuple_float(scale, k)
        if len(set(values)) == 1:
            candidates.append(Fraction(str(values[0])))
    if len({Fraction(o, n) for n, o in zip(ins, outs, strict=True)}) == 1:
        candidates.append(Fraction(outs[0], ins[0]))
    for f in candidates:
        if all(math.floor(n * float(f)) == o for n, o in zip(ins, outs, strict=True)):
            keys = {"scale": f, "mode": _ops.UPSAMPLE_MODES[mode]}
            layer(tr, label, "upsample", (), keys, [rec], out, lay_first(os, k), base=base)
            return True
    return False


def _tuple_float(v: Any, k: int) -> tuple[float, ...]:
    if isinstance(v, (tuple, list)):
        values = tuple(float(x) for x in v)
        return values * k if len(values) == 1 else values
    return (float(v),) * k


# ----------------------------------------------------------------------------- stock modules


def _conv_module(call: Call) -> bool:
    m = call.module
    x, info = call.tracked[0]
    transposed = isinstance(m, call.tr.nn.modules.conv._ConvTransposeNd)
    return conv_layer(call.tr, x, info, call.outs[0], tuple(m.weight.shape), m.stride, m.padding, m.dilation,
                      m.groups, m.bias is not None, call.claims, "convT" if transposed else "conv", call.base,
                      transposed=transposed, shared=call.shared)  # fmt: skip


def _linear_module(call: Call) -> bool:
    m = call.module
    x, info = call.tracked[0]
    return linear_layer(call.tr, x, info, call.outs[0], m.out_features, m.bias is not None, call.claims, "linear",
                        call.base, shared=call.shared)  # fmt: skip


def _bn_module(call: Call) -> bool:
    m = call.module
    if not m.affine or not m.track_running_stats or call.shared:
        return False
    x, info = call.tracked[0]
    return norm_layer(call.tr, x, info, call.outs[0], "bn", call.claims, "bn", call.base)


def _ln_module(call: Call) -> bool:
    m = call.module
    x, info = call.tracked[0]
    affine = m.elementwise_affine
    beta = getattr(m, "bias", None) is not None
    return norm_layer(call.tr, x, info, call.outs[0], "layernorm", call.claims, "layernorm", call.base,
                      n=len(m.normalized_shape), affine=affine, beta=beta)  # fmt: skip


def _rms_module(call: Call) -> bool:
    m = call.module
    x, info = call.tracked[0]
    return norm_layer(call.tr, x, info, call.outs[0], "rmsnorm", call.claims, "rmsnorm", call.base,
                      n=len(m.normalized_shape), affine=m.elementwise_affine)  # fmt: skip


def _gn_module(call: Call) -> bool:
    m = call.module
    x, info = call.tracked[0]
    return norm_layer(call.tr, x, info, call.outs[0], "groupnorm", call.claims, "groupnorm", call.base,
                      g=m.num_groups, affine=m.affine)  # fmt: skip


def _in_module(call: Call) -> bool:
    m = call.module
    x, info = call.tracked[0]
    return norm_layer(call.tr, x, info, call.outs[0], "instancenorm", call.claims, "instancenorm", call.base,
                      affine=m.affine, track=m.track_running_stats)  # fmt: skip


def _lrn_module(call: Call) -> bool:
    x, info = call.tracked[0]
    return norm_layer(call.tr, x, info, call.outs[0], "lrn", call.claims, "lrn", call.base, size=call.module.size)


def _rank_of(m: Any) -> int:
    name = type(m).__mro__
    for cls in name:
        for k in (1, 2, 3):
            if cls.__name__.endswith(f"{k}d") and cls.__module__.startswith("torch.nn"):
                return k
    return 2


def _pool_module(op: str) -> Callable[[Call], bool]:
    def handler(call: Call) -> bool:
        m = call.module
        if op == "maxpool" and set(_tuple(m.dilation, 1)) != {1}:
            return False
        x, info = call.tracked[0]
        out = call.outs if len(call.outs) > 1 else call.outs[0]
        return pool_layer(call.tr, x, info, out, op, _rank_of(m), m.kernel_size, m.stride, m.padding, m.ceil_mode,
                          op, call.base)  # fmt: skip

    return handler


def _adaptive_module(op: str) -> Callable[[Call], bool]:
    def handler(call: Call) -> bool:
        x, info = call.tracked[0]
        out = call.outs if len(call.outs) > 1 else call.outs[0]
        return adaptive_layer(call.tr, x, info, out, op, _rank_of(call.module), op, call.base)

    return handler


def _inplace(op: str, inplace: Any) -> dict[str, Any]:
    """`inplace=true` for a layer that writes its result over its input (`inplace=True`, `relu_`), where its op has
    the option: what a training-memory count needs, as the input's storage is then not kept twice."""
    return {"inplace": True} if inplace is True and get_op(op).param("inplace") is not None else {}


def _same(op: str) -> Callable[[Call], bool]:
    def handler(call: Call) -> bool:
        x, info = call.tracked[0]
        keys = _inplace(op, getattr(call.module, "inplace", False))
        return unary(call.tr, x, info, call.outs[0], op, keys, op, call.base)

    return handler


def _identity_module(call: Call) -> bool:
    x, info = call.tracked[0]
    if info.pend is not None:  # an nn.Identity between the views of an attention (timm's q_norm): nothing
        call.tr.set(call.outs[0], info)
        return True
    return unary(call.tr, x, info, call.outs[0], "identity", {}, "identity", call.base)


def _dropout_module(call: Call) -> bool:
    x, info = call.tracked[0]
    keys = {**_ops.dropout(call.module.p).keys, **_inplace("dropout", call.module.inplace)}
    return unary(call.tr, x, info, call.outs[0], "dropout", keys, "dropout", call.base)


def _droppath_module(call: Call) -> bool:
    x, info = call.tracked[0]
    p = getattr(call.module, "p", None)
    if p is None:
        p = getattr(call.module, "drop_prob", 0)
    return unary(call.tr, x, info, call.outs[0], "droppath", {"p": Fraction(str(p))}, "droppath", call.base)


def _hardtanh_module(call: Call) -> bool:
    m = call.module
    x, info = call.tracked[0]
    op = _ops.clip(m.min_val, m.max_val) or "identity"
    keys = _inplace(op, m.inplace)
    return unary(call.tr, x, info, call.outs[0], op, keys, op if op == "relu6" else "hardtanh", call.base)


def _flatten_module(call: Call) -> bool:
    tr = call.tr
    x, info = call.tracked[0]
    out = call.outs[0]
    xs, os = _shape(x), _shape(out)
    moved_info = moved(info, xs, os, None, "flatten", tr.scope())
    rec, lay = tr.resolve(moved_info, os, t=None)
    if rec != info.rec and rec >= len(tr.recs) - 1 and call.base:
        tr.recs[rec].base = call.base
    tr.bind(out, rec, lay)
    return True


def _upsample_module(call: Call) -> bool:
    m = call.module
    x, info = call.tracked[0]
    return upsample_layer(call.tr, x, info, call.outs[0], m.mode, m.scale_factor, "upsample", call.base)


def _shuffle_module(call: Call) -> bool:
    x, info = call.tracked[0]
    rec, lay = call.tr.resolve(info, _shape(x), lay_first(_shape(x), 2), t=x)
    layer(call.tr, "shuffle", "shuffle", (), {"g": call.module.groups}, [rec], call.outs[0], lay, base=call.base)
    return True


def _pixel_shuffle_module(call: Call) -> bool:
    x, info = call.tracked[0]
    return _to_reshape(call.tr, x, info, call.outs[0], "pixelshuffle", call.base)


def _to_reshape(tr: Tracer, x: Any, info: Info, out: Any, label: str, base: str | None = None) -> bool:
    xs, os = _shape(x), _shape(out)
    rec, _ = tr.resolve(info, xs, lay_first(xs, 2) if len(xs) == 4 else None, t=x)
    lay = lay_first(os, 2) if len(os) == 4 else default_lay(os)
    layer(tr, label, "reshape", (shape_of(os, lay),), {}, [rec], out, lay, base=base)
    return True


_RECURRENT = {"LSTM": "lstm", "GRU": "gru", "RNN_TANH": "rnn", "RNN_RELU": "rnn"}


def _recurrent_module(call: Call) -> bool:
    """nn.LSTM, nn.GRU or nn.RNN as the op of its kind, or else an opaque layer that says why."""
    if _recurrent_layer(call):
        return True
    opaque_module(call)
    call.tr.recs[-1].note = (
        "cnncalc's recurrent ops take a padded sequence from the zero state (or one no layer computes), in a call "
        "of their own: not a packed sequence, a state another layer gives, or a second call"
    )
    return True


def _recurrent_layer(call: Call) -> bool:
    """A padded sequence, (L, C), (L, B, C) or batch first (B, L, C), from the zero state or one that is no layer's
    output; the final states are extra outputs. A packed sequence gives other outputs: False."""
    tr, m = call.tr, call.module
    op = _RECURRENT.get(getattr(m, "mode", ""))
    if op is None or call.shared or len(call.tracked) != 1 or len(call.outs) != (3 if op == "lstm" else 2):
        return False
    x, info = call.tracked[0]
    xs, out = _shape(x), call.outs[0]
    if len(xs) not in (2, 3) or xs[-1] != m.input_size:
        return False
    d = 2 if m.bidirectional else 1
    proj = getattr(m, "proj_size", 0)
    h_out = proj or m.hidden_size
    time = 0 if len(xs) == 2 or not m.batch_first else 1
    batch = () if len(xs) == 2 else xs[1 - time : 2 - time]
    states = [(m.num_layers * d, *batch, h_out), (m.num_layers * d, *batch, m.hidden_size)][: len(call.outs) - 1]
    if _shape(out) != (*xs[:-1], d * h_out) or [_shape(t) for t in call.outs[1:]] != states:
        return False
    lead = (1 - time,) if batch and batch[0] != 1 else ()
    want = Lay(lead, (time,), len(xs) - 1)
    rec, lay = tr.resolve(info, xs, want, t=x)
    keys: dict[str, Any] = {"layers": m.num_layers, "bidirectional": m.bidirectional, "bias": m.bias}
    if proj:
        keys["proj"] = proj
    if m.mode == "RNN_RELU":
        keys["act"] = "relu"
    i = layer(tr, op, op, (m.hidden_size,), keys, [rec], out, lay, claims=call.claims, base=call.base)
    _extras(tr, i, lay, call.outs, op)
    return True


def opaque_module(call: Call) -> bool:
    tr = call.tr
    ins = []
    for t, info in call.tracked:
        ins.append(tr.resolve(info, _shape(t), t=t)[0])
    first = call.tracked[0][1] if call.tracked else None
    out = call.outs[0]
    os = _shape(out)
    c_last = (
        first is not None
        and first.lay.c is not None
        and first.pend is None
        and first.lay.c == len(_shape(call.tracked[0][0])) - 1
        and len(os) >= 3
    )
    c_last = c_last or isinstance(call.module, (tr.nn.Embedding, tr.nn.EmbeddingBag))  # token ids to (B, L, D)
    lay = default_lay(os, c_last)
    i = layer(tr, type(call.module).__name__.lower(), "opaque", (), {}, list(dict.fromkeys(ins)), out, lay,
              claims=call.claims, base=call.base, what=type_label(type(call.module)))  # fmt: skip
    for k, t in enumerate(call.outs[1:], start=1):
        tr.set(t, Info(i, lay, extra=(k, _shape(t), f"{tr.recs[i].base.rpartition('.')[2]}_out{k}", tr.scope())))
    return True


_LEAF_TABLE: list[tuple[type, Callable[[Call], bool], Callable[[Any], bool] | None]] = []
_HANDLERS: dict[type, tuple[Callable[[Call], bool] | None, Callable[[Any], bool] | None]] = {}
MAC_LEAVES: set[Callable[[Call], bool]] = {_conv_module, _linear_module, _recurrent_module}


def _plain(m: Any) -> bool:
    return "parametrizations" not in m._modules


def _plain_conv(m: Any) -> bool:
    return m.padding_mode == "zeros" and "parametrizations" not in m._modules


def _leaf_table(nn: Any) -> list[tuple[type, Callable[[Call], bool], Callable[[Any], bool] | None]]:
    # the activation modules by class name (ReLU6 before Hardtanh, whose subclass it is)
    act = [
        (getattr(nn, name), op) for name, op in _ops.TORCH_ACTIVATIONS.items() if isinstance(getattr(nn, name, 0), type)
    ]
    table: list[tuple[type, Callable[[Call], bool], Callable[[Any], bool] | None]] = [
        *[(cls, _conv_module, _plain_conv) for cls in (nn.Conv1d, nn.Conv2d, nn.Conv3d)],
        *[(cls, _conv_module, _plain_conv) for cls in (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)],
        (nn.Linear, _linear_module, _plain),
        *[(cls, _bn_module, None) for cls in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)],
        (nn.LayerNorm, _ln_module, None),
        (nn.GroupNorm, _gn_module, None),
        *[(cls, _in_module, None) for cls in (nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)],
        (nn.LocalResponseNorm, _lrn_module, None),
        *[(cls, _pool_module("maxpool"), None) for cls in (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)],
        *[(cls, _pool_module("avgpool"), None) for cls in (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)],
        *[(cls, _adaptive_module("adaptiveavgpool"), None)
          for cls in (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)],
        *[(cls, _adaptive_module("adaptivemaxpool"), None)
          for cls in (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)],
        *[(cls, _same(op), None) for cls, op in act],
        (nn.Hardtanh, _hardtanh_module, None),
        *[(cls, _dropout_module, None) for cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
                                                   nn.AlphaDropout)],
        (nn.Identity, _identity_module, None),
        (nn.Flatten, _flatten_module, None), (nn.Unflatten, _flatten_module, None),
        (nn.Upsample, _upsample_module, None),
        (nn.ChannelShuffle, _shuffle_module, None),
        (nn.PixelShuffle, _pixel_shuffle_module, None), (nn.PixelUnshuffle, _pixel_shuffle_module, None),
        *[(cls, _recurrent_module, None) for cls in (nn.LSTM, nn.GRU, nn.RNN)],
        (nn.RNNBase, opaque_module, None), (nn.Embedding, opaque_module, None), (nn.EmbeddingBag, opaque_module, None),
    ]  # fmt: skip
    if hasattr(nn, "RMSNorm"):
        table.append((nn.RMSNorm, _rms_module, None))
    return table


def leaf_handler(nn: Any, module: Any) -> Callable[[Call], bool] | None:
    """How a module becomes one layer, or None to record what its forward does (found once per class)."""
    cls = type(module)
    entry = _HANDLERS.get(cls)
    if entry is None:
        entry = _HANDLERS[cls] = _class_handler(nn, cls)
    handler, check = entry
    if handler is None or (check is not None and not check(module)):
        return None
    return handler


def _class_handler(nn: Any, cls: type) -> tuple[Callable[[Call], bool] | None, Callable[[Any], bool] | None]:
    if not _LEAF_TABLE:
        _LEAF_TABLE.extend(_leaf_table(nn))
    if cls.__name__ == "StochasticDepth":
        return _droppath_module, None
    if cls.__name__ == "FrozenBatchNorm2d":
        return opaque_module, None  # batch norm whose parameters are buffers: no cnncalc op counts them so
    for kind, handler, check in _LEAF_TABLE:
        if issubclass(cls, kind):
            if handler is opaque_module or cls.forward is kind.forward:
                return handler, check
            if handler is _recurrent_module:
                return opaque_module, None  # a recurrent layer with a forward of its own: kept opaque, as before
            return None, None  # its own forward (timm's Conv2dSame, StdConv2d): what it does is recorded
    return None, None


# ----------------------------------------------------------------------------- calls in forwards


def _pass(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    if _shape(out) != _shape(x):
        return False
    tr.set(out, info)
    return True


_VIEWS = words("view view_as reshape reshape_as flatten unflatten squeeze squeeze_ unsqueeze unsqueeze_ ravel")
_PERMUTES = frozenset(["permute", "transpose", "transpose_", "swapaxes", "swapdims", "t", "movedim", "moveaxis"])


def _permutation(name: str, args: tuple[Any, ...], kwargs: dict[str, Any], rank: int) -> tuple[int, ...] | None:
    if name == "permute":
        dims = args[1:] if len(args) > 2 else args[1] if len(args) == 2 else kwargs["dims"]
        dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
        return tuple(_dim(d, rank) for d in dims)
    if name in ("transpose", "transpose_", "swapaxes", "swapdims"):
        b = _bind(args, kwargs, "dim0 dim1", {})
        a, c = _dim(b["dim0"], rank), _dim(b["dim1"], rank)
        perm = list(range(rank))
        perm[a], perm[c] = perm[c], perm[a]
        return tuple(perm)
    if name == "t":
        return (1, 0) if rank == 2 else tuple(range(rank))
    if name in ("movedim", "moveaxis"):
        b = _bind(args, kwargs, "source destination", {})
        src, dst = b["source"], b["destination"]
        src = [_dim(d, rank) for d in (src if isinstance(src, (tuple, list)) else [src])]
        dst = [_dim(d, rank) for d in (dst if isinstance(dst, (tuple, list)) else [dst])]
        order: list[int | None] = [None] * rank
        for s, d in zip(src, dst, strict=True):
            order[d] = s
        rest = iter(d for d in range(rank) if d not in src)
        return tuple(next(rest) if v is None else v for v in order)
    return None


def _move(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    xs = _shape(x)
    perm = _permutation(name, args, kwargs, len(xs)) if name in _PERMUTES else None
    if name in _PERMUTES and perm is None:
        return False
    tr.set(out, moved(info, xs, _shape(out), perm, name.strip("_"), tr.scope()))
    return True


def prop(tr: Tracer, prop: str, x: Any, out: Any) -> None:
    info = tr.get(x)
    assert info is not None
    xs = _shape(x)
    if prop in ("data", "real"):
        tr.set(out, info)
    elif prop in ("T", "mT", "H", "mH") and len(xs) >= 2:
        perm = list(range(len(xs)))
        if prop in ("T", "H"):
            perm.reverse()
        else:
            perm[-2], perm[-1] = perm[-1], perm[-2]
        tr.set(out, moved(info, xs, _shape(out), tuple(perm), "transpose", tr.scope()))
    else:
        opaque_call(tr, prop, getattr(type(x), prop, prop), (x,), {}, out)


def cut_info(tr: Tracer, info: Info, xs: tuple[int, ...], d: int, picks: range | list[int], keep: bool,
             new: tuple[int, ...], label: str, whole: bool = False) -> Info | None:  # fmt: skip
    """A slice of a tensor along axis `d`, pending; the tensor is made a layer first if the axis is not a piece of
    one of its record's written axes. `whole`: a slice even if it takes every position (`x[:, :8]` of 8 channels)."""
    scope = tr.scope()
    found = cut(info, xs, d, picks, keep, new, label, scope, whole)
    if found is not None:
        return found
    r = len(xs)
    _, lay = tr.resolve(info, xs)
    if d in lay.lead and len(lay.sizes) < 3:  # a batch made in the model: its axis a window axis, the rest as it was
        want = Lay(tuple(a for a in lay.lead if a != d), (d, *lay.sizes), lay.c)
    else:
        c = r - 1
        sizes: tuple[int, ...] = (d,) if d != c else ()
        want = Lay(tuple(a for a in range(r) if a not in sizes and a != c and xs[a] != 1), sizes, c)
    rec, lay = tr.resolve(info, xs, want)
    return cut(Info(rec, lay), xs, d, picks, keep, new, label, scope, whole)


def _getitem(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x, index = args[0], args[1]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    items = list(index) if isinstance(index, tuple) else [index]
    if any(isinstance(i, tr.tensor) or (isinstance(i, list) and any(isinstance(v, tr.tensor) for v in i))
           for i in items):  # fmt: skip
        for i in items:
            if isinstance(i, tr.tensor):
                tr.stand_apart({k for k in tr.origins(i) if tr.keys.sizes[k][0]})
        return _gather(tr, x, info, out)
    xs = _shape(x)
    used = sum(1 for i in items if i is not None and i is not Ellipsis)
    if sum(1 for i in items if i is Ellipsis) > 1:
        return False
    full: list[Any] = []
    for i in items:
        if i is Ellipsis:
            full.extend([slice(None)] * (len(xs) - used))
        else:
            full.append(i)
    cur, shape, d = info, xs, 0
    scope = tr.scope()
    for i in full:
        if i is None:
            new = (*shape[:d], 1, *shape[d:])
            cur = moved(cur, shape, new, None, "view", scope)
            shape, d = new, d + 1
            continue
        if isinstance(i, bool):
            return False
        if isinstance(i, slice):
            picks: range | list[int] = range(*i.indices(shape[d]))
            keep = True
        elif isinstance(i, int):
            picks, keep = [i % shape[d]], False
        elif isinstance(i, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in i):
            picks, keep = [v % shape[d] for v in i], True
        else:
            return False
        if i == slice(None):
            d += 1
            continue
        new = shape[:d] + ((len(picks),) if keep else ()) + shape[d + 1 :]
        found = cut_info(tr, cur, shape, d, picks, keep, new, "slice" if keep else "select", whole=True)
        if found is None:
            return False
        cur, shape = found, new
        d += 1 if keep else 0
    if shape != _shape(out):
        return False
    tr.set(out, cur)
    return True


def _gather(tr: Tracer, x: Any, info: Info, out: Any) -> bool:
    """Values picked by an index tensor (Swin-V2's bias table made by its position MLP, spread over token pairs): a
    `gather` layer of the output's shape; the index (a buffer) a fixed table apart."""
    if not isinstance(out, tr.tensor):
        return False
    xs, os = _shape(x), _shape(out)
    rec, lay = tr.resolve(info, xs, t=x)
    olay = default_lay(os, lay.c == len(xs) - 1 and len(xs) >= 2)
    layer(tr, "gather", "gather", (shape_of(os, olay),), {}, [rec], out, olay)
    return True


def _index_select(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    info = tr.get(args[0])
    if info is None:
        return False
    return _gather(tr, args[0], info, out)


def _split(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, (tuple, list)):
        return False
    if name == "unbind":
        dim = _bind(args, kwargs, "dim", {"dim": 0})["dim"]
    elif name in ("split", "unsafe_split", "split_with_sizes"):
        dim = _bind(args, kwargs, "split_size_or_sections dim", {"dim": 0})["dim"]
        if name == "split_with_sizes":
            dim = _bind(args, kwargs, "split_sizes dim", {"dim": 0})["dim"]
    elif name == "tensor_split":
        dim = _bind(args, kwargs, "indices_or_sections dim", {"dim": 0})["dim"]
    else:
        dim = _bind(args, kwargs, "chunks dim", {"dim": 0})["dim"]
    xs = _shape(x)
    d = _dim(dim, len(xs))
    keep = name != "unbind"
    start = 0
    for piece in out:
        if not isinstance(piece, tr.tensor):
            return False
        ps = _shape(piece)
        n = ps[d] if keep else 1
        found = cut_info(tr, info, xs, d, range(start, start + n), keep, ps, name)
        if found is None:
            return False
        tr.set(piece, found)
        start += n
    return True


def _narrow(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None:
        return False
    xs = _shape(x)
    if name == "select":
        b = _bind(args, kwargs, "dim index", {})
        d = _dim(b["dim"], len(xs))
        picks: range | list[int] = [int(b["index"]) % xs[d]]
        keep = False
    else:
        b = _bind(args, kwargs, "dim start length", {})
        d = _dim(b["dim"], len(xs))
        start = int(b["start"]) % xs[d]
        picks, keep = range(start, start + int(b["length"])), True
    found = cut_info(tr, info, xs, d, picks, keep, _shape(out), name)
    if found is None:
        return False
    tr.set(out, found)
    return True


def _items(tr: Tracer, tensors: Any) -> list[tuple[Any, Info]] | None:
    """Tracked tensors, or parameters made `param` layers; None if one is neither."""
    items = []
    for t in tensors:
        if not isinstance(t, tr.tensor):
            return None
        info = tr.get(t)
        if info is None:
            made = tr.param_rec(t) if tr.origins(t) else tr.const_rec(t)
            if made is None:
                made = tr.picked(t)
            if made is None:
                return None
            info = Info(*made)
        items.append((t, info))
    return items


def _cat(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    seq = args[0] if args else kwargs.get("tensors")
    dim = args[1] if len(args) > 1 else kwargs.get("dim", kwargs.get("axis", 0))
    if not isinstance(seq, (tuple, list)) or not isinstance(out, tr.tensor):
        return False
    seq = [t for t in seq if not (isinstance(t, tr.tensor) and t.numel() == 0)]
    items = _items(tr, seq)
    if not items:
        return False
    os = _shape(out)
    d = _dim(dim, len(os))
    scope = tr.scope()
    if name == "stack":
        items = [(t, moved(i, _shape(t), (*_shape(t)[:d], 1, *_shape(t)[d:]), None, "stack", scope))
                 for t, i in items]  # fmt: skip
        shapes = [(*_shape(t)[:d], 1, *_shape(t)[d:]) for t, _ in items]
    else:
        shapes = [_shape(t) for t, _ in items]
    if len(items) == 1:
        tr.set(out, items[0][1])
        return True
    _t0, i0 = items[0]
    _, lay0 = tr.resolve(i0, shapes[0])
    if lay0.c == d:
        axis = -1
    elif d in lay0.sizes:
        axis = lay0.sizes.index(d)
    else:  # along the batch or another lead axis: made the first window axis
        c = lay0.c if lay0.c != d else None
        sizes = (d, *[s for s in lay0.sizes if s != d])
        if len(sizes) > 3:
            return False
        lay0 = Lay(tuple(a for a in range(len(os)) if a not in sizes and a != c and shapes[0][a] != 1), sizes, c)
        axis = 0
    recs = []
    for (_t, info), ts in zip(items, shapes, strict=True):
        want = lay0._replace(lead=tuple(a for a in lay0.lead if ts[a] != 1))
        recs.append(tr.resolve(info, ts, want)[0])
    olay = lay0._replace(lead=tuple(a for a in range(len(os)) if a not in lay0.sizes and a != lay0.c and os[a] != 1))
    layer(tr, "cat", "concat", (), {} if axis == -1 else {"axis": axis}, recs, out, olay)
    return True


# -- element-wise

_DROPOUTS = frozenset(
    ["dropout", "dropout_", "dropout1d", "dropout2d", "dropout3d", "feature_dropout", "alpha_dropout",
     "feature_alpha_dropout"]
)  # fmt: skip
# Element-wise arithmetic with constants: no parameters and no MACs by cnncalc's convention; kept as `identity`.
_ELEMENTWISE = words(
    "abs abs_ neg neg_ __neg__ exp exp_ log log_ sqrt sqrt_ rsqrt rsqrt_ square square_ reciprocal reciprocal_ "
    "clamp clamp_ clamp_min clamp_min_ clamp_max clamp_max_ clip clip_ sign erf floor ceil round pow pow_ __pow__ "
    "__ipow__ __rpow__ nan_to_num nan_to_num_ mish softplus selu celu logsigmoid sin cos "
    "roll flip cumsum masked_fill masked_fill_ fill_ zero_ __invert__ logical_not isnan exp2 "
    "log1p expm1 erfc tan atan hardshrink softsign threshold tanhshrink sinc float_power __abs__ "
    "__lt__ __le__ __gt__ __ge__ __eq__ __ne__ lt le gt ge eq ne"
)


def _activation(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0] if args else kwargs.get("input")
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    inplace = writes_over_input(name, args, kwargs)
    if name in _DROPOUTS:
        p = _bind(args, kwargs, "p training inplace", {"p": 0.5})["p"]
        return unary(tr, x, info, out, "dropout", {**_ops.dropout(p).keys, **_inplace("dropout", inplace)}, "dropout")
    if name.startswith("hardtanh"):
        b = _bind(args, kwargs, "min_val max_val inplace", {"min_val": -1.0, "max_val": 1.0})
        if _ops.clip(b["min_val"], b["max_val"]) == "relu6":
            return unary(tr, x, info, out, "relu6", _inplace("relu6", inplace), "relu6")
    op = _ops.TORCH_ACTIVATIONS.get(name, "identity")
    return unary(tr, x, info, out, op, _inplace(op, inplace), name.strip("_"))


_BINARY = {
    "add": "add", "radd": "add", "iadd": "add", "sub": "sub", "rsub": "sub", "isub": "sub", "subtract": "sub",
    "mul": "mul", "rmul": "mul", "imul": "mul", "multiply": "mul", "div": "div", "truediv": "div",
    "rtruediv": "div", "itruediv": "div", "divide": "div", "true_divide": "div", "rdiv": "div",
    "maximum": "max", "minimum": "min", "fmax": "max", "fmin": "min", "and": "mul", "or": "add",
}  # fmt: skip


def _per_channel(t: Any, xs: tuple[int, ...], c: int | None) -> bool:
    """`t` broadcasts one value per channel of a tensor of shape `xs` (a layer scale (C, 1, 1), a bias (C,))."""
    if c is None or t.numel() != xs[c] or t.dim() > len(xs):
        return False
    shape = [1] * (len(xs) - t.dim()) + list(t.shape)
    return all(s == 1 for i, s in enumerate(shape) if i != c) and shape[c] == xs[c]


def _binary(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    kind = _BINARY[name.strip("_").removesuffix("_")]
    if len(args) < 2 and "other" not in kwargs:
        return False
    a = args[0]
    b = args[1] if len(args) > 1 else kwargs["other"]
    if not isinstance(out, tr.tensor):
        return False
    tensor = tr.tensor
    ia = tr.get(a) if isinstance(a, tensor) else None
    ib = tr.get(b) if isinstance(b, tensor) else None
    op = "add" if kind in ("add", "sub", "max", "min") else "mul"
    label = name.strip("_")
    if ia is not None and ib is not None:
        return merge(tr, op, label, [(a, ia), (b, ib)], out, spread=True)
    x, info, other = (a, ia, b) if ia is not None else (b, ib, a)
    assert info is not None
    if not isinstance(other, tensor):
        return unary(tr, x, info, out, "identity", {}, label)
    found = frozenset(k for k in tr.origins(other) if tr.keys.sizes[k][0])
    if not found:
        if _shape(out) != _shape(x):  # x broadcast against a constant (an identity matrix): the constant an input
            made = Info(*tr.const_rec(other))
            pair = [(a, ia), (b, made)] if ia is not None else [(a, made), (b, ib)]
            return merge(tr, op, label, pair, out, spread=True)  # type: ignore[arg-type]
        return unary(tr, x, info, out, "identity", {}, label)
    xs = _shape(x)
    fresh = {k for k in found if k not in tr.claimed}
    if _shape(out) == xs and fresh == found and all(tr.keys.sizes[k][1] for k in found):
        rec, lay = tr.resolve(info, xs, t=x)
        if _per_channel(other, xs, lay.c) and sum(tr.keys.sizes[k][0] for k in found) == other.numel():
            if kind in ("mul", "div"):
                layer(tr, label, "scale", (), {}, [rec], out, lay, claims=fresh)
                return True
            if kind in ("add", "sub"):
                # a learnt shift after a layer without its bias: that layer's bias
                r = tr.recs[rec]
                fusable = r.op in ("conv", "dwconv", "convT", "fc", "scale") and not r.keys.get("bias")
                if fusable and rec not in tr.consumed and info.pend is None and not r.keys.get("shared"):
                    r.keys = {**r.keys, "bias": True}
                    tr.claimed |= fresh
                    r.claims |= fresh
                    tr.bind(out, rec, lay)
                    return True
    made = tr.param_rec(other)
    spread = made is None
    if made is None:
        made = tr.picked(other)  # a relative-position bias picked from its table
    if made is not None:
        pair = [(a, ia), (b, Info(*made))] if ia is not None else [(a, Info(*made)), (b, ib)]
        return merge(tr, op, label, pair, out, spread=spread)  # type: ignore[arg-type]
    tr.stand_apart(fresh)
    return unary(tr, x, info, out, "identity", {}, label)


def _where(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    b = _bind(args, kwargs, "input other", {})
    values = [v for v in (b.get("input"), b.get("other")) if isinstance(v, tr.tensor) and tr.get(v) is not None]
    if len(values) != 1 or not isinstance(out, tr.tensor):
        return False
    x = values[0]
    info = tr.get(x)
    assert info is not None
    return unary(tr, x, info, out, "identity", {}, "where")


# -- reductions

_REDUCTIONS = frozenset(
    [
        "mean",
        "sum",
        "nansum",
        "amax",
        "amin",
        "max",
        "min",
        "std",
        "var",
        "norm",
        "logsumexp",
        "prod",
        "median",
        "argmax",
        "argmin",
        "all",
        "any",
        "var_mean",
        "std_mean",
        "nanmean",
    ]
)


def _reduce(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None:
        return False
    if name in ("max", "min") and len(args) > 1 and isinstance(args[1], tr.tensor):
        return _binary(tr, "maximum" if name == "max" else "minimum", func, args, kwargs, out)
    names = "p dim keepdim" if name == "norm" else "dim keepdim"
    b = _bind(args, kwargs, names, {"dim": None, "keepdim": False})
    dims = b["dim"]
    first = out[0] if isinstance(out, (tuple, list)) else out
    if not isinstance(first, tr.tensor):
        return False
    xs = _shape(x)
    r = len(xs)
    if dims is None:
        red = [d for d in range(r) if xs[d] != 1]
    else:
        red = sorted({_dim(d, r) for d in (dims if isinstance(dims, (tuple, list)) else [dims])})
    if not red or len(red) > 3:
        return False
    rec, lay = tr.resolve(info, xs, t=x)
    if set(lay.sizes) != set(red):
        rest = [d for d in range(r) if d not in red]
        c = lay.c if lay.c in rest else (rest[-1] if rest else None)
        want = Lay(tuple(d for d in rest if d != c and xs[d] != 1), tuple(red), c)
        rec, lay = tr.resolve(info, xs, want, t=x)
    kept = tuple(1 if d in red else n for d, n in enumerate(xs))
    label = name
    i = tr.new(label, "gap", (), {}, [rec], kept, lay)
    for t in out if isinstance(out, (tuple, list)) else [out]:
        if not isinstance(t, tr.tensor):
            continue
        ts = _shape(t)
        if ts == kept:
            tr.bind(t, i, lay)
        else:
            tr.set(t, moved(Info(i, lay), kept, ts, None, label, tr.scope()))
    return True


# -- layers with weights, as calls


def _conv_call(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    transposed = "transpose" in name
    if transposed:
        defaults = {"bias": None, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1, "dilation": 1}
        b = _bind(args, kwargs, "weight bias stride padding output_padding groups dilation", defaults)
    else:
        b = _bind(args, kwargs, "weight bias stride padding dilation groups",
                  {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1})  # fmt: skip
    w, bias = b["weight"], b["bias"]
    wshape = _shape(w)
    groups = int(b["groups"])
    c_out = wshape[1] * groups if transposed else wshape[0]
    held = _weight(tr, w, c_out)
    if held is None:
        return False
    weight, claims, shared, extra = held
    has_bias, own, bias_t = _bias(tr, bias)
    claims |= own
    if weight is not None and has_bias and claims:
        tr.stand_apart(claims)  # a layer reading its weight as an input counts none of its own
        claims = set()
    label = "convT" if transposed else "conv"
    done = conv_layer(tr, x, info, out, wshape, b["stride"], b["padding"], b["dilation"], groups, has_bias, claims,
                      label, None, transposed=transposed, shared=shared, weight=weight)  # fmt: skip
    if not done:
        return False
    if extra:
        _beside(tr, out, extra, c_out, "gain")
    return _added(tr, out, bias_t)


def _bias(tr: Tracer, bias: Any) -> tuple[bool, set[str], Any]:
    """How a layer holds its bias: (counted as its own, the keys it claims, a tensor to add after it instead: made
    from the data, or of parameters and buffers together, as BEiT's q, k and v biases)."""
    if not isinstance(bias, tr.tensor):
        return bias is not None, set(), None
    if tr.get(bias) is not None:
        return False, set(), bias
    sizes = tr.keys.sizes
    found = {k for k in tr.origins(bias) if sizes[k][0]}
    fresh = {k for k in found if k not in tr.claimed}
    if fresh == found and all(sizes[k][1] for k in fresh) and sum(sizes[k][0] for k in fresh) == bias.numel():
        return True, fresh, None
    return False, set(), bias


def _linear_call(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    b = _bind(args, kwargs, "weight bias", {"bias": None})
    w, bias = b["weight"], b["bias"]
    if not isinstance(w, tr.tensor) or w.dim() != 2:
        return False
    f_out = int(w.shape[0])
    held = None if tr.get(w) is not None else _weight(tr, w, f_out)
    if held is None or held[0] is not None:  # x @ W^T with W made from the data, or a fixed matrix (a buffer)
        return _product(tr, x, w, out, bias, transpose_b=True)
    _, claims, shared, extra = held
    has_bias, own, bias_t = _bias(tr, bias)
    linear_layer(tr, x, info, out, f_out, has_bias, claims | own, "linear", None, shared=shared)
    if extra:
        _beside(tr, out, extra, f_out, "gain")
    return _added(tr, out, bias_t)


def _product(tr: Tracer, a: Any, b: Any, out: Any, add: Any = None, *, transpose_b: bool = False,
             label: str = "matmul") -> bool:  # fmt: skip
    """A @ B (or A @ B^T), batched over the leading axes; `add` a tensor added to the product (addmm's)."""
    tensor = tr.tensor
    if not isinstance(a, tensor) or not isinstance(b, tensor) or not isinstance(out, tensor):
        return False
    if b.dim() < 2 or a.dim() < 1:
        return False  # matrix @ vector: PyTorch's mv, which its FLOP counter leaves out
    ia, ib = tr.get(a), tr.get(b)
    scope = tr.scope()
    if ia is not None and ib is None and not transpose_b and b.dim() == 2:
        held = _weight(tr, b, int(b.shape[1]))
        if held is not None and held[0] is None and not held[3]:  # x @ W with W a parameter: a linear layer
            _, claims, shared, _ = held
            has_bias = False
            if isinstance(add, tensor) and tr.get(add) is None and _shape(add)[-1:] == (int(b.shape[1]),):
                claims |= {k for k in tr.origins(add) if tr.keys.sizes[k][0] and k not in tr.claimed}
                has_bias, add = True, None
            linear_layer(tr, a, ia, out, int(b.shape[1]), has_bias, claims, "linear", None, shared=shared)
            return _added(tr, out, add)
    items = _items(tr, [a, b])
    if items is None:
        return False
    (_, ia), (_, ib) = items
    as_, bs = _shape(a), _shape(b)
    rec_a, _ = tr.resolve(ia, as_, _matrix_lay(as_), t=a)
    perm = (*range(len(bs) - 2), len(bs) - 1, len(bs) - 2)
    swapped = tuple(bs[i] for i in perm)
    # B read as the transpose of what it was made as, when that needs no layer (q @ k.transpose(-2, -1))
    it = moved(ib, bs, swapped, perm, "transpose", scope)
    bt = transpose_b
    if not _needs_layer(tr, it, swapped, _matrix_lay(swapped)) or (
        ib.pend is not None and _needs_layer(tr, ib, bs, _matrix_lay(bs))
    ):
        rec_b, _ = tr.resolve(it, swapped, _matrix_lay(swapped))
        bt = not bt
    else:
        rec_b, _ = tr.resolve(ib, bs, _matrix_lay(bs), t=b)
    os = _shape(out)
    layer(tr, label, "matmul", (), {"bt": True} if bt else {}, [rec_a, rec_b], out, _matrix_lay(os))
    return _added(tr, out, add)


def _added(tr: Tracer, out: Any, add: Any) -> bool:
    """`add` (a bias made in forward) added to a layer's output `out`, in place."""
    if not isinstance(add, tr.tensor):
        return True
    made = tr.get(out)
    assert made is not None
    info = tr.get(add)
    if info is None:
        got = tr.param_rec(add) if tr.origins(add) else None
        if got is None:
            tr.stand_apart({k for k in tr.origins(add) if tr.keys.sizes[k][0]})
            return True
        info = Info(*got)
    return merge(tr, "add", "bias", [(out, made), (add, info)], out, spread=True)


def _matmul(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    if name in ("addmm", "baddbmm", "addbmm"):
        b = _bind(args, kwargs, "mat1 mat2", {}) if name == "addmm" else _bind(args, kwargs, "batch1 batch2", {})
        m1, m2 = (b["mat1"], b["mat2"]) if name == "addmm" else (b["batch1"], b["batch2"])
        return _product(tr, m1, m2, out, add=args[0])
    a = args[0]
    other = args[1] if len(args) > 1 else kwargs.get("other", kwargs.get("mat2"))
    if name == "__rmatmul__":
        a, other = other, a
    return _product(tr, a, other, out)


def _einsum(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """A two-operand einsum as the matrix product PyTorch makes of it: A as (batch, N, K), B as (batch, M, K)."""
    eq = str(args[0]).replace(" ", "")
    ops = list(args[1]) if len(args) == 2 and isinstance(args[1], (list, tuple)) else list(args[1:])
    if len(ops) != 2 or "..." in eq or not isinstance(out, tr.tensor):
        return False
    lhs, arrow, rhs = eq.partition("->")
    la, _, lb = lhs.partition(",")
    if not arrow:
        rhs = "".join(sorted(c for c in la + lb if (la + lb).count(c) == 1))
    if len(set(la)) != len(la) or len(set(lb)) != len(lb) or len(set(rhs)) != len(rhs):
        return False
    items = _items(tr, ops)
    if items is None:
        return False
    (a, ia), (b, ib) = items
    size = dict(zip(la, _shape(a), strict=True)) | dict(zip(lb, _shape(b), strict=True))
    batch = [c for c in la if c in lb and c in rhs]
    contract = [c for c in la if c in lb and c not in rhs]
    a_only = [c for c in la if c not in lb and c in rhs]
    b_only = [c for c in lb if c not in la and c in rhs]
    if len(batch) + len(contract) + len(a_only) != len(la) or len(batch) + len(contract) + len(b_only) != len(lb):
        return False  # an index summed within one operand
    scope = tr.scope()
    bsz = tuple(size[c] for c in batch)
    n, k, m = (math.prod(size[c] for c in cs) for cs in (a_only, contract, b_only))

    def as_matrix(t: Any, info: Info, letters: str, order: list[str], shape: tuple[int, ...]) -> tuple[Info, tuple]:
        perm = tuple(letters.index(c) for c in order)
        ts = _shape(t)
        permuted = tuple(ts[i] for i in perm)
        got = moved(info, ts, permuted, perm, "einsum", scope)
        return moved(got, permuted, shape, None, "einsum", scope), shape

    ma, sa = as_matrix(a, ia, la, batch + a_only + contract, (*bsz, n, k))
    mb, sb = as_matrix(b, ib, lb, batch + b_only + contract, (*bsz, m, k))
    bt = True
    if _needs_layer(tr, mb, sb, _matrix_lay(sb)):
        mb2, sb2 = as_matrix(b, ib, lb, batch + contract + b_only, (*bsz, k, m))
        if not _needs_layer(tr, mb2, sb2, _matrix_lay(sb2)):
            mb, sb, bt = mb2, sb2, False
    rec_a, _ = tr.resolve(ma, sa, _matrix_lay(sa))
    rec_b, _ = tr.resolve(mb, sb, _matrix_lay(sb))
    ms = (*bsz, n, m)
    lay = _matrix_lay(ms)
    i = tr.new("einsum", "matmul", (), {"bt": True} if bt else {}, [rec_a, rec_b], ms, lay)
    letters = batch + a_only + b_only
    full = tuple(size[c] for c in letters)
    got = moved(Info(i, lay), ms, full, None, "einsum", scope)
    got = moved(got, full, _shape(out), tuple(letters.index(c) for c in rhs), "einsum", scope)
    tr.set(out, got)
    return True


# -- attention


def _heads(tr: Tracer, info: Info, tshape: tuple[int, ...]) -> int | None:
    """The number of heads when a tensor is its base (tokens LxC) with the channels split into heads: (..., h, L, d);
    None otherwise."""
    p = info.pend
    if p is None or p.dims is None or info.extra is not None or len(tshape) < 3:
        return None
    lay0, base = info.lay, p.base
    if lay0.c is None or len(lay0.sizes) != 1:
        return None
    cb, sb = lay0.c, lay0.sizes[0]
    d_g, l_g, h_g = p.dims[-1], p.dims[-2], p.dims[-3]
    if l_g != (((sb, 1, base[sb]),) if base[sb] != 1 else ()):
        return None
    if len(d_g) != 1 or d_g[0][0] != cb or d_g[0][1] != 1:
        return None
    d = d_g[0][2]
    h = base[cb] // d
    if h_g != (((cb, d, h),) if h != 1 else ()):
        return None
    lead = [g for g in p.dims[:-3] if g]
    if lead != [((x, 1, base[x]),) for x in lay0.lead if base[x] != 1]:
        return None
    return h


def _attention(tr: Tracer, q: Any, k: Any, v: Any, out: Any, label: str = "attention", mask: Any = None) -> bool:
    """softmax(Q K^T + mask) V: one `attention` layer, reading q, k and v as the layers they are views of when they
    are heads of them (a qkv layer's channels split in three and in heads: `qkv=true`)."""
    items = _items(tr, [q, k, v])
    if items is None or not isinstance(out, tr.tensor):
        return False
    extra: list[int] = []
    if mask is not None:
        got = _items(tr, [mask])
        if got is None:
            return False
        ms = _shape(mask)
        extra = [tr.resolve(got[0][1], ms, _matrix_lay(ms), t=mask)[0]]
    shapes = [_shape(t) for t, _ in items]
    infos = [i for _, i in items]
    heads = [_heads(tr, i, s) for i, s in zip(infos, shapes, strict=True)]
    os = _shape(out)
    if None not in heads and len(set(heads)) == 1:
        h = heads[0]
        assert h is not None
        keys: dict[str, Any] = {"heads": h} if h > 1 else {}
        qi = infos[0]
        assert qi.pend is not None
        roots = {i.rec for i in infos}
        c = qi.pend.base[qi.lay.c]  # type: ignore[index]
        sels = [i.pend.cuts[0].sel if i.pend and len(i.pend.cuts) == 1 and i.pend.cuts[0].axis == -1 else None
                for i in infos]  # fmt: skip
        if len(roots) == 1 and sels == [f"0:{c}", f"{c}:{2 * c}", f"{2 * c}:{3 * c}"]:
            ins = [qi.rec]
            keys["qkv"] = True
        else:
            recs = [tr.cuts_done(i)[0] for i in infos]
            ins = recs[:1] if len(set(recs)) == 1 else recs
        vi = infos[2]
        assert vi.pend is not None and vi.lay.c is not None
        dv = os[-1]
        cb = qi.lay.c
        base = list(qi.pend.base)
        base[cb] = h * dv
        dims = tuple(
            tuple((b, dv if (b, s, n) == (cb, c // h, h) else s, dv if (b, s) == (cb, 1) else n) for b, s, n in g)
            for g in qi.pend.dims  # type: ignore[union-attr]
        )
        if extra:
            keys["mask"] = True
        i = tr.new(label, "attention", (), keys, ins + extra, tuple(base), qi.lay)
        tr.set(out, Info(i, qi.lay, Pend(tuple(base), (), dims, os, label, tr.scope())))
        return True
    recs = [tr.resolve(i, s, _matrix_lay(s), t=t)[0] for (t, i), s in zip(items, shapes, strict=True)]
    ins = recs[:1] if len(set(recs)) == 1 else recs
    layer(tr, label, "attention", (), {"mask": True} if extra else {}, ins + extra, out, _matrix_lay(os))
    return True


def _sdpa(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    b = _bind(args, kwargs, "key value attn_mask dropout_p is_causal scale enable_gqa", {"attn_mask": None})
    q, k, v, mask = args[0], b["key"], b["value"], b["attn_mask"]
    if isinstance(mask, tr.tensor) and tr.get(mask) is None and not tr.origins(mask):
        mask = None  # a mask made of constants (shifted windows, causality) changes no count
    return _attention(tr, q, k, v, out, mask=mask)


def _setitem(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """`x[..., a:b] = v` in place: x plus v padded to x's shape (what counts: no MACs, the shapes); a constant
    written into x changes nothing cnncalc counts."""
    x, index, value = args[0], args[1], args[2]
    info = tr.get(x)
    if info is None:
        return False
    if not isinstance(value, tr.tensor) or tr.get(value) is None:
        if isinstance(value, tr.tensor):
            tr.stand_apart({k for k in tr.origins(value) if tr.keys.sizes[k][0]})
        return True
    xs = _shape(x)
    items = list(index) if isinstance(index, tuple) else [index]
    if Ellipsis in items:
        at = items.index(Ellipsis)
        items = items[:at] + [slice(None)] * (len(xs) - len(items) + 1) + items[at + 1 :]
    if len(items) > len(xs) or not all(isinstance(i, slice) and i.step in (None, 1) for i in items):
        return False
    spans = [(items[d] if d < len(items) else slice(None)).indices(xs[d])[:2] for d in range(len(xs))]
    if _shape(value) != tuple(stop - start for start, stop in spans):
        return False
    pads = [v for d in reversed(range(len(xs))) for v in (spans[d][0], xs[d] - spans[d][1])]
    torch = tr.torch
    padded = torch.empty(xs, device="meta")
    if not _pad(tr, "pad", func, (value, pads), {}, padded):
        return False
    p_info = tr.get(padded)
    assert p_info is not None
    new = torch.empty(xs, device="meta")
    if not merge(tr, "add", "setitem", [(x, info), (padded, p_info)], new):
        return False
    done = tr.get(new)
    assert done is not None
    tr.set(x, done)
    return True


def _addcmul(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """input + value * t1 * t2 (GRN's bias + gamma * x): a product, then a sum, each as `*` and `+` are read."""
    b = _bind(args, kwargs, "tensor1 tensor2 value", {"value": 1})
    base, t1, t2 = args[0], b["tensor1"], b["tensor2"]
    torch = tr.torch
    if not all(isinstance(t, tr.tensor) for t in (base, t1, t2)) or not isinstance(out, tr.tensor):
        return False
    product = torch.empty(torch.broadcast_shapes(t1.shape, t2.shape), device="meta")
    if not _binary(tr, "mul", func, (t1, t2), {}, product) or tr.get(product) is None:
        return False
    return _binary(tr, "add", func, (product, base), {}, out)


def _mha(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """nn.MultiheadAttention's self-attention, as PyTorch runs it off the fast path: in_proj, attention, out_proj."""
    names = ("key value embed_dim_to_check num_heads in_proj_weight in_proj_bias bias_k bias_v add_zero_attn "
             "dropout_p out_proj_weight out_proj_bias training key_padding_mask need_weights attn_mask "
             "use_separate_proj_weight q_proj_weight k_proj_weight v_proj_weight static_k static_v")  # fmt: skip
    b = _bind(args, kwargs, names, {"use_separate_proj_weight": False, "static_k": None, "static_v": None,
                                    "key_padding_mask": None, "attn_mask": None})  # fmt: skip
    q = args[0]
    if b["key"] is not q or b["value"] is not q or b["bias_k"] is not None or b["add_zero_attn"]:
        return False
    if b["use_separate_proj_weight"] or b["static_k"] is not None or b["static_v"] is not None:
        return False
    info = tr.get(q)
    first = out[0] if isinstance(out, (tuple, list)) else out
    if info is None or not isinstance(first, tr.tensor):
        return False
    for mask in (b["key_padding_mask"], b["attn_mask"]):
        if isinstance(mask, tr.tensor):
            if tr.get(mask) is not None:
                return False
            tr.stand_apart({k for k in tr.origins(mask) if tr.keys.sizes[k][0]})
    e, h = int(q.shape[-1]), int(b["num_heads"])
    qs = _shape(q)

    def own(*ts: Any) -> set[str]:
        return {k for t in ts if isinstance(t, tr.tensor) for k in tr.origins(t) if tr.keys.sizes[k][0]}

    claims_in, claims_out = own(b["in_proj_weight"], b["in_proj_bias"]), own(b["out_proj_weight"], b["out_proj_bias"])
    rec, lay = tr.resolve(info, qs, c_last=True, t=q)
    shape = tr.recs[rec].shape
    fresh_in = {k for k in claims_in if k not in tr.claimed}
    op, pos, keys = _fc(shape, 3 * e, b["in_proj_bias"] is not None, not fresh_in)
    tshape = (*qs[:-1], 3 * e)
    i1 = tr.new("in_proj", op, pos, keys, [rec], tshape, lay, claims=fresh_in)
    i2 = tr.new("attention", "attention", (), {"heads": h, "qkv": True}, [i1], qs, lay)
    fresh_out = {k for k in claims_out if k not in tr.claimed}
    op, pos, keys = _fc(shape, e, b["out_proj_bias"] is not None, not fresh_out)
    i3 = tr.new("out_proj", op, pos, keys, [i2], qs, lay, claims=fresh_out)
    if _shape(first) == qs:
        tr.bind(first, i3, lay)
    else:
        tr.set(first, moved(Info(i3, lay), qs, _shape(first), None, "view", tr.scope()))
    _extras(tr, i3, lay, out, "attention")
    return True


# -- normalisation, pooling, resizing, padding as calls


def _norm_call(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    tensor = tr.tensor
    if name == "batch_norm":
        b = _bind(args, kwargs, "running_mean running_var weight bias training", {"weight": None, "bias": None,
                                                                                 "training": False})  # fmt: skip
        parts = [b["running_mean"], b["running_var"], b["weight"], b["bias"]]
        kind, opts = "bn", {}
    elif name == "layer_norm":
        b = _bind(args, kwargs, "normalized_shape weight bias eps", {"weight": None, "bias": None})
        shape = b["normalized_shape"]
        parts = [b["weight"], b["bias"]]
        n = len(shape) if isinstance(shape, (tuple, list)) else 1
        kind, opts = "layernorm", {"n": n, "affine": b["weight"] is not None, "beta": b["bias"] is not None}
    elif name == "rms_norm":
        b = _bind(args, kwargs, "normalized_shape weight eps", {"weight": None})
        shape = b["normalized_shape"]
        parts = [b["weight"]]
        n = len(shape) if isinstance(shape, (tuple, list)) else 1
        kind, opts = "rmsnorm", {"n": n, "affine": b["weight"] is not None}
    elif name == "group_norm":
        b = _bind(args, kwargs, "num_groups weight bias eps", {"weight": None, "bias": None})
        parts = [b["weight"], b["bias"]]
        kind, opts = "groupnorm", {"g": int(b["num_groups"]), "affine": b["weight"] is not None}
        if b["weight"] is not None and b["bias"] is None:  # gamma without beta (PoolFormer-V2): then a scale
            middle = tr.torch.empty(out.shape, device="meta")
            done = norm_layer(tr, x, info, middle, kind, set(), "groupnorm", None, g=opts["g"], affine=False)
            gamma = b["weight"].view(-1, *(1,) * (x.dim() - 2))
            tr.mark(gamma, tr.origins(b["weight"]))
            return done and tr.get(middle) is not None and _binary(tr, "mul", func, (middle, gamma), {}, out)
    elif name == "instance_norm":
        b = _bind(args, kwargs, "running_mean running_var weight bias", {"running_mean": None, "running_var": None,
                                                                         "weight": None, "bias": None})  # fmt: skip
        parts = [b["running_mean"], b["running_var"], b["weight"], b["bias"]]
        kind, opts = "instancenorm", {"affine": b["weight"] is not None, "track": b["running_mean"] is not None}
    else:
        size = _bind(args, kwargs, "size", {})["size"]
        return norm_layer(tr, x, info, out, "lrn", set(), "lrn", None, size=int(size))
    if any(isinstance(t, tensor) and tr.get(t) is not None for t in parts):
        return False
    claims = {k for t in parts if isinstance(t, tensor) for k in tr.origins(t) if tr.keys.sizes[k][0]}
    fresh = {k for k in claims if k not in tr.claimed}
    if kind == "bn" and (b["weight"] is None or b["running_mean"] is None or fresh != claims):
        tr.stand_apart(fresh)  # normalised by the batch's own statistics, or without gamma and beta: no bn layer
        return unary(tr, x, info, out, "identity", {}, "batch_norm")
    if fresh != claims:
        return False
    return norm_layer(tr, x, info, out, kind, fresh, name.replace("_", ""), None, **opts)


def _pool_call(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None:
        return False
    base = name.strip("_").removesuffix("_with_indices")
    k = int(base[-2])
    if base.startswith("adaptive"):
        op = "adaptiveavgpool" if "avg" in base else "adaptivemaxpool"
        return adaptive_layer(tr, x, info, out, op, k, base)
    if base.startswith("max"):
        b = _bind(args, kwargs, "kernel_size stride padding dilation ceil_mode return_indices",
                  {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False})  # fmt: skip
        if set(_tuple(b["dilation"], 1)) != {1}:
            return False
        op = "maxpool"
    else:
        b = _bind(args, kwargs, "kernel_size stride padding ceil_mode count_include_pad divisor_override",
                  {"stride": None, "padding": 0, "ceil_mode": False})  # fmt: skip
        op = "avgpool"
    return pool_layer(tr, x, info, out, op, k, b["kernel_size"], b["stride"], b["padding"], b["ceil_mode"], base)


def _interpolate(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    b = _bind(args, kwargs, "size scale_factor mode align_corners", {"mode": "nearest", "scale_factor": None})
    mode = b["mode"]
    if name == "upsample_bilinear":
        mode = "bilinear"
    return upsample_layer(tr, x, info, out, mode, b["scale_factor"], "interpolate")


def _pad(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    b = _bind(args, kwargs, "pad mode value", {"mode": "constant", "value": None})
    pad = [int(v) for v in b["pad"]]
    xs = _shape(x)
    r = len(xs)
    amounts = {r - 1 - j: (pad[2 * j], pad[2 * j + 1]) for j in range(len(pad) // 2)}
    amounts = {d: v for d, v in amounts.items() if v != (0, 0)}
    t: Any = x
    for d, (before, after) in amounts.items():  # negative padding crops: a slice first (NASNet's shifted path)
        if min(before, after) < 0:
            crop = range(max(0, -before), xs[d] - max(0, -after))
            new = (*xs[:d], len(crop), *xs[d + 1 :])
            got = cut_info(tr, info, xs, d, crop, True, new, "crop")
            if got is None:
                return False
            info, xs, t = got, new, None
    amounts = {d: (max(0, b), max(0, a)) for d, (b, a) in amounts.items() if max(b, a) > 0}
    rec, lay = tr.resolve(info, xs, t=t)
    if not set(amounts) <= set(lay.sizes):
        padded = tuple(sorted(amounts))
        if len(padded) > 3:
            return False
        c = lay.c if lay.c not in amounts else None
        want = Lay(tuple(d for d in range(r) if d not in padded and d != c and xs[d] != 1), padded, c)
        for better in (lay_first(xs, min(r - 2, 3)), lay_last(xs, min(r - 2, 3))):
            if r >= 3 and set(amounts) <= set(better.sizes):
                want = better
                break
        rec, lay = tr.resolve(info, xs, want, t=t)
    values = tuple(v for d in lay.sizes for v in amounts.get(d, (0, 0)))
    mode = _ops.PAD_MODES.get(b["mode"], b["mode"])
    if mode == "zeros" and b["value"]:
        mode = "constant"
    keys = {} if mode == "zeros" else {"mode": mode}
    if not amounts:
        tr.bind(out, rec, lay)
        return True
    layer(tr, "pad", "pad", (values,), keys, [rec], out, lay)
    return True


def _shuffle_call(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    x = args[0]
    info = tr.get(x)
    if info is None:
        return False
    if name in ("pixel_shuffle", "pixel_unshuffle"):
        return _to_reshape(tr, x, info, out, name.replace("_", ""))
    g = int(_bind(args, kwargs, "groups", {})["groups"])
    rec, lay = tr.resolve(info, _shape(x), lay_first(_shape(x), 2), t=x)
    layer(tr, "shuffle", "shuffle", (), {"g": g}, [rec], out, lay)
    return True


def _expand(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """A broadcast (or a repeat) of axes of size 1: pending, its new positions made of a broadcast atom (base axis
    -1), which an element-wise op reads as the tensor before (broadcasting does the same)."""
    x = args[0]
    info = tr.get(x)
    if info is None or not isinstance(out, tr.tensor):
        return False
    xs, os = _shape(x), _shape(out)
    if xs == os:
        tr.set(out, info)
        return True
    extra = len(os) - len(xs)
    padded = (1,) * extra + xs
    if extra < 0 or any(a != b and a != 1 for a, b in zip(padded, os, strict=True)):
        return False
    p = start_pend(info, xs)
    if p.dims is None:
        return False
    dims = ((),) * extra + p.dims
    dims = tuple(((-1, 0, b),) if a == 1 and b != 1 else g for a, b, g in zip(padded, os, dims, strict=True))
    tr.set(out, info._replace(pend=p._replace(dims=dims, shape=os, label=name, scope=tr.scope())))
    return True


def _unbroadcast(info: Info, tshape: tuple[int, ...]) -> tuple[Info, tuple[int, ...]]:
    """A pending broadcast read as the tensor before it: the broadcast axes back to size 1."""
    p = info.pend
    if p is None or p.dims is None or not any(a[0] == -1 for g in p.dims for a in g):
        return info, tshape
    if any(len(g) > 1 and any(a[0] == -1 for a in g) for g in p.dims):
        return info, tshape
    dims = tuple(() if g and g[0][0] == -1 else g for g in p.dims)
    shape = tuple(1 if g and g[0][0] == -1 else n for g, n in zip(p.dims, tshape, strict=True))
    return info._replace(pend=p._replace(dims=dims, shape=shape)), shape


def _normalize(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """F.normalize: the L2 form is an `l2norm` layer (cosine attention; it keeps tensors for the backward), any
    other p an identity, as element-wise arithmetic is."""
    x = args[0] if args else kwargs.get("input")
    info = tr.get(x) if isinstance(x, tr.tensor) else None
    if info is None or not isinstance(out, tr.tensor):
        return False
    p = _bind(args, kwargs, "p dim eps out", {"p": 2.0})["p"]
    return unary(tr, x, info, out, "l2norm" if p == 2 else "identity", {}, "normalize")


_CALLS: dict[str, Callable[..., bool]] = {
    "normalize": _normalize,
    **dict.fromkeys(
        ["contiguous", "clone", "detach", "detach_", "to", "float", "half", "double", "bfloat16", "type", "type_as",
         "cpu", "cuda", "requires_grad_", "align_as", "coalesce"], _pass),
    **dict.fromkeys(["expand", "expand_as", "broadcast_to", "repeat", "tile", "repeat_interleave"], _expand),
    **dict.fromkeys(_VIEWS | _PERMUTES, _move),
    "__getitem__": _getitem,
    **dict.fromkeys(["chunk", "split", "tensor_split", "unbind", "split_with_sizes", "unsafe_split",
                     "unsafe_chunk"], _split),
    "narrow": _narrow, "select": _narrow,
    **dict.fromkeys(["cat", "concat", "concatenate", "stack"], _cat),
    **dict.fromkeys([*(n for n in _ops.TORCH_ACTIVATIONS if n[0].islower() or n[0] == "_"), *_DROPOUTS, "hardtanh",
                     "hardtanh_"], _activation),
    **dict.fromkeys(_REDUCTIONS, _reduce),
    **dict.fromkeys(["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"],
                    _conv_call),
    "linear": _linear_call,
    **dict.fromkeys(["matmul", "__matmul__", "__rmatmul__", "mm", "bmm", "addmm", "baddbmm"], _matmul),
    "einsum": _einsum,
    "scaled_dot_product_attention": _sdpa,
    "multi_head_attention_forward": _mha,
    **dict.fromkeys(["batch_norm", "layer_norm", "rms_norm", "group_norm", "instance_norm", "local_response_norm"],
                    _norm_call),
    **{f"{p}{kind}_pool{k}d{s}": _pool_call for p in ("", "_") for kind in ("max", "avg", "adaptive_avg",
                                                                             "adaptive_max")
       for k in (1, 2, 3) for s in ("", "_with_indices")},
    **dict.fromkeys(["interpolate", "upsample", "upsample_nearest", "upsample_bilinear"], _interpolate),
    "pad": _pad,
    **dict.fromkeys(["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle"], _shuffle_call),
    **dict.fromkeys(["index_select", "gather", "take_along_dim"], _index_select),
    "where": _where,
    "addcmul": _addcmul,
    "__setitem__": _setitem,
}  # fmt: skip


def translate(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """Record a call made in a forward; False to keep it as opaque."""
    handler = _CALLS.get(name)
    if handler is not None:
        return handler(tr, name, func, args, kwargs, out)
    stripped = name.strip("_").removesuffix("_")
    if stripped in _BINARY:
        return _binary(tr, name, func, args, kwargs, out)
    if name in _ELEMENTWISE:
        x = args[0] if args else None
        info = tr.get(x) if isinstance(x, tr.tensor) else None
        if info is None or not isinstance(out, tr.tensor):
            return False
        for t in tensors_in((args[1:], kwargs), tr.tensor):  # clamp bounds held as buffers: fixed tables apart
            if tr.get(t) is None:
                tr.stand_apart({k for k in tr.origins(t) if tr.keys.sizes[k][0]})
        return unary(tr, x, info, out, "identity", {}, stripped or "op")
    return False


def promote(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> bool:
    """A product or convolution of parameters or buffers alone (Swin-V2's position MLP on its coordinate table,
    a weight made of two factors): its data operand becomes a `param` layer and the call a layer, whose MACs count."""
    data = args[1] if name in ("addmm", "baddbmm") and len(args) > 1 else args[0] if args else None
    if name == "einsum" and len(args) > 1:
        data = args[1][0] if isinstance(args[1], (list, tuple)) else args[1]
    if not isinstance(data, tr.tensor) or not data.is_floating_point():
        return False
    if (tr.param_rec(data) if tr.origins(data) else tr.const_rec(data)) is None:
        return False
    start = len(tr.recs)
    tr.journal = []
    try:
        done = translate(tr, name, func, args, kwargs, out)
    except Exception:
        done = False
    if not done:
        tr.rollback(start)
    tr.journal = None
    if not done:
        opaque_call(tr, name, func, args, kwargs, out)
    return True


def opaque_call(tr: Tracer, name: str, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
    outs = tensors_in(out, tr.tensor)
    if not outs and (name.endswith("_") or name.startswith("__i") or name == "__setitem__"):
        outs = [args[0]] if args and isinstance(args[0], tr.tensor) else []
    if not outs:
        return
    ins: list[int] = []
    claims: set[str] = set()
    c_last = False
    for t in tensors_in((args, kwargs), tr.tensor):
        info = tr.get(t)
        if info is None:
            claims |= {k for k in tr.origins(t) if tr.keys.sizes[k][0] and k not in tr.claimed}
            continue
        rec, lay = tr.resolve(info, _shape(t), t=t)
        if not ins:
            c_last = t.dim() >= 3 and lay.c == t.dim() - 1
        if rec not in ins:
            ins.append(rec)
    if not ins:  # nothing the network computed: what it gives is a constant made of those parameters
        for t in outs:
            tr.mark(t, frozenset(claims))
        return
    label = name.strip("_") or "op"
    os = _shape(outs[0])
    lay = default_lay(os, c_last and len(os) >= 3)
    i = layer(tr, label, "opaque", (), {}, ins, outs[0], lay, claims=claims, what=func_label(func))
    for k, t in enumerate(outs[1:], start=1):
        tr.set(t, Info(i, lay, extra=(k, _shape(t), f"{label}_out{k}", tr.scope())))


assert not (IGNORE & set(_CALLS)), IGNORE & set(_CALLS)
