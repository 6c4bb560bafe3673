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


def time_model(name: str, repeat: int = 15) -> tuple[float, int]:
    cnncalc.load(name).to_dict()  # warm-up: imports, formula compilation
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        model = cnncalc.load(name)
        model.to_dict()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000, len(model.layers)


def main(argv: list[str]) -> None:
    names = argv or zoo.names()
    results = sorted(((time_model(n), n) for n in names), reverse=True)
    print(f"{'model':<22} {'layers':>7} {'ms':>8} {'us/layer':>9}")
    for (ms, layers), name in results:
        flag = "  over goal" if ms > GOAL_MS and name in ("resnet152", "efficientnet_b7") else ""
        print(f"{name:<22} {layers:>7} {ms:>8.2f} {1000 * ms / layers:>9.1f}{flag}")
    total = sum(ms for (ms, _), _ in results)
    print(f"\n{len(results)} models, {total:.1f} ms in all; slowest: {results[0][1]} ({results[0][0][0]:.2f} ms)")


if __name__ == "__main__":
    main(sys.argv[1:])
