"""conv2d forward + backward of ``symbackprop.tensors`` against an im2col NumPy reference
written here, same process, one BLAS thread.

    python -m benchmarks.bench_conv [--repeats 9] [--number 3]

N=32, C=16, 32×32 images, F=32 filters of 3×3, stride 1, padding 1 (float64): the rule's
``forward`` then ``vjp`` (∂L/∂X, ∂L/∂W, ∂L/∂b) against the textbook im2col step (a column
matrix built by copying each tap, one matrix product each way, col2im by adding the taps
back). Prints the median times and their ratio (target ≤ 1.5).

Then a 4-layer CNN derived from text (three conv2d + ReLU layers with max and average
pooling, a linear layer, cross-entropy; N=8, 3×32×32 images, 8/16/32 filters of 3×3):
the CPU time of ``derive`` and of ``d.check()`` (symbolic, engine and finite differences),
also as a multiple of one training step of the engine measured in the same process
(target: ``d.check()`` under 5 s).
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


CNN = """
z1 = conv2d(X, K1, c1, padding=1)
p1 = maxpool2d(relu(z1), 2)
z2 = conv2d(p1, K2, c2, padding=1)
p2 = maxpool2d(relu(z2), 2)
z3 = conv2d(p2, K3, c3, padding=1)
p3 = avgpool2d(relu(z3), 2)
o = W @ reshape(p3, (N, -1)).T + b @ ones(1, N)
"""
CNN_SHAPES = {"X": ("N", 3, 32, 32), "K1": (8, 3, 3, 3), "c1": (8,), "K2": (16, 8, 3, 3),
              "c2": (16,), "K3": (32, 16, 3, 3), "c3": (32,), "W": (10, 512), "b": (10,),
              "y": (10, "N")}


def cnn_check(repeats: int) -> None:
    import symbackprop as sbp
    from symbackprop.check.engine import Engine
    from symbackprop.check.points import random_values

    wrt = ["K1", "c1", "K2", "c2", "K3", "c3", "W", "b"]
    t0 = time.process_time()
    d = sbp.derive(CNN, shapes=CNN_SHAPES, loss="cross_entropy", wrt=wrt)
    derive_s = time.process_time() - t0
    values = random_values(d, 0, 0)
    values["X"] = np.random.default_rng(1).standard_normal((8, 3, 32, 32))
    values["y"] = np.eye(10)[:, np.arange(8) % 10]
    engine = Engine(d)
    steps = []
    for _ in range(repeats):  # CPU time, as d.check() below
        t0 = time.process_time()
        engine.value_and_grad(values)
        steps.append(time.process_time() - t0)
    step = statistics.median(steps)
    checks = []
    for _ in range(max(1, repeats // 3)):
        t0 = time.process_time()
        report = d.check(values)
        checks.append(time.process_time() - t0)
    assert report.ok, report
    check_s = statistics.median(checks)
    print("4-layer CNN (3 conv2d + pooling, linear, cross-entropy; N=8, 3x32x32), float64")
    print(f"  derive            {derive_s * 1e3:8.1f} ms")
    print(f"  one engine step   {step * 1e3:8.1f} ms")
    print(f"  d.check()         {check_s:8.2f} s   = {check_s / step:.0f} engine steps "
          "(target < 5 s)")


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
    cnn_check(args.repeats)


if __name__ == "__main__":
    main()
