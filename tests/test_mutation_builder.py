"""The builder (builder.py), asserted where the mutation run found it untested (issue 20
part 10): the fast real symbols, names checked where SymPy symbols enter, stages of a Graph
given as SymPy expressions, and the one expression ``assemble`` makes of the stages."""

from __future__ import annotations

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.builder import Builder, _assumed, _real_symbol, _shares_assumptions
from symbackprop.graph import Graph

x, y, z = sp.symbols("x y z", real=True)


def test_intermediates_share_sympys_assumption_objects() -> None:
    # the fast constructor is taken on the SymPy we support, and makes SymPy's own symbol
    assert _shares_assumptions()
    assert _real_symbol is _assumed
    made = _real_symbol("q")
    assert made == sp.Symbol("q", real=True)
    assert hash(made) == hash(sp.Symbol("q", real=True))
    assert made.is_real is True


def test_a_stage_name_is_checked_where_it_is_bound() -> None:
    with pytest.raises(sbp.GraphError,
                       match=r"^stage name '_a' must be a plain identifier \(letters, digits, _; a letter first\)$"):
        Builder().bind("_a", x)


def test_two_symbols_of_one_name_are_refused() -> None:
    with pytest.raises(sbp.GraphError, match=r"^two different symbols are both named 'x': one of them is not "
                       r"real=True \(a stage is real: write sp\.Symbol\('x', real=True\)\)$"):
        sbp.derive(sp.Symbol("x") * sp.Symbol("x", positive=True))


def test_a_sympy_stage_reads_the_earlier_stages_of_its_graph() -> None:
    g = Graph().let("z", "x*y")
    h = g.let("h", 2 * sp.Symbol("z", real=True))
    assert [(str(e.lhs), str(e.rhs)) for e in h] == [("z", "x*y"), ("h", "2*z")]
    assert [str(s) for s in h.inputs] == ["x", "y"]
    with pytest.raises(sbp.GraphError, match=r"^two different symbols are both named 'z': they differ in their "
                       r"assumptions \(a stage is real: write sp\.Symbol\('z', real=True\)\)$"):
        g.let("h", 2 * sp.Symbol("z", positive=True))
    net = Graph(shapes={"W1": (4, 3), "x": (3, 1), "b1": (4, 1)}).let("z", "W1@x + b1")
    with pytest.raises(sbp.ShapeError, match=r"^z is used with two shapes: \(4, 1\) and scalar$"):
        net.let("h", 2 * sp.Symbol("z", real=True))


@pytest.mark.parametrize(("text", "expected"), [
    ("x ** y ** z", x ** (y ** z)),
    ("a = x; b = a*a; b", x**2),
    # a stage used by two sums: each gets its own copy of it
    ("t = x + y; u = t + 1; v = t + 2; u*v", (x + y + 1) * (x + y + 2)),
    # x + y is one node, used by a sum (which gathers it) and then by sin
    ("w*(z + (x + y)) + sin(x + y)", sp.Symbol("w", real=True) * (x + y + z) + sp.sin(x + y)),
    ("t = x + y; u = t*t + x*t; w = u*u + x*u; w",
     ((x + y)**2 + x * (x + y))**2 + x * ((x + y)**2 + x * (x + y))),
])
def test_stages_are_substituted_into_one_expression(text: str, expected: sp.Basic) -> None:
    assert sbp.parse(text) == expected


def test_a_sympy_product_of_three_matrices_is_two_products() -> None:
    W, V, U = sp.MatrixSymbol("W", 2, 3), sp.MatrixSymbol("V", 3, 2), sp.MatrixSymbol("U", 2, 2)
    for g in ("auto", "primitive"):
        d = sbp.derive(sp.Trace(W * V * U), granularity=g)  # type: ignore[arg-type]
        assert [(str(e.lhs), str(e.rhs)) for e in d.forward] == [
            ("t_1", "W*V"), ("t_2", "t_1*U"), ("L", "Trace(t_2)")]
    d = sbp.derive(sp.Trace(2 * W * V * U))
    assert [(str(e.lhs), str(e.rhs)) for e in d.forward] == [
        ("t_1", "W*V"), ("t_2", "2*t_1*U"), ("L", "Trace(t_2)")]


def test_a_product_of_a_number_and_two_matrices_is_two_primitives() -> None:
    W, V = sp.MatrixSymbol("W", 2, 3), sp.MatrixSymbol("V", 3, 2)
    d = sbp.derive(sp.Trace(2 * W * V), granularity="primitive")
    assert [(str(e.lhs), str(e.rhs)) for e in d.forward] == [
        ("t_1", "W*V"), ("t_2", "2*t_1"), ("L", "Trace(t_2)")]
    assert [(str(e.lhs), str(e.rhs)) for e in d.backward] == [
        ("d:L", "1"), ("d:t_2", "I"), ("d:t_1", "2*d:t_2"), ("d:W", "d:t_1*V.T"),
        ("d:V", "W.T*d:t_1")]


def test_an_equation_is_its_two_sides() -> None:
    import inspect

    eq = sbp.Equation(z, x * y + x)
    assert list(inspect.signature(sbp.Equation).parameters) == ["lhs", "rhs"]
    assert eq.atoms == (x, y)  # found once, then kept: neither shown nor compared
    assert repr(eq) == "Equation(lhs=z, rhs=x*y + x)"
    assert eq == sbp.Equation(z, x * y + x)
    assert hash(eq) == hash(sbp.Equation(z, x * y + x))
    lhs, rhs = eq
    assert (lhs, rhs) == (z, x * y + x)


def test_a_constant_stage_of_symbolic_size_reads_no_input() -> None:
    # ones(n, n) and eye(n) have the dimension n among their arguments: n is no input
    for text, rhs in (("o = ones(n, n); sum(o@X)", "1"), ("o = eye(n); sum(o@X)", "I")):
        d = sbp.derive(text, shapes={"X": ("n", 2)})
        assert [str(s) for s in d.graph.inputs] == ["X"]
        first = d.forward[0]
        assert (str(first.lhs), str(first.rhs), first.atoms) == ("o", rhs, ())
