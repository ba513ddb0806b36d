"""The check's report (check/compare.py), asserted where the mutation run found it untested
(issue 20 part 10): whole reports and gradcheck messages, the random values a check draws,
and the edge cases of its tolerances (zero tolerances, an input SymPy cancelled)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.check.points import random_values

NET = "W2@sigmoid(W1@x + b1) + b2"
SYMBOLIC = {"W1": ("m", "n"), "x": ("n", 1), "b1": ("m", 1), "W2": ("k", "m"), "b2": ("k", 1)}


def gradcheck_message(f: object, inputs: dict[str, Any], grad: object, **kw: Any) -> str:
    with pytest.raises(sbp.GradcheckError) as e:
        sbp.gradcheck(f, inputs, grad, **kw)
    return str(e.value)


def test_two_kinks_where_a_gradient_disagrees() -> None:
    assert gradcheck_message("relu(x) + abs(x)*y", {"x": 0.0, "y": 1.0}, {"x": "5"}) == """\
gradcheck failed for x (your gradient vs engine, finite differences; eps=1e-06, atol=1e-05, rtol=0.001)
parameter  shape   max abs error  max rel error  verdict
---------  ------  -------------  -------------  -------
x          scalar  5              1              MISMATCH: yours disagrees (plainly wrong: yours at [·]; yours is 5 at [·], outside the slopes -1 on the left and 2 on the right: neither slope of the kink, nor between)

parameter  index  yours  engine  finite differences
x          ·      5      0       0.5
finite differences and the forward value are of the text as written"""
    # between the slopes −1 and 2 (a subgradient, or a convention): not differentiable here
    assert gradcheck_message("relu(x) + abs(x)*y", {"x": 0.0, "y": 1.0}, {"x": "1"}) == """\
gradcheck failed for x (your gradient vs engine, finite differences; eps=1e-06, atol=1e-05, rtol=0.001)
parameter  shape   max abs error  max rel error  verdict
---------  ------  -------------  -------------  -------
x          scalar  1              1              not differentiable here: yours, engine and finite differences disagree (ReLU at 0 in t_1; abs at 0 in t_2)

parameter  index  yours  engine  finite differences
x          ·      1      0       0.5
finite differences and the forward value are of the text as written"""
    # where every witness agrees at the kinks, the row is ok and names them (ReLU′(0) is 0,
    # as PyTorch's, where central differences say ½: at ReLU's kink they never agree)
    report = sbp.derive("max(x, v) + abs(x)*y").check({"x": 0.0, "y": 1.0, "v": 0.0})
    assert report.ok
    assert report["x"].note == "agree at max with a tie in t_1 and abs at 0 in t_2"


def test_only_the_entries_that_disagree_are_listed() -> None:
    C = np.zeros((2, 2))
    C[0, 0] = 1.0  # W's gradient is C: three entries exactly 0 for every witness
    message = gradcheck_message("sum(hadamard(W, C))", {"W": np.ones((2, 2)), "C": C},
                                lambda W, C: {"W": 2 * C}, atol=0, rtol=0, wrt="W")
    assert message.splitlines()[-3:] == [
        "parameter  index  yours  engine  finite differences",
        "W          0, 0   2      1       1",
        "finite differences and the forward value are of the text as written"]


def test_at_most_three_finite_difference_notes_per_row() -> None:
    report = sbp.derive("sum(sqrt(X))", shapes={"X": (2, 3)}).check({"X": np.full((2, 3), 1e-9)})
    assert report.ok
    note = "finite differences at X[0, {}]: step 1e-15 (the function is undefined a step away)"
    assert report["X"].note == "; ".join(note.format(k) for k in range(3))


def test_a_non_finite_input_is_reported_with_every_shape() -> None:
    d = sbp.derive("x*y + sum(X)", shapes={"X": (2, 3)})
    report = d.check({"x": np.nan, "y": 1.0, "X": np.ones((2, 3))})
    assert not report.ok
    assert [(r.name, r.shape, r.status) for r in report.rows] == [
        ("x", None, "nonfinite"), ("y", None, "nonfinite"), ("X", (2, 3), "nonfinite")]
    assert str(report).splitlines()[3:6] == [
        "x          scalar  nan            nan            input not finite (input x is not finite)",
        "y          scalar  nan            nan            input not finite (input x is not finite)",
        "X          (2, 3)  nan            nan            input not finite (input x is not finite)"]


def test_an_input_sympy_cancelled_passes_with_zero_tolerances() -> None:
    d = sbp.derive("x - x + y")
    assert [str(s) for s in d.graph.inputs] == ["y"]
    assert d.check({"x": 1.0, "y": 2.0}, atol=0.0, rtol=0.0).ok
    assert d.check(atol=0.0, rtol=0.0).ok  # x drawn at random for the source alone


def test_random_values_sizes_signs_and_scales() -> None:
    d = sbp.derive(NET, shapes=SYMBOLIC, loss="mse")
    draws = [random_values(d, 0, attempt) for attempt in range(4)]
    # symbolic dimensions get 3, 2, 4, ... in order of first appearance (m, n, k)
    assert {k: np.shape(v) for k, v in draws[0].items()} == {
        "W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (4, 3), "b2": (4, 1), "y": (4, 1)}
    for attempt, values in enumerate(draws):
        everything = np.concatenate([np.ravel(v) for v in values.values()])
        signed = attempt % 2 == 0  # even attempts: either sign; odd ones: positive
        assert bool(np.any(everything < 0)) == signed, attempt
        assert np.all(np.abs(everything) >= 0.3 / np.sqrt(3))
        assert np.all(np.abs(everything) <= 1.3)
    # a matrix multiplying from the left is scaled by 1/sqrt(its columns)
    w = random_values(sbp.derive("sum(W@x)", shapes={"W": (3, 2), "x": (2, 1)}), 0, 1)["W"]
    assert np.abs(w).max() <= 1.3 / np.sqrt(2)
    assert np.abs(w).min() >= 0.3 / np.sqrt(2)
    assert np.abs(w).max() > 1.3 / 2  # divided by sqrt(2), not by more


def test_among_noisy_finite_differences_only_the_wrong_entry_is_listed() -> None:
    W = np.array([[0.37, 0.74], [1.11, 1.48]])  # finite differences carry round-off here

    def grad(W: np.ndarray) -> dict[str, np.ndarray]:
        G = 2 * W.copy()
        G[1, 1] += 0.5
        return {"W": G}

    assert gradcheck_message("sum(hadamard(W, W))", {"W": W}, grad).splitlines()[-3:] == [
        "parameter  index  yours  engine  finite differences",
        "W          1, 1   3.46   2.96    2.96",
        "finite differences and the forward value are of the text as written"]


def test_random_values_are_seeded_and_redrawn_off_the_domain() -> None:
    d = sbp.derive("log(x) + log(y)")
    assert d.check().values == d.check(seed=0).values != d.check(seed=1).values
    once = d.check(seed=0, attempts=1)  # the first draw has y < 0
    assert not once.ok
    assert [r.verdict for r in once.rows] == ["undefined here (log of a negative number in t_2)"] * 2
    assert once.values["y"] < 0
    again = d.check(seed=0)  # later attempts draw positive values
    assert again.ok
    assert again.values["x"] > 0
    assert again.values["y"] > 0


def test_an_input_the_graph_lost_keeps_the_value_given() -> None:
    import sympy as sp

    from symbackprop.builder import Equation
    from symbackprop.derive import Derivation
    from symbackprop.graph import Graph

    # a wrong graph, made on purpose: it lost x**2
    g = Graph((Equation(sp.Symbol("z", real=True), sp.Symbol("y", real=True)),))
    d = Derivation(g, list(g.inputs), sbp.derive("x**2 + y").options, source="x**2 + y")
    report = d.check({"x": 3.0, "y": 1.0})
    assert not report.ok
    assert report.failures == ("the graph and the source disagree: the text as written gives "
                               "10.0 at this point, the graph 1.0",)


def test_random_values_for_a_function_have_its_numpy_shapes() -> None:
    def f(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.sum(np.tanh(x) * y)

    d = sbp.derive(f, shapes={"x": (3,), "y": (3,)})
    report = d.check()
    assert report.ok
    assert {k: np.shape(v) for k, v in report.values.items()} == {"x": (3,), "y": (3,)}


def test_a_derivation_without_a_source_is_checked_against_its_graph() -> None:
    from symbackprop.check.compare import check
    from symbackprop.derive import Derivation

    d = sbp.derive("x*y + sin(x)")
    bare = Derivation(d.graph, list(d.wrt), d.options)
    report = bare.check()
    assert report.ok
    assert report.notes == ("finite differences are of the graph (the source is not known)",)
    assert check(d).values == d.check().values == d.check(seed=0).values  # seed 0 by default


def test_inputs_the_graph_lost_keep_their_shapes_for_the_source() -> None:
    # SymPy cancels sum(X@v) - sum(X@v): the graph reads c only; the text still multiplies
    d = sbp.derive("sum(X@v) - sum(X@v) + c", shapes={"X": (2, 3), "v": (3, 1)})
    assert [str(s) for s in d.graph.inputs] == ["c"]
    # a matrix given is kept as it is; a 1-D vector for text is a column
    given = {"X": np.arange(6.0).reshape(2, 3), "v": np.array([1.0, 2.0, 3.0]), "c": 0.5}
    report = d.check(given)
    assert report.ok
    assert report.failures == ()
    # drawn at random: each with the shape the text gives it
    drawn = d.check()
    assert drawn.ok
    assert drawn.failures == ()


def test_random_values_by_default_are_the_first_attempt() -> None:
    d = sbp.derive(NET, shapes=SYMBOLIC, loss="mse")
    first, second = random_values(d, 0, 0), random_values(d, 0, 1)
    default = random_values(d)
    assert default.keys() == first.keys()
    for k in first:
        np.testing.assert_array_equal(default[k], first[k])
    assert not all(np.array_equal(first[k], second[k]) for k in first)
