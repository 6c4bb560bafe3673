"""`cnncalc plot SPEC -o costs.png`: params and MACs per layer as bars, the receptive field as a line."""

from __future__ import annotations

import click

from ..errors import CnnCalcError
from ._common import fail, layout_option, load_model


@click.command(name="plot")
@click.argument("spec")
@click.argument("options", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("-o", "--output", metavar="FILE", required=True, help="the plot: .png, .pdf or .svg")
@click.option("--input", "input_", metavar="HxWxC", help="replace the input shape (name=HxWxC for one of several)")
@layout_option()
@click.option("--no-bias", is_flag=True, help="count as if no layer had a bias")
def command(spec: str, options: tuple[str, ...], output: str, input_: str | None, layout: str, no_bias: bool) -> None:
    """Plot the costs of SPEC (a spec file, - for standard input, or a zoo name): params and MACs of every layer
    that has any, as bars on a log axis, the receptive field size as a line, the totals in the title.

    Needs matplotlib: pip install 'cnncalc[draw]'.
    """
    from ..render.draw import plot_costs

    try:
        model = load_model(spec, options, input_, bias=not no_bias, layout=layout)
        plot_costs(model, output)
    except CnnCalcError as exc:
        fail(str(exc))
        return
    click.echo(f"wrote {output}", err=True)
