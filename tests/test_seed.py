"""The two examples every release must do well, as the seed writes them."""

from __future__ import annotations

import numpy as np
import sympy as sp

import symbackprop as sbp

SH = {"W1": ("m", "n"), "x": ("n", 1), "b1": ("m", 1), "W2": ("k", "m"), "b2": ("k", 1),
      "y": ("k", 1)}


def test_seed_scalar_exactly() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    x, y = sp.symbols("x y", real=True)
    (e1, e2) = d.forward
    assert (str(e1.lhs), e1.rhs) == ("t", x + y)
    assert (str(e2.lhs), e2.rhs) == ("z", e1.lhs**2)
    assert sp.simplify(d.gradients[x] - 2 * (x + y)) == 0
    line = d.latex().splitlines()[-2].strip()
    assert line == (r"\frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t}\,"
                    r"\frac{\partial t}{\partial x} = 2 t \cdot 1 = 2 \left(x + y\right)")


def test_seed_scalar_evaluate_and_trace() -> None:
    d = sbp.derive("(x + y)**2", wrt=["x", "y"])
    assert d.evaluate({"x": 1.5, "y": -0.25}) == {"x": 2.5, "y": 2.5}
    rows = {r.name: r for r in d.trace({"x": 1.5, "y": -0.25})}
    assert rows["t"].value == 1.25
    assert rows["z"].value == 1.5625
    assert rows["z"].adjoint == 1.0
    assert rows["t"].adjoint == 2.5


def test_seed_network_derivation_reads_like_the_seed() -> None:
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b1", "W2", "b2"], shapes=SH,
                   loss="mse")
    assert [str(e.lhs) for e in d.forward] == ["z", "h", "o", "L"]
    tex = d.latex()
    o, h, z = (rf"\frac{{\partial L}}{{\partial \mathbf{{{v}}}}}" for v in "ohz")
    assert rf"{o} &= \mathbf{{o}} - \mathbf{{y}}" in tex
    assert rf"\frac{{\partial L}}{{\partial \mathbf{{W}}^{{(2)}}}} &= {o}\,\mathbf{{h}}^{{\top}}" in tex
    assert rf"{h} &= \mathbf{{W}}^{{(2)\top}}\,{o}" in tex
    assert (rf"{z} &= {h} \odot \sigma'\left(\mathbf{{z}}\right) = {h} \odot \mathbf{{h}} \odot "
            r"\left(\mathbf{1} - \mathbf{h}\right)") in tex
    assert rf"\frac{{\partial L}}{{\partial \mathbf{{W}}^{{(1)}}}} &= {z}\,\mathbf{{x}}^{{\top}}" in tex
    assert (r"\nabla_{\mathbf{W}^{(1)}} L &= \left(\nabla_{\mathbf{W}^{(1)}} \mathbf{z}\right)"
            r"\left(\nabla_{\mathbf{z}} \mathbf{h}\right)\left(\nabla_{\mathbf{h}} \mathbf{o}"
            r"\right)\left(\nabla_{\mathbf{o}} L\right)") in tex
    assert r"\nabla_{\mathbf{z}} \mathbf{h} = \operatorname{diag}\left(\sigma'\left(\mathbf{z}\right)\right)" in tex
    assert r"\nabla_{\mathbf{h}} \mathbf{o} = \mathbf{W}^{(2)\top}" in tex
    for bad in ("ArrayTensorProduct", "PermuteDims", "Lambda", r"\mapsto"):
        assert bad not in tex


def test_seed_network_numerator_layout() -> None:
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1"], shapes=SH, loss="mse",
                   layout="numerator")
    tex = d.latex()
    assert (r"\frac{\partial L}{\partial \mathbf{W}^{(1)}} &= \frac{\partial L}{\partial "
            r"\mathbf{o}}\,\frac{\partial \mathbf{o}}{\partial \mathbf{h}}\,\frac{\partial "
            r"\mathbf{h}}{\partial \mathbf{z}}\,\frac{\partial \mathbf{z}}{\partial "
            r"\mathbf{W}^{(1)}}") in tex
    assert r"\frac{\partial \mathbf{o}}{\partial \mathbf{h}} = \mathbf{W}^{(2)}" in tex


def test_seed_network_numbers_match_handwritten_numpy() -> None:
    shapes = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1)}
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b1", "W2", "b2"], shapes=shapes,
                   loss="mse")
    rng = np.random.default_rng(1)
    v = {k: rng.normal(size=s) for k, s in shapes.items()}
    g = d.evaluate(v)
    z = v["W1"] @ v["x"] + v["b1"]
    h = 1 / (1 + np.exp(-z))
    o = v["W2"] @ h + v["b2"]
    do = o - v["y"]
    dz = (v["W2"].T @ do) * h * (1 - h)
    np.testing.assert_allclose(g["W2"], do @ h.T, rtol=1e-12)
    np.testing.assert_allclose(g["b2"], do, rtol=1e-12)
    np.testing.assert_allclose(g["W1"], dz @ v["x"].T, rtol=1e-12)
    np.testing.assert_allclose(g["b1"], dz, rtol=1e-12)
