"""Spellings that were read as another function, silently (check() differentiates what was
read, so it could not see it); each case against JAX's gradient of what the literature means.

* a transpose after a power (``X⁻¹ᵀ``, ``X^{-1}^{T}``, ``X²ᵀ``) fell on the exponent, a number;
* LaTeX index sums (``\\sum_i``) broadcast a matrix with the index, and an unindexed vector,
  entry by entry, and squared a square matrix as a matrix power;
* ``|Σ|`` of a square matrix (the Cookbook's determinant) was read as the entries' absolute
  values, and printed back as ``\\left|Σ\\right|``;
* smaller gaps: ``X^{-1\\top}``, ``\\operatorname{diag}``, the reading of ``λ/2‖w‖²``, ``√xᵀAx``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp

jax = pytest.importorskip("jax", reason="the [jax] extra is not installed")
jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
import jax.numpy as jnp  # noqa: E402  (after the skip)

M = (3, 3)
RNG = np.random.default_rng(0)
A = RNG.standard_normal(M)
X = RNG.standard_normal(M) + 3 * np.eye(3)
SQUARE = {"A": M, "X": M}


def _grad(src: str, wrt: str, shapes: dict[str, Any], values: dict[str, Any],
          syntax: str = "text") -> np.ndarray:
    d = sbp.derive(src, wrt, shapes=shapes, syntax=syntax)  # type: ignore[arg-type]
    return np.asarray(d.evaluate(values)[wrt])


# F1 -------------------------------------------------------------------------------------
INVERSE_T = ["tr(A X⁻¹ᵀ)", "trace(A @ X^{-1}^{T})", "trace(A @ X^(-1)^T)", "trace(A @ X⁻¹.T)",
             "trace(A @ X^(-1)ᵀ)", "trace(A @ X^-1.T)", "trace(A @ X^{-1}ᵀ)", "tr(A X^-1^T)"]


@pytest.mark.parametrize("src", INVERSE_T)
def test_a_transpose_after_an_inverse_is_the_inverse_transposed(src: str) -> None:
    oracle = jax.grad(lambda m: jnp.trace(A @ jnp.linalg.inv(m).T))(X)
    np.testing.assert_allclose(_grad(src, "X", SQUARE, {"A": A, "X": X}), oracle, rtol=1e-9)


@pytest.mark.parametrize("src", ["sum(A ⊙ X²ᵀ)", "sum(A ⊙ X^{2}^{T})", "sum(A ⊙ X^2ᵀ)",
                                 "sum(A ⊙ X^2.T)", "sum(A ⊙ X^(2)^T)"])
def test_a_transpose_after_a_square_is_the_square_transposed(src: str) -> None:
    oracle = jax.grad(lambda m: jnp.sum(A * (m @ m).T))(X)
    np.testing.assert_allclose(_grad(src, "X", SQUARE, {"A": A, "X": X}), oracle, rtol=1e-9)


def test_a_transpose_after_a_typed_power_in_paper_notation_is_the_power_transposed() -> None:
    """``X**(-1)ᵀ``: ᵀ is paper notation, the power's (NumPy's element-wise reciprocal)."""
    oracle = jax.grad(lambda m: jnp.sum(A * (1 / m).T))(X)
    np.testing.assert_allclose(_grad("sum(A ⊙ X**(-1)ᵀ)", "X", SQUARE, {"A": A, "X": X}),
                               oracle, rtol=1e-9)


@pytest.mark.parametrize("src", ["trace(A @ X**(-1).T)", "sum(x**2 .T)", "sum(x**2.T)"])
def test_a_typed_transpose_of_a_number_exponent_is_refused(src: str) -> None:
    """Python binds .T before **: X**(-1).T transposes -1, which has no transpose."""
    with pytest.raises(sbp.ParseError, match=r"\(X\*\*k\)\.T"):
        sbp.derive(src, shapes={**SQUARE, "x": (3, 1)})


@pytest.mark.parametrize("src", ["X⁻¹ᵀ⁻¹ᵀ", "sum(2.T * X)", "sum((-1).T * X)"])
def test_a_transpose_never_falls_on_a_number(src: str) -> None:
    with pytest.raises(sbp.ParseError, match="transpose"):
        sbp.derive(f"sum({src})" if "sum" not in src else src, shapes=SQUARE)


@pytest.mark.parametrize("src", [r"\operatorname{tr}(\mathbf{A}\mathbf{X}^{-1\top})",
                                 r"\operatorname{tr}(\mathbf{A}\mathbf{X}^{\top -1})",
                                 r"\operatorname{tr}(\mathbf{A}\mathbf{X}^{-1}^{\top})"])
def test_latex_power_and_transpose_in_one_superscript(src: str) -> None:
    oracle = jax.grad(lambda m: jnp.trace(A @ jnp.linalg.inv(m).T))(X)
    np.testing.assert_allclose(_grad(src, "X", SQUARE, {"A": A, "X": X}, "latex"), oracle,
                               rtol=1e-9)


def test_latex_square_and_transpose_in_one_superscript() -> None:
    oracle = jax.grad(lambda m: jnp.sum(A * (m @ m).T))(X)
    for src in (r"\sum \mathbf{A} \odot \mathbf{X}^{2\top}",
                r"\sum \mathbf{A} \odot \mathbf{X}^{\top 2}"):
        np.testing.assert_allclose(_grad(src, "X", SQUARE, {"A": A, "X": X}, "latex"), oracle,
                                   rtol=1e-9)


# F2 -------------------------------------------------------------------------------------
DATA = RNG.standard_normal((5, 3))
W = RNG.standard_normal((3, 1))
Y = np.sign(RNG.standard_normal((5, 1)))
LOGISTIC = r"\sum_i \log\left(1 + e^{-y_i \mathbf{w}^\top \mathbf{x}_i}\right)"


@pytest.mark.parametrize(("src", "shapes", "hint"), [
    (LOGISTIC, {"w": (3, 1), "x": M, "y": (3, 1)}, r"\mathbf{1}^\top \log(1 + e^{-"),
    (LOGISTIC, {"w": (3, 1), "x": (3, 5), "y": (5, 1)}, "(n, d), n ≠ d, and w (d, 1)"),
    (r"\frac{\lambda}{2}\sum_k W_k^2", {"W": M}, r"\|\mathbf{W}\|_F^2"),
    (r"\sum_i (y_i - \mathbf{w}^\top\mathbf{x}_i)^2", {"w": (3, 1), "x": M, "y": (3, 1)},
     r"\|\mathbf{y} - \mathbf{X}\mathbf{w}\|^2"),
    (r"\sum_i (y_i - \mathbf{x}_i^\top\mathbf{w})^2", {"w": (3, 1), "x": M, "y": (3, 1)},
     r"\|\mathbf{y} - \mathbf{X}\mathbf{w}\|^2"),
    (r"\sum_i X_i^2", {"X": M}, r"\|\mathbf{W}\|_F^2"),
    (r"\sum_i \log\sigma(\mathbf{w}^\top\mathbf{x}_i)", {"w": (3, 1), "x": M}, "transpose"),
    (r"\sum_i \mathbf{w}^\top A \mathbf{x}_i", {"w": (3, 1), "x": (5, 3), "A": M}, "transpose"),
    (r"\sum_i \mathbf{x}_i^\top \mathbf{x}_i", {"x": (5, 3)}, "transpose"),
    (r"\sum_i y_i \mathbf{w}^\top\mathbf{x}_i", {"w": (3, 1), "x": (5, 3), "y": (1, 5)},
     "one shape"),
    (r"\sum_i y_i \mathbf{w}", {"w": (3, 1), "y": (3, 1)}, "without the index"),
    (r"\sum_i y_i W x_i", {"W": M, "x": (3, 1), "y": (3, 1)}, "without the index"),
    (r"\sum_i (\mathbf{w}^\top\mathbf{x}_i)^2", {"w": (3, 1), "x": M}, "transpose"),
    (r"\frac1N\sum_n\|\mathbf{x}_n - \mathbf{W}\mathbf{z}_n\|^2",
     {"x": (4, 5), "z": (2, 5), "W": (4, 2)}, "norm"),
    (r"\sum_i \operatorname{tr}(y_i)", {"y": (3, 1)}, "not entry by entry"),
    (r"\sum_i y_i r_i", {"y": (3, 1), "r": (1, 3)}, "one shape"),
    ("H = \\mathbf{W}\\mathbf{X} \\\\ L = \\sum_i H_i^2", {"W": M, "X": M}, "matrix"),
])
def test_an_index_sum_that_is_not_entry_by_entry_is_refused(src: str, shapes: dict[str, Any],
                                                            hint: str) -> None:
    with pytest.raises(sbp.ParseError) as e:
        sbp.derive(src, shapes=shapes, syntax="latex")
    assert hint in str(e.value)


ROWS = {"w": (3, 1), "x": (5, 3), "y": (5, 1)}


@pytest.mark.parametrize(("src", "f"), [
    (LOGISTIC, lambda v: jnp.sum(jnp.log1p(jnp.exp(-Y * (DATA @ v))))),
    (r"\sum_i \log(1 + \exp(-y_i \mathbf{x}_i^\top\mathbf{w}))",
     lambda v: jnp.sum(jnp.log1p(jnp.exp(-Y * (DATA @ v))))),
    (r"\frac{1}{2}\sum_{i=1}^{n} (y_i - \mathbf{w}^\top\mathbf{x}_i)^2",
     lambda v: 0.5 * jnp.sum((Y - DATA @ v) ** 2)),
    (r"\sum_i \log\sigma(\mathbf{w}^\top\mathbf{x}_i)",
     lambda v: jnp.sum(jnp.log(jax.nn.sigmoid(DATA @ v)))),
    (r"\sum_i \mathbf{w}^\top\mathbf{x}_i\,\mathbf{x}_i^\top\mathbf{w}",
     lambda v: jnp.sum((DATA @ v) ** 2)),
])
def test_sample_rows_of_a_data_matrix_read_as_the_literature_means(src: str, f: Any) -> None:
    """x declared (n, d), n ≠ d: in Σᵢ, xᵢ is row i and wᵀxᵢ entry i of x·w (a reading)."""
    d = sbp.derive(src, "w", shapes=ROWS, syntax="latex")
    assert any("row i of the 5×3 matrix x" in r for r in d.readings), d.readings
    vals = {"w": W, "x": DATA, "y": Y}
    np.testing.assert_allclose(d.evaluate(vals)["w"], jax.grad(f)(W), rtol=1e-9)
    assert d.check(vals).ok


def test_the_vector_forms_the_refusals_show_read_as_meant() -> None:
    """What the messages say to write gives the literature's gradients."""
    logistic = r"\mathbf{1}^\top \log(1 + e^{-\mathbf{y} \odot \mathbf{X}\mathbf{w}})"
    oracle = jax.grad(lambda v: jnp.sum(jnp.log1p(jnp.exp(-Y * (DATA @ v)))))(W)
    got = _grad(logistic, "w", {"w": (3, 1), "X": (5, 3), "y": (5, 1)},
                {"w": W, "X": DATA, "y": Y}, "latex")
    np.testing.assert_allclose(got, oracle, rtol=1e-9)
    least = r"\|\mathbf{y} - \mathbf{X}\mathbf{w}\|^2"
    oracle = jax.grad(lambda v: jnp.sum((Y - DATA @ v) ** 2))(W)
    got = _grad(least, "w", {"w": (3, 1), "X": (5, 3), "y": (5, 1)},
                {"w": W, "X": DATA, "y": Y}, "latex")
    np.testing.assert_allclose(got, oracle, rtol=1e-9)
    decay = r"\frac{\lambda}{2}\|\mathbf{W}\|_F^2"
    got = _grad(decay, "W", {"W": M}, {"W": A, "lam": 0.1}, "latex")
    np.testing.assert_allclose(got, 0.1 * A, rtol=1e-12)


def test_index_sums_of_vectors_read_entry_by_entry() -> None:
    v: dict[str, Any] = {"w": RNG.standard_normal((4, 1)), "x": RNG.standard_normal((4, 1)),
                         "y": RNG.standard_normal((4, 1)), "lam": 0.3}
    shapes = {"w": (4, 1), "x": (4, 1), "y": (4, 1)}
    src = r"\sum_i \lambda w_i^2 x_i + \frac{1}{2}\sum_{i=1}^{n} (y_i - w_i x_i)^2"

    def f(w: Any) -> Any:
        return jnp.sum(0.3 * w**2 * v["x"]) + 0.5 * jnp.sum((v["y"] - w * v["x"]) ** 2)

    np.testing.assert_allclose(_grad(src, "w", shapes, v, "latex"), jax.grad(f)(v["w"]),
                               rtol=1e-9)
    staged = "h = \\mathbf{W}\\mathbf{x} \\\\ L = \\sum_i \\sigma(h_i)^2"
    Wm = RNG.standard_normal(M)
    got = _grad(staged, "W", {"W": M, "x": (3, 1)}, {"W": Wm, "x": v["x"][:3]}, "latex")
    oracle = jax.grad(lambda m: jnp.sum(jax.nn.sigmoid(m @ v["x"][:3]) ** 2))(Wm)
    np.testing.assert_allclose(got, oracle, rtol=1e-9)


# F3 -------------------------------------------------------------------------------------
SIGMA = np.array([[2.0, 0.5, 0.0], [0.5, 3.0, 0.2], [0.0, 0.2, 1.5]])
MU = np.array([[0.1], [-0.3], [0.2]])
XV = np.ones((3, 1))
GAUSS = {"Sigma": M, "mu": (3, 1), "x": (3, 1)}


def _gaussian(s: Any, m: Any) -> Any:
    r = XV - m
    return -0.5 * jnp.linalg.slogdet(s)[1] - 0.5 * (r.T @ jnp.linalg.solve(s, r))[0, 0]


@pytest.mark.parametrize(("src", "syntax"), [
    (r"-\tfrac12\ln|\Sigma| - \tfrac12 (x-\mu)^{T}\Sigma^{-1}(x-\mu)", "latex"),
    (r"-\frac{1}{2}\log\left|\boldsymbol{\Sigma}\right| - \frac{1}{2}(\mathbf{x}-"
     r"\boldsymbol{\mu})^\top\boldsymbol{\Sigma}^{-1}(\mathbf{x}-\boldsymbol{\mu})", "latex"),
    (r"-\frac{1}{2}\log\lvert\Sigma\rvert - \frac{1}{2}(x-\mu)^\top\Sigma^{-1}(x-\mu)", "latex"),
    ("-½ log|Σ| - ½ (x − μ)ᵀ Σ⁻¹ (x − μ)", "text"),
])
def test_bars_of_a_square_matrix_are_its_determinant(src: str, syntax: str) -> None:
    d = sbp.derive(src, ["Sigma", "mu"], shapes=GAUSS, syntax=syntax)  # type: ignore[arg-type]
    assert not d.is_jacobian
    assert any("determinant" in r for r in d.readings), d.readings
    vals = {"Sigma": SIGMA, "mu": MU, "x": XV}
    got = d.evaluate(vals)
    np.testing.assert_allclose(got["Sigma"], jax.grad(_gaussian, 0)(SIGMA, MU), rtol=1e-9)
    np.testing.assert_allclose(got["mu"], jax.grad(_gaussian, 1)(SIGMA, MU), rtol=1e-9)
    assert d.check(vals).ok


def test_the_determinant_read_from_bars_prints_and_reads_back() -> None:
    d = sbp.derive("-½ log|Σ| - ½ (x − μ)ᵀ Σ⁻¹ (x − μ)", ["Sigma", "mu"], shapes=GAUSS)
    tex = d.latex(sections="forward")
    assert r"\det" in tex
    back = sbp.derive(tex, ["Sigma", "mu"], shapes=GAUSS, syntax="latex")
    vals = {"Sigma": SIGMA, "mu": MU, "x": XV}
    got, want = back.evaluate(vals), d.evaluate(vals)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12)
    assert_latex_ok([tex, d.latex()])


def test_bars_of_numbers_vectors_and_non_square_matrices_are_absolute_values() -> None:
    v = RNG.standard_normal((3, 1))
    d = sbp.derive("sum(|x|)", "x", shapes={"x": (3, 1)})
    assert d.readings == ()
    np.testing.assert_allclose(d.evaluate({"x": v})["x"], np.sign(v))
    n = RNG.standard_normal((2, 3))
    for src, syntax in (("sum(|N|)", "text"), (r"\sum \left|\mathbf{N}\right|", "latex")):
        d = sbp.derive(src, "N", shapes={"N": (2, 3)}, syntax=syntax)  # type: ignore[arg-type]
        assert any("not square" in r for r in d.readings), d.readings
        np.testing.assert_allclose(d.evaluate({"N": n})["N"], np.sign(n))
    d = sbp.derive("ln|det S|", "S", shapes={"S": M})  # the absolute value of a number
    np.testing.assert_allclose(d.evaluate({"S": -SIGMA})["S"], np.linalg.inv(-SIGMA).T,
                               rtol=1e-9)
    d = sbp.derive("sum(abs(S))", "S", shapes={"S": M})  # typed abs: entry by entry
    np.testing.assert_allclose(d.evaluate({"S": A})["S"], np.sign(A))


def test_absolute_values_of_a_matrix_print_as_abs_and_read_back() -> None:
    shapes = {"S": M, "x": (3, 1)}
    d = sbp.derive("sum(abs(S) @ x) + sum(abs(x))", shapes=shapes)
    tex = d.latex(sections="forward")
    assert r"\operatorname{abs}\left(\mathbf{S}\right)" in tex
    assert r"\left|{\mathbf{S}}\right|" not in tex
    assert r"\left|\mathbf{S}\right|" not in tex
    back = sbp.derive(tex, syntax="latex", shapes=shapes)
    assert back.readings == ()
    vals = {"S": A, "x": RNG.standard_normal((3, 1))}
    got, want = back.evaluate(vals), d.evaluate(vals)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12)
    assert_latex_ok([tex, d.latex()])


# F6 -------------------------------------------------------------------------------------
def test_latex_reads_the_text_vocabulary_through_operatorname() -> None:
    y, dv, b = (RNG.standard_normal((3, 1)) for _ in range(3))
    shapes = {"y": (3, 1), "d": (3, 1), "A": M, "b": (3, 1)}
    vals = {"y": y, "d": dv, "A": X, "b": b}
    got = _grad(r"\mathbf{y}^\top\operatorname{diag}(\mathbf{d})\mathbf{y}", "d", shapes, vals,
                "latex")
    np.testing.assert_allclose(got, y**2, rtol=1e-12)
    got = _grad(r"\mathbf{y}^\top\operatorname{solve}(\mathbf{A}, \mathbf{b})", "A", shapes,
                vals, "latex")
    oracle = jax.grad(lambda m: (y.T @ jnp.linalg.solve(m, b))[0, 0])(X)
    np.testing.assert_allclose(got, oracle, rtol=1e-9)


def test_the_printed_diag_reads_back() -> None:
    """The Jacobians print \\operatorname{diag}(v): read back, the diagonal matrix of v."""
    import sympy as sp

    from symbackprop.emit.printer import expr_latex
    from symbackprop.functions import DiagJacobian

    v = sp.MatrixSymbol("v", 3, 1)
    tex = expr_latex(DiagJacobian(v))
    assert tex == r"\operatorname{diag}\left(\mathbf{v}\right)"
    a = RNG.standard_normal(M)
    back = sbp.derive(rf"\sum \mathbf{{A}} \odot {tex}", "v", shapes={"A": M, "v": (3, 1)},
                      syntax="latex")
    np.testing.assert_allclose(back.evaluate({"A": a, "v": np.ones((3, 1))})["v"],
                               np.diag(a).reshape(3, 1))


def test_the_reading_of_a_divisor_before_bars_suggests_valid_input() -> None:
    d = sbp.derive("λ/2‖w‖²", shapes={"w": (3, 1)})
    (note,) = d.readings
    assert "/(2*‖w‖²)" in note
    meant = "λ/(2*‖w‖²)"  # what the reading says to write parses, as the other reading
    w = np.full((3, 1), 2.0)
    got = sbp.derive(meant, "w", shapes={"w": (3, 1)}).evaluate({"w": w, "lam": 1.0})["w"]
    np.testing.assert_allclose(got, -w / 12.0**2)  # d/dw λ/(2‖w‖²) = −λw/‖w‖⁴


def test_a_root_without_brackets_says_how_far_it_reaches() -> None:
    with pytest.raises(sbp.ParseError, match=r"√\(xᵀAx\)"):
        sbp.derive("√xᵀAx", shapes={"x": (3, 1), "A": M})
    with pytest.raises(sbp.ParseError, match="√ without brackets"):
        sbp.derive("sum(√x.T)", shapes={"x": (3, 1)})
    d = sbp.derive("√2 x", "x")
    assert any("√(2)·x" in r for r in d.readings), d.readings
    x = RNG.uniform(1, 2, (3, 1))
    Am = A @ A.T + np.eye(3)
    got = _grad("√(xᵀAx)", "x", {"x": (3, 1), "A": M}, {"x": x, "A": Am})
    np.testing.assert_allclose(got, jax.grad(lambda v: jnp.sqrt((v.T @ Am @ v)[0, 0]))(x),
                               rtol=1e-9)


def test_a_number_before_dot_t_is_no_float() -> None:
    """X^-1.T: the number 1, then .T (not the float 1. times a name T)."""
    oracle = jax.grad(lambda m: jnp.trace(A @ jnp.linalg.inv(m).T))(X)
    np.testing.assert_allclose(_grad("trace(A @ X^-1.T)", "X", SQUARE, {"A": A, "X": X}),
                               oracle, rtol=1e-9)
    assert sbp.parse("1.5 * x") == 1.5 * sbp.parse("x")


@pytest.mark.parametrize("src", ["‖A[2:3, 0:3]‖²", "‖(A)[2:3, 0:3]‖²", "‖A[0:2, 1:3]‖"])
def test_a_norm_of_an_indexed_matrix_closes_after_the_index(src: str) -> None:
    """‖A[2:3, 0:3]‖² was "‖ is not closed": a bar after ] was read as opening another
    (a held-out case). The gradient is JAX's of the same norm."""
    a = np.arange(9.0).reshape(3, 3) / 7 - 0.4
    d = sbp.derive(src, shapes={"A": (3, 3)})
    rows, cols = (slice(2, 3), slice(0, 3)) if "2:3" in src else (slice(0, 2), slice(1, 3))

    def f(m: Any) -> Any:
        v = m[rows, cols]
        return jnp.sum(v ** 2) if src.endswith("²") else jnp.sqrt(jnp.sum(v ** 2))

    np.testing.assert_allclose(d.evaluate({"A": a})["A"], jax.grad(f)(a), rtol=1e-12)
