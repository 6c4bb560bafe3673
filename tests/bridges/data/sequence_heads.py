"""Sequence layers over the columns of a feature map: an nn.GRU (on a padded sequence, and on a packed one, which
cnncalc keeps opaque) and an nn.MultiheadAttention."""

import torch
from torch import nn


class ConvGRU(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d((4, 1)))
        self.rnn = nn.GRU(16 * 8, 32, batch_first=True)
        self.classify = nn.Linear(32, 11)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)  # B, 16, 8, W
        seq = f.flatten(1, 2).transpose(1, 2)  # B, W, 128
        out, _ = self.rnn(seq)
        return self.classify(out[:, -1])


class ConvGRUPacked(ConvGRU):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seq = self.features(x).flatten(1, 2).transpose(1, 2)
        packed = nn.utils.rnn.pack_padded_sequence(seq, torch.tensor([seq.shape[1]] * seq.shape[0]), batch_first=True)
        out, _ = self.rnn(packed)
        return self.classify(out.data)  # every step of every sequence, packed


class ConvAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 32, 4, stride=4)
        self.attn = nn.MultiheadAttention(32, 4, batch_first=True)
        self.head = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.conv(x).flatten(2).transpose(1, 2)  # B, HW, 32
        mixed, _ = self.attn(tokens, tokens, tokens, need_weights=False)
        return self.head(mixed.mean(dim=1))
