"""Numbers from the symbolic equations: each equation compiled once, then run in order.

``Derivation.evaluate`` runs the forward equations and then the backward (adjoint) equations,
each compiled separately into a small NumPy program (a list of operations over the
equation's own shallow tree), never one huge substituted expression. No source code is
generated (unlike ``lambdify``), so no name a user chose can ever become code.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial, reduce
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, OneMatrix, Transpose
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .algebra import is_matrix
from .errors import UnsupportedError
from .functions import (
    CrossEntropy,
    DiagJacobian,
    Elementwise,
    ElementwiseDerivative,
    Pattern,
    Softmax,
)
from .limits import Limits
from .recognise import node_operands
from .rules import BY_NODE, BY_SYMPY, RULES, np_heaviside, np_log_softmax, pattern_array
from .shapes import Extent, shape_of
from .tensor_nodes import NUMERIC_JVPS, TENSOR_RULES, TensorJVP, TensorVJP
from .values import (
    array_shape,
    check_elements,
    coerce_value,
    dim_value,
    limits_of,
    shape_size,
    values_by_name,
)

if TYPE_CHECKING:
    from .derivation import Derivation

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
        else:
            self.v = np.reshape(np.asarray(v, dtype=float), (-1, 1))

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
                     "Min": lambda *a: reduce(np.minimum, a)})
_BY_CLASS: dict[type, Op] = {
    sp.Add: _sum, MatAdd: _sum, sp.Mul: _prod, HadamardProduct: _prod, MatMul: _matmul,
    sp.Pow: np.power, HadamardPower: np.power,
    Transpose: lambda a: a if isinstance(a, Diag) else np.transpose(a),
    **{r.node: r.forward for r in RULES.values() if r.node is not None},
    DiagJacobian: Diag,
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


def _children(e: sp.Basic) -> tuple[sp.Basic, ...]:
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
            kids = _children(e)
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


# ---------------------------------------------------------------------------------------


# NumPy kinds that are numbers: bool, signed and unsigned integers, floats


# (assumption, test an entry must pass, wording): a value outside is refused


# ---------------------------------------------------------------------------------------
# Sizes: every array counted before it is made


def check_sizes(d: Derivation, dims: Mapping[sp.Expr, int] | None = None,
                limits: Limits | None = None) -> int:
    """Refuse (LimitError) a derivation whose numbers would hold more than
    ``limits.max_elements`` entries: each input, intermediate, adjoint and temporary of an
    equation on its own, and all that ``evaluate`` keeps at once (inputs, every forward and
    adjoint value, plus the largest equation's temporaries). Sizes come from the symbolic
    shapes with ``dims`` bound, before anything is allocated; a shape with an unbound
    dimension is not counted. Returns the total."""
    limits = limits or limits_of(d)
    dims = dims or {}
    held = 0
    for s in d.inputs:
        n = shape_size(shape_of(s), dims)
        if n is not None:
            check_elements(str(s.name), n, limits)
            held += n
    worst = 0
    for eq in (*d.forward, *d.backward):
        n = shape_size(shape_of(eq.lhs), dims)
        if n is not None:
            if n > limits.max_elements:
                check_elements(_display_name(d, eq.lhs), n, limits)
            held += n
        temps = 0
        for node_shape in _node_shapes(d, eq):
            m = shape_size(node_shape, dims)
            if m is not None:
                if m > limits.max_elements:
                    check_elements(f"a term of the equation of {_display_name(d, eq.lhs)}",
                                   m, limits)
                temps += m
        worst = max(worst, temps)
    check_elements("the derivation's values together", held + worst, limits)
    return held + worst


def _display_name(d: Derivation, lhs: sp.Basic) -> str:
    """Only for a message: a scan of the adjoints."""
    for v, a in d.adjoints.items():
        if a == lhs:
            return f"the adjoint of {v.name}"
    return str(lhs.name)


# caches per derivation, owned here (weak: they go with the derivation)
_NODE_SHAPES: weakref.WeakKeyDictionary[Any, dict[Any, tuple[Any, ...]]] = \
    weakref.WeakKeyDictionary()
_COMPILED: weakref.WeakKeyDictionary[Any, dict[Any, Callable[[Env], Any]]] = \
    weakref.WeakKeyDictionary()


_SIZES_OK: weakref.WeakKeyDictionary[Any, set[tuple[Any, ...]]] = weakref.WeakKeyDictionary()
_TARGETS: weakref.WeakKeyDictionary[Any, tuple[sp.Basic, ...]] = weakref.WeakKeyDictionary()


def _node_shapes(d: Derivation, eq: Any) -> tuple[Any, ...]:
    """The distinct shapes of the matrix nodes of one right-hand side (cached per equation)."""
    cache = _NODE_SHAPES.setdefault(d, {})
    got = cache.get(eq)
    if got is None:
        seen: dict[int, Any] = {}
        stack = [eq.rhs]
        while stack:
            e = stack.pop()
            if id(e) in seen:
                continue
            made = is_matrix(e) and not isinstance(e, (sp.MatrixSymbol, Transpose))
            seen[id(e)] = shape_of(e) if made else None  # a symbol is held; .T is a view
            stack.extend(_children(e))
        got = cache[eq] = tuple(s for s in seen.values() if s is not None)
    return got


def carry_targets(d: Derivation, first: Derivation) -> None:
    """A Hessian's derivation (and a Jacobian's scalarised one) checks the cross-entropy
    targets of the derivation it came from: its equations hold ``softmax(o) − y``, no
    cross-entropy node, and that gradient (so the Hessian) is right only for targets whose
    columns sum to 1."""
    known = {*d.inputs, *(eq.lhs for eq in d.forward)}
    # a target the new derivation does not read cannot make its numbers wrong (the gradient
    # in x of x + cross_entropy(P, W) has no W): only those it reads are checked
    _TARGETS[d] = tuple(n for n in cross_entropy_nodes(first)
                        if n.args[1].free_symbols <= known)


def cross_entropy_nodes(d: Derivation) -> tuple[sp.Basic, ...]:
    """The cross-entropy nodes whose targets ``d``'s numbers depend on: its own, or those of
    the derivation it was made from (``carry_targets``)."""
    nodes = _TARGETS.get(d)
    if nodes is None:
        nodes = _TARGETS[d] = tuple(n for eq in d.forward for n in _cross_entropies(eq.rhs))
    return nodes


def check_cross_entropy_targets(d: Derivation, env: Env) -> None:
    """The printed backward step of softmax cross-entropy, ``softmax(o) − y``, is the
    gradient only when each column of the target ``y`` sums to 1 (one-hot or probabilities;
    the general one is ``softmax(o) ⊙ 1ᵀy − y``): other targets are refused, not given a
    wrong gradient."""
    for node in cross_entropy_nodes(d):
        y = node.args[1]
        value = env[y] if y in env else compile_expr(y)(env)
        sums = np.sum(np.asarray(value, dtype=float), axis=0)
        with np.errstate(invalid="ignore"):
            bad = np.flatnonzero(np.abs(sums - 1.0) > CE_TOLERANCE)
        if bad.size:
            where = f"column {bad[0]} of {y}" if np.ndim(value) == 2 and \
                np.shape(value)[1] > 1 else str(y)
            raise ValueError(
                f"cross_entropy target {y}: each column must sum to 1 (one-hot or "
                f"probabilities), but {where} sums to {float(np.ravel(sums)[bad[0]]):.6g}; "
                "the gradient printed for this loss, softmax(o) - y, holds only then")


def cross_entropy_targets(d: Derivation) -> set[sp.Basic]:
    """The inputs that are a cross-entropy target (to draw valid random values for them)."""
    inputs = set(d.inputs)
    return {node.args[1] for eq in d.forward for node in _cross_entropies(eq.rhs)
            if node.args[1] in inputs}


CE_TOLERANCE = 1e-6  # a column sum of the target may be off by this much (rounding)


def _cross_entropies(e: sp.Basic) -> list[sp.Basic]:
    out, stack = [], [e]
    while stack:
        x = stack.pop()
        if isinstance(x, CrossEntropy):
            out.append(x)
        stack.extend(_children(x))
    return out


def _program(d: Derivation, eq: Any) -> Callable[[Env], Any]:
    cache = _COMPILED.setdefault(d, {})
    prog = cache.get(eq)
    if prog is None:
        prog = cache[eq] = compile_expr(eq.rhs)
    return prog


def _as_shape(v: Any, like: sp.Basic, env: Env) -> Any:
    shape = shape_of(like)
    if shape is None:
        return float(np.asarray(v).reshape(()))
    target = array_shape(shape, env)
    return np.broadcast_to(np.asarray(v, dtype=float), target).copy()


def bind_values(d: Derivation, values: Mapping[Any, Any],
                dtype: Any = np.float64, copy: bool = True) -> Env:
    """Check and convert the user's values: every input given, shapes agree, dims bound,
    and the arrays the equations will make within ``Limits.max_elements``.

    Values for names the expression does not use are ignored (one dict can serve several
    derivations); a missing one is an error naming it. ``copy=False``: read-only views of
    arrays already of ``dtype`` (see ``coerce_value``).
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"values must map names to numbers or arrays, not "
                        f"{type(values).__name__}")
    by_name = values_by_name(values)
    env: Env = {}
    missing = [str(s.name) for s in d.inputs if str(s.name) not in by_name]
    if missing:
        raise ValueError(f"no value for {', '.join(missing)}")
    limits = limits_of(d)
    dims: dict[sp.Expr, int] = {}
    for s in d.inputs:
        env[s] = coerce_value(str(s.name), by_name[str(s.name)], shape_of(s), np.dtype(dtype),
                              dims, symbol=s, limits=limits, copy=copy)
    key = (limits, *sorted((str(k), v) for k, v in dims.items()))
    checked = _SIZES_OK.setdefault(d, set())
    if key not in checked:  # a training loop checks its sizes once
        check_sizes(d, dims, limits)
        checked.add(key)
    env.update(dims)
    return env


def run_all(d: Derivation, values: Mapping[Any, Any]) -> Env:
    """Every forward and adjoint value, equation by equation."""
    env = bind_values(d, values)
    with np.errstate(all="ignore"):
        for eq in d.forward:
            env[eq.lhs] = _program(d, eq)(env)
        check_cross_entropy_targets(d, env)
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
    tangent: Any = None  # v̇ along the trace's tangents (None: none given, or v̇ is none)


@dataclass(frozen=True)
class Trace:
    """The evaluation trace: every input's and intermediate's primal and adjoint value (the
    API's ``d.trace(values)`` adds its displays: ``symbackprop.derive.Trace``)."""

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


def trace(d: Derivation, values: Mapping[Any, Any],
          tangents: Mapping[Any, Any] | None = None) -> Trace:
    env = run_all(d, values)
    if tangents is not None:
        run_tangents(d, env, tangents)
    tan = d.tangents if tangents is not None else {}
    rows = [TraceRow(str(s.name), s, None, env[s], env.get(d.adjoints.get(s, None)),
                     env.get(tan.get(s, None))) for s in d.inputs]
    rows += [TraceRow(str(eq.lhs.name), eq.lhs, eq.rhs, env[eq.lhs],
                      env.get(d.adjoints.get(eq.lhs, None)), env.get(tan.get(eq.lhs, None)))
             for eq in d.forward]
    return Trace(d, tuple(rows))


def run_tangents(d: Derivation, env: Env, tangents: Mapping[Any, Any]) -> None:
    """The tangent equations at the primal values in ``env``, the inputs' tangents from
    ``tangents`` (name → number or array shaped as the input; a missing one is 0)."""
    if not isinstance(tangents, Mapping):
        raise TypeError(f"tangents must map names to numbers or arrays, not "
                        f"{type(tangents).__name__}")
    given = values_by_name(tangents)
    wrt = {str(v.name) for v in d.wrt}
    unknown = sorted(set(given) - wrt)
    if unknown:
        raise ValueError(f"tangents for {', '.join(unknown)}, which are not among wrt "
                         f"({', '.join(sorted(wrt)) or 'none'})")
    dims: dict[sp.Expr, int] = {k: v for k, v in env.items() if isinstance(v, int)}
    for v in d.wrt:
        name = str(v.name)
        t = given.get(name, 0.0)
        if name not in given and shape_of(v) is not None:
            t = np.zeros(np.shape(env[v]))
        env[d.tangents[v]] = coerce_value(f"the tangent of {name}", t, shape_of(v),
                                          np.dtype(np.float64), dims, limits=limits_of(d))
    with np.errstate(all="ignore"):
        for eq in d.tangent_equations:
            env[eq.lhs] = _as_shape(_program(d, eq)(env), eq.lhs, env)
