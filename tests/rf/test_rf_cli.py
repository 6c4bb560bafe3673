"""`cnncalc rf` as a user runs it: formats, --input, --plot, errors. Figures by hand or from LeNet-5's layout."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

LENET = """\
input 32x32x1
c1: conv 6 k=5
s2: maxpool k=2
c3: conv 16 k=5
s4: maxpool k=2
flat: flatten
f5: fc 120
"""
# By hand: c1 R 5 J 1 P 0 (unit 0 sees 0..4); s2 R 5 + 1*1 = 6, J 2; c3 6 + 4*2 = 14, J 2; s4 14 + 1*2 = 16, J 4.
# s4 is 5x5 and its units see 0..15, 4..19, ..., 16..31: every input pixel, so f5 sees the whole input.


def test_table(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("rf", "-", stdin=LENET)
    assert done.returncode == 0, done.stderr
    lines = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]] for line in
             done.stdout.splitlines() if line.startswith("│ ")}  # fmt: skip
    assert lines["c1"][2:7] == ["5", "1", "0", "0..4", "0"]
    assert lines["s4"][2:7] == ["16", "4", "0", "0..15", "0"]
    assert lines["flat"][-1] == "flattened: positions become features"
    assert lines["f5"][2] == "whole input"
    assert done.stdout.startswith("stdin: receptive fields on a 32x32x1 input")


def test_json_csv_md(cli) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(cli("rf", "-", "--format", "json", stdin=LENET).stdout)
    c3 = next(x for x in data["layers"] if x["name"] == "c3")
    assert (c3["h"]["size"], c3["h"]["jump"], c3["h"]["effective_padding"]) == (14, 2, 0)
    assert (c3["h"]["first_pixel"], c3["h"]["last_pixel"]) == (0, 13)
    assert data["conventions"] and data["inputs"] == [{"name": "input", "shape": [32, 32, 1]}]
    rows = list(csv.DictReader(io.StringIO(cli("rf", "-", "--format", "csv", stdin=LENET).stdout)))
    s2 = next(r for r in rows if r["name"] == "s2")
    assert (s2["size_h"], s2["jump_w"], s2["last_pixel_w"]) == ("6", "2", "5")
    assert next(r for r in rows if r["name"] == "f5")["field"] == "global"
    md = cli("rf", "-", "--format", "md", stdin=LENET).stdout
    assert md.startswith("### stdin: receptive fields") and "| `s4` | maxpool | 5x5x16 | 16 | 4 | 0 |" in md


def test_input_override_and_asymmetric_axes(cli) -> None:  # type: ignore[no-untyped-def]
    # k=3x5 s=1x2 p=1x2: H R 3 J 1 P 1; W R 5 J 2 P 2. On 20x40 the W axis is 40 wide.
    spec = "input 8x8x1\na: conv 1 k=3x5 s=1x2 p=1x2\n"
    out = cli("rf", "-", "--input", "20x40x1", stdin=spec).stdout
    row = next(line for line in out.splitlines() if line.startswith("│ a "))
    assert [c.strip() for c in row.split("│")[4:8]] == ["3x5", "1x2", "1x2", "-1..1 x -2..2"]
    assert "20x40x1 input" in out


def test_zoo_options_and_errors(cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("rf", "googlenet", "aux=true").returncode == 0
    for args in (("no_such_net",), ("vgg16", "aux"), ("vgg16", "--input", "axb")):
        done = cli("rf", *args)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_plot_writes_a_png(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    target = tmp_path / "rf.png"
    done = cli("rf", "vgg16", "--plot", str(target))
    assert done.returncode == 0, done.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in done.stderr
    assert "pool5" in done.stdout  # the table is printed as well


def test_plot_into_a_missing_folder_is_a_clear_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    done = cli("rf", "vgg16", "--plot", str(tmp_path / "nowhere" / "rf.png"))
    assert done.returncode == 2 and "cannot write the plot" in done.stderr and "Traceback" not in done.stderr


BLOCK_MATPLOTLIB = """
import sys

class NoMatplotlib:
    def find_spec(self, name, path=None, target=None):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("matplotlib is blocked for this test")
        return None

sys.meta_path.insert(0, NoMatplotlib())
"""


def test_plot_without_matplotlib_names_the_extra(tmp_path: Path) -> None:
    script = BLOCK_MATPLOTLIB + textwrap.dedent(
        f"""
        sys.argv = ["cnncalc", "rf", "vgg16", "--plot", {str(tmp_path / "rf.png")!r}]
        from cnncalc.cli import main
        main()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert "pip install 'cnncalc[plot]'" in done.stderr and "Traceback" not in done.stderr
    assert done.stdout == ""


def test_startup_imports_neither_matplotlib_nor_torch() -> None:
    script = (
        "import sys\nfrom cnncalc.cli import main\n"
        "print(sorted(m for m in ('matplotlib', 'torch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
