"""Fuzz ``parse`` + ``derive`` + ``latex`` (+ ``evaluate``): any exception that is not a
``SymbackpropError`` is a finding, and so is one input taking longer than ``--slow`` seconds.

    python -m fuzz.fuzz_parse --seconds 60          # atheris (pip install -e ".[fuzz]"),
                                                    # else hypothesis-generated input
    python -m fuzz.fuzz_parse --seconds 60 --engine hypothesis

Atheris mutates bytes coverage-guided, starting from a small corpus of real expressions;
inputs are decoded as UTF-8 (invalid bytes replaced) so unicode tricks are tried too.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
import warnings
from typing import Any

SEEDS = [
    "(x + y)**2", "W2@sigmoid(W1@x + b1) + b2", "z = W1@x + b1; h = sigmoid(z); sum(h)",
    "cross_entropy(o, y)", "max(x, y) * relu(x - 1)", "exp(-x**2/2) / sqrt(2*pi)",
    "softplus(x) + log(sigmoid(y))", "x.T @ A @ x", "t1 = sin(x)\nt2 = t1 * t1\nt2 + x",
    "__import__('os')", "(lambda: 1)()", "[x for x in y]", "x**9**9", "1e308*1e308",
]
SHAPES = {"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (2, 3), "b2": (2, 1), "A": (2, 2)}


class Slow(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise Slow


def one(text: str, slow: float) -> None:
    """The property: a result or a SymbackpropError, within ``slow`` seconds."""
    import symbackprop as sbp

    signal.setitimer(signal.ITIMER_REAL, slow)
    try:
        for shapes in (None, SHAPES):
            try:
                d = sbp.derive(text, shapes=shapes)
                d.latex()
                if not d.is_matrix:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        d.evaluate({str(s.name): 0.5 for s in d.inputs})
            except sbp.SymbackpropError:
                pass
    except Slow:
        raise AssertionError(f"slower than {slow} s: {text!r}") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def run_atheris(seconds: int, slow: float, corpus: str | None) -> None:
    import atheris

    with atheris.instrument_imports():
        import symbackprop
        import symbackprop.emit.latex
        import symbackprop.evaluate  # noqa: F401

    def test(data: bytes) -> None:
        one(data.decode("utf-8", "replace"), slow)

    args = [sys.argv[0], f"-max_total_time={seconds}", "-max_len=512", "-timeout=60"]
    if corpus:
        args.append(corpus)
    atheris.Setup(args, test)
    atheris.Fuzz()


def run_hypothesis(seconds: int, slow: float) -> int:
    sys.path.insert(0, "tests")
    import test_hostile_fuzz as T
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    strategy = st.one_of(T.soup, st.text(max_size=80),
                         st.recursive(T.leaf, T._grow, max_leaves=16), st.sampled_from(SEEDS))
    deadline = time.monotonic() + seconds
    count = 0

    @settings(max_examples=10**9, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def test(text: str) -> None:
        nonlocal count
        count += 1
        if time.monotonic() > deadline:
            raise KeyboardInterrupt
        one(text, slow)

    with contextlib.suppress(KeyboardInterrupt):
        test()
    print(f"hypothesis: {count:,} inputs in {seconds} s, no finding")
    return count


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--slow", type=float, default=10.0, help="seconds one input may take")
    p.add_argument("--engine", choices=("auto", "atheris", "hypothesis"), default="auto")
    p.add_argument("--corpus", help="atheris corpus directory (kept between runs)")
    a = p.parse_args()
    signal.signal(signal.SIGALRM, _alarm)
    engine = a.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401
            engine = "atheris"
        except ImportError:
            engine = "hypothesis"
    if engine == "atheris":
        run_atheris(a.seconds, a.slow, a.corpus)
    else:
        run_hypothesis(a.seconds, a.slow)


if __name__ == "__main__":
    main()
