"""Second derivatives by forward over reverse on our own graph (``jacobians.gradient_graph``):
the reverse sweep's gradient equations become stages of a graph whose output is the gradient,
and that graph is differentiated again — a Jacobian whose closed form, where the local
Jacobians have one, is the Hessian as the literature writes it (``½(A + Aᵀ)`` for ``½xᵀAx``,
``2AᵀA`` for least squares, ``Xᵀ diag(…) X`` for logistic regression); its tangents are
Hessian-vector products (``h.hvp``) that never form the matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .derivation import Mode
from .derive import Derivation, Loss, derive
from .limits import Limits
from .notation import Layout
from .parse import Syntax


def hessian(source: Any, wrt: Any, *, shapes: Mapping[str, Any] | None = None,
            loss: Loss | None = None, layout: Layout = "numerator",
            limits: Limits | None = None, syntax: Syntax = "text",
            mode: Mode = "reverse") -> Derivation:
    """The Hessian of a scalar ``source`` in one variable ``wrt``: the derivation of its
    gradient's Jacobian (forward over reverse; ``derive(..., order=2)`` in numerator
    layout). ``h.latex()`` shows the gradient's equations and the Hessian in closed form
    where one exists; ``h.evaluate(values)[name]`` is the ``(n, n)`` matrix for an
    ``n``-entry parameter (matrices vectorised column by column), the second derivative for
    a scalar; ``h.hvp(values, v)`` a Hessian-vector product, without the matrix.
    ``syntax`` and ``mode`` as ``derive``'s (``syntax="latex"`` reads LaTeX)."""
    return derive(source, wrt=wrt, shapes=shapes, loss=loss, layout=layout, limits=limits,
                  syntax=syntax, mode=mode, order=2)
