"""Functions NumPy users call that are compositions of primitives: ``log1p(x)`` is
``log(1 + x)``, ``silu(x)`` is ``x σ(x)``. Each is written out with the operations of
``ops`` (scalar or entry by entry, with broadcasting), so the derivation shows what it is
and differentiates it link by link; no new rule is needed. ``COMPOSITES`` maps a name to
``(arity, build)``; the parser reads it; the witness has NumPy's own function for each.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy import Identity, OneMatrix, ZeroMatrix

from . import indexing, one_by_one, ops, written_ops
from .algebra import is_matrix
from .builder import Builder, Term
from .errors import ShapeError
from .functions import Elementwise
from .primitive_numpy import MAX_ORDER
from .shapes import fmt_shape, shape_of, tensor_dims

Build = Callable[..., Term]


def _f(name: str) -> Build:
    return lambda b, x, where: ops.apply(b, name, [x], where)


def _compose(*steps: Callable[[Builder, Term, str], Term]) -> Build:
    def build(b: Builder, x: Term, where: str) -> Term:
        for step in steps:
            x = step(b, x, where)
        return x
    return build


def _plus(c: sp.Expr) -> Callable[[Builder, Term, str], Term]:
    return lambda b, x, where: ops.add(b, x, c, where)


def _times(c: sp.Expr) -> Callable[[Builder, Term, str], Term]:
    return lambda b, x, where: ops.mul(b, c, x, where)


def _to_the(c: sp.Expr) -> Callable[[Builder, Term, str], Term]:
    return lambda b, x, where: ops.power(b, x, c, where)


def _silu(b: Builder, x: Term, where: str) -> Term:
    return ops.hadamard(b, x, ops.apply(b, "sigmoid", [x], where), where)


def _softsign(b: Builder, x: Term, where: str) -> Term:
    return ops.div(b, x, ops.add(b, sp.S.One, ops.apply(b, "abs", [x], where), where), where)


def _logit(b: Builder, x: Term, where: str) -> Term:
    return ops.apply(b, "log", [ops.div(b, x, ops.sub(b, sp.S.One, x, where), where)], where)


def _sinc(b: Builder, x: Term, where: str) -> Term:  # NumPy's: sin(πx)/(πx)
    px = ops.mul(b, sp.pi, x, where)
    return ops.div(b, ops.apply(b, "sin", [px], where), px, where)


def _cbrt(b: Builder, x: Term, where: str) -> Term:  # the real cube root, of negatives too
    root = ops.power(b, ops.apply(b, "abs", [x], where), sp.Rational(1, 3), where)
    return ops.hadamard(b, ops.apply(b, "sign", [x], where), root, where)


def _gelu(b: Builder, x: Term, where: str) -> Term:  # x Φ(x), Φ(x) = (1 + erf(x/√2))/2
    phi = ops.mul(b, sp.Rational(1, 2), ops.add(b, sp.S.One, ops.apply(
        b, "erf", [ops.mul(b, 1 / sp.sqrt(2), x, where)], where), where), where)
    return ops.hadamard(b, x, phi, where)


def _above(b: Builder, x: Term, below: Callable[[Term], Term], where: str) -> Term:
    """x where x > 0, ``below(s)`` elsewhere, as PyTorch's ELU family: at 0 the slope is the
    branch below's. ``s`` is x where x ≤ 0 and 0 above, so the branch not taken is never
    evaluated at a large x (e^{800} would make its zero gradient 0 · ∞ = NaN)."""
    c = ops.compare(b, ">", x, sp.S.Zero, where)
    s = ops.apply(b, "where", [c, sp.S.Zero, x], where)
    return ops.apply(b, "where", [c, x, below(s)], where)


def _elu(b: Builder, x: Term, alpha: Term = sp.S.One, where: str = "") -> Term:
    """x for x > 0, α(eˣ − 1) below (α = 1 unless given)."""
    return _above(b, x, lambda s: ops.mul(b, alpha, ops.sub(
        b, ops.apply(b, "exp", [s], where), sp.S.One, where), where), where)


def _celu(b: Builder, x: Term, alpha: Term = sp.S.One, where: str = "") -> Term:
    """PyTorch's celu: x for x > 0, α(e^{x/α} − 1) below (elu when α = 1)."""
    if alpha == 1:
        return _elu(b, x, where=where)
    return _above(b, x, lambda s: ops.mul(b, alpha, ops.sub(
        b, ops.apply(b, "exp", [ops.div(b, s, alpha, where)], where), sp.S.One, where), where),
        where)


# SELU's constants (Klambauer et al., 2017), to the digits PyTorch uses
SELU_ALPHA = sp.Float("1.6732632423543772848170429916717", 17)
SELU_SCALE = sp.Float("1.0507009873554804934193349852946", 17)


def _selu(b: Builder, x: Term, where: str) -> Term:  # λ x for x > 0, λ α (e^x − 1) below
    return ops.mul(b, SELU_SCALE, _elu(b, x, SELU_ALPHA, where), where)


def _mish(b: Builder, x: Term, where: str) -> Term:  # x tanh(softplus(x)) (Misra, 2019)
    soft = ops.apply(b, "tanh", [ops.apply(b, "softplus", [x], where)], where)
    return ops.hadamard(b, x, soft, where)


def _logsigmoid(b: Builder, x: Term, where: str) -> Term:  # log σ(x) = −softplus(−x)
    return ops.neg(b, ops.apply(b, "softplus", [ops.neg(b, x, where)], where), where)


def _std(b: Builder, x: Term, where: str) -> Term:  # √var(x), NumPy's (ddof = 0)
    return ops.apply(b, "sqrt", [ops.apply(b, "var", [x], where)], where)


def _axes_letters(s: tuple[sp.Expr, sp.Expr]) -> int:
    """An operand's rank as NumPy's dot and inner see it: a tensor's own, 1 for a column
    (the text's vector), 2 for any other matrix."""
    axes = tensor_dims(s)
    return len(axes) if axes is not None else 1 if s[1] == 1 else 2


def _tensor_product(b: Builder, x: Term, y: Term, which: str, where: str) -> Term:
    """NumPy's ``inner`` or ``dot`` where an operand is a tensor of rank ≥ 3, as the einsum
    it is: inner sums the last axis of each (``'abc,dec->abde'``); dot the last axis of x
    against y's only axis (a vector) or its second-to-last (``'abc,dce->abde'``)."""
    sx, sy = shape_of(x), shape_of(y)
    assert sx is not None
    assert sy is not None
    p, q = _axes_letters(sx), _axes_letters(sy)
    if p + q > 26:
        raise ShapeError(f"{where}: {which} of {fmt_shape(sx)} and {fmt_shape(sy)} has more "
                         "axes than einsum has letters")
    letters = "abcdefghijklmnopqrstuvwxyz"
    lx, ly = letters[:p], letters[p:p + q]
    ax = (sx[0],) if p == 1 else tensor_dims(sx) or sx
    ay = (sy[0],) if q == 1 else tensor_dims(sy) or sy
    k = -1 if which == "inner" or q == 1 else -2  # y's contracted axis
    if sp.simplify(ax[-1] - ay[k]) != 0:
        axis = "last" if k == -1 else "second-to-last"
        raise ShapeError(f"{where}: {fmt_shape(sx)} and {fmt_shape(sy)}: NumPy's {which} "
                         f"sums the last axis of the first ({ax[-1]}) against the {axis} of "
                         f"the second ({ay[k]})")
    ly = ly[:k] + lx[-1] + (ly[k + 1:] if k == -2 else "")
    out = lx[:-1] + (ly[:-1] if k == -1 else ly[:-2] + ly[-1:])
    return indexing.einsum_of(b, [x, y], f"{lx},{ly}->{out}", where)


def _dot(b: Builder, x: Term, y: Term, where: str) -> Term:
    """NumPy's dot: the inner product xᵀy of two vectors (columns here), the matrix
    product otherwise, a product with a scalar; with a tensor of rank ≥ 3, NumPy's sum over
    the last axis of x and the second-to-last of y (its only one, of a vector)."""
    sx, sy = shape_of(x), shape_of(y)
    if sx is None or sy is None:
        return ops.mul(b, x, y, where)
    if tensor_dims(sx) is not None or tensor_dims(sy) is not None:
        return _tensor_product(b, x, y, "dot", where)
    if sy == (1, 1) and b.two_d_column(x):  # (n, 1) times a 1×1: the matrix product
        return ops.matmul(b, x, y, where)
    if sx[1] == sy[1] == 1 and (b.two_d_column(x) or b.two_d_column(y)):
        raise ShapeError(f"{where}: NumPy's dot of {_held(b, x)} and {_held(b, y)} is not "
                         "their dot product (of a 2-D column a matrix product, which NumPy "
                         "refuses here): write np.dot(np.ravel(u), np.ravel(v)) for the dot "
                         "product, u.T @ v for it as a 1×1")
    if sx[1] == sy[1] == 1 and sx != sy and b.library is not None:  # e (1,) and y (3,)
        raise ShapeError(f"{where}: NumPy's dot of {_held(b, x)} and {_held(b, y)} sums "
                         "entries of two lengths (NumPy refuses it)")
    if sx[1] == sy[1] == 1:
        return ops.apply(b, "sum", [ops.hadamard(b, x, y, where)], where)
    return ops.matmul(b, x, y, where)


def _held(b: Builder, t: Term) -> str:
    """How NumPy holds ``t``, a column of the text, for a message."""
    n = shape_of(t)[0]  # type: ignore[index]
    return f"the 1-D ({n},)" if b.is_flat(t) else f"the 2-D {fmt_shape(shape_of(t))}"


def _inner(b: Builder, x: Term, y: Term, where: str) -> Term:
    """NumPy's inner: xᵀy of two vectors (columns here, NumPy's 1-D), A Bᵀ of matrices (the
    sums over their last axes), a product with a scalar; with a tensor of rank ≥ 3, the sum
    over the last axis of each (an einsum, ``'abc,dec->abde'``)."""
    sx, sy = shape_of(x), shape_of(y)
    if sx is None or sy is None:
        return ops.mul(b, x, y, where)
    if tensor_dims(sx) is not None or tensor_dims(sy) is not None:
        return _tensor_product(b, x, y, "inner", where)
    if b.two_d_column(x) or b.two_d_column(y):  # (in library-spelled text) NumPy's 2-D
        if (sx[1] == 1 and b.is_flat(x)) or (sy[1] == 1 and b.is_flat(y)):
            raise ShapeError(f"{where}: NumPy's inner of {_held(b, x)} and {_held(b, y)} "
                             "sums their last axes, which differ (NumPy refuses it): write "
                             "np.ravel(u) for a 2-D column's 1-D vector")
        if sx[1] != sy[1]:
            raise ShapeError(f"{where}: NumPy's inner of {fmt_shape(sx)} and {fmt_shape(sy)} "
                             f"sums their last axes, of lengths {sx[1]} and {sy[1]} (NumPy "
                             "refuses it)")
        return ops.matmul(b, x, ops.transpose(b, y, where), where)  # x yᵀ, as NumPy's
    if sx[1] == sy[1] == 1:
        return _dot(b, x, y, where)
    if sy[1] == 1:  # a matrix and a vector (NumPy's 1-D): A v, the sums over A's last axis
        return ops.matmul(b, x, y, where)
    if sx[1] == 1:
        return ops.matmul(b, y, x, where)
    return ops.matmul(b, x, ops.transpose(b, y, where), where)


def _vdot(b: Builder, x: Term, y: Term, where: str) -> Term:  # Σ xᵢⱼ yᵢⱼ, of any shapes alike
    if shape_of(x) != shape_of(y):  # a 1×1 product read as a scalar beside a 1×1 (yᵀx, r x)
        x, y = one_by_one.as_matrix(b, x), one_by_one.as_matrix(b, y)
    if shape_of(x) != shape_of(y):
        raise ShapeError(f"{where}: vdot takes two arrays of one shape here, not "
                         f"{fmt_shape(shape_of(x))} and {fmt_shape(shape_of(y))} (as the text "
                         "holds them): write np.vdot(np.ravel(a), np.ravel(b)) for the sum of "
                         "their entries' products")
    return ops.apply(b, "sum", [ops.hadamard(b, x, y, where)], where) if is_matrix(x) \
        else ops.mul(b, x, y, where)


def _solve(b: Builder, a: Term, y: Term, where: str) -> Term:
    """NumPy's linalg.solve(A, b): the x of A x = b, A⁻¹ b (the derivation shows the
    inverse; the numbers come from it too)."""
    if not is_matrix(a):
        return ops.div(b, y, a, where)
    sa = shape_of(a)
    if sa is None or sa[0] != sa[1]:
        raise ShapeError(f"{where}: solve takes a square matrix first, not {fmt_shape(sa)}")
    return ops.matmul(b, ops.apply(b, "inv", [a], where), y, where)


MAX_MATRIX_POWER = 64  # X·X·…·X, one product per factor in the derivation


def matrix_power(b: Builder, x: Term, k: Term, where: str) -> Term:
    """NumPy's linalg.matrix_power(X, k): k a whole number written in the text; X⁰ = I,
    X⁻ᵏ = (X⁻¹)ᵏ; one matrix product per factor."""
    if not (getattr(k, "is_Integer", False) and abs(int(k)) <= MAX_MATRIX_POWER):
        raise ShapeError(f"{where}: the power of matrix_power is a whole number written in "
                         f"the text, at most {MAX_MATRIX_POWER} in size, not {k}")
    if not is_matrix(x):
        return ops.power(b, x, k, where)
    sx = shape_of(x)
    if sx is None or sx[0] != sx[1]:
        raise ShapeError(f"{where}: matrix_power takes a square matrix, not {fmt_shape(sx)}")
    return written_ops.whole_power(b, x, int(k), where)


def _hardtanh(b: Builder, x: Term, where: str) -> Term:
    return ops.apply(b, "min", [ops.apply(b, "max", [x, -sp.S.One], where), sp.S.One], where)


def _leaky_relu(b: Builder, x: Term, a: Term, where: str) -> Term:  # x above 0, a·x below
    c = ops.compare(b, ">", x, sp.S.Zero, where)
    return ops.apply(b, "where", [c, x, ops.mul(b, a, x, where)], where)


def _relu6(b: Builder, x: Term, where: str) -> Term:  # min(max(x, 0), 6)
    return ops.apply(b, "min", [ops.apply(b, "relu", [x], where), sp.Integer(6)], where)


def _hardsigmoid(b: Builder, x: Term, where: str) -> Term:  # relu6(x + 3)/6 (PyTorch, JAX)
    return ops.mul(b, sp.Rational(1, 6), _relu6(b, ops.add(b, x, sp.Integer(3), where), where),
                   where)


def _hardswish(b: Builder, x: Term, where: str) -> Term:  # x relu6(x + 3)/6 (MobileNetV3)
    return ops.hadamard(b, x, _hardsigmoid(b, x, where), where)


def _softshrink(b: Builder, x: Term, where: str) -> Term:
    """PyTorch's softshrink with λ = ½: x − λ above λ, x + λ below −λ, 0 between; x minus
    its clip to [−λ, λ]."""
    half = sp.S.Half
    return ops.sub(b, x, _clip(b, x, -half, half, where), where)


def _hardshrink(b: Builder, x: Term, where: str) -> Term:  # x where |x| > ½ (PyTorch's λ)
    keep = ops.compare(b, ">", ops.apply(b, "abs", [x], where), sp.S.Half, where)
    return ops.hadamard(b, x, keep, where)


def _tanhshrink(b: Builder, x: Term, where: str) -> Term:  # x − tanh(x)
    return ops.sub(b, x, ops.apply(b, "tanh", [x], where), where)


def _xlogy(b: Builder, x: Term, y: Term, where: str) -> Term:  # x log y (SciPy, PyTorch)
    return ops.hadamard(b, x, ops.apply(b, "log", [y], where), where)


def _over(name: str) -> Build:  # sec, csc, cot, sech, csch, coth: 1/cos, 1/sin, …
    return _compose(_f(name), _to_the(-sp.S.One))


def _sq(b: Builder, x: Term, where: str) -> Term:
    return ops.power(b, x, sp.Integer(2), where)


def _hypot(b: Builder, x: Term, y: Term, where: str) -> Term:  # √(x² + y²)
    return ops.apply(b, "sqrt", [ops.add(b, _sq(b, x, where), _sq(b, y, where), where)], where)


def _logaddexp(b: Builder, x: Term, y: Term, where: str) -> Term:
    """log(eˣ + eʸ) as y + softplus(x − y): the same number, finite at x, y = 800, 799 (the
    written-out sum overflowed), its slopes σ(x − y) and 1 − σ(x − y)."""
    diff = ops.sub(b, x, y, where)
    return ops.add(b, y, ops.apply(b, "softplus", [diff], where), where)


def _power(b: Builder, x: Term, y: Term, where: str) -> Term:
    """NumPy's ``power``: a number exponent is the power; any other is exp(y log x),
    entry by entry (for x > 0, where it is differentiable in y)."""
    if getattr(y, "is_Number", False):
        return ops.power(b, x, y, where)
    return ops.apply(b, "exp", [ops.hadamard(b, y, ops.apply(b, "log", [x], where), where)],
                     where)


def _clip(b: Builder, x: Term, lo: Term, hi: Term, where: str) -> Term:
    return ops.apply(b, "min", [ops.apply(b, "max", [x, lo], where), hi], where)


def _polygamma(b: Builder, n: Term, x: Term, where: str) -> Term:
    """ψ⁽ⁿ⁾(x), entry by entry: the order n is a whole number written in the text, at most
    ``primitive_numpy.MAX_ORDER`` (the numeric ψ⁽ⁿ⁾ costs time and memory growing with n)."""
    if not (getattr(n, "is_Integer", False) and 0 <= n <= MAX_ORDER):
        raise ShapeError(f"{where}: the order of polygamma is a whole number 0, 1, 2, …, "
                         f"{MAX_ORDER}, not {n}")
    if is_matrix(x):
        return b.node(Elementwise("polygamma", n, x))
    e = sp.polygamma(n, ops.inexact(x))
    if e.is_number and e.has(sp.zeta):  # ψ⁽²⁾(2) = 2 − 2ζ(3): ζ has no rule, so its value
        e = sp.Float(e.evalf(17))
    return b.node(e)


def _besseli(b: Builder, n: Term, x: Term, where: str) -> Term:
    """I_n(x), entry by entry: the order n is a whole number written in the text."""
    if not (getattr(n, "is_Integer", False) and n >= 0):
        raise ShapeError(f"{where}: the order of besseli is a whole number 0, 1, 2, …, "
                         f"not {n}")
    if is_matrix(x):
        return b.node(Elementwise("besseli", n, x))
    return b.node(sp.besseli(n, ops.inexact(x)))


def _psi(order: int) -> Build:
    return lambda b, x, where: _polygamma(b, sp.Integer(order), x, where)


def _outer(b: Builder, x: Term, y: Term, where: str) -> Term:
    """x yᵀ of two vectors (a row is read as the column it lists, as ``np.outer`` reads
    it). Of a matrix NumPy's outer product flattens it and PyTorch's refuses it: so here."""
    def column(v: Term) -> Term:
        s = shape_of(v)
        if s is not None and s[0] != 1 and s[1] != 1:
            raise ShapeError(f"{where}: outer takes two vectors, not a {fmt_shape(s)} matrix "
                             "(np.outer would flatten it; write the product, A @ B.T, or "
                             "kron)")
        return ops.transpose(b, v, where) if s is not None and s[0] == 1 and s[1] != 1 else v
    return ops.matmul(b, column(x), ops.transpose(b, column(y), where), where)


def _diag(b: Builder, v: Term, where: str) -> Term:
    """``diag(v)`` of a column vector: the diagonal matrix (v 1ᵀ) ⊙ I; ``diag(X)`` of a
    square matrix: its diagonal as a column, (X ⊙ I) 1 (NumPy's two meanings)."""
    shape = shape_of(v)
    _not_a_tensor("diag", shape, where)
    if shape is None or shape[1] == 1:
        n = shape[0] if shape is not None else sp.S.One
        spread = ops.matmul(b, v, OneMatrix(1, n), where) if shape is not None else v
        return ops.hadamard(b, spread, Identity(n), where)
    return _diagonal(b, v, where)


def _not_a_tensor(name: str, shape: Any, where: str) -> None:
    """NumPy's diag and diagonal-as-a-matrix's: of a 1-D or 2-D array only."""
    axes = tensor_dims(shape)
    if axes is not None:
        r = "abcdefghijklmnopqrstuvwxyz"[:len(axes) - 2]
        numpy = (f"NumPy's diag refuses it too; the diagonals of its last two axes are "
                 f"einsum('{r}ii->{r}i', X)") if name == "diag" else (
            f"NumPy's diagonal of it, along axes 0 and 1, is einsum('ii{r}->{r}i', X)")
        takes = "a vector or a square matrix" if name == "diag" else "a square matrix"
        raise ShapeError(f"{where}: {name} takes {takes}, not a tensor {fmt_shape(shape)} "
                         f"({numpy})")


def _diagonal(b: Builder, x: Term, where: str) -> Term:
    shape = shape_of(x)
    _not_a_tensor("diagonal", shape, where)
    if shape is None or shape[0] != shape[1]:
        raise ShapeError(f"{where}: the diagonal of a square matrix, not {fmt_shape(shape)}")
    return ops.matmul(b, ops.hadamard(b, x, Identity(shape[0]), where), OneMatrix(shape[1], 1),
                      where)


# losses ---------------------------------------------------------------------------------


def _zero_like(t: Term) -> Term:
    """0, or the zero matrix 𝟎 of t's shape (max(𝟎, M) as the notes write it, not 0·𝟏)."""
    shape = shape_of(t)
    return sp.S.Zero if shape is None else ZeroMatrix(*shape)


def _multiclass_hinge(b: Builder, s: Term, y: Term, where: str) -> Term:
    """The multiclass SVM loss of CS231n, summed over the batch: scores S and one-hot
    targets Y (classes down, samples across, as ``cross_entropy``); Σᵢ Σ_{j≠yᵢ} max(0,
    s_j − s_{yᵢ} + 1). The correct class's score is the column sum of Y ⊙ S; the margins
    M = S − 𝟏 s_yᵀ + 1 (of the correct class, 1 > 0, so no kink there) are masked by
    1 − Y, so the backward pass shows the indicator 𝟙[M > 0] of the positive margins."""
    if not (is_matrix(s) and is_matrix(y)) or shape_of(s) != shape_of(y):
        raise ShapeError(f"{where}: the scores and the one-hot targets as matrices of one "
                         f"shape (classes down, samples across), not "
                         f"{fmt_shape(shape_of(s))} and {fmt_shape(shape_of(y))}")
    correct = ops.reduce_axis(b, "sum", ops.hadamard(b, y, s, where), 0, where)
    margins = ops.add(b, ops.sub(b, s, correct, where), sp.S.One, where)
    hinge = ops.apply(b, "max", [_zero_like(margins), margins], where)
    return ops.apply(b, "sum", [ops.hadamard(b, ops.sub(b, sp.S.One, y, where), hinge, where)],
                     where)


def _hinge(b: Builder, s: Term, y: Term, where: str) -> Term:
    """The binary hinge loss max(0, 1 − y s) of a score s and a label y = ±1, entry by
    entry (``sum``/``mean`` it over a batch)."""
    margin = ops.sub(b, sp.S.One, ops.hadamard(b, y, s, where), where)
    return ops.apply(b, "max", [_zero_like(margin), margin], where)


def _logistic_loss(b: Builder, s: Term, y: Term, where: str) -> Term:
    """log(1 + e^{−y s}) = softplus(−y s) of a score s and a label y = ±1, entry by entry;
    its derivative in s is −y σ(−y s)."""
    return ops.apply(b, "softplus", [ops.neg(b, ops.hadamard(b, y, s, where), where)], where)


def _binary_cross_entropy(b: Builder, p: Term, y: Term, where: str) -> Term:
    """PyTorch's binary_cross_entropy: the mean of −(y log p + (1 − y) log(1 − p)) over
    every entry, of probabilities p and targets y in [0, 1]."""
    one = ops.hadamard(b, y, ops.apply(b, "log", [p], where), where)
    other = ops.hadamard(b, ops.sub(b, sp.S.One, y, where), ops.apply(
        b, "log", [ops.sub(b, sp.S.One, p, where)], where), where)
    return ops.neg(b, ops.apply(b, "mean", [ops.add(b, one, other, where)], where), where)


def _bce_with_logits(b: Builder, s: Term, y: Term, where: str) -> Term:
    """PyTorch's binary_cross_entropy_with_logits: the mean of softplus(s) − y s, the same
    loss of p = σ(s) written without σ (so that a large |s| costs no precision)."""
    entry = ops.sub(b, ops.apply(b, "softplus", [s], where), ops.hadamard(b, y, s, where),
                    where)
    return ops.apply(b, "mean", [entry], where)


def _mse_loss(b: Builder, o: Term, y: Term, where: str) -> Term:
    """PyTorch's mse_loss: mean((o − y)²), the mean over every entry (``mse`` is
    ½‖o − y‖², the sum)."""
    return ops.apply(b, "mean", [_sq(b, ops.sub(b, o, y, where), where)], where)


COMPOSITES: dict[str, tuple[int, Build]] = {
    "outer": (2, _outer),
    "diag": (1, _diag),
    "diagonal": (1, _diagonal),
    "hypot": (2, _hypot),
    "logaddexp": (2, _logaddexp),
    "power": (2, _power),
    "clip": (3, _clip),
    "polygamma": (2, _polygamma),
    "besseli": (2, _besseli),
    "digamma": (1, _psi(0)),
    "trigamma": (1, _psi(1)),
    "exp2": (1, _compose(_times(sp.log(2)), _f("exp"))),
    "log2": (1, _compose(_f("log"), _times(1 / sp.log(2)))),
    "log10": (1, _compose(_f("log"), _times(1 / sp.log(10)))),
    "square": (1, _to_the(sp.Integer(2))),
    "rsqrt": (1, _to_the(-sp.S.Half)),
    "reciprocal": (1, _to_the(-sp.S.One)),
    "cbrt": (1, _cbrt),
    "sinc": (1, _sinc),
    "logit": (1, _logit),
    "silu": (1, _silu),
    "swish": (1, _silu),
    "softsign": (1, _softsign),
    "gelu": (1, _gelu),
    "elu": (1, _elu),
    "hardtanh": (1, _hardtanh),
    "relu6": (1, _relu6),
    "hardsigmoid": (1, _hardsigmoid),
    "hard_sigmoid": (1, _hardsigmoid),
    "hardswish": (1, _hardswish),
    "hard_swish": (1, _hardswish),
    "celu": (1, _celu),
    "softshrink": (1, _softshrink),
    "hardshrink": (1, _hardshrink),
    "tanhshrink": (1, _tanhshrink),
    "xlogy": (2, _xlogy),
    "sec": (1, _over("cos")),
    "csc": (1, _over("sin")),
    "cot": (1, _over("tan")),
    "sech": (1, _over("cosh")),
    "csch": (1, _over("sinh")),
    "coth": (1, _over("tanh")),
    "deg2rad": (1, _times(sp.pi / 180)),
    "radians": (1, _times(sp.pi / 180)),
    "rad2deg": (1, _times(180 / sp.pi)),
    "degrees": (1, _times(180 / sp.pi)),
    "leaky_relu": (2, _leaky_relu),
    "selu": (1, _selu),
    "mish": (1, _mish),
    "logsigmoid": (1, _logsigmoid),
    "log_sigmoid": (1, _logsigmoid),
    "std": (1, _std),
    "dot": (2, _dot),
    "inner": (2, _inner),
    "vdot": (2, _vdot),
    "solve": (2, _solve),
    "matrix_power": (2, matrix_power),
    # NumPy's ufuncs by name: the text's operators (multiply is ⊙, as NumPy's *)
    "add": (2, lambda b, x, y, where: ops.add(b, x, y, where)),
    "subtract": (2, lambda b, x, y, where: ops.sub(b, x, y, where)),
    "multiply": (2, lambda b, x, y, where: ops.hadamard(b, x, y, where)),
    "divide": (2, lambda b, x, y, where: ops.div(b, x, y, where)),
    "true_divide": (2, lambda b, x, y, where: ops.div(b, x, y, where)),
    "negative": (1, lambda b, x, where: ops.neg(b, x, where)),
    "matmul": (2, lambda b, x, y, where: ops.matmul(b, x, y, where)),
    "maximum": (2, lambda b, x, y, where: ops.apply(b, "max", [x, y], where)),
    "minimum": (2, lambda b, x, y, where: ops.apply(b, "min", [x, y], where)),
    # losses
    "multiclass_hinge": (2, _multiclass_hinge),
    "svm_loss": (2, _multiclass_hinge),
    "hinge": (2, _hinge),
    "logistic_loss": (2, _logistic_loss),
    "mse_loss": (2, _mse_loss),
    "binary_cross_entropy": (2, _binary_cross_entropy),
    "binary_cross_entropy_with_logits": (2, _bce_with_logits),
}

# where each is defined and differentiable, in words (docs/vocabulary.md); the rest follows
# from the primitives it is written with
# composites that take more arguments than their count, when given (elu(x, alpha))
MOST_ARGS = {"elu": 2, "celu": 2}

DOMAINS = {
    "log2": "x > 0", "log10": "x > 0", "rsqrt": "x > 0",
    "reciprocal": "x ≠ 0", "cbrt": "all x; its derivative x ≠ 0", "logit": "0 < x < 1",
    "sinc": "its written-out form is 0/0 at 0", "power": "x > 0 for a variable exponent",
    "clip": "kinks at the bounds", "hardtanh": "kinks at ±1", "leaky_relu": "a kink at 0",
    "elu": "a kink at 0 unless α = 1",
    "hypot": "(x, y) ≠ (0, 0)",
    "diagonal": "square X", "softsign": "a kink at 0 (its derivative is continuous)",
    "polygamma": "n = 0, 1, …, 1000 written as a number; x ≠ 0, −1, −2, …",
    "besseli": "n = 0, 1, 2, … written as a number; all x",
    "digamma": "x ≠ 0, −1, −2, …; its derivative x ≥ −10⁴",
    "trigamma": "x ≠ 0, −1, −2, …, x ≥ −10⁴",
    "multiclass_hinge": "S, Y of one shape, Y one-hot in each column; a kink where a margin "
                        "is 0", "svm_loss": "as multiclass_hinge",
    "hinge": "y = ±1; a kink where y s = 1", "logistic_loss": "y = ±1 (any y works)",
    "selu": "a kink at 0", "std": "not all entries equal (√ at 0)",
    "relu6": "kinks at 0 and 6", "hardsigmoid": "kinks at ±3", "hard_sigmoid": "kinks at ±3",
    "hardswish": "kinks at ±3", "hard_swish": "kinks at ±3",
    "celu": "switches at 0 (its slope is continuous)",
    "softshrink": "kinks at ±½ (λ = ½)", "hardshrink": "jumps at ±½ (λ = ½)",
    "xlogy": "y > 0", "sec": "cos x ≠ 0", "csc": "sin x ≠ 0", "cot": "tan x ≠ 0, ±∞",
    "csch": "x ≠ 0", "coth": "x ≠ 0",
    "maximum": "a kink where x = y", "minimum": "a kink where x = y",
    "solve": "A invertible", "matrix_power": "square X; k a whole number, |k| ≤ 64 "
                                             "(X invertible for k < 0)",
    "divide": "y ≠ 0", "true_divide": "y ≠ 0", "vdot": "x, y of one shape",
    "binary_cross_entropy": "0 < p < 1; the mean over the entries, as PyTorch's",
    "binary_cross_entropy_with_logits": "all s; the mean over the entries, as PyTorch's",
}
