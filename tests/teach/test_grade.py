"""`cnncalc grade`: a class file of the seed's pose-network answers (seed 000), graded in one command."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

# Student totals as written in seed 000 (weights only, no biases), plus cells of the layer table.
CLASS = """student,total,conv1.params,conv1.output_shape
59010759,"6,260,320",7776,104x104x32
59011061,6260320,7776,
59011427,"61260,320",,
59010027,2442848,,
59011511,6264464,7808,
59010823,abc,7776,
,6260320,,
59011179,6260320,2592,104x104x32
59010555,6384800,,
"""


def grade(cli, tmp_path: Path, *args: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "class.csv"
    path.write_text(CLASS, encoding="utf-8")
    return cli("grade", "posenet", "--answers", str(path), "--of", "weights", "--no-bias", *args)


def test_class_json(cli, tmp_path: Path) -> None:
    out = grade(cli, tmp_path, "--format", "json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    students = {s["student"]: s for s in report["students"]}
    assert students["59010759"]["score"] == 1.0 and students["59010759"]["answered"] == 3
    assert students["59011061"]["answered"] == 2
    slip = students["59011427"]["verdicts"][0]
    assert slip["correct"] == 6_260_320 and slip["diagnoses"][0]["mistake"] == "arithmetic_slip"
    assert students["59010027"]["verdicts"][0]["diagnoses"][0]["mistake"] == "shared_branches+wrong_kernel"
    # 6,264,464 is the total with the biases; conv1 with its 32 biases is 9x9x3x32 + 32 = 7,808.
    wrong = [v for v in students["59011511"]["verdicts"] if not v["ok"]]
    assert {v["diagnoses"][0]["mistake"] for v in wrong} == {"bias_counted"}
    # 9x9x32 = 2,592: conv1 counted with one input channel.
    c1 = next(v for v in students["59011179"]["verdicts"] if v["field"] == "params")
    assert c1["diagnoses"][0]["mistake"] == "one_input_channel"
    assert students["59010555"]["verdicts"][0]["ok"] is False
    counts = {m["mistake"]: m["students"] for m in report["mistakes"]}
    assert counts["bias_counted"] == 1 and counts["arithmetic_slip"] == 1
    lines = {s["line"]: s["message"] for s in report["skipped"]}
    assert "59010823" in lines[7] and "'abc' is not a whole number" in lines[7]
    assert "no student name" in lines[8]
    assert "59010823" not in students


def test_class_table_md_csv(cli, tmp_path: Path) -> None:
    table = grade(cli, tmp_path).stdout
    assert "59010759: 100% (3/3 right)" in table
    assert "Mistakes in the class:" in table and "line 7:" in table
    md = grade(cli, tmp_path, "--format", "md").stdout
    assert "| student | score |" in md and "| 59010759 | 100% | 3/3 |" in md
    rows = list(csv.DictReader(io.StringIO(grade(cli, tmp_path, "--format", "csv").stdout)))
    assert [r["student"] for r in rows][:2] == ["59010759", "59011061"]
    assert rows[0]["score"] == "1.00"


def test_bad_class_files(cli, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("name,total\nx,5\n", encoding="utf-8")
    out = cli("grade", "posenet", "--answers", str(path))
    assert out.returncode == 2 and "no `student` column" in out.stderr
    path.write_text("student,colour\nx,red\n", encoding="utf-8")
    out = cli("grade", "posenet", "--answers", str(path))
    assert out.returncode == 2 and "no column to grade" in out.stderr
