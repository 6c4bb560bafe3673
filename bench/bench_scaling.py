"""Every command on a long network, timed against `cnncalc show` on the same input: the ratio should stay small.

    .venv/bin/python bench/bench_scaling.py                     # 100,000-layer chain, 50,000-input concat
    .venv/bin/python bench/bench_scaling.py --layers 20000 --width 10000 --timeout 60

Each command runs in its own process (`python -m cnncalc.cli`), as a user runs it, with a deadline (--timeout): a run
past it is printed as `> T s` rather than waited for. The networks are written to a temporary folder: a chain of
conv+bn+relu blocks (--layers layers in all), one input feeding --width parallel 1x1 convs joined by one concat, and
a class file of --students students for `grade`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Each command with its arguments after SPEC ({out}: a file in the temporary folder).
COMMANDS: list[tuple[str, list[str]]] = [
    ("show", []),
    ("show --format json", ["--format", "json"]),
    ("show --conventions", ["--conventions"]),
    ("show --explain", ["--explain"]),
    ("show --explain --format latex", ["--explain", "--format", "latex"]),
    ("check", []),
    ("check --total", ["--total", "123"]),
    ("rf", []),
    ("map", ["--layer", "input", "--pixel", "0,0"]),
    ("memory", []),
    ("draw", ["-o", "{out}/x.svg"]),
    ("export", ["-o", "{out}/x.py"]),
]


def chain(layers: int) -> str:
    lines = ["input 64x64x16"]
    while len(lines) < layers:
        lines += ["conv 16 k=3 p=1", "bn", "relu"]
    return "\n".join(lines[:layers]) + "\n"


def concat(width: int) -> str:
    lines = ["input 8x8x4"]
    lines += [f"b{i}: conv {1 + i % 7} k=1 from=input" for i in range(width)]
    lines.append("cat: concat from=" + ",".join(f"b{i}" for i in range(width)))
    return "\n".join(lines) + "\n"


def timed(argv: list[str], timeout: float) -> float | None:
    start = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)[:200]}: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return time.perf_counter() - start


def run(name: str, spec: Path, out: Path, timeout: float, extra: list[tuple[str, list[str]]]) -> None:
    cli = [sys.executable, "-m", "cnncalc.cli"]
    base = timed([*cli, "show", str(spec)], timeout)
    print(f"\n{name}: show {base:.2f} s" if base else f"\n{name}: show > {timeout:.0f} s")
    print("| command | time | ratio to show |\n| --- | ---: | ---: |")
    for label, args in [*COMMANDS, *extra]:
        command = label.split()[0]
        argv = [*cli, command, str(spec), *(a.replace("{out}", str(out)) for a in args)]
        t = timed(argv, timeout)
        shown = f"> {timeout:.0f} s" if t is None else f"{t:.2f} s"
        ratio = "" if t is None or not base else f"{t / base:.1f}x"
        print(f"| `{label}` | {shown} | {ratio} |", flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=100_000)
    parser.add_argument("--width", type=int, default=50_000)
    parser.add_argument("--students", type=int, default=5_000)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        long_spec = out / "chain.cnn"
        long_spec.write_text(chain(args.layers), encoding="utf-8")
        wide_spec = out / "concat.cnn"
        wide_spec.write_text(concat(args.width), encoding="utf-8")
        students = out / "class.csv"
        students.write_text(
            "student,total\n" + "".join(f"s{i},{1000 + i}\n" for i in range(args.students)), encoding="utf-8"
        )
        grade = [("grade", ["--answers", str(students)])]
        run(f"chain of {args.layers:,} layers", long_spec, out, args.timeout, grade)
        run(f"concat of {args.width:,} inputs", wide_spec, out, args.timeout, [])


if __name__ == "__main__":
    main(sys.argv[1:])
