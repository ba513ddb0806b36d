"""Linear growth: ``derive`` time per graph node from 100 to 100,000 nodes.

    python -m benchmarks.bench_scaling [--quick]

Three families, each built without evaluation and without recursion (see ``cases``): the sin
chain, the sharing DAG as one SymPy expression (its shared subtrees shared objects), and the
scalarised network. The figure per size is the time per forward equation; the ratio is
against the family's smallest size, measured in the same process (flat within 2× is the
target).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import symbackprop as sbp

from . import cases
from .measure import median_time
from .records import Point
from .report import scaling_table

CHAIN = (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)
DAG = (33, 100, 333, 1_000, 3_333, 10_000, 33_333)  # 3 nodes a stage: 100 … 100,000 nodes
NETWORK = ((2, 8, 4), (4, 16, 4), (8, 32, 8), (16, 64, 8), (32, 128, 16), (64, 256, 16))


def _source(family: str, arg: Any) -> tuple[Any, Any]:
    if family == "chain":
        return cases.sin_chain(arg)
    if family == "dag":
        return cases.dag_expr(arg)
    net = cases.scalar_network(*arg)
    return net.loss, net.params


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Point]:
    plan: list[tuple[str, Any, str]] = []
    chain, dag, network = (CHAIN[:4], DAG[:4], NETWORK[:4]) if quick else (CHAIN, DAG, NETWORK)
    plan += [("chain", n, f"depth {n:,}") for n in chain]
    plan += [("dag", n, f"{n:,} stages") for n in dag]
    plan += [("network", s, cases.label(s)) for s in network]
    for family, arg in (("chain", 20), ("dag", 10), ("network", (2, 3, 1))):  # warm up
        sbp.derive(*_source(family, arg))
    points = []
    for family, arg, size in plan:
        t0 = time.perf_counter()
        seconds, n, d = median_time(partial(sbp.derive, *_source(family, arg)),
                                    repeats=3, budget=20.0)
        p = Point(family, size, len(d.forward), seconds, n)
        points.append(p)
        log(f"  {family} {size}: {p.nodes:,} nodes, {seconds:.2f} s, "
            f"{p.per_node * 1e6:.0f} µs/node  [{time.perf_counter() - t0:.0f} s]")
    return points


def spread(points: list[Point], family: str) -> float:
    """Largest over smallest time per node within a family."""
    per = [p.per_node for p in points if p.family == family]
    return max(per) / min(per) if per else float("nan")


def main(argv: list[str] | None = None) -> list[Point]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    pts = run(args.quick)
    print(scaling_table(pts))
    return pts


if __name__ == "__main__":
    main()
