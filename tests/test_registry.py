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
from latex_tools import assert_latex_ok, need_katex
from primitive_cases import FORMS, SECOND_ORDER, M
from test_emit_python import run_generated

import symbackprop as sbp
from symbackprop.check import random_values, source
from symbackprop.cli import main
from symbackprop.emit import FORMATS
from symbackprop.emit.code_printer import FUNCS as CODE
from symbackprop.emit.code_printer import HELPERS
from symbackprop.parse import FUNCTIONS
from symbackprop.rules import RULES

SH = {"A": (3, 2), "B": (3, 2), "W": (2, 3), "x": (3, 1), "y": (2, 1)}


def _case(name: str) -> tuple[sbp.Derivation, dict[str, Any]]:
    """The primitive's last form in the one table of cases (the matrix one where there is
    one), derived, and values for it; for a node only a backward pass writes, the Hessian
    whose gradient holds it."""
    if name in SECOND_ORDER:
        text, wrt = SECOND_ORDER[name]
        h = sbp.hessian(text, wrt=wrt, shapes=M)
        return h, random_values(h, 0)
    text, positive = FORMS[name][-1]  # the matrix form where there is one
    d = sbp.derive(text, shapes=M)
    return d, random_values(d, 0, attempt=1 if positive else 0)


def test_every_primitive_has_a_case() -> None:
    cases = set(FORMS) | set(SECOND_ORDER)
    assert cases == set(RULES), "primitives without a case: " + \
        ", ".join(sorted(set(RULES) - cases))


def _generated_jacobian(code: str, values: dict[str, Any], wrt: str, m: int) -> np.ndarray:
    """A Jacobian's generated ``vector_jacobian``, run once per row (G = each unit vector)."""
    env: dict[str, Any] = {}
    exec(compile(code, "<generated>", "exec"), env)  # trusted: generated here
    shape = np.shape(values[wrt])
    rows = []
    for k in range(m):
        g = np.zeros(m)
        g[k] = 1.0
        _, grads = env["vector_jacobian"](**values, G=g.reshape(shape, order="F"))
        rows.append(np.ravel(grads[wrt], order="F"))
    return np.array(rows)


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_primitive_is_spelled_in_every_format(name: str) -> None:
    rule = RULES[name]
    if rule.arity:  # a call in the text, and in the witness's own interpreter of the text
        assert name in FUNCTIONS
        assert name in source.FUNCS
    if rule.sympy is not None:  # element-wise: generated code and LaTeX of its derivative
        assert name in CODE
        code = CODE[name][0]
        assert code.startswith("np.") or code in HELPERS
        assert rule.latex


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_primitive_derives_prints_and_checks(name: str) -> None:
    d, values = _case(name)
    report = d.check(values)
    assert report.ok, report
    tex = d.latex()
    spelled = {r.latex for r in RULES.values()}
    for cls in {type(e) for eq in d.forward for e in sp.preorder_traversal(eq.rhs)}:
        fallback = rf"\operatorname{{{cls.__name__}}}"  # SymPy's name for a class it does not know
        assert fallback in spelled or fallback not in tex, f"no LaTeX printer for {cls}"
    assert_latex_ok([tex])
    got = d.evaluate(values)
    if d.is_jacobian:  # a Hessian (SECOND_ORDER): its vector-Jacobian code, row by row
        (w, want), = got.items()
        gen = _generated_jacobian(d.to_python(), values, w, len(want))
        np.testing.assert_allclose(gen, want, rtol=1e-10, atol=1e-12)
        return
    _, grads = run_generated(d.to_python(), values)  # the generated code, run
    for k, g in got.items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)


# ψ⁽ⁿ⁾'s and I_n's first operand is the order, a whole number: tested in
# test_numpy_functions.py
ORDERED = {"polygamma", "besseli"}


@pytest.mark.parametrize("name", sorted(n for n, r in RULES.items()
                                        if r.sympy is not None and n not in ORDERED))
def test_element_wise_numbers_agree_with_sympy_and_finite_differences(name: str) -> None:
    """The engine's forward is SymPy's function; its VJP, the finite difference of it."""
    rule = RULES[name]
    points = [np.array(v) for v in ((0.37, 1.4, -0.6), (1.9, 0.6, 0.3), (-0.8, 0.25, 2.1))]
    h = 1e-6
    for p in points:
        args = tuple(p[: max(rule.arity, 1)])
        for into in (lambda a: np.abs(a) / 4, lambda a: np.abs(a) + 1.5):  # into the domain
            if rule.nondiff is not None and np.any(rule.nondiff(*args)):  # log, arcsin, arcosh
                args = tuple(into(a) for a in p[: max(rule.arity, 1)])
        assert rule.nondiff is None or not np.any(rule.nondiff(*args)), (name, args)
        # the real part: log|Γ(x)| (scipy's gammaln, ours) is SymPy's loggamma's for x < 0
        want = complex(rule.sympy(*map(sp.Float, args))).real
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
    if fmt == "html":
        need_katex()  # the page inlines KaTeX's files
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
