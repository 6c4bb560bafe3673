"""`cnncalc.load`: any network in, a Model with the report's figures out."""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import zoo
from .errors import CnnCalcError, SpecError
from .ir import Graph, Shape
from .ops.base import shape as shape_param
from .passes import analyze
from .report import Layer, Report, Settings, Totals
from .spec import parse_spec, write_spec


class Model:
    """A network and its report: `.layers` and `.totals` hold the figures of the JSON report."""

    def __init__(self, graph: Graph, report: Report) -> None:
        self.graph = graph
        self.report = report

    @property
    def name(self) -> str:
        return self.report.model

    @property
    def layers(self) -> list[Layer]:
        return self.report.layers

    @property
    def totals(self) -> Totals:
        return self.report.totals

    @property
    def warnings(self) -> list[str]:
        return self.report.warnings

    def layer(self, name: str) -> Layer:
        return self.report.layer(name)

    def to_dict(self) -> dict[str, Any]:
        return self.report.to_dict()

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_spec(self) -> str:
        return write_spec(self.graph)

    def conventions(self) -> Any:
        """This network counted the way each FLOP tool counts (see `cnncalc show --conventions`)."""
        from .passes.conventions import conventions

        return conventions(self)

    def memory(
        self,
        batch: int = 1,
        *,
        training: bool = False,
        optimizer: str = "sgd",
        dtype: str = "fp32",
        amp: str | None = None,
        fit: str | None = None,
    ) -> Any:
        """`cnncalc memory`'s figures (a `MemoryEstimate`): weights, the inference peak, and with `training` the
        gradients, optimizer state, what autograd keeps and the peak of a training step; `amp` ("fp16" or "bf16")
        as torch.autocast; `fit` ("24GiB" or "h100,t4") the largest batch that fits."""
        from .teach.memory import estimate

        return estimate(self, batch=batch, dtype=dtype, optimizer=optimizer, training=training, amp=amp, fit=fit)

    def to_torch(self) -> Any:
        """An `nn.Module` that computes exactly this network (needs the `torch` extra)."""
        from .bridges.torch_export import to_torch

        return to_torch(self.graph)

    def to_torch_source(self, class_name: str | None = None) -> str:
        """A readable Python file defining this network as an `nn.Module` (no torch needed to write it)."""
        from .bridges.torch_export import torch_source

        return torch_source(self.graph, class_name)

    def draw(self) -> Diagram:
        """The block diagram; a Jupyter cell shows it inline (SVG), `str()` gives the SVG text."""
        from .render.draw import render_svg

        return Diagram(render_svg(self))

    def _repr_html_(self) -> str:
        """Jupyter shows a model as its layer table with the totals."""
        from .render.draw import render_html_table

        return render_html_table(self)

    def __repr__(self) -> str:
        t = self.totals
        return f"<Model {self.name}: {len(self.layers)} layers, {t.params:,} params, {t.macs:,} MACs>"


class Diagram:
    """An SVG picture that Jupyter displays inline."""

    def __init__(self, svg: str) -> None:
        self.svg = svg

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.svg, encoding="utf-8")

    def __str__(self) -> str:
        return self.svg


def read_graph(source: str | Path | Graph, options: Mapping[str, Any] | None = None) -> Graph:
    """A graph from a file path, a zoo name (with its `options`), spec text, or a Graph as it is."""
    if options and not (isinstance(source, str) and source.strip() in zoo.names()):
        raise CnnCalcError(f"options {', '.join(options)} apply to zoo models only, not to {source}")
    if isinstance(source, Graph):
        return source
    if isinstance(source, str) and _is_python_reference(source):
        raise CnnCalcError(f"{source}: a PyTorch module needs an input shape: --input HxWxC (or input= in Python)")
    if _is_onnx(source):
        from .bridges.onnx_import import graph_from_onnx

        return graph_from_onnx(Path(source))
    if isinstance(source, Path) or ("\n" not in source and os.path.lexists(source)):
        from .files import read_text_file

        path = Path(source)  # a directory, FIFO or device is refused by name, not read
        return parse_spec(read_text_file(path), source=str(path), name=path.stem)
    text = source.strip()
    if text in zoo.names():
        return zoo.build(text, options)
    if "\n" in text or " " in text:
        return parse_spec(source, source="<text>", name="spec")
    if text.endswith((".cnn", ".txt", ".spec")):
        raise CnnCalcError(f"{text}: no such file")
    zoo.get(text)  # raises: no zoo model of that name, with suggestions
    raise AssertionError("unreachable")


def _is_onnx(source: str | Path) -> bool:
    return str(source).lower().endswith(".onnx") and "\n" not in str(source)


def _is_python_reference(source: str) -> bool:
    """`path/to/file.py:Name`: a module class (or a function returning a module) in a Python file."""
    path, sep, name = source.rpartition(":")
    return bool(sep) and path.endswith(".py") and name.isidentifier()


def from_torch(
    module: Any,
    input_shape: Any,
    *,
    name: str | None = None,
    bias: bool = True,
    strict: bool = False,
    layout: str = "hwc",
) -> Model:
    """A Model of a PyTorch module, traced on the meta device (no memory, no weights needed).

    `input_shape` is (C, H, W) as PyTorch orders it, a list of such for several inputs, or a
    dict from the forward's argument names to shapes. The module is left exactly as it was.
    """
    from .bridges.torch_import import graph_from_torch

    graph = graph_from_torch(module, input_shape, name=name)
    return Model(graph, analyze(graph, Settings(count_biases=bias, layout=layout, strict=strict)))


def _order(layout: str) -> str:
    return "CxHxW" if layout == "chw" else "HxWxC"


def read_input_text(text: str, layout: str = "hwc") -> list[tuple[str | None, str, Shape]]:
    """`--input` text: one shape, or `name=shape,...` for several inputs; shapes in `layout` order (`chw`: channels
    first, as PyTorch writes them). Every malformed form is one CnnCalcError naming the part and what would fit."""
    order = _order(layout)
    parts = [p.strip() for p in str(text).split(",")]
    named = [p for p in parts if "=" in p]
    if named and len(named) != len(parts):
        unnamed = next(p for p in parts if "=" not in p)
        raise CnnCalcError(f"--input {text}: {unnamed!r} has no name; write name={order} for every input")
    if not named and len(parts) > 1:
        raise CnnCalcError(f"--input {text}: several shapes need names: name={order},name={order}")
    out: list[tuple[str | None, str, Shape]] = []
    for part in parts:
        name, _, value = part.rpartition("=")
        if named and not name.strip().isidentifier():
            raise CnnCalcError(f"--input {text}: {part!r}: write name={order}, the name of an input of the network")
        out.append((name.strip() or None, value.strip(), _read_shape(value.strip(), layout, text)))
    return out


def _read_shape(value: str, layout: str, whole: str) -> Shape:
    example = "3x224x224" if layout == "chw" else "224x224x3"
    try:
        shape = shape_param()[0](value)
    except ValueError as exc:
        reason = str(exc).replace("HxWxC (like 224x224x3)", f"{_order(layout)} (like {example})")
        if layout == "chw":
            reason = reason.replace("DxHxWxC", "CxDxHxW").replace("LxC", "CxL")
        where = f"{value!r}: " if value != whole else ""
        raise CnnCalcError(f"--input {whole}: {where}{reason}; an image is {_order(layout)}, e.g. {example}") from None
    if layout == "chw" and shape.rank:
        values = (*shape.sizes, shape.c)  # read in written order: the channels come first
        shape = Shape.of(values[0], tuple(values[1:]), shape.lead)
    return shape


def _other_order(shape: Shape, layout: str) -> Shape:
    """The same numbers read in the other order (HxWxC <-> CxHxW)."""
    if layout == "chw":
        return Shape.of(shape.sizes[-1], (shape.c, *shape.sizes[:-1]), shape.lead)
    return Shape.of(shape.sizes[0], (*shape.sizes[1:], shape.c), shape.lead)


def _written(shape: Shape, layout: str) -> str:
    return shape.text("chw" if layout == "chw" else "hwc")


def _order_fix(value: str, shape: Shape, layout: str) -> str:
    """How to write `value`'s other reading: in this layout's order, or with the other --layout."""
    other = _other_order(shape, layout)
    flip = "hwc" if layout == "chw" else "chw"
    return f"write --input {_written(other, layout)}, or keep {value} and add --layout {flip}"


def _batch_hint(value: str) -> str:
    values = value.lower().split("x")
    if len(values) == 4 and values[0] == "1":
        return f" (the batch is not written: {'x'.join(values[1:])})"
    return ""


def parse_input_override(text: str | Mapping[str, Any], graph: Graph, layout: str = "hwc") -> dict[str, Shape]:
    """`224x224x3` for a network with one input, or `name=HxWxC` (or a mapping) for several; with `layout="chw"`
    the text is read channels first (3x224x224)."""
    parse = shape_param()[0]
    known = {n.name for n in graph.inputs}
    entries: list[tuple[str | None, Any, str]]
    if isinstance(text, Mapping):
        entries = [(k, _read_shape(v, layout, v) if isinstance(v, str) else v, str(v)) for k, v in text.items()]
    else:
        entries = [(name, shape, value) for name, value, shape in read_input_text(text, layout)]
    shapes = {}
    for name, raw, value in entries:
        if name is None:
            if len(graph.inputs) != 1:
                names = ", ".join(n.name for n in graph.inputs)
                raise CnnCalcError(
                    f"--input {text}: the network has several inputs ({names}); write name={_order(layout)}"
                )
            name = graph.inputs[0].name
        if name not in known:
            raise CnnCalcError(
                f"--input {name}=...: the network has no input named {name!r} (inputs: {', '.join(sorted(known))})"
            )
        try:
            shape = parse(raw)
        except ValueError as exc:
            raise CnnCalcError(f"--input {value}: {exc}") from None
        shapes[name] = shape
        before = next(n for n in graph.inputs if n.name == name).args.get("shape")
        if not isinstance(before, Shape):
            continue
        if before.rank != shape.rank:
            raise CnnCalcError(
                f"--input {value}: the layer {name} takes {_kind(before, layout)}, like {_written(before, layout)}; "
                f"{value} reads as {_kind(shape, layout)}{_batch_hint(value)}"
            )
        if shape.rank and shape.c != before.c and _other_order(shape, layout).c == before.c:
            said = "C x H x W" if layout == "chw" else "H x W x C"
            raise CnnCalcError(
                f"--input {value}: read as {said} that is {shape.c} channels, but {name} takes {before.c} "
                f"({_written(before, layout)}); {_order_fix(value, shape, layout)}"
            )
    return shapes


def _kind(shape: Shape, layout: str = "hwc") -> str:
    if layout == "chw":
        return {
            0: "a vector N",
            1: "CxL (a signal or tokens)",
            2: "CxHxW (an image)",
            3: "CxDxHxW (a volume or video)",
        }[shape.rank]
    return {0: "a vector N", 1: "LxC (a signal or tokens)", 2: "HxWxC (an image)", 3: "DxHxWxC (a volume or video)"}[
        shape.rank
    ]


def load(
    source: str | Path | Graph,
    *,
    input: str | Mapping[str, Any] | None = None,
    bias: bool = True,
    strict: bool = False,
    layout: str = "hwc",
    options: Mapping[str, Any] | None = None,
) -> Model:
    """Read a network and work out its report.

    `source` is a spec file path, spec text, a zoo name or a Graph. `bias=False`
    counts as if no layer had a bias; `strict=True` makes a non-exact output
    size an error; `input` replaces the input shape(s); `options` are a zoo
    model's own settings, e.g. `{"aux": True}` for googlenet.
    """
    if layout not in ("hwc", "chw"):
        raise CnnCalcError(f"layout {layout!r}: use hwc or chw")
    if isinstance(source, str) and _is_python_reference(source):
        return _load_python(source, input, bias=bias, strict=strict, layout=layout)
    if isinstance(source, (str, Path)) and _is_onnx(source):
        from .bridges.onnx_import import graph_from_onnx

        # An ONNX file is read at the size asked for: its initializers fix what a layer holds.
        overrides = input
        if isinstance(input, str):
            overrides = {name: shape for name, _, shape in read_input_text(input, layout)}
        elif isinstance(input, Mapping):
            overrides = {k: _read_shape(v, layout, v) if isinstance(v, str) else v for k, v in input.items()}
        graph = graph_from_onnx(Path(source), overrides)
    else:
        graph = read_graph(source, options)
        if input is not None:
            graph = graph.with_input_shapes(parse_input_override(input, graph, layout))
    settings = Settings(count_biases=bias, layout=layout, strict=strict)
    return Model(graph, analyze(graph, settings))


__all__ = ["Model", "SpecError", "load", "read_graph"]


def _load_python(reference: str, input: Any, *, layout: str = "hwc", **settings: Any) -> Model:
    """`file.py:Name` with an `--input`: text in `layout` order (HxWxC by default, CxHxW with chw) or a PyTorch
    (C, H, W)."""
    from .bridges.torch_import import load_module

    order = _order(layout)
    if input is None:
        raise CnnCalcError(f"{reference}: a PyTorch module needs an input shape: --input {order} (or input= in Python)")
    entries = read_input_text(input, layout) if isinstance(input, str) else []
    module = load_module(reference)
    name = reference.rpartition(":")[2]
    if not entries:
        return from_torch(module, input, name=name, layout=layout, **settings)
    try:
        return from_torch(module, _torch_shapes(entries), name=name, layout=layout, **settings)
    except CnnCalcError as exc:
        raise CnnCalcError(_traced_input_fix(str(exc), module, entries, layout)) from None


def _torch_shapes(entries: list[tuple[str | None, str, Shape]]) -> Any:
    shapes = [(shape.c, *shape.sizes) for _, _, shape in entries]
    named = {key: torch_shape for (key, _, _), torch_shape in zip(entries, shapes, strict=True) if key}
    return named or (shapes[0] if len(shapes) == 1 else shapes)


def _traced_input_fix(message: str, module: Any, entries: list[tuple[str | None, str, Shape]], layout: str) -> str:
    """A failed trace, and the input written the way it works when that is another order or without the batch."""
    from .bridges.torch_import import graph_from_torch

    if len(entries) != 1 or not entries[0][2].rank:
        return message
    key, value, shape = entries[0]
    said = "C x H x W" if layout == "chw" else "H x W x C"
    tries = [(_other_order(shape, layout), _order_fix(value, shape, layout))]
    if shape.rank == 3 and value.lower().startswith("1x"):
        batchless = _read_shape(value[2:], layout, value)
        tries[:0] = [
            (batchless, f"leave out the batch: --input {value[2:]}"),
            (_other_order(batchless, layout), f"leave out the batch: {_order_fix(value[2:], batchless, layout)}"),
        ]
    for candidate, fix in tries:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                graph_from_torch(
                    module, {key: (candidate.c, *candidate.sizes)} if key else (candidate.c, *candidate.sizes)
                )
        except CnnCalcError:
            continue
        return f"--input {value} read as {said} does not fit the module ({message.split(': ', 1)[-1]}); {fix}"
    return f"{_in_order(message, layout)}; --input {value} is read as {said}"


def _in_order(message: str, layout: str) -> str:
    """The tracer's advice in PyTorch's order, e.g. `give (C, H, W), e.g. (3, 32, 32)`, in `--input`'s."""

    def written(match: re.Match[str]) -> str:
        axes = [a.strip() for a in match.group(1).split(",")]
        if layout == "hwc" and axes[0] == "C":
            axes = [*axes[1:], "C"]
        return "give --input " + "x".join(axes)

    return re.sub(r"give \(([A-Z, ]+)\)(, e\.g\. \([\d, ]+\))?", written, message)
