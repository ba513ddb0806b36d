"""Finite differences and their judgement (check/differences.py), asserted where the
mutation run found them untested (issue 20 part 10): whole report rows at domain edges and
kinks, the relative tolerance, and exact errors where finite differences are exact."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symbackprop as sbp

HEADER = """parameter  shape   max abs error  max rel error  verdict
---------  ------  -------------  -------------  -------"""
TEXT = "finite differences and the forward value are of the text as written"


def test_a_smaller_step_near_a_domain_edge_is_named() -> None:
    assert str(sbp.derive("log(x)").check({"x": 1e-7})) == f"""\
gradient check: ok — symbolic, engine, finite differences (eps=1e-06, atol=1e-05, rtol=0.001)
{HEADER}
x          scalar  0.008          8e-10          ok (finite differences at x[·]: step 1e-13 (the function is undefined a step away))
{TEXT}"""


def test_sqrt_at_zero_is_not_differentiable_and_no_kink_within_a_step() -> None:
    assert str(sbp.derive("sqrt(x)").check({"x": 0.0})) == f"""\
gradient check: FAILED — symbolic, engine, finite differences (eps=1e-06, atol=1e-05, rtol=0.001)
{HEADER}
x          scalar  nan            nan            not differentiable here: symbolic, engine and finite differences disagree (sqrt at or within 1e-20 of 0 in z)
x: [·] symbolic inf, engine inf, finite differences 1292.8932188134524
{TEXT}"""


def test_the_relative_tolerance_scales_with_the_reference() -> None:
    # 0.001 off at a gradient of 0.5: more than atol + rtol·0.5
    with pytest.raises(sbp.GradcheckError) as e:
        sbp.gradcheck("x*y", {"x": 1.0, "y": 0.5}, grad={"x": "y + 0.001", "y": "x"})
    assert str(e.value).splitlines()[3] == (
        "x          scalar  0.001          0.002          MISMATCH: yours disagrees")
    assert sbp.gradcheck("x*y", {"x": 1.0, "y": 0.5}, grad={"x": "y + 0.0004", "y": "x"})


def test_exact_finite_differences_give_zero_errors() -> None:
    assert str(sbp.derive("x*y").check({"x": 1.0, "y": 0.0})).splitlines()[3:5] == [
        "x          scalar  0              0              ok",
        "y          scalar  0              0              ok"]
    assert str(sbp.derive("x*y + y").check({"x": 1.0, "y": 2.0})).splitlines()[3:5] == [
        "x          scalar  2.2e-10        1.1e-10        ok",
        "y          scalar  0              0              ok"]


def test_a_kink_within_a_step_where_the_gradient_is_the_left_slope() -> None:
    # relu(x - 2) + x at x = 2 - 1e-9: slope 1 on the left, 2 on the right; the gradient is 1
    # (at an entry below 1 in size a step of its size would resolve the kink)
    report = sbp.derive("relu(x - 2) + x").check({"x": 2 - 1e-9})
    assert not report.ok
    assert str(report).splitlines()[3] == (
        "x          scalar  0.5            0.33           not differentiable here: finite "
        "differences disagrees (a kink within the finite-difference step at [·] (slopes 1 on "
        "the left, 1.999 on the right; the gradient is one of them))")


def test_the_second_opinion_steps_ten_times_eps() -> None:
    # a kink 1.05e-5 to the right: central differences at 1e-6 and 1e-5 both see the slope
    # 1e-8 (steady), so a gradient of 0, within atol, is 1 off in relative terms
    with pytest.raises(sbp.GradcheckError) as e:
        sbp.gradcheck("1e-8*x + relu(x - 1.05e-5)", {"x": 0.0}, grad={"x": "0"})
    assert str(e.value).splitlines()[3] == (
        "x          scalar  1e-08          1              MISMATCH: yours disagrees "
        "(yours at [·] is within atol but 1 off in relative terms (finite differences "
        "1e-08))")  # the engine agrees: two analytic witnesses differ by more than rounding


def test_a_few_ulps_off_a_flat_zero_are_the_witness_rounding_not_a_slope() -> None:
    """A function exactly flat at both finite-difference steps (the differences are exactly
    0), and a gradient 2.8e-17 from its Float coefficients (0.666666666666667 − 0.5 −
    0.16666…): ok; the same 2.8e-17 against a steady slope of 1e-8 is still refused (above)."""
    def f(a0: Any) -> Any:  # found by tests/test_trace_numpy.py's random NumPy programs
        return np.sum(a0 + -a0) + (np.sum(a0) + np.sum(-a0) + np.mean(a0)
                                   + np.sum(np.mean(-a0, keepdims=True))) * 0.5

    values = {"a0": np.array([-1.13696169, -0.76978671, -0.54097352])}
    d = sbp.derive(f, shapes={"a0": (3,)})
    assert 0 < np.max(np.abs(d.evaluate(values)["a0"])) < 1e-15  # rounding, not 0
    assert d.check(values).ok
    with pytest.raises(sbp.GradcheckError, match="relative terms"):
        sbp.gradcheck("1e-8*x + relu(x - 1.05e-5)", {"x": 0.0}, grad={"x": "3e-17"})


def test_a_mean_of_entries_that_cancel_is_rounding_on_both_sides() -> None:
    """∂L/∂G of L = G·mean(X) where X's entries sum to 0: the symbolic witness's 1.4e-17 and
    finite differences' 2.5e-17 are both rounding of sums of order 1 (found by
    tests/test_tensor_fuzz.py's random pooling): ok, not 'within atol but 0.5 off'."""
    x = np.array([[-2.0, 5.0, 2.0], [-5.0, 0.0, 7.0], [-1.0, -9.0, 3.0]]) / 6
    d = sbp.derive("L = sum(hadamard(G, avgpool2d(X, 3, stride=1)))",
                   shapes={"X": (1, 1, 3, 3), "G": (1, 1, 1, 1)})
    report = d.check({"X": x.reshape(1, 1, 3, 3), "G": np.full((1, 1, 1, 1), -1.5)})
    assert report.ok, report
