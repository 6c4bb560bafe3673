"""Squeeze-and-excitation written in `forward`: `.mean((2, 3), keepdim=True)` and `x * torch.sigmoid(...)`."""

import torch
import torch.nn.functional as F  # noqa: N812 - the usual spelling
from torch import nn


class SEBlock(nn.Module):
    def __init__(self, c: int, reduction: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(c, c // reduction, 1)
        self.fc2 = nn.Conv2d(c // reduction, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        s = F.relu(self.fc1(s))
        return x * torch.sigmoid(self.fc2(s))


class SENet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, stride=2, padding=1)
        self.se1 = SEBlock(32)
        self.conv2 = nn.Conv2d(32, 64, 3, stride=2, padding=1, groups=32)  # grouped: 2 filters per input channel
        self.se2 = SEBlock(64, reduction=8)
        self.head = nn.Linear(64, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.se1(F.silu(self.conv1(x)))
        x = self.se2(F.hardswish(self.conv2(x)))
        return self.head(x.mean((2, 3)))
