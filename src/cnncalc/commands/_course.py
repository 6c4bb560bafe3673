"""What the commands of the course's other calculations share: the output formats and `--answer`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import CnnCalcError
from ._common import fail

F = TypeVar("F", bound=Callable[..., Any])


def course_options(fn: F) -> F:
    """`--format` and `--answer` for a course calculation."""
    fn = click.option(
        "--answer",
        "answers",
        multiple=True,
        metavar="NAME=VALUE",
        help="check a student's answer, e.g. --answer ce=1.04 or --answer p=0.016,0.631,0.353 (repeatable); "
        "exit 1 when one is wrong, naming the likely slip",
    )(fn)
    return click.option(  # type: ignore[no-any-return]
        "--format", "fmt", type=click.Choice(("text", "md", "latex", "json")), default="text", show_default=True
    )(fn)


def finish(make: Callable[[], list[Any]], fmt: str, answers: tuple[str, ...]) -> None:
    """Work the calculations out, check the answers against them, print, and exit 0 (all right) or 1."""
    from ..ops.base import shortened
    from ..render.course import render
    from ..teach.course import check_answer, parse_answer

    try:
        items = make()
        checked = []
        for text in answers:
            name, value = parse_answer(text)
            owners = [w for w in items if name in w.results]
            if not owners:
                known = ", ".join(k for w in items for k in w.results)
                raise CnnCalcError(
                    f"--answer {shortened(text)}: {shortened(name)!r} is not asked here; the figures are {known}"
                )
            checked.append(check_answer(owners[0], name, value))
    except CnnCalcError as exc:
        fail(str(exc))
    click.echo(render(items, fmt, checked), nl=False)
    sys.exit(0 if all(a.ok for a in checked) else 1)


def vector(text: str, option: str) -> list[float]:
    from ..teach.course import parse_vector

    return parse_vector(text, option)
