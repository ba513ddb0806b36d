"""A derivation's forward graph as a program of primitive nodes: one primitive per node.

``lower(equations, inputs)`` reads each equation's right-hand side once, primitive by
primitive (``recognise.classify``), into numbered variables (``Var``: a name where the user
or the grouping gave one, and a shape of any rank — ``()`` for a scalar): the inputs,
constants (a number, or a ones/zeros/identity matrix sized when values arrive) and one
variable per primitive node, in the order they are computed, each with the set of inputs it
depends on. A node names its primitive (a key of the rule table), its operands by number,
its parameters and the equation it belongs to; the SymPy node it came from stays beside it
for the symbolic rules and for messages. Each equation's nodes are its own (a subexpression
written inside two stages is two nodes), so that the nodes of equation ``k`` are exactly
what its right-hand side computes. The reverse sweep and the numeric engine run the nodes
and recognise nothing themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeAlias

import sympy as sp
from sympy import OneMatrix
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from .algebra import is_matrix
from .builder import Equation
from .canonical import is_leaf
from .errors import GraphError
from .functions import Pattern
from .recognise import Prim, classify


@dataclass(frozen=True, slots=True)
class Const:
    """A constant: a number, or a ones/zeros/identity matrix sized when values arrive."""

    kind: str  # "number", "ones", "zeros", "eye", "tril", "exchange"
    value: float = 0.0
    shape: tuple[sp.Expr, sp.Expr] | None = None


Dim: TypeAlias = sp.Expr  # a dimension: an integer, or a symbol bound when values arrive


class Var(NamedTuple):
    """A variable of the program: ``name`` for inputs and equations ("" inside a right-hand
    side), ``shape`` its dimensions, any rank (``()`` a scalar, ``(m, n)`` a matrix)."""

    name: str
    shape: tuple[Dim, ...]


class Node(NamedTuple):
    """``out = prim(*inputs; params)``, computed in equation ``eq`` (named ``where``);
    ``expr`` and ``operands`` are the SymPy node and operands it was read from."""

    out: int
    prim: str
    inputs: tuple[int, ...]
    params: tuple[tuple[str, Any], ...]
    expr: sp.Basic
    operands: tuple[sp.Basic, ...]
    where: str
    eq: int = 0

    @property
    def primitive(self) -> Prim:
        """The node as ``recognise.Prim`` (what the symbolic rules take)."""
        return Prim(self.prim, self.operands, self.params)


@dataclass(frozen=True, slots=True)
class Program:
    """Variables ``0 .. size - 1`` (``vars``): ``inputs`` (in order), ``consts`` and the
    nodes' outputs; ``deps[v]`` the inputs (by name) variable ``v`` depends on; ``slot`` the
    variable of each input and equation symbol; ``output`` the last equation's."""

    size: int
    inputs: tuple[int, ...]
    consts: tuple[tuple[int, Const], ...]
    nodes: tuple[Node, ...]
    slot: dict[sp.Basic, int]
    vars: tuple[Var, ...] = ()
    output: int = -1
    _deps: tuple[frozenset[str], ...] | None = field(default=None, repr=False, compare=False)

    @property
    def deps(self) -> tuple[frozenset[str], ...]:
        """For each variable, the inputs (by name) it depends on (found once, when asked)."""
        if self._deps is None:
            deps: list[frozenset[str]] = [frozenset()] * self.size
            for i in self.inputs:
                deps[i] = frozenset({self.vars[i].name})
            for n in self.nodes:
                deps[n.out] = frozenset().union(*(deps[a] for a in n.inputs))
            object.__setattr__(self, "_deps", tuple(deps))
        return self._deps  # type: ignore[return-value]

    def equation_nodes(self, count: int) -> list[list[Node]]:
        """The nodes of each of the ``count`` equations, in the order they are computed."""
        out: list[list[Node]] = [[] for _ in range(count)]
        for n in self.nodes:
            out[n.eq].append(n)
        return out


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
    variables: list[Var] = []
    consts: list[tuple[int, Const]] = []
    nodes: list[Node] = []

    def new(e: sp.Basic, name: str = "") -> int:
        variables.append(Var(name, shape_tuple(e)))
        return len(variables) - 1

    def leaf(e: sp.Basic) -> None:
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            raise GraphError(f"{e} is used but neither an input nor bound earlier")
        if isinstance(e, OneMatrix):
            c = Const("ones", shape=tuple(e.shape))  # type: ignore[arg-type]
        elif isinstance(e, ZeroMatrix):
            c = Const("zeros", shape=tuple(e.shape))  # type: ignore[arg-type]
        elif isinstance(e, Identity):
            c = Const("eye", shape=tuple(e.shape))  # type: ignore[arg-type]
        elif isinstance(e, Pattern):
            c = Const(e.kind, shape=tuple(e.shape))  # type: ignore[arg-type]
        else:
            c = Const("number", value=float(e))
        i = slot[e] = new(e)
        consts.append((i, c))

    for s in inputs:
        slot[s] = new(s, str(s.name))
    input_slots = tuple(slot[s] for s in inputs)
    known = slot.__contains__
    k = -1
    for k, eq in enumerate(equations):
        where = str(eq.lhs.name)
        inner: list[sp.Basic] = []  # this equation's own nodes: in ``slot`` while it is read
        rhs = eq.rhs
        one = None if is_leaf(rhs) else classify(rhs)
        if one is not None and all(map(known, one.operands)):  # one node (the common case)
            found: Iterable[tuple[sp.Basic, Prim]] = ((rhs, one),)
        else:
            found = walk(rhs, known, leaf)
        for e, p in found:
            args = tuple(map(slot.__getitem__, p.operands))
            out = slot[e] = new(e)
            inner.append(e)
            nodes.append(Node(out, p.name, args, p.params, e, tuple(p.operands), where, k))
        if rhs not in slot:
            leaf(rhs)
        slot[eq.lhs] = slot[rhs]
        for e in inner:
            del slot[e]
        v = variables[slot[eq.lhs]]
        if not v.name:  # an alias (a = B) keeps the name of what it aliases
            variables[slot[eq.lhs]] = Var(where, v.shape)
    output = slot[equations[k].lhs] if k >= 0 else -1  # type: ignore[index]
    return Program(len(variables), input_slots, tuple(consts), tuple(nodes), slot,
                   tuple(variables), output)


def shape_tuple(e: sp.Basic) -> tuple[Dim, ...]:
    """The dimensions of a SymPy value as a tuple of any rank: () for a scalar."""
    return tuple(e.shape) if is_matrix(e) else ()
