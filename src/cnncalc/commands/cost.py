"""`cnncalc cost`: standard, depthwise-separable, inverted-residual and squeeze-and-excitation blocks side by side."""

from __future__ import annotations

import json
import math
import textwrap
from dataclasses import dataclass
from typing import Any

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


BLOCKS = {"standard": "standard", "separable": "separable", "inverted": "inverted_residual", "se": "se"}


@click.command(name="cost")
@click.option("--hw", required=True, metavar="H|HxW", help="size of the input map, e.g. 14 or 14x10")
@click.option("--cin", "c_in", type=int, required=True, help="input channels C_in")
@click.option("--cout", "c_out", type=int, required=True, help="output channels C_out (also the SE block's C)")
@click.option("-k", "--kernel", "k", type=int, default=3, show_default=True, help="kernel size (odd)")
@click.option("-s", "--stride", type=int, default=1, show_default=True, help="stride of the kxk convolutions")
@click.option(
    "--block",
    "blocks",
    type=click.Choice((*BLOCKS, "all")),
    multiple=True,
    help="blocks to work out (repeatable): standard (the default), separable (depthwise-separable), inverted "
    "(inverted residual), se (squeeze-and-excitation), all",
)
@click.option(
    "-t", "--t", "t", type=int, default=None, help="inverted residual's expansion (default 6; adds that block)"
)
@click.option(
    "-r",
    "--r",
    "r",
    type=int,
    default=None,
    help="SE reduction ratio, divides C_out (default 16, or what divides C_out; adds SE)",
)
@click.option("--ratios", is_flag=True, help="the blocks' MACs and params against each other (adds every block)")
@click.option("--se-sizes", is_flag=True, help="SE against a separable conv at 7x7, 14x14, 56x56, 224x224 (adds both)")
@click.option("--all", "everything", is_flag=True, help="every block, the ratios and the SE table")
@click.option("--format", "fmt", type=click.Choice(("text", "md", "json")), default="text", show_default=True,
              help="json always holds every block, ratio and size")  # fmt: skip
def command(
    hw: str,
    c_in: int,
    c_out: int,
    k: int,
    stride: int,
    blocks: tuple[str, ...],
    t: int | None,
    r: int | None,
    ratios: bool,
    se_sizes: bool,
    everything: bool,
    fmt: str,
) -> None:
    """Params, MACs and FLOPs of a kxk convolution on an H x W x C_in map, each as a formula with the numbers put
    in; on request the same for a depthwise-separable conv, an inverted residual and a squeeze-and-excitation block,
    and their ratios.

    Each block is built as a cnncalc network, so the numbers are the engine's; the formulas are worked beside.
    """
    try:
        h, w = _size(hw)
        # Without -r the SE block (shown only on request) takes r = 16, or the largest power of two dividing C_out.
        reduction = math.gcd(16, c_out) if r is None and c_out > 0 else (16 if r is None else r)
        result = compare(h, w, c_in, c_out, k, t=6 if t is None else t, r=reduction, stride=stride)
    except CnnCalcError as exc:
        fail(str(exc))
    wanted = set(blocks) or {"standard"}
    wanted |= {"inverted"} if t is not None else set()
    wanted |= {"se"} if r is not None else set()
    wanted |= {"separable", "se"} if se_sizes else set()
    if "all" in wanted or everything or ratios:
        wanted = set(BLOCKS)
    view = _View(
        keys=[key for name, key in BLOCKS.items() if name in wanted],
        ratios=ratios or everything,
        se_sizes=se_sizes or everything,
    )
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "md":
        click.echo(render_markdown(result, view), nl=False)
    else:
        click.echo(render_text(result, view), nl=False)


@dataclass(frozen=True)
class _View:
    """What the text and Markdown show: these blocks, and the ratios and the SE table or not."""

    keys: list[str]
    ratios: bool = True
    se_sizes: bool = True

    def conventions(self, c: CostComparison) -> list[str]:
        """The convention sentences that apply to what is shown (the last two speak of SE and inverted residuals)."""
        shown = [CONVENTIONS[0], CONVENTIONS[1] if "se" in self.keys else CONVENTIONS[1].split("; the SE")[0]]
        if c.stride > 1 or len(self.keys) > 1:
            shown.append(CONVENTIONS[2])
        if "se" in self.keys:
            shown.append(CONVENTIONS[3])
        if "inverted_residual" in self.keys:
            shown.append(CONVENTIONS[4])
        return shown

    def more(self) -> str:
        if self.ratios and self.se_sizes:
            return ""
        return (
            "more: --block separable|inverted|se (repeatable), --ratios, --se-sizes, or --all for every block, "
            "ratio and the SE table"
        )


ALL = _View(keys=list(BLOCKS.values()))


def _headline(c: CostComparison, view: _View = ALL) -> str:
    out = f" (output {c.h_out}x{c.w_out})" if (c.h_out, c.w_out) != (c.h, c.w) else ""
    extra = ""
    if "inverted_residual" in view.keys:
        extra += f", expansion t={c.t}"
    if "se" in view.keys:
        extra += f", SE reduction r={c.r}"
    return f"on a {c.h}x{c.w}x{c.c_in} input: {c.c_out} output channels, k={c.k}, stride {c.stride}{out}{extra}"


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
        "SE with the scale",
        "with the scale / separable",
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


def _flops(b: Any) -> str:
    return f"2·MACs = 2·{b.macs.value:,} = {2 * b.macs.value:,}"


def render_text(c: CostComparison, view: _View = ALL) -> str:
    """The blocks `view` asks for, each with its formulas and the network that checks them."""
    lines = [_headline(c, view), ""]
    for b in c.blocks:
        if b.key not in view.keys:
            continue
        lines.append(f"{b.title}: {b.structure}")
        steps = [b.params, b.macs, *b.extra]
        width = max(len("cnncalc"), *(len(s.label) for s in steps))
        lines += [f"  {s.label.ljust(width)} = {working(s)}" for s in steps[:2]]
        lines.append(f"  {'FLOPs'.ljust(width)} = {_flops(b)}")
        lines += [f"  {s.label.ljust(width)} = {working(s)}" for s in steps[2:]]
        t = b.model.totals
        lines.append(f"  {'cnncalc'.ljust(width)} : params {t.params:,}, MACs {t.macs:,} (from the network below)")
        lines += ["    " + line for line in b.spec.splitlines()]
        lines.append("")
    if view.ratios:
        lines.append("ratios")
        lines += ["  " + _ratio_line(x, "\n      ") for x in c.ratios]
        lines.append("")
    if view.se_sizes:
        headers, rows, limit = _size_rows(c)
        title = (
            f"SE on an H x W x {c.c_out} map against a stride-1 {c.k}x{c.k} depthwise-separable conv "
            f"{c.c_in} -> {c.c_out} giving it (7, 14 and 224: a course exercise's sizes)"
        )
        lines.append(box_table(headers, rows, right={1, 2, 3, 4, 5}, footer=[limit], title=title).rstrip("\n"))
        lines.append(f"as H, W grow the ratio with the scale tends to {working(c.limit)}")
        lines.append("")
    lines += [textwrap.fill(x, 120, subsequent_indent="  ") for x in view.conventions(c)]
    if view.more():
        lines.append(view.more())
    return "\n".join(lines) + "\n"


def render_markdown(c: CostComparison, view: _View = ALL) -> str:
    """The same as `render_text`, as Markdown."""
    lines = [f"**{_headline(c, view)}**", ""]
    for b in c.blocks:
        if b.key not in view.keys:
            continue
        t = b.model.totals
        lines.append(f"- **{b.title}** ({b.structure}): params {t.params:,}, MACs {t.macs:,}")
        lines += [f"  - {s.label} = `{working(s)}`" for s in (b.params, b.macs)]
        lines.append(f"  - FLOPs = `{_flops(b)}`")
        lines += [f"  - {s.label} = `{working(s)}`" for s in b.extra]
    if view.ratios:
        lines += ["", "**Ratios**", ""]
        lines += [f"- {_ratio_line(x)}" for x in c.ratios]
    if view.se_sizes:
        headers, rows, limit = _size_rows(c)
        lines += ["", f"**SE against a stride-1 depthwise-separable conv, on H x W x {c.c_out}**", ""]
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in (*rows, limit)]
        lines += ["", f"As H, W grow: `{working(c.limit)}`."]
    lines.append("")
    lines += [f"- {x}" for x in view.conventions(c)]
    if view.more():
        lines += ["", view.more()]
    return "\n".join(lines) + "\n"
