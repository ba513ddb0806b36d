"""The NumPy engine (check/engine.py), asserted where the mutation run found it untested
(issue 20 part 10): sums written in place only into arrays nobody else reads, gradients the
caller owns, and the limits on the constants it makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.check import Engine

S = {"A": (3, 3), "B": (3, 3), "C": (3, 3), "s": None, "X": (3, 2)}


def _values(d: sbp.Derivation) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    every = {k: rng.normal(size=v) if v else 0.7 for k, v in S.items()}
    return {str(q): every[str(q)] for q in d.graph.inputs}


@pytest.mark.parametrize(("text", "value"), [
    # A.T is a view of A: the sum must not be written into it
    ("sum(hadamard(A.T + B, A))", lambda v: np.sum((v["A"].T + v["B"]) * v["A"])),
    # A@B feeds the sum and is read again later: the sum must not be written into it
    ("sum(exp(A@B + C)) + sum(A@B)",
     lambda v: np.sum(np.exp(v["A"] @ v["B"] + v["C"])) + np.sum(v["A"] @ v["B"])),
])
def test_a_sum_is_written_in_place_only_into_its_own_temporary(text: str,
                                                                  value: Callable[[dict[str, Any]], float]) -> None:
    d = sbp.derive(text, shapes=S)
    values = _values(d)
    kept = {k: np.copy(v) for k, v in values.items()}
    for engine in (Engine(d), Engine(d, wrt=["C"] if "C" in values else ["B"])):
        np.testing.assert_allclose(engine.value(values), value(values), rtol=1e-12)
        np.testing.assert_allclose(engine.value_and_grad(values)[0], value(values), rtol=1e-12)
    for k, v in values.items():
        np.testing.assert_array_equal(v, kept[k])
    assert d.check(values).ok


def test_gradients_are_fresh_writable_arrays_shaped_like_their_inputs() -> None:
    d = sbp.derive("sum(X) + s*sum(X) + sum(A)", shapes=S)
    values = _values(d)
    grads = Engine(d).gradients(values)
    assert {k: np.shape(g) for k, g in grads.items()} == {"X": (3, 2), "s": (), "A": (3, 3)}
    for k in ("X", "A"):
        g = grads[k]
        assert isinstance(g, np.ndarray)
        assert g.flags.writeable
        assert g.flags.owndata
    np.testing.assert_allclose(grads["X"], np.full((3, 2), 1.7))
    np.testing.assert_array_equal(grads["A"], np.ones((3, 3)))
    grads["A"][0, 0] = 5.0  # the next call is not affected
    np.testing.assert_array_equal(Engine(d).gradients(values)["A"], np.ones((3, 3)))
    assert isinstance(grads["s"], np.float64)


def test_the_constants_an_engine_makes_are_within_the_limits() -> None:
    d = sbp.derive("sum(ones(n, n)@X)", shapes={"X": ("n", 2)},
                   limits=sbp.Limits(max_elements=60))
    assert Engine(d).value({"X": np.ones((4, 2))}) == 32.0
    with pytest.raises(sbp.LimitError, match=r"more than 60 \(Limits.max_elements\)"):
        Engine(d).value({"X": np.ones((8, 2))})  # ones(8, 8): 64 entries


def test_tolerances_are_frozen() -> None:
    from dataclasses import FrozenInstanceError

    from symbackprop.check.engine import Tolerances

    tol = Tolerances()
    with pytest.raises(FrozenInstanceError):
        tol.atol = 1.0  # type: ignore[misc]
    assert (tol.eps, tol.atol, tol.rtol, tol.seed, tol.max_coords) == (1e-6, 1e-5, 1e-3, 0, 32)


@pytest.mark.parametrize(("text", "values", "verdict"), [
    ("sqrt(x)", {"x": -1.0}, "undefined here (sqrt of a negative number in z)"),
    ("x**0.5 + y", {"x": -1.0, "y": 1.0}, "undefined here (sqrt of a negative number in t)"),
    ("log(x)", {"x": 0.0}, "undefined here (log of zero in z)"),
    ("sum(sqrt(x))", {"x": -np.ones((3, 2))}, "undefined here (sqrt of a negative number in h)"),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, "ok (agree at max with a tie in z)"),
    ("min(x, y)*2", {"x": 1.0, "y": 1.0}, "ok (agree at min with a tie in t)"),
])
def test_the_engine_names_the_step_and_what_went_wrong(text: str, values: dict[str, Any],
                                                       verdict: str) -> None:
    report = sbp.derive(text, shapes={"x": np.shape(values["x"])}).check(values)
    assert report.ok == verdict.startswith("ok")
    assert report["x"].verdict == verdict


def test_one_coordinate_is_enough() -> None:
    from symbackprop.check.engine import Tolerances

    assert Tolerances(max_coords=1).max_coords == 1
    d = sbp.derive("sum(hadamard(X, X))", shapes={"X": (3, 2)})
    report = d.check(max_coords=1)
    assert report.ok
    for bad in (0, -1):
        with pytest.raises(ValueError, match=rf"^max_coords must be a whole number >= 1, not "
                                             rf"{bad}$"):
            Tolerances(max_coords=bad)
