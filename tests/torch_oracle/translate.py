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
    """Runs the nodes in order; each node gets its inputs by name. Returns every node's output."""

    def __init__(self, order: list[tuple[str, list[str]]], layers: dict[str, nn.Module]) -> None:
        super().__init__()
        self.order = order
        # Keys are positions, not layer names: a layer may be called `update` or `keys`.
        self.keys = {name: f"n{i}" for i, (name, _) in enumerate(order)}
        self.layers = nn.ModuleDict({self.keys[name]: module for name, module in layers.items()})

    def layer(self, name: str) -> nn.Module:
        return self.layers[self.keys[name]]

    def run_node(self, name: str, inputs: list[str], values: dict[str, Tensor], feeds: dict[str, Tensor]) -> Tensor:
        if not inputs:
            return self.layer(name)(feeds[name])
        return self.layer(name)(*[values[i] for i in inputs])

    def forward(self, feeds: dict[str, Tensor]) -> dict[str, Tensor]:
        values: dict[str, Tensor] = {}
        for name, inputs in self.order:
            values[name] = self.run_node(name, inputs, values, feeds)
        return values


@dataclass
class Translation:
    """The module that runs a graph, and the inputs to run it on."""

    module: GraphModule
    feeds: dict[str, Tensor]  # zeros of the input shapes, batch 1, on the device translated for


@dataclass(frozen=True)
class Measure:
    """What PyTorch says about one node."""

    shape: list[int]  # C, H, W (or N for a vector), batch dropped
    params: int
    buffers: int
    macs: int


class UntranslatableError(NotImplementedError):
    """The graph holds an op this oracle does not know."""


def translate(graph: Graph, *, bias: bool = True, device: str = "meta") -> Translation:
    """Build the module for `graph`; `bias=False` drops every conv/fc bias, as `load(bias=False)` counts."""
    order: list[tuple[str, list[str]]] = []
    layers: dict[str, nn.Module] = {}
    values: dict[str, Tensor] = {}
    feeds: dict[str, Tensor] = {}
    with torch.device(device):
        for node in graph.nodes:
            if node.op == "input":
                s = node.args["shape"]
                feeds[node.name] = torch.zeros(1, s.c, s.h, s.w) if s.h is not None else torch.zeros(1, s.c)
                module: nn.Module = nn.Identity()
                out = feeds[node.name]
            else:
                xs = [values[i] for i in node.inputs]
                module = make_layer(node, xs, bias=bias)
                module.eval()  # BatchNorm1d on a batch of one needs eval mode
                out = module(*xs)
            order.append((node.name, list(node.inputs)))
            layers[node.name] = module
            values[node.name] = out
    return Translation(GraphModule(order, layers), feeds)


def make_layer(node: Node, xs: list[Tensor], *, bias: bool) -> nn.Module:
    a = node.args
    op = node.op
    x = xs[0]
    use_bias = bias and a.get("bias", True)
    if op == "conv":
        return conv(x.shape[1], a["out"], a, groups=a.get("g", 1), bias=use_bias, size=x.shape[2:])
    if op == "dwconv":
        c = x.shape[1]
        return conv(c, c * a.get("m", 1), a, groups=c, bias=use_bias, size=x.shape[2:])
    if op == "convT":
        return nn.ConvTranspose2d(
            x.shape[1],
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
        return nn.BatchNorm2d(x.shape[1]) if x.dim() == 4 else nn.BatchNorm1d(x.shape[1])
    if op == "lrn":
        return nn.LocalResponseNorm(a.get("size", 5))
    if op in ACTIVATIONS:
        return ACTIVATIONS[op]()
    if op == "dropout":
        return nn.Dropout(float(a.get("p", 0.5)))
    if op == "flatten":
        return Fn(hwc_vector, "flatten in H, W, C order")
    if op == "fc":
        # A 1x1xC map (after gap) goes straight into fc; flatten it as nn.Flatten would.
        n_in = math.prod(x.shape[1:])
        linear = nn.Linear(n_in, a["out"], bias=use_bias)
        return nn.Sequential(nn.Flatten(), linear) if x.dim() != 2 else linear
    if op == "reshape":
        return Fn(_reshape_to(a["shape"]), f"reshape to {a['shape']}")
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
}


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
    pad = Fn(lambda t: F.pad(t, (left, right, top, bottom), value=fill), f"pad {left},{right},{top},{bottom}")
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
    """Run the graph once, counting each node's FLOPs with its own counter."""
    gm = tr.module
    values: dict[str, Tensor] = {}
    found: dict[str, Measure] = {}
    for name, inputs in gm.order:
        with FlopCounterMode(display=False) as counter:
            values[name] = gm.run_node(name, inputs, values, tr.feeds)
        layer = gm.layer(name)
        found[name] = Measure(
            shape=batchless(values[name]),
            params=count_params(layer),
            buffers=count_buffers(layer),
            macs=counter.get_total_flops() // 2,
        )
    return found


def total_flops(tr: Translation) -> int:
    """FLOPs of one whole forward pass as FlopCounterMode counts them: 2 per multiply-accumulate."""
    with FlopCounterMode(display=False) as counter:
        tr.module(tr.feeds)
    return counter.get_total_flops()


# ----------------------------------------------------------------------------- comparing


def split_params(module: nn.Module) -> tuple[int, int]:
    """(weights, biases): BatchNorm's beta is a bias, as cnncalc counts it."""
    weights = biases = 0
    for name, p in module.named_parameters():
        if name.rsplit(".", 1)[-1] == "bias":
            biases += p.numel()
        else:
            weights += p.numel()
    return weights, biases


def differences(model: Any, *, bias: bool = True) -> list[str]:
    """Every figure of `model` (a cnncalc Model) that PyTorch disagrees with, as readable lines."""
    tr = translate(model.graph, bias=bias)
    found = measure(tr)
    out: list[str] = []

    def check(what: str, ours: object, torchs: object) -> None:
        if ours != torchs:
            out.append(f"{what}: cnncalc {ours}, torch {torchs}")

    for layer in model.layers:
        got = found[layer.name]
        module = tr.module.layer(layer.name)
        weights, biases = split_params(module)
        check(f"{layer.name} ({layer.op}) shape C,H,W", layer.output.dims("chw"), got.shape)
        check(f"{layer.name} ({layer.op}) params", layer.params, got.params)
        check(f"{layer.name} ({layer.op}) weights", layer.weights, weights)
        check(f"{layer.name} ({layer.op}) biases", layer.biases, biases)
        check(f"{layer.name} ({layer.op}) buffers", layer.buffers, got.buffers)
        check(f"{layer.name} ({layer.op}) macs", layer.macs, got.macs)
    flops = total_flops(tr)
    totals = model.to_dict()["totals"]
    fields = ("params", "buffers", "macs", "flops")
    for source, t in (("totals", {f: getattr(model.totals, f) for f in fields}), ("json totals", totals)):
        check(f"{source} params", t["params"], count_params(tr.module))
        check(f"{source} buffers", t["buffers"], count_buffers(tr.module))
        check(f"{source} macs", t["macs"], flops // 2)
        check(f"{source} flops", t["flops"], flops)
    return out
