"""The forward sweep: from the equations of a graph to the tangent equations (forward-mode
differentiation, the first table of Baydin et al., 2018).

Each variable ``v`` that depends on the chosen inputs gets a tangent ``v̇`` (the derivative
of ``v`` along a direction given by the inputs' tangents ``ẋ``), and each forward equation
``v = f(a, b, …)`` a tangent equation ``v̇ = ∂f/∂a ȧ + ∂f/∂b ḃ + …`` written as the JVP of
its primitives: entry by entry for element-wise ones (the partials come from SymPy, as in
the reverse sweep), ``⟨∂y/∂X, Ẋ⟩`` for a reduction to a scalar (its gradient from the rule's
VJP), and the rule's own ``matrix_jvp`` for the other matrix primitives
(``Ż = Ẇ x + W ẋ`` for ``Z = W x``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from .algebra import hadamard, is_matrix, madd, mscale
from .builder import Equation, make_symbol
from .canonical import is_leaf, substitute
from .errors import UnsupportedError
from .functions import SumAll
from .graph import Graph
from .recognise import OUT, Prim, lift, partials_of, placeholders
from .rules import ELEMENTWISE, RULES
from .shapes import shape_of
from .sweep import nodes_of


def tangent_symbol(v: sp.Basic) -> sp.Basic:
    """The symbol standing for v̇ (its name is not an identifier: it cannot clash)."""
    return make_symbol(f"dot:{v.name}", shape_of(v))


@dataclass(frozen=True)
class Tangents:
    """What one forward sweep found: ``tangents`` (variable → its tangent symbol; the
    chosen inputs first) and ``equations`` (the tangent equations, in computing order)."""

    tangents: dict[sp.Basic, sp.Basic]
    equations: tuple[Equation, ...]


def forward_sweep(graph: Graph, wrt: Sequence[sp.Basic]) -> Tangents:
    """One forward sweep: the tangent of every variable that depends on ``wrt``."""
    tangents: dict[sp.Basic, sp.Basic] = {v: tangent_symbol(v) for v in wrt}
    equations: list[Equation] = []
    for eq in graph.equations:
        expr = jvp(eq.rhs, eq.lhs, tangents)
        if expr is None:
            continue
        tangents[eq.lhs] = tangent_symbol(eq.lhs)
        equations.append(Equation(tangents[eq.lhs], expr))
    return Tangents(tangents, tuple(equations))


def jvp(rhs: sp.Basic, out: sp.Basic, tangents: Mapping[sp.Basic, sp.Basic]
        ) -> sp.Basic | None:
    """The tangent of ``out = rhs`` from its operands' tangents (None: it has none)."""
    if is_leaf(rhs):
        return tangents.get(rhs)
    tan: dict[sp.Basic, sp.Basic | None] = {}
    for node, p in nodes_of(rhs):  # children first
        dots = tuple(tangents.get(o) if is_leaf(o) else tan.get(o) for o in p.operands)
        here = out if node is rhs else node
        tan[node] = None if all(d is None for d in dots) else _node_jvp(p, node, here, dots)
    return tan[rhs]


def _node_jvp(p: Prim, node: sp.Basic, here: sp.Basic, dots: tuple[sp.Basic | None, ...]
              ) -> sp.Basic:
    ops = p.operands
    if p.name in ELEMENTWISE:
        partials = partials_of(p.name, p.params, len(ops))
        env = dict(zip(placeholders(len(ops)), ops, strict=True))
        env[OUT] = here
        parts: list[sp.Basic] = []
        for d, dot in zip(partials, dots, strict=True):
            if dot is None or d == 0:
                continue
            if is_matrix(node):
                slope = lift(d, env, node.shape)
                parts.append(hadamard(slope, dot) if is_matrix(dot) else mscale(dot, slope))
            else:
                parts.append(dot if d == 1 else _times(substitute(d, env), dot))
        return _total(parts, node)
    rule = RULES[p.name]
    kw = dict(p.params)
    if rule.matrix_jvp is not None:
        return rule.matrix_jvp(dots, here, *ops, **kw)
    if is_matrix(node) or rule.matrix_vjp is None:
        raise UnsupportedError(f"forward mode: no JVP for the primitive {p.name!r}")
    # a reduction to a scalar: ⟨∂y/∂X, Ẋ⟩, its gradient from the rule's VJP
    grads = rule.matrix_vjp(sp.S.One, here, *ops, **kw)
    parts = []
    for g, dot in zip(grads, dots, strict=True):
        if dot is None:
            continue
        parts.append(SumAll(hadamard(g, dot)) if is_matrix(dot) else _times(g, dot))
    return _total(parts, node)


def _times(a: sp.Basic, b: sp.Basic) -> sp.Basic:
    if a == 1:
        return b
    if a == -1:
        return -b
    return sp.Mul(a, b)


def _total(parts: list[sp.Basic], node: sp.Basic) -> sp.Basic:
    if not parts:
        return sp.ZeroMatrix(*node.shape) if is_matrix(node) else sp.S.Zero
    if len(parts) == 1:
        return parts[0]
    return madd(*parts) if is_matrix(node) else sp.Add(*parts)
