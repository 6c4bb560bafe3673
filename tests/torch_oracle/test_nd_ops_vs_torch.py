"""Tensors of any rank against PyTorch itself: every new and extended op, one layer at a time, built in torch by hand.

Each case is a spec whose layer `y` is checked, and the same layer written directly in PyTorch (nn.Conv1d, nn.Conv3d,
nn.Linear on tokens, torch.matmul, F.scaled_dot_product_attention with the heads split, F.pad, nn.Parameter, ...),
with the input shapes PyTorch takes. PyTorch then gives every expected figure: the output shape (meta device), the
parameters and buffers (`numel`), the weights and biases apart (parameters named `bias` are biases, as cnncalc
counts beta), and the MACs (`FlopCounterMode` on the meta device, FLOPs // 2, where it counts
scaled_dot_product_attention as its two products). Nothing expected is taken from cnncalc.

The last tests run cnncalc's own PyTorch export (`to_torch`) on real numbers, against the same tensors computed with
torch's own functions: the exported module computes what cnncalc describes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

torch = pytest.importorskip("torch")

import torch.nn.functional as F  # noqa: E402, N812 - after the skip; the usual spelling
from torch import Tensor, nn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402
from translate import count_buffers, split_params, tf_same_pad  # noqa: E402

import cnncalc  # noqa: E402
from cnncalc.errors import CnnCalcError  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")

CF, CL = "channels first", "channels last"


class Fn(nn.Module):
    """A function as a module, with the submodules or tensors it uses as attributes (so that they are counted)."""

    def __init__(self, fn: Callable[..., Tensor], **parts: Any) -> None:
        super().__init__()
        self.fn = fn
        for name, part in parts.items():
            setattr(self, name, part)

    def forward(self, *xs: Tensor) -> Tensor:
        return self.fn(self, *xs)


def fold(module: nn.Module, lead: int) -> nn.Module:
    """A layer that takes (N, C, *sizes) run over `lead` batch-like axes after N: folded into N and back."""
    return Fn(lambda m, x: m.inner(x.flatten(0, lead)).unflatten(0, x.shape[: lead + 1]), inner=module)


def fn(f: Callable[..., Tensor], **parts: Any) -> Callable[[], nn.Module]:
    """A builder of a parameter-free function layer (`parts` built inside the device the case is built on)."""
    return lambda: Fn(lambda m, *xs: f(*xs), **parts)


def heads_split(t: Tensor, heads: int) -> Tensor:
    return t.unflatten(-1, (heads, t.shape[-1] // heads)).transpose(-3, -2)


def mha(heads: int, *, qkv: bool = False, mask: bool = False) -> Callable[[], nn.Module]:
    """softmax(q k^T / sqrt(d) + mask) v per head, by F.scaled_dot_product_attention on (N, ..., heads, L, d)."""

    def run(*xs: Tensor) -> Tensor:
        m = xs[-1] if mask else None
        xs = xs[:-1] if mask else xs
        q, k, v = xs[0].chunk(3, dim=-1) if qkv else (xs * 3 if len(xs) == 1 else xs)
        out = F.scaled_dot_product_attention(*(heads_split(t, heads) for t in (q, k, v)), attn_mask=m)
        return out.transpose(-3, -2).flatten(-2)

    return fn(run)


class FreeTensor(nn.Module):
    """A class token or a position table: a tensor of its own (one batch copy, expanded), or a buffer."""

    def __init__(self, *shape: int, buffer: bool = False) -> None:
        super().__init__()
        if buffer:
            self.register_buffer("table", torch.zeros(1, *shape))
        else:
            self.table = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x: Tensor) -> Tensor:
        return self.table.expand(x.shape[0], *self.table.shape[1:])


def conv_same(conv: Callable[..., nn.Module], sizes: tuple[int, ...], k: int, s: int, *args: Any, **kw: Any) -> Any:
    """TensorFlow's `same` at a stride above 1: pad (before, after) as its documented formula says, then convolve."""
    pads = [tf_same_pad(n, k, s) for n in sizes]
    flat = tuple(v for pair in reversed(pads) for v in pair)
    return lambda: nn.Sequential(Fn(lambda m, x: F.pad(x, flat)), conv(*args, kernel_size=k, stride=s, **kw))


# (id, spec with the layer `y`, the same layer in torch, its input shapes as torch takes them, batch 1 first, the
# layout of its output, and how many batch-like axes follow N in it).
Case = tuple[str, str, Callable[[], nn.Module], tuple[tuple[int, ...], ...], str, int]


def case(
    name: str, spec: str, build: Callable[[], nn.Module], *inputs: tuple[int, ...], layout: str = CF, lead: int = 0
) -> Any:
    return pytest.param(spec, build, inputs, layout, lead, id=name)


# fmt: off
CONV = [
    # --- 1-D: (N, C, L)
    case("conv1d", "input 100x3\ny: conv 8 k=5", lambda: nn.Conv1d(3, 8, 5), (1, 3, 100)),
    case("conv1d-s-p-d", "input 101x4\ny: conv 6 k=3 s=2 p=2 d=3", lambda: nn.Conv1d(4, 6, 3, 2, 2, 3), (1, 4, 101)),
    case("conv1d-groups", "input 50x8\ny: conv 12 k=3 p=1 g=4", lambda: nn.Conv1d(8, 12, 3, padding=1, groups=4),
         (1, 8, 50)),
    case("conv1d-no-bias", "input 20x3\ny: conv 8 k=3 bias=false", lambda: nn.Conv1d(3, 8, 3, bias=False),
         (1, 3, 20)),
    case("conv1d-same-odd", "input 17x3\ny: conv 8 k=3 p=same", lambda: nn.Conv1d(3, 8, 3, padding="same"),
         (1, 3, 17)),
    case("conv1d-same-even-k", "input 17x3\ny: conv 8 k=4 p=same", lambda: nn.Conv1d(3, 8, 4, padding="same"),
         (1, 3, 17)),
    case("conv1d-same-dilated", "input 16x2\ny: conv 4 k=3 d=3 p=same",
         lambda: nn.Conv1d(2, 4, 3, dilation=3, padding="same"), (1, 2, 16)),
    case("conv1d-same-s2", "input 16x3\ny: conv 8 k=3 s=2 p=same", conv_same(nn.Conv1d, (16,), 3, 2, 3, 8),
         (1, 3, 16)),
    case("conv1d-same-s3", "input 17x3\ny: conv 8 k=4 s=3 p=same", conv_same(nn.Conv1d, (17,), 4, 3, 3, 8),
         (1, 3, 17)),
    case("conv1d-audio", "input 16000x1\ny: conv 32 k=80 s=4", lambda: nn.Conv1d(1, 32, 80, 4), (1, 1, 16000)),
    case("dwconv1d", "input 40x8\ny: dwconv k=3 s=2 m=2", lambda: nn.Conv1d(8, 16, 3, 2, groups=8), (1, 8, 40)),
    case("dwconv1d-same", "input 15x8\ny: dwconv k=5 p=same bias=false",
         lambda: nn.Conv1d(8, 8, 5, padding="same", groups=8, bias=False), (1, 8, 15)),
    case("conv1d-lead", "input 4*30x6\ny: conv 5 k=3", lambda: fold(nn.Conv1d(6, 5, 3), 1), (1, 4, 6, 30), lead=1),
    # A weight made by other layers (a fixed filter, a weight computed in forward): F.conv with it, nothing of its own.
    case("conv2d-weight-input", "x: input 8x8x3\nw: input 4x3x3x3\ny: conv 4 k=3 p=1 from=x,w",
         fn(lambda x, w: F.conv2d(x, w[0], padding=1)), (1, 3, 8, 8), (1, 4, 3, 3, 3)),
    case("dwconv1d-weight-input", "x: input 20x6\nw: input 6x1x5\ny: dwconv k=5 s=2 from=x,w",
         fn(lambda x, w: F.conv1d(x, w[0], stride=2, groups=6)), (1, 6, 20), (1, 6, 1, 5)),
    # --- 3-D: (N, C, D, H, W)
    case("conv3d", "input 8x16x16x3\ny: conv 8 k=3", lambda: nn.Conv3d(3, 8, 3), (1, 3, 8, 16, 16)),
    case("conv3d-r3d-stem", "input 16x112x112x3\ny: conv 64 k=3x7x7 s=1x2x2 p=1x3x3 bias=false",
         lambda: nn.Conv3d(3, 64, (3, 7, 7), (1, 2, 2), (1, 3, 3), bias=False), (1, 3, 16, 112, 112)),
    case("conv3d-d-g-asym", "input 9x10x11x8\ny: conv 16 k=3x1x3 s=2x1x2 p=0x1x1 d=2x1x1 g=2",
         lambda: nn.Conv3d(8, 16, (3, 1, 3), (2, 1, 2), (0, 1, 1), (2, 1, 1), groups=2), (1, 8, 9, 10, 11)),
    case("conv3d-temporal", "input 16x28x28x64\ny: conv 64 k=3x1x1 p=1x0x0",
         lambda: nn.Conv3d(64, 64, (3, 1, 1), padding=(1, 0, 0)), (1, 64, 16, 28, 28)),
    case("conv3d-same", "input 7x8x9x2\ny: conv 4 k=3 p=same", lambda: nn.Conv3d(2, 4, 3, padding="same"),
         (1, 2, 7, 8, 9)),
    case("conv3d-same-even", "input 7x8x9x2\ny: conv 4 k=2 p=same", lambda: nn.Conv3d(2, 4, 2, padding="same"),
         (1, 2, 7, 8, 9)),
    case("conv3d-same-s2", "input 7x8x9x2\ny: conv 4 k=3 s=2 p=same", conv_same(nn.Conv3d, (7, 8, 9), 3, 2, 2, 4),
         (1, 2, 7, 8, 9)),
    case("dwconv3d", "input 8x14x14x16\ny: dwconv k=3 p=1", lambda: nn.Conv3d(16, 16, 3, padding=1, groups=16),
         (1, 16, 8, 14, 14)),
    case("dwconv3d-m3-s2", "input 8x14x14x4\ny: dwconv k=3 s=2 m=3",
         lambda: nn.Conv3d(4, 12, 3, 2, groups=4), (1, 4, 8, 14, 14)),
    case("conv3d-lead", "input 2*4x6x6x3\ny: conv 5 k=3 p=1", lambda: fold(nn.Conv3d(3, 5, 3, padding=1), 1),
         (1, 2, 3, 4, 6, 6), lead=1),
    # --- 2-D over batch-like axes: windows or heads repeat the work
    case("conv2d-lead", "input 3*8x8x4\ny: conv 6 k=3 p=1", lambda: fold(nn.Conv2d(4, 6, 3, padding=1), 1),
         (1, 3, 4, 8, 8), lead=1),
    case("conv2d-two-lead", "input 2x3*8x8x4\ny: conv 6 k=3 s=2",
         lambda: fold(nn.Conv2d(4, 6, 3, 2), 2), (1, 2, 3, 4, 8, 8), lead=2),
    # --- transposed
    case("convT1d", "input 20x8\ny: convT 4 k=4 s=2 p=1", lambda: nn.ConvTranspose1d(8, 4, 4, 2, 1), (1, 8, 20)),
    case("convT1d-op-g", "input 10x8\ny: convT 6 k=3 s=3 p=1 op=2 g=2",
         lambda: nn.ConvTranspose1d(8, 6, 3, 3, 1, 2, groups=2), (1, 8, 10)),
    case("convT1d-dilated", "input 10x8\ny: convT 6 k=3 s=1 d=2 op=1 bias=false",
         lambda: nn.ConvTranspose1d(8, 6, 3, 1, 0, 1, bias=False, dilation=2), (1, 8, 10)),
    case("convT3d", "input 4x8x8x16\ny: convT 8 k=2 s=2", lambda: nn.ConvTranspose3d(16, 8, 2, 2),
         (1, 16, 4, 8, 8)),
    case("convT3d-asym", "input 3x5x6x8\ny: convT 4 k=3x4x2 s=1x2x2 p=1x1x0 op=0x1x1 d=1x1x2 g=4",
         lambda: nn.ConvTranspose3d(8, 4, (3, 4, 2), (1, 2, 2), (1, 1, 0), (0, 1, 1), groups=4, dilation=(1, 1, 2)),
         (1, 8, 3, 5, 6)),
    case("convT2d-lead", "input 2*5x5x4\ny: convT 3 k=3 s=2", lambda: fold(nn.ConvTranspose2d(4, 3, 3, 2), 1),
         (1, 2, 4, 5, 5), lead=1),
]
# fmt: on

# fmt: off
POOL = [
    case("maxpool1d", "input 33x4\ny: maxpool k=3 s=2 p=1", lambda: nn.MaxPool1d(3, 2, 1), (1, 4, 33)),
    case("maxpool1d-ceil", "input 10x4\ny: maxpool k=3 s=2 ceil=true", lambda: nn.MaxPool1d(3, 2, ceil_mode=True),
         (1, 4, 10)),
    case("maxpool1d-same-s2", "input 15x4\ny: maxpool k=3 s=2 p=same",
         lambda: nn.Sequential(Fn(lambda m, x: F.pad(x, tf_same_pad(15, 3, 2), value=-float("inf"))),
                               nn.MaxPool1d(3, 2)), (1, 4, 15)),
    case("avgpool1d", "input 9x4\ny: avgpool k=2", lambda: nn.AvgPool1d(2), (1, 4, 9)),
    case("avgpool1d-pad-ceil", "input 10x4\ny: avgpool k=4 s=3 p=2 ceil=true",
         lambda: nn.AvgPool1d(4, 3, 2, ceil_mode=True), (1, 4, 10)),
    case("maxpool3d-s3d", "input 16x56x56x8\ny: maxpool k=1x3x3 s=1x2x2 p=0x1x1",
         lambda: nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)), (1, 8, 16, 56, 56)),
    case("maxpool3d-ceil", "input 7x9x9x2\ny: maxpool k=2 ceil=true", lambda: nn.MaxPool3d(2, ceil_mode=True),
         (1, 2, 7, 9, 9)),
    case("avgpool3d", "input 2x7x7x8\ny: avgpool k=2x7x7 s=1", lambda: nn.AvgPool3d((2, 7, 7), 1),
         (1, 8, 2, 7, 7)),
    case("avgpool3d-pad", "input 5x6x7x3\ny: avgpool k=3 s=2 p=1", lambda: nn.AvgPool3d(3, 2, 1), (1, 3, 5, 6, 7)),
    case("maxpool2d-lead", "input 2*8x8x3\ny: maxpool k=2", lambda: fold(nn.MaxPool2d(2), 1), (1, 2, 3, 8, 8),
         lead=1),
    case("gap1d", "input 50x16\ny: gap", lambda: nn.AdaptiveAvgPool1d(1), (1, 16, 50)),
    case("gap3d", "input 4x7x7x16\ny: gap", lambda: nn.AdaptiveAvgPool3d(1), (1, 16, 4, 7, 7)),
    case("gap2d-lead", "input 2*8x8x3\ny: gap", lambda: fold(nn.AdaptiveAvgPool2d(1), 1), (1, 2, 3, 8, 8), lead=1),
    case("adaptiveavgpool1d", "input 50x4\ny: adaptiveavgpool 7", lambda: nn.AdaptiveAvgPool1d(7), (1, 4, 50)),
    case("adaptiveavgpool1d-grow", "input 5x4\ny: adaptiveavgpool 12", lambda: nn.AdaptiveAvgPool1d(12), (1, 4, 5)),
    case("adaptiveavgpool3d", "input 5x7x9x4\ny: adaptiveavgpool 2x3x4", lambda: nn.AdaptiveAvgPool3d((2, 3, 4)),
         (1, 4, 5, 7, 9)),
    case("adaptiveavgpool3d-1", "input 2x7x7x512\ny: adaptiveavgpool 1x1x1", lambda: nn.AdaptiveAvgPool3d(1),
         (1, 512, 2, 7, 7)),
    case("adaptivemaxpool1d", "input 50x4\ny: adaptivemaxpool 7", lambda: nn.AdaptiveMaxPool1d(7), (1, 4, 50)),
    case("adaptivemaxpool2d", "input 13x11x4\ny: adaptivemaxpool 3x5", lambda: nn.AdaptiveMaxPool2d((3, 5)),
         (1, 4, 13, 11)),
    case("adaptivemaxpool2d-1", "input 7x7x4\ny: adaptivemaxpool 1", lambda: nn.AdaptiveMaxPool2d(1), (1, 4, 7, 7)),
    case("adaptivemaxpool3d", "input 5x7x9x4\ny: adaptivemaxpool 2x3x4", lambda: nn.AdaptiveMaxPool3d((2, 3, 4)),
         (1, 4, 5, 7, 9)),
    case("upsample1d-nearest", "input 10x4\ny: upsample", lambda: nn.Upsample(scale_factor=2.0), (1, 4, 10)),
    case("upsample1d-linear-1.5", "input 45x4\ny: upsample scale=1.4 mode=linear",
         lambda: nn.Upsample(scale_factor=1.4, mode="linear"), (1, 4, 45)),
    case("upsample3d-trilinear", "input 8x28x28x4\ny: upsample scale=2 mode=trilinear",
         lambda: nn.Upsample(scale_factor=2.0, mode="trilinear"), (1, 4, 8, 28, 28)),
    case("upsample3d-nearest-0.5", "input 7x8x9x4\ny: upsample scale=0.5",
         lambda: nn.Upsample(scale_factor=0.5), (1, 4, 7, 8, 9)),
    case("upsample2d-bicubic", "input 7x9x4\ny: upsample scale=3 mode=bicubic",
         lambda: nn.Upsample(scale_factor=3.0, mode="bicubic"), (1, 4, 7, 9)),
    case("upsample2d-lead", "input 3*5x5x2\ny: upsample", lambda: fold(nn.Upsample(scale_factor=2.0), 1),
         (1, 3, 2, 5, 5), lead=1),
]
# fmt: on

# fmt: off
TOKENS = [
    # --- fc over the last axis: nn.Linear on (N, ..., C)
    case("fc-tokens", "input 197x768\ny: fc 2304", lambda: nn.Linear(768, 2304), (1, 197, 768), layout=CL),
    case("fc-tokens-no-bias", "input 10x16\ny: fc 8 bias=false", lambda: nn.Linear(16, 8, bias=False),
         (1, 10, 16), layout=CL),
    case("fc-one-token", "input 1x16\ny: fc 8", lambda: nn.Linear(16, 8), (1, 1, 16), layout=CL),
    case("fc-windows", "input 64*49x96\ny: fc 288", lambda: nn.Linear(96, 288), (1, 64, 49, 96), layout=CL, lead=1),
    case("fc-vector-lead", "input 3*16\ny: fc 4", lambda: nn.Linear(16, 4), (1, 3, 16), layout=CL, lead=1),
    case("fc-pointwise-2d", "input 7x7x96\ny: fc 384 pointwise=true", lambda: nn.Linear(96, 384), (1, 7, 7, 96),
         layout=CL),
    case("fc-pointwise-3d", "input 4x7x7x96\ny: fc 384 pointwise=true bias=false",
         lambda: nn.Linear(96, 384, bias=False), (1, 4, 7, 7, 96), layout=CL),
    case("fc-pointwise-1x1", "input 1x1x8\ny: fc 4 pointwise=true", lambda: nn.Linear(8, 4), (1, 1, 1, 8),
         layout=CL),
    # --- matmul: torch.matmul over the last two axes (N and the batch-like axes broadcast as NumPy does)
    case("matmul", "a: input 10x16\nb: input 16x7\ny: matmul from=a,b", fn(torch.matmul), (1, 10, 16), (1, 16, 7),
         layout=CL),
    case("matmul-bt", "a: input 10x16\nb: input 12x16\ny: matmul bt=true from=a,b",
         fn(lambda a, b: a @ b.transpose(-2, -1)), (1, 10, 16), (1, 12, 16), layout=CL),
    case("matmul-heads-qk", "q: input 12*197x64\nk: input 12*197x64\ny: matmul bt=true from=q,k",
         fn(lambda a, b: a @ b.transpose(-2, -1)), (1, 12, 197, 64), (1, 12, 197, 64), layout=CL, lead=1),
    case("matmul-heads-av", "p: input 12*197x197\nv: input 12*197x64\ny: matmul from=p,v", fn(torch.matmul),
         (1, 12, 197, 197), (1, 12, 197, 64), layout=CL, lead=1),
    case("matmul-broadcast-lead", "a: input 2x3*5x4\nb: input 3*4x6\ny: matmul from=a,b", fn(torch.matmul),
         (1, 2, 3, 5, 4), (1, 1, 3, 4, 6), layout=CL, lead=2),
    case("matmul-broadcast-one", "a: input 4*5x8\nb: input 1*8x3\ny: matmul from=a,b", fn(torch.matmul),
         (1, 4, 5, 8), (1, 1, 8, 3), layout=CL, lead=1),
    case("matmul-matrix-times-shared", "a: input 4*5x8\nb: input 8x3\ny: matmul from=a,b", fn(torch.matmul),
         (1, 4, 5, 8), (1, 1, 8, 3), layout=CL, lead=1),
    case("matmul-vector", "a: input 8\nb: input 8x5\ny: matmul from=a,b",
         fn(lambda a, b: (a.unsqueeze(1) @ b).squeeze(1)), (1, 8), (1, 8, 5), layout=CL),
    case("matmul-map-as-batch", "a: input 3x4x5\nb: input 3x5x2\ny: matmul from=a,b", fn(torch.matmul),
         (1, 3, 4, 5), (1, 3, 5, 2), layout=CL),
    # --- attention: F.scaled_dot_product_attention, the channels split into heads (counted on the meta device)
    case("attention-self", "input 197x768\ny: attention heads=12", mha(12), (1, 197, 768), layout=CL),
    case("attention-qkv", "input 197x2304\ny: attention heads=12 qkv=true", mha(12, qkv=True), (1, 197, 2304),
         layout=CL),
    case("attention-one-head", "input 50x32\ny: attention", mha(1), (1, 50, 32), layout=CL),
    case("attention-cross", "q: input 10x64\nk: input 50x64\nv: input 50x32\ny: attention heads=4 from=q,k,v",
         mha(4), (1, 10, 64), (1, 50, 64), (1, 50, 32), layout=CL),
    case("attention-windows", "input 64*49x288\ny: attention heads=3 qkv=true", mha(3, qkv=True), (1, 64, 49, 288),
         layout=CL, lead=1),
    case("attention-broadcast-lead", "q: input 2x3*10x16\nk: input 3*12x16\nv: input 3*12x8\n"
         "y: attention heads=2 from=q,k,v", mha(2), (1, 2, 3, 10, 16), (1, 1, 3, 12, 16), (1, 1, 3, 12, 8),
         layout=CL, lead=2),
    case("attention-mask", "x: input 4*49x96\nm: input 3*49x49\ny: attention heads=3 mask=true from=x,m",
         mha(3, mask=True), (1, 4, 49, 96), (1, 1, 3, 49, 49), layout=CL, lead=1),
    case("attention-qkv-mask", "x: input 64*49x288\nm: input 3*49x49\ny: attention heads=3 qkv=true mask=true "
         "from=x,m", mha(3, qkv=True, mask=True), (1, 64, 49, 288), (1, 1, 3, 49, 49), layout=CL, lead=1),
    case("attention-on-a-map", "input 7x7x32\ny: attention heads=4",
         fn(lambda x: mha(4)()(x.flatten(1, 2)).unflatten(1, (7, 7))), (1, 7, 7, 32), layout=CL),
]
# fmt: on

# fmt: off
TENSOR = [
    # --- permute and reshape, on tensors held in the written order (N, *lead, *sizes, C)
    case("permute-hwc-to-chw", "input 56x56x96\ny: permute 2,0,1", fn(lambda x: x.permute(0, 3, 1, 2)),
         (1, 56, 56, 96), layout=CL),
    case("permute-tokens", "input 64*49x96\ny: permute 1,0", fn(lambda x: x.transpose(-2, -1)), (1, 64, 49, 96),
         layout=CL, lead=1),
    case("permute-volume", "input 4x5x6x7\ny: permute 3,1,0,2", fn(lambda x: x.permute(0, 4, 2, 1, 3)),
         (1, 4, 5, 6, 7), layout=CL),
    case("permute-with-lead-axes", "input 2*5x7\ny: permute 1,0,2", fn(lambda x: x.permute(0, 2, 1, 3)),
         (1, 2, 5, 7), layout=CL, lead=1),
    case("reshape-map-to-tokens", "input 14x14x768\ny: reshape 196x768", fn(lambda x: x.reshape(1, 196, 768)),
         (1, 14, 14, 768), layout=CL),
    case("reshape-to-windows", "input 56x56x96\ny: reshape 64*49x96", fn(lambda x: x.reshape(1, 64, 49, 96)),
         (1, 56, 56, 96), layout=CL, lead=1),
    case("reshape-to-volume", "input 4x6x8\ny: reshape 2x3x4x8", fn(lambda x: x.reshape(1, 2, 3, 4, 8)),
         (1, 4, 6, 8), layout=CL),
    case("reshape-heads", "input 197x768\ny: reshape 12*197x64",
         fn(lambda x: x.reshape(1, 12, 197, 64)), (1, 197, 768), layout=CL, lead=1),
    case("reshape-lead-to-vector", "input 3*4x5\ny: reshape 60", fn(lambda x: x.reshape(1, 60)), (1, 3, 4, 5),
         layout=CL),
    case("flatten-tokens", "input 10x8\ny: flatten", fn(lambda x: x.flatten(1)), (1, 10, 8), layout=CL),
    case("flatten-volume", "input 2x3x4x5\ny: flatten", fn(lambda x: x.flatten(1)), (1, 5, 2, 3, 4)),
    case("flatten-lead", "input 3*4x5\ny: flatten", fn(lambda x: x.flatten(1)), (1, 3, 4, 5), layout=CL),
    # --- pad: F.pad, the last axis first
    case("pad-tf-same", "input 224x224x3\ny: pad 0,1,0,1", fn(lambda x: F.pad(x, (0, 1, 0, 1))), (1, 3, 224, 224)),
    case("pad-1d", "input 10x4\ny: pad 2,3", fn(lambda x: F.pad(x, (2, 3))), (1, 4, 10)),
    case("pad-3d-one-number", "input 4x5x6x2\ny: pad 1", fn(lambda x: F.pad(x, (1,) * 6)), (1, 2, 4, 5, 6)),
    case("pad-3d-per-axis", "input 4x5x6x2\ny: pad 1,0,0,2,3,1", fn(lambda x: F.pad(x, (3, 1, 0, 2, 1, 0))),
         (1, 2, 4, 5, 6)),
    case("pad-reflect", "input 8x8x2\ny: pad 1,2,3,0 mode=reflect",
         fn(lambda x: F.pad(x, (3, 0, 1, 2), mode="reflect")), (1, 2, 8, 8)),
    case("pad-reflect-largest", "input 3x4\ny: pad 2,2 mode=reflect", fn(lambda x: F.pad(x, (2, 2), mode="reflect")),
         (1, 4, 3)),
    case("pad-replicate-3d", "input 3x4x5x2\ny: pad 2 mode=replicate",
         fn(lambda x: F.pad(x, (2,) * 6, mode="replicate")), (1, 2, 3, 4, 5)),
    case("pad-circular-whole", "input 3x4\ny: pad 3,0 mode=circular", fn(lambda x: F.pad(x, (3, 0), mode="circular")),
         (1, 4, 3)),
    case("pad-constant-keyword", "input 6x6x1\ny: pad 1 mode=constant", fn(lambda x: F.pad(x, (1, 1, 1, 1))),
         (1, 1, 6, 6)),
    case("pad-tokens-lead", "input 3*10x4\ny: pad 1,1", fn(lambda x: F.pad(x, (0, 0, 1, 1))), (1, 3, 10, 4),
         layout=CL, lead=1),
    # --- param: a tensor of its own, no input read (the input only gives the batch)
    case("param-class-token", "input 8\ny: param 1x768", lambda: FreeTensor(1, 768), (1, 8), layout=CL),
    case("param-position-table", "input 8\ny: param 197x768", lambda: FreeTensor(197, 768), (1, 8), layout=CL),
    case("param-bias-table-lead", "input 8\ny: param 3*49x49", lambda: FreeTensor(3, 49, 49), (1, 8), layout=CL,
         lead=1),
    case("param-volume", "input 8\ny: param 8x1x1x96", lambda: FreeTensor(8, 1, 1, 96), (1, 8), layout=CL),
    case("param-buffer", "input 8\ny: param 49x49x1 buffer=true", lambda: FreeTensor(49, 49, 1, buffer=True),
         (1, 8), layout=CL),
    # A relative-position bias: a learnt table (169x3) whose values an index spreads over heads x tokens x tokens.
    case("param-from-a-table", "input 8\ny: param 3*49x49 table=169x3",
         lambda: Fn(lambda m, x: m.table.flatten()[m.index].reshape(1, 3, 49, 49),
                    table=nn.Parameter(torch.zeros(169, 3)), index=torch.zeros(3 * 49 * 49, dtype=torch.long)),
         (1, 8), layout=CL, lead=1),
    # A fixed table made at construction (torchvision's relative coordinates): neither parameter nor statistic.
    case("param-const", "input 8\ny: param 15x15x2 const=true", fn(lambda x: x.new_zeros(1, 15, 15, 2)), (1, 8),
         layout=CL),
    # --- gather: values picked by a fixed index (any index: cnncalc knows the shape, PyTorch counts nothing)
    case("gather-bias-table", "input 169x3\ny: gather 3*49x49",
         fn(lambda t: t.flatten(1)[:, torch.arange(3 * 49 * 49, device=t.device) % 507].reshape(1, 3, 49, 49)),
         (1, 169, 3), layout=CL, lead=1),
    # --- concat and slice along an axis (the written axes; the channels by default)
    case("concat-class-token", "cls: input 1x768\nt: input 196x768\ny: concat axis=0 from=cls,t",
         fn(lambda a, b: torch.cat([a, b], dim=1)), (1, 1, 768), (1, 196, 768), layout=CL),
    case("concat-channels-1d", "a: input 10x3\nb: input 10x5\ny: concat from=a,b",
         fn(lambda a, b: torch.cat([a, b], dim=1)), (1, 3, 10), (1, 5, 10)),
    case("concat-channels-3d", "a: input 2x4x4x3\nb: input 2x4x4x5\nc: input 2x4x4x1\ny: concat from=a,b,c",
         fn(lambda *ts: torch.cat(ts, dim=1)), (1, 3, 2, 4, 4), (1, 5, 2, 4, 4), (1, 1, 2, 4, 4)),
    case("concat-width", "a: input 4x5x3\nb: input 4x2x3\ny: concat axis=1 from=a,b",
         fn(lambda a, b: torch.cat([a, b], dim=2)), (1, 4, 5, 3), (1, 4, 2, 3), layout=CL),
    case("concat-negative-axis", "a: input 4x5x3\nb: input 4x2x3\ny: concat axis=-2 from=a,b",
         fn(lambda a, b: torch.cat([a, b], dim=2)), (1, 4, 5, 3), (1, 4, 2, 3), layout=CL),
    case("concat-depth", "a: input 2x4x4x3\nb: input 3x4x4x3\ny: concat axis=0 from=a,b",
         fn(lambda a, b: torch.cat([a, b], dim=1)), (1, 2, 4, 4, 3), (1, 3, 4, 4, 3), layout=CL),
    case("concat-tokens-lead", "a: input 3*1x8\nb: input 3*9x8\ny: concat axis=0 from=a,b",
         fn(lambda a, b: torch.cat([a, b], dim=2)), (1, 3, 1, 8), (1, 3, 9, 8), layout=CL, lead=1),
    case("slice-class-token", "input 197x768\ny: slice 0:1 axis=0", fn(lambda x: x[:, 0:1]), (1, 197, 768),
         layout=CL),
    case("slice-tokens-after-class", "input 197x768\ny: slice 1:197 axis=0", fn(lambda x: x[:, 1:197]),
         (1, 197, 768), layout=CL),
    case("slice-width", "input 10x20x3\ny: slice 2:5 axis=1", fn(lambda x: x[:, :, 2:5]), (1, 10, 20, 3), layout=CL),
    case("slice-list-tokens", "input 10x6\ny: slice 0,2,4 axis=0", fn(lambda x: x[:, [0, 2, 4]]), (1, 10, 6),
         layout=CL),
    case("slice-negative-axis", "input 10x20x3\ny: slice 0:7 axis=-3", fn(lambda x: x[:, 0:7]), (1, 10, 20, 3),
         layout=CL),
    case("slice-channels-3d", "input 4x5x6x10\ny: slice 3:7", fn(lambda x: x[:, 3:7]), (1, 10, 4, 5, 6)),
    case("slice-channels-1d-list", "input 12x10\ny: slice 5,1,3", fn(lambda x: x[:, [5, 1, 3]]), (1, 10, 12)),
    case("slice-tokens-lead", "input 3*10x8\ny: slice 1:4 axis=0", fn(lambda x: x[:, :, 1:4]), (1, 3, 10, 8),
         layout=CL, lead=1),
    # --- element-wise merges across ranks and lead axes, broadcast as NumPy does (the written axes on the right)
    case("add-windows-and-table", "a: input 4*49x96\nb: input 49x96\ny: add from=a,b", fn(torch.add),
         (1, 4, 49, 96), (1, 1, 49, 96), layout=CL, lead=1),
    case("mul-logits-by-scale", "a: input 64x3*49x49\nb: input 3x1x1\ny: mul from=a,b", fn(torch.mul),
         (1, 64, 3, 49, 49), (1, 1, 3, 1, 1), layout=CL, lead=2),
    case("add-class-and-position", "a: input 197x768\nb: input 197x768\ny: add from=a,b", fn(torch.add),
         (1, 197, 768), (1, 197, 768), layout=CL),
    case("add-volume-residual", "a: input 4x7x7x8\nb: input 4x7x7x8\ny: add from=a,b", fn(torch.add),
         (1, 8, 4, 7, 7), (1, 8, 4, 7, 7)),
    case("softmax-logits", "input 12*197x197\ny: softmax", fn(lambda x: x.softmax(-1)), (1, 12, 197, 197),
         layout=CL, lead=1),
    case("gelu-tokens", "input 197x3072\ny: gelu", lambda: nn.GELU(), (1, 197, 3072), layout=CL),
]
# fmt: on

# fmt: off
NORM = [
    # --- layernorm and rmsnorm over the last n written axes (nn.LayerNorm / nn.RMSNorm on channels last)
    case("layernorm-tokens", "input 197x768\ny: layernorm", lambda: nn.LayerNorm(768), (1, 197, 768), layout=CL),
    case("layernorm-n2", "input 197x768\ny: layernorm n=2", lambda: nn.LayerNorm((197, 768)), (1, 197, 768),
         layout=CL),
    case("layernorm-n3-image", "input 14x14x96\ny: layernorm n=3", lambda: nn.LayerNorm((14, 14, 96)),
         (1, 14, 14, 96), layout=CL),
    case("layernorm-no-affine", "input 10x16\ny: layernorm affine=false",
         lambda: nn.LayerNorm(16, elementwise_affine=False), (1, 10, 16), layout=CL),
    case("layernorm-no-beta", "input 10x16\ny: layernorm beta=false", lambda: nn.LayerNorm(16, bias=False),
         (1, 10, 16), layout=CL),
    case("layernorm-volume", "input 8x56x56x96\ny: layernorm", lambda: nn.LayerNorm(96), (1, 8, 56, 56, 96),
         layout=CL),
    case("layernorm-windows", "input 64*49x96\ny: layernorm", lambda: nn.LayerNorm(96), (1, 64, 49, 96),
         layout=CL, lead=1),
    case("layernorm-head-dim", "input 2*8x96\ny: layernorm n=2", lambda: nn.LayerNorm((8, 96)), (1, 2, 8, 96),
         layout=CL, lead=1),
    case("rmsnorm", "input 10x16\ny: rmsnorm", lambda: nn.RMSNorm(16), (1, 10, 16), layout=CL),
    case("rmsnorm-n2", "input 10x16\ny: rmsnorm n=2", lambda: nn.RMSNorm((10, 16)), (1, 10, 16), layout=CL),
    case("rmsnorm-no-affine", "input 10x16\ny: rmsnorm affine=false",
         lambda: nn.RMSNorm(16, elementwise_affine=False), (1, 10, 16), layout=CL),
    case("rmsnorm-vector", "input 16\ny: rmsnorm", lambda: nn.RMSNorm(16), (1, 16)),
    case("rmsnorm-image", "input 7x7x32\ny: rmsnorm", lambda: nn.RMSNorm(32), (1, 7, 7, 32), layout=CL),
    # --- L2 normalisation of each channel vector (F.normalize; Swin-V2's cosine attention, on heads)
    case("l2norm-tokens", "input 10x16\ny: l2norm", fn(lambda x: F.normalize(x, dim=-1)), (1, 10, 16), layout=CL),
    case("l2norm-heads", "input 4*49x8\ny: l2norm", fn(lambda x: F.normalize(x, dim=-1)), (1, 4, 49, 8),
         layout=CL, lead=1),
    case("l2norm-image", "input 7x7x32\ny: l2norm", fn(lambda x: F.normalize(x, dim=1)), (1, 32, 7, 7)),
    # --- per-channel norms on (N, C, *sizes)
    case("groupnorm-2d", "input 14x14x64\ny: groupnorm", lambda: nn.GroupNorm(32, 64), (1, 64, 14, 14)),
    case("groupnorm-1d", "input 50x16\ny: groupnorm g=4", lambda: nn.GroupNorm(4, 16), (1, 16, 50)),
    case("groupnorm-3d-no-affine", "input 4x7x7x16\ny: groupnorm g=8 affine=false",
         lambda: nn.GroupNorm(8, 16, affine=False), (1, 16, 4, 7, 7)),
    case("groupnorm-one-group", "input 7x7x16\ny: groupnorm g=1", lambda: nn.GroupNorm(1, 16), (1, 16, 7, 7)),
    case("groupnorm-vector", "input 16\ny: groupnorm g=4", lambda: nn.GroupNorm(4, 16), (1, 16)),
    case("instancenorm-1d", "input 50x16\ny: instancenorm", lambda: nn.InstanceNorm1d(16), (1, 16, 50)),
    case("instancenorm-2d-affine", "input 14x14x16\ny: instancenorm affine=true",
         lambda: nn.InstanceNorm2d(16, affine=True), (1, 16, 14, 14)),
    case("instancenorm-3d-track", "input 4x7x7x16\ny: instancenorm track=true",
         lambda: nn.InstanceNorm3d(16, track_running_stats=True), (1, 16, 4, 7, 7)),
    case("instancenorm-affine-track", "input 9x16\ny: instancenorm affine=true track=true",
         lambda: nn.InstanceNorm1d(16, affine=True, track_running_stats=True), (1, 16, 9)),
    case("bn1d-signal", "input 50x16\ny: bn", lambda: nn.BatchNorm1d(16), (1, 16, 50)),
    case("bn3d", "input 4x7x7x16\ny: bn", lambda: nn.BatchNorm3d(16), (1, 16, 4, 7, 7)),
    case("bn2d-lead", "input 3*7x7x16\ny: bn", lambda: fold(nn.BatchNorm2d(16), 1), (1, 3, 16, 7, 7), lead=1),
    case("lrn-1d", "input 50x16\ny: lrn size=3", lambda: nn.LocalResponseNorm(3), (1, 16, 50)),
    case("lrn-3d", "input 4x7x7x16\ny: lrn", lambda: nn.LocalResponseNorm(5), (1, 16, 4, 7, 7)),
    case("layerscale-tokens", "input 197x768\ny: scale",
         lambda: Fn(lambda m, x: x * m.gamma, gamma=nn.Parameter(torch.ones(768))), (1, 197, 768), layout=CL),
]
# fmt: on


def written(shape: tuple[int, ...], layout: str, lead: int) -> list[int]:
    """PyTorch's output shape, batch left out, in the spec's order: the lead axes, the sizes, then the channels."""
    dims = list(shape[1:])
    if layout == CL:
        return dims
    return [*dims[:lead], *dims[lead + 1 :], dims[lead]]


def torch_figures(build: Callable[[], nn.Module], inputs: tuple[tuple[int, ...], ...], layout: str, lead: int) -> Any:
    """What PyTorch says about the layer: written output axes, params, weights, biases, buffers, MACs."""
    with torch.device("meta"):
        module = build()
        xs = [torch.zeros(s) for s in inputs]
    module.eval()
    # Not under no_grad: a view of a parameter made there (a class token's expand) breaks FlopCounterMode's hooks.
    with FlopCounterMode(display=False) as counter:
        out = module(*xs)
    weights, biases = split_params(module)
    return {
        "axes": written(tuple(out.shape), layout, lead),
        "params": weights + biases,
        "weights": weights,
        "biases": biases,
        "buffers": count_buffers(module),
        "macs": counter.get_total_flops() // 2,
    }


def cnncalc_figures(spec: str) -> Any:
    y = cnncalc.load(spec).layer("y")
    return {
        "axes": list(y.output.axes()),
        "params": y.params,
        "weights": y.weights,
        "biases": y.biases,
        "buffers": y.buffers,
        "macs": y.macs,
    }


ALL = CONV + POOL + TOKENS + TENSOR + NORM


@pytest.mark.parametrize(("spec", "build", "inputs", "layout", "lead"), ALL)
def test_op_matches_torch(
    spec: str, build: Callable[[], nn.Module], inputs: tuple[tuple[int, ...], ...], layout: str, lead: int
) -> None:
    assert cnncalc_figures(spec) == torch_figures(build, inputs, layout, lead), spec


def test_attention_macs_are_the_two_products() -> None:
    # FlopCounterMode counts scaled_dot_product_attention on the meta device as its two batched products, QK^T and
    # AV: 2 * h * L_q * L_k * (d_k + d_v) FLOPs. The softmax is not counted.
    figures = torch_figures(mha(4), ((1, 10, 64), (1, 50, 64), (1, 50, 32)), CL, 0)
    assert figures["macs"] == 4 * 10 * 50 * (64 // 4) + 4 * 10 * 50 * (32 // 4)


# The ops new with tensors of any rank, and those extended to them.
NEW_OPS = {
    "conv", "dwconv", "convT", "maxpool", "avgpool", "gap", "adaptiveavgpool", "adaptivemaxpool", "upsample", "fc",
    "matmul", "attention", "permute", "reshape", "flatten", "pad", "param", "gather", "concat", "slice", "layernorm",
    "rmsnorm", "l2norm", "groupnorm", "instancenorm", "bn", "lrn", "add", "mul",
}  # fmt: skip


def test_cases_cover_every_new_op() -> None:
    used = {n.op for p in ALL for n in cnncalc.load(p.values[0]).graph.nodes}
    assert not NEW_OPS - used, sorted(NEW_OPS - used)
    ranks = {len(cnncalc.load(p.values[0]).layer("y").output.sizes) for p in ALL}
    assert ranks == {0, 1, 2, 3}


# ----------------------------------------------------------------------------- what PyTorch refuses

# Real (tiny) CPU tensors: meta kernels skip some of the checks real ones make. cnncalc must refuse what PyTorch does.
# fmt: off
REFUSED: list[tuple[str, str, Callable[[], object]]] = [
    ("upsample-bilinear-on-1d", "input 10x4\nupsample mode=bilinear",
     lambda: nn.Upsample(scale_factor=2.0, mode="bilinear")(torch.zeros(1, 4, 10))),
    ("upsample-trilinear-on-1d", "input 10x4\nupsample mode=trilinear",
     lambda: nn.Upsample(scale_factor=2.0, mode="trilinear")(torch.zeros(1, 4, 10))),
    ("upsample-linear-on-2d", "input 6x6x4\nupsample mode=linear",
     lambda: nn.Upsample(scale_factor=2.0, mode="linear")(torch.zeros(1, 4, 6, 6))),
    ("upsample-bilinear-on-3d", "input 4x6x6x4\nupsample mode=bilinear",
     lambda: nn.Upsample(scale_factor=2.0, mode="bilinear")(torch.zeros(1, 4, 4, 6, 6))),
    ("upsample-bicubic-on-3d", "input 4x6x6x4\nupsample mode=bicubic",
     lambda: nn.Upsample(scale_factor=2.0, mode="bicubic")(torch.zeros(1, 4, 4, 6, 6))),
    ("pad-reflect-as-long-as-the-axis", "input 3x4\npad 3,0 mode=reflect",
     lambda: F.pad(torch.zeros(1, 4, 3), (3, 0), mode="reflect")),
    ("pad-reflect-2d", "input 4x8x2\npad 4,0,0,0 mode=reflect",
     lambda: F.pad(torch.zeros(1, 2, 4, 8), (0, 0, 4, 0), mode="reflect")),
    ("pad-circular-twice-around", "input 3x4\npad 0,4 mode=circular",
     lambda: F.pad(torch.zeros(1, 4, 3), (0, 4), mode="circular")),
    ("instancenorm-one-position", "input 1x1x8\ninstancenorm", lambda: nn.InstanceNorm2d(8)(torch.zeros(1, 8, 1, 1))),
    ("instancenorm-one-token", "input 1x8\ninstancenorm track=true",
     lambda: nn.InstanceNorm1d(8, track_running_stats=True).train()(torch.zeros(2, 8, 1))),
    ("instancenorm-vector", "input 8\ninstancenorm", lambda: nn.InstanceNorm1d(8)(torch.zeros(2, 8, 1))),
    ("conv3d-kernel-over-depth", "input 2x8x8x3\nconv 4 k=3", lambda: nn.Conv3d(3, 4, 3)(torch.zeros(1, 3, 2, 8, 8))),
    ("conv1d-groups", "input 10x6\nconv 4 k=3 g=4", lambda: nn.Conv1d(6, 4, 3, groups=4)),
    ("maxpool1d-pad-over-half", "input 10x4\nmaxpool k=2 p=2",
     lambda: nn.MaxPool1d(2, padding=2)(torch.zeros(1, 4, 10))),
    ("convT3d-output-padding", "input 4x4x4x2\nconvT 2 k=3 s=2 op=2",
     lambda: nn.ConvTranspose3d(2, 2, 3, 2, output_padding=2)(torch.zeros(1, 2, 4, 4, 4))),
    ("matmul-inner-sizes", "a: input 4x8\nb: input 5x3\nmatmul from=a,b",
     lambda: torch.matmul(torch.zeros(1, 4, 8), torch.zeros(1, 5, 3))),
    ("matmul-batch-axes", "a: input 3*4x8\nb: input 2*8x3\nmatmul from=a,b",
     lambda: torch.matmul(torch.zeros(1, 3, 4, 8), torch.zeros(1, 2, 8, 3))),
    ("attention-heads-split-channels", "input 10x30\nattention heads=4", lambda: nn.MultiheadAttention(30, 4)),
    ("attention-keys-and-values-lengths", "q: input 4x8\nk: input 6x8\nv: input 5x8\nattention from=q,k,v",
     lambda: (torch.zeros(1, 4, 8) @ torch.zeros(1, 6, 8).transpose(1, 2)).softmax(-1) @ torch.zeros(1, 5, 8)),
    ("attention-mask-shape", "x: input 10x8\nm: input 10x9\nattention mask=true from=x,m",
     lambda: F.scaled_dot_product_attention(*[torch.zeros(1, 10, 8)] * 3, attn_mask=torch.zeros(1, 10, 9))),
    ("layernorm-more-axes-than-the-input", "input 10x16\nlayernorm n=3",
     lambda: nn.LayerNorm((1, 10, 16))(torch.zeros(10, 16))),
    ("groupnorm-groups-divide", "input 7x7x16\ngroupnorm g=3", lambda: nn.GroupNorm(3, 16)),
    ("reshape-count", "input 10x16\nreshape 12x13", lambda: torch.zeros(1, 10, 16).reshape(1, 12, 13)),
    ("concat-axis-other-sizes", "a: input 4x5x3\nb: input 3x2x3\nconcat axis=1 from=a,b",
     lambda: torch.cat([torch.zeros(1, 4, 5, 3), torch.zeros(1, 3, 2, 3)], dim=2)),
    ("permute-axis-count", "input 10x6\npermute 2,0,1", lambda: torch.zeros(1, 10, 6).permute(0, 3, 1, 2)),
]
# fmt: on


@pytest.mark.parametrize(("spec", "torch_call"), [pytest.param(s, c, id=i) for i, s, c in REFUSED])
def test_refused_like_torch(spec: str, torch_call: Callable[[], object]) -> None:
    with pytest.raises((RuntimeError, ValueError, NotImplementedError, AssertionError)):
        torch_call()
    with pytest.raises(CnnCalcError):
        cnncalc.load(spec)


# ----------------------------------------------------------------------------- the export computes the same tensors


def _run(spec: str, *xs: Tensor) -> tuple[nn.Module, Tensor]:
    net = cnncalc.load(spec).to_torch().eval()
    with torch.no_grad():
        return net, net(*xs)


def test_export_reshapes_permutes_and_slices_in_written_order() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 8, 4, 6)  # a 4x6x8 map, held (N, C, H, W) by the export as by PyTorch's convolutions
    spec = "input 4x6x8\nt: reshape 24x8\np: permute 1,0\ns: slice 2:5 axis=1\nf: flatten\n"
    _, y = _run(spec, x)
    tokens = x.permute(0, 2, 3, 1).reshape(2, 24, 8)  # the values in H, W, C order
    assert torch.equal(y, tokens.transpose(1, 2)[:, :, 2:5].flatten(1))


def test_export_class_token_position_and_attention() -> None:
    torch.manual_seed(0)
    spec = (
        "tok: input 6x16\ncls: param 1x16\nseq: concat axis=0 from=cls,tok\npos: param 7x16\nx: add from=seq,pos\n"
        "qkv: fc 48\na: attention heads=4 qkv=true\nfirst: slice 0:1 axis=0\n"
    )
    net = cnncalc.load(spec).to_torch().eval()
    with torch.no_grad():
        net.cls.normal_()
        net.pos.normal_()
        tok = torch.randn(3, 6, 16)
        got = net(tok)
        seq = torch.cat([net.cls.expand(3, 1, 16), tok], dim=1) + net.pos
        q, k, v = (heads_split(t, 4) for t in net.qkv(seq).chunk(3, dim=-1))
        scores = (q @ k.transpose(-2, -1) / 4**0.5).softmax(-1)  # d = 16 / 4 heads
        want = (scores @ v).transpose(1, 2).flatten(2)[:, 0:1]
    assert got.shape == (3, 1, 16)
    assert torch.allclose(got, want, atol=1e-5)


def test_export_attention_mask_is_added_to_each_heads_logits() -> None:
    torch.manual_seed(0)
    spec = "x: input 2*5x8\nm: input 2*5x5\na: attention heads=2 mask=true from=x,m\n"
    x, m = torch.randn(3, 2, 5, 8), torch.randn(3, 2, 5, 5)  # 2 windows; the mask's 2 is the heads
    _, got = _run(spec, x, m)
    q = heads_split(x, 2)  # (N, windows, heads, L, d)
    scores = (q @ q.transpose(-2, -1) / 2 + m[:, None]).softmax(-1)  # the mask lines up with (heads, L, L)
    assert torch.allclose(got, (scores @ q).transpose(-3, -2).flatten(-2), atol=1e-5)


def test_export_matmul_broadcasts_the_written_axes() -> None:
    torch.manual_seed(0)
    a, b = torch.randn(2, 4, 5, 8), torch.randn(2, 8, 3)  # 4*5x8 times one 8x3 for every head
    _, y = _run("a: input 4*5x8\nb: input 8x3\nmm: matmul from=a,b\n", a, b)
    assert torch.allclose(y, torch.einsum("nhik,nkj->nhij", a, b), atol=1e-5)
    _, t = _run("a: input 4*5x8\nb: input 4*6x8\nmm: matmul bt=true from=a,b\n", a, torch.randn(2, 4, 6, 8))
    assert t.shape == (2, 4, 5, 6)


def test_export_convolves_signals_and_volumes_and_pads_in_written_order() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 5, 6)  # a 4x5x6x3 volume, (N, C, D, H, W)
    net, y = _run("input 4x5x6x3\np: pad 1,0,0,2,3,1\nc: conv 8 k=3 s=2 bias=false\n", x)
    want = F.conv3d(F.pad(x, (3, 1, 0, 2, 1, 0)), net.c.weight, stride=2)  # D by 1,0, H by 0,2, W by 3,1
    assert torch.allclose(y, want, atol=1e-5)
    s = torch.randn(2, 6, 40)  # a 40x6 signal, (N, C, L), read as tokens by fc: (N, L, C)
    net, y = _run("input 40x6\nc: conv 8 k=4 p=same\nf: fc 5\n", s)
    want = net.f(F.conv1d(F.pad(s, (1, 2)), net.c.weight, net.c.bias).transpose(1, 2))  # same: 1 before, 2 after
    assert torch.allclose(y, want, atol=1e-5)


def test_export_norms_over_the_written_last_axes() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 8, 3, 4, 5)  # a 3x4x5x8 volume, (N, C, D, H, W)
    _, y = _run("input 3x4x5x8\nln: layernorm\nr: rmsnorm n=2\n", x)
    cl = x.permute(0, 2, 3, 4, 1)
    want = F.rms_norm(F.layer_norm(cl, (8,)), (5, 8))
    assert torch.allclose(y, want, atol=1e-5)


def test_export_runs_over_lead_axes() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4, 8, 8)  # 3 windows of an 8x8x4 map, (N, 3, C, H, W)
    net, y = _run("input 3*8x8x4\nc: conv 6 k=3 p=1\np: maxpool k=2\n", x)
    want = F.max_pool2d(net.c(x.flatten(0, 1)), 2).unflatten(0, (2, 3))
    assert torch.allclose(y, want, atol=1e-5)


def test_export_joins_and_adds_tensors_held_in_other_layouts() -> None:
    torch.manual_seed(0)
    # A 10x8 signal that a convolution reads (N, C, L) and a linear layer reads as tokens (N, L, C), joined again.
    a = torch.randn(2, 8, 10)
    net, y = _run("a: input 10x8\nc: conv 8 k=3 p=1\nt: fc 4 from=a\nj: concat from=c,t\n", a)
    want = torch.cat([net.c(a), net.t(a.transpose(1, 2)).transpose(1, 2)], dim=1)
    assert torch.allclose(y, want, atol=1e-5)
    # 4 windows of 49 tokens added to a 4x49 map of the same values' shape: position (i, j) meets window i, token j.
    w, m = torch.randn(2, 4, 49, 6), torch.randn(2, 6, 4, 49)
    _, (_, y) = _run("w: input 4*49x6\nm: input 4x49x6\nc: conv 6 k=1 from=m\ns: add from=m,w\n", w, m)
    assert torch.allclose(y, m + w.permute(0, 3, 1, 2), atol=1e-6)
