"""The user's values, checked and converted before any array is made: every input named
once, shapes and dimensions that agree, real numbers only, SymPy's assumptions honoured, and
sizes counted against ``Limits`` before anything is allocated (``--shape``, Sphinx
``:shapes:``). The evaluator, the engine and the CLI bind values here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .errors import LimitError, ShapeError
from .limits import DEFAULT_LIMITS, Limits
from .shapes import Extent, Shape, axes_of, fmt_shape

if TYPE_CHECKING:
    pass

Env = dict[sp.Basic, Any]


def dim_value(d: sp.Expr, env: Mapping[Any, Any]) -> int:
    """A dimension's size from the sizes bound so far (``n`` or ``2*n`` with ``n`` bound)."""
    if d.is_Integer:
        return int(d)
    if isinstance(d, Extent):
        return int(np.prod([dim_value(x, env) for x in d.args]))
    v = env.get(d)
    if v is None:
        v = d.xreplace({k: sp.Integer(x) for k, x in env.items() if isinstance(k, sp.Symbol)
                        and isinstance(x, int)})
        if not v.is_Integer:
            raise ShapeError(f"the dimension {d} is not known from the values")
        return int(v)
    return int(v)


def array_shape(shape: Shape, env: Mapping[Any, Any]) -> tuple[int, ...]:
    """The NumPy shape of a value of this shape: a tensor's axes, a matrix's two, ()."""
    return tuple(dim_value(d, env) for d in axes_of(shape))


def values_by_name(values: Mapping[Any, Any]) -> dict[str, Any]:
    """``values`` keyed by name (a key may be a name or a SymPy symbol); a name given twice
    (``"x"`` and ``Symbol("x")``) is an error naming it, never a silent choice."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        name = str(k.name) if isinstance(k, sp.Basic) else str(k)
        if name in out:
            raise ValueError(f"values give {name} twice (as {name!r} and as a symbol)")
        out[name] = v
    return out


def limits_of(d: Any) -> Limits:
    """The derivation's limits (``derive(..., limits=)``), else the defaults."""
    lim = getattr(d, "limits", None)
    return lim if isinstance(lim, Limits) else DEFAULT_LIMITS


_NUMERIC_KINDS = frozenset("biuf")


def coerce_value(name: str, v: Any, shape: Any, dtype: np.dtype[Any],
                 dims: dict[sp.Expr, int], *, symbol: sp.Basic | None = None,
                 limits: Limits | None = None, copy: bool = True) -> Any:
    """One user value as ``dtype``: a scalar, or a 2-D array of the declared shape (a vector
    may come as ``(n,)``); symbolic dimensions are bound in ``dims`` and must agree.

    Refused, never converted: strings (``"3"`` would become 3.0), ``None`` (NaN), complex
    numbers and arrays (the imaginary part would be dropped), more than
    ``limits.max_elements`` entries (LimitError), and a value that contradicts the
    ``symbol``'s SymPy assumptions (``positive=True`` given -2: the derivation may have used
    them, e.g. ``sqrt(x**2) = x``).

    ``copy=False`` is for a run that writes into no input and hands back nothing that
    aliases one: an array of the right dtype comes back as a read-only view (a write would
    raise, never change the caller's array), saving a copy of a large input per call.
    """
    a = _numeric_array(name, v, limits or DEFAULT_LIMITS)
    try:
        if copy or a.dtype != dtype:  # a copy: nothing we hand back aliases the caller's array
            a = np.array(a, dtype=dtype)
        else:
            a = a.view()
            a.flags.writeable = False
    except OverflowError:
        raise ValueError(f"the value of {name} is too large for {dtype} (largest "
                         f"{np.finfo(dtype).max:.3g})") from None
    except (TypeError, ValueError, ArithmeticError):
        raise TypeError(f"the value of {name} is not numeric: {type(v).__name__}") from None
    if symbol is not None:
        check_assumptions(name, symbol, a)
    if shape is None:
        if a.size != 1:
            raise ShapeError(f"{name} must be a scalar, but the value given has shape {a.shape}")
        return dtype.type(a.reshape(()))
    axes = axes_of(shape)
    given = a.shape  # as the caller gave it: a (n,) value is read as the column (n, 1)
    if a.ndim == 1 and len(axes) == 2:
        a = a.reshape(-1, 1)
    if a.ndim != len(axes):
        raise ShapeError(f"{name} must be {fmt_shape(shape)}, but the value given has shape "
                         f"{given}")
    for want, got in zip(axes, a.shape, strict=True):
        if want.is_Integer:
            if int(want) != got:
                column = " (read as the column (n, 1))" if given != a.shape else ""
                raise ShapeError(f"{name} must be {fmt_shape(shape)}, but the value given has "
                                 f"shape {given}{column}")
        elif dims.setdefault(want, got) != got:
            raise ShapeError(f"dimension {want} is {dims[want]} elsewhere but {got} in {name} "
                             f"(shape {a.shape})")
    return a


def _numeric_array(name: str, v: Any, limits: Limits) -> Any:
    """``v`` as an array of real numbers (any dtype), or a TypeError saying what it is."""
    if v is None or isinstance(v, (str, bytes)):
        raise TypeError(f"the value of {name} is {_what(v)}, not a number or an array")
    try:
        a = np.asarray(v)
    except (TypeError, ValueError):  # ragged nested lists
        raise TypeError(f"the value of {name} is not numeric: {type(v).__name__}") from None
    check_elements(f"the value of {name}", a.size, limits)
    if a.dtype.kind in _NUMERIC_KINDS:
        return a
    if a.dtype.kind == "c":
        raise TypeError(f"the value of {name} is complex ({a.dtype}); symbackprop works with "
                        "real numbers")
    if a.dtype.kind == "O":  # SymPy numbers, Fractions, Decimals ... one by one
        for x in a.flat:
            bad = x is None or isinstance(x, (str, bytes, complex)) or (
                isinstance(x, sp.Basic) and x.is_extended_real is not True)
            if bad:
                raise TypeError(f"the value of {name} contains {_what(x)}, not a real number")
        return a
    what = "strings" if a.dtype.kind in "US" else f"{a.dtype} entries"
    raise TypeError(f"the value of {name} holds {what}, not numbers")


def _what(x: Any) -> str:
    if x is None:
        return "None"
    if isinstance(x, (str, bytes)):
        return f"a string {x[:20]!r}"
    return f"a {type(x).__name__} {str(x)[:20]!r}" if np.ndim(x) == 0 else \
        f"a {type(x).__name__}"


_ASSUMPTIONS: tuple[tuple[str, Callable[[Any], Any], str], ...] = (
    ("positive", lambda a: a > 0, "positive"),
    ("negative", lambda a: a < 0, "negative"),
    ("nonnegative", lambda a: a >= 0, "nonnegative"),
    ("nonpositive", lambda a: a <= 0, "nonpositive"),
    ("nonzero", lambda a: a != 0, "nonzero"),
    ("zero", lambda a: a == 0, "zero"),
    ("integer", lambda a: a == np.round(a), "an integer"),
)


def assumes_values(symbol: sp.Basic) -> bool:
    """Whether ``check_assumptions`` can refuse a value of ``symbol``."""
    return isinstance(symbol, sp.Symbol) and any(
        getattr(symbol, f"is_{key}") is True for key, _, _ in _ASSUMPTIONS)


def check_assumptions(name: str, symbol: sp.Basic, a: Any) -> None:
    """A ValueError when ``a`` breaks what SymPy was told about ``symbol`` (NaN passes: the
    numeric check reports it as not finite)."""
    if not assumes_values(symbol):
        return
    with np.errstate(invalid="ignore"):
        for key, test, words in _ASSUMPTIONS:
            if getattr(symbol, f"is_{key}") is True:
                ok = test(a) | np.isnan(a)
                if not np.all(ok):
                    bad = np.asarray(a).reshape(-1)[~np.asarray(ok).reshape(-1)][0]
                    raise ValueError(f"{name} was declared {words} ({key}=True) but its "
                                     f"value has {float(bad):g}; the derivation may rely on it")


def check_elements(what: str, n: int, limits: Limits = DEFAULT_LIMITS) -> None:
    if n > limits.max_elements:
        raise LimitError(f"{what} has {n:,} entries, more than {limits.max_elements:,} "
                         "(Limits.max_elements)")


def shape_size(shape: Any, dims: Mapping[sp.Expr, int]) -> int | None:
    """Entries of a symbolic shape with the bound dimensions; None while one is unknown."""
    if shape is None:
        return 1
    n = 1
    for x in shape:
        x = sp.Integer(x) if isinstance(x, int) else x.size if isinstance(x, Extent) else x
        if not x.is_Integer:
            x = x.xreplace({k: sp.Integer(v) for k, v in dims.items()})
            if not x.is_Integer:
                return None
        n *= int(x)
    return n


def check_shape_sizes(shapes: Mapping[str, Any] | None, limits: Limits = DEFAULT_LIMITS
                      ) -> None:
    """The shapes a user gave (``{"W": (20000, 20000)}``): each array, and all of them
    together, within ``limits.max_elements``; symbolic dimensions are not counted."""
    total = 0
    for name, shape in (shapes or {}).items():
        dims = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in dims):
            continue
        n = 1
        for x in dims:
            n *= x
        check_elements(f"{name} {fmt_shape(dims) if len(dims) == 2 else dims}", n, limits)
        total += n
    check_elements("the inputs together", total, limits)

