"""Reading primitives and their partials (recognise.py), asserted where the mutation run
found it untested (issue 20 part 10): a negated operand's Jacobian, the message for an
unknown SymPy function, partials written in the node's output, and the power x**y at 0."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp


def test_a_subtracted_vector_has_jacobian_minus_identity() -> None:
    d = sbp.derive("sum(relu(A@x - v))", shapes={"A": (3, 3), "x": (3, 1), "v": (3, 1)},
                   wrt="v")
    assert (r"\nabla_{\mathbf{v}} \mathbf{z} = -\mathbf{I}, \quad \nabla_{\mathbf{z}} "
            r"\mathbf{h} = \operatorname{diag}\left(\operatorname{ReLU}'\left(\mathbf{z}"
            r"\right)\right) \\") in d.latex(sections="chain")


def test_an_unknown_sympy_function_is_named_with_its_call() -> None:
    with pytest.raises(sbp.UnsupportedError, match=r"^no rule for 'f' \(in f\(x\)\)$"):
        sbp.derive(sp.Function("f")(sp.Symbol("x")))


@pytest.mark.parametrize(("text", "product"), [
    ("exp(x)*exp(x)", r"2 t \cdot t = 2 e^{2 x}"),  # exp' is exp: its output
    ("sqrt(x*x + y*y)", r"\frac{1}{2 z} \cdot 1 \cdot 2 x"),         # sqrt' = 1/(2 sqrt)
])
def test_partials_reuse_the_output_of_their_node(text: str, product: str) -> None:
    assert product in sbp.derive(text).latex()


def test_the_partial_of_x_to_the_y_is_defined_at_zero() -> None:
    d = sbp.derive("x**y")
    assert r"\frac{\partial z}{\partial x} &= x^{y - 1} y" \
        in d.latex()
    # SymPy's own x**y*y/x is 0/0 there
    assert d.evaluate({"x": 0.0, "y": 2.0})["x"] == 0.0
    np.testing.assert_allclose(d.evaluate({"x": 3.0, "y": 2.0})["x"], 6.0)


def test_a_scaled_matrix_keeps_its_coefficient_in_the_jacobian() -> None:
    S = {"A": (3, 3), "B": (3, 3), "x": (3, 1), "v": (3, 1)}
    tex = sbp.derive("sum(relu(2*A@x - v))", shapes=S, wrt="x").latex(sections="chain")
    assert r"\quad \nabla_{\mathbf{x}} \mathbf{z} = 2\,\mathbf{A}^{\top}, \quad " in tex
    tex = sbp.derive("sum(A@x*2 + B@x*3 - v)", shapes=S, wrt="x",
                     layout="numerator").latex(sections="chain")
    assert (r"\frac{\partial \mathbf{t}}{\partial \mathbf{x}} = 3\,\mathbf{B} + 2\,\mathbf{A} "
            r"\\") in tex


@pytest.mark.parametrize(("text", "partial"), [
    ("1/x", r"- \frac{1}{x^{2}}"),            # not -z^2: only sqrt reuses its output
    ("x**(-0.5)", r"- \frac{0.5}{x^{1.5}}"),
    ("sqrt(x)", r"\frac{1}{2 z} = \frac{1}{2 \sqrt{x}}"),
])
def test_a_power_reuses_its_output_only_for_a_square_root(text: str, partial: str) -> None:
    assert sbp.derive(text).latex(sections="chain").splitlines()[1] == (
        r"  \frac{\partial z}{\partial x} &= " + partial)
