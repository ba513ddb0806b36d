"""Where ``check()`` looks: seeded random values for a derivation's inputs (small sizes for
symbolic dimensions, probability columns for a cross-entropy's target, weights scaled by
1/√columns), and when a draw leaves a step undefined or the output huge, one input at a
time redrawn from other ranges until the point is in the domain and moderate."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from ..evaluate import check_sizes, cross_entropy_nodes
from ..shapes import axes_of, shape_of
from ..values import array_shape
from .diagnosis import Issue
from .engine import ATTEMPTS, Array, Engine
from .witness import Witness

if TYPE_CHECKING:
    from ..derivation import Derivation

SIZES = (3, 2, 4, 5, 6, 7)  # the sizes check() gives named dimensions, in turn
# where the random draws (signed and positive, 0.3 to 1.3 in size) leave a function
# undefined, one input at a time is drawn from these instead: probabilities (log(1 − p)),
# (−1, 1) (arctanh), above 1 (arccosh), above 3 (log(x − 3)), negative (log(−x)), large,
# small (a simplex, log(1 − xᵀx)), between ½ and 1
_RANGES = ((0.05, 0.95), (-0.9, 0.9), (1.2, 2.5), (3.2, 8.0), (-1.3, -0.3), (8.0, 30.0),
           (0.02, 0.3), (-0.2, 0.2), (0.55, 0.95))


def random_values(d: Derivation, seed: int = 0, attempt: int = 0,
                  engine: Engine | None = None) -> dict[str, Array]:
    """Seeded random values: symbolic dims get small sizes; a cross-entropy target ``y`` gets
    probability columns; a matrix multiplying from the left is scaled by 1/√columns.
    ``attempt`` 0 draws signed values away from 0, later ones positive; what SymPy was told
    about a symbol (positive, integer, ...) holds."""
    rng = np.random.default_rng([seed, attempt])
    dims: dict[sp.Expr, int] = {}
    engine = engine or Engine(d)
    # a cross-entropy's target, also one a Hessian's softmax(o) − y carries from its loss
    targets = _ce_targets(engine) | {str(getattr(n.args[1], "name", "")) for n in
                                     cross_entropy_nodes(d)}
    weights = _left_factors(engine)
    for s in d.inputs:  # the sizes first: nothing is drawn for numbers over the limits
        for x in axes_of(shape_of(s)):
            if not x.is_Integer and x not in dims:
                for k in x.free_symbols:
                    dims.setdefault(k, SIZES[len(dims) % len(SIZES)])
    check_sizes(d, dims)
    values: dict[str, Array] = {}
    for s in d.inputs:
        shape = shape_of(s)
        if shape is None:
            size: tuple[int, ...] = ()
        else:
            for x in axes_of(shape):
                if not x.is_Integer and x not in dims:
                    for k in x.free_symbols:
                        dims.setdefault(k, SIZES[len(dims) % len(SIZES)])
            size = array_shape(shape, dims)
        v = rng.uniform(0.3, 1.3, size)
        if attempt % 2 == 0 and not (s.is_nonnegative or s.is_nonpositive):
            v = v * rng.choice([-1.0, 1.0], size)
        if s.is_nonpositive:
            v = -v
        if s.is_integer:
            v = np.round(v * 3) + (1.0 if s.is_positive else -1.0 if s.is_negative else 0.0)
        if s.is_zero:
            v = v * 0.0
        if str(s.name) in targets and size:
            v = np.abs(v) / np.sum(np.abs(v), axis=0, keepdims=True)
        elif str(s.name) in weights and size and size[1] > 1:
            v = v / np.sqrt(size[1])  # W x stays O(1): no saturated activations
        values[str(s.name)] = float(v) if not size else v
    for k, n in dims.items():  # a scalar input named as a dimension (sum(z)/n) is its size
        if str(k) in values and np.ndim(values[str(k)]) == 0:
            values[str(k)] = float(n)
    return values


def _left_factors(engine: Engine) -> set[str]:
    names = {engine.input_slots[k]: n for k, n in enumerate(engine.inputs)}
    return {names[s.args[0]] for s in engine.steps
            if s.name == "matmul" and s.args[0] in names}


def _ce_targets(engine: Engine) -> set[str]:
    names = {engine.input_slots[k]: n for k, n in enumerate(engine.inputs)}
    return {names[s.args[1]] for s in engine.steps
            if s.name == "cross_entropy" and s.args[1] in names}


def _redraws(inputs: Sequence[sp.Basic], engine: Engine, source: Witness | None,
             kept: list[dict[str, Any]], rng: np.random.Generator
             ) -> Iterator[tuple[dict[str, Any], list[Array], list[Issue]]]:
    """Each input drawn from each of ``_RANGES`` in turn (those its assumptions allow), the
    others as the point ``kept[0]`` holds them (the caller puts a draw it keeps there): the
    trial values, their slots and their issues."""
    for s in inputs:
        name = str(s.name)
        if s.is_integer or s.is_zero or name not in kept[0]:
            continue
        for lo, hi in _RANGES:
            if (s.is_nonnegative and hi <= 0) or (s.is_nonpositive and lo >= 0):
                continue
            vals = kept[0]
            v = rng.uniform(lo, hi, np.shape(vals[name]))
            trial = {**vals, name: float(v) if not np.ndim(v) else v}
            if source is not None:
                trial = numpy_shaped(trial, source)
            trial_slots = engine.bind(trial, np.float64)
            yield trial, trial_slots, engine.diagnose(list(trial_slots))


def into_domain(d: Derivation, engine: Engine, source: Witness | None, vals: dict[str, Any],
                 issues: list[Issue], seed: int
                 ) -> tuple[dict[str, Any], list[Array], list[Issue]]:
    """A point in the domain, looked for one input at a time: each input drawn from each of
    ``_RANGES`` in turn, the others kept, and a draw kept when it leaves fewer steps
    undefined (log(x − 3) + log(1 − p) needs x above 3 and p below 1: no one range does)."""
    def score(found: list[Issue]) -> tuple[int, int]:
        return sum(s.kind == "domain" for s in found), len(found)

    rng = np.random.default_rng([seed, ATTEMPTS])
    slots = engine.bind(vals, np.float64)
    # twice over the inputs: log(y − x) + log(z − y) needs y before z
    kept = [vals]
    for trial, trial_slots, found in _redraws([*d.inputs, *d.inputs], engine, source, kept,
                                              rng):
        if score(found) < score(issues):
            vals, slots, issues = trial, trial_slots, found
            kept[0] = vals
        if not any(i.kind == "domain" for i in issues):
            return vals, slots, issues
    return vals, slots, issues


LARGE = 1e8  # an output whose rounding drowns a finite difference's small steps


def magnitude(engine: Engine, slots: list[Array]) -> float:
    """The largest |entry| of the output at a point (∞ where it is not finite)."""
    with np.errstate(all="ignore"):
        out = np.abs(np.asarray(engine.forward_slots(list(slots)), dtype=float))
    return float(np.max(out, initial=0.0)) if np.all(np.isfinite(out)) else math.inf


def moderate(d: Derivation, engine: Engine, source: Witness | None, vals: dict[str, Any],
              slots: list[Array], issues: list[Issue], seed: int
              ) -> tuple[dict[str, Any], list[Array], list[Issue]]:
    """A point of the check's own choosing where the output is not huge: at 1e14
    (exp(Σ T^-½)^1.5 at T in (0.3, 1.3)) no step resolves ∂/∂s of a summand s, and a right
    gradient was FAILED (a held-out case). Each input is drawn from each of ``_RANGES`` in
    turn, the others kept; a draw is kept when it leaves no more steps undefined or at a
    kink and makes the output smaller."""
    def score(found: list[Issue], size: float) -> tuple[int, int, float]:
        return sum(s.kind == "domain" for s in found), len(found), size

    rng = np.random.default_rng([seed, ATTEMPTS + 1])
    best = score(issues, magnitude(engine, slots))
    kept = [vals]
    for trial, trial_slots, found in _redraws(d.inputs, engine, source, kept, rng):
        now = score(found, magnitude(engine, trial_slots))
        if now[:2] <= best[:2] and now[2] < best[2]:
            vals, slots, issues, best = trial, trial_slots, found, now
            kept[0] = vals
        if best[2] <= LARGE:
            return vals, slots, issues
    return vals, slots, issues


def numpy_shaped(vals: dict[str, Any], source: Witness) -> dict[str, Any]:
    """Random values for a traced function: 1-D where the function was traced with 1-D."""
    out = dict(vals)
    for n, shape in source.numpy_shapes.items():
        if n in out and np.size(out[n]) == int(np.prod(shape)) and len(shape) == 1:
            out[n] = np.reshape(out[n], shape)
    return out
