"""Timing, operation counts and time-limited child processes for the benchmarks.

* ``median_time``: the median of several runs, SymPy's cache cleared before each one (a warm
  cache would time dictionary look-ups, not derivations), garbage collected outside the clock (and
  frozen after, so that the collection does not leave the CPU caches cold).
* ``interleaved``: the median time per call of jobs that take turns, in blocks of calls
  (the numeric benchmarks' ratios to hand-written NumPy).
* ``ops``: the operations of one expression written out as a tree. It counts what a
  tree-walking ``count_ops`` would, but walks each *distinct* node once (memoised on the
  node), so it is linear in the DAG even when the tree it measures is exponential.
* ``limited``: run a function in a forked child with a wall-clock limit, so a baseline that
  does not finish (or dies of a RecursionError) never hangs or kills the benchmark.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import statistics
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy.core.cache import clear_cache

from symbackprop.canonical import is_leaf

# CPU time of this process: the symbolic work is single-threaded Python, and on a shared
# machine wall-clock time also counts the other processes' turns
CLOCK = time.process_time


def timed(fn: Callable[[], Any], *, fresh: bool = True) -> tuple[float, Any]:
    """One run of ``fn``: (seconds, result); SymPy's cache cleared first when ``fresh``."""
    if fresh:
        clear_cache()
    gc.collect()
    # what survived is frozen: the next collection walks only the objects made since, not
    # SymPy's whole heap, whose walk evicted the CPU caches and added ~0.25 ms to every run
    # after it (a cost of the harness: 4 µs a parameter of the 4-8-2 network's derive)
    gc.freeze()
    t0 = CLOCK()
    out = fn()
    return CLOCK() - t0, out


def median_time(fn: Callable[[], Any], repeats: int = 5, budget: float = 30.0,
                fresh: bool = True) -> tuple[float, int, Any]:
    """Median seconds of up to ``repeats`` runs (fewer when one run eats the budget)."""
    times: list[float] = []
    out: Any = None
    for _ in range(max(1, repeats)):
        t, out = timed(fn, fresh=fresh)
        times.append(t)
        if sum(times) + t > budget:
            break
    return statistics.median(times), len(times), out


def per_call(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call of ``fn``, over ``number`` calls in a row (wall clock)."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def interleaved(jobs: dict[str, Callable[[], Any]], repeats: int,
                block: float = 0.005) -> dict[str, float]:
    """Each job's median seconds per call over ``repeats`` rounds, the jobs taking turns in
    every round (drift on a shared machine hits all alike), each turn a block of calls
    lasting about ``block`` seconds (one call of tens of µs is timer noise and cold caches)."""
    def number(fn: Callable[[], Any]) -> int:
        if per_call(fn, 1) >= block:  # a slow job: one call a turn, no more calibration
            return 1
        return max(1, int(block / max(per_call(fn, 3), 1e-9)))

    numbers = {k: number(fn) for k, fn in jobs.items()}
    times: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(max(1, repeats)):
        for k, fn in jobs.items():
            times[k].append(per_call(fn, numbers[k]))
    return {k: statistics.median(ts) for k, ts in times.items()}


def own_ops(e: sp.Basic) -> int:
    """Operations of one node: n-ary sums and products n − 1, anything else applied 1."""
    if isinstance(e, (sp.Add, sp.Mul, sp.MatAdd, sp.MatMul, sp.HadamardProduct)):
        return len(e.args) - 1
    return 1


def ops(expr: sp.Basic, memo: dict[int, int] | None = None) -> int:
    """Operations of ``expr`` as a tree; shared subtrees count every time they occur."""
    memo = {} if memo is None else memo
    keep = [expr]
    stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if id(e) in memo:
            continue
        if not isinstance(e, sp.Basic) or is_leaf(e) or not e.args:
            memo[id(e)] = 0
            keep.append(e)
            continue
        if not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if id(a) not in memo)
            continue
        memo[id(e)] = own_ops(e) + sum(memo[id(a)] for a in e.args)
        keep.append(e)
    return memo[id(expr)]


def ops_of_equations(rhss: Iterable[sp.Basic]) -> int:
    """Operations of a list of shallow right-hand sides (named intermediates count 0)."""
    return sum(ops(r) for r in rhss)


@dataclass
class Limited:
    """What a time-limited child returned: ``status`` is ok, timeout or the error's name."""

    status: str
    value: Any = None
    seconds: float = float("nan")

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _child(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as e:  # everything goes back to the parent
        conn.send((type(e).__name__, traceback.format_exc(limit=3)[-400:]))
    finally:
        conn.close()


def limited(fn: Callable[..., Any], *args: Any, timeout: float = 60.0) -> Limited:
    """``fn(*args)`` in a forked child, killed after ``timeout`` seconds."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    t0 = time.perf_counter()
    p.start()
    child.close()
    status, value = "timeout", None
    if parent.poll(timeout):
        try:
            status, value = parent.recv()
        except EOFError:
            status = "crashed"
    elapsed = time.perf_counter() - t0
    p.join(5.0 if status != "timeout" else 0.0)  # let a child that answered exit by itself
    if p.is_alive():
        p.kill()
    p.join()
    if status == "timeout" and p.exitcode not in (0, None, -9):
        status = "crashed"  # died (a C-level stack overflow, say) before answering
    return Limited(status, value, elapsed)


def fmt_time(s: float) -> str:
    if s != s:  # NaN
        return "–"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_ratio(r: float, digits: int = 2) -> str:
    if r != r:
        return "–"
    if r >= 100:
        return f"{r:,.0f}×"
    return f"{r:.{digits}f}×"
