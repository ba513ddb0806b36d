"""LaTeX input: a forward pass as papers and ``d.latex()`` write it, read into the text language.

A small recursive-descent reader of the maths subset that derivations use (``\\frac``,
``\\sqrt``, ``\\mathbf{W}_2``, ``W^{(2)}``, ``\\sigma\\left(...\\right)``, ``\\odot``,
``^\\top``, ``\\|v\\|^2``, ``e^{x}``, Greek names, an ``aligned`` block of stages). It writes
code of the text language (see ``paper.py`` for the two operators that the readers add), so
the LaTeX front end builds the same graph as the text one. Exponents read as mathematics reads
them: ``X^{2}`` of a square matrix is ``X X``, ``X^{\\circ 2}`` the element-wise power, and a
power of a vector or scalar is element-wise (``e^{X}`` of a square matrix is the matrix
exponential, refused; ``\\exp(X)`` is element-wise). The ones vector ``\\mathbf{1}`` and the
identity ``\\mathbf{I}`` have the size that what they multiply or are added to fixes, as the
literature writes them (``Sizes``: ``X𝟏``, ``𝟏ᵀX``, ``v − 𝟏c``, ``t ⊙ I``), or the size
written (``\\mathbf{1}_{n}``, ``I_{n}``); one that nothing fixes is a ``ParseError``, never
the number 1. Any control sequence that is not maths (``\\input``, ``\\def``, ``\\catcode``,
...) is a ``ParseError`` naming it, with its column. Nothing is expanded or evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from .builder import Builder
from .errors import LimitError, ParseError
from .latex_atoms import NUMBER, Atoms
from .latex_derivatives import refuse_derivatives
from .latex_lexer import (
    ACCENTS,
    CLOSE_SIZES,
    PRODUCT,
    SPACING,
    STYLE,
    TRANSPOSE,
    Piece,
    Tok,
    join_pieces,
)
from .latex_sizes import Sizes
from .limits import Limits
from .paper import Reading
from .paper_lexer import column_of, describe

ROWS = (r"\mathbf{w}^\top\mathbf{x}_i and \mathbf{x}_i^\top\mathbf{w} alone are read, as "
        r"entry i of X w, when x is declared (n, d), n ≠ d, and w (d, 1): x_i its row i")


class _Reader(Atoms):
    """The maths: products, powers, groups and names (the statements, expressions and terms
    are ``latex_statements.Statements``', the calls, norms and sums ``latex_calls.Calls``')."""

    factors = 1  # how many factors the product (or term) read last had

    def document(self) -> Reading:
        statements = self.split()
        codes: list[Piece] = []
        self.bounds, self.bound_sites = {}, {}
        for start, end in statements:
            self.i = start
            piece = self.statement_code(end)
            if piece:
                codes.append(piece)
        for letter, n in self.bounds.items():
            if letter in self.stages:  # (a stage defined after the sum it bounds)
                at, written, index, owner = self.bound_sites[letter]
                raise self.bound_variable(at, written, letter, index, n, owner)
            codes = self.bound_elsewhere(codes, letter, n)
        if not codes:
            raise self.error(0, "no equation in the LaTeX")
        return self.assemble(codes, Sizes(self, codes).fill() if self.unsized else {})

    def bound_elsewhere(self, codes: list[Piece], letter: str, n: str) -> list[Piece]:
        r"""``\sum_{i=1}^{n}`` whose n (undeclared, no stage) is read as the length of the
        summand's vectors: every other n of the LaTeX the same number (``\frac{1}{n}
        \sum_{i=1}^{n} x_i`` is the mean), with a reading; never a new input n."""
        out: list[Piece] = []
        found = False
        for piece in codes:
            out.append([])
            for k, (frag, at) in enumerate(piece):
                if not frag.startswith("\0") and (
                        k == 0 or piece[k - 1][0] not in ("\0entry", "\0row")):
                    frag, count = re.subn(rf"(?<![\w.]){letter}(?!\w)", f"({n})", frag)
                    found = found or count > 0
                out[-1].append((frag, at))
        if found:
            self.notes.append(f"'{letter}' elsewhere read as {n}, the length that the bound "
                              f"{letter} of \\sum is")
        return out

    def product(self, end: int, entrywise: bool = False, argument: bool = False,
                side_by_side: bool = False) -> Piece:
        """Factors side by side or joined by \\cdot, \\times; ``entrywise``, and within
        the summand of Σᵢ in index notation: their product entry by entry. The ``argument``
        of a function written without brackets (``\\operatorname{tr} A X``) stops at a
        division and before another function or sum (``\\det A \\det B``); with
        ``side_by_side`` (``\\sin 2(x + y)``), at ``\\cdot`` and ``\\times`` too. How many
        factors were read is left in ``self.factors``."""
        entrywise = entrywise or bool(self.indices)  # inside Σᵢ, nested ones too
        out = self.factor(end)
        number = _bare_number(out)  # whether the factor read last is a number alone
        factors = 1
        last_at, last_end = 0, 0  # where the factor read last is in the source
        divided = False  # whether the factor read last was a divisor (a/2 b)
        while not self.stop(end):
            t = self.peek()
            assert t is not None
            joined = t.text in PRODUCT and PRODUCT[t.text] not in ("%", "oslash")
            if not joined and not self.starts_atom(t):
                break
            ones_row = side_by_side and not joined and factors == 1 and _ones_row(out)
            if ((argument and (PRODUCT.get(t.text) == "/" or self.calls_next(joined))) or (
                    side_by_side and joined)) and not ones_row:
                break  # (\log \mathbf{1}^\top \exp\mathbf{x}: a function of a ones row alone
                # is no reading; the product goes on through \exp)
            factors += 1
            if number and not joined and NUMBER.fullmatch(t.text):
                self.side_by_side(t)
            if joined:
                self.take()
            elif divided:  # a/2b: as Python reads it, (a/2)·b; say so, as the text does
                div = re.sub(r"(\s|\\[,;:! ]|\\q?quad)+$", "", self.text[last_at:last_end])
                self.notes.append(f"'/{div} …' read as a division by {div}, then a product "
                                  f"with what follows (write \\frac{{…}}{{{div}\\,…}} to "
                                  "divide by both)")
            divided = joined and PRODUCT[t.text] == "/"
            if entrywise and (not joined or PRODUCT[t.text] == "*"):
                nxt = self.factor(end)
                number = _bare_number(nxt)
                out = join_pieces("hadamard(", out, ", ", nxt, ")", at=t.at)
                continue
            op = PRODUCT[t.text] if joined else "*"  # juxtaposition is a product
            self.skip_spacing()
            last_at = self.at()
            last = self.factor(end)
            number = _bare_number(last)
            last_end = self.end_of_last()
            out.append((f" {op} ", t.at))  # in place: a long product stays linear
            out += last
        self.factors = factors
        return out

    def side_by_side(self, t: Tok) -> None:
        """Two numbers side by side (``2 3x``, ``1.2.3``, ``1\\,000``): refused, as the
        text refuses them (TeX would set a product; a thousands separator is not read)."""
        j = self.i - 1
        while j > 0 and self.toks[j].text in SPACING:
            j -= 1
        before = self.toks[j]
        hint = ""
        if t.at > before.at + len(before.text) and re.fullmatch(r"\d{3}(\.\d+)?", t.text):
            hint = (f" (a space as a thousands separator is not read: write "
                    f"{before.text}{t.text} without it)")
        raise self.error(t.at, "two numbers side by side: write the operator between them"
                         + hint)

    def calls_next(self, joined: bool) -> bool:
        """Whether a function or a sum comes next (after the product operator, if
        ``joined``); ``e^{…}`` is a power, a factor like any other (``\\log
        \\mathbf{1}^\\top e^{\\mathbf{x}}``)."""
        save = self.i
        try:
            if joined:
                self.take()
            self.skip_spacing()
            return self.peek() is not None and (
                self.texts(0) == r"\sum" or self.function_name() not in (None, "exp")
                or (self.function_name() == "exp" and self.texts(0) != "e"))
        finally:
            self.i = save

    def factor(self, end: int) -> Piece:
        self.skip_spacing()
        t = self.peek()
        if t is not None and t.text in ("-", "+"):
            self.take()
            self.nested()
            inner = self.factor(end)
            self.depth -= 1
            return join_pieces("(-", inner, ")", at=t.at) if t.text == "-" else inner
        return self.postfix(self.atom(end), end)

    def starts_atom(self, t: Tok) -> bool:
        s = t.text
        if s in CLOSE_SIZES and t is self.peek():  # 2\big(x + 1\big): a \big that opens
            return self.sized_open()
        return not (s in PRODUCT or s in ("+", "-", ",", ")", "]", "}", "=", "^", "_", "'")
                    or s in CLOSE_SIZES or s in (r"\rVert", r"\rvert", r"\}"))

    def postfix(self, base: Piece, end: int) -> Piece:
        powered = False  # whether a superscript read here was a power (not a transpose)
        while not self.stop(end) and self.is_("^", "'"):
            t = self.take()
            if t.text == "'":
                raise self.error(t.at, "a prime (') is not read: name the variable, or "
                                 "write the derivative out (\\sigma'(z) is \\sigma(z) \\odot "
                                 "(1 - \\sigma(z)))")
            power = self.powers_next()
            if power and powered:  # x^{2}^{3}: TeX's "Double superscript"
                raise self.double_superscript(t)
            powered = powered or power
            base = self.superscript(base, t)
        return base

    def superscript(self, base: Piece, caret: Tok) -> Piece:
        start = self.i
        raw, _ = self.script()
        raw_flat = raw.replace(" ", "")
        inner = raw_flat[1:-1] if raw_flat[:1] == "{" and raw_flat[-1:] == "}" else raw_flat
        if self.indices and (inner in TRANSPOSE or (inner[:1] == "-" and inner[1:] in
                                                    TRANSPOSE) or _power_and_transpose(inner)):
            row = self.row_product(base) if inner in TRANSPOSE else None
            if row is None:  # (x_i^\top: the summand is read entry by entry)
                raise self.index_sum_error(caret.at, "a transpose", ROWS)
            return row
        if inner in ("T", "-T") and self.known("T"):  # x^{T}: the power of a variable T?
            kind = self.base_kind(base)
            if kind == "scalar":  # a transpose of a number is no operation: the power
                seen = self.text[base[0][1]:self.end_of_last()].strip()
                self.notes.append(f"'{seen}' read as a power of the variable T (a transpose "
                                  r"of a number is no operation; \top is the transpose)")
                return join_pieces("(", base, ")", ("\0**", caret.at), f"({inner})",
                                   at=caret.at)
            if kind is None:
                raise self.error(caret.at, r"^{T} here is a transpose or a power of the "
                                 r"variable T: write ^{\top} for the transpose, "
                                 r"^{\,T} for the power")
        if raw_flat in TRANSPOSE or raw_flat in ("{T}",):
            return join_pieces("(", base, ").T", at=caret.at)
        if inner[:1] == "-" and inner[1:] in TRANSPOSE:  # X^{-\top}: (X⁻¹)ᵀ, as printed
            return join_pieces("((", base, ")", ("\0**", caret.at), "(-1)).T", at=caret.at)
        power = _power_and_transpose(inner)
        if power is not None:  # X^{-1\top}, X^{2\top}, X^{\top 2}: (X⁻¹)ᵀ, (X²)ᵀ
            return join_pieces("((", base, ")", ("\0**", caret.at), f"({power})).T",
                               at=caret.at)
        m = re.fullmatch(r"\\circ(.+)", raw_flat)
        if m:  # X^{\circ 2}: the element-wise (Hadamard) power
            self.i = start
            exponent = self.group_or_token(skip_circ=True)
            return join_pieces("(", base, ")**(", exponent, ")", at=caret.at)
        self.i = start
        exponent = self.group_or_token()
        # in an index sum the summand is read entry by entry: its powers too (W_k^2)
        power = "**" if self.indices else "\0**"
        return join_pieces("(", base, ")", (power, caret.at), "(", exponent, ")", at=caret.at)

    def row_product(self, base: Piece) -> Piece | None:
        """``\\mathbf{w}^\\top\\mathbf{x}_i`` or ``\\mathbf{x}_i^\\top\\mathbf{w}`` in
        ``\\sum_i`` (the transpose just read), with x declared (n, d), n ≠ d, and w (d, 1):
        the literature's sample rows, xᵢ row i of x, so the product is entry i of x·w; read
        as ``(x @ w)``, with a reading. None (nothing read) for anything else, which the
        caller refuses."""
        first = [p for p, _ in base if not p.startswith("\0")]
        save, notes, indexed = self.i, len(self.notes), self.indexed
        entry = base[0][0] == "\0entry"
        second: list[str] = []
        try:
            self.skip_spacing()
            if self.peek() is not None and self.starts_name():
                after = self.name_atom(len(self.toks))
                second = [p for p, _ in after if not p.startswith("\0")]
                if (after[0][0] == "\0entry") == entry or self.is_("^", "_", "'"):
                    second = []
        except ParseError:
            second = []
        if len(first) == 1 and len(second) == 1:
            matrix, vector = (first[0], second[0]) if entry else (second[0], first[0])
            m, v = self.declared_shape(matrix), self.declared_shape(vector)
            if m is not None and v is not None and 1 not in (m[0], m[1]) and m[0] != m[1] \
                    and tuple(v) == (m[1], 1):
                index = self.indices[-1]
                start = next(k for k, t in enumerate(self.toks) if t.at >= base[0][1])
                while start and self.toks[start - 1].text in (*STYLE, *ACCENTS, "{"):
                    start -= 1  # \mathbf{w}: from the style command
                seen = self.text[self.toks[start].at:self.end_of_last()].strip()
                self.notes.append(f"'{seen}' in \\sum_{index} read as entry {index} of "
                                  f"{matrix}·{vector}: {matrix}_{index} is row {index} of the "
                                  f"{m[0]}×{m[1]} matrix {matrix}, a vector of {m[1]}")
                at = base[0][1]
                return join_pieces("(", ("\0row", at), matrix, " @ ", ("\0row", at), vector,
                                   ")", at=at)
        self.i, self.indexed = save, indexed
        del self.notes[notes:]
        return None

    def base_kind(self, base: Piece) -> str | None:
        """What a base of ^{T} is when T is a variable: "scalar" (a number, a name declared
        a scalar or 1×1, or not declared: the text's scalar), "array" (a name declared a
        vector or matrix), None when the reader cannot tell (a stage, an expression)."""
        plain = "".join(p for p, _ in base if not p.startswith("\0")).strip()
        while plain.startswith("(") and plain.endswith(")") and _balanced(plain[1:-1]):
            plain = plain[1:-1].strip()
        if NUMBER.fullmatch(plain):
            return "scalar"
        if not plain.isidentifier() or plain in self.stages:
            return None
        shapes = getattr(self.builder, "shapes", None) or {}
        if plain not in shapes:
            return None if self.known(plain) else "scalar"
        shape = tuple(shapes[plain]) if shapes[plain] is not None else ()
        return "scalar" if not shape else None if all(d == 1 for d in shape) else "array"


def _ones_row(piece: Piece) -> bool:
    """Whether ``piece`` is 𝟏ᵀ alone (a ones vector transposed, its length to be fixed)."""
    return re.fullmatch(r"\(\x00one\d+\)\.T", "".join(p for p, _ in piece).replace(" ", "")) \
        is not None


def _bare_number(piece: Piece) -> bool:
    """Whether a factor is a number written alone (``2``, ``1.5``, not ``2^{3}``)."""
    return len(piece) == 1 and NUMBER.fullmatch(piece[0][0]) is not None


def _power_and_transpose(inner: str) -> str | None:
    """The whole power of a superscript that also transposes (``-1\\top``, ``2\\top``,
    ``\\top 2``, as ``W^{(1)\\top}`` is an index and a transpose), else None. A plain ``T``
    after a number is no transpose here (``e^{2T}``: T a name)."""
    for mark in sorted(TRANSPOSE - {"T"}, key=len, reverse=True):
        for rest in (inner[:-len(mark)] if inner.endswith(mark) else None,
                     inner[len(mark):] if inner.startswith(mark) else None):
            if rest is not None and re.fullmatch(r"-?\d+", rest):
                return rest
    return None


def read_latex(text: str, known: Callable[[str], bool], functions: Iterable[str],
               limits: Limits, builder: Builder | None = None,
               trial: Callable[[Reading, Builder], Any] | None = None) -> Reading:
    """LaTeX as code of the text language (see the module docstring). ``builder``: the
    parser's, whose shapes size each 𝟏 and I; ``trial``: a parser of a reading into a builder
    of its own, whose ``expr`` gives the shapes of what holds no 𝟏 or I (``latex_sizes``);
    without it, a 𝟏 or I that needs a size is a ParseError."""
    bad = re.search(r"[^\x20-\x7e\n\t\r]", text)
    if bad is not None:
        at = bad.start()
        raise ParseError(f"character {describe(bad.group())} is not read in LaTeX input; "
                         "write it as a control sequence (\\sigma, \\cdot)",
                         column=column_of(text, at), text=text)
    for ch, why in (("%", "a LaTeX comment (%) is not read: remove it"),
                    ("#", "'#' (a macro parameter) is not read"),
                    ("@", "'@' is not maths"),
                    # a whole derivation pasted back: its forward section is what reads
                    ("\\partial", "derivatives (\\partial) are not read: paste the forward "
                                    "stages only, as d.latex(sections=\"forward\") prints them"),
                    ("\\nabla", "gradients (\\nabla) are not read: paste the forward "
                                  "stages only, as d.latex(sections=\"forward\") prints them")):
        if ch in text:
            at = text.index(ch)
            raise ParseError(why, column=column_of(text, at), text=text)
    refuse_derivatives(text, known)
    for letter in ("epsilon", "theta", "phi", "rho"):  # one name: both would be one variable
        both = [re.search(rf"\\{v}{letter}(?![A-Za-z])", text) for v in ("", "var")]
        if both[0] and both[1]:
            raise ParseError(f"\\{letter} and \\var{letter} are both read as the name "
                             f"{letter}: write one of them, or another letter for the other",
                             column=column_of(text, both[1].start()), text=text)
    reader = _Reader(text, known, functions, limits)
    reader.builder = builder if builder is not None else Builder()
    reader.trial = trial
    try:
        return reader.document()
    except RecursionError:
        raise LimitError("the LaTeX is nested too deeply", text=text) from None


def _balanced(s: str) -> bool:
    """Whether the brackets of ``s`` pair up, never closing below its start."""
    depth = 0
    for c in s:
        depth += (c == "(") - (c == ")")
        if depth < 0:
            return False
    return depth == 0
