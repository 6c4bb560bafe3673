"""The networks of the seed homework (/work/shared/seeds), as spec files in data/, with figures worked by hand.

Where a student or a slide got a figure wrong, the comment says so and the test checks the correct arithmetic.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import cnncalc
from conftest import CLI

DATA = Path(__file__).parent / "data"


def load(name: str, **options) -> cnncalc.Model:
    return cnncalc.load(DATA / name, **options)


def shapes(model, *names) -> dict:
    return {n: model.layer(n).output.dims() for n in names}


def params(model, *names) -> dict:
    return {n: model.layer(n).params for n in names}


def line_of(name: str, layer: str) -> int:
    """The line of `layer:` in a data file, counted from the file itself."""
    for number, text in enumerate((DATA / name).read_text().splitlines(), start=1):
        if text.startswith(f"{layer}:"):
            return number
    raise AssertionError(f"{layer} not in {name}")


def check_columns_sum_to_totals(model):
    t = model.totals
    rows = model.layers
    assert t.params == sum(x.params for x in rows)
    assert t.weights == sum(x.weights for x in rows)
    assert t.biases == sum(x.biases for x in rows)
    assert t.buffers == sum(x.buffers for x in rows)
    assert t.macs == sum(x.macs for x in rows)
    assert t.flops == 2 * t.macs
    assert t.params == t.weights + t.biases


# --- seed 000: the pose network --------------------------------------------------------------


def test_pose_network_weights_only():
    # seed 000: 9*9*3*32 + 5*5*32*32 + 5*5*32*32 + 10*10*32*512*3 + 512*512*3 + 512*7*8*8 + 512*8*8*8 + 512*16
    # = 6,260,320. (Students who used 3x3 for the second and third kernels, shared one head's first layers,
    # or wrote 7x8x4 for 7@8x8 got other totals.)
    model = load("pose.cnn")
    assert model.totals.params == (
        9 * 9 * 3 * 32  # conv1: 7,776
        + 5 * 5 * 32 * 32  # conv2: 25,600
        + 5 * 5 * 32 * 32  # conv3: 25,600
        + 3 * (10 * 10 * 32 * 512 + 512 * 512)  # each head's two fc 512
        + 512 * 7 * 8 * 8  # part detection, 7@8x8 = 448
        + 512 * 8 * 8 * 8  # joint detection, 8@8x8 = 512
        + 512 * 16  # joint regression
    )
    assert model.totals.params == 6_260_320
    assert model.totals.biases == 0
    check_columns_sum_to_totals(model)


def test_pose_network_layers():
    model = load("pose.cnn")
    assert shapes(model, "conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "flat", "pd", "jd", "jr") == {
        "conv1": [112 - 9 + 1, 112 - 9 + 1, 32],  # 104
        "pool1": [104 // 2, 104 // 2, 32],  # 52
        "conv2": [52 - 5 + 1, 52 - 5 + 1, 32],  # 48
        "pool2": [48 // 2, 48 // 2, 32],  # 24
        "conv3": [24 - 5 + 1, 24 - 5 + 1, 32],  # 20
        "pool3": [20 // 2, 20 // 2, 32],  # 10
        "flat": [10 * 10 * 32],  # 3200
        "pd": [7 * 8 * 8],
        "jd": [8 * 8 * 8],
        "jr": [16],
    }
    assert params(model, "conv1", "conv2", "pd1", "pd2", "pd", "jd", "jr") == {
        "conv1": 9 * 9 * 3 * 32,
        "conv2": 5 * 5 * 32 * 32,
        "pd1": 3200 * 512,
        "pd2": 512 * 512,
        "pd": 512 * 448,
        "jd": 512 * 512,
        "jr": 512 * 16,
    }
    # the three heads all read the flattened map
    assert model.layer("pd1").inputs == model.layer("jd1").inputs == model.layer("jr1").inputs == ["flat"]


def test_pose_network_macs():
    model = load("pose.cnn")
    assert model.totals.macs == (
        104 * 104 * 32 * 9 * 9 * 3  # conv1
        + 48 * 48 * 32 * 5 * 5 * 32  # conv2
        + 20 * 20 * 32 * 5 * 5 * 32  # conv3
        + (6_260_320 - (9 * 9 * 3 * 32 + 2 * 5 * 5 * 32 * 32))  # every fc weight is one MAC
    )


def test_pose_network_with_biases():
    # the same network with biases: 3 convs of 32, seven fc of 512, one of 448 and one of 16
    text = (DATA / "pose.cnn").read_text().replace("set bias=false", "")
    model = cnncalc.load(text)
    assert model.totals.biases == 3 * 32 + 7 * 512 + 448 + 16
    assert model.totals.params == 6_260_320 + 3 * 32 + 7 * 512 + 448 + 16
    # and counted without them again, as a setting
    assert cnncalc.load(text, bias=False).totals.params == 6_260_320


# --- seed 002: LeNet-5 -----------------------------------------------------------------------


def test_lenet5():
    model = load("lenet5.cnn")
    assert params(model, "c1", "c3", "f5", "f6", "out") == {
        "c1": 5 * 5 * 6 + 6,  # 156
        # seed 002 writes "5*5*16 + 16 = 2416"; that arithmetic is 416, the 6 input channels are missing
        "c3": 5 * 5 * 6 * 16 + 16,  # 2416
        "f5": 16 * 5 * 5 * 120 + 120,  # 48,120
        "f6": 120 * 84 + 84,  # 10,164
        "out": 84 * 10 + 10,  # 850
    }
    assert model.totals.params == 156 + 2416 + 48_120 + 10_164 + 850 == 61_706
    assert shapes(model, "c1", "s2", "c3", "s4", "flat") == {
        "c1": [32 - 5 + 1, 32 - 5 + 1, 6],
        "s2": [14, 14, 6],
        "c3": [14 - 5 + 1, 14 - 5 + 1, 16],
        "s4": [5, 5, 16],
        "flat": [5 * 5 * 16],
    }
    assert model.totals.macs == 28 * 28 * 6 * 5 * 5 * 1 + 10 * 10 * 16 * 5 * 5 * 6 + 400 * 120 + 120 * 84 + 84 * 10
    check_columns_sum_to_totals(model)


def test_lenet5_without_biases():
    model = load("lenet5.cnn", bias=False)
    assert model.totals.biases == 0
    assert model.totals.params == 61_706 - (6 + 16 + 120 + 84 + 10)


def test_lenet5_on_28x28():
    # MNIST's 28x28 without padding: 28 - 5 + 1 = 24, 12, 12 - 5 + 1 = 8, 4, so f5 reads 4*4*16 = 256
    model = load("lenet5.cnn", input="28x28x1")
    assert model.layer("flat").output.dims() == [4 * 4 * 16]
    assert model.layer("f5").params == 4 * 4 * 16 * 120 + 120
    assert model.totals.params == 156 + 2416 + (256 * 120 + 120) + 10_164 + 850


# --- seed 003: AlexNet (Caffe) ---------------------------------------------------------------


def test_alexnet_caffe_params():
    model = load("alexnet_caffe.cnn")
    assert params(model, "conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7", "fc8") == {
        # the slide's table writes 11*11*3*96 + 96 = 34,848: that is the weights alone (11*11*3*96)
        "conv1": (11 * 11 * 3) * 96 + 96,  # 34,944
        "conv2": (5 * 5 * 48 * 128 + 128) * 2,  # 307,456, two groups
        "conv3": 3 * 3 * 256 * 384 + 384,  # 885,120
        "conv4": (3 * 3 * 192 * 192 + 192) * 2,  # 663,936
        "conv5": (3 * 3 * 192 * 128 + 128) * 2,  # 442,624
        "fc6": (6 * 6 * 128 * 2) * 4096 + 4096,  # 37,752,832
        "fc7": 4096 * 4096 + 4096,  # 16,781,312
        "fc8": 4096 * 1000 + 1000,  # 4,097,000
    }
    # the slide's total 60,965,128 is 96 short: the conv1 biases its table left out
    assert model.totals.params == (34_944 + 307_456 + 885_120 + 663_936 + 442_624 + 37_752_832 + 16_781_312 + 4_097_000)
    assert model.totals.params == 60_965_224
    check_columns_sum_to_totals(model)


def test_alexnet_caffe_shapes_and_memory():
    model = load("alexnet_caffe.cnn")
    assert shapes(model, "conv1", "pool1", "norm1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5", "flat") == {
        "conv1": [(227 - 11) // 4 + 1, (227 - 11) // 4 + 1, 96],  # 55
        "pool1": [(55 - 3) // 2 + 1, (55 - 3) // 2 + 1, 96],  # 27
        "norm1": [27, 27, 96],
        "conv2": [(27 - 5 + 2 * 2) // 1 + 1, (27 - 5 + 2 * 2) // 1 + 1, 256],  # 27
        "pool2": [(27 - 3) // 2 + 1, (27 - 3) // 2 + 1, 256],  # 13
        "conv3": [(13 - 3 + 1 * 2) // 1 + 1, (13 - 3 + 1 * 2) // 1 + 1, 384],  # 13
        "conv4": [13, 13, 384],
        "conv5": [13, 13, 256],
        "pool5": [(13 - 3) // 2 + 1, (13 - 3) // 2 + 1, 256],  # 6
        "flat": [6 * 6 * 256],
    }
    # the slide's memory column, in values (two GPUs' halves), at 4 bytes a value
    assert model.layer("conv1").activation_bytes == 4 * (55 * 55 * 48 * 2)  # 290,400 values
    assert model.layer("conv2").activation_bytes == 4 * (27 * 27 * 128 * 2)  # 186,624
    assert model.layer("conv3").activation_bytes == 4 * (13 * 13 * 192 * 2)  # 64,896
    assert model.layer("conv4").activation_bytes == 4 * (13 * 13 * 192 * 2)  # 64,896
    assert model.layer("conv5").activation_bytes == 4 * (13 * 13 * 128 * 2)  # 43,264


def test_alexnet_caffe_macs():
    # Sze et al., "Efficient Processing of Deep Neural Networks" (Proc. IEEE 2017), Table III:
    # AlexNet has 666M conv MACs and 58.6M fc MACs, 724M in all
    model = load("alexnet_caffe.cnn")
    conv = (
        55 * 55 * 96 * 11 * 11 * 3
        + 27 * 27 * 256 * 5 * 5 * 48
        + 13 * 13 * 384 * 3 * 3 * 256
        + 13 * 13 * 384 * 3 * 3 * 192
        + 13 * 13 * 256 * 3 * 3 * 192
    )
    fc = 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    assert sum(model.layer(n).macs for n in ("conv1", "conv2", "conv3", "conv4", "conv5")) == conv
    assert sum(model.layer(n).macs for n in ("fc6", "fc7", "fc8")) == fc
    assert model.totals.macs == conv + fc
    assert round(conv / 1e6) == 666
    assert round(fc / 1e5) == 586


# --- seed 004: students' tables of small CNNs ------------------------------------------------


def test_seed004_question1():
    model = load("seed004_q1.cnn")
    assert shapes(model, "conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "flat") == {
        "conv1": [150, 150, 32],
        "pool1": [(150 - 2) // 2 + 1, (150 - 2) // 2 + 1, 32],  # 75 (the student wrote 149, a stride-1 pool)
        "conv2": [75, 75, 64],
        "pool2": [(75 - 2) // 2 + 1, (75 - 2) // 2 + 1, 64],  # 37
        "conv3": [37, 37, 128],
        "pool3": [(37 - 2) // 2 + 1, (37 - 2) // 2 + 1, 128],  # 18
        "flat": [18 * 18 * 128],  # 41,472
    }
    assert params(model, "conv1", "conv2", "conv3", "fc1", "out") == {
        "conv1": 3 * 3 * 3 * 32 + 32,  # 896
        "conv2": 3 * 3 * 32 * 64 + 64,  # 18,496 (the student used 3 input channels: 1792, then wrote 12,996)
        "conv3": 3 * 3 * 64 * 128 + 128,  # 73,856 (calculated as 3584 with 3 channels, but 73,856 in the column)
        "fc1": 41_472 * 64 + 64,  # 2,654,272 (the student: 2,657,272 and 2,659,272)
        "out": 64 * 1 + 1,  # 65
    }
    # the student's total is 2,717,585
    assert model.totals.params == 896 + 18_496 + 73_856 + 2_654_272 + 65 == 2_747_585
    check_columns_sum_to_totals(model)


def test_seed004_question1_non_exact_pools_warn():
    model = load("seed004_q1.cnn")
    assert model.layer("pool1").warnings == []  # (150 - 2)/2 = 74 exactly
    assert model.layer("pool2").warnings  # (75 - 2)/2 = 36.5
    assert model.layer("pool3").warnings  # (37 - 2)/2 = 17.5


def test_seed004_question3():
    model = load("seed004_q3.cnn")
    assert shapes(model, "conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "flat") == {
        "conv1": [(224 - 7) // 4 + 1, (224 - 7) // 4 + 1, 32],  # 55
        "pool1": [(55 - 3) // 2 + 1, (55 - 3) // 2 + 1, 32],  # 27
        "conv2": [27 - 3 + 1, 27 - 3 + 1, 64],  # 25
        "pool2": [(25 - 3) // 2 + 1, (25 - 3) // 2 + 1, 64],  # 12
        "conv3": [12 - 3 + 1, 12 - 3 + 1, 128],  # 10
        "pool3": [(10 - 3) // 2 + 1, (10 - 3) // 2 + 1, 128],  # 4
        "flat": [4 * 4 * 128],  # 2048
    }
    assert params(model, "conv1", "conv2", "conv3", "fc1", "out") == {
        "conv1": 7 * 7 * 3 * 32 + 32,  # 4736
        "conv2": 3 * 3 * 32 * 64 + 64,  # 18,496
        "conv3": 3 * 3 * 64 * 128 + 128,  # 73,856
        "fc1": 2048 * 512 + 512,  # 1,049,088
        "out": 512 * 100 + 100,  # 51,300
    }
    # the student's total, right
    assert model.totals.params == 4736 + 18_496 + 73_856 + 1_049_088 + 51_300 == 1_197_476
    check_columns_sum_to_totals(model)


def test_seed004_question3_non_exact_sizes_warn():
    model = load("seed004_q3.cnn")
    assert model.layer("conv1").warnings  # (224 - 7)/4 = 54.25
    assert model.layer("pool3").warnings  # (10 - 3)/2 = 3.5
    for exact in ("pool1", "conv2", "pool2", "conv3"):
        assert model.layer(exact).warnings == [], exact


def test_seed004_question3_strict_names_the_first_non_exact_layer():
    path = DATA / "seed004_q3.cnn"
    with pytest.raises(cnncalc.CnnCalcError) as info:
        cnncalc.load(path, strict=True)
    assert str(info.value).startswith(f"{path}:{line_of('seed004_q3.cnn', 'conv1')}: conv1: ")


def test_seed004_question5():
    model = load("seed004_q5.cnn")
    assert shapes(model, "conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "conv4", "pool4", "flat") == {
        "conv1": [(224 - 7) // 2 + 1, (224 - 7) // 2 + 1, 32],  # 109
        "pool1": [(109 - 2) // 2 + 1, (109 - 2) // 2 + 1, 32],  # 54
        "conv2": [54, 54, 32],
        "pool2": [(54 - 2) // 2 + 1, (54 - 2) // 2 + 1, 32],  # 27
        "conv3": [27, 27, 32],
        "pool3": [(27 - 2) // 2 + 1, (27 - 2) // 2 + 1, 32],  # 13
        "conv4": [13, 13, 32],
        "pool4": [(13 - 2) // 2 + 1, (13 - 2) // 2 + 1, 32],  # 6
        "flat": [6 * 6 * 32],  # 1152
    }
    assert params(model, "conv1", "conv2", "conv3", "conv4", "fc1", "out") == {
        "conv1": 7 * 7 * 3 * 32 + 32,  # 4736
        "conv2": 5 * 5 * 32 * 32 + 32,  # 25,632
        "conv3": 3 * 3 * 32 * 32 + 32,  # 9248
        "conv4": 3 * 3 * 32 * 32 + 32,  # 9248 (the student's row says 9216 and 9218)
        "fc1": 1152 * 1024 + 1024,  # 1,180,672
        "out": 1024 * 10 + 10,  # 10,250
    }
    # the student's total, right despite the slips in the rows
    assert model.totals.params == 4736 + 25_632 + 9248 + 9248 + 1_180_672 + 10_250 == 1_239_786
    check_columns_sum_to_totals(model)


# --- the same through the command line, when it is there ---------------------------------------


def show_json(*args: str) -> dict:
    done = subprocess.run(
        [str(CLI), "show", *args, "--format", "json"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_cli_pose_network():
    report = show_json(str(DATA / "pose.cnn"))
    assert report["totals"]["params"] == 6_260_320
    assert report["totals"]["biases"] == 0
    row = next(r for r in report["layers"] if r["name"] == "conv1")
    assert row["output_shape"] == [104, 104, 32]
    assert row["params"] == 9 * 9 * 3 * 32


def test_cli_lenet5_options():
    assert show_json(str(DATA / "lenet5.cnn"))["totals"]["params"] == 61_706
    assert show_json(str(DATA / "lenet5.cnn"), "--no-bias")["totals"]["params"] == 61_706 - (6 + 16 + 120 + 84 + 10)
    report = show_json(str(DATA / "lenet5.cnn"), "--input", "28x28x1")
    assert report["totals"]["params"] == 156 + 2416 + (4 * 4 * 16 * 120 + 120) + 10_164 + 850


def test_cli_strict_exits_2():
    path = DATA / "seed004_q3.cnn"
    done = subprocess.run([str(CLI), "show", str(path), "--strict"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert f"{path}:{line_of('seed004_q3.cnn', 'conv1')}: conv1: " in done.stderr
    assert "Traceback" not in done.stderr
