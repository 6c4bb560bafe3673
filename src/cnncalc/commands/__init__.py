"""Commands beyond the layer table, one module each, each exposing `command` (a click command).

A command's module is imported only when that command runs (or `--help` lists it), so `cnncalc show` pays nothing
for the others.
"""

from __future__ import annotations

import importlib

import click

NAMES = ("rf", "map", "matrix", "cost", "memory", "design", "draw", "plot", "serve")


class LazyGroup(click.Group):
    """A click group that finds the commands of NAMES in this package on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *NAMES})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in NAMES:
            return importlib.import_module(f"{__name__}.{cmd_name}").command  # type: ignore[no-any-return]
        return super().get_command(ctx, cmd_name)
