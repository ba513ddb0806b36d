"""Recognising primitives: ``classify`` reads one SymPy node as ``Prim(name, operands,
params)`` of the table in ``rules``; ``template`` and ``local_partials`` give an element-wise
primitive's scalar form and its partials (from ``sympy.diff``); ``lift`` writes a scalar
partial element-wise over matrices; ``replace_args`` substitutes without SymPy re-deciding
what it already knows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, OneMatrix, Transpose
from sympy.core.basic import _args_sortkey
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .algebra import hadamard, is_matrix, madd, mscale, rebuild
from .errors import UnsupportedError
from .functions import Elementwise, scalar_function
from .rule import Rule
from .rules import BY_NODE, BY_SYMPY, RULES


class Prim(NamedTuple):
    """A SymPy node read as a primitive: ``name`` in RULES, the operand subexpressions, params."""

    name: str
    operands: tuple[sp.Basic, ...]
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def kw(self) -> dict[str, Any]:
        return dict(self.params)


def replace_args(e: sp.Basic, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """``e.xreplace(mapping)`` for a shallow ``e``, quicker for ``f(v)`` with ``v`` a symbol.

    A one-argument function whose new argument is a plain real symbol (``real=True`` and
    nothing else, like every intermediate) is rebuilt without SymPy's ``eval``: such a call
    never simplifies (checked once per function on a probe symbol), so the result is the
    same, without the tens of microseconds ``sin.eval`` and friends spend finding that out.
    """
    hit = mapping.get(e)
    if hit is not None:
        return hit
    if e.is_Atom:
        return e
    fast = _resorted(e, mapping) if type(e) in (sp.Add, sp.Mul) else _unevaluated(e, mapping)
    if fast is not None:
        return fast
    if all(mapping.get(a, a) is a for a in e.args) and all(a.is_Atom for a in e.args):
        return e  # nothing of e is replaced
    if e.has(*_COMPARING):
        return _replace_without_comparing(e, mapping)
    return e.xreplace(mapping)


def _canonical_sort(args: list[sp.Basic]) -> None:
    """Sort operands as SymPy's flattening does (``Basic.compare``). Plain real symbols
    compare by name alone (their class and assumptions are the same), so a list of them is
    sorted by name without the comparison calls; symbols of any assumptions compare by the
    length of their hashable content, then by it (name first), as ``Basic.compare`` does."""
    if all(_plain(a) for a in args):
        args.sort(key=_name)
    elif _PLAIN_KEY is not None and all(type(a) is sp.Symbol for a in args):
        args.sort(key=_symbol_key)
    else:
        args.sort(key=_args_sortkey)


def _name(a: sp.Basic) -> str:
    return a.name  # type: ignore[no-any-return]


def _symbol_key(a: sp.Basic) -> tuple[Any, ...]:
    key = a._assumptions0  # type: ignore[attr-defined]
    return (len(key), a.name, key)  # type: ignore[attr-defined]


def _unevaluated(e: sp.Basic, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Basic | None:
    """``f(t)`` and ``t**c`` whose ``t`` becomes a new plain real symbol, built without
    SymPy's evaluation (such a call never simplifies: checked once per function and
    exponent on a probe symbol); None for anything else."""
    if isinstance(e, sp.Function) and len(e.args) == 1:
        new = mapping.get(e.args[0])
        if new is not None and _plain(new) and _keeps_plain_symbol(type(e)):
            return _applied(e, new) if _builds_plainly(type(e)) else e.func(new, evaluate=False)
    elif type(e) is sp.Pow and e.exp.is_Rational:  # t**2, t**-1, sqrt(t)
        new = mapping.get(e.base)
        if new is not None and _plain(new) and _keeps_plain_symbol(sp.Pow, e.exp):
            return sp.Pow(new, e.exp, evaluate=False)
    return None


def sum_of(terms: list[sp.Basic]) -> sp.Basic | None:
    """The scalar sum of ``terms`` as SymPy's ``Add`` builds it when nothing combines (no
    number, no nested sum, no two terms alike up to their coefficient): only re-sorted, as
    its flattening sorts. None when a term could combine or is anything else (then
    ``Add``). The adjoint of a variable used twice is such a sum."""
    keys: set[sp.Basic] = set()
    for t in terms:
        if (t.is_Number or type(t) is sp.Add or not t.is_commutative or t.is_Order
                or is_matrix(t) or (type(t) is sp.Pow and t.base.is_Number)):
            return None
        key = t if type(t) is sp.Symbol else t.as_coeff_Mul()[1]
        if key in keys:
            return None
        keys.add(key)
    args = list(terms)
    _canonical_sort(args)
    return sp.Add._from_args(args, True)


def _applied(e: sp.Basic, arg: sp.Basic) -> sp.Basic:
    """``type(e)(arg)`` as SymPy's constructor builds it when nothing evaluates, with ``e``'s
    own ``nargs``: SymPy makes a new set of them per call, most of the cost of a function
    call once its cache is cleared (a fifth of a small network's derivation)."""
    obj = sp.Basic.__new__(type(e), arg)
    obj.nargs = e.nargs  # type: ignore[attr-defined]
    return obj


_PLAINLY: dict[type, bool] = {}


def _builds_plainly(cls: type) -> bool:
    """Whether ``_applied`` builds what ``cls(v, evaluate=False)`` builds (checked once per
    class on a probe symbol: the same type, arguments, attributes and assumptions)."""
    hit = _PLAINLY.get(cls)
    if hit is None:
        try:
            slow = cls(PROBE, evaluate=False)
            fast = _applied(slow, PROBE)
            hit = (type(fast) is type(slow) and fast.args == slow.args
                   and getattr(fast, "__dict__", None) == getattr(slow, "__dict__", None)
                   and fast._assumptions is slow._assumptions and fast == slow)
        except Exception:  # any doubt: SymPy's own constructor
            hit = False
        _PLAINLY[cls] = hit
    return hit


def times_symbol(g: sp.Basic, e: sp.Basic, absent: bool = False) -> sp.Basic | None:
    """``g * e`` for a scalar symbol ``g`` that does not occur in ``e`` (an adjoint times a
    local partial): what SymPy's product builds, without flattening — ``g`` joins the
    factors, the coefficient stays first, the rest is sorted by SymPy's key. None when ``e``
    is a number other than a plain finite one (then SymPy multiplies), or when ``g`` occurs
    in ``e`` (not looked for when the caller knows it is ``absent``)."""
    if type(g) is not sp.Symbol or not getattr(e, "is_commutative", False):
        return None
    if e.is_Number:
        if e.is_zero or not e.is_finite or e is sp.S.NaN:
            return None
        return sp.Mul._from_args((e, g), True)
    factors = list(e.args) if type(e) is sp.Mul else [e]
    if not absent and g in e.free_symbols:
        return None
    head = factors[:1] if factors[0].is_Number else []
    rest = [*factors[len(head):], g]
    if any(f.is_Number for f in rest):
        return None
    _canonical_sort(rest)
    return sp.Mul._from_args(head + rest, True)


def _resorted(e: sp.Basic, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Basic | None:
    """A sum or product of scalars whose operands are replaced by *new, distinct symbols*
    (a node's children by their temporaries, temporaries by their names): what SymPy's
    flattening would build, without it. Nothing can combine (the symbols are new and
    distinct), so flattening only re-sorts: the coefficient stays first, the rest is sorted
    by SymPy's own key; ``e`` itself when nothing is replaced; None when the replacement
    is anything else (then ``xreplace``)."""
    args = e.args
    new: list[sp.Basic] = []
    changed = False
    for a in args:
        b = mapping.get(a)
        if b is a:  # mapped to itself: unchanged
            b = None
        if b is None:
            if not a.is_Atom:  # an operand with replaced parts inside (x**2, sin(t))
                b = replace_args(a, mapping)
                if type(b) is type(e) or b.is_Number:
                    return None
                changed = changed or b is not a
            else:
                b = a
        elif type(b) is not sp.Symbol:
            return None
        else:
            changed = True
        new.append(b)
    if not changed:
        return e
    head = [new[0]] if args[0].is_Number else []
    rest = new[len(head):]
    if any(b.is_Number or not b.is_commutative for b in rest):
        return None
    # nothing combines when no two operands share what SymPy collects them by: the term
    # of a sum's operand (2t and 3t), the base of a product's factor (t and t**2)
    if all(type(b) is sp.Symbol for b in rest):
        keys = set(rest)  # a symbol is its own term and base
    elif type(e) is sp.Mul:
        keys = {b.as_base_exp()[0] for b in rest}
        if head and any(type(b) is sp.Add for b in rest):
            return None  # 2·(a + b) would be distributed
    else:
        keys = {b.as_coeff_Mul()[1] for b in rest}
    if len(keys) != len(rest):
        return None
    _canonical_sort(rest)
    if type(e) is sp.Mul:
        return sp.Mul._from_args(head + rest, True)
    return sp.Add._from_args(head + rest, True)  # every operand is commutative (above)


# functions whose constructor asks the assumption system how its arguments compare
_COMPARING = (sp.Max, sp.Min, sp.Heaviside)


def _replace_without_comparing(e: sp.Basic, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """``xreplace`` that rebuilds max, min and the step without SymPy comparing their
    arguments: ``Max(t, x)`` asks whether t ≥ x and ``Heaviside(t - x)`` the sign of t − x,
    up to 15 ms a call (450 stages of max(t, x)*min(t, y) took 15 s to derive).
    Numbers still fold."""
    def leaf(x: sp.Basic) -> sp.Basic | None:
        if x in mapping:
            return mapping[x]
        return x if not x.args or is_leaf(x) else None

    def build(x: sp.Basic, args: list[sp.Basic]) -> sp.Basic:
        if isinstance(x, _COMPARING) and not all(a.is_Number for a in args):
            return x.func(*args, evaluate=False)
        return x.func(*args)

    return rebuild(e, leaf, build)


PROBE = sp.Symbol("_probe", real=True)  # a plain real symbol, like every intermediate
_PLAIN_REAL0 = PROBE.assumptions0
_KEEPS: dict[tuple[Any, ...], bool] = {}


# SymPy ≥ 1.13 keeps a symbol's assumptions as a sorted tuple: compared without a new dict
_PLAIN_KEY = getattr(PROBE, "_assumptions0", None)


def _plain(v: sp.Basic) -> bool:
    """A plain real symbol (``real=True`` and nothing else), like every intermediate."""
    if type(v) is not sp.Symbol:
        return False
    if _PLAIN_KEY is not None:
        key = v._assumptions0  # type: ignore[attr-defined]
        return key is _PLAIN_KEY or key == _PLAIN_KEY
    return v.assumptions0 == _PLAIN_REAL0  # type: ignore[no-any-return]


def _keeps_plain_symbol(func: Any, *rest: sp.Basic) -> bool:
    """Whether ``func(v, *rest)`` stays itself for a plain real symbol ``v`` (asked once)."""
    key = (func, *rest)
    hit = _KEEPS.get(key)
    if hit is None:
        try:
            r: Any = func(PROBE, *rest, evaluate=True)
            hit = type(r) is func and r.args == (PROBE, *rest)
        except Exception:  # any doubt: take the evaluating path
            hit = False
        _KEEPS[key] = hit
    return hit


def is_leaf(e: sp.Basic) -> bool:
    """Inputs and constants: symbols, matrix symbols, numbers, ones/identity/zero matrices.
    What a leaf is depends on its class alone (SymPy's ``is_Symbol``, ``is_Number`` and
    ``is_NumberSymbol`` are class attributes): decided once per class."""
    hit = _LEAF.get(type(e))
    if hit is None:
        hit = _LEAF[type(e)] = bool(
            e.is_Symbol or e.is_Number or e.is_NumberSymbol
            or isinstance(e, (sp.MatrixSymbol, OneMatrix, Identity, ZeroMatrix)))
    return hit


_LEAF: dict[type, bool] = {}


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
    if isinstance(e, (sp.Add, MatAdd)):
        coeffs, ops, const = [], [], sp.S.Zero
        for term in e.args:
            c0 = _const_value(term)
            if c0 is not None:
                const += c0
                continue
            c, rest = _split_coeff(term)
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


def _split_coeff(term: sp.Basic) -> tuple[sp.Expr, sp.Basic]:
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
    if isinstance(expr, sp.Function):
        args = [lift(a, env, shape) for a in expr.args]
        name = BY_SYMPY.get(type(expr), type(expr).__name__)
        if not any(map(is_matrix, args)):
            return expr.func(*args)
        return Elementwise(name, *args)
    raise UnsupportedError(f"cannot write {expr} element-wise")
