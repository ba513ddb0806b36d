"""Grouping: which nodes of a ``Builder`` become named equations, and their names.

``decompose`` inlines the nodes that are not cut — by ``granularity``: every primitive, the
layers of a network (z, h, o), or the stages the user named — and names the equations it
keeps: the user's names first, then layer names, then a fresh pool that never takes a user's
name. It is a presentation choice over the same computation; the gradients do not depend on
it (the differential fuzzer checks every granularity against the same oracles).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from operator import is_not

import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul

from .algebra import is_matrix, mmul
from .builder import (
    MAX_FACTORS,
    Builder,
    Equation,
    Granularity,
    _real_symbol,
    equation,
    make_symbol,
    occurrences,
)
from .canonical import _name, _plain, is_leaf, replace_args
from .errors import GraphError, UnsupportedError
from .graph import Graph, validate
from .recognise import Prim, classify
from .rules import FUNCTION_NAMES, RULES
from .shapes import shape_of

_AFFINE = frozenset(n for n, r in RULES.items() if r.role == "affine")
_REDUCTIONS = frozenset(n for n, r in RULES.items() if r.role == "reduction")
_TO_SCALAR = _REDUCTIONS | {"item"}  # a matrix made a number: xᵀAx, sum(var(r, axis=1))


def _node_prim(rhs: sp.Basic) -> str:
    cls = type(rhs)
    if (cls is sp.Add or cls is sp.Mul) and _of_symbols(rhs):
        return "add" if cls is sp.Add else "mul"  # what classify says, without its record
    try:
        return classify(rhs).name
    except UnsupportedError:
        return "?"


def _of_symbols(rhs: sp.Basic) -> bool:
    """A sum or product whose arguments are all symbols: each is an operand, with
    coefficient and exponent 1 (``recognise._of_symbols``), so it is never a scaled term."""
    return all(type(a) is sp.Symbol for a in rhs.args)


def _is_affine(rhs: sp.Basic) -> bool:
    name = _node_prim(rhs)
    if name in _AFFINE:
        return True
    if name == "mul":  # a scalar times a matrix is affine; a Hadamard product is not
        return sum(1 for a in classify(rhs).operands if is_matrix(a)) <= 1
    return False


def _is_scaled_term(p: Prim) -> bool:
    """``c·v`` (``p`` a mul): a number times one operand, read as a term of the sum it
    feeds."""
    return len(p.operands) == 1 and p.kw["exps"] == (1,)


def _uses(nodes: list[Equation], at: Mapping[sp.Basic, int],
          positions: list[list[int | None]] | None = None
          ) -> tuple[list[int], list[list[int]], set[int]]:
    """By position: how often each node occurs in the others (t used twice in one rhs
    counts 2), the nodes that use it, in order, and (by ``id``) the equations over inputs
    alone. ``positions``: each node's atoms' positions, when ``_reachable`` found them."""
    count = [0] * len(nodes)
    consumers: list[list[int]] = [[] for _ in nodes]
    over_inputs: set[int] = set()
    for i, eq in enumerate(nodes):
        atoms = eq.atoms
        once = eq.rhs.args == atoms  # the arguments are the atoms: each occurs once, no walk
        reads = False
        for j in (positions[i] if positions is not None else map(at.get, atoms)):
            if j is not None:
                consumers[j].append(i)
                reads = True
                if once:
                    count[j] += 1
        if not reads:
            over_inputs.add(id(eq))
        elif not once:
            for a in occurrences(eq.rhs):
                j = at.get(a)
                if j is not None:
                    count[j] += 1
    return count, consumers, over_inputs


def _subnodes(expr: sp.Basic) -> Iterator[sp.Basic]:
    """Every non-leaf subexpression of a (shallow) right-hand side."""
    stack = [expr]
    while stack:
        e = stack.pop()
        if is_leaf(e) or not isinstance(e, sp.Basic):
            continue
        yield e
        stack.extend(a for a in e.args if isinstance(a, sp.Basic))


def choose_granularity(b: Builder, granularity: Granularity) -> Granularity:
    if granularity != "auto":
        return granularity
    if b.names:
        return "stages"
    if any(is_matrix(eq.lhs) for eq in b.nodes):
        return "layers"
    return "primitive"


def decompose(b: Builder, granularity: Granularity = "auto",
              output_name: str | None = None, reserved: frozenset[str] = frozenset()
              ) -> Graph:
    """Pick the nodes that become equations, inline the rest, and name them; no equation
    takes a name of ``reserved`` (the new names ``names=`` gives inputs)."""
    if b.output is None:
        raise GraphError("nothing to derive: the expression is empty")
    out = b.output
    if out not in b._node_lhs:
        # a bare input, a constant or an inline expression: give it an equation of its own
        term = out
        out = b.node(out) if not is_leaf(out) else b._temp(shape_of(out))
        if out not in b._node_lhs:
            b.append(Equation(out, term))
    nodes, at, positions = _reachable(b.nodes, out)
    _say_unused(b, at)
    granularity = choose_granularity(b, granularity)
    uses, consumers, over_inputs = _uses(nodes, at, positions)  # by position, as cut
    cut = [False] * len(nodes)
    for s in (out, *b.names):
        if s in at:
            cut[at[s]] = True
    kinds = [_node_prim(eq.rhs) for eq in nodes]  # once: a wide node is O(width)

    def cut_matrix_operands(rhs: sp.Basic) -> None:
        for o in classify(rhs).operands:
            j = at.get(o)
            if j is not None and is_matrix(o):
                cut[j] = True

    # a node whose value reaches a consumer other than a sum, product or copy, through
    # scalar sums and products (5 ** (4 + s)): the node may end up inlined inside it
    beyond = [False] * len(nodes)
    for i in reversed(range(len(nodes)) if _TO_SCALAR.intersection(kinds) else ()):
        beyond[i] = any(not is_leaf(nodes[c].rhs) if kinds[c] not in ("add", "mul") else
                        beyond[c] and not is_matrix(nodes[c].lhs) for c in consumers[i])
    for i, eq in enumerate(nodes):
        s, kind, mine = eq.lhs, kinds[i], consumers[i]
        if kind in _REDUCTIONS and (beyond[i] or any(kinds[c] not in ("add", "mul")
                                                     for c in mine)):
            # sum(A + 2) inside x**s, exp(s), 5 ** (4 + s), …: SymPy's scalar simplifications
            # of the consumer (Pow's factor_terms of its exponent) reach into an inlined
            # matrix sum and raise; its operands stay named
            cut_matrix_operands(eq.rhs)
        if kind == "standardise":  # X̂ of batch or layer normalisation: a stage of its own,
            cut[i] = True          # so that the backward pass ends with ∂L/∂X in ∂L/∂X̂
        if granularity == "stages":
            continue
        if uses[i] > 1:
            cut[i] = True
            continue
        if granularity == "primitive":
            pkind = kinds[mine[0]] if mine else ""
            same = kind in ("add", "mul") and pkind == kind and not is_matrix(s) and (
                kind == "add" or len(classify(eq.rhs).operands) < MAX_FACTORS)
            if not (same or (pkind == "add" and kind == "mul" and not _of_symbols(eq.rhs)
                             and _is_scaled_term(classify(eq.rhs)))):
                cut[i] = True
            continue
        # layers: cut at non-affine matrix nodes and at their non-leaf operands
        if is_matrix(s) and not _is_affine(eq.rhs):
            cut[i] = True
        if kind == "matmul" and any(kinds[c] == "matmul" and shape_of(nodes[c].lhs) != (1, 1)
                                    for c in mine):
            cut[i] = True  # W2 (W1 x): a product of products reads better (and SymPy's
            # MatMul shape is exponential in its nesting depth); a form xᵀAx stays whole
        if kind != "?" and not _is_affine(eq.rhs) and (is_matrix(s) or kind in _REDUCTIONS):
            cut_matrix_operands(eq.rhs)
    for eq in nodes:
        # a name the user gave is an equation of its own over the node it names (h1 = _3):
        # a node nothing else uses is written in it (h1 = σ(z1), not h = σ(z1); h1 = h)
        j = at.get(eq.rhs) if isinstance(eq.rhs, (sp.Symbol, sp.MatrixSymbol)) else None
        if j is not None and uses[j] == 1 and nodes[j].lhs not in b.names:
            cut[j] = False
    # inline the nodes that are not cut, in topological order
    inlined: dict[sp.Basic, sp.Basic] = {}
    eqs: list[Equation] = []
    for i, eq in enumerate(nodes):
        rhs = _inline(eq.rhs, inlined, eqs)
        if kinds[i] == "item" and beyond[i] and not _walkable(rhs):
            o = classify(eq.rhs).operands[0]  # xᵀAx stays whole where SymPy can walk it
            if o in inlined:
                eqs.append(Equation(o, inlined.pop(o)))
                rhs = _inline(eq.rhs, inlined, eqs)
        if cut[i]:
            eqs.append(eq if rhs is eq.rhs else Equation(eq.lhs, rhs))
        else:
            inlined[eq.lhs] = rhs
    _name_direct_terms(eqs, b)
    # a matrix among the operands (their atoms are the nodes' atoms, less the inlined nodes)
    lossy = any(type(a) is not sp.Symbol and is_matrix(a) and a not in inlined
                for eq in nodes for a in eq.atoms)
    names = _choose_names(eqs, b, output_name, lossy, reserved)
    # a node the builder named as it is named here (Builder's final_names) keeps its symbol
    renamed = {eq.lhs: make_symbol(name, eq.lhs.shape) if is_matrix(eq.lhs)
               else _real_symbol(name) for eq, name in zip(eqs, names, strict=True)
               if eq.lhs.name != name or eq.lhs not in b.temps}
    if not renamed.keys() - {eqs[-1].lhs}:  # at most the output renamed (nothing reads it)
        last = eqs[-1]
        final = (*eqs[:-1], equation(renamed.get(last.lhs, last.lhs), last.rhs, last.atoms))
    else:
        final = tuple(_renamed(eq, renamed, id(eq) in over_inputs) for eq in eqs)
    g = Graph(final, dict(b.shapes), keep=b.kept,  # kept: an input though not read
              order=b.order)
    validate(g)
    return g


def _renamed(eq: Equation, renamed: Mapping[sp.Basic, sp.Basic], over_inputs: bool
             ) -> Equation:
    """``eq`` with its symbols renamed, and its atoms when they are known without a walk:
    an equation over inputs alone (W·x, kept as the builder made it) keeps its own; a sum or
    product of distinct symbols is one again (renaming is one-to-one), its arguments its
    atoms."""
    lhs = renamed.get(eq.lhs, eq.lhs)
    if over_inputs:
        return equation(lhs, eq.rhs, eq.atoms)
    old = eq.rhs
    cls = type(old)
    if (cls is sp.Add or cls is sp.Mul) and old.args == eq.atoms:
        args = [renamed.get(a, a) for a in old.args]
        if not any(map(is_not, args, old.args)):  # nothing renamed: as replace_args
            return equation(lhs, old, eq.atoms)
        if all(map(_plain, args)) and len(set(map(_name, args))) == len(args):
            # what replace_args builds (canonical._resorted): nothing combines, the
            # arguments are sorted by name
            args.sort(key=_name)
            return equation(lhs, cls._from_args(args, True), tuple(args))
    rhs = replace_args(old, renamed)
    if ((cls is sp.Add or cls is sp.Mul) and type(rhs) is cls
            and len(rhs.args) == len(old.args) and old.args == eq.atoms):
        return equation(lhs, rhs, rhs.args)
    return equation(lhs, rhs)


def _name_direct_terms(eqs: list[Equation], b: Builder) -> None:
    """``L = mse(o, y) + λ/2 ‖W‖²``: the terms of the output that read an input directly
    (weight decay) become a stage ``R`` of their own, so that the chain rule shows
    ``∇_W L = … + ∇_W R`` and never ``∇_W L`` inside its own chain."""
    out = eqs[-1]
    if not isinstance(out.rhs, (sp.Add, MatAdd)) or len(eqs) < 2:
        return
    stages = {eq.lhs for eq in eqs[:-1]}
    atoms_of = [list(occurrences(term)) for term in out.rhs.args]
    if all(any(a in stages for a in atoms) for atoms in atoms_of):
        return  # every term reads a stage (the common case: no penalty)
    inputs = set(b.inputs)  # inputs that reach the output on another path as well
    shared = {a for eq in eqs[:-1] for a in eq.atoms if a in inputs}
    direct: list[sp.Basic] = []
    rest: list[sp.Basic] = []
    for term, atoms in zip(out.rhs.args, atoms_of, strict=True):
        # a penalty reads matrix parameters and no stage
        penalty = any(a in shared and is_matrix(a) for a in atoms) and not any(
            a in stages for a in atoms)
        (direct if penalty else rest).append(term)
    if not direct or not rest:
        return
    taken = {str(s.name) for s in b.inputs} | set(b.names.values())
    name = next((n for n in ("R", "Omega", "r", "penalty") if n not in taken), None)
    if name is None:
        return
    sym = make_symbol("_R", shape_of(out.lhs))
    b.names[sym] = name
    add = type(out.rhs)
    eqs[-1:] = [Equation(sym, direct[0] if len(direct) == 1 else add(*direct)),
                Equation(out.lhs, add(*rest, sym))]


def _walkable(e: sp.Basic) -> bool:
    """Whether SymPy's ``factor_terms``, which a power runs on its exponent (``a**s``, and
    the sweep's ``s·a**(s − 1)``), can walk ``e``: it takes the numbers out of a matrix sum
    inside (``2x − y`` in (2x − y)ᵀ(x − y)) as a scalar product and raises."""
    try:
        sp.factor_terms(e)
    except (TypeError, AttributeError, ValueError):
        return False
    return True


def _inline(rhs: sp.Basic, inlined: dict[sp.Basic, sp.Basic], eqs: list[Equation]) -> sp.Basic:
    """``rhs`` with the inlined nodes substituted. Where SymPy cannot build the result (its
    scalar simplifications reach into ``sum(A + 2)`` inside ``x**s`` or ``sqrt(exp(s))``
    and raise), the inlined nodes that hold matrices stay equations of their own."""
    try:
        return rebuild(rhs, inlined)
    except (TypeError, NotImplementedError):
        held = [a for a in dict.fromkeys(occurrences(rhs))
                if a in inlined and any(is_matrix(x) for x in occurrences(inlined[a]))]
    for a in held:
        eqs.append(Equation(a, inlined.pop(a)))
    try:
        return rebuild(rhs, inlined)
    except (TypeError, NotImplementedError) as e:  # SymPy's own error: never a bare one
        raise UnsupportedError(f"SymPy cannot build {rhs} with its operands written out "
                               f"({type(e).__name__}: {e})") from e


def _say_unused(b: Builder, at: Mapping[sp.Basic, int]) -> None:
    """A stage the output never reads (``s = b; L = sum(c)``, a slip for ``L = sum(s)``?)
    is left out, and the text's readings say so: nothing of it is derived."""
    unused = [name for s, name in b.names.items() if s not in at]
    if not unused or b.reading is None:
        return
    note = (f"the stage{'s' if len(unused) > 1 else ''} {', '.join(unused)}: not used by the "
            "output, left out")
    if note not in b.reading.notes:
        b.reading = replace(b.reading, notes=(*b.reading.notes, note))


def _reachable(nodes: list[Equation], out: sp.Basic
               ) -> tuple[list[Equation], dict[sp.Basic, int], list[list[int | None]] | None]:
    """The nodes the output uses, in order, their positions by left side, and the positions
    of each one's atoms (None for an input) when every node is used (for ``_uses``)."""
    at = {eq.lhs: i for i, eq in enumerate(nodes)}
    need = [False] * len(nodes)
    positions: list[list[int | None]] = [[] for _ in nodes]
    stack = [at[out]]
    need[stack[0]] = True
    found = 1
    while stack:
        i = stack.pop()
        positions[i] = mine = list(map(at.get, nodes[i].atoms))
        for j in mine:
            if j is not None and not need[j]:
                need[j] = True
                stack.append(j)
                found += 1
    if found == len(nodes):  # the common case: every node is used
        return nodes, at, positions
    kept = [eq for eq, k in zip(nodes, need, strict=True) if k]
    return kept, {eq.lhs: i for i, eq in enumerate(kept)}, None


def rebuild(rhs: sp.Basic, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """``rhs`` with symbols replaced by expressions; nested sums and products flattened."""
    if not mapping or not any(a in mapping for a in occurrences(rhs)):
        return rhs
    new = replace_args(rhs, mapping)
    if isinstance(new, MatMul) and any(isinstance(a, MatMul) for a in new.args):
        new = mmul(*new.args)  # c·(d·X) is (cd)·X: no MatMul nested in a MatMul
    if isinstance(new, (MatAdd, HadamardProduct)):
        flat: list[sp.Basic] = []
        for a in new.args:
            flat.extend(a.args if type(a) is type(new) else (a,))
        new = type(new)(*flat)
    return new


def _choose_names(eqs: list[Equation], b: Builder, output_name: str | None,
                  lossy: bool, reserved: frozenset[str] = frozenset()) -> list[str]:
    """The name of each equation (in order): the user's names, then the output's (``L``
    when matrices are about: a loss), layer names, and fresh ones."""
    taken = {str(s.name) for s in b.inputs} | set(b.names.values()) | reserved
    names: list[str | None] = ([b.names.get(eq.lhs) for eq in eqs] if b.names
                               else [None] * len(eqs))
    if output_name and names[-1] != output_name:  # never ignored without a word
        why = f"the text names it {names[-1]!r}" if names[-1] is not None else \
            f"{output_name!r} is already a name of the expression" if output_name in taken \
            else ""
        if why:
            raise GraphError(f"output={output_name!r} cannot name the output: {why}")
    if names[-1] is None:
        for cand in ([output_name] if output_name else []) + (["L"] if lossy else []) + [
                "z", "f", "F", "out"]:
            if cand and cand not in taken:
                names[-1] = cand
                taken.add(cand)
                break
    rest = [i for i, name in enumerate(names) if name is None]
    if any(is_matrix(eq.lhs) for eq in eqs):
        layers = _layer_names(eqs, [eqs[i] for i in rest], taken, b.names)
        for i in rest:
            names[i] = layers.get(eqs[i].lhs)
        rest = [i for i in rest if names[i] is None]
    for i, name in zip(rest, fresh_names(len(rest), taken), strict=True):
        names[i] = name
    return names  # type: ignore[return-value]  # every one named by now


def fresh_names(count: int, taken: set[str]) -> list[str]:
    """``count`` names for intermediates, none of them a user's name: ``t`` alone, else
    ``t_1, t_2, …`` (``v_…``, ``u_…`` where the user has ``t`` names; taken ones skipped)."""
    base = next((b for b in ("t", "v", "u", "s", "w") if b not in taken
                 and not any(n.startswith(b + "_") for n in taken)), "t")
    if count == 1 and base not in taken:
        return [base]
    out: list[str] = []
    i = 0
    while len(out) < count:
        i += 1
        if f"{base}_{i}" not in taken:
            out.append(f"{base}_{i}")
    return out


def _layer_names(eqs: list[Equation], rest: list[Equation], taken: set[str],
                 user: Mapping[sp.Basic, str]) -> dict[sp.Basic, str]:
    """z / h / o for pre-activations, activations and the network output, indexed by layer;
    X̂ (``Xhat``, ``Hhat`` for a stage H) for a standardised matrix."""
    by_lhs = {eq.lhs: eq for eq in eqs}
    role: dict[sp.Basic, str] = {}
    for eq in eqs:
        kind = _node_prim(eq.rhs)
        if kind in FUNCTION_NAMES and is_matrix(eq.lhs):
            ops = classify(eq.rhs).operands
            role[eq.lhs] = "h"
            for o in ops:
                if o in by_lhs and _is_affine(by_lhs[o].rhs):
                    role.setdefault(o, "z")
        elif kind in ("softmax", "softmax_rows"):
            role[eq.lhs] = "p"
        elif kind == "standardise":
            o = classify(eq.rhs).operands[0]
            stem = user.get(o, str(getattr(o, "name", "")))
            role[eq.lhs] = (stem if len(stem) == 1 and stem.isalpha() else "X") + "hat"
        for node in _subnodes(eq.rhs):
            if _node_prim(node) in ("mse", "cross_entropy"):
                o = classify(node).operands[0]
                if o in by_lhs and is_matrix(o):
                    role[o] = "o"
    want = [eq.lhs for eq in rest if eq.lhs in role]
    zs = [s for s in want if role[s] == "z"]
    layer = {s: i + 1 for i, s in enumerate(zs)}
    for eq in eqs:  # an activation takes the layer of its pre-activation
        if role.get(eq.lhs) == "h":
            for o in classify(eq.rhs).operands:
                if o in layer:
                    layer[eq.lhs] = layer[o]
    many = len(zs) > 1
    out: dict[sp.Basic, str] = {}
    for s in want:
        name = role[s] + (str(layer[s]) if many and s in layer else "")
        if name in taken or name in out.values():
            continue
        out[s] = name
        taken.add(name)
    return out

