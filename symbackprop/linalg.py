"""Matrix calculus primitives: determinant, inverse, log-determinant, norms, mean, variance,
product, log-sum-exp — each one ``Rule`` of the table (``rules.RULES`` takes them from ``LINALG``).

Every VJP is the Matrix Cookbook's, in denominator layout (∂L/∂X has the shape of X) and
written with the node's own output where that is how the book writes it:
``∂ det X/∂X = det(X) X⁻ᵀ``, ``∂L/∂X = −X⁻ᵀ (∂L/∂Y) X⁻ᵀ`` for ``Y = X⁻¹``,
``∂ log det X/∂X = X⁻ᵀ``, ``∂‖X‖/∂X = X/‖X‖``, ``∂ mean X/∂X = 𝟏/N``,
``∂ var X/∂X = 2(X − mean(X) 𝟏)/N``, ``∂ logsumexp X/∂X = exp(X − logsumexp(X) 𝟏)``,
``∂ ∏X/∂X = (∏X) X^{∘−1}``.
The engine's NumPy forward and VJP beside each are written by hand, independently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from sympy import Determinant, HadamardPower, Identity, Inverse, OneMatrix, Trace, ZeroMatrix

from .algebra import hadamard, madd, mmul, mscale, transpose
from .functions import (
    CumProd,
    Elementwise,
    Indicator,
    LogDet,
    LogSumExp,
    LogSumExpAlong,
    MaxAlong,
    Mean,
    MinAlong,
    Norm,
    Norm1,
    Pattern,
    Prod,
    ProdAlong,
    Softmax,
    Var,
)
from .rule import Array, Rule
from .shapes import Extent


def _square(name: str) -> Callable[[tuple[Any, Any] | None], str | None]:
    return lambda a: None if a is not None and a[0] == a[1] else f"{name} needs a square matrix"


def _size(x: sp.Basic) -> sp.Expr:
    return sp.Mul(*x.shape)


def _np_logdet(a: Array) -> float:
    sign, logdet = np.linalg.slogdet(a)
    return float(logdet) if sign > 0 else float("nan")  # log det X needs det X > 0


def _np_logsumexp(a: Array) -> float:
    m = float(np.max(a))
    return m + float(np.log(np.sum(np.exp(a - m))))


def _sym_var_vjp(g: sp.Basic, out: sp.Basic, x: sp.Basic) -> tuple[sp.Basic, ...]:
    centred = madd(x, mscale(-1, mscale(Mean(x), OneMatrix(*x.shape))))
    return (mscale(2 * g / _size(x), centred),)


def _sym_logsumexp_vjp(g: sp.Basic, out: sp.Basic, x: sp.Basic) -> tuple[sp.Basic, ...]:
    if x.shape[1] == 1 and not isinstance(x.shape[0], Extent):  # a vector: the softmax
        return (mscale(g, Softmax(x)),)
    shifted = madd(x, mscale(-out, OneMatrix(*x.shape)))
    return (mscale(g, Elementwise("exp", shifted)),)


def _along(which: str) -> Rule:
    """``max(X, axis=k)`` / ``min(X, axis=k)``: the cotangent goes to where the extreme was
    taken (shared among ties, which are kinks)."""
    pick = np.max if which == "max" else np.min
    node = MaxAlong if which == "max" else MinAlong

    def forward(a: Array, axis: float = 0.0) -> Array:
        return pick(a, axis=int(axis), keepdims=True)

    def vjp(g: Array, out: Array, a: Array, axis: float = 0.0) -> tuple[Array, ...]:
        hit = (a == out).astype(float)
        return (g * hit / np.sum(hit, axis=int(axis), keepdims=True),)

    def matrix_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic, axis: Any = 0) -> tuple[sp.Basic, ...]:
        m, n = a.shape

        def spread(v: sp.Basic) -> sp.Basic:  # a row over the rows, a column over the columns
            return mmul(OneMatrix(m, 1), v) if int(axis) == 0 else mmul(v, OneMatrix(1, n))
        return (hadamard(spread(g), Indicator(a, spread(out), axis)),)

    def ties(a: Array, axis: float = 0.0) -> Array:
        return np.sum(a == pick(a, axis=int(axis), keepdims=True), axis=int(axis)) > 1

    def matrix_jvp(dots: Any, out: sp.Basic, a: sp.Basic, axis: Any = 0) -> sp.Basic:
        """The tangent of the entry where the extreme is taken (at ties, their mean)."""
        m, n = a.shape
        if int(axis) == 0:
            return mmul(OneMatrix(1, m), hadamard(Indicator(a, mmul(OneMatrix(m, 1), out), 0),
                                                  dots[0]))
        return mmul(hadamard(Indicator(a, mmul(out, OneMatrix(1, n)), 1), dots[0]),
                    OneMatrix(n, 1))

    return Rule(f"{which}_axis", forward=forward, vjp=vjp, matrix_vjp=matrix_vjp,
                matrix_jvp=matrix_jvp,
                latex=rf"\{which}", role="reduction", node=node, nondiff=ties,
                params_of=lambda e: (("axis", e.args[1]),), arity=0, operands=1)


def _indicator(a: Array, b: Array, axis: float | None = None) -> Array:
    hit = (np.asarray(a) == np.asarray(b)).astype(float)
    return hit if axis is None else hit / np.sum(hit, axis=int(axis), keepdims=True)


def _others(a: Array, axis: int | None = None) -> Array:
    """Each entry's product of all the other entries (of its column or row along ``axis``),
    exact where entries are 0: the products before it times the products after it."""
    a = np.asarray(a, dtype=float)
    v = np.moveaxis(a.reshape(1, -1) if axis is None else a, -1 if axis is None else axis, -1)
    ones = np.ones((*v.shape[:-1], 1))
    before = np.concatenate([ones, np.cumprod(v[..., :-1], axis=-1)], axis=-1)
    after = np.flip(np.concatenate([ones, np.cumprod(np.flip(v, -1)[..., :-1], axis=-1)],
                                   axis=-1), -1)
    out = np.moveaxis(before * after, -1, -1 if axis is None else axis)
    return out.reshape(a.shape)


def _prod_along() -> Rule:
    """``prod(X, axis=k)``: ∂L/∂X = (G spread) ⊙ (P spread) ⊘ X, with P the products kept
    along their axis (the formula is 0/0 where an entry is 0; the engine's is exact)."""
    def spread(v: sp.Basic, a: sp.Basic, axis: Any) -> sp.Basic:
        m, n = a.shape
        return mmul(OneMatrix(m, 1), v) if int(axis) == 0 else mmul(v, OneMatrix(1, n))

    def matrix_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic, axis: Any = 0
                   ) -> tuple[sp.Basic, ...]:
        return (hadamard(spread(g, a, axis), spread(out, a, axis), HadamardPower(a, -1)),)

    def matrix_jvp(dots: Any, out: sp.Basic, a: sp.Basic, axis: Any = 0) -> sp.Basic:
        """Ẏ = Y ⊙ (the sum along the axis of Ẋ ⊘ X)."""
        m, n = a.shape
        ratio = hadamard(dots[0], HadamardPower(a, -1))
        total = mmul(OneMatrix(1, m), ratio) if int(axis) == 0 else mmul(ratio, OneMatrix(n, 1))
        return hadamard(out, total)

    return Rule("prod_axis", forward=lambda a, axis=0.0: np.prod(a, axis=int(axis),
                                                                 keepdims=True),
                matrix_jvp=matrix_jvp,
                vjp=lambda g, out, a, axis=0.0: (g * _others(a, int(axis)),),
                matrix_vjp=matrix_vjp, latex=r"\prod", role="reduction", node=ProdAlong,
                nondiff=lambda a, axis=0.0: np.any(a == 0),
                params_of=lambda e: (("axis", e.args[1]),), arity=0, operands=1)


def np_inv(a: Array) -> Array:
    """A⁻¹, or NaN throughout for a singular A (NumPy raises LinAlgError): undefined there,
    as log of a negative number is, for check() to name."""
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.full(np.shape(a), np.nan)


def cofactors(a: Array) -> Array:
    """∂det(A)/∂A, the matrix of cofactors: det(A)·A⁻ᵀ where A is invertible, and defined
    for a singular A too (jax's value there). From the SVD A = U S Vᵀ: det(U) det(V) ·
    U diag(∏_{j≠i} s_j) Vᵀ."""
    a = np.asarray(a, dtype=float)
    u, sv, vt = np.linalg.svd(a)
    others = np.array([np.prod(np.delete(sv, i)) for i in range(len(sv))])
    return float(np.linalg.det(u) * np.linalg.det(vt)) * (u * others) @ vt


def np_logsumexp_along(a: Array, axis: float = 0.0) -> Array:
    """log Σ exp along the axis (kept), shifted by the largest entry: finite at ±800, −∞ for
    a column of −∞ (a mask)."""
    k = int(axis)
    m = np.max(a, axis=k, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return m + np.log(np.sum(np.exp(a - m), axis=k, keepdims=True))


def _logsumexp_along() -> Rule:
    """logsumexp(X, axis=k): its cotangent spreads along the axis as the softmax there,
    exp(X − out); the tangent is the sum along the axis of that softmax ⊙ Ẋ."""
    def spread(v: sp.Basic, a: sp.Basic, axis: Any) -> sp.Basic:
        m, n = a.shape
        return mmul(OneMatrix(m, 1), v) if int(axis) == 0 else mmul(v, OneMatrix(1, n))

    def weights(out: sp.Basic, a: sp.Basic, axis: Any) -> sp.Basic:
        return Elementwise("exp", madd(a, mscale(-1, spread(out, a, axis))))

    def matrix_jvp(dots: Any, out: sp.Basic, a: sp.Basic, axis: Any = 0) -> sp.Basic:
        m, n = a.shape
        both = hadamard(weights(out, a, axis), dots[0])
        return mmul(OneMatrix(1, m), both) if int(axis) == 0 else mmul(both, OneMatrix(n, 1))

    return Rule("logsumexp_axis", forward=np_logsumexp_along,
                vjp=lambda g, out, a, axis=0.0: (g * np.exp(a - out),),
                matrix_vjp=lambda g, out, a, axis=0: (
                    hadamard(spread(g, a, axis), weights(out, a, axis)),),
                matrix_jvp=matrix_jvp, latex=r"\operatorname{logsumexp}", role="reduction",
                node=LogSumExpAlong, params_of=lambda e: (("axis", e.args[1]),), arity=0,
                operands=1)


def _cumprod_vjp(g: Array, out: Array, a: Array, axis: float = 0.0) -> tuple[Array, ...]:
    """∂L/∂x_j = Σ_{i ≥ j} g_i ∏_{k ≤ i, k ≠ j} x_k along the axis, exact where x_j = 0."""
    k = int(axis)
    x, gy = np.moveaxis(np.asarray(a, dtype=float), k, 0), np.moveaxis(np.asarray(g), k, 0)
    out_ = np.zeros_like(x)
    for j in range(x.shape[0]):
        others = x.copy()
        others[j] = 1.0  # the running products without x_j
        run = np.cumprod(others, axis=0)
        out_[j] = np.sum((gy * run)[j:], axis=0)
    return (np.moveaxis(out_, 0, k),)


def _sym_cumprod_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic, axis: Any = 0
                     ) -> tuple[sp.Basic, ...]:
    """(tril(𝟏)ᵀ (G ⊙ Y)) ⊘ X down the columns, ((G ⊙ Y) tril(𝟏)) ⊘ X along the rows: the
    reversed running sum of G ⊙ Y, divided by X (0/0 where an entry is 0)."""
    gy = hadamard(g, out)
    if int(axis) == 0:
        back = mmul(transpose(Pattern("tril", a.shape[0])), gy)
    else:
        back = mmul(gy, Pattern("tril", a.shape[1]))
    return (hadamard(back, HadamardPower(a, -1)),)


def _sym_cumprod_jvp(dots: Any, out: sp.Basic, a: sp.Basic, axis: Any = 0) -> sp.Basic:
    """Ẏ = Y ⊙ (the running sum of Ẋ ⊘ X along the axis)."""
    ratio = hadamard(dots[0], HadamardPower(a, -1))
    if int(axis) == 0:
        return hadamard(out, mmul(Pattern("tril", a.shape[0]), ratio))
    return hadamard(out, mmul(ratio, transpose(Pattern("tril", a.shape[1]))))


LINALG: dict[str, Rule] = {
    "cumprod_axis": Rule("cumprod_axis",
                         forward=lambda a, axis=0.0: np.cumprod(a, axis=int(axis)),
                         vjp=_cumprod_vjp, matrix_vjp=_sym_cumprod_vjp,
                         matrix_jvp=_sym_cumprod_jvp,
                         latex=r"\operatorname{cumprod}", node=CumProd,
                         nondiff=lambda a, axis=0.0: np.any(np.asarray(a) == 0),
                         params_of=lambda e: (("axis", e.args[1]),), arity=0, operands=1),
    "prod": Rule("prod", forward=lambda a: float(np.prod(a)),
                 vjp=lambda g, out, a: (g * _others(a),),
                 matrix_vjp=lambda g, out, a: (mscale(g * out, HadamardPower(a, -1)),),
                 latex=r"\prod", role="reduction", code="np.prod", node=Prod,
                 nondiff=lambda a: np.any(np.asarray(a) == 0), on_scalar=lambda a: a),
    "prod_axis": _prod_along(),
    "logsumexp_axis": _logsumexp_along(),
    "trace": Rule("trace", forward=lambda a: float(np.trace(a)),
                  vjp=lambda g, out, a: (g * np.eye(a.shape[0]),),
                  matrix_vjp=lambda g, out, a: (mscale(g, Identity(a.shape[0])),),
                  latex=r"\operatorname{tr}", role="reduction", code="np.trace", node=Trace,
                  shape=_square("trace"), on_scalar=lambda a: a),
    "max_axis": _along("max"),
    # 𝟙[A = B], which only max's and min's backward pass writes: piecewise constant, so a
    # Hessian through max(X, axis=k) passes nothing back through it (ties are max's kinks)
    # (with an axis, ties along it share: each entry divided by their number)
    "indicator": Rule("indicator", forward=_indicator,
                      vjp=lambda g, out, a, b, **_: (np.zeros(np.shape(a)), np.zeros(np.shape(b))),
                      matrix_vjp=lambda g, out, a, b, **_: (None, None),
                      matrix_jvp=lambda dots, out, a, b, **_: ZeroMatrix(*out.shape),
                      node=Indicator, arity=0, operands=2,
                      params_of=lambda e: (("axis", e.args[2]),) if len(e.args) > 2 else ()),
    "min_axis": _along("min"),
    "det": Rule("det", forward=lambda a: float(np.linalg.det(a)),
                vjp=lambda g, out, a: (g * cofactors(a),),
                matrix_vjp=lambda g, out, a: (mscale(g * out, transpose(Inverse(a))),),
                latex=r"\det", role="reduction", code="np.linalg.det", node=Determinant,
                shape=_square("det"), on_scalar=lambda a: a,
                nondiff=lambda a: np.linalg.matrix_rank(a) < np.shape(a)[0]),
    "inv": Rule("inv", forward=np_inv,
                vjp=lambda g, out, a: (-(out.T @ g @ out.T),),
                matrix_vjp=lambda g, out, a: (mscale(-1, mmul(transpose(out), g,
                                                              transpose(out))),),
                matrix_jvp=lambda dots, out, a: mscale(-1, mmul(out, dots[0], out)),
                latex=r"^{-1}", node=Inverse, shape=_square("inv"),
                operands=1, on_scalar=lambda a: sp.Pow(a, -1), code="inv",
                helper="def inv(a):\n    try:\n        return np.linalg.inv(a)\n"
                       "    except np.linalg.LinAlgError:  # singular: NaN, as evaluate's\n"
                       "        return np.full(np.shape(a), np.nan)\n"),
    "logdet": Rule("logdet", forward=_np_logdet,
                   vjp=lambda g, out, a: (g * np_inv(a).T,),
                   matrix_vjp=lambda g, out, a: (mscale(g, transpose(Inverse(a))),),
                   latex=r"\log\det", role="reduction", node=LogDet, shape=_square("logdet"),
                   nondiff=lambda a: np.linalg.det(a) <= 0, on_scalar=sp.log,
                   helper="def logdet(a):\n    sign, value = np.linalg.slogdet(a)\n"
                          "    return value if sign > 0 else np.nan\n", code="logdet"),
    "norm2": Rule("norm2", forward=lambda a: float(np.sqrt(np.sum(np.square(a)))),
                  vjp=lambda g, out, a: (g * a / out,),
                  matrix_vjp=lambda g, out, a: (mscale(g / out, a),),
                  latex=r"\lVert\cdot\rVert", role="reduction", code="np.linalg.norm",
                  node=Norm, nondiff=lambda a: np.all(a == 0), on_scalar=sp.Abs,
                  aliases=("norm",)),
    "norm1": Rule("norm1", forward=lambda a: float(np.sum(np.abs(a))),
                  vjp=lambda g, out, a: (g * np.sign(a),),
                  matrix_vjp=lambda g, out, a: (mscale(g, Elementwise("sign", a)),),
                  latex=r"\lVert\cdot\rVert_{1}", role="reduction", node=Norm1,
                  nondiff=lambda a: a == 0, on_scalar=sp.Abs, code="norm1",
                  helper="def norm1(a):\n    return np.sum(np.abs(a))\n"),
    "mean": Rule("mean", forward=lambda a: float(np.mean(a)),
                 vjp=lambda g, out, a: (np.full_like(a, g / np.size(a)),),
                 matrix_vjp=lambda g, out, a: (mscale(g / _size(a), OneMatrix(*a.shape)),),
                 latex=r"\operatorname{mean}", role="reduction", code="np.mean", node=Mean,
                 on_scalar=lambda a: a),
    "var": Rule("var", forward=lambda a: float(np.var(a)),
                vjp=lambda g, out, a: (g * 2.0 * (a - np.mean(a)) / np.size(a),),
                matrix_vjp=_sym_var_vjp, latex=r"\operatorname{var}", role="reduction",
                code="np.var", node=Var, on_scalar=lambda a: sp.S.Zero * a),
    "logsumexp": Rule("logsumexp", forward=_np_logsumexp,
                      vjp=lambda g, out, a: (g * np.exp(a - out),),
                      matrix_vjp=_sym_logsumexp_vjp, latex=r"\operatorname{logsumexp}",
                      role="reduction", node=LogSumExp, on_scalar=lambda a: a,
                      code="logsumexp",
                      helper="def logsumexp(a):\n    m = np.max(a)\n"
                             "    return m + np.log(np.sum(np.exp(a - m)))\n"),
}
