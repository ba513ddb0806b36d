"""The LaTeX reader's tokens and the cursor over them, with the names it reads: ``W_2``,
``W_{2}``, ``\\mathbf{W}^{(2)}``, ``W^{[2]}``, ``\\hat{y}`` and Greek letters (``latex_input.py``
reads the maths on top of it)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .errors import LimitError, ParseError
from .limits import Limits
from .notation import GREEK as _GREEK_LATEX
from .paper import split_name
from .paper_lexer import column_of, describe, layered

GREEK = {latex: name for name, latex in _GREEK_LATEX.items() if latex.startswith("\\")}
GREEK.update({r"\varepsilon": "epsilon", r"\vartheta": "theta", r"\varphi": "phi",
              r"\varrho": "rho",
              r"\pi": "pi",  # the number π, as pi in text (unless the name is bound)
              r"\infty": "inf",
              r"\ell": "ell"})  # ∞, as inf in text: a branch of where only
# control sequences that name a function, and \operatorname{...} names (case as written or
# lower-cased) that do
COMMANDS = {r"\exp": "exp", r"\log": "log", r"\ln": "log", r"\sin": "sin", r"\cos": "cos",
             r"\tan": "tan", r"\tanh": "tanh", r"\max": "max", r"\min": "min", r"\det": "det",
             r"\arcsin": "arcsin", r"\arccos": "arccos", r"\arctan": "arctan",
             r"\sinh": "sinh", r"\cosh": "cosh", r"\sec": "sec", r"\csc": "csc",
             r"\cot": "cot", r"\coth": "coth"}
OPERATORS = {"relu": "relu", "sigmoid": "sigmoid", "softplus": "softplus", "sum": "sum",
              "softmax": "softmax", "tr": "trace", "trace": "trace", "mse": "mse",
              "ce": "cross_entropy", "sqnorm": "sqnorm", "tanh": "tanh", "exp": "exp",
              "log": "log", "abs": "abs", "sqrt": "sqrt", "max": "max", "min": "min",
              "sin": "sin", "cos": "cos", "tan": "tan", "det": "det", "erf": "erf",
              "sign": "sign", "sgn": "sign", "mean": "mean", "var": "var",
              "logsumexp": "logsumexp", "logdet": "logdet", "inv": "inv", "arcsin": "arcsin",
              "arccos": "arccos", "arctan": "arctan", "sinh": "sinh", "cosh": "cosh",
              "arsinh": "arcsinh", "arcosh": "arccosh", "artanh": "arctanh", "erfc": "erfc",
              "erfinv": "erfinv", "i0e": "i0e", "i1e": "i1e", "huber": "huber",
              "sec": "sec", "csc": "csc", "cot": "cot", "coth": "coth", "sech": "sech",
              "csch": "csch", "prod": "prod", "cumprod": "cumprod", "where": "where",
              "log1p": "log1p", "expm1": "expm1", "atan2": "arctan2", "arctan2": "arctan2"}
# f^{-1}(x) is the inverse function where the vocabulary has it (erf⁻¹, sin⁻¹ = arcsin)
INVERSES = {"erf": "erfinv", "sin": "arcsin", "cos": "arccos", "tan": "arctan",
            "sinh": "arcsinh", "cosh": "arccosh", "tanh": "arctanh"}
SPACING = {r"\,", r"\;", r"\:", r"\!", r"\ ", r"\quad", r"\qquad", "~", r"\displaystyle",
            r"\textstyle", r"\left.", r"\right."}
ENVIRONMENTS = {"aligned", "align", "align*", "equation", "equation*", "gathered", "gather",
                 "gather*", "split", "multline", "multline*"}
STYLE = {r"\mathbf", r"\boldsymbol", r"\bm", r"\mathit", r"\mathrm", r"\mathsf",
          r"\text", r"\textrm", r"\operatorname", r"\mathbb", r"\mathcal"}
ACCENTS = {r"\hat": "hat", r"\bar": "bar", r"\tilde": "tilde", r"\check": "check",
            r"\vec": "", r"\overline": "bar", r"\widehat": "hat", r"\widetilde": "tilde"}
OPEN = {"(": ")", "[": "]", r"\{": r"\}", r"\lbrack": r"\rbrack", r"\lparen": r"\rparen"}
SIZES = (r"\left", r"\bigl", r"\Bigl", r"\biggl", r"\Biggl", r"\big", r"\Big", r"\bigg",
          r"\Bigg")
CLOSE_SIZES = (r"\right", r"\bigr", r"\Bigr", r"\biggr", r"\Biggr", r"\big", r"\Big",
                r"\bigg", r"\Bigg")
NORMS = (r"\|", r"\lVert", r"\rVert", r"\Vert")
ABS = ("|", r"\lvert", r"\rvert", r"\vert")
PRODUCT = {r"\cdot": "*", r"\times": "*", "*": "*", r"\odot": "%", r"\circ": "%",
            "/": "/", r"\oslash": "oslash", r"\div": "/"}
TOKEN = re.compile(r"\\(?:[A-Za-z]+\*?|.)|[A-Za-z]|\d+(?:\.\d+)?|\.\d+|\s+|.", re.S)
_E_NUMBER = re.compile(r"(\d+(?:\.\d+)?|\.\d+)([eE])([-+]?\d+)")
TRANSPOSE = {r"\top", "T", r"\intercal", r"\mathsf{T}", r"\mathrm{T}", r"\text{T}",
              r"\mathit{T}"}


# comparisons, read inside the indicator 𝟏[x > 0] only
_COMPARISONS = frozenset({"<", ">", r"\geq", r"\leq", r"\ge", r"\le", r"\gt", r"\lt"})


@dataclass(slots=True)
class Tok:
    text: str
    at: int


def bare_arguments(toks: list[Tok]) -> tuple[str, ...]:
    """The tokens of a bracket's arguments without spacing and sizes (``\\left``, ``\\,``):
    ``f(x, y)`` and ``f\\left(x,\\, y\\right)`` have the same."""
    return tuple(t.text for t in toks if t.text not in SPACING and t.text not in SIZES
                 and t.text not in CLOSE_SIZES)


Piece = list[tuple[str, int]]  # code fragments with the source offset each came from


def join_pieces(*parts: Piece | str | tuple[str, int], at: int) -> Piece:
    out: Piece = []
    for p in parts:
        if isinstance(p, str):
            out.append((p, at))
        elif isinstance(p, tuple):
            out.append(p)
        else:
            out.extend(p)
    return out


class Cursor:
    """The tokens of one LaTeX text, a position in them, and what the reader learned."""

    def __init__(self, text: str, known: Callable[[str], bool], functions: Iterable[str],
                 limits: Limits) -> None:
        self.text, self.limits = text, limits
        self.functions = frozenset(functions)
        self.known_outside = known
        self.stages: set[str] = set()
        # the stages defined as functions, f(x, y) = …: their arguments' tokens (bare_arguments)
        self.function_stages: dict[str, tuple[str, ...]] = {}
        self.toks = [Tok(m.group(), m.start()) for m in TOKEN.finditer(text)
                     if not m.group().isspace()]
        self.i = 0
        self.depth = 0
        self.notes: list[str] = []
        # each 𝟏 (\mathbf{1}) and I (\mathbf{I}) read without its size, and where: sized
        # once the whole text is read, by what it multiplies or is added to (latex_input._Sizes)
        self.unsized: list[tuple[str, int]] = []
        self.builder: Any = None  # the parser's Builder: the shapes of the names, if known
        self.trial: Any = None  # a parser of the code into a builder of its own (parse.py)
        self.indices: list[str] = []  # the indices of the sums being read (\sum_i)
        self.indexed = 0  # names read with one of those indices as subscript (x_i)
        self.last_scripts = ("", "")  # the subscript and index the last name was read with
        self.last_entry = False  # whether the last name had the index of a sum (x_i in Σᵢ)
        self.bold = False  # whether the last name was set bold (\mathbf{x}: a vector)
        self.toks = self.numbers(self.toks)

    def numbers(self, toks: list[Tok]) -> list[Tok]:
        """A number run into e and digits, ``1e-3``, ``2.5E4``: one number, as the text reads
        it (TeX would set 1·e − 3), with a reading; refused when e is a declared name, where
        it could be either. Not after ^ or _ (``x^1e3`` is x¹·e3, as TeX reads it) nor
        within a name (``x1e3``)."""
        out: list[Tok] = []
        j = 0
        while j < len(toks):
            t = toks[j]
            prev = out[-1] if out else None
            m = _E_NUMBER.match(self.text, t.at)
            if m is None or m.group(1) != t.text or (prev is not None and (
                    prev.text in ("^", "_") or (prev.at + len(prev.text) == t.at and
                                                prev.text.isalnum()))):
                out.append(t)
                j += 1
                continue
            k = j
            while k < len(toks) and toks[k].at < m.end():
                k += 1
            if toks[k - 1].at + len(toks[k - 1].text) != m.end():  # 1e3.5: as TeX reads it
                out.append(t)
                j += 1
                continue
            letter, power = m.group(2), m.group(3)
            if self.known_outside(letter):
                raise self.error(t.at, f"'{m.group()}' could be the number {t.text}·10^"
                                 f"{power} or a product with the declared {letter}: write "
                                 f"{t.text}\\times 10^{{{power}}} for the number, "
                                 f"{t.text}\\,{letter} … for the product")
            self.notes.append(f"'{m.group()}' read as the number {float(m.group()):g} "
                              f"(e-notation, as the text reads it; in LaTeX it is written "
                              f"{t.text}\\times 10^{{{power.lstrip('+')}}})")
            out.append(Tok(m.group(), t.at))
            j = k
        return out

    def error(self, at: int, message: str, cls: type[ParseError] = ParseError) -> ParseError:
        return cls(message, column=column_of(self.text, at), text=self.text)

    def peek(self, k: int = 0) -> Tok | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def texts(self, k: int) -> str:
        t = self.peek(k)
        return t.text if t is not None else ""

    def at(self) -> int:
        t = self.peek()
        return t.at if t is not None else len(self.text)

    def seen(self, start: int) -> str:
        """The source from token ``start`` to the end of the token read last."""
        return self.text[self.toks[start].at:self.end_of_last()].strip()

    def end_of_last(self) -> int:
        """Where the token read last ends in the source."""
        t = self.toks[self.i - 1]
        return t.at + len(t.text)

    def take(self) -> Tok:
        t = self.peek()
        if t is None:
            raise self.error(len(self.text), "the LaTeX ends too early")
        self.i += 1
        return t

    def skip_spacing(self) -> None:
        while (t := self.peek()) is not None and t.text in SPACING:
            self.i += 1

    def is_(self, *texts: str) -> bool:
        self.skip_spacing()
        t = self.peek()
        return t is not None and t.text in texts

    def expect(self, text: str) -> Tok:
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

    def raw_group(self) -> tuple[str, int]:
        """The letters of ``{...}`` after a style command (``\\mathbf{W}``, ``\\text{out}``)."""
        t = self.expect("{")
        close = self.find_close(self.i - 1)
        raw = "".join(x.text for x in self.toks[self.i:close])
        self.i = close + 1
        return raw, t.at

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
                    sized = j > self.i and self.toks[j - 1].text in CLOSE_SIZES
                    return (j - 1 if sized else j), j
        raise self.error(self.toks[self.i - 1].at, f"{opener!r} is never closed")

    def script(self) -> tuple[str, int]:
        """A sub/superscript: its raw LaTeX (one token or a braced group), and its start."""
        self.skip_spacing()
        t = self.take()
        if t.text in STYLE and self.texts(0) == "{":  # x^\mathsf{T}
            raw, _ = self.raw_group()
            return f"{t.text}{{{raw}}}", t.at
        if t.text != "{":
            return t.text, t.at
        close = self.find_close(self.i - 1)
        raw, word = "", False  # a space only ends a control word (\circ 2, \alpha\beta)
        for x in self.toks[self.i:close]:
            s = x.text
            raw += " " + s if word and s[0].isalpha() else s
            word = s.startswith("\\") and s[-1].isalpha()
        self.i = close + 1
        return raw, t.at

    def powers_next(self) -> bool:
        """Whether the superscript after the ``^`` just read is a power (not a transpose)."""
        save = self.i
        raw, _ = self.script()
        self.i = save
        flat = raw.replace(" ", "")
        return not (flat in TRANSPOSE or flat.strip("{}") in TRANSPOSE)

    def double_superscript(self, caret: Tok) -> ParseError:
        return self.error(caret.at, "a double superscript (a power of a power, x^{2}^{3}) is "
                          "not read, as TeX refuses it: bracket what you mean, {(x^{2})}^{3} "
                          "or x^{2^{3}}")

    def word(self) -> tuple[str, int]:
        """The letters that run on from here without a space, and how many tokens."""
        word, n = "", 0
        while (t := self.peek(n)) is not None and re.fullmatch(r"[A-Za-z]", t.text) \
                and (n == 0 or t.at == self.toks[self.i].at + len(word)):
            word += t.text
            n += 1
        return word, n

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
        self.bold = s in (r"\mathbf", r"\boldsymbol", r"\bm")
        if s in GREEK:
            return GREEK[s], t.at
        if s in STYLE or s in ACCENTS:
            if self.is_("{"):
                raw, at = self.raw_group()
            else:  # \hat y, \mathbf x: of the one token after it, as TeX sets it
                u = self.take()
                raw, at = u.text, u.at
            raw = re.sub(r"\\(?:mathbf|boldsymbol|bm|mathrm|mathit)", "", raw)
            accent = ACCENTS.get(s, "")
            inner = next((a for a in ACCENTS if raw.startswith(a)), None)
            if inner is not None and not accent:  # \mathbf{\hat{y}}: the accent inside
                raw, accent = raw[len(inner):], ACCENTS[inner]
            raw = raw.replace(" ", "").replace("{", "").replace("}", "")
            named = raw.replace("\\_", "_")  # \mathrm{x\_1}: the name x_1 itself, as
            if named != raw and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", named):  # printed
                return named + accent, at  # beside x1
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
            return word, t.at
        if s in _COMPARISONS:  # where(X > 0, …): a comparison is an indicator's
            raise self.error(t.at, f"a comparison ({s}) is read inside the indicator only: "
                             r"write \mathbf{1}[\mathbf{X} > 0] (1 where it holds, 0 "
                             r"elsewhere; \operatorname{where} takes it as its condition)")
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
        self.last_entry = False
        while True:
            if self.is_("_") and not subs:
                self.take()
                self.skip_spacing()
                braced = self.is_("{")
                raw, at = self.script()
                if not braced and re.fullmatch(r"\d\d+|\d*\.\d*", raw):  # x_12: TeX sets x₁2
                    raise self.error(at, f"{name}_{raw} is not read: TeX sets only "
                                     f"'{raw[0]}' as the subscript; write {name}_{{{raw}}}")
                sub = re.sub(r"\\(?:mathrm|text|mathit)\{([^{}]*)\}", r"\1", raw).replace(" ", "")
                sub = GREEK.get(sub, sub)
                layer = re.fullmatch(r"(\d+),([A-Za-z0-9]+)", sub)
                if layer and not index:  # x_{1,2}, W_{2,h}: a layer and a subscript, as
                    index, sub = layer.groups()  # the derivations print x1_2 and W2_h
                if sub and set(sub) <= set(self.indices):  # x_i in Σ_i: the vector x
                    self.indexed += 1
                    self.last_entry = True
                    continue
                if not re.fullmatch(r"[A-Za-z0-9]+", sub):
                    raise self.error(at, f"the subscript {raw!r} is not part of a name we read")
                subs.append(sub)
                continue
            if self.is_("^") and not index:
                save = self.i
                self.take()
                raw, _ = self.script()
                flat = raw.replace(" ", "")
                m = re.fullmatch(r"[(\[](\d+)[)\]](\\top|\\intercal|T)?", flat)
                rest = re.fullmatch(r"([(\[]\d+[)\]])(.+)", flat)
                if not m and rest and self.toks[save + 1].text == "{":
                    # X^{(1)-1}, W^{(2)2}, X^{(1)^{-1}}: the index, then the power after it,
                    # (X⁽¹⁾)⁻¹ (as ^{(1)\top} is the index, then a transpose)
                    k = next(j for j in range(save + 2, self.i) if self.toks[j].text in ")]")
                    close = self.toks[self.i - 1]
                    power = self.toks[k + 1:self.i - 1]
                    if power[0].text != "^":
                        power = [Tok("^", power[0].at), Tok("{", power[0].at), *power,
                                 Tok("}", close.at)]
                    # as many tokens as before (the statements' ends are token positions):
                    # the index one token, (1), and spacing after the power
                    new = [self.toks[save], Tok(rest.group(1), self.toks[save + 2].at), *power]
                    new += [Tok("~", close.at)] * (self.i - save - len(new))
                    self.toks[save:self.i] = new
                    self.i = save
                    self.notes.append(f"'{name}^{{{raw}}}' read as ({name}^{{{rest.group(1)}}})"
                                      f"^{{{rest.group(2).removeprefix('^').strip('{}')}}}: "
                                      "the index, then the power")
                    continue
                if m:
                    index = m.group(1)
                    transposed = bool(m.group(2))  # W^{(1)\top}: the index, then a transpose
                    continue  # (a subscript may follow: W^{(1)\top}_{h}, as Wh1ᵀ prints)
                elif re.fullmatch(r"[(\[][A-Za-z][A-Za-z0-9+\-]*[)\]]", raw.replace(" ", "")):
                    # W^{(l)}, h^{(t-1)}, x^{(i)}: an index in the literature, never a power
                    raise self.error(save, f"{name}^{{{raw}}} is not read: a superscript in "
                                     "parentheses is a layer, step or sample index; give it "
                                     f"as a number ({name}^{{(1)}}), one name per layer")
                elif self.is_("_") and not subs:
                    # a^x_1: TeX sets the subscript on the base whichever comes first (a₁ˣ),
                    # so the subscript is read first and the power after it
                    after = self.i
                    self.take()
                    sub_raw, _ = self.script()
                    self.toks[save:self.i] = self.toks[after:self.i] + self.toks[save:after]
                    self.i = save
                    self.notes.append(f"'{name}^{{{raw}}}_{{{sub_raw}}}' read as "
                                      f"{name}_{{{sub_raw}}}^{{{raw}}}, as TeX sets it")
                    continue
                else:
                    self.i = save
            break
        self.last_scripts = (subs[0] if subs else "", index)
        return self.pick(name, subs[0] if subs else "", index), transposed

    def pick(self, base: str, sub: str, index: str) -> str:
        """The name a base with a subscript and an index stands for: a declared one if any
        (``Wh2``, ``W2h``, ``W_h``, ``t_1``), else base, subscript, index run together."""
        if not sub or not index:
            part = sub or index
            candidates = [base + part, f"{base}_{part}"] if part else [base]
            if part and all(map(self.known, candidates)):
                return self._one_of(candidates, sub)
        elif sub.isdigit():  # x^{(1)}_2 beside x_{21}: x1_2, never the same name
            candidates = [layered(base, sub, index)]
        else:  # a declared Wh1 (W2h, W_h1) is W^{(1)}_{h}; else W1_h, never W_{h1}'s name
            declared = getattr(self.builder, "shapes", None) or {}
            candidates = [n for n in (base + sub + index, base + index + sub,
                                      f"{base}_{sub}{index}") if n in declared]
            candidates.append(layered(base, sub, index))
        # undeclared: run together, unless that makes pi or a Greek name (\mathbf{p}_i is p_i)
        return next((n for n in candidates if self.known(n)),
                    layered(base, sub, index) if sub else candidates[0])

    def _one_of(self, candidates: list[str], sub: str) -> str:
        r"""``x_{1}`` with x1 and x_1 both declared (``[x1, x_1]``), as the printer sets them:
        the one of the kind the type says (plain a scalar, bold a vector or matrix); of one
        kind, a plain letter subscript is the name with ``_`` (``a_{b}`` is a_b, ab prints
        \mathrm{ab}), else the joined one (x1 is ``x_{1}``, W_h ``\mathrm{W\_h}``)."""
        shapes = getattr(self.builder, "shapes", None) or {}
        if all(n in shapes for n in candidates):
            fits = [n for n in candidates if (shapes[n] is not None) == self.bold]
            if len(fits) == 1:
                return fits[0]
        return candidates[1] if sub.isalpha() and not self.bold else candidates[0]

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
