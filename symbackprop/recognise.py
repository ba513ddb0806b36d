"""Recognising primitives: ``classify`` reads one SymPy node as ``Prim(name, operands,
params)`` of the table in ``rules``; ``template`` and ``local_partials`` give an element-wise
primitive's scalar form and its partials (from ``sympy.diff``); ``lift`` writes a scalar
partial element-wise over matrices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, OneMatrix, Transpose
from sympy.matrices.expressions.matexpr import MatrixExpr

from .algebra import hadamard, is_matrix, madd, mscale
from .errors import UnsupportedError
from .functions import Elementwise, scalar_function
from .rule import Rule
from .rules import BY_NODE, BY_SYMPY, RULES
from .tensor_nodes import TensorJVP, TensorVJP


class Prim(NamedTuple):
    """A SymPy node read as a primitive: ``name`` in RULES, the operand subexpressions, params."""

    name: str
    operands: tuple[sp.Basic, ...]
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kw(self) -> dict[str, Any]:
        return dict(self.params)


def _const_value(e: sp.Basic) -> sp.Expr | None:
    """A term that is a constant: a number, or c·𝟏 (a constant broadcast over a matrix)."""
    if e.is_Number or e.is_NumberSymbol:
        return e
    if isinstance(e, OneMatrix):
        return sp.S.One
    if isinstance(e, MatMul):
        c, mats = e.as_coeff_matrices()
        if len(mats) == 1 and isinstance(mats[0], OneMatrix) and c.is_Number:
            return c
    return None


_MEMO: ContextVar[dict[sp.Basic, Prim] | None] = ContextVar("classify_memo", default=None)


@contextmanager
def remembered() -> Iterator[None]:
    """Within the block, ``classify`` reads each node once: the builder, the grouping and
    the sweep all ask about the same nodes. The memo lives only as long as the block (one
    derivation): no state survives it."""
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)


def classify(e: sp.Basic) -> Prim:
    """Read one SymPy node as a primitive, or raise UnsupportedError naming it."""
    memo = _MEMO.get()
    if memo is None:
        return _classify(e)
    hit = memo.get(e)
    if hit is None:
        hit = memo[e] = _classify(e)
    return hit


def _classify(e: sp.Basic) -> Prim:
    cls = type(e)
    if (cls is sp.Mul or cls is sp.Add) and all(type(a) is sp.Symbol for a in e.args):
        return _of_symbols(e)
    name = _FUNCTIONS.get(cls)
    if name is not None:  # sin(t), σ(t): what _read's last case gives, without its tests
        return Prim(name, e.args)
    return _read(e)


def _of_symbols(e: sp.Basic) -> Prim:
    """A sum or product of symbols (most nodes of a scalarised network): what ``_read``
    gives, every coefficient and exponent 1, without asking each term for them. Nodes of one
    kind and arity share one ``params`` object (the sweep finds their partials once)."""
    key = (type(e), len(e.args))
    params = _SYMBOL_PARAMS.get(key)
    if params is None:
        ones = (sp.S.One,) * len(e.args)
        params = _SYMBOL_PARAMS[key] = ((("coeffs", ones), ("const", sp.S.Zero))
                                        if type(e) is sp.Add else
                                        (("coeff", sp.S.One), ("exps", ones)))
    return Prim("add" if type(e) is sp.Add else "mul", e.args, params)


_SYMBOL_PARAMS: dict[tuple[type, int], tuple[tuple[str, Any], ...]] = {}

# the SymPy functions no case of _read before its last one takes (max and min have theirs)
_FUNCTIONS: dict[type, str] = {
    c: n for c, n in BY_SYMPY.items()
    if isinstance(c, type) and issubclass(c, sp.Function) and c not in BY_NODE
    and not issubclass(c, (sp.Max, sp.Min, Elementwise, TensorVJP, TensorJVP))}


def _read(e: sp.Basic) -> Prim:
    if isinstance(e, (sp.Add, MatAdd)):
        coeffs, ops, const = [], [], sp.S.Zero
        for term in e.args:
            if type(term) is sp.Symbol or (type(term) is sp.Mul and not term.args[0].is_Number):
                coeffs.append(sp.S.One)  # x, or x·y: coefficient 1 (what as_coeff_Mul says)
                ops.append(term)
                continue
            c0 = _const_value(term)
            if c0 is not None:
                const += c0
                continue
            c, rest = split_coeff(term)
            coeffs.append(c)
            ops.append(rest)
        return Prim("add", tuple(ops), (("coeffs", tuple(coeffs)), ("const", const)))
    if isinstance(e, MatMul):
        # as_coeff_matrices' scalar is every scalar factor multiplied out, and a MatMul may
        # hold it as one Mul argument ((2h)·W): split that product, never the args again
        c, mats = e.as_coeff_matrices()
        number, rest = c.as_coeff_Mul()
        scalars = list(sp.Mul.make_args(rest)) if rest != 1 else []
        if len(mats) >= 2 and c == 1:  # (AB)C: the left product an operand of its own
            return Prim("matmul", (mats[0] if len(mats) == 2 else MatMul(*mats[:-1]), mats[-1]))
        # a scalar times a matrix, or times a product of matrices (Q Kᵀ/8): the product is
        # an operand of its own, read as a matmul in turn
        body = mats[0] if len(mats) == 1 else MatMul(*mats)
        return Prim("mul", (*scalars, body),
                    (("coeff", number),
                     ("exps", (sp.S.One,) * (len(scalars) + 1))))
    if isinstance(e, sp.Mul):
        coeff, ops, exps = sp.S.One, [], []
        for f in e.args:
            if f.is_Number:
                coeff *= f
                continue
            base, ex = f.as_base_exp()
            if ex in (sp.S.One, sp.S.NegativeOne):
                ops.append(base)
                exps.append(ex)
            else:
                ops.append(f)
                exps.append(sp.S.One)
        return Prim("mul", tuple(ops), (("coeff", coeff), ("exps", tuple(exps))))
    if isinstance(e, HadamardProduct):
        return Prim("mul", tuple(e.args), (("coeff", sp.S.One),
                                           ("exps", (sp.S.One,) * len(e.args))))
    if isinstance(e, sp.Pow):
        base, ex = e.args
        if base is sp.E:
            return Prim("exp", (ex,))
        if ex.is_Number:
            return Prim("pow", (base,), (("exp", ex),))
        return Prim("pow", (base, ex))
    if isinstance(e, HadamardPower):
        base, ex = e.args
        if ex.is_Number:
            return Prim("pow", (base,), (("exp", ex),))
        raise UnsupportedError("an element-wise power with a symbolic exponent")
    if isinstance(e, Transpose):
        return Prim("transpose", (e.args[0],))
    if isinstance(e, Elementwise):
        if e.name not in RULES or RULES[e.name].sympy is None:
            raise UnsupportedError(f"no rule for the element-wise function {e.name!r}")
        return Prim(e.name, e.operands)
    rule = BY_NODE.get(type(e))
    if rule is not None:
        params = rule.params_of(e) if rule.params_of is not None else ()
        return Prim(rule.name, node_operands(e, rule), params)
    if isinstance(e, (TensorVJP, TensorJVP)):
        raise UnsupportedError(f"a derivative of the {e.op} cotangent (second order through "
                               f"{e.op}): not a primitive yet; Hessians and forward-over-"
                               "reverse stop at convolution, pooling, the softmax along an "
                               "axis, batchnorm2d and an einsum that reads a diagonal")
    if isinstance(e, (sp.Max, sp.Min)):  # max(a, b, c) is max(max(a, b), c)
        first = e.args[0] if len(e.args) == 2 else e.func(*e.args[:-1], evaluate=False)
        return Prim("max" if isinstance(e, sp.Max) else "min", (first, e.args[-1]))
    if isinstance(e, sp.Function) and type(e) in BY_SYMPY:
        return Prim(BY_SYMPY[type(e)], tuple(e.args))
    raise UnsupportedError(f"no rule for {_describe(e)}")


def node_operands(e: sp.Basic, rule: Rule) -> tuple[sp.Basic, ...]:
    """The operands of a matrix primitive's node: its first ``rule.operands`` arguments
    (SymPy's ``Inverse(X)`` also holds the exponent −1, ``max(X, axis=1)`` its axis), or all."""
    return tuple(e.args[:rule.operands] if rule.operands else e.args)


def split_coeff(term: sp.Basic) -> tuple[sp.Expr, sp.Basic]:
    if isinstance(term, MatMul):
        c, mats = term.as_coeff_matrices()
        scalars = [a for a in term.args if not getattr(a, "is_Matrix", False) and not a.is_Number]
        if c.is_Number and not scalars and len(mats) == 1:
            return c, mats[0]
        if c.is_Number and c != 1 and not scalars:
            return c, MatMul(*mats)
        return sp.S.One, term
    c, rest = term.as_coeff_Mul()
    return c, rest


def _describe(e: sp.Basic) -> str:
    name = getattr(type(e), "__name__", str(type(e)))
    return f"'{name}' (in {sp.sstr(e)[:60]})" if not isinstance(e, MatrixExpr) else f"'{name}'"


def template(p: Prim, placeholders: tuple[sp.Symbol, ...]) -> sp.Expr:
    """The scalar SymPy expression of an element-wise primitive in placeholder symbols."""
    kw = p.kw
    if p.name == "add":
        return sp.Add(*[c * x for c, x in zip(kw["coeffs"], placeholders, strict=True)],
                      kw["const"])
    if p.name == "mul":
        return sp.Mul(kw["coeff"], *[x**e for x, e in zip(placeholders, kw["exps"], strict=True)])
    if p.name == "pow":
        ex = kw.get("exp", placeholders[1] if len(placeholders) > 1 else None)
        return sp.Pow(placeholders[0], ex)
    return scalar_function(p.name)(*placeholders)  # type: ignore[no-any-return]


def placeholders(n: int) -> tuple[sp.Symbol, ...]:
    while len(_PLACEHOLDERS) < n:  # made once: a Symbol costs microseconds, vjp asks per node
        _PLACEHOLDERS.append(sp.Symbol(f"_p{len(_PLACEHOLDERS)}", real=True))
    return tuple(_PLACEHOLDERS[:n])


_PLACEHOLDERS: list[sp.Symbol] = []


OUT = sp.Symbol("_out", real=True)


def local_partials(p: Prim) -> tuple[sp.Expr, ...]:
    """∂out/∂operand_k of an element-wise primitive, from SymPy, in placeholders and ``OUT``."""
    return partials_of(p.name, p.params, len(p.operands))


def partials_of(name: str, params: tuple[tuple[str, Any], ...], arity: int
                ) -> tuple[sp.Expr, ...]:
    """``local_partials`` of the primitive ``name`` with ``params`` and ``arity`` operands
    (found once per process: the sweep asks per node)."""
    key = (name, params, arity)
    hit = _PARTIALS.get(key)
    if hit is None:
        hit = _PARTIALS[key] = _local_partials(Prim(name, placeholders(arity), params))
    return hit


_PARTIALS: dict[tuple[str, tuple[tuple[str, Any], ...], int], tuple[sp.Expr, ...]] = {}


def _local_partials(p: Prim) -> tuple[sp.Expr, ...]:
    if p.name == "add":  # ∂(Σ c_k x_k)/∂x_k = c_k; diff of an n-ary sum n times is quadratic
        return tuple(sp.S.One * c for c in p.kw["coeffs"])  # SymPy numbers, never text
    ph = placeholders(len(p.operands))
    if p.name == "mul":  # c·Π x_k^e_k: e_j x_j^(e_j − 1) times the rest, what sp.diff gives
        c, exps = p.kw["coeff"], p.kw["exps"]  # in 1/30 of the time for 32 factors
        powers = [x**e for x, e in zip(ph, exps, strict=True)]
        return tuple(sp.Mul(c, e, x ** (e - 1), *powers[:j], *powers[j + 1:])
                     for j, (x, e) in enumerate(zip(ph, exps, strict=True)))
    t = template(p, ph)
    parts = []
    for x in ph:
        if p.name == "pow" and len(ph) == 2 and x == ph[0]:
            parts.append(ph[1] * ph[0] ** (ph[1] - 1))  # SymPy says x**y*y/x: 0/0 at x = 0
            continue
        # the derivative almost everywhere: sign′ = 2δ is 0 off the kink (the rule's
        # ``nondiff`` reports the kink itself)
        d = sp.diff(t, x).replace(lambda e: isinstance(e, sp.DiracDelta), lambda e: sp.S.Zero)
        if RULES[p.name].reuse_output or (p.name == "pow" and p.kw.get("exp") == sp.S.Half):
            d = d.subs(t, OUT)
        parts.append(d)
    return tuple(parts)


def lift(expr: sp.Expr, env: dict[sp.Symbol, sp.Basic], shape: tuple[Any, Any]) -> sp.Basic:
    """Turn a scalar partial (in placeholders) into the element-wise matrix expression.

    ``p0*(1 - p0)`` with ``p0 -> h`` becomes ``h ⊙ (1 − h)``; a constant stays a scalar.
    """
    if expr.is_Number or not (expr.free_symbols & set(env)):
        return expr
    if expr in env:
        return env[expr]
    if not any(is_matrix(env[s]) for s in expr.free_symbols if s in env):
        return expr.xreplace(env)  # a part over scalar operands stays a scalar (ψ's order)
    if isinstance(expr, sp.Add):
        parts = []
        for t in expr.args:
            lt = lift(t, env, shape)
            parts.append(mscale(lt, OneMatrix(*shape)) if not is_matrix(lt) else lt)
        consts = [p for p in parts if (isinstance(p, MatMul) and _const_value(p) is not None)
                  or isinstance(p, OneMatrix)]
        others = [p for p in parts if p not in consts]
        return madd(*consts, *others)
    if isinstance(expr, sp.Mul):
        return hadamard(*[lift(f, env, shape) for f in expr.args])
    if isinstance(expr, sp.Pow):
        base = lift(expr.args[0], env, shape)
        if not is_matrix(base):
            return base ** expr.args[1]
        return HadamardPower(base, expr.args[1])
    if isinstance(expr, (sp.Function, sp.Min, sp.Max)):  # min and max: huber′ is a clip
        args = [lift(a, env, shape) for a in expr.args]
        name = BY_SYMPY.get(type(expr), type(expr).__name__)
        if not any(map(is_matrix, args)):
            return expr.func(*args)
        return Elementwise(name, *args)
    raise UnsupportedError(f"cannot write {expr} element-wise")
