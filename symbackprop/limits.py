"""Resource limits for untrusted input: one frozen record read by every front end, the
evaluator and the CLI (``--max-*``)."""

from __future__ import annotations

import functools
import math
import sys
from dataclasses import dataclass, fields
from typing import Any

import sympy as sp


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits for text and sizes; the defaults are safe for a web service.

    * ``max_length``: characters of text, checked first (before ``ast.parse`` sees it);
    * ``max_nodes``: syntax nodes (a cheap count of names and numbers rejects text over it
      before ``ast.parse`` runs, so ``ast.parse``'s own memory stays bounded);
    * ``max_depth``: nesting (brackets, calls, unary signs, powers); a flat chain
      ``a + b + c`` is not nesting;
    * ``max_int_bits``: the size of every integer and rational, literal or folded (``2**300``);
    * ``max_exponent``: the size of a numeric exponent (``x**1000``);
    * ``max_name_length``: characters in one name;
    * ``max_elements``: entries of one array, and of all the arrays a derivation's numbers
      hold at once (inputs, intermediates, adjoints, the largest equation's temporaries):
      10 million float64 entries are 80 MB. Shapes (``--shape``, Sphinx ``:shapes:``) and
      values are checked against it before anything is allocated; ``x @ x.T`` of a
      20,000-vector (400 M entries from 160 KB of input) is refused from the symbolic shapes.

    Integers and exponents are bounded before any arithmetic is done with them. Python's own
    parser adds two limits of its own: about 200 nested brackets, and a chain of a few
    thousand operators at one level (``a + b + ...``); past them the text gets a
    ``LimitError`` too. Raise a limit with ``Limits(max_depth=500)``, ``derive(...,
    limits=...)`` or the CLI's ``--max-depth``.
    """

    max_length: int = 20_000
    max_depth: int = 100
    max_nodes: int = 5_000
    max_int_bits: int = 256
    max_exponent: int = 1_000
    max_name_length: int = 64
    max_elements: int = 10_000_000

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"Limits.{f.name} must be a positive int, not {v!r}")


DEFAULT_LIMITS = Limits()
_FLOAT_MAX = sp.Float(sys.float_info.max)
_HUGE = sp.Float("1e10000")


def power_problem(x: Any, y: Any, lim: Limits, source: str) -> str | None:
    """Why ``x ** y`` is over the limits, before SymPy computes it (None: it is not)."""
    if not getattr(y, "is_Number", False):
        return None
    if abs(y) > lim.max_exponent:
        return (f"the exponent ({number_text(y)}) is larger than {lim.max_exponent} "
                "(Limits.max_exponent)")
    if getattr(x, "is_Rational", False) and y.is_Rational:
        # |p/q| ** (a/b) has at most |a/b| log2(max(|p|, q)) bits in numerator/denominator
        size = max(abs(int(x.p)), int(x.q))
        bits = math.ceil(abs(float(y)) * math.log2(size)) if size > 1 else 1
        if bits > lim.max_int_bits:
            return (f"{source} would have about {bits:,} bits; the limit is "
                    f"{lim.max_int_bits} (Limits.max_int_bits)")
    return None


def number_problem(v: Any, lim: Limits, source: str, written: bool = True) -> str | None:
    """Why a number is over the limits (None: it is not); of an integer or fraction SymPy
    folded (not ``written``), its float's range, not its bits."""
    if getattr(v, "is_Rational", False) and not written:
        if abs(v) > _FLOAT_MAX:
            return f"{source} is about {number_text(v)}, beyond the range of a float"
    elif getattr(v, "is_Rational", False):
        bits = max(abs(v.p).bit_length(), v.q.bit_length())
        if bits > lim.max_int_bits:
            return (f"a number of {bits:,} bits; the limit is {lim.max_int_bits} "
                    "(Limits.max_int_bits)")
    elif getattr(v, "is_Float", False) and abs(v) > _FLOAT_MAX:
        # exp(exp(1e300)) would ask mpmath for a number with 10^300 digits in its exponent
        return f"{source} is about {number_text(v)}, beyond the range of a float"
    elif _unevaluated_number(v):
        # exp(1000), sinh(1000): SymPy keeps a function of an integer unevaluated, but
        # every number made of it is ±inf (its operands were checked, one call at a time,
        # so mpmath's 15 digits of it are cheap)
        try:
            value = _evaluated(v)
        except OverflowError:  # erfc(1e300): SymPy's printing and sorting would raise too
            return (f"{source} is beyond what SymPy can evaluate (mpmath overflows); write "
                    "its value")
        if value is None or not getattr(value, "is_Number", False) \
                or not_finite(v, value) is not None:
            return None  # a pole (not_finite says so), or no number (step(e^π): ours)
        size = abs(value)
        if size > _FLOAT_MAX:  # (mpmath's 15 digits of a number past 10^10000: its size)
            about = f"about {number_text(size)}, " if size < _HUGE else ""
            return f"{source} is {about}beyond the range of a float"
    return None


def written_out_problem(eqs: Any, lim: Limits) -> str | None:
    """Why a number SymPy made of the text's, writing the stages out or differentiating
    (the derivative of (a·2²⁵⁵)¹⁰⁰⁰ holds 2²⁵⁴⁷⁴⁵), is beyond a float's range (None: none
    is): a float would be ∞, and Python refuses to print such an integer. Each node's own
    numbers were checked as the text was read."""
    for eq in eqs:
        for v in eq.rhs.atoms(sp.Rational, sp.Float):
            why = number_problem(v, lim, f"a number in the expression of {eq.lhs}", False)
            if why is not None:
                return why + " (SymPy's, of the numbers written)"
    return None


def not_finite(v: Any, value: sp.Basic | None = None) -> str | None:
    """What a constant SymPy left unevaluated is when it is not a finite real number: a pole
    of a float argument (``digamma(-3.0)``, ``polygamma(1, -1001.0)``), which SymPy neither
    evaluates nor marks infinite (None: it is finite, or not such a constant)."""
    if not _unevaluated_number(v):
        return None
    try:
        value = _evaluated(v) if value is None else value
    except OverflowError:  # number_problem refuses it
        return None
    if value is None:
        return "undefined"
    if ask(value, "is_extended_real") is False:  # complex, or zoo
        return number_text(value)
    if not getattr(value, "is_Number", False):  # step(e^π): a function of ours, kept whole
        return None
    return None if ask(value, "is_finite") is True else number_text(value)


@functools.lru_cache(maxsize=1024)  # number_problem and not_finite ask of one constant
def _evaluated(v: sp.Basic) -> sp.Basic | None:
    """mpmath's 15 digits of a constant (None: a pole or outside the domain, where mpmath
    raises ValueError; OverflowError passes: a number mpmath cannot evaluate)."""
    try:
        return v.evalf(15)
    except OverflowError:
        raise
    except (TypeError, ValueError, ArithmeticError):
        return None


def ask(v: sp.Basic, fact: str) -> bool | None:
    """SymPy's assumption ``fact`` of a constant, None where SymPy cannot tell: asking
    evaluates the number, and mpmath overflows on some (erfc(1e300).is_extended_real), after
    which SymPy's half-filled assumption cache raises KeyError for that object."""
    try:
        return getattr(v, fact)  # type: ignore[no-any-return]
    except (ArithmeticError, ValueError, TypeError, KeyError, RecursionError):
        return None


def _unevaluated_number(v: Any) -> bool:
    """A constant that is not a literal number: a call or a power of numbers (``exp(1000)``,
    ``sinh(1000)``, ``2**(1/2)``; ``acos(2)``, ``digamma(-3.0)``: not real, or of unknown
    reality, which ``not_finite`` tells), and not ±∞ (checked where it is read)."""
    return (isinstance(v, sp.Basic) and not v.is_Atom and not getattr(v, "is_Matrix", False)
            and v.is_number and ask(v, "is_finite") is not False)


def number_text(v: sp.Basic) -> str:
    """A number for a message, never thousands of digits (nor Python's int-to-str error)."""
    if getattr(v, "is_Integer", False) and abs(int(v)).bit_length() > 64:
        return f"an integer of {abs(int(v)).bit_length():,} bits"
    if getattr(v, "is_Rational", False) and max(abs(int(v.p)), int(v.q)).bit_length() > 64:
        return f"a fraction of {max(abs(int(v.p)), int(v.q)).bit_length():,} bits"
    if getattr(v, "is_Float", False):
        return f"{float(v):.6g}" if abs(v) < 1e300 else sp.sstr(v, full_prec=False)[:30]
    text = sp.sstr(v)
    return text if len(text) <= 30 else text[:27] + "..."


def constants(e: sp.Basic) -> list[sp.Basic]:
    """The number-like atoms of a shallow expression (numbers, I, oo, zoo, nan), and the
    real constants SymPy keeps unevaluated in it, whole (``exp(1000)``, ``sinh(1000)``: a
    float's range is checked of them too, ``number_problem``; not their parts:
    softplus(10**70), log(1 + exp(10**70)), is 1e70 though exp(10**70) is beyond it)."""
    out, stack = [], [e]
    while stack:
        a = stack.pop()
        if not isinstance(a, sp.Basic):
            continue
        if a.is_Atom:
            if a.is_number:
                out.append(a)
        elif _unevaluated_number(a):
            out.append(a)
        else:
            stack.extend(a.args)
    return out
