"""`cnncalc show --explain`: the worked solution from the command line, in its three formats."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def test_explain_text(cli) -> None:
    out = cli("show", "alexnet_caffe", "--explain")
    assert out.returncode == 0
    # The slides' conv1: (227 - 11)/4 + 1 = 55, (11x11x3)x96 + 96 = 34,944.
    assert "(227 - 11)/4 + 1 = 55" in out.stdout
    assert "34,848 + 96 = 34,944" in out.stdout


def test_explain_markdown_and_latex(cli, tmp_path: Path) -> None:
    md = cli("show", "lenet5", "--explain", "--format", "md")
    assert md.returncode == 0 and "c3" in md.stdout
    tex = cli("show", "lenet5", "--format", "latex")  # LaTeX is always the worked solution
    assert tex.returncode == 0
    assert tex.stdout.startswith("\\documentclass") and tex.stdout.rstrip().endswith("\\end{document}")
    assert tex.stdout == cli("show", "lenet5", "--explain", "--format", "latex").stdout
    if shutil.which("pdflatex") is None:
        pytest.skip("pdflatex is not installed (make test installs Debian's texlive-latex-base)")
    (tmp_path / "lenet5.tex").write_text(tex.stdout, encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "lenet5.tex"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "lenet5.pdf").stat().st_size > 0


def test_explain_refuses_other_formats(cli) -> None:
    out = cli("show", "lenet5", "--explain", "--format", "json")
    assert out.returncode == 2 and "--explain prints" in out.stderr
