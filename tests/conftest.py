"""Shared helpers. Expected figures live in tests/reference (copied from ../shared/reference) and the seeds."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
REFERENCE = TESTS / "reference"
CLI = Path(sys.executable).parent / "cnncalc"  # the command `make test` installs into .venv


def reference_rows(name: str) -> list[dict[str, str]]:
    with open(REFERENCE / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run `cnncalc` as a user would, in this interpreter's environment."""
    return subprocess.run(
        [sys.executable, "-m", "cnncalc.cli", *args], input=stdin, capture_output=True, text=True, check=False
    )


@pytest.fixture
def cli():  # type: ignore[no-untyped-def]
    return run_cli
