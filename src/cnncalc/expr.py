"""Worked arithmetic as data.

An op states each figure as a formula over named quantities, for example
``Step.of("weights", "K_h*K_w*(C_in/g)*C_out", K_h=3, K_w=3, C_in=64, g=1, C_out=128)``.
The value is computed *from that formula*, with exact fractions, so the
arithmetic a student is shown and the number reported can never disagree.
Renderers turn the same Step into plain text, Markdown or LaTeX.
"""

from __future__ import annotations

import ast
import functools
import math
from fractions import Fraction
from types import CodeType
from typing import NamedTuple

Number = int | Fraction


def _div(a: Number, b: Number) -> Number:
    """Exact division: an int when it divides, else a Fraction (never a float)."""
    if isinstance(a, int) and isinstance(b, int) and a % b == 0:
        return a // b
    return Fraction(a) / b


def _floor(x: Number) -> int:
    return math.floor(x)


def _ceil(x: Number) -> int:
    return math.ceil(x)


_GLOBALS = {"__builtins__": {}, "_div": _div, "floor": _floor, "ceil": _ceil, "max": max, "min": min}


class _ExactDivision(ast.NodeTransformer):
    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Div):
            call = ast.Call(func=ast.Name(id="_div", ctx=ast.Load()), args=[node.left, node.right], keywords=[])
            return ast.copy_location(call, node)
        return node


@functools.cache
def _compiled(formula: str) -> CodeType:
    """A formula compiled once: `/` divides exactly; only names, numbers, + - * / // %, floor, ceil, max, min."""
    tree = ast.parse(formula, mode="eval")
    for node in ast.walk(tree):
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call, ast.Load,
                   ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.USub)  # fmt: skip
        unknown_call = isinstance(node, ast.Call) and getattr(node.func, "id", "") not in _GLOBALS
        if not isinstance(node, allowed) or unknown_call:
            raise ValueError(f"unsupported syntax in formula {formula!r}")
    return compile(ast.fix_missing_locations(_ExactDivision().visit(tree)), formula, "eval")


def evaluate(formula: str, values: dict[str, Number]) -> Number:
    result = eval(_compiled(formula), _GLOBALS, values)  # our own formulas, checked in _compiled
    return as_number(result) if isinstance(result, Fraction) else result


def as_number(value: Fraction) -> Number:
    """An exact Fraction as an int when it is whole."""
    return value.numerator if value.denominator == 1 else value


class Step(NamedTuple):
    """One line of worked arithmetic: ``label = formula = substituted = value``."""

    label: str
    formula: str
    values: dict[str, Number]
    value: Number

    @classmethod
    def of(cls, label: str, formula: str, **values: Number) -> Step:
        result = eval(_compiled(formula), _GLOBALS, values)  # our own formulas, checked in _compiled
        if result.__class__ is Fraction and result.denominator == 1:
            result = result.numerator
        return cls(label, formula, values, result)

    def substituted(self) -> str:
        """The formula with every name replaced by its value, in Python syntax."""

        class _Sub(ast.NodeTransformer):
            def visit_Name(inner, node: ast.Name) -> ast.AST:  # noqa: N805
                if node.id in self.values:
                    v = self.values[node.id]
                    text = str(v) if isinstance(v, int) else f"({v})"
                    return ast.copy_location(ast.Name(id=text, ctx=ast.Load()), node)
                return node

        tree = _Sub().visit(ast.parse(self.formula, mode="eval"))
        return ast.unparse(tree)

    def plain(self) -> str:
        pretty = self.formula.replace("*", "·")
        return f"{self.label} = {pretty} = {self.substituted().replace('*', '·')} = {format_number(self.value)}"


def format_number(value: Number | float) -> str:
    if isinstance(value, Fraction):
        return f"{float(value):.4g}"
    if isinstance(value, float):
        return f"{value:.4g}"
    return f"{value:,}"
