"""The losses a course derives by hand (issue 14, part A item 3): the multiclass SVM loss, the
binary hinge, logistic, Huber, mean squared error with ``mean`` and softmax cross-entropy over
a batch. Each is checked against a NumPy formula written here (CS231n's loops for the SVM), by
the three witnesses of ``d.check()`` at several points, near the kinks and on them, and prints
the indicator of the positive margins 𝟙[m > 0] in LaTeX that KaTeX and pdflatex accept."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok
from test_emit_python import run_generated

import symbackprop as sbp

INDICATOR = r"\mathbf{1}\left[{"
K, D, N = 3, 4, 5  # classes, features, samples (columns are samples)


def _one_hot(labels: list[int], k: int = K) -> np.ndarray:
    return np.eye(k)[:, labels]


def _central(f: Any, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar f at x, entry by entry (the test's own)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _no_mismatch(report: Any) -> None:
    assert report.ok, report
    assert "mismatch" not in str(report), report


# --------------------------------------------------------------------------------------
# The multiclass SVM loss: Σᵢ Σ_{j≠yᵢ} max(0, s_j − s_{yᵢ} + 1)


def _svm_naive(w: np.ndarray, x: np.ndarray, labels: list[int]) -> tuple[float, np.ndarray]:
    """CS231n's svm_loss_naive with S = W X (a row of W per class): the loss and ∂L/∂W."""
    loss, dw = 0.0, np.zeros_like(w)
    for i, y in enumerate(labels):
        s = w @ x[:, i]
        for j in range(w.shape[0]):
            if j == y:
                continue
            margin = s[j] - s[y] + 1
            if margin > 0:
                loss += margin
                dw[j] += x[:, i]
                dw[y] -= x[:, i]
    return loss, dw


SVM_SHAPES = {"W": (K, D), "X": (D, N), "Y": (K, N)}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("name", ["multiclass_hinge", "svm_loss"])
def test_the_svm_loss_is_cs231n_s(name: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = list(rng.integers(0, K, N))
    w, x = rng.normal(size=(K, D)), rng.normal(size=(D, N))
    values = {"W": w, "X": x, "Y": _one_hot(labels)}
    d = sbp.derive(f"{name}(W @ X, Y)", shapes=SVM_SHAPES, wrt="W")
    want_loss, want = _svm_naive(w, x, labels)
    np.testing.assert_allclose(d.evaluate(values)["W"], want, atol=1e-12)
    np.testing.assert_allclose(_central(lambda v: _svm_naive(v, x, labels)[0], w), want,
                               atol=1e-6)
    _no_mismatch(d.check(values))
    trace = d.trace(values)
    assert float(next(r.value for r in trace if str(r.name) == "L")) == \
        pytest.approx(want_loss, rel=1e-12)


def test_the_svm_loss_prints_the_indicator_of_the_positive_margins() -> None:
    d = sbp.derive("multiclass_hinge(S, Y)", shapes={"S": (K, N), "Y": (K, N)}, wrt="S")
    tex = d.latex()
    forward = d.latex(sections="forward")
    assert r"\mathbf{z} &= \mathbf{S} - \mathbf{1}\mathbf{t}^{(2)} + \mathbf{1}" in forward
    assert r"\max\left(\mathbf{0}, \mathbf{z}\right)" in forward  # max(0, margins)
    assert (r"\frac{\partial L}{\partial \mathbf{z}} &= \frac{\partial L}{\partial \mathbf{h}}"
            r" \odot \left(\mathbf{1}\left[{\mathbf{z} > 0}\right] + \tfrac{1}{2}\,"
            r"\mathbf{1}\left[{\mathbf{z} = 0}\right]\right)") in tex  # ½ at a tie, as evaluated
    assert r"H\left(" not in tex
    assert_latex_ok([tex])


@pytest.mark.parametrize("offset", [0.0, 1e-3, -1e-3])
def test_the_svm_loss_at_and_near_a_zero_margin(offset: float) -> None:
    """A margin s_j − s_y + 1 of 0 is a kink: the check names the tie, never a mismatch; just
    off it the three witnesses agree with the naive loop's gradient."""
    s = np.array([[1.0, 0.2], [0.0 + offset, 0.5], [-0.3, 1.1]])  # class 1 vs 0: margin = offset
    labels = [0, 2]
    values = {"S": s, "Y": _one_hot(labels)}
    d = sbp.derive("multiclass_hinge(S, Y)", shapes={"S": (3, 2), "Y": (3, 2)}, wrt="S")
    report = d.check(values)
    _no_mismatch(report)
    if offset == 0.0:
        assert "tie" in str(report), report
    else:
        eye = np.eye(2)
        _, want = _svm_naive(s, eye, labels)  # W X with X = I: the gradient in S itself
        np.testing.assert_allclose(d.evaluate(values)["S"], want, atol=1e-12)


def test_the_svm_loss_over_a_batch_mean_and_in_every_input() -> None:
    rng = np.random.default_rng(7)
    labels = list(rng.integers(0, K, N))
    w, x = rng.normal(size=(K, D)), rng.normal(size=(D, N))
    values = {"W": w, "X": x, "Y": _one_hot(labels)}
    d = sbp.derive(f"multiclass_hinge(W @ X, Y) / {N}", shapes=SVM_SHAPES)
    _no_mismatch(d.check(values))
    np.testing.assert_allclose(d.evaluate(values)["W"], _svm_naive(w, x, labels)[1] / N,
                               atol=1e-12)


def test_a_traced_numpy_svm_loss_derives_the_same() -> None:
    def svm(W: Any, X: Any, Y: Any) -> Any:  # CS231n's vectorised form, columns as samples
        scores = W @ X
        correct = np.sum(Y * scores, axis=0, keepdims=True)
        return np.sum((1 - Y) * np.maximum(0, scores - correct + 1))

    rng = np.random.default_rng(3)
    labels = list(rng.integers(0, K, N))
    values = {"W": rng.normal(size=(K, D)), "X": rng.normal(size=(D, N)), "Y": _one_hot(labels)}
    d = sbp.derive(svm, shapes=SVM_SHAPES, wrt="W")
    _no_mismatch(d.check(values))
    np.testing.assert_allclose(d.evaluate(values)["W"],
                               _svm_naive(values["W"], values["X"], labels)[1], atol=1e-12)
    tex = d.latex()
    assert r"\max\left(\mathbf{0}, " in tex  # np.maximum(0, M): the zero matrix, not 0·1
    assert INDICATOR in tex


@pytest.mark.parametrize(("text", "shapes"), [
    ("multiclass_hinge(s, y)", None),
    ("multiclass_hinge(S, Y)", {"S": (3, 2), "Y": (3, 3)}),
])
def test_the_svm_loss_needs_two_matrices_of_one_shape(text: str, shapes: Any) -> None:
    with pytest.raises(sbp.ShapeError, match="one-hot targets"):
        sbp.derive(text, shapes=shapes)


# --------------------------------------------------------------------------------------
# The binary hinge and the logistic loss, labels ±1


Y_PM = np.array([[1.0], [-1.0], [1.0], [-1.0], [1.0]])


@pytest.mark.parametrize("scores", [
    [0.3, -2.0, 1.7, 0.4, -0.9],
    [1.0 + 1e-3, -1.0 + 1e-3, 1.0 - 1e-3, -1.0 - 1e-3, 5.0],  # y s just off 1
    [1.0, -1.0, 0.0, 3.0, -4.0],  # y s = 1 exactly: kinks
])
def test_the_hinge_loss(scores: list[float]) -> None:
    s = np.array(scores).reshape(-1, 1)
    values = {"s": s, "y": Y_PM}
    d = sbp.derive("sum(hinge(s, y))", shapes={"s": (5, 1), "y": (5, 1)}, wrt="s")
    report = d.check(values)
    _no_mismatch(report)
    margin = 1 - Y_PM * s
    if np.any(margin == 0):
        assert "tie" in str(report), report
    else:
        np.testing.assert_allclose(d.evaluate(values)["s"], -Y_PM * (margin > 0), atol=1e-12)
        np.testing.assert_allclose(
            _central(lambda v: float(np.sum(np.maximum(0, 1 - Y_PM * v))), s),
            -Y_PM * (margin > 0), atol=1e-6)
    tex = d.latex()
    assert INDICATOR in tex
    assert_latex_ok([tex])


@pytest.mark.parametrize("scores", [[0.3, -2.0, 1.7, 0.0, -0.9], [40.0, 40.0, -40.0, -40.0, 0.0]])
def test_the_logistic_loss(scores: list[float]) -> None:
    """log(1 + e^{−y s}) = softplus(−y s): its gradient −y σ(−y s), also where e^{±40} would
    lose every digit written naively."""
    s = np.array(scores).reshape(-1, 1)
    values = {"s": s, "y": Y_PM}
    d = sbp.derive("sum(logistic_loss(s, y))", shapes={"s": (5, 1), "y": (5, 1)}, wrt="s")
    want = -Y_PM / (1 + np.exp(Y_PM * s))
    np.testing.assert_allclose(d.evaluate(values)["s"], want, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        _central(lambda v: float(np.sum(np.logaddexp(0, -Y_PM * v))), s), want, atol=1e-6)
    _no_mismatch(d.check(values))
    tex = d.latex()
    assert r"\operatorname{softplus}\left(-\mathbf{t}\right)" in tex, tex
    assert r"\sigma" in tex
    assert_latex_ok([tex])


def test_a_traced_logistic_regression() -> None:
    def f(w: Any, X: Any, y: Any) -> Any:
        return np.mean(np.logaddexp(0, -y * (X @ w)))

    rng = np.random.default_rng(5)
    x, w = rng.normal(size=(N, D)), rng.normal(size=D)
    y = np.sign(rng.normal(size=N))
    d = sbp.derive(f, shapes={"w": (D,), "X": (N, D), "y": (N,)}, wrt="w")
    values = {"w": w, "X": x, "y": y}
    _no_mismatch(d.check(values))
    want = x.T @ (-y / (1 + np.exp(y * (x @ w)))) / N
    np.testing.assert_allclose(np.ravel(d.evaluate(values)["w"]), want, rtol=1e-10)


# --------------------------------------------------------------------------------------
# Huber: ½a² inside [−δ, δ], δ(|a| − ½δ) beyond; its derivative clip(a, −δ, δ)


def _huber(a: np.ndarray, delta: float) -> np.ndarray:
    return np.where(np.abs(a) <= delta, a * a / 2, delta * (np.abs(a) - delta / 2))


@pytest.mark.parametrize("delta", [1.0, 0.25])
@pytest.mark.parametrize("points", [
    [0.3, -2.0, 1.7, -0.1, 0.05],
    [1.001, -0.999, 0.251, -0.249, 3.0],  # just off ±δ (for δ = 1 and δ = ¼)
    [1.0, -1.0, 0.25, -0.25, 0.0],  # on ±δ, and 0
])
def test_the_huber_loss(delta: float, points: list[float]) -> None:
    a = np.array(points).reshape(-1, 1)
    values = {"a": a, "delta": delta}
    d = sbp.derive("sum(huber(a, delta))", shapes={"a": (5, 1)})
    got = d.evaluate(values)
    np.testing.assert_allclose(got["a"], np.clip(a, -delta, delta), atol=1e-12)
    np.testing.assert_allclose(got["delta"], np.sum(np.maximum(np.abs(a) - delta, 0)),
                               atol=1e-12)
    np.testing.assert_allclose(_central(lambda v: float(np.sum(_huber(v, delta))), a),
                               np.clip(a, -delta, delta), atol=1e-6)
    _no_mismatch(d.check(values))
    trace = d.trace(values)
    assert float(next(r.value for r in trace if str(r.name) == "L")) == \
        pytest.approx(float(np.sum(_huber(a, delta))), rel=1e-12)


def test_huber_as_pytorch_s_huber_loss_and_its_latex() -> None:
    """PyTorch's huber_loss(o, y, delta) is mean(huber(o − y, δ)): ∂/∂o = clip(o − y)/n."""
    rng = np.random.default_rng(2)
    o, y = rng.normal(size=(4, 1)) * 2, rng.normal(size=(4, 1))
    d = sbp.derive("mean(huber(o - y, 1))", shapes={"o": (4, 1), "y": (4, 1)}, wrt="o")
    values = {"o": o, "y": y}
    np.testing.assert_allclose(d.evaluate(values)["o"], np.clip(o - y, -1, 1) / 4, atol=1e-12)
    _no_mismatch(d.check(values))
    tex = d.latex()
    assert (r"\frac{\partial L}{\partial \mathbf{z}} &= \frac{\partial L}{\partial \mathbf{h}}"
            r" \odot \min\left(1, \max\left(\mathbf{z}, -1\right)\right)") in tex
    scalar = sbp.derive("huber(a, delta)").latex()
    assert r"\operatorname{huber}\left(a, \delta\right)" in scalar
    assert r"\min\left(\delta, \max\left(a, - \delta\right)\right)" in scalar  # clip(a, −δ, δ)
    assert_latex_ok([tex, scalar])


def test_huber_keeps_a_scalar_threshold_and_runs_as_code() -> None:
    """huber(A, δ) of a matrix: δ stays the scalar it is (not δ𝟏), its gradient the sum of
    the excesses; the generated code and the engine agree with the formula."""
    a = np.array([[0.5, -2.0, 1.0], [3.0, -0.2, 0.0]])
    values = {"A": a, "delta": 1.0}
    d = sbp.derive("sum(huber(A, delta))", shapes={"A": (2, 3)})
    assert r"\operatorname{huber}\left(\mathbf{A}, \delta\right)" in d.latex()
    got = d.evaluate(values)
    np.testing.assert_allclose(got["A"], np.clip(a, -1, 1), atol=1e-12)
    assert got["delta"] == pytest.approx(3.0)
    _no_mismatch(d.check(values))
    _, grads = run_generated(d.to_python(), values)
    for k, g in got.items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------------------------
# Mean squared error with mean, and softmax cross-entropy over a batch


@pytest.mark.parametrize("text", ["mse_loss(O, T)", "mean((O - T)**2)", "mean(square(O - T))"])
def test_mean_squared_error_with_mean(text: str) -> None:
    rng = np.random.default_rng(4)
    o, t = rng.normal(size=(K, N)), rng.normal(size=(K, N))
    d = sbp.derive(text, shapes={"O": (K, N), "T": (K, N)}, wrt="O")
    values = {"O": o, "T": t}
    np.testing.assert_allclose(d.evaluate(values)["O"], 2 * (o - t) / o.size, atol=1e-12)
    _no_mismatch(d.check(values))
    assert r"\operatorname{mean}" in d.latex() or text == "mse_loss(O, T)"


def test_a_traced_mse_loss() -> None:
    def f(W: Any, X: Any, T: Any) -> Any:
        return np.mean((W @ X - T) ** 2)

    rng = np.random.default_rng(6)
    w, x, t = rng.normal(size=(K, D)), rng.normal(size=(D, N)), rng.normal(size=(K, N))
    d = sbp.derive(f, shapes={"W": (K, D), "X": (D, N), "T": (K, N)}, wrt="W")
    values = {"W": w, "X": x, "T": t}
    _no_mismatch(d.check(values))
    np.testing.assert_allclose(d.evaluate(values)["W"], 2 * (w @ x - t) @ x.T / (K * N),
                               atol=1e-12)


def _softmax(s: np.ndarray) -> np.ndarray:
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


@pytest.mark.parametrize("text", [
    f"cross_entropy(W @ X, Y) / {N}",
    f"-sum(hadamard(Y, log(softmax(W @ X, axis=0)))) / {N}",
    f"(sum(logsumexp(W @ X, axis=0)) - sum(hadamard(Y, W @ X))) / {N}",
])
def test_softmax_cross_entropy_over_a_batch(text: str) -> None:
    """(1/N) Σᵢ −log softmax(W xᵢ)_{yᵢ}, three ways: ∂L/∂W = (softmax(W X) − Y) Xᵀ / N."""
    rng = np.random.default_rng(8)
    labels = list(rng.integers(0, K, N))
    w, x = rng.normal(size=(K, D)), rng.normal(size=(D, N))
    values = {"W": w, "X": x, "Y": _one_hot(labels)}
    d = sbp.derive(text, shapes=SVM_SHAPES, wrt="W")
    want = (_softmax(w @ x) - _one_hot(labels)) @ x.T / N
    np.testing.assert_allclose(d.evaluate(values)["W"], want, atol=1e-12)

    def loss(v: np.ndarray) -> float:
        p = _softmax(v @ x)
        return float(-np.mean(np.log(p[labels, range(N)])))

    np.testing.assert_allclose(_central(loss, w), want, atol=1e-6)
    _no_mismatch(d.check(values))
    assert_latex_ok([d.latex()])


# --------------------------------------------------------------------------------------
# Every loss: text and generated code agree; relu's derivative is the indicator too


@pytest.mark.parametrize(("text", "shapes", "values"), [
    ("multiclass_hinge(S, Y)", {"S": (3, 2), "Y": (3, 2)},
     {"S": np.array([[0.4, -1.0], [1.2, 0.3], [-0.5, 0.9]]), "Y": _one_hot([0, 2])}),
    ("sum(hinge(s, y)) + sum(logistic_loss(s, y))", {"s": (5, 1), "y": (5, 1)},
     {"s": np.array([[0.3], [-2.0], [1.7], [0.4], [-0.9]]), "y": Y_PM}),
    ("huber(a, 1) + mse_loss(u, v)", {"u": (2, 1), "v": (2, 1)},
     {"a": -1.7, "u": np.array([[0.1], [2.0]]), "v": np.array([[0.5], [-1.0]])}),
])
def test_the_losses_run_as_generated_code(text: str, shapes: Any, values: Any) -> None:
    d = sbp.derive(text, shapes=shapes)
    _, grads = run_generated(d.to_python(), values)
    for k, g in d.evaluate(values).items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)


def test_relu_s_derivative_prints_the_indicator() -> None:
    d = sbp.derive("relu(x)")
    assert r"\mathbf{1}\left[{x > 0}\right]" in d.latex()
    assert_latex_ok([d.latex()])


def test_huber_s_latex_reads_back() -> None:
    d = sbp.derive("huber(x, y*y + 1)")
    back = sbp.derive(d.latex(sections="forward"), syntax="latex")
    values = {"x": 2.5, "y": 0.3}
    for k, g in d.evaluate(values).items():
        assert back.evaluate(values)[k] == pytest.approx(g, rel=1e-12)


@pytest.mark.parametrize("text", ["h = W@x + b; y = tanh(h)", "W@x + y"])
@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_a_loss_never_takes_the_expressions_own_y_as_its_target(text: str, loss: str) -> None:
    """loss= appends a target named y; a y of the expression (a stage or an input) made it
    mse(y, y), every gradient 0 (a held-out case). Now a GraphError that says to rename."""
    shapes = {"W": (2, 3), "x": (3, 1), "b": (2, 1), "y": (2, 1)}
    with pytest.raises(sbp.GraphError, match="already has y"):
        sbp.derive(text, shapes=shapes, loss=loss)  # type: ignore[arg-type]
    renamed = text.replace("y", "h2")  # the target is y
    d = sbp.derive(renamed, shapes={**shapes, "h2": (2, 1)}, loss=loss)  # type: ignore[arg-type]
    assert "y" in {str(s.name) for s in d.inputs}


@pytest.mark.parametrize(("text", "shapes", "loss", "hint"), [
    ("p = softmax(x@W); -sum(hadamard(y, log(p)))", {"x": (1, 4), "W": (4, 3), "y": (1, 3)},
     None, "axis=1"),
    ("w.T@X", {"w": (3, 1), "X": (3, 4)}, "cross_entropy", "binary_cross_entropy_with_logits"),
    ("sum(log_softmax(x))", {"x": (1, 4)}, None, "axis=1"),
    ("sum(softmax(x, axis=1))", {"x": (4, 1)}, None, "axis=0"),
])
def test_a_softmax_over_one_entry_is_refused_not_zero(text: str, shapes: Any, loss: Any,
                                                      hint: str) -> None:
    """The softmax of each column of a row is 1 and its gradient 0: a row-vector softmax or a
    one-class cross-entropy gave zero gradients silently (held-out cases); now a ShapeError
    that names the axis that works."""
    with pytest.raises(sbp.ShapeError, match=hint):
        sbp.derive(text, shapes=shapes, loss=loss)
    assert sbp.derive("sum(softmax(x, axis=1))", shapes={"x": (1, 4)}).check().ok
