"""The text a parser reads and the code of the text language it reads as.

paper.py and latex_input.py translate maths notation and LaTeX into code of the text
language, keeping a map back to what the user typed. ``CodeText`` holds both: where a syntax
node starts and ends in the code, what the user wrote there, errors shown at the source's
column, and the readings (``d.readings``) a parse adds. The parser (parse.py) builds on it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from typing import Any, Literal, TypeAlias

import sympy as sp

from . import ops, structural_calls
from .builder import Builder
from .composites import COMPOSITES
from .errors import ParseError
from .latex_input import read_latex
from .limits import Limits
from .paper import Reading, read_text
from .paper_lexer import column_of
from .rules import RULES

Syntax: TypeAlias = Literal["text", "latex"]

# the primitives spelled as calls in the text (operators have arity 0), and hadamard(A, B),
# the element-wise product of matrices
ALIASES = {a: n for n, r in RULES.items() for a in r.aliases}  # asin → arcsin, norm → norm2
FUNCTIONS = tuple(dict.fromkeys((*(n for n, r in RULES.items() if r.arity), *ops.OPERATORS,
                                 *ALIASES, *ops.CONSTANTS, *COMPOSITES,
                                 *structural_calls.STRUCTURAL)))
ARITY = {**{n: r.arity for n, r in RULES.items() if r.arity > 1},
         **{n: k for n, (k, _) in ops.OPERATORS.items() if k > 1},
         **{n: k for n, (k, _) in COMPOSITES.items() if k > 1},
         **ops.CONSTANTS}  # others: 1
_NEWLINE = re.compile(r"\r\n|\r|\n")


class CodeText:
    """The source text, the code it reads as, and the state a parse keeps about both."""

    def __init__(self, text: str, b: Builder, limits: Limits, syntax: Syntax = "text",
                 reading: Reading | None = None) -> None:
        if not isinstance(text, str):
            raise ParseError(f"expected text (str), got {type(text).__name__}")
        if not isinstance(limits, Limits):
            raise TypeError(f"limits must be a symbackprop.Limits, not {type(limits).__name__}")
        if syntax not in ("text", "latex"):
            raise ValueError(f"syntax must be 'text' or 'latex', not {syntax!r}")
        self.text, self.b, self.limits, self.syntax = text, b, limits, syntax
        self.code = text  # the text language that ``text`` reads as (see paper.py)
        self.reading: Reading | None = reading  # given: how an earlier parse read the text
        if reading is not None:
            self.code = reading.code
        self.multiline = "\n" in text.strip() or "\r" in text.strip()
        self.starts: list[int] | None = None
        self.constants_read: set[str] = set()
        self.constant_nodes: dict[sp.Basic, sp.Basic] = {}  # nodes of numbers: their value
        self.static: set[int] = set()  # syntax nodes read as numbers (sizes, indices)
        self.calls: dict[int, structural_calls.Call] = {}  # structural calls, read once
        self.dim_names: dict[str, sp.Expr] = {}  # sizes named elsewhere (the witness's)
        self.pasted: str | None = None  # a library's call in the text (np.exp(A)), if any
        self.summand_shapes: dict[tuple[int, int], tuple[str, Any]] = {}  # an index sum's
        # first vector with the index, and its shape (x_i of x (n, 1))
        self.exponent_transposes: dict[int, str] = {}  # X**(-1).T typed: .T of the exponent

    def read(self) -> Reading:
        """The source as code of the text language: maths notation or LaTeX translated."""
        if self.reading is None:
            if self.syntax == "latex":
                self.reading = read_latex(
                    self.text, self.bound, FUNCTIONS, self.limits, builder=self.b,
                    trial=lambda r, b: type(self)(r.code, b, self.limits, "text", reading=r))
            else:
                self.reading = read_text(self.text, self.bound, FUNCTIONS)
            self.code = self.reading.code
            self.multiline = "\n" in self.code.strip()
        return self.reading

    def column(self, line: int, col: int) -> tuple[int, int]:
        """A (line, column) of the code as a (line, column) of the source, both 1-based."""
        at = self.read().source_offset(line, col)
        if at is None:
            return line, col
        line = self.text.count("\n", 0, at) + 1
        return line, column_of(self.text, at)

    def paper_power(self, node: ast.BinOp) -> bool:
        """Whether this ``**`` was written ``^`` or as a superscript (see paper.py)."""
        return self.marked(node, "**", self.read().powers)

    def ones_product(self, node: ast.BinOp) -> bool:
        """Whether this ``*`` multiplies by a ones vector that it sizes (LaTeX's X𝟏)."""
        return self.marked(node, "*", self.read().ones)

    def marked(self, node: ast.BinOp, op: str, offsets: frozenset[int]) -> bool:
        """Whether the operator ``op`` of ``node`` is at one of the reading's ``offsets``."""
        if not offsets:
            return False
        try:
            left, right = self.end_offset(node.left), self.offset(node.right)
        except (AttributeError, IndexError, TypeError):  # pragma: no cover
            return False
        at = self.code.find(op, left, right)
        return at in offsets

    def line_starts(self) -> list[int]:
        """The offset in the code where each line starts (found once)."""
        if self.starts is None:
            self.starts = [0] + [m.end() for m in _NEWLINE.finditer(self.code)]
        return self.starts

    def offset(self, node: ast.AST) -> int:
        """Where ``node`` starts in the code."""
        return self.line_starts()[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]

    def end_offset(self, node: ast.AST) -> int:
        """Where ``node`` ends in the code."""
        return self.line_starts()[node.end_lineno - 1] + node.end_col_offset  # type: ignore

    def note(self, text: str) -> None:
        """A reading to list in ``d.readings``, once."""
        if text not in self.read().notes:
            self.reading = replace(self.read(), notes=(*self.read().notes, text))

    def code_error(self, offset: int, message: str, cls: type[ParseError] = ParseError
                   ) -> ParseError:
        """An error at an offset of the code, shown at the source's column."""
        code = self.code
        line = code.count("\n", 0, offset) + 1
        _, col = self.column(line, column_of(code, offset))
        return cls(message, column=col, text=self.text)

    def bound(self, name: str) -> bool:
        """Whether the user gave ``name`` a meaning: a stage, a shape, an earlier stage."""
        b = self.b
        return (name in b.symbols or name in b.shapes
                or (b.resolve is not None and b.resolve(name) is not None))

    def error(self, node: ast.AST | None, message: str, cls: type[ParseError] = ParseError
              ) -> ParseError:
        col = getattr(node, "col_offset", -1) + 1 if node is not None else 0
        line = getattr(node, "lineno", 1) if node is not None else 1
        if col > 0:
            line, col = self.column(line, col)
        where = f" on line {line}" if self.multiline else ""
        return cls(f"{message}{where}", column=max(col, 0), text=self.text)

    def source(self, node: ast.AST) -> str:
        """The text of ``node``, shortened (``ast.get_source_segment`` is O(text) a call)."""
        try:  # (the code is ASCII: offsets in bytes are in characters)
            start, end = self.offset(node), self.end_offset(node)
        except (AttributeError, IndexError, TypeError):
            return type(node).__name__
        seg = " ".join(self.code[start:min(end, start + 96)].split())
        return seg if len(seg) <= 48 and end - start <= 96 else seg[:45] + "..."

    def transpose_char(self, attr: ast.Attribute) -> str:
        """The source character a ``.T`` was read from: ``.`` when typed, ``ᵀ`` or ``^``
        (``^T``, ``^{\\top}``) in maths notation."""
        try:
            lo, hi = self.end_offset(attr.value), self.end_offset(attr)
        except (AttributeError, IndexError, TypeError):  # pragma: no cover
            return "."
        return self.source_char(self.code.find(".", lo, hi)) or "."

    def written_at(self, node: ast.AST) -> str:
        """The source character the code of ``node`` starts at (what the user typed)."""
        try:
            at = self.offset(node)
        except (AttributeError, IndexError, TypeError):  # pragma: no cover
            return ""
        return self.source_char(at)

    def as_written(self, node: ast.AST) -> str | None:
        """The source text ``node`` was read from in maths notation (``X^2``, ``X²`` for the
        code ``X**2``); None in LaTeX or where it is not known."""
        origin = self.read().origin
        try:
            start, end = self.offset(node), self.end_offset(node)
        except (AttributeError, IndexError, TypeError):  # pragma: no cover
            return None
        if self.syntax == "latex" or not 0 <= start < end <= len(origin):
            return None
        return self.text[origin[start]:origin[end - 1] + 1].strip() or None

    def source_char(self, at: int) -> str:
        origin = self.read().origin
        source = origin[at] if 0 <= at < len(origin) else at if not origin else None
        return self.text[source] if source is not None and 0 <= source < len(self.text) else ""
