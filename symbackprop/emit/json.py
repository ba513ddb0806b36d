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
      "tangents": [{"variable": "t", "rhs": "dot:x + dot:y", "latex": "..."}, ...],
      "jacobians": [{"wrt": "x", "shape": [4, 3], "expr": "W.T", "latex": "..."}, ...]
    }

* ``shape``: ``null`` for a scalar, else ``[rows, cols]`` (a tensor's axes, ``[N, C, H, W]``),
  each an integer or a dimension's name (``"m"``); ``kind`` is ``"scalar"``, ``"vector"`` (a
  column), ``"matrix"`` or ``"tensor"`` (rank ≥ 3).
* Expression strings are written close to the text language (``W1 @ x + b1``, ``tanh(z)``,
  ``x.T``, ``sum``, ``sqnorm``, ``mse``, ``cross_entropy``, ``ones(m, 1)``; a matrix's zero
  adjoint, tangent or gradient is ``zeros(m, n)``), but ``*``
  between matrices is element-wise in them, where the text writes ``hadamard``: they are
  for reading and for other programs, not text to derive again. In ``backward`` and
  ``gradients``, ``d:v`` stands for the adjoint ∂output/∂v. A constant is never written as
  a variable's name: Euler's number is ``exp(1)`` (a variable may be named ``E``), π is
  ``pi`` (``arccos(-1)`` when a variable is named ``pi``), ∞ ``inf`` (``float("inf")`` when
  a variable is named ``inf``); SymPy's other constants by name (``EulerGamma``), or by
  their value when a variable has that name. The slope of ``max(a, b)`` (SymPy's Heaviside,
  ½ at a tie) is ``(a > b)/2 + (a >= b)/2`` (the text's ``step`` is 0 at 0); where a max
  along an axis is taken, ties sharing its slope, ``(X >= M) + (X <= M) - 1`` (X = M: the
  text has no ``==``) divided by its sum along the axis, ``(... @ ones(n, n))``. Three
  forms of the backward pass have no text of their own: ``embed(g, at=X[1:5, 2:])`` is g
  written into zeros shaped like X, at that slice (a slice's cotangent);
  ``kron_left(G, B)`` and ``kron_right(G, A)`` are the cotangents of A and B in ``kron(A,
  B)`` (entry (i, j) of the first is the Frobenius product of B with G's block (i, j); the
  second is Σᵢⱼ aᵢⱼ times that block). A 1×1 value may meet ``@`` as a number (``d:t @
  ones(1, 2)``, d:t a scalar): it scales, as the text reads a 1×1.
* ``partials`` lists the local partial derivatives of scalar equations (matrix equations
  are differentiated as vector-Jacobian products and have none).
* ``backward``: the adjoint equations in the order the reverse sweep completes them.
* ``gradients``: each wrt variable's gradient written in the inputs; ``expr`` and ``latex``
  are ``null`` when that expression would be too big to read, or all of them together
  (see ``emit.latex.expanded``). Empty for a non-scalar output: see ``jacobians``.
* ``latex``: ``d.latex()``, the whole derivation as one ``aligned`` block.
* ``tangents`` (``mode="forward"``; else empty): the tangent equations in computing order,
  ``dot:v`` standing for the tangent v̇; ``options.mode`` is ``"reverse"`` or ``"forward"``.
* ``jacobians`` (added in 1.x; only when the output is not a scalar, ``d.is_jacobian``,
  where ``backward`` and ``gradients`` are empty: no reverse sweep of a scalar): each wrt
  variable's Jacobian ∂y/∂v, as ``gradients`` gives a gradient: ``expr`` and ``latex``
  written in the inputs, in the derivation's layout (``options.layout``; a Hessian,
  ``sbp.hessian``, is the Jacobian of the gradient ``g_v``), ``null`` where there is no
  closed matrix form (a matrix ``v``, say) or it would be too big to read; ``shape``
  is that of ``d.evaluate(values)[v]``: ``[entries of y, entries of v]`` in numerator
  layout, the transpose in denominator layout. Besides the text's syntax, ``expr`` may hold
  the display forms ``diag(v)`` (the diagonal matrix of a column) and ``f'(z)`` (the
  derivative of the element-wise function ``f``, entry by entry).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..algebra import tidy
from ..builder import substitute, tree_size
from ..jacobians import closed_form, layout_form
from ..notation import partial_latex
from ..shapes import axes_of, shape_of
from .code_printer import CodePrinter
from .latex import MAX_EXPANDED, MAX_EXPANDED_TOTAL, derivation_latex, expanded
from .matrix_latex import kind_of
from .printer import expr_latex
from .symbols import symbol_table, tangent_table

if TYPE_CHECKING:
    from ..derivation import Derivation

SCHEMA = "symbackprop.derivation/1"


def _dim(x: sp.Expr) -> int | str:
    return int(x) if x.is_Integer else str(x)


def shape_json(s: sp.Basic) -> list[int | str] | None:
    shape = shape_of(s)
    return None if shape is None else [_dim(d) for d in axes_of(shape)]


class JsonText(CodePrinter):
    """The text's printer (``CodePrinter`` without NumPy) with every constant written so that
    no variable's name stands for it (``taken``: the derivation's names)."""

    def __init__(self, taken: set[str], names: Mapping[sp.Basic, str] | None = None,
                 display: bool = False) -> None:
        super().__init__(names or {}, numpy=False, display=display)
        self.taken = frozenset(taken)

    def _print_Exp1(self, e: Any) -> str:
        return "exp(1)"  # never E: an input may be named E

    def _print_Pi(self, e: Any) -> str:
        return "arccos(-1)" if "pi" in self.taken else "pi"

    def _print_Infinity(self, e: Any) -> str:
        return 'float("inf")' if "inf" in self.taken else "inf"

    def _print_ImaginaryUnit(self, e: Any) -> str:
        return "sqrt(-1)" if "I" in self.taken else "I"

    def _print_NumberSymbol(self, e: Any) -> str:
        return repr(float(e)) if str(e) in self.taken else str(e)

    _print_EulerGamma = _print_GoldenRatio = _print_Catalan = _print_NumberSymbol
    _print_TribonacciConstant = _print_NumberSymbol


def derivation_dict(d: Derivation) -> dict[str, Any]:
    """The JSON document as Python data (see the module's docstring)."""
    names = symbol_table(d)
    p = JsonText({str(s.name) for s in (*d.inputs, *(eq.lhs for eq in d.forward))})
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
        "backward": [{"variable": str(by_adjoint[eq.lhs].name),
                      "rhs": text(_shaped(by_adjoint[eq.lhs], eq.rhs)),
                      "latex": f"{names[eq.lhs]} = {expr_latex(eq.rhs, names)}"}
                     for eq in d.backward],
        "gradients": [],
        "latex": derivation_latex(d),
        "tangents": [],  # added in 1.x: forward mode
    }
    if d.options.mode == "forward":
        tnames = tangent_table(d)
        by_tangent = {t: v for v, t in d.tangents.items()}
        doc["tangents"] = [{"variable": str(by_tangent[eq.lhs].name),
                            "rhs": text(_shaped(by_tangent[eq.lhs], eq.rhs)),
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
            "expr": text(_shaped(v, g)) if g is not None else None,
            "latex": f"{head} = {expr_latex(g, names)}" if g is not None else None,
        })
    if d.is_jacobian:
        doc["jacobians"] = jacobians(d, text)
    return doc


def _shaped(v: sp.Basic, e: sp.Basic) -> sp.Basic:
    """A matrix's zero adjoint, tangent or gradient as ``zeros(m, n)``: SymPy's 0 is a number,
    which a program reading the document would take for a scalar."""
    shape = shape_of(v)
    if e is sp.S.Zero and shape is not None and len(shape) == 2:
        return sp.ZeroMatrix(*shape)
    return e


def _entries(v: sp.Basic) -> int | str:
    return _dim(sp.Mul(*axes_of(shape_of(v))))  # a tensor's axes, not its (Extent, 1)


def jacobians(d: Derivation, text: Callable[[sp.Basic], str]) -> list[dict[str, Any]]:
    """The ``jacobians`` entries of a non-scalar output: each wrt variable's closed form (the
    one ``latex()``'s Jacobian section shows), in the derivation's layout and written in the
    inputs, when it is small enough to read (``gradients``' limits)."""
    names = symbol_table(d)
    sizes: dict[sp.Basic, int] = {}
    for eq in d.forward:
        sizes[eq.lhs] = tree_size(eq.rhs, sizes)
    forms = {v: layout_form(d, c) for v in d.wrt if (c := closed_form(d, v)) is not None}
    size = {v: tree_size(j, sizes) for v, j in forms.items()}
    readable = sum(size.values()) <= MAX_EXPANDED_TOTAL
    inputs_form: dict[sp.Basic, sp.Basic] = {}
    if readable and forms:
        for eq in d.forward:
            inputs_form[eq.lhs] = substitute(eq.rhs, inputs_form)
    out = []
    for v in d.wrt:
        j = tidy(substitute(forms[v], inputs_form)) if v in forms and readable \
            and size[v] <= MAX_EXPANDED else None
        m, n = _entries(d.output), _entries(v)
        head = partial_latex(names[d.output], names[v])
        out.append({
            "wrt": str(v.name),
            "shape": [m, n] if d.options.layout == "numerator" else [n, m],
            "expr": text(j) if j is not None else None,
            "latex": f"{head} = {expr_latex(j, names)}" if j is not None else None,
        })
    return out


def derivation_json(d: Derivation, indent: int | None = 2) -> str:
    """The derivation as a JSON document (``schema: "symbackprop.derivation/1"``)."""
    return json.dumps(derivation_dict(d), indent=indent, ensure_ascii=False)
