"""A SymPy expression read into the builder's nodes (``Builder.add_expr``), node by node
and without recursion, checked on the way as the text parser checks text: operand shapes,
the size of every integer and fraction. What the rules do not hold as SymPy writes it is
rewritten first: products of three matrices and n-ary max/min as binary nodes, Piecewise
and Heaviside in the step primitive, sec/csc/cot and their hyperbolic kin as reciprocals,
``X[i, j]`` as an item of a slice. A mixin of ``builder.Builder``, one layer below it."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul, OneMatrix, Symbol
from sympy.matrices.expressions.matexpr import MatrixElement

from .algebra import is_matrix, madd, mscale
from .canonical import is_leaf, replace_args
from .errors import LimitError, ShapeError, UnsupportedError
from .functions import Elementwise, Item, step
from .recognise import classify, split_coeff
from .shapes import fmt_shape, shape_of
from .structural import Slice
from .tensor_nodes import TensorVJP, expand_einsum_vjp

_NO_EXPONENT = sp.Expr.as_base_exp  # a factor read as itself to the power 1 (not x⁻¹, eˣ)


class SympyInput:
    """The builder's reading of a SymPy expression (``builder.Builder`` adds the rest)."""

    temps: set[sp.Basic]

    if TYPE_CHECKING:  # the Builder's (Any: a builder.Term)
        def adopt(self, sym: sp.Basic) -> sp.Basic: ...

        def node(self, rhs: sp.Basic, atoms: tuple[sp.Basic, ...] | None = None) -> Any: ...

    def add_expr(self, expr: sp.Basic, max_int_bits: int = 256, inputs_only: bool = False
                 ) -> Any:
        """Decompose a (possibly deep) SymPy expression node by node, without recursion.

        Checked on the way, as the text parser checks text: operand shapes (symbolic
        dimensions must be the same symbol), and the size of every integer and fraction.
        ``inputs_only``: every symbol of ``expr`` is an input (a user's expression), even
        one equal to a node's symbol (a real ``_0``: refused by name); otherwise a symbol
        the builder made stands for its node (a graph's stages read back).
        """
        temps = frozenset() if inputs_only else self.temps
        memo: dict[int, Any] = {}  # builder.Term
        alias: dict[int, sp.Basic] = {}
        keep: list[sp.Basic] = [expr]  # keeps every id in memo alive
        ops_of: dict[int, tuple[sp.Basic, ...]] = {}
        stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
        while stack:
            e, ready = stack.pop()
            if id(e) in memo:
                continue
            if id(e) in alias:
                memo[id(e)] = memo[id(alias[id(e)])]
                continue
            if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
                memo[id(e)] = e if e in temps else self.adopt(e)
                continue
            if is_leaf(e):
                memo[id(e)] = _bounded_number(e, max_int_bits)
                continue
            if not ready:
                args = e.args
                cls = type(e)
                if (cls is sp.Add or cls is sp.Mul) and all(type(a) is Symbol for a in args):
                    # a scalar sum or product of symbols (most nodes of a scalarised network):
                    # no shapes or numbers to check, nothing to split, its operands are its
                    # arguments and stay themselves, so e is the node's right-hand side
                    for a in args:
                        if id(a) not in memo:
                            memo[id(a)] = a if a in temps else self.adopt(a)
                    memo[id(e)] = self.node(e, tuple(dict.fromkeys(args)))
                    continue
                if (cls is sp.Mul or cls is sp.Add) and _operands_are_args(cls, args):
                    # no numbers, nothing to split or check here (the operands are visited)
                    ops_of[id(e)] = args
                    stack.append((e, True))
                    stack.extend((o, False) for o in reversed(args) if id(o) not in memo)
                    continue
                _check_shapes(e)
                for a in args:  # numbers folded into a node's parameters (2·x) too
                    if a.is_Rational:
                        _bounded_number(a, max_int_bits)
                e2 = _binarize(e)
                if e2 is not e:
                    alias[id(e)] = e2
                    keep.append(e2)
                    stack.extend([(e, True), (e2, False)])
                    continue
                # classify once: it may build new operand objects (x - y*z gives y*z anew)
                ops_of[id(e)] = ops = classify(e).operands
                keep.extend(ops)
                stack.append((e, True))
                stack.extend((o, False) for o in reversed(ops) if id(o) not in memo)
                continue
            ops = ops_of[id(e)]
            new = {o: memo[id(o)] for o in ops}
            if isinstance(e, (sp.Add, MatAdd)):
                _scaled_terms(e, new)
            # operands that stay themselves (leaves): e is already the node's right-hand side
            rhs = e if all(v is o for o, v in new.items()) else replace_args(e, new)
            memo[id(e)] = self.node(rhs)
        return memo[id(expr)]


def _scaled_terms(e: sp.Basic, new: dict[sp.Basic, sp.Basic]) -> None:
    """A sum's terms c·(a product) by c times the product's node: ``classify`` reads
    x − a·b·c as x and the operand a·b·c, which is no argument of the sum (−1·a·b·c is, the
    product flattened into it), so replacing arguments would leave the product inside the
    node. (c·sin(x) holds its operand as an argument: replace_args reaches it.)"""
    ids = set(map(id, e.args))
    if all(id(o) in ids for o in new):  # the common case: each operand is a term
        return
    for t in e.args:
        if t not in new and not t.is_Atom:
            c, rest = split_coeff(t)
            v = new.get(rest, rest)
            if v is not rest and type(rest) is type(t):  # flattened: c·a·b is Mul(c, a, b)
                new[t] = c * v


def _operands_are_args(cls: type, args: tuple[sp.Basic, ...]) -> bool:
    """Whether ``classify`` reads a scalar sum or product's operands as its arguments, each
    with coefficient and exponent 1 (``w·σ(z)``, ``b + w·x``; not ``2x``, ``x⁻¹`` or ``eˣ``)."""
    if cls is sp.Mul:
        return all(type(a) is Symbol or (type(a).as_base_exp is _NO_EXPONENT
                                         and not a.is_Number) for a in args)
    return all(type(a) is Symbol or (type(a) is sp.Mul and not a.args[0].is_Number)
               for a in args)


def _bounded_number(e: sp.Basic, max_int_bits: int) -> sp.Basic:
    if e.is_Rational:
        bits = max(abs(int(e.p)).bit_length(), int(e.q).bit_length())
        if bits > max_int_bits:
            raise LimitError(f"a number of {bits:,} bits; the limit is {max_int_bits} "
                             "(Limits.max_int_bits)")
    return e


def _check_shapes(e: sp.Basic) -> None:
    """Operands of a matrix product, sum or element-wise product that cannot fit."""
    if isinstance(e, MatMul):
        mats = [a for a in e.args if is_matrix(a)]
        for a, b in itertools.pairwise(mats):
            if a.shape[1] != b.shape[0]:
                raise ShapeError(f"{sp.sstr(a)[:40]} {fmt_shape(shape_of(a))} times "
                                 f"{sp.sstr(b)[:40]} {fmt_shape(shape_of(b))}: {a.shape[1]} "
                                 f"columns against {b.shape[0]} rows")
    elif isinstance(e, (MatAdd, HadamardProduct)):
        shapes = {tuple(a.shape) for a in e.args}
        if len(shapes) > 1:
            raise ShapeError(f"{type(e).__name__} of operands shaped "
                             + " and ".join(fmt_shape(s) for s in sorted(shapes, key=str)))


def _binarize(e: sp.Basic) -> sp.Basic:
    """Products of three matrices and n-ary max/min as nested binary nodes."""
    if isinstance(e, MatMul):
        c, mats = e.as_coeff_matrices()  # c: every scalar factor, multiplied out
        if len(mats) > 2 or (len(mats) == 2 and c != 1):
            acc = MatMul(mats[0], mats[1])
            for m in mats[2:]:
                acc = MatMul(acc, m)
            return MatMul(c, acc) if c != 1 else acc
    if isinstance(e, (sp.Max, sp.Min)) and len(e.args) > 2:
        acc = e.func(e.args[0], e.args[1], evaluate=False)
        for a in e.args[2:]:
            acc = e.func(acc, a, evaluate=False)
        return acc
    if isinstance(e, sp.Piecewise):
        return _piecewise(e)
    if isinstance(e, sp.Heaviside):  # H(a) = 𝟏[a > 0] + H(0)·𝟏[a = 0], H(0) = ½ unless given:
        # in the step primitive, as SymPy writes the slope of max(a, b) and of relu (the
        # gradient that a Hessian differentiates again)
        a, h0 = e.args[0], e.args[1] if len(e.args) > 1 else sp.S.Half
        return step(a) + h0 * (1 - step(a) - step(-a))
    rewrite = _REWRITES.get(type(e))
    if rewrite is not None:  # SymPy's own spellings of what the text composes
        return rewrite(*e.args)
    if type(e) is sp.MatPow and e.exp.is_Integer and e.base.is_square \
            and 0 < abs(int(e.exp)) <= 32:  # X², X⁻²: products of X or of X⁻¹ (an Inverse
        # is a MatPow of its own class: the rules hold it)
        base = e.base if e.exp > 0 else sp.Inverse(e.base)
        return _binarize(MatMul(*[base] * abs(int(e.exp)))) if abs(e.exp) > 1 else base
    if isinstance(e, MatrixElement) and e.i.is_Integer and e.j.is_Integer:  # X[i, j]
        m, i, j = e.parent, e.i, e.j
        if m.shape == (1, 1):
            return Item(m)
        return Item(Slice(m, sp.Tuple(i, i + 1, 1), sp.Tuple(j, j + 1, 1)))
    if isinstance(e, TensorVJP) and e.op == "einsum":  # a Hessian through nchw->nc
        return expand_einsum_vjp(e) or e
    if isinstance(e, Elementwise) and e.name == "Heaviside":  # the same, entry by entry
        a = e.operands[0]  # (relu′ of a matrix, lifted from SymPy's scalar slope)
        h0 = e.operands[1] if len(e.operands) > 1 else sp.S.Half
        up, down = Elementwise("step", a), Elementwise("step", mscale(-1, a))
        return madd(up, mscale(h0, madd(OneMatrix(*a.shape), mscale(-1, up),
                                        mscale(-1, down))))
    return e


# SymPy functions the rules do not hold, as the compositions the text writes for them
_REWRITES: dict[type, Callable[..., sp.Basic]] = {
    sp.sec: lambda x: 1 / sp.cos(x), sp.csc: lambda x: 1 / sp.sin(x),
    sp.cot: lambda x: 1 / sp.tan(x), sp.sech: lambda x: 1 / sp.cosh(x),
    sp.csch: lambda x: 1 / sp.sinh(x), sp.coth: lambda x: 1 / sp.tanh(x),
}


def _piecewise(e: sp.Piecewise) -> sp.Basic:
    """SymPy's Piecewise((x, a > b), …, (y, True)) as the text's where(a > b, x, …): each
    branch x·𝟏[a > b] + (1 − 𝟏[a > b])·(the rest), a comparison being NumPy's 0 or 1."""
    *branches, (acc, last) = e.args
    if last is not sp.true:
        raise UnsupportedError(f"{e}: a Piecewise ends with an (expression, True) branch")
    for x, c in reversed(branches):
        s = _indicator(c, e)
        acc = s * x + (1 - s) * acc
    return acc


def _indicator(c: sp.Basic, e: sp.Basic) -> sp.Expr:
    """𝟏[c] for a comparison or a logic formula over comparisons, in the step primitive:
    𝟏[a > b] = step(a − b), 𝟏[a ≥ b] = 1 − step(b − a), 𝟏[a = b] = 1 − both, 𝟏[¬c] = 1 − 𝟏[c],
    𝟏[c ∧ d] = 𝟏[c]·𝟏[d], ITE(c, d, f) = 𝟏[c]·𝟏[d] + (1 − 𝟏[c])·𝟏[f] (SymPy folds nested
    Piecewise conditions into these); its slope is 0 almost everywhere, as NumPy's where."""
    if c is sp.true or c is sp.false:
        return sp.Integer(int(bool(c)))
    if isinstance(c, sp.core.relational.Relational) and not isinstance(c, (sp.Eq, sp.Ne)):
        a, b = c.lhs, c.rhs
        if isinstance(c, (sp.StrictLessThan, sp.LessThan)):
            a, b = b, a
        strict = isinstance(c, (sp.StrictGreaterThan, sp.StrictLessThan))
        return step(a - b) if strict else 1 - step(b - a)
    if isinstance(c, (sp.Eq, sp.Ne)):
        eq = 1 - step(c.lhs - c.rhs) - step(c.rhs - c.lhs)
        return eq if isinstance(c, sp.Eq) else 1 - eq
    logic = (sp.Not, sp.And, sp.Or, sp.Xor, sp.Implies, sp.ITE)
    parts = [_indicator(a, e) for a in c.args] if isinstance(c, logic) else []
    if isinstance(c, sp.Not):
        return 1 - parts[0]
    if isinstance(c, sp.And):
        return sp.Mul(*parts)
    if isinstance(c, sp.Or):
        return 1 - sp.Mul(*(1 - p for p in parts))
    if isinstance(c, sp.Xor):
        return functools.reduce(lambda p, q: p + q - 2 * p * q, parts)
    if isinstance(c, sp.Implies):
        return 1 - parts[0] * (1 - parts[1])
    if isinstance(c, sp.ITE):
        return parts[0] * parts[1] + (1 - parts[0]) * parts[2]
    raise UnsupportedError(f"{e}: a Piecewise condition is a comparison (>, <, >=, <=, ==, "
                           f"!=) or And, Or, Not, Xor, Implies, ITE of them, not {c}")
