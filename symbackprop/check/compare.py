"""The check: symbolic gradients, the engine and finite differences of the source, compared.

``check(d)`` compares three witnesses for every parameter — the symbolic gradients
(``d.evaluate``), the engine (``numeric.Engine``), and central finite differences of the
*source as written* (``witness.py``: the text, the user's function, the SymPy expression or
the Graph; the graph's forward value must equal the source's first) — with tolerances like
``torch.autograd.gradcheck``: an entry agrees when ``|a − b| ≤ atol + rtol·|b|`` with
``eps = 1e-6`` (the finite-difference step, scaled by ``max(1, |x|)``), ``atol = 1e-5``,
``rtol = 1e-3``. An entry that agrees only thanks to ``atol`` must also agree relatively when
finite differences at two steps are steady (a zero gradient for e^x at −20 is not ok); an
entry that disagrees is re-taken with the unscaled step (sin at 1e5). Near a domain edge the
step shrinks, then goes one-sided, and the row says so. Large parameters get a seeded random
subset of coordinates plus one random direction (``vᵀ∇f`` against ``(f(x + εv) − f(x − εv))
/ 2ε``). At a kink (ReLU or ``abs`` at 0, a ``max`` tie) or outside a function's domain the
row says so instead of a bogus mismatch. Checks run in float64.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import OptionError, ShapeError, SymbackpropError
from ..evaluate import evaluate_gradients
from .diagnosis import Issue
from .differences import (
    central,
    close,
    errors_of,
    fd_point,
    index_text,
    judge,
    steady_direction,
)
from .engine import ATOL, ATTEMPTS, EPS, FD, MAX_COORDS, RTOL, Array, Engine, Tolerances
from .points import LARGE, into_domain, magnitude, moderate, numpy_shaped, random_values
from .report import CheckReport, Mismatch, Row, _join
from .witness import FUNCTION, Runner, Witness, witness

if TYPE_CHECKING:
    from ..derivation import Derivation

DEFAULT_TOLERANCES = Tolerances()


def _fix_shape(g: Any, like: Array, who: str, name: str) -> Array:
    a = np.asarray(g, dtype=float)
    want = np.shape(like)
    if a.shape != want:
        if a.size == int(np.prod(want)) and (a.ndim <= 1 or 1 in a.shape or not want):
            return a.reshape(want)
        whose = "your" if who == "yours" else f"the {who}"
        raise ShapeError(f"{whose} gradient of {name} has shape {a.shape}, expected {want}")
    return a


class _EngineRunner:
    """Finite differences of the graph (the fallback when the source is not known)."""

    def __init__(self, engine: Engine, slots: list[Array]) -> None:
        self.engine, self.slots = engine, slots
        with np.errstate(all="ignore"):
            engine.forward_from(slots)  # every value once; each input then re-runs its part

    def array(self, name: str) -> Array:
        i = self.engine.input_slots[self.engine.inputs.index(name)]
        x = self.slots[i] = np.array(self.slots[i], dtype=np.float64)  # private, writable
        return x

    def run(self, changed: str | None = None) -> float:
        start = 0 if changed is None else self.engine.first_step(changed)
        with np.errstate(all="ignore"):
            return float(self.engine.forward_from(self.slots, start))


def compare(engine: Engine, slots: list[Array], analytic: Mapping[str, Mapping[str, Any]],
            tol: Tolerances = DEFAULT_TOLERANCES, issues: Sequence[Issue] = (),
            source: Runner | None = None) -> list[Row]:
    """A row per parameter: every analytic witness and finite differences, pairwise.

    Finite differences are of ``source`` (the user's program as written) when given, else
    of the graph through the engine.
    """
    rng = np.random.default_rng(tol.seed)
    eps, atol, rtol, max_coords = tol.eps, tol.atol, tol.rtol, tol.max_coords
    runner: Any = source if source is not None else _EngineRunner(engine, slots)
    rows = []
    for name in engine.wrt:
        x = runner.array(name)

        def f(name: str = name) -> float:
            with np.errstate(all="ignore"):
                return float(runner.run(name))

        base = f()
        precision = {w: _precision(g[name]) for w, g in analytic.items()}
        grads = {w: _fix_shape(g[name], x, w, name) for w, g in analytic.items()}
        sampled = x.size > max_coords
        if sampled:  # the same picks as from the list of all coordinates, without the list
            picks = rng.choice(x.size, size=max_coords, replace=False)
            # and the entries where the analytic witnesses differ most, so that a wrong
            # entry the picks miss is differenced and shown (W[63, 5] of a 64×64 W)
            picks = np.union1d(picks, _most_apart(grads, atol, rtol))
            coords = [tuple(int(i) for i in np.unravel_index(k, x.shape)) for k in picks]
        else:
            coords = list(np.ndindex(x.shape))
        series: dict[str, Array] = {w: np.array([g[c] for c in coords]) for w, g in grads.items()}
        points = [fd_point(f, x, c, eps, base) for c in coords]
        series[FD] = np.array([p[0] for p in points])
        notes = [f"finite differences at {name}[{index_text(c)}]: {p[1]} (the function is "
                 f"undefined a step away)" for c, p in zip(coords, points, strict=True) if p[1]]
        straddled: list[str] = []
        wrong: dict[str, list[int]] = {}
        unresolved: set[int] = set()
        at_kink = any(s.kind in ("kink", "formula") and name in s.inputs for s in issues)
        judged = judge(f, x, coords, series, eps, atol, rtol, notes, straddled, precision,
                       wrong, at_kink, unresolved)
        direction: dict[str, float] = {}
        if sampled:
            v = rng.standard_normal(x.shape)
            v /= np.linalg.norm(v)
            direction = {w: float(np.sum(g * v)) for w, g in grads.items()}
            want = next((d for w, d in direction.items() if w != "yours"), 0.0)
            direction[FD] = steady_direction(f, x, v, want, eps, atol, rtol)
        f()  # x is restored: so are the values computed from it
        here = [*issues, *(Issue("kink", m, frozenset({name})) for m in straddled)]
        rows.append(_row(name, x.shape if x.ndim else None, grads, series, direction, coords,
                         x.size, atol, rtol, here, judged, notes, precision,
                         {w: ks for w, ks in wrong.items() if ks}, unresolved))
    if source is None:
        runner.run(None)
    return rows


def _precision(g: Any) -> float:
    """The rounding unit of a witness's numbers: float32 code is as exact as float32."""
    dtype = getattr(g, "dtype", None)
    text = str(dtype)
    for short, eps in (("float16", 2.0**-10), ("bfloat16", 2.0**-7), ("float32", 2.0**-23)):
        if text.endswith(short):
            return eps
    return float(np.finfo(np.float64).eps)


def _floor(a: Array, b: Array, unit: float) -> float:
    """How far two analytic witnesses may differ in an entry by rounding alone: far below
    atol (a sign-flipped gradient of 1e-6 is within atol of the right one, and finite
    differences of a loss of 100 cannot resolve it), a little above the rounding of the
    gradient's largest entries in the witnesses' dtype."""
    with np.errstate(all="ignore"):
        finite = [float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0)) for v in (a, b)]
    return max(1e-10, 64 * unit) * max(1.0, *finite)


def _most_apart(grads: Mapping[str, Array], atol: float, rtol: float, limit: int = 3
                ) -> Array:
    """The flat indices (at most ``limit``) where two analytic witnesses differ most beyond
    the tolerance: every entry of theirs is known, unlike finite differences'. Beyond 1e-10
    of the largest entry, not of 1: a sign-flipped entry of a gradient that is 1e-11
    throughout (e^x at x = −25) is differenced, and finite differences resolve it."""
    arrays = [np.asarray(g, float).ravel() for g in grads.values()]
    if len(arrays) < 2:
        return np.array([], dtype=int)
    with np.errstate(all="ignore"):
        largest = max(float(np.max(np.abs(a[np.isfinite(a)]), initial=0.0)) for a in arrays)
        spread = np.nan_to_num(np.max(arrays, axis=0) - np.min(arrays, axis=0), nan=np.inf)
        bad = (spread > min(atol, 1e-10 * largest) + rtol * np.min(np.abs(arrays), axis=0)) \
            | np.any(np.isnan(arrays), axis=0)
    order = np.argsort(-spread, kind="stable")
    return np.array([k for k in order[:limit] if bad[k]], dtype=int)


def _row(name: str, shape: tuple[int, ...] | None, grads: Mapping[str, Array],
         series: Mapping[str, Array], direction: Mapping[str, float],
         coords: list[tuple[int, ...]], size: int, atol: float, rtol: float,
         issues: Sequence[Issue], judged: Mapping[str, Array] | None = None,
         fd_notes: Sequence[str] = (), precision: Mapping[str, float] | None = None,
         wrong: Mapping[str, list[int]] | None = None,
         unresolved: set[int] | frozenset[int] = frozenset()) -> Row:
    names = list(series)
    unit = precision or {}
    f64 = float(np.finfo(np.float64).eps)

    def agree(a: str, b: str) -> bool:
        if FD not in (a, b):  # two analytic witnesses: every entry, atol only as far as
            # rounding goes (finite differences, which atol is for, may not resolve it)
            floor = _floor(grads[a], grads[b], max(unit.get(a, f64), unit.get(b, f64)))
            return close(grads[a], grads[b], min(atol, floor), rtol)
        w = a if b == FD else b
        ok = bool(np.all(judged[w])) if judged is not None else \
            close(series[w], series[FD], atol, rtol)
        return ok and (not direction or close(direction[w], direction[FD], atol, rtol))

    pairs = {(a, b): agree(a, b) for k, a in enumerate(names) for b in names[k + 1:]}
    errs = [errors_of(grads[a], grads[b]) if FD not in (a, b) else errors_of(series[a], series[b])
            for a, b in pairs]
    abs_err = _nanmax([e[0] for e in errs])
    rel_err = _nanmax([e[1] for e in errs])
    checked = f"{len(coords)} of {size} coordinates and 1 random direction" if direction else ""
    finite = all(np.all(np.isfinite(s)) for s in series.values())
    mine = [s for s in issues if name in s.inputs]
    kinks = [s.message for s in mine if s.kind in ("kink", "formula")]
    formula = bool(kinks) and all(s.kind == "formula" for s in mine if s.kind != "domain")
    domain = [s.message for s in (mine if finite else issues) if s.kind == "domain"]
    extra = list(dict.fromkeys(fd_notes))[:3]
    if all(pairs.values()) and finite:
        note = "; ".join([*([f"agree at {_join(list(dict.fromkeys(kinks)))}"] if kinks
                            else []), *extra])
        return Row(name, shape, "ok", abs_err, rel_err, note=note, checked=checked)
    if finite and domain:  # every witness is a number here: the NaN or inf upstream (a
        # branch np.where does not take) explains no disagreement
        extra = [*extra, *dict.fromkeys(domain)]
    elif domain or not any(np.all(np.isfinite(s)) for s in series.values()):
        note = "; ".join(dict.fromkeys(domain)) or "every gradient is NaN or inf at this point"
        return Row(name, shape, "domain", abs_err, rel_err, note=note, checked=checked)
    score = {w: sum(ok for pair, ok in pairs.items() if w in pair) for w in names}
    best = max(score.values())
    disagree = tuple(w for w in names if score[w] < best) if best else tuple(names)
    worst = _worst(series, coords, atol, rtol)
    if wrong and (kinks or any("neither slope" in n for n in fd_notes)):  # wrong where
        # finite differences are sound (another witness agrees), or neither slope of a kink
        # near the point: a kink or tie does not excuse it
        disagree = tuple(w for w in names if w in wrong)
        at = ", ".join(f"{w} at [{index_text(coords[ks[0]])}]" for w, ks in wrong.items())
        extra = [f"plainly wrong: {at}", *extra]
    elif kinks:
        return Row(name, shape, "formula" if formula else "kink", abs_err, rel_err, disagree,
                   "; ".join(dict.fromkeys(kinks)), worst, checked)
    elif disagree == (FD,) and len(names) > 2 and unresolved and judged is not None and \
            all(k in unresolved for ok in judged.values() for k in np.flatnonzero(~ok)) and \
            (not direction or all(close(direction[w], direction[FD], atol, rtol)
                                  for w in names if w != FD)):
        # the analytic witnesses agree, and every entry finite differences fail is one they
        # cannot resolve (1e12 + Σx²: the output's rounding is above the tolerance at every
        # step; (1e12 + x) − 1e12: no two steps agree): not a mismatch, nor confirmed
        return Row(name, shape, "unresolved", abs_err, rel_err, disagree, "; ".join(
            ["the analytic witnesses agree; finite differences cannot resolve the entries "
             "here (the output's rounding, or steps that never agree): check at another "
             "point or scale, without a large constant, or with another eps", *extra]),
            worst, checked)
    elif disagree == (FD,) and len(names) > 2:
        extra = ["the analytic witnesses agree with each other and finite differences do not "
                 "confirm them: rounding inside the function (a value near 1e6 or 1e9) can "
                 "drown a step's difference, and a step can reach too far (a pole or a "
                 "steep bend within it); check at another point, or with another eps",
                 *extra]
    return Row(name, shape, "mismatch", abs_err, rel_err, disagree, "; ".join(extra), worst,
               checked)


def _nanmax(xs: Sequence[float]) -> float:
    return float("nan") if any(x != x for x in xs) else max(xs, default=0.0)


def _worst(series: Mapping[str, Array], coords: list[tuple[int, ...]], atol: float,
           rtol: float, limit: int = 3) -> tuple[Mismatch, ...]:
    vals = np.array([np.asarray(s, float) for s in series.values()])
    with np.errstate(all="ignore"):
        spread = np.nan_to_num(np.max(vals, axis=0) - np.min(vals, axis=0), nan=np.inf)
        bad = (spread > atol + rtol * np.min(np.abs(vals), axis=0)) | np.any(
            np.isnan(vals), axis=0)  # a NaN entry is shown (its comparison is never true)
    order = [k for k in np.argsort(-spread, kind="stable") if bad[k]][:limit]
    return tuple(Mismatch(index_text(coords[k]), tuple((w, float(s[k])) for w, s in series.items()))
                 for k in order)


# ---------------------------------------------------------------------------------------
# check: the three witnesses for a derivation


def check(d: Derivation, values: Mapping[str, Any] | None = None, seed: int = 0, *,
          eps: float = EPS, atol: float = ATOL, rtol: float = RTOL,
          max_coords: int = MAX_COORDS, attempts: int = ATTEMPTS) -> CheckReport:
    """Compare the symbolic gradients, the NumPy backprop and finite differences of the source.

    ``values`` maps input names to numbers or arrays; when None, seeded random values are
    drawn (redrawn up to ``attempts`` times to stay off kinks and out of domain trouble;
    then, if every draw leaves a step undefined, one input at a time from other ranges:
    probabilities, (−1, 1), above 1, above 3, negative, large, small, (½, 1)).
    The source as the user wrote it (text, function, SymPy expression, Graph) gives the finite
    differences and a forward value that must equal the graph's.
    """
    if values is not None and not isinstance(values, Mapping):
        raise TypeError(f"check(values): values must map input names to numbers or arrays, "
                        f"not {type(values).__name__}")
    engine = Engine(d)
    tol = Tolerances(eps, atol, rtol, seed, max_coords)  # refused before any work
    if isinstance(attempts, bool) or not isinstance(attempts, (int, np.integer)) \
            or attempts < 1:
        raise OptionError(f"attempts must be a whole number >= 1, not {attempts!r}")
    source = witness(d)
    given = values is not None
    best: tuple[bool, dict[str, Any], list[Array], list[Issue]] | None = None
    for attempt in range(1 if given else attempts):
        vals = dict(values) if values is not None else random_values(d, seed, attempt, engine)
        if not given and source is not None:
            vals = numpy_shaped(vals, source)
        slots = engine.bind(vals, np.float64)
        issues = engine.diagnose(list(slots))
        if not issues:
            break
        # no draw off every kink and in the domain: the first in the domain, if any
        defined = not any(s.kind == "domain" for s in issues)
        if best is None or (defined and not best[0]):
            best = (defined, vals, slots, issues)
    else:
        assert best is not None
        _, vals, slots, issues = best
        if not best[0] and not given and attempts > 1:
            vals, slots, issues = into_domain(d, engine, source, vals, issues, seed)
    if not given and attempts > 1 and magnitude(engine, slots) > LARGE:
        vals, slots, issues = moderate(d, engine, source, vals, slots, issues, seed)
    subjects = {"symbolic": _symbolic(d, vals)}
    # torch.autograd for from_torch; with no wrt there is no gradient to witness
    for name, gradients in d.analytic_witnesses() if d.wrt else ():
        subjects[name] = _other(gradients, vals)
    report = _report(engine, slots, vals, subjects, issues, tol, source)
    if not d.wrt and report.ok:  # only the forward values compared: no evidence of a
        # gradient (torch's gradcheck refuses inputs none of which requires grad); a
        # source and graph that disagree still fail
        raise OptionError("check() has nothing to compare: the derivation differentiates no "
                          "input (" + ("wrt is empty" if d.inputs else "it has no inputs: "
                                       "they cancelled, or there were none") + "); name the "
                          "inputs to differentiate with wrt=[...]")
    return report


def _other(gradients: Callable[[Mapping[str, Any]], Mapping[str, Any]],
           vals: Mapping[str, Any]) -> Mapping[str, Any] | Exception:
    try:
        with np.errstate(all="ignore"):
            return gradients(vals)
    except Exception as e:  # another framework may raise anything: the report says it
        return e


def _symbolic(d: Derivation, vals: Mapping[str, Any]) -> Mapping[str, Any] | Exception:
    try:
        with np.errstate(all="ignore"):
            return evaluate_gradients(d, vals)
    except (SymbackpropError, ValueError, TypeError, KeyError, ArithmeticError) as e:
        return e


def _source_problems(engine: Engine, source: Witness, slots: list[Array],
                     vals: Mapping[str, Any], tol: Tolerances,
                     ) -> tuple[list[str], Runner | None]:
    """The source's runner, or why the graph cannot stand for the source at this point: the
    forward values differ, the graph reads a name the source does not, or the graph lost an
    input the source depends on (an input SymPy rightly cancelled, as in x - x, may go)."""
    what = source.kind
    lost = [n for n in source.inputs if n not in engine.inputs]
    read = {a for s in engine.steps for a in s.args} | {engine.out_slot}
    extra = [n for n, i in zip(engine.inputs, engine.input_slots, strict=True)
             if n not in source.inputs and i in read]  # (wrt keeps an input nothing reads)
    if extra:
        return [f"the graph and the source disagree: the graph reads {_join(extra)}, which "
                f"{what} does not"], None
    coerced = {n: slots[i] for n, i in zip(engine.inputs, engine.input_slots, strict=True)}
    rng = np.random.default_rng([tol.seed, 7])
    for n in lost:
        if n in vals:
            coerced[n] = np.asarray(vals[n], dtype=np.float64)
            if coerced[n].ndim == 1 and source.kind != FUNCTION:
                coerced[n] = coerced[n].reshape(-1, 1)
            continue
        shape = source.shapes.get(n)
        size = tuple(int(x) for x in shape) if shape and all(
            getattr(x, "is_Integer", isinstance(x, int)) for x in shape) else ()
        coerced[n] = rng.uniform(0.3, 1.3, size) * rng.choice([-1.0, 1.0], size)
    runner = source.runner({k: v for k, v in vals.items() if k not in lost}, coerced)
    for n in engine.inputs:  # an input kept for wrt that neither reads: differenced, slope 0
        if n not in source.inputs:
            runner.arrays[n] = np.array(coerced[n], dtype=np.float64)
    try:
        with np.errstate(all="ignore"):
            want = runner.run(None)
            work = list(slots)
            got = float(np.asarray(engine.forward_from(work), dtype=float))
            # the rounding of the largest value on the way (a mask of −1e9 added to a whole
            # softmax row rounds its scores to 1e-7) is as far as the two may differ
            inner = max((float(np.max(np.abs(v[np.isfinite(v)]), initial=0.0))
                         for v in map(np.asarray, work) if v.dtype.kind == "f"), default=0.0)
    except Exception as e:  # the user's own function may raise anything: report it
        return [f"{what} could not be evaluated at this point: {type(e).__name__}: {e}"], None
    same = (want != want and got != got) or want == got or abs(want - got) <= max(
        1e-9 * max(1.0, abs(want), abs(got)), 64 * float(np.finfo(float).eps) * inner)
    if not same:
        who = "the trace and the function disagree" if what == FUNCTION else \
            "the graph and the source disagree"
        return [f"{who}: {what} gives {want!r} at this point, the graph {got!r}"], None
    problems = []
    for n in lost:
        x = runner.array(n)

        def f(n: str = n) -> float:
            with np.errstate(all="ignore"):
                return runner.run(n)

        coords = list(itertools.islice(np.ndindex(x.shape), tol.max_coords))
        slope = max((abs(central(f, x, c, tol.eps)[0]) for c in coords), default=0.0)
        runner.run(n)
        if not slope <= tol.atol:
            problems.append(f"the graph and the source disagree: the graph lost {n}, but "
                            f"{what} depends on it (a slope of {slope:.6g})")
    return problems, (None if problems else runner)


def _report(engine: Engine, slots: list[Array], vals: Mapping[str, Any],
            subjects: Mapping[str, Mapping[str, Any] | Exception], issues: Sequence[Issue],
            tol: Tolerances, source: Witness | None = None) -> CheckReport:
    eps, atol, rtol = tol.eps, tol.atol, tol.rtol
    notes = []
    # NaN anywhere, or an infinite entry of a variable differentiated in; an infinite
    # constant (a causal mask's −∞ before a softmax) is a value like any other
    wrt = set(engine.wrt)
    bad_inputs = [n for n, i in zip(engine.inputs, engine.input_slots, strict=True)
                  if np.any(np.isnan(slots[i])) or (n in wrt and not np.all(np.isfinite(
                      slots[i])))]
    witnesses = (*subjects, "engine", FD)
    if bad_inputs:
        notes.append(f"input {_join(bad_inputs)} contains NaN or inf: nothing checked")
        bad = tuple(Row(n, _shape(slots[i]), "nonfinite", float("nan"), float("nan"),
                        note=f"input {_join(bad_inputs)} is not finite")
                    for n, i in zip(engine.wrt, engine.wrt_slots, strict=True))
        return CheckReport(bad, witnesses, eps, atol, rtol, dict(vals), tuple(notes))
    runner: Runner | None = None
    if source is not None:
        failures, runner = _source_problems(engine, source, slots, vals, tol)
        if failures:
            unchecked = tuple(Row(n, _shape(slots[i]), "unavailable", float("nan"),
                                  float("nan"), note=failures[0].split(":")[0])
                              for n, i in zip(engine.wrt, engine.wrt_slots, strict=True))
            return CheckReport(unchecked, witnesses, eps, atol, rtol, dict(vals), (),
                               tuple(failures))
        notes.append(f"finite differences and the forward value are of {source.kind}")
    else:
        notes.append("finite differences are of the graph (the source is not known)")
    analytic: dict[str, Mapping[str, Any]] = {}
    unavailable: list[str] = []  # a witness that could not run fails the check, rows or not
    for w, g in subjects.items():
        if isinstance(g, Exception):
            unavailable.append(f"{w} gradients unavailable: {type(g).__name__}: {g}")
        else:
            analytic[w] = g
    analytic["engine"] = engine.gradients(vals, np.float64, exact_zeros=True)
    rows = compare(engine, slots, analytic, tol, issues, runner)
    if len(analytic) < len(subjects) + 1:
        rows = [Row(r.name, r.shape, "unavailable", r.max_abs_error, r.max_rel_error,
                    note=f"only {_join(list(analytic))} and finite differences")
                if r.ok else r for r in rows]
    witnesses = (*analytic, FD)
    return CheckReport(tuple(rows), witnesses, eps, atol, rtol, dict(vals), tuple(notes),
                       tuple(unavailable))


def _shape(a: Array) -> tuple[int, ...] | None:
    return tuple(np.shape(a)) or None


# ---------------------------------------------------------------------------------------
# gradcheck: the user's own gradient against the numbers


