"""`cnncalc memory`: weights, gradients, optimizer state, saved activations and the inference peak of a network."""

from __future__ import annotations

import json
import re
import textwrap

import click

from ..errors import CnnCalcError
from ..expr import Step
from ..render.boxes import box_table
from ..render.text import human_bytes
from ..teach.memory import AMP, DEVICES, DTYPES, OPTIMIZERS, MemoryEstimate, conventions, estimate
from ._common import Whole, fail, input_option, layout_option, load_model


@click.command(name="memory")
@click.argument("spec")
@click.argument("options", nargs=-1, metavar="[KEY=VALUE]...")
@input_option()
@layout_option()
@click.option("--batch", type=Whole(1), default=1, show_default=True, help="samples in a batch")
@click.option(
    "--dtype",
    type=click.Choice(tuple(DTYPES)),
    default="fp32",
    show_default=True,
    help="bytes a value: fp32 4, fp16 and bf16 2, int8 1",
)
@click.option(
    "--optimizer",
    type=click.Choice(tuple(OPTIMIZERS)),
    default=None,
    help="optimizer state to count (sgd 0, momentum 1, adam and adamw 2 values a parameter); implies --training "
    "[default with --training: sgd]",
)
@click.option(
    "--amp",
    type=click.Choice(tuple(AMP)),
    default=None,
    help="mixed precision as torch.autocast: fp32 weights, gradients and optimizer state; convolutions and matrix "
    "products in fp16 or bf16 (keep --dtype fp32)",
)
@click.option("--training", is_flag=True, help="add gradients, optimizer state and activations saved for backward")
@click.option(
    "--fit",
    metavar="SIZE|DEVICES",
    default=None,
    help="the largest batch that fits: a size (24GiB, 16GB) or devices (" + ",".join(DEVICES) + ")",
)
@click.option(
    "--checkpoint",
    metavar="stage|N",
    default=None,
    help="activation checkpointing (torch.utils.checkpoint) per stage or every N layers: only each segment's "
    "inputs are kept, the rest recomputed in the backward (implies --training)",
)
@click.option(
    "--no-foreach",
    "no_foreach",
    is_flag=True,
    help="the optimizer steps one parameter at a time (PyTorch's CPU default): no foreach temporaries",
)
@click.option("--format", "fmt", type=click.Choice(("table", "md", "json")), default="table", show_default=True)
def command(
    spec: str,
    options: tuple[str, ...],
    input_: str | None,
    layout: str,
    batch: int,
    dtype: str,
    optimizer: str | None,
    amp: str | None,
    training: bool,
    fit: str | None,
    checkpoint: str | None,
    no_foreach: bool,
    fmt: str,
) -> None:
    """Estimate the memory of SPEC (a spec file, - for standard input, or a zoo name), layer by layer and in total:
    weights, and for --training gradients, optimizer state and activations saved for the backward pass; and the
    peak of inference, the most tensors alive at once walking the layers in order. With --training, the peak of a
    whole step (forward, backward, optimizer step); --fit finds the largest batch that fits a memory size or device.
    A zoo model takes its options as KEY=VALUE, e.g. `cnncalc memory googlenet aux=true --training`."""
    training = training or optimizer is not None or amp is not None or checkpoint is not None
    try:
        if training and dtype == "int8":
            raise CnnCalcError("--dtype int8 with --training: int8 is an inference format; use fp32, fp16 or bf16")
        model = load_model(spec, options, input_, layout=layout)
        if amp and dtype != "fp32":
            raise CnnCalcError(f"--amp {amp} with --dtype {dtype}: autocast keeps fp32 weights; leave --dtype at fp32")
        result = estimate(
            model,
            batch=batch,
            dtype=dtype,
            optimizer=optimizer or "sgd",
            training=training,
            amp=amp,
            fit=fit,
            foreach=not no_foreach,
            checkpoint=checkpoint,
        )
    except CnnCalcError as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "md":
        click.echo(render_markdown(result, layout), nl=False)
    else:
        click.echo(render_table(result, layout), nl=False)


def _commas(text: str) -> str:
    return re.sub(r"\d{4,}", lambda m: f"{int(m.group()):,}", text)


def working(step: Step) -> str:
    """`formula = numbers put in = exact bytes (human-readable)`."""
    numbers = _commas(step.substituted()).replace(" * ", "·").replace("*", "·")
    if step.label == "recomputed MACs":
        return f"{int(step.value):,} MACs (sum over the checkpointed layers)"
    return f"{step.formula.replace('*', '·')} = {numbers} = {step.value:,} B ({human_bytes(int(step.value))})"


def _headline(m: MemoryEstimate) -> str:
    what = f"training with {m.optimizer} ({OPTIMIZERS[m.optimizer][1]})" if m.training else "inference"
    kind = f"fp32 with autocast to {m.amp}" if m.amp else f"{m.dtype} ({m.bytes_per_value} bytes a value)"
    return f"{m.model}: batch {m.batch}, {kind}, {what}"


def _names(names: tuple[str, ...], limit: int) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _alive(m: MemoryEstimate) -> str:
    return f"at {m.peak_layer}, alive: {_names(m.peak_alive, 8)}"


def _columns(m: MemoryEstimate, layout: str = "hwc") -> tuple[list[str], list[list[str]], list[str]]:
    headers = ["layer", "op", "output", "output bytes"]
    if m.training:
        headers += ["saved for backward"]
    headers += ["weights"]
    if m.training:
        headers += ["gradients", "optimizer"]
    headers += ["live (inference)", "freed after"]
    rows = []
    for x in m.layers:
        row = [x.name + (" *" if x.aux else ""), x.op, x.output.text(layout), human_bytes(x.activation_bytes)]
        if m.training:
            row += [human_bytes(x.saved_bytes) if x.saved_bytes else ""]
        row += [human_bytes(x.weight_bytes) if x.weight_bytes else ""]
        if m.training:
            row += [
                human_bytes(x.gradient_bytes) if x.gradient_bytes else "",
                human_bytes(x.optimizer_bytes) if x.optimizer_bytes else "",
            ]
        live = "" if x.live_bytes is None else human_bytes(x.live_bytes) + (" ◀ peak" if x.name == m.peak_layer else "")
        row += [live, _names(x.freed, 2)]
        rows.append(row)
    total = ["total", "", "", human_bytes(m.outputs.value) + " (sum)"]
    if m.training:
        total += [human_bytes(m.activations.value)]
    total += [human_bytes(m.weights.value)]
    if m.training:
        total += [human_bytes(m.gradients.value), human_bytes(m.optimizer_state.value)]
    total += [human_bytes(m.peak.value) + " peak", ""]
    return headers, rows, total


_MEANING = {
    "weights": "params and buffers",
    "gradients": "one a parameter",
    "optimizer state": "kept between steps",
    "saved activations": "what autograd keeps for the backward pass",
    "training total": "held at the end of the forward pass",
    "step peak": "the most held at once in one training step",
    "sum of outputs": "every layer's output added up: not memory needed at once",
    "inference peak": "the most activations alive at once, no gradients",
    "inference total": "weights + inference peak",
    "recomputed MACs": "the checkpointed layers' forward, run again in the backward",
}


def _summary(m: MemoryEstimate) -> list[str]:
    steps = m.steps()
    width = max(len(s.label) for s in steps)
    lines = []
    for s in steps:
        lines.append(f"{s.label.ljust(width)} = {working(s)}: {_MEANING[s.label]}")
        if s.label == "step peak":
            lines.append(f"{' ' * width}   reached {m.step_peak_phase}")
        if s.label == "recomputed MACs":
            lines.append(
                f"{' ' * width}   --checkpoint {m.checkpoint}: {m.recomputed_layers} layers in checkpointed segments "
                "keep only their segments' inputs through the forward"
            )
        if s.label == "saved activations" and m.training:
            lines.append(f"{' ' * width}   N = batch, a = bytes kept a sample, f = bytes whatever the batch")
    lines.append(f"{' ' * width}   the inference peak is {_alive(m)}")
    if any(x.aux for x in m.layers):
        lines.append("* training only (auxiliary classifier): not run at inference, so not in the peak")
    return lines


def _fit_lines(m: MemoryEstimate) -> list[str]:
    figure = "step peak" if m.training else "inference total"
    if len(m.fit) == 1 and m.fit[0].source == "as given":
        row = m.fit[0]
        if row.batch == 0:
            return [f"--fit {row.device}: not even batch 1 fits ({figure} {human_bytes(row.bytes)})"]
        if row.next_bytes <= row.capacity:  # the search stops at cnncalc's largest size
            return [
                f"--fit {row.device} ({row.capacity:,} B): batch {row.batch:,} and more fit (cnncalc counts batches "
                f"up to {row.batch:,}: {figure} {row.bytes:,} B)"
            ]
        return [
            f"--fit {row.device} ({row.capacity:,} B): largest batch {row.batch}, {figure} {row.bytes:,} B "
            f"({row.bytes / 2**30:.2f} GiB); batch {row.batch + 1} needs {row.next_bytes:,} B "
            f"({row.next_bytes / 2**30:.2f} GiB)"
        ]
    headers = ["device", "memory", "largest batch", figure, "next batch needs", "memory figure from"]
    rows = [
        [
            r.device,
            human_bytes(r.capacity),
            (f"{r.batch:,}+" if r.next_bytes <= r.capacity else str(r.batch)) if r.batch else "none",
            f"{r.bytes / 2**30:.2f} GiB",
            f"{r.next_bytes / 2**30:.2f} GiB",
            r.source,
        ]
        for r in m.fit
    ]
    return [box_table(headers, rows, right={1, 2, 3, 4}, title=f"largest batch by {figure}").rstrip("\n")]


def render_table(m: MemoryEstimate, layout: str = "hwc") -> str:
    if m.fit:  # the answer on one screen: no per-layer table
        lines = [_headline(m), *_summary(m), *_fit_lines(m)]
        lines.append(
            "the figure for --fit is the "
            + (
                "step peak: weights, optimizer state, saved activations not yet used, activation and parameter "
                "gradients, foreach temporaries"
                if m.training
                else "inference total: weights and the most activations alive at once"
            )
            + "; the CUDA context and the allocator's cache are not counted (drop --fit for the per-layer table)"
        )
        return "\n".join(lines) + "\n"
    headers, rows, total = _columns(m, layout)
    right = set(range(3, len(headers) - 1))
    out = box_table(headers, rows, right=right, footer=[total], title=_headline(m))
    notes = [textwrap.fill(c, 120, subsequent_indent="  ") for c in conventions(m.dtype, m.training, m.amp)]
    return out + "\n".join(_summary(m) + notes) + "\n"


def render_markdown(m: MemoryEstimate, layout: str = "hwc") -> str:
    headers, rows, total = _columns(m, layout)
    lines = [f"**{_headline(m)}**", "", "| " + " | ".join(headers) + " |"]
    lines.append(
        "|" + "|".join("---:" if i in range(3, len(headers) - 1) else "---" for i in range(len(headers))) + "|"
    )
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in (*rows, total)]
    lines += ["", *[f"- `{line}`" for line in _summary(m)]]
    if m.fit:
        lines += ["", "```", *_fit_lines(m), "```"]
    lines += ["", *[f"- {c}" for c in conventions(m.dtype, m.training, m.amp)]]
    return "\n".join(lines) + "\n"
