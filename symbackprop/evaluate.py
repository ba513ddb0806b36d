"""Numbers from the symbolic equations: each equation compiled once, then run in order.

``Derivation.evaluate`` runs the forward equations and then the backward (adjoint) equations,
each compiled separately into a small NumPy program (``programs.compile_expr``: a list of
operations over the equation's own shallow tree), never one huge substituted expression.
The values are checked and bound here (``bind_values``), and every array is counted before
it is made (``check_sizes``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy import Transpose

from .algebra import is_matrix
from .errors import OptionError, ShapeError
from .functions import CrossEntropy
from .limits import Limits
from .programs import Env, children, compile_expr
from .shapes import shape_of
from .values import (
    array_shape,
    check_elements,
    coerce_value,
    limits_of,
    shape_size,
    values_by_name,
)

if TYPE_CHECKING:
    from .derivation import Derivation

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
            stack.extend(children(e))
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
            raise OptionError(  # a value outside what the derivation holds for: typed
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
        stack.extend(children(x))
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
        raise OptionError(f"no value for {', '.join(missing)} (the inputs: "
                          f"{', '.join(str(s.name) for s in d.inputs)})",
                          tuple(str(s.name) for s in d.inputs))
    limits = limits_of(d)
    dims: dict[sp.Expr, int] = {}
    for s in d.inputs:
        env[s] = coerce_value(str(s.name), by_name[str(s.name)], shape_of(s), np.dtype(dtype),
                              dims, symbol=s, limits=limits, copy=copy)
    if dims:  # sum(z)/n with z (n, 1): the input n and the dimension n must be one number
        sizes = {str(k): v for k, v in dims.items()}
        for s in d.inputs:
            n = sizes.get(str(s.name))
            if n is not None and shape_of(s) is None and float(env[s]) != n:
                raise ShapeError(f"{s.name} is {float(env[s]):g}, but it also names a "
                                 f"dimension, which the values make {n}: give {s.name} = {n} "
                                 "(or rename the scalar)")
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
    """Each wrt input's gradient, in the shape of the value given for it: a 1-D array's is
    1-D (the graph's column would broadcast ``x - lr * g`` into a matrix)."""
    env = run_all(d, values)
    given = {str(getattr(k, "name", k)): v for k, v in values.items()}
    out: dict[str, Any] = {}
    for v in d.wrt:
        g, raw = env[d.adjoints[v]], given.get(str(v.name), 0.0)
        if np.ndim(raw) == 1 and np.ndim(g) == 2 and np.size(g) == np.size(raw):
            g = np.reshape(g, np.shape(raw))
        out[str(v.name)] = g
    return out


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
        raise OptionError(f"tangents for {', '.join(unknown)}, which are not among wrt "
                          f"({', '.join(sorted(wrt)) or 'none'}; an input SymPy cancels, as "
                          "in var(a) of a number, stays one when wrt names it)",
                          tuple(sorted(wrt)))
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
