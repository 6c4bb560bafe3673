"""Every zoo model written as a spec reads back to the same graph (`cnncalc show NAME --format spec`)."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc import zoo
from cnncalc.spec import parse_spec, write_spec


def structure(graph: cnncalc.Graph) -> list[tuple[object, ...]]:
    return [(n.name, n.op, n.args, n.inputs, n.aux) for n in graph.nodes]


@pytest.mark.parametrize("name", zoo.names())
def test_zoo_model_round_trips_through_the_spec(name: str) -> None:
    graph = zoo.build(name)
    again = parse_spec(write_spec(graph), source=f"{name}.cnn", name=name)
    assert structure(again) == structure(graph)


def test_spec_with_options_round_trips() -> None:
    graph = zoo.build("googlenet", {"aux": True})
    text = write_spec(graph)
    assert "aux=true" in text
    assert structure(parse_spec(text)) == structure(graph)
