"""`cnncalc.load`: any network in, a Model with the report's figures out."""

from __future__ import annotations

import json
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
    if isinstance(source, Path) or ("\n" not in source and Path(source).is_file()):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CnnCalcError(f"{path}: cannot read it: {exc}") from None
        return parse_spec(text, source=str(path), name=path.stem)
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


def parse_input_override(text: str | Mapping[str, Any], graph: Graph) -> dict[str, Shape]:
    """`224x224x3` for a network with one input, or `name=HxWxC` (or a mapping) for several."""
    parse = shape_param()[0]
    items: dict[str, Any]
    if isinstance(text, Mapping):
        items = dict(text)
    elif "=" in text:
        parts = text.split(",")
        unnamed = [p for p in parts if "=" not in p]
        if unnamed:
            raise CnnCalcError(f"--input {text}: {unnamed[0]!r} has no name; write name=HxWxC for every input")
        items = dict(part.split("=", 1) for part in parts)
    else:
        if len(graph.inputs) != 1:
            names = ", ".join(n.name for n in graph.inputs)
            raise CnnCalcError(f"--input {text}: the network has several inputs ({names}); write name=HxWxC")
        items = {graph.inputs[0].name: text}
    shapes = {}
    known = {n.name for n in graph.inputs}
    for name, value in items.items():
        if name not in known:
            raise CnnCalcError(
                f"--input {name}=...: the network has no input named {name!r} (inputs: {', '.join(sorted(known))})"
            )
        try:
            shapes[name] = parse(value)
        except ValueError as exc:
            raise CnnCalcError(f"--input {value}: {exc}") from None
        before = next(n for n in graph.inputs if n.name == name).args.get("shape")
        if isinstance(before, Shape) and before.rank != shapes[name].rank:
            raise CnnCalcError(
                f"--input {value}: the layer {name} takes {_kind(before)}, like {before.text()}; "
                f"{value} reads as {_kind(shapes[name])}"
            )
    return shapes


def _kind(shape: Shape) -> str:
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
        graph = graph_from_onnx(Path(source), input)
    else:
        graph = read_graph(source, options)
        if input is not None:
            graph = graph.with_input_shapes(parse_input_override(input, graph))
    settings = Settings(count_biases=bias, layout=layout, strict=strict)
    return Model(graph, analyze(graph, settings))


__all__ = ["Model", "SpecError", "load", "read_graph"]


def _load_python(reference: str, input: Any, **settings: Any) -> Model:
    """`file.py:Name` with an `--input`: HxWxC text (as everywhere in cnncalc) or a PyTorch (C, H, W)."""
    from .bridges.torch_import import load_module

    if input is None:
        raise CnnCalcError(f"{reference}: a PyTorch module needs an input shape: --input HxWxC (or input= in Python)")
    module = load_module(reference)
    if isinstance(input, str):
        named: dict[str, tuple[int, ...]] = {}
        shapes = []
        for part in input.split(","):
            key, _, text = part.rpartition("=")
            shape = shape_param()[0](text)
            torch_shape = (shape.c, *shape.sizes)
            shapes.append(torch_shape)
            if key:
                named[key] = torch_shape
        if named and len(named) != len(shapes):
            raise CnnCalcError(f"--input {input}: name every input (name=HxWxC,...) or none")
        input = named or (shapes[0] if len(shapes) == 1 else shapes)
    return from_torch(module, input, name=reference.rpartition(":")[2], **settings)
