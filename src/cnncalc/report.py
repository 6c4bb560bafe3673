"""The Report that passes fill and renderers read. Its `to_dict` is the JSON contract."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from ._gc import gc_paused
from .expr import Step
from .ir import Shape

MACS_CONVENTION = "MACs: multiply-accumulates of conv, convT and fc (as fvcore and torchvision count them)"
FLOPS_CONVENTION = "FLOPs = 2 x MACs; bias adds, normalisation, activations and pooling not counted"
PARAMS_CONVENTION = "params: learnable (PyTorch's numel); buffers (batch-norm running statistics) apart"


@dataclass(frozen=True)
class Settings:
    """How a network is counted and shown; none of it changes the network."""

    count_biases: bool = True
    layout: str = "hwc"
    strict: bool = False
    bytes_per_value: int = 4  # float32

    def conventions(self) -> list[str]:
        bias = (
            "biases counted"
            if self.count_biases
            else "biases of conv, convT, fc and scale not counted (--no-bias); batch/layer-norm beta kept"
        )
        return [
            PARAMS_CONVENTION + "; " + bias,
            MACS_CONVENTION,
            FLOPS_CONVENTION,
            f"memory: output activations at {self.bytes_per_value} bytes a value (float32), batch 1",
            "shapes: " + ("C x H x W" if self.layout == "chw" else "H x W x C") + ", batch not shown",
            "receptive field: size / jump in input pixels; start is the centre of output 0 (pixel 0 spans 0..1); "
            "a 1x1 gate broadcast by add/mul (squeeze-and-excitation) adds global context not counted in it",
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": self.count_biases,
            "layout": self.layout,
            "strict": self.strict,
            "bytes_per_value": self.bytes_per_value,
            "conventions": self.conventions(),
        }


class AxisField(NamedTuple):
    size: int | Fraction
    jump: int | Fraction
    start2: int | Fraction  # twice the centre of output 0, kept doubled to stay whole

    @property
    def start(self) -> Fraction | int:
        return self.start2 / 2 if isinstance(self.start2, Fraction) else Fraction(self.start2, 2)


class ReceptiveField(NamedTuple):
    """The field of one output unit, along H and W; `whole` when it sees the entire input."""

    h: AxisField | None = None
    w: AxisField | None = None
    whole: bool = False

    def to_dict(self) -> dict[str, Any] | None:
        if self.whole:
            return {"global": True}
        if self.h is None or self.w is None:
            return None
        h, w = self.h, self.w
        out: dict[str, Any] = {"size": _num(h.size), "jump": _num(h.jump), "start": float(h.start2) / 2}
        if w != h:
            out.update(size_w=_num(w.size), jump_w=_num(w.jump), start_w=float(w.start2) / 2)
        return out

    def text(self) -> str:
        if self.whole:
            return "global"
        if self.h is None or self.w is None:
            return ""
        h = f"{_fmt(self.h.size)}/{_fmt(self.h.jump)}"
        if self.w.size == self.h.size and self.w.jump == self.h.jump:
            return h
        return f"{_fmt(self.h.size)}x{_fmt(self.w.size)}/{_fmt(self.h.jump)}x{_fmt(self.w.jump)}"


_WHOLE_VIEW = ReceptiveField(whole=True)


def field_view(state: Any) -> ReceptiveField | None:
    """The receptive-field pass keeps a tuple per axis (size, jump, twice the start, ...), "whole", or None."""
    if state == "whole":
        return _WHOLE_VIEW
    if state is None or state.flat:
        return None
    h, w = state.h, state.w
    return ReceptiveField(AxisField(h.size, h.jump, h.start2), AxisField(w.size, w.jump, w.start2))


def _rf_dict(state: Any) -> dict[str, Any] | None:
    """The JSON of a field state, made directly (it runs for every layer that moves the field)."""
    if state == "whole":
        return {"global": True}
    if state is None or state.flat:
        return None
    h, w = state.h, state.w
    out = {"size": _num(h.size), "jump": _num(h.jump), "start": float(h.start2) / 2}
    if (w.size, w.jump, w.start2) != (h.size, h.jump, h.start2):
        out.update(size_w=_num(w.size), jump_w=_num(w.jump), start_w=float(w.start2) / 2)
    return out


def _num(value: int | Fraction) -> int | float:
    return value if value.__class__ is int else float(value)


def _fmt(value: int | Fraction) -> str:
    return str(value) if isinstance(value, int) else f"{float(value):g}"


class Layer(NamedTuple):
    """One row of the report (a tuple underneath: a network has thousands and they are made on every load)."""

    name: str
    op: str
    inputs: list[str]  # shared with the graph's node: never change it
    output: Shape
    weights: int
    biases: int
    buffers: int
    macs: int | None  # None: unknown
    activation_bytes: int
    field: Any  # the receptive-field pass's state for this layer; `rf` shows it
    warnings: list[str]
    steps: list[Step]
    line: int | None = None
    aux: bool = False  # training only: in the params, not in the inference MACs or memory

    @property
    def rf(self) -> ReceptiveField | None:
        """The receptive field of one output unit (None where no field applies)."""
        return field_view(self.field)

    @property
    def params(self) -> int:
        return self.weights + self.biases

    def to_dict(self, layout: str = "hwc", rf: dict[str, Any] | bool | None = False) -> dict[str, Any]:
        """This layer's entry of the JSON report (`rf` lets the report pass a field dict it already made)."""
        out = {
            "name": self.name,
            "op": self.op,
            "inputs": list(self.inputs),
            "output_shape": self.output.dims(layout),
            "params": self.weights + self.biases,
            "weights": self.weights,
            "biases": self.biases,
            "buffers": self.buffers,
            "macs": self.macs,
            "activation_bytes": self.activation_bytes,
            "rf": _rf_dict(self.field) if rf is False else rf,
            "warnings": list(self.warnings),
        }
        if self.aux:
            out["training_only"] = True
        return out


@dataclass(frozen=True)
class Totals:
    params: int
    weights: int
    biases: int
    buffers: int
    macs: int
    flops: int
    activation_bytes: int

    @classmethod
    def of(cls, layers: list[Layer]) -> Totals:
        """Params of every layer (as PyTorch counts a model); MACs and memory of inference only."""
        weights = biases = buffers = macs = activation_bytes = 0
        for x in layers:  # one pass: this runs on every load
            weights += x.weights
            biases += x.biases
            buffers += x.buffers
            if not x.aux:
                activation_bytes += x.activation_bytes
                if x.macs is not None:
                    macs += x.macs
        return cls(weights + biases, weights, biases, buffers, macs, 2 * macs, activation_bytes)

    def to_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Report:
    model: str
    inputs: list[tuple[str, Shape]]
    settings: Settings
    layers: list[Layer]
    totals: Totals

    @property
    def warnings(self) -> list[str]:
        return [f"{x.name}: {w}" for x in self.layers for w in x.warnings]

    @property
    def training_only(self) -> dict[str, int] | None:
        """What the training-only layers (auxiliary classifiers) add: params counted, MACs not."""
        aux = [x for x in self.layers if x.aux]
        if not aux:
            return None
        return {"layers": len(aux), "params": sum(x.params for x in aux), "macs": sum(x.macs or 0 for x in aux)}

    @property
    def unknown_macs(self) -> list[str]:
        """Layers whose MACs cnncalc cannot work out: left out of the total, never counted as 0."""
        return [x.name for x in self.layers if x.macs is None]

    def layer(self, name: str) -> Layer:
        for x in self.layers:
            if x.name == name:
                return x
        raise KeyError(name)

    def _layer_dicts(self, layout: str) -> list[dict[str, Any]]:
        out = []
        append = out.append
        last_field: Any = None
        rf: dict[str, Any] | None = None
        chw = layout == "chw"
        for x in self.layers:
            if x.field is not last_field:  # runs of layers share one field (activations, norms)
                last_field, rf = x.field, _rf_dict(x.field)
            c, h, w = x.output
            entry = {
                "name": x.name,
                "op": x.op,
                "inputs": list(x.inputs),
                "output_shape": [c] if h is None else [c, h, w] if chw else [h, w, c],
                "params": x.weights + x.biases,
                "weights": x.weights,
                "biases": x.biases,
                "buffers": x.buffers,
                "macs": x.macs,
                "activation_bytes": x.activation_bytes,
                "rf": rf.copy() if rf else None,
                "warnings": list(x.warnings),
            }
            if x.aux:
                entry["training_only"] = True
            append(entry)
        return out

    def to_dict(self) -> dict[str, Any]:
        with gc_paused():
            return self._to_dict()

    def _to_dict(self) -> dict[str, Any]:
        layout = self.settings.layout
        first = self.inputs[0][1].dims(layout) if self.inputs else []
        return (
            {
                "model": self.model,
                "input": first,
                "inputs": [{"name": n, "shape": s.dims(layout)} for n, s in self.inputs],
                "settings": self.settings.to_dict(),
                "layers": self._layer_dicts(layout),
                "totals": self.totals.to_dict(),
            }
            | ({"training_only": self.training_only} if self.training_only else {})
            | ({"unknown_macs": self.unknown_macs} if self.unknown_macs else {})
        )
