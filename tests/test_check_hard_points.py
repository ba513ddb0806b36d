"""check() and gradcheck where finite differences are hard (held-out round G4): a correct
gradient is never a mismatch only because finite differences cannot see it, and a wrong one is
never excused by that."""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import GradcheckError


def _status(report: sbp.CheckReport, name: str) -> str:
    return next(r.status for r in report.rows if r.name == name)


def test_a_steep_bend_is_resolved_with_a_smaller_step() -> None:
    # sin(1e4·x) at x = 10: the step scaled by |x| is 1e-5, 1.7% off; eps/10 settles
    assert sbp.derive("sin(10000.0*x)").check({"x": 10.0}).ok

    def f(x: float) -> float:
        return np.sin(1e4 * x)  # type: ignore[no-any-return]

    sbp.gradcheck(f, {"x": 10.0}, grad=lambda x: {"x": 1e4 * np.cos(1e4 * x)})
    with pytest.raises(GradcheckError):  # 0.5% off is still found
        sbp.gradcheck(f, {"x": 10.0}, grad=lambda x: {"x": 1.005e4 * np.cos(1e4 * x)})


def test_differences_hidden_by_rounding_are_no_evidence_of_a_zero_slope() -> None:
    # log(eˣ + 1) at −28: 1 + eˣ is the same float a step away, both differences are 0
    x = -28.0
    true = 1.0 / (1.0 + np.exp(-x))
    assert sbp.derive("log(exp(x) + 1)").check({"x": x}).ok

    def f(x: float) -> float:
        return np.log(np.exp(x) + 1.0)  # type: ignore[no-any-return]

    sbp.gradcheck(f, {"x": x}, grad=lambda x: {"x": true})
    # (a gradient off by less than the analytic witnesses' rounding, 1e-10, passes on
    # atol, as in PyTorch; off by more, the engine says so)
    with pytest.raises(GradcheckError):
        sbp.gradcheck(f, {"x": x}, grad=lambda x: {"x": true + 1e-8})
    # a zero where differences see the slope is still found (e^x at −20)
    with pytest.raises(GradcheckError):
        sbp.gradcheck(lambda x: np.exp(x), {"x": -20.0}, grad=lambda x: {"x": 0.0})


def test_a_step_across_a_pole_is_retaken_at_the_scale_of_the_point() -> None:
    x = np.array([[1e-20], [2e-20]])
    assert sbp.derive("sum(1/x)", shapes={"x": (2, 1)}).check({"x": x}).ok
    X = np.array([[2.0, 0.5], [0.3, 1.0]]) * 1e-20
    assert sbp.derive("sum(inv(X))", shapes={"X": (2, 2)}).check({"X": X}).ok

    def f(v: np.ndarray) -> float:
        return np.sum(1.0 / v)  # type: ignore[no-any-return]

    sbp.gradcheck(f, {"v": x}, grad=lambda v: {"v": -1.0 / v**2})
    with pytest.raises(GradcheckError):
        sbp.gradcheck(f, {"v": x}, grad=lambda v: {"v": 1.0 / v**2})


def test_differences_that_never_settle_do_not_confirm_and_do_not_fail() -> None:
    report = sbp.derive("(1e12 + x) - 1e12").check({"x": 0.5})
    assert report.verdict == "NOT CONFIRMED"
    assert not report.ok
    assert _status(report, "x") == "unresolved"
    assert not report.mismatches
    assert "do not settle" in report.rows[0].note

    def f(x: float) -> float:
        return (1e12 + x) - 1e12

    with pytest.raises(GradcheckError, match="could not confirm"):
        sbp.gradcheck(f, {"x": 0.5}, grad=lambda x: {"x": 1.0})
    with pytest.raises(GradcheckError, match="failed for"):  # the engine disagrees: wrong
        sbp.gradcheck(f, {"x": 0.5}, grad=lambda x: {"x": 1.5})


def test_a_gradient_outside_a_kinks_slopes_is_plainly_wrong() -> None:
    def f(x: np.ndarray) -> float:
        return np.sum(np.where(x > 0, x, 0.1 * x))  # type: ignore[no-any-return]

    point = {"x": np.array([0.0, 1.0])}
    for wrong in (-3.0, 0.0, 1.5):
        report = sbp.gradcheck(f, point, grad=lambda x, g=wrong: {"x": np.array([g, 1.0])},
                               raise_exception=False)
        assert report is False
        with pytest.raises(GradcheckError, match="plainly wrong"):
            sbp.gradcheck(f, point, grad=lambda x, g=wrong: {"x": np.array([g, 1.0])})
    for between in (0.1, 0.3, 1.0):  # a slope, or between them: not differentiable here
        with pytest.raises(GradcheckError, match="not differentiable here") as err:
            sbp.gradcheck(f, point, grad=lambda x, g=between: {"x": np.array([g, 1.0])})
        assert "plainly wrong" not in str(err.value)


def test_a_kink_within_the_step_with_slopes_below_atol_is_named() -> None:
    report = sbp.derive("1 + w*abs(x)").check({"w": 2e-8, "x": 9e-9})
    assert _status(report, "x") == "kink"
    assert _status(report, "w") == "ok"
    assert "kink within the finite-difference step" in next(
        r.note for r in report.rows if r.name == "x")


def test_a_power_near_zero_is_named_as_written() -> None:
    note = sbp.derive("sqrt(x)").check({"x": 1e-100}).rows[0].note
    assert "sqrt at or within 1e-20 of 0" in note
    assert "pow" not in note


def test_a_mask_of_minus_1e9_over_a_whole_row_is_within_the_forward_rounding() -> None:
    # S − 1e9 rounds the scores to 1e-7: the graph and the text differ by that rounding
    # (held-out round F4: "the graph and the source disagree", every gradient unchecked)
    rng = np.random.default_rng(0)
    mask = np.zeros((1, 1, 2, 3))
    mask[..., 1, :] = -1e9
    s, r = rng.normal(size=(1, 1, 2, 3)), rng.normal(size=(1, 1, 2, 3))
    d = sbp.derive("A = softmax(S + M, axis=-1); L = sum(A * R)", wrt=["S"],
                   shapes={"S": (1, 1, 2, 3), "M": (1, 1, 2, 3), "R": (1, 1, 2, 3)})
    report = d.check({"S": s, "M": mask, "R": r})
    assert report.ok, str(report)


def test_a_point_where_the_step_rounds_to_a_wide_one_is_not_confirmed() -> None:
    # at x = 1e15 the steps eps and 10·eps both round to 0.125: no pair of steps to compare
    # (it was a MISMATCH of the right -sin(x), the chord's 0.26% off; held-out round R2)
    report = sbp.derive("cos(x)").check({"x": 1e15})
    assert report.verdict == "NOT CONFIRMED"
    assert sbp.derive("cos(x)").check({"x": 1e12}).ok


def test_neither_slope_of_a_kink_within_the_step_is_plainly_wrong() -> None:
    """Entry [0] = −3 where a kink 1e-12 away has slopes 0 and −0.78 was excused as 'not
    differentiable here' because another entry sits at a kink too (held-out round R2)."""
    def f(x: np.ndarray, c: np.ndarray, w: np.ndarray) -> np.ndarray:
        return np.sum(np.maximum(x - c - 1e-12, 0.0) * w)  # type: ignore[no-any-return]

    point = {"x": np.array([0.6, 0.1]), "c": np.array([0.6, 0.1]),
             "w": np.array([-0.78, -0.26])}
    with pytest.raises(GradcheckError, match=r"plainly wrong: yours at \[0\]") as err:
        sbp.gradcheck(f, point, grad=lambda **k: {"x": np.array([-3.0, 0.0])}, wrt=["x"])
    assert "MISMATCH" in str(err.value)
    with pytest.raises(GradcheckError, match="not differentiable here") as err:  # slopes
        sbp.gradcheck(f, point, grad=lambda **k: {"x": np.array([0.0, 0.0])}, wrt=["x"])
    assert "plainly wrong" not in str(err.value)


def test_at_a_tie_a_witness_between_the_slopes_is_not_blamed() -> None:
    """max of three equal entries: the engine's ⅓ each is a subgradient; it was called
    'plainly wrong' because finite differences (½) agreed with a user's ½ (R2)."""
    def f(x: np.ndarray) -> np.ndarray:
        return np.max(x)  # type: ignore[no-any-return]

    with pytest.raises(GradcheckError, match="not differentiable here") as err:
        sbp.gradcheck(f, {"x": np.ones(3)}, grad=lambda x: {"x": np.full(3, 0.5)})
    assert "plainly wrong" not in str(err.value)
    assert "max with a tie" in str(err.value)
    with pytest.raises(GradcheckError, match="plainly wrong: yours"):  # 2 is outside [0, 1]
        sbp.gradcheck(f, {"x": np.ones(3)}, grad=lambda x: {"x": np.full(3, 2.0)})


def test_a_small_constant_is_added_last_as_the_program_adds_it() -> None:
    """x − c + 1e-3 at x = c = 1e12: SymPy puts the constant first, and 1e-3 − c + x lost
    it to 1e12's rounding (evaluate's −1048576 where the program's gradient is −1e6;
    held-out round R2). The check's steps round up to 1e4 there, across the pole: not
    confirmed, and never 'plainly wrong' for both analytic witnesses."""
    from symbackprop.check import Engine

    d = sbp.derive("1/(x - c + 0.001)")
    point = {"x": 1e12, "c": 1e12}
    assert d.evaluate(point)["x"] == pytest.approx(-1e6, rel=1e-9)
    assert Engine(d).gradients(point)["x"] == pytest.approx(-1e6, rel=1e-9)
    report = d.check(point)
    assert report.verdict == "NOT CONFIRMED"
    assert "plainly wrong" not in str(report)
    m = sbp.derive("sum(1/(x - m + 0.001))", shapes={"x": (3, 1), "m": (3, 1)})
    big = {"x": np.full((3, 1), 1e12), "m": np.full((3, 1), 1e12)}
    np.testing.assert_allclose(m.evaluate(big)["x"], -1e6, rtol=1e-9)
    np.testing.assert_allclose(Engine(m).gradients(big)["x"], -1e6, rtol=1e-9)
