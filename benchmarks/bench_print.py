"""Printing against deriving (issue 22 part 2): ``d.latex()`` of the scalarised networks
(one SymPy symbol per weight), 4-8-2 to 32-64-10, as a ratio of the same network's
``derive`` measured in the same process (target: at most 3×, and monotone in size).

    python -m benchmarks.bench_print [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from sympy.core.cache import clear_cache

import symbackprop as sbp

from . import cases

SIZES = ((4, 8, 2), (8, 16, 4), (16, 32, 8), (32, 64, 10))


def _median(job: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        clear_cache()
        t = time.perf_counter()
        out = job()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print("network    derive (ms)  latex (ms)  latex/derive  characters")
    for size in SIZES:
        net = cases.scalar_network(*size)
        def derive(net: Any = net) -> Any:
            return sbp.derive(net.loss, wrt=net.params)
        derive_s, _ = _median(derive, args.repeats)
        d = sbp.derive(net.loss, wrt=net.params)

        def fresh(d: Any = d) -> str:  # a new derivation's printing, nothing cached
            return str(sbp.derive(d.source, wrt=list(d.wrt)).latex())
        both_s, tex = _median(fresh, args.repeats)
        latex_s = max(both_s - derive_s, 0.0)
        print(f"{cases.label(size):<10} {derive_s * 1e3:11.1f} {latex_s * 1e3:11.1f} "
              f"{latex_s / derive_s:13.1f}  {len(tex):,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
