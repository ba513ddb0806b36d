"""LaTeX: the derivation as one aligned block, section by section (forward, partials,
backward, recursion, chain rule), each expression printed by ``printer.py``."""

from __future__ import annotations

import re
from collections import ChainMap
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

import sympy as sp
from sympy import HadamardProduct

from ..algebra import is_matrix, transpose
from ..builder import make_symbol, substitute, tree_size
from ..functions import (
    Elementwise,
    ElementwiseDerivative,
)
from ..jacobians import closed_form, layout_form, sweeps
from ..notation import (
    layout_note,
    nabla_latex,
    partial_latex,
)
from ..rules import RULES
from .printer import expr_latex
from .recurrence import general_lines
from .sections import chosen
from .symbols import symbol_table, tangent_table

if TYPE_CHECKING:
    from ..derivation import Derivation

# ---------------------------------------------------------------------------------------
# The derivation


def tangent_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """v̇ = … for each intermediate that depends on the chosen inputs (forward mode)."""
    names = tangent_table(d)
    return [f"{names[eq.lhs]} &= {_fmt(d, names, eq.rhs)}" for eq in d.tangent_equations]


def jacobian_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """∂y/∂v of a non-scalar output: the product of the local Jacobians along the path and
    its closed matrix form (numerator layout; transposed in denominator layout), or the
    shape of ∂vec(y)/∂vec(v) where a local Jacobian has no clean form; then how
    ``evaluate`` computes the numbers."""
    out = d.output
    if not d.is_jacobian:  # a scalar output's Jacobian is its gradient: the result says it
        return []
    lines = []
    for v in d.wrt:
        if not d.paths(v):  # the output does not read v (a linear function's Hessian)
            lines.append(f"{partial_latex(names[out], names[v])} &= \\mathbf{{0}}")
            continue
        closed = closed_form(d, v)
        if closed is None:
            m, n = (_entries(x) for x in (out, v))
            head = partial_latex(rf"\operatorname{{vec}} {names[out]}",
                                 rf"\operatorname{{vec}} {names[v]}")
            size = rf"{m} \times {n}" if d.options.layout == "numerator" else \
                rf"{n} \times {m}"
            lines.append(rf"{head} &: {size}\text{{, no closed matrix form (numbers by "
                         r"sweeps)}")
            continue
        head = partial_latex(names[out], names[v])
        paths = d.paths(v)
        steps = ""
        if len(paths) == 1 and len(paths[0]) > 2:
            edges = [partial_latex(names[u], names[w]) for w, u in pairwise(paths[0])][::-1]
            if d.options.layout == "denominator":
                edges = [rf"\left({e}\right)^{{\top}}" for e in edges[::-1]]
            steps = f" = {''.join(edges)}"
        lines.append(f"{head} &{steps} = {_fmt(d, names, layout_form(d, closed))}")
    try:
        kind, count = sweeps(d)
    except (TypeError, ValueError):  # symbolic sizes: counted when evaluated
        kind, count = None, 0
    if kind == "closed form":
        lines.append(r"&\scriptstyle \text{numbers: the closed form, evaluated once}")
    elif kind is not None:
        each = "input" if kind == "forward" else "output"
        lines.append(rf"&\scriptstyle \text{{numbers: {count} {kind} sweep"
                     rf"{'s' * (count != 1)}, one per {each} entry}}")
    lines.append(r"&\scriptstyle \text{numerator layout: row } i \text{ is output entry } i"
                 if d.options.layout == "numerator" else
                 r"&\scriptstyle \text{denominator layout: the transpose, column } i "
                 r"\text{ is output entry } i")
    return lines


def _entries(v: sp.Basic) -> str:
    shape = v.shape if is_matrix(v) else (1, 1)
    return str(expr_latex(sp.Mul(*shape)))


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
    return lines[::-1] if layer_count(d) >= 2 else []


def recursion_section(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """The recursion over the layers, then the general step of the backward pass."""
    return recursion_lines(d, names) + general_lines(backward_lines(d, names))


def layer_count(d: Derivation) -> int:
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
    """The stages, as LaTeX input reads them back (``expr_latex``'s sized)."""
    return [rf"{names[eq.lhs]} &= {expr_latex(eq.rhs, names, sized=True)}"
            for eq in d.forward]


def partial_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    return [rf"{_partial(d, names, u, v)} &= {_fmt(d, names, p)}"
            for (u, v), p in d.partials.items()]


def _shared_deltas(d: Derivation, names: Mapping[sp.Basic, str]
                   ) -> dict[sp.Basic, tuple[sp.Basic, str]]:
    """The products ``∂L/∂h ⊙ h ⊙ (1 − h)`` that several backward equations use, each named
    once, δ⁽ˡ⁾ as Nielsen and Goodfellow write it: term → (its symbol, its LaTeX name)."""
    if not d.is_matrix or d.options.adjoint == "delta":
        return {}
    adjoint_of = {a: v for v, a in d.adjoints.items()}
    uses: dict[sp.Basic, int] = {}
    for eq in d.backward:
        found = {e for e in sp.preorder_traversal(eq.rhs)
                 if isinstance(e, HadamardProduct) and any(a in adjoint_of for a in e.args)}
        for e in found:
            uses[e] = uses.get(e, 0) + 1
    products = [(e, adjoint_of[next(a for a in e.args if a in adjoint_of)])
                for e, n in uses.items() if n >= 2]
    layer = {v: re.search(r"\^\{\((\d+)\)\}", names[v]) for _, v in products}
    taken = [m.group(1) for m in layer.values() if m]
    shared: dict[sp.Basic, tuple[sp.Basic, str]] = {}
    for e, v in products:
        m = layer[v]
        if m and len(set(taken)) == len(taken):  # δ⁽ˡ⁾: one a layer, in every layer
            tex = rf"\boldsymbol{{\delta}}^{{({m.group(1)})}}"
        elif m:  # several in a step somewhere (an LSTM's gates): δ_f⁽ᵗ⁾, δ_g⁽ᵗ⁾ everywhere
            base = names[v][:m.start()] + names[v][m.end():]
            tex = rf"\boldsymbol{{\delta}}_{{{base}}}^{{({m.group(1)})}}"
        else:
            tex = rf"\boldsymbol{{\delta}}_{{{names[v]}}}"
        shared[e] = (make_symbol(f"delta:{v.name}", e.shape), tex)
    return shared


def backward_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """One line per step of the sweep; parameters completed by the same step share a line; a
    product several of them use is named δ on a line of its own, before its first use."""
    by_lhs = {eq.lhs: eq for eq in d.backward}
    shared = _shared_deltas(d, names)
    if shared:
        names = ChainMap({sym: tex for sym, tex in shared.values()}, dict(names))
    swap = {e: sym for e, (sym, _) in shared.items()}
    written: set[sp.Basic] = set()
    lines = []
    for group in d.groups[1:]:
        parts = []
        for v in group:
            eq = by_lhs[d.adjoints[v]]
            rhs_e = eq.rhs.xreplace(swap) if swap else eq.rhs
            for e, sym in swap.items():
                if sym not in written and e != rhs_e and sym in rhs_e.free_symbols:
                    written.add(sym)
                    lines.append(f"{names[sym]} &= {_fmt(d, names, e)}")
            rhs = _fmt(d, names, rhs_e)
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
# nodes: all the gradients written out together; beyond it none is (SymPy prints some 40 µs a
# node: 58 gradients of 300 nodes made a 4-8-2 network's latex() 57× its derive)
MAX_EXPANDED_TOTAL = 2000


def expanded(d: Derivation, v: sp.Basic) -> bool:
    """Whether ``v``'s gradient is printed written out in the inputs: it is small, and so
    are all of them together (printing stays as cheap as deriving)."""
    if v not in d.adjoints or d.expanded_size(v) > MAX_EXPANDED:
        return False
    total = d.__dict__.get("_expanded_total")
    if total is None:
        total = d.__dict__["_expanded_total"] = sum(
            d.expanded_size(w) for w in d.wrt if w in d.adjoints)
    return bool(total <= MAX_EXPANDED_TOTAL)


MAX_CHAIN = 12  # equations: a longer path is shown through the backward equations instead


def needs_backward(d: Derivation) -> bool:
    """A scalar derivation whose chain lines lean on the backward (adjoint) equations."""
    return any(_leans_on_backward(d, v) for v in d.wrt)


def _leans_on_backward(d: Derivation, v: sp.Basic) -> bool:
    """``v``'s paths are too many or one is too long to write out as products."""
    count, longest = d.path_shape(v)
    return bool(count) and (count > d.options.max_paths or longest > MAX_CHAIN)


def scalar_chain_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    lines = []
    out = d.output
    backward = {e.lhs: e for e in d.backward}
    users = d._users()
    # Each path's product, written from the output side, is a suffix that every path
    # through its first node shares: the products of a node's paths are built once, from
    # its consumers' (a hidden unit's ten paths serve the 32 weights into it).
    symbolic: dict[sp.Basic, list[str]] = {out: [""]}  # ∂z/∂t₁₇ ∂t₁₇/∂t₁₆ …
    values: dict[sp.Basic, list[str]] = {out: [""]}  # ½ · 2t₁₆ · …

    def products(v: sp.Basic) -> tuple[list[str], list[str]]:
        if v not in symbolic:
            sym: list[str] = []
            val: list[str] = []
            for u in users.get(v, ()):
                if not d.path_shape(u)[0]:
                    continue
                us, uv = products(u)
                link = _partial(d, names, u, v)
                local = d.partials.get((u, v))  # (none where nothing flows through u: its
                # adjoint is 0, sign(x + x); the product is 0 whatever this factor is)
                f = _factor(_fmt(d, names, local)) if local is not None else link
                g = rf"\left({f}\right)" if f.startswith("-") else f
                sym.extend(f"{s}\\,{link}" if s else link for s in us)
                val.extend(f"{s} \\cdot {g}" if s else f for s in uv)
            symbolic[v], values[v] = sym, val
        return symbolic[v], values[v]

    for v in d.wrt:
        count = d.path_shape(v)[0]
        head = _partial(d, names, out, v)
        small = expanded(d, v)
        final = _fmt(d, names, d.gradients[v]) if small else ""
        if not count:
            lines.append(f"{head} &= 0")
            continue
        if _leans_on_backward(d, v):
            adj = backward[d.adjoints[v]]
            lines.append(rf"{head} &= {_fmt(d, names, adj.rhs)}" + (f" = {final}" if small
                                                                       else ""))
            continue
        sym, val = products(v)
        if head in sym and len(sym) > 1:
            # a direct link beside other paths: ∂z/∂x on the right is the explicit partial,
            # the left the total derivative (z = eˣ + x: dz/dx = ∂z/∂t ∂t/∂x + ∂z/∂x)
            head = head.replace(r"\partial ", r"\mathrm{d} ")
        steps = [" + ".join(sym), _signed_sum(val)]
        if count > 1 and small:
            adj = backward[d.adjoints[v]]
            steps.append(_fmt(d, names, _in_intermediates(d, adj.rhs)))
        if small:
            steps.append(final)
        # one link straight to the output is the derivative itself: ∂z/∂x = cos x, never
        # ∂z/∂x = ∂z/∂x = cos x
        dedup = [s for i, s in enumerate(steps) if s != head and (i == 0 or s != steps[i - 1])]
        lines.append(f"{head} &= " + " = ".join(dedup or steps))
    return lines


def _in_intermediates(d: Derivation, e: sp.Basic) -> sp.Basic:
    """An adjoint's right side with the other adjoints substituted (still in intermediates)."""
    return e.xreplace(d.adjoints_in_intermediates())


LONG_PATH = 4  # edges: a longer chain is written as the recursion over the intermediates


def _chain_recursion(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """The chain rule of a deep graph, linear in its depth: each intermediate's gradient
    from its consumers' (∇_h L = (∇_h h') ∇_{h'} L, output side first), then each
    parameter's from the intermediates it feeds, as Nielsen and Goodfellow write
    backpropagation; each local Jacobian with a clean form named once."""
    layout = d.options.layout
    out = d.output
    order = {eq.lhs: i for i, eq in enumerate(d.forward)}
    users = d._users()
    reaches: dict[sp.Basic, bool] = {out: True}
    for eq in reversed(d.forward):
        reaches[eq.lhs] = eq.lhs is out or any(reaches.get(u, False)
                                              for u in users.get(eq.lhs, []))

    def grad(u: sp.Basic) -> str:
        return nabla_latex(names[out], names[u]) if layout == "denominator" else \
            partial_latex(names[out], names[u])

    def local(a: sp.Basic, b: sp.Basic) -> str:
        return rf"\left({nabla_latex(names[b], names[a])}\right)" if layout == "denominator" \
            else partial_latex(names[b], names[a])

    shown: set[tuple[sp.Basic, sp.Basic]] = set()

    def line(v: sp.Basic, pending: list[sp.Basic]) -> str | None:
        consumers = [u for u in dict.fromkeys(users.get(v, [])) if reaches.get(u, False)]
        if all(u is out for u in consumers):
            return None  # ∇_v L is the last equation's own derivative: no product to write
        terms, named = [], []
        for u in consumers:
            if u is out:
                terms.append(local(v, u))
            else:
                pending.append(u)
                terms.append(local(v, u) + grad(u) if layout == "denominator"
                             else grad(u) + r"\," + local(v, u))
            j = d.jacobian(u, v) if is_matrix(u) and (v, u) not in shown else None
            shown.add((v, u))
            if j is not None:
                if layout == "denominator":
                    lhs, j = nabla_latex(names[u], names[v]), transpose(j)
                else:
                    lhs = partial_latex(names[u], names[v])
                named.append(f"{lhs} = {_fmt(d, names, j)}")
        text = f"{grad(v)} &= " + " + ".join(terms)
        return text + "".join(rf", \quad {n}" for n in named)

    params: list[str] = []
    pending: list[sp.Basic] = []
    for v in d.wrt:
        written = line(v, pending)
        if written is not None:
            params.append(written)
    inner: dict[sp.Basic, str | None] = {}
    while pending:
        u = pending.pop()
        if u not in inner:
            inner[u] = None
            inner[u] = line(u, pending)
    ordered = sorted(inner, key=lambda u: -order[u])  # the output side first, as computed
    return [t for u in ordered if (t := inner[u]) is not None] + params


def matrix_chain_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    if any(len(p) - 1 > LONG_PATH for v in d.wrt for p in d.paths(v)):
        return _chain_recursion(d, names)
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


MAX_MATRIX_INPUTS = 48  # nodes: a deeper network's gradients, written in the inputs, only
# repeat its forward pass; the backward equations are the readable form


def gradient_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """Every gradient written in the inputs, when all of them are small enough to read."""
    if any(v not in d.adjoints for v in d.wrt) or any(
            d.expanded_size(v) > MAX_MATRIX_INPUTS if d.is_matrix else not expanded(d, v)
            for v in d.wrt):
        return []
    lines = []
    for v in d.wrt:
        head = partial_latex(names[d.output], names[v])
        lines.append(rf"{head} &= {expr_latex(d.gradients[v], names)}")
    return lines


MAX_PROBLEM = 200  # nodes: a larger output, written in the inputs, is not shown whole


def _size(d: Derivation) -> int:
    """Nodes of the output written out in the inputs (counted, not built)."""
    sizes: dict[sp.Basic, int] = {}
    for eq in d.forward:
        sizes[eq.lhs] = tree_size(eq.rhs, sizes)
    return sizes.get(d.output, 1)


def output_in_inputs(d: Derivation) -> str | None:
    """``z = (x + y)^{2}``: the output written in the inputs, or None when that is too big."""
    if len(d.forward) == 1:
        return None  # the forward pass already says it
    if _size(d) > MAX_PROBLEM:
        return None
    value: dict[sp.Basic, sp.Basic] = {}
    for eq in d.forward:
        value[eq.lhs] = substitute(eq.rhs, value)
    names = symbol_table(d)
    return f"{names[d.output]} = {expr_latex(value[d.output], names)}"



def problem_lines(d: Derivation, names: Mapping[sp.Basic, str]) -> list[str]:
    """The output written in the inputs, as the problem statement shows it (none when the
    forward pass is one equation or the output is too big to read)."""
    line = output_in_inputs(d)
    return [] if line is None else [line.replace(" = ", " &= ", 1)]


SECTION_LINES = {"problem": problem_lines, "forward": forward_lines, "partials": partial_lines,
                 "backward": backward_lines, "recursion": recursion_section,
                 "tangents": tangent_lines, "jacobian": jacobian_lines}


def derivation_latex(d: Derivation, sections: Sequence[str] | str | None = None,
                     environment: bool = True) -> str:
    """The derivation as one ``aligned`` block (without ``$$``); ``sections`` from the one
    vocabulary of ``emit.sections`` (``problem``: the output written in the inputs;
    ``result``: the chain rule and the gradients written in the inputs)."""
    names = symbol_table(d)
    sections = chosen(sections)
    if sections is None and d.options.mode == "forward":
        sections = ("forward", "tangents")
    if sections is None and d.is_jacobian:
        sections = ("forward", "jacobian")
    if sections is None:
        sections = ("forward", "backward", "chain") if d.is_matrix or needs_backward(d) \
            else ("forward", "chain")
        if d.is_matrix and layer_count(d) >= 2:
            sections = ("forward", "backward", "recursion", "chain")
    titled = d.is_matrix or len(sections) > 2 or "tangents" in sections or "jacobian" in sections
    blocks: list[list[str]] = []
    titles = {
        "problem": "problem", "result": "result",
        "forward": "forward", "partials": "local derivatives", "backward": "backward",
        "recursion": "recursion over the layers" if recursion_lines(d, names) else
                     "the general step",
        "chain": f"chain rule ({d.options.layout} layout)" if d.is_matrix else "chain rule",
        "tangents": "tangents (forward mode)",
        "jacobian": f"Jacobian ({d.options.layout} layout)",
    }
    for sec in sections:
        # "result" is the chain rule (unless asked for on its own too) and the gradients
        with_chain = sec == "chain" or (sec == "result" and "chain" not in sections)
        chain = chain_lines(d, names) if with_chain else []
        # a scalar chain rule's lines end in the gradient written in the inputs: the result
        # is those lines (as in the Markdown), never each gradient twice
        body = chain + ((gradient_lines(d, names) if d.is_matrix else [])
                        if sec == "result" else [] if sec == "chain"
                        else SECTION_LINES[sec](d, names))
        if not body:
            continue
        if titled:
            body = [rf"&\textbf{{{titles[sec]}}}", *body]
        if chain and d.is_matrix:  # the layout's note ends the chain rule's block
            body.append(rf"&\scriptstyle {layout_note(d.options.layout, names[d.output])}")
        blocks.append(body)
    if not blocks:  # every section asked for is empty (a chain of direct edges only)
        blocks.append([r"&\text{(nothing to show in these sections)}"])
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
