"""What each FLOP tool would report for a network, layer by layer and in total, beside cnncalc's own MACs.

Users find the tools disagree (ResNet-50: 4.09 G, 4.11 G, 4.12 G, 8.2 G...) because each counts something else.
Each `Convention` below restates one tool's rules from its own source, op by op, so that the figure it would print
can be worked out statically and shown with one sentence saying what it counts. `bench/compare.py` runs the tools
themselves on the same networks and checks every column.

The tools run a real forward pass on a PyTorch module, so their figures depend on how the network is written in
PyTorch. The columns are for the module cnncalc exports (`Model.to_torch()`, bridges/torch_export.py), in eval mode
at batch 1: modules for layers with parameters or a configuration (nn.Conv2d, with padding="same" for a symmetric
`same` at stride 1 and an explicit F.pad before it where the padding is lopsided; nn.ConvTranspose2d; nn.Linear;
nn.BatchNorm2d/1d; LayerNorm2d, a subclass of nn.LayerNorm, on a map; nn.LocalResponseNorm; nn.MaxPool2d and
nn.AvgPool2d with an int kernel when it is square; nn.AdaptiveAvgPool2d, also for `gap`; nn.Upsample; nn.Dropout;
nn.ChannelShuffle; a Scale module holding `weight` (and `bias`); EuclideanRBF, whose distances are one matrix
product `x @ w.t()`), and inline code for the rest: activations as torch.nn.functional calls (F.relu, F.relu6,
F.silu...; torch.sigmoid, torch.tanh), residual adds and gates as `x + y` and `x * y`, torch.cat, torch.flatten,
slicing. A tool that counts a module and a function differently (ptflops, thop, torch-scan) would print another
figure for the same layer written another way (nn.ReLU() instead of F.relu): the sentences say where.

Sources read for the rules (the versions `make bench` installs):
- fvcore 0.1.5: fvcore/nn/flop_count.py (_DEFAULT_SUPPORTED_OPS), fvcore/nn/jit_handles.py
- thop 0.1.1: thop/profile.py (register_hooks), thop/vision/basic_hooks.py, thop/vision/calc_func.py
- ptflops 0.7.5: ptflops/flops_counter.py (default backend: pytorch), ptflops/pytorch_engine.py, pytorch_ops.py
- torchinfo 1.8.0: torchinfo/layer_info.py (calculate_macs), torchinfo/model_statistics.py
- torch-scan 0.2.0: torchscan/modules/flops.py, macs.py, _pooling.py; torchscan/crawler.py (totals)
- PyTorch 2.x: torch/utils/flop_counter.py
- DeepSpeed: deepspeed/profiling/flops_profiler/profiler.py; calflops 0.3.2: calflops/pytorch_ops.py (the same rules)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from ..formulas import same_padding
from ..ir import Shape
from ..ops.base import get_op
from ..report import Layer

if TYPE_CHECKING:
    from ..api import Model


class View(NamedTuple):
    """One layer as a rule sees it: op, completed arguments, input and output shapes, and cnncalc's figures."""

    layer: Layer
    args: dict[str, Any]
    inputs: list[Shape]

    @property
    def op(self) -> str:
        return self.layer.op

    @property
    def x(self) -> Shape:
        return self.inputs[0]

    @property
    def out(self) -> Shape:
        return self.layer.output

    @property
    def bias(self) -> int:
        """1 if a conv, convT or fc layer has a bias as counted (`--no-bias` counts as if none had), else 0."""
        return 1 if self.layer.biases else 0


Rule = Callable[[View], "int | None"]


@dataclass(frozen=True)
class Convention:
    """One tool's way of counting: a column of the comparison."""

    key: str
    title: str
    unit: str
    counts: str  # one sentence: what this figure counts
    source: str  # the call and version whose figure this is
    rule: Rule  # a layer's figure; None where it cannot be known statically
    params: Callable[[View], int] = lambda v: v.layer.params  # the parameters this tool reports for the layer

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "title": self.title, "unit": self.unit, "counts": self.counts, "source": self.source}


# ----------------------------------------------------------------------------- shapes and arguments


def _hw(s: Shape) -> int:
    return (s.h or 1) * (s.w or 1)


def _kernel(v: View) -> tuple[int, ...]:
    """The kernel per axis of the input (one number serves every axis)."""
    k = tuple(v.args["k"])
    rank = max(v.x.rank, 1)
    return k if len(k) == rank else (k[0],) * rank


def _flat(v: View) -> bool:
    """A layer on anything but an image map: the tools' 2-D special cases do not apply."""
    return v.x.rank != 2


def _stored_kernel(v: View) -> int:
    """The kernel as nn.MaxPool2d / nn.AvgPool2d keep it: an int k for a square window (as torchvision writes it),
    read by torch-scan as k, not k*k; a tuple (kh, kw) otherwise, read as kh*kw."""
    k = _kernel(v)
    return k[0] if all(x == k[0] for x in k) else math.prod(k)


def _groups(v: View) -> int:
    return v.x.c if v.op == "dwconv" else v.args.get("g", 1)


def _conv_terms(v: View) -> int:
    """K_h*K_w*C_in/g: the products summed into one output value of a conv (or convT, over its input channels)."""
    return math.prod(_kernel(v)) * (v.x.c // _groups(v))


def _pool_input_numel(v: View) -> int:
    """Values the pooling call reads: a lopsided `same` padding is an F.pad before the pool, which then reads the
    padded map; an even one is the pool's own padding, and it reads the map itself."""
    x = v.x
    if v.args.get("p") != "same" or _flat(v):
        return x.numel
    kh, kw = _kernel(v)
    sh, sw = v.args.get("s") or (kh, kw)
    top, bottom = same_padding(x.h or 1, kh, sh)
    left, right = same_padding(x.w or 1, kw, sw)
    if top == bottom and left == right:
        return x.numel
    return ((x.h or 1) + top + bottom) * ((x.w or 1) + left + right) * x.c


def _padding_same_mode(v: View) -> bool:
    """A conv exported with padding="same" (a symmetric `same` at stride 1), which PyTorch runs as
    aten::_convolution_mode rather than aten::_convolution."""
    if v.args.get("p") != "same" or tuple(v.args.get("s", (1, 1))) != (1, 1) or _flat(v):
        return False
    x = v.x
    (kh, kw), (dh, dw) = _kernel(v), v.args.get("d", (1, 1))
    top, bottom = same_padding(x.h or 1, kh, 1, dh)
    left, right = same_padding(x.w or 1, kw, 1, dw)
    return top == bottom and left == right


def _ratio_kernel(n_in: int, n_out: int) -> int:
    """torch-scan's approximate adaptive-pool kernel (torchscan/modules/_pooling.py)."""
    return n_in // n_out if n_in % n_out == 0 else n_in % n_out + 1


def _lrn_patched(v: View) -> int:
    """F.local_response_norm, as the tools that patch torch functions see it: x.mul(x), div.mul(alpha) and
    .add(k) are Tensor.mul/add calls (1 per element each), and the window sum is an F.avg_pool3d over the
    squared map padded along channels by size-1 (1 per value of that input)."""
    x = v.x
    return 3 * x.numel + (x.c + v.args.get("size", 5) - 1) * _hw(x)


def _upsample_scale(v: View) -> Fraction:
    return Fraction(v.args.get("scale", Fraction(2)))


# ----------------------------------------------------------------------------- the rules, tool by tool

# Ops every tool counts as 0 however they are written: no arithmetic, or arithmetic no tool has a rule for.
FREE = frozenset(
    {"input", "identity", "flatten", "reshape", "concat", "slice", "shuffle", "droppath", "permute", "pad", "param"}
)

MAC_OPS = frozenset({"conv", "dwconv", "convT", "fc"})
# Recurrent layers: FlopCounterMode's count is restated (their matrix products); the other tools' own rules for
# nn.LSTM, nn.GRU and nn.RNN are not, so their columns leave these layers unknown rather than guess.
RECURRENT = frozenset({"lstm", "gru", "rnn"})


def _known(rule: Callable[[View], int], *, recurrent: bool = False) -> Rule:
    """A tool rule for layers cnncalc can cost; an opaque layer (MACs unknown) stays unknown in every column, and
    a recurrent one in the columns of tools whose rules for it are not restated (`recurrent` False)."""

    def rule_of(v: View) -> int | None:
        if v.layer.macs is None or (not recurrent and v.op in RECURRENT):
            return None
        if v.op in FREE:
            return 0
        return rule(v)

    return rule_of


def cnncalc_macs(v: View) -> int | None:
    return v.layer.macs


def cnncalc_flops(v: View) -> int | None:
    return None if v.layer.macs is None else 2 * v.layer.macs


def fvcore(v: View) -> int:
    op, x, out = v.op, v.x, v.out
    if op in MAC_OPS:
        if _padding_same_mode(v):
            return 0  # padding="same" traces to aten::_convolution_mode, which has no handle
        return v.layer.macs or 0  # conv_flop_jit (weight numel * output positions; input positions if transposed)
    if op in ("rbf", "matmul"):
        return v.layer.macs or 0  # matmul_flop_jit (x @ w.t(), aten::matmul, aten::bmm): one per multiply-add
    if op == "bn":
        return 2 * x.numel  # batchnorm_flop_jit, eval mode with affine; 5 per element in training mode
    if op == "layernorm":
        return 5 * x.numel  # norm_flop_counter(2), affine
    if op in ("gap", "adaptiveavgpool"):
        return x.numel  # elementwise_flop_counter(1, 0)
    if op == "upsample":
        return out.numel * (4 if v.args.get("mode", "nearest") == "bilinear" else 1)
    return 0  # relu, pooling, add, mul, lrn...: no handle (reported as unsupported ops)


THOP_PARAMS = frozenset({"conv", "dwconv", "convT", "fc", "bn"})  # modules with parameters thop has a rule for


def thop(v: View) -> int:
    op, x, out = v.op, v.x, v.out
    if op in ("conv", "dwconv", "convT"):
        # calculate_conv2d_flops: prod(output size) * (C_in // g) * K_h * K_w, for ConvTranspose2d too
        return out.numel * _conv_terms(v)
    if op == "fc":
        return x.c * out.numel  # count_linear: in_features per output element
    if op == "bn":
        return 2 * x.numel * 2  # count_normalization: calculate_norm (2 per element), doubled for the affine
    if op == "layernorm":
        # nn.LayerNorm on a vector is counted as batch norm is; LayerNorm2d (a subclass) has no rule: 0
        return 4 * x.numel if not x.spatial else 0
    if op == "avgpool":
        return out.numel  # count_avgpool: 1 per output element
    if op in ("gap", "adaptiveavgpool"):
        # count_adap_avgpool: int((prod(in / out) + 1) * out numel), in float64
        kernel = ((x.h or 1) / (out.h or 1)) * ((x.w or 1) / (out.w or 1))
        return int((kernel + 1) * out.numel)
    if op == "upsample":
        return out.numel * (11 if v.args.get("mode", "nearest") == "bilinear" else 1)  # calculate_upsample
    # zero_ops (max pool, dropout), and no rule at all: functions (activations, softmax included, as the export
    # writes them; an nn.Softmax module would count 3C-1 per position), the LayerNorm2d subclass, LRN, Scale, rbf
    return 0


def thop_params(v: View) -> int:
    """thop sums the parameters of the modules it has a rule for, and only of those its forward pass ran: its
    count_parameters is a forward hook registered with the rule (so training-only layers are left out too)."""
    if v.layer.aux:
        return 0
    if v.op in THOP_PARAMS or (v.op == "layernorm" and not v.x.spatial):
        return v.layer.params
    return 0


def ptflops(v: View) -> int:
    op, x, out = v.op, v.x, v.out
    if op in ("conv", "dwconv", "convT"):
        # conv_flops_counter_hook: K * C_in * C_out/g per output (per input position if transposed), + bias
        return (v.layer.macs or 0) + v.bias * out.numel
    if op == "fc":
        return x.c * out.numel + v.bias * out.numel  # linear_flops_counter_hook (F.linear is not patched)
    if op == "bn":
        return 2 * x.numel  # bn_flops_counter_hook, affine
    if op == "layernorm":
        # bn_flops_counter_hook on nn.LayerNorm (no `affine` attribute, so not doubled); LayerNorm2d: no hook
        return x.numel if not x.spatial else 0
    if op in ("relu", "relu6", "elu", "gelu", "silu", "softmax"):
        # the patched F.relu / F.relu6 / F.elu / F.gelu / F.silu / F.softmax, 1 per input element (an nn.ReLU,
        # nn.ELU or nn.GELU module would count twice: its module hook and the F call inside it)
        return x.numel
    if op in ("maxpool", "avgpool"):
        return 2 * _pool_input_numel(v)  # pool_flops_counter_hook and the F.max_pool2d / F.avg_pool2d it calls
    if op in ("gap", "adaptiveavgpool"):
        return 2 * x.numel  # pool_flops_counter_hook and the patched F.adaptive_avg_pool2d
    if op == "upsample":
        # upsample_flops_counter_hook (output numel) and the patched F.interpolate: input numel * scale**2
        return out.numel + math.floor(x.numel * _upsample_scale(v) ** 2)
    if op == "lrn":
        return _lrn_patched(v)
    # F.leaky_relu, F.hardswish, F.hardsigmoid, torch.sigmoid, torch.tanh are not patched; dropout has no hook;
    # `x + y` and `x * y` (torch.add / torch.mul would count); layer scale `x * w`; rbf's `x @ w.t()`
    return 0


def torchinfo(v: View) -> int:
    op, out = v.op, v.out
    if op in ("conv", "dwconv", "convT"):
        # calculate_macs: class name contains "Conv": (weight + bias numel) * output H*W
        return (v.layer.weights + v.layer.biases) * _hw(out)
    # any other leaf module: (weight + bias numel) * batch, for parameters named weight / bias
    return v.layer.params


def torchscan_flops(v: View) -> int:
    op, x, out = v.op, v.x, v.out
    if op in ("conv", "dwconv", "convT"):
        # flops_convnd: per output, 2 * terms - 1 (+1 for the bias); a transposed conv adds 8 per spatial dim
        return out.numel * (2 * _conv_terms(v) - 1 + v.bias) + (16 if op == "convT" else 0)
    if op == "fc":
        return out.numel * (2 * x.c - 1) + v.bias * out.numel  # flops_linear
    if op == "bn":
        return 2 * x.c + 4 * x.numel  # flops_bn in eval: 2 per channel, 2 per element, 2 more for the affine
    if op == "layernorm":
        # flops_layernorm: 6 per element + 2 per normalised row + 1 each for weight and bias
        return 8 * x.numel + 2 * (x.numel // x.c)
    if op == "dropout":
        return x.numel if v.args.get("p", Fraction(1, 2)) > 0 else 0  # flops_dropout, whatever the mode
    return _torchscan_pools(v)


def _torchscan_pools(v: View) -> int:
    op, out = v.op, v.out
    if op == "maxpool":
        return out.numel * (_stored_kernel(v) - 1)  # flops_maxpool / macs_maxpool
    if op == "avgpool":
        return out.numel * (_stored_kernel(v) - 1 + 2)  # flops_avgpool: (k - 1 + input.ndim - 2) per output
    if op in ("gap", "adaptiveavgpool"):
        x = v.x
        k = _ratio_kernel(x.h or 1, out.h or 1) * _ratio_kernel(x.w or 1, out.w or 1)
        return out.numel * (k - 1 + 2)  # flops_adaptive_avgpool / macs_adaptive_avgpool
    # activations are functions in the export, not modules (nn.ReLU would count 1, nn.ReLU6 2, nn.Sigmoid and
    # nn.LeakyReLU 4, nn.Tanh and nn.ELU 6 per element); upsample, LRN, ChannelShuffle, LayerNorm... inside
    # `Scale` and EuclideanRBF: "Module type not supported", 0
    return 0


def torchscan_macs(v: View) -> int:
    op, x, out = v.op, v.x, v.out
    if op in ("conv", "dwconv", "convT"):
        # macs_convnd: output numel * C_in/g * K; macs_convtransposend adds 4 per spatial dim
        return out.numel * _conv_terms(v) + (8 if op == "convT" else 0)
    if op == "fc":
        return x.c * out.numel  # macs_linear
    if op == "bn":
        return 2 * x.numel  # macs_bn in eval: normalise and scale, 1 each per element
    if op in ("maxpool", "avgpool", "gap", "adaptiveavgpool"):
        return _torchscan_pools(v)
    return 0  # activations and dropout 0; layer norm and the rest not supported


def flop_counter(v: View) -> int:
    # conv_flop / mm_flop / addmm_flop: 2 per multiply-accumulate; the bias of addmm is not counted; rbf's x @ w.t()
    # bmm_flop and sdpa_flop likewise (scaled_dot_product_attention counted on the meta device, 0 on the CPU);
    # recurrent layers are their step-by-step products on the meta device (nn.LSTM's oneDNN kernel counts 0 on the CPU)
    return 2 * (v.layer.macs or 0) if v.op in MAC_OPS or v.op in ("rbf", "matmul", "attention", *RECURRENT) else 0


def deepspeed(v: View) -> int:
    op, x, out = v.op, v.x, v.out
    if op in ("conv", "dwconv"):
        # _conv_flops_compute: 2 * MACs + C_out per output position for the bias (it works the output size out
        # from the padding; padding="same" is only exported where it pads d*(k-1)//2 each side, as it assumes)
        return 2 * (v.layer.macs or 0) + v.bias * out.numel
    if op == "convT" and _flat(v):
        return 2 * (v.layer.macs or 0) + v.bias * out.numel
    if op == "convT":
        # _conv_trans_flops_compute: out_channels = weight.shape[1] (already C_out/g), divided by g again; the
        # bias is counted over output sizes worked out with the forward-conv formula
        kh, kw = _kernel(v)
        g = _groups(v)
        sh, sw = v.args.get("s", (1, 1))
        ph, pw = v.args.get("p", (0, 0))
        dh, dw = v.args.get("d", (1, 1))
        per_group = out.c // g
        macs = kh * kw * x.c * (per_group // g) * _hw(x)
        h = ((x.h or 1) + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
        w = ((x.w or 1) + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
        return 2 * macs + v.bias * per_group * h * w
    if op == "fc":
        return 2 * x.c * out.numel  # _linear_flops_compute: 2 * MACs, no bias
    if op == "bn":
        return 2 * x.numel  # _batch_norm_flops_compute, eval with affine (5 per element in training)
    if op == "layernorm":
        return 5 * x.numel  # _layer_norm_flops_compute, affine
    if op in ("relu", "relu6", "leakyrelu", "elu", "silu", "gelu", "softmax"):
        return x.numel  # the patched F calls, 1 per input element (an nn.ReLU6 module calls F.hardtanh: 0)
    if op in ("maxpool", "avgpool"):
        return _pool_input_numel(v)  # _pool_flops_compute: 1 per input element
    if op in ("gap", "adaptiveavgpool"):
        return x.numel
    if op == "upsample":
        return x.numel  # _upsample_flops_compute with a scale factor: input numel (the scaling is discarded)
    if op == "lrn":
        return _lrn_patched(v)
    # torch.sigmoid, torch.tanh, F.hardswish, F.hardsigmoid, dropout, `x + y`, `x * y`, layer scale, rbf's x @ w.t()
    return 0


CONVENTIONS: tuple[Convention, ...] = (
    Convention(
        "macs",
        "cnncalc MACs",
        "MACs",
        "multiply-accumulates of conv (H_out·W_out·C_out·K_h·K_w·C_in/g), transposed conv (at input positions) "
        "and fc (in·out), without bias adds, normalisation, activations or pooling: what torchvision and most "
        "papers print as FLOPs or mult-adds",
        "cnncalc",
        cnncalc_macs,
    ),
    Convention(
        "flops",
        "FLOPs = 2 x MACs",
        "FLOPs",
        "2 x cnncalc MACs: a multiply and an add counted apart, still without bias adds or element-wise work",
        "cnncalc",
        cnncalc_flops,
    ),
    Convention(
        "fvcore",
        "fvcore",
        "flops",
        "one per multiply-add of conv, transposed conv, fc and matmul (bias ignored) plus its default handles: "
        "batch norm 2 per element (in eval mode; 5 in training mode), layer norm 5 per element, adaptive and "
        "global average pooling 1 per input element, upsample 1 (nearest) or 4 (bilinear) per output element; "
        'activations, max and average pooling, LRN, adds and muls count 0, and so does a conv with padding="same" '
        "(traced as aten::_convolution_mode, which has no handle)",
        "fvcore 0.1.5 FlopCountAnalysis(model, x).total()",
        _known(fvcore),
    ),
    Convention(
        "thop",
        "thop",
        "MACs",
        "MACs of its nn modules only: conv and fc without bias, a transposed conv at its output positions "
        "(C_out·H_out·W_out·C_in/g·K_h·K_w), batch norm 4 per element (2, doubled for the affine), average pool "
        "1 per output, adaptive pool H_in/H_out·W_in/W_out + 1 per output, upsample 1 (nearest) or 11 "
        "(bilinear) per output; max pool, dropout, every function call (activations, softmax, adds) and every "
        "module it has no rule for (LayerNorm2d, LRN, layer scale) count 0, and its params leave out those "
        "modules' parameters and any module the eval forward pass does not run",
        "thop 0.1.1 profile(model, (x,))",
        _known(thop),
        thop_params,
    ),
    Convention(
        "ptflops",
        "ptflops",
        "MACs",
        "conv and fc MACs plus 1 per output element for a bias, batch norm 2 per element, 1 per element of the "
        "torch.nn.functional calls it patches (F.relu, F.relu6, F.elu, F.gelu, F.silu, F.softmax), max, average "
        "and adaptive pooling 2 per input element (its module hook and the F call inside count both), upsample "
        "output + input·scale², LRN 3 per element + its padded window sum; F.leaky_relu, sigmoid, tanh, "
        "hardswish, LayerNorm2d, `x + y`, `x * y` and `x @ w` count 0 (an nn.ReLU module would count 2 per "
        "element, torch.add 1)",
        "ptflops 0.7.5 get_model_complexity_info(model, (C, H, W), as_strings=False) (default backend: pytorch)",
        _known(ptflops),
    ),
    Convention(
        "torchinfo",
        "torchinfo",
        "mult-adds",
        "for every leaf module with parameters named weight or bias, their count times the output's H·W when "
        "its class name contains Conv (a conv's bias adds C_out·H_out·W_out; a transposed conv's weights count at "
        "every output position), else times the batch of 1 (fc in·out + out, batch and layer norm 2C, layer "
        "scale C); layers without parameters count 0",
        'torchinfo 1.8.0 summary(model, input_data=x).total_mult_adds ("Total mult-adds")',
        _known(torchinfo),
    ),
    Convention(
        "torchscan_flops",
        "torch-scan FLOPs",
        "FLOPs",
        "per leaf nn module: conv 2·K_h·K_w·C_in/g - 1 per output element, +1 with a bias (+16 if transposed), "
        "fc 2·in - 1 (+1) per output, batch norm 4 per element + 2C, layer norm 8 per element + 2 per position, "
        "dropout 1 per element when p > 0 (even in eval mode), max pool K - 1 and average pool K + 1 per output "
        "with K the kernel as the module stores it (3, not 9, for a 3x3 window), adaptive pools with its "
        "approximate kernel; function calls (all activations here), upsample, LRN and modules it does not "
        "support count 0",
        'torch-scan 0.2.0 crawl_module(model, (C, H, W))["totals"]["module_flops"]',
        _known(torchscan_flops),
    ),
    Convention(
        "torchscan_macs",
        "torch-scan MACs",
        "MACs",
        "conv and fc MACs without bias, but a transposed conv at its output positions (+8), batch norm 2 per "
        "element, pools as its FLOPs count them, and 0 for activations, layer norm and every module it does "
        "not support",
        'torch-scan 0.2.0 crawl_module(model, (C, H, W))["totals"]["macs"]',
        _known(torchscan_macs),
    ),
    Convention(
        "flop_counter",
        "FlopCounterMode",
        "FLOPs",
        "2 per multiply-accumulate of convolutions (transposed ones at input positions) and matrix products "
        "(fc, bias ignored), attention and recurrent layers (lstm, gru, rnn: on the meta device); everything "
        "element-wise counts 0, so it is 2 x cnncalc MACs",
        "PyTorch torch.utils.flop_counter.FlopCounterMode().get_total_flops()",
        _known(flop_counter, recurrent=True),
    ),
    Convention(
        "deepspeed",
        "DeepSpeed/calflops",
        "FLOPs",
        "2 x conv MACs + 1 per output element for a conv bias, 2 x fc MACs without its bias, batch norm 2 (in "
        "eval mode; 5 in training mode) and layer norm 5 per element, 1 per element of the F calls it patches "
        "(relu, relu6, leaky_relu, elu, silu, gelu, softmax) and of every pooling input, upsample 1 per input "
        "element, LRN 3 per element + its padded window sum; sigmoid, tanh, hardswish, `x + y`, `x * y` and "
        "`x @ w` count 0 (an nn.ReLU6 module calls F.hardtanh: 0 too)",
        "DeepSpeed get_model_profile(model, (1, C, H, W)) and calflops 0.3.2 calculate_flops(model, args=[x]) "
        "(one set of rules)",
        _known(deepspeed),
    ),
)

ASSUMPTIONS = (
    "the tool columns give what each tool prints for the module cnncalc exports (Model.to_torch(): eval mode, "
    "batch 1, activations as torch.nn.functional calls, adds and gates as x + y and x * y); ? marks a layer whose "
    "count is unknown (an opaque layer, or a recurrent one under a tool whose rules for it are not restated) and "
    "is left out of that total"
)


# ----------------------------------------------------------------------------- the report


class ConventionRow(NamedTuple):
    name: str
    op: str
    values: tuple[int | None, ...]  # one per convention, in CONVENTIONS order
    aux: bool  # training only: not in the inference totals (an eval forward pass does not run it)


@dataclass
class ConventionReport:
    """Every layer's figure under every convention, and the totals each tool would print."""

    model: str
    conventions: tuple[Convention, ...]
    layers: list[ConventionRow]
    totals: tuple[int, ...]  # inference layers, unknown ones left out
    params: tuple[int, ...]  # the parameter count each tool reports
    unknown: tuple[tuple[str, ...], ...]  # per convention, the inference layers whose figure is unknown

    def index(self, key: str) -> int:
        for i, c in enumerate(self.conventions):
            if c.key == key:
                return i
        raise KeyError(key)

    def total(self, key: str) -> int:
        return self.totals[self.index(key)]

    def column(self, key: str) -> dict[str, int | None]:
        i = self.index(key)
        return {row.name: row.values[i] for row in self.layers}

    def to_dict(self, per_layer: bool = True) -> dict[str, Any]:
        """The JSON form: conventions with their sentences, totals and params per tool, and (`per_layer`) rows."""
        keys = [c.key for c in self.conventions]
        out: dict[str, Any] = {
            "model": self.model,
            "conventions": [c.to_dict() for c in self.conventions],
            "assumptions": ASSUMPTIONS,
            "layers": [
                {
                    "name": r.name,
                    "op": r.op,
                    **({"training_only": True} if r.aux else {}),
                    "values": dict(zip(keys, r.values, strict=True)),
                }
                for r in self.layers
            ],
            "totals": dict(zip(keys, self.totals, strict=True)),
            "params": dict(zip(keys, self.params, strict=True)),
        }
        if not per_layer:
            del out["layers"]
        unknown = {k: list(names) for k, names in zip(keys, self.unknown, strict=True) if names}
        if unknown:
            out["unknown"] = unknown
        return out


def conventions(model: Model) -> ConventionReport:
    """Each layer's figure under each tool's convention, and the totals, from the model's report alone."""
    report = model.report
    nodes = {n.name: n for n in model.graph.nodes}
    shapes = {x.name: x.output for x in report.layers}
    ops: dict[str, Any] = {}
    rows: list[ConventionRow] = []
    totals = [0] * len(CONVENTIONS)
    params = [0] * len(CONVENTIONS)
    unknown: list[list[str]] = [[] for _ in CONVENTIONS]
    for layer in report.layers:
        op = ops.get(layer.op) or ops.setdefault(layer.op, get_op(layer.op))
        node = nodes.get(layer.name)
        args = op.complete(node.args) if node is not None else {}
        inputs = [shapes[i] for i in layer.inputs] or [layer.output]
        view = View(layer, args, inputs)
        values = tuple(c.rule(view) for c in CONVENTIONS)
        rows.append(ConventionRow(layer.name, layer.op, values, layer.aux))
        for i, c in enumerate(CONVENTIONS):
            params[i] += c.params(view)
            if layer.aux:
                continue
            value = values[i]
            if value is None:
                unknown[i].append(layer.name)
            else:
                totals[i] += value
    return ConventionReport(
        report.model, CONVENTIONS, rows, tuple(totals), tuple(params), tuple(tuple(u) for u in unknown)
    )


__all__ = ["ASSUMPTIONS", "CONVENTIONS", "Convention", "ConventionReport", "ConventionRow", "conventions"]
