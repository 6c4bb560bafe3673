"""The README's first screen takes a newcomer from a fresh clone to their own model's table: the two commands, how
to put `cnncalc` on the PATH, their own spec, their own PyTorch model (with PyTorch's CPU build), each of which
runs as written."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import TESTS

ROOT = TESTS.parent
FIRST_SCREEN = 60  # lines


def _first_screen() -> str:
    return "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN])


def test_the_steps_in_order() -> None:
    text = _first_screen()
    steps = [
        "make demo",
        "make test",
        ". .venv/bin/activate",
        ".venv/bin/cnncalc",
        "cnncalc show my.cnn",
        "pip install torch --index-url https://download.pytorch.org/whl/cpu",
        "cnncalc[torch]",
        "cnncalc show my_model.py:Net --input 3x224x224 --layout chw",
        "constraints.txt",
    ]
    places = [text.find(step) for step in steps]
    assert all(p >= 0 for p in places), [s for s, p in zip(steps, places, strict=True) if p < 0]
    assert places[:3] == sorted(places[:3]) and places[2] < places[4] < places[7]


def test_make_demo_says_how_to_reach_cnncalc() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/cnncalc show posenet" in recipe
    assert re.search(r"echo .*\. \$\(VENV\)/bin/activate", recipe)
    assert re.search(r"echo .*\$\(BIN\)/cnncalc", recipe)


def test_the_spec_on_the_first_screen(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    line = next(x for x in _first_screen().splitlines() if x.startswith("printf "))
    printf = shlex.split(line.split(">")[0])
    spec = subprocess.run(printf, capture_output=True, text=True, check=True).stdout
    (tmp_path / "my.cnn").write_text(spec, encoding="utf-8")
    result = cli("show", str(tmp_path / "my.cnn"))
    assert result.returncode == 0, result.stderr
    # conv1: 3·3·3·16 + 16 = 448 on 32x32 (padding 1); pool to 16x16x16; flatten 4,096; fc 4,096·10 + 10 = 40,970.
    assert "448" in result.stdout and "40,970" in result.stdout and "41,418" in result.stdout


def test_the_pytorch_model_on_the_first_screen(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("torch")
    (tmp_path / "my_model.py").write_text(
        "from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self) -> None:\n        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, 8, 3, padding=1)\n\n    def forward(self, x):\n        return self.conv(x)\n",
        encoding="utf-8",
    )
    line = next(x for x in _first_screen().splitlines() if "my_model.py:Net" in x)
    args = shlex.split(line.split("#")[0])[1:]
    args[1] = str(tmp_path / "my_model.py") + ":Net"
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert "8x224x224" in result.stdout and "224x224x8" not in result.stdout  # --layout chw: PyTorch's order
    assert "params 224 " in result.stdout  # 3·3·3·8 weights + 8 biases
