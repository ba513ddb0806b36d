"""NumPy's structural functions on traced values: indexing and slicing, ``concatenate``,
``stack``, ``vstack``, ``hstack``, ``reshape``/``ravel``/``flatten``, ``kron``, ``tile``,
``repeat`` and ``pad``, with NumPy's own rules for 1-D arrays (a 1-D array ``(n,)`` is a
column ``(n, 1)`` in the graph; ``X[i]`` of a matrix is the 1-D row i, ``vstack`` reads 1-D
arrays as rows, ``tile`` and ``kron`` promote a 1-D array to a row against a matrix).

Each function takes and returns ``(term, NumPy shape)``; ``trace_numpy`` wraps them. Anything
NumPy would do that is not written here (fancy or boolean indexing, ``None``/``...`` in an
index, n-D results, other pad modes) is an ``UnsupportedError`` naming it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import sympy as sp

from . import broadcasting, indexing, one_by_one, ops
from .builder import Builder, Term
from .errors import ShapeError, UnsupportedError

NpShape = tuple[Any, ...]
Value = tuple[Term, NpShape]


def _ints(shape: NpShape) -> tuple[int, ...]:
    return tuple(int(d) for d in shape)


def _row(b: Builder, v: Value, where: str) -> Term:
    """A 1-D array as the row NumPy promotes it to (``(n,)`` → ``(1, n)``)."""
    return ops.transpose(b, v[0], where) if len(v[1]) == 1 else v[0]


def index(b: Builder, v: Value, key: Any) -> Value:
    """``x[key]``: whole numbers and slices (basic indexing) only."""
    term, shape = v
    keys = key if isinstance(key, tuple) else (key,)
    where = "x[...]"
    for k in keys:
        if not (isinstance(k, slice) or (isinstance(k, int) and not isinstance(k, bool))):
            raise UnsupportedError(f"indexing a traced value with {type(k).__name__} "
                                   "(only whole numbers and slices: basic indexing)")
        if isinstance(k, slice) and not all(p is None or (isinstance(p, int) and not
                                                          isinstance(p, bool))
                                            for p in (k.start, k.stop, k.step)):
            raise UnsupportedError("a slice of a traced value with bounds that are not "
                                   "whole numbers")
    if not shape:
        raise ShapeError("a scalar cannot be indexed (NumPy: invalid index to a scalar)")
    if len(keys) > len(shape):
        raise ShapeError(f"{len(keys)} indices for an array of {len(shape)} dimension"
                         f"{'s' * (len(shape) > 1)}")
    term = one_by_one.as_matrix(b, term)  # a (1, 1) product xᵀx may be held as its one entry
    if len(shape) == 1:
        out = indexing.take(b, term, keys[0], 0 if isinstance(keys[0], int) else slice(None),
                            where)
        return out, (() if isinstance(keys[0], int) else (_len(shape[0], keys[0]),))
    r, c = (*keys, slice(None)) if len(keys) == 1 else keys
    out = indexing.take(b, term, r, c, where)
    if isinstance(r, int) and isinstance(c, int):
        return out, ()
    if isinstance(r, int):  # a row of the matrix: 1-D, a column in the graph
        return ops.transpose(b, out, where), (_len(shape[1], c),)
    if isinstance(c, int):
        return out, (_len(shape[0], r),)
    return out, (_len(shape[0], r), _len(shape[1], c))


def _len(n: Any, k: slice) -> int:
    return len(range(int(n))[k])


def concatenate(b: Builder, vs: Sequence[Value], axis: Any) -> Value:
    ndims = {len(s) for _, s in vs}
    if not vs or ndims == {0}:
        raise ShapeError("np.concatenate: zero-dimensional arrays cannot be concatenated")
    if len(ndims) > 1:
        raise ShapeError("np.concatenate: the arrays must have the same number of dimensions")
    nd = ndims.pop()
    if axis is None:
        raise UnsupportedError("np.concatenate with axis=None (it flattens the arrays)")
    if type(axis) is not int or not -nd <= axis < nd:
        raise ShapeError(f"np.concatenate: axis {axis!r} for {nd}-D arrays")
    k = axis % nd
    out = indexing.concatenate(b, [t for t, _ in vs], k, "np.concatenate")
    shapes = [_ints(s) for _, s in vs]
    if nd == 1:
        return out, (sum(s[0] for s in shapes),)
    total = sum(s[k] for s in shapes)
    return out, ((total, shapes[0][1]) if k == 0 else (shapes[0][0], total))


def stack(b: Builder, vs: Sequence[Value], axis: Any) -> Value:
    ndims = {len(s) for _, s in vs}
    if ndims - {0, 1} or len(ndims) != 1:
        raise UnsupportedError("np.stack of matrices (the result would be 3-D) or of arrays "
                               "of different dimensions")
    if type(axis) is not int:
        raise ShapeError(f"np.stack: axis {axis!r}")
    nd = ndims.pop() + 1
    if not -nd <= axis < nd:
        raise ShapeError(f"np.stack: axis {axis} for a {nd}-D result")
    out = indexing.stack(b, [t for t, _ in vs], axis % nd if nd == 2 else 0, "np.stack")
    if nd == 1:
        return out, (len(vs),)
    n = int(vs[0][1][0])
    return out, ((len(vs), n) if axis % 2 == 0 else (n, len(vs)))


def vstack(b: Builder, vs: Sequence[Value]) -> Value:
    """1-D arrays as rows, scalars as 1×1 blocks, matrices as they are."""
    one = (sp.S.One, sp.S.One)
    terms = [_row(b, v, "np.vstack") if v[1] else broadcasting.broadcast(b, v[0], one)
             for v in vs]
    out = indexing.concatenate(b, terms, 0, "np.vstack")
    shapes = [(1, int(s[0])) if len(s) == 1 else ((1, 1) if not s else _ints(s)) for _, s in vs]
    return out, (sum(s[0] for s in shapes), shapes[0][1])


def hstack(b: Builder, vs: Sequence[Value]) -> Value:
    if all(len(s) <= 1 for _, s in vs):  # 1-D arrays and scalars: one 1-D array
        terms = [t if s else broadcasting.broadcast(b, t, (sp.S.One, sp.S.One)) for t, s in vs]
        return (indexing.concatenate(b, terms, 0, "np.hstack"),
                (sum(int(s[0]) if s else 1 for _, s in vs),))
    if any(len(s) != 2 for _, s in vs):
        raise ShapeError("np.hstack: the arrays must have the same number of dimensions")
    return concatenate(b, vs, 1)


def reshape(b: Builder, v: Value, newshape: Any) -> Value:
    term, shape = v
    dims = tuple(newshape) if isinstance(newshape, (tuple, list)) else (newshape,)
    if not all(isinstance(d, int) and not isinstance(d, bool) for d in dims):
        raise UnsupportedError(f"reshape to {newshape!r}: the sizes are whole numbers")
    size = math.prod(_ints(shape))
    if dims.count(-1) == 1 and len(dims) <= 2:
        known = math.prod(d for d in dims if d != -1)
        if known <= 0 or size % known:
            raise ShapeError(f"cannot reshape an array of size {size} into {dims}")
        dims = tuple(size // known if d == -1 else d for d in dims)
    if len(dims) not in (1, 2) or math.prod(dims) != size:
        if len(dims) > 2:
            raise UnsupportedError(f"reshape to {dims}: the trace has scalars, 1-D and 2-D "
                                   "arrays")
        raise ShapeError(f"cannot reshape an array of size {size} into {dims}")
    if not shape:
        raise UnsupportedError("reshape of a scalar")
    return indexing.reshape(b, term, dims, "reshape"), dims


def kron(b: Builder, x: Value, y: Value) -> Value:
    if not x[1] or not y[1]:
        s = x[1] or y[1]
        return ops.mul(b, x[0], y[0], "np.kron"), s
    if len(x[1]) == len(y[1]) == 1:
        return indexing.kron(b, x[0], y[0], "np.kron"), (int(x[1][0]) * int(y[1][0]),)
    a, c = (_row(b, v, "np.kron") for v in (x, y))
    sa = (1, int(x[1][0])) if len(x[1]) == 1 else _ints(x[1])
    sc = (1, int(y[1][0])) if len(y[1]) == 1 else _ints(y[1])
    return indexing.kron(b, a, c, "np.kron"), (sa[0] * sc[0], sa[1] * sc[1])


def tile(b: Builder, v: Value, reps: Any) -> Value:
    reps = tuple(reps) if isinstance(reps, (tuple, list)) else (reps,)
    if not all(isinstance(k, int) and not isinstance(k, bool) and k >= 1 for k in reps) \
            or not 1 <= len(reps) <= 2:
        raise UnsupportedError(f"np.tile with reps {reps!r}: one or two counts >= 1")
    term, shape = v
    nd = max(len(shape), len(reps))
    full = (1,) * (nd - len(reps)) + reps
    if not shape:
        out_shape = tuple(full)
        t = broadcasting.broadcast(b, term, (sp.Integer(full[0]), sp.S.One) if nd == 1 else
                          (sp.Integer(full[0]), sp.Integer(full[1])))
        return t, out_shape
    if nd == 1:
        return indexing.tile(b, term, (full[0], 1), "np.tile"), (full[0] * int(shape[0]),)
    base = _row(b, v, "np.tile")
    s = (1, int(shape[0])) if len(shape) == 1 else _ints(shape)
    return indexing.tile(b, base, (full[0], full[1]), "np.tile"), (full[0] * s[0],
                                                                   full[1] * s[1])


def repeat(b: Builder, v: Value, k: Any, axis: Any) -> Value:
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise UnsupportedError(f"np.repeat with repeats {k!r}: one count >= 1")
    term, shape = v
    if not shape:
        return indexing.repeat(b, term, k, None, "np.repeat"), (k,)
    if axis is None or len(shape) == 1:
        if axis not in (None, 0, -1):
            raise ShapeError(f"np.repeat: axis {axis} for a 1-D array")
        column = term if len(shape) == 1 else indexing.flatten(b, term, "np.repeat")
        return indexing.repeat(b, column, k, 0, "np.repeat"), (math.prod(_ints(shape)) * k,)
    if type(axis) is not int or not -2 <= axis < 2:
        raise ShapeError(f"np.repeat: axis {axis!r} for a matrix")
    m, n = _ints(shape)
    out = indexing.repeat(b, term, k, axis % 2, "np.repeat")
    return out, ((m * k, n) if axis % 2 == 0 else (m, n * k))


def pad(b: Builder, v: Value, widths: Any, kw: dict[str, Any]) -> Value:
    mode = kw.pop("mode", "constant")
    fill = kw.pop("constant_values", 0)
    if mode != "constant" or kw:
        raise UnsupportedError(f"np.pad with mode={mode!r}{' and ' + ', '.join(kw) if kw else ''}"
                               " (constant mode is traced)")
    if type(fill) not in (int, float):
        raise UnsupportedError("np.pad with constant_values other than one number")
    term, shape = v
    if not shape:
        raise UnsupportedError("np.pad of a scalar")
    if len(shape) == 1:
        rb, ra, _, _ = indexing.pad_widths(widths, "np.pad", 1)
        out = indexing.pad(b, term, ((rb, ra), (0, 0)), fill, "np.pad", axes=2)
        return out, (int(shape[0]) + rb + ra,)
    rb, ra, cb, ca = indexing.pad_widths(widths, "np.pad")
    m, n = _ints(shape)
    return indexing.pad(b, term, ((rb, ra), (cb, ca)), fill, "np.pad", axes=2), (m + rb + ra,
                                                                          n + cb + ca)
