r"""The LaTeX reader and the printed LaTeX read back, against the held-out round L7; values and
gradients against NumPy and JAX by hand, the round trip against the derivation printed.

* F1: the printed forward LaTeX read back as another formula when an input had a name the
  printer writes for a function or a constant (``Gamma`` beside ``\ln\Gamma``, ``I`` beside
  the identity, ``tr``, ``ReLU``, ``arsinh``/``arcosh``/``artanh``): the printer writes such a
  function by another name the reader reads (``\operatorname{gammaln}``,
  ``\operatorname{trace}``, ``\operatorname{relu}``, ``\mathbf{I}_{3}``), for every name of
  the reader's own table (``latex_calls.shadowed``);
* F2: ``f(x) = x^2 \\ L = f(x) + 1`` read the f(x) on the right as f·x: with the definition's
  own arguments it is the stage f, with a reading; with others (``f(y)``) refused;
* F3: ``\mathbf{W}^{(2)}`` with W declared (and W2 not) was a new scalar input W2: it is the
  power of W, as the text's ``W^(2)``, with a reading; with neither declared the name W2, with
  a reading; with W2 declared the name W2, as the derivations print it;
* F4: a declared name before a bracket (``f(x)``, ``\Gamma(x)``, ``\operatorname{ReLU}(x)``)
  is the product, now with the promised reading;
* F5: ``\sum_{i=1}^{n}`` with n a declared variable or a stage: refused, with a message that
  names the cause (was "not the whole range", or with a stage the length, the stage dropped).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.latex_calls import DECLARED_GLYPHS, shadowed
from symbackprop.latex_lexer import OPERATORS
from symbackprop.parse_code import FUNCTIONS
from symbackprop.rules import RULES

jax = pytest.importorskip("jax", reason="the [jax] extra is not installed (JAX is the oracle)")
jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
import jax.numpy as jnp  # noqa: E402  (after the skip)
import jax.scipy.special as jsp  # noqa: E402

A = np.array([[0.9, 0.2], [0.1, 0.7]])
V, U = np.array([[0.3], [0.5], [0.2]]), np.array([[0.2], [0.3], [0.5]])
SHAPES = {"x": (), "y": (), "A": (2, 2), "v": (3, 1), "u": (3, 1)}

# how the text calls each function the table's names hide (a scalar y unless written here)
_USE = {"trace": "trace(A)", "det": "det(A)", "logdet": "logdet(A)", "inv": "sum(inv(A))",
        "sum": "sum(v)", "mean": "mean(v)", "var": "var(v)", "prod": "prod(v)",
        "softmax": "sum(hadamard(u, softmax(v)))", "logsumexp": "logsumexp(v)",
        "cumprod": "sum(cumprod(v))", "sqnorm": "sqnorm(v)", "mse": "mse(v, u)",
        "cross_entropy": "cross_entropy(v, u)", "where": "where(y > 0.5, y, 2*y)",
        "arctan2": "arctan2(y, x)", "max": "max(v)", "min": "min(v)",
        "eye": "trace(A + eye(2))", "pi": "np.pi*y", "huber": "huber(y)"}


def _table_names() -> list[str]:
    """Every name the reader takes for a function or constant unless it is declared: its
    glyphs' (sigma, Gamma, I, …), the words of its table of operators, and the words the
    printer writes for the rules (ReLU, CE, atan2), as far as the reader reads them."""
    words = {*DECLARED_GLYPHS, *OPERATORS}
    for rule in RULES.values():
        if rule.latex.startswith(r"\operatorname{"):
            words.add(rule.latex[len(r"\operatorname{"):].split("}")[0])
    return sorted(w for w in words if shadowed(w, FUNCTIONS) is not None)


def _values(d: sbp.Derivation, y: float) -> dict[str, Any]:
    pool = {"x": 0.7, "y": y, "A": A, "v": V, "u": U}
    return {str(s): pool.get(str(s), 1.3) for s in d.inputs}


def _read_back(d: sbp.Derivation) -> sbp.Derivation:
    tex = d.latex(sections="forward")
    shapes = {str(s): tuple(s.shape) if hasattr(s, "shape") else () for s in d.inputs}
    return sbp.derive(sbp.parse_latex(tex, shapes=shapes))


def _same(d: sbp.Derivation, back: sbp.Derivation, vals: dict[str, Any]) -> None:
    assert {str(s) for s in back.inputs} == {str(s) for s in d.inputs}
    np.testing.assert_allclose(np.asarray(back.trace(vals).rows[-1].value, dtype=float),
                               np.asarray(d.trace(vals).rows[-1].value, dtype=float),
                               rtol=1e-10)
    want, got = d.evaluate(vals), back.evaluate(vals)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k], dtype=float),
                                   np.asarray(want[k], dtype=float), rtol=1e-10, atol=1e-12)


def test_the_table_holds_the_names_found() -> None:
    names = _table_names()
    for n in ("Gamma", "I", "tr", "ReLU", "arsinh", "arcosh", "artanh", "sigma", "psi", "e",
              "pi", "CE", "sgn", "atan2"):
        assert n in names


@pytest.mark.parametrize("name", _table_names())
def test_an_input_named_as_a_function_reads_back_beside_it(name: str) -> None:
    """F1: an input of each name of the reader's table beside the function (or constant)
    the name stands for reads back with the same value and gradients; a name the text
    refuses (a function of the text: ``relu``, ``sin``) cannot be an input at all."""
    fn = shadowed(name, FUNCTIONS)
    assert fn is not None
    shapes = {**SHAPES, name: ()}
    if name in FUNCTIONS:  # (the function is the text's of that very name)
        with pytest.raises(sbp.ParseError):
            sbp.derive(f"{name}*x + {_USE.get(name, f'{name}(y)')}", shapes=shapes)
        return
    d = sbp.derive(f"{name}*x + {_USE.get(fn, f'{fn}(y)')}", shapes=shapes)
    assert name in {str(s) for s in d.inputs}
    for y in (0.4, 1.6):  # a point in the function's domain
        vals = _values(d, y)
        if np.all(np.isfinite(np.asarray(d.trace(vals).rows[-1].value, dtype=float))):
            break
    assert d.check().ok
    _same(d, _read_back(d), vals)


def _jax_grads(f: Any, vals: dict[str, Any]) -> dict[str, Any]:
    keys = sorted(vals)
    g = jax.grad(lambda *a: f(dict(zip(keys, a, strict=True))),
                 argnums=tuple(range(len(keys))))(*(jnp.asarray(vals[k]) for k in keys))
    return dict(zip(keys, g, strict=True))


@pytest.mark.parametrize(("src", "shapes", "vals", "f"), [
    ("Gamma*x + gammaln(x)", {"Gamma": (), "x": ()}, {"Gamma": 0.7, "x": 1.3},
     lambda p: p["Gamma"] * p["x"] + jsp.gammaln(p["x"])),
    ("trace(A + eye(2)) + I", {"I": (), "A": (2, 2)}, {"I": 0.7, "A": A},
     lambda p: jnp.trace(p["A"] + jnp.eye(2)) + p["I"]),
    ("tr*x + trace(A)", {"tr": (), "x": (), "A": (2, 2)}, {"tr": 0.7, "x": 1.3, "A": A},
     lambda p: p["tr"] * p["x"] + jnp.trace(p["A"])),
    ("ReLU*x + relu(x)", {"ReLU": (), "x": ()}, {"ReLU": 0.7, "x": 1.3},
     lambda p: p["ReLU"] * p["x"] + jnp.maximum(p["x"], 0)),
    ("artanh*x + arctanh(y)", {"artanh": (), "x": (), "y": ()},
     {"artanh": 0.7, "x": 1.3, "y": 0.2}, lambda p: p["artanh"] * p["x"] + jnp.arctanh(p["y"])),
    ("arcosh*x + arccosh(y)", {"arcosh": (), "x": (), "y": ()},
     {"arcosh": 0.7, "x": 1.3, "y": 1.7}, lambda p: p["arcosh"] * p["x"] + jnp.arccosh(p["y"])),
    ("arsinh*x + arcsinh(y)", {"arsinh": (), "x": (), "y": ()},
     {"arsinh": 0.7, "x": 1.3, "y": 0.4}, lambda p: p["arsinh"] * p["x"] + jnp.arcsinh(p["y"])),
    ("sgn*x + sign(y)", {"sgn": (), "x": (), "y": ()}, {"sgn": 0.7, "x": 1.3, "y": -0.4},
     lambda p: p["sgn"] * p["x"] + jnp.sign(p["y"])),
])
def test_the_found_cases_read_back_as_jax_computes_them(src: str, shapes: dict[str, Any],
                                                       vals: dict[str, Any], f: Any) -> None:
    d = sbp.derive(src, shapes=shapes)
    back = _read_back(d)
    np.testing.assert_allclose(float(back.trace(vals).rows[-1].value), float(f(vals)),
                               rtol=1e-10)
    want = _jax_grads(f, vals)
    got = back.evaluate(vals)
    for k, v in want.items():
        np.testing.assert_allclose(np.asarray(got[k], dtype=float).reshape(np.shape(v)),
                                   np.asarray(v), rtol=1e-10, atol=1e-12)


def test_the_exchange_matrix_beside_a_scalar_J_is_never_that_variable() -> None:
    r"""A flip printed 𝐉u beside a scalar input J read back as J·u, silently (the round's
    rt_names3): 𝐉 is written with its size, 𝐉₃, as beside a matrix J; a flip is not read
    back yet (docs: a name with no value), so the inputs read back differ, never J's value."""
    shapes = {"J": (), "x": (), "a": (3, 1), "u": (3, 1)}
    d = sbp.derive("J*x + sum(hadamard(a, flip(u, axis=0)))", shapes=shapes)
    tex = d.latex(sections="forward")
    assert r"\mathbf{J}_{3}" in tex
    back = sbp.derive(sbp.parse_latex(tex, shapes=shapes))
    assert {str(s) for s in back.inputs} - {str(s) for s in d.inputs}
    with pytest.raises(sbp.SymbackpropError):
        back.evaluate({"J": 0.7, "x": 1.3, "a": V, "u": U})


def test_the_function_names_are_unchanged_without_such_an_input() -> None:
    d = sbp.derive("x*y + relu(x) + trace(A + eye(2)) + gammaln(y) + arctanh(x)",
                   shapes=SHAPES)
    tex = d.latex(sections="forward")
    for glyph in (r"\operatorname{ReLU}", r"\operatorname{tr}", r"\ln\Gamma",
                  r"\operatorname{artanh}", r"\mathbf{I}"):
        assert glyph in tex
    assert r"\mathbf{I}_{" not in tex


def _latex(src: str, shapes: dict[str, Any], vals: dict[str, Any], f: Any) -> sbp.Derivation:
    """``src`` read as LaTeX: its value and every gradient those of ``f`` (JAX), and check()."""
    d = sbp.derive(src, syntax="latex", shapes=shapes)
    assert {str(s) for s in d.inputs} == set(vals)
    np.testing.assert_allclose(np.asarray(d.trace(vals).rows[-1].value, dtype=float),
                               np.asarray(f(vals)).reshape(-1)[0], rtol=1e-10)
    want, got = _jax_grads(f, vals), d.evaluate(vals)
    for k, v in want.items():
        np.testing.assert_allclose(np.asarray(got[k], dtype=float).reshape(np.shape(v)),
                                   np.asarray(v), rtol=1e-10, atol=1e-12)
    assert d.check().ok
    return d


# --- F2: a stage defined as a function, used as written ---------------------------------------
@pytest.mark.parametrize(("src", "shapes", "vals", "f"), [
    (r"f(x) = x^2 \\ L = f(x) + 1", {"x": ()}, {"x": 2.0}, lambda p: p["x"] ** 2 + 1),
    (r"\mathcal{L}(w) = w^2 \\ J = \mathcal{L}(w) + w", {"w": ()}, {"w": 0.7},
     lambda p: p["w"] ** 2 + p["w"]),
    (r"f(x, y) = x^2 y \\ L = f\left(x,\, y\right)^{2}", {"x": (), "y": ()},
     {"x": 0.7, "y": 1.3}, lambda p: (p["x"] ** 2 * p["y"]) ** 2),
    (r"g(\mathbf{x}) = \mathbf{x}^\top\mathbf{x} \\ L = 3\,g(\mathbf{x})", {"x": (3, 1)},
     {"x": V}, lambda p: 3 * jnp.sum(p["x"] ** 2)),
])
def test_a_function_stage_with_its_own_arguments_is_the_stage(
        src: str, shapes: dict[str, Any], vals: dict[str, Any], f: Any) -> None:
    d = _latex(src, shapes, vals, f)
    assert any("read as the stage" in r and "same arguments" in r for r in d.readings), \
        d.readings


@pytest.mark.parametrize("src", [
    r"f(x) = x^2 \\ L = f(y)", r"f(x) = x^2 \\ L = f(2x) + 1",
    r"\mathcal{L}(w) = w^2 \\ J = \mathcal{L}(y) + w", r"f(x, y) = x y \\ L = f(y, x)",
])
def test_a_function_stage_with_other_arguments_is_refused(src: str) -> None:
    with pytest.raises(sbp.ParseError, match="a value, no function to apply to other arguments"):
        sbp.derive(src, syntax="latex", shapes={"x": (), "y": (), "w": ()})


# --- F3: the layer index of a declared W --------------------------------------------------------
W3 = np.array([[0.5, 0.1, 0.2], [0.3, 0.4, 0.1], [0.2, 0.6, 0.3]])
AV, XV = np.array([[0.2], [0.7], [0.4]]), np.array([[0.9], [0.3], [0.5]])


def test_the_layer_index_of_a_declared_W_is_its_power() -> None:
    d = _latex(r"\mathbf{a}^\top\mathbf{W}^{(2)}\mathbf{x}",
               {"W": (3, 3), "a": (3, 1), "x": (3, 1)}, {"W": W3, "a": AV, "x": XV},
               lambda p: (p["a"].T @ p["W"] @ p["W"] @ p["x"])[0, 0])
    assert any("power 2 of the declared W" in r for r in d.readings), d.readings
    _latex(r"\mathbf{a}^\top\mathbf{W}^{(2)\top}\mathbf{x}",
           {"W": (3, 3), "a": (3, 1), "x": (3, 1)}, {"W": W3, "a": AV, "x": XV},
           lambda p: (p["a"].T @ (p["W"] @ p["W"]).T @ p["x"])[0, 0])
    d = _latex(r"\mathbf{W} = \mathbf{A} + \mathbf{A}^\top \\ L = \mathbf{a}^\top"
               r"\mathbf{W}^{[2]}\mathbf{x}", {"A": (3, 3), "a": (3, 1), "x": (3, 1)},
               {"A": W3, "a": AV, "x": XV},
               lambda p: (p["a"].T @ (p["A"] + p["A"].T) @ (p["A"] + p["A"].T) @ p["x"])[0, 0])
    assert any("power 2 of the stage W" in r for r in d.readings), d.readings


def test_the_layer_index_of_nothing_declared_is_the_layers_name() -> None:
    d = _latex(r"W^{(2)} x + W^{(2)}", {"x": ()}, {"W2": 0.7, "x": 1.3},
               lambda p: p["W2"] * p["x"] + p["W2"])
    assert any("read as the name W2" in r for r in d.readings), d.readings


def test_the_layer_index_of_a_declared_W2_is_that_name() -> None:
    r"""As the derivations print W2 (``\mathbf{W}^{(2)}``), so that it reads back; with W
    declared too, a reading names the power's spelling."""
    d = _latex(r"\mathbf{a}^\top\mathbf{W}^{(2)}\mathbf{x}",
               {"W2": (3, 3), "a": (3, 1), "x": (3, 1)}, {"W2": W3, "a": AV, "x": XV},
               lambda p: (p["a"].T @ p["W2"] @ p["x"])[0, 0])
    assert d.readings == ()
    d = _latex(r"\mathbf{a}^\top\mathbf{W}^{(2)}\mathbf{W}\mathbf{x}",
               {"W": (3, 3), "W2": (3, 3), "a": (3, 1), "x": (3, 1)},
               {"W": W3, "W2": W3.T, "a": AV, "x": XV},
               lambda p: (p["a"].T @ p["W2"] @ p["W"] @ p["x"])[0, 0])
    assert any("declared W2" in r and "W^{2}" in r for r in d.readings), d.readings


# --- F4: a declared name before a bracket ------------------------------------------------------
@pytest.mark.parametrize(("src", "name", "fn"), [
    ("f(x)", "f", None), (r"\Gamma(x)", "Gamma", None),
    (r"\operatorname{ReLU}(x)", "ReLU", "relu"), (r"\mathrm{tr}(x)", "tr", "trace"),
    (r"h\left(x + 1\right)", "h", None),
])
def test_a_declared_name_before_a_bracket_is_a_product_with_a_reading(
        src: str, name: str, fn: str | None) -> None:
    plus = 1 if "+ 1" in src else 0
    d = _latex(src, {name: (), "x": ()}, {name: 0.7, "x": -1.3},
               lambda p: p[name] * (p["x"] + plus))
    assert any(f"the declared {name} times the bracket" in r for r in d.readings), d.readings
    if fn is not None:  # the spelling the reading gives reads as the function
        assert any(rf"\operatorname{{{fn}}}" in r for r in d.readings), d.readings
        jaxf = {"relu": lambda x: jnp.maximum(x, 0.0), "trace": lambda x: x}[fn]
        _latex(rf"\operatorname{{{fn}}}(x) + {name}", {name: (), "x": ()},
               {name: 0.7, "x": -1.3},
               lambda p: jaxf(p["x"]) + p[name])  # type: ignore[no-untyped-call]


def test_ln_gamma_of_a_declared_gamma_says_it_once() -> None:
    d = _latex(r"\ln\Gamma(x)", {"Gamma": (), "x": ()}, {"Gamma": 0.7, "x": 1.3},
               lambda p: jnp.log(p["Gamma"] * p["x"]))
    assert sum("times the bracket" in r or "times (…)" in r for r in d.readings) == 1, \
        d.readings


def test_a_bold_declared_matrix_before_a_bracket_says_nothing() -> None:
    d = sbp.derive(r"\mathbf{W}(\mathbf{x} + \mathbf{b})", syntax="latex",
                   shapes={"W": (2, 3), "x": (3, 1), "b": (3, 1)})
    assert d.readings == ()


# --- F5: a sum's bound that is a declared variable or a stage ----------------------------------
def test_a_declared_bound_is_refused_naming_the_cause() -> None:
    with pytest.raises(sbp.ParseError, match=r"n is a declared variable.*\\sum_i.*leave n "
                                             r"undeclared.*\\sum_\{i=1\}\^\{5\}"):
        sbp.derive(r"\frac{1}{n}\sum_{i=1}^{n} x_i", syntax="latex",
                   shapes={"n": (), "x": (5, 1)})


@pytest.mark.parametrize("src", [r"n = x^2 \\ L = \sum_{i=1}^{n} u_i",
                                 r"L = \sum_{i=1}^{n} u_i \\ n = x^2 \\ M = L + n"])
def test_a_stage_bound_is_refused_naming_the_cause(src: str) -> None:
    with pytest.raises(sbp.ParseError, match=r"n is a stage.*\\sum_i.*name the stage otherwise"):
        sbp.derive(src, syntax="latex", shapes={"x": (), "u": (3, 1)})


def test_an_undeclared_bound_is_still_the_length() -> None:
    xs = np.array([[0.3], [0.5], [0.2], [0.9], [0.4]])
    _latex(r"\frac{1}{n}\sum_{i=1}^{n} x_i^2", {"x": (5, 1)}, {"x": xs},
           lambda p: jnp.mean(p["x"] ** 2))
