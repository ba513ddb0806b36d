"""Tracing plain Python functions: math.*, np.*, builtins, closures, lambdas, no source."""

from __future__ import annotations

import math
from math import exp as imported_exp
from typing import Any

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.trace_function import function_builder

x_, y_ = sp.symbols("x y", real=True)


def _scalar_expr(f: Any) -> sp.Expr:
    from symbackprop.builder import assemble

    b = function_builder(f)
    assert b.output is not None
    return assemble(b, b.output)


def helper(t: Any) -> Any:
    return math.tanh(t) * 2


def test_math_functions_map_to_sympy() -> None:
    def f(x: float, y: float) -> float:
        return math.exp(x) * math.sin(y) + math.log(x) - math.sqrt(y) + math.cos(x * y)

    got = _scalar_expr(f)
    want = sp.exp(x_) * sp.sin(y_) + sp.log(x_) - sp.sqrt(y_) + sp.cos(x_ * y_)
    assert sp.simplify(got - want) == 0
    assert f(1.0, 2.0) == pytest.approx(float(want.subs({x_: 1.0, y_: 2.0})))  # f unchanged


def test_numpy_functions_builtins_and_imported_names() -> None:
    def f(x: float, y: float) -> Any:
        return (np.tanh(x) + np.maximum(x, y) + max(x, y, 0) + min(x, y) + abs(x)
                + pow(y, 3) + imported_exp(x) + np.square(y) + helper(y) + np.log1p(x))

    got = _scalar_expr(f)
    want = (sp.tanh(x_) + sp.Max(x_, y_) + sp.Max(sp.Max(x_, y_), 0) + sp.Min(x_, y_)
            + sp.Abs(x_) + y_**3 + sp.exp(x_) + y_**2 + 2 * sp.tanh(y_) + sp.log(1 + x_))
    vals = {x_: 0.7, y_: -0.4}
    assert float(got.subs(vals)) == pytest.approx(float(want.subs(vals)))


def test_activations_and_closures() -> None:
    from math import log

    def make(scale: float) -> Any:
        def f(x: float) -> Any:
            return sbp.sigmoid(scale * x) + sbp.relu(x) + sbp.softplus(x) + log(x)
        return f

    got = _scalar_expr(make(3.0))
    want = sbp.sigmoid(3 * x_) + sbp.relu(x_) + sbp.softplus(x_) + sp.log(x_)
    assert sp.simplify(got - want) == 0


def test_lambdas_and_functions_without_source_are_derivable() -> None:
    f = lambda x, y: x * math.exp(-y)  # noqa: E731
    d = sbp.derive(f, wrt="y")
    assert d.check().ok
    ghost = lambda x: math.sin(x) ** 2  # noqa: E731
    ghost.__code__ = ghost.__code__.replace(co_filename="<nowhere>")
    import inspect

    with pytest.raises(OSError, match="source"):
        inspect.getsource(ghost)
    d = sbp.derive(ghost)
    assert d.evaluate({"x": 0.5}) == {"x": pytest.approx(math.sin(1.0))}


def test_matrix_function_follows_numpy_semantics() -> None:
    def net(W1: Any, x: Any, b1: Any, W2: Any, b2: Any) -> Any:
        h = np.maximum(W1 @ x + b1, 0)
        o = np.dot(W2, h) + b2
        return np.sum(o * o) + (h.T @ h).sum()

    shapes = {"W1": (4, 3), "x": (3, 5), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}
    d = sbp.derive(net, shapes=shapes)
    report = d.check()
    assert report.ok, str(report)
    rng = np.random.default_rng(0)
    vals = {k: rng.normal(size=v) for k, v in shapes.items()}
    # the traced gradient is the gradient of the function as NumPy runs it
    from symbackprop.check import Engine

    assert Engine(d).value(vals) == pytest.approx(net(**vals))


def test_elementwise_product_of_matrices() -> None:
    d = sbp.derive(lambda A, B: np.sum(A * B), shapes={"A": (2, 3), "B": (2, 3)})
    kinds = [type(e.rhs).__name__ for e in d.forward]
    assert "HadamardProduct" in kinds
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    np.testing.assert_allclose(d.evaluate({"A": A, "B": B})["A"], B)


def test_defaults_are_constants_not_inputs() -> None:
    d = sbp.derive(lambda x, k=3.0: k * x**2)
    assert [str(s) for s in d.inputs] == ["x"]
    assert d.evaluate({"x": 2.0}) == {"x": pytest.approx(12.0)}


def test_a_comparison_is_numpys_number_in_a_traced_function() -> None:
    """np.where(x > 0, x, 0.1 x) (a leaky ReLU) and (x >= y) x + (x < y) y (a max) trace as
    the text's comparisons; the function itself is the witness."""
    d = sbp.derive(lambda x, y: np.sum(np.where(x > 0, x, 0.1 * x) * y),
                   shapes={"x": (3, 1), "y": (3, 1)})
    x, y = np.array([[0.5], [-1.0], [2.0]]), np.array([[1.0], [2.0], [3.0]])
    assert d.check({"x": x, "y": y}).ok
    np.testing.assert_allclose(d.evaluate({"x": x, "y": y})["x"], np.where(x > 0, 1, 0.1) * y)
    d = sbp.derive(lambda x, y: (x >= y) * x + (x < y) * y)
    assert d.evaluate({"x": 0.3, "y": 0.5}) == {"x": 0.0, "y": 1.0}
    assert d.evaluate({"x": 0.7, "y": 0.5}) == {"x": 1.0, "y": 0.0}


def test_math_module_is_left_alone() -> None:
    _scalar_expr(lambda x: math.exp(x))
    assert math.exp(0.0) == 1.0
    assert type(math.exp).__name__ == "builtin_function_or_method"


@pytest.mark.parametrize(("f", "message"), [
    (lambda x: x if x > 0 else -x, "condition"),  # x > 0 is a number; the if is a branch
    (lambda x: 1.0 if x else 0.0, "condition"),
    (lambda x: math.erf(x), "float"),
    (lambda x: np.diff(x), "np.diff"),
    (lambda x: np.floor(x), "np.floor"),
    (lambda x: np.sum(x, dtype=float), "np.sum with dtype"),
    (lambda x: (x, x), "one value"),
    (lambda x: x + np.arange(3), "array constant"),  # np.ones(3) is c·𝟏: traced
    (lambda *xs: xs[0], r"\*xs"),
])
def test_unsupported_operations_are_clear(f: Any, message: str) -> None:
    with pytest.raises(sbp.UnsupportedError, match=message):
        sbp.derive(f)


def test_shape_errors_name_both_shapes() -> None:
    with pytest.raises(sbp.ShapeError, match=r"\(2, 3\) @ \(2, 3\)"):
        sbp.derive(lambda A, B: np.sum(A @ B), shapes={"A": (2, 3), "B": (2, 3)})


def test_callables_without_code_trace_through_numpy_protocols() -> None:
    import functools

    def g(x: Any, y: Any) -> Any:
        return np.exp(x) * y

    d = sbp.derive(functools.partial(g, y=2.0))
    assert d.evaluate({"x": 0.0}) == {"x": pytest.approx(2.0)}


def test_vectors_dot_and_mean_follow_numpy() -> None:
    rng = np.random.default_rng(4)
    vals = {"w": rng.normal(size=3), "x": rng.normal(size=3), "b": 0.2}

    def logistic(w: Any, x: Any, b: Any) -> Any:
        return np.log(1 + np.exp(-(np.dot(w, x) + b))) + (w @ w).mean() + np.mean(x * x)

    assert sbp.gradcheck(logistic, vals)

    def grad(w: Any, x: Any, b: Any) -> dict[str, Any]:
        s = 1 / (1 + np.exp(np.dot(w, x) + b))
        return {"w": -s * x + 2 * w, "x": -s * w + 2 * x / 3, "b": -s}

    assert sbp.gradcheck(logistic, vals, grad=grad)
    with pytest.raises(sbp.UnsupportedError, match="mean over"):
        sbp.derive(lambda A: A.mean(), shapes={"A": ("m", "n")})


def test_a_default_given_a_value_is_an_input_not_the_default() -> None:
    """Issue 11 part 4: a value passed for a parameter with a default is used, never ignored."""
    f = lambda x, k=3.0: k * x**2  # noqa: E731
    assert sbp.gradcheck(f, {"x": 2.0, "k": 5.0}, grad=lambda x, k: {"x": 2 * k * x, "k": x**2})
    with pytest.raises(sbp.GradcheckError):  # the gradient of the default, k = 3
        sbp.gradcheck(f, {"x": 2.0, "k": 5.0}, grad=lambda x, k: {"x": 6 * x}, wrt="x")
    assert [str(s) for s in sbp.derive(f).inputs] == ["x"]
    assert sorted(str(s) for s in sbp.derive(f, shapes={"k": ()}).inputs) == ["k", "x"]


def test_positional_only_parameters_trace_and_witness() -> None:
    def g(x: Any, /, y: Any) -> Any:
        return np.tanh(x * y)

    assert sbp.gradcheck(g, {"x": 2.0, "y": 0.3})
