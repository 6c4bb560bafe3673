"""Bridges to other frameworks. Only these modules import torch (or onnx), and only when called."""

from __future__ import annotations

from ..errors import CnnCalcError


def require_torch() -> object:
    """Import torch, or say how to install it (the CLI then exits with code 2)."""
    try:
        import torch
    except ImportError:
        raise CnnCalcError("this needs PyTorch, an optional extra of cnncalc: pip install 'cnncalc[torch]'") from None
    return torch
