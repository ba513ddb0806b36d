"""The witness's own NumPy function for every name of the text: NumPy's where the rule
table spells it ``np.<name>``, and the rest written here — special functions included — by
methods other than the engine's (which uses mpmath), so that the two can disagree."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..rule import Rule
from ..rules import RULES

Array = Any


def _log_softmax(o: Array) -> Array:
    o = np.asarray(o, dtype=float)
    m = np.max(o, axis=0, keepdims=True)
    s = o - m
    return s - np.log(np.sum(np.exp(s), axis=0, keepdims=True))


def _sigmoid(x: Array) -> Array:
    """1 / (1 + e^{-x}); e^{-x} overflows to inf below x = −709, where σ is 0 to 1e-308."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _mse(o: Array, y: Array) -> float:
    return 0.5 * float(np.sum((np.asarray(o) - np.asarray(y).reshape(np.shape(o))) ** 2))


def _cross_entropy(o: Array, y: Array) -> float:
    return -float(np.sum(np.asarray(y).reshape(np.shape(o)) * _log_softmax(o)))


def transpose_of(a: Array) -> Array:
    """``a.T`` as NumPy reads it: every axis reversed (of a tensor too); a number as it is."""
    return np.transpose(a) if np.ndim(a) >= 2 else a


def _numpy_spelling(rule: Rule) -> Callable[..., Array]:
    """NumPy's own function for a primitive whose declaration spells it ``np.<name>`` (not the
    engine's forward; ``np.linalg.det`` too); to a reduction such as ``trace``, a scalar is a
    1×1 matrix."""
    f: Callable[..., Array] = operator.attrgetter(rule.code.removeprefix("np."))(np)
    return (lambda x: f(np.atleast_2d(x))) if rule.role == "reduction" else f


_erf = np.vectorize(math.erf, otypes=[float])


def _erfinv(y: Array) -> Array:
    """erf⁻¹ by Newton's method on math.erf, from a logarithmic first guess (not mpmath,
    which the engine uses)."""
    y = np.asarray(y, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = -np.log((1.0 - y) * (1.0 + y))
        x = np.sign(y) * np.sqrt(np.maximum(w - np.log(np.maximum(w, 1e-300)), 0.0) + 0.0)
        x = np.where(np.abs(y) < 0.5, y * math.sqrt(math.pi) / 2, x)
        for _ in range(60):  # quadratic convergence; the loop ends long before the count
            step = (_erf(x) - y) / (2.0 / math.sqrt(math.pi) * np.exp(-x * x))
            x = x - step
        return np.where(np.abs(y) == 1, np.sign(y) * np.inf, np.where(np.abs(y) > 1, np.nan, x))


_THETA = np.linspace(0.0, math.pi, 4001)


def _besseli(n: Array, x: Array) -> Array:
    """I_n(x) = e^{|x|} · (e^{-|x|} I_n(x)), the scaled integral below."""
    return np.exp(np.abs(x)) * _scaled_bessel(int(n))(x)


def _scaled_bessel(order: int) -> Callable[[Array], Array]:
    """e^{-|x|} I_n(x) = (1/π) ∫₀^π e^{x cos θ − |x|} cos(nθ) dθ, by the trapezoidal rule
    (spectrally accurate for this smooth periodic integrand; not mpmath, which the engine
    uses)."""
    def f(x: Array) -> Array:
        x = np.asarray(x, dtype=float)
        t = np.exp(x[..., None] * np.cos(_THETA) - np.abs(x)[..., None])  # exponent ≤ 0
        t = t * np.cos(order * _THETA)
        h = _THETA[1] - _THETA[0]
        return (h * (t.sum(axis=-1) - (t[..., 0] + t[..., -1]) / 2)) / math.pi
    return f


# Bernoulli numbers B₂, B₄, …, B₁₆ for the asymptotic series of ψ⁽ⁿ⁾
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _polygamma(n: Array, x: Array) -> Array:
    """ψ⁽ⁿ⁾(x): shifted up by the recurrence ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) − (−1)ⁿ n!/xⁿ⁺¹ until
    x ≥ 20, then the asymptotic series (not mpmath, which the engine uses)."""
    n = int(np.asarray(n).flat[0])
    x = np.asarray(x, dtype=float)
    far = (x < -10_000) | ~np.isfinite(x)  # the recurrence would take too many steps: mpmath
    if np.any(far):
        near = _polygamma(n, np.where(far, 1.0, x))
        return np.where(far, np.vectorize(_mp_psi, otypes=[float])(n, x), near)
    sign, fact = (-1.0) ** n, math.factorial(n)
    acc = np.zeros_like(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        while np.any(x < 20):
            low = x < 20
            acc = acc - np.where(low, sign * fact / x ** (n + 1), 0.0)
            x = np.where(low, x + 1, x)
        if n == 0:
            series = np.log(x) - 1 / (2 * x)
        else:
            series = -sign * (math.factorial(n - 1) / x**n + fact / (2 * x ** (n + 1)))
        for k, b2k in enumerate(_BERNOULLI, start=1):
            term = b2k * math.factorial(2 * k + n - 1) / math.factorial(2 * k) / x ** (2 * k + n)
            series = series - (term if n == 0 else sign * term)
        return series + acc  # at a pole (0, −1, …) the recurrence divides by zero: inf/nan


def _mp_psi(n: int, v: float) -> float:
    """ψ⁽ⁿ⁾ far below 0: by reflection, ψ(x) = ψ(1 − x) − π cot(πx) (the series at 1 − x);
    nan for n ≥ 1, as the engine (no reflection is written for them) and at the poles."""
    if n != 0 or not math.isfinite(v) or v == round(v):
        return math.nan
    return float(_polygamma(0, np.array(1.0 - v))) - math.pi / math.tan(math.pi * v)


def _flat(x: Array) -> Array:
    """A matrix's entries row by row as a column; a vector as it is."""
    return _column(x) if np.ndim(x) == 2 and 1 not in np.shape(x) else x


def _along(f: Callable[..., Array], x: Array) -> Array:
    if np.ndim(x) < 2:
        return f(x) if np.ndim(x) else x
    return f(x, axis=0 if np.shape(x)[1] == 1 else 1)


def _silu(x: Array) -> Array:
    return x * _sigmoid(x)


def _where(c: Any, x: Any, y: Any) -> Any:
    return np.where(np.asarray(c, dtype=float) != 0.0, x, y)


def _logdet(a: Array) -> Array:
    sign, value = np.linalg.slogdet(np.atleast_2d(a))  # as the engine's: det X > 0 only
    return value if sign > 0 else np.nan


def _logsumexp(a: Array) -> Array:
    return np.logaddexp.reduce(np.ravel(a))


def _multiclass_hinge(s: Array, y: Array) -> float:
    """CS231n's vectorised SVM loss over the columns: the margins against the correct
    class's score, the correct class's own left out (y one-hot; a relaxed y weighs them)."""
    s, y = np.asarray(s, dtype=float), np.asarray(y, dtype=float)
    correct = np.sum(y * s, axis=0, keepdims=True)
    return float(np.sum((1.0 - y) * np.maximum(0.0, s - correct + 1.0)))


def _vector(a: Array) -> bool:
    """Whether the text's shape of ``a`` ends in 1, as its dot and inner test: a column
    (n, 1), a 1×1 among them, a 1-D array (the column it stands for), and a tensor (the text
    writes its shape (Extent, 1))."""
    return np.ndim(a) == 1 or np.ndim(a) >= 3 or (np.ndim(a) == 2 and np.shape(a)[1] == 1)


def _with_tensor(f: Callable[[Array, Array], Array], x: Array, y: Array) -> Array:
    """NumPy's own ``dot`` or ``inner`` where an operand is a tensor of rank ≥ 3: a column
    beside it is the 1-D vector it stands for; a 1-D answer is the text's column."""
    def flat(a: Array) -> Array:
        return np.ravel(a) if np.ndim(a) == 2 and np.shape(a)[1] == 1 else a
    out = f(flat(x), flat(y))
    return _column(out) if np.ndim(out) == 1 else out


def _dot(x: Array, y: Array) -> Array:
    """``dot`` as the text defines it (composites.py), not NumPy's own: of two vectors
    (columns) the sum of their element-wise product, a scalar's product, and the matrix
    product of anything else: a matrix or a row times a column is a column, a column times a
    row an outer product (NumPy's 1-D dot would flatten the column and lose its axis). With
    a tensor of rank ≥ 3 it is NumPy's."""
    if np.ndim(x) == 0 or np.ndim(y) == 0:
        return np.multiply(x, y)
    if np.ndim(x) >= 3 or np.ndim(y) >= 3:
        return _with_tensor(np.dot, x, y)
    if _vector(x) and _vector(y):
        return np.sum(np.multiply(x, y))
    return np.matmul(x, y)


def _inner(x: Array, y: Array) -> Array:
    """``inner`` as the text defines it: two vectors' dot, a scalar's product, else the sums
    over the last axes, x yᵀ (with a tensor of rank ≥ 3, NumPy's own)."""
    if np.ndim(x) >= 3 or np.ndim(y) >= 3:
        return _with_tensor(np.inner, x, y)
    if np.ndim(x) == 0 or np.ndim(y) == 0 or (_vector(x) and _vector(y)):
        return _dot(x, y)
    if _vector(y) or _vector(x):  # a matrix and a vector: the sums over the matrix's rows
        a, v = (x, y) if _vector(y) else (y, x)
        return np.matmul(a, np.reshape(v, (-1, 1)))
    return np.matmul(x, transpose_of(y))


def _hardsigmoid(x: Array) -> Array:
    """PyTorch's: 0 below −3, 1 above 3, x/6 + ½ between."""
    return np.where(np.asarray(x) <= -3, 0.0, np.where(np.asarray(x) >= 3, 1.0,
                                                        np.asarray(x) / 6.0 + 0.5))


def _huber(a: Array, delta: Array) -> Array:
    """Huber's function, piece by piece: ½a² inside [−δ, δ], δ(|a| − ½δ) outside."""
    a = np.asarray(a, dtype=float)
    return np.where(np.abs(a) <= delta, 0.5 * a * a, delta * (np.abs(a) - 0.5 * delta))


# the text's functions: NumPy's by the declarations' spelling, and these written out here
FUNCS: dict[str, Callable[..., Array]] = {
    **{n: _numpy_spelling(r) for n, r in RULES.items() if r.arity and r.code.startswith("np.")},
    "sigmoid": _sigmoid, "relu": lambda x: np.maximum(x, 0.0),
    "step": lambda x: np.asarray(np.greater(x, 0.0), dtype=float),  # what x > 0 is
    "log_softmax": lambda x: _log_softmax(x) if np.ndim(x) else 0.0 * x,
    # max(X) is the largest entry (NumPy's np.max), max(a, b) the larger of each pair
    "max": lambda x, *y: np.maximum(x, *y) if y else np.max(x),
    "min": lambda x, *y: np.minimum(x, *y) if y else np.min(x),
    "softplus": lambda x: np.logaddexp(0.0, x), "softmax": lambda x: np.exp(_log_softmax(x)),
    "sum": lambda x: np.sum(x) if np.ndim(x) else x, "transpose": transpose_of,
    "mse": _mse, "cross_entropy": _cross_entropy,
    "sqnorm": lambda x: np.sum(np.square(x)), "hadamard": np.multiply,
    "erf": _erf, "square": np.square,
    "erfc": np.vectorize(math.erfc, otypes=[float]),
    "erfinv": _erfinv, "i0e": _scaled_bessel(0), "i1e": _scaled_bessel(1),
    "besseli": _besseli,
    # along a vector's only axis; of a matrix (library-spelled text only: the text's own
    # refuses it) NumPy's, of the entries row by row, as the column
    "cumsum": lambda x: _along(np.cumsum, _flat(x)), "flip": lambda x: _along(np.flip, x),
    "cumprod": lambda x: _along(np.cumprod, _flat(x)),
    "gammaln": np.vectorize(math.lgamma, otypes=[float]),
    "lgamma": np.vectorize(math.lgamma, otypes=[float]),
    "polygamma": _polygamma, "digamma": lambda x: _polygamma(0, x),
    "trigamma": lambda x: _polygamma(1, x),
    # functions the text writes out in primitives (composites.py): NumPy's own here
    "exp2": np.exp2, "expm1": np.expm1, "log1p": np.log1p, "log2": np.log2, "log10": np.log10,
    "rsqrt": lambda x: 1.0 / np.sqrt(x), "reciprocal": lambda x: 1.0 / np.asarray(x),
    "cbrt": np.cbrt, "sinc": np.sinc, "logit": lambda x: np.log(x) - np.log1p(-x),
    "silu": _silu, "swish": _silu,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(np.asarray(x) / math.sqrt(2.0))),
    "elu": lambda x, a=1.0: np.where(np.asarray(x) > 0, x, a * np.expm1(np.minimum(x, 0.0))),
    "hardtanh": lambda x: np.clip(x, -1.0, 1.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "hardsigmoid": _hardsigmoid, "hard_sigmoid": _hardsigmoid,
    "hardswish": lambda x: np.asarray(x) * _hardsigmoid(x),
    "hard_swish": lambda x: np.asarray(x) * _hardsigmoid(x),
    "celu": lambda x, a=1.0: np.maximum(x, 0.0) + np.minimum(0.0, a * np.expm1(x / a)),
    "softshrink": lambda x: np.where(np.asarray(x) > 0.5, np.asarray(x) - 0.5, np.where(
        np.asarray(x) < -0.5, np.asarray(x) + 0.5, 0.0)),
    "hardshrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),
    "tanhshrink": lambda x: np.asarray(x) - np.tanh(x),
    "xlogy": lambda x, y: np.asarray(x) * np.log(y),
    "sec": lambda x: 1.0 / np.cos(x), "csc": lambda x: 1.0 / np.sin(x),
    "cot": lambda x: np.cos(x) / np.sin(x),
    "sech": lambda x: 1.0 / np.cosh(x), "csch": lambda x: 1.0 / np.sinh(x),
    "coth": lambda x: np.cosh(x) / np.sinh(x),
    "deg2rad": np.deg2rad, "radians": np.radians, "rad2deg": np.rad2deg,
    "degrees": np.degrees,
    "leaky_relu": lambda x, a: np.where(np.asarray(x) > 0, x, a * np.asarray(x)),
    "hypot": np.hypot, "arctan2": np.arctan2, "atan2": np.arctan2, "logaddexp": np.logaddexp,
    "power": np.power, "clip": np.clip,
    # NumPy's where: x where c is not 0; the branch not taken is never multiplied (it may be
    # −∞)
    "where": _where,
    "outer": lambda x, y: np.outer(x, y),
    "diag": lambda v: np.diag(np.ravel(v)) if np.ndim(v) < 2 or np.shape(v)[1] == 1
    else np.diag(v).reshape(-1, 1),
    "diagonal": lambda x: np.diagonal(x).reshape(-1, 1),
    "norm1": lambda x: np.sum(np.abs(x)), "logdet": _logdet, "logsumexp": _logsumexp,
    # losses (composites.py), as the course notes and PyTorch compute them
    "multiclass_hinge": _multiclass_hinge, "svm_loss": _multiclass_hinge,
    "hinge": lambda s, y: np.maximum(0.0, 1.0 - np.asarray(y) * s),
    "logistic_loss": lambda s, y: np.logaddexp(0.0, -np.asarray(y) * s),
    "huber": _huber, "mse_loss": lambda o, y: np.mean(np.square(np.asarray(o) - y)),
    "selu": lambda x: 1.0507009873554804934 * np.where(
        np.asarray(x) > 0, x, 1.6732632423543772848 * np.expm1(np.minimum(x, 0.0))),
    "mish": lambda x: np.asarray(x) * np.tanh(np.logaddexp(0.0, x)),
    "logsigmoid": lambda x: -np.logaddexp(0.0, -np.asarray(x)),
    "log_sigmoid": lambda x: -np.logaddexp(0.0, -np.asarray(x)),
    "std": lambda x: np.std(x), "maximum": np.maximum, "minimum": np.minimum,
    "dot": _dot, "inner": _inner, "vdot": lambda x, y: np.vdot(x, y),
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "true_divide": np.true_divide, "negative": np.negative, "matmul": np.matmul,
    "binary_cross_entropy": lambda p, y: float(np.mean(
        -(np.asarray(y) * np.log(p) + (1.0 - np.asarray(y)) * np.log1p(-np.asarray(p))))),
    "binary_cross_entropy_with_logits": lambda s, y: float(np.mean(
        np.logaddexp(0.0, s) - np.asarray(y) * s)),
}
_inv = np.linalg.inv


def _inv_or_nan(x: Array) -> Array:
    """NumPy's inverse, of a scalar too (the text's inv(s) is 1/s: NumPy's of its 1×1
    matrix, the number again); of a singular matrix NaN throughout, as the engine's
    (undefined)."""
    a = np.asarray(x, dtype=float)
    try:
        return np.reshape(_inv(np.reshape(a, (1, 1))), ()) if a.ndim == 0 else _inv(a)
    except np.linalg.LinAlgError:
        return np.full(a.shape, np.nan)


def _solve(a: Array, y: Array) -> Array:
    """The text's solve(A, y), A⁻¹y, by NumPy's solve: of a scalar A, y / A; of a number y
    (beside a 1×1 A, as the text's product reads it), A⁻¹ times it; NaN where A is
    singular, as the inverse's."""
    if np.ndim(a) == 0:
        return np.divide(y, a)
    if np.ndim(y) == 0:
        return np.multiply(_inv_or_nan(a), y)
    try:
        return np.linalg.solve(a, y)
    except np.linalg.LinAlgError:
        return np.full((np.shape(a)[0], *np.shape(y)[1:]), np.nan)


def _matrix_power(x: Array, k: Array) -> Array:
    """NumPy's matrix_power of a matrix (a 1×1 too); of a scalar its power, as the text's;
    a negative power of a singular matrix NaN, as the inverse's."""
    if np.ndim(x) == 0:
        return np.power(x, k)
    try:
        return np.linalg.matrix_power(x, int(k))
    except np.linalg.LinAlgError:
        return np.full(np.shape(x), np.nan)


FUNCS.update({"inv": _inv_or_nan, "solve": _solve, "matrix_power": _matrix_power})
FUNCS.update({a: FUNCS[n] for n, r in RULES.items() for a in r.aliases if n in FUNCS})


# ---------------------------------------------------------------------------------------
# The structural functions of the text, on its 2-D arrays (a vector is a column)


def _column(a: Array) -> Array:
    return np.reshape(a, (-1, 1))


def _keep(k: int | slice) -> slice:
    """An integer index as the span of one entry, so the axis is kept (X[i] is a row)."""
    return slice(k, k + 1 if k != -1 else None) if isinstance(k, int) else k


def text_index(x: Array, key: tuple[Any, ...]) -> Array:
    """``x[key]`` as the text means it: along a vector's entries for one index, the row i of
    a matrix for ``X[i]``, NumPy's for two; a single entry is a number."""
    x = np.asarray(x)
    if len(key) == 1:
        k = key[0]
        whole = 0 if isinstance(k, int) else slice(None)
        if x.shape[1] == 1 and x.shape[0] != 1:
            key = (k, whole)
        elif x.shape[0] == 1 and x.shape[1] != 1:
            key = (whole, k)
        else:
            key = (k, slice(None))
    out = x[_keep(key[0]), _keep(key[1])]
    return float(out[0, 0]) if all(isinstance(k, int) for k in key) else out


def _stack(xs: tuple[Array, ...], axis: int = 0) -> Array:
    if all(np.ndim(x) == 0 for x in xs):
        return _column(np.stack(xs))
    return np.stack([np.ravel(x) for x in xs], axis=axis)  # vectors as the 1-D they stand for


def _hstack(xs: tuple[Array, ...]) -> Array:
    out = np.hstack(xs)
    return _column(out) if np.ndim(out) == 1 else out


def _reshape(x: Array, shape: Any) -> Array:
    dims = shape if isinstance(shape, tuple) else (shape,)
    dims = tuple(d if isinstance(d, int) else -1 for d in dims)  # a named size: what is left
    return np.reshape(x, dims if len(dims) != 1 else (dims[0], 1))


# The n-D primitives, written here apart from the engine's (tensors.py): convolution and
# pooling tap by tap over strided views, no im2col; NCHW images, (F, C, kh, kw) filters.


def _two(v: Any) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _tap_views(x: Array, kh: int, kw: int, stride: Any) -> list[tuple[int, int, Array]]:
    """For each tap (i, j) of a kh×kw window, the (N, C, Ho, Wo) entries it reads."""
    sh, sw = _two(stride)
    ho, wo = (x.shape[2] - kh) // sh + 1, (x.shape[3] - kw) // sw + 1
    return [(i, j, x[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw])
            for i in range(kh) for j in range(kw)]


def _conv2d(x: Array, w: Array, b: Array | None = None, stride: Any = 1, padding: Any = 0
            ) -> Array:
    ph, pw = _two(padding)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    y = sum(np.einsum("nchw,fc->nfhw", v, w[:, :, i, j])
            for i, j, v in _tap_views(xp, w.shape[2], w.shape[3], stride))
    return y if b is None else y + np.reshape(b, (1, -1, 1, 1))


def _pool(x: Array, size: Any, stride: Any, how: str) -> Array:
    kh, kw = _two(size)
    views = [v for _, _, v in _tap_views(x, kh, kw, size if stride is None else stride)]
    return np.maximum.reduce(views) if how == "max" else sum(views) / (kh * kw)


def _einsum(*args: Any) -> Array:
    *xs, spec = args
    ins = spec.replace(" ", "").split("->")[0].split(",")
    out = np.einsum(spec, *(np.ravel(x) if len(t) == 1 else x for t, x in zip(ins, xs,
                                                                              strict=True)))
    return _column(out) if np.ndim(out) == 1 else out


def _squeeze(x: Array, axis: Any = None) -> Array:
    """NumPy's squeeze of a tensor, a 1-D answer as the row (1, n); a matrix as it is, a
    1×1 one without an axis the number it holds (NumPy's 0-d, as the parser reads it)."""
    if axis is None and np.shape(x) == (1, 1):
        return np.reshape(x, ())
    if np.ndim(x) < 3:
        return x
    out = np.squeeze(x, axis=axis)
    return np.reshape(out, (1, -1)) if np.ndim(out) == 1 else out


def _transpose(x: Array, axes: Any = None) -> Array:
    return np.transpose(x, axes)


def _batchnorm2d(x: Array, g: Array, b: Array, eps: float = 1e-5) -> Array:
    mu = np.mean(x, axis=(0, 2, 3), keepdims=True)
    var = np.mean((x - mu) ** 2, axis=(0, 2, 3), keepdims=True)
    return np.reshape(g, (1, -1, 1, 1)) * (x - mu) / np.sqrt(var + eps) + \
        np.reshape(b, (1, -1, 1, 1))


def _one_d(f: Callable[..., Array]) -> Callable[..., Array]:
    """NumPy's answer, a 1-D one read as the text's column."""
    def g(*a: Any, **k: Any) -> Array:
        out = f(*a, **k)
        return _column(out) if np.ndim(out) == 1 else out
    return g


# name -> NumPy of (operands as a tuple or one operand, static arguments, keywords)
def _normalised(x: Array, gamma: Array, beta: Array, axis: int, eps: float) -> Array:
    """γ ⊙ (x − mean) / √(var + ε) + β along an axis (Ioffe and Szegedy's equations)."""
    x = np.asarray(x, dtype=float)
    centred = x - x.mean(axis=axis, keepdims=True)
    xhat = centred / np.sqrt((centred * centred).mean(axis=axis, keepdims=True) + eps)
    return np.reshape(gamma, (-1, 1)) * xhat + np.reshape(beta, (-1, 1))


def _norm(x: Array, order: Any) -> Array:
    """NumPy's norm; a column of the text is NumPy's 1-D vector, a row a 2-D array (its
    1-norm the largest column sum, as NumPy's)."""
    a = np.asarray(x, dtype=float)
    if order is None:
        return np.sqrt(np.sum(a * a))
    if a.ndim == 0:  # a scalar's norm of any order is its size, as the text's
        return np.abs(a)
    if a.ndim == 2 and a.shape[1] == 1:
        return np.linalg.norm(np.ravel(a), "fro" if order == "fro" else order) \
            if order != "fro" else np.sqrt(np.sum(a * a))
    return np.linalg.norm(a, order)


STRUCTURAL_FUNCS: dict[str, Callable[..., Array]] = {
    "batchnorm": lambda x, g, b, eps=1e-5: _normalised(x, g, b, 1, eps),  # over the batch
    "layernorm": lambda x, g, b, eps=1e-5: _normalised(x, g, b, 0, eps),  # over the features
    "concatenate": lambda xs, axis=0: np.concatenate(  # a number is a 1×1 block there
        [np.reshape(x, (1, 1)) if np.ndim(x) == 0 else x for x in xs], axis=axis),
    "stack": _stack, "vstack": lambda xs: np.vstack(xs), "hstack": _hstack,
    "reshape": _reshape, "flatten": lambda x: _column(x) if np.ndim(x) else x,
    "ravel": lambda x: _column(x) if np.ndim(x) else x,
    "tile": _one_d(np.tile), "repeat": _one_d(np.repeat),
    "pad": lambda x, widths, constant_values=0: np.pad(x, widths,
                                                       constant_values=constant_values),
    "kron": np.kron,
    "conv2d": _conv2d, "einsum": _einsum, "transpose": _transpose, "squeeze": _squeeze,
    "maxpool2d": lambda x, size, stride=None: _pool(x, size, stride, "max"),
    "avgpool2d": lambda x, size, stride=None: _pool(x, size, stride, "avg"),
    "batchnorm2d": _batchnorm2d,
    "norm": lambda x, order=None, ord=None: _norm(x, ord if order is None else order),
}


def _softmax_axis(x: Array, axis: int) -> Array:
    return np.exp(x - np.logaddexp.reduce(x, axis=axis, keepdims=True))


# the reductions along one axis (``axis=``), keeping it, as the text means them
AXIS_FUNCS: dict[str, Callable[..., Array]] = {
    "sum": lambda x, axis: np.sum(x, axis=axis, keepdims=True),
    "mean": lambda x, axis: np.mean(x, axis=axis, keepdims=True),
    "var": lambda x, axis: np.var(x, axis=axis, keepdims=True),
    "std": lambda x, axis: np.std(x, axis=axis, keepdims=True),
    "logsumexp": lambda x, axis: np.logaddexp.reduce(x, axis=axis, keepdims=True),
    "softmax": _softmax_axis,
    "max": lambda x, axis: np.max(x, axis=axis, keepdims=True),
    "min": lambda x, axis: np.min(x, axis=axis, keepdims=True),
    "prod": lambda x, axis: np.prod(x, axis=axis, keepdims=True),
    "cumsum": lambda x, axis: np.cumsum(x, axis=axis), "flip": lambda x, axis: np.flip(x, axis),
    "cumprod": lambda x, axis: np.cumprod(x, axis=axis),
    "log_softmax": lambda x, axis: x - np.logaddexp.reduce(x, axis=axis, keepdims=True),
}
LOSSES: dict[str, Callable[[Array, Array], float]] = {"mse": _mse,
                                                       "cross_entropy": _cross_entropy}
