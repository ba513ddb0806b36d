"""The one table of primitives: how each is evaluated, differentiated and named.

Every node of a graph is a *primitive* (``recognise.classify`` reads a SymPy node as
``Prim(name, operands, params)``). The table ``RULES`` holds, per primitive name, one
``Rule``: the engine's hand-written NumPy ``forward``/``vjp`` (written in
``primitive_numpy.py``); for element-wise primitives the SymPy function, whose partials come
from SymPy's own ``diff``; for matrix primitives the VJP in matrix form (``∂L/∂A = ∂L/∂C Bᵀ``
for ``C = AB``) and the local Jacobian where it has a clean form; and how it is spelled in the
text, in LaTeX and in generated code. See ``Rule``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import sympy as sp
from sympy import OneMatrix
from sympy.codegen.cfunctions import expm1, log1p

from .algebra import hadamard, madd, mmul, mscale, transpose
from .functions import (
    MSE,
    SCALAR_FUNCTIONS,
    CrossEntropy,
    DiagJacobian,
    Elementwise,
    Item,
    Softmax,
    SqNorm,
    SumAll,
    huber,
    i0e,
    i1e,
    relu,
    sigmoid,
    softplus,
    step,
    where,
)
from .layers import LAYERS
from .linalg import LINALG
from .primitive_numpy import (
    add_forward,
    add_vjp,
    atan2_vjp,
    cross_entropy_forward,
    cross_entropy_vjp,
    gamma_pole,
    huber_vjp,
    i1e_slope,
    matmul_forward,
    matmul_vjp,
    mse_forward,
    mul_forward,
    mul_vjp,
    np_besseli,
    np_erf,
    np_erfc,
    np_erfinv,
    np_gammaln,
    np_huber,
    np_i0e,
    np_i1e,
    np_polygamma,
    np_relu,
    np_sigmoid,
    np_sigmoid_prime,
    np_softmax,
    np_softplus,
    np_where,
    pow_forward,
    pow_vjp,
    softmax_vjp,
    sum_to,
    where_vjp,
)
from .rule import Array, Rule
from .shapes import Extent, fmt_shape
from .structural import STRUCTURAL
from .tensor_nodes import TENSOR_RULES

# ---------------------------------------------------------------------------------------
# The table (the NumPy of each primitive is primitive_numpy.py's)


def _ew(name: str, f: Callable[[Array], Array], df: Callable[[Array, Array], Array],
        sym: Any, latex: str, reuse: bool = False,
        nondiff: Callable[..., Array] | None = None, helper: str = "",
        aliases: tuple[str, ...] = (), prime: Callable[[Array], Array] | None = None) -> Rule:
    """A unary element-wise function: ``df(x, out)`` is its derivative; generated code
    calls ``np.<name>``, or a function ``<name>`` defined by ``helper``."""
    return Rule(
        name,
        forward=f,
        vjp=lambda g, out, x: (g * df(x, out),),
        derivative=df,
        prime=prime,
        sympy=sym,
        latex=latex,
        reuse_output=reuse,
        nondiff=nondiff,
        code=name if helper else f"np.{name}",
        helper=helper,
        aliases=aliases,
    )


def _minmax(which: str) -> Rule:
    pick = np.maximum if which == "max" else np.minimum
    sym = sp.Max if which == "max" else sp.Min

    def vjp(g: Array, out: Array, a: Array, b: Array) -> tuple[Array, ...]:
        first = np.greater(a, b) if which == "max" else np.less(a, b)  # Python floats too
        w = np.where(np.equal(a, b), 0.5, np.asarray(first, dtype=float))
        return (sum_to(g * w, a), sum_to(g * (1 - w), b))

    return Rule(which, forward=pick, vjp=vjp, sympy=sym, latex=rf"\{which}",
                nondiff=lambda a, b: a == b, arity=2, code=f"np.{pick.__name__}")


# Symbolic matrix-form VJPs: (g, out, *operands) -> one cotangent expression per operand


def _sym_matmul_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic, b: sp.Basic) -> tuple[sp.Basic, ...]:
    return (mmul(g, transpose(b)), mmul(transpose(a), g))


def _sym_softmax_vjp(g: sp.Basic, p: sp.Basic, o: sp.Basic) -> tuple[sp.Basic, ...]:
    k = p.shape[0]
    ones_col, ones_row = OneMatrix(k, 1), OneMatrix(1, k)
    return (hadamard(p, madd(g, mscale(-1, mmul(ones_col, ones_row, hadamard(p, g))))),)


def jvp_sum(*parts: sp.Basic | None) -> sp.Basic:
    """The sum of a JVP's terms, the constant operands' (None) left out."""
    kept = [p for p in parts if p is not None]
    return kept[0] if len(kept) == 1 else madd(*kept)


def _matmul_jvp(dots: Any, out: sp.Basic, a: sp.Basic, b: sp.Basic) -> sp.Basic:
    """(AB)˙ = Ȧ B + A Ḃ (a scalar times a matrix is a product too)."""
    da, db = dots
    return jvp_sum(None if da is None else mmul(da, b), None if db is None else mmul(a, db))


def _sym_mse_vjp(g: sp.Basic, out: sp.Basic, o: sp.Basic, y: sp.Basic) -> tuple[sp.Basic, ...]:
    diff = madd(o, mscale(-1, y))
    return (mscale(g, diff), mscale(-g, diff))


def _sym_cross_entropy_vjp(g: sp.Basic, out: sp.Basic, o: sp.Basic,
                           y: sp.Basic) -> tuple[sp.Basic, ...]:
    return (mscale(g, madd(Softmax(o), mscale(-1, y))),
            mscale(-g, Elementwise("log", Softmax(o))))


def _sym_sum_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic) -> tuple[sp.Basic, ...]:
    return (mscale(g, OneMatrix(*a.shape)),)


def _sym_sqnorm_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic) -> tuple[sp.Basic, ...]:
    return (mscale(2 * g, a),)


def _softmax_jacobian(p: sp.Basic) -> sp.Basic:
    return madd(DiagJacobian(p), mscale(-1, mmul(p, transpose(p))))


def _jac_matmul(out: sp.Basic, a: sp.Basic, b: sp.Basic, k: int) -> sp.Basic | None:
    if k == 1 and b.shape[1] == 1 and a.shape[1] == b.shape[0]:
        return a
    return None


def _jac_row(vec: Callable[..., sp.Basic]) -> Callable[..., sp.Basic | None]:
    """Jacobian of a scalar in a column vector: the gradient's transpose (numerator layout)."""

    def jac(out: sp.Basic, *ops: sp.Basic) -> sp.Basic | None:
        k = ops[-1]
        if not isinstance(k, int):
            raise TypeError("jacobian needs the operand index last")
        x = ops[k]
        if not _is_column(x):
            return None
        return transpose(vec(out, *ops[:-1], k))

    return jac


def _same_matrices(name: str) -> Callable[..., str | None]:
    def check(o: Any, y: Any) -> str | None:
        if o is None or o != y:
            return f"{name} needs the output and target as matrices of one shape"
        if name == "cross_entropy" and constant_softmax(o) is not None:  # one class per
            # column (a batch of one logit each): each column's softmax is 1
            return (f"{name} takes a class per row; with one row the softmax of each column "
                    "is 1, the loss 0 and every gradient 0: for two classes write the logits "
                    "as two rows, or use binary_cross_entropy_with_logits(s, y)")
        return None

    return check


def constant_softmax(shape: Any, axis: int = 0) -> str | None:
    """Why a matrix's softmax along ``axis`` is refused: along an axis of length 1, the other
    longer (a row's softmax of each column), it is 1 everywhere and its gradient 0. A 1×1's
    is 1 too, but no axis is wrong there."""
    if shape is None or len(shape) != 2 or shape[axis] != 1 or shape[1 - axis] == 1:
        return None
    other = "axis=1" if axis == 0 else "axis=0"
    return (f"a softmax along an axis of length 1 is 1 everywhere and its gradient 0, for "
            f"{fmt_shape(shape)}: {other} normalises the other axis")


def _is_column(x: sp.Basic) -> bool:
    """A column vector (a tensor's shape, (Extent, 1), is not one)."""
    return bool(getattr(x, "is_Matrix", False) and x.shape[1] == 1
                and not isinstance(x.shape[0], Extent))

# a root's argument this small is 0 up to rounding: the variance of equal entries comes out
# as ~1e-32 (their mean is rounded), and the witnesses' slopes there are rounding noise
_ROUNDED_ZERO = 1e-20

RULES: dict[str, Rule] = {
    # element-wise: partials from SymPy's diff of the template
    "add": Rule("add", forward=add_forward, vjp=add_vjp, arity=0, role="affine"),
    "mul": Rule("mul", forward=mul_forward, vjp=mul_vjp, arity=0),
    "pow": Rule("pow", forward=pow_forward, vjp=pow_vjp, arity=0,
                nondiff=lambda x, *r, exp=None: ((x == 0) if float(exp).is_integer()
                                                 else x < _ROUNDED_ZERO)
                if exp is not None and exp < 1 else np.zeros_like(x, dtype=bool)),
    "exp": _ew("exp", np.exp, lambda x, out: out, sp.exp, r"\exp", reuse=True),
    "log": _ew("log", np.log, lambda x, out: 1.0 / x, sp.log, r"\log",
               nondiff=lambda x: x <= 0),
    "sqrt": _ew("sqrt", np.sqrt, lambda x, out: 0.5 / out, sp.sqrt, r"\sqrt",
                nondiff=lambda x: x < _ROUNDED_ZERO),
    "abs": _ew("abs", np.abs, lambda x, out: np.sign(x), sp.Abs, r"\lvert",
               nondiff=lambda x: x == 0),
    "sin": _ew("sin", np.sin, lambda x, out: np.cos(x), sp.sin, r"\sin"),
    "cos": _ew("cos", np.cos, lambda x, out: -np.sin(x), sp.cos, r"\cos"),
    "tan": _ew("tan", np.tan, lambda x, out: 1.0 + out * out, sp.tan, r"\tan", reuse=True),
    "tanh": _ew("tanh", np.tanh, lambda x, out: 1.0 - out * out, sp.tanh, r"\tanh", reuse=True),
    "sigmoid": _ew("sigmoid", np_sigmoid, lambda x, out: out * (1.0 - out), sigmoid, r"\sigma",
                   reuse=True, helper="def sigmoid(x):  # 1 / (1 + exp(-x)): only exp(-|x|) "
                                      "is made\n    e = np.exp(-np.abs(x))\n"
                                      "    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))"
                                      "\n",
                   aliases=("expit",), prime=np_sigmoid_prime),  # expit: SciPy's name
    "relu": _ew("relu", np_relu, lambda x, out: np.heaviside(x, 0.0), relu,
                r"\operatorname{ReLU}", nondiff=lambda x: x == 0,
                helper="def relu(x):\n    return np.maximum(x, 0.0)\n"),
    "softplus": _ew("softplus", np_softplus, lambda x, out: np_sigmoid(x), softplus,
                    r"\operatorname{softplus}",
                    helper="def softplus(x):\n"
                           "    return np.logaddexp(0.0, x)  # log(1 + exp(x))\n"),
    "arcsin": _ew("arcsin", np.arcsin, lambda x, out: 1.0 / np.sqrt(1.0 - x * x), sp.asin,
                  r"\arcsin", nondiff=lambda x: np.abs(x) >= 1, aliases=("asin",)),
    "arccos": _ew("arccos", np.arccos, lambda x, out: -1.0 / np.sqrt(1.0 - x * x), sp.acos,
                  r"\arccos", nondiff=lambda x: np.abs(x) >= 1, aliases=("acos",)),
    "arctan": _ew("arctan", np.arctan, lambda x, out: 1.0 / (1.0 + x * x), sp.atan,
                  r"\arctan", aliases=("atan",)),
    "arcsinh": _ew("arcsinh", np.arcsinh, lambda x, out: 1.0 / np.sqrt(x * x + 1.0), sp.asinh,
                   r"\operatorname{arsinh}", aliases=("asinh",)),
    "arccosh": _ew("arccosh", np.arccosh, lambda x, out: 1.0 / np.sqrt(x * x - 1.0), sp.acosh,
                   r"\operatorname{arcosh}", nondiff=lambda x: x <= 1, aliases=("acosh",)),
    "arctanh": _ew("arctanh", np.arctanh, lambda x, out: 1.0 / (1.0 - x * x), sp.atanh,
                   r"\operatorname{artanh}", nondiff=lambda x: np.abs(x) >= 1,
                   aliases=("atanh",)),
    "erfc": _ew("erfc", np_erfc, lambda x, out: -2.0 / np.sqrt(np.pi) * np.exp(-x * x),
                sp.erfc, r"\operatorname{erfc}",
                helper="def erfc(x):\n    import math\n"
                       "    return np.vectorize(math.erfc, otypes=[float])(x)\n"),
    # log(1 + x) and eˣ − 1 to the last digit near 0 (written out, log1p(1e-20) was 0)
    "log1p": _ew("log1p", np.log1p, lambda x, out: 1.0 / (1.0 + x), log1p,
                 r"\operatorname{log1p}"),
    "expm1": _ew("expm1", np.expm1, lambda x, out: out + 1.0, expm1, r"\operatorname{expm1}",
                 reuse=True),
    "sinh": _ew("sinh", np.sinh, lambda x, out: np.cosh(x), sp.sinh, r"\sinh"),
    "cosh": _ew("cosh", np.cosh, lambda x, out: np.sinh(x), sp.cosh, r"\cosh"),
    "erf": _ew("erf", np_erf, lambda x, out: 2.0 / np.sqrt(np.pi) * np.exp(-x * x), sp.erf,
               r"\operatorname{erf}",
               helper="def erf(x):\n    import math\n"
                      "    return np.vectorize(math.erf, otypes=[float])(x)\n"),
    "erfinv": _ew("erfinv", np_erfinv,
                  lambda x, out: math.sqrt(math.pi) / 2 * np.exp(np.square(out)), sp.erfinv,
                  r"\operatorname{erf}^{-1}", reuse=True, nondiff=lambda x: np.abs(x) >= 1,
                  helper="def erfinv(x):\n    import mpmath\n"
                         "    return np.vectorize(lambda v: float(mpmath.erfinv(v)),"
                         " otypes=[float])(x)\n"),
    "i0e": _ew("i0e", np_i0e, lambda x, out: np_i1e(x) - np.sign(x) * out, i0e,
               r"\operatorname{i0e}", nondiff=lambda x: x == 0,
               helper="def i0e(x):\n    import mpmath\n"
                      "    return np.vectorize(lambda v: float(mpmath.besseli(0, v)"
                      " * mpmath.exp(-abs(v))), otypes=[float])(x)\n"),
    "i1e": _ew("i1e", np_i1e, i1e_slope, i1e, r"\operatorname{i1e}", nondiff=lambda x: x == 0,
               helper="def i1e(x):\n    import mpmath\n"
                      "    return np.vectorize(lambda v: float(mpmath.besseli(1, v)"
                      " * mpmath.exp(-abs(v))), otypes=[float])(x)\n"),
    "gammaln": _ew("gammaln", np_gammaln, lambda x, out: np_polygamma(0, x), sp.loggamma,
                   r"\ln\Gamma", nondiff=gamma_pole, aliases=("lgamma",),
                   helper="def gammaln(x):\n    import math\n"
                          "    return np.vectorize(math.lgamma, otypes=[float])(x)\n"),
    # ψ⁽ⁿ⁾(x): its first operand is the order, a whole number (the text's digamma(x) is
    # polygamma(0, x)); its derivative in x is ψ⁽ⁿ⁺¹⁾(x), in the order nothing
    "polygamma": Rule("polygamma", forward=np_polygamma,
                      vjp=lambda g, out, n, x: (np.zeros_like(np.asarray(n, dtype=float)),
                                                g * np_polygamma(np.asarray(n) + 1, x)),
                      sympy=sp.polygamma, latex=r"\psi", arity=0,
                      nondiff=lambda n, x: gamma_pole(x),
                      code="polygamma",
                      helper="def polygamma(n, x):\n    import mpmath\n"
                             "    return np.vectorize(lambda k, v: float(mpmath.psi(int(k), v)),"
                             " otypes=[float])(n, x)\n"),
    # I_n(x), the modified Bessel function (SymPy's besseli; i0e(x) = e^{-|x|} I_0(x)): the
    # order is a whole number; the derivative in x is (I_{n-1}(x) + I_{n+1}(x))/2
    "besseli": Rule("besseli", forward=np_besseli,
                    vjp=lambda g, out, n, x: (np.zeros_like(np.asarray(n, dtype=float)),
                                              g * (np_besseli(np.asarray(n) - 1, x)
                                                   + np_besseli(np.asarray(n) + 1, x)) / 2),
                    sympy=sp.besseli, latex="I", arity=0, code="besseli",
                    helper="def besseli(n, x):\n    import mpmath\n"
                           "    return np.vectorize(lambda k, v: float(mpmath.besseli("
                           "abs(int(k)), v)), otypes=[float])(n, x)\n"),
    "sign": _ew("sign", np.sign, lambda x, out: np.zeros_like(x), sp.sign,
                r"\operatorname{sign}", nondiff=lambda x: x == 0),
    # 𝟏[x > 0]: a comparison of the text (a > b is step(a − b)), 0 at 0 as NumPy's
    "step": Rule("step", forward=lambda x: np.heaviside(x, 0.0),
                 vjp=lambda g, out, x: (np.zeros_like(np.asarray(g * x, dtype=float)),),
                 sympy=step, latex=r"\mathbf{1}", nondiff=lambda x: x == 0,
                 code="step_gt0", helper="def step_gt0(x):\n    return np.heaviside(x, 0.0)"
                                         "  # 1[x > 0], as NumPy's x > 0\n"),
    "max": _minmax("max"),
    "min": _minmax("min"),
    # the angle of (x, y): a primitive, as its written-out forms lose every digit near the
    # negative x axis (2 arctan(y/(r + x)): r + x cancels); it jumps across that axis
    "arctan2": Rule("arctan2", forward=np.arctan2, vjp=atan2_vjp, sympy=sp.atan2,
                    latex=r"\operatorname{atan2}", arity=2, code="np.arctan2",
                    nondiff=lambda y, x: (np.asarray(y) == 0) & (np.asarray(x) <= 0),
                    aliases=("atan2",), domain="off the negative x axis and (0, 0), where "
                    "it jumps by 2π"),
    # Huber's function of a residual and a threshold δ (the loss of robust regression)
    "huber": Rule("huber", forward=np_huber, vjp=huber_vjp, sympy=huber,
                  latex=r"\operatorname{huber}", arity=2, code="huber",
                  helper="def huber(a, delta):\n    a = np.asarray(a, dtype=float)\n"
                         "    return np.where(np.abs(a) <= delta, 0.5 * a * a,"
                         " delta * (np.abs(a) - 0.5 * delta))\n"),
    "where": Rule("where", forward=np_where, vjp=where_vjp, sympy=where,
                  latex=r"\operatorname{where}", arity=3, code="where",
                  helper="def where(c, x, y):  # NumPy's: x where c is not 0\n"
                         "    return np.where(np.asarray(c) != 0, x, y)\n"),
    # matrix primitives: VJPs in matrix form
    "matmul": Rule("matmul", forward=matmul_forward, vjp=matmul_vjp, arity=0, role="affine",
                   matrix_vjp=_sym_matmul_vjp, jacobian=_jac_matmul, matrix_jvp=_matmul_jvp),
    "transpose": Rule("transpose", forward=lambda a: a.T, vjp=lambda g, out, a: (g.T,),
                      matrix_vjp=lambda g, out, a: (transpose(g),), role="affine",
                      latex=r"\top", matrix_jvp=lambda dots, out, a: transpose(dots[0])),
    "sum": Rule("sum", forward=lambda a: float(np.sum(a)),
                vjp=lambda g, out, a: (np.full_like(a, g),),
                matrix_vjp=_sym_sum_vjp, latex=r"\operatorname{sum}", role="reduction",
                jacobian=_jac_row(lambda out, a, k: OneMatrix(*a.shape)),
                node=SumAll, on_scalar=lambda a: a),
    "softmax": Rule("softmax", forward=np_softmax, vjp=softmax_vjp,
                    matrix_vjp=_sym_softmax_vjp, latex=r"\operatorname{softmax}",
                    jacobian=lambda p, o, k: _softmax_jacobian(p) if _is_column(o) else None,
                    node=Softmax, shape=constant_softmax,  # its Jacobian diag(p) − p pᵀ is
                    # symmetric: JVP = VJP
                    matrix_jvp=lambda dots, p, o: _sym_softmax_vjp(dots[0], p, o)[0]),
    "mse": Rule("mse", forward=mse_forward,
                vjp=lambda g, out, o, y: (g * (o - y), -g * (o - y)),
                matrix_vjp=_sym_mse_vjp, arity=2, role="reduction", latex=r"\operatorname{mse}",
                jacobian=_jac_row(lambda out, o, y, k: _sym_mse_vjp(sp.S.One, out, o, y)[k]),
                node=MSE, shape=_same_matrices("mse")),
    "cross_entropy": Rule("cross_entropy", forward=cross_entropy_forward,
                          vjp=cross_entropy_vjp, matrix_vjp=_sym_cross_entropy_vjp, arity=2,
                          role="reduction", latex=r"\operatorname{CE}",
                          jacobian=_jac_row(lambda out, o, y, k:
                                            _sym_cross_entropy_vjp(sp.S.One, out, o, y)[k]),
                          node=CrossEntropy, shape=_same_matrices("cross_entropy")),
    "sqnorm": Rule("sqnorm", forward=lambda a: float(np.sum(a * a)),
                   vjp=lambda g, out, a: (2.0 * g * a,), matrix_vjp=_sym_sqnorm_vjp,
                   role="reduction", latex=r"\lVert\cdot\rVert^{2}",
                   jacobian=_jac_row(lambda out, a, k: mscale(2, a)),
                   node=SqNorm, on_scalar=lambda a: a**2),
    "item": Rule("item", forward=lambda a: float(np.reshape(a, -1)[0]),
                 vjp=lambda g, out, a: (np.full_like(a, g),),
                 # the cotangent of a 1×1 matrix is written as the scalar it equals
                 matrix_vjp=lambda g, out, a: (g,), arity=0, role="affine", node=Item,
                 matrix_jvp=lambda dots, out, a: Item(dots[0])),
    **LINALG,
    **STRUCTURAL,
    **TENSOR_RULES,
    **LAYERS,
}

# where each primitive is defined and differentiable, in words (the table of docs/vocabulary.md;
# ``nondiff`` says the same to the numeric check)
DOMAINS = {
    "log": "x > 0", "sqrt": "x ≥ 0; its derivative x > 0", "tan": "x ≠ π/2 + kπ",
    "abs": "a kink at 0", "relu": "a kink at 0", "sign": "a jump at 0 (derivative 0 elsewhere)",
    "step": "a jump at 0 (derivative 0 elsewhere); a > b is step(a − b)",
    "max": "a kink where the operands tie (each gets ½ of the slope there, as in JAX)",
    "min": "a kink where the operands tie (each gets ½ of the slope there, as in JAX)",
    "arcsin": "|x| ≤ 1; its derivative |x| < 1", "arccos": "|x| ≤ 1; its derivative |x| < 1",
    "arccosh": "x ≥ 1; its derivative x > 1", "arctanh": "|x| < 1", "erfinv": "|x| < 1",
    "log1p": "x > −1",
    "i0e": "a kink at 0",
    "i1e": "the derivative's formula is 0/0 at 0 (the engine gives ½ there)",
    "pow": "x > 0 for a fractional or variable exponent (0**y is refused: its derivative "
           "0**y·log 0 has no value); x ≠ 0 for a negative one",
    "det": "square X; its formula det(X)·X⁻ᵀ has no value where X is singular (NaN there, "
           "in evaluate and in the generated code, which check() flags; the gradient is the "
           "adjugate's transpose)",
    "inv": "square, invertible X (NaN throughout for a singular X, in the generated code "
           "too)", "logdet": "square X, det X > 0",
    "trace": "square X", "norm2": "X ≠ 0", "norm1": "a kink where an entry is 0",
    "prod": "the formula (∏X) ⊘ X is 0/0 where an entry is 0 (the engine is exact)",
    "prod_axis": "the formula is 0/0 where an entry is 0 (the engine is exact)",
    "cumprod_axis": "the formula is 0/0 where an entry is 0 (the engine is exact)",
    "max_axis": "a kink where two entries tie for the maximum (they share its slope, as "
                "NumPy's and JAX's)",
    "min_axis": "a kink where two entries tie for the minimum (they share its slope)",
    "cross_entropy": "y a distribution in each column (one-hot targets)",
    "gammaln": "x ≠ 0, −1, −2, … (log |Γ(x)|, as scipy's gammaln)",
    "polygamma": "n = 0, 1, …, 1000 a number; x ≠ 0, −1, −2, …; for n ≥ 1, x ≥ −10⁴",
    "besseli": "n = 0, 1, 2, … a number; all x (I_n(x) overflows a float beyond |x| ≈ 713)",
    "huber": "δ > 0 (a number δ ≤ 0 is refused; scipy.special.huber takes δ first); its "
             "derivative has kinks at ±δ",
    "where": "x where c ≠ 0, as NumPy's (a comparison: where(x > 0, x, y)); no gradient into "
             "c; a branch may be ±∞ (inf, ∞, \\infty: a mask, where(M, S, -inf)), the one "
             "place ∞ is read",
}
RULES = {n: replace(r, domain=DOMAINS[n]) if n in DOMAINS else r for n, r in RULES.items()}

ELEMENTWISE = frozenset(n for n, r in RULES.items() if r.matrix_vjp is None)
BY_NODE = {r.node: r for r in RULES.values() if r.node is not None}  # matrix primitives' nodes
FUNCTION_NAMES = frozenset(n for n, r in RULES.items() if r.sympy is not None)
BY_SYMPY = {r.sympy: n for n, r in RULES.items() if r.sympy is not None}
SCALAR_FUNCTIONS.update({n: r.sympy for n, r in RULES.items() if r.sympy is not None})
