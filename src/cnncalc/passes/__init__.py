"""Passes read a graph and fill a Report."""

from .analyze import analyze

__all__ = ["analyze"]
