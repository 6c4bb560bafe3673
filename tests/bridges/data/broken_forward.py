"""Modules whose forward fails on the meta device, or has parameters forward never uses."""

import torch
from torch import nn


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.other = nn.Conv2d(3, 8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:  # needs the values, which the meta device does not have
            return self.conv(x)
        return self.other(x)


class WithSpare(nn.Module):
    """A head built but never called: its parameters still count, as PyTorch counts them."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.spare = nn.Sequential(nn.Linear(8, 100), nn.BatchNorm1d(100))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)
