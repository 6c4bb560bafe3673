"""No user-facing text names the project's working material: no "seed homework", "the notes' count" or "lecture
slides" in help texts, the web page, README.md or docs/*.md. A figure says what it is and where it comes from (a
paper, a course exercise). Words with another meaning stay: a random `--seed`, a `notes` column of remarks, a window
that slides along an axis."""

from __future__ import annotations

import re

import click
import pytest

from cnncalc.cli import main
from conftest import TESTS

ROOT = TESTS.parent
WORKING = re.compile(
    r"\b(the|course|lecture|persian|seed|our|my|their) notes\b(?! column)|\bnotes'"
    r"|\b(lecture|course|the|in|from) slides\b|\bslides'"
    r"|\bseed (homework|homeworks|notes|network|networks|slides|figures?|tables?)\b|\bthe seeds\b",
    re.IGNORECASE,
)


def _help_texts() -> dict[str, str]:
    """Every command's and subcommand's --help, by its command line."""
    texts: dict[str, str] = {}

    def walk(command: click.Command, ctx: click.Context, path: str) -> None:
        texts[path] = command.get_help(ctx)
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None:
                    walk(sub, click.Context(sub, info_name=name, parent=ctx), f"{path} {name}")

    walk(main, click.Context(main, info_name="cnncalc"), "cnncalc")
    return texts


def _hits(text: str) -> list[str]:
    return [text[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ") for m in WORKING.finditer(text)]


def test_the_pattern_finds_what_it_should() -> None:
    for bad in ("the pose network of the seed homework", "the notes' count", "worked in course slides"):
        assert _hits(bad), bad
    for fine in ("--seed N: a random seed", "a window slides along the axis", "the notes column", "seeded fuzzing"):
        assert not _hits(fine), fine


@pytest.mark.parametrize("name", sorted(_help_texts()))
def test_help_text(name: str) -> None:
    assert not _hits(_help_texts()[name]), name


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "src" / "cnncalc" / "web" / "static").glob("*.*")),
    ],
    ids=lambda p: p.name,
)
def test_pages(path) -> None:  # type: ignore[no-untyped-def]
    if path.name == "architecture.md":
        pytest.skip("the developers' map of the code")
    assert not _hits(path.read_text(encoding="utf-8")), path.name


@pytest.mark.parametrize(
    "args",
    [
        ("cost", "--hw", "7", "--cin", "64", "--cout", "64", "--all"),
        ("cost", "--hw", "7", "--cin", "64", "--cout", "64", "--all", "--format", "json"),
        ("matrix", "conv", "--input", "4", "--kernel", "3", "--pad", "1"),
        ("zoo", "--format", "md"),
        ("show", "alexnet_caffe", "--explain"),
    ],
)
def test_outputs(cli, args: tuple[str, ...]) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.returncode == 0, result.stderr
    assert not _hits(result.stdout), _hits(result.stdout)
