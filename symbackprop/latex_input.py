"""LaTeX input: a forward pass as papers and ``d.latex()`` write it, read into the text language.

A small recursive-descent reader of the maths subset that derivations use (``\\frac``,
``\\sqrt``, ``\\mathbf{W}_2``, ``W^{(2)}``, ``\\sigma\\left(...\\right)``, ``\\odot``,
``^\\top``, ``\\|v\\|^2``, ``e^{x}``, Greek names, an ``aligned`` block of stages). It writes
code of the text language (see ``paper.py`` for the two operators that the readers add), so
the LaTeX front end builds the same graph as the text one. Exponents read as mathematics reads
them: ``X^{2}`` of a square matrix is ``X X``, ``X^{\\circ 2}`` the element-wise power, and a
power of a vector or scalar is element-wise. Any control sequence that is not maths
(``\\input``, ``\\def``, ``\\catcode``, ...) is a ``ParseError`` naming it, with its column.
Nothing is expanded or evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import LimitError, ParseError
from .notation import GREEK as _GREEK_LATEX
from .paper import Reading, describe, split_name

if TYPE_CHECKING:
    from .parse import Limits

GREEK = {latex: name for name, latex in _GREEK_LATEX.items() if latex.startswith("\\")}
GREEK.update({r"\varepsilon": "epsilon", r"\vartheta": "theta", r"\varphi": "phi",
              r"\varrho": "rho"})
# control sequences that name a function, and \operatorname{...} names (case as written or
# lower-cased) that do
_COMMANDS = {r"\exp": "exp", r"\log": "log", r"\ln": "log", r"\sin": "sin", r"\cos": "cos",
             r"\tan": "tan", r"\tanh": "tanh", r"\max": "max", r"\min": "min"}
_OPERATORS = {"relu": "relu", "sigmoid": "sigmoid", "softplus": "softplus", "sum": "sum",
              "softmax": "softmax", "tr": "trace", "trace": "trace", "mse": "mse",
              "ce": "cross_entropy", "sqnorm": "sqnorm", "tanh": "tanh", "exp": "exp",
              "log": "log", "abs": "abs", "sqrt": "sqrt", "max": "max", "min": "min",
              "sin": "sin", "cos": "cos", "tan": "tan"}
_SPACING = {r"\,", r"\;", r"\:", r"\!", r"\ ", r"\quad", r"\qquad", "~", r"\displaystyle",
            r"\textstyle", r"\left.", r"\right."}
_ENVIRONMENTS = {"aligned", "align", "align*", "equation", "equation*", "gathered", "gather",
                 "gather*", "split", "multline", "multline*"}
_STYLE = {r"\mathbf", r"\boldsymbol", r"\bm", r"\mathit", r"\mathrm", r"\mathsf",
          r"\text", r"\textrm", r"\operatorname", r"\mathbb", r"\mathcal"}
_ACCENTS = {r"\hat": "hat", r"\bar": "bar", r"\tilde": "tilde", r"\check": "check",
            r"\vec": "", r"\overline": "bar", r"\widehat": "hat", r"\widetilde": "tilde"}
_OPEN = {"(": ")", "[": "]", r"\{": r"\}", r"\lbrack": r"\rbrack", r"\lparen": r"\rparen"}
_SIZES = (r"\left", r"\bigl", r"\Bigl", r"\biggl", r"\Biggl", r"\big", r"\Big", r"\bigg",
          r"\Bigg")
_CLOSE_SIZES = (r"\right", r"\bigr", r"\Bigr", r"\biggr", r"\Biggr", r"\big", r"\Big",
                r"\bigg", r"\Bigg")
_NORMS = (r"\|", r"\lVert", r"\rVert", r"\Vert")
_ABS = ("|", r"\lvert", r"\rvert", r"\vert")
_PRODUCT = {r"\cdot": "*", r"\times": "*", "*": "*", r"\odot": "%", r"\circ": "%",
            "/": "/", r"\oslash": "oslash", r"\div": "/"}
_TOKEN = re.compile(r"\\(?:[A-Za-z]+\*?|.)|[A-Za-z]|\d+(?:\.\d+)?|\.\d+|\s+|.", re.S)
_TRANSPOSE = {r"\top", "T", r"\intercal", r"\mathsf{T}", r"\mathrm{T}", r"\text{T}",
              r"\mathit{T}"}


@dataclass(slots=True)
class _Tok:
    text: str
    at: int


Piece = list[tuple[str, int]]  # code fragments with the source offset each came from


def _join(*parts: Piece | str | tuple[str, int], at: int) -> Piece:
    out: Piece = []
    for p in parts:
        if isinstance(p, str):
            out.append((p, at))
        elif isinstance(p, tuple):
            out.append(p)
        else:
            out.extend(p)
    return out


class _Reader:
    def __init__(self, text: str, known: Callable[[str], bool], functions: Iterable[str],
                 limits: Limits) -> None:
        self.text, self.limits = text, limits
        self.functions = frozenset(functions)
        self.known_outside = known
        self.stages: set[str] = set()
        self.toks = [_Tok(m.group(), m.start()) for m in _TOKEN.finditer(text)
                     if not m.group().isspace()]
        self.i = 0
        self.depth = 0
        self.notes: list[str] = []
        self.letters = False
        self.powers: list[tuple[int, int]] = []  # (statement, offset in its code) of ^ powers

    # -- tokens ------------------------------------------------------------------------
    def error(self, at: int, message: str, cls: type[ParseError] = ParseError) -> ParseError:
        col = at + 1 - (self.text.rfind("\n", 0, at) + 1)
        return cls(message, column=col, text=self.text)

    def peek(self, k: int = 0) -> _Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def texts(self, k: int) -> str:
        t = self.peek(k)
        return t.text if t is not None else ""

    def at(self) -> int:
        t = self.peek()
        return t.at if t is not None else len(self.text)

    def take(self) -> _Tok:
        t = self.peek()
        if t is None:
            raise self.error(len(self.text), "the LaTeX ends too early")
        self.i += 1
        return t

    def skip_spacing(self) -> None:
        while (t := self.peek()) is not None and t.text in _SPACING:
            self.i += 1

    def is_(self, *texts: str) -> bool:
        self.skip_spacing()
        t = self.peek()
        return t is not None and t.text in texts

    def expect(self, text: str) -> _Tok:
        self.skip_spacing()
        t = self.peek()
        if t is None or t.text != text:
            found = "the end" if t is None else repr(t.text)
            raise self.error(self.at(), f"expected {text!r}, found {found}")
        return self.take()

    def known(self, name: str) -> bool:
        return name in self.stages or self.known_outside(name)

    def nested(self) -> None:
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise self.error(self.at(), f"nested more than {self.limits.max_depth} deep "
                             "(Limits.max_depth)", LimitError)

    # -- the document --------------------------------------------------------------------
    def document(self) -> Reading:
        statements = self.split()
        codes: list[Piece] = []
        for start, end in statements:
            self.i = start
            piece = self.statement_code(end)
            if piece:
                codes.append(piece)
        if not codes:
            raise self.error(0, "no equation in the LaTeX")
        code, origin, powers = "", [], []
        for k, piece in enumerate(codes):
            if k:
                code += "\n"
                origin.append(piece[0][1])
            for frag, at in piece:
                if frag == "\0**":  # a power as mathematics reads it
                    powers.append(len(code))
                    frag = "**"
                code += frag
                origin.extend([at] * len(frag))
        return Reading(code, tuple(origin), tuple(self.notes), frozenset(powers))

    def split(self) -> list[tuple[int, int]]:
        """Statements: separated by \\\\ or ; (delimiters and environments dropped)."""
        keep: list[_Tok] = []
        k = 0
        toks = self.toks
        while k < len(toks):
            t = toks[k]
            if t.text in (r"\begin", r"\end"):
                name, k2 = self.env_name(k)
                if name not in _ENVIRONMENTS:
                    raise self.error(t.at, f"environment {name!r} is not read (an aligned "
                                     "block of equations is)")
                k = k2
                if t.text == r"\begin" and name == "aligned" and k < len(toks) \
                        and toks[k].text == "[":  # \begin{aligned}[t]
                    while k < len(toks) and toks[k].text != "]":
                        k += 1
                    k += 1
                continue
            if t.text in ("$", r"\[", r"\]", r"\(", r"\)", "&"):
                k += 1
                continue
            if t.text == r"\\":
                keep.append(_Tok(";", t.at))
                k += 1
                if k < len(toks) and toks[k].text == "[":  # \\[6pt]
                    while k < len(toks) and toks[k].text != "]":
                        k += 1
                    k += 1
                continue
            keep.append(t)
            k += 1
        self.toks = keep
        spans, start = [], 0
        for j, t in enumerate(keep):
            if t.text == ";":
                spans.append((start, j))
                start = j + 1
        spans.append((start, len(keep)))
        return [(a, b) for a, b in spans if b > a]

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
        # a heading row such as \textbf{forward}: no maths in it
        if self.texts(0) in (r"\textbf", r"\text") and self.eq_at(end) is None:
            self.i = end
            return []
        eq = self.eq_at(end)
        out: Piece = []
        if eq is not None:
            name_at = self.at()
            name = self.name_only()
            if self.i != eq:
                raise self.error(self.at(), "the left side of '=' is one name")
            self.take()
            self.stages.add(name)
            out = _join(name, " = ", at=name_at)
        body = self.expr(end)
        if self.i < end:
            t = self.toks[self.i]
            raise self.error(t.at, f"unexpected {t.text!r}" + (
                ": one '=' per equation" if t.text == "=" else ""))
        return out + body

    def eq_at(self, end: int) -> int | None:
        depth = 0
        for j in range(self.i, end):
            t = self.toks[j].text
            if t == "{":
                depth += 1
            elif t == "}":
                depth -= 1
            elif t == "=" and depth == 0:
                return j
        return None

    # -- expressions -----------------------------------------------------------------------
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
                out += _join(f" {t.text} " if not first else t.text, at=t.at)
            elif not first:
                break
            out += self.term(end)
            first = False
        self.depth -= 1
        return _join("(", out, ")", at=out[0][1] if out else self.at())

    def term(self, end: int) -> Piece:
        out = self.factor(end)
        while not self.stop(end):
            t = self.peek()
            assert t is not None
            if t.text in _PRODUCT:
                self.take()
                op = _PRODUCT[t.text]
                rhs = self.factor(end)
                if op == "oslash":  # a ⊘ b: the element-wise quotient
                    out = _join("(", out, " % ((", rhs, ")**(-1)))", at=t.at)
                else:
                    out = _join(out, f" {op} ", rhs, at=t.at)
            elif self.starts_atom(t):
                out = _join(out, " * ", self.factor(end), at=t.at)  # juxtaposition
            else:
                break
        return out

    def factor(self, end: int) -> Piece:
        self.skip_spacing()
        t = self.peek()
        if t is not None and t.text in ("-", "+"):
            self.take()
            self.nested()
            inner = self.factor(end)
            self.depth -= 1
            return _join("(-", inner, ")", at=t.at) if t.text == "-" else inner
        return self.postfix(self.atom(end), end)

    def starts_atom(self, t: _Tok) -> bool:
        s = t.text
        return not (s in _PRODUCT or s in ("+", "-", ",", ")", "]", "}", "=", "^", "_", "'")
                    or s in _CLOSE_SIZES or s in (r"\rVert", r"\rvert", r"\}"))

    def postfix(self, base: Piece, end: int) -> Piece:
        while not self.stop(end) and self.is_("^", "'"):
            t = self.take()
            if t.text == "'":
                raise self.error(t.at, "a prime (') is not read: name the variable")
            base = self.superscript(base, t)
        return base

    def script(self) -> tuple[str, Piece | None, int]:
        """A sub/superscript: its raw LaTeX (one token or a braced group), and its start."""
        self.skip_spacing()
        t = self.take()
        if t.text in _STYLE and self.texts(0) == "{":  # x^\mathsf{T}
            raw, _ = self.raw_group()
            return f"{t.text}{{{raw}}}", None, t.at
        if t.text != "{":
            return t.text, None, t.at
        close = self.find_close(self.i - 1)
        raw, word = "", False  # a space only ends a control word (\circ 2, \alpha\beta)
        for x in self.toks[self.i:close]:
            s = x.text
            raw += " " + s if word and s[0].isalpha() else s
            word = s.startswith("\\") and s[-1].isalpha()
        self.i = close + 1
        return raw, None, t.at

    def superscript(self, base: Piece, caret: _Tok) -> Piece:
        start = self.i
        raw, _, _ = self.script()
        raw_flat = raw.replace(" ", "")
        if raw_flat in _TRANSPOSE or raw_flat in ("{T}",):
            return _join("(", base, ").T", at=caret.at)
        m = re.fullmatch(r"\\circ(.+)", raw_flat)
        if m:  # X^{\circ 2}: the element-wise (Hadamard) power
            self.i = start
            exponent = self.group_or_token(skip_circ=True)
            return _join("(", base, ")**(", exponent, ")", at=caret.at)
        self.i = start
        exponent = self.group_or_token()
        return _join("(", base, ")", ("\0**", caret.at), "(", exponent, ")", at=caret.at)

    def group_or_token(self, skip_circ: bool = False) -> Piece:
        self.skip_spacing()
        t = self.take()
        if t.text == "{":
            close = self.find_close(self.i - 1)
            if skip_circ:
                self.expect(r"\circ")
            inner = self.expr(close)
            self.expect("}")
            return inner
        if re.fullmatch(r"\d+", t.text) and len(t.text) > 1:  # x^23 is x^2 times 3, as in TeX
            self.i -= 1
            self.toks[self.i] = _Tok(t.text[1:], t.at + 1)  # in place: spans keep their ends
            return [(t.text[0], t.at)]
        if re.fullmatch(r"\d+(\.\d+)?", t.text):
            return [(t.text, t.at)]
        self.i -= 1
        return self.atom(len(self.toks))

    def find_close(self, open_index: int) -> int:
        depth = 0
        for j in range(open_index, len(self.toks)):
            s = self.toks[j].text
            if s == "{":
                depth += 1
            elif s == "}":
                depth -= 1
                if depth == 0:
                    return j
        raise self.error(self.toks[open_index].at, "a '{' is never closed")

    def argument(self) -> Piece:
        """A macro argument: a braced group, or one token (``\\frac12``)."""
        self.skip_spacing()
        return self.braced() if self.texts(0) == "{" else self.group_or_token()

    def braced(self) -> Piece:
        self.expect("{")
        close = self.find_close(self.i - 1)
        inner = self.expr(close)
        self.expect("}")
        return inner

    def raw_group(self) -> tuple[str, int]:
        """The letters of ``{...}`` after a style command (``\\mathbf{W}``, ``\\text{out}``)."""
        t = self.expect("{")
        close = self.find_close(self.i - 1)
        raw = "".join(x.text for x in self.toks[self.i:close])
        self.i = close + 1
        return raw, t.at

    # -- atoms -------------------------------------------------------------------------
    def atom(self, end: int) -> Piece:
        self.skip_spacing()
        if self.i >= end:
            raise self.error(self.at(), "expected an expression")
        t = self.peek()
        assert t is not None
        s = t.text
        if re.fullmatch(r"\d+(\.\d+)?|\.\d+", s):
            self.take()
            return [(s, t.at)]
        if s == "{":
            return self.braced()
        if s in _OPEN or s in _SIZES:
            return self.bracketed(end)
        if s in _NORMS or s in _ABS:
            return self.bars(end)
        if s in (r"\frac", r"\tfrac", r"\dfrac", r"\cfrac"):
            self.take()
            num = self.argument()
            den = self.argument()
            return _join("(", num, " / ", den, ")", at=t.at)
        if s == r"\sqrt":
            self.take()
            if self.is_("["):
                self.take()
                close = next((j for j in range(self.i, len(self.toks))
                              if self.toks[j].text == "]"), None)
                if close is None:
                    raise self.error(t.at, "\\sqrt[ is never closed")
                n = self.expr(close)
                self.expect("]")
                body = self.braced()
                return _join("((", body, ")**(1 / ", n, "))", at=t.at)
            return _join("sqrt(", self.braced(), ")", at=t.at)
        if s in (r"\mathbf", r"\boldsymbol", r"\bm") and self.texts(1) == "{" \
                and self.texts(2) in ("1", "0") and self.texts(3) == "}":
            digit = self.texts(2)
            self.i += 4
            return [(f"({digit})", t.at)]  # 𝟏: ones, spread by the operation that uses it
        fn = self.function_name()
        if fn is not None:
            return self.call(fn, t)
        return self.name_atom(end)

    def bracketed(self, end: int) -> Piece:
        t = self.take()
        opener = t.text
        if opener in _SIZES:
            opener = self.take().text
            if opener in _NORMS or opener in _ABS:
                self.i -= 2
                return self.bars(end)
        if opener not in _OPEN:
            raise self.error(t.at, f"{opener!r} does not open a group here")
        stop, j = self.matching(opener, _OPEN[opener])
        inner = self.expr_span(self.i, stop)
        self.i = j + 1
        return inner

    def matching(self, opener: str, close: str) -> tuple[int, int]:
        """Where the group just opened ends: (the end of its contents, the closer's index)."""
        depth = 1
        for j in range(self.i, len(self.toks)):
            s = self.toks[j].text
            if s == opener:
                depth += 1
            elif s == close:
                depth -= 1
                if depth == 0:
                    sized = j > self.i and self.toks[j - 1].text in _CLOSE_SIZES
                    return (j - 1 if sized else j), j
        raise self.error(self.toks[self.i - 1].at, f"{opener!r} is never closed")

    def bars(self, end: int) -> Piece:
        """``\\|v\\|``, ``\\|v\\|_2^2``, ``\\left\\lVert v \\right\\rVert^{2}``, ``|x|``."""
        t = self.take()
        if t.text in _SIZES:
            t = self.take()
        norm = t.text in _NORMS
        closers = _NORMS if norm else _ABS
        depth, j = 0, self.i
        while j < len(self.toks):  # the closing bar at this level
            s = self.toks[j].text
            if s in ("{", "(", "[") or (s in _SIZES and j + 1 < len(self.toks)
                                        and self.toks[j + 1].text in _OPEN):
                depth += 1
            elif s in ("}", ")", "]") or (s in _CLOSE_SIZES and j + 1 < len(self.toks)
                                          and self.toks[j + 1].text in ("}", ")", "]")):
                depth -= 1
            elif s in closers and depth == 0 and j > self.i:
                break
            j += 1
        else:
            raise self.error(t.at, f"{t.text} is never closed")
        stop = j - 1 if self.toks[j - 1].text in _CLOSE_SIZES else j
        inner = self.expr(stop)
        self.i = j + 1
        if not norm:
            return _join("abs(", inner, ")", at=t.at)
        if self.is_("_"):
            self.take()
            sub, _, at = self.script()
            if sub.replace(" ", "") not in ("2", "F", r"\mathrm{F}", r"\text{F}"):
                raise self.error(at, f"the norm _{{{sub}}} is not read (the 2-norm and "
                                 "the Frobenius norm are)")
        if self.is_("^"):
            save = self.i
            self.take()
            raw, _, _ = self.script()
            if raw.replace(" ", "") == "2":
                return _join("sqnorm(", inner, ")", at=t.at)
            self.i = save
        return _join("sqrt(sqnorm(", inner, "))", at=t.at)

    def function_name(self) -> str | None:
        """The primitive a control sequence (or ``\\operatorname{...}``) names, if any."""
        t = self.peek()
        assert t is not None
        s = t.text
        if s in _COMMANDS:
            return _COMMANDS[s]
        if s == r"\sigma":
            k = 1
            while self.texts(k) in _SPACING:
                k += 1
            return "sigmoid" if self.texts(k) in _OPEN or self.texts(k) in _SIZES else None
        if s in (r"\operatorname", r"\mathrm", r"\text", r"\textrm", r"\mathit"):
            save = self.i
            self.take()
            raw, _ = self.raw_group()
            self.i = save
            name = _OPERATORS.get(raw) or _OPERATORS.get(raw.lower())
            if name is not None and name in self.functions:
                return name
        word, n = self.word()
        if word in _OPERATORS and _OPERATORS[word] in self.functions and not self.known(word):
            nxt = self.peek(n)
            if nxt is not None and (nxt.text in _OPEN or nxt.text in _SIZES):
                return _OPERATORS[word]  # sin(x) written without a backslash
        if s == "e" and not self.known("e") and self.peek(1) is not None \
                and self.peek(1).text == "^":  # type: ignore[union-attr]
            return "exp"
        return None

    def word(self) -> tuple[str, int]:
        """The letters that run on from here without a space, and how many tokens."""
        word, n = "", 0
        while (t := self.peek(n)) is not None and re.fullmatch(r"[A-Za-z]", t.text) \
                and (n == 0 or t.at == self.toks[self.i].at + len(word)):
            word += t.text
            n += 1
        return word, n

    def call(self, fn: str, t: _Tok) -> Piece:
        word, n = self.word()
        if n > 1 and word in _OPERATORS:
            self.i += n
        elif t.text in (r"\operatorname", r"\mathrm", r"\text", r"\textrm", r"\mathit"):
            self.take()
            self.raw_group()
        elif fn == "exp" and t.text == "e":
            self.take()
            self.expect("^")
            return _join("exp(", self.group_or_token(), ")", at=t.at)
        else:
            self.take()
        power: Piece | None = None
        if self.is_("_"):  # softmax_{\text{col}}: the columns, as the text's softmax
            self.take()
            sub, _, at = self.script()
            if fn != "softmax" or "col" not in sub:
                raise self.error(at, f"a subscript on {fn} is not read")
        if self.is_("^"):  # \sin^{2}(x): the power of the value
            self.take()
            power = self.group_or_token()
        self.skip_spacing()
        nxt = self.peek()
        if nxt is not None and (nxt.text in _OPEN or nxt.text in _SIZES):
            args = self.arguments()
        else:  # \log x: the next factor
            args = [self.postfix(self.atom(len(self.toks)), len(self.toks))]
        out: Piece = [(f"{fn}(", t.at)]
        for k, a in enumerate(args):
            out += ([(", ", t.at)] if k else []) + a
        out.append((")", t.at))
        if power is not None:
            out = _join("(", out, ")", ("\0**", t.at), "(", power, ")", at=t.at)
        return out

    def arguments(self) -> list[Piece]:
        t = self.take()
        opener = self.take().text if t.text in _SIZES else t.text
        close = _OPEN.get(opener)
        if close is None:
            raise self.error(t.at, f"{opener!r} does not open the arguments")
        stop, j = self.matching(opener, close)
        args, depth, start = [], 0, self.i
        for k in range(self.i, stop):
            s = self.toks[k].text
            depth += s in ("{", "(", "[", r"\left")
            depth -= s in ("}", ")", "]", r"\right")
            if s == "," and depth == 0:
                args.append(self.expr_span(start, k))
                start = k + 1
        args.append(self.expr_span(start, stop))
        self.i = j + 1
        return args

    def expr_span(self, start: int, stop: int) -> Piece:
        self.i = start
        out = self.expr(stop)
        if self.i < stop:
            raise self.error(self.toks[self.i].at, f"unexpected {self.toks[self.i].text!r}")
        return out

    def name_only(self) -> str:
        """A name as a variable (the left side of ``=``)."""
        name, at = self.base_name()
        name, transposed = self.scripts(name)
        if transposed:
            raise self.error(at, "the left side of '=' is one name, not a transpose")
        return name

    def base_name(self) -> tuple[str, int]:
        self.skip_spacing()
        t = self.take()
        s = t.text
        self.letters = False  # whether the name was typed as bare letters (xy: x times y)
        if s in GREEK:
            return GREEK[s], t.at
        if s in _STYLE or s in _ACCENTS:
            raw, at = self.raw_group()
            raw = re.sub(r"\\(?:mathbf|boldsymbol|bm|mathrm|mathit)", "", raw)
            raw = raw.replace(" ", "").replace("{", "").replace("}", "")
            accent = _ACCENTS.get(s, "")
            if raw in GREEK:
                return GREEK[raw] + accent, at
            m = re.fullmatch(r"([A-Za-z][A-Za-z0-9]*)(?:_([A-Za-z0-9]+))?", raw)
            if m:  # \mathbf{W_1} as \mathbf{W}_1, \hat{y} as the name yhat
                base = m.group(1) + accent
                return (self.pick(base, m.group(2), "") if m.group(2) else base), at
            raise self.error(at, f"{s}{{{raw}}} is not a name")
        if re.fullmatch(r"[A-Za-z]", s):
            word = s
            while (n := self.peek()) is not None and re.fullmatch(r"[A-Za-z0-9]+", n.text) \
                    and n.at == t.at + len(word):
                word += n.text
                self.take()
            self.letters = True
            return word, t.at
        if s.startswith("\\"):
            raise self.error(t.at, f"{s} is not read: it is not maths we know (names, "
                             "numbers, + - \\cdot \\odot \\frac \\sqrt, functions such as "
                             "\\exp \\log \\sigma \\operatorname{ReLU}, ^{\\top}, norms)")
        raise self.error(t.at, f"unexpected {describe(s) if not s.isascii() else repr(s)}")

    def scripts(self, name: str) -> tuple[str, bool]:
        """``_2``, ``_{h}``, ``^{(2)}`` after a name are part of it (``W_2``, ``W^{(2)}``);
        and whether ``^{(2)\top}`` also transposed it."""
        subs: list[str] = []
        index = ""
        transposed = False
        while True:
            if self.is_("_") and not subs:
                self.take()
                raw, _, at = self.script()
                sub = re.sub(r"\\(?:mathrm|text|mathit)\{([^{}]*)\}", r"\1", raw).replace(" ", "")
                sub = GREEK.get(sub, sub)
                if not re.fullmatch(r"[A-Za-z0-9]+", sub):
                    raise self.error(at, f"the subscript {raw!r} is not part of a name we read")
                subs.append(sub)
                continue
            if self.is_("^") and not index:
                save = self.i
                self.take()
                raw, _, _ = self.script()
                m = re.fullmatch(r"[(\[](\d+)[)\]](\\top|\\intercal|T)?", raw.replace(" ", ""))
                if m:
                    index = m.group(1)
                    transposed = bool(m.group(2))  # W^{(1)\top}: the index, then a transpose
                    if not transposed:
                        continue
                else:
                    self.i = save
            break
        return self.pick(name, subs[0] if subs else "", index), transposed

    def pick(self, base: str, sub: str, index: str) -> str:
        """The name a base with a subscript and an index stands for: a declared one if any
        (``Wh2``, ``W2h``, ``W_h``, ``t_1``), else base, subscript, index run together."""
        if not sub or not index:
            part = sub or index
            candidates = [base + part, f"{base}_{part}"] if part else [base]
        else:
            candidates = [base + sub + index, base + index + sub, f"{base}{index}_{sub}",
                          f"{base}_{sub}{index}"]
        return next((n for n in candidates if self.known(n)), candidates[0])

    def name_atom(self, end: int) -> Piece:
        name, at = self.base_name()
        letters = self.letters
        name, transposed = self.scripts(name)
        if not letters:
            return _join("(", name, ").T", at=at) if transposed else [(name, at)]
        out = self.name_product(name, at)
        return _join("(", out, ").T", at=at) if transposed else out

    def name_product(self, name: str, at: int) -> Piece:
        """A name, or the product it stands for (``W1x`` with ``W1`` and ``x`` declared)."""
        if self.known(name) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", name):
            return [(name, at)]
        ways = split_name(name, self.known)
        if len(ways) > 1:
            shown = "; ".join("·".join(w) for w in ways[:8])
            raise self.error(at, f"{name!r} can be read in more than one way ({shown}): "
                             "write the product with \\, or \\cdot")
        if ways:
            self.notes.append(f"{name!r} read as {'·'.join(ways[0])}")
            return [(" * ".join(ways[0]), at)]
        if len(name) > 1 and name.isalpha() and not self.known(name):
            letters = list(name)  # TeX: xy is x times y
            self.notes.append(f"{name!r} read as {'·'.join(letters)}")
            return [(" * ".join(letters), at)]
        return [(name, at)]


def read_latex(text: str, known: Callable[[str], bool], functions: Iterable[str],
               limits: Limits) -> Reading:
    """LaTeX as code of the text language (see the module docstring)."""
    bad = re.search(r"[^\x20-\x7e\n\t\r]", text)
    if bad is not None:
        at = bad.start()
        raise ParseError(f"character {describe(bad.group())} is not read in LaTeX input; "
                         "write it as a control sequence (\\sigma, \\cdot)",
                         column=at + 1 - (text.rfind("\n", 0, at) + 1), text=text)
    for ch, why in (("%", "a LaTeX comment (%) is not read: remove it"),
                    ("#", "'#' (a macro parameter) is not read"),
                    ("@", "'@' is not maths")):
        if ch in text:
            at = text.index(ch)
            raise ParseError(why, column=at + 1 - (text.rfind("\n", 0, at) + 1), text=text)
    reader = _Reader(text, known, functions, limits)
    try:
        return reader.document()
    except RecursionError:
        raise LimitError("the LaTeX is nested too deeply", text=text) from None
