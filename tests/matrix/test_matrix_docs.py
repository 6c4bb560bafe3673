"""docs/matrix.md stays true: every `$ cnncalc ...` block in it is what the command prints today."""

from __future__ import annotations

import re
import shlex

from conftest import TESTS

DOC = TESTS.parent / "docs" / "matrix.md"


def test_doc_outputs_are_current(cli) -> None:  # type: ignore[no-untyped-def]
    blocks = re.findall(r"```\n\$ cnncalc (.*?)\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 5
    for command, shown in blocks:
        out = cli(*shlex.split(command))
        assert out.stdout + out.stderr == shown, f"regenerate the output of `cnncalc {command}` in docs/matrix.md"
