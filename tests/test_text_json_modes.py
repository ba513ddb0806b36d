"""Text and JSON carry what each mode derives, as the LaTeX does: the adjoints of a scalar
output (reverse mode), the tangents (forward mode), the Jacobian of a non-scalar output (in
either layout) and a Hessian (the Jacobian of a gradient); the text writes the adjoints as
``adjoint=`` asks. JSON expressions are read back to numbers, never compared as strings."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.check import Engine
from symbackprop.cli import main

RNG = np.random.default_rng(7)
SCALAR = "log(x1) + x1*x2 - sin(x2)"
LINEAR = {"W": (3, 4), "x": (4, 1)}
HESSIAN = ("0.5*x.T@A@x + sum(exp(x))", {"x": (3, 1), "A": (3, 3)})
NET = ("W2@sigmoid(W1@x + b1) + b2", {"W1": (3, 4), "x": (4, 1), "b1": (3, 1),
                                      "W2": (2, 3), "b2": (2, 1)})
KEYS = ["schema", "source", "options", "readings", "loss", "output", "inputs", "forward",
        "partials", "backward", "gradients", "latex", "tangents"]  # as test_emit_json's


# ---------------------------------------------------------------------------------------
# reading the outputs


def sections(text: str) -> dict[str, list[str]]:
    """The text's sections by title (the first line, and each line after a blank one)."""
    out: dict[str, list[str]] = {}
    for block in text.split("\n\n"):
        title, *body = block.split("\n")
        out[title] = body
    return out


def equations(body: list[str]) -> int:
    """How many equations a section draws (one " = " on each, whatever its height)."""
    return sum(" = " in line for line in body)


def pretty(s: sp.Basic) -> str:
    return str(sp.pretty(sp.Symbol(str(s.name)), use_unicode=True))


def _sigmoid(z: Any) -> Any:
    return 1 / (1 + np.exp(-z))


# the text's syntax as Python reads it (@, .T, ** and calls alike; * element-wise, as the
# schema says), with the display forms diag(v) and f'(z) of a Jacobian
NUMPY: dict[str, Any] = {
    "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "sigmoid": _sigmoid, "sum": np.sum,
    "softmax": lambda z: np.exp(z) / np.sum(np.exp(z)),
    "diag": lambda v: np.diagflat(v),
    "exp_prime": np.exp, "tanh_prime": lambda z: 1 - np.tanh(z) ** 2,
    "sigmoid_prime": lambda z: _sigmoid(z) * (1 - _sigmoid(z)),
}


def numpy_value(expr: str, values: Mapping[str, Any]) -> Any:
    code = re.sub(r"\b(\w+)'\(", r"\1_prime(", expr).replace("dot:", "dot_")
    return eval(code, dict(NUMPY), dict(values))


def read_back(expr: str, shapes: Mapping[str, Any] | None, values: Mapping[str, Any]) -> Any:
    """The numbers of a JSON expression: derived again where the text language reads it
    (as test_emit_json reads a gradient back), else read by NumPy (diag, f')."""
    if "diag(" in expr or "'" in expr:
        return numpy_value(expr, values)
    again = sbp.derive(expr, shapes=dict(shapes) if shapes else None)
    return Engine(again).value({str(k): values[str(k)] for k in again.inputs})


def doc_of(d: sbp.Derivation) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(d.to_json())
    return doc


# ---------------------------------------------------------------------------------------
# reverse mode: a scalar output's adjoints (the ordinary case, unchanged)


def test_reverse_gradient_text_and_json() -> None:
    d = sbp.derive(SCALAR)
    text = sections(d.to("text"))
    assert list(text) == ["forward", "backward"]
    assert equations(text["forward"]) == len(d.forward)
    assert equations(text["backward"]) == len(d.backward)
    for v in d.wrt:
        assert any(f"∂{pretty(d.output)}/∂{pretty(v)} = " in line for line in text["backward"])
    doc = doc_of(d)
    assert list(doc) == KEYS
    assert doc["tangents"] == []
    values = {"x1": 1.7, "x2": 0.4}
    grads = d.evaluate(values)
    assert [g["wrt"] for g in doc["gradients"]] == [str(v.name) for v in d.wrt]
    for g in doc["gradients"]:
        assert float(read_back(g["expr"], None, values)) == pytest.approx(grads[g["wrt"]])


# ---------------------------------------------------------------------------------------
# forward mode: the tangents


@pytest.mark.parametrize(("source", "shapes", "wrt"), [
    (SCALAR, None, None), ("A@exp(x)", {"A": (4, 3), "x": (3, 1)}, "x")])
def test_forward_mode_text_has_the_tangents_not_the_adjoints(
        source: str, shapes: dict[str, Any] | None, wrt: str | None) -> None:
    d = sbp.derive(source, shapes=shapes, wrt=wrt, mode="forward")
    text = sections(d.to("text"))
    assert list(text) == ["forward", "tangents (forward mode)"]
    tangents = text["tangents (forward mode)"]
    in_latex = d.latex().split(r"\textbf{tangents (forward mode)}")[1].count("&=")
    assert equations(tangents) == len(d.tangent_equations) == in_latex
    assert all("\u0307" in line for line in tangents if " = " in line)  # ẋ, ṫ: v̇ = …
    whole = d.to("text")
    for absent in ("∂", "backward", "dot:"):  # no adjoint, no internal tangent name
        assert absent not in whole


def test_forward_mode_json_tangents_give_the_directional_derivative() -> None:
    """Each tangent equation read back in computing order: the output's tangent is the
    gradient times the direction, as the reverse sweep's gradients say."""
    d = sbp.derive(SCALAR, mode="forward")
    doc = doc_of(d)
    assert doc["options"]["mode"] == "forward"
    values: dict[str, Any] = {"x1": 1.3, "x2": 0.6}
    direction = {"x1": 0.7, "x2": -1.1}
    env = dict(values) | {f"dot_{k}": v for k, v in direction.items()}
    for eq in doc["forward"]:
        env[eq["lhs"]] = numpy_value(eq["rhs"], env)
    for eq in doc["tangents"]:
        env[f"dot_{eq['variable']}"] = numpy_value(eq["rhs"], env)
    grads = d.evaluate(values)
    want = sum(grads[k] * direction[k] for k in direction)
    assert env[f"dot_{doc['output']['name']}"] == pytest.approx(want, rel=1e-12)
    of = {t: v for v, t in d.tangents.items()}
    assert [t["variable"] for t in doc["tangents"]] == [str(of[eq.lhs].name)
                                                        for eq in d.tangent_equations]


def test_the_cli_prints_the_tangents(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", SCALAR, "--mode", "forward", "--format", "text"]) == 0
    out = capsys.readouterr().out.rstrip("\n")
    assert out == sbp.derive(SCALAR, mode="forward").to("text")
    assert "tangents (forward mode)" in sections(out)


# ---------------------------------------------------------------------------------------
# a non-scalar output: the Jacobian, in either layout


@pytest.mark.parametrize("layout", ["numerator", "denominator"])
@pytest.mark.parametrize(("source", "wrt"), [("W@x", None), ("tanh(W@x)", "x")])
def test_jacobian_text_and_json(source: str, wrt: str | None, layout: Any) -> None:
    d = sbp.derive(source, wrt=wrt, shapes=LINEAR, layout=layout)
    assert d.is_jacobian
    title = f"Jacobian ({layout} layout)"
    assert rf"\textbf{{{title}}}" in d.latex()  # the LaTeX's section, by the same name
    text = sections(d.to("text"))
    assert list(text) == ["forward", title]
    values = {k: RNG.normal(size=s) for k, s in LINEAR.items()}
    want = d.evaluate(values)
    doc = doc_of(d)
    assert list(doc) == [*KEYS, "jacobians"]
    assert doc["backward"] == [] and doc["gradients"] == []  # noqa: PT018 (no reverse sweep)
    assert [j["wrt"] for j in doc["jacobians"]] == [str(v.name) for v in d.wrt]
    out = pretty(d.output)
    for j, v in zip(doc["jacobians"], d.wrt, strict=True):
        assert j["shape"] == list(want[j["wrt"]].shape)
        if j["expr"] is None:  # a matrix: no closed form, its size in the text
            rows, cols = j["shape"]
            assert j["latex"] is None
            assert any(f"∂vec({out})/∂vec({pretty(v)}): {rows} × {cols}" in line
                       for line in text[title])
            continue
        assert any(f"∂{out}/∂{pretty(v)} = " in line for line in text[title])
        np.testing.assert_allclose(read_back(j["expr"], LINEAR, values), want[j["wrt"]],
                                   rtol=1e-10, atol=1e-12)
    assert any(j["expr"] is not None for j in doc["jacobians"])


def test_the_cli_prints_the_jacobian(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "W@x", "--shape", "W=3x4", "--shape", "x=4", "--format",
                 "text"]) == 0
    out = sections(capsys.readouterr().out.rstrip("\n"))
    assert list(out) == ["forward", "Jacobian (denominator layout)"]
    assert out["Jacobian (denominator layout)"]  # not an empty section


# ---------------------------------------------------------------------------------------
# a Hessian: the Jacobian of the gradient


def test_hessian_text_and_json() -> None:
    source, shapes = HESSIAN
    h = sbp.hessian(source, wrt="x", shapes=shapes)
    text = sections(h.to("text"))
    title = f"Jacobian ({h.options.layout} layout)"
    assert list(text) == ["forward", title]
    assert any(f"∂{pretty(h.output)}/∂x = " in line for line in text[title])
    doc = doc_of(h)
    (entry,) = doc["jacobians"]
    assert entry["wrt"] == "x" and entry["shape"] == [3, 3]  # noqa: PT018
    x, A = RNG.normal(size=(3, 1)), RNG.normal(size=(3, 3))
    exact = 0.5 * (A + A.T) + np.diagflat(np.exp(x))  # ½xᵀAx + Σ exp(x), by hand
    got = read_back(entry["expr"], shapes, {"x": x, "A": A})
    np.testing.assert_allclose(got, exact, rtol=1e-12)
    np.testing.assert_allclose(h.evaluate({"x": x, "A": A})["x"], exact, rtol=1e-12)


def test_a_scalar_hessian_is_an_ordinary_gradient() -> None:
    """The Hessian in a scalar is the second derivative: the gradient of a scalar output."""
    h = sbp.hessian("x**3*y", wrt="x")
    assert not h.is_jacobian
    assert list(sections(h.to("text"))) == ["forward", "backward"]
    (g,) = doc_of(h)["gradients"]
    values = {"x": 0.8, "y": 1.9}
    assert float(read_back(g["expr"], None, values)) == pytest.approx(6 * 0.8 * 1.9)


# ---------------------------------------------------------------------------------------
# adjoint=: the text writes the adjoints as the LaTeX does


@pytest.mark.parametrize("adjoint", ["frac", "bar", "delta"])
def test_text_writes_the_adjoints_as_asked(adjoint: Any) -> None:
    source, shapes = NET
    d = sbp.derive(source, shapes=shapes, loss="mse", adjoint=adjoint)
    tex = d.latex()
    backward = sections(d.to("text"))["backward"]
    assert equations(backward) == len(d.backward)
    heads = [line.split(" = ")[0].strip() for line in backward if " = " in line]
    if adjoint == "frac":
        assert r"\frac{\partial L}{\partial" in tex
        assert all(h.startswith("∂L/∂") for h in heads)
        return
    assert not any("∂" in line for line in backward)
    if adjoint == "bar":
        assert r"\bar{" in tex or r"\overline{" in tex
        assert all("\u0304" in h for h in heads)  # x̄
        return
    layers = set(re.findall(r"\\boldsymbol\{\\delta\}\^\{\((\d+)\)\}", tex))
    assert layers == {"1", "2"}  # the LaTeX's δ⁽¹⁾, δ⁽²⁾ of the pre-activations
    sup = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
    for layer in layers:
        assert f"δ⁽{layer.translate(sup)}⁾ = " in "\n".join(backward)
    assert all(h.startswith("δ") for h in heads)


def test_the_cli_passes_the_adjoint_style_to_the_text(capsys: pytest.CaptureFixture[str],
                                                       ) -> None:
    assert main(["derive", SCALAR, "--adjoint", "delta", "--format", "text"]) == 0
    out = capsys.readouterr().out.rstrip("\n")
    assert out == sbp.derive(SCALAR, adjoint="delta").to("text")
    assert "∂" not in out and "δ" in out  # noqa: PT018


@pytest.mark.tools
def test_every_jacobian_latex_string_in_json_renders() -> None:
    from latex_tools import assert_latex_ok

    source, shapes = HESSIAN
    docs = [doc_of(sbp.hessian(source, wrt="x", shapes=shapes)),
            doc_of(sbp.derive("tanh(W@x)", shapes=LINEAR, layout="numerator"))]
    strings = [j["latex"] for doc in docs for j in doc["jacobians"] if j["latex"]]
    assert len(strings) == 2
    assert_latex_ok(strings)


def test_the_text_prints_a_function_under_a_power_and_a_row_of_ones() -> None:
    """A stage the output does not use leaves the whole program one equation, whose
    gradient holds tanh(c)∘2: SymPy's pretty printer read the function's parts, which ours
    did not set, and raised AttributeError (held-out round T). A row of ones is 𝟙ᵀ, as in
    the LaTeX: b⋅𝟙 had no shape."""
    d = sbp.derive("s = b; sum(tanh(c))", shapes={"c": (4, 1)})
    text = d.to("text")
    lines = text.splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("∂L/∂c = "))
    assert re.fullmatch(r"∂L/∂c = 𝟙 -tanh +\(c\)", lines[k].rstrip())
    assert lines[k - 1].strip() == "∘2"
    d = sbp.derive("sum(tanh(W@X + b))", shapes={"W": (3, 2), "X": (2, 4), "b": (3, 1)})
    assert "z = W⋅X + b⋅𝟙ᵀ" in d.to("text")
    assert "∂L/∂X = 1/2⋅∂L/∂t⋅𝟙ᵀ" in sbp.derive("sum(mean(X, axis=1))",
                                                 shapes={"X": (2, 2)}).to("text")
