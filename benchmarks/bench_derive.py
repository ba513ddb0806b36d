"""Derive per parameter (issue 22 part 4): ``derive`` of the scalarised networks (one SymPy
symbol per weight), in µs per parameter, against symengine's ``diff`` + ``cse`` of the same
loss, measured in this process (symengine in a forked child).

    python -m benchmarks.bench_derive [--sizes 4-8-2,8-16-4,32-64-10] [--repeats 9]

CPU time, SymPy's cache cleared before each run; min and median of the runs. The target:
at most 40 µs per parameter, faster than symengine from 8-16-4 on, within 2× at 4-8-2.
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
from typing import Any

import symbackprop as sbp

from . import bench_symbolic, cases
from .measure import limited, timed

DEFAULT = "4-8-2,8-16-4,32-64-10"


def per_parameter(size: tuple[int, int, int], repeats: int) -> tuple[float, float]:
    """(min, median) seconds of derive per parameter."""
    net = cases.scalar_network(*size)

    def job(net: Any = net) -> Any:
        return sbp.derive(net.loss, wrt=net.params)

    job()  # warm: imports and the rule tables
    times = [timed(job)[0] for _ in range(repeats)]
    n = cases.n_params(size)
    return min(times) / n, statistics.median(times) / n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=DEFAULT)
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--no-symengine", action="store_true")
    args = ap.parse_args(argv)
    print("network   params   derive/param min   median   symengine/param   symengine/ours")
    for text in args.sizes.split(","):
        n_in, n_hidden, n_out = (int(k) for k in text.split("-"))
        size = (n_in, n_hidden, n_out)
        lo, med = per_parameter(size, args.repeats)
        se_cell = ratio = "-"
        if importlib.util.find_spec("symengine") is not None and not args.no_symengine:
            r = limited(bench_symbolic.symengine_job, "network", size, 3, 100.0, timeout=300.0)
            if r.ok:
                per = r.value["seconds"] / cases.n_params(size)
                se_cell, ratio = f"{per * 1e6:.1f} µs", f"{per / med:.2f}"
            else:
                se_cell = r.status
        print(f"{text:<9} {cases.n_params(size):>6}   {lo * 1e6:13.1f} µs  "
              f"{med * 1e6:5.1f} µs   {se_cell:>15}   {ratio:>14}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
