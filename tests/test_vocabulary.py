"""docs/vocabulary.md is what the library does: rebuilt from the rule table and the
composites, every function of the text has a row, and every formula on it renders."""

from __future__ import annotations

import re

from latex_tools import assert_latex_ok

from symbackprop.parse import FUNCTIONS
from symbackprop.rules import RULES


def test_the_vocabulary_page_is_what_the_library_does() -> None:
    from tools.vocabulary import PAGE, page

    assert page() == PAGE.read_text(encoding="utf-8"), "run python -m tools.vocabulary"


def test_every_function_of_the_text_has_a_row_and_renders() -> None:
    from tools.vocabulary import PAGE

    text = PAGE.read_text(encoding="utf-8")
    named = set(re.findall(r"^\| `(\w+)` \|", text, re.M))
    named |= {a for n in named if n in RULES for a in RULES[n].aliases}
    operators_and_constants = {"hadamard", "transpose", "ones", "zeros", "eye"}
    missing = set(FUNCTIONS) - named - operators_and_constants
    assert not missing, f"functions without a row: {sorted(missing)}"
    formulas = [m.replace(r"\|", "|") for m in re.findall(r"\$(.+?)\$ \|", text)]
    assert len(formulas) > 100
    assert_latex_ok(formulas)


def test_every_primitive_with_a_kink_or_a_domain_says_where() -> None:
    """A primitive the numeric check treats as non-differentiable somewhere says where, in
    words, on the page (``Rule.domain``)."""
    silent = [n for n, r in RULES.items() if r.nondiff is not None and not r.domain]
    assert not silent, f"rules with nondiff and no domain text: {silent}"
