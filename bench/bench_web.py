"""A small loopback load test of the web API: POST /api/report for resnet50, bounded in requests and time.

    .venv/bin/python bench/bench_web.py                      # 2,000 requests or 20 s, 8 at a time
    .venv/bin/python bench/bench_web.py --requests 500 --concurrency 4 --steps
    .venv/bin/python bench/bench_web.py --url http://127.0.0.1:8000   # a server already running
    .venv/bin/python bench/bench_web.py --hostile 2     # and 2 clients sending tests/hardening/hostile meanwhile

Without --url it starts `cnncalc serve --port 0` in a child process (so client and server do not share one
interpreter lock) and stops it at the end. It only ever talks to 127.0.0.1. Every answer is checked: a status other
than 200, a body that is not the report, or a failed connection counts as an error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import httpx

RESNET50_PARAMS = 25_557_032  # torchvision's resnet50 num_params


def start_server() -> tuple[subprocess.Popen[str], str]:
    """`cnncalc serve` on a free loopback port, and its address (read from the line it prints)."""
    code = "from cnncalc.commands.serve import command; command(['--host', '127.0.0.1', '--port', '0'])"
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    line = proc.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not found:
        proc.kill()
        raise SystemExit(f"the server did not start: {line.strip()}{proc.stderr.read()}")
    url = found.group(0)
    deadline = time.monotonic() + 20
    while True:  # listening from the start; the app is ready once /api/info answers
        try:
            if httpx.get(url + "/api/info", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("the server did not answer within 20 s")
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux's /proc; None elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by the nearest-rank method."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


HOSTILE = Path(__file__).parent.parent / "tests" / "hardening" / "hostile"


def hostile_requests() -> list[tuple[str, str, bytes, dict[str, str]]]:
    """(method, path, body, headers) of every hostile spec, answer table and request of the hostile-input suite."""
    json_type = {"Content-Type": "application/json"}
    out = []
    for spec in sorted((HOSTILE / "specs").glob("*.cnn")):
        text = spec.read_text(encoding="utf-8")
        for path in ("/api/report", "/api/draw", "/api/export/latex"):
            out.append(("POST", path, json.dumps({"spec": text}).encode(), json_type))
    for table in sorted((HOSTILE / "answers").glob("*.csv")):
        body = {"spec": "input 8x8x1\nconv 4 k=3\n", "answers_csv": table.read_text(encoding="utf-8")}
        out.append(("POST", "/api/check", json.dumps(body).encode(), json_type))
    for request in sorted((HOSTILE / "web").glob("*.json")):
        r = json.loads(request.read_text(encoding="utf-8"))
        body = r.get("body")
        data = body if isinstance(body, str) else json.dumps(body) if body is not None else ""
        out.append((r["method"], r["path"], data.encode(), {**json_type, **r.get("headers", {})}))
    return out


def run(
    url: str,
    body: dict[str, object],
    requests: int,
    seconds: float,
    concurrency: int,
    pid: int | None,
    hostile: int = 0,
) -> None:
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    issued = 0
    deadline = 0.0

    def take() -> bool:
        nonlocal issued
        with lock:
            if issued >= requests or time.perf_counter() >= deadline:
                return False
            issued += 1
            return True

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            while take():
                start = time.perf_counter()
                try:
                    res = client.post("/api/report", content=payload, headers=headers)
                    elapsed = time.perf_counter() - start
                    if res.status_code != 200:
                        kind = f"status {res.status_code}"
                    elif res.json()["totals"]["params"] != expected:
                        kind = "wrong report"
                    else:
                        kind = ""
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    elapsed, kind = time.perf_counter() - start, type(exc).__name__
                with lock:
                    latencies.append(elapsed)
                    if kind:
                        errors[kind] += 1

    with httpx.Client(base_url=url, timeout=30) as client:  # warm up: imports, the zoo graph, the layer cache
        first = client.post("/api/report", content=payload, headers=headers)
        first.raise_for_status()
        expected = first.json()["totals"]["params"]
        for _ in range(20):
            client.post("/api/report", content=payload, headers=headers)
    if body.get("zoo") == "resnet50" and body.get("bias", True) and expected != RESNET50_PARAMS:
        raise SystemExit(f"resnet50 reports {expected:,} params, not torchvision's {RESNET50_PARAMS:,}")

    bad_requests = hostile_requests()
    hostile_answers: Counter[int] = Counter()
    running = True

    def attacker(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as client:
            i = offset
            while running:
                method, path, data, head = bad_requests[i % len(bad_requests)]
                i += 1
                try:
                    res = client.request(method, path, content=data, headers=head)
                    code = res.status_code
                except httpx.HTTPError:
                    code = -1
                with lock:
                    hostile_answers[code] += 1

    attackers = [threading.Thread(target=attacker, args=(k * 7,)) for k in range(hostile)]
    for t in attackers:
        t.start()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    cpu_before = cpu_seconds(pid) if pid else None
    began = time.perf_counter()
    deadline = began + seconds
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    cpu_after = cpu_seconds(pid) if pid else None
    running = False
    for t in attackers:
        t.join()

    done = sorted(latencies)
    ms = [x * 1000 for x in done]
    print(f"POST {url}/api/report {json.dumps(body)} ({len(payload)} bytes in, {len(first.content):,} bytes out)")
    print(f"{len(done):,} requests in {wall:.2f} s at concurrency {concurrency} (limit {requests:,} or {seconds:g} s)")
    print(f"throughput  {len(done) / wall:.1f} requests/s")
    print(
        f"latency ms  p50 {percentile(ms, 50):.1f}  p90 {percentile(ms, 90):.1f}  p99 {percentile(ms, 99):.1f}  "
        f"max {ms[-1]:.1f}  mean {statistics.fmean(ms):.1f}"
    )
    print(f"errors      {sum(errors.values())}" + (f" ({dict(errors)})" if errors else ""))
    if hostile:
        print(f"hostile     {hostile} clients sent {sum(hostile_answers.values()):,} requests "
              f"({len(bad_requests)} kinds), answered {dict(sorted(hostile_answers.items()))}")  # fmt: skip
        if any((code >= 500 and code != 501) or code < 0 for code in hostile_answers):
            print("FAIL: a hostile request got a 5xx or no answer")
    if cpu_before is not None and cpu_after is not None and done:
        used = cpu_after - cpu_before
        print(f"server CPU  {1000 * used / len(done):.1f} ms a request ({used:.1f} s in all)")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server on this machine (default: start one)")
    parser.add_argument("--zoo", default="resnet50", help="the zoo model to ask for (default resnet50)")
    parser.add_argument("--steps", action="store_true", help="ask for the worked steps too, as the page does")
    parser.add_argument("--requests", type=int, default=2000, help="stop after this many requests (default 2000)")
    parser.add_argument("--seconds", type=float, default=20.0, help="or after this many seconds (default 20)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (default 8)")
    parser.add_argument("--hostile", type=int, default=0,
                        help="clients sending the hostile-input suite's requests meanwhile (default 0)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.url and urlparse(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("--url: this load test only runs against a server on this machine (loopback)")
    if not (1 <= args.requests <= 100_000 and 0 < args.seconds <= 300 and 1 <= args.concurrency <= 64):
        raise SystemExit("keep it small: --requests 1..100000, --seconds up to 300, --concurrency 1..64")
    body: dict[str, object] = {"zoo": args.zoo}
    if args.steps:
        body["steps"] = True
    proc = None
    url = args.url.rstrip("/") if args.url else None
    if url is None:
        proc, url = start_server()
    try:
        run(url, body, args.requests, args.seconds, args.concurrency, proc.pid if proc else None, args.hostile)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main(sys.argv[1:])
