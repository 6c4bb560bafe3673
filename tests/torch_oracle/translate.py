"""Translate a cnncalc Graph into a PyTorch module that runs it, so PyTorch can check cnncalc's figures.

This is the oracle: every layer is PyTorch's own (Conv2d, MaxPool2d, ...), configured from the node's
arguments only. Channel counts and sizes come from running the layers so far on the meta device, never
from cnncalc's shapes or formulas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the usual spelling
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from cnncalc.ir import Graph, Node

try:  # pops the active dispatch modes (the FLOP counter) for a while; private, hence the fallback
    from torch.utils._python_dispatch import _disable_current_modes as outside_modes
except ImportError:  # pragma: no cover - only slower
    from contextlib import nullcontext as outside_modes


class Fn(nn.Module):
    """A parameter-free op as a module, so that every node owns exactly one module."""

    def __init__(self, fn: Callable[..., Tensor], label: str) -> None:
        super().__init__()
        self.fn = fn
        self.label = label

    def forward(self, *xs: Tensor) -> Tensor:
        return self.fn(*xs)

    def extra_repr(self) -> str:
        return self.label


class GraphModule(nn.Module):
    """Runs the nodes in order; each node gets its inputs by name. Returns every output it computed.

    In eval mode (the default after `translate`) the training-only layers are skipped, as torchvision's GoogLeNet and
    Inception v3 skip their auxiliary classifiers; in train mode they run too. Only that choice follows the mode:
    the layers themselves stay in eval mode (BatchNorm1d on a batch of one needs it; dropout is off either way).
    """

    def __init__(
        self, order: list[tuple[str, list[str]]], layers: dict[str, nn.Module], training_only: set[str]
    ) -> None:
        super().__init__()
        self.order = order
        self.training_only = training_only
        # Keys are positions, not layer names: a layer may be called `update` or `keys`.
        self.keys = {name: f"n{i}" for i, (name, _) in enumerate(order)}
        self.layers = nn.ModuleDict({self.keys[name]: module for name, module in layers.items()})

    def layer(self, name: str) -> nn.Module:
        return self.layers[self.keys[name]]

    def train(self, mode: bool = True) -> GraphModule:
        self.training = mode
        return self

    def run_node(self, name: str, inputs: list[str], values: dict[str, Tensor], feeds: dict[str, Tensor]) -> Tensor:
        if not inputs:
            return self.layer(name)(feeds[name])
        return self.layer(name)(*[values[i] for i in inputs])

    def forward(self, feeds: dict[str, Tensor]) -> dict[str, Tensor]:
        values: dict[str, Tensor] = {}
        for name, inputs in self.order:
            if self.training or name not in self.training_only:
                values[name] = self.run_node(name, inputs, values, feeds)
        return values


@dataclass(frozen=True)
class Measure:
    """What PyTorch says about one node."""

    shape: list[int]  # C, H, W (or N for a vector), batch dropped
    params: int
    buffers: int
    macs: int | None  # None: unknown (an `opaque` layer)
    activation_bytes: int  # the output tensor's bytes, batch 1


@dataclass
class Translation:
    """The module that runs a graph, the inputs to run it on, and each node's figures, counted as it was built."""

    module: GraphModule
    feeds: dict[str, Tensor]  # zeros of the input shapes, batch 1, on the device translated for
    measures: dict[str, Measure]  # every node, training-only ones included


class UntranslatableError(NotImplementedError):
    """The graph holds an op this oracle does not know."""


class TrainingOnlyLeakError(ValueError):
    """An inference layer reads a training-only one: PyTorch's eval forward would have no value to give it."""


def translate(graph: Graph, *, bias: bool = True, device: str = "meta") -> Translation:
    """Build the module for `graph`; `bias=False` drops every bias a `bias=` key governs, as `load(bias=False)` counts.

    Each node runs once as it is built (its input sizes decide the next layer's), and its FLOPs are counted as it runs.
    """
    order: list[tuple[str, list[str]]] = []
    layers: dict[str, nn.Module] = {}
    values: dict[str, Tensor] = {}
    feeds: dict[str, Tensor] = {}
    measures: dict[str, Measure] = {}
    training_only: set[str] = set()
    memo = META_RESULTS
    # One counter for the whole walk (entering one per node costs more): a node's FLOPs are what it adds to the count.
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        for node in graph.nodes:
            # Made outside the counter (its dispatch makes building a batch norm 20 times slower) and under the
            # device only while making: running under it costs a dispatch per call.
            with outside_modes(), torch.device(device):
                if node.op == "input":
                    s = node.args["shape"]
                    feeds[node.name] = torch.zeros(1, s.c, s.h, s.w) if s.h is not None else torch.zeros(1, s.c)
                    module: nn.Module = nn.Identity()
                    xs = [feeds[node.name]]
                else:
                    xs = [values[i] for i in node.inputs]
                    module = make_layer(node, xs, bias=bias)
                    module.eval()  # BatchNorm1d on a batch of one needs eval mode
            # A training-only branch starts at a layer marked aux and takes in what only it feeds.
            fed_by = [i in training_only for i in node.inputs]
            if node.aux or (fed_by and all(fed_by)):
                training_only.add(node.name)
            elif any(fed_by):
                leaks = [i for i, t in zip(node.inputs, fed_by, strict=True) if t]
                raise TrainingOnlyLeakError(f"{node.name} is an inference layer but reads training-only {leaks}")
            key = _memo_key(module, xs) if device == "meta" else None
            if key in memo:
                out, flops = memo[key]
            else:
                before = counter.get_total_flops()
                out = module(*xs)
                flops = counter.get_total_flops() - before
                if key is not None:
                    memo[key] = out, flops
            order.append((node.name, list(node.inputs)))
            layers[node.name] = module
            values[node.name] = out
            measures[node.name] = Measure(
                shape=batchless(out),
                params=count_params(module),
                buffers=count_buffers(module),
                macs=None if getattr(module, "macs_unknown", False) else flops // 2 + macs_by_hand(module),
                activation_bytes=out.numel() * out.element_size(),
            )
    return Translation(GraphModule(order, layers, training_only).eval(), feeds, measures)


# On the meta device a layer's output and FLOPs depend on nothing but its configuration (which its repr spells out in
# full for these classes, and an Fn's label for its function) and its inputs' shapes; yet each call costs up to 3 ms
# (batch norm and the element-wise ops run there as Python decompositions), and a big model repeats the same layer on
# the same shape many times. Each distinct (class, repr, input shapes) runs once per session; the rest reuse its
# output and its count.
MEMOISABLE: set[type[nn.Module]] = set()  # filled below, once the oracle's own modules are defined
META_RESULTS: dict[Any, tuple[Tensor, int]] = {}  # (class, repr, input shapes) -> (meta output, FLOPs)


def _memo_key(module: nn.Module, xs: list[Tensor]) -> Any:
    if type(module) not in MEMOISABLE:
        return None
    return type(module), repr(module), tuple((tuple(x.shape), x.dtype) for x in xs)


def make_layer(node: Node, xs: list[Tensor], *, bias: bool) -> nn.Module:
    a = node.args
    op = node.op
    x = xs[0]
    c = x.shape[1]
    use_bias = bias and a.get("bias", True)
    if op == "conv":
        return conv(c, a["out"], a, groups=a.get("g", 1), bias=use_bias, size=x.shape[2:])
    if op == "dwconv":
        return conv(c, c * a.get("m", 1), a, groups=c, bias=use_bias, size=x.shape[2:])
    if op == "convT":
        return nn.ConvTranspose2d(
            c,
            a["out"],
            a["k"],
            stride=a.get("s", (1, 1)),
            padding=a.get("p", (0, 0)),
            output_padding=a.get("op", (0, 0)),
            groups=a.get("g", 1),
            bias=use_bias,
            dilation=a.get("d", (1, 1)),
        )
    if op in ("maxpool", "avgpool"):
        return pool(op, a, size=x.shape[2:])
    if op == "gap":
        return nn.AdaptiveAvgPool2d(1)
    if op == "adaptiveavgpool":
        return nn.AdaptiveAvgPool2d(a["size"])
    if op == "bn":
        return nn.BatchNorm2d(c) if x.dim() == 4 else nn.BatchNorm1d(c)
    if op == "layernorm":
        return LayerNorm2d(c) if x.dim() == 4 else nn.LayerNorm(c)
    if op == "lrn":
        return nn.LocalResponseNorm(a.get("size", 5))
    if op in ACTIVATIONS:
        return ACTIVATIONS[op]()
    if op == "dropout":
        return nn.Dropout(float(a.get("p", 0.5)))
    if op == "droppath":
        return StochasticDepth(float(a.get("p", 0)))
    if op == "flatten":
        return Fn(hwc_vector, "flatten in H, W, C order")
    if op in ("fc", "rbf"):
        # A 1x1xC map (after gap) goes straight into fc; flatten it as nn.Flatten would.
        n_in = math.prod(x.shape[1:])
        dense = nn.Linear(n_in, a["out"], bias=use_bias) if op == "fc" else EuclideanRBF(n_in, a["out"])
        return nn.Sequential(nn.Flatten(), dense) if x.dim() != 2 else dense
    if op == "reshape":
        return Fn(_reshape_to(a["shape"]), f"reshape to {a['shape']}")
    if op == "shuffle":
        return nn.ChannelShuffle(a["g"])
    if op == "slice":
        return channel_slice(a["channels"])
    if op == "scale":
        # cnncalc's `scale` takes its shift only from its own `bias=` key (default off), and load(bias=False) drops
        # it: `use_bias` above says the same. A `set bias=` line does not reach it (see the op tests).
        return Scale(c, spatial=x.dim() == 4, bias=use_bias)
    if op == "opaque":
        return Declared(a["shape"], params=a.get("params", 0), buffers=a.get("buffers", 0), what=a.get("what", "?"))
    if op == "concat":
        return Fn(lambda *ts: torch.cat(ts, dim=1), "cat(dim=1)")
    if op == "add":
        return Fn(_fold(torch.add), "add")
    if op == "mul":
        return Fn(_fold(torch.mul), "mul")
    if op == "upsample":
        mode = a.get("mode", "nearest")
        scale = float(a.get("scale", 2))
        return nn.Upsample(scale_factor=scale, mode=mode, align_corners=False if mode == "bilinear" else None)
    raise UntranslatableError(f"{node.name}: no PyTorch translation for op {op!r}")


ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "hswish": nn.Hardswish,
    "softmax": lambda: nn.Softmax(dim=1),
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "hsigmoid": nn.Hardsigmoid,
    "leakyrelu": nn.LeakyReLU,  # negative slope 0.01, as cnncalc's max(0.01x, x)
    "elu": nn.ELU,
    "identity": nn.Identity,
}


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt): nn.LayerNorm over the channels at each position of an N, C, H, W map."""

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth in "row" mode: drops whole samples of a residual branch while training."""

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        noise = torch.empty([x.shape[0]] + [1] * (x.dim() - 1), dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * (noise.div_(keep) if keep > 0.0 else noise)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Scale(nn.Module):
    """A learnt factor per channel, and optionally a learnt shift: ConvNeXt's layer scale, LeNet-5's subsampling."""

    def __init__(self, channels: int, *, spatial: bool, bias: bool) -> None:
        super().__init__()
        shape = (channels, 1, 1) if spatial else (channels,)  # ConvNeXt's layer_scale is (C, 1, 1)
        self.weight = nn.Parameter(torch.ones(shape))
        self.bias = nn.Parameter(torch.zeros(shape)) if bias else None

    def forward(self, x: Tensor) -> Tensor:
        return x * self.weight if self.bias is None else x * self.weight + self.bias

    def extra_repr(self) -> str:
        return f"{tuple(self.weight.shape)}, bias={self.bias is not None}"


class EuclideanRBF(nn.Module):
    """LeNet-5's output layer: y_i = sum_j (x_j - w_ij)^2, the w fixed (a buffer), not learnt.

    FlopCounterMode counts matrix products and convolutions only, not element-wise work; it counts nothing for this
    layer (test_rbf_is_not_counted_by_torch checks that). So the oracle states its MACs by hand, from the buffer's
    own shape: one multiply (the square) and one accumulate per centre coordinate, in * N.
    """

    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.register_buffer("centres", torch.zeros(n_out, n_in))

    @property
    def macs_by_hand(self) -> int:
        return self.centres.numel()

    def forward(self, x: Tensor) -> Tensor:
        return ((x[:, None, :] - self.centres) ** 2).sum(-1)


class Declared(nn.Module):
    """An `opaque` layer: one PyTorch cannot be given, only its declared output shape, params and buffers.

    There is nothing of PyTorch's own to check it against; the stand-in holds what the spec declares, so that the
    layers around it and the totals can still be checked. Its MACs are unknown: `macs_unknown` makes its Measure say
    None, as cnncalc does, and keeps it out of the totals (FlopCounterMode counts nothing for it either).
    """

    macs_unknown = True

    def __init__(self, shape: Any, *, params: int, buffers: int, what: str) -> None:
        super().__init__()
        self.dims = [shape.c] if shape.h is None else [shape.c, shape.h, shape.w]
        self.what = what
        self.weight = nn.Parameter(torch.zeros(params)) if params else None
        self.register_buffer("state", torch.zeros(buffers) if buffers else None)

    def forward(self, *xs: Tensor) -> Tensor:
        return xs[0].new_zeros([xs[0].shape[0], *self.dims])

    def extra_repr(self) -> str:
        return f"{self.what}, output {self.dims}"


MEMOISABLE.update(
    {nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.Upsample}
    | {nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, LayerNorm2d, nn.LocalResponseNorm, nn.ChannelShuffle}
    | {nn.Dropout, StochasticDepth, Scale, Fn}
    | {type(make()) for make in ACTIVATIONS.values()}
)


def macs_by_hand(module: nn.Module) -> int:
    """MACs of the layers FlopCounterMode cannot see (only EuclideanRBF)."""
    return sum(getattr(m, "macs_by_hand", 0) for m in module.modules())


def channel_slice(picked: tuple[Any, ...]) -> nn.Module:
    if picked[0] == "range":
        _, start, stop = picked
        return Fn(lambda t: t[:, start:stop], f"channels {start}:{stop}")
    index = list(picked)
    return Fn(lambda t: t[:, index], f"channels {index}")


def conv(c_in: int, c_out: int, a: dict[str, Any], *, groups: int, bias: bool, size: torch.Size) -> nn.Module:
    k, s, d = a["k"], a.get("s", (1, 1)), a.get("d", (1, 1))
    p = a.get("p", (0, 0))
    if p != "same" or s == (1, 1):
        # Stride 1 `same` is PyTorch's own padding="same" (the odd extra pixel goes after).
        return nn.Conv2d(c_in, c_out, k, stride=s, padding=p, dilation=d, groups=groups, bias=bias)
    # Stride > 1 `same` is TensorFlow's: out = ceil(N/S), pad what that needs, the extra after.
    pads = [tf_same_pad(n, kk, ss, dd) for n, kk, ss, dd in zip(size, k, s, d, strict=True)]
    (top, bottom), (left, right) = pads
    return nn.Sequential(
        nn.ZeroPad2d((left, right, top, bottom)),
        nn.Conv2d(c_in, c_out, k, stride=s, padding=0, dilation=d, groups=groups, bias=bias),
    )


def tf_same_pad(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's SAME padding along one axis: (before, after)."""
    out = -(-n // s)
    total = max((out - 1) * s + d * (k - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def pool(op: str, a: dict[str, Any], *, size: torch.Size) -> nn.Module:
    k = a["k"]
    s = a.get("s") or k
    p = a.get("p", (0, 0))
    ceil = a.get("ceil", False)
    cls = nn.MaxPool2d if op == "maxpool" else nn.AvgPool2d
    if p != "same":
        return cls(k, stride=s, padding=p, ceil_mode=ceil)
    # PyTorch pools have no `same`; pad by hand as TensorFlow does (max pads with -inf).
    (top, bottom), (left, right) = (tf_same_pad(n, kk, ss) for n, kk, ss in zip(size, k, s, strict=True))
    fill = -math.inf if op == "maxpool" else 0.0
    label = f"pad {left},{right},{top},{bottom} with {fill}"
    pad = Fn(lambda t: F.pad(t, (left, right, top, bottom), value=fill), label)
    return nn.Sequential(pad, cls(k, stride=s, padding=0, ceil_mode=ceil))


def hwc_vector(x: Tensor) -> Tensor:
    """cnncalc flattens H x W x C; the order changes no count but keep it anyway."""
    return x.permute(0, 2, 3, 1).flatten(1) if x.dim() == 4 else x


def _reshape_to(shape: Any) -> Callable[[Tensor], Tensor]:
    def go(x: Tensor) -> Tensor:
        flat = hwc_vector(x)
        if shape.h is None:
            return flat.reshape(1, shape.c)
        return flat.reshape(1, shape.h, shape.w, shape.c).permute(0, 3, 1, 2)

    return go


def _fold(fn: Callable[[Tensor, Tensor], Tensor]) -> Callable[..., Tensor]:
    def go(*ts: Tensor) -> Tensor:
        out = ts[0]
        for t in ts[1:]:
            out = fn(out, t)
        return out

    return go


# ----------------------------------------------------------------------------- measuring


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def count_buffers(module: nn.Module) -> int:
    # BatchNorm's step counter is bookkeeping, not a statistic of the data.
    return sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))


def batchless(t: Tensor) -> list[int]:
    return list(t.shape[1:])


def measure(tr: Translation) -> dict[str, Measure]:
    """Each node's figures, as counted while it was built (training-only nodes included)."""
    return tr.measures


def run_whole(tr: Translation, *, training: bool = False) -> tuple[int, dict[str, Tensor]]:
    """One forward pass of the whole module under one counter: (FLOPs, the outputs it computed).

    FLOPs are FlopCounterMode's (2 per multiply-accumulate), plus 2 x the MACs stated by hand for the layers it cannot
    see (EuclideanRBF). Eval mode, the default, skips the training-only layers, as an inference pass does.
    """
    gm = tr.module
    gm.train(training)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            values = gm(tr.feeds)
    finally:
        gm.eval()
    return counter.get_total_flops() + 2 * sum(macs_by_hand(gm.layer(name)) for name in values), values


def total_flops(tr: Translation, *, training: bool = False) -> int:
    """FLOPs of one whole forward pass: 2 per multiply-accumulate."""
    return run_whole(tr, training=training)[0]


# ----------------------------------------------------------------------------- comparing


def split_params(module: nn.Module) -> tuple[int, int]:
    """(weights, biases): BatchNorm's and LayerNorm's beta, and Scale's shift, are biases, as cnncalc counts them."""
    weights = biases = 0
    for name, p in module.named_parameters():
        if name.rsplit(".", 1)[-1] == "bias":
            biases += p.numel()
        else:
            weights += p.numel()
    return weights, biases


def differences(model: Any, *, bias: bool = True, tr: Translation | None = None, whole: bool = True) -> list[str]:
    """Every figure of `model` (a cnncalc Model) that PyTorch disagrees with, as readable lines.

    `tr` is the model's translation if the caller has already made it (with the same `bias`). Totals are summed from
    the layers' own counts; `whole=True` also runs the whole module, in eval and (if it has training-only layers)
    train mode, and holds cnncalc's totals against those passes too. It doubles the time on the meta device.
    """
    tr = tr or translate(model.graph, bias=bias)
    gm = tr.module
    found = tr.measures
    out: list[str] = []

    def check(what: str, ours: object, torchs: object) -> None:
        if ours != torchs:
            out.append(f"{what}: cnncalc {ours}, torch {torchs}")

    check("layers", [layer.name for layer in model.layers], [name for name, _ in gm.order])
    for layer in model.layers:
        if layer.name not in found:
            continue
        got = found[layer.name]
        weights, biases = split_params(gm.layer(layer.name))
        what = f"{layer.name} ({layer.op})"
        check(f"{what} shape C,H,W", layer.output.dims("chw"), got.shape)
        check(f"{what} params", layer.params, got.params)
        check(f"{what} weights", layer.weights, weights)
        check(f"{what} biases", layer.biases, biases)
        check(f"{what} buffers", layer.buffers, got.buffers)
        check(f"{what} macs", layer.macs, got.macs)
        check(f"{what} activation bytes", layer.activation_bytes, got.activation_bytes)
        check(f"{what} training only", layer.aux, layer.name in gm.training_only)

    # Totals are of inference: every parameter, but MACs and memory only of the layers an eval forward runs.
    inference = [m for name, m in found.items() if name not in gm.training_only]
    macs = sum(m.macs for m in inference if m.macs is not None)  # unknown MACs are left out, never counted as 0
    weights, biases = split_params(gm)
    want = {
        "params": count_params(gm),
        "weights": weights,
        "biases": biases,
        "buffers": count_buffers(gm),
        "macs": macs,
        "flops": 2 * macs,
        "activation_bytes": sum(m.activation_bytes for m in inference),
    }
    # What the training-only layers add: their params, and the MACs a training forward runs beyond inference.
    aux_torch = None
    if gm.training_only:
        aux_torch = {
            "layers": len(gm.training_only),
            "params": sum(found[name].params for name in gm.training_only),
            "macs": sum(found[name].macs or 0 for name in gm.training_only),
        }
    if whole:
        flops, values = run_whole(tr)
        check("whole eval forward: layers run", sorted(values), sorted(set(found) - gm.training_only))
        want.update(macs=flops // 2, flops=flops)
        want["activation_bytes"] = sum(v.numel() * v.element_size() for v in values.values())
        if aux_torch:
            aux_torch["macs"] = (total_flops(tr, training=True) - flops) // 2
    json_totals = model.to_dict()["totals"]
    for field, torchs in want.items():
        check(f"totals {field}", getattr(model.totals, field), torchs)
        check(f"json totals {field}", json_totals.get(field), torchs)
    check("training-only totals", model.report.training_only, aux_torch)
    check("json training-only totals", model.to_dict().get("training_only"), aux_torch)
    return out


# Zoo families that torchvision builds itself: they are checked against torchvision's own modules (parameters per
# module, FlopCounterMode per module, totals against the reference tables) in tests/zoo/test_transformers_video.py
# and tests/zoo/test_video_transformers.py, and through the exporter in tests/bridges/test_export.py; this
# translator builds 2-D CNNs from PyTorch layers only.
TORCHVISION_BUILT = frozenset(
    ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14", "swin_t", "swin_s", "swin_b", "swin_v2_t",
     "swin_v2_s", "swin_v2_b", "maxvit_t", "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "mvit_v1_b", "mvit_v2_s",
     "swin3d_t", "swin3d_s", "swin3d_b"]
)  # fmt: skip
