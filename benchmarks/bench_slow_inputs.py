"""The slowest inputs known inside the default limits (issue 11 part 6), end to end.

    python -m benchmarks.bench_slow_inputs          # a table: input, step, seconds, × baseline

Each step runs once on a fresh derivation (printers share a memo per derivation, so a second
format would be cheaper); the baseline is the same step on the seed's ``(x + y)**2``, measured
in this process. ``docs/security.md`` quotes these figures as the published worst case.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import symbackprop as sbp

INPUTS: dict[str, str] = {
    "sum of 700 tanh(xi*yi)": " + ".join(f"tanh(x{i}*y{i})" for i in range(700)),
    "450 stages max(t, x)*min(t, y)": "; ".join(
        ["t0 = x"] + [f"t{i} = max(t{i - 1}, x)*min(t{i - 1}, y)" for i in range(1, 451)]),
    "product of 990 (ai + bi)": "*".join(f"(a{i} + b{i})" for i in range(990)),
}
STEPS: dict[str, Callable[[sbp.Derivation], Any]] = {
    "latex": lambda d: d.latex(), "markdown": lambda d: d.markdown(),
    "html": lambda d: d.html(), "json": lambda d: d.to_json(), "dot": lambda d: d.to_dot(),
    "check": lambda d: d.check(),
}
BASELINE = "(x + y)**2"


def _seconds(f: Callable[[], Any]) -> float:
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def measure(text: str) -> dict[str, float]:
    out = {"derive": _seconds(lambda: sbp.derive(text))}
    for name, step in STEPS.items():
        d = sbp.derive(text)
        out[name] = _seconds(lambda d=d, step=step: step(d))  # type: ignore[misc]
    return out


def main() -> None:
    sbp.derive(BASELINE).latex()  # warm-up: imports, KaTeX lookup
    base = measure(BASELINE)
    print(f"{'input':34} {'step':9} {'seconds':>8} {'× baseline':>11}")
    for label, text in INPUTS.items():
        for step, s in measure(text).items():
            print(f"{label:34} {step:9} {s:8.2f} {s / base[step]:11.0f}")


if __name__ == "__main__":
    main()
