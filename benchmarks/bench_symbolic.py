"""Symbolic derivations: size of the backward equations and time, against per-parameter diff.

    python -m benchmarks.bench_symbolic [--quick] [--sympy-timeout 150]

For each case our ``derive`` runs in this process (median of several runs, SymPy's cache
cleared before each); the baselines run in forked children with a time limit:

* per-parameter ``sympy.diff`` (one ``diff`` of the whole expression per parameter, what one
  does by hand in SymPy), its result's size counted as a tree;
* ``symengine``: ``diff`` per parameter then ``cse`` of all the gradients, when installed.

Size ratio (ours): operations of the backward equations / operations of the forward graph,
counted equation by equation on the shallow right-hand sides. Size ratio (sympy.diff): the
gradients as trees / the function as a tree.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import sympy as sp

import symbackprop as sbp

from . import cases
from .measure import Limited, limited, median_time, ops, ops_of_equations
from .records import Case, Ours
from .report import symbolic_tables

try:  # an optional peer
    import symengine as se
except ImportError:  # pragma: no cover - depends on the machine
    se = None


# ---------------------------------------------------------------------------------------
# Our side


def build_ours(family: str, arg: Any) -> tuple[Any, Any]:
    """(source, wrt) for ``derive``."""
    if family == "chain":
        return cases.sin_chain(arg)
    if family == "dag":
        return cases.dag_graph(arg)
    if family == "dag-expr":
        return cases.dag_expr(arg)
    if family == "network":
        net = cases.scalar_network(*arg)
        return net.loss, net.params
    raise ValueError(family)


def run_ours(family: str, arg: Any, repeats: int = 5, budget: float = 20.0) -> Ours:
    source, wrt = build_ours(family, arg)
    seconds, n, d = median_time(lambda: sbp.derive(source, wrt=wrt), repeats, budget)
    return Ours(seconds, n, len(d.forward), len(d.backward),
                ops_of_equations(eq.rhs for eq in d.forward),
                ops_of_equations(eq.rhs for eq in d.backward))


# ---------------------------------------------------------------------------------------
# Baselines (run in a child process)


def build_sympy(family: str, arg: Any) -> tuple[sp.Basic, list[sp.Symbol]]:
    """The expression as a SymPy user writes it, and the parameters to differentiate by."""
    if family == "chain":
        return cases.sin_chain(arg)
    if family == "dag":  # plain symbols, evaluated: SymPy at its fastest here
        x = sp.Symbol("x")
        t: sp.Basic = x
        for _ in range(arg):
            t = t**2 + x * t
        return t, [x]
    if family == "network":
        net = cases.scalar_network(*arg)
        return net.loss, net.params
    raise ValueError(family)


def sympy_job(family: str, arg: Any, repeats: int, budget: float) -> dict[str, Any]:
    expr, params = build_sympy(family, arg)
    seconds, n, grads = median_time(lambda: [sp.diff(expr, p) for p in params], repeats,
                                    budget)
    memo: dict[int, int] = {}
    return {"seconds": seconds, "repeats": n, "tree_ops": sum(ops(g, memo) for g in grads),
            "function_tree_ops": ops(expr)}


def build_symengine(family: str, arg: Any) -> tuple[Any, list[Any]]:
    assert se is not None
    if family == "chain":
        x, y = se.symbols("x y")
        e = x * y
        for _ in range(arg):
            e = se.sin(e)
        return e, [x, y]
    if family == "dag":
        x = se.Symbol("x")
        t = x
        for _ in range(arg):
            t = t**2 + x * t
        return t, [x]
    if family == "network":
        n, m, k = arg
        W1 = [[se.Symbol(f"W1_{i}_{j}") for j in range(n)] for i in range(m)]
        b1 = [se.Symbol(f"b1_{i}") for i in range(m)]
        W2 = [[se.Symbol(f"W2_{i}_{j}") for j in range(m)] for i in range(k)]
        b2 = [se.Symbol(f"b2_{i}") for i in range(k)]
        x = [se.Symbol(f"x_{j}") for j in range(n)]
        y = [se.Symbol(f"y_{i}") for i in range(k)]
        h = [1 / (1 + se.exp(-(sum(W1[i][j] * x[j] for j in range(n)) + b1[i])))
             for i in range(m)]
        o = [sum(W2[r][i] * h[i] for i in range(m)) + b2[r] for r in range(k)]
        loss = sum((o[r] - y[r]) ** 2 for r in range(k)) / 2
        params = [w for row in W1 for w in row] + b1 + [w for row in W2 for w in row] + b2
        return loss, params
    raise ValueError(family)


def symengine_job(family: str, arg: Any, repeats: int, budget: float) -> dict[str, Any]:
    expr, params = build_symengine(family, arg)

    def run() -> Any:
        return se.cse([expr.diff(p) for p in params])

    seconds, n, _ = median_time(run, repeats, budget, fresh=False)
    return {"seconds": seconds, "repeats": n}


# ---------------------------------------------------------------------------------------
# The table


def case_list(quick: bool) -> list[tuple[str, Any, str, int]]:
    chains = (5, 20, 100) if quick else cases.CHAIN_DEPTHS
    dags = (5, 10, 20) if quick else cases.DAG_DEPTHS
    nets = cases.NETWORK_SIZES[:3] if quick else cases.NETWORK_SIZES
    out: list[tuple[str, Any, str, int]] = []
    out += [("chain", n, f"sin chain, depth {n}", 2) for n in chains]
    out += [("dag", n, f"sharing DAG, depth {n}", 1) for n in dags]
    out += [("network", s, f"network {cases.label(s)}", cases.n_params(s)) for s in nets]
    return out


def run(quick: bool = False, sympy_timeout: float = 150.0,
        log: Callable[[str], None] = print) -> list[Case]:
    results: list[Case] = []
    gave_up: dict[str, str] = {}  # family -> why the baseline is skipped for larger cases
    for family, arg in (("chain", 5), ("dag", 5), ("network", (2, 3, 1))):  # warm up
        sbp.derive(*build_ours(family, arg))
    for family, arg, name, nparams in case_list(quick):
        t0 = time.perf_counter()
        ours = run_ours(family, arg, repeats=3 if quick else 5)
        if family in gave_up:
            base = Limited("skipped", gave_up[family])
        else:
            base = limited(sympy_job, family, arg, 3, sympy_timeout / 3, timeout=sympy_timeout)
            if not base.ok:
                gave_up[family] = f"{base.status} at a smaller case"
        eng: Limited | None = None
        if se is not None:
            key = "symengine:" + family
            if key in gave_up:
                eng = Limited("skipped", gave_up[key])
            else:
                eng = limited(symengine_job, family, arg, 3, sympy_timeout / 3,
                              timeout=sympy_timeout)
                if not eng.ok:
                    gave_up[key] = f"{eng.status} at a smaller case"
        c = Case(family, arg, name, nparams, ours, base, eng)
        results.append(c)
        log(f"  {name}: derive {ours.seconds * 1e3:.1f} ms, size ratio {ours.ratio:.2f}; "
            f"sympy.diff {base.status}"
            + (f" {base.value['seconds']:.2f} s" if base.ok else "")
            + f"  [{time.perf_counter() - t0:.0f} s]")
    return results


def main(argv: list[str] | None = None) -> list[Case]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sympy-timeout", type=float, default=150.0)
    args = ap.parse_args(argv)
    res = run(args.quick, args.sympy_timeout)
    print(symbolic_tables(res))
    return res


if __name__ == "__main__":
    main()
