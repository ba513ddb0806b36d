"""A derivation's forward graph as a program of primitive nodes: one primitive per node.

``lower(equations, inputs)`` reads each equation's right-hand side once, primitive by
primitive (``recognise.classify``), into numbered variables: the inputs, constants (a number,
or a ones/zeros/identity matrix sized when values arrive) and one variable per primitive node,
in the order they are computed, each with the set of inputs it depends on. A node names its
primitive (a key of the rule table), its operands by number and its parameters; the SymPy
node it came from stays beside it for shapes and messages. Consumers run the nodes without
recognising SymPy trees: the numeric engine (``check/engine.py``) does; the sweep and the
evaluator still read the equations (issue 10).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp
from sympy import OneMatrix
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .builder import Equation
from .errors import GraphError
from .recognise import Prim, classify, is_leaf


@dataclass(frozen=True, slots=True)
class Const:
    """A constant: a number, or a ones/zeros/identity matrix sized when values arrive."""

    kind: str  # "number", "ones", "zeros", "eye"
    value: float = 0.0
    shape: tuple[sp.Expr, sp.Expr] | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """``out = prim(*inputs; params)``; ``expr`` and ``operands`` are the SymPy node and its
    operands it was read from, ``where`` the equation it belongs to."""

    out: int
    prim: str
    inputs: tuple[int, ...]
    params: tuple[tuple[str, Any], ...]
    expr: sp.Basic
    operands: tuple[sp.Basic, ...]
    where: str


@dataclass(frozen=True, slots=True)
class Program:
    """Variables ``0 .. size - 1``: ``inputs`` (in order), ``consts`` and the nodes' outputs;
    ``deps[v]`` the inputs (by name) variable ``v`` depends on; ``slot`` the variable of each
    input and equation symbol."""

    size: int
    inputs: tuple[int, ...]
    consts: tuple[tuple[int, Const], ...]
    nodes: tuple[Node, ...]
    deps: tuple[frozenset[str], ...]
    slot: dict[sp.Basic, int]


def walk(rhs: sp.Basic, done: Callable[[sp.Basic], bool] = lambda e: False,
         leaf: Callable[[sp.Basic], None] | None = None) -> Iterator[tuple[sp.Basic, Prim]]:
    """The primitive nodes of one right-hand side, children before parents, each once (a node
    ``done`` already is skipped; ``leaf`` sees each leaf that is not): an explicit stack, any
    depth. The reverse sweep walks an equation with it; ``lower`` walks them all."""
    seen: set[int] = set()
    stack: list[tuple[sp.Basic, Prim | None]] = [(rhs, None)]
    while stack:
        e, p = stack.pop()
        if id(e) in seen or done(e):
            continue
        if is_leaf(e):
            seen.add(id(e))
            if leaf is not None:
                leaf(e)
            continue
        if p is None:
            p = classify(e)
            stack.append((e, p))
            stack.extend((o, None) for o in reversed(p.operands))
            continue
        seen.add(id(e))
        yield e, p


def lower(equations: Iterable[Equation], inputs: Sequence[sp.Basic]) -> Program:
    """The program of the equations over the inputs (see the module docstring)."""
    slot: dict[sp.Basic, int] = {}
    deps: list[frozenset[str]] = []
    consts: list[tuple[int, Const]] = []
    nodes: list[Node] = []

    def new(dep: frozenset[str]) -> int:
        deps.append(dep)
        return len(deps) - 1

    def leaf(e: sp.Basic) -> None:
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            raise GraphError(f"{e} is used but neither an input nor bound earlier")
        if isinstance(e, OneMatrix):
            c = Const("ones", shape=tuple(e.shape))  # type: ignore[arg-type]
        elif isinstance(e, ZeroMatrix):
            c = Const("zeros", shape=tuple(e.shape))  # type: ignore[arg-type]
        elif isinstance(e, Identity):
            c = Const("eye", shape=tuple(e.shape))  # type: ignore[arg-type]
        else:
            c = Const("number", value=float(e))
        i = slot[e] = new(frozenset())
        consts.append((i, c))

    for s in inputs:
        slot[s] = new(frozenset({str(s.name)}))
    input_slots = tuple(slot[s] for s in inputs)
    for eq in equations:
        where = str(eq.lhs.name)
        for e, p in walk(eq.rhs, slot.__contains__, leaf):
            args = tuple(slot[o] for o in p.operands)
            out = slot[e] = new(frozenset().union(*(deps[a] for a in args)))
            nodes.append(Node(out, p.name, args, p.params, e, tuple(p.operands), where))
        if eq.rhs not in slot:
            leaf(eq.rhs)
        slot[eq.lhs] = slot[eq.rhs]
    return Program(len(deps), input_slots, tuple(consts), tuple(nodes), tuple(deps), slot)
