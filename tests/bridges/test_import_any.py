"""Importing what torchvision and timm models compute, of any rank and however it is written.

Expected figures come from PyTorch itself, computed here: parameters as `sum(p.numel())` of the unique parameters,
MACs as `FlopCounterMode` total FLOPs // 2 for one forward on the meta device. The modules of `data/any_rank.py` write
each pattern small (a layer called twice, weights computed in forward, Conv1d and Conv3d, attention by SDPA, einsum
and @, a batch made inside the model); the models below are one or two per family, chosen for what they exercise.
"""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.bridges.torch_import import TorchImportWarning  # noqa: E402
from cnncalc.cli import main  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402

DATA = Path(__file__).parent / "data"

pytestmark = pytest.mark.filterwarnings("ignore::cnncalc.bridges.torch_import.TorchImportWarning")


def _data() -> Any:
    spec = importlib.util.spec_from_file_location("any_rank", DATA / "any_rank.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ANY = _data()


def _oracle(module: Any, shapes: list[tuple[int, ...]]) -> tuple[int, int]:
    """Parameters and MACs by PyTorch: unique numel, and FLOPs / 2 on the meta device."""
    params = sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())
    # FlopCounterMode's module tracker wants a gradient function on every parameter a module is given (CaiT's class
    # token): without gradients there is none to want.
    module.eval().requires_grad_(False)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*[torch.zeros(1, *s, device="meta") for s in shapes])
    return params, counter.get_total_flops() // 2


def _import(module: Any, shapes: list[tuple[int, ...]]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cnncalc.from_torch(module, shapes if len(shapes) > 1 else shapes[0])


def _check(module: Any, shapes: list[tuple[int, ...]], *, unknown: set[str] | frozenset[str] = frozenset()) -> Any:
    got = _import(module, shapes)
    params, macs = _oracle(module, shapes)
    assert got.totals.params == params
    assert got.totals.macs == macs
    assert {name.rsplit(".", 1)[-1].rstrip("_0123456789") for name in got.report.unknown_macs} <= set(unknown)
    # the layers are the spec's: written out and read back, the same figures
    assert cnncalc.load(got.to_spec()).totals == got.totals
    return got


def _make(name: str) -> Any:
    with torch.device("meta"):
        return getattr(ANY, name)()


# ----------------------------------------------------------------------------- the patterns, written small


def test_a_layer_called_twice_counts_its_macs_at_every_call() -> None:
    module = _make("CalledTwice")
    with pytest.warns(TorchImportWarning, match=r"block_2: .*shared with an earlier"):
        got = cnncalc.from_torch(module, (3, 16, 16))
    assert _oracle(_make("CalledTwice"), [(3, 16, 16)]) == (got.totals.params, got.totals.macs)
    first, again = got.layer("block"), got.layer("block_2")
    assert first.op == again.op == "conv" and first.params == 8 * 8 * 9 + 8 and again.params == 0
    assert again.macs == first.macs > 0
    assert got.graph.node("block_2").args["shared"] and got.graph.node("fc_2").args["shared"]
    assert got.layer("fc_2").macs == got.layer("fc").macs == 64


def test_weights_computed_in_forward_are_the_layers_own() -> None:
    got = _check(_make("WeightsInForward"), [(3, 16, 16)])
    layer = got.layer
    # weight standardisation (StdConv2d): the conv holds its weight and bias, named by its module
    assert layer("std").op == "conv" and layer("std").params == 16 * 3 * 9 + 16
    # scaled (ScaledStdConv2d): the gain per output channel beside the conv, as a scale
    assert layer("scaled.conv").params == 16 * 16 * 9 + 16
    assert layer("scaled.gain").op == "scale" and layer("scaled.gain").params == 16
    # Conv2dSame: TensorFlow's SAME padding worked out in forward, then the conv
    assert layer("same.pad").op == "pad" and layer("same.pad").output.dims() == [17, 17, 16]
    assert layer("same.conv").output.dims() == [8, 8, 16]
    # a blur filter buffer: a fixed table read as the depthwise conv's weight, counted nowhere
    assert layer("blur").op == "param" and got.graph.node("blur").args["const"]
    assert layer("conv").op == "dwconv" and layer("conv").inputs == ["pad", "blur"] and layer("conv").params == 0
    # CondConv: a weight made from the data by the routing layer, the conv's second input
    assert layer("linear").op == "fc" and layer("linear").params == 4 * 8 * 16 * 9
    assert layer("conv_2").op == "conv" and layer("conv_2").inputs == ["conv", "linear"]
    assert layer("conv_2").macs == 4 * 4 * 8 * 16 * 9


def test_one_and_three_dimensional_convolutions() -> None:
    got = _check(_make("Signal1d"), [(2, 100)])
    assert got.layers[0].output.dims() == [100, 2]  # (C, L) as PyTorch orders it: LxC
    assert got.layer("layers.0").op == "conv" and got.layer("layers.0").output.dims() == [50, 16]
    assert got.layer("layers.3").op == "maxpool" and got.layer("layers.5").output.dims() == [1, 32]
    got = _check(_make("Video3d"), [(3, 8, 32, 32)])
    assert got.layers[0].output.dims() == [8, 32, 32, 3]
    assert got.layer("stem.0").output.dims() == [8, 16, 16, 8] and got.layer("stem.3").output.dims() == [8, 8, 8, 8]
    assert got.layer("pool").op == "gap" and got.layer("pool").output.dims() == [1, 1, 1, 16]
    got = _check(_make("ChannelAttention1d"), [(3, 16, 16)])
    assert got.layer("conv").op == "conv" and got.layer("conv").output.dims() == [32, 1]  # ECA: 32 channels, a signal


def test_attention_by_sdpa_is_one_layer_reading_the_qkv_layer() -> None:
    got = _check(_make("SdpaBlock"), [(16, 32)])  # tokens (L, C)
    assert [x.op for x in got.layers] == ["input", "layernorm", "fc", "attention", "fc", "add"]
    attention = got.graph.node("attention")
    assert attention.inputs == ["qkv"] and attention.args["heads"] == 4 and attention.args["qkv"]
    assert got.layer("attention").macs == 2 * 16 * 16 * 32


def test_attention_by_einsum_and_by_matmul() -> None:
    got = _check(_make("EinsumAttention"), [(16, 32)])
    products = [x for x in got.layers if x.op == "matmul"]
    assert len(products) == 2 and all(x.macs == 4 * 16 * 16 * 8 for x in products)
    # the relative-position bias: its table a learnt tensor, picked out by an index (a fixed table, not counted)
    assert got.layer("bias_table").params == 31 * 4 and got.layer("gather").op == "gather"
    assert got.graph.node("bias_index").args["const"]
    got = _check(_make("MatmulAttention"), [(3, 16, 16)])
    assert [x.macs for x in got.layers if x.op == "matmul"] == [64 * 64 * 8, 64 * 64 * 8]


def test_a_batch_made_inside_the_model_repeats_the_work() -> None:
    got = _check(_make("Siamese"), [(3, 16, 16), (3, 16, 16)])
    encoder = got.layer("encoder.0")
    assert encoder.output.lead == (2,) and encoder.macs == 2 * 8 * 8 * 16 * 3 * 9
    assert got.layer("head").output.dims() == [8, 8, 8]


def test_class_token_and_position_embedding_are_learnt_tensors() -> None:
    got = _check(_make("TinyViT"), [(3, 32, 32)])
    assert got.layer("cls_token").op == "param" and got.layer("cls_token").params == 32
    assert got.layer("pos_embed").output.dims() == [17, 32]
    assert got.layer("cat").inputs == ["cls_token", "transpose"] and got.layer("cat").output.dims() == [17, 32]
    assert got.layer("head").inputs == ["flatten"]


def test_a_video_network_given_an_image_says_what_to_give() -> None:
    with pytest.raises(CnnCalcError, match=r"3-D convolutions; give \(C, D, H, W\), e\.g\. \(3, 16, 32, 32\)"):
        _import(_make("Video3d"), [(3, 32, 32)])


def test_what_needs_the_values_stops_with_one_line() -> None:
    with pytest.raises(CnnCalcError) as info:
        _import(_make("DataDependent"), [(3, 8, 8)])
    message = str(info.value)
    assert "\n" not in message and "torch.nonzero" in message and "cannot be known statically" in message
    result = CliRunner().invoke(main, ["show", f"{DATA / 'any_rank.py'}:DataDependent", "--input", "8x8x3"])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_cli_reads_a_video_shape() -> None:
    result = CliRunner().invoke(main, ["show", f"{DATA / 'any_rank.py'}:Video3d", "--input", "8x32x32x3", "--format",
                                       "csv"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "8x16x16x8" in result.stdout


# ----------------------------------------------------------------------------- torchvision and timm

TV = pytest.importorskip("torchvision")

# name, input shapes (PyTorch's, without the batch), layers whose MACs cnncalc does not know (they are 0 in PyTorch)
TORCHVISION: list[tuple[str, list[tuple[int, ...]], set[str]]] = [
    ("resnet18", [(3, 224, 224)], set()),
    ("mobilenet_v3_small", [(3, 224, 224)], set()),
    ("vit_b_32", [(3, 224, 224)], set()),  # nn.MultiheadAttention
    ("swin_t", [(3, 224, 224)], set()),  # windows, relative-position bias
    ("swin_v2_t", [(3, 256, 256)], set()),  # the bias made by an MLP over a coordinate table
    ("maxvit_t", [(3, 224, 224)], set()),
    ("r3d_18", [(3, 16, 112, 112)], set()),  # video: Conv3d
    ("mvit_v2_s", [(3, 16, 224, 224)], set()),  # relative positions picked from tables, in einsums
    ("raft_small", [(3, 128, 128), (3, 128, 128)], {"grid_sample", "add"}),  # two images run as a batch of two
]


@pytest.mark.parametrize(("name", "shapes", "unknown"), TORCHVISION, ids=[c[0] for c in TORCHVISION])
def test_torchvision_model(name: str, shapes: list[tuple[int, ...]], unknown: set[str]) -> None:
    with torch.device("meta"):
        module = TV.models.get_model(name, weights=None)
    _check(module, shapes, unknown=unknown)


TIMM: list[tuple[str, set[str]]] = [
    ("convnextv2_atto", set()),  # nn.Linear on channels-last maps, GRN
    ("tf_efficientnet_b0", set()),  # Conv2dSame: padding worked out in forward
    ("nf_regnet_b0", set()),  # ScaledStdConv2d: a weight standardised in forward, with a gain
    ("resnetv2_50x1_bit", set()),  # StdConv2d
    ("ecaresnet26t", set()),  # ECA: Conv1d across channels
    ("efficientnet_cc_b0_4e", set()),  # CondConv: a weight made from the data
    ("vit_tiny_patch16_224", set()),  # fused attention (SDPA)
    ("deit_tiny_distilled_patch16_224", set()),  # two tokens
    ("swin_tiny_patch4_window7_224", set()),
    ("davit_tiny", set()),  # channel attention: q^T k
    ("poolformer_s12", set()),
    ("coatnet_0_rw_224", set()),
    ("mobilevit_xxs", set()),  # unfold to patches by reshapes
    ("levit_128s", set()),  # attention biases picked from a table
    ("cait_xxs24_224", set()),  # class attention, talking heads
    ("xcit_tiny_12_p16_224", set()),  # cross-covariance attention, Fourier position encoding
    ("beit_base_patch16_224", set()),  # q and v biases beside a fixed k bias, relative positions
    ("eva02_tiny_patch14_224", {"rope"}),  # rotary embedding (a buffer it leaves unused: training-only)
    ("mvitv2_tiny", set()),
    ("ghostnet_050", set()),
    ("regnetx_002", set()),
    ("efficientformerv2_s0", set()),
    ("botnet26t_256", set()),  # relative logits: pads and reshapes
    ("haloregnetz_b", {"unfold"}),  # Tensor.unfold: overlapping blocks, no op in cnncalc
]


@pytest.mark.parametrize(("name", "unknown"), TIMM, ids=[c[0] for c in TIMM])
def test_timm_model(name: str, unknown: set[str]) -> None:
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        module = timm.create_model(name, pretrained=False)
    _check(module, [tuple(module.pretrained_cfg["input_size"])], unknown=unknown)
