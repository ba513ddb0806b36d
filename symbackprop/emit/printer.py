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
    Inverse,
    MatAdd,
    MatMul,
    OneMatrix,
    Transpose,
)
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from ..algebra import is_matrix
from ..errors import LimitError
from ..functions import (
    MSE,
    CrossEntropy,
    DiagJacobian,
    Elementwise,
    ElementwiseDerivative,
    Indicator,
    Item,
    Softmax,
    SqNorm,
    scalar_function,
)
from ..notation import (
    Kind,
    symbol_latex,
)
from ..rules import BY_NODE, BY_SYMPY, RULES
from ..shapes import shape_of, tensor_dims
from ..structural import END, FULL
from .index_notation import node_latex

if TYPE_CHECKING:
    pass

_PLAIN_FUNCTIONS = {"sin", "cos", "tan", "tanh", "sinh", "cosh"}
_SUPER = re.compile(r"^(.*)\^\{\((\d+)\)\}(_\{[^{}]*\})?$")  # W^{(1)}, W^{(1)}_{h}


def kind_of(s: sp.Basic) -> Kind:
    shape = shape_of(s)
    if shape is None:
        return "scalar"
    if tensor_dims(shape) is not None:
        return "tensor"
    return "vector" if shape[1] == 1 else "matrix"


class Printer(LatexPrinter):  # type: ignore[misc]
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
                and _prints_as_sum(expr.args[1].args[0]):  # −(k − 1) of a 1×1 k, never −k − 1
            return rf"-\left({self._print(expr.args[1])}\right)"
        if any(isinstance(a, sp.Pow) and not a.exp.is_Number and a.exp.has(sp.Min, sp.Max)
               for a in expr.args):  # SymPy's fraction() asks is_constant() of such an
            # exponent by evaluating it at random points: min(z**y, -1) took minutes (a
            # hostile fuzz case); factor by factor instead
            return r" \cdot ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)
        try:
            return _not_a_call(super()._print_Mul(expr))
        except (ValueError, TypeError):  # SymPy's fraction() substitutes into the factors and
            # can compare Min(-1, zoo) (x**min(-1, 1/x), a hostile fuzz case): factor by factor
            return r" \cdot ".join(self.parenthesize(a, PRECEDENCE["Mul"]) for a in expr.args)

    # symbols ------------------------------------------------------------------------------
    def _print_Rational(self, e: sp.Rational) -> str:  # (an Integer's too)
        return super()._print_Rational(_printable(e))  # type: ignore[no-any-return]

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
        if rows == 1 and cols == 1:  # c + 1 of a 1×1 c: the number, which needs no length
            return "1"
        return r"\mathbf{1}^{\top}" if rows == 1 and cols != 1 else r"\mathbf{1}"

    def _print_ZeroMatrix(self, e: Any) -> str:
        return r"\mathbf{0}"

    def _print_Identity(self, e: Any) -> str:
        """𝐈; 𝐈ₙ with its size when a variable prints as 𝐈 (the reader reads 𝐈ₙ as the
        identity even with I declared); of size 1, the number 1."""
        if e.shape[0] == 1:
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
        return rf"{glyph}_{{{self._print(size)}}}" if glyph in self._taken() else glyph

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
        if _prints_as_sum(core) or (strong and (isinstance(core, (
                HadamardProduct, MatMul, sp.Mul)) or _reciprocal(core))):
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
        if _bracketed(inner):
            return rf"{s}^{{\top}}"
        if isinstance(inner, (sp.MatrixSymbol, OneMatrix)):
            m = _SUPER.match(s)
            if m:  # one superscript: the layer's and the transpose (W^{(1)\top}_{h})
                return rf"{m.group(1)}^{{({m.group(2)})\top}}{m.group(3) or ''}"
            return rf"{s}^{{\top}}"
        return rf"\left({s}\right)^{{\top}}"

    def doprint(self, expr: Any) -> str:
        self._top = expr
        return super().doprint(expr)  # type: ignore[no-any-return]

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
        mats, count = _fold_ones([a for a in args if is_matrix(a)])
        coeff *= count
        mats = [m for m in mats if not (isinstance(m, OneMatrix) and m.shape == (1, 1))]
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
                 self._wrap(m, strong=isinstance(m, HadamardProduct) or _reciprocal(m))
                 for k, m in enumerate(mats)]
        body = _juxtapose(parts)
        if coeff == 1:
            return body
        if coeff == -1:
            return "-" + body
        c = self._print(coeff)
        core = coeff.args[0] if isinstance(coeff, Item) else None  # a 1×1's sum, ⊙ or ⊘:
        if isinstance(coeff, sp.Add) or precedence(coeff) < PRECEDENCE["Mul"] or (
                core is not None and (isinstance(core, HadamardProduct) or _reciprocal(core)
                                      or _prints_as_sum(core))):  # (c + 2) x, (rx ⊘ eᵏ) A
            c = rf"\left({c}\right)"
        return _not_a_call(rf"{c}\,{body}")

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
            neg, body = _split_sign(t)
            if neg and isinstance(body, HadamardProduct):  # −((−u) ⊙ v): + u ⊙ v
                again, inner = _split_sign(body)
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
        if e.name == "exp" and _proper_matrix(e.operands[0]):
            # e^{A} of a matrix is the matrix exponential in standard notation (and our
            # reader refuses it as that): the element-wise one is written exp(A)
            return self._call(r"\exp", e.operands)
        if e.name == "abs" and _proper_matrix(e.operands[0]):
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

    def _print_DiagJacobian(self, e: DiagJacobian) -> str:
        return rf"\operatorname{{diag}}\left({self._print(e.args[0])}\right)"

    def _print_Softmax(self, e: Softmax) -> str:
        return self._call(softmax_latex(e.args[0]), e.args)

    def _print_Determinant(self, e: Any) -> str:
        return self._call(r"\det", e.args)

    def _print_Inverse(self, e: Any) -> str:
        a = e.args[0]  # SymPy's Inverse also holds the exponent −1
        if isinstance(a, Transpose):  # (Xᵀ)⁻¹ = X⁻ᵀ
            return rf"{self._operand(a.args[0])}^{{-\top}}"
        return rf"{self._operand(a)}^{{-1}}"

    def _operand(self, a: sp.Basic) -> str:
        """``a`` ready for a superscript: a symbol as it is (braced when it has one: W⁽¹⁾),
        anything else in parentheses."""
        s = str(self._print(a))
        if not isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not _bracketed(a):
            return rf"\left({s}\right)"
        return f"{{{s}}}" if "^" in s else s

    def _print_Norm(self, e: Any) -> str:
        (a,) = e.args
        sub = "_{F}" if kind_of(a) == "matrix" else ""
        return rf"\left\lVert {self._print(a)} \right\rVert{sub}"

    def _print_Norm1(self, e: Any) -> str:
        """The sum of the entries' absolute values: ‖x‖₁ of a vector; of a matrix (a row
        too) the entry-wise norm ‖X‖₁,₁ (the L_{p,q} norms' ‖vec X‖₁), as ‖X‖₁ is the
        largest column sum there (the literature's and NumPy's ord=1, as the reader reads it)."""
        (a,) = e.args
        sub = "1,1" if kind_of(a) == "matrix" else "1"
        return rf"\left\lVert {self._print(a)} \right\rVert_{{{sub}}}"

    def _print__MatrixReduction(self, e: Any) -> str:
        rule = BY_NODE.get(type(e))
        name = rule.latex if rule is not None and rule.latex else \
            rf"\operatorname{{{type(e).__name__}}}"
        return self._call(name, e.args)

    def _print__AlongAxis(self, e: Any) -> str:
        per = r"\text{col}" if e.axis == 0 else r"\text{row}"  # the max of each column/row
        name = r"\operatorname{logsumexp}" if e.which == "logsumexp" else rf"\{e.which}"
        return self._call(rf"{name}_{{{per}}}", e.args[:1])

    def _print_CumProd(self, e: Any) -> str:
        per = r"\text{col}" if e.axis == 0 else r"\text{row}"  # down each column / row
        return self._call(rf"\operatorname{{cumprod}}_{{{per}}}", e.args[:1])

    # structural ---------------------------------------------------------------------------
    def _indexed(self, a: sp.Basic) -> str:
        """``a`` ready for a subscript: a symbol braced when it has a sub- or superscript
        (a second subscript is a TeX error), anything else in parentheses."""
        s = str(self._print(a))
        if isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not s.startswith(r"\frac"):
            return f"{{{s}}}" if "_" in s or "^" in s else s
        if _bracketed(a):
            return s
        return rf"\left({s}\right)"  # an adjoint ∂L/∂t too: (∂L/∂t)_{0:2}

    def _span(self, s: Any) -> str:
        start, stop, step = s
        if tuple(s) == FULL:
            return ":"
        if (step == 1 and stop != END and (stop - start) == 1) or (start, stop) == (-1, END):
            return str(self._print(start))  # one entry: its index
        out = f"{self._print(start)}:{'' if stop == END else self._print(stop)}"
        return out + (f":{self._print(step)}" if step != 1 else "")

    def _spans(self, shape: Any, rows: Any, cols: Any) -> str:
        """The subscript of a slice: a vector's one index, a matrix's two."""
        if shape[1] == 1 and shape[0] != 1:
            return self._span(rows)
        if shape[0] == 1 and shape[1] != 1:
            return self._span(cols)
        return rf"{self._span(rows)},\,{self._span(cols)}"

    def _print_Slice(self, e: Any) -> str:
        x = e.args[0]
        return f"{self._indexed(x)}_{{{self._spans(x.shape, *e.spans)}}}"

    def _block_matrix(self, inner: str, sizes: tuple[Any, Any, Any, Any], fill: str) -> str:
        """``inner`` with blocks of ``fill`` before and after it along each axis (a block of
        size 0 left out)."""
        rb, ra, cb, ca = sizes
        rows = [k for k, n in (("b", rb), ("m", 1), ("a", ra)) if n != 0]
        cols = [k for k, n in (("b", cb), ("m", 1), ("a", ca)) if n != 0]
        if rows == cols == ["m"]:
            return inner
        body = r" \\ ".join(" & ".join(inner if (r, c) == ("m", "m") else fill for c in cols)
                              for r in rows)
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"

    def _print_Embed(self, e: Any) -> str:
        g, like = e.args[0], e.args[1]
        rows, cols = e.spans
        if rows[2] != 1 or cols[2] != 1:  # a strided slice: no block form
            return rf"\operatorname{{scatter}}_{{{self._spans(like.shape, rows, cols)}}}" \
                   rf"\left({self._print(g)}\right)"
        sizes: list[Any] = []
        for n, (start, stop, _) in zip(like.shape, (rows, cols), strict=True):
            lo = start + n if start.is_negative else start
            hi = n if stop == END else (stop + n if stop.is_negative else stop)
            sizes += [lo, n - hi]
        return self._block_matrix(self._print(g), tuple(sizes), r"\mathbf{0}")  # type: ignore

    def _print_Pad(self, e: Any) -> str:
        fill = e.args[2]
        block = r"\mathbf{0}" if fill == 0 else rf"{self._print(fill)}\,\mathbf{{1}}"
        return self._block_matrix(self._print(e.args[0]), e.widths, block)

    def _print_Concat(self, e: Any) -> str:
        sep = r" \\ " if e.axis == 0 else " & "
        return rf"\begin{{bmatrix}} {sep.join(self._print(x) for x in e.blocks)} \end{{bmatrix}}"

    def _print_Reshape(self, e: Any) -> str:
        x = e.args[0]
        rows, cols = e.shape
        if cols == 1 and x.shape[1] != 1:  # row by row into a column: vec of the transpose
            return rf"\operatorname{{vec}}\left({self._print(Transpose(x))}\right)"
        return rf"\operatorname{{reshape}}_{{{self._print(rows)} \times {self._print(cols)}}}" \
               rf"\left({self._print(x)}\right)"

    def _print_Kron(self, e: Any) -> str:
        """A ⊗ B; a ones factor (tile, repeat) with its size: 𝟏_{2×3} ⊗ X."""
        return r" \otimes ".join(
            rf"\mathbf{{1}}_{{{self._print(a.shape[0])} \times {self._print(a.shape[1])}}}"
            if isinstance(a, OneMatrix) else self._wrap(a, strong=True) for a in e.args)

    def _print_KronLeft(self, e: Any) -> str:
        g, b = e.args
        return rf"\left[\left\langle {self._indexed(g)}_{{(i,j)}}, {self._print(b)}" \
               rf"\right\rangle\right]_{{i,j}}"

    def _print_KronRight(self, e: Any) -> str:
        g, a = e.args
        weight = "" if isinstance(a, OneMatrix) else rf"{self._indexed(a)}_{{ij}}\,"
        return rf"\sum_{{i,j}} {weight}{self._indexed(g)}_{{(i,j)}}"

    def _print_Indicator(self, e: Any) -> str:
        """𝟏[X = M]; along an axis, divided by the number of ties in each row (column) that
        shares the slope: 𝟏[X = M] ⊘ (𝟏[X = M] 𝟏𝟏ᵀ), bracketed whole."""
        a, b = (self._print(x) for x in e.args[:2])
        hit = rf"\mathbf{{1}}\left[{a} = {b}\right]"
        if e.axis is None:
            return hit
        m, n = e.shape
        ones = self._ones(OneMatrix(n, n) if e.axis == 1 else OneMatrix(m, m), False, False)
        count = rf"{hit}\,{ones}" if e.axis == 1 else rf"{ones}\,{hit}"
        return rf"\left({hit} \oslash \left({count}\right)\right)"

    def _print_Item(self, e: Any) -> str:
        return str(self._print(e.args[0]))  # xᵀAx is a scalar: no [·]₁₁

    def _print_SumAll(self, e: Any) -> str:
        return self._call(r"\operatorname{sum}", e.args)

    def _print_SqNorm(self, e: Any) -> str:
        (a,) = e.args
        sub = "_{F}" if kind_of(a) == "matrix" else ""
        return rf"\left\lVert {self._print(a)} \right\rVert{sub}^{{2}}"

    def _print_MSE(self, e: Any) -> str:
        o, y = e.args
        diff = f"{self._print(o)} - {self._wrap(y)}"  # o − (a + b), never o − a + b
        return rf"\tfrac{{1}}{{2}}\left\lVert {diff} \right\rVert^{{2}}"

    def _print_CrossEntropy(self, e: Any) -> str:
        o, y = e.args
        logp = rf"\log {softmax_latex(o)}\left({self._print(o)}\right)"
        if kind_of(o) == "vector":
            return rf"-{self._print(Transpose(y))}\,{logp}"
        return rf"-\operatorname{{sum}}\left({self._print(y)} \odot {logp}\right)"

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


MAX_DIGITS = 4000  # Python refuses to write an integer of more than 4,300 digits


def _printable(e: sp.Rational) -> sp.Rational:
    """``e``, when its digits can be written: SymPy's exact arithmetic can make numbers of
    any size from small ones ((a·2²⁵⁵)¹⁰⁰⁰ has 2²⁵⁵⁰⁰⁰ in its gradient)."""
    bits = max(abs(int(e.p)).bit_length(), int(e.q).bit_length())
    if bits * 0.30103 > MAX_DIGITS:
        raise LimitError(f"a number of {bits:,} bits in the derivation: too long to print "
                         f"(more than {MAX_DIGITS:,} digits); it is beyond a float too")
    return e


def softmax_latex(o: sp.Basic) -> str:
    """softmax normalises each column: a matrix that may have more than one column says so
    (attention and row-major batches normalise rows; the reader must not guess)."""
    cols = o.shape[1] if is_matrix(o) else sp.S.One
    return r"\operatorname{softmax}" if cols == 1 else r"\operatorname{softmax}_{\text{col}}"


# a variable σ, ψ or Γ (sigma, psi, Gamma) before a bracket: σ (x + y) is the sigmoid of
# x + y on paper (and to the LaTeX reader), ψ (x) the digamma function, Γ (x) the gamma
# function; the product is written with a dot, σ · (x + y)
_CALL_GLYPH = re.compile(r"(?<![A-Za-z])(\\sigma|\\psi|\\Gamma)(\^\{[^{}]*\})?(?: |\\,)+"
                         r"(?=\\left[(\[])")


def _not_a_call(s: str) -> str:
    """A product ``s`` with a factor σ, ψ or Γ before a bracket written ``σ · (…)``."""
    return _CALL_GLYPH.sub(lambda m: m.group(1) + (m.group(2) or "") + r" \cdot ", s) \
        if "\\left" in s else s


def _juxtapose(parts: list[str]) -> str:
    """A product written by juxtaposition; a thin space only next to fractions and brackets."""
    out = parts[0]
    for p in parts[1:]:
        thin = (out.endswith((r"\right)", "}}")) and r"\frac" in out) or p.startswith(
            (r"\frac", r"\left("))
        out += (r"\," if thin else "") + p
    return out


def _prints_as_sum(e: sp.Basic) -> bool:
    """Whether ``e`` prints with a + or − between terms: a sum, a 1×1's (its Item), or a
    number's sum times the 1×1 ones (2 + xᵀy of a 1×1, as a ⊙'s operand)."""
    if isinstance(e, Item):
        e = e.args[0]
    if isinstance(e, (MatAdd, sp.Add)):
        return True
    if isinstance(e, MatMul) and all(isinstance(a, OneMatrix) and a.shape == (1, 1)
                                     for a in e.args if is_matrix(a)):
        scalars = [a for a in e.args if not is_matrix(a)]
        return len(scalars) == 1 and isinstance(scalars[0], sp.Add)
    return False


def sides(x: sp.Basic) -> tuple[sp.Basic, sp.Basic]:
    """a and b of a − b: the terms of x with a minus sign on the right (0 when none)."""
    terms = x.args if isinstance(x, (sp.Add, MatAdd)) else (x,)
    split = [_split_sign(t) for t in terms]
    pos = [t for neg, t in split if not neg]
    neg = [t for neg, t in split if neg]
    if not neg:
        return x, sp.S.Zero

    def total(ts: list[sp.Basic]) -> sp.Basic:
        return sp.S.Zero if not ts else ts[0] if len(ts) == 1 else \
            MatAdd(*ts) if is_matrix(ts[0]) else sp.Add(*ts)
    return total(pos), total(neg)


def _bracketed(e: sp.Basic) -> bool:
    """Whether ``e`` prints in brackets of its own: max's slope of matrices, (𝟏[A > B] +
    ½ 𝟏[A = B]), and the shared 𝟏[X = M] along an axis."""
    return (isinstance(e, Elementwise) and e.name == "Heaviside") or (
        isinstance(e, Indicator) and e.axis is not None)


def _reciprocal(e: sp.Basic) -> bool:
    """Whether ``e`` is the element-wise reciprocal, printed 1 ⊘ e (an operand of a product
    or a divisor is then bracketed: u ⊘ (1 ⊘ v), never u ⊘ 1 ⊘ v, which reads as u ⊘ v)."""
    return isinstance(e, HadamardPower) and e.args[1] == -1


def _split_sign(t: sp.Basic) -> tuple[bool, sp.Basic]:
    if isinstance(t, MatMul):
        c = sp.Mul(*[a for a in t.args if not is_matrix(a)])
        mats = [a for a in t.args if is_matrix(a)]
        if c.could_extract_minus_sign():
            return True, MatMul(-c, *mats) if -c != 1 else (mats[0] if len(mats) == 1
                                                          else MatMul(*mats))
    elif isinstance(t, HadamardProduct):  # A − u ⊙ Av, never A + −u ⊙ Av
        for k, a in enumerate(t.args):
            neg, body = _split_sign(a) if isinstance(a, MatMul) else (False, a)
            if neg:
                return True, HadamardProduct(*t.args[:k], body, *t.args[k + 1:])
    elif isinstance(t, sp.Expr) and not is_matrix(t) and t.could_extract_minus_sign():
        return True, -t
    return False, t


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


def _fold_ones(mats: list[Any]) -> tuple[list[Any], sp.Expr]:
    """The matrix factors of a product with each run of ones matrices as one, and the number
    the run multiplies by: 𝟏𝟏ᵀ𝟏 is n𝟏 (printed as it stands, 𝟏ᵀ𝟏 has a length that nothing
    fixes, and it read back as the number 1). Only lengths that are numbers fold."""
    out: list[Any] = []
    count: sp.Expr = sp.S.One
    for m in mats:
        prev = out[-1] if out else None
        if isinstance(m, OneMatrix) and isinstance(prev, OneMatrix) and m.shape[0].is_Integer:
            count *= m.shape[0]
            out[-1] = OneMatrix(prev.shape[0], m.shape[1])
        else:
            out.append(m)
    return [m for m in out if not (isinstance(m, OneMatrix) and m.shape == (1, 1))], count


def _proper_matrix(a: Any) -> bool:
    """A matrix with two dimensions other than 1 (symbolic ones too), not a vector, a 1×1
    or a tensor: what e^{A} would be the matrix exponential of."""
    shape = shape_of(a)
    return shape is not None and tensor_dims(shape) is None and shape[0] != 1 \
        and shape[1] != 1
