"""The reverse sweep (sweep.py), asserted where the mutation run found it untested (issue 20
part 10): a factor of one is no factor, the softmax Jacobian in its output, and the order of
the backward equations (intermediates one by one, inputs together)."""

from __future__ import annotations

import math

import pytest

import symbackprop as sbp


def test_an_adjoint_times_one_is_the_adjoint() -> None:
    assert sbp.derive("(x + y)**2").latex(sections="backward") == r"""\begin{aligned}
  \frac{\partial z}{\partial t} &= 2 t \\
  \frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t}, \qquad \frac{\partial z}{\partial y} = \frac{\partial z}{\partial t}
\end{aligned}"""


def test_the_softmax_jacobian_is_written_in_its_output() -> None:
    tex = sbp.derive("sum(softmax(v))", shapes={"v": (3, 1)}).latex(sections="chain")
    assert tex.splitlines()[2] == (
        r"  \nabla_{\mathbf{v}} L &= \left(\nabla_{\mathbf{v}} \mathbf{p}\right)\left("
        r"\nabla_{\mathbf{p}} L\right), \quad \nabla_{\mathbf{v}} \mathbf{p} = "
        r"\operatorname{diag}\left(\mathbf{p}\right) - \mathbf{p}\mathbf{p}^{\top} \\")


def test_backward_equations_in_sweep_order() -> None:
    d = sbp.derive("x*y + sin(x)")
    assert [(str(e.lhs), str(e.rhs)) for e in d.backward] == [
        ("d:z", "1"), ("d:t_1", "1"), ("d:t_2", "1"), ("d:x", "d:t_1*y + d:t_2*cos(x)"),
        ("d:y", "d:t_1*x")]
    assert [[str(s) for s in g] for g in d.groups] == [["z"], ["t_1"], ["t_2"], ["x", "y"]]


def test_a_variable_in_two_nodes_of_one_equation_gets_both_partials() -> None:
    d = sbp.derive("u = sin(x)*x + y; u")  # one stage: x in sin(x) and in the product
    assert [(str(e.lhs), str(e.rhs)) for e in d.forward] == [("u", "x*sin(x) + y")]
    assert str(d.partials[(d.output, d.wrt[1])]) == "x*cos(x) + sin(x)"
    assert d.evaluate({"x": 0.3, "y": 0.7})["x"] == pytest.approx(0.3 * math.cos(0.3)
                                                                   + math.sin(0.3))


def test_the_reverse_sweep_is_a_frozen_record() -> None:
    from dataclasses import FrozenInstanceError

    from symbackprop.sweep import reverse_sweep

    d = sbp.derive("x*y + sin(x)")
    record = reverse_sweep(d.graph, list(d.wrt))
    assert [(str(e.lhs), str(e.rhs)) for e in record.backward] == [
        (str(e.lhs), str(e.rhs)) for e in d.backward]
    with pytest.raises(FrozenInstanceError):
        record.backward = ()  # type: ignore[misc]


def test_a_partial_that_shares_a_factor_with_its_adjoint() -> None:
    # x*log(x) in one stage: the adjoint of log(x) is x, its partial 1/x; x * (1/x) is 1
    d = sbp.derive("u = x*log(x) + y; u")
    assert str(d.partials[(d.output, d.wrt[1])]) == "log(x) + 1"
    assert d.evaluate({"x": 2.0, "y": 0.5})["x"] == pytest.approx(math.log(2.0) + 1)


S = {"x": (3, 1), "a": (3, 1), "u": (3, 1)}


@pytest.mark.parametrize(("text", "jacobian"), [
    # c · s · x: c s I; a ⊙ x: diag(a); a ⊙ u ⊙ x in one node: diag(a ⊙ u)
    ("sum(relu(s*x))", r"\nabla_{\mathbf{x}} \mathbf{z} = s\,\mathbf{I}, \quad "),
    ("sum(relu(2*s*x))", r"\nabla_{\mathbf{x}} \mathbf{z} = 2 s\,\mathbf{I}, \quad "),
    ("sum(relu(2*x))", r"\nabla_{\mathbf{x}} \mathbf{z} = 2\,\mathbf{I}, \quad "),
    ("sum(relu(hadamard(a, x)))",
     r"\nabla_{\mathbf{x}} \mathbf{t} = \operatorname{diag}\left(\mathbf{a}\right), \quad "),
    ("t = hadamard(a, hadamard(u, x)); sum(relu(t))",
     r"\nabla_{\mathbf{x}} \mathbf{t} = \operatorname{diag}\left(\mathbf{a} \odot \mathbf{u}"
     r"\right) \\"),
])
def test_the_jacobian_of_a_product_with_a_vector(text: str, jacobian: str) -> None:
    assert jacobian in sbp.derive(text, shapes=S, wrt="x").latex(sections="chain")


@pytest.mark.parametrize(("text", "jacobian"), [
    ("sum(relu(2*x))", "2*I"), ("sum(relu(x/2))", "(1/2)*I"), ("sum(relu(x - a))", "I"),
    ("sum(relu(hadamard(a, x)))", "DiagJacobian(a)")])
def test_an_edge_jacobian_is_square_in_the_vectors_size(text: str, jacobian: str) -> None:
    d = sbp.derive(text, shapes=S, wrt="x")
    j = d.jacobian(d.forward[0].lhs, d.wrt[0])
    assert j is not None
    assert str(j) == jacobian
    assert j.shape == (3, 3)
