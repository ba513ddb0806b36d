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


@pytest.mark.parametrize(("text", "fragment"), [
    ("sigmod(x)", "unknown function 'sigmod' (did you mean 'sigmoid' or 'logsigmoid'?); the "
                  "functions are exp, "),
    # np.tanh(x) is tanh(x); foo is no function
    ("np.foo(x)", "not np.foo(...): foo is not among the library calls read (docs/writing-"
                  "expressions.md lists them; docs/vocabulary.md the text's functions) (column 1)"),
    # an array method the text does not read
    ("x.cos()", "not x.cos(...): the method .cos() is not read (of the array methods, cumprod, "
                "cumsum, dot, flatten, max, mean, min, prod, ravel, reshape, std, sum, "
                "transpose, var are); call the text's function by its name (column 1)"),
    ("F.max_pool2d(x, 2)", "not F.max_pool2d(...): the text's function is maxpool2d(...) (its "
                           "arguments as docs/vocabulary.md gives them) (column 1)"),
])
def test_a_misspelt_or_qualified_function_gets_a_hint(text: str, fragment: str) -> None:
    with pytest.raises(sbp.ParseError) as e:
        sbp.parse(text)
    assert fragment in str(e.value)


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


def _error(text: str, shapes: dict[str, tuple[int, int]] | None = None,
           limits: sbp.Limits | None = None) -> tuple[type, str]:
    with pytest.raises((sbp.ParseError, sbp.ShapeError, sbp.LimitError)) as e:
        sbp.parse(text, shapes, limits=limits)
    return type(e.value), str(e.value)


def test_an_import_of_either_kind_is_refused_by_name() -> None:
    for text in ("import os", "from os import path"):
        assert _error(text) == (sbp.ParseError, f"{EXPECTED}; found an import (column 1)")


def test_the_two_syntaxes() -> None:
    x = sp.Symbol("x", real=True)
    assert sbp.parse(r"\sigma\left(x\right)", syntax="latex") == sbp.parse("sigmoid(x)")
    assert sbp.parse("sigmoid(x)", syntax="text").args == (x,)
    with pytest.raises(ValueError, match=r"^syntax must be 'text' or 'latex', not 'tex'$"):
        sbp.parse("x", syntax="tex")  # type: ignore[arg-type]


def _forward(text: str) -> list[tuple[str, str]]:
    d = sbp.derive(text, shapes={"A": (2, 2)})
    return [(str(e.lhs), str(e.rhs)) for e in d.forward]


def test_a_caret_on_a_square_matrix_is_the_matrix_power_on_any_line() -> None:
    assert _forward("sum(A^2)") == [("t", "A*A"), ("L", "sumall(t)")]
    assert _forward("sum(A**2)") == [("t", "HadamardPower(A, 2)"), ("L", "sumall(t)")]
    assert _forward("B = A^2\nsum(B)") == [("B", "A*A"), ("L", "sumall(B)")]
    assert _forward("C = A + A\nB = C^2\nD = C**2\nsum(B + D)") == [
        ("C", "A + A"), ("B", "C*C"), ("D", "HadamardPower(C, 2)"), ("L", "sumall(B + D)")]


def test_a_shape_error_quotes_its_own_line() -> None:
    shapes = {"W": (2, 3), "v": (2, 1)}
    assert _error("u = v + v\nt = W@u\nsum(t)", shapes) == (sbp.ShapeError,
                                                         "W@u: (2, 3) @ (2, 1)")
    assert _error("t = W@v\nu = t + t\nsum(u)", shapes) == (sbp.ShapeError,
                                                         "W@v: (2, 3) @ (2, 1)")


def test_quoted_source_of_48_characters_is_whole() -> None:
    for n, quoted in ((44, "W@(" + "v" * 44 + ")"), (45, "W@(" + "v" * 42 + "...")):
        name = "v" * n
        assert _error(f"W@({name})", {"W": (2, 3), name: (2, 1)}) == (
            sbp.ShapeError, f"{quoted}: (2, 3) @ (2, 1)")


def test_syntax_nodes_are_the_limit_names_and_numbers_at_it_pass() -> None:
    # three names at max_nodes=3 pass the count of names and numbers; the syntax nodes do not
    assert _error("a + b + c", limits=sbp.Limits(max_nodes=3)) == (
        sbp.LimitError, "more than 3 syntax nodes (Limits.max_nodes) (column 1)")
    assert _error("a + b + c + 1", limits=sbp.Limits(max_nodes=3)) == (
        sbp.LimitError, "more than 3 names and numbers (Limits.max_nodes)")


def test_only_brackets_count_towards_the_depth() -> None:
    deep = "(" * 101 + "x" + ")" * 101
    for prefix in ("", "XX*", "XXXX + "):
        assert _error(prefix + deep) == (
            sbp.LimitError,
            f"brackets nested more than 100 deep (Limits.max_depth) (column {len(prefix) + 101})")


def test_a_syntax_error_points_at_its_column() -> None:
    assert _error("x + * y") == (sbp.ParseError, f"invalid syntax; {EXPECTED} (column 5)")
    with pytest.raises(sbp.ParseError) as e:
        sbp.parse("x + * y")
    assert e.value.column == 5


@pytest.mark.parametrize("text", ["sum(X, keepdims=1)", "sum(X, axis=0, keepdims=1)",
                                  "exp(X, axis=0)"])
def test_the_only_keyword_is_axis_of_a_reduction(text: str) -> None:
    kind, message = _error(text, {"X": (3, 2)})
    assert kind is sbp.ParseError
    assert message.startswith("the only keyword argument is axis=, of sum, mean, ")
    assert message.endswith(" (column 8)")


def test_the_entries_of_a_constant_are_rows_times_columns() -> None:
    assert str(sbp.parse("sum(ones(3, 2) + X)", {"X": (3, 2)},
                         limits=sbp.Limits(max_elements=8))) == "sumall(X + 1)"
    assert _error("sum(ones(3, 3) + X)", {"X": (3, 3)}, sbp.Limits(max_elements=8)) == (
        sbp.LimitError, "ones(3, 3) has 9 entries; the limit is 8 (Limits.max_elements) "
                        "(column 5)")
    assert _error("sum(eye(3) + X)", {"X": (3, 3)}, sbp.Limits(max_elements=8)) == (
        sbp.LimitError, "eye(3) has 9 entries; the limit is 8 (Limits.max_elements) "
                        "(column 5)")


@pytest.mark.parametrize(("text", "equations"), [
    ("sum(concatenate((X, Y), axis=0))",
     [("t", "concatenate((X, Y), axis=0)"), ("L", "sumall(t)")]),
    ("sum(vstack([X, Y]))", [("t", "concatenate((X, Y), axis=0)"), ("L", "sumall(t)")]),
    ("sum(concatenate((X, 2*Y)))",
     [("t_1", "2*Y"), ("t_2", "concatenate((X, t_1), axis=0)"), ("L", "sumall(t_2)")]),
])
def test_a_tuple_of_operands_is_read_once(text: str, equations: list[tuple[str, str]]) -> None:
    d = sbp.derive(text, shapes={"X": (2, 3), "Y": (1, 3)})
    assert [(str(e.lhs), str(e.rhs)) for e in d.forward] == equations
