"""The NumPy engine against a hand-written NumPy step, same process, one BLAS thread.

    python -m benchmarks.bench_engine [--repeats 15] [--number 10] [--batch 256]

A forward + backward step of the 784-512-10 sigmoid network with softmax cross-entropy,
batch 256: ``Engine.value_and_grad`` (values bound from a dict, tape run forward and
backward) against the same step written by hand in NumPy. Prints the median times, their
ratio (target ≤ 1.10) and the share of the hand step spent in the five matrix products.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy loads BLAS

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import symbackprop as sbp  # noqa: E402
from symbackprop.numeric import Engine  # noqa: E402

IN, HIDDEN, OUT = 784, 512, 10


def hand_step(W1: Any, b1: Any, W2: Any, b2: Any, x: Any, y: Any) -> tuple[Any, ...]:
    """What one would write by hand: forward, softmax cross-entropy, backward."""
    z = W1 @ x + b1
    h = 1.0 / (1.0 + np.exp(-z))
    o = W2 @ h + b2
    s = o - o.max(axis=0, keepdims=True)
    logp = s - np.log(np.exp(s).sum(axis=0, keepdims=True))
    loss = -np.sum(y * logp)
    do = np.exp(logp) - y
    dW2 = do @ h.T
    db2 = do.sum(axis=1, keepdims=True)
    dh = W2.T @ do
    dz = dh * h * (1.0 - h)
    dW1 = dz @ x.T
    db1 = dz.sum(axis=1, keepdims=True)
    return loss, dW1, db1, dW2, db2


def matmuls_only(W1: Any, W2: Any, x: Any, h: Any, do: Any, dz: Any) -> None:
    W1 @ x
    W2 @ h
    do @ h.T
    W2.T @ do
    dz @ x.T


def timeit(fn: Callable[[], Any], number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--number", type=int, default=10)
    ap.add_argument("--batch", type=int, default=256)
    args = ap.parse_args(argv)
    B = args.batch
    rng = np.random.default_rng(0)
    values = {
        "W1": rng.standard_normal((HIDDEN, IN)) * 0.05, "b1": rng.standard_normal((HIDDEN, 1)),
        "W2": rng.standard_normal((OUT, HIDDEN)) * 0.05, "b2": rng.standard_normal((OUT, 1)),
        "x": rng.uniform(0, 1, (IN, B)),
        "y": np.eye(OUT)[:, rng.integers(0, OUT, B)],
    }
    shapes = {k: v.shape for k, v in values.items() if k != "y"}
    t0 = time.perf_counter()
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b1", "W2", "b2"], shapes=shapes,
                   loss="cross_entropy")
    engine = Engine(d)
    setup = time.perf_counter() - t0

    loss, grads = engine.value_and_grad(values)
    ref = hand_step(**values)
    for name, want in zip(("W1", "b1", "W2", "b2"), ref[1:], strict=True):
        np.testing.assert_allclose(grads[name], want, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(loss, ref[0], rtol=1e-12)

    z = values["W1"] @ values["x"] + values["b1"]
    h = 1.0 / (1.0 + np.exp(-z))
    do = rng.standard_normal((OUT, B))
    mm = {"W1": values["W1"], "W2": values["W2"], "x": values["x"], "h": h, "do": do, "dz": z}

    def ours() -> Any:
        return engine.value_and_grad(values)

    def hand() -> Any:
        return hand_step(**values)

    def products() -> Any:
        return matmuls_only(**mm)

    n = args.number
    for fn in (ours, hand, products):  # warm up
        timeit(fn, 2)
    t_ours, t_hand, t_mm = [], [], []
    for _ in range(args.repeats):  # interleaved, so drift hits both alike
        t_ours.append(timeit(ours, n))
        t_hand.append(timeit(hand, n))
        t_mm.append(timeit(products, n))
    m_ours, m_hand, m_mm = (statistics.median(t) for t in (t_ours, t_hand, t_mm))
    ratio = m_ours / m_hand
    print(f"network {IN}-{HIDDEN}-{OUT}, sigmoid, softmax cross-entropy, batch {B}, float64, "
          f"1 BLAS thread; median of {args.repeats} x {n} steps")
    print(f"derive + compile the tape: {setup * 1e3:.0f} ms (once)")
    print(f"engine (forward + backward): {m_ours * 1e3:.3f} ms")
    print(f"hand-written NumPy:          {m_hand * 1e3:.3f} ms")
    print(f"ratio engine / hand:         {ratio:.3f}  (target <= 1.10)")
    print(f"matmul share of the hand step: {m_mm / m_hand:.0%}")
    return ratio


if __name__ == "__main__":
    main()
