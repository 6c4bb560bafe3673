"""How much memory a network needs: weights, gradients, optimizer state, saved activations, the inference peak.

Everything is read from a loaded Model's report (output shapes, weights, biases, buffers, inputs of each layer),
so the figures follow the same engine as the layer table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..api import Model
from ..errors import CnnCalcError
from ..expr import Step
from ..ir import Shape

DTYPES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
OPTIMIZERS = {
    "sgd": (0, "plain SGD keeps no state"),
    "momentum": (1, "SGD with momentum: one momentum buffer, 1 value a parameter"),
    "adam": (2, "Adam: the moments m and v, 2 values a parameter"),
}


def conventions(dtype: str, training: bool) -> list[str]:
    out = [
        f"{dtype}: {DTYPES[dtype]} bytes a value for every tensor; mixed precision (fp32 master weights and "
        "optimizer state beside fp16/bf16 activations) is not modelled",
        "weights: params + buffers (batch-norm running statistics), stored once whatever the batch",
        "inference peak: layers run in the order listed and each writes a new tensor (no in-place ops, views or "
        "buffer reuse); a tensor is freed once its last consumer has run, so the input of a residual block stays "
        "alive until the add; the network's outputs stay alive to the end; training-only layers are skipped",
    ]
    if training:
        out += [
            "gradients: 1 value a parameter; optimizer state: sgd 0, momentum 1, adam 2 values a parameter "
            "(Adam's step counter, one number a tensor, left out)",
            "saved activations: every layer's output, the input too, kept for the backward pass at the whole batch; "
            "a simplification: PyTorch keeps what each op's backward needs (an in-place ReLU shares its input's "
            "storage, flatten is a view, dropout keeps a mask) and frees the rest; the gradients of the "
            "activations and workspace during the backward pass are not counted",
            "training total = weights + gradients + optimizer state + saved activations: the memory held at the end "
            "of the forward pass",
        ]
    return out


@dataclass(frozen=True)
class LayerMemory:
    """One layer's share. Bytes at the estimate's batch and dtype; `live_bytes` is None for training-only layers."""

    name: str
    op: str
    output: Shape
    params: int
    buffers: int
    activation_bytes: int  # its output at the whole batch (saved for the backward pass when training)
    weight_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    live_bytes: int | None  # inference: every tensor alive while it runs (its inputs, its output, kept ones)
    alive: tuple[str, ...]
    freed: tuple[str, ...]  # tensors freed once it has run
    aux: bool = False

    def to_dict(self, training: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "op": self.op,
            "output_shape": self.output.dims(),
            "params": self.params,
            "buffers": self.buffers,
            "activation_bytes": self.activation_bytes,
            "weight_bytes": self.weight_bytes,
        }
        if training:
            out |= {"gradient_bytes": self.gradient_bytes, "optimizer_bytes": self.optimizer_bytes}
        out |= {"live_bytes": self.live_bytes, "alive": list(self.alive), "freed": list(self.freed)}
        if self.aux:
            out["training_only"] = True
        return out


@dataclass(frozen=True)
class MemoryEstimate:
    model: str
    batch: int
    dtype: str
    optimizer: str
    training: bool
    layers: tuple[LayerMemory, ...]
    weights: Step
    gradients: Step
    optimizer_state: Step
    activations: Step  # every layer's output at the batch: saved for the backward pass when training
    training_total: Step
    peak: Step  # the inference activation peak
    peak_layer: str
    peak_alive: tuple[str, ...]
    inference_total: Step

    @property
    def bytes_per_value(self) -> int:
        return DTYPES[self.dtype]

    def steps(self) -> list[Step]:
        """The totals that apply: inference only, or training too."""
        if not self.training:
            return [self.weights, self.peak, self.inference_total]
        return [
            self.weights,
            self.gradients,
            self.optimizer_state,
            self.activations,
            self.training_total,
            self.peak,
            self.inference_total,
        ]

    def to_dict(self) -> dict[str, Any]:
        totals = {}
        for step in self.steps():
            totals[_KEYS[step.label]] = {"bytes": step.value, "formula": step.formula, "values": dict(step.values)}
        return {
            "model": self.model,
            "batch": self.batch,
            "dtype": self.dtype,
            "bytes_per_value": self.bytes_per_value,
            "training": self.training,
            "optimizer": self.optimizer if self.training else None,
            "layers": [x.to_dict(self.training) for x in self.layers],
            "totals": totals,
            "peak": {"layer": self.peak_layer, "alive": list(self.peak_alive)},
            "conventions": conventions(self.dtype, self.training),
        }


_KEYS = {
    "weights": "weights",
    "gradients": "gradients",
    "optimizer state": "optimizer_state",
    "saved activations": "activations",
    "training total": "training_total",
    "inference peak": "inference_peak",
    "inference total": "inference_total",
}


def estimate(
    model: Model, *, batch: int = 1, dtype: str = "fp32", optimizer: str = "sgd", training: bool = False
) -> MemoryEstimate:
    """Memory of `model` layer by layer and in total, at `batch` samples of `dtype` values."""
    if dtype not in DTYPES:
        raise CnnCalcError(f"dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if optimizer not in OPTIMIZERS:
        raise CnnCalcError(f"optimizer {optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
    if batch < 1:
        raise CnnCalcError(f"batch {batch}: must be at least 1")
    if training and dtype == "int8":
        raise CnnCalcError("int8 is an inference format: estimate training in fp32, fp16 or bf16")
    size = DTYPES[dtype]
    n_state = OPTIMIZERS[optimizer][0]
    layers = model.layers
    walk = _inference_walk(layers, batch * size)

    rows = []
    for x in layers:
        live = walk.get(x.name)
        rows.append(
            LayerMemory(
                x.name,
                x.op,
                x.output,
                x.params,
                x.buffers,
                batch * x.output.numel * size,
                (x.params + x.buffers) * size,
                x.params * size if training else 0,
                n_state * x.params * size if training else 0,
                live[0] if live else None,
                live[1] if live else (),
                live[2] if live else (),
                x.aux,
            )
        )

    params = sum(x.params for x in layers)
    buffers = sum(x.buffers for x in layers)
    values = sum(x.output.numel for x in layers)
    weights = Step.of("weights", "(P + B)*bytes", P=params, B=buffers, bytes=size)
    gradients = Step.of("gradients", "P*bytes", P=params, bytes=size)
    state = Step.of("optimizer state", "n*P*bytes", n=n_state, P=params, bytes=size)
    activations = Step.of("saved activations", "N*A*bytes", N=batch, A=values, bytes=size)
    training_total = Step.of(
        "training total",
        "weights + gradients + optimizer + activations",
        weights=weights.value,
        gradients=gradients.value,
        optimizer=state.value,
        activations=activations.value,
    )
    peak_layer, peak_alive, peak_values = _peak(walk, layers)
    peak = Step.of("inference peak", "N*L*bytes", N=batch, L=peak_values, bytes=size)
    inference_total = Step.of("inference total", "weights + peak", weights=weights.value, peak=peak.value)
    return MemoryEstimate(
        model.name,
        batch,
        dtype,
        optimizer,
        training,
        tuple(rows),
        weights,
        gradients,
        state,
        activations,
        training_total,
        peak,
        peak_layer,
        peak_alive,
        inference_total,
    )


def _inference_walk(layers: list[Any], unit: int) -> dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]]:
    """For each inference layer: the bytes alive while it runs, which tensors those are, and what is freed after.

    All inputs are alive from the start; a layer's output is added when it runs and a tensor is dropped right after
    its last consumer (a tensor nobody consumes is an output of the network and stays).
    """
    run = [x for x in layers if not x.aux]
    size = {x.name: x.output.numel for x in run}
    last: dict[str, int] = {}
    for i, x in enumerate(run):
        for name in x.inputs:
            last[name] = i
    alive: dict[str, None] = {x.name: None for x in run if x.op == "input"}  # ordered set
    out = {}
    for i, x in enumerate(run):
        alive[x.name] = None
        names = tuple(alive)
        freed = tuple(n for n in dict.fromkeys(x.inputs) if last.get(n) == i and n in alive)
        out[x.name] = (unit * sum(size[n] for n in names), names, freed)
        for n in freed:
            del alive[n]
    return out


def _peak(
    walk: dict[str, tuple[int, tuple[str, ...], tuple[str, ...]]], layers: list[Any]
) -> tuple[str, tuple[str, ...], int]:
    """The layer at which the most is alive (the first, on a tie), what is alive, and its values per sample."""
    size = {x.name: x.output.numel for x in layers}
    best = max(walk.items(), key=lambda item: item[1][0])  # max keeps the first of equals
    name, (_, alive, _) = best
    return name, alive, sum(size[n] for n in alive)
