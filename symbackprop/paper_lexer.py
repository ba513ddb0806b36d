"""Paper notation's characters and tokens: Greek letters, sub- and superscripts, accents,
fractions, the product, element-wise and ones characters, and the tokenizer (``Lexer``) that
``paper.read_text`` reads into the text language. Each token keeps its offset in the
source, so an error points at what the user typed.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
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


def layered(base: str, sub: str, index: str) -> str:
    """A name with its subscripts and its layer index (``W⁽¹⁾``, LaTeX's ``W^{(1)}``): the
    subscript run together (``W₁`` is ``W1``, ``Wₕ`` is ``Wh``), and beside an index joined
    to it by ``_``, whichever is written first (``a⁽²⁾₃`` and ``a₃⁽²⁾`` are ``a2_3``,
    ``x⁽¹⁾ᵢ`` is ``x1_i``), never a name a subscript alone makes (``a₂₃``, ``xᵢ₁``)."""
    if index and sub:
        return f"{base}{index}_{sub}"
    for c in sub:
        base = subscripted(base, c)
    return base + index


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
class Tok:
    kind: str  # name, number, op, space, newline, sup (an exponent), norm, abs, ones (𝟏)
    text: str
    at: int  # offset in the source
    end: int = -1
    call: bool = False  # a name called as a function
    two: bool = False  # a closing ‖ with the subscript 2 (‖X‖₂: of a matrix, spectral)
    root: bool = False  # the ) that closes √x written without brackets


class Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[Tok] = []
        self.close_after = 0  # √x, √√x: close as many calls after the next name or number
        self.braces: list[int] = []  # open {...} of an exponent

    def error(self, at: int, message: str) -> ParseError:
        return ParseError(message, column=column_of(self.text, at), text=self.text)

    def run(self) -> list[Tok]:
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
                number = m.group()
                if number.endswith(".") and re.match(r"T(?![A-Za-z0-9_])", text[m.end():]):
                    number = number[:-1]  # X^-1.T, 2.T: the number, then .T (not 1. T)
                self.add("number", number, i)
                i += len(number)
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
                self.add("name", "sqrt", i, call=True)
                if not self.next_is_paren(i + 1):  # √x: the next name or number only
                    self.add("op", "(", i)
                    self.close_after += 1  # √√x: √(√x)
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
                if op == "." and text.startswith(".T", i):
                    self.transposing(i)  # √x.T
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
        if ch in "′″":  # σ′(z): a derivative, which the readers do not take
            return (f"a prime ({ch}) is not read: name the variable, or write the derivative "
                    "out (σ′(z) is σ(z) ⊙ (1 − σ(z)))")
        return (f"character {describe(ch)} is not allowed: names are ASCII letters, digits "
                "and _, or Greek letters; operators are ASCII or · × ⊙ ∘ − ÷ ≥ ≤ ᵀ √ ‖ "
                "(look-alike letters such as fullwidth, Cyrillic or Greek capitals that look "
                "Latin are refused)")

    def add(self, kind: str, text: str, at: int, call: bool = False) -> Tok:
        t = Tok(kind, text, at, call=call)
        self.toks.append(t)
        if self.close_after and kind in ("name", "number") and not t.call:
            self.toks.extend(Tok("op", ")", at, root=True) for _ in range(self.close_after))
            self.close_after = 0
        return t

    def transposing(self, i: int) -> None:
        """A transpose comes at ``i``: refused right after √x written without brackets,
        where it would transpose the root of x alone (√xᵀAx is no √ of xᵀAx)."""
        if self.toks and self.toks[-1].root:
            start = max((t.at for t in self.toks if t.text == "sqrt" and t.at < i),
                        default=i)
            width = 2 if self.text.startswith((".T", "^T", "^⊤", "^ᵀ", "⁻ᵀ"), i) else 1
            raise self.error(start, f"'{self.text[start:i + width]}': √ without brackets takes "
                             "the next name only, so the transpose would be of its root; "
                             "write √(…) around what it takes (√(xᵀAx)), or (√x)ᵀ")

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
        sub, index = "", ""
        while i < len(text):  # subscripts and an index in superscript parentheses
            s = _sup_sub(text[i])
            if s is not None and s[0] == "sub" and (s[1].isalnum() or s[1] == "_"):
                sub += s[1]
                i += 1
                continue
            if text[i] == "⁽" and not index:
                j, digits = i + 1, ""
                while j < len(text) and (_sup_sub(text[j]) or ("", ""))[1].isdigit() \
                        and text[j] != "⁾":
                    digits += _sup_sub(text[j])[1]  # type: ignore[index]
                    j += 1
                if digits and j < len(text) and text[j] == "⁾":
                    index = digits
                    i = j + 1
                    continue
            break
        word = layered(word, sub, index)
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
        for form in ("^{-T}", "^{-⊤}", "^{-ᵀ}", "^-T", "^-⊤", "^-ᵀ"):  # X^{-T}: (X⁻¹)ᵀ
            if text.startswith(form, i) and not (form == "^-T" and text[i + 3:i + 4].isalnum()):
                self.transposing(i)
                return self.inverse_transpose(i, i + len(form))
        for form in ("^{T}", "^{⊤}", "^T", "^⊤", "^ᵀ"):
            if text.startswith(form, i):
                j = i + len(form)
                if form in ("^T",) and j < len(text) and (
                        (text[j].isascii() and text[j].isalnum()) or text[j] == "_"):
                    break  # ^Tx: a name that starts with T (paper_powers reads x^Tx); ^TΣ
                    # is the transpose
                self.transposing(i)
                self.add("op", ".", i)
                self.add("name", "T", i + 1)
                return j
        self.add("op", "**", i).call = True  # a power as mathematics reads it
        return i + 1

    def inverse_transpose(self, i: int, end: int) -> int:
        """``X⁻ᵀ``, ``X^{-T}``: the transpose of the inverse, read as the inverse of the
        transpose, (Xᵀ)⁻¹ (X**(-1).T would transpose the exponent)."""
        self.add("op", ".", i)
        self.add("name", "T", i)
        t = self.add("sup", "-1", i)
        t.end = end
        return end

    def superscript(self, i: int) -> int:
        """``x²``, ``x⁻¹``: a power; ``xᵀ``: a transpose."""
        text = self.text
        if text[i] == "ᵀ":
            self.transposing(i)
            self.add("op", ".", i)
            self.add("name", "T", i)
            return i + 1
        if text.startswith("⁻ᵀ", i):  # X⁻ᵀ, the Cookbook's inverse transpose
            self.transposing(i)
            return self.inverse_transpose(i, i + 2)
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


KEYWORDS = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)


def ends_operand(t: Tok | None) -> bool:
    return t is not None and (t.kind in ("number", "sup", "ones") or (
        t.kind == "name" and not t.call and t.text not in KEYWORDS) or (
        t.kind == "op" and t.text in (")", "]")))  # ]: an index, ‖A[2:3, 0:3]‖²


def starts_operand(t: Tok) -> bool:
    return (t.kind in ("number", "ones") or (t.kind == "name" and t.text not in KEYWORDS)
            or (t.kind == "op" and t.text == "("))



def column_of(text: str, at: int) -> int:
    """The 1-based column of offset ``at`` in its line."""
    return at + 1 - (text.rfind("\n", 0, at) + 1)
