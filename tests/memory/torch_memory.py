"""PyTorch as the oracle for `cnncalc memory`: what autograd keeps (saved-tensor hooks) and the peak of one training
step (PyTorch's MemTracker), both on FakeTensors on the CPU, so no memory is spent on values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch._subclasses.fake_tensor import FakeTensorMode

OPTIMIZERS: dict[str, Callable[..., torch.optim.Optimizer]] = {
    "sgd": lambda p, foreach: torch.optim.SGD(p, lr=0.1, foreach=foreach),
    "momentum": lambda p, foreach: torch.optim.SGD(p, lr=0.1, momentum=0.9, foreach=foreach),
    "adam": lambda p, foreach: torch.optim.Adam(p, foreach=foreach),
    "adamw": lambda p, foreach: torch.optim.AdamW(p, foreach=foreach),
}


def _build(make: Callable[[], nn.Module], mode: FakeTensorMode) -> nn.Module:
    """The module with fake parameters. Built under the fake mode when it can be (init that reads values, such as
    trunc_normal_'s rejection loop, skipped); else built for real with init skipped, then given fake storage."""
    keep = nn.init.trunc_normal_
    nn.init.trunc_normal_ = lambda t, *a, **k: t  # type: ignore[assignment]
    try:
        with mode:
            try:
                return make()
            except Exception:  # a builder computing sizes from tensor values (RegNet)
                pass
        net = make()
        with mode:
            return net.to_empty(device="cpu")
    finally:
        nn.init.trunc_normal_ = keep  # type: ignore[assignment]


def saved_bytes(make: Callable[[], nn.Module], shape: tuple[int, ...], batch: int = 2, amp: Any = None) -> int:
    """Bytes of the distinct non-parameter storages autograd saves during one training-mode forward."""
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    net = _build(make, mode)
    seen: dict[int, int] = {}
    with mode:
        net.train()
        params = {t.untyped_storage()._cdata for t in (*net.parameters(), *net.buffers())}

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            if storage._cdata not in params:
                seen[storage._cdata] = storage.nbytes()
            return t

        x = torch.empty(batch, *shape)
        hooks = torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t)
        with hooks, torch.autocast("cpu", dtype=amp or torch.bfloat16, enabled=amp is not None):
            net(x)
    return sum(seen.values())


def step_peak(
    make: Callable[[], nn.Module],
    shape: tuple[int, ...],
    batch: int,
    optimizer: str = "adam",
    foreach: bool = True,
    amp: Any = None,
) -> dict[str, int]:
    """MemTracker's peak over two training steps (the second has optimizer state), by kind and 'Total'."""
    from torch.distributed._tools.mem_tracker import MemTracker

    mode = FakeTensorMode(allow_non_fake_inputs=True)
    net = _build(make, mode)
    with mode:
        net.train()
        opt = OPTIMIZERS[optimizer](net.parameters(), foreach)
        x = torch.empty(batch, *shape)
        tracker = MemTracker()
        tracker.track_external(net, opt, x)
        with tracker:
            for _ in range(2):
                with torch.autocast("cpu", dtype=amp or torch.bfloat16, enabled=amp is not None):
                    y = net(x)
                y.float().sum().backward()
                del y
                opt.step()
                opt.zero_grad()
                tracker.reset_mod_stats()
        snap = tracker.get_tracker_snapshot("peak")
    return {str(getattr(k, "value", k)): v for k, v in next(iter(snap.values())).items()}
