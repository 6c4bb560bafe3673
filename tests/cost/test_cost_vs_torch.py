"""The four blocks of `cnncalc cost` built in PyTorch: params by numel, MACs by PyTorch's FLOP counter (FLOPs / 2)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from cnncalc.teach.cost import compare  # noqa: E402


class SqueezeExcitation(nn.Module):
    """Global pool, FC C -> C/r, ReLU, FC C/r -> C, sigmoid, scale (Hu et al.)."""

    def __init__(self, c: int, r: int) -> None:
        super().__init__()
        self.reduce, self.expand = nn.Linear(c, c // r), nn.Linear(c // r, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3))
        s = torch.sigmoid(self.expand(torch.relu(self.reduce(s))))
        return x * s[:, :, None, None]


class InvertedResidual(nn.Module):
    def __init__(self, c_in: int, c_out: int, k: int, t: int, s: int) -> None:
        super().__init__()
        hidden = t * c_in
        layers: list[nn.Module] = [nn.Conv2d(c_in, hidden, 1, bias=False), nn.ReLU6()] if t > 1 else []
        layers += [
            nn.Conv2d(hidden, hidden, k, s, (k - 1) // 2, groups=hidden, bias=False),
            nn.ReLU6(),
            nn.Conv2d(hidden, c_out, 1, bias=False),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = s == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return x + y if self.residual else y


def measure(module: nn.Module, shape: tuple[int, int, int]) -> tuple[int, int]:
    """(params, MACs) as PyTorch counts them: numel of the parameters, FlopCounterMode's FLOPs / 2."""
    params = sum(p.numel() for p in module.parameters())
    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(1, *shape))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return params, flops // 2


@pytest.mark.parametrize(
    ("h", "c_in", "c_out", "k", "t", "r", "s"),
    [
        (14, 64, 64, 3, 6, 16, 1),
        (7, 64, 64, 3, 6, 16, 1),
        (14, 32, 64, 3, 6, 8, 2),
        (15, 24, 40, 5, 4, 4, 2),
        (10, 16, 16, 3, 1, 4, 1),
    ],
)
def test_blocks_against_torch(h: int, c_in: int, c_out: int, k: int, t: int, r: int, s: int) -> None:
    c = compare(h, h, c_in, c_out, k, t=t, r=r, stride=s)
    p = (k - 1) // 2
    torch_blocks = {
        "standard": (nn.Conv2d(c_in, c_out, k, s, p, bias=False), (c_in, h, h)),
        "separable": (
            nn.Sequential(
                nn.Conv2d(c_in, c_in, k, s, p, groups=c_in, bias=False), nn.Conv2d(c_in, c_out, 1, bias=False)
            ),
            (c_in, h, h),
        ),
        "inverted_residual": (InvertedResidual(c_in, c_out, k, t, s), (c_in, h, h)),
        "se": (SqueezeExcitation(c_out, r), (c_out, c.h_out, c.w_out)),
    }
    for key, (module, shape) in torch_blocks.items():
        block = c.block(key)
        assert (block.model.totals.params, block.model.totals.macs) == measure(module, shape), key
        assert (block.params.value, block.macs.value) == measure(module, shape), key
