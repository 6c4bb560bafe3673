"""Shared helpers. Expected figures live in tests/reference (copied from ../shared/reference) and the seeds."""

from __future__ import annotations

import contextlib
import csv
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REFERENCE = TESTS / "reference"
CLI = Path(sys.executable).parent / "cnncalc"  # the command `make test` installs into .venv


def reference_rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `cnncalc` as a user would, in this interpreter's environment."""
    return subprocess.run(
        [sys.executable, "-m", "cnncalc.cli", *args], input=stdin, capture_output=True, text=True, check=False
    )


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    return run_cli


CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own browser downloads do not work here
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@contextlib.contextmanager
def live_server(name: str) -> Iterator[str]:
    """cnncalc's web app on uvicorn on a free loopback port, for browser tests: its URL while the block runs."""
    import uvicorn

    from cnncalc.web import app as web

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY: see commands/serve.py
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(web.app, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True, name=name)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()
