"""Small ONNX graphs written with onnx.helper, for the importer's tests."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
import cnncalc  # noqa: E402
from cnncalc.bridges.onnx_import import OnnxImportWarning, read_onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


class Net:
    """One data input, initializers with random values, nodes in order; the last node's outputs are the outputs."""

    def __init__(self, shape: Any = (1, 3, 8, 8), opset: int = 17, input_name: str = "x") -> None:
        self.opset = opset
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.inputs = [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(shape))]
        self.outputs: list[str] | None = None
        self.rng = np.random.default_rng(0)
        self.count = 0

    def init(self, name: str, dims: Any, value: Any = None, dtype: Any = np.float32) -> str:
        array = np.asarray(value, dtype=dtype) if value is not None else self.rng.standard_normal(dims).astype(dtype)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def ints(self, name: str, values: Any) -> str:
        return self.init(name, None, np.asarray(values, dtype=np.int64), np.int64)

    def node(
        self, op: str, inputs: list[str], outputs: int | list[str] = 1, name: str | None = None, **attrs: Any
    ) -> Any:
        self.count += 1
        label = name if name is not None else f"{op.lower()}{self.count}"
        outs = [f"{label}_out{k}" for k in range(outputs)] if isinstance(outputs, int) else outputs
        self.nodes.append(helper.make_node(op, inputs, outs, name=label, **attrs))
        return outs[0] if len(outs) == 1 else outs

    def model(self) -> Any:
        outs = self.outputs if self.outputs is not None else list(self.nodes[-1].output)
        graph = helper.make_graph(
            self.nodes, "net", self.inputs, [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outs],
            self.inits,
        )  # fmt: skip
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = 8
        try:  # the outputs' shapes, as ONNX works them out (the checker wants them)
            inferred = onnx.shape_inference.infer_shapes(model)
        except Exception:
            return model
        del model.graph.output[:]
        model.graph.output.extend(inferred.graph.output)
        return model

    def save(self, path: Path, check: bool = True) -> Path:
        model = self.model()
        if check:  # the test graphs are valid ONNX, shapes included
            onnx.checker.check_model(model, full_check=True)
        onnx.save(model, str(path))
        return path


def load(path: Path, **kwargs: Any) -> tuple[cnncalc.Model, list[str]]:
    """The model as cnncalc reads it, and the importer's warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = read_onnx(path, **kwargs).graph
    notes = [str(w.message) for w in caught if issubclass(w.category, OnnxImportWarning)]
    return cnncalc.load(graph), notes


def stored_sizes(path: Path, constants: tuple[str, ...] = ()) -> int:
    """Values in the floating-point initializers that some node reads, but for those named as constants (bounds,
    scales, ratios): what params + buffers must add up to."""
    model = onnx.load(str(path))
    read = {i for n in model.graph.node for i in n.input}
    return sum(
        int(np.prod(i.dims))
        for i in model.graph.initializer
        if i.name in read and i.data_type == TensorProto.FLOAT and i.name not in constants
    )


def hwc(layer: Any) -> str:
    return layer.output.text()
