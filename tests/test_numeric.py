"""The independent NumPy engine, finite differences and the three-witness check."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from primitive_cases import FORMS, SECOND_ORDER, M

import symbackprop as sbp
from symbackprop.check import CheckReport, Engine, Tolerances, backprop, check, random_values
from symbackprop.check.compare import _report, compare
from symbackprop.rules import RULES

CASES = [(name, text, pos) for name, forms in FORMS.items() for text, pos in forms]


def test_every_primitive_has_a_case() -> None:
    assert set(FORMS) | set(SECOND_ORDER) == set(RULES)
    assert not set(FORMS) & set(SECOND_ORDER)


@pytest.mark.parametrize("prim", sorted(SECOND_ORDER))
def test_a_node_of_the_backward_pass_is_differentiated_again(prim: str) -> None:
    """The engine runs the Hessian's graph through the node by the rule's NumPy VJP, and
    the check compares it with the symbolic Hessian and finite differences."""
    text, wrt = SECOND_ORDER[prim]
    h = sbp.hessian(text, wrt=wrt, shapes=M)
    assert prim in {s.name for s in Engine(h).steps}
    for seed in (0, 1):
        report = h.check(random_values(h, seed), seed=seed)
        assert report.ok, str(report)


@pytest.mark.parametrize(("prim", "text", "positive"), CASES,
                         ids=[f"{n}:{t}" for n, t, _ in CASES])
def test_engine_agrees_with_symbolic_and_finite_differences(prim: str, text: str,
                                                           positive: bool) -> None:
    d = sbp.derive(text, shapes=M)
    engine = Engine(d)
    names = {s.name for s in engine.steps}
    assert prim in names or (prim, "pow") == ("sqrt", *names & {"pow"})  # sqrt(x) is x**(1/2)
    for seed in (0, 1):
        values = random_values(d, seed, attempt=1 if positive else 0)
        ours = engine.gradients(values)
        theirs = d.evaluate(values)
        assert set(ours) == set(theirs) == {str(s.name) for s in d.wrt}
        for name, g in ours.items():
            np.testing.assert_allclose(g, theirs[name], rtol=1e-9, atol=1e-12, err_msg=name)
            assert np.shape(g) == np.shape(theirs[name])
        report = check(d, values, seed=seed)
        assert report.ok, str(report)
        assert report.max_abs_error < 1e-5


def test_fast_forms_match_the_rule_table() -> None:
    from symbackprop.check.tape import FAST

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 3, (4, 5)), [[-800, -40, 0, 40, 800]]])
    g = rng.normal(size=x.shape)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        for name, (fwd, vjp) in FAST.items():
            rule = RULES[name]
            out = fwd(x)
            np.testing.assert_allclose(out, rule.forward(x), rtol=1e-15, atol=1e-300)
            np.testing.assert_allclose(vjp(g, out, x)[0], rule.vjp(g, out, x)[0], rtol=1e-14)


SH = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}
NET = "W2@sigmoid(W1@x + b1) + b2"


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_network_both_losses(loss: Any) -> None:
    d = sbp.derive(NET, shapes=SH, loss=loss)
    report = d.check()
    assert report.ok, str(report)
    assert [r.name for r in report.rows] == [str(s.name) for s in d.wrt]
    assert report.witnesses == ("symbolic", "engine", "finite differences")


def test_cross_entropy_target_is_a_probability_vector_per_column() -> None:
    d = sbp.derive(NET, shapes={**SH, "x": (3, 5)}, loss="cross_entropy")
    y = random_values(d, 0)["y"]
    assert y.shape == (2, 5)
    assert np.all(y > 0)
    np.testing.assert_allclose(y.sum(axis=0), 1.0)


def test_symbolic_dimensions_get_small_distinct_sizes() -> None:
    shapes = {"W1": ("m", "n"), "x": ("n", "B"), "b1": ("m", 1), "W2": ("k", "m"),
              "b2": ("k", 1)}
    d = sbp.derive(NET, shapes=shapes, loss="cross_entropy")
    report = d.check(seed=3)
    assert report.ok, str(report)
    sizes = {k: np.shape(v) for k, v in report.values.items()}
    assert sizes["W1"][0] != sizes["W1"][1]
    assert sizes["x"][1] == sizes["y"][1]


def test_batches_sum_the_columns() -> None:
    d = sbp.derive(NET, wrt=["W1", "b1", "W2", "b2"], shapes={**SH, "x": (3, "B")},
                   loss="mse")
    rng = np.random.default_rng(0)
    vals = {k: rng.normal(size=v) for k, v in SH.items() if k != "x"}
    x, y = rng.normal(size=(3, 6)), rng.normal(size=(2, 6))
    engine = Engine(d)
    batch = engine.gradients({**vals, "x": x, "y": y})
    cols = [engine.gradients({**vals, "x": x[:, [j]], "y": y[:, [j]]}) for j in range(6)]
    for name, g in batch.items():
        np.testing.assert_allclose(g, sum(c[name] for c in cols), rtol=1e-12)
    assert batch["b1"].shape == (4, 1)


def test_float32_is_kept_and_close_to_float64() -> None:
    d = sbp.derive(NET, shapes={**SH, "x": (3, 8)}, loss="cross_entropy")
    vals = random_values(d, 1)
    v32 = {k: np.asarray(v, np.float32) for k, v in vals.items()}
    engine = Engine(d)
    loss32, g32 = engine.value_and_grad(v32)
    _loss64, g64 = engine.value_and_grad(vals)
    assert np.asarray(loss32).dtype == np.float32 or isinstance(loss32, float)
    for name in g64:
        assert g32[name].dtype == np.float32, name
        np.testing.assert_allclose(g32[name], g64[name], rtol=2e-4, atol=2e-5)
    g = engine.gradients(vals, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in g.values())
    with pytest.raises(TypeError, match="floating"):
        engine.gradients(vals, dtype=np.int64)


def test_scalar_gradients_are_scalars_and_values_match() -> None:
    d = sbp.derive("(x + y)**2", wrt=["x", "y"])
    loss, g = Engine(d).value_and_grad({"x": 1.5, "y": -0.25})
    assert loss == pytest.approx(1.5625)
    assert g == {"x": 2.5, "y": 2.5}
    assert backprop(d, {"x": 1.5, "y": -0.25}) == d.evaluate({"x": 1.5, "y": -0.25})


def test_only_needed_cotangents_and_wrt_subset() -> None:
    d = sbp.derive(NET, wrt=["W2"], shapes=SH, loss="mse")
    engine = Engine(d)
    vals = random_values(d, 0)
    assert set(engine.gradients(vals)) == {"W2"}
    # the first layer does not lead to W2: backward stops at the output layer
    assert len(engine._backward_prog) < len(engine.steps)
    np.testing.assert_allclose(engine.gradients(vals)["W2"], d.evaluate(vals)["W2"])


def test_input_values_are_not_modified() -> None:
    d = sbp.derive(NET, shapes=SH, loss="mse")
    vals = random_values(d, 0)
    before = {k: np.copy(v) for k, v in vals.items()}
    Engine(d).gradients(vals)
    d.check(vals)
    for k in vals:
        np.testing.assert_array_equal(vals[k], before[k])


def test_value_errors_are_clear() -> None:
    d = sbp.derive(NET, shapes=SH, loss="mse")
    engine = Engine(d)
    vals = random_values(d, 0)
    with pytest.raises(sbp.OptionError, match="no value for W1"):  # a ValueError too
        engine.gradients({k: v for k, v in vals.items() if k != "W1"})
    # a value for a name the expression does not use is ignored, as in Derivation.evaluate
    np.testing.assert_array_equal(engine.gradients({**vals, "q": 1.0})["W1"],
                                  engine.gradients(vals)["W1"])
    with pytest.raises(sbp.ShapeError, match=r"W1 must be \(4, 3\)"):
        engine.gradients({**vals, "W1": np.zeros((3, 4))})


# ---------------------------------------------------------------------------------------
# Sampling for big parameters


def test_big_parameters_sample_coordinates_and_a_direction() -> None:
    d = sbp.derive("sum(hadamard(C, tanh(W @ X)))", shapes={"W": (20, 30), "X": (30, 4),
                                                             "C": (20, 4)})
    report = d.check(max_coords=10)
    assert report.ok, str(report)
    assert report["W"].checked == "10 of 600 coordinates and 1 random direction"
    assert "finite differences on 10 of 600" in str(report)


def test_the_random_direction_catches_an_entry_no_coordinate_sampled() -> None:
    d = sbp.derive("sum(hadamard(C, tanh(W @ X)))", wrt=["W"],
                   shapes={"W": (20, 30), "X": (30, 4), "C": (20, 4)})
    engine = Engine(d)
    vals = random_values(d, 0)
    good = engine.gradients(vals)["W"]
    slots = engine.bind(vals, np.float64)
    tol = Tolerances(max_coords=5)
    rows = compare(engine, slots, {"engine": {"W": good}}, tol)
    assert rows[0].ok
    sampled = {(i, j) for i in range(20) for j in range(30)}
    rng = np.random.default_rng(tol.seed)  # the coordinates compare() will pick
    picks = {tuple(int(k) for k in np.unravel_index(p, (20, 30)))
             for p in rng.choice(600, size=5, replace=False)}
    spot = next(iter(sorted(sampled - picks)))
    bad = good.copy()
    bad[spot] += 1.0
    rows = compare(engine, engine.bind(vals, np.float64),
                   {"yours": {"W": bad}, "engine": {"W": good}}, tol)
    assert rows[0].status == "mismatch"
    assert rows[0].disagree == ("yours",)


# ---------------------------------------------------------------------------------------
# Honest edge cases


def test_kink_where_witnesses_agree_is_ok_with_a_note() -> None:
    d = sbp.derive("abs(w) + max(x, v)")
    report = d.check({"x": 0.0, "w": 0.0, "v": 0.0})
    assert report.ok, str(report)
    assert "max with a tie" in report["x"].verdict
    assert "abs at 0" in report["w"].verdict
    assert "max with a tie" in report["v"].verdict


def test_relu_at_its_kink_is_not_differentiable_here_with_both_slopes() -> None:
    """ReLU′(0) is 0 (PyTorch's, the printed 𝟏[z > 0]); central differences say ½, the
    mean of the slopes: never ok at the kink, and the row names the two slopes."""
    report = sbp.derive("relu(x)*y").check({"x": 0.0, "y": 2.0})
    assert not report.ok
    assert "not differentiable here" in report["x"].verdict
    assert "ReLU at 0" in report["x"].verdict
    assert "slopes 0 on the left, 2 on the right" in report["x"].verdict


def test_kink_where_witnesses_disagree_says_not_differentiable() -> None:
    d = sbp.derive("relu(x) + relu(x - 0.0000001)")
    report = d.check({"x": 0.0})
    row = report["x"]
    assert row.status == "kink"
    assert not report.ok
    assert "not differentiable here" in row.verdict
    assert "ReLU at 0" in row.verdict
    assert "MISMATCH" not in str(report)


def test_std_of_equal_entries_is_a_kink_though_their_variance_rounds_above_zero() -> None:
    """max(A, c) clamps a column to c: its entries are equal, but their mean is rounded, so
    the variance under std's root is ~1e-32, not 0, and the witnesses' slopes there are
    rounding noise (the symbolic one NaN). The root's argument is 0 up to rounding: a kink,
    never a MISMATCH blamed on one witness."""
    c = 1.46861816630596
    a = np.array([[-1.2, 1.0, 1.4], [-0.9, 1.2, 1.3], [1.0, -1.1, 1.04]])
    d = sbp.derive("sum(sqrt(var(max(A, c), axis=0)))", shapes={"A": (3, 3)})
    report = d.check({"A": a, "c": c})
    assert report["A"].status == "kink", str(report)
    assert "sqrt at or within 1e-20 of 0" in report["A"].verdict


def test_random_values_step_off_kinks_and_out_of_domains() -> None:
    for text in ("log(x) + sqrt(y)", "relu(x) + abs(y)", "log(x - y)"):
        report = sbp.derive(text).check()
        assert report.ok, (text, str(report))


@pytest.mark.parametrize(("text", "shapes"), [
    ("-sum(hadamard(y, log(p)) + hadamard(1 - y, log(1 - p)))", {"p": (4, 1), "y": (4, 1)}),
    ("sum(logit(x)) + sum(arccosh(z))", {"x": (6, 1), "z": (6, 1)}),
    ("sum(log(x - 3))", {"x": (5, 1)}),
    ("log(x - 3) + log(1 - y) + log(-z) + arctanh(w)", None),
    ("sum(log(x)) + log(1 - sum(x))", {"x": (3, 1)}),  # a simplex
    ("log(1 - x.T@x) + sum(arcsin(2*x))", {"x": (20, 1)}),
    ("sum(log(1 - x)) + sum(log(x - 0.5))", {"x": (3, 1)}),
    ("sum(log(y - x)) + sum(log(z - y))", {"x": (3, 1), "y": (3, 1), "z": (3, 1)}),
])
def test_random_values_find_a_domain_one_input_at_a_time(text: str, shapes: Any) -> None:
    """A vector's binary cross-entropy needs every p in (0, 1), log(x − 3) needs x > 3: no
    draw of signed or positive values near 1 has them, and check() said FAILED ('undefined
    here') for correct gradients (a held-out case, the CLI exiting 1)."""
    report = sbp.derive(text, shapes=shapes).check()
    assert report.ok, str(report)
    assert sbp.derive(text, shapes=shapes).check(attempts=1).ok is False  # not by luck


@pytest.mark.parametrize(("text", "values", "message"), [
    ("log(x)*y", {"x": -1.0, "y": 2.0}, "log of a negative number"),
    ("log(x)*y", {"x": 0.0, "y": 2.0}, "log of zero"),
    ("x/y", {"x": 1.0, "y": 0.0}, "division by zero"),
    ("sqrt(x)", {"x": -4.0}, "sqrt of a negative number"),
    ("exp(x)", {"x": 1000.0}, "overflow in exp"),
    # a whole power overflowing was "a fractional power of a negative number" (held-out)
    ("x*x", {"x": 1e200}, "overflow in a power"),
    ("x**3*y", {"x": 1e200, "y": 2.0}, "overflow in a power"),
    ("x**1.5", {"x": -1.0}, "a fractional power of a negative number"),
    ("x**-2", {"x": 0.0}, "division by zero"),
])
def test_outside_the_domain_is_reported_not_a_mismatch(text: str, values: dict[str, float],
                                                      message: str) -> None:
    report = sbp.derive(text).check(values)
    assert not report.ok
    assert all(r.status == "domain" for r in report.rows), str(report)
    assert message in str(report)
    assert "MISMATCH" not in str(report)


def test_negative_base_integer_powers_are_smooth() -> None:
    report = sbp.derive("1/x + x**-3").check({"x": -2.0})
    assert report.ok, str(report)


def test_nan_and_inf_inputs_are_reported() -> None:
    d = sbp.derive("x*y + z")
    report = d.check({"x": float("nan"), "y": 1.0, "z": float("inf")})
    assert not report.ok
    assert {r.status for r in report.rows} == {"nonfinite"}
    assert "input x and z contains NaN or inf" in str(report)


def test_large_inputs_to_sigmoid_and_softmax_give_no_warnings() -> None:
    d = sbp.derive("sum(hadamard(C, sigmoid(A))) + cross_entropy(B, Y)", shapes=M)
    vals = random_values(d, 0)
    big = {**vals, "A": vals["A"] * 1e4, "B": vals["B"] * 1e4}
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        g = Engine(d).gradients(big)
    assert all(np.all(np.isfinite(v)) for v in g.values())
    report = d.check({**vals, "A": vals["A"] * 1e3, "B": vals["B"] * 1e2})
    assert report.ok, str(report)


def test_symbolic_witness_missing_is_not_ok() -> None:
    d = sbp.derive("x*y")
    report = check(d, {"x": 1.0, "y": 2.0})
    assert report.ok
    rows = _report(Engine(d), Engine(d).bind({"x": 1.0, "y": 2.0}), {"x": 1.0, "y": 2.0},
                   {"symbolic": sbp.UnsupportedError("no NumPy form for Foo")}, (),
                   Tolerances())
    assert not rows.ok
    assert "symbolic gradients unavailable" in str(rows)
    assert {r.status for r in rows.rows} == {"unavailable"}


# ---------------------------------------------------------------------------------------
# The report


def test_report_reads_as_a_table() -> None:
    d = sbp.derive(NET, shapes=SH, loss="mse")
    report = d.check()
    text = str(report)
    lines = text.splitlines()
    assert lines[0].startswith("gradient check: ok — symbolic, engine, finite differences")
    assert "eps=1e-06, atol=1e-05, rtol=0.001" in lines[0]
    assert lines[1].split() == ["parameter", "shape", "max", "abs", "error", "max", "rel",
                                "error", "verdict"]
    assert any(line.startswith("W1 ") and "(4, 3)" in line and line.endswith("ok")
               for line in lines)
    assert repr(report).startswith("<CheckReport ok — max abs error")
    assert isinstance(report, CheckReport)
    assert bool(report)
    assert report.max_abs_error < 1e-6
    assert report.max_rel_error < 1e-4
    with pytest.raises(KeyError):
        report["nope"]


def test_a_wrong_witness_is_named() -> None:
    d = sbp.derive("x*y + sin(x)")
    engine = Engine(d)
    vals = {"x": 0.4, "y": -1.3}
    right = engine.gradients(vals)
    wrong = {**right, "y": right["y"] + 0.5}
    rows = compare(engine, engine.bind(vals, np.float64), {"symbolic": wrong, "engine": right})
    by = {r.name: r for r in rows}
    assert by["x"].ok
    assert by["y"].status == "mismatch"
    assert by["y"].disagree == ("symbolic",)
    assert "MISMATCH: symbolic disagrees" in by["y"].verdict
    assert by["y"].worst[0].values[0] == ("symbolic", pytest.approx(right["y"] + 0.5))  # type: ignore[comparison-overlap]


def test_cli_check_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    from symbackprop.cli import main

    assert main(["check", NET, "--shape", "W1=4x3", "--shape", "x=3", "--shape", "b1=4",
                 "--shape", "W2=2x4", "--shape", "b2=2", "--loss", "cross_entropy"]) == 0
    out = capsys.readouterr().out
    assert "gradient check: ok" in out
    assert "W1" in out
    assert main(["check", "relu(x) + relu(x - 0.0000001)", "--seed", "0"]) == 0


def test_cli_check_exits_1_on_a_mismatch(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from symbackprop.cli import main

    wrong = dataclasses.replace(RULES["sin"], vjp=lambda g, out, x: (2 * g * np.cos(x),))
    monkeypatch.setitem(RULES, "sin", wrong)
    assert main(["check", "sin(x)*y"]) == 1
    out = capsys.readouterr().out
    assert "gradient check: FAILED" in out
    assert "MISMATCH: engine disagrees" in out


# ---------------------------------------------------------------------------------------
# Random expression trees: the three witnesses agree on whatever hypothesis builds

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_UNARY = ["sin", "cos", "tanh", "sigmoid", "softplus", "exp", "relu", "abs"]


def _extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(st.sampled_from(_UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(children, st.sampled_from(["+", "-", "*"]), children).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(st.sampled_from(["max", "min"]), children, children).map(
            lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        children.map(lambda c: f"({c})**2"),
    )


EXPRESSIONS = st.recursive(st.sampled_from(["x", "y", "z", "2", "0.5"]), _extend,
                           max_leaves=8)


@given(EXPRESSIONS.filter(lambda t: any(v in t for v in "xyz")), st.integers(0, 3))
def test_random_expression_trees(text: str, seed: int) -> None:
    d = sbp.derive(text)
    if not d.wrt:  # every input cancelled (x - x): nothing to compare is refused, never ok
        with pytest.raises(sbp.OptionError, match="nothing to compare"):
            d.check(seed=seed)
        return
    report = d.check(seed=seed)
    assert all(r.ok or r.status in ("kink", "domain") for r in report.rows), (text, str(report))


def test_a_product_with_a_zero_entry_is_named_a_formula_problem_not_a_kink() -> None:
    """prod is differentiable where an entry is 0 (the engine's gradient is exact), but the
    printed (∏X) ⊘ X is 0/0 there: check() said 'not differentiable here' (a held-out note)."""
    X = np.array([[0.0, 2.0], [3.0, 4.0]])
    report = sbp.derive("prod(X)", shapes={"X": (2, 2)}).check({"X": X})
    assert [r.status for r in report.rows] == ["formula"]
    assert report.rows[0].verdict.startswith("the printed formula is 0/0 here")
    exact = backprop(sbp.derive("prod(X)", shapes={"X": (2, 2)}), {"X": X})["X"]
    np.testing.assert_array_equal(exact, [[24.0, 0.0], [0.0, 0.0]])


def test_a_matrix_product_with_an_entry_is_checked() -> None:
    """u @ w[1]: the derivation reads the entry as the 1×1 matrix it came from, and the
    check's witness of the text now does too (it could not evaluate the text, so check()
    failed a correct gradient; a held-out case)."""
    u, w = np.array([[0.5], [-1.0], [2.0], [0.3]]), np.array([[0.2], [1.5], [-0.7]])
    d = sbp.derive("sum(u @ w[1])", wrt=["u", "w"], shapes={"u": (4, 1), "w": (3, 1)})
    report = d.check({"u": u, "w": w})
    assert report.ok, str(report)
    np.testing.assert_allclose(d.evaluate({"u": u, "w": w})["w"], [[0.0], [u.sum()], [0.0]])


@pytest.mark.parametrize(("y", "x"), [(2e-7, -1.0), (1e-8, -1.0), (-3e-5, -2.5), (1.0, 1e-9),
                                      (0.3, -0.4)])
def test_arctan2_is_exact_near_the_negative_x_axis(y: float, x: float) -> None:
    """arctan2 written out as 2 arctan(y/(r + x)) lost every digit near the negative x axis
    (r + x cancels): at (2e-7, −1) ∂/∂y was −1.0008 and check() said ok; at 1e-8 NaN. A
    primitive: x/r² and −y/r², as NumPy's value."""
    d = sbp.derive("arctan2(y, x)")
    g = d.evaluate({"y": y, "x": x})
    r2 = x * x + y * y
    assert g["y"] == pytest.approx(x / r2, rel=1e-14)
    assert g["x"] == pytest.approx(-y / r2, rel=1e-14)
    assert float(Engine(d).value({"y": y, "x": x})) == np.arctan2(y, x)
    assert d.check({"y": y, "x": x}).ok


@pytest.mark.parametrize(("text", "point", "wrt"), [
    ("sum(exp(x))", {"x": np.array([[25.0], [1.0], [2.0]])}, "x"),
    ("1e9*s + sin(t)", {"s": 1.3, "t": 0.4}, "t"),
    ("exp(a) + b", {"a": 25.0, "b": 0.0}, "b"),  # a small entry beside a huge output
])
def test_an_output_whose_rounding_drowns_a_small_step_is_judged_at_wider_steps(
        text: str, point: dict[str, Any], wrt: str) -> None:
    """Central differences of an output of 7e10 at a step of 1e-6 are rounding (x₁'s slope
    e read as 0; sin's as 0.95): check() FAILED correct gradients (a held-out case). Where
    the rounding bound is above the tolerance, Richardson's extrapolation at wider steps
    judges; a gradient 0.5% off there is still a mismatch."""
    d = sbp.derive(text, wrt=wrt, shapes={"x": (3, 1)})
    report = d.check(point)
    assert report.ok, str(report)
    assert "extrapolated" in str(report)
    good = d.evaluate(point)[wrt]
    bad = good * (1.005 if np.ndim(good) == 0 else np.array([[1.0], [1.005], [1.0]]))
    assert not sbp.gradcheck(d, point, grad=lambda **kw: {wrt: bad}, raise_exception=False)


def test_one_steady_wide_step_is_not_enough_where_rounding_happens_inside() -> None:
    """A softmax row masked by −1e9 (layers.md's padding): rounding of S ≈ −1e9 inside the
    function, not of the output, drowns a step's difference, and at h = 1e-4 the three
    steps h, h/2, h/4 rounded alike, so their two extrapolations agreed on a value 1.3% off:
    check() FAILED JAX's gradient (a held-out case). The estimate must also agree with the
    next wider step's; a gradient 2% off in the masked row still fails."""
    rng = np.random.default_rng(5)
    shapes = {"Q": (3, 4), "K": (4, 4), "V": (4, 2), "M": (3, 4), "R": (3, 2), "k": ()}
    mask = np.zeros((3, 4))
    mask[1, :] = -1e9
    point = {"Q": rng.standard_normal((3, 4)), "K": rng.standard_normal((4, 4)),
             "V": rng.standard_normal((4, 2)), "M": mask, "R": rng.standard_normal((3, 2)),
             "k": 4.0}
    d = sbp.derive("S = Q @ K.T / sqrt(k) + M; A = softmax(S, axis=1); O = A @ V; "
                   "L = sum(hadamard(O, R))", wrt=["Q"], shapes=shapes)
    report = d.check(point)
    assert report.ok, str(report)
    good = d.evaluate(point)["Q"]
    bad = good.copy()
    bad[1, 0] *= 1.02
    assert not sbp.gradcheck(d, point, grad=lambda **kw: {"Q": bad}, wrt=["Q"],
                             raise_exception=False)


@pytest.mark.parametrize("x", [1e8, 1e10])
def test_small_absolute_steps_come_before_steps_scaled_by_a_huge_x(x: float) -> None:
    """x·y + sin(x) at x = 1e10: steps scaled by |x| (1e6 and up) average sin away and
    agreed on 1.0, so check() called the right 1 + cos(x) a MISMATCH (CLI exit 1, a held-out
    case). Absolute steps from 1e-4 come first and resolve it; a gradient 1% off still
    fails; and a row judged by a re-taken difference reports its errors against that one
    (sin(x) at 1e10 said "ok" beside a relative error of 1)."""
    point = {"x": x, "y": 1.0}
    d = sbp.derive("x*y + sin(x)")
    report = d.check(point)
    assert report.ok, str(report)
    bad = 1.01 * (1.0 + np.cos(x))
    assert not sbp.gradcheck("x*y + sin(x)", point, grad=lambda x, y: {"x": bad, "y": x},
                             raise_exception=False)
    row = sbp.derive("sin(x)").check({"x": x})["x"]
    assert row.status == "ok", row
    assert row.max_rel_error < 1e-6, row


@pytest.mark.parametrize(("text", "wrt"), [("2*3", None), ("x - x + 1", None),
                                           ("x*y", [])])
def test_a_check_that_compares_nothing_is_refused_never_ok(text: str, wrt: Any) -> None:
    """check() of '2*3', of x − x + 1 (x cancels) or with wrt=[] said "ok" (CLI exit 0)
    with an empty table (a held-out case): no evidence, so an OptionError, as
    torch.autograd.gradcheck refuses inputs none of which requires grad."""
    d = sbp.derive(text, wrt=wrt)
    with pytest.raises(sbp.OptionError, match="nothing to compare"):
        d.check()
    assert sbp.derive("x - x + 1", wrt="x").check().ok


@pytest.mark.parametrize("text", ["det(log(A))", "det(sqrt(A))", "det(logit(A))"])
def test_a_matrix_function_of_values_out_of_a_domain_is_not_numpys_svd_error(text: str) -> None:
    """check() at its own point raised NumPy's LinAlgError "SVD did not converge" for
    det(log(A)) (a held-out case): det's kink test took the rank of a matrix of NaNs from
    log of a negative draw. A step whose operands are not finite has no kink to test; the
    check draws a point in the domain and passes."""
    report = sbp.derive(text, shapes={"A": (2, 2)}).check()
    assert report.ok, str(report)


def test_a_reductions_zero_is_numpys_in_a_vjp_never_pythons_zerodivisionerror() -> None:
    """log(var(relu(−eˣ))) is log 0 everywhere: check() raised Python's ZeroDivisionError
    (var's value was a Python float, and log's VJP divides by it; a held-out case). The
    engine holds NumPy's float64, so the verdict says where the function is undefined."""
    report = sbp.derive("L = log(var(relu(-exp(v))))", shapes={"v": (3, 1)}).check()
    assert report["v"].status == "domain", str(report)
    assert "log of zero" in report["v"].verdict


def test_the_checks_own_point_keeps_the_output_small_enough_to_difference() -> None:
    """exp(Σ T^-½)^1.5 + s at the check's own draw (T in (0.3, 1.3)) is about 1e14: no step
    resolves ∂/∂s = 1, and check() FAILED a right gradient (a held-out case). Without
    values, check() looks for a point where the output is below 1e8 (T drawn larger); at
    a point the user gives, it still says it cannot resolve: not confirmed, never ok."""
    text = "h0 = (T0)**(-0.5)\nL = ((exp(sum(h0)))**(1.5)) + (s1)"
    d = sbp.derive(text, shapes={"T0": (2, 3, 3), "s1": ()})
    report = d.check()
    assert report.ok, str(report)
    assert abs(float(d.evaluate(report.values)["s1"]) - 1.0) < 1e-12
    given = d.check({"T0": np.full((2, 3, 3), 0.5), "s1": 0.2})
    assert given["s1"].status == "unresolved"
    assert not given.ok
    assert "cannot resolve" in str(given)


def test_a_singular_matrix_is_a_point_of_the_derivation_not_numpys_linalgerror() -> None:
    """det, inv and logdet at a singular matrix raised NumPy's LinAlgError from trace,
    evaluate and check (a held-out case). The engine's ∂det/∂A there is the matrix of
    cofactors (jax's [[4, −2], [−2, 1]]); the printed det(A)·A⁻ᵀ is 0·∞, which check()
    says; inv and logdet are undefined there."""
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    d = sbp.derive("det(A)", shapes={"A": (2, 2)})
    d.trace({"A": a})
    np.testing.assert_allclose(Engine(d).gradients({"A": a})["A"], [[4.0, -2.0], [-2.0, 1.0]],
                               atol=1e-12)
    report = d.check({"A": a})
    assert report["A"].status == "formula", str(report)
    assert "det of a singular matrix" in report["A"].verdict
    rng = np.random.default_rng(3)
    b = rng.normal(size=(3, 3))
    g = Engine(sbp.derive("det(B)", shapes={"B": (3, 3)})).gradients({"B": b})["B"]
    np.testing.assert_allclose(g, np.linalg.det(b) * np.linalg.inv(b).T, rtol=1e-10)
    for text, why in (("sum(inv(A))", "inverse of a singular matrix"), ("logdet(A)", "logdet")):
        report = sbp.derive(text, shapes={"A": (2, 2)}).check({"A": a})
        assert report["A"].status == "domain", str(report)
        assert why in report["A"].verdict


@pytest.mark.parametrize(("text", "point", "wrt"), [
    ("1e12*a + sin(b)", {"b": 0.3, "a": 1.0}, "b"),
    ("1e12 + sum(x**2)", {"x": np.array([[1.0], [2.0], [3.0]])}, "x"),
])
def test_an_output_whose_rounding_drowns_every_step_is_said_so_never_ok(
        text: str, point: dict[str, Any], wrt: str) -> None:
    """At 1e12 no step up to 0.3 resolves sin's slope: never ok, and not a MISMATCH either
    when the analytic witnesses agree (it was, of correct gradients: a held-out case) — "not
    confirmed", saying why. A wrong gradient there is still a mismatch: the engine
    resolves what finite differences cannot."""
    d = sbp.derive(text, wrt=wrt, shapes={"x": (3, 1)})
    report = d.check(point)
    assert not report.ok
    assert report.verdict == "NOT CONFIRMED"
    assert report[wrt].status == "unresolved"
    assert not report.mismatches
    assert "cannot resolve" in str(report)
    assert "not confirmed" in report[wrt].verdict
    good = d.evaluate(point)[wrt]
    with pytest.raises(sbp.GradcheckError, match="could not confirm"):
        sbp.gradcheck(d, point, grad=lambda **kw: {wrt: good})
    with pytest.raises(sbp.GradcheckError, match="failed for") as wrong:
        sbp.gradcheck(d, point, grad=lambda **kw: {wrt: -good})
    assert wrong.value.rows[0].status == "mismatch"
