"""One Linear used twice (its weights counted once), and a layer whose weight is another layer's Parameter."""

import torch
import torch.nn.functional as F  # noqa: N812 - the usual spelling
from torch import nn


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Linear(32, 16)
        self.middle = nn.Linear(16, 16)
        self.decode = nn.Linear(16, 16)
        self.skip = nn.Linear(32, 16, bias=False)
        self.skip.weight = self.encode.weight  # the same Parameter under two names: counted once

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.encode(x))
        h = F.relu(self.middle(h))
        h = F.relu(self.middle(h))  # the same layer again
        return self.decode(h) + self.skip(x)
