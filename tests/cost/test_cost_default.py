"""`cnncalc cost` answers what was asked: a kxk convolution's params, MACs and FLOPs; the other blocks on request.

Figures by hand: a 3x3 conv 64 -> 128 on 56x56 (stride 1, padding 1) has 3·3·64·128 = 73,728 weights and
56·56·128 output values, each 3·3·64 = 576 multiply-accumulates: 231,211,008 MACs, 462,422,016 FLOPs.
"""

from __future__ import annotations

import pytest

ASK = ("cost", "--hw", "56", "--cin", "64", "--cout", "128", "-k", "3")


def test_default_is_the_conv_asked_for_with_macs_and_flops(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*ASK)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "73,728" in out and "231,211,008" in out and "462,422,016" in out
    for other in ("depthwise", "inverted residual", "squeeze-and-excitation", "\nratios\n", "SE on an"):
        assert other not in out, other
    assert len(out.splitlines()) <= 20
    assert "--all" in out  # says how to get the rest


@pytest.mark.parametrize(
    ("extra", "present", "absent"),
    [
        (("--block", "separable"), "depthwise-separable", "inverted residual"),
        (("-t", "6"), "inverted residual", "squeeze-and-excitation"),
        (("-r", "16"), "squeeze-and-excitation", "inverted residual"),
        (("--se-sizes",), "SE on an H x W", "inverted residual"),
        (("--all",), "inverted residual", "no such text"),
    ],
)
def test_the_rest_behind_options(cli, extra: tuple[str, ...], present: str, absent: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(*ASK, *extra)
    assert result.returncode == 0, result.stderr
    assert present in result.stdout
    assert absent not in result.stdout


def test_depthwise_separable_by_hand(cli) -> None:  # type: ignore[no-untyped-def]
    # 3·3·64 depthwise + 64·128 pointwise = 576 + 8,192 = 8,768 a position; 56·56 positions: 27,496,448 MACs.
    out = cli(*ASK, "--block", "separable").stdout
    assert "8,768" in out and "27,496,448" in out and "54,992,896" in out


def test_no_working_words(cli) -> None:  # type: ignore[no-untyped-def]
    for extra in ((), ("--all",), ("--all", "--format", "md"), ("--all", "--format", "json")):
        out = cli(*ASK, *extra).stdout.lower()
        for word in ("notes", "seed", "slides"):
            assert word not in out, (extra, word)
