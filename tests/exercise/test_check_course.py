"""`cnncalc check NAME ... --answer` checks the course's calculations as `cnncalc NAME` does; the right figures
come from PyTorch (cross-entropy, batch norm's biased variance, autograd through a chain)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


def test_check_loss_names_the_log_base(cli) -> None:  # type: ignore[no-untyped-def]
    scores = [-2.85, 0.86, 0.28]
    right = torch.nn.functional.cross_entropy(torch.tensor([scores]), torch.tensor([2])).item()
    wrong = right / 2.302585  # the same loss in log base 10
    result = cli("check", "loss", "--scores", "-2.85,0.86,0.28", "--label", "2", "--answer", f"ce={wrong:.3f}")
    assert result.returncode == 1, result.stderr
    assert f"the right figure is {right:.4f}" in result.stdout
    assert "log base 10" in result.stdout
    good = cli("check", "loss", "--scores", "-2.85,0.86,0.28", "--label", "2", "--answer", f"ce={right:.4f}")
    assert good.returncode == 0 and "1 of 1 answers right" in good.stdout


def test_check_batchnorm_names_the_unbiased_variance(cli) -> None:  # type: ignore[no-untyped-def]
    batch = torch.tensor([1.0, 2.0, 3.0, 6.0])
    unbiased = batch.var(unbiased=True).item()
    result = cli("check", "batchnorm", "--batch", "1,2,3,6", "--answer", f"var={unbiased:.4f}")
    assert result.returncode == 1
    xhat = torch.nn.functional.batch_norm(batch.view(4, 1), None, None, training=True, eps=1e-12).flatten()
    biased = ((batch[0] - batch.mean()) / xhat[0]).item() ** 2  # the variance batch norm divided by
    assert f"the right figure is {round(biased, 4):g}" in result.stdout and "unbiased" in result.stdout


def test_check_chain_with_a_skip(cli) -> None:  # type: ignore[no-untyped-def]
    x = torch.tensor(1.0, requires_grad=True)
    y = x * 0.8 * 0.2 * 0.8
    (y + x).backward()
    assert x.grad is not None
    result = cli("check", "chain", "--local", "0.8,0.2,0.8", "--answer", f"grad_skip={x.grad.item():.3f}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_still_reads_a_spec_file_named_like_a_command(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loss").write_text("input 8x8x1\nconv 4 k=3\n", encoding="utf-8")
    result = cli("check", "loss", "--total", "40")
    assert result.returncode == 0, result.stderr
