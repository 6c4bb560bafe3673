"""An independent brute force for `cnncalc design`: every stack of every length, filtered, then the front.

Written from the notes' formulas only (nothing from cnncalc): R_L = R_{L-1} + (k_L - 1) d_L prod(s_1..s_{L-1}),
maps of ceil(N / prod(s)) under 'same' padding, MACs = C^2 k^2 H_out W_out, params = C^2 k^2 (+ C bias). The
field's holes are found by listing the input offsets a unit reads, one set per layer.
"""

from __future__ import annotations

import itertools
from typing import Any

Layer = tuple[int, int, int]  # (k, d, s)


def options(kernels: tuple[int, ...], dilations: tuple[int, ...], strides: tuple[int, ...]) -> list[Layer]:
    # A 1x1 kernel has no dilation: cnncalc design documents that it takes d = 1 only.
    return [(k, d, s) for k in kernels for d in (dilations if k > 1 else (1,)) for s in strides]


def figures(stack: tuple[Layer, ...], channels: int, size: int, bias: bool) -> tuple[int, int, int, int]:
    """(RF, total stride, MACs, params) of a stack."""
    rf, jump, macs, params = 1, 1, 0, 0
    for k, d, s in stack:
        rf += (k - 1) * d * jump
        jump *= s
        side = -(-size // jump)
        macs += channels * channels * k * k * side * side
        params += channels * channels * k * k + (channels if bias else 0)
    return rf, jump, macs, params


def has_holes(stack: tuple[Layer, ...]) -> bool:
    read, jump = {0}, 1
    for k, d, s in stack:
        read = {x + t * d * jump for x in read for t in range(k)}
        jump *= s
    return len(read) != max(read) + 1


def brute_front(
    rf: int,
    stride: int,
    max_layers: int,
    channels: int,
    size: int,
    kernels: tuple[int, ...],
    dilations: tuple[int, ...],
    strides: tuple[int, ...],
    bias: bool = True,
    dense: bool = False,
) -> list[dict[str, Any]]:
    """The Pareto front of (MACs, params); among equal points the least sum(d - 1), then the largest RF, then
    the first stack in order (tuples compared as Python compares them)."""
    best: dict[tuple[int, int], tuple[Any, ...]] = {}
    for n in range(1, max_layers + 1):
        for stack in itertools.product(options(kernels, dilations, strides), repeat=n):
            got_rf, jump, macs, params = figures(stack, channels, size, bias)
            if jump != stride or got_rf < rf or (dense and has_holes(stack)):
                continue
            key = (sum(d - 1 for _, d, _ in stack), -got_rf, stack)
            if (macs, params) not in best or key < best[macs, params]:
                best[macs, params] = key
    front: list[dict[str, Any]] = []
    for macs, params in sorted(best):
        if not front or params < front[-1]["params"]:
            _, neg_rf, stack = best[macs, params]
            front.append({"macs": macs, "params": params, "rf": -neg_rf, "layers": stack})
    return front


def largest_rf(max_layers: int, stride: int, kernels: tuple[int, ...], dilations: tuple[int, ...],
               strides: tuple[int, ...]) -> int:  # fmt: skip
    best = 0
    for n in range(1, max_layers + 1):
        for stack in itertools.product(options(kernels, dilations, strides), repeat=n):
            got_rf, jump, _, _ = figures(stack, 1, 1, False)
            if jump == stride:
                best = max(best, got_rf)
    return best
