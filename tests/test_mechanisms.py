"""The mechanisms behind the wrong-gradient classes of issue 19, tested where they live.

The differential fuzzer (test_differential.py) finds wrong gradients end to end; these tests
pin each root cause to its function so a regression names the broken piece.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.functions import SumAll
from symbackprop.graph import fresh_names
from symbackprop.rules import hadamard, mscale

A = sp.MatrixSymbol("A", 2, 3)
ONES = sp.OneMatrix(2, 3)
c = sp.Symbol("c", real=True)


def _explicit(x):
    return sp.Matrix(x.as_explicit()) if getattr(x, "is_Matrix", False) else x


@pytest.mark.parametrize(
    "args",
    [
        (mscale(2, ONES), 3),  # 2·𝟏 ⊙ 3 is 6·𝟏, not 12·𝟏
        (mscale(c, ONES), A),  # c·𝟏 ⊙ A is c·A, not c²·A
        (mscale(2 * c, A), A),
        (mscale(-1, ONES), 1),
    ],
)
def test_hadamard_takes_each_scalar_once(args):
    """The element-wise product, entry by entry, against the explicit matrices."""
    want = sp.ones(2, 3)
    for a in args:
        e = _explicit(a)
        want = want.multiply_elementwise(e) if isinstance(e, sp.MatrixBase) else want * e
    assert sp.expand(_explicit(hadamard(*args)) - want) == sp.zeros(2, 3)


def test_fresh_names_never_take_a_users_name():
    taken = {"t", "t_1", "v_1", "v", "u_2"}
    names = fresh_names(5, taken)
    assert len(set(names)) == 5
    assert not set(names) & taken
    assert fresh_names(1, set()) == ["t"]
    assert fresh_names(3, {"u_1"}) == ["t_1", "t_2", "t_3"]
    # every base used by the user: numbering skips the taken names
    crowded = {f"{b}_{i}" for b in "tvusw" for i in (1, 2)}
    names = fresh_names(3, crowded)
    assert not set(names) & crowded
    assert len(set(names)) == 3


@pytest.mark.parametrize("granularity", ["auto", "primitive", "layers", "stages"])
def test_generated_names_do_not_capture_inputs(granularity):
    d = sbp.derive("L = -(b*b) + v_1 + t", granularity=granularity)
    assert {s.name for s in d.wrt} == {"b", "v_1", "t"}
    g = d.evaluate({"b": 1.5, "v_1": 2.0, "t": 3.0})
    assert g == pytest.approx({"b": -3.0, "v_1": 1.0, "t": 1.0})


def test_a_stage_whose_uses_cancel_keeps_its_operands_other_paths():
    # inlining t - (t - z) gives z: the stage t is no longer used, z's direct path remains
    d = sbp.derive("t = z*a; L = t - (t - z)")
    assert d.evaluate({"z": 2.0, "a": 3.0}) == pytest.approx({"z": 1.0, "a": 0.0})
    d = sbp.derive("u = c; L = u/(u*c)")
    assert d.evaluate({"c": 2.0}) == pytest.approx({"c": -0.25})


@pytest.mark.parametrize("name", ["pi", "E", "I", "N", "S", "beta", "gamma"])
def test_a_bound_name_is_never_a_sympy_constant(name):
    d = sbp.derive(f"{name} = b; lam = 3*{name}")
    assert d.evaluate({"b": 1.0}) == pytest.approx({"b": 3.0})
    d = sbp.derive(f"{name} = 1; dz = {name}*z")
    assert d.evaluate({"z": 5.0}) == pytest.approx({"z": 1.0})


def test_pi_unbound_is_the_constant_and_rebinding_it_later_is_refused():
    d = sbp.derive("sin(pi*x)")
    assert d.evaluate({"x": 0.25})["x"] == pytest.approx(np.pi * np.cos(np.pi / 4))
    d = sbp.derive("sin(pi*x)", shapes={"pi": ()})  # declared: an input like any other
    assert {s.name for s in d.wrt} == {"pi", "x"}
    with pytest.raises(sbp.ParseError, match="read as the constant"):
        sbp.derive("lam = pi*2; pi = b")


@pytest.mark.parametrize("granularity", ["auto", "primitive", "layers", "stages"])
def test_layers_accepts_alias_stages(granularity):
    sh = {"B": (2, 2)}
    for text in ("a = B; L = sum(a)", "t = B; u = t; L = sum(u)", "a = B.T; L = sum(a*a)"):
        d = sbp.derive(text, shapes=sh, granularity=granularity)
        assert d.check({"B": np.arange(4.0).reshape(2, 2) / 4}).ok


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("h = 2; s1 = (W*2)*h; L = sum(s1)", 4.0),  # MatMul((2h), W): the Mul is one argument
        ("L = sum((W*2)*h)", 4.0),
        ("L = sum(W*h*g*3)", 30.0),
        ("L = sum(W/h*3)", 1.5),
    ],
)
def test_a_scalar_factor_of_a_matrix_is_taken_once(text, want):
    d = sbp.derive(text, shapes={"W": (2, 2)}, wrt="W")
    assert d.evaluate({"W": np.ones((2, 2)), "h": 2.0, "g": 5.0})["W"] == pytest.approx(
        np.full((2, 2), want))


def test_a_scaled_product_of_three_matrices_from_sympy():
    A, B, C = (sp.MatrixSymbol(n, 2, 2) for n in "ABC")
    h = sp.Symbol("h", real=True)
    d = sbp.derive(SumAll(sp.MatMul(2 * h, A, B, C)), wrt="A")
    v = {"A": np.eye(2), "B": np.eye(2), "C": np.eye(2), "h": 1.0}
    assert d.evaluate(v)["A"] == pytest.approx(np.full((2, 2), 2.0))
