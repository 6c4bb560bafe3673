"""Design search: the stacks of convolutions that reach a receptive field for the least compute.

Every layer is a C -> C convolution with kernel k, dilation d and stride s taken from given sets, padded 'same'
style (p = d(k-1)/2 on each side, or `p=same` where that is not whole), so every map is ceil(N/J) wide where J is
the product of the strides so far. Then, with jump J_{i-1} before layer i (the notes' recursion),

    RF     = 1 + sum_i (k_i - 1) d_i J_{i-1}
    MACs   = sum_i C^2 k_i^2 ceil(N/J_i)^2
    params = sum_i (C^2 k_i^2 + C)          (+ C: the bias, unless bias=False)

A stack is wanted when RF >= the target and J_L equals the target stride exactly (and, with `dense`, its field
has no holes). `search` returns the Pareto front of (MACs, params) over all such stacks of 1..max_layers layers:
exhaustive, so exact, but with four reductions that each provably lose nothing (docs/design.md works them
through). Among stacks of equal MACs and params the one shown has the least sum(d - 1), then the largest RF,
then comes first in layer order.

1. Dilation costs nothing (it is absent from MACs and params), so the search runs over (k, s) structures and
   credits each with the RF of the largest dilation; a structure that reaches the front gets its dilations
   afterwards. With `dense`, dilation decides holes, so it is a choice in the tree instead.
2. Stride-1 layers between two strided layers commute: each one's RF share (k-1)d J and MACs depend only on the
   jump J they all share. Only one order of each such run is visited (kernels non-decreasing).
3. Dominance: a 1x1 stride-1 layer adds cost and nothing else, so it is never tried; a stack that already meets
   both targets is never extended (any further layer costs MACs and params).
4. Branch and bound: a memoised recursion gives, for any partial stack, the exact least MACs and, separately,
   the least params of any completion; a branch whose ideal point (both minima) is dominated by a point already
   on the front is cut, and one that cannot reach the RF or the stride at all is cut too.
"""

from __future__ import annotations

import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations_with_replacement
from typing import Any, NamedTuple

from ..errors import CnnCalcError

INF = 1 << 200  # larger than any cost; sums with it stay above it
MAX_LAYERS = 100
MAX_VALUE = 1_000_000  # --rf, --stride, --channels, --input and every kernel, dilation and stride
# Layers times choices a layer: the search's tables and its depth grow with both. bench/bench_design.py's largest
# problem is 30 x 93 = 2,790; 100 layers x 96 choices ran 34 s and took 6 GB, so it is refused before it starts.
MAX_CHOICES = 4_000


class Conv(NamedTuple):
    """One layer of a design."""

    k: int
    d: int
    s: int

    @property
    def padding(self) -> int | str:
        """Each side's padding that keeps the map at ceil(N/s); `same` (uneven, PyTorch/TF style) if not whole."""
        span = self.d * (self.k - 1)
        return span // 2 if span % 2 == 0 else "same"

    def text(self) -> str:
        """Short form for tables: k3 d2 s2 (d1 and s1 left out)."""
        return f"k{self.k}" + (f" d{self.d}" if self.d > 1 else "") + (f" s{self.s}" if self.s > 1 else "")

    def spec_line(self, channels: int) -> str:
        parts = [f"conv {channels} k={self.k}"]
        if self.d > 1:
            parts.append(f"d={self.d}")
        if self.s > 1:
            parts.append(f"s={self.s}")
        if self.padding != 0:
            parts.append(f"p={self.padding}")
        return " ".join(parts)


@dataclass(frozen=True)
class Problem:
    """What to search for. `check()` raises `CnnCalcError` with one clear line for anything unusable."""

    rf: int
    stride: int = 1
    max_layers: int = 6
    channels: int = 64
    input: int = 64
    kernels: tuple[int, ...] = (1, 3, 5, 7)
    dilations: tuple[int, ...] = (1, 2, 4)
    strides: tuple[int, ...] = (1, 2)
    bias: bool = True
    dense: bool = False  # only fields without holes: every input pixel inside the field is read

    def __post_init__(self) -> None:
        for name in ("kernels", "dilations", "strides"):
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)))))

    def check(self) -> None:
        for name, value in (("--rf", self.rf), ("--stride", self.stride), ("--max-layers", self.max_layers),
                            ("--channels", self.channels), ("--input", self.input)):  # fmt: skip
            if value < 1:
                raise CnnCalcError(f"{name} must be at least 1, got {value}")
        if self.max_layers > MAX_LAYERS:
            raise CnnCalcError(f"--max-layers {self.max_layers}: at most {MAX_LAYERS} (the search recurses per layer)")
        for name in ("kernels", "dilations", "strides"):
            values = getattr(self, name)
            if not values:
                raise CnnCalcError(f"--{name} needs at least one value")
            if values[0] < 1:
                raise CnnCalcError(f"--{name}: every value must be at least 1, got {values[0]}")
        for name, value in (("--rf", self.rf), ("--stride", self.stride), ("--channels", self.channels),
                            ("--input", self.input), *((f"--{n}", max(getattr(self, n))) for n in
                                                     ("kernels", "dilations", "strides"))):  # fmt: skip
            if value > MAX_VALUE:
                raise CnnCalcError(f"{name} {str(value)[:20]}: at most {MAX_VALUE:,}")
        if self.max_layers * self.options > MAX_CHOICES:
            raise CnnCalcError(
                f"the search space is too large: {self.options} choices a layer times up to {self.max_layers} layers "
                f"is {self.max_layers * self.options:,}, over the limit of {MAX_CHOICES:,}; give fewer --kernels, "
                "--dilations or --strides, or a smaller --max-layers"
            )
        if self.rf == 1 and self.stride == 1:
            raise CnnCalcError("--rf 1 with --stride 1 needs no layer at all: ask for a larger --rf or --stride")
        least = _least_strided_layers(self.stride, self.strides)
        if least is None or least > self.max_layers:
            how = "cannot be made" if least is None else f"needs {least} strided layers"
            raise CnnCalcError(
                f"--stride {self.stride} {how} from strides {_join(self.strides)}"
                + ("" if least is None else f", more than --max-layers {self.max_layers}")
            )
        most = largest_rf(self)
        if most < self.rf:
            reach = _reach(_moves(self), self.stride, 256)
            need = next((n for n in range(self.max_layers + 1, 257) if reach[1, n] + 1 >= self.rf), None)
            more = f"; {need} layers would reach it" if need else ""
            raise CnnCalcError(
                f"--rf {self.rf} is out of reach: with at most {_layers(self.max_layers)}, kernels "
                f"{_join(self.kernels)}, dilations {_join(self.dilations)}, strides {_join(self.strides)} and total "
                f"stride {self.stride}, the largest reachable receptive field is {most}{more}"
            )

    @property
    def options(self) -> int:
        """Choices for one layer: (k, d, s) with k > 1, and (1, s) (a 1x1 kernel has no dilation)."""
        big = sum(1 for k in self.kernels if k > 1)
        return (big * len(self.dilations) + (1 in self.kernels)) * len(self.strides)

    @property
    def space(self) -> int:
        """How many stacks a brute force enumerates: options^1 + ... + options^max_layers."""
        return sum(self.options**n for n in range(1, self.max_layers + 1))

    def spec(self, layers: Sequence[Conv]) -> str:
        """The design as a cnncalc text spec, ready for `cnncalc show -` or `cnncalc.load`."""
        c = self.channels
        lines = [] if self.bias else ["set bias=false"]
        lines.append(f"input {self.input}x{self.input}x{c}")
        lines += [layer.spec_line(c) for layer in layers]
        return "\n".join(lines) + "\n"

    def describe(self) -> str:
        return (
            f"receptive field >= {self.rf}, total stride {self.stride}, at most {self.max_layers} conv layers "
            f"{self.channels}->{self.channels} on {self.input}x{self.input}x{self.channels}; kernels "
            f"{_join(self.kernels)}, dilations {_join(self.dilations)}, strides {_join(self.strides)}"
            + ("" if self.bias else "; no biases")
            + ("; dense fields only" if self.dense else "")
        )


def receptive_field(layers: Sequence[Conv]) -> int:
    """R_L = R_{L-1} + (k_L - 1) d_L prod(s_1..s_{L-1}), from R_0 = 1."""
    rf, jump = 1, 1
    for layer in layers:
        rf += (layer.k - 1) * layer.d * jump
        jump *= layer.s
    return rf


@dataclass(frozen=True)
class Design:
    """One stack on the front, with its figures (each equal to what `cnncalc.load(spec).totals` gives)."""

    layers: tuple[Conv, ...]
    macs: int
    params: int
    rf: int

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def dilation(self) -> int:
        """sum(d - 1): how much dilation the design leans on (0 for plain convolutions)."""
        return sum(layer.d - 1 for layer in self.layers)

    def key(self) -> tuple[Any, ...]:
        """Order among designs of equal MACs and params: least dilation, then largest RF, then layer order."""
        return (self.dilation, -self.rf, self.layers)

    def text(self) -> str:
        return " | ".join(layer.text() for layer in self.layers)


@dataclass(frozen=True)
class Progress:
    fraction: float  # share of the search tree finished (each node's share split evenly among its children)
    nodes: int
    bounds: int  # states of the lower-bound recursion worked out so far
    front: int
    seconds: float


@dataclass
class Result:
    problem: Problem
    front: list[Design]  # by MACs, ascending (so params descending)
    nodes: int = 0  # partial stacks visited
    leaves: int = 0  # complete stacks offered to the front
    pruned: int = 0  # branches cut by the bound
    seconds: float = 0.0
    fraction: float = 1.0
    interrupted: bool = False
    stats: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        p = self.problem
        return {
            "problem": {
                "rf": p.rf,
                "stride": p.stride,
                "max_layers": p.max_layers,
                "channels": p.channels,
                "input": p.input,
                "kernels": list(p.kernels),
                "dilations": list(p.dilations),
                "strides": list(p.strides),
                "bias": p.bias,
                "dense": p.dense,
            },
            "front": [
                {
                    "macs": d.macs,
                    "params": d.params,
                    "rf": d.rf,
                    "depth": d.depth,
                    "layers": [{"k": x.k, "d": x.d, "s": x.s, "p": x.padding} for x in d.layers],
                    "spec": p.spec(d.layers),
                }
                for d in self.front
            ],
            "search": {
                "complete": not self.interrupted,
                "fraction": round(self.fraction, 4),
                "nodes": self.nodes,
                "leaves": self.leaves,
                "pruned": self.pruned,
                "seconds": round(self.seconds, 4),
                "space": p.space,
            },
        }


def largest_rf(problem: Problem, max_layers: int | None = None) -> int:
    """The largest receptive field any stack of at most `max_layers` layers with the exact total stride reaches
    (0 when the stride cannot be made)."""
    n = problem.max_layers if max_layers is None else max_layers
    gain = _reach(_moves(problem), problem.stride, n)[1, n]
    return gain + 1 if gain >= 0 else 0


class _Move(NamedTuple):
    k: int
    d: int  # 0: left open (credited with the largest dilation, chosen at the end)
    s: int
    order: int  # rank of (k, d): stride-1 runs are visited with non-decreasing ranks only
    macs: int
    params: int
    rf: int  # RF gained (at the largest dilation when d is open)
    jump: int  # the jump after this layer


class _Search:
    NONE = (INF, INF)

    def __init__(self, problem: Problem, progress: Callable[[Progress], None] | None, every: float) -> None:
        self.p = problem
        self.callback = progress
        self.every = every
        self.target = problem.stride
        self.moves = _moves(problem)
        # Dense fields: a layer's dilation decides holes, so it is chosen in the tree, not afterwards.
        self.tree = _moves(problem, explicit=True) if problem.dense else self.moves
        self.memo: dict[tuple[int, int, int], tuple[int, int]] = {}
        self.memo_product: dict[tuple[int, int, int], tuple[int, int]] = {}
        self.flat = {j: [(m.macs, m.params, m.rf, m.jump) for m in ms] for j, ms in self.moves.items()}
        self.reach = _reach(self.moves, self.target, problem.max_layers)
        self.front: list[Design] = []
        self.front_macs: list[int] = []
        self.nodes = self.leaves = self.pruned = self.work = 0
        self.done = 0.0
        self.start = time.perf_counter()
        self.next_report = self.start + every

    def bound(self, jump: int, left: int, gap: int) -> tuple[int, int]:
        """The least MACs and (separately) the least params of any completion: at most `left` more layers that
        bring the jump to the target stride and add at least `gap` to the RF. INF when none exists."""
        if gap < 0:
            gap = 0
        memo = self.memo
        hit = memo.get((jump, left, gap))
        if hit is not None:
            return hit
        if jump == self.target and gap == 0:
            result = (0, 0)
        elif left == 0 or self.reach[jump, left] < gap:
            result = self.NONE
        else:
            if self.callback is not None:
                self.work += 1
                if (self.work & 1023) == 0:
                    self.tick()
            best_m = best_p = INF
            down = left - 1
            for move_macs, move_params, move_rf, after in self.flat[jump]:
                rest = gap - move_rf
                if rest < 0:
                    rest = 0
                sub = memo.get((after, down, rest))
                if sub is None:
                    sub = self.bound(after, down, rest)
                m = sub[0] + move_macs
                if m < best_m:
                    best_m = m
                q = sub[1] + move_params
                if q < best_p:
                    best_p = q
            result = (best_m, best_p)
        memo[(jump, left, gap)] = result
        return result

    def bound_product(self, jump: int, left: int, need: int) -> tuple[int, int]:
        """Dense fields only: as `bound`, for completions whose kernels multiply to at least `need`. A field
        without holes grows at most k-fold per layer (taken in order of tap spacing, each layer's spacing is at
        most the field so far), so its RF is at most the product of the kernels."""
        memo = self.memo_product
        hit = memo.get((jump, left, need))
        if hit is not None:
            return hit
        if jump == self.target and need <= 1:
            result = (0, 0)
        elif left == 0:
            result = self.NONE
        else:
            best_m = best_p = INF
            for move in self.moves[jump]:
                sub = self.bound_product(move.jump, left - 1, -(-need // move.k))
                best_m = min(best_m, sub[0] + move.macs)
                best_p = min(best_p, sub[1] + move.params)
            result = (best_m, best_p)
        memo[(jump, left, need)] = result
        return result

    def dominated(self, macs: int, params: int, extra: int = 0) -> bool:
        """Some point on the front has no more of either and less of one; or it is equal and uses less dilation
        than the `extra` sum(d - 1) a stack already has (so it wins the tie)."""
        i = bisect_right(self.front_macs, macs)  # the last point with MACs <= macs has the fewest params of those
        if i == 0:
            return False
        best = self.front[i - 1]
        if best.params != params:
            return best.params < params
        return best.macs < macs or best.dilation < extra

    def run(self) -> None:
        if self.bound(1, self.p.max_layers, self.p.rf - 1)[0] >= INF:
            return
        self.visit(1, self.p.max_layers, self.p.rf - 1, 0, 0, [], 0, 1.0, (), self.p.rf)

    def visit(
        self,
        jump: int,
        left: int,
        gap: int,
        macs: int,
        params: int,
        path: list[_Move],
        order: int,
        share: float,
        taps: tuple[tuple[int, int], ...] = (),
        need: int = 1,
        extra: int = 0,
    ) -> None:
        """One partial stack: `gap` RF still to gain, `order` the least rank a stride-1 layer may take next;
        with `dense`, `taps` the (spacing, kernel) of its layers, `need` the least product of kernels to come
        and `extra` its sum(d - 1)."""
        self.nodes += 1
        if self.callback is not None:
            self.work += 1
            if (self.work & 255) == 0:
                self.tick()
        if jump == self.target and gap <= 0:
            if self.dominated(macs, params, extra):  # so is every extension: each adds MACs and params
                self.done += share
                return
            if self.p.dense:
                layers = tuple(Conv(m.k, m.d, m.s) for m in path)
                layers = layers if is_dense(layers) else None
            else:
                layers = pick_dilations(self.p, [(m.k, m.s) for m in path])
            if layers is not None:
                self.leaves += 1
                self.offer(layers, macs, params)
                self.done += share
                return
            # Only with `dense`: the field has holes, which later layers may still fill.
        if left == 0:
            self.done += share
            return
        children = []
        dense = self.p.dense
        for move in self.tree[jump]:
            if move.s == 1 and move.order < order:
                continue
            if dense and move.k > 1 and not _may_fill((*taps, (move.d * jump, move.k)), move.jump, gap > move.rf):
                continue
            m, q = self.bound(move.jump, left - 1, gap - move.rf)
            if dense and m < INF:
                m2, q2 = self.bound_product(move.jump, left - 1, _need(need, move.k, self.p.rf, gap - move.rf))
                m, q = max(m, m2), max(q, q2)
            if m >= INF:
                continue
            m += macs + move.macs
            q += params + move.params
            if self.dominated(m, q, extra + move.d - 1 if dense else 0):
                self.pruned += 1
                continue
            children.append((m, q, move))
        if not children:
            self.done += share
            return
        children.sort(key=lambda c: (c[0], c[1]))
        share /= len(children)
        for m, q, move in children:
            if self.dominated(m, q, extra + move.d - 1 if dense else 0):  # the front may have moved meanwhile
                self.pruned += 1
                self.done += share
                continue
            path.append(move)
            grown = (*taps, (move.d * jump, move.k)) if dense and move.k > 1 else taps
            rest = gap - move.rf
            self.visit(
                move.jump, left - 1, rest, macs + move.macs, params + move.params, path,
                move.order if move.s == 1 else 0, share, grown, _need(need, move.k, self.p.rf, rest),
                extra + move.d - 1 if dense else 0,
            )  # fmt: skip
            path.pop()

    def offer(self, layers: tuple[Conv, ...], macs: int, params: int) -> None:
        i = bisect_left(self.front_macs, macs)
        tie = i < len(self.front) and self.front[i].macs == macs and self.front[i].params == params
        design = Design(layers, macs, params, receptive_field(layers))
        if tie:
            if design.key() < self.front[i].key():
                front = list(self.front)
                front[i] = design
                self.front = front
            return
        # Built whole and then swapped in, so an interrupt never leaves a half-made front.
        front = [d for d in self.front if not (d.macs >= macs and d.params >= params)]
        front.insert(bisect_left([d.macs for d in front], macs), design)
        self.front_macs = [d.macs for d in front]
        self.front = front

    def tick(self) -> None:
        now = time.perf_counter()
        if now >= self.next_report:
            self.next_report = now + self.every
            assert self.callback is not None
            self.callback(Progress(min(self.done, 1.0), self.nodes, len(self.memo), len(self.front), now - self.start))


def _moves(problem: Problem, explicit: bool = False) -> dict[int, list[_Move]]:
    """For every jump a prefix can have, the layers that may follow it (their stride keeps the total reachable):
    (k, s) with the dilation left open, or with `explicit` every (k, d, s)."""
    p, cc, dmax = problem, problem.channels * problem.channels, max(problem.dilations)
    pairs = [(k, d) for k in p.kernels for d in ((1,) if k == 1 else p.dilations if explicit else (0,))]
    out = {}
    for jump in _jumps(p.stride, p.strides):
        moves = []
        for order, (k, d) in enumerate(pairs):
            for s in p.strides:
                if p.stride % (jump * s) or (k == 1 and s == 1):
                    continue
                side = -(-p.input // (jump * s))
                params = cc * k * k + (p.channels if p.bias else 0)
                rf = (k - 1) * (d or dmax) * jump
                moves.append(_Move(k, d, s, order, cc * k * k * side * side, params, rf, jump * s))
        out[jump] = moves
    return out


def _need(need: int, k: int, rf: int, gap: int) -> int:
    """Dense fields: the least product of the kernels still to come. With the taps taken in order of spacing,
    each layer at most multiplies the field by its kernel, so the final RF is at most the product of all kernels,
    and at most the RF so far (rf - gap, holes and all) times the product of the kernels still to come."""
    return max(1, min(-(-need // k), -(-rf // max(rf - gap, 1))))


def _may_fill(taps: tuple[tuple[int, int], ...], jump: int, more: bool) -> bool:
    """Whether a stack whose layers so far have tap spacings g = d J_before (with kernels k) can still end with
    a field without holes. Later layers space their taps at least `jump` apart, so the spacings below `jump` are
    final: in sorted order each must be at most 1 + the extent of the smaller ones; and if any spacing is still to
    be placed (one >= jump already, or `more` RF to come), `jump` itself must be within that extent + 1."""
    extent, later = 0, False
    for g, k in sorted(taps):
        if g >= jump:
            later = True
            break
        if g > extent + 1:
            return False
        extent += (k - 1) * g
    return not (later or more) or jump <= extent + 1


def _reach(moves: dict[int, list[_Move]], target: int, layers: int) -> dict[tuple[int, int], int]:
    """(jump, n) -> the most RF that at most n more layers can add while bringing the jump to the target
    (-1: the target cannot be reached)."""
    reach = {(j, 0): 0 if j == target else -1 for j in moves}
    for n in range(1, layers + 1):
        for j, options in moves.items():
            best = reach[j, 0]
            for move in options:
                rest = reach[move.jump, n - 1]
                if rest >= 0 and move.rf + rest > best:
                    best = move.rf + rest
            reach[j, n] = best
    return reach


def search(problem: Problem, progress: Callable[[Progress], None] | None = None, every: float = 0.1) -> Result:
    """The Pareto front of (MACs, params) over the stacks that meet `problem`, exhaustively.

    `progress` is called at most every `every` seconds with a `Progress`. A KeyboardInterrupt (Ctrl-C, or raised
    by `progress`) stops the search: the result then holds the best front found so far, `interrupted` is True and
    `fraction` says how much of the tree was finished.
    """
    problem.check()
    run = _Search(problem, progress, every)
    interrupted = False
    try:
        run.run()
    except KeyboardInterrupt:
        interrupted = True
    if problem.dense and not run.front and not interrupted:
        raise CnnCalcError(
            f"no stack of at most {_layers(problem.max_layers)} reaches --rf {problem.rf} with a dense field (every "
            f"pixel in it read); without --dense the largest reachable is {largest_rf(problem)}: allow more layers, "
            "smaller dilations or a smaller --rf"
        )
    return Result(
        problem,
        list(run.front),
        nodes=run.nodes,
        leaves=run.leaves,
        pruned=run.pruned,
        seconds=time.perf_counter() - run.start,
        fraction=min(run.done, 1.0) if interrupted else 1.0,
        interrupted=interrupted,
        stats={"bound_states": len(run.memo)},
    )


def pick_dilations(problem: Problem, structure: Sequence[tuple[int, int]]) -> tuple[Conv, ...] | None:
    """Dilations for a (kernel, stride) structure: of the choices that reach the RF, the least sum(d - 1), then
    the largest RF, then the first in layer order (each stride-1 run sorted by (k, d)). None when none does.

    Layers of one run with the same kernel are interchangeable, so each such group takes a multiset of
    dilations; the groups are walked depth first, cut when they cannot reach the RF or already use more
    dilation than the best choice found.
    """
    need = problem.rf - 1
    groups: list[tuple[int, int, int, int]] = []  # (jump before, kernel, size, run); run -1: a strided layer
    jump, run = 1, 0
    for k, s in structure:
        if s > 1:
            groups.append((jump, k, 1, -1))
            run += 1
        elif groups and groups[-1][1] == k and groups[-1][3] == run:
            groups[-1] = (jump, k, groups[-1][2] + 1, run)
        else:
            groups.append((jump, k, 1, run))
        jump *= s
    choices: list[list[tuple[int, int, tuple[int, ...]]]] = []  # per group: (sum(d - 1), RF gained, dilations)
    for jump, k, size, _ in groups:
        if k == 1:  # 1x1: no dilation
            choices.append([(0, 0, (1,) * size)])
        else:
            options = combinations_with_replacement(problem.dilations, size)
            choices.append(sorted((sum(ds) - size, (k - 1) * jump * sum(ds), ds) for ds in options))
    most_after = [0] * (len(groups) + 1)
    for i in range(len(groups) - 1, -1, -1):
        most_after[i] = most_after[i + 1] + max(c[1] for c in choices[i])
    best: list[Any] = [None]  # the key (extra, -RF, layers) of the best choice so far

    def walk(i: int, extra: int, gain: int, picked: list[int]) -> None:
        if gain + most_after[i] < need or (best[0] is not None and extra > best[0][0]):
            return
        if i == len(groups):
            layers = canonical([Conv(k, d, s) for (k, s), d in zip(structure, picked, strict=True)])
            key = (extra, -gain - 1, layers)
            if best[0] is None or key < best[0]:
                best[0] = key
            return
        for cost, rf, ds in choices[i]:
            walk(i + 1, extra + cost, gain + rf, picked + list(ds))

    walk(0, 0, 0, [])
    return None if best[0] is None else best[0][2]


def is_dense(layers: Sequence[Conv]) -> bool:
    """Whether the unit reads every input pixel of its field (per axis). The taps of layer i are the multiples
    0..k_i-1 of g_i = d_i J_{i-1}, and the field is their sum set: with the g sorted, it has no hole exactly when
    each g is at most the extent the smaller ones reach, plus one (order of layers does not matter)."""
    extent = 0
    for g, k in sorted((layer.d * jump, layer.k) for layer, jump in zip(layers, _jumps_before(layers), strict=True)):
        if k == 1:
            continue
        if g > extent + 1:
            return False
        extent += (k - 1) * g
    return True


def _jumps_before(layers: Sequence[Conv]) -> list[int]:
    out, jump = [], 1
    for layer in layers:
        out.append(jump)
        jump *= layer.s
    return out


def canonical(layers: Sequence[Conv]) -> tuple[Conv, ...]:
    """The same stack with each run of stride-1 layers sorted: equal MACs, params and RF, first in layer order."""
    out: list[Conv] = []
    run: list[Conv] = []
    for layer in layers:
        if layer.s == 1:
            run.append(layer)
        else:
            out += sorted(run)
            out.append(layer)
            run = []
    return tuple(out + sorted(run))


def _least_strided_layers(stride: int, strides: Sequence[int]) -> int | None:
    """The fewest layers whose strides multiply to `stride` (None: impossible)."""
    useful = [s for s in strides if s > 1]
    best: dict[int, int] = {1: 0}
    frontier = [1]
    while frontier:
        nxt = []
        for j in frontier:
            for s in useful:
                if stride % (j * s) == 0 and j * s not in best:
                    best[j * s] = best[j] + 1
                    nxt.append(j * s)
        frontier = nxt
    return best.get(stride)


def _jumps(stride: int, strides: Sequence[int]) -> list[int]:
    """Every jump a prefix of a stack can have: products of strides that divide the total stride."""
    seen, todo = {1}, [1]
    while todo:
        j = todo.pop()
        for s in strides:
            if stride % (j * s) == 0 and j * s not in seen:
                seen.add(j * s)
                todo.append(j * s)
    return sorted(seen)


def _layers(n: int) -> str:
    return f"{n} layer{'s' if n != 1 else ''}"


def _join(values: Sequence[int]) -> str:
    return ",".join(map(str, values))
