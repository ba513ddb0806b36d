"""Hostile input, second pass (issue 20): each class with several inputs; every failure one of
the library's typed errors with a message, and nothing the caller owns changed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.rules import RULES

SH = {"W": (3, 3), "X": (3, "B"), "b": (3, 1)}


# --- part 1: every failure typed ----------------------------------------------------------

@pytest.mark.parametrize("value", [10**400, -(10**320), [1.0, 10**400], np.array([10**309],
                                                                                 dtype=object)])
def test_a_number_too_large_for_float64_is_a_clear_value_error(value: Any) -> None:
    d = sbp.derive("sum(x)", shapes={"x": (1, 1)} if np.ndim(value) else None)
    with pytest.raises(ValueError, match="too large for float64"):
        d.evaluate({"x": value})


@pytest.mark.parametrize("order", ["1001", "10**6", "10**30"])
def test_a_polygamma_order_beyond_the_limit_is_refused_at_entry(order: str) -> None:
    """mpmath's ψ⁽ⁿ⁾ costs time and memory growing with n: 10**30 exhausted CI's memory."""
    with pytest.raises(sbp.ShapeError, match=r"order of polygamma .* 1000, not"):
        sbp.derive(f"polygamma({order}, x)")


def test_a_sympy_polygamma_of_a_huge_order_evaluates_to_nan_not_forever() -> None:
    x = sp.Symbol("x")
    d = sbp.derive(sp.polygamma(10**30, x), wrt="x")
    assert np.isnan(d.evaluate({"x": 0.5})["x"])
    assert not d.check().ok


@pytest.mark.parametrize(("kw", "err", "match"), [
    ({"eps": 0}, ValueError, "eps must be a finite number > 0"),
    ({"eps": -1e-6}, ValueError, "eps"),
    ({"eps": float("nan")}, ValueError, "eps"),
    ({"rtol": -1}, ValueError, "rtol must be a finite number >= 0"),
    ({"atol": float("inf")}, ValueError, "atol"),
    ({"atol": "a"}, TypeError, "atol must be a number, not str"),
    ({"rtol": None}, TypeError, "rtol must be a number"),
    ({"max_coords": 0}, ValueError, "max_coords"),
])
def test_tolerances_are_checked_before_any_work(kw: dict[str, Any], err: type, match: str
                                                ) -> None:
    with pytest.raises(err, match=match):
        sbp.derive("x*y").check(**kw)
    with pytest.raises(err, match=match):
        sbp.gradcheck("x*y", {"x": 0.5, "y": 0.25}, **kw)


# --- part 2: caller data never aliased -----------------------------------------------------

def _values() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    return {"W": rng.normal(size=(3, 3)), "X": rng.normal(size=(3, 4)),
            "b": rng.normal(size=(3, 1))}


def test_trace_rows_and_evaluate_results_are_copies() -> None:
    d = sbp.derive("sum(tanh(W @ X + b))", shapes=SH)
    vals = _values()
    kept = {k: v.copy() for k, v in vals.items()}
    t = d.trace(vals)
    for row in t.rows:
        if isinstance(row.value, np.ndarray):
            row.value[...] = 7.0
    got = d.evaluate(vals)
    for g in got.values():
        g[...] = 7.0
    d.check(vals)
    for k, v in vals.items():
        np.testing.assert_array_equal(v, kept[k])


def test_a_grad_callback_that_writes_into_its_arguments_moves_nothing() -> None:
    """It zeroes W: with W at zero the wrong x-gradient (0) would look right."""
    W = np.random.default_rng(0).normal(size=(3, 3))
    x = np.ones(3)
    kept = W.copy()

    def grad(W: Any, x: Any) -> dict[str, Any]:
        W[...] = 0.0
        return {"W": np.tile(x, (3, 1)), "x": np.zeros(3)}

    with pytest.raises(sbp.GradcheckError, match="for x"):
        sbp.gradcheck(lambda W, x: np.sum(W * x), {"W": W, "x": x}, grad=grad)
    np.testing.assert_array_equal(W, kept)


def test_a_function_that_writes_into_its_arguments_is_checked_at_the_point() -> None:
    def f(W: Any) -> Any:
        out = np.sum(W * W)
        W *= 2.0  # a careless in-place update
        return out

    W = np.random.default_rng(1).normal(size=(2, 2))
    kept = W.copy()
    assert sbp.gradcheck(f, {"W": W}, grad=lambda W: {"W": 2 * W})
    np.testing.assert_array_equal(W, kept)


# --- part 3: ambiguous values --------------------------------------------------------------

@pytest.mark.parametrize("call", ["evaluate", "check", "trace"])
def test_a_name_given_twice_is_an_error_naming_it(call: str) -> None:
    d = sbp.derive("x*y")
    values = {"x": 1.0, sp.Symbol("x", real=True): 2.0, "y": 0.5}
    with pytest.raises(ValueError, match="values give x twice"):
        getattr(d, call)(values)


# --- part 5: generated code runs -------------------------------------------------------------

def _run(code: str, **values: Any) -> Any:
    ns: dict[str, Any] = {}
    exec(compile(code, "<generated>", "exec"), ns)  # trusted: made from test inputs
    return ns["forward_backward"](**values)


@pytest.mark.parametrize("batch", [1, 5])
def test_generated_code_takes_symbolic_sizes_from_the_arrays(batch: int) -> None:
    d = sbp.derive("sum(tanh(W @ X + b))", shapes={"W": ("m", 3), "X": (3, "B"),
                                                    "b": ("m", 1)})
    rng = np.random.default_rng(2)
    vals = {"W": rng.normal(size=(4, 3)), "X": rng.normal(size=(3, batch)),
            "b": rng.normal(size=(4, 1))}
    _, grads = _run(d.to_python(), **vals)
    want = d.evaluate(vals)
    for k, g in want.items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-12)


@pytest.mark.parametrize("const", [sp.EulerGamma, sp.GoldenRatio, sp.Catalan, sp.E, sp.pi])
def test_generated_code_with_sympys_named_constants_runs(const: sp.Basic) -> None:
    x = sp.Symbol("x", real=True)
    d = sbp.derive(const * x**2 + const)
    value, grads = _run(d.to_python(), x=0.75)
    assert grads["x"] == pytest.approx(d.evaluate({"x": 0.75})["x"])
    assert value == pytest.approx(float(const * 0.75**2 + const))


# --- part 9: every printed string renders --------------------------------------------------

@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items()
                                        if r.sympy is not None and r.arity == 1))
@pytest.mark.parametrize("shape", [None, (3, 1), (2, 3)], ids=["scalar", "vector", "matrix"])
def test_every_element_wise_derivative_renders(name: str, shape: Any) -> None:
    shapes = {"X": shape} if shape else {}
    text = f"sum({name}(X))" if shape else f"{name}(X)"
    assert_latex_ok([sbp.derive(text, shapes=shapes, layout=layout, adjoint=adjoint).latex()
                     for layout in ("denominator", "numerator") for adjoint in ("frac", "bar")])


# --- part 7: a kink within the finite-difference step is a kink, not a mismatch -----------

@pytest.mark.parametrize(("text", "point"), [
    ("relu(x - 2)", {"x": 2 + 1e-9}), ("relu(x - 2)", {"x": 2 - 1e-9}),
    ("abs(x - 1)", {"x": 1 + 1e-9}), ("max(x, y)", {"x": 1.5, "y": 1.5 + 1e-9}),
    ("sum(relu(W - 3))", {"W": [[3 + 1e-9], [0.4]]}),
])
def test_a_kink_within_the_step_is_reported_as_a_kink(text: str, point: dict[str, Any]) -> None:
    shapes = {"W": (2, 1)} if "W" in text else None
    report = sbp.derive(text, shapes=shapes).check(point)
    assert not report.ok  # finite differences cannot confirm it: never "ok"
    assert {r.status for r in report.rows} <= {"kink", "ok"}
    assert "kink within the finite-difference step" in str(report)


@pytest.mark.parametrize("x", [1e-9, -1e-9])
def test_a_kink_closer_than_the_step_to_a_small_entry_is_resolved_by_a_step_its_size(
        x: float) -> None:
    """An entry below 1 in size gets a second opinion at steps eps·|x|: relu at ±1e-9 is
    differentiable there, and a step of 1e-15 confirms its slope (ok, with a note)."""
    report = sbp.derive("relu(x)").check({"x": x})
    assert report.ok, report
    assert "re-taken" in str(report)


def test_a_wrong_gradient_near_a_kink_is_still_a_mismatch() -> None:
    """Neither one-sided slope is 3: a mismatch, not excused as a kink."""
    d = sbp.derive("relu(x)")
    with pytest.raises(sbp.GradcheckError, match="x") as e:
        sbp.gradcheck("relu(x)", {"x": 1e-9}, grad=lambda x: {"x": 3.0})
    assert [r.status for r in e.value.rows] == ["mismatch"]
    assert d.check({"x": 0.25}).ok


def test_the_scaled_bessel_functions_at_an_infinity_are_their_limit() -> None:
    """CI drew i0e(1e300 ** pi): 1e300**π overflows to inf and mpmath's besseli raised a
    TypeError from inside; at ±inf both functions tend to 0 (and a constant beyond a
    float's range is now refused where it is read, a held-out case: exp(1000)·x)."""
    import numpy as np

    from symbackprop.primitive_numpy import np_i0e, np_i1e
    x = np.array([np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(np_i0e(x), [0.0, 0.0, np.nan])
    np.testing.assert_array_equal(np_i1e(x), [0.0, 0.0, np.nan])
    # the constant 1e300**π itself is beyond a float's range: refused as x*1e308*10 is
    with pytest.raises(sbp.LimitError, match="beyond the range of a float"):
        sbp.derive("i0e((1e300 ** pi))")
