"""The functions NumPy users call that are compositions of primitives (``composites.py``:
``log1p``, ``silu``, ``gelu``, ``leaky_relu`` …): each derives on scalars and entry by entry,
checks three ways (the witness runs NumPy's own function), prints LaTeX that KaTeX and
pdflatex accept, and runs as generated code."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok
from test_emit_python import run_generated

import symbackprop as sbp
from symbackprop.check import source
from symbackprop.composites import COMPOSITES
from symbackprop.parse import FUNCTIONS

POSITIVE = {"log1p", "log2", "log10", "rsqrt", "reciprocal", "logit", "power",
            "binary_cross_entropy", "xlogy"}  # domain
VALUES = {
    "P": np.array([[0.15, 0.3, 0.45], [0.2, 0.35, 0.1]]),  # in (0, ½): logit, logs, roots
    "B": np.array([[-1.3, 0.6, -0.4], [1.2, -0.45, 0.7]]),  # both signs, past ±1
    "C": np.arange(6.0).reshape(2, 3) / 3 - 0.5, "x": 0.37, "a": 0.1,
}


SECOND = {"leaky_relu": ", a", "xlogy": ", P", "add": ", C", "subtract": ", C",
          "multiply": ", C", "divide": ", C", "true_divide": ", C", "hypot": ", C", "arctan2": ", P", "atan2": ", P",
          "logaddexp": ", C", "power": ", C", "clip": ", -0.5, a + 0.4",
          "where": ", C, P", "hinge": ", C", "logistic_loss": ", C",
          "mse_loss": ", C", "maximum": ", C", "minimum": ", C",
          "binary_cross_entropy": ", C", "binary_cross_entropy_with_logits": ", C",
          }  # scalar: x → a


def _case(name: str, matrix: bool) -> tuple[sbp.Derivation, dict[str, Any]]:
    arg = "P" if name in POSITIVE else "B"
    extra = SECOND.get(name, "")
    if not matrix:
        extra = extra.replace("C", "a").replace("P", "a")
    if matrix:
        d = sbp.derive(f"sum(hadamard(C, {name}({arg}{extra})))",
                       shapes={"P": (2, 3), "B": (2, 3), "C": (2, 3)})
    else:
        d = sbp.derive(f"{name}(x{extra})")
    names = {str(s.name) for s in d.inputs}
    return d, {k: v for k, v in VALUES.items() if k in names}


# shapes, masks or orders of their own: tested below
STRUCTURAL = {"outer", "diag", "diagonal", "where", "polygamma", "besseli",
              "multiclass_hinge", "svm_loss",  # losses: tests/test_losses.py
              "dot", "std",  # below: a matrix product, and √0 of one number
              "inner", "vdot", "solve", "matrix_power", "matmul"}  # below: linear algebra


@pytest.mark.parametrize("name", sorted(set(COMPOSITES) - STRUCTURAL))
@pytest.mark.parametrize("matrix", [False, True])
def test_every_composite_derives_checks_prints_and_runs(name: str, matrix: bool) -> None:
    assert name in FUNCTIONS
    assert name in source.FUNCS  # the witness's own NumPy function
    d, values = _case(name, matrix)
    report = d.check(values)
    assert report.ok, report
    assert_latex_ok([d.latex()])
    _, grads = run_generated(d.to_python(), values)
    for k, g in d.evaluate(values).items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("text", "want"), [
    ("log1p(x)", lambda x: 1 / (1 + x)), ("expm1(x)", np.exp), ("log10(x)",
                                                               lambda x: 1 / (x * np.log(10))),
    ("silu(x)", lambda x: 1 / (1 + np.exp(-x)) * (1 + x * (1 - 1 / (1 + np.exp(-x))))),
    ("softsign(x)", lambda x: 1 / (1 + abs(x)) ** 2), ("cbrt(x)", lambda x: abs(x) ** (-2 / 3) / 3),
    ("leaky_relu(x, 0.1)", lambda x: 1.0 if x > 0 else 0.1),
    # ELU with its α (Clevert et al.): 1 above 0, α eˣ below; CELU (Barron): e^{x/α} below
    ("elu(x, 0.5)", lambda x: 1.0 if x > 0 else 0.5 * np.exp(x)),
    ("celu(x, 2)", lambda x: 1.0 if x > 0 else np.exp(x / 2)),
    # SELU (Klambauer et al.): λ above 0, λα eˣ below; log σ(x): σ(−x); Mish (Misra):
    # tanh(sp(x)) + x sech²(sp(x)) σ(x), sp the softplus
    ("selu(x)", lambda x: 1.0507009873554805 * (1.0 if x > 0 else 1.6732632423543772
                                                 * np.exp(x))),
    ("logsigmoid(x)", lambda x: 1 / (1 + np.exp(x))),
    ("mish(x)", lambda x: np.tanh(np.log1p(np.exp(x))) + x / np.cosh(np.log1p(np.exp(x))) ** 2
     / (1 + np.exp(-x))),
])
@pytest.mark.parametrize("x", [0.7, -0.4])
def test_derivatives_are_the_known_ones(text: str, want: Any, x: float) -> None:
    if text.startswith(("log1p", "log10")) and x < 0:
        x = -x
    got = sbp.derive(text).evaluate({"x": x})["x"]
    assert got == pytest.approx(want(x), rel=1e-12)


@pytest.mark.parametrize(("text", "want"), [
    # PyTorch's activations with their default constants (λ = ½, α = 1)
    ("relu6(x)", lambda x: 1.0 if 0 < x < 6 else 0.0),
    ("hardsigmoid(x)", lambda x: 1 / 6 if -3 < x < 3 else 0.0),
    ("hardswish(x)", lambda x: (2 * x + 3) / 6 if -3 < x < 3 else (1.0 if x > 3 else 0.0)),
    ("celu(x)", lambda x: 1.0 if x > 0 else np.exp(x)),
    ("softshrink(x)", lambda x: 1.0 if abs(x) > 0.5 else 0.0),
    ("hardshrink(x)", lambda x: 1.0 if abs(x) > 0.5 else 0.0),
    ("tanhshrink(x)", lambda x: np.tanh(x) ** 2),
    ("xlogy(x, 2.5)", lambda x: np.log(2.5)), ("xlogy(3, x**2)", lambda x: 6 / x),
    ("sec(x)", lambda x: np.tan(x) / np.cos(x)), ("csc(x)", lambda x: -1 / (np.sin(x)
                                                                          * np.tan(x))),
    ("cot(x)", lambda x: -1 / np.sin(x) ** 2), ("deg2rad(x)", lambda x: np.pi / 180),
    ("degrees(x)", lambda x: 180 / np.pi), ("sech(x)", lambda x: -np.tanh(x) / np.cosh(x)),
    ("csch(x)", lambda x: -1 / (np.sinh(x) * np.tanh(x))),
    ("coth(x)", lambda x: -1 / np.sinh(x) ** 2),
])
@pytest.mark.parametrize("x", [-7.0, -3.4, -0.7, -0.2, 0.3, 2.2, 4.1, 6.5])
def test_pytorch_activations_and_the_reciprocal_trigonometric_functions(
        text: str, want: Any, x: float) -> None:
    """Each region of the piecewise ones (below, between and above their kinks), against
    the derivative as the literature states it; check() agrees with all three witnesses."""
    d = sbp.derive(text)
    assert d.evaluate({"x": x})["x"] == pytest.approx(want(x), rel=1e-12, abs=1e-15)
    assert d.check({"x": x}).ok


def test_std_and_dot_as_numpy_reads_them() -> None:
    """std is NumPy's (ddof 0), ∂σ/∂X = (X − μ)/(n σ); dot is the inner product of two
    vectors, the matrix product of matrices, as np.dot."""
    x = np.asarray(VALUES["B"])
    d = sbp.derive("std(X)", shapes={"X": (2, 3)})
    assert d.check({"X": x}).ok
    np.testing.assert_allclose(d.evaluate({"X": x})["X"],
                               (x - x.mean()) / (x.size * x.std()), rtol=1e-12)
    u, v = np.array([[0.3], [-1.2], [0.5]]), np.array([[1.1], [0.4], [-0.7]])
    d = sbp.derive("dot(u, v) * dot(v, v)", shapes={"u": (3, 1), "v": (3, 1)})
    got = d.evaluate({"u": u, "v": v})
    vv, uv = float((v.T @ v)[0, 0]), float((u.T @ v)[0, 0])
    np.testing.assert_allclose(got["u"], v * vv, rtol=1e-12)
    np.testing.assert_allclose(got["v"], u * vv + 2 * v * uv,
                               rtol=1e-12)
    d = sbp.derive("sum(hadamard(G, dot(A, B)))", shapes={"A": (2, 3), "B": (3, 4),
                                                           "G": (2, 4)})
    a, b, g = VALUES["B"], np.arange(12.0).reshape(3, 4) / 7, np.ones((2, 4))
    got = d.evaluate({"A": a, "B": b, "G": g})
    np.testing.assert_allclose(got["A"], g @ b.T, rtol=1e-12)
    assert d.check({"A": a, "B": b, "G": g}).ok


def test_the_inverse_hyperbolic_functions_and_erfc() -> None:
    d = sbp.derive("sum(arcsinh(A) + atanh(A/3) + acosh(hadamard(A, A) + 2) + erfc(A))",
                   shapes={"A": (2, 3)})
    assert d.check().ok
    tex = d.latex()
    for name in (r"\operatorname{arsinh}", r"\operatorname{artanh}", r"\operatorname{arcosh}",
                 r"\operatorname{erfc}"):
        assert name in tex


@pytest.mark.parametrize(("name", "x"), [
    ("arcsin", 0.3), ("asin", 0.3), ("arccos", -0.2), ("arctan", 1.7), ("arcsinh", -0.8),
    ("arccosh", 1.6), ("arctanh", 0.4), ("erf", 0.5), ("erfc", -0.3), ("sinh", 0.2),
    ("cosh", -0.9), ("sign", 0.6)])
def test_scalar_functions_run_as_generated_code(name: str, x: float) -> None:
    """On scalars SymPy's own classes (asin, atanh, …) hold them: the code names NumPy's."""
    d = sbp.derive(f"{name}(x) * y")
    values = {"x": x, "y": 1.3}
    _, grads = run_generated(d.to_python(), values)
    for k, g in d.evaluate(values).items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)
    assert d.check(values).ok


@pytest.mark.parametrize(("text", "shapes"), [
    ("sum(hadamard(M, outer(u, v)))", {"M": (3, 2), "u": (3, 1), "v": (2, 1)}),
    ("sum(hadamard(Q, diag(u)))", {"Q": (3, 3), "u": (3, 1)}),
    ("sum(hadamard(u, diag(Q)))", {"Q": (3, 3), "u": (3, 1)}),
    ("diagonal(Q).T @ u", {"Q": (3, 3), "u": (3, 1)}),
])
def test_outer_and_the_two_diags(text: str, shapes: dict[str, Any]) -> None:
    d = sbp.derive(text, shapes=shapes)
    assert d.check().ok
    assert_latex_ok([d.latex()])


def test_the_diagonal_of_a_non_square_matrix_is_refused() -> None:
    with pytest.raises(sbp.ShapeError, match="square"):
        sbp.derive("sum(diagonal(M))", shapes={"M": (3, 2)})


@pytest.mark.parametrize(("text", "shapes", "values"), [
    ("arcsinh(x) + erf(x)*sinh(y) + cosh(x) + arctan(y)", None, {"x": 0.4, "y": -0.3}),
    ("arctanh(x/3) + erfc(y) + arccosh(x*x + 2)", None, {"x": 0.4, "y": -0.3}),
    ("silu(x) + gelu(y) + softsign(x)", None, {"x": 0.4, "y": -0.3}),
    ("det(X) + logdet(X) + norm2(X) + mean(X) + var(X)", {"X": (2, 2)},
     {"X": np.array([[2.0, 0.3], [0.1, 1.5]])}),
    ("x.T@A@x", {"x": (2, 1), "A": (2, 2)},
     {"x": np.array([[0.4], [0.2]]), "A": np.array([[1.0, 2.0], [0.5, 0.3]])}),
])
def test_what_we_print_reads_back_as_latex(text: str, shapes: Any, values: dict[str, Any],
                                           ) -> None:
    d = sbp.derive(text, shapes=shapes)
    back = sbp.derive(d.latex(sections="forward"), syntax="latex", shapes=shapes)
    want, got = d.evaluate(values), back.evaluate(values)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12)


# --------------------------------------------------------------------------------------
# Special functions (scipy.special's names): erf⁻¹ and the scaled Bessel functions


@pytest.mark.parametrize(("name", "points"), [
    ("erfinv", [0.0, 1e-3, 0.3, -0.7, 0.95, -0.999]),  # inside (−1, 1), close to its ends
    ("i0e", [1e-3, -0.4, 2.5, -30.0, 1000.0]),  # small, not small, where I₀ overflows
    ("i1e", [1e-3, -0.4, 2.5, -30.0, 1000.0]),
])
def test_special_functions_match_central_differences(name: str, points: list[float]) -> None:
    """The derivation's gradient, the engine's and central differences agree at the points
    the autodiff suites use; the witness computes the function its own way (Newton on
    math.erf; the integral of e^{x cos θ − |x|} cos nθ), not with mpmath as the engine does."""
    d = sbp.derive(f"{name}(x) * y")
    for x in points:
        values = {"x": x, "y": 1.3}
        report = d.check(values)
        assert report.ok, (x, report)
        got = d.evaluate(values)["x"]
        h = 1e-6 * max(1.0, abs(x))
        f = source.FUNCS[name]
        fd = 1.3 * (float(f(np.array(x + h))) - float(f(np.array(x - h)))) / (2 * h)
        assert got == pytest.approx(fd, rel=1e-5, abs=1e-9), (name, x)


def test_special_functions_print_their_names_and_read_back() -> None:
    d = sbp.derive("sum(hadamard(C, erfinv(B/2) + i0e(B) + i1e(C)))",
                   shapes={"B": (2, 3), "C": (2, 3)})
    tex = d.latex()
    assert r"\operatorname{erf}^{-1}\left(" in tex
    assert r"\operatorname{i0e}\left(" in tex
    assert r"\operatorname{i1e}\left(" in tex
    assert_latex_ok([tex])
    values = {"B": VALUES["B"], "C": VALUES["C"]}
    assert d.check(values).ok
    back = sbp.derive(d.latex(sections="forward"), syntax="latex",
                      shapes={"B": (2, 3), "C": (2, 3)})
    for k, g in d.evaluate(values).items():
        np.testing.assert_allclose(back.evaluate(values)[k], g, rtol=1e-12)
    _, grads = run_generated(d.to_python(), values)
    for k, g in d.evaluate(values).items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("tex", "means"), [
    (r"\operatorname{erf}^{-1}(x)", "erfinv(x)"), (r"\sin^{-1}(x)", "arcsin(x)"),
    (r"\tan^{-1} x", "arctan(x)"), (r"\tanh^{-1}\left(x\right)", "arctanh(x)"),
    (r"\sin^{2}(x)", "sin(x)**2"), (r"\sin^{-2}(x)", "sin(x)**-2"), (r"\exp(x)^{-1}", "1/exp(x)"),
])
def test_a_function_to_the_minus_one_is_its_inverse_where_there_is_one(tex: str, means: str,
                                                                         ) -> None:
    values = {"x": 0.3}
    got = sbp.derive(tex, syntax="latex").evaluate(values)["x"]
    want = sbp.derive(means).evaluate(values)["x"]
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("tex", "means"), [
    (r"\sec(x)", "1/cos(x)"), (r"\csc x", "1/sin(x)"), (r"\cot{x}", "cos(x)/sin(x)"),
    (r"\coth(x)", "cosh(x)/sinh(x)"), (r"\sec^{2}(x)", "cos(x)**-2"),
    (r"\operatorname{sech}(x)", "1/cosh(x)"), (r"\operatorname{csch}(x)", "1/sinh(x)"),
])
def test_the_reciprocal_trigonometric_functions_in_latex(tex: str, means: str) -> None:
    values = {"x": 0.3}
    got = sbp.derive(tex, syntax="latex").evaluate(values)["x"]
    want = sbp.derive(means).evaluate(values)["x"]
    assert got == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("text", "x"), [("i0e(x)", 0.0), ("i1e(x)", 0.0)])
def test_special_functions_at_their_corner_say_so(text: str, x: float) -> None:
    """i0e has a corner at 0 (slopes −1 and 1); i1e's derivative formula is 0/0 there: the
    check names the point (as it does for relu at 0), never a bare ok or a mismatch."""
    report = sbp.derive(text).check({"x": x})
    assert report.ok or text == "i1e(x)", report  # i1e: the formula is nan, the engine ½
    name = text.split("(")[0]
    said = f"{name} at 0 (the engine gives ½)" if name == "i1e" else f"{name} at a point"
    assert said in str(report), str(report)
    assert "mismatch" not in str(report)


@pytest.mark.parametrize("x", [1.0, -1.0, 1.5, -3.0])
def test_erfinv_outside_its_domain_is_undefined_not_a_mismatch(x: float) -> None:
    report = sbp.derive("erfinv(x)").check({"x": x})
    assert not report.ok
    text = str(report)
    assert "undefined here" in text or "not differentiable here" in text, text
    assert "mismatch" not in text


# --------------------------------------------------------------------------------------
# A traced NumPy function knows the same names


def test_a_traced_numpy_function_knows_the_tables_names() -> None:
    def f(W: Any, x: Any) -> Any:
        z = W @ x / 10
        return np.sum(np.arcsin(z) + np.sinh(x) + np.arctanh(z) + np.log1p(np.abs(x))
                      + np.hypot(x, z) + np.cbrt(x * x + 1) + np.exp2(x) + np.log10(x * x + 2)
                      + np.arctan2(x, x * x + 1) + np.expm1(z) + np.logaddexp(x, z))

    d = sbp.derive(f, shapes={"W": (2, 2), "x": (2,)})
    values = {"W": np.array([[0.3, -0.2], [0.5, 0.1]]), "x": np.array([0.4, -0.7])}
    assert d.check(values).ok
    tex = d.latex()
    assert r"\arcsin" in tex
    assert r"\operatorname{artanh}" in tex
    assert r"\sinh" in tex


def test_a_traced_composite_of_two_shapes_broadcasts_or_is_refused() -> None:
    """np.hypot(W, x) of a (2, 2) matrix and a (2,) vector was refused; it broadcasts x as a
    row, as NumPy does (tests/test_trace_numpy.py compares more against JAX). Shapes NumPy
    refuses are a ShapeError naming the function."""
    def f(W: Any, x: Any) -> Any:
        return np.sum(np.hypot(W, x))

    values = {"W": np.array([[0.3, -0.2], [0.5, 0.1]]), "x": np.array([0.4, -0.7])}
    d = sbp.derive(f, shapes={"W": (2, 2), "x": (2,)})
    np.testing.assert_allclose(d.evaluate(values)["x"],
                               np.sum(values["x"] / np.hypot(values["W"], values["x"]), 0))
    assert d.check(values).ok
    with pytest.raises(sbp.ShapeError, match=r"np\.hypot"):
        sbp.derive(f, shapes={"W": (2, 3), "x": (2,)})


def test_where_takes_the_gradient_where_the_condition_holds() -> None:
    """NumPy's where(C, X, Y) on a mask: ∂/∂X is the mask, ∂/∂Y its complement; from text
    and from a traced NumPy function alike."""
    shapes = {"C": (2, 3), "X": (2, 3), "Y": (2, 3), "W": (2, 3)}
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    w, y = np.asarray(VALUES["C"]) + 1, np.asarray(VALUES["P"])
    values = {"C": mask, "X": VALUES["B"], "Y": y, "W": w}
    d = sbp.derive("sum(hadamard(W, where(C, X, Y)))", shapes=shapes, wrt=["X", "Y"])
    got = d.evaluate(values)
    np.testing.assert_allclose(got["X"], w * mask)
    np.testing.assert_allclose(got["Y"], w * (1 - mask))
    assert d.check(values).ok

    def f(C: Any, X: Any, Y: Any, W: Any) -> Any:
        return np.sum(W * np.where(C, X, np.clip(Y, 0.12, 0.4)))

    t = sbp.derive(f, shapes=shapes, wrt=["X", "Y"])
    assert t.check(values).ok
    want = w * (1 - mask) * ((y > 0.12) & (y < 0.4))
    np.testing.assert_allclose(t.evaluate(values)["Y"], want)


# --------------------------------------------------------------------------------------
# prod: of every entry, and along an axis


def _others(a: np.ndarray, axis: int | None) -> np.ndarray:
    """Each entry's product of the others, by brute force (the test's own)."""
    out = np.empty_like(a)
    for idx in np.ndindex(a.shape):
        if axis is None:
            mask = np.ones(a.shape, bool)
        else:
            mask = np.zeros(a.shape, bool)
            sel: list[Any] = list(idx)
            sel[axis] = slice(None)
            mask[tuple(sel)] = True
        mask[idx] = False
        out[idx] = np.prod(a[mask])
    return out


@pytest.mark.parametrize(("text", "axis"), [
    ("prod(X)", None), ("sum(hadamard(R, prod(X, axis=0)))", 0),
    ("sum(hadamard(Q, prod(X, axis=1)))", 1), ("sum(hadamard(Q, prod(X, axis=-1)))", 1)])
def test_prod_gradient_is_the_product_of_the_others(text: str, axis: int | None) -> None:
    shapes = {"X": (2, 3), "R": (1, 3), "Q": (2, 1)}
    x = np.array([[1.3, -0.6, 0.9], [0.4, 2.0, -1.1]])
    values = {"X": x, "R": np.ones((1, 3)), "Q": np.ones((2, 1))}
    d = sbp.derive(text, shapes=shapes, wrt="X")
    assert d.check(values).ok
    np.testing.assert_allclose(d.evaluate(values)["X"], _others(x, axis), rtol=1e-12)
    tex = d.latex()
    assert_latex_ok([tex])
    if axis is not None:
        assert (r"\prod_{\text{col}}" if axis == 0 else r"\prod_{\text{row}}") in tex
    assert r"\oslash \mathbf{X}" in tex  # ∏X ⊘ X, the textbook form


def test_prod_with_a_zero_entry_the_engine_is_exact_and_the_formula_says_where() -> None:
    """∏X ⊘ X is 0/0 where an entry is 0: the engine's product of the others is exact
    there, and the check names the point instead of reporting a mismatch."""
    x = np.array([[1.3, 0.0, 0.9], [0.4, 2.0, -1.1]])
    d = sbp.derive("prod(X)", shapes={"X": (2, 3)})
    report = d.check({"X": x})
    assert "prod where an entry is 0 (the engine's value is exact)" in str(report)
    assert [r.status for r in report.rows] == ["formula"]
    assert "mismatch" not in str(report)
    from symbackprop.check.engine import Engine
    _, grads = Engine(d).value_and_grad({"X": x})
    np.testing.assert_allclose(grads["X"], _others(x, None))


def test_a_traced_np_prod_reads_axis_and_keepdims() -> None:
    def f(W: Any, x: Any) -> Any:
        return (np.prod(W @ x) + np.sum(np.prod(W, axis=0) * x)
                + np.sum(np.prod(W, axis=1, keepdims=True) * W) + np.prod(x))

    values = {"W": np.array([[0.3, -1.2, 0.8], [1.1, 0.5, -0.4]]),
              "x": np.array([0.2, 0.7, -0.3])}
    d = sbp.derive(f, shapes={"W": (2, 3), "x": (3,)})
    assert d.check(values).ok
    assert d.evaluate(values)["W"].shape == (2, 3)


# --------------------------------------------------------------------------------------
# log Γ and the polygamma functions ψ⁽ⁿ⁾ (scipy.special's gammaln, digamma, polygamma)


@pytest.mark.parametrize(("text", "points"), [
    ("gammaln(x)", [1e-3, 0.5, 2.0, 30.0, -0.5, -2.3]),  # log|Γ| also between the poles
    ("lgamma(x)", [0.7, 4.5]),
    ("digamma(x)", [1e-3, 0.5, 2.0, 30.0, -0.5, -2.3]),
    ("trigamma(x)", [0.2, 3.0, -1.5]),
    ("polygamma(3, x)", [0.4, 6.0, -0.7]),
])
def test_gamma_functions_match_central_differences(text: str, points: list[float]) -> None:
    d = sbp.derive(f"{text} * y")
    name = text.split("(")[0]
    for x in points:
        values = {"x": x, "y": 1.3}
        assert d.check(values).ok, (text, x)
        h = 1e-6 * max(1.0, abs(x)) if abs(x) > 1e-2 else 1e-7
        if name == "polygamma":
            f = lambda v: source.FUNCS["polygamma"](3, v)  # noqa: E731
        else:
            f = source.FUNCS[name]
        fd = 1.3 * (float(f(np.array(x + h))) - float(f(np.array(x - h)))) / (2 * h)
        assert d.evaluate(values)["x"] == pytest.approx(fd, rel=1e-5), (text, x)


def test_polygamma_numbers_agree_with_sympy() -> None:
    """The engine's ψ⁽ⁿ⁾ (mpmath) and SymPy's own, and its derivative ψ⁽ⁿ⁺¹⁾."""
    import sympy as sp

    from symbackprop.rules import RULES

    rule = RULES["polygamma"]
    for n in range(4):
        for x in (0.3, 1.7, 12.0, -2.5):
            want = float(sp.polygamma(n, sp.Float(x)))
            assert float(rule.forward(n, x)) == pytest.approx(want, rel=1e-12)
            slope = float(sp.polygamma(n + 1, sp.Float(x)))
            assert float(rule.vjp(1.0, None, n, x)[1]) == pytest.approx(slope, rel=1e-12)


def test_gamma_functions_print_their_notation_and_run_as_code() -> None:
    d = sbp.derive("sum(hadamard(C, gammaln(P) + digamma(P) + polygamma(2, P)))",
                   shapes={"P": (2, 3), "C": (2, 3)})
    tex = d.latex()
    for piece in (r"\ln\Gamma\left(", r"\psi\left(", r"\psi^{(2)}\left(", r"\psi^{(3)}\left("):
        assert piece in tex
    assert r"\operatorname{polygamma}" not in tex
    assert_latex_ok([tex])
    values = {"P": VALUES["P"], "C": VALUES["C"]}
    assert d.check(values).ok
    _, grads = run_generated(d.to_python(), values)
    for k, g in d.evaluate(values).items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("text", ["polygamma(x, y)", "polygamma(-1, y)", "polygamma(1.5, y)"])
def test_the_order_of_polygamma_is_a_whole_number(text: str) -> None:
    with pytest.raises(sbp.ShapeError, match="whole number"):
        sbp.derive(text)


@pytest.mark.parametrize("x", [0.0, -1.0, -3.0])
def test_gamma_functions_at_a_pole_are_undefined_not_a_mismatch(x: float) -> None:
    for text in ("gammaln(x)", "digamma(x)"):
        report = sbp.derive(text).check({"x": x})
        assert not report.ok
        assert "mismatch" not in str(report), report


def test_sympy_gamma_functions_derive() -> None:
    """SymPy's loggamma, digamma (ψ⁽⁰⁾) and polygamma, given as a SymPy expression."""
    import sympy as sp

    x, y = sp.symbols("x y", real=True)
    d = sbp.derive(sp.loggamma(x) * sp.digamma(y) + sp.polygamma(1, x * y))
    values = {"x": 1.4, "y": 2.2}
    assert d.check(values).ok
    want = float(sp.diff(sp.loggamma(x) * sp.digamma(y) + sp.polygamma(1, x * y), x)
                 .subs({x: 1.4, y: 2.2}).evalf())
    assert d.evaluate(values)["x"] == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize(("tex", "means"), [
    (r"\ln\Gamma\left(x\right)", "gammaln(x)"), (r"\log\Gamma(x)", "gammaln(x)"),
    (r"\psi\left(x\right)", "digamma(x)"), (r"\psi^{(2)}(x)", "polygamma(2, x)"),
    (r"\psi x", "psi*x"), (r"\Gamma x", "Gamma*x"),  # no call: a name times x, as before
])
def test_gamma_functions_read_from_latex(tex: str, means: str) -> None:
    got, want = sbp.derive(tex, syntax="latex"), sbp.derive(means)
    values = {k: v for k, v in {"x": 1.7, "psi": 0.3, "Gamma": 0.4}.items()
              if k in {str(s.name) for s in want.inputs}}
    assert got.evaluate(values)["x"] == pytest.approx(want.evaluate(values)["x"], rel=1e-12)


def test_the_gamma_functions_latex_reads_back() -> None:
    shapes = {"P": (2, 3), "C": (2, 3)}
    d = sbp.derive("sum(hadamard(C, gammaln(P) + digamma(P) + polygamma(2, P)))", shapes=shapes)
    back = sbp.derive(d.latex(sections="forward"), syntax="latex", shapes=shapes)
    values = {"P": VALUES["P"], "C": VALUES["C"]}
    for k, g in d.evaluate(values).items():
        np.testing.assert_allclose(back.evaluate(values)[k], g, rtol=1e-12)


# --------------------------------------------------------------------------------------
# cumsum and flip: products with the lower triangle of ones and the exchange matrix J


@pytest.mark.parametrize(("text", "grad"), [
    # the gradient of sum(W ⊙ cumsum(X)) is the reversed running sum of W
    ("sum(hadamard(W, cumsum(X, axis=0)))", lambda w: np.flip(np.cumsum(np.flip(w, 0), 0), 0)),
    ("sum(hadamard(W, cumsum(X, axis=1)))", lambda w: np.flip(np.cumsum(np.flip(w, 1), 1), 1)),
    ("sum(hadamard(W, flip(X, axis=0)))", lambda w: np.flip(w, 0)),
    ("sum(hadamard(W, flip(X, axis=-1)))", lambda w: np.flip(w, 1)),
])
def test_cumsum_and_flip_gradients_are_the_reversed_operations(text: str, grad: Any) -> None:
    shapes = {"X": (3, 2), "W": (3, 2)}
    w = np.array([[1.0, -2.0], [0.5, 3.0], [4.0, -1.5]])
    values = {"X": np.arange(6.0).reshape(3, 2) / 5 - 0.3, "W": w}
    d = sbp.derive(text, shapes=shapes, wrt="X")
    assert d.check(values).ok  # the witness runs NumPy's own cumsum and flip
    np.testing.assert_allclose(d.evaluate(values)["X"], grad(w))
    tex = d.latex()
    assert (r"\operatorname{tril}\left(\mathbf{1}\right)" if "cumsum" in text
            else r"\mathbf{J}") in tex
    assert_latex_ok([tex])
    _, grads = run_generated(d.to_python(), values)
    np.testing.assert_allclose(grads["X"], grad(w))


def test_cumsum_and_flip_of_a_vector_and_from_numpy() -> None:
    d = sbp.derive("sum(hadamard(a, cumsum(u) + flip(u)))", shapes={"u": (3, 1), "a": (3, 1)},
                   wrt="u")
    a = np.array([[1.0], [2.0], [4.0]])
    values = {"u": np.array([[0.3], [-0.2], [0.5]]), "a": a}
    assert d.check(values).ok
    np.testing.assert_allclose(d.evaluate(values)["u"],
                               np.flip(np.cumsum(np.flip(a, 0), 0), 0) + np.flip(a, 0))

    def f(W: Any, x: Any) -> Any:
        return np.sum(np.cumsum(W, axis=1) * np.flip(W, 0)) + np.sum(np.cumsum(x) * np.flip(x))

    t = sbp.derive(f, shapes={"W": (2, 3), "x": (3,)})
    assert t.check({"W": np.array([[0.3, -1.2, 0.8], [1.1, 0.5, -0.4]]),
                    "x": np.array([0.2, 0.7, -0.3])}).ok


def test_cumsum_of_a_matrix_needs_an_axis() -> None:
    with pytest.raises(sbp.ShapeError, match="axis=0 or axis=1"):
        sbp.derive("sum(cumsum(W))", shapes={"W": (2, 3)})
    # NumPy's np.cumsum of a matrix flattens it (row by row): traced so, or refused when
    # the size is not a number
    w = np.array([[0.3, -1.2, 0.8], [1.1, 0.5, -0.4]])
    t = sbp.derive(lambda W: np.sum(np.cumsum(W) ** 2), shapes={"W": (2, 3)})
    flat = np.cumsum(w)
    np.testing.assert_allclose(t.evaluate({"W": w})["W"],
                               np.reshape(np.cumsum((2 * flat)[::-1])[::-1], (2, 3)))
    with pytest.raises(sbp.UnsupportedError, match="axis=0 or axis=1"):
        sbp.derive(lambda W: np.sum(np.cumsum(W)), shapes={"W": ("n", 3)})


@pytest.mark.parametrize("axis", [0, 1])
def test_cumprod_gradient_and_its_zeros(axis: int) -> None:
    """∂L/∂X = (reversed running sum of G ⊙ Y) ⊘ X; the engine's is exact at a zero entry,
    where that formula is 0/0 and the check names the point."""
    x = np.array([[1.2, -0.5], [0.7, 2.0], [-1.1, 0.4]])
    w = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    d = sbp.derive(f"sum(hadamard(W, cumprod(X, axis={axis})))", shapes={"X": (3, 2), "W": (3, 2)},
                   wrt="X")

    def loss(v: np.ndarray) -> float:
        return float(np.sum(w * np.cumprod(v, axis=axis)))

    def numeric(v: np.ndarray) -> np.ndarray:
        out = np.zeros_like(v)
        for idx in np.ndindex(v.shape):
            up, down = v.copy(), v.copy()
            up[idx] += 1e-6
            down[idx] -= 1e-6
            out[idx] = (loss(up) - loss(down)) / 2e-6
        return out

    assert d.check({"X": x, "W": w}).ok
    np.testing.assert_allclose(d.evaluate({"X": x, "W": w})["X"], numeric(x), rtol=1e-6)
    assert_latex_ok([d.latex()])
    zero = x.copy()
    zero[1, 0] = 0.0
    from symbackprop.check.engine import Engine
    _, grads = Engine(d).value_and_grad({"X": zero, "W": w})
    np.testing.assert_allclose(grads["X"], numeric(zero), rtol=1e-6, atol=1e-9)
    assert "mismatch" not in str(d.check({"X": zero, "W": w}))


def test_a_traced_np_cumprod() -> None:
    def f(W: Any, x: Any) -> Any:
        return np.sum(np.cumprod(W, axis=0) * W) + np.sum(np.cumprod(x))

    values = {"W": np.array([[0.3, -1.2, 0.8], [1.1, 0.5, -0.4]]), "x": np.array([0.2, 0.7, -0.3])}
    assert sbp.derive(f, shapes={"W": (2, 3), "x": (3,)}).check(values).ok


@pytest.mark.parametrize("text", ["erfinv(x)", "i0e(x)", "i1e(x)", "gammaln(x)", "digamma(x)",
                                  "polygamma(2, x)", "prod(u)", "sum(cumprod(u))", "sin(x)*y"])
@pytest.mark.parametrize("x", [1e300, -1e300, -1e6 + 0.5, 1e-300])
def test_special_values_end_in_a_report(text: str, x: float) -> None:
    """Far outside where people evaluate these (a step below the spacing of floats, mpmath's
    recurrences that step one by one, SymPy raising on a constant): derive and check end,
    with one of the library's outcomes."""
    d = sbp.derive(text, shapes={"u": (2, 1)})
    values = {"x": x, "y": 1.0, "u": np.array([[x], [0.5]])}
    report = d.check({k: v for k, v in values.items() if k in {str(s.name) for s in d.inputs}})
    assert isinstance(report.ok, bool)


# --------------------------------------------------------------------------------------
# I_n, the modified Bessel function of the first kind (SymPy's besseli)


def test_besseli_numbers_agree_with_sympy_and_the_witness() -> None:
    """The engine's I_n (mpmath), SymPy's own, the witness's (a trapezoidal integral) and
    the derivative (I_{n-1} + I_{n+1})/2 against central differences of SymPy's."""
    import sympy as sp

    from symbackprop.rules import RULES

    rule = RULES["besseli"]
    for n in range(4):
        for x in (-3.5, -0.2, 0.0, 0.9, 12.0):
            want = float(sp.besseli(n, sp.Float(x)))
            assert float(rule.forward(n, x)) == pytest.approx(want, rel=1e-12, abs=1e-300)
            assert float(source.FUNCS["besseli"](n, np.array(x))) == pytest.approx(
                want, rel=1e-9, abs=1e-12)
            h = 1e-6
            fd = (float(sp.besseli(n, sp.Float(x + h))) - float(sp.besseli(n, sp.Float(x - h)))
                  ) / (2 * h)
            assert float(rule.vjp(1.0, None, n, x)[1]) == pytest.approx(fd, rel=1e-6, abs=1e-9)


def test_besseli_from_sympy_text_and_latex() -> None:
    import sympy as sp

    x = sp.Symbol("x", real=True)
    d = sbp.derive(sp.exp(-sp.Abs(x)) * sp.besseli(0, x) + x)  # i0e written out, as SymPy has it
    assert d.check({"x": 0.7}).ok
    tex = sbp.derive("besseli(2, x)").latex()
    assert r"\operatorname{I}_{2}\left(x\right)" in tex
    assert_latex_ok([tex])
    with pytest.raises(sbp.ShapeError, match="the order of besseli is a whole number"):
        sbp.derive("besseli(0.5, x)")


@pytest.mark.parametrize(("text", "torch_loss"), [
    ("sum(hadamard(C, selu(B)))", lambda F, b, c, p: (c * F.selu(b)).sum()),
    ("sum(hadamard(C, mish(B)))", lambda F, b, c, p: (c * F.mish(b)).sum()),
    ("sum(hadamard(C, logsigmoid(B)))", lambda F, b, c, p: (c * F.logsigmoid(b)).sum()),
    ("binary_cross_entropy(P, (C + 0.5) / 2)",
     lambda F, b, c, p: F.binary_cross_entropy(p, (c + 0.5) / 2)),
    ("binary_cross_entropy_with_logits(B, C + 0.5)",
     lambda F, b, c, p: F.binary_cross_entropy_with_logits(b, c + 0.5)),
])
def test_activations_and_losses_are_pytorchs(text: str, torch_loss: Any) -> None:
    """A fourth witness: the gradients are torch.autograd's of torch.nn.functional's own."""
    torch = pytest.importorskip("torch")
    values = {k: VALUES[k] for k in ("B", "C", "P")}
    d = sbp.derive(text, shapes={k: (2, 3) for k in values})
    got = d.evaluate(values)
    ts = {k: torch.tensor(v, requires_grad=True) for k, v in values.items()}
    torch_loss(torch.nn.functional, ts["B"], ts["C"], ts["P"]).backward()
    for k in got:
        assert ts[k].grad is not None
        np.testing.assert_allclose(got[k], ts[k].grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("text", "dim"), [
    ("sum(hadamard(C, log_softmax(B)))", 0), ("sum(hadamard(C, log_softmax(B, axis=0)))", 0),
    ("sum(hadamard(C, log_softmax(B, axis=1)))", 1),
    ("sum(hadamard(C, log_softmax(B, axis=-1)))", 1)])
def test_log_softmax_is_pytorchs(text: str, dim: int) -> None:
    """log_softmax of each column (the softmax's own axis) or along axis=: the value and
    the gradient of torch.nn.functional.log_softmax, and check() ok."""
    torch = pytest.importorskip("torch")
    values = {k: np.asarray(VALUES[k]) for k in ("B", "C")}
    d = sbp.derive(text, shapes={"B": (2, 3), "C": (2, 3)})
    assert d.check(values).ok
    b = torch.tensor(values["B"], requires_grad=True)
    (torch.tensor(values["C"]) * torch.log_softmax(b, dim=dim)).sum().backward()
    assert b.grad is not None
    np.testing.assert_allclose(d.evaluate(values)["B"], b.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_log_softmax_of_a_tensor_along_an_axis() -> None:
    x = np.linspace(-1.0, 1.3, 24).reshape(2, 3, 4)
    d = sbp.derive("sum(hadamard(Y, log_softmax(X, axis=1)))", shapes={"X": (2, 3, 4),
                                                                    "Y": (2, 3, 4)})
    assert d.check({"X": x, "Y": np.cos(x)}).ok


NORM_X = np.array([[0.4], [-1.3], [0.9]])
NORM_M = np.array([[0.5, -1.2, 0.3], [-0.7, 0.25, 1.1]])  # column sums 1.2, 1.45, 1.4


def _at(a: np.ndarray, idx: tuple[int, int], v: float) -> np.ndarray:
    out = np.zeros_like(a)
    out[idx] = v
    return out


@pytest.mark.parametrize(("text", "value", "want"), [
    ("norm(x, 2)", NORM_X, NORM_X / np.linalg.norm(NORM_X)),
    ("norm(x)", NORM_X, NORM_X / np.linalg.norm(NORM_X)),
    ("norm(x, 1)", NORM_X, np.sign(NORM_X)),
    ("norm(x, np.inf)", NORM_X, _at(NORM_X, (1, 0), -1.0)),
    ("norm(x, ord=-np.inf)", NORM_X, _at(NORM_X, (0, 0), 1.0)),
    ("norm(x, 3)", NORM_X, np.sign(NORM_X) * np.abs(NORM_X) ** 2
     / np.sum(np.abs(NORM_X) ** 3) ** (2 / 3)),
    # a vector's −2 is NumPy's p = −2, (Σ|x|⁻²)^(−1/2), not the spectral norm of a matrix
    ("norm(x, -2)", NORM_X, np.sign(NORM_X) * np.abs(NORM_X) ** -3
     * np.sum(np.abs(NORM_X) ** -2.0) ** (-3 / 2)),
    # a row is a 2-D array, as NumPy reads it: its 1-norm the largest column sum, |x_1|
    ("norm(x.T, 1)", NORM_X, np.where(np.arange(3)[:, None] == 1, np.sign(NORM_X), 0.0)),
    ("norm(x.T, np.inf)", NORM_X, np.sign(NORM_X)),  # and its inf-norm the row sum
    ("norm(X, 'fro')", NORM_M, NORM_M / np.linalg.norm(NORM_M)),
    ("np.linalg.norm(X, ord=1)", NORM_M,  # the largest column sum of |X|: column 1
     np.where(np.arange(3) == 1, np.sign(NORM_M), 0.0)),
    ("norm(X, np.inf)", NORM_M,  # the largest row sum of |X|: row 1
     np.where(np.arange(2)[:, None] == 1, np.sign(NORM_M), 0.0)),
    ("norm(X, -1)", NORM_M, np.where(np.arange(3) == 0, np.sign(NORM_M), 0.0)),
])
def test_norm_takes_numpy_s_orders(text: str, value: np.ndarray, want: np.ndarray) -> None:
    """np.linalg.norm(x, ord): each order's gradient as the literature states it, checked
    against the witness's own np.linalg.norm, in generated code and in LaTeX."""
    name = "x" if value.shape[1] == 1 else "X"
    d = sbp.derive(text, shapes={name: value.shape})
    np.testing.assert_allclose(d.evaluate({name: value})[name], want, rtol=1e-12)
    assert d.check({name: value}).ok
    _, grads = run_generated(d.to_python(), {name: value})
    np.testing.assert_allclose(grads[name], want, rtol=1e-12)
    assert_latex_ok([d.latex()])


@pytest.mark.parametrize(("text", "error", "message"), [
    ("norm(X, 2)", sbp.UnsupportedError, "spectral norm of a matrix is not a primitive"),
    ("norm(X, 'nuc')", sbp.UnsupportedError, "nuclear norm"),
    ("norm(x, 0)", sbp.OptionError, "ord is None, a nonzero number.*counts the nonzero"),
    ("norm(X, 3)", sbp.ShapeError, "a matrix's ord is None, 'fro', 1, -1, inf or -inf"),
    ("norm(x, 1, ord=2)", sbp.ShapeError, "given twice"),
    ("norm(x, y)", sbp.ParseError, "an order: a number, None, inf"),
    ("norm(T, 1)", sbp.ShapeError, "not a tensor"),
])
def test_norm_refuses_orders_it_has_no_rule_for(text: str, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        sbp.derive(text, shapes={"x": (3, 1), "X": (2, 3), "T": (2, 2, 2)})


@pytest.mark.parametrize(("tex", "means"), [
    (r"\|x\|_1", "norm(x, 1)"), (r"\left\lVert x \right\rVert_{\infty}", "norm(x, np.inf)"),
    (r"\|x\|_3^3", "norm(x, 3)**3"), (r"\|x\|_1^{2}", "norm(x, 1)**2"),
    (r"\|X\|_1", "norm(X, 1)"), (r"\|X\|_\infty", "norm(X, np.inf)"),
    (r"\|x\|_2^2", "sum(x**2)"),
])
def test_the_norms_a_paper_writes(tex: str, means: str) -> None:
    """‖x‖₁, ‖x‖_∞, ‖x‖_p and a matrix's ‖X‖₁ (largest column sum) read as NumPy's
    orders; ‖x‖_p with p a letter says what is read."""
    shapes = {"x": (3, 1), "X": (2, 3)}
    values = {"x": NORM_X, "X": NORM_M}
    got, want = sbp.derive(tex, syntax="latex", shapes=shapes), sbp.derive(means, shapes=shapes)
    name = str(want.wrt[0].name)
    np.testing.assert_allclose(got.evaluate({name: values[name]})[name],
                               want.evaluate({name: values[name]})[name], rtol=1e-12)
    with pytest.raises(sbp.ParseError, match="a p-norm of a whole number p"):
        sbp.derive(r"\|x\|_p", syntax="latex", shapes=shapes)


@pytest.mark.parametrize(("text", "means"), [
    ("‖x‖₁", "norm(x, 1)"), ("‖x‖_∞", "norm(x, np.inf)"), ("‖x‖_{1}²", "norm(x, 1)**2"),
    ("‖x‖₃ + ‖x‖_inf", "norm(x, 3) + norm(x, np.inf)"), ("‖X‖₁", "norm(X, 1)"),
    ("‖x‖₂²", "sum(x**2)"),
])
def test_the_norms_in_paper_notation(text: str, means: str) -> None:
    shapes = {"x": (3, 1), "X": (2, 3)}
    values = {"x": NORM_X, "X": NORM_M}
    got, want = sbp.derive(text, shapes=shapes), sbp.derive(means, shapes=shapes)
    name = str(want.wrt[0].name)
    np.testing.assert_allclose(got.evaluate({name: values[name]})[name],
                               want.evaluate({name: values[name]})[name], rtol=1e-12)


SQ = np.array([[1.4, -0.3, 0.2], [0.5, 1.1, -0.4], [0.1, 0.6, 0.9]])
V3 = np.array([[0.3], [-1.2], [0.5]])
W3 = np.array([[1.1], [0.4], [-0.7]])


@pytest.mark.parametrize(("text", "name", "want"), [
    # d/dX of sum(X³) = Σ_k (Xᵏ)ᵀ 𝟏𝟏ᵀ (X^{2-k})ᵀ, k = 0, 1, 2
    ("sum(matrix_power(X, 3))", "X", lambda: sum(
        np.linalg.matrix_power(SQ, k).T @ np.ones((3, 3)) @ np.linalg.matrix_power(SQ, 2 - k).T
        for k in range(3))),
    # d tr(X⁻²)/dX = −2 (X⁻³)ᵀ
    ("trace(matrix_power(X, -2))", "X", lambda: -2 * np.linalg.matrix_power(
        np.linalg.inv(SQ), 3).T),
    # d (wᵀ A⁻¹ v)/dA = −A⁻ᵀ w vᵀ A⁻ᵀ ... as ∂/∂A of wᵀ solve(A, v)
    ("np.linalg.solve(X, v).T @ w", "X", lambda: -np.linalg.inv(SQ).T @ W3 @ (
        np.linalg.inv(SQ) @ V3).T),
    ("np.inner(np.ravel(v), np.ravel(w)) * np.vdot(X, X)", "X", lambda: 2 * SQ * float((V3.T @ W3)[0, 0])),
    ("sum(np.inner(X, X))", "X", lambda: 2 * np.ones((3, 3)) @ SQ),
    ("sum(np.matmul(X, v))", "v", lambda: SQ.T @ np.ones((3, 1))),
])
def test_numpy_linear_algebra_by_name(text: str, name: str, want: Any) -> None:
    """np.linalg.solve, matrix_power, inner, vdot and matmul, written out in primitives
    (A⁻¹b, X·X·X, A Bᵀ, Σ X ⊙ Y): gradients as the matrix cookbook states them, checked
    against the witness's own NumPy functions and run in generated code."""
    values = {"X": SQ, "v": V3, "w": W3}
    d = sbp.derive(text, wrt=name, shapes={"X": (3, 3), "v": (3, 1), "w": (3, 1)})
    used = {str(s.name) for s in d.inputs}
    values = {k: v for k, v in values.items() if k in used}
    np.testing.assert_allclose(d.evaluate(values)[name], want(), rtol=1e-10)
    assert d.check(values).ok
    _, grads = run_generated(d.to_python(), values)
    np.testing.assert_allclose(grads[name], want(), rtol=1e-10)


@pytest.mark.parametrize(("text", "message"), [
    ("sum(matrix_power(X, k))", "a whole number written in the text"),
    ("sum(matrix_power(X, 65))", "at most 64"),
    ("sum(matrix_power(B, 2))", "square matrix"),
    ("sum(solve(B, v))", "square matrix first"),
    ("vdot(X, v)", "two arrays of one shape"),
])
def test_numpy_linear_algebra_refusals(text: str, message: str) -> None:
    with pytest.raises(sbp.ShapeError, match=message):
        sbp.derive(text, shapes={"X": (3, 3), "v": (3, 1), "B": (3, 2)})


@pytest.mark.parametrize(("text", "means"), [
    ("np.amax(x) + np.amin(X, axis=0).sum()", "max(x) + sum(min(X, axis=0))"),
    ("np.sum(X, axis=1, keepdims=True).sum() + np.absolute(x).sum()",
     "sum(sum(X, axis=1)) + sum(abs(x))"),
])
def test_numpy_synonyms_and_keepdims(text: str, means: str) -> None:
    shapes = {"x": (3, 1), "X": (2, 3)}
    values = {"x": V3, "X": NORM_M}
    got, want = sbp.derive(text, shapes=shapes).evaluate(values), \
        sbp.derive(means, shapes=shapes).evaluate(values)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12)


@pytest.mark.parametrize("text", ["max(x) + sum(x)", "max(x)*sum(x) + x.T@x",
                                  "max(x) + sum(abs(x)) + sum(x)", "min(x)*sum(sin(x))**2"])
@pytest.mark.parametrize("granularity", ["auto", "primitive", "layers", "stages"])
def test_a_one_by_one_read_as_a_number_and_as_a_matrix(text: str, granularity: str) -> None:
    """max(x) of a 1×1 x is x read as a number (its .item()), sum(x) reads it as a matrix:
    the two adjoint terms were a number and a matrix, and adding them raised SymPy's
    TypeError ("Mix of Matrix and Scalar symbols"); the number is lifted to its 1×1 now."""
    d = sbp.derive(text, shapes={"x": (1, 1)}, granularity=granularity)  # type: ignore[arg-type]
    x = np.array([[0.7]])
    want = {"max(x) + sum(x)": 2.0, "max(x)*sum(x) + x.T@x": 4 * 0.7,
            "max(x) + sum(abs(x)) + sum(x)": 3.0,
            "min(x)*sum(sin(x))**2": np.sin(0.7) ** 2 + 2 * 0.7 * np.sin(0.7) * np.cos(0.7)}
    np.testing.assert_allclose(d.evaluate({"x": x})["x"], [[want[text]]], rtol=1e-12)
    assert d.check({"x": x}).ok
    _, grads = run_generated(d.to_python(), {"x": x})
    np.testing.assert_allclose(grads["x"], [[want[text]]], rtol=1e-12)


def test_where_is_numpys_for_any_condition() -> None:
    """x where the condition is not 0, as NumPy and PyTorch: (x > 0) + (y > 0), an 'or',
    is 2, and picked x·y (it blended 2xy − (x + y) before, and check() agreed: a held-out
    case); no gradient flows into the condition."""
    d = sbp.derive("where((x > 0) + (y > 0), x*y, x + y)", wrt=["x", "y"])
    assert d.evaluate({"x": 1.0, "y": 2.0}) == {"x": 2.0, "y": 1.0}
    assert d.check({"x": 1.0, "y": 2.0}).ok
    c = sbp.derive("sum(where(C, X, Y))", shapes={"C": (2, 2), "X": (2, 2), "Y": (2, 2)})
    vals = {"C": np.array([[2.0, 0.0], [-0.5, 0.0]]), "X": np.ones((2, 2)),
            "Y": np.zeros((2, 2))}
    got = c.evaluate(vals)
    np.testing.assert_array_equal(got["X"], [[1, 0], [1, 0]])
    np.testing.assert_array_equal(got["C"], 0)
    assert c.check(vals).ok


def test_where_never_multiplies_the_branch_not_taken() -> None:
    """where is a primitive, not C ⊙ X + (1 − C) ⊙ Y: a mask of −∞ in the branch not taken
    gave NaN everywhere (0 · ∞). Softmax of a causal mask made with where: every witness
    agrees and the masked weights get no gradient."""
    shapes = {"X": (3, 3), "M": (3, 3), "N": (3, 3), "R": (3, 3)}
    d = sbp.derive("sum(hadamard(R, softmax(where(M, X, N), axis=1)))", shapes=shapes,
                   wrt=["X"])
    rng = np.random.default_rng(3)
    values = {"X": rng.normal(size=(3, 3)), "M": np.tril(np.ones((3, 3))),
              "N": np.full((3, 3), -np.inf), "R": rng.normal(size=(3, 3))}
    report = d.check(values)
    assert report.ok, report
    got = d.evaluate(values)["X"]
    s = np.where(values["M"] == 1, values["X"], -np.inf)
    a = np.exp(s - s.max(axis=1, keepdims=True))
    a /= a.sum(axis=1, keepdims=True)
    r = values["R"]
    want = a * (r - np.sum(r * a, axis=1, keepdims=True))  # the row softmax's VJP
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    assert np.all(got[values["M"] == 0] == 0)


@pytest.mark.parametrize(("text", "slopes"), [
    # (slope at 0, slope at 800): PyTorch's at 0 is the branch below's (α for elu, the
    # negative slope for leaky_relu); at 800 the branch below must not overflow into NaN
    ("elu(x)", (1.0, 1.0)), ("elu(x, 2)", (2.0, 1.0)), ("celu(x, 2)", (1.0, 1.0)),
    ("leaky_relu(x, 0.1)", (0.1, 1.0)), ("leaky_relu(x, 1)", (1.0, 1.0)),
    ("selu(x)", (1.0507009873554805 * 1.6732632423543772, 1.0507009873554805)),
])
def test_the_elu_family_at_zero_and_far_above_it(text: str, slopes: tuple[float, float]) -> None:
    """Written with where(x > 0, x, below(x)), the branch below evaluated at min(x, 0): at 0
    the slope is PyTorch's (held-out cases gave ½, from a min's tie), at x = 800 it is
    the slope above (e^800 made 0 · ∞ = NaN)."""
    d = sbp.derive(text)
    for x, want in zip((0.0, 800.0), slopes, strict=True):
        assert d.evaluate({"x": x})["x"] == pytest.approx(want, rel=1e-12)
    assert d.check({"x": 800.0}).ok
    assert d.check({"x": -0.7}).ok


@pytest.mark.parametrize(("text", "shape"), [
    ("np.sum(np.cumsum(np.prod(q, 1, keepdims=True), axis=0)[:, ::-2])", (1, 3)),
    ("np.sum(np.sin(q[:, ::-1]) ** 3)", (3, 1)),
    ("np.sum(np.sin(q[::-1, ::-1]))", (1, 1)),
    ("np.sum(np.exp(q[::-1, ::-1]) @ np.ones((1, 2)))", (1, 1)),
])
def test_a_negative_step_along_an_axis_of_one_entry(text: str, shape: tuple[int, int]) -> None:
    """The flip along an axis of length 1 is the value itself: a (1, 1) value flipped was
    read as a scalar, and the slice of it failed an AttributeError (found by the fixer of
    held-out round U6's findings). NumPy's value and central differences."""
    q = np.random.default_rng(4).uniform(0.5, 1.5, shape)
    d = sbp.derive(text, shapes={"q": shape})
    f = lambda a: float(eval(text, {"np": np, "q": a}))  # noqa: E731 (the test's own text, NumPy as the oracle)
    np.testing.assert_allclose(d.trace({"q": q}).rows[-1].value, f(q), rtol=1e-12)
    fd = np.zeros(shape)
    for i in np.ndindex(shape):
        e = np.zeros(shape)
        e[i] = 1e-6
        fd[i] = (f(q + e) - f(q - e)) / 2e-6
    np.testing.assert_allclose(d.evaluate({"q": q})["q"], fd, rtol=1e-6, atol=1e-8)
    assert d.check({"q": q}).ok
