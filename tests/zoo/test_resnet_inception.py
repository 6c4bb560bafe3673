"""ResNet family, SE-ResNet-50, GoogLeNet and Inception v3 against torchvision, the papers and hand arithmetic.

The plain torchvision figures (params, buffers, MACs of every model at its default input) are checked in
tests/test_reference_zoo.py; here are the auxiliary heads, SE-ResNet-50, options and other inputs.
"""

from __future__ import annotations

import json

import pytest

import cnncalc
from conftest import reference_rows, run_cli

TORCHVISION = {row["model"]: row for row in reference_rows("torchvision_reference.csv")}
PAPER = {row["model"]: row for row in reference_rows("paper_numbers.csv")}


def _bn(c: int) -> int:
    return 2 * c  # gamma and beta


# torchvision googlenet.py, InceptionAux(in_channels, 1000): adaptive pool to 4x4, BasicConv2d(in, 128, k=1)
# (conv without bias + BN), fc1 Linear(2048, 1024), fc2 Linear(1024, 1000).
def _googlenet_aux_params(in_channels: int) -> int:
    return in_channels * 128 + _bn(128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)


GOOGLENET_AUX1 = _googlenet_aux_params(512)  # fed by inception4a: 65,536 + 256 + 2,098,176 + 1,025,000
GOOGLENET_AUX2 = _googlenet_aux_params(528)  # fed by inception4d: 67,584 + 256 + 2,098,176 + 1,025,000


def test_googlenet_aux_heads_by_hand() -> None:
    assert GOOGLENET_AUX1 == 3_188_968
    assert GOOGLENET_AUX2 == 3_191_016
    # torchvision's GoogLeNet(aux_logits=True) thus has 6,624,904 + 6,379,984 = 13,004,888 parameters.
    assert int(TORCHVISION["googlenet"]["params"]) + GOOGLENET_AUX1 + GOOGLENET_AUX2 == 13_004_888


def test_googlenet_aux_params_count_macs_do_not() -> None:
    plain = cnncalc.load("googlenet")
    m = cnncalc.load("googlenet", options={"aux": True})
    assert plain.report.training_only is None
    assert plain.totals.params == int(TORCHVISION["googlenet"]["params"])
    assert m.totals.params == 13_004_888
    assert m.report.training_only is not None
    assert m.report.training_only["params"] == GOOGLENET_AUX1 + GOOGLENET_AUX2
    # The aux BNs add running mean and variance of 128 channels each.
    assert m.totals.buffers == int(TORCHVISION["googlenet"]["buffers"]) + 2 * 2 * 128
    # Eval mode skips the heads, so the inference MACs are torchvision's measured figure either way.
    assert m.totals.macs == plain.totals.macs == int(TORCHVISION["googlenet"]["macs"])
    # Aux MACs, reported apart: 4x4 positions of the 1x1 conv, then the two fcs.
    aux_macs = sum(16 * c * 128 + 2048 * 1024 + 1024 * 1000 for c in (512, 528))
    assert m.report.training_only["macs"] == aux_macs
    outputs = {n.name for n in m.graph.outputs}
    heads = sorted((x.aux, x.output.dims()) for x in m.layers if x.name in outputs)
    assert heads == [(False, [1000]), (True, [1000]), (True, [1000])]


def test_googlenet_aux_from_the_command_line() -> None:
    done = run_cli("show", "googlenet", "aux=true", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["totals"]["params"] == 13_004_888
    assert report["totals"]["macs"] == int(TORCHVISION["googlenet"]["macs"])
    assert report["training_only"]["params"] == GOOGLENET_AUX1 + GOOGLENET_AUX2
    # The table says so too.
    table = run_cli("show", "googlenet", "aux=true")
    assert table.returncode == 0, table.stderr
    assert "aux1" in table.stdout and "aux2" in table.stdout
    bad = run_cli("show", "googlenet", "aux=maybe")
    assert bad.returncode == 2


# torchvision inception.py, InceptionAux(768, 1000): avg pool 5x5/3 (17 -> 5), BasicConv2d(768, 128, k=1),
# BasicConv2d(128, 768, k=5) (5 -> 1), adaptive pool, Linear(768, 1000).
INCEPTION_AUX = (768 * 128 + _bn(128)) + (5 * 5 * 128 * 768 + _bn(768)) + (768 * 1000 + 1000)


def test_inception_v3_aux_head() -> None:
    assert INCEPTION_AUX == 98_560 + 2_459_136 + 769_000 == 3_326_696
    m = cnncalc.load("inception_v3")
    assert m.report.training_only is not None
    assert m.report.training_only["params"] == INCEPTION_AUX
    # The reference params (torchvision's num_params) count the head; its measured MACs (eval mode) do not.
    assert m.totals.params == int(TORCHVISION["inception_v3"]["params"])
    assert m.totals.params - INCEPTION_AUX == 23_834_568
    assert m.totals.macs == int(TORCHVISION["inception_v3"]["macs"])
    # Aux MACs apart: 5x5 positions x 768 x 128, one 5x5x128 window per 768 outputs, the fc.
    assert m.report.training_only["macs"] == 25 * 768 * 128 + 25 * 128 * 768 + 768 * 1000
    shapes = {x.name: x.output.dims() for x in m.layers}
    assert shapes["AuxLogits.avgpool"] == [5, 5, 768]
    assert shapes["AuxLogits.conv1.conv"] == [1, 1, 768]
    assert shapes["Mixed_6e.cat"] == [17, 17, 768]
    assert shapes["Mixed_7c.cat"] == [8, 8, 2048]


# SE block (Hu et al. 2018, Fig. 3) on a bottleneck whose output has C channels: fc C -> C/r and fc C/r -> C,
# both with biases. ResNet-50's bottleneck outputs: 3 blocks of 256, 4 of 512, 6 of 1024, 3 of 2048.
STAGES = [(3, 256), (4, 512), (6, 1024), (3, 2048)]


def _se_params(r: int) -> int:
    return sum(n * (2 * c * (c // r) + c // r + c) for n, c in STAGES)


def _se_macs(r: int) -> int:
    return sum(n * 2 * c * (c // r) for n, c in STAGES)  # two fcs on a 1x1 map


def test_se_resnet50_params_as_the_paper() -> None:
    assert _se_params(16) == 25_392 + 133_248 + 792_960 + 1_579_392 == 2_530_992
    m = cnncalc.load("se_resnet50")
    assert m.totals.params == int(TORCHVISION["resnet50"]["params"]) + _se_params(16) == 28_088_024
    # paper_numbers.csv "SE-ResNet-50 (r=16)": 28.1M, i.e. 28.05M-28.15M as the paper rounds.
    assert PAPER["SE-ResNet-50 (r=16)"]["params"] == "28.1M"
    assert 28_050_000 <= m.totals.params < 28_150_000
    assert m.totals.buffers == int(TORCHVISION["resnet50"]["buffers"])  # SE adds no batch norm


def test_se_resnet50_reduction_option() -> None:
    # Table 10 of the paper, r=2: 45.7M.
    assert PAPER["SE-ResNet-50 (r=2)"]["params"] == "45.7M"
    m = cnncalc.load("se_resnet50", options={"reduction": 2})
    assert m.totals.params == int(TORCHVISION["resnet50"]["params"]) + _se_params(2)
    assert 45_650_000 <= m.totals.params < 45_750_000


# The paper's (Caffe) ResNet-50 strides the first 1x1 of a stage's first bottleneck; torchvision ("v1.5")
# strides the 3x3 instead. The 3x3 costs the same either way (it is counted at its output size); the 1x1
# (in -> width) runs at the stage's input size in v1.5 and at its output size in v1:
# layer2.0.conv1 56x56x256 -> 128, layer3.0.conv1 28x28x512 -> 256, layer4.0.conv1 14x14x1024 -> 512.
V1_5_EXTRA = (56 * 56 - 28 * 28) * 256 * 128 + (28 * 28 - 14 * 14) * 512 * 256 + (14 * 14 - 7 * 7) * 1024 * 512


def test_se_resnet50_macs_as_the_paper() -> None:
    resnet50_v1 = int(TORCHVISION["resnet50"]["macs"]) - V1_5_EXTRA
    assert V1_5_EXTRA == 3 * 77_070_336
    # paper_numbers.csv "ResNet-50 (as listed by SENet paper)": 3.86 GFLOPs (multiply-adds).
    assert PAPER["ResNet-50 (as listed by SENet paper)"]["macs_or_flops"] == "3.86 GFLOPs"
    assert round(resnet50_v1 / 1e9, 2) == 3.86
    m = cnncalc.load("se_resnet50")
    assert m.totals.macs == resnet50_v1 + _se_macs(16)
    # The paper gives SE-ResNet-50 "~3.87 GFLOPs, a 0.26% relative increase" (about 10M). The SE fcs add only
    # 2,514,944 multiply-adds (0.065%): the paper also counts the SE block's element-wise work (global pooling,
    # the channel rescale), which cnncalc's MACs, as PyTorch's FLOP counter, leave out. So the multiply-add
    # count stays within the paper's rounding of ResNet-50's 3.86G, and 0.25% under its ~3.87G.
    assert _se_macs(16) == 2_514_944
    assert 3_855_000_000 <= m.totals.macs < 3_865_000_000
    assert m.totals.macs == pytest.approx(3.87e9, rel=3e-3)
    # With torchvision's stride placement the network is torchvision's ResNet-50 plus the same SE fcs.
    v15 = cnncalc.load("se_resnet50", options={"v1_5": True})
    assert v15.totals.macs == int(TORCHVISION["resnet50"]["macs"]) + _se_macs(16)
    assert v15.totals.params == m.totals.params


def test_se_block_sits_before_the_residual_add() -> None:
    m = cnncalc.load("se_resnet50")
    add = m.layer("layer1.0.add")
    assert add.inputs[0] == "layer1.0.se.scale"
    assert m.layer("layer1.0.se.scale").inputs == ["layer1.0.bn3", "layer1.0.se.sigmoid"]
    assert m.layer("layer1.0.se.fc1").output.dims() == [1, 1, 256 // 16]


def test_resnet50_at_512() -> None:
    # 512 = 224 * 16/7 and every map of ResNet-50 at 224 (112, 56, 28, 14, 7) is a multiple of 7, so every map
    # at 512 is exactly 16/7 as large (256, 128, 64, 32, 16): each conv's MACs grow by (16/7)^2 = 256/49.
    # The fc after global pooling (2048 x 1000) does not grow.
    fc = 2048 * 1000
    conv_224 = int(TORCHVISION["resnet50"]["macs"]) - fc
    assert conv_224 % 49 == 0
    m = cnncalc.load("resnet50", input="512x512x3")
    assert m.totals.macs == conv_224 * 256 // 49 + fc == 21_355_249_664
    assert m.totals.params == int(TORCHVISION["resnet50"]["params"])
    assert m.layer("layer4.2.relu").output.dims() == [16, 16, 2048]


@pytest.mark.parametrize(
    ("name", "width"),
    [("resnext50_32x4d", 32 * 4), ("resnext101_64x4d", 64 * 4), ("wide_resnet50_2", 2 * 64), ("resnet50", 64)],
)
def test_first_bottleneck_width(name: str, width: int) -> None:
    # torchvision: width = int(planes * base_width / 64) * groups, planes = 64 in layer1.
    m = cnncalc.load(name)
    assert m.layer("layer1.0.conv2").output.dims() == [56, 56, width]
