"""`cnncalc exercise` and `cnncalc grade KEY.json`: reproducible sheets, one variant per student, a grade round
trip with right and wrong answers, LaTeX that compiles in one pdflatex run, and one-line refusals."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cnncalc.cli import main
from cnncalc.teach.exercise import Student, make_sheet

FILES = ("sheet.md", "sheet.tex", "key.md", "key.tex", "key.json", "answers.csv")


def invoke(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


def roster(path: Path, n: int) -> Path:
    path.write_text("id,name\n" + "".join(f"s{i:02d},Student {i}\n" for i in range(n)), encoding="utf-8")
    return path


def test_same_seed_same_files_byte_for_byte(tmp_path: Path) -> None:
    r = roster(tmp_path / "roster.csv", 5)
    for name in ("a", "b", "c"):
        seed = "11" if name != "c" else "12"
        run = invoke("exercise", "--seed", seed, "--students", str(r), "--difficulty", "hard", "--out",
                     str(tmp_path / name))  # fmt: skip
        assert run.exit_code == 0, run.output
    for f in FILES:
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    assert (tmp_path / "a" / "key.json").read_bytes() != (tmp_path / "c" / "key.json").read_bytes()


def test_adding_a_student_changes_no_one_else() -> None:
    few = make_sheet(5, students=[Student("ann", ""), Student("bo", "")])
    more = make_sheet(5, students=[Student("zed", ""), Student("ann", ""), Student("cy", ""), Student("bo", "")])
    by_id = {v.student: v.to_dict() for v in more.variants}
    for v in few.variants:
        assert by_id[v.student] == v.to_dict()
    assert by_id["ann"] != by_id["bo"]  # each student their own numbers
    assert few.part_ids == more.part_ids  # and the same columns for all


def test_kinds_difficulty_and_questions() -> None:
    sheet = make_sheet(1, ["map", "rf"], "easy", 5)
    kinds = [q.kind for q in sheet.variants[0].questions]
    assert len(kinds) == 5 and set(kinds) == {"map", "rf"}
    run = invoke("exercise", "--seed", "1", "--kinds", "size,table", "--questions", "3", "--format", "json")
    key = json.loads(run.output)
    assert {q["kind"] for q in key["variants"][0]["questions"]} == {"size", "table"}


def _number(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)  # rounded by hand to 3 decimals


def _answers(variant: dict[str, Any]) -> dict[str, str]:
    out = {}
    for q in variant["questions"]:
        for p in q["parts"]:
            a = p["answer"]
            out[p["id"]] = " ".join(map(_number, a)) if isinstance(a, list) else _number(a)
    return out


def test_grade_round_trip(tmp_path: Path) -> None:
    """Ann answers everything right; Bo makes known slips; Cy is not on the roster."""
    r = roster(tmp_path / "roster.csv", 2)
    out = tmp_path / "hw"
    run = invoke("exercise", "--seed", "4", "--students", str(r), "--kinds", "table,rf,map,matrix,loss,batchnorm",
                 "--out", str(out))  # fmt: skip
    assert run.exit_code == 0, run.output
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    ann, bo = key["variants"]
    rows = [{"student": "s00", **_answers(ann)}]
    wrong = _answers(bo)
    expected: dict[str, str] = {}
    for q in bo["questions"]:
        for p in q["parts"]:
            if q["kind"] == "table" and p.get("field") == "params" and p["ask"].startswith("conv1"):
                spec_bias = "set bias=false" not in q["spec"]
                filters = int(q["spec"].split("conv1: conv ")[1].split()[0])
                wrong[p["id"]] = str(p["answer"] - filters if spec_bias else p["answer"] + filters)
                expected[p["id"]] = "no_bias" if spec_bias else "bias_counted"
            elif q["kind"] == "rf" and p["ask"].startswith("the receptive field") and p["slips"]:
                wrong[p["id"]] = str(p["slips"][0]["gives"])
                expected[p["id"]] = p["slips"][0]["id"]
            elif q["kind"] == "map" and p["ask"].startswith("y'"):
                wrong[p["id"]] = str(p["slips"][0]["gives"])
                expected[p["id"]] = "multiplied-by-S"
            elif q["kind"] in ("loss", "batchnorm") and p["ask"].startswith(("the cross-entropy", "the variance")):
                slip = next(x for x in p["slips"] if x["id"] in ("log10", "unbiased-variance"))
                wrong[p["id"]] = f"{slip['gives']:.4f}"  # as a student rounds it
                expected[p["id"]] = slip["id"]
            elif q["kind"] == "matrix" and p["ask"].startswith("the size") and p["slips"]:
                wrong[p["id"]] = " x ".join(map(str, p["slips"][0]["gives"]))
                expected[p["id"]] = "transposed-size"
    rows.append({"student": "s01", **wrong})
    rows.append({"student": "Cy", **wrong})
    with open(out / "class.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["student", *key["columns"]])
        w.writeheader()
        w.writerows(rows)
    graded = invoke("grade", str(out / "key.json"), "--answers", str(out / "class.csv"), "--format", "json")
    assert graded.exit_code == 0, graded.output
    result = json.loads(graded.output)
    students = {s["student"]: s for s in result["students"]}
    assert set(students) == {"s00", "s01"}
    total = len(key["columns"])
    assert students["s00"]["right"] == total
    assert students["s01"]["right"] == total - len(expected) and len(expected) >= 5
    for v in students["s01"]["verdicts"]:
        if not v["ok"]:
            assert expected[v["layer"]] in [d["mistake"] for d in v["diagnoses"]], v
    assert any("not on the key's roster" in s["message"] for s in result["skipped"])
    text = invoke("grade", str(out / "key.json"), "--answers", str(out / "class.csv"))
    assert "s00: 100%" in text.output


def test_one_shared_variant_grades_any_name(tmp_path: Path) -> None:
    out = tmp_path / "hw"
    assert invoke("exercise", "--seed", "2", "--kinds", "size,params", "--out", str(out)).exit_code == 0
    key = json.loads((out / "key.json").read_text(encoding="utf-8"))
    answers = _answers(key["variants"][0])
    (out / "class.csv").write_text("student," + ",".join(answers) + "\nanyone," + ",".join(answers.values()) + "\n")
    graded = invoke("grade", str(out / "key.json"), "--answers", str(out / "class.csv"))
    assert graded.exit_code == 0 and "anyone: 100%" in graded.output


@pytest.mark.parametrize(("args", "words"), [
    (("--kinds", "sizes"), "--kinds sizes: choose from"),
    (("--questions", "0"), "--questions 0"),
    (("--students", "missing.csv"), "missing.csv: cannot read it"),
])  # fmt: skip
def test_bad_input_is_one_line(args: tuple[str, ...], words: str) -> None:
    run = invoke("exercise", "--seed", "1", *args)
    assert run.exit_code == 2
    assert words in run.output and run.output.count("\n") == 1 and "Traceback" not in run.output


def test_bad_roster_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "r.csv"
    bad.write_text("name\nAnn\n", encoding="utf-8")
    run = invoke("exercise", "--seed", "1", "--students", str(bad))
    assert run.exit_code == 2 and "needs an `id` or `student` column" in run.output
    dup = tmp_path / "d.csv"
    dup.write_text("id\na\na\n", encoding="utf-8")
    assert "already on line 2" in invoke("exercise", "--seed", "1", "--students", str(dup)).output
    key = tmp_path / "key.json"
    key.write_text('{"format": "cnncalc exercise key", "version": 1, "variants": [', encoding="utf-8")
    (tmp_path / "c.csv").write_text("student,q1a\nann,3\n", encoding="utf-8")
    run = invoke("grade", str(key), "--answers", str(tmp_path / "c.csv"))
    assert run.exit_code == 2 and "not a readable exercise key" in run.output


def test_latex_for_forty_students_compiles_in_one_run(tmp_path: Path) -> None:
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("pdflatex is not installed (Debian: apt-get install texlive-latex-base)")
    r = roster(tmp_path / "roster.csv", 40)
    out = tmp_path / "hw"
    assert invoke("exercise", "--seed", "9", "--students", str(r), "--difficulty", "hard", "--out",
                  str(out)).exit_code == 0  # fmt: skip
    for name in ("sheet", "key"):
        run = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=out,
                             capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        assert run.returncode == 0, [x for x in run.stdout.splitlines() if x.startswith("!")]
        log = (out / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        assert "Missing character" not in log and "Rerun" not in log
        assert (out / f"{name}.pdf").stat().st_size > 0
    sheet = (out / "sheet.tex").read_text(encoding="utf-8")
    assert sheet.count(r"\clearpage") == 39


def test_sheet_speaks_to_students() -> None:
    """The sheet says what each figure is; it never shows answers, and the key shows every one."""
    sheet = make_sheet(3, difficulty="medium", students=[Student("s1", "Ann")])
    from cnncalc.render.exercise import sheet_markdown

    md, key = sheet_markdown(sheet), sheet_markdown(sheet, key=True)
    assert "Ann (s1)" in md and "Worked solution" not in md and "Worked solution" in key
    for word in ("seed", "notes", "slides"):
        assert word not in md.lower()
    for p in (p for q in sheet.variants[0].questions for p in q.parts):
        assert f"(column `{p.id}`)" in md and f"(column `{p.id}`)" in key
