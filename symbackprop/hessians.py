"""Second derivatives by forward-over-reverse on our own graph: the reverse sweep's gradient
equations become stages of a graph whose output is the gradient, and that graph is
differentiated again — a Jacobian (``jacobians.py``) whose closed form, where the local
Jacobians have one, is the Hessian as the literature writes it (``½(A + Aᵀ)`` for ``½xᵀAx``,
``2AᵀA`` for least squares, ``Xᵀ diag(σ'(Xw)) X`` for logistic regression); its tangents are
Hessian-vector products (``h.hvp``) that never form the matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy as sp

from .builder import Equation, make_symbol
from .derive import Derivation, Loss, derive
from .graph import Graph
from .limits import Limits
from .notation import Layout
from .shapes import shape_of


def gradient_graph(d: Derivation, v: sp.Basic) -> Graph:
    """The forward equations and the backward equations up to ``v``'s adjoint, the adjoints
    renamed ``g_<name>`` (a fresh name where that is taken), the gradient of ``v`` the
    output."""
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
    for eq in d.backward:
        eqs.append(Equation(renamed[eq.lhs], eq.rhs.xreplace(renamed)))
        if eq.lhs == target:
            break
    return Graph(tuple(eqs), dict(d.graph.shapes))


def hessian(source: Any, wrt: Any, *, shapes: Mapping[str, Any] | None = None,
            loss: Loss | None = None, layout: Layout = "numerator",
            limits: Limits | None = None) -> Derivation:
    """The Hessian of a scalar ``source`` in one variable ``wrt``: the derivation of its
    gradient's Jacobian (forward over reverse). ``h.latex()`` shows the gradient's equations
    and the Hessian in closed form where one exists; ``h.evaluate(values)[name]`` is the
    ``(n, n)`` matrix for an ``n``-entry parameter (matrices vectorised column by column),
    the second derivative for a scalar; ``h.hvp(values, v)`` a Hessian-vector product,
    without the matrix."""
    d = derive(source, wrt=wrt, shapes=shapes, loss=loss, limits=limits)
    if len(d.wrt) != 1:
        raise ValueError("hessian takes one variable: wrt='x' (the Hessian in two is a "
                         "block of the Hessian in both stacked)")
    v = d.wrt[0]
    if d.is_jacobian:
        raise ValueError("hessian needs a scalar output (pass loss=, or write sum(...))")
    graph = gradient_graph(d, v)
    return derive(graph, wrt=str(v.name), layout=layout, limits=limits)
