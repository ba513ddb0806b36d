"""The program of primitive nodes (``ir.lower``) that the numeric engine runs."""

from __future__ import annotations

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from programs import programs

import symbackprop as sbp
from symbackprop.check import Engine
from symbackprop.ir import lower
from symbackprop.rules import RULES

NET = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}


def test_the_seed_network_as_a_program() -> None:
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=NET, loss="mse")
    prog = lower(d.forward, d.inputs)
    assert [n.prim for n in prog.nodes] == ["matmul", "add", "sigmoid", "matmul", "add", "mse"]
    assert [prog.slot[s] for s in d.inputs] == list(prog.inputs)
    assert prog.deps[prog.slot[d.output]] == frozenset(str(s.name) for s in d.inputs)
    first = prog.nodes[0]
    assert [prog.deps[i] for i in first.inputs] == [{"W1"}, {"x"}]


def test_constants_are_variables_without_inputs() -> None:
    d = sbp.derive("sum(X @ Y.T + b)", shapes={"X": (2, 3), "Y": (4, 3), "b": (2, 1)})
    prog = lower(d.forward, d.inputs)
    kinds = sorted(c.kind for _, c in prog.consts)
    assert "ones" in kinds  # the bias spread over the batch: b 1ᵀ
    assert all(prog.deps[i] == frozenset() for i, _ in prog.consts)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_every_node_is_a_table_primitive_after_its_operands(data: st.DataObject) -> None:
    prog_ = data.draw(programs(matrix=data.draw(st.booleans())))
    try:
        d = sbp.derive(prog_.text(), shapes=prog_.shapes() or None)
    except sbp.SymbackpropError:
        return
    prog = lower(d.forward, d.inputs)
    defined = set(prog.inputs) | {i for i, _ in prog.consts}
    for n in prog.nodes:
        assert n.prim in RULES
        assert set(n.inputs) <= defined  # operands first
        assert prog.deps[n.out] == frozenset().union(*(prog.deps[i] for i in n.inputs))
        defined.add(n.out)
    engine = Engine(d)
    assert [s.name for s in engine.steps] == [n.prim for n in prog.nodes]
    assert isinstance(d.output, (sp.Symbol, sp.MatrixSymbol))


def test_variables_carry_their_names_and_shapes_of_any_rank() -> None:
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=NET, loss="mse")
    prog = lower(d.forward, d.inputs)
    by_name = {v.name: v.shape for v in prog.vars if v.name}
    assert by_name["W1"] == (4, 3)
    assert by_name["x"] == (3, 1)
    assert by_name[str(d.output.name)] == ()  # the loss: a scalar has no dimensions
    assert prog.vars[prog.output].name == str(d.output.name)
    assert all(prog.vars[n.out].shape == (() if not hasattr(n.expr, "shape")
                                          else tuple(n.expr.shape)) for n in prog.nodes)


def test_a_subexpression_inside_two_stages_is_a_node_of_each() -> None:
    g = sbp.Graph().let("a", "sin(x*y) + x").let("b", "sin(x*y)*a")
    d = sbp.derive(g, granularity="stages")
    prog = d.sweep.program
    per_eq = prog.equation_nodes(len(d.forward))
    assert [sorted(n.prim for n in nodes) for nodes in per_eq] == [
        ["add", "mul", "sin"], ["mul", "mul", "sin"]]
    for k, nodes in enumerate(per_eq):  # each equation's nodes compute its right-hand side
        assert nodes[-1].expr == d.forward[k].rhs
    assert d.check().ok
