"""Jacobians of non-scalar outputs (``jacobians.py``): closed matrix forms where the local
Jacobians have one, numbers by forward or reverse sweeps (whichever is fewer), vec column by
column, against Jacobians by central differences and by hand written here; check(), the
formats and the generated vector-Jacobian product."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok, need_katex

import symbackprop as sbp
from symbackprop.jacobians import jacobian_values

RNG = np.random.default_rng(11)


def _fd_jacobian(d: sbp.Derivation, values: dict[str, Any], name: str,
                 h: float = 1e-6) -> np.ndarray:
    """∂vec(y)/∂vec(v) by central differences of the derivation's forward values (vec
    column by column), numerator layout."""
    base = np.asarray(values[name], dtype=float)
    cols = []
    for j in range(base.size):
        e = np.zeros(base.size)
        e[j] = h
        step = e.reshape(base.shape, order="F") if base.ndim else e[0]
        hi = d.trace({**values, name: base + step}).rows[-1].value
        lo = d.trace({**values, name: base - step}).rows[-1].value
        cols.append(np.ravel((np.asarray(hi) - np.asarray(lo)) / (2 * h), order="F"))
    return np.stack(cols, axis=1)


def test_a_exp_x_is_a_diag_exp_x() -> None:
    A, x = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 1))
    d = sbp.derive("A@exp(x)", wrt="x", shapes={"A": (4, 3), "x": (3, 1)}, layout="numerator")
    assert d.is_jacobian
    assert d.sweeps({"A": A, "x": x}) == ("closed form", 1)
    J = d.evaluate({"A": A, "x": x})["x"]
    np.testing.assert_allclose(J, A @ np.diag(np.exp(x[:, 0])), rtol=1e-12)
    for method in ("forward", "reverse"):  # the sweeps give the same numbers
        swept = jacobian_values(d, {"A": A, "x": x}, method=method)["x"]  # type: ignore[arg-type]
        np.testing.assert_allclose(swept, J, rtol=1e-12)
    tex = d.latex()
    assert r"\frac{\partial \mathbf{L}}{\partial \mathbf{x}} & = \frac{\partial \mathbf{L}}" \
        r"{\partial \mathbf{h}}\frac{\partial \mathbf{h}}{\partial \mathbf{x}} = \mathbf{A}" \
        r"\operatorname{diag}\left(\exp'\left(\mathbf{x}\right)\right)" in tex
    assert r"\text{numbers: the closed form, evaluated once}" in tex
    assert_latex_ok([tex])
    den = sbp.derive("A@exp(x)", wrt="x", shapes={"A": (4, 3), "x": (3, 1)})
    np.testing.assert_allclose(den.evaluate({"A": A, "x": x})["x"], J.T)  # the transpose
    assert r"\operatorname{diag}\left(\exp'\left(\mathbf{x}\right)\right)\mathbf{A}^{\top}" \
        in den.latex()


SHAPES = {"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (2, 3), "b2": (2, 1)}
NET = "W2@sigmoid(W1@x + b1) + b2"


@pytest.mark.parametrize("wrt", [["x"], ["x", "W1"], ["W2", "b1"]])
def test_a_layer_s_jacobians_by_either_sweep_match_central_differences(wrt: list[str]) -> None:
    values = {k: RNG.normal(size=s) for k, s in SHAPES.items()}
    d = sbp.derive(NET, wrt=wrt, shapes=SHAPES, layout="numerator")
    n = sum(int(np.prod(SHAPES[k])) for k in wrt)
    assert d.sweeps(values) == (("closed form", 1) if wrt == ["x"] else
                                ("forward", n) if n <= 2 else ("reverse", 2))
    got = d.evaluate(values)
    for k in wrt:
        assert got[k].shape == (2, int(np.prod(SHAPES[k])))
        np.testing.assert_allclose(got[k], _fd_jacobian(d, values, k), rtol=1e-6, atol=1e-8)
    if "x" in wrt:  # by hand: W2 diag(σ'(z)) W1
        z = values["W1"] @ values["x"] + values["b1"]
        s = 1 / (1 + np.exp(-z[:, 0]))
        np.testing.assert_allclose(got["x"], values["W2"] @ np.diag(s * (1 - s)) @ values["W1"])
    assert d.check(values).ok
    assert d.check().ok


@pytest.mark.parametrize(("text", "shapes", "wrt"), [
    ("kron(A, x)", {"A": (2, 2), "x": (3, 1)}, ["A", "x"]),
    ("concatenate((x, 2*x**2), axis=0)", {"x": (3, 1)}, ["x"]),
    ("softmax(x)", {"x": (4, 1)}, ["x"]),
    ("X[0:2, 1:] * s", {"X": (3, 3)}, ["X", "s"]),
    ("inv(X)", {"X": (2, 2)}, ["X"]),
    ("X.T @ X", {"X": (3, 2)}, ["X"]),
])
def test_structural_and_matrix_outputs(text: str, shapes: dict[str, Any],
                                       wrt: list[str]) -> None:
    values: dict[str, Any] = {k: RNG.normal(size=s) for k, s in shapes.items()}
    values["s"] = 0.7
    if "inv" in text:
        values["X"] = values["X"] + 3 * np.eye(2)
    d = sbp.derive(text, wrt=wrt, shapes=shapes, layout="numerator")
    got = d.evaluate(values)
    for k in wrt:
        np.testing.assert_allclose(got[k], _fd_jacobian(d, values, k), rtol=1e-5, atol=1e-7)
    assert d.check(values).ok
    assert_latex_ok([d.latex()])


def test_softmax_jacobian_closed_form() -> None:
    d = sbp.derive("softmax(x)", wrt="x", shapes={"x": (3, 1)}, layout="numerator")
    tex = d.latex()
    assert r"\operatorname{diag}" in tex  # diag(p) − p pᵀ, as the rule's local Jacobian
    x = RNG.normal(size=(3, 1))
    p = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(d.evaluate({"x": x})["x"], np.diag(p[:, 0]) - p @ p.T, atol=1e-12)


def test_no_closed_form_says_the_shape_and_the_formats_and_code_work() -> None:
    need_katex()  # (d.html() typesets with KaTeX's files)
    import json

    d = sbp.derive(NET, wrt=["W1"], shapes=SHAPES)
    tex = d.latex()
    assert r"\frac{\partial \operatorname{vec} \mathbf{L}}{\partial \operatorname{vec} " \
        r"\mathbf{W}^{(1)}} &: 6 \times 2\text{, no closed matrix form" in tex  # denominator
    md = d.markdown()
    assert md.startswith("# Jacobian: ")
    assert "## Jacobian" in md and "## Backward pass" not in md  # noqa: PT018
    assert json.loads(d.to_json())["gradients"] == []
    assert "Jacobian" in d.html()
    namespace: dict[str, Any] = {}
    exec(d.to_python(), namespace)  # the generated vector-Jacobian product
    values = {k: RNG.normal(size=s) for k, s in SHAPES.items()}
    G = RNG.normal(size=(2, 1))
    _, grads = namespace["vector_jacobian"](**values, G=G)
    J = sbp.derive(NET, wrt=["W1"], shapes=SHAPES, layout="numerator").evaluate(values)["W1"]
    np.testing.assert_allclose(np.ravel(grads["W1"], order="F"), J.T @ G[:, 0], rtol=1e-10)


def test_a_scalar_output_is_unchanged() -> None:
    d = sbp.derive("sum(W@x)", shapes={"W": (2, 2), "x": (2, 1)})
    assert not d.is_jacobian
    got = d.evaluate({"W": np.ones((2, 2)), "x": np.ones((2, 1))})
    assert got["W"].shape == (2, 2)


def test_a_diagonal_factor_is_a_scaling() -> None:
    """The closed form's diag(v) is evaluated as the column it scales by (programs.Diag):
    X^T diag(v) X without an n × n matrix, the same numbers as the dense product."""
    from symbackprop.programs import Diag, _matmul, _sum

    X, v = RNG.normal(size=(5, 3)), RNG.normal(size=(5, 1))
    got = _matmul(X.T, Diag(v), X)
    assert isinstance(got, np.ndarray)
    np.testing.assert_allclose(got, X.T @ np.diag(v[:, 0]) @ X, rtol=1e-12)
    np.testing.assert_allclose(_matmul(2.0, Diag(v), Diag(v)).dense(), 2 * np.diag(v[:, 0] ** 2))
    np.testing.assert_allclose(_sum(Diag(v), np.eye(5)), np.diag(v[:, 0]) + np.eye(5))


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
def test_a_closed_form_reads_the_inputs_in_place_and_hands_back_its_own_arrays(
        layout: str) -> None:
    """The closed form reads the caller's arrays without copying them (a large X of
    Xᵀ diag(…) X), so a result that is an input, or a view of one (A of A@x, Aᵀ in the
    denominator layout), must come back as a copy: writing into it leaves A unchanged."""
    A, x = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 1))
    keep = A.copy()
    d = sbp.derive("A@x", wrt="x", shapes={"A": (4, 3), "x": (3, 1)},
                   layout=layout)  # type: ignore[arg-type]
    J = d.evaluate({"A": A, "x": x})["x"]
    np.testing.assert_array_equal(J, A if layout == "numerator" else A.T)
    assert J.flags.writeable
    assert not np.may_share_memory(J, A)
    J[...] = 0.0
    np.testing.assert_array_equal(A, keep)
    h = sbp.hessian("0.5*x.T@A@x", wrt="x", shapes={"A": (3, 3), "x": (3, 1)})
    S = RNG.normal(size=(3, 3))
    H = h.evaluate({"A": S, "x": x})["x"]
    np.testing.assert_allclose(H, 0.5 * (S + S.T))
    assert H.flags.writeable
    assert not np.may_share_memory(H, S)
