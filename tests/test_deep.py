"""Deep and wide graphs derive, print and evaluate equation by equation: no RecursionError,
and the recursion limit is never raised. (SymPy's own str/latex/diff fail at a few hundred
levels on one nested expression; we never hand SymPy the whole thing.)"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp

RECURSION_LIMIT = sys.getrecursionlimit()


@pytest.fixture(autouse=True)
def _recursion_limit_untouched() -> Iterator[None]:
    yield
    assert sys.getrecursionlimit() == RECURSION_LIMIT


def nested_sin(n: int) -> sp.Basic:
    e = sp.Symbol("x")
    for _ in range(n):
        e = sp.sin(e, evaluate=False)
    return e


def test_sympy_itself_fails_on_the_300_deep_sin() -> None:
    """The premise: SymPy's recursive printers break on this expression."""
    with pytest.raises(RecursionError):
        sp.latex(nested_sin(1_000))


def test_300_deep_sin_derives_prints_and_evaluates() -> None:
    d = sbp.derive(nested_sin(300), wrt="x")
    assert len(d.forward) == 300
    tex = d.latex()
    assert tex.startswith(r"\begin{aligned}")
    assert tex.count(r"\sin") >= 300
    x = 0.7
    want = 1.0
    for _ in range(300):  # chain rule by hand
        want *= np.cos(x)
        x = np.sin(x)
    assert d.evaluate({"x": 0.7})["x"] == pytest.approx(want, rel=1e-9)
    rows = d.trace({"x": 0.7})
    assert len(rows) == 301


@pytest.mark.slow
def test_10000_stage_chain_with_let() -> None:
    g = sbp.Graph()
    prev = "x"
    for i in range(10_000):
        g = g.let(f"s{i}", f"tanh({prev}) * w" if i % 2 else f"{prev} + sin(w)")
        prev = f"s{i}"
    d = sbp.derive(g, wrt=["x", "w"])
    assert len(d.forward) == 10_000
    assert len(d.latex()) > 100_000
    got = d.evaluate({"x": 0.3, "w": 0.9})
    h = 1e-6  # central difference through a plain loop
    def f(x: float, w: float) -> float:
        for i in range(10_000):
            x = np.tanh(x) * w if i % 2 else x + np.sin(w)
        return x
    assert got["x"] == pytest.approx((f(0.3 + h, 0.9) - f(0.3 - h, 0.9)) / (2 * h), abs=1e-6)
    assert got["w"] == pytest.approx((f(0.3, 0.9 + h) - f(0.3, 0.9 - h)) / (2 * h), rel=1e-4)


@pytest.mark.slow
def test_10000_text_stages_with_raised_limits() -> None:
    text = "\n".join(f"t{i} = tanh(t{i - 1}) * x" if i else "t0 = sin(x)"
                     for i in range(10_000)) + "\nt9999"
    with pytest.raises(sbp.LimitError, match="max_length"):
        sbp.derive(text)
    d = sbp.derive(text, wrt="x", limits=sbp.Limits(max_length=10**6, max_nodes=10**6))
    assert len(d.forward) == 10_000
    assert d.latex().count(r"\tanh") >= 10_000
    assert np.isfinite(d.evaluate({"x": 0.3})["x"])


@pytest.mark.slow
def test_sum_of_10000_terms() -> None:
    xs = sp.symbols("x0:10000")
    d = sbp.derive(sp.Add(*[v**2 for v in xs]))
    assert len(d.wrt) == 10_000
    assert len(d.latex()) > 100_000
    g = d.evaluate({str(v): i / 10_000 for i, v in enumerate(xs)})
    assert g["x9999"] == pytest.approx(2 * 0.9999)
    assert g["x0"] == 0.0


def test_python_loop_over_symbols() -> None:
    """A 2,000-deep SymPy chain built in a loop: add_expr walks it without recursion."""
    x = sp.Symbol("x")
    e = x
    for i in range(2_000):
        e = sp.tanh(e, evaluate=False) if i % 2 else sp.Mul(e, 2, evaluate=False)
    d = sbp.derive(e, wrt=x)
    assert len(d.forward) == 2_000
    assert d.latex()
    assert np.isfinite(d.evaluate({"x": 0.01})["x"])


def test_text_deeper_than_the_limit_is_a_clear_error() -> None:
    with pytest.raises(sbp.LimitError, match=r"nested more than 100 deep \(Limits.max_depth\)"):
        sbp.derive("sin(" * 101 + "x" + ")" * 101)
    d = sbp.derive("sin(" * 150 + "x" + ")" * 150, limits=sbp.Limits(max_depth=200))
    assert len(d.forward) == 150
    with pytest.raises(sbp.LimitError, match="Python's parser"):
        sbp.derive("sin(" * 300 + "x" + ")" * 300, limits=sbp.Limits(max_depth=1_000))


def test_parse_refuses_exponential_substitution() -> None:
    """Stages that double the substituted expression: parse() stops, derive() is fine."""
    text = "t0 = x\n" + "".join(f"t{i} = t{i - 1}*t{i - 1} + x*t{i - 1}\n"
                                for i in range(1, 60)) + "t59"
    with pytest.raises(sbp.LimitError, match="stage by stage"):
        sbp.parse(text)
    d = sbp.derive(text, wrt="x")
    assert len(d.forward) == 60
    assert d.latex()
