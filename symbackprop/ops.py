"""The operations a user can write, with their shape rules; each adds one node to a Builder.

Scalars, vectors and matrices mix the way they do on a whiteboard: a scalar times a matrix,
a bias vector ``b`` (m, 1) added to a batch ``W X`` (m, B) (written out as ``b 1ᵀ``), a
constant added to a matrix (``1 - h``). ``*`` between two matrices is the matrix product (as
in SymPy); the element-wise product is ``hadamard(a, b)``; ``**`` on a matrix is element-wise.
"""

from __future__ import annotations

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, OneMatrix, Transpose

from .errors import ShapeError, UnsupportedError
from .functions import MSE, CrossEntropy, Elementwise, Softmax, SqNorm, SumAll
from .graph import Builder, Shape, Term, fmt_shape, shape_of
from .rules import FUNCTION_NAMES, RULES, is_matrix


def _err(where: str, a: Shape, op: str, b: Shape, hint: str = "") -> ShapeError:
    return ShapeError(f"{where}: {fmt_shape(a)} {op} {fmt_shape(b)}{hint}")


def _is_num(t: Term) -> bool:
    return bool(getattr(t, "is_Number", False) or getattr(t, "is_NumberSymbol", False))


def broadcast(b: Builder, t: Term, shape: tuple[sp.Expr, sp.Expr]) -> Term:
    """A scalar spread over a matrix: c·𝟏 (a constant) or the node s·𝟏."""
    if _is_num(t):
        return MatMul(t, OneMatrix(*shape)) if t != 1 else OneMatrix(*shape)
    return b.node(MatMul(t, OneMatrix(*shape)))


def _fit(b: Builder, x: Term, y: Term, where: str, op: str) -> tuple[Term, Term]:
    """Bring two operands of an element-wise operation to one shape, or raise ShapeError."""
    sx, sy = shape_of(x), shape_of(y)
    if sx == sy:
        return x, y
    if sx is None:
        return broadcast(b, x, sy), y  # type: ignore[arg-type]
    if sy is None:
        return x, broadcast(b, y, sx)
    # a column (m, 1) against a batch (m, B): the column repeated, b 1ᵀ
    if sx[0] == sy[0] and sy[1] == 1 and sx[1] != 1:
        return x, b.node(MatMul(y, OneMatrix(1, sx[1])))
    if sx[0] == sy[0] and sx[1] == 1 and sy[1] != 1:
        return b.node(MatMul(x, OneMatrix(1, sy[1]))), y
    raise _err(where, sx, op, sy)


def add(b: Builder, x: Term, y: Term, where: str = "a + b") -> Term:
    if _is_num(x) and _is_num(y):
        return x + y
    x, y = _fit(b, x, y, where, "+")
    if is_matrix(x):
        return b.node(MatAdd(x, y))
    return b.node(sp.Add(x, y))


def neg(b: Builder, x: Term, where: str = "-a") -> Term:
    if is_matrix(x):
        return MatMul(-1, x) if not isinstance(x, MatMul) else b.node(MatMul(-1, x))
    return -x


def sub(b: Builder, x: Term, y: Term, where: str = "a - b") -> Term:
    if _is_num(x) and _is_num(y):
        return x - y
    x, y = _fit(b, x, y, where, "-")
    if is_matrix(x):
        return b.node(MatAdd(x, MatMul(-1, y)))
    return b.node(sp.Add(x, -y))


def mul(b: Builder, x: Term, y: Term, where: str = "a * b") -> Term:
    """Scalar times scalar, scalar times matrix, or (as in SymPy) matrix times matrix."""
    if is_matrix(x) and is_matrix(y):
        return matmul(b, x, y, where)
    if _is_num(x) and _is_num(y):
        return x * y
    if is_matrix(x) or is_matrix(y):
        s, m = (y, x) if is_matrix(x) else (x, y)
        if s == 1:
            return m
        return b.node(MatMul(s, m))
    return b.node(sp.Mul(x, y))


def matmul(b: Builder, x: Term, y: Term, where: str = "a @ b") -> Term:
    sx, sy = shape_of(x), shape_of(y)
    if sx is None or sy is None:
        hint = " (a name without a shape is a scalar: give its shape, or use * for a scalar)"
        raise _err(where, sx, "@", sy, hint)
    if sx[1] != sy[0]:
        hint = ""
        if sx == sy:
            hint = " (for the element-wise product write hadamard(a, b))"
        raise _err(where, sx, "@", sy, hint)
    return b.node(MatMul(x, y))


def div(b: Builder, x: Term, y: Term, where: str = "a / b") -> Term:
    if is_matrix(y):
        if not is_matrix(x) or shape_of(x) != shape_of(y):
            raise _err(where, shape_of(x), "/", shape_of(y),
                       " (division by a matrix is element-wise and needs equal shapes)")
        return b.node(HadamardProduct(x, b.node(HadamardPower(y, -1))))
    if _is_num(y) and y.is_zero:  # Float(0.0) == 0 is False in SymPy
        raise ShapeError(f"{where}: division by zero")
    if _is_num(x) and _is_num(y):
        return x / y
    if is_matrix(x):
        inv = 1 / y if _is_num(y) else b.node(sp.Pow(y, -1))
        return b.node(MatMul(inv, x))
    return b.node(x / y)


def power(b: Builder, x: Term, y: Term, where: str = "a ** b") -> Term:
    if is_matrix(y):
        raise _err(where, shape_of(x), "**", shape_of(y), " (exponents must be scalars)")
    if is_matrix(x):
        if not _is_num(y):
            raise UnsupportedError(f"{where}: an element-wise power of a matrix needs a "
                                   "number as exponent")
        return x if y == 1 else b.node(HadamardPower(x, y))
    return b.node(sp.Pow(x, y))


def hadamard(b: Builder, x: Term, y: Term, where: str = "hadamard(a, b)") -> Term:
    if not is_matrix(x) and not is_matrix(y):
        return mul(b, x, y, where)
    x, y = _fit(b, x, y, where, "⊙")
    return b.node(HadamardProduct(x, y))


def transpose(b: Builder, x: Term, where: str = "a.T") -> Term:
    if not is_matrix(x):
        return x
    if isinstance(x, Transpose):
        return x.args[0]
    return b.node(Transpose(x))


def apply(b: Builder, name: str, args: list[Term], where: str) -> Term:
    """A named function: element-wise (on scalars or entry by entry), or a matrix primitive."""
    arity = {"max": 2, "min": 2, "mse": 2, "cross_entropy": 2, "hadamard": 2}.get(name, 1)
    if len(args) != arity:
        raise ShapeError(f"{where}: {name} takes {arity} argument{'s' * (arity > 1)}, "
                         f"got {len(args)}")
    if name == "hadamard":
        return hadamard(b, args[0], args[1], where)
    if name == "transpose":
        return transpose(b, args[0], where)
    if name in ("mse", "cross_entropy"):
        o, y = args
        if not is_matrix(o) or shape_of(o) != shape_of(y):
            raise _err(where, shape_of(o), "vs", shape_of(y),
                       f" ({name} needs the output and target as matrices of one shape)")
        return b.node(MSE(o, y) if name == "mse" else CrossEntropy(o, y))
    if name in ("sum", "sqnorm", "softmax"):
        (a,) = args
        if not is_matrix(a):
            if name == "sum":
                return a
            if name == "sqnorm":
                return power(b, a, sp.Integer(2), where)
            raise ShapeError(f"{where}: softmax needs a vector or matrix, got a scalar")
        return b.node({"sum": SumAll, "sqnorm": SqNorm, "softmax": Softmax}[name](a))
    if name not in FUNCTION_NAMES:
        raise UnsupportedError(f"{where}: no rule for the function {name!r}")
    f = RULES[name].sympy
    if any(is_matrix(a) for a in args):
        if len(args) == 2:
            args = list(_fit(b, args[0], args[1], where, ","))
        return b.node(Elementwise(name, *args))
    return b.node(f(*args))
