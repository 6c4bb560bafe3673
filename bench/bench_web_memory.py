"""The web server's memory over many distinct requests: it must stay flat however varied the specs are.

    .venv/bin/python bench/bench_web_memory.py                   # 5,000 distinct specs, then 250 zoo requests
    .venv/bin/python bench/bench_web_memory.py --requests 1000

Starts `cnncalc serve --port 0` in a child process (bench_web.start_server), sends POST /api/report with specs that
differ in every layer (distinct channel counts and kernels, so no cache entry is shared), then GET /api/zoo/NAME
with distinct options, and prints the server's resident memory (VmRSS from /proc) every 500
specs and every 100 zoo requests (se_resnet50, each with its own reduction).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from bench_web import start_server


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def distinct_spec(rng: random.Random, i: int) -> str:
    lines = [f"input {rng.randint(32, 256)}x{rng.randint(32, 256)}x{rng.randint(1, 64)}"]
    for _ in range(40):
        lines.append(f"conv {rng.randint(1, 4096)} k={rng.choice((1, 3, 5, 7))} p=same")
        lines.append("relu")
    lines += ["gap", "flatten", f"fc {1000 + i}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000, help="distinct specs to send (default 5000)")
    parser.add_argument(
        "--zoo", type=int, default=250, help="zoo requests with distinct options, at most 250 (default 250)"
    )
    args = parser.parse_args(argv)
    proc, url = start_server()
    rng = random.Random(15)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            client.post("/api/report", json={"zoo": "lenet5"}).raise_for_status()
            time.sleep(3)  # the zoo list is worked out at start-up; measure after it
            start = rss_mib(proc.pid)
            print(f"start: {start:.1f} MiB")
            peak = start
            for i in range(1, args.requests + 1):
                answer = client.post("/api/report", json={"spec": distinct_spec(rng, i)})
                assert answer.status_code == 200, answer.text[:300]
                if i % 500 == 0:
                    now = rss_mib(proc.pid)
                    peak = max(peak, now)
                    print(f"{i:>6} distinct specs: {now:.1f} MiB")
            for i in range(1, args.zoo + 1):
                answer = client.get("/api/zoo/se_resnet50", params={"reduction": str(i)})
                assert answer.status_code == 200, answer.text[:300]
                if i % 100 == 0:
                    now = rss_mib(proc.pid)
                    peak = max(peak, now)
                    print(f"{i:>6} zoo requests with distinct options: {now:.1f} MiB")
            print(f"peak {peak:.1f} MiB, {peak - start:+.1f} MiB over the start")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main(sys.argv[1:])
