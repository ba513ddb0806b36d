"""NumPy's linear algebra, extreme values and spreads on traced values: ``np.trace``,
``np.linalg.det``/``inv``/``solve``/``matrix_power``/``norm``/``slogdet``, ``np.max``/
``np.min`` (``amax``, ``amin``) and ``np.prod`` along an axis, ``np.var``/``np.std``, with
NumPy's own shapes (a 1-D array ``(n,)`` is a column ``(n, 1)`` in the graph; a reduction
along an axis without ``keepdims`` gives a 1-D array).

Each function takes and returns ``(term, NumPy shape)`` values; ``trace_numpy`` wraps them,
as it does ``trace_structural``'s. What NumPy would do that is not written here (batched
``(…, n, n)`` stacks, ``out=``, ``where=``, ``ddof`` other than 0) is an ``UnsupportedError``
naming it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import sympy as sp

from . import broadcasting, indexing, ops
from .algebra import is_matrix
from .builder import Builder, Term
from .composites import matrix_power
from .errors import ShapeError, UnsupportedError

NpShape = tuple[Any, ...]
Value = tuple[Term, NpShape]


def _square(v: Value, what: str) -> Any:
    shape = v[1]
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ShapeError(f"{what} takes a square matrix, not an array of shape {shape}")
    return shape[0]


def numpy_axes(axis: Any, ndim: int, what: str) -> tuple[int, ...]:
    """NumPy's ``axis=`` (None: all; an int or a tuple of them) as sorted axes."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, int):
            raise UnsupportedError(f"{what} with axis={axis!r}: the axis must be an int")
        if not -ndim <= a < ndim:
            raise ShapeError(f"{what}: axis {a} is out of bounds for an array of dimension "
                             f"{ndim}")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{what}: a repeated axis in {axis!r}")
    return tuple(sorted(out))


def along(b: Builder, how: str, v: Value, axis: Any, keepdims: Any, what: str) -> Value:
    """``how`` (prod, max, min, var) of every entry (a scalar), or of each column (axis 0)
    or row (axis 1) of a matrix: a row or a column kept with ``keepdims``, else 1-D."""
    t, s = v
    if not isinstance(keepdims, bool):
        raise UnsupportedError(f"{what} with keepdims={keepdims!r}")
    if not s:
        if axis is not None:  # NumPy's answer depends on float vs 0-d array: refuse
            raise UnsupportedError(f"{what} of a scalar with axis={axis!r}")
        return (sp.S.Zero, ()) if how == "var" else v
    axes = numpy_axes(axis, len(s), what)
    if not is_matrix(t):  # one entry held as a scalar (a (1,) or (1, 1) array): itself
        return (sp.S.Zero if how == "var" else t), \
            (s if keepdims else tuple(d for i, d in enumerate(s) if i not in axes))
    if len(axes) == len(s):
        whole = ops.apply(b, how, [t], what)
        if keepdims:  # (1,) or (1, 1), as NumPy keeps it
            one = sp.Integer(1)
            return broadcasting.broadcast(b, whole, (one, one)), (one,) * len(s)
        return whole, ()
    k = axes[0]
    kept = ops.reduce_axis(b, how, t, k, what)  # a row (k = 0) or a column
    if keepdims:
        return kept, ((sp.Integer(1), s[1]) if k == 0 else (s[0], sp.Integer(1)))
    return (ops.transpose(b, kept, what) if k == 0 else kept), (s[1 - k],)


def _norm(b: Builder, vs: list[Value], kw: dict[str, Any]) -> Value:
    """``np.linalg.norm(x, ord)`` of a 1-D array (a vector's orders) or a 2-D one (a
    matrix's, even of one row or column, as NumPy reads it)."""
    order, axis, keepdims = kw.pop("ord", None), kw.pop("axis", None), kw.pop("keepdims", False)
    if axis is not None or keepdims:
        raise UnsupportedError("np.linalg.norm along an axis, or with keepdims, has no rule")
    (t, s), = vs
    if len(s) > 2:
        raise UnsupportedError(f"np.linalg.norm of an array of shape {s} with ord=")
    if len(s) < 2 and isinstance(order, str):
        raise ShapeError(f"np.linalg.norm: invalid norm order {order!r} for a vector (a 1-D "
                         "array): 'fro' and 'nuc' are a matrix's")
    if len(s) == 2 and order is not None and 1 in s:
        # a row or a column read as a matrix: its one singular value is ‖x‖₂ (ord 2, -2,
        # 'nuc', 'fro'); ord ±1, ±inf are its entries' largest or smallest column or row sum
        if isinstance(order, str) or order in (2, -2):
            if order not in ("fro", "nuc", 2, -2):
                raise ShapeError(f"np.linalg.norm: invalid norm order {order!r} for a matrix")
            return indexing.norm(b, t, None, "np.linalg.norm"), ()
        if order not in (1, -1, math.inf, -math.inf):
            raise ShapeError(f"np.linalg.norm: invalid norm order {order!r} for a matrix (a "
                             f"2-D array of shape {s}): NumPy takes None, 'fro', 'nuc', ±1, "
                             "±2 or ±inf; a vector's p-norm is of a 1-D array")
        k = 0 if abs(order) == 1 else 1
        size = ops.apply(b, "abs", [t], "np.linalg.norm")
        sums = ops.reduce_axis(b, "sum", size, k, "np.linalg.norm")
        return ops.apply(b, "max" if order > 0 else "min", [sums], "np.linalg.norm"), ()
    return indexing.norm(b, t, order, "np.linalg.norm"), ()


def _solve(b: Builder, vs: list[Value], kw: dict[str, Any]) -> Value:
    a, y = vs
    n = _square(a, "np.linalg.solve")
    if not y[1] or y[1][0] != n:
        raise ShapeError(f"np.linalg.solve: b of shape {y[1]} against a {n} × {n} matrix")
    return ops.matmul(b, ops.apply(b, "inv", [a[0]], "np.linalg.solve"), y[0],
                      "np.linalg.solve"), y[1]


def _matrix_power(b: Builder, vs: list[Value], kw: dict[str, Any]) -> Value:
    (a, k) = vs
    _square(a, "np.linalg.matrix_power")
    return matrix_power(b, a[0], k[0], "np.linalg.matrix_power"), a[1]


def _slogdet(b: Builder, vs: list[Value], kw: dict[str, Any]) -> tuple[Value, Value]:
    """(sign, log |det A|): the sign is piecewise constant (no gradient), the log of the
    determinant's size has the gradient A⁻ᵀ."""
    _square(vs[0], "np.linalg.slogdet")
    det = ops.apply(b, "det", [vs[0][0]], "np.linalg.slogdet")
    return ((ops.apply(b, "sign", [det], "np.linalg.slogdet"), ()),
            (ops.apply(b, "log", [ops.apply(b, "abs", [det], "np.linalg.slogdet")],
                       "np.linalg.slogdet"), ()))


def _extreme(how: str) -> Callable[[Builder, list[Value], dict[str, Any]], Value]:
    def run(b: Builder, vs: list[Value], kw: dict[str, Any]) -> Value:
        return along(b, how, vs[0], kw.pop("axis", None), kw.pop("keepdims", False),
                     f"np.{how}")
    return run


def _spread(std: bool) -> Callable[[Builder, list[Value], dict[str, Any]], Value]:
    """``np.var`` (NumPy's, ddof 0) and ``np.std``, its square root."""
    def run(b: Builder, vs: list[Value], kw: dict[str, Any]) -> Value:
        what = "np.std" if std else "np.var"
        ddof, axis = kw.pop("ddof", 0), kw.pop("axis", None)
        t, s = along(b, "var", vs[0], axis, kw.pop("keepdims", False), what)
        if ddof != 0:  # the sum of squares over n − ddof, not n
            shape = vs[0][1]
            n = sp.Mul(*[shape[a] for a in numpy_axes(axis, len(shape), what)])
            if not isinstance(ddof, int) or isinstance(ddof, bool) or not n.is_Integer \
                    or not 0 <= ddof < n:
                raise UnsupportedError(f"{what} with ddof={ddof!r} of {n} entries")
            t = ops.mul(b, sp.Rational(n, n - ddof), t, what)
        return (ops.apply(b, "sqrt", [t], what) if std else t), s
    return run


def _matrix(name: str, scalar: bool) -> Callable[[Builder, list[Value], dict[str, Any]],
                                                  Value]:
    """np.trace, det (a number) and inv (a matrix) of a square matrix."""
    def run(b: Builder, vs: list[Value], kw: dict[str, Any]) -> Value:
        _square(vs[0], f"np.{name}")
        return ops.apply(b, name, [vs[0][0]], f"np.{name}"), (() if scalar else vs[0][1])
    return run


# NumPy's name -> (operands, keywords allowed (besides None-valued ones), the function)
FUNCTIONS: dict[str, tuple[int, frozenset[str], Callable[..., Any]]] = {
    "trace": (1, frozenset(), _matrix("trace", True)),
    "det": (1, frozenset(), _matrix("det", True)),
    "inv": (1, frozenset(), _matrix("inv", False)),
    "solve": (2, frozenset(), _solve),
    "matrix_power": (2, frozenset(), _matrix_power),
    "slogdet": (1, frozenset(), _slogdet),
    "norm": (1, frozenset({"ord", "axis", "keepdims"}), _norm),
    **{name: (1, frozenset({"axis", "keepdims"}), _extreme(how))
       for name, how in (("max", "max"), ("amax", "max"), ("min", "min"), ("amin", "min"))},
    "var": (1, frozenset({"axis", "keepdims", "ddof"}), _spread(False)),
    "std": (1, frozenset({"axis", "keepdims", "ddof"}), _spread(True)),
}
# NumPy's positional parameters after the operands, by name (np.max(x, 0), norm(x, 1))
POSITIONAL = {"norm": ("ord", "axis", "keepdims"), "max": ("axis",), "amax": ("axis",),
              "min": ("axis",), "amin": ("axis",), "var": ("axis",), "std": ("axis",)}
