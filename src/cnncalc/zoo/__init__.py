"""The built-in networks, each built with the public `Builder` and tested against an outside figure."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import CnnCalcError
from ..ir import Graph


@dataclass(frozen=True)
class ZooEntry:
    name: str
    build: Callable[[], Graph]
    summary: str
    source: str


ZOO: dict[str, ZooEntry] = {}


def entry(name: str, summary: str, source: str) -> Callable[[Callable[[], Graph]], Callable[[], Graph]]:
    def wrap(fn: Callable[[], Graph]) -> Callable[[], Graph]:
        if name in ZOO:
            raise RuntimeError(f"zoo model {name!r} is registered twice")
        ZOO[name] = ZooEntry(name, fn, summary, source)
        return fn

    return wrap


def names() -> list[str]:
    _load()
    return list(ZOO)


def get(name: str) -> ZooEntry:
    _load()
    if name not in ZOO:
        close = difflib.get_close_matches(name, list(ZOO), n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise CnnCalcError(f"no zoo model named {name!r}{hint} (`cnncalc zoo` lists them)")
    return ZOO[name]


def build(name: str) -> Graph:
    return get(name).build()


def _load() -> None:
    from . import classic, vgg  # noqa: F401  (registration)
