"""LaTeX input's statements and expressions: the text split into statements (at ``\\\\`` and
``;``, the math delimiters paired and the ``aligned`` environment and its ``&`` checked), each
``name = expression``, an expression's terms and the ⊙ and ⊘ between products, and the
statements' codes assembled into one ``Reading``. The top of the grammar, apart from
``latex_input.py`` so that each module keeps one concern; ``latex_input._Reader`` adds the
products, factors, powers and names that these read with, and ``read_latex``."""

from __future__ import annotations

from .errors import ParseError
from .latex_calls import Calls
from .latex_lexer import (
    ABS,
    COMMANDS,
    ENVIRONMENTS,
    NORMS,
    OPEN,
    PRODUCT,
    SIZES,
    SPACING,
    Piece,
    Tok,
    bare_arguments,
    join_pieces,
)
from .paper import Reading

_CLOSES = {"$": "$", r"\[": r"\]", r"\(": r"\)"}  # math delimiters, each with its closer
_OPENS = {r"\]": r"\[", r"\)": r"\("}
# what starts an expression, never a name: before an =, the = is what is not read
_EXPRESSIONS = {*OPEN, *SIZES, *NORMS, *ABS, *COMMANDS, r"\frac", r"\tfrac", r"\dfrac",
                r"\sqrt", r"\sum", r"\langle"}


class Statements(Calls):
    """Statements, their ``=``, expressions and terms (the products and what is inside them
    are ``latex_input._Reader``'s, declared in ``latex_calls.Calls``)."""

    def assemble(self, codes: list[Piece], sized: dict[int, str] | None) -> Reading:
        """The statements as one code, each 𝟏 and I read without a size written as
        ``sized`` says (None: as the names ``_one0``, ``_eye1``, which ``Sizes`` reads)."""
        code, origin, powers, spectral = "", [], [], []
        marks: dict[str, list[int]] = {"\0abs(": [], "\0entry": [], "\0row": []}
        summands: list[tuple[int, int, str]] = []
        opened: list[tuple[int, str]] = []  # the index sums open here: start, index
        for k, piece in enumerate(codes):
            if k:
                code += "\n"
                origin.append(piece[0][1])
            for frag, at in piece:
                if frag == "\0**":  # a power as mathematics reads it
                    powers.append(len(code))
                    frag = "**"
                elif frag in ("\0norm2(", "\0sqnorm("):  # ‖X‖₂: of a matrix, spectral
                    spectral.append(len(code))
                    frag = frag[1:]
                elif frag in marks:  # |Σ| (abs( as bars); x_i, an entry in an index sum
                    marks[frag].append(len(code))
                    frag = "abs(" if frag == "\0abs(" else ""
                elif frag.startswith("\0sum<"):  # an index sum's summand starts, and ends
                    opened.append((len(code), frag[5:]))
                    frag = ""
                elif frag == "\0sum>":
                    start, index = opened.pop()
                    summands.append((start, len(code), index))
                    frag = ""
                elif frag[:1] == "\0":  # \0one3, \0eye4: a 𝟏 or an I, sized
                    frag = f"_{frag[1:]}" if sized is None else sized[int(frag[4:])]
                code += frag
                origin.extend([at] * len(frag))
        return Reading(code, tuple(origin), tuple(self.notes), frozenset(powers),
                       frozenset(), frozenset(spectral), frozenset(marks["\0abs("]),
                       frozenset(marks["\0entry"]), tuple(summands),
                       frozenset(marks["\0row"]))

    def split(self) -> list[tuple[int, int]]:
        """Statements: separated by \\\\ or ; (delimiters and environments dropped)."""
        keep: list[Tok] = []
        math: list[Tok] = []  # the math delimiters open: $, $$, \[, \(
        k = 0
        toks = self.toks
        while k < len(toks):
            t = toks[k]
            if t.text in (r"\begin", r"\end"):
                name, k2 = self.env_name(k)
                if name not in ENVIRONMENTS:
                    raise self.error(t.at, f"environment {name!r} is not read (an aligned "
                                     "block of equations is)")
                k = k2
                if t.text == r"\begin" and name == "aligned" and k < len(toks) \
                        and toks[k].text == "[":  # \begin{aligned}[t]
                    while k < len(toks) and toks[k].text != "]":
                        k += 1
                    k += 1
                continue
            if t.text in ("$", r"\[", r"\]", r"\(", r"\)"):
                self.delimiter(t, math)
                k += 1
                continue
            if t.text in (r"\nonumber", r"\notag"):  # a numbering mark, no maths
                k += 1
                continue
            if t.text == r"\label" and k + 1 < len(toks) and toks[k + 1].text == "{":
                k = self.find_close(k + 1) + 1  # \label{eq:loss}: a name for \ref
                continue
            if t.text == "&":  # an alignment point: at a line's start or beside its =
                before = keep[-1].text if keep else ";"
                after = next((u.text for u in toks[k + 1:] if u.text not in SPACING), "")
                if before not in (";", "=") and after not in ("=", r"\\", r"\end", ""):
                    raise self.error(t.at, "an alignment '&' between two terms is not read "
                                     "(& marks where the lines of an aligned block line up, "
                                     "at a line's start or beside its =): remove it, or "
                                     "write the product with \\cdot")
                k += 1
                continue
            if t.text == r"\\":
                keep.append(Tok(";", t.at))
                k += 1
                if k < len(toks) and toks[k].text == "[":  # \\[6pt]
                    while k < len(toks) and toks[k].text != "]":
                        k += 1
                    k += 1
                continue
            keep.append(t)
            k += 1
        if math:
            opener = math[-1]
            raise self.error(opener.at, f"{opener.text!r} opens maths that is never closed "
                             f"(by {_CLOSES[opener.text]!r})")
        # the sentence's comma or full stop after an equation ("… = x^2,") is prose
        keep = [t for j, t in enumerate(keep) if t.text not in (",", ".") or next(
            (u.text for u in keep[j + 1:] if u.text not in SPACING), ";") != ";"]
        self.toks = keep
        spans, start = [], 0
        for j, t in enumerate(keep):
            if t.text == ";":
                spans.append((start, j))
                start = j + 1
        spans.append((start, len(keep)))
        return [(a, b) for a, b in spans if b > a]

    def delimiter(self, t: Tok, math: list[Tok]) -> None:
        """A math delimiter: ``$``, ``\\[``, ``\\(`` open (``$`` closes an open ``$``),
        ``\\]`` and ``\\)`` close the one open; refused when they do not pair."""
        if t.text == "$" and math and math[-1].text == "$":
            math.pop()
        elif t.text in ("$", r"\[", r"\("):
            math.append(t)
        elif math and _CLOSES[math[-1].text] == t.text:
            math.pop()
        else:
            raise self.error(t.at, f"{t.text!r} closes maths that was not opened" + (
                f" by {_OPENS[t.text]!r}" if not math else
                f" ({math[-1].text!r} opened it: close it with {_CLOSES[math[-1].text]!r})"))

    def env_name(self, k: int) -> tuple[str, int]:
        toks = self.toks
        if k + 1 >= len(toks) or toks[k + 1].text != "{":
            raise self.error(toks[k].at, f"{toks[k].text} needs an environment name")
        j, name = k + 2, ""
        while j < len(toks) and toks[j].text != "}":
            name += toks[j].text
            j += 1
        return name, j + 1

    def statement_code(self, end: int) -> Piece:
        # a heading row such as \textbf{forward}: no maths in it (\text{ReLU}(x) is maths)
        if self.texts(0) in (r"\textbf", r"\text") and self.eq_at(end) is None \
                and self.group_end(self.i + 1) >= end:
            self.i = end
            return []
        eq = self.eq_at(end)
        out: Piece = []
        args: tuple[str, ...] | None = None  # f(x, y) = …: the arguments on the left
        if eq is not None:
            self.skip_spacing()
            name_at = self.at()
            if self.texts(0)[:1] in "+-.0123456789" or self.texts(0) in _EXPRESSIONS:
                # (-x = y, \frac{1}{2} x = y: the = is what is not read, not the - or \frac)
                raise self.error(self.toks[eq].at, "unexpected '=': the left side of '=' is "
                                 "one name (an equation y = …)")
            name = self.name_only()
            args = self.arguments_on_the_left(name, name_at, eq)
            if self.i != eq:
                raise self.error(self.at(), "the left side of '=' is one name")
            self.take()
            self.stages.add(name)
            self.function_stages.pop(name, None)
            out = join_pieces(name, " = ", at=name_at)
        body = self.expr(end)
        if self.i < end:
            t = self.toks[self.i]
            if t.text != "=":
                raise self.unexpected(t)
            raise self.error(t.at, "unexpected '=': one '=' per equation")
        if eq is not None and args is not None:  # f(x) = …: f(x) after it is the stage
            self.function_stages[name] = args
        return out + body

    def arguments_on_the_left(self, name: str, name_at: int, eq: int) -> tuple[str, ...] | None:
        r"""``\mathcal{L}(\theta) = …``, ``f(x, y) = …``: a function's name and its
        arguments, as papers define a loss; the stage is the name (the right side says what
        it reads), with a reading. The arguments' tokens (``bare_arguments``), or None when
        there are none."""
        start = self.i
        if self.sized_open():
            self.take()
        if not self.is_("("):
            self.i = start
            return None
        self.take()
        stop, j = self.matching("(", ")")
        if j + 1 != eq:
            self.i = start
            return None
        args = bare_arguments(self.toks[self.i:stop])
        self.i = eq
        self.notes.append(f"'{self.text[name_at:self.toks[j].at + len(self.toks[j].text)]}' "
                          f"on the left of '=' read as the stage {name}, of what the right "
                          "side reads")
        return args

    def group_end(self, j: int) -> int:
        """The index after the braced group that starts at token ``j`` (or ``j + 1``)."""
        if j >= len(self.toks) or self.toks[j].text != "{":
            return j + 1
        return self.find_close(j) + 1

    def eq_at(self, end: int) -> int | None:
        depth = 0
        for j in range(self.i, end):  # (not an = in a bracket: \mathbf{1}\left[a = b\right])
            t = self.toks[j].text
            if t in ("{", "(", "["):
                depth += 1
            elif t in ("}", ")", "]"):
                depth -= 1
            elif t == "=" and depth == 0:
                return j
        return None

    def stop(self, end: int) -> bool:
        self.skip_spacing()
        return self.i >= end

    def expr(self, end: int) -> Piece:
        self.nested()
        out: Piece = []
        first = True
        while True:
            if self.stop(end):
                if first:
                    raise self.error(self.at(), "expected an expression")
                break
            t = self.peek()
            assert t is not None
            if t.text in ("+", "-"):
                self.take()
                out += join_pieces(f" {t.text} " if not first else t.text, at=t.at)
            elif not first:
                break
            out += self.term(end)
            first = False
        self.depth -= 1
        return join_pieces("(", out, ")", at=out[0][1] if out else self.at())

    def term(self, end: int) -> Piece:
        """Products joined by ⊙ and ⊘, which bind more loosely than the products themselves,
        as the printer writes them: ``a ⊙ W x`` is a ⊙ (W x), ``W x ⊙ a`` is (W x) ⊙ a."""
        first = self.product(end)
        factors = self.factors
        out: Piece = []
        while not self.stop(end):
            t = self.peek()
            assert t is not None
            op = PRODUCT.get(t.text)
            if op not in ("%", "oslash"):
                break
            self.take()
            rhs = self.product(end)  # left to right, as % is: (a) % (b) % ((c)**(-1))
            factors += self.factors
            out += join_pieces(" % (", rhs, ")" if op == "%" else ")**(-1)", at=t.at)
        self.factors = factors
        return join_pieces("(", first, ")", out, at=first[0][1]) if out else first

    def expr_span(self, start: int, stop: int) -> Piece:
        self.i = start
        out = self.expr(stop)
        if self.i < stop:
            raise self.unexpected(self.toks[self.i])
        return out

    def unexpected(self, t: Tok) -> ParseError:
        r"""The error for a token that the expression before it leaves unread."""
        if t.text == "_":
            return self.error(t.at, r"a subscript after a group or a bracket is not read "
                              r"({\mathbf{W}}_{1:,\,1:}, \left(…\right)_{1:,\,:}: a slice, as "
                              "the derivations print it, is read in the text only: "
                              "W[1:, 1:]); a subscript belongs to a name (x_{1})")
        return self.error(t.at, f"unexpected {t.text!r}")
