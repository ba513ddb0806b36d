"""One glyph never stands for two things (held-out exploreK F01–F10, F13).

The printer's own glyphs — the identity 𝐈, the exchange matrix 𝐉, Euler's e in e^{x},
the layer errors δ⁽ˡ⁾, a function's upright name, σ/ψ before a bracket — are never given to a
user's variable, two variables never print alike, and what the docs say reads back reads
back to the same gradients (or is refused; never read as something else silently).
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.emit.symbols import symbol_table


def _values(d: sbp.Derivation, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for s in d.inputs:
        shape = getattr(s, "shape", None)
        out[str(s.name)] = rng.uniform(0.2, 0.8, size=tuple(int(n) for n in shape)) \
            if shape is not None else float(rng.uniform(0.2, 0.8))
    return out


def _same_gradients(d: sbp.Derivation, tex: str, shapes: dict[str, Any]) -> None:
    """``tex`` read back (LaTeX) has the original's gradients at a point."""
    back = sbp.derive(tex, syntax="latex", shapes=shapes, wrt=[str(v.name) for v in d.wrt])
    vals = _values(d)
    want, got = d.evaluate(vals), back.evaluate(vals)
    assert set(want) == set(got)
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-10, atol=1e-12)


def _never_silently_wrong(d: sbp.Derivation, tex: str, shapes: dict[str, Any]) -> None:
    """The printed forward pass reads back to the same gradients, or is refused."""
    try:
        back = sbp.derive(tex, syntax="latex", shapes=shapes)
    except sbp.SymbackpropError:
        return
    vals = _values(d)
    want = d.evaluate(vals)
    got = back.evaluate({k: vals[k] for k in (str(s.name) for s in back.inputs) if k in vals})
    assert set(got) == set(want), (tex, back.forward)
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-10, atol=1e-12)


def _distinct(d: sbp.Derivation) -> dict[str, str]:
    names = symbol_table(d)
    glyphs = {str(s.name): names[s] for s in (*d.inputs, *(e.lhs for e in d.forward))}
    assert len(set(glyphs.values())) == len(glyphs), glyphs
    return glyphs


def test_exchange_matrix_is_not_an_input_named_J() -> None:
    """F01: flip(x) printed 𝐉x, the input J printed 𝐉 too: ∂L/∂x = 𝐉𝐉."""
    d = sbp.derive("sum(hadamard(J, flip(x)))", shapes={"J": (4, 1), "x": (4, 1)},
                   wrt=["x", "J"])
    tex = d.latex(sections="result")
    assert r"\frac{\partial L}{\partial \mathbf{J}} &= \mathbf{J}_{4}\mathbf{x}" in tex
    assert r"&= \mathbf{J}\mathbf{J}" not in tex
    assert_latex_ok([tex, d.latex()])


def test_identity_is_not_an_input_named_I_and_reads_back() -> None:
    """F02: eye(3) and the input I both printed 𝐈; the identity is now 𝐈₃, read back."""
    shapes = {"I": (3, 3), "X": (3, 3)}
    d = sbp.derive("sum(hadamard(I, X + eye(3)))", shapes=shapes, wrt=["X", "I"])
    fw = d.latex(sections="forward")
    assert r"\mathbf{X} + \mathbf{I}_{3}" in fw
    _same_gradients(d, fw, shapes)
    d2 = sbp.derive("W@x + I", shapes={"W": (2, 3), "x": (3, 1), "I": (2, 1)}, loss="mse")
    chain = d2.latex(sections="chain")
    assert r"\nabla_{\mathbf{I}} \mathbf{o} = \mathbf{I}_{2}" in chain
    assert_latex_ok([fw, d.latex(), chain])


def test_identity_without_an_input_I_is_unchanged() -> None:
    d = sbp.derive("sum(X + eye(3))", shapes={"X": (3, 3)})
    assert r"\mathbf{X} + \mathbf{I}" in d.latex(sections="forward")
    assert r"\mathbf{I}_{" not in d.latex(sections="forward")


def test_exp_is_not_a_power_of_an_input_named_e() -> None:
    """F03: with an input e, exp(x) printed e^{x}, read back as e**x."""
    shapes = {"e": (), "x": ()}
    d = sbp.derive("e*exp(x)", shapes=shapes)
    tex = d.latex()
    assert "e^{" not in tex
    assert r"\exp\left(x\right)" in tex
    _same_gradients(d, d.latex(sections="forward"), shapes)
    assert "e^{x}" in sbp.derive("y*exp(x)").latex()  # no input e: e^{x} as before
    assert_latex_ok([tex])


def test_W_h_and_Wh_never_print_alike() -> None:
    """F04: W_h and Wh printed 𝐖_h and \\mathrm{Wh}, both read back as Wh."""
    shapes = {"W_h": (2, 2), "Wh": (2, 2)}
    d = sbp.derive("sum(hadamard(W_h, W_h) - hadamard(Wh, Wh))", shapes=shapes)
    glyphs = _distinct(d)
    assert glyphs["Wh"] == r"\mathbf{W}_{h}"  # the reader's reading of 𝐖_h
    fw = d.latex(sections="forward")
    _never_silently_wrong(d, fw, shapes)
    assert_latex_ok([fw, d.latex()])


def test_x_keeps_x_beside_x_underscore() -> None:
    """F05: x_ took x (first come), the input x was written \\mathrm{x}."""
    d = sbp.derive("x_*y + x*y**2")
    glyphs = _distinct(d)
    assert glyphs["x"] == "x"
    assert glyphs["x_"] != "x"
    assert r"\frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t_{3}}" in d.latex()
    d2 = sbp.derive("x__y*a + x_y*a**2")
    assert _distinct(d2)["x_y"] == "x_{y}"
    assert_latex_ok([d.latex(), d2.latex()])


def test_inputs_named_like_functions_do_not_print_as_them() -> None:
    """F06: sin_, exp_ printed \\mathrm{sin}, \\mathrm{exp}; log_x \\mathrm{log}_{x}."""
    for src, name in [("sin_*y", "sin_"), ("exp_*y + exp(y)", "exp_"), ("log_x*y", "log_x")]:
        d = sbp.derive(src)
        glyph = _distinct(d)[name]
        assert not re.match(r"\\mathrm\{(sin|exp|log)\}", glyph), glyph
        _never_silently_wrong(d, d.latex(sections="forward"), {})
        assert_latex_ok([d.latex()])


def test_delta_inputs_are_not_the_layer_errors() -> None:
    """F10: inputs delta1, delta2 printed δ⁽¹⁾, δ⁽²⁾, the layer errors' glyphs."""
    shapes = {"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (2, 3), "b2": (2, 1),
              "delta1": (3, 1), "delta2": (2, 1)}
    d = sbp.derive("W2@tanh(W1@x + b1 + delta1) + b2 + delta2", adjoint="delta", shapes=shapes,
                   loss="mse", wrt=["W1", "W2", "delta1", "delta2"])
    fw = d.latex(sections="forward")
    assert r"\boldsymbol{\delta}" not in fw
    names = symbol_table(d)
    glyphs = list(names.values())
    assert len(set(glyphs)) == len(glyphs)
    assert_latex_ok([d.latex(sections=["forward", "backward"])])


def test_an_input_never_prints_as_an_adjoint() -> None:
    """delta_x beside x, adjoint="delta": the input δ_x and the adjoint δ_x."""
    d = sbp.derive("delta_x*x**2", adjoint="delta")
    names = symbol_table(d)
    glyphs = list(names.values())
    assert len(set(glyphs)) == len(glyphs), names


@pytest.mark.parametrize("spelled", ["np.pi", "math.pi", "jnp.pi", "torch.pi"])
def test_a_librarys_pi_is_the_number_beside_a_variable_pi(spelled: str) -> None:
    """F07: with pi declared, np.pi was read as the variable."""
    d = sbp.derive(f"pi*x + {spelled}*x**2", wrt=["x", "pi"], shapes={"pi": (), "x": ()})
    got = d.evaluate({"pi": 2.0, "x": 3.0})
    assert got["x"] == pytest.approx(2.0 + 2 * np.pi * 3.0)
    assert got["pi"] == pytest.approx(3.0)


def test_json_writes_eulers_number_apart_from_an_input_E() -> None:
    """F08: an input E and exp(1) were both "E" in the JSON's expressions."""
    d = sbp.derive("E*x + exp(1)*x**2", wrt=["x", "E"])
    j = json.loads(d.to_json())
    grads = {g["wrt"]: g["expr"] for g in j["gradients"]}
    assert grads["x"] == "E + 2*exp(1)*x"
    assert "exp(1)" in d.to("dot")
    d2 = sbp.derive("pi*x + np.pi*x**2", wrt=["x", "pi"], shapes={"pi": (), "x": ()})
    rhs = [f["rhs"] for f in json.loads(d2.to_json())["forward"]]
    assert "arccos(-1)*t_2" in rhs


def test_latex_result_prints_each_gradient_once() -> None:
    """F09: latex(sections="result") of a scalar printed every gradient twice."""
    r = sbp.derive("a/b*c").latex(sections="result")
    lines = [line.split("&=")[0].strip() for line in r.splitlines() if "&=" in line]
    assert len(lines) == len(set(lines)) == 3


def test_problem_says_which_z(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """F13: latexify showed the function's local z = w x + b just before 'We differentiate
    z', the output."""
    pytest.importorskip("latexify")
    (tmp_path / "_names_f4.py").write_text(
        "import math\ndef f4(w, x, b):\n    z = w * x + b\n    h = math.tanh(z)\n"
        "    return h ** 2 / 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module("_names_f4")
    try:
        md = sbp.derive(mod.f4).markdown()
    finally:
        sys.modules.pop("_names_f4", None)
    problem = md.split("## Forward pass")[0]
    assert "not its local variable z" in problem
    assert r"z = \operatorname{f4}(w, x, b) = " in problem


def test_layout_note_names_the_printed_output() -> None:
    """An input named L renames the loss z: the note said ∂L/∂W still."""
    d = sbp.derive("W@x + L", shapes={"W": (2, 3), "x": (3, 1), "L": (2, 1)}, loss="mse")
    chain = d.latex(sections="chain")
    assert r"\tfrac{\partial z}{\partial \mathbf{W}}" in chain
    assert r"\tfrac{\partial L}" not in chain


def test_sigma_variable_before_a_bracket_is_not_the_sigmoid() -> None:
    """σ (x + y) is the sigmoid on paper and to the reader: the product is σ · (x + y)."""
    from symbackprop.emit.printer import expr_latex

    d = sbp.derive("sigma*(x+y)**2", wrt=["x", "sigma"])
    grad = d.latex(sections="result")
    assert r"\sigma \left(" not in grad
    tex = expr_latex(d.gradients[d.wrt[0]], symbol_table(d))  # 2σ·(x + y)
    back = sbp.derive(tex, syntax="latex")
    assert "sigmoid" not in str(back.forward)
    vals = {"sigma": 0.7, "x": 0.3, "y": 0.4}
    got = back.evaluate({k: vals[k] for k in map(str, back.inputs)})
    assert got["y"] == pytest.approx(2 * 0.7)  # ∂(2σ(x + y))/∂y
    assert_latex_ok([grad])


def test_text_never_prints_two_variables_alike() -> None:
    d = sbp.derive("x_*y + x*y**2")
    text = d.to("text")
    assert "∂z/∂x_ = ∂z/∂t₁⋅y" in text
    assert "∂z/∂x = ∂z/∂t₃⋅t₂" in text


@pytest.mark.parametrize("name", ["Wh1", "Md3", "Whh12"])
def test_a_transposed_layer_name_with_a_subscript_is_one_superscript(name: str) -> None:
    r"""Wh1 prints \mathbf{W}^{(1)}_{h}; transposed (in the backward pass of any product with
    it) it was \mathbf{W}^{(1)}_{h}^{\top}, TeX's "Double superscript" (held-out round T).
    The layer and the transpose share the superscript: \mathbf{W}^{(1)\top}_{h}."""
    d = sbp.derive(f"sum(tanh({name} @ x)) + sum(inv({name}).T @ x)",
                   shapes={name: (3, 3), "x": (3, 1)})
    text = d.latex()
    assert re.search(r"\^\{\(\d+\)\\top\}_\{[a-z]+\}", text)
    assert not re.search(r"\)\}_\{[a-z]+\}\^", text)  # no ^ after W^{(1)}_{h}
    assert_latex_ok([text])
