"""`cnncalc cost`: standard, depthwise-separable, inverted-residual and squeeze-and-excitation blocks side by side."""

from __future__ import annotations

import json
import textwrap

import click

from ..errors import CnnCalcError
from ..render.boxes import box_table
from ..teach.cost import CONVENTIONS, CostComparison, Ratio, compare, percent, show_number, working
from ._common import fail


def _size(text: str) -> tuple[int, int]:
    """`14` (square) or `14x10` (H x W)."""
    parts = text.lower().split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise CnnCalcError(f"--hw {text}: write the map size as H or HxW, e.g. 14 or 14x10") from None
    if len(values) not in (1, 2):
        raise CnnCalcError(f"--hw {text}: write the map size as H or HxW, e.g. 14 or 14x10")
    return (values[0], values[-1])


@click.command(name="cost")
@click.option("--hw", required=True, metavar="H|HxW", help="size of the input map, e.g. 14 or 14x10")
@click.option("--cin", "c_in", type=int, required=True, help="input channels C_in")
@click.option("--cout", "c_out", type=int, required=True, help="output channels C_out (also the SE block's C)")
@click.option("-k", "--kernel", "k", type=int, default=3, show_default=True, help="kernel size (odd)")
@click.option("-t", "--t", "t", type=int, default=6, show_default=True, help="inverted residual's expansion")
@click.option("-r", "--r", "r", type=int, default=16, show_default=True, help="SE reduction ratio (divides C_out)")
@click.option("-s", "--stride", type=int, default=1, show_default=True, help="stride of the kxk convolutions")
@click.option("--format", "fmt", type=click.Choice(("text", "md", "json")), default="text", show_default=True)
def command(hw: str, c_in: int, c_out: int, k: int, t: int, r: int, stride: int, fmt: str) -> None:
    """Params and MACs of a standard conv, a depthwise-separable conv, an inverted residual and a
    squeeze-and-excitation block, each as a formula with the numbers put in, and their ratios.

    Each block is built as a cnncalc network, so the numbers are the engine's; the formulas are worked beside.
    """
    try:
        h, w = _size(hw)
        result = compare(h, w, c_in, c_out, k, t=t, r=r, stride=stride)
    except CnnCalcError as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "md":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_text(result), nl=False)


def _headline(c: CostComparison) -> str:

    out = f" (output {c.h_out}x{c.w_out})" if (c.h_out, c.w_out) != (c.h, c.w) else ""
    return (
        f"one block on a {c.h}x{c.w}x{c.c_in} input: {c.c_out} output channels, k={c.k}, stride {c.stride}{out}, "
        f"expansion t={c.t}, SE reduction r={c.r}"
    )


def _ratio_line(x: Ratio, sep: str = "; ") -> str:

    counts = f"{x.counts[0]:,} / {x.counts[1]:,} = {show_number(x.value)} ≈ {percent(x.value)}"
    if x.formula is None:
        return f"{x.label} = {counts}"
    return f"{x.label} = {working(x.formula)} ≈ {percent(x.value)}{sep}the counts: {counts}"


def _size_rows(c: CostComparison) -> tuple[list[str], list[list[str]], list[str]]:

    headers = [
        "H x W",
        "separable MACs",
        "SE MACs (FCs)",
        "SE / separable",
        "SE, notes' count",
        "notes' SE / separable",
    ]
    rows = [
        [
            f"{x.h}x{x.w}",
            f"{x.separable_macs:,}",
            f"{x.se_macs:,}",
            percent(x.ratio),
            f"{x.se_notes:,}",
            f"{percent(x.ratio_notes)} ({show_number(x.ratio_notes)})",
        ]
        for x in c.se_by_size
    ]
    limit = ["→ ∞", "", "", "→ 0", "", f"{percent(c.limit.value)} ({show_number(c.limit.value)})"]
    return headers, rows, limit


def render_text(c: CostComparison) -> str:

    lines = [_headline(c), ""]
    for b in c.blocks:
        lines.append(f"{b.title}: {b.structure}")
        steps = [b.params, b.macs, *b.extra]
        width = max(len("cnncalc"), *(len(s.label) for s in steps))
        lines += [f"  {s.label.ljust(width)} = {working(s)}" for s in steps]
        t = b.model.totals
        lines.append(f"  {'cnncalc'.ljust(width)} : params {t.params:,}, MACs {t.macs:,} (from the network below)")
        lines += ["    " + line for line in b.spec.splitlines()]
        lines.append("")
    lines.append("ratios")
    lines += ["  " + _ratio_line(x, "\n      ") for x in c.ratios]
    lines.append("")
    headers, rows, limit = _size_rows(c)
    title = (
        f"SE on an H x W x {c.c_out} map against a stride-1 {c.k}x{c.k} depthwise-separable conv "
        f"{c.c_in} -> {c.c_out} giving it (7, 14, 224: the notes' sizes)"
    )
    lines.append(box_table(headers, rows, right={1, 2, 3, 4, 5}, footer=[limit], title=title).rstrip("\n"))
    lines.append(f"as H, W grow the notes' ratio tends to {working(c.limit)}")
    lines.append("")
    lines += [textwrap.fill(x, 120, subsequent_indent="  ") for x in CONVENTIONS]
    return "\n".join(lines) + "\n"


def render_markdown(c: CostComparison) -> str:

    lines = [f"**{_headline(c)}**", ""]
    for b in c.blocks:
        t = b.model.totals
        lines.append(f"- **{b.title}** ({b.structure}): params {t.params:,}, MACs {t.macs:,}")
        lines += [f"  - {s.label} = `{working(s)}`" for s in (b.params, b.macs, *b.extra)]
    lines += ["", "**Ratios**", ""]
    lines += [f"- {_ratio_line(x)}" for x in c.ratios]
    headers, rows, limit = _size_rows(c)
    lines += ["", f"**SE against a stride-1 depthwise-separable conv, on H x W x {c.c_out}**", ""]
    lines.append("| " + " | ".join(headers) + " |")
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in (*rows, limit)]
    lines += ["", f"As H, W grow: `{working(c.limit)}`.", ""]
    lines += [f"- {x}" for x in CONVENTIONS]
    return "\n".join(lines) + "\n"
