"""The operations and their shape rules (ops.py), asserted where the mutation run found them
untested (issue 20 part 10): the messages of shape errors, element-wise division and
products with NumPy's broadcasting, and a function applied to a negated argument."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop import ops
from symbackprop.builder import Builder

S = {"X": (3, 2), "v": (3, 1), "r": (1, 2), "a": (1, 1), "W": (2, 3), "u": (3, 1), "s": None}


def forward(text: str) -> list[tuple[str, str]]:
    return [(str(e.lhs), str(e.rhs)) for e in sbp.derive(text, shapes=S).forward]


@pytest.mark.parametrize(("op", "right", "message"), [
    (ops.add, "u", r"^a \+ b: \(2, 3\) \+ \(3, 1\)$"),
    (lambda b, x, y: ops.add_many(b, [(1, x), (-1, y)]), "u", r"^a \+ b: \(2, 3\) - \(3, 1\)$"),
    (ops.sub, "u", r"^a - b: \(2, 3\) - \(3, 1\)$"),
    (ops.hadamard, "u", r"^hadamard\(a, b\): \(2, 3\) ⊙ \(3, 1\)$"),
    (ops.mul, "v", r"^a \* b: \(2, 3\) @ \(2, 1\)$"),
    (ops.matmul, "v", r"^a @ b: \(2, 3\) @ \(2, 1\)$"),
])
def test_each_operation_names_itself_when_called_without_a_source(op: Callable[..., object],
                                                                   right: str,
                                                                   message: str) -> None:
    b = Builder({"W": (2, 3), "u": (3, 1), "v": (2, 1)})
    with pytest.raises(sbp.ShapeError, match=message):
        op(b, b.lookup("W"), b.lookup(right))


def test_a_matrix_product_of_equal_shapes_suggests_hadamard() -> None:
    with pytest.raises(sbp.ShapeError, match=r"^W@W: \(2, 3\) @ \(2, 3\) \(for the element-wise "
                                             r"product write hadamard\(a, b\)\)$"):
        sbp.parse("W@W", shapes=S)
    with pytest.raises(sbp.ShapeError, match=r"^W@v: \(2, 3\) @ \(2, 1\)$"):
        sbp.parse("W@v", shapes={"W": (2, 3), "v": (2, 1)})
    with pytest.raises(sbp.ShapeError, match=r"^sum\(X, axis=0\)@sum\(X, axis=1\)\.T: \(1, 2\) "
                                             r"@ \(1, 3\)$"):
        sbp.parse("sum(X, axis=0)@sum(X, axis=1).T", shapes=S)


def test_a_number_times_a_matrix_is_a_node() -> None:
    assert forward("sum(tanh(X)*3)") == [("h", "tanh(X)"), ("t", "3*h"), ("L", "sumall(t)")]


def test_zeros_takes_two_sizes() -> None:
    assert forward("sum(zeros(3, 2) + X)") == [("t", "X + 0"), ("L", "sumall(t)")]


@pytest.mark.parametrize(("text", "grads"), [
    # X / v: the column v spreads over the columns of X; X / r: the row over the rows
    ("sum(X / v)", {"v": [[-3.0], [-1.75], [-11 / 9]],
                    "X": [[1.0, 1.0], [0.5, 0.5], [1 / 3, 1 / 3]]}),
    ("sum(X / r)", {"r": [[-9.0, -3.0]], "X": [[1.0, 0.5], [1.0, 0.5], [1.0, 0.5]]}),
    ("sum(v / X)", {"v": [[1.5], [7 / 12], [11 / 30]],
                    "X": [[-1.0, -0.25], [-2 / 9, -1 / 8], [-3 / 25, -1 / 12]]}),
    ("sum(X / a)", {"a": [[-21 / 4]], "X": np.full((3, 2), 0.5).tolist()}),
])
def test_element_wise_division_broadcasts(text: str, grads: dict[str, list[list[float]]]) -> None:
    values = {k: np.arange(1.0, 1 + np.prod(sh)).reshape(sh) for k, sh in S.items() if sh}
    values["a"] = np.array([[2.0]])
    d = sbp.derive(text, shapes=S)
    got = d.evaluate({str(s): values[str(s)] for s in d.graph.inputs})
    assert set(got) == set(grads)
    for k, g in grads.items():
        np.testing.assert_allclose(got[k], g, rtol=1e-12)


def test_a_matrix_divided_by_a_one_by_one_is_scaled() -> None:
    assert forward("sum(X / a)") == [("t", "1/a*X"), ("L", "sumall(t)")]
    assert forward("sum(hadamard(X, s))") == [("t_1", "s*1"), ("t_2", "HadamardProduct(X, t_1)"),
                                              ("L", "sumall(t_2)")]


@pytest.mark.parametrize(("text", "rhs"), [
    ("sin(-x)", "-sin(x)"), ("cos(-x)", "cos(x)"), ("abs(-x)", "Abs(x)"),
    ("tanh(-x)", "-tanh(x)"), ("max(-x, 2)", "Max(2, -x)")])
def test_a_function_of_a_negated_argument_is_simplified_by_sympy(text: str, rhs: str) -> None:
    assert forward(text) == [("z", rhs)]


def test_a_factor_of_zero_is_no_division_by_zero() -> None:
    a = sp.Symbol("a", real=True)
    assert sbp.parse("a*0*c") == 0
    assert sbp.parse("0*a/c") == 0
    assert sbp.parse("a/c*c") == a
    with pytest.raises(sbp.ShapeError, match=r"^a/0: division by zero$"):
        sbp.parse("a/0")


def test_a_matrix_power_up_to_32_is_products() -> None:
    d = sbp.derive("sum(A^32)", shapes={"A": (2, 2)})
    assert len(d.forward) == 32  # 31 products and the sum
    assert str(d.forward[-2].rhs) == "t_30*A"
    for k in (33, -33):
        with pytest.raises(sbp.UnsupportedError,
                           match=rf"^A\*\*{k}: a matrix power above 32 in size$"):
            sbp.parse(f"sum(A^{k})", shapes={"A": (2, 2)})
    assert str(sbp.parse("sum(A^1)", shapes={"A": (2, 2)})) == "sumall(A)"
    assert str(sbp.parse("sum(A^0)", shapes={"A": (2, 2)})) == "sumall(I)"  # the identity
    d = sbp.derive("sum(A^0 @ A) + sum(A^-2)", shapes={"A": (2, 2)})
    assert d.check().ok
    with pytest.raises(sbp.UnsupportedError, match=r"^A\*\*0.5: the power 0.5 of a square "
                                                   r"matrix is not read"):
        sbp.parse("sum(A^0.5)", shapes={"A": (2, 2)})
