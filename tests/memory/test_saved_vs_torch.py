"""Saved activations of `cnncalc memory --training` against what PyTorch's autograd really keeps: the bytes of the
distinct non-parameter storages `torch.autograd.graph.saved_tensors_hooks` sees in one training-mode forward of the
torchvision model (FakeTensors on the CPU), batch 2, in fp32 and under `torch.autocast("cpu", dtype=torch.bfloat16)`.
A representative set runs here; `bench/bench_memory.py` sweeps every zoo model and torchvision classifier."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

import cnncalc  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402
from cnncalc.teach.memory import estimate  # noqa: E402

from .torch_memory import saved_bytes  # noqa: E402
from .unet import UNet, unet_spec  # noqa: E402

# Zoo name -> torchvision builder options that give the same network.
ZOO = {
    "resnet50": {},
    "densenet121": {},
    "mobilenet_v2": {},
    "efficientnet_b0": {},
    "convnext_tiny": {},
    "vit_b_16": {},
    "inception_v3": {"aux_logits": True, "init_weights": False},
    "swin_t": {},
    "swin_v2_t": {},  # cosine attention: F.normalize keeps its input and two norms, the products keep its outputs
    "regnet_y_400mf": {},
}


def _shape(model: cnncalc.Model) -> tuple[int, ...]:
    x = model.layers[0].output
    return (x.c, *x.sizes)


@pytest.mark.parametrize("amp", [None, "bf16"])
@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_saved_activations_within_3_percent(name: str, amp: str | None) -> None:
    model = cnncalc.load(name)
    ours = estimate(model, batch=2, training=True, amp=amp).activations.value
    theirs = saved_bytes(lambda: getattr(torchvision.models, name)(**ZOO[name]), _shape(model), amp=_amp(amp))
    assert ours == pytest.approx(theirs, rel=0.03)


@pytest.mark.parametrize("amp", [None, "bf16"])
@pytest.mark.parametrize("name", ["mvit_v1_b", "mvit_v2_s", "s3d"])
def test_video_zoo_saved_activations_within_3_percent(name: str, amp: str | None) -> None:
    # MViT writes its attention out (the softmax kept), copies tokens into grids for pooling and queries for the
    # relative-position einsums; S3D pools volumes, which CPU autocast runs in fp32.
    model = cnncalc.load(name)
    ours = estimate(model, batch=2, training=True, amp=amp).activations.value
    theirs = saved_bytes(getattr(torchvision.models.video, name), _shape(model), amp=_amp(amp))
    assert ours == pytest.approx(theirs, rel=0.03)


def _amp(amp: str | None) -> torch.dtype | None:
    return {"bf16": torch.bfloat16, "fp16": torch.float16, None: None}[amp]


@pytest.mark.parametrize("amp", [None, "bf16"])
@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0", "densenet121", "swin_v2_t"])
def test_from_torch_saved_activations_within_3_percent(name: str, amp: str | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cnncalc.from_torch(getattr(torchvision.models, name)(), (3, 224, 224))
    ours = estimate(model, batch=2, training=True, amp=amp).activations.value
    theirs = saved_bytes(getattr(torchvision.models, name), (3, 224, 224), amp=_amp(amp))
    assert ours == pytest.approx(theirs, rel=0.03)


@pytest.mark.parametrize("amp", [None, "bf16"])
def test_unet_with_inplace_relus(amp: str | None) -> None:
    theirs = saved_bytes(UNet, (3, 128, 128), amp=_amp(amp))
    for model in (cnncalc.load(unet_spec()), cnncalc.from_torch(UNet(), (3, 128, 128))):
        assert estimate(model, batch=2, training=True, amp=amp).activations.value == pytest.approx(theirs, rel=0.03)


def test_inplace_relu_after_bn_keeps_nothing_more() -> None:
    # conv -> bn -> relu: the BN keeps the conv output; an in-place ReLU keeps its result, which is the BN output's
    # storage, also what the next conv keeps. Out of place the ReLU output is a third tensor, but then nobody keeps
    # the BN output: the same bytes. What differs is the step: the in-place net never holds both at once.
    class Net(torch.nn.Module):
        def __init__(self, inplace: bool) -> None:
            super().__init__()
            self.c1, self.bn, self.c2 = torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Conv2d(8, 8, 3)
            self.act = torch.nn.ReLU(inplace=inplace)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.c2(self.act(self.bn(self.c1(x))))

    for inplace in (False, True):
        spec = f"input 16x16x3\nconv 8 k=3\nbn\nrelu inplace={str(inplace).lower()}\nconv 8 k=3"
        ours = estimate(cnncalc.load(spec), batch=2, training=True).activations.value
        assert ours == saved_bytes(lambda inplace=inplace: Net(inplace), (3, 16, 16))


@pytest.mark.parametrize("amp", [None, "bf16"])
def test_volume_pooling_under_autocast(amp: str | None) -> None:
    # CPU autocast runs max_pool3d, avg_pool3d and adaptive_avg_pool3d in fp32: each casts its bf16 input up (a copy
    # the pool keeps), and what follows gets fp32 until the next product casts it down again.
    nn = torch.nn

    def make() -> torch.nn.Module:
        return nn.Sequential(
            nn.Conv3d(3, 8, 3, padding=1), nn.BatchNorm3d(8), nn.ReLU(inplace=True), nn.MaxPool3d(2),
            nn.Conv3d(8, 8, 3, padding=1), nn.AvgPool3d(2), nn.Conv3d(8, 16, 1), nn.AdaptiveAvgPool3d(1),
            nn.Flatten(), nn.Linear(16, 10),
        )  # fmt: skip

    spec = (
        "input 8x16x16x3\nconv 8 k=3 p=1\nbn\nrelu inplace=true\nmaxpool k=2\nconv 8 k=3 p=1\navgpool k=2\n"
        "conv 16 k=1\ngap\nflatten\nfc 10\n"
    )
    theirs = saved_bytes(make, (3, 8, 16, 16), amp=_amp(amp))
    for model in (cnncalc.load(spec), cnncalc.from_torch(make(), (3, 8, 16, 16))):
        assert estimate(model, batch=2, training=True, amp=amp).activations.value == pytest.approx(theirs, rel=0.03)


class _Recurrent(torch.nn.Module):
    """fc, then nn.GRU / nn.RNN / nn.LSTM (with proj_size) batch first over each of `lead` sequences, then fc: as the
    export writes `[lead*]LxC` (lead axes folded into the batch)."""

    def __init__(self, kind: str, lead: int, **keys: object) -> None:
        super().__init__()
        nn = torch.nn
        self.fc = nn.Linear(4, 6)
        self.rnn = getattr(nn, kind)(6, 8, batch_first=True, **keys)
        width = (keys.get("proj_size") or 8) * (2 if keys.get("bidirectional") else 1)
        self.head = nn.Linear(width, 3)  # type: ignore[arg-type]
        self.lead = lead

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        y = self.rnn(y.flatten(0, 1) if self.lead else y)[0]
        return self.head(y.unflatten(0, (-1, self.lead)) if self.lead else y)


RECURRENT = [
    (kind, keys)
    for kind, extra in (("GRU", {}), ("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("LSTM", {"proj_size": 3}))
    for keys in ({**extra}, {**extra, "num_layers": 2, "bidirectional": True}, {**extra, "num_layers": 3})
]


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
@pytest.mark.parametrize(("kind", "keys"), RECURRENT)
@pytest.mark.parametrize(("lead", "steps"), [(0, 1), (0, 7), (3, 5)])
@pytest.mark.parametrize("batch", [2, 3])
def test_recurrent_saved_exactly(kind: str, keys: dict[str, object], lead: int, steps: int, batch: int) -> None:
    # Run step by step by ATen's RNN.cpp (composite): per layer, direction and step the gates and states, the
    # initial state, each inner layer's output, and the input (a time-major copy per direction over more than one
    # step, batch first).
    words = [f"layers={keys['num_layers']}"] if "num_layers" in keys else []
    words += ["bidirectional=true"] if keys.get("bidirectional") else []
    words += [f"proj={keys['proj_size']}"] if "proj_size" in keys else []
    words += [f"act={keys['nonlinearity']}"] if "nonlinearity" in keys else []
    given = f"{lead}*{steps}x4" if lead else f"{steps}x4"
    spec = f"input {given}\nfc 6\n{kind.lower()} 8 {' '.join(words)}\nfc 3\n"
    shape = (lead, steps, 4) if lead else (steps, 4)
    theirs = saved_bytes(lambda: _Recurrent(kind, lead, **keys), shape, batch=batch)
    assert estimate(cnncalc.load(spec), batch=batch, training=True).activations.value == theirs


def test_lstm_memory_refuses_in_one_line() -> None:
    # nn.LSTM without projection runs through oneDNN on the CPU, whose workspace has a size of its own.
    with pytest.raises(CnnCalcError, match=r"^lstm1: the training memory of lstm is not known") as caught:
        estimate(cnncalc.load("input 5x4\nlstm 8\n"), batch=2, training=True)
    assert "\n" not in str(caught.value)
