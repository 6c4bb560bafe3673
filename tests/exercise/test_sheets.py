"""Generated exercise sheets checked against PyTorch: every network of a few hundred sheets is built in torch (by
this file's own reading of the layer lines, not cnncalc's exporter) and counted: output shapes from a forward on the
meta device, parameters with numel, MACs with FlopCounterMode; receptive fields by the gradient of one unit;
bilinear weights with F.interpolate / F.grid_sample; convolution matrices with F.conv1d / F.conv_transpose1d;
losses, linear scores and batch norm with torch.nn.functional, chain gradients with autograd."""

from __future__ import annotations

from typing import Any

import pytest

from cnncalc.teach.exercise import COURSE_KINDS, DIFFICULTIES, KINDS, Question, Student, make_sheet

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

SEEDS = range(20)  # x 4 students x 3 difficulties: 240 sheets
ROSTER = [Student(f"s{i:02d}", "") for i in range(4)]


def _args(text: str) -> tuple[str, str, list[str], dict[str, str]]:
    head, _, rest = text.partition(":")
    if not rest or "=" in head or " " in head.strip():
        head, rest = "", text
    words = rest.split()
    keys = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    return head.strip(), words[0], [w for w in words[1:] if "=" not in w], keys


class Net(nn.Module):
    """A network read from the spec's lines (channels first, as torch holds maps)."""

    def __init__(self, spec: str) -> None:
        """Each layer is run once on the meta device as it is built, to size the next one; the FLOPs of those runs
        are the network's (each layer runs exactly once)."""
        super().__init__()
        with FlopCounterMode(display=False) as counter:
            self._build(spec)
        self.macs = counter.get_total_flops() // 2

    def _build(self, spec: str) -> None:
        self.steps: list[tuple[str, str, Any, list[str]]] = []
        bias = True
        shapes: dict[str, tuple[int, ...]] = {}
        previous = ""
        self.layers = nn.ModuleDict()
        for n, line in enumerate(spec.strip().splitlines()):
            name, op, pos, keys = _args(line)
            if op == "set":
                bias = keys["bias"] == "true"
                continue
            name = name or ("input" if op == "input" else f"{op}{n}")
            ins = keys["from"].split(",") if "from" in keys else [previous]
            k = int(keys.get("k", 1))
            s = int(keys.get("s", 1))
            p = int(keys.get("p", 0))
            d = int(keys.get("d", 1))
            b = keys.get("bias", "true" if bias else "false") == "true"
            module: Any = None
            if op == "input":
                h, w, c = (int(v) for v in pos[0].split("x"))
                shapes[name] = (c, h, w)
            elif op == "conv":
                c_in = shapes[ins[0]][0]
                module = nn.Conv2d(c_in, int(pos[0]), k, s, p, d, int(keys.get("g", 1)), bias=b)
            elif op == "dwconv":
                c_in = shapes[ins[0]][0]
                module = nn.Conv2d(c_in, c_in * int(keys.get("m", 1)), k, s, p, d, c_in, bias=b)
            elif op == "convT":
                c_in = shapes[ins[0]][0]
                module = nn.ConvTranspose2d(c_in, int(pos[0]), k, s, p, int(keys.get("op", 0)), bias=b)
            elif op == "maxpool":
                module = nn.MaxPool2d(k, int(keys.get("s", k)), p, ceil_mode=keys.get("ceil") == "true")
            elif op == "fc":
                module = nn.Linear(shapes[ins[0]][0], int(pos[0]), bias=b)
            elif op == "flatten":
                module = nn.Flatten()
            elif op == "gap":
                module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
            elif op in ("relu", "relu6", "sigmoid"):
                module = {"relu": nn.ReLU(), "relu6": nn.ReLU6(), "sigmoid": nn.Sigmoid()}[op]
            elif op not in ("mul", "add"):
                raise AssertionError(f"no torch layer for {op}")
            if module is not None:
                self.layers[name] = module
            self.steps.append((name, op, module, ins))
            if op != "input":
                shapes[name] = self._shape(name, op, module, [shapes[i] for i in ins])
            previous = name
        self.shapes = shapes

    def _shape(self, name: str, op: str, module: Any, ins: list[tuple[int, ...]]) -> tuple[int, ...]:
        with torch.device("meta"):
            if op in ("mul", "add"):
                return ins[0]
            x = torch.empty(1, *ins[0])
            return tuple(module(x).shape[1:])


def _hwc(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}x{shape[2]}x{shape[0]}" if len(shape) == 3 else str(shape[0])


def _check_network(q: Question) -> None:
    assert q.spec is not None
    with torch.device("meta"):
        net = Net(q.spec)
    for part in q.parts:
        if part.by == "cell":
            layer = part.check["layer"]
            field = part.check["field"]
            module = dict(net.layers.items()).get(layer)
            if field == "output_shape":
                assert part.answer == _hwc(net.shapes[layer]), (q.spec, part)
            elif field == "params":
                assert part.answer == sum(p.numel() for p in module.parameters()), (q.spec, part)
            elif field == "weights":
                assert part.answer == module.weight.numel(), (q.spec, part)
        elif part.by == "total":
            of = part.check["of"]
            if of == "params":
                assert part.answer == sum(p.numel() for p in net.parameters()), (q.spec, part)
            else:
                assert part.answer == net.macs * (2 if of == "flops" else 1), (q.spec, part)


def _check_rf(q: Question) -> None:
    """The field by the gradient method: the input pixels one output unit's value depends on (ones everywhere,
    max pooling replaced by average pooling so every pixel of a window passes gradient), on an input large enough
    that the field of the unit in the middle lies inside it. Square kernels and strides: one axis (1-D) says it."""
    n = 4 * q.parts[0].answer + 16  # larger than the sheet's input, so no field reaches the border
    layers = []
    for op, k, s, d in q.drawn["layers"]:
        if op == "maxpool":
            layers.append(nn.AvgPool1d(k, s))
        else:
            conv = nn.Conv1d(1, 1, k, s, d * (k - 1) // 2, d, bias=False)
            nn.init.ones_(conv.weight)
            layers.append(conv)
    stack = nn.Sequential(*layers).double()
    x = torch.ones(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = stack(x)
    centre = y.shape[-1] // 2

    def field(unit: int) -> tuple[int, int]:
        (g,) = torch.autograd.grad(y[0, 0, unit], x, retain_graph=True)
        cols = torch.nonzero(g[0, 0]).flatten()
        return int(cols.min()), int(cols.max())

    lo, hi = field(centre)
    lo2, _ = field(centre + 1)
    size, jump = q.parts[0].answer, q.parts[1].answer
    assert hi - lo + 1 == size, (q.drawn, size)
    assert lo2 - lo == jump, (q.drawn, jump)


def _check_map(q: Question) -> None:
    d = q.drawn
    image, fmap, (y, x) = d["image"], d["fmap"], d["point"]
    for r, c, weight in d["weights"]:
        onehot = torch.zeros(1, 1, fmap, fmap, dtype=torch.float64)
        onehot[0, 0, r, c] = 1
        if d["convention"] == "half-pixel":  # what PyTorch's bilinear resize (align_corners=False) reads
            value = F.interpolate(onehot, size=(image, image), mode="bilinear", align_corners=False)[0, 0, y, x]
        else:  # the notes' x' = x / S (4 / 3.2 = 1.25), sampled at that map coordinate
            yy, xx = y * fmap / image, x * fmap / image
            grid = torch.tensor([[[[2 * xx / (fmap - 1) - 1, 2 * yy / (fmap - 1) - 1]]]], dtype=torch.float64)
            value = F.grid_sample(onehot, grid, mode="bilinear", align_corners=True)[0, 0, 0, 0]
        assert float(value) == pytest.approx(weight, abs=1e-9), (d, r, c)
    answers = {p.ask: p.answer for p in q.parts}
    assert [answers[f"the weight of map pixel ({r}, {c})"] for r, c, _ in d["weights"]] == [w for *_, w in d["weights"]]


def _check_matrix(q: Question) -> None:
    d = q.drawn
    w = torch.tensor([[d["w"]]], dtype=torch.float64)
    x = torch.tensor([[d["x"]]], dtype=torch.float64)
    if d["sub"] == "transposed":
        y = F.conv_transpose1d(x, w, stride=d["s"], padding=d["p"])
    else:
        y = F.conv1d(x, w, stride=d["s"], padding=d["p"])
    got = y.flatten().tolist()
    assert q.parts[1].answer == got, (d, got)
    assert q.parts[0].answer == [len(got), len(d["x"])]


def _check_course(q: Question) -> None:
    """The course's calculations against torch.nn.functional, autograd, numel and FlopCounterMode."""
    d = q.drawn
    got = [p.answer for p in q.parts]
    f64 = torch.float64
    if q.kind == "loss":
        s = torch.tensor([d["scores"]], dtype=f64)
        y = torch.tensor([d["label"]])
        want = [F.softmax(s, dim=1)[0, d["label"]].item(), F.cross_entropy(s, y).item()]
        if len(got) == 3:  # multi_margin_loss divides by the number of classes
            want.append(F.multi_margin_loss(s, y).item() * len(d["scores"]))
        assert got == pytest.approx(want, abs=1e-4), d
    elif q.kind == "linear":
        want = F.linear(
            torch.tensor(d["x"], dtype=f64), torch.tensor(d["W"], dtype=f64), torch.tensor(d["b"], dtype=f64)
        )
        assert got[0] == pytest.approx(want.tolist(), abs=1e-9), d
    elif q.kind == "chain":
        x = torch.tensor(0.3, dtype=f64, requires_grad=True)
        f = x
        for local in d["local"]:
            f = local * f
        (plain,) = torch.autograd.grad(f, x, retain_graph=True)
        (skip,) = torch.autograd.grad(x + f, x)
        assert got == pytest.approx([plain.item(), skip.item()], abs=1e-9), d
    elif q.kind == "batchnorm":
        x = torch.tensor(d["batch"], dtype=f64).reshape(-1, 1)
        w, b = torch.tensor([d["gamma"]], dtype=f64), torch.tensor([d["beta"]], dtype=f64)
        y = F.batch_norm(x, None, None, w, b, training=True, eps=1e-12).flatten().tolist()  # torch refuses 0
        assert got[0] == pytest.approx(x.mean().item()) and got[1] == pytest.approx(x.var(unbiased=False).item())
        assert got[2] == pytest.approx(y, abs=1e-4), d
    else:
        k, c_in, c_out, r, bias = d["k"], d["c_in"], d["c_out"], d["rank"], d["bias"]
        with torch.device("meta"):
            if d["sub"] == "conv":
                full = nn.Conv2d(c_in, c_out, k, padding=(k - 1) // 2, bias=bias)
                low = nn.Sequential(nn.Conv2d(c_in, r, k, padding=(k - 1) // 2, bias=False),
                                    nn.Conv2d(r, c_out, 1, bias=bias))  # fmt: skip
                x = torch.empty(1, c_in, d["hw"], d["hw"])
            else:
                full = nn.Linear(c_in, c_out, bias=bias)
                low = nn.Sequential(nn.Linear(c_in, r, bias=False), nn.Linear(r, c_out, bias=bias))
                x = torch.empty(1, c_in)
        with FlopCounterMode(display=False) as counter:
            low(x)
        count = [sum(p.numel() for p in m.parameters()) for m in (full, low)]
        assert got == [*count, counter.get_total_flops() // 2], d


@pytest.mark.parametrize("difficulty", DIFFICULTIES)
def test_every_answer_against_torch(difficulty: str) -> None:
    seen = {k: 0 for k in KINDS}
    for seed in SEEDS:
        sheet = make_sheet(seed, difficulty=difficulty, students=ROSTER)
        for variant in sheet.variants:
            for q in variant.questions:
                seen[q.kind] += 1
                if q.kind == "rf":
                    _check_network(q)
                    _check_rf(q)
                elif q.kind == "map":
                    _check_map(q)
                elif q.kind == "matrix":
                    _check_matrix(q)
                elif q.kind in COURSE_KINDS:
                    _check_course(q)
                else:
                    _check_network(q)
    assert all(n >= len(SEEDS) * len(ROSTER) for n in seen.values()), seen


def test_sizes_questions_cover_every_case() -> None:
    subs = set()
    for seed in range(30):
        for difficulty in DIFFICULTIES:
            for q in make_sheet(seed, ["size"], difficulty, 3).variants[0].questions:
                subs.add(q.drawn["sub"])
                if q.drawn["sub"] in ("floor", "ceil"):
                    assert "floor" in q.text or "ceil_mode=True" in q.text
    assert subs == {"conv", "floor", "ceil", "dilated", "transposed"}


def test_sensible_ranges() -> None:
    """No kernel larger than its input, no inexact size unless the question is about it, hand-sized numbers."""
    from cnncalc.teach.exercise import _load, inexact

    for seed in range(15):
        for difficulty in DIFFICULTIES:
            for q in make_sheet(seed, difficulty=difficulty).variants[0].questions:
                if q.spec is None:
                    continue
                model = _load(q.spec)
                if q.drawn.get("sub") in ("floor", "ceil"):
                    assert inexact(model), q.spec
                else:
                    assert not inexact(model) and not model.warnings, q.spec
                assert model.totals.params < 5_000_000
                for layer in model.layers:
                    assert min(layer.output.h or 1, layer.output.w or 1) >= 1
