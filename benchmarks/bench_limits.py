"""Time and memory of the resource limits: every hostile-size input answered, how fast.

    python -m benchmarks.bench_limits            # a table: case, answer, seconds, peak MB

Timings live here, not in the tests (tests/test_limits.py asserts the errors and a memory
bound only). Each case runs once, after one warm-up derivation.
"""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import sympy as sp

import symbackprop as sbp

BIG = sbp.Limits(max_length=10**7, max_nodes=10**7, max_depth=10**6)


def _chain(n: int) -> sbp.Derivation:
    g = sbp.Graph()
    prev = "x"
    for i in range(n):
        g = g.let(f"s{i}", f"tanh({prev}) * w")
        prev = f"s{i}"
    d = sbp.derive(g, wrt="x")
    d.latex()
    d.evaluate({"x": 0.3, "w": 0.9})
    return d


def _nested_sin(n: int) -> sbp.Derivation:
    e = sp.Symbol("x")
    for _ in range(n):
        e = sp.sin(e, evaluate=False)
    d = sbp.derive(e)
    d.latex()
    d.evaluate({"x": 0.3})
    return d


def _sum(n: int) -> sbp.Derivation:
    xs = sp.symbols(f"x0:{n}")
    d = sbp.derive(sp.Add(*[v**2 for v in xs]))
    d.latex()
    d.evaluate({str(v): 0.1 for v in xs})
    return d


CASES: dict[str, Callable[[], Any]] = {
    "9**9**9": lambda: sbp.parse("9**9**9"),
    "((9**9)**9999)**9999": lambda: sbp.parse("((9**9)**9999)**9999"),
    "hex literal, 80,000 bits": lambda: sbp.parse("0x" + "f" * 20_000),
    "10 MB string": lambda: sbp.parse("x+" * 5_000_000 + "x"),
    "nesting depth 100,000": lambda: sbp.parse("(" * 100_000 + "x" + ")" * 100_000),
    "10,000-term sum (text)": lambda: sbp.parse(" + ".join(f"x{i}" for i in range(10_000))),
    "integer of 5,000 digits": lambda: sbp.parse("1" + "0" * 5_000),
    "exponent 10**20": lambda: sbp.parse("x**100000000000000000000"),
    "exp(exp(1e300))": lambda: sbp.parse("exp(exp(1e300))"),
    "t = t*t + x*t, 500 stages": lambda: sbp.parse(
        "t0=x\n" + "".join(f"t{i}=t{i-1}*t{i-1}+x*t{i-1}\n" for i in range(1, 500)) + "t499"),
    "10 MB, limits raised": lambda: sbp.parse("x+" * 5_000_000 + "x",
                                              limits=sbp.Limits(max_length=10**8)),
    "depth 100,000, limits raised": lambda: sbp.parse("-" * 100_000 + "x", limits=BIG),
    "10,000-stage let chain: derive+latex+evaluate": lambda: _chain(10_000),
    "300-deep sin: derive+latex+evaluate": lambda: _nested_sin(300),
    "10,000-term sum (SymPy): derive+latex+evaluate": lambda: _sum(10_000),
}


def measure(f: Callable[[], Any]) -> tuple[str, float, float]:
    """(answer, seconds, peak MB): timed plainly, memory in a second run under tracemalloc
    (which slows SymPy down several times) when the first took under 5 s."""
    t0 = time.perf_counter()
    try:
        f()
        answer = "result"
    except sbp.SymbackpropError as e:
        answer = f"{type(e).__name__}: {str(e)[:60]}"
    seconds = time.perf_counter() - t0
    peak = float("nan")
    if seconds < 5:
        tracemalloc.start()
        with contextlib.suppress(sbp.SymbackpropError):
            f()
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return answer, seconds, peak


def main() -> None:
    sbp.derive("sigmoid(x*w + b)").latex()  # warm-up: imports, SymPy caches
    print(f"{'case':48s} {'seconds':>8s} {'peak MB':>8s}  answer")
    for name, f in CASES.items():
        answer, seconds, peak = measure(f)
        print(f"{name:48s} {seconds:8.3f} {peak:8.1f}  {answer}", flush=True)


if __name__ == "__main__":
    main()
