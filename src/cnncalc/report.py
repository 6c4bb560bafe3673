"""The Report that passes fill and renderers read. Its `to_dict` is the JSON contract."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from ._gc import gc_paused
from .expr import Step
from .ir import Shape

MACS_CONVENTION = (
    "MACs: multiply-accumulates of conv, convT, fc and matrix products, attention included (as torchvision counts them)"
)
FLOPS_CONVENTION = "FLOPs = 2 x MACs; bias adds, normalisation, activations and pooling not counted"
PARAMS_CONVENTION = (
    "params: learnable (PyTorch's numel); buffers (values kept but not learnt: running statistics, fixed vectors) apart"
)
# Ops whose buffers are running statistics; every other buffer is reported as what it is ("other buffers").
STATISTICS_OPS = frozenset({"bn", "instancenorm"})


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
    """The field of one output unit, along H and W (the one axis of a 1-D map is H; a volume adds D); `whole` when
    it sees the entire input."""

    h: AxisField | None = None
    w: AxisField | None = None
    whole: bool = False
    d: AxisField | None = None

    def to_dict(self) -> dict[str, Any] | None:
        if self.whole:
            return {"global": True}
        if self.h is None:
            return None
        h, w, d = self.h, self.w, self.d
        out: dict[str, Any] = {"size": _num(h.size), "jump": _num(h.jump), "start": float(h.start2) / 2}
        if w is not None and w != h:
            out.update(size_w=_num(w.size), jump_w=_num(w.jump), start_w=float(w.start2) / 2)
        if d is not None:
            out.update(size_d=_num(d.size), jump_d=_num(d.jump), start_d=float(d.start2) / 2)
        return out

    def text(self) -> str:
        if self.whole:
            return "global"
        if self.h is None:
            return ""
        axes = [a for a in (self.d, self.h, self.w) if a is not None]
        if all(a.size == axes[0].size and a.jump == axes[0].jump for a in axes):
            return f"{_fmt(axes[0].size)}/{_fmt(axes[0].jump)}"
        return "x".join(_fmt(a.size) for a in axes) + "/" + "x".join(_fmt(a.jump) for a in axes)


_WHOLE_VIEW = ReceptiveField(whole=True)


def field_view(state: Any) -> ReceptiveField | None:
    """The receptive-field pass keeps a tuple per axis (size, jump, twice the start, ...), "whole", or None."""
    if state == "whole":
        return _WHOLE_VIEW
    if state is None or state.flat:
        return None
    h, w, d = state.h, state.w, state.d
    return ReceptiveField(
        AxisField(h.size, h.jump, h.start2),
        AxisField(w.size, w.jump, w.start2) if w.extent else None,
        False,
        AxisField(d.size, d.jump, d.start2) if d is not None else None,
    )


def _rf_dict(state: Any) -> dict[str, Any] | None:
    """The JSON of a field state, made directly (it runs for every layer that moves the field)."""
    if state is None:
        return None
    d = None
    if state.__class__ is tuple:  # the analysis's plain form of a window's result: two axes of five
        size, jump, start2, _, _, size_w, jump_w, start2_w, _, extent_w = state
    elif state == "whole":
        return {"global": True}
    else:
        if state.flat:
            return None
        h, w, d = state.h, state.w, state.d
        size, jump, start2 = h.size, h.jump, h.start2
        size_w, jump_w, start2_w, extent_w = w.size, w.jump, w.start2, w.extent
    out = {
        "size": size if size.__class__ is int else float(size),
        "jump": jump if jump.__class__ is int else float(jump),
        "start": float(start2) / 2,
    }
    if extent_w and (size_w != size or jump_w != jump or start2_w != start2):
        out.update(size_w=_num(size_w), jump_w=_num(jump_w), start_w=float(start2_w) / 2)
    if d is not None:
        out.update(size_d=_num(d.size), jump_d=_num(d.jump), start_d=float(d.start2) / 2)
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
            **({"lead": list(self.output.lead)} if self.output.lead else {}),
            "params": self.weights + self.biases,
            "weights": self.weights,
            "biases": self.biases,
            "buffers": self.buffers,
            "macs": self.macs,
            "activation_bytes": self.activation_bytes,
            "rf": _rf_dict(self.field) if rf is False else rf,
            "warnings": list(self.warnings),
        }
        fixed = fixed_values(self.op, self.output, self.weights, self.buffers)
        if fixed:
            out["fixed_table"] = fixed
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


class Walk(NamedTuple):
    """The analysis as it leaves it: one item per layer in each list, in order. A row holds the figures shared by
    every layer of its kind and input shapes: (op, output, weights, biases, buffers, macs, activation_bytes,
    warnings, steps, field rule, [its JSON entry per layout, made on first use], a number of its own)."""

    names: list[str]
    inputs: list[Any]  # the one input's name, or a list or tuple of names
    rows: list[tuple[Any, ...]]
    fields: list[Any]  # rf.py's states, or a window's result as a plain 10-tuple (passes/analyze.py)
    lines: list[int | None]
    notes: dict[str, tuple[str, ...]]  # warnings of layers with more than their row's
    aux: set[str]  # training-only layers
    unknown_macs: list[str]


def _layers_of(walk: Walk) -> list[Layer]:
    from .passes.analyze import field_of  # the analysis imports this module

    made: dict[int, Any] = {}  # one Field per plain state, shared by the layers sharing the state
    layers = []
    notes, aux = walk.notes, walk.aux
    for name, inputs, row, state, line in zip(walk.names, walk.inputs, walk.rows, walk.fields, walk.lines, strict=True):
        if state.__class__ is tuple:
            state = made.get(id(state)) or made.setdefault(id(state), field_of(state))
        warnings = notes.get(name, row[7])
        op, output, weights, biases, buffers, macs, activation_bytes, _, steps = row[:9]
        inputs = [inputs] if inputs.__class__ is str else inputs if inputs.__class__ is list else list(inputs)
        values = (name, op, inputs, output, weights, biases, buffers, macs, activation_bytes, state, [*warnings],
                  steps, line, name in aux)  # fmt: skip
        layers.append(_new(Layer, values))
    return layers


_new = tuple.__new__  # a Layer without its Python-level __new__


@dataclass
class Report:
    model: str
    inputs: list[tuple[str, Shape]]
    settings: Settings
    layers: list[Layer]
    totals: Totals

    @classmethod
    def _of_walk(
        cls, model: str, inputs: list[tuple[str, Shape]], settings: Settings, walk: Walk, totals: Totals
    ) -> Report:
        """The analysis's report: its Layer rows are made on first use of `layers`, and the JSON is made from the
        walk directly (a load and its JSON make no Layer at all)."""
        report = cls.__new__(cls)
        report.model, report.inputs, report.settings, report.totals = model, inputs, settings, totals
        report._walk = walk
        return report

    def __getattr__(self, attr: str) -> Any:  # called only for attributes not found: `layers` not made yet
        if attr == "layers":
            walk = self.__dict__.get("_walk")
            if walk is not None:
                with gc_paused():  # thousands of rows, no cycle
                    layers = self.__dict__.setdefault("layers", _layers_of(walk))
                self.__dict__.pop("_walk", None)
                return layers
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {attr!r}")

    def _lazy(self) -> Walk | None:
        """The analysis's walk while `layers` has not been made (then it is the truth), else None."""
        found = self.__dict__
        return None if "layers" in found else found.get("_walk")

    @property
    def warnings(self) -> list[str]:
        walk = self._lazy()
        if walk is not None:
            notes = walk.notes
            return [f"{n}: {w}" for n, row in zip(walk.names, walk.rows, strict=True) for w in notes.get(n, row[7])]
        return [f"{x.name}: {w}" for x in self.layers for w in x.warnings]

    @property
    def training_only(self) -> dict[str, int] | None:
        """What the training-only layers (auxiliary classifiers) add: params counted, MACs not."""
        walk = self._lazy()
        if walk is not None:
            if not walk.aux:
                return None
            rows = [row for n, row in zip(walk.names, walk.rows, strict=True) if n in walk.aux]
            params = sum(row[2] + row[3] for row in rows)
            return {"layers": len(rows), "params": params, "macs": sum(row[5] or 0 for row in rows)}
        aux = [x for x in self.layers if x.aux]
        if not aux:
            return None
        return {"layers": len(aux), "params": sum(x.params for x in aux), "macs": sum(x.macs or 0 for x in aux)}

    @property
    def buffer_kinds(self) -> dict[str, int]:
        """The buffers by what they are: running statistics (batch and instance norm) and other buffers (fixed
        vectors, those of layers cnncalc does not know), which add up to `buffers`; and `fixed_tables`, the values of
        tables a network makes at construction (relative-position indices, coordinates, blur filters), in no count."""
        walk = self._lazy()
        rows = (
            ((r[0], r[1], r[2], r[4]) for r in walk.rows)
            if walk is not None
            else ((x.op, x.output, x.weights, x.buffers) for x in self.layers)
        )
        statistics = other = fixed = 0
        for op, output, weights, buffers in rows:
            if op in STATISTICS_OPS:
                statistics += buffers
            else:
                other += buffers
                fixed += fixed_values(op, output, weights, buffers)
        return {"running_statistics": statistics, "other_buffers": other, "fixed_tables": fixed}

    @property
    def unknown_macs(self) -> list[str]:
        """Layers whose MACs cnncalc cannot work out: left out of the total, never counted as 0."""
        walk = self._lazy()
        if walk is not None:
            return list(walk.unknown_macs)
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
        # Unpacked in one step: reading fourteen fields by name costs more than the entry itself.
        for x in self.layers:
            name, op, inputs, shape, weights, biases, buffers, macs, activation_bytes, field, warnings = x[:11]
            aux = x[13]
            if field is not last_field:  # runs of layers share one field (activations, norms)
                last_field, rf = field, _rf_dict(field)
            entry = {
                "name": name,
                "op": op,
                "inputs": [*inputs],
                "output_shape": shape.dims(layout),
                "params": weights + biases,
                "weights": weights,
                "biases": biases,
                "buffers": buffers,
                "macs": macs,
                "activation_bytes": activation_bytes,
                "rf": rf.copy() if rf else None,
                "warnings": [*warnings] if warnings else [],
            }
            if shape.lead:
                entry["lead"] = list(shape.lead)
            if op == "param" and not weights and not buffers:
                entry["fixed_table"] = shape.numel
            if aux:
                entry["training_only"] = True
            append(entry)
        return out

    @staticmethod
    def _walk_dicts(walk: Walk, layout: str) -> list[dict[str, Any]]:
        """`_layer_dicts` from the analysis's walk: each row's entry is made once and copied per layer."""
        out = []
        append = out.append
        last_field: Any = None
        rf: dict[str, Any] | None = None
        chw = layout == "chw"
        notes, aux = walk.notes, walk.aux
        for name, inputs, row, field in zip(walk.names, walk.inputs, walk.rows, walk.fields, strict=True):
            if field is not last_field:  # runs of layers share one field (activations, norms)
                last_field, rf = field, _rf_dict(field)
            made = row[10]
            shared = made[chw]
            if shared is None:
                shared = made[chw] = _row_entry(row, chw)
            entry, dims, lead = shared
            entry = entry.copy()  # the keys in the contract's order, the row's figures filled in
            entry["name"] = name
            entry["inputs"] = [inputs] if inputs.__class__ is str else [*inputs]
            entry["output_shape"] = [*dims]
            if lead:
                entry["lead"] = [*lead]
            if rf:
                entry["rf"] = rf.copy()
            warnings = notes[name] if notes and name in notes else row[7]
            entry["warnings"] = [*warnings] if warnings else []
            if aux and name in aux:
                entry["training_only"] = True
            append(entry)
        return out

    def to_dict(self) -> dict[str, Any]:
        with gc_paused():
            return self._to_dict()

    @property
    def inference_peak(self) -> int:
        """The most output activations alive at once at inference, batch 1, walking the layers in order (what
        `cnncalc memory` calls the inference peak); `activation_bytes` is the sum of every output, never all alive."""
        from .teach.memory import inference_peak

        return inference_peak(self.layers, self.settings.bytes_per_value)

    def _to_dict(self) -> dict[str, Any]:
        layout = self.settings.layout
        first = self.inputs[0][1].dims(layout) if self.inputs else []
        walk = self._lazy()
        layers = self._layer_dicts(layout) if walk is None else self._walk_dicts(walk, layout)
        training_only = self.training_only
        unknown_macs = self.unknown_macs
        return (
            {
                "model": self.model,
                "input": first,
                "inputs": [{"name": n, "shape": s.dims(layout)} for n, s in self.inputs],
                "settings": self.settings.to_dict(),
                "layers": layers,
                "totals": self.totals.to_dict() | self.buffer_kinds | {"inference_peak_bytes": self.inference_peak},
            }
            | ({"training_only": training_only} if training_only else {})
            | ({"unknown_macs": unknown_macs} if unknown_macs else {})
        )


def _row_entry(row: tuple[Any, ...], chw: bool) -> tuple[dict[str, Any], list[int], tuple[int, ...]]:
    """A row's JSON entry without the layer's own values (name, inputs, shape list, field, warnings)."""
    op, shape, weights, biases, buffers, macs, activation_bytes = row[:7]
    entry = {
        "name": None,
        "op": op,
        "inputs": None,
        "output_shape": None,
        "params": weights + biases,
        "weights": weights,
        "biases": biases,
        "buffers": buffers,
        "macs": macs,
        "activation_bytes": activation_bytes,
        "rf": None,
        "warnings": None,
    }
    fixed = fixed_values(op, shape, weights, buffers)
    if fixed:
        entry["fixed_table"] = fixed
    return entry, shape.dims("chw" if chw else "hwc"), shape.lead


def fixed_values(op: str, output: Shape, weights: int, buffers: int) -> int:
    """The values of a fixed table (`param const=true`: neither learnt nor a statistic), 0 for any other layer."""
    return output.numel if op == "param" and not weights and not buffers else 0
