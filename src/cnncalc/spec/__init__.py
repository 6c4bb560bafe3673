"""The text spec, version 1: parser and writer."""

from .parser import parse_spec
from .writer import write_spec

__all__ = ["parse_spec", "write_spec"]
