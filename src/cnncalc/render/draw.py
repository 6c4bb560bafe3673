"""Pictures of a network: the block drawing as SVG, TikZ, PNG or PDF, a per-layer cost plot, and an HTML table.

The drawing's layout is worked out once (draw_layout.py); each format only draws its boxes, labels and edges.
SVG and TikZ are written as text with no dependency; PNG, PDF and the cost plot need matplotlib (the `draw`
extra), imported only when asked for.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from ..errors import CnnCalcError
from .draw_layout import Circle, Layout, Poly, Text, layout

FONTS = "DejaVu Sans, Verdana, Arial, Helvetica, sans-serif"


def _n(value: float) -> str:
    """A coordinate with one decimal, without a trailing .0."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _points(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _svg_item(item: Poly | Circle | Text) -> str:
    if isinstance(item, Poly):
        dash = ' stroke-dasharray="3 2"' if item.dashed else ""
        return f'<polygon points="{_points(item.points)}" fill="{item.fill}" stroke="{item.stroke}"{dash}/>'
    if isinstance(item, Circle):
        dash = ' stroke-dasharray="3 2"' if item.dashed else ""
        return (
            f'<circle cx="{_n(item.cx)}" cy="{_n(item.cy)}" r="{_n(item.r)}" fill="{item.fill}" '
            f'stroke="{item.stroke}"{dash}/>'
        )
    style = ""
    if item.italic:
        style += ' font-style="italic"'
    if item.bold:
        style += ' font-weight="bold"'
    return (
        f'<text class="{item.cls}" x="{_n(item.x)}" y="{_n(item.y)}" font-size="{_n(item.size)}" '
        f'text-anchor="{item.anchor}" fill="{item.color}"{style}>{html.escape(item.text)}</text>'
    )


def svg_of_layout(lay: Layout) -> str:
    """An SVG document of a layout. Nodes and edges carry data- attributes (name, op, shape, layers; from, to)."""
    a = html.escape
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(lay.width)}" height="{_n(lay.height)}" '
        f'viewBox="0 0 {_n(lay.width)} {_n(lay.height)}" font-family="{FONTS}" data-model="{a(lay.model)}">',
        f"<title>{a(lay.model)}: block diagram by cnncalc</title>",
        f'<rect width="{_n(lay.width)}" height="{_n(lay.height)}" fill="#ffffff"/>',
        '<g class="header">',
        *(_svg_item(i) for i in lay.header),
        "</g>",
        '<g class="edges" fill="none" stroke-linejoin="round">',
    ]
    for e in lay.edges:
        color, width = ("#7a7a7a", "0.9") if e.skip else ("#555555", "1.1")
        out.append(
            f'<g class="edge" data-from="{a(e.src.name)}" data-to="{a(e.dst.name)}">'
            f'<polyline points="{_points(e.points)}" stroke="{color}" stroke-width="{width}"/>'
            f'<polygon points="{_points(e.arrow())}" fill="{color}" stroke="none"/></g>'
        )
    out.append("</g>")
    out.append('<g class="nodes" stroke-width="0.8" stroke-linejoin="round">')
    for b in lay.boxes:
        out.append(
            f'<g class="node" data-name="{a(b.name)}" data-op="{a(b.op)}" data-shape="{a(b.shape_text)}" '
            f'data-layers="{a(" ".join(b.layers))}" data-col="{b.col}" data-row="{b.row}"'
            + (' data-aux="true"' if b.aux else "")
            + f"><title>{a(b.tooltip)}</title>"
        )
        out.extend(_svg_item(i) for i in b.items())
        out.append("</g>")
    out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def render_svg(model: Any) -> str:
    """The block drawing of a model as a standalone SVG document (pure Python)."""
    return svg_of_layout(layout(model))


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "$": r"\$",
    "&": r"\&",
    "#": r"\#",
    "%": r"\%",
    "_": r"\_",
    "^": r"\^{}",
    "~": r"\~{}",
    "×": r"$\times$",
    "·": r"$\cdot$",
}


def _tex(text: str) -> str:
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in text)


def render_tikz(model: Any) -> str:
    """A complete LaTeX document (article, geometry, tikz) with the block drawing; it compiles with pdflatex.

    One px of the layout is 0.75 pt, so the page is the picture's size; scale it in a report with
    `\\resizebox` or by \\input-ing the tikzpicture.
    """
    lay = layout(model)
    colors: dict[str, str] = {}

    def color(value: str) -> str:
        if value not in colors:
            colors[value] = f"c{len(colors)}"
        return colors[value]

    def pt(p: tuple[float, float]) -> str:
        return f"({_n(p[0])},{_n(p[1])})"

    body = []

    def item(i: Poly | Circle | Text) -> None:
        if isinstance(i, Poly):
            dash = ",dashed" if i.dashed else ""
            path = " -- ".join(pt(p) for p in i.points)
            body.append(f"\\filldraw[fill={color(i.fill)},draw={color(i.stroke)}{dash}] {path} -- cycle;")
        elif isinstance(i, Circle):
            dash = ",dashed" if i.dashed else ""
            body.append(
                f"\\filldraw[fill={color(i.fill)},draw={color(i.stroke)}{dash}] {pt((i.cx, i.cy))} "
                f"circle[radius={_n(i.r)}];"
            )
        else:
            font = f"\\fontsize{{{_n(i.size * 0.75)}}}{{{_n(i.size * 0.9)}}}\\selectfont\\sffamily"
            if i.italic:
                font += "\\slshape"
            if i.bold:
                font += "\\bfseries"
            anchor = "base west" if i.anchor == "start" else "base"
            body.append(
                f"\\node[anchor={anchor},inner sep=0,text={color(i.color)},font={font}] at {pt((i.x, i.y))} "
                f"{{{_tex(i.text)}}};"
            )

    body.append(f"\\useasboundingbox (0,0) rectangle {pt((lay.width, lay.height))};")
    for i in lay.header:
        item(i)
    for e in lay.edges:
        c = color("#7a7a7a" if e.skip else "#555555")
        body.append(f"\\draw[{c},line width={0.7 if e.skip else 0.85}pt] " + " -- ".join(pt(p) for p in e.points) + ";")
        body.append(f"\\fill[{c}] " + " -- ".join(pt(p) for p in e.arrow()) + " -- cycle;")
    for b in lay.boxes:
        body.append(f"% {_tex(b.name)}: {b.shape_text}".replace("\\", ""))
        for i in b.items():
            item(i)
    defs = [f"\\definecolor{{{name}}}{{HTML}}{{{value[1:].upper()}}}" for value, name in colors.items()]
    w, h = lay.width * 0.75 + 8, lay.height * 0.75 + 8
    return "\n".join(
        [
            "% The block diagram of " + _tex(lay.model) + ", written by cnncalc draw --format tikz",
            "\\RequirePackage{fix-cm}",
            "\\documentclass{article}",
            f"\\usepackage[paperwidth={_n(w)}pt,paperheight={_n(h)}pt,margin=4pt]{{geometry}}",
            "\\usepackage{tikz}",
            "\\pagestyle{empty}",
            "\\setlength{\\topskip}{0pt}",
            "\\setlength{\\parindent}{0pt}",
            "\\begin{document}",
            "\\vspace*{-\\baselineskip}%",
            "\\begin{tikzpicture}[x=0.75pt,y=-0.75pt,line join=round,line width=0.6pt]",
            *defs,
            *body,
            "\\end{tikzpicture}",
            "\\end{document}",
            "",
        ]
    )


def _matplotlib(what: str) -> Any:
    try:
        import matplotlib
    except ImportError:
        message = f"{what} needs matplotlib, an optional extra of cnncalc: pip install 'cnncalc[draw]'"
        raise CnnCalcError(message) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _figure(lay: Layout) -> Any:
    """A matplotlib figure of the layout, 96 px to the inch, so px of the layout are px of the SVG."""
    plt = _matplotlib("drawing a PNG or PDF")
    from matplotlib.collections import LineCollection, PatchCollection, PolyCollection
    from matplotlib.patches import Circle as MplCircle

    fig = plt.figure(figsize=(lay.width / 96, lay.height / 96), dpi=96)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, lay.width)
    ax.set_ylim(lay.height, 0)
    ax.set_axis_off()
    lines, line_colors, widths, heads, head_colors = [], [], [], [], []
    for e in lay.edges:
        c = "#7a7a7a" if e.skip else "#555555"
        lines.append(e.points)
        line_colors.append(c)
        widths.append(0.7 if e.skip else 0.85)
        heads.append(e.arrow())
        head_colors.append(c)
    ax.add_collection(LineCollection(lines, colors=line_colors, linewidths=widths, zorder=1, joinstyle="round"))
    ax.add_collection(PolyCollection(heads, facecolors=head_colors, edgecolors="none", zorder=1))
    polys: list[Poly] = []
    circles: list[Circle] = []
    texts: list[Text] = []
    for i in [*lay.header, *(i for b in lay.boxes for i in b.items())]:
        (polys if isinstance(i, Poly) else circles if isinstance(i, Circle) else texts).append(i)
    for dashed in (False, True):
        chosen = [p for p in polys if p.dashed == dashed]
        if chosen:
            ax.add_collection(
                PolyCollection(
                    [p.points for p in chosen],
                    facecolors=[p.fill for p in chosen],
                    edgecolors=[p.stroke for p in chosen],
                    linewidths=0.6,
                    zorder=2,
                    linestyles="--" if dashed else "-",
                )
            )
    if circles:
        patches = [MplCircle((c.cx, c.cy), c.r) for c in circles]
        ax.add_collection(
            PatchCollection(
                patches,
                facecolors=[c.fill for c in circles],
                edgecolors=[c.stroke for c in circles],
                linewidths=0.6,
                zorder=2,
            )
        )
    for t in texts:
        ax.text(
            t.x,
            t.y,
            t.text,
            fontsize=t.size * 0.75,
            ha="center" if t.anchor == "middle" else "left",
            va="baseline",
            color=t.color,
            style="italic" if t.italic else "normal",
            weight="bold" if t.bold else "normal",
            zorder=3,
            family="DejaVu Sans",
        )
    return fig


def _save(fig: Any, path: str | Path, **kwargs: Any) -> None:
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, **kwargs)
    except (OSError, ValueError) as exc:
        raise CnnCalcError(f"{path}: cannot write it: {exc}") from None
    finally:
        plt.close(fig)


def render_png(model: Any, path: str | Path, dpi: float | None = None) -> None:
    """The block drawing as a PNG (matplotlib): at `dpi` (96 is the SVG's own size, 1 px a unit), or by default
    twice the SVG's resolution where the picture is not huge."""
    lay = layout(model)
    if dpi is not None and not 10 <= dpi <= 2400:
        raise CnnCalcError(f"--dpi {dpi:g}: give 10 to 2400 (96 is the SVG's size, 192 twice that)")
    if dpi is not None and max(lay.width, lay.height) * dpi / 96 > 60000:
        most = int(60000 * 96 / max(lay.width, lay.height))
        raise CnnCalcError(f"--dpi {dpi:g}: the picture would be over 60,000 pixels across; at most {most} here")
    fig = _figure(lay)
    scale = min(2.0, 14000 / max(lay.width, lay.height))
    _save(fig, path, dpi=dpi if dpi is not None else 96 * scale, format="png")


def render_pdf(model: Any, path: str | Path) -> None:
    """The block drawing as a one-page vector PDF (matplotlib)."""
    _save(_figure(layout(model)), path, format="pdf")


class Drawing:
    """An SVG drawing that Jupyter shows inline (`_repr_svg_`); `str()` is the SVG text."""

    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.svg, encoding="utf-8")


FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".tex": "tikz"}


def draw(model: Any, path: str | Path | None = None, fmt: str | None = None) -> Drawing:
    """The drawing for Jupyter; with `path`, also written there in the format its extension names (or `fmt`)."""
    svg = render_svg(model)
    if path is not None:
        write_drawing(model, path, fmt, svg=svg)
    return Drawing(svg)


def write_drawing(
    model: Any, path: str | Path, fmt: str | None = None, *, svg: str | None = None, dpi: float | None = None
) -> str:
    """Write the drawing to `path` as svg, png, pdf or tikz (from the extension unless `fmt` says); the format.
    `dpi` sets a PNG's resolution."""
    fmt = fmt or FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise CnnCalcError(f"{path}: say which format: an extension .svg, .png, .pdf or .tex, or --format")
    if dpi is not None and fmt != "png":
        raise CnnCalcError(f"--dpi sets a PNG's resolution; {fmt} is drawn to scale (write FILE.png)")
    if fmt == "png":
        render_png(model, path, dpi)
    elif fmt == "pdf":
        render_pdf(model, path)
    else:
        text = (svg or render_svg(model)) if fmt == "svg" else render_tikz(model)
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CnnCalcError(f"{path}: cannot write it: {exc}") from None
    return fmt


def render_html_table(model: Any) -> str:
    """A small self-contained HTML table of the layers and the totals (Jupyter's `_repr_html_`)."""
    report = model.report
    layout_ = report.settings.layout
    a = html.escape
    cell = 'style="padding:1px 8px;text-align:{}"'
    left, right = cell.format("left"), cell.format("right")
    rows = []
    for x in report.layers:
        macs = "?" if x.macs is None else (f"{x.macs:,}" if x.macs else "")
        star = "*" if x.aux else ""
        rows.append(
            f"<tr><td {left}><code>{a(x.name)}</code>{star}</td><td {left}>{a(x.op)}</td>"
            f"<td {left}>{a(x.output.text(layout_))}</td><td {right}>{f'{x.params:,}' if x.params else ''}</td>"
            f"<td {right}>{macs}</td><td {left}>{a(x.rf.text() if x.rf else '')}</td></tr>"
        )
    t = report.totals
    head = "".join(
        f"<th {right if h in ('params', 'MACs') else left}>{h}</th>"
        for h in ("layer", "op", "output", "params", "MACs", "RF size/jump")
    )
    inputs = ", ".join(s.text(layout_) for _, s in report.inputs)
    notes = [
        f"params {t.params:,} = weights {t.weights:,} + biases {t.biases:,}; buffers {t.buffers:,}",
        f"MACs {t.macs:,}; FLOPs {t.flops:,}; activations {t.activation_bytes:,} bytes",
    ]
    if report.training_only:
        notes.append("* training only: in the params, not in the MACs")
    if report.unknown_macs:
        notes.append(f"MACs unknown for {len(report.unknown_macs)} layer(s), shown ? and left out of the total")
    shapes = "H x W x C" if layout_ == "hwc" else "C x H x W"
    return (
        '<div class="cnncalc-model" style="font-family:sans-serif;font-size:12px">'
        f'<table style="border-collapse:collapse"><caption style="text-align:left;font-weight:bold">'
        f"{a(report.model)} ({a(inputs)} input; shapes {shapes})</caption>"
        f'<thead><tr style="border-bottom:1px solid #888">{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
        f'<tfoot><tr style="border-top:1px solid #888;font-weight:bold"><td {left}>total</td><td></td><td></td>'
        f"<td {right}>{t.params:,}</td><td {right}>{t.macs:,}</td><td></td></tr></tfoot></table>"
        f'<div style="color:#555">{"<br>".join(a(n) for n in notes)}</div></div>'
    )


def plot_costs(model: Any, path: str | Path) -> None:
    """Per-layer params and MACs as bars on a log axis, the receptive field as a line on a second axis, the totals
    in the title; png, pdf or svg by the extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".png", ".pdf", ".svg"):
        raise CnnCalcError(f"{path}: the plot is written as .png, .pdf or .svg")
    plt = _matplotlib("cnncalc plot")
    report = model.report
    rows = [x for x in report.layers if x.params or x.macs]
    if not rows:
        raise CnnCalcError(f"{model.name} has no layer with parameters or MACs to plot")
    n = len(rows)
    fig, ax = plt.subplots(figsize=(min(max(7.0, 0.22 * n + 2), 18.0), 4.8))
    xs = list(range(n))
    bar = 0.4
    ax.bar([x - bar / 2 for x in xs], [float(max(r.params, 0)) for r in rows], bar, label="params", color="#6c8ebf")
    ax.bar([x + bar / 2 for x in xs], [float(r.macs or 0) for r in rows], bar, label="MACs", color="#e5785f")
    ax.set_yscale("log")
    ax.set_ylabel("params, MACs (log)")
    ax.set_xlim(-0.7, n - 0.3)
    if n <= 80:
        ax.set_xticks(xs, [r.name for r in rows], rotation=90, fontsize=6 if n > 40 else 7)
    else:
        ax.set_xlabel(f"layer with params or MACs (1..{n}, in graph order)")
    rf = ax.twinx()
    field = [float(r.rf.h.size) if r.rf and r.rf.h is not None else float("nan") for r in rows]
    rf.plot(xs, field, color="#2a9d8f", marker="o", ms=2.5, lw=1.2, label="receptive field (px)")
    whole = [i for i, r in enumerate(rows) if r.rf is not None and r.rf.whole]
    if whole:
        rf.axvspan(whole[0] - 0.5, n - 0.5, color="grey", alpha=0.12, label="sees the whole input")
    rf.set_ylabel("receptive field size (input pixels)")
    rf.set_ylim(bottom=0)
    t = report.totals
    ax.set_title(f"{model.name}: {t.params:,} params, {t.macs:,} MACs ({t.flops:,} FLOPs)", fontsize=10, pad=20)
    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = rf.get_legend_handles_labels()
    ax.legend(
        handles + more_handles,
        labels + more_labels,
        fontsize=7,
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncol=4,
        frameon=False,
        borderaxespad=0.2,
    )
    ax.grid(True, axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    _save(fig, path, dpi=130, format=suffix[1:])
