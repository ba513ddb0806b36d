"""The mechanisms behind the wrong-gradient classes of issue 19, tested where they live.

The differential fuzzer (test_differential.py) finds wrong gradients end to end; these tests
pin each root cause to its function so a regression names the broken piece.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.algebra import hadamard, mscale
from symbackprop.functions import SumAll
from symbackprop.grouping import fresh_names

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


@pytest.mark.parametrize("granularity", ["auto", "primitive", "layers", "stages"])
def test_a_named_stage_is_the_node_it_names_not_a_copy_of_it(granularity):
    """``h1 = sigmoid(z1)`` at every granularity: the node named h1 is the equation h1, never
    ``h = σ(z1); h1 = h`` (a copy, with a trivial line in the backward pass); a name given to
    another name stays the user's own copy."""
    sh = {"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (1, 3), "b2": (1, 1)}
    d = sbp.derive("z1 = W1@x + b1; h1 = sigmoid(z1); W2@h1 + b2", shapes=sh,
                   granularity=granularity)
    rhs = {str(e.lhs): e.rhs for e in d.forward}
    assert str(rhs["h1"]) == "sigmoid(z1)"
    assert not any(e.rhs in {f.lhs for f in d.forward} for e in d.forward)  # no copies
    d = sbp.derive("z = x*y; h = sin(z); h*x", granularity=granularity)
    assert [str(e.lhs) for e in d.forward][:2] == ["z", "h"]
    assert str(d.forward[1].rhs) == "sin(z)"
    d = sbp.derive("a = x*y; b = a; b*x", granularity=granularity)
    assert str({str(e.lhs): e.rhs for e in d.forward}["b"]) == "a"


@pytest.mark.parametrize("granularity", ["auto", "primitive", "layers", "stages"])
@pytest.mark.parametrize(("text", "shapes"), [
    ("mu = mean(X, axis=(0, 2, 3)); v = var(X, axis=(0, 2, 3)); L = sum(v) + sum(mu**2)",
     {"X": (2, 3, 2, 2)}),
    ("mu = mean(X, axis=1); v = var(X, axis=1); L = sum(hadamard(v, mu))", {"X": (3, 4)}),
    ("s = 2*sin(x); t = 2*sin(x) + y; s*t", {}),
])
def test_a_later_use_of_a_named_expression_reads_the_name(granularity, text, shapes):
    """After ``mu = mean(X)``, the mean inside ``var(X)`` (the same expression, built again)
    is the node named mu: v = mean((X − μ)²), not the mean written out once more; the
    gradient flows to X through μ as Ioffe and Szegedy write batch normalisation's."""
    d = sbp.derive(text, shapes=shapes, granularity=granularity)
    by_name = {str(e.lhs): e for e in d.forward}
    first, second = (by_name[s.split(" =")[0].strip()] for s in text.split(";")[:2])
    assert not isinstance(first.rhs, (sp.Symbol, sp.MatrixSymbol))  # mu = t_2: a copy
    reads, todo = set(), [second]
    while todo:  # everything the second stage reads, through the equations
        for a in todo.pop().atoms:
            if a not in reads and str(a) in by_name:
                reads.add(a)
                todo.append(by_name[str(a)])
    assert first.lhs in reads, f"{second.lhs} recomputes {first.lhs}"
    rng = np.random.default_rng(0)
    values = {k: rng.standard_normal(v) for k, v in shapes.items()} or {"x": 0.3, "y": -0.7}
    assert d.check(values).ok


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


# --- refusals found by the fuzzer: each a mechanism, tested beyond the input it came from

RNG = np.random.default_rng(7)
MATS = {"A": (2, 3), "B": (3, 2), "C": (2, 2), "D": (2, 4), "x": (2, 1), "E": (2, 4)}


def _values(shapes):
    return {k: RNG.uniform(0.3, 1.2, v) for k, v in shapes.items()}


@pytest.mark.parametrize("granularity", ["auto", "primitive", "stages", "layers"])
@pytest.mark.parametrize("text", ["L = sum(A @ B @ C @ D)", "L = sum(tanh(A @ B @ C) * C)",
                                  "L = sum(C @ x + E)"])  # C x spread over E's columns
def test_products_of_many_matrices_in_one_node_are_a_chain_of_products(text, granularity):
    d = sbp.derive(text, shapes=MATS, granularity=granularity)
    report = d.check(_values({k: MATS[k] for k in map(str, d.inputs)}))
    assert report.ok, report


@pytest.mark.parametrize("n", [3, 4])
@pytest.mark.parametrize("f", [sp.Max, sp.Min])
def test_a_sympy_max_of_many_arguments_is_nested_binary(f, n):
    """SymPy flattens max(max(a, b), c) to Max(a, b, c); the gradient is sympy.diff's."""
    xs = sp.symbols(f"x:{n}", real=True)
    e = f(*[(k + 1) * x for k, x in enumerate(xs)]) * xs[0]
    d = sbp.derive(e)
    point = {str(x): v for x, v in zip(xs, [0.3, -0.2, 0.25, 0.05], strict=False)}
    got = d.evaluate(point)
    for x in xs:
        want = float(sp.diff(e, x).subs({sp.Symbol(k, real=True): v for k, v in point.items()}))
        assert got[str(x)] == pytest.approx(want), x


def test_renaming_keeps_a_nested_max_binary():
    d = sbp.derive("s = 2*x; L = max(max(x, s), w)", names={"s": "u"})
    assert d.evaluate({"x": 0.5, "w": 0.1}) == pytest.approx({"x": 2.0, "w": 0.0})


@pytest.mark.parametrize("granularity", ["auto", "primitive", "stages"])
@pytest.mark.parametrize("text", [
    "L = x ** sum(A @ B)",                  # Pow factors its exponent (MatAdd TypeError)
    "L = x ** sum(C + 2) * x ** sum(C)",    # Mul merges x^a x^b into x^(a+b)
    "L = 2 ** (sin(sum(C + 2)) + 1)",
    "L = sqrt(exp(sum(sin(C * (2 + exp(sum(C.T))))) + 2))",  # |.| walks into a MatMul
])
def test_a_reduction_sympy_cannot_inline_stays_an_equation(text, granularity):
    shapes = {k: MATS[k] for k in "ABC"}
    d = sbp.derive(text, shapes=shapes, granularity=granularity)
    values = {"x": 1.3, **_values(shapes)}
    report = d.check({k: values[k] for k in map(str, d.inputs)})
    assert report.ok, report


def test_random_values_keep_what_sympy_was_told():
    x = sp.Symbol("x", positive=True)
    n = sp.Symbol("n", integer=True, negative=True)
    d = sbp.derive(sp.sqrt(x**2) * sp.log(x) + x**n)  # sqrt(x²) = x only for x > 0
    assert d.check().ok
    with pytest.raises(ValueError, match="positive"):
        d.check({"x": -2.0, "n": -1})


def test_check_sizes_its_arrays_by_the_derivations_limits():
    d = sbp.derive("sum(W @ x)", shapes={"W": ("n", "m"), "x": ("m", 1)},
                   limits=sbp.Limits(max_elements=1000))
    with pytest.raises(sbp.LimitError, match="1,600 entries"):
        d.check({"W": np.ones((40, 40)), "x": np.ones((40, 1))})
    assert d.check({"W": np.ones((10, 10)), "x": np.ones((10, 1))}).ok


@pytest.mark.parametrize("coeff", [1, -1, sp.Rational(3, 2)])
@pytest.mark.parametrize("exps", [(1, 1, 1), (1, -1, 1), (-1, -1), (1,), (2, sp.S.Half, -1),
                                  (1,) * 32])
def test_partials_of_a_product_are_sympys_diff(exps, coeff):
    """The product's partials are built directly (sp.diff of 32 factors took 30 ms); they must
    be the very expressions sp.diff gives."""
    from symbackprop.recognise import Prim, local_partials, placeholders, template

    ops_ = tuple(sp.Symbol(f"q{k}") for k in range(len(exps)))
    p = Prim("mul", ops_, (("coeff", coeff), ("exps", tuple(sp.S(e) for e in exps))))
    ph = placeholders(len(exps))
    assert local_partials(p) == tuple(sp.diff(template(p, ph), x) for x in ph)
