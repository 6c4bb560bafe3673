"""The `cnncalc` command as a user runs it. Figures come from the seeds, torchvision and hand arithmetic."""

from __future__ import annotations

import csv
import io
import json

import cnncalc
from conftest import TESTS

POSENET = str(TESTS / "data" / "valid" / "posenet.cnn")
TWO_INPUTS = """\
img: input 224x224x3
depth: input 224x224x1
c1: conv 32 k=3 p=1 from=img
c2: conv 32 k=3 p=1 from=depth
both: concat from=c1,c2
"""


def test_vgg16_json_reports_torchvision_params(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("show", "vgg16", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["totals"]["params"] == 138_357_544  # torchvision num_params


def test_json_follows_the_contract(cli) -> None:  # type: ignore[no-untyped-def]
    report = json.loads(cli("show", POSENET, "--format", "json").stdout)
    assert {"model", "input", "settings", "layers", "totals"} <= set(report)
    assert report["input"] == [112, 112, 3]
    layer_keys = {"name", "op", "inputs", "output_shape", "params", "weights", "biases", "buffers", "macs",
                  "activation_bytes", "rf", "warnings"}  # fmt: skip
    for layer in report["layers"]:
        assert set(layer) == layer_keys
        assert layer["params"] == layer["weights"] + layer["biases"]
    contract = {"params", "weights", "biases", "buffers", "macs", "flops", "activation_bytes"}
    # Fields are only ever added: the buffers by kind sit beside the contract's `buffers`.
    added = {"running_statistics", "other_buffers", "fixed_tables", "inference_peak_bytes"}
    assert set(report["totals"]) == contract | added
    kinds = report["totals"]["running_statistics"] + report["totals"]["other_buffers"]
    assert kinds == report["totals"]["buffers"]
    assert report["totals"]["flops"] == 2 * report["totals"]["macs"]
    assert report["totals"]["params"] == 6_260_320  # the pose homework's answer
    by_name = {x["name"]: x for x in report["layers"]}
    assert by_name["flat"]["output_shape"] == [3200] and by_name["flat"]["rf"] is None
    assert by_name["conv1"]["rf"] == {"size": 9, "jump": 1, "start": 4.5}  # 9x9 kernel, no padding
    assert by_name["pd"]["rf"] == {"global": True}
    assert by_name["pd"]["inputs"] == ["pd2"] and by_name["jd1"]["inputs"] == ["flat"]


def test_every_column_sums_to_its_total() -> None:
    # torchinfo's check: the printed totals are the sums of the printed rows.
    for name in ("alexnet_caffe", "vgg16_bn", "posenet"):
        report = cnncalc.load(name).to_dict()
        for key in ("params", "weights", "biases", "buffers", "macs", "activation_bytes"):
            assert sum(x[key] for x in report["layers"]) == report["totals"][key], (name, key)


def test_table_shows_rows_totals_and_conventions(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("show", "alexnet_caffe").stdout
    assert "conv2" in out and "27x27x256" in out and "307,456" in out
    assert "60,965,224" in out and "724,406,816" in out
    assert "FLOPs = 2 x MACs" in out and "biases counted" in out
    assert "195/32" in out  # pool5 receptive field, Distill table


def test_no_bias_and_layout(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("show", "posenet", "--no-bias", "--layout", "chw", "--format", "json").stdout
    report = json.loads(out)
    assert report["totals"]["params"] == 6_260_320
    assert report["totals"]["biases"] == 0
    assert report["input"] == [3, 112, 112]
    assert report["settings"]["bias"] is False and report["settings"]["layout"] == "chw"


def test_standard_input_and_input_override(cli) -> None:  # type: ignore[no-untyped-def]
    spec = "input 32x32x3\nconv 8 k=3\n"
    report = json.loads(cli("show", "-", "--format", "json", "--input", "64x48x3", stdin=spec).stdout)
    conv = report["layers"][1]
    assert conv["output_shape"] == [62, 46, 8]  # (64 - 3)/1 + 1, (48 - 3)/1 + 1
    assert conv["macs"] == 62 * 46 * 8 * 3 * 3 * 3


def test_csv_and_markdown(cli) -> None:  # type: ignore[no-untyped-def]
    rows = list(csv.DictReader(io.StringIO(cli("show", "lenet5", "--format", "csv").stdout)))
    assert rows[-1]["name"] == "total" and rows[-1]["params"] == "61706"  # seed 002
    assert [r["params"] for r in rows if r["op"] == "conv"] == ["156", "2416"]
    md = cli("show", "lenet5", "--format", "md").stdout
    assert "| `c1` | conv | 28x28x6 | 156 |" in md
    assert "**61,706**" in md


def test_spec_format_round_trips_zoo_models(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name, params in (("vgg16_bn", 138_365_992), ("alexnet_caffe", 60_965_224), ("posenet", 6_264_464)):
        # posenet with biases: 6,260,320 weights + 3*32 + 6*512 + 448 + 512 + 16 biases
        text = cli("show", name, "--format", "spec").stdout
        path = tmp_path / f"{name}.cnn"
        path.write_text(text)
        assert cnncalc.load(str(path)).totals.params == params

        def structure(graph):  # type: ignore[no-untyped-def]
            return [(n.name, n.op, n.args, n.inputs) for n in graph.nodes]

        assert structure(cnncalc.load(str(path)).graph) == structure(cnncalc.load(name).graph)


def test_two_named_inputs() -> None:
    m = cnncalc.load(TWO_INPUTS)
    assert [n for n, _ in m.report.inputs] == ["img", "depth"]
    assert m.layer("both").output.dims() == [224, 224, 64]
    assert m.totals.params == (3 * 3 * 3 + 1) * 32 + (3 * 3 * 1 + 1) * 32
    wider = cnncalc.load(TWO_INPUTS, input="img=112x112x3,depth=112x112x1")
    assert wider.layer("both").output.dims() == [112, 112, 64]


def test_zoo_and_ops_commands(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("zoo").stdout
    for name in ("lenet5", "alexnet", "alexnet_caffe", "zfnet", "vgg11", "vgg19_bn", "posenet"):
        assert name in out
    assert "138,357,544" in out
    ops = cli("ops").stdout
    for op in ("conv", "dwconv", "convT", "maxpool", "adaptiveavgpool", "upsample", "concat"):
        assert op in ops


def test_bad_input_exits_2_without_traceback(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "spec.txt"
    spec.write_text("input 8x8x3\nconv 16 k=3\nconv 16 k=3\nconv 16 k=3\nmaxpool k=2\nconv3: conv 8 k=5\n")
    result = cli("show", str(spec))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    # 8 -> 6 -> 4 -> 2 -> pool 1: a 5x5 kernel cannot fit a 1x1 map.
    assert result.stderr.startswith(f"{spec}:6: conv3: kernel 5 is larger than its 1x1 input")
    missing = cli("show", "no_such_model")
    assert missing.returncode == 2 and "no zoo model named 'no_such_model'" in missing.stderr
    strict = cli("show", "-", "--strict", stdin="input 7x7x1\nconv 1 k=3 s=3\n")
    assert strict.returncode == 2 and "2.33" in strict.stderr


def test_model_name_comes_from_the_file(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "tiny_net.cnn"
    spec.write_text("input 8x8x3\nlast: conv 4 k=3\n")
    assert cli("show", str(spec)).stdout.splitlines()[0] == "tiny_net"
    assert (
        json.loads(cli("show", "-", "--format", "json", stdin="input 8x8x3\nlast: conv 4 k=3\n").stdout)["model"]
        == "stdin"
    )


def test_an_unknown_op_is_never_counted_as_zero(cli) -> None:  # type: ignore[no-untyped-def]
    spec = "input 8x8x3\nconv 4 k=3\ng: opaque 6x6x4 params=10 what=torch.nn.GRU\n"
    report = json.loads(cli("show", "-", "--format", "json", stdin=spec).stdout)
    g = report["layers"][2]
    assert g["macs"] is None and g["params"] == 10
    assert report["unknown_macs"] == ["g"]
    assert report["totals"]["macs"] == 6 * 6 * 4 * 3 * 3 * 3  # the conv only
    table = cli("show", "-", stdin=spec).stdout
    assert "? MACs unknown for 1 layer(s) (g)" in table


def test_zoo_fits_the_terminal() -> None:
    import os
    import subprocess
    import sys

    for columns in (80, 120):
        env = {**os.environ, "COLUMNS": str(columns)}
        out = subprocess.run(
            [sys.executable, "-m", "cnncalc.cli", "zoo"], capture_output=True, text=True, env=env, check=True
        ).stdout
        assert max(len(line) for line in out.splitlines()) <= columns
        assert "resnet50" in out and "25,557,032" in out  # torchvision's published resnet50 params
    full = subprocess.run(
        [sys.executable, "-m", "cnncalc.cli", "zoo", "--format", "csv"], capture_output=True, text=True, check=True
    ).stdout
    header, *rows = full.splitlines()
    assert header.split(",")[:3] == ["name", "input", "params"]
    assert any("torchvision.models.resnet50" in row for row in rows)  # the wide form keeps every source whole
