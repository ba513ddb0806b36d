"""Matrix calculus (issue 13): 1×1 results as scalars, the matrix functions, axes,
broadcasting and constants — each derivation checked three ways and its gradient compared
with the textbook (Matrix Cookbook) form symbolically, on explicit small matrices."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.functions import Item


def explicit(e: sp.Basic) -> sp.Matrix:
    """``e`` with every matrix symbol written out entry by entry (SymPy's ``as_explicit``)."""
    e = e.replace(lambda a: isinstance(a, Item), lambda a: a.args[0].as_explicit()[0, 0])
    return sp.Matrix(e.as_explicit()) if hasattr(e, "as_explicit") else sp.Matrix([[e]])


def same(a: sp.Basic, b: sp.Basic) -> bool:
    """Equal as functions of the entries (SymPy's ``simplify`` of the difference)."""
    diff = explicit(a) - explicit(b)
    return all(sp.simplify(x) == 0 for x in diff)


def sym(name: str, r: int, c: int) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, r, c)


def grad(d: sbp.Derivation, name: str) -> sp.Basic:
    return d.gradient(name)


# ---------------------------------------------------------------------------------------
# 1. A 1×1 result is a scalar


def test_a_quadratic_form_is_a_scalar_output_with_the_textbook_gradient() -> None:
    d = sbp.derive("0.5*x.T@A@x", shapes={"x": (3, 1), "A": (3, 3)})
    x, A = sym("x", 3, 1), sym("A", 3, 3)
    assert same(grad(d, "x"), sp.Rational(1, 2) * (A + A.T) * x)
    assert same(grad(d, "A"), sp.Rational(1, 2) * x * x.T)
    assert d.check().ok
    forward = d.latex(sections="forward")
    assert r"\mathbf{x}^{\top}\mathbf{A}\mathbf{x}" in forward
    assert "_{1,1}" not in forward
    assert "[" not in forward


@pytest.mark.parametrize(("text", "shapes"), [
    ("sin(x).T@y", {"x": (3, 1), "y": (3, 1)}),
    ("(x.T@y)*z", {"x": (3, 1), "y": (3, 1)}),
    ("log(x.T@x)", {"x": (3, 1)}),
    ("x.T@y/(sqrt(x.T@x)*sqrt(y.T@y))", {"x": (3, 1), "y": (3, 1)}),
    ("sum((x.T@y)@z.T)", {"x": (3, 1), "y": (3, 1), "z": (4, 1)}),
    ("u = x.T@A@y; L = u*u + u", {"x": (3, 1), "A": (3, 2), "y": (2, 1)}),
])
def test_a_one_by_one_result_is_a_scalar_wherever_one_is_meant(
        text: str, shapes: dict[str, Any]) -> None:
    d = sbp.derive(text, shapes=shapes)
    assert d.check().ok
    assert d.output.is_Symbol  # a scalar output, not a 1×1 MatrixSymbol


def test_inner_product_gradients_are_the_textbook_ones() -> None:
    x = sym("x", 3, 1)
    d = sbp.derive("log(x.T@x)", shapes={"x": (3, 1)})
    assert same(grad(d, "x"), 2 * x / (x.T * x)[0, 0])
    d = sbp.derive("sin(x).T@y", shapes={"x": (3, 1), "y": (3, 1)})
    xe = x.as_explicit()
    assert same(grad(d, "y"), sp.Matrix(3, 1, lambda i, j: sp.sin(xe[i, 0])))


def test_a_one_row_weight_matrix_keeps_its_layer_output() -> None:
    """W2 of shape (1, n) times h is the 1×1 output of a layer (loss='mse' needs it)."""
    sh = {"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (1, 3), "b2": (1, 1)}
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=sh, loss="mse")
    assert d.check().ok


def test_the_generated_code_reads_the_scalar() -> None:
    d = sbp.derive("s = x.T@y; L = s*s", shapes={"x": (3, 1), "y": (3, 1)})
    assert "(x.T @ y).item()" in d.to_python()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 1)), rng.normal(size=(3, 1))
    got = d.evaluate({"x": x, "y": y})
    np.testing.assert_allclose(got["x"], 2 * (x.T @ y).item() * y)
