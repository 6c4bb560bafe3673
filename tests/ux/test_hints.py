"""Where the user was close, the message says how to get there."""

from __future__ import annotations

from pathlib import Path


def test_kernel_written_without_its_key(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "lenet.cnn"
    spec.write_text("input 32x32x1\nconv 6 5x5\n", encoding="utf-8")
    result = cli("show", str(spec))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"{spec}:2:" in result.stderr and "`conv 6 k=5`" in result.stderr
    spec.write_text("input 32x32x1\nconv 6 3x5\n", encoding="utf-8")
    assert "`conv 6 k=3x5`" in cli("show", str(spec)).stderr


def test_check_says_when_a_size_does_not_divide(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # (32 - 3)/2 + 1 = 15.5: the output is floored to 15 and the last input row and column are never read.
    spec = tmp_path / "odd.cnn"
    spec.write_text("input 32x32x3\nconv 8 k=3 s=2\n", encoding="utf-8")
    result = cli("check", str(spec))
    assert result.returncode == 0
    assert "1 warning" in result.stdout and "15.50" in result.stdout and "floored to 15" in result.stdout
    spec.write_text("input 32x32x3\nconv 8 k=3 p=1\n", encoding="utf-8")
    assert "warning" not in cli("check", str(spec)).stdout


def test_another_convention_first(cli) -> None:  # type: ignore[no-untyped-def]
    # The pose homework counts weights only (6,260,320). 2,442,848 is that count with two slips (branches counted
    # once; a 3x3 kernel for a 5x5 one); asked as params, the answer names the convention before the slips.
    result = cli("check", "posenet", "--total", "2,442,848")
    assert result.returncode == 1
    diagnoses = [line.strip() for line in result.stdout.splitlines() if line.startswith("    ")]
    assert diagnoses and "weights only" in diagnoses[0] and "--of weights" in diagnoses[0]
    assert "no slip in the catalogue" not in result.stdout


def test_another_tools_total(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # ptflops counts a conv's MACs plus one per output element for its bias (conv_flops_counter_hook):
    # 8·8·8·3·3·3 = 13,824 MACs + 8·8·8 = 512 -> 14,336.
    spec = tmp_path / "conv.cnn"
    spec.write_text("input 8x8x3\nconv 8 k=3 p=1\n", encoding="utf-8")
    result = cli("check", str(spec), "--total", "14336", "--of", "macs")
    assert result.returncode == 1
    first = next(line for line in result.stdout.splitlines() if line.startswith("    "))
    assert "ptflops" in first


def test_the_other_figure_named(cli) -> None:  # type: ignore[no-untyped-def]
    # The pose network's MACs (159,528,960: 84,105,216 + 58,982,400 + 10,240,000 for the convs, 6,201,344 for the
    # fc layers) given as its params.
    assert 84_105_216 + 58_982_400 + 10_240_000 + 6_201_344 == 159_528_960
    result = cli("check", "posenet", "--total", "159,528,960")
    assert result.returncode == 1 and "the network's MACs" in result.stdout and "--of macs" in result.stdout
