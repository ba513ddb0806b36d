"""What ``Engine.diagnose`` reports: an ``Issue`` (a domain error, a kink, a formula that is 0/0
at the point), and the words that name it for each primitive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .tape import Step

Array = Any


@dataclass(frozen=True, slots=True)
class Issue:
    """Something that makes a gradient undefined or ambiguous at the point checked."""

    kind: str  # "domain" (NaN/inf appears), "kink" (not differentiable there) or "formula"
    # (differentiable, but the printed formula is 0/0 there: prod with an entry 0)
    message: str
    inputs: frozenset[str]  # the inputs upstream of where it happens


def domain_message(s: Step, args: list[Array], val: Array) -> str:
    what = "NaN" if np.any(np.isnan(val)) else "inf"
    if s.name == "log":
        return "log of zero" if np.all(np.asarray(args[0]) >= 0) else "log of a negative number"
    if s.name == "sqrt":
        return "sqrt of a negative number"
    if s.name == "inv":
        return "inverse of a singular matrix"
    zero = any(np.any(np.asarray(a) == 0) for a in args)
    if zero and ((s.name == "mul" and any(e < 0 for e in s.params["exps"])) or (
            s.name == "pow" and (s.params.get("exp") or 0) < 0)):
        return "division by zero"
    if s.name == "pow" and what == "NaN":  # (an inf of finite operands is an overflow:
        # x**2 at 1e200)
        return "sqrt of a negative number" if s.params.get("exp") == 0.5 else \
            "a fractional power of a negative number"
    if what == "inf":
        return f"overflow in {_SPOKEN.get(s.name, s.name)}"
    return f"{s.name} gives NaN"


_SPOKEN = {"pow": "a power", "mul": "a product", "add": "a sum"}


_ZERO_OVER_ZERO = "where an entry is 0 (the engine's value is exact)"
# primitives whose flagged points are differentiable: only the printed formula is 0/0 there
FORMULA_ONLY = frozenset({"prod", "prod_axis", "cumprod_axis", "i1e", "det"})


def _power(s: Step) -> str:
    """``x**0.5`` is sqrt, however SymPy spells it."""
    p = s.params.get("exp")
    return "sqrt" if p == 0.5 else f"a power x**{p:g}" if isinstance(p, (int, float)) \
        else "a power"


def kink_message(s: Step) -> str:
    return {"relu": "ReLU at 0", "abs": "abs at 0", "max": "max with a tie",
            "min": "min with a tie", "max_axis": "max with a tie", "min_axis": "min with a tie",
            "sqrt": "sqrt at or within 1e-20 of 0", "log": "log at 0",
            "pow": f"{_power(s)} at or within 1e-20 of 0",
            "prod": f"prod {_ZERO_OVER_ZERO}", "prod_axis": f"prod {_ZERO_OVER_ZERO}",
            "cumprod_axis": f"cumprod {_ZERO_OVER_ZERO}",
            "i1e": "i1e at 0 (the engine gives ½)",
            "det": "det of a singular matrix (the printed det(X)·X⁻ᵀ is 0·∞ there; the "
                   "engine gives the cofactors)",
            }.get(s.name, f"{s.name} at a point where it is not differentiable")
