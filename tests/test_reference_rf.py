"""Receptive fields against google-research/receptive_field's table (tests/reference/receptive_fields.csv).

Their effective padding P is where the field of output unit 0 begins: at -P. cnncalc reports the
centre of that field (`start`, input pixel 0 spanning [0, 1)), so P = size/2 - start.
"""

from __future__ import annotations

import pytest

import cnncalc
from conftest import reference_rows

ROWS = [r for r in reference_rows("receptive_fields.csv") if r["resolution"] == "None" and "final" not in r["endpoint"]]

ALEXNET_ENDPOINTS = ("conv1", "pool1", "conv2", "conv3", "conv4", "conv5", "pool5")
# TF-Slim end-point -> cnncalc layer. alexnet_v2 pads like Caffe's AlexNet (VALID conv1, SAME after);
# vgg_a and vgg_16 are VGG configurations A and D.
CASES = {
    "alexnet_v2": (
        "alexnet_caffe",
        {f"alexnet_v2/{n}": n for n in ("conv1", "pool1", "conv2", "conv3", "conv4", "conv5", "pool5")},
    ),
    "vgg_a": ("vgg11", {}),
    "vgg_16": ("vgg16", {}),
}


def _layer_name(network: str, endpoint: str) -> str:
    explicit = CASES[network][1]
    if endpoint in explicit:
        return explicit[endpoint]
    last = endpoint.split("/")[-1]
    return last  # vgg_16/conv3/conv3_2 -> conv3_2, vgg_16/pool3 -> pool3


@pytest.mark.parametrize(
    "row", [r for r in ROWS if r["network"] in CASES], ids=lambda r: r["endpoint"] if isinstance(r, dict) else r
)
def test_matches_google_receptive_field_table(row: dict[str, str]) -> None:
    model_name = CASES[row["network"]][0]
    layer = cnncalc.load(model_name).layer(_layer_name(row["network"], row["endpoint"]))
    rf = layer.rf.to_dict()
    assert rf["size"] == int(row["rf_size"])
    assert rf["jump"] == int(row["effective_stride"])
    assert rf["size"] / 2 - rf["start"] == int(row["effective_padding"])


def test_distill_final_fields() -> None:
    # Distill 2019 table: VGG-16 pool5 212 / 32, AlexNet (v2) pool5 195 / 32.
    assert cnncalc.load("vgg16").layer("pool5").rf.to_dict()["size"] == 212
    assert cnncalc.load("alexnet_caffe").layer("pool5").rf.to_dict()["size"] == 195
