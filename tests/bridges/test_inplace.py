"""Activations that PyTorch runs in place are imported with `inplace=true`; the others without it.

Whether a call writes over its input is PyTorch's own flag, read here from the module (`inplace=True`) or the call
(`F.relu(x, inplace=True)`, `x.relu_()`); the training-memory count reads it (nothing of the input is kept twice).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import cnncalc  # noqa: E402


class Activations(nn.Module):
    """Each activation named by whether PyTorch runs it in place."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.module_inplace = nn.ReLU(inplace=True)
        self.module_not = nn.ReLU()
        self.relu6_inplace = nn.ReLU6(inplace=True)
        self.hardtanh_relu6_inplace = nn.Hardtanh(0.0, 6.0, inplace=True)
        self.silu_not = nn.SiLU()
        self.dropout_inplace = nn.Dropout(0.1, inplace=True)

    def forward(self, x: Any) -> Any:
        x = self.module_not(self.module_inplace(self.conv(x)))
        x = self.hardtanh_relu6_inplace(self.relu6_inplace(x))
        x = self.dropout_inplace(self.silu_not(x))
        x = F.relu(x, inplace=True)  # functional_inplace
        x = F.relu(x)  # functional_not
        x = x.relu_()  # method_inplace
        x = F.silu(x, inplace=True)
        x = F.hardtanh(x, 0.0, 6.0, True)  # relu6, in place by position
        x = F.leaky_relu(x, 0.1, True)
        x = F.elu(x, 1.0, True)
        x = F.gelu(x)  # no in-place form
        return torch.sigmoid(x).sigmoid_()


EXPECTED = [  # (layer, op, runs in place)
    ("module_inplace", "relu", True),
    ("module_not", "relu", False),
    ("relu6_inplace", "relu6", True),
    ("hardtanh_relu6_inplace", "relu6", True),
    ("silu_not", "silu", False),
    ("dropout_inplace", "dropout", True),
    ("relu", "relu", True),
    ("relu_2", "relu", False),
    ("relu_3", "relu", True),
    ("silu", "silu", True),
    ("relu6", "relu6", True),
    ("leaky_relu", "leakyrelu", True),
    ("elu", "elu", True),
    ("gelu", "gelu", False),
    ("sigmoid", "sigmoid", False),
    ("sigmoid_2", "sigmoid", True),
]


def test_inplace_activations_are_marked() -> None:
    got = cnncalc.from_torch(Activations(), (3, 16, 16))
    found = [(n.name, n.op, n.args.get("inplace")) for n in got.graph.nodes if n.op not in ("input", "conv")]
    assert found == EXPECTED
    # the flag changes no figure, and survives the spec written out and read back
    spec = got.to_spec()
    assert re.search(r"^module_inplace: +relu inplace=true$", spec, re.M)
    assert re.search(r"^module_not: +relu$", spec, re.M)
    assert cnncalc.load(spec).graph.node("relu_3").args["inplace"] is True
    assert cnncalc.load(spec).totals == got.totals


def test_an_inplace_activation_on_a_timm_model() -> None:
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        module = timm.create_model("resnet10t", pretrained=False)
    got = cnncalc.from_torch(module, (3, 64, 64))
    relus = [n for n in got.graph.nodes if n.op == "relu"]
    inplace = {(n.name, bool(n.args.get("inplace"))) for n in relus}
    # timm builds its stem's and blocks' ReLUs with inplace=True
    assert relus and all(flag for _, flag in inplace), sorted(inplace)
