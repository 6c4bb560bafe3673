"""Errors users can cause. Anything else that escapes is a bug and keeps its traceback."""

from __future__ import annotations


class CnnCalcError(Exception):
    """Bad input: printed as one line by the CLI, which then exits with code 2."""


class OpError(CnnCalcError):
    """Raised by an op or a formula helper; it knows nothing of files or layers.

    The graph walker catches it and re-raises it as a `SpecError` with the
    location attached, so every message names its place exactly once.
    """


class SpecError(CnnCalcError):
    """A problem at a known place: `FILE:LINE: LAYER: message`."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        layer: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.layer = layer
        super().__init__(self.located())

    def located(self) -> str:
        where = ""
        if self.source is not None:
            where = self.source + (f":{self.line}" if self.line is not None else "") + ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        who = f"{self.layer}: " if self.layer else ""
        return f"{where}{who}{self.message}"
