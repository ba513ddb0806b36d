"""Checks at scale: ``d.check()`` on the 784-512-10 network against one training step.

    python -m benchmarks.bench_check [--batch 256] [--repeats 3]

``d.check(values)`` compares the symbolic gradients (compiled equation by equation), the
NumPy engine and sampled central finite differences (``MAX_COORDS`` coordinates and one
random direction per large parameter) for all 407,050 parameters. Its cost is shown against
one training step (the engine's forward + backward, the baseline, same process) and against
the budget "10 steps plus the sampled finite differences" (each finite difference counted as
two full forward passes; the check re-runs only the part of the forward pass that depends on
the perturbed parameter, so it comes in under that).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .records import CheckCost
from .report import check_table

IN, HIDDEN, OUT = 784, 512, 10


def available() -> bool:
    return importlib.util.find_spec("symbackprop.check") is not None


def _median(fn: Callable[[], Any], repeats: int, number: int = 1) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.process_time()  # CPU time (one BLAS thread): the machine is shared
        for _ in range(number):
            fn()
        times.append((time.process_time() - t0) / number)
    return statistics.median(times)


def run(batch: int = 256, repeats: int = 3, log: Callable[[str], None] = print) -> CheckCost:
    import symbackprop as sbp
    from symbackprop.check import engine as numeric

    rng = np.random.default_rng(0)
    values = {
        "W1": rng.standard_normal((HIDDEN, IN)) * 0.05, "b1": rng.standard_normal((HIDDEN, 1)),
        "W2": rng.standard_normal((OUT, HIDDEN)) * 0.05, "b2": rng.standard_normal((OUT, 1)),
        "x": rng.uniform(0, 1, (IN, batch)),
        "y": np.eye(OUT)[:, rng.integers(0, OUT, batch)],
    }
    shapes = {k: v.shape for k, v in values.items() if k != "y"}
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b1", "W2", "b2"], shapes=shapes,
                   loss="cross_entropy")
    engine = numeric.Engine(d)
    step = _median(lambda: engine.value_and_grad(values), max(5, repeats), number=5)
    forward = _median(lambda: engine.value(values), max(5, repeats), number=5)
    report = d.check(values)
    check = _median(lambda: d.check(values), repeats)
    cap = int(getattr(numeric, "MAX_COORDS", 32))
    sizes = [values[n].size for n in ("W1", "b1", "W2", "b2")]
    fd = sum(2 * min(s, cap) + (2 if s > cap else 0) for s in sizes)
    c = CheckCost(batch, sum(sizes), check, step, forward, fd, bool(report.ok), repeats)
    log(f"  check {check:.2f} s, step {step * 1e3:.1f} ms ({c.ratio_step:.0f} steps), "
        f"budget {c.budget:.2f} s, ok={c.ok}")
    return c


def main(argv: list[str] | None = None) -> CheckCost:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    c = run(args.batch, args.repeats)
    print(check_table(c))
    return c


if __name__ == "__main__":
    main()
