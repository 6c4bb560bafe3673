"""Pure formula helpers that ops call. Each raises `OpError` naming every argument.

Each returns the `Step` that computes its figure, so the worked arithmetic and
the figure come from one formula.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NamedTuple

from .errors import OpError
from .expr import Step


class AxisOut(NamedTuple):
    """The output length along one axis, with what the division left over."""

    step: Step
    remainder: int  # (N + pads - K_eff) mod S: padded rows or columns no window reads (floor mode)
    stride: int

    @property
    def value(self) -> int:
        return int(self.step.value)

    @property
    def exact(self) -> bool:
        return self.remainder == 0

    @property
    def dropped(self) -> int:
        return self.remainder

    @property
    def quotient(self) -> Fraction:
        """(N + pads - K_eff) / S before floor or ceil (from the step's own values)."""
        v = self.step.values
        pads = v["P"] * 2 if "P" in v else v["P_1"] + v["P_2"]
        k_eff = v.get("D", 1) * (v["K"] - 1) + 1
        return Fraction(v["N"] + pads - k_eff, v["S"])


def effective_kernel(k: int, d: int = 1) -> int:
    """A dilated kernel spans d*(k-1)+1 inputs."""
    return d * (k - 1) + 1


def same_padding(n: int, k: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """Padding (before, after) that gives ceil(n/s) outputs.

    PyTorch (stride 1) and TensorFlow/Keras (any stride) both put the odd
    extra row after, so an even kernel pads 1 before and 2 after for k=4.
    """
    out = -(-n // s)
    total = max((out - 1) * s + effective_kernel(k, d) - n, 0)
    return total // 2, total - total // 2


def conv_out(label: str, n: int, k: int, s: int, pad: tuple[int, int], d: int = 1, ceil: bool = False) -> AxisOut:
    """floor((N + P_before + P_after - D(K-1) - 1)/S) + 1, or ceil for pooling in ceil mode.

    In ceil mode a last window that would start inside the right padding is
    dropped, as PyTorch and Caffe do.
    """
    pb, pa = pad
    for name, v, least in (("kernel", k, 1), ("stride", s, 1), ("dilation", d, 1)):
        if v < least:
            raise OpError(f"{name} must be at least {least}, got {v}")
    if pb < 0 or pa < 0:
        raise OpError(f"padding cannot be negative, got {pb},{pa}")
    k_eff = effective_kernel(k, d)
    padded = n + pb + pa
    if k_eff > padded + (s - 1 if ceil else 0):
        what = f"kernel {k}" + (f" (dilated to {k_eff})" if d > 1 else "")
        where = f"its {n}-wide input" + (f" padded to {padded}" if pb or pa else "")
        hint = f"use k<={(padded - 1) // d + 1}" if d > 1 else f"use k<={padded}"
        if pb + pa == 0:
            hint += f" or p>={-(-(k_eff - n) // 2)}"
        raise OpError(f"{what} is larger than {where}: {hint}")
    values: dict[str, int] = {"N": n, "K": k, "S": s}
    if pb == pa:
        values["P"] = pb
    else:
        values["P_1"], values["P_2"] = pb, pa
    if d > 1:
        values["D"] = d
    formula = _FORMULAS[pb == pa, d > 1, ceil]
    step = Step.of(label, formula, **values)
    if ceil:
        out = int(step.value)
        if (out - 1) * s >= n + pb:
            step = Step.of(label, formula[: -len(" + 1")], **values)
        if step.value < 1:
            raise OpError(f"kernel {k} leaves no window on the {n}-wide input, even in ceil mode")
        return AxisOut(step, 0, s)
    return AxisOut(step, (padded - k_eff) % s, s)


def _output_formula(symmetric: bool, dilated: bool, ceil: bool) -> str:
    pads = "2*P" if symmetric else "P_1 + P_2"
    inner = f"(N + {pads} - D*(K - 1) - 1)/S" if dilated else f"(N + {pads} - K)/S"
    return f"{'ceil' if ceil else 'floor'}({inner}) + 1"


# The output-size formula for each case, built once (the step shows the one that applies).
_FORMULAS = {(sym, dil, ceil): _output_formula(sym, dil, ceil) for sym in (True, False) for dil in (True, False)
             for ceil in (True, False)}  # fmt: skip


def conv_transpose_out(label: str, n: int, k: int, s: int, p: int, output_padding: int = 0, d: int = 1) -> Step:
    """(N - 1)*S - 2P + D(K-1) + output_padding + 1, as PyTorch's ConvTranspose2d."""
    if output_padding >= s and output_padding >= d:
        raise OpError(f"output padding {output_padding} must be smaller than the stride {s} or the dilation {d}")
    values: dict[str, int] = {"N": n, "S": s, "P": p, "K": k}
    formula = "(N - 1)*S - 2*P + K"
    if d > 1:
        values["D"] = d
        formula = "(N - 1)*S - 2*P + D*(K - 1) + 1"
    if output_padding:
        values["O"] = output_padding
        formula += " + O"
    step = Step.of(label, formula, **values)
    if step.value < 1:
        raise OpError(
            f"output size {step.value} from input {n}, k={k}, s={s}, p={p}: "
            f"padding {p} removes more than the transposed convolution produces"
        )
    return step
