"""The zoo, translated to PyTorch on the meta device: params, buffers, MACs and shapes must agree.

Every model `cnncalc.zoo.names()` lists is checked, layer by layer, at its default input: a family added later is
picked up without a change here. A model with an op the oracle cannot translate fails (UntranslatableError); it is
never skipped.

Speed: on the meta device nothing is computed, so a model costs what its number of layers costs (about 1 ms a layer,
most of it PyTorch's Python meta kernels for batch norm and element-wise ops), whatever its input size: testing at a
smaller input would save nothing, and no model here needs it. What is saved instead: each layer runs once, as it is
built, under its own FLOP counter, and the totals are summed from those counts; the whole-module forward pass (which
would double the time) is run only for models with training-only layers, where the eval forward's skipping of the
auxiliary classifiers is the thing to check, and for the small ones.
"""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

# Imported after the skip, so that a missing torch skips these tests rather than erroring.
from translate import TORCHVISION_BUILT, count_params, differences, measure, run_whole, total_flops, translate

import cnncalc
from cnncalc import zoo
from conftest import reference_rows

# The models the zoo has promised: the classic ones, and every torchvision CNN in tests/reference (the figures
# torchvision publishes, which tests/test_reference_zoo.py holds the zoo to). Any added later are checked too.
CLASSIC = [
    "lenet5", "lenet5_1998", "alexnet", "alexnet_caffe", "zfnet", "posenet", "mobilenet_v1", "se_resnet50",
]  # fmt: skip
TORCHVISION = [row["model"] for row in reference_rows("torchvision_reference.csv")]
PROMISED = sorted(set(CLASSIC) | set(TORCHVISION))
SMALL = 60  # layers: below this (the classic nets) the whole-module forward pass runs as well

# Non-default inputs and options: non-square, odd, smaller and larger than the design size, counting without biases,
# the zoo's own options, and the training-only auxiliary classifiers.
OTHER_INPUTS: list[tuple[str, dict[str, object]]] = [
    ("vgg16", {"input": "320x256x3"}),
    ("vgg16_bn", {"input": "320x256x3"}),
    ("vgg11", {"input": "32x32x3"}),  # pools to 1x1, then adaptive pooling grows it to 7x7
    ("alexnet", {"input": "256x320x3"}),
    ("alexnet_caffe", {"input": "320x320x3"}),  # (320-11)/4 is not whole
    ("zfnet", {"input": "256x200x3"}),
    ("lenet5", {"input": "28x28x1"}),
    ("lenet5_1998", {"input": "36x36x1"}),
    ("lenet5_1998", {"bias": False}),  # the subsampling layers' learnt shifts go with the conv biases
    ("posenet", {"input": "128x96x3"}),
    ("posenet", {"bias": False}),
    ("vgg16", {"bias": False}),
    ("resnet18", {"input": "97x129x3"}),
    ("resnet50", {"input": "320x256x3"}),
    ("resnext50_32x4d", {"bias": False}),
    ("se_resnet50", {"options": {"reduction": 8, "v1_5": True}}),
    ("googlenet", {"options": {"aux": True}}),  # two auxiliary classifiers: params yes, inference MACs no
    ("googlenet", {"input": "160x192x3", "options": {"aux": True}}),
    ("inception_v3", {"input": "342x342x3"}),
    ("densenet121", {"input": "97x129x3"}),
    ("squeezenet1_0", {"input": "227x227x3"}),
    ("squeezenet1_1", {"input": "100x100x3"}),
    ("mobilenet_v1", {"options": {"alpha": 0.5}}),
    ("mobilenet_v2", {"input": "161x161x3"}),
    ("mobilenet_v3_small", {"input": "193x160x3"}),
    ("mnasnet0_5", {"input": "100x100x3"}),
    ("shufflenet_v2_x0_5", {"input": "161x161x3"}),
    ("efficientnet_b0", {"input": "257x199x3"}),
    ("efficientnet_v2_s", {"input": "200x200x3"}),
    ("regnet_x_400mf", {"bias": False}),
    ("regnet_y_400mf", {"input": "288x288x3"}),
    ("convnext_tiny", {"input": "256x192x3"}),
    ("convnext_tiny", {"bias": False}),
]


def _id(name: str, kwargs: dict[str, object]) -> str:
    def text(v: object) -> str:
        return ",".join(f"{a}={b}" for a, b in v.items()) if isinstance(v, dict) else str(v)

    return "-".join([name, *(text(v) if k == "options" else f"{k}={text(v)}" for k, v in kwargs.items())])


def _check(name: str, kwargs: dict[str, object]) -> None:
    model = cnncalc.load(name, **kwargs)  # type: ignore[arg-type]
    bias = bool(kwargs.get("bias", True))
    tr = translate(model.graph, bias=bias)  # raises UntranslatableError for an unknown op: a failure, not a skip
    whole = bool(tr.module.training_only) or len(tr.module.order) < SMALL
    wrong = differences(model, bias=bias, tr=tr, whole=whole)
    # The network's outputs (the layers nothing consumes), spelled out apart from the per-layer sweep.
    outputs = [n.name for n in model.graph.outputs]
    assert outputs
    got = {o: model.layer(o).output.dims("chw") for o in outputs}
    want = {o: tr.measures[o].shape for o in outputs}
    assert not wrong and got == want, (
        f"cnncalc and PyTorch disagree on {name} {kwargs}:\n" + "\n".join(wrong) + f"\noutputs: {got} vs {want}"
    )


def test_promised_models_exist() -> None:
    missing = sorted(set(PROMISED) - set(zoo.names()))
    assert not missing, f"promised but not in the zoo: {missing}"


def test_other_inputs_name_zoo_models() -> None:
    # A misspelt name here would fail at load; this says which table holds it.
    assert {n for n, _ in OTHER_INPUTS} <= set(zoo.names())


@pytest.mark.parametrize("name", sorted((set(zoo.names()) | set(PROMISED)) - TORCHVISION_BUILT))
def test_zoo_model_matches_torch(name: str) -> None:
    _check(name, {})


@pytest.mark.parametrize(("name", "kwargs"), [pytest.param(n, k, id=_id(n, k)) for n, k in OTHER_INPUTS])
def test_zoo_model_at_other_input_matches_torch(name: str, kwargs: dict[str, object]) -> None:
    _check(name, kwargs)


def test_googlenet_eval_forward_skips_the_auxiliary_classifiers() -> None:
    # torchvision's GoogLeNet returns only the main logits in eval mode; in train mode aux1 and aux2 as well.
    model = cnncalc.load("googlenet", options={"aux": True})
    tr = translate(model.graph)
    heads = sorted(n.name for n in model.graph.outputs)
    inference = [n for n in heads if n not in tr.module.training_only]
    _, eval_values = run_whole(tr)
    _, train_values = run_whole(tr, training=True)
    assert len(heads) == 3 and len(inference) == 1
    assert sorted(set(heads) & set(eval_values)) == inference
    assert sorted(set(heads) & set(train_values)) == heads
    assert measure(tr)[inference[0]].shape == [1000]
    # The heads add parameters and no inference FLOPs: the eval pass costs what googlenet without them costs.
    plain = translate(cnncalc.load("googlenet").graph)
    assert total_flops(tr) == total_flops(plain) < total_flops(tr, training=True)
    assert count_params(tr.module) > count_params(plain.module)
