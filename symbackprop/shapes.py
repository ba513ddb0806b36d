"""Shapes, in one place: a dimension (an int, or a name for a symbolic size), a shape
``(rows, cols)`` or ``None`` for a scalar, and how a shape is read and written.

A tensor of rank 3 or more, ``(N, C, H, W)``, is a matrix of shape ``(Extent(N, C, H, W), 1)``
to SymPy: one dimension that keeps the axes. SymPy's shape checks then hold element-wise
sums and products to equal n-D shapes, a tensor never mixes with a matrix that happens to
have as many entries, and every intermediate named from a tensor is a tensor again; the
n-D primitives (``tensor_nodes.py``) read the axes back with ``tensor_dims``."""

from __future__ import annotations

import numbers
import re
from typing import Any

import numpy as np
import sympy as sp

from .algebra import is_matrix
from .errors import ShapeError

Shape = tuple[sp.Expr, sp.Expr] | None  # None: a scalar

# NumPy's most axes an array may have (NPY_MAXDIMS: 64 since NumPy 2.0, 32 before); a
# shape of more is refused where it is read, not by NumPy at the first array made from it
def _numpy_max_rank() -> int:
    try:
        from numpy._core import multiarray
    except ImportError:  # NumPy 1.x
        return 32
    return int(getattr(multiarray, "MAXDIMS", 64))


MAX_RANK = _numpy_max_rank()


def check_rank(n: int, what: str) -> None:
    """``what`` (a name's shape, a primitive's result) with ``n`` axes: NumPy must hold it."""
    if n > MAX_RANK:
        raise ShapeError(f"{what} has {n} axes; NumPy's arrays have at most {MAX_RANK} "
                         "(numpy's MAXDIMS)")


class Extent(sp.Expr):  # type: ignore[misc]
    """The number of entries of a tensor of rank ≥ 3, keeping its axes (see above); never
    multiplied out, so two tensors of the same size but other axes stay apart."""

    is_integer = True
    is_positive = True
    is_nonnegative = True
    is_finite = True
    is_real = True
    is_commutative = True

    def __new__(cls, *dims: sp.Expr) -> Extent:
        return sp.Expr.__new__(cls, *(sp.Integer(d) if isinstance(d, int) else d  # type: ignore[no-any-return]
                                      for d in dims))

    @property
    def size(self) -> sp.Expr:
        return sp.Mul(*self.args)

    def _eval_evalf(self, prec: int) -> sp.Expr:
        return self.size._eval_evalf(prec)

    def __int__(self) -> int:
        return int(self.size)

    def _sympystr(self, printer: Any) -> str:
        return "*".join(printer._print(d) for d in self.args)

    def _latex(self, printer: Any) -> str:
        return " ".join(printer._print(d) for d in self.args) if not self.size.is_Integer \
            else printer._print(self.size)


def tensor_dims(shape: Any) -> tuple[sp.Expr, ...] | None:
    """The axes of a tensor's shape ``(Extent(...), 1)``; None for a matrix or a scalar."""
    if shape is not None and isinstance(shape[0], Extent):
        return tuple(shape[0].args)
    return None


def tensor_shape(dims: Any) -> tuple[sp.Expr, sp.Expr]:
    """The SymPy shape of a value with these axes: rank ≥ 3 an ``Extent``, else a matrix's
    (a 1-D ``(n,)`` is a column, as everywhere in the text)."""
    dims = tuple(sp.Integer(d) if isinstance(d, int) else d for d in dims)
    check_rank(len(dims), "the result")
    if len(dims) >= 3:
        return (Extent(*dims), sp.S.One)
    if len(dims) == 2:
        return (dims[0], dims[1])
    if len(dims) == 1:
        return (dims[0], sp.S.One)
    raise ShapeError("a tensor primitive gives a scalar here; use sum(...)")


def axes_of(shape: Any) -> tuple[sp.Expr, ...]:
    """Every shape as its axes: a tensor's, a matrix's two, a scalar's none."""
    return () if shape is None else tensor_dims(shape) or tuple(shape)


def dimensions_of(symbols: Any) -> list[sp.Symbol]:
    """The scalar symbols among ``symbols`` that are an axis of one of the matrices among
    them: sizes, bound from the shapes of the values given for those matrices (as
    ``values.coerce_value`` binds them), never values of their own. A size in a coefficient
    (``mean(X, axis=1)`` is ``(1/n)·X 1``, a Hessian of ``var(x)`` holds ``2/n``) reads the
    dimension itself; a scalar input that only shares its name (``sum(z)/n`` in text: a
    real ``n``, the dimension an integer one) is another symbol and stays an input."""
    symbols = list(symbols)
    axes = {a for s in symbols if is_matrix(s) for a in axes_of(tuple(s.shape))
            if isinstance(a, sp.Symbol)}
    return [s for s in symbols if s in axes] if axes else []


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def dim(v: Any) -> sp.Expr:
    """A dimension: an int, or a name for a symbolic size (``"m"``)."""
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, (bool, np.bool_)):
        raise ShapeError(f"dimension {v!r} is not a size")
    if isinstance(v, numbers.Integral):  # NumPy's integers too: sizes computed with NumPy
        if v < 1:
            raise ShapeError(f"dimension {v} must be positive")
        return sp.Integer(int(v))
    if isinstance(v, str) and _NAME.match(v):
        return sp.Symbol(v, integer=True, positive=True)
    raise ShapeError(f"dimension {v!r} is neither a positive int nor a name")


def declared(v: Any) -> Any:
    """A shape as given, NumPy's array of whole numbers (``np.array([3])``) and a list read
    as the tuple they stand for: ``(n,)`` declares NumPy's 1-D array however it is written."""
    if isinstance(v, np.ndarray) and v.ndim == 1 and np.issubdtype(v.dtype, np.integer):
        return tuple(v.tolist())
    return tuple(v) if isinstance(v, list) and v else v  # ([] is no shape: refused)


def to_shape(name: str, s: Any) -> Shape:
    """``(r, c)``, ``(n,)`` (a column vector), ``()`` / ``None`` (a scalar); NumPy's array of
    whole numbers (``np.array([2, 3])``) as the tuple of them."""
    s = declared(s)
    if isinstance(s, np.ndarray):
        raise ShapeError(f"shape of {name!r} must be (rows, cols), (n,) or (), not an "
                         f"array of {s.dtype} {s.shape} (a value? pass its .shape)")
    if s is None or s == ():
        return None
    if isinstance(s, (int, str)):
        s = (s,)
    try:
        items = tuple(s)
    except TypeError:
        raise ShapeError(f"shape of {name!r} must be (rows, cols), (n,) or (), not {s!r}") from None
    if len(items) == 1:
        items = (items[0], 1)
    if len(items) > 2:
        check_rank(len(items), f"the shape of {name!r}")
        return (Extent(*(dim(d) for d in items)), sp.S.One)
    if len(items) != 2:
        raise ShapeError(f"shape of {name!r} must be (rows, cols), (n,) or (), not {s!r}")
    return (dim(items[0]), dim(items[1]))


def shape_of(t: Any) -> Shape:
    return tuple(t.shape) if is_matrix(t) else None  # type: ignore[return-value]


def fmt_shape(s: Shape) -> str:
    if s is None:
        return "scalar"
    return "(" + ", ".join(str(d) for d in axes_of(s)) + ")"
