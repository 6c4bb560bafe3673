"""`cnncalc design` as a user runs it: formats, pasting a row, bad arguments, the progress bar and Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from design_oracle import brute_front, largest_rf

import cnncalc
from cnncalc.cli import main

# A front of two designs (3 layers, 18 choices a layer: 6,174 stacks for the brute force).
SMALL = ["--rf", "100", "--stride", "8", "--max-layers", "3", "--kernels", "3,5,7"]


def run(*args: str) -> object:
    return CliRunner().invoke(main, ["design", *args])


def test_table_rows_and_their_specs() -> None:
    result = run(*SMALL)
    assert result.exit_code == 0, result.output
    expected = brute_front(100, 8, 3, 64, 64, (3, 5, 7), (1, 2, 4), (1, 2))
    assert len(expected) == 2
    for i, e in enumerate(expected, start=1):
        row = f"│ {i} │     3 │ {e['rf']} │"
        assert row in result.stdout and f"{e['macs']:,}" in result.stdout and f"{e['params']:,}" in result.stdout
        assert f"#{i}: RF {e['rf']}, {e['macs']:,} MACs, {e['params']:,} params" in result.stdout
    assert "2 designs on the Pareto front" in result.stdout
    assert result.stderr == ""  # not a terminal: no progress bar


def test_a_pasted_row_gives_the_same_figures() -> None:
    stdout = run(*SMALL).stdout
    spec = stdout.split("#1: ", 1)[1].split("\n", 1)[1].split("\n\n", 1)[0] + "\n"
    assert spec.startswith("input 64x64x64\nconv 64 ")
    first = brute_front(100, 8, 3, 64, 64, (3, 5, 7), (1, 2, 4), (1, 2))[0]
    # `cnncalc show -` reads the pasted text
    shown = subprocess.run([sys.executable, "-m", "cnncalc.cli", "show", "-", "--format", "json"], input=spec,
                           capture_output=True, text=True, check=True)  # fmt: skip
    report = json.loads(shown.stdout)
    assert (report["totals"]["macs"], report["totals"]["params"]) == (first["macs"], first["params"])
    assert report["layers"][-1]["rf"]["size"] == first["rf"]


def test_json_and_md() -> None:
    data = json.loads(run(*SMALL, "--format", "json").stdout)
    expected = brute_front(100, 8, 3, 64, 64, (3, 5, 7), (1, 2, 4), (1, 2))
    assert [(r["macs"], r["params"], r["rf"]) for r in data["front"]] == [
        (e["macs"], e["params"], e["rf"]) for e in expected
    ]
    assert [tuple((x["k"], x["d"], x["s"]) for x in r["layers"]) for r in data["front"]] == [
        e["layers"] for e in expected
    ]
    for row in data["front"]:
        model = cnncalc.load(row["spec"])
        assert (model.totals.macs, model.totals.params) == (row["macs"], row["params"])
    assert data["search"]["complete"] is True and data["problem"]["kernels"] == [3, 5, 7]
    md = run(*SMALL, "--format", "md").stdout
    assert "| # | depth | RF | read | MACs | params | layers |" in md and md.count("```") == 4


def test_no_bias_and_read_share() -> None:
    # 1 layer, k=3, d=3, RF 7 on 8x8x2 without bias: params 2*2*9 = 36, MACs 8*8*2*2*9 = 2304; the unit reads
    # pixels 0, 3, 6 of 7 in each direction: (3/7)^2 = 18.4%.
    result = run("--rf", "7", "--max-layers", "1", "--kernels", "3", "--dilations", "1,3", "--channels", "2",
                 "--input", "8", "--no-bias")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "│ 1 │     1 │  7 │ 18.4% │ 2,304 │     36 │ k3 d3  │" in result.stdout
    assert "set bias=false\ninput 8x8x2\nconv 2 k=3 d=3 p=3\n" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rf", "0"], "--rf must be at least 1, got 0"),
        (["--rf", "10", "--kernels", "3,x"], "--kernels 3,x: write whole numbers separated by commas"),
        (["--rf", "10", "--dilations", "0,1"], "--dilations: every value must be at least 1, got 0"),
        (["--rf", "10", "--stride", "7"], "--stride 7 cannot be made from strides 1,2"),
        (["--rf", "10", "--stride", "64", "--max-layers", "4"], "--stride 64 needs 6 strided layers from strides 1,2"),
        (["--rf", "1"], "--rf 1 with --stride 1 needs no layer at all"),
        (["--rf", "10", "--max-layers", "1000"], "--max-layers 1000: at most 100"),
    ],
)
def test_bad_arguments_one_line_exit_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert result.stdout == ""


def test_unreachable_rf_names_the_largest() -> None:
    # Kernels 3 and 5, dilation 1 or 2, strides 1 or 2, total stride 2, at most 2 layers: the brute force's
    # largest RF is k5 d2 s2 then k5 d2: 1 + 4*2*1 + 4*2*2 = 25.
    most = largest_rf(2, 2, (3, 5), (1, 2), (1, 2))
    assert most == 25
    result = run("--rf", "26", "--stride", "2", "--max-layers", "2", "--kernels", "3,5", "--dilations", "1,2")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "--rf 26 is out of reach: with at most 2 layers, kernels 3,5, dilations 1,2, strides 1,2 and total stride 2, "
        "the largest reachable receptive field is 25; 3 layers would reach it"
    ]


def test_dense_impossible_is_one_line() -> None:
    # One 3x3 layer with dilation 1 or 3: RF 3 (no holes) or 7 (reads 0, 3, 6): RF 7 without holes is impossible.
    result = run("--rf", "7", "--max-layers", "1", "--kernels", "3", "--dilations", "1,3", "--dense")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "with a dense field" in lines[0] and "the largest reachable is 7" in lines[0]


def test_dense_option_matches_brute_force() -> None:
    data = json.loads(run("--rf", "30", "--stride", "4", "--max-layers", "4", "--kernels", "1,3,5",
                          "--channels", "8", "--input", "32", "--dense", "--format", "json").stdout)  # fmt: skip
    expected = brute_front(30, 4, 4, 8, 32, (1, 3, 5), (1, 2, 4), (1, 2), dense=True)
    assert [(r["macs"], r["params"], r["rf"], r["coverage"]) for r in data["front"]] == [
        (e["macs"], e["params"], e["rf"], 1.0) for e in expected
    ]


# A search that runs for many seconds (dense fields, 12 layers of 93 choices each) to interrupt.
LONG = ["design", "--rf", "500", "--stride", "32", "--max-layers", "12", "--kernels", "1,3,5,7,9,11",
        "--dilations", "1,2,3,4,6,8", "--strides", "1,2,4", "--dense"]  # fmt: skip


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_prints_the_best_so_far_and_exits_130() -> None:
    child = subprocess.Popen([sys.executable, "-m", "cnncalc.cli", *LONG, "--progress"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)  # fmt: skip
    assert child.stderr is not None
    seen = b""
    deadline = time.monotonic() + 30
    while b"design [" not in seen and time.monotonic() < deadline:  # the progress bar is drawn: the search runs
        seen += child.stderr.read1(4096)  # type: ignore[attr-defined]
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    stdout, stderr = out.decode(), (seen + err).decode()
    assert child.returncode == 130, stderr
    assert "found before the interrupt" in stdout and "not proven optimal" in stdout
    assert stderr.rstrip().splitlines()[-1].startswith("interrupted: the search stopped after ")
    assert "Traceback" not in stderr
    # every design printed is a real one: its spec loads to the figures in its title line
    for block in stdout.split("\n#")[1:]:
        title, spec = block.split("\n", 1)
        model = cnncalc.load(spec.split("\n\n")[0] + "\n")
        assert f"{model.totals.macs:,} MACs, {model.totals.params:,} params" in title
        field = model.layers[-1].rf.to_dict()
        assert field["size"] >= 500 and field["jump"] == 32 and f": RF {field['size']}, " in title
