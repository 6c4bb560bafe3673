"""The built-in networks, each built with the public `Builder` and tested against an outside figure.

A zoo module registers builder functions with `@entry(...)`; every module in
this package is imported on first use, so adding a family is adding a file.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import CnnCalcError
from ..ir import Graph
from ..ops.base import boolean


@dataclass(frozen=True)
class ZooEntry:
    name: str
    build: Callable[..., Graph]
    summary: str
    source: str
    options: dict[str, Any] = field(default_factory=dict)  # option -> default, e.g. {"aux": False}

    def make(self, options: Mapping[str, Any] | None = None) -> Graph:
        """Build the graph, with options given as Python values or as text (`aux=true` on the command line)."""
        chosen = dict(self.options)
        for key, raw in (options or {}).items():
            if key not in self.options:
                known = ", ".join(f"{k}={_text(v)}" for k, v in self.options.items()) or "none"
                raise CnnCalcError(f"{self.name}: unknown option {key!r} (options: {known})")
            chosen[key] = _convert(self.name, key, raw, self.options[key])
        return self.build(**chosen)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _convert(model: str, key: str, raw: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return boolean()[0](raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except (TypeError, ValueError):
        raise CnnCalcError(f"{model}: option {key}={raw}: expected {type(default).__name__}") from None
    return raw


ZOO: dict[str, ZooEntry] = {}


def entry(
    name: str, summary: str, source: str, **options: Any
) -> Callable[[Callable[..., Graph]], Callable[..., Graph]]:
    """Register a builder function under `name`; keyword arguments are its options and their defaults."""

    def wrap(fn: Callable[..., Graph]) -> Callable[..., Graph]:
        if name in ZOO:
            raise RuntimeError(f"zoo model {name!r} is registered twice")
        ZOO[name] = ZooEntry(name, fn, summary, source, options)
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


def build(name: str, options: Mapping[str, Any] | None = None) -> Graph:
    """The graph of a zoo model. Built once per process and options, then shared: graphs are never mutated
    (`Graph.with_input_shapes` and the passes make new objects), so sharing is safe."""
    key = (name, tuple(sorted((options or {}).items())))
    try:
        graph = _BUILT.get(key)
    except TypeError:  # an unhashable option value
        return get(name).make(options)
    if graph is None:
        graph = _BUILT[key] = get(name).make(options)
    return graph


_BUILT: dict[tuple[Any, ...], Graph] = {}


_loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{module.name}")
