"""Each FLOP tool's convention (cnncalc.passes.conventions), checked two ways.

1. Hand-worked: small layers whose figure under every convention is written out as arithmetic, with the rule of the
   tool's own source it follows (file and function, for the versions `make bench` installs: fvcore 0.1.5, thop 0.1.1,
   ptflops 0.7.5, torchinfo 1.8.0, torch-scan 0.2.0, PyTorch's flop_counter.py, DeepSpeed's profiler.py, which
   calflops 0.3.2 copies). None of the expected figures comes from running cnncalc.
2. Against the tools themselves, where they are installed: small networks written by hand in PyTorch the way
   cnncalc's export writes them (modules for layers with parameters, torch.nn.functional calls for activations,
   `x + y` and `x * y`), run through each tool, whose total must equal cnncalc's column for it.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from typing import Any

import pytest

import cnncalc
from cnncalc.passes.conventions import CONVENTIONS, conventions
from cnncalc.render.conventions import render_conventions

KEYS = [c.key for c in CONVENTIONS]


def figures(spec: str, layer: str) -> dict[str, int | None]:
    """Every convention's figure for one layer of a spec."""
    report = conventions(cnncalc.load(spec))
    row = next(r for r in report.layers if r.name == layer)
    return dict(zip(KEYS, row.values, strict=True))


def test_every_convention_has_a_sentence_and_a_source() -> None:
    assert KEYS[:2] == ["macs", "flops"]
    assert len(set(KEYS)) == len(KEYS)
    for c in CONVENTIONS:
        assert c.counts and "." not in c.counts[-1:], c.key  # one sentence, no full stop inside the table
        assert c.source and c.unit


# ----------------------------------------------------------------------------- hand-worked

# Each case: a spec, the layer to read, and its figure under every convention, written as arithmetic.
CASES: list[tuple[str, str, str, dict[str, int | None]]] = [
    (
        "conv 3x3, bias: 8x8x3 -> 8x8x8, MACs 8*8*8 * 3*3*3 = 13,824",
        "input 8x8x3\nc: conv 8 k=3 p=1",
        "c",
        {
            "macs": 8 * 8 * 8 * 3 * 3 * 3,
            "flops": 2 * 13824,
            "fvcore": 1 * (8 * 3 * 3 * 3) * (8 * 8),  # conv_flop_count: batch * prod(w_shape) * prod(out H, W)
            "thop": (1 * 8 * 8 * 8) * (3 // 1) * (3 * 3),  # calculate_conv2d_flops: prod(out) * C_in/g * K
            "ptflops": 13824 + 1 * 8 * 8 * 8,  # conv_flops_counter_hook: + bias, one per output element
            "torchinfo": (8 * 3 * 3 * 3 + 8) * (8 * 8),  # calculate_macs: (weight + bias numel) * out H*W
            "torchscan_flops": (8 * 8 * 8) * (2 * 27 - 1 + 1),  # flops_convnd: (2 * terms - 1 + bias) per output
            "torchscan_macs": (8 * 8 * 8) * 27,  # macs_convnd: output numel * C_in/g * K
            "flop_counter": 2 * 13824,  # conv_flop_count: 2 * MACs
            "deepspeed": 2 * 13824 + 8 * (8 * 8),  # _conv_flops_compute: 2 * MACs + C_out * output positions
        },
    ),
    (
        "grouped strided conv, no bias: 9x9x4 -> 5x5x8, g=2, MACs 5*5*8 * 3*3*4/2 = 3,600",
        "input 9x9x4\nc: conv 8 k=3 s=2 p=1 g=2 bias=false",
        "c",
        {
            "macs": 5 * 5 * 8 * 3 * 3 * 2,
            "flops": 2 * 3600,
            "fvcore": (8 * 2 * 3 * 3) * (5 * 5),
            "thop": (5 * 5 * 8) * (4 // 2) * 9,
            "ptflops": 3600,
            "torchinfo": (8 * 2 * 3 * 3) * (5 * 5),
            "torchscan_flops": (5 * 5 * 8) * (2 * 18 - 1),
            "torchscan_macs": (5 * 5 * 8) * 18,
            "flop_counter": 7200,
            "deepspeed": 7200,
        },
    ),
    (
        "transposed conv: 5x5x4 -> 10x10x6 (k=4, s=2, p=1), MACs at input positions 5*5*4 * 6*4*4 = 9,600",
        "input 5x5x4\nt: convT 6 k=4 s=2 p=1",
        "t",
        {
            "macs": 5 * 5 * 4 * 6 * 4 * 4,
            "flops": 2 * 9600,
            "fvcore": (4 * 6 * 4 * 4) * (5 * 5),  # conv_flop_count(transposed=True): prod(w) * input H*W
            "thop": (10 * 10 * 6) * (4 // 1) * (4 * 4),  # the same formula as a conv: output positions
            "ptflops": (4 * 4) * (4 * 6) * (5 * 5) + 10 * 10 * 6,  # transpose=True: input positions; + bias
            "torchinfo": (4 * 6 * 4 * 4 + 6) * (10 * 10),  # "Conv" in ConvTranspose2d: params * output H*W
            "torchscan_flops": 8 * 2 + (10 * 10 * 6) * (2 * (4 * 4 * 4) - 1 + 1),  # flops_convtransposend
            "torchscan_macs": 4 * 2 + (10 * 10 * 6) * 4 * (4 * 4),  # macs_convtransposend
            "flop_counter": 2 * 9600,
            # _conv_trans_flops_compute: out_channels = weight.shape[1] = 6; the bias's "output" size is worked
            # out with the forward-conv formula: (5 + 2*1 - 4)//2 + 1 = 2 per side
            "deepspeed": 2 * (4 * 4 * 4 * 6 * 5 * 5) + 6 * 1 * (2 * 2),
        },
    ),
    (
        "fc 8 -> 10 with bias",
        "input 8\nf: fc 10",
        "f",
        {
            "macs": 8 * 10,
            "flops": 160,
            "fvcore": 1 * 8 * 10,  # linear_flop_jit: prod(input shape) * out features
            "thop": 8 * 10,  # count_linear: in_features * output numel
            "ptflops": (8 * 10 + 10) * 1,  # linear_flops_counter_hook: (in * out + bias) * batch
            "torchinfo": 1 * (8 * 10) + 1 * 10,  # batch * (weight + bias numel)
            "torchscan_flops": 10 * (2 * 8 - 1) + 10,  # flops_linear: mm + bias
            "torchscan_macs": 8 * 10,  # macs_linear
            "flop_counter": 2 * 80,  # addmm_flop: 2 * m * n * k, bias ignored
            "deepspeed": 2 * 80,  # _linear_flops_compute: 2 * MACs, no bias
        },
    ),
    (
        "batch norm on 8x8x3 (192 values, 3 channels)",
        "input 8x8x3\nb: bn",
        "b",
        {
            "macs": 0,
            "flops": 0,
            "fvcore": 192 * 2,  # batchnorm_flop_jit in eval mode, affine
            "thop": (2 * 192) * 2,  # count_normalization: calculate_norm = 2 * numel, doubled for the affine
            "ptflops": 192 * 2,  # bn_flops_counter_hook, affine
            "torchinfo": 3 + 3,  # gamma and beta, times the batch
            "torchscan_flops": 3 * 2 + 192 * 2 + 192 * 2,  # flops_bn: per channel, normalise, scale
            "torchscan_macs": 192 * (1 + 1),  # macs_bn
            "flop_counter": 0,
            "deepspeed": 192 * 2,  # _batch_norm_flops_compute, eval, affine
        },
    ),
    (
        "layer norm over the channels of a 4x4x8 map (LayerNorm2d, a subclass of nn.LayerNorm)",
        "input 4x4x8\nn: layernorm",
        "n",
        {
            "macs": 0,
            "flops": 0,
            "fvcore": 128 * 5,  # norm_flop_counter(2): affine, 5 per element
            "thop": 0,  # register_hooks is keyed by exact type: LayerNorm2d has no rule
            "ptflops": 0,  # MODULES_MAPPING is keyed by exact type too
            "torchinfo": 8 + 8,  # weight and bias of the leaf module, times the batch
            "torchscan_flops": 6 * 128 + 2 * 16 + 128 + 128,  # flops_layernorm (isinstance): rows = 16 positions
            "torchscan_macs": 0,  # module_macs has no LayerNorm: "not supported"
            "flop_counter": 0,
            "deepspeed": 128 * 5,  # _layer_norm_flops_compute (F.layer_norm inside LayerNorm2d)
        },
    ),
    (
        "ReLU on 4x4x8 (128 values), written F.relu(x)",
        "input 4x4x8\nr: relu",
        "r",
        {
            **dict.fromkeys(KEYS, 0),
            "ptflops": 128,  # the patched F.relu: _numel_functional_flops_hook
            "deepspeed": 128,  # _relu_flops_compute
        },
    ),
    (
        "leaky ReLU on 4x4x8, written F.leaky_relu(x)",
        "input 4x4x8\nr: leakyrelu",
        "r",
        {**dict.fromkeys(KEYS, 0), "deepspeed": 128},  # ptflops does not patch F.leaky_relu; DeepSpeed does
    ),
    (
        "softmax over the 8 channels of a 4x4x8 map, written F.softmax(x, dim=1)",
        "input 4x4x8\ns: softmax",
        "s",
        {**dict.fromkeys(KEYS, 0), "ptflops": 128, "deepspeed": 128},  # thop's count_softmax is for nn.Softmax
    ),
    (
        "sigmoid, written torch.sigmoid(x): nobody counts it",
        "input 4x4x8\ns: sigmoid",
        "s",
        dict.fromkeys(KEYS, 0),
    ),
    (
        "max pool 3x3/2 on 9x9x3 (243 values) -> 4x4x3 (48)",
        "input 9x9x3\np: maxpool k=3 s=2",
        "p",
        {
            **dict.fromkeys(KEYS, 0),
            "ptflops": 243 + 243,  # pool_flops_counter_hook (input numel) and the patched F.max_pool2d inside it
            "torchscan_flops": 48 * (3 - 1),  # flops_maxpool: kernel_size is the int 3, not (3, 3)
            "torchscan_macs": 48 * (3 - 1),
            "deepspeed": 243,  # _pool_flops_compute: input numel
        },
    ),
    (
        "average pool 3x3/2 p=1 on 9x9x3 -> 5x5x3 (75)",
        "input 9x9x3\np: avgpool k=3 s=2 p=1",
        "p",
        {
            **dict.fromkeys(KEYS, 0),
            "thop": 75,  # count_avgpool: output numel
            "ptflops": 2 * 243,
            "torchscan_flops": 75 * (3 - 1 + 4 - 2),  # flops_avgpool: k - 1 + input.ndim - 2 per output
            "torchscan_macs": 75 * (3 - 1 + 4 - 2),
            "deepspeed": 243,
        },
    ),
    (
        "global average pool on 7x7x4 (196 values) -> 1x1x4",
        "input 7x7x4\ng: gap",
        "g",
        {
            **dict.fromkeys(KEYS, 0),
            "fvcore": 196,  # elementwise_flop_counter(1, 0) on aten::adaptive_avg_pool2d
            "thop": int((7 / 1 * 7 / 1 + 1) * 4),  # count_adap_avgpool: (prod(in / out) + 1) * output numel
            "ptflops": 2 * 196,
            "torchscan_flops": 4 * (7 * 7 - 1 + 2),  # flops_adaptive_avgpool: kernel 7x7
            "torchscan_macs": 4 * (7 * 7 - 1 + 2),
            "deepspeed": 196,
        },
    ),
    (
        "adaptive average pool 13x13x3 -> 7x7x3: windows of unequal size",
        "input 13x13x3\ng: adaptiveavgpool 7x7",
        "g",
        {
            **dict.fromkeys(KEYS, 0),
            "fvcore": 13 * 13 * 3,
            "thop": int(((13 / 7) * (13 / 7) + 1) * 147),  # in float64, truncated: 654
            "ptflops": 2 * 507,
            "torchscan_flops": 147 * ((13 % 7 + 1) * (13 % 7 + 1) - 1 + 2),  # adaptive_kernel_size: i % o + 1
            "torchscan_macs": 147 * (7 * 7 - 1 + 2),
            "deepspeed": 507,
        },
    ),
    (
        "nearest upsample x2 of 4x4x2 (32 values) -> 8x8x2 (128)",
        "input 4x4x2\nu: upsample",
        "u",
        {
            **dict.fromkeys(KEYS, 0),
            "fvcore": 128,  # elementwise_flop_counter(0, 1)
            "thop": 128,  # calculate_upsample, nearest: output numel
            "ptflops": 128 + 32 * 2**2,  # module hook (output) + patched F.interpolate (input * scale ** 2)
            "deepspeed": 32,  # _upsample_flops_compute: input numel (its scaling result is discarded)
        },
    ),
    (
        "bilinear upsample x2 of 4x4x2 -> 8x8x2",
        "input 4x4x2\nu: upsample mode=bilinear",
        "u",
        {
            **dict.fromkeys(KEYS, 0),
            "fvcore": 4 * 128,  # elementwise_flop_counter(0, 4)
            "thop": 11 * 128,  # calculate_upsample, bilinear
            "ptflops": 128 + 32 * 4,
            "deepspeed": 32,
        },
    ),
    (
        "LRN size 5 on 4x4x8 (128 values)",
        "input 4x4x8\nn: lrn size=5",
        "n",
        {
            **dict.fromkeys(KEYS, 0),
            # F.local_response_norm: x.mul(x), .mul(alpha), .add(k) are patched Tensor methods (1 per element
            # each); the window sum is F.avg_pool3d over the squares padded by 5 - 1 channels: (8 + 4) * 4 * 4
            "ptflops": 3 * 128 + (8 + 4) * 16,
            "deepspeed": 3 * 128 + (8 + 4) * 16,
        },
    ),
    (
        "dropout p=0.5 on 4x4x8",
        "input 4x4x8\nd: dropout",
        "d",
        {**dict.fromkeys(KEYS, 0), "torchscan_flops": 128},  # flops_dropout: numel when p > 0, whatever the mode
    ),
    (
        "layer scale on 4x4x8: a Scale module holding `weight`",
        "input 4x4x8\ns: scale",
        "s",
        {**dict.fromkeys(KEYS, 0), "torchinfo": 8},  # a leaf module's `weight`, times the batch
    ),
    (
        "residual add, written x + y",
        "input 4x4x8\na: relu\nb: add from=input,a",
        "b",
        dict.fromkeys(KEYS, 0),  # ptflops and DeepSpeed patch torch.add and Tensor.add, not the + operator
    ),
    (
        "LeNet-5's rbf 8 -> 3: fixed vectors, distances through one matrix product x @ w.t()",
        "input 8\nr: rbf 3",
        "r",
        {**dict.fromkeys(KEYS, 0), "macs": 24, "flops": 48, "fvcore": 8 * 3, "flop_counter": 2 * 8 * 3},
    ),
]


@pytest.mark.parametrize(("what", "spec", "layer", "expected"), CASES, ids=[c[0].split(":")[0] for c in CASES])
def test_hand_worked(what: str, spec: str, layer: str, expected: dict[str, int | None]) -> None:
    assert figures(spec, layer) == expected


def test_fvcore_misses_padding_same() -> None:
    # A symmetric `same` at stride 1 is exported as padding="same": aten::_convolution_mode, no fvcore handle.
    # An even kernel pads 1 before and 2 after: an F.pad and a plain convolution, which fvcore counts.
    odd = figures("input 8x8x3\nc: conv 4 k=3 p=same", "c")
    even = figures("input 8x8x3\nc: conv 4 k=2 p=same", "c")
    assert odd["fvcore"] == 0 and odd["macs"] == 8 * 8 * 4 * 3 * 3 * 3
    assert even["fvcore"] == even["macs"] == 8 * 8 * 4 * 2 * 2 * 3


def test_lopsided_same_pool_reads_the_padded_map() -> None:
    # k=2 s=1 `same` pads 0 before and 1 after: F.pad then the pool, which reads 9x9x3 = 243 values
    assert figures("input 8x8x3\np: maxpool k=2 s=1 p=same", "p")["ptflops"] == 2 * (9 * 9 * 3)
    # k=3 s=1 pads 1 and 1: the pool's own padding; it reads the 8x8x3 map itself
    assert figures("input 8x8x3\np: maxpool k=3 s=1 p=same", "p")["deepspeed"] == 8 * 8 * 3


def test_no_bias_setting_drops_the_bias_terms() -> None:
    model = cnncalc.load("input 8x8x3\nc: conv 8 k=3 p=1", bias=False)
    row = conventions(model).layers[1]
    got = dict(zip(KEYS, row.values, strict=True))
    assert got["ptflops"] == got["macs"] == 13824
    assert got["torchinfo"] == (8 * 3 * 3 * 3) * (8 * 8)
    assert got["deepspeed"] == 2 * 13824


def test_unknown_stays_unknown_and_out_of_the_totals() -> None:
    spec = "input 8x8x3\nc: conv 4 k=1\no: opaque 8x8x4 params=10 what=torch.nn.GRU\nr: relu"
    report = conventions(cnncalc.load(spec))
    opaque = next(r for r in report.layers if r.name == "o")
    assert opaque.values == (None,) * len(KEYS)
    assert report.totals[KEYS.index("macs")] == 8 * 8 * 4 * 3
    assert report.totals[KEYS.index("ptflops")] == 8 * 8 * 4 * 3 + 8 * 8 * 4 + 8 * 8 * 4  # conv + bias + F.relu
    assert report.unknown == (("o",),) * len(KEYS)
    assert report.to_dict()["unknown"]["fvcore"] == ["o"]
    table = render_conventions(report, per_layer=True, fmt="table")
    assert " + ?" in table and "? unknown for 1 layer(s) (o)" in table


def test_training_only_layers_are_out_of_the_totals_and_of_thops_params() -> None:
    spec = "input 8x8x3\nc: conv 4 k=1\na: gap aux=true\nf: flatten\nh: fc 2"
    report = conventions(cnncalc.load(spec))
    assert [r.aux for r in report.layers] == [False, False, True, True, True]
    assert report.totals[KEYS.index("fvcore")] == 8 * 8 * 4 * 3  # the eval forward pass runs the conv only
    params = dict(zip(KEYS, report.params, strict=True))
    assert params["macs"] == (3 * 4 + 4) + (4 * 2 + 2)
    assert params["thop"] == 3 * 4 + 4  # count_parameters is a forward hook: the head never runs in eval mode


def test_totals_are_the_sum_of_the_rows() -> None:
    report = conventions(cnncalc.load("resnet18"))
    for i, _ in enumerate(KEYS):
        assert report.totals[i] == sum(r.values[i] or 0 for r in report.layers if not r.aux)
    assert report.total("flop_counter") == report.total("flops") == 2 * report.total("macs")
    assert report.total("macs") == 1_814_073_344  # torchvision's published 1.81 GFLOPS (tests/reference)


# ----------------------------------------------------------------------------- rendering


def test_render_table_totals_and_sentences() -> None:
    report = conventions(cnncalc.load("input 8x8x3\nc: conv 8 k=3 p=1"))
    text = render_conventions(report, per_layer=False, fmt="table")
    assert text.startswith("spec: one network, 10 ways to count it\n┌")
    assert "│ ptflops " in text and "14,336" in text  # 13,824 + 512 for the bias
    for c in CONVENTIONS:
        assert c.title in text
    assert "the tool columns give what each tool prints" in text


def test_render_per_layer_markdown_and_json() -> None:
    report = conventions(cnncalc.load("input 8x8x3\nc: conv 8 k=3 p=1\nr: relu"))
    md = render_conventions(report, per_layer=True, fmt="md")
    assert "| `c` | conv | 13,824 | 27,648 |" in md
    assert "| **total** |" in md and "- **fvcore** (flops):" in md
    data = json.loads(render_conventions(report, per_layer=True, fmt="json"))
    assert data["totals"]["ptflops"] == 13824 + 512 + 512
    assert data["layers"][2]["values"]["deepspeed"] == 512
    assert [c["key"] for c in data["conventions"]] == KEYS
    assert "layers" not in json.loads(render_conventions(report, per_layer=False, fmt="json"))
    with pytest.raises(ValueError, match="format"):
        render_conventions(report, fmt="csv")


# ----------------------------------------------------------------------------- against the tools

# Small networks that use every op the tools treat differently; `_modules()` writes each by hand in PyTorch, as
# cnncalc's export writes it.
NETS = {
    "plain": """
    input 16x16x3
    conv1: conv 8 k=3 p=1
    bn1: bn
    relu1: relu
    pool1: maxpool k=2
    conv2: conv 16 k=3 p=1 bias=false
    relu2: relu6
    gap: gap
    flat: flatten
    fc: fc 10
    """,
    "branchy": """
    input 8x8x4
    a: conv 8 k=1
    b: dwconv k=3 p=1
    c: silu
    g: gap
    s1: conv 2 k=1
    s2: silu
    s3: conv 8 k=1
    s4: sigmoid
    m: mul from=c,s4
    r: add from=a,m
    up: upsample mode=bilinear
    ln: layernorm
    ls: scale
    ap: avgpool k=2
    d: dropout p=0.2
    flat: flatten
    fc: fc 5 bias=false
    """,
    "odd": """
    input 6x6x4
    t: convT 6 k=4 s=2 p=1
    e: elu
    n: lrn size=3
    h: hswish
    ad: adaptiveavgpool 5x5
    ge: gelu
    lr: leakyrelu
    flat: flatten
    fc: fc 10
    sm: softmax
    """,
}


def _modules() -> dict[str, Any]:
    """The networks of NETS as nn.Module classes (torch imported only here)."""
    import torch
    from torch import nn
    from torch.nn import functional as F  # noqa: N812 - the usual spelling

    class LayerNorm2d(nn.LayerNorm):
        def forward(self, x: Any) -> Any:
            return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    class Scale(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(1, channels, 1, 1))

        def forward(self, x: Any) -> Any:
            return x * self.weight

    class Plain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 8, kernel_size=3, padding=1)
            self.bn1 = nn.BatchNorm2d(8)
            self.pool1 = nn.MaxPool2d(kernel_size=2, stride=2)
            self.conv2 = nn.Conv2d(8, 16, kernel_size=3, padding=1, bias=False)
            self.gap = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(16, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool1(F.relu(self.bn1(self.conv1(x))))
            x = F.relu6(self.conv2(x))
            return self.fc(torch.flatten(self.gap(x), 1))

    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(4, 8, kernel_size=1)
            self.b = nn.Conv2d(8, 8, kernel_size=3, padding=1, groups=8)
            self.g = nn.AdaptiveAvgPool2d((1, 1))
            self.s1 = nn.Conv2d(8, 2, kernel_size=1)
            self.s3 = nn.Conv2d(2, 8, kernel_size=1)
            self.up = nn.Upsample(scale_factor=2.0, mode="bilinear", align_corners=False)
            self.ln = LayerNorm2d(8)
            self.ls = Scale(8)
            self.ap = nn.AvgPool2d(kernel_size=2, stride=2)
            self.d = nn.Dropout(p=0.2)
            self.fc = nn.Linear(8 * 8 * 8, 5, bias=False)

        def forward(self, x: Any) -> Any:
            a = self.a(x)
            c = F.silu(self.b(a))
            gate = torch.sigmoid(self.s3(F.silu(self.s1(self.g(c)))))
            r = a + c * gate
            y = self.ap(self.ls(self.ln(self.up(r))))
            return self.fc(torch.flatten(self.d(y), 1))

    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.t = nn.ConvTranspose2d(4, 6, kernel_size=4, stride=2, padding=1)
            self.n = nn.LocalResponseNorm(size=3)
            self.ad = nn.AdaptiveAvgPool2d((5, 5))
            self.fc = nn.Linear(6 * 5 * 5, 10)

        def forward(self, x: Any) -> Any:
            x = F.hardswish(self.n(F.elu(self.t(x))))
            x = F.leaky_relu(F.gelu(self.ad(x)), negative_slope=0.01)
            return F.softmax(self.fc(torch.flatten(x, 1)), dim=1)

    return {"plain": Plain, "branchy": Branchy, "odd": Odd}


def _quiet() -> contextlib.ExitStack:
    import torch

    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    sink = io.StringIO()
    stack.enter_context(contextlib.redirect_stdout(sink))
    stack.enter_context(contextlib.redirect_stderr(sink))
    stack.enter_context(torch.no_grad())
    return stack


def run_tool(key: str, module: Any, x: Any) -> int:
    """The total the tool prints for `module` on the batch-1 input `x` (skips if the tool is not installed)."""
    module.eval()
    if key == "fvcore":
        fvcore = pytest.importorskip("fvcore.nn")
        with _quiet():
            analysis = fvcore.FlopCountAnalysis(module, x)
            analysis.unsupported_ops_warnings(False)
            analysis.uncalled_modules_warnings(False)
            return int(analysis.total())
    if key == "thop":
        thop = pytest.importorskip("thop")
        with _quiet():
            return int(thop.profile(module, (x,), verbose=False)[0])
    if key == "ptflops":
        ptflops = pytest.importorskip("ptflops")
        with _quiet():
            macs, _ = ptflops.get_model_complexity_info(
                module, tuple(x.shape[1:]), as_strings=False, print_per_layer_stat=False
            )
            return int(macs)
    if key == "torchinfo":
        torchinfo = pytest.importorskip("torchinfo")
        with _quiet():
            return int(torchinfo.summary(module, input_data=x, verbose=0).total_mult_adds)
    if key in ("torchscan_flops", "torchscan_macs"):
        torchscan = pytest.importorskip("torchscan")
        with _quiet():
            totals = torchscan.crawl_module(module, tuple(x.shape[1:]))["totals"]
        return int(totals["module_flops" if key == "torchscan_flops" else "macs"]["known_value"])
    if key == "flop_counter":
        from torch.utils.flop_counter import FlopCounterMode

        with _quiet(), FlopCounterMode(display=False) as counter:
            module(x)
        return int(counter.get_total_flops())
    if key == "deepspeed":
        calflops = pytest.importorskip("calflops")  # DeepSpeed's rules, without DeepSpeed
        with _quiet():
            flops, _, _ = calflops.calculate_flops(
                module, args=[x], output_as_string=False, print_results=False, print_detailed=False
            )
            return int(flops)
    raise KeyError(key)


TOOLS = [k for k in KEYS if k not in ("macs", "flops")]


@pytest.mark.parametrize("net", list(NETS))
@pytest.mark.parametrize("key", TOOLS)
def test_against_the_tool(net: str, key: str) -> None:
    torch = pytest.importorskip("torch")
    model = cnncalc.load(NETS[net])
    shape = model.report.inputs[0][1]
    x = torch.randn(1, shape.c, shape.h, shape.w)
    module = _modules()[net]()
    assert sum(p.numel() for p in module.parameters()) == model.totals.params  # the same network
    assert run_tool(key, module, x) == conventions(model).total(key)


def test_the_export_against_every_tool() -> None:
    """Once `Model.to_torch()` exists: two zoo networks, exported, at a small input, under every tool."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("cnncalc.bridges.torch_export")
    for name in ("resnet18", "mobilenet_v3_small"):
        model = cnncalc.load(name, input="64x64x3")
        module = model.to_torch().eval()
        x = torch.randn(1, 3, 64, 64)
        report = conventions(model)
        got = {key: run_tool(key, module, x) for key in TOOLS}
        assert got == {key: report.total(key) for key in TOOLS}, name
