"""Every primitive in the table (``rules.RULES``) is complete: a test case, a spelling in every
format, a numeric rule that agrees with SymPy and with finite differences.

A primitive added to the table without one of these fails here, by name, instead of printing
``\\operatorname{MatTrace}`` or raising a ``KeyError`` in one emitter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import sympy as sp
from latex_tools import assert_latex_ok
from test_emit_python import run_generated

import symbackprop as sbp
from symbackprop import witness
from symbackprop.cli import main
from symbackprop.emit import FORMATS
from symbackprop.emit.python import FUNCS as CODE
from symbackprop.emit.python import HELPERS
from symbackprop.parse import FUNCTIONS
from symbackprop.rules import RULES

SH = {"A": (3, 2), "B": (3, 2), "W": (2, 3), "x": (3, 1), "y": (2, 1)}

# one derivation per primitive: the text that exercises it, and the shapes it needs
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "add": ("x1 + 2*x2 - 3", {}),
    "mul": ("x1*x2/x3", {}),
    "pow": ("x1**x2 + x3**3", {}),
    "exp": ("exp(x1)", {}),
    "log": ("log(x1)", {}),
    "sqrt": ("sqrt(x1)", {}),
    "abs": ("abs(x1 - 2)", {}),
    "sin": ("sin(x1)", {}),
    "cos": ("cos(x1)", {}),
    "tan": ("tan(x1)", {}),
    "tanh": ("tanh(x1)", {}),
    "sigmoid": ("sigmoid(x1)", {}),
    "relu": ("relu(x1 - 0.2)", {}),
    "softplus": ("softplus(x1)", {}),
    "max": ("max(x1, x2)", {}),
    "min": ("min(x1, x2)", {}),
    "matmul": ("sum(W @ A)", SH),
    "transpose": ("sum(tanh(A.T) @ B)", SH),
    "sum": ("sum(A * 2)", SH),
    "softmax": ("sum(hadamard(softmax(W @ x), y))", SH),
    "mse": ("mse(W @ x, y)", SH),
    "cross_entropy": ("cross_entropy(W @ x, y)", SH),
    "sqnorm": ("sqnorm(A - B)", SH),
    "trace": ("trace(W @ A) * trace(x1)", SH),  # a scalar is its own trace
}
SCALAR_POINT = {"x1": 0.9, "x2": 0.35, "x3": 1.7}


def _values(d: sbp.Derivation) -> dict[str, Any]:
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {}
    for s in d.inputs:
        name = str(s.name)
        if name in SCALAR_POINT:
            out[name] = SCALAR_POINT[name]
        elif name == "y":
            out[name] = np.array([[0.3], [0.7]])  # a cross-entropy target: a distribution
        else:
            out[name] = rng.uniform(0.2, 1.2, SH[name])
    return out


def test_every_primitive_has_a_case() -> None:
    assert set(CASES) == set(RULES), "primitives without a case: " + \
        ", ".join(sorted(set(RULES) - set(CASES)))


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_primitive_is_spelled_in_every_format(name: str) -> None:
    rule = RULES[name]
    if rule.arity:  # a call in the text, and in the witness's own interpreter of the text
        assert name in FUNCTIONS
        assert name in witness.FUNCS
    if rule.sympy is not None:  # element-wise: generated code and LaTeX of its derivative
        assert name in CODE
        code = CODE[name][0]
        assert code.startswith("np.") or code in HELPERS
        assert rule.latex


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_primitive_derives_prints_and_checks(name: str) -> None:
    text, shapes = CASES[name]
    d = sbp.derive(text, shapes=shapes)
    values = _values(d)
    report = d.check(values)
    assert report.ok, report
    tex = d.latex()
    spelled = {r.latex for r in RULES.values()}
    for cls in {type(e) for eq in d.forward for e in sp.preorder_traversal(eq.rhs)}:
        fallback = rf"\operatorname{{{cls.__name__}}}"  # SymPy's name for a class it does not know
        assert fallback in spelled or fallback not in tex, f"no LaTeX printer for {cls}"
    assert_latex_ok([tex])
    got = d.evaluate(values)
    _, grads = run_generated(d.to_python(), values)  # the generated code, run
    for k, g in got.items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items() if r.sympy is not None))
def test_element_wise_numbers_agree_with_sympy_and_finite_differences(name: str) -> None:
    """The engine's forward is SymPy's function; its VJP, the finite difference of it."""
    rule = RULES[name]
    points = [np.array(v) for v in ((0.37, 1.4), (1.9, 0.6), (-0.8, 0.25))]
    if name in ("log", "sqrt"):
        points = [np.abs(p) for p in points]
    h = 1e-6
    for p in points:
        args = tuple(p[: max(rule.arity, 1)])
        want = float(rule.sympy(*map(sp.Float, args)))
        assert float(rule.forward(*args)) == pytest.approx(want, rel=1e-12)
        out = rule.forward(*args)
        grads = rule.vjp(1.0, out, *args)
        for k in range(len(args)):
            up = list(args)
            down = list(args)
            up[k] += h
            down[k] -= h
            fd = (float(rule.forward(*up)) - float(rule.forward(*down))) / (2 * h)
            assert float(grads[k]) == pytest.approx(fd, rel=1e-6, abs=1e-8), (name, args, k)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_is_one_registry_entry(fmt: str, capsys: pytest.CaptureFixture[str],
                                            ) -> None:
    """``d.to(fmt)``, the named method and the CLI's ``--format`` write the same text."""
    d = sbp.derive("(x + y)**2")
    method = {"json": "to_json", "dot": "to_dot", "python": "to_python"}.get(fmt, fmt)
    if hasattr(d, method):
        assert d.to(fmt) == getattr(d, method)()
    assert main(["derive", "(x + y)**2", "--format", fmt]) == 0
    assert capsys.readouterr().out.rstrip("\n") == d.to(fmt).rstrip("\n")


def test_an_unknown_format_names_the_formats() -> None:
    with pytest.raises(ValueError, match="the formats are latex, markdown"):
        sbp.derive("x").to("typst")


def test_text_shows_every_equation_with_named_adjoints() -> None:
    d = sbp.derive("sigmoid(W@x + b)", shapes=SH | {"b": (2, 1)}, loss="mse")
    text = d.to("text")
    assert text.splitlines()[0] == "forward"
    assert "backward" in text.splitlines()
    for v in ("W", "x", "b", "z", "o"):
        assert f"∂L/∂{v} = " in text
    assert "d:" not in text  # the internal adjoint names never show
