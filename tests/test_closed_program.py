"""The closed forms compiled as one program (``closed_program.py``): a repeated call with
values like the last checked ones skips the checks, anything else is checked again; numbers
applied once; a derivative reading the output already computed; values dropped after their
last use. Every path is compared with the numbers written by hand."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp
from sympy import MatAdd, MatMul, MatrixSymbol, Transpose

import symbackprop as sbp
from symbackprop.closed_program import factored
from symbackprop.errors import ShapeError
from symbackprop.functions import DiagJacobian, Elementwise, ElementwiseDerivative
from symbackprop.jacobians import _closed_plan
from symbackprop.primitive_numpy import np_sigmoid, np_sigmoid_prime
from symbackprop.programs import Diag, Steps, _sum, compile_expr

RNG = np.random.default_rng(7)


def _sig(z: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-z))


def _logistic(m: str | int = "m") -> Any:
    return sbp.hessian("sum(softplus(-hadamard(y, X@w)))", wrt="w",
                       shapes={"X": (m, 3), "w": (3, 1), "y": (m, 1)})


def _logistic_values(m: int) -> dict[str, Any]:
    return {"X": RNG.normal(size=(m, 3)), "w": RNG.normal(size=(3, 1)),
            "y": RNG.choice([-1.0, 1.0], size=(m, 1))}


def _logistic_hand(v: dict[str, Any]) -> Any:
    s = _sig((v["y"] * (v["X"] @ v["w"]))[:, 0])
    return (v["X"].T * (s * (1 - s))) @ v["X"]


def test_a_repeated_call_skips_the_checks_and_a_new_shape_is_checked_again() -> None:
    h = _logistic()
    plan = _closed_plan(h)
    assert plan is not None
    v = _logistic_values(20)
    assert plan._seen(v) is None  # nothing checked yet
    np.testing.assert_allclose(h.evaluate(v)["w"], _logistic_hand(v), rtol=1e-12)
    assert plan._seen(v) is not None  # the same signature: the checks' outcome is known
    v2 = {**v, "X": v["X"] + 0.5, "w": -v["w"]}  # new numbers, same shapes: the fast path
    np.testing.assert_allclose(h.evaluate(v2)["w"], _logistic_hand(v2), rtol=1e-12)
    w = _logistic_values(35)  # m changes: checked, and bound again
    assert plan._seen(w) is None
    np.testing.assert_allclose(h.evaluate(w)["w"], _logistic_hand(w), rtol=1e-12)
    np.testing.assert_allclose(h.evaluate(v)["w"], _logistic_hand(v), rtol=1e-12)


@pytest.mark.parametrize(("change", "error", "message"), [
    (lambda v: {k: a for k, a in v.items() if k != "y"}, ValueError, "no value for y"),
    (lambda v: {**v, "w": np.ones((4, 1))}, ShapeError, r"w must be \(3, 1\)"),
    (lambda v: {**v, "X": v["X"][:10]}, ShapeError, "dimension m is"),
    (lambda v: {**v, sp.Symbol("w"): v["w"]}, ValueError, "w twice"),
    (lambda v: {**v, "w": "1"}, TypeError, "a string"),
    (lambda v: {**v, "w": np.ones((3, 1), dtype=complex)}, TypeError, "complex"),
])
def test_values_unlike_the_checked_ones_are_checked(change: Any, error: type[Exception],
                                                    message: str) -> None:
    """After a call has made the fast path ready, each wrong value is still refused with the
    message of the checked path: nothing skips a check it needs."""
    h = _logistic()
    v = _logistic_values(20)
    h.evaluate(v)
    with pytest.raises(error, match=message):
        h.evaluate(change(v))


@pytest.mark.parametrize("change", [
    lambda v: {**v, "w": v["w"].tolist()},  # a list
    lambda v: {**v, "y": v["y"].astype(int)},  # integers
    lambda v: {**v, "w": v["w"][:, 0]},  # a vector as (n,)
    lambda v: {**v, "X": np.asfortranarray(v["X"])},  # another memory order
    lambda v: {**v, "unused": 1.0},  # a name the expression does not read
    lambda v: {sp.Symbol(k): a for k, a in v.items()},  # symbols as keys
])
def test_values_given_another_way_have_the_same_hessian(change: Any) -> None:
    h = _logistic()
    v = _logistic_values(20)
    want = _logistic_hand(v)
    h.evaluate(v)
    for _ in range(2):  # the first call checks it; the second may take the fast path
        np.testing.assert_allclose(h.evaluate(change(v))["w"], want, rtol=1e-12)
    np.testing.assert_allclose(h.evaluate(v)["w"], want, rtol=1e-12)


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_repeated_calls_never_write_an_input_or_hand_back_a_view_of_one(layout: str) -> None:
    A, x = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 1))
    keep = A.copy()
    d = sbp.derive("A@x", wrt="x", shapes={"A": (4, 3), "x": (3, 1)},
                   layout=layout)  # type: ignore[arg-type]
    for _ in range(3):
        J = d.evaluate({"A": A, "x": x})["x"]
        assert J.flags.writeable
        assert not np.may_share_memory(J, A)
        J[...] = 0.0
        np.testing.assert_array_equal(A, keep)
    assert A.flags.writeable  # the caller's array keeps its own flags


def test_a_scalar_input_and_an_assumption_are_checked_on_every_call() -> None:
    """A value SymPy assumed something of is checked every time (no fast path)."""
    c = sp.Symbol("c", positive=True)
    h = sbp.hessian(c * sbp.parse("sum(tanh(W@x))", shapes={"W": (2, 2), "x": (2, 1)}),
                    wrt="x")
    W, x = RNG.normal(size=(2, 2)), RNG.normal(size=(2, 1))
    t = np.tanh(W @ x)[:, 0]
    want = (W.T * (-2 * t * (1 - t * t))) @ W
    for _ in range(2):
        np.testing.assert_allclose(h.evaluate({"c": 3.0, "W": W, "x": x})["x"], 3 * want,
                                   rtol=1e-12)
    with pytest.raises(ValueError, match="declared positive"):
        h.evaluate({"c": -3.0, "W": W, "x": x})


def test_cross_entropy_targets_are_checked_on_every_call() -> None:
    h = sbp.hessian("cross_entropy(W@x, y)", wrt="x",
                    shapes={"x": (3, 1), "W": (3, 3), "y": (3, 1)})
    v = {"x": RNG.normal(size=(3, 1)), "W": RNG.normal(size=(3, 3)),
         "y": np.array([[0.0], [1.0], [0.0]])}
    h.evaluate(v)
    h.evaluate(v)
    with pytest.raises(ValueError, match="must sum to 1"):
        h.evaluate({**v, "y": np.array([[0.2], [0.3], [0.9]])})


def test_shared_nodes_and_dropped_values_give_the_hand_hessian() -> None:
    """Two terms read the same W@x; each value is dropped after its last reader, never
    before: Wᵀ diag(tanh″(z) + σ″(z)) W, at several points with the same program."""
    h = sbp.hessian("sum(tanh(W@x)) + sum(sigmoid(W@x)) + 0.5*x.T@A@x", wrt="x",
                    shapes={"W": (4, 4), "x": (4, 1), "A": (4, 4)})
    for _ in range(3):
        W, x, A = (RNG.normal(size=s) for s in ((4, 4), (4, 1), (4, 4)))
        z = (W @ x)[:, 0]
        t, s = np.tanh(z), _sig(z)
        want = (W.T * (-2 * t * (1 - t * t) + s * (1 - s) * (1 - 2 * s))) @ W + 0.5 * (A + A.T)
        np.testing.assert_allclose(h.evaluate({"W": W, "x": x, "A": A})["x"], want,
                                   rtol=1e-10, atol=1e-12)


def _run(e: sp.Basic, values: dict[sp.Basic, Any]) -> Any:
    out = compile_expr(e)(values)
    return out.dense() if isinstance(out, Diag) else out


def _numbers(e: sp.Basic) -> int:
    """The numbers a product scales by (the scalings done when evaluated)."""
    return sum(1 for n in sp.preorder_traversal(e) if isinstance(n, MatMul)
               for a in n.args if a.is_Number)


def test_numbers_are_applied_once_and_the_value_is_kept() -> None:
    A, B, C, W = (MatrixSymbol(k, 3, 3) for k in "ABCW")
    v = MatrixSymbol("v", 3, 1)
    values = {s: RNG.normal(size=s.shape) for s in (A, B, C, W, v)}
    shared = MatAdd(MatMul(sp.Float(0.5), A), MatMul(sp.Float(0.5), B), C)
    inside = MatMul(-1, W.T, DiagJacobian(MatMul(2, v)), W)
    for e in (shared, inside, MatAdd(shared, inside)):
        f = factored(e)
        np.testing.assert_allclose(_run(f, values), _run(e, values), rtol=1e-12)
    assert _numbers(factored(shared)) == 1  # 0.5 (A + B) + C
    assert _numbers(factored(inside)) == 1  # −2 Wᵀ diag(v) W
    plain = MatAdd(MatMul(sp.Float(0.5), A), MatMul(2, B))
    assert factored(plain) == plain  # nothing shared: unchanged


def test_a_derivative_reads_the_output_computed_before() -> None:
    """tanh′(z) = 1 − h² from h = tanh(z) at its position, not tanh computed again."""
    z = MatrixSymbol("z", 4, 1)
    steps: list[Any] = []
    s = Steps(steps, (z,))
    h = s.add(Elementwise("tanh", z))
    d = s.add(ElementwiseDerivative("tanh", z))
    assert s.reads[-1] == (0, h)
    vals = [RNG.normal(size=(4, 1))]
    for step in steps:
        vals.append(step(vals, {}))
    np.testing.assert_allclose(vals[d - s.first + 1], 1 - np.tanh(vals[0]) ** 2, rtol=1e-14)
    alone: list[Any] = []
    s2 = Steps(alone, (z,))
    s2.add(ElementwiseDerivative("tanh", z))  # no h: computed from z
    assert s2.reads == [(0,)]


def test_sigmoid_prime_is_sigma_times_one_minus_sigma_without_overflow() -> None:
    """Against σ(1 − σ) in 50 digits (in floats, 1 − σ cancels for x > 0, the form
    e^{-|x|}/(1 + e^{-|x|})² does not)."""
    import mpmath

    x = np.linspace(-30, 30, 601)
    with mpmath.workdps(50):
        want = [float(mpmath.mpf(1) / (1 + mpmath.exp(-t)) * (1 - 1 / (1 + mpmath.exp(-t))))
                for t in x]
    np.testing.assert_allclose(np_sigmoid_prime(x), want, rtol=1e-13)
    s = np_sigmoid(x[x <= 0])
    np.testing.assert_allclose(np_sigmoid_prime(x[x <= 0]), s * (1 - s), rtol=1e-13)
    with np.errstate(over="raise", invalid="raise"):  # no overflow: e^{-|x|} only
        far = np_sigmoid_prime(np.array([-800.0, 800.0, -np.inf, np.inf]))
    np.testing.assert_array_equal(far, 0.0)
    assert np_sigmoid_prime(np.array([-40.0]))[0] == pytest.approx(np.exp(-40.0), rel=1e-12)


def test_a_sandwich_whose_operand_is_a_diagonal_takes_the_general_product() -> None:
    u, v = MatrixSymbol("u", 3, 1), MatrixSymbol("v", 3, 1)
    A = MatrixSymbol("A", 3, 3)
    e = MatMul(2, Transpose(DiagJacobian(u)), DiagJacobian(v), A)  # Diag ⋅ Diag ⋅ A
    values = {u: RNG.normal(size=(3, 1)), v: RNG.normal(size=(3, 1)),
              A: RNG.normal(size=(3, 3))}
    want = 2 * np.diagflat(values[u]) @ np.diagflat(values[v]) @ values[A]
    np.testing.assert_allclose(_run(e, values), want, rtol=1e-12)


def test_a_sum_of_many_terms_leaves_its_operands_alone() -> None:
    a, b, c = (RNG.normal(size=(3, 3)) for _ in range(3))
    keep = [a.copy(), b.copy(), c.copy()]
    np.testing.assert_allclose(_sum(a, b, c, a), 2 * a + b + c, rtol=1e-14)
    for x, k in zip((a, b, c), keep, strict=True):
        np.testing.assert_array_equal(x, k)
    np.testing.assert_allclose(_sum(1.0, 2.0, a), 3.0 + a)  # a number grows to a matrix
    np.testing.assert_allclose(_sum(np.ones((3, 1)), np.ones((1, 3)), a), 2.0 + a)
    np.testing.assert_allclose(_sum(Diag(np.ones(3)), a, Diag(np.ones(3))), a + 2 * np.eye(3))
