"""`--input` as a PyTorch user writes it. `--layout chw` reads it channels first (C x H x W, PyTorch's order) on every
command that takes `--input` and on every kind of model; a shape that only fits the other order says so and shows
both fixes; malformed `--input` is one line and exit 2 on every kind of model, never a traceback.

Expected shapes by hand: a 3x3 conv with padding 1 keeps H x W; ResNetish (tests/bridges/data) keeps 64x64 through
its stem, so its first conv's output is 64x64x16 (C x H x W: 16x64x64).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnnCalcError
from conftest import TESTS

DATA = TESTS / "bridges" / "data"
PY_MODEL = f"{DATA / 'resnetish.py'}:ResNetish"
TWO_INPUTS = f"{DATA / 'two_inputs.py'}:TwoInputs"
SPEC = "input 64x64x3\nstem: conv 16 k=3 p=1\nrelu\n"


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "net.cnn"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(TESTS / "onnx"))
    from onnx_nets import Net

    net = Net((1, 3, 64, 64))
    net.node("Conv", ["x", net.init("w", (16, 3, 3, 3)), net.init("b", (16,))], name="stem", pads=[1, 1, 1, 1])
    return net.save(tmp_path_factory.mktemp("onnx") / "net.onnx")


def _first_conv(data: dict) -> list[int]:  # type: ignore[type-arg]
    return next(x["output_shape"] for x in data["layers"] if x["op"] == "conv")


@pytest.mark.parametrize("kind", ["spec", "zoo", "python", "onnx"])
def test_layout_chw_reads_input_channels_first(cli, kind: str, spec_file: Path, onnx_file: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("torch" if kind == "python" else "onnx" if kind == "onnx" else "json")
    model = {"spec": str(spec_file), "zoo": "resnet18", "python": PY_MODEL, "onnx": str(onnx_file)}[kind]
    hwc = cli("show", model, "--input", "64x64x3", "--format", "json")
    chw = cli("show", model, "--input", "3x64x64", "--layout", "chw", "--format", "json")
    assert hwc.returncode == 0 and chw.returncode == 0, hwc.stderr + chw.stderr
    a, b = json.loads(hwc.stdout), json.loads(chw.stdout)
    assert a["input"] == [64, 64, 3] and b["input"] == [3, 64, 64]
    assert a["totals"] == b["totals"]
    assert _first_conv(b) == list(reversed(_first_conv(a)[-1:])) + _first_conv(a)[:-1]


@pytest.mark.parametrize(
    "args",
    [
        ("memory", "resnet18", "--layout", "chw", "--input", "3x64x64"),
        ("rf", "resnet18", "--layout", "chw", "--input", "3x64x64"),
        ("map", "resnet18", "--layout", "chw", "--input", "3x64x64", "--layer", "layer1.0.conv1", "--unit", "0,0"),
        ("draw", "resnet18", "--layout", "chw", "--input", "3x64x64"),
        ("export", "resnet18", "--layout", "chw", "--input", "3x64x64"),
        ("check", "resnet18", "--layout", "chw", "--input", "3x64x64", "--total", "11,689,512"),
    ],
)
def test_other_commands_take_the_layout(cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    if args[0] == "export":
        pytest.importorskip("torch")
    result = cli(*args)
    assert result.returncode == 0, result.stderr


def test_other_order_says_so_and_shows_the_fix(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("show", "resnet18", "--input", "3x224x224")
    assert result.returncode == 2
    line = result.stderr.strip()
    assert "\n" not in line
    assert "224x224x3" in line and "--layout chw" in line
    flipped = cli("show", "resnet18", "--layout", "chw", "--input", "224x224x3")
    assert flipped.returncode == 2 and "3x224x224" in flipped.stderr and "--layout hwc" in flipped.stderr


def test_python_model_in_the_other_order(cli) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    result = cli("show", PY_MODEL, "--input", "3x64x64")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "--input 64x64x3" in result.stderr and "--layout chw" in result.stderr
    batched = cli("show", PY_MODEL, "--input", "1x3x64x64")
    assert batched.returncode == 2 and "leave out the batch" in batched.stderr


BAD = ["1x3x256x256", "256x256", "abc", "a=1x1x1,b", "input=224x224x3,zzz", "x=", "=64x64x3", "64x64x3,", ""]


def _model(kind: str, spec_file: Path, onnx_file: Path) -> str:
    if kind.startswith("python"):
        pytest.importorskip("torch")
    if kind == "onnx":
        pytest.importorskip("onnx")
        return str(onnx_file)
    return {"spec": str(spec_file), "zoo": "resnet18", "python": PY_MODEL, "python2": TWO_INPUTS}[kind]


@pytest.mark.parametrize("kind", ["spec", "zoo", "python", "python2", "onnx"])
def test_bad_input_is_one_clear_error(kind: str, spec_file: Path, onnx_file: Path) -> None:
    model = _model(kind, spec_file, onnx_file)
    for text in BAD:
        if text == "256x256" and kind == "spec":
            continue  # a valid LxC signal; the spec's conv then says what it takes
        with pytest.raises(CnnCalcError) as caught:
            cnncalc.load(model, input=text)
        assert "\n" not in str(caught.value), (text, str(caught.value))


@pytest.mark.parametrize("kind", ["spec", "zoo", "python", "onnx"])
@pytest.mark.parametrize("text", ["1x3x256x256", "abc", "a=1x1x1,b", "input=224x224x3,zzz"])
def test_bad_input_on_the_command_line(cli, kind: str, text: str, spec_file: Path, onnx_file: Path) -> None:  # type: ignore[no-untyped-def]
    if kind == "python" and text not in ("1x3x256x256", "abc"):
        pytest.skip("one torch start-up per form is enough; the forms are read before the module is imported")
    result = cli("show", _model(kind, spec_file, onnx_file), "--input", text)
    assert result.returncode == 2, (result.returncode, result.stderr[-500:])
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_from_python_the_same_rules() -> None:
    with pytest.raises(CnnCalcError, match="has no name"):
        cnncalc.load("resnet18", input="a=1x1x1,b")
    m = cnncalc.load("resnet18", input="3x64x64", layout="chw")
    assert m.report.inputs[0][1].dims() == [64, 64, 3]


@pytest.mark.parametrize("command", ["memory", "rf"])
def test_tables_write_shapes_in_the_layout_asked(cli, command: str) -> None:  # type: ignore[no-untyped-def]
    # resnet18's stem on a 3x64x64 input: a 7x7 conv, stride 2, 64 filters gives 64 maps of 32x32 (PyTorch's order).
    chw = cli(command, "resnet18", "--layout", "chw", "--input", "3x64x64")
    hwc = cli(command, "resnet18", "--input", "64x64x3")
    assert chw.returncode == hwc.returncode == 0, chw.stderr + hwc.stderr
    conv1 = lambda out: next(line for line in out.splitlines() if " conv1 " in line)  # noqa: E731
    assert "64x32x32" in conv1(chw.stdout) and "32x32x64" in conv1(hwc.stdout)
