"""`cnncalc cost` against the Persian notes (001_98b6a54e5a2089f3.txt, question 6) and hand arithmetic.

The notes, part 3-1: FLOPs_std = H·W·C_in·C_out·k², FLOPs_sep = H·W·C_in·(k² + C_out), so
sep / std = 1/C_out + 1/k². Part 3-3: an SE block with C = 64, r = 16 costs 2·C²/r + C·H·W = 512 + 64·H·W
against a depthwise-separable conv of 4672·H·W (64·9 + 64·64 = 4672 a position), a ratio
(512 + 64·H·W) / (4672·H·W): 1.59% at 7x7, ≈ 1.43% at 14x14, ≈ 1.37% at 224x224 and as H, W → ∞.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from cnncalc.errors import CnnCalcError
from cnncalc.teach.cost import compare

# The notes' figures, as printed there (percent, two decimals).
NOTES_RATIO = {7: 1.59, 14: 1.43, 224: 1.37}
NOTES_LIMIT = 1.37


def test_se_against_separable_as_the_notes_work_it() -> None:
    c = compare(7, 7, 64, 64, 3, r=16)
    se, sep = c.block("se"), c.block("separable")
    assert se.macs.value == 2 * 64 * 64 // 16 == 512  # the two FCs: 64·4 + 4·64
    assert se.model.totals.macs == 512
    per_position = 64 * 9 + 64 * 64
    assert per_position == 4672
    assert sep.model.totals.macs == 4672 * 7 * 7
    notes = {row.h: row for row in c.se_by_size}
    for hw, printed in NOTES_RATIO.items():
        row = notes[hw]
        assert row.se_notes == 512 + 64 * hw * hw
        assert row.ratio_notes == Fraction(512 + 64 * hw * hw, 4672 * hw * hw)
        assert round(100 * float(row.ratio_notes), 2) == printed
    assert c.limit.value == Fraction(64, 4672)
    assert round(100 * float(c.limit.value), 2) == NOTES_LIMIT
    # The same ratio among the ratios of the 7x7 case: (512 + 3136) / 228928 = 3648 / 228928.
    ratio = c.ratio("SE / separable, with the scale (FCs + C·H·W)")
    assert ratio.counts == (3648, 228928)
    # Counted as cnncalc counts (FCs only), the SE block is far cheaper: 512 / 228928.
    assert c.ratio("SE / separable, MACs (the FCs only)").value == Fraction(512, 228928)


@pytest.mark.parametrize(("c_in", "c_out", "k"), [(64, 64, 3), (32, 128, 3), (16, 24, 5), (8, 8, 7), (3, 16, 1)])
def test_separable_over_standard_is_one_over_cout_plus_one_over_k2(c_in: int, c_out: int, k: int) -> None:
    c = compare(14, 14, c_in, c_out, k, r=4)
    expected = Fraction(1, c_out) + Fraction(1, k * k)
    std, sep = c.block("standard"), c.block("separable")
    assert std.model.totals.macs == 14 * 14 * c_in * c_out * k * k
    assert sep.model.totals.macs == 14 * 14 * c_in * (k * k + c_out)
    assert Fraction(sep.model.totals.macs, std.model.totals.macs) == expected
    assert Fraction(sep.model.totals.params, std.model.totals.params) == expected
    assert c.ratio("separable / standard, MACs").value == expected
    assert c.ratio("separable / standard, MACs").formula.value == expected


def test_inverted_residual_by_hand() -> None:
    # 14x14x64, t = 6: expand 64 -> 384 (1x1), 3x3 depthwise on 384, project 384 -> 64 (1x1), residual add.
    # expand: 14·14·64·384 = 4,816,896; depthwise: 14·14·384·9 = 677,376; project: 14·14·384·64 = 4,816,896.
    c = compare(14, 14, 64, 64, 3, t=6)
    ir = c.block("inverted_residual")
    assert ir.model.totals.macs == 4_816_896 + 677_376 + 4_816_896 == 10_311_168
    assert ir.model.totals.params == 64 * 384 + 384 * 9 + 384 * 64 == 52_608
    assert any(x.op == "add" for x in ir.model.layers)
    # The notes' H·W·(C_in²·t + C_in·t·k²) leaves out the projection: 14·14·(64²·6 + 64·6·9) = 5,494,272.
    assert ir.model.totals.macs - 14 * 14 * (64 * 64 * 6 + 64 * 6 * 9) == 14 * 14 * 6 * 64 * 64
    assert c.ratio("inverted residual / standard, MACs").value == Fraction(10_311_168, 7_225_344)


def test_inverted_residual_with_stride_2() -> None:
    # 14x14x32 -> 64 channels, stride 2, t = 6: expand at 14x14, depthwise and project at 7x7, no residual.
    # expand: 14·14·32·192 = 1,204,224; depthwise: 7·7·192·9 = 84,672; project: 7·7·192·64 = 602,112.
    c = compare(14, 14, 32, 64, 3, t=6, stride=2)
    assert (c.h_out, c.w_out) == (7, 7)
    ir = c.block("inverted_residual")
    assert ir.model.totals.macs == 1_204_224 + 84_672 + 602_112
    assert not any(x.op == "add" for x in ir.model.layers)
    assert "H_in" in ir.macs.formula
    assert c.block("standard").model.totals.macs == 7 * 7 * 32 * 64 * 9


def test_no_expansion_is_the_separable_conv() -> None:
    c = compare(14, 14, 32, 32, 3, t=1)
    assert c.block("inverted_residual").model.totals.macs == c.block("separable").model.totals.macs
    assert c.block("inverted_residual").model.totals.params == 32 * 9 + 32 * 32


def test_se_params_and_biases() -> None:
    # FC 64 -> 4 and FC 4 -> 64: weights 2·64²/16 = 512, biases 4 + 64 = 68.
    se = compare(7, 7, 64, 64, 3, r=16).block("se")
    assert se.model.totals.weights == 512
    assert se.model.totals.biases == 68
    assert se.params.value == 580


def test_cli_text_shows_the_notes_figures(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("cost", "--hw", "7", "--cin", "64", "--cout", "64", "-k", "3", "--r", "16", "--all")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "2·C²/r = 2·64·64 / 16 = 512" in out
    assert "4,672" in out
    for figure in ("1.59%", "1.43%", "1.37%"):
        assert figure in out
    assert "1/C_out + 1/k² = 1 / 64 + 1 / (3·3) = 73/576" in out  # 1/64 + 1/9 = (9 + 64)/576


def test_cli_json_and_md(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("cost", "--hw", "14", "--cin", "64", "--cout", "64", "-k", "3", "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    blocks = {b["key"]: b for b in data["blocks"]}
    assert blocks["standard"]["macs"]["value"] == 14 * 14 * 64 * 64 * 9
    assert blocks["separable"]["engine"]["macs"] == 14 * 14 * 64 * 73
    assert data["ratios"][0]["value"] == "73/576"
    md = cli("cost", "--hw", "14", "--cin", "64", "--cout", "64", "--format", "md", "--se-sizes")
    assert md.returncode == 0 and "| H x W |" in md.stdout


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--hw", "14", "--cin", "64", "--cout", "64", "--r", "5"], "must divide --cout 64"),
        (["--hw", "14", "--cin", "64", "--cout", "64", "-k", "4"], "odd kernel"),
        (["--hw", "big", "--cin", "64", "--cout", "64"], "--hw big"),
        (["--hw", "14", "--cin", "0", "--cout", "64"], "--cin 0"),
        (["--hw", "14", "--cin", "64", "--cout", "64", "--stride", "0"], "--stride 0"),
        (["--cin", "64", "--cout", "64"], "--hw"),
        (["--hw", "14", "--cin", "x", "--cout", "64"], "--cin"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args: list[str], phrase: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("cost", *args)
    assert result.returncode == 2
    assert phrase in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_input_from_python() -> None:
    with pytest.raises(CnnCalcError, match="must divide"):
        compare(14, 14, 64, 60, 3, r=16)
