"""SymPy expressions as input are checked like text: shapes, number sizes, unknown functions."""

from __future__ import annotations

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.functions import Elementwise, SumAll

x = sp.Symbol("x", real=True)
n, m, k = sp.symbols("n m k", integer=True, positive=True)


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        (SumAll(sp.MatMul(sp.MatrixSymbol("W", n, m), sp.MatrixSymbol("v", k, 1))),
         "m columns against k rows"),
        (SumAll(sp.MatMul(sp.MatrixSymbol("W", 2, 3), sp.MatrixSymbol("v", k, 1))),
         "3 columns against k rows"),
        (SumAll(sp.MatAdd(sp.MatrixSymbol("a", k, 1), sp.MatrixSymbol("b", n, 1))),
         "(k, 1) and (n, 1)"),
    ],
)
def test_symbolic_shapes_that_cannot_agree_are_refused_at_derive(expr, fragment):
    with pytest.raises(sbp.ShapeError) as e:
        sbp.derive(expr)
    assert fragment in str(e.value)


@pytest.mark.parametrize("expr", [sp.Integer(10**5000) * x, x ** sp.Rational(1, 3**700),
                                  x + 10**100, sp.Rational(10**90, 7) * sp.sin(x)])
def test_huge_numbers_in_sympy_input_are_a_limit_error(expr):
    with pytest.raises(sbp.LimitError, match="max_int_bits"):
        sbp.derive(expr)


def test_the_number_limit_can_be_raised():
    d = sbp.derive(sp.Integer(2**300) * x, limits=sbp.Limits(max_int_bits=400))
    assert d.evaluate({"x": 1.0})["x"] == pytest.approx(2.0**300)
    g = sbp.Graph().let("a", sp.Integer(2**300) * x, limits=sbp.Limits(max_int_bits=400))
    assert sbp.derive(g, limits=sbp.Limits(max_int_bits=400)).latex()


@pytest.mark.parametrize("expr", [SumAll(Elementwise("foo", sp.MatrixSymbol("A", 2, 2))),
                                  sp.zeta(x), sp.Function("f")(x), sp.gamma(x) + x])
def test_an_unknown_function_is_unsupported_not_a_key_error(expr):
    with pytest.raises(sbp.UnsupportedError):
        sbp.derive(expr)
