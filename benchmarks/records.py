"""The records the benchmarks measure and ``report.py`` tabulates (one module both import,
so the report does not import the benchmarks that call it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .measure import Limited


@dataclass
class CheckCost:
    batch: int
    params: int
    check: float
    step: float
    forward: float
    fd_evaluations: int
    ok: bool
    repeats: int

    @property
    def budget(self) -> float:
        return 10 * self.step + self.fd_evaluations * self.forward

    @property
    def ratio_step(self) -> float:
        return self.check / self.step

    @property
    def ratio_budget(self) -> float:
        return self.check / self.budget


@dataclass
class Emission:
    family: str
    size: str
    equations: int
    seconds: dict[str, float]
    chars: dict[str, int]

    def per_equation(self, fmt: str) -> float:
        return self.seconds[fmt] / self.equations


@dataclass
class PrintCost:
    """``d.latex()`` of a scalarised network against its ``derive`` (issue 22 part 2)."""

    size: str
    params: int
    derive: float
    latex: float
    chars: int
    repeats: int

    @property
    def ratio(self) -> float:
        return self.latex / self.derive


@dataclass
class Point:
    family: str
    size: str
    nodes: int
    seconds: float
    repeats: int

    @property
    def per_node(self) -> float:
        return self.seconds / self.nodes


@dataclass
class Ours:
    seconds: float
    repeats: int
    forward_eqs: int
    backward_eqs: int
    forward_ops: int
    backward_ops: int

    @property
    def ratio(self) -> float:
        return self.backward_ops / self.forward_ops


@dataclass
class Case:
    family: str
    arg: Any
    name: str
    params: int
    ours: Ours
    sympy: Limited
    symengine: Limited | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def speedup(self) -> float:
        if not self.sympy.ok:
            return float("nan")
        return float(self.sympy.value["seconds"]) / self.ours.seconds
