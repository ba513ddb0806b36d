"""Shapes, in one place: a dimension (an int, or a name for a symbolic size), a shape
``(rows, cols)`` or ``None`` for a scalar, and how a shape is read and written."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp

from .algebra import is_matrix
from .errors import ShapeError

Shape = tuple[sp.Expr, sp.Expr] | None  # None: a scalar
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def dim(v: Any) -> sp.Expr:
    """A dimension: an int, or a name for a symbolic size (``"m"``)."""
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, bool):
        raise ShapeError(f"dimension {v!r} is not a size")
    if isinstance(v, int):
        if v < 1:
            raise ShapeError(f"dimension {v} must be positive")
        return sp.Integer(v)
    if isinstance(v, str) and _NAME.match(v):
        return sp.Symbol(v, integer=True, positive=True)
    raise ShapeError(f"dimension {v!r} is neither a positive int nor a name")


def to_shape(name: str, s: Any) -> Shape:
    """``(r, c)``, ``(n,)`` (a column vector), ``()`` / ``None`` (a scalar)."""
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
    if len(items) > 2:  # the numeric side is in tensors.py; the IR is rank 2 (issue 14)
        raise ShapeError(f"shape of {name!r} has {len(items)} axes: derive takes scalars, "
                         f"vectors and matrices, not yet tensors of rank 3 or more ({s!r})")
    if len(items) != 2:
        raise ShapeError(f"shape of {name!r} must be (rows, cols), (n,) or (), not {s!r}")
    return (dim(items[0]), dim(items[1]))


def shape_of(t: Any) -> Shape:
    return tuple(t.shape) if is_matrix(t) else None  # type: ignore[return-value]


def fmt_shape(s: Shape) -> str:
    return "scalar" if s is None else f"({s[0]}, {s[1]})"
