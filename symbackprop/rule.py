"""The record of one primitive (``Rule``): everything the package knows about it, declared
once. The table of them is ``rules.RULES``; the families of primitives live in ``rules.py``
(element-wise functions and the network primitives) and ``linalg.py`` (matrix calculus)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

Array = Any  # a NumPy array or a float
Vjp = Callable[..., tuple[Array, ...]]


@dataclass(frozen=True, slots=True)
class Rule:
    """Everything about one primitive, declared once; the parser, the sweep, the engine,
    ``evaluate``, the printers and the grouping read it from here.

    ``forward``/``vjp``: the engine's NumPy step; ``sympy``: the SymPy function of an
    element-wise primitive (its partials come from ``sympy.diff``); ``latex``: its name in
    LaTeX; ``matrix_vjp``/``jacobian``: the symbolic VJP of a matrix primitive;
    ``reuse_output``: the partial is written with the output (σ' = σ(1 − σ));
    ``nondiff``: where the primitive has a kink; ``arity``: operands in the text syntax
    (0: not spelled in text, an operator); ``code``/``helper``: its NumPy spelling in
    generated Python (a helper function's source when NumPy has none); ``role``: "affine"
    or "reduction" for grouping layers. A matrix primitive written as a call also has
    ``node``, the SymPy class of its graph node (built from the operands); ``shape``, which
    returns why operands of these shapes are refused (None: accepted); and ``on_scalar``,
    what the call means on scalars (None: refused). ``aliases``: the other spellings the
    text accepts (mathematics' ``asin`` for NumPy's ``arcsin``). ``domain``: where it is
    defined and differentiable, in words (``nondiff`` is the same for the numeric check).
    """

    name: str
    forward: Callable[..., Array]
    vjp: Vjp
    sympy: Any = None
    latex: str = ""
    matrix_vjp: Callable[..., tuple[sp.Basic, ...]] | None = None
    jacobian: Callable[..., sp.Basic | None] | None = None
    reuse_output: bool = False
    nondiff: Callable[..., Array] | None = field(default=None)
    arity: int = 1
    code: str = ""
    helper: str = ""
    role: str = ""
    node: Any = None
    shape: Callable[..., str | None] | None = None
    on_scalar: Callable[..., Any] | None = None
    aliases: tuple[str, ...] = ()  # other names the text may call it by (asin for arcsin)
    params_of: Callable[[sp.Basic], tuple[tuple[str, Any], ...]] | None = None  # node → params
    operands: int = 0  # how many of the node's arguments are operands (0: all; the rest params)
    domain: str = ""  # where it is defined and differentiable, for people (docs/vocabulary.md)
    # forward mode: (operands' tangents, None for a constant; out; operands; params) → the
    # output's tangent. Element-wise primitives and reductions to a scalar need none
    # (tangents.py writes theirs from the partials and the VJP); other matrix primitives do.
    matrix_jvp: Callable[..., sp.Basic] | None = None
    # f′(x, out) of a unary element-wise primitive: its VJP without the cotangent (a
    # Hessian's diag(f″) evaluated without multiplying by ones)
    derivative: Callable[[Array, Array], Array] | None = None
    prime: Callable[[Array], Array] | None = None  # f′(x) from x alone, where that is cheaper
