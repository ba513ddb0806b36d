"""The operations whose reading depends on how the source wrote them: a power written ``^``
or as a superscript (of a square matrix, the matrix power), NumPy's ``@`` and ``.T`` of 1-D
arrays in code that uses a library's call, LaTeX's ones vector sized by what it multiplies.
"""

from __future__ import annotations

import sympy as sp
from sympy import Identity, OneMatrix

from .algebra import is_matrix
from .broadcasting import is_num, one_d_pair, shape_error
from .builder import Builder, Term
from .errors import ShapeError, UnsupportedError
from .ops import apply, matmul, mul, power, transpose
from .shapes import fmt_shape, shape_of, tensor_dims


def times_ones(b: Builder, x: Term, y: Term, where: str = "a * b") -> Term:
    """LaTeX's X𝟏 (``y`` the 𝟏, read as the number 1) or c𝟏ᵀY (``x`` what precedes Y, its
    𝟏ᵀ read as 1): the ones vector sized by the matrix it multiplies, the sum of X's rows
    or Y's columns; by a scalar, or a vector along it, the number 1, spread by the
    operation around."""
    sx, sy = shape_of(x), shape_of(y)
    if y == 1:
        if sx is not None and not tensor_dims(sx) and sx[1] != 1:
            return matmul(b, x, OneMatrix(sx[1], 1), where)
    elif sy is not None and not tensor_dims(sy) and sy[0] != 1:
        return mul(b, x, matmul(b, OneMatrix(1, sy[0]), y, where), where)
    return mul(b, x, y, where)


def written_matmul(b: Builder, x: Term, y: Term, where: str = "a @ b",
                   call: str = "@") -> Term:
    """``x @ y`` as written (or ``np.dot``, ``np.matmul``: ``call``): in code that uses a
    library's call, NumPy's 1-D ``x`` (held as the column (n, 1)) on the left is a row
    there, and a 1-D ``y`` held as a row (``X[0]``) on the right a column: refused, with the
    ways to write it (where they fit, parse.numpy_sides read them as NumPy's). A number or
    a scalar input beside @ is refused there, as NumPy refuses it."""
    if b.library is not None and call == "@" and any(
            getattr(t, "is_Number", False) or (t in b.inputs and not is_matrix(t))
            for t in (x, y)):
        raise ShapeError(f"{where}: @ of a scalar (NumPy refuses it): write * for the "
                         "product by a number")
    if b.library is not None and is_matrix(x) and is_matrix(y) and tensor_dims(
            shape_of(x)) is None and tensor_dims(shape_of(y)) is None:
        if b.is_flat(x):
            dot = ("np.dot(x, y) of two 1-D arrays of one length for their dot product"
                   if call != "dot" else f"np.dot(x, np.ravel(y)) for the dot product with "
                   f"{fmt_shape(shape_of(y))}'s entries")
            raise ShapeError(f"{where}: NumPy's 1-D x on the left of {call} is a row there, "
                             f"the column (n, 1) in the text, and {fmt_shape(shape_of(y))} on "
                             f"the right has no reading: write {dot}, A.T @ x for x @ A")
        if b.is_row(y):
            raise ShapeError(f"{where}: NumPy's 1-D y on the right of @ is a column there, "
                             "the row (1, n) in the text: write y.reshape(-1, 1) for the "
                             "column")
    if b.is_flat(x):  # NumPy's dot of two 1-D values, the text's outer product
        one_d_pair(b, [x, y], where, matmul=True)
    return matmul(b, x, y, where)


MAX_MATRIX_POWER = 32  # X^{k} is k - 1 matrix products


def paper_power(b: Builder, x: Term, y: Term, where: str = "a ^ b",
                written: str | None = None) -> Term:
    """A power as mathematics reads it (``^``, ``x²``, LaTeX ``X^{2}``): of a square matrix
    that is not a vector, the matrix power; of anything else, the element-wise power.
    ``written``: the source as the text wrote it (``X^2``), for the refusals."""
    sx = shape_of(x)
    if x is sp.E and is_matrix(y):  # eˣ of an array: element-wise, but of a square matrix
        sy = shape_of(y)  # the literature's e^X is the matrix exponential
        if sy is not None and sy[0] == sy[1] and sy[0] != 1:
            raise UnsupportedError(f"{where}: e^X of a square matrix is the matrix "
                                   "exponential, which is not a primitive; write exp(X) for "
                                   "the element-wise exponential")
        return apply(b, "exp", [y], where)
    if sx is None or 1 in sx:
        return power(b, x, y, where)
    if is_matrix(y):
        raise shape_error(where, sx, "^", shape_of(y), " (exponents must be scalars)")
    if sx[0] != sx[1]:
        typed = f"type {where} (** is NumPy's power, element-wise)" if written else \
            r"write X^{\circ 2} in LaTeX, or type X**2 in the text"
        raise ShapeError(f"{written or where}: a power written ^ or as a superscript of a "
                         f"{fmt_shape(sx)} matrix is a matrix power and needs a square "
                         f"matrix (for the element-wise power {typed})")
    k = y if is_num(y) else None
    if k is None or not k.is_Integer:
        shown = f"{float(y):g}" if getattr(y, "is_Float", False) else y
        raise UnsupportedError(f"{where}: the power {shown} of a square matrix is not read "
                               "(whole powers are matrix products, X^{-1} the inverse; for "
                               "the element-wise power write X**k)")
    if abs(k) > MAX_MATRIX_POWER:
        raise UnsupportedError(f"{where}: a matrix power above {MAX_MATRIX_POWER} in size")
    return whole_power(b, x, int(k), where)


def whole_power(b: Builder, x: Term, k: int, where: str) -> Term:
    """Xᵏ of a square matrix, k a whole number: X⁰ = I, X⁻ᵏ = (X⁻¹)ᵏ; one matrix product
    per factor. X⁰ keeps the inputs X is made of as inputs of the graph (their gradient
    0, as of 0·X)."""
    if k == 0:
        b.kept = (*b.kept, *_inputs_in(b, x))
        return Identity(shape_of(x)[0])  # type: ignore[index]
    base = x if k > 0 else apply(b, "inv", [x], where)
    acc = base
    for _ in range(abs(k) - 1):
        acc = matmul(b, acc, base, where)
    return acc


def _inputs_in(b: Builder, x: Term) -> list[sp.Basic]:
    """The inputs ``x`` is made of, through the stages built so far."""
    rhs = {eq.lhs: eq.rhs for eq in b.nodes}
    seen: set[sp.Basic] = set()
    stack = [x]
    while stack:
        for a in stack.pop().free_symbols:
            if a not in seen:
                seen.add(a)
                if a in rhs:
                    stack.append(rhs[a])
    return [s for s in b.inputs if s in seen]


def written_transpose(b: Builder, x: Term, where: str = "a.T") -> Term:
    """``x.T`` or ``transpose(x)`` as written: in code that uses a library's call, of a
    vector declared ``(n,)`` it is refused (NumPy's ``b.T`` of a 1-D ``b`` is ``b``, so
    ``b @ b.T`` is the dot product there and the outer product in the text)."""
    if b.library is not None and is_matrix(x) and b.is_row(x):
        n = shape_of(x)[1]  # type: ignore[index]
        raise ShapeError(f"{where}: the transpose of NumPy's 1-D ({n},) (held as the row "
                         f"(1, {n})) is itself in NumPy, the column in the text: write "
                         ".reshape(-1, 1) for the column, or leave out .T for NumPy's reading")
    if b.library is not None and is_matrix(x) and b.is_flat(x):
        n = shape_of(x)[0]  # type: ignore[index]
        raise ShapeError(f"{where}: the transpose of a vector declared ({n},) is itself in "
                         "NumPy (b @ b.T is the dot product), the row (1, n) in the text: "
                         "write np.dot(b, b) for the dot product, np.outer(b, b) for the "
                         f"outer product, or declare it ({n}, 1)")
    return transpose(b, x, where)
