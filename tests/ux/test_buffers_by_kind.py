"""Buffers reported as what they are. PyTorch is the oracle: `named_buffers()` split by name into running statistics
(`running_mean`, `running_var`; `num_batches_tracked` is a step counter and counts nothing) and fixed tables made at
construction (timm CoAtNet's int64 `relative_position_index`). The issue that asked for this counted 285,298 buffer
values in coatnet_0_rw_224, 11,584 of them batch-norm statistics."""

from __future__ import annotations

import json
import warnings

import pytest

import cnncalc
from cnncalc.render import render_table

CONTRACT_TOTALS = {"params", "weights", "biases", "buffers", "macs", "flops", "activation_bytes"}


def _torch_split(module) -> dict[str, int]:  # type: ignore[no-untyped-def]
    split = {"running_statistics": 0, "fixed_tables": 0, "other": 0}
    for key, b in module.named_buffers():
        leaf = key.rsplit(".", 1)[-1]
        if leaf == "num_batches_tracked":
            continue
        kind = {"running_mean": "running_statistics", "running_var": "running_statistics"}.get(leaf)
        split[kind or ("fixed_tables" if leaf == "relative_position_index" else "other")] += b.numel()
    return split


def test_coatnet_buffers_apart() -> None:
    timm = pytest.importorskip("timm")
    module = timm.create_model("coatnet_0_rw_224", pretrained=False)
    expected = _torch_split(module)
    assert expected["running_statistics"] + expected["fixed_tables"] == 285_298
    assert expected["running_statistics"] == 11_584 and not expected["other"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = cnncalc.from_torch(module, (3, 224, 224))
    kinds = m.report.buffer_kinds
    assert kinds == {"running_statistics": 11_584, "other_buffers": 0, "fixed_tables": expected["fixed_tables"]}
    assert m.totals.buffers == 11_584  # the JSON field keeps its meaning
    totals = m.to_dict()["totals"]
    assert set(totals) >= CONTRACT_TOTALS
    assert totals["fixed_tables"] == 273_714 and totals["running_statistics"] == 11_584
    assert sum(x.get("fixed_table", 0) for x in m.to_dict()["layers"]) == 273_714
    text = render_table(m.report)
    assert "buffers 11,584 (running statistics); fixed tables 273,714 values" in text
    assert "batch-norm running statistics) apart" not in text


def test_resnet18_statistics_are_torchvisions_buffers() -> None:
    torchvision = pytest.importorskip("torchvision")
    expected = _torch_split(torchvision.models.resnet18())
    kinds = cnncalc.load("resnet18").report.buffer_kinds
    assert kinds == {"running_statistics": expected["running_statistics"], "other_buffers": 0, "fixed_tables": 0}


def test_lenet_1998_fixed_vectors_are_other_buffers(cli) -> None:  # type: ignore[no-untyped-def]
    # LeCun et al. 1998: the output layer's 10 RBF units compare F6's 84 values with fixed vectors, 84 x 10 = 840.
    data = json.loads(cli("show", "lenet5_1998", "--format", "json").stdout)
    assert data["totals"]["buffers"] == 840
    assert (data["totals"]["running_statistics"], data["totals"]["other_buffers"]) == (0, 840)
    assert "buffers 840 = running statistics 0 + other buffers 840" in cli("show", "lenet5_1998").stdout
