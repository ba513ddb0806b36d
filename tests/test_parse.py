"""The safe front end: what it accepts, and errors that say where (column) and what."""

from __future__ import annotations

import pytest
import sympy as sp

import symbackprop as sbp

X, Y = sp.symbols("x y", real=True)


@pytest.mark.parametrize(("text", "column", "fragment"), [
    ("x + foo(y)", 5, "unknown function 'foo'"),
    ("x.y", 1, "only .T"),
    ("(x + y", 1, "never closed"),
    ("x + 'a'", 5, "found the constant 'a'"),
    ("lambda x: x", 1, "found a lambda"),
    ("sigmoid + 1", 1, "is a function: call it"),
    ("x ** 10000", 1, "Limits.max_exponent"),
    ("y + \uff58", 5, "not allowed"),
    ("a = sin(x)\nb = a + [1]", 9, "found a list on line 2"),
    ("x = 1; x = 2", 8, "bound once"),
    ("f(x)(y)", 1, "unknown function 'f'"),  # (a)(b) is a product, written as on paper
    ("x.sin(y)", 1, "only calls of a function by its name"),
    ("x if y else z", 1, "found if/else"),
    ("exp(x) + sin(x, y)", 10, "sin takes 1 argument, got 2"),
    ("max(x)", 1, "max takes 2 arguments, got 1"),
    ("x + __class__", 5, "reserved"),
])
def test_errors_name_the_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(sbp.ParseError) as info:
        sbp.parse(text)
    assert info.value.column == column
    assert fragment in str(info.value)
    assert f"(column {column})" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_accepted_forms() -> None:
    assert sbp.parse("(x + y)**2") == (X + Y) ** 2
    assert sbp.parse("t = x*y; u = sin(t); u + t") == sp.sin(X * Y) + X * Y
    assert sbp.parse("x - y/2") == X - Y / 2
    assert sbp.parse("-x + pi") == -X + sp.pi
    W = sp.MatrixSymbol("W", 2, 3)
    assert sbp.parse("W.T", shapes={"W": (2, 3)}) == W.T


def test_stages_by_newline_and_semicolon_agree() -> None:
    assert sbp.parse("a = x + y\nb = a*a\nb") == sbp.parse("a = x + y; b = a*a; b")


def test_unknown_names_are_inputs_not_functions() -> None:
    e = sbp.parse("alpha * beta + lam")
    assert {str(s) for s in e.free_symbols} == {"alpha", "beta", "lam"}
