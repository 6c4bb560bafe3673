"""DenseNet, SqueezeNet, MobileNet v1/v2/v3, MNASNet and ShuffleNet V2 against papers and hand arithmetic.

torchvision's exact counts are checked in tests/test_reference_zoo.py; here are the papers' own figures
(tests/reference/paper_numbers.csv, with their rounding) and per-layer arithmetic written out.
"""

from __future__ import annotations

import re

import pytest

import cnncalc
from conftest import reference_rows

PAPER = {row["model"]: row for row in reference_rows("paper_numbers.csv")}


def _printed(text: str) -> tuple[float, float]:
    """A paper's '4.2 million' or '569 million Mult-Adds' -> (4.2e6, half of its last printed digit)."""
    number = re.match(r"[\d.]+", text.replace(",", ""))
    assert number, text
    digits = number.group()
    decimals = len(digits.partition(".")[2])
    scale = 1e9 if re.search(r"\d\s*(B|billion)", text) else 1e6 if re.search(r"\d\s*(M|million)", text) else 1
    return float(digits) * scale, 0.5 * 10.0**-decimals * scale


def _rounds_to(value: int, printed: str) -> bool:
    target, half = _printed(printed)
    return target - half <= value < target + half


def _conv_fc_params(m: cnncalc.Model) -> int:
    """Parameters of the conv and fc layers only, batch norm left out: how the MobileNet papers count."""
    return sum(x.params for x in m.layers if x.op in ("conv", "dwconv", "fc"))


def _channels(m: cnncalc.Model, layer: str) -> int:
    return m.layer(layer).output.dims()[-1]


# ---------------------------------------------------------------------------------------------------------------
# MobileNet v1 (Howard et al. 2017)

# Table 1: (input channels, output channels, depthwise stride) of the 13 depthwise-separable layers.
TABLE1 = [
    (32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
    (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 512, 1), (512, 1024, 2), (1024, 1024, 1),
]  # fmt: skip


def test_mobilenet_v1_by_hand_from_table1() -> None:
    # conv 3x3x3x32; per separable layer 3x3 depthwise (9*C_in) and 1x1 pointwise (C_in*C_out) weights, no biases;
    # fc 1024x1000 + 1000 biases; batch norm gamma and beta after every conv (32 + sum of C_in + C_out channels).
    weights = 3 * 3 * 3 * 32 + sum(9 * a + a * b for a, b, _ in TABLE1) + 1024 * 1000 + 1000
    bn = 2 * (32 + sum(a + b for a, b, _ in TABLE1))
    assert weights == 4_210_088
    # MACs at 224: conv1 112x112; each depthwise layer at its output size, the pointwise at the same size.
    macs, size = 112 * 112 * 27 * 32, 112
    for a, b, s in TABLE1:
        size //= s
        macs += size * size * (9 * a + a * b)
    macs += 1024 * 1000
    m = cnncalc.load("mobilenet_v1")
    assert _conv_fc_params(m) == weights
    assert m.totals.params == weights + bn
    assert m.totals.buffers == bn  # running mean and variance
    assert m.totals.macs == macs == 568_740_352
    assert m.layer("Conv2d_13_pointwise").output.dims() == [7, 7, 1024]
    assert m.layers[-1].output.dims() == [1000]


@pytest.mark.parametrize("alpha", ["1.0", "0.75", "0.5", "0.25"])
def test_mobilenet_v1_width_multiplier_table6(alpha: str) -> None:
    # Table 6: 1.0 -> 4.2M / 569M, 0.75 -> 2.6M / 325M, 0.5 -> 1.3M / 149M, 0.25 -> 0.5M / 41M.
    row = PAPER[f"MobileNet v1 {alpha} MobileNet-224"]
    m = cnncalc.load("mobilenet_v1", options={"alpha": float(alpha)})
    assert _rounds_to(_conv_fc_params(m), row["params"])
    assert _rounds_to(m.totals.macs, row["macs_or_flops"])


def test_mobilenet_v1_paper_counts_no_batch_norm() -> None:
    # Table 9 prints 0.50 MobileNet-160 to two decimals, 1.32 million: conv + fc (1,320,648) rounds to it; with BN's
    # gamma and beta (a further 2 x 5,472) it would be 1.33M, and with folded-BN conv biases (+5,472) 1.33M too.
    row = PAPER["MobileNet v1 0.50 MobileNet-160"]
    m = cnncalc.load("mobilenet_v1", options={"alpha": 0.5}, input="160x160x3")
    assert _rounds_to(_conv_fc_params(m), row["params"])
    bn_channels = sum(x.output.dims()[-1] for x in m.layers if x.op == "bn")
    assert bn_channels == 16 + sum(a // 2 + b // 2 for a, b, _ in TABLE1) == 5_472
    assert not _rounds_to(m.totals.params, row["params"])
    assert not _rounds_to(_conv_fc_params(m) + bn_channels, row["params"])


@pytest.mark.parametrize("size", [192, 128])
def test_mobilenet_v1_resolution_table7(size: int) -> None:
    # Table 7: 192 -> 418M, 128 -> 186M mult-adds; the parameters do not change (4.2M).
    row = PAPER[f"MobileNet v1 1.0 MobileNet-{size}"]
    assert row["input"] == f"{size}x{size}x3"
    m = cnncalc.load("mobilenet_v1", input=row["input"])
    assert _rounds_to(m.totals.macs, row["macs_or_flops"])
    assert _rounds_to(_conv_fc_params(m), row["params"])


def test_mobilenet_v1_at_160_the_paper_scales_by_rho_squared() -> None:
    # Table 7 prints 290M at 160 and Table 9 76M for 0.50 MobileNet-160: both are the 224 figures times
    # rho^2 = (160/224)^2 = 25/49 (569 x 25/49 = 290.3, 149 x 25/49 = 76.0), as Sec. 3.3 says cost scales. But
    # the fc (1024 x 1000 at width 1) does not shrink with the input, so the true counts are 290.68M and 76.52M.
    assert round(569 * 25 / 49) == 290 and round(149 * 25 / 49) == 76
    fc = 1024 * 1000
    at_224 = cnncalc.load("mobilenet_v1").totals.macs
    at_160 = cnncalc.load("mobilenet_v1", input="160x160x3").totals.macs
    assert (at_160 - fc) * 49 == (at_224 - fc) * 25  # convolutions scale exactly with the area
    assert abs(at_160 - 290e6) < 1e6
    half = cnncalc.load("mobilenet_v1", options={"alpha": 0.5}, input="160x160x3").totals.macs
    assert abs(half - 76e6) < 1e6


def _rf_rows(resolution: str) -> list[dict[str, str]]:
    return [
        r
        for r in reference_rows("receptive_fields.csv")
        if r["network"] == "mobilenet_v1" and r["resolution"] == resolution and "final" not in r["endpoint"]
    ]


def test_mobilenet_v1_receptive_fields_as_tf_slim() -> None:
    # google-research/receptive_field: size and effective stride of every end-point (Conv2d_0 ... Conv2d_13).
    # The layer names follow TF-Slim's end-points.
    rows = _rf_rows("None")
    assert len(rows) == 14
    m = cnncalc.load("mobilenet_v1")
    for row in rows:
        rf = m.layer(row["endpoint"]).rf.to_dict()
        assert (rf["size"], rf["jump"]) == (int(row["rf_size"]), int(row["effective_stride"])), row["endpoint"]


def test_mobilenet_v1_effective_padding_at_321() -> None:
    # At 321 every map is odd-sized, so TF's 'SAME' pads 1 on each side like cnncalc's p=1 and the effective
    # padding agrees too (at 224 TF pads stride-2 layers on one side only).
    m = cnncalc.load("mobilenet_v1", input="321x321x3")
    for row in _rf_rows("321"):
        rf = m.layer(row["endpoint"]).rf.to_dict()
        assert rf["size"] / 2 - rf["start"] == int(row["effective_padding"]), row["endpoint"]


# ---------------------------------------------------------------------------------------------------------------
# MobileNet v2 and v3, MNASNet (torchvision)


def test_mobilenet_v2_inverted_residual_blocks_by_hand() -> None:
    m = cnncalc.load("mobilenet_v2")

    def block(i: int) -> int:
        return sum(x.params for x in m.layers if x.name.startswith(f"features.{i}."))

    # features.2: 16 -> 24, expansion 6 (96 hidden), stride 2, no residual.
    # expand 1x1 16*96 + BN 2*96; depthwise 3x3 9*96 + BN 2*96; project 1x1 96*24 + BN 2*24.
    assert block(2) == 16 * 96 + 2 * 96 + 9 * 96 + 2 * 96 + 96 * 24 + 2 * 24 == 5_136
    # features.3: 24 -> 24, 144 hidden, stride 1: the residual add has no parameters.
    assert block(3) == 24 * 144 + 2 * 144 + 9 * 144 + 2 * 144 + 144 * 24 + 2 * 24 == 8_832
    assert m.layer("features.3.add").inputs == ["features.2.project_bn", "features.3.project_bn"]
    assert "features.2.add" not in {x.name for x in m.layers}
    # MACs of features.2: expand at 112x112, depthwise stride 2 to 56x56, project at 56x56.
    assert m.layer("features.2.expand").macs == 112 * 112 * 16 * 96
    assert m.layer("features.2.dw").macs == 56 * 56 * 96 * 9
    assert m.layer("features.2.project").macs == 56 * 56 * 96 * 24
    # t=1 in the first block: no expansion conv, straight to the depthwise 3x3 on 32 channels.
    assert m.layer("features.1.dw").weights == 9 * 32
    assert "features.1.expand" not in {x.name for x in m.layers}


def test_mobilenet_v2_paper_table4() -> None:
    # Sandler et al., Table 4: 3.4M params, 300M MAdds. The paper cuts rather than rounds (TF's model zoo gives
    # 3.47M): conv + fc parameters 3,470,760 and 300,774,272 MACs both fall in [printed, printed + one digit).
    row = PAPER["MobileNetV2 (1.0)"]
    m = cnncalc.load("mobilenet_v2")
    params, _ = _printed(row["params"])
    macs, _ = _printed(row["macs_or_flops"])
    assert params <= _conv_fc_params(m) < params + 0.1e6
    assert macs <= m.totals.macs < macs + 1e6


def test_mobilenet_v3_squeeze_excitation_channels_by_hand() -> None:
    # torchvision: squeeze channels = _make_divisible(expanded // 4, 8). Large features.4 expands to 72:
    # 72 // 4 = 18 -> int(18 + 4) // 8 * 8 = 16, and 16 < 0.9 * 18 = 16.2, so it rounds up to 24.
    m = cnncalc.load("mobilenet_v3_large")
    assert _channels(m, "features.4.se.fc1") == 24
    assert m.layer("features.4.se.fc1").params == 72 * 24 + 24  # 1x1 conv with bias
    assert m.layer("features.4.se.fc2").params == 24 * 72 + 72
    assert m.layer("features.4.se.scale").output.dims() == [28, 28, 72]  # 1x1x72 gate broadcast over 28x28
    # 960 // 4 = 240 is already a multiple of 8.
    assert _channels(m, "features.15.se.fc1") == 240
    # Small features.1 expands 16 -> 16 (no expansion conv): 16 // 4 = 4 -> at least 8.
    s = cnncalc.load("mobilenet_v3_small")
    assert _channels(s, "features.1.se.fc1") == 8
    assert "features.1.expand" not in {x.name for x in s.layers}
    # Heads: last conv 6 x 160 = 960 (large) and 6 x 96 = 576 (small); classifier 1280 / 1024 wide.
    assert _channels(m, "features.16") == 960 and _channels(s, "features.12") == 576
    assert m.layer("classifier.0").params == 960 * 1280 + 1280
    assert s.layer("classifier.0").params == 576 * 1024 + 1024


@pytest.mark.parametrize(
    ("name", "stem", "first_stacks"),
    [
        # torchvision _round_to_multiple_of(d * alpha, 8) of 32, 16, 24, 40: nearest multiple of 8, bumped up
        # when that is below 90% of the value. 0.75: 12 -> 16; 18 -> 16 < 16.2 -> 24; 30 -> 32.
        ("mnasnet0_5", (16, 8), (16, 24)),
        ("mnasnet0_75", (24, 16), (24, 32)),
        ("mnasnet1_0", (32, 16), (24, 40)),
        ("mnasnet1_3", (40, 24), (32, 56)),  # 41.6 -> 40; 20.8 -> 24; 31.2 -> 32; 52 -> 56
    ],
)
def test_mnasnet_depth_rounding(name: str, stem: tuple[int, int], first_stacks: tuple[int, int]) -> None:
    m = cnncalc.load(name)
    assert (_channels(m, "layers.0"), _channels(m, "layers.6")) == stem
    assert (_channels(m, "layers.8.2.project"), _channels(m, "layers.9.2.project")) == first_stacks
    assert _channels(m, "layers.14") == 1280  # not scaled


# ---------------------------------------------------------------------------------------------------------------
# SqueezeNet (Iandola et al. 2016)


def test_squeezenet1_0_table1() -> None:
    # Table 1, '#parameter before pruning': 1,248,424 in all; conv1 14,208 and conv10 513,000.
    m = cnncalc.load("squeezenet1_0")
    assert m.totals.params == int(PAPER["SqueezeNet 1.0"]["params"])
    assert m.layer("conv1").params == (7 * 7 * 3 + 1) * 96 == 14_208
    assert m.layer("conv10").params == (512 + 1) * 1000 == 513_000
    # fire2: squeeze 96 -> 16, expand 16 -> 64 by 1x1 and by 3x3, all with biases.
    fire2 = sum(x.params for x in m.layers if x.name.startswith("fire2."))
    assert fire2 == (96 + 1) * 16 + (16 + 1) * 64 + (9 * 16 + 1) * 64 == 11_920
    assert m.totals.buffers == 0


def test_squeezenet_ceil_mode_pools() -> None:
    # 1.0: conv1 (224 - 7) // 2 + 1 = 109; pools ceil((109 - 3) / 2) + 1 = 54, ceil(51 / 2) + 1 = 27,
    # ceil(24 / 2) + 1 = 13 (floor mode would give 53, 26, 12).
    m = cnncalc.load("squeezenet1_0")
    assert [m.layer(n).output.dims()[:2] for n in ("conv1", "pool1", "pool2", "pool3")] == [
        [109, 109], [54, 54], [27, 27], [13, 13],
    ]  # fmt: skip
    assert m.layer("fire9.cat").output.dims() == [13, 13, 512]
    # 1.1: conv1 (224 - 3) // 2 + 1 = 111; ceil(108 / 2) + 1 = 55, ceil(52 / 2) + 1 = 27, ceil(24 / 2) + 1 = 13.
    m = cnncalc.load("squeezenet1_1")
    assert [m.layer(n).output.dims()[:2] for n in ("conv1", "pool1", "pool2", "pool3")] == [
        [111, 111], [55, 55], [27, 27], [13, 13],
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# DenseNet (Huang et al. 2017)


@pytest.mark.parametrize(
    ("name", "features"),
    [
        # channels after the last block: stem + layers * k, halved by each transition.
        # 121: 64 + 6*32 = 256 -> 128; 128 + 12*32 = 512 -> 256; 256 + 24*32 = 1024 -> 512; 512 + 16*32 = 1024.
        ("densenet121", 1024),
        # 161: 96 + 6*48 = 384 -> 192; 192 + 12*48 = 768 -> 384; 384 + 36*48 = 2112 -> 1056; 1056 + 24*48 = 2208.
        ("densenet161", 2208),
        # 169: 256 -> 128; 512 -> 256; 256 + 32*32 = 1280 -> 640; 640 + 32*32 = 1664.
        ("densenet169", 1664),
        # 201: 256 -> 128; 512 -> 256; 256 + 48*32 = 1792 -> 896; 896 + 32*32 = 1920.
        ("densenet201", 1920),
    ],
)
def test_densenet_channels_by_hand(name: str, features: int) -> None:
    m = cnncalc.load(name)
    assert m.layer("norm5").output.dims() == [7, 7, features]
    assert m.layer("classifier").params == features * 1000 + 1000


def test_densenet121_dense_layer_by_hand() -> None:
    m = cnncalc.load("densenet121")
    # denselayer1 of block 1 on 64 channels: BN 2*64, 1x1 conv 64 -> 4k = 128, BN 2*128, 3x3 conv 128 -> k = 32.
    layer1 = sum(x.params for x in m.layers if x.name.startswith("denseblock1.denselayer1."))
    assert layer1 == 2 * 64 + 64 * 128 + 2 * 128 + 9 * 128 * 32 == 45_440
    # denselayer3 sees the block input and the two earlier layers' outputs: 64 + 2 * 32 = 128 channels.
    cat = m.layer("denseblock1.denselayer3.cat")
    assert cat.inputs == ["pool0", "denseblock1.denselayer1.conv2", "denseblock1.denselayer2.conv2"]
    assert cat.output.dims() == [56, 56, 128]
    assert m.layer("denseblock1.cat").output.dims() == [56, 56, 64 + 6 * 32]
    assert m.layer("transition1.pool").output.dims() == [28, 28, 128]


def test_densenet_paper_sizes() -> None:
    # Huang et al. Sec. 4.4: 'a DenseNet-201 with 20M parameters'; EfficientNet Table 2: DenseNet-169 14M.
    assert _rounds_to(cnncalc.load("densenet201").totals.params, PAPER["DenseNet-201 (paper)"]["params"])
    row = PAPER["DenseNet-169 (as listed by EfficientNet paper)"]
    assert _rounds_to(cnncalc.load("densenet169").totals.params, row["params"])


# ---------------------------------------------------------------------------------------------------------------
# ShuffleNet V2 (Ma et al. 2018)


@pytest.mark.parametrize(("width", "printed"), [("0_5", "0.5x"), ("1_0", "1.0x"), ("1_5", "1.5x"), ("2_0", "2.0x")])
def test_shufflenet_v2_params_as_the_authors_print_them(width: str, printed: str) -> None:
    # megvii-model/ShuffleNet-Series README: 1.4M, 2.3M, 3.5M, 7.4M.
    row = PAPER[f"ShuffleNetV2 {printed}"]
    assert _rounds_to(cnncalc.load(f"shufflenet_v2_x{width}").totals.params, row["params"])


def test_shufflenet_v2_units_by_hand() -> None:
    m = cnncalc.load("shufflenet_v2_x1_0")
    # Sizes: 224 -> conv1 112 -> maxpool 56 -> stage2 28 -> stage3 14 -> stage4 7; channels 24, 116, 232, 464, 1024.
    dims = [m.layer(n).output.dims() for n in ("conv1.0", "maxpool", "stage2.3.shuffle", "stage3.7.shuffle")]
    assert dims == [[112, 112, 24], [56, 56, 24], [28, 28, 116], [14, 14, 232]]
    assert m.layer("stage4.3.shuffle").output.dims() == [7, 7, 464]
    assert m.layer("conv5.0").output.dims() == [7, 7, 1024]

    def unit(prefix: str) -> int:
        return sum(x.params for x in m.layers if x.name.startswith(prefix))

    # stage2.0 (stride 2, 24 -> 116, 58 per branch). branch1: dw 3x3 on 24 + BN, 1x1 24 -> 58 + BN;
    # branch2: 1x1 24 -> 58 + BN, dw 3x3 on 58 + BN, 1x1 58 -> 58 + BN.
    assert unit("stage2.0.branch1.") == 9 * 24 + 2 * 24 + 24 * 58 + 2 * 58 == 1_772
    assert unit("stage2.0.branch2.") == 24 * 58 + 2 * 58 + 9 * 58 + 2 * 58 + 58 * 58 + 2 * 58 == 5_626
    # stage2.1 (stride 1): channels 0..57 pass through, 58..115 go through branch2 (58 -> 58).
    assert unit("stage2.1.") == 58 * 58 + 2 * 58 + 9 * 58 + 2 * 58 + 58 * 58 + 2 * 58 == 7_598
    assert m.layer("stage2.1.split1").output.dims() == [28, 28, 58]
    assert m.layer("stage2.1.cat").inputs == ["stage2.1.split1", "stage2.1.branch2.7"]
