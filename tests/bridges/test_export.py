"""The PyTorch export: every zoo model and every op, written as a file, run by PyTorch and counted by PyTorch.

What is held against cnncalc's figures is PyTorch's own count of the exported module on the meta device (nothing is
computed, so big inputs cost nothing): `sum(p.numel())` for params, the batch-norm statistics and fixed RBF vectors
for buffers, every layer's output shape (each `x_<layer>` variable of the generated forward, and every submodule's
output through a forward hook), and `FlopCounterMode`'s total / 2 for MACs, in eval mode (training-only layers skipped)
and, for networks with auxiliary heads, in training mode too.
"""

from __future__ import annotations

import contextlib
import importlib.util
import runpy
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402 - after the skip
from torch.utils._python_dispatch import TorchDispatchMode  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import zoo  # noqa: E402
from cnncalc.bridges.torch_export import (  # noqa: E402
    _MODULE_ATTRIBUTES,
    CHANNELS_FIRST,
    CHANNELS_LAST,
    layer_identifiers,
    tensor_layouts,
    to_torch,
    torch_source,
)
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.ops import all_ops  # noqa: E402

# ----------------------------------------------------------------------------- the helper both test files use


class _Out:
    """The shape, strides and dtype of one meta tensor an op gave."""

    __slots__ = ("dtype", "shape", "stride")

    def __init__(self, t: Any) -> None:
        self.shape, self.stride, self.dtype = tuple(t.shape), t.stride(), t.dtype

    def make(self) -> Any:
        return torch.empty_strided(self.shape, self.stride, dtype=self.dtype, device="meta")


def _key(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        if value.device.type != "meta":
            raise TypeError("only meta tensors are remembered")
        return (value.shape, value.stride(), value.dtype)  # torch.Size is a tuple: hashable as it is
    if isinstance(value, (list, tuple)):
        return tuple([_key(v) for v in value])
    if isinstance(value, dict):
        return tuple([(k, _key(v)) for k, v in value.items()])
    hash(value)  # raises TypeError for what cannot be a key
    return value


class MetaMemo(TorchDispatchMode):
    """Answers again, from memory, the meta ops that PyTorch's FLOP counter found free of FLOPs.

    On the meta device nothing is computed, but batch norm, ReLU and add run as Python decompositions (about 1 ms a
    call, most of the zoo's time), and most calls repeat, within a model and across models (ResNet-50, -101 and -152
    share their blocks). An op with the same arguments and tensors of the same shape, strides and dtype gives outputs
    of the same shapes, and the counter the same count. So this mode, entered inside a `FlopCounterMode`, runs each
    distinct op once through the counter; a repeat of one that counted 0 FLOPs gets fresh meta tensors of the
    remembered shapes, and any op that counted FLOPs (convolutions, matrix products) goes to the counter every time.
    Ops that write to their inputs or return views of them always run.
    """

    def __init__(self) -> None:
        super().__init__()
        self.memo: dict[Any, Any] = {}
        self.counter: Any = None  # the FlopCounterMode this mode sits in

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        schema = func._schema
        if schema.is_mutable or any(r.alias_info is not None for r in schema.returns):
            return func(*args, **kwargs)
        try:
            key = (func, _key(args), _key(kwargs))
        except TypeError:
            return func(*args, **kwargs)
        known = self.memo.get(key)
        if known is not None:
            with torch._C._DisableTorchDispatch():  # making the outputs is no op for the counter to see
                return known.make() if isinstance(known, _Out) else tuple(o.make() for o in known)
        before = self.counter.get_total_flops()
        out = func(*args, **kwargs)
        if self.counter.get_total_flops() == before:
            if type(out) is torch.Tensor:
                self.memo[key] = _Out(out)
            elif type(out) is tuple and all(type(t) is torch.Tensor for t in out):
                self.memo[key] = tuple(_Out(t) for t in out)
        return out


MEMO = MetaMemo()  # one for the session: a model's ops are mostly another's


@dataclass
class Run:
    """What PyTorch says about one forward pass of an exported network."""

    net: Any
    outputs: Any
    values: dict[str, Any]  # every local of forward: x_<layer> for each layer that ran
    module_outputs: dict[str, tuple[int, ...]]  # submodule attribute -> output shape (forward hooks)
    macs: int


@contextlib.contextmanager
def _remembering(counter: Any, device: str) -> Any:
    if device != "meta":
        yield
        return
    MEMO.counter = counter
    with MEMO:
        yield


def held(shape: Any, layout: str) -> list[int]:
    """A cnncalc shape as the exported module holds it, batch left out: the lead axes, then channels first (C and
    the sizes) or channels last (the sizes and C, the spec's own order), as `tensor_layouts` says."""
    body = [*shape.sizes, shape.c] if layout == CHANNELS_LAST else [shape.c, *shape.sizes]
    return [*shape.lead, *body]


def feeds_of(model: cnncalc.Model, batch: int, device: str) -> list[Any]:
    layouts = tensor_layouts(model.graph)
    return [torch.zeros(batch, *held(shape, layouts[name]), device=device) for name, shape in model.report.inputs]


def own_counts(net: Any, ident: str) -> tuple[int, int]:
    """(params, buffers) of the attribute a layer owns: a submodule, or a free tensor (param: a parameter or a
    buffer of its own)."""
    found = getattr(net, ident, None)
    if isinstance(found, torch.Tensor):
        return (found.numel(), 0) if isinstance(found, nn.Parameter) else (0, found.numel())
    return (params_of(found), buffers_of(found)) if found is not None else (0, 0)


def run_exported(model: cnncalc.Model, *, training: bool = False, device: str = "meta") -> Run:
    """Export `model`, build it on `device`, run it once on zeros and count it (MACs per image).

    Batch 1 in eval mode; batch 2 in training mode, where batch norm needs more than one value per channel.
    """
    batch = 2 if training else 1
    with torch.device(device):
        net = model.to_torch()
    net.train(training)
    feeds = feeds_of(model, batch, device)
    module_outputs: dict[str, tuple[int, ...]] = {}

    def hook(name: str) -> Any:
        def record(_module: Any, _args: Any, out: Any) -> None:
            first = out[0] if isinstance(out, tuple) else out  # nn.LSTM: (output, (h_n, c_n))
            module_outputs.setdefault(name, tuple(first.shape))  # a module called again (shared=true): its first call

        return record

    for name, child in net.named_children():
        child.register_forward_hook(hook(name))
    frames: list[Any] = []
    code = type(net).forward.__code__

    def trace(frame: Any, _event: str, _arg: Any) -> None:
        # Catch forward's frame as it starts and stop tracing at once (tracing the meta kernels' Python would double
        # their cost). A finished frame keeps its locals: after the return, they are every layer's output.
        if frame.f_code is code:
            frames.append(frame)
            sys.settrace(None)

    previous = sys.gettrace()
    with torch.no_grad(), FlopCounterMode(display=False) as counter, _remembering(counter, device):
        sys.settrace(trace)
        try:
            outputs = net(*feeds)
        finally:
            sys.settrace(previous)
    values = dict(frames[0].f_locals)
    return Run(net, outputs, values, module_outputs, counter.get_total_flops() // 2 // batch)


def buffers_of(module: Any) -> int:
    # BatchNorm's step counter is bookkeeping, not a statistic of the data.
    return sum(b.numel() for name, b in module.named_buffers() if not name.endswith("num_batches_tracked"))


def params_of(module: Any) -> int:
    return sum(p.numel() for p in module.parameters())


def disagreements(model: cnncalc.Model, *, training: bool = False) -> list[str]:
    """Every figure of `model` (loaded with bias=True) that PyTorch counts otherwise in its export, as lines."""
    run = run_exported(model, training=training)
    net = run.net
    batch = 2 if training else 1
    ids = layer_identifiers(model.graph)
    layouts = tensor_layouts(model.graph)
    out: list[str] = []

    def check(what: str, ours: object, torchs: object) -> None:
        if ours != torchs:
            out.append(f"{what}: cnncalc {ours}, torch {torchs}")

    check("params", model.totals.params, params_of(net))
    check("buffers", model.totals.buffers, buffers_of(net))
    aux = model.report.training_only
    check("MACs", model.totals.macs + (aux["macs"] if aux and training else 0), run.macs)
    for layer in model.layers:
        ident = ids[layer.name]
        what = f"{layer.name} ({layer.op})"
        params, buffers = own_counts(net, ident)
        check(f"{what} params", layer.params, params)
        check(f"{what} buffers", layer.buffers, buffers)
        ran = "x_" + ident in run.values
        check(f"{what} computed", not layer.aux or training, ran)
        if not ran:
            continue
        want = [batch, *held(layer.output, layouts[layer.name])]
        check(f"{what} shape", want, list(run.values["x_" + ident].shape))
        if ident in run.module_outputs:
            check(f"{what} module output", want, _module_output(layer.output, batch, want, run.module_outputs[ident]))
    outputs = run.outputs if isinstance(run.outputs, tuple) else (run.outputs,)
    want_out = [n.name for n in model.graph.outputs if training or not model.layer(n.name).aux]
    check(
        "outputs",
        [[batch, *held(model.layer(n).output, layouts[n])] for n in want_out],
        [list(t.shape) for t in outputs],
    )
    if out and run.macs != model.totals.macs:
        out.extend(_mac_breakdown(model, net, training, batch))
    return out


def _module_output(shape: Any, batch: int, want: list[int], got: tuple[int, ...]) -> list[int]:
    """A submodule's output shape, as `want` if it is the layer's tensor seen another way: a layer that takes no lead
    axes (a convolution, a pool, a batch norm) sees them folded into N, and a norm over the channels of a map held
    channels first runs on it channels last (moved there and back around the submodule)."""
    for layout in (CHANNELS_FIRST, CHANNELS_LAST):
        dims = held(shape, layout)
        if list(got) in ([batch, *dims], [batch * shape.repeats, *dims[len(shape.lead) :]]):
            return want
    return list(got)


def _mac_breakdown(model: cnncalc.Model, net: Any, training: bool, batch: int) -> list[str]:
    """Per-layer MACs where they differ (run again with the counter following submodules; only on a failure)."""
    ids = layer_identifiers(model.graph)
    feeds = feeds_of(model, batch, "meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        net(*feeds)
    per_module = {k.rsplit(".", 1)[-1]: sum(v.values()) // 2 // batch for k, v in counter.get_flop_counts().items()}
    lines = []
    for layer in model.layers:
        if layer.aux and not training:
            continue
        torchs = per_module.get(ids[layer.name], 0)
        if (layer.macs or 0) != torchs:
            lines.append(f"  {layer.name} ({layer.op}) MACs: cnncalc {layer.macs}, torch (its submodule) {torchs}")
    return lines


# ----------------------------------------------------------------------------- the zoo

ZOO = [(name, {}) for name in zoo.names()] + [("googlenet", {"aux": True})]


def _id(case: tuple[str, dict[str, Any]]) -> str:
    name, options = case
    return name + "".join(f"-{k}={v}" for k, v in options.items())


@pytest.mark.parametrize("case", ZOO, ids=_id)
def test_zoo_model_exports_exactly(case: tuple[str, dict[str, Any]]) -> None:
    name, options = case
    model = cnncalc.load(name, options=options or None)
    assert disagreements(model) == []


@pytest.mark.parametrize("case", [("googlenet", {"aux": True}), ("inception_v3", {})], ids=_id)
def test_training_forward_runs_and_returns_the_auxiliary_heads(case: tuple[str, dict[str, Any]]) -> None:
    name, options = case
    model = cnncalc.load(name, options=options or None)
    assert model.report.training_only
    assert disagreements(model, training=True) == []


def test_the_zoo_is_all_here() -> None:
    assert len(zoo.names()) >= 75


# ----------------------------------------------------------------------------- every op

EVERY_OP = """
img: input 20x24x3
c1: conv 8 k=3 p=same s=2 bias=false
c2: conv 8 k=3x5 s=1x2 p=1x2 d=2x1 g=4
c3: conv 6 k=4 p=same
dw: dwconv k=3 m=2 p=1 from=c1
ct: convT 4 k=3 s=2 p=1 op=1 d=1 g=2 from=c2
mp: maxpool k=3 s=2 p=1 ceil=true from=c1
ms: maxpool k=2 s=3 p=same from=c1
av: avgpool k=3 s=2 p=same from=c1
a2: avgpool k=2 from=dw
up: upsample scale=2 mode=bilinear from=a2
un: upsample scale=0.5 mode=nearest from=up
ad: adaptiveavgpool 3x2 from=un
b: bn from=mp
ln: layernorm
lr: lrn size=3
r: relu
r6: relu6
sg: sigmoid
th: tanh
hs: hswish
sm: softmax
ge: gelu
si: silu
hg: hsigmoid
lk: leakyrelu
el: elu
id: identity
do: dropout p=0.2
dp: droppath p=0.1
sh: shuffle g=4
sa: slice 2:6
sb: slice 0,3,1 from=sh
cat: concat from=sa,sb
gp: gap from=c3
gate: conv 8 k=1
gs: sigmoid
ml: mul from=mp,gs
ad2: add from=ml,b
sc: scale bias=true
sc2: scale
rs: reshape 7x6x8
fl: flatten
fc: fc 32
bv: bn
lv: layernorm
lrv: lrn size=3
slv: slice 4:20
scv: scale bias=true
rbf: rbf 10
vec: reshape 16 from=slv
gv: gap from=ad2
fcm: fc 8 from=gv
fcm2: fc 8 from=fcm
addv: add from=gv,fcm2
addw: add from=fcm2,gv
mulw: mul from=fcm2,fcm
rsm: reshape 2x2x4 from=vec
"""

# Tensors of any rank: 1-D signals, volumes, tokens, heads and windows (lead axes), and the ops made for them.
EVERY_OP += """
am2: adaptivemaxpool 3x2 from=c1
rm2: rmsnorm from=c1
gn2: groupnorm g=2 from=c1
in2: instancenorm affine=true from=c1
pd2: pad 0,1,2,0 from=c1
sig: input 40x6
c1d: conv 8 k=5 s=2 p=2 g=2
c1s: conv 8 k=4 p=same from=sig
dw1: dwconv k=3 m=2 s=2 p=same
ct1: convT 4 k=4 s=2 p=1 op=1 from=c1d
mp1: maxpool k=3 s=2 p=1 from=c1d
ap1: avgpool k=2 ceil=true from=c1s
up1: upsample scale=2 mode=linear
am1: adaptivemaxpool 5
aa1: adaptiveavgpool 3
g1: gap from=c1d
bn1: bn from=mp1
gn1: groupnorm g=4
in1: instancenorm affine=true track=true
lr1: lrn size=3
pd1: pad 1,2 mode=reflect
tk1: fc 12
rv: reshape 2x5x2x8 from=c1d
rvc: conv 4 k=1
vid: input 6x10x12x3
cv3: conv 8 k=3x3x3 s=1x2x2 p=1 bias=false
cvs3: conv 8 k=2 s=2 p=same from=vid
dw3: dwconv k=3 p=1 from=cv3
ct3: convT 4 k=2 s=2 g=4 from=cv3
mp3: maxpool k=1x3x3 s=1x2x2 p=0x1x1 from=cv3
av3: avgpool k=2 s=1 p=same from=cv3
up3: upsample scale=2 mode=trilinear from=mp3
am3: adaptivemaxpool 2x3x3
aa3: adaptiveavgpool 1x2x2 from=cv3
gp3: gap from=cv3
bn3: bn from=cv3
gn3: groupnorm g=2 affine=false
in3: instancenorm
ln3: layernorm
rms3: rmsnorm n=2
pw3: fc 5 pointwise=true
pd3: pad 1,0,0,1,1,1 mode=replicate
pc3: pad 1 mode=circular from=cv3
fl3: flatten from=cvs3
tok: input 12x16
cls: param 1x16
seq: concat axis=0 from=cls,tok
pos: param 13x16
x0: add from=seq,pos
lnt: layernorm
qkv: fc 48
att: attention heads=4 qkv=true
prj: fc 16
r1: add from=x0,prj
ln2: layernorm n=2 beta=false
rms: rmsnorm affine=false
heads: reshape 4*13x4 from=r1
kt: permute 1,0
lgt: matmul from=heads,kt
scm: matmul bt=true from=heads,heads
lsc: param 4x1x1
scl: mul from=lgt,lsc
smx: softmax
ctx: matmul from=smx,heads
mrg: reshape 13x16
tbl: param 9x4
bias: gather 4*13x13
att2: attention heads=4 mask=true from=r1,bias
vv: fc 8 from=tok
att3: attention heads=2 from=mrg,tok,vv
first: slice 0:1 axis=0
pick: slice 0,2,5 axis=-2 from=att3
cat2: concat axis=-2 from=first,pick
vec1: flatten from=first
mt: param 8x3
vm: matmul from=vec1,mt
tb4: param 4x5
bm: matmul from=heads,tb4
buf: param 5x5x2 buffer=true
fix: param 7x2 const=true
pdt: pad 1,1 from=r1
tsm: softmax from=r1
l2t: l2norm from=r1
win: input 3*8x8x4
cw: conv 6 k=3 p=1
bnw: bn
lnw: layernorm
l2w: l2norm
upw: upsample
mpw: maxpool k=2
pww: fc 8 pointwise=true
sw: softmax
ww: reshape 3*64x8
aw: attention heads=2
lw: lstm 6 layers=2 bidirectional=true proj=2 from=ww
gw: gru 5 bias=false
rt: rnn 4 act=relu from=tok
"""


def test_every_op_of_the_registry_is_exported_and_counted() -> None:
    model = cnncalc.load(EVERY_OP)
    used = {layer.op for layer in model.layers}
    assert sorted({op.name for op in all_ops()} - used - {"opaque"}) == []
    assert disagreements(model) == []


# Tensors of any rank meeting in one network: layers that take channels first (convolutions, pools, per-channel norms)
# and channels last (linear layers, products, attention), lead axes folded and unfolded, inputs of several layouts.
ND_SPECS = {
    "same-and-pools-over-lead": [
        "input 2*9x9x3",
        "c: conv 4 k=3 s=2 p=same",
        "m: maxpool k=2 s=2 p=same",
        "a: avgpool k=3 s=2 p=same from=c",
    ],
    "permute-reshape-from-a-map": [
        "input 6x8x4",
        "c: conv 5 k=3 p=1",
        "p: permute 2,0,1",
        "r: reshape 5*48x1 from=c",
        "s: softmax",
    ],
    "concat-mixed-layouts": [
        "a: input 10x8",
        "c: conv 8 k=3 p=1",
        "t: fc 8 from=a",
        "j: concat from=c,t",
        "k: concat axis=0 from=t,c",
    ],
    "slice-and-pad-a-volume": [
        "input 4x6x6x3",
        "c: conv 4 k=1",
        "s: slice 1:3 axis=0",
        "p: pad 1,0,2,2,0,1",
        "q: pad 1 mode=reflect",
    ],
    "pad-over-lead": ["input 3*6x6x2", "p: pad 1,2,0,1", "r: pad 1 mode=replicate", "c: conv 2 k=3"],
    "matmul-of-maps": ["a: input 4x5x6", "b: input 4x6x3", "c: conv 6 k=1 from=a", "m: matmul from=c,b"],
    "attention-on-conv-map": ["input 6x6x8", "c: conv 16 k=1", "a: attention heads=4", "n: layernorm n=2"],
    "attention-lead-q-only": ["q: input 3*10x8", "k: input 12x8", "v: input 12x4", "a: attention heads=2 from=q,k,v"],
    "softmax-and-norms-over-lead": [
        "input 2*6x6x8",
        "c: conv 8 k=1",
        "s: softmax",
        "r: rmsnorm",
        "l: layernorm n=2",
        "g: groupnorm g=4 from=c",
        "l2: layernorm from=c",
    ],
    "scale-any-rank": [
        "a: input 20x8",
        "b: input 3x4x5x8",
        "c: conv 8 k=1 from=a",
        "s: scale bias=true",
        "d: conv 8 k=1 from=b",
        "t: scale",
        "u: fc 8 pointwise=true",
        "v: scale bias=true",
    ],
    "vectors-over-lead": [
        "input 3*16",
        "b: bn",
        "l: lrn size=3",
        "g: groupnorm g=4",
        "d: dropout",
        "f: fc 4",
        "s: softmax",
        "fl: flatten",
    ],
    "flatten-lead-layouts": [
        "input 2*4x4x3",
        "c: conv 2 k=1",
        "f: flatten",
        "t: fc 4 pointwise=true from=c",
        "f2: flatten",
    ],
    "pointwise-over-lead-3d": [
        "input 2*3x4x4x5",
        "c: conv 6 k=1",
        "f: fc 7 pointwise=true",
        "u: upsample from=c",
        "g: gap from=c",
    ],
    "signal-over-lead": ["input 3*20x4", "c: conv 6 k=3", "t: convT 2 k=2 s=2", "g: gap from=c", "f: fc 5 from=c"],
    "gather-from-a-map": [
        "input 4x4x8",
        "c: conv 6 k=1",
        "g: gather 2*5x5",
        "x: input 2*5x8",
        "a: attention heads=2 mask=true from=x,g",
    ],
    "param-into-conv": ["x: input 8", "p: param 8x8x3", "c: conv 4 k=3", "q: param 6x6x4", "d: add from=c,q"],
    "vector-and-gate-on-tokens": [
        "t: input 10x8",
        "v: input 8",
        "a: add from=t,v",
        "m: input 5x5x8",
        "c: conv 8 k=1",
        "g: gap",
        "s: sigmoid",
        "x: mul from=a,s",
    ],
    "input-signal-as-tokens": ["input 12x6", "l: layernorm", "f: fc 6", "c: conv 4 k=3 from=input"],
    "lead-windows-to-map": [
        "input 8x8x4",
        "w: reshape 4*16x4",
        "f: fc 4",
        "m: reshape 8x8x4",
        "c: conv 4 k=3 p=1",
        "a: add from=m,input",
    ],
    "matmul-vectors": [
        "a: input 6",
        "b: input 6x3",
        "m: matmul from=a,b",
        "c: input 4*3x6",
        "n: matmul bt=true from=c,a",
    ],
    "shared-weights-called-again": [
        "input 8x8x3",
        "c1: conv 3 k=3 p=1",
        "c2: conv 3 k=3 p=1 shared=true",
        "t1: convT 3 k=2 s=2",
        "t2: convT 3 k=2 s=2 shared=true from=c1",
        "f: flatten from=c2",
        "l1: fc 4",
        "l2: fc 4 shared=true from=f",
    ],
    "weight-as-an-input": [
        "input 8x8x3",
        "w: param 4x3x3x3",
        "c: conv 4 k=3 from=input,w",
        "b: param 4x1x3x3 buffer=true",
        "d: dwconv k=3 p=1 from=c,b",
    ],
    "permute-over-lead-axes": ["x: input 2*5x7", "p: permute 1,0,2", "q: permute 2,1,0", "f: fc 3"],
    "param-from-a-table": [
        "x: input 4*49x12",
        "t: param 3*49x49 table=169x3",
        "a: attention heads=3 mask=true from=x,t",
    ],
}


@pytest.mark.parametrize("lines", list(ND_SPECS.values()), ids=list(ND_SPECS))
def test_nd_spec_exports_exactly(lines: list[str]) -> None:
    model = cnncalc.load("\n".join(lines) + "\n")
    assert disagreements(model) == []
    # Real kernels too (meta kernels skip some checks): it runs, and every output has the shape the file says.
    net = model.to_torch().eval()
    layouts = tensor_layouts(model.graph)
    with torch.no_grad():
        outputs = net(*[torch.randn(f.shape) for f in feeds_of(model, 2, "cpu")])
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    want = [[2, *held(model.layer(n.name).output, layouts[n.name])] for n in model.graph.outputs]
    assert [list(t.shape) for t in outputs] == want


def test_an_opaque_layer_cannot_be_exported() -> None:
    model = cnncalc.load("input 8x8x3\nconv 4 k=3\ngru: opaque 16 params=100 what=torch.nn.GRU\n")
    with pytest.raises(CnnCalcError, match=r"gru: .*opaque.*torch\.nn\.GRU"):
        model.to_torch_source()
    with pytest.raises(CnnCalcError, match="gru"):
        model.to_torch()


# ----------------------------------------------------------------------------- the file itself


def test_generated_file_for_vgg16_is_importable_and_runs(tmp_path: Path) -> None:
    model = cnncalc.load("vgg16")
    path = tmp_path / "vgg16_net.py"
    path.write_text(model.to_torch_source(), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("vgg16_net", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.Vgg16().eval()
    assert params_of(net) == model.totals.params == 138_357_544
    with torch.no_grad():
        y = net(torch.randn(1, 3, 64, 64))  # small input: the adaptive pool brings it back to 7x7
    assert tuple(y.shape) == (1, 1000)
    assert torch.isfinite(y).all()
    # The file's own layers, named as in the spec.
    text = path.read_text(encoding="utf-8")
    assert "self.conv1_1 = nn.Conv2d(3, 64, kernel_size=3, padding=1)" in text
    assert "import torch\n" in text and "import torch.nn.functional as F\n" in text
    assert "x_input" in text and "torch.flatten(" in text


def test_generated_file_runs_as_a_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "lenet.py"
    path.write_text(cnncalc.load("lenet5_1998").to_torch_source(), encoding="utf-8")
    runpy.run_path(str(path), run_name="__main__")  # what `python lenet.py` does, without starting Python again
    assert capsys.readouterr().out == "60,000 parameters\n(1, 10)\n"


def test_generated_file_imports_only_torch() -> None:
    text = torch_source(cnncalc.load(EVERY_OP).graph)
    imports = {line for line in text.splitlines() if line.startswith(("import ", "from "))}
    assert imports == {
        "from __future__ import annotations",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import nn",
    }
    compile(text, "every_op.py", "exec")


def test_cli_export_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "net.py"
    done = subprocess.run(
        [sys.executable, "-m", "cnncalc.cli", "export", "vgg16", "--to", "torch", "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "138,357,544 params" in done.stderr
    text = out.read_text(encoding="utf-8")
    assert text == cnncalc.load("vgg16").to_torch_source()
    namespace: dict[str, Any] = {"__name__": "net"}
    exec(compile(text, str(out), "exec"), namespace)
    with torch.device("meta"):
        net = namespace["Vgg16"]()
    assert params_of(net) == 138_357_544


# Run first in a subprocess: every later `import torch` fails, as on a machine without the extra.
BLOCK_TORCH = """
import sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked for this test")
        return None

sys.meta_path.insert(0, NoTorch())
"""


def test_cli_export_without_torch_prints_the_install_hint_and_exits_2() -> None:
    script = BLOCK_TORCH + textwrap.dedent(
        """
        sys.argv = ["cnncalc", "export", "vgg16", "--to", "torch"]
        from cnncalc.cli import main
        main()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "pip install 'cnncalc[torch]'" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_to_torch_without_torch_raises_the_install_hint() -> None:
    script = BLOCK_TORCH + textwrap.dedent(
        """
        import cnncalc
        model = cnncalc.load("lenet5")
        assert "class Lenet5(nn.Module)" in model.to_torch_source()  # writing the file needs no torch
        try:
            model.to_torch()
        except cnncalc.CnnCalcError as exc:
            print(exc)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "pip install 'cnncalc[torch]'" in done.stdout


# ----------------------------------------------------------------------------- names, inputs, outputs


def test_layer_names_become_distinct_identifiers_clear_of_nn_module() -> None:
    spec = """
    in-put: input 8x8x4
    train: conv 4 k=3 p=1
    to: relu
    forward: bn
    class: conv 4 k=1
    a.b: conv 4 k=1 from=train
    a_b: conv 4 k=1 from=train
    a-b: add from=a.b,a_b,class
    """
    model = cnncalc.load(textwrap.dedent(spec))
    ids = layer_identifiers(model.graph)
    assert ids["train"] == "train_" and ids["to"] == "to_" and ids["forward"] == "forward_"
    assert ids["class"] == "class_" and ids["in-put"] == "in_put"
    assert len(set(ids.values())) == len(ids)
    assert all(i.isidentifier() for i in ids.values())
    text = model.to_torch_source()
    assert "self.a_b = nn.Conv2d(4, 4, kernel_size=1)  # a.b" in text
    assert "self.a_b_2 = nn.Conv2d(4, 4, kernel_size=1)  # a_b" in text
    assert "x_a_b_3 = x_a_b + x_a_b_2 + x_class_  # a-b: 4x8x8" in text
    assert disagreements(model) == []
    net = model.to_torch()
    assert net.training is True  # `train` did not replace nn.Module.train
    net.eval()
    with torch.no_grad():
        assert tuple(net(torch.randn(2, 4, 8, 8)).shape) == (2, 4, 8, 8)


def test_reserved_names_cover_nn_module() -> None:
    public = {name for name in dir(nn.Module) if not name.startswith("_")} | {
        name for name in vars(nn.Module()) if not name.startswith("_")
    }
    assert public <= _MODULE_ATTRIBUTES


def test_class_name_default_custom_and_refused() -> None:
    graph = cnncalc.load("mobilenet_v3_small").graph
    assert "class MobilenetV3Small(nn.Module):" in torch_source(graph)
    assert "class Net(nn.Module):" in torch_source(graph, "Net")
    for bad in ("3d", "my-net", "class", "Scale", "nn"):
        with pytest.raises(CnnCalcError, match="class name"):
            torch_source(graph, bad)


def test_several_inputs_and_outputs() -> None:
    spec = """
    img: input 16x16x3
    depth: input 16x16x1
    c1: conv 8 k=3 p=1 from=img
    c2: conv 8 k=3 p=1 from=depth
    both: concat from=c1,c2
    head1: conv 2 k=1
    g: gap from=both
    f: flatten
    head2: fc 5
    """
    model = cnncalc.load(textwrap.dedent(spec))
    text = model.to_torch_source()
    assert "def forward(self, x_img: torch.Tensor, x_depth: torch.Tensor)" in text
    assert "x_both = torch.cat([x_c1, x_c2], dim=1)" in text
    assert "return x_head1, x_head2" in text
    assert disagreements(model) == []
    net = model.to_torch().eval()
    with torch.no_grad():
        a, b = net(torch.randn(2, 3, 16, 16), torch.randn(2, 1, 16, 16))
    assert (tuple(a.shape), tuple(b.shape)) == ((2, 2, 16, 16), (2, 5))


def test_auxiliary_heads_run_only_while_training() -> None:
    text = cnncalc.load("googlenet", options={"aux": True}).to_torch_source()
    assert "        if self.training:  # the auxiliary (training-only) layers\n            x_aux1_pool = " in text
    assert "        if self.training:\n            return x_fc, x_aux1_fc2, x_aux2_fc2\n        return x_fc\n" in text
    # test_training_forward_runs_and_returns_the_auxiliary_heads runs it both ways


def test_bias_follows_the_graph_not_the_counting_setting() -> None:
    text = cnncalc.load("posenet", bias=False).to_torch_source()
    assert "nn.Linear(3200, 512)" in text  # --no-bias counts without biases; the network keeps them


# ----------------------------------------------------------------------------- semantics on real numbers


def _run_cpu(spec: str, *xs: Any) -> Any:
    net = cnncalc.load(textwrap.dedent(spec)).to_torch().eval()
    with torch.no_grad():
        return net, net(*xs)


def test_reshape_reads_and_writes_in_h_w_c_order() -> None:
    x = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(1, 2, 3, 4)  # C=2, H=3, W=4
    _, y = _run_cpu("input 3x4x2\nreshape 4x3x2\n", x)
    assert tuple(y.shape) == (1, 2, 4, 3)
    assert torch.equal(y.permute(0, 2, 3, 1).flatten(), x.permute(0, 2, 3, 1).flatten())
    _, v = _run_cpu("input 3x4x2\nreshape 24\n", x)
    assert torch.equal(v.flatten(), x.permute(0, 2, 3, 1).flatten())


def test_same_padding_is_tensorflows_at_stride_2() -> None:
    # 6 wide, k=3, s=2: TensorFlow pads 0 before and 1 after (the extra after), giving 3 outputs.
    spec = "input 6x6x1\nconv 1 k=3 s=2 p=same bias=false\n"
    net, _ = _run_cpu(spec, torch.zeros(1, 1, 6, 6))
    x = torch.randn(1, 1, 6, 6)
    with torch.no_grad():
        want = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 1, 0, 1)), net.conv1.weight, stride=2)
        assert torch.allclose(net(x), want)
    # Max pooling pads with -inf, so an all-negative map keeps its maxima.
    _, y = _run_cpu("input 5x5x1\nmaxpool k=2 p=same\n", -torch.ones(1, 1, 5, 5))
    assert tuple(y.shape) == (1, 1, 3, 3) and torch.equal(y, -torch.ones(1, 1, 3, 3))


def test_rbf_is_the_squared_distance_to_fixed_vectors() -> None:
    net, _ = _run_cpu("input 6\nrbf 3\n", torch.zeros(1, 6))
    assert params_of(net) == 0 and buffers_of(net) == 18
    x = torch.randn(4, 6)
    with torch.no_grad():
        want = ((x[:, None, :] - net.rbf1.centres) ** 2).sum(-1)
        assert torch.allclose(net(x), want, atol=1e-5)


def test_layernorm_normalises_each_position_over_channels() -> None:
    net, _ = _run_cpu("input 3x4x5\nlayernorm\n", torch.zeros(1, 5, 3, 4))
    x = torch.randn(2, 5, 3, 4)
    with torch.no_grad():
        want = torch.nn.functional.layer_norm(x.permute(0, 2, 3, 1), (5,)).permute(0, 3, 1, 2)
        assert torch.allclose(net(x), want, atol=1e-6)


def test_shuffle_interleaves_the_groups() -> None:
    x = torch.arange(6, dtype=torch.float32).reshape(1, 6, 1, 1)
    _, y = _run_cpu("input 1x1x6\nshuffle g=2\n", x)
    assert y.flatten().tolist() == [0, 3, 1, 4, 2, 5]


def test_to_torch_and_file_are_the_same_code() -> None:
    model = cnncalc.load("lenet5")
    net = to_torch(model.graph)
    assert type(net).__name__ == "Lenet5"
    import inspect

    assert inspect.getsource(type(net).forward) in model.to_torch_source()
