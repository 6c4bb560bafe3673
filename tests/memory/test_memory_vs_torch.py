"""Weights, gradients and optimizer state of `cnncalc memory` against PyTorch: the same small net built in torch,
its parameters and buffers counted, one training step taken, then its gradients and optimizer state counted."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.teach.memory import estimate  # noqa: E402

SPEC = """
input 8x8x3
conv1: conv 8 k=3 p=1
bn1: bn
relu1: relu
conv2: conv 8 k=3 p=1 bias=false
bn2: bn
add: add from=relu1,bn2
pool: gap
flat: flatten
fc: fc 10
"""


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = y + self.bn2(self.conv2(y))
        return self.fc(y.mean((2, 3)))


def _float_buffers(net: nn.Module) -> list[torch.Tensor]:
    # BatchNorm's num_batches_tracked (one int64 a layer) is bookkeeping, not a running statistic: left out.
    return [b for b in net.buffers() if b.is_floating_point()]


def _step(net: nn.Module, optimizer: torch.optim.Optimizer) -> None:
    x = torch.randn(4, 3, 8, 8, dtype=next(net.parameters()).dtype)
    net(x).float().square().mean().backward()
    optimizer.step()


@pytest.mark.parametrize(("dtype", "torch_dtype"), [("fp32", torch.float32), ("bf16", torch.bfloat16)])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_weights_gradients_and_state_against_torch(dtype: str, torch_dtype: torch.dtype, optimizer: str) -> None:
    torch.manual_seed(0)
    net = Net().to(torch_dtype)
    opt = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.01),
        "momentum": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
        "adam": lambda p: torch.optim.Adam(p, lr=0.001),
    }[optimizer](net.parameters())
    _step(net, opt)

    m = estimate(cnncalc.load(SPEC), batch=4, dtype=dtype, optimizer=optimizer, training=True)
    params = sum(p.numel() for p in net.parameters())
    assert m.weights.values["P"] == params
    assert m.weights.values["B"] == sum(b.numel() for b in _float_buffers(net))
    assert m.weights.value == sum(p.nbytes for p in net.parameters()) + sum(b.nbytes for b in _float_buffers(net))
    assert m.gradients.value == sum(p.grad.nbytes for p in net.parameters())
    # The state tensors of one parameter each: momentum_buffer (SGD with momentum), exp_avg and exp_avg_sq (Adam).
    # Adam's `step` is a scalar counter per parameter: left out, as the estimate says.
    state = [t for s in opt.state.values() for key, t in s.items() if key != "step" and torch.is_tensor(t)]
    assert m.optimizer_state.value == sum(t.nbytes for t in state)
    if optimizer == "adam":
        assert sum(t.numel() for t in state) == 2 * params
