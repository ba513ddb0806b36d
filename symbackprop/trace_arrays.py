"""NumPy's arithmetic on traced ``(term, NumPy shape)`` values: broadcasting, the element-wise
operators, the matmul family, ``sum``/``mean`` along axes, ``cumsum``/``flip``.

A NumPy shape ``()`` is a scalar (a SymPy scalar term), ``(n,)`` a 1-D array (a column
``(n, 1)`` in the graph), ``(r, c)`` a matrix. Each function computes the shape NumPy would
give and builds the graph so that the numbers are NumPy's:

* broadcasting lines up trailing axes, so a 1-D ``x`` against a matrix is a *row*
  (``1 xᵀ`` in the graph) and ``(3,) * (3, 1)`` is an outer product; size-1 axes spread by
  a product with a ones matrix;
* ``@``/``matmul``/``dot``/``inner``/``vdot``/``outer`` follow NumPy's rules for 1-D and 2-D
  operands (``x @ y`` of 1-D arrays is the inner product; ``x.T`` of a 1-D array is ``x``);
* ``sum``/``mean`` honour ``axis`` and ``keepdims``.

``trace_numpy`` wraps these in its ``Traced`` values, as it does ``trace_structural``'s and
``trace_linalg``'s. A shape NumPy would reject is a ``ShapeError`` naming both shapes; what
cannot be reproduced exactly an ``UnsupportedError``.
"""

from __future__ import annotations

import numbers
from typing import Any

import sympy as sp
from sympy import MatMul, OneMatrix

from . import broadcasting, ops
from . import trace_linalg as linalg
from . import trace_structural as structural
from .algebra import is_matrix
from .builder import Builder, Term
from .errors import ShapeError, UnsupportedError

NpShape = tuple[Any, ...]
Value = tuple[Term, NpShape]


def fmt(shape: NpShape) -> str:
    """A shape as NumPy prints it: ``(3,)``, ``(2, 3)``."""
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


# ---------------------------------------------------------------------------------------
# broadcasting and the element-wise operators


def broadcast_shape(sx: NpShape, sy: NpShape, where: str) -> NpShape:
    """NumPy's rule: trailing axes line up; each pair is equal or one of them is 1."""
    n = max(len(sx), len(sy))
    px = (sp.Integer(1),) * (n - len(sx)) + tuple(sx)
    py = (sp.Integer(1),) * (n - len(sy)) + tuple(sy)
    out = []
    for a, c in zip(px, py, strict=True):
        if a == c or c == 1:
            out.append(a)
        elif a == 1:
            out.append(c)
        else:
            raise ShapeError(f"{where}: shapes {fmt(sx)} and {fmt(sy)} do not broadcast "
                             "(NumPy lines up the last axes)")
    return tuple(out)


def spread(b: Builder, v: Value, shape: NpShape) -> Term:
    """``v``'s term brought to the NumPy shape ``shape`` (a scalar stays a scalar)."""
    t, s = v
    if s == tuple(shape) or not s:
        return t
    if len(shape) == 1:  # (1,) against (n,): a (1, 1) term spread down a column
        return b.node(MatMul(OneMatrix(shape[0], 1), t))
    rows, cols = shape
    if len(s) == 1:  # a 1-D array is a row against a matrix
        t, s = ops.transpose(b, t, "a 1-D array as a row"), (sp.Integer(1), s[0])
    if s[0] == 1 and rows != 1:
        t = b.node(MatMul(OneMatrix(rows, 1), t))
    if s[1] == 1 and cols != 1:
        t = b.node(MatMul(t, OneMatrix(1, cols)))
    return t


def binary(b: Builder, op: str, x: Value, y: Value) -> Value:
    """An element-wise operator or comparison with NumPy broadcasting."""
    where = f"np.{op}imum(a, b)" if op in ("max", "min") else \
        "np.arctan2(y, x)" if op == "arctan2" else f"a {op} b"
    shape = broadcast_shape(x[1], y[1], where)
    a, c = spread(b, x, shape), spread(b, y, shape)
    if op == "+":
        t = ops.add(b, a, c, where)
    elif op == "-":
        t = ops.sub(b, a, c, where)
    elif op == "*":
        t = ops.hadamard(b, a, c, where) if is_matrix(a) and is_matrix(c) else \
            ops.mul(b, a, c, where)
    elif op == "/":
        if is_matrix(c) and not is_matrix(a):
            a = broadcasting.broadcast(b, a, tuple(c.shape))
        t = ops.div(b, a, c, where)
    elif op == "**":  # an array exponent: exp(y log x) entry by entry, as in the text
        t = ops.power(b, a, c, where)
    elif op in ("max", "min", "arctan2"):
        t = ops.apply(b, op, [a, c], where)
    elif op in ("<", "<=", ">", ">="):
        t = ops.compare(b, op, a, c, where)
    else:  # pragma: no cover - callers pass the operators above
        raise UnsupportedError(f"no rule for {op}")
    return t, shape


def transpose(b: Builder, v: Value) -> Value:
    """``.T``: a 1-D array or a scalar is its own transpose in NumPy."""
    t, s = v
    if len(s) < 2:
        return v
    return ops.transpose(b, t, "x.T"), (s[1], s[0])


# ---------------------------------------------------------------------------------------
# the matmul family


def _inner1d(b: Builder, x: Value, y: Value, where: str) -> Value:
    if x[1] != y[1]:
        raise ShapeError(f"{where}: shapes {fmt(x[1])} and {fmt(y[1])} are not aligned")
    return ops.apply(b, "sum", [ops.hadamard(b, x[0], y[0], where)], where), ()


def matmul(b: Builder, x: Value, y: Value, name: str) -> Value:
    """``x @ y`` as NumPy defines it for 1-D and 2-D operands (``name`` is for messages)."""
    sx, sy = x[1], y[1]
    where = f"{name}: {fmt(sx)} @ {fmt(sy)}" if name != "@" else f"{fmt(sx)} @ {fmt(sy)}"
    if not sx or not sy:
        raise ShapeError(f"{where}: matmul of a scalar (NumPy refuses it; use *)")
    if len(sx) == 1 and len(sy) == 1:
        return _inner1d(b, x, y, where)
    if sx[-1] != sy[0]:
        hint = " (for the element-wise product write a * b)" if sx == sy else ""
        raise ShapeError(f"{where}: the inner dimensions differ{hint}")
    # a (1, 1) value whose term is a number (std(x, keepdims=True) of a column) is a 1×1 here
    mx, my = (broadcasting.broadcast(b, t, (1, 1)) if len(s) == 2 and not is_matrix(t) else t
              for t, s in (x, y))
    if len(sx) == 2 and len(sy) == 1:  # (m, n) @ (n,) -> (m,)
        return ops.matmul(b, mx, my, where), (sx[0],)
    if len(sx) == 1:  # (n,) @ (n, k) -> (k,) = (Wᵀ x)
        wt = ops.transpose(b, my, where)
        return ops.matmul(b, wt, mx, where), (sy[1],)
    return ops.matmul(b, mx, my, where), (sx[0], sy[1])


def dot(b: Builder, x: Value, y: Value) -> Value:
    if not x[1] or not y[1]:
        return binary(b, "*", x, y)
    return matmul(b, x, y, "np.dot")


def inner(b: Builder, x: Value, y: Value) -> Value:
    """np.inner: a sum over the last axes of both."""
    if not x[1] or not y[1]:
        return binary(b, "*", x, y)
    if len(y[1]) == 2:
        return matmul(b, x, transpose(b, y), "np.inner")
    return matmul(b, x, y, "np.inner")


def vdot(b: Builder, x: Value, y: Value) -> Value:
    """np.vdot: both flattened, then the inner product (same shapes only: no reshapes here)."""
    if x[1] != y[1]:
        raise UnsupportedError(f"np.vdot of shapes {fmt(x[1])} and {fmt(y[1])}: only equal "
                               "shapes are traced (flattening is not)")
    return reduce(b, binary(b, "*", x, y), "sum", None, False, {})


def outer(b: Builder, x: Value, y: Value) -> Value:
    if len(x[1]) != 1 or len(y[1]) != 1:
        raise UnsupportedError(f"np.outer of shapes {fmt(x[1])} and {fmt(y[1])}: only two "
                               "1-D arrays are traced (flattening is not)")
    row = ops.transpose(b, y[0], "np.outer")
    return ops.matmul(b, x[0], row, "np.outer"), (x[1][0], y[1][0])


def np_matmul(b: Builder, x: Value, y: Value) -> Value:
    return matmul(b, x, y, "np.matmul")


PRODUCTS = {"dot": dot, "inner": inner, "vdot": vdot, "outer": outer, "matmul": np_matmul}


# ---------------------------------------------------------------------------------------
# reductions and scans along an axis


def reduce(b: Builder, v: Value, how: str, axis: Any, keepdims: Any,
           kw: dict[str, Any]) -> Value:
    """``sum``/``mean``/``prod`` over ``axis`` (None: all), with ``keepdims``; other keywords
    refused."""
    what = f"np.{how}"
    if kw:
        raise UnsupportedError(f"{what} with {', '.join(kw)} has no rule")
    if not isinstance(keepdims, bool):
        raise UnsupportedError(f"{what} with keepdims={keepdims!r}")
    t, s = v
    if not s and axis is not None:  # NumPy's answer depends on float vs 0-d array: refuse
        raise UnsupportedError(f"{what} of a scalar with axis={axis!r}")
    axes = linalg.numpy_axes(axis, len(s), what)
    count = sp.Mul(*[s[a] for a in axes]) if axes else sp.S.One
    if how == "prod":
        return linalg.along(b, "prod", v, axis, keepdims, what)
    one = sp.Integer(1)
    out: Value
    if not s:
        out = v
    elif len(axes) == len(s):  # everything
        total = ops.apply(b, "sum", [t], what)
        if not keepdims:
            out = total, ()
        elif len(s) == 1:  # (1,): 1ᵀ x as a (1, 1) term
            out = b.node(MatMul(OneMatrix(1, s[0]), t)), (one,)
        else:
            row = b.node(MatMul(OneMatrix(1, s[0]), t))
            out = b.node(MatMul(row, OneMatrix(s[1], 1))), (one, one)
    elif axes == (0,):  # a matrix down its columns
        if keepdims:
            out = b.node(MatMul(OneMatrix(1, s[0]), t)), (one, s[1])
        else:
            tt = ops.transpose(b, t, what)
            out = b.node(MatMul(tt, OneMatrix(s[0], 1))), (s[1],)
    else:  # axes == (1,): along each row
        col = b.node(MatMul(t, OneMatrix(s[1], 1)))
        out = col, ((s[0], one) if keepdims else (s[0],))
    if how == "mean":
        if not count.is_Integer:
            raise UnsupportedError(f"the mean over {count} entries: give numeric shapes")
        if count != 1:
            out = binary(b, "/", out, (count, ()))
    return out


def scan(b: Builder, name: str, v: Value, axis: Any) -> Value:
    """``np.cumsum``/``np.cumprod``/``np.flip`` of a vector, or of a matrix along ``axis`` (a
    product with the lower triangle of ones or the exchange matrix); without ``axis`` a
    matrix's cumsum/cumprod is the scan of its entries row by row (a 1-D result, as NumPy
    flattens it) and its flip reverses both axes."""
    t, s = v
    what = f"np.{name}"
    if not s:  # NumPy's cumsum/cumprod of a scalar is 1-D (1,); its flip is the scalar
        return v if name == "flip" else (broadcasting.broadcast(b, t, (1, 1)), (sp.Integer(1),))
    if len(s) == 2 and axis is None:
        if name == "flip":  # every axis reversed: J X J
            t = ops.reduce_axis(b, name, ops.reduce_axis(b, name, t, 0, what), 1, what)
            return t, s
        if not all(isinstance(d, numbers.Integral) for d in s):  # SymPy's Integer too
            raise UnsupportedError(f"{what} of a matrix without axis= runs over its entries "
                                   "row by row (NumPy flattens it): give numeric shapes, or "
                                   "axis=0 or axis=1")
        # NumPy flattens it row by row (order 'C'), then scans the 1-D array
        flat = structural.reshape(b, v, -1)
        return ops.reduce_axis(b, name, flat[0], 0, what), flat[1]
    k = linalg.numpy_axes(axis, len(s), what)[0] if axis is not None else 0
    return ops.reduce_axis(b, name, t, k, what), s
