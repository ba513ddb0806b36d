"""Plain text for a terminal: the forward and backward equations as SymPy's pretty printer
draws them (Unicode, as ``sympy.pprint`` does), adjoints written ``∂z/∂x``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.stringpict import prettyForm

from ..builder import Equation, make_symbol
from ..shapes import shape_of

if TYPE_CHECKING:
    from ..derivation import Derivation


def derivation_text(d: Derivation) -> str:
    """``forward`` and ``backward`` sections, one equation (or a few lines of one) each."""
    out = d.output.name
    adjoint = {a: make_symbol(f"∂{out}/∂{v.name}", shape_of(a)) for v, a in d.adjoints.items()}
    printer = PrettyPrinter({"use_unicode": True, "wrap_line": False})

    def line(eq: Equation) -> str:
        lhs = printer._print(adjoint.get(eq.lhs, eq.lhs))
        rhs = printer._print(eq.rhs.xreplace(adjoint) if adjoint else eq.rhs)
        return str(prettyForm(*lhs.right(" = ", rhs)))

    parts = ["forward", *map(line, d.forward), "", "backward", *map(line, d.backward)]
    return "\n".join(parts)

