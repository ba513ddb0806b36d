"""Numbers from the symbolic equations: each equation compiled once, then run in order.

``Derivation.evaluate`` runs the forward equations and then the backward (adjoint) equations,
each compiled separately into a small NumPy program (a list of operations over the
equation's own shallow tree), never one huge substituted expression. No source code is
generated (unlike ``lambdify``), so no name a user chose can ever become code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, OneMatrix, Transpose
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .errors import ShapeError, UnsupportedError
from .functions import MSE, CrossEntropy, Elementwise, Softmax, SqNorm, SumAll
from .graph import fmt_shape, shape_of
from .rules import RULES, np_heaviside, np_log_softmax

if TYPE_CHECKING:
    from .derive import Derivation

Env = dict[sp.Basic, Any]
Op = Callable[..., Any]


def _prod(*xs: Any) -> Any:
    out = xs[0]
    for x in xs[1:]:
        out = out * x
    return out


def _matmul(*xs: Any) -> Any:
    out = xs[0]
    for x in xs[1:]:
        out = out @ x if np.ndim(out) == 2 and np.ndim(x) == 2 else out * x
    return out


def _sum(*xs: Any) -> Any:
    out = xs[0]
    for x in xs[1:]:
        out = out + x
    return out


_NUMPY_FUNCS: dict[str, Op] = {name: r.forward for name, r in RULES.items()
                               if r.sympy is not None}
_NUMPY_FUNCS.update({"Heaviside": lambda x, *h: np_heaviside(x), "sign": np.sign,
                     "Abs": np.abs, "Max": lambda *a: reduce(np.maximum, a),
                     "Min": lambda *a: reduce(np.minimum, a)})
_BY_CLASS: dict[type, Op] = {
    sp.Add: _sum, MatAdd: _sum, sp.Mul: _prod, HadamardProduct: _prod, MatMul: _matmul,
    sp.Pow: np.power, HadamardPower: np.power, Transpose: lambda a: np.transpose(a),
    SumAll: RULES["sum"].forward, SqNorm: RULES["sqnorm"].forward, MSE: RULES["mse"].forward,
    CrossEntropy: RULES["cross_entropy"].forward, Softmax: RULES["softmax"].forward,
}


def _function_op(e: sp.Basic) -> Op:
    name = e.name if isinstance(e, Elementwise) else type(e).__name__
    if name in _NUMPY_FUNCS:
        return _NUMPY_FUNCS[name]
    raise UnsupportedError(f"no NumPy form for {name}")


def _is_log_softmax(e: sp.Basic) -> bool:
    """log softmax(o), computed as one shifted log-sum-exp so large logits stay finite."""
    return isinstance(e, Elementwise) and e.name == "log" and isinstance(e.operands[0], Softmax)


def _children(e: sp.Basic) -> tuple[sp.Basic, ...]:
    if _is_log_softmax(e):
        return tuple(e.operands[0].args)
    if isinstance(e, Elementwise):
        return e.operands
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol, OneMatrix, Identity, ZeroMatrix)) or \
            e.is_Number or e.is_NumberSymbol:
        return ()
    return tuple(e.args)


def _dim(d: sp.Expr, env: Env) -> int:
    if d.is_Integer:
        return int(d)
    v = env.get(d)
    if v is None:
        v = d.xreplace({k: sp.Integer(x) for k, x in env.items() if isinstance(k, sp.Symbol)
                        and isinstance(x, int)})
        if not v.is_Integer:
            raise ShapeError(f"the dimension {d} is not known from the values")
        return int(v)
    return int(v)


def _leaf_op(e: sp.Basic) -> Op:
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
        return lambda env: env[e]
    if isinstance(e, OneMatrix):
        return lambda env: np.ones((_dim(e.shape[0], env), _dim(e.shape[1], env)))
    if isinstance(e, ZeroMatrix):
        return lambda env: np.zeros((_dim(e.shape[0], env), _dim(e.shape[1], env)))
    if isinstance(e, Identity):
        return lambda env: np.eye(_dim(e.shape[0], env))
    if e is sp.S.ComplexInfinity or e is sp.S.NaN:  # undefined, as d(0**x)/dx = 0**x log 0
        value = float("nan")
    elif e.is_extended_real is False:
        raise UnsupportedError(f"the constant {e} is not a real number")
    else:
        value = float(e)
    return lambda env: value


def compile_expr(expr: sp.Basic) -> Callable[[Env], Any]:
    """A NumPy program for one expression: its nodes in post-order, shared nodes once."""
    order: list[sp.Basic] = []
    index: dict[int, int] = {}
    keep: list[sp.Basic] = []
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in index:
            continue
        kids = _children(e)
        if not ready and kids:
            stack.append((e, True))
            stack.extend((k, False) for k in reversed(kids))
            continue
        index[id(e)] = len(order)
        order.append(e)
        keep.append(e)
    program: list[tuple[bool, Op, tuple[int, ...]]] = []
    for e in order:
        kids = _children(e)
        if not kids:
            program.append((True, _leaf_op(e), ()))
            continue
        op = np_log_softmax if _is_log_softmax(e) else _BY_CLASS.get(type(e))
        if op is None:
            if isinstance(e, (sp.Function, Elementwise, sp.Max, sp.Min)):
                op = _function_op(e)
            else:
                raise UnsupportedError(f"no NumPy form for {type(e).__name__}")
        program.append((False, op, tuple(index[id(k)] for k in kids)))

    def run(env: Env) -> Any:
        vals: list[Any] = []
        for leaf, op, idx in program:
            vals.append(op(env) if leaf else op(*[vals[i] for i in idx]))
        return vals[-1]

    return run


# ---------------------------------------------------------------------------------------


def bind_values(d: Derivation, values: Mapping[Any, Any],
                dtype: Any = np.float64) -> Env:
    """Check and convert the user's values: every input given, shapes agree, dims bound.

    Values for names the expression does not use are ignored (one dict can serve several
    derivations); a missing one is an error naming it.
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"values must map names to numbers or arrays, not "
                        f"{type(values).__name__}")
    by_name = {str(k.name) if isinstance(k, sp.Basic) else str(k): v for k, v in values.items()}
    env: Env = {}
    missing = [str(s.name) for s in d.inputs if str(s.name) not in by_name]
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    dims: dict[sp.Expr, int] = {}
    for s in d.inputs:
        env[s] = coerce_value(str(s.name), by_name[str(s.name)], shape_of(s), np.dtype(dtype),
                              dims)
    env.update(dims)
    return env


def coerce_value(name: str, v: Any, shape: Any, dtype: np.dtype[Any],
                 dims: dict[sp.Expr, int]) -> Any:
    """One user value as ``dtype``: a scalar, or a 2-D array of the declared shape (a vector
    may come as ``(n,)``); symbolic dimensions are bound in ``dims`` and must agree."""
    try:
        a = np.asarray(v, dtype=dtype)
    except (TypeError, ValueError):
        raise TypeError(f"the value of {name} is not numeric: {type(v).__name__}") from None
    if shape is None:
        if a.size != 1:
            raise ShapeError(f"{name} is a scalar but its value has shape {a.shape}")
        return dtype.type(a.reshape(()))
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise ShapeError(f"{name} is {fmt_shape(shape)} but its value has shape {a.shape}")
    for want, got in zip(shape, a.shape, strict=True):
        if want.is_Integer:
            if int(want) != got:
                raise ShapeError(f"{name} is {fmt_shape(shape)} but its value has shape "
                                 f"{a.shape}")
        elif dims.setdefault(want, got) != got:
            raise ShapeError(f"dimension {want} is {dims[want]} elsewhere but {got} in {name} "
                             f"(shape {a.shape})")
    return a


def _program(d: Derivation, eq: Any) -> Callable[[Env], Any]:
    cache: dict[Any, Callable[[Env], Any]] = d.__dict__.setdefault("_compiled", {})
    prog = cache.get(eq)
    if prog is None:
        prog = cache[eq] = compile_expr(eq.rhs)
    return prog


def _as_shape(v: Any, like: sp.Basic, env: Env) -> Any:
    shape = shape_of(like)
    if shape is None:
        return float(np.asarray(v).reshape(()))
    target = (_dim(shape[0], env), _dim(shape[1], env))
    return np.broadcast_to(np.asarray(v, dtype=float), target).copy()


def run_all(d: Derivation, values: Mapping[Any, Any]) -> Env:
    """Every forward and adjoint value, equation by equation."""
    env = bind_values(d, values)
    with np.errstate(all="ignore"):
        for eq in d.forward:
            env[eq.lhs] = _program(d, eq)(env)
        for eq in d.backward:
            env[eq.lhs] = _as_shape(_program(d, eq)(env), eq.lhs, env)
    return env


def evaluate_gradients(d: Derivation, values: Mapping[Any, Any]) -> dict[str, Any]:
    env = run_all(d, values)
    return {str(v.name): env[d.adjoints[v]] for v in d.wrt}


# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TraceRow:
    name: str
    symbol: sp.Basic
    equation: sp.Basic | None  # the right-hand side; None for an input
    value: Any
    adjoint: Any  # None where the output does not depend on this variable through wrt


@dataclass(frozen=True)
class Trace:
    """The evaluation trace: every input's and intermediate's primal and adjoint value."""

    derivation: Derivation
    rows: tuple[TraceRow, ...]

    def __iter__(self) -> Iterator[TraceRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, name: str) -> TraceRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(name)

    def latex(self, **kw: Any) -> str:
        from .emit.trace import trace_latex

        return trace_latex(self, **kw)

    def markdown(self, **kw: Any) -> str:
        from .emit.trace import trace_markdown

        return trace_markdown(self, **kw)

    def html(self, **kw: Any) -> str:
        from .emit.trace import trace_html

        return trace_html(self, **kw)

    def _repr_latex_(self) -> str:
        return f"$$\n{self.latex()}\n$$"

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        from .emit.jupyter import trace_mimebundle

        return trace_mimebundle(self, include, exclude)


def trace(d: Derivation, values: Mapping[Any, Any]) -> Trace:
    env = run_all(d, values)
    rows = [TraceRow(str(s.name), s, None, env[s], env.get(d.adjoints.get(s, None)))
            for s in d.inputs]
    rows += [TraceRow(str(eq.lhs.name), eq.lhs, eq.rhs, env[eq.lhs],
                      env.get(d.adjoints.get(eq.lhs, None))) for eq in d.forward]
    return Trace(d, tuple(rows))
