"""`cnncalc check --answers`: a student's table marked cell by cell, with the slip behind each wrong cell.

The right figures are the seeds' (the Caffe AlexNet of slides 003 and the LeNet-5 of seed 002), worked by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import cnncalc
from cnncalc.teach.answers import check_answers, parse_number, parse_shape
from cnncalc.teach.diagnose import Network


def write(tmp_path: Path, text: str, name: str = "answers.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


ALEXNET = """layer,output_shape,params
conv1,55x55x96,"11,712"
pool1,27x27x96,0
conv2,27x27x256,614656
pool2,13x13x256,0
conv3,12x12x384,885120
"""


def test_alexnet_table(cli, tmp_path: Path) -> None:
    out = cli("check", "alexnet_caffe", "--answers", write(tmp_path, ALEXNET), "--format", "json")
    assert out.returncode == 1
    report = json.loads(out.stdout)
    cells = {(v["layer"], v["field"]): v for v in report["verdicts"]}
    # conv1: (227 - 11)/4 + 1 = 55; (11x11x3)x96 + 96 = 34,944; with one input channel 11x11x96 + 96 = 11,712.
    assert cells["conv1", "output_shape"]["ok"]
    assert cells["conv1", "params"]["correct"] == 11 * 11 * 3 * 96 + 96 == 34_944
    assert cells["conv1", "params"]["diagnoses"][0]["mistake"] == "one_input_channel"
    # conv2, two groups: 5x5x48x256 + 256 = 307,456; groups ignored: 5x5x96x256 + 256 = 614,656.
    assert cells["conv2", "params"]["correct"] == 5 * 5 * 48 * 256 + 256 == 307_456
    assert cells["conv2", "params"]["diagnoses"][0]["mistake"] == "ignored_groups"
    assert cells["conv2", "params"]["diagnoses"][0]["gives"] == 614_656
    # conv3: 3x3 p=1 on 13x13 stays 13x13; without the + 1 it would be 12.
    assert cells["conv3", "output_shape"]["correct"] == "13x13x384"
    assert cells["conv3", "output_shape"]["diagnoses"][0]["mistake"] == "missing_plus_one"
    assert cells["conv3", "params"]["ok"] and cells["conv3", "params"]["correct"] == 3 * 3 * 256 * 384 + 384
    assert report["ok"] is False
    assert all(set(v) == {"layer", "field", "claimed", "correct", "ok", "diagnoses"} for v in report["verdicts"])


def test_lenet_conv2_without_input_channels(cli, tmp_path: Path) -> None:
    # Seed 002's LeNet-5: the second conv has 16 filters of 5x5 over 6 maps: 5x5x6x16 + 16 = 2,416; written 416.
    text = "layer,params\nc1,156\nc3,416\n"
    out = cli("check", "lenet5", "--answers", write(tmp_path, text))
    assert out.returncode == 1
    assert "c1.params: 156 is right" in out.stdout
    assert "2,416" in out.stdout
    assert "no_input_channels" in out.stdout


def test_all_right_exits_0(cli, tmp_path: Path) -> None:
    text = "layer,output_shape,params\nconv1,55x55x96,34944\nconv2,27 x 27 x 256,307 456\n"
    out = cli("check", "alexnet_caffe", "--answers", write(tmp_path, text))
    assert out.returncode == 0, out.stdout
    assert "2 of 2" not in out.stdout and "4 of 4 answers right" in out.stdout


def test_carried_error_from_an_earlier_row() -> None:
    # A student who writes conv1's output as 54x54x96 and then pools it correctly gets 26x26x96 for pool1:
    # (54 - 3)/2 + 1 = 26.5, floored to 26.
    net = Network(cnncalc.load("alexnet_caffe"))
    checked = check_answers(net, "layer,output_shape\nconv1,54x54x96\npool1,26x26x96\n", "a.csv")
    pool = next(v for v in checked.verdicts if v.layer == "pool1")
    assert not pool.ok and pool.correct == "27x27x96"
    assert pool.diagnoses[0].mistake == "carried_error"
    assert "conv1" in pool.diagnoses[0].explanation


def test_chw_layout(cli, tmp_path: Path) -> None:
    text = "layer,output_shape\nconv1,96x55x55\n"
    assert cli("check", "alexnet_caffe", "--answers", write(tmp_path, text), "--layout", "chw").returncode == 0


def test_bad_rows_are_reported_with_their_line_and_the_rest_checked(cli, tmp_path: Path) -> None:
    text = "layer,params\n# a comment\nconv9,5\nconv1,lots\nconv1,34944\n"
    out = cli("check", "alexnet_caffe", "--answers", write(tmp_path, text))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "line 3: layer 'conv9' is not in the network" in out.stdout
    assert "line 4: conv1.params" in out.stdout and "'lots' is not a whole number" in out.stdout
    assert "conv1.params: 34,944 is right" in out.stdout


def test_unreadable_answers_exit_2(cli, tmp_path: Path) -> None:
    for text, message in (
        ("", "empty"),
        ("name,params\nconv1,5\n", "no `layer` column"),
        ("layer,colour\nconv1,red\n", "names none of"),
        ("layer,params\nconv9,5\n", "no answer could be read"),
    ):
        out = cli("check", "alexnet_caffe", "--answers", write(tmp_path, text))
        assert out.returncode == 2, (text, out.stdout)
        assert message in out.stderr and "Traceback" not in out.stderr
    missing = cli("check", "alexnet_caffe", "--answers", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "nope.csv: cannot read it" in missing.stderr


def test_numbers_and_shapes_as_students_write_them() -> None:
    assert parse_number("34,944") == parse_number("34 944") == parse_number("34944.0") == 34_944
    assert parse_shape("55 × 55 × 96", "hwc") == parse_shape("55x55x96", "hwc")
    assert parse_shape("96x55x55", "chw") == parse_shape("55x55x96", "hwc")
    assert parse_shape("4096", "hwc").c == 4096


def test_markdown_output(cli, tmp_path: Path) -> None:
    out = cli("check", "alexnet_caffe", "--answers", write(tmp_path, ALEXNET), "--format", "md")
    assert out.stdout.startswith("# ")
    assert "- **conv2.params**: 614,656 is **wrong**" in out.stdout
