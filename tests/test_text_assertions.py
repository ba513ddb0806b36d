"""What the derivation says, asserted as text (issue 20 part 10): the automatic layer names,
the δ recursion, and the type and message of error paths and of inputs exactly at a limit."""

from __future__ import annotations

import numpy as np
import pytest

import symbackprop as sbp

SH = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (4, 4), "b2": (4, 1), "W3": (2, 4),
      "b3": (2, 1)}
NET3 = "W3@tanh(W2@sigmoid(W1@x + b1) + b2) + b3"


def test_layers_are_named_z_h_o_by_layer() -> None:
    tex = sbp.derive(NET3, shapes=SH, loss="mse").latex(sections="forward")
    for row in (r"\mathbf{z}^{(1)} &= \mathbf{W}^{(1)}\mathbf{x} + \mathbf{b}^{(1)}",
                r"\mathbf{h}^{(1)} &= \sigma\left(\mathbf{z}^{(1)}\right)",
                r"\mathbf{z}^{(2)} &= \mathbf{W}^{(2)}\mathbf{h}^{(1)} + \mathbf{b}^{(2)}",
                r"\mathbf{h}^{(2)} &= \tanh\left(\mathbf{z}^{(2)}\right)",
                r"\mathbf{o} &= \mathbf{W}^{(3)}\mathbf{h}^{(2)} + \mathbf{b}^{(3)}"):
        assert row in tex


def test_the_delta_recursion_is_written_as_the_textbooks_write_it() -> None:
    tex = sbp.derive(NET3, shapes=SH, loss="mse", adjoint="delta").latex()
    assert r"\boldsymbol{\delta}^{(3)} &= \mathbf{o} - \mathbf{y}" in tex
    assert r"\delta_{\mathbf{W}^{(3)}} &= \boldsymbol{\delta}^{(3)}\mathbf{h}^{(2)\top}" in tex
    assert r"\delta_{\mathbf{h}^{(2)}} &= \mathbf{W}^{(3)\top}\boldsymbol{\delta}^{(3)}" in tex
    assert (r"\boldsymbol{\delta}^{(2)} &= \delta_{\mathbf{h}^{(2)}} \odot "
            r"\tanh'\left(\mathbf{z}^{(2)}\right)") in tex


def test_a_scalar_given_an_array_is_a_shape_error_naming_it() -> None:
    with pytest.raises(sbp.ShapeError, match=r"x must be a scalar, but the value given has shape \(3,\)"):
        sbp.derive("x*y").evaluate({"x": np.ones(3), "y": 1.0})


def test_a_one_d_value_of_a_row_is_named_in_the_shape_given() -> None:
    """A (n,) value is read as the column (n, 1); given for a row, the message says the shape
    the caller gave and how it was read (it said (4, 1); held-out round T6)."""
    d = sbp.derive("sum(W@x)", wrt="W", shapes={"W": (1, 4), "x": (4, 1)})
    with pytest.raises(sbp.ShapeError, match=r"W must be \(1, 4\), but the value given has "
                       r"shape \(4,\) \(read as the column \(n, 1\)\)"):
        d.evaluate({"W": np.ones(4), "x": np.ones(4)})
    with pytest.raises(sbp.ShapeError, match=r"W must be \(1, 4\), but the value given has "
                       r"shape \(4, 2\)$"):
        d.evaluate({"W": np.ones((4, 2)), "x": np.ones(4)})


def test_user_gradients_of_the_wrong_shape() -> None:
    W = np.arange(6.0).reshape(2, 3)
    with pytest.raises(sbp.ShapeError,
                       match=r"your gradient of W has shape \(\), expected \(2, 3\)"):
        sbp.gradcheck("sum(hadamard(W, W))", {"W": W}, grad={"W": "2"})  # text, a number
    with pytest.raises(sbp.ShapeError,
                       match=r"your gradient of W has shape \(3, 2\), expected \(2, 3\)"):
        sbp.gradcheck("sum(hadamard(W, W))", {"W": W}, grad=lambda W: {"W": (2 * W).T})
    # the same numbers in another shape are still wrong, as in torch.autograd.gradcheck: a
    # row for a column, or a column for a 1-D array, broadcasts an update w - lr*g to a matrix
    v = np.ones((3, 1))
    with pytest.raises(sbp.ShapeError, match=r"gradient of v has shape \(1, 3\), expected "
                                             r"\(3, 1\)"):
        sbp.gradcheck("sum(v*2)", {"v": v}, grad=lambda v: {"v": 2 * np.ones((1, 3))})
    assert sbp.gradcheck("sum(v*2)", {"v": v}, grad=lambda v: {"v": 2 * np.ones((3, 1))})
    w, x = np.array([1.0, 2.0, 3.0]), np.array([0.5, -1.0, 2.0])
    with pytest.raises(sbp.ShapeError, match=r"gradient of w has shape \(3, 1\), expected "
                                             r"\(3,\)"):
        sbp.gradcheck(lambda w, x: np.sum(np.sin(w * x)), {"w": w, "x": x},
                      grad=lambda w, x: {"w": (np.cos(w * x) * x).reshape(-1, 1)}, wrt="w")
    assert sbp.gradcheck(lambda w, x: np.sum(np.sin(w * x)), {"w": w, "x": x},
                         grad=lambda w, x: {"w": np.cos(w * x) * x}, wrt="w")
    # a number for a scalar input, as a float or a 0-d array
    assert sbp.gradcheck("w*x", {"w": 1.0, "x": 2.0}, grad=lambda w, x: {"w": np.float64(x)},
                         wrt="w")


@pytest.mark.parametrize(("text", "over"), [
    ("x" * 64, "x" * 65),                                # Limits.max_name_length = 64
    ("(" * 100 + "x" + ")" * 100, "(" * 101 + "x" + ")" * 101),  # Limits.max_depth = 100
    ("x**1000", "x**1001"),                              # Limits.max_exponent = 1000
    (str(2**255), str(2**256)),                          # Limits.max_int_bits = 256
])
def test_exactly_at_a_limit_is_accepted_and_one_past_it_refused(text: str, over: str) -> None:
    assert sbp.parse(text) is not None
    with pytest.raises(sbp.LimitError):
        sbp.parse(over)
