"""Commands beyond the layer table, one module each, each exposing `command` (a click command).

They are imported only when `cnncalc` starts, and import nothing heavy at the top, so `cnncalc show` stays fast.
"""

from __future__ import annotations

import importlib

import click

NAMES = ("rf", "map", "matrix", "cost", "memory", "design", "draw", "plot", "serve")


def register_all(group: click.Group) -> None:
    for name in NAMES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue  # being written: the list is complete once every module exists
        group.add_command(module.command)
