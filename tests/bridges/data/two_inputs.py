"""Two forward arguments, two branches, joined by torch.cat along the channels."""

import torch
from torch import nn


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rgb = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU())
        self.depth = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.fuse = nn.Conv2d(24, 32, 1)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)

    def forward(self, img: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        both = torch.cat([self.rgb(img), self.depth(depth)], dim=1)
        return self.pool(self.fuse(both))
