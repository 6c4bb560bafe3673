"""`cnncalc lowrank`: a conv or fc layer against its rank-r factorisation, params and MACs."""

from __future__ import annotations

from typing import Any

import click

from ..errors import CnnCalcError
from ._common import Whole
from ._course import course_options, finish


@click.command(name="lowrank")
@click.argument("layer", type=click.Choice(("conv", "fc")))
@click.option("--cin", "c_in", type=Whole(1), required=True, help="input channels (fc: input features)")
@click.option("--cout", "c_out", type=Whole(1), required=True, help="output channels (fc: output features)")
@click.option("--rank", "-r", "rank", type=Whole(1), required=True, help="the rank r")
@click.option("-k", "--kernel", "k", type=Whole(1), default=3, show_default=True, help="conv kernel size")
@click.option("--hw", default="1", metavar="H|HxW", help="conv: the output map's size, for the MACs")
@click.option("--no-bias", is_flag=True, help="count without biases")
@course_options
def command(
    layer: str, c_in: int, c_out: int, rank: int, k: int, hw: str, no_bias: bool, fmt: str, answers: tuple[str, ...]
) -> None:
    """Params and MACs of a conv (k x k, then a 1x1 through r channels) or fc (W ≈ U·V of rank r) against the
    full layer. Answer names: params, macs (the factorised layer), full_params, full_macs."""
    from ..ops.base import read_whole, shortened
    from ..teach.course import low_rank

    def make() -> list[Any]:
        parts = hw.lower().split("x")
        if len(parts) not in (1, 2):
            raise CnnCalcError(f"--hw {shortened(hw)}: write the output size as H or HxW, e.g. 14 or 14x10")
        try:
            sizes = [read_whole(v) for v in parts]
        except ValueError as exc:
            raise CnnCalcError(f"--hw {shortened(hw)}: {exc}; write the output size as H or HxW, e.g. 14") from None
        kernel = k if layer == "conv" else 1
        return [low_rank(layer, c_in, c_out, rank, kernel, sizes[0], sizes[-1], not no_bias)]

    finish(make, fmt, answers)
