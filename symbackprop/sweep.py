"""The reverse sweep: from the equations of a graph to the adjoint equations.

``reverse_sweep(graph, wrt)`` is a pure function of the graph: it returns a frozen
``Backward`` record (adjoints, the terms of each adjoint, the local partials of scalar
equations, the backward equations in order, and how they group for printing). ``vjp``
pushes one adjoint back through one equation's right-hand side, primitive by primitive,
with the partials and matrix VJPs of the rule table; ``jacobian`` gives the local Jacobian
of an edge where it has a clean matrix form (for the chain-rule lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import sympy as sp
from sympy import Symbol
from sympy.matrices.expressions.special import Identity, OneMatrix

from .algebra import collect, hadamard, is_matrix, madd, mmul, mscale
from .builder import Equation, _real_symbol, equation, make_symbol, occurrences
from .canonical import _plain, is_leaf, replace_args, substitute, sum_of, times_symbol
from .functions import DiagJacobian, Elementwise, ElementwiseDerivative, SumAll, step
from .graph import Graph
from .ir import Program, lower, walk
from .recognise import OUT, Prim, classify, lift, partials_of, placeholders
from .rules import ELEMENTWISE, FUNCTION_NAMES, RULES
from .shapes import shape_of


class Term(NamedTuple):
    """One summand of an adjoint: what flows back from ``consumer`` into the variable."""

    consumer: sp.Basic
    value: sp.Basic
    partial: sp.Basic | None = None  # the local partial ∂consumer/∂variable (scalar equations)


# ---------------------------------------------------------------------------------------
# Vector-Jacobian products through one equation's right-hand side


# operands whose rules take a scalar cotangent as it is (ḡ·xᵀ): the others, ḡ·𝟙 (1×1)
_LINEAR = (sp.MatMul, sp.MatAdd, sp.Transpose)


def _depends(e: sp.Basic, needed: set[sp.Basic]) -> bool:
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):  # the common case, without a generator
        return e in needed
    return any(a in needed for a in occurrences(e))


def vjp(nodes: Sequence[tuple[sp.Basic, Prim]], rhs: sp.Basic, out: sp.Basic, g: sp.Basic,
        needed: set[sp.Basic]) -> dict[sp.Basic, list[sp.Basic]]:
    """What flows back through ``out = rhs`` into each needed symbol, given ``out``'s adjoint
    g; ``nodes`` are the equation's primitive nodes (``nodes_of``), in computing order."""
    if is_leaf(rhs):
        return {rhs: [g]} if rhs in needed else {}
    cot: dict[sp.Basic, list[sp.Basic]] = {rhs: [g]}
    result: dict[sp.Basic, list[sp.Basic]] = {}
    for node, n in reversed(nodes):  # parents first
        parts = cot.pop(node, None)
        if not parts:
            continue
        # a 1×1 read as a number in one place ((yᵀx)·yᵀ) and as a matrix in another
        # (hstack((u, yᵀx))) gets both kinds of cotangent: the numbers times 𝟏 are added
        gn = parts[0] if len(parts) == 1 else madd(*_lifted(parts, node))
        here = out if node is rhs else node
        ops = n.operands
        deps = [o in needed if type(o) is sp.Symbol else _depends(o, needed) for o in ops]
        if n.name in ELEMENTWISE:
            partials = partials_of(n.name, n.params, len(ops))
            env: dict[sp.Basic, sp.Basic] | None = None
            contribs: list[sp.Basic | None] = []
            for o, d, dep in zip(ops, partials, deps, strict=True):
                if not dep:
                    contribs.append(None)
                    continue
                if not d.is_Number and env is None:  # a partial in the operands
                    env = dict(zip(placeholders(len(ops)), ops, strict=True))
                    env[OUT] = here
                if is_matrix(node):
                    c = hadamard(gn, lift(d, env or {}, node.shape))
                    if not is_matrix(o):  # a scalar spread over the matrix: sum it back
                        c = SumAll(c) if is_matrix(c) else c * sp.Mul(*node.shape)
                else:
                    c = _times(gn, substitute(d, env) if env is not None else d)
                contribs.append(c)
        else:
            rule = RULES[n.name]
            assert rule.matrix_vjp is not None
            contribs = list(rule.matrix_vjp(gn, here, *ops, **dict(n.params)))
        for o, c, dep in zip(ops, contribs, deps, strict=True):
            if c is None or not dep:
                continue
            if o in needed:
                result.setdefault(o, []).append(c)
            elif not is_leaf(o):
                if is_matrix(o) and not is_matrix(c) and not isinstance(o, _LINEAR):
                    c = mscale(c, OneMatrix(*o.shape))  # Item(σ(H)) of a 1×1: ḡ·𝟙 into σ
                cot.setdefault(o, []).append(c)
    return result


def _lifted(parts: list[sp.Basic], v: sp.Basic) -> list[sp.Basic]:
    """What flows into a 1×1 matrix read both as a number (max(x), its .item()) and as a
    matrix (sum(x)): the numbers times 𝟏, so the terms can be added."""
    if len(parts) < 2 or not is_matrix(v) or all(map(is_matrix, parts)) \
            or not any(map(is_matrix, parts)):
        return parts
    return [c if is_matrix(c) else mscale(c, OneMatrix(*v.shape)) for c in parts]


Plan = tuple[tuple[tuple[str, Any], ...], tuple[sp.Basic, ...], tuple[int | None, ...],
             tuple[sp.Symbol, ...]]


def _plan(p: Prim, plans: dict[tuple[str, int, int], Plan]) -> Plan:
    """The local partials of ``p``'s primitive (``partials_of``), where each is an operand
    itself (its position; -1 for the output) and the placeholders, found once per sweep and
    distinct ``params`` object: nodes read alike share theirs (``recognise._of_symbols``)."""
    key = (p.name, id(p.params), len(p.operands))
    hit = plans.get(key)
    if hit is None or hit[0] is not p.params:  # the plan holds params: its id stays its own
        n = len(p.operands)
        partials = partials_of(p.name, p.params, n)
        ph = placeholders(n)
        where = tuple(-1 if d is OUT else next((j for j, x in enumerate(ph) if d is x), None)
                      for d in partials)
        hit = plans[key] = (p.params, partials, where, ph)
    return hit


def _one_node(node: tuple[sp.Basic, Prim], rhs: sp.Basic, out: sp.Basic,
              needed: set[sp.Basic], plans: dict[tuple[str, int, int], Plan]
              ) -> dict[sp.Basic, list[sp.Basic]] | None:
    """``vjp`` of a scalar equation that is one element-wise node over leaves (most are), with
    the adjoint 1: each needed operand's local partial, without the walk; None otherwise."""
    e, p = node
    if e is not rhs or p.name not in ELEMENTWISE:
        return None
    ops = p.operands
    _, partials, where, ph = _plan(p, plans)
    env: dict[sp.Basic, sp.Basic] | None = None
    result: dict[sp.Basic, list[sp.Basic]] = {}
    for k, o in enumerate(ops):
        if o not in needed:  # a leaf: a needed symbol, or nothing to pass back to
            continue
        j, d = where[k], partials[k]
        if j is not None:  # ∂(x·y)/∂x is y: the operand itself
            d = ops[j] if j >= 0 else out
        elif not d.is_Number:  # a partial in the operands
            if env is None:
                env = dict(zip(ph, ops, strict=True))
                env[OUT] = out
            d = substitute(d, env)
        result.setdefault(o, []).append(d)
    return result


def nodes_of(rhs: sp.Basic) -> list[tuple[sp.Basic, Prim]]:
    """The primitive nodes of one right-hand side, children first: most equations are one
    node over symbols, read without a walk."""
    if is_leaf(rhs):
        return []
    p = classify(rhs)
    if all(map(is_leaf, p.operands)):
        return [(rhs, p)]
    return list(walk(rhs))


def _times(g: sp.Basic, partial: sp.Basic, adjoint: bool = False) -> sp.Basic:
    """``g · partial`` for scalars, without SymPy's product machinery when a factor is ±1.
    ``adjoint``: g is an adjoint symbol, whose name (``d:v``) is no identifier, so it never
    occurs in a forward expression and cannot combine with a factor of ``partial``."""
    if g is sp.S.One:
        return partial
    if partial is sp.S.One:
        return g
    if partial is sp.S.NegativeOne:
        return -g
    fast = times_symbol(g, partial, absent=adjoint)
    return fast if fast is not None else g * partial


def jacobian(rhs: sp.Basic, out: sp.Basic, v: sp.Basic) -> sp.Basic | None:
    """The local Jacobian ∂out/∂v (numerator layout) when it has a clean matrix form."""
    if not (is_matrix(out) and out.shape[1] == 1 and is_matrix(v) and v.shape[1] == 1):
        return None
    total: list[sp.Basic] = []
    # paths from the root to v inside rhs, multiplying local Jacobians
    stack: list[tuple[sp.Basic, sp.Basic | None]] = [(rhs, None)]
    while stack:
        node, acc = stack.pop()
        if node == v:
            total.append(acc if acc is not None else Identity(v.shape[0]))
            continue
        if is_leaf(node) or not _depends(node, {v}):
            continue
        p = classify(node)
        for k, o in enumerate(p.operands):
            if not _depends(o, {v}):
                continue
            j = _edge_jacobian(p, out if node is rhs else node, k)
            if j is None:
                return None
            stack.append((o, j if acc is None else mmul(acc, j)))
    if not total:
        return None
    return madd(*total)


def _edge_jacobian(p: Any, node: sp.Basic, k: int) -> sp.Basic | None:
    o = p.operands[k]
    if not (is_matrix(o) and o.shape[1] == 1 and is_matrix(node) and node.shape[1] == 1):
        return None
    if p.name == "add":
        c = p.kw["coeffs"][k]
        return mmul(c, Identity(o.shape[0]))
    if p.name in FUNCTION_NAMES and len(p.operands) == 1:
        return DiagJacobian(ElementwiseDerivative(p.name, o))
    if p.name in ELEMENTWISE and all(not is_matrix(f) or f.shape == o.shape
                                     for f in p.operands):
        # entry by entry: diag of the partial written over the vectors (c s x: c s I,
        # a ⊙ x: diag(a), g ⊘ z: −diag(g ⊘ z²))
        ops = p.operands
        env = dict(zip(placeholders(len(ops)), ops, strict=True))
        env[OUT] = node
        d = lift(partials_of(p.name, p.params, len(ops))[k], env, node.shape)
        if not is_matrix(d):
            return mmul(d, Identity(o.shape[0])) if d != 1 else Identity(o.shape[0])
        return DiagJacobian(d)
    rule = RULES[p.name]
    if rule.jacobian is not None:
        return rule.jacobian(node, *p.operands, k)
    return None


# ---------------------------------------------------------------------------------------
# The derivation


def adjoint_symbol(v: sp.Basic) -> sp.Basic:
    """The symbol standing for ∂output/∂v (its name is not an identifier: it cannot clash)."""
    return make_symbol(f"d:{v.name}", shape_of(v))


@dataclass(frozen=True)
class Backward:
    """What one reverse sweep found: ``adjoints`` (variable → its adjoint symbol), ``terms``
    (variable → the summands flowing into its adjoint, main path first), ``partials`` (the
    local partial of each edge of a scalar equation), ``backward`` (the adjoint equations in
    the order they are computed) and ``groups`` (adjoints completed by one step)."""

    adjoints: dict[sp.Basic, sp.Basic]
    terms: dict[sp.Basic, list[Term]]
    partials: dict[tuple[sp.Basic, sp.Basic], sp.Basic]
    backward: tuple[Equation, ...]
    groups: list[list[sp.Basic]]
    graph: Graph  # the forward equations the sweep walked
    _program: list[Program] = field(default_factory=list, repr=False, compare=False)

    @property
    def program(self) -> Program:
        """The forward equations as a program of primitive nodes (``ir.lower``), for the
        numeric engine: lowered when first asked (a derivation printed only never is)."""
        if not self._program:
            self._program.append(lower(self.graph.equations, self.graph.inputs))
        return self._program[0]


def is_step(rhs: sp.Basic) -> bool:
    """A comparison (𝟏[a > b]): its derivative is 0 wherever it has one, so nothing flows
    back through it, and the sweep does not write an adjoint that only ever meets a 0."""
    return type(rhs) is step or (type(rhs) is Elementwise and rhs.name == "step")


def reverse_sweep(graph: Graph, wrt: Sequence[sp.Basic]) -> Backward:
    """One reverse sweep over the equations the output uses, for the variables ``wrt``.

    The bookkeeping (who depends on a wrt variable, who is still used, how many consumers
    each variable has left) runs on positions, not on SymPy symbols: variable ``i < n`` is
    equation ``i``'s left side, the inputs follow."""
    eqs = graph.equations
    n = len(eqs)
    out = graph.output
    syms: list[sp.Basic] = [eq.lhs for eq in eqs]
    index: dict[sp.Basic, int] = {s: i for i, s in enumerate(syms)}
    for v in graph.inputs:
        index[v] = len(syms)
        syms.append(v)
    uses = [[index[a] for a in eq.atoms] for eq in eqs]  # each equation's operands, once
    mat = [type(s) is not Symbol and is_matrix(s) for s in syms]
    inputs_from = n
    # which variables lie on a path from some wrt variable to the output ...
    depends = [False] * len(syms)
    wrt_at = [index.get(v) for v in wrt]
    for j in wrt_at:
        if j is not None:
            depends[j] = True
    for i in range(n):
        if any(map(depends.__getitem__, uses[i])) and not is_step(eqs[i].rhs):
            depends[i] = True
    # ... and which the output still uses: inlining can let SymPy cancel every use of a
    # stage (t - (t - z) is z), and a stage nobody uses must not hold back the adjoint
    # of its operands (their other paths would be lost)
    live = [False] * len(syms)
    live[n - 1] = True
    for i in range(n - 1, -1, -1):
        if live[i] and depends[i]:  # (a comparison passes nothing back: see is_step)
            for a in uses[i]:
                live[a] = True
    is_needed = [d and lv for d, lv in zip(depends, live, strict=True)]
    needed = {syms[i] for i, k in enumerate(is_needed) if k}
    adjoints: dict[sp.Basic, sp.Basic] = {}
    adj: list[sp.Basic] = [sp.S.One] * len(syms)  # the adjoints again, by position
    terms: dict[sp.Basic, list[Term]] = {}
    partials: dict[tuple[sp.Basic, sp.Basic], sp.Basic] = {}
    backward: list[Equation] = []
    groups: list[list[sp.Basic]] = []  # adjoints completed by one step, for printing
    adjoints[out] = adjoint_symbol(out)
    backward.append(Equation(adjoints[out], sp.S.One))
    groups.append([out])
    consumers_left = [0] * len(syms)
    zero = [False] * len(syms)  # an adjoint no term reached: 0
    for i in range(n):
        if is_needed[i]:  # a consumer the sweep never visits does not count
            for a in uses[i]:
                consumers_left[a] += 1
    scalars_only = not any(mat)
    plans: dict[tuple[str, int, int], Plan] = {}
    of_symbols: dict[tuple[type, int], Plan] = {}  # the plan of a sum or product of n symbols
    listed: list[list[Term] | None] = [None] * len(syms)  # each variable's terms (in terms)
    one, mul2, new_term = sp.S.One, sp.Mul._from_args, tuple.__new__  # read once, not per term

    def add_term(a: int, v: sp.Basic, t: Term) -> None:
        mine = listed[a]
        if mine is None:  # the first term of v: terms lists it from here on
            mine = listed[a] = terms[v] = []
        mine.append(t)

    for i in range(n - 1, -1, -1):
        if not is_needed[i]:
            continue
        eq = eqs[i]
        lhs, use = eq.lhs, uses[i]
        g = adj[i]  # 1 for the output (its own adjoint is 1)
        if zero[i]:  # nothing flowed back to it (a shape donor: broadcast(c, h)), nor
            pass     # flows on through it (its operands' terms would read its adjoint)
        elif scalars_only or not (mat[i] or any(mat[a] for a in use)):  # a scalar equation
            rhs = eq.rhs
            cls = type(rhs)
            if (cls is sp.Add or cls is sp.Mul) and rhs.args == eq.atoms:
                # a sum or product of distinct symbols (most equations of a scalarised
                # network): operand k is variable use[k], its partial from the plan
                args = rhs.args
                plan = of_symbols.get((cls, len(args)))
                if plan is None:
                    plan = of_symbols[cls, len(args)] = _plan(classify(rhs), plans)
                _, ds, where, ph = plan
                env: dict[sp.Basic, sp.Basic] | None = None
                for k, a in enumerate(use):
                    if not is_needed[a]:
                        continue
                    j, partial = where[k], ds[k]
                    if j is not None:  # ∂(x·y)/∂x is y: the operand itself
                        partial = args[j] if j >= 0 else lhs
                    elif not partial.is_Number:  # ∂(x·y·z)/∂x is y·z
                        if env is None:
                            env = dict(zip(ph, args, strict=True))
                            env[OUT] = lhs
                        partial = replace_args(partial, env)
                    v = args[k]
                    partials[(lhs, v)] = partial
                    if partial is one:
                        value = g
                    elif type(partial) is Symbol and type(g) is Symbol and _plain(partial) \
                            and _plain(g) and partial.name != g.name:
                        # an operand times the adjoint (most terms): two factors by name,
                        # as times_symbol's own first case
                        value = mul2((partial, g) if partial.name < g.name else (g, partial),
                                     True)
                    else:
                        value = _times(g, partial, True)
                    mine = listed[a]
                    if mine is None:
                        mine = listed[a] = terms[v] = []
                    mine.append(new_term(Term, (lhs, value, partial)))
            else:
                nodes = nodes_of(rhs)
                flows = (_one_node(nodes[0], rhs, lhs, needed, plans) if len(nodes) == 1
                         else None)
                if flows is None:
                    flows = vjp(nodes, rhs, lhs, sp.S.One, needed)
                for v, parts in flows.items():
                    parts = _lifted(parts, v)
                    partial = parts[0] if len(parts) == 1 else \
                        madd(*parts) if is_matrix(parts[0]) else sp.Add(*parts)
                    partials[(lhs, v)] = partial
                    value = g if partial is sp.S.One else _times(g, partial, True)
                    add_term(index[v], v, Term(lhs, value, partial))
        else:
            flows = vjp(nodes_of(eq.rhs), eq.rhs, lhs, g, needed)
            for v, parts in flows.items():
                add_term(index[v], v, Term(lhs, madd(*_lifted(parts, v))))
        done: list[int] = []
        for a in use:
            if is_needed[a]:
                consumers_left[a] -= 1
                if consumers_left[a] == 0:
                    done.append(a)
        if len(done) == 1:  # the common case: one line, whether an input or not
            order = done
            groups.append([syms[done[0]]])
        else:  # inputs completed here share a line; each intermediate gets its own
            done_inputs = [a for a in done if a >= inputs_from]
            order = done_inputs + [a for a in done if a < inputs_from]
            if done_inputs:
                groups.append([syms[a] for a in done_inputs])
            groups.extend([syms[a]] for a in done if a < inputs_from)
        for a in order:
            v = syms[a]
            adjoints[v] = adj[a] = (make_symbol(f"d:{v.name}", v.shape) if mat[a]
                                    else _real_symbol(f"d:{v.name}"))
            # terms in the order their consumers are computed: the main path first
            mine = listed[a]
            if mine is None:  # nothing reached v: it has no terms (the code writes zeros)
                mine = []
            # zero[a]: no term, or only zeros (a where's condition): nothing flows on through
            # v, so that 0 · ∞ of a derivative at a kink (√ at 0) is never formed
            if len(mine) == 1 and not mat[a]:
                total = mine[0].value  # one scalar term: madd and collect keep it as it is,
                zero[a] = total is sp.S.Zero
                if type(total) is sp.Add or total.is_Number:  # unless a sum or a number
                    total = madd(total)
                backward.append(equation(adj[a], total))
                continue
            zero[a] = all(t.value is sp.S.Zero or isinstance(t.value, sp.ZeroMatrix)
                          for t in mine)
            mine.reverse()  # the sweep met the consumers last first
            # the Cookbook's form of a matrix sum: Aᵀx + Ax is (Aᵀ + A)x
            values = _lifted([t.value for t in mine], v)
            total = sum_of(values) if len(values) > 1 else None
            backward.append(Equation(adj[a], total if total is not None
                                     else collect(madd(*values))))
    for v, j in zip(wrt, wrt_at, strict=True):
        # a wrt variable the output does not depend on (a needed one has its adjoint)
        if (j is None or not is_needed[j]) and v not in adjoints:
            adjoints[v] = adjoint_symbol(v)
            zero = sp.S.Zero if not is_matrix(v) else sp.ZeroMatrix(*v.shape)
            backward.append(Equation(adjoints[v], zero))
    return Backward(adjoints, terms, partials, tuple(backward), groups, graph)
