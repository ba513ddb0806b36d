"""The independent numeric witness: NumPy backprop over the graph.

``Engine(d)`` flattens every forward equation of a derivation into primitives (``classify``),
once, into a *tape* of ``(forward, out slot, arg slots)`` steps with their parameters already
floats. A run fills a list of slots going forward with each rule's NumPy ``forward`` and walks
the tape backwards with each rule's NumPy ``vjp``: it never looks at the symbolic backward
equations, so when it agrees with them, two independent computations agree. The engine
itself keeps float32 when given float32. The tape's ``Step`` and the fast forms that planning
puts in it are in ``tape.py``; what ``diagnose`` reports, in ``diagnosis.py``.

The check that compares it with the symbolic gradients and with finite differences of the
source lives beside it in ``compare.py`` (finite differences in ``differences.py``, the source
as a witness in ``witness.py``, the report in ``report.py``, ``gradcheck`` in
``gradcheck.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp
from sympy import OneMatrix

from ..algebra import is_matrix
from ..errors import OptionError, UnsupportedError
from ..evaluate import check_sizes
from ..functions import Pattern
from ..ir import Const
from ..primitive_numpy import pattern_array
from ..rules import RULES
from ..shapes import shape_of
from ..values import (
    array_shape,
    check_assumptions,
    coerce_value,
    dim_value,
    limits_of,
    values_by_name,
)
from .diagnosis import FORMULA_ONLY, Issue, domain_message, kink_message
from .tape import (
    FAST,
    Step,
    add2,
    add2_into_first,
    add2_into_second,
    add2_same_vjp,
    add2_vjp,
    affine,
    affine_vjp,
    bcast_forward,
    bcast_vjp,
    cross_entropy_pair,
    matmul_vjp,
)

if TYPE_CHECKING:
    from ..derivation import Derivation

Array = Any
EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3
FD = "finite differences"
MAX_COORDS = 32  # parameters with more entries get a random subset plus a random direction
ATTEMPTS = 4  # random points drawn, at most, for one off every kink and in the domain


@dataclass(frozen=True, slots=True)
class Tolerances:
    """How closely witnesses must agree: ``|a − b| ≤ atol + rtol·|b|`` entry by entry; ``eps``
    is the finite-difference step (times ``max(1, |x|)``); parameters with more than
    ``max_coords`` entries get that many random coordinates plus one random direction."""

    eps: float = EPS
    atol: float = ATOL
    rtol: float = RTOL
    seed: int = 0
    max_coords: int = MAX_COORDS

    def __post_init__(self) -> None:
        for name, least in (("eps", 0.0), ("atol", 0.0), ("rtol", 0.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                raise TypeError(f"{name} must be a number, not {type(v).__name__}")
            if not np.isfinite(v) or v < least or (name == "eps" and v == 0):
                raise OptionError(f"{name} must be a finite number "
                                 f"{'> 0' if name == 'eps' else '>= 0'}, not {v!r}")
        if isinstance(self.max_coords, bool) or not isinstance(self.max_coords, int) \
                or self.max_coords < 1:
            raise OptionError(f"max_coords must be a whole number >= 1, not {self.max_coords!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) \
                or self.seed < 0:
            raise OptionError(f"seed must be a whole number >= 0, not {self.seed!r}")


# ---------------------------------------------------------------------------------------
# The tape (its steps: tape.py)


def _num(v: Any) -> Any:
    if isinstance(v, tuple):
        return tuple(_num(x) for x in v)
    if v is None or isinstance(v, str):  # einsum's subscripts
        return v
    try:
        return float(v)
    except TypeError:
        raise UnsupportedError(f"a symbolic parameter {v} in a primitive") from None






class Engine:
    """Reverse-mode NumPy backprop over a derivation's forward graph (an independent witness).

    ``Engine(d).value_and_grad(values)`` returns the output value and ``{name: gradient}`` for
    the derivation's ``wrt`` (or the names given as ``wrt``). ``dtype=None`` keeps float32 when
    every array given is float32, else float64.
    """

    def __init__(self, d: Derivation, wrt: Sequence[str] | None = None) -> None:
        self.derivation = d
        inputs = tuple(d.inputs)
        self.input_symbols = inputs
        self.inputs = tuple(str(s.name) for s in inputs)
        self.wrt = tuple(wrt) if wrt is not None else tuple(str(s.name) for s in d.wrt)
        unknown = [w for w in self.wrt if w not in self.inputs]
        if unknown:
            raise ValueError(f"wrt {', '.join(unknown)}: not an input of the expression")
        self.shapes = {str(s.name): shape_of(s) for s in inputs}
        prog = d.sweep.program  # one primitive per node (ir.lower): nothing recognised here
        self.consts: list[tuple[int, Const]] = list(prog.consts)
        self.deps: list[frozenset[str]] = list(prog.deps)  # per slot: the inputs it depends on
        self._nslots = prog.size
        self.steps: list[Step] = [
            self._step(n.prim, n.expr, n.operands, dict(n.params), n.out, n.inputs, n.where)
            for n in prog.nodes]
        self.out_slot = prog.slot[d.output]
        self.input_slots = prog.inputs
        self.wrt_slots = tuple(self.input_slots[self.inputs.index(w)] for w in self.wrt)
        self._backward_program()
        self._const_cache: dict[tuple[Any, ...], list[Array]] = {}
        self._last: tuple[np.dtype[Any], tuple[Any, ...], list[Array]] | None = None

    def _step(self, name: str, e: sp.Basic, operands: tuple[sp.Basic, ...], kw: dict[str, Any],
              out: int, args: tuple[int, ...], where: str) -> Step:
        if name not in RULES:
            raise UnsupportedError(f"no numeric rule for the primitive {name!r}")
        rule = RULES[name]
        params = {k: _num(v) for k, v in kw.items()}
        fwd: Callable[..., Array] = partial(rule.forward, **params) if params else rule.forward
        vjp: Callable[..., tuple[Array, ...]] = partial(rule.vjp, **params) if params \
            else rule.vjp
        fresh = False
        if name == "matmul" and isinstance(operands[1], OneMatrix) and \
                operands[0].shape[1] == 1:
            fwd, vjp = bcast_forward, bcast_vjp
        elif name == "matmul":
            fresh = True
        elif name == "add" and len(args) == 2 and params["coeffs"] == (1.0, 1.0) and \
                params["const"] == 0.0:
            fwd, vjp, fresh = add2, add2_vjp, True
        elif name in FAST and all(is_matrix(o) for o in operands):
            (fwd, vjp), fresh = FAST[name], True
        shapes = (shape_of(e), *(shape_of(o) for o in operands))
        return Step(name, out, args, fwd, vjp, params, where, shapes, fresh)

    def _fused(self) -> list[Step]:
        """The tape as run: ``A B + c 1ᵀ`` (a matmul, a broadcast column and their sum, the
        two only read by the sum) becomes one affine step."""
        users: dict[int, list[int]] = {}
        for k, s in enumerate(self.steps):
            for a in s.args:
                users.setdefault(a, []).append(k)
        produced = {s.out: k for k, s in enumerate(self.steps)}
        gone: set[int] = set()
        fused: dict[int, Step] = {}
        for k, s in enumerate(self.steps):
            if s.forward is not add2 or not self._same_shape(s) or len(set(s.args)) != 2:
                continue
            parts = [self.steps[produced[a]] if a in produced else None for a in s.args]
            if any(p is None or users[p.out] != [k] or p.out == self.out_slot for p in parts):
                continue
            mm = [p for p in parts if p is not None and p.name == "matmul" and p.fresh]
            bc = [p for p in parts if p is not None and p.forward is bcast_forward]
            if len(mm) != 1 or len(bc) != 1:
                continue
            m, b = mm[0], bc[0]
            fused[k] = Step("affine", s.out, (*m.args, b.args[0]), affine,
                            affine_vjp((True, True, True)),
                            {}, s.where, (s.shapes[0], *m.shapes[1:], b.shapes[1]), True)
            gone.update((produced[m.out], produced[b.out]))
        return [fused.get(k, s) for k, s in enumerate(self.steps) if k not in gone]

    def _backward_program(self) -> None:
        """The backward tape (only what leads to a wrt input), then the forward tape with
        each intermediate released after its last use when backward does not read it, and a
        sum written into a fresh operand nobody else sees."""
        steps = self._fused()
        wanted = set(self.wrt)
        need = [bool(dep & wanted) for dep in self.deps]
        reads: set[int] = {self.out_slot}
        prog = []
        forwards: dict[int, Callable[..., Array]] = {}
        for s in reversed(steps):
            if not need[s.out]:
                continue
            mask = tuple(need[a] for a in s.args)
            vjp = s.vjp
            if s.name in ("matmul", "affine") and vjp is not bcast_vjp:
                vjp = (matmul_vjp if s.name == "matmul" else affine_vjp)(mask)
                reads.update(a for a, other in zip(s.args[:2], mask[1::-1], strict=True)
                             if other)
            elif vjp is bcast_vjp:
                pass
            elif vjp is add2_vjp and self._same_shape(s):
                vjp = add2_same_vjp
            elif s.name in FAST and vjp is FAST[s.name][1]:
                reads.add(s.out)
            else:
                if s.name == "cross_entropy" and not s.params:
                    forwards[s.out], vjp = cross_entropy_pair(mask)
                reads.update((s.out, *s.args))
            prog.append((vjp, s.out, s.args, tuple(zip(s.args, mask, strict=True))))
        self._backward_prog = tuple(prog)
        users: dict[int, list[int]] = {}
        for k, s in enumerate(steps):
            for a in s.args:
                users.setdefault(a, []).append(k)
        produced = {s.out: s for s in steps}
        drops: list[list[int]] = [[] for _ in steps]
        for slot, ks in users.items():
            if slot in produced and slot not in reads:
                drops[ks[-1]].append(slot)
        fwd_prog = []
        for k, s in enumerate(steps):
            fwd = forwards.get(s.out, s.forward)
            if fwd is add2 and self._same_shape(s):
                for pos, a in enumerate(s.args):
                    src = produced.get(a)
                    if src is not None and src.fresh and users[a] == [k] and a not in reads:
                        fwd = add2_into_first if pos == 0 else add2_into_second
                        break
            fwd_prog.append((fwd, s.out, s.args, tuple(drops[k])))
        self._forward_prog = tuple(fwd_prog)

    def _same_shape(self, s: Step) -> bool:
        return s.shapes[0] is not None and all(x == s.shapes[0] for x in s.shapes)

    # binding values ---------------------------------------------------------------------
    def bind(self, values: Mapping[str, Any], dtype: Any = None) -> list[Array]:
        """The slot list with the inputs (checked, as arrays of ``dtype``) and the constants."""
        again = self._bind_again(values, dtype)
        if again is not None:
            return again
        by_name = values_by_name(values)
        missing = [n for n in self.inputs if n not in by_name]
        if missing:
            raise OptionError(f"no value for {', '.join(missing)} (the inputs: "
                              f"{', '.join(self.inputs)})", tuple(self.inputs))
        if dtype is None:
            kinds = {np.asarray(v).dtype for v in by_name.values()
                     if isinstance(v, np.ndarray | np.floating)}
            dtype = np.float32 if kinds == {np.dtype(np.float32)} else np.float64
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dtype must be a floating type, not {dtype}")
        slots: list[Array] = [None] * self._nslots
        dims: dict[sp.Expr, int] = {}
        limits = limits_of(self.derivation)
        for name, sym, i in zip(self.inputs, self.input_symbols, self.input_slots,
                                strict=True):
            slots[i] = coerce_value(name, by_name[name], self.shapes[name], dtype, dims,
                                    symbol=sym, limits=limits)
        key = (dtype.str, *sorted((str(k), v) for k, v in dims.items()))
        consts = self._const_cache.get(key)
        if consts is None:  # first values of these sizes: every array within the limits
            check_sizes(self.derivation, dims, limits)
            consts = [_materialize(c, dims, dtype) for _, c in self.consts]
            self._const_cache[key] = consts
        for (i, _), v in zip(self.consts, consts, strict=True):
            slots[i] = v
        self._last = (dtype, tuple(np.shape(slots[i]) for i in self.input_slots), consts)
        return slots

    def _bind_again(self, values: Mapping[str, Any], dtype: Any, copy: bool = True,
                    ) -> list[Array] | None:
        """Arrays keyed by name of the dtype and shapes of the last bind (a training loop):
        checked for assumptions only, as ``coerce_value`` would, and copied (or, for a run
        that writes into no input, read-only views: a write would raise, and ``_grads``
        copies a read-only gradient); None otherwise."""
        last = self._last
        if last is None or not all(type(k) is str for k in values):
            return None
        want, shapes, consts = last
        if dtype is None:
            kinds = {v.dtype for v in values.values() if isinstance(v, np.ndarray | np.floating)}
            dtype = np.float32 if kinds == {np.dtype(np.float32)} else np.float64
        if np.dtype(dtype) != want:
            return None
        slots: list[Array] = [None] * self._nslots
        for name, sym, i, shape in zip(self.inputs, self.input_symbols, self.input_slots, shapes,
                                       strict=True):
            v = values.get(name)
            if type(v) is not np.ndarray or v.ndim != 2 or v.dtype != want or v.shape != shape:
                return None
            if copy:
                slots[i] = v.copy()  # nothing handed back aliases the caller's array
            else:
                slots[i] = v.view()
                slots[i].flags.writeable = False
            check_assumptions(name, sym, slots[i])
        for (i, _), c in zip(self.consts, consts, strict=True):
            slots[i] = c
        return slots

    # running ----------------------------------------------------------------------------
    def forward_slots(self, slots: list[Array]) -> Array:
        """Run the tape forward in place; returns the output value."""
        for fwd, out, args, drop in self._forward_prog:
            v = fwd(*[slots[i] for i in args])
            # a reduction's Python float as NumPy's: 1/0 in a VJP is inf, never Python's
            # ZeroDivisionError (log(var(relu(−eˣ))), var 0)
            slots[out] = np.float64(v) if type(v) is float else v
            for i in drop:
                slots[i] = None
        return slots[self.out_slot]

    def forward_from(self, slots: list[Array], start: int = 0) -> Array:
        """The tape forward from step ``start``, releasing and overwriting nothing: finite
        differences re-run only the steps that depend on the input they perturb."""
        for s in self.steps[start:]:
            v = s.forward(*[slots[i] for i in s.args])
            slots[s.out] = np.float64(v) if type(v) is float else v
        return slots[self.out_slot]

    def first_step(self, name: str) -> int:
        """The index of the first step that depends on the input ``name``."""
        return next((k for k, s in enumerate(self.steps) if name in self.deps[s.out]),
                    len(self.steps))

    def backward_slots(self, slots: list[Array], exact_zeros: bool = False) -> list[Array]:
        """The adjoint of every slot after ``forward_slots`` (None where nothing flows).
        ``exact_zeros`` (the check's witness): an entry whose cotangent is exactly 0 passes
        back 0 through an element-wise step, even where the local derivative overflows —
        the branch ``np.where`` does not take (log1p(exp(x)) at x = 1000) carries nothing,
        where 0·∞ would say NaN."""
        adj: list[Array] = [None] * self._nslots
        adj[self.out_slot] = 1.0
        for vjp, out, args, pairs in self._backward_prog:
            g = adj[out]
            if g is None:
                continue
            cots = vjp(g, slots[out], *[slots[i] for i in args])
            if exact_zeros and isinstance(g, np.ndarray):
                cots = tuple(np.where(g == 0, 0.0, c) if isinstance(c, np.ndarray) and
                             c.shape == g.shape and not np.all(np.isfinite(c)) else c
                             for c in cots)
            for (i, needed), c in zip(pairs, cots, strict=True):
                if needed and c is not None:
                    prev = adj[i]
                    adj[i] = c if prev is None else prev + c
        return adj

    def value_and_grad(self, values: Mapping[str, Any], dtype: Any = None,
                       exact_zeros: bool = False) -> tuple[Any, dict[str, Array]]:
        slots = self._bind_again(values, dtype, copy=False) or self.bind(values, dtype)
        with np.errstate(all="ignore"):
            value = self.forward_slots(slots)
            adj = self.backward_slots(slots, exact_zeros)
        return _own(value), self._grads(adj, slots)

    def gradients(self, values: Mapping[str, Any], dtype: Any = None,
                  exact_zeros: bool = False) -> dict[str, Array]:
        return self.value_and_grad(values, dtype, exact_zeros)[1]

    def value(self, values: Mapping[str, Any], dtype: Any = None) -> Any:
        slots = self._bind_again(values, dtype, copy=False) or self.bind(values, dtype)
        with np.errstate(all="ignore"):
            return _own(self.forward_slots(slots))

    def _grads(self, adj: list[Array], slots: list[Array]) -> dict[str, Array]:
        out: dict[str, Array] = {}
        seen: set[int] = set()
        for name, i in zip(self.wrt, self.wrt_slots, strict=True):
            x, g = slots[i], adj[i]
            if g is None:
                g = np.zeros_like(x)
            elif np.shape(g) != np.shape(x) or not isinstance(g, np.ndarray) or id(g) in seen \
                    or not g.flags.writeable:
                g = np.array(np.broadcast_to(g, np.shape(x)), dtype=np.asarray(x).dtype)
            seen.add(id(g))
            out[name] = g if np.ndim(g) else np.asarray(x).dtype.type(g)
        return out

    # diagnosis --------------------------------------------------------------------------
    def diagnose(self, slots: list[Array]) -> list[Issue]:
        """Run forward, noting NaN/inf where they first appear and kinks of non-smooth steps."""
        issues: list[Issue] = []
        with np.errstate(all="ignore"):
            for s in self.steps:
                args = [slots[i] for i in s.args]
                slots[s.out] = val = s.forward(*args)
                rule = RULES[s.name]
                inputs = self.deps[s.out]
                finite = all(np.all(np.isfinite(a)) for a in args)
                if not np.all(np.isfinite(val)) and finite:
                    issues.append(Issue("domain", f"{domain_message(s, args, val)} in "
                                                  f"{s.where}", inputs))
                elif rule.nondiff is not None and finite and \
                        np.any(rule.nondiff(*args, **s.params)):  # (an SVD of NaN raises)
                    kind = "formula" if s.name in FORMULA_ONLY else "kink"
                    issues.append(Issue(kind, f"{kink_message(s)} in {s.where}", inputs))
        return issues


def _own(value: Any) -> Any:
    """A value handed back: a read-only array (an input's view, a constant) copied."""
    if isinstance(value, np.ndarray) and not value.flags.writeable:
        return value.copy()
    return value


def _materialize(c: Const, dims: Mapping[sp.Expr, int], dtype: np.dtype[Any]) -> Array:
    if c.kind == "number":
        return c.value
    assert c.shape is not None
    r = dim_value(c.shape[0], dims)
    if c.kind in Pattern.KINDS:
        a = np.array(pattern_array(c.kind, r, dtype))
    else:
        a = {"ones": np.ones, "zeros": np.zeros}[c.kind](array_shape(c.shape, dims), dtype) \
            if c.kind != "eye" else np.eye(r, dtype=dtype)
    a.flags.writeable = False
    return a




def backprop(d: Derivation, values: Mapping[str, Any], dtype: Any = None) -> dict[str, Array]:
    """The gradients of ``d``'s output from the NumPy engine (not the symbolic equations)."""
    return Engine(d).gradients(values, dtype)
