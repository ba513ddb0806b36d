"""Operands of an element-wise operation brought to one shape, as NumPy broadcasts and as a
person writes it: a scalar spread as c·𝟏, a column against a matrix as ``μ 1ᵀ``, a row as
``1 μ``, NumPy's rule between tensors; a vector declared ``(n,)`` refused where NumPy's 1-D
reading and the text's column would differ. ``ops.py`` builds the operations on them."""

from __future__ import annotations

import sympy as sp
from sympy import MatMul, OneMatrix, ZeroMatrix

from . import tensor_axes, tensor_nodes
from .algebra import is_matrix
from .builder import Builder, Term, _spread, occurrences
from .errors import ShapeError
from .functions import Item
from .shapes import Shape, axes_of, fmt_shape, shape_of, tensor_dims, tensor_shape


def shape_error(where: str, a: Shape, op: str, b: Shape, hint: str = "") -> ShapeError:
    return ShapeError(f"{where}: {fmt_shape(a)} {op} {fmt_shape(b)}{hint}")


def is_num(t: Term) -> bool:
    return bool(getattr(t, "is_Number", False) or getattr(t, "is_NumberSymbol", False))


def broadcast(b: Builder, t: Term, shape: tuple[sp.Expr, sp.Expr]) -> Term:
    """A scalar spread over a matrix: c·𝟏 (a constant; 0 is the zero matrix 𝟎, so that
    np.maximum(0, M) prints max(𝟎, M)) or the node s·𝟏."""
    if is_num(t):
        if t == 0:
            return ZeroMatrix(*shape)
        return MatMul(t, OneMatrix(*shape)) if t != 1 else OneMatrix(*shape)
    return b.node(MatMul(t, OneMatrix(*shape)))


def numpy_vectors(b: Builder, terms: list[Term], where: str, op: str = ",") -> None:
    """In text that uses a library's call, a 1-D vector (declared ``(n,)``) beside an
    operand of another shape (not a scalar or 1×1) is refused: NumPy would line it up with
    the last axis, the text lines its column up with the one before (``one_d_spread``).
    Beside a tensor (rank ≥ 3) it is refused in any text, whether or not the column fits:
    whoever declared ``(n,)`` there means NumPy's reading."""
    if not b.flat:
        return
    one_d_pair(b, terms, where)
    if b.library is not None:
        for t in terms:
            if b.is_flat(t):  # (an inline form too: -w, np.negative(w))
                st = shape_of(t)
                for u in terms:  # a column of its shape that is 2-D: NumPy's (n, n)
                    su = shape_of(u)
                    if su is not None and su != (1, 1) and b.is_row(u):
                        raise _beside_row(t, st, su, where)
                    if su is not None and su != (1, 1) and (su != st or not (
                            b.is_flat(u) or _spread(u, b.spreads))):
                        raise one_d_spread(b, t, su, where)
    tensor = next((u for u in terms if is_matrix(u) and tensor_dims(u.shape) is not None),
                  None)
    flat = next((t for t in terms if b.is_flat(t)), None)
    if tensor is not None and flat is not None:
        x, y = (tensor, flat) if terms.index(tensor) < terms.index(flat) else (flat, tensor)
        raise shape_error(where, shape_of(x), op, shape_of(y), column_note(b, flat, tensor=True))


def one_d_pair(b: Builder, terms: list[Term], where: str, matmul: bool = False) -> None:
    """In text without a library's call, NumPy's 1-D value held as the column (a vector
    declared ``(n,)``, an einsum to one index) beside one held as the row (a tensor's
    ``squeeze`` to one axis), element-wise or on the left of ``@`` (``matmul``): NumPy reads
    them entry by entry (their dot product), where the text's column and row make the (n, m)
    table; refused. (Code that uses a library's call reads them as NumPy:
    parse_numpy.numpy_columns.)"""
    if b.library is not None or not b.rows or not b.flat:
        return
    one = [t for t in terms if is_matrix(t) and shape_of(t) not in (None, (1, 1))]
    col = next((t for t in one if b.is_flat(t)), None)
    row = next((t for t in one if b.is_row(t)), None)
    if col is None or row is None:
        return
    n, m = shape_of(col)[0], shape_of(row)[1]  # type: ignore[index]
    numpy, fix = ("takes their dot product", "x.T @ transpose(r) for the dot product") \
        if matmul else ("reads them entry by entry", "transpose(r) of the row for NumPy's "
                        "reading")
    raise ShapeError(f"{where}: NumPy's 1-D ({n},), held as the column ({n}, 1), beside "
                     f"NumPy's 1-D ({m},) that squeeze holds as the row (1, {m}): NumPy "
                     f"{numpy}{'' if n == m else ' (it refuses two lengths)'}, the text would "
                     f"make the ({n}, {m}) table of them: write {fix}, outer(x, r) for the "
                     "table")


def _beside_row(t: Term, st: Shape, su: Shape, where: str) -> ShapeError:
    """NumPy's 1-D value held as the column (n, 1) beside one held as the row (1, m)
    (``X[i]``), where the text does not read them as NumPy's (refused)."""
    n, m = st[0], su[1]  # type: ignore[index]
    why = (f"NumPy refuses 1-D ({n},) beside ({m},)" if n != m else
           f"both are NumPy's 1-D ({n},), element-wise there, but this operation is not "
           "read so (only +, -, /, an element-wise function, np.dot and @ of two are)")
    return ShapeError(f"{where + ': ' if where else ''}{why}; the text holds the first as "
                      f"the column ({n}, 1), the second as the row (1, {m}): write "
                      ".reshape(-1, 1) for columns, or hadamard(a, b) (⊙) for * of two")


def fit(b: Builder, x: Term, y: Term, where: str, op: str) -> tuple[Term, Term]:
    """Bring two operands of an element-wise operation to one shape, or raise ShapeError."""
    numpy_vectors(b, [x, y], where, op)
    try:
        shape = joint_shape(shape_of(x), shape_of(y), where, op)
    except ShapeError as e:
        raise column_hint(b, [x, y], e) from None
    like = x if shape_of(x) == shape else y
    return spread(b, x, shape, like, where), spread(b, y, shape, like, where)


def joint_shape(sx: Shape, sy: Shape, where: str, op: str) -> Shape:
    """The shape of an element-wise result, as NumPy broadcasts: a scalar or a 1×1 spreads
    over anything, a column (m, 1) over (m, n), a row (1, n) over (m, n); anything else
    that differs is a ShapeError naming both shapes."""
    if sx == sy or sy is None:
        return sx
    if sx is None:
        return sy
    if tensor_dims(sx) is not None or tensor_dims(sy) is not None:  # NumPy's rule, n-D
        both = tensor_axes.broadcast_axes(axes_of(sx), axes_of(sy))
        if both is None:
            raise shape_error(where, sx, op, sy)
        if both not in (axes_of(sx), axes_of(sy)):
            raise shape_error(where, sx, op, sy, " (each operand would need broadcasting: "
                              "bring one to the result's shape first)")
        return tensor_shape(both)
    if sx[0] == sy[0] and 1 in (sx[1], sy[1]):
        return sx if sy[1] == 1 else sy
    if sx[1] == sy[1] and 1 in (sx[0], sy[0]):
        return sx if sy[0] == 1 else sy
    if sy == (1, 1) or sx == (1, 1):
        return sx if sy == (1, 1) else sy
    if sx[0] == 1 and sy[1] == 1:  # a row and a column: both spread, 𝟏 r − c 𝟏ᵀ
        return (sy[0], sx[1])
    if sx[1] == 1 and sy[0] == 1:
        return (sx[0], sy[1])
    raise shape_error(where, sx, op, sy)


def column_hint(b: Builder, terms: list[Term], e: ShapeError) -> ShapeError:
    """``e`` (operands that do not fit), with why when one is a vector declared ``(n,)`` and
    another's last axis is n: the text holds it as the column (n, 1), lined up with the axis
    before the last, where NumPy lines a 1-D array up with the last."""
    for t in terms:
        st = shape_of(t)
        if b.is_flat(t) and st is not None and any(
                shape_of(u) is not None and axes_of(shape_of(u))[-1] == st[0]
                for u in terms if u is not t):
            return ShapeError(f"{e}{column_note(b, t)}")
    return e


def column_note(b: Builder, t: Term, tensor: bool = False) -> str:
    """Why a vector declared ``(n,)`` does not line up as NumPy's 1-D array would; beside a
    tensor (``tensor``), how to write the column reading too."""
    n = shape_of(t)[0]  # type: ignore[index]
    name = t.name if t in b.inputs else b.names.get(t)
    if name is None and not _of_declared(b, t):  # an einsum to one index, sin of one
        column = f", reshape(…, ({n}, 1)) for the column" if tensor else ""
        return (f" (a 1-D value ({n},) is the column ({n}, 1) in the text, lined up with the "
                "axis before the last; NumPy lines a 1-D array up with the last: write "
                f"reshape(…, (1, {n})) of it for that{column})")
    name = name or "v"
    column = (f", or declare {name} ({n}, 1) for the column" if t in b.inputs else
              f", or declare the input ({n}, 1) for the column") if tensor else ""
    return (f" (a vector ({n},) is the column ({n}, 1) in the text, lined up with the axis "
            "before the last; NumPy lines a 1-D array up with the last: write "
            f"reshape({name}, (1, {n})) for that{column})")


def _of_declared(b: Builder, t: Term) -> bool:
    """Whether ``t`` is made from an input declared ``(n,)`` (for a message: declaring it
    ``(n, 1)`` is a way to the column)."""
    made = {eq.lhs: eq.rhs for eq in b.nodes}
    stack, seen = [t], set()
    while stack:
        u = stack.pop()
        if u in seen:
            continue
        seen.add(u)
        if u in b.inputs and str(u) in b.one_d:
            return True
        stack.extend(occurrences(made.get(u, u)) if u in made else
                     [] if u in b.inputs else occurrences(u))
    return False


def spread(b: Builder, t: Term, shape: Shape, like: Term = None, where: str = "") -> Term:
    """``t`` brought to ``shape``, written out as a person writes it: c·𝟏 for a scalar,
    ``μ 1ᵀ`` for a column against (m, n), ``1 μ`` for a row; against a tensor, NumPy's
    broadcast to ``like`` (an operand of that shape)."""
    st = shape_of(t)
    if st == shape or shape is None:
        return t
    if st is not None and tensor_dims(shape) is not None:
        return b.node(tensor_nodes.make("broadcast", [t, like]))
    if st is None or (st == (1, 1) and 1 not in shape):
        return broadcast(b, as_scalar(b, t), shape)
    if st[1] == 1 and st[0] == shape[0]:
        return b.node(MatMul(t, OneMatrix(1, shape[1])))
    return b.node(MatMul(OneMatrix(shape[0], 1), t))


def one_d_spread(b: Builder, t: Term, shape: Shape, where: str) -> ShapeError:
    """A 1-D vector (declared ``(n,)``) broadcast against a matrix or a tensor, in text that
    uses a library's call: NumPy lines it up with the last axis, the text's column (n, 1)
    with the one before; refused, with the ways to write either."""
    n = shape_of(t)[0]  # type: ignore[index]
    named = t in b.inputs
    what = f"{t.name} is NumPy's 1-D ({n},)" if named else f"a 1-D vector ({n},) to NumPy"
    fix = (f"write {t.name}.reshape(1, -1) for NumPy's reading, or declare {t.name} ({n}, 1) "
           "for the column") if named else ("reshape it, .reshape(1, -1), for NumPy's "
                                            "reading, or .reshape(-1, 1) (or keepdims=True "
                                            "of a reduction) for the column")
    return ShapeError(
        f"{where + ': ' if where else ''}{what} broadcast against {fmt_shape(shape)}: NumPy "
        f"lines it up with the last axis, where the text holds it as the column ({n}, 1); "
        f"this text uses a library's call ({b.library}), so it reads as NumPy: {fix}")


def as_scalar(b: Builder, x: Term) -> Term:
    """A 1×1 matrix as the scalar it is: a scalar wherever one is meant."""
    if shape_of(x) == (1, 1):
        return b.node(Item(x))
    return x
