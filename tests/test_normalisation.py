"""Batch and layer normalisation (issue 14, part A item 1), columns are samples: batch
normalisation standardises each row (a feature) over the batch, layer normalisation each
column (a sample) over its features. Written out with mean/var/sqrt and as the primitives
``batchnorm``/``layernorm``, both derive, agree with each other, with the NumPy formulas of
the literature written here (Ioffe and Szegedy's forward; the compact backward of the course
notes) and with the three witnesses of ``d.check()``; the primitive's backward pass prints
the compact form."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok
from test_emit_python import run_generated

import symbackprop as sbp

D, N = 3, 5  # features down, samples across
SHAPES = {"X": (D, N), "gamma": (D, 1), "beta": (D, 1), "R": (D, N)}
WRT = ["X", "gamma", "beta"]
AXIS = {"batchnorm": 1, "layernorm": 0}  # the axis the statistics are taken along

WRITTEN_OUT = """mu = mean(X, axis={k})
v = var(X, axis={k})
Xh = (X - mu) / sqrt(v + {eps})
Y = hadamard(gamma, Xh) + beta
L = sum(hadamard(Y, R))"""


def _values(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s) * (3.0 if k == "X" else 1.0) for k, s in SHAPES.items()}


def _reference(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, r: np.ndarray, axis: int,
               eps: float) -> tuple[float, dict[str, np.ndarray]]:
    """L = Σ R ⊙ BN(X) and its gradients, by the literature's formulas (not the library's):
    x̂ = (x − μ)/√(σ² + ε), y = γ x̂ + β; dγ = Σ dy x̂, dβ = Σ dy,
    dx = (1/N) (σ² + ε)^{−1/2} (N dx̂ − Σ dx̂ − x̂ Σ(dx̂ x̂)), dx̂ = γ dy, the sums along the
    axis (for batch normalisation γ is constant along it: the notes' (1/N) γ σ⁻¹ (N dy − …))."""
    n = x.shape[axis]
    mu = x.mean(axis=axis, keepdims=True)
    inv = 1.0 / np.sqrt(((x - mu) ** 2).mean(axis=axis, keepdims=True) + eps)
    xhat = (x - mu) * inv
    y = gamma * xhat + beta
    dy = r
    grads = {  # γ and β are per feature (a row): their sums run along the samples
        "gamma": np.sum(dy * xhat, axis=1, keepdims=True),
        "beta": np.sum(dy, axis=1, keepdims=True)}
    dxhat = gamma * dy  # for batch norm γ is constant along the axis and factors out
    grads["X"] = inv / n * (n * dxhat - np.sum(dxhat, axis=axis, keepdims=True)
                            - xhat * np.sum(dxhat * xhat, axis=axis, keepdims=True))
    return float(np.sum(y * r)), grads


def _central(f: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _ok(report: Any) -> None:
    assert report.ok, report
    assert "mismatch" not in str(report), report


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("layer", ["batchnorm", "layernorm"])
def test_both_spellings_agree_with_the_literature_and_three_witnesses(layer: str,
                                                                      seed: int) -> None:
    k, eps = AXIS[layer], 1e-3
    values = _values(seed)
    primitive = sbp.derive(f"Y = {layer}(X, gamma, beta, eps={eps}); L = sum(hadamard(Y, R))",
                           shapes=SHAPES, wrt=WRT)
    written = sbp.derive(WRITTEN_OUT.format(k=k, eps=eps), shapes=SHAPES, wrt=WRT)
    want_loss, want = _reference(values["X"], values["gamma"], values["beta"], values["R"],
                                 k, eps)
    for d in (primitive, written):
        _ok(d.check(values))
        got = d.evaluate(values)
        for name in WRT:
            np.testing.assert_allclose(got[name], want[name], rtol=1e-10, atol=1e-12)
        loss = next(r.value for r in d.trace(values) if str(r.name) == "L")
        assert float(loss) == pytest.approx(want_loss, rel=1e-12)
    # the reference itself against central differences of its own forward pass
    np.testing.assert_allclose(_central(lambda x: _reference(
        x, values["gamma"], values["beta"], values["R"], k, eps)[0], values["X"]),
        want["X"], atol=1e-6)
    _, code_grads = run_generated(primitive.to_python(), values)
    for name in WRT:
        np.testing.assert_allclose(code_grads[name], want[name], rtol=1e-10, atol=1e-12)


def test_eps_is_optional_and_is_pytorchs_default() -> None:
    values = _values(4)
    d = sbp.derive("sum(hadamard(R, batchnorm(X, gamma, beta)))", shapes=SHAPES, wrt=WRT)
    _ok(d.check(values))
    want = _reference(values["X"], values["gamma"], values["beta"], values["R"], 1, 1e-5)[1]
    np.testing.assert_allclose(d.evaluate(values)["X"], want["X"], rtol=1e-10, atol=1e-12)


def _compact(tex: str, n: str) -> None:
    """The backward pass ends with (1/N) σ⁻¹ ⊙ (N ∂L/∂X̂ − Σ ∂L/∂X̂ − X̂ ⊙ Σ(∂L/∂X̂ ⊙ X̂)),
    the sums along the axis written with ones vectors: checked factor by factor."""
    xhat = r"\hat{\mathbf{X}}"
    dxhat = rf"\frac{{\partial L}}{{\partial {xhat}}}"
    line = next(ln for ln in tex.splitlines()
                if ln.strip().startswith(r"\frac{\partial L}{\partial \mathbf{X}} &="))
    rhs = line.split("&=", 1)[1]
    assert rhs.strip().startswith(rf"\frac{{1}}{{{n}}}"), rhs
    assert r"\boldsymbol{\sigma}_{\mathbf{X}}^{-1}" in rhs  # σ⁻¹
    assert f"{n}\\,{dxhat}" in rhs  # N ∂L/∂X̂
    assert rhs.count(dxhat) == 3
    assert rhs.count(xhat) == 5
    assert rf"\left({dxhat} \odot {xhat}\right)" in rhs
    assert r"\mathbf{1}\mathbf{1}^{\top}" in rhs  # the sums along the axis, spread back
    assert r"\sum" not in rhs
    assert r"\operatorname{var}" not in rhs
    assert r"\mu" not in rhs


@pytest.mark.parametrize(("layer", "n"), [("batchnorm", str(N)), ("layernorm", str(D))])
def test_the_backward_pass_ends_with_the_compact_form(layer: str, n: str) -> None:
    d = sbp.derive(f"Y = {layer}(X, gamma, beta); L = sum(hadamard(Y, R))", shapes=SHAPES,
                   wrt=WRT)
    tex = d.latex()
    _compact(tex, n)
    forward = d.latex(sections="forward")
    assert r"\hat{\mathbf{X}} &= \left(\mathbf{X} - " in forward
    assert (r"\mathbf{Y} &= \boldsymbol{\gamma}\mathbf{1}^{\top} \odot \hat{\mathbf{X}}"
            r" + \boldsymbol{\beta}\mathbf{1}^{\top}") in forward
    assert (r"\frac{\partial L}{\partial \hat{\mathbf{X}}} &= \frac{\partial L}{\partial "
            r"\mathbf{Y}} \odot \boldsymbol{\gamma}\mathbf{1}^{\top}") in tex
    text = f"Y = {layer}(X, gamma, beta); L = sum(hadamard(Y, R))"
    others = [sbp.derive(text, shapes=SHAPES, wrt=WRT, layout="numerator").latex(),
              sbp.derive(text, shapes=SHAPES, wrt=WRT, adjoint="bar").latex()]
    assert_latex_ok([tex, *others])


def test_symbolic_sizes_print_n() -> None:
    d = sbp.derive("sum(hadamard(R, batchnorm(X, gamma, beta)))",
                   shapes={"X": ("d", "n"), "gamma": ("d", 1), "beta": ("d", 1),
                           "R": ("d", "n")}, wrt="X")
    tex = d.latex(sections="backward")
    _compact(tex, "n")
    assert_latex_ok([tex])


def test_two_layers_get_two_hats_and_check() -> None:
    text = ("H = tanh(batchnorm(W @ X, g1, b1)); "
            "L = sum(hadamard(R, layernorm(H, g2, b2, eps=0.01)))")
    shapes = {"W": (D, 4), "X": (4, N), "g1": (D, 1), "b1": (D, 1), "g2": (D, 1),
              "b2": (D, 1), "R": (D, N)}
    d = sbp.derive(text, shapes=shapes)
    rng = np.random.default_rng(5)
    _ok(d.check({k: rng.normal(size=s) for k, s in shapes.items()}))
    forward = d.latex(sections="forward")
    assert r"\hat{\mathbf{X}} &=" in forward
    assert r"\hat{\mathbf{H}} &=" in forward
    assert_latex_ok([d.latex()])


@pytest.mark.parametrize(("text", "match"), [
    ("sum(batchnorm(X, X, beta))", "columns of its rows"),
    ("sum(batchnorm(x, gamma, beta))", "columns of its rows"),
    ("sum(batchnorm(X, gamma, beta, eps=0))", "eps is a number > 0"),
    ("sum(layernorm(X, gamma, beta, eps=-1.0))", "eps is a number > 0"),
])
def test_bad_shapes_and_eps_are_shape_errors(text: str, match: str) -> None:
    with pytest.raises(sbp.ShapeError, match=match):
        sbp.derive(text, shapes={**SHAPES, "x": (1, 1)})


def test_another_keyword_is_a_parse_error() -> None:
    with pytest.raises(sbp.ParseError, match="eps="):
        sbp.derive("sum(batchnorm(X, gamma, beta, momentum=0.1))", shapes=SHAPES)


def test_the_layers_page_is_what_the_library_does() -> None:
    """docs/layers.md: each derivation printed by the library today and checked three ways
    (``tools.layers`` raises when a check fails), its math accepted by KaTeX and pdflatex."""
    import re

    from tools.layers import EXAMPLES, PAGE, page

    fresh = page()
    assert fresh == PAGE.read_text(encoding="utf-8"), "run python -m tools.layers"
    blocks = re.findall(r"^\$\$\n(.+?)\n\$\$$", fresh, re.S | re.M)
    assert len(blocks) == len(EXAMPLES)
    assert_latex_ok(blocks)


def test_forward_mode_and_the_jacobian_of_a_layer_normalised_vector() -> None:
    """The tangent of X̂ is its VJP's formula with Ẋ (the Jacobian of each column is
    symmetric); the Jacobian of layernorm(x, γ, β) for one sample is the literature's
    (1/D) diag(γ) σ⁻¹ (D I − 𝟏𝟏ᵀ − x̂ x̂ᵀ)."""
    values = _values(6)
    text = "Y = layernorm(X, gamma, beta); L = sum(hadamard(Y, R))"
    d = sbp.derive(text, shapes=SHAPES, wrt="X", mode="forward")
    _ok(d.check(values))
    tex = d.latex()
    assert r"\dot{\hat{\mathbf{X}}} &= \frac{1}{3}" in tex
    assert_latex_ok([tex])
    want = _reference(values["X"], values["gamma"], values["beta"], values["R"], 0, 1e-5)[1]
    np.testing.assert_allclose(sbp.derive(text, shapes=SHAPES, wrt="X").evaluate(values)["X"],
                               want["X"], rtol=1e-10, atol=1e-12)
    x, gamma, beta = values["X"][:, :1], values["gamma"], values["beta"]
    jac = sbp.derive("layernorm(x, gamma, beta)", shapes={"x": (D, 1), "gamma": (D, 1),
                                                         "beta": (D, 1)}, wrt="x")
    _ok(jac.check({"x": x, "gamma": gamma, "beta": beta}))
    inv = 1 / np.sqrt(x.var() + 1e-5)
    xhat = (x - x.mean()) * inv
    want_j = np.diag(gamma[:, 0]) @ (inv / D * (D * np.eye(D) - np.ones((D, D)) - xhat @ xhat.T))
    got = jac.evaluate({"x": x, "gamma": gamma, "beta": beta})["x"]
    np.testing.assert_allclose(got, want_j.T, rtol=1e-10, atol=1e-12)  # denominator layout


def test_scalar_gamma_and_beta_broadcast() -> None:
    """γ and β may be scalars (or 1×1), one scale and shift for every feature."""
    values: dict[str, Any] = {"X": _values(7)["X"], "R": _values(7)["R"], "c": 0.7, "s": np.array([[1.5]])}
    d = sbp.derive("sum(hadamard(R, batchnorm(X, c, s)))", shapes={**SHAPES, "s": (1, 1)})
    _ok(d.check(values))
    gamma, beta = np.full((D, 1), 0.7), np.full((D, 1), 1.5)
    want = _reference(values["X"], gamma, beta, values["R"], 1, 1e-5)[1]
    np.testing.assert_allclose(d.evaluate(values)["X"], want["X"], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_std_along_an_axis_is_the_root_of_the_variance_along_it(axis: int) -> None:
    """std(X, axis=k) was a ParseError (only var took axis=) though std is in the
    vocabulary and the literature writes it with an axis (a held-out case); NumPy's, ddof 0,
    keeping the axis, as var(X, axis=k)."""
    rng = np.random.default_rng(axis + 5)
    x, r = rng.normal(size=(D, N)), rng.normal(size=(D, N))
    d = sbp.derive(f"sum(hadamard(R, X - std(X, axis={axis})))", wrt="X", shapes=SHAPES)
    ref = sbp.derive(f"sum(hadamard(R, X - sqrt(var(X, axis={axis}))))", wrt="X",
                     shapes=SHAPES)
    vals = {"X": x, "R": r}
    np.testing.assert_allclose(d.evaluate(vals)["X"], ref.evaluate(vals)["X"], rtol=1e-12)
    s = np.std(x, axis=axis, keepdims=True)  # the value is NumPy's
    assert d.trace(vals).rows[-1].value == pytest.approx(np.sum(r * (x - s)), rel=1e-12)
    assert d.check(vals).ok
