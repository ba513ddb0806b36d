"""1×1 values: a scalar that ``ops.matmul`` made of a 1×1 product, taken back to the (1, 1)
matrix NumPy keeps, for the operations that need its two axes.
"""

from __future__ import annotations

import sympy as sp
from sympy import MatMul, OneMatrix

from .algebra import is_matrix, mscale
from .builder import Builder, Term
from .functions import Item


def as_matrix(b: Builder, x: Term) -> Term:
    """A scalar that ``matmul`` made of a 1×1 product as that product again: padding,
    joining, indexing and reshaping need its two axes (NumPy keeps them)."""
    rhs = None if is_matrix(x) else _resolved(b, x)
    if isinstance(rhs, Item) and isinstance(_definition(b, rhs.args[0]), MatMul):
        return rhs.args[0]
    if rhs is None and isinstance(x, sp.Expr) and not isinstance(x, sp.Symbol):
        rhs = x  # an inline expression (2·s)
    if rhs is not None and _reads_one_by_one(b, rhs):  # (1 + (W@p)**2)**0.5, W and p 1×1:
        return b.node(mscale(x, OneMatrix(1, 1)))  # NumPy keeps (1, 1) through arithmetic
    return x


def _reads_one_by_one(b: Builder, rhs: sp.Basic, depth: int = 0) -> bool:
    """Whether a scalar node is arithmetic on a 1×1 product read as a scalar (``Item``):
    NumPy keeps such a value (1, 1) until something reduces it. The walk goes through scalar
    operands only, so a reduction (sum, trace: matrix operands) ends it, as an input does."""
    rhs = _resolved(b, rhs) if isinstance(rhs, sp.Symbol) else rhs
    if rhs is None:  # an input
        return False
    if isinstance(rhs, Item):
        return True
    if depth > 32 or is_matrix(rhs):
        return False
    for a in rhs.args:
        if isinstance(a, sp.Symbol):
            d = _definition(b, a)
            if d is not None and _reads_one_by_one(b, d, depth + 1):
                return True
        elif isinstance(a, sp.Expr) and not a.is_Number and _reads_one_by_one(b, a, depth + 1):
            return True
    return False


def _resolved(b: Builder, x: Term) -> sp.Basic | None:
    """The right side of the scalar node ``x``, through named stages (h = _2); None for an
    input."""
    rhs = _definition(b, x)
    while isinstance(rhs, sp.Symbol):
        rhs = _definition(b, rhs)
    return rhs


def _definition(b: Builder, x: Term) -> sp.Basic | None:
    found = next((eq.rhs for eq in reversed(b.nodes) if eq.lhs == x), None)
    if found is None and b.earlier is not None and isinstance(x, (sp.Symbol, sp.MatrixSymbol)):
        return b.earlier(x)  # a stage of an earlier Graph.let
    return found
