"""The NumPy engine against a hand-written NumPy step, same process, one BLAS thread.

    python -m benchmarks.bench_engine [--repeats 15] [--number 10] [--batch 256]
                                      [--sizes 32-64-10,784-512-10]

A forward + backward step of an IN-HIDDEN-OUT sigmoid network with softmax cross-entropy,
batch 256: ``Engine.value_and_grad`` (values bound from a dict, tape run forward and
backward) and ``d.evaluate`` (the symbolic gradients) against the same step written by hand
in NumPy. Prints the median times and their ratios (engine target ≤ 1.15 at 32-64-10 and
≤ 1.05 at 784-512-10), the share of the hand step spent in the five matrix products;
float64 and float32; HIPS autograd, PyTorch CPU eager and ``jax.jit`` as extra rows where
installed.
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
from symbackprop.check import Engine  # noqa: E402

from .measure import per_call  # noqa: E402

TARGETS = {"32-64-10": 1.15, "784-512-10": 1.05}  # engine / hand, float64


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


def autograd_step(values: dict[str, Any]) -> Callable[[], Any] | None:
    """HIPS autograd on the same network, where installed (the ``bench`` extra)."""
    try:
        import autograd.numpy as anp
        from autograd import value_and_grad
    except ImportError:
        return None

    def loss(params: Any, x: Any, y: Any) -> Any:
        W1, b1, W2, b2 = params
        h = 1.0 / (1.0 + anp.exp(-(anp.dot(W1, x) + b1)))
        o = anp.dot(W2, h) + b2
        s = o - anp.max(o, axis=0, keepdims=True)
        return -anp.sum(y * (s - anp.log(anp.sum(anp.exp(s), axis=0, keepdims=True))))

    vg = value_and_grad(loss)
    params = [values[k] for k in ("W1", "b1", "W2", "b2")]
    return lambda: vg(params, values["x"], values["y"])


def torch_step(values: dict[str, Any]) -> Callable[[], Any] | None:
    """PyTorch CPU eager on the same network, where installed (``pip install torch==2.13.0``)."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in values.items()}
    params = [t[k].clone().requires_grad_(True) for k in ("W1", "b1", "W2", "b2")]
    x, y = t["x"], t["y"]

    def step() -> Any:
        for p in params:
            p.grad = None
        W1, b1, W2, b2 = params
        o = W2 @ torch.sigmoid(W1 @ x + b1) + b2
        loss = -(y * torch.log_softmax(o, dim=0)).sum()
        loss.backward()
        return loss, [p.grad for p in params]

    return step


def jax_step(values: dict[str, Any]) -> Callable[[], Any] | None:
    """``jax.jit(jax.value_and_grad)`` on the same network (CPU), where installed; compiled
    before it is timed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    if values["x"].dtype == np.float64:
        jax.config.update("jax_enable_x64", True)

    def loss(params: Any, x: Any, y: Any) -> Any:
        W1, b1, W2, b2 = params
        o = W2 @ jax.nn.sigmoid(W1 @ x + b1) + b2
        return -jnp.sum(y * jax.nn.log_softmax(o, axis=0))

    vg = jax.jit(jax.value_and_grad(loss))
    params = [jnp.asarray(values[k]) for k in ("W1", "b1", "W2", "b2")]
    x, y = jnp.asarray(values["x"]), jnp.asarray(values["y"])

    def step() -> Any:
        value, grads = vg(params, x, y)
        return value, jax.block_until_ready(grads)

    return step


def _grads_of(peer: str, out: Any) -> list[Any]:
    if peer == "PyTorch CPU eager":
        return [g.numpy() for g in out[1]]
    if peer == "d.evaluate (symbolic)":
        return [out[k] for k in ("W1", "b1", "W2", "b2")]
    return [np.asarray(g) for g in out[1]]


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--number", type=int, default=10)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--sizes", default=",".join(TARGETS))
    args = ap.parse_args(argv)
    ratio = float("nan")
    for size in args.sizes.split(","):
        ratio = run_size(size, args)
    return ratio  # the last size's float64 engine / hand


def run_size(size: str, args: argparse.Namespace) -> float:
    IN, HIDDEN, OUT = (int(x) for x in size.split("-"))
    target = TARGETS.get(size, 1.10)
    B = args.batch
    rng = np.random.default_rng(0)
    values64 = {
        "W1": rng.standard_normal((HIDDEN, IN)) * 0.05, "b1": rng.standard_normal((HIDDEN, 1)),
        "W2": rng.standard_normal((OUT, HIDDEN)) * 0.05, "b2": rng.standard_normal((OUT, 1)),
        "x": rng.uniform(0, 1, (IN, B)),
        "y": np.eye(OUT)[:, rng.integers(0, OUT, B)],
    }
    shapes = {k: v.shape for k, v in values64.items() if k != "y"}
    t0 = time.perf_counter()
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b1", "W2", "b2"], shapes=shapes,
                   loss="cross_entropy")
    engine = Engine(d)
    setup = time.perf_counter() - t0
    n = args.number * max(1, 40 // max(1, (IN * HIDDEN) // 2048))  # more steps when small
    print(f"network {IN}-{HIDDEN}-{OUT}, sigmoid, softmax cross-entropy, batch {B}, 1 BLAS "
          f"thread; median of {args.repeats} x {n} steps, each interleaved with the "
          "hand-written step it is divided by")
    print(f"derive + compile the tape: {setup * 1e3:.0f} ms (once)")
    print()
    print("| step (forward + backward) | dtype | median | / hand-written NumPy |")
    print("| :--- | :--- | ---: | ---: |")
    engine_ratio = float("nan")
    share = float("nan")
    for dtype, tol in ((np.float64, 1e-9), (np.float32, 2e-3)):
        values: dict[str, Any] = {k: v.astype(dtype) for k, v in values64.items()}
        ref = hand_step(**values)
        _, grads = engine.value_and_grad(values)
        for name, want in zip(("W1", "b1", "W2", "b2"), ref[1:], strict=True):
            assert grads[name].dtype == dtype
            np.testing.assert_allclose(grads[name], want, rtol=tol, atol=tol * 1e-3)
        peers: dict[str, Callable[[], Any]] = {
            "symbackprop engine": lambda values=values: engine.value_and_grad(values)}  # type: ignore[misc]
        makers: list[tuple[str, Callable[[dict[str, Any]], Callable[[], Any] | None]]] = [
            ("HIPS autograd", autograd_step), ("PyTorch CPU eager", torch_step),
            ("jax.jit(jax.value_and_grad)", jax_step)]
        if dtype is np.float64:  # the symbolic equations evaluate in float64
            makers.insert(0, ("d.evaluate (symbolic)",
                              lambda values: lambda: d.evaluate(values)))
        for label, make in makers:
            step = make(values)
            if step is None:
                print(f"| {label} | {np.dtype(dtype).name} | not installed | – |")
                continue
            for got, want in zip(_grads_of(label, step()), ref[1:], strict=True):
                np.testing.assert_allclose(got, want, rtol=tol * 10, atol=tol * 1e-2)
            peers[label] = step

        def hand(values: dict[str, Any] = values) -> Any:
            return hand_step(**values)

        for fn in (hand, *peers.values()):  # warm up
            per_call(fn, 2)
        times: dict[str, list[float]] = {k: [] for k in peers}
        t_hand: list[float] = []
        for _ in range(args.repeats):  # interleaved, so drift hits all alike
            t_hand.append(per_call(hand, n))
            for k, fn in peers.items():
                times[k].append(per_call(fn, n))
        m_hand = statistics.median(t_hand)
        print(f"| hand-written NumPy (the baseline) | {np.dtype(dtype).name} | "
              f"{m_hand * 1e3:.3f} ms | 1 |")
        for k, ts in times.items():
            ratio = statistics.median(ts) / m_hand
            mark = f" (target ≤ {target:.2f})" if k == "symbackprop engine" else ""
            print(f"| {k} | {np.dtype(dtype).name} | {statistics.median(ts) * 1e3:.3f} ms | "
                  f"**{ratio:.3f}**{mark} |")
            if k == "symbackprop engine" and dtype is np.float64:
                engine_ratio = ratio
        if dtype is np.float64:
            z = values["W1"] @ values["x"] + values["b1"]
            h = 1.0 / (1.0 + np.exp(-z))
            do = rng.standard_normal((OUT, B))
            mm = {"W1": values["W1"], "W2": values["W2"], "x": values["x"], "h": h, "do": do,
                  "dz": z}
            t_mm = [per_call(lambda mm=mm: matmuls_only(**mm), n)  # type: ignore[misc]
                    for _ in range(args.repeats)]
            share = statistics.median(t_mm) / m_hand
    print()
    print(f"matmul share of the hand-written float64 step (the floor): {share:.0%}")
    print(f"ratio engine / hand (float64, {size}): {engine_ratio:.3f}  (target <= {target:.2f})")
    print()
    return engine_ratio


if __name__ == "__main__":
    main()
