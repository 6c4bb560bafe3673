"""The course's other calculations against outside figures (a lecture's softmax example, the skip-connection example
0.8 x 0.2 x 0.8 = 0.128 and 1.128) and against PyTorch (torch.nn.functional, autograd, numel, FlopCounterMode)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from cnncalc.render.course import render_latex
from cnncalc.teach.course import (
    batch_norm,
    chain_gradient,
    check_answer,
    hinge,
    linear_scores,
    low_rank,
    regression,
    softmax_cross_entropy,
)

torch = pytest.importorskip("torch")
F = torch.nn.functional

SLIDE_SCORES = [-2.85, 0.86, 0.28]
SLIDE_PROBABILITIES = [0.016, 0.631, 0.353]  # the lecture slide's softmax of these scores, rounded by hand


def test_softmax_matches_the_lecture_slide() -> None:
    w = softmax_cross_entropy(SLIDE_SCORES, 2)
    for got, slide in zip(w.results["p"], SLIDE_PROBABILITIES, strict=True):
        assert got == pytest.approx(slide, abs=1e-3)
    for claimed in ("0.016,0.631,0.353", "0.0154,0.6312,0.3534"):
        assert check_answer(w, "p", claimed).ok


def test_chain_gradient_matches_the_course_example() -> None:
    w = chain_gradient([0.8, 0.2, 0.8])
    assert w.results["grad"] == pytest.approx(0.128)
    assert w.results["grad_skip"] == pytest.approx(1.128)


def _vectors(seed: int) -> list[tuple[list[float], int]]:
    rng = random.Random(seed)
    out = []
    for _ in range(60):
        n = rng.randint(2, 6)
        out.append(([round(rng.uniform(-5, 5), 2) for _ in range(n)], rng.randrange(n)))
    return out


@pytest.mark.parametrize(("scores", "label"), _vectors(1))
def test_losses_against_torch(scores: list[float], label: int) -> None:
    s = torch.tensor([scores], dtype=torch.float64)
    y = torch.tensor([label])
    ce = softmax_cross_entropy(scores, label)
    assert ce.results["ce"] == pytest.approx(F.cross_entropy(s, y).item(), rel=1e-9)
    assert ce.results["p"] == pytest.approx(F.softmax(s, dim=1)[0].tolist(), rel=1e-9)
    # multi_margin_loss divides the sum over j != y by the number of classes
    for margin in (1.0, 0.5):
        h = hinge(scores, label, margin)
        assert h.results["hinge"] == pytest.approx(F.multi_margin_loss(s, y, margin=margin).item() * len(scores))
    target = [round(v / 2 + 0.3, 2) for v in scores]
    r = regression(scores, target)
    t = torch.tensor([target], dtype=torch.float64)
    assert r.results["mse"] == pytest.approx(F.mse_loss(s, t).item())
    assert r.results["mae"] == pytest.approx(F.l1_loss(s, t).item())


def test_linear_scores_against_torch() -> None:
    rng = random.Random(2)
    for _ in range(30):
        classes, features = rng.randint(2, 4), rng.randint(2, 5)
        w = [[round(rng.uniform(-2, 2), 2) for _ in range(features)] for _ in range(classes)]
        x = [rng.randint(-5, 5) for _ in range(features)]
        b = [round(rng.uniform(-1, 1), 2) for _ in range(classes)]
        got = linear_scores(w, x, b).results["scores"]
        want = F.linear(torch.tensor(x, dtype=torch.float64), torch.tensor(w, dtype=torch.float64),
                        torch.tensor(b, dtype=torch.float64))  # fmt: skip
        assert got == pytest.approx(want.tolist())


def test_chain_gradient_against_autograd() -> None:
    rng = random.Random(3)
    for _ in range(30):
        local = [round(rng.uniform(-1.5, 1.5), 2) for _ in range(rng.randint(1, 5))]
        x = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
        f = x
        for d in local:
            f = d * f  # a layer whose local derivative is d
        (plain,) = torch.autograd.grad(f, x, retain_graph=True)
        (skip,) = torch.autograd.grad(x + f, x)
        w = chain_gradient(local)
        assert w.results["grad"] == pytest.approx(plain.item())
        assert w.results["grad_skip"] == pytest.approx(skip.item())


def test_batch_norm_against_torch() -> None:
    rng = random.Random(4)
    for _ in range(30):
        batch = [round(rng.uniform(-4, 6), 1) for _ in range(rng.randint(2, 8))]
        if len(set(batch)) == 1:
            continue
        gamma, beta, a = round(rng.uniform(0.5, 2), 2), round(rng.uniform(-1, 1), 2), rng.choice((0.1, 3.0, 10.0))
        w = batch_norm(batch, gamma, beta, 1e-5, a)
        x = torch.tensor(batch, dtype=torch.float64).reshape(-1, 1)
        y = F.batch_norm(x, None, None, torch.tensor([gamma], dtype=torch.float64),
                         torch.tensor([beta], dtype=torch.float64), training=True, eps=1e-5)  # fmt: skip
        assert w.results["mean"] == pytest.approx(x.mean().item())
        assert w.results["var"] == pytest.approx(x.var(unbiased=False).item())
        assert w.results["y"] == pytest.approx(y.flatten().tolist(), abs=1e-9)
        xhat = F.batch_norm(a * x, None, None, training=True, eps=1e-5).flatten().tolist()
        assert w.results["xhat_scaled"] == pytest.approx(xhat, abs=1e-9)
        assert w.results["xhat_scaled"] == pytest.approx(w.results["xhat"], abs=1e-3)  # the invariance, up to eps


@pytest.mark.parametrize(("kind", "c_in", "c_out", "rank", "k", "hw", "bias"), [
    ("conv", 64, 128, 16, 3, 14, False), ("conv", 32, 32, 8, 5, 7, True), ("conv", 3, 64, 4, 7, 28, True),
    ("fc", 4096, 4096, 256, 1, 1, True), ("fc", 512, 10, 4, 1, 1, False),
])  # fmt: skip
def test_low_rank_against_torch(kind: str, c_in: int, c_out: int, rank: int, k: int, hw: int, bias: bool) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn
    with torch.device("meta"):
        if kind == "conv":
            full = nn.Conv2d(c_in, c_out, k, padding=(k - 1) // 2, bias=bias)
            low = nn.Sequential(nn.Conv2d(c_in, rank, k, padding=(k - 1) // 2, bias=False),
                                nn.Conv2d(rank, c_out, 1, bias=bias))  # fmt: skip
            x = torch.empty(1, c_in, hw, hw)
        else:
            full = nn.Linear(c_in, c_out, bias=bias)
            low = nn.Sequential(nn.Linear(c_in, rank, bias=False), nn.Linear(rank, c_out, bias=bias))
            x = torch.empty(1, c_in)

    def macs(m: object) -> int:
        with FlopCounterMode(display=False) as counter:
            m(x)  # type: ignore[operator]
        return counter.get_total_flops() // 2

    w = low_rank(kind, c_in, c_out, rank, k, hw, hw, bias)
    assert w.results["full_params"] == sum(p.numel() for p in full.parameters())
    assert w.results["params"] == sum(p.numel() for p in low.parameters())
    assert w.results["full_macs"] == macs(full)
    assert w.results["macs"] == macs(low)


# ----------------------------------------------------------------------------- naming the slips


@pytest.mark.parametrize(("make", "name", "claimed", "slip"), [
    (lambda: softmax_cross_entropy(SLIDE_SCORES, 2), "ce", "0.452", "log10"),
    (lambda: softmax_cross_entropy(SLIDE_SCORES, 2), "ce", "1.5007", "log2"),
    (lambda: softmax_cross_entropy(SLIDE_SCORES, 2), "ce", "0.46", "wrong-class"),
    (lambda: hinge(SLIDE_SCORES, 2), "hinge", "0.58", "hinge-no-margin"),
    (lambda: hinge(SLIDE_SCORES, 2), "hinge", "2.58", "hinge-includes-y"),
    (lambda: batch_norm([1, 2, 3, 4]), "var", "1.6667", "unbiased-variance"),
    (lambda: chain_gradient([0.8, 0.2, 0.8]), "grad_skip", "0.128", "skip-forgotten"),
    (lambda: regression([1, 2, 3], [0, 0, 0]), "mse", "14", "sum-not-mean"),
])  # fmt: skip
def test_slips_are_named(make: object, name: str, claimed: str, slip: str) -> None:
    answer = check_answer(make(), name, claimed)  # type: ignore[operator]
    assert not answer.ok
    assert slip in [s.id for s in answer.slips]


def test_cli_checks_answers(cli: object) -> None:
    run = cli("loss", "--scores=-2.85,0.86,0.28", "--label", "2", "--answer", "ce=0.452", "--format", "json")  # type: ignore[operator]
    assert run.returncode == 1, run.stderr
    out = json.loads(run.stdout)
    assert out["answers"][0]["slips"][0]["id"] == "log10"
    right = cli("chain", "--local", "0.8,0.2,0.8", "--answer", "grad=0.128", "--answer", "grad_skip=1.128")  # type: ignore[operator]
    assert right.returncode == 0 and "2 of 2 answers right" in right.stdout
    bad = cli("loss", "--scores", "1,x", "--label", "0")  # type: ignore[operator]
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    bad = cli("batchnorm", "--batch", "1,2", "--answer", "nothing=1")  # type: ignore[operator]
    assert bad.returncode == 2 and "mean" in bad.stderr


def test_latex_of_every_calculation_compiles(tmp_path) -> None:  # type: ignore[no-untyped-def]
    items = [
        softmax_cross_entropy(SLIDE_SCORES, 2), hinge(SLIDE_SCORES, 2), regression([1.5, -2], [1, 0]),
        linear_scores([[0.2, -0.5], [1.5, 1.3]], [56, 231], [1.1, -3.2]), chain_gradient([0.8, 0.2, 0.8]),
        batch_norm([1, 2, 3, 4], 2, -1, 1e-5, 10), low_rank("conv", 64, 128, 16, 3, 14, 14),
    ]  # fmt: skip
    tex = render_latex(items, [check_answer(items[0], "ce", "0.452")])
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed")
    (tmp_path / "c.tex").write_text(tex, encoding="utf-8")
    run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", "c.tex"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert run.returncode == 0, [x for x in run.stdout.splitlines() if x.startswith("!")]
    assert "Missing character" not in (tmp_path / "c.log").read_text(errors="replace")
