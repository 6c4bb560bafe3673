"""What the commands share: reading a network as `cnncalc show` does, and failing with one line."""

from __future__ import annotations

import sys
import warnings
from typing import Any, NoReturn

import click

from ..errors import CnnCalcError


def fail(message: str) -> NoReturn:
    """Bad input: one line on standard error, exit 2."""
    click.echo(message, err=True)
    sys.exit(2)


def zoo_options(pairs: tuple[str, ...]) -> dict[str, str]:
    """A zoo model's KEY=VALUE options."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CnnCalcError(f"{pair!r}: zoo options are written key=value, e.g. aux=true")
        out[key] = value
    return out


def load_model(spec: str, options: tuple[str, ...], input_: str | None, bias: bool = True) -> Any:
    """A model as `cnncalc show` loads it: a spec file, - for standard input, or a zoo name with KEY=VALUE options."""
    from ..api import load
    from ..spec import parse_spec

    source: Any = parse_spec(sys.stdin.read(), source="<stdin>", name="stdin") if spec == "-" else spec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # import warnings are listed with the output already
        return load(source, input=input_, options=zoo_options(options), bias=bias)
