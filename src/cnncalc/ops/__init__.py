"""The op registry. Importing this package registers every op of text spec version 1."""

from . import act, channel, conv, dense, io, merge, norm, pool, recurrent, resize, tensor  # noqa: F401  (registration)
from .base import Calc, Context, Op, Param, Window, all_ops, get_op, register

__all__ = ["Calc", "Context", "Op", "Param", "Window", "all_ops", "get_op", "register"]
