"""The numbers the text makes, checked as the parser builds them: an integer of more bits
than ``Limits.max_int_bits``, a power or a folded constant too large to compute, and a
value that is complex, infinite or undefined (``log(0)``, ``sqrt(-1)``, ``0**-1``) are
refused where they are written; ∞ (``inf``) is read only as a branch of where (a mask).
A mixin of parse.py's ``_Parser``, on the code and the source of ``parse_code.py``."""

from __future__ import annotations

import ast
import math
from typing import Any

import sympy as sp

from .builder import Equation, Term
from .errors import LimitError
from .limits import ask, constants, not_finite, number_problem, number_text, power_problem
from .parse_code import CodeText


class Numbers(CodeText):
    """The parser's checks of the numbers it builds (parse.py's ``_Parser`` adds the rest)."""

    def constant(self, node: ast.Constant) -> Term:
        v: Any = node.value
        if isinstance(v, int):
            if v.bit_length() > self.limits.max_int_bits:
                raise self.error(node, f"an integer of {v.bit_length():,} bits; the limit is "
                                 f"{self.limits.max_int_bits} (Limits.max_int_bits)", LimitError)
            return sp.Integer(v)
        if v != v or v in (float("inf"), float("-inf")):
            raise self.error(node, "the number is not finite")
        return sp.Float(v)

    def check_power(self, node: ast.AST, x: Term, y: Term) -> None:
        """Bound ``x ** y`` before SymPy computes it: the exponent, and the result's size."""
        why = power_problem(x, y, self.limits, self.source(node))
        if why is not None:
            raise self.error(node, why, LimitError)

    def check_norm_order(self, node: ast.AST, order: Any) -> None:
        """norm(x, p) is (Σ|x|ᵖ)^(1/p): p and 1/p are bounded as ``**``'s exponent is."""
        if type(order) not in (int, float) or order == 0 or not math.isfinite(order):
            return  # None, ±inf, 'fro', 'nuc' (and 0, NaN: refused by indexing.norm)
        p = sp.Integer(order) if type(order) is int else sp.Float(order)
        for e in (p, 1 / p):
            self.check_power(node, sp.Symbol("x"), e)

    def check_number(self, node: ast.AST, v: Term, written: bool = True) -> None:
        """A folded constant: bounded in size (SymPy's floats have no exponent limit)."""
        why = number_problem(v, self.limits, self.source(node), written)
        if why is not None:
            raise self.error(node, why, LimitError)

    def check_finite(self, node: ast.AST, value: Term) -> None:
        """∞ (``inf``) is a branch of where only: a stage or the output that is ∞ is not."""
        if _infinite(value):
            raise self.error(node, f"{self.source(node)} is infinite: inf is read only as a "
                             "branch of where (a mask: where(M, S, -inf))")

    def folded(self, eq: Equation) -> sp.Basic:
        """A node's right-hand side with the nodes of numbers it reads replaced by their
        value: a number made across nodes (exp2(1e300) is a node 1e300·log 2, then exp of
        it) is checked whole, as one written at once is."""
        rhs, known = eq.rhs, self.constant_nodes
        if not rhs.is_number:
            free = rhs.free_symbols
            if not free or not free <= known.keys():
                return rhs
            with sp.evaluate(False):  # SymPy would compute exp(10**9·log 2) as 2**(10**9)
                rhs = rhs.xreplace({s: known[s] for s in free})
        known[eq.lhs] = rhs
        return rhs

    def check_value(self, node: ast.AST, out: Term, since: int) -> None:
        """No complex, infinite or undefined constant (``log(0)``, ``sqrt(-1)``, ``0**-1``)."""
        self.check_number(node, out)
        if _infinite(out):  # inf, -inf: where it is used is checked (a branch of where)
            return
        exprs = [(out, True)]
        for eq in self.b.nodes[since:]:
            whole = self.folded(eq)  # its integers are SymPy's (2**1000 of exp2(1000)):
            exprs.append((eq.rhs, True))  # a float's range is checked of them, not bits
            if whole is not eq.rhs:
                exprs.append((whole, False))
        for e, written in exprs:
            for a in constants(_without_masked(e)):
                self.check_number(node, a, written)
                pole = not_finite(a)
                if ask(a, "is_extended_real") is False or ask(a, "is_finite") is False \
                        or a is sp.S.NaN:
                    hint = "; inf is read only as a branch of where (a mask: where(M, S, " \
                        "-inf))" if a in (sp.oo, -sp.oo) and "inf" in self.constants_read else ""
                    raise self.error(node, f"{self.source(node)} is not a finite real number "
                                     f"(it is {pole or number_text(a)}){hint}")
                if pole is not None:
                    raise self.error(node, f"{self.source(node)} is not a finite real number "
                                     f"(it is {pole})")


def _without_masked(e: sp.Basic) -> sp.Basic:
    """``e`` without a where's infinite branch (where(M, S, -inf): a mask), the one place
    where ∞ is a value: nothing is computed with it, and no gradient flows into it."""
    if getattr(e, "name", type(e).__name__) != "where":
        return e
    first = len(e.args) - 2  # where(c, x, y), or Elementwise("where", c, x, y)
    return type(e)(*[sp.S.Zero if k >= first and _infinite(a) else a
                     for k, a in enumerate(e.args)])


def _infinite(a: sp.Basic) -> bool:
    """±∞, or ±∞ spread to a matrix (a scalar branch of a matrix where)."""
    if type(a) is sp.MatMul and len(a.args) == 2 and type(a.args[1]) is sp.OneMatrix:
        a = a.args[0]
    return a in (sp.oo, -sp.oo)
