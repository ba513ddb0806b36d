"""Expressions compiled into NumPy programs: each node a step that reads earlier values by
position, run in order (``compile_expr`` for one expression, ``Steps`` for several sharing
their values). Matrix products keep a closed form's ``diag(v)`` as the column it scales by
(``Diag``), never an n × n matrix. No source code is generated (unlike ``lambdify``), so no
name a user chose can ever become code.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial, reduce
from typing import Any

import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, MatPow, OneMatrix, Transpose
from sympy.matrices.expressions.matexpr import MatrixElement
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .algebra import is_matrix
from .errors import UnsupportedError
from .functions import (
    DiagJacobian,
    Elementwise,
    ElementwiseDerivative,
    Pattern,
    Softmax,
)
from .primitive_numpy import np_heaviside, np_log_softmax, pattern_array
from .recognise import node_operands
from .rules import BY_NODE, BY_SYMPY, RULES
from .shapes import Extent
from .tensor_nodes import NUMERIC_JVPS, TENSOR_RULES, TensorJVP, TensorVJP
from .values import array_shape, dim_value

Env = dict[sp.Basic, Any]
Op = Callable[..., Any]


def _prod(*xs: Any) -> Any:
    out = dense_value(xs[0])
    for x in xs[1:]:
        out = out * dense_value(x)
    return out


class Diag:
    """diag(v) as the column v it scales by: ``A diag(v)`` scales A's columns and ``diag(v) B``
    B's rows, never an n × n matrix (a Jacobian's closed form, Xᵀ diag(…) X)."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        if type(v) is np.ndarray and v.dtype == np.float64 and v.ndim == 2 and v.shape[1] == 1:
            self.v = v  # already the column (a step's own value)
        else:  # vec: column by column (first index fastest), as every Jacobian's order
            self.v = np.reshape(np.asarray(v, dtype=float), (-1, 1), order="F")

    def dense(self) -> Any:
        return np.diagflat(self.v)

    def scaled(self, c: Any) -> Diag:
        """c·diag(v), its column already checked."""
        out = Diag.__new__(Diag)
        out.v = c * self.v
        return out


def _times2(a: Any, b: Any) -> Any:
    if type(b) is Diag:
        if type(a) is Diag:
            return b.scaled(a.v)
        return a * b.v.T if _is_matrix_value(a) else Diag(a * b.v)
    if type(a) is Diag:
        return a.v * b if np.ndim(b) == 2 else Diag(a.v * b)
    return a @ b if np.ndim(a) == 2 and np.ndim(b) == 2 else a * b


def _is_matrix_value(x: Any) -> bool:
    """A matrix operand of a product (an array of two axes, or a diagonal), not a number."""
    if type(x) is np.ndarray:
        return x.ndim == 2
    return type(x) is Diag or (type(x) is not float and np.ndim(x) == 2)


def _matmul(*xs: Any) -> Any:
    """A product of matrices, scalar factors (−1 of −Wᵀ diag(…) W) applied once, to a diagonal
    or the smallest matrix, not to every partial product."""
    if len(xs) == 2 and type(xs[0]) is np.ndarray and type(xs[1]) is np.ndarray and \
            xs[0].ndim == 2 and xs[1].ndim == 2:  # the common A @ B, without the bookkeeping
        return xs[0] @ xs[1]
    c, mats = 1.0, []
    for x in xs:
        if _is_matrix_value(x):
            mats.append(x)
        else:
            c = c * x
    if not mats:
        return c
    scaled = c != 1.0 or not isinstance(c, float)  # a 0-d array: its dtype kept
    if len(mats) == 1:  # c·M
        m = mats[0]
        return (m.scaled(c) if type(m) is Diag else c * m) if scaled else m
    if scaled:
        diags = [i for i, m in enumerate(mats) if type(m) is Diag]
        k = diags[0] if diags else min(range(len(mats)), key=lambda i: np.size(mats[i]))
        m = mats[k]
        mats[k] = m.scaled(c) if type(m) is Diag else c * m
    out = mats[0]
    for x in mats[1:]:
        out = _times2(out, x)
    return out


def dense_value(x: Any) -> Any:
    """A diagonal as its matrix; anything else as it is."""
    return x.dense() if isinstance(x, Diag) else x


def _derivative(name: str) -> Op:
    """f′ of an element-wise primitive, by its rule's VJP with a cotangent of ones."""
    rule = RULES[name]
    df = rule.derivative
    if rule.prime is not None:
        return rule.prime
    if df is not None:
        return lambda x: df(x, rule.forward(x))

    def op(x: Any) -> Any:
        x = np.asarray(x, dtype=float)
        return rule.vjp(np.ones_like(x), rule.forward(x), x)[0]
    return op


def _sum(*xs: Any) -> Any:
    """A sum of terms; from the third on they are added into the partial sum, which is our
    own array (never an operand, which may be an input or another step's value)."""
    out = dense_value(xs[0]) + dense_value(xs[1]) if len(xs) > 1 else dense_value(xs[0])
    for x in xs[2:]:
        x = dense_value(x)
        if type(out) is np.ndarray and np.shape(x) == out.shape and out.dtype == np.result_type(
                out, x):
            out += x
        else:
            out = out + x
    return out


_NUMPY_FUNCS: dict[str, Op] = {name: r.forward for name, r in RULES.items()
                               if r.sympy is not None}
_NUMPY_FUNCS.update({"Heaviside": lambda x, *h: np_heaviside(x), "sign": np.sign,
                     "Abs": np.abs, "Max": lambda *a: reduce(np.maximum, a),
                     "Min": lambda *a: reduce(np.minimum, a),
                     # SymPy's own functions that the builder rewrites (the source witness
                     # evaluates them as given)
                     "sec": lambda x: 1 / np.cos(x), "csc": lambda x: 1 / np.sin(x),
                     "cot": lambda x: 1 / np.tan(x), "sech": lambda x: 1 / np.cosh(x),
                     "csch": lambda x: 1 / np.sinh(x), "coth": lambda x: 1 / np.tanh(x),
                     "atan2": np.arctan2})
_BY_CLASS: dict[type, Op] = {
    sp.Add: _sum, MatAdd: _sum, sp.Mul: _prod, HadamardProduct: _prod, MatMul: _matmul,
    sp.Pow: np.power, HadamardPower: np.power,
    Transpose: lambda a: a if isinstance(a, Diag) else np.transpose(a),
    **{r.node: r.forward for r in RULES.values() if r.node is not None},
    DiagJacobian: Diag,
    MatPow: lambda a, k: np.linalg.matrix_power(a, int(k)),
    MatrixElement: lambda m, i, j: m[int(i), int(j)],
    # SymPy's Piecewise((x, c), …, (y, True)) as a user gave it (the witness of SymPy input):
    # the first branch whose condition holds
    sp.Piecewise: lambda *v: np.select(list(v[1:-1:2]), list(v[0:-1:2]), default=v[-1]),
    sp.StrictGreaterThan: np.greater, sp.StrictLessThan: np.less,
    sp.GreaterThan: np.greater_equal, sp.LessThan: np.less_equal,
    sp.Eq: np.equal, sp.Ne: np.not_equal, sp.Not: np.logical_not,
    sp.And: lambda *a: reduce(np.logical_and, a), sp.Or: lambda *a: reduce(np.logical_or, a),
    sp.Xor: lambda *a: reduce(np.logical_xor, a),
    sp.Implies: lambda a, b: np.logical_or(np.logical_not(a), b),
    sp.ITE: lambda c, a, b: np.where(c, a, b),
}


def _function_op(e: sp.Basic) -> Op:
    name = e.name if isinstance(e, Elementwise) else BY_SYMPY.get(type(e), type(e).__name__)
    if isinstance(e, (sp.Max, sp.Min)) and len(e.args) > 2:  # SymPy merged max(x, max(y, z)):
        name = type(e).__name__  # np.maximum(a, b, c) would write max(a, b) into c
    if name in _NUMPY_FUNCS:
        return _NUMPY_FUNCS[name]
    raise UnsupportedError(f"no NumPy form for {name}")


def _tensor_vjp(e: TensorVJP) -> Op:
    """One operand's cotangent of an n-D primitive, by the rule's hand-written VJP."""
    vjp, k, params = TENSOR_RULES[e.op].vjp, e.k, e.node.params

    def run(g: Any, out: Any, *xs: Any) -> Any:
        return vjp(g, out, *xs, **params)[k]
    return run


def _is_log_softmax(e: sp.Basic) -> bool:
    """log softmax(o), computed as one shifted log-sum-exp so large logits stay finite."""
    return isinstance(e, Elementwise) and e.name == "log" and isinstance(e.operands[0], Softmax)


def children(e: sp.Basic) -> tuple[sp.Basic, ...]:
    if _is_log_softmax(e):
        return tuple(e.operands[0].args)
    if isinstance(e, Elementwise):
        return e.operands
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol, OneMatrix, Identity, ZeroMatrix, Pattern,
                      Extent)) or e.is_Number or e.is_NumberSymbol:
        return ()
    if isinstance(e, TensorVJP):  # the cotangent, the output, the operands
        return tuple(e.args[2:-1])
    if isinstance(e, TensorJVP):  # the tangent, the output, the operands
        return tuple(e.args[1:-1])
    if isinstance(e, ElementwiseDerivative):
        return (e.args[1],)
    if isinstance(e, sp.Piecewise):  # x₁, c₁, x₂, c₂, …, y (the last condition is True)
        return tuple(a for x, c in e.args for a in (x, c))[:-1]
    if isinstance(e, sp.Add) and e.args[0].is_Number:  # SymPy puts the constant first:
        return (*e.args[1:], e.args[0])  # added last, as x − c + ε (ε lost to 1e12 first)
    rule = BY_NODE.get(type(e))
    return tuple(e.args) if rule is None else node_operands(e, rule)


def _symbolic(v: Any) -> bool:
    if isinstance(v, (tuple, sp.Tuple)):
        return any(_symbolic(x) for x in v)
    return bool(getattr(v, "free_symbols", ()))


def _param(v: Any, env: Env | None = None) -> Any:
    """A primitive's parameter as NumPy takes it: a float, None (a slice to the end), a
    tuple of them, a dimension bound from ``env`` (a block's offset in ``[X; Y]``)."""
    if v is None or isinstance(v, str):  # einsum's subscripts
        return v
    if isinstance(v, (tuple, sp.Tuple)):
        return tuple(_param(x, env) for x in v)
    if env is not None and isinstance(v, sp.Expr) and v.free_symbols:
        return float(dim_value(v, env))
    return float(v)


def _leaf_op(e: sp.Basic) -> Op:
    if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
        return lambda env: env[e]
    if isinstance(e, OneMatrix):
        return lambda env: np.ones(array_shape(e.shape, env))
    if isinstance(e, ZeroMatrix):
        return lambda env: np.zeros(array_shape(e.shape, env))
    if isinstance(e, Identity):
        return lambda env: np.eye(dim_value(e.shape[0], env))
    if isinstance(e, Extent):  # a tensor's number of entries (mean's 1/N)
        return lambda env: float(dim_value(e, env))
    if isinstance(e, Pattern):
        return lambda env: pattern_array(e.kind, dim_value(e.shape[0], env))
    if e is sp.true or e is sp.false:  # a constant inside a Piecewise's condition
        flag = bool(e)
        return lambda env: flag
    if e is sp.S.ComplexInfinity or e is sp.S.NaN:  # undefined, as d(0**x)/dx = 0**x log 0
        value = float("nan")
    elif e.is_extended_real is False:
        raise UnsupportedError(f"the constant {e} is not a real number")
    else:
        value = float(e)
    return lambda env: value


def compile_expr(expr: sp.Basic) -> Callable[[Env], Any]:
    """A NumPy program for one expression: its nodes in post-order, shared nodes once."""
    steps: list[Step] = []
    root = Steps(steps).add(expr)

    def run(env: Env) -> Any:
        vals: list[Any] = []
        for step in steps:
            vals.append(step(vals, env))
        return dense_value(vals[root])

    return run


Step = Callable[[list[Any], Env], Any]  # (the values so far, the dimensions) -> the next


class Steps:
    """Expressions compiled into one straight-line list of steps, each reading earlier values
    by position: a node met again (the same object) is read, not recomputed, and a symbol
    with a position (one of the ``inputs``, whose values come first, or an equation's
    left-hand side, ``read_as``) is read from it instead of looked up by name. Leaves and
    dimension-bound operations read ``env``."""

    def __init__(self, steps: list[Step], inputs: tuple[sp.Basic, ...] = ()) -> None:
        self.steps, self.first = steps, len(inputs)
        self.slots: dict[sp.Basic, int] = {s: k for k, s in enumerate(inputs)}
        self.index: dict[int, int] = {}
        self.keep: list[sp.Basic] = []  # the nodes indexed by id stay alive (ids not reused)
        self.made: dict[sp.Basic, int] = {}  # each node computed, by value: its position
        self.reads: list[tuple[int, ...]] = []  # the positions each step reads

    def read_as(self, symbol: sp.Basic, position: int) -> None:
        """Later expressions read ``symbol`` from ``position`` (an equation's value)."""
        self.slots[symbol] = position

    def add(self, expr: sp.Basic) -> int:
        """Compile ``expr``; the position of its value."""
        stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
        while stack:
            e, ready = stack.pop()
            if id(e) in self.index:
                continue
            self.keep.append(e)
            if e in self.slots:
                self.index[id(e)] = self.slots[e]
                continue
            kids = children(e)
            if not ready and kids:
                stack.append((e, True))
                stack.extend((k, False) for k in reversed(kids))
                continue
            idx = tuple(self.index[id(k)] for k in kids)
            reused = self._reused(e, idx)
            self.steps.append(reused[0] if reused else _step(e, idx))
            self.reads.append(reused[1] if reused else idx)
            self.index[id(e)] = self.made[e] = self.first + len(self.steps) - 1
        return self.index[id(expr)]

    def _reused(self, e: sp.Basic, idx: tuple[int, ...]) -> tuple[Step, tuple[int, ...]] | None:
        """f′(z) of a primitive whose derivative is written with its output (tanh′ = 1 − h²)
        from f(z) already computed, instead of computing f(z) again."""
        if not isinstance(e, ElementwiseDerivative):
            return None
        rule = RULES[e.name]
        at = self.made.get(Elementwise(*e.args))
        if rule.derivative is None or not rule.reuse_output or at is None:
            return None
        return _call(rule.derivative, (idx[0], at)), (idx[0], at)


def _step(e: sp.Basic, idx: tuple[int, ...]) -> Step:
    """One node as a step: its operation called on the values at ``idx``."""
    if not idx:
        leaf = _leaf_op(e)
        return lambda v, env: leaf(env)
    if type(e) is MatMul:
        sandwich = _sandwich(e, idx)
        if sandwich is not None:
            return sandwich
    op = np_log_softmax if _is_log_softmax(e) else _BY_CLASS.get(type(e))
    rule = BY_NODE.get(type(e))
    if isinstance(e, TensorVJP):
        op = _tensor_vjp(e)
    elif isinstance(e, TensorJVP):
        op = partial(NUMERIC_JVPS[e.op], **e.node.params)
    elif isinstance(e, ElementwiseDerivative):
        op = _derivative(e.name)
    elif op is not None and rule is not None and rule.params_of is not None:
        params = rule.params_of(e)
        if any(_symbolic(v) for _, v in params):  # bound when run
            bound = _Bound(op, params)
            return lambda v, env: bound(env, *[v[i] for i in idx])
        op = partial(op, **{k: _param(v) for k, v in params})  # max(X, axis=1)
    if op is None:
        if isinstance(e, (sp.Function, Elementwise, sp.Max, sp.Min)):
            op = _function_op(e)
        else:
            raise UnsupportedError(f"no NumPy form for {type(e).__name__}")
    return _call(op, idx)


def _sandwich(e: sp.Basic, idx: tuple[int, ...]) -> Step | None:
    """``c·A diag(v) B`` (a Hessian's Wᵀ diag(…) W, Xᵀ diag(…) X) as ``(A ⊙ c vᵀ) @ B``, the
    number read once when compiled; other values reaching it take ``_matmul``."""
    args = e.args
    c = float(args[0]) if args[0].is_Number else 1.0
    if args[0].is_Number:
        args, idx = args[1:], idx[1:]
    if len(args) != 3 or not isinstance(args[1], DiagJacobian) or any(
            isinstance(a, DiagJacobian) or not is_matrix(a) for a in (args[0], args[2])):
        return None
    i, j, k = idx

    def step(v: list[Any], env: Env) -> Any:
        a, d, b = v[i], v[j], v[k]
        if type(a) is np.ndarray and type(d) is Diag and type(b) is np.ndarray and \
                a.ndim == 2 and b.ndim == 2:
            return (a * (d.v.T if c == 1.0 else c * d.v.T)) @ b
        return _matmul(c, a, d, b)
    return step


def _call(op: Op, idx: tuple[int, ...]) -> Step:
    """``op`` on the values at ``idx``, one closure per arity (no argument list built for
    the common one- and two-operand steps)."""
    if len(idx) == 1:
        i, = idx
        return lambda v, env: op(v[i])
    if len(idx) == 2:
        i, j = idx
        return lambda v, env: op(v[i], v[j])
    return lambda v, env: op(*[v[k] for k in idx])


class _Bound:
    """An operation whose parameters hold dimensions, bound from the values when run."""

    def __init__(self, op: Op, params: tuple[tuple[str, Any], ...]) -> None:
        self.op, self.params = op, params

    def __call__(self, env: Env, *args: Any) -> Any:
        return self.op(*args, **{k: _param(v, env) for k, v in self.params})


