"""The operations a user can write, with their shape rules; each adds one node to a Builder.

Scalars, vectors and matrices mix the way they do on a whiteboard: a scalar times a matrix,
a bias vector ``b`` (m, 1) added to a batch ``W X`` (m, B) (written out as ``b 1ᵀ``), a
constant added to a matrix (``1 - h``). ``*`` between two matrices is the matrix product (as
in SymPy); the element-wise product is ``hadamard(a, b)``; ``**`` on a matrix is element-wise.
The operations read by how they were written (``^``, NumPy's 1-D ``@`` and ``.T``, LaTeX's
X𝟏) are in ``written_ops.py``; a 1×1 product taken back to its matrix in ``one_by_one.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy import (
    HadamardPower,
    HadamardProduct,
    Identity,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)

from . import tensor_axes, tensor_nodes
from .algebra import is_matrix, mscale
from .broadcasting import (
    as_scalar,
    broadcast,
    column_hint,
    fit,
    is_num,
    joint_shape,
    numpy_vectors,
    shape_error,
    spread,
)
from .builder import MAX_FACTORS, Builder, Term
from .errors import OptionError, ShapeError, UnsupportedError
from .functions import (
    CumProd,
    Elementwise,
    LogSumExpAlong,
    MaxAlong,
    MinAlong,
    Pattern,
    ProdAlong,
)
from .layers import SoftmaxRows
from .one_by_one import as_matrix
from .rules import FUNCTION_NAMES, RULES, constant_softmax
from .shapes import Shape, fmt_shape, shape_of, tensor_dims


def add_many(b: Builder, terms: list[tuple[int, Term]], where: str = "a + b") -> Term:
    """``a ± b ± c …`` as one node: an n-ary sum stays one equation, built once."""
    numpy_vectors(b, [t for _, t in terms], where,
                   "-" if any(sign < 0 for sign, _ in terms[1:]) else "+")
    shape: Shape = None
    for i, (sign, t) in enumerate(terms):
        try:
            shape = shape_of(t) if i == 0 else joint_shape(shape, shape_of(t), where,
                                                            "+" if sign > 0 else "-")
        except ShapeError as e:
            raise column_hint(b, [u for _, u in terms], e) from None
    if shape is None:
        return b.node(sp.Add(*[t if sign > 0 else -t for sign, t in terms]))
    const = sp.Add(*[t if sign > 0 else -t for sign, t in terms if is_num(t)])
    like = next((t for _, t in terms if shape_of(t) == shape), None)
    parts = [spread(b, t, shape, like, where) for _, t in terms if not is_num(t)]
    signs = [sign for sign, t in terms if not is_num(t)]
    body = [p if sign > 0 else mscale(-1, p) for sign, p in zip(signs, parts, strict=True)]
    if const != 0:
        body.append(broadcast(b, const, shape))
    return b.node(MatAdd(*body)) if len(body) > 1 else b.node(body[0])


def add(b: Builder, x: Term, y: Term, where: str = "a + b") -> Term:
    if is_num(x) and is_num(y):
        return x + y
    return add_many(b, [(1, x), (1, y)], where)


def sub(b: Builder, x: Term, y: Term, where: str = "a - b") -> Term:
    if is_num(x) and is_num(y):
        return x - y
    return add_many(b, [(1, x), (-1, y)], where)


def neg(b: Builder, x: Term, where: str = "-a") -> Term:
    """``-x``: inline (it reads as a sign in the expression that uses it); ``--x`` is ``x``."""
    return mscale(-1, x) if is_matrix(x) else -x




def mul_many(b: Builder, factors: list[tuple[int, Term]], where: str = "a * b") -> Term:
    """``a * b / c …``: scalars as one product node (chunked when very long), matrices in
    order, as the pairwise operations would."""
    if any(is_matrix(t) for _, t in factors):
        acc = factors[0][1] if factors[0][0] > 0 else div(b, sp.S.One, factors[0][1], where)
        for e, t in factors[1:]:
            acc = mul(b, acc, t, where) if e > 0 else div(b, acc, t, where)
        return acc
    for e, t in factors:
        if e < 0 and is_num(t) and t.is_zero:
            raise ShapeError(f"{where}: division by zero")
    items = [t if e > 0 else sp.Pow(t, -1) for e, t in factors]
    while len([t for t in items if not is_num(t)]) > MAX_FACTORS:
        head, items = items[:MAX_FACTORS], items[MAX_FACTORS:]
        items.insert(0, b.node(sp.Mul(*head)))
    return b.node(sp.Mul(*items))


def mul(b: Builder, x: Term, y: Term, where: str = "a * b") -> Term:
    """Scalar times scalar, scalar times matrix, (as in SymPy) matrix times matrix, or (as
    in NumPy) a tensor of rank ≥ 3 times one of its shape, entry by entry."""
    if is_matrix(x) and is_matrix(y):
        if tensor_dims(x.shape) or tensor_dims(y.shape):
            return hadamard(b, x, y, where)
        if shape_of(x) == (1, 1) and shape_of(y)[0] != 1:  # type: ignore[index]
            return mul(b, as_scalar(b, x), y, where)  # a 1×1 (a scalar declared (1, 1))
        if shape_of(y) == (1, 1) and shape_of(x)[1] != 1:  # type: ignore[index]
            return mul(b, x, as_scalar(b, y), where)  # scales, as the text's witness reads it
        return matmul(b, x, y, where)
    if is_num(x) and is_num(y):
        return x * y
    if is_matrix(x) or is_matrix(y):
        s, m = (y, x) if is_matrix(x) else (x, y)
        if s == 1:
            return m
        return b.node(MatMul(s, m))
    return b.node(sp.Mul(x, y))


def matmul(b: Builder, x: Term, y: Term, where: str = "a @ b") -> Term:
    sx, sy = shape_of(x), shape_of(y)
    if tensor_dims(sx) or tensor_dims(sy):
        raise shape_error(where, sx, "@", sy, " (a tensor of rank 3 or more has no matrix product: "
                   "write the contraction with einsum)")
    # a scalar stands for the 1×1 matrix it may have come from: (xᵀy) @ zᵀ
    if (sx is None and sy is not None and sy[0] == 1) or (
            sy is None and sx is not None and sx[1] == 1):
        return mul(b, x, y, where)
    if sx is None and sy is None:  # (1, 1) @ (1, 1) of two 1×1 products, as NumPy's
        xm, ym = as_matrix(b, x), as_matrix(b, y)
        if is_matrix(xm) and is_matrix(ym):
            return matmul(b, xm, ym, where)
    if sx is None or sy is None:
        named = all(isinstance(t, sp.Symbol) and t in b.inputs for t in (x, y) if
                    shape_of(t) is None)
        hint = " (a name without a shape is a scalar: give its shape, or use * for a " \
            "scalar)" if named else " (a 1×1 value is a scalar here: use * for it)"
        raise shape_error(where, sx, "@", sy, hint)
    if sx[1] != sy[0]:
        hint = ""
        if sx == sy and sx[1] == 1:  # w·x of two columns: the dot product, most likely
            hint = (" (for the dot product of two columns write a.T@b, in LaTeX "
                    "\\mathbf{a}^\\top\\mathbf{b}; for the element-wise product "
                    "hadamard(a, b))")
        elif sx == sy:
            hint = " (for the element-wise product write hadamard(a, b))"
        raise shape_error(where, sx, "@", sy, hint)
    product = b.node(MatMul(x, y))
    # an inner product or a form (xᵀy, xᵀAx) is a scalar; a one-row weight matrix times a
    # vector (W2 h with W2 of shape (1, n)) stays the 1×1 layer output the user declared
    return product if x in b.inputs else as_scalar(b, product)


def _extreme(b: Builder, name: str, x: Term, where: str) -> Term:
    """max(X) or min(X) of every entry, as NumPy's: along the columns, then the row that
    leaves (a scalar is its own); of a tensor, of its entries as the matrix (rows, last
    axis), row-major."""
    s = shape_of(x)
    if s is None:
        return x
    axes = tensor_dims(s)
    if axes is not None:
        try:  # and back, for its cotangent
            rows = tensor_nodes.reshape_param((sp.Mul(*axes[:-1]), axes[-1]))
            tensor_nodes.reshape_param(axes)
        except UnsupportedError:
            raise UnsupportedError(f"{where}: {name} of every entry of a tensor "
                                   f"{fmt_shape(s)} is read through a reshape, and more "
                                   "than one of its sizes is a name: give all but one as "
                                   "numbers") from None
        x = b.node(tensor_nodes.make("reshape_nd", [x], shape=rows))
        s = shape_of(x)
        assert s is not None
    for axis in (0, 1):
        if s[axis] != 1:
            x = reduce_axis(b, name, x, axis, where)
    return as_scalar(b, x)


def compare(b: Builder, op: str, x: Term, y: Term, where: str) -> Term:
    """``x > y`` as NumPy's number: 𝟏[x − y > 0], the primitive ``step``; ``x >= y`` is
    1 − 𝟏[y − x > 0] (1 at a tie, as NumPy's); ``<`` and ``<=`` the same turned round."""
    if op in ("<", "<="):
        x, y = y, x
    if op in (">", "<"):
        return apply(b, "step", [sub(b, x, y, where)], where)
    return sub(b, sp.S.One, apply(b, "step", [sub(b, y, x, where)], where), where)


def div(b: Builder, x: Term, y: Term, where: str = "a / b") -> Term:
    if is_matrix(y) and shape_of(y) == (1, 1) and shape_of(x) != (1, 1):
        y = as_scalar(b, y)  # x / (aᵀb): a division by the scalar it is
    if is_matrix(y):  # element-wise, with NumPy's broadcasting
        if not is_matrix(x):
            return mul(b, x, b.node(HadamardPower(y, -1)), where)
        x, y = fit(b, x, y, where, "/")
        return b.node(HadamardProduct(x, b.node(HadamardPower(y, -1))))
    if is_num(y) and y.is_zero:  # Float(0.0) == 0 is False in SymPy
        raise ShapeError(f"{where}: division by zero")
    if is_num(x) and is_num(y):
        return x / y
    if is_matrix(x):
        inv = 1 / y if is_num(y) else b.node(sp.Pow(y, -1))
        return b.node(MatMul(inv, x))
    return b.node(x / y)


def power(b: Builder, x: Term, y: Term, where: str = "a ** b") -> Term:
    """``x ** y``, NumPy's power: element-wise, with NumPy's broadcasting. A number
    exponent is the power itself; an array exponent (``2**v``, ``v**v``, ``X**Y``), or a
    variable one of an array (``v**t``), is what ``power(x, y)`` is, exp(y ⊙ log x) entry
    by entry, for x > 0 (``variable_power``)."""
    if is_matrix(y) or (is_matrix(x) and not is_num(y)):  # v**t: exp(t log v) too
        return variable_power(b, x, y, where)
    if is_matrix(x):
        return x if y == 1 else b.node(HadamardPower(x, y))
    if getattr(x, "is_zero", False) and not is_num(y):
        # 0**y is 0 for y > 0, 1 at 0, ∞ below: its derivative 0**y·log 0 has no value
        # (SymPy's log 0 is zoo, NaN in every number), as power(0, y) has none
        raise UnsupportedError(f"{where}: a power of 0 with a variable exponent (0**y) is 0 "
                               "for y > 0, 1 at y = 0 and infinite below: its derivative "
                               "0**y·log 0 has no value; write 0 where y > 0")
    return b.node(sp.Pow(x, y))


def variable_power(b: Builder, x: Term, y: Term, where: str) -> Term:
    """xʸ with an array exponent, entry by entry: exp(y ⊙ log x), as ``power(x, y)`` writes
    it (``composites``), for x > 0, where it is differentiable in both; the shapes broadcast
    as ``hadamard``'s (a scalar over an array, a column (n, 1) against a row (1, m)). A
    base that is a number ≤ 0 is refused: its logarithm has no real value, and NumPy's
    (−2.0)**2.0 = 4 would be NaN here."""
    if is_num(x) and not x.is_positive:
        what = "0" if x.is_zero else "a negative number"
        raise UnsupportedError(f"{where}: a power of {what} with an array exponent: it is "
                               "exp(y log x), entry by entry, which needs x > 0 (its "
                               "logarithm); write the powers out where x ≤ 0")
    numpy_vectors(b, [x, y], where, "**")
    try:  # the shapes as written (hadamard's error would name y ⊙ log x)
        joint_shape(shape_of(x), shape_of(y), where, "**")
    except ShapeError as e:
        raise column_hint(b, [x, y], e) from None
    return apply(b, "exp", [hadamard(b, y, apply(b, "log", [x], where), where)], where)


def hadamard(b: Builder, x: Term, y: Term, where: str = "hadamard(a, b)") -> Term:
    if not is_matrix(x) and not is_matrix(y):
        return mul(b, x, y, where)
    x, y = fit(b, x, y, where, "⊙")
    return b.node(HadamardProduct(x, y))


def transpose(b: Builder, x: Term, where: str = "a.T") -> Term:
    if not is_matrix(x):
        return x
    if tensor_dims(x.shape) is not None:  # NumPy's .T of a tensor: its axes reversed
        return b.node(tensor_nodes.make("transpose_axes", [x], axes=None))
    if isinstance(x, Transpose):
        return x.args[0]
    return b.node(Transpose(x))


def constant_matrix(b: Builder, name: str, dims: list[sp.Expr], where: str) -> Term:
    """``ones(m, n)``, ``zeros(m, n)``, ``eye(n)``: the constant matrices 𝟏, 𝟎 and I."""
    if name == "eye":
        return Identity(dims[0])
    return (OneMatrix if name == "ones" else ZeroMatrix)(dims[0], dims[1])


CONSTANTS = {"ones": 2, "zeros": 2, "eye": 1}  # their arguments are sizes, not expressions
AXIS_FUNCTIONS = ("sum", "mean", "var", "std", "softmax", "logsumexp", "max", "min",
                  "prod", "cumsum", "cumprod", "flip", "log_softmax")  # take axis=


def reduce_axis(b: Builder, name: str, x: Term, axis: Any, where: str) -> Term:
    """``sum``, ``mean``, ``var``, ``softmax``, ``logsumexp`` along one axis of a matrix,
    written with ones vectors as the literature writes them: ``sum(X, axis=1)`` is ``X 1``,
    ``axis=0`` is ``1ᵀ X``; ``max`` and ``min`` are primitives of their own. The result
    keeps its axis (a column or a row), so that it broadcasts back against X (``X − μ 1ᵀ``)."""
    x = as_matrix(b, x)
    sx = shape_of(x)
    if sx is None:
        raise ShapeError(f"{where}: axis= needs a vector or matrix, got a scalar")
    if name in ("softmax", "log_softmax") and tensor_dims(sx) is None \
            and axis in (0, 1, -1, -2):
        why = constant_softmax(sx, axis % 2)
        if why is not None:
            raise ShapeError(f"{where}: {why}")
    if name == "log_softmax":  # X − logsumexp(X) along the axis, spread back over it
        if tensor_dims(sx) is not None:  # (of a tensor: its logsumexp via a matrix's)
            lse = _tensor_logsumexp(b, x, axis, where)
            if lse is None:  # sizes the reshapes cannot name: the log of its softmax
                return apply(b, "log", [reduce_axis(b, "softmax", x, axis, where)], where)
            return sub(b, x, lse, where)
        return sub(b, x, reduce_axis(b, "logsumexp", x, axis, where), where)
    axes = tensor_dims(sx)
    if axes is not None:  # a tensor of rank ≥ 3
        return _reduce_tensor(b, name, x, axes, axis, where)
    if not isinstance(axis, int):
        raise ShapeError(f"{where}: axis= of a matrix is one axis, 0, 1 or -1, not {axis}")
    if axis not in (0, 1, -1, -2):
        raise ShapeError(f"{where}: axis must be 0, 1, -1 or -2 for a matrix, not {axis}")
    k = axis % 2
    if name in ("cumsum", "flip"):  # a product with a constant: cumsum(X, 0) is tril(1) X
        if name == "flip":  # J is symmetric: J X reverses the columns' entries, X J the rows'
            j = Pattern("exchange", sx[k])
            return matmul(b, j, x, where) if k == 0 else matmul(b, x, j, where)
        t = Pattern("tril", sx[k])  # running sums down the columns, or along the rows
        return matmul(b, t, x, where) if k == 0 else matmul(b, x, transpose(b, t, where), where)
    if name == "cumprod":
        return b.node(CumProd(x, k))
    if name in ("max", "min", "prod"):
        if sx[k] == 1:  # of one entry: the entry (never (∏X) ⊘ X, 0/0 where it is 0)
            return x
        return b.node({"max": MaxAlong, "min": MinAlong, "prod": ProdAlong}[name](x, k))
    if name == "softmax":  # our softmax normalises columns (axis 0); rows: a primitive of
        if k == 0:           # their own, whose VJP is A ⊙ (G − (G ⊙ A) 1 1ᵀ) (attention's)
            return apply(b, "softmax", [x], where)
        return b.node(SoftmaxRows(x))
    if name == "sum":
        ones = OneMatrix(1, sx[0]) if k == 0 else OneMatrix(sx[1], 1)
        return matmul(b, ones, x, where) if k == 0 else matmul(b, x, ones, where)
    if name == "mean":
        return mul(b, sp.S.One / sx[k], reduce_axis(b, "sum", x, k, where), where)
    if name == "var":
        centred = sub(b, x, reduce_axis(b, "mean", x, k, where), where)
        return reduce_axis(b, "mean", power(b, centred, sp.Integer(2), where), k, where)
    return b.node(LogSumExpAlong(x, k))  # logsumexp, shifted: finite at 800


def _tensor_logsumexp(b: Builder, x: Term, axis: Any, where: str) -> Term | None:
    """log Σ exp along one axis of a tensor, kept with length 1, as the matrix's shifted
    ``logsumexp`` (finite at logits 800 apart, where log of the softmax underflows): the
    axis moved last, the rest flattened into the rows, and the (rows, 1) result reshaped
    back with the axis of length 1. None where a reshape would need two sizes that are
    names."""
    axes = tensor_dims(shape_of(x))
    assert axes is not None
    try:
        (k,) = tensor_axes.reduced(len(axes), axis)
    except (ShapeError, ValueError):
        raise ShapeError(f"{where}: the log_softmax is along one axis, not {axis}") from None
    rest = [i for i in range(len(axes)) if i != k]
    kept = tuple(sp.S.One if i == k else d for i, d in enumerate(axes))
    rows = sp.Mul(*(axes[i] for i in rest))
    try:
        flat = tensor_nodes.reshape_param((rows, axes[k]))
        back = tensor_nodes.reshape_param(kept)
    except UnsupportedError:
        return None
    moved = x if k == len(axes) - 1 else b.node(tensor_nodes.make(
        "transpose_axes", [x], axes=(*rest, k)))
    matrix = b.node(tensor_nodes.make("reshape_nd", [moved], shape=flat))
    lse = reduce_axis(b, "logsumexp", matrix, 1, where)
    return b.node(tensor_nodes.make("reshape_nd", [lse], shape=back))


def _reduce_tensor(b: Builder, name: str, x: Term, axes: tuple[sp.Expr, ...], axis: Any,
                   where: str) -> Term:
    """``sum``, ``mean``, ``var`` over an axis or a tuple of axes of a tensor, keeping them
    (length 1, as ``keepdims``), and the softmax along one axis; NumPy's axes."""
    try:
        kept = tensor_axes.reduced(len(axes), axis)
    except ShapeError as e:
        raise ShapeError(f"{where}: {e}") from None
    if name == "softmax":
        if len(kept) != 1:
            raise ShapeError(f"{where}: the softmax is along one axis, not {axis}")
        return b.node(tensor_nodes.make("softmax_axis", [x], axis=kept[0]))
    if name == "sum":
        return b.node(tensor_nodes.make("sum_axes", [x], axes=kept))
    if name == "mean":
        count = sp.Mul(*(axes[i] for i in kept))
        return mul(b, sp.S.One / count, _reduce_tensor(b, "sum", x, axes, kept, where), where)
    if name == "var":
        centred = sub(b, x, _reduce_tensor(b, "mean", x, axes, kept, where), where)
        return _reduce_tensor(b, "mean", power(b, centred, sp.Integer(2), where), axes, kept,
                              where)
    if name == "logsumexp" and len(kept) == 1:
        lse = _tensor_logsumexp(b, x, kept[0], where)
        if lse is not None:
            return lse
    raise UnsupportedError(f"{where}: {name} along axes of a rank-{len(axes)} tensor is not a "
                           "primitive (sum, mean, var, softmax and logsumexp along one axis "
                           "are); write it with einsum or reshape")


def _along_vector(name: str) -> Callable[..., Term]:
    """``cumsum(x)``, ``flip(x)`` of a vector (NumPy's along its only axis); a matrix needs
    ``axis=`` (NumPy would flatten it first)."""
    def build(b: Builder, x: Term, where: str = name) -> Term:
        s = shape_of(x)
        if s is None:
            return x
        if s[0] != 1 and s[1] != 1:
            raise ShapeError(f"{where}: {name} of a matrix needs axis=0 or axis=1 "
                             f"(NumPy flattens it first: write {name}(ravel(M)) for that)")
        return reduce_axis(b, name, x, 0 if s[1] == 1 else 1, where)
    return build


def _log_softmax(b: Builder, x: Term, where: str = "log_softmax") -> Term:
    """log softmax of a vector, or of each column of a matrix (the softmax's own axis); a
    scalar's is 0. Along another axis: ``log_softmax(X, axis=1)``."""
    if not is_matrix(x):
        return sp.S.Zero
    if tensor_dims(shape_of(x)) is not None:  # as softmax: no default axis for a tensor
        raise ShapeError(f"{where}: log_softmax takes a vector or a matrix, not a tensor of "
                         "rank 3 or more (along an axis: axis=k)")
    return reduce_axis(b, "log_softmax", x, 0, where)


# operators that the text also spells as functions: (arity, how they build)
OPERATORS: dict[str, tuple[int, Callable[..., Term]]] = {
    "hadamard": (2, hadamard), "transpose": (1, transpose), "log_softmax": (1, _log_softmax),
    "cumsum": (1, _along_vector("cumsum")), "cumprod": (1, _along_vector("cumprod")),
    "flip": (1, _along_vector("flip"))}


# the matrix primitives that mean the same of a tensor: reductions over all its entries
WHOLE_TENSOR = frozenset({"sum", "mean", "var", "sqnorm", "mse", "logsumexp", "prod", "norm1",
                          "norm2"})


def inexact(x: Term) -> Term:
    """A whole number (or fraction) beyond 20 as a float: SymPy's log Γ and ψ⁽ⁿ⁾ of one are
    exact sums and factorials that grow with it (gammaln(10**10), digamma(10**70) did not
    finish; gammaln(1000) printed log(999!) in 2,568 digits, which a float makes ∞)."""
    return sp.Float(x) if getattr(x, "is_Rational", False) and abs(x) > 20 else x


def _huber_delta(delta: Term, where: str) -> None:
    """huber's threshold δ, when it is a number: δ > 0 (SciPy's huber is ∞ for δ < 0,
    PyTorch's HuberLoss refuses δ ≤ 0; the formula δ(|a| − δ/2) would be a negative loss)."""
    if not is_matrix(delta) and getattr(delta, "is_number", False) and \
            delta.is_extended_positive is not True:
        raise OptionError(f"{where}: huber's threshold δ is a number > 0, not "
                          f"{sp.sstr(delta)[:30]} (scipy.special.huber(δ, r) takes δ first)",
                          ("δ > 0",))


def apply(b: Builder, name: str, args: list[Term], where: str, axis: Any = None) -> Term:
    """A named function: element-wise (on scalars or entry by entry), or a matrix primitive;
    ``axis`` for the functions that reduce along one (``AXIS_FUNCTIONS``)."""
    if axis is not None:
        if name not in AXIS_FUNCTIONS:
            raise ShapeError(f"{where}: {name} takes no axis (the functions that do: "
                             f"{', '.join(AXIS_FUNCTIONS)})")
        return reduce_axis(b, name, args[0], axis, where)
    if name in ("max", "min") and len(args) == 1:  # NumPy's max(X): the largest entry
        return _extreme(b, name, args[0], where)
    arity, operator = OPERATORS[name] if name in OPERATORS else (RULES[name].arity, None)
    if len(args) != arity:
        raise ShapeError(f"{where}: {name} takes {arity} argument{'s' * (arity > 1)}, "
                         f"got {len(args)}")
    if operator is not None:
        return operator(b, *args, where=where)
    if name == "huber":
        _huber_delta(args[1], where)
    if name == "prod" and len(args) == 1 and shape_of(args[0]) == (1, 1):
        return as_scalar(b, args[0])  # of one entry: the entry (not (∏X) ⊘ X, 0/0 at 0)
    rule = RULES[name]
    if rule.node is not None:  # a matrix primitive, as its rule declares it
        if rule.on_scalar is None:
            args = [as_matrix(b, a) for a in args]
        if not any(is_matrix(a) for a in args):
            if rule.on_scalar is None:
                raise ShapeError(f"{where}: {name} needs a vector or matrix, got a scalar")
            e = rule.on_scalar(*args)
            return e if any(e is a for a in args) else b.node(e)
        if name not in WHOLE_TENSOR and any(is_matrix(a) and tensor_dims(a.shape) is not None
                                            for a in args):
            hint = " (along an axis: axis=k)" if name == "softmax" else ""
            raise ShapeError(f"{where}: {name} takes a vector or a matrix, not a tensor of "
                             f"rank 3 or more{hint}")
        why = rule.shape(*map(shape_of, args)) if rule.shape is not None else None
        if why is not None:
            raise ShapeError(f"{where}: {' vs '.join(fmt_shape(shape_of(a)) for a in args)} "
                             f"({why})")
        return b.node(rule.node(*args))
    if name not in FUNCTION_NAMES:
        raise UnsupportedError(f"{where}: no rule for the function {name!r}")
    f = RULES[name].sympy
    if any(is_matrix(a) for a in args):
        if len(args) == 2 and not (name == "huber" and shape_of(args[1]) is None):
            args = list(fit(b, args[0], args[1], where, ","))  # huber(A, δ): δ stays a scalar
        elif len(args) > 2:  # where(C, X, Y): every operand in the one shape
            numpy_vectors(b, args, where)
            shape = shape_of(args[0])
            for a in args[1:]:
                shape = joint_shape(shape, shape_of(a), where, ",")
            like = next((a for a in args if shape_of(a) == shape), None)
            args = [spread(b, a, shape, like, where) for a in args]
        return b.node(Elementwise(name, *args))
    if name in ("max", "min") and not all(is_num(a) for a in args):
        return b.node(f(*args, evaluate=False))  # SymPy's Max compares its arguments: slow
    if f in (sp.loggamma, sp.polygamma):
        args = [*args[:-1], inexact(args[-1])]
    try:
        return b.node(f(*args))
    except (ValueError, TypeError, ArithmeticError):
        # SymPy evaluating a number outside the domain raises (erfinv(1e300), loggamma(-3.0)):
        # the call stays a node, and the numbers say where it is undefined
        return b.node(f(*args, evaluate=False))
