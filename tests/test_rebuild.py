"""The fast rebuild of sums and products (``canonical._resorted``) is exactly what the slow
path builds (SymPy's ``xreplace``; for max, min and the step, the rebuild that never asks
SymPy to compare): checked on every call while random programs are derived. So are the other
fast paths: a product by an adjoint, a sum of unlike terms, the reading of a sum or product
of symbols (``recognise._of_symbols``) and the sweep through a one-node equation
(``sweep._one_node``, against ``vjp``)."""

from __future__ import annotations

import contextlib
import itertools
import re
from typing import Any

import pytest
import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from programs import programs
from sympy import MatAdd
from sympy.core.basic import _args_sortkey

import symbackprop as sbp
from symbackprop import canonical, recognise, sweep, tangents
from symbackprop.functions import SumAll
from symbackprop.rules import ELEMENTWISE

CALLS: list[int] = []


def _checked_times(real: Any) -> Any:
    def shadow(g: sp.Basic, e: sp.Basic, absent: bool = False) -> sp.Basic | None:
        fast = real(g, e, absent)
        if fast is not None:
            slow = g * e
            assert fast == slow, (g, e)
            assert sp.srepr(fast) == sp.srepr(slow)
            CALLS.append(1)
        return fast
    return shadow


def _checked_sum(real: Any) -> Any:
    def shadow(terms: list[sp.Basic]) -> sp.Basic | None:
        fast = real(terms)
        if fast is not None:
            slow = sp.Add(*terms)
            assert fast == slow, terms
            assert sp.srepr(fast) == sp.srepr(slow)
            CALLS.append(1)
        return fast
    return shadow


def _checked_symbols(real: Any) -> Any:
    def shadow(e: sp.Basic) -> recognise.Prim:
        fast = real(e)
        assert fast == recognise._read(e), e
        CALLS.append(1)
        return fast
    return shadow


def _checked_node(real: Any) -> Any:
    def shadow(node: Any, rhs: sp.Basic, out: sp.Basic, needed: set[sp.Basic],
               plans: Any) -> Any:
        fast = real(node, rhs, out, needed, plans)
        if fast is not None:
            slow = sweep.vjp([node], rhs, out, sp.S.One, needed)
            assert list(fast) == list(slow), rhs
            assert [sp.srepr(v) for v in fast.values()] == [sp.srepr(v) for v in slow.values()]
            CALLS.append(1)
        return fast
    return shadow


def _checked_substitute(real: Any) -> Any:
    def shadow(template: sp.Basic, env: Any) -> sp.Basic:
        fast = real(template, env)
        slow = (canonical._replace_without_comparing(template, env)
                if template.has(*canonical._COMPARING) else template.xreplace(dict(env)))
        assert fast == slow, (template, env)
        assert sp.srepr(fast) == sp.srepr(slow)
        CALLS.append(1)
        return fast
    return shadow


def _shadow_fast_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(canonical, "_resorted", _checked(canonical._resorted))
    monkeypatch.setattr(canonical, "_unevaluated", _checked(canonical._unevaluated))
    monkeypatch.setattr(sweep, "times_symbol", _checked_times(canonical.times_symbol))
    monkeypatch.setattr(sweep, "sum_of", _checked_sum(canonical.sum_of))
    monkeypatch.setattr(recognise, "_of_symbols", _checked_symbols(recognise._of_symbols))
    monkeypatch.setattr(sweep, "_one_node", _checked_node(sweep._one_node))
    monkeypatch.setattr(sweep, "substitute", _checked_substitute(canonical.substitute))
    monkeypatch.setattr(tangents, "substitute", _checked_substitute(canonical.substitute))
    CALLS.clear()


def _checked(real: Any) -> Any:
    def shadow(e: sp.Basic, mapping: Any) -> sp.Basic | None:
        fast = real(e, mapping)
        if fast is not None:
            slow = (canonical._replace_without_comparing(e, mapping)
                    if e.has(*canonical._COMPARING) else e.xreplace(dict(mapping)))
            assert fast == slow, (e, mapping)
            assert sp.srepr(fast) == sp.srepr(slow)
            assert hash(fast) == hash(slow)
            CALLS.append(1)
        return fast
    return shadow


@pytest.mark.parametrize("matrix", [False, True])
def test_fast_rebuild_equals_xreplace(matrix: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    _shadow_fast_paths(monkeypatch)

    @settings(max_examples=200, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=st.data())
    def prop(data: Any) -> None:
        prog = data.draw(programs(matrix=matrix))
        for granularity in ("auto", "primitive"):
            with contextlib.suppress(sbp.SymbackpropError):
                sbp.derive(prog.text(), shapes=prog.shapes() or None, granularity=granularity)

    prop()
    assert len(CALLS) > 100  # the fast path is taken, and was compared each time


def test_the_scalarised_network_takes_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks.cases import scalar_network

    _shadow_fast_paths(monkeypatch)
    net = scalar_network(2, 3, 1)
    sbp.derive(net.loss, wrt=net.params)
    assert CALLS


_ASSUMPTIONS = [{}, {"real": True}, {"positive": True}, {"integer": True},
                {"real": True, "finite": True}, {"commutative": True}]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "x_0", "x_10", "x_9", "W", "d:t", "_0"]),
                          st.integers(0, 3), st.integers(0, len(_ASSUMPTIONS) - 1)),
                min_size=1, max_size=7))
def test_canonical_sort_is_sympys_order(spec: list[tuple[str, int, int]]) -> None:
    """Symbols of any assumptions are sorted as ``Basic.compare`` sorts them."""
    syms = list(dict.fromkeys(sp.Symbol(f"{n}{i}", **_ASSUMPTIONS[k]) for n, i, k in spec))
    fast = list(syms)
    canonical._canonical_sort(fast)
    slow = sorted(syms, key=_args_sortkey)
    assert [(s.name, s.assumptions0) for s in fast] == [(s.name, s.assumptions0) for s in slow]


def _other_terms() -> list[sp.Basic]:
    x, y = sp.Symbol("x", real=True), sp.Symbol("y")
    return [-x, 2 * y, x**2, sp.sin(x), sp.exp(y), x * y, sp.Integer(3), sp.Rational(1, 2),
            sp.Dummy("d"), sp.sqrt(x), -x * y, sp.Function("f")(x), sp.pi]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "x_0", "x_10", "x_9", "W", "d:t", "_0"]),
                          st.integers(0, 3), st.integers(0, len(_ASSUMPTIONS) - 1)),
                min_size=0, max_size=7),
       st.lists(st.integers(0, len(_other_terms()) - 1), min_size=1, max_size=4, unique=True))
def test_canonical_sort_of_symbols_among_other_terms(spec: list[tuple[str, int, int]],
                                                     others: list[int]) -> None:
    """Symbols among other terms (the −y of o − y) are sorted as ``Basic.compare`` sorts
    them: a block of symbols among the rest, wherever the classes put it."""
    syms = list(dict.fromkeys(sp.Symbol(f"{n}{i}", **_ASSUMPTIONS[k]) for n, i, k in spec))
    terms = _other_terms()
    items = list(dict.fromkeys([*syms, *(terms[k] for k in others)]))
    fast = list(reversed(items))
    canonical._canonical_sort(fast)
    slow = sorted(items, key=_args_sortkey)
    assert [sp.srepr(a) for a in fast] == [sp.srepr(a) for a in slow]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "x_0", "x_10", "x_9", "d:t_1", "d:t_12",
                                          "_0", "W1_0_1"]), min_size=2, max_size=4,
                         unique=True), min_size=1, max_size=6))
def test_canonical_sort_of_products_of_symbols(spec: list[list[str]]) -> None:
    """Products of plain real symbols (an adjoint's terms) sort as ``Basic.compare`` sorts
    them."""
    terms = list(dict.fromkeys(sp.Mul(*(sp.Symbol(n, real=True) for n in names))
                               for names in spec))
    fast = list(reversed(terms))
    canonical._canonical_sort(fast)
    assert [sp.srepr(a) for a in fast] == [sp.srepr(a) for a in sorted(terms, key=_args_sortkey)]


@pytest.mark.parametrize("text", ["(1 + x**2) ** sum(2 + P1)", "x ** sum(2 + P1)",
                                  "exp(sum(P1 - 1)) * sqrt(1 + sum(2*P1)**2)",
                                  "((1 + x**2) ** sum((P1 - 2) / exp(P1))) * sum(P1)"])
@pytest.mark.parametrize("granularity", ["auto", "stages", "layers", "primitive"])
def test_a_matrix_sum_inside_a_power_builds_by_let_and_derives(text: str,
                                                              granularity: str) -> None:
    """SymPy's Pow factors its exponent and raised TypeError on sum(2 + P) inlined there
    (found by the differential fuzzer through Graph.let): the stage builds, and every
    granularity keeps the matrix sum a stage of its own and gets the gradient right."""
    import numpy as np

    import symbackprop as sbp

    shapes = {"P1": (1, 3)}
    g = sbp.Graph(shapes=shapes).let("h", text)
    values = {"x": 0.3, "P1": np.array([[0.1, -0.2, 0.3]])}
    d = sbp.derive(g, granularity=granularity)  # type: ignore[arg-type]
    assert d.check(values).ok
    want = sbp.derive(text, shapes=shapes).evaluate(values)
    for k, v in d.evaluate(values).items():
        np.testing.assert_allclose(v, want[k], rtol=1e-12)


_X, _Y, _Z, _W = (sp.Symbol(n, real=True) for n in "xyzw")


@pytest.mark.parametrize("term", [_X, _X * _Y, sp.sin(_X) * _Y, _X * _Y * _Z, sp.exp(_X) * _Y,
                                  _X**2 * _Y, sp.sqrt(_X) * _Y / _Z, sp.pi * _X, 2 * _X,
                                  -_X * _Y, _X / 2], ids=str)
def test_a_term_read_without_asking_has_coefficient_one(term: sp.Expr) -> None:
    """``recognise._read`` takes a symbol or a product led by a non-number as a term of
    coefficient 1 without asking it: what the general reading says (a product led by a
    number, 2x or −xy, is left to it)."""
    fast = type(term) is sp.Symbol or (type(term) is sp.Mul and not term.args[0].is_Number)
    general = (recognise._const_value(term) is None
               and recognise.split_coeff(term) == (sp.S.One, term))
    assert fast <= general  # fast implies the general reading agrees
    p = recognise._read(sp.Add(term, _W))
    assert dict(zip(p.operands, p.kw["coeffs"], strict=True))[_W] is sp.S.One


def _templates() -> list[tuple[str, sp.Basic]]:
    """Every element-wise primitive's local partials (with a few exponents for powers)."""
    out = []
    for name in sorted(ELEMENTWISE):
        for params in ((("exp", 3),), (("exp", sp.Rational(-1, 2)),), ()) if name == "pow" \
                else ((),):
            for arity in (1, 2, 3):
                with contextlib.suppress(Exception):
                    for d in recognise.partials_of(name, params, arity):
                        if d.free_symbols:
                            out.append((name, d))
    return out


@pytest.mark.parametrize(("name", "template"), _templates(), ids=lambda v: str(v)[:30])
def test_substituting_a_partial_is_xreplace(name: str, template: sp.Basic) -> None:
    """The swap of a partial's one placeholder (``canonical.substitute``) builds exactly
    what ``xreplace`` builds, for names that sort before and after the placeholder's, and
    for an operand that is no plain real symbol (then it steps aside)."""
    first, *rest = sorted(template.free_symbols, key=str)
    others = {p: sp.Symbol(f"q_{k}", real=True) for k, p in enumerate(rest)}
    for new in (sp.Symbol("a", real=True), sp.Symbol("t_12", real=True),
                sp.Symbol("zz", real=True), sp.Symbol("p", positive=True), sp.Integer(2)):
        env = {first: new, **others}
        try:  # what the slow path builds (max, min and the step without comparing)
            slow = (canonical._replace_without_comparing(template, env)
                    if template.has(*canonical._COMPARING) else template.xreplace(env))
        except ValueError as e:  # a number where a derivative's variable stands: SymPy
            with pytest.raises(ValueError, match=re.escape(str(e)[:20])):  # refuses; the
                # swap steps aside, and SymPy refuses the same
                canonical.substitute(template, env)
            continue
        fast = canonical.substitute(template, env)
        assert fast == slow, (template, new)
        assert sp.srepr(fast) == sp.srepr(slow)


_FACTORS = [sp.Symbol("a", real=True), sp.Symbol("b"), sp.sin(sp.Symbol("a", real=True)),
            sp.exp(sp.Symbol("b")), sp.exp(-1), sp.pi, sp.Symbol("a", real=True) ** -1,
            sp.Symbol("b") ** 2, sp.sqrt(sp.Symbol("c")), sp.Symbol("c") + 1,
            3 * sp.Symbol("c"), -sp.Symbol("d"), sp.Integer(2), sp.Rational(1, 3),
            sp.Symbol("c") * sp.Symbol("d"), sp.tanh(sp.Symbol("c") * 2)]


def test_operands_read_as_arguments_are_what_classify_reads() -> None:
    """The builder's shortcut (``sympy_input._operands_are_args``) claims a sum's or
    product's operands are its arguments with coefficient and exponent 1: whenever it says so
    (for every sum and product of two or three of the factors above), ``classify`` reads
    exactly that."""
    from symbackprop.sympy_input import _operands_are_args

    claimed = 0
    for k in (2, 3):
        for picks in itertools.product(_FACTORS, repeat=k):
            for op in (sp.Add, sp.Mul):
                e = op(*picks)
                if type(e) is not op or not _operands_are_args(op, e.args):
                    continue
                claimed += 1
                p = recognise._read(e)
                assert p.operands == e.args, e
                if op is sp.Mul:
                    assert (p.kw["coeff"], set(p.kw["exps"])) == (1, {1}), e
                else:
                    assert (p.kw["const"], set(p.kw["coeffs"])) == (0, {1}), e
    assert claimed > 100


_P = sp.Symbol("p", real=True)
_A, _B, _M = sp.MatrixSymbol("A", 2, 4), sp.MatrixSymbol("B", 4, 3), sp.MatrixSymbol("X", 2, 3)


@pytest.mark.parametrize(("expr", "product"), [
    (_X - (_P + 3 * _X) * (_X + 1) * sp.sin(_X), sp.Mul),
    (_X - 2 * _Y * sp.sin(_X) * sp.exp(_Y), sp.Mul),
    (-_X * (_P + 3 * _X) * sp.Piecewise((-_X - 2, _X < 2 * _X), (2 * _X, True)) + sp.sinh(_X),
     sp.Mul),
    (SumAll(_M - 2 * _A * _B), sp.MatMul)], ids=str)
def test_a_scaled_product_in_a_sum_is_a_node_of_its_own(expr: sp.Basic, product: type[sp.Basic]
                                                         ) -> None:
    """x − a·b·c given in SymPy: the sum's argument is −1·(a·b·c), the operand ``classify``
    reads is a·b·c, so replacing the sum's arguments by the operands' nodes left the product
    inside the sum (one stage even at granularity='primitive', and a Piecewise factor was
    never made a where: 'no rule for Piecewise'; the differential fuzzer found it). Each
    product is an equation, every sum reads nodes, and check() says ok."""
    import numpy as np

    d = sbp.derive(expr, granularity="primitive")
    assert any(isinstance(eq.rhs, product) and len(eq.rhs.args) >= 2 for eq in d.forward)
    sums = [eq.rhs for eq in d.forward if isinstance(eq.rhs, (sp.Add, MatAdd))]
    assert sums
    assert all(isinstance(recognise.split_coeff(t)[1], (sp.Symbol, sp.MatrixSymbol))
               for e in sums for t in e.args if not t.is_Number)
    rng = np.random.default_rng(0)
    values = {str(a): rng.normal(size=a.shape) if isinstance(a, sp.MatrixSymbol)
              else float(rng.normal()) for a in expr.free_symbols}
    assert d.check(values).ok
