"""AlexNet in two orders, checked against PyTorch: the paper's (Krizhevsky et al. 2012, Sec. 3.3-3.5; BVLC's
bvlc_alexnet/deploy.prototxt: norm1 before pool1, norm2 before pool2) and CaffeNet's (bvlc_reference_caffenet: each
pool before its LRN), which `alexnet_caffe` has always been. The two have the same params, MACs and conv shapes; the
LRN layers see different maps, so their output rows (and the activation memory) differ.
"""

from __future__ import annotations

import pytest

import cnncalc

torch = pytest.importorskip("torch")
nn = torch.nn


def _torch_alexnet(norm_first: bool) -> nn.Module:
    def stage(conv: nn.Module) -> list[nn.Module]:
        norm, pool = nn.LocalResponseNorm(5), nn.MaxPool2d(3, 2)
        return [conv, nn.ReLU(), *((norm, pool) if norm_first else (pool, norm))]

    return nn.Sequential(
        *stage(nn.Conv2d(3, 96, 11, 4)),
        *stage(nn.Conv2d(96, 256, 5, padding=2, groups=2)),
        nn.Conv2d(256, 384, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1, groups=2),
        nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1, groups=2),
        nn.ReLU(),
        nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Linear(256 * 6 * 6, 4096),
        nn.ReLU(),
        nn.Dropout(),
        nn.Linear(4096, 4096),
        nn.ReLU(),
        nn.Dropout(),
        nn.Linear(4096, 1000),
    )


def _lrn_outputs(module: nn.Module) -> list[tuple[int, int, int]]:
    """The (H, W, C) of each LRN output, run on the meta device."""
    shapes: list[tuple[int, int, int]] = []
    for layer in module:
        if isinstance(layer, nn.LocalResponseNorm):
            layer.register_forward_hook(lambda _m, _i, out: shapes.append((out.shape[2], out.shape[3], out.shape[1])))
    module.to("meta")(torch.empty(1, 3, 227, 227, device="meta"))
    return shapes


@pytest.mark.parametrize(
    ("name", "norm_first"), [("alexnet_2012", True), ("caffenet", False), ("alexnet_caffe", False)]
)
def test_against_torch(name: str, norm_first: bool) -> None:
    module = _torch_alexnet(norm_first)
    params = sum(p.numel() for p in module.parameters())
    m = cnncalc.load(name)
    assert m.totals.params == params == 60_965_224
    assert [tuple(m.layer(n).output.dims()) for n in ("norm1", "norm2")] == _lrn_outputs(module)


def test_same_counts_different_memory_rows() -> None:
    paper, caffenet = cnncalc.load("alexnet_2012"), cnncalc.load("caffenet")
    assert (paper.totals.params, paper.totals.macs) == (caffenet.totals.params, caffenet.totals.macs)
    convs = [x.name for x in paper.layers if x.op in ("conv", "fc")]
    assert [paper.layer(n).output for n in convs] == [caffenet.layer(n).output for n in convs]
    # The paper normalises 55x55x96 and 27x27x256 maps, CaffeNet the pooled 27x27x96 and 13x13x256 ones.
    assert tuple(paper.layer("norm1").output.dims()) == (55, 55, 96)
    assert tuple(caffenet.layer("norm1").output.dims()) == (27, 27, 96)
    extra = (55 * 55 * 96 - 27 * 27 * 96) + (27 * 27 * 256 - 13 * 13 * 256)
    assert paper.totals.activation_bytes - caffenet.totals.activation_bytes == 4 * extra
    order = [x.name for x in paper.layers if x.name.startswith(("norm", "pool"))]
    assert order[:4] == ["norm1", "pool1", "norm2", "pool2"]
    order = [x.name for x in caffenet.layers if x.name.startswith(("norm", "pool"))]
    assert order[:4] == ["pool1", "norm1", "pool2", "norm2"]


def test_the_old_name_still_works() -> None:
    old, new = cnncalc.load("alexnet_caffe"), cnncalc.load("caffenet")
    assert [(x.name, x.output, x.params, x.macs) for x in old.layers] == [
        (x.name, x.output, x.params, x.macs) for x in new.layers
    ]
