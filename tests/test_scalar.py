"""Scalar derivations: every gradient equals sympy.diff; fan-out sums; depth is no problem."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import sympy as sp
from helpers import sympy_value
from hypothesis import given
from hypothesis import strategies as st

import symbackprop as sbp

X, Y, Z = sp.symbols("x y z", real=True)

# Random expression trees as text, over functions that are smooth on the whole real line
# (log and sqrt and division guarded so every random point lies in the domain).
LEAF = st.sampled_from(["x", "y", "z", "2", "3", "0.5", "x", "y"])
UNARY = ["sin({})", "cos({})", "tanh({})", "sigmoid({})", "softplus({})", "-({})",
         "log(1 + ({})**2)", "sqrt(2 + ({})**2)", "exp(sin({}))", "({})**2", "({})**3"]
BINARY = ["({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (1 + ({})**2)",
          "max({}, {})", "({}) * ({}) + ({})"]


def _trees() -> st.SearchStrategy[str]:
    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        unary = st.tuples(st.sampled_from(UNARY), children).map(lambda t: t[0].format(t[1]))
        binary = st.tuples(st.sampled_from(BINARY), children, children, children).map(
            lambda t: t[0].format(*t[1:t[0].count("{}") + 1]))
        return unary | binary

    return st.recursive(LEAF, extend, max_leaves=12)


def _reference(text: str) -> tuple[sp.Expr, list[sp.Symbol]]:
    expr = sbp.parse(text)
    syms = sorted(expr.free_symbols, key=lambda s: s.name)
    return expr, syms


@given(text=_trees(), point=st.tuples(*[st.floats(-2, 2) for _ in range(3)]))
def test_random_trees_match_sympy_diff(text: str, point: tuple[float, float, float]) -> None:
    expr, syms = _reference(text)
    if not syms:
        return
    d = sbp.derive(text)
    values = dict(zip("xyz", point, strict=True))
    # the graph may keep an input that SymPy cancels in one expression (z*(-x) + x*z + x)
    values = {str(s.name): values[str(s.name)] for s in {*syms, *d.inputs}}
    # stay off the ties of max, where the derivative does not exist: the arguments' values
    # at the point, not the inputs' (max(3x, xz + 3) ties in floats at z = 1e-119)
    for m in expr.atoms(sp.Max, sp.Min):
        vals = [sympy_value(a, values) for a in m.args]
        if any(abs(a - b) < 1e-3 * (1 + abs(a)) for i, a in enumerate(vals)
               for b in vals[i + 1:]):
            return
    numeric = d.evaluate(values)
    for s in syms:
        ref = sp.diff(expr, s)
        want = sympy_value(ref, values)
        got_symbolic = sympy_value(d.gradients[s].doit(), values)
        assert math.isclose(got_symbolic, want, rel_tol=1e-9, abs_tol=1e-9), (text, s)
        assert math.isclose(numeric[str(s.name)], want, rel_tol=1e-7, abs_tol=1e-9), (text, s)


@pytest.mark.parametrize("text", [
    "(x + y)**2", "x*y + sin(x)", "exp(x)*y", "tanh(x*y)", "sigmoid(x)", "x/y - y/x",
    "log(x**2 + 1)", "sqrt(x**2 + y**2)", "softplus(x - y)", "x**3 - 2*x*y + 1",
    "sin(x)**2 + cos(x)**2", "abs(x) * y", "relu(x) + relu(-y)", "(x - y)/(x + y)",
])
def test_gradients_equal_sympy_diff_symbolically(text: str) -> None:
    expr, syms = _reference(text)
    d = sbp.derive(text)
    for s in syms:
        assert sp.simplify(d.gradients[s].doit() - sp.diff(expr, s)) == 0, (text, s)


def test_every_primitive_partial_reads_in_terms_of_its_output() -> None:
    d = sbp.derive("exp(x) + tanh(y) + sigmoid(z)", granularity="primitive")
    partials = {str(u): p for (u, v), p in d.partials.items() if v in (X, Y, Z)}
    # d exp(x) = exp(x), written as the node itself; tanh' = 1 - h²; σ' = σ(1 - σ)
    assert {str(p) for p in partials.values()} == {"t_1", "1 - t_2**2", "t_3*(1 - t_3)"}


def test_fan_out_accumulates_over_every_path() -> None:
    d = sbp.derive("a = sin(x); b = a + a; c = b * a; c")
    a = next(e.lhs for e in d.forward if str(e.lhs) == "a")
    b = next(e.lhs for e in d.forward if str(e.lhs) == "b")
    assert d.partials[(b, a)] == 2  # b = a + a: both edges counted
    adj_a = next(e for e in d.backward if e.lhs == d.adjoints[a])
    assert len(d.terms[a]) == 2  # from b and from c
    # dc/da = b (directly) + 2 dc/db, with dc/db = a and b = 2a: 4a
    assert sp.simplify(adj_a.rhs.subs({d.adjoints[b]: a, b: 2 * a}) - 4 * a) == 0
    # c = 2 sin(x)**2: dc/dx = 4 sin cos
    assert sp.simplify(d.gradients[X].doit() - 4 * sp.sin(X) * sp.cos(X)) == 0
    assert math.isclose(d.evaluate({"x": 0.7})["x"], 4 * math.sin(0.7) * math.cos(0.7))


def test_shared_subexpression_is_one_node() -> None:
    d = sbp.derive("sin(x*y) + cos(x*y)", granularity="primitive")
    products = [e for e in d.forward if e.rhs == X * Y]
    assert len(products) == 1


def test_n_ary_sums_and_products_stay_one_node() -> None:
    d = sbp.derive("x + y + z", granularity="primitive")
    assert len(d.forward) == 1
    assert d.forward[0].rhs == X + Y + Z
    d = sbp.derive("x * y * z")
    assert len(d.forward) == 1


def test_subtraction_and_division_read_as_written() -> None:
    d = sbp.derive("(x - y) / (x + y)", wrt="x")
    tex = d.latex()
    assert "x - y" in tex
    assert r"\frac{" in tex


def test_constants_fold() -> None:
    d = sbp.derive("(2 + 3) * x + 2**3")
    assert d.forward[-1].rhs == 5 * X + 8


def test_depth_5000_chain_without_recursion_limit() -> None:
    e = X
    for _ in range(5000):
        e = sp.sin(e, evaluate=False)
    d = sbp.derive(e, wrt=X)
    assert len(d.forward) == 5000
    got = d.evaluate({"x": 0.3})["x"]
    v, g = 0.3, 1.0
    for _ in range(5000):
        g *= math.cos(v)
        v = math.sin(v)
    assert math.isclose(got, g, rel_tol=1e-9)
    tex = d.latex()
    assert tex.count(r"\\") > 5000


def test_depth_5000_let_stages() -> None:
    g = sbp.Graph().let("t0", "x")
    for i in range(1, 5000):
        g = g.let(f"t{i}", f"t{i - 1} * y + 1")
    d = sbp.derive(g, wrt=["x", "y"])
    vals = d.evaluate({"x": 0.5, "y": 0.999})
    # t_k = y t_{k-1} + 1: dt/dx = y^4999
    assert math.isclose(vals["x"], 0.999**4999, rel_tol=1e-9)
    assert np.isfinite(vals["y"])


def test_validate_rejects_use_before_bind_and_double_binding() -> None:
    t, u = sp.symbols("t u", real=True)
    with pytest.raises(sbp.GraphError, match="used before it is bound"):
        sbp.Graph((sbp.Equation(t, u + X), sbp.Equation(u, sp.sin(X)))).validate()
    with pytest.raises(sbp.GraphError, match="bound twice"):
        sbp.Graph((sbp.Equation(t, X + 1), sbp.Equation(t, X + 2))).validate()


@pytest.mark.parametrize(("text", "wrt", "want"), [
    ("x - x + y", "x", {"x": 0.0}), ("0*x + y**2", ["x", "y"], {"x": 0.0, "y": 4.0}),
    ("h = x; y*2 + h - x", "x", {"x": 0.0})])
def test_an_input_that_cancels_has_the_gradient_zero(text: str, wrt: Any,
                                                    want: dict[str, float]) -> None:
    """SymPy cancels x in x − x + y, and wrt='x' was refused as "not an input of the
    expression" though the text reads x: its gradient is 0 (as sympy.diff and JAX say), the
    derivation keeps x as an input, and check() agrees."""
    d = sbp.derive(text, wrt=wrt)
    values = {"x": 1.0, "y": 2.0}
    assert d.evaluate(values) == pytest.approx(want)
    assert d.check(values).ok
    assert "x" in {str(s.name) for s in d.inputs}


def test_wrt_by_symbol_name_and_list() -> None:
    d1 = sbp.derive("x*y", wrt=X)
    d2 = sbp.derive("x*y", wrt=["x", "y"])
    assert d1.wrt == (X,)
    assert d2.wrt == (X, Y)
    with pytest.raises(ValueError, match="not an input"):
        sbp.derive("x*y", wrt="w")


def test_sympy_expression_input_keeps_user_symbols() -> None:
    a, b = sp.symbols("a b")
    d = sbp.derive(a * sp.exp(b), wrt=[a, b])
    assert set(d.gradients) == {a, b}
    assert sp.simplify(d.gradients[b].doit() - a * sp.exp(b)) == 0


def test_names_rename_intermediates() -> None:
    d = sbp.derive("(x + y)**2", names={"t": "u"})
    assert str(d.forward[0].lhs) == "u"
    assert r"\frac{\partial z}{\partial u}" in d.latex()
