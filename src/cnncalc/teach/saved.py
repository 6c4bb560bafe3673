"""What PyTorch's autograd keeps for the backward pass, layer by layer, as storages counted once each.

The rules follow the backward formulas of PyTorch's `tools/autograd/derivatives.yaml` and what
`torch.autograd.graph.saved_tensors_hooks` sees on the CPU (torch 2.x): a convolution or linear layer keeps its input,
ReLU its output, batch norm its input and a mean and inverse std per channel, max pooling its input and int64
indices, and so on. They live in one table here, not on the op classes, because they describe PyTorch's
implementation rather than the op's arithmetic (an in-place SiLU keeps a copy of its input, an adaptive average
pool to 1x1 keeps nothing, dropout on the GPU keeps a bool mask), and they are read together against that file.

A tensor is a storage: views (flatten, reshape, slices, permutes) and in-place ops share their input's storage, so
a ReLU output that the next convolution keeps too is counted once, and a channel slice keeps its whole parent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import CnnCalcError

# Autocast on the CPU and the GPU runs these in the low-precision type, casting fp32 inputs (and weights) to it.
AUTOCAST_LOW = frozenset({"conv", "dwconv", "convT", "fc", "matmul", "attention"})
# Ops that alias their input's storage (views, or identity in training).
VIEWS = frozenset({"flatten", "reshape", "identity", "slice", "permute"})
# Activations whose in-place form writes over the input and keeps the result: no storage of their own.
RESULT_KEEPERS = frozenset({"relu", "sigmoid", "tanh", "elu", "leakyrelu"})
# Out of place these keep their input; in place autograd must first copy the input (they need it, and it is gone).
INPUT_KEEPERS = frozenset({"relu6", "hswish", "hsigmoid", "silu", "gelu"})
# Pooling that CPU autocast runs in fp32 on volumes (max_pool3d, avg_pool3d and their adaptive forms); on images and
# signals it keeps the low-precision type.
POOLS = frozenset({"maxpool", "avgpool", "adaptivemaxpool", "adaptiveavgpool", "gap"})
INT64 = 8
FP32 = 4


@dataclass(frozen=True)
class Storage:
    """One block of memory: `per_sample` values for each sample of the batch plus `fixed` values, `itemsize` bytes
    a value. `param` storages are weights (counted as weights, never as saved activations)."""

    key: str
    per_sample: int
    fixed: int
    itemsize: int
    what: str
    param: bool = False

    def nbytes(self, batch: int) -> int:
        return 0 if self.param else (batch * self.per_sample + self.fixed) * self.itemsize


@dataclass(frozen=True)
class LayerSaved:
    """What one layer's backward keeps: storage keys (maybe shared with other layers), and its output's storage."""

    name: str
    op: str
    keeps: tuple[str, ...]
    output: str
    itemsize: int  # bytes a value of its output


@dataclass(frozen=True)
class SavedPlan:
    storages: dict[str, Storage]
    layers: tuple[LayerSaved, ...]
    owner: dict[str, str]  # storage key -> first layer that keeps it (where the table shows it)

    def kept(self) -> set[str]:
        return {k for x in self.layers for k in x.keeps if not self.storages[k].param}

    def nbytes(self, batch: int) -> int:
        return sum(self.storages[k].nbytes(batch) for k in self.kept())

    def layer_bytes(self, batch: int) -> dict[str, int]:
        """Bytes each layer adds to what is kept (a storage shown once, at the first layer keeping it)."""
        out: dict[str, int] = {}
        for key, name in self.owner.items():
            out[name] = out.get(name, 0) + self.storages[key].nbytes(batch)
        return out


class _Walk:
    def __init__(self, base: int, low: int | None) -> None:
        self.base = base  # bytes a value of activations (the --dtype), and of everything under autocast
        self.low = low  # autocast's low-precision bytes a value (None: no autocast)
        self.storages: dict[str, Storage] = {}
        self.tensor: dict[str, tuple[str, int, int]] = {}  # layer -> (storage, values a sample, itemsize)
        self.shape: dict[str, Any] = {}  # layer -> its output Shape

    def new(self, key: str, per_sample: int, fixed: int, itemsize: int, what: str, param: bool = False) -> str:
        self.storages[key] = Storage(key, per_sample, fixed, itemsize, what, param)
        return key


def _casts(w: _Walk, name: str, inputs: list[str]) -> list[str]:
    """Under autocast, the low-precision copy of each fp32 input (made afresh by each op: not cached)."""
    out = []
    for i, src in enumerate(inputs):
        storage, numel, size = w.tensor[src]
        if w.low is None or size == w.low or w.storages[storage].param:
            out.append(storage)
        else:
            out.append(w.new(f"{name}/cast{i}", numel, 0, w.low, f"{name}: its input {src} cast to 2 bytes a value"))
    return out


def plan(layers: list[Any], args: dict[str, dict[str, Any]], *, itemsize: int, amp: int | None = None) -> SavedPlan:
    """Walk `layers` (the report's rows, in graph order) once: what each keeps for the backward pass."""
    w = _Walk(itemsize, amp)
    rows: list[LayerSaved] = []
    owner: dict[str, str] = {}
    for x in layers:
        a = args.get(x.name, {})
        keeps, output, size = _rule(w, x, a)
        w.tensor[x.name] = (output, x.output.numel, size)
        w.shape[x.name] = x.output
        rows.append(LayerSaved(x.name, x.op, tuple(dict.fromkeys(keeps)), output, size))
        for key in keeps:
            if key not in owner and not w.storages[key].param:
                owner[key] = x.name
    return SavedPlan(w.storages, tuple(rows), owner)


def _rule(w: _Walk, x: Any, a: dict[str, Any]) -> tuple[list[str], str, int]:
    """(storages kept, the output's storage, its bytes a value) for one layer."""
    name, op = x.name, x.op
    ins = [w.tensor[i] for i in x.inputs]
    numel = x.output.numel
    in_size = max((t[2] for t in ins), default=w.base)  # type promotion: mixed inputs give the wider type
    if op in ("scale", "lrn") and w.low:
        # Times an fp32 parameter, or (LRN) through avg_pool3d, which autocast runs in fp32: fp32 from there on.
        in_size = FP32
    pool3d = bool(w.low) and op in POOLS and bool(ins) and w.shape[x.inputs[0]].rank == 3
    if pool3d:  # CPU autocast runs 3-D pooling in fp32: its input cast up (a new storage), its output fp32
        in_size = FP32

    def fresh(size: int = in_size, what: str = "output") -> str:
        return w.new(name, numel, 0, size, f"{name}: its {what}")

    if op == "input":
        return [], fresh(FP32 if w.low else w.base, "values"), FP32 if w.low else w.base
    if op == "param":
        return [], w.new(name, 0, 0, w.base, f"{name}: a parameter", param=True), w.base
    picked = a.get("channels")
    if op == "slice" and isinstance(picked, tuple) and picked and picked[0] != "range":
        return [], fresh(), in_size  # a list of channels is gathered into a new tensor (index_select), not a view
    copied = op == "reshape" and a.get("copy")  # a reshape that copies (of a transposed tensor): a new storage
    if (op in VIEWS and not copied) or (op in ("dropout", "droppath") and not a.get("p")):
        return [], ins[0][0], ins[0][2]
    if op in AUTOCAST_LOW:
        low = w.low or in_size
        kept = _casts(w, name, list(x.inputs)) if not (op == "attention" and a.get("mask")) else []
        if w.low and x.weights and not a.get("shared"):
            kept.append(w.new(f"{name}/weight", 0, x.weights, w.low, f"{name}: its weights cast to 2 bytes a value"))
        out = fresh(low)
        if op == "attention":
            kept += _attention(w, x, a, low, [w.tensor[i] for i in x.inputs])
            if not a.get("mask"):
                kept.append(out)
        return kept, out, low
    src, src_numel, src_size = ins[0] if ins else ("", 0, w.base)
    inplace = bool(a.get("inplace"))
    if op in RESULT_KEEPERS:
        out = src if inplace else fresh()
        return [out], out, in_size
    if op in INPUT_KEEPERS:
        if inplace:
            copy = w.new(f"{name}/copy", src_numel, 0, src_size, f"{name}: a copy of its input (in place)")
            return [copy], src, in_size
        return [src], fresh(), in_size
    if op == "softmax":
        out = fresh()
        return [out], out, in_size
    if op == "dropout":
        mask = w.new(f"{name}/mask", numel, 0, 1, f"{name}: the dropout mask, bool")
        return [mask], (src if inplace else fresh()), in_size
    if op == "droppath":
        return [w.new(f"{name}/noise", 1, 0, in_size, f"{name}: one keep-or-drop value a sample")], fresh(), in_size
    rule = RULES.get(op)
    if rule is None:  # add, concat, upsample, pad, shuffle, gap, gather: the backward needs no tensor
        return [], fresh(), in_size
    sources = [t[0] for t in ins]
    if pool3d and src_size != FP32:
        sources[0] = w.new(f"{name}/fp32", src_numel, 0, FP32, f"{name}: its input cast to fp32 (autocast, 3-D)")
    return rule(w, x, a, sources, fresh), name, in_size


def _attention(w: _Walk, x: Any, a: dict[str, Any], low: int, ins: list[tuple[str, int, int]]) -> list[str]:
    """Without a mask, SDPA's fused CPU kernel keeps q, k, v (kept by the caller), its output and one fp32
    log-sum-exp a query a head. With one (a relative-position bias), the attention is written out as torchvision's
    Swin and MaxViT do (SDPA's CPU math path is alike): q times the scale, Q K^T plus the bias, softmax, times V;
    the batched products keep contiguous copies of the head-split k and v, the scaled q, and the softmax (in the
    bias's type if wider, then cast for the product under autocast)."""
    name, heads = x.name, a.get("heads", 1)
    rows = x.output.numel // x.output.c * heads
    if not a.get("mask"):
        return [w.new(f"{name}/lse", rows, 0, FP32, f"{name}: softmax log-sum-exp, fp32")]
    shapes = [w.shape[i] for i in x.inputs]
    q_values = shapes[0].numel // (3 if a.get("qkv") else 1)
    l_k = shapes[1].positions if len(shapes) >= 3 and not a.get("qkv") else x.output.positions
    kv_values = shapes[1].numel if len(shapes) >= 3 and not a.get("qkv") else q_values
    scaled = w.new(f"{name}/q", q_values, 0, low, f"{name}: q times the scale")
    k_copy = w.new(f"{name}/k", kv_values, 0, low, f"{name}: k split into heads (a copy)")
    v_copy = w.new(f"{name}/v", kv_values, 0, low, f"{name}: v split into heads (a copy)")
    probs_size = max(low, ins[-1][2])
    probs = w.new(f"{name}/softmax", rows * l_k, 0, probs_size, f"{name}: the attention weights (softmax)")
    kept = [scaled, k_copy, v_copy, probs]
    if w.low and probs_size != w.low:
        kept.append(w.new(f"{name}/softmax16", rows * l_k, 0, w.low, f"{name}: the attention weights cast"))
    return kept


def _recurrent(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    """nn.GRU, nn.RNN and nn.LSTM with proj_size run step by step on the CPU (ATen's RNN.cpp, composite): per layer,
    direction and step a GRU keeps its hidden-side gates (3H) and four H-sized tensors, an LSTM with projection its
    gates (4H), three H-sized tensors and h_t (P); an RNN its h_t, and the initial states. A layer after the first
    keeps the one before's output. The input is kept as it is for one step; over more, batch first (as the export
    writes it and cnncalc lays out a batch), each direction keeps a time-major copy of it (PyTorch makes none for a
    batch of one without lead axes, which this rule does not tell apart)."""
    op, name = x.op, x.name
    if w.low is not None or w.base != FP32:
        raise CnnCalcError(f"{name}: the training memory of {op} is known in fp32 without autocast only")
    proj = a.get("proj", 0)
    if op == "lstm" and not proj:
        raise CnnCalcError(
            f"{name}: the training memory of lstm is not known: on the CPU nn.LSTM runs through oneDNN, whose "
            "workspace size is its own (give proj= to the layer, or leave training memory out)"
        )
    fresh()
    src = w.shape[x.inputs[0]]
    h, layers = a["hidden"], a.get("layers", 1)
    d = 2 if a.get("bidirectional", False) else 1
    steps, rows = src.positions, src.repeats  # time steps; sequences per sample (lead axes fold into the batch)
    per_step = {"gru": 7 * h, "lstm": 7 * h + proj, "rnn": h}[op]
    kept = []
    if steps > 1:
        kept += [w.new(f"{name}/x{k}", rows * steps * src.c, 0, FP32, f"{name}: its input, time-major (a copy)")
                 for k in range(d)]  # fmt: skip
    else:
        kept.append(ins[0])
    work = layers * d * rows * (steps + 1 if op == "rnn" else steps) * per_step
    between = (layers - 1) * rows * steps * d * (proj or h)
    kept.append(w.new(f"{name}/steps", work + between, 0, FP32, f"{name}: gates and states of every step"))
    return kept


def _stats(w: _Walk, x: Any, per_sample: int, fixed: int, source: str) -> str:
    """A norm's mean and inverse std, in its input's type (bf16 under autocast, as the CPU kernels keep them)."""
    size = w.storages[source].itemsize
    return w.new(f"{x.name}/stats", per_sample, fixed, size, f"{x.name}: mean and inverse std, {size} bytes a value")


def _bn(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    fresh()
    return [ins[0], _stats(w, x, 0, 2 * x.output.c, ins[0])]


def _instancenorm(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    fresh()
    return [ins[0], _stats(w, x, 2 * x.output.c, 0, ins[0])]


def _groupnorm(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    fresh()
    return [ins[0], _stats(w, x, 2 * a.get("g", 1), 0, ins[0])]


def _rows(x: Any, n: int) -> int:
    """How many vectors a norm over the last `n` axes normalises (one mean and std each)."""
    axes = x.output.axes()
    width = 1
    for v in axes[len(axes) - n :]:
        width *= v
    return x.output.numel // width


def _layernorm(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    fresh()
    return [ins[0], _stats(w, x, 2 * _rows(x, a.get("n", 1)), 0, ins[0])]


def _rmsnorm(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    # F.rms_norm is composite: it keeps the input, the inverse rms and the normalised input before gamma, in fp32
    # (a half-precision input is first copied to fp32 beside the fp32 gamma).
    fresh()
    n = x.output.numel
    source = ins[0]
    if w.storages[source].itemsize != FP32:
        source = w.new(f"{x.name}/fp32", n, 0, FP32, f"{x.name}: its input as fp32")
    normed = w.new(f"{x.name}/normed", n, 0, FP32, f"{x.name}: the input over its rms, fp32")
    rstd = w.new(f"{x.name}/stats", _rows(x, a.get("n", 1)), 0, FP32, f"{x.name}: inverse rms, fp32")
    return [source, normed, rstd]


def _l2norm(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    # F.normalize is x / norm(x).clamp_min(eps): it keeps the input, the norm and the clamped norm (one value a
    # vector each, in the input's type).
    fresh()
    size, rows = w.storages[ins[0]].itemsize, x.output.numel // x.output.c
    norm = w.new(f"{x.name}/norm", rows, 0, size, f"{x.name}: the norm of each vector")
    return [ins[0], norm, w.new(f"{x.name}/clamped", rows, 0, size, f"{x.name}: that norm, at least eps")]


def _maxpool(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    fresh()
    return [ins[0], w.new(f"{x.name}/indices", x.output.numel, 0, INT64, f"{x.name}: argmax indices, int64")]


def _keeps_input(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    fresh()
    return [ins[0]]


def _keeps_inputs(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    fresh()
    return list(ins)


def _adaptiveavgpool(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    fresh()
    # To one position PyTorch takes a mean, whose backward needs only the input's shape.
    return [] if x.output.positions == 1 else [ins[0]]


def _lrn(w: _Walk, x: Any, a: dict[str, Any], ins: list[str], fresh: Callable[..., str]) -> list[str]:
    # F.local_response_norm: squares padded by size-1 channels, averaged, raised to beta; input / that.
    out = fresh()
    size = w.storages[out].itemsize
    c, n = x.output.c, x.output.numel
    padded = w.new(f"{x.name}/squares", n // c * (c + a.get("size", 5) - 1), 0, size, f"{x.name}: padded squares")
    base = w.new(f"{x.name}/base", n, 0, size, f"{x.name}: k + alpha * mean of squares")
    power = w.new(f"{x.name}/power", n, 0, size, f"{x.name}: that to the power beta")
    return [ins[0], padded, base, power]


RULES: dict[str, Callable[[_Walk, Any, dict[str, Any], list[str], Callable[..., str]], list[str]]] = {
    "bn": _bn,
    "instancenorm": _instancenorm,
    "groupnorm": _groupnorm,
    "layernorm": _layernorm,
    "rmsnorm": _rmsnorm,
    "l2norm": _l2norm,
    "maxpool": _maxpool,
    "adaptivemaxpool": _maxpool,
    "avgpool": _keeps_input,
    "adaptiveavgpool": _adaptiveavgpool,
    "scale": _keeps_input,
    "rbf": _keeps_input,
    "opaque": _keeps_input,
    "mul": _keeps_inputs,
    "lstm": _recurrent,
    "gru": _recurrent,
    "rnn": _recurrent,
    "lrn": _lrn,
}


def layer_args(graph: Any) -> dict[str, dict[str, Any]]:
    return {n.name: n.args for n in graph.nodes}
