"""The primitives' NumPy: numerically safe building blocks and the engine's forward and VJP
functions, kept apart from the table (``rules.RULES``) that names them with their symbolic forms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import mpmath
import numpy as np

from .rule import Array

# ---------------------------------------------------------------------------------------
# Numerically safe NumPy building blocks (shared by the engine and by ``evaluate``)


def np_sigmoid(x: Array) -> Array:
    """σ without overflow: only e^{-|x|} is ever computed."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def np_sigmoid_prime(x: Array) -> Array:
    """σ′ = e^{-|x|} / (1 + e^{-|x|})², without forming σ: half the operations of σ (1 − σ)."""
    e = np.exp(-np.abs(x))
    return e / ((1.0 + e) * (1.0 + e))


def np_softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x)


def np_relu(x: Array) -> Array:
    return np.maximum(x, 0.0)


def np_log_softmax(o: Array) -> Array:
    """log softmax of each column, shifted by the column maximum (log-sum-exp)."""
    o = np.asarray(o)
    axis = 0 if o.ndim else None
    m = np.max(o, axis=axis, keepdims=True)
    s = o - m
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def np_softmax(o: Array) -> Array:
    return np.exp(np_log_softmax(o))


def np_erf(x: Array) -> Array:
    return np.vectorize(math.erf, otypes=[float])(x)


def np_erfc(x: Array) -> Array:
    return np.vectorize(math.erfc, otypes=[float])(x)


def _mp(f: Callable[[Any], Any]) -> Callable[[Array], Array]:
    """An mpmath function (SymPy's own numerics) entry by entry, as float64; at ±inf its
    limit, 0 for the scaled Bessel functions (mpmath's besseli fails on an infinity)."""
    def one(v: Any) -> float:
        v = float(v)
        return float(f(v)) if math.isfinite(v) else math.nan if math.isnan(v) else 0.0
    return np.vectorize(one, otypes=[float])


np_erfinv = np.vectorize(  # ±1 → ±inf; outside [−1, 1]: nan
    lambda v: float(mpmath.erfinv(v)) if -1 < v < 1 else
    (math.copysign(math.inf, v) if abs(v) == 1 else math.nan), otypes=[float])
np_i0e = _mp(lambda v: mpmath.besseli(0, v) * mpmath.exp(-abs(v)))
np_i1e = _mp(lambda v: mpmath.besseli(1, v) * mpmath.exp(-abs(v)))


def gamma_pole(x: Array) -> Array:
    """0, −1, −2, …: the poles of Γ (and of ψ and its derivatives)."""
    x = np.asarray(x, dtype=float)
    return (x <= 0) & (x == np.round(x))


FAR = -1e4  # below it mpmath's ψ⁽ⁿ⁾ steps up one by one (hours): ψ by reflection, the rest nan
MAX_ORDER = 1_000  # mpmath's ψ⁽ⁿ⁾ costs time and memory growing with n (n = 10⁶: minutes)


def _psi(k: int, v: float) -> float:
    if k > MAX_ORDER + 1:  # the order the text may write, and its derivative's
        return math.nan
    if v <= 0 and v == round(v):
        return math.nan  # a pole (every float beyond 2⁵² is a whole number)
    if v < FAR:  # ψ(x) = ψ(1 − x) − π cot(πx); no such shortcut is written for n ≥ 1
        return float(mpmath.psi(0, 1 - v) - mpmath.pi * mpmath.cot(mpmath.pi * v)) \
            if k == 0 else math.nan
    return float(mpmath.psi(k, v))


def np_polygamma(n: Array, x: Array) -> Array:
    """ψ⁽ⁿ⁾(x) (n a whole number ≥ 0; ψ⁽⁰⁾ = Γ′/Γ), by mpmath; nan at the poles, and for
    n ≥ 1 below −10⁴."""
    return np.vectorize(lambda k, v: _psi(int(k), float(v)), otypes=[float])(n, x)


np_besseli = np.vectorize(  # I_n(x) for a whole number n (I_{-n} = I_n), by mpmath
    lambda n, v: float(mpmath.besseli(abs(int(n)), float(v))), otypes=[float])
np_gammaln = np.vectorize(  # log |Γ(x)|, as scipy's gammaln; nan at the poles
    lambda v: math.nan if v <= 0 and v == round(v) else
    float(mpmath.log(abs(mpmath.gamma(v)))), otypes=[float])


def i1e_slope(x: Array, out: Array) -> Array:
    """i1e′ = i0e − i1e (sign x + 1/x), and ½ at 0 (the limit)."""
    x = np.asarray(x, dtype=float)
    safe = np.where(x == 0, 1.0, x)
    return np.where(x == 0, 0.5, np_i0e(x) - out * (np.sign(x) + 1.0 / safe))


def pattern_array(kind: str, n: int, dtype: Any = float) -> Array:
    """The numbers of a ``Pattern``: the lower triangle of ones, or the exchange matrix."""
    return np.tril(np.ones((n, n), dtype)) if kind == "tril" else np.eye(n, dtype=dtype)[::-1]


def np_heaviside(x: Array) -> Array:
    """SymPy's Heaviside (½ at 0): the slope of max(a, b) as SymPy writes it, ½ at a tie as
    PyTorch's maximum has it."""
    return np.heaviside(x, 0.5)


def sum_to(g: Array, like: Array) -> Array:
    """Undo broadcasting: a scalar operand of an element-wise op gets the sum of its cotangent."""
    if np.ndim(like) == 0 and np.ndim(g) > 0:
        return np.sum(g)
    return g


# ---------------------------------------------------------------------------------------
# The engine's forward and VJP of the table's primitives (``rules.RULES`` holds them)


def add_forward(*xs: Array, coeffs: tuple[float, ...], const: float) -> Array:
    """The terms, then the constant: x − c + 1e-3 at x = c = 1e12 is 1e-3, as a program that
    adds its epsilon last computes it (the constant first loses it to 1e12's rounding)."""
    out: Any = 0.0
    for k, (c, x) in enumerate(zip(coeffs, xs, strict=True)):
        term = x if c == 1 else c * x
        out = term if k == 0 else out + term
    return out + const if const else out


def add_vjp(g: Array, out: Array, *xs: Array, coeffs: tuple[float, ...],
            const: float) -> tuple[Array, ...]:
    return tuple(sum_to(g if c == 1 else c * g, x) for c, x in zip(coeffs, xs, strict=True))


def mul_forward(*xs: Array, coeff: float, exps: tuple[float, ...]) -> Array:
    out = coeff
    for x, e in zip(xs, exps, strict=True):
        out = out * (x if e == 1 else np.power(x, e))
    return out


def mul_vjp(g: Array, out: Array, *xs: Array, coeff: float,
            exps: tuple[float, ...]) -> tuple[Array, ...]:
    grads = []
    for i, (x, e) in enumerate(zip(xs, exps, strict=True)):
        rest = coeff * g
        for j, (y, f) in enumerate(zip(xs, exps, strict=True)):
            if j != i:
                rest = rest * (y if f == 1 else np.power(y, f))
        own = 1.0 if e == 1 else e * np.power(x, e - 1)
        grads.append(sum_to(rest * own, x))
    return tuple(grads)


def pow_forward(x: Array, *rest: Array, exp: float | None = None) -> Array:
    return np.power(x, rest[0] if exp is None else exp)


def pow_vjp(g: Array, out: Array, x: Array, *rest: Array,
            exp: float | None = None) -> tuple[Array, ...]:
    if exp is not None:
        return (g * exp * np.power(x, exp - 1),)
    e = rest[0]
    return (sum_to(g * e * np.power(x, e - 1), x), sum_to(g * out * np.log(x), e))


def atan2_vjp(g: Array, out: Array, y: Array, x: Array) -> tuple[Array, ...]:
    r2 = np.multiply(x, x) + np.multiply(y, y)  # ∂/∂y = x/r², ∂/∂x = −y/r², exact near
    return (sum_to(g * x / r2, y), sum_to(-g * y / r2, x))  # the negative x axis too


def np_huber(a: Array, delta: Array) -> Array:
    """½a² inside [−δ, δ], δ(|a| − ½δ) outside."""
    a = np.asarray(a, dtype=float)
    inside = np.abs(a) <= delta
    return np.where(inside, 0.5 * a * a, delta * (np.abs(a) - 0.5 * delta))


def huber_vjp(g: Array, out: Array, a: Array, delta: Array) -> tuple[Array, ...]:
    """clip(a, −δ, δ) in a; the excess max(|a| − δ, 0) in δ."""
    return (sum_to(g * np.clip(a, -delta, delta), a),
            sum_to(g * np.maximum(np.abs(a) - delta, 0.0), delta))


def np_where(c: Array, x: Array, y: Array) -> Array:
    """NumPy's where: x where c is not 0, y where it is; the branch not taken is never
    multiplied (it may be ±∞, a mask)."""
    return np.where(np.asarray(c, dtype=float) != 0.0, np.asarray(x, dtype=float),
                    np.asarray(y, dtype=float))


def where_vjp(g: Array, out: Array, c: Array, x: Array, y: Array) -> tuple[Array, ...]:
    """Nothing into c (a condition); g where c is not 0 into x, g where it is into y: the
    branch not taken gets exactly 0, even when its value is infinite."""
    on = np.asarray(c, dtype=float) != 0.0
    g = np.asarray(g, dtype=float)
    return (sum_to(np.zeros_like(g), c), sum_to(np.where(on, g, 0.0), x),
            sum_to(np.where(on, 0.0, g), y))


def matmul_forward(a: Array, b: Array) -> Array:
    return a @ b


def matmul_vjp(g: Array, out: Array, a: Array, b: Array) -> tuple[Array, ...]:
    return (g @ b.T, a.T @ g)


def softmax_vjp(g: Array, p: Array, o: Array) -> tuple[Array, ...]:
    return (p * (g - np.sum(p * g, axis=0, keepdims=True)),)


def mse_forward(o: Array, y: Array) -> Array:
    d = o - y
    return 0.5 * float(np.sum(d * d))


def cross_entropy_forward(o: Array, y: Array) -> Array:
    return -float(np.sum(y * np_log_softmax(o)))


def cross_entropy_vjp(g: Array, out: Array, o: Array, y: Array) -> tuple[Array, ...]:
    # exact for any y; equals softmax(o) - y when each column of y sums to 1
    logp = np_log_softmax(o)
    return (g * (np.exp(logp) * np.sum(y, axis=0, keepdims=True) - y), -g * logp)
