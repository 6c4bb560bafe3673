"""`cnncalc draw SPEC`: the block drawing of a network as SVG, PNG, PDF or a LaTeX/TikZ document."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import CnnCalcError
from ._common import fail, layout_option, load_model

FORMATS = ("svg", "png", "pdf", "tikz")


@click.command(name="draw")
@click.argument("spec")
@click.argument("options", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("-o", "--output", metavar="FILE", help="write here (.svg, .png, .pdf or .tex); without it, to stdout")
@click.option("--format", "fmt_", type=click.Choice(FORMATS), help="svg (default), png, pdf or tikz (a LaTeX document)")
@click.option(
    "--input",
    "input_",
    metavar="HxWxC",
    help="replace the input shape, in --layout's order (name=HxWxC for one of several)",
)
@layout_option()
@click.option("--no-bias", is_flag=True, help="count as if no layer had a bias (the params in the title)")
@click.option("--dpi", type=float, metavar="N", help="PNG resolution: 96 is the SVG's size (default 192, 2x)")
def command(
    spec: str,
    options: tuple[str, ...],
    output: str | None,
    fmt_: str | None,
    input_: str | None,
    layout: str,
    no_bias: bool,
    dpi: float | None,
) -> None:
    """Draw SPEC (a spec file, - for standard input, or a zoo name) as blocks: one box per layer, sized by
    H, W and C, labelled with its shape and kernel, branches and merges as a graph.

    PNG and PDF need matplotlib (pip install 'cnncalc[draw]') and -o.
    """
    from ..render.draw import FORMATS as BY_SUFFIX
    from ..render.draw import render_svg, render_tikz, write_drawing

    fmt = fmt_ or (BY_SUFFIX.get(Path(output).suffix.lower()) if output else "svg")
    if fmt is None:
        fail(f"{output}: say which format: an extension .svg, .png, .pdf or .tex, or --format svg|png|pdf|tikz")
        return
    if output is None and fmt in ("png", "pdf"):
        fail(f"--format {fmt} writes a file: add -o FILE.{fmt}")
        return
    try:
        model = load_model(spec, options, input_, bias=not no_bias, layout=layout)
        if dpi is not None and fmt != "png":
            raise CnnCalcError(f"--dpi sets a PNG's resolution; {fmt} is drawn to scale (write -o FILE.png)")
        if output is None:
            click.echo(render_tikz(model) if fmt == "tikz" else render_svg(model), nl=False)
            return
        write_drawing(model, output, fmt, dpi=dpi)
    except CnnCalcError as exc:
        fail(str(exc))
        return
    click.echo(f"wrote {output}", err=True)
