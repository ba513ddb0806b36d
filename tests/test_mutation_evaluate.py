"""Numbers from the symbolic equations (evaluate.py), asserted where the mutation run found
them untested (issue 20 part 10): the memory ``check_sizes`` counts before anything is made,
the names in its messages, and log-softmax computed as one log-sum-exp."""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.evaluate import check_sizes


def test_check_sizes_counts_every_value_and_the_largest_temporaries() -> None:
    d = sbp.derive("sum(x@x.T)", shapes={"x": (3, 1)})
    assert [(str(e.lhs), str(e.rhs)) for e in (*d.forward, *d.backward)] == [
        ("t", "x*x.T"), ("L", "sumall(t)"), ("d:L", "1"), ("d:t", "1"),
        ("d:x", "(d:t + d:t.T)*x")]
    # held: x 3, t 9, L 1, d:L 1, d:t 9, d:x 3 = 26; the largest equation's temporaries:
    # (d:t + d:t.T) 9 and its product with x 3 (a symbol is held, a transpose is a view) = 12
    assert check_sizes(d) == 26 + 12
    net = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}
    assert check_sizes(sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=net, loss="mse")) == 100


@pytest.mark.parametrize(("limit", "message"), [
    (2, "x has 3 entries, more than 2 (Limits.max_elements)"),
    (8, "t has 9 entries, more than 8 (Limits.max_elements)"),
    (37, "the derivation's values together has 38 entries, more than 37 "
         "(Limits.max_elements)"),
])
def test_check_sizes_names_what_is_too_large(limit: int, message: str) -> None:
    d = sbp.derive("sum(x@x.T)", shapes={"x": (3, 1)})
    with pytest.raises(sbp.LimitError) as e:
        check_sizes(d, limits=sbp.Limits(max_elements=limit))
    assert str(e.value) == message
    assert check_sizes(d, limits=sbp.Limits(max_elements=38)) == 38


def test_log_softmax_stays_finite_for_large_logits() -> None:
    # one equation holds log(softmax(v)): it is computed as v - logsumexp(v)
    d = sbp.derive("sum(hadamard(y, log(softmax(v))))", shapes={"y": (3, 1), "v": (3, 1)},
                   granularity="stages")
    assert [(str(e.lhs), str(e.rhs)) for e in d.forward] == [
        ("L", "sumall(HadamardProduct(y, log(softmax(v))))")]
    values = {"y": np.array([[1.0], [0.0], [0.0]]), "v": np.array([[1000.0], [0.0], [-1000.0]])}
    np.testing.assert_array_equal(d.evaluate(values)["y"], [[0.0], [-1000.0], [-2000.0]])
    assert d.trace(values)["L"].value == 0.0


def test_trace_rows_are_frozen() -> None:
    from dataclasses import FrozenInstanceError

    row = sbp.derive("x*y").trace({"x": 2.0, "y": 3.0})["x"]
    assert (row.name, float(row.value), float(row.adjoint)) == ("x", 2.0, 3.0)
    with pytest.raises(FrozenInstanceError):
        row.value = 5.0  # type: ignore[misc]


def test_a_term_larger_than_its_equation_is_named() -> None:
    # one stage: L = sum(x x^T) holds a 3x3 term though L is a number
    d = sbp.derive("sum(x@x.T)", shapes={"x": (3, 1)}, granularity="stages")
    assert [(str(e.lhs), str(e.rhs)) for e in d.forward] == [("L", "sumall(x*x.T)")]
    with pytest.raises(sbp.LimitError) as e:
        check_sizes(d, limits=sbp.Limits(max_elements=8))
    assert str(e.value) == "a term of the equation of L has 9 entries, more than 8 " \
                           "(Limits.max_elements)"
    assert check_sizes(d, limits=sbp.Limits(max_elements=20)) == 20


def test_a_reshape_to_symbolic_sizes_is_bound_when_run() -> None:
    d = sbp.derive("sum(reshape(X, (-1, 1))**2)", shapes={"X": ("n", "m")})
    assert str(d.forward[0].rhs) == "reshape(X, (-1, 1))"
    X = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(d.evaluate({"X": X})["X"], 2 * X)
    np.testing.assert_array_equal(d.evaluate({"X": X.T})["X"], 2 * X.T)
