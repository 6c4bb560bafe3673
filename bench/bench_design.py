"""Time `cnncalc design`'s search on growing problems against a naive brute force, in one run.

    .venv/bin/python bench/bench_design.py              # every case; the brute force where it fits the budget
    .venv/bin/python bench/bench_design.py --budget 10  # seconds the brute force may take per case (default 60)
    .venv/bin/python bench/bench_design.py --quick      # the small cases only

The brute force is the "other tool": it lists every stack of 1..L layers (L = --max-layers) from every
(kernel, dilation, stride) choice, keeps those that reach the RF with the exact stride (and no holes, for
--dense), then takes the Pareto front with the same tie rule. It is written here from the formulas, not with
cnncalc's code, and where it runs its front must equal the search's exactly. Where it would take longer than the
budget, its time is estimated from its measured rate on the same problem (stacks per second) and marked "est.".
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from typing import Any

from cnncalc.teach.design import Problem, search

K4, D3, S2 = (1, 3, 5, 7), (1, 2, 4), (1, 2)
K6, D6, S3 = (1, 3, 5, 7, 9, 11), (1, 2, 3, 4, 6, 8), (1, 2, 4)

# (label, Problem); grouped by the choices a layer has, then by depth.
CASES: list[tuple[str, Problem]] = [
    ("default sets", Problem(60, 8, 3)),
    ("default sets", Problem(100, 8, 4)),
    ("default sets", Problem(100, 8, 5)),
    ("default sets", Problem(100, 8, 6)),
    ("default sets", Problem(300, 16, 8)),
    ("default sets", Problem(300, 16, 12)),
    ("default sets", Problem(1000, 32, 24)),
    ("default, dense", Problem(60, 8, 4, dense=True)),
    ("default, dense", Problem(100, 8, 5, dense=True)),
    ("default, dense", Problem(100, 8, 6, dense=True)),
    ("default, dense", Problem(100, 8, 8, dense=True)),
    ("default, dense", Problem(300, 16, 10, dense=True)),
    ("6 k, 6 d, 3 s", Problem(100, 8, 3, kernels=K6, dilations=D6, strides=S3)),
    ("6 k, 6 d, 3 s", Problem(200, 16, 4, kernels=K6, dilations=D6, strides=S3)),
    ("6 k, 6 d, 3 s", Problem(500, 32, 12, kernels=K6, dilations=D6, strides=S3)),
    ("6 k, 6 d, 3 s", Problem(2000, 32, 30, kernels=K6, dilations=D6, strides=S3)),
    ("6 k, 6 d, 3 s, dense", Problem(200, 16, 4, kernels=K6, dilations=D6, strides=S3, dense=True)),
    ("6 k, 6 d, 3 s, dense", Problem(300, 16, 8, kernels=K6, dilations=D6, strides=S3, dense=True)),
    ("3 k, 2 d, 2 s", Problem(5000, 64, 40, kernels=(3, 5, 7), dilations=(1, 2))),
]
QUICK = 5_000_000  # --quick keeps the cases with at most this many stacks (the brute force takes seconds)


def naive_front(p: Problem, budget: float) -> tuple[list[tuple[Any, ...]] | None, int, float]:
    """(front or None if the budget ran out, stacks listed, seconds)."""
    choices = [(k, d, s) for k in p.kernels for d in (p.dilations if k > 1 else (1,)) for s in p.strides]
    cc, bias = p.channels * p.channels, p.channels if p.bias else 0
    best: dict[tuple[int, int], tuple[Any, ...]] = {}
    listed, start = 0, time.perf_counter()
    for n in range(1, p.max_layers + 1):
        for stack in itertools.product(choices, repeat=n):
            listed += 1
            if listed & 0xFFFF == 0 and time.perf_counter() - start > budget:
                return None, listed, time.perf_counter() - start
            rf, jump, macs, params = 1, 1, 0, 0
            for k, d, s in stack:
                rf += (k - 1) * d * jump
                jump *= s
                side = -(-p.input // jump)
                macs += cc * k * k * side * side
                params += cc * k * k + bias
            if jump != p.stride or rf < p.rf:
                continue
            if p.dense:
                read, j = {0}, 1
                for k, d, s in stack:
                    read = {x + t * d * j for x in read for t in range(k)}
                    j *= s
                if len(read) != max(read) + 1:
                    continue
            key = (sum(d - 1 for _, d, _ in stack), -rf, stack)
            if (macs, params) not in best or key < best[macs, params]:
                best[macs, params] = key
    front = []
    for macs, params in sorted(best):
        if not front or params < front[-1][1]:
            front.append((macs, params, -best[macs, params][1], best[macs, params][2]))
    return front, listed, time.perf_counter() - start


def time_search(p: Problem) -> tuple[float, Any]:
    """Median seconds of several runs (one if a run takes over a second), and the last result."""
    runs, result = [], None
    while len(runs) < 7 and sum(runs) < 3:
        start = time.perf_counter()
        result = search(p)
        runs.append(time.perf_counter() - start)
    return statistics.median(runs), result


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0, help="seconds the brute force may take per case")
    parser.add_argument("--quick", action="store_true", help="only the cases a brute force finishes in seconds")
    args = parser.parse_args(argv)
    cases = [c for c in CASES if c[1].space <= QUICK] if args.quick else CASES
    search(Problem(60, 8, 3))  # imports, once
    header = (f"{'choices':<22} {'opts':>4} {'L':>3} {'rf':>5} {'S':>3} {'stacks':>9} {'search ms':>10} "
              f"{'nodes':>7} {'bounds':>7} {'front':>5} {'brute force s':>14} {'ratio':>10}  same front")  # fmt: skip
    print(header)
    print("-" * len(header))
    for label, p in cases:
        seconds, result = time_search(p)
        front, listed, naive = naive_front(p, args.budget)
        if front is None:
            naive_s = p.space * naive / listed  # its own rate on this problem, over every stack
            shown, same = f"est. {naive_s:,.0f}" if naive_s < 1e6 else f"est. {naive_s:.1e}", "-"
        else:
            naive_s = naive
            shown = f"{naive_s:,.2f}"
            got = [(d.macs, d.params, d.rf, tuple(tuple(x) for x in d.layers)) for d in result.front]
            same = "yes" if got == front else "NO"
        ratio = naive_s / seconds
        print(
            f"{label:<22} {p.options:>4} {p.max_layers:>3} {p.rf:>5} {p.stride:>3} {p.space:>9.2g} "
            f"{1000 * seconds:>10.1f} {result.nodes:>7,} {result.stats['bound_states']:>7,} {len(result.front):>5} "
            f"{shown:>14} {ratio:>10.3g}  {same}",
            flush=True,
        )
        if same == "NO":
            sys.exit(f"the search and the brute force disagree on {p}")


if __name__ == "__main__":
    main(sys.argv[1:])
