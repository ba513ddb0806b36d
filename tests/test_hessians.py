"""Hessians by forward over reverse (``sbp.hessian``): the closed forms of the literature where
the local Jacobians give them, the numbers against formulas written here and central
differences of the gradient, Hessian-vector products, matrix parameters in vec order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp

RNG = np.random.default_rng(5)


def _fd_hessian(text: str, shapes: dict[str, Any], values: dict[str, Any], name: str,
                h: float = 1e-6) -> np.ndarray:
    """Central differences of the reverse-mode gradient, vec column by column."""
    d = sbp.derive(text, wrt=name, shapes=shapes)
    base = np.asarray(values[name], dtype=float)
    cols = []
    for j in range(base.size):
        e = np.zeros(base.size)
        e[j] = h
        step = e.reshape(base.shape, order="F")
        hi = d.evaluate({**values, name: base + step})[name]
        lo = d.evaluate({**values, name: base - step})[name]
        cols.append(np.ravel((hi - lo) / (2 * h), order="F"))
    return np.stack(cols, axis=1)


def test_a_quadratic_form_has_the_hessian_half_a_plus_a_transpose() -> None:
    shapes = {"x": (3, 1), "A": (3, 3)}
    h = sbp.hessian("0.5*x.T@A@x", wrt="x", shapes=shapes)
    tex = h.latex()
    assert r"\frac{\partial \mathbf{g}_{x}}{\partial \mathbf{x}} & = 0.5\,\left(\mathbf{A}" \
        r"^{\top} + \mathbf{A}\right)" in tex
    assert_latex_ok([tex])
    A, x, v = RNG.normal(size=(3, 3)), RNG.normal(size=(3, 1)), RNG.normal(size=(3, 1))
    np.testing.assert_allclose(h.evaluate({"x": x, "A": A})["x"], 0.5 * (A + A.T))
    np.testing.assert_allclose(h.hvp({"x": x, "A": A}, v), 0.5 * (A + A.T) @ v)


def test_least_squares_has_the_hessian_two_a_transpose_a() -> None:
    shapes = {"x": (3, 1), "A": (4, 3), "b": (4, 1)}
    h = sbp.hessian("sqnorm(A@x - b)", wrt="x", shapes=shapes)
    assert r"= 2\,\mathbf{A}^{\top}\mathbf{A}" in h.latex()
    values = {"x": RNG.normal(size=(3, 1)), "A": RNG.normal(size=(4, 3)),
              "b": RNG.normal(size=(4, 1))}
    np.testing.assert_allclose(h.evaluate(values)["x"], 2 * values["A"].T @ values["A"],
                               rtol=1e-12)
    assert h.check(values).ok


def test_logistic_regression_hessian_is_x_t_diag_x() -> None:
    text = "sum(log(1 + exp(-hadamard(y, X@w))))"
    shapes = {"w": (3, 1), "X": (6, 3), "y": (6, 1)}
    values = {"w": RNG.normal(size=(3, 1)), "X": RNG.normal(size=(6, 3)),
              "y": RNG.choice([-1.0, 1.0], size=(6, 1))}
    h = sbp.hessian(text, wrt="w", shapes=shapes)
    got = h.evaluate(values)["w"]
    m = (values["y"] * (values["X"] @ values["w"]))[:, 0]
    s = 1 / (1 + np.exp(-m))
    want = values["X"].T @ np.diag(s * (1 - s)) @ values["X"]  # y² = 1
    np.testing.assert_allclose(got, want, rtol=1e-10)
    np.testing.assert_allclose(got, _fd_hessian(text, shapes, values, "w"), rtol=1e-5,
                               atol=1e-8)
    v = RNG.normal(size=(3, 1))
    np.testing.assert_allclose(h.hvp(values, v), want @ v, rtol=1e-10)


def test_a_matrix_parameter_in_vec_order() -> None:
    text = "sum(sigmoid(W@x)) + sqnorm(W)"
    shapes = {"W": (2, 3), "x": (3, 1)}
    values = {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=(3, 1))}
    h = sbp.hessian(text, wrt="W", shapes=shapes)
    got = h.evaluate(values)["W"]
    assert got.shape == (6, 6)
    np.testing.assert_allclose(got, _fd_hessian(text, shapes, values, "W"), rtol=1e-5,
                               atol=1e-8)
    np.testing.assert_allclose(got, got.T, atol=1e-12)  # a Hessian is symmetric


def test_a_scalar_variable_has_its_second_derivative() -> None:
    h = sbp.hessian("x**3*y + sin(x)", wrt="x")
    x, y = 0.7, -1.3
    assert h.evaluate({"x": x, "y": y})["x"] == pytest.approx(6 * x * y - np.sin(x))


@pytest.mark.parametrize("shape", [(1,), (1, 1), (2,), (3, 1)])
def test_a_vector_variable_has_the_n_by_n_hessian_of_one_entry_too(shape: tuple[int, ...]
                                                                     ) -> None:
    """(n, n) for every n-entry variable: of an input declared (1,) it was (1,), the
    gradient's 1-D shape (held-out round W6)."""
    text, shapes = "sum(tanh(W@x)) + sum(x**3)", {"W": (2, shape[0]), "x": shape}
    values = {"W": RNG.normal(size=(2, shape[0])), "x": RNG.normal(size=shape)}
    got = sbp.hessian(text, wrt="x", shapes=shapes).evaluate(values)["x"]
    n = int(np.prod(shape))
    assert got.shape == (n, n)
    np.testing.assert_allclose(got, _fd_hessian(text, shapes, values, "x"), rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"source": "x*y", "wrt": ["x", "y"]}, r"takes one variable, not 2 \(x, y\)"),
    ({"source": "A@x", "wrt": "x", "shapes": {"A": (2, 2), "x": (2, 1)}},
     "needs a scalar output"),
])
def test_refusals(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sbp.hessian(**kwargs)
    with pytest.raises(ValueError, match=message):
        sbp.derive(**kwargs, order=2)
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        sbp.derive("x*y", order=3)


def test_order_two_is_the_hessian() -> None:
    shapes = {"x": (3, 1), "A": (3, 3)}
    h = sbp.derive("0.5*x.T@A@x", wrt="x", shapes=shapes, order=2, layout="numerator")
    assert h.latex() == sbp.hessian("0.5*x.T@A@x", wrt="x", shapes=shapes).latex()


def test_logistic_regression_prints_x_transpose_diag_x() -> None:
    """With softplus, every local Jacobian is clean: the Hessian reads Xᵀ diag(…) X, the
    consecutive diagonal factors merged into one."""
    text = "sum(softplus(-hadamard(y, X@w)))"
    shapes = {"w": (3, 1), "X": (6, 3), "y": (6, 1)}
    h = sbp.hessian(text, wrt="w", shapes=shapes)
    tex = h.latex()
    assert r"= \mathbf{X}^{\top}\operatorname{diag}\left(\mathbf{y} \odot" in tex
    assert r"\sigma'\left(-\mathbf{t}^{(2)}\right) \odot \mathbf{y}\right)\mathbf{X}" in tex
    assert_latex_ok([tex])
    values = {"w": RNG.normal(size=(3, 1)), "X": RNG.normal(size=(6, 3)),
              "y": RNG.choice([-1.0, 1.0], size=(6, 1))}
    m = (values["y"] * (values["X"] @ values["w"]))[:, 0]
    s = 1 / (1 + np.exp(-m))
    np.testing.assert_allclose(h.evaluate(values)["w"],
                               values["X"].T @ np.diag(s * (1 - s)) @ values["X"], rtol=1e-10)


def test_logistic_regression_with_labels_0_1_is_the_textbook_form() -> None:
    """L = Σ log(1 + eᶻ) − y ⊙ z: gradient Xᵀ(σ(z) − y), Hessian Xᵀ diag(σ'(z)) X — the
    constant seed ∂L/∂L = 1 and its aliases substituted, not stages."""
    h = sbp.hessian("sum(softplus(X@w) - hadamard(y, X@w))", wrt="w",
                    shapes={"w": (3, 1), "X": (6, 3), "y": (6, 1)})
    tex = h.latex()
    assert r"\mathbf{g}_{z} &= \sigma\left(\mathbf{z}\right) - \mathbf{y}" in tex
    assert r"= \mathbf{X}^{\top}\operatorname{diag}\left(\sigma'\left(\mathbf{z}\right)" \
        r"\right)\mathbf{X}" in tex
    assert r"&= \mathbf{1}" not in tex  # no constant stage
    values = {"w": RNG.normal(size=(3, 1)), "X": RNG.normal(size=(6, 3)),
              "y": RNG.choice([0.0, 1.0], size=(6, 1))}
    z = (values["X"] @ values["w"])[:, 0]
    s = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(h.evaluate(values)["w"],
                               values["X"].T @ np.diag(s * (1 - s)) @ values["X"], rtol=1e-10)


@pytest.mark.parametrize("wrt", ["x", "W"])
def test_a_cross_entropy_hessian_checks_the_targets_of_its_gradient(wrt: str) -> None:
    """The Hessian differentiates the printed gradient softmax(o) − y, right only when y's
    columns sum to 1; its equations hold no cross-entropy node, so evaluate, hvp and check()
    took any y and gave a wrong Hessian (check() said ok: the graph agreed with itself).
    They refuse it as the first derivation does; for a one-hot y, ∂²/∂x² is
    Wᵀ(diag(p) − ppᵀ)W with p = softmax(Wx)."""
    shapes = {"x": (3, 1), "W": (3, 3), "y": (3, 1)}
    h = sbp.hessian("cross_entropy(W@x, y)", wrt=wrt, shapes=shapes)
    rng = np.random.default_rng(1)
    v = {"x": rng.normal(size=(3, 1)), "W": rng.normal(size=(3, 3)),
         "y": np.array([[0.2], [0.3], [0.9]])}
    with pytest.raises(ValueError, match="must sum to 1"):
        h.evaluate(v)
    with pytest.raises(ValueError, match="must sum to 1"):
        h.hvp(v, {wrt: np.ones(shapes[wrt])})
    assert not h.check(v).ok
    code: dict[str, Any] = {}
    exec(compile(h.to_python(), "<generated>", "exec"), code)  # trusted: made here
    g = np.arange(1.0, 1.0 + v[wrt].size).reshape(v[wrt].shape)  # G: the gradient's shape
    with pytest.raises(ValueError, match="must sum to 1"):  # the generated VJP code too
        code["vector_jacobian"](**v, G=g)
    v["y"] = np.array([[0.0], [1.0], [0.0]])
    assert h.check(v).ok
    _, vjp = code["vector_jacobian"](**v, G=g)
    np.testing.assert_allclose(np.ravel(vjp[wrt], order="F"),
                               h.evaluate(v)[wrt].T @ np.ravel(g, order="F"), rtol=1e-12,
                               atol=1e-14)
    if wrt == "x":
        z = v["W"] @ v["x"]
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        want = v["W"].T @ (np.diagflat(p) - p @ p.T) @ v["W"]
        np.testing.assert_allclose(h.evaluate(v)["x"], want, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("text", "wrt", "shapes"), [
    ("x + x", "x", {}), ("3*x + y**2", "x", {}), ("x**2*y", "y", {}),
    ("sum(A@x)", "x", {"A": (2, 3), "x": (3, 1)}),
    ("sum(W@x) + sum(W@W)", "x", {"W": (3, 3), "x": (3, 1)}),
    # the cross-entropy's target W is not read by the Hessian in x: not checked (a KeyError)
    ("x + cross_entropy(P, W)", "x", {"P": (2, 1), "W": (2, 1)})])
def test_a_function_linear_in_the_variable_has_the_hessian_zero(
        text: str, wrt: str, shapes: dict[str, Any]) -> None:
    """The gradient of a function linear in ``wrt`` does not read it, and the Hessian's
    derivation refused: "wrt='x' is not an input of the expression" (found by a Hessian
    fuzz run). The variable stays an input (Graph.keep): the Hessian is the n × n zero, its
    Hessian-vector products are 0, check() agrees, and the generated code runs."""
    h = sbp.hessian(text, wrt=wrt, shapes=shapes)
    rng = np.random.default_rng(2)
    values = {str(s.name): rng.normal(size=shapes[str(s.name)]) if str(s.name) in shapes
              else float(rng.normal()) for s in h.inputs}
    n = int(np.prod(shapes[wrt])) if wrt in shapes else 1
    got = np.asarray(h.evaluate(values)[wrt], dtype=float).reshape(n, n)
    np.testing.assert_array_equal(got, np.zeros((n, n)))
    np.testing.assert_array_equal(np.asarray(h.hvp(values, values[wrt]), dtype=float),
                                  np.zeros_like(np.asarray(values[wrt], dtype=float)))
    assert h.check(values).ok
    code: dict[str, Any] = {}
    exec(compile(h.to_python(), "<generated>", "exec"), code)  # trusted: made here
    assert_latex_ok([h.latex()])


@pytest.mark.parametrize(("x", "y", "want_xx"), [(0.7, 0.2, 2.0), (-0.7, 0.2, 0.0),
                                                 (0.7, 0.5, 0.0), (1.3, -0.4, 2.0)])
def test_the_hessian_through_max_relu_and_abs(x: float, y: float, want_xx: float) -> None:
    """Their slopes are SymPy's Heaviside and sign in the gradient, which the Hessian's
    derivation refused ("no rule for 'Heaviside'"); H(a) is read in the step primitive.
    f = max(x, 2y)·x + relu(x)·|y| is x² + x|y| where x > 2y (∂²f/∂x² = 2), else 2xy
    + relu(x)|y| (0); ∂²f/∂y² is 0 off the kinks."""
    f = "max(x, 2*y)*x + relu(x)*abs(y)"
    point = {"x": x, "y": y}
    hx, hy = sbp.hessian(f, wrt="x"), sbp.hessian(f, wrt="y")
    assert hx.evaluate(point)["x"] == pytest.approx(want_xx, abs=1e-15)
    assert hy.evaluate(point)["y"] == pytest.approx(0.0, abs=1e-15)
    assert hx.check(point).ok
    assert hy.check(point).ok


THROUGH_STRUCTURE = [
    ("sum(kron(W, x)**3) + sum(hadamard(kron(x.T, W), kron(x.T, W)))",
     {"W": (2, 2), "x": (3, 1)}, "W"),
    ("sum(kron(W, x)**3) + sum(hadamard(kron(x.T, W), kron(x.T, W)))",
     {"W": (2, 2), "x": (3, 1)}, "x"),
    ("sum(x[0:2]**3) + sum(exp(x[::2])) * x[-1]", {"x": (4, 1)}, "x"),
    ("sum(X[1:, ::2]**3) + sum(sin(X[0]))*X[1, 1]", {"X": (3, 3)}, "X"),
    ("sum(tile(x, (2, 3))**3) + sum(repeat(x, 2)**3)", {"x": (2, 1)}, "x"),
    ("sum(max(X, axis=0)**2) + sum(min(X**2, axis=1)**3)", {"X": (3, 2)}, "X"),
    ("sum(relu(X)**3) + sum(abs(X)**3) + sum(hadamard(relu(X[0]), X[1]))",
     {"X": (3, 2)}, "X"),
    ("sum(pad(x, 1)**3) + sum(concatenate((x, x**2))**2)", {"x": (3, 1)}, "x"),
    # σ⁻¹ of batch and layer normalisation's backward pass
    ("sum(hadamard(C, batchnorm(X, g, b, eps=0.01))**2)", {"X": (2, 3), "C": (2, 3),
                                                           "g": (2, 1), "b": (2, 1)}, "X"),
    ("sum(sin(layernorm(X, g, b)))", {"X": (3, 2), "g": (3, 1), "b": (3, 1)}, "g"),
    ("sum(sin(layernorm(X, g, b)))", {"X": (3, 2), "g": (3, 1), "b": (3, 1)}, "X"),
]


@pytest.mark.parametrize(("text", "shapes", "wrt"), THROUGH_STRUCTURE)
def test_the_hessian_through_slices_kron_max_relu_and_normalisation(
        text: str, shapes: dict[str, Any], wrt: str) -> None:
    """The gradient holds the nodes a backward pass writes (a slice's scatter, kron's two
    cotangents, max's 𝟙[X = M], relu′ = H(X) entry by entry, batch and layer
    normalisation's σ⁻¹), which the Hessian refused ("no rule for 'KronLeft'"). Every way to the numbers agrees with central differences
    of the first-order gradient: evaluate, both sweeps, hvp, and the generated code."""
    from symbackprop.jacobians import jacobian_values

    values = {k: RNG.normal(size=s) for k, s in shapes.items()}
    want = _fd_hessian(text, shapes, values, wrt)
    h = sbp.hessian(text, wrt=wrt, shapes=shapes)
    np.testing.assert_allclose(h.evaluate(values)[wrt], want, rtol=1e-6, atol=1e-7)
    for method in ("forward", "reverse"):
        got = jacobian_values(h, values, method=method)[wrt]  # type: ignore[arg-type]
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    v = RNG.normal(size=shapes[wrt])
    np.testing.assert_allclose(np.ravel(h.hvp(values, v), order="F"),
                               want @ np.ravel(v, order="F"), rtol=1e-6, atol=1e-7)
    assert h.check(values).ok
    code: dict[str, Any] = {}
    exec(compile(h.to_python(), "<generated>", "exec"), code)  # trusted: made here
    n = want.shape[0]
    rows = []
    for k in range(n):
        g = np.zeros(n)
        g[k] = 1.0
        _, grads = code["vector_jacobian"](**values, G=g.reshape(shapes[wrt], order="F"))
        rows.append(np.ravel(grads[wrt], order="F"))
    np.testing.assert_allclose(np.array(rows), want, rtol=1e-6, atol=1e-7)
    assert_latex_ok([h.latex()])


def test_a_hessian_with_named_dimensions_or_of_a_tensor_is_checked_at_given_values() -> None:
    """h.check() scalarises the Hessian as ⟨G, ∇f⟩ and runs the gradient's equations as its
    witness: 𝟏ₙ there needs n bound from the values ("the dimension n is not known from the
    values", even at random values), and G's shape for a tensor variable is a product of
    numbers, 2·3·5·5, not an Integer (with values given: "no value for G")."""
    h = sbp.hessian("sum(sin(x))*sum(x**2)", wrt="x", shapes={"x": ("n", 1)})
    x = np.arange(1.0, 4.0).reshape(3, 1)
    assert h.check({"x": x}).ok
    assert h.check().ok
    s, c = np.sin(x), np.cos(x)
    want = -np.diagflat(s) * np.sum(x**2) + 2 * (c @ x.T + x @ c.T) \
        + 2 * np.sum(s) * np.eye(3)
    np.testing.assert_allclose(h.evaluate({"x": x})["x"], want, rtol=1e-12)
    t = sbp.hessian("sum(sin(reshape(T, (2, -1)))) + sum(flatten(T)**2)", wrt="T",
                    shapes={"T": (2, 3, 1, 2)})
    report = t.check({"T": RNG.normal(size=(2, 3, 1, 2))})
    assert report.ok, str(report)


@pytest.mark.parametrize(("text", "shapes", "wrt"), [
    ("sum(einsum('nchw->nc', T)**2)", {"T": (2, 3, 2, 2)}, "T"),
    ("sum(sin(einsum('ij->i', A)))*sum(einsum('ij->j', A)**3)", {"A": (2, 3)}, "A"),
    ("sum(einsum('nchw,fc->nf', T, E)**2)", {"T": (2, 3, 2, 2), "E": (2, 3)}, "E"),
    ("sum(einsum('nchw,fc->nf', T, E)**2)", {"T": (1, 2, 2, 2), "E": (2, 2)}, "T"),
])
def test_the_hessian_through_an_einsum_that_sums_an_index_away(
        text: str, shapes: dict[str, Any], wrt: str) -> None:
    """An operand whose index neither the output nor another operand has (nchw->nc): its
    cotangent is the einsum over the shared indices broadcast back over the summed ones,
    primitives a Hessian differentiates again (before: 'a derivative of the einsum
    cotangent ... not a primitive yet'). Against central differences of the gradient."""
    values = {k: RNG.normal(size=s) for k, s in shapes.items()}
    h = sbp.hessian(text, wrt=wrt, shapes=shapes)
    got = np.asarray(h.evaluate(values)[wrt], dtype=float)
    d = sbp.derive(text, wrt=wrt, shapes=shapes)
    base = values[wrt]
    cols = []
    for j in range(base.size):
        e = np.zeros(base.size)
        e[j] = 1e-6
        step = e.reshape(base.shape)  # a tensor's entries in NumPy's order, as its gradient
        hi = np.ravel(d.evaluate({**values, wrt: base + step})[wrt])
        lo = np.ravel(d.evaluate({**values, wrt: base - step})[wrt])
        cols.append((hi - lo) / 2e-6)
    want = np.stack(cols, axis=1)
    assert got.size == want.size
    assert h.check(values).ok
    # the Hessian's vec order is column by column for a matrix; compare as sets of entries
    # through the symmetric matrix's eigenvalues, which do not depend on the order
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(got.reshape(want.shape))),
                               np.sort(np.linalg.eigvalsh((want + want.T) / 2)),
                               rtol=1e-5, atol=1e-6)


def test_hessian_reads_latex_and_takes_the_mode() -> None:
    """sbp.hessian(..., syntax="latex") (a TypeError before: only derive(order=2) took it)."""
    sh = {"A": (4, 3), "x": (3, 1), "b": (4, 1)}
    rng = np.random.default_rng(4)
    values = {"A": rng.normal(size=(4, 3)), "x": rng.normal(size=(3, 1)),
              "b": rng.normal(size=(4, 1))}
    h = sbp.hessian(r"\frac{1}{2}\|\mathbf{A}\mathbf{x}-\mathbf{b}\|^2", wrt="x", shapes=sh,
                    syntax="latex")
    np.testing.assert_allclose(h.evaluate(values)["x"], values["A"].T @ values["A"],
                               rtol=1e-12)
    forward = sbp.hessian("0.5*sqnorm(A@x - b)", wrt="x", shapes=sh, mode="forward")
    assert forward.options.mode == "forward"
    np.testing.assert_allclose(forward.evaluate(values)["x"], values["A"].T @ values["A"],
                               rtol=1e-12)


@pytest.mark.parametrize("text", ["sum(sin(X))", "sum(hadamard(exp(X), X))",
                                  "sum(tanh(X))**2"])
def test_a_tensor_hessian_is_in_vec_order_whichever_way_it_is_computed(text: str) -> None:
    """vec column by column (the first index fastest), as for a matrix: the closed form
    wrote a tensor's diagonal in row-major order and the sweeps in vec order, so the same
    function gave two matrices (a held-out case; check() agreed with both)."""
    from symbackprop.jacobians import jacobian_values

    X = np.random.default_rng(0).normal(size=(2, 3, 2))
    h = sbp.hessian(text, "X", shapes={"X": (2, 3, 2)})
    closed = h.evaluate({"X": X})["X"]
    for method in ("forward", "reverse"):
        swept = jacobian_values(h, {"X": X}, method=method)["X"]  # type: ignore[arg-type]
        np.testing.assert_allclose(closed, swept, rtol=1e-12, atol=1e-12)
    if text == "sum(sin(X))":
        np.testing.assert_allclose(np.diag(closed), -np.sin(X).ravel(order="F"), rtol=1e-14)
    j = sbp.derive("sin(X)", wrt="X", shapes={"X": (2, 3, 2)}, layout="numerator")
    np.testing.assert_allclose(np.diag(j.evaluate({"X": X})["X"]), np.cos(X).ravel(order="F"))


def test_the_hessian_of_a_tensors_mean_and_variance() -> None:
    """mean's gradient holds 1/N with N the tensor's number of entries; as a stage of the
    gradient graph it raised 'no rule for Extent' (a held-out case). var(X) = mean((X −
    μ)²) has the Hessian (2/N)(I − 𝟏𝟏ᵀ/N)."""
    X = np.random.default_rng(1).normal(size=(2, 3, 2))
    n = X.size
    h = sbp.hessian("mean(X)**2", "X", shapes={"X": (2, 3, 2)}).evaluate({"X": X})["X"]
    np.testing.assert_allclose(h, np.full((n, n), 2 / n**2), rtol=1e-12)
    v = sbp.hessian("var(X)", "X", shapes={"X": (2, 3, 2)}).evaluate({"X": X})["X"]
    np.testing.assert_allclose(v, 2 / n * (np.eye(n) - np.ones((n, n)) / n), atol=1e-15)
    np.testing.assert_array_equal(
        sbp.hessian("mean(X)", "X", shapes={"X": (2, 3, 2)}).evaluate({"X": X})["X"], 0)


def test_a_cross_entropy_hessian_checks_with_its_own_random_values() -> None:
    """check() without values drew a target whose columns did not sum to 1 for a Hessian
    (its softmax(o) − y came from the loss), so the symbolic column was unavailable and the
    check FAILED for a correct Hessian (a held-out case)."""
    for h in (sbp.hessian("cross_entropy(W@X, Y)", wrt="W",
                          shapes={"W": (3, 4), "X": (4, 5), "Y": (3, 5)}),
              sbp.hessian("W@X", wrt="W", loss="cross_entropy",
                          shapes={"W": (3, 4), "X": (4, 5)})):
        report = h.check()
        assert report.ok, str(report)
        assert "symbolic" in report.witnesses


def test_hvp_takes_a_dict_and_keeps_a_1d_variables_shape() -> None:
    """h.hvp(values, {"x": v}) as jvp takes it raised a TypeError; a 1-D variable's product
    came back as a column (held-out cases)."""
    h = sbp.hessian("sum(x**3)", wrt="x", shapes={"x": (3,)})
    x, v = np.array([1.0, 2.0, 3.0]), np.ones(3)
    np.testing.assert_allclose(h.hvp({"x": x}, v), 6 * x)
    np.testing.assert_allclose(h.hvp({"x": x}, {"x": v}), 6 * x)
    assert h.hvp({"x": x.reshape(3, 1)}, v.reshape(3, 1)).shape == (3, 1)
    with pytest.raises(ValueError, match="along x only"):
        h.hvp({"x": x}, {"y": v})


def test_hvp_of_a_first_order_derivation_is_the_hessians_product() -> None:
    """``derive(...).hvp`` returned ⟨∇f, v⟩ (the output's tangent, a number) where H v was
    asked for (held-out round H): a first-order derivation's hvp goes through its Hessian.
    Checked against central differences of the gradient along v, and against
    sbp.hessian's own hvp."""
    src, shapes = "x.T@A@x + sum(sin(x))", {"x": (3, 1), "A": (3, 3)}
    rng = np.random.default_rng(4)
    vals = {"x": rng.normal(size=(3, 1)), "A": rng.normal(size=(3, 3))}
    v = rng.normal(size=(3, 1))
    d = sbp.derive(src, "x", shapes=shapes)
    got = np.asarray(d.hvp(vals, v))
    h = 1e-5

    def grad(x: np.ndarray) -> np.ndarray:
        return np.asarray(d.evaluate({**vals, "x": x})["x"])

    want = (grad(vals["x"] + h * v) - grad(vals["x"] - h * v)) / (2 * h)
    np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-9)
    assert got.shape == (3, 1)
    hess = sbp.hessian(src, "x", shapes=shapes)
    np.testing.assert_allclose(got, hess.hvp(vals, v), rtol=1e-12)
    np.testing.assert_allclose(d.hvp(vals, v), got, rtol=0)  # its Hessian is made once


def test_hvp_refuses_what_has_no_hessian() -> None:
    """A Jacobian's derivation has no Hessian: its jvp is J v, which hvp must not return
    under another name; several variables are refused as sbp.hessian refuses them."""
    vals = {"A": np.eye(2), "x": np.ones((2, 1)), "y": np.ones((2, 1))}
    jac = sbp.derive("A@x", "x", shapes={"A": (2, 2), "x": (2, 1)})
    with pytest.raises(sbp.OptionError, match="for a Jacobian-vector product use jvp"):
        jac.hvp(vals, np.ones((2, 1)))
    two = sbp.derive("sum(hadamard(x, y))", ["x", "y"], shapes={"x": (2, 1), "y": (2, 1)})
    with pytest.raises(sbp.OptionError, match="one variable, not 2"):
        two.hvp(vals, np.ones((2, 1)))


@pytest.mark.parametrize("text", ["sum(mean(sin(X), axis=1))", "sum(var(X, axis=1))",
                                  "sum(var(X, axis=(0, 2)))", "sum(mean(X**2, axis=(0, 2)))",
                                  "sum(var(sin(X), axis=0))"])
def test_hessian_code_of_a_tensor_mean_along_an_axis_runs(text: str) -> None:
    """The gradient broadcasts a constant to h's shape (broadcast(1/3, h)): nothing flows
    back to h from there, and the generated code read h's adjoint, never written (NameError:
    dh; held-out tester N). Its Hessian-vector products are finite differences' of the
    gradient."""
    shapes = {"X": (2, 3, 4)}
    rng = np.random.default_rng(4)
    x, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 3, 4))
    h = sbp.hessian(text, "X", shapes=shapes)
    code: dict[str, Any] = {}
    exec(compile(h.to_python(), "<generated>", "exec"), code)  # trusted: made here
    _, grads = code["vector_jacobian"](X=x, G=v)
    d = sbp.derive(text, shapes=shapes)
    eps = 1e-6
    want = (np.asarray(d.evaluate({"X": x + eps * v})["X"])
            - np.asarray(d.evaluate({"X": x - eps * v})["X"])) / (2 * eps)
    np.testing.assert_allclose(grads["X"], want, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h.hvp({"X": x}, v), want, rtol=1e-6, atol=1e-7)


def test_hvp_of_a_one_by_one_variable_is_shaped_like_it() -> None:
    """hvp is "shaped like the variable as given": a (1, 1) variable's was a bare number
    (held-out tester N), where h.evaluate gives (1, 1)."""
    h = sbp.hessian("sum(tanh(a*X))", "a", shapes={"a": (1, 1), "X": (2, 2)})
    x = np.array([[0.5, -1.0], [0.2, 0.3]])
    got = h.hvp({"a": np.array([[0.3]]), "X": x}, np.array([[2.0]]))
    assert np.shape(got) == (1, 1)
    t = np.tanh(0.3 * x)
    assert got[0, 0] == pytest.approx(2.0 * np.sum(-2 * t * (1 - t**2) * x**2), rel=1e-12)


@pytest.mark.parametrize(("text", "shapes"), [
    ("where(a > sum(std(r, axis=0)), a, 2*a)", {"r": (1, 4), "a": ()}),
    ("L = a * step(sum(std(r, axis=0)) - a)", {"r": (1, 4), "a": ()}),
])
def test_nothing_flows_back_through_a_condition(text: str,
                                                shapes: dict[str, tuple[int, ...]]) -> None:
    """A where's condition and a comparison pass nothing back: their operands' adjoints are
    0, and nothing flows on from them, so the √ at 0 of a std of one entry never meets it
    as 0 · ∞ (r's gradient was NaN where jax.grad gives 0; held-out tester P)."""
    r = np.array([[0.5, -0.7, 0.9, 1.1]])
    d = sbp.derive(text, shapes=shapes)
    g = d.evaluate({"r": r, "a": 0.3})
    np.testing.assert_array_equal(np.asarray(g["r"]), np.zeros((1, 4)))
    assert d.check({"r": r, "a": 0.3}).ok


def test_the_hessian_of_a_linear_function_is_written_zero() -> None:
    """sbp.hessian of sum(W@x) in x printed '3 × 3, no closed matrix form (numbers by
    sweeps)' for what is 0 (a held-out case); a scalar output's derivation has no Jacobian
    section of its own (it said 'no closed matrix form' of the gradient's transpose)."""
    shapes = {"W": (2, 3), "x": (3, 1)}
    h = sbp.hessian("sum(W@x)", wrt="x", shapes=shapes)
    assert r"\frac{\partial \mathbf{g}_{x}}{\partial \mathbf{x}} &= \mathbf{0}" in h.latex()
    assert "no closed matrix form" not in h.latex()
    np.testing.assert_array_equal(h.evaluate({"W": np.ones((2, 3)), "x": np.ones((3, 1))})["x"],
                                  np.zeros((3, 3)))
    d = sbp.derive("sum(W@x)", wrt="x", shapes=shapes)
    assert "nothing to show" in d.latex(sections="jacobian")
    assert "Nothing to show" in d.markdown(sections=["jacobian"])


@pytest.mark.parametrize("text", ["sum(sign(u + 1))", "sum(sign(minimum(u, 1)))",
                                  "sum(relu(minimum(u, ones(4, 1)))*0)"])
def test_the_hessian_of_a_zero_gradient_is_a_zero_matrix(text: str) -> None:
    """The gradient of sum(sign(u + 1)) is the number 0: its Hessian was (4, 1), the
    generated code a forward_backward (a held-out case); it is the (4, 4) zero matrix, as
    sum(step(u))'s, with vector_jacobian code."""
    h = sbp.hessian(text, wrt="u", shapes={"u": (4, 1)})
    u = np.array([[0.4], [-0.3], [1.7], [0.2]])
    np.testing.assert_array_equal(h.evaluate({"u": u})["u"], np.zeros((4, 4)))
    assert "def vector_jacobian(" in h.to_python()
