"""JSON: the derivation as data for other programs (``schema: "symbackprop.derivation/1"``).

The document (keys in this order; additions only in later minor versions)::

    {
      "schema": "symbackprop.derivation/1",
      "source": "(x + y)**2",          # the text given, or null (a SymPy expression, a function)
      "options": {"layout": "denominator", "adjoint": "frac", "granularity": "auto",
                  "syntax": "text"},            # or "latex"
      "readings": [],                  # how implicit products were read: "'W1x' read as W1·x"
      "loss": null,                    # "mse" | "cross_entropy" | null
      "output": {"name": "z", "shape": null, "kind": "scalar", "latex": "z"},
      "inputs": [{"name": "x", "shape": null, "kind": "scalar", "latex": "x", "wrt": true}, ...],
      "forward": [{"lhs": "t", "rhs": "x + y", "shape": null, "kind": "scalar",
                   "latex": "t = x + y"}, ...],
      "partials": [{"of": "z", "wrt": "t", "expr": "2*t", "latex": "..."}, ...],
      "backward": [{"variable": "t", "rhs": "2*t", "latex": "..."}, ...],
      "gradients": [{"wrt": "x", "expr": "2*(x + y)", "latex": "..."}, ...],
      "latex": "\\begin{aligned} ... \\end{aligned}",
      "tangents": [{"variable": "t", "rhs": "dot:x + dot:y", "latex": "..."}, ...]
    }

* ``shape``: ``null`` for a scalar, else ``[rows, cols]`` (a tensor's axes, ``[N, C, H, W]``),
  each an integer or a dimension's name (``"m"``); ``kind`` is ``"scalar"``, ``"vector"`` (a
  column), ``"matrix"`` or ``"tensor"`` (rank ≥ 3).
* Expression strings are written close to the text language (``W1 @ x + b1``, ``tanh(z)``,
  ``x.T``, ``sum``, ``sqnorm``, ``mse``, ``cross_entropy``, ``ones(m, 1)``), but ``*``
  between matrices is element-wise in them, where the text writes ``hadamard``: they are
  for reading and for other programs, not text to derive again. In ``backward`` and
  ``gradients``, ``d:v`` stands for the adjoint ∂output/∂v.
* ``partials`` lists the local partial derivatives of scalar equations (matrix equations
  are differentiated as vector-Jacobian products and have none).
* ``backward``: the adjoint equations in the order the reverse sweep completes them.
* ``gradients``: each wrt variable's gradient written in the inputs; ``expr`` and ``latex``
  are ``null`` when that expression would be too big to read, or all of them together
  (see ``emit.latex.expanded``).
* ``latex``: ``d.latex()``, the whole derivation as one ``aligned`` block.
* ``tangents`` (``mode="forward"``; else empty): the tangent equations in computing order,
  ``dot:v`` standing for the tangent v̇; ``options.mode`` is ``"reverse"`` or ``"forward"``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..notation import partial_latex
from ..shapes import axes_of, shape_of
from .latex import derivation_latex, expanded, symbol_table, tangent_table
from .printer import expr_latex, kind_of
from .python import text_printer

if TYPE_CHECKING:
    from ..derivation import Derivation

SCHEMA = "symbackprop.derivation/1"


def _dim(x: sp.Expr) -> int | str:
    return int(x) if x.is_Integer else str(x)


def shape_json(s: sp.Basic) -> list[int | str] | None:
    shape = shape_of(s)
    return None if shape is None else [_dim(d) for d in axes_of(shape)]


def derivation_dict(d: Derivation) -> dict[str, Any]:
    """The JSON document as Python data (see the module's docstring)."""
    names = symbol_table(d)
    p = text_printer(d)
    text = p.doprint
    wrt = set(d.wrt)

    def var(s: sp.Basic) -> dict[str, Any]:
        return {"name": str(s.name), "shape": shape_json(s), "kind": kind_of(s),
                "latex": names[s]}

    by_adjoint = {a: v for v, a in d.adjoints.items()}
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "source": d.source if isinstance(d.source, str) else None,
        "options": {"layout": d.options.layout, "adjoint": d.options.adjoint,
                    "granularity": d.options.granularity, "syntax": d.options.syntax,
                    "mode": d.options.mode},
        "readings": list(d.reading.notes) if d.reading is not None else [],
        "loss": d.loss,
        "output": var(d.output),
        "inputs": [{**var(s), "wrt": s in wrt} for s in d.inputs],
        "forward": [{"lhs": str(eq.lhs.name), "rhs": text(eq.rhs), "shape": shape_json(eq.lhs),
                     "kind": kind_of(eq.lhs),
                     "latex": f"{names[eq.lhs]} = {expr_latex(eq.rhs, names)}"}
                    for eq in d.forward],
        "partials": [{"of": str(u.name), "wrt": str(v.name), "expr": text(e),
                      "latex": f"{partial_latex(names[u], names[v])} = {expr_latex(e, names)}"}
                     for (u, v), e in d.partials.items()],
        "backward": [{"variable": str(by_adjoint[eq.lhs].name), "rhs": text(eq.rhs),
                      "latex": f"{names[eq.lhs]} = {expr_latex(eq.rhs, names)}"}
                     for eq in d.backward],
        "gradients": [],
        "latex": derivation_latex(d),
        "tangents": [],  # added in 1.x: forward mode
    }
    if d.options.mode == "forward":
        tnames = tangent_table(d)
        by_tangent = {t: v for v, t in d.tangents.items()}
        doc["tangents"] = [{"variable": str(by_tangent[eq.lhs].name), "rhs": text(eq.rhs),
                            "latex": f"{tnames[eq.lhs]} = {expr_latex(eq.rhs, tnames)}"}
                           for eq in d.tangent_equations]
    for v in d.wrt:
        if v not in d.adjoints:  # forward mode of a non-scalar output: no reverse sweep
            continue
        small = expanded(d, v)
        g = d.gradients[v] if small else None
        head = partial_latex(names[d.output], names[v])
        doc["gradients"].append({
            "wrt": str(v.name),
            "expr": text(g) if g is not None else None,
            "latex": f"{head} = {expr_latex(g, names)}" if g is not None else None,
        })
    return doc


def derivation_json(d: Derivation, indent: int | None = 2) -> str:
    """The derivation as a JSON document (``schema: "symbackprop.derivation/1"``)."""
    return json.dumps(derivation_dict(d), indent=indent, ensure_ascii=False)
