"""Time `cnncalc.load(name)` plus the full JSON report for every zoo model, in-process.

    .venv/bin/python bench/bench_zoo.py            # every model, slowest first
    .venv/bin/python bench/bench_zoo.py resnet152  # some models

Each figure is the median of several runs after one warm-up. The goal (issue 3): resnet152 and
efficientnet_b7 under 5 ms each on the 2-core development machine.
"""

from __future__ import annotations

import statistics
import sys
import time

import cnncalc
from cnncalc import zoo

GOAL_MS = 5.0


def time_model(name: str, repeat: int = 15) -> tuple[float, float, float, int]:
    """(first call, median, best) in ms, and the layer count. The first call builds the zoo graph and works
    out every distinct layer; later calls reuse both (see docs/architecture.md, Speed)."""
    start = time.perf_counter()
    model = cnncalc.load(name)
    model.to_dict()
    first = time.perf_counter() - start
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        model = cnncalc.load(name)
        model.to_dict()
        runs.append(time.perf_counter() - start)
    return first * 1000, statistics.median(runs) * 1000, min(runs) * 1000, len(model.layers)


def main(argv: list[str]) -> None:
    names = argv or zoo.names()
    cnncalc.load("lenet5").to_dict()  # imports and formula compilation, once
    results = sorted(((time_model(n), n) for n in names), key=lambda r: -r[0][1])
    print(f"{'model':<22} {'layers':>7} {'first ms':>9} {'median ms':>10} {'best ms':>8} {'us/layer':>9}")
    for (first, median, best, layers), name in results:
        flag = "  over goal" if median > GOAL_MS and name in ("resnet152", "efficientnet_b7") else ""
        print(f"{name:<22} {layers:>7} {first:>9.2f} {median:>10.2f} {best:>8.2f} {1000 * median / layers:>9.1f}{flag}")
    total = sum(r[0][1] for r in results)
    slowest = results[0]
    print(f"\n{len(results)} models, {total:.1f} ms in all (medians); slowest: {slowest[1]} ({slowest[0][1]:.2f} ms)")


if __name__ == "__main__":
    main(sys.argv[1:])
