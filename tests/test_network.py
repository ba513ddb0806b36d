"""Matrix backprop: the network's gradients proven against a NumPy backprop written here,
central finite differences, and the scalar engine on the matrices expanded entry by entry."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp
from helpers import central_difference

import symbackprop as sbp
from symbackprop.functions import relu as s_relu
from symbackprop.functions import sigmoid as s_sigmoid

ACT: dict[str, tuple[Callable[[Any], Any], Callable[[Any, Any], Any]]] = {
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z, h: h * (1 - h)),
    "tanh": (np.tanh, lambda z, h: 1 - h * h),
    "relu": (lambda z: np.maximum(z, 0), lambda z, h: (z > 0).astype(float)),
}


def network_text(layers: int, act: str, decay: bool) -> str:
    """Stages z1, h1, …, o written out, with weight decay as text when asked."""
    lines, prev = [], "x"
    for ell in range(1, layers):
        lines += [f"z{ell} = W{ell}@{prev} + b{ell}", f"h{ell} = {act}(z{ell})"]
        prev = f"h{ell}"
    lines.append(f"o = W{layers}@{prev} + b{layers}")
    if decay:
        norms = " + ".join(f"sqnorm(W{ell})" for ell in range(1, layers + 1))
        lines.append(f"L = mse(o, y) + lam/2*({norms})")
    return "\n".join(lines)


def shapes_for(sizes: list[int], batch: int | None) -> dict[str, tuple[int, int]]:
    cols = 1 if batch is None else batch
    sh = {"x": (sizes[0], cols), "y": (sizes[-1], cols)}
    for ell in range(1, len(sizes)):
        sh[f"W{ell}"] = (sizes[ell], sizes[ell - 1])
        sh[f"b{ell}"] = (sizes[ell], 1)
    return sh


def values_for(shapes: dict[str, Any], loss: Any, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    v: dict[str, Any] = {k: rng.normal(size=s) for k, s in shapes.items()}
    if loss == "cross_entropy":  # one-hot targets, one per column
        k, cols = shapes["y"]
        v["y"] = np.eye(k)[:, rng.integers(0, k, size=cols)]
    v["lam"] = 0.1
    return v


def numpy_backprop(v: dict[str, Any], layers: int, act: str, loss: str,
                   decay: bool) -> tuple[float, dict[str, Any]]:
    """The textbook backprop, written out by hand (independent of symbackprop)."""
    f, df = ACT[act]
    hs, zs = [v["x"]], []
    for ell in range(1, layers):
        zs.append(v[f"W{ell}"] @ hs[-1] + v[f"b{ell}"])
        hs.append(f(zs[-1]))
    o = v[f"W{layers}"] @ hs[-1] + v[f"b{layers}"]
    if loss == "mse":
        value = 0.5 * float(np.sum((o - v["y"]) ** 2))
        delta = o - v["y"]
    else:
        s = o - o.max(axis=0, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=0, keepdims=True))
        value = -float(np.sum(v["y"] * logp))
        delta = np.exp(logp) - v["y"]
    grads: dict[str, Any] = {}
    for ell in range(layers, 0, -1):
        grads[f"W{ell}"] = delta @ hs[ell - 1].T
        grads[f"b{ell}"] = delta.sum(axis=1, keepdims=True)
        if decay:
            grads[f"W{ell}"] = grads[f"W{ell}"] + v["lam"] * v[f"W{ell}"]
            value += v["lam"] / 2 * float(np.sum(v[f"W{ell}"] ** 2))
        if ell > 1:
            delta = (v[f"W{ell}"].T @ delta) * df(zs[ell - 2], hs[ell - 1])
    return value, grads


def derive_network(layers: int, act: str, loss: Any, decay: bool, shapes: dict[str, Any],
                   layout: Any = "denominator") -> sbp.Derivation:
    params = [f"{p}{ell}" for ell in range(1, layers + 1) for p in "Wb"]
    if decay:
        if loss != "mse":
            pytest.skip("weight decay is written with the mse text form here")
        return sbp.derive(network_text(layers, act, True), wrt=params, shapes=shapes,
                          layout=layout)
    return sbp.derive(network_text(layers, act, False), wrt=params, shapes=shapes, loss=loss,
                      layout=layout)


CASES = [
    (layers, act, loss, batch, decay)
    for layers, act, loss, batch, decay in itertools.product(
        [1, 2, 4], ["sigmoid", "tanh", "relu"], ["mse", "cross_entropy"], [None, 5],
        [False, True])
    if not (decay and loss == "cross_entropy") and not (layers == 1 and act != "sigmoid")
]


@pytest.mark.parametrize(("layers", "act", "loss", "batch", "decay"), CASES)
def test_network_gradients_match_numpy_backprop(layers: int, act: str, loss: str,
                                                batch: int | None, decay: bool) -> None:
    sizes = [3, 4, 5, 4, 2][: layers + 1]
    shapes: dict[str, Any] = dict(shapes_for(sizes, batch))
    if decay:
        shapes["lam"] = ()
    d = derive_network(layers, act, loss, decay, shapes)
    v = values_for(shapes, loss)
    got = d.evaluate({k: v[k] for k in map(str, (s.name for s in d.inputs))})
    _, want = numpy_backprop(v, layers, act, loss, decay)
    for name, g in want.items():
        assert got[name].shape == v[name].shape
        np.testing.assert_allclose(got[name], g, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(("layers", "act", "loss", "batch"), [
    (2, "sigmoid", "mse", None), (2, "tanh", "cross_entropy", 3), (4, "sigmoid", "mse", 2),
    (1, "sigmoid", "cross_entropy", None),
])
def test_network_gradients_match_finite_differences(layers: int, act: str, loss: str,
                                                    batch: int | None) -> None:
    shapes = shapes_for([3, 4, 5, 4, 2][: layers + 1], batch)
    d = derive_network(layers, act, loss, False, shapes)
    v = values_for(shapes, loss, seed=3)
    inputs = {str(s.name): v[str(s.name)] for s in d.inputs}
    got = d.evaluate(inputs)

    def loss_value(vals: dict[str, Any]) -> float:
        return numpy_backprop({**v, **vals}, layers, act, loss, False)[0]

    for name in got:
        fd = central_difference(loss_value, inputs, name)
        np.testing.assert_allclose(got[name], fd, rtol=1e-6, atol=1e-7, err_msg=name)


def test_layouts_give_the_same_gradients() -> None:
    shapes = shapes_for([3, 4, 2], 4)
    v = values_for(shapes, "mse")
    num = derive_network(2, "sigmoid", "mse", False, shapes, layout="numerator").evaluate(v)
    den = derive_network(2, "sigmoid", "mse", False, shapes, layout="denominator").evaluate(v)
    for k in num:
        np.testing.assert_array_equal(num[k], den[k])


def test_vectors_accepted_as_1d_or_column() -> None:
    shapes = shapes_for([3, 4, 2], None)
    d = derive_network(2, "sigmoid", "mse", False, shapes)
    v = values_for(shapes, "mse")
    flat = {k: (a.ravel() if a.shape[1] == 1 else a) for k, a in v.items() if k != "lam"}
    col = {k: a for k, a in v.items() if k != "lam"}
    g1, g2 = d.evaluate(flat), d.evaluate(col)
    for k in g1:  # each gradient in the shape given: a 1-D array's is 1-D
        np.testing.assert_array_equal(g1[k], g2[k].reshape(flat[k].shape))
        assert g1[k].shape == flat[k].shape
        assert g2[k].shape == v[k].shape


def test_scalar_expansion_through_the_scalar_engine() -> None:
    """Write the 2-layer network entry by entry as one scalar expression; derive that with the
    scalar engine; every entry of every matrix gradient must agree."""
    sizes = [2, 3, 2]
    shapes = shapes_for(sizes, None)
    d = derive_network(2, "sigmoid", "mse", False, shapes)
    syms = {k: sp.Matrix(r, c, lambda i, j, k=k: sp.Symbol(f"{k}_{i}_{j}", real=True))
            for k, (r, c) in shapes.items()}
    z = syms["W1"] * syms["x"] + syms["b1"]
    h = z.applyfunc(s_sigmoid)
    o = syms["W2"] * h + syms["b2"]
    scalar_loss = sum((o - syms["y"]).applyfunc(lambda e: e**2)) / 2
    v = values_for(shapes, "mse", seed=5)
    point = {str(s): v[k][i, j] for k, m in syms.items() for (i, j), s in
             np.ndenumerate(np.array(m.tolist(), dtype=object))}
    want = d.evaluate({k: v[k] for k in shapes})
    params = [s for k in ("W1", "b1", "W2", "b2") for s in syms[k]]
    scalar = sbp.derive(scalar_loss, wrt=params).evaluate(point)
    for k in ("W1", "b1", "W2", "b2"):
        for (i, j), g in np.ndenumerate(want[k]):
            assert scalar[f"{k}_{i}_{j}"] == pytest.approx(g, rel=1e-10, abs=1e-12)


def test_relu_scalar_expansion_agrees_too() -> None:
    shapes = {"W": (2, 2), "x": (2, 1)}
    d = sbp.derive("sum(relu(W@x))", wrt="W", shapes=shapes)
    w = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"W_{i}_{j}", real=True))
    x = sp.Matrix(2, 1, lambda i, j: sp.Symbol(f"x_{i}_{j}", real=True))
    scalar = sbp.derive(sum((w * x).applyfunc(s_relu)), wrt=list(w))
    rng = np.random.default_rng(2)
    W, X = rng.normal(size=(2, 2)), rng.normal(size=(2, 1))
    point = {f"W_{i}_{j}": W[i, j] for i in range(2) for j in range(2)}
    point.update({f"x_{i}_0": X[i, 0] for i in range(2)})
    got = d.evaluate({"W": W, "x": X})["W"]
    exp = scalar.evaluate(point)
    for i, j in itertools.product(range(2), range(2)):
        assert exp[f"W_{i}_{j}"] == pytest.approx(got[i, j])


def test_shape_error_names_the_operation_and_both_shapes() -> None:
    with pytest.raises(sbp.ShapeError, match=r"W1@x: \(4, 3\) @ \(2, 1\)"):
        sbp.derive("W1@x", shapes={"W1": (4, 3), "x": (2, 1)})
    with pytest.raises(sbp.ShapeError, match=r"W1@x \+ b1: \(4, 1\) \+ \(3, 1\)"):
        sbp.derive("W1@x + b1", shapes={"W1": (4, 3), "x": (3, 1), "b1": (3, 1)})
    assert sbp.derive("W@x", shapes={"W": (2, 2), "x": (2, 1)}).is_jacobian  # not an error
    with pytest.raises(sbp.ShapeError, match=r"W@x: \(2, 2\) @ scalar"):
        sbp.derive("sum(W@x)", shapes={"W": (2, 2)})


def test_symbolic_dimensions_and_batches_mix() -> None:
    d = sbp.derive("W@X + b", shapes={"W": ("m", "n"), "X": ("n", "B"), "b": ("m", 1)},
                   loss="mse")
    tex = d.latex()
    assert r"\mathbf{b}\mathbf{1}^{\top}" in tex
    assert r"\frac{\partial L}{\partial \mathbf{b}} = \frac{\partial L}{\partial \mathbf{o}}\,\mathbf{1}" in tex
    rng = np.random.default_rng(0)
    v = {"W": rng.normal(size=(3, 2)), "X": rng.normal(size=(2, 7)), "b": rng.normal(size=3),
         "y": rng.normal(size=(3, 7))}
    g = d.evaluate(v)
    o = v["W"] @ v["X"] + v["b"][:, None]
    np.testing.assert_allclose(g["b"], (o - v["y"]).sum(axis=1))  # 1-D, as b was given
    with pytest.raises(sbp.ShapeError, match="dimension n"):
        d.evaluate({**v, "X": rng.normal(size=(4, 7))})


def test_deeper_network_from_a_python_loop_of_let_stages() -> None:
    shapes = shapes_for([3, 4, 4, 4, 2], 2)
    g = sbp.Graph(shapes=shapes)
    prev = "x"
    for ell in range(1, 4):
        g = g.let(f"z{ell}", f"W{ell}@{prev} + b{ell}").let(f"h{ell}", f"sigmoid(z{ell})")
        prev = f"h{ell}"
    g = g.let("o", f"W4@{prev} + b4")
    d = sbp.derive(g, wrt=[f"W{ell}" for ell in range(1, 5)], loss="mse", adjoint="delta")
    assert [str(e.lhs) for e in d.forward] == ["z1", "h1", "z2", "h2", "z3", "h3", "o", "L"]
    tex = d.latex()
    # the recursion δ(ell) = (W(ell+1)ᵀ δ(ell+1)) ⊙ σ'(z(ell)), for every hidden layer
    for ell in (1, 2):
        assert (rf"\boldsymbol{{\delta}}^{{({ell})}} &= \left(\mathbf{{W}}^{{({ell + 1})\top}}"
                rf"\boldsymbol{{\delta}}^{{({ell + 1})}}\right) \odot \sigma'\left(\mathbf{{z}}^"
                rf"{{({ell})}}\right)") in tex
    v = values_for(shapes, "mse")
    got = d.evaluate({k: v[k] for k in shapes})
    _, want = numpy_backprop(v, 4, "sigmoid", "mse", False)
    for ell in range(1, 5):
        np.testing.assert_allclose(got[f"W{ell}"], want[f"W{ell}"], rtol=1e-10)


def test_sympy_matrix_symbols_as_input() -> None:
    m, n = sp.symbols("m n", integer=True, positive=True)
    W = sp.MatrixSymbol("W", m, n)
    x = sp.MatrixSymbol("x", n, 1)
    d = sbp.derive(W * x, wrt=W, loss="mse")
    assert r"\frac{\partial L}{\partial \mathbf{W}} &= \frac{\partial L}{\partial \mathbf{o}}\," \
        r"\mathbf{x}^{\top}" in d.latex()
    with pytest.raises(sbp.ShapeError, match=r"W is \(m, n\) in the expression but \(3, 3\) in shapes"):
        sbp.derive(W * x, shapes={"W": (3, 3)}, loss="mse")


def test_layout_doc_example() -> None:
    """docs/layouts.md: ∂(Ax)/∂x is A in numerator layout (matrixcalculus.org) and Aᵀ in
    denominator layout (SymPy's own answer)."""
    A, x = sp.MatrixSymbol("A", 3, 2), sp.MatrixSymbol("x", 2, 1)
    assert (A * x).diff(x) == A.T
    shapes = {"A": (3, 2), "x": (2, 1)}
    num = sbp.derive("sum(A@x)", shapes=shapes, wrt="x", layout="numerator").latex()
    den = sbp.derive("sum(A@x)", shapes=shapes, wrt="x", layout="denominator").latex()
    assert r"\frac{\partial \mathbf{t}}{\partial \mathbf{x}} = \mathbf{A}" + " \\\\" in num
    assert r"\nabla_{\mathbf{x}} \mathbf{t} = \mathbf{A}^{\top}" in den
    assert "numerator layout" in num
    assert "denominator layout" in den
