"""`cnncalc rf` against google-research/receptive_field's table and the Distill article
(tests/reference/receptive_fields.csv): every end-point of vgg_16, vgg_a, alexnet_v2 and mobilenet_v1.

The networks are written in tests/rf/data as TF-Slim lays them out (SAME padding as TensorFlow pads it:
the odd extra row after), so size, stride and effective padding must all match, at every resolution the
table gives. The zoo models (PyTorch layouts) must match size and stride; their padding follows PyTorch's
symmetric convention, checked apart below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc.teach.fields import field_rows
from conftest import reference_rows

DATA = Path(__file__).parent / "data"
NETWORKS = ("vgg_16", "vgg_a", "alexnet_v2", "mobilenet_v1")
ROWS = [r for r in reference_rows("receptive_fields.csv") if r["network"] in NETWORKS]
ZOO = {"vgg_16": "vgg16", "vgg_a": "vgg11", "alexnet_v2": "alexnet_caffe", "mobilenet_v1": "mobilenet_v1"}


def _layer(endpoint: str) -> str:
    # "vgg_16/conv3/conv3_2" -> conv3_2; "Conv2d_13_pointwise (final end-point; ...)" -> Conv2d_13_pointwise
    return endpoint.split(" (")[0].split("/")[-1]


def _resolution(row: dict[str, str]) -> int:
    # "None" (resolution-free rows) and the Distill rows ("not stated", equal to the 224 rows): 224,
    # the default image size of all four networks.
    return int(row["resolution"]) if row["resolution"].isdigit() else 224


def _fields(path: str, resolution: int) -> dict[str, object]:
    model = cnncalc.load(path, input=f"{resolution}x{resolution}x3")
    return {r.name: r for r in field_rows(model)}


_CACHE: dict[tuple[str, int], dict[str, object]] = {}


def _cached(path: str, resolution: int) -> dict[str, object]:
    if (path, resolution) not in _CACHE:
        _CACHE[path, resolution] = _fields(path, resolution)
    return _CACHE[path, resolution]


def _id(row: dict[str, str]) -> str:
    return f"{_layer(row['endpoint'])}@{row['resolution'].split(' ')[0]}"


def test_every_endpoint_of_the_four_networks_is_in_the_table() -> None:
    # vgg_16 13, vgg_a 13, alexnet_v2 7, mobilenet_v1 14 end-points, each at None, 224 and 321 where given
    found = {n: {_layer(r["endpoint"]) for r in ROWS if r["network"] == n} for n in NETWORKS}
    assert [len(found[n]) for n in NETWORKS] == [13, 13, 7, 14]


@pytest.mark.parametrize("network", NETWORKS)
def test_tf_slim_layout_matches_size_stride_and_padding(network: str) -> None:
    path = str(DATA / f"tf_slim_{network}.cnn")
    checked = 0
    for row in (r for r in ROWS if r["network"] == network):
        got = _cached(path, _resolution(row))[_layer(row["endpoint"])]
        for axis in (got.h, got.w):  # type: ignore[attr-defined]
            assert axis.size == int(row["rf_size"]), _id(row)
            assert axis.jump == int(row["effective_stride"]), _id(row)
            if row["effective_padding"] != "None":
                assert axis.padding == int(row["effective_padding"]), _id(row)
        checked += 1
    assert checked == len([r for r in ROWS if r["network"] == network])


@pytest.mark.parametrize("network", NETWORKS)
def test_zoo_model_matches_size_and_stride_at_every_endpoint(network: str) -> None:
    rows = {r.name: r for r in field_rows(cnncalc.load(ZOO[network]))}
    for row in (r for r in ROWS if r["network"] == network):
        name = _layer(row["endpoint"])
        got = rows[name]
        assert (got.h.size, got.h.jump) == (int(row["rf_size"]), int(row["effective_stride"])), name
        assert (got.w.size, got.w.jump) == (int(row["rf_size"]), int(row["effective_stride"])), name


def test_zoo_mobilenet_v1_pads_symmetrically_as_the_table_does_at_321() -> None:
    # PyTorch pads every 3x3 by 1 on both sides, so each field stays centred on pixel 0 and P = (size - 1)/2
    # at any input. TensorFlow's SAME pads a stride-2 3x3 on an even input 0 before and 1 after (224 ->
    # 112: total (112 - 1)*2 + 3 - 224 = 1), so at 224 the table's P is smaller; at 321 (odd) it pads 1 and 1,
    # and the table's 321 column is PyTorch's: Conv2d_0 (3 - 1)/2 = 1, Conv2d_13_pointwise (315 - 1)/2 = 157.
    rows = {r.name: r for r in field_rows(cnncalc.load("mobilenet_v1"))}
    at_321 = [r for r in ROWS if r["network"] == "mobilenet_v1" and r["resolution"] == "321"]
    assert len(at_321) == 14
    for row in at_321:
        got = rows[_layer(row["endpoint"])]
        assert got.h.padding == int(row["effective_padding"]) == (int(row["rf_size"]) - 1) // 2
    assert rows["Conv2d_0"].h.padding == 1 != 0  # the table at 224 gives 0 (TF pads after only)


@pytest.mark.parametrize("network", ("vgg_16", "vgg_a", "alexnet_v2"))
def test_zoo_padding_matches_where_the_conventions_agree(network: str) -> None:
    # VGG and AlexNet pad every conv symmetrically in both frameworks (3x3 by 1, 5x5 by 2; conv1 and the
    # pools not at all), so the table's padding holds for the zoo's PyTorch layouts too.
    rows = {r.name: r for r in field_rows(cnncalc.load(ZOO[network]))}
    for row in (r for r in ROWS if r["network"] == network and r["effective_padding"] != "None"):
        assert rows[_layer(row["endpoint"])].h.padding == int(row["effective_padding"]), _id(row)


def test_cli_json_gives_the_tables_figures(cli) -> None:  # type: ignore[no-untyped-def]
    done = cli("rf", str(DATA / "tf_slim_mobilenet_v1.cnn"), "--format", "json", "--input", "321x321x3")
    assert done.returncode == 0, done.stderr
    layers = {x["name"]: x for x in json.loads(done.stdout)["layers"]}
    for row in (r for r in ROWS if r["network"] == "mobilenet_v1" and r["resolution"] == "321"):
        h = layers[_layer(row["endpoint"])]["h"]
        want = (int(row["rf_size"]), int(row["effective_stride"]), int(row["effective_padding"]))
        assert (h["size"], h["jump"], h["effective_padding"]) == want
        # unit 0 sees -P .. -P + size - 1
        assert (h["first_pixel"], h["last_pixel"]) == (-want[2], -want[2] + want[0] - 1)


def test_distill_final_fields_in_the_table_output(cli) -> None:  # type: ignore[no-untyped-def]
    # Distill 2019: VGG-16 212 / 32 / 90, AlexNet (v2) 195 / 32 / 64
    out = cli("rf", str(DATA / "tf_slim_vgg_16.cnn")).stdout
    pool5 = next(line for line in out.splitlines() if line.startswith("│ pool5 "))
    assert [c.strip() for c in pool5.split("│")[4:7]] == ["212", "32", "90"]
    out = cli("rf", str(DATA / "tf_slim_alexnet_v2.cnn"), "--format", "csv").stdout
    pool5 = next(line for line in out.splitlines() if line.startswith("pool5,"))
    assert pool5.split(",")[4:7] == ["195", "32", "64"]
