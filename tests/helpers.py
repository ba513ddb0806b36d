"""Independent references for the tests: finite differences and random points."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp


def central_difference(f: Callable[[dict[str, Any]], float], values: Mapping[str, Any],
                       name: str, eps: float = 1e-6) -> Any:
    """∂f/∂values[name] by central differences, coordinate by coordinate (float64)."""
    base = {k: np.array(v, dtype=float) for k, v in values.items()}
    x = base[name]
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        step = eps * max(1.0, abs(float(x[idx])))
        plus = {k: v.copy() for k, v in base.items()}
        minus = {k: v.copy() for k, v in base.items()}
        plus[name][idx] += step
        minus[name][idx] -= step
        grad[idx] = (f(plus) - f(minus)) / (2 * step)
    return grad


def sympy_value(expr: sp.Basic, values: Mapping[str, float]) -> float:
    """Evaluate a scalar SymPy expression at a point with SymPy's own arithmetic (evalf)."""
    subs = {s: values[str(s.name)] for s in expr.free_symbols}
    return float(sp.N(expr.subs(subs), 30))
