"""A hand-written U-Net with in-place ReLUs (as users write them), and the same network as a cnncalc spec."""

from __future__ import annotations

import torch
from torch import nn


def _double(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    def __init__(self, width: int = 32, classes: int = 2) -> None:
        super().__init__()
        w = width
        self.enc1, self.enc2, self.enc3 = _double(3, w), _double(w, 2 * w), _double(2 * w, 4 * w)
        self.bottom = _double(4 * w, 8 * w)
        self.pool = nn.MaxPool2d(2)
        self.up3, self.dec3 = nn.ConvTranspose2d(8 * w, 4 * w, 2, stride=2), _double(8 * w, 4 * w)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), _double(4 * w, 2 * w)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2), _double(2 * w, w)
        self.head = nn.Conv2d(w, classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        b = self.bottom(self.pool(e3))
        d3 = self.dec3(torch.cat([self.up3(b), e3], 1))
        d2 = self.dec2(torch.cat([self.up2(d3), e2], 1))
        d1 = self.dec1(torch.cat([self.up1(d2), e1], 1))
        return self.head(d1)


def _double_spec(name: str, cout: int, src: str) -> str:
    return (
        f"{name}.0: conv {cout} k=3 p=1 bias=false from={src}\n{name}.1: bn\n{name}.2: relu inplace=true\n"
        f"{name}.3: conv {cout} k=3 p=1 bias=false\n{name}.4: bn\n{name}.5: relu inplace=true\n"
    )


def unet_spec(width: int = 32, classes: int = 2, size: int = 128) -> str:
    w = width
    return (
        f"input {size}x{size}x3\n"
        + _double_spec("enc1", w, "input")
        + "pool1: maxpool k=2 from=enc1.5\n"
        + _double_spec("enc2", 2 * w, "pool1")
        + "pool2: maxpool k=2 from=enc2.5\n"
        + _double_spec("enc3", 4 * w, "pool2")
        + "pool3: maxpool k=2 from=enc3.5\n"
        + _double_spec("bottom", 8 * w, "pool3")
        + f"up3: convT {4 * w} k=2 s=2 from=bottom.5\ncat3: concat from=up3,enc3.5\n"
        + _double_spec("dec3", 4 * w, "cat3")
        + f"up2: convT {2 * w} k=2 s=2 from=dec3.5\ncat2: concat from=up2,enc2.5\n"
        + _double_spec("dec2", 2 * w, "cat2")
        + f"up1: convT {w} k=2 s=2 from=dec2.5\ncat1: concat from=up1,enc1.5\n"
        + _double_spec("dec1", w, "cat1")
        + f"head: conv {classes} k=1 from=dec1.5\n"
    )
