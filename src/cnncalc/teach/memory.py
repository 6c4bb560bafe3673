"""How much memory a network needs: weights, gradients, optimizer state, saved activations, the inference peak.

Everything is read from a loaded Model's report (output shapes, weights, biases, buffers, inputs of each layer),
so the figures follow the same engine as the layer table.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..api import Model
from ..errors import CnnCalcError
from ..expr import Step
from ..ir import Shape
from .saved import SavedPlan, layer_args, plan

DTYPES = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
AMP = {"fp16": 2, "bf16": 2}
# (state values a parameter, what it is, temporaries a parameter during a foreach step)
OPTIMIZERS = {
    "sgd": (0, "plain SGD keeps no state", 0),
    "momentum": (1, "SGD with momentum: one momentum buffer, 1 value a parameter", 0),
    "adam": (2, "Adam: the moments m and v, 2 values a parameter", 1),
    "adamw": (2, "AdamW: the moments m and v, 2 values a parameter", 1),
}


def conventions(dtype: str, training: bool, amp: str | None = None) -> list[str]:
    if amp:
        first = (
            f"--amp {amp} (autocast): weights, gradients and optimizer state in fp32; convolutions, linear layers, "
            f"matrix products and attention run in {amp}, keeping {amp} copies of their fp32 inputs and weights; "
            "the other ops keep the type of their input (3-D pooling, on the CPU, runs in fp32); the inference peak "
            "and total are counted at fp32, as without autocast"
        )
    else:
        first = f"{dtype}: {DTYPES[dtype]} bytes a value for every tensor (no autocast; --amp fp16|bf16 for that)"
    out = [
        first,
        "weights: params + buffers (batch-norm running statistics), stored once whatever the batch",
        "inference peak: layers run in the order listed and each writes a new tensor (no in-place ops, views or "
        "buffer reuse); a tensor is freed once its last consumer has run, so the input of a residual block stays "
        "alive until the add; the network's outputs stay alive to the end; training-only layers are skipped",
    ]
    if training:
        out += [
            "gradients: 1 value a parameter; optimizer state: sgd 0, momentum 1, adam and adamw 2 values a "
            "parameter (Adam's step counter, one number a tensor, left out)",
            "saved activations: what PyTorch's autograd keeps for the backward pass (its derivatives.yaml "
            "formulas): a conv or linear layer its input, ReLU its output, batch norm its input and a mean and "
            "inverse std per channel, max pooling its input and int64 indices, dropout a bool mask (as on the "
            "GPU), add and concat nothing; views and in-place ops share their input's storage, and a storage kept "
            "by several layers is counted once",
            "training total = weights + gradients + optimizer state + saved activations: the memory held at the end "
            "of the forward pass, with last step's gradients still held",
            "step peak: the most held at once during one step (forward, backward, optimizer step) walking the "
            "layers in order, then back: weights and optimizer state throughout; in the backward, the saved "
            "activations not yet used, the gradients of the activations alive, and the parameter gradients made "
            "so far; in the optimizer step, the gradients and the foreach temporaries (Adam: one value a "
            "parameter, for the square root of v); gradients are set to None after the step (zero_grad's "
            "default); the CUDA context, allocator caching and convolution workspaces are not counted",
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
    activation_bytes: int  # its output at the whole batch
    weight_bytes: int
    gradient_bytes: int
    optimizer_bytes: int
    live_bytes: int | None  # inference: every tensor alive while it runs (its inputs, its output, kept ones)
    alive_count: int
    freed: tuple[str, ...]  # tensors freed once it has run
    aux: bool = False
    saved_bytes: int = 0  # what its backward keeps that no earlier layer keeps already (training)
    keeps: tuple[str, ...] = ()  # what its backward keeps, in words

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
            out |= {"saved_bytes": self.saved_bytes, "keeps": list(self.keeps)}
        out |= {"live_bytes": self.live_bytes, "alive_count": self.alive_count, "freed": list(self.freed)}
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
    activations: Step  # what autograd keeps for the backward pass (training), every output otherwise
    training_total: Step
    peak: Step  # the inference activation peak
    peak_layer: str
    peak_alive: tuple[str, ...]
    inference_total: Step
    outputs: Step  # every layer's output at the batch: not memory needed at once, a sum
    amp: str | None = None
    step_peak: Step | None = None  # forward + backward + optimizer step (training)
    step_peak_phase: str = ""
    fit: tuple[FitRow, ...] = ()
    _walk: tuple[Any, ...] = ()
    recomputed_macs: Step | None = None  # with checkpointing: the forward MACs run again in the backward
    recomputed_layers: int = 0
    checkpoint: str | None = None

    @property
    def bytes_per_value(self) -> int:
        return DTYPES[self.dtype]

    def alive_at(self, layer: str) -> tuple[str, ...]:
        """The tensors alive while `layer` runs at inference (one walk of the layers)."""
        return _alive_at(self._walk, layer)

    def steps(self) -> list[Step]:
        """The totals that apply: inference only, or training too."""
        if not self.training:
            return [self.weights, self.outputs, self.peak, self.inference_total]
        out = [
            self.weights,
            self.gradients,
            self.optimizer_state,
            self.activations,
            self.training_total,
        ]
        if self.step_peak is not None:
            out.append(self.step_peak)
        if self.recomputed_macs is not None:
            out.append(self.recomputed_macs)
        return [*out, self.outputs, self.peak, self.inference_total]

    def to_dict(self) -> dict[str, Any]:
        totals = {}
        for step in self.steps():
            totals[_KEYS[step.label]] = {"bytes": step.value, "formula": step.formula, "values": dict(step.values)}
        out = {
            "model": self.model,
            "batch": self.batch,
            "dtype": self.dtype,
            "amp": self.amp,
            "bytes_per_value": self.bytes_per_value,
            "training": self.training,
            "optimizer": self.optimizer if self.training else None,
            "layers": [x.to_dict(self.training) for x in self.layers],
            "totals": totals,
            "peak": {"layer": self.peak_layer, "alive": list(self.peak_alive)},
            "conventions": conventions(self.dtype, self.training, self.amp),
        }
        if self.step_peak is not None:
            out["step_peak"] = {"phase": self.step_peak_phase}
        if self.checkpoint:
            out["checkpoint"] = {"segments": self.checkpoint, "recomputed_layers": self.recomputed_layers}
        if self.fit:
            out["fit"] = [row.to_dict() for row in self.fit]
        return out


@dataclass(frozen=True)
class FitRow:
    """The largest batch whose figure fits in `capacity` bytes, that figure, and the next batch's."""

    device: str
    capacity: int
    source: str
    batch: int  # 0: not even one sample fits
    bytes: int
    next_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "capacity_bytes": self.capacity,
            "source": self.source,
            "batch": self.batch,
            "bytes": self.bytes,
            "next_batch_bytes": self.next_bytes,
        }


_KEYS = {
    "weights": "weights",
    "gradients": "gradients",
    "optimizer state": "optimizer_state",
    "saved activations": "activations",
    "training total": "training_total",
    "step peak": "step_peak",
    "recomputed MACs": "recomputed_macs",
    "sum of outputs": "outputs",
    "inference peak": "inference_peak",
    "inference total": "inference_total",
}

# Memory on the card as its maker's data sheet gives it (GB there means GiB: nvidia-smi shows A100 40GB as
# 40,960 MiB); what the driver and CUDA context take of it is not subtracted.
DEVICES = {
    "h100": (80, "NVIDIA H100 SXM5/PCIe data sheet: 80 GB HBM3/HBM2e"),
    "a100-80gb": (80, "NVIDIA A100 data sheet: 80 GB HBM2e"),
    "a100-40gb": (40, "NVIDIA A100 data sheet: 40 GB HBM2"),
    "l4": (24, "NVIDIA L4 data sheet: 24 GB GDDR6"),
    "rtx4090": (24, "NVIDIA GeForce RTX 4090 specifications: 24 GB GDDR6X"),
    "rtx3090": (24, "NVIDIA GeForce RTX 3090 specifications: 24 GB GDDR6X"),
    "v100": (16, "NVIDIA V100 data sheet: 16 GB HBM2 (a 32 GB model exists: v100-32gb)"),
    "v100-32gb": (32, "NVIDIA V100 data sheet: 32 GB HBM2"),
    "t4": (16, "NVIDIA T4 data sheet: 16 GB GDDR6"),
}
_UNITS = {"": 1, "b": 1, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "kb": 10**3, "mb": 10**6,
          "gb": 10**9, "tb": 10**12}  # fmt: skip


MOST_FIT = 2**60  # bytes: an exbibyte, past any device
MOST_FIT_PARTS = 32


def parse_fit(text: str) -> list[tuple[str, int, str]]:
    """`24GiB`, `16GB`, or device names (`h100,a100-40gb`): (label, bytes, where the figure comes from)."""
    from ..ops.base import shortened

    parts = [p.strip() for p in text.split(",")]
    if len(parts) > MOST_FIT_PARTS:
        raise CnnCalcError(f"--fit: {len(parts):,} sizes or devices; at most {MOST_FIT_PARTS}")
    out = []
    for part in parts:
        key = part.lower()
        if key in DEVICES:
            gib, source = DEVICES[key]
            out.append((part, gib * 2**30, source))
            continue
        number = key.rstrip("abgikmtB")
        unit = key[len(number) :]
        try:
            value = float(number) if len(number) <= 30 else -1.0
        except ValueError:
            value = -1.0
        if unit not in _UNITS or not 0 < value * _UNITS.get(unit, 1) <= MOST_FIT:
            raise CnnCalcError(
                f"--fit {shortened(part)!r}: write a size such as 24GiB or 16GB (at most 1 EiB), or a device: "
                f"{', '.join(DEVICES)}"
            )
        out.append((part, int(value * _UNITS[unit]), "as given"))
    if not out:
        raise CnnCalcError(f"--fit: write a size such as 24GiB, or devices such as {','.join(list(DEVICES)[:3])}")
    return out


def estimate(
    model: Model,
    *,
    batch: int = 1,
    dtype: str = "fp32",
    optimizer: str = "sgd",
    training: bool = False,
    amp: str | None = None,
    fit: str | None = None,
    foreach: bool = True,
    checkpoint: str | int | None = None,
) -> MemoryEstimate:
    """Memory of `model` layer by layer and in total, at `batch` samples of `dtype` values; `amp` (fp16 or bf16)
    models autocast; `fit` (a size or device names) adds the largest batch that fits each; `checkpoint` ("stage",
    or N for every N layers) models torch.utils.checkpoint on those segments."""
    if dtype not in DTYPES:
        raise CnnCalcError(f"dtype {dtype!r}: use one of {', '.join(DTYPES)}")
    if optimizer not in OPTIMIZERS:
        raise CnnCalcError(f"optimizer {optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
    if amp is not None and amp not in AMP:
        raise CnnCalcError(f"amp {amp!r}: use fp16 or bf16")
    if amp is not None and dtype != "fp32":
        raise CnnCalcError(f"--amp {amp} keeps fp32 weights: leave --dtype at fp32")
    if batch < 1:
        raise CnnCalcError(f"batch {batch}: must be at least 1")
    if training and dtype == "int8":
        raise CnnCalcError("int8 is an inference format: estimate training in fp32, fp16 or bf16")
    size = DTYPES[dtype]
    n_state, _, n_temp = OPTIMIZERS[optimizer]
    layers = model.layers
    walk = _inference_walk(layers, batch * size)
    saved = plan(layers, layer_args(model.graph), itemsize=size, amp=AMP.get(amp or "")) if training else None
    kept = saved.layer_bytes(batch) if saved else {}
    words = _keeps_in_words(saved) if saved else {}

    rows = []
    for x, live in zip(layers, walk[0], strict=True):
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
                live[1] if live else 0,
                live[2] if live else (),
                x.aux,
                kept.get(x.name, 0),
                words.get(x.name, ()),
            )
        )

    params = sum(x.params for x in layers)
    buffers = sum(x.buffers for x in layers)
    values = sum(x.output.numel for x in layers)
    weights = Step.of("weights", "(P + B)*bytes", P=params, B=buffers, bytes=size)
    gradients = Step.of("gradients", "P*bytes", P=params, bytes=size)
    state = Step.of("optimizer state", "n*P*bytes", n=n_state, P=params, bytes=size)
    outputs = Step.of("sum of outputs", "N*A*bytes", N=batch, A=values, bytes=size)
    step, segments = None, None
    if saved is not None:
        segments = checkpoint_segments(layers, checkpoint) if checkpoint else None
        step = _StepModel(layers, saved, params, buffers, size, n_state, n_temp if foreach else 0, segments)
        # Checkpointed segments hold only their inputs past the forward.
        held = step.held_after_forward if segments else saved.nbytes
        activations = Step.of("saved activations", "N*a + f", N=batch, a=held(1) - held(0), f=held(0))
    else:
        activations = Step.of("saved activations", "N*A*bytes", N=batch, A=values, bytes=size)
    training_total = Step.of(
        "training total",
        "weights + gradients + optimizer + activations",
        weights=weights.value,
        gradients=gradients.value,
        optimizer=state.value,
        activations=activations.value,
    )
    peak_layer, peak_values = walk[1], walk[2]
    peak = Step.of("inference peak", "N*L*bytes", N=batch, L=peak_values, bytes=size)
    inference_total = Step.of("inference total", "weights + peak", weights=weights.value, peak=peak.value)
    step_peak, phase, fits = None, "", ()
    recompute, recompute_layers = None, 0
    if step is not None:
        phase, step_peak = step.peak(batch)
        if segments:
            # The table's column as the total counts it: what each layer's backward keeps past the forward.
            held_by = step.kept_by_layer(batch)
            rows = [replace(r, saved_bytes=held_by.get(r.name, 0)) for r in rows]
            redo = sum(layers[i].macs or 0 for seg in segments for i in seg)
            recompute = Step.of("recomputed MACs", "R", R=redo)
            recompute_layers = sum(len(seg) for seg in segments)
        if fit:
            fits = tuple(_fit(step, label, capacity, source) for label, capacity, source in parse_fit(fit))
    elif fit:
        fixed = weights.value

        def inference(n: int) -> int:
            return fixed + n * peak_values * size

        fits = tuple(_search(inference, label, capacity, source) for label, capacity, source in parse_fit(fit))
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
        _alive_at((layers,), peak_layer),
        inference_total,
        outputs,
        amp,
        step_peak,
        phase,
        fits,
        (layers,),
        recompute,
        recompute_layers,
        str(checkpoint) if checkpoint else None,
    )


def _keeps_in_words(saved: SavedPlan) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {}
    for key, name in saved.owner.items():
        out.setdefault(name, []).append(saved.storages[key].what)
    return {k: tuple(v) for k, v in out.items()}


class _StepModel:
    """One training step walked layer by layer; every figure is linear in the batch, so a peak is a max of lines."""

    def __init__(
        self,
        layers: list[Any],
        saved: SavedPlan,
        params: int,
        buffers: int,
        master: int,
        n_state: int,
        n_temp: int,
        segments: list[list[int]] | None = None,
    ) -> None:
        self.layers = layers
        self.saved = saved
        self.master = master  # bytes a value of weights, gradients and state: fp32 under autocast
        self.weights = (params + buffers) * master
        self.state = n_state * params * master
        self.grads = params * master
        self.temps = n_temp * params * master
        self.index = {x.name: i for i, x in enumerate(self.layers)}
        # Each kept storage is freed once the earliest layer keeping it has run backward.
        first: dict[str, int] = {}
        for i, row in enumerate(saved.layers):
            for key in row.keeps:
                if not saved.storages[key].param and key not in first:
                    first[key] = i
        self.free_at = first
        # Checkpointed segments (torch.utils.checkpoint): a storage all of whose keepers lie in one segment is not
        # held after the forward but made again when the backward reaches the segment's last layer; the segment's
        # inputs from outside are held instead, until its first layer is done.
        self.recomputed: dict[str, int] = {}  # storage -> index of the segment's last layer
        self.holder: dict[str, str] = {}  # a segment's input kept for it -> the segment's first layer
        self.segments = segments or []
        if self.segments:
            segment_of = {i: n for n, seg in enumerate(self.segments) for i in seg}
            keepers: dict[str, set[int]] = {}
            for i, row in enumerate(saved.layers):
                for key in row.keeps:
                    if not saved.storages[key].param:
                        keepers.setdefault(key, set()).add(segment_of.get(i, -1 - i))
            for key, where in keepers.items():
                only = next(iter(where)) if len(where) == 1 else -1
                if only >= 0:
                    self.recomputed[key] = self.segments[only][-1]
            for n, seg in enumerate(self.segments):
                for i in seg:
                    for name in layers[i].inputs:
                        j = self.index[name]
                        if segment_of.get(j) != n:
                            key = saved.layers[j].output
                            if not saved.storages[key].param:
                                self.free_at[key] = min(self.free_at.get(key, seg[0]), seg[0])
                                self.recomputed.pop(key, None)
                                self.holder.setdefault(key, layers[seg[0]].name)
        last_use: dict[str, int] = {}
        for i, x in enumerate(self.layers):
            for name in x.inputs:
                last_use[name] = i
        self.last_use = last_use
        self._lines: list[tuple[str, int, int]] | None = None
        self._zero: list[tuple[str, dict[str, int]]] = []
        self._one: list[tuple[str, dict[str, int]]] = []

    def at(self, batch: int) -> list[tuple[str, dict[str, int]]]:
        """What is held at the end of the forward, at each layer of the backward and in the optimizer step."""
        saved = self.saved
        itemsize = {row.name: row.itemsize for row in saved.layers}
        kept = sum(saved.storages[k].nbytes(batch) for k in self.free_at if k not in self.recomputed)
        again: dict[int, int] = {}  # index of a segment's last layer -> bytes its recomputation keeps
        for key, i in self.recomputed.items():
            again[i] = again.get(i, 0) + saved.storages[key].nbytes(batch)
        fixed = {"weights": self.weights, "state": self.state}
        out = []
        n = len(self.layers)
        # End of the forward: everything kept, plus the network's outputs (the loss reads them).
        ends = sum(batch * x.output.numel * itemsize[x.name] for x in self.layers if x.name not in self.last_use)
        out.append(("end of the forward pass", {**fixed, "saved": kept, "outputs": ends}))
        # Backward, last layer first: layer i runs holding the gradient of its output and making those of its
        # inputs; a kept storage goes once the earliest layer keeping it is done, a gradient once its producer is.
        by_first: list[int] = [0] * n
        for key, i in self.free_at.items():
            by_first[i] += saved.storages[key].nbytes(batch)
        still, grad_alive, grads_made = kept, 0, 0
        grad_of: dict[str, int] = {}
        for i in range(n - 1, -1, -1):
            x = self.layers[i]
            still += again.get(i, 0)
            if x.name not in grad_of:  # an output of the network: its gradient comes from the loss
                grad_of[x.name] = batch * x.output.numel * itemsize[x.name]
                grad_alive += grad_of[x.name]
            new = 0
            for name in dict.fromkeys(x.inputs):
                source = self.layers[self.index[name]]
                if name not in grad_of and source.op not in ("input", "param"):
                    grad_of[name] = batch * source.output.numel * itemsize[name]
                    new += grad_of[name]
            grads_made += x.params * self.master
            parts = {**fixed, "saved": still, "activation_grads": grad_alive + new, "grads": grads_made}
            out.append((f"backward at {x.name}", parts))
            grad_alive += new - grad_of[x.name]
            still -= by_first[i]
        out.append(("optimizer step", {**fixed, "grads": self.grads, "temporaries": self.temps}))
        return out

    def kept_by_layer(self, batch: int) -> dict[str, int]:
        """What is held after the forward, by layer: a storage at the first layer keeping it, a checkpointed
        segment's input at the segment's first layer."""
        out: dict[str, int] = {}
        for key in self.free_at:
            if key not in self.recomputed:
                name = self.saved.owner.get(key) or self.holder[key]
                out[name] = out.get(name, 0) + self.saved.storages[key].nbytes(batch)
        return out

    def held_after_forward(self, batch: int) -> int:
        """Bytes autograd holds at the end of the forward pass (checkpointed segments hold only their inputs)."""
        return sum(self.saved.storages[k].nbytes(batch) for k in self.free_at if k not in self.recomputed)

    def lines(self) -> list[tuple[str, int, int]]:
        """Each phase as a line in the batch: (phase, bytes at batch 0, bytes more a sample). Everything held grows
        linearly with the batch, so two walks give every phase at every batch."""
        if self._lines is None:
            self._zero, self._one = self.at(0), self.at(1)
            self._lines = [
                (p, sum(a.values()), sum(b.values()) - sum(a.values()))
                for (p, a), (_, b) in zip(self._zero, self._one, strict=True)
            ]
        return self._lines

    def peak(self, batch: int) -> tuple[str, Step]:
        lines = self.lines()
        best = max(range(len(lines)), key=lambda i: lines[i][1] + batch * lines[i][2])
        (phase, zero), (_, one) = self._zero[best], self._one[best]
        parts = {k: zero[k] + batch * (one[k] - zero[k]) for k in zero}
        return phase, Step.of("step peak", " + ".join(parts), **parts)

    def largest_batch(self, capacity: int) -> int:
        """The largest batch whose peak is at most `capacity` (0 if not even one sample fits), at most MAX_SIZE."""
        from ..ir import MAX_SIZE

        most = MAX_SIZE
        for _, fixed, per in self.lines():
            if fixed > capacity:
                return 0
            if per:
                most = min(most, (capacity - fixed) // per)
        return most


def _search(figure: Any, label: str, capacity: int, source: str) -> FitRow:
    """The largest batch whose figure (growing with the batch) is at most `capacity`."""
    if figure(1) > capacity:
        return FitRow(label, capacity, source, 0, figure(1), figure(1))
    from ..ir import MAX_SIZE

    if figure(MAX_SIZE) <= capacity:  # batches past cnncalc's limit on sizes are not counted
        return FitRow(label, capacity, source, MAX_SIZE, figure(MAX_SIZE), figure(MAX_SIZE + 1))
    low, high = 1, 2
    while figure(high) <= capacity:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        if figure(mid) <= capacity:
            low = mid
        else:
            high = mid
    return FitRow(label, capacity, source, low, figure(low), figure(low + 1))


def _fit(step: _StepModel, label: str, capacity: int, source: str) -> FitRow:
    lines = step.lines()

    def peak(n: int) -> int:
        return max(fixed + n * per for _, fixed, per in lines)

    batch = step.largest_batch(capacity)
    return FitRow(label, capacity, source, batch, peak(max(batch, 1)), peak(batch + 1))


def _inference_walk(layers: list[Any], unit: int) -> tuple[list[tuple[int, int, tuple[str, ...]] | None], str, int]:
    """For each inference layer: the bytes alive while it runs, how many tensors those are, and what is freed
    after; and the peak layer (the first, on a tie) with its values a sample. One pass, linear in layers + edges.

    All inputs are alive from the start; a layer's output is added when it runs and a tensor is dropped right after
    its last consumer (a tensor nobody consumes is an output of the network and stays).
    """
    run = [x for x in layers if not x.aux]
    size = {x.name: x.output.numel for x in run}
    last: dict[str, int] = {}
    for i, x in enumerate(run):
        for name in x.inputs:
            last[name] = i
    alive = {x.name for x in run if x.op == "input"}
    values = sum(size[n] for n in alive)
    rows: dict[str, tuple[int, int, tuple[str, ...]]] = {}
    best, best_values = "", -1
    for i, x in enumerate(run):
        if x.name not in alive:
            alive.add(x.name)
            values += size[x.name]
        freed = tuple(n for n in dict.fromkeys(x.inputs) if last.get(n) == i and n in alive)
        rows[x.name] = (unit * values, len(alive), freed)
        if values > best_values:
            best, best_values = x.name, values
        for n in freed:
            alive.discard(n)
            values -= size[n]
    return [rows.get(x.name) for x in layers], best, max(best_values, 0)


def checkpoint_segments(layers: list[Any], how: str | int) -> list[list[int]]:
    """Layer indices of each checkpointed segment: every N layers in order, or by stage (layers sharing the first
    part of their dotted name, e.g. ResNet's layer1 to layer4; the first two parts when one group would hold more
    than half the network, as torchvision's features.N). Inputs, parameters and training-only layers stay out."""
    usable = [i for i, x in enumerate(layers) if x.op not in ("input", "param") and not x.aux]
    text = str(how).strip().lower()
    if text.isdigit() and int(text) >= 1:
        n = int(text)
        return [usable[i : i + n] for i in range(0, len(usable), n)]
    if text != "stage":
        raise CnnCalcError(f"--checkpoint {how}: write stage, or a number of layers a segment, such as 10")
    for depth in (1, 2):
        keys = {i: ".".join(layers[i].name.split(".")[:depth]) for i in usable if "." in layers[i].name}
        sizes: dict[str, int] = {}
        for key in keys.values():
            sizes[key] = sizes.get(key, 0) + 1
        if sizes and max(sizes.values()) * 2 <= len(usable):
            break
    segments: list[list[int]] = []
    last = None
    for i in usable:
        key = keys.get(i)
        if key is None:
            last = None
            continue
        if key != last:
            segments.append([])
            last = key
        segments[-1].append(i)
    if not segments:
        raise CnnCalcError(f"--checkpoint {how}: no stages (layers named stage.part) in this network; use a number")
    return segments


def inference_peak(layers: list[Any], bytes_per_value: int) -> int:
    """Bytes of the most outputs alive at once at inference, batch 1 (the peak of `_inference_walk`)."""
    return _inference_walk(layers, bytes_per_value)[2] * bytes_per_value


def _alive_at(walk: tuple[Any, ...], layer: str) -> tuple[str, ...]:
    """The tensors alive while `layer` runs, in the order they were made (the walk again, up to that layer)."""
    if not walk:
        return ()
    run = [x for x in walk[0] if not x.aux]
    last: dict[str, int] = {}
    for i, x in enumerate(run):
        for name in x.inputs:
            last[name] = i
    alive: dict[str, None] = {x.name: None for x in run if x.op == "input"}
    for i, x in enumerate(run):
        alive[x.name] = None
        if x.name == layer:
            return tuple(alive)
        for n in dict.fromkeys(x.inputs):
            if last.get(n) == i:
                alive.pop(n, None)
    return ()
