"""Mathematics as typed on paper, read into the text language before it is parsed.

The text syntax accepts what lecture notes and Markdown use: ``^`` and superscripts for
powers, ``·`` ``×`` ``⋅`` for the product, ``⊙`` ``∘`` for the element-wise product, ``ᵀ`` and
``^T`` for a transpose, ``σ(...)`` for the sigmoid, Greek letters and sub/superscript digits in
names (``λ``, ``W₁``, ``W⁽¹⁾``), ``−`` (U+2212) for minus, ``√``, ``‖v‖²`` and ``|x|``, and
implicit multiplication: ``W1 x``, ``2x``, and ``W1x`` when it splits in exactly one way into
declared names; ``tr AX``, ``det X``, ``log det X`` (a matrix function without brackets, of
the product after it), and the ones vector ``𝟏`` (``𝟏ᵀX𝟏``, as LaTeX's ``\\mathbf{1}``). The
indentation every line shares is dropped, as ``textwrap.dedent`` drops it. ``read_text``
turns all of that into plain ASCII code of the text language, with one operator Python's
parser has and the text refuses when typed, ``%`` (the element-wise product); a ``**`` that
stands for ``^`` or a superscript is listed in ``Reading.powers``: it is a power as
mathematics reads it (of a square matrix, the matrix power; of anything else, element-wise),
where a typed ``**`` is NumPy's element-wise power. Each character of the code remembers the
character of the source it came from, so errors point at what the user typed. Nothing is
evaluated.
"""

from __future__ import annotations

import ast
import itertools
import keyword
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .errors import ParseError
from .notation import GREEK as NOTATION_GREEK

# Greek letters that do not look like Latin ones; their names as the text language spells them
_GREEK_NAMES = [n for n in NOTATION_GREEK if n != "omicron"]  # ο looks like o
_UNICODE_NAMES = {"lam": "LAMDA", "Lam": "LAMDA"}  # Λ is Lam: SymPy's Lambda is reserved
GREEK: dict[str, str] = {}
for _n in _GREEK_NAMES:
    _case = "CAPITAL" if _n[0].isupper() else "SMALL"
    _uname = _UNICODE_NAMES.get(_n, _n.upper())
    GREEK[unicodedata.lookup(f"GREEK {_case} LETTER {_uname}")] = _n
GREEK.update({"ϵ": "epsilon", "ϑ": "theta", "ϕ": "phi", "ϱ": "rho", "ϖ": "Pi"})
GREEK.pop("ς", None)
GREEK["∞"] = "inf"  # not a letter: read as the name inf, which is ∞ unless bound
GREEK["π"] = "pi"  # the number π unless the name pi is bound (2πσ²)

# names a letter subscript must not run into: the text reads pi as π and prints a Greek
# letter's name as the letter (pᵢ run together would be π, xᵢ would print as ξ)
_READ_OTHERWISE = frozenset({"pi", *NOTATION_GREEK})



def subscripted(base: str, sub: str) -> str:
    """A name with a subscript run together (``W₁`` is ``W1``, ``Wₕ`` is ``Wh``), or joined
    by ``_`` where running it together would make pi, a Greek letter's name or a keyword
    (``pᵢ`` is ``p_i``, not π; ``xᵢ`` is ``x_i``, not ξ)."""
    joined = base + sub
    if sub[:1].isalpha() and (joined in _READ_OTHERWISE or keyword.iskeyword(joined)):
        return f"{base}_{sub}"
    return joined


PRODUCT = "·⋅×∙"
ONES = "\U0001d7cf\U0001d7d9"  # 𝟏 and 𝟙: the ones vector (𝟏ᵀX𝟏), as LaTeX's \mathbf{1}
HADAMARD = "⊙∘"
SPACES = "\u00a0\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
_SIMPLE = {**dict.fromkeys(PRODUCT, "*"), **dict.fromkeys(HADAMARD, "%"), "−": "-", "÷": "/",
           "≥": ">=", "≤": "<="}
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|"
                     r"(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d[\d_]*)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS = ("**", "@", "+", "-", "*", "/", "(", ")", ",", "=", ";", ".")
MAX_READINGS = 8  # an ambiguous name lists at most this many readings
ALIASES = {"ln": "log", "tr": "trace", "Tr": "trace", "σ": "sigmoid"}  # and any case: ReLU
MAX_SPLIT = 64  # characters: a longer name is never split into a product


@dataclass(frozen=True, slots=True)
class Reading:
    """``code`` (ASCII text language) read from a source; ``origin[i]`` is the offset in the
    source of ``code[i]``; ``notes`` say how implicit products were read."""

    code: str
    origin: tuple[int, ...]
    notes: tuple[str, ...] = ()
    powers: frozenset[int] = frozenset()  # offsets of each ``**`` that is a power as
    # mathematics reads it (a matrix power of a square matrix); any other ``**`` is NumPy's
    ones: frozenset[int] = frozenset()  # offsets of each ``*`` with a ones vector that the
    # product sizes (LaTeX's X𝟏, 𝟏ᵀX: sums along an axis); a 𝟏 elsewhere is the number 1
    spectral: frozenset[int] = frozenset()  # offsets of each norm2(/sqnorm( written with the
    # subscript 2 (‖X‖₂): of a matrix that is the spectral norm, which is refused

    def source_offset(self, line: int, col: int) -> int | None:
        """The offset in the source of the code's 1-based (line, column), if known."""
        starts = [0] + [i + 1 for i, ch in enumerate(self.code) if ch == "\n"]
        if not self.origin or not 1 <= line <= len(starts):
            return None
        return self.origin[min(starts[line - 1] + max(col, 1) - 1, len(self.origin) - 1)]


def describe(ch: str) -> str:
    """A character for a message: itself when printable, and always its code point."""
    return f"{ch!r} (U+{ord(ch):04X})" if ch.isprintable() else f"U+{ord(ch):04X}"


def _sup_sub(ch: str) -> tuple[str, str] | None:
    """``("super" | "sub", ascii)`` for a superscript or subscript character."""
    d = unicodedata.decomposition(ch)
    for kind in ("super", "sub"):
        if d.startswith(f"<{kind}> "):
            base = chr(int(d.split()[1], 16))
            base = "-" if base == "\u2212" else base
            if base == "T" or base.isascii():
                return kind, base
    return None


ACCENTS = {"\u0302": "hat", "\u0304": "bar", "\u0305": "bar", "\u0303": "tilde",
           "\u0307": "dot", "\u0308": "ddot", "\u20d7": ""}  # ŷ is yhat, x̄ is xbar, v⃗ is v


def _fraction(ch: str) -> str | None:
    """``½``, ``¾``, ``⅓`` …: the fraction as a parenthesised quotient."""
    plain = unicodedata.normalize("NFKC", ch)
    if len(ch) == 1 and "\u2044" in plain:
        num, _, den = plain.partition("\u2044")
        if num.isascii() and num.isdigit() and den.isascii() and den.isdigit():
            return f"({num}/{den})"
    return None


def _accented(ch: str) -> tuple[str, str] | None:
    """``ŷ`` (one character, or ``y`` and a combining circumflex): ("y", "hat")."""
    parts = unicodedata.normalize("NFD", ch)
    if len(parts) == 2 and parts[0].isascii() and parts[0].isalpha() and parts[1] in ACCENTS:
        return parts[0], ACCENTS[parts[1]]
    return None


def _math_letter(ch: str) -> str | None:
    """𝐖, 𝑥, 𝛔 (mathematical alphanumerics): the plain letter or digit they style."""
    if 0x1D400 <= ord(ch) <= 0x1D7FF:
        plain = unicodedata.normalize("NFKC", ch)
        if len(plain) == 1 and ((plain.isascii() and plain.isalnum()) or plain in GREEK):
            return plain
    return None


# a norm's order after its closing bar: ‖v‖₁, ‖v‖₃, ‖v‖_1, ‖v‖_{1}, ‖v‖_∞, ‖v‖_inf
_NORM_ORDER = re.compile(r"(?:_\{?([13-9]|[1-9][0-9]|∞|inf)\}?(?![A-Za-z0-9_])|([₁₃-₉]))")
_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


@dataclass(slots=True)
class _Tok:
    kind: str  # name, number, op, space, newline, sup (an exponent), norm, abs, ones (𝟏)
    text: str
    at: int  # offset in the source
    end: int = -1
    call: bool = False  # a name called as a function
    two: bool = False  # a closing ‖ with the subscript 2 (‖X‖₂: of a matrix, spectral)


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[_Tok] = []
        self.close_after = False  # √x: close the call after the next name or number
        self.braces: list[int] = []  # open {...} of an exponent

    def error(self, at: int, message: str) -> ParseError:
        return ParseError(message, column=column_of(self.text, at), text=self.text)

    def run(self) -> list[_Tok]:
        text, i, n = self.text, 0, len(self.text)
        while i < n:
            ch = text[i]
            if ch in ONES:  # 𝟏, 𝟏ᵀ: the ones vector, as LaTeX's \mathbf{1}
                self.add("ones", "(1)", i)
                i += 1
                continue
            plain = _math_letter(ch)
            if plain is not None:
                ch = plain
            if ch in " \t" or ch in SPACES:
                self.add("space", " ", i)
                i += 1
            elif self.toks and (self.toks[-1].kind == "norm" or (
                    self.toks[-1].kind == "sup" and len(self.toks) > 1 and
                    self.toks[-2].kind == "norm")) and text.startswith(("_2", "_F", "₂"), i) \
                    and not (text[i + 2:i + 3].isascii() and (
                        text[i + 2:i + 3].isalnum() or text[i + 2:i + 3] == "_")):
                # ‖v‖_2, ‖A‖_F (the 2-norm, Frobenius), ‖A‖_F², and ‖A‖²_F, ‖x − y‖²₂
                bar = self.toks[-1] if self.toks[-1].kind == "norm" else self.toks[-2]
                bar.two = text[i] == "₂" or text[i + 1] == "2"
                i += 1 if text[i] == "₂" else 2
            elif self.toks and self.toks[-1].kind == "norm" and _NORM_ORDER.match(text, i):
                m = _NORM_ORDER.match(text, i)  # ‖v‖₁, ‖v‖_1, ‖v‖_∞: NumPy's order
                assert m is not None
                order = m.group(1) or m.group(2)
                self.toks[-1].text = "‖" + ("inf" if order in ("∞", "inf") else
                                            order.translate(_SUBSCRIPT_DIGITS))
                i = m.end()
            elif ch in "'\"" and "\\" not in text[i:text.find(ch, i + 1)] \
                    and text.find(ch, i + 1) > 0:  # einsum's subscripts, verbatim: their
                j = text.find(ch, i + 1)  # letters are no names to split into products
                self.add("string", text[i:j + 1], i)
                i = j + 1
            elif ch in "\r\n":
                self.add("newline", "\n", i)
                i += 2 if text.startswith("\r\n", i) else 1
            elif ch.isascii() and (ch.isdigit() or (ch == "." and text[i + 1:i + 2].isascii()
                                                    and text[i + 1:i + 2].isdigit())):
                m = _NUMBER.match(text, i)
                assert m is not None
                self.add("number", m.group(), i)
                i = m.end()
            elif (ch.isascii() and (ch.isalpha() or ch == "_")) or ch in GREEK \
                    or _accented(ch) is not None:
                i = self.name(i)
            elif ch in _SIMPLE:
                self.add("op", _SIMPLE[ch], i)
                i += 1
            elif _fraction(ch) is not None:  # ½ is (1/2)
                self.add("number", _fraction(ch), i)  # type: ignore[arg-type]
                i += 1
            elif ch == "^":
                i = self.caret(i)
            elif ch == "√":
                self.add("name", "sqrt", i).call = True
                if not self.next_is_paren(i + 1):  # √x: the next name or number only
                    self.add("op", "(", i)
                    self.close_after = True
                i += 1
            elif ch == "‖":
                self.add("norm", "‖", i)
                i += 1
            elif self.toks and self.toks[-1].kind == "norm" and ch in "₂":
                self.toks[-1].two = True  # ‖v‖₂: the 2-norm is the norm (of a vector)
                i += 1
            elif ch == "|":
                self.add("abs", "|", i)
                i += 1
            elif _sup_sub(ch) is not None and _sup_sub(ch)[0] == "super":  # type: ignore[index]
                i = self.superscript(i)
            elif ch == "{" and self.toks and self.toks[-1].text == "**" \
                    and self.toks[-1].call:  # x^{2}: braces after ^ group the exponent
                self.add("op", "(", i)
                self.braces.append(len(self.toks))
                i += 1
            elif ch == "}" and self.braces:
                self.braces.pop()
                self.add("op", ")", i)
                i += 1
            elif ch.isascii() and ch.isprintable() and ch not in "%\\":
                # operators, and what the parser refuses with its own message ('a', [1])
                op = next((o for o in _OPS if text.startswith(o, i)), ch)
                self.add("op", op, i)
                i += len(op)
            else:
                raise self.error(i, self.refusal(ch))
        return self.toks

    def refusal(self, ch: str) -> str:
        if ch == "%":
            return ("'%' is not an operator here: the element-wise product is hadamard(a, b) "
                    "or a ⊙ b")
        if ch == "\\":
            return "a backslash is not allowed (for LaTeX input use syntax='latex')"
        if ch.isascii():
            return f"character {ch!r} is not allowed"
        return (f"character {describe(ch)} is not allowed: names are ASCII letters, digits "
                "and _, or Greek letters; operators are ASCII or · × ⊙ ∘ − ÷ ≥ ≤ ᵀ √ ‖ "
                "(look-alike letters such as fullwidth, Cyrillic or Greek capitals that look "
                "Latin are refused)")

    def add(self, kind: str, text: str, at: int) -> _Tok:
        t = _Tok(kind, text, at)
        self.toks.append(t)
        if self.close_after and kind in ("name", "number") and not t.call:
            self.close_after = False
            self.toks.append(_Tok("op", ")", at))
        return t

    def name(self, i: int) -> int:
        """A name: an ASCII identifier, or one Greek letter with digits; subscripts join it
        (``W₁`` is ``W1``, ``Wₕ`` is ``Wh``; ``xᵢ`` is ``x_i``, as ``xi`` would be ξ), ``⁽¹⁾``
        right after it too (``W⁽¹⁾``)."""
        text, start = self.text, i
        ch = _math_letter(text[i]) or text[i]
        if ch in GREEK:
            word = GREEK[ch]
            i += 1
            m = re.compile(r"[0-9_]*").match(text, i)
            assert m is not None
            word += m.group()
            i = m.end()
        else:
            parts: list[str] = []
            while i < len(text) and text[i] not in ONES:  # X𝟏 is X times 𝟏
                c = _math_letter(text[i]) or text[i]
                accent = _accented(c)
                if accent is not None:  # ŷ: the letter, then its accent's name
                    parts += accent
                elif c in ACCENTS and parts:  # y followed by a combining circumflex
                    parts.append(ACCENTS[c])
                elif c.isascii() and (c.isalnum() or c == "_"):
                    parts.append(c)
                else:
                    break
                i += 1
            word = "".join(parts)
        while i < len(text):  # subscripts, then an index in superscript parentheses
            s = _sup_sub(text[i])
            if s is not None and s[0] == "sub" and (s[1].isalnum() or s[1] == "_"):
                word = subscripted(word, s[1])
                i += 1
                continue
            if text[i] == "⁽":
                j, digits = i + 1, ""
                while j < len(text) and (_sup_sub(text[j]) or ("", ""))[1].isdigit() \
                        and text[j] != "⁾":
                    digits += _sup_sub(text[j])[1]  # type: ignore[index]
                    j += 1
                if digits and j < len(text) and text[j] == "⁾":
                    word += digits
                    i = j + 1
                    continue
            break
        if word == "sigma" and text[start] == "σ" and self.next_is_paren(i):
            word = "sigmoid"
        t = self.add("name", word, start)
        t.end = i
        return i

    def next_is_paren(self, i: int) -> bool:
        while i < len(self.text) and (self.text[i] in " \t" or self.text[i] in SPACES):
            i += 1
        return self.text.startswith("(", i)

    def caret(self, i: int) -> int:
        """``^T``, ``^⊤``, ``^{T}`` are a transpose; any other ``^`` a power."""
        text = self.text
        for form in ("^{T}", "^{⊤}", "^T", "^⊤", "^ᵀ"):
            if text.startswith(form, i):
                j = i + len(form)
                if form in ("^T",) and j < len(text) and (text[j].isalnum() or text[j] == "_"):
                    break  # ^Tx: a power of a name that starts with T
                self.add("op", ".", i)
                self.add("name", "T", i + 1)
                return j
        self.add("op", "**", i).call = True  # a power as mathematics reads it
        return i + 1

    def superscript(self, i: int) -> int:
        """``x²``, ``x⁻¹``: a power; ``xᵀ``: a transpose."""
        text = self.text
        if text[i] == "ᵀ":
            self.add("op", ".", i)
            self.add("name", "T", i)
            return i + 1
        start, body = i, ""
        while i < len(text):
            s = _sup_sub(text[i])
            if s is None or s[0] != "super" or not (s[1].isdigit() or s[1] in "-+.()"):
                break
            body += s[1]
            i += 1
        if not body or not re.fullmatch(r"[-+]?\d+(\.\d+)?|\([-+]?\d+(\.\d+)?\)", body):
            raise self.error(start, f"superscript {text[start:i + 1]!r} is not a number")
        t = self.add("sup", body.strip("()"), start)
        t.end = i
        return i


_KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)


def _ends_operand(t: _Tok | None) -> bool:
    return t is not None and (t.kind in ("number", "sup", "ones") or (
        t.kind == "name" and not t.call and t.text not in _KEYWORDS) or (
        t.kind == "op" and t.text == ")"))


def _starts_operand(t: _Tok) -> bool:
    return (t.kind in ("number", "ones") or (t.kind == "name" and t.text not in _KEYWORDS)
            or (t.kind == "op" and t.text == "("))


def split_name(word: str, known: Callable[[str], bool]) -> list[list[str]]:
    """Every way to write ``word`` as two or more known names (at most MAX_READINGS + 1).

    Only a word of at most ``MAX_SPLIT`` characters is split (a longer one is no product
    of names anyone typed, and the limits refuse it as a name): the work stays bounded."""
    if len(word) > MAX_SPLIT:
        return []
    ways: dict[int, list[list[str]]] = {len(word): [[]]}
    for start in range(len(word) - 1, -1, -1):
        found: list[list[str]] = []
        for end in range(start + 1, len(word) + 1):
            if end in ways and known(word[start:end]):
                found.extend([word[start:end], *rest] for rest in ways[end])
                if len(found) > MAX_READINGS:
                    break
        if found:
            ways[start] = found[:MAX_READINGS + 1]
    return [w for w in ways.get(0, []) if len(w) > 1]


def _indentation(text: str) -> frozenset[int]:
    """The offsets of the indentation that every line shares (and of the whitespace of blank
    lines), which ``textwrap.dedent`` would remove: stages indented in a triple-quoted
    string read as written at the margin. A line indented further keeps the rest."""
    starts = [0] + [j + 1 for j, ch in enumerate(text)
                    if ch == "\n" or (ch == "\r" and text[j + 1:j + 2] != "\n")]
    lines: list[tuple[int, str]] = []
    blank: list[int] = []
    for start in starts:
        j = start
        while j < len(text) and text[j] in " \t":
            j += 1
        if j == len(text) or text[j] in "\r\n":
            blank.extend(range(start, j))
        else:
            lines.append((start, text[start:j]))
    common = lines[0][1] if lines else ""  # the longest indentation all lines start with
    for _, w in lines[1:]:
        n = 0
        while n < min(len(common), len(w)) and common[n] == w[n]:
            n += 1
        common = common[:n]
    return frozenset(blank) | frozenset(
        at for start, _ in lines for at in range(start, start + len(common)))


# functions written without brackets, as on paper: tr AX is tr(AX), det X is det(X), of the
# product after them; log det X and ln|det X| the logarithm of that determinant or bars
_BARE = {"tr": "trace", "Tr": "trace", "trace": "trace", "det": "det", "logdet": "logdet"}
_LOGS = {"log": "log", "ln": "log"}
_ENDS_ARGUMENT = frozenset({"+", "-", ",", "=", ";", "/", "%", ">", "<", ">=", "<=", "==",
                            "!=", ":", "["})


def _bare_calls(toks: list[_Tok], text: str, declared: Callable[[str], bool],
                funcs: frozenset[str], notes: list[str]) -> list[_Tok]:
    """``tr AX``, ``det X``, ``log det X``, ``ln|det X|``: brackets put around the argument
    of a function written without them (``tr``, ``det``, ``logdet``: the product after it,
    up to the next + or −, a division, ⊙, a closing bracket or bar, or another function;
    ``log``, ``ln``: a determinant or a trace so written, or the bars after it), each
    reading noted. A declared name (``tr`` in ``shapes``) stays a name."""
    if not any(t.kind == "name" and (t.text in _BARE or t.text in _LOGS) for t in toks):
        return toks
    toks = list(toks)
    ends: dict[int, int] = {}  # a token's end in the source: where the next one starts
    for j in range(len(toks) - 1, -1, -1):
        later = ends.get(id(toks[j + 1]), len(text)) if j + 1 < len(toks) else len(text)
        ends[id(toks[j])] = later if j + 1 >= len(toks) or toks[j + 1].at <= toks[j].at \
            else toks[j + 1].at
    found: list[str] = []

    def sig(j: int) -> int:  # the first token from j that is not a space
        while j < len(toks) and toks[j].kind == "space":
            j += 1
        return j

    def is_call(j: int) -> bool:  # a function's name: one of these, or called
        u = toks[j]
        if u.kind != "name" or declared(u.text):
            return False
        if u.text in _BARE or u.text in _LOGS:
            return True
        after = sig(j + 1)
        return after < len(toks) and toks[after].text == "(" and toks[after].kind == "op"

    for k in range(len(toks) - 1, -1, -1):
        t = toks[k]
        if t.kind != "name" or declared(t.text):
            continue
        fn = _BARE.get(t.text) or _LOGS.get(t.text)
        j = sig(k + 1)
        if fn is None or fn not in funcs or j >= len(toks) or toks[j].text == "(":
            continue
        a = toks[j]
        if fn == "log" and t.text in _LOGS:
            if a.kind == "name" and a.text in funcs and a.text in _BARE.values() and \
                    sig(j + 1) < len(toks) and toks[sig(j + 1)].text == "(":
                stop = _argument_end(toks, sig(j + 1) + 1, is_call, closing=")") + 1
            elif a.kind in ("abs", "norm"):
                stop = _argument_end(toks, j, is_call, closing=a.kind) + 1
            else:
                continue  # log x: a call, as the text writes it (an error says so)
        elif _starts_operand(a) or a.kind in ("abs", "norm"):  # tr AX, det exp(X)
            stop = _argument_end(toks, j, is_call)
        else:
            continue
        if stop > len(toks):  # ln|x with no closing bar: the reader says so
            continue
        last = stop - 1
        while toks[last].kind == "space":
            last -= 1
        if last < j:
            continue
        end = ends[id(toks[last])]
        found.append(f"'{text[t.at:end].rstrip()}' read as {fn}({text[a.at:end].rstrip()})"
                     + (" (without brackets, of the product after it up to the next + or −)"
                        if fn != "log" else ""))
        close = _Tok("op", ")", toks[last].at)
        ends[id(close)] = end
        toks.insert(last + 1, close)
        toks.insert(k + 1, _Tok("op", "(", t.at))
        t.text = fn
        t.call = True
    notes.extend(reversed(found))
    return toks


def _argument_end(toks: list[_Tok], j: int, is_call: Callable[[int], bool],
                  closing: str = "") -> int:
    """Where the argument starting at token ``j`` of a function written without brackets
    ends (the index after it). ``closing``: the argument is bracketed, and ends at the
    ``)`` (the brackets open before ``j``) or the bar (opening at ``j``) that closes it."""
    depth = 1 if closing == ")" else 0
    bars: list[str] = []
    prev: _Tok | None = None
    m = j
    while m < len(toks):
        u = toks[m]
        if u.kind == "space":
            m += 1
            continue
        if u.kind in ("abs", "norm"):
            if bars and bars[-1] == u.kind and _ends_operand(prev):
                bars.pop()
                if closing in ("abs", "norm") and not bars and depth == 0:
                    return m
            elif depth == 0 and not bars and _ends_operand(prev):
                break  # |det X|: the bar that closes the one around
            else:
                bars.append(u.kind)
        elif u.kind == "op" and u.text == "(":
            depth += 1
        elif u.kind == "op" and u.text == ")":
            depth -= 1
            if depth == 0 and closing == ")":
                return m
            if depth < 0:
                break
        elif depth == 0 and not bars:
            if u.kind in ("newline", "string") or (
                    u.kind == "op" and u.text in _ENDS_ARGUMENT and not (
                        prev is not None and prev.kind == "op" and prev.text == "**")):
                break
            if u.kind == "name" and m > j and is_call(m) and not (
                    u.text == "T" and prev is not None and prev.text == "."):
                break  # det A det B, tr A σ(x): another function
            if u.kind == "op" and u.text == "*":
                after = m + 1
                while after < len(toks) and toks[after].kind == "space":
                    after += 1
                if after < len(toks) and is_call(after):
                    break  # det A · det B
        prev = u
        m += 1
    return len(toks) if closing else m  # (closing: never closed)


def read_text(text: str, known: Callable[[str], bool], functions: Iterable[str]) -> Reading:
    """The text syntax with maths notation, as plain code of the text language."""
    funcs = frozenset(functions)
    toks = _Lexer(text).run()
    stage_names = _stage_names(toks)

    def declared(name: str) -> bool:
        return name in stage_names or known(name)

    notes: list[str] = []
    indent = _indentation(text)  # the lines' common indentation: dropped, as by dedent
    toks = _bare_calls(toks, text, declared, funcs, notes)
    following = [len(toks)] * len(toks)  # the index of the next token that is not a space
    for j in range(len(toks) - 2, -1, -1):
        following[j] = j + 1 if toks[j + 1].kind != "space" else following[j + 1]
    out: list[tuple[str, int]] = []
    sized: list[int] = []  # the pieces of out that are a product with a ones vector it sizes
    ones = ""  # the operand read last is 𝟏 ("one"), 𝟏 and its ᵀ so far ("dot"), 𝟏ᵀ ("row")
    prev: _Tok | None = None  # the last token that is not a space
    opened: list[tuple[str, int, int]] = []  # open norms and absolute values: kind, out index
    powers: list[int] = []  # code offsets of the ** that are powers as mathematics reads them
    spectral: list[int] = []  # the pieces of out that open a norm written ‖…‖₂
    divisor: _Tok | None = None  # the last number or name written right after a /
    divided = ""  # and the divisor as written (yᵀ: the name and its postfix)
    k = 0
    while k < len(toks):
        t = toks[k]
        nxt_at = following[k]
        nxt = toks[nxt_at] if nxt_at < len(toks) else None
        if t.kind == "space":
            if t.at not in indent:
                out.append((" ", t.at))
            k += 1
            continue
        if t.kind == "newline":
            out.append(("\n", t.at))
            prev = None
            ones = ""
            k += 1
            continue
        # 𝟏 (not 𝟏ᵀ) is sized by the product before it (X𝟏, X·𝟏); 𝟏ᵀ by the one after it
        beyond = following[nxt_at] if nxt_at < len(toks) else len(toks)
        column = t.kind == "ones" and not (nxt is not None and nxt.text == "." and
                                           beyond < len(toks) and toks[beyond].text == "T")
        if column and prev is not None and prev.kind == "op" and prev.text == "*":
            sized.append(len(out) - 1 - next(j for j, (p, _) in enumerate(reversed(out))
                                             if p == "*"))  # X·𝟏: the * before it
        if t.kind == "name" and nxt is not None and nxt.kind == "op" and nxt.text == "(" and \
                not (t.text == "T" and prev is not None and prev.text == "."):  # xᵀ(…): a product
            alias = ALIASES.get(t.text, t.text.lower())
            if t.text not in funcs and alias in funcs and not declared(t.text):
                notes.append(f"{t.text!r} read as {alias}")  # ReLU(x), ln(x), tr(A)
                t.text = alias
            t.call = t.call or t.text in funcs or not declared(t.text)
        closing = t.kind in ("norm", "abs") and opened and opened[-1][0] == t.kind \
            and _ends_operand(prev)
        if not closing and _ends_operand(prev) and (
                _starts_operand(t) or t.kind in ("norm", "abs")):
            if prev is not None and prev.kind == "number" and t.kind == "number":
                raise ParseError("two numbers side by side: write the operator between them",
                                 column=column_of(text, t.at), text=text)
            if prev is not None and prev is divisor:  # 1/2x: (1/2)·x, as Python reads it
                after = "(…)" if t.text == "(" else t.text
                notes.append(f"'/{divided}{after}' read as a division by {divided}, then "
                             f"a product with {after} (write /({divided}*{after}) to "
                             "divide by both)")
            if column or ones == "row":  # X𝟏, 𝟏ᵀX: a product with a ones vector it sizes
                sized.append(len(out))
            out.append(("*", t.at))  # implicit multiplication
        row = ones == "row"  # the operand before is 𝟏ᵀ
        ones = "one" if t.kind == "ones" else "dot" if ones == "one" and t.text == "." \
            else "row" if ones == "dot" and t.text == "T" else ""
        if t.kind == "name" and t.text == "e" and not declared("e") and nxt is not None \
                and nxt.kind == "op" and nxt.text == "**" and nxt.call:
            notes.append("'e^' read as the exponential")  # e^x is exp(x), as on paper
            out.extend((c, t.at) for c in "exp(1)")
            prev = _Tok("op", ")", t.at)
            k += 1
            continue
        if t.kind == "name" and len(t.text) > 1 and t.text.endswith("e") and \
                not declared(t.text) and not declared("e") and nxt is not None and \
                nxt.kind == "op" and nxt.text == "**" and nxt.call:
            head = t.text[:-1]  # xe^x, ae^{bx}: x·e^x, as on paper (TeX's letters)
            heads = [[head]] if len(head) == 1 or declared(head) else \
                split_name(head, declared)
            if len(heads) == 1:
                notes.append(f"'{t.text}^' read as {'·'.join(heads[0])}·e^ (the exponential)")
                out.extend((c, t.at) for c in "*".join(heads[0]) + "*exp(1)")
                prev = _Tok("op", ")", t.at)
                k += 1
                continue
        if t.kind == "name" and not t.call and not declared(t.text) \
                and t.text not in _KEYWORDS:
            ways = split_name(t.text, declared) if t.text not in funcs else []
            if len(ways) > 1:
                shown = "; ".join("·".join(w) for w in ways[:MAX_READINGS])
                raise ParseError(f"{t.text!r} can be read in more than one way ({shown}): "
                                 "write the product with spaces or *",
                                 column=column_of(text, t.at), text=text)
            if ways:
                notes.append(f"{t.text!r} read as {'·'.join(ways[0])}")
                if prev is not None and prev.kind == "op" and prev.text == "/":  # a/bc
                    first, rest = ways[0][0], "·".join(ways[0][1:])
                    notes.append(f"'/{t.text}' read as a division by {first}, then a product "
                                 f"with {rest} (write /({'*'.join(ways[0])}) to divide by "
                                 "all)")
                out.extend((c, t.at) for c in "*".join(ways[0]))
                prev = t
                k += 1
                continue
        if t.kind in ("norm", "abs"):
            if closing:
                kind, index, _ = opened.pop()
                order = t.text[1:] if kind == "norm" else ""
                last = _square_ends(toks, following, nxt_at) \
                    if kind == "norm" and not order else None
                if order:  # ‖v‖₁: norm(v, 1)
                    out[index] = ("norm(", out[index][1])
                out.append((f", {order})" if order else ")", t.at))
                if last is not None:  # ‖v‖², ‖v‖^2, ‖v‖^{2}: the squared norm
                    out[index] = ("sqnorm(", out[index][1])
                    k = last
                if t.two:
                    spectral.append(index)
                prev = _Tok("op", ")", t.at)
            else:
                opened.append((t.kind, len(out), t.at))
                out.append(("norm2(" if t.kind == "norm" else "abs(", t.at))
                prev = None
            k += 1
            continue
        if t.kind == "sup" or (t.kind == "op" and t.call):  # ^, ², ⁻¹: remembered by offset
            powers.append(sum(len(p) for p, _ in out))
            out.extend((c, t.at) for c in ("**" if t.kind == "op" else f"**({t.text})"))
        else:
            if row and t.kind == "op" and t.text == "*":  # 𝟏ᵀ·X
                sized.append(len(out))
            out.extend((c, t.at) for c in t.text)
        if t.kind in ("number", "name") and prev is not None and prev.kind == "op" and \
                prev.text == "/":
            divisor, divided = t, t.text  # a number or a name right after / (a/b c)
        elif prev is not None and prev is divisor and (t.kind == "sup" or (
                t.kind == "op" and t.text == ".") or (prev.text == "." and t.text == "T")):
            # x/y²z, x/yᵀAy: the divisor y², yᵀ (ᵀ is the tokens . T)
            divisor = t
            divided += {".": "", "T": "ᵀ"}.get(t.text, "") if t.kind != "sup" else f"^{t.text}"
        prev = t
        k += 1
    if opened:
        kind, _, at = opened[-1]
        raise ParseError(f"{'‖' if kind == 'norm' else '|'} is not closed",
                         column=column_of(text, at), text=text)
    code: list[str] = []
    origin: list[int] = []
    marked: list[int] = []
    ones_at: list[int] = []
    spectral_set, sized_set = set(spectral), set(sized)
    for j, (piece, at) in enumerate(out):
        if j in spectral_set:
            marked.append(len(origin))
        if j in sized_set:
            ones_at.append(len(origin))
        code.append(piece)
        origin.extend([at] * len(piece))
    return Reading("".join(code), tuple(origin), tuple(notes), frozenset(powers),
                   frozenset(ones_at), frozenset(marked))


_PRODUCTS = (ast.Mult, ast.Div, ast.MatMult, ast.Mod)


def hadamard_last(tree: ast.AST) -> bool:
    """Bind ⊙ (``%`` in the code) less tightly than the products around it, in place: on
    paper ``y ⊙ Xw`` is y ⊙ (X·w) and ``Wᵀδ ⊙ σ′(z)`` is (Wᵀδ) ⊙ σ′(z), as LaTeX's \\odot
    reads, where Python's ``%`` would group ``(y ⊙ X)·w``. Whether anything was regrouped.
    Iterative: a chain of thousands of operators does not recurse."""
    changed = False
    slots: list[tuple[ast.AST, str, int | None]] = [
        (tree, f, None) for f, _ in ast.iter_fields(tree)]
    while slots:
        owner, field, k = slots.pop()
        value = getattr(owner, field)
        kid = value[k] if k is not None else value
        if isinstance(kid, list):
            slots.extend((owner, field, j) for j in range(len(kid)))
            continue
        if not isinstance(kid, ast.AST):
            continue
        if isinstance(kid, ast.BinOp) and isinstance(kid.op, _PRODUCTS):
            new = _regrouped(kid)
            if new is not kid:
                changed = True
                if k is not None:
                    value[k] = new
                else:
                    setattr(owner, field, new)
            for n in _chain(new):  # its operands: each may hold chains of its own
                slots.append((n, "right", None))
                if not _chained(n.left, n):
                    slots.append((n, "left", None))
        else:
            slots.extend((kid, f, None) for f, _ in ast.iter_fields(kid))
    return changed


def _chain(node: ast.BinOp) -> list[ast.BinOp]:
    """The operator nodes of a left-nested chain of products, first to last. A bracketed
    left operand, ``(A ⊙ B)C``, starts after its parent and is an operand, not the chain."""
    nodes = [node]
    while _chained(nodes[-1].left, nodes[-1]):
        nodes.append(nodes[-1].left)  # type: ignore[arg-type]
    return nodes[::-1]


def _chained(e: ast.expr, parent: ast.BinOp) -> bool:
    if not (isinstance(e, ast.BinOp) and isinstance(e.op, _PRODUCTS)):
        return False
    if getattr(parent, "regrouped", False):  # made here: its chain is what was made with it
        return getattr(e, "regrouped", False)
    return (e.lineno, e.col_offset) == (parent.lineno, parent.col_offset)


def _regrouped(node: ast.BinOp) -> ast.BinOp:
    nodes = _chain(node)
    operands = [nodes[0].left, *(n.right for n in nodes)]
    cuts = [k for k, n in enumerate(nodes) if isinstance(n.op, ast.Mod)]
    if not cuts or len(cuts) == len(nodes):
        return node

    def spanning(op: ast.operator, left: ast.expr, right: ast.expr) -> ast.BinOp:
        e = ast.BinOp(left, op, right)
        e.lineno, e.col_offset = left.lineno, left.col_offset
        e.end_lineno, e.end_col_offset = right.end_lineno, right.end_col_offset
        e.regrouped = True  # type: ignore[attr-defined]
        return e

    def fold(lo: int, hi: int) -> ast.expr:  # operands lo..hi joined by their operators
        e = operands[lo]
        for k in range(lo, hi):
            e = spanning(nodes[k].op, e, operands[k + 1])
        return e

    bounds = [-1, *cuts, len(nodes)]
    segments = [fold(a + 1, b) for a, b in itertools.pairwise(bounds)]
    out = segments[0]
    for seg in segments[1:]:
        out = spanning(ast.Mod(), out, seg)
    assert isinstance(out, ast.BinOp)
    return out


def _square_ends(toks: list[_Tok], following: list[int], at: int) -> int | None:
    """Where a square right after a norm ends (``²``, ``^2``, ``^{2}``), if one is there."""
    def text(j: int) -> str:
        return toks[j].text if j < len(toks) else ""

    if at < len(toks) and toks[at].kind == "sup" and toks[at].text == "2":
        return at
    if at < len(toks) and toks[at].text == "**" and toks[at].call:
        j = following[at] if at < len(following) else len(toks)
        if text(j) == "2":
            return j
        if text(j) == "(":
            j2 = following[j]
            j3 = following[j2] if j2 < len(toks) else len(toks)
            if text(j2) == "2" and text(j3) == ")":
                return j3
    return None


def _stage_names(toks: list[_Tok]) -> set[str]:
    """Names bound by ``name = ...`` at the start of a statement."""
    names: set[str] = set()
    start = True
    sig = [t for t in toks if t.kind != "space"]
    for j, t in enumerate(sig):
        if start and t.kind == "name" and j + 1 < len(sig) and sig[j + 1].text == "=":
            names.add(t.text)
        start = t.kind == "newline" or (t.kind == "op" and t.text == ";")
    return names


def column_of(text: str, at: int) -> int:
    """The 1-based column of offset ``at`` in its line."""
    return at + 1 - (text.rfind("\n", 0, at) + 1)
