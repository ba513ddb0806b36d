"""The computation graph: an ordered, immutable list of equations (a Wengert list), built
one stage at a time with ``Graph.let`` (text or SymPy) or read from a ``Builder``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp
from sympy import OneMatrix

from .algebra import is_matrix, like
from .builder import Builder, Equation, assemble, atoms_in_order, check_name, make_symbol
from .canonical import replace_args
from .errors import GraphError, ShapeError
from .functions import SumAll
from .limits import Limits
from .paper import Reading
from .parse import Syntax, parse_into
from .shapes import dimensions_of, fmt_shape, shape_of


@dataclass(frozen=True, slots=True)
class Graph:
    """Equations in topological order; the last one computes the output.

    Build one stage at a time with ``let`` (text or SymPy, over inputs and earlier stages)::

        g = Graph(shapes={"W1": (4, 3), "x": (3, 1), "b1": (4, 1)})
        g = g.let("z", "W1@x + b1").let("h", "sigmoid(z)")
    """

    equations: tuple[Equation, ...] = ()
    shapes: Mapping[str, Any] = field(default_factory=dict)
    # name -> (position of the equation that binds or first uses it, symbol); shared by the
    # graphs one ``let`` chain makes, so each ``let`` costs its own stage, not the whole graph
    _index: dict[str, tuple[int, sp.Basic]] = field(default_factory=dict, repr=False,
                                                    compare=False)
    _inputs: tuple[sp.Basic, ...] | None = field(default=None, init=False, repr=False,
                                                 compare=False)
    # the named dimensions the equations read as numbers (mean(X, axis=1)'s 1/n): never
    # inputs, bound from the shapes of the values (see ``dimensions`` and ``sized``)
    _dims: tuple[sp.Basic, ...] = field(default=(), init=False, repr=False, compare=False)
    # inputs a derivation of this graph keeps though the output does not read them (a
    # Hessian's variable when the gradient does not depend on it: its Hessian is 0)
    keep: tuple[sp.Basic, ...] = field(default=(), repr=False, compare=False)
    # inputs that come first, in this order (a traced function's parameters, in its
    # signature's order: generated code takes them so)
    order: tuple[sp.Basic, ...] = field(default=(), repr=False, compare=False)
    # how the source was read (``parse_latex``'s readings): a derivation of the graph says so
    notes: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.equations, tuple):
            object.__setattr__(self, "equations", tuple(self.equations))

    def symbol(self, name: str) -> sp.Basic | None:
        """The input or stage called ``name`` in this graph, if any."""
        if not self._index:  # built when first asked (derive never asks)
            for i, eq in enumerate(self.equations):
                for a in (*eq.atoms, eq.lhs):
                    self._index.setdefault(str(a.name), (i, a))
        hit = self._index.get(name)
        if hit is None:
            return None
        i, sym = hit
        if i < len(self.equations) and (self.equations[i].lhs == sym or any(
                a == sym for a in self.equations[i].atoms)):
            return sym
        for eq in self.equations:  # the shared index holds a sibling's entry: look it up
            for a in (*eq.atoms, eq.lhs):
                if str(a.name) == name:
                    return a
        return None

    @property
    def output(self) -> sp.Basic:
        if not self.equations:
            raise GraphError("the graph is empty")
        return self.equations[-1].lhs

    @property
    def inputs(self) -> tuple[sp.Basic, ...]:
        """The symbols the equations use but do not bind, in order of first use, then those
        in ``keep`` (found once); those in ``order`` first, in its order. A named dimension
        that an equation reads as a number (``dimensions``) is none of them: the values'
        shapes give it, as they give the n of 𝟏ₙ."""
        if self._inputs is None:
            bound = {eq.lhs for eq in self.equations}
            seen: dict[sp.Basic, None] = {}
            for eq in self.equations:
                for a in eq.atoms:
                    if a not in bound:
                        seen.setdefault(a, None)
            for a in self.keep:
                seen.setdefault(a, None)
            dims = dimensions_of(seen)
            for a in dims:
                del seen[a]
            first = tuple(a for a in self.order if a in seen)
            object.__setattr__(self, "_dims", tuple(dims))
            object.__setattr__(self, "_inputs", first + tuple(a for a in seen if a not in first))
        return self._inputs  # type: ignore[return-value]

    @property
    def dimensions(self) -> tuple[sp.Basic, ...]:
        """The named dimensions the equations read as numbers, not inputs: ``1/n`` of
        ``mean(X, axis=1)`` with X (m, n), or of a Hessian's ``2/n`` (var(x)), as the
        backward equations of ``mean(X)`` read ``1/(m n)``."""
        _ = self.inputs
        return self._dims

    def sized(self) -> Graph:
        """This graph with each of its ``dimensions`` bound by an equation first, ``n =
        sum(𝟏ₙ)`` (the graph itself when there is none): what the reverse and forward
        sweeps and the numeric engine (``ir.lower``) walk, which know a symbol only as an
        input or as an equation's left side. 𝟏ₙ is sized when values arrive, so the engine
        reads n from the values' shapes too; the printed equations stay this graph's."""
        dims = self.dimensions
        if not dims:
            return self
        sizes = tuple(Equation(n, SumAll(OneMatrix(n, 1))) for n in dims)
        return Graph((*sizes, *self.equations), self.shapes, keep=self.keep, order=self.order,
                     notes=self.notes)

    def __len__(self) -> int:
        return len(self.equations)

    def __iter__(self) -> Iterator[Equation]:
        return iter(self.equations)

    def definition(self, s: sp.Basic) -> sp.Basic | None:
        """The right side of the stage ``s`` (None for an input)."""
        return next((eq.rhs for eq in reversed(self.equations) if eq.lhs == s), None)

    def let(self, name: str, expr: str | sp.Basic, *, limits: Limits | None = None,
            syntax: Syntax = "text") -> Graph:
        """A new graph with one more stage ``name = expr`` (cost: this stage only).

        ``limits`` bounds text (``sbp.Limits``; the defaults suit a web service); ``syntax``
        reads it as the text language (with paper notation) or as ``"latex"``.
        """
        check_name(name, "stage name")
        if self.symbol(name) is not None:
            raise GraphError(f"{name!r} is bound twice (or is also an input)")
        b = Builder(self.shapes, resolve=self.symbol)
        b.earlier = self.definition
        if isinstance(expr, str):
            term = parse_into(b, expr, limits, syntax)
        elif isinstance(expr, sp.Basic):
            term = b.add_expr(expr, limits.max_int_bits if limits else 256,
                              inputs_only=True)  # earlier stages by name (adopt)
        else:
            raise TypeError(f"let() takes text or a SymPy expression, not {type(expr).__name__}")
        rhs = assemble(b, term, limits)
        lhs = make_symbol(name, shape_of(rhs))
        n = len(self.equations)
        for a in (*atoms_in_order(rhs), lhs):
            if self.symbol(str(a.name)) is None:
                self._index[str(a.name)] = (n, a)
        g = Graph((*self.equations, Equation(lhs, rhs)), self.shapes, self._index,
                  notes=self.notes)
        return g

    def to_builder(self, max_int_bits: int = 256) -> Builder:
        b = Builder(self.shapes)
        for s in self.inputs:
            b.adopt(s)
        b.kept = self.keep
        if self.notes:
            b.reading = Reading("", (), notes=self.notes)
        stage: dict[sp.Basic, sp.Basic] = {}
        for eq in self.equations:
            term = b.add_expr(replace_args(eq.rhs, stage), max_int_bits)
            stage[eq.lhs] = like(b.bind(str(eq.lhs.name), term), eq.lhs)  # (a 1×1's
            # cotangent is a number: a Hessian's g_s = sum(g_t ⊙ x) of a 1×1 s)
        if self.equations:
            b.output = b.symbols[str(self.output.name)]
        return b

    def validate(self) -> Graph:
        validate(self)
        return self


def validate(g: Graph) -> None:
    """Every name bound once, never used before it is bound, shapes consistent."""
    if _valid(g.equations):
        return
    bound: set[sp.Basic] = set()
    names: dict[str, sp.Basic] = {}
    later = {eq.lhs for eq in g.equations}
    # a scalar input named as a dimension the graph reads as a number (sum(mean(z, axis=0))
    # * n, z (n, 1)): two symbols of one name, the values make them one number (evaluate)
    dims = set(g.dimensions)
    for i, eq in enumerate(g.equations):
        if not isinstance(eq.lhs, (sp.Symbol, sp.MatrixSymbol)):
            raise GraphError(f"equation {i + 1}: the left side {eq.lhs} is not a symbol")
        if eq.lhs in bound:
            raise GraphError(f"equation {i + 1}: {eq.lhs} is bound twice")
        for a in eq.atoms:
            if a in later and a not in bound:
                raise GraphError(f"equation {i + 1}: {a} is used before it is bound")
            other = names.setdefault(str(a.name), a)
            if other is not a and other != a and not (
                    (a in dims or other in dims) and shape_of(a) is shape_of(other) is None):
                raise ShapeError(f"{a.name} is used with two shapes: "
                                 f"{fmt_shape(shape_of(other))} and {fmt_shape(shape_of(a))}")
        if shape_of(eq.lhs) != shape_of(eq.rhs):
            raise ShapeError(f"equation {i + 1}: {eq.lhs} is {fmt_shape(shape_of(eq.lhs))} "
                             f"but its right side is {fmt_shape(shape_of(eq.rhs))}")
        bound.add(eq.lhs)
        names.setdefault(str(eq.lhs.name), eq.lhs)


def _valid(eqs: tuple[Equation, ...]) -> bool:
    """``validate``'s checks on a graph of scalar symbols, in one pass with a dictionary of
    positions; False when it is anything else, or breaks a rule (then ``validate`` looks
    equation by equation and says which)."""
    at: dict[sp.Basic, int] = {}
    for i, eq in enumerate(eqs):
        if type(eq.lhs) is not sp.Symbol or eq.lhs in at or is_matrix(eq.rhs):
            return False
        at[eq.lhs] = i
    names: dict[str, sp.Basic] = {}
    for i, eq in enumerate(eqs):
        for a in eq.atoms:
            if at.get(a, -1) >= i:  # used before it is bound (or by its own equation)
                return False
            other = names.setdefault(a.name, a)
            if other is not a and other != a:
                return False
        other = names.setdefault(eq.lhs.name, eq.lhs)
        if other is not eq.lhs and other != eq.lhs:
            return False
    return True
