"""Emission: LaTeX, Markdown and JSON of derivations from ~100 to ~10,000 equations.

    python -m benchmarks.bench_emit [--quick]

The time per equation (forward + backward) for each emitter, and its ratio against the
family's smallest size measured in the same process (flat within 2× is the target: no
quadratic string building, no repeated printing). Markdown is measured when
``symbackprop/emit/markdown.py`` is there.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import time
from collections.abc import Callable
from typing import Any

from sympy.core.cache import clear_cache

import symbackprop as sbp

from . import cases
from .records import Emission
from .report import emission_table

CHAIN = (50, 500, 5_000)  # about 100, 1,000 and 10,000 equations
# from 8-16-4 up: smaller networks also print every gradient written out in the inputs
# (SymPy trees, about 5x the printing cost per character), a different content
NETWORK = ((8, 16, 4), (16, 32, 4), (32, 64, 8))


def emitters() -> dict[str, str]:
    out = {"latex": "latex"}
    if importlib.util.find_spec("symbackprop.emit.markdown") is not None:
        out["markdown"] = "markdown"
    if importlib.util.find_spec("symbackprop.emit.json") is not None:
        out["json"] = "to_json"
    return out


def time_emit(source: Any, wrt: Any, method: str) -> tuple[float, int, int]:
    """Seconds of one emission of a fresh derivation (emitters may cache on it), equations,
    characters."""
    clear_cache()
    d = sbp.derive(source, wrt=wrt)
    gc.collect()
    t0 = time.process_time()  # CPU time: the machine is shared
    text = getattr(d, method)()
    return time.process_time() - t0, len(d.forward) + len(d.backward), len(text)


def run(quick: bool = False, log: Callable[[str], None] = print) -> list[Emission]:
    plan: list[tuple[str, Any, str]] = []
    chain, network = (CHAIN[:2], NETWORK[:2]) if quick else (CHAIN, NETWORK)
    plan += [("chain", n, f"depth {n:,}") for n in chain]
    plan += [("network", s, cases.label(s)) for s in network]
    out = []
    for family, arg, size in plan:
        t0 = time.perf_counter()
        if family == "chain":
            source, wrt = cases.sin_chain(arg)
        else:
            net = cases.scalar_network(*arg)
            source, wrt = net.loss, net.params
        secs: dict[str, float] = {}
        chars: dict[str, int] = {}
        neq = 0
        for fmt, method in emitters().items():
            runs: list[float] = []
            for _ in range(3):
                t, neq, chars[fmt] = time_emit(source, wrt, method)
                runs.append(t)
                if sum(runs) > 30:
                    break
            secs[fmt] = statistics.median(runs)
        e = Emission(family, size, neq, secs, chars)
        out.append(e)
        log(f"  {family} {size}: {neq:,} equations, "
            + ", ".join(f"{k} {v * 1e6 / neq:.0f} µs/eq" for k, v in secs.items())
            + f"  [{time.perf_counter() - t0:.0f} s]")
    return out


def main(argv: list[str] | None = None) -> list[Emission]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    res = run(args.quick)
    print(emission_table(res))
    return res


if __name__ == "__main__":
    main()
