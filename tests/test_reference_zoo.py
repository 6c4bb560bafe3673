"""Zoo models against figures published outside the project."""

from __future__ import annotations

import pytest

import cnncalc
from conftest import reference_rows

TORCHVISION = {row["model"]: row for row in reference_rows("torchvision_reference.csv")}


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_torchvision_params_buffers_macs(name: str) -> None:
    """Every torchvision CNN is in the zoo under its torchvision name, exact to the parameter.

    params: torchvision's published num_params; buffers: batch-norm running statistics; MACs: PyTorch's
    FLOP counter / 2 at the default input, in eval mode (so inception_v3's auxiliary head counts in the
    params but not in the MACs). The issue allows MACs within 0.1%.
    """
    ref = TORCHVISION[name]
    m = cnncalc.load(name)
    assert m.totals.params == int(ref["params"]) == int(ref["params_published"])
    assert m.totals.buffers == int(ref["buffers"])
    assert m.totals.macs == pytest.approx(int(ref["macs"]), rel=1e-3)
    h, w, c = (int(v) for v in ref["input"].split("x"))
    assert m.report.inputs[0][1].dims() == [h, w, c]
    outputs = [x for x in m.layers if x.name in {n.name for n in m.graph.outputs} and not x.aux]
    assert [x.output.dims() for x in outputs] == [[1000]]


def test_alexnet_caffe_as_the_slides_work_it() -> None:
    # Seed 003 slides: 227x227x3, conv1 (227-11)/4+1 = 55 ... pool5 (13-3)/2+1 = 6.
    m = cnncalc.load("alexnet_caffe")
    shapes = {x.name: x.output.dims() for x in m.layers}
    assert [shapes[n] for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")] == [
        [55, 55, 96], [27, 27, 96], [27, 27, 256], [13, 13, 256],
        [13, 13, 384], [13, 13, 384], [13, 13, 256], [6, 6, 256],
    ]  # fmt: skip
    # paper_numbers.csv: conv1 34,944; conv2 (g=2) 307,456; conv3 885,120; conv4 663,936; conv5 442,624;
    # fc6 37,752,832; fc7 16,781,312; fc8 4,097,000 = 60,965,224.
    params = {x.name: x.params for x in m.layers if x.params}
    assert params == {
        "conv1": (11 * 11 * 3 + 1) * 96, "conv2": (5 * 5 * 48 + 1) * 256, "conv3": (3 * 3 * 256 + 1) * 384,
        "conv4": (3 * 3 * 192 + 1) * 384, "conv5": (3 * 3 * 192 + 1) * 256, "fc6": (6 * 6 * 256 + 1) * 4096,
        "fc7": (4096 + 1) * 4096, "fc8": (4096 + 1) * 1000,
    }  # fmt: skip
    assert m.totals.params == 60_965_224
    assert m.totals.macs == 724_406_816


def test_zfnet_sizes_as_the_paper_draws_them() -> None:
    # Zeiler & Fergus 2014, Fig. 3: 224 -> 110 -> 55 -> 26 -> 13 -> 13 -> 13 -> 13 -> 6.
    m = cnncalc.load("zfnet")
    shapes = [x.output.dims() for x in m.layers if x.op in ("conv", "maxpool")]
    assert shapes == [
        [110, 110, 96], [55, 55, 96], [26, 26, 256], [13, 13, 256],
        [13, 13, 384], [13, 13, 384], [13, 13, 256], [6, 6, 256],
    ]  # fmt: skip
    fc6 = m.layer("fc6")
    assert fc6.weights == 6 * 6 * 256 * 4096


def test_lenet5_per_layer_as_seed_002() -> None:
    # Seed 002: 156, 2,416, 48,120, 10,164, 850 = 61,706.
    m = cnncalc.load("lenet5")
    assert [x.params for x in m.layers if x.params] == [156, 2416, 48_120, 10_164, 850]
    assert m.totals.params == 61_706


def test_posenet_weights_only_as_seed_000() -> None:
    # Seed 000: the homework's expected answer counts weights only: 6,260,320.
    assert cnncalc.load("posenet", bias=False).totals.params == 6_260_320
    flat = cnncalc.load("posenet").layer("flat")
    assert flat.output.dims() == [10 * 10 * 32]


def test_design_posenet_spec() -> None:
    from conftest import TESTS

    m = cnncalc.load(str(TESTS / "data" / "valid" / "posenet.cnn"))
    assert m.totals.params == 6_260_320
    assert m.layer("pool3").output.dims() == [10, 10, 32]


def test_zoo_input_override_changes_only_what_depends_on_it() -> None:
    # VGG-16 convolutions at 448x448 cost 4x their 224x224 MACs; the classifier is unchanged after the
    # adaptive pool. Conv MACs at 224: 15,470,264,320 - fc (25088*4096 + 4096*4096 + 4096*1000).
    fc = 25088 * 4096 + 4096 * 4096 + 4096 * 1000
    conv_224 = int(TORCHVISION["vgg16"]["macs"]) - fc
    m = cnncalc.load("vgg16", input="448x448x3")
    assert m.totals.macs == 4 * conv_224 + fc
    assert m.totals.params == 138_357_544


def test_lenet5_1998_as_published() -> None:
    # paper_numbers.csv (LeCun et al. 1998, Sec. II-B): C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164
    # trainable parameters, 60,000 in all; the RBF output's vectors are fixed (84 * 10 = 840, not trainable).
    m = cnncalc.load("lenet5_1998")
    by_name = {x.name: x for x in m.layers}
    c3 = sum(x.params for x in m.layers if x.name.startswith("c3.map"))
    assert [by_name["c1"].params, by_name["s2"].params, c3, by_name["s4"].params] == [156, 12, 1516, 32]
    assert [by_name["c5"].params, by_name["f6"].params] == [48_120, 10_164]
    assert m.totals.params == 60_000
    assert m.totals.buffers == 84 * 10
    # The paper's "connections" are the multiply-adds plus one bias input per output value:
    # C1 122,304; C3 151,600; C5 48,120; F6 10,164.
    c3_macs = sum(x.macs for x in m.layers if x.name.startswith("c3.map"))
    assert by_name["c1"].macs + 28 * 28 * 6 == 122_304
    assert c3_macs + 10 * 10 * 16 == 151_600
    assert by_name["c5"].macs + 120 == 48_120
    assert by_name["f6"].macs + 84 == 10_164
