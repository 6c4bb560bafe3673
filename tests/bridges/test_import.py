"""Importing PyTorch modules: `cnncalc.from_torch`, `load_module` and `cnncalc show file.py:Name`.

Expected figures come from PyTorch itself: `sum(p.numel())` for parameters, the modules' buffers, FlopCounterMode for
MACs (FLOPs / 2), the shapes the modules give when run; and, for every zoo model, the zoo's own report, the network
rebuilt in PyTorch by the oracle translator (tests/torch_oracle/translate.py, which builds it from PyTorch layers and
is itself checked against PyTorch) and imported back.
"""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc import zoo  # noqa: E402
from cnncalc.bridges.torch_import import TorchImportWarning, graph_from_torch, load_module  # noqa: E402
from cnncalc.cli import main  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402

HERE = Path(__file__).parent
DATA = HERE / "data"
ORACLE = HERE.parent / "torch_oracle"
if str(ORACLE) not in sys.path:
    sys.path.insert(0, str(ORACLE))

from translate import TORCHVISION_BUILT, translate  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::cnncalc.bridges.torch_import.TorchImportWarning")


# ----------------------------------------------------------------------------- every zoo model, through PyTorch


class Feeds(nn.Module):
    """The oracle's module takes a dict of named inputs; a user's module takes tensors."""

    def __init__(self, net: nn.Module, names: list[str]) -> None:
        super().__init__()
        self.net = net
        self.names = names

    def forward(self, *xs: Any) -> Any:
        return self.net(dict(zip(self.names, xs, strict=True)))


# LeNet-5's RBF output (fixed centres, a buffer) is in no PyTorch layer: the oracle writes it out element-wise,
# ((x - centres) ** 2).sum(-1), which FlopCounterMode does not count and cnncalc imports as opaque layers (MACs
# unknown). Its buffers are counted; its in*out MACs are cnncalc's own figure for the rbf op, not PyTorch's.
OPAQUE_IN_TORCH = {"rbf"}

OTHER_INPUTS: list[tuple[str, dict[str, Any]]] = [
    ("googlenet", {"options": {"aux": True}}),  # auxiliary heads: run only in train mode, found by a second trace
    ("resnet18", {"input": "97x129x3"}),
    ("mobilenet_v3_small", {"input": "193x160x3"}),
    ("shufflenet_v2_x0_5", {"input": "161x161x3"}),
    ("vgg16", {"bias": False}),
    ("convnext_tiny", {"input": "256x192x3"}),
]


def _import_zoo(name: str, **kwargs: Any) -> tuple[Any, Any, Any]:
    model = cnncalc.load(name, **kwargs)
    tr = translate(model.graph, bias=kwargs.get("bias", True))
    shapes = []
    for node in model.graph.inputs:
        s = node.args["shape"]
        shapes.append((s.c, s.h, s.w) if s.spatial else (s.c,))
    module = Feeds(tr.module, [n.name for n in model.graph.inputs])
    got = cnncalc.from_torch(module, shapes[0] if len(shapes) == 1 else shapes, name=name)
    return model, tr, got


def _check_zoo(name: str, **kwargs: Any) -> None:
    model, tr, got = _import_zoo(name, **kwargs)
    torch_only = [x for x in model.layers if x.op in OPAQUE_IN_TORCH]
    want = model.totals
    # Totals: params and buffers exactly; MACs less what PyTorch has no layer for (the rbf).
    assert got.totals.params == want.params == sum(p.numel() for p in tr.module.parameters())
    assert got.totals.buffers == want.buffers
    assert got.totals.macs == want.macs - sum(x.macs or 0 for x in torch_only)
    # Layer by layer: each zoo layer is the oracle's module `net.layers.nK`; a layer the oracle writes as a few calls
    # (a flatten, an add of three inputs) is imported as layers named `net.layers.nK.<call>`, the last one its output.
    mine: dict[str, list[Any]] = {}
    for x in got.layers:
        parts = x.name.split(".")
        if parts[:2] == ["net", "layers"]:
            mine.setdefault(".".join(parts[:3]), []).append(x)
    for layer in model.layers:
        path = f"net.layers.{tr.module.keys[layer.name]}"
        assert path in mine, f"{name}: {layer.name} ({path}) was not imported"
        ours = mine[path]
        assert ours[-1].output == layer.output, (name, layer.name, [x.name for x in ours])
        assert sum(x.params for x in ours) == layer.params, (name, layer.name)
        assert sum(x.buffers for x in ours) == layer.buffers, (name, layer.name)
        assert all(x.aux == layer.aux for x in ours), (name, layer.name)
        if layer.op not in OPAQUE_IN_TORCH:
            assert sum(x.macs or 0 for x in ours) == layer.macs, (name, layer.name)
            assert all(x.op != "opaque" for x in ours), (name, layer.name)
    training_only = getattr(got.report, "training_only", None)
    assert training_only == getattr(model.report, "training_only", None)


@pytest.mark.parametrize("name", [n for n in zoo.names() if n not in TORCHVISION_BUILT])
def test_zoo_model_imports_back_from_torch(name: str) -> None:
    _check_zoo(name)


@pytest.mark.parametrize(("name", "kwargs"), OTHER_INPUTS, ids=[f"{n}-{k}" for n, k in OTHER_INPUTS])
def test_zoo_model_at_other_settings_imports_back(name: str, kwargs: dict[str, Any]) -> None:
    _check_zoo(name, **kwargs)


def test_lenet5_1998_rbf_is_kept_opaque_with_its_buffers() -> None:
    model, _, got = _import_zoo("lenet5_1998")
    rbf = next(x for x in model.layers if x.op == "rbf")
    opaque = [x for x in got.layers if x.op == "opaque"]
    assert opaque and sum(x.buffers for x in opaque) == rbf.buffers == 84 * 10
    assert got.totals.macs == model.totals.macs - rbf.macs


# ----------------------------------------------------------------------------- users' modules


def _load(reference: str) -> nn.Module:
    return load_module(str(DATA / reference))


def _torch_buffers(module: nn.Module) -> int:
    return sum(b.numel() for k, b in module.named_buffers() if not k.endswith("num_batches_tracked"))


class Snapshot:
    """Everything about a module that importing it must leave as it was."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.tensors = {k: (t, t.detach().clone()) for k, t in module.state_dict(keep_vars=True).items()}
        self.params = dict(module.named_parameters())
        self.training = [(m, m.training) for m in module.modules()]
        self.dicts = {id(m): {k: dict(v) for k, v in _hook_dicts(m).items()} for m in module.modules()}

    def assert_unchanged(self) -> None:
        module = self.module
        assert list(module.state_dict(keep_vars=True)) == list(self.tensors)
        for key, tensor in module.state_dict(keep_vars=True).items():
            original, values = self.tensors[key]
            assert tensor is original, key
            assert tensor.device.type == "cpu", key
            assert torch.equal(tensor, values), key
        assert dict(module.named_parameters()) == self.params
        assert [(m, m.training) for m in module.modules()] == self.training
        for m in module.modules():
            assert {k: dict(v) for k, v in _hook_dicts(m).items()} == self.dicts[id(m)], type(m).__name__
        assert not torch.nn.modules.module._global_forward_hooks
        assert not torch.nn.modules.module._global_forward_pre_hooks


def _hook_dicts(m: nn.Module) -> dict[str, Any]:
    names = ["_forward_hooks", "_forward_pre_hooks", "_forward_hooks_with_kwargs", "_forward_pre_hooks_with_kwargs",
             "_forward_hooks_always_called", "_backward_hooks"]  # fmt: skip
    return {n: getattr(m, n) for n in names if hasattr(m, n)}


def _run(module: nn.Module, shape: Any) -> tuple[int, list[list[int]]]:
    """FLOPs / 2 by PyTorch's own counter, and the output shapes (batch dropped), for a fresh copy on the meta
    device (on the CPU, MultiheadAttention's fused path in eval mode counts 0)."""
    shapes = shape if isinstance(shape, list) else [shape]
    module.eval().to("meta")
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = module(*[torch.zeros(1, *s, device="meta") for s in shapes])
    outs = out if isinstance(out, tuple) else (out,)
    return counter.get_total_flops() // 2, [list(o.shape[1:]) for o in outs]


# reference, input shape as PyTorch orders it, whether cnncalc has an op for every inference layer
CASES: list[tuple[str, Any, bool]] = [
    ("resnetish.py:ResNetish", (3, 64, 64), True),
    ("se_net.py:SENet", (3, 32, 32), True),
    ("two_inputs.py:TwoInputs", [(3, 32, 32), (1, 32, 32)], True),
    ("make_net.py:make_net", (3, 32, 32), True),
    ("functional_zoo.py:FunctionalZoo", (3, 32, 32), True),
    ("broken_forward.py:WithSpare", (3, 16, 16), True),  # its spare head is training-only
    ("tied.py:Tied", (32,), True),  # the second use of a shared layer: its MACs again, its params at the first
    ("sequence_heads.py:ConvGRU", (1, 32, 100), True),
    ("sequence_heads.py:ConvGRUPacked", (1, 32, 100), False),
    ("sequence_heads.py:ConvAttention", (3, 32, 32), True),
]


@pytest.mark.parametrize(("reference", "shape", "knows_all"), CASES, ids=[c[0] for c in CASES])
def test_user_module_counts_as_pytorch_does(reference: str, shape: Any, knows_all: bool) -> None:
    module = _load(reference)
    before = Snapshot(module)
    got = cnncalc.from_torch(module, shape)
    before.assert_unchanged()
    assert got.totals.params == sum(p.numel() for p in module.parameters())
    assert got.totals.buffers == _torch_buffers(module)
    assert sum(x.params for x in got.layers) == got.totals.params
    inference = [x for x in got.layers if not x.aux]
    assert all(x.op != "opaque" for x in inference) == knows_all
    macs, out_shapes = _run(_load(reference), shape)
    if knows_all:
        assert got.totals.macs == macs
    else:  # the opaque layers' MACs are unknown, never counted as 0: the known ones are a part
        assert all(x.macs is None for x in inference if x.op == "opaque")
        # (<=: FlopCounterMode counts nothing for MultiheadAttention in eval mode, PyTorch's fused fast path)
        assert got.totals.macs <= macs
    outputs = [x for x in got.layers if x.name in {n.name for n in got.graph.outputs} and not x.aux]
    assert [x.output.dims("chw") for x in outputs] == out_shapes


def test_residual_net_layers_and_names() -> None:
    got = cnncalc.from_torch(_load("resnetish.py:ResNetish"), (3, 64, 64))
    layer = got.layer
    assert layer("layer1.0.conv1").op == "conv" and layer("layer1.0.bn1").buffers == 2 * 16
    # out = F.relu(out + self.shortcut(x)): an add of the block's branch and its shortcut, then a relu
    assert layer("layer1.0.add").inputs == ["layer1.0.bn2", "layer1.0.shortcut"]
    assert layer("layer2.0.add").inputs == ["layer2.0.bn2", "layer2.0.shortcut.1"]
    assert layer("layer2.0.shortcut.0").output.dims("chw") == [32, 32, 32]
    assert layer("layer1.0.relu_2").inputs == ["layer1.0.add"]
    assert layer("pool").op == "gap" and layer("flatten").op == "flatten" and layer("fc").inputs == ["flatten"]
    assert len([x for x in got.layers if x.op == "add"]) == 6
    # The names are the spec's: the report turns into a spec that reads back to the same figures.
    again = cnncalc.load(got.to_spec())
    assert again.totals == got.totals


def test_squeeze_and_excitation_gate() -> None:
    got = cnncalc.from_torch(_load("se_net.py:SENet"), (3, 32, 32))
    assert got.layer("se1.mean").op == "gap" and got.layer("se1.mean").output.dims() == [1, 1, 32]
    mul = got.layer("se1.mul")
    assert mul.op == "mul" and mul.inputs == ["silu", "se1.sigmoid"] and mul.output.dims() == [16, 16, 32]
    assert got.layer("conv2").op == "dwconv"  # groups = in channels, two filters each (m=2)
    assert got.layer("mean").op == "gap" and got.layer("flatten").output.dims() == [64]


def test_two_inputs_by_position_or_by_name() -> None:
    module = _load("two_inputs.py:TwoInputs")
    by_position = cnncalc.from_torch(module, [(3, 32, 32), (1, 32, 32)])
    by_name = cnncalc.from_torch(module, {"depth": (1, 32, 32), "img": (3, 32, 32)})
    for got in (by_position, by_name):
        assert sorted(n.name for n in got.graph.inputs) == ["depth", "img"]
        assert got.layer("cat").op == "concat" and got.layer("cat").inputs == ["rgb.1", "depth.1"]
        assert got.layer("pool").output.dims() == [16, 16, 32]  # ceil mode
    assert by_position.totals == by_name.totals


def test_tied_weights_count_once() -> None:
    module = _load("tied.py:Tied")
    with pytest.warns(TorchImportWarning, match=r"middle_2: .*shared with an earlier layer"):
        got = cnncalc.from_torch(module, (32,))
    assert got.totals.params == sum(p.numel() for p in module.parameters()) == 528 + 272 + 272
    assert got.layer("encode").params == 528 and got.layer("middle").params == 272
    assert got.layer("middle_2").params == 0 and got.layer("skip").params == 0  # skip.weight is encode.weight


@pytest.mark.parametrize(
    ("reference", "layer", "what"),
    [("sequence_heads.py:ConvGRUPacked", "rnn", "torch.nn.GRU")],
)  # fmt: skip
def test_unknown_module_is_opaque_with_its_params(reference: str, layer: str, what: str) -> None:
    module = _load(reference)
    with pytest.warns(TorchImportWarning, match=rf"^{layer}: {what} kept as an opaque layer .*packed sequence"):
        got = cnncalc.from_torch(module, (1, 32, 100) if layer == "rnn" else (3, 32, 32))
    found = got.layer(layer)
    own = sum(p.numel() for p in getattr(module, layer).parameters())
    assert found.op == "opaque" and found.params == own > 0 and found.macs is None
    assert any(what in w for w in found.warnings)
    assert got.graph.node(layer).args["what"] == what


def test_function_returning_a_sequential() -> None:
    got = cnncalc.from_torch(_load("make_net.py:make_net"), (3, 32, 32))
    ops = [x.op for x in got.layers]
    assert ops == ["input", "conv", "bn", "relu6", "avgpool", "conv", "leakyrelu", "dropout", "flatten", "fc",
                   "softmax"]  # fmt: skip
    assert got.layers[1].name == "sequential.0"  # "0" alone is not a usable layer name
    assert got.layer("sequential.4").output.dims() == [14, 14, 16]  # padding="same"
    assert cnncalc.load(got.to_spec()).totals == got.totals


def test_calls_in_forward_become_cnncalc_ops() -> None:
    got = cnncalc.from_torch(_load("functional_zoo.py:FunctionalZoo"), (3, 32, 32))
    layer = got.layer
    assert layer("own").op == "conv" and layer("own").params == 16 * 3 * 9 + 16  # F.conv2d on its own Parameters
    assert layer("max_pool2d").op == "maxpool" and layer("avg_pool2d").op == "avgpool"
    assert {layer("shuffle.chunk").op, layer("shuffle.chunk_2").op} == {"slice"}
    assert layer("shuffle.shuffle").op == "shuffle"  # view, transpose, view back: ShuffleNet's channel shuffle
    # ConvNeXt's channels-last block: the permutes vanish, LayerNorm and the Linears work per position
    assert layer("block.norm").op == "layernorm" and layer("block.norm").params == 32
    assert layer("block.pwconv1").op == "conv" and layer("block.pwconv1").output.dims() == [16, 16, 64]
    assert layer("block.mul").op == "scale" and layer("block.mul").params == 16  # gamma * y
    assert layer("block.add").inputs == ["shuffle.shuffle", "block.mul"]
    assert layer("interpolate").op == "upsample" and layer("up").op == "convT"
    assert layer("slice").op == "slice" and layer("adaptive_avg_pool2d").output.dims() == [4, 4, 4]


def test_parameters_no_layer_used_are_counted_apart() -> None:
    module = _load("broken_forward.py:WithSpare")
    with pytest.warns(TorchImportWarning, match=r"spare: 1,100 params and 200 buffers .* not used"):
        got = cnncalc.from_torch(module, (3, 16, 16))
    spare = got.layer("spare")
    assert spare.op == "opaque" and spare.aux and (spare.params, spare.buffers) == (8 * 100 + 100 + 200, 200)
    assert got.totals.params == sum(p.numel() for p in module.parameters())
    assert got.totals.macs == got.layer("conv").macs  # the spare head costs nothing at inference


def test_module_itself_a_layer_and_vectors() -> None:
    got = cnncalc.from_torch(nn.Conv2d(3, 8, 3, stride=2), (3, 9, 9))
    assert [x.op for x in got.layers] == ["input", "conv"] and got.layers[1].output.dims() == [4, 4, 8]
    got = cnncalc.from_torch(nn.Sequential(nn.Linear(20, 30), nn.BatchNorm1d(30), nn.GELU()), (20,))
    assert [x.op for x in got.layers] == ["input", "fc", "bn", "gelu"] and got.totals.buffers == 60


def test_module_in_train_mode_is_traced_in_eval_and_left_in_train() -> None:
    module = _load("resnetish.py:ResNetish")
    assert module.training
    before = Snapshot(module)
    got = cnncalc.from_torch(module, (3, 32, 32))
    before.assert_unchanged()
    assert all(m.training for m in module.modules())
    assert not any(x.aux for x in got.layers)


@pytest.mark.parametrize("bad", ["x", [], {}, (0, 8, 8), (3.0, 8, 8), [(3, 8, 8), "bad"], (1, 2, 3, 4), None])
def test_bad_input_shapes(bad: Any) -> None:
    with pytest.raises(CnnCalcError, match=r"input shape"):
        graph_from_torch(nn.Conv2d(3, 8, 3), bad)


def test_not_a_module() -> None:
    with pytest.raises(CnnCalcError, match=r"is not a torch\.nn\.Module"):
        graph_from_torch(lambda x: x, (3, 8, 8))


def test_tracing_errors_name_the_layer() -> None:
    module = _load("resnetish.py:ResNetish")
    before = Snapshot(module)
    with pytest.raises(CnnCalcError, match=r"^ResNetish: tracing failed in stem\.0 \(torch\.nn\.Conv2d\): RuntimeErr"):
        cnncalc.from_torch(module, (1, 32, 32))
    before.assert_unchanged()
    with pytest.raises(CnnCalcError, match=r"tracing failed in the forward of DataDependent: .*meta"):
        cnncalc.from_torch(_load("broken_forward.py:DataDependent"), (3, 16, 16))


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("nope.py:Net", r"nope\.py: no such file"),
        ("make_net.py:Nope", r"make_net\.py has no Nope \(it defines .*make_net"),
        ("make_net.py:GREETING", r"GREETING is a str, not an nn\.Module class or a function returning one"),
        ("make_net.py:make_number", r"make_number\(\) returned 'int', not a torch\.nn\.Module"),
        ("make_net.py:NeedsArguments", r"NeedsArguments\(\) needs arguments \(width, depth\)"),
        ("make_net.py:Broken", r"Broken\(\) failed: RuntimeError: this model cannot be built today"),
        ("make_net.py:NotAModule", r"NotAModule is a class but not a torch\.nn\.Module"),
        ("make_net.py", r"expected path/to/file\.py:Name"),
    ],
)
def test_load_module_errors(reference: str, message: str) -> None:
    with pytest.raises(CnnCalcError, match=message):
        load_module(str(DATA / reference))


def test_load_module_leaves_no_module_behind() -> None:
    before = set(sys.modules)
    path_before = list(sys.path)
    module = load_module(str(DATA / "make_net.py:make_net"))
    assert isinstance(module, nn.Sequential)
    assert not {m for m in set(sys.modules) - before if "make_net" in m}
    assert sys.path == path_before


def test_syntax_error_in_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.py"
    bad.write_text("from torch import nn\n\nclass Net(nn.Module:\n    pass\n")
    with pytest.raises(CnnCalcError, match=r"broken\.py: cannot import it \(line 3\): SyntaxError"):
        load_module(f"{bad}:Net")


# ----------------------------------------------------------------------------- the command line


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cnncalc.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_cli_show_python_file_as_json() -> None:
    import json

    # Several processes at once: each spends seconds importing torch.
    good = _cli("show", str(DATA / "resnetish.py:ResNetish"), "--input", "64x64x3", "--format", "json")
    bad = {
        "nope.py:Net": _cli("show", str(DATA / "nope.py:Net"), "--input", "8x8x3"),
        "wrong input": _cli("show", str(DATA / "resnetish.py:ResNetish"), "--input", "64x64x1"),
    }
    out, err = good.communicate(timeout=300)
    assert good.returncode == 0, err
    report = json.loads(out)
    module = _load("resnetish.py:ResNetish")
    assert report["model"] == "ResNetish"
    assert report["input"] == [64, 64, 3]
    assert report["totals"]["params"] == sum(p.numel() for p in module.parameters())
    assert report["totals"]["macs"] == _run(module, (3, 64, 64))[0]
    names = [x["name"] for x in report["layers"]]
    assert names[:3] == ["input", "stem.0", "stem.1"] and "layer3.1.add" in names
    expected = {"nope.py:Net": "nope.py: no such file", "wrong input": "tracing failed in stem.0 (torch.nn.Conv2d)"}
    for what, proc in bad.items():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 2, (what, err)
        assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err, (what, err)
        assert expected[what] in err


@pytest.mark.parametrize(
    ("reference", "extra", "message"),
    [
        ("make_net.py:Nope", [], "has no Nope"),
        ("make_net.py:GREETING", [], "not an nn.Module class"),
        ("make_net.py:NeedsArguments", [], "needs arguments (width, depth)"),
        ("make_net.py:Broken", [], "Broken() failed"),
        ("broken_forward.py:DataDependent", [], "tracing failed"),
        ("resnetish.py:ResNetish", ["--input", "64x64x1"], "tracing failed in stem.0 (torch.nn.Conv2d)"),
        ("resnetish.py:ResNetish", None, "needs an input shape"),
    ],
)
def test_cli_bad_references_exit_2_with_one_line(reference: str, extra: list[str] | None, message: str) -> None:
    args = ["show", str(DATA / reference), *(["--input", "32x32x3"] if extra == [] else extra or [])]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert result.stdout == ""


def test_warnings_are_python_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cnncalc.from_torch(_load("sequence_heads.py:ConvGRUPacked"), (1, 32, 100))
    messages = [str(w.message) for w in caught if issubclass(w.category, TorchImportWarning)]
    # packing the sequence is a call cnncalc has no op for either: one warning each
    assert messages[0].startswith("pack_padded_sequence: cnncalc has no op for torch._pack_padded_sequence")
    assert messages[-1].startswith("rnn: torch.nn.GRU kept as an opaque layer (15,552 params, MACs unknown): ")


def test_load_python_reference_from_python_and_cli() -> None:
    model = cnncalc.load(f"{DATA / 'make_net.py'}:make_net", input="32x32x3")
    assert model.name == "make_net"
    assert model.totals.params == sum(p.numel() for p in _load("make_net.py:make_net").parameters())
    # Two forward arguments, in the order the forward takes them (HxWxC, as everywhere in cnncalc).
    args = ["show", f"{DATA / 'two_inputs.py'}:TwoInputs", "--input", "img=32x32x3,depth=32x32x1", "--format", "csv"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "cat" in result.stdout and "16x16x32" in result.stdout
