"""`cnncalc matrix`: the notes' worked examples, and small cases worked out by hand, written out in full here.

Notes (001_98b6a54e5a2089f3.txt, question 6 of the matrix part): a 1-D convolution of x1..x4 with w1, w2, w3 and
padding 1, written on the zero-padded input [0, x1, x2, x3, x4, 0]; its equations y1..y4 and the boxed gradients
dL/dx1..dL/dx4. (The notes' matrix has a stray fifth row, 0 0 0 0 w1 w2, for four outputs; their four equations
are those of the 4x6 matrix below.) Then a transposed convolution of x1..x4 with a, b, c giving y1..y6.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from cnncalc.teach.matrix import Numeric, conv_matrix, conv_transpose_matrix, render, to_dict

Z = "0"


def _names(m, entries):  # type: ignore[no-untyped-def]
    return [[Z if k is None else m.w_name(k) for k in row] for row in entries]


def test_notes_conv_matrix_on_the_padded_input() -> None:
    m = conv_matrix(4, 3, pad=1)
    labels, entries = m.padded()  # type: ignore[misc]
    assert labels == ["0", "x1", "x2", "x3", "x4", "0"]
    assert _names(m, entries) == [
        ["w1", "w2", "w3", Z, Z, Z],
        [Z, "w1", "w2", "w3", Z, Z],
        [Z, Z, "w1", "w2", "w3", Z],
        [Z, Z, Z, "w1", "w2", "w3"],
    ]


def test_notes_conv_matrix_equations_and_gradients() -> None:
    m = conv_matrix(4, 3, pad=1)
    assert m.output == (4,)
    assert _names(m, m.entries) == [
        ["w2", "w3", Z, Z],
        ["w1", "w2", "w3", Z],
        [Z, "w1", "w2", "w3"],
        [Z, Z, "w1", "w2"],
    ]
    text = render(m)
    for line in (
        "y1 = w2·x1 + w3·x2",
        "y2 = w1·x1 + w2·x2 + w3·x3",
        "y3 = w1·x2 + w2·x3 + w3·x4",
        "y4 = w1·x3 + w2·x4",
        "dL/dx1 = dL/dy1·w2 + dL/dy2·w1",
        "dL/dx2 = dL/dy1·w3 + dL/dy2·w2 + dL/dy3·w1",
        "dL/dx3 = dL/dy2·w3 + dL/dy3·w2 + dL/dy4·w1",
        "dL/dx4 = dL/dy3·w3 + dL/dy4·w2",
    ):
        assert f"  {line}\n" in text


def test_notes_transposed_convolution() -> None:
    """The notes' y = [[a,0,0,0],[b,a,0,0],[c,b,a,0],[0,c,b,a],[0,0,c,b],[0,0,0,c]] x, a, b, c being w1, w2, w3."""
    m = conv_transpose_matrix(4, 3)
    assert m.output == (6,)
    a, b, c = "w1", "w2", "w3"
    assert _names(m, m.entries) == [
        [a, Z, Z, Z],
        [b, a, Z, Z],
        [c, b, a, Z],
        [Z, c, b, a],
        [Z, Z, c, b],
        [Z, Z, Z, c],
    ]
    text = render(m)
    for line in ("y1 = w1·x1", "y3 = w3·x1 + w2·x2 + w1·x3", "y6 = w3·x4"):
        assert f"  {line}\n" in text
    assert "transpose of the matrix of conv with input 6, kernel 3, stride 1, padding 0" in text


def test_numeric_by_hand() -> None:
    # w = (1, 2, 3), x = (1, 2, 3, 4), padding 1: y1 = 2·1 + 3·2 = 8, y2 = 1 + 4 + 9 = 14, y3 = 2 + 6 + 12 = 20,
    # y4 = 3 + 8 = 11; with dL/dy = (1, 0, 0, -1): dL/dx1 = 1·2 = 2, dL/dx2 = 1·3 = 3, dL/dx3 = -1·1, dL/dx4 = -1·2.
    m = conv_matrix(4, 3, pad=1)
    assert m.numeric([1, 2, 3]) == [[2, 3, 0, 0], [1, 2, 3, 0], [0, 1, 2, 3], [0, 0, 1, 2]]
    assert m.forward([1, 2, 3], [1, 2, 3, 4]) == [8, 14, 20, 11]
    assert m.input_grad([1, 2, 3], [1, 0, 0, -1]) == [2, 3, -1, -2]
    text = render(m, numeric=Numeric([1, 2, 3], [1, 2, 3, 4], [1, 0, 0, -1]))
    assert "y = M x = (8, 14, 20, 11)" in text
    assert "  y1 = 2·1 + 3·2 = 8\n" in text
    assert "dL/dx = Mᵀ dL/dy = (2, 3, -1, -2)" in text


def test_stride_and_floored_output() -> None:
    # input 5, kernel 3, stride 2: windows x1..x3 and x3..x5
    m = conv_matrix(5, 3, stride=2)
    assert _names(m, m.entries) == [["w1", "w2", "w3", Z, Z], [Z, Z, "w1", "w2", "w3"]]
    # input 6: (6 - 3)/2 = 1.5, floored: x6 is read by no window, its column is all 0
    m = conv_matrix(6, 3, stride=2)
    assert _names(m, m.entries) == [["w1", "w2", "w3", Z, Z, Z], [Z, Z, "w1", "w2", "w3", Z]]
    assert m.unread == (1,)
    assert "dL/dx6 = 0" in render(m)
    assert "read by no window" in render(m)


def test_dilation_by_hand() -> None:
    # input 5, kernel 2, dilation 3: y1 = w1·x1 + w2·x4, y2 = w1·x2 + w2·x5
    m = conv_matrix(5, 2, dilation=3)
    assert _names(m, m.entries) == [["w1", Z, Z, "w2", Z], [Z, "w1", Z, Z, "w2"]]


def test_conv2d_by_hand() -> None:
    # 3x3 input, 2x2 kernel: y11 sees x11 x12 x21 x22; y12 sees x12 x13 x22 x23; y21 x21 x22 x31 x32; y22 x22..x33
    m = conv_matrix((3, 3), (2, 2))
    assert m.x_names() == ["x11", "x12", "x13", "x21", "x22", "x23", "x31", "x32", "x33"]
    assert m.y_names() == ["y11", "y12", "y21", "y22"]
    assert _names(m, m.entries) == [
        ["w11", "w12", Z, "w21", "w22", Z, Z, Z, Z],
        [Z, "w11", "w12", Z, "w21", "w22", Z, Z, Z],
        [Z, Z, Z, "w11", "w12", Z, "w21", "w22", Z],
        [Z, Z, Z, Z, "w11", "w12", Z, "w21", "w22"],
    ]
    assert "  dL/dx22 = dL/dy11·w22 + dL/dy12·w21 + dL/dy21·w12 + dL/dy22·w11\n" in render(m)


def test_conv_transpose_stride_by_hand() -> None:
    # input 2, kernel 3, stride 2: x1 spreads over y1..y3, x2 over y3..y5; (2 - 1)·2 + 3 = 5
    m = conv_transpose_matrix(2, 3, stride=2)
    assert _names(m, m.entries) == [["w1", Z], ["w2", Z], ["w3", "w1"], [Z, "w2"], [Z, "w3"]]
    # padding 1 crops y1 and y5; output padding 1 adds a row at the end: (2 - 1)·2 - 2 + 3 + 1 = 4
    m = conv_transpose_matrix(2, 3, stride=2, pad=1, output_padding=1)
    assert _names(m, m.entries) == [["w2", Z], ["w3", "w1"], [Z, "w2"], [Z, "w3"]]
    assert "(2 - 1)×2 - 2×1 + 3 + 1 = 4" in render(m)


def test_json_form() -> None:
    d = to_dict(conv_matrix(4, 3, pad=1), Numeric([1, 2, 3], [1, 2, 3, 4]))
    assert d["output"] == [4]
    assert d["matrix"][0] == ["w2", "w3", "0", "0"]  # type: ignore[index]
    assert d["equations"]["y1"] == [["w2", "x1"], ["w3", "x2"]]  # type: ignore[index]
    assert d["gradients"]["dL/dx1"] == [["dL/dy1", "w2"], ["dL/dy2", "w1"]]  # type: ignore[index]
    assert d["numeric"]["y"] == [8, 14, 20, 11]  # type: ignore[index]
    assert d["padded"]["columns"] == ["0", "x1", "x2", "x3", "x4", "0"]  # type: ignore[index]
    t = to_dict(conv_transpose_matrix(3, 3, stride=2, pad=1, output_padding=1))
    assert t["output"] == [6] and t["transpose_of"]["input"] == [6]  # type: ignore[index]
    # exact fractions stay exact in text, floats in JSON
    m = conv_matrix(2, 1)
    assert "y = M x = (1/3, -0.5)" in render(m, numeric=Numeric([Fraction(1, 3)], [1, Fraction(-3, 2)]))
    assert json.loads(render(m, "json", Numeric([Fraction(1, 2)], [1, 1])))["numeric"]["y"] == [0.5, 0.5]


# ----------------------------------------------------------------------------- the command


def test_cli_conv_text(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("matrix", "conv", "--input", "4", "--kernel", "3", "--pad", "1")
    assert out.returncode == 0, out.stderr
    assert "y2 = w1·x1 + w2·x2 + w3·x3" in out.stdout
    assert "on the zero-padded input, as worked by hand (4x6)" in out.stdout
    assert "N_out = floor((N + 2P - D(K - 1) - 1)/S) + 1 = 4 + 2×1 - 3 + 1 = 4" in out.stdout


def test_cli_conv_transpose_and_aliases(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli(
        "matrix", "convT", "--input", "4", "--kernel", "3", "--stride", "2", "--pad", "1", "--output-padding", "1"
    )
    assert out.returncode == 0, out.stderr
    assert "(4 - 1)×2 - 2×1 + 3 + 1 = 8" in out.stdout  # PyTorch's formula: 6 - 2 + 2 + 1 + 1
    assert "transpose of the matrix of conv with input 8" in out.stdout
    plain = cli("matrix", "convT", "--input", "4", "-k", "3").stdout
    assert cli("matrix", "deconv", "--input", "4", "-k", "3").stdout == plain
    assert cli("matrix", "convt", "--input", "4", "-k", "3").stdout == plain


def test_cli_numeric_2d(cli) -> None:  # type: ignore[no-untyped-def]
    # 2x2 input [[1, 2], [3, 4]], 2x2 kernel [[1, 0], [0, -1]]: one output, 1·1 + (-1)·4 = -3
    out = cli(
        "matrix",
        "conv",
        "--input",
        "2x2",
        "--kernel",
        "2x2",
        "--numeric",
        "--weights",
        "1,0,0,-1",
        "--x",
        "1,2,3,4",
        "--format",
        "json",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["numeric"]["y"] == [-3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["conv", "--input", "100", "-k", "3"], "try --input 64"),
        (["conv", "--input", "9x9", "-k", "3", "-p", "1"], "try --input 8x8"),
        (["convT", "--input", "40", "-k", "3", "-s", "2"], "at most 64x64"),
        (["conv", "--input", "4", "-k", "7"], "kernel 7 is larger"),
        (["conv", "--input", "4", "-k", "3x3"], "kernel 3x3 has 2 axes"),
        (["conv", "--input", "4x4x4", "-k", "3"], "1-D (N) or 2-D (HxW) only"),
        (["conv", "--input", "four", "-k", "3"], "is not a size"),
        (["conv", "--input", "4", "-k", "3", "-s", "0"], "stride must be at least 1"),
        (["convT", "--input", "4", "-k", "3", "-s", "2", "--output-padding", "2"], "output padding 2 must be"),
        (["convT", "--input", "2", "-k", "3", "-p", "3"], "removes more than"),
        (["conv", "--input", "4", "-k", "3", "--weights", "1,2"], "takes 3 values"),
        (["conv", "--input", "4", "-k", "3", "--weights", "1,2,x"], "is not a number"),
        (["conv", "--input", "4", "-k", "3", "--numeric"], "need --weights"),
        (["conv", "--input", "4", "-k", "3", "--weights", "1,2,3", "--x", "1,2"], "takes 4 values"),
        (["conv", "--input", "4", "-k", "3", "--weights", "1,2,3", "--dy", "1"], "takes 2 values"),
    ],
)
def test_cli_bad_arguments(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    out = cli("matrix", *args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr


def test_cli_markdown(cli) -> None:  # type: ignore[no-untyped-def]
    out = cli("matrix", "conv", "--input", "4", "-k", "3", "-p", "1", "--format", "md")
    assert out.returncode == 0
    assert "| **y1** | w2 | w3 | 0 | 0 |" in out.stdout
    assert "- `dL/dx1 = dL/dy1·w2 + dL/dy2·w1`" in out.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["conv", "--input", "4", "-k", "3", "-p", "1"],
        ["conv", "--input", "4x4", "-k", "3", "-p", "1", "--padded"],
        ["convT", "--input", "3x3", "-k", "2", "-s", "2"],
        ["conv", "--input", "4", "-k", "3", "--weights", "1/3,2,-3", "--x", "1,2,3,4", "--dy", "1,-1"],
        ["conv", "--input", "64", "-k", "64"],
    ],
)
def test_cli_latex_compiles(cli, tmp_path: Path, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    out = cli("matrix", *args, "--format", "latex")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("\\documentclass") and out.stdout.rstrip().endswith("\\end{document}")
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (make test installs Debian's texlive-latex-base)")
    (tmp_path / "m.tex").write_text(out.stdout, encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "m.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert "Overfull" not in (tmp_path / "m.log").read_text(encoding="utf-8", errors="replace")
