"""Every torchvision network through `from_torch`, against torchvision itself.

Classifiers and video networks: the figures of `reference/torchvision_reference*.csv` (measured with torchvision
0.29.1 and PyTorch's FLOP counter on the meta device, equal to torchvision's published GFLOPS). Segmentation and
optical flow: counted here, with `sum(numel)` of the unique parameters and `FlopCounterMode` on the meta device.
Detection: the backbone is exact; the whole detector stops with one line naming what cannot be known statically.
"""

from __future__ import annotations

import contextlib
import csv
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
tv = pytest.importorskip("torchvision")

import cnncalc  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402

REFERENCE = Path(__file__).resolve().parents[1] / "reference"


def _rows() -> dict[str, dict[str, str]]:
    rows = {}
    for name in ("torchvision_reference.csv", "torchvision_reference_more.csv"):
        with open(REFERENCE / name, encoding="utf-8") as f:
            rows.update({r["model"]: r for r in csv.DictReader(f)})
    return rows


ROWS = _rows()


def _torch_input(text: str) -> tuple[int, ...]:
    """The reference's HxWxC / DxHxWxC as PyTorch's (C, H, W) / (C, D, H, W)."""
    dims = [int(v) for v in text.split("x")]
    return (dims[-1], *dims[:-1])


def _build(name: str, **kwargs: Any) -> Any:
    kwargs.setdefault("weights", None)
    if name == "googlenet":
        kwargs.update(aux_logits=False, init_weights=False)  # as torchvision publishes its count
    if name == "inception_v3":
        kwargs.update(init_weights=False)  # with its auxiliary classifier, as torchvision counts it
    if name == "vit_h_14":
        kwargs.update(image_size=518)
    try:
        with torch.device("meta"):
            return tv.models.get_model(name, **kwargs)
    except NotImplementedError:  # RegNet's __init__ reads tensor values (torch.arange(...).tolist())
        with _parameters_on_meta():
            return tv.models.get_model(name, **kwargs)


@contextlib.contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Build on the CPU with each parameter and buffer moved to meta as it is registered (accelerate's
    `init_empty_weights`), so that a 600M-parameter RegNet costs no memory."""
    module = torch.nn.Module
    register_parameter, register_buffer = module.register_parameter, module.register_buffer

    def on_parameter(self: Any, name: str, param: Any) -> None:
        register_parameter(self, name, param)
        if param is not None and param.device.type != "meta":
            self._parameters[name] = torch.nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)

    def on_buffer(self: Any, name: str, tensor: Any, persistent: bool = True) -> None:
        register_buffer(self, name, tensor, persistent)
        if tensor is not None:
            self._buffers[name] = tensor.to("meta")

    module.register_parameter, module.register_buffer = on_parameter, on_buffer  # type: ignore[method-assign]
    try:
        yield
    finally:
        module.register_parameter, module.register_buffer = register_parameter, register_buffer  # type: ignore[method-assign]


def _import(module: Any, shape: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cnncalc.from_torch(module, shape)


def _oracle(module: Any, *shapes: tuple[int, ...]) -> tuple[int, int, int]:
    from torch.utils.flop_counter import FlopCounterMode

    params = sum(p.numel() for p in {id(p): p for p in module.parameters()}.values())
    buffers = sum(b.numel() for n, b in module.named_buffers() if not n.endswith("num_batches_tracked"))
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module.eval()(*(torch.zeros(1, *s, device="meta") for s in shapes))
    return params, buffers, counter.get_total_flops() // 2


@pytest.mark.parametrize("name", sorted(ROWS))
def test_classifier_and_video_network_equals_the_reference(name: str) -> None:
    row = ROWS[name]
    got = _import(_build(name), _torch_input(row["input"]))
    assert (got.totals.params, got.totals.buffers, got.totals.macs) == (
        int(row["params"]),
        int(row["buffers"]),
        int(row["macs"]),
    )
    assert not got.report.unknown_macs


SEGMENTATION = tv.models.list_models(module=tv.models.segmentation)


@pytest.mark.parametrize("name", SEGMENTATION)
def test_segmentation_network_equals_pytorch(name: str) -> None:
    module = _build(name, weights_backbone=None)
    want = _oracle(module, (3, 224, 224))
    got = _import(module, (3, 224, 224))
    assert (got.totals.params, got.totals.buffers, got.totals.macs) == want


@pytest.mark.parametrize("name", ["raft_small", "raft_large"])
def test_optical_flow_network_equals_pytorch(name: str) -> None:
    module = _build(name)
    want = _oracle(module, (3, 128, 128), (3, 128, 128))
    got = _import(module, [(3, 128, 128), (3, 128, 128)])
    assert (got.totals.params, got.totals.buffers, got.totals.macs) == want


DETECTION = ["fasterrcnn_resnet50_fpn", "retinanet_resnet50_fpn", "ssdlite320_mobilenet_v3_large"]


@pytest.mark.parametrize("name", DETECTION)
def test_detection_backbone_is_exact_and_the_detector_stops_with_one_line(name: str) -> None:
    module = _build(name, weights_backbone=None)
    backbone = module.backbone
    want = _oracle(backbone, (3, 320, 320))
    got = _import(backbone, (3, 320, 320))
    assert (got.totals.params, got.totals.buffers, got.totals.macs) == want
    with pytest.raises(CnnCalcError) as info:
        _import(module, (3, 320, 320))
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
