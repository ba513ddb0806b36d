"""Second order (issue 22 part 5): symbolic Hessians, evaluated, against a closed form written
by hand and against the frameworks.

    python -m benchmarks.bench_hessian [--sizes 100,300,1000] [--samples 2000] [--repeats 9]
                                       [--cases logistic,quadratic_softplus,tanh]

Three functions of x (n entries; float64, one thread):

* ``quadratic_softplus``: ½xᵀAx + Σ log(1 + e^{Wx}), W n × n; by hand
  ½(A + Aᵀ) + Wᵀ diag(σ(Wx) ⊙ (1 − σ(Wx))) W;
* ``tanh``: Σ tanh(Wx); by hand Wᵀ diag(−2 tanh(Wx) ⊙ (1 − tanh²(Wx))) W;
* ``logistic``: logistic regression Σ softplus(−y ⊙ Xw), m samples; by hand
  Xᵀ diag(σ(1 − σ)) X.

Each row is the median time of one full Hessian (blocks of calls of about 5 ms, symbackprop
and the hand form taking turns), every result first compared with the hand form, shown as a
ratio of that hand-written NumPy: symbackprop's ``sbp.hessian(...)`` derived
once (its time in its own column), then ``h.evaluate(values)`` (the closed form the derivation
prints, compiled from its equations, a diagonal as a scaling); ``jax.jit(jax.hessian(f))``
(compile time in its own column), HIPS ``autograd.hessian`` and
``torch.autograd.functional.hessian``, each where installed. The target: symbackprop within
1.3× of the hand form.
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
from dataclasses import dataclass  # noqa: E402
from functools import partial  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import symbackprop as sbp  # noqa: E402

from .measure import interleaved  # noqa: E402
from .report import HESSIAN_TARGET as TARGET  # noqa: E402


@dataclass(frozen=True)
class Case:
    """One function: its text, its variable, the data around it, the hand Hessian, and the
    function in the frameworks' NumPy (``xp``: jax.numpy, autograd.numpy, or torch)."""

    text: str
    wrt: str
    data: Callable[[np.random.Generator, int, int], dict[str, Any]]
    hand: Callable[[dict[str, Any]], Any]
    fn: Callable[[Any, dict[str, Any], Any], Any]  # (xp, data as xp arrays, x) -> scalar


def _sig(z: Any) -> Any:
    return 1.0 / (1.0 + np.exp(-z))


def _square(rng: np.random.Generator, n: int, m: int) -> dict[str, Any]:
    return {"x": rng.normal(size=(n, 1)), "A": rng.normal(size=(n, n)),
            "W": rng.normal(size=(n, n)) / np.sqrt(n)}


def _samples(rng: np.random.Generator, n: int, m: int) -> dict[str, Any]:
    return {"w": rng.normal(size=(n, 1)), "X": rng.normal(size=(m, n)) / np.sqrt(n),
            "y": rng.choice([-1.0, 1.0], size=(m, 1))}


def _hand_quadratic_softplus(v: dict[str, Any]) -> Any:
    A, W = v["A"], v["W"]
    s = _sig(W @ v["x"])[:, 0]
    return 0.5 * (A + A.T) + (W.T * (s * (1.0 - s))) @ W


def _hand_tanh(v: dict[str, Any]) -> Any:
    W = v["W"]
    t = np.tanh(W @ v["x"])[:, 0]
    return (W.T * (-2.0 * t * (1.0 - t * t))) @ W


def _hand_logistic(v: dict[str, Any]) -> Any:
    X = v["X"]
    s = _sig((v["y"] * (X @ v["w"]))[:, 0])
    return (X.T * (s * (1.0 - s))) @ X


def _softplus(xp: Any, z: Any) -> Any:
    return xp.logaddexp(0.0 * z, z) if hasattr(xp, "logaddexp") else xp.nn.functional.softplus(z)


CASES = {
    "quadratic_softplus": Case(
        "0.5*x.T@A@x + sum(softplus(W@x))", "x", _square, _hand_quadratic_softplus,
        lambda xp, d, x: 0.5 * (x @ (d["A"] @ x)) + xp.sum(_softplus(xp, d["W"] @ x))),
    "tanh": Case("sum(tanh(W@x))", "x", _square, _hand_tanh,
                 lambda xp, d, x: xp.sum(xp.tanh(d["W"] @ x))),
    "logistic": Case("sum(softplus(-hadamard(y, X@w)))", "w", _samples, _hand_logistic,
                     lambda xp, d, x: xp.sum(_softplus(xp, -d["y"][:, 0] * (d["X"] @ x)))),
}


def _median(job: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = job()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _evaluate(h: Any, values: dict[str, Any], wrt: str) -> Any:
    return h.evaluate(values)[wrt]


def _peers(case: Case, values: dict[str, Any]) -> dict[str, tuple[Callable[[], Any], float]]:
    """name -> (a Hessian job, its one-off compile seconds), for the installed frameworks."""
    out: dict[str, tuple[Callable[[], Any], float]] = {}
    data = {k: v for k, v in values.items() if k != case.wrt}
    x0 = values[case.wrt][:, 0].copy()
    if importlib.util.find_spec("jax") is not None:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        dj = {k: jnp.asarray(v) for k, v in data.items()}
        hj = jax.jit(jax.hessian(partial(case.fn, jnp, dj)))
        xj = jnp.asarray(x0)
        t = time.perf_counter()
        hj(xj).block_until_ready()
        out["jax.jit(jax.hessian)"] = (lambda: np.asarray(hj(xj).block_until_ready()),
                                       time.perf_counter() - t)
    if importlib.util.find_spec("autograd") is not None:
        import autograd
        import autograd.numpy as anp

        ha = autograd.hessian(partial(case.fn, anp, data))
        out["autograd.hessian"] = (lambda: ha(x0), 0.0)
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.set_num_threads(1)
        dt = {k: torch.from_numpy(v) for k, v in data.items()}
        xt = torch.from_numpy(x0)
        ft = partial(case.fn, torch, dt)
        out["torch.autograd.functional.hessian"] = (
            lambda: torch.autograd.functional.hessian(ft, xt).numpy(), 0.0)
    return out


def run(names: list[str], sizes: list[int], samples: int, repeats: int,
        peers: bool = True) -> tuple[list[str], float]:
    """The table's rows, and the largest ratio symbackprop / hand."""
    rng = np.random.default_rng(0)
    rows: list[str] = []
    worst = 0.0
    for name in names:
        case = CASES[name]
        for n in sizes:
            values = case.data(rng, n, samples)
            want = case.hand(values)
            shapes = {k: v.shape for k, v in values.items()}
            t_derive, h = _median(partial(sbp.hessian, case.text, wrt=case.wrt,
                                          shapes=shapes), 1)
            h.evaluate(values)  # the first call compiles the closed form: timed apart
            got = _evaluate(h, values, case.wrt)
            np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
            times = interleaved({"hand": partial(case.hand, values),
                                 "ours": partial(_evaluate, h, values, case.wrt)}, repeats)
            t_hand, t_ours = times["hand"], times["ours"]
            r = t_ours / t_hand
            worst = max(worst, r)
            cells = []
            for peer, (job, compile_s) in (_peers(case, values) if peers else {}).items():
                res = job()
                t = interleaved({peer: job}, repeats)[peer]
                np.testing.assert_allclose(np.asarray(res), want, rtol=1e-7, atol=1e-9)
                cells.append(f"{peer} | {compile_s:.2f} | {t / t_hand:.2f}×")
            cells = cells or ["none run | | "]
            mark = "✓" if r <= TARGET else "✗"
            rows.append(f"| {name} | {n} | {t_hand * 1e3:.3f} | {t_derive * 1e3:.0f} | "
                        f"**{r:.2f}×** {mark} | {cells[0]} |")
            rows += [f"| | | | | | {c} |" for c in cells[1:]]
    return rows, worst


HEAD = ("| function | n | hand closed form (ms) | symbackprop derive (ms) | "
        f"symbackprop evaluate / hand (≤ {TARGET}) | peer | peer compile (s) | peer / hand |\n"
        "|:---|---:|---:|---:|---:|---|---:|---:|")


def main(argv: list[str] | None = None) -> float:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100,300,1000")
    ap.add_argument("--samples", type=int, default=2000, help="m of the logistic regression")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args(argv)
    rows, worst = run(args.cases.split(","), [int(k) for k in args.sizes.split(",")],
                      args.samples, args.repeats, not args.no_peers)
    print(HEAD)
    print("\n".join(rows))
    print(f"\nsymbackprop evaluate / hand closed form: at most {worst:.2f}× "
          f"(target ≤ {TARGET})")
    return worst


if __name__ == "__main__":
    main()
