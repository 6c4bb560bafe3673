"""Exercise sheets: questions drawn reproducibly from a seed, one variant per student, with their answer key.

A sheet's structure (which kind each question is, which sub-kind, how many layers a network has) comes from the
seed alone, so every student answers the same columns; the numbers come from the seed and the student's id
(`random.Random(f"{seed}/{id}")`), so adding a student to the roster changes nobody else's sheet.

Every answer is worked out by cnncalc itself: network questions are cnncalc networks (spec text) and are graded
through `teach.answers` (which names the slip behind a wrong figure); the receptive field, point mapping and
convolution-as-matrix questions come from `teach.fields`, `teach.coords` and `teach.matrix`, the block costs from
`teach.cost`.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import CnnCalcError

NETWORK_KINDS = ("size", "params", "macs", "rf", "blocks", "map", "matrix", "table")
COURSE_KINDS = ("loss", "linear", "chain", "batchnorm", "lowrank")  # made in exercise_course.py
KINDS = NETWORK_KINDS + COURSE_KINDS
KIND_TITLES = {
    "size": "output size",
    "params": "parameters",
    "macs": "MACs and FLOPs",
    "rf": "receptive field",
    "blocks": "the cost of a mobile block",
    "map": "an image point on a feature map",
    "matrix": "convolution as a matrix",
    "table": "a whole network, layer by layer",
    "loss": "the loss of class scores",
    "linear": "a linear classifier",
    "chain": "the gradient through a chain of layers",
    "batchnorm": "batch normalisation",
    "lowrank": "low-rank factorisation",
}
DIFFICULTIES = ("easy", "medium", "hard")
MAX_QUESTIONS = 24
MAX_STUDENTS = 500
KEY_FORMAT = "cnncalc exercise key"
KEY_VERSION = 1

CONVENTIONS = (
    "Shapes are written H x W x C (height, width, channels); the batch is not counted.",
    "An output size that does not divide exactly is rounded down (floor), as PyTorch does, unless the question "
    "says ceil_mode=True.",
    "Parameters are weights and biases (PyTorch's numel), unless the question says otherwise.",
    "MACs are the multiply-accumulates of convolutions and fully connected layers; FLOPs = 2 x MACs.",
)


@dataclass
class Part:
    """One answer a student gives: an id (the column of the class file), what is asked, the right answer and how it
    is graded (`by`: cell / total through cnncalc's diagnosis, or number / numbers with the slips listed)."""

    id: str
    ask: str
    answer: Any
    by: str
    check: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "ask": self.ask, "answer": self.answer, "by": self.by, **self.check}


@dataclass
class Question:
    number: int
    kind: str
    text: str
    parts: list[Part]
    spec: str | None = None  # the network (cnncalc spec text) the question is about
    rows: list[list[str]] | None = None  # a table shown with the question, first row the header
    working: list[str] = field(default_factory=list)  # worked solution lines for questions without a network
    working_tex: list[str] = field(default_factory=list)
    drawn: dict[str, Any] = field(default_factory=dict)  # the numbers drawn, for checking against other tools

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "kind": self.kind,
            "text": self.text,
            "rows": self.rows,
            "spec": self.spec,
            "parts": [p.to_dict() for p in self.parts],
            "working": self.working,
            "working_tex": self.working_tex,
            "drawn": self.drawn,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Question:
        parts = []
        for p in d["parts"]:
            check = {k: v for k, v in p.items() if k not in ("id", "ask", "answer", "by")}
            parts.append(Part(p["id"], p["ask"], p["answer"], p["by"], check))
        return cls(d["number"], d["kind"], d["text"], parts, d.get("spec"), d.get("rows"), d.get("working", []),
                   d.get("working_tex", []), d.get("drawn", {}))  # fmt: skip


@dataclass
class Variant:
    student: str  # the roster id ("" for a sheet everyone shares)
    name: str
    questions: list[Question]

    def to_dict(self) -> dict[str, Any]:
        return {"student": self.student, "name": self.name, "questions": [q.to_dict() for q in self.questions]}


@dataclass
class Sheet:
    seed: int
    kinds: list[str]
    difficulty: str
    variants: list[Variant]

    @property
    def part_ids(self) -> list[str]:
        return [p.id for q in self.variants[0].questions for p in q.parts]

    def key(self) -> dict[str, Any]:
        """The key file `cnncalc grade` reads."""
        return {
            "format": KEY_FORMAT,
            "version": KEY_VERSION,
            "seed": self.seed,
            "kinds": self.kinds,
            "difficulty": self.difficulty,
            "columns": self.part_ids,
            "variants": [v.to_dict() for v in self.variants],
        }

    def answers_template(self) -> str:
        """A class file to fill in: the header and one row per student."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["student", *self.part_ids])
        for v in self.variants:
            w.writerow([v.student or "", *([""] * len(self.part_ids))])
        return buf.getvalue()


# ----------------------------------------------------------------------------- a roster


@dataclass(frozen=True)
class Student:
    id: str
    name: str


def read_roster(text: str, source: str) -> list[Student]:
    """A CSV with an `id` (or `student`) column and optionally `name`; one student a row."""
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        raise CnnCalcError(f"{source}: the roster is empty: start with a header such as `id,name`")
    header = [h.strip().lower() for h in rows[0]]
    key = "id" if "id" in header else "student" if "student" in header else None
    if key is None:
        raise CnnCalcError(f"{source}:1: the roster needs an `id` or `student` column (it has: {', '.join(header)})")
    col = header.index(key)
    name_col = header.index("name") if "name" in header else None
    students: list[Student] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        sid = row[col].strip() if col < len(row) else ""
        if not sid:
            raise CnnCalcError(f"{source}:{line}: no student id in the `{key}` column")
        if sid in seen:
            raise CnnCalcError(f"{source}:{line}: student id {sid!r} is already on line {seen[sid]}")
        seen[sid] = line
        name = row[name_col].strip() if name_col is not None and name_col < len(row) else ""
        students.append(Student(sid, name))
    if not students:
        raise CnnCalcError(f"{source}: the roster has a header but no student")
    if len(students) > MAX_STUDENTS:
        raise CnnCalcError(f"{source}: {len(students)} students; at most {MAX_STUDENTS} a sheet")
    return students


# ----------------------------------------------------------------------------- drawing numbers


def _load(spec: str, bias: bool = True) -> Any:
    import warnings

    from ..api import load

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load(spec, bias=bias)


def _letters(n: int) -> str:
    return "abcdefghijklmnopqrstuvwxyz"[n]


def _parts(number: int, items: list[tuple[str, Any, str, dict[str, Any]]]) -> list[Part]:
    return [Part(f"q{number}{_letters(i)}", ask, answer, by, check) for i, (ask, answer, by, check) in
            enumerate(items)]  # fmt: skip


def _shape_text(model: Any, name: str) -> str:
    return str(model.layer(name).output.text("hwc"))


def _size_question(number: int, sub: str, rng: random.Random, level: int) -> Question:
    """The output size of one layer: exact, rounded down, ceil_mode, dilated or transposed."""
    c_in = rng.choice((1, 3, 8, 16))
    c_out = rng.choice((4, 8, 16, 32, 64))
    while True:
        if sub in ("conv", "floor", "dilated"):
            k = rng.choice((3, 5) if level == 0 else (1, 3, 5, 7) if sub != "dilated" else (3,))
            d = rng.choice((2, 3)) if sub == "dilated" else 1
            s = rng.choice((1, 2) if sub != "floor" else (2, 3))
            p = rng.choice(range(0, d * (k - 1) // 2 + 1))
            n = rng.randint(max(5, d * (k - 1) + 1), (16, 32, 64)[level])
            w = n if level < 2 else rng.randint(max(5, d * (k - 1) + 1), 64)
            exact = all((x + 2 * p - d * (k - 1) - 1) % s == 0 for x in (n, w))
            if (sub == "floor") == exact or n + 2 * p < d * (k - 1) + 1:
                continue
            args = f"k={k}" + (f" s={s}" if s > 1 else "") + (f" p={p}" if p else "") + (f" d={d}" if d > 1 else "")
            spec = f"input {n}x{w}x{c_in}\nlayer: conv {c_out} {args}\n"
            words = f"a convolution with {c_out} filters of {k}x{k}, stride {s}, padding {p}"
            if d > 1:
                words += f", dilation {d}"
            if sub == "floor":
                words += "; the size does not divide exactly: it is rounded down (floor), as PyTorch does"
        elif sub == "ceil":
            k, s = rng.choice(((2, 2), (3, 2), (3, 3)))
            n = rng.randint(7, (15, 33, 57)[level])
            w = n
            if (n - k) % s == 0:
                continue
            c_out = c_in = rng.choice((8, 16, 32, 64))
            spec = f"input {n}x{w}x{c_in}\nlayer: maxpool k={k} s={s} ceil=true\n"
            words = f"max pooling {k}x{k}, stride {s}, no padding, with ceil_mode=True (the size is rounded up)"
        else:  # transposed
            k = rng.choice((2, 3, 4))
            s = rng.choice((1, 2))
            p = rng.choice(range(0, min(2, k)))
            op = rng.choice((0, 1)) if s > 1 and level == 2 else 0
            n = rng.randint(3, 16)
            w = n
            args = f"k={k}" + (f" s={s}" if s > 1 else "") + (f" p={p}" if p else "") + (f" op={op}" if op else "")
            spec = f"input {n}x{w}x{c_in}\nlayer: convT {c_out} {args}\n"
            words = f"a transposed convolution with {c_out} filters of {k}x{k}, stride {s}, padding {p}"
            if op:
                words += f", output padding {op}"
        model = _load(spec)
        break
    text = f"A layer takes a {n} x {w} x {c_in} input (H x W x C): {words}. What is its output size H x W x C?"
    parts = _parts(number, [("the output size H x W x C", _shape_text(model, "layer"), "cell",
                             {"layer": "layer", "field": "output_shape"})])  # fmt: skip
    return Question(number, "size", text, parts, spec, drawn={"sub": sub})


def _conv_layer(rng: random.Random, level: int, sub: str) -> tuple[int, int, int, int, int, str, str]:
    """(n, c_in, c_out, k, s, layer spec, words) for a parameters or MACs question."""
    k = rng.choice((1, 3, 5) if level < 2 else (1, 3, 5, 7))
    s = rng.choice((1, 2)) if level else 1
    p = (k - 1) // 2
    # a stride-2 layer padded by (k-1)/2 divides exactly on an odd size
    n = rng.choice(((8, 14, 16, 28, 32) if level < 2 else (7, 14, 28, 56)) if s == 1 else (9, 15, 17, 29, 33))
    if sub == "depthwise":
        k = rng.choice((3, 5))
        p = (k - 1) // 2
        c = rng.choice((16, 32, 64, 96))
        m = rng.choice((1, 2)) if level == 2 else 1
        spec = f"layer: dwconv k={k} s={s} p={p}" + (f" m={m}" if m > 1 else "")
        each = f"{m} filters for each input channel" if m > 1 else "one filter for each input channel"
        return n, c, c * m, k, s, spec, f"a depthwise convolution {k}x{k} ({each}), stride {s}, padding {p}"
    g = rng.choice((2, 4)) if sub == "grouped" else 1
    c_in = rng.choice((3, 8, 16, 32, 64)) if g == 1 else rng.choice((8, 16, 32, 64))
    c_out = rng.choice((8, 16, 32, 64, 128))
    spec = f"layer: conv {c_out} k={k}" + (f" s={s}" if s > 1 else "") + (f" p={p}" if p else "")
    words = f"a convolution with {c_out} filters of {k}x{k}, stride {s}, padding {p}"
    if g > 1:
        spec += f" g={g}"
        words += f", in {g} groups"
    return n, c_in, c_out, k, s, spec, words


def _params_question(number: int, sub: str, rng: random.Random, level: int) -> Question:
    n, c_in, _, _, _, layer, words = _conv_layer(rng, level, sub)
    spec = f"input {n}x{n}x{c_in}\n{layer}\n"
    model = _load(spec)
    x = model.layer("layer")
    text = f"A layer takes a {n} x {n} x {c_in} input: {words}, with a bias for each output channel."
    parts = _parts(number, [
        ("its parameters without the biases (weights only)", x.weights, "cell", {"layer": "layer", "field": "weights"}),
        ("its parameters with the biases", x.params, "cell", {"layer": "layer", "field": "params"}),
    ])  # fmt: skip
    return Question(number, "params", text, parts, spec, drawn={"sub": sub})


def _macs_question(number: int, sub: str, rng: random.Random, level: int) -> Question:
    n, c_in, _, _, _, layer, words = _conv_layer(rng, level, sub)
    spec = f"input {n}x{n}x{c_in}\n{layer}\n"
    model = _load(spec)
    t = model.totals
    text = (
        f"A layer takes a {n} x {n} x {c_in} input: {words}. Count multiply-accumulates (MACs) of the convolution "
        "only (no bias additions); FLOPs = 2 x MACs."
    )
    parts = _parts(number, [
        ("its MACs", t.macs, "total", {"of": "macs"}),
        ("its FLOPs", 2 * t.macs, "total", {"of": "flops"}),
    ])  # fmt: skip
    return Question(number, "macs", text, parts, spec, drawn={"sub": sub})


def _rf_layers(structure: list[str], rng: random.Random, level: int) -> list[tuple[str, int, int, int]]:
    """(op, k, s, d) for each layer of a receptive-field stack."""
    out = []
    for op in structure:
        if op == "pool":
            k = rng.choice((2, 3))
            out.append(("maxpool", k, 2, 1))
        else:
            k = rng.choice((3, 5) if level < 2 else (3, 5, 7))
            s = rng.choice((1, 2)) if level else 1
            d = rng.choice((1, 2, 3)) if level == 2 and s == 1 else 1
            out.append(("conv", k, s, d))
    return out


def _rf_question(number: int, structure: list[str], rng: random.Random, level: int) -> Question:
    layers = _rf_layers(structure, rng, level)
    n = rng.randint(33, 99)
    lines = [f"input {n}x{n}x3"]
    rows = [["layer", "type", "kernel", "stride", "dilation", "padding"]]
    for i, (op, k, s, d) in enumerate(layers, start=1):
        if op == "maxpool":
            lines.append(f"L{i}: maxpool k={k} s={s}")
            rows.append([f"L{i}", "max pool", f"{k}x{k}", str(s), "1", "0"])
        else:
            p = d * (k - 1) // 2
            lines.append(f"L{i}: conv 16 k={k} s={s} p={p}" + (f" d={d}" if d > 1 else ""))
            rows.append([f"L{i}", "conv", f"{k}x{k}", str(s), str(d), str(p)])
    spec = "\n".join(lines) + "\n"
    model = _load(spec)
    last = f"L{len(layers)}"
    rf = model.layer(last).rf
    size, jump = int(rf.h.size), int(rf.h.jump)
    naive = 1 + sum(d * (k - 1) for _, k, _, d in layers)
    undilated = _rf_of([(k, s, 1) for _, k, s, _ in layers])
    slips_size = [{"id": "strides-ignored", "explanation": "each layer's (k - 1) added without the jump (the "
                   "product of the strides before it)", "gives": naive}]  # fmt: skip
    if undilated != size:
        slips_size.append({"id": "dilation-ignored", "explanation": "k used for the kernel's span instead of "
                           "d(k - 1) + 1", "gives": undilated})  # fmt: skip
    jump_sum = sum(s for _, _, s, _ in layers)
    slips_jump = [{"id": "strides-added", "explanation": "the strides added instead of multiplied",
                   "gives": jump_sum}] if jump_sum != jump else []  # fmt: skip
    text = (
        f"A stack of layers on a {n} x {n} input, in this order. What is the "
        f"receptive field of one unit of {last} on the input, and its jump (the distance in input pixels between "
        "neighbouring units)?"
    )
    parts = _parts(number, [
        (f"the receptive field of {last} (its side, in input pixels)", size, "number", {"slips": slips_size}),
        (f"the jump of {last}", jump, "number", {"slips": slips_jump}),
    ])  # fmt: skip
    return Question(number, "rf", text, parts, spec, rows, drawn={"layers": layers})


def _rf_of(layers: list[tuple[int, int, int]]) -> int:
    size, jump = 1, 1
    for k, s, d in layers:
        size += d * (k - 1) * jump
        jump *= s
    return size


def _blocks_question(number: int, sub: str, rng: random.Random, level: int) -> Question:
    from .cost import compare, working

    c_in = rng.choice((16, 24, 32, 64))
    c_out = rng.choice((16, 32, 64, 96, 128))
    k = rng.choice((3, 5)) if level else 3
    t = rng.choice((4, 6))
    r = rng.choice([x for x in (4, 8, 16) if c_out % x == 0])
    stride = rng.choice((1, 2)) if level == 2 and sub != "se" else 1
    h = rng.choice(((7, 14, 28) if level < 2 else (7, 14, 28, 56)) if stride == 1 else (7, 15, 29))
    c = compare(h, h, c_in, c_out, k, t=t, r=r, stride=stride)
    b = c.block(sub)
    if sub == "separable":
        what = (
            f"a depthwise-separable convolution: a {k}x{k} depthwise conv on the {c_in} channels, stride "
            f"{stride}, padding {(k - 1) // 2}, then a 1x1 pointwise conv to {c_out} channels; no biases"
        )
        shape = f"{h} x {h} x {c_in}"
    elif sub == "inverted_residual":
        what = (
            f"an inverted residual (MobileNetV2) block with expansion t = {t}: a 1x1 conv {c_in} -> {t * c_in}, "
            f"a {k}x{k} depthwise conv, stride {stride}, padding {(k - 1) // 2}, a 1x1 conv "
            f"{t * c_in} -> {c_out}; no biases; batch norm, activations and any residual add are not counted"
        )
        shape = f"{h} x {h} x {c_in}"
    else:
        what = (
            f"a squeeze-and-excitation block with reduction r = {r}: global average pool, FC {c_out} -> "
            f"{c_out // r} (with bias), ReLU, FC {c_out // r} -> {c_out} (with bias), sigmoid, and the channel "
            "scaling; MACs count the two FC layers only"
        )
        shape = f"{h} x {h} x {c_out}"
    text = f"A block takes a {shape} input: {what}. Count its parameters and its MACs."
    t_ = b.model.totals
    parts = _parts(number, [
        ("its parameters", t_.params, "total", {"of": "params"}),
        ("its MACs", t_.macs, "total", {"of": "macs"}),
    ])  # fmt: skip
    from ..render.explain import LATEX, worked

    steps = [b.params, b.macs, *b.extra]
    plain = [f"{b.title}: {b.structure}"] + [f"{s.label} = {working(s)}" for s in steps]
    tex = [rf"\text{{{s.label}}} &= {worked(s, LATEX)}" for s in steps]
    drawn = {"sub": sub, "h": h, "c_in": c_in, "c_out": c_out, "k": k, "t": t, "r": r, "stride": stride}
    return Question(number, "blocks", text, parts, b.spec, working=plain, working_tex=tex, drawn=drawn)


_SCALES = ((Fraction(2), (8, 10, 12, 16)), (Fraction(5, 2), (8, 10, 12)), (Fraction(16, 5), (5, 10)),
           (Fraction(4), (6, 8, 10)))  # fmt: skip


def _fnum(x: Fraction) -> float | int:
    return int(x) if x.denominator == 1 else float(x)


def _map_question(number: int, convention: str, rng: random.Random, level: int) -> Question:
    from .coords import map_point
    from .fields import fmt

    scale, fmaps = rng.choice(_SCALES)
    f = rng.choice(fmaps)
    image = int(scale * f)
    while True:
        y, x = rng.randint(0, image - 1), rng.randint(0, image - 1)
        pm = map_point((image, image), (f, f), (Fraction(y), Fraction(x)), convention)
        inside = pm.y.coord == pm.y.mapped and pm.x.coord == pm.x.mapped
        if inside and pm.y.frac and pm.x.frac and pm.y.high == pm.y.low + 1 and pm.x.high == pm.x.low + 1:
            break
    rule = {"scale": "x' = x / S with S = image size / map size",
            "half-pixel": "x' = (x + 0.5) / S - 0.5 with S = image size / map size (PyTorch's align_corners=False)"
            }[convention]  # fmt: skip
    text = (
        f"A {image} x {image} image gives a {f} x {f} feature map. Map the image pixel (y, x) = ({y}, {x}) onto the "
        f"map with {rule}, the same for y, and give the bilinear interpolation weights of its four neighbours."
    )
    alt = "half-pixel" if convention == "scale" else "scale"
    other = map_point((image, image), (f, f), (Fraction(y), Fraction(x)), alt)
    times = (Fraction(y) * scale, Fraction(x) * scale)
    items: list[tuple[str, Any, str, dict[str, Any]]] = []
    for axis, a, o, t in (("y", pm.y, other.y, times[0]), ("x", pm.x, other.x, times[1])):
        slips = [{"id": "multiplied-by-S", "explanation": "multiplied by S instead of divided", "gives": _fnum(t)}]
        if o.mapped != a.mapped:
            slips.append({"id": "other-convention", "explanation": f"the {alt} convention used", "gives":
                          _fnum(o.mapped)})  # fmt: skip
        items.append((f"{axis}' on the map", _fnum(a.coord), "number", {"slips": slips}))
    for (r, c), wt in pm.neighbours:
        swapped = dict(pm.neighbours)
        flip = [{"id": "weights-swapped", "explanation": "each neighbour given the other one's weight "
                 "(1 - dy where dy belongs)", "gives": _fnum(swapped[(pm.y.high + pm.y.low - r, pm.x.high +
                 pm.x.low - c)])}]  # fmt: skip
        items.append((f"the weight of map pixel ({r}, {c})", _fnum(wt), "number", {"slips": flip}))
    parts = _parts(number, items)
    drawn = {"image": image, "fmap": f, "point": [y, x], "convention": convention,
             "weights": [[r, c, _fnum(wt)] for (r, c), wt in pm.neighbours], "on_map": [fmt(pm.y.coord),
             fmt(pm.x.coord)]}  # fmt: skip
    lines = pm.lines()
    return Question(number, "map", text, parts, working=lines, working_tex=[], drawn=drawn)


def _matrix_question(number: int, sub: str, rng: random.Random, level: int) -> Question:
    from .matrix import conv_matrix, conv_transpose_matrix, format_value

    while True:
        k = rng.choice((2, 3))
        s = rng.choice((1, 2))
        if sub == "transposed":
            n = rng.randint(2, 4)
            p = 0
            m = conv_transpose_matrix(n, k, s, p)
        else:
            n = rng.randint(max(4, k), 6)
            p = rng.choice((0, 1)) if level else 0
            if (n + 2 * p - k) % s:
                continue
            m = conv_matrix(n, k, s, p)
        break
    weights = [rng.choice((-2, -1, 1, 2, 3)) for _ in range(k)]
    x = [rng.randint(-3, 4) for _ in range(n)]
    y = [int(v) for v in m.forward(weights, x)]
    rows, cols = m.shape
    numeric = m.numeric(weights)
    what = "transposed convolution" if sub == "transposed" else "convolution"
    text = (
        f"A 1-D {what} (one channel, no bias, as PyTorch's conv{'_transpose' if sub == 'transposed' else ''}1d) "
        f"with kernel w = {weights}, stride {s}, padding {p}, on the input x = {x}. Write it as y = M x: give "
        "the size of M (rows x columns) and y."
    )
    slips = [{"id": "transposed-size", "explanation": "rows and columns swapped", "gives": [cols, rows]}]
    parts = _parts(number, [
        ("the size of M, rows x columns", [rows, cols], "numbers", {"slips": slips if rows != cols else []}),
        ("y = M x", y, "numbers", {"slips": []}),
    ])  # fmt: skip
    shown = ["[" + ", ".join(format_value(v) for v in row) + "]" for row in numeric]
    lines = [f"output length: {m.output[0]} (M is {rows} x {cols})", "M = [" + shown[0]]
    lines += ["     " + r for r in shown[1:]]
    lines[-1] += "]"
    lines.append(f"y = M x = [{', '.join(map(str, y))}]")
    body = r" \\ ".join(" & ".join(format_value(v) for v in row) for row in numeric)
    tex = [rf"M &= \begin{{bmatrix}} {body} \end{{bmatrix}}", rf"y = M x &= ({', '.join(map(str, y))})"]
    drawn = {"sub": sub, "n": n, "k": k, "s": s, "p": p, "w": weights, "x": x}
    return Question(number, "matrix", text, parts, working=lines, working_tex=tex, drawn=drawn)


def _table_structure(rng: random.Random, level: int) -> list[str]:
    convs = (1, 2, 2)[level] + rng.randint(0, 1)
    out = []
    for _ in range(convs):
        out += ["conv", "pool"]
    return [*out, "flatten", "fc"]


def _table_question(number: int, structure: list[str], rng: random.Random, level: int) -> Question:
    while True:
        bias = rng.random() < 0.7
        n = rng.choice((28, 32) if level == 0 else (32, 48, 64) if level == 1 else (64, 96, 112))
        c = rng.choice((1, 3))
        lines = [*([] if bias else ["set bias=false"]), f"input {n}x{n}x{c}"]
        rows = [["layer", "type", "details"], ["input", "input", f"{n} x {n} x {c}"]]
        names = []
        counts = {"conv": 0, "pool": 0, "fc": 0}
        ok = True
        size = n
        for op in structure:
            counts[op] = counts.get(op, 0) + 1
            if op == "conv":
                k = rng.choice((3, 5) if level < 2 else (3, 5, 7, 9))
                p = rng.choice((0, (k - 1) // 2)) if level else 0
                f = rng.choice((6, 8, 16, 32) if level == 0 else (16, 32, 64))
                name = f"conv{counts[op]}"
                lines.append(f"{name}: conv {f} k={k}" + (f" p={p}" if p else ""))
                rows.append([name, "conv", f"{f} filters {k}x{k}, stride 1, padding {p}"])
                size = size + 2 * p - k + 1
            elif op == "pool":
                name = f"pool{counts[op]}"
                lines.append(f"{name}: maxpool k=2")
                rows.append([name, "max pool", "2x2, stride 2"])
                if size % 2:
                    ok = False
                size //= 2
            elif op == "flatten":
                name = "flat"
                lines.append("flat: flatten")
                rows.append([name, "flatten", ""])
            else:
                out = rng.choice((10, 16, 32, 100))
                name = f"fc{counts[op]}"
                lines.append(f"{name}: fc {out}")
                rows.append([name, "fully connected", f"{out} outputs"])
            names.append(name)
            if size < 2:
                ok = False
        if ok:
            break
    spec = "\n".join(lines) + "\n"
    model = _load(spec)
    items: list[tuple[str, Any, str, dict[str, Any]]] = []
    for name in names:
        items.append((f"{name}: output shape", _shape_text(model, name), "cell", {"layer": name,
                      "field": "output_shape"}))  # fmt: skip
        if name.startswith(("conv", "fc")):
            items.append((f"{name}: parameters", model.layer(name).params, "cell", {"layer": name,
                          "field": "params"}))  # fmt: skip
    items.append(("the network's total parameters", model.totals.params, "total", {"of": "params"}))
    words = "with biases" if bias else "counting weights only (no biases)"
    text = (f"Fill in the network's table: each layer's output shape (H x W x C, or N for a vector) and the "
            f"parameters of each conv and fully connected layer, {words}; then the total.")  # fmt: skip
    return Question(number, "table", text, _parts(number, items), spec, rows, drawn={"bias": bias})


# ----------------------------------------------------------------------------- the sheet


def _plan(seed: int, kinds: list[str], questions: int, level: int) -> list[tuple[str, Any]]:
    """Each question's kind and structure, from the seed alone (the same for every student)."""
    rng = random.Random(f"{seed}/structure")
    order = list(kinds)
    rng.shuffle(order)
    plan: list[tuple[str, Any]] = []
    for i in range(questions):
        kind = order[i % len(order)]
        if kind == "size":
            sub: Any = rng.choice((("conv",), ("conv", "floor", "ceil"), ("dilated", "transposed", "ceil", "floor"))
                                  [level])  # fmt: skip
        elif kind in ("params", "macs"):
            sub = rng.choice((("plain",), ("plain", "grouped"), ("grouped", "depthwise"))[level])
        elif kind == "rf":
            depth = (2, 3, 4)[level]
            sub = [rng.choice(("conv", "conv", "pool")) for _ in range(depth)]
        elif kind == "blocks":
            sub = rng.choice((("separable",), ("separable", "inverted_residual"), ("inverted_residual", "se"))[level])
        elif kind == "map":
            sub = "half-pixel" if level == 2 else "scale"
        elif kind == "matrix":
            sub = "transposed" if level == 2 else "conv"
        elif kind == "table":
            sub = _table_structure(rng, level)
        elif kind == "lowrank":
            sub = rng.choice(("conv", "fc"))
        else:
            sub = None
        plan.append((kind, sub))
    return plan


_MAKERS = {
    "size": _size_question,
    "params": _params_question,
    "macs": _macs_question,
    "rf": _rf_question,
    "blocks": _blocks_question,
    "map": _map_question,
    "matrix": _matrix_question,
    "table": _table_question,
}


def inexact(model: Any) -> bool:
    """Whether some layer's output size is a division that is not exact (rounded by floor or ceil), even where
    only padding is dropped and cnncalc gives no warning."""
    from ..expr import Step

    for layer in model.layers:
        for step in layer.steps:
            if step.label in ("H_out", "W_out") and step.formula.startswith(("floor(", "ceil(")):
                plain = step.formula.replace("floor(", "(").replace("ceil(", "(")
                if not isinstance(Step.of(step.label, plain, **step.values).value, int):
                    return True
    return False


def _draw(kind: str, number: int, sub: Any, rng: random.Random, level: int) -> Question:
    """A question whose network divides exactly everywhere, unless the question is about a size that does not."""
    for _ in range(500):
        if kind in COURSE_KINDS:
            from .exercise_course import MAKERS

            return MAKERS[kind](number, sub, rng, level)
        q = _MAKERS[kind](number, sub, rng, level)
        if q.spec is None or sub in ("floor", "ceil") or not inexact(_load(q.spec)):
            return q
    raise AssertionError(f"no {kind} question without an inexact size after 500 draws")  # a bug in the ranges


def parse_kinds(text: str | None) -> list[str]:
    if not text:
        return list(KINDS)
    kinds = [k.strip().lower() for k in text.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise CnnCalcError(f"--kinds {text}: choose from {', '.join(KINDS)} (comma-separated)")
    return list(dict.fromkeys(kinds))


def make_sheet(
    seed: int,
    kinds: list[str] | None = None,
    difficulty: str = "medium",
    questions: int | None = None,
    students: list[Student] | None = None,
) -> Sheet:
    """Every student's variant of the sheet (one shared variant without a roster)."""
    kinds = list(kinds or KINDS)
    if difficulty not in DIFFICULTIES:
        raise CnnCalcError(f"--difficulty {difficulty}: choose {', '.join(DIFFICULTIES)}")
    n = len(kinds) if questions is None else questions
    if not 1 <= n <= MAX_QUESTIONS:
        raise CnnCalcError(f"--questions {n}: give 1 to {MAX_QUESTIONS} questions")
    roster = students or [Student("", "")]
    if len(roster) > MAX_STUDENTS:
        raise CnnCalcError(f"{len(roster)} students: at most {MAX_STUDENTS} a sheet")
    level = DIFFICULTIES.index(difficulty)
    plan = _plan(seed, kinds, n, level)
    variants = []
    for student in roster:
        rng = random.Random(f"{seed}/{student.id}")
        qs = [_draw(kind, i, sub, rng, level) for i, (kind, sub) in enumerate(plan, start=1)]
        variants.append(Variant(student.id, student.name, qs))
    return Sheet(seed, kinds, difficulty, variants)
