"""The text front end (parse.py), asserted where the mutation run found it untested (issue 20
part 10): whole error messages (what was found, where, reserved names, the list of
functions), quoted source shortened at 96 characters, bracket depth after closing brackets."""

from __future__ import annotations

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.builder import Builder
from symbackprop.parse import FUNCTIONS, parse_into, parse_program

S = {"W": (2, 3), "v": (2, 1)}
EXPECTED = ("expected an expression: numbers, names, + - * / ** @, unary -, .T and calls "
            "such as sigmoid(z)")


@pytest.mark.parametrize(("text", "message"), [
    ("x.foo", "attribute '.foo' is not allowed; only .T (transpose) (column 1)"),
    ("a = x\nb = a.foo\nb",
     "attribute '.foo' is not allowed; only .T (transpose) on line 2 (column 5)"),
    ("cls + 1", "the name 'cls' is reserved (column 1)"),
    ("self*2", "the name 'self' is reserved (column 1)"),
    ("[x for x in y]", f"{EXPECTED}; found a comprehension (column 1)"),
    ("{x for x in y}", f"{EXPECTED}; found a comprehension (column 1)"),
    ("def f(): pass", f"{EXPECTED}; found a function definition (column 1)"),
    ("y = x*2; x = 3", "'x' is already an input: each name is bound once, before it is used "
                       "(column 10)"),
    ("xxx = 1; xxx = 2", "'xxx' is already a stage: each name is bound once, before it is "
                         "used (column 10)"),
])
def test_whole_error_messages(text: str, message: str) -> None:
    with pytest.raises(sbp.ParseError) as e:
        sbp.parse(text)
    assert str(e.value) == message


def test_an_unknown_function_lists_the_functions() -> None:
    with pytest.raises(sbp.ParseError) as e:
        sbp.parse("foo(x)")
    head, names = str(e.value).removesuffix(" (column 1)").split("; the functions are ")
    assert head == "unknown function 'foo'"
    assert names.split(", ") == list(FUNCTIONS)
    assert {"exp", "sigmoid", "hadamard", "zeros", "eye"} <= set(names.split(", "))


def test_quoted_source_is_shortened_beyond_96_characters() -> None:
    def message(text: str) -> str:
        with pytest.raises(sbp.ShapeError) as e:
            sbp.parse(text, shapes=S)
        return str(e.value)

    assert message("W@(v" + " " * 91 + ")") == "W@(v ): (2, 3) @ (2, 1)"  # 96 characters
    assert message("W@(v" + " " * 92 + ")") == "W@(v...: (2, 3) @ (2, 1)"  # 97
    # where the node starts does not matter, only its own length
    assert message("x + " * 30 + "W@v") == "W@v: (2, 3) @ (2, 1)"


def test_brackets_closed_do_not_count_towards_the_depth() -> None:
    deep = "(" * 100 + "x" + ")" * 100
    assert sbp.parse("(x)+(y)+" + deep) == sp.Symbol("x", real=True) * 2 + sp.Symbol("y",
                                                                                      real=True)
    with pytest.raises(sbp.LimitError, match=r"brackets nested more than 100 deep"):
        sbp.parse("(x)+(y)+(" + deep + ")")


def test_the_program_readers_read_text_by_default() -> None:
    b = Builder()
    out = parse_into(b, "x*y")
    assert str(b.nodes[-1].rhs) == "x*y"
    assert out == b.nodes[-1].lhs
    assert b.reading.code == "x*y"
    assert str(parse_program("x^2").nodes[-1].rhs) == "x**2"
