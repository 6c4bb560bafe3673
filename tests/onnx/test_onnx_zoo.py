"""Zoo models exported to ONNX by PyTorch and read back: the same figures as their specs, and as PyTorch counts them.

Each model is built in PyTorch (`cnncalc.load(name).to_torch()`), exported once per module with torch.onnx's
TorchScript exporter (`dynamo=False`, which needs no onnxscript) keeping batch norm as it is
(`training=PRESERVE`: the default eval export folds it into the convolutions), and imported. Expected figures:
PyTorch's own parameter and buffer counts of the exported module, and the spec's report, layer for layer (op,
output shape, params, buffers, MACs), as a multiset since ONNX orders branches its own way.

Ops that mean the same are compared as one: `adaptiveavgpool` to 1x1 is ONNX's GlobalAveragePool (`gap`) and to the
size it already has an AveragePool of 1 (`avgpool`); a `conv` with as many groups as channels is `dwconv`. Dropout,
stochastic depth and identity layers are not in an eval export. `nn.ChannelShuffle` has no ONNX export: it is swapped
for ShuffleNet's reshape-transpose-reshape, which the importer must find again.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

import cnncalc  # noqa: E402
from cnncalc.bridges.onnx_import import OnnxImportWarning, read_onnx  # noqa: E402

MODELS = [
    "alexnet", "vgg11", "resnet18", "mobilenet_v2", "squeezenet1_0", "shufflenet_v2_x0_5", "googlenet", "densenet121",
    "efficientnet_b0",
]  # fmt: skip
SAME_OP = {"adaptiveavgpool": "avgpool", "gap": "avgpool", "dwconv": "conv"}
NOT_EXPORTED = {"dropout", "droppath", "identity"}


class Shuffle(torch.nn.Module):
    """ShuffleNet's channel shuffle as torchvision wrote it before nn.ChannelShuffle."""

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: Any) -> Any:
        n, c, h, w = x.shape
        x = x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).contiguous()
        return x.view(n, c, h, w)


def exportable(module: Any) -> Any:
    for name, child in module.named_children():
        if isinstance(child, torch.nn.ChannelShuffle):
            setattr(module, name, Shuffle(child.groups))
        else:
            exportable(child)
    return module


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """name -> (spec model, ONNX path, PyTorch's params, PyTorch's buffers); each exported once."""
    folder = tmp_path_factory.mktemp("onnx_zoo")
    done: dict[str, tuple[cnncalc.Model, Path, int, int]] = {}

    def get(name: str) -> tuple[cnncalc.Model, Path, int, int]:
        if name not in done:
            spec = cnncalc.load(name)
            module = exportable(spec.to_torch()).eval()
            shape = spec.graph.inputs[0].args["shape"]
            path = folder / f"{name}.onnx"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
                torch.onnx.export(module, torch.zeros(1, shape.c, shape.h, shape.w), str(path), dynamo=False,
                                  training=torch.onnx.TrainingMode.PRESERVE)  # fmt: skip
            params = sum(p.numel() for p in module.parameters())
            buffers = sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked"))
            done[name] = (spec, path, params, buffers)
        return done[name]

    return get


def rows(model: cnncalc.Model) -> Counter[tuple[Any, ...]]:
    return Counter(
        (SAME_OP.get(x.op, x.op), x.output.text(), x.params, x.buffers, x.macs)
        for x in model.layers
        if x.op not in NOT_EXPORTED
    )


@pytest.mark.parametrize("name", MODELS)
def test_zoo_model_through_onnx(exported: Any, name: str) -> None:
    spec, path, torch_params, torch_buffers = exported(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = read_onnx(path)
    assert not [str(w.message) for w in caught if issubclass(w.category, OnnxImportWarning)]
    onnx_model = cnncalc.load(found.graph)
    assert (found.params, found.buffers) == (torch_params, torch_buffers)
    got, want = onnx_model.totals, spec.totals
    assert (got.params, got.buffers) == (torch_params, torch_buffers)
    assert (got.params, got.weights, got.biases, got.buffers, got.macs) == (
        want.params, want.weights, want.biases, want.buffers, want.macs,
    )  # fmt: skip
    assert rows(onnx_model) == rows(spec)
    assert not [x.name for x in onnx_model.layers if x.op == "opaque"]
    # Layers with weights keep their names (torch_export writes a dot in a module name as an underscore).
    weighted = {x.name.replace(".", "_") for x in spec.layers if x.params}
    assert weighted == {x.name for x in onnx_model.layers if x.params}


def test_cli_on_an_exported_model(exported: Any, cli) -> None:  # type: ignore[no-untyped-def]
    spec, path, _, _ = exported("resnet18")
    result = cli("show", str(path))
    assert result.returncode == 0, result.stderr
    assert f"params {spec.totals.params:,}" in result.stdout and f"MACs {spec.totals.macs:,}" in result.stdout
