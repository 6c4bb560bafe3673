"""`cnncalc memory` worked by hand: the inference peak through a chain, a residual block, an inception-like concat
and two heads; the dtype, batch and optimizer factors; bad input."""

from __future__ import annotations

import json

import pytest

import cnncalc
from cnncalc.errors import CnnCalcError
from cnncalc.teach.memory import estimate

# Values per sample of each tensor are written beside each layer; fp32 is 4 bytes a value.

CHAIN = """
input 8x8x3            # 192
conv1: conv 8 k=3 p=1  # 8·8·8 = 512; params 3·3·3·8 + 8 = 224
relu1: relu            # 512
pool1: maxpool k=2     # 4·4·8 = 128
flat: flatten          # 128
fc1: fc 10             # 10; params 128·10 + 10 = 1290
"""


def test_chain() -> None:
    # Walk (alive while each layer runs, then what is freed):
    #   input {input} 192; conv1 {input, conv1} 704, frees input; relu1 {conv1, relu1} 1024, frees conv1;
    #   pool1 {relu1, pool1} 640; flat {pool1, flat} 256; fc1 {flat, fc1} 138.
    m = estimate(cnncalc.load(CHAIN))
    live = {x.name: x.live_bytes for x in m.layers}
    assert live == {
        "input": 192 * 4,
        "conv1": 704 * 4,
        "relu1": 1024 * 4,
        "pool1": 640 * 4,
        "flat": 256 * 4,
        "fc1": 138 * 4,
    }
    assert m.peak.value == 1024 * 4
    assert m.peak_layer == "relu1" and set(m.peak_alive) == {"conv1", "relu1"}
    assert m.weights.value == (224 + 1290) * 4
    assert m.inference_total.value == (224 + 1290) * 4 + 1024 * 4
    assert {x.name: x.freed for x in m.layers}["conv1"] == ("input",)


RESIDUAL = """
input 8x8x16           # 1024
a: conv 16 k=3 p=1     # 1024
r: relu                # 1024
b: conv 16 k=3 p=1     # 1024
out: add from=input,b  # 1024
"""


def test_residual_block_keeps_its_input_alive() -> None:
    # input {input} 1024; a {input, a} 2048; r {input, a, r} 3072, frees a; b {input, r, b} 3072, frees r;
    # out {input, b, out} 3072, frees input and b. Without the skip the input would go after a: a peak of 2048.
    m = estimate(cnncalc.load(RESIDUAL))
    rows = {x.name: x for x in m.layers}
    assert m.alive_at("b") == ("input", "r", "b") and rows["b"].alive_count == 3
    assert rows["out"].freed == ("input", "b")
    assert m.peak.value == 3072 * 4
    plain = estimate(cnncalc.load(RESIDUAL.replace("out: add from=input,b", "")))
    assert plain.peak.value == 2048 * 4


INCEPTION = """
input 8x8x16                         # 1024
b1: conv 8 k=1 from=input            # 512
b2: conv 8 k=3 p=1 from=input        # 512
b3: maxpool k=3 s=1 p=1 from=input   # 1024
cat: concat from=b1,b2,b3            # 8·8·32 = 2048
"""


def test_inception_like_concat() -> None:
    # input 1024; b1 {input, b1} 1536; b2 {input, b1, b2} 2048; b3 {input, b1, b2, b3} 3072, frees input;
    # cat {b1, b2, b3, cat} 512 + 512 + 1024 + 2048 = 4096: the peak, where every branch waits for the concat.
    m = estimate(cnncalc.load(INCEPTION), batch=2)
    live = [x.live_bytes for x in m.layers]
    assert live == [2 * 4 * v for v in (1024, 1536, 2048, 3072, 4096)]
    assert m.peak_layer == "cat" and m.peak.value == 2 * 4096 * 4


TWO_HEADS = """
input 4x4x2          # 32
flat: flatten        # 32
h1: fc 64 from=flat  # 64, an output
h2: fc 8 from=flat   # 8, an output
"""


def test_outputs_stay_alive() -> None:
    # input 32; flat {input, flat} 64, frees input; h1 {flat, h1} 96; h2 {flat, h1, h2} 104: h1 is an output
    # of the network and stays, flat goes after h2.
    m = estimate(cnncalc.load(TWO_HEADS))
    assert m.peak_layer == "h2" and m.peak.value == 104 * 4
    assert {x.name: x.freed for x in m.layers}["h2"] == ("flat",)


def test_dtype_batch_and_optimizer_factors() -> None:
    model = cnncalc.load(CHAIN)
    params, values = 224 + 1290, 192 + 512 + 512 + 128 + 128 + 10
    for dtype, size in (("fp32", 4), ("fp16", 2), ("bf16", 2), ("int8", 1)):
        m = estimate(model, batch=32, dtype=dtype)
        assert m.weights.value == params * size  # stored once, whatever the batch
        assert m.peak.value == 32 * 1024 * size
        assert m.outputs.value == 32 * values * size
    # Kept for the backward pass (PyTorch's derivatives.yaml): conv1 its input (192), relu1 its output (512; conv1's
    # output is not needed), pool1 its input (relu1's, counted once) and int64 indices (128 at 8 bytes), flat
    # nothing (a view), fc1 its input (the pooled map under the view: 128).
    saved = 192 + 512 + 128
    for optimizer, n in (("sgd", 0), ("momentum", 1), ("adam", 2)):
        m = estimate(model, batch=8, dtype="bf16", optimizer=optimizer, training=True)
        assert m.gradients.value == params * 2
        assert m.optimizer_state.value == n * params * 2
        assert m.activations.value == 8 * (saved * 2 + 128 * 8)
        assert m.training_total.value == params * 2 * (2 + n) + 8 * (saved * 2 + 128 * 8)


def test_buffers_count_as_weights_not_gradients() -> None:
    # bn on 8 channels: gamma, beta learnt (16), running mean and variance buffers (16).
    m = estimate(cnncalc.load("input 4x4x8\nbn"), training=True, optimizer="adam")
    assert m.weights.value == (16 + 16) * 4
    assert m.gradients.value == 16 * 4
    assert m.optimizer_state.value == 2 * 16 * 4


def test_errors_from_python() -> None:
    model = cnncalc.load(CHAIN)
    with pytest.raises(CnnCalcError, match="int8"):
        estimate(model, dtype="int8", training=True)
    with pytest.raises(CnnCalcError, match="batch"):
        estimate(model, batch=0)
    with pytest.raises(CnnCalcError, match="optimizer"):
        estimate(model, optimizer="rmsprop")


def test_cli_table_json_md(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = tmp_path / "res.cnn"
    spec.write_text(RESIDUAL, encoding="utf-8")
    table = cli("memory", str(spec), "--batch", "32", "--optimizer", "adam")
    assert table.returncode == 0, table.stderr
    # Peak: 32 samples · 3072 values · 4 bytes = 393,216 B; params 2·(3·3·16·16 + 16) = 4,640.
    assert "32·3,072·4 = 393,216 B (384.0 KiB)" in table.stdout
    assert "2·4,640·4 = 37,120 B" in table.stdout
    data = json.loads(cli("memory", str(spec), "--training", "--format", "json").stdout)
    assert data["totals"]["inference_peak"]["bytes"] == 3072 * 4
    assert data["totals"]["gradients"]["bytes"] == 4640 * 4
    assert data["peak"]["layer"] == "r"
    md = cli("memory", "-", "--format", "md", stdin=RESIDUAL)
    assert md.returncode == 0 and "| layer |" in md.stdout
    assert cli("memory", "resnet18", "--input", "64x64x3").returncode == 0


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["nosuchnet"], "nosuchnet"),
        (["resnet18", "--batch", "0"], "'--batch': 0"),
        (["resnet18", "--dtype", "int8", "--training"], "int8"),
        (["resnet18", "--dtype", "fp64"], "fp64"),
        (["resnet18", "--input", "12x12"], "--input"),
        (["resnet18", "--optimizer", "lion"], "lion"),
        (["resnet18", "--amp", "bf16", "--dtype", "fp16"], "--amp bf16"),
        (["resnet18", "--amp", "fp8"], "fp8"),
        (["resnet18", "--fit", "lots"], "--fit 'lots'"),
        (["resnet18", "--fit", "h100,tpu"], "--fit 'tpu'"),
        (["resnet18", "--checkpoint", "often"], "--checkpoint often"),
        (["lenet5", "--checkpoint", "stage"], "no stages"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args: list[str], phrase: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("memory", *args)
    assert result.returncode == 2
    assert phrase in result.stderr
    assert "Traceback" not in result.stderr


def test_fit_answers_on_one_screen(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("memory", "resnet50", "--training", "--optimizer", "adam", "--amp", "fp16", "--fit", "24GiB")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) <= 24
    assert "--fit 24GiB (25,769,803,776 B): largest batch" in result.stdout
    table = cli("memory", "resnet50", "--optimizer", "adam", "--fit", "h100,a100-40gb,rtx4090,t4").stdout
    for device in ("h100", "a100-40gb", "rtx4090", "t4"):
        assert device in table
    assert "data sheet" in table
    data = json.loads(cli("memory", "resnet18", "--optimizer", "sgd", "--fit", "t4", "--format", "json").stdout)
    row = data["fit"][0]
    assert row["capacity_bytes"] == 16 * 2**30 and row["bytes"] <= row["capacity_bytes"] < row["next_batch_bytes"]
