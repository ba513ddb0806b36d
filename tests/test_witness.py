"""d.check() never says ok to a wrong gradient: the source as written is a witness.

Each wrong derivation here is made on purpose (a graph that lost a term, a parser that reads
a stage named ``pi`` as π, an ``ops`` function that drops a sign): the symbolic gradients,
the engine and finite differences of the graph all agree on the wrong number, and only the
source (issue 19 part 4; issue 11 part 1) can tell.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.builder import Equation
from symbackprop.check.witness import witness
from symbackprop.derive import Derivation
from symbackprop.graph import Graph

parse_module = importlib.import_module("symbackprop.parse")
ops = importlib.import_module("symbackprop.ops")

SH = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}


def wrong(source: Any, equations: list[Equation], wrt: list[str], **kw: Any) -> Derivation:
    """A derivation of ``source`` whose graph is ``equations`` (a graph that lost a term)."""
    d = sbp.derive(source, **kw)
    g = Graph(tuple(equations), dict(d.graph.shapes))
    return Derivation(g, [s for s in g.inputs if str(s.name) in wrt], d.options,
                      loss=d.loss, source=source)


def disagree(report: Any) -> str:
    assert not report.ok
    assert report.failures, repr(report)
    assert "ok" not in [r.status for r in report.rows]
    return " ".join(report.failures)


# --- issue 19's classes, as the graph had them -------------------------------------------


def test_a_stage_named_pi_read_as_the_constant_fails() -> None:
    z, dz = sp.symbols("z dz")
    d = wrong("pi = 1; dz = pi*z", [Equation(dz, sp.pi * z)], ["z"])
    assert d.gradients == {z: sp.pi}  # the wrong gradient, and every graph witness agrees
    msg = disagree(d.check())
    assert "the graph and the source disagree" in msg
    assert "the text as written" in msg


def test_a_stage_named_pi_lost_input_fails_even_with_nothing_to_differentiate() -> None:
    lam = sp.Symbol("lam")
    d = wrong("pi = b; lam = pi", [Equation(lam, sp.pi)], [])
    assert "the graph and the source disagree" in disagree(d.check())


def test_parser_reading_pi_as_the_constant_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    bound = parse_module._Parser.bound
    monkeypatch.setattr(parse_module._Parser, "bound",
                        lambda self, n: False if n == "pi" else bound(self, n))
    d = sbp.derive("pi = 1; dz = pi*z")
    assert list(d.gradients.values()) == [sp.pi]
    disagree(d.check())
    d = sbp.derive("pi = b; lam = pi + b")
    disagree(d.check())


def test_generated_name_colliding_with_v_1_fails() -> None:
    b, t, v1, L = sp.symbols("b t v_1 L")
    d = wrong("L = -(b*b) + v_1 + t", [Equation(v1, b**2), Equation(L, t)], ["b", "t"])
    assert disagree(d.check())


def test_a_cancelled_node_that_took_other_paths_fails() -> None:
    z, a, t, L = sp.symbols("z a t L")
    d = wrong("t = z*a; L = t - (t - z)", [Equation(t, z * a), Equation(L, t - z * a)],
              ["z", "a"])
    disagree(d.check({"z": 2.0, "a": 3.0}))


def test_an_ops_function_that_drops_a_sign_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ops, "neg", lambda b, x, where="-a": x)
    d = sbp.derive("L = -sum(x + B)", wrt="x", shapes={"x": (3, 2), "B": (3, 2)})
    disagree(d.check())


def test_wrong_graph_from_a_sympy_expression_fails() -> None:
    x, y, L = sp.symbols("x y L")
    d = wrong((x + y) ** 2, [Equation(L, (x + y) ** 2 + x)], ["x", "y"])
    disagree(d.check())


def test_wrong_graph_from_a_graph_fails() -> None:
    g = Graph(shapes={"x": (3, 1)}).let("h", "tanh(x)").let("L", "sum(h)")
    off = Graph(shapes={"x": (3, 1)}).let("h", "tanh(x)").let("L", "sum(h) + 1")
    d = sbp.derive(g)
    disagree(Derivation(off, d.wrt, d.options, source=g).check())


# --- what the source witness accepts ------------------------------------------------------


@pytest.mark.parametrize(("source", "kw"), [
    ("t = z*a; L = t - (t - z)", {}),
    ("pi*z", {}),
    ("pi = 1; dz = pi*z", {}),
    ("L = x - x + y", {}),  # SymPy rightly drops x: its gradient is 0
    ("a1 = V\nL = sqnorm(lam*B)", {"shapes": {"B": (1, 2), "V": (1, 2)}}),  # an unused stage
    ("L = sum(max(W, -2))", {"shapes": {"W": (2, 2)}}),
    ("z = x*y; L = z**2", {"names": {"z": "q", "y": "w"}}),
    ("W2@sigmoid(W1@x + b1) + b2", {"shapes": SH, "loss": "mse"}),
    ("W2@sigmoid(W1@x + b1) + b2", {"shapes": SH, "loss": "cross_entropy"}),
    ("W2*tanh(W1*X + b1)", {"shapes": {**SH, "X": (3, 5), "W2": (1, 4)}, "loss": "mse"}),
    ("L = sqnorm(x - A)/3 + sum(softmax(hadamard(A, x))) + sum(x.T@A)",
     {"shapes": {"x": (3, 2), "A": (3, 2)}}),
])
def test_right_derivations_pass_with_the_source_as_witness(source: str, kw: Any) -> None:
    r = sbp.derive(source, **kw).check()
    assert r.ok, str(r)
    assert not r.failures
    assert any("the text as written" in n for n in r.notes)


def test_the_witness_evaluates_the_text_not_the_graph() -> None:
    d = sbp.derive("t = z*a; L = t - (t - z)")
    w = witness(d)
    assert w is not None
    assert w.kind == "the text as written"
    assert set(w.inputs) == {"z", "a"}
    runner = w.runner({}, {"z": np.float64(2.0), "a": np.float64(3.0)})
    assert runner.run() == 2.0


def test_text_semantics_of_the_witness() -> None:
    """``*`` between matrices is the matrix product; a column spreads over a batch; softmax
    is per column; mse and cross_entropy as documented."""
    sh = {"W": (2, 3), "X": (3, 4), "b": (2, 1), "y": (2, 4)}
    rng = np.random.default_rng(0)
    vals = {k: rng.normal(size=v) for k, v in sh.items()}
    text = "o = W*X + b; L = mse(o, y) + cross_entropy(o, y) + sum(softmax(o))"
    w = witness(sbp.derive(text, shapes=sh))
    assert w is not None
    got = w.runner({}, {k: np.array(v) for k, v in vals.items()}).run()
    o = vals["W"] @ vals["X"] + vals["b"]
    logp = o - np.log(np.sum(np.exp(o), axis=0, keepdims=True))
    want = 0.5 * np.sum((o - vals["y"]) ** 2) - np.sum(vals["y"] * logp) + o.shape[1]
    assert got == pytest.approx(want, rel=1e-12)


def test_sympy_and_graph_sources_are_witnesses() -> None:
    x, y = sp.symbols("x y")
    d = sbp.derive((x + y) ** 2 * sp.sin(x))
    assert d.check().ok
    assert "the SymPy expression as given" in str(d.check())
    g = Graph(shapes={"W1": (4, 3), "x": (3, 1), "b1": (4, 1)}).let("z", "W1@x + b1")
    r = sbp.derive(g.let("h", "sigmoid(z)"), loss="cross_entropy").check()
    assert r.ok
    assert "the graph's equations" in str(r)


def test_check_values_must_be_a_mapping() -> None:
    d = sbp.derive("(x + y)**2")
    with pytest.raises(TypeError, match="values must map input names"):
        d.check([1, 2])  # type: ignore[arg-type]


# --- the user's function is a witness (issue 11 part 1) ---------------------------------


def test_function_witness_runs_the_function_on_numbers() -> None:
    calls: list[float] = []

    def f(w: float, x: float, b: float) -> float:
        calls.append(w)
        return math.tanh(w * x + b)

    r = sbp.derive(f).check()
    assert r.ok
    assert "your function" in str(r)
    assert any(isinstance(c, float) for c in calls)  # called with numbers, not symbols


def test_a_trace_that_differs_from_the_function_is_an_error(monkeypatch: pytest.MonkeyPatch,
                                                            ) -> None:
    monkeypatch.setattr(ops, "neg", lambda b, x, where="-a": x)  # the trace loses a sign
    with pytest.raises(sbp.GradcheckError, match="the trace and the function disagree"):
        sbp.gradcheck(lambda x, y: -x * y + y, {"x": 0.7, "y": 1.3})
    with pytest.raises(sbp.GradcheckError, match="the trace and the function disagree"):
        sbp.gradcheck(lambda x, y: -x * y + y, {"x": 0.7, "y": 1.3},
                      grad=lambda x, y: {"x": -y, "y": 1 - x})


def test_function_with_a_loss_and_1d_inputs() -> None:
    d = sbp.derive(lambda W, x: np.tanh(W @ x), shapes={"W": (2, 3), "x": (3,)}, loss="mse")
    r = d.check()
    assert r.ok, str(r)


@pytest.mark.parametrize("text", [
    "L = a * b * c * a",                       # an input in two operands: recomputed in full
    "t = a - b + c - d; L = t * (a + b) * c * d",
    "L = sum(A * B * C * x) * c",              # * of matrices is the matrix product
    "L = sum(A * x) - c + d * a - b",
])
def test_a_chain_with_one_changed_operand_matches_a_full_run(text: str) -> None:
    """Finite differences rerun only a chain's changed operand between kept partial results;
    every perturbation (and the restored point, and a second input moved at once) gives
    what a runner that computes everything gives."""
    shapes = {"A": (2, 3), "B": (3, 2), "C": (2, 3), "x": (3, 1)}
    d = sbp.derive(text, shapes=shapes)
    w = witness(d)
    assert w is not None
    rng = np.random.default_rng(3)
    vals = {n: rng.uniform(0.5, 1.5, shapes.get(n, ())) for n in w.inputs}
    runner = w.runner({}, {k: np.array(v) for k, v in vals.items()})
    runner.run()
    for first in w.inputs:
        for second in (None, *w.inputs):
            moved = sorted({n for n in (first, second) if n is not None})
            for n in moved:
                runner.array(n).flat[0] += 0.25
            got = [runner.run(n) for n in moved][-1]
            fresh = w.runner({}, {k: runner.array(k).copy() for k in w.inputs}).run()
            assert got == pytest.approx(fresh, rel=1e-12), (first, second)
            for n in moved:
                runner.array(n).flat[0] -= 0.25
                runner.run(n)


def test_an_unused_stage_reading_an_input_in_wrt_is_no_disagreement() -> None:
    """wrt keeps B as an input (its gradient 0) though the output never reads it: the graph
    does not read B either, so the graph and the text as written agree (a held-out case was
    a false 'the graph reads B, which the text as written does not')."""
    d = sbp.derive("u = sin(B); L = sum(hadamard(A, A))", shapes={"A": (2, 2), "B": (2, 2)},
                   wrt=["A", "B"])
    report = d.check({"A": np.eye(2), "B": np.ones((2, 2))})
    assert report.ok, report
    np.testing.assert_array_equal(d.evaluate({"A": np.eye(2), "B": np.ones((2, 2))})["B"], 0)
