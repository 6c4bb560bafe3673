"""The web page's exercise sheets: POST /api/exercise makes a sheet, its key and the key file, as
`cnncalc exercise` does, and /exercise is the page that asks for one.

The work is bounded before it starts: at most MAX_WEB_STUDENTS students, MAX_QUESTIONS questions a sheet and
MAX_WEB_QUESTIONS questions in all a request, and the roster is part of the request body, whose size the app
already limits.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from ..teach.exercise import DIFFICULTIES, KINDS, MAX_QUESTIONS, make_sheet, parse_kinds, read_roster

# The app's helpers are imported where they are used: app.py imports this module while it builds its routes.

MAX_WEB_STUDENTS = 60
MAX_WEB_QUESTIONS = 600  # questions in all (students x questions): about 2 s of work and 3 MB of answer
MAX_SEED = 2**63
EXERCISE = {"seed": int, "kinds": str, "difficulty": str, "questions": int, "students": str}


def exercise_of(data: dict[str, Any]) -> dict[str, Any]:
    """The sheet and key as Markdown and LaTeX, the key file and a class file to fill in."""
    from ..render.exercise import sheet_latex, sheet_markdown
    from .app import ApiError

    seed = data.get("seed", 1)
    if not 0 <= seed < MAX_SEED:
        raise ApiError(400, f"seed must be a whole number from 0 to 2^63 - 1, got {seed}")
    difficulty = data.get("difficulty", "medium")
    if difficulty not in DIFFICULTIES:
        raise ApiError(400, f"difficulty {difficulty!r}: choose {', '.join(DIFFICULTIES)}")
    questions = data.get("questions")
    if questions is not None and not 1 <= questions <= MAX_QUESTIONS:
        raise ApiError(400, f"questions must be 1 to {MAX_QUESTIONS}, got {questions}")
    students = None
    if data.get("students", "").strip():
        students = read_roster(data["students"], "roster")
        if len(students) > MAX_WEB_STUDENTS:
            raise ApiError(413, f"{len(students)} students: the page makes sheets for at most {MAX_WEB_STUDENTS}; "
                           "`cnncalc exercise --students` takes more")  # fmt: skip
    kinds = parse_kinds(data.get("kinds"))
    total = (questions or len(kinds)) * (len(students) if students else 1)
    if total > MAX_WEB_QUESTIONS:
        raise ApiError(413, f"{total} questions in all (students x questions): the page makes at most "
                       f"{MAX_WEB_QUESTIONS}; `cnncalc exercise` takes more")  # fmt: skip
    sheet = make_sheet(seed, kinds, difficulty, questions, students)
    return {
        "sheet_md": sheet_markdown(sheet),
        "key_md": sheet_markdown(sheet, key=True),
        "sheet_latex": sheet_latex(sheet),
        "key_latex": sheet_latex(sheet, key=True),
        "key_json": json.dumps(sheet.key(), indent=1, ensure_ascii=False) + "\n",
        "answers_csv": sheet.answers_template(),
        "students": len(sheet.variants) if students else 0,
        "columns": sheet.part_ids,
    }


async def _post_exercise(request: Request) -> Response:
    from .app import checked_fields, compute, json_response, read_body

    data = checked_fields(await read_body(request), EXERCISE)
    return await compute(lambda: json_response(exercise_of(data)))


async def post_exercise(request: Request) -> Response:
    from .app import api

    return await api(_post_exercise)(request)


async def page(request: Request) -> Response:
    from .app import PAGE_POLICY, STATIC

    return FileResponse(STATIC / "exercise.html", headers={"Content-Security-Policy": PAGE_POLICY})


routes = [Route("/exercise", page), Route("/api/exercise", post_exercise, methods=["POST"])]

__all__ = ["KINDS", "MAX_WEB_QUESTIONS", "MAX_WEB_STUDENTS", "exercise_of", "routes"]
