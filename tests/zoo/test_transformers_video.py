"""Vision Transformers, Swin Transformers (v1, v2), MaxViT and the video networks against torchvision 0.29.1.

Totals (params, buffers, MACs) come from torchvision_reference_more.csv (torchvision's published num_params and
GFLOPS, measured with FlopCounterMode on the meta device); layer by layer, parameters come from torchvision's own
modules, built on the meta device; a few figures are worked by hand.
"""

from __future__ import annotations

import pytest

import cnncalc
from conftest import reference_rows

TORCHVISION = {row["model"]: row for row in reference_rows("torchvision_reference_more.csv")}
MODELS = ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14", "r3d_18", "mc3_18", "r2plus1d_18", "s3d"]
MODELS += ["swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b", "maxvit_t"]
CLASSES = {name: 400 if name in ("r3d_18", "mc3_18", "r2plus1d_18", "s3d") else 1000 for name in MODELS}


@pytest.mark.parametrize("name", MODELS)
def test_totals_equal_torchvision(name: str) -> None:
    ref = TORCHVISION[name]
    m = cnncalc.load(name)
    assert m.totals.params == int(ref["params"]) == int(ref["params_published"])
    assert m.totals.buffers == int(ref["buffers"])
    assert m.totals.macs == int(ref["macs"])
    assert m.report.inputs[0][1].dims() == [int(v) for v in ref["input"].split("x")]
    # One output, the logits: every table (relative-position bias, logit scale) feeds the attention it serves.
    outputs = [x for x in m.layers if x.name in {n.name for n in m.graph.outputs}]
    assert [x.output.dims() for x in outputs] == [[CLASSES[name]]]


# ----------------------------------------------------------------------------- by hand


def test_vit_b_16_block_by_hand() -> None:
    # 224/16 = 14, 14*14 = 196 patches + the class token = 197 tokens of 768; 12 heads of 64.
    m = cnncalc.load("vit_b_16")
    macs = {x.name: x.macs for x in m.layers if x.name.startswith("encoder.layers.encoder_layer_0.")}
    assert macs["encoder.layers.encoder_layer_0.self_attention.in_proj"] == 197 * 768 * 3 * 768
    # Q K^T and A V: per head 197 x 197 dot products of 64, twice.
    assert macs["encoder.layers.encoder_layer_0.self_attention"] == 2 * 12 * 197 * 197 * 64
    assert macs["encoder.layers.encoder_layer_0.self_attention.out_proj"] == 197 * 768 * 768
    assert (
        macs["encoder.layers.encoder_layer_0.mlp.0"] == macs["encoder.layers.encoder_layer_0.mlp.3"] == 197 * 768 * 3072
    )
    params = {x.name: x.params for x in m.layers if x.params}
    assert params["class_token"] == 768
    assert params["encoder.pos_embedding"] == 197 * 768
    assert params["encoder.layers.encoder_layer_0.self_attention.in_proj"] == 768 * 2304 + 2304
    assert m.layer("heads.head").macs == 768 * 1000


def test_r2plus1d_middle_width_by_hand() -> None:
    # torchvision: midplanes = (in * out * 3*3*3) // (in * 3*3 + 3 * out), so that the (2+1)D pair has about the
    # parameters of one 3x3x3 conv: 64 -> 64 gives 110,592 // 768 = 144; 64 -> 128 gives 221,184 // 960 = 230.
    m = cnncalc.load("r2plus1d_18")
    shapes = {x.name: x.output.dims() for x in m.layers}
    assert shapes["layer1.0.conv1.0.0"] == [16, 56, 56, 144]
    assert shapes["layer2.0.conv1.0.0"] == [16, 28, 28, 230]
    assert shapes["layer2.0.conv1.0.3"] == [8, 28, 28, 128]  # the temporal conv strides the frames
    # The block's second (2+1)D conv keeps the block's one middle width, worked from its input (64), not 128.
    assert shapes["layer2.0.conv2.0.0"] == [8, 28, 28, 230]
    assert m.layer("layer2.0.conv2.0.0").params == 3 * 3 * 128 * 230


def test_swin_t_window_attention_by_hand() -> None:
    # Stage 1: 56x56 positions in 64 windows of 7x7 = 49 tokens, 96 channels, 3 heads of 32.
    m = cnncalc.load("swin_t")
    assert m.layer("features.1.0.attn.window_partition").output.text() == "64*49x96"
    assert m.layer("features.1.0.attn.qkv").macs == 64 * 49 * 96 * 288
    assert m.layer("features.1.0.attn.attention").macs == 2 * 64 * 3 * 49 * 49 * 32
    assert m.layer("features.1.0.attn.relative_position_bias_table").params == 13 * 13 * 3
    # Patch merging: 2x2 neighbours side by side (56x56x96 -> 28x28x384), LN, then a linear 384 -> 192, no bias.
    assert m.layer("features.2.reduction").params == 384 * 192
    assert m.layer("features.2.reduction").macs == 28 * 28 * 384 * 192


# ----------------------------------------------------------------------------- layer by layer, against torchvision


def _torch_params(name: str) -> dict[str, int]:
    """torchvision's parameters grouped by owner: `a.weight` and `a.bias` under `a`, nn.MultiheadAttention's
    `in_proj_weight` and `in_proj_bias` under `in_proj`, a free tensor (class token) under its own name."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None)
    grouped: dict[str, int] = {}
    for full, p in model.named_parameters():
        owner = full
        for suffix in (".weight", ".bias", "_weight", "_bias"):
            if full.endswith(suffix):
                owner = full[: -len(suffix)]
                break
        grouped[owner] = grouped.get(owner, 0) + p.numel()
    return grouped


@pytest.mark.parametrize(
    "name", ["vit_b_16", "r3d_18", "mc3_18", "r2plus1d_18", "s3d", "swin_t", "swin_v2_t", "maxvit_t"]
)
def test_layer_params_equal_torchvision_modules(name: str) -> None:
    """Every layer holding parameters is named as torchvision names the module (or tensor) that holds them,
    with as many: no layer missing, none extra."""
    expected = _torch_params(name)
    m = cnncalc.load(name)
    mine = {x.name: x.params for x in m.layers if x.params}
    assert mine == expected


def _torch_module_macs(name: str, shape: list[int]) -> dict[str, int]:
    """MACs per torchvision module (its path), PyTorch's FlopCounterMode on the meta device (FLOPs / 2)."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None).eval()
    x = torch.zeros(1, shape[-1], *shape[:-1], device="meta")  # HxWxC (DxHxWxC) -> NCHW (NCDHW)
    with FlopCounterMode(display=False) as counter:
        model(x)
    found = {}
    for key, ops in counter.get_flop_counts().items():
        _, dot, path = key.partition(".")  # "VisionTransformer.encoder.ln": the class name, then the path
        if dot:
            found[path] = sum(ops.values()) // 2
    return found


@pytest.mark.parametrize("name", ["vit_b_16", "r3d_18", "r2plus1d_18", "s3d", "swin_t", "maxvit_t"])
def test_module_macs_equal_flop_counter(name: str) -> None:
    """Each torchvision module's MACs equal those of the cnncalc layers named by its path or under it."""
    m = cnncalc.load(name)
    expected = _torch_module_macs(name, m.report.inputs[0][1].dims())
    assert expected
    for path, macs in expected.items():
        mine = sum(x.macs or 0 for x in m.layers if x.name == path or x.name.startswith(path + "."))
        assert (path, mine) == (path, macs)
