"""The one table of primitives: how each is recognised, evaluated, differentiated and named.

Every node of a graph is a *primitive*: ``classify(expr)`` reads a SymPy node as
``Prim(name, operands, params)``. The table ``RULES`` then holds, per primitive name,

* ``forward`` / ``vjp``: the NumPy forward and vector-Jacobian product the independent
  numeric engine uses (written by hand here, never derived from the symbolic gradients);
* ``sympy``: for element-wise primitives, the SymPy function; their local partials come from
  SymPy's own ``diff`` of the primitive's template (``template(prim)``), so nobody re-tables
  what SymPy knows;
* ``matrix_vjp``: for matrix primitives, the vector-Jacobian product in matrix form
  (``∂L/∂A = ∂L/∂C Bᵀ`` for ``C = AB``);
* ``jacobian``: the local Jacobian in numerator layout, where it has a clean matrix form
  (``∂(Wh)/∂h = W``, ``∂σ(z)/∂z = diag(σ'(z))``), for the chain-rule lines;
* ``latex``: how a function's name prints (``\\sigma``, ``\\tanh``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, OneMatrix, Transpose
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .algebra import hadamard, is_matrix, madd, mmul, mscale, transpose
from .errors import UnsupportedError
from .functions import (
    MSE,
    CrossEntropy,
    DiagJacobian,
    Elementwise,
    Softmax,
    SqNorm,
    SumAll,
    relu,
    sigmoid,
    softplus,
)

Array = Any  # a NumPy array or a float

# ---------------------------------------------------------------------------------------
# Numerically safe NumPy building blocks (shared by the engine and by ``evaluate``)


def np_sigmoid(x: Array) -> Array:
    """σ without overflow: only e^{-|x|} is ever computed."""
    x = np.asarray(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def np_softplus(x: Array) -> Array:
    return np.logaddexp(0.0, x)


def np_relu(x: Array) -> Array:
    return np.maximum(x, 0.0)


def np_log_softmax(o: Array) -> Array:
    """log softmax of each column, shifted by the column maximum (log-sum-exp)."""
    o = np.asarray(o)
    axis = 0 if o.ndim else None
    m = np.max(o, axis=axis, keepdims=True)
    s = o - m
    return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def np_softmax(o: Array) -> Array:
    return np.exp(np_log_softmax(o))


def np_heaviside(x: Array) -> Array:
    return np.heaviside(x, 0.5)


def _sum_to(g: Array, like: Array) -> Array:
    """Undo broadcasting: a scalar operand of an element-wise op gets the sum of its cotangent."""
    if np.ndim(like) == 0 and np.ndim(g) > 0:
        return np.sum(g)
    return g


# ---------------------------------------------------------------------------------------
# The table

Vjp = Callable[..., tuple[Array, ...]]


@dataclass(frozen=True, slots=True)
class Rule:
    """Everything about one primitive, declared once; the parser, the sweep, the engine,
    ``evaluate``, the printers and the grouping read it from here.

    ``forward``/``vjp``: the engine's NumPy step; ``sympy``: the SymPy function of an
    element-wise primitive (its partials come from ``sympy.diff``); ``latex``: its name in
    LaTeX; ``matrix_vjp``/``jacobian``: the symbolic VJP of a matrix primitive;
    ``reuse_output``: the partial is written with the output (σ' = σ(1 − σ));
    ``nondiff``: where the primitive has a kink; ``arity``: operands in the text syntax
    (0: not spelled in text, an operator); ``code``/``helper``: its NumPy spelling in
    generated Python (a helper function's source when NumPy has none); ``role``: "affine"
    or "reduction" for grouping layers.
    """

    name: str
    forward: Callable[..., Array]
    vjp: Vjp
    sympy: Any = None
    latex: str = ""
    matrix_vjp: Callable[..., tuple[sp.Basic, ...]] | None = None
    jacobian: Callable[..., sp.Basic | None] | None = None
    reuse_output: bool = False
    nondiff: Callable[..., Array] | None = field(default=None)
    arity: int = 1
    code: str = ""
    helper: str = ""
    role: str = ""


def _ew(name: str, f: Callable[[Array], Array], df: Callable[[Array, Array], Array],
        sym: Any, latex: str, reuse: bool = False,
        nondiff: Callable[..., Array] | None = None, helper: str = "") -> Rule:
    """A unary element-wise function: ``df(x, out)`` is its derivative; generated code
    calls ``np.<name>``, or a function ``<name>`` defined by ``helper``."""
    return Rule(
        name,
        forward=f,
        vjp=lambda g, out, x: (g * df(x, out),),
        sympy=sym,
        latex=latex,
        reuse_output=reuse,
        nondiff=nondiff,
        code=name if helper else f"np.{name}",
        helper=helper,
    )


def _add_forward(*xs: Array, coeffs: tuple[float, ...], const: float) -> Array:
    out = const
    for c, x in zip(coeffs, xs, strict=True):
        out = out + (x if c == 1 else c * x)
    return out


def _add_vjp(g: Array, out: Array, *xs: Array, coeffs: tuple[float, ...],
             const: float) -> tuple[Array, ...]:
    return tuple(_sum_to(g if c == 1 else c * g, x) for c, x in zip(coeffs, xs, strict=True))


def _mul_forward(*xs: Array, coeff: float, exps: tuple[float, ...]) -> Array:
    out = coeff
    for x, e in zip(xs, exps, strict=True):
        out = out * (x if e == 1 else np.power(x, e))
    return out


def _mul_vjp(g: Array, out: Array, *xs: Array, coeff: float,
             exps: tuple[float, ...]) -> tuple[Array, ...]:
    grads = []
    for i, (x, e) in enumerate(zip(xs, exps, strict=True)):
        rest = coeff * g
        for j, (y, f) in enumerate(zip(xs, exps, strict=True)):
            if j != i:
                rest = rest * (y if f == 1 else np.power(y, f))
        own = 1.0 if e == 1 else e * np.power(x, e - 1)
        grads.append(_sum_to(rest * own, x))
    return tuple(grads)


def _pow_forward(x: Array, *rest: Array, exp: float | None = None) -> Array:
    return np.power(x, rest[0] if exp is None else exp)


def _pow_vjp(g: Array, out: Array, x: Array, *rest: Array,
             exp: float | None = None) -> tuple[Array, ...]:
    if exp is not None:
        return (g * exp * np.power(x, exp - 1),)
    e = rest[0]
    return (_sum_to(g * e * np.power(x, e - 1), x), _sum_to(g * out * np.log(x), e))


def _minmax(which: str) -> Rule:
    pick = np.maximum if which == "max" else np.minimum
    sym = sp.Max if which == "max" else sp.Min

    def vjp(g: Array, out: Array, a: Array, b: Array) -> tuple[Array, ...]:
        first = (a > b) if which == "max" else (a < b)
        w = np.where(a == b, 0.5, first.astype(float))
        return (_sum_to(g * w, a), _sum_to(g * (1 - w), b))

    return Rule(which, forward=pick, vjp=vjp, sympy=sym, latex=rf"\{which}",
                nondiff=lambda a, b: a == b, arity=2, code=f"np.{pick.__name__}")


def _matmul_forward(a: Array, b: Array) -> Array:
    return a @ b


def _matmul_vjp(g: Array, out: Array, a: Array, b: Array) -> tuple[Array, ...]:
    return (g @ b.T, a.T @ g)


def _softmax_vjp(g: Array, p: Array, o: Array) -> tuple[Array, ...]:
    return (p * (g - np.sum(p * g, axis=0, keepdims=True)),)


def _mse_forward(o: Array, y: Array) -> Array:
    d = o - y
    return 0.5 * float(np.sum(d * d))


def _cross_entropy_forward(o: Array, y: Array) -> Array:
    return -float(np.sum(y * np_log_softmax(o)))


def _cross_entropy_vjp(g: Array, out: Array, o: Array, y: Array) -> tuple[Array, ...]:
    # exact for any y; equals softmax(o) - y when each column of y sums to 1
    logp = np_log_softmax(o)
    return (g * (np.exp(logp) * np.sum(y, axis=0, keepdims=True) - y), -g * logp)


# Symbolic matrix-form VJPs: (g, out, *operands) -> one cotangent expression per operand


def _sym_matmul_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic, b: sp.Basic) -> tuple[sp.Basic, ...]:
    return (mmul(g, transpose(b)), mmul(transpose(a), g))


def _sym_softmax_vjp(g: sp.Basic, p: sp.Basic, o: sp.Basic) -> tuple[sp.Basic, ...]:
    k = p.shape[0]
    ones_col, ones_row = OneMatrix(k, 1), OneMatrix(1, k)
    return (hadamard(p, madd(g, mscale(-1, mmul(ones_col, ones_row, hadamard(p, g))))),)


def _sym_mse_vjp(g: sp.Basic, out: sp.Basic, o: sp.Basic, y: sp.Basic) -> tuple[sp.Basic, ...]:
    diff = madd(o, mscale(-1, y))
    return (mscale(g, diff), mscale(-g, diff))


def _sym_cross_entropy_vjp(g: sp.Basic, out: sp.Basic, o: sp.Basic,
                           y: sp.Basic) -> tuple[sp.Basic, ...]:
    return (mscale(g, madd(Softmax(o), mscale(-1, y))),
            mscale(-g, Elementwise("log", Softmax(o))))


def _sym_sum_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic) -> tuple[sp.Basic, ...]:
    return (mscale(g, OneMatrix(*a.shape)),)


def _sym_sqnorm_vjp(g: sp.Basic, out: sp.Basic, a: sp.Basic) -> tuple[sp.Basic, ...]:
    return (mscale(2 * g, a),)


def _softmax_jacobian(p: sp.Basic) -> sp.Basic:
    return madd(DiagJacobian(p), mscale(-1, mmul(p, transpose(p))))


def _jac_matmul(out: sp.Basic, a: sp.Basic, b: sp.Basic, k: int) -> sp.Basic | None:
    if k == 1 and b.shape[1] == 1 and a.shape[1] == b.shape[0]:
        return a
    return None


def _jac_row(vec: Callable[..., sp.Basic]) -> Callable[..., sp.Basic | None]:
    """Jacobian of a scalar in a column vector: the gradient's transpose (numerator layout)."""

    def jac(out: sp.Basic, *ops: sp.Basic) -> sp.Basic | None:
        k = ops[-1]
        if not isinstance(k, int):
            raise TypeError("jacobian needs the operand index last")
        x = ops[k]
        if not _is_column(x):
            return None
        return transpose(vec(out, *ops[:-1], k))

    return jac


def _is_column(x: sp.Basic) -> bool:
    return bool(getattr(x, "is_Matrix", False) and x.shape[1] == 1)


RULES: dict[str, Rule] = {
    # element-wise: partials from SymPy's diff of the template
    "add": Rule("add", forward=_add_forward, vjp=_add_vjp, arity=0, role="affine"),
    "mul": Rule("mul", forward=_mul_forward, vjp=_mul_vjp, arity=0),
    "pow": Rule("pow", forward=_pow_forward, vjp=_pow_vjp, arity=0,
                nondiff=lambda x, *r, exp=None: ((x == 0) if float(exp).is_integer() else x <= 0)
                if exp is not None and exp < 1 else np.zeros_like(x, dtype=bool)),
    "exp": _ew("exp", np.exp, lambda x, out: out, sp.exp, r"\exp", reuse=True),
    "log": _ew("log", np.log, lambda x, out: 1.0 / x, sp.log, r"\log",
               nondiff=lambda x: x <= 0),
    "sqrt": _ew("sqrt", np.sqrt, lambda x, out: 0.5 / out, sp.sqrt, r"\sqrt",
                nondiff=lambda x: x <= 0),
    "abs": _ew("abs", np.abs, lambda x, out: np.sign(x), sp.Abs, r"\lvert",
               nondiff=lambda x: x == 0),
    "sin": _ew("sin", np.sin, lambda x, out: np.cos(x), sp.sin, r"\sin"),
    "cos": _ew("cos", np.cos, lambda x, out: -np.sin(x), sp.cos, r"\cos"),
    "tan": _ew("tan", np.tan, lambda x, out: 1.0 + out * out, sp.tan, r"\tan", reuse=True),
    "tanh": _ew("tanh", np.tanh, lambda x, out: 1.0 - out * out, sp.tanh, r"\tanh", reuse=True),
    "sigmoid": _ew("sigmoid", np_sigmoid, lambda x, out: out * (1.0 - out), sigmoid, r"\sigma",
                   reuse=True, helper="def sigmoid(x):\n    return 0.5 * (1.0 + np.tanh(0.5 * x))"
                                      "  # 1 / (1 + exp(-x)), no overflow\n"),
    "relu": _ew("relu", np_relu, lambda x, out: np_heaviside(x), relu,
                r"\operatorname{ReLU}", nondiff=lambda x: x == 0,
                helper="def relu(x):\n    return np.maximum(x, 0.0)\n"),
    "softplus": _ew("softplus", np_softplus, lambda x, out: np_sigmoid(x), softplus,
                    r"\operatorname{softplus}",
                    helper="def softplus(x):\n"
                           "    return np.logaddexp(0.0, x)  # log(1 + exp(x))\n"),
    "max": _minmax("max"),
    "min": _minmax("min"),
    # matrix primitives: VJPs in matrix form
    "matmul": Rule("matmul", forward=_matmul_forward, vjp=_matmul_vjp, arity=0, role="affine",
                   matrix_vjp=_sym_matmul_vjp, jacobian=_jac_matmul),
    "transpose": Rule("transpose", forward=lambda a: a.T, vjp=lambda g, out, a: (g.T,),
                      matrix_vjp=lambda g, out, a: (transpose(g),), role="affine",
                      latex=r"\top"),
    "sum": Rule("sum", forward=lambda a: float(np.sum(a)),
                vjp=lambda g, out, a: (np.full_like(a, g),),
                matrix_vjp=_sym_sum_vjp, latex=r"\operatorname{sum}", role="reduction",
                jacobian=_jac_row(lambda out, a, k: OneMatrix(*a.shape))),
    "softmax": Rule("softmax", forward=np_softmax, vjp=_softmax_vjp,
                    matrix_vjp=_sym_softmax_vjp, latex=r"\operatorname{softmax}",
                    jacobian=lambda p, o, k: _softmax_jacobian(p) if _is_column(o) else None),
    "mse": Rule("mse", forward=_mse_forward,
                vjp=lambda g, out, o, y: (g * (o - y), -g * (o - y)),
                matrix_vjp=_sym_mse_vjp, arity=2, role="reduction", latex=r"\operatorname{mse}",
                jacobian=_jac_row(lambda out, o, y, k: _sym_mse_vjp(sp.S.One, out, o, y)[k])),
    "cross_entropy": Rule("cross_entropy", forward=_cross_entropy_forward,
                          vjp=_cross_entropy_vjp, matrix_vjp=_sym_cross_entropy_vjp, arity=2,
                          role="reduction", latex=r"\operatorname{CE}",
                          jacobian=_jac_row(lambda out, o, y, k:
                                            _sym_cross_entropy_vjp(sp.S.One, out, o, y)[k])),
    "sqnorm": Rule("sqnorm", forward=lambda a: float(np.sum(a * a)),
                   vjp=lambda g, out, a: (2.0 * g * a,), matrix_vjp=_sym_sqnorm_vjp,
                   role="reduction", latex=r"\lVert\cdot\rVert^{2}",
                   jacobian=_jac_row(lambda out, a, k: mscale(2, a))),
}

ELEMENTWISE = frozenset(n for n, r in RULES.items() if r.matrix_vjp is None)
FUNCTION_NAMES = frozenset(n for n, r in RULES.items() if r.sympy is not None)
BY_SYMPY = {r.sympy: n for n, r in RULES.items() if r.sympy is not None}


def scalar_function(name: str) -> Any:
    """The SymPy function of an element-wise primitive (Heaviside and sign as SymPy has them)."""
    extra = {"Heaviside": sp.Heaviside, "sign": sp.sign}
    if name in extra:
        return extra[name]
    return RULES[name].sympy


# ---------------------------------------------------------------------------------------
# Recognising primitives


@dataclass(frozen=True, slots=True)
class Prim:
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
    if isinstance(e, sp.Function) and len(e.args) == 1:
        new = mapping.get(e.args[0])
        if (new is not None and type(new) is sp.Symbol
                and new.assumptions0 == _PLAIN_REAL0 and _keeps_plain_symbol(type(e))):
            return e.func(new, evaluate=False)
    if e.has(*_COMPARING):
        return _replace_without_comparing(e, mapping)
    return e.xreplace(mapping)


# functions whose constructor asks the assumption system how its arguments compare
_COMPARING = (sp.Max, sp.Min, sp.Heaviside)


def _replace_without_comparing(e: sp.Basic, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """``xreplace`` that rebuilds max, min and the step without SymPy comparing their
    arguments: ``Max(t, x)`` asks whether t ≥ x and ``Heaviside(t - x)`` the sign of t − x,
    up to 15 ms a call (450 stages of max(t, x)*min(t, y) took 15 s to derive).
    Numbers still fold."""
    done: dict[int, sp.Basic] = {}
    keep = [e]
    stack: list[tuple[sp.Basic, bool]] = [(e, False)]
    while stack:
        x, ready = stack.pop()
        if id(x) in done:
            continue
        if x in mapping:
            done[id(x)] = mapping[x]
        elif not x.args or is_leaf(x):
            done[id(x)] = x
        elif not ready:
            stack.append((x, True))
            stack.extend((a, False) for a in x.args)
            continue
        else:
            args = [done[id(a)] for a in x.args]
            if all(a is b for a, b in zip(args, x.args, strict=True)):
                done[id(x)] = x
            elif isinstance(x, _COMPARING) and not all(a.is_Number for a in args):
                done[id(x)] = x.func(*args, evaluate=False)
            else:
                done[id(x)] = x.func(*args)
        keep.append(done[id(x)])
    return done[id(e)]


_PROBE = sp.Symbol("_probe", real=True)
_PLAIN_REAL0 = _PROBE.assumptions0
_KEEPS: dict[Any, bool] = {}


def _keeps_plain_symbol(func: Any) -> bool:
    """Whether ``func(v)`` stays ``func(v)`` for a plain real symbol ``v`` (asked once)."""
    hit = _KEEPS.get(func)
    if hit is None:
        try:
            r: Any = func(_PROBE, evaluate=True)
            hit = type(r) is func and r.args == (_PROBE,)
        except Exception:  # any doubt: take the evaluating path
            hit = False
        _KEEPS[func] = hit
    return hit


def is_leaf(e: sp.Basic) -> bool:
    """Inputs and constants: symbols, matrix symbols, numbers, ones/identity/zero matrices."""
    return bool(
        e.is_Symbol or e.is_Number or isinstance(e, (sp.MatrixSymbol, OneMatrix, Identity,
                                                     ZeroMatrix))
        or e.is_NumberSymbol
        # singletons: compared by identity (``in`` would run SymPy's __eq__ three times)
        or e is sp.S.Infinity or e is sp.S.NegativeInfinity or e is sp.S.NaN
    )


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


def classify(e: sp.Basic) -> Prim:
    """Read one SymPy node as a primitive, or raise UnsupportedError naming it."""
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
    for cls, name in ((Softmax, "softmax"), (SumAll, "sum"), (SqNorm, "sqnorm"),
                      (MSE, "mse"), (CrossEntropy, "cross_entropy")):
        if isinstance(e, cls):
            return Prim(name, tuple(e.args))
    if isinstance(e, (sp.Max, sp.Min)):  # max(a, b, c) is max(max(a, b), c)
        first = e.args[0] if len(e.args) == 2 else e.func(*e.args[:-1], evaluate=False)
        return Prim("max" if isinstance(e, sp.Max) else "min", (first, e.args[-1]))
    if isinstance(e, sp.Function) and type(e) in BY_SYMPY:
        return Prim(BY_SYMPY[type(e)], tuple(e.args))
    raise UnsupportedError(f"no rule for {_describe(e)}")


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
    key = (p.name, p.params, len(p.operands))
    hit = _PARTIALS.get(key)
    if hit is None:
        hit = _PARTIALS[key] = _local_partials(p)
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
        d = sp.diff(t, x)
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
