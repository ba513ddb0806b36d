"""How a term of a printed formula reads, for the printer to bracket and sign it: whether it
prints as a sum or as a reciprocal 1 ⊘ e, its sign split off (a − b, never a + −b), runs of
ones folded (𝟏𝟏ᵀ𝟏 is n𝟏), a σ before a bracket written as a product, a function's word that
a variable's name would hide from the LaTeX reader written by another of its names, numbers too
long to write refused."""

from __future__ import annotations

import re
from typing import Any

import sympy as sp
from sympy import HadamardPower, HadamardProduct, Identity, MatAdd, MatMul, OneMatrix

from ..algebra import is_matrix
from ..errors import LimitError
from ..functions import Item
from ..latex_calls import operator_function
from ..latex_lexer import OPERATORS
from ..parse_code import FUNCTIONS
from ..shapes import shape_of, tensor_dims

MAX_DIGITS = 4000  # Python refuses to write an integer of more than 4,300 digits


def printable(e: sp.Rational) -> sp.Rational:
    """``e``, when its digits can be written: SymPy's exact arithmetic can make numbers of
    any size from small ones ((a·2²⁵⁵)¹⁰⁰⁰ has 2²⁵⁵⁰⁰⁰ in its gradient)."""
    bits = max(abs(int(e.p)).bit_length(), int(e.q).bit_length())
    if bits * 0.30103 > MAX_DIGITS:
        raise LimitError(f"a number of {bits:,} bits in the derivation: too long to print "
                         f"(more than {MAX_DIGITS:,} digits); it is beyond a float too")
    return e


# a variable σ, ψ or Γ (sigma, psi, Gamma) before a bracket: σ (x + y) is the sigmoid of
# x + y on paper (and to the LaTeX reader), ψ (x) the digamma function, Γ (x) the gamma
# function; the product is written with a dot, σ · (x + y)
_CALL_GLYPH = re.compile(r"(?<![A-Za-z])(\\sigma|\\psi|\\Gamma)(\^\{[^{}]*\})?(?: |\\,)+"
                         r"(?=\\left[(\[])")


def not_a_call(s: str) -> str:
    """A product ``s`` with a factor σ, ψ or Γ before a bracket written ``σ · (…)``."""
    return _CALL_GLYPH.sub(lambda m: m.group(1) + (m.group(2) or "") + r" \cdot ", s) \
        if "\\left" in s else s


def juxtapose(parts: list[str]) -> str:
    """A product written by juxtaposition; a thin space only next to fractions and brackets."""
    out = parts[0]
    for p in parts[1:]:
        thin = (out.endswith((r"\right)", "}}")) and r"\frac" in out) or p.startswith(
            (r"\frac", r"\left("))
        out += (r"\," if thin else "") + p
    return out


def prints_as_sum(e: sp.Basic) -> bool:
    """Whether ``e`` prints with a + or − between terms: a sum, a 1×1's (its Item), or a
    number's sum times the 1×1 ones (2 + xᵀy of a 1×1, as a ⊙'s operand)."""
    if isinstance(e, Item):
        e = e.args[0]
    if isinstance(e, (MatAdd, sp.Add)):
        return True
    if isinstance(e, MatMul) and all(isinstance(a, OneMatrix) and a.shape == (1, 1)
                                     for a in e.args if is_matrix(a)):
        scalars = [a for a in e.args if not is_matrix(a)]
        return len(scalars) == 1 and isinstance(scalars[0], sp.Add)
    return False


def sides(x: sp.Basic) -> tuple[sp.Basic, sp.Basic]:
    """a and b of a − b: the terms of x with a minus sign on the right (0 when none)."""
    terms = x.args if isinstance(x, (sp.Add, MatAdd)) else (x,)
    split = [split_sign(t) for t in terms]
    pos = [t for neg, t in split if not neg]
    neg = [t for neg, t in split if neg]
    if not neg:
        return x, sp.S.Zero

    def total(ts: list[sp.Basic]) -> sp.Basic:
        return sp.S.Zero if not ts else ts[0] if len(ts) == 1 else \
            MatAdd(*ts) if is_matrix(ts[0]) else sp.Add(*ts)
    return total(pos), total(neg)


def reciprocal(e: sp.Basic) -> bool:
    """Whether ``e`` is the element-wise reciprocal, printed 1 ⊘ e (an operand of a product
    or a divisor is then bracketed: u ⊘ (1 ⊘ v), never u ⊘ 1 ⊘ v, which reads as u ⊘ v)."""
    return isinstance(e, HadamardPower) and e.args[1] == -1


def split_sign(t: sp.Basic) -> tuple[bool, sp.Basic]:
    if isinstance(t, MatMul):
        c = sp.Mul(*[a for a in t.args if not is_matrix(a)])
        mats = [a for a in t.args if is_matrix(a)]
        if c.could_extract_minus_sign():
            return True, MatMul(-c, *mats) if -c != 1 else (mats[0] if len(mats) == 1
                                                          else MatMul(*mats))
    elif isinstance(t, HadamardProduct):  # A − u ⊙ Av, never A + −u ⊙ Av
        for k, a in enumerate(t.args):
            neg, body = split_sign(a) if isinstance(a, MatMul) else (False, a)
            if neg:
                return True, HadamardProduct(*t.args[:k], body, *t.args[k + 1:])
    elif isinstance(t, sp.Expr) and not is_matrix(t) and t.could_extract_minus_sign():
        return True, -t
    return False, t


def fold_ones(mats: list[Any]) -> tuple[list[Any], sp.Expr]:
    """The matrix factors of a product with each run of ones matrices as one, and the number
    the run multiplies by: 𝟏𝟏ᵀ𝟏 is n𝟏 (printed as it stands, 𝟏ᵀ𝟏 has a length that nothing
    fixes, and it read back as the number 1). Only lengths that are numbers fold."""
    out: list[Any] = []
    count: sp.Expr = sp.S.One
    for m in mats:
        prev = out[-1] if out else None
        if isinstance(m, OneMatrix) and isinstance(prev, OneMatrix) and m.shape[0].is_Integer:
            count *= m.shape[0]
            out[-1] = OneMatrix(prev.shape[0], m.shape[1])
        else:
            out.append(m)
    return [m for m in out if not (isinstance(m, OneMatrix) and m.shape == (1, 1))], count


def proper_matrix(a: Any) -> bool:
    """A matrix with two dimensions other than 1 (symbolic ones too), not a vector, a 1×1
    or a tensor: what e^{A} would be the matrix exponential of."""
    shape = shape_of(a)
    return shape is not None and tensor_dims(shape) is None and shape[0] != 1 \
        and shape[1] != 1


_ARITHMETIC = (sp.Add, sp.Mul, sp.Pow, MatAdd, MatMul, HadamardProduct, HadamardPower)


def loose_identity(e: Any) -> bool:
    """Whether an identity (or ones) in ``e`` has no variable beside it in the sums and
    products around it (sin(𝐈), a stage 𝐈 alone), which would fix its size when LaTeX input
    reads it back (``latex_sizes``): then it is written with its size, 𝐈ₙ (𝟏ₙ)."""
    def loose(node: Any) -> bool:  # node: the top of one sum or product, or an operand
        identity = variable = False
        inner: list[Any] = []
        stack = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, (Identity, OneMatrix)):
                identity = True
            elif isinstance(n, _ARITHMETIC):
                stack.extend(n.args)
            elif isinstance(n, sp.Basic):
                variable = variable or (is_matrix(n) and bool(n.free_symbols))
                inner.extend(n.args)  # (a function's arguments: a sum or product of their own)
        return (identity and not variable) or any(loose(a) for a in inner)
    return isinstance(e, sp.Basic) and e.has(Identity, OneMatrix) and loose(e)


# a function's upright word, as the printer writes the rules' (\operatorname{ReLU},
# \operatorname{tr}, \operatorname{artanh}), and whether a bracket follows it
_OPERATOR_WORD = re.compile(r"\\operatorname\{([A-Za-z0-9]+)\}(?=(\\left[(\[]|\()?)")
_FUNCTIONS = frozenset(FUNCTIONS)  # the text's, which the LaTeX reader calls by name


def hiding(variables: frozenset[str]) -> frozenset[str]:
    """The variables whose name the LaTeX reader takes for the variable where it would read
    ``\\operatorname{name}`` as a function (``tr``, ``ReLU``, ``artanh`` declared: a declared
    name wins), from the reader's own table (``latex_calls.operator_function``)."""
    return frozenset(v for v in variables if operator_function(v, _FUNCTIONS) is not None)


def unhidden(s: str, variables: frozenset[str], hidden: frozenset[str]) -> str:
    """``s`` with each ``\\operatorname{w}`` whose word is a variable's name in ``hidden``
    (which the reader would read as that variable times the bracket) written by another
    name the reader reads as the same function and no variable has: the text's own
    (``\\operatorname{relu}``, ``\\operatorname{trace}``, ``\\operatorname{arctanh}``), or
    another word of the reader's table."""
    if not hidden or "\\operatorname{" not in s:
        return s

    def other(m: re.Match[str]) -> str:
        word = m.group(1)
        fn = operator_function(word, _FUNCTIONS) if word in hidden else None
        if fn is None:
            return m.group(0)
        for name in (fn, *(k for k, v in OPERATORS.items() if v == fn)):
            if name != word and name not in variables and \
                    operator_function(name, _FUNCTIONS) == fn and (
                        m.group(2) is not None or name in OPERATORS):
                return "\\operatorname{" + name.replace("_", "\\_") + "}"
        return m.group(0)
    return _OPERATOR_WORD.sub(other, s)
