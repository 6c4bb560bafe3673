"""cnncalc: shapes, parameters, MACs, memory and receptive fields of convolutional networks, exactly."""

from .api import Model, from_torch, load, read_graph
from .builder import Builder
from .errors import CnnCalcError, SpecError
from .ir import Graph, Node, Shape
from .report import Report

__version__ = "0.1.0"
__all__ = [
    "Builder",
    "CnnCalcError",
    "Graph",
    "Model",
    "Node",
    "Report",
    "Shape",
    "SpecError",
    "from_torch",
    "load",
    "read_graph",
]
