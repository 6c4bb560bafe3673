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
from ..teach.memory import DTYPES, OPTIMIZERS, MemoryEstimate, conventions, estimate
from ._common import fail, load_model


@click.command(name="memory")
@click.argument("spec")
@click.argument("options", nargs=-1, metavar="[KEY=VALUE]...")
@click.option("--input", "input_", metavar="HxWxC", help="replace the input shape (name=HxWxC for one of several)")
@click.option("--batch", type=int, default=1, show_default=True, help="samples in a batch")
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
    help="optimizer state to count (sgd 0, momentum 1, adam 2 values a parameter); implies --training "
    "[default with --training: sgd]",
)
@click.option("--training", is_flag=True, help="add gradients, optimizer state and activations saved for backward")
@click.option("--format", "fmt", type=click.Choice(("table", "md", "json")), default="table", show_default=True)
def command(
    spec: str,
    options: tuple[str, ...],
    input_: str | None,
    batch: int,
    dtype: str,
    optimizer: str | None,
    training: bool,
    fmt: str,
) -> None:
    """Estimate the memory of SPEC (a spec file, - for standard input, or a zoo name), layer by layer and in total:
    weights, and for --training gradients, optimizer state and activations saved for the backward pass; and the
    peak of inference, the most tensors alive at once walking the layers in order. A zoo model takes its options as
    KEY=VALUE, e.g. `cnncalc memory googlenet aux=true --training`."""
    training = training or optimizer is not None
    try:
        if batch < 1:
            raise CnnCalcError(f"--batch {batch}: must be at least 1")
        if training and dtype == "int8":
            raise CnnCalcError("--dtype int8 with --training: int8 is an inference format; use fp32, fp16 or bf16")
        model = load_model(spec, options, input_)
        result = estimate(model, batch=batch, dtype=dtype, optimizer=optimizer or "sgd", training=training)
    except CnnCalcError as exc:
        fail(str(exc))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif fmt == "md":
        click.echo(render_markdown(result), nl=False)
    else:
        click.echo(render_table(result), nl=False)


def _commas(text: str) -> str:
    return re.sub(r"\d{4,}", lambda m: f"{int(m.group()):,}", text)


def working(step: Step) -> str:
    """`formula = numbers put in = exact bytes (human-readable)`."""
    numbers = _commas(step.substituted()).replace(" * ", "·").replace("*", "·")
    return f"{step.formula.replace('*', '·')} = {numbers} = {step.value:,} B ({human_bytes(int(step.value))})"


def _headline(m: MemoryEstimate) -> str:
    what = f"training with {m.optimizer} ({OPTIMIZERS[m.optimizer][1]})" if m.training else "inference"
    return f"{m.model}: batch {m.batch}, {m.dtype} ({m.bytes_per_value} bytes a value), {what}"


def _names(names: tuple[str, ...], limit: int) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _alive(m: MemoryEstimate) -> str:
    return f"at {m.peak_layer}, alive: {_names(m.peak_alive, 8)}"


def _columns(m: MemoryEstimate) -> tuple[list[str], list[list[str]], list[str]]:
    act = "saved activation" if m.training else "output"
    headers = ["layer", "op", "output", act, "weights"]
    if m.training:
        headers += ["gradients", "optimizer"]
    headers += ["live (inference)", "freed after"]
    rows = []
    for x in m.layers:
        row = [
            x.name + (" *" if x.aux else ""),
            x.op,
            x.output.text(),
            human_bytes(x.activation_bytes),
            human_bytes(x.weight_bytes) if x.weight_bytes else "",
        ]
        if m.training:
            row += [
                human_bytes(x.gradient_bytes) if x.gradient_bytes else "",
                human_bytes(x.optimizer_bytes) if x.optimizer_bytes else "",
            ]
        live = "" if x.live_bytes is None else human_bytes(x.live_bytes) + (" ◀ peak" if x.name == m.peak_layer else "")
        row += [live, _names(x.freed, 2)]
        rows.append(row)
    total = ["total", "", "", human_bytes(m.activations.value), human_bytes(m.weights.value)]
    if m.training:
        total += [human_bytes(m.gradients.value), human_bytes(m.optimizer_state.value)]
    total += [human_bytes(m.peak.value) + " peak", ""]
    return headers, rows, total


def _summary(m: MemoryEstimate) -> list[str]:
    steps = m.steps()
    width = max(len(s.label) for s in steps)
    lines = [f"{s.label.ljust(width)} = {working(s)}" for s in steps]
    lines.append(f"{' ' * width}   the peak is {_alive(m)}")
    if any(x.aux for x in m.layers):
        lines.append("* training only (auxiliary classifier): not run at inference, so not in the peak")
    return lines


def render_table(m: MemoryEstimate) -> str:
    headers, rows, total = _columns(m)
    right = set(range(3, len(headers) - 1))
    out = box_table(headers, rows, right=right, footer=[total], title=_headline(m))
    notes = [textwrap.fill(c, 120, subsequent_indent="  ") for c in conventions(m.dtype, m.training)]
    return out + "\n".join(_summary(m) + notes) + "\n"


def render_markdown(m: MemoryEstimate) -> str:
    headers, rows, total = _columns(m)
    lines = [f"**{_headline(m)}**", "", "| " + " | ".join(headers) + " |"]
    lines.append(
        "|" + "|".join("---:" if i in range(3, len(headers) - 1) else "---" for i in range(len(headers))) + "|"
    )
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in (*rows, total)]
    lines += ["", *[f"- `{line}`" for line in _summary(m)], "", *[f"- {c}" for c in conventions(m.dtype, m.training)]]
    return "\n".join(lines) + "\n"
