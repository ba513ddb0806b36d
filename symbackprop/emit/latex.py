"""LaTeX: a SymPy printer that speaks our notation, and the derivation as one aligned block.

Expression bodies come from SymPy's ``LatexPrinter`` with a table of symbol names; what SymPy
has no good form for (matrix products that keep their order, ⊙, ᵀ, 1, losses, σ) is printed
here. The structure (aligned rows, ∂-fractions, chain-rule lines) comes from the emitter.
Everything printed is plain amsmath: it renders in KaTeX and compiles with pdflatex.
"""

from __future__ import annotations

import re
import weakref
from collections import ChainMap
from collections.abc import Mapping, MutableMapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any, cast

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, OneMatrix, Transpose
from sympy.printing.latex import LatexPrinter

from ..algebra import is_matrix, transpose
from ..functions import (
    DiagJacobian,
    Elementwise,
    ElementwiseDerivative,
    Softmax,
)
from ..graph import shape_of
from ..notation import (
    LAYOUT_NOTE,
    Kind,
    adjoint_latex,
    nabla_latex,
    partial_latex,
    symbol_latex,
)
from ..rules import BY_SYMPY, RULES, scalar_function

if TYPE_CHECKING:
    from ..derive import Derivation

_PLAIN_FUNCTIONS = {"sin", "cos", "tan", "tanh", "sinh", "cosh"}
_SUPER = re.compile(r"^(.*)\^\{\((\d+)\)\}$")


def kind_of(s: sp.Basic) -> Kind:
    shape = shape_of(s)
    if shape is None:
        return "scalar"
    return "vector" if shape[1] == 1 else "matrix"


class Printer(LatexPrinter):  # type: ignore[misc]
    """SymPy's LaTeX printer with our names and our matrix notation."""

    def __init__(self, names: Mapping[sp.Basic, str] | None = None) -> None:
        super().__init__({"mul_symbol": None, "fold_short_frac": False})
        # a view, not a copy: the emitters print every equation with the whole table
        self.names: MutableMapping[sp.Basic, str] = ChainMap(
            {}, cast("dict[sp.Basic, str]", names or {}))  # writes go to the first map only

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Any]:
        # SymPy orders a sum through a monomial vector per term: quadratic in the terms
        if len(expr.args) > 200:
            return list(expr.args)
        return super()._as_ordered_terms(expr, order)  # type: ignore[no-any-return]

    # symbols ------------------------------------------------------------------------------
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
        return r"\mathbf{1}^{\top}" if rows == 1 and cols != 1 else r"\mathbf{1}"

    def _print_ZeroMatrix(self, e: Any) -> str:
        return r"\mathbf{0}"

    def _print_Identity(self, e: Any) -> str:
        return r"\mathbf{I}"

    # matrix operations -----------------------------------------------------------------------
    def _wrap(self, e: sp.Basic, strong: bool = False) -> str:
        s = self._print(e)
        if isinstance(e, (MatAdd, sp.Add)) or (strong and isinstance(e, (HadamardProduct,
                                                                          MatMul, sp.Mul))):
            return rf"\left({s}\right)"
        return s

    def _print_Transpose(self, e: Transpose) -> str:
        inner = e.args[0]
        s = self._print(inner)
        if isinstance(inner, (sp.MatrixSymbol, OneMatrix)):
            m = _SUPER.match(s)
            if m:
                return rf"{m.group(1)}^{{({m.group(2)})\top}}"
            return rf"{s}^{{\top}}"
        return rf"\left({s}\right)^{{\top}}"

    def _print_MatMul(self, e: MatMul) -> str:
        coeff = sp.Mul(*[a for a in e.args if not is_matrix(a)])
        mats = [a for a in e.args if is_matrix(a)]
        body = _juxtapose([self._wrap(m, strong=isinstance(m, HadamardProduct)) for m in mats])
        if coeff == 1:
            return body
        if coeff == -1:
            return "-" + body
        c = self._print(coeff)
        if isinstance(coeff, sp.Add):
            c = rf"\left({c}\right)"
        return rf"{c}\,{body}"

    def _print_MatAdd(self, e: MatAdd) -> str:
        out = ""
        for i, t in enumerate(e.args):
            neg, body = _split_sign(t)
            s = self._wrap(body) if neg else self._print(body)  # W - (W + W)
            if i == 0:
                out = ("-" if neg else "") + s
            else:
                out += (" - " if neg else " + ") + s
        return out

    def _print_HadamardProduct(self, e: HadamardProduct) -> str:
        return r" \odot ".join(self._wrap(a) for a in e.args)

    def _print_HadamardPower(self, e: HadamardPower) -> str:
        base, ex = e.args
        b = self._print(base)
        if not isinstance(base, (sp.MatrixSymbol,)):
            b = rf"\left({b}\right)"
        elif "^" in b:  # \mathbf{h}^{(1)}: a second superscript needs braces
            b = f"{{{b}}}"
        if ex == -1:
            return rf"\mathbf{{1}} \oslash {b}"
        return rf"{b}^{{\circ {self._print(ex)}}}"

    # functions ----------------------------------------------------------------------------
    def _call(self, name: str, args: tuple[sp.Basic, ...]) -> str:
        return rf"{name}\left({', '.join(self._print(a) for a in args)}\right)"

    def _print_Heaviside(self, e: sp.Basic, exp: str | None = None) -> str:
        s = self._call(r"H", e.args[:1])
        return rf"{s}^{{{exp}}}" if exp else s

    def _print_Elementwise(self, e: Elementwise) -> str:
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
        return rf"{name}'\left({self._print(e.args[1])}\right)"

    def _print_DiagJacobian(self, e: DiagJacobian) -> str:
        return rf"\operatorname{{diag}}\left({self._print(e.args[0])}\right)"

    def _print_Softmax(self, e: Softmax) -> str:
        return self._call(softmax_latex(e.args[0]), e.args)

    def _print_SumAll(self, e: Any) -> str:
        return self._call(r"\operatorname{sum}", e.args)

    def _print_SqNorm(self, e: Any) -> str:
        (a,) = e.args
        sub = "_{F}" if kind_of(a) == "matrix" else ""
        return rf"\left\lVert {self._print(a)} \right\rVert{sub}^{{2}}"

    def _print_MSE(self, e: Any) -> str:
        o, y = e.args
        diff = f"{self._print(o)} - {self._print(y)}"
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

    def _print_log(self, e: sp.Basic, exp: str | None = None) -> str:
        s = self._call(r"\log", e.args)
        return rf"{s}^{{{exp}}}" if exp else s

    def _print_Str(self, e: Any) -> str:
        return rf"\text{{{e.name}}}"


def softmax_latex(o: sp.Basic) -> str:
    """softmax normalises each column: a matrix that may have more than one column says so
    (attention and row-major batches normalise rows; the reader must not guess)."""
    cols = o.shape[1] if is_matrix(o) else sp.S.One
    return r"\operatorname{softmax}" if cols == 1 else r"\operatorname{softmax}_{\text{col}}"


def _juxtapose(parts: list[str]) -> str:
    """A product written by juxtaposition; a thin space only next to fractions and brackets."""
    out = parts[0]
    for p in parts[1:]:
        thin = (out.endswith((r"\right)", "}}")) and r"\frac" in out) or p.startswith(
            (r"\frac", r"\left("))
        out += (r"\," if thin else "") + p
    return out


def _split_sign(t: sp.Basic) -> tuple[bool, sp.Basic]:
    if isinstance(t, MatMul):
        c = sp.Mul(*[a for a in t.args if not is_matrix(a)])
        mats = [a for a in t.args if is_matrix(a)]
        if c.could_extract_minus_sign():
            return True, MatMul(-c, *mats) if -c != 1 else (mats[0] if len(mats) == 1
                                                          else MatMul(*mats))
    elif isinstance(t, sp.Expr) and not is_matrix(t) and t.could_extract_minus_sign():
        return True, -t
    return False, t


def expr_latex(e: sp.Basic, names: Mapping[sp.Basic, str] | None = None) -> str:
    """``e`` in LaTeX with ``names``; remembered when ``names`` is a derivation's table."""
    memo = names.memo if isinstance(names, SymbolTable) else None
    if memo is not None:
        got = memo.get(e)
        if got is not None:
            return got
    out: str = Printer(names).doprint(e)
    if memo is not None:
        memo[e] = out
    return out


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


# ---------------------------------------------------------------------------------------
# The derivation


_TABLES: weakref.WeakKeyDictionary[Any, SymbolTable] = weakref.WeakKeyDictionary()  # ours


def symbol_table(d: Derivation) -> SymbolTable:
    """LaTeX for every symbol of a derivation: inputs, intermediates and their adjoints
    (made once per derivation and shared by its emitters; do not modify it)."""
    cached = _TABLES.get(d)
    if cached is not None:
        return cached
    names = _TABLES[d] = SymbolTable()
    for s in (*d.inputs, *(eq.lhs for eq in d.forward)):
        names[s] = symbol_latex(str(s.name), kind_of(s))
    out = names[d.output]
    layers = _delta_layers(d) if d.options.adjoint == "delta" else {}
    for v, a in d.adjoints.items():
        if v in layers:
            names[a] = rf"\boldsymbol{{\delta}}^{{({layers[v]})}}"
        else:
            names[a] = adjoint_latex(names[v], out, d.options.adjoint)
    return names


def _delta_layers(d: Derivation) -> dict[sp.Basic, int]:
    """Layer numbers for the δ of pre-activations z1, z2, … (z alone is layer 1; o the last)."""
    layer: dict[sp.Basic, int] = {}
    for eq in d.forward:
        m = re.fullmatch(r"z(\d*)", str(eq.lhs.name))
        if m and is_matrix(eq.lhs):
            layer[eq.lhs] = int(m.group(1) or 1)
    for eq in d.forward:
        if str(eq.lhs.name) == "o" and is_matrix(eq.lhs):
            layer[eq.lhs] = max(layer.values(), default=0) + 1
    return layer


def recursion_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀ δ⁽ˡ⁺¹⁾) ⊙ σ'(z⁽ˡ⁾): each activation's adjoint folded into its input's."""
    lines = []
    for eq in d.forward:
        rhs = eq.rhs
        if not (isinstance(rhs, Elementwise) and len(rhs.operands) == 1
                and rhs.operands[0] in d.adjoints and eq.lhs in d.adjoints):
            continue
        z = rhs.operands[0]
        terms = d.terms.get(eq.lhs, [])
        if len(terms) != 1 or len(d.terms.get(z, [])) != 1:
            continue
        inner = _fmt(d, names, terms[0].value)
        deriv = _fmt(d, names, ElementwiseDerivative(rhs.name, z))
        lines.append(rf"{names[d.adjoints[z]]} &= \left({inner}\right) \odot {deriv}")
    return lines[::-1] if _layer_count(d) >= 2 else []


def _layer_count(d: Derivation) -> int:
    return sum(1 for eq in d.forward if isinstance(eq.rhs, Elementwise))


def _fmt(d: Derivation, names: Mapping[sp.Basic, str], e: sp.Basic) -> str:
    return expr_latex(e, names)


def _partial(d: Derivation, names: Mapping[sp.Basic, str], u: sp.Basic, v: sp.Basic) -> str:
    return partial_latex(names[u], names[v])


def _product(factors: list[str]) -> str:
    r"""Factors joined by ``\cdot``; a negative one after the first in parentheses."""
    return r" \cdot ".join(rf"\left({f}\right)" if i and f.startswith("-") else f
                           for i, f in enumerate(factors))


def _signed_sum(terms: list[str]) -> str:
    """Terms joined by + and -, never ``+ -``."""
    out = terms[0]
    for t in terms[1:]:
        out += f" - {t[1:].lstrip()}" if t.startswith("-") else f" + {t}"
    return out


def _factor(s: str) -> str:
    """Parenthesise a printed factor of a product when it is a sum."""
    depth = 0
    for i, ch in enumerate(s):
        if ch in "{(":
            depth += 1
        elif ch in "})":
            depth -= 1
        elif ch in "+-" and depth == 0 and i > 0:
            return rf"\left({s}\right)"
    return s


def forward_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    return [rf"{names[eq.lhs]} &= {_fmt(d, names, eq.rhs)}" for eq in d.forward]


def partial_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    return [rf"{_partial(d, names, u, v)} &= {_fmt(d, names, p)}"
            for (u, v), p in d.partials.items()]


def backward_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """One line per step of the sweep; parameters completed by the same step share a line."""
    by_lhs = {eq.lhs: eq for eq in d.backward}
    lines = []
    for group in d.groups[1:]:
        parts = []
        for v in group:
            eq = by_lhs[d.adjoints[v]]
            rhs = _fmt(d, names, eq.rhs)
            extra = _derivative_form(d, names, v)
            parts.append((names[eq.lhs], f"{extra} = {rhs}" if extra else rhs))
        head, first = parts[0]
        line = f"{head} &= {first}"
        for h, r in parts[1:]:
            line += rf", \qquad {h} = {r}"
        lines.append(line)
    return lines


def _derivative_form(d: Derivation, names: Mapping[sp.Basic, str], v: sp.Basic) -> str:
    """``∂L/∂h ⊙ σ'(z)`` before it is written out, for an activation's input."""
    terms = d.terms.get(v, [])
    if len(terms) != 1 or not is_matrix(v):
        return ""
    u = terms[0].consumer
    eq = next(e for e in d.forward if e.lhs == u)
    if not (isinstance(eq.rhs, Elementwise) and eq.rhs.operands == (v,)
            and eq.rhs.name in RULES and RULES[eq.rhs.name].latex):
        return ""
    g = names[d.adjoints[u]]
    return rf"{g} \odot {_fmt(d, names, ElementwiseDerivative(eq.rhs.name, v))}"


def chain_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    return matrix_chain_lines(d, names) if d.is_matrix else scalar_chain_lines(d, names)


MAX_EXPANDED = 400  # nodes: a gradient larger than this, substituted, is not printed in full
MAX_CHAIN = 12  # equations: a longer path is shown through the backward equations instead


def needs_backward(d: Derivation) -> bool:
    """A scalar derivation whose chain lines lean on the backward (adjoint) equations."""
    for v in d.wrt:
        paths = d.paths(v)
        if paths and (len(paths) > d.options.max_paths or max(map(len, paths)) > MAX_CHAIN):
            return True
    return False


def scalar_chain_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    lines = []
    out = d.output
    backward = {e.lhs: e for e in d.backward}
    printed: dict[sp.Basic, str] = {}  # a local partial lies on the paths of many parameters

    def partial_value(e: sp.Basic) -> str:
        s = printed.get(e)
        if s is None:
            s = printed[e] = _factor(_fmt(d, names, e))
        return s

    for v in d.wrt:
        paths = d.paths(v)
        head = _partial(d, names, out, v)
        small = d.expanded_size(v) <= MAX_EXPANDED
        final = _fmt(d, names, d.gradients[v]) if small else ""
        if not paths:
            lines.append(f"{head} &= 0")
            continue
        if len(paths) > d.options.max_paths or max(map(len, paths)) > MAX_CHAIN:
            adj = backward[d.adjoints[v]]
            lines.append(rf"{head} &= {_fmt(d, names, adj.rhs)}" + (f" = {final}" if small
                                                                       else ""))
            continue
        symbolic = " + ".join(r"\,".join(_partial(d, names, b, a) for a, b in
                                         reversed(list(pairwise(p))))
                              for p in paths)
        values = _signed_sum([_product([partial_value(d.partials[(b, a)])
                                        for a, b in reversed(list(pairwise(p)))])
                              for p in paths])
        steps = [symbolic, values]
        if len(paths) > 1 and small:
            adj = backward[d.adjoints[v]]
            steps.append(_fmt(d, names, _in_intermediates(d, adj.rhs)))
        if small:
            steps.append(final)
        dedup = [s for i, s in enumerate(steps) if i == 0 or s != steps[i - 1]]
        lines.append(f"{head} &= " + " = ".join(dedup))
    return lines


def _in_intermediates(d: Derivation, e: sp.Basic) -> sp.Basic:
    """An adjoint's right side with the other adjoints substituted (still in intermediates)."""
    return e.xreplace(d.adjoints_in_intermediates())


def matrix_chain_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    lines = []
    shown: set[tuple[sp.Basic, sp.Basic]] = set()
    layout = d.options.layout
    out = d.output
    for v in d.wrt:
        paths = d.paths(v)
        if not paths or len(paths) > d.options.max_paths or all(len(p) == 2 for p in paths):
            continue  # (a direct edge only: ∇_W J = ∇_W J says nothing)
        products = []
        named = []
        for p in paths:
            edges = list(pairwise(p))  # (from, to)
            if layout == "denominator":
                factors = [rf"\left({nabla_latex(names[b], names[a])}\right)" for a, b in edges]
            else:
                factors = [partial_latex(names[b], names[a]) for a, b in reversed(edges)]
            products.append("".join(factors) if layout == "denominator" else r"\,".join(factors))
            for a, b in edges:
                if (a, b) in shown or not is_matrix(b):
                    continue
                shown.add((a, b))
                j = d.jacobian(b, a)
                if j is None:
                    continue
                if layout == "denominator":
                    lhs, j = nabla_latex(names[b], names[a]), transpose(j)
                else:
                    lhs = partial_latex(names[b], names[a])
                named.append(f"{lhs} = {_fmt(d, names, j)}")
        head = nabla_latex(names[out], names[v]) if layout == "denominator" else \
            partial_latex(names[out], names[v])
        line = f"{head} &= " + " + ".join(products)
        for n in named:
            line += rf", \quad {n}"
        lines.append(line)
    return lines


LATEX_SECTIONS = ("forward", "partials", "backward", "recursion", "chain")


def derivation_latex(d: Derivation, sections: Sequence[str] | None = None,
                     environment: bool = True) -> str:
    """The derivation as one ``aligned`` block (without ``$$``)."""
    names = symbol_table(d)
    if isinstance(sections, str):  # one section by name, not its letters
        sections = (sections,)
    if sections is not None:
        unknown = [s for s in sections if s not in LATEX_SECTIONS]
        if unknown:
            raise ValueError(f"unknown sections {unknown}; choose from "
                             f"{', '.join(LATEX_SECTIONS)}")
    if sections is None:
        sections = ("forward", "backward", "chain") if d.is_matrix or needs_backward(d) \
            else ("forward", "chain")
        if d.is_matrix and _layer_count(d) >= 2:
            sections = ("forward", "backward", "recursion", "chain")
    titled = d.is_matrix or len(sections) > 2
    blocks: list[list[str]] = []
    titles = {
        "forward": "forward", "partials": "local derivatives", "backward": "backward",
        "recursion": "recursion over the layers",
        "chain": f"chain rule ({d.options.layout} layout)" if d.is_matrix else "chain rule",
    }
    for sec in sections:
        body = {"forward": forward_lines, "partials": partial_lines,
                "backward": backward_lines, "recursion": recursion_lines,
                "chain": chain_lines}[sec](d, names)
        if not body:
            continue
        if titled:
            body = [rf"&\textbf{{{titles[sec]}}}", *body]
        blocks.append(body)
    if d.is_matrix and "chain" in sections:
        blocks[-1].append(rf"&\scriptstyle {LAYOUT_NOTE[d.options.layout]}")
    rows: list[str] = []
    for i, block in enumerate(blocks):
        for j, line in enumerate(block):
            last_in_block = j == len(block) - 1
            if i == len(blocks) - 1 and last_in_block:
                rows.append(line)
            elif last_in_block:
                rows.append(line + r" \\[6pt]")
            else:
                rows.append(line + r" \\")
    text = "\n".join("  " + r for r in rows)
    if not environment:
        return text
    return "\\begin{aligned}\n" + text + "\n\\end{aligned}"
