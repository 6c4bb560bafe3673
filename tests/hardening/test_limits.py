"""The limits and defences of issue 15, each checked against an outside figure or rule: PyTorch on the meta device
for the numbers, OWASP's CSV-injection advice for the class file, torchvision's parameter counts after the server
empties its caches."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import CnnCalcError
from cnncalc.ir import MAX_SIZE
from cnncalc.spec import parse_spec

torch = pytest.importorskip("torch")

VGG16_PARAMS = 138_357_544  # tests/reference/torchvision_reference.csv
RESNET18_PARAMS = 11_689_512  # tests/reference/torchvision_reference.csv


@settings(max_examples=150, deadline=None)
@given(
    side=st.integers(1, 64),
    cin=st.integers(1, 8),
    cout=st.integers(1, 8),
    k=st.integers(1, 7),
    s=st.integers(1, 4),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
    bias=st.booleans(),
)
def test_conv_figures_are_pytorchs(side: int, cin: int, cout: int, k: int, s: int, p: int, d: int, bias: bool) -> None:
    """Shape and params of one conv against torch.nn.Conv2d on the meta device; a size PyTorch refuses is an error."""
    conv = torch.nn.Conv2d(cin, cout, k, s, p, d, bias=bias, device="meta")
    spec = f"input {side}x{side}x{cin}\nconv {cout} k={k} s={s} p={p} d={d} bias={'true' if bias else 'false'}\n"
    try:
        want = conv(torch.empty(1, cin, side, side, device="meta")).shape
    except RuntimeError:
        with pytest.raises(CnnCalcError):
            cnncalc.load(parse_spec(spec, source="t.cnn"))
        return
    model = cnncalc.load(parse_spec(spec, source="t.cnn"))
    layer = model.layers[-1]
    assert [layer.output.h, layer.output.w, layer.output.c] == [want[2], want[3], want[1]]
    assert layer.params == sum(t.numel() for t in conv.parameters())
    # MACs: every output value is one dot product of Cin*k*k terms (FlopCounterMode counts 2 per term).
    assert layer.macs == want.numel() * cin * k * k


@settings(max_examples=100, deadline=None)
@given(value=st.integers(MAX_SIZE + 1, 10**60))
def test_any_size_past_the_limit_is_one_clear_error(value: int) -> None:
    for spec in (f"input {value}x8x3\n", f"input 8x8x3\nconv {value} k=1\n", f"input 8x8x3\nconv 4 k=3 p={value}\n"):
        with pytest.raises(CnnCalcError) as caught:
            cnncalc.load(parse_spec(spec, source="t.cnn"))
        assert f"{MAX_SIZE:,}" in str(caught.value) and "\n" not in str(caught.value)


def test_grade_csv_cells_cannot_run_as_formulas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """OWASP: a cell starting with =, +, -, @, tab or CR is prefixed with ' so a spreadsheet shows it as text."""
    from click.testing import CliRunner

    from cnncalc.cli import main

    names = ["=cmd|' /C calc'!A0", "+1+1", "-2", "@SUM(A1)", "plain"]
    (tmp_path / "class.csv").write_text("student,total\n" + "".join(f'"{n}",1\n' for n in names), encoding="utf-8")
    result = CliRunner().invoke(main, ["grade", "lenet5", "--answers", str(tmp_path / "class.csv"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    written = [row[0] for row in csv.reader(io.StringIO(result.stdout))][1:]
    assert written == ["'=cmd|' /C calc'!A0", "'+1+1", "'-2", "'@SUM(A1)", "plain"]


def test_emptied_caches_give_the_same_figures() -> None:
    """The server empties cnncalc's caches past a size; figures loaded after that are still torchvision's."""
    from cnncalc.web.app import trim_caches

    assert cnncalc.load("vgg16").totals.params == VGG16_PARAMS
    assert trim_caches(limit=0)
    assert cnncalc.load("resnet18").totals.params == RESNET18_PARAMS
    assert cnncalc.load("vgg16").totals.params == VGG16_PARAMS
    assert trim_caches(limit=0)
    assert cnncalc.load("resnet18").totals.params == RESNET18_PARAMS
