"""conv2d forward + backward of ``symbackprop.tensors`` against an im2col NumPy reference
written here, same process, one BLAS thread.

    python -m benchmarks.bench_conv [--repeats 9] [--number 3]

N=32, C=16, 32×32 images, F=32 filters of 3×3, stride 1, padding 1 (float64): the rule's
``forward`` then ``vjp`` (∂L/∂X, ∂L/∂W, ∂L/∂b) against the textbook im2col step (a column
matrix built by copying each tap, one matrix product each way, col2im by adding the taps
back). Prints the median times and their ratio (target ≤ 1.5).
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

from symbackprop.tensors import TENSORS  # noqa: E402

N, C, H, W, F, K = 32, 16, 32, 32, 32, 3


def im2col_step(x: Any, w: Any, b: Any, g: Any) -> tuple[Any, ...]:
    """Stride 1, padding 1: cols[(c,i,j), (n,h,v)] = X̃[n,c,h+i,v+j]; Y = W·cols + b;
    ∂W = G·colsᵀ, ∂cols = Wᵀ·G added back tap by tap."""
    n, c, h, v = x.shape
    f = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.empty((c, K, K, n, h, v))
    for i in range(K):
        for j in range(K):
            cols[:, i, j] = xp[:, :, i:i + h, j:j + v].transpose(1, 0, 2, 3)
    cols2 = cols.reshape(c * K * K, n * h * v)
    y = (w.reshape(f, -1) @ cols2 + b[:, None]).reshape(f, n, h, v).transpose(1, 0, 2, 3)
    g2 = g.transpose(1, 0, 2, 3).reshape(f, -1)
    dw = (g2 @ cols2.T).reshape(w.shape)
    db = g2.sum(axis=1)
    dcols = (w.reshape(f, -1).T @ g2).reshape(c, K, K, n, h, v)
    dxp = np.zeros_like(xp)
    for i in range(K):
        for j in range(K):
            dxp[:, :, i:i + h, j:j + v] += dcols[:, i, j].transpose(1, 0, 2, 3)
    return y, dxp[:, :, 1:-1, 1:-1], dw, db


def engine_step(x: Any, w: Any, b: Any, g: Any) -> tuple[Any, ...]:
    rule = TENSORS["conv2d"]
    y = rule.forward(x, w, b, stride=1, padding=1)
    return (y, *rule.vjp(g, y, x, w, b, stride=1, padding=1))


def median_time(fn: Callable[[], Any], repeats: int, number: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--number", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, K, K))
    b, g = rng.standard_normal(F), rng.standard_normal((N, F, H, W))
    for got, want in zip(engine_step(x, w, b, g), im2col_step(x, w, b, g), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)  # the same numbers first
    ref = median_time(lambda: im2col_step(x, w, b, g), args.repeats, args.number)
    eng = median_time(lambda: engine_step(x, w, b, g), args.repeats, args.number)
    print(f"conv2d N={N} C={C} {H}x{W} F={F} {K}x{K}, forward + backward, float64")
    print(f"  im2col reference  {ref * 1e3:8.1f} ms")
    print(f"  tensors.conv2d    {eng * 1e3:8.1f} ms")
    print(f"  ratio             {eng / ref:8.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
