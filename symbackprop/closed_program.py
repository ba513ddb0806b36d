"""A derivation's closed-form Jacobians (a Hessian's ``Wᵀ diag(…) W``) as one straight-line
NumPy program: the forward equations they read and the forms themselves compiled together,
values read by position, not looked up by symbol.

A call checks and binds the values as ``bind_values`` does. When the next call's values have
the same signature — a plain dict with string keys, every input a float64 array of the shape
already checked (or a float for a scalar) — the checks' outcome is known and they are
skipped; anything else (a new shape, a list, a symbol as a key, an integer array) takes the
checked path again. That per-call cost is most of a small Hessian's time (issue 22 part 5).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy import MatAdd, MatMul

from .evaluate import bind_values, check_cross_entropy_targets, cross_entropy_nodes
from .functions import DiagJacobian
from .programs import Env, Step, Steps, dense_value
from .shapes import shape_of
from .values import assumes_values, check_elements, limits_of, shape_size

if TYPE_CHECKING:
    from .builder import Equation
    from .derivation import Derivation

_F64 = np.dtype(np.float64)


class ClosedProgram:
    """The closed forms of ``forms`` (name → expression) after the ``equations`` they read."""

    def __init__(self, d: Derivation, equations: tuple[Equation, ...],
                 forms: tuple[tuple[str, sp.Basic], ...]) -> None:
        self.d = d
        self.steps: list[Step] = []
        steps = Steps(self.steps, tuple(d.inputs))
        for eq in equations:
            steps.read_as(eq.lhs, steps.add(eq.rhs))
        self.outputs = tuple((name, steps.add(factored(f))) for name, f in forms)
        self.shapes = tuple((name, shape_of(f)) for name, f in forms)
        self.slots = steps.slots
        # each step's value is dropped after the last step that reads it, so a large
        # temporary's memory is free for the next one (as in code written by hand), not held
        # to the end of the call
        last: dict[int, int] = {}
        for k, reads in enumerate(steps.reads):
            for i in reads:
                if i >= steps.first:
                    last[i] = k
        kept = {k for _, k in self.outputs} | set(self.slots.values())
        dead: list[list[int]] = [[] for _ in self.steps]
        for i, k in last.items():
            if i not in kept:
                dead[k].append(i)
        self.plan = tuple(zip(self.steps, map(tuple, dead), strict=True))
        self.names = tuple(str(s.name) for s in d.inputs)
        self.scalar = tuple(shape_of(s) is None for s in d.inputs)
        # a value SymPy assumed something of (positive=True), or a target to check, is checked
        # on every call
        self.fast = not cross_entropy_nodes(d) and not any(map(assumes_values, d.inputs))
        self.signature: tuple[frozenset[str], tuple[Any, ...], Env] | None = None

    def __call__(self, values: Mapping[Any, Any]) -> dict[str, Any]:
        """Each form's value (numerator layout); nothing returned aliases an input."""
        bound = self._seen(values)
        if bound is None:
            env = bind_values(self.d, values, copy=False)
            args = [env[s] for s in self.d.inputs]
            dims = {k: v for k, v in env.items() if isinstance(v, int)}
            for name, shape in self.shapes:  # the result itself, before it is made
                n = shape_size(shape, dims)
                if n is not None:
                    check_elements(f"the Jacobian in {name}", n, limits_of(self.d))
            if self.fast and type(values) is dict and all(type(k) is str for k in values):
                self.signature = (frozenset(values), tuple(
                    None if s else np.shape(a) for s, a in zip(self.scalar, args, strict=True)),
                    dims)
        else:
            args, dims = bound
        vals = list(args)
        with np.errstate(all="ignore"):
            for step, dead in self.plan:
                vals.append(step(vals, dims))
                for i in dead:
                    vals[i] = None
            if not self.fast:
                check_cross_entropy_targets(self.d, self._env(vals, dims))
        out = {}
        for name, k in self.outputs:
            r = np.asarray(dense_value(vals[k]), dtype=float)
            # the inputs are read-only views: a result that is one, or a view of one (the
            # Jacobian A of A@x), is not writeable, and is copied
            out[name] = r if r.flags.writeable else r.copy()
        return out

    def _seen(self, values: Mapping[Any, Any]) -> tuple[list[Any], Env] | None:
        """The inputs as read-only views and the dimensions, when ``values`` has the signature
        of values already checked (the same keys, all strings; the same types and shapes);
        else None."""
        if self.signature is None or type(values) is not dict:
            return None
        keys, shapes, dims = self.signature
        if values.keys() != keys:
            return None
        args: list[Any] = []
        for name, shape in zip(self.names, shapes, strict=True):
            a = values[name]
            if shape is None:
                if type(a) is not float:
                    return None
                args.append(np.float64(a))
                continue
            if type(a) is not np.ndarray or a.dtype != _F64 or a.shape != shape:
                return None
            a = a.view()
            a.flags.writeable = False
            args.append(a)
        return args, dims

    def _env(self, vals: list[Any], dims: Env) -> Env:
        """The values by symbol (for the cross-entropy targets' check)."""
        return {**dims, **{s: vals[k] for s, k in self.slots.items()}}


def factored(e: sp.Basic) -> sp.Basic:
    """The same matrix with its numbers applied once: terms of a sum that share a number
    (``0.5 A + 0.5 Aᵀ``, the Hessian of ½xᵀAx, as ``0.5 (A + Aᵀ)``: one scaling of an n × n
    matrix instead of two), and a number inside a diagonal moved out to the product's
    (``−Wᵀ diag(2 v) W`` as ``−2 Wᵀ diag(v) W``, scaling the diagonal once)."""
    if isinstance(e, MatMul):
        return _numbers_out(e)
    if not isinstance(e, MatAdd):
        return e
    groups: dict[sp.Basic, list[sp.Basic]] = {}
    for t in map(factored, e.args):
        c = t.args[0] if isinstance(t, MatMul) and t.args[0].is_Number else sp.S.One
        groups.setdefault(c, []).append(t)
    terms = []
    for c, ts in groups.items():
        if c == 1 or len(ts) == 1:
            terms += ts
        else:
            rest = [MatMul(*t.args[1:]) if len(t.args) > 2 else t.args[1] for t in ts]
            terms.append(MatMul(c, MatAdd(*rest)))
    return MatAdd(*terms)


def _numbers_out(e: MatMul) -> sp.Basic:
    c, args = sp.S.One, []
    for a in e.args:
        if isinstance(a, DiagJacobian) and isinstance(a.args[0], MatMul) and \
                a.args[0].args[0].is_Number:
            inner = a.args[0].args
            c *= inner[0]
            a = DiagJacobian(MatMul(*inner[1:]) if len(inner) > 2 else inner[1])
        if a.is_Number:
            c *= a
        else:
            args.append(a)
    return e if c == 1 and len(args) == len(e.args) else MatMul(c, *args)
