"""Which slips give a figure a student wrote: a search of the catalogue, alone and in pairs.

For a total, a slip is tried on one layer and on every layer, and two slips
together; for one cell of a student's table, on that layer. Only diagnoses
that reproduce the claimed figure exactly are reported, most plausible first.
Totals of slips on separate layers add up, so pairs are found by looking up
the difference still needed, not by working out every pair.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from ..api import Model
from ..ir import Node, Shape
from ..ops.base import get_op
from .mistakes import CATALOGUE, KERNEL_SIZES, LAYER_MISTAKES, Figures, Slip, slips_for, work_out

FIGURES = ("params", "weights", "macs", "flops")
_BIASED = ("conv", "dwconv", "convT", "fc", "scale")
_PAIR_PENALTY = 0.35
_MOST = 8  # diagnoses reported per figure

# Slips that are another convention, not an error, where the question says so.
CONVENTION_HINTS = {
    "no_bias": " (right if the question counts without biases: --no-bias, or --of weights)",
    "bias_counted": " (right if the question counts the biases too: --of params)",
    "bn_buffers": " (right if running statistics count as parameters, as Keras's total does)",
    "flops_for_macs": " (right if the question asks for FLOPs: --of flops)",
    "macs_for_flops": " (right if the question asks for MACs: --of macs)",
}


class Diagnosis(NamedTuple):
    mistake: str  # a catalogue id, or two joined by "+"
    explanation: str
    gives: Any  # the figure these slips give: an int, or an HxWxC text for a shape
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"mistake": self.mistake, "explanation": self.explanation, "gives": self.gives}


def figure_name(of: str, count_biases: bool) -> str:
    """The convention a figure is counted under, in words."""
    return {
        "params": "params: weights and biases (PyTorch's numel; buffers apart)"
        if count_biases
        else "params without the biases of conv, convT and fc layers (--no-bias)",
        "weights": "weights only, no biases",
        "macs": "MACs: multiply-accumulates of conv, convT and fc layers",
        "flops": "FLOPs = 2 x MACs",
    }[of]


class Network:
    """A model prepared for diagnosis: every layer's inputs, right figures and the slips it admits."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.count_biases = model.report.settings.count_biases
        self.layout = model.report.settings.layout
        self.nodes: list[Node] = list(model.graph.nodes)
        layers = model.report.layers
        self.index = {x.name: i for i, x in enumerate(layers)}
        self.aux = [x.aux for x in layers]
        self.ops = [get_op(n.op).name for n in self.nodes]
        shapes = {x.name: x.output for x in layers}
        self.in_shapes = [[shapes[i] for i in n.inputs] for n in self.nodes]
        input_names = {n.name for n in model.graph.inputs}
        self.right: list[Figures] = []
        self.slips: list[list[Slip]] = []
        self._cache: dict[tuple[Any, ...], Figures | None] = {}
        self._walked: dict[tuple[Any, ...], Figures | None] = {}  # layers worked out on other input shapes
        self._searches: dict[str, _TotalSearch] = {}  # the total search of each figure, built on first use
        self._totals: dict[str, int] = {}
        self._right_view: dict[str, tuple[Shape, str]] | None = None
        slips_of: dict[tuple[Any, ...], list[Slip]] = {}
        for i, node in enumerate(self.nodes):
            fig = None
            if layers[i].steps:
                sig = node.signature()  # alike layers on alike inputs: worked out once
                key = (i,) if sig is None else (sig, (), *self.in_shapes[i])
                if key not in self._cache:
                    self._cache[key] = work_out(node, self.in_shapes[i], (), True)
                fig = self._cache[key]
            if fig is None:  # inputs, activations...: the report's own row
                x = layers[i]
                fig = Figures(x.output, x.weights, x.biases, x.buffers, x.macs)
            self.right.append(fig)
            reads_input = any(name in input_names for name in node.inputs)
            if not layers[i].steps:
                self.slips.append([])
                continue
            sig = node.signature()
            key = (i,) if sig is None else (sig, reads_input, *self.in_shapes[i])
            if key not in slips_of:
                slips_of[key] = slips_for(node, self.in_shapes[i], reads_input)
            self.slips.append(slips_of[key])

    # ------------------------------------------------------------------ one layer

    def figures(self, i: int, slips: tuple[Slip, ...]) -> Figures | None:
        if not slips:
            return self.right[i]
        node = self.nodes[i]
        sig = node.signature()  # alike layers on alike inputs come to alike figures: work each out once
        key = (i, slips) if sig is None else (sig, slips, *self.in_shapes[i])
        if key not in self._cache:
            self._cache[key] = work_out(node, self.in_shapes[i], slips, True)
        return self._cache[key]

    def value(self, i: int, of: str, slips: tuple[Slip, ...] = (), fig: Figures | None = None) -> int | None:
        """Layer i's share of a figure, counted under the model's conventions with these slips (None: no sense)."""
        fig = fig or self.figures(i, slips)
        if fig is None:
            return None
        ids = {s.mistake for s in slips}
        if of in ("macs", "flops"):
            if ids & {"no_bias", "bias_counted", "bn_buffers", "in_out_swapped"}:
                return None  # slips of parameter counting say nothing about MACs
            macs = 0 if fig.macs is None or self.aux[i] else fig.macs
            return 2 * macs if of == "flops" else macs
        biased = self.ops[i] in _BIASED
        include = of == "params" and (self.count_biases or not biased)
        if "bias_counted" in ids:
            if include or not biased:
                return None
            include = True
        if "no_bias" in ids and not include:
            return None
        if "in_out_swapped" in ids and not include:
            return None
        return fig.weights + (fig.biases if include else 0)

    def total(self, of: str) -> int:
        if of not in self._totals:  # asked for each student a class file grades
            self._totals[of] = sum(self.value(i, of) or 0 for i in range(len(self.nodes)))
        return self._totals[of]

    def shape_text(self, shape: Shape) -> str:
        return shape.text(self.layout)

    def student_view(self, claimed: dict[str, Shape]) -> dict[str, tuple[Shape, str]]:
        """Every layer's output as the student would have it, with the answered layer it comes from: their own
        answer where they gave one, else what follows from earlier answers (carried through the activations).
        With no shape answered, every layer is its right shape: that view is made once, not once a student."""
        if not claimed and self._right_view is not None:
            return self._right_view
        view: dict[str, tuple[Shape, str]] = {}
        for i, node in enumerate(self.nodes):
            ins = [view[x][0] for x in node.inputs]
            if node.name in claimed:
                view[node.name] = (claimed[node.name], node.name)
            elif ins == self.in_shapes[i]:
                view[node.name] = (self.right[i].output, node.name)
            else:
                fig = work_out(node, ins, (), True)
                origin = next(view[x][1] for x, s, r in zip(node.inputs, ins, self.in_shapes[i], strict=True) if s != r)
                view[node.name] = (fig.output if fig is not None else self.right[i].output, origin)
        if not claimed:
            self._right_view = view
        return view

    # ------------------------------------------------------------------ slips carried on

    def walk(self, assign: Callable[[int], tuple[Slip, ...]], of: str) -> int | None:
        """The total when each layer gets the slips `assign` gives it and sees the (maybe wrong) shapes before it."""
        shapes: dict[str, Shape] = {}
        total = 0
        for i, node in enumerate(self.nodes):
            ins = [shapes[n] for n in node.inputs]
            slips = assign(i)
            if not slips and ins == self.in_shapes[i]:
                fig: Figures | None = self.right[i]
            else:
                key = (i, slips, *ins)
                if key not in self._walked:
                    if self.ops[i] == "input":
                        self._walked[key] = self.right[i]
                    else:
                        self._walked[key] = work_out(node, ins, slips, True)
                fig = self._walked[key]
            if fig is None:
                return None
            shapes[node.name] = fig.output
            v = self.value(i, of, slips, fig)
            if v is None:
                return None
            total += v
        return total


class _Found:
    """Diagnoses that reproduce a claimed figure, kept without repeats."""

    def __init__(self) -> None:
        self.items: dict[str, Diagnosis] = {}

    def add(self, mistake: str, explanation: str, gives: Any, score: float) -> None:
        key = f"{mistake}|{explanation}"
        if key not in self.items or self.items[key].score < score:
            self.items[key] = Diagnosis(mistake, explanation, gives, score)

    def best(self) -> list[Diagnosis]:
        ranked = sorted(self.items.values(), key=lambda d: (-d.score, d.mistake.count("+"), d.explanation))
        return ranked[:_MOST]


# ---------------------------------------------------------------------- totals


# The figures a total is most often confused with, tried when none of the slips under the asked one gives it.
_RELATED = {"params": ("weights",), "weights": ("params",), "macs": ("flops",), "flops": ("macs",)}
_CONVENTION_PENALTY = 0.5


def diagnose_total(net: Network, of: str, claimed: int) -> list[Diagnosis]:
    """What turns the right total into `claimed`, another convention first: the same network counted another way
    (another figure, another tool's convention), then the slips, alone or in pairs; when none gives it, the slips
    under the related convention (weights for params, FLOPs for MACs and back)."""
    if claimed == net.total(of):
        return []
    found = _slips_of_total(net, of, claimed)
    conventional = [d for d in found if d.mistake in CONVENTION_HINTS]
    first = _other_conventions(net, of, claimed) + conventional
    rest = [d for d in found if d.mistake not in CONVENTION_HINTS]
    if not found and not first:
        for other in _RELATED[of]:
            words = f"counted as {figure_name(other, net.count_biases)} (--of {other})"
            rest += [
                Diagnosis(f"{other}+{d.mistake}", f"{words}: {d.explanation}", d.gives, d.score * _CONVENTION_PENALTY)
                for d in _slips_of_total(net, other, claimed)
            ]
    return (first + rest)[:_MOST]


def _other_conventions(net: Network, of: str, claimed: int) -> list[Diagnosis]:
    """`claimed` is exactly the network's figure under another convention: another figure, or a FLOP tool's total."""
    from ..passes.conventions import conventions

    out = []
    counts = {"params": net.total("params"), "weights": net.total("weights")}
    counts |= {"macs": net.total("macs"), "flops": net.total("flops")}
    if net.count_biases:
        counts["params+buffers"] = counts["params"] + net.model.totals.buffers
    words = {"params+buffers": "params with the non-learnt buffers (Keras's total parameters)"}
    for key, value in counts.items():
        if key != of and value == claimed and key not in _RELATED[of] and key != "params+buffers":
            out.append(
                Diagnosis(
                    f"convention:{key}",
                    f"the network's {figure_name(key, net.count_biases)}: {value:,} (--of {key})",
                    claimed,
                    1.0,
                )
            )
        elif key == "params+buffers" and value == claimed and of in ("params", "weights"):
            out.append(Diagnosis("convention:keras", f"the network's {words[key]}: {value:,}", claimed, 1.0))
    if of in ("macs", "flops"):
        report = conventions(net.model)
        for c, total in zip(report.conventions, report.totals, strict=True):
            if total == claimed and total != net.total(of) and not report.unknown[report.index(c.key)]:
                if c.key in ("cnncalc_macs", "cnncalc_flops") or total in counts.values():
                    continue
                out.append(
                    Diagnosis(
                        f"convention:{c.key}",
                        f"the total {c.title} prints ({c.unit}, counting element-wise work its own way): {total:,}; "
                        "cnncalc show --conventions lists what each tool counts",
                        claimed,
                        1.0,
                    )
                )
    return out


def _slips_of_total(net: Network, of: str, claimed: int) -> list[Diagnosis]:
    """The slips, alone or in pairs, that turn the right total into `claimed`."""
    if of not in net._searches:
        net._searches[of] = _TotalSearch(net, of)
    return net._searches[of].diagnose(claimed)


# Diagnoses one kind of match may add: a slip shared by thousands of alike layers matches on each of them, and the
# report shows a few.
_MOST_MATCHES = 2_000


class _TotalSearch:
    """The slip search on one figure's total, in two parts: what does not depend on the claimed figure (each slip's
    change to the total, every-layer totals, pairs on one layer, walks with a wrong shape carried on) worked out once
    a network, and then a few lookups a claim, so that `cnncalc grade` costs little a student on any network.

    Alike layers on alike inputs with alike slips to try (a repeated block) form one group, worked out once."""

    def __init__(self, net: Network, of: str) -> None:
        self.net, self.of = net, of
        n = len(net.nodes)
        self.right = right = net.total(of)
        self.names = [node.name for node in net.nodes]
        self.base = base = [net.value(i, of) or 0 for i in range(n)]
        kinds: list[tuple[Any, ...] | None] = []
        for i in range(n):
            sig = net.nodes[i].signature()
            kinds.append(None if sig is None else (sig, net.aux[i], net.ops[i], *net.in_shapes[i]))
        self._kinds = kinds
        self._memo: dict[tuple[Any, ...], int | None] = {}
        by_key: dict[tuple[Any, ...], int] = {}
        self.members: list[list[int]] = []  # the layers of each group, in order
        self.group_of = [0] * n
        for i in range(n):
            key = (i,) if kinds[i] is None else (kinds[i], tuple(net.slips[i]))
            g = by_key.setdefault(key, len(self.members))
            if g == len(self.members):
                self.members.append([])
            self.members[g].append(i)
            self.group_of[i] = g
        # Each group's slips that change its layers' share: slip -> the change.
        self.deltas: list[dict[Slip, int]] = []
        for members in self.members:
            first = members[0]
            self.deltas.append({slip: v - base[first] for slip in net.slips[first]
                                if (v := self.value(first, (slip,))) is not None and v != base[first]})  # fmt: skip
        self.by_delta: dict[int, list[tuple[Slip, int]]] = defaultdict(list)  # change -> (slip, group)
        for g, deltas in enumerate(self.deltas):
            for slip, d in deltas.items():
                self.by_delta[d].append((slip, g))

        # One slip made on every layer it applies to.
        layers_of: dict[str, list[int]] = defaultdict(list)
        for g, deltas in enumerate(self.deltas):
            for slip in deltas:
                if slip.arg is None:
                    layers_of[slip.mistake] += self.members[g]
        self.every: dict[str, int] = {}
        self.every_found: list[tuple[str, int, str]] = []  # (mistake, total, explanation)
        for mistake, where in layers_of.items():
            where.sort()
            if "all" not in CATALOGUE[mistake].scopes or len(where) < 2:
                continue
            if CATALOGUE[mistake].shape:
                t = net.walk(lambda i, m=mistake: _applicable(net, i, m), of)
            else:
                t = right + sum(self.delta(Slip(mistake), i) for i in where)
            if t is None:
                continue
            self.every[mistake] = t
            text = f"{CATALOGUE[mistake].description}, on every layer ({len(where)}): total {_n(right)} -> {_n(t)}"
            self.every_found.append((mistake, t, text + CONVENTION_HINTS.get(mistake, "")))
        if "one_input_channel" in layers_of:  # the network's input layer is one layer, but it is the whole slip
            where = layers_of["one_input_channel"]
            t = right + sum(self.delta(Slip("one_input_channel"), i) for i in where)
            self.every["one_input_channel"] = t
            texts = "; ".join(self.one_text(Slip("one_input_channel"), i) for i in where)
            self.every_found.append(("one_input_channel", t, f"{texts}; total {_n(right)} -> {_n(t)}"))

        # A slip on one layer carried on: later layers worked out from its wrong output.
        self.carried: dict[int, list[tuple[Slip, int]]] = defaultdict(list)
        shape_singles = [(slip, i) for g, deltas in enumerate(self.deltas) for slip in deltas
                         if CATALOGUE[slip.mistake].shape for i in self.members[g]]  # fmt: skip
        if len(shape_singles) * n <= 200_000:
            for slip, i in sorted(shape_singles, key=lambda p: p[1]):
                t = net.walk(lambda j, s=slip, at=i: (s,) if j == at else (), of)
                if t is not None and t != right + self.delta(slip, i):
                    self.carried[t].append((slip, i))

        # Whole-network slips: branches counted once or the trunk counted per branch.
        self.multiples = _multiplicities(net)
        self.multiple_total: dict[str, int] = {}
        self.with_multiple: dict[str, dict[int, list[tuple[Slip, int]]]] = {}
        for mistake, mult in self.multiples.items():
            t = sum(m * b for m, b in zip(mult, base, strict=True))
            self.every[mistake] = t
            self.multiple_total[mistake] = t
            index: dict[int, list[tuple[Slip, int]]] = defaultdict(list)
            for i in range(n):
                if mult[i]:
                    for slip, d in self.deltas[self.group_of[i]].items():
                        index[mult[i] * d].append((slip, i))
            self.with_multiple[mistake] = index

        # Two slips on one layer.
        self.one_layer_pairs: dict[int, list[tuple[tuple[Slip, Slip], int, int]]] = defaultdict(list)
        for g, deltas in enumerate(self.deltas):
            first = self.members[g][0]
            slips = [s for s in net.slips[first] if s in deltas]
            for a in range(len(slips)):
                for b in range(a + 1, len(slips)):
                    pair = (slips[a], slips[b])
                    if pair[0].mistake == pair[1].mistake:
                        continue
                    v = self.value(first, pair)
                    if v is None or v in (base[first] + deltas[pair[0]], base[first] + deltas[pair[1]]):
                        continue
                    self.one_layer_pairs[right - base[first] + v].append((pair, g, v))

        # A slip on every layer, with another on one layer (its change, by the every-layer slip) or on every layer.
        self.every_and_one: dict[str, dict[int, list[tuple[Slip, int, int]]]] = {}
        self.every_and_every: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for mistake, t in self.every.items():
            if mistake in self.multiples or CATALOGUE[mistake].shape:
                continue
            m_slip = Slip(mistake)
            changes: dict[int, list[tuple[Slip, int, int]]] = defaultdict(list)
            for g, deltas in enumerate(self.deltas):
                first = self.members[g][0]
                for slip, d in deltas.items():
                    if slip.mistake == mistake:
                        continue
                    if m_slip in net.slips[first]:
                        v = self.value(first, (m_slip, slip))
                        if v is None:
                            continue
                        change = (v - base[first]) - deltas.get(m_slip, 0)
                    else:
                        change = d
                    changes[change].append((slip, g, d))
            self.every_and_one[mistake] = changes
            for other in self.every:
                if other <= mistake or other in self.multiples or CATALOGUE[other].shape:
                    continue
                t2: int | None = right
                for i in range(n):
                    both = tuple(s for s in (Slip(mistake), Slip(other)) if s in net.slips[i])
                    if both:
                        v = self.value(i, both)
                        if v is None:
                            t2 = None
                            break
                        t2 += v - base[i]
                if t2 is not None and t2 not in (t, self.every[other]):
                    self.every_and_every[t2].append((mistake, other))

        # Digit slips in one layer's figure: layers grouped by their figure.
        self.layers_by_base: dict[int, list[int]] = defaultdict(list)
        for i, b in enumerate(base):
            if b:
                self.layers_by_base[b].append(i)

    def value(self, i: int, slips: tuple[Slip, ...]) -> int | None:
        kind = self._kinds[i]
        if kind is None:
            return self.net.value(i, self.of, slips)
        key = (kind, slips)
        if key not in self._memo:
            self._memo[key] = self.net.value(i, self.of, slips)
        return self._memo[key]

    def delta(self, slip: Slip, i: int) -> int:
        return self.deltas[self.group_of[i]][slip]

    def one_text(self, slip: Slip, i: int, v: int | None = None) -> str:
        base, name = self.base[i], self.names[i]
        v = base + self.delta(slip, i) if v is None else v
        return f"{_slip_words(slip)} on {name}: {name} {_n(base)} -> {_n(v)}"

    def diagnose(self, claimed: int) -> list[Diagnosis]:
        right, found = self.right, _Found()
        if claimed == right:
            return []
        total = f"total {_n(right)} -> {_n(claimed)}"
        budget = _MOST_MATCHES
        for slip, g in self.by_delta.get(claimed - right, ()):
            if "one" in CATALOGUE[slip.mistake].scopes:
                for i in self.members[g][:budget]:
                    found.add(slip.mistake, f"{self.one_text(slip, i)}; {total}", claimed, _score(slip.mistake, "one"))
        for mistake, t, text in self.every_found:
            if t == claimed:
                found.add(mistake, text, claimed, _score(mistake, "all"))
        for slip, i in self.carried.get(claimed, ()):
            found.add(
                slip.mistake,
                f"{_slip_words(slip)} on {self.names[i]}, carried to the layers after it: {total}",
                claimed,
                _score(slip.mistake, "one") * 0.9,
            )
        for mistake, t in self.multiple_total.items():
            description = CATALOGUE[mistake].description
            if t == claimed:
                found.add(mistake, f"{description}: {total}", claimed, _score(mistake, "all"))
                continue
            for slip, i in self.with_multiple[mistake].get(claimed - t, ())[:budget]:
                if right + self.delta(slip, i) != claimed:
                    found.add(
                        f"{mistake}+{slip.mistake}",
                        f"{description}, and {self.one_text(slip, i)}: {total}",
                        claimed,
                        _score(mistake, "all") * _score(slip.mistake, "one") * _PAIR_PENALTY,
                    )
        self._factor(claimed, found)
        self._pairs(claimed, found)
        for mistake, changes in self.every_and_one.items():
            t = self.every[mistake]
            if claimed == t:
                continue
            for slip, g, d in changes.get(claimed - t, ()):
                if claimed == right + d:
                    continue
                for j in self.members[g][:budget]:
                    found.add(
                        _pair_id(mistake, slip.mistake),
                        f"{CATALOGUE[mistake].description} (every layer), and {self.one_text(slip, j)}: {total}",
                        claimed,
                        _score(mistake, "all") * _score(slip.mistake, "one") * _PAIR_PENALTY,
                    )
        for mistake, other in self.every_and_every.get(claimed, ()):
            found.add(
                _pair_id(mistake, other),
                f"{CATALOGUE[mistake].description} and {CATALOGUE[other].description}, on every layer: {total}",
                claimed,
                _score(mistake, "all") * _score(other, "all") * _PAIR_PENALTY,
            )
        self._digits(claimed, found)
        return found.best()

    def _factor(self, claimed: int, found: _Found) -> None:
        """FLOPs for MACs and back, alone or after a slip on every layer."""
        factor = {"macs": ("flops_for_macs", "x 2"), "flops": ("macs_for_flops", "/ 2")}.get(self.of)
        if not factor:
            return
        mistake, k = factor
        t = self.right * 2 if self.of == "macs" else self.right // 2
        if t == claimed:
            found.add(
                mistake,
                f"{CATALOGUE[mistake].description}: {_n(self.right)} {k} = {_n(claimed)}" + CONVENTION_HINTS[mistake],
                claimed,
                _score(mistake, "all"),
            )
            return
        for other, t2 in self.every.items():
            if (t2 * 2 if self.of == "macs" else t2 // 2) == claimed:
                found.add(
                    f"{mistake}+{other}",
                    f"{CATALOGUE[other].description}, and "
                    f"{CATALOGUE[mistake].description}: {_n(t2)} {k} = {_n(claimed)}",
                    claimed,
                    _score(mistake, "all") * _score(other, "all") * _PAIR_PENALTY,
                )

    def _pairs(self, claimed: int, found: _Found) -> None:
        """Two slips on two layers (their changes add up), and two on one layer."""
        right, total = self.right, f"total {_n(self.right)} -> {_n(claimed)}"
        need = claimed - right
        added = 0
        for d, firsts in self.by_delta.items():
            seconds = self.by_delta.get(need - d)
            if not seconds:
                continue
            for slip, g in firsts:
                for slip2, g2 in seconds:
                    if slip2.mistake == slip.mistake and slip.mistake in self.every:
                        continue
                    score = _score(slip.mistake, "one") * _score(slip2.mistake, "one") * _PAIR_PENALTY
                    for i in self.members[g]:
                        for j in self.members[g2]:
                            if j <= i:
                                continue
                            found.add(
                                _pair_id(slip.mistake, slip2.mistake),
                                f"{self.one_text(slip, i)}, and {self.one_text(slip2, j)}: {total}",
                                claimed,
                                score,
                            )
                            added += 1
                            if added >= _MOST_MATCHES:
                                return
        for (a, b), g, v in self.one_layer_pairs.get(claimed, ()):
            for i in self.members[g][:_MOST_MATCHES]:
                name = self.names[i]
                found.add(
                    _pair_id(a.mistake, b.mistake),
                    f"{_slip_words(a)} and {_slip_words(b)} on {name}: {name} {_n(self.base[i])} -> {_n(v)}",
                    claimed,
                    _score(a.mistake, "one") * _score(b.mistake, "one") * _PAIR_PENALTY,
                )

    def _digits(self, claimed: int, found: _Found) -> None:
        """The right expression, or one slip's, worked out wrongly."""
        right = self.right
        kind = slip_kind(claimed, right)
        if kind:
            found.add(
                "arithmetic_slip", f"{kind}: the right total is {_n(right)}", claimed, _score("arithmetic_slip", "all")
            )
        for b, layers in self.layers_by_base.items():
            written = claimed - right + b
            kind = slip_kind(written, b)
            if kind:
                for i in layers[:_MOST_MATCHES]:
                    found.add(
                        "arithmetic_slip",
                        f"{kind} in {self.names[i]}: {_n(b)} written as {_n(written)}",
                        claimed,
                        _score("arithmetic_slip", "one"),
                    )
        for mistake, t in self.every.items():
            kind = slip_kind(claimed, t)
            if kind and t != right:
                found.add(
                    f"{mistake}+arithmetic_slip",
                    f"{CATALOGUE[mistake].description} ({_n(t)}), and then a {kind}",
                    claimed,
                    _score(mistake, "all") * _score("arithmetic_slip", "all") * _PAIR_PENALTY,
                )


def _n(v: int) -> str:
    return f"{v:,}"


def _applicable(net: Network, i: int, mistake: str) -> tuple[Slip, ...]:
    return (Slip(mistake),) if Slip(mistake) in net.slips[i] else ()


def _multiplicities(net: Network) -> dict[str, list[int]]:
    """How often each layer is counted if parallel twin branches are taken as one, or the trunk once per branch."""
    n = len(net.nodes)
    consumers: dict[str, list[int]] = defaultdict(list)
    for i, node in enumerate(net.nodes):
        for name in node.inputs:
            consumers[name].append(i)
    outputs = [i for i, node in enumerate(net.nodes) if not consumers[node.name] and not net.aux[i]]
    out: dict[str, list[int]] = {}
    if len(outputs) < 2:
        return out
    # Every layer's set of outputs it reaches, walking back from the end.
    reaches: list[frozenset[int]] = [frozenset()] * n
    for i in range(n - 1, -1, -1):
        name = net.nodes[i].name
        here = frozenset([i]) if i in outputs else frozenset()
        for j in consumers[name]:
            here |= reaches[j]
        reaches[i] = here
    trunk = [max(len(r), 1) for r in reaches]
    if any(m > 1 for m in trunk):
        out["separate_trunk"] = trunk
    # Twins: layers alike in op, arguments and input shapes whose inputs are one layer or twins themselves,
    # so parallel copies of one branch (the three heads of a pose network), never a chain of repeated blocks.
    classes: dict[tuple[Any, ...], int] = {}
    kind: dict[str, int] = {}
    once = [1] * n
    for i, node in enumerate(net.nodes):
        sig = node.signature()
        key = (
            (node.name,)
            if sig is None or net.ops[i] == "input"
            else (sig, *net.in_shapes[i], *(kind[x] for x in node.inputs))
        )
        if key in classes:
            once[i] = 0
        kind[node.name] = classes.setdefault(key, len(classes))
    if any(m == 0 for m in once):
        out["shared_branches"] = once
    return out


def _pair_id(a: str, b: str) -> str:
    return "+".join(sorted((a, b), key=lambda m: -CATALOGUE[m].prior))


def _score(mistake: str, scope: str) -> float:
    prior = CATALOGUE[mistake].prior
    convention = mistake in ("no_bias", "bias_counted", "bn_buffers")
    if scope == "all":
        return prior if convention or mistake in ("one_input_channel", "arithmetic_slip") else prior * 0.8
    return prior * (0.6 if convention else 0.8 if mistake == "arithmetic_slip" else 1.0)


def _slip_words(slip: Slip) -> str:
    if slip.mistake == "wrong_kernel":
        return f"kernel {slip.arg}x{slip.arg} used"
    return CATALOGUE[slip.mistake].description


# ---------------------------------------------------------------------- digits


def slip_kind(written: int, right: int) -> str | None:
    """How `written` comes from `right` by one slip of the pen: a digit lost, doubled, swapped or miscopied."""
    if written == right or written < 0 or right < 0:
        return None
    a, b = str(written), str(right)
    for what, variants in (
        ("a digit lost", _dropped(b)),
        ("a digit doubled", _doubled(b)),
        ("a digit added", _inserted(b)),
        ("two digits swapped", _swapped(b)),
        ("a digit miscopied", _replaced(b)),
    ):
        if a in variants:
            return what
    return None


def _dropped(s: str) -> Iterator[str]:
    return (s[:i] + s[i + 1 :] for i in range(len(s)) if len(s) > 1)


def _doubled(s: str) -> Iterator[str]:
    return (s[:i] + s[i] + s[i:] for i in range(len(s)))


def _inserted(s: str) -> Iterator[str]:
    return (s[:i] + d + s[i:] for i in range(len(s) + 1) for d in "0123456789" if i or d != "0")


def _swapped(s: str) -> Iterator[str]:
    return (s[:i] + s[i + 1] + s[i] + s[i + 2 :] for i in range(len(s) - 1) if s[i] != s[i + 1])


def _replaced(s: str) -> Iterator[str]:
    return (s[:i] + d + s[i + 1 :] for i in range(len(s)) for d in "0123456789" if d != s[i] and (i or d != "0"))


# ---------------------------------------------------------------------- one cell of a table


def diagnose_cell(
    net: Network, i: int, field: str, claimed: Any, view: dict[str, tuple[Shape, str]] | None = None
) -> list[Diagnosis]:
    """The slips on layer i that give the claimed cell (a number, or a Shape for output_shape)."""
    found = _Found()
    slips = net.slips[i]

    def cell(fig: Figures | None, tried: tuple[Slip, ...]) -> Any:
        if fig is None:
            return None
        if field == "output_shape":
            return fig.output
        if field == "biases":
            return fig.biases if not {s.mistake for s in tried} & {"bias_counted"} else None
        return net.value(i, field, tried, fig)

    right = cell(net.right[i], ())
    show = net.shape_text if field == "output_shape" else (lambda v: f"{v:,}")
    gives = net.shape_text if field == "output_shape" else (lambda v: v)
    for slip in slips:
        got = cell(net.figures(i, (slip,)), (slip,))
        if got is not None and got == claimed and got != right:
            found.add(
                slip.mistake,
                f"{_slip_words(slip)}: {show(right)} -> {show(got)}",
                gives(got),
                _score(slip.mistake, "one"),
            )
    for a in range(len(slips)):
        for b in range(a + 1, len(slips)):
            pair = (slips[a], slips[b])
            if pair[0].mistake == pair[1].mistake:
                continue
            got = cell(net.figures(i, pair), pair)
            alone = [cell(net.figures(i, (x,)), (x,)) for x in pair]
            if got is not None and got == claimed and got != right and got not in alone:
                found.add(
                    _pair_id(pair[0].mistake, pair[1].mistake),
                    f"{_slip_words(pair[0])} and {_slip_words(pair[1])}: {show(right)} -> {show(got)}",
                    gives(got),
                    _score(pair[0].mistake, "one") * _score(pair[1].mistake, "one") * _PAIR_PENALTY,
                )
    if field != "output_shape" and isinstance(claimed, int):
        kind = slip_kind(claimed, right) if right is not None else None
        if kind:
            found.add(
                "arithmetic_slip", f"{kind}: the right figure is {right:,}", claimed, _score("arithmetic_slip", "one")
            )
        for slip in slips:
            got = cell(net.figures(i, (slip,)), (slip,))
            if isinstance(got, int) and got != right and slip_kind(claimed, got):
                found.add(
                    f"{slip.mistake}+arithmetic_slip",
                    f"{_slip_words(slip)} ({got:,}), then {slip_kind(claimed, got)}",
                    claimed,
                    _score(slip.mistake, "one") * _score("arithmetic_slip", "one") * _PAIR_PENALTY,
                )
    # The student's own (wrong) input shapes, worked on correctly: the slip is in an earlier row.
    if view:
        node = net.nodes[i]
        ins = [view[x][0] if x in view else r for x, r in zip(node.inputs, net.in_shapes[i], strict=True)]
        if ins != net.in_shapes[i]:
            got = cell(work_out(node, ins, (), True), ())
            if got is not None and got == claimed:
                wrong = [view[x][1] for x, s, r in zip(node.inputs, ins, net.in_shapes[i], strict=True) if s != r]
                found.add(
                    "carried_error",
                    f"right for the input that follows from the shape given for {', '.join(dict.fromkeys(wrong))} "
                    f"({', '.join(net.shape_text(s) for s in ins)}): the slip is in that row",
                    gives(got),
                    1.0,
                )
    return found.best()


__all__ = ["FIGURES", "KERNEL_SIZES", "LAYER_MISTAKES", "Diagnosis", "Network", "diagnose_cell", "diagnose_total"]
