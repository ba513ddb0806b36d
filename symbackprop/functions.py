"""The SymPy objects symbackprop adds: three activations and a few matrix-valued primitives.

SymPy knows exp, log, tanh and friends, with their derivatives (``fdiff``); we add
``sigmoid``, ``relu``, ``softplus`` and the scaled Bessel functions ``i0e``, ``i1e`` the same
way so their derivatives come from SymPy too.
Matrix primitives are small ``MatrixExpr``/``Expr`` classes holding their arguments; how they
differentiate lives in ``rules.py`` and how they print in ``emit/latex.py``.
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.core.logic import fuzzy_and
from sympy.core.symbol import Str
from sympy.core.sympify import _sympify
from sympy.matrices.expressions.matexpr import MatrixExpr

from .errors import UnsupportedError


def number(x: Any) -> sp.Expr:
    """An int, float or SymPy expression as SymPy's: SymPy's strict conversion, which refuses
    a string (no text ever reaches SymPy's parser from here)."""
    return _sympify(x)  # type: ignore[no-any-return]


class step(sp.Function):  # type: ignore[misc]
    """𝟏[x > 0], NumPy's ``x > 0`` as a number (0 at 0, unlike SymPy's Heaviside, ½ there):
    what a comparison of the text is. Its derivative is 0 wherever it has one."""

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_extended_positive:
            return sp.S.One
        if x.is_extended_nonpositive:
            return sp.S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sp.S.Zero

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


class sigmoid(sp.Function):  # type: ignore[misc]
    """The logistic function 1 / (1 + e^-x); its derivative is sigmoid(x) (1 - sigmoid(x))."""

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_zero:
            return sp.Rational(1, 2)
        if x.is_Number:
            return 1 / (1 + sp.exp(-x))
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec: int) -> sp.Expr | None:  # a number: sigmoid(sin(2)).evalf()
        return (1 / (1 + sp.exp(-self.args[0])))._eval_evalf(prec)  # type: ignore[no-any-return]

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


class relu(sp.Function):  # type: ignore[misc]
    """max(x, 0); its derivative is the step 𝟏[x > 0], 0 at the kink, as the derivation
    prints it and as PyTorch, JAX and TensorFlow take it (SymPy's Heaviside says ½ there)."""

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_Number:
            return x if x > 0 else sp.S.Zero
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return step(self.args[0])

    def _eval_rewrite_as_Max(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.Max(x, 0)

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return sp.Max(self.args[0], 0)._eval_evalf(prec)  # type: ignore[no-any-return]

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


class softplus(sp.Function):  # type: ignore[misc]
    """log(1 + e^x); its derivative is sigmoid(x)."""

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        if x.is_Number:
            # x + log(1 + e^-x) beyond 30: log(1 + e^800) is 800, but ∞ in floats
            return x + sp.log(1 + sp.exp(-x)) if x > 30 else sp.log(1 + sp.exp(x))
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.log(1 + sp.exp(x))

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return sp.log(1 + sp.exp(self.args[0]))._eval_evalf(prec)  # type: ignore[no-any-return]

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


class huber(sp.Function):  # type: ignore[misc]
    """Huber's function of a residual a with threshold δ: ½a² for |a| ≤ δ, δ(|a| − ½δ)
    beyond (once differentiable); its derivative in a is clip(a, −δ, δ), written
    min(δ, max(−δ, a)), and in δ the excess ReLU(|a| − δ)."""

    @classmethod
    def eval(cls, a: sp.Expr, delta: sp.Expr) -> sp.Expr | None:
        if a.is_Number and delta.is_Number:
            return a**2 / 2 if abs(a) <= delta else delta * (abs(a) - delta / 2)
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        a, delta = self.args
        if argindex == 1:
            return sp.Min(sp.Max(a, -delta, evaluate=False), delta, evaluate=False)
        return relu(sp.Abs(a) - delta)

    def _eval_rewrite_as_Piecewise(self, a: sp.Expr, delta: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.Piecewise((a**2 / 2, sp.Abs(a) <= delta),
                            (delta * (sp.Abs(a) - delta / 2), True))

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return self._eval_rewrite_as_Piecewise(*self.args)._eval_evalf(prec)  # type: ignore

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


class where(sp.Function):  # type: ignore[misc]
    """NumPy's ``where(c, x, y)``: x where c is not 0, y where it is (a comparison's 0 or 1, or
    any number, as NumPy and PyTorch read a condition). No gradient flows into c; ∂/∂x is
    where(c, 1, 0). A primitive, not c x + (1 − c) y: the branch not taken may be infinite (a
    mask of −∞, and 0 · ∞ is NaN), and a condition of 2 ((x > 0) + (y > 0)) still picks x."""

    @classmethod
    def eval(cls, c: sp.Expr, x: sp.Expr, y: sp.Expr) -> sp.Expr | None:
        if x == y:
            return x
        if c.is_Number:
            return y if c.is_zero else x
        return None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        c = self.args[0]
        return (sp.S.Zero, where(c, 1, 0), where(c, 0, 1))[argindex - 1]

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        c, x, y = self.args
        return sp.Piecewise((y, sp.Eq(c, 0)), (x, True))._eval_evalf(prec)  # type: ignore

    def _eval_is_real(self) -> bool | None:
        return fuzzy_and(a.is_real for a in self.args[1:])  # type: ignore[no-any-return]


class i0e(sp.Function):  # type: ignore[misc]
    """e^{-|x|} I₀(x), the exponentially scaled modified Bessel function of order 0 (finite
    where I₀ overflows); its derivative is i1e(x) − sign(x) i0e(x) (a kink at 0)."""

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        return sp.S.One if x.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return i1e(x) - sp.sign(x) * i0e(x)

    def _eval_rewrite_as_besseli(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.exp(-sp.Abs(x)) * sp.besseli(0, x)

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return self._eval_rewrite_as_besseli(self.args[0])._eval_evalf(prec)  # type: ignore

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


class i1e(sp.Function):  # type: ignore[misc]
    """e^{-|x|} I₁(x), the exponentially scaled modified Bessel function of order 1; its
    derivative is i0e(x) − i1e(x) (sign(x) + 1/x), which is ½ at 0 (the formula is 0/0
    there: the rule reports the point)."""

    @classmethod
    def eval(cls, x: sp.Expr) -> sp.Expr | None:
        return sp.S.Zero if x.is_zero else None

    def fdiff(self, argindex: int = 1) -> sp.Expr:
        x = self.args[0]
        return i0e(x) - i1e(x) * (sp.sign(x) + 1 / x)

    def _eval_rewrite_as_besseli(self, x: sp.Expr, **kwargs: Any) -> sp.Expr:
        return sp.exp(-sp.Abs(x)) * sp.besseli(1, x)

    def _eval_evalf(self, prec: int) -> sp.Expr | None:
        return self._eval_rewrite_as_besseli(self.args[0])._eval_evalf(prec)  # type: ignore

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real  # type: ignore[no-any-return]


# The SymPy function of each element-wise primitive, by name: the rule table (rules.py)
# declares them and fills this map; Heaviside and sign are here as SymPy has them.
SCALAR_FUNCTIONS: dict[str, Any] = {"Heaviside": sp.Heaviside, "sign": sp.sign}


def scalar_function(name: str) -> Any:
    """The SymPy function of an element-wise primitive."""
    try:
        return SCALAR_FUNCTIONS[name]
    except KeyError:
        raise UnsupportedError(f"no element-wise function {name!r}") from None


# --------------------------------------------------------------------------------------
# Matrix-valued primitives. Arguments are MatrixExprs; numbers of rows/columns may be
# symbols. Constructors never evaluate or reorder: what the user wrote is what prints.


class Elementwise(MatrixExpr):  # type: ignore[misc]
    """A scalar SymPy function applied entry by entry: ``Elementwise("sigmoid", Z)``."""

    def __new__(cls, name: str | Str, *args: sp.Basic) -> Elementwise:
        name = name if isinstance(name, Str) else Str(name)
        return sp.Basic.__new__(cls, name, *args)  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return str(self.args[0].name)

    @property
    def operands(self) -> tuple[sp.Basic, ...]:
        return tuple(self.args[1:])

    @property
    def shape(self) -> tuple[Any, Any]:
        for a in self.operands:
            if getattr(a, "is_Matrix", False):
                return a.shape  # type: ignore[no-any-return]
        raise ValueError("Elementwise needs a matrix operand")

    def _entry(self, i: Any, j: Any, **kwargs: Any) -> sp.Expr:
        f = scalar_function(self.name)
        return f(*[a[i, j] if getattr(a, "is_Matrix", False) else a for a in self.operands])

    def _sympystr(self, printer: Any) -> str:
        return f"{self.name}({', '.join(printer._print(a) for a in self.operands)})"


class Softmax(MatrixExpr):  # type: ignore[misc]
    """Softmax of each column: a vector (k, 1) or a batch (k, B) of logits."""

    def __new__(cls, arg: sp.Basic) -> Softmax:
        return sp.Basic.__new__(cls, arg)  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape  # type: ignore[no-any-return]

    def _sympystr(self, printer: Any) -> str:
        return f"softmax({printer._print(self.args[0])})"


class _AlongAxis(MatrixExpr):  # type: ignore[misc]
    """The largest (smallest) entry of each column (``axis`` 0: a row) or of each row
    (``axis`` 1: a column) of a matrix; the axis is kept, as ``keepdims`` does."""

    which = ""

    def __new__(cls, arg: sp.Basic, axis: int | sp.Integer) -> _AlongAxis:
        return sp.Basic.__new__(cls, arg, sp.Integer(axis))  # type: ignore[no-any-return]

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        m, n = self.args[0].shape
        return (sp.S.One, n) if self.axis == 0 else (m, sp.S.One)

    def _sympystr(self, printer: Any) -> str:
        return f"{self.which}({printer._print(self.args[0])}, axis={self.axis})"


class MaxAlong(_AlongAxis):
    which = "max"


class MinAlong(_AlongAxis):
    which = "min"


class LogSumExpAlong(_AlongAxis):
    """log Σ exp of each column (``axis`` 0) or row (``axis`` 1), computed shifted by its
    largest entry (written out as log(X 1) it overflowed at 800)."""

    which = "logsumexp"


class ProdAlong(_AlongAxis):
    """The product of each column (``axis`` 0) or of each row (``axis`` 1)."""

    which = "prod"


class CumProd(MatrixExpr):  # type: ignore[misc]
    """The running products down each column (``axis`` 0) or along each row (``axis`` 1)."""

    def __new__(cls, arg: sp.Basic, axis: int | sp.Integer) -> CumProd:
        return sp.Basic.__new__(cls, arg, sp.Integer(axis))  # type: ignore[no-any-return]

    @property
    def axis(self) -> int:
        return int(self.args[1])

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape  # type: ignore[no-any-return]

    def _sympystr(self, printer: Any) -> str:
        return f"cumprod({printer._print(self.args[0])}, axis={self.axis})"


class Pattern(MatrixExpr):  # type: ignore[misc]
    """A constant n×n matrix of zeros and ones: ``tril``, the lower triangle of ones (so
    ``tril x`` is the running sum of x), or ``exchange``, ones on the anti-diagonal (so
    ``J x`` is x upside down). A leaf, like the ones matrix 𝟏 and the identity."""

    KINDS = ("tril", "exchange")

    def __new__(cls, kind: str | Str, n: Any) -> Pattern:
        kind = kind if isinstance(kind, Str) else Str(kind)
        return sp.Basic.__new__(cls, kind, number(n))  # type: ignore[no-any-return]

    @property
    def kind(self) -> str:
        return str(self.args[0].name)

    @property
    def shape(self) -> tuple[Any, Any]:
        return (self.args[1], self.args[1])

    def _sympystr(self, printer: Any) -> str:
        n = printer._print(self.args[1])
        return f"cumsum(eye({n}), axis=0)" if self.kind == "tril" else f"flip(eye({n}), axis=0)"


class Indicator(MatrixExpr):  # type: ignore[misc]
    """𝟙[A = B], entry by entry: where a maximum (minimum) along an axis was taken; with
    ``axis``, shared among ties along it (each divided by their number, as NumPy, JAX and
    the engine share max's slope: 𝟙 alone gives a tie's slope twice, no subgradient)."""

    def __new__(cls, a: sp.Basic, b: sp.Basic, axis: Any = None) -> Indicator:
        if axis is None:
            return sp.Basic.__new__(cls, a, b)  # type: ignore[no-any-return]
        return sp.Basic.__new__(cls, a, b, sp.Integer(axis))  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[0].shape  # type: ignore[no-any-return]

    @property
    def axis(self) -> int | None:
        return int(self.args[2]) if len(self.args) > 2 else None

    def _sympystr(self, printer: Any) -> str:
        hit = f"{printer._print(self.args[0])} == {printer._print(self.args[1])}"
        return f"({hit})" if self.axis is None else f"shared({hit}, axis={self.axis})"


class DiagJacobian(MatrixExpr):  # type: ignore[misc]
    """diag(f'(z)): the Jacobian of an element-wise map, used only when a chain line is printed."""

    def __new__(cls, deriv: sp.Basic) -> DiagJacobian:
        return sp.Basic.__new__(cls, deriv)  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        n = self.args[0].shape[0]
        return (n, n)


class ElementwiseDerivative(MatrixExpr):  # type: ignore[misc]
    """f'(Z), for display: ``sigma'(z)`` before it is written out as ``h ⊙ (1 - h)``."""

    def __new__(cls, name: str | Str, arg: sp.Basic) -> ElementwiseDerivative:
        name = name if isinstance(name, Str) else Str(name)
        return sp.Basic.__new__(cls, name, arg)  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return str(self.args[0].name)

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[1].shape  # type: ignore[no-any-return]


class _MatrixReduction(sp.Expr):  # type: ignore[misc]
    """A scalar computed from matrices (a sum, a loss, a squared norm)."""

    is_commutative = True
    is_real = True

    def __new__(cls, *args: sp.Basic) -> _MatrixReduction:
        return sp.Expr.__new__(cls, *args)  # type: ignore[no-any-return]

    def _sympystr(self, printer: Any) -> str:
        return f"{type(self).__name__.lower()}({', '.join(printer._print(a) for a in self.args)})"

    def _eval_derivative(self, s: sp.Basic) -> sp.Expr:
        raise UnsupportedError(
            f"sympy.diff of {type(self).__name__}: use symbackprop.derive for matrix expressions"
        )


class SumAll(_MatrixReduction):
    """The sum of every entry of a matrix."""


class SqNorm(_MatrixReduction):
    """The squared Frobenius norm ‖W‖², the usual weight-decay term."""


class MSE(_MatrixReduction):
    """½‖o − y‖²: half the summed squared error (summed over a batch too)."""


class CrossEntropy(_MatrixReduction):
    """−Σ y ⊙ log softmax(o): softmax cross-entropy of logits o against targets y (per column)."""


class Norm(_MatrixReduction):
    """‖X‖: the Euclidean norm of a vector, the Frobenius norm of a matrix."""


class Norm1(_MatrixReduction):
    """Σ|xᵢⱼ|: the entry-wise 1-norm."""


class Mean(_MatrixReduction):
    """The mean of every entry."""


class Prod(_MatrixReduction):
    """The product of every entry."""


class Var(_MatrixReduction):
    """The (population) variance of every entry, as NumPy's ``var``."""


class LogSumExp(_MatrixReduction):
    """log Σ exp(xᵢⱼ) over every entry."""


class LogDet(_MatrixReduction):
    """log det X, for a matrix of positive determinant."""


class Item(_MatrixReduction):
    """The one entry of a 1×1 matrix (``xᵀAx``): a scalar wherever a scalar is meant,
    printed as the product itself."""

    def _sympystr(self, printer: Any) -> str:
        return str(printer._print(self.args[0]))

    @property
    def precedence(self) -> int:
        """Its product's or sum's, as it prints as that: (c + 2)·a keeps its brackets."""
        from sympy.printing.precedence import precedence

        return int(precedence(self.args[0]))


MATRIX_CLASSES = (Elementwise, Softmax, SumAll, SqNorm, MSE, CrossEntropy, Item, Norm, Norm1,
                  Mean, Var, LogSumExp, LogDet)
