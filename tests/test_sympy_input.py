"""SymPy expressions as input are checked like text: shapes, number sizes, unknown functions."""

from __future__ import annotations

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.functions import Elementwise, SumAll

x = sp.Symbol("x", real=True)
n, m, k = sp.symbols("n m k", integer=True, positive=True)


@pytest.mark.parametrize(
    ("expr", "fragment"),
    [
        (SumAll(sp.MatMul(sp.MatrixSymbol("W", n, m), sp.MatrixSymbol("v", k, 1))),
         "m columns against k rows"),
        (SumAll(sp.MatMul(sp.MatrixSymbol("W", 2, 3), sp.MatrixSymbol("v", k, 1))),
         "3 columns against k rows"),
        (SumAll(sp.MatAdd(sp.MatrixSymbol("a", k, 1), sp.MatrixSymbol("b", n, 1))),
         "(k, 1) and (n, 1)"),
    ],
)
def test_symbolic_shapes_that_cannot_agree_are_refused_at_derive(expr, fragment):
    with pytest.raises(sbp.ShapeError) as e:
        sbp.derive(expr)
    assert fragment in str(e.value)


@pytest.mark.parametrize("expr", [sp.Integer(10**5000) * x, x ** sp.Rational(1, 3**700),
                                  x + 10**100, sp.Rational(10**90, 7) * sp.sin(x)])
def test_huge_numbers_in_sympy_input_are_a_limit_error(expr):
    with pytest.raises(sbp.LimitError, match="max_int_bits"):
        sbp.derive(expr)


def test_the_number_limit_can_be_raised():
    d = sbp.derive(sp.Integer(2**300) * x, limits=sbp.Limits(max_int_bits=400))
    assert d.evaluate({"x": 1.0})["x"] == pytest.approx(2.0**300)
    g = sbp.Graph().let("a", sp.Integer(2**300) * x, limits=sbp.Limits(max_int_bits=400))
    assert sbp.derive(g, limits=sbp.Limits(max_int_bits=400)).latex()


@pytest.mark.parametrize("expr", [SumAll(Elementwise("foo", sp.MatrixSymbol("A", 2, 2))),
                                  sp.zeta(x), sp.Function("f")(x), sp.gamma(x) + x])
def test_an_unknown_function_is_unsupported_not_a_key_error(expr):
    with pytest.raises(sbp.UnsupportedError):
        sbp.derive(expr)


_y = sp.Symbol("y", real=True)


@pytest.mark.parametrize("expr", [
    sp.Piecewise((x**2, x > _y), (2 * _y, True)) * x,
    sp.Piecewise((x, x >= 0), (x / 10, True)) * _y,  # a leaky ReLU
    sp.Piecewise((sp.sin(x), x < -1), (x, x <= 1), (sp.cos(x), True)) + _y,
    # conditions in logic, as SymPy writes them (nested Piecewise fold into ITE)
    sp.Piecewise((x**2, sp.And(x > _y, _y < 1)), (sp.sin(_y), True)) * x,
    sp.Piecewise((x * _y, sp.Or(x > 1, sp.Not(_y < 1))), (_y**3 - x, True)),
    sp.Piecewise((x, sp.Xor(x > 0, _y >= 1)), (2 * x, sp.Implies(x > 1, _y > 0.5)),
                 (x**3, True)) + _y,
    sp.Piecewise((sp.exp(x), sp.ITE(x > _y, _y > 0, x < -1)), (_y * x, True), evaluate=False),
    sp.Piecewise((x * _y, sp.Eq(x, 2 * _y)), (x + _y, sp.Ne(_y, 0.3)), (_y, True)),
    # SymPy's Heaviside (½ at 0 unless given): the step primitive, exact at 0 as well
    sp.Heaviside(x) * x**2 + sp.Heaviside(_y - 1, 1) * sp.sin(x * _y),
])
@pytest.mark.parametrize("at", [(0.7, 0.3), (-1.7, 0.3), (1.5, 2.0)])
def test_a_piecewise_expression_derives_as_sympy_differentiates_it(expr, at):
    """Piecewise((x, a > b), …, (y, True)) is the text's where: each branch times 𝟏[a > b]
    (the comparison NumPy's 0 or 1); sympy.diff of the Piecewise agrees, and check() (the
    expression as given, on numbers) says ok."""
    d = sbp.derive(expr, wrt=[x, _y])
    point = {"x": at[0], "y": at[1]}
    got = d.evaluate(point)
    for s in (x, _y):
        want = float(sp.diff(expr, s).subs({x: at[0], _y: at[1]}))
        assert got[str(s)] == pytest.approx(want, rel=1e-12, abs=1e-12)
    assert d.check(point).ok


def test_a_piecewise_condition_is_comparisons_in_logic():
    with pytest.raises(sbp.UnsupportedError, match=r"a comparison .* or And, Or"):
        sbp.derive(sp.Piecewise((x, sp.Contains(x, sp.Interval(0, 1))), (_y, True)))


_X, _v = sp.MatrixSymbol("X", 2, 2), sp.MatrixSymbol("v", 2, 1)


@pytest.mark.parametrize("expr", [
    # SymPy's own functions of the vocabulary that the rules compose (were 'no rule for')
    sp.sec(x) * _y + sp.csc(_y) - sp.cot(x * _y),
    sp.coth(x) * sp.sech(_y) + sp.csch(x + 2),
    sp.atan2(_y, x) + sp.atan2(-x, -_y) ** 2,
])
def test_sympys_reciprocal_functions_and_atan2_derive_as_sympy_differentiates(expr):
    d = sbp.derive(expr, wrt=[x, _y])
    assert d.check().ok
    for at in [(0.7, 0.3), (-1.1, 0.6), (0.4, -1.3)]:
        point = dict(zip((x, _y), at, strict=True))
        got = d.evaluate({"x": at[0], "y": at[1]})
        for s in (x, _y):
            assert got[str(s)] == pytest.approx(float(sp.diff(expr, s).subs(point)), rel=1e-9)


@pytest.mark.parametrize("expr", [
    sp.Trace(_X**2), sp.Trace(_X**3) + sp.Trace(_X**-2),  # MatPow: products, of X⁻¹ too
    2 * _X[0, 1] + _X[1, 1] ** 2,  # entries: X[i, j] as the text's slice
    (_v.T * _X * _v)[0, 0],  # SymPy writes the entry of a product out in entries
])
def test_matrix_powers_and_entries_of_sympy_input(expr):
    d = sbp.derive(expr)
    report = d.check()
    assert report.ok, str(report)


# inputs named as the derivation names its intermediates (t, t_1, t_2, …), or as the builder
# names its nodes while it reads (_0): each stays an input of its own, never a node
_t1, _t2, _t = sp.Symbol("t_1", real=True), sp.Symbol("t_2", real=True), sp.Symbol("t", real=True)


@pytest.mark.parametrize("expr", [
    sp.atan2(sp.sin(x * _y), _t1),  # t_1 is the name of the node x·y
    sp.Max(sp.sin(x * _y), _t2) + _t1 * x,
    sp.sin(x * _y) * _t2 + sp.exp(_t1 * x),
    sp.tanh(x * _y + _t) * _t1,
])
def test_inputs_named_as_intermediates_stay_inputs(expr):
    wrt = sorted(expr.free_symbols, key=str)
    d = sbp.derive(expr, wrt=wrt)
    assert set(d.graph.inputs) == set(wrt)
    at = {s: v for s, v in zip(wrt, (0.7, -0.4, 1.3, 0.9), strict=False)}
    got = d.evaluate({str(s): v for s, v in at.items()})
    for s in wrt:
        assert got[str(s)] == pytest.approx(float(sp.diff(expr, s).subs(at)), rel=1e-9)
    assert d.check().ok


@pytest.mark.parametrize("build", [
    lambda u: sbp.derive(sp.atan2(sp.sin(x * _y), u), wrt=[x]),  # _0 is the node x·y
    lambda u: sbp.Graph().let("h", x * _y).let("s", sp.atan2(sp.sin(x * _y), u)),
])
def test_an_input_named_as_a_node_while_reading_is_refused(build):
    # a real symbol _0 equals the builder's first node: it was read as that node (the
    # gradient of atan2(sin(xy), xy), silently); a name starting with _ is no input's
    with pytest.raises(sbp.GraphError, match="plain identifier"):
        build(sp.Symbol("_0", real=True))


def test_a_scalar_network_keeps_the_names_its_nodes_were_built_with():
    # the builder names the nodes of a SymPy expression as the grouping does (t_1, t_2, …)
    # so that they are not renamed: the names are those of the text's reading
    w = sp.symbols("w0:3", real=True)
    expr = sum(wi * xi for wi, xi in zip(w, sp.symbols("a0:3", real=True), strict=True))
    loss = sp.log(1 + sp.exp(-expr)) + w[0] ** 2
    d = sbp.derive(loss, wrt=list(w))
    text = sbp.derive("log(1 + exp(-(w0*a0 + w1*a1 + w2*a2))) + w0**2", wrt=["w0", "w1", "w2"])
    assert [str(eq.lhs) for eq in d.graph.equations] == \
        [str(eq.lhs) for eq in text.graph.equations]
    point = {"w0": 0.3, "w1": -0.2, "w2": 0.5, "a0": 1.0, "a1": 2.0, "a2": -1.0}
    for k, v in d.evaluate(point).items():
        assert v == pytest.approx(text.evaluate(point)[k], rel=1e-12)


@pytest.mark.parametrize(("source", "names"), [
    (sp.log(_y**2 + 1), {"y": "t_2"}),  # t_2 would name an intermediate
    (sp.sin(sp.Symbol("L", real=True)) * x, {"L": "z"}),  # z the output
    ("log(y**2 + 1) * x", {"y": "t_1", "x": "t"}),
])
def test_an_input_may_be_renamed_as_an_intermediate_would_be_named(source, names):
    # names= gives inputs new names: the equations are named around them ("would name two
    # variables" before: held-out round R8)
    d = sbp.derive(source, names=names)
    plain = sbp.derive(source)
    assert {str(s) for s in d.graph.inputs} == {names.get(str(s), str(s))
                                                for s in plain.graph.inputs}
    point = {str(s): 0.3 + 0.4 * i for i, s in enumerate(plain.graph.inputs)}
    got = d.evaluate({names.get(k, k): v for k, v in point.items()})
    for k, v in plain.evaluate(point).items():
        assert got[names.get(k, k)] == pytest.approx(v, rel=1e-12)
