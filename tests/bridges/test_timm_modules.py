"""One model of each timm architecture module, imported and checked against PyTorch: 95 modules of timm 1.0.31.

timm defines its models in 98 modules (`timm.list_modules()`: `resnet`, `vision_transformer`, `sequencer`, ...). For
each one the model below is the one with the fewest parameters among its models of at most 100M parameters that
build on the meta device (ties by name), with the input size of its `pretrained_cfg`; the choice was made from
`bench/results/oracle_timm.csv` and is kept here as data so that the test does not walk the registry. Three modules
have no model of 100M parameters or fewer and are left out: `deepseek_vit` (412M and up), `gemma4_vit` (167M and
up), `vgg` (133M and up; torchvision's VGGs are checked in `test_torchvision_models.py`).

The expected figures are PyTorch's, computed here for every model: the numel of the unique parameters (exact), and
`FlopCounterMode` total FLOPs // 2 for one forward of a batch of one on the meta device (MACs within 0.1%). The whole
sweep of every timm model up to 300M parameters runs on demand (`bench/sweep.py compare --set timm`).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

torch = pytest.importorskip("torch")
timm = pytest.importorskip("timm")

from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402

MACS_TOLERANCE = 0.001

# (timm module, its model with the fewest parameters up to 100M, input (C, H, W))
MODELS: list[tuple[str, str, tuple[int, ...]]] = [
    ("beit", "beit_base_patch16_224", (3, 224, 224)),
    ("byoanet", "halonet_h1", (3, 256, 256)),
    ("byobnet", "test_byobnet", (3, 160, 160)),
    ("cait", "cait_xxs24_224", (3, 224, 224)),
    ("coat", "coat_tiny", (3, 224, 224)),
    ("convit", "convit_tiny", (3, 224, 224)),
    ("convmixer", "convmixer_768_32", (3, 224, 224)),
    ("convnext", "test_convnext", (3, 160, 160)),
    ("cpubone", "cpubone_nano", (3, 224, 224)),
    ("crossvit", "crossvit_tiny_240", (3, 240, 240)),
    ("csatv2", "csatv2", (3, 512, 512)),
    ("cspnet", "cs3darknet_focus_s", (3, 256, 256)),
    ("cspnext", "cspnext_tiny", (3, 224, 224)),
    ("davit", "davit_tiny", (3, 224, 224)),
    ("deit", "deit_tiny_patch16_224", (3, 224, 224)),
    ("densenet", "densenet121", (3, 224, 224)),
    ("dla", "dla46x_c", (3, 224, 224)),
    ("dpn", "dpn48b", (3, 224, 224)),
    ("edgenext", "edgenext_xx_small", (3, 256, 256)),
    ("efficientformer", "efficientformer_l1", (3, 224, 224)),
    ("efficientformer_v2", "efficientformerv2_s0", (3, 224, 224)),
    ("efficientnet", "test_efficientnet", (3, 160, 160)),
    ("efficientvim", "efficientvim_m1", (3, 224, 224)),
    ("efficientvit_mit", "efficientvit_b0", (3, 224, 224)),
    ("efficientvit_msra", "efficientvit_m0", (3, 224, 224)),
    ("eva", "vit_tiny_patch16_dinov3_qkvb", (3, 256, 256)),
    ("fasternet", "fasternet_t0", (3, 224, 224)),
    ("fastvit", "fastvit_t8", (3, 256, 256)),
    ("focalnet", "focalnet_tiny_srf", (3, 224, 224)),
    ("gcvit", "gcvit_xxtiny", (3, 224, 224)),
    ("ghostnet", "ghostnet_050", (3, 224, 224)),
    ("hardcorenas", "hardcorenas_b", (3, 224, 224)),
    ("hgnet", "hgnetv2_b0", (3, 224, 224)),
    ("hiera", "hiera_tiny_224", (3, 224, 224)),
    ("hieradet_sam2", "sam2_hiera_tiny", (3, 896, 896)),
    ("hrnet", "hrnet_w18_small", (3, 224, 224)),
    ("iformer", "iformer_t", (3, 224, 224)),
    ("inception_next", "inception_next_atto", (3, 224, 224)),
    ("inception_resnet_v2", "inception_resnet_v2", (3, 299, 299)),
    ("inception_v3", "inception_v3", (3, 299, 299)),
    ("inception_v4", "inception_v4", (3, 299, 299)),
    ("lcnetv2", "lcnetv2_small", (3, 224, 224)),
    ("levit", "levit_128s", (3, 224, 224)),
    ("lowformer", "lowformer_b0", (3, 224, 224)),
    ("mambaout", "test_mambaout", (3, 160, 160)),
    ("maxxvit", "test_coatnet", (3, 160, 160)),
    ("metaformer", "poolformerv2_s12", (3, 224, 224)),
    ("mlp_mixer", "gmlp_ti16_224", (3, 224, 224)),
    ("mobilenetv3", "mobilenetv3_small_050", (3, 224, 224)),
    ("mobilenetv5", "mobilenetv5_base", (3, 256, 256)),
    ("mobilevit", "mobilevit_xxs", (3, 256, 256)),
    ("mvitv2", "mvitv2_tiny", (3, 224, 224)),
    ("naflexvit", "naflexvit_base_patch16_parfac_gap", (3, 384, 384)),
    ("nasnet", "nasnetalarge", (3, 331, 331)),
    ("nest", "nest_tiny", (3, 224, 224)),
    ("nextvit", "nextvit_small", (3, 224, 224)),
    ("nfnet", "test_nfnet", (3, 160, 160)),
    ("pit", "pit_ti_224", (3, 224, 224)),
    ("pnasnet", "pnasnet5large", (3, 331, 331)),
    ("pvt_v2", "pvt_v2_b0", (3, 224, 224)),
    ("qwen3_vit", "qwen3_vit_88m", (3, 768, 768)),
    ("rdnet", "rdnet_tiny", (3, 224, 224)),
    ("regnet", "regnetx_002", (3, 224, 224)),
    ("repghost", "repghostnet_050", (3, 224, 224)),
    ("repvit", "repvit_m1", (3, 224, 224)),
    ("res2net", "res2next50", (3, 224, 224)),
    ("resnest", "resnest14d", (3, 224, 224)),
    ("resnet", "test_resnet", (3, 160, 160)),
    ("resnetv2", "resnetv2_18", (3, 224, 224)),
    ("rexnet", "rexnet_100", (3, 224, 224)),
    ("selecsls", "selecsls42", (3, 224, 224)),
    ("senet", "legacy_seresnet18", (3, 224, 224)),
    ("sequencer", "sequencer2d_s", (3, 224, 224)),
    ("shvit", "shvit_s1", (3, 224, 224)),
    ("sknet", "skresnet18", (3, 224, 224)),
    ("starnet", "starnet_s050", (3, 224, 224)),
    ("swiftformer", "swiftformer_xs", (3, 224, 224)),
    ("swin_transformer", "swin_tiny_patch4_window7_224", (3, 224, 224)),
    ("swin_transformer_v2", "swinv2_tiny_window16_256", (3, 256, 256)),
    ("swin_transformer_v2_cr", "swinv2_cr_tiny_224", (3, 224, 224)),
    ("tiny_vit", "tiny_vit_5m_224", (3, 224, 224)),
    ("tnt", "tnt_s_legacy_patch16_224", (3, 224, 224)),
    ("tresnet", "tresnet_m", (3, 224, 224)),
    ("twins", "twins_svt_small", (3, 224, 224)),
    ("visformer", "visformer_tiny", (3, 224, 224)),
    ("vision_transformer", "test_vit", (3, 160, 160)),
    ("vision_transformer_hybrid", "vit_tiny_r_s16_p8_224", (3, 224, 224)),
    ("vision_transformer_relpos", "test_vit_relpos", (3, 160, 160)),
    ("vision_transformer_sam", "samvit_base_patch16_224", (3, 224, 224)),
    ("vitamin", "vitamin_small_224", (3, 224, 224)),
    ("volo", "volo_d1_224", (3, 224, 224)),
    ("vovnet", "ese_vovnet19b_slim_dw", (3, 224, 224)),
    ("xception", "legacy_xception", (3, 299, 299)),
    ("xception_aligned", "xception41p", (3, 299, 299)),
    ("xcit", "xcit_nano_12_p8_224", (3, 224, 224)),
]
LEFT_OUT = {"deepseek_vit", "gemma4_vit", "vgg"}  # no model of 100M parameters or fewer

# What cnncalc cannot count yet, and why; each is listed in docs/import_coverage.md.
KNOWN_MISSES: dict[str, str] = {}


def _oracle(module: Any, shape: tuple[int, ...]) -> tuple[int, int]:
    """Parameters and MACs by PyTorch: unique numel, and FLOPs // 2 on the meta device."""
    params = sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())
    # FlopCounterMode's module tracker wants a gradient function on every parameter a module is given (CaiT's class
    # token): without gradients there is none to want.
    module.requires_grad_(False)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, *shape, device="meta"))
    return params, counter.get_total_flops() // 2


def _cases() -> list[Any]:
    return [
        pytest.param(
            name,
            shape,
            id=f"{module}:{name}",
            marks=[pytest.mark.xfail(reason=KNOWN_MISSES[name], strict=True)] if name in KNOWN_MISSES else [],
        )
        for module, name, shape in MODELS
    ]


@pytest.mark.filterwarnings("ignore::cnncalc.bridges.torch_import.TorchImportWarning")
@pytest.mark.parametrize(("name", "shape"), _cases())
def test_timm_module(name: str, shape: tuple[int, ...]) -> None:
    with torch.device("meta"):
        module = timm.create_model(name, pretrained=False).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = cnncalc.from_torch(module, shape)
    params, macs = _oracle(module, shape)
    assert got.totals.params == params
    assert abs(got.totals.macs - macs) <= MACS_TOLERANCE * macs, f"MACs {got.totals.macs:,} against PyTorch's {macs:,}"


def test_every_timm_module_has_its_model() -> None:
    """The list above covers every timm module but the three left out, and each model is its module's."""
    assert {m for m, _, _ in MODELS} | LEFT_OUT == set(timm.list_modules())
    for module, name, _ in MODELS:
        assert name in timm.list_models(module=module)
