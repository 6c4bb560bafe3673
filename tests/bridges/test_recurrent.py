"""The recurrent ops `lstm`, `gru` and `rnn` against nn.LSTM, nn.GRU and nn.RNN: built in the spec, imported, exported.

Every expected figure is PyTorch's own: parameters as `sum(p.numel())` of the module, MACs as `FlopCounterMode` total
FLOPs // 2 for one forward on the meta device (PyTorch runs the recurrence there step by step, one matrix product
per gate block, step and direction), output shapes as the module gives them.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::cnncalc.bridges.torch_import.TorchImportWarning"),
    pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN"),
]


def _module(kind: str, c_in: int, hidden: int, layers: int, bi: bool, bias: bool, extra: str,
            batch_first: bool = True) -> Any:  # fmt: skip
    keys: dict[str, Any] = {"num_layers": layers, "bidirectional": bi, "bias": bias, "batch_first": batch_first}
    if extra == "proj":
        keys["proj_size"] = 3
    if extra == "relu":
        keys["nonlinearity"] = "relu"
    return getattr(nn, kind)(c_in, hidden, **keys)


def _spec_line(kind: str, hidden: int, layers: int, bi: bool, bias: bool, extra: str) -> str:
    keys = [f"layers={layers}"] if layers != 1 else []
    keys += ["bidirectional=true"] if bi else []
    keys += ["bias=false"] if not bias else []
    keys += ["proj=3"] if extra == "proj" else []
    keys += ["act=relu"] if extra == "relu" else []
    return " ".join([kind.lower(), str(hidden), *keys])


def _flops_on_meta(module: Any, x_shape: tuple[int, ...]) -> tuple[int, tuple[int, ...]]:
    module = module.to("meta").requires_grad_(False)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(torch.empty(x_shape, device="meta"))
    first = out[0] if isinstance(out, tuple) else out
    return counter.get_total_flops() // 2, tuple(first.shape)


CONFIGS = [
    (kind, layers, bi, bias, extra)
    for kind, layers, bi, bias, extra in itertools.product(
        ["LSTM", "GRU", "RNN"], [1, 3], [False, True], [True, False], ["", "proj", "relu"]
    )
    if not extra or (extra == "proj" and kind == "LSTM") or (extra == "relu" and kind == "RNN")
]


@pytest.mark.parametrize(("kind", "layers", "bi", "bias", "extra"), CONFIGS)
@pytest.mark.parametrize(("steps", "lead"), [(1, 1), (9, 1), (6, 4)])
def test_spec_op_matches_torch(kind: str, layers: int, bi: bool, bias: bool, extra: str, steps: int,
                               lead: int) -> None:  # fmt: skip
    """`input [R*]LxC` then the layer: params as nn.LSTM/GRU/RNN hold them, MACs as FlopCounterMode counts them with
    the lead axes as the module's batch."""
    line = _spec_line(kind, 7, layers, bi, bias, extra)
    given = f"{lead}*{steps}x5" if lead > 1 else f"{steps}x5"
    layer = cnncalc.load(f"input {given}\n{line}\n").layers[1]
    module = _module(kind, 5, 7, layers, bi, bias, extra)
    params = sum(p.numel() for p in module.parameters())
    macs, out = _flops_on_meta(module, (lead, steps, 5))
    assert layer.params == params
    assert layer.macs == macs
    assert [lead, *layer.output.dims()] == list(out) if lead > 1 else [1, *layer.output.dims()] == list(out)


def test_worked_steps_show_the_formula_with_its_numbers() -> None:
    layer = cnncalc.load("input 4*10x6\nlstm 8 layers=2 bidirectional=true proj=5\n").layer("lstm1")
    lines = [s.plain() for s in layer.steps]
    # Worked by hand: 2*(4*8*(6 + 5) + 5*8) = 784; 1*2*(4*8*(2*5 + 5) + 5*8) = 1,040; 4*10*(784 + 1,040) = 72,960.
    assert lines[0] == "weights, layer 1 = D·(G·H·(I + H_o) + P·H) = 2 · (4 · 8 · (6 + 5) + 5 · 8) = 784"
    assert lines[1].endswith("= (2 - 1) · 2 · (4 · 8 · (2 · 5 + 5) + 5 · 8) = 1,040")
    assert lines[-1] == "MACs (every weight once a step) = B·L·W = 4 · 10 · 1824 = 72,960"
    module = nn.LSTM(6, 8, num_layers=2, bidirectional=True, proj_size=5, batch_first=True)
    assert layer.weights == sum(p.numel() for name, p in module.named_parameters() if "weight" in name)
    assert layer.macs == _flops_on_meta(module, (4, 10, 6))[0]


def test_field_is_global_without_lead_axes() -> None:
    """Every output step depends on every step (bidirectional) or every earlier one: a global field, as attention."""
    model = cnncalc.load("input 50x4\nconv 8 k=3\nlstm 6\nr: gru 4 bidirectional=true\n")
    assert model.layer("conv1").rf is not None and not model.layer("conv1").rf.whole
    for name in ("lstm1", "r"):
        assert model.layer(name).rf is not None and model.layer(name).rf.whole


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("input 8x8x3\nlstm 16", r"lstm reads a sequence of tokens LxC, but its input is 8x8x3: add `reshape 64x3`"),
        ("input 12\ngru 16", r"gru reads a sequence of tokens LxC, but its input is the vector 12: add `reshape 1x12`"),
        ("input 4x5\nlstm 6 proj=6", r"lstm proj=6 must be smaller than the hidden size 6"),
        ("input 4x5\ngru 6 proj=2", r"unknown key 'proj' for gru"),
        ("input 4x5\nrnn 6 act=gelu", r"act=gelu: expected tanh or relu"),
        ("input 4x5\nlstm 6 layers=0", r"layers=0: must be at least 1"),
    ],
)
def test_bad_input_is_one_line(spec: str, message: str) -> None:
    with pytest.raises(CnnCalcError, match=message) as caught:
        cnncalc.load(spec)
    assert "\n" not in str(caught.value)


def test_torch_refuses_proj_as_large_as_hidden() -> None:
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(5, 6, proj_size=6)


# ----------------------------------------------------------------------------- import


class _Wrapped(nn.Module):
    """A conv front, the recurrent layer over the sequence in one of PyTorch's three layouts, a linear head."""

    def __init__(self, rnn: Any, layout: str) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 5, 3, padding=1)
        self.rnn = rnn
        self.layout = layout
        d = 2 if rnn.bidirectional else 1
        self.head = nn.Linear(d * (rnn.proj_size or rnn.hidden_size), 4)

    def forward(self, x: Any) -> Any:
        y = self.conv(x).transpose(1, 2)  # (N, L, C)
        if self.layout == "unbatched":
            y = y[0]
        elif self.layout == "time-major":
            y = torch.cat([y, y], 0).transpose(0, 1)  # (L, 2, C)
        else:
            y = torch.cat([y, y, y], 0)  # (3, L, C)
        return self.head(self.rnn(y)[0])


@pytest.mark.parametrize(("kind", "layers", "bi", "bias", "extra"), [c for c in CONFIGS if c[1] == 3 or c[3]])
@pytest.mark.parametrize("layout", ["batch-first", "time-major", "unbatched"])
def test_import_matches_torch(kind: str, layers: int, bi: bool, bias: bool, extra: str, layout: str) -> None:
    rnn = _module(kind, 5, 7, layers, bi, bias, extra, batch_first=layout == "batch-first")
    net = _Wrapped(rnn, layout)
    params = sum(p.numel() for p in net.parameters())
    model = cnncalc.from_torch(net, (3, 11))
    macs, _ = _flops_on_meta(net, (1, 3, 11))
    assert [layer.op for layer in model.layers if layer.name == "rnn"] == [kind.lower()]
    assert model.totals.params == params
    assert model.totals.macs == macs


class _Packed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.GRU(5, 7, batch_first=True)

    def forward(self, x: Any) -> Any:
        packed = nn.utils.rnn.pack_padded_sequence(x, torch.tensor([x.shape[1]]), batch_first=True)
        return self.rnn(packed)[1]


class _OwnForward(nn.LSTM):
    def forward(self, x: Any) -> Any:  # type: ignore[override]
        return super().forward(x)[0] * 2


class _Stateful(nn.Module):
    """An initial state that a layer computes: left opaque, as what it reads is not only the sequence."""

    def __init__(self) -> None:
        super().__init__()
        self.start = nn.Linear(5, 7)
        self.rnn = nn.RNN(5, 7, batch_first=True)

    def forward(self, x: Any) -> Any:
        return self.rnn(x, self.start(x[:, :1]).transpose(0, 1).contiguous())[0]


@pytest.mark.parametrize("make", [_Packed, lambda: _OwnForward(5, 7, batch_first=True), _Stateful])
def test_unusual_calls_stay_opaque(make: Any) -> None:
    net = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cnncalc.from_torch(net, (4, 5))
    assert model.totals.params == sum(p.numel() for p in net.parameters())
    assert any(layer.op == "opaque" and layer.macs is None for layer in model.layers)


def test_sequencer_imports_exactly() -> None:
    timm = pytest.importorskip("timm")
    with torch.device("meta"):
        net = timm.create_model("sequencer2d_s", pretrained=False).eval()
    model = cnncalc.from_torch(net, (3, 224, 224))
    params = sum(p.numel() for p in net.parameters())
    macs, _ = _flops_on_meta(net, (1, 3, 224, 224))
    assert model.totals.params == params
    assert abs(model.totals.macs - macs) <= 0.001 * macs
    assert not [layer.name for layer in model.layers if layer.op == "opaque"]


# ----------------------------------------------------------------------------- export


@pytest.mark.parametrize(
    "spec",
    [
        "input 12x6\nlstm 8 layers=2 bidirectional=true\nfc 3",
        "input 3*12x6\nlstm 8 proj=4 bias=false\nfc 3",
        "input 2*3*7x6\ngru 5 bidirectional=true\nrnn 4 act=relu layers=2",
        "input 8x8x3\nconv 4 k=3 p=1\nreshape 64x4\nrnn 6\nflatten\nfc 2",
    ],
)
def test_export_runs_and_counts_as_cnncalc(spec: str) -> None:
    model = cnncalc.load(spec)
    net = model.to_torch()
    assert sum(p.numel() for p in net.parameters()) == model.totals.params
    x = model.layers[0].output
    shape = (2, *x.lead, *x.sizes, x.c) if x.rank == 1 else (2, x.c, *x.sizes)
    with torch.no_grad():
        out = net(torch.randn(shape))
    last = model.layers[-1].output
    assert tuple(out.shape)[1:] == (*last.lead, *last.sizes, last.c)
    macs, _ = _flops_on_meta(net, (1, *shape[1:]))
    assert macs == model.totals.macs


# ----------------------------------------------------------------------------- ONNX


class _Exported(nn.Module):
    """A conv front and the recurrent layers batch first or time-major, as torch.onnx.export writes them: one ONNX
    LSTM / GRU / RNN node a layer, read through a Transpose and a Reshape. `last_state` reads h_n instead."""

    def __init__(self, kind: str, batch_first: bool, last_state: bool = False, **keys: Any) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 5, 3, padding=1)
        self.rnn = getattr(nn, kind)(5, 7, batch_first=batch_first, **keys)
        self.batch_first, self.last_state = batch_first, last_state
        self.head = nn.Linear(7 * (2 if keys.get("bidirectional") else 1), 4)

    def forward(self, x: Any) -> Any:
        y = self.conv(x).transpose(1, 2)
        out, state = self.rnn(y if self.batch_first else y.transpose(0, 1))
        if self.last_state:
            return self.head((state[0] if isinstance(state, tuple) else state)[-1])
        return self.head(out if self.batch_first else out.transpose(0, 1))


def _export_and_read(tmp_path: Any, net: Any, opset: int) -> tuple[Any, list[str]]:
    pytest.importorskip("onnx")
    from cnncalc.bridges.onnx_import import OnnxImportWarning, read_onnx

    path = tmp_path / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), torch.zeros(1, 3, 9), str(path), dynamo=False, opset_version=opset)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = read_onnx(path).graph
    return cnncalc.load(graph), [str(w.message) for w in caught if issubclass(w.category, OnnxImportWarning)]


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize(("batch_first", "layers", "bi", "bias", "opset"), [
    (True, 1, False, True, 17), (False, 2, True, True, 11), (True, 2, True, False, 20), (False, 1, False, False, 17),
])  # fmt: skip
def test_onnx_nodes_import_as_the_ops(tmp_path: Any, kind: str, batch_first: bool, layers: int, bi: bool, bias: bool,
                                      opset: int) -> None:  # fmt: skip
    keys = {"num_layers": layers, "bidirectional": bi, "bias": bias}
    net = _Exported(kind, batch_first, **keys)
    model, notes = _export_and_read(tmp_path, net, opset)
    assert [layer.op for layer in model.layers].count(kind.lower()) == layers, notes
    assert not [layer for layer in model.layers if layer.op not in ("input", "conv", kind.lower(), "fc")], notes
    assert model.totals.params == sum(p.numel() for p in net.parameters())
    macs, out = _flops_on_meta(_Exported(kind, batch_first, **keys), (1, 3, 9))
    assert model.totals.macs == macs
    assert model.layers[-1].output.dims() == list(out[1:])


def test_onnx_node_whose_state_is_read_stays_opaque(tmp_path: Any) -> None:
    net = _Exported("GRU", True, last_state=True)
    model, notes = _export_and_read(tmp_path, net, 17)
    assert model.totals.params == sum(p.numel() for p in net.parameters())
    assert any("GRU" in n and "Y_h or Y_c are read" in n for n in notes), notes
