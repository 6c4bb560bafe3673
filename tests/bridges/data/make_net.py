"""A function that returns a module, and things that are not modules (for the error messages)."""

from torch import nn


def make_net() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 5),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.AvgPool2d(2),
        nn.Conv2d(8, 16, 3, padding="same"),
        nn.LeakyReLU(0.1),
        nn.Dropout2d(0.1),
        nn.Flatten(),
        nn.Linear(16 * 14 * 14, 10),
        nn.Softmax(dim=1),
    )


def make_number() -> int:
    return 42


class NeedsArguments(nn.Module):
    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        self.layers = nn.Sequential(*[nn.Linear(width, width) for _ in range(depth)])

    def forward(self, x):  # type: ignore[no-untyped-def]
        return self.layers(x)


class Broken(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        raise RuntimeError("this model cannot be built today")


class NotAModule:
    pass


GREETING = "hello"
