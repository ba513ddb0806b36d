"""Small constructors for matrix expressions that keep the order written and drop units.

SymPy's own ``MatMul``/``MatAdd`` evaluate, reorder and multiply scalar factors in ways that
change what a derivation prints (and, for ``HadamardProduct`` of a scaled ``OneMatrix``, what
it means); every matrix expression the library builds goes through these instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sympy as sp
from sympy import HadamardProduct, Inverse, MatAdd, MatMul, OneMatrix, Transpose
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .functions import DiagJacobian, Elementwise


def is_matrix(e: Any) -> bool:
    return bool(getattr(e, "is_Matrix", False))


def rebuild(e: sp.Basic, leaf: Callable[[sp.Basic], sp.Basic | None],
            build: Callable[[sp.Basic, list[sp.Basic]], sp.Basic],
            unchanged_stays: bool = True) -> sp.Basic:
    """``e`` rebuilt bottom-up, each distinct node once, with an explicit stack (any depth):
    ``leaf(x)`` is x's value when x is not descended into (None: descend), ``build(x, args)``
    makes x from its rebuilt arguments — not called when none changed and
    ``unchanged_stays``."""
    done: dict[int, sp.Basic] = {}
    keep = [e]  # keeps every id in done alive
    stack: list[tuple[sp.Basic, bool]] = [(e, False)]
    while stack:
        x, ready = stack.pop()
        if id(x) in done:
            continue
        if not ready:
            value = leaf(x)
            if value is not None:
                done[id(x)] = value
                continue
            stack.append((x, True))
            stack.extend((a, False) for a in x.args)
            continue
        args = [done[id(a)] for a in x.args]
        same = unchanged_stays and all(a is b for a, b in zip(args, x.args, strict=True))
        new = x if same else build(x, args)
        done[id(x)] = new
        keep.append(new)
    return done[id(e)]


def transpose(a: sp.Basic) -> sp.Basic:
    if not is_matrix(a):
        return a
    if isinstance(a, Transpose):
        return a.args[0]
    if isinstance(a, (OneMatrix, ZeroMatrix)):
        return type(a)(a.shape[1], a.shape[0])
    if isinstance(a, (Identity, DiagJacobian)):
        return a
    if isinstance(a, MatMul):
        coeff = sp.Mul(*[f for f in a.args if not is_matrix(f)])
        mats = [f for f in a.args if is_matrix(f)]
        return mscale(coeff, mmul(*[transpose(m) for m in reversed(mats)]))
    if isinstance(a, MatAdd):
        return madd(*[transpose(t) for t in a.args])
    return Transpose(a)


def mmul(*args: sp.Basic) -> sp.Basic:
    """A matrix product; scalar factors of 1 dropped, nested products flattened."""
    flat: list[sp.Basic] = []
    for a in args:
        if isinstance(a, MatMul):
            flat.extend(a.args)
        elif a != 1:
            flat.append(a)
    if len([a for a in flat if is_matrix(a)]) > 1:
        kept = [a for a in flat if not isinstance(a, Identity)]
        # I·I·c is c I, never the scalar c: keep one identity when nothing else is a matrix
        flat = kept if any(is_matrix(a) for a in kept) else \
            [*kept, next(a for a in flat if isinstance(a, Identity))]
    if any(isinstance(a, ZeroMatrix) or a == 0 for a in flat):
        shape = (_first_matrix(args).shape[0], _first_matrix(args[::-1]).shape[1])
        return ZeroMatrix(*shape)
    scalars = [a for a in flat if not is_matrix(a)]
    mats: list[sp.Basic] = []
    for a in flat:  # diag(a) diag(b) is diag(a ⊙ b)
        if not is_matrix(a):
            continue
        if mats and isinstance(a, DiagJacobian) and isinstance(mats[-1], DiagJacobian) \
                and a.args[0].shape == mats[-1].args[0].shape:
            mats[-1] = DiagJacobian(hadamard(mats[-1].args[0], a.args[0]))
        else:
            mats.append(a)
    if not mats:
        return sp.Mul(*scalars)
    coeff = sp.Mul(*scalars)
    if coeff == 1 and len(mats) == 1:
        return mats[0]
    return MatMul(*([coeff] if coeff != 1 else []), *mats)


def _first_matrix(args: tuple[sp.Basic, ...]) -> sp.Basic:
    for a in args:
        if is_matrix(a):
            return a
    raise ValueError("no matrix among the factors")


def like(value: sp.Basic, symbol: sp.Basic) -> sp.Basic:
    """``value`` standing for ``symbol`` in a matrix expression: a 1×1's cotangent is the
    scalar it equals (∂L/∂h = 1 of L = h), and inside ∂L/∂h ⊙ h it is that scalar times 𝟏,
    which the constructors drop (SymPy raises 'Mix of Matrix and Scalar symbols')."""
    if is_matrix(symbol) and not is_matrix(value):
        return mscale(value, OneMatrix(*symbol.shape))
    return value


def mscale(c: sp.Expr, a: sp.Basic) -> sp.Basic:
    """c·A for a scalar c (also a scalar times a scalar)."""
    if not is_matrix(a):
        return c * a
    if c == 1:
        return a
    if c == 0:
        return ZeroMatrix(*a.shape)
    if isinstance(a, MatMul):
        head, *rest = a.args
        if not is_matrix(head):
            return mmul(c * head, *rest)
    return mmul(c, a)


def madd(*terms: sp.Basic) -> sp.Basic:
    """A sum that keeps the order written; zeros dropped, nested sums flattened."""
    flat: list[sp.Basic] = []
    for t in terms:
        if isinstance(t, (MatAdd, sp.Add)) and (is_matrix(t) or not any(map(is_matrix, terms))):
            flat.extend(t.args)
        elif not ((t.is_Number and t == 0) or isinstance(t, ZeroMatrix)):
            flat.append(t)
    if not flat:
        m = next((t for t in terms if is_matrix(t)), None)
        return ZeroMatrix(*m.shape) if m is not None else sp.S.Zero
    if len(flat) == 1:
        return flat[0]
    if any(map(is_matrix, flat)):
        return MatAdd(*flat)
    return sp.Add(*flat)


def hadamard(*args: sp.Basic) -> sp.Basic:
    """An element-wise product; scalar factors pulled out front, nested products flattened."""
    coeff: sp.Expr = sp.S.One
    mats: list[sp.Basic] = []
    shape = None
    for a in args:
        if is_matrix(a):
            shape = a.shape
        if isinstance(a, HadamardProduct):
            mats.extend(a.args)
        elif isinstance(a, MatMul) and len(a.as_coeff_matrices()[1]) == 1:
            # as_coeff_matrices' scalar is the product of *every* scalar factor, numbers and
            # symbols alike (c·2·A gives 2c): take it once
            c, (m,) = a.as_coeff_matrices()
            coeff *= c
            if isinstance(m, HadamardProduct):
                mats.extend(m.args)
            elif not isinstance(m, OneMatrix):
                mats.append(m)
        elif isinstance(a, OneMatrix):
            continue
        elif is_matrix(a):
            mats.append(a)
        else:
            coeff *= a
    if not mats:  # only constants and c·𝟏: the coefficient, spread over the shape once
        return coeff if shape is None else mscale(coeff, OneMatrix(*shape))
    for k, m in enumerate(mats):  # G ⊙ where(C, 1, 0): where(C, G, 0), a select, as NumPy's
        side = _selector(m)  # and jax's VJP of where: a NaN of G where C is 0 stays out
        if side is not None and len(mats) > 1:
            rest = mats[:k] + mats[k + 1:]
            kept = rest[0] if len(rest) == 1 else HadamardProduct(*rest)
            cond = m.operands[0]
            picked = Elementwise("where", cond, kept, sp.S.Zero) if side else \
                Elementwise("where", cond, sp.S.Zero, kept)
            return mscale(coeff, picked)
    body = mats[0] if len(mats) == 1 else HadamardProduct(*mats)
    return mscale(coeff, body)


def _selector(m: sp.Basic) -> bool | None:
    """Whether ``m`` is where(C, 1, 0) (True) or where(C, 0, 1) (False), a where's slope."""
    if not (isinstance(m, Elementwise) and m.name == "where" and len(m.operands) == 3):
        return None
    on, off = m.operands[1:]
    if on == 1 and off == 0:
        return True
    if on == 0 and off == 1:
        return False
    return None


def collect(e: sp.Basic) -> sp.Basic:
    """A matrix sum in the form the Matrix Cookbook writes: equal terms merged (``u + u`` is
    ``2u``) and a factor every term shares taken out, on the right (``Aᵀx + Ax`` is
    ``(Aᵀ + A)x``) or on the left (``Aᵀu + Aᵀv`` is ``Aᵀ(u + v)``); inner sums too. A
    rewriting of our own (no ``simplify``): only factors that are the same object move."""
    if isinstance(e, MatMul):
        return mmul(*[collect(a) for a in e.args])
    if not isinstance(e, MatAdd):
        return e
    merged: dict[tuple[sp.Basic, ...], sp.Expr] = {}
    for t in e.args:
        t = collect(t)
        c, mats = t.as_coeff_matrices() if isinstance(t, MatMul) else (sp.S.One, [t])
        key = tuple(mats)
        merged[key] = merged.get(key, sp.S.Zero) + c
    terms = [(c, list(k)) for k, c in merged.items() if c != 0]
    if not terms:
        return ZeroMatrix(*e.shape)
    if len(terms) > 1 and all(len(m) > 1 for _, m in terms):
        for side in (-1, 0):
            shared = terms[0][1][side]
            if all(m[side] == shared for _, m in terms):
                rest = [mscale(c, mmul(*(m[:-1] if side == -1 else m[1:]))) for c, m in terms]
                inner = collect(madd(*rest))
                return mmul(inner, shared) if side == -1 else mmul(shared, inner)
    g = _common_number([c for c, _ in terms]) if len(terms) > 1 else sp.S.One
    body = madd(*[mscale(sp.S.One if c == g else c / g, mmul(*m)) for c, m in terms])
    return mscale(g, body) if g != 1 else body


def _common_number(coeffs: list[sp.Expr]) -> sp.Expr:
    """The rational every coefficient is a whole multiple of (½ of ½A + ½Aᵀ, 2 of 2u − 2v);
    1 when one is not a rational."""
    if all(c == coeffs[0] for c in coeffs):
        return coeffs[0]  # 0.5 of 0.5A + 0.5Aᵀ
    if not all(c.is_Rational for c in coeffs):
        return sp.S.One
    num = sp.igcd(*[abs(int(c.p)) for c in coeffs]) if len(coeffs) > 1 else abs(int(coeffs[0].p))
    den = sp.ilcm(*[int(c.q) for c in coeffs]) if len(coeffs) > 1 else int(coeffs[0].q)
    return sp.Rational(num, den)


def _inverse_of(a: sp.Basic) -> sp.Basic | None:
    """M when ``a`` is M⁻¹ (or Mᵀ when ``a`` is M⁻ᵀ), else None."""
    if isinstance(a, Inverse):
        return a.args[0]
    if isinstance(a, Transpose) and isinstance(a.args[0], Inverse):
        return transpose(a.args[0].args[0])
    return None


def _cancel_inverses(factors: list[sp.Basic]) -> list[sp.Basic]:
    """Adjacent M⁻¹ M and M M⁻¹ dropped (X⁻ᵀ Xᵀ is I), with a stack: any run of them."""
    out: list[sp.Basic] = []
    for f in factors:
        if out and is_matrix(f) and is_matrix(out[-1]) and (
                _inverse_of(out[-1]) == f or _inverse_of(f) == out[-1]):
            out.pop()
            continue
        out.append(f)
    return out if any(is_matrix(f) for f in out) or not factors else \
        [*out, Identity(factors[-1].shape[1])]


def tidy(e: sp.Basic) -> sp.Basic:
    """``e`` rebuilt bottom-up through the constructors above (``𝟏 ⊙ u`` is ``u``, scalar
    factors out front, products flattened) and its matrix sums ``collect``-ed: the form in
    which a gradient written out in the inputs reads as the textbook writes it."""
    return rebuild(e, lambda x: x if not (x.args and is_matrix(x)) else None, _tidy_node,
                   unchanged_stays=False)


def _tidy_node(x: sp.Basic, args: list[sp.Basic]) -> sp.Basic:
    if isinstance(x, HadamardProduct):
        return hadamard(*args)
    if isinstance(x, MatMul):
        new = mmul(*_cancel_inverses(args))
        if isinstance(new, MatMul):  # 𝟏𝟏ᵀ (an outer product of ones) is the ones matrix
            c, mats = new.as_coeff_matrices()
            if len(mats) == 2 and all(isinstance(m, OneMatrix) for m in mats) and \
                    mats[0].shape[1] == 1:
                return mscale(c, OneMatrix(mats[0].shape[0], mats[1].shape[1]))
        return new
    if isinstance(x, Inverse):  # (X⁻¹)⁻¹ = X, (X⁻ᵀ)⁻¹ = Xᵀ
        inner = _inverse_of(args[0])
        return inner if inner is not None else Inverse(args[0])
    if isinstance(x, MatAdd):
        return collect(madd(*args))
    if isinstance(x, Transpose):
        return transpose(args[0])
    changed = any(a is not b for a, b in zip(args, x.args, strict=True))
    return x.func(*args) if changed else x
