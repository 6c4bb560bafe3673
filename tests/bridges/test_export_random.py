"""Random valid specs, exported to PyTorch and counted by PyTorch: params, buffers, every layer's shape and the MACs.

The strategy writes spec text layer by layer and works out every shape itself (from PyTorch's documented formulas,
not cnncalc's), so that it only ever writes specs that are valid: a kernel that fits its padded input, groups that
divide the channels, a convT output of at least one pixel, matching shapes for add. If cnncalc refuses a generated
spec, the generator (or cnncalc) is wrong, and the test says which spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import pytest

pytest.importorskip("torch")
pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_export import disagreements

import cnncalc

MAX_SIDE = 40  # keep maps small: their size costs nothing on the meta device, but specs stay readable


@dataclass
class Shape:
    """H x W x C, or a vector of C (h = w = None)."""

    c: int
    h: int | None = None
    w: int | None = None

    @property
    def spatial(self) -> bool:
        return self.h is not None

    @property
    def numel(self) -> int:
        return self.c * (self.h or 1) * (self.w or 1)


@dataclass
class Spec:
    lines: list[str] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    aux: set[str] = field(default_factory=set)  # training-only layers: nothing of inference may read them
    count: int = 0

    def add(self, name: str, text: str, shape: Shape, *, aux: bool = False) -> str:
        self.lines.append(f"{name}: {text}")
        self.shapes[name] = shape
        if aux:
            self.aux.add(name)
        return name

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def pair(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}x{b}"


def conv_out(n: int, k: int, s: int, pads: int, d: int = 1) -> int:
    """PyTorch's Conv2d: floor((N + pads - D(K-1) - 1)/S) + 1."""
    return (n + pads - d * (k - 1) - 1) // s + 1


def pool_out(n: int, k: int, s: int, p: int, ceil: bool) -> int:
    """PyTorch's pools: ceil mode drops a last window that would start in the right padding."""
    if not ceil:
        return (n + 2 * p - k) // s + 1
    out = -(-(n + 2 * p - k) // s) + 1
    if (out - 1) * s >= n + p:
        out -= 1
    return out


# ----------------------------------------------------------------------------- one layer each


@st.composite
def window_axis(draw: st.DrawFn, n: int, mode: str, dilate: bool) -> tuple[int, int, int, int, int]:
    """(k, s, p, d, out) along one axis of length n for a convolution; p is -1 for `same`."""
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3)) if dilate else 1
    if mode == "same":
        k = draw(st.integers(1, 5))
        return k, s, -1, d, -(-n // s)
    p = 0 if mode == "valid" else draw(st.integers(0, 2))
    # The dilated kernel must fit the padded input: d(k-1)+1 <= n + 2p.
    k_most = min(5, (n + 2 * p - 1) // d + 1)
    k = draw(st.integers(1, k_most))
    return k, s, p, d, conv_out(n, k, s, 2 * p, d)


@st.composite
def conv(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    shape = spec.shapes[x]
    assert shape.h is not None and shape.w is not None
    depthwise = draw(st.booleans()) and shape.c <= 12
    mode = draw(st.sampled_from(["int", "int", "same", "valid"]))
    square = draw(st.booleans())
    dilate = draw(st.booleans())
    kh, sh, ph, dh, oh = draw(window_axis(shape.h, mode, dilate))
    if square and shape.w == shape.h:
        kw, sw, pw, dw, ow = kh, sh, ph, dh, oh
    else:
        kw, sw, pw, dw, ow = draw(window_axis(shape.w, mode, dilate))
    keys = [f"k={pair(kh, kw)}"]
    if (sh, sw) != (1, 1) or draw(st.booleans()):
        keys.append(f"s={pair(sh, sw)}")
    if mode == "same":
        keys.append("p=same")
    elif mode == "valid":
        keys.append("p=valid")
    elif (ph, pw) != (0, 0):
        keys.append(f"p={pair(ph, pw)}")
    if (dh, dw) != (1, 1):
        keys.append(f"d={pair(dh, dw)}")
    if draw(st.integers(0, 3)) == 0:
        keys.append(f"bias={draw(st.sampled_from(['true', 'false']))}")
    if depthwise:
        m = draw(st.integers(1, 3))
        if m > 1:
            keys.append(f"m={m}")
        return spec.add(name, f"dwconv {' '.join(keys)} from={x}", Shape(shape.c * m, oh, ow))
    g = draw(st.sampled_from([d for d in divisors(shape.c) if d <= 8]))
    out = g * draw(st.integers(1, max(1, 12 // g)))
    if g > 1:
        keys.append(f"g={g}")
    return spec.add(name, f"conv {out} {' '.join(keys)} from={x}", Shape(out, oh, ow))


@st.composite
def conv_transpose(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    shape = spec.shapes[x]
    assert shape.h is not None and shape.w is not None
    g = draw(st.sampled_from([d for d in divisors(shape.c) if d <= 4]))
    out = g * draw(st.integers(1, max(1, 8 // g)))
    sizes = []
    axes = []
    for n in (shape.h, shape.w):
        k = draw(st.integers(1, 4))
        s = draw(st.integers(1, 3))
        d = draw(st.integers(1, 2))
        op = draw(st.integers(0, max(s, d) - 1))  # output padding must be below the stride or the dilation
        full = (n - 1) * s + d * (k - 1) + op + 1
        p = draw(st.integers(0, min(2, (full - 1) // 2)))
        sizes.append(full - 2 * p)
        axes.append((k, s, p, op, d))
    (kh, sh, ph, oph, dh), (kw, sw, pw, opw, dw) = axes
    keys = [f"k={pair(kh, kw)}", f"s={pair(sh, sw)}"]
    if (ph, pw) != (0, 0):
        keys.append(f"p={pair(ph, pw)}")
    if (oph, opw) != (0, 0):
        keys.append(f"op={pair(oph, opw)}")
    if (dh, dw) != (1, 1):
        keys.append(f"d={pair(dh, dw)}")
    if g > 1:
        keys.append(f"g={g}")
    if draw(st.booleans()):
        keys.append("bias=false")
    return spec.add(name, f"convT {out} {' '.join(keys)} from={x}", Shape(out, sizes[0], sizes[1]))


@st.composite
def pool(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    shape = spec.shapes[x]
    assert shape.h is not None and shape.w is not None
    op = draw(st.sampled_from(["maxpool", "avgpool"]))
    ceil = draw(st.booleans())
    same = draw(st.integers(0, 4)) == 0
    axes = []
    for n in (shape.h, shape.w):
        p = 0 if same else draw(st.integers(0, 2))
        s = draw(st.integers(1, 3))
        # The window fits the padded input, or in ceil mode starts inside it; PyTorch: padding at most half the window.
        room = n + 2 * p + (s - 1 if ceil and not same else 0)
        k = draw(st.integers(max(1, 2 * p), max(min(4, room), 2 * p)))
        out = -(-n // s) if same else pool_out(n, k, s, p, ceil)
        axes.append((k, s, p, out))
    (kh, sh, ph, oh), (kw, sw, pw, ow) = axes
    keys = [f"k={pair(kh, kw)}"]
    if (sh, sw) != (kh, kw) or draw(st.booleans()):
        keys.append(f"s={pair(sh, sw)}")
    if same:
        keys.append("p=same")
    elif (ph, pw) != (0, 0):
        keys.append(f"p={pair(ph, pw)}")
    if ceil:
        keys.append("ceil=true")
    return spec.add(name, f"{op} {' '.join(keys)} from={x}", Shape(shape.c, oh, ow))


ACTIVATIONS = ["relu", "relu6", "sigmoid", "tanh", "hswish", "softmax", "gelu", "silu", "hsigmoid", "leakyrelu", "elu"]
ACTIVATIONS += ["identity"]


@st.composite
def same_shape(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    """Layers that keep the shape: norms, activations, dropout, scale, shuffle."""
    shape = spec.shapes[x]
    choice = draw(st.sampled_from(["bn", "layernorm", "lrn", "act", "dropout", "droppath", "scale", "shuffle"]))
    if choice == "act":
        text = draw(st.sampled_from(ACTIVATIONS))
    elif choice == "lrn":
        text = f"lrn size={draw(st.integers(1, 5))}"
    elif choice in ("dropout", "droppath"):
        text = f"{choice} p={draw(st.sampled_from(['0', '0.1', '0.5']))}"
    elif choice == "scale":
        text = "scale" + draw(st.sampled_from(["", " bias=true"]))
    elif choice == "shuffle" and shape.spatial:
        text = f"shuffle g={draw(st.sampled_from(divisors(shape.c)))}"
    elif choice == "shuffle":
        text = "identity"  # shuffle takes feature maps only
    else:
        text = choice
    return spec.add(name, f"{text} from={x}", shape)


@st.composite
def activation(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    return spec.add(name, f"{draw(st.sampled_from(ACTIVATIONS))} from={x}", spec.shapes[x])


@st.composite
def resize(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    """gap, adaptive pooling, upsampling (scales exact in binary: see test_upsample_by_a_decimal_scale)."""
    shape = spec.shapes[x]
    assert shape.h is not None and shape.w is not None
    choice = draw(st.sampled_from(["gap", "adaptive", "upsample"]))
    if choice == "gap":
        return spec.add(name, f"gap from={x}", Shape(shape.c, 1, 1))
    if choice == "adaptive":
        oh, ow = draw(st.integers(1, shape.h + 1)), draw(st.integers(1, shape.w + 1))
        return spec.add(name, f"adaptiveavgpool {oh}x{ow} from={x}", Shape(shape.c, oh, ow))
    scales = [f for f in ("0.25", "0.5", "1.5", "2", "2.5", "3") if 1 <= shape.h * Fraction(f) <= MAX_SIDE]
    scales = [f for f in scales if 1 <= shape.w * Fraction(f) <= MAX_SIDE]
    if not scales:
        return spec.add(name, f"gap from={x}", Shape(shape.c, 1, 1))
    f = draw(st.sampled_from(scales))
    mode = draw(st.sampled_from(["nearest", "bilinear"]))
    out = Shape(shape.c, int(shape.h * Fraction(f)), int(shape.w * Fraction(f)))
    return spec.add(name, f"upsample scale={f} mode={mode} from={x}", out)


@st.composite
def channels(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    """slice (a range or a list of channels)."""
    shape = spec.shapes[x]
    if draw(st.booleans()):
        a = draw(st.integers(0, shape.c - 1))
        b = draw(st.integers(a + 1, shape.c))
        return spec.add(name, f"slice {a}:{b} from={x}", Shape(b - a, shape.h, shape.w))
    picks = draw(st.lists(st.integers(0, shape.c - 1), min_size=1, max_size=shape.c, unique=True))
    return spec.add(name, f"slice {','.join(map(str, picks))} from={x}", Shape(len(picks), shape.h, shape.w))


@st.composite
def reshape(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    shape = spec.shapes[x]
    n = shape.numel
    if draw(st.booleans()) or n > MAX_SIDE * MAX_SIDE:
        return spec.add(name, f"reshape {n} from={x}", Shape(n))
    h = draw(st.sampled_from([d for d in divisors(n) if d <= MAX_SIDE]))
    w = draw(st.sampled_from([d for d in divisors(n // h) if d <= MAX_SIDE]))
    c = n // h // w
    return spec.add(name, f"reshape {h}x{w}x{c} from={x}", Shape(c, h, w))


@st.composite
def head(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    """flatten, then fc (and maybe rbf): maps become vectors."""
    shape = spec.shapes[x]
    if shape.spatial and (shape.h, shape.w) == (1, 1) and draw(st.booleans()):
        src = x  # fc takes a 1x1xC map as it is
    elif shape.spatial:
        src = spec.add(name + "f", f"flatten from={x}", Shape(shape.numel))
    else:
        src = x
    out = draw(st.integers(1, 24))
    bias = draw(st.sampled_from(["", " bias=false"]))
    if draw(st.integers(0, 5)) == 0:
        return spec.add(name, f"rbf {out} from={src}", Shape(out))
    return spec.add(name, f"fc {out}{bias} from={src}", Shape(out))


@st.composite
def merge(draw: st.DrawFn, spec: Spec, x: str, name: str) -> str:
    """A branch from x that joins again: residual add, concat, squeeze-and-excitation mul (1x1xC or vector gate)."""
    shape = spec.shapes[x]
    kind = draw(st.sampled_from(["add", "concat", "gate"] if shape.spatial else ["add", "concat", "gate_vector"]))
    if kind == "gate" and shape.spatial:
        pooled = spec.add(name + "p", f"gap from={x}", Shape(shape.c, 1, 1))
        if draw(st.booleans()):
            r = draw(st.integers(1, max(1, shape.c // 2)))
            squeezed = spec.add(name + "r", f"conv {r} k=1 from={pooled}", Shape(r, 1, 1))
            squeezed = spec.add(name + "a", f"relu from={squeezed}", Shape(r, 1, 1))
            gate = spec.add(name + "e", f"conv {shape.c} k=1 from={squeezed}", Shape(shape.c, 1, 1))
        elif draw(st.booleans()):
            flat = spec.add(name + "v", f"flatten from={pooled}", Shape(shape.c))
            gate = spec.add(name + "e", f"fc {shape.c} from={flat}", Shape(shape.c))  # a vector gate broadcasts
        else:
            gate = spec.add(name + "e", f"conv {shape.c} k=1 from={pooled}", Shape(shape.c, 1, 1))
        act = draw(st.sampled_from(["sigmoid", "hsigmoid"]))
        gate = spec.add(name + "s", f"{act} from={gate}", spec.shapes[gate])
        inputs = [x, gate] if draw(st.booleans()) else [gate, x]
        return spec.add(name, f"mul from={','.join(inputs)}", shape)
    if kind == "gate_vector":
        gate = spec.add(name + "e", f"fc {shape.c} from={x}", Shape(shape.c))
        gate = spec.add(name + "s", f"sigmoid from={gate}", Shape(shape.c))
        return spec.add(name, f"mul from={x},{gate}", shape)
    if kind == "add":
        same = [n for n, s in spec.shapes.items() if s == shape and n != x and n not in spec.aux]
        if same and draw(st.booleans()):
            other = draw(st.sampled_from(same))
        elif shape.spatial:
            k = draw(st.sampled_from([1, 3, 5]))
            other = spec.add(name + "b", f"conv {shape.c} k={k} p={(k - 1) // 2} from={x}", shape)
        else:
            other = spec.add(name + "b", f"fc {shape.c} from={x}", shape)
        more = [other] if draw(st.integers(0, 3)) else [other, x]
        return spec.add(name, f"add from={','.join([x, *more])}", shape)
    # concat: layers of the same H x W (or vectors), or a fresh branch
    fits = [
        n
        for n, s in spec.shapes.items()
        if s.spatial == shape.spatial and (s.h, s.w) == (shape.h, shape.w) and n not in spec.aux
    ]
    others = draw(st.lists(st.sampled_from(fits), min_size=1, max_size=3))
    if shape.spatial and draw(st.booleans()):
        c = draw(st.integers(1, 8))
        others.append(spec.add(name + "b", f"conv {c} k=1 from={x}", Shape(c, shape.h, shape.w)))
    total = shape.c + sum(spec.shapes[n].c for n in others)
    return spec.add(name, f"concat from={','.join([x, *others])}", Shape(total, shape.h, shape.w))


@st.composite
def specs(draw: st.DrawFn) -> str:
    spec = Spec()
    if draw(st.integers(0, 5)) == 0:
        spec.lines.append("set bias=false")
    inputs = draw(st.integers(1, 2)) if draw(st.booleans()) else 1
    for i in range(inputs):
        if draw(st.integers(0, 6)) == 0:
            c = draw(st.integers(1, 64))
            spec.add(f"in{i}", f"input {c}", Shape(c))
        else:
            h, w, c = draw(st.integers(1, 24)), draw(st.integers(1, 24)), draw(st.integers(1, 8))
            spec.add(f"in{i}", f"input {h}x{w}x{c}", Shape(c, h, w))
    last = "in0"
    style = draw(st.sampled_from(["l{}", "block{}.conv", "b-{}", "layer.{}"]))
    for step in range(draw(st.integers(1, 10))):
        name = style.format(step)
        choices = [n for n in spec.shapes if n not in spec.aux]
        x = last if draw(st.integers(0, 3)) else draw(st.sampled_from(choices))
        shape = spec.shapes[x]
        if shape.spatial:
            ops = [conv, conv, conv, pool, pool, activation, same_shape, resize, channels, merge, merge, head, reshape]
            if max(shape.h or 1, shape.w or 1) <= MAX_SIDE // 3:
                ops.append(conv_transpose)
        else:
            ops = [activation, same_shape, same_shape, channels, merge, merge, head, head, head, reshape]
        last = draw(draw(st.sampled_from(ops))(spec, x, name))
    if draw(st.integers(0, 4)) == 0:
        # A training-only auxiliary head from some map: built, counted in params, run only while training.
        maps = [n for n, s in spec.shapes.items() if s.spatial and n not in spec.aux]
        if maps:
            x = draw(st.sampled_from(maps))
            c = spec.shapes[x].c
            spec.lines.append(f"aux.pool: gap aux=true from={x}")
            spec.shapes["aux.pool"] = Shape(c, 1, 1)
            spec.aux.add("aux.pool")
            spec.add("aux.flat", "flatten from=aux.pool", Shape(c), aux=True)
            out = draw(st.integers(1, 10))
            spec.add("aux.fc", f"fc {out} from=aux.flat", Shape(out), aux=True)
    return spec.text()


# ----------------------------------------------------------------------------- the test


def check(text: str) -> None:
    try:
        model = cnncalc.load(text)
    except cnncalc.CnnCalcError as exc:
        raise AssertionError(f"cnncalc refused a valid spec (a generator bug?): {exc}\n{text}") from None
    found = disagreements(model)
    if model.report.training_only:
        found += [f"training: {line}" for line in disagreements(model, training=True)]
    assert not found, "\n".join([text, *found])


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs())
@example("input 7x9x4\nconv 6 k=3x2 s=2x1 p=same d=2 g=2\nmaxpool k=3 s=2 p=1 ceil=true\n")
def test_random_spec_exports_exactly(text: str) -> None:
    check(text)


def test_upsample_by_a_decimal_scale() -> None:
    # 45 x 1.4 = 63 exactly, but 45 * 1.4 in binary floating point is 62.99999999999999: PyTorch gives 62,
    # and so does cnncalc, which floors N*F in double precision as PyTorch does.
    check("input 45x45x1\nupsample scale=1.4\n")
