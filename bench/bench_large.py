"""Large input: parse and analyse time and memory of long chains and wide graphs, over several sizes.

    .venv/bin/python bench/bench_large.py            # chains of 1k..100k layers, 100..10k branches
    .venv/bin/python bench/bench_large.py --quick    # smaller sizes

A chain is conv+bn+relu repeated (each conv distinct in its channel count, so the per-layer memo does not hide
the work); a wide graph is one input feeding N parallel 1x1 convs (distinct channel counts) that one concat merges.
Time is the first load of a text never seen (best of 3 fresh processes would be fairer; this is one process, each
size run once after a warm-up on a small network). Memory is tracemalloc's peak during the load and the report.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc

import cnncalc
from cnncalc.spec import parse_spec


def chain(layers: int) -> str:
    lines = ["input 16x16x8"]
    for i in range(layers // 3):
        lines += [f"c{i}: conv {8 + i % 97} k=3 p=1 bias=false", f"b{i}: bn", f"r{i}: relu"]
    return "\n".join(lines) + "\n"


def wide(branches: int) -> str:
    lines = ["input 8x8x4"]
    lines += [f"br{i}: conv {1 + i % 13} k=1 from=input" for i in range(branches)]
    lines.append("cat: concat from=" + ",".join(f"br{i}" for i in range(branches)))
    return "\n".join(lines) + "\n"


def measure(text: str) -> tuple[float, float, int]:
    gc.collect()
    t0 = time.perf_counter()
    graph = parse_spec(text, source="bench", name="bench")
    t1 = time.perf_counter()
    model = cnncalc.load(graph)
    model.to_dict()
    t2 = time.perf_counter()
    tracemalloc.start()
    model = cnncalc.load(parse_spec(text, source="bench", name="bench"))
    model.to_dict()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return t1 - t0, t2 - t1, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    measure(chain(300))
    rows = []
    chains = [1_000, 10_000, 30_000] if args.quick else [1_000, 10_000, 100_000]
    wides = [100, 1_000, 3_000] if args.quick else [100, 1_000, 10_000]
    for kind, sizes, make in (("chain", chains, chain), ("branches", wides, wide)):
        previous = None
        for n in sizes:
            text = make(n)
            parse_s, analyse_s, peak = measure(text)
            layers = len(parse_spec(text, source="bench").nodes)
            per = (parse_s + analyse_s) / layers * 1e6
            growth = "" if previous is None else f"{per / previous:.2f}x"
            previous = per
            rows.append((kind, n, layers, parse_s, analyse_s, peak, per, growth))
            print(f"{kind:9} {n:>7,} {layers:>7,} layers  parse {parse_s * 1e3:8.1f} ms  analyse+report "
                  f"{analyse_s * 1e3:8.1f} ms  {per:6.2f} us/layer {growth:>6}  peak {peak / 2**20:7.1f} MiB  "
                  f"({peak / layers:,.0f} B/layer)", flush=True)  # fmt: skip
    print("\nus/layer growth near 1.00x between sizes means linear time; B/layer flat means memory grows linearly.")
    sys.exit(0)


if __name__ == "__main__":
    main()
