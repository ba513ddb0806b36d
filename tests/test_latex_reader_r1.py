r"""The LaTeX reader against the held-out round R1, values against NumPy by hand, refusals
by type and message.

* 1: derivative notation in any font or braces (``\frac{{d}y}{{d}x}``,
  ``\frac{\mathbf{d}y}{\mathbf{d}x}``, ``dy/dx``) was a quotient or a product; Δ, δ, D
  fractions (a finite difference, a variation, a material derivative) too: all refused;
* 2: ``\tanh^{(1)}(x)``, the first derivative, was tanh(x)¹: refused, as ``\sigma'`` is;
* 3: the index of a sum as a number in its summand (``\sum_i i x_i``) was a new input i, and
  ``x_{ii}`` read as x_i: both refused; the n of ``\frac{1}{n}\sum_{i=1}^{n} x_i``, which the
  bound reads as the length, is that length everywhere in the LaTeX (was a new input);
* 4: ``\max\left\langle x, y \right\rangle`` was max(x, y): the inner product, one
  argument, as ``\max\langle x, y\rangle`` is;
* 5: ``\log + x`` was log(x): a function without brackets before + is refused; a declared
  name spelled ``\mathrm{tr}``, ``\operatorname{det}`` is the name (tr·x), not the function,
  and ``\ln\Gamma(x)`` with Gamma declared is log(Γ·x), with a reading (was gammaln(x));
* 6 (printer): the Euler–Mascheroni constant printed ``\gamma``, which read back as a new
  input gamma: it prints −ψ(1) (and the golden ratio (1 + √5)/2, not φ), read back as the
  constants.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import pytest

import symbackprop as sbp

S = {"x": (), "y": ()}


def _value(src: str, shapes: Any, values: dict[str, Any]) -> Any:
    d = sbp.derive(src, shapes=shapes, syntax="latex")
    assert d.check().ok
    return np.asarray(d.trace({str(k): values[str(k)] for k in d.inputs})[str(d.output)].value)


# --- 1: derivative notation -------------------------------------------------------------------
@pytest.mark.parametrize("src", [
    r"\frac{{d}y}{{d}x}", r"\frac{d{y}}{d{x}}", r"\frac{d}{d{x}} y",
    r"\frac{\mathbf{d}y}{\mathbf{d}x}", r"\frac{\mathsf{d}y}{\mathsf{d}x}",
    r"\frac{d(y)}{d(x)}", r"\frac{d{\mathbf{y}}}{d{\mathbf{x}}}", r"dy/dx", r"d/dx\, y",
    r"\mathrm{d}y/\mathrm{d}x", r"d\mathbf{y}/d\mathbf{x}",
])
def test_derivative_notation_is_refused(src: str) -> None:
    with pytest.raises(sbp.ParseError, match=r"derivatives .* are not read"):
        sbp.parse(src, S, syntax="latex")


@pytest.mark.parametrize(("src", "name", "ratio"), [
    (r"\frac{\Delta y}{\Delta x}", "Delta", 0.4 / 0.7),
    (r"\frac{\delta L}{\delta w}", "delta", 2.0 / 0.5), (r"\frac{Dy}{Dt}", "D", 0.4 / 3.0),
])
def test_difference_fractions_are_refused_unless_declared(src: str, name: str,
                                                          ratio: float) -> None:
    with pytest.raises(sbp.ParseError, match=f"finite difference.*declare {name} in shapes"):
        sbp.parse(src, None, syntax="latex")
    values = {"x": 0.7, "y": 0.4, "L": 2.0, "w": 0.5, "t": 3.0, name: 5.0}
    assert np.isclose(_value(src, {v: () for v in values}, values), ratio)  # (Δ cancels)


def test_a_delta_fraction_of_more_than_one_name_is_a_quotient() -> None:
    vals = {"delta": 2.0, "x": 0.7, "y": 0.4}
    assert np.isclose(_value(r"\frac{\delta x}{\delta y + 1}", None, vals),
                      2.0 * 0.7 / (2.0 * 0.4 + 1))


def test_upright_material_derivative_is_refused() -> None:
    with pytest.raises(sbp.ParseError, match="material derivative; declare D"):
        sbp.parse(r"\frac{\mathrm{D}y}{\mathrm{D}t}", None, syntax="latex")


def test_a_declared_d_is_a_variable() -> None:
    vals = {"d": 2.0, "x": 0.7, "y": 0.4}
    sh = {"d": (), "x": (), "y": ()}
    assert np.isclose(_value(r"\frac{d y}{d x}", sh, vals), 0.4 / 0.7)
    assert np.isclose(_value(r"dy/dx", sh, vals), 2.0 * 0.4 / 2.0 * 0.7)  # (d·y/d)·x
    assert np.isclose(_value(r"\frac{d_1}{d_2}", {"d_1": (), "d_2": ()},
                             {"d_1": 3.0, "d_2": 4.0}), 0.75)
    assert np.isclose(_value(r"\frac{y}{d x}", {"y": (), "x": ()}, {"d": 2.0, **vals}),
                      0.4 / (2.0 * 0.7))


# --- 2: f^{(n)}, the n-th derivative ----------------------------------------------------------
@pytest.mark.parametrize(("src", "hint"), [
    (r"\tanh^{(1)}(x)", r"1 - \tanh^{2}(x)"), (r"\sin^{(1)}(x)", r"\cos(x)"),
    (r"\log^{(2)}(x)", ""), (r"\operatorname{erf}^{(1)}(x)", ""),
    (r"\operatorname{ReLU}^{(1)}(x)", ""), (r"\sigma^{(1)}(x)", ""),
    (r"tanh^{(1)}(x)", r"1 - \tanh^{2}(x)"), (r"\sin^{(n)} x", ""),
])
def test_nth_derivative_of_a_function_is_refused(src: str, hint: str) -> None:
    with pytest.raises(sbp.ParseError, match="the n-th derivative") as e:
        sbp.parse(src, {"x": ()}, syntax="latex")
    assert hint in str(e.value)
    assert f"'{src.split('(x)')[0].split(' x')[0]}(…)' is not read" in str(e.value)


def test_polygamma_and_powers_still_read() -> None:
    k = np.arange(200_000)
    trigamma = np.sum(1 / (0.7 + k) ** 2) + 1 / (0.7 + k.size)  # ψ⁽¹⁾(x) = Σ 1/(x + k)²
    assert np.isclose(_value(r"\psi^{(1)}(x)", {"x": ()}, {"x": 0.7}), trigamma)
    assert np.isclose(_value(r"\tanh^{2}(x)", {"x": ()}, {"x": 0.7}), np.tanh(0.7) ** 2)


# --- 3: a sum's index as a number -------------------------------------------------------------
XV = np.array([[0.5], [-1.0], [2.0]])


@pytest.mark.parametrize(("src", "shapes"), [
    (r"\sum_i i x_i", {"x": (3, 1)}), (r"\sum_i i x_i", {"x": (3, 1), "i": ()}),
    (r"\sum_{t=1}^{T} \gamma^t r_t", {"r": (3, 1), "gamma": ()}),
    (r"\sum_i \frac{1}{i} x_i", {"x": (3, 1)}), (r"\sum_i 2^i x_i", {"x": (3, 1)}),
    (r"\sum_i x_i^i", {"x": (3, 1)}),
])
def test_the_index_as_a_number_is_refused(src: str, shapes: Any) -> None:
    with pytest.raises(sbp.ParseError, match=r"as a number in the summand is not read.*declared "
                                             "vector"):
        sbp.parse(src, shapes, syntax="latex")


def test_a_repeated_index_is_refused() -> None:
    with pytest.raises(sbp.ParseError, match="an index repeated in one subscript"):
        sbp.parse(r"\sum_i x_{ii}", {"x": (3, 1)}, syntax="latex")


def test_the_bound_letter_is_the_length_everywhere_in_the_statement() -> None:
    src = r"\frac{1}{n}\sum_{i=1}^{n} x_i"
    d = sbp.derive(src, shapes={"x": (3, 1)}, syntax="latex")
    assert [str(s) for s in d.inputs] == ["x"]
    assert any("'n' elsewhere read as 3" in r for r in d.readings)
    assert np.isclose(_value(src, {"x": (3, 1)}, {"x": XV}), XV.mean())
    assert np.isclose(_value(r"\frac{1}{2n}\sum_{i=1}^{n} x_i^2 + n", {"x": (3, 1)}, {"x": XV}),
                      (XV ** 2).sum() / 6 + 3)


def test_the_bound_letter_is_the_length_in_the_other_statements_too() -> None:
    src = r"L = \frac{1}{n}\sum_{i=1}^{n} x_i \\ M = n L"
    assert np.isclose(_value(src, {"x": (3, 1)}, {"x": XV}), XV.sum())
    with pytest.raises(sbp.ParseError, match="n is the length of two sums' vectors, 3 and 4"):
        sbp.parse(r"\sum_{i=1}^{n} x_i + \sum_{i=1}^{n} y_i", {"x": (3, 1), "y": (4, 1)},
                  syntax="latex")


def test_index_sums_that_read_still_read() -> None:
    w = np.array([[1.0], [2.0], [3.0]])
    assert np.isclose(_value(r"\sum_i w_i x_i", {"x": (3, 1), "w": (3, 1)}, {"x": XV, "w": w}),
                      (w.T @ XV).item())
    assert np.isclose(_value(r"\sum_t \operatorname{softplus}(x_t)", {"x": (3, 1)}, {"x": XV}),
                      np.log1p(np.exp(XV)).sum())


# --- 4: \left\langle after a function without brackets ---------------------------------------
YV = np.array([[1.5], [0.3], [-0.2]])
VV = {"x": (3, 1), "y": (3, 1)}


@pytest.mark.parametrize(("src", "expected"), [
    (r"\max\left\langle \mathbf{x}, \mathbf{y} \right\rangle", (XV.T @ YV).item()),
    (r"\exp\left\langle \mathbf{x}, \mathbf{y} \right\rangle", np.exp((XV.T @ YV).item())),
    (r"\exp\bigl\langle \mathbf{x}, \mathbf{y} \bigr\rangle + 1",
     np.exp((XV.T @ YV).item()) + 1),
    (r"\sigma\left\langle \mathbf{x}, \mathbf{y} \right\rangle",
     1 / (1 + np.exp(-(XV.T @ YV).item()))),
])
def test_a_sized_angle_bracket_is_the_inner_product(src: str, expected: float) -> None:
    assert np.isclose(_value(src, VV, {"x": XV, "y": YV}), expected)


# --- 5: a function with no operand; declared names spelled as functions ------------------------
@pytest.mark.parametrize(("src", "shapes"), [
    (r"\log + x", {"x": ()}), (r"\operatorname{tr} + \mathbf{X}", {"X": (3, 3)}),
    (r"\det\mathbf{X} + \det + \mathbf{X}", {"X": (3, 3)}),
])
def test_a_function_before_plus_is_refused(src: str, shapes: Any) -> None:
    with pytest.raises(sbp.ParseError, match="has no operand before the"):
        sbp.parse(src, shapes, syntax="latex")


def test_a_minus_after_a_function_is_still_its_sign() -> None:
    assert np.isclose(_value(r"\exp -x y", S, {"x": 0.7, "y": 0.4}), np.exp(-0.28))


def test_a_declared_name_spelled_upright_is_the_name() -> None:
    sh = {"tr": (), "x": ()}
    assert np.isclose(_value(r"\mathrm{tr}\,x + 1", sh, {"tr": 2.0, "x": 0.7}), 2.4)
    assert np.isclose(_value(r"\operatorname{tr}(x + 1)", sh, {"tr": 2.0, "x": 0.7}), 3.4)
    for src in (r"\mathrm{det} + x", r"\operatorname{det}(x)"):  # (det: the text refuses it)
        with pytest.raises(sbp.ParseError, match="'det' is a function"):
            sbp.parse(src, {"det": (), "x": ()}, syntax="latex")


def test_log_of_a_declared_gamma() -> None:
    d = sbp.derive(r"\ln\Gamma(x)", shapes={"x": (), "Gamma": ()}, syntax="latex")
    assert any("declared Gamma" in r for r in d.readings)
    assert np.isclose(_value(r"\ln\Gamma(x)", {"x": (), "Gamma": ()}, {"x": 0.7, "Gamma": 2.0}),
                      np.log(1.4))
    from math import lgamma
    assert np.isclose(_value(r"\ln\Gamma(x)", {"x": ()}, {"x": 0.7}), lgamma(0.7))


# --- 6: printed constants read back as the constants ------------------------------------------
EULER = 0.5772156649015329


@pytest.mark.parametrize(("src", "shapes", "values", "expected"), [
    ("digamma(1) + x", {"x": ()}, {"x": 0.7}, 0.7 - EULER),
    ("x - digamma(1)", {"x": ()}, {"x": 0.7}, 0.7 + EULER),
    ("digamma(1)*x", {"x": ()}, {"x": 0.7}, -EULER * 0.7),
    ("digamma(1) + x + psi", {"x": (), "psi": ()}, {"x": 0.7, "psi": 2.0}, 2.7 - EULER),
    ("digamma(1) + x", {"x": (), "gamma": ()}, {"x": 0.7, "gamma": 3.0}, 0.7 - EULER),
])
def test_euler_gamma_reads_back_as_the_constant(src: str, shapes: Any, values: Any,
                                                expected: float) -> None:
    d = sbp.derive(src, shapes=shapes)
    back = sbp.derive(sbp.parse_latex(d.latex(sections="forward"), shapes=shapes))
    assert [str(s) for s in back.inputs] == [str(s) for s in d.inputs]
    got = back.trace({str(k): values[str(k)] for k in back.inputs})[str(back.output)].value
    assert np.isclose(float(np.asarray(got)), expected)


def test_golden_ratio_reads_back_as_the_constant() -> None:
    import sympy as sp
    x = sp.Symbol("x", real=True)
    d = sbp.derive(sp.GoldenRatio * x)
    back = sbp.derive(sbp.parse_latex(d.latex(sections="forward"), shapes={"x": ()}))
    got = back.trace({"x": 2.0})[str(back.output)].value
    assert [str(s) for s in back.inputs] == ["x"]
    assert np.isclose(float(np.asarray(got)), 2.0 * (1 + 5 ** 0.5) / 2)


@pytest.mark.parametrize("src", [r"\psi^{2}(x)", r"\psi^2(x)"])
def test_psi_to_a_power_without_brackets_is_refused(src: str) -> None:
    r"""\psi^{2}(x) was polygamma(2, x) silently (only \psi^{(n)} is, as the docs say); a
    power or an order? Refused, naming both (held-out round R3)."""
    with pytest.raises(sbp.ParseError, match=r"polygamma function of order 2"):
        sbp.parse(src, {"x": ()}, syntax="latex")
    x = 1.5
    d = sbp.derive(r"\psi^{(1)}(x)", syntax="latex")
    want = float(mpmath.polygamma(2, x))  # d/dx ψ⁽¹⁾ = ψ⁽²⁾
    assert d.evaluate({"x": x})["x"] == pytest.approx(want, rel=1e-10)


def test_an_escaped_underscore_in_operatorname_is_the_texts_name() -> None:
    r"""\operatorname{log\_softmax} is how TeX writes log_softmax (it was refused)."""
    x = np.array([[0.5], [-1.0], [2.0]])
    d = sbp.derive(r"\sum \operatorname{log\_softmax}(\mathbf{x}) \odot \mathbf{w}",
                   syntax="latex", shapes={"x": (3, 1), "w": (3, 1)}, wrt=["w"])
    logp = x - np.log(np.sum(np.exp(x)))
    got = d.evaluate({"x": x, "w": np.ones((3, 1))})["w"]
    np.testing.assert_allclose(np.ravel(got), np.ravel(logp), rtol=1e-12)


@pytest.mark.parametrize("bars", [r"|x|", r"\left|x\right|", r"\big|x\big|", r"\Bigl|x\Bigr|"])
@pytest.mark.parametrize("name", ["sigma", "psi"])
def test_sigma_and_psi_before_bars_are_the_name_times_them(bars: str, name: str) -> None:
    r"""``\sigma \left|x\right|`` is σ·|x| as ``\sigma |x|`` is: bars are no call (it was the
    sigmoid of |x|, with no reading; held-out round R7)."""
    d = sbp.derive(sbp.parse_latex(rf"L = \{name} {bars}"))
    vals = {name: 0.7, "x": -1.3}
    assert float(d.trace(vals).rows[-1].value) == pytest.approx(0.7 * 1.3)
    assert d.evaluate(vals)[name] == pytest.approx(1.3)


@pytest.mark.parametrize("text", ["sigma * norm(v, 1)", "psi * norm(v, 1) + sum(v)",
                                  "sigma * abs(s) + psi * norm(v)"])
def test_the_name_times_a_norm_reads_back(text: str) -> None:
    """The printer writes ``\\sigma \\left\\lVert v \\right\\rVert_{1}``: read back, the
    same gradients, the input sigma kept (it read back as sigmoid(‖v‖₁))."""
    shapes = {"v": (3, 1)}
    d = sbp.derive(text, shapes=shapes)
    again = sbp.derive(sbp.parse_latex(d.latex(sections="forward"), shapes=shapes))
    assert {str(s) for s in again.inputs} == {str(s) for s in d.inputs}
    vals = {"sigma": 0.7, "psi": -0.4, "s": 0.9, "v": np.array([[0.3], [-0.2], [0.5]])}
    vals = {k: v for k, v in vals.items() if k in {str(s) for s in d.inputs}}
    want, got = d.evaluate(vals), again.evaluate(vals)
    for k in want:
        np.testing.assert_allclose(np.asarray(got[k], dtype=float),
                                   np.asarray(want[k], dtype=float), rtol=1e-12)


@pytest.mark.parametrize(("tex", "shapes"), [
    (r"f(x) = x^2 \\ L = f(x) + 1", None),
    (r"L = \frac{1}{n}\sum_{i=1}^{n} x_i", {"x": (3, 1)}),
    (r"L = \Gamma(x) + x", {"Gamma": (), "x": ()}),
])
def test_a_parsed_graph_keeps_its_readings(tex: str, shapes: Any) -> None:
    """derive(parse_latex(tex)) says how the LaTeX was read, as derive(tex, syntax="latex")
    does (it said nothing; held-out round R7, F7)."""
    direct = sbp.derive(tex, syntax="latex", shapes=shapes)
    assert direct.readings
    graph = sbp.parse_latex(tex, shapes=shapes)
    assert sbp.derive(graph).readings == direct.readings
    assert sbp.derive(graph, shapes=shapes).readings == direct.readings
