"""`cnncalc matrix conv|convT`: a convolution or transposed convolution as a matrix, its equations and gradients."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import CnnCalcError

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("text", "md", "latex", "json")


class _Group(click.Group):
    """`convt` and `deconv` also name `convT` (not listed)."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, "convT" if cmd_name.lower() in ("convt", "deconv") else cmd_name)


@click.group(name="matrix", cls=_Group)
def command() -> None:
    """Convolution as a matrix: y = M x with symbolic weights, the equations and the input gradients.

    1-D (--input 4) or 2-D (--input 4x4, the grid flattened row by row), one channel, no bias, as PyTorch computes
    them. Matrices up to 64x64 are printed.
    """


_OPTIONS = [
    click.option("--input", "input_", required=True, metavar="N|HxW", help="input size: N (1-D) or HxW (2-D)"),
    click.option("--kernel", "-k", required=True, metavar="K|KhxKw", help="kernel size"),
    click.option("--stride", "-s", default="1", show_default=True, metavar="S|ShxSw"),
    click.option(
        "--pad",
        "-p",
        default="0",
        show_default=True,
        metavar="P|PhxPw",
        help="padding (conv: zeros around x; convT: PyTorch's, cropped from y)",
    ),
    click.option("--dilation", "-d", default="1", show_default=True, metavar="D|DhxDw"),
    click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True),
    click.option("--numeric", is_flag=True, help="put numbers in: the numeric matrix, y = M x with --x"),
    click.option("--weights", metavar="W1,W2,...", help="kernel weights, row by row (implies --numeric)"),
    click.option("--x", "x", metavar="X1,X2,...", help="input values, row by row"),
    click.option("--dy", metavar="G1,G2,...", help="upstream gradient dL/dy, to print dL/dx = Mᵀ dL/dy"),
    click.option(
        "--padded/--no-padded",
        default=None,
        help="conv: also the matrix on the zero-padded input, as worked by hand  [default: in 1-D]",
    ),
]


def _shared(f: F) -> F:
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


def _run(
    op: str,
    input_: str,
    kernel: str,
    stride: str,
    pad: str,
    dilation: str,
    output_padding: str,
    fmt: str,
    numeric: bool,
    weights: str | None,
    x: str | None,
    dy: str | None,
    padded: bool | None,
) -> None:
    from ..teach.matrix import Numeric, conv_matrix, conv_transpose_matrix, parse_size, parse_values, render

    try:
        if (numeric or x is not None or dy is not None) and weights is None:
            raise CnnCalcError("--numeric, --x and --dy need --weights (the kernel's values, row by row)")
        texts = {"input": input_, "kernel": kernel, "stride": stride, "pad": pad, "dilation": dilation}
        sizes = [parse_size(text, f"--{name}") for name, text in texts.items()]
        if op == "conv":
            m = conv_matrix(*sizes)
        else:
            m = conv_transpose_matrix(*sizes, parse_size(output_padding, "--output-padding"))
        values = None
        if weights is not None:
            xs = None if x is None else parse_values(x, "--x")
            dys = None if dy is None else parse_values(dy, "--dy")
            values = Numeric(parse_values(weights, "--weights"), xs, dys)
        text = render(m, fmt, values, padded)
    except CnnCalcError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    click.echo(text, nl=False)


@command.command(name="conv")
@_shared
def conv(**kw: Any) -> None:
    """A convolution's matrix (on the zero-padded input as worked by hand, and on x), equations, gradients.

    Output size: floor((N + 2P - D(K - 1) - 1)/S) + 1.
    """
    _run("conv", output_padding="0", **kw)


@command.command(name="convT")
@_shared
@click.option(
    "--output-padding",
    default="0",
    show_default=True,
    metavar="OP|OPhxOPw",
    help="added at the end of the output (below the stride or the dilation)",
)
def conv_t(**kw: Any) -> None:
    """A transposed convolution's matrix: the transpose of the conv whose input is this one's output size.

    Output size (PyTorch): (N - 1)S - 2P + D(K - 1) + output_padding + 1.
    """
    _run("convT", **kw)
