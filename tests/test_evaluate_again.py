"""``d.evaluate`` called again with other sizes checks them again (the sizes it has checked
are remembered per derivation, so a training loop checks once)."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp


def test_an_intermediate_too_large_is_refused_after_a_call_that_fitted() -> None:
    d = sbp.derive("sum(sigmoid(x@x.T))", wrt=["x"], shapes={"x": ("n", 1)},
                   limits=sbp.Limits(max_elements=300))
    for _ in range(2):
        got = d.evaluate({"x": np.full((5, 1), 0.1)})["x"]
        s = 1 / (1 + np.exp(-0.01))
        np.testing.assert_allclose(got, np.full((5, 1), 2 * 5 * 0.1 * s * (1 - s)))
    with pytest.raises(sbp.LimitError, match="max_elements"):
        d.evaluate({"x": np.full((20, 1), 0.1)})  # 20 inputs fit; the 20 x 20 product not


@pytest.mark.parametrize("which", ["max", "min"])
def test_a_max_or_min_of_three_operands_is_evaluated_over_all_three(which: str) -> None:
    """SymPy merges max(x, max(y, z)) into one Max of three: np.maximum(a, b, c) took c as
    its output array (SYMBACKPROP_FUZZ_SEED=2, a program variant)."""
    x, y, w = sp.symbols("x y w", real=True)
    f = sp.Max if which == "max" else sp.Min
    d = sbp.derive(x * f(x, 2 * y, w + 1))
    v = {"x": 0.7, "y": -0.4, "w": 1.3}
    assert d.check(v).ok
    want = sp.diff(x * f(x, 2 * y, w + 1), x).subs({x: 0.7, y: -0.4, w: 1.3})
    assert d.evaluate(v)["x"] == pytest.approx(float(want))
