"""PyTorch modules written as users write them, exported to ONNX at two opsets and read back.

Expected figures come from PyTorch: `sum(p.numel())` for params, the modules' buffers, FlopCounterMode for MACs
(its FLOPs / 2; it counts convolutions, transposed convolutions and matrix products as cnncalc does), and the output
shape the module gives when run.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from onnx_nets import load  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402, N812
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402


class MobileNetV3Block(nn.Module):
    """Expansion, depthwise 5x5/2, hard-swish, squeeze-and-excitation with a hard-sigmoid gate, projection."""

    def __init__(self) -> None:
        super().__init__()
        self.expand = nn.Conv2d(16, 64, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.act1 = nn.Hardswish()
        self.dw = nn.Conv2d(64, 64, 5, 2, 2, groups=64, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.se1 = nn.Conv2d(64, 16, 1)
        self.se2 = nn.Conv2d(16, 64, 1)
        self.proj = nn.Conv2d(64, 24, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(24)

    def forward(self, x: Any) -> Any:
        x = self.act1(self.bn1(self.expand(x)))
        x = F.hardswish(self.bn2(self.dw(x)))
        gate = F.hardsigmoid(self.se2(F.relu(self.se1(F.adaptive_avg_pool2d(x, 1)))))
        return self.bn3(self.proj(x * gate))


class UNetStep(nn.Module):
    """Down, up with a transposed convolution, skip connection by concatenation."""

    def __init__(self) -> None:
        super().__init__()
        self.d1 = nn.Conv2d(3, 8, 3, padding=1)
        self.d2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.out = nn.Conv2d(16, 2, 1)

    def forward(self, x: Any) -> Any:
        a = F.relu(self.d1(x))
        return self.out(torch.cat([a, self.up(F.relu(self.d2(a)))], 1))


class FeaturePyramidStep(nn.Module):
    """Upsampling by a scale factor and to a size, nearest and bilinear, merged by addition."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, 2, 1)
        self.c2 = nn.Conv2d(8, 8, 3, 2, 1)

    def forward(self, x: Any) -> Any:
        a = self.c1(x)
        b = self.c2(a)
        near = F.interpolate(b, scale_factor=2, mode="nearest")
        return a + near + F.interpolate(b, size=a.shape[-2:], mode="bilinear", align_corners=False)


class TensorFlowPadding(nn.Module):
    """Padding written as F.pad before the convolution and the pooling (asymmetric for the convolution)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, 2)
        self.pool = nn.MaxPool2d(3, 2)

    def forward(self, x: Any) -> Any:
        return self.pool(F.pad(self.conv(F.pad(x, (0, 1, 0, 1))), (1, 1, 1, 1)))


class SplitHead(nn.Module):
    """SiLU, a channel split with torch.chunk, means over H and W, dropout, a linear layer, softmax."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 3)
        self.act = nn.SiLU()
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: Any) -> Any:
        a, b = torch.chunk(self.act(self.conv(x)), 2, dim=1)
        return F.softmax(self.fc(self.drop(a.mean((2, 3)) + b.mean((2, 3)))), dim=1)


class ConvNeXtStep(nn.Module):
    """A depthwise 7x7, LayerNorm over channels in channels-last order, GELU, a PReLU cnncalc has no op for."""

    def __init__(self) -> None:
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.norm = nn.LayerNorm(8)
        self.act = nn.GELU()
        self.prelu = nn.PReLU(8)

    def forward(self, x: Any) -> Any:
        x = self.norm(self.dw(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        return self.prelu(self.act(x))


class DocsExample(nn.Module):
    """The example of docs/onnx.md: padding computed by the exporter, a PReLU after it (ONNX's shapes lost there)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.se = nn.Conv2d(16, 16, 1)
        self.act = nn.PReLU(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: Any) -> Any:
        x = F.hardswish(self.bn(self.stem(F.pad(x, (0, 1, 0, 1)))))
        x = x * torch.sigmoid(self.se(x.mean((2, 3), keepdim=True)))
        x = self.act(self.dw(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# Layers kept opaque, each named in a warning with its op type: PReLU has no cnncalc op.
OPAQUE = {"ConvNeXtStep": {"prelu": 8}, "DocsExample": {"act": 16}}

CASES = [
    (MobileNetV3Block, (16, 32, 32)),
    (UNetStep, (3, 32, 32)),
    (FeaturePyramidStep, (3, 32, 32)),
    (TensorFlowPadding, (3, 33, 33)),
    (SplitHead, (3, 10, 10)),
    (ConvNeXtStep, (8, 9, 9)),
    (DocsExample, (3, 32, 32)),
]


def export(module: nn.Module, shape: tuple[int, ...], path: Path, opset: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.zeros(1, *shape), str(path), dynamo=False, opset_version=opset,
                          training=torch.onnx.TrainingMode.PRESERVE)  # fmt: skip


@pytest.mark.parametrize("opset", [11, 17, 20])
@pytest.mark.parametrize(("cls", "shape"), CASES, ids=[c.__name__ for c, _ in CASES])
def test_module_through_onnx(tmp_path: Path, cls: type, shape: tuple[int, ...], opset: int) -> None:
    module = cls().eval()
    path = tmp_path / f"{cls.__name__}.onnx"
    export(module, shape, path, opset)
    x = torch.zeros(1, *shape)
    with FlopCounterMode(display=False) as counter:
        y = module(x)
    m, notes = load(path)
    assert m.totals.params == sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked"))
    assert m.totals.buffers == buffers
    last = m.layers[-1]
    want = tuple(y.shape[1:]) if y.dim() == 2 else (y.shape[2], y.shape[3], y.shape[1])
    assert tuple(last.output.dims()) == want
    opaque = {x.name: x.params for x in m.layers if x.op == "opaque"}
    for name, params in OPAQUE.get(cls.__name__, {}).items():
        assert opaque.pop(name) == params  # kept, named, its slopes counted
        assert any("PRelu" in n and f"{name}: " in n for n in notes)
    if cls is ConvNeXtStep:
        # LayerNormalization (opset 17) over channels is cnncalc's layernorm; before opset 17 it is written out
        # (ReduceMean over the last axis...), partly kept opaque.
        if opset < 17:
            return
        assert m.layer("norm").op == "layernorm" and m.layer("norm").params == 16
    assert not opaque, notes
    unknown = [x for x in m.layers if x.macs is None]  # an opaque layer's MACs are unknown: PReLU has none
    assert m.totals.macs == counter.get_total_flops() // 2, unknown


def test_tensorflow_padding_is_folded_and_stated(tmp_path: Path) -> None:
    path = tmp_path / "pad.onnx"
    export(TensorFlowPadding().eval(), (3, 33, 33), path, 17)
    m, notes = load(path)
    assert [x.op for x in m.layers] == ["input", "conv", "maxpool"]
    assert [x.output.text() for x in m.layers] == ["33x33x3", "16x16x8", "8x8x8"]  # (34-3)//2+1; (18-3)//2+1
    assert any("asymmetric padding 0,1" in n for n in notes)  # counts exact; the field's start is not


def test_the_docs_example_is_current(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    page = (Path(__file__).parents[2] / "docs" / "onnx.md").read_text(encoding="utf-8")
    shown = page.split("$ cnncalc show model.onnx\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "model.onnx"
    export(DocsExample().eval(), (3, 32, 32), path, 20)
    result = cli("show", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown, "update docs/onnx.md with `cnncalc show model.onnx` of DocsExample"
