"""Every command and every web endpoint on every hostile input of `hostile/`: one clear line, never a traceback.

The inputs live in `hostile/` as files, each with the expected outcome beside it in `NAME.err` (as tomli's test data
does): `ok`, or a fragment of the one line the commands must print on standard error (empty: a result or any one clear
line).

- `specs/*.cnn`, `onnx/*.onnx` and `paths/*.path` (a path to read: a device, a FIFO, a directory) are given as SPEC
  to every command that reads a network, and as a spec to every POST endpoint;
- `answers/*.csv` are given to `check --answers`, `grade --answers` and `/api/check`;
- `args/*.args` are whole command lines; `web/*.json` are whole requests.

The commands come from `cnncalc --help` and the endpoints from the app's routes, so a new command or route must be
placed in SPEC_COMMANDS or NO_SPEC (the test below fails until it is) and is then run on every input. Each run has a
hang detector (a thread with a deadline), not a speed assertion.
"""

from __future__ import annotations

import json
import os
import shlex
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result

from cnncalc.cli import main

HOSTILE = Path(__file__).parent / "hostile"
HANG = float(
    os.environ.get("CNNCALC_HANG", 60)
)  # seconds: a run past this is a hang (each takes well under a second when the limits hold)

GOOD_SPEC = "input 8x8x1\nconv 4 k=3\nrelu\nmaxpool k=2\nflatten\nfc 10\n"
GOOD_ANSWERS = "layer,output_shape,params\nconv1,6x6x4,40\n"
GOOD_CLASS = "student,total\nana,1000\nben,1130\n"

# How each command that reads a network is run: the arguments after SPEC ({out}: a file in a fresh folder).
SPEC_COMMANDS: dict[str, list[list[str]]] = {
    "show": [
        [],
        ["--format", "json"],
        ["--format", "csv"],
        ["--format", "spec"],
        ["--explain", "--format", "latex"],
        ["--conventions"],
        ["--strict"],
    ],
    "check": [[], ["--total", "5"], ["--answers", "{answers}"]],
    "grade": [["--answers", "{class}", "--format", "csv"]],
    "export": [["-o", "{out}/x.py"]],
    "rf": [[], ["--format", "json"]],
    "map": [["--layer", "input", "--pixel", "0,0"]],
    "memory": [["--training"]],
    "draw": [[], ["--format", "tikz"]],
    "plot": [["-o", "{out}/x.png"]],
}
# Commands that read no network: their hostile inputs are the command lines of args/.
NO_SPEC = {
    "zoo",
    "ops",
    "cost",
    "design",
    "matrix",
    "serve",
    "batchnorm",
    "chain",
    "exercise",
    "linear",
    "loss",
    "lowrank",
}
# Exit codes of a run on good input: check says 1 when an answer is wrong.
GOOD_EXITS = {"check": (0, 1)}


def cases(kind: str, ext: str) -> list[Path]:
    return sorted((HOSTILE / kind).glob(f"*.{ext}"))


def expected(path: Path) -> str:
    return path.with_suffix(".err").read_text(encoding="utf-8").rstrip("\n")


def bounded(fn: Callable[[], Any], what: str) -> Any:
    """fn() in a thread, failing the test if it runs past HANG seconds (the thread is left to finish)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # reported below with its traceback
            box["error"] = "".join(traceback.format_exception(exc))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(HANG)
    if thread.is_alive():
        pytest.fail(f"{what}: still running after {HANG:.0f} s (a hang)")
    if "error" in box:
        pytest.fail(f"{what}: raised\n{box['error']}")
    return box["value"]


def invoke(argv: list[str]) -> Result:
    runner = CliRunner()
    return bounded(lambda: runner.invoke(main, argv, catch_exceptions=True), "cnncalc " + shlex.join(argv)[:200])


def judge(argv: list[str], result: Result, want: str, good_exits: tuple[int, ...] = (0,)) -> str | None:
    """None if the run did what `want` says, else what went wrong."""
    shown = "cnncalc " + shlex.join(argv)[:160]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        trace = "".join(traceback.format_exception(result.exception))[-1500:]
        return f"{shown}: traceback\n{trace}"
    err = result.stderr.strip()
    if want == "" and result.exit_code in good_exits:
        return None  # an empty NAME.err: a result or one clear line, both fine
    if want == "ok":
        if result.exit_code not in good_exits:
            return f"{shown}: exit {result.exit_code}, wanted {good_exits}: {err[:300]}"
        return None
    if result.exit_code != 2:
        return f"{shown}: exit {result.exit_code}, wanted 2 ({err[:300]!r})"
    if "Traceback" in err:
        return f"{shown}: traceback on stderr\n{err[-1500:]}"
    # click's own usage errors end with one `Error: ...` line naming the option; ours are one line.
    line = err.splitlines()[-1] if err.startswith("Usage:") else err
    if not line or "\n" in line:
        return f"{shown}: wanted one line on stderr, got {err[:500]!r}"
    if len(line) > 2000:
        return f"{shown}: a {len(line):,}-character error line (the input is echoed whole?)"
    if want and want not in line:
        return f"{shown}: wanted {want!r} in {line[:300]!r}"
    return None


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The special paths of paths/*.path, and good answer files."""
    tmp = tmp_path_factory.mktemp("hostile")
    fifo = tmp / "spec.fifo"
    os.mkfifo(fifo)
    folder = tmp / "folder.cnn"
    folder.mkdir()
    huge = tmp / "huge.cnn"
    with huge.open("wb") as f:
        f.truncate(3 * 1024**3)  # sparse: 3 GiB that take no disk
    (tmp / "answers.csv").write_text(GOOD_ANSWERS, encoding="utf-8")
    (tmp / "class.csv").write_text(GOOD_CLASS, encoding="utf-8")
    (tmp / "good.cnn").write_text(GOOD_SPEC, encoding="utf-8")
    yield {
        "tmp": str(tmp),
        "fifo": str(fifo),
        "dir": str(folder),
        "huge": str(huge),
        "answers": str(tmp / "answers.csv"),
        "class": str(tmp / "class.csv"),
        "good": str(tmp / "good.cnn"),
    }


def fill(text: str, places: dict[str, str], out: Path) -> str:
    return text.replace("{out}", str(out)).format(**places) if "{" in text else text


def test_every_command_is_covered() -> None:
    names = set(main.list_commands(click.Context(main)))
    missing = names - set(SPEC_COMMANDS) - NO_SPEC
    assert not missing, f"new commands {missing}: add them to SPEC_COMMANDS or NO_SPEC (with args/ cases)"
    covered = {shlex.split(p.read_text(encoding="utf-8"))[0] for p in cases("args", "args")}
    assert NO_SPEC - {"serve", "zoo", "ops"} <= covered, "each command that reads no network has args/ cases"


def spec_inputs() -> list[Path]:
    return cases("specs", "cnn") + cases("onnx", "onnx") + cases("paths", "path")


def spec_path(case: Path, places: dict[str, str]) -> str:
    if case.suffix == ".path":
        return case.read_text(encoding="utf-8").strip().format(**places)
    return str(case)


@pytest.mark.parametrize("case", spec_inputs(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_command_on_a_hostile_network(case: Path, places: dict[str, str], tmp_path: Path) -> None:
    want = expected(case)
    spec = spec_path(case, places)
    problems = []
    for command, variants in SPEC_COMMANDS.items():
        for extra in variants:
            argv = [command, spec, *(fill(a, places, tmp_path) for a in extra)]
            problem = judge(argv, invoke(argv), want, GOOD_EXITS.get(command, (0,)))
            if problem:
                problems.append(problem)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("case", cases("answers", "csv"), ids=lambda p: p.name)
def test_answer_checking_on_hostile_answers(case: Path, places: dict[str, str]) -> None:
    want = expected(case)
    problems = []
    for argv, good in (
        (["check", places["good"], "--answers", str(case)], (0, 1)),
        (["check", places["good"], "--answers", str(case), "--format", "json"], (0, 1)),
        (["grade", places["good"], "--answers", str(case)], (0,)),
        (["grade", places["good"], "--answers", str(case), "--format", "csv"], (0,)),
    ):
        problem = judge(argv, invoke(argv), want, good)
        if problem:
            problems.append(problem)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("case", cases("args", "args"), ids=lambda p: p.name)
def test_hostile_command_lines(case: Path, places: dict[str, str], tmp_path: Path) -> None:
    argv = [fill(a, places, tmp_path) for a in shlex.split(case.read_text(encoding="utf-8"))]
    problem = judge(argv, invoke(argv), expected(case))
    assert problem is None, problem


# ----------------------------------------------------------------------------- the web API


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from starlette.testclient import TestClient

    from cnncalc.web.app import create_app

    with TestClient(create_app(), base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as c:
        yield c


def post_routes() -> list[str]:
    """Every POST path of the app, with {fmt} spelled out for each export."""
    from starlette.routing import Route

    from cnncalc.web.app import EXPORTS, create_app

    paths = []
    for route in create_app().routes:
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            if "{fmt}" in route.path:
                paths += [route.path.replace("{fmt}", f) for f in EXPORTS]
            else:
                paths.append(route.path)
    return paths


def web_problem(client: Any, method: str, path: str, body: Any, want_ok: bool) -> str | None:
    def send() -> Any:
        if method == "GET":
            return client.get(path)
        return client.request(method, path, content=json.dumps(body), headers={"Content-Type": "application/json"})

    answer = bounded(send, f"{method} {path}")
    shown = f"{method} {path} {json.dumps(body)[:120]}"
    if answer.status_code >= 500 and answer.status_code != 501:
        return f"{shown}: {answer.status_code} {answer.text[:1500]}"
    if want_ok and answer.status_code != 200 and answer.status_code != 501:
        return f"{shown}: {answer.status_code}, wanted 200: {answer.text[:300]}"
    if not want_ok and not 400 <= answer.status_code < 500:
        return f"{shown}: {answer.status_code}, wanted a refusal"
    if answer.status_code >= 400 and not answer.json().get("error"):
        return f"{shown}: {answer.status_code} without an error message"
    return None


@pytest.mark.parametrize("case", cases("specs", "cnn"), ids=lambda p: p.name)
def test_every_endpoint_on_a_hostile_spec(case: Path, client: Any) -> None:
    text = case.read_text(encoding="utf-8")
    want_ok = expected(case) == "ok"
    problems = []
    for path in post_routes():
        body: dict[str, Any] = {"spec": text}
        if path == "/api/check":
            body["total"] = "5"
        problem = web_problem(client, "POST", path, body, want_ok)
        if problem and not (path not in ("/api/report", "/api/check") and "unknown field" in problem):
            problems.append(problem)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("case", cases("answers", "csv"), ids=lambda p: p.name)
def test_answer_checking_endpoint_on_hostile_answers(case: Path, client: Any) -> None:
    body = {"spec": GOOD_SPEC, "answers_csv": case.read_text(encoding="utf-8")}
    answer = bounded(lambda: client.post("/api/check", json=body), "POST /api/check")
    assert answer.status_code < 500, answer.text[:1500]
    if expected(case) == "ok":
        assert answer.status_code == 200, answer.text[:300]
    if answer.status_code >= 400:
        assert answer.json()["error"]


@pytest.mark.parametrize("case", cases("web", "json"), ids=lambda p: p.name)
def test_hostile_requests(case: Path, client: Any) -> None:
    """web/*.json: {"method", "path", "body" (sent as given, a string or JSON), "headers"}; NAME.err: the status,
    then a fragment of the error message."""
    request = json.loads(case.read_text(encoding="utf-8"))
    status, _, fragment = expected(case).partition(" ")
    body = request.get("body")
    content = body if isinstance(body, str) else json.dumps(body) if body is not None else None
    headers = {"Content-Type": "application/json", **request.get("headers", {})}
    answer = bounded(
        lambda: client.request(request["method"], request["path"], content=content, headers=headers),
        f"{request['method']} {request['path']}",
    )
    assert answer.status_code == int(status), answer.text[:1500]
    if answer.status_code >= 400:
        assert fragment in answer.json()["error"], answer.json()["error"]
