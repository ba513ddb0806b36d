"""The benchmark cases: deep chains, DAGs with sharing, scalarised networks, the big network.

Every builder avoids SymPy's tree-walking routines on the whole expression: chains are made
with ``evaluate=False`` one level at a time, DAGs one stage at a time (``Graph.let``, or an
unevaluated SymPy node per stage whose operands are the *same* Python objects, so the shared
structure stays shared), networks from explicit ``sp.Matrix`` of symbols.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from symbackprop.functions import sigmoid
from symbackprop.graph import Graph

CHAIN_DEPTHS = (5, 20, 100, 1_000)
DAG_DEPTHS = (5, 10, 20, 50, 200)
NETWORK_SIZES = ((2, 3, 1), (4, 8, 2), (8, 16, 4), (16, 32, 4), (32, 64, 10))


def x_y(real: bool = True) -> tuple[sp.Symbol, sp.Symbol]:
    kw = {"real": True} if real else {}
    return sp.Symbol("x", **kw), sp.Symbol("y", **kw)


def sin_chain(depth: int, real: bool = True) -> tuple[sp.Basic, list[sp.Symbol]]:
    """``sin(sin(…sin(x·y)))``, ``depth`` sines, built without evaluation or recursion."""
    x, y = x_y(real)
    e: sp.Basic = sp.Mul(x, y, evaluate=False)
    for _ in range(depth):
        e = sp.sin(e, evaluate=False)
    return e, [x, y]


def dag_graph(depth: int) -> tuple[Graph, list[str]]:
    """``t0 = x, t_{k+1} = t_k**2 + x*t_k`` as named stages (``Graph.let``)."""
    g = Graph().let("t0", "x")
    for k in range(depth):
        g = g.let(f"t{k + 1}", f"t{k}**2 + x*t{k}")
    return g, ["x"]


def dag_expr(depth: int, real: bool = True) -> tuple[sp.Basic, list[sp.Symbol]]:
    """The same recurrence as one SymPy expression whose shared subtrees are shared objects.

    Written out as a tree it has about 2**depth nodes; as a DAG, 3 per stage.
    """
    x, _ = x_y(real)
    t: sp.Basic = x
    for _ in range(depth):
        t = sp.Add(sp.Pow(t, 2, evaluate=False), sp.Mul(x, t, evaluate=False), evaluate=False)
    return t, [x]


@dataclass(frozen=True)
class Network:
    """A scalarised 2-layer sigmoid network with ½‖o − y‖² loss: one SymPy scalar."""

    loss: sp.Expr
    params: list[sp.Symbol]
    inputs: list[sp.Symbol]


def scalar_network(n_in: int, n_hidden: int, n_out: int, real: bool = True) -> Network:
    kw: dict[str, Any] = {"real": True} if real else {}

    def mat(name: str, r: int, c: int) -> sp.Matrix:
        if c == 1:
            return sp.Matrix(r, 1, lambda i, j: sp.Symbol(f"{name}_{i}", **kw))
        return sp.Matrix(r, c, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", **kw))

    W1, b1 = mat("W1", n_hidden, n_in), mat("b1", n_hidden, 1)
    W2, b2 = mat("W2", n_out, n_hidden), mat("b2", n_out, 1)
    x, y = mat("x", n_in, 1), mat("y", n_out, 1)
    h = (W1 * x + b1).applyfunc(sigmoid)
    o = W2 * h + b2
    loss = sp.Rational(1, 2) * sp.Add(*[(o[i] - y[i]) ** 2 for i in range(n_out)])
    params = [*W1, *b1, *W2, *b2]
    return Network(loss, params, [*x, *y])


def n_params(size: tuple[int, int, int]) -> int:
    n, m, k = size
    return m * n + m + k * m + k


def label(size: tuple[int, int, int]) -> str:
    return "-".join(map(str, size))
