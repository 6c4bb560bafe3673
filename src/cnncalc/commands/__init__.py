"""Commands beyond the layer table, one module each, each exposing `command` (a click command).

A command's module is imported only when that command runs (or `--help` lists it), so `cnncalc show` pays nothing
for the others.
"""

from __future__ import annotations

import importlib
import os

import click

NAMES = ("rf", "map", "matrix", "cost", "memory", "design", "draw", "plot", "serve", "exercise", "loss", "linear",
         "chain", "batchnorm", "lowrank")  # fmt: skip
# The course's calculations that `cnncalc check NAME ... --answer` checks as `cnncalc NAME ... --answer` does.
COURSE = ("loss", "linear", "chain", "batchnorm", "lowrank")


class LazyGroup(click.Group):
    """A click group that finds the commands of NAMES in this package on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *NAMES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in NAMES:
            return importlib.import_module(f"{__name__}.{cmd_name}").command  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name == "check" and rest and rest[0] in COURSE and not os.path.exists(rest[0]):
            return rest[0], self.get_command(ctx, rest[0]), rest[1:]
        return name, command, rest
