"""Where every box, label and edge of the block drawing goes, in pixels with y pointing down.

One layout, drawn by three back-ends in draw.py (SVG, TikZ, matplotlib), so every format shows the same picture.
Layers that only change values (activations, norms, dropout) fold into the box before them. Every other layer is
a box: a cuboid for a feature map (height from H, depth from W, thickness from C, all log-scaled), a thin bar for
a vector, a circle for add and mul. Boxes stand in columns by depth (the longest path from an input) and in rows
by branch; a long network wraps into bands stacked down the page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..ir import Shape

# Ops that keep the shape and only change values: drawn inside the box before them ("+bn+relu").
FOLD = frozenset(
    {"relu", "relu6", "leakyrelu", "elu", "sigmoid", "tanh", "hswish", "hsigmoid", "silu", "gelu", "softmax",
     "identity", "bn", "layernorm", "lrn", "dropout", "droppath", "scale", "shuffle"}
)  # fmt: skip
FOLD_NAMES = {"dropout": "drop", "layernorm": "ln"}
MERGE_SYMBOLS = {"add": "+", "mul": "×"}

COLORS = {
    "input": "#b8c2cf",
    "conv": "#f2b279",
    "dw": "#f6d58e",
    "pool": "#e5785f",
    "fc": "#a293cf",
    "merge": "#86c29f",
    "norm": "#8fcbe6",
    "other": "#cfcfcf",
}
LEGEND = (
    ("input", "input"),
    ("conv", "conv"),
    ("dw", "depthwise/grouped"),
    ("pool", "pool"),
    ("fc", "fc"),
    ("merge", "concat / add / mul"),
    ("norm", "norm"),
    ("other", "other"),
)
POOLS = frozenset({"maxpool", "avgpool", "gap", "adaptiveavgpool"})

FONT = 9.0  # px: op and shape labels
SMALL = 8.0  # px: the folded ops
LINE = 11.0  # px between label lines
GAP = 22.0  # px between columns
ROW_PAD = 8.0
LANE_STEP = 3.5  # px between parallel skip lines
LANE_LEVELS = 12  # more parallel skip lines than this share heights
MARGIN = 24.0
TITLE_H = 68.0
EDGE = "#555555"
SKIP = "#7a7a7a"

# Advance widths of DejaVu Sans (matplotlib's default font, wider than Helvetica), in ems, for " " to "~".
_WIDTHS = (
    0.32, 0.4, 0.47, 0.84, 0.64, 0.96, 0.78, 0.28, 0.39, 0.39, 0.5, 0.85, 0.32, 0.36, 0.32, 0.34, 0.64, 0.64, 0.64,
    0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.64, 0.34, 0.34, 0.84, 0.85, 0.84, 0.53, 1.0, 0.68, 0.69, 0.7, 0.77, 0.63,
    0.58, 0.78, 0.75, 0.29, 0.29, 0.65, 0.56, 0.86, 0.75, 0.79, 0.6, 0.79, 0.7, 0.64, 0.62, 0.73, 0.68, 0.99, 0.69,
    0.61, 0.68, 0.39, 0.34, 0.39, 0.84, 0.5, 0.5, 0.62, 0.63, 0.56, 0.64, 0.62, 0.35, 0.64, 0.63, 0.28, 0.28, 0.58,
    0.28, 0.97, 0.63, 0.61, 0.63, 0.64, 0.42, 0.52, 0.39, 0.63, 0.59, 0.82, 0.59, 0.59, 0.52, 0.63, 0.34, 0.64, 0.84,
)  # fmt: skip


def text_width(text: str, size: float) -> float:
    """The width of a label in px, a little generous so that other sans-serif fonts fit too."""
    return 1.04 * size * sum(_WIDTHS[ord(ch) - 32] if 32 <= ord(ch) < 127 else 0.8 for ch in text)


Point = tuple[float, float]


class Poly(NamedTuple):
    points: list[Point]
    fill: str
    stroke: str
    dashed: bool = False


class Circle(NamedTuple):
    cx: float
    cy: float
    r: float
    fill: str
    stroke: str
    dashed: bool = False


class Text(NamedTuple):
    x: float
    y: float  # baseline
    text: str
    size: float
    cls: str  # op, fold, shape, symbol, title, note
    anchor: str = "middle"  # or start
    color: str = "#222222"
    italic: bool = False
    bold: bool = False


def shade(color: str, factor: float) -> str:
    """Lighter (factor > 1, towards white) or darker (factor < 1) colour, for the faces of a cuboid."""
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    rgb = [round(v + (255 - v) * (factor - 1)) if factor >= 1 else round(v * factor) for v in rgb]
    return "#" + "".join(f"{min(255, max(0, v)):02x}" for v in rgb)


@dataclass(eq=False)
class Box:
    """One drawn node: a layer and the value-only layers folded into it."""

    name: str
    op: str
    layers: list[str]
    output: Shape
    shape_text: str
    label: str  # op and kernel: "conv 11x11/4"
    folded: list[str]
    aux: bool
    category: str
    inputs: list[Box] = field(default_factory=list)
    consumers: list[Box] = field(default_factory=list)
    col: int = 0
    row: int = 0
    band: int = 0
    kind: str = "cuboid"  # cuboid, bar or circle
    t: float = 0.0  # width of the front face
    h: float = 0.0  # height of the front face
    d: float = 0.0  # the oblique depth, as much to the right as up
    x: float = 0.0  # left of the front face
    cy: float = 0.0  # centre line of its row
    tooltip: str = ""
    named: bool = False  # an output of a network with several: its name under its shape

    @property
    def fold_text(self) -> str:
        return "+" + "+".join(self.folded) if self.folded else ""

    @property
    def width(self) -> float:
        return self.t + self.d

    @property
    def extent(self) -> float:
        return self.h + self.d

    @property
    def top(self) -> float:
        return self.cy - self.extent / 2

    @property
    def bottom(self) -> float:
        return self.cy + self.extent / 2

    @property
    def centre(self) -> Point:
        return (self.x + self.t / 2, self.cy)

    def label_width(self) -> float:
        named = text_width(self.short_name, SMALL) if self.named else 0.0
        return max(
            text_width(self.label, FONT), text_width(self.fold_text, SMALL), text_width(self.shape_text, FONT), named
        )

    def lines_above(self) -> int:
        return bool(self.label) + bool(self.folded)

    def items(self) -> list[Poly | Circle | Text]:
        """The shapes and labels of this box, in drawing order."""
        base = COLORS[self.category]
        stroke = shade(base, 0.55)
        out: list[Poly | Circle | Text] = []
        if self.kind == "circle":
            r = self.t / 2
            out.append(Circle(self.x + r, self.cy, r, base, stroke, self.aux))
            out.append(Text(self.x + r, self.cy + 4.2, MERGE_SYMBOLS.get(self.op, "?"), 12.0, "symbol", bold=True))
        else:
            x0, x1, top, d = self.x, self.x + self.t, self.top, self.d
            front_top, front_bottom = top + d, top + d + self.h
            out.append(
                Poly([(x0, front_top), (x1, front_top), (x1, front_bottom), (x0, front_bottom)], base, stroke, self.aux)
            )
            out.append(
                Poly(
                    [(x0, front_top), (x0 + d, top), (x1 + d, top), (x1, front_top)],
                    shade(base, 1.35),
                    stroke,
                    self.aux,
                )
            )
            out.append(
                Poly(
                    [(x1, front_top), (x1 + d, top), (x1 + d, top + self.h), (x1, front_bottom)],
                    shade(base, 0.8),
                    stroke,
                    self.aux,
                )
            )
        mid = self.x + self.width / 2
        y = self.top - 4
        if self.folded:
            out.append(Text(mid, y, self.fold_text, SMALL, "fold", color="#6b6b6b", italic=True))
            y -= LINE
        if self.label:
            out.append(Text(mid, y, self.label, FONT, "op", color="#333333"))
        out.append(Text(mid, self.bottom + 3 + FONT, self.shape_text, FONT, "shape", color="#111111"))
        if self.named:
            out.append(Text(mid, self.bottom + 3 + FONT + LINE, self.short_name, SMALL, "name", color="#6b6b6b"))
        return out

    @property
    def short_name(self) -> str:
        return self.name if len(self.name) <= 24 else self.name[:23] + "…"


@dataclass(eq=False)
class Edge:
    src: Box
    dst: Box
    points: list[Point] = field(default_factory=list)
    skip: bool = False  # routed round other boxes (a lane above a row, or between bands)

    def arrow(self) -> list[Point]:
        """The arrowhead at the end, pointing along the last segment."""
        (x0, y0), (x1, y1) = self.points[-2], self.points[-1]
        length = math.hypot(x1 - x0, y1 - y0) or 1.0
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        back, half = 6.0, 3.0
        return [
            (x1, y1),
            (x1 - back * ux - half * uy, y1 - back * uy + half * ux),
            (x1 - back * ux + half * uy, y1 - back * uy - half * ux),
        ]


@dataclass
class Layout:
    model: str
    width: float
    height: float
    boxes: list[Box]
    edges: list[Edge]
    header: list[Poly | Text]


def kernel_label(op: str, args: dict[str, Any], in_channels: int | None, out: Shape) -> str:
    """What the box says above itself: the op and its kernel/stride, as in the AlexNet figure ("conv 11x11/4")."""

    def pair(value: Any) -> str:
        a, b = (value, value) if not isinstance(value, (tuple, list)) else (value[0], value[-1])
        return f"{a}" if a == b else f"{a}x{b}"

    def window() -> str:
        k = args.get("k")
        if k is None:
            return ""
        kh, kw = (k, k) if not isinstance(k, (tuple, list)) else (k[0], k[-1])
        text = f"{kh}x{kw}/{pair(args.get('s', 1))}"
        d = args.get("d", 1)
        if pair(d) != "1":
            text += f" d{pair(d)}"
        return text

    if op == "conv":
        g = args.get("g", 1) or 1
        if g > 1 and g == in_channels == out.c:
            return f"dw {window()}"
        return f"conv {window()}" + (f" g{g}" if g > 1 else "")
    if op == "dwconv":
        return f"dw {window()}"
    if op == "convT":
        return f"convT {window()}"
    if op in ("maxpool", "avgpool"):
        return f"{op[:3]} {window()}"
    if op == "adaptiveavgpool":
        size = args.get("size", "?")
        return f"avg to {size[0]}x{size[-1]}" if isinstance(size, (tuple, list)) else f"avg to {size}"
    if op == "upsample":
        scale = args.get("scale", 2)
        return f"up x{scale:g}" if isinstance(scale, (int, float)) else f"up x{float(scale):g}"
    if op in MERGE_SYMBOLS:
        return ""
    return op


def _category(op: str, label: str) -> str:
    if op == "input":
        return "input"
    if op in ("conv", "convT", "dwconv"):
        return "dw" if label.startswith("dw") or " g" in label else "conv"
    if op in POOLS:
        return "pool"
    if op in ("fc", "rbf"):
        return "fc"
    if op in ("concat", "add", "mul"):
        return "merge"
    if op in ("bn", "lrn", "layernorm"):
        return "norm"
    return "other"


def _log2(v: int) -> float:
    return math.log2(max(v, 1))


def _size(box: Box) -> None:
    """Box dimensions from the output shape, log-scaled so 224 and 7 both fit on a page."""
    out = box.output
    if box.op in MERGE_SYMBOLS:
        box.kind, box.t, box.h, box.d = "circle", 18.0, 18.0, 0.0
    elif out.h is None or out.w is None:
        box.kind, box.t, box.h, box.d = "bar", 7.0, 8.0 + 7.0 * _log2(out.c), 4.0
    else:
        box.t = 4.0 + 3.0 * _log2(out.c)
        box.h = 10.0 + 11.0 * _log2(out.h)
        box.d = min(0.32 * (10.0 + 11.0 * _log2(out.w)), 0.8 * box.h)


def boxes_of(model: Any) -> list[Box]:
    """The drawn boxes in graph order, value-only layers folded in, inputs and consumers linked."""
    report = model.report
    layout = report.settings.layout
    nodes = {n.name: n for n in model.graph.nodes}
    consumers: dict[str, int] = {}
    for layer in report.layers:
        for i in layer.inputs:
            consumers[i] = consumers.get(i, 0) + 1
    owner: dict[str, Box] = {}
    outputs: dict[str, Shape] = {}
    boxes: list[Box] = []
    for layer in report.layers:
        name, op, inputs, out = layer.name, layer.op, layer.inputs, layer.output
        outputs[name] = out
        if op in FOLD and len(inputs) == 1 and consumers.get(inputs[0]) == 1 and outputs.get(inputs[0]) == out:
            box = owner.get(inputs[0])
            if box is not None and box.layers[-1] == inputs[0] and box.aux == layer.aux:
                folded = FOLD_NAMES.get(op, op)
                if not box.folded or box.folded[-1] != folded:
                    box.folded.append(folded)
                box.layers.append(name)
                owner[name] = box
                continue
        node = nodes.get(name)
        first = outputs.get(inputs[0]) if inputs else None
        label = kernel_label(op, node.args if node is not None else {}, first.c if first else None, out)
        if op == "input":  # its name tells several inputs apart
            label = name if len(name) <= 18 else name[:17] + "…"
        box = Box(name, op, [name], out, out.text(layout), label, [], layer.aux, _category(op, label))
        _size(box)
        for i in dict.fromkeys(inputs):  # add(x, x) is one edge
            source = owner[i]
            box.inputs.append(source)
            source.consumers.append(box)
        owner[name] = box
        boxes.append(box)
    rows = {layer.name: layer for layer in report.layers}
    outputs_ = [b for b in boxes if not b.consumers]
    for box in boxes:
        # The names the user wrote label their boxes; an automatic name (conv3, relu2) would only repeat the op.
        written = not re.fullmatch(re.escape(box.op) + r"\d*", box.name)
        box.named = box.op != "input" and (written or (len(outputs_) > 1 and box in outputs_))
    for box in boxes:
        box.tooltip = _tooltip(box, [rows[n] for n in box.layers])
    return boxes


def _tooltip(box: Box, rows: list[Any]) -> str:
    params = sum(x.params for x in rows)
    macs = [x.macs for x in rows]
    mac_text = "?" if None in macs else f"{sum(m or 0 for m in macs):,}"
    layers = ", ".join(f"{x.name} ({x.op})" for x in rows)
    aux = "; training only" if box.aux else ""
    return f"{layers}: {box.shape_text}, {params:,} params, {mac_text} MACs{aux}"


def _place_rows(boxes: list[Box]) -> None:
    """Columns by longest path from an input; rows by branch.

    Each box continues the row of the input it is the main consumer of (the consumer with the longest path
    still ahead, so the main line of a network stays on one row); other boxes start a new track. Tracks take
    the first row free over their columns, including the columns their last edge runs through to its merge.
    """
    for box in boxes:
        box.col = 1 + max((i.col for i in box.inputs), default=-1)
    ahead: dict[int, int] = {}
    for box in reversed(boxes):
        ahead[id(box)] = 1 + max((ahead[id(c)] for c in box.consumers), default=-1)
    main: dict[int, Box] = {}
    for box in boxes:
        if box.consumers:
            main[id(box)] = max(box.consumers, key=lambda c: ahead[id(c)])
    tracks: list[list[Box]] = []
    track_of: dict[int, list[Box]] = {}
    for box in boxes:
        heirs = [i for i in box.inputs if main.get(id(i)) is box]
        if heirs:
            track = track_of[id(max(heirs, key=lambda i: i.col))]
            track.append(box)
        else:
            track = [box]
            tracks.append(track)
        track_of[id(box)] = track
    # Side branches that end the network (auxiliary heads) go below the branches that merge back; the first
    # track is the main line even though it ends too.
    order = sorted(range(len(tracks)), key=lambda i: (tracks[i][0].col, i > 0 and not tracks[i][-1].consumers, i))
    rows = _FirstFreeRow(len(tracks))
    for track in (tracks[i] for i in order):
        start, last = track[0].col, track[-1]
        row = rows.take(start, max([last.col, *(c.col - 1 for c in last.consumers)]))
        for box in track:
            box.row = row


class _FirstFreeRow:
    """Rows of column spans, each track in the first row free over its span. Tracks come by starting column, so a
    row is free exactly when its last column taken is before the start: a tree of the rows' last columns (the
    least over each subtree) finds the first free row in log time, where scanning the rows made a 50,000-branch
    concat quadratic."""

    def __init__(self, most: int) -> None:
        self.size = 1
        while self.size < max(1, most):
            self.size *= 2
        self.last = [-1] * (2 * self.size)

    def take(self, start: int, end: int) -> int:
        node = 1
        while node < self.size:
            node = 2 * node if self.last[2 * node] < start else 2 * node + 1
        row = node - self.size
        self.last[node] = max(self.last[node], end)
        node //= 2
        while node:
            self.last[node] = min(self.last[2 * node], self.last[2 * node + 1])
            node //= 2
        return row


def _bands(widths: list[float], crossings: list[int]) -> list[int]:
    """The first column of each band. A long network wraps into bands of about equal width, each cut where the
    fewest edges cross (between two blocks, not through a residual block or an inception module)."""
    xs = [0.0]
    for w in widths:
        xs.append(xs[-1] + w + GAP)
    total = xs[-1]
    limit = max(1900.0, math.sqrt(total * 480.0))
    count = math.ceil(total / limit)
    if count <= 1:
        return [0]
    target = total / count
    starts = [0]
    while total - xs[starts[-1]] > 1.15 * target:
        s = starts[-1]
        near = []
        c = s + 1
        while c < len(widths) and xs[c] - xs[s] <= 1.25 * target:
            if xs[c] - xs[s] >= 0.7 * target:
                near.append(c)
            c += 1
        if not near:  # one column wider than a band
            near = [min(c, len(widths) - 1)]
        starts.append(min(near, key=lambda c: (crossings[c], abs(xs[c] - xs[s] - target))))
    return starts


def layout(model: Any) -> Layout:
    """The whole picture of a model: boxes with their positions and edges with their paths."""
    boxes = boxes_of(model)
    _place_rows(boxes)
    ncols = 1 + max(b.col for b in boxes)
    widths = [0.0] * ncols
    for box in boxes:
        widths[box.col] = max(widths[box.col], box.width, box.label_width())
    edges = [Edge(src, dst) for dst in boxes for src in dst.inputs]
    diff = [0] * (ncols + 1)  # sources whose edges cross the cut before each column (a bus counts once)
    for box in boxes:
        if box.consumers:
            diff[box.col + 1] += 1
            diff[max(c.col for c in box.consumers) + 1] -= 1
    crossings = [0] * (ncols + 1)
    for c in range(1, ncols + 1):
        crossings[c] = crossings[c - 1] + diff[c]
    starts = _bands(widths, crossings)
    band_of = [0] * ncols
    for b, s in enumerate(starts):
        for c in range(s, starts[b + 1] if b + 1 < len(starts) else ncols):
            band_of[c] = b
    for box in boxes:
        box.band = band_of[box.col]
    nbands = len(starts)
    taken = {(b.row, b.col) for b in boxes}

    def free(row: int, c0: int, c1: int) -> bool:
        return all((row, c) not in taken for c in range(c0 + 1, c1))

    # How each edge runs: straight along a row, down a gap between columns, over a lane above a row, or down
    # to the gap under its band and round to another band. Skips from one source share one line.
    route: dict[int, str] = {}
    lanes: dict[tuple[int, int, int], list[int]] = {}  # (band, row, source) -> [first col, last col]
    outgoing: dict[tuple[int, int], int] = {}  # (band gap, source) -> level
    margin_level: dict[int, int] = {}
    for e in edges:
        u, v = e.src, e.dst
        if u.band != v.band:
            route[id(e)] = "band"
            outgoing.setdefault((u.band, id(u)), 0)
            if v.band > u.band + 1:
                outgoing.setdefault((v.band - 1, id(u)), 0)
                margin_level.setdefault(id(u), len(margin_level))
        elif u.row == v.row and free(u.row, u.col, v.col):
            route[id(e)] = "straight"
        elif u.row != v.row and free(u.row, u.col, v.col):
            route[id(e)] = "merge"
        elif u.row != v.row and free(v.row, u.col, v.col):
            route[id(e)] = "branch"
        else:
            route[id(e)] = "lane"
            span = lanes.setdefault((u.band, min(u.row, v.row), id(u)), [u.col, v.col])
            span[1] = max(span[1], v.col)
    lane_level: dict[tuple[int, int, int], int] = {}
    levels_used: dict[tuple[int, int], int] = {}
    placed: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for key, (c0, c1) in sorted(lanes.items(), key=lambda kv: (kv[1][1] - kv[1][0], kv[1][0])):
        here = placed.setdefault(key[:2], [])
        level = 0
        while any(lv == level and a < c1 and c0 < b for a, b, lv in here):
            level += 1
        here.append((c0, c1, level))
        lane_level[key] = level % LANE_LEVELS
        levels_used[key[:2]] = max(levels_used.get(key[:2], 0), min(level, LANE_LEVELS - 1) + 1)
    gap_levels = [0] * nbands
    for key in outgoing:
        outgoing[key] = gap_levels[key[0]] % LANE_LEVELS
        gap_levels[key[0]] += 1
    margin = MARGIN + 4.0 * min(len(margin_level), 8)

    # Column x positions per band, then row heights and y positions.
    col_x = [0.0] * ncols
    band_width = 0.0
    for b, s in enumerate(starts):
        x = margin
        for c in range(s, starts[b + 1] if b + 1 < nbands else ncols):
            col_x[c] = x
            x += widths[c] + GAP
        band_width = max(band_width, x - GAP)
    by_band_row: dict[tuple[int, int], list[Box]] = {}
    for box in boxes:
        by_band_row.setdefault((box.band, box.row), []).append(box)
    y = TITLE_H
    slot_top: dict[tuple[int, int], float] = {}
    gap_y = [0.0] * nbands
    for b in range(nbands):
        for row in sorted(r for bb, r in by_band_row if bb == b):
            members = by_band_row[(b, row)]
            slot_top[(b, row)] = y
            lane_h = 6.0 + LANE_STEP * levels_used[(b, row)] if (b, row) in levels_used else 2.0
            above = LINE * max(m.lines_above() for m in members) + 4.0
            body = max(m.extent for m in members)
            cy = y + lane_h + above + body / 2
            for m in members:
                m.cy = cy
                m.x = col_x[m.col] + (widths[m.col] - m.width) / 2
            below = LINE * (1 + any(m.named for m in members))
            y += lane_h + above + body + 4.0 + below + ROW_PAD
        gap_y[b] = y + 6.0
        y += 14.0 + LANE_STEP * min(gap_levels[b], LANE_LEVELS)

    def after(box: Box) -> float:
        return col_x[box.col] + widths[box.col] + GAP / 2

    def before(box: Box) -> float:
        return col_x[box.col] - GAP / 2

    for e in edges:
        u, v = e.src, e.dst
        start, end = u.centre, (v.x, v.cy)
        kind = route[id(e)]
        if kind == "straight":
            e.points = [start, end]
        elif kind == "merge":
            e.points = [start, (before(v), u.cy), (before(v), v.cy), end]
        elif kind == "branch":
            e.points = [start, (after(u), u.cy), (after(u), v.cy), end]
        elif kind == "lane":
            row = min(u.row, v.row)
            key = (u.band, row, id(u))
            lane = slot_top[(u.band, row)] + 6.0 + LANE_STEP * (levels_used[key[:2]] - 1 - lane_level[key])
            e.points = [start, (after(u), u.cy), (after(u), lane), (before(v), lane), (before(v), v.cy), end]
            e.skip = True
        else:
            down = gap_y[u.band] + LANE_STEP * outgoing[(u.band, id(u))]
            e.points = [start, (after(u), u.cy), (after(u), down)]
            if v.band > u.band + 1:
                side = margin - 8.0 - 4.0 * (margin_level[id(u)] % 8)
                into = gap_y[v.band - 1] + LANE_STEP * outgoing[(v.band - 1, id(u))]
                e.points += [(side, down), (side, into), (before(v), into)]
            else:
                e.points.append((before(v), down))
            e.points += [(before(v), v.cy), end]
            e.skip = True
    header = _header(model, {b.category for b in boxes})
    width = max(band_width + MARGIN, max(_right(i) for i in header) + MARGIN)
    return Layout(model.name, width, y + MARGIN - 14.0, boxes, edges, header)


def _right(item: Poly | Text) -> float:
    if isinstance(item, Text):
        return item.x + text_width(item.text, item.size)
    return max(x for x, _ in item.points)


def _header(model: Any, used: set[str]) -> list[Poly | Text]:
    """The title (name, input, totals) and a legend of the colours used."""
    t = model.totals
    inputs = ", ".join(s.text(model.report.settings.layout) for _, s in model.report.inputs)
    macs = f"{t.macs:,} MACs" + (" (+ unknown)" if model.report.unknown_macs else "")
    items: list[Poly | Text] = [
        Text(MARGIN, 24.0, model.name, 15.0, "title", anchor="start", bold=True),
        Text(MARGIN, 40.0, f"input {inputs} · {t.params:,} params · {macs}", 10.0, "note", "start", "#444444"),
    ]
    x, y = MARGIN, 56.0
    for key, label in LEGEND:
        if key not in used:
            continue
        color = COLORS[key]
        items.append(Poly([(x, y - 8), (x + 9, y - 8), (x + 9, y + 1), (x, y + 1)], color, shade(color, 0.55)))
        items.append(Text(x + 13, y, label, SMALL, "note", anchor="start", color="#444444"))
        x += 13 + text_width(label, SMALL) + 14
    return items
