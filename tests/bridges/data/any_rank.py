"""Small modules that compute what timm and torchvision models compute, in the ways they write it: a layer called
twice, weights computed in forward, convolutions of every rank, attention by SDPA, einsum and @, a batch made
inside the model. The importer must follow the computation, whatever the classes."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812 - the usual spelling
from torch import nn


class CalledTwice(nn.Module):
    """A convolution and a linear layer each called twice (weights shared, MACs at every call)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.block = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 8)
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        x = F.relu(self.block(x))
        x = F.relu(self.block(x))
        x = x.mean((2, 3))
        return self.head(self.fc(F.relu(self.fc(x))))


class StdConv(nn.Conv2d):
    """timm's StdConv2d: the weight standardised in forward (batch norm over each filter), then a plain conv."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None, training=True, momentum=0.0,
                         eps=1e-6).reshape_as(self.weight)  # fmt: skip
        return F.conv2d(x, w, self.bias, self.stride, self.padding, self.dilation, self.groups)


class ScaledStdConv(nn.Conv2d):
    """timm's ScaledStdConv2d: standardised weight times a learnt gain per output channel."""

    def __init__(self, c_in: int, c_out: int, k: int) -> None:
        super().__init__(c_in, c_out, k, padding=k // 2)
        self.gain = nn.Parameter(torch.ones(c_out, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = F.batch_norm(self.weight.reshape(1, self.out_channels, -1), None, None,
                         weight=(self.gain * self.weight[0].numel() ** -0.5).view(-1), training=True, momentum=0.0,
                         eps=1e-6).reshape_as(self.weight)  # fmt: skip
        return F.conv2d(x, w, self.bias, self.stride, self.padding)


class SameConv(nn.Conv2d):
    """timm's Conv2dSame: TensorFlow's SAME padding worked out in forward, F.pad, then a conv without padding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for n, k, s in zip(x.shape[-2:], self.kernel_size, self.stride, strict=True):
            total = max((math.ceil(n / s) - 1) * s + k - n, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        x = F.pad(x, [left, right, top, bottom])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class WeightsInForward(nn.Module):
    """Convolutions whose weights are made in forward: standardised, scaled, padded the TensorFlow way, a fixed
    blur filter (a buffer), and one computed from the data by a routing layer (CondConv)."""

    def __init__(self) -> None:
        super().__init__()
        self.std = StdConv(3, 16, 3, padding=1)
        self.scaled = ScaledStdConv(16, 16, 3)
        self.same = SameConv(16, 16, 3, stride=2)
        self.register_buffer("blur", torch.ones(16, 1, 3, 3) / 9)
        self.routing = nn.Linear(16, 4)
        self.experts = nn.Parameter(torch.randn(4, 8 * 16 * 3 * 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.std(x))
        x = F.relu(self.scaled(x))
        x = self.same(x)
        x = F.conv2d(F.pad(x, [1, 1, 1, 1], mode="reflect"), self.blur, stride=2, groups=16)
        routes = torch.sigmoid(self.routing(x.mean((2, 3))))
        weight = (routes @ self.experts).view(8, 16, 3, 3)
        return F.conv2d(x, weight, padding=1)


class ChannelAttention1d(nn.Module):
    """ECA: a 1-D convolution across the channels of the pooled map, as a gate."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 32, 3, stride=2, padding=1)
        self.conv = nn.Conv1d(1, 1, 5, padding=2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        y = self.conv(x.mean((2, 3)).view(x.shape[0], 1, -1))
        return x * torch.sigmoid(y).view(x.shape[0], -1, 1, 1)


class Signal1d(nn.Module):
    """A 1-D signal (C, L): Conv1d, BatchNorm1d, pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(2, 16, 7, stride=2, padding=3), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(16, 32, 3, padding=1), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(32, 5),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class Video3d(nn.Module):
    """A video (C, D, H, W): Conv3d, BatchNorm3d, 3-D pooling, as torchvision's r3d_18 starts."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv3d(3, 8, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False), nn.BatchNorm3d(8),
            nn.ReLU(inplace=True), nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
        )  # fmt: skip
        self.conv = nn.Conv3d(8, 16, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(F.relu(self.conv(self.stem(x)))).flatten(1))


class SdpaBlock(nn.Module):
    """timm's Attention on tokens (L, C): qkv, reshape to heads, unbind, F.scaled_dot_product_attention, proj."""

    def __init__(self, dim: int = 32, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        y = F.scaled_dot_product_attention(q, k, v)
        return x + self.proj(y.transpose(1, 2).reshape(b, n, c))


class EinsumAttention(nn.Module):
    """Attention written with einsum, a learnt scale per head, and a relative-position bias picked from a table."""

    def __init__(self, dim: int = 32, heads: int = 4, tokens: int = 16) -> None:
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.bias_table = nn.Parameter(torch.zeros(2 * tokens - 1, heads))
        index = torch.arange(tokens)[:, None] - torch.arange(tokens)[None, :] + tokens - 1
        self.register_buffer("bias_index", index)
        self.out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        h = self.heads
        q = self.q(x).view(b, n, h, c // h)
        k, v = self.kv(x).view(b, n, 2, h, c // h).unbind(2)
        logits = torch.einsum("bnhd,bmhd->bhnm", q, k) / math.sqrt(c // h)
        logits = logits + self.bias_table[self.bias_index].permute(2, 0, 1).unsqueeze(0)
        y = torch.einsum("bhnm,bmhd->bnhd", logits.softmax(-1), v)
        return self.out(y.reshape(b, n, c))


class MatmulAttention(nn.Module):
    """Attention written with @ and a transpose, on a channels-first map's positions (a non-local block)."""

    def __init__(self, c: int = 16) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c, 3, stride=2, padding=1)
        self.theta = nn.Conv2d(c, c // 2, 1)
        self.phi = nn.Conv2d(c, c // 2, 1)
        self.g = nn.Conv2d(c, c // 2, 1)
        self.out = nn.Conv2d(c // 2, c, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        b, c, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)  # B, HW, C/2
        phi = self.phi(x).flatten(2)  # B, C/2, HW
        g = self.g(x).flatten(2).transpose(1, 2)
        attn = torch.softmax(theta @ phi, dim=-1)
        y = torch.bmm(attn, g).transpose(1, 2).reshape(b, c // 2, h, w)
        return x + self.out(y)


class Siamese(nn.Module):
    """Two images run as a batch of two through one encoder (RAFT's feature encoder), then split and joined."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.InstanceNorm2d(16), nn.ReLU())
        self.head = nn.Conv2d(32, 8, 3, padding=1)

    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> torch.Tensor:
        features = self.encoder(torch.cat([image1, image2], dim=0))
        f1, f2 = features.chunk(2, dim=0)
        return self.head(torch.cat([f1, f2], dim=1))


class TinyViT(nn.Module):
    """Patches, a class token and a position embedding (learnt tensors of their own), two blocks, the class token
    read out."""

    def __init__(self, dim: int = 32) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, dim, 8, stride=8)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, 17, dim))
        self.blocks = nn.Sequential(SdpaBlock(dim), SdpaBlock(dim))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])


class DataDependent(nn.Module):
    """Keeps the positions whose activation is positive: a shape only the values decide."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x).flatten(1)
        return y[:, torch.nonzero(y[0] > 0).squeeze(1)]
