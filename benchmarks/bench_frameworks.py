"""Generated framework code: what ``to_jax``'s cotangent for every input costs.

    python -m benchmarks.bench_frameworks [--repeats 5]

``to_jax`` sweeps the graph once more with every input in ``wrt`` (``every_input``), so that
no input gets a made-up zero cotangent. For tanh MLPs of 2 to 30 layers (8 units, MSE, wrt
the parameters) it prints that second sweep and the whole ``to_jax`` as ratios of
``derive`` on the same text, in the same process (CPU time, the best of ``--repeats``).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import symbackprop as sbp
from symbackprop.emit.frameworks import every_input


def mlp(layers: int) -> tuple[str, dict[str, tuple[int, int]]]:
    shapes = {"x": (8, 1)}
    h, lines = "x", []
    for i in range(1, layers + 1):
        shapes[f"W{i}"], shapes[f"b{i}"] = (8, 8), (8, 1)
        lines.append(f"h{i} = tanh(W{i}@{h} + b{i})")
        h = f"h{i}"
    return "; ".join([*lines, h]), shapes


def best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print("layers  derive (baseline)  second sweep / derive  to_jax / derive")
    for layers in (2, 10, 30):
        text, shapes = mlp(layers)
        wrt = [k for k in shapes if k != "x"]

        def make(text: str = text, shapes: Any = shapes, wrt: Any = wrt) -> Any:
            return sbp.derive(text, shapes=shapes, loss="mse", wrt=wrt)

        base = best(make, args.repeats)
        d = make()
        sweep = best(lambda: every_input(d), args.repeats)  # noqa: B023  (run here, now)
        code = best(lambda: d.to_jax(), args.repeats)  # noqa: B023
        print(f"{layers:6d}  {base * 1e3:14.1f} ms  {sweep / base:21.2f}  {code / base:15.2f}")


if __name__ == "__main__":
    main()
