"""`cnncalc memory` grows linearly in layers + edges: a concat of many branches once cost time and memory in the
square of its width (the tensors alive were listed again at every layer). Counted, not timed: the Python calls
(generator steps included) and the JSON size for a width and twice that width."""

from __future__ import annotations

import json
import sys
from typing import Any

import cnncalc
from cnncalc.teach.memory import estimate


def _wide(branches: int) -> str:
    lines = ["input 4x4x2"] + [f"b{i}: conv 1 k=1 from=input" for i in range(branches)]
    return "\n".join([*lines, "cat: concat from=" + ",".join(f"b{i}" for i in range(branches))]) + "\n"


def _cost(branches: int) -> tuple[int, int]:
    model = cnncalc.load(_wide(branches))
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        calls += 1

    sys.setprofile(count)
    try:
        result = estimate(model, batch=2, training=True, optimizer="adam", amp="bf16", fit="t4,h100")
        text = json.dumps(result.to_dict())
    finally:
        sys.setprofile(None)
    return calls, len(text)


def test_wide_concat_costs_grow_linearly() -> None:
    calls_1, size_1 = _cost(1000)
    calls_2, size_2 = _cost(2000)
    assert calls_2 < 2.3 * calls_1, (calls_1, calls_2)
    assert size_2 < 2.3 * size_1, (size_1, size_2)
