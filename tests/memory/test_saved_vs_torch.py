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
