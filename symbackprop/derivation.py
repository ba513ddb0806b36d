"""The derivation as a record: the graph, the reverse sweep's results, the options and the
source, with the views of it that every consumer reads (paths, local Jacobians, gradients in
the inputs). Emitters, the evaluator and the checks read this record; ``derive.py`` builds
it and adds the API's outputs (``latex()``, ``evaluate()``, ``check()``, ...) on top.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

import sympy as sp

from .algebra import is_matrix, like, tidy
from .builder import Equation, Granularity, substitute, tree_size
from .errors import OptionError
from .graph import Graph
from .notation import AdjointStyle, Layout
from .sweep import Backward, Term, is_step, jacobian, reverse_sweep
from .tangents import Tangents, forward_sweep

if TYPE_CHECKING:
    from .limits import Limits
    from .paper import Reading
    from .parse import Syntax

Mode = Literal["reverse", "forward"]

NOT_SCALAR = ("the output is {shape}; backpropagation needs a scalar: pass loss='mse' or "
               "loss='cross_entropy', or write sum(...)")


@dataclass(frozen=True, slots=True)
class Options:
    """How a derivation is decomposed and written; one frozen record, passed down whole."""

    layout: Layout = "denominator"
    adjoint: AdjointStyle = "frac"
    granularity: Granularity = "auto"
    names: Mapping[str, str] = field(default_factory=dict)
    max_paths: int = 12
    syntax: Syntax = "text"
    mode: Mode = "reverse"

    def __post_init__(self) -> None:
        for option, choices in (("layout", ("numerator", "denominator")),
                                ("adjoint", ("frac", "bar", "delta")),
                                ("mode", ("reverse", "forward")), ("syntax", ("text", "latex")),
                                ("granularity", ("auto", "primitive", "layers", "stages"))):
            value = getattr(self, option)
            if value not in choices:
                raise OptionError(f"{option} must be {_one_of(choices)}, not {value!r}",
                                  choices)


def _one_of(choices: tuple[str, ...]) -> str:
    """'a', 'b' or 'c'."""
    quoted = [repr(c) for c in choices]
    return ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


class Derivation:
    """A derivation: forward equations, local partials, backward (adjoint) equations, gradients.

    The record that ``derive`` builds (``symbackprop.Derivation`` adds the outputs to it):
    ``graph``, ``wrt``, ``options``, ``loss``, ``source``, and the sweep's ``adjoints``,
    ``terms``, ``partials``, ``backward``, ``groups``.
    """

    graph: Graph
    wrt: tuple[sp.Basic, ...]
    options: Options
    loss: str | None
    source: Any
    limits: Limits | None
    reading: Reading | None
    output: sp.Basic
    sweep: Backward
    adjoints: dict[sp.Basic, sp.Basic]
    terms: dict[sp.Basic, list[Term]]
    partials: dict[tuple[sp.Basic, sp.Basic], sp.Basic]
    backward: tuple[Equation, ...]
    groups: list[list[sp.Basic]]

    def __init__(self, graph: Graph, wrt: Sequence[sp.Basic], options: Options,
                 loss: str | None = None, source: Any = None,
                 limits: Limits | None = None, reading: Reading | None = None) -> None:
        wrt = tuple(wrt)
        # a named dimension read as a number (1/n) bound by an equation of its own for the
        # sweeps and the engine: never an input (``Graph.sized``)
        walked = graph.sized()
        if not is_matrix(graph.output):
            sweep = reverse_sweep(walked, wrt)
        else:  # a Jacobian (jacobians.py): tangents, or the sweeps of ⟨G, y⟩, give it
            sweep = Backward({}, {}, {}, (), [], walked)
        fields = {
            "graph": graph, "wrt": wrt, "options": options, "loss": loss, "source": source,
            "limits": limits,  # evaluate and check size their arrays by it (None: defaults)
            "reading": reading,  # how text was read (implicit products, LaTeX), else None
            "output": graph.output, "sweep": sweep,
            # the sweep's results, by the names the public contract gives them
            "adjoints": sweep.adjoints, "terms": sweep.terms, "partials": sweep.partials,
            "backward": sweep.backward, "groups": sweep.groups,
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"a Derivation is a record: {name!r} cannot be set (derive "
                             "again, or build Derivation(graph, wrt, options, ...))")

    __delattr__ = __setattr__  # type: ignore[assignment]

    # the public view ---------------------------------------------------------------------
    @property
    def forward(self) -> tuple[Equation, ...]:
        return self.graph.equations

    @property
    def inputs(self) -> tuple[sp.Basic, ...]:
        return self.graph.inputs

    @property
    def is_matrix(self) -> bool:
        return any(is_matrix(s) for s in (*self.graph.inputs, *(e.lhs for e in self.forward)))

    @property
    def readings(self) -> tuple[str, ...]:
        """How implicit products in the text were read (``"'W1x' read as W1·x"``)."""
        return self.reading.notes if self.reading is not None else ()

    @property
    def is_jacobian(self) -> bool:
        """Whether the output is not a scalar: the derivation is of a Jacobian then."""
        return is_matrix(self.output)

    @property
    def tangent_sweep(self) -> Tangents:
        """The forward sweep (made when first asked): ``tangents`` (variable → v̇) and the
        tangent ``equations``."""
        found: Tangents | None = self.__dict__.get("_tangents")
        if found is None:
            found = self.__dict__["_tangents"] = forward_sweep(self.sweep.graph, self.wrt)
        return found

    @property
    def tangents(self) -> dict[sp.Basic, sp.Basic]:
        """Each variable that depends on ``wrt`` → its tangent symbol v̇."""
        return self.tangent_sweep.tangents

    @property
    def tangent_equations(self) -> tuple[Equation, ...]:
        """``v̇ = …`` for every intermediate that depends on ``wrt``, in computing order."""
        return self.tangent_sweep.equations

    def analytic_witnesses(self) -> tuple[tuple[str, Callable[[Mapping[str, Any]],
                                                              Mapping[str, Any]]], ...]:
        """Further gradients ``check()`` compares, as (name, gradients of the values by
        input name): none here; ``from_torch``'s derivation adds torch.autograd."""
        return ()

    def adjoint_of(self, v: sp.Basic) -> sp.Basic:
        return self.adjoints[v]

    def paths(self, v: sp.Basic, limit: int | None = None) -> list[list[sp.Basic]]:
        """Every path ``v → … → output`` through the equations (up to ``limit`` of them)."""
        limit = self.options.max_paths if limit is None else limit
        memo: dict[tuple[sp.Basic, int], list[list[sp.Basic]]] = self.__dict__.setdefault(
            "_paths", {})  # the printers ask for a variable's paths more than once
        hit = memo.get((v, limit))
        if hit is not None:
            return [list(p) for p in hit]
        users = self._users()
        out = self.output
        found: list[list[sp.Basic]] = []
        memo[(v, limit)] = found
        # depth first; a partial path is a linked list (node, rest), so a step costs O(1)
        stack: list[tuple[sp.Basic, Any]] = [(v, None)]
        while stack:
            here = stack.pop()
            if here[0] is out:  # the equations hold the output itself (eq.lhs)
                path = []
                link: Any = here
                while link is not None:
                    path.append(link[0])
                    link = link[1]
                found.append(path[::-1])
                if len(found) > limit:
                    return [list(p) for p in found]
                continue
            stack.extend((u, here) for u in reversed(users.get(here[0], [])))
        return [list(p) for p in found]

    def path_shape(self, v: sp.Basic) -> tuple[int, int]:
        """How many paths lead from ``v`` to the output (counted up to ``max_paths + 1``)
        and how many nodes the longest has: what ``paths`` would show, without listing
        them (one pass over the graph, output side first; the printers ask for every
        parameter)."""
        shape: dict[sp.Basic, tuple[int, int]] | None = self.__dict__.get("_path_shape")
        users = self._users()
        cap = self.options.max_paths + 1
        if shape is None:
            shape = self.__dict__["_path_shape"] = {self.output: (1, 1)}
            for eq in reversed(self.forward):
                if eq.lhs is not self.output:
                    shape[eq.lhs] = self._shape_from(eq.lhs, users, shape, cap)
        hit = shape.get(v)
        if hit is None:
            hit = shape[v] = self._shape_from(v, users, shape, cap)
        return hit

    @staticmethod
    def _shape_from(v: sp.Basic, users: Mapping[sp.Basic, list[sp.Basic]],
                    shape: Mapping[sp.Basic, tuple[int, int]], cap: int) -> tuple[int, int]:
        count = longest = 0
        for u in users.get(v, ()):
            n, length = shape.get(u, (0, 0))
            if n:
                count, longest = min(count + n, cap), max(longest, length + 1)
        return count, longest

    def _users(self) -> dict[sp.Basic, list[sp.Basic]]:
        """For each variable, the equations that use it and pass a derivative back to it (a
        comparison passes none: ``sweep.is_step``), built once per derivation."""
        users: dict[sp.Basic, list[sp.Basic]] | None = self.__dict__.get("_users_map")
        if users is None:
            users = self.__dict__["_users_map"] = {}
            for eq in self.forward:
                if is_step(eq.rhs):
                    continue
                for a in eq.atoms:
                    users.setdefault(a, []).append(eq.lhs)
        return users

    def jacobian(self, u: sp.Basic, v: sp.Basic) -> sp.Basic | None:
        """∂u/∂v for one edge of the graph (numerator layout), when it has a clean form."""
        by_lhs: dict[sp.Basic, Equation] | None = self.__dict__.get("_by_lhs")
        if by_lhs is None:
            by_lhs = self.__dict__["_by_lhs"] = {e.lhs: e for e in self.forward}
        eq = by_lhs[u]
        return jacobian(eq.rhs, u, v)

    @cached_property
    def gradients(self) -> dict[sp.Basic, sp.Basic]:
        """Each wrt variable's gradient, substituted back into the inputs (built when asked)."""
        inputs_form: dict[sp.Basic, sp.Basic] = {}
        for eq in self.forward:
            inputs_form[eq.lhs] = substitute(eq.rhs, inputs_form)
        adjoint = self.adjoints_in_intermediates()
        return {v: tidy(substitute(adjoint[self.adjoints[v]], inputs_form)) for v in self.wrt}

    def adjoints_in_intermediates(self) -> dict[sp.Basic, sp.Basic]:
        """Each adjoint with the other adjoints substituted: in inputs and intermediates only."""
        value: dict[sp.Basic, sp.Basic] = self.__dict__.setdefault("_adj_values", {})
        if not value:
            into: dict[sp.Basic, sp.Basic] = {}  # what each adjoint symbol is replaced by
            for eq in self.backward:
                rhs = eq.rhs.xreplace(into) if into else eq.rhs
                value[eq.lhs] = rhs
                into[eq.lhs] = like(rhs, eq.lhs)  # a 1×1's scalar cotangent, in ∂L/∂h ⊙ h
        return value

    def expanded_size(self, v: sp.Basic) -> int:
        """How many nodes ``v``'s adjoint has once substituted into the inputs (a tree count)."""
        sizes: dict[sp.Basic, int] = self.__dict__.setdefault("_sizes", {})
        if not sizes:
            for eq in (*self.forward, *self.backward):
                sizes[eq.lhs] = tree_size(eq.rhs, sizes)
        return sizes.get(self.adjoints[v], 1)

    def gradient(self, v: sp.Basic | str) -> sp.Basic:
        return self.gradients[self._resolve(v)]

    def _resolve(self, v: sp.Basic | str) -> sp.Basic:
        for s in self.wrt:
            if s == v or str(s.name) == str(v):
                return s
        raise KeyError(f"{v} is not among wrt: {', '.join(str(s) for s in self.wrt)}")

    def __repr__(self) -> str:
        wrt = ", ".join(str(s.name) for s in self.wrt)
        return (f"<Derivation of {self.output.name}: {len(self.forward)} forward, "
                f"{len(self.backward)} backward equations; wrt {wrt}>")
