"""Jacobians of a non-scalar output: in closed matrix form where the local Jacobians of a path
have one, and as numbers by the cheaper kind of sweep.

An output ``y`` with ``m`` entries and inputs with ``n`` entries in all have an ``m × n``
Jacobian. Forward mode gives one column per sweep (the tangent of ``y`` along one input
entry), reverse mode one row per sweep (the gradient of ``⟨G, y⟩`` for a one-hot ``G``), so
``evaluate`` runs ``n`` forward sweeps when ``n ≤ m`` and ``m`` reverse sweeps otherwise, and
says which (``sweeps``). Matrices are vectorised column by column (vec, as the Matrix
Cookbook does): entry ``(i, j)`` of an ``r × c`` matrix is position ``i + j r``.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul, OneMatrix, ZeroMatrix

from .algebra import hadamard, is_matrix, like, madd, mmul, rebuild, transpose
from .builder import Equation, make_symbol
from .functions import SumAll, number
from .graph import Graph
from .shapes import Extent, shape_of
from .values import check_elements, limits_of

if TYPE_CHECKING:
    from .closed_program import ClosedProgram
    from .derivation import Derivation

Sweeps = tuple[Literal["closed form", "forward", "reverse"], int]


def _size(v: sp.Basic, dims: Mapping[Any, int]) -> int:
    shape = shape_of(v)
    if shape is None:
        return 1
    return int(number(shape[0] * shape[1]).xreplace(
        {k: sp.Integer(x) for k, x in dims.items() if isinstance(k, sp.Symbol)}))


def sweeps(d: Derivation, dims: Mapping[Any, int] | None = None) -> Sweeps:
    """How the numbers are made: ``("closed form", 1)`` when every wrt variable's Jacobian
    has one (evaluated once), else the cheaper side: ``("forward", n)`` sweeps, one per input
    entry, when ``n`` is at most the output's ``m`` entries, else ``("reverse", m)``."""
    if d.wrt and all(closed_form(d, v) is not None for v in d.wrt):
        return ("closed form", 1)
    dims = dims or {}
    n = sum(_size(v, dims) for v in d.wrt)
    m = _size(d.output, dims)
    return ("forward", n) if n <= m else ("reverse", m)


def seed_symbol(d: Derivation) -> sp.Basic:
    """``G``, the cotangent a reverse sweep of a non-scalar output starts from: a name that
    no input or stage has (``G``, else ``G_1``, …), so generated code can take it."""
    taken = {str(s.name) for s in (*d.inputs, *(eq.lhs for eq in d.forward))}
    name = next(n for n in ("G", *(f"G_{k}" for k in range(1, len(taken) + 2)))
                if n not in taken)
    return make_symbol(name, shape_of(d.output))


def scalarised(d: Derivation) -> Derivation:
    """The derivation of ``⟨G, y⟩ = sum(G ⊙ y)`` for the seed ``G``: its gradients are the
    vector-Jacobian products ``Jᵀ vec(G)`` (made when first asked)."""
    found: Derivation | None = d.__dict__.get("_scalarised")
    if found is None:
        g = seed_symbol(d)
        taken = {str(s.name) for s in (*d.inputs, *(eq.lhs for eq in d.forward))}
        out = make_symbol(next(n for n in ("L", "ell", "vjp", "L_1") if n not in taken), None)
        eqs = (*d.forward, Equation(out, SumAll(HadamardProduct(g, d.output))))
        graph = Graph(eqs, dict(d.graph.shapes), keep=d.graph.keep, order=d.graph.order)
        found = d.__dict__["_scalarised"] = type(d)(graph, d.wrt, d.options, source=graph,
                                                   limits=d.limits)
        from .evaluate import carry_targets

        carry_targets(found, d)  # a Hessian's: the targets of the gradient it came from
    return found


def _sized(e: sp.Basic) -> sp.Basic:
    """A tensor's number of entries used as a number (mean's 1/N) as that number: as a
    factor of a stage it would read as an input; in a shape it stays the tensor's Extent."""
    if not e.has(Extent):
        return e
    return e.replace(lambda a: isinstance(a, sp.Pow) and isinstance(a.base, Extent),
                     lambda a: a.base.size ** a.exp)


def gradient_graph(d: Derivation, v: sp.Basic) -> Graph:
    """Forward over reverse: the forward equations and the backward equations up to ``v``'s
    adjoint, the adjoints renamed ``g_<name>`` (a fresh name where that is taken), the
    gradient of ``v`` the output — a graph whose Jacobian in ``v`` is the Hessian."""
    taken = {str(s.name) for s in (*d.inputs, *(eq.lhs for eq in d.forward))}
    renamed: dict[sp.Basic, sp.Basic] = {}
    for u, a in d.adjoints.items():
        name = f"g_{str(u.name).replace('_', '')}"  # g_t3 for t_3: one subscript
        k = 1
        while name in taken:
            name, k = f"g{k}_{u.name}", k + 1
        taken.add(name)
        renamed[a] = make_symbol(name, shape_of(a))
    target = d.adjoints[v]
    eqs: list[Equation] = list(d.forward)
    known: dict[sp.Basic, sp.Basic] = {}  # adjoints that are constants or another's name
    for eq in d.backward:
        rhs = _sized(eq.rhs.xreplace(renamed))
        if known:  # 1 ⊙ σ(z) is σ(z): rebuilt with the constructors that drop units
            rhs = rebuild(rhs, known.get, _constructor)
        if eq.lhs != target and (_constant(rhs) or rhs in renamed.values()):
            known[renamed[eq.lhs]] = like(rhs, eq.lhs)  # ∂L/∂L = 1, g_h = g_t: no stage
            continue
        # a matrix adjoint that is the number 0 (sum(sign(u))): the zero matrix, so that
        # the gradient keeps v's shape and the Hessian is a zero matrix, not a number
        eqs.append(Equation(renamed[eq.lhs], like(rhs, eq.lhs)))
        if eq.lhs == target:
            break
    # f linear in v (x + y, aᵀx): the gradient may not read v, which stays an input all the
    # same, so that the Hessian is 0 rather than "not an input"
    return Graph(tuple(eqs), dict(d.graph.shapes), keep=(v,))


def _constant(e: sp.Basic) -> bool:
    if getattr(e, "is_Number", False):
        return True
    if isinstance(e, (OneMatrix, ZeroMatrix)):
        return True
    return isinstance(e, MatMul) and len(e.args) == 2 and e.args[0].is_Number and \
        isinstance(e.args[1], OneMatrix)


def _constructor(x: sp.Basic, args: list[sp.Basic]) -> sp.Basic:
    if isinstance(x, HadamardProduct):
        return hadamard(*args)
    if isinstance(x, MatMul):
        return mmul(*args)
    if isinstance(x, MatAdd):
        return madd(*args)
    return x.func(*args)


def closed_form(d: Derivation, v: sp.Basic) -> sp.Basic | None:
    """∂y/∂v in numerator layout as a matrix expression: the sum over the paths from ``v`` to
    the output of the products of the local Jacobians (None where one has no clean form:
    a matrix parameter, a scalar in the path; found once per variable)."""
    memo: dict[sp.Basic, sp.Basic | None] = d.__dict__.setdefault("_closed_forms", {})
    if v not in memo:
        memo[v] = _closed_form(d, v)
    return memo[v]


def _closed_form(d: Derivation, v: sp.Basic) -> sp.Basic | None:
    paths = d.paths(v)
    if not paths or len(paths) > d.options.max_paths:
        return None
    total: list[sp.Basic] = []
    for path in paths:
        acc: sp.Basic | None = None
        for w, u in pairwise(path):  # edge w → u: ∂u/∂w
            j = d.jacobian(u, w)
            if j is None:
                return None
            acc = j if acc is None else mmul(j, acc)
        if acc is not None:
            total.append(acc)
    if not total:
        return None
    return total[0] if len(total) == 1 else madd(*total)


def jacobian_values(d: Derivation, values: Mapping[Any, Any],
                    method: Literal["closed form", "forward", "reverse"] | None = None
                    ) -> dict[str, Any]:
    """Each wrt variable's Jacobian ∂vec(y)/∂vec(v) as an ``(m, n_v)`` array (numerator
    layout; denominator layout gives its transpose): from the closed forms where every
    variable has one, else by the cheaper kind of sweep (``method`` forces one)."""
    plan = _closed_plan(d) if method in (None, "closed form") else None
    if plan is not None:
        out = plan(values)
        return {k: j.T for k, j in out.items()} if d.options.layout == "denominator" else out
    from .evaluate import evaluate_gradients, run_all, run_tangents

    base = run_all(d, values)  # the values checked and bound once, every forward value
    dims = {k: v for k, v in base.items() if isinstance(v, int)}
    kind, _ = sweeps(d, dims) if method is None else (method, 0)
    m = _size(d.output, dims)
    for v in d.wrt:  # the result itself, before its rows or columns are made
        check_elements(f"the Jacobian in {v.name}", m * _size(v, dims), limits_of(d))
    out = {}
    if kind == "forward":
        for v in d.wrt:
            shape = np.shape(base[v]) if is_matrix(v) else ()
            cols = []
            for j in range(_size(v, dims)):
                e = np.zeros(int(np.prod(shape)) if shape else 1)
                e[j] = 1.0
                tangent = e.reshape(shape, order="F") if shape else float(e[0])
                env_j = dict(base)
                run_tangents(d, env_j, {str(v.name): tangent})
                t = env_j.get(d.tangents.get(d.output, None), np.zeros(m))
                cols.append(np.ravel(np.asarray(t, dtype=float), order="F"))
            out[str(v.name)] = np.stack(cols, axis=1) if cols else np.zeros((m, 0))
    else:
        s = scalarised(d)
        seed = str(seed_symbol(d).name)
        yshape = np.shape(base[d.output])
        rows: dict[str, list[Any]] = {str(v.name): [] for v in d.wrt}
        for k in range(m):
            g = np.zeros(m)
            g[k] = 1.0
            grads = evaluate_gradients(s, {**values, seed: g.reshape(yshape, order="F")})
            for name, row in rows.items():
                row.append(np.ravel(np.asarray(grads[name], dtype=float), order="F"))
        out = {name: np.stack(r, axis=0) for name, r in rows.items()}
    if d.options.layout == "denominator":
        out = {k: j.T for k, j in out.items()}
    return out


def _closed_plan(d: Derivation) -> ClosedProgram | None:
    """The closed forms compiled with the forward equations they read (in order), made once
    per derivation; None when a wrt variable has no closed form."""
    if "_closed_plan" not in d.__dict__:
        from .closed_program import ClosedProgram
        from .evaluate import cross_entropy_nodes

        forms = [closed_form(d, v) for v in d.wrt]
        plan: ClosedProgram | None = None
        if d.wrt and all(f is not None for f in forms):
            need = set().union(*(f.free_symbols for f in forms if f is not None),
                               *(ce.args[1].free_symbols  # the targets checked
                                 for ce in cross_entropy_nodes(d)))
            eqs = []
            for eq in reversed(d.forward):  # what the forms read, and what that reads
                if eq.lhs in need:
                    eqs.append(eq)
                    need |= eq.rhs.free_symbols
            plan = ClosedProgram(d, tuple(reversed(eqs)), tuple(
                (str(v.name), f) for v, f in zip(d.wrt, forms, strict=True)))
        d.__dict__["_closed_plan"] = plan
    return d.__dict__["_closed_plan"]  # type: ignore[no-any-return]


def layout_form(d: Derivation, j: sp.Basic) -> sp.Basic:
    """A numerator-layout Jacobian in the derivation's layout."""
    return transpose(j) if d.options.layout == "denominator" else j
