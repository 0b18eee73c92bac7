"""Safe arithmetic and comparison expressions over parameter and metric names.

Constraints such as ``acc_capacity_kib <= sp_capacity_kib`` or
``mesh_rows * tile_rows == mesh_cols * tile_cols`` are parsed with :mod:`ast` and evaluated
by walking a whitelist of node types; nothing reaches :func:`eval`. The same expression
evaluates on scalars or, element-wise, on numpy arrays, so the feasibility of millions of
configurations is checked in one pass.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": np.minimum,
    "max": np.maximum,
    "abs": np.abs,
    "log2": np.log2,
    "sqrt": np.sqrt,
}


class ExpressionError(ValueError):
    """An expression is not valid; the message says which part and why."""


@dataclass(frozen=True)
class Expression:
    """A parsed, validated expression.

    Attributes:
        text: The source text, as written by the user.
        names: The variable names it reads, in order of first use.
    """

    text: str
    names: tuple[str, ...]
    _tree: ast.Expression

    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate on scalars or equal-length numpy arrays keyed by name."""
        return _eval(self._tree.body, values)

    def holds(self, values: Mapping[str, Any]) -> Any:
        """Evaluate as a constraint: a bool, or a bool array for array inputs."""
        result = self.evaluate(values)
        if isinstance(result, np.ndarray):
            return result.astype(bool)
        return bool(result)

    def violation(self, values: Mapping[str, Any]) -> float:
        """A constraint's distance from holding, ``<= 0`` when it holds.

        For one comparison ``a <= b`` (or ``a < b``) it is ``a - b``, for ``a >= b`` it is
        ``b - a`` and for ``a == b`` it is ``|a - b|``; any other expression gives 0 or 1.
        """
        body = self._tree.body
        if isinstance(body, ast.Compare) and len(body.ops) == 1:
            lhs = float(_eval(body.left, values))
            rhs = float(_eval(body.comparators[0], values))
            op = body.ops[0]
            if isinstance(op, (ast.Lt, ast.LtE)):
                return lhs - rhs
            if isinstance(op, (ast.Gt, ast.GtE)):
                return rhs - lhs
            if isinstance(op, ast.Eq):
                return abs(lhs - rhs)
        return 0.0 if self.holds(values) else 1.0


def parse(text: str) -> Expression:
    """Parse ``text`` into an :class:`Expression`, or raise :class:`ExpressionError`."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("expected a non-empty expression string")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        col = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"syntax error{col}: {exc.msg}") from None
    names: list[str] = []
    _check(tree.body, names)
    return Expression(text=text.strip(), names=tuple(names), _tree=tree)


def _check(node: ast.AST, names: list[str]) -> None:
    if isinstance(node, ast.Name):
        if node.id in _FUNCTIONS:
            raise ExpressionError(f"'{node.id}' is a function; call it as {node.id}(...)")
        if node.id not in names:
            names.append(node.id)
    elif isinstance(node, ast.Constant):
        if not isinstance(node.value, (int, float, str, bool)):
            raise ExpressionError(f"constant {node.value!r} is not a number, string or bool")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        _check(node.left, names)
        _check(node.right, names)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            raise ExpressionError(f"operator {type(node.op).__name__} is not allowed")
        _check(node.operand, names)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _COMPARE:
                raise ExpressionError(f"comparison {type(op).__name__} is not allowed")
        _check(node.left, names)
        for comparator in node.comparators:
            _check(comparator, names)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            _check(value, names)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            allowed = ", ".join(sorted(_FUNCTIONS))
            raise ExpressionError(f"only these functions may be called: {allowed}")
        if node.keywords or not node.args:
            raise ExpressionError(f"{node.func.id}() takes positional arguments only")
        for arg in node.args:
            _check(arg, names)
    else:
        raise ExpressionError(f"'{ast.unparse(node)}' is not allowed in an expression")


def _eval(node: ast.AST, values: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp):
        return _BINARY[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        if isinstance(node.op, ast.Not):
            return np.logical_not(operand) if isinstance(operand, np.ndarray) else not operand
        return -operand if isinstance(node.op, ast.USub) else +operand
    if isinstance(node, ast.Compare):
        left = _eval(node.left, values)
        result: Any = True
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, values)
            result = np.logical_and(result, _COMPARE[type(op)](left, right))
            left = right
        return result
    if isinstance(node, ast.BoolOp):
        parts = [_eval(v, values) for v in node.values]
        combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
        result = parts[0]
        for part in parts[1:]:
            result = combine(result, part)
        return result
    if isinstance(node, ast.Call):
        func = _FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
        args = [_eval(a, values) for a in node.args]
        if func in (np.minimum, np.maximum) and len(args) > 2:
            out = args[0]
            for arg in args[1:]:
                out = func(out, arg)
            return out
        out = func(*args)
        return out.item() if isinstance(out, np.generic) else out
    raise AssertionError(f"unchecked node {node!r}")  # _check rejects every other node


def is_finite_number(value: Any) -> bool:
    """True for an int or float (not bool) that is neither NaN nor infinite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
