"""The peak of one training step (forward, backward, optimizer step) of `cnncalc memory --training` against
PyTorch's own tracker, `torch.distributed._tools.mem_tracker.MemTracker`, run on FakeTensors on the CPU over two
steps (the second holds the optimizer state), foreach optimizers as on the GPU."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")

import cnncalc  # noqa: E402
from cnncalc.teach.memory import estimate  # noqa: E402

from .torch_memory import step_peak  # noqa: E402
from .unet import UNet, unet_spec  # noqa: E402

NETS = {
    "resnet50": (lambda: cnncalc.load("resnet50"), torchvision.models.resnet50, (3, 224, 224)),
    "mobilenet_v2": (lambda: cnncalc.load("mobilenet_v2"), torchvision.models.mobilenet_v2, (3, 224, 224)),
    "vit_b_16": (lambda: cnncalc.load("vit_b_16"), torchvision.models.vit_b_16, (3, 224, 224)),
    "unet": (lambda: cnncalc.load(unet_spec()), UNet, (3, 128, 128)),
}


@pytest.mark.parametrize("batch", [1, 32])
@pytest.mark.parametrize("name", list(NETS))
def test_step_peak_within_5_percent(name: str, batch: int) -> None:
    load, make, shape = NETS[name]
    ours = estimate(load(), batch=batch, training=True, optimizer="adam")
    theirs = step_peak(make, shape, batch, "adam")
    assert ours.step_peak is not None
    assert ours.step_peak.value == pytest.approx(theirs["Total"], rel=0.05)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adamw"])
def test_step_peak_other_optimizers(optimizer: str) -> None:
    ours = estimate(cnncalc.load("resnet18"), batch=1, training=True, optimizer=optimizer)
    theirs = step_peak(torchvision.models.resnet18, (3, 224, 224), 1, optimizer)
    assert ours.step_peak is not None
    assert ours.step_peak.value == pytest.approx(theirs["Total"], rel=0.05)


def test_without_foreach_the_step_needs_no_whole_copy() -> None:
    # One parameter at a time (PyTorch's default on the CPU): Adam's temporaries are one tensor's, not all of them.
    ours = estimate(cnncalc.load("resnet18"), batch=1, training=True, optimizer="adam", foreach=False)
    theirs = step_peak(torchvision.models.resnet18, (3, 224, 224), 1, "adam", foreach=False)
    assert ours.step_peak is not None
    assert ours.step_peak.value == pytest.approx(theirs["Total"], rel=0.05)


@pytest.mark.parametrize("name", ["resnet50", "unet"])
def test_step_peak_with_autocast(name: str) -> None:
    # bf16 activations and weight copies beside fp32 master weights, gradients and Adam's state.
    load, make, shape = NETS[name]
    ours = estimate(load(), batch=32, training=True, optimizer="adam", amp="bf16")
    theirs = step_peak(make, shape, 32, "adam", amp=torch.bfloat16)
    assert ours.step_peak is not None
    assert ours.step_peak.value == pytest.approx(theirs["Total"], rel=0.05)


class _CheckpointedResNet(torch.nn.Module):
    """torchvision's ResNet-50 with each stage (layer1 to layer4) under torch.utils.checkpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torchvision.models.resnet50()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        from torch.utils.checkpoint import checkpoint

        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        for stage in (n.layer1, n.layer2, n.layer3, n.layer4):
            x = checkpoint(stage, x, use_reentrant=False)
        return n.fc(torch.flatten(n.avgpool(x), 1))


def test_checkpoint_per_stage() -> None:
    from .torch_memory import saved_bytes

    ours = estimate(cnncalc.load("resnet50"), batch=32, training=True, optimizer="adam", checkpoint="stage")
    assert ours.step_peak is not None and ours.recomputed_macs is not None
    assert ours.step_peak.value == pytest.approx(step_peak(_CheckpointedResNet, (3, 224, 224), 32)["Total"], rel=0.05)
    assert ours.activations.value == pytest.approx(saved_bytes(_CheckpointedResNet, (3, 224, 224), 32), rel=0.03)
    # The per-layer column adds up to that figure: of a checkpointed stage only its output is held (layer3's input).
    assert sum(x.saved_bytes for x in ours.layers) == ours.activations.value
    assert [x.name for x in ours.layers if x.name.startswith("layer2.") and x.saved_bytes] == ["layer2.3.relu"]
    # Recomputed: the forward of every layer of layer1 to layer4 once more, as FlopCounterMode counts one forward.
    from torch.utils.flop_counter import FlopCounterMode

    with torch.device("meta"):
        net = torchvision.models.resnet50()
        x = torch.empty(1, 3, 224, 224)
        x = net.maxpool(net.relu(net.bn1(net.conv1(x))))
        with FlopCounterMode(display=False) as counter:
            for stage in (net.layer1, net.layer2, net.layer3, net.layer4):
                x = stage(x)
    assert ours.recomputed_macs.value == counter.get_total_flops() // 2


def test_fit_finds_the_batch_pytorch_fits() -> None:
    # Capacity just above what MemTracker measures at batch 7: the largest batch that fits is 7.
    capacity = int(step_peak(UNet, (3, 128, 128), 7, "adam")["Total"] * 1.002)
    result = estimate(cnncalc.load(unet_spec()), training=True, optimizer="adam", fit=f"{capacity}B")
    assert [row.batch for row in result.fit] == [7]
    assert result.fit[0].bytes <= capacity < result.fit[0].next_bytes
