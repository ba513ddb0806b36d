"""Building SymPy's canonical objects quickly, exactly as SymPy builds them.

A derivation makes a few new SymPy objects per node, each after SymPy's cache was cleared,
and SymPy's constructors spend most of their time finding out what we already know: that a
renamed node's operands cannot combine (``_resorted``), that a function of a new symbol does
not simplify (``_unevaluated``, ``_applied``), that an adjoint times a partial only joins the
factors (``times_symbol``), that a sum of unlike terms only sorts them (``sum_of``). Each fast
path builds what SymPy's own constructor would (``tests/test_rebuild.py`` compares them on
random programs) and steps aside, returning None, whenever it is not sure. ``replace_args``
is the substitution the builder, the renaming and the sweep use; ``is_leaf`` what counts as an
input or constant.
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from typing import Any

import sympy as sp
from sympy import OneMatrix
from sympy.core.basic import _args_sortkey, _cmp_name
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .algebra import is_matrix, rebuild
from .functions import Pattern


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
    try:
        return e.xreplace(mapping)
    except TypeError:  # SymPy's Pow factors its exponent, and fails on a matrix reduction
        return rebuild(e, mapping.get,  # in it (x ** sum(2 + P)): such terms unevaluated
                       lambda x, args: x.func(*args, evaluate=False)
                       if type(x) in (sp.Pow, sp.Mul, sp.Add) else x.func(*args))


def substitute(template: sp.Basic, env: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """``replace_args(template, env)`` for a rule's local partial (placeholders → operands).

    Most partials hold one placeholder (σ' is ``out·(1 − out)``, tanh' ``1 − out²``). When
    it becomes a plain real symbol, the result is the template's own tree with the symbol
    swapped, built without SymPy's evaluation: the two symbols have the same assumptions, so
    nothing evaluates differently, and every comparison SymPy's canonical order makes sees
    the same name on both sides, so no order changes (``tests/test_rebuild.py`` compares).
    """
    one = _ONE_SYMBOL.get(template)
    if one is None:
        free = template.free_symbols
        only = next(iter(free)) if len(free) == 1 else None
        one = only if only is not None and _plain(only) else False
        if len(_ONE_SYMBOL) > 4096:  # a bound for a long-lived process with many exponents
            _ONE_SYMBOL.clear()
        _ONE_SYMBOL[template] = one
    if one is not False:
        new = env.get(one)
        if new is not None and _plain(new):
            fast = _swapped(template, one, new)
            if fast is not None:
                return fast
    return replace_args(template, env)


_ONE_SYMBOL: dict[sp.Basic, Any] = {}  # a template -> its one plain symbol, or False


def _swapped(e: sp.Basic, old: sp.Basic, new: sp.Basic) -> sp.Basic | None:
    """``e`` with ``old`` replaced by ``new`` node by node, for ``substitute``; None at a node
    that is not a sum, product, power or plainly built function."""
    if e is old:
        return new
    if e.is_Atom:
        return None if type(e) is sp.Symbol else e  # another symbol: not ours to swap
    args: list[sp.Basic] = []
    for a in e.args:
        b = _swapped(a, old, new)
        if b is None:
            return None
        args.append(b)
    cls = type(e)
    if cls is sp.Add or cls is sp.Mul:
        return cls._from_args(args, True)  # type: ignore[attr-defined]
    if cls is sp.Pow:
        return sp.Pow(args[0], args[1], evaluate=False)
    if isinstance(e, sp.Function) and len(args) == 1 and _builds_plainly(cls):
        return _applied(e, args[0])
    return None


def _canonical_sort(args: list[sp.Basic]) -> None:
    """Sort operands as SymPy's flattening does (``Basic.compare``). Plain real symbols
    compare by name alone (their class and assumptions are the same), so a list of them is
    sorted by name without the comparison calls; symbols of any assumptions compare by the
    length of their hashable content, then by it (name first), as ``Basic.compare`` does."""
    # map over C-level tests rather than generators: this runs for every product the sweep
    # makes of an adjoint and a partial that is not one symbol
    if all(map(_plain, args)):
        args.sort(key=_name)
        return
    kinds = list(map(type, args))
    n_symbols = kinds.count(sp.Symbol)
    if _PLAIN_KEY is not None and n_symbols == len(args):
        args.sort(key=_symbol_key)
    elif kinds.count(sp.Mul) == len(args) and all(map(_plain_product, args)):
        # products of plain symbols (an adjoint's terms ∂L/∂u·w): ``compare`` orders them
        # by their number of factors, then factor by factor, by name
        args.sort(key=_product_key)
    elif _PLAIN_KEY is not None and n_symbols > 1:
        # symbols and a few other terms (o − y: −y is a product): ``compare`` orders objects
        # of two classes by the classes alone, so the symbols form one block, sorted as
        # above, among the rest sorted by ``compare`` (a whole sort by it called it 4,000
        # times for a 32-64-10 network's output sums)
        symbols = sorted((a for a in args if type(a) is sp.Symbol), key=_symbol_key)
        rest = sorted((a for a in args if type(a) is not sp.Symbol), key=_args_sortkey)
        if any(type(a).__name__ == "Symbol" for a in rest):  # a namesake class: no shortcut
            args.sort(key=_args_sortkey)
            return
        before = [a for a in rest if _before_symbol(type(a))]  # a prefix of rest
        args[:] = before + symbols + rest[len(before):]
    else:
        args.sort(key=_args_sortkey)


def _plain_product(a: sp.Basic) -> bool:
    return all(map(_plain, a.args))


_BEFORE: dict[type, bool] = {}


def _before_symbol(cls: type) -> bool:
    """Whether ``compare`` puts objects of ``cls`` before symbols (by class name: asked once
    per class)."""
    hit = _BEFORE.get(cls)
    if hit is None:
        hit = _BEFORE[cls] = _cmp_name(cls, sp.Symbol) < 0
    return hit


_name = attrgetter("name")  # a symbol's name, read in C (a sort key is called per operand)


def _product_key(a: sp.Basic) -> tuple[int, tuple[str, ...]]:
    return len(a.args), tuple(map(_name, a.args))


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
            return _power(new, e.exp)
    return None


def _power(base: sp.Basic, exp: sp.Basic) -> sp.Basic:
    """``Pow(base, exp, evaluate=False)`` of a plain real symbol and a number, as its
    constructor builds it (checked once per exponent, ``_builds_power``), without its
    cache and argument checks: a few microseconds a power, once per square of a loss."""
    if not _builds_power(exp):
        return sp.Pow(base, exp, evaluate=False)
    obj = sp.Expr.__new__(sp.Pow, base, exp)
    obj.is_commutative = True  # type: ignore[attr-defined]
    return obj


_POWER: dict[sp.Basic, bool] = {}


def _builds_power(exp: sp.Basic) -> bool:
    hit = _POWER.get(exp)
    if hit is None:
        slow = sp.Pow(PROBE, exp, evaluate=False)
        fast = sp.Expr.__new__(sp.Pow, PROBE, exp)
        fast.is_commutative = True  # type: ignore[attr-defined]
        hit = (type(slow) is sp.Pow and slow.args == fast.args and slow == fast
               and hash(slow) == hash(fast) and slow.is_commutative is True)
        if len(_POWER) > 4096:  # a bound for a long-lived process with many exponents
            _POWER.clear()
        _POWER[exp] = hit
    return hit


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
    if type(g) is not sp.Symbol:
        return None
    if type(e) is sp.Symbol and _plain(e) and _plain(g) and e.name != g.name:
        # the common case (the adjoint times an operand): two factors, sorted by name
        return sp.Mul._from_args((e, g) if e.name < g.name else (g, e), True)
    if not getattr(e, "is_commutative", False):
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
    if all(map(_plain, rest)):  # the common case, decided by the names alone
        if len(set(map(_name, rest))) != len(rest):
            return None
        rest.sort(key=_name)
        return type(e)._from_args(head + rest, True)  # type: ignore[attr-defined]
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
            or isinstance(e, (sp.MatrixSymbol, OneMatrix, Identity, ZeroMatrix, Pattern)))
    return hit


_LEAF: dict[type, bool] = {}
