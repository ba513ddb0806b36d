"""Printing against deriving (issue 22 part 2): ``d.latex()`` of the scalarised networks
(one SymPy symbol per weight), 4-8-2 to 32-64-10, as a ratio of the same network's
``derive`` measured in the same process (target: at most 3×, and monotone in size).

    python -m benchmarks.bench_print [--repeats 5]

Printing caches per derivation, so each ``latex()`` is timed on a derivation of its own:
``derive`` + ``latex()`` of a fresh one, less the median ``derive``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import symbackprop as sbp

from . import cases
from .measure import median_time
from .records import PrintCost
from .report import print_table

SIZES = ((4, 8, 2), (8, 16, 4), (16, 32, 8), (32, 64, 10))


def run(repeats: int = 5, log: Callable[[str], None] = print) -> list[PrintCost]:
    out: list[PrintCost] = []
    for size in SIZES:
        net = cases.scalar_network(*size)

        def derive(net: Any = net) -> Any:
            return sbp.derive(net.loss, wrt=net.params)

        def both(net: Any = net) -> str:  # a new derivation's printing, nothing cached
            return str(derive(net).latex())

        derive(net)  # warm: the first call pays for imports and the rule tables
        derive_s, n, _ = median_time(derive, repeats)
        both_s, _, tex = median_time(both, repeats)
        c = PrintCost(cases.label(size), cases.n_params(size), derive_s,
                      max(both_s - derive_s, 0.0), len(tex), n)
        out.append(c)
        log(f"  {c.size}: derive {derive_s * 1e3:.1f} ms, latex {c.latex * 1e3:.1f} ms "
            f"({c.ratio:.2f}x), {c.chars:,} characters")
    return out


def main(argv: list[str] | None = None) -> list[PrintCost]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    res = run(args.repeats)
    print(print_table(res))
    return res


if __name__ == "__main__":
    main()
