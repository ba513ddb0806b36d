"""The LaTeX of one expression: a SymPy printer that speaks our notation.

Expression bodies come from SymPy's ``LatexPrinter`` with a table of symbol names; what SymPy
has no good form for (matrix products that keep their order, ⊙, ᵀ, 1, losses, σ) is printed
here. ``latex.py`` lays the derivation out with it. Everything printed is plain amsmath: it
renders in KaTeX and compiles with pdflatex.
"""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping, MutableMapping
from itertools import pairwise
from typing import TYPE_CHECKING, Any, cast

import sympy as sp
from sympy import (
    HadamardPower,
    HadamardProduct,
    Identity,
    Inverse,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
)
from sympy.printing.precedence import PRECEDENCE, precedence

from ..algebra import is_matrix
from ..functions import (
    MSE,
    CrossEntropy,
    Elementwise,
    ElementwiseDerivative,
    Item,
    SqNorm,
    scalar_function,
)
from ..notation import (
    symbol_latex,
)
from ..rules import BY_SYMPY, RULES
from .index_notation import node_latex
from .latex_forms import (
    fold_ones,
    juxtapose,
    loose_identity,
    not_a_call,
    printable,
    prints_as_sum,
    proper_matrix,
    reciprocal,
    sides,
    split_sign,
    unhidden,
)
from .matrix_latex import MatrixLatex, bracketed, kind_of

if TYPE_CHECKING:
    pass

_PLAIN_FUNCTIONS = {"sin", "cos", "tan", "tanh", "sinh", "cosh"}
_SUPER = re.compile(r"^(.*)\^\{\((\d+)\)\}(_\{[^{}]*\})?$")  # W^{(1)}, W^{(1)}_{h}


class Printer(MatrixLatex):
    """SymPy's LaTeX printer with our names and our matrix notation."""

    def __init__(self, names: Mapping[sp.Basic, str] | None = None,
                 sized: bool = False) -> None:
        super().__init__({"mul_symbol": None, "fold_short_frac": False})
        self.sized = sized  # a forward stage: an outer product's edge 𝟏 with its length
        # a view, not a copy: the emitters print every equation with the whole table
        self.names: MutableMapping[sp.Basic, str] = ChainMap(
            {}, cast("dict[sp.Basic, str]", names or {}))  # writes go to the first map only
        self._top: Any = None  # the expression printed whole (doprint's)

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        # SymPy orders a sum through a monomial vector per term: quadratic in the terms
        if len(expr.args) > 200:
            return list(expr.args)
        return super()._as_ordered_terms(expr, order)  # type: ignore[no-any-return]

    def _print_Add(self, expr: sp.Add, order: Any = None) -> str:
        # a sum of products of plain symbols (a scalarised layer's w₁x₁ + … + b) in SymPy's
        # order — lex on the exponent vectors over the sorted symbols, descending — without
        # its monomial machinery: the sorted index lists, a longer one before its prefix
        # (a term −y, SymPy's Mul(−1, y), orders as y and is written " - y" after the first)
        signs, terms = [], []
        for a in expr.args:
            t = a.args if type(a) is sp.Mul else (a,)
            signs.append(type(a) is not sp.Mul or t[0] is not sp.S.NegativeOne)
            terms.append(t if signs[-1] else t[1:])
        if order is None and self.order is None and all(
                type(f) is sp.Symbol and f.is_commutative for t in terms for f in t):
            # a Symbol's sort key is its name's (SymPy's Symbol.sort_key)
            gens = sorted({f for t in terms for f in t}, key=_name)
            at = {g: i for i, g in enumerate(gens)}
            keys = [(sorted(at[f] for f in t), plus) for t, plus in zip(terms, signs, strict=True)]
            if len(terms) <= 200:  # longer sums keep their order (_as_ordered_terms)
                keys.sort(key=lambda k: (*k[0], len(gens)))
            twins = any(a.name == b.name for a, b in pairwise(gens))  # one sort key
            if keys[0][1] and not twins:  # one that starts with a minus is SymPy's to write
                written = [self._print_Symbol(g) for g in gens]
                return "".join((" + " if plus else " - ") * bool(j) + " ".join(
                    written[i] for i in k) for j, (k, plus) in enumerate(keys))
        return super()._print_Add(expr, order)  # type: ignore[no-any-return]

    def _print(self, expr: Any, **kwargs: Any) -> str:
        if expr is sp.E:  # upright, as ISO 80000-2 writes it: an italic e is a variable
            return r"\mathrm{e}"  # (SymPy's E prints itself, before any _print_ method)
        if expr is sp.pi:  # (so does π)
            return self._print_Pi(expr)
        if expr is sp.EulerGamma:  # (and γ, which would read back as a variable gamma)
            return self._print_EulerGamma(expr)
        if expr is sp.GoldenRatio:  # (φ would read back as a variable phi)
            return r"\left(\frac{1 + \sqrt{5}}{2}\right)"
        return super()._print(expr, **kwargs)  # type: ignore[no-any-return]

    def _needs_add_brackets(self, expr: Any) -> bool:
        if isinstance(expr, CrossEntropy):  # λ + (−yᵀ log softmax(o)), never λ + −yᵀ …
            return True
        return super()._needs_add_brackets(expr)  # type: ignore[no-any-return]

    def _needs_mul_brackets(self, expr: Any, first: bool = False, last: bool = False) -> bool:
        if isinstance(expr, MSE) and not first:  # 2 (½‖o − y‖²), never the mixed number 2½
            return True
        if isinstance(expr, CrossEntropy):  # its leading minus: 2 (−yᵀ log softmax(o))
            return True
        if isinstance(expr, Item) and not first and self._print(expr).startswith("-"):
            return True  # the entry of −tᵀv after a factor: sin(a) (−tᵀv), never sin(a) − tᵀv
        return super()._needs_mul_brackets(expr, first, last)  # type: ignore[no-any-return]

    def parenthesize(self, item: Any, level: int, is_neg: bool = False,
                     strict: bool = False) -> str:
        # ‖W‖², ½‖o − y‖² and −yᵀ log softmax(o) end in a power or start with a sign: as a
        # base of a power they are bracketed, (‖W‖²)³, never the double superscript ‖W‖²^3
        if isinstance(item, (SqNorm, MSE, CrossEntropy)) and level >= PRECEDENCE["Pow"]:
            return rf"\left({self._print(item)}\right)"
        # the entry of a 1×1 product prints as the product: as a base, (xᵀx)², never xᵀx²;
        # a 1×1 variable's name with an index, (t⁽³⁾)³, never the double superscript t^{(3)}^3
        if isinstance(item, Item) and level >= PRECEDENCE["Pow"]:
            text = self._print(item)
            if not isinstance(item.args[0], sp.MatrixSymbol) or "^" in text:
                return rf"\left({text}\right)"
        return super().parenthesize(item, level, is_neg, strict)  # type: ignore[no-any-return]

    def _print_Pow(self, e: sp.Pow) -> str:
        r"""A power whose exponent is a variable printed T (or its negative): x^{\,T}, which
        reads back as the power (x^{T} is a transpose to the reader unless T is declared and
        x a declared scalar, x^{-T} an inverse transpose; the thin space keeps the look)."""
        t = e.exp if isinstance(e.exp, sp.Symbol) else -e.exp  # T, or −T (X^{-T}: X⁻ᵀ)
        if isinstance(t, sp.Symbol) and self._print(t) == "T":
            saved = self.names
            self.names = ChainMap({t: r"\,T"}, saved)
            try:
                return super()._print_Pow(e)  # type: ignore[no-any-return]
            finally:
                self.names = saved
        return super()._print_Pow(e)  # type: ignore[no-any-return]

    def _print_Mul(self, expr: sp.Mul) -> str:
        # a product of plain symbols (w x, a scalarised network's every term) as SymPy writes
        # it, without its general machinery (fractions, signs, brackets): 5x faster
        if all(type(a) is sp.Symbol for a in expr.args):
            return " ".join(map(self._print_Symbol, _symbol_factors(expr)))
        if len(expr.args) == 2 and expr.args[0] == -1 and isinstance(expr.args[1], Item) \
                and prints_as_sum(expr.args[1].args[0]):  # −(k − 1) of a 1×1 k, never −k − 1
            return rf"-\left({self._print(expr.args[1])}\right)"
        if any(isinstance(a, sp.Pow) and not a.exp.is_Number and a.exp.has(sp.Min, sp.Max)
               for a in expr.args):  # SymPy's fraction() asks is_constant() of such an
            # exponent by evaluating it at random points: min(z**y, -1) took minutes (a
            # hostile fuzz case); factor by factor instead
            return r" \cdot ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)
        try:
            return not_a_call(super()._print_Mul(expr))
        except (ValueError, TypeError):  # SymPy's fraction() substitutes into the factors and
            # can compare Min(-1, zoo) (x**min(-1, 1/x), a hostile fuzz case): factor by factor
            return r" \cdot ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)

    # symbols ------------------------------------------------------------------------------
    def _print_Rational(self, e: sp.Rational) -> str:  # (an Integer's too)
        return super()._print_Rational(printable(e))  # type: ignore[no-any-return]

    def _print_Symbol(self, e: sp.Symbol, style: str = "plain") -> str:
        if e in self.names:
            return self.names[e]
        return symbol_latex(str(e.name), "scalar")

    def _print_MatrixSymbol(self, e: sp.MatrixSymbol) -> str:
        if e in self.names:
            return self.names[e]
        return symbol_latex(str(e.name), kind_of(e))

    def _print_OneMatrix(self, e: Any) -> str:
        rows, cols = e.shape
        if self.sized and (rows, cols) != (1, 1) and loose_identity(self._top):
            return self._ones(e, True, True)  # sin(𝟏₂𝟏₃ᵀ): nothing beside it sizes it
        if rows == 1 and cols == 1:  # c + 1 of a 1×1 c: the number, which needs no length
            return "1"
        return r"\mathbf{1}^{\top}" if rows == 1 and cols != 1 else r"\mathbf{1}"

    def _print_ZeroMatrix(self, e: Any) -> str:
        return r"\mathbf{0}"

    def _print_Identity(self, e: Any) -> str:
        """𝐈; 𝐈ₙ with its size when a variable prints as 𝐈 (the reader reads 𝐈ₙ as the
        identity even with I declared), or, in a forward stage, when nothing beside it
        fixes its size (sin(𝐈₂)) or it is 1×1 (𝐈₁: a 1×1 beside it fixes no size); elsewhere,
        of size 1, the number 1."""
        if self.sized and (e.shape[0] == 1 or loose_identity(self._top)):
            return rf"\mathbf{{I}}_{{{self._print(e.shape[0])}}}"
        if e.shape[0] == 1 and not self.sized:
            return "1"
        return self._constant(r"\mathbf{I}", e.shape[0])

    def _print_Pattern(self, e: Any) -> str:
        """The lower triangle of ones (a running sum is a product with it) and the exchange
        matrix J (the reversal), as the literature names them (𝐉ₙ, with its size, when a
        variable prints as 𝐉)."""
        if e.kind == "tril":
            return r"\operatorname{tril}\left(\mathbf{1}\right)"
        return self._constant(r"\mathbf{J}", e.shape[0])

    def _constant(self, glyph: str, size: Any) -> str:
        """A square constant matrix's glyph, with its size when a variable has the glyph."""
        sized = glyph in self._taken() or self._named(glyph[len(r"\mathbf{"):-1])
        return rf"{glyph}_{{{self._print(size)}}}" if sized else glyph  # (a variable I, J)

    def _taken(self) -> frozenset[str]:
        """The glyphs the derivation's variables print as (none for a plain name map)."""
        table = self._table()
        return table.taken if table is not None else frozenset()

    def _named(self, name: str) -> bool:
        """Whether a variable of the derivation has this name (e, pi): the reader takes
        ``e^{x}`` and ``\\pi`` for it then, whatever glyph it prints as."""
        table = self._table()
        return table is not None and name in table.variables

    def _print_ExpBase(self, e: Any, exp: str | None = None) -> str:
        """e^{x}; \\exp(x) when a variable prints as e (e^{x} would be its power)."""
        if not self._named("e"):  # (e^{x} reads back as the power of a variable e)
            return super()._print_ExpBase(e, exp)  # type: ignore[no-any-return]
        s = self._call(r"\exp", e.args)
        return rf"{s}^{{{exp}}}" if exp else s

    def _print_Pi(self, e: Any) -> str:
        """π; \\arccos(-1) when a variable is named pi (its \\pi, or \\mathrm{pi}, reads back
        as the variable: docs/writing-expressions.md), as the JSON writes arccos(-1)."""
        if self._named("pi"):
            return r"\arccos\left(-1\right)"
        return r"\pi"

    def _print_EulerGamma(self, e: Any) -> str:
        """The Euler–Mascheroni constant γ as −ψ(1), which the reader reads as the constant
        (``\\gamma`` reads back as a variable gamma); ψ spelled digamma beside a variable
        named psi, as _print_polygamma does."""
        psi = r"\operatorname{digamma}" if self._named("psi") else r"\psi"
        return rf"\left(-{psi}\left(1\right)\right)"

    # matrix operations -----------------------------------------------------------------------
    def _wrap(self, e: sp.Basic, strong: bool = False) -> str:
        s = self._print(e)
        core = e.args[0] if isinstance(e, Item) else e  # a 1×1 prints as its sum: (c + 2) x
        if prints_as_sum(core) or (strong and (isinstance(core, (
                HadamardProduct, MatMul, sp.Mul)) or reciprocal(core))):
            return rf"\left({s}\right)"
        return s

    def _print_Transpose(self, e: Transpose) -> str:
        inner = e.args[0]
        if type(inner).__name__ == "Pattern":  # Jᵀ = J; tril(1)ᵀ without parentheses
            s = self._print(inner)
            return s if inner.kind == "exchange" else rf"{s}^{{\top}}"
        if isinstance(inner, Inverse):  # (X⁻¹)ᵀ = X⁻ᵀ
            return rf"{self._operand(inner.args[0])}^{{-\top}}"
        if isinstance(inner, OneMatrix):  # (𝟏ᵀ)ᵀ is 𝟏, never 𝟏^{⊤}^{⊤}
            return self._print_OneMatrix(OneMatrix(inner.shape[1], inner.shape[0]))
        s = self._print(inner)
        if bracketed(inner):
            return rf"{s}^{{\top}}"
        if isinstance(inner, (sp.MatrixSymbol, OneMatrix)):
            m = _SUPER.match(s)
            if m:  # one superscript: the layer's and the transpose (W^{(1)\top}_{h})
                return rf"{m.group(1)}^{{({m.group(2)})\top}}{m.group(3) or ''}"
            return rf"{s}^{{\top}}"
        return rf"\left({s}\right)^{{\top}}"

    def doprint(self, expr: Any) -> str:
        self._top = expr
        out: str = super().doprint(expr)
        table = self._table()  # (\operatorname{tr} beside a variable tr: \operatorname{trace})
        return unhidden(out, table.variables, table.hidden) if table is not None else out

    def _print_MatMul(self, e: MatMul) -> str:
        # a product inside a product (built unevaluated) is one product, its coefficient the
        # whole's: t·(−B) is −t B and 2·(−u) is −2u, never t − B or 2 − u as juxtaposed
        args: list[Any] = []
        stack = list(reversed(e.args))
        while stack:
            a = stack.pop()
            if isinstance(a, MatMul):
                stack.extend(reversed(a.args))
            else:
                args.append(a)
        coeff = sp.Mul(*[a for a in args if not is_matrix(a)])
        mats, count = fold_ones([a for a in args if is_matrix(a)])
        coeff *= count
        mats = [m for m in mats if not (m.shape == (1, 1) and (isinstance(m, OneMatrix) or (
            isinstance(m, Identity) and not self.sized)))]  # 3·I₁: 3, never 3 1
        if not mats:  # 𝟏ᵀ𝟏 alone: the number of entries; 2·𝟏 of a 1×1: the number 2
            return str(self._print(coeff))
        # a forward stage that is a product with a ones vector at its edge (𝟏uᵀ, u𝟏ᵀ, c𝟏):
        # nothing beside that 𝟏 fixes its length, so it is written with it, 𝟏ₙ, and the
        # stage t = 𝟏ₙuᵀ reads back with its size (elsewhere the sum or ⊙ around sizes it)
        top = self.sized and self._top is e
        # a factor that prints with a ⊙ or ⊘ between its parts (1 ⊘ v too) is bracketed:
        # products bind more tightly than ⊙ and ⊘, so uᵀ1 ⊘ v reads as (uᵀ1) ⊘ v
        parts = [self._ones(m, top and k == 0, top and k == len(mats) - 1)
                 if isinstance(m, OneMatrix) else
                 self._wrap(m, strong=isinstance(m, HadamardProduct) or reciprocal(m))
                 for k, m in enumerate(mats)]
        body = juxtapose(parts)
        if coeff == 1:
            return body
        if coeff == -1:
            return "-" + body
        c = self._print(coeff)
        core = coeff.args[0] if isinstance(coeff, Item) else None  # a 1×1's sum, ⊙ or ⊘:
        if isinstance(coeff, sp.Add) or precedence(coeff) < PRECEDENCE["Mul"] or (
                core is not None and (isinstance(core, HadamardProduct) or reciprocal(core)
                                      or prints_as_sum(core))):  # (c + 2) x, (rx ⊘ eᵏ) A
            c = rf"\left({c}\right)"
        return not_a_call(rf"{c}\,{body}")

    def _ones(self, m: OneMatrix, first: bool, last: bool) -> str:
        """A ones factor of a product: 𝟏, 𝟏ᵀ, or 𝟏𝟏ᵀ for a matrix of ones (𝟏 there would
        read as a vector); a column first or a row last written with its length, 𝟏ₙ."""
        rows, cols = m.shape
        left = rf"\mathbf{{1}}_{{{self._print(rows)}}}" if first else r"\mathbf{1}"
        right = rf"\mathbf{{1}}_{{{self._print(cols)}}}^{{\top}}" if last else \
            r"\mathbf{1}^{\top}"
        if rows != 1 and cols != 1:
            return left + right
        return right if rows == 1 and cols != 1 else left

    def _print_MatAdd(self, e: MatAdd) -> str:
        out = ""
        for i, t in enumerate(e.args):
            neg, body = split_sign(t)
            if neg and isinstance(body, HadamardProduct):  # −((−u) ⊙ v): + u ⊙ v
                again, inner = split_sign(body)
                if again:
                    neg, body = False, inner
            s = self._wrap(body) if neg else self._print(body)  # W - (W + W)
            if i == 0:
                out = ("-" if neg else "") + s
            else:
                out += (" - " if neg else " + ") + s
        return out

    def _print_HadamardProduct(self, e: HadamardProduct) -> str:
        """``A ⊙ B ⊘ X``: factors to the power −1 are divisors (never ``A ⊙ 1 ⊘ X``)."""
        def divisor(a: sp.Basic) -> bool:
            return isinstance(a, HadamardPower) and a.args[1] == -1
        num = [a for a in e.args if not divisor(a)]
        den = [a.args[0] for a in e.args if divisor(a)]
        body = r" \odot ".join(self._wrap(a) for a in num)
        if not den:
            return body
        if not num:
            body = r"\mathbf{1}"
        elif len(num) > 1:
            body = rf"\left({body}\right)"
        return body + "".join(rf" \oslash {self._wrap(d, strong=True)}" for d in den)

    def _print_HadamardPower(self, e: HadamardPower) -> str:
        base, ex = e.args
        b = self._print(base)
        if not isinstance(base, (sp.MatrixSymbol,)):
            b = rf"\left({b}\right)"
        elif "^" in b:  # \mathbf{h}^{(1)}: a second superscript needs braces
            b = f"{{{b}}}"
        if ex == -1:  # 𝟏 of the base's shape (𝟏ᵀ of a row, 𝟏𝟏ᵀ of a matrix; of a 1×1,
            # the number 1): nothing else fixes its length when it is read back
            one = self._print_OneMatrix(OneMatrix(*base.shape)) if base.shape[1] == 1 or \
                base.shape[0] == 1 else self._ones(OneMatrix(*base.shape), False, False)
            return rf"{one} \oslash {b}"
        return rf"{b}^{{\circ {self._print(ex)}}}"

    # functions ----------------------------------------------------------------------------
    def _call(self, name: str, args: tuple[sp.Basic, ...]) -> str:
        if name == r"\sigma" and self._named("sigma"):  # \sigma(x) beside a variable sigma
            name = r"\operatorname{sigmoid}"  # reads back as sigma times (x): say sigmoid
        elif name == r"\ln\Gamma" and self._named("Gamma"):  # (the log of Gamma times (x))
            name = r"\operatorname{gammaln}"
        return rf"{name}\left({', '.join(self._print(a) for a in args)}\right)"

    def _print_Heaviside(self, e: sp.Basic, exp: str | None = None) -> str:
        """SymPy's step, H(0) = ½ (max's slope, a tie's shared): 𝟏[a > b] + ½ 𝟏[a = b] for
        H(a − b), bracketed, so that a product's factor is not taken for a sum (with a given
        H(0) of 0, the strict 𝟏[a > b] alone)."""
        s = self._half_step(e.args[0], e.args[1] if len(e.args) > 1 else sp.S.Half)
        return rf"{s}^{{{exp}}}" if exp else s

    def _half_step(self, x: sp.Basic, at0: sp.Basic) -> str:
        left, right = (self._print(a) for a in sides(x))
        s = rf"\mathbf{{1}}\left[{{{left} > {right}}}\right]"
        if at0 == 0:
            return s
        c = "" if at0 == 1 else self._print(at0).replace(r"\frac", r"\tfrac") + r"\,"
        return rf"\left({s} + {c}\mathbf{{1}}\left[{{{left} = {right}}}\right]\right)"

    def _print_step(self, e: sp.Basic, exp: str | None = None) -> str:
        """A comparison of the text, 𝟏[a > b] (step(a − b) written as the user compared)."""
        left, right = (self._print(a) for a in sides(e.args[0]))
        s = rf"\mathbf{{1}}\left[{{{left} > {right}}}\right]"
        return rf"{{{s}}}^{{{exp}}}" if exp else s

    def _print_Elementwise(self, e: Elementwise) -> str:
        if e.name == "exp" and proper_matrix(e.operands[0]):
            # e^{A} of a matrix is the matrix exponential in standard notation (and our
            # reader refuses it as that): the element-wise one is written exp(A)
            return self._call(r"\exp", e.operands)
        if e.name == "abs" and proper_matrix(e.operands[0]):
            # |A| of a matrix is its determinant in standard notation (and our reader reads
            # it as that): the absolute values of its entries are written abs(A)
            return self._call(r"\operatorname{abs}", e.operands)
        if e.name == "Heaviside":  # max's slope of matrices: 𝟏[A > B] + ½ 𝟏[A = B]
            return self._half_step(e.operands[0], sp.S.Half)
        f = scalar_function(e.name)
        ph = tuple(sp.Symbol(f"_arg{i}") for i in range(len(e.operands)))
        saved = self.names
        self.names = ChainMap({}, saved)  # the placeholders' names, for this call only
        try:
            for p, a in zip(ph, e.operands, strict=True):
                s = self._print(a)
                self.names[p] = rf"\left({s}\right)" if isinstance(a, (MatAdd, HadamardProduct)) \
                    and e.name in ("exp", "pow") else s
            return self._print(f(*ph))  # type: ignore[no-any-return]
        finally:
            self.names = saved

    def _print_ElementwiseDerivative(self, e: ElementwiseDerivative) -> str:
        name = RULES[e.name].latex if e.name in RULES and RULES[e.name].latex else \
            rf"\operatorname{{{e.name}}}"
        if e.name == "abs":
            name = r"\operatorname{abs}"
        elif e.name == "sqrt":  # \sqrt takes an argument: f' needs f written whole
            name = r"\left(\sqrt{\cdot}\right)"
        elif "^" in name:  # (erf⁻¹)′: a prime after a superscript is a double superscript
            name = rf"\left({name}\right)"
        return rf"{name}'\left({self._print(e.args[1])}\right)"

    def _print_Function(self, e: sp.Basic, exp: str | None = None) -> str:
        name = type(e).__name__
        rule = RULES.get(BY_SYMPY.get(type(e), ""))
        if name in _PLAIN_FUNCTIONS or (rule is not None and rule.latex):
            s = self._call(rule.latex if rule is not None else "\\" + name, e.args)
            return rf"{s}^{{{exp}}}" if exp else s
        return super()._print_Function(e, exp)  # type: ignore[no-any-return]

    def _print_polygamma(self, e: sp.Basic, exp: str | None = None) -> str:
        """ψ(x) for the digamma function, ψ⁽ⁿ⁾(x) for the order n."""
        order = str(self._print(e.args[0]))
        name = r"\psi" if order == "0" else rf"\psi^{{({order})}}"
        s = self._call(name, e.args[1:])
        if self._named("psi"):  # beside a variable psi, \psi(x) reads back as psi times (x)
            s = self._call(r"\operatorname{digamma}", e.args[1:]) if order == "0" else \
                self._call(r"\operatorname{polygamma}", e.args)
        return rf"\left({s}\right)^{{{exp}}}" if exp else s

    def _print_besseli(self, e: sp.Basic, exp: str | None = None) -> str:
        """I_ν(x) with an upright I, as ISO 80000-2 writes the Bessel functions (SymPy's
        italic I_{1}(x) read back as the identity I₁ times x): ``\\operatorname{I}_{ν}(x)``."""
        order, x = e.args
        s = self._call(rf"\operatorname{{I}}_{{{self._print(order)}}}", (x,))
        return rf"{s}^{{{exp}}}" if exp else s

    def _print_log(self, e: sp.Basic, exp: str | None = None) -> str:
        s = self._call(r"\log", e.args)
        return rf"{s}^{{{exp}}}" if exp else s

    def _print_TensorOp(self, e: Any) -> str:
        return node_latex(e, self._print, self._letters)

    def _print_TensorVJP(self, e: Any) -> str:
        return node_latex(e, self._print, self._letters)

    def _print_TensorJVP(self, e: Any) -> str:
        return node_latex(e, self._print, self._letters)

    def _letters(self, x: sp.Basic) -> str | None:
        """The index letters ``x``'s entries are written with, if an einsum gave them."""
        table = self._table()
        return table.letters.get(x) if table is not None else None

    def _table(self) -> SymbolTable | None:
        """The derivation's table, under the views the printer layers on it."""
        stack: list[Any] = [self.names]
        while stack:
            m = stack.pop()
            if isinstance(m, SymbolTable):
                return m
            if isinstance(m, ChainMap):
                stack.extend(m.maps)
        return None

    def _print_Str(self, e: Any) -> str:
        return rf"\text{{{e.name}}}"


def expr_latex(e: sp.Basic, names: Mapping[sp.Basic, str] | None = None, *,
               sized: bool = False) -> str:
    """``e`` in LaTeX with ``names``; remembered when ``names`` is a derivation's table.
    ``sized``: ``e`` is a forward stage's right side, which LaTeX input reads back (a ones
    vector at the edge of a product is written with its length, 𝟏ₙuᵀ)."""
    memo = (names.sized_memo if sized else names.memo) if isinstance(names, SymbolTable) \
        else None
    if memo is not None:
        got = memo.get(e)
        if got is not None:
            return got
    out = _plain_product(e, names)
    if out is None:
        out = Printer(names, sized).doprint(e)
    if memo is not None:
        memo[e] = out
    return out


def _name(s: sp.Symbol) -> str:
    return str(s.name)


def _symbol_factors(e: sp.Mul) -> list[sp.Symbol]:
    """A product of Symbols' factors in ``as_ordered_factors``' order: the commutative ones
    sorted by their sort key, which for a Symbol orders as its name, the others after them
    as they stand (SymPy's sort keys are slow to build)."""
    if all(a.is_commutative for a in e.args):
        return sorted(e.args, key=_name)
    return e.as_ordered_factors()  # type: ignore[no-any-return]


def _plain_product(e: sp.Basic, names: Mapping[sp.Basic, str] | None) -> str | None:
    """A symbol, or a product of symbols, as ``Printer`` writes it, without making one: a
    scalarised network's equations are mostly ``t = w x`` and ``∂z/∂w = ∂z/∂t x``, and
    a printer's set-up and dispatch cost more than writing them."""
    t = type(e)
    if t is sp.Symbol:
        factors: Any = (e,)
    elif t is sp.Mul and all(type(a) is sp.Symbol for a in e.args):
        factors = _symbol_factors(e)
    else:
        return None
    table = names or {}
    return " ".join(table[f] if f in table else symbol_latex(str(f.name), "scalar")
                    for f in factors)


class SymbolTable(dict[sp.Basic, str]):
    """A derivation's symbol names, with the LaTeX of every expression printed with them.

    SymPy's printer orders the terms and factors of each sum and product (``sort_key``),
    which is most of the cost of an emitter; ``to_json`` prints each equation twice and a
    caller often asks for several formats, so each expression is printed once per
    derivation (450 stages of max(t, x)*min(t, y): ``latex``, ``markdown``, ``to_json``
    16 s -> 7 s together). Read-only by convention: the printer writes to its own ChainMap.
    """

    def __init__(self) -> None:
        super().__init__()
        self.memo: dict[sp.Basic, str] = {}
        self.sized_memo: dict[sp.Basic, str] = {}  # forward stages' (expr_latex's sized)
        # a tensor's index letters where an einsum wrote them (S = [Σ_d Q_{b,h,q,d} …]_{b,h,q,k}),
        # so that the softmax of S and its cotangent read S_{b,h,q,k}, not S_{i,j,k,l}
        self.letters: dict[sp.Basic, str] = {}
        # the glyphs the derivation's variables print as: a constant whose usual glyph is
        # one of them is written otherwise (the identity \mathbf{I}_{n}, exp(x) as \exp)
        self.taken: frozenset[str] = frozenset()
        self.variables: frozenset[str] = frozenset()  # the names (e, pi: not the constants)
        self.hidden: frozenset[str] = frozenset()  # those a function's word is (tr, ReLU)
