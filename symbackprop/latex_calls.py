"""LaTeX input's calls: what takes arguments or a script after it — functions (``\\sin x``,
``\\operatorname{ReLU}(z)``, ``\\sigma(z)``, ``e^{x}``, ``\\psi^{(n)}``), sums (``\\sum_i x_i^2``),
norms and absolute values (``\\|v\\|_2^2``, ``|x|``), 𝟏[a > b] and ⟨a, b⟩. A part of the reader
(``latex_input._Reader`` adds the statements, sums, products, powers and names, which these
read their arguments with)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from .errors import ParseError
from .latex_lexer import (
    ABS,
    ACCENTS,
    CLOSE_SIZES,
    COMMANDS,
    GREEK,
    INVERSES,
    NORMS,
    OPEN,
    OPERATORS,
    SIZES,
    SPACING,
    STYLE,
    Piece,
    Tok,
    join_pieces,
)
from .latex_sums import NOT_ENTRYWISE, Sums

# the functions along an axis that the derivations print with _{\text{col}} or _{\text{row}}
ALONG_AXIS = frozenset({"softmax", "log_softmax", "max", "min", "prod", "cumprod", "logsumexp"})

# functions of a matrix that take the whole product after them when written without brackets:
# tr AX is tr(AX), det AB is det(AB), as on paper
MATRIX_OPERATORS = frozenset({"trace", "det", "logdet"})

# names of the text that \operatorname does not call: sizes, not values, and structure
# whose arguments are no maths (ones(n, 1), reshape(X, (2, 3)), einsum('ij', …))
_NOT_CALLS = frozenset({"ones", "zeros", "eye", "reshape", "einsum", "pad", "tile", "repeat",
                        "concatenate", "stack", "vstack", "hstack", "flatten", "ravel"})

# the glyphs the reader takes for a function or a constant unless their name is declared (or a
# stage), where a declared name wins: \sigma(x), \psi(x), \ln\Gamma(x), e^{x}, \pi and the
# identity \mathbf{I}; so are the words of \operatorname{…} that name a function
# (operator_function). The printer writes these otherwise beside a variable of that name.
DECLARED_GLYPHS = {"sigma": "sigmoid", "psi": "digamma", "Gamma": "gammaln", "e": "exp",
                   "pi": "pi", "I": "eye"}


def operator_function(raw: str, functions: Iterable[str]) -> str | None:
    """The function ``\\operatorname{raw}`` (``\\mathrm{raw}``) names when ``raw`` is not
    declared: a word of ``OPERATORS`` as written or lower-cased (``ReLU``, ``tr``, ``artanh``),
    or a function of the text by its own name (``diag``, ``arctanh``: before a bracket)."""
    name = OPERATORS.get(raw) or OPERATORS.get(raw.lower())
    if name is None and raw in functions and raw not in _NOT_CALLS:
        name = raw
    return name if name is not None and name in functions else None


def shadowed(name: str, functions: Iterable[str]) -> str | None:
    """What a declared (or staged) ``name`` hides from the LaTeX reader: the function or
    constant that its glyph is read as while nothing of that name is declared, else None."""
    return DECLARED_GLYPHS.get(name) or operator_function(name, functions)


# ^{(n)} after a function: its n-th derivative (\tanh^{(1)}), as \psi^{(n)} is polygamma
NTH_ORDER = re.compile(r"\^\s*\{\s*\(\s*(\d+|[A-Za-z])\s*\)\s*\}")

# the first derivatives of common functions, as a refused f^{(1)} says to write them
_FIRST_DERIVATIVES = {"tanh": r"1 - \tanh^{2}(x)", "sin": r"\cos(x)", "cos": r"-\sin(x)",
                      "exp": r"\exp(x)", "log": r"\frac{1}{x}",
                      "sigmoid": r"\sigma(x) (1 - \sigma(x))",
                      "erf": r"\frac{2}{\sqrt{\pi}} e^{-x^{2}}"}

# the comparisons 𝟏[…] may hold, as the text writes them
_COMPARE = {">": ">", "<": "<", r"\geq": ">=", r"\ge": ">=", r"\leq": "<=", r"\le": "<="}


class Calls(Sums):
    """Functions and their arguments, sums, norms, 𝟏[…]; the expressions inside are read by
    the reader's own methods (declared here, defined by ``latex_input._Reader``)."""

    expr: Callable[[int], Piece]
    product: Callable[..., Piece]
    factors: int  # how many factors the product (or term) read last had
    postfix: Callable[[Piece, int], Piece]
    atom: Callable[[int], Piece]
    group_or_token: Callable[..., Piece]
    expr_span: Callable[[int, int], Piece]
    unexpected: Callable[[Tok], ParseError]
    declared_shape: Callable[[str], Any]
    bounds: dict[str, str]  # a sum's bound letter, n in \sum_{i=1}^{n}: the length it is
    stages: set[str]

    def indicator(self, at: int) -> Piece | None:
        r"""𝟏[a > b] (``\mathbf{1}\left[{a > b}\right]``, as the derivations print a
        comparison): the text's a > b, NumPy's number 0 or 1; ``\geq``, ``<``, ``\leq``
        too, and ``=`` (a tie, as the derivations print max's slope: the text has no ==,
        so (a >= b) + (a <= b) - 1). None (and nothing read) when no bracket follows 𝟏."""
        start = self.i
        if self.is_(r"\left"):
            self.take()
        if not self.is_("["):
            self.i = start
            return None
        self.take()
        stop, j = self.matching("[", "]")
        lo, hi = self.i, stop
        while lo < hi and self.toks[lo].text.isspace():
            lo += 1
        while hi > lo and self.toks[hi - 1].text.isspace():
            hi -= 1
        if hi - lo >= 2 and self.toks[lo].text == "{" and self.find_close(lo) == hi - 1:
            lo, hi = lo + 1, hi - 1
        depth, cut = 0, None
        for k in range(lo, hi):
            s = self.toks[k].text
            depth += s in ("{", "(", "[") or s in SIZES
            depth -= s in ("}", ")", "]") or s in CLOSE_SIZES
            if depth == 0 and (s in _COMPARE or s == "="):
                cut = k
                break
        if cut is None:
            raise self.error(at, "𝟏[…] holds one comparison: \\mathbf{1}\\left[a > b\\right]")
        left, right = self.expr_span(lo, cut), self.expr_span(cut + 1, hi)
        self.i = j + 1
        if self.toks[cut].text == "=":
            return join_pieces("((", left, " >= ", right, ") + (", left, " <= ", right,
                               ") - 1)", at=at)
        return join_pieces("(", left, f" {_COMPARE[self.toks[cut].text]} ", right, ")", at=at)

    def bars(self, end: int) -> Piece:
        """``\\|v\\|``, ``\\|v\\|_2^2``, ``\\left\\lVert v \\right\\rVert^{2}``, ``|x|``."""
        t = self.take()
        left = t.text == r"\left"
        if t.text in SIZES:
            t = self.take()
        norm = t.text in NORMS
        closers = NORMS if norm else ABS
        depth, j = 0, self.i
        while left and j < len(self.toks):  # \left\| … \right\|: the \right that matches
            s = self.toks[j].text           # (bars between are inner ones: \|A\|_F)
            if s == r"\right" and not depth:
                if j + 1 < len(self.toks) and self.toks[j + 1].text in closers:
                    j += 1
                    break
                raise self.error(self.toks[j].at, f"\\left{t.text} is closed by \\right"
                                 f"{self.toks[j + 1].text if j + 1 < len(self.toks) else ''}")
            depth += (s == r"\left") - (s == r"\right")
            j += 1
        while not left and j < len(self.toks):  # the closing bar at this level
            s = self.toks[j].text
            after = self.toks[j + 1].text if j + 1 < len(self.toks) else ""
            if (s == r"\left" and after in closers) or s in (r"\lvert", r"\lVert"):
                depth += 1  # a bar that opens: \left|, \lvert (|\left|a\right| - 2|)
                j += 2 if s == r"\left" else 1
                continue
            if depth and ((s == r"\right" and after in closers) or s in (r"\rvert", r"\rVert")):
                depth -= 1
                j += 2 if s == r"\right" else 1
                continue
            if s in ("{", "(", "[") or (s in SIZES and j + 1 < len(self.toks)
                                        and self.toks[j + 1].text in OPEN):
                depth += 1
            elif s in ("}", ")", "]") or (s in CLOSE_SIZES and j + 1 < len(self.toks)
                                          and self.toks[j + 1].text in ("}", ")", "]")):
                depth -= 1
            elif s in closers and depth == 0 and j > self.i:
                break
            j += 1
        if j >= len(self.toks):
            raise self.error(t.at, f"{t.text} is never closed")
        if norm and self.indices:
            raise self.index_sum_error(t.at, "a norm")
        stop = j - 1 if self.toks[j - 1].text in CLOSE_SIZES else j
        inner = self.expr(stop)
        if self.i < stop:  # (\|{x}_{1} - y\|: nothing inside the bars is left unread)
            raise self.unexpected(self.toks[self.i])
        self.i = j + 1
        if not norm:  # (|Σ| of a square matrix is its determinant: the parser reads it)
            return join_pieces("\0abs(", inner, ")", at=t.at)
        mark = ""  # ‖X‖₂ of a matrix is the spectral norm: the parser refuses it
        if self.is_("^"):  # \|v\|^2_2: TeX sets both scripts alike whichever comes first
            save = self.i
            self.take()
            self.script()
            if self.is_("_"):
                sub_at = self.i
                self.take()
                self.script()
                self.toks[save:self.i] = self.toks[sub_at:self.i] + self.toks[save:sub_at]
            self.i = save
        if self.is_("_"):
            self.take()
            sub, at = self.script()
            order = sub.replace(" ", "").replace(r"\,", "")
            if order == "1,1":  # ‖X‖₁,₁: the entry-wise 1-norm (L_{1,1}), Σ|X_ij|, as the
                return join_pieces("norm1(", inner, ")", at=t.at)  # derivations print norm1
            if order != "2" and (order in (r"\infty", r"\inf")
                                 or re.fullmatch(r"[1-9][0-9]?", order)):
                # ‖x‖₁, ‖x‖_∞, ‖x‖_p: NumPy's orders (of a matrix ‖X‖₁ and ‖X‖_∞ are the
                # largest column and row sums, as in the literature)
                ord_text = "inf" if order.startswith(r"\inf") else order
                return join_pieces("norm(", inner, f", {ord_text})", at=t.at)  # a power after
            mark = "\0" if order == "2" else ""
            if order not in ("2", "F", r"\mathrm{F}", r"\text{F}"):
                raise self.error(at, f"the norm _{{{sub}}} is not read (the 1-, 2- and "
                                 "∞-norms, a p-norm of a whole number p, the entry-wise "
                                 "1-norm _{1,1} and the Frobenius norm are)")
        if self.is_("^"):
            save = self.i
            self.take()
            raw, _ = self.script()
            if raw.replace(" ", "") == "2":
                return join_pieces(mark + "sqnorm(", inner, ")", at=t.at)
            self.i = save
        return join_pieces(mark + "norm2(", inner, ")", at=t.at)

    def function_name(self) -> str | None:
        """The primitive a control sequence (or ``\\operatorname{...}``) names, if any."""
        t = self.peek()
        assert t is not None
        s = t.text
        if s in (r"\ln", r"\log") and self.texts(1) == r"\Gamma" and not self.known("Gamma"):
            return "gammaln"  # \ln\Gamma(x): log |Γ(x)| (a declared Gamma: log of Γ·(x))
        k = self.spaced(self.spaced(1) + 1)  # (the token after \log\det)
        if s in (r"\ln", r"\log") and self.texts(self.spaced(1)) == r"\det" and (
                self.texts(k) in OPEN or (self.texts(k) in SIZES and self.texts(k + 1) in OPEN)):
            return "logdet"  # \log\det(X): one function of the bracket, as printed (logdet),
            # so that a power or factor after it is of its value, as after \log(x)
        if s in COMMANDS:
            return COMMANDS[s]
        if s == r"\prod" and re.match(r"\\prod\s*_\s*\{\s*\\text\s*\{\s*(?:row|col)\s*\}\s*\}",
                                     self.text[t.at:]):
            return "prod"  # \prod_{\text{row}}(X): the product along each row, as printed
        if s in (r"\sigma", r"\psi") and self.known(s[1:]):
            return None  # a declared sigma (psi): the name, times a bracket (name_atom says so)
        if s == r"\sigma":
            k = 1
            if self.texts(k) == "^":  # \sigma^{2}(x): the sigmoid's value squared (call)
                k += 1
                k = (self.find_close(self.i + k) - self.i + 1) if self.texts(k) == "{" else k + 1
            while self.texts(k) in SPACING:
                k += 1
            return "sigmoid" if self.bracket_next(k) else None
        if s == r"\psi":  # ψ(x), ψ^{(n)}(x): the digamma and polygamma functions
            k = 1
            if self.texts(k) == "^" and self.texts(k + 1) == "{":
                k = self.find_close(self.i + k + 1) - self.i + 1
            elif self.texts(k) == "^":  # \psi^2(x): refused below, as \psi^{2}(x) is
                k += 2
            while self.texts(k) in SPACING:
                k += 1
            return "digamma" if self.bracket_next(k) else None
        if s == r"\prod" and self.texts(1) not in ("_", "^") and self.opens_next(1):
            return "prod"  # \prod(X), \prod\left(X\right): its entries' product, as printed
        if s in (r"\operatorname", r"\mathrm", r"\text", r"\textrm", r"\mathit"):
            save = self.i
            self.take()
            raw, _ = self.raw_group()
            raw = raw.replace("\\_", "_")  # \operatorname{log\_softmax}: TeX's underscore
            self.i = save
            if s == r"\operatorname" and raw == "I" and "besseli" in self.functions and \
                    self.bessel_next():
                return "besseli"  # \operatorname{I}_{ν}(x): the modified Bessel function
            if s == r"\operatorname" and raw == "vec" and "flatten" in self.functions and \
                    self.opens_after_group():
                return "vec"  # vec(X): X's columns stacked, as the derivations print flatten
            if self.known(raw):
                return None  # \mathrm{tr} with tr declared: the name (a declared name wins)
            name = operator_function(raw, self.functions)
            if name == raw and raw not in OPERATORS and raw.lower() not in OPERATORS and not (
                    s == r"\operatorname" and self.opens_after_group()):
                name = None  # \operatorname{diag}(d), \operatorname{solve}(A, b): the text's
                # functions by their own names, before a bracket
            if name is not None:
                return name
        word, n = self.word()
        if word in OPERATORS and OPERATORS[word] in self.functions and not self.known(word):
            nxt = self.peek(n)
            if nxt is not None and (nxt.text in OPEN or self.sized_open(n)):
                return OPERATORS[word]  # sin(x) written without a backslash
        if s == "e" and not self.known("e") and self.peek(1) is not None \
                and self.peek(1).text == "^":  # type: ignore[union-attr]
            return "exp"
        return None

    def sigma_power(self, t: Tok, power: Piece | None) -> None:
        """``\\sigma^{2}(x)``: σ(x)², the power of the sigmoid's value (as ``\\tanh^{2}``),
        with a reading (σ is also a name); ``\\sigma^{-1}(x)``, the inverse function, and
        any power but a whole number are refused with what to write."""
        written = "".join(p for p, _ in power or []).replace(" ", "")
        bare = written.strip("()")
        seen = self.text[t.at:self.end_of_last()].strip()
        if bare in ("-1", "(-1"):
            raise self.error(t.at, f"'{seen}(…)' is not read: for the inverse of the sigmoid "
                             "write \\operatorname{logit}(…); for 1/σ(…) write \\sigma(…)^{-1}")
        if not re.fullmatch(r"[1-9]\d{0,2}", bare):
            raise self.error(t.at, f"'{seen}(…)': a power of \\sigma before its bracket is read "
                             "for a whole number only (\\sigma^{2}(x) is σ(x)²); write "
                             "\\sigma(…)^{…} for the power of its value")
        self.notes.append(f"'{seen}(…)' read as σ(…)^{{{bare}}}, the power of the sigmoid's "
                          "value, entry by entry, as \\tanh^{2}(x) is (\\sigma a name: "
                          "declare sigma)")

    def nth_derivative(self, t: Tok, fn: str, end: int) -> ParseError:
        r"""``\tanh^{(1)}(x)``, ``\log^{(n)}``: the n-th derivative of the function (as
        ``\psi^{(n)}`` is polygamma), refused as ``\sigma'`` is, with what to write."""
        seen = self.text[t.at:end].strip()
        first = _FIRST_DERIVATIVES.get(fn)
        return self.error(t.at, f"'{seen}(…)' is not read: f^{{(n)}} is the n-th derivative "
                          "of f, and derivatives are not read: write it out"
                          + (f" (the first of {fn} at x is {first})" if first else "")
                          + f", or {seen.split('^')[0]}(…)^{{n}} for the power of its value")

    def call(self, fn: str, t: Tok, end: int | None = None) -> Piece:
        word, n = self.word()
        if n > 1 and word in OPERATORS:
            self.i += n
        elif t.text in (r"\operatorname", r"\mathrm", r"\text", r"\textrm", r"\mathit"):
            self.take()
            self.raw_group()
        elif fn == "exp" and t.text == "e":
            self.take()
            self.expect("^")
            caret = self.toks[self.i - 1].at  # a power as mathematics reads it: e^X of a
            exponent = self.group_or_token()  # square matrix is refused (written_ops.paper_power)
            if self.is_("^"):  # e^{x}^{2}: TeX's "Double superscript"
                second = self.take()
                if self.powers_next():
                    raise self.double_superscript(second)
                self.i -= 1
            return join_pieces("exp(1)", ("\0**", caret), "(", exponent, ")", at=t.at)
        elif fn == "gammaln" or (fn == "logdet" and t.text in (r"\ln", r"\log")):
            self.take()
            self.skip_spacing()
            self.take()  # \ln \Gamma, \log\det
        else:
            self.take()
        power: Piece | None = None
        order: str | None = None
        if fn == "digamma" and self.is_("^"):  # ψ^{(n)}: the order, a whole number
            self.take()
            start = self.toks[self.i].at
            order = "".join(p for p, _ in self.group_or_token()).strip("() ")
            written = self.text[start:self.end_of_last()].replace(" ", "")
            if not written.strip("{}").startswith("("):  # \psi^{2}(x): a power, or order 2?
                raise self.error(t.at, f"'\\psi^{written}' is not read: write "
                                 f"\\psi^{{({order})}}(…) for the polygamma function of "
                                 f"order {order}, \\operatorname{{digamma}}(…)^{{{order}}} "
                                 "for a power of the digamma function")
            if not order.isdigit():
                raise self.error(t.at, f"the order of ψ is a whole number, not {order!r}")
            fn = "polygamma"
        if fn == "besseli":  # \operatorname{I}_{ν}: the order, a whole number
            self.expect("_")
            raw, at = self.script()
            order = raw.replace(" ", "").strip("{}")
            if not order.isdigit():
                raise self.error(at, "the order of the modified Bessel function "
                                 f"\\operatorname{{I}}_{{ν}} is a whole number, not {order!r}")
        axis = ""
        if self.is_("_"):  # softmax_{\text{col}}, \max_{\text{row}}: along each column (axis
            self.take()  # 0) or each row (axis 1), as the derivations print them
            sub, at = self.script()
            base = sub.replace(" ", "").strip("{}")
            along = "row" if "row" in sub else "col" if "col" in sub else None
            if fn == "log" and base in ("2", "10"):  # \log_2 x, \log_{10} x, as the text's
                fn = f"log{base}"                    # log_2(x): log2, log10
            elif fn not in ALONG_AXIS or along is None:
                raise self.error(at, f"a subscript on {fn} is not read" + (
                    " (a logarithm's base is 2 or 10: \\log_2, \\log_{10})"
                    if fn == "log" else ""))
            else:  # written along the columns: no reading says the columns were taken
                axis = ", axis=1" if along == "row" else ", axis=0"
        if self.is_("^"):  # \sin^{2}(x): the power of the value
            hat = self.take()
            nth = NTH_ORDER.match(self.text, hat.at)
            if nth:  # \tanh^{(1)}: the derivative
                raise self.nth_derivative(t, fn, nth.end())
            power = self.group_or_token()
            if fn in INVERSES and "".join(p for p, _ in power).strip("() ") == "-1":
                fn, power = INVERSES[fn], None  # \operatorname{erf}^{-1}, \sin^{-1}: inverses
            elif "".join(p for p, _ in power).replace(" ", "").strip("()") == "-1" and \
                    t.text != r"\sigma":  # \exp^{-1}: the inverse (log), as \sin^{-1} is
                # arcsin, or 1/exp? refused, as \sigma^{-1} is
                seen = self.text[t.at:self.end_of_last()].strip()
                raise self.error(t.at, f"'{seen}(…)' is not read: ^{{-1}} on a function is "
                                 "its inverse (\\sin^{-1} is arcsin) or the reciprocal; "
                                 f"for 1/{fn}(…) write {seen.split('^')[0]}(…)^{{-1}}, for "
                                 "the inverse "
                                 "function write it by name")
            if t.text == r"\sigma":
                self.sigma_power(t, power)
        self.skip_spacing()
        end = len(self.toks) if end is None else end
        nxt = self.peek()
        if nxt is not None and nxt.text == "+" and t.text != "e":  # \log + x: no operand
            seen = self.text[t.at:nxt.at].strip()
            raise self.error(nxt.at, f"'{seen} +' is not read: {fn} written without brackets "
                             f"has no operand before the +: write {seen}(x) + …, or drop the +")
        if fn == "log" and t.text in (r"\ln", r"\log") and self.texts(0) == r"\Gamma":
            self.notes.append(f"'{t.text}\\Gamma(…)' read as the log of the declared Gamma "
                              "times (…) (undeclared, \\ln\\Gamma(x) is the log-gamma function "
                              "gammaln)")
        if nxt is not None and (nxt.text in OPEN or (nxt.text in SIZES and
                                                     self.texts(1) in OPEN)):
            args = self.arguments()  # (not \left|: \log\left|x\right| is log of |x|; not
            # \left\langle, the inner product: the one argument, as \langle is)
        elif fn in MATRIX_OPERATORS:
            # \operatorname{tr} A X, \det A B: of the whole product after it, as on paper,
            # up to the next + or −, a division, ⊙ or another function (\det A \det B)
            start = self.i
            args = [self.product(end, argument=True)]
            if self.factors > 1:
                seen = self.seen(start)
                whole = self.text[t.at:self.end_of_last()].strip()
                self.notes.append(f"'{whole}' read as {fn}({seen}), of the product that "
                                  "follows (bracket the argument to end it sooner)")
        else:  # \log x: the next factor; \sin 2x, \cos 2\pi t, \sin \omega t, \log x y:
            # the names side by side after it, as on paper (up to \cdot, /, + or a function)
            self.skip_spacing()
            start = self.i
            arg = self.product(end, argument=True, side_by_side=True)
            if self.factors > 1:
                seen = self.seen(start)
                self.notes.append(f"'{self.text[t.at:self.end_of_last()].strip()}' read as "
                                  f"{fn}({seen}), of the product (bracket the argument to "
                                  "end it sooner)")
            args = [arg]
        if self.indices and (fn in NOT_ENTRYWISE or (fn in ("max", "min") and
                                                     len(args) == 1)):
            raise self.index_sum_error(t.at, f"{fn}, which is not entry by entry,")
        if fn == "vec":  # the columns stacked: NumPy's flatten (row by row) of the transpose
            if len(args) != 1:
                raise self.error(t.at, "vec takes one matrix: \\operatorname{vec}(\\mathbf{X})")
            out: Piece = join_pieces("flatten((", args[0], ").T)", at=t.at)
        else:
            out = [(f"{fn}(" + (f"{order}, " if order is not None else ""), t.at)]
            for k, a in enumerate(args):
                out += ([(", ", t.at)] if k else []) + a
            out.append((f"{axis})", t.at))
        if power is not None:  # \tanh^{2}(X): its value's power, element-wise as the value
            # of an element-wise function is (of a square matrix too: no matrix power)
            out = join_pieces("(", out, ")", ("**", t.at), "(", power, ")", at=t.at)
        return out

    def starts_name(self) -> bool:
        r"""Whether a name (a letter, a Greek letter, ``\mathbf{x}``, ``\hat{y}``) comes next,
        and no function."""
        t = self.peek()
        if t is None or not (re.fullmatch(r"[A-Za-z]", t.text[0]) or t.text in GREEK
                             or t.text in STYLE or t.text in ACCENTS):
            return False
        return self.function_name() is None

    def arguments(self) -> list[Piece]:
        t = self.take()
        opener = self.take().text if t.text in SIZES else t.text
        close = OPEN.get(opener) or {r"\langle": r"\rangle"}.get(opener)
        if close is None:
            raise self.error(t.at, f"{opener!r} does not open the arguments")
        stop, j = self.matching(opener, close)
        args, depth, start = [], 0, self.i
        for k in range(self.i, stop):
            s = self.toks[k].text
            depth += s in ("{", "(", "[", r"\left", r"\langle")  # ⟨a, b⟩ inside: one
            depth -= s in ("}", ")", "]", r"\right", r"\rangle")  # argument
            if s == "," and depth == 0:
                args.append(self.expr_span(start, k))
                start = k + 1
        args.append(self.expr_span(start, stop))
        self.i = j + 1
        return args

    def opens_after_group(self) -> bool:
        """Whether a bracket follows the braced group after the token here
        (``\\operatorname{diag}(``)."""
        save = self.i
        try:
            self.take()
            self.raw_group()
            return self.opens_next()
        finally:
            self.i = save

    def spaced(self, k: int) -> int:
        """How many tokens on the first one at or after ``k`` tokens on that is no spacing."""
        while self.texts(k) in SPACING:
            k += 1
        return k

    def opens_next(self, k: int = 0) -> bool:
        """Whether a bracket comes next (spacing aside), or ``k`` tokens on: a call, if a
        function came before."""
        while self.texts(k) in SPACING:
            k += 1
        return self.texts(k) in OPEN or self.sized_open(k)

    def bracket_next(self, k: int) -> bool:
        r"""Whether a bracket opens ``k`` tokens on, sized or not (``(``, ``\left(``,
        ``\big[``, ``\left\langle``): what makes ``\sigma`` and ``\psi`` a call. Bars are no
        call: ``\sigma \left|x\right|`` and ``\sigma \left\lVert v \right\rVert`` are the name
        times them, as ``\sigma |x|`` is (and as the name times a norm prints)."""
        if self.texts(k) in SIZES:
            return self.texts(k + 1) in OPEN or self.texts(k + 1) == r"\langle"
        return self.texts(k) in OPEN

    def sized_open(self, k: int = 0) -> bool:
        r"""Whether a size command ``k`` tokens on opens a bracket: ``\left`` always, ``\big``
        (``\Big``, ``\bigg``, ``\Bigg``: either side) before ``(``, ``[``, ``\{``,
        ``\langle`` or a bar; ``\big)`` closes one."""
        s = self.texts(k)
        if s not in SIZES:
            return False
        nxt = self.texts(k + 1)
        return s not in CLOSE_SIZES or nxt in OPEN or nxt == r"\langle" or nxt in NORMS \
            or nxt in ABS

    def bessel_next(self) -> bool:
        """Whether ``\\operatorname{I}`` here has a subscript and then a bracket: the
        modified Bessel function I_ν(x) (its upright I, as ISO 80000-2 and the derivations
        print it, is no identity and no name)."""
        save = self.i
        try:
            self.take()
            self.raw_group()
            if not self.is_("_"):
                return False
            self.take()
            self.script()
            if self.is_("^"):  # \operatorname{I}_{1}^{2}(x): the power of its value
                self.take()
                self.script()
            return self.opens_next()
        finally:
            self.i = save
