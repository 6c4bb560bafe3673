"""MViT (v1-B, v2-S) and Video Swin (T, S, B) against torchvision 0.29.1.

Totals (params, buffers, MACs) come from torchvision_reference_more.csv (torchvision's published num_params and
GFLOPS, measured with FlopCounterMode on the meta device); layer by layer, parameters and MACs come from
torchvision's own modules, built and run on the meta device; a few figures are worked by hand.
"""

from __future__ import annotations

import pytest

import cnncalc
from conftest import reference_rows

MODELS = ["mvit_v1_b", "mvit_v2_s", "swin3d_t", "swin3d_s", "swin3d_b"]
TORCHVISION = {row["model"]: row for row in reference_rows("torchvision_reference_more.csv")}


@pytest.mark.parametrize("name", MODELS)
def test_totals_equal_torchvision(name: str) -> None:
    ref = TORCHVISION[name]
    m = cnncalc.load(name)
    assert m.totals.params == int(ref["params"]) == int(ref["params_published"])
    assert m.totals.buffers == int(ref["buffers"])
    assert m.totals.macs == int(ref["macs"])
    assert m.report.inputs[0][1].dims() == [int(v) for v in ref["input"].split("x")]
    # One output, the logits: the relative-position bias tables feed their attention.
    outputs = [x for x in m.layers if x.name in {n.name for n in m.graph.outputs}]
    assert [x.output.dims() for x in outputs] == [[400]]


# ----------------------------------------------------------------------------- by hand


def test_mvit_v2_s_pooling_attention_by_hand() -> None:
    # Block 1: 8x56x56 = 25,088 tokens + the class token, 2 heads of 96 (the attention widens 96 to 192).
    m = cnncalc.load("mvit_v2_s")
    assert m.layer("blocks.1.attn.qkv").macs == 25089 * 96 * 576
    # Queries pooled 1x2x2 to 8x28x28, keys 1x4x4 to 8x14x14 (the conv's last 2 rows and columns unread).
    assert m.layer("blocks.1.attn.pool_q.pool").output.text() == "2*8x28x28x96"
    assert m.layer("blocks.1.attn.pool_k.pool").output.text() == "2*8x14x14x96"
    assert m.layer("blocks.1.attn.pool_k.pool").macs == 2 * 8 * 14 * 14 * 96 * 27
    assert m.layer("blocks.1.attn.qk").macs == m.layer("blocks.1.attn.av").macs == 2 * 6273 * 1569 * 96
    # Relative positions: each of the 6,272 queries meets 14 rows, 14 columns and 8 frames of keys.
    assert m.layer("blocks.1.attn.rel_h_q").macs == 2 * 6272 * 96 * 14
    assert m.layer("blocks.1.attn.rel_q_t").macs == 2 * 6272 * 96 * 8
    # Tables: 2 * max(28, 14) - 1 = 55 spatial offsets, 2 * 8 - 1 = 15 temporal, of head_dim 96.
    assert m.layer("blocks.1.attn.rel_pos_h").params == 55 * 96
    assert m.layer("blocks.1.attn.rel_pos_t").params == 15 * 96


def test_swin3d_t_window_attention_by_hand() -> None:
    # Stage 1: 8x56x56 tokens in 1x8x8 = 64 windows of 8x7x7 = 392 tokens, 96 channels, 3 heads of 32.
    m = cnncalc.load("swin3d_t")
    assert m.layer("features.0.0.attn.window_partition").output.text() == "64*392x96"
    assert m.layer("features.0.0.attn.attention").macs == 2 * 64 * 3 * 392 * 392 * 32
    assert m.layer("features.0.0.attn.relative_position_bias_table").params == 15 * 13 * 13 * 3
    # Patch merging halves H and W only: 8x28x28x384, then 384 -> 192 without bias.
    assert m.layer("features.1.reduction").macs == 8 * 28 * 28 * 384 * 192
    # Last stage, 8x7x7: one window of the whole map.
    assert m.layer("features.6.0.attn.window_partition").output.text() == "392x768"


# ----------------------------------------------------------------------------- layer by layer, against torchvision


def _torch_model(name: str):  # type: ignore[no-untyped-def]
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    with torch.device("meta"):
        return torchvision.models.get_model(name, weights=None).eval()


def _torch_params(name: str) -> dict[str, int]:
    """torchvision's parameters grouped by owner: `a.weight` and `a.bias` under `a`, a free tensor (class token,
    relative-position table) under its own name."""
    grouped: dict[str, int] = {}
    for full, p in _torch_model(name).named_parameters():
        owner = full.removesuffix(".weight").removesuffix(".bias")
        grouped[owner] = grouped.get(owner, 0) + p.numel()
    return grouped


@pytest.mark.parametrize("name", ["mvit_v2_s", "swin3d_t"])
def test_layer_params_equal_torchvision_modules(name: str) -> None:
    """Every layer holding parameters is named as torchvision names the module (or tensor) that holds them,
    with as many: no layer missing, none extra."""
    expected = _torch_params(name)
    m = cnncalc.load(name)
    assert {x.name: x.params for x in m.layers if x.params} == expected


@pytest.mark.parametrize("name", ["mvit_v1_b", "swin3d_t"])
def test_module_macs_equal_flop_counter(name: str) -> None:
    """Each torchvision module's MACs (FlopCounterMode on the meta device, FLOPs / 2) equal those of the cnncalc
    layers named by its path or under it."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    model = _torch_model(name)
    m = cnncalc.load(name)
    shape = m.report.inputs[0][1].dims()
    x = torch.zeros(1, shape[-1], *shape[:-1], device="meta")  # DxHxWxC -> NCDHW
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    expected = {}
    for key, ops in counter.get_flop_counts().items():
        _, dot, path = key.partition(".")  # "MViT.blocks.0.attn": the class name, then the path
        if dot:
            expected[path] = sum(ops.values()) // 2
    assert expected
    for path, macs in expected.items():
        mine = sum(x.macs or 0 for x in m.layers if x.name == path or x.name.startswith(path + "."))
        assert (path, mine) == (path, macs)
