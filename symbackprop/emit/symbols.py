"""The names printed LaTeX gives a derivation's symbols: inputs, intermediates, adjoints,
tangents and index letters, each distinct from the others and from the printer's own glyphs
(functions, π, e, 𝟏, 𝟎, δ⁽ˡ⁾), so that what is printed reads back as one thing."""

from __future__ import annotations

import re
import weakref
from collections import ChainMap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..algebra import is_matrix
from ..latex_lexer import COMMANDS, OPERATORS
from ..notation import adjoint_latex, escape_text, symbol_latex, tangent_latex
from ..rules import RULES
from ..tensor_nodes import TensorOp
from .latex_forms import hiding
from .matrix_latex import kind_of
from .printer import SymbolTable

if TYPE_CHECKING:
    from ..derivation import Derivation


_TABLES: weakref.WeakKeyDictionary[Any, SymbolTable] = weakref.WeakKeyDictionary()  # ours


def symbol_table(d: Derivation) -> SymbolTable:
    """LaTeX for every symbol of a derivation: inputs, intermediates and their adjoints
    (made once per derivation and shared by its emitters; do not modify it).

    One glyph never stands for two things. The rules, in order:

    * **the printer's own glyphs are never a variable's**: a name whose natural LaTeX is a
      function's (``sin_``, ``exp_``, ``log_x``: ``\\mathrm{sin}``, ``\\mathrm{log}_{x}``),
      a constant's (``\\pi``, ``\\mathrm{e}``, ``\\mathbf{1}``, ``\\mathbf{0}``) or an
      adjoint's (``delta1`` beside the layer errors ``\\boldsymbol{\\delta}^{(1)}`` of
      ``adjoint="delta"``, ``delta_h`` beside ``\\delta_{h}``) is written as it is spelled
      (``\\mathrm{sin\\_}``, ``\\mathrm{delta1}``);
    * **a constant the reader can size yields to a variable**: with a variable printed
      ``\\mathbf{I}`` (or ``\\mathbf{J}``) the identity (the exchange matrix) is written
      with its size, ``\\mathbf{I}_{n}``, which the LaTeX reader reads as ``eye(n)`` even
      with ``I`` declared; with a variable printed ``e``, ``exp(x)`` is written
      ``\\exp\\left(x\\right)``, never ``e^{x}`` (``SymbolTable.taken`` tells the printer);
    * **two variables never share a glyph**: of the names that would print alike (``x`` and
      ``x_``, ``x_y`` and ``x__y``, ``Wh`` and ``W_h``, ``x1`` and ``x_1``) the one the LaTeX
      reader reads the glyph back as keeps it — the fewest underscores, then the shortest,
      then the first declared — and the others are written as they are spelled
      (``\\mathrm{x\\_}``, ``\\mathrm{W\\_h}``). Such a spelling is distinct but not
      read back (the reader's names have no trailing or double underscore, and reads
      ``\\mathbf{W}_{h}`` as ``Wh`` when both are declared): distinct before readable.
    """
    cached = _TABLES.get(d)
    if cached is not None:
        return cached
    names = SymbolTable()
    symbols = list(dict.fromkeys((*d.inputs, *(eq.lhs for eq in d.forward))))
    natural = {s: symbol_latex(str(s.name), kind_of(s)) for s in symbols}
    layers = delta_layers(d) if d.options.adjoint == "delta" else {}
    # the printer's glyphs: constants, the layer errors, every adjoint as the natural
    # names would write it (a name that takes one is renamed, so its adjoint is no one's)
    reserved = set(_CONSTANT_GLYPHS) | {rf"\boldsymbol{{\delta}}^{{({n})}}"
                                        for n in layers.values()}
    out_tex = natural.get(d.output, symbol_latex(str(d.output.name), kind_of(d.output)))
    reserved |= {adjoint_latex(natural[v], out_tex, d.options.adjoint)
                 for v in d.adjoints if v in natural and v not in layers}
    groups: dict[str, list[sp.Basic]] = {}
    for s in symbols:
        groups.setdefault(natural[s], []).append(s)
    order = {s: i for i, s in enumerate(symbols)}
    used = set(reserved)
    renamed: list[sp.Basic] = []
    for tex, group in groups.items():
        if tex in reserved or _looks_like_function(tex):
            renamed.extend(group)
            continue
        owner = min(group, key=lambda s: (str(s.name).count("_"), len(str(s.name)), order[s]))
        names[owner] = tex
        used.add(tex)
        renamed.extend(s for s in group if s is not owner)
    for s in sorted(renamed, key=order.__getitem__):
        names[s] = _spelled(str(s.name), natural[s], used)
        used.add(names[s])
    names.taken = frozenset(names.values())
    names.variables = frozenset(str(s.name) for s in names)
    names.hidden = hiding(names.variables)
    names.letters.update(_index_letters(d))
    out = names[d.output]
    for v, a in d.adjoints.items():
        if v in layers:
            names[a] = rf"\boldsymbol{{\delta}}^{{({layers[v]})}}"
        else:
            names[a] = adjoint_latex(names[v], out, d.options.adjoint)
    _TABLES[d] = names
    return names


# glyphs the printer writes for constants, whatever the derivation (the identity and the
# exchange matrix are sized instead when a variable takes theirs, see symbol_table)
_CONSTANT_GLYPHS = (r"\pi", r"\mathrm{e}", r"\mathbf{1}", r"\mathbf{0}", r"\infty",
                    r"\mathbf{1}^{\top}", r"\operatorname{I}")
# the words a reader takes for a function when they are written upright
_FUNCTION_WORDS = frozenset({*OPERATORS, *(c.lstrip("\\") for c in COMMANDS), *RULES,
                             "ln", "lg", "exp", "log", "diag", "vec", "tr", "det", "softmax"})
_UPRIGHT_HEAD = re.compile(r"\\math(?:rm|bf)\{([A-Za-z]+)\}")


def _looks_like_function(tex: str) -> bool:
    """Whether a variable's LaTeX starts with an upright function name (``sin_`` as
    ``\\mathrm{sin}``, ``log_x`` as ``\\mathrm{log}_{x}``: read as sin, log base x)."""
    m = _UPRIGHT_HEAD.match(tex)
    return m is not None and (m.group(1) in _FUNCTION_WORDS or m.group(1).lower()
                              in _FUNCTION_WORDS)


def _spelled(name: str, natural: str, used: set[str]) -> str:
    """A variable's name written as it is spelled, upright (``\\mathrm{x\\_}``), or sans-serif
    when upright is its natural form, taken, or a function's (``\\mathsf{var}``: the reader
    takes ``\\mathrm{var}`` and ``\\mathit{var}`` for the variance, not ``\\mathsf{var}``)."""
    body = escape_text(name)
    for tex in (rf"\mathrm{{{body}}}", rf"\mathsf{{{body}}}", rf"\text{{{body}}}"):
        if tex != natural and tex not in used and not _looks_like_function(tex):
            return tex
    return rf"\text{{{body}}}"


def _index_letters(d: Derivation) -> dict[sp.Basic, str]:
    """The letters an einsum wrote each tensor's entries with, kept by what keeps its
    axes (a scaling, an element-wise function, the softmax along an axis): the attention
    scores S = [Σ_d Q_{b,h,q,d} K_{b,h,k,d}]_{b,h,q,k} / √D and A = softmax(S) read b,h,q,k."""
    letters: dict[sp.Basic, str] = {}
    for eq in d.forward if d.is_matrix else ():
        if kind_of(eq.lhs) != "tensor":
            continue
        made = [e for e in sp.preorder_traversal(eq.rhs)
                if isinstance(e, TensorOp) and e.op == "einsum" and e.shape == eq.lhs.shape]
        if made:
            letters[eq.lhs] = str(made[0].params["spec"]).replace(" ", "").split("->")[1]
            continue
        kept = [letters[a] for a in eq.atoms if a in letters and a.shape == eq.lhs.shape]
        if kept:
            letters[eq.lhs] = kept[0]
    return letters


def tangent_table(d: Derivation) -> Mapping[sp.Basic, str]:
    """``symbol_table`` with the tangents v̇ of forward mode (the forward sweep is run
    when first asked)."""
    names = symbol_table(d)
    return ChainMap({t: tangent_latex(names[v]) for v, t in d.tangents.items()}, names)


def delta_layers(d: Derivation) -> dict[sp.Basic, int]:
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
