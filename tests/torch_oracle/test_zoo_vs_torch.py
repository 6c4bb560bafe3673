"""The zoo, translated to PyTorch on the meta device: params, buffers, MACs and shapes must agree."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

# Imported after the skip, so that a missing torch skips these tests rather than erroring.
from translate import UntranslatableError, differences, measure, translate

import cnncalc
from cnncalc import zoo

# The models the zoo has promised; any added later are checked too.
PROMISED = [
    "lenet5", "alexnet", "alexnet_caffe", "zfnet", "posenet",
    "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
]  # fmt: skip

# Non-default inputs: non-square, smaller and larger than the design size, and counting without biases.
OTHER_INPUTS: list[tuple[str, dict[str, object]]] = [
    ("vgg16", {"input": "320x256x3"}),
    ("vgg16_bn", {"input": "320x256x3"}),
    ("vgg11", {"input": "32x32x3"}),  # pools to 1x1, then adaptive pooling grows it to 7x7
    ("alexnet", {"input": "256x320x3"}),
    ("alexnet_caffe", {"input": "320x320x3"}),  # (320-11)/4 is not whole
    ("zfnet", {"input": "256x200x3"}),
    ("lenet5", {"input": "28x28x1"}),
    ("posenet", {"input": "128x96x3"}),
    ("posenet", {"bias": False}),
    ("vgg16", {"bias": False}),
]


def _check(name: str, kwargs: dict[str, object]) -> None:
    model = cnncalc.load(name, **kwargs)
    try:
        wrong = differences(model, bias=bool(kwargs.get("bias", True)))
    except UntranslatableError as exc:
        pytest.skip(f"{name}: {exc}")
    assert not wrong, f"cnncalc and PyTorch disagree on {name} {kwargs}:\n" + "\n".join(wrong)


def test_promised_models_exist() -> None:
    assert set(PROMISED) <= set(zoo.names())


@pytest.mark.parametrize("name", sorted(set(zoo.names()) | set(PROMISED)))
def test_zoo_model_matches_torch(name: str) -> None:
    _check(name, {})


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [pytest.param(n, k, id=f"{n}-" + "-".join(f"{a}={v}" for a, v in k.items())) for n, k in OTHER_INPUTS],
)
def test_zoo_model_at_other_input_matches_torch(name: str, kwargs: dict[str, object]) -> None:
    _check(name, kwargs)


@pytest.mark.parametrize("name", PROMISED)
def test_zoo_outputs_match_torch(name: str) -> None:
    # The network's outputs (the layers nothing consumes), spelled out apart from the per-layer sweep.
    model = cnncalc.load(name)
    found = measure(translate(model.graph))
    outputs = [n.name for n in model.graph.outputs]
    assert outputs
    assert {o: model.layer(o).output.dims("chw") for o in outputs} == {o: found[o].shape for o in outputs}
