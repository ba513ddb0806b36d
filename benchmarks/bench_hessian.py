"""Second order: the Hessian of logistic regression, symbolic against the frameworks.

    python -m benchmarks.bench_hessian [--sizes 100,300,1000] [--samples 2000] [--repeats 5]

L(w) = Σ softplus(−y ⊙ Xw) with m samples and n features (float64, one thread). Each row is
the median time of one full Hessian, every result first compared with a closed form written
here by hand (Xᵀ diag(σ(1 − σ)) X, y = ±1), and shown as a ratio of that hand-written NumPy:

* symbackprop: ``sbp.hessian(...)`` derived once (its time in its own column), then
  ``h.evaluate(values)`` — the closed form the derivation prints (Xᵀ diag(…) X), compiled
  from the symbolic equations, the diagonal as a scaling;
* ``jax.jit(jax.hessian(f))`` (compile time in its own column), HIPS ``autograd.hessian``
  and ``torch.autograd.functional.hessian``, each where installed.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"  # before NumPy loads BLAS
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import symbackprop as sbp  # noqa: E402

TEXT = "sum(softplus(-hadamard(y, X@w)))"


def _median(job: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = job()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _evaluate(h: Any, values: dict[str, Any]) -> Any:
    return h.evaluate(values)["w"]


def _hand(X: Any, y: Any, w: Any) -> Any:
    m = (y * (X @ w))[:, 0]
    s = 1.0 / (1.0 + np.exp(-m))
    return (X.T * (s * (1.0 - s))) @ X


def _peers(X: Any, y: Any, w: Any) -> dict[str, tuple[Callable[[], Any], float]]:
    """name -> (a Hessian job, its one-off compile seconds), for the installed frameworks."""
    out: dict[str, tuple[Callable[[], Any], float]] = {}
    if importlib.util.find_spec("jax") is not None:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        Xj, yj, wj = jnp.asarray(X), jnp.asarray(y[:, 0]), jnp.asarray(w[:, 0])

        def fj(v: Any) -> Any:
            return jnp.sum(jax.nn.softplus(-yj * (Xj @ v)))
        hj = jax.jit(jax.hessian(fj))
        t = time.perf_counter()
        hj(wj).block_until_ready()
        out["jax.jit(jax.hessian)"] = (lambda: np.asarray(hj(wj).block_until_ready()),
                                       time.perf_counter() - t)
    if importlib.util.find_spec("autograd") is not None:
        import autograd
        import autograd.numpy as anp

        def fa(v: Any) -> Any:
            return anp.sum(anp.logaddexp(0.0, -y[:, 0] * anp.dot(X, v)))
        ha = autograd.hessian(fa)
        out["autograd.hessian"] = (lambda: ha(w[:, 0]), 0.0)
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(1)
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y[:, 0])

        def ft(v: Any) -> Any:
            return torch.nn.functional.softplus(-yt * (Xt @ v)).sum()
        wt = torch.from_numpy(w[:, 0].copy())
        out["torch.autograd.functional.hessian"] = (
            lambda: torch.autograd.functional.hessian(ft, wt).numpy(), 0.0)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    print("| n | hand closed form (ms) | symbackprop derive (ms) | symbackprop evaluate | "
          "peer | peer compile (s) | peer |")
    print("|---:|---:|---:|---:|---|---:|---:|")
    for n in (int(k) for k in args.sizes.split(",")):
        m = args.samples
        X = rng.normal(size=(m, n)) / np.sqrt(n)
        y = rng.choice([-1.0, 1.0], size=(m, 1))
        w = rng.normal(size=(n, 1))
        want = _hand(X, y, w)
        t_hand, _ = _median(partial(_hand, X, y, w), args.repeats)
        shapes = {"w": (n, 1), "X": (m, n), "y": (m, 1)}
        t_derive, h = _median(partial(sbp.hessian, TEXT, wrt="w", shapes=shapes), 1)
        values = {"w": w, "X": X, "y": y}
        t_ours, got = _median(partial(_evaluate, h, values), args.repeats)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
        peers = _peers(X, y, w)
        rows = []
        for name, (job, compile_s) in peers.items():
            t, res = _median(job, args.repeats)
            np.testing.assert_allclose(np.asarray(res), want, rtol=1e-7, atol=1e-9)
            rows.append(f"{name} | {compile_s:.2f} | {t / t_hand:.2f}×")
        first = rows[0] if rows else "none installed | | "
        print(f"| {n} | {t_hand * 1e3:.1f} | {t_derive * 1e3:.0f} | {t_ours / t_hand:.2f}× | "
              f"{first} |")
        for r in rows[1:]:
            print(f"| | | | | {r} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
