"""The web API under abuse on loopback, bounded in time: slow clients, many requests at once, oversized and
malformed bodies. Every refusal has its status and message, and the server keeps answering the others."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("uvicorn", reason="the web extra (uvicorn) is not installed")
httpx = pytest.importorskip("httpx", reason="httpx is not installed")

import uvicorn  # noqa: E402

from cnncalc.web import app as web  # noqa: E402

VGG16_PARAMS = 138_357_544  # tests/reference/torchvision_reference.csv


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(web.app, log_level="warning", access_log=False))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", port
    srv.should_exit = True
    thread.join(10)
    sock.close()


def report(base: str, body: object) -> httpx.Response:
    return httpx.post(f"{base}/api/report", json=body, timeout=30)


def test_slow_clients_do_not_block_the_others(server: tuple[str, int]) -> None:
    base, port = server
    # Ten clients that send half a request and then stall.
    stalled = []
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        head = (
            b"POST /api/report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 500\r\n\r\n"
        )
        s.sendall(head + b'{"zoo"')
        stalled.append(s)
    try:
        start = time.monotonic()
        answer = report(base, {"zoo": "vgg16"})
        assert answer.status_code == 200
        assert answer.json()["totals"]["params"] == VGG16_PARAMS
        assert time.monotonic() - start < 10
    finally:
        for s in stalled:
            s.close()


def test_many_requests_at_once(server: tuple[str, int]) -> None:
    base, _ = server
    bodies = [{"zoo": "vgg16"}, {"spec": "input 8x8x1\nconv 4 k=3\n"}, {"spec": "input 8x8x1\nconv 4 k=99\n"}] * 20
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda b: report(base, b), bodies))
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 40 and statuses.count(400) == 20
    for a, b in zip(answers, bodies, strict=True):
        if b.get("zoo"):
            assert a.json()["totals"]["params"] == VGG16_PARAMS
        elif a.status_code == 400:
            assert a.json()["line"] == 2 and "kernel 99" in a.json()["error"]


def test_refusals_have_a_status_and_a_message(server: tuple[str, int]) -> None:
    base, _ = server
    big = httpx.post(f"{base}/api/report", content=b"x" * (300 * 1024), headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.json()["error"]
    bad = httpx.post(f"{base}/api/report", content=b'{"spec": ', headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and bad.json()["error"]
    not_json = httpx.post(f"{base}/api/report", content=b"spec=1", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 415 and not_json.json()["error"]
    wrong_type = report(base, ["not", "an", "object"])
    assert wrong_type.status_code == 400 and wrong_type.json()["error"]
    many = "input 8x8x1\n" + "relu\n" * 20_001
    refused = report(base, {"spec": many})
    assert refused.status_code == 413 and "20,000" in refused.json()["error"]
    # And it still answers afterwards.
    assert report(base, {"zoo": "vgg16"}).json()["totals"]["params"] == VGG16_PARAMS


def test_a_lying_content_length_is_refused(server: tuple[str, int]) -> None:
    _, port = server
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/report HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 999999999\r\n\r\n{}")  # fmt: skip
        head = s.recv(4096).decode("latin-1")
    assert head.startswith("HTTP/1.1 413")
    assert json.loads(head.split("\r\n\r\n", 1)[1] or "{}").get("error", "x")
