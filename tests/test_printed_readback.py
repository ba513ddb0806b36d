"""Every function of the vocabulary, printed and read back: the LaTeX that
``d.latex(sections="forward")`` prints for it reads back (``syntax="latex"``) as the same
function, judged by its gradients at a point, never as another one silently.

Held-out cases: ``norm1(X)`` of a matrix printed ‖X‖₁, which the reader reads as the
largest column sum (the literature's and NumPy's ord=1): it prints the entry-wise norm
‖X‖_{1,1}. ``besseli(1, x)`` printed I_{1}(x), read back as the identity I₁ times x: it
prints the upright ``\\operatorname{I}_{1}(x)`` of ISO 80000-2, which reads back as besseli.
``prod(X)`` printed ``\\prod(X)``, which the reader refused; ``flatten(X)`` printed
``\\operatorname{vec}(X^\\top)``, refused too: both read back now.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.emit.printer import expr_latex
from symbackprop.emit.symbols import symbol_table

ROOT = Path(__file__).resolve().parent.parent
VOCABULARY = ROOT / "docs" / "vocabulary.md"
V, M, S = (3, 1), (3, 3), (2, 3)

# docs/writing-expressions.md ("Round trip") says these do not read back yet: products with
# tril(𝟏) and J, block matrices, reshapes, Kronecker products, slices; tensors' index
# notation and the layers' μ_X, σ_X are not read either. Each must be refused loudly (a
# ParseError, or an input no value is given for), never read as another function.
NOT_READ = frozenset({
    "cumsum", "flip", "concatenate", "vstack", "hstack", "stack", "pad", "reshape", "kron",
    "tile", "repeat", "X[a:b, c:d]", "conv2d", "maxpool2d", "avgpool2d", "einsum",
    "batchnorm2d", "batchnorm", "layernorm", "squeeze"})  # squeeze: a reshape


def _rows() -> list[tuple[str, str]]:
    """(name, input) of each row of docs/vocabulary.md's table of functions."""
    rows = []
    for line in VOCABULARY.read_text(encoding="utf-8").splitlines():
        m = re.match(r"\| `([^`]+)` \|[^|]*\|[^|]*\| `([^`]+)` \|", line)
        if m:
            rows.append((m.group(1), m.group(2)))
    return rows


def _shapes(name: str) -> dict[str, Any]:
    from tools.vocabulary import SAMPLES

    return SAMPLES[name][1] if name in SAMPLES else {}


def _values(d: sbp.Derivation, name: str, seed: int = 0) -> dict[str, Any]:
    """A point inside every function's domain: entries in (0.2, 0.8) (log, sqrt, arcsin,
    artanh, erf⁻¹, logit), above 1 for arcosh; one-hot targets for cross-entropy."""
    rng = np.random.default_rng(seed)
    lo, hi = (1.2, 1.8) if name == "arccosh" else (0.2, 0.8)
    out: dict[str, Any] = {}
    for s in d.inputs:
        shape = getattr(s, "shape", None)
        size = () if shape is None else tuple(int(k) for k in shape)
        out[str(s.name)] = rng.uniform(lo, hi, size) if size else float(rng.uniform(lo, hi))
    if name == "cross_entropy":
        y = np.zeros(out["y"].shape)
        y[1] = 1.0
        out["y"] = y
    return out


def _read_back(text: str, shapes: dict[str, Any]) -> tuple[sbp.Derivation, sbp.Derivation,
                                                            str]:
    d = sbp.derive(text, shapes=shapes or None)
    tex = d.latex(sections="forward")
    back = sbp.derive(tex, syntax="latex", shapes=shapes or None,
                      wrt=[str(s.name) for s in d.wrt])
    return d, back, tex


def _same_gradients(d: sbp.Derivation, back: sbp.Derivation, values: dict[str, Any],
                    tex: str) -> None:
    assert {str(s.name) for s in back.inputs} == {str(s.name) for s in d.inputs}, tex
    got, want = back.evaluate(values), d.evaluate(values)
    assert set(got) == set(want), tex
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-8, atol=1e-10,
                                   err_msg=f"{k}: {tex}")


ROWS = _rows()


def test_the_vocabulary_has_its_rows() -> None:
    names = {n for n, _ in ROWS}
    assert len(ROWS) >= 100
    assert {"norm1", "besseli", "polygamma", "digamma", "i0e", "erfinv", "gammaln",
            "softplus", "logsumexp", "prod"} <= names
    assert names >= NOT_READ  # an exclusion that names no row is stale


@pytest.mark.parametrize(("name", "text"), [r for r in ROWS if r[0] not in NOT_READ],
                         ids=[r[0] for r in ROWS if r[0] not in NOT_READ])
def test_each_function_reads_back_as_itself(name: str, text: str) -> None:
    d, back, tex = _read_back(text, _shapes(name))
    _same_gradients(d, back, _values(d, name), tex)


@pytest.mark.parametrize(("name", "text"), [r for r in ROWS if r[0] in NOT_READ],
                         ids=[r[0] for r in ROWS if r[0] in NOT_READ])
def test_what_is_not_read_back_is_refused_loudly(name: str, text: str) -> None:
    shapes = _shapes(name)
    d = sbp.derive(text, shapes=shapes or None)
    tex = d.latex(sections="forward")
    def read_and_evaluate() -> None:  # \mathbf{J} reads as a new input: no value for it
        sbp.derive(tex, syntax="latex", shapes=shapes or None).evaluate(_values(d, name))

    with pytest.raises(sbp.SymbackpropError):
        read_and_evaluate()


# ---------------------------------------------------------------------------------------
# norm1: the entry-wise 1-norm, ‖X‖_{1,1} of a matrix


@pytest.mark.parametrize("shape", [V, S, M, (1, 3)])
def test_norm1_reads_back_as_the_sum_of_absolute_values(shape: tuple[int, int]) -> None:
    """‖X‖₁ of a matrix (of a (1, n) row too, 2-D as NumPy reads it) is the largest column
    sum; norm1 is Σ|X_ij|: printed ‖X‖_{1,1}, it reads back as that."""
    x = np.linspace(-1.0, 1.3, int(np.prod(shape))).reshape(shape)  # no entry 0
    for text in ("norm1(X)", "norm1(X)**2 + sum(X)", "norm1(sin(X))"):
        d, back, tex = _read_back(text, {"X": shape})
        _same_gradients(d, back, {"X": x}, tex)
    np.testing.assert_allclose(_read_back("norm1(X)", {"X": shape})[1].evaluate({"X": x})["X"],
                               np.sign(x))


def test_norm1_prints_the_entrywise_norm_of_a_matrix_and_the_1_norm_of_a_vector() -> None:
    mat = sbp.derive("norm1(X)", shapes={"X": S})
    vec = sbp.derive("norm1(x)", shapes={"x": V})
    row = sbp.derive("norm1(r)", shapes={"r": (1, 3)})
    assert r"\right\rVert_{1,1}" in mat.latex(sections="forward")
    assert r"\right\rVert_{1,1}" in row.latex(sections="forward")
    assert r"\right\rVert_{1}" in vec.latex(sections="forward")
    assert_latex_ok([mat.latex(), row.latex(), vec.latex()])


@pytest.mark.parametrize("tex", [r"\|\mathbf{X}\|_{1,1}", r"\left\lVert \mathbf{X} "
                                 r"\right\rVert_{1, 1}", r"\|\mathbf{X}\|_{1,\,1}"])
def test_the_entrywise_norm_is_read_as_norm1(tex: str) -> None:
    x = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, 0.5]])
    d = sbp.derive(tex, syntax="latex", shapes={"X": S})
    np.testing.assert_allclose(d.evaluate({"X": x})["X"], np.sign(x))
    # ‖X‖₁ stays the literature's largest column sum: its gradient picks one column
    one = sbp.derive(r"\|\mathbf{X}\|_1", syntax="latex", shapes={"X": S})
    g = one.evaluate({"X": x})["X"]
    np.testing.assert_allclose(g, np.array([[0, 1.0, 0], [0, 1.0, 0]]) * np.sign(x))


# ---------------------------------------------------------------------------------------
# besseli: \operatorname{I}_{ν}(x), never the identity I_ν times x


@pytest.mark.parametrize(("text", "shapes"), [
    ("besseli(1, x)", {}), ("besseli(0, x) + besseli(2, x)", {}),
    ("besseli(1, x)**2 * y", {}), ("besseli(3, 2*x + y)", {}),
    ("sum(besseli(1, X))", {"X": S}), ("sum(besseli(2, A@u))", {"A": M, "u": V}),
])
def test_besseli_reads_back_as_besseli(text: str, shapes: dict[str, Any]) -> None:
    d, back, tex = _read_back(text, shapes)
    assert "I_{" not in tex.replace(r"\operatorname{I}_{", ""), tex
    assert not back.readings, back.readings
    _same_gradients(d, back, _values(d, text), tex)


def test_besseli_prints_upright_and_renders() -> None:
    d = sbp.derive("besseli(1, x)**2")
    x = next(s for s in d.inputs)
    grad = expr_latex(d.gradient(x), symbol_table(d))
    assert r"\operatorname{I}_{1}\left(x\right)" in d.latex(sections="forward")
    assert r"\operatorname{I}_{0}\left(x\right)" in grad
    assert_latex_ok([d.latex(), grad])


def test_the_upright_bessel_function_is_read_with_its_order() -> None:
    got = sbp.derive(r"\operatorname{I}_{2}\left(x\right) + \operatorname{I}_0(x)^{2}",
                     syntax="latex")
    want = sbp.derive("besseli(2, x) + besseli(0, x)**2")
    for v in (0.3, -1.2):
        np.testing.assert_allclose(got.evaluate({"x": v})["x"], want.evaluate({"x": v})["x"],
                                   rtol=1e-12)
    with pytest.raises(sbp.ParseError, match="whole number"):
        sbp.derive(r"\operatorname{I}_{n}(x)", syntax="latex")


def test_an_italic_I_with_an_order_before_a_bracket_says_how_it_was_read() -> None:
    """I_{1}(x) is the identity I₁ times x (I_{n} sizes the identity, a variable when I
    is declared): the reading names the Bessel function's upright form."""
    d = sbp.derive(r"I_{1}\left(x\right)", syntax="latex")
    assert any(r"\operatorname{I}_{1}" in r for r in d.readings), d.readings
    d = sbp.derive(r"I_{0}(x)", syntax="latex")
    assert any(r"\operatorname{I}_{0}" in r for r in d.readings), d.readings
    # the identity's sizes are untouched
    d = sbp.derive(r"\mathbf{u}^\top I_{3}\mathbf{u}", syntax="latex", shapes={"u": V})
    np.testing.assert_allclose(d.evaluate({"u": np.ones(V)})["u"], 2 * np.ones(V))
    assert d.readings == ()


# ---------------------------------------------------------------------------------------
# the other special functions and printed forms: as themselves, in powers and products


SPECIAL = ["polygamma(2, x)", "digamma(x)", "trigamma(x)", "gammaln(x)", "i0e(x)", "i1e(x)",
           "erfinv(x)", "erf(x)", "erfc(x)", "softplus(x)", "log1p(x)", "expm1(x)",
           "arcsinh(x)", "arctanh(x)", "sigmoid(x)", "relu(x)", "sign(x)", "step(x)",
           "huber(x, 0.5)", "arctan2(y, x)", "besseli(1, x)"]


@pytest.mark.parametrize("call", SPECIAL)
@pytest.mark.parametrize("form", ["{c}", "{c}**2 * y", "y / {c} + {c}**3", "exp({c})"])
def test_special_functions_read_back_in_powers_and_products(call: str, form: str) -> None:
    text = form.format(c=call)
    d, back, tex = _read_back(text, {})
    _same_gradients(d, back, _values(d, call), tex)


@pytest.mark.parametrize(("text", "shapes"), [
    ("prod(X)", {"X": S}), ("prod(x)", {"x": V}), ("prod(X)**2 + sum(X)", {"X": S}),
    ("sum(prod(X, axis=1))", {"X": S}), ("logsumexp(X)", {"X": S}),
    ("sum(logsumexp(X, axis=0))", {"X": S}), ("sum(hadamard(a, flatten(X)))", {"a": (6, 1),
                                                                             "X": S}),
    ("sum(hadamard(a, flatten(X.T)))", {"a": (6, 1), "X": S}),
])
def test_products_and_stacked_columns_read_back(text: str, shapes: dict[str, Any]) -> None:
    """\\prod(X) (the product of the entries) was refused by the reader; so was
    \\operatorname{vec}(X^\\top), the columns stacked, which flatten prints."""
    d, back, tex = _read_back(text, shapes)
    _same_gradients(d, back, _values(d, text), tex)
    assert_latex_ok([tex])


def test_vec_stacks_the_columns() -> None:
    x = np.arange(6.0).reshape(S)
    a = np.arange(6.0).reshape(6, 1)
    d = sbp.derive(r"\operatorname{sum}(\operatorname{vec}(\mathbf{X}) \odot \mathbf{a})",
                   syntax="latex", shapes={"X": S, "a": (6, 1)})
    got = d.evaluate({"X": x, "a": a})
    np.testing.assert_allclose(got["a"], x.T.reshape(6, 1))  # X's columns, one after another
    np.testing.assert_allclose(got["X"], a.reshape(3, 2).T)


@pytest.mark.parametrize(("text", "shapes"), [
    # two names one print apart (x1 prints x_{1}, x_1 \mathrm{x\_1}, a_b a_{b}, ab \mathrm{ab})
    ("x_1*x1 + x_1**2", {"x_1": (), "x1": ()}),
    ("a_b*x + ab*x", {"a_b": (), "ab": (), "x": ()}),
    ("x_1*sum(x1)", {"x1": (3, 1), "x_1": ()}),
    ("sum(x_1)*x1", {"x_1": (3, 1), "x1": ()}),
    ("x_i*sum(xi)", {"xi": (3, 1), "x_i": ()}),
    ("sum(x_1) + sum(x1)", {"x1": (3, 1), "x_1": (3, 1)}),
    ("sum(W_h@x) + sum(Wh@x)", {"W_h": (2, 3), "Wh": (2, 3), "x": (3, 1)}),
    ("h_t*ht + yhat*y_hat", {"h_t": (), "ht": (), "yhat": (), "y_hat": ()}),
    # a variable named as a constant: pi beside π, e beside exp, omicron beside o
    ("pi*x + np.pi*x", {"pi": (), "x": ()}),
    ("sum(pi) + np.pi*x", {"pi": (3, 1), "x": ()}),
    ("sum(exp(e))", {"e": (3, 1)}),
    ("exp(x) + sum(e)", {"e": (3, 1), "x": ()}),
    ("sum(exp(z/4)) + sum(e)", {"e": (3, 3), "z": (3, 1)}),
    ("sum(tanh(omicron))", {"omicron": (3, 1)}),
    ("omicron*x + o", {"omicron": (), "x": (), "o": ()}),
])
def test_names_that_print_alike_read_back_as_themselves(text: str,
                                                        shapes: dict[str, Any]) -> None:
    """Held-out cases (round D3): x_{1} of a scalar x_1 read back as the declared vector x1,
    \\mathrm{x\\_1} was refused, a_{b} merged with ab; π printed \\pi beside a variable pi (the
    variable, read back), exp printed e^{x} beside a vector e (its power), and omicron
    printed o. Each forward pass, printed and read back, has the original's gradients."""
    d = sbp.derive(text, shapes=shapes)
    rng = np.random.default_rng(7)
    values = {str(s.name): rng.uniform(0.2, 1.0, tuple(s.shape)) if hasattr(s, "shape")
              else float(rng.uniform(0.5, 1.5)) for s in d.inputs}
    tex = d.latex(sections="forward")
    back = sbp.derive(tex, syntax="latex", shapes=shapes)
    got, want = back.evaluate(values), d.evaluate(values)
    assert set(got) == set(want), tex
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, err_msg=f"{k} of {tex}")
    assert_latex_ok([tex])
