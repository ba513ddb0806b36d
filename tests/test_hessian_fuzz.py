"""Hessians of the differential fuzzer's random programs, judged by central differences.

``sbp.hessian(text, wrt=v)`` differentiates the derived gradient again (forward over
reverse). Its numbers are compared with central differences of that gradient (itself judged
against sympy.diff and an independent NumPy forward pass by tests/test_differential.py), at
two step sizes: where the two disagree (a kink within a step, rounding) the point is
discarded, and the Hessian is wrong only when it disagrees with both. A wrong Hessian that
``h.check()`` calls ok is reported as such.

Budget: ``SYMBACKPROP_FUZZ_PROGRAMS`` (default 600: a fifth of it per kind of program) and
``SYMBACKPROP_FUZZ_SEED`` (default: derandomized), as for the differential fuzzer.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from programs import BadPoint, fd_gradient, forward, points, programs

import symbackprop as sbp

BUDGET = int(os.environ.get("SYMBACKPROP_FUZZ_PROGRAMS", "600"))
SEED = os.environ.get("SYMBACKPROP_FUZZ_SEED")


class WrongHessian(AssertionError):
    """h.evaluate disagrees with central differences of the gradient at two steps."""


def _gradient(d: sbp.Derivation, values: dict[str, Any], w: str, v: Any) -> Any:
    return np.asarray(d.evaluate({**values, w: v})[w], dtype=float)


def fd_hessian(d: sbp.Derivation, values: dict[str, Any], w: str, rel: float) -> Any:
    """Column j: the central difference of the gradient along entry j of w (vec order)."""
    v0 = np.asarray(values[w], dtype=float)
    flat = v0.ravel(order="F")
    cols = []
    for j in range(flat.size):
        h = rel * max(1.0, abs(flat[j]))
        e = np.zeros_like(flat)
        e[j] = h
        plus = _gradient(d, values, w, (flat + e).reshape(v0.shape, order="F"))
        minus = _gradient(d, values, w, (flat - e).reshape(v0.shape, order="F"))
        cols.append(np.ravel((plus - minus) / (2 * h), order="F"))
    return np.stack(cols, axis=1)


def _fuzz(f: Any) -> Any:
    f = settings(max_examples=max(1, BUDGET // 5), deadline=None, database=None,
                 derandomize=SEED is None, suppress_health_check=list(HealthCheck))(f)
    return seed(int(SEED))(f) if SEED is not None else f


@pytest.mark.parametrize("kind", ["scalar", "matrix"])
@_fuzz
@given(data=st.data())
def test_hessians_agree_with_differences_of_the_gradient(kind: str, data: Any) -> None:
    matrix = kind == "matrix"
    prog = data.draw(programs(matrix, structural=matrix), label="program")
    values = data.draw(points(prog), label="point")
    text, shapes = prog.text(), prog.shapes()
    try:
        d = sbp.derive(text, shapes=shapes)  # the inputs the output reads
    except sbp.SymbackpropError:
        return
    names = [str(s.name) for s in d.inputs if str(s.name) not in prog.targets]
    if not names:
        return
    w = data.draw(st.sampled_from(names), label="wrt")
    try:
        fd_gradient(prog, values)  # near a kink, out of a domain, too large: not judged
    except BadPoint:
        return
    with np.errstate(all="ignore"):  # an output that overflows (2^948 squared) is no
        if not np.isfinite(forward(prog, values)):  # point to judge a Hessian at
            return
    try:
        h = sbp.hessian(text, wrt=w, shapes=shapes)
        got = np.asarray(h.evaluate(values)[w], dtype=float)
    except sbp.UnsupportedError:  # second order through an n-D primitive (conv2d, pooling)
        return
    grad = sbp.derive(text, wrt=w, shapes=shapes)
    with np.errstate(all="ignore"):  # an overflow is a point not judged, not a failure
        fine, coarse = fd_hessian(grad, values, w, 1e-5), fd_hessian(grad, values, w, 1e-4)
    if not np.all(np.isfinite(fine)) or np.max(np.abs(fine), initial=0.0) > 1e6 or \
            not np.allclose(fine, coarse, rtol=1e-3, atol=1e-5):
        return
    got = got.reshape(fine.shape)
    # the rounding of a central difference of the gradient: |g| ulp / step (a gradient of
    # 1e9 differenced at a step of 7e-6 is off by about 0.05, whatever the Hessian)
    g = np.asarray(grad.evaluate(values)[w], dtype=float)
    step = 1e-5 * max(1.0, float(np.max(np.abs(values[w]), initial=0.0)))
    noise = 8 * np.finfo(float).eps * float(np.max(np.abs(g), initial=0.0)) / step
    if not np.allclose(got, fine, rtol=1e-4, atol=1e-5 + noise):
        report = h.check(values)
        if not report.ok and "not differentiable here" in str(report):
            return  # a tie of max(x, x + ‖·‖²) both steps stay on one side of: check() names it
        ok = report.ok
        raise WrongHessian(f"{'check() says ok to a ' if ok else ''}wrong Hessian of {text!r} "
                           f"in {w} (shapes {shapes}) at {values}:\nevaluate {got}\n"
                           f"differences {fine}")
