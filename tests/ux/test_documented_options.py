"""Every option README.md and docs/*.md give a command exists in that command's --help.

Read from each `cnncalc CMD [SUB] ... --opt` command line (code blocks and inline code) and from the paragraphs
that begin "Options of `CMD`:".
"""

from __future__ import annotations

import re

import click
import pytest

from cnncalc.cli import main
from conftest import TESTS

ROOT = TESTS.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OPTION = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")
COMMAND_LINE = re.compile(r"(?:^|[\s`$(])cnncalc ([a-z][\w-]*)((?: [^\s`|;#)]+)*)")
OPTIONS_OF = re.compile(r"Options of `(?:cnncalc )?([a-z][\w-]*)`:(.*?)(?:\n\n|$)", re.DOTALL)


def _command(path: list[str]) -> click.Command | None:
    ctx = click.Context(main, info_name="cnncalc")
    command: click.Command | None = main
    for name in path:
        if not isinstance(command, click.Group):
            return None
        command = command.get_command(ctx, name)
        if command is None:
            return None
        ctx = click.Context(command, info_name=name, parent=ctx)
    return command


def _options(command: click.Command) -> set[str]:
    names = {"--help", "-h"}
    for param in command.params:
        names |= set(param.opts) | set(getattr(param, "secondary_opts", []))
    return names


def _claims() -> list[tuple[str, str, str]]:
    """(page:line, command path, option) for every option the pages give a command."""
    out = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), start=1):
            for m in COMMAND_LINE.finditer(line):
                words = [m.group(1), *m.group(2).split()]
                path = [words[0]]
                top = _command(path)
                if isinstance(top, click.Group) and len(words) > 1 and not words[1].startswith("-"):
                    path.append(words[1])
                for word in words[len(path) :]:
                    option = OPTION.match(word.lstrip("[").split("=")[0])
                    if option and word.lstrip("[").startswith("-"):
                        out.append((f"{page.name}:{number}", " ".join(path), option.group(1)))
        for m in OPTIONS_OF.finditer(text):
            number = text[: m.start()].count("\n") + 1
            for option in re.findall(r"`(--[\w-]+)", m.group(2)):
                out.append((f"{page.name}:{number}", m.group(1), option))
    return out


def test_the_reader_finds_options() -> None:
    claims = _claims()
    assert len(claims) > 100
    assert any(cmd == "show" and opt == "--layout" for _, cmd, opt in claims)


@pytest.mark.parametrize(("where", "path", "option"), sorted(set(_claims())))
def test_documented_option_exists(where: str, path: str, option: str) -> None:
    command = _command(path.split())
    if command is None:
        pytest.fail(f"{where}: no command `cnncalc {path}`")
    assert option in _options(command), f"{where}: `cnncalc {path}` has no option {option}"
