"""The web page's exercise sheets (Starlette's TestClient): the same sheets as the CLI, bounded work, clear refusals."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("starlette", reason="the web extra (starlette) is not installed")
pytest.importorskip("httpx", reason="Starlette's TestClient needs httpx")

from click.testing import CliRunner
from starlette.testclient import TestClient

from cnncalc.cli import main
from cnncalc.web import app as web
from cnncalc.web.exercise import MAX_WEB_STUDENTS


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(web.app)


def test_the_same_sheet_as_the_cli(client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    roster = "id,name\ns1,Ann\ns2,Bo\n"
    r = client.post("/api/exercise", json={"seed": 8, "kinds": "size,rf,map", "difficulty": "hard",
                                           "students": roster})  # fmt: skip
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["students"] == 2 and data["columns"][0] == "q1a"
    (tmp_path / "roster.csv").write_text(roster, encoding="utf-8")
    args = ["--kinds", "size,rf,map", "--difficulty", "hard", "--students", str(tmp_path / "roster.csv")]
    run = CliRunner().invoke(main, ["exercise", "--seed", "8", *args, "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    for field, name in (("sheet_md", "sheet.md"), ("key_latex", "key.tex"), ("key_json", "key.json"),
                        ("answers_csv", "answers.csv")):  # fmt: skip
        assert data[field] == (tmp_path / "out" / name).read_text(encoding="utf-8"), name
    assert json.loads(data["key_json"])["format"] == "cnncalc exercise key"


def test_the_page_is_served_and_linked(client: TestClient) -> None:
    page = client.get("/exercise")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert '<script src="/static/exercise.js" defer></script>' in page.text and "<script>" not in page.text
    assert client.get("/static/exercise.js").status_code == 200
    assert 'href="/exercise"' in client.get("/").text


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"seed": 1, "students": "id\n" + "".join(f"s{i}\n" for i in range(MAX_WEB_STUDENTS + 1))}, 413, "at most 60"),
    ({"seed": 1, "questions": 500}, 400, "questions must be 1 to"),
    ({"seed": 1, "questions": 24, "students": "id\n" + "".join(f"s{i}\n" for i in range(30))}, 413, "at most 600"),
    ({"seed": 1, "kinds": "sizes"}, 400, "choose from"),
    ({"seed": 1, "difficulty": "brutal"}, 400, "difficulty"),
    ({"seed": -1}, 400, "seed must be"),
    ({"seed": "one"}, 400, "seed must be a number"),
    ({"seed": 1, "students": "name\nAnn\n"}, 400, "`id` or `student` column"),
    ({"seed": 1, "colour": "red"}, 400, "unknown field"),
])  # fmt: skip
def test_refusals(client: TestClient, body: dict, status: int, words: str) -> None:  # type: ignore[type-arg]
    r = client.post("/api/exercise", json=body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]
