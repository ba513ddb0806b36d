"""Building the structural operations of the text: ``X[0:2, 1:3]``, ``concatenate``,
``vstack``/``hstack``/``stack``, ``reshape``/``flatten``/``ravel``, ``kron``, ``tile``,
``repeat`` and ``pad`` — each a node of a ``structural`` primitive (tiling and repeating are
Kronecker products with a ones matrix).

The text works on scalars and 2-D arrays (a vector is a column), and each operation means
what NumPy computes on those 2-D arrays, with one convention for vectors: one index or slice
of a vector (``x[2]``, ``x[1:3]``) runs along its entries, and ``X[i]`` of a matrix is its
row i, kept a row ``(1, n)``. The text's table of these calls, and how their static
arguments are read from the syntax tree, are ``structural_calls.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sympy as sp
from sympy import OneMatrix

from . import broadcasting, one_by_one, ops, tensor_axes, tensor_nodes, tensors, written_ops
from .algebra import is_matrix
from .builder import Builder, Term
from .errors import OptionError, ShapeError, UnsupportedError
from .functions import number
from .layers import Standardise
from .shapes import axes_of, fmt_shape, shape_of, tensor_dims
from .structural import FULL, Concat, Kron, Pad, Reshape, Slice, Span, span

Key = tuple[int | slice, ...]
# how a call of the text builds (structural_calls.STRUCTURAL): from (builder, operands,
# static arguments, keywords, where)
Build = Callable[[Builder, list[Term], tuple[Any, ...], dict[str, Any], str], Term]


# ---------------------------------------------------------------------------------------
# Slices


def _span_of(k: int | slice, n: sp.Expr, where: str) -> tuple[Span, bool]:
    """One axis of a key as a span of an axis of size ``n``; True for an integer index."""
    concrete = n.is_Integer
    if isinstance(k, int) and not isinstance(k, bool):
        if concrete and not -int(n) <= k < int(n):
            raise ShapeError(f"{where}: index {k} is out of range for an axis of size {n}")
        if concrete and k < 0:
            k += int(n)
        return span(k, None if k == -1 else k + 1), True
    if not isinstance(k, slice):
        raise UnsupportedError(f"{where}: an index is a whole number or a slice, not {k!r}")
    step = 1 if k.step is None else k.step
    if step == 0:
        raise ShapeError(f"{where}: a slice step cannot be zero")
    if concrete:
        r = range(int(n))[k]
        if len(r) == 0:
            raise ShapeError(f"{where}: the slice {_show(k)} of an axis of size {n} is empty")
        if step < 0:
            raise UnsupportedError(f"{where}: a negative step (write flip(X, axis=...))")
        return span(r.start, None if r.stop >= int(n) else r.stop, r.step), False
    if step != 1:
        raise ShapeError(f"{where}: a slice with a step needs a known size, not {n}")
    return span(k.start or 0, k.stop), False


def _show(k: slice) -> str:
    out = f"{'' if k.start is None else k.start}:{'' if k.stop is None else k.stop}"
    return out + ("" if k.step is None else f":{k.step}")


def take(b: Builder, x: Term, rows: int | slice, cols: int | slice, where: str) -> Term:
    """``X[rows, cols]``; a single entry is the scalar it is. A negative step along an axis
    of a known size (``x[::-1]``, ``X[3:0:-2]``) is the flip along it (``J X``, ``X J``)
    sliced forward."""
    sx = shape_of(x)
    assert sx is not None
    keys = [rows, cols]
    for axis, k in enumerate(keys):
        n = sx[axis]
        if isinstance(k, slice) and isinstance(k.step, int) and k.step < 0 and n.is_Integer:
            picked = range(int(n))[k]
            if len(picked):  # (an empty one is refused as empty)
                if n != 1:  # the flip of one entry is itself (and may be read as a scalar)
                    x = ops.reduce_axis(b, "flip", x, axis, where)
                keys[axis] = slice(int(n) - 1 - picked.start, int(n) - picked[-1],
                                   -picked.step)
    rows, cols = keys
    r, r_int = _span_of(rows, sx[0], where)
    c, c_int = _span_of(cols, sx[1], where)
    if (r, c) == (FULL, FULL):
        return x
    out = b.node(Slice(x, r, c))
    return broadcasting.as_scalar(b, out) if r_int and c_int else out


def index(b: Builder, x: Term, key: Key, where: str) -> Term:
    """The text's indexing of a 2-D value: ``x[i]``/``x[a:b]`` along a vector's entries,
    ``X[i]`` the row i of a matrix, ``X[i, j]``/``X[a:b, c:d]`` as NumPy."""
    x = one_by_one.as_matrix(b, x)
    sx = shape_of(x)
    if sx is None or not is_matrix(x):
        raise ShapeError(f"{where}: a scalar cannot be indexed")
    if not 1 <= len(key) <= 2:
        raise ShapeError(f"{where}: {len(key)} indices for a matrix (it has 2 axes)")
    if len(key) == 2:
        return take(b, x, key[0], key[1], where)
    if sx[1] == 1 and sx[0] != 1:  # a column: along its entries
        return take(b, x, key[0], 0, where) if isinstance(key[0], int) else \
            take(b, x, key[0], slice(None), where)
    if sx[0] == 1 and sx[1] != 1:  # a row: along its entries
        return take(b, x, 0, key[0], where) if isinstance(key[0], int) else \
            take(b, x, slice(None), key[0], where)
    return take(b, x, key[0], slice(None), where)


# ---------------------------------------------------------------------------------------
# Blocks


def _as_block(b: Builder, t: Term) -> Term:
    return t if is_matrix(t) else broadcasting.broadcast(b, t, (sp.S.One, sp.S.One))


def concatenate(b: Builder, xs: Sequence[Term], axis: int, where: str) -> Term:
    """The block matrix ``[X; Y]`` (``axis`` 0) or ``[X, Y]`` (``axis`` 1)."""
    if not xs:
        raise ShapeError(f"{where}: nothing to join")
    xs = [one_by_one.as_matrix(b, x) for x in xs]
    if not all(is_matrix(x) for x in xs):
        raise ShapeError(f"{where}: a scalar cannot be joined (NumPy needs arrays; "
                         "stack((a, b)) makes a vector of scalars)")
    if axis not in (0, 1, -1, -2):
        raise ShapeError(f"{where}: axis must be 0, 1, -1 or -2 for a matrix, not {axis}")
    k = axis % 2
    shapes = [shape_of(x) for x in xs]
    other = 1 - k
    for s in shapes[1:]:
        assert s is not None
        assert shapes[0] is not None
        if sp.simplify(s[other] - shapes[0][other]) != 0:
            what = "columns" if k == 0 else "rows"
            raise ShapeError(f"{where}: the blocks need as many {what}: "
                             + ", ".join(fmt_shape(x) for x in shapes))
    if len(xs) == 1:
        return xs[0]
    return b.node(Concat(*xs, k))


def stack(b: Builder, xs: Sequence[Term], axis: int, where: str) -> Term:
    """NumPy's ``stack`` with a vector as the 1-D array it stands for: scalars make a
    vector; vectors the rows (``axis`` 0) or the columns (``axis`` 1) of a matrix."""
    blocks = [one_by_one.as_matrix(b, x) for x in xs]  # a 1×1 product that reads as a scalar
    if all(not is_matrix(x) for x in xs) and not all(is_matrix(x) for x in blocks):
        if axis not in (0, -1):
            raise ShapeError(f"{where}: scalars stack along axis 0")
        return concatenate(b, [_as_block(b, x) for x in xs], 0, where)
    xs = blocks  # beside a matrix, or with only such products, each is its 1×1 matrix
    shapes = [shape_of(x) for x in xs]
    if not all(s is not None and s[1] == 1 for s in shapes):
        raise ShapeError(f"{where}: stack makes a matrix of vectors (of matrices it would be "
                         "3-D): " + ", ".join(fmt_shape(s) for s in shapes))
    if axis in (0, -2):
        return concatenate(b, [ops.transpose(b, x, where) for x in xs], 0, where)
    if axis in (1, -1):
        return concatenate(b, list(xs), 1, where)
    raise ShapeError(f"{where}: axis must be 0, 1 or -1, not {axis}")


def vstack(b: Builder, xs: Sequence[Term], where: str) -> Term:
    return concatenate(b, [_as_block(b, x) for x in xs], 0, where)


def hstack(b: Builder, xs: Sequence[Term], where: str) -> Term:
    """NumPy's ``hstack``: scalars side by side are a 1-D array (a column here); a 1×1
    product read as a scalar (xᵀx) is the (1, 1) array NumPy keeps, so two make a row."""
    blocks = [one_by_one.as_matrix(b, x) for x in xs]
    if all(not is_matrix(x) for x in blocks):
        return vstack(b, xs, where)
    return concatenate(b, [_as_block(b, x) for x in blocks], 1, where)


# ---------------------------------------------------------------------------------------
# Reshapes, Kronecker products, tiling, padding


def reshape(b: Builder, x: Term, shape: Any, where: str) -> Term:
    """NumPy's ``reshape`` (row by row); a 1-D target ``(k,)`` is a column; ``(n, 1)`` of
    NumPy's 1-D value (held as that column) is its 2-D column, in any text."""
    x = one_by_one.as_matrix(b, x)
    sx = shape_of(x)
    if sx is None:
        raise ShapeError(f"{where}: a scalar cannot be reshaped")
    dims = tuple(shape) if isinstance(shape, tuple) else (shape,)
    if tensor_dims(sx) is not None or len(dims) > 2:  # to or from a tensor of rank ≥ 3
        return _tensor_reshape(b, x, dims, where)
    two_d = len(dims) == 2  # (n, 1) of NumPy's 1-D value: its column, 2-D
    if len(dims) == 1:
        dims = (dims[0], 1)
    if len(dims) != 2 or not all(isinstance(d, (int, sp.Expr)) and not isinstance(d, bool)
                                 for d in dims):
        raise ShapeError(f"{where}: the new shape has one or two sizes, not {shape!r}")
    size = sx[0] * sx[1]
    r, c = (number(d) for d in dims)
    if r == -1 and c == -1:
        raise ShapeError(f"{where}: only one size can be -1")
    if r == -1 or c == -1:
        known = c if r == -1 else r
        if known.is_Integer and size.is_Integer and (known <= 0 or size % known):
            raise ShapeError(f"{where}: {fmt_shape(sx)} cannot be reshaped to "
                             f"{fmt_shape((r, c))}")
    elif sp.simplify(r * c - size) != 0:
        raise ShapeError(f"{where}: {fmt_shape(sx)} has {size} entries, {fmt_shape((r, c))} "
                         f"{r * c}")
    target = Reshape(x, r, c).shape
    if sp.simplify(target[0] - sx[0]) == 0 and sp.simplify(target[1] - sx[1]) == 0:
        return b.as_numpy(x, False, len(b.nodes)) if two_d and b.is_flat(x) else x
    if not (r.is_Integer or c.is_Integer):
        raise UnsupportedError(f"{where}: a reshape to two unknown sizes; give one as a "
                               "number or -1")
    if not r.is_Integer and c.is_Integer:
        r = sp.Integer(-1)
    elif not c.is_Integer and r.is_Integer:
        c = sp.Integer(-1)
    return b.node(Reshape(x, r, c))


def _tensor_reshape(b: Builder, x: Term, dims: tuple[Any, ...], where: str) -> Term:
    if not all(isinstance(d, (int, sp.Expr)) and not isinstance(d, bool) for d in dims):
        raise ShapeError(f"{where}: a shape is a tuple of sizes, not {dims!r}")
    target = [number(d) for d in dims]
    if -1 in target:  # the size it leaves, as an axis of its own (a name stays a name)
        at = target.index(-1)
        target[at] = tensor_nodes.make("reshape_nd", [x], shape=tuple(target)).axes[at]
    if tuple(target) == axes_of(shape_of(x)):
        return x
    return b.node(tensor_nodes.make("reshape_nd", [x],
                                    shape=tensor_nodes.reshape_param(tuple(target))))


def squeeze(b: Builder, x: Term, axis: Any, where: str) -> Term:
    """NumPy's ``squeeze``: the axes of length 1 of a tensor removed (those of ``axis``, or
    all): (2, 1, 4) is (2, 4). A 1-D result is the row (1, n), as NumPy broadcasts a 1-D
    array, marked NumPy's 1-D (``b.rows``, in any text); no axis left, the one entry. A
    matrix stays as it is: its row or column is NumPy's 1-D as the text holds it. A
    library's reduction along axes of a tensor is read with it (``np.sum(X, axis=1)`` drops
    the axis; ``keepdims=True`` keeps it)."""
    x = one_by_one.as_matrix(b, x)
    sx = shape_of(x)
    dims = tensor_dims(sx)
    if dims is None:
        if axis is not None and sx is not None:
            for k in axis if isinstance(axis, tuple) else (axis,):
                if type(k) is not int or not -2 <= k < 2 or sx[k % 2] != 1:
                    raise ShapeError(f"{where}: axis {k!r} of {fmt_shape(sx)} is not an axis "
                                     "of length 1")
        return x
    n = len(dims)
    if axis is None:
        drop = tuple(i for i, d in enumerate(dims) if d == 1)
    else:
        try:
            drop = tensor_axes.reduced(n, axis)
        except ShapeError as e:
            raise ShapeError(f"{where}: {e}") from None
        longer = [i for i in drop if dims[i] != 1]
        if longer:
            raise ShapeError(f"{where}: axis {longer[0]} of {fmt_shape(sx)} has length "
                             f"{dims[longer[0]]}; squeeze removes axes of length 1")
    left = tuple(d for i, d in enumerate(dims) if i not in drop)
    if not drop:
        return x
    if not left:
        return ops.apply(b, "sum", [x], where)
    target = left if len(left) >= 2 else (sp.S.One, left[0])
    since = len(b.nodes)
    try:
        out = b.node(tensor_nodes.make("reshape_nd", [x],
                                       shape=tensor_nodes.reshape_param(target)))
    except UnsupportedError:  # two sizes that are names: the sum over the axes of length 1
        letters = _LOWER[:n]
        kept = "".join(c for i, c in enumerate(letters) if i not in drop)
        out = _einsum_call(b, [x], f"{letters}->{kept}", where)
        out = ops.transpose(b, out, where) if len(left) == 1 else out
    return b.as_numpy(out, True, since) if len(left) == 1 else out  # NumPy's 1-D: b.rows


def flatten(b: Builder, x: Term, where: str) -> Term:
    """``flatten(X)`` / ``ravel(X)``: the entries row by row, as a column."""
    if not is_matrix(x):
        return x
    return reshape(b, x, (-1,), where)


# ---------------------------------------------------------------------------------------
# The n-D primitives (tensor_nodes.py): NCHW images, (F, C, kh, kw) filters, NumPy's einsum


def tensor_call(op: str, **fixed: Any) -> Build:
    def build(b: Builder, xs: list[Term], static: tuple[Any, ...], kw: dict[str, Any],
              where: str) -> Term:
        if op in ("conv2d", "batchnorm2d"):  # a bias, γ or β of one channel may be a
            one = (sp.S.One, sp.S.One)  # scalar (a 1×1 product became one): (1, 1)
            xs = [x if k == 0 or is_matrix(x) else broadcasting.broadcast(b, x, one)
                  for k, x in enumerate(xs)]
        xs = [one_by_one.as_matrix(b, x) for x in xs]
        if any(not is_matrix(x) for x in xs):
            raise ShapeError(f"{where}: {op} takes arrays, not scalars")
        params = {**fixed, **kw}
        if op == "einsum":
            return _einsum_call(b, xs, static[0], where)
        if static:
            params[tensor_nodes.SPECS[op].params[0]] = static[0]
        try:
            return b.node(tensor_nodes.make(op, list(xs), **params))
        except ShapeError as e:
            raise ShapeError(f"{where}: {e}") from None
    return build


_LOWER = "abcdefghijklmnopqrstuvwxyz"


def einsum_of(b: Builder, xs: list[Term], spec: str, where: str) -> Term:
    """``einsum(spec, *xs)`` built as the text's einsum (NumPy's ``inner`` and ``dot`` of a
    tensor are written with it)."""
    return _einsum_call(b, [one_by_one.as_matrix(b, x) for x in xs], spec, where)


def _einsum_call(b: Builder, xs: list[Term], spec: Any, where: str) -> Term:
    """NumPy's einsum, its subscripts made explicit (``tensors.explicit_spec``); a scalar
    result (``'ii'``, ``'ij,ij->'``) is the sum over one of its indices of the einsum that
    keeps that index. A refusal names the subscripts as written (and the explicit form it
    was read as, where that differs). An operand declared ``(n,)`` (NumPy's 1-D, held as
    the column (n, 1)) has one axis, as NumPy's: ``'...c'`` of it is c alone, ``'ij'``
    refused. A result of one index is NumPy's 1-D array too (``b.flat``), in any text: beside
    a tensor NumPy lines it up with the last axis, the column with the one before."""
    flat = [b.is_flat(x) for x in xs]
    axes = tuple(axes_of(shape_of(x))[:1] if f else axes_of(shape_of(x))
                 for x, f in zip(xs, flat, strict=True))
    written, explicit, used = spec, spec, spec
    try:
        ranks = tuple(map(len, tensor_axes.einsum_ranks(axes, spec))) \
            if isinstance(spec, str) else ()
        if any(flat) and isinstance(spec, str):  # one letter each for a 1-D operand
            _one_letter(spec, [a[0] if f else None for a, f in zip(axes, flat, strict=True)])
        explicit = used = tensors.explicit_spec(spec, ranks)
        ins, arrow, res = explicit.partition("->") if isinstance(explicit, str) else \
            ("", "", "")
        if arrow and not res and ins[:1].isalpha() and set(ins) <= set(_LOWER + ","):
            used = f"{ins}->{ins[0]}"
            one = b.node(tensor_nodes.make("einsum", list(xs), spec=used))
            return ops.apply(b, "sum", [one], where)
        out = b.node(tensor_nodes.make("einsum", list(xs), spec=explicit))
        if arrow and len(res) == 1 and shape_of(out) != (1, 1):  # NumPy's 1-D array, held
            b.flat.add(out)  # as the column (n, 1)
        return out
    except ShapeError as e:
        raise ShapeError(f"{where}: {_einsum_message(str(e), written, explicit, used, axes)}"
                         ) from None


def _one_letter(spec: str, vectors: list[Any]) -> None:
    """An operand declared ``(n,)`` (its n in ``vectors``, else None) has one axis, as
    NumPy's 1-D array: one letter at most (an ellipsis beside it takes no axis)."""
    parts = spec.replace(" ", "").split("->")[0].split(",")
    for p, n in zip(parts, vectors, strict=False):  # how many: einsum_ranks checked it
        letters = p.replace("...", "")
        if n is not None and len(letters) > 1:
            raise ShapeError(f"einsum {spec!r}: {p!r} has {len(letters)} indices for rank 1 "
                             f"(a vector declared ({n},), NumPy's 1-D array)")


def _einsum_message(message: str, written: Any, explicit: Any, used: Any,
                    axes: tuple[tuple[Any, ...], ...]) -> str:
    """An einsum's refusal with the subscripts as the user wrote them: the explicit form
    they were read as shown beside them ('...' as letters), the scalar result's internal
    spec never; a row where one letter wants a vector, and a '...' axis of length 1 (which
    NumPy would broadcast), said in words."""
    if not isinstance(written, str):
        return message
    shown = repr(written) if explicit == written or "..." not in written else \
        f"{written!r} (read as {explicit!r})"
    for internal in dict.fromkeys((used, explicit)):
        message = message.replace(f"einsum {internal!r}", f"einsum {shown}")
    parts = written.replace(" ", "").split("->")[0].split(",")
    rows = [fmt_shape(tuple(a)) for p, a in zip(parts, axes, strict=False)  # type: ignore[arg-type]
            if len(p) == 1 and len(a) == 2 and a[0] == 1 and a[1] != 1]
    if rows:
        message += (f" (a one-letter operand is a vector, (n,) or a column (n, 1); "
                    f"{rows[0]} is a row: transpose it)")
    elif "..." in written and (" is 1 and " in message or message.endswith(" and 1")):
        message += (" (NumPy broadcasts an axis of length 1 under '...'; the text's einsum "
                    "does not: bring the operands to one shape first)")
    return message


def transpose_call(b: Builder, xs: list[Term], static: tuple[Any, ...], kw: dict[str, Any],
                   where: str) -> Term:
    """``transpose(X)`` is ``X.T``; ``transpose(X, axes)`` permutes a tensor's axes (a
    matrix's (1, 0) is its transpose, (0, 1) itself)."""
    x = xs[0]
    if not static or tensor_dims(shape_of(x)) is None:
        if static and is_matrix(x) and tuple(static[0]) in ((0, 1), (-2, -1)):
            return x
        if static and (not is_matrix(x) or tuple(static[0]) not in ((1, 0), (-1, -2))):
            raise ShapeError(f"{where}: axes {static[0]!r} of a "
                             f"{fmt_shape(shape_of(x))} array")
        return written_ops.written_transpose(b, x, where)
    return tensor_call("transpose_axes")(b, xs, (), {"axes": static[0]}, where)


def kron(b: Builder, x: Term, y: Term, where: str) -> Term:
    if not is_matrix(x) or not is_matrix(y):
        return ops.mul(b, x, y, where)  # a scalar's Kronecker product is the product
    return b.node(Kron(x, y))


def _count(k: Any, what: str, where: str) -> int:
    if type(k) is not int or k < 1:
        raise ShapeError(f"{where}: {what} is a whole number >= 1, not {k!r}")
    return k


def tile(b: Builder, x: Term, reps: Any, where: str) -> Term:
    """``tile(X, (a, b))`` is ``𝟏_{a×b} ⊗ X``; ``tile(X, k)`` repeats along the last axis."""
    reps = reps if isinstance(reps, tuple) else (reps,)
    if len(reps) > 2 or not reps:
        raise ShapeError(f"{where}: tile takes one or two counts (more would be n-D)")
    counts = [_count(k, "a count", where) for k in reps]
    a, c = (1, counts[0]) if len(counts) == 1 else counts
    if not is_matrix(x):  # NumPy: a tiled scalar is a 1-D array (a column here)
        return broadcasting.broadcast(b, x, (sp.Integer(a * c), sp.S.One) if len(counts) == 1
                             else (sp.Integer(a), sp.Integer(c)))
    if a == c == 1:
        return x
    return b.node(Kron(OneMatrix(a, c), x))


def repeat(b: Builder, x: Term, k: Any, axis: int | None, where: str) -> Term:
    """``repeat(X, k, axis=0)`` is ``X ⊗ 𝟏_k`` (each row k times); ``axis=1`` ``X ⊗ 𝟏_kᵀ``."""
    k = _count(k, "the count", where)
    x = one_by_one.as_matrix(b, x)  # a 1×1 product (xᵀx) is NumPy's (1, 1): axis=1 makes a row
    sx = shape_of(x)
    if sx is None:
        return broadcasting.broadcast(b, x, (sp.Integer(k), sp.S.One)) if k > 1 else x
    if axis is None:
        if sx[1] != 1:
            raise ShapeError(f"{where}: repeat of a matrix needs axis=0 or axis=1 (NumPy "
                             "flattens it first)")
        axis = 0
    if axis not in (0, 1, -1, -2):
        raise ShapeError(f"{where}: axis must be 0, 1, -1 or -2 for a matrix, not {axis}")
    if k == 1:
        return x
    ones = OneMatrix(k, 1) if axis % 2 == 0 else OneMatrix(1, k)
    return b.node(Kron(x, ones))


def pad_widths(w: Any, where: str, axes: int = 2) -> tuple[int, int, int, int]:
    """NumPy's pad widths, every form ``np.pad`` takes (it broadcasts them to (axes, 2)):
    ``n``, ``(n,)``, ``(before, after)``, ``((before, after),)``, ``((n,),)`` for every
    axis, or one pair (or ``(n,)``) per axis, ``((rb, ra), (cb, ca))``. Of a 1-D array
    (``axes`` 1) the columns get none."""
    def bad() -> ShapeError:
        return ShapeError(f"{where}: a pad width is a whole number >= 0, a pair of them, or "
                          f"one such pair per axis, not {w!r}")

    def pair(p: Any) -> tuple[int, int]:
        p = tuple(p) if isinstance(p, (tuple, list)) else (p, p)
        if len(p) == 1:
            p = (p[0], p[0])
        if len(p) != 2 or not all(type(v) is int and v >= 0 for v in p):
            raise bad()
        return p[0], p[1]
    rows = w if isinstance(w, (tuple, list)) and w and all(
        isinstance(p, (tuple, list)) for p in w) else (w,)
    if len({len(p) if isinstance(p, (tuple, list)) else 0 for p in rows}) != 1:
        raise bad()  # ((1, 2), (3,)): ragged, as NumPy refuses it
    if len(rows) not in (1, axes):
        raise ShapeError(f"{where}: pad widths for {len(rows)} axes of "
                         f"{'a vector (it has 1)' if axes == 1 else 'a matrix (it has 2)'}")
    first = pair(rows[0])
    if axes == 1:
        return (*first, 0, 0)
    return (*first, *pair(rows[-1]))


def pad(b: Builder, x: Term, widths: Any, fill: Any, where: str,
        axes: int | None = None) -> Term:
    """NumPy's ``pad`` in constant mode: X with a border of ``fill``; of NumPy's 1-D vector
    (``axes`` 1, by default for one declared ``(n,)``) its ends only."""
    x = one_by_one.as_matrix(b, x)
    if not is_matrix(x):
        raise ShapeError(f"{where}: pad needs a vector or matrix, got a scalar")
    if type(fill) not in (int, float):
        raise ShapeError(f"{where}: constant_values is a number, not {fill!r}")
    w = pad_widths(widths, where, axes or (1 if b.is_flat(x) else 2))
    if not any(w):
        return x
    return b.node(Pad(x, w, sp.Float(fill) if isinstance(fill, float) else sp.Integer(fill)))


def normalisation(b: Builder, xs: list[Term], axis: int, eps: Any, where: str) -> Term:
    """Batch (``axis`` 1: each feature, a row, over the batch; columns are samples) or layer
    normalisation (``axis`` 0: each sample, a column, over its features) in training mode:
    γ1ᵀ ⊙ X̂ + β1ᵀ, X̂ the primitive ``Standardise`` (its VJP the literature's compact form)."""
    x, gamma, beta = xs
    sx = shape_of(x)
    if sx is None or any(shape_of(t) not in (None, (1, 1), (sx[0], 1)) for t in (gamma, beta)):
        raise ShapeError(f"{where}: X of (features, samples) and γ, β columns of its rows "
                         f"(or scalars), not {', '.join(fmt_shape(shape_of(t)) for t in xs)}")
    if type(eps) not in (int, float) or not eps > 0:
        raise ShapeError(f"{where}: eps is a number > 0, not {eps!r}")
    xhat = b.node(Standardise(x, axis, float(eps)))  # a stage X̂ (grouping.decompose)
    return ops.add(b, ops.hadamard(b, gamma, xhat, where), beta, where)


def norm(b: Builder, x: Term, order: Any, where: str) -> Term:
    """NumPy's ``norm(x, ord)``. Of a vector (a column): √Σx² (ord None, 2 or 'fro'),
    Σ|x| (1), max |x| (inf), min |x| (−inf), (Σ|x|ᵖ)^(1/p) (any other p > 0). Of a matrix,
    a (1, n) row too, as NumPy reads a 2-D array: Frobenius (None, 'fro'), the largest
    column sum of |X| (1, −1 the smallest) and row sum (inf, −inf), a row's 2-norm its
    Euclidean one; the spectral and nuclear norms (2, −2, 'nuc') have no rule."""
    shape = shape_of(x)
    if order is None:
        return ops.apply(b, "norm2", [x], where)
    inf = float("inf")
    if shape is None:
        return ops.apply(b, "abs", [x], where)
    if tensor_dims(x.shape) is not None:
        raise ShapeError(f"{where}: ord= is for a vector or a matrix (NumPy's too), not a "
                         f"tensor of shape {fmt_shape(shape)}")
    if order == "fro" or (order == 2 and 1 in shape):
        return ops.apply(b, "norm2", [x], where)
    if order == "nuc" or (order in (2, -2) and 1 not in shape):  # (a vector's −2: a p)
        raise UnsupportedError(f"{where}: the {'nuclear' if order == 'nuc' else 'spectral'} "
                               "norm of a matrix is not a primitive yet (ord='fro' is "
                               "the Frobenius norm)")
    if type(order) not in (int, float) or order == 0 or order != order:
        zero = " (NumPy's ord=0 counts the nonzero entries: no gradient)" if order == 0 else ""
        raise OptionError(f"{where}: ord is None, a nonzero number, inf, -inf, 'fro' or "
                          f"'nuc', not {order!r}{zero}", ("None", "inf", "-inf", "fro", "nuc"))
    big = "max" if order > 0 else "min"
    size = ops.apply(b, "abs", [x], where)
    if shape[1] != 1:  # a matrix or a row: the largest (smallest) column or row sum of |X|
        if abs(order) not in (1, inf):
            row = shape[0] == 1  # (its 2-norm, ord=2, is its Euclidean one)
            raise ShapeError(f"{where}: {'a (1, n) row' if row else 'a matrix'}'s ord is "
                             f"None, 'fro', {'2, ' if row else ''}1, -1, inf or -inf "
                             f"(NumPy's), not {order!r}")
        sums = ops.reduce_axis(b, "sum", size, 0 if abs(order) == 1 else 1, where)
        return ops.apply(b, big, [sums], where)
    if abs(order) == inf:
        return ops.apply(b, big, [size], where)
    if order == 1:
        return ops.apply(b, "norm1", [x], where)
    p = number(order)
    total = ops.apply(b, "sum", [ops.power(b, size, p, where)], where)
    return ops.power(b, total, 1 / p, where)
