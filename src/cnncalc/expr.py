"""Worked arithmetic as data.

An op states each figure as a formula over named quantities, for example
``Step.of("weights", "K_h*K_w*(C_in/g)*C_out", K_h=3, K_w=3, C_in=64, g=1, C_out=128)``.
The value is computed *from that formula*, with exact fractions, so the
arithmetic a student is shown and the number reported can never disagree.
Renderers turn the same Step into plain text, Markdown or LaTeX.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from fractions import Fraction

Number = int | Fraction

_FUNCTIONS = {
    "floor": lambda x: Fraction(math.floor(x)),
    "ceil": lambda x: Fraction(math.ceil(x)),
    "max": lambda *xs: Fraction(max(xs)),
    "min": lambda *xs: Fraction(min(xs)),
}


def _evaluate(node: ast.AST, values: dict[str, Fraction]) -> Fraction:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body, values)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return Fraction(node.value)
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, values)
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            return left / right
        if isinstance(node.op, ast.FloorDiv):
            return Fraction(left // right)
        if isinstance(node.op, ast.Mod):
            return left % right
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return _FUNCTIONS[node.func.id](*(_evaluate(a, values) for a in node.args))
    raise ValueError(f"unsupported syntax in formula: {ast.dump(node)}")


def as_number(value: Fraction) -> Number:
    """An exact Fraction as an int when it is whole."""
    return value.numerator if value.denominator == 1 else value


@dataclass(frozen=True)
class Step:
    """One line of worked arithmetic: ``label = formula = substituted = value``."""

    label: str
    formula: str
    values: dict[str, Number] = field(default_factory=dict)
    value: Number = 0

    @classmethod
    def of(cls, label: str, formula: str, **values: Number | Fraction) -> Step:
        exact = {name: Fraction(v) for name, v in values.items()}
        result = _evaluate(ast.parse(formula, mode="eval"), exact)
        return cls(label, formula, {k: as_number(v) for k, v in exact.items()}, as_number(result))

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
