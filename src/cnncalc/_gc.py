"""Pausing the cyclic garbage collector around passes that make many small objects and no cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """A network's walk and its JSON make thousands of tuples and dicts but no reference cycles, so the
    collector's passes over them are wasted work (a third of the time on large networks)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
