"""The printer's fast paths for sums and products of plain symbols (issue 22 part 2: a
scalarised network's forward pass is thousands of them) print exactly what SymPy's general
``_print_Add`` / ``_print_Mul`` print."""

from __future__ import annotations

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy.printing.latex import LatexPrinter

from symbackprop.emit.printer import Printer, SymbolTable, expr_latex

NAMES = ["x", "y", "z", "w_1", "w_2", "b", "a10", "a2", "W", "x1", "x10", "x2", "alpha", "h_1",
         "Z", "beta_3"]
SYMS = [sp.Symbol(n) for n in NAMES]
# a name shared with different assumptions (the same sort key), and non-commuting factors,
# whose order is the product's own
ODD = [sp.Symbol("x", positive=True), sp.Symbol("y", real=True), sp.Symbol("A", commutative=False),
       sp.Symbol("B", commutative=False)]


class General(Printer):  # our printer without the two fast paths
    _print_Add = LatexPrinter._print_Add
    _print_Mul = LatexPrinter._print_Mul


products = st.lists(st.sampled_from(SYMS), min_size=1, max_size=4, unique=True).map(
    lambda fs: sp.Mul(*fs))


@settings(max_examples=300, deadline=None)
@given(st.lists(products, min_size=1, max_size=12))
def test_a_sum_of_symbol_products_prints_as_sympy_prints_it(terms: list[sp.Expr]) -> None:
    e = sp.Add(*terms)
    assert Printer().doprint(e) == General().doprint(e)


def test_a_long_sum_keeps_the_order_of_its_arguments_as_before() -> None:
    """Over 200 terms SymPy's ordering is skipped (``_as_ordered_terms``): the fast path too."""
    ws, xs = sp.symbols("w0:240"), sp.symbols("x0:240")
    e = sp.Add(*[w * x for w, x in zip(ws, xs, strict=True)])
    assert Printer().doprint(e) == General().doprint(e)


@given(st.lists(st.sampled_from(SYMS), min_size=2, max_size=6, unique=True))
def test_a_product_of_symbols_prints_as_sympy_prints_it(fs: list[sp.Symbol]) -> None:
    e = sp.Mul(*fs)
    assert Printer({fs[0]: r"\theta"}).doprint(e) == General({fs[0]: r"\theta"}).doprint(e)


signed = st.tuples(st.booleans(), products).map(lambda t: t[1] if t[0] else -t[1])


@settings(max_examples=300, deadline=None)
@given(st.lists(signed, min_size=1, max_size=12))
def test_a_signed_sum_of_symbol_products_prints_as_sympy_prints_it(terms: list[sp.Expr]) -> None:
    """A term −w x (SymPy's Mul(−1, w, x)) is ordered as w x and written " - w x"."""
    e = sp.Add(*terms)
    assert Printer().doprint(e) == General().doprint(e)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(st.sampled_from(SYMS[:4] + ODD), min_size=1,
                                                  max_size=3)), min_size=1, max_size=5))
def test_odd_symbols_print_as_sympy_prints_them(terms: list[tuple[bool, list[sp.Symbol]]]
                                                ) -> None:
    """Twins of one name and non-commuting factors: in sums, in products, and through
    ``expr_latex``'s own path for a symbol or a product of symbols (no printer made)."""
    parts = [sp.Mul(*fs) * (1 if plus else -1) for plus, fs in terms]
    names = SymbolTable()
    names[SYMS[0]] = r"\theta"
    for e in (sp.Add(*parts), *parts, *(f for _, fs in terms for f in fs)):
        assert expr_latex(e, names) == General(names).doprint(e)


def test_anything_else_takes_the_general_path() -> None:
    x, y = sp.symbols("x y")
    for e in (2 * x * y, x**2 * y, x - y, -x - y, -x * y + x, x * y + 1, x / y, sp.sin(x) * y,
              x - 1):
        assert Printer().doprint(e) == General().doprint(e)


def test_twins_of_one_name_in_a_sum_are_ordered_by_sympy() -> None:
    """Two symbols named x tie on the sort key; which comes first is SymPy's choice (the
    order of a set), so such a sum takes the general path."""
    x, xp, z = sp.Symbol("x"), sp.Symbol("x", positive=True), sp.Symbol("z")
    for e in (x * xp * z - x, x * xp + z, x + xp + z, z - x * xp):
        assert Printer().doprint(e) == General().doprint(e)
