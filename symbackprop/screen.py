"""What the text parser refuses before Python's parser reads the code.

``ast.parse`` runs nothing, but it must not meet more than the limits allow (names and
numbers, bracket depth) nor anything its tokenizer only *warns* about: a number run into a
name or keyword (``1if``, ``2x``) and backslashes (invalid escapes). Turning those warnings
into errors with ``warnings.catch_warnings()`` changed the process-wide filters, which is
not thread-safe (parsing in 8 threads left 'error' filters behind), so they are found here.
"""

from __future__ import annotations

import re

from .errors import LimitError, ParseError
from .limits import Limits
from .paper_lexer import describe

EXPECTED = ("expected an expression: numbers, names, + - * / ** @, unary -, .T "
            "and calls such as sigmoid(z)")

# names and numbers: each is at least one syntax node, so more of them than max_nodes is over
# the limit; counted without building a list (the text may be long when max_length is raised)
ATOM = re.compile(r"[A-Za-z_]\w*|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?")
_NOT_ASCII = re.compile(r"[^ -~\n\t\r]")
_BACKSLASH = re.compile(r"\\")
_NUMBER = re.compile(r"(?<![\w.])(?:0[xXbBoO][0-9a-fA-F_]*|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)"
                     r"(?:[eE][-+]?\d[\d_]*)?[jJ]?)")

Refusal = tuple[int | None, str, type[ParseError]]  # (offset in the code or None, why, class)


def screen(code: str, lim: Limits) -> Refusal | None:
    """Why ``code`` (the text as the readers turned it into Python) is refused before
    ``ast.parse``, and where; None when it may be parsed."""
    bad = _NOT_ASCII.search(code)
    if bad is not None:  # pragma: no cover - the readers refuse such characters first
        return bad.start(), f"character {describe(bad.group())} is not allowed", ParseError
    for atoms, _ in enumerate(ATOM.finditer(code), 1):
        if atoms > lim.max_nodes:
            return None, f"more than {lim.max_nodes:,} names and numbers (Limits.max_nodes)", \
                LimitError
    depth = 0
    for i, ch in enumerate(code):
        if ch in "([{":
            depth += 1
            if depth > lim.max_depth:
                return i, (f"brackets nested more than {lim.max_depth} deep "
                           "(Limits.max_depth)"), LimitError
        elif ch in ")]}":
            depth -= 1
    slash = _BACKSLASH.search(code)  # escapes, line continuations: never part of maths here
    if slash is not None:
        return slash.start(), f"a backslash is not allowed; {EXPECTED}", ParseError
    for m in _NUMBER.finditer(code):  # greedy: 1e5 is one number, 1ex is 1 then ex
        if m.end() < len(code) and (code[m.end()].isalpha() or code[m.end()] == "_"):
            return m.end(), ("a number directly followed by a name: write the product with * "
                             f"(2*x); {EXPECTED}"), ParseError
    return None
