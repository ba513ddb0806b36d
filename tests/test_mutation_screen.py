"""What the text parser refuses before ``ast.parse`` (screen.py): each limit exactly at its
boundary, and each tokenizer warning turned into a positioned error, through ``screen`` and
through the parser's messages."""

from __future__ import annotations

import pytest

import symbackprop as sbp
from symbackprop.errors import LimitError, ParseError
from symbackprop.screen import EXPECTED, screen


def test_the_count_of_names_and_numbers_is_refused_one_past_the_limit() -> None:
    lim = sbp.Limits(max_nodes=3)
    assert screen("x + y + 2", lim) is None
    assert screen("x + y + 2 + z", lim) == (
        None, "more than 3 names and numbers (Limits.max_nodes)", LimitError)


def test_bracket_depth_is_refused_one_past_the_limit_at_the_bracket() -> None:
    lim = sbp.Limits(max_depth=2)
    assert screen("((x))", lim) is None
    assert screen("(x)(y)((z))", lim) is None  # depth falls again after a closing bracket
    assert screen("(([x]))", lim) == (2, "brackets nested more than 2 deep (Limits.max_depth)",
                                      LimitError)


@pytest.mark.parametrize(("code", "at"), [("2x", 1), ("x + 3y", 5), ("1if", 1), ("1e5x", 3),
                                          ("0x1fg", 4), (".5a", 2), ("2.x", 2)])
def test_a_number_run_into_a_name_is_refused_where_the_name_starts(code: str, at: int) -> None:
    assert screen(code, sbp.Limits()) == (
        at, f"a number directly followed by a name: write the product with * (2*x); {EXPECTED}",
        ParseError)


@pytest.mark.parametrize("code", ["x_2 + 2", "2 * x", "1e5 + x", "x2", "2.5", "3j", "a.T"])
def test_numbers_and_names_that_only_touch_are_fine(code: str) -> None:
    assert screen(code, sbp.Limits()) is None


def test_a_backslash_is_refused_where_it_stands() -> None:
    assert screen("x + \\\n y", sbp.Limits()) == (4, f"a backslash is not allowed; {EXPECTED}",
                                                  ParseError)


def test_the_parser_shows_the_refusal_at_the_sources_column() -> None:
    with pytest.raises(ParseError, match=r"directly followed by a name.*\(column 6\)"):
        sbp.parse("x + 1if")  # the text reader reads 2y as 2·y first; a keyword stays
    with pytest.raises(LimitError, match=r"max_depth\) \(column 3\)"):
        sbp.parse("((( x )))", limits=sbp.Limits(max_depth=2))
    with pytest.raises(LimitError, match="more than 2 names and numbers"):
        sbp.parse("x + y + z", limits=sbp.Limits(max_nodes=2))
