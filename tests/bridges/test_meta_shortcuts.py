"""The importer's quick ways to a call's output on the meta device give exactly what PyTorch gives.

`from_torch` makes the outputs of some calls itself (`F.linear`, `torch.cat`, 2-D pooling) or once per signature
(interpolation, attention, products), because PyTorch's meta versions of them are Python decompositions. Each is
checked here against PyTorch's own meta output: shape, strides and dtype.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from cnncalc.bridges import _torch_trace as trace  # noqa: E402

META = torch.device("meta")


def _same(got: Any, want: Any) -> None:
    assert got is not None
    assert (tuple(got.shape), got.stride(), got.dtype) == (tuple(want.shape), want.stride(), want.dtype)


def _meta(*shape: int, dtype: Any = torch.float32) -> Any:
    return torch.empty(shape, device=META, dtype=dtype)


@pytest.mark.parametrize(("name", "size", "k", "s", "p", "d", "ceil"), [
    (name, size, k, s, p, d, ceil)
    for name in ("max_pool2d", "avg_pool2d")
    for size, k, s, p, d, ceil in itertools.product([5, 8, 13], [1, 2, 3], [1, 2, 3], [0, 1], [1, 2], [False, True])
    if name == "max_pool2d" or d == 1
])  # fmt: skip
def test_pooling(name: str, size: int, k: int, s: int, p: int, d: int, ceil: bool) -> None:
    x = _meta(1, 2, size, size + 1)
    args = (x, k, s, p, d, ceil) if name == "max_pool2d" else (x, k, s, p, ceil)
    func = torch.max_pool2d if name == "max_pool2d" else F.avg_pool2d
    try:
        want = func(*args)
    except RuntimeError:
        assert trace._pool2d_meta(torch, META, name, args, {}) is None  # PyTorch's own refusal, left to PyTorch
        return
    _same(trace._pool2d_meta(torch, META, name, args, {}), want)
    if name == "max_pool2d":  # as F.max_pool2d passes them
        keys = {"stride": s, "padding": p, "dilation": d, "ceil_mode": ceil, "return_indices": False}
        _same(trace._pool2d_meta(torch, META, name, (x, k), keys), want)
        assert trace._pool2d_meta(torch, META, name, (x, k), {**keys, "return_indices": True}) is None


@pytest.mark.parametrize("x_shape", [(5,), (2, 5), (1, 7, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear(x_shape: tuple[int, ...], bias: bool) -> None:
    x, w = _meta(*x_shape), _meta(6, 5)
    b = _meta(6) if bias else None
    _same(trace._linear_meta(torch, META, (x, w, b), {}), F.linear(x, w, b))
    _same(trace._linear_meta(torch, META, (x, w), {"bias": b}), F.linear(x, w, bias=b))


@pytest.mark.parametrize("dim", [0, 1, -1, 2])
def test_cat(dim: int) -> None:
    parts = [_meta(2, 3, 4), _meta(2, 3, 4)]
    parts[1] = parts[1] if dim not in (2, -1) else _meta(2, 3, 7)
    parts[1] = parts[1] if dim != 1 else _meta(2, 5, 4)
    _same(trace._cat_meta(torch, META, (parts, dim), {}), torch.cat(parts, dim))
    _same(trace._cat_meta(torch, META, (parts,), {"dim": dim}), torch.cat(parts, dim=dim))
    # a transposed (not contiguous) part: left to PyTorch, which decides the output's strides
    assert trace._cat_meta(torch, META, ([_meta(4, 3).t(), _meta(3, 4)], 0), {}) is None


def test_a_call_made_again_by_its_signature() -> None:
    tracer = trace.Tracer.__new__(trace.Tracer)
    tracer.torch, tracer.memo, tracer.meta_device = torch, {}, META
    x = _meta(1, 8, 5, 5).permute(0, 2, 3, 1)  # channels last: the strides must carry over
    for _ in range(2):
        _same(tracer._memo_run(F.interpolate, (x.permute(0, 3, 1, 2),), {"scale_factor": 2.0}),
              F.interpolate(x.permute(0, 3, 1, 2), scale_factor=2.0))  # fmt: skip
    q = _meta(2, 4, 9, 16)
    for _ in range(2):
        _same(tracer._memo_run(F.scaled_dot_product_attention, (q, q, q), {}), F.scaled_dot_product_attention(q, q, q))
    assert len(tracer.memo) == 2
    # one argument of another value is another signature; an argument of an unknown kind is never remembered
    tracer._memo_run(F.interpolate, (x.permute(0, 3, 1, 2),), {"scale_factor": 3.0})
    assert len(tracer.memo) == 3
    assert trace._memo_key(torch, F.interpolate, (x,), {"scale_factor": object()}) is None
    assert trace._memo_key(torch, torch.cat, ([x, x],), {"out": x}) is None


def test_linear_by_keyword() -> None:
    x, w, b = _meta(1, 7, 5), _meta(6, 5), _meta(6)
    _same(trace._linear_meta(torch, META, (), {"input": x, "weight": w, "bias": b}), F.linear(x, w, b))
    _same(trace._linear_meta(torch, META, (x,), {"weight": w, "bias": b}), F.linear(x, weight=w, bias=b))
    assert trace._linear_meta(torch, META, (x,), {"weight": w, "other": b}) is None


@pytest.mark.parametrize(("kind", "batch_first", "bidirectional", "proj", "layers"), [
    (kind, bf, bi, proj, layers)
    for kind, bf, bi, proj, layers in itertools.product(["LSTM", "GRU", "RNN"], [True, False], [True, False], [0, 3],
                                                        [1, 2])
    if kind == "LSTM" or not proj
])  # fmt: skip
def test_recurrent(kind: str, batch_first: bool, bidirectional: bool, proj: int, layers: int) -> None:
    """nn.LSTM, nn.GRU and nn.RNN call `_VF.lstm` / `gru` / `rnn_tanh`; their outputs are made without running them."""
    extra = {"proj_size": proj} if proj else {}
    module = getattr(torch.nn, kind)(5, 7, layers, batch_first=batch_first, bidirectional=bidirectional, **extra)
    module = module.to(META)
    seen: dict[str, Any] = {}

    class Watch(torch.overrides.TorchFunctionMode):
        def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            name = getattr(func, "__name__", "")
            if name in ("lstm", "gru", "rnn_tanh"):
                seen["ours"] = trace._rnn_meta(torch, META, name, args)
            return func(*args, **(kwargs or {}))

    with Watch():
        out, state = module(_meta(4, 6, 5))
    want = [out, *(state if isinstance(state, tuple) else (state,))]
    assert len(seen["ours"]) == len(want)
    for got, expected in zip(seen["ours"], want, strict=True):
        _same(got, expected)


@pytest.mark.parametrize("view", ["whole", "every other", "transposed", "one row"])
def test_element_wise_in_order(view: str) -> None:
    """A contiguous output is what PyTorch gives exactly when the input's axes lie in memory in their own order."""
    x = _meta(2, 3, 8)
    x = {"whole": x, "every other": x[..., ::2], "transposed": x.transpose(1, 2), "one row": x[:, :1]}[view]
    assert trace._in_order(x) is (view != "transposed")
    if trace._in_order(x):
        _same(torch.empty(x.shape, device=META), torch.neg(x))


@pytest.mark.parametrize(("a", "b"), [((2, 3), (2, 3)), ((2, 1, 4), (3, 1)), ((5,), ()), ((1,), (4, 1)),
                                      ((0, 3), (1, 3)), ((2, 3), (4, 3))])  # fmt: skip
def test_broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    try:
        want = tuple(torch.broadcast_shapes(a, b))
    except RuntimeError:
        with pytest.raises(RuntimeError):
            trace._broadcast(a, b)
        return
    assert trace._broadcast(a, b) == want


@pytest.mark.parametrize("bounds", [(0.0, 6.0), ("scalar tensors",), ("per channel",), ("wider",), ("double",)])
def test_clamp_bounds(bounds: tuple[Any, ...]) -> None:
    """`clamp` keeps its input's shape and type unless a tensor bound broadcasts it wider or promotes it."""
    x = _meta(2, 3, 4)
    given = {
        "scalar tensors": (_meta(), _meta()),
        "per channel": (_meta(3, 1),),
        "wider": (_meta(5, 2, 3, 4),),
        "double": (_meta(3, 4, dtype=torch.float64),),
    }.get(bounds[0], bounds)
    real = torch.clamp(x, *given)
    fits = trace._bounds_fit(torch, x, given)
    assert fits == ((tuple(real.shape), real.dtype) == (tuple(x.shape), x.dtype))


def _tracer() -> Any:
    tracer = trace.Tracer.__new__(trace.Tracer)
    tracer.torch, tracer.memo, tracer.meta_device = torch, {}, META
    return tracer


_X = _meta(2, 3, 8)
_P = torch.nn.Parameter(_meta(8))
_CALLS = {
    "neg": (torch.neg, (_X,), {}),
    "neg of a strided slice": (torch.neg, (_X[..., ::2],), {}),
    "neg of a transpose": (torch.neg, (_X.transpose(1, 2),), {}),
    "sqrt": (torch.sqrt, (_X,), {}),
    "pow": (torch.pow, (_X, 2), {}),
    "pow of a transpose": (torch.pow, (_X.transpose(1, 2), 2), {}),
    "__pow__ by a float": (torch.Tensor.__pow__, (_X, 0.5), {}),
    "roll": (torch.roll, (_X, (1, -2), (1, 2)), {}),
    "roll of a transpose": (torch.roll, (_X.transpose(1, 2), 1, 1), {}),
    "addcmul": (torch.addcmul, (_X, _P, _X), {"value": 0.5}),
    "addcmul broadcast": (torch.addcmul, (_meta(3, 1), _meta(2, 1, 8), _P), {}),
    "addcmul of a transpose": (torch.addcmul, (_X.transpose(1, 2), _meta(8, 1), _meta(3)), {}),
    "clamp": (torch.clamp, (_X, 0.0, 6.0), {}),
    "normalize (out=None)": (F.normalize, (_X,), {"dim": 1, "out": None}),
    "rms_norm": (F.rms_norm, (_X, (8,)), {}),
}


@pytest.mark.parametrize("case", list(_CALLS))
def test_calls_made_directly(case: str) -> None:
    """Element-wise calls, `roll`, `addcmul`, `clamp`, `F.normalize`, `F.rms_norm`: what the trace gives is what
    PyTorch's meta version gives (shape, strides, dtype), made directly where it can be and left to PyTorch else."""
    func, args, kwargs = _CALLS[case]
    name = func.__name__
    _same(_tracer()._run_op(name, func, args, kwargs), func(*args, **kwargs))


@pytest.mark.parametrize(("picks", "keep"), [(range(0, 3), True), (range(1, 3), True), ([0, 2], True),
                                              (range(2, 3), False), ([2, 1], True), (range(0, 4), True)])  # fmt: skip
def test_slices_by_their_ends(picks: Any, keep: bool) -> None:
    """A run of positions is read by its ends (a slice of thousands of tokens), any other pick one by one: both give
    the same cut as the positions listed."""
    info = trace.Info(0, trace.Lay((), (1,), 2))
    tshape = (1, 3, 5)
    new = (1, len(picks), 5) if keep else (1, 5)
    by_range = trace.cut(info, tshape, 1, picks, keep, new, "slice", "")
    by_list = trace.cut(info, tshape, 1, list(picks), keep, new, "slice", "")
    assert by_range == by_list
    assert (by_range is None) == (max(picks) >= 3)
