"""``d.evaluate`` called again with other sizes checks them again (the sizes it has checked
are remembered per derivation, so a training loop checks once)."""

from __future__ import annotations

import numpy as np
import pytest

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
