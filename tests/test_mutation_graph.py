"""``Graph`` and ``validate`` (graph.py), asserted where the mutation run found them untested
(issue 20 part 10): the record's fields, stages bound on sibling graphs, messages, limits."""

from __future__ import annotations

import inspect

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.graph import Graph, validate

E = sbp.Equation
SHAPES = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1)}


def _net() -> Graph:
    return Graph(shapes=SHAPES).let("z", "W1@x + b1").let("h", "sigmoid(z)")


def test_a_graph_is_a_small_frozen_record() -> None:
    g = _net()
    assert not hasattr(g, "__dict__")  # slots: a let chain makes one graph per stage
    assert list(inspect.signature(Graph).parameters) == [
        "equations", "shapes", "_index", "keep",  # Graph.keep: see test_hessians
        "order",  # Graph.order: a traced function's signature (test_trace_numpy)
        "notes"]  # Graph.notes: parse_latex's readings (test_latex_reader_r1)
    with pytest.raises(AttributeError):
        g.shapes = {}  # type: ignore[misc]
    before = repr(g)
    assert [str(s) for s in g.inputs] == ["W1", "x", "b1"]  # found once, then kept
    # the index and the inputs found on the way are neither shown nor compared
    assert repr(g) == before == (
        "Graph(equations=(Equation(lhs=z, rhs=W1*x + b1), Equation(lhs=h, rhs=sigmoid(z))), "
        "shapes={'W1': (4, 3), 'x': (3, 1), 'b1': (4, 1)})")
    assert g.symbol("z") is not None
    fresh = Graph(g.equations, g.shapes)
    assert g == fresh
    assert fresh == g
    # a graph made from equations finds its names too (its index is built when first asked)
    assert fresh.symbol("z") == g.symbol("z")
    assert fresh.symbol("W1") == g.symbol("W1")
    with pytest.raises(sbp.GraphError, match=r"'z' is bound twice"):
        fresh.let("z", "x")


def test_equations_given_as_a_list_are_kept_as_a_tuple() -> None:
    t, x = sp.Symbol("t", real=True), sp.Symbol("x", real=True)
    g = Graph([E(t, 2 * x)])  # type: ignore[arg-type]
    assert g.equations == (E(t, 2 * x),)
    assert isinstance(g.equations, tuple)
    assert hash(g.equations) == hash((E(t, 2 * x),))


def test_sibling_graphs_bind_their_own_stages() -> None:
    g1 = Graph(shapes=SHAPES).let("z", "W1@x + b1")
    g2 = g1.let("h", "sigmoid(z)")  # shares g1's name index with every let of g1
    k = g1.let("k", "2*z")
    assert k.symbol("h") is None
    assert str(k.let("h", "tanh(z)").equations[-1].rhs) == "tanh(z)"
    assert str(g2.symbol("h")) == "h"
    with pytest.raises(sbp.GraphError, match=r"'h' is bound twice \(or is also an input\)"):
        g2.let("h", "z")


def test_a_stage_name_must_be_an_identifier() -> None:
    with pytest.raises(sbp.GraphError,
                       match=r"^stage name '_a' must be a plain identifier \(letters, digits, _; a letter first\)$"):
        Graph().let("_a", "x")
    with pytest.raises(TypeError, match="let\\(\\) takes text or a SymPy expression, not int"):
        Graph().let("a", 3)  # type: ignore[arg-type]


def test_to_builder_bounds_integers_at_256_bits_by_default() -> None:
    ok = Graph().let("a", "x*" + str(2**255))
    assert set(ok.to_builder().symbols) == {"x", "a"}
    big = Graph().let("a", "x*" + str(2**256), limits=sbp.Limits(max_int_bits=300))
    with pytest.raises(sbp.LimitError, match=r"a number of 257 bits; the limit is 256 "
                                             r"\(Limits.max_int_bits\)"):
        big.to_builder()
    assert set(big.to_builder(max_int_bits=300).symbols) == {"x", "a"}


def test_validate_names_each_inconsistency() -> None:
    A2, A3 = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("A", 3, 3)
    with pytest.raises(sbp.ShapeError, match=r"^A is used with two shapes: \(2, 2\) and \(3, 3\)$"):
        validate(Graph((E(sp.MatrixSymbol("t", 2, 2), A2), E(sp.MatrixSymbol("u", 3, 3), A3))))
    with pytest.raises(sbp.ShapeError,
                       match=r"^equation 1: t is \(3, 3\) but its right side is \(2, 2\)$"):
        validate(Graph((E(sp.MatrixSymbol("t", 3, 3), A2),)))
    t, x, y = sp.symbols("t x y")
    with pytest.raises(sbp.GraphError, match=r"^equation 2: t is bound twice$"):
        validate(Graph((E(t, x), E(t, y))))
    # the same symbol used twice, and equal symbols, are fine
    validate(Graph((E(sp.MatrixSymbol("t", 2, 2), A2), E(sp.MatrixSymbol("u", 2, 2), A2 + A2))))
    validate(Graph((E(t, x * y), E(sp.Symbol("u"), sp.Symbol("x") + t))))
