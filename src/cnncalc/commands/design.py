"""`cnncalc design`: the conv stacks that reach a receptive field for the fewest MACs and params."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import CnnCalcError

INTERRUPTED = 130  # what a shell reports for a command stopped by Ctrl-C (128 + SIGINT)


def _ints(name: str, text: str) -> tuple[int, ...]:
    values = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            values.append(int(part))
        except ValueError:
            raise CnnCalcError(f"--{name} {text}: write whole numbers separated by commas, like 1,3,5,7") from None
    if not values:
        raise CnnCalcError(f"--{name} needs at least one value")
    return tuple(values)


class _Bar:
    """A one-line progress bar on standard error, redrawn in place."""

    def __init__(self) -> None:
        self.shown = False

    def __call__(self, p: Any) -> None:
        width = 24
        filled = int(p.fraction * width)
        line = (
            f"\rdesign [{'#' * filled}{'.' * (width - filled)}] {100 * p.fraction:5.1f}%  "
            f"{p.nodes:,} stacks  {p.bounds:,} bounds  front {p.front}  {p.seconds:.1f} s"
        )
        click.echo(line, err=True, nl=False)
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            click.echo("\r\033[K", err=True, nl=False)


def coverage(layers: Any) -> float:
    """Share of the RF x RF window whose pixels reach the unit: below 1 when dilation or a stride larger than the
    next layer's reach leaves holes (the RF formula counts the extent of the field, not the pixels read)."""
    offsets, jump = {0}, 1
    for layer in layers:
        step = layer.d * jump
        offsets = {x + t * step for x in offsets for t in range(layer.k)}
        jump *= layer.s
    extent = max(offsets) + 1
    return (len(offsets) / extent) ** 2


def _percent(share: float) -> str:
    return "100%" if share == 1 else f"{100 * share:.3g}%"


def render(result: Any, fmt: str) -> str:
    from ..render.boxes import box_table

    p = result.problem
    if fmt == "json":
        data = result.to_dict()
        for row, design in zip(data["front"], result.front, strict=True):
            row["coverage"] = round(coverage(design.layers), 6)
        return json.dumps(data, indent=2) + "\n"
    headers = ("#", "depth", "RF", "read", "MACs", "params", "layers")
    rows = [
        (str(i), str(d.depth), str(d.rf), _percent(coverage(d.layers)), f"{d.macs:,}", f"{d.params:,}", d.text())
        for i, d in enumerate(result.front, start=1)
    ]
    front = f"{len(rows)} design{'s' if len(rows) != 1 else ''} on the Pareto front of MACs and params"
    if result.interrupted:
        front += f" found before the interrupt ({100 * result.fraction:.1f}% of the search done; not proven optimal)"
    space = f"{p.space:,}" if p.space < 10**12 else f"{p.space:.2e}"
    notes = [
        f"{front}; searched {result.nodes:,} partial stacks (a brute force lists {space} stacks) "
        f"in {result.seconds:.2f} s",
        "padding p = d(k-1)/2 each side ('same': every map is ceil(N/J) for the jump J so far; p=same where "
        "d(k-1) is odd); RF = 1 + sum (k-1) d J_before",
        "read: share of the RF x RF window the unit actually reads (under 100%: holes from dilation or striding"
        + ("" if p.dense else "; --dense keeps only fields without holes")
        + ")",
    ]
    if p.rf > p.input:
        notes.append(f"--rf {p.rf} is larger than the {p.input}-pixel input: part of every field lies in padding")
    specs = []
    for i, d in enumerate(result.front, start=1):
        title = f"#{i}: RF {d.rf}, {d.macs:,} MACs, {d.params:,} params"
        specs.append((title, p.spec(d.layers)))
    if fmt == "md":
        out = [f"**cnncalc design**: {p.describe()}", "", "| " + " | ".join(headers) + " |",
               "|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        out += ["| " + " | ".join(r[:-1]) + " | `" + r[-1].replace("|", "\\|") + "` |" for r in rows]
        out += [""] + [f"- {n}" for n in notes] + [""]
        for title, spec in specs:
            out += [f"{title}:", "", "```", spec.rstrip("\n"), "```", ""]
        return "\n".join(out)
    table = box_table(headers, rows, right={0, 1, 2, 3, 4, 5}, title=f"cnncalc design: {p.describe()}")
    blocks = "".join(f"\n{title}\n{spec}" for title, spec in specs)
    return table + "".join(n + "\n" for n in notes) + blocks


@click.command(name="design")
@click.option("--rf", type=int, required=True, help="the receptive field to reach, at least (input pixels)")
@click.option("--stride", type=int, default=1, show_default=True, help="the total stride, exactly")
@click.option("--max-layers", type=int, default=6, show_default=True, help="at most this many conv layers")
@click.option("--channels", type=int, default=64, show_default=True, help="channels in and out of every layer")
@click.option("--input", "input_", type=int, default=64, show_default=True, metavar="N", help="input N x N")
@click.option("--kernels", default="1,3,5,7", show_default=True, help="kernel sizes to choose from")
@click.option("--dilations", default="1,2,4", show_default=True, help="dilations to choose from (k > 1)")
@click.option("--strides", default="1,2", show_default=True, help="strides to choose from")
@click.option("--no-bias", is_flag=True, help="layers without biases (params count weights only)")
@click.option("--dense", is_flag=True, help="only fields without holes: every input pixel inside the field is read")
@click.option("--format", "fmt", type=click.Choice(("table", "md", "json")), default="table", show_default=True)
@click.option("--progress/--no-progress", default=None,
              help="a progress bar on standard error (default: when it is a terminal)")  # fmt: skip
def command(
    rf: int, stride: int, max_layers: int, channels: int, input_: int, kernels: str, dilations: str, strides: str,
    no_bias: bool, dense: bool, fmt: str, progress: bool | None,
) -> None:  # fmt: skip
    """Find the stacks of C -> C conv layers that reach at least --rf with exactly --stride, for the fewest MACs
    and params: the Pareto front, each design with a spec to paste into `cnncalc show -`.

    Exhaustive (branch and bound, so exact); Ctrl-C prints the best found so far and exits 130.
    """
    from ..teach.design import Problem, search

    bar = _Bar() if (progress if progress is not None else sys.stderr.isatty()) else None
    try:
        problem = Problem(
            rf, stride, max_layers, channels, input_, _ints("kernels", kernels), _ints("dilations", dilations),
            _ints("strides", strides), bias=not no_bias, dense=dense,
        )  # fmt: skip
        result = search(problem, progress=bar)
    except CnnCalcError as exc:
        if bar is not None:
            bar.clear()
        click.echo(str(exc), err=True)
        sys.exit(2)
    if bar is not None:
        bar.clear()
    try:
        click.echo(render(result, fmt), nl=False)
    except KeyboardInterrupt:  # a second Ctrl-C while printing: stop quietly
        sys.exit(INTERRUPTED)
    if result.interrupted:
        click.echo(
            f"interrupted: the search stopped after {result.nodes:,} partial stacks, about "
            f"{100 * result.fraction:.1f}% done; above is the best front found so far, not proven optimal",
            err=True,
        )
        sys.exit(INTERRUPTED)
