"""Calls cnncalc maps from `forward`s: F.conv2d with the module's own weight, functional pooling, interpolate,
chunk and a channel shuffle written out, a ConvNeXt-style channels-last block, and a transposed convolution."""

import torch
import torch.nn.functional as F  # noqa: N812 - the usual spelling
from torch import nn


class OwnConv(nn.Module):
    """A convolution written with F.conv2d on its own parameters."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, 3, 3))
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, stride=1, padding=1)


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    b, c, h, w = x.size()
    x = x.view(b, groups, c // groups, h, w)
    x = torch.transpose(x, 1, 2).contiguous()
    return x.view(b, -1, h, w)


class ShuffleUnit(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        half = c // 2
        self.branch = nn.Sequential(
            nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
            nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1, x2 = x.chunk(2, dim=1)
        return channel_shuffle(torch.cat((x1, self.branch(x2)), dim=1), 2)


class ConvNeXtBlock(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c, eps=1e-6)
        self.pwconv1 = nn.Linear(c, 4 * c)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * c, c)
        self.gamma = nn.Parameter(1e-6 * torch.ones(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)  # N, H, W, C
        y = self.pwconv2(self.act(self.pwconv1(self.norm(y))))
        y = self.gamma * y
        return x + y.permute(0, 3, 1, 2)


class FunctionalZoo(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.own = OwnConv(3, 16)
        self.shuffle = ShuffleUnit(16)
        self.block = ConvNeXtBlock(16)
        self.up = nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1)
        self.head = nn.Conv2d(8, 4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.own(x)), 2)  # 16 x 16
        x = self.block(self.shuffle(x))
        x = F.avg_pool2d(x, kernel_size=3, stride=2, padding=1)  # 8 x 8
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)  # 16 x 16
        x = self.up(x)[:, :8]  # 32 x 32, all 8 channels
        x = torch.tanh(self.head(x))
        return F.adaptive_avg_pool2d(x, (4, 4))
