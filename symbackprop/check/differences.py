"""Central finite differences, and the judgement of a gradient against them: the step
scaled to the point, a second opinion at unscaled steps, one-sided steps at a domain edge, and
a kink within the step told apart from a wrong gradient (see ``compare.py``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import numpy as np

from .engine import FD, Array

_ULP = float(np.finfo(np.float64).eps)


def fd_point(f: Callable[[], float], x: Array, idx: tuple[int, ...], eps: float,
              base: float) -> tuple[float, str]:
    """Central difference in one coordinate, step ``eps·max(1, |x_i|)`` (made exact: x + h − x
    is h); x restored after. Where a side is undefined (log or sqrt near 0) the step shrinks
    to ``eps·|x_i|``, then a second-order one-sided difference on the defined side; the
    second value says which was used ("" for the plain central difference)."""
    old = float(x[idx])
    d, _ = central(f, x, idx, eps * max(1.0, abs(old)))
    if math.isfinite(d) or not math.isfinite(base):
        return d, ""
    small = eps * abs(old)
    if 0.0 < small < eps * max(1.0, abs(old)):
        d, _ = central(f, x, idx, small)
        if math.isfinite(d):
            return d, f"step {small:.2g}"
    h = (old + (small or eps)) - old
    x[idx] = old + h
    fp = f()
    x[idx] = old - h
    fm = f()
    side = 1.0 if math.isfinite(fp) else -1.0
    x[idx] = old + 2 * side * h
    f2 = f()
    x[idx] = old
    f1 = fp if side > 0 else fm
    return side * (-3.0 * base + 4.0 * f1 - f2) / (2.0 * h), "one-sided"


def fd_direction(f: Callable[[], float], x: Array, v: Array, eps: float) -> float:
    """``(f(x + εv) − f(x − εv)) / 2ε`` with ε scaled by the size of x."""
    old = x.copy()
    h = eps * max(1.0, float(np.max(np.abs(old))))
    x[...] = old + h * v
    fp = f()
    x[...] = old - h * v
    fm = f()
    x[...] = old
    return (fp - fm) / (2.0 * h)


def steady_direction(f: Callable[[], float], x: Array, v: Array, want: float, eps: float,
                     atol: float, rtol: float) -> float:
    """The directional difference along ``v``, re-taken where the one at ``eps`` misses
    ``want`` (an analytic witness's vᵀ∇f): where the output's size drowns a small step's
    difference (``sum(sin(w)) + 1e8``), Richardson's extrapolation of steps h, h/2 and h/4,
    h from 1e-4 to 0.3 of the entries' size, taken where two extrapolations agree at one h
    and with the previous h's (as ``drowned`` for one coordinate). The plain difference
    where none is steady."""
    first = fd_direction(f, x, v, eps)
    if abs(first - want) <= atol + rtol * abs(want):
        return first
    last: float | None = None  # the previous scale's estimate, when it was steady
    for scale in (1e-4, 1e-3, 1e-2, 1e-1, 0.3):
        d1, d2, d4 = (fd_direction(f, x, v, scale / k)  # fd_direction scales by |x|
                      for k in (1, 2, 4))
        if not all(math.isfinite(d) for d in (d1, d2, d4)):
            break
        r1, r2 = (4.0 * d2 - d1) / 3.0, (4.0 * d4 - d2) / 3.0
        half = 0.5 * (atol + rtol * abs(r2))
        steady = abs(r1 - r2) <= half
        if steady and last is not None and abs(last - r2) <= half:
            return r2
        last = r2 if steady else None
    return first


def close(a: Array, b: Array, atol: float, rtol: float) -> bool:
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(a - b) <= atol + rtol * np.abs(b)))


def errors_of(a: Array, b: Array) -> tuple[float, float]:
    with np.errstate(all="ignore"):
        d = np.abs(np.asarray(a, float) - np.asarray(b, float))
        if d.size == 0:
            return 0.0, 0.0
        scale = np.maximum(np.abs(a), np.abs(b))
        rel = np.where(d == 0, 0.0, d / np.where(scale == 0, 1.0, scale))
        return float(np.max(d)), float(np.max(rel))


ROUNDING = 64 * float(np.finfo(float).eps)  # ~1.4e-14: an analytic gradient's own rounding


def judge(f: Callable[[], float], x: Array, coords: list[tuple[int, ...]],
           series: Mapping[str, Array], eps: float, atol: float, rtol: float,
           notes: list[str], straddled: list[str] | None = None,
           precision: Mapping[str, float] | None = None,
           wrong: dict[str, list[int]] | None = None, at_kink: bool = False,
           unresolved: set[int] | None = None) -> dict[str, Array]:
    """Per analytic witness and coordinate: does it agree with finite differences?

    ``|a − fd| ≤ atol + rtol·|fd|``, and two refinements that take a second opinion (central
    differences at the unscaled steps eps and 10·eps): an entry that passes only thanks to
    ``atol`` must also agree relatively when the second opinion is steady (two steps agree),
    so a zero gradient for e^x at x = −20 fails (up to the rounding of the witness's own
    dtype, ``precision``: float32 code is as exact as float32); an entry that fails is
    accepted when the steady second opinion agrees (the scaled step was too coarse: sin(x)
    at x = 1e5). Where a kink lies within the step but not at the point (``at_kink``: the
    engine found none there), finite differences straddle it and an agreement with them
    proves nothing: each witness must be one of the two slopes (at the kink itself, a tie's
    split is a convention, and the row says the point is not differentiable).
    ``wrong`` gets, per witness, the coordinates where it is plainly wrong: it disagrees
    with finite differences that another witness agrees with, and no kink is near;
    ``unresolved`` the coordinates whose differences are rounding at every step tried.
    """
    precision = precision or {}
    fd = series[FD]
    second: dict[int, tuple[float, float, float]] = {}

    used: dict[int, float] = {}  # the step of each second opinion
    blind: set[int] = set()  # coordinates where small steps see no change that wide ones see

    def opinion(k: int) -> tuple[float, float, float]:
        if k not in second:
            # the steps eps and 10 eps; for an entry below 1 in size, also eps·|x| and
            # 10 eps·|x| (log x at x = 1e-5: a step of 1e-6 is a tenth of x, 1e-5 reaches 0);
            # then eps/10 and eps/100 (sin(1e4·x): a step of 1e-6 bends 1.7e-5 off).
            # The first steady pair whose rounding is below its size wins; else the first
            # steady pair (rounding may cover it: an atol-sized entry of a flat f)
            size = abs(float(x[coords[k]]))
            steps = (eps, eps * size) if 0.0 < size < 1.0 else (eps,)
            for h in (*steps, eps / 10, eps / 100):
                if exact_step(float(x[coords[k]]), h) > 2 * h:  # below the spacing of
                    # floats at x (1e15: a step of 1e-6 is 0.125, and 10 eps too): no pair
                    if h in steps:
                        continue
                    break
                d1, n1 = central(f, x, coords[k], h)
                d2, _ = central(f, x, coords[k], 10 * h)
                top = max(abs(d1), abs(d2))
                steady = math.isfinite(d1) and math.isfinite(d2) and \
                    abs(d1 - d2) <= 0.1 * rtol * top + n1 and not _blind(d1, d2, k)
                clean = steady and n1 <= 0.1 * rtol * top
                if h not in steps and not clean:
                    continue  # a smaller step only where it settles cleanly
                if k not in second or (steady and second[k][2] != second[k][2]) or clean:
                    second[k] = (d1, n1, abs(d1 - d2) + n1) if steady else (d1, n1, math.nan)
                    used[k] = h
                if clean:
                    break
            if k not in second:  # no step is small enough at x: no second opinion
                second[k], used[k] = (math.nan, 0.0, math.nan), eps
        return second[k]

    def _blind(d1: float, d2: float, k: int) -> bool:
        """Both differences exactly 0 where a wider step sees the function change on both
        sides: rounding inside it hides the change (log(eˣ + 1) at x = −28: 1 + eˣ is 1 a
        step away), which is no evidence of a zero slope. (Flat on one side is a kink within
        the wider step: relu at −1e-9 is flat.)"""
        if d1 != 0.0 or d2 != 0.0:
            return False
        left, right = one_sided(f, x, coords[k], 1e-3 * max(1.0, abs(float(x[coords[k]]))))
        if left != 0.0 and right != 0.0:
            blind.add(k)
            return True
        return False

    out: dict[str, Array] = {}
    neither: dict[int, list[tuple[str, tuple[float, float]]]] = {}  # witnesses at a kink
    # within the step that are neither of its slopes
    bends: dict[int, str] = {}  # coordinates where the failing witnesses are a one-sided slope
    plain: set[int] = set()
    for w, a in series.items():
        if w == FD:
            continue
        ok = np.zeros(len(coords), dtype=bool)
        for k in range(len(coords)):
            ak, dk = float(a[k]), float(fd[k])
            diff = abs(ak - dk)
            if diff <= rtol * abs(dk):
                ok[k] = True
                continue
            d1, _, spread = opinion(k)
            if diff <= atol + rtol * abs(dk):  # only atol says yes
                # (a witness and a slope both at the rounding of sums of order 1: a mean of
                # entries that cancel to 0, 1.9e-17 beside 2.5e-17, or f exactly flat and a
                # witness a few ulps off 0, as 0.6666666666666666 − 0.5 − 0.1666…: no slope)
                own = 64 * precision.get(w, _ULP) * max(1.0, abs(ak), abs(d1))
                ok[k] = spread != spread or abs(ak - d1) <= rtol * abs(d1) + spread + (
                    own if own > ROUNDING else 0.0) or (
                    abs(d1) <= ROUNDING and abs(ak) <= ROUNDING)
                if not ok[k] and straddled is not None and (kink := kink_within_step(
                        f, x, coords[k], eps, ak, second[k][1], rtol)):
                    bends.setdefault(k, kink)  # its slopes are below atol (w·|x| at 9e-9)
                elif not ok[k]:
                    notes.append(f"{w} at [{index_text(coords[k])}] is within atol but "
                                 f"{abs(ak - d1) / max(abs(d1), abs(ak)):.2g} off in "
                                 f"relative terms (finite differences {d1:.6g})")
            elif spread == spread and abs(ak - d1) <= atol + rtol * abs(d1):
                ok[k] = True
                fd[k] = d1  # the estimate the errors are measured against
                notes.append(f"finite differences re-taken at [{index_text(coords[k])}] with "
                             f"step {used[k]:.2g} (the step scaled by |x| was too coarse)")
            elif (second[k][1] > 0.1 * (atol + rtol * abs(ak)) or spread != spread) and (
                    wide := drowned(f, x, coords[k], atol, rtol)) is not None and \
                    abs(ak - wide[0]) <= atol + rtol * abs(wide[0]):
                ok[k] = True
                fd[k] = wide[0]  # the estimate the errors are measured against
                notes.append(f"finite differences re-taken at [{index_text(coords[k])}] with "
                             f"steps {wide[1]:.2g}, a half and a quarter of it, extrapolated "
                             "(rounding drowns a small step's difference)")
            elif second[k][1] > atol + rtol * abs(ak) and wide is None:
                if unresolved is not None:
                    unresolved.add(k)
                notes.append(f"finite differences cannot resolve [{index_text(coords[k])}]: "
                             f"the output's rounding (±{second[k][1]:.2g} at a step of "
                             f"{used[k]:.2g}) is above the tolerance at every step up to the "
                             "entry's size")
            elif straddled is not None and (
                    slopes := kink_slopes(f, x, coords[k], eps, atol, rtol)) is not None:
                if _one_of(ak, slopes, atol, rtol):
                    bends.setdefault(k, _within_step(coords[k], slopes))
                else:  # neither slope: wrong when another witness is a slope (below)
                    plain.add(k)
                    if not at_kink:  # (at the point, the slopes' interval judges below)
                        neither.setdefault(k, []).append((w, slopes))
            elif spread != spread and (wide is None or k in blind or abs(wide[0]) <= atol):
                # no step settles, nor extrapolates ((1e12 + x) − 1e12), or small steps see
                # no change, or wide ones average it to 0 (cos of 3e15 + b): no opinion
                if unresolved is not None:
                    unresolved.add(k)
                notes.append(f"finite differences do not settle at [{index_text(coords[k])}]"
                             + (": the function does not change at steps up to "
                                f"{10 * eps:.2g} (rounding inside it), and wider steps do not "
                                "resolve its slope" if k in blind else
                                f": no two steps from {eps / 100:.2g} to 1 agree"))
            elif straddled is not None:
                plain.add(k)  # this witness is not one of the slopes: a mismatch
        out[w] = ok
    for k, ws in neither.items():  # another witness is a slope or agrees: these are wrong
        # (every witness neither slope is a pole or rounding taken for a kink: no blame)
        if any(v not in {w for w, _ in ws} for v in out):
            for w, (left, right) in ws:
                notes.append(f"{w} at [{index_text(coords[k])}] is {float(series[w][k]):.6g}, "
                             "neither slope of a kink within the finite-difference step "
                             f"({left:.6g} on the left, {right:.6g} on the right)")
                if wrong is not None:
                    wrong.setdefault(w, []).append(k)
    for k in () if at_kink else bends:  # finite differences straddle a kink near the
        # point: agreeing with them proves nothing
        for w, ok in out.items():
            if ok[k] and not kink_within_step(f, x, coords[k], eps, float(series[w][k]), atol,
                                              rtol):
                ok[k] = False
                plain.add(k)
                notes.append(f"{w} at [{index_text(coords[k])}] is {float(series[w][k]):.6g}, "
                             "neither slope of a kink within the finite-difference step")
                if wrong is not None:
                    wrong.setdefault(w, []).append(k)
    for k in range(len(coords)) if at_kink else ():  # a kink at the point: each witness
        # must lie between its one-sided slopes
        for w, ok in out.items():
            if not ok[k] and (why := outside_slopes(f, x, coords[k], eps, float(series[w][k]),
                                                    atol, rtol)):
                plain.add(k)
                notes.append(f"{w} is {why}")
                if wrong is not None:
                    wrong.setdefault(w, []).append(k)
    if wrong is not None:
        for w, ok in out.items():
            wrong.setdefault(w, []).extend(  # (a NaN is undefined, not wrong: a 0/0
                k for k in range(len(coords)) if not ok[k] and k not in bends and  # formula)
                math.isfinite(float(series[w][k])) and any(v != w and out[v][k] for v in out)
                and not (at_kink and k not in wrong[w] and between_slopes(
                    f, x, coords[k], eps, float(series[w][k]), atol, rtol)))
            # (at a kink at the point a witness between the one-sided slopes is a
            # subgradient or a tie's convention, whoever agrees with the slopes' mean)
    if straddled is not None:
        straddled.extend(m for k, m in sorted(bends.items()) if k not in plain)
    return out


def drowned(f: Callable[[], float], x: Array, idx: tuple[int, ...], atol: float,
            rtol: float) -> tuple[float, float] | None:
    """Where the output is so large that a small step's difference drowns in its rounding
    (``sum(exp(x))`` at x₀ = 25 and ∂/∂x₁, ``1e9·s + sin(t)`` and ∂/∂t): Richardson's
    extrapolation of central differences at steps h, h/2 and h/4, the first h from 1e-4 to
    1, then (for |x| > 1) from 1e-4·|x| to |x|, at which rounding, and the two
    extrapolations' disagreement, are below half the tolerance, and the estimate agrees with
    the previous h's: one h can agree with itself by chance, its rounding alike at h, h/2
    and h/4 (a softmax row masked by −1e9 at h = 1e-4). Small steps first: steps scaled by
    |x| = 1e10 average sin(x) away (x·y + sin(x): 1.0 where the slope is 1 + cos x). Steps
    at which f does not change at all are no estimate unless no step changes it (flat f).
    (estimate, h), or None when no two steps in a row are steady."""
    size = max(1.0, abs(float(x[idx])))
    scales = (1e-4, 1e-3, 1e-2, 1e-1, 0.3, 1.0)
    last: float | None = None  # the previous step's estimate, when it was steady
    flat: float | None = None  # the widest step at which f did not change at all
    for h in dict.fromkeys((*scales, *(s * size for s in scales))):
        if exact_step(float(x[idx]), h / 4) > h / 2:  # the steps round to one (x = 1e15)
            continue
        (d1, _), (d2, _), (d4, n4) = (central(f, x, idx, h / k) for k in (1, 2, 4))
        if not all(math.isfinite(d) for d in (d1, d2, d4)):
            return None
        r1, r2 = (4.0 * d2 - d1) / 3.0, (4.0 * d4 - d2) / 3.0
        half = 0.5 * (atol + rtol * abs(r2))
        if d1 == d2 == d4 == 0.0:  # no change at all: flat, or the change lost in rounding
            # inside f (cos of 1e15 + b), which a wider step that sees it tells
            if 5.0 / 3.0 * n4 / 64.0 <= half:
                flat = h
            last = None
            continue
        flat = math.nan
        # central's bound counts 64 ulps of the output; one evaluation's own is about one
        steady = 5.0 / 3.0 * n4 / 64.0 <= half and abs(r1 - r2) <= half
        if steady and last is not None and abs(last - r2) <= half:
            return r2, h
        last = r2 if steady else None
    return (0.0, flat) if flat is not None and flat == flat else None


def kink_within_step(f: Callable[[], float], x: Array, idx: tuple[int, ...], eps: float,
                      analytic: float, atol: float, rtol: float) -> str:
    """Where central differences disagree: if the slopes left and right of the point differ
    (the function bends within a step: ``relu(x)`` at 1e-9) and the gradient is one of them,
    a sentence saying so; else "" (a plain mismatch)."""
    found = kink_slopes(f, x, idx, eps, atol, rtol)
    if found is None:
        return ""
    return _within_step(idx, found) if _one_of(analytic, found, atol, rtol) else ""


def _within_step(idx: tuple[int, ...], slopes: tuple[float, float]) -> str:
    return (f"a kink within the finite-difference step at [{index_text(idx)}] (slopes "
            f"{slopes[0]:.6g} on the left, {slopes[1]:.6g} on the right; the gradient is one "
            "of them)")


def kink_slopes(f: Callable[[], float], x: Array, idx: tuple[int, ...], eps: float,
                atol: float, rtol: float) -> tuple[float, float] | None:
    """The one-sided slopes (left, right) at the point when they differ beyond the tolerance
    and stay when the step grows fourfold (a kink's do; rounding's, x offset by 1e6, shrink),
    else None."""
    if exact_step(float(x[idx]), eps) > 2 * eps:  # the step rounds up (x = 1e12: to 1e4,
        return None  # across a pole 1e-3 away): its slopes say nothing of a kink
    left, right = one_sided(f, x, idx, eps)
    tol = atol + rtol * max(abs(left), abs(right))
    if not (math.isfinite(left) and math.isfinite(right)) or abs(right - left) <= tol:
        return None
    left4, right4 = one_sided(f, x, idx, 4 * eps)
    gap = abs(right - left)
    if not (abs(left4 - left) <= 0.5 * gap and abs(right4 - right) <= 0.5 * gap):
        return None
    return left, right


def one_sided(f: Callable[[], float], x: Array, idx: tuple[int, ...], step: float
              ) -> tuple[float, float]:
    """The slopes (left, right) of one-sided differences with an exact step."""
    old = float(x[idx])
    h = exact_step(old, step)
    with np.errstate(all="ignore"):
        base = f()
        x[idx] = old + h
        up = f()
        x[idx] = old - h
        down = f()
        x[idx] = old
        f()
    return (base - down) / h, (up - base) / h


def _one_of(v: float, slopes: tuple[float, float], atol: float, rtol: float) -> bool:
    return min(abs(v - slopes[0]), abs(v - slopes[1])) <= atol + rtol * abs(v)


def _between(v: float, slopes: tuple[float, float], atol: float, rtol: float) -> bool:
    lo, hi = sorted(slopes)
    return lo - (atol + rtol * abs(lo)) <= v <= hi + atol + rtol * abs(hi)


def between_slopes(f: Callable[[], float], x: Array, idx: tuple[int, ...], eps: float,
                   analytic: float, atol: float, rtol: float) -> bool:
    """Whether a kink is at the point in this coordinate and the gradient lies between its
    one-sided slopes (a subgradient, or a tie's convention)."""
    found = kink_slopes(f, x, idx, eps, atol, rtol)
    return found is not None and _between(analytic, found, atol, rtol)


def outside_slopes(f: Callable[[], float], x: Array, idx: tuple[int, ...], eps: float,
                   analytic: float, atol: float, rtol: float) -> str:
    """At a kink at the point itself: a sentence when the gradient lies outside the interval
    of the one-sided slopes, which holds every subgradient and every tie convention (a
    ``where`` kink's −3 where the slopes are 0.1 and 1), else ""."""
    found = kink_slopes(f, x, idx, eps, atol, rtol)
    if found is None or not math.isfinite(analytic) or _between(analytic, found, atol, rtol):
        return ""
    return (f"{analytic:.6g} at [{index_text(idx)}], outside the slopes {found[0]:.6g} on the "
            f"left and {found[1]:.6g} on the right: neither slope of the kink, nor between")


def exact_step(old: float, step: float) -> float:
    """A step that moves ``old`` exactly (``old + h − old == h``); where ``step`` is below the
    spacing of floats at ``old`` (x = 1e300), a step of 1e-8 relative to it instead of 0."""
    h = (old + step) - old
    if h == 0.0 and math.isfinite(old) and old != 0.0:
        h = (old + abs(old) * 1e-8) - old
    return h if h != 0.0 else step


def central(f: Callable[[], float], x: Array, idx: tuple[int, ...], step: float,
             ) -> tuple[float, float]:
    """A central difference with an exact step; and its round-off bound."""
    old = float(x[idx])
    h = exact_step(old, step)
    x[idx] = old + h
    fp = f()
    x[idx] = old - h
    fm = f()
    x[idx] = old
    return (fp - fm) / (2.0 * h), 64 * _ULP * (abs(fp) + abs(fm)) / (2.0 * h)



def index_text(c: tuple[int, ...]) -> str:
    return ", ".join(str(int(i)) for i in c) if c else "·"
