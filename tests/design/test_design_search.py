"""The design search against an independent brute force, by hand, and against `cnncalc.load` of its own specs."""

from __future__ import annotations

import pytest
from design_oracle import brute_front, figures, has_holes

import cnncalc
from cnncalc.teach.design import Problem, search

# (rf, stride, max_layers, channels, input, kernels, dilations, strides, bias, dense): each brute force lists at
# most a few tens of thousands of stacks.
CASES = [
    (5, 2, 2, 4, 8, (1, 3), (1,), (1, 2), True, False),
    (20, 4, 4, 8, 32, (1, 3, 5), (1, 2), (1, 2), True, False),
    (50, 16, 4, 64, 64, (3, 5, 7), (1,), (1, 2), True, False),  # a front of two
    (100, 8, 3, 64, 64, (3, 5, 7), (1, 2, 4), (1, 2), True, False),  # two, with dilation
    (100, 4, 4, 16, 40, (3, 5, 7, 9, 11), (1,), (1, 2), True, False),
    (30, 6, 4, 3, 33, (1, 3, 5), (1, 3), (1, 2, 3), False, False),  # strides 2 and 3, an odd input
    (12, 1, 4, 2, 9, (2, 3, 4), (1, 3), (1,), True, False),  # even kernels: p=same
    (40, 2, 4, 5, 17, (2, 3, 5), (1, 2, 4), (1, 2), False, False),
    (1, 4, 3, 4, 16, (1, 3), (1, 2), (1, 2, 4), True, False),  # RF 1: only the stride matters
    (60, 8, 5, 8, 64, (1, 3, 5), (1, 2), (1, 2), True, False),
    (20, 4, 4, 8, 32, (1, 3, 5), (1, 2), (1, 2), True, True),
    (30, 4, 4, 8, 32, (1, 3, 5), (1, 2, 4), (1, 2), True, True),
    (40, 2, 4, 5, 17, (2, 3, 5), (1, 2, 4), (1, 2), False, True),
    (30, 6, 4, 3, 33, (1, 3, 5), (1, 3), (1, 2, 3), True, True),
    (60, 8, 3, 64, 64, (3, 5, 7, 9), (1, 2, 4), (1, 2), True, True),  # a front of four
]


def _problem(case: tuple) -> Problem:  # type: ignore[type-arg]
    rf, stride, layers, channels, size, kernels, dilations, strides, bias, dense = case
    return Problem(rf, stride, layers, channels, size, kernels, dilations, strides, bias=bias, dense=dense)


def _brute(case: tuple) -> list[dict]:  # type: ignore[type-arg]
    return brute_front(*case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: "rf{}-s{}-L{}{}".format(c[0], c[1], c[2], "-dense" * c[9]))
def test_front_equals_brute_force(case: tuple) -> None:  # type: ignore[type-arg]
    expected = _brute(case)
    got = search(_problem(case)).front
    assert [(d.macs, d.params, d.rf, tuple(tuple(x) for x in d.layers)) for d in got] == [
        (e["macs"], e["params"], e["rf"], e["layers"]) for e in expected
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: "rf{}-s{}-L{}{}".format(c[0], c[1], c[2], "-dense" * c[9]))
def test_every_row_pastes_into_load(case: tuple) -> None:  # type: ignore[type-arg]
    problem = _problem(case)
    rf, stride, _, channels, size, _, _, _, bias, dense = case
    for design in search(problem).front:
        stack = tuple(tuple(x) for x in design.layers)
        want_rf, jump, macs, params = figures(stack, channels, size, bias)  # type: ignore[arg-type]
        assert jump == stride and want_rf >= rf
        assert not (dense and has_holes(stack))  # type: ignore[arg-type]
        model = cnncalc.load(problem.spec(design.layers))
        assert (model.totals.macs, model.totals.params) == (macs, params) == (design.macs, design.params)
        assert model.layers[-1].rf.to_dict()["size"] == want_rf == design.rf
        # 'same' padding: every map is ceil(N / jump so far)
        jump_so_far = 1
        for layer, (_, _, s) in zip(model.layers[1:], stack, strict=True):
            jump_so_far *= s
            assert layer.output.h == layer.output.w == -(-size // jump_so_far)


def test_hand_worked() -> None:
    # RF >= 5 at total stride 2 with at most 2 layers of 4 -> 4 channels on 8x8, kernels 1 and 3, no dilation:
    #   k1 s2 | k3:  RF 1 + 0 + 2*2 = 5;  MACs 4x4*16*1 + 4x4*16*9 = 256 + 2304 = 2560;  params 20 + 148 = 168
    #   k3 s2 | k3:  RF 1 + 2 + 2*2 = 7;  MACs 2304 + 2304 = 4608;                       params 148 + 148 = 296
    #   k3 | k3 s2:  RF 1 + 2 + 2   = 5;  MACs 8x8*16*9 + 2304 = 11520;                   params 296
    # (k3 | k1 s2 and k3 s2 alone reach RF 3.) k1 s2 | k3 has the fewest of both: the front is that one design.
    result = search(Problem(5, 2, 2, 4, 8, (1, 3), (1,), (1, 2)))
    assert [(d.macs, d.params, d.rf, d.text()) for d in result.front] == [(2560, 168, 5, "k1 s2 | k3")]
    assert result.problem.spec(result.front[0].layers) == "input 8x8x4\nconv 4 k=1 s=2\nconv 4 k=3 p=1\n"


def test_dilation_is_used_only_as_far_as_needed() -> None:
    # One 3x3 layer, RF >= 4 with dilations 1, 2, 3: d=1 gives 3, d=2 gives 5, d=3 gives 7; all cost the same,
    # so the least dilation that reaches it wins: d=2.
    result = search(Problem(4, 1, 1, 2, 8, (3,), (1, 2, 3), (1,)))
    assert [(d.rf, d.text()) for d in result.front] == [(5, "k3 d2")]
    assert result.problem.spec(result.front[0].layers).splitlines()[1] == "conv 2 k=3 d=2 p=2"


def test_dense_closes_the_holes() -> None:
    # RF >= 7 from 3x3 layers at stride 1: one k3 d3 reaches 7 but reads pixels 0, 3, 6 only; dense needs
    # two layers, k3 then k3 d2: taps {0,1,2} + {0,2,4} = 0..6, RF 7.
    loose = search(Problem(7, 1, 3, 2, 8, (3,), (1, 2, 3), (1,)))
    assert [d.text() for d in loose.front] == ["k3 d3"]
    dense = search(Problem(7, 1, 3, 2, 8, (3,), (1, 2, 3), (1,), dense=True))
    assert [(d.rf, d.text()) for d in dense.front] == [(7, "k3 | k3 d2")]


def test_interrupt_keeps_the_best_so_far() -> None:
    problem = Problem(100, 8, 8, dense=True)
    seen = []

    def stop(progress) -> None:  # type: ignore[no-untyped-def]
        seen.append(progress)
        if len(seen) == 2:
            raise KeyboardInterrupt

    partial = search(problem, progress=stop, every=0)
    assert partial.interrupted and len(seen) == 2
    assert 0 <= seen[0].fraction <= seen[1].fraction == partial.fraction < 1
    full = search(problem)
    assert not full.interrupted and full.fraction == 1
    for design in partial.front:  # valid stacks, each matched or beaten by the finished search
        stack = tuple(tuple(x) for x in design.layers)
        rf, jump, macs, params = figures(stack, 64, 64, True)  # type: ignore[arg-type]
        assert (jump, macs, params, rf) == (8, design.macs, design.params, design.rf) and rf >= 100
        assert not has_holes(stack)  # type: ignore[arg-type]
        assert any(f.macs <= design.macs and f.params <= design.params for f in full.front)
