"""`cnncalc matrix` against PyTorch: y = M x against conv1d/conv2d/conv_transpose1d/conv_transpose2d, the input
gradients (numeric and the symbolic formulas, evaluated) against autograd, and convT's matrix as conv's transpose.

Weights, inputs and upstream gradients are small integers in float64, so every comparison is exact.
"""

from __future__ import annotations

import math
import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.teach.matrix import ConvMatrix, conv_matrix, conv_transpose_matrix, to_dict  # noqa: E402

F = torch.nn.functional
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ints(n: int, rng: random.Random) -> list[int]:
    return [rng.randint(-4, 4) for _ in range(n)]


def _tensor(values: list[int], shape: tuple[int, ...], grad: bool = False):  # type: ignore[no-untyped-def]
    return torch.tensor(values, dtype=torch.float64).reshape(1, 1, *shape).requires_grad_(grad)


def _eval_symbolic(m: ConvMatrix, w: list[int], x: list[int], g: list[int]) -> tuple[list[int], list[int]]:
    """y and dL/dx from the printed equations and gradient formulas (JSON terms), by name."""
    d = to_dict(m)
    values = dict(zip(m.w_names(), w, strict=True)) | dict(zip(m.x_names(), x, strict=True))
    values |= {f"dL/d{name}": v for name, v in zip(m.y_names(), g, strict=True)}
    y = [sum(values[a] * values[b] for a, b in d["equations"][name]) for name in m.y_names()]  # type: ignore[index]
    dx = [sum(values[a] * values[b] for a, b in d["gradients"][f"dL/d{n}"]) for n in m.x_names()]  # type: ignore[index]
    return y, dx


def _check(m: ConvMatrix, run, seed: int) -> None:  # type: ignore[no-untyped-def]
    """Forward and backward of `run(x, w)` (torch) against the matrix, numeric and symbolic."""
    rng = random.Random(seed)
    w, x = _ints(math.prod(m.kernel), rng), _ints(math.prod(m.input), rng)
    xt = _tensor(x, m.input, grad=True)
    y = run(xt, _tensor(w, m.kernel))
    assert tuple(y.shape[2:]) == m.output
    g = _ints(y.numel(), rng)
    y.backward(torch.tensor(g, dtype=torch.float64).reshape(y.shape))
    expected_y = [int(v) for v in y.detach().flatten().tolist()]
    expected_dx = [int(v) for v in xt.grad.flatten().tolist()]
    assert m.forward(w, x) == expected_y
    assert m.input_grad(w, g) == expected_dx
    assert _eval_symbolic(m, w, x, g) == (expected_y, expected_dx)


def _conv_ok(n: int, k: int, p: int, d: int) -> bool:
    return d * (k - 1) + 1 <= n + 2 * p


@SETTINGS
@given(
    n=st.integers(1, 12),
    k=st.integers(1, 5),
    s=st.integers(1, 3),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
    seed=st.integers(0, 10**6),
)
def test_conv1d(n: int, k: int, s: int, p: int, d: int, seed: int) -> None:
    assume(_conv_ok(n, k, p, d))
    m = conv_matrix(n, k, s, p, d, limit=None)
    _check(m, lambda x, w: F.conv1d(x, w, stride=s, padding=p, dilation=d), seed)


@SETTINGS
@given(
    n=st.integers(1, 8),
    k=st.integers(1, 4),
    s=st.integers(1, 3),
    p=st.integers(0, 3),
    d=st.integers(1, 3),
    op=st.integers(0, 2),
    seed=st.integers(0, 10**6),
)
def test_conv_transpose1d(n: int, k: int, s: int, p: int, d: int, op: int, seed: int) -> None:
    assume(op < max(s, d) and (n - 1) * s - 2 * p + d * (k - 1) + op + 1 >= 1)
    m = conv_transpose_matrix(n, k, s, p, d, op, limit=None)
    run = lambda x, w: F.conv_transpose1d(x, w, stride=s, padding=p, output_padding=op, dilation=d)  # noqa: E731
    _check(m, run, seed)


sizes2 = st.tuples(st.integers(1, 6), st.integers(1, 6))
small2 = st.tuples(st.integers(1, 3), st.integers(1, 3))


@SETTINGS
@given(
    n=sizes2,
    k=small2,
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    seed=st.integers(0, 10**6),
)
def test_conv2d(n, k, s, p, d, seed: int) -> None:  # type: ignore[no-untyped-def]
    assume(all(_conv_ok(*a) for a in zip(n, k, p, d, strict=True)))
    m = conv_matrix(n, k, s, p, d, limit=None)
    _check(m, lambda x, w: F.conv2d(x, w, stride=s, padding=p, dilation=d), seed)


@SETTINGS
@given(
    n=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    k=small2,
    s=st.tuples(st.integers(1, 3), st.integers(1, 3)),
    p=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    d=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    op=st.tuples(st.integers(0, 2), st.integers(0, 2)),
    seed=st.integers(0, 10**6),
)
def test_conv_transpose2d(n, k, s, p, d, op, seed: int) -> None:  # type: ignore[no-untyped-def]
    for na, ka, sa, pa, da, oa in zip(n, k, s, p, d, op, strict=True):
        assume(oa < max(sa, da) and (na - 1) * sa - 2 * pa + da * (ka - 1) + oa + 1 >= 1)
    m = conv_transpose_matrix(n, k, s, p, d, op, limit=None)
    run = lambda x, w: F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op, dilation=d)  # noqa: E731
    _check(m, run, seed)


def _transpose(rows):  # type: ignore[no-untyped-def]
    return [list(col) for col in zip(*rows, strict=True)]


@SETTINGS
@given(n=st.one_of(st.tuples(st.integers(1, 12)), sizes2), data=st.data())
def test_conv_transpose_is_the_transpose_of_conv(n, data) -> None:  # type: ignore[no-untyped-def]
    """conv of input N gives M outputs; convT of input M with the output padding that restores N (the remainder
    of the floored division, always below the stride) has exactly the transposed matrix."""
    axes = len(n)
    k = data.draw(st.tuples(*[st.integers(1, 4)] * axes))
    s = data.draw(st.tuples(*[st.integers(1, 3)] * axes))
    p = data.draw(st.tuples(*[st.integers(0, 2)] * axes))
    d = data.draw(st.tuples(*[st.integers(1, 2)] * axes))
    assume(all(_conv_ok(*a) for a in zip(n, k, p, d, strict=True)))
    conv = conv_matrix(n, k, s, p, d, limit=None)
    op = tuple((na + 2 * pa - da * (ka - 1) - 1) % sa for na, ka, pa, da, sa in zip(n, k, p, d, s, strict=True))
    convt = conv_transpose_matrix(conv.output, k, s, p, d, op, limit=None)
    assert convt.output == conv.input
    assert [list(r) for r in convt.entries] == _transpose(conv.entries)
    assert convt.transpose_of().entries == conv.entries
    # and the same against torch's own matrices: column j of M is the conv of the j-th unit vector
    w = list(range(1, math.prod(k) + 1))
    cols = []
    for j in range(math.prod(n)):
        e = [0] * math.prod(n)
        e[j] = 1
        run = F.conv1d if axes == 1 else F.conv2d
        cols.append([int(v) for v in run(_tensor(e, n), _tensor(w, k), stride=s, padding=p, dilation=d).flatten()])
    assert conv.numeric(w) == _transpose(cols)
    assert convt.numeric(w) == cols


def test_limit_and_bad_sizes() -> None:
    with pytest.raises(CnnCalcError, match="64x64"):
        conv_matrix((9, 9), 3, pad=1)
    assert conv_matrix((9, 9), 3, pad=1, limit=None).shape == (81, 81)
    with pytest.raises(CnnCalcError, match="larger than"):
        conv_matrix(4, 7)
    with pytest.raises(CnnCalcError, match="output padding"):
        conv_transpose_matrix(4, 3, stride=2, output_padding=2)


@pytest.mark.parametrize(("n", "k", "s", "p"), [((2, 12), (1, 3), 1, 1), ((11, 3), (3, 2), (2, 1), 0)])
def test_names_with_two_digit_sides(n, k, s, p) -> None:  # type: ignore[no-untyped-def]
    """Past 9 the subscripts take a separator (x1_10); the printed formulas still evaluate to torch's figures."""
    m = conv_matrix(n, k, s, p, limit=None)
    assert any("_" in name for name in m.x_names())
    _check(m, lambda x, w: F.conv2d(x, w, stride=s, padding=p), seed=1)
    t = conv_transpose_matrix(m.output, k, s, p, limit=None)
    _check(t, lambda x, w: F.conv_transpose2d(x, w, stride=s, padding=p), seed=2)
