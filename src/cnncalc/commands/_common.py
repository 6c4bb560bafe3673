"""What the commands share: reading a network as `cnncalc show` does, and failing with one line."""

from __future__ import annotations

import sys
import warnings
from typing import Any, NoReturn

import click

from ..errors import CnnCalcError


class Whole(click.ParamType):
    """A whole number option between `low` and `high` (MAX_SIZE by default): ASCII digits, and a value that is
    too long is not echoed back in full."""

    name = "integer"

    def __init__(self, low: int = 1, high: int | None = None) -> None:
        from ..ir import MAX_SIZE

        self.low, self.high = low, MAX_SIZE if high is None else high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from ..ops.base import read_whole, shortened

        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = read_whole(str(value))
            except ValueError as exc:
                self.fail(f"{shortened(value)}: {exc}", param, ctx)
        if not self.low <= number <= self.high:
            self.fail(f"{number}: must be between {self.low:,} and {self.high:,}", param, ctx)
        return number


class Real(click.ParamType):
    """A finite number option within +-`most`."""

    name = "number"

    def __init__(self, most: float = 1e6, positive: bool = False) -> None:
        self.most, self.positive = most, positive

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        from ..ops.base import shortened

        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{shortened(value)}: expected a number, like 0.5", param, ctx)
        low = 0.0 if self.positive else -self.most
        if not (low <= number <= self.most) or (self.positive and number == 0):
            where = (
                f"above 0 and at most {self.most:g}" if self.positive else f"between {-self.most:g} and {self.most:g}"
            )
            self.fail(f"{shortened(value)}: must be {where}", param, ctx)
        return number


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


def load_model(spec: str, options: tuple[str, ...], input_: str | None, bias: bool = True, layout: str = "hwc") -> Any:
    """A model as `cnncalc show` loads it: a spec file, - for standard input, or a zoo name with KEY=VALUE options;
    `layout` is how `--input` writes shapes (hwc, or chw: channels first as PyTorch writes them)."""
    from ..api import load
    from ..spec import parse_spec

    source: Any = parse_spec(sys.stdin.read(), source="<stdin>", name="stdin") if spec == "-" else spec
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # import warnings are listed with the output already
        return load(source, input=input_, options=zoo_options(options), bias=bias, layout=layout)


def input_option(
    help_text: str = "replace the input shape, in --layout's order (HxWxC, or CxHxW with --layout chw)",
) -> Any:
    """The `--input` option of the commands that read a network; `--layout` says its order."""
    return click.option("--input", "input_", metavar="HxWxC", help=help_text)


def layout_option(
    help_text: str = "how --input (and the output) writes shapes: H x W x C, or C x H x W as PyTorch does",
) -> Any:
    """The `--layout` option every command that takes `--input` shares."""
    return click.option("--layout", type=click.Choice(("hwc", "chw")), default="hwc", show_default=True, help=help_text)
