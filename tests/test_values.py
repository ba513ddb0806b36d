"""Values that contradict the input are refused with a typed error, never converted (issue 11
part 4), and a cross-entropy target must be what the printed gradient assumes (part 0)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.values import check_assumptions, coerce_value

DV = sbp.derive("sum(x)*c", wrt="x", shapes={"x": (3, 1)})
ONES = np.ones(3)


@pytest.mark.parametrize(("values", "error", "words"), [
    ({"x": ONES + 1j, "c": 1.0}, TypeError, "x is complex"),  # was silently made real
    ({"x": ONES.astype(np.complex64), "c": 1.0}, TypeError, "x is complex"),
    ({"x": ONES, "c": 1 + 2j}, TypeError, "c is complex"),
    ({"x": ONES, "c": "3"}, TypeError, "c is a string '3'"),  # was 3.0
    ({"x": ONES, "c": b"3"}, TypeError, "c is a string"),
    ({"x": ONES, "c": None}, TypeError, "c is None"),  # was NaN
    ({"x": ["1", "2", "3"], "c": 1.0}, TypeError, "x holds strings"),
    ({"x": [1.0, None, 2.0], "c": 1.0}, TypeError, "x contains None"),
    ({"x": [1.0, "2", 3.0], "c": 1.0}, TypeError, "x holds strings"),
    ({"x": [1.0, 2j, 3.0], "c": 1.0}, TypeError, "x is complex"),
    ({"x": np.array([1.0, sp.I, 2.0], dtype=object), "c": 1.0}, TypeError, "x contains a"),
    ({"x": ONES, "c": np.datetime64("2026-01-01")}, TypeError, "not numbers"),
])
def test_values_that_are_not_real_numbers_are_refused(values: dict[str, Any], error: type,
                                                      words: str) -> None:
    for f in (DV.evaluate, DV.trace):
        with pytest.raises(error, match=words):
            f(values)


def test_real_numbers_in_any_spelling_still_work() -> None:
    want = DV.evaluate({"x": ONES, "c": 2.0})["x"]
    for c in (2, np.int8(2), np.float32(2.0), sp.Integer(2), sp.Float(2.0), sp.Rational(4, 2)):
        assert np.array_equal(DV.evaluate({"x": ONES, "c": c})["x"], want)
    objs = np.array([sp.Integer(1), sp.Float(1.0), 1], dtype=object)
    assert np.array_equal(DV.evaluate({"x": objs, "c": 2.0})["x"], want)
    assert np.array_equal(DV.evaluate({"x": [True, True, True], "c": 2.0})["x"], want)


def test_the_engine_refuses_them_too() -> None:
    """The engine (check/engine.py) binds values with the same coerce_value."""
    with pytest.raises(TypeError, match="x is complex"):
        DV.check({"x": ONES + 1j, "c": 1.0})
    with pytest.raises(TypeError, match="c is None"):
        DV.check({"x": ONES, "c": None})


@pytest.mark.parametrize(("assumption", "bad", "good"), [
    ({"positive": True}, -2.0, 2.0),
    ({"positive": True}, 0.0, 1e-300),
    ({"nonnegative": True}, -1e-9, 0.0),
    ({"negative": True}, 3.0, -3.0),
    ({"nonzero": True}, 0.0, -1.0),
    ({"integer": True}, 2.5, 2.0),
])
def test_values_that_contradict_sympy_assumptions(assumption: dict[str, bool], bad: float,
                                                   good: float) -> None:
    x = sp.Symbol("x", **assumption)
    d = sbp.derive(x**3 + x, wrt="x")
    with pytest.raises(ValueError, match=f"x was declared .*{next(iter(assumption))}=True"):
        d.evaluate({"x": bad})
    with pytest.raises(ValueError, match="the derivation may rely on it"):
        d.trace({"x": bad})
    assert d.evaluate({"x": good})["x"] == pytest.approx(3 * good**2 + 1)


def test_an_assumption_the_derivation_used_cannot_give_a_wrong_number() -> None:
    """sqrt(x**2) is x for positive x: at x = -2 the printed gradient 1 would be wrong."""
    x = sp.Symbol("x", positive=True)
    d = sbp.derive(sp.sqrt(x**2), wrt="x")
    with pytest.raises(ValueError, match=r"positive .* -2"):
        d.evaluate({"x": -2.0})


def test_assumption_check_on_arrays_and_nan() -> None:
    x = sp.Symbol("x", positive=True)
    check_assumptions("x", x, np.array([1.0, np.nan]))  # NaN is the numeric check's business
    with pytest.raises(ValueError, match="-1"):
        check_assumptions("x", x, np.array([1.0, -1.0]))


def test_coerce_value_is_the_shared_check() -> None:
    with pytest.raises(TypeError, match="w is None"):
        coerce_value("w", None, None, np.dtype(np.float64), {})
    with pytest.raises(sbp.LimitError, match="max_elements"):
        coerce_value("w", np.zeros(11), (sp.Integer(11), sp.Integer(1)), np.dtype(np.float64),
                     {}, limits=sbp.Limits(max_elements=10))


# ---------------------------------------------------------------------------------------
# cross-entropy: softmax(o) - y is the printed gradient; it holds when columns of y sum to 1

SH = {"W": (2, 3), "x": (3, 2)}
RNG = np.random.default_rng(0)
VALS = {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=(3, 2))}


def test_cross_entropy_target_whose_columns_do_not_sum_to_one_is_refused() -> None:
    d = sbp.derive("W@x", shapes=SH, loss="cross_entropy")
    assert r"\operatorname{softmax}_{\text{col}}" in d.latex()
    ok = d.evaluate({**VALS, "y": np.array([[1.0, 0.25], [0.0, 0.75]])})
    assert set(ok) == {"W", "x", "y"}
    for f in (d.evaluate, d.trace):
        with pytest.raises(ValueError, match=r"column 1 of y sums to 2; the gradient printed "
                           r"for this loss, softmax\(o\) - y, holds only then"):
            f({**VALS, "y": np.array([[1.0, 1.0], [0.0, 1.0]])})
    report = d.check({**VALS, "y": np.array([[2.0, 0.0], [0.0, 1.0]])})
    assert not report.ok  # the symbolic gradient is unavailable, never "verified"
    assert "each column must sum to 1" in str(report)


def test_cross_entropy_of_a_vector_target() -> None:
    d = sbp.derive("W@v", shapes={"W": (2, 3), "v": (3,)}, loss="cross_entropy")
    d.evaluate({"W": VALS["W"], "v": np.ones(3), "y": [0.0, 1.0]})
    with pytest.raises(ValueError, match=r"y sums to 0\.5"):
        d.evaluate({"W": VALS["W"], "v": np.ones(3), "y": [0.25, 0.25]})
    grads = d.evaluate({"W": VALS["W"], "v": np.ones(3), "y": [0.3, 0.7 + 1e-9]})
    assert np.all(np.isfinite(grads["W"]))  # rounding is tolerated


def test_cross_entropy_written_in_the_text_is_checked_too() -> None:
    d = sbp.derive("cross_entropy(W@x, t)", shapes={**SH, "t": (2, 2)})
    with pytest.raises(ValueError, match="cross_entropy target t"):
        d.evaluate({**VALS, "t": np.ones((2, 2))})


def test_an_input_named_as_a_dimension_must_be_its_size() -> None:
    """sum(z)/n with z (n, 1): the scalar input n and the dimension n are read apart; values
    that make them differ (n = 5 for a z of 3 entries) were used as given, silently."""
    d = sbp.derive("sum(z)/n", shapes={"z": ("n", 1)})
    with pytest.raises(ValueError, match="n is 5, but it also names a dimension"):
        d.evaluate({"z": np.ones((3, 1)), "n": 5.0})
    np.testing.assert_allclose(d.evaluate({"z": np.ones((3, 1)), "n": 3.0})["z"], 1 / 3)
    assert d.check().ok  # random values: n is the size drawn for the dimension
