"""Every registered op (spec v1 and the ops added since), and its edge cases, checked against PyTorch layer by layer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

torch = pytest.importorskip("torch")

# Imported after the skip, so that a missing torch skips these tests rather than erroring.
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from translate import (  # noqa: E402
    EuclideanRBF,
    TrainingOnlyLeakError,
    UntranslatableError,
    differences,
    measure,
    tf_same_pad,
    total_flops,
    translate,
)

import cnncalc  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.ops import all_ops  # noqa: E402
from cnncalc.spec import parse_spec  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

# (id, spec, load keywords). One or two layers each, so a failure names its op.
CASES: list[tuple[str, str, dict[str, object]]] = [
    # --- conv
    ("conv-valid", "input 32x32x3\nconv 16 k=3", {}),
    ("conv-pad1", "input 32x32x3\nconv 16 k=3 p=1", {}),
    ("conv-k7-s2-p3", "input 224x224x3\nconv 64 k=7 s=2 p=3", {}),
    ("conv-groups", "input 16x16x8\nconv 16 k=3 p=1 g=4", {}),
    ("conv-groups-eq-channels", "input 16x16x8\nconv 8 k=3 g=8", {}),
    ("conv-dilation", "input 32x32x3\nconv 8 k=3 d=2", {}),
    ("conv-dilation-asym", "input 32x32x3\nconv 8 k=3 d=2x3 p=2", {}),
    ("conv-asym-k-s", "input 20x31x3\nconv 8 k=3x5 s=1x2", {}),
    ("conv-pad-hxw", "input 20x31x3\nconv 8 k=3x5 p=1x2", {}),
    ("conv-same-odd", "input 17x17x3\nconv 8 k=3 p=same", {}),
    ("conv-same-odd-dilated", "input 17x17x3\nconv 8 k=5 d=2 p=same", {}),
    ("conv-same-even", "input 17x17x3\nconv 8 k=4 p=same", {}),
    ("conv-same-even-asym", "input 16x15x3\nconv 8 k=2x4 p=same", {}),
    ("conv-same-s2-odd-input", "input 15x15x3\nconv 8 k=3 s=2 p=same", {}),
    ("conv-same-s2-even-input", "input 16x16x3\nconv 8 k=3 s=2 p=same", {}),
    ("conv-same-s2-even-k", "input 15x15x3\nconv 8 k=4 s=2 p=same", {}),
    ("conv-same-s3-dilated", "input 20x20x3\nconv 8 k=3 s=3 d=2 p=same", {}),
    ("conv-same-mixed-stride", "input 15x16x3\nconv 8 k=3x4 s=1x2 p=same", {}),
    ("conv-valid-keyword", "input 17x17x3\nconv 8 k=3 p=valid", {}),
    ("conv-non-exact", "input 7x7x3\nconv 4 k=3 s=3", {}),
    ("conv-stride-over-kernel", "input 10x10x3\nconv 4 k=1 s=3", {}),
    ("conv-kernel-eq-input", "input 5x5x3\nconv 4 k=5", {}),
    ("conv-bias-false-key", "input 8x8x3\nconv 8 k=3 bias=false", {}),
    ("conv-set-bias-false", "set bias=false\ninput 8x8x3\nconv 8 k=3\nconv 4 k=1 bias=true", {}),
    ("conv-load-bias-false", "input 8x8x3\nconv 8 k=3\nflatten\nfc 10", {"bias": False}),
    ("conv-on-vector-input-of-1x1", "input 1x1x64\nconv 10 k=1", {}),
    # --- depthwise
    ("dwconv", "input 16x16x8\ndwconv k=3 p=1", {}),
    ("dwconv-m2-s2", "input 16x16x8\ndwconv k=3 s=2 p=1 m=2", {}),
    ("dwconv-same-dilated", "input 16x16x8\ndwconv k=5 d=2 p=same", {}),
    ("dwconv-same-s2", "input 15x15x8\ndwconv k=3 s=2 p=same", {}),
    ("dwconv-no-bias", "input 16x16x8\ndwconv k=3 m=3 bias=false", {}),
    # --- transposed
    ("convT-k4-s2-p1", "input 8x8x16\nconvT 8 k=4 s=2 p=1", {}),
    ("convT-output-padding", "input 8x8x16\nconvT 8 k=3 s=2 p=1 op=1", {}),
    ("convT-dilation-groups", "input 8x8x16\nconvT 8 k=3 s=2 d=2 g=2", {}),
    ("convT-op-below-dilation", "input 8x8x16\nconvT 8 k=3 s=1 d=2 op=1", {}),
    ("convT-asym", "input 8x9x16\nconvT 8 k=3x5 s=1x2 p=1x2 op=0x1", {}),
    ("convT-no-bias", "input 8x8x16\nconvT 8 k=2 s=2 bias=false", {}),
    ("convT-depthwise-groups", "input 8x8x16\nconvT 32 k=3 s=2 g=16", {}),
    # --- pools
    ("maxpool-k2", "input 32x32x8\nmaxpool k=2", {}),
    ("maxpool-k3-s2", "input 13x13x8\nmaxpool k=3 s=2", {}),
    ("maxpool-pad", "input 112x112x8\nmaxpool k=3 s=2 p=1", {}),
    ("maxpool-ceil", "input 110x110x8\nmaxpool k=3 s=2 ceil=true", {}),
    ("maxpool-ceil-exact", "input 13x13x8\nmaxpool k=3 s=2 ceil=true", {}),
    ("maxpool-ceil-odd-k2", "input 7x7x8\nmaxpool k=2 ceil=true", {}),
    ("maxpool-ceil-drop-window-in-pad", "input 4x4x2\nmaxpool k=2 s=3 p=1 ceil=true", {}),
    ("maxpool-ceil-drop-window-past-input", "input 5x5x2\nmaxpool k=1 s=3 ceil=true", {}),
    ("maxpool-ceil-pad-keep", "input 6x6x2\nmaxpool k=3 s=2 p=1 ceil=true", {}),
    ("maxpool-asym", "input 12x12x4\nmaxpool k=2x3 s=2x1 p=1x1", {}),
    ("maxpool-same-s2", "input 15x15x4\nmaxpool k=3 s=2 p=same", {}),
    ("maxpool-same-default-stride", "input 15x15x4\nmaxpool k=2 p=same", {}),
    ("maxpool-same-s1", "input 15x15x4\nmaxpool k=3 s=1 p=same", {}),
    ("avgpool-k2", "input 32x32x8\navgpool k=2", {}),
    ("avgpool-ceil", "input 7x7x8\navgpool k=2 ceil=true", {}),
    ("avgpool-ceil-drop", "input 4x4x2\navgpool k=2 s=3 p=1 ceil=true", {}),
    ("avgpool-pad", "input 9x9x8\navgpool k=3 s=2 p=1", {}),
    ("avgpool-non-exact", "input 7x7x3\navgpool k=3 s=3", {}),
    ("avgpool-same-s2", "input 16x16x4\navgpool k=3 s=2 p=same", {}),
    ("gap", "input 7x7x16\ngap", {}),
    ("gap-asym", "input 5x9x16\ngap", {}),
    ("adaptive-non-divisor", "input 7x7x4\nadaptiveavgpool 3x3", {}),
    ("adaptive-1x1", "input 7x7x4\nadaptiveavgpool 1x1", {}),
    ("adaptive-asym", "input 13x13x4\nadaptiveavgpool 2x5", {}),
    ("adaptive-grow", "input 3x3x4\nadaptiveavgpool 6x6", {}),
    # --- normalisation
    ("bn-map", "input 8x8x16\nbn", {}),
    ("bn-after-conv", "input 8x8x3\nconv 16 k=3\nbn", {}),
    ("bn-vector", "input 32\nbn", {}),
    ("bn-after-fc", "input 32\nfc 16\nbn", {}),
    ("bn-with-load-bias-false", "input 8x8x3\nconv 16 k=3\nbn", {"bias": False}),
    ("lrn", "input 13x13x96\nlrn size=5", {}),
    ("lrn-default", "input 13x13x8\nlrn", {}),
    ("lrn-size3", "input 13x13x8\nlrn size=3", {}),
    # --- activations and dropout
    ("relu", "input 8x8x4\nrelu", {}),
    ("relu6", "input 8x8x4\nrelu6", {}),
    ("sigmoid", "input 8x8x4\nsigmoid", {}),
    ("tanh", "input 8x8x4\ntanh", {}),
    ("hswish", "input 8x8x4\nhswish", {}),
    ("softmax-map", "input 8x8x4\nsoftmax", {}),
    ("softmax-vector", "input 10\nsoftmax", {}),
    ("gelu", "input 8x8x4\ngelu", {}),
    ("relu-vector", "input 10\nrelu", {}),
    ("dropout", "input 8x8x4\ndropout p=0.2", {}),
    ("dropout-vector", "input 10\ndropout", {}),
    # --- flatten, fc, reshape
    ("flatten-fc", "input 5x5x16\nflatten\nfc 10", {}),
    ("gap-flatten-fc", "input 7x7x16\ngap\nflatten\nfc 10", {}),
    ("gap-fc", "input 7x7x16\ngap\nfc 10", {}),
    ("flatten-vector", "input 10\nflatten", {}),
    ("fc", "input 100\nfc 10", {}),
    ("fc-no-bias", "input 100\nfc 10 bias=false", {}),
    ("linear-alias", "input 100\nlinear 10", {}),
    ("dense-alias", "input 100\ndense 10", {}),
    ("fc-chain", "input 100\nfc 50\nrelu\nfc 1", {}),
    ("reshape-to-map", "input 64\nreshape 4x4x4", {}),
    ("reshape-to-vector", "input 4x4x4\nreshape 64", {}),
    ("reshape-map-to-map", "input 2x8x4\nreshape 4x4x4", {}),
    ("fc-reshape-conv", "input 100\nfc 392\nreshape 7x7x8\nconvT 4 k=4 s=2 p=1", {}),
    # --- merges
    (
        "concat-3-branches",
        "input 16x16x8\na: conv 4 k=1\nb: conv 6 k=3 p=1 from=input\nc: maxpool k=3 s=1 p=1 from=input\n"
        "concat from=a,b,c",
        {},
    ),
    ("concat-two-inputs", "in1: input 8x8x3\nin2: input 8x8x5\nconcat from=in1,in2", {}),
    ("concat-vectors", "input 10\na: fc 4\nb: fc 6 from=input\nconcat from=a,b", {}),
    ("add-residual", "input 8x8x16\nc1: conv 16 k=3 p=1\nadd from=input,c1", {}),
    ("add-broadcast-1x1xC", "input 8x8x16\ng: gap\nadd from=input,g", {}),
    ("add-vectors", "input 10\na: fc 10\nadd from=input,a", {}),
    (
        "mul-squeeze-excite",
        "input 8x8x32\ng: gap\nf1: conv 8 k=1\nrelu\nf2: conv 32 k=1\ns: sigmoid\nmul from=input,s",
        {},
    ),
    ("mul-broadcast-first", "input 8x8x16\ng: gap\nmul from=g,input", {}),
    # --- upsample
    ("upsample-nearest-2", "input 7x7x4\nupsample", {}),
    ("upsample-bilinear-2", "input 7x7x4\nupsample scale=2 mode=bilinear", {}),
    ("upsample-nearest-1.5", "input 7x7x4\nupsample scale=1.5", {}),
    ("upsample-bilinear-1.5", "input 7x7x4\nupsample scale=1.5 mode=bilinear", {}),
    ("upsample-bilinear-1.5-asym", "input 5x8x4\nupsample scale=1.5 mode=bilinear", {}),
    ("upsample-down-0.5", "input 7x7x3\nupsample scale=0.5", {}),
    ("upsample-3", "input 5x5x3\nupsample scale=3", {}),
    # --- activations beyond spec v1 (torch's own modules: SiLU, Hardsigmoid, LeakyReLU(0.01), ELU, Identity)
    ("silu", "input 8x8x4\nsilu", {}),
    ("swish-alias", "input 8x8x4\nswish", {}),
    ("silu-vector", "input 10\nsilu", {}),
    ("hsigmoid", "input 8x8x4\nhsigmoid", {}),
    ("hardsigmoid-alias", "input 8x8x4\nhardsigmoid", {}),
    ("hardswish-alias", "input 8x8x4\nhardswish", {}),
    ("leakyrelu", "input 8x8x4\nleakyrelu", {}),
    ("leakyrelu-vector", "input 10\nleakyrelu", {}),
    ("elu", "input 8x8x4\nelu", {}),
    ("identity", "input 8x8x4\nidentity", {}),
    ("identity-vector", "input 10\nidentity", {}),
    # --- stochastic depth: identity when counting (torchvision's StochasticDepth in eval mode)
    ("droppath-default", "input 8x8x4\ndroppath", {}),
    ("droppath-residual", "input 8x8x4\nc: conv 4 k=3 p=1\nd: droppath p=0.2\nadd from=input,d", {}),
    ("droppath-p1", "input 8x8x4\ndroppath p=1", {}),
    ("stochasticdepth-alias-vector", "input 10\nstochasticdepth p=0.1", {}),
    # --- layer norm: LayerNorm2d (ConvNeXt) on a map, nn.LayerNorm on a vector; gamma and beta of C, no buffers
    ("layernorm-map", "input 7x7x96\nlayernorm", {}),
    ("layernorm-1x1-map", "input 1x1x16\nlayernorm", {}),
    ("layernorm-vector", "input 32\nlayernorm", {}),
    ("ln-alias-after-fc", "input 32\nfc 16\nln", {}),
    ("layernorm-after-conv", "input 8x8x3\nconv 16 k=3\nlayernorm", {}),
    ("layernorm-with-load-bias-false", "input 8x8x16\nlayernorm", {"bias": False}),  # beta stays, as bn's does
    ("layernorm-with-set-bias-false", "set bias=false\ninput 8x8x16\nlayernorm", {}),
    # --- channel shuffle (nn.ChannelShuffle)
    ("shuffle-default-g2", "input 8x8x6\nshuffle", {}),
    ("shuffle-g3", "input 8x8x12\nshuffle g=3", {}),
    ("shuffle-g-eq-channels", "input 4x4x6\nshuffle g=6", {}),
    ("shuffle-g1", "input 4x4x6\nshuffle g=1", {}),
    ("channelshuffle-alias", "input 4x4x8\nchannelshuffle g=4", {}),
    # --- slice: a range a:b (channels a..b-1) or a list of channels
    ("slice-range", "input 8x8x10\nslice 2:7", {}),
    ("slice-range-from-0", "input 8x8x10\nslice :4", {}),
    ("slice-range-to-end", "input 8x8x10\nslice 6:10", {}),
    ("slice-range-one", "input 8x8x10\nslice 9:10", {}),
    ("slice-list", "input 8x8x10\nslice 0,1,3,4", {}),
    ("slice-list-unsorted", "input 8x8x10\nslice 5,1,3", {}),
    ("slice-one-channel", "input 8x8x10\nslice 3", {}),
    ("slice-vector", "input 10\nslice 2:5", {}),
    ("slice-list-vector", "input 10\nslice 0,9", {}),
    ("split-select-aliases", "input 8x8x10\na: split 0:5\nb: select 5,6,7,8,9 from=input\nadd from=a,b", {}),
    (
        "shufflenet-v2-unit",
        "input 28x28x116\na: slice 0:58\nb: slice 58:116 from=input\nb1: conv 58 k=1 bias=false\nbn\nrelu\n"
        "dwconv k=3 p=1 bias=false\nbn\nb2: conv 58 k=1 bias=false\nbn\nrelu\nc: concat from=a,relu2\nshuffle g=2",
        {},
    ),
    # --- scale: a learnt factor per channel, and a learnt shift only with its own bias=true
    ("scale", "input 8x8x16\nscale", {}),
    ("scale-bias", "input 8x8x16\nscale bias=true", {}),
    ("scale-bias-false-key", "input 8x8x16\nscale bias=false", {}),
    ("scale-vector", "input 10\nscale", {}),
    ("scale-bias-vector", "input 10\nscale bias=true", {}),
    ("layerscale-affine-aliases", "input 8x8x16\nlayerscale\naffine bias=true", {}),
    # `set bias=` governs layers whose bias is on by default; scale's is off by default, so neither setting reaches
    # it: `set bias=false` keeps an explicit bias=true shift, and `set bias=true` adds none.
    ("scale-bias-under-set-bias-false", "set bias=false\ninput 8x8x16\nscale bias=true", {}),
    ("scale-under-set-bias-true", "set bias=true\ninput 8x8x16\nscale", {}),
    # load(bias=False) does reach it: the shift goes with the conv and fc biases (but bn's and layernorm's beta stay).
    ("scale-bias-with-load-bias-false", "input 8x8x16\nscale bias=true\nbn\nlayernorm", {"bias": False}),
    (
        "lenet-subsampling",
        "input 28x28x6\ns2.pool: avgpool k=2\ns2: scale bias=true\ntanh",
        {},
    ),
    (
        "convnext-block",
        "input 14x14x96\ndw: dwconv k=7 p=3\nlayernorm\nfc1: conv 384 k=1\ngelu\nconv 96 k=1\nls: scale\n"
        "droppath p=0.1\nadd from=input,droppath1",
        {},
    ),
    # --- the Euclidean RBF output: in*N fixed centres (a buffer), MACs in*N stated by hand (see translate.py)
    ("rbf", "input 84\nrbf 10", {}),
    ("rbf-on-1x1-map", "input 1x1x84\nrbf 10", {}),
    ("rbf-after-flatten-fc", "input 5x5x16\nflatten\nfc 84\ntanh\nrbf 10", {}),
    ("rbf-with-load-bias-false", "input 84\nrbf 10", {"bias": False}),
    # --- training-only layers (aux=true): params counted, MACs and memory left out of the totals
    ("aux-head", "input 16x16x8\nc: conv 16 k=3 p=1\na: gap from=c aux=true\nfc 10\nm: conv 8 k=1 from=c", {}),
    (
        "aux-two-heads-merge",
        "input 16x16x8\nc: conv 16 k=3\na1: conv 4 k=1 from=c aux=true\na2: conv 4 k=1 from=c aux=true\n"
        "concat from=a1,a2\ngap\nfc 10\nmain: gap from=c\nfc 5",
        {},
    ),
    ("aux-with-rbf", "input 84\nfc 32\nr: rbf 10 from=input aux=true", {}),
    (
        "aux-without-bias",
        "input 16x16x8\nc: conv 16 k=3\na: conv 4 k=1 aux=true\nm: conv 4 k=1 from=c",
        {"bias": False},
    ),
    # --- opaque: a layer PyTorch cannot be given; only its declared shape, params and buffers, MACs unknown
    ("opaque-map", "input 8x8x4\nopaque 8x8x6 params=10 buffers=2 what=torch.nn.GRU\nconv 4 k=1", {}),
    ("opaque-to-vector-two-inputs", "input 8x8x4\nc: conv 4 k=1\nopaque 32 from=input,c\nfc 10", {}),
    ("opaque-no-params", "input 10\nopaque 5\nrelu", {}),
    # --- small networks that mix everything
    (
        "encoder-decoder",
        "input 32x32x3\nc1: conv 16 k=3 s=2 p=same\nbn\nrelu6\nd1: dwconv k=3 p=1 m=2\nhswish\n"
        "up: upsample scale=2 mode=bilinear\nconvT 8 k=4 s=2 p=1\nsoftmax",
        {},
    ),
    (
        "inception-ish",
        "input 28x28x192\nb1: conv 64 k=1\nb2r: conv 96 k=1 from=input\nb2: conv 128 k=3 p=1\n"
        "b3r: conv 16 k=1 from=input\nb3: conv 32 k=5 p=2\nb4p: maxpool k=3 s=1 p=1 from=input\nb4: conv 32 k=1\n"
        "concat from=b1,b2,b3,b4",
        {},
    ),
]

SPEC_V1_OPS = {
    "input", "conv", "dwconv", "convT", "maxpool", "avgpool", "gap", "adaptiveavgpool", "bn", "lrn",
    "relu", "relu6", "sigmoid", "tanh", "hswish", "softmax", "gelu", "dropout", "flatten", "fc",
    "reshape", "concat", "add", "mul", "upsample",
}  # fmt: skip


@pytest.mark.parametrize(("spec", "kwargs"), [pytest.param(s, k, id=i) for i, s, k in CASES])
def test_op_matches_torch(spec: str, kwargs: dict[str, object]) -> None:
    assert_matches_torch(spec, **kwargs)


def assert_matches_torch(spec: str, **kwargs: object) -> None:
    model = cnncalc.load(spec, **kwargs)  # type: ignore[arg-type]
    wrong = differences(model, bias=bool(kwargs.get("bias", True)))
    assert not wrong, f"cnncalc and PyTorch disagree on\n{spec}\n" + "\n".join(wrong)


@pytest.mark.parametrize("spec", [pytest.param(s, id=i) for i, s, _ in CASES])
def test_op_runs_for_real(spec: str) -> None:
    # Meta kernels skip some of the checks real ones make; these nets are small enough to run on the CPU.
    model = cnncalc.load(spec)
    real = translate(model.graph, device="cpu")
    real.module.train()  # every layer, the training-only ones too (the layers themselves stay in eval mode)
    with torch.no_grad():
        values = real.module(real.feeds)
    shapes = {layer.name: layer.output.dims("chw") for layer in model.layers}
    assert {name: list(v.shape[1:]) for name, v in values.items()} == shapes


# In ceil mode PyTorch keeps a window that starts inside the (padded) input even when the kernel is larger than
# that input: out = ceil((N + 2P - K) / S) + 1 is still >= 1 whenever K <= N + 2P + S - 1.
CEIL_OVERHANG: list[tuple[str, str]] = [
    ("maxpool-k4-s2-on-3x3", "input 3x3x1\nmaxpool k=4 s=2 ceil=true"),  # torch: 1x1
    ("maxpool-k4-on-2x4", "input 2x4x4\nmaxpool k=4 ceil=true"),  # torch: 1x1
    ("avgpool-k2-on-1x13", "input 1x13x4\navgpool k=2 ceil=true"),  # torch: 1x7
    ("avgpool-k3-s3-on-7x1", "input 7x1x2\navgpool k=3 s=3 ceil=true"),  # torch: 3x1
    ("maxpool-k5-p1-on-1x1", "input 1x1x6\nmaxpool k=5 p=1 ceil=true"),  # torch: 1x1
]


@pytest.mark.parametrize("spec", [pytest.param(s, id=i) for i, s in CEIL_OVERHANG])
def test_ceil_pool_window_larger_than_input(spec: str) -> None:
    real = translate(parse_spec(spec, source="<text>", name="spec"), device="cpu")
    with torch.no_grad():
        real.module(real.feeds)  # PyTorch gives a size: cnncalc should give the same one, not refuse
    assert_matches_torch(spec)


def test_cases_cover_every_spec_v1_op() -> None:
    used = {n.op for _, spec, _ in CASES for n in cnncalc.load(spec).graph.nodes}
    assert not SPEC_V1_OPS - used, f"no oracle case for {sorted(SPEC_V1_OPS - used)}"


def test_every_registered_op_is_translatable() -> None:
    # Every op cnncalc registers, spec v1 or later, has a translation and at least one case checked against PyTorch.
    # The ops of tensors of any rank are checked against layers built in torch directly, in test_nd_ops_vs_torch.py.
    from test_nd_ops_vs_torch import NEW_OPS

    used = {n.op for _, spec, _ in CASES for n in cnncalc.load(spec).graph.nodes} | set(NEW_OPS)
    used |= {"lstm", "gru", "rnn"}  # checked against nn.LSTM, nn.GRU and nn.RNN built directly: test_recurrent.py
    missing = sorted({op.name for op in all_ops()} - used)
    assert not missing, f"ops with no PyTorch oracle case (add a translation and a row to CASES): {missing}"


def test_non_exact_warns_and_keeps_torch_size() -> None:
    # The warning is about the dropped input rows, not about the size: the size stays PyTorch's floor.
    model = cnncalc.load("input 7x7x3\nconv 4 k=3 s=3")
    assert model.layer("conv1").warnings
    assert model.layer("conv1").output.dims("chw") == measure(translate(model.graph))["conv1"].shape


# Things PyTorch refuses: cnncalc must refuse them too. Real (tiny) CPU tensors: meta kernels skip some checks.
REFUSED: list[tuple[str, str, Callable[[], object]]] = [
    (
        "pool-pad-over-half-window",
        "input 8x8x2\nmaxpool k=2 p=2",
        lambda: nn.MaxPool2d(2, padding=2)(torch.zeros(1, 2, 8, 8)),
    ),
    (
        "avgpool-pad-over-half-window",
        "input 8x8x2\navgpool k=3 p=2",
        lambda: nn.AvgPool2d(3, padding=2)(torch.zeros(1, 2, 8, 8)),
    ),
    (
        "convT-output-padding-too-big",
        "input 8x8x4\nconvT 4 k=3 s=2 op=2",
        lambda: nn.ConvTranspose2d(4, 4, 3, stride=2, output_padding=2)(torch.zeros(1, 4, 8, 8)),
    ),
    (
        "conv-kernel-over-input",
        "input 4x4x3\nconv 8 k=5",
        lambda: nn.Conv2d(3, 8, 5)(torch.zeros(1, 3, 4, 4)),
    ),
    (
        "conv-groups-not-dividing-input",
        "input 8x8x6\nconv 8 k=3 g=4",
        lambda: nn.Conv2d(6, 8, 3, groups=4),
    ),
    (
        "conv-groups-not-dividing-output",
        "input 8x8x8\nconv 6 k=3 g=4",
        lambda: nn.Conv2d(8, 6, 3, groups=4),
    ),
    (
        "ceil-pool-no-window-at-all",
        "input 5x5x1\nmaxpool k=6 s=1 ceil=true",
        lambda: nn.MaxPool2d(6, stride=1, ceil_mode=True)(torch.zeros(1, 1, 5, 5)),
    ),
    (
        "pool-window-over-input",
        "input 2x2x4\nmaxpool k=3",
        lambda: nn.MaxPool2d(3)(torch.zeros(1, 4, 2, 2)),
    ),
    (
        "concat-spatial-mismatch",
        "input 8x8x4\na: maxpool k=2\nconcat from=input,a",
        lambda: torch.cat([torch.zeros(1, 4, 8, 8), torch.zeros(1, 4, 4, 4)], dim=1),
    ),
    (
        "add-channel-mismatch",
        "input 8x8x4\na: conv 8 k=1\nadd from=input,a",
        lambda: torch.zeros(1, 4, 8, 8) + torch.zeros(1, 8, 8, 8),
    ),
    (
        "reshape-count-mismatch",
        "input 4x4x4\nreshape 10",
        lambda: torch.zeros(1, 64).reshape(1, 10),
    ),
    (
        "fc-on-feature-map",
        "input 5x5x4\nfc 10",
        lambda: nn.Linear(4, 10)(torch.zeros(1, 4, 5, 5).flatten(1)),
    ),
    (
        "rbf-on-feature-map",
        "input 5x5x4\nrbf 10",
        lambda: EuclideanRBF(4, 10)(torch.zeros(1, 4, 5, 5)),
    ),
    (
        "shuffle-g-not-dividing-channels",
        "input 4x4x6\nshuffle g=4",
        lambda: nn.ChannelShuffle(4)(torch.zeros(1, 6, 4, 4)),
    ),
    (
        "slice-list-past-the-channels",
        "input 4x4x6\nslice 0,6",
        lambda: torch.zeros(1, 6, 4, 4)[:, [0, 6]],
    ),
    (
        "shuffle-on-a-vector",
        "input 12\nshuffle g=3",
        lambda: nn.ChannelShuffle(3)(torch.zeros(1, 12)),
    ),
    (
        # An eval forward skips the training-only `a`, so `add` would have no input.
        "inference-layer-reads-a-training-only-one",
        "input 8x8x4\na: conv 4 k=1 aux=true\nadd from=input,a",
        lambda: translate(cnncalc.read_graph("input 8x8x4\na: conv 4 k=1 aux=true\nadd from=input,a\n")),
    ),
    (
        "add-of-slices-of-different-widths",
        "input 4x4x6\na: slice 0:2\nb: slice 2:5 from=input\nadd from=a,b",
        lambda: torch.zeros(1, 6, 4, 4)[:, 0:2] + torch.zeros(1, 6, 4, 4)[:, 2:5],
    ),
]


@pytest.mark.parametrize(("spec", "torch_side"), [pytest.param(s, f, id=i) for i, s, f in REFUSED])
def test_refused_by_both(spec: str, torch_side: Callable[[], object]) -> None:
    with pytest.raises((RuntimeError, ValueError, IndexError, TrainingOnlyLeakError)):
        torch_side()
    with pytest.raises(CnnCalcError):
        cnncalc.load(spec)


def test_slice_past_the_channels_refused_though_torch_clamps() -> None:
    # Python slicing clamps: x[:, 4:9] of 6 channels gives 2. cnncalc refuses the range instead, which is stricter
    # than PyTorch but is what a spec author means (a typo, not a request for fewer channels).
    assert torch.zeros(1, 6, 4, 4)[:, 4:9].shape[1] == 2
    with pytest.raises(CnnCalcError):
        cnncalc.load("input 4x4x6\nslice 4:9")


# ----------------------------------------------------------------------------- the oracle itself


@pytest.mark.parametrize(
    ("n", "k", "s", "d", "want"),
    [
        # TensorFlow's documented rule: out = ceil(n/s), total = max((out-1)*s + (k-1)*d + 1 - n, 0), extra after.
        (15, 3, 2, 1, (1, 1)),
        (16, 3, 2, 1, (0, 1)),
        (224, 7, 2, 1, (2, 3)),
        (5, 1, 3, 1, (0, 0)),
        (17, 3, 1, 1, (1, 1)),
        (17, 4, 1, 1, (1, 2)),
        (20, 3, 3, 2, (1, 2)),
    ],
)
def test_tf_same_pad(n: int, k: int, s: int, d: int, want: tuple[int, int]) -> None:
    assert tf_same_pad(n, k, s, d) == want


def test_translation_runs_on_real_tensors() -> None:
    # The meta walk could hide a wrong shape in a Fn; run a mixed graph for real once.
    spec = (
        "input 9x9x3\nconv 4 k=4 s=2 p=same\nmaxpool k=2 p=same\nflatten\nfc 27\nreshape 3x3x3\n"
        "upsample scale=1.5 mode=bilinear\nbn\ndwconv k=3 p=same m=2\ng: gap\nmul from=dwconv1,g"
    )
    model = cnncalc.load(spec)
    meta = measure(translate(model.graph))
    real = translate(model.graph, device="cpu")
    with torch.no_grad():
        values = real.module(real.feeds)
    assert {k: list(v.shape[1:]) for k, v in values.items()} == {k: m.shape for k, m in meta.items()}
    assert torch.isfinite(values["mul1"]).all()


def test_untranslatable_op_is_reported() -> None:
    from cnncalc.ir import Graph, Node, Shape

    graph = Graph("g", [Node("input", "input", {"shape": Shape(3, 4, 4)}), Node("x", "warp", {}, ["input"])])
    with pytest.raises(UntranslatableError):
        translate(graph)


def test_oracle_notices_a_wrong_figure() -> None:
    # A report for k=3 held against a k=5 graph must show differences, or the oracle proves nothing.
    from cnncalc.api import Model

    report = cnncalc.load("input 8x8x3\nconv 4 k=3").report
    graph = cnncalc.load("input 8x8x3\nconv 4 k=5").graph
    wrong = differences(Model(graph, report))
    assert any("shape" in w for w in wrong)
    assert any("params" in w for w in wrong)
    assert any("macs" in w for w in wrong)


def test_rbf_is_not_counted_by_torch() -> None:
    # FlopCounterMode counts matrix products and convolutions, not element-wise work, so it sees nothing in the RBF
    # layer; translate.py states its MACs by hand (in * N). If torch starts counting it, drop the hand figure.
    rbf = EuclideanRBF(84, 10).to("meta")
    with FlopCounterMode(display=False) as counter:
        rbf(torch.zeros(1, 84, device="meta"))
    assert counter.get_total_flops() == 0
    assert rbf.macs_by_hand == 84 * 10


def test_rbf_by_hand_figure_is_what_torch_counts_for_the_matrix_form() -> None:
    # The same distances as |x|^2 - 2 x.w + |w|^2: here the cross term is a matrix product torch does count.
    x, w = torch.randn(1, 84), torch.randn(10, 84)
    with FlopCounterMode(display=False) as counter:
        expanded = (x**2).sum(-1, keepdim=True) - 2 * x @ w.T + (w**2).sum(-1)
    assert counter.get_total_flops() // 2 == 84 * 10 == EuclideanRBF(84, 10).macs_by_hand
    rbf = EuclideanRBF(84, 10)
    rbf.centres.copy_(w)
    assert torch.allclose(rbf(x), expanded, rtol=1e-4, atol=1e-3)
    assert cnncalc.load("input 84\nrbf 10").layer("rbf1").macs == 84 * 10


def test_training_only_layers_are_skipped_in_eval() -> None:
    spec = "input 16x16x8\nc: conv 16 k=3 p=1\na: gap from=c aux=true\nfc 10\nm: conv 8 k=1 from=c"
    tr = translate(cnncalc.load(spec).graph)
    assert tr.module.training_only == {"a", "fc1"}
    # c: 16x16 outputs x 16 channels x 3x3x8; m: 16x16 x 8 x 1x1x16; the head's fc1: 16 x 10, in training only.
    assert total_flops(tr) == 2 * (16 * 16 * 16 * 3 * 3 * 8 + 16 * 16 * 8 * 16)
    assert total_flops(tr, training=True) == total_flops(tr) + 2 * 16 * 10
    assert not tr.module.training  # the translation is left in eval mode


def test_oracle_refuses_an_inference_layer_reading_a_training_only_one() -> None:
    graph = cnncalc.read_graph("input 8x8x4\na: conv 4 k=1 aux=true\nadd from=input,a\n")
    with pytest.raises(TrainingOnlyLeakError):
        translate(graph)


def test_oracle_notices_wrong_training_only_figures() -> None:
    # A report made without the aux mark, held against the graph with it: cnncalc's figures then count the head's
    # MACs, torch's eval pass does not run it, and the oracle must say so.
    from cnncalc.api import Model

    model = cnncalc.load("input 16x16x8\nc: conv 16 k=3\na: gap from=c aux=true\nfc 10\nm: conv 8 k=1 from=c")
    plain = cnncalc.load("input 16x16x8\nc: conv 16 k=3\na: gap from=c\nfc 10\nm: conv 8 k=1 from=c")
    wrong = differences(Model(model.graph, plain.report))
    assert any("totals macs" in w for w in wrong)
    assert any("training only" in w for w in wrong)
    assert any("training-only totals" in w for w in wrong)
