r"""Derivative notation in LaTeX input, refused: ``\frac{d}{dx}``,
``\frac{\mathrm{d}y}{\mathrm{d}x}``, ``dy/dx`` (a reader that took them as fractions would
read d/dx x² as x), and the fractions of Δ, δ and D before one name (a finite difference, a
variation, a material derivative), unless the letter is a declared variable. A part of the
reader (``latex_input._Reader``)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .errors import ParseError
from .latex_lexer import SPACING, STYLE, Cursor, Tok
from .paper_lexer import column_of

# a derivative's fraction, \frac{d}{dx}, \frac{\mathrm{d}y}{\mathrm{d}x}: numerator and
# denominator begin with d, plain or upright (groups 1 and 2)
_D = r"(d|\\(?:mathrm|operatorname|text|textrm|mathit)\s*\{\s*d\s*\})"
_DERIVATIVE = re.compile(r"\\[tdc]?frac\s*\{\s*" + _D + r"(?![A-Za-z]{2})[^{}]*"
                         r"(?:\{[^{}]*\}[^{}]*)*\}\s*\{\s*" + _D + r"\s*[A-Za-z\\]")
# the same with a slash, dy/dx, \mathrm{d}y/\mathrm{d}x, d\mathbf{y}/d\mathbf{x}, d/dx (group 1:
# the first d, plain or in a font)
_SLASH_D = r"(d|\{\s*d\s*\}|\\[a-z]+\s*\{\s*d\s*\})"
_SLASH_DERIVATIVE = re.compile(r"(?<![A-Za-z\\])" + _SLASH_D + r"\s*(?:\{?\s*(?:\\[A-Za-z]+\s*)?"
                               r"\{?\s*[A-Za-z]\s*\}*\s*)?/\s*" + _SLASH_D
                               + r"\s*\{?\s*(?:\\[A-Za-z]+\s*)?\{?\s*[A-Za-z(]")
# a denominator of Δ, δ or D and one name, {\Delta x}, {\delta \mathbf{w}}, {\mathrm{D}t}
_ONE_NAME = re.compile(r"\{\s*(?:\\[A-Za-z]+\s*\{\s*D\s*\}|\\Delta|\\delta|D)\s*(?:[A-Za-z]|"
                       r"\\[A-Za-z]+|\\[A-Za-z]+\s*\{\s*[A-Za-z]+\s*\}|\{[^{}]*\})"
                       r"(?:\s*_\s*(?:\w|\{[^{}]*\}))?\s*\}")


def refuse_derivatives(text: str, known: Callable[[str], bool]) -> None:
    r"""A derivative anywhere in ``text`` (``\frac{d}{dx}``, ``dy/dx``, in any font) is a
    ParseError, unless a plain d is a declared variable (``known``)."""
    derivative = _DERIVATIVE.search(text) or _SLASH_DERIVATIVE.search(text)
    if derivative is not None and (derivative.group(1) != "d" or derivative.group(2) != "d"
                                   or not known("d")):  # (plain d: unless d is a variable)
        raise ParseError("derivatives (\\frac{d}{dx}) are not read: paste the forward "
                         "stages only, as d.latex(sections=\"forward\") prints them",
                         column=column_of(text, derivative.start()), text=text)



class Derivatives(Cursor):
    r"""The reader's check of each ``\frac`` it reads for a derivative's marks."""

    spaced: Callable[[int], int]

    def derivative_fraction(self, t: Tok) -> None:
        r"""``\frac`` (read last) whose numerator and denominator both begin with d, in any
        font or braces (``\frac{{d}y}{{d}x}``, ``\frac{\mathbf{d}y}{\mathbf{d}x}``,
        ``\frac{d}{d{x}}``), a derivative: refused, unless d is declared (an upright d
        always); with Δ, δ or D (a finite difference, a variation, a material derivative):
        refused unless that name is declared."""
        marks = [self.difference_mark(self.i)]
        if marks[0] is None:
            return
        close = self.find_close(self.spaced(0) + self.i) if self.texts(self.spaced(0)) == "{" \
            else self.i + self.spaced(0)
        marks.append(self.difference_mark(close + 1, denominator=True))
        if marks[1] is None or marks[0][0] != marks[1][0]:
            return
        name, upright = marks[0][0], marks[0][1] or marks[1][1]
        if name == "d" and (upright or not self.known("d")):
            raise self.error(t.at, "derivatives (\\frac{d}{dx}) are not read: paste the "
                             "forward stages only, as d.latex(sections=\"forward\") prints them")
        den = close + 1 + self.spaced(close + 1 - self.i) - (close + 1 - self.i)
        if self.toks[den].text != "{":
            return
        stop = self.toks[self.find_close(den)].at + 1
        if name != "d" and not self.known(name) and _ONE_NAME.fullmatch(
                self.text[self.toks[den].at:stop]):  # (not {\delta y + 1}: a sum)
            raise self.error(t.at, f"{self.text[t.at:stop]} is not read: a finite "
                             "difference, a variation or a material derivative; declare "
                             f"{name} in shapes if it is a variable")

    def difference_mark(self, k: int, denominator: bool = False) -> tuple[str, bool] | None:
        """The d (Δ, δ, D) that the argument of ``\\frac`` at token ``k`` begins with, through
        braces and a font, and whether it is upright; None if it begins with none, or with a
        name (d_1), or (in the ``denominator``) with d alone (a/d)."""
        while self.texts(k - self.i) in SPACING or self.texts(k - self.i) == "{":
            k += 1
        upright = False
        if self.texts(k - self.i) in STYLE and self.texts(k - self.i + 1) == "{":
            upright = self.texts(k - self.i) in (r"\mathrm", r"\operatorname", r"\text",
                                                  r"\textrm")
            k += 2
        name = {"d": "d", "D": "D", r"\Delta": "Delta", r"\delta": "delta"}.get(
            self.texts(k - self.i))
        k += 1
        while self.texts(k - self.i) in SPACING or self.texts(k - self.i) == "}":
            k += 1
        nxt = self.texts(k - self.i)
        if name is None or nxt in ("_", "'") or (denominator and not (
                re.fullmatch(r"[A-Za-z({]", nxt) or nxt[:1] == "\\")):
            return None
        return name, upright
