"""The layers a course derives by hand, as primitives whose VJPs are the literature's compact
forms (issue 14): standardisation along an axis, the X̂ of batch and layer normalisation, and
the softmax of each row, attention's A = softmax(S, axis=1).

Columns are samples. Batch normalisation standardises each row (a feature) over the batch,
``axis=1``; layer normalisation each column (a sample) over its features, ``axis=0``.
``X̂ = (X − μ 1ᵀ) ⊘ (σ 1ᵀ)`` with ``σ = √(var + ε)``; its VJP, with N the length of the axis,

    ∂L/∂X = (1/N) σ⁻¹ 1ᵀ ⊙ (N ∂L/∂X̂ − ∂L/∂X̂ 1 1ᵀ − X̂ ⊙ (∂L/∂X̂ ⊙ X̂) 1 1ᵀ)   (axis=1)

(the axis=0 form has 1 σ⁻¹ and 1 1ᵀ on the left). It is the chain rule through μ and σ² with
the two sums along the axis collected and X − μ1ᵀ written as σ ⊙ X̂ — by hand, once, here:
no ``simplify``. The row softmax's VJP is ``A ⊙ (∂L/∂A − (∂L/∂A ⊙ A) 1 1ᵀ)``.
The engine's NumPy forward and VJP beside each are written by hand, independently.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp
from sympy import OneMatrix
from sympy.matrices.expressions.matexpr import MatrixExpr

from .algebra import hadamard, madd, mmul, mscale
from .rule import Array, Rule


def _per(axis: int) -> str:
    return r"\text{row}" if axis == 1 else r"\text{col}"


class Standardise(MatrixExpr):  # type: ignore[misc]
    """X̂ = (X − μ1ᵀ) ⊘ (σ1ᵀ): each row standardised over the columns (``axis`` 1, batch
    normalisation) or each column over the rows (``axis`` 0, layer normalisation),
    σ = √(var + ε)."""

    def __new__(cls, x: sp.Basic, axis: int, eps: float | sp.Float) -> Standardise:
        return sp.Basic.__new__(cls, x, sp.Integer(axis), sp.Float(eps))  # type: ignore

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape  # type: ignore[no-any-return]

    def _sympystr(self, printer: Any) -> str:
        return f"standardise({printer._print(self.args[0])}, axis={self.axis})"

    def _latex(self, printer: Any) -> str:
        """(X − μ_X 1ᵀ) ⊘ (σ_X 1ᵀ) (the statistics of X along the axis) as the notes write X̂."""
        x = self.args[0]
        sub = printer._print(x) if isinstance(x, (sp.Symbol, sp.MatrixSymbol)) else \
            rf"\left({printer._print(x)}\right)"
        mu, sigma = rf"\boldsymbol{{\mu}}_{{{sub}}}", rf"\boldsymbol{{\sigma}}_{{{sub}}}"
        one = r"\mathbf{1}"
        if self.axis == 1:
            mu, sigma = rf"{mu}{one}^{{\top}}", rf"{sigma}{one}^{{\top}}"
        else:
            mu, sigma = rf"{one}{mu}", rf"{one}{sigma}"
        return (rf"\left({printer._print(x)} - {mu}\right) \oslash \left({sigma}\right)")

    def _symbackprop_code(self, printer: Any) -> str:
        x, eps = printer._print(self.args[0]), float(self.args[2])
        if printer.numpy:
            printer.used.add("standardise")
            return f"standardise({x}, {self.axis}, {eps!r})"
        return (f"(({x}) - mean({x}, axis={self.axis})) / "
                f"sqrt(var({x}, axis={self.axis}) + {eps!r})")


class InvStd(MatrixExpr):  # type: ignore[misc]
    """σ⁻¹ = 1/√(var + ε) along the axis of a ``Standardise`` (a column for axis 1, a row
    for axis 0): written in its VJP only, where the notes write σ⁻¹."""

    def __new__(cls, x: sp.Basic, eps: float | sp.Float, axis: int) -> InvStd:
        return sp.Basic.__new__(cls, x, sp.Float(eps), sp.Integer(axis))  # type: ignore

    @property
    def axis(self) -> int:
        return int(self.args[2])

    @property
    def shape(self) -> tuple[Any, Any]:
        m, n = self.args[0].shape
        return (m, sp.S.One) if self.axis == 1 else (sp.S.One, n)

    def _sympystr(self, printer: Any) -> str:
        return f"inv_std({printer._print(self.args[0])}, axis={self.axis})"

    def _latex(self, printer: Any) -> str:
        x = self.args[0]
        sub = printer._print(x) if isinstance(x, (sp.Symbol, sp.MatrixSymbol)) else \
            rf"\left({printer._print(x)}\right)"
        return rf"\boldsymbol{{\sigma}}_{{{sub}}}^{{-1}}"

    def _symbackprop_code(self, printer: Any) -> str:
        x, eps, k = printer._print(self.args[0]), float(self.args[1]), self.axis
        if printer.numpy:
            return f"(1.0 / np.sqrt(np.var({x}, axis={k}, keepdims=True) + {eps!r}))"
        return f"(1 / sqrt(var({x}, axis={k}) + {eps!r}))"


class SoftmaxRows(MatrixExpr):  # type: ignore[misc]
    """The softmax of each row (``softmax(S, axis=1)``: attention's weights)."""

    def __new__(cls, arg: sp.Basic) -> SoftmaxRows:
        return sp.Basic.__new__(cls, arg)  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape  # type: ignore[no-any-return]

    def _sympystr(self, printer: Any) -> str:
        return f"softmax({printer._print(self.args[0])}, axis=1)"

    def _latex(self, printer: Any) -> str:
        return rf"\operatorname{{softmax}}_{{{_per(1)}}}\left({printer._print(self.args[0])}\right)"

    def _symbackprop_code(self, printer: Any) -> str:
        x = printer._print(self.args[0])
        if printer.numpy:
            printer.used.add("softmax_rows")
            return f"softmax_rows({x})"
        return f"softmax({x}, axis=1)"


# ---------------------------------------------------------------------------------------
# The engine's NumPy forward and VJP, by hand


def np_standardise(x: Array, axis: float = 1.0, eps: float = 1e-5) -> Array:
    k = int(axis)
    mu = np.mean(x, axis=k, keepdims=True)
    return (x - mu) / np.sqrt(np.mean((x - mu) ** 2, axis=k, keepdims=True) + eps)


def _standardise_vjp(g: Array, xhat: Array, x: Array, axis: float = 1.0,
                     eps: float = 1e-5) -> tuple[Array, ...]:
    """(1/N) σ⁻¹ (N g − Σg − x̂ Σ(g x̂)), the sums along the axis."""
    k = int(axis)
    n = x.shape[k]
    inv = 1.0 / np.sqrt(np.var(x, axis=k, keepdims=True) + eps)
    return (inv / n * (n * g - np.sum(g, axis=k, keepdims=True)
                       - xhat * np.sum(g * xhat, axis=k, keepdims=True)),)


def np_softmax_rows(s: Array) -> Array:
    e = np.exp(s - np.max(s, axis=1, keepdims=True))
    return e / np.sum(e, axis=1, keepdims=True)


def _softmax_rows_vjp(g: Array, a: Array, s: Array) -> tuple[Array, ...]:
    return (a * (g - np.sum(g * a, axis=1, keepdims=True)),)


# ---------------------------------------------------------------------------------------
# The symbolic VJPs: the compact forms


def _spread(v: sp.Basic, like: sp.Basic, axis: int) -> sp.Basic:
    """A column (axis 1) or row (axis 0) of statistics, spread over the shape of ``like``."""
    m, n = like.shape
    return mmul(v, OneMatrix(1, n)) if axis == 1 else mmul(OneMatrix(m, 1), v)


def _sum_spread(a: sp.Basic, axis: int) -> sp.Basic:
    """The sums of ``a`` along the axis, spread back: A 1 1ᵀ (axis 1) or 1 1ᵀ A (axis 0)."""
    m, n = a.shape
    return mmul(a, OneMatrix(n, 1), OneMatrix(1, n)) if axis == 1 else \
        mmul(OneMatrix(m, 1), OneMatrix(1, m), a)


def _sym_standardise_vjp(g: sp.Basic, xhat: sp.Basic, x: sp.Basic, axis: Any = 1,
                         eps: Any = 1e-5) -> tuple[sp.Basic, ...]:
    k = int(axis)
    n = x.shape[k]
    inner = madd(mscale(n, g), mscale(-1, _sum_spread(g, k)),
                 mscale(-1, hadamard(xhat, _sum_spread(hadamard(g, xhat), k))))
    return (mscale(1 / n, hadamard(_spread(InvStd(x, eps, k), x, k), inner)),)


def np_inv_std(x: Array, eps: float = 1e-5, axis: float = 1.0) -> Array:
    return 1.0 / np.sqrt(np.var(x, axis=int(axis), keepdims=True) + eps)


def _inv_std_vjp(g: Array, s: Array, x: Array, eps: float = 1e-5, axis: float = 1.0
                 ) -> tuple[Array, ...]:
    """s = (var + ε)^(−½): ∂L/∂X = −(1/N) (g s² spread) ⊙ X̂, as (X − μ) s = X̂."""
    k = int(axis)
    xhat = (x - np.mean(x, axis=k, keepdims=True)) * s
    return (-(g * s * s) * xhat / x.shape[k],)


def _sym_inv_std_vjp(g: sp.Basic, s: sp.Basic, x: sp.Basic, eps: Any = 1e-5, axis: Any = 1
                     ) -> tuple[sp.Basic, ...]:
    k = int(axis)
    return (mscale(-1 / x.shape[k], hadamard(_spread(hadamard(g, s, s), x, k),
                                              Standardise(x, k, eps))),)


def _sym_inv_std_jvp(dots: Any, s: sp.Basic, x: sp.Basic, eps: Any = 1e-5, axis: Any = 1
                     ) -> sp.Basic:
    """ṡ = −(1/N) s² ⊙ (the sums along the axis of X̂ ⊙ Ẋ)."""
    k = int(axis)
    m, n = x.shape
    t = hadamard(Standardise(x, k, eps), dots[0])
    total = mmul(t, OneMatrix(n, 1)) if k == 1 else mmul(OneMatrix(1, m), t)
    return mscale(-1 / x.shape[k], hadamard(s, s, total))


def _sym_softmax_rows_vjp(g: sp.Basic, a: sp.Basic, s: sp.Basic) -> tuple[sp.Basic, ...]:
    return (hadamard(a, madd(g, mscale(-1, _sum_spread(hadamard(g, a), 1)))),)


LAYERS: dict[str, Rule] = {
    # both Jacobians are symmetric (per row or column), so each JVP is its VJP's formula
    "standardise": Rule("standardise", forward=np_standardise, vjp=_standardise_vjp,
                        matrix_vjp=_sym_standardise_vjp,
                        matrix_jvp=lambda dots, out, x, **p: _sym_standardise_vjp(
                            dots[0], out, x, **p)[0],
                        latex=r"\operatorname{standardise}", node=Standardise, arity=0,
                        operands=1,
                        params_of=lambda e: (("axis", e.args[1]), ("eps", e.args[2])),
                        code="standardise",
                        helper="def standardise(x, axis, eps):\n"
                               "    mu = np.mean(x, axis=axis, keepdims=True)\n"
                               "    return (x - mu) / np.sqrt(np.var(x, axis=axis, "
                               "keepdims=True) + eps)\n"),
    "softmax_rows": Rule("softmax_rows", forward=np_softmax_rows, vjp=_softmax_rows_vjp,
                         matrix_vjp=_sym_softmax_rows_vjp,
                         matrix_jvp=lambda dots, a, s: _sym_softmax_rows_vjp(dots[0], a, s)[0],
                         latex=r"\operatorname{softmax}_{\text{row}}", node=SoftmaxRows,
                         arity=0,
                         code="softmax_rows",
                         helper="def softmax_rows(s):\n"
                                "    e = np.exp(s - np.max(s, axis=1, keepdims=True))\n"
                                "    return e / np.sum(e, axis=1, keepdims=True)\n"),
    # σ⁻¹ along the axis, which only standardise's backward pass writes: a Hessian through
    # batch or layer normalisation differentiates it
    "inv_std": Rule("inv_std", forward=np_inv_std, vjp=_inv_std_vjp,
                    matrix_vjp=_sym_inv_std_vjp, matrix_jvp=_sym_inv_std_jvp, node=InvStd,
                    arity=0, operands=1,
                    params_of=lambda e: (("eps", e.args[1]), ("axis", e.args[2]))),
}
