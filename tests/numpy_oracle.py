"""NumPy as the oracle of library-spelled text (tests/test_numpy_one_d.py,
test_numpy_one_entry.py): the value NumPy gives the very same code, and the central
differences of it as the gradient. The texts are the tests' own, never a user's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp


def numpy_value(text: str, values: Mapping[str, Any]) -> float:
    return float(np.sum(eval(text, {"np": np}, dict(values))))


def numpy_gradient(text: str, values: Mapping[str, Any], name: str, h: float = 1e-6
                   ) -> np.ndarray:
    x = np.asarray(values[name], dtype=float)
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        sides = []
        for step in (h, -h):
            moved = x.copy()
            moved[i] += step
            sides.append(numpy_value(text, {**values, name: moved}))
        out[i] = (sides[0] - sides[1]) / (2 * h)
    return out


def numpy_or_refused(text: str, shapes: Mapping[str, Any], values: Mapping[str, Any],
                     grads: bool = True, check: bool = False) -> bool:
    """True when the text gives NumPy's value (and the central differences' gradient, and
    with ``check`` a check() that says ok), False when it is refused with a typed error; a
    different number, or a number where NumPy refuses the code, fails."""
    try:
        want: float | None = numpy_value(text, values)
    except (ValueError, IndexError, TypeError, np.linalg.LinAlgError):
        want = None  # NumPy refuses it: so must the text
    try:
        d = sbp.derive(text, shapes=dict(shapes))
        got = float(np.sum(d.trace(values).rows[-1].value))
    except (sbp.ShapeError, sbp.UnsupportedError, sbp.ParseError):
        return False
    assert want is not None, f"{text}: NumPy refuses it, the text gave {got}"
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12), text
    if grads:
        g = d.evaluate(values)
        for k in d.wrt:
            name = str(k)
            assert np.asarray(g[name]).reshape(np.shape(values[name])) == pytest.approx(
                numpy_gradient(text, values, name), rel=1e-5, abs=1e-6), (text, name)
    if check:
        assert d.check(values).ok, text
    return True
