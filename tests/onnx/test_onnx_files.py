"""ONNX files as a user gives them to `cnncalc show`: good ones, and broken ones that must give exit 2 and one line.

Broken files: missing, empty, text, truncated at many points, randomly corrupted bytes, weights in an external data
file that is missing or cut short, an input whose height and width are symbolic, a node reading a tensor nothing
provides, and the onnx package not installed.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx_nets import Net, load

onnx = pytest.importorskip("onnx")

import cnncalc  # noqa: E402
from cnncalc.bridges.onnx_import import read_onnx  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402


def small_net() -> Net:
    """conv 3->8 k3 p1, bn, relu, maxpool 2, flatten, fc 10 on 8x8x3."""
    net = Net((1, 3, 8, 8))
    a = net.node("Conv", ["x", net.init("w", (8, 3, 3, 3)), net.init("b", (8,))], name="conv1", pads=[1, 1, 1, 1])
    bn = [net.init(n, (8,)) for n in ("g", "beta", "mean")] + [net.init("var", (8,), np.ones(8))]
    a = net.node("BatchNormalization", [a, *bn], name="bn1")
    a = net.node("Relu", [a], name="relu1")
    a = net.node("MaxPool", [a], name="pool1", kernel_shape=[2, 2], strides=[2, 2])
    a = net.node("Flatten", [a], name="flat")
    net.node("Gemm", [a, net.init("fw", (10, 128)), net.init("fb", (10,))], name="fc", transB=1)
    return net


# Worked by hand: conv 3*3*3*8 + 8 = 224; bn 8 + 8 (buffers 16); fc 128*10 + 10 = 1290.
PARAMS, BUFFERS = 224 + 16 + 1290, 16
MACS = 8 * 8 * 8 * 27 + 128 * 10


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return small_net().save(tmp_path / "small.onnx")


def refused(cli, path: Path | str, *more: str) -> str:  # type: ignore[no-untyped-def]
    """`cnncalc show PATH` exits 2 with one line on standard error that names the file, and no traceback."""
    result = cli("show", str(path), *more)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].startswith(str(path)), lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- good files


def test_show_prints_the_table(cli, small: Path) -> None:  # type: ignore[no-untyped-def]
    result = cli("show", str(small))
    assert result.returncode == 0, result.stderr
    for name in ("conv1", "bn1", "relu1", "pool1", "flat", "fc"):
        assert f"│ {name} " in result.stdout
    assert f"params {PARAMS:,}" in result.stdout
    assert f"MACs {MACS:,}" in result.stdout


def test_json_report(cli, small: Path) -> None:  # type: ignore[no-untyped-def]
    report = json.loads(cli("show", str(small), "--format", "json").stdout)
    assert report["totals"]["params"] == PARAMS and report["totals"]["buffers"] == BUFFERS
    assert report["totals"]["macs"] == MACS
    shapes = {x["name"]: x["output_shape"] for x in report["layers"]}
    assert shapes == {"x": [8, 8, 3], "conv1": [8, 8, 8], "bn1": [8, 8, 8], "relu1": [8, 8, 8], "pool1": [4, 4, 8],
                      "flat": [128], "fc": [10]}  # fmt: skip


def test_load_from_python_and_the_summary(small: Path) -> None:
    m = cnncalc.load(str(small))
    assert (m.totals.params, m.totals.buffers, m.totals.macs) == (PARAMS, BUFFERS, MACS)
    found = read_onnx(small)
    assert (found.params, found.buffers, found.constants, found.unused, found.opset) == (PARAMS, BUFFERS, 0, 0, 17)
    assert f"{PARAMS:,} params" in found.summary()


def test_the_spec_of_an_onnx_file_reads_back(cli, small: Path) -> None:  # type: ignore[no-untyped-def]
    spec = cli("show", str(small), "--format", "spec").stdout
    m = cnncalc.load(spec)
    assert (m.totals.params, m.totals.buffers, m.totals.macs) == (PARAMS, BUFFERS, MACS)


def test_external_data_beside_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ext.onnx"
    onnx.save_model(small_net().model(), str(path), save_as_external_data=True, location="ext.bin", size_threshold=0)
    assert (tmp_path / "ext.bin").stat().st_size > 0
    m = cnncalc.load(str(path))
    assert (m.totals.params, m.totals.buffers, m.totals.macs) == (PARAMS, BUFFERS, MACS)


def test_unused_initializers_are_named(tmp_path: Path) -> None:
    net = small_net()
    net.init("leftover", (5, 5))
    m, notes = load(net.save(tmp_path / "net.onnx", check=False))
    assert m.totals.params == PARAMS
    assert any("25 values in 1 initializers no node reads (leftover)" in n for n in notes)


# ----------------------------------------------------------------------------- broken files


def test_missing_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert "no such file" in refused(cli, tmp_path / "nothere.onnx")


@pytest.mark.parametrize("content", [b"", b"hello, not onnx\n", bytes(range(256)) * 4])
def test_not_onnx(cli, tmp_path: Path, content: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    message = refused(cli, path)
    assert "ONNX" in message


def test_truncated_files(cli, small: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = small.read_bytes()
    for cut in (20, len(data) // 2, len(data) - 1):  # every cut is tried through the API below
        path = tmp_path / f"cut{cut}.onnx"
        path.write_bytes(data[:cut])
        refused(cli, path)


def computed_net() -> Net:
    """Constants as nodes, computed pads, a reshape to a target made from Shape: the walk's own arithmetic."""
    from onnx import helper

    net = Net((1, 3, 8, 8))
    net.nodes.append(helper.make_node("Constant", [], ["half"], value=helper.make_tensor("h", 7, [4], [0, 0, 1, 1])))
    pads = net.node("Concat", ["half", "half"], name="pads", axis=0)
    a = net.node("Pad", ["x", pads], name="pad")
    a = net.node("Conv", [a, net.init("w", (4, 3, 3, 3))], name="conv", strides=[2, 2])
    batch = net.node("Gather", [net.node("Shape", [a]), net.ints("zero", [0])], axis=0)
    a = net.node("Reshape", [a, net.node("Concat", [batch, net.ints("rest", [-1])], axis=0)], name="flat")
    net.node("Gemm", [a, net.init("fw", (5, 64))], name="fc", transB=1)
    return net


@pytest.mark.filterwarnings("ignore::cnncalc.bridges.onnx_import.OnnxImportWarning")
@pytest.mark.parametrize("make", [small_net, computed_net])
def test_every_truncation_and_random_corruption_is_a_report_or_a_clear_error(tmp_path: Path, make: Any) -> None:
    """Through the API, so that thousands of files take seconds: only CnnCalcError may come out."""
    data = make().save(tmp_path / "net.onnx").read_bytes()
    rng = random.Random(8)
    blobs = [data[:cut] for cut in range(0, len(data), 4)]
    for _ in range(300):
        blob = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            blob[rng.randrange(len(blob))] = rng.randrange(256)
        blobs.append(bytes(blob))
    path = tmp_path / "f.onnx"
    outcomes = {"report": 0, "error": 0}
    for blob in blobs:
        path.write_bytes(blob)
        try:
            cnncalc.load(str(path))
            outcomes["report"] += 1
        except CnnCalcError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc)
            outcomes["error"] += 1
    assert outcomes["error"] >= len(data) // 4  # every cut is refused


def test_the_computed_net_itself(tmp_path: Path) -> None:
    m, _ = load(computed_net().save(tmp_path / "net.onnx"))
    assert [x.op for x in m.layers] == ["input", "conv", "flatten", "fc"]  # pads 1 folded: (8 + 2 - 3)//2 + 1 = 4
    assert [x.output.text() for x in m.layers] == ["8x8x3", "4x4x4", "64", "5"]


def test_a_constant_whose_data_does_not_fit_its_shape(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Found by fuzzing: a Constant node's tensor claiming 68 values but holding 4."""
    model = computed_net().model()
    model.graph.node[0].attribute[0].t.dims[0] = 68
    path = tmp_path / "bad_constant.onnx"
    onnx.save(model, str(path))
    message = refused(cli, path)
    assert "Constant" in message


def test_external_data_missing(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ext.onnx"
    onnx.save_model(small_net().model(), str(path), save_as_external_data=True, location="ext.bin", size_threshold=0)
    (tmp_path / "ext.bin").unlink()
    message = refused(cli, path)
    assert "external data file ext.bin" in message and "missing" in message


def test_external_data_cut_short(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "ext.onnx"
    onnx.save_model(small_net().model(), str(path), save_as_external_data=True, location="ext.bin", size_threshold=0)
    data = (tmp_path / "ext.bin").read_bytes()
    (tmp_path / "ext.bin").write_bytes(data[: len(data) // 2])
    assert "too short" in refused(cli, path)


def test_external_data_outside_the_folder(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = small_net().model()
    from onnx.external_data_helper import set_external_data

    set_external_data(model.graph.initializer[0], location="../../etc/passwd")
    model.graph.initializer[0].ClearField("raw_data")
    model.graph.initializer[0].ClearField("float_data")
    path = tmp_path / "sneaky.onnx"
    onnx.save(model, str(path))
    assert "outside its folder" in refused(cli, path)


def test_symbolic_height_and_width_ask_for_the_input(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    net = Net(("N", 3, "H", "W"))
    net.node("Conv", ["x", net.init("w", (4, 3, 3, 3))])
    path = net.save(tmp_path / "dynamic.onnx")
    message = refused(cli, path)
    assert "H, W not fixed" in message and "--input" in message


def test_a_node_reading_a_tensor_nothing_provides(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = small_net().model()
    model.graph.node[2].input[0] = "ghost"
    path = tmp_path / "broken.onnx"
    onnx.save(model, str(path))
    message = refused(cli, path)
    assert "'ghost'" in message and "relu1" in message


def test_a_model_with_no_opset(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = small_net().model()
    del model.opset_import[:]
    path = tmp_path / "noopset.onnx"
    onnx.save(model, str(path))
    assert "opset" in refused(cli, path)


def test_without_the_onnx_package(small: Path) -> None:
    code = (
        "import sys; sys.modules['onnx'] = None\n"  # makes `import onnx` fail as if it were not installed
        "from cnncalc.cli import main\n"
        f"main(['show', {str(small)!r}])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "reading ONNX files needs the onnx package, an optional extra: pip install 'cnncalc[onnx]'"
    )


def test_a_wrong_input_size_is_refused_not_miscounted(small: Path) -> None:
    with pytest.raises(CnnCalcError, match="input"):
        read_onnx(small, input="16x16")


def test_nodes_out_of_order_are_sorted(tmp_path: Path) -> None:
    model = small_net().model()
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(reversed(nodes))
    path = tmp_path / "reversed.onnx"
    onnx.save(model, str(path))
    m = cnncalc.load(str(path))
    assert [x.name for x in m.layers] == ["x", "conv1", "bn1", "relu1", "pool1", "flat", "fc"]
    assert (m.totals.params, m.totals.macs) == (PARAMS, MACS)


def test_a_cycle(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = small_net().model()
    model.graph.node[0].input[0] = model.graph.node[2].output[0]  # conv1 reads relu1's output
    path = tmp_path / "cycle.onnx"
    onnx.save(model, str(path))
    assert "cycle" in refused(cli, path)


def test_a_huge_constant_is_not_made(tmp_path: Path) -> None:
    """ConstantOfShape of 10^12 values: sized from its shape, never allocated (the test would run out of memory)."""
    net = Net((1, 3, 4, 4))
    shape = net.ints("huge", [1000000, 1000000])
    net.node("ConstantOfShape", [shape], name="zeros")
    net.node("Relu", ["x"], name="relu")
    m, _ = load(net.save(tmp_path / "huge.onnx", check=False))
    assert [x.op for x in m.layers] == ["input", "relu"]


def test_a_huge_shape_computed_at_load_does_not_hang(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Found by fuzzing: pads made by ConstantOfShape of a corrupted length (about 4e16) hung ONNX's data
    propagation; cnncalc folds such shape arithmetic itself and says it cannot work the pads out."""
    from onnx import helper

    net = Net((1, 3, 8, 8))
    big = helper.make_tensor("n", onnx.TensorProto.INT64, [1], [43 * 10**15])
    net.nodes.append(helper.make_node("Constant", [], ["n"], value=big))
    net.node("ConstantOfShape", ["n"], ["pads"], name="zeros")
    net.node("Pad", ["x", "pads"], ["padded"], name="pad")
    net.node("Relu", ["padded"], name="relu")
    path = net.save(tmp_path / "huge_pads.onnx", check=False)
    try:
        result = subprocess.run([sys.executable, "-m", "cnncalc.cli", "show", str(path)], capture_output=True,
                                text=True, timeout=60, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("cnncalc show hung on a huge computed shape")
    assert result.returncode == 2 and "'pad'" in result.stderr and "Traceback" not in result.stderr
