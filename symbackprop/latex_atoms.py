"""LaTeX input's atoms: names (declared, Greek, in bold, with layer indices and scripts),
numbers, brackets and groups, the ones vector 𝟏 and the identity I with their sizes, and a
function's name written without a backslash. A mixin of latex_input.py's reader."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .latex_calls import NTH_ORDER
from .latex_derivatives import Derivatives
from .latex_lexer import (
    ABS,
    NORMS,
    OPEN,
    OPERATORS,
    SIZES,
    Piece,
    Tok,
    bare_arguments,
    join_pieces,
)
from .latex_sizes import dimension_names
from .latex_statements import Statements
from .paper import declared_then_call, split_name
from .paper_lexer import layered

BOLD = (r"\mathbf", r"\boldsymbol", r"\bm")
NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][-+]?\d+)?")


class Atoms(Derivatives, Statements):
    """The atoms of a product (latex_input.py's ``_Reader`` reads products and powers)."""

    postfix: Callable[[Piece, int], Piece]

    def word_function(self, word: str) -> str | None:
        """``word`` if it names a function written without a backslash (``tanh``)."""
        fn = OPERATORS.get(word)
        return word if fn in self.functions and not self.known(word) else None

    def declared_call(self, name: str, command: bool, upright: bool = False) -> None:
        r"""A declared name that is also a function (``\sigma``, ``\psi``, ``tr``, ``tanh``)
        before a bracket, ``\sigma(x)``, or a power and a bracket, ``\sigma^{2}(x)``: the
        name times the bracket (the declaration wins), with a reading that says how to
        write the function."""
        save = self.i
        power = ""
        if command and self.is_("^"):
            self.take()
            power = "^{" + self.script()[0].strip("{}") + "}"
        fn = {"sigma": "sigmoid", "psi": "digamma"}.get(name) or OPERATORS.get(name) or \
            OPERATORS[name.lower()]
        mark = "\\" if command else ""
        if self.opens_next():
            how = f"the function is not read while {name} is declared" if upright and (
                fn == name or self.known(fn)) else \
                f"for the function write \\operatorname{{{fn}}}(…){power}"
            self.notes.append(f"'{mark}{name}{power}(…)' read as "
                              f"{name}{power}·(…), the declared {name} times the bracket ({how})")
        self.i = save

    def layer_power(self, base: str, name: str, transposed: bool, start_at: int,
                    at: int) -> Piece | None:
        r"""``\mathbf{W}^{(2)}`` (``W^{[2]}``) as the text reads ``W^(2)``: with the layer's
        name W2 declared (or a stage) the name, as the derivations print it (with a reading
        when W is declared too); with W declared (or a stage) and W2 not, the power of W,
        returned, with a reading; with neither, the name W2, with a reading. Never a new
        input W2 beside a declared W. None when no layer index was read (or a subscript
        came with it: ``x^{(1)}_{2}`` is the name x1_2)."""
        sub, index = self.last_scripts
        if not index or sub or self.last_entry:
            return None
        seen = self.text[start_at:self.end_of_last()].strip()
        if self.known(name):
            if self.known(base):
                what = "stage" if name in self.stages else "declared"
                self.notes.append(f"'{seen}' read as the {what} {name}, the layer's {base} "
                                  f"(the power of {base} is written with no brackets, "
                                  f"{base}^{{{index}}})")
            return None
        if not self.known(base):
            self.notes.append(f"'{seen}' read as the name {name}, a layer (step, sample) index "
                              f"(for the power write {base}^{{{index}}})")
            return None
        what = "stage" if base in self.stages else "declared"
        self.notes.append(f"'{seen}' read as the power {index} of the {what} {base} (the "
                          f"layer's {base} is the name {name}: declare it, or write "
                          f"{base}^{{{index}}} for the power)")
        power = "**" if self.indices else "\0**"
        out = join_pieces("(", base, ")", (power, at), f"({index})", at=at)
        return join_pieces("(", out, ").T", at=at) if transposed else out

    def stage_call(self, name: str, transposed: bool, start_at: int, at: int) -> Piece | None:
        r"""``f(x)`` after the stage ``f(x) = …`` (``\mathcal{L}(\theta)`` after
        ``\mathcal{L}(\theta) = …``): with the definition's own arguments, the stage f, with
        a reading; with others, ``f(y)``, refused (a stage is a value, no function to apply
        to other arguments). None (nothing read) when ``name`` is no such stage or no
        bracket follows."""
        args = self.function_stages.get(name)
        if args is None or transposed or not self.opens_next():
            return None
        self.skip_spacing()
        save = self.i
        if self.texts(0) in SIZES:
            self.take()
        opener = self.take().text
        if opener not in OPEN:  # (f\left|x\right|: bars, a factor of the product)
            self.i = save
            return None
        stop, j = self.matching(opener, OPEN[opener])
        seen = self.text[start_at:self.toks[j].at + len(self.toks[j].text)].strip()
        if bare_arguments(self.toks[self.i:stop]) != args:
            defined = ", ".join("".join(a) for a in _split_commas(args))
            raise self.error(start_at, f"'{seen}' is not read: {name} is the stage "
                             f"{name}({defined}) = …, a value, no function to apply to other "
                             f"arguments: write {name}({defined}) (or {name}) for the stage, "
                             "or define another stage for the value at these arguments")
        self.i = j + 1
        self.notes.append(f"'{seen}' read as the stage {name}, which the same arguments "
                          "defined")
        return [(name, at)]

    def declared_shape(self, name: str) -> Any:
        """The shape ``shapes`` gives ``name`` (a matrix's, a vector's), else None."""
        shapes = getattr(self.builder, "shapes", None) or {}
        shape = shapes.get(name)
        return shape if shape is not None and len(shape) == 2 else None

    def group_or_token(self, skip_circ: bool = False) -> Piece:
        self.skip_spacing()
        t = self.take()
        if t.text == "{":
            close = self.find_close(self.i - 1)
            if skip_circ:
                self.expect(r"\circ")
            inner = self.expr(close)
            if self.i < close:
                raise self.unexpected(self.toks[self.i])
            self.expect("}")
            return inner
        if re.fullmatch(r"\d+", t.text) and len(t.text) > 1:  # x^23 is x^2 times 3, as in TeX
            self.i -= 1
            self.toks[self.i] = Tok(t.text[1:], t.at + 1)  # in place: spans keep their ends
            return [(t.text[0], t.at)]
        if re.fullmatch(r"\d*\.\d*", t.text):  # x^2.5, x^.5: TeX sets x²·.5, x^{.}5
            raise self.error(t.at, f"^{t.text} is not read: TeX sets only "
                             f"'{t.text[0]}' as the exponent; write ^{{{t.text}}}")
        if re.fullmatch(r"\d+", t.text):
            return [(t.text, t.at)]
        if re.fullmatch(r"[A-Za-z]", t.text):
            if self.is_("_"):  # e^x_1: TeX sets e₁ˣ, which is never what was meant here
                raise self.error(t.at, f"^{t.text}_… is not read: TeX sets the subscript on "
                                 f"the base, not on {t.text}; write ^{{{t.text}_…}} for a "
                                 "subscripted exponent")
            return [(t.text, t.at)]  # a^bc is a^b times c, as in TeX: one letter
        self.i -= 1
        return self.atom(len(self.toks))

    def argument(self) -> Piece:
        """A macro argument: a braced group, or one token (``\\frac12``)."""
        self.skip_spacing()
        return self.braced() if self.texts(0) == "{" else self.group_or_token()

    def braced(self) -> Piece:
        self.expect("{")
        close = self.find_close(self.i - 1)
        inner = self.expr(close)
        if self.i < close:  # ({…}_{1} - y}: what is left unread, not the } expected)
            raise self.unexpected(self.toks[self.i])
        self.expect("}")
        return inner

    def atom(self, end: int) -> Piece:
        self.skip_spacing()
        if self.i >= end:
            raise self.error(self.at(), "expected an expression")
        t = self.peek()
        assert t is not None
        s = t.text
        if NUMBER.fullmatch(s):  # (1e-3: one number, Cursor.numbers)
            self.take()
            return [(s, t.at)]
        if s == "{":
            return self.braced()
        if s == r"\langle" or (s in SIZES and self.texts(1) == r"\langle"):
            args = self.arguments()  # ⟨a, b⟩: the inner product, entry by entry (aᵀb, and
            if len(args) != 2:       # of matrices tr(AᵀB), the Frobenius one)
                raise self.error(t.at, "⟨…⟩ is an inner product of two: \\langle a, b \\rangle")
            return join_pieces("sum(hadamard(", args[0], ", ", args[1], "))", at=t.at)
        if s in OPEN or s in SIZES:
            return self.bracketed(end)
        if s in NORMS or s in ABS:
            return self.bars(end)
        if s == r"\sum":
            return self.summation(end)
        if s in (r"\frac", r"\tfrac", r"\dfrac", r"\cfrac"):
            self.take()
            self.derivative_fraction(t)
            num = self.argument()
            den = self.argument()
            return join_pieces("(", num, " / ", den, ")", at=t.at)
        if s == r"\sqrt":
            self.take()
            if self.is_("["):
                self.take()
                close = next((j for j in range(self.i, len(self.toks))
                              if self.toks[j].text == "]"), None)
                if close is None:
                    raise self.error(t.at, "\\sqrt[ is never closed")
                index_at = self.at()
                n = self.expr(close)
                self.expect("]")
                if re.fullmatch(r"[(\s]*[-+]?[(\s]*0*\.?0*[)\s]*", "".join(p for p, _ in n)):
                    raise self.error(index_at, "the index of a root \\sqrt[n]{…} cannot be 0 "
                                     "(x^{1/0}): write a nonzero number, \\sqrt[3]{x}")
                body = self.braced()
                return join_pieces("((", body, ")**(1 / ", n, "))", at=t.at)
            if self.is_("{"):
                return join_pieces("sqrt(", self.braced(), ")", at=t.at)
            arg = self.group_or_token()  # \sqrt 2 x, \sqrt x: of the one token after it,
            what = self.text[arg[0][1]:self.end_of_last()].strip() if len(arg) > 1 else \
                arg[0][0]  # as TeX sets it
            self.notes.append(f"'\\sqrt {what}' read as the root of {what} only (write "
                              "\\sqrt{…} for more)")
            return join_pieces("sqrt(", arg, ")", at=t.at)
        if (s in BOLD or (s == r"\mathbb" and self.texts(2) == "1")) and self.texts(1) == "{" \
                and self.texts(2) in ("1", "0") and self.texts(3) == "}":  # 𝟏, 𝟙: ones
            digit = self.texts(2)
            self.i += 4
            if digit == "0":
                return [("(0)", t.at)]  # 𝟎: the number 0, spread by the operation around
            indicator = self.indicator(t.at)
            if indicator is not None:
                return indicator
            return self.ones_vector(t)
        if (s in BOLD and self.texts(1) == "{" and self.texts(2) == "I" and self.texts(3) == "}")\
                or (s == "I" and self.texts(1) == "_"):
            identity = self.identity(t)
            if identity is not None:
                return identity
        if s in (r"\mathrm", r"\operatorname") and self.texts(1) == "{" \
                and self.texts(2) == "e" and self.texts(3) == "}":
            self.i += 4
            return [("exp(1)", t.at)]  # the upright e of ISO 80000-2: Euler's number
        fn = self.function_name()
        if fn is not None:
            return self.call(fn, t, end)
        if s == r"\prod":  # \prod_i x_i: a product over an index
            raise self.error(t.at, "\\prod over an index (\\prod_i x_i) is not read: write "
                             "\\prod(\\mathbf{x}) for the product of x's entries (prod(x) in "
                             "the text), \\prod_{\\text{row}}, \\prod_{\\text{col}} along an axis")
        return self.name_atom(end)

    def ones_vector(self, t: Tok) -> Piece:
        """𝟏 (its ``\\mathbf{1}`` read): the vector of ones, of the length that what it
        multiplies or is added to fixes (sized when the whole text is read, ``Sizes``), or
        of the length written, ``\\mathbf{1}_{n}`` (``\\mathbf{1}_{m \\times n}``: a matrix)."""
        if not self.is_("_"):
            self.unsized.append(("one", t.at))
            return [(f"\0one{len(self.unsized) - 1}", t.at)]
        self.take()
        raw, at = self.script()
        parts = [p for p in re.split(r"\\times|,", raw.replace(" ", "").strip("{}")) if p]
        sizes = [self.size_text(p) for p in parts]
        if len(sizes) not in (1, 2) or None in sizes:
            raise self.error(at, f"\\mathbf{{1}}_{{{raw.strip('{}')}}}: the length of 𝟏 is a "
                             "whole number or a dimension named in shapes (\\mathbf{1}_{n}, "
                             "\\mathbf{1}_{m \\times n} for a matrix of ones)")
        rows, cols = (sizes[0], "1") if len(sizes) == 1 else sizes
        return [(f"ones({rows}, {cols})", t.at)]

    def identity(self, t: Tok) -> Piece | None:
        """\\mathbf{I}, I_{n}, \\mathbf{I}_{n}: the identity matrix, of the size that what it
        multiplies or is added to fixes, or of the size written; None (nothing read) when I
        is a variable: declared (or a stage), or I_{…} whose subscript is no size."""
        start = self.i
        bold = t.text != "I"
        self.i += 4 if bold else 1
        if not self.is_("_"):
            if bold and not self.known("I"):
                self.unsized.append(("eye", t.at))
                return [(f"\0eye{len(self.unsized) - 1}", t.at)]
            self.i = start
            return None
        self.take()
        raw, _ = self.script()
        sub = raw.replace(" ", "").strip("{}")
        size = self.size_text(sub)
        if size is None or self.known(f"I{sub}") or self.known(f"I_{sub}"):
            self.i = start
            return None
        if not bold and self.opens_next():  # I_{1}(x): a product, as \mathbf{I}_{1}(x) is
            self.notes.append(f"'I_{{{sub}}}(…)' read as the identity I_{{{sub}}} times (…); "
                              f"the modified Bessel function is \\operatorname{{I}}_{{{sub}}}(x)"
                              f" (besseli({sub}, x))")
        return [(f"eye({size})", t.at)]

    def size_text(self, raw: str) -> str | None:
        """A size as the text writes it: a whole number, or a dimension named in shapes."""
        if re.fullmatch(r"[1-9]\d{0,8}", raw):
            return raw
        return raw if raw in dimension_names(self.builder) else None

    def bracketed(self, end: int) -> Piece:
        t = self.take()
        opener = t.text
        if opener in SIZES:
            opener = self.take().text
            if opener in NORMS or opener in ABS:
                self.i -= 2
                return self.bars(end)
        if opener not in OPEN:
            raise self.error(t.at, f"{opener!r} does not open a group here")
        stop, j = self.matching(opener, OPEN[opener])
        inner = self.expr_span(self.i, stop)
        self.i = j + 1
        return inner

    def name_atom(self, end: int) -> Piece:
        self.skip_spacing()  # bare letters (xy: x times y, as TeX reads them), not \mathbf{W}
        letters = re.fullmatch(r"[A-Za-z]", self.texts(0)) is not None
        operator = self.texts(0) == r"\operatorname"
        upright = self.texts(0) in (r"\operatorname", r"\mathrm", r"\text", r"\textrm",
                                    r"\mathit")  # \mathrm{det} with det declared: the name
        command = self.texts(0) in (r"\sigma", r"\psi")  # \sigma(x), \sigma^{2}(x), tr(x)
        start_at = self.at()
        base, at = self.base_name()
        split = declared_then_call(base, self.known, self.word_function) \
            if letters and not self.known(base) and self.opens_next() else None
        if split is not None:  # Atanh(z) with A declared: A·tanh(z)
            heads, fn = split
            self.notes.append(f"'{base}(…)' read as {'·'.join(heads)}·{fn}(…), the declared "
                              f"{'·'.join(heads)} times the function {fn}")
            self.i = next(j for j in range(self.i - 1, -1, -1)
                          if self.toks[j].at == at + len(base) - len(fn))
            return [(" * ".join(heads), at)]
        word_fn = self.word_function(base) if letters and self.is_("^") else None
        nth = NTH_ORDER.match(self.text, self.at())
        if word_fn is not None and nth:  # tanh^{(1)}(x) without a backslash: as \tanh^{(1)}
            raise self.nth_derivative(Tok(base, at), OPERATORS[word_fn], nth.end())
        name, transposed = self.scripts(base)
        layer = self.layer_power(base, name, transposed, start_at, at)
        if layer is not None:  # \mathbf{W}^{(2)} with W declared and W2 not: W², as W^(2)
            return layer
        called = self.stage_call(name, transposed, start_at, at)
        if called is not None:  # f(x) after f(x) = …: the stage f
            return called
        if operator and self.opens_next() and not self.known(name):  # \operatorname{RMS}(a):
            raise self.error(at, f"\\operatorname{{{base}}} is not a function we read: write "
                                 "it out (the vocabulary: docs/vocabulary.md), or name its "
                                 "value as a variable")
        if name == base and self.known(name) and (command or ((letters or upright) and (
                name in OPERATORS or name.lower() in OPERATORS))):
            self.declared_call(name, command, upright)  # with sigma (tr) declared: sigma·(x)
        elif self.known(name) and not transposed and not self.bold and not self.last_entry \
                and self.opens_next() and not (name == "Gamma" and self.text[:start_at].rstrip()
                                               .endswith((r"\ln", r"\log"))):  # (said there)
            # f(x), \Gamma(x), h(x + 1) with f (Γ, h) declared or a stage: TeX's product
            what = "stage" if name in self.stages else "declared"
            self.notes.append(f"'{self.text[start_at:self.end_of_last()].strip()}(…)' read as "
                              f"{name}·(…), the {what} {name} times the bracket (a "
                              f"{what} name is no function)")
        bessel = re.fullmatch(r"I_?(\d+)", name)  # I_0(x): the Bessel function is upright
        if not self.known(name) and not transposed and self.opens_next() and (
                not letters or len(name) == 1 or bessel):
            # f(x), \Gamma(x): no function of that name, so TeX's product f·(x); say so
            self.notes.append(f"'{name}(…)' read as {name}·(…), a product: {name} is no "
                              "function we know" + (
                                  f" (the modified Bessel function is \\operatorname{{I}}_"
                                  f"{{{bessel.group(1)}}}(x))" if bessel else ""))
        sub, index = self.last_scripts
        if self.indices:
            if transposed:
                raise self.index_sum_error(at, "a transpose")
            if self.last_entry:  # x_i in \sum_i: the vector x, read entry by entry
                if letters and len(base) > 1 and not self.known(base):
                    raise self.error(at, f"{base}_{self.indices[-1]} is not read: write "
                                     f"{base[:-1]}\\,{base[-1]}_{{{self.indices[-1]}}} for a "
                                     f"product, or \\mathrm{{{base}}}_{{{self.indices[-1]}}} "
                                     "for one name")
                return [("\0entry", at), (name, at)]
        shape = (getattr(self.builder, "shapes", None) or {}).get(base)
        if sub.isdigit() and not index and shape and not self.known(name):
            # x_1 + x_2 with x declared a vector: its entries, never new scalar inputs
            entry = f"write {base}[{int(sub) - 1}] in the text for its entry {sub}, or " \
                if 1 in tuple(shape) else ""
            raise self.error(at, f"{base}_{sub} is not read: {base} is declared "
                             f"{tuple(shape)} and its entries are not read in LaTeX: {entry}"
                             f"declare {name} for a name of its own")
        if not letters:  # (\mathbf{Wx}_1 with W and x1 declared: W·x1, as Wx1 in text)
            if self.known(name) or not split_name(name, self.known):
                return join_pieces("(", name, ").T", at=at) if transposed else [(name, at)]
            # \mathbf{Wx} with W and x declared (and Wx not): W·x, as W1x is, and one group
            # for a superscript after it (\mathbf{Wx}^\top is (Wx)ᵀ)
            out = join_pieces("(", self.name_product(name, at), ")", at=at)
            return join_pieces("(", out, ").T", at=at) if transposed else out
        if sub.isalpha() and not self.known(name):
            # a letter subscript names a variable (x_i, w_{ij}, W_h): never x·i, as run
            # together into xi it would read; TeX sets it on the last letter (xy_i is x·y_i)
            if len(base) > 1:
                raise self.error(at, f"{base}_{sub} is not read: write {base[:-1]}\\,"
                                     f"{base[-1]}_{{{sub}}} for a product, or "
                                     f"\\mathrm{{{base}}}_{{{sub}}} for one name")
            shape = (getattr(self.builder, "shapes", None) or {}).get(base)
            if shape and not index and not self.known(name) and not (
                    set(sub) & set(self.indices)):  # y_i beside a declared y, no sum over i
                raise self.error(at, f"{base}_{sub} is an entry of {base} ({base} is declared "
                                 f"{shape}) outside a sum over {sub}: a sum ends at + or −, "
                                 f"so bracket its summand, \\sum_{sub} (…), or name the "
                                 "scalar otherwise")
            name = layered(base, sub, index) if index else f"{base}_{sub}"  # x^{(1)}_{i}:
            # x1_i, never x_{i1}'s x_i1
            return join_pieces("(", name, ").T", at=at) if transposed else [(name, at)]
        if sub.isdigit() and len(base) > 1 and base.isalpha() and not self.known(name) \
                and not self.known(base):
            # xy_1: TeX sets the subscript on the last letter, x·y₁ (never the name xy1)
            last = self.pick(base[-1], sub, index)
            head = self.name_product(base[:-1], at)
            self.notes.append(f"'{base}_{sub}' read as {'·'.join(base[:-1])}·{last}")
            tail = [(f"({last}).T", at)] if transposed else self.postfix([(last, at)], end)
            return join_pieces(head, " * ", tail, at=at)
        out = self.name_product(name, at)
        if transposed:
            return join_pieces("(", out, ").T", at=at)
        if len(out) == 1 and " * " in out[0][0]:
            # a run of letters is a product, and a superscript after it is its last letter's
            # (TeX sets it there): ax^2 is a·x², xy^\top is x·yᵀ
            *first, last = out[0][0].split(" * ")
            if last == "e" and not self.known("e") and self.is_("^"):  # xe^{y}: x·exp(y)
                self.take()
                tail = join_pieces("exp(1)", ("\0**", at), "(", self.group_or_token(), ")",
                                   at=at)
            else:
                tail = self.postfix([(last, at)], end)
            return join_pieces(" * ".join(first) + " * ", tail, at=at)
        return out


def _split_commas(args: tuple[str, ...]) -> list[list[str]]:
    """The tokens of a bracket's arguments, at its commas."""
    out: list[list[str]] = [[]]
    for a in args:
        if a == ",":
            out.append([])
        else:
            out[-1].append(a)
    return out
