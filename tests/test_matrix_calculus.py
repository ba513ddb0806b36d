"""Matrix calculus (issue 13): 1×1 results as scalars, the matrix functions, axes,
broadcasting and constants — each derivation checked three ways and its gradient compared
with the textbook (Matrix Cookbook) form symbolically, on explicit small matrices."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import numpy as np
import pytest
import sympy as sp
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.functions import Item, LogDet, LogSumExp, Mean, Norm, Norm1, SqNorm, SumAll, Var
from symbackprop.programs import compile_expr


def _entries(m: sp.Basic) -> list[sp.Expr]:
    return list(sp.Matrix(m.as_explicit()))


# our scalar-valued matrix nodes, written out over the entries (what each one means)
_WRITTEN_OUT: dict[type, Any] = {
    Item: lambda m: _entries(m)[0],
    SumAll: lambda m: sp.Add(*_entries(m)),
    SqNorm: lambda m: sp.Add(*[v**2 for v in _entries(m)]),
    Norm: lambda m: sp.sqrt(sp.Add(*[v**2 for v in _entries(m)])),
    Norm1: lambda m: sp.Add(*[sp.Abs(v) for v in _entries(m)]),
    Mean: lambda m: sp.Add(*_entries(m)) / len(_entries(m)),
    Var: lambda m: sp.Add(*[(v - sp.Add(*_entries(m)) / len(_entries(m)))**2
                            for v in _entries(m)]) / len(_entries(m)),
    LogSumExp: lambda m: sp.log(sp.Add(*[sp.exp(v) for v in _entries(m)])),
    LogDet: lambda m: sp.log(sp.Matrix(m.as_explicit()).det()),
    sp.Determinant: lambda m: sp.Matrix(m.as_explicit()).det(),
    sp.Inverse: lambda m: sp.ImmutableMatrix(sp.Matrix(m.as_explicit()).inv()),
}


def explicit(e: sp.Basic) -> sp.Matrix:
    """``e`` with every matrix symbol written out entry by entry (SymPy's ``as_explicit``)
    and our scalar-valued nodes (norms, means, ...) by what they mean."""
    for cls, f in _WRITTEN_OUT.items():
        e = e.replace(lambda a, cls=cls: isinstance(a, cls), lambda a, f=f: f(a.args[0]))
    return sp.Matrix(e.as_explicit()) if hasattr(e, "as_explicit") else sp.Matrix([[e]])


def same(a: sp.Basic, b: sp.Basic) -> bool:
    """Equal as functions of the entries (SymPy's ``simplify`` of the difference)."""
    diff = explicit(a) - explicit(b)
    return all(sp.simplify(x) == 0 for x in diff)


def sym(name: str, r: int, c: int) -> sp.MatrixSymbol:
    return sp.MatrixSymbol(name, r, c)


def grad(d: sbp.Derivation, name: str) -> sp.Basic:
    return d.gradient(name)


# ---------------------------------------------------------------------------------------
# 1. A 1×1 result is a scalar


def test_a_quadratic_form_is_a_scalar_output_with_the_textbook_gradient() -> None:
    d = sbp.derive("0.5*x.T@A@x", shapes={"x": (3, 1), "A": (3, 3)})
    x, A = sym("x", 3, 1), sym("A", 3, 3)
    assert same(grad(d, "x"), sp.Rational(1, 2) * (A + A.T) * x)
    assert same(grad(d, "A"), sp.Rational(1, 2) * x * x.T)
    assert d.check().ok
    forward = d.latex(sections="forward")
    assert r"\mathbf{x}^{\top}\mathbf{A}\mathbf{x}" in forward
    assert "_{1,1}" not in forward
    assert "[" not in forward


@pytest.mark.parametrize(("text", "shapes"), [
    ("sin(x).T@y", {"x": (3, 1), "y": (3, 1)}),
    ("(x.T@y)*z", {"x": (3, 1), "y": (3, 1)}),
    ("log(x.T@x)", {"x": (3, 1)}),
    ("x.T@y/(sqrt(x.T@x)*sqrt(y.T@y))", {"x": (3, 1), "y": (3, 1)}),
    ("sum((x.T@y)@z.T)", {"x": (3, 1), "y": (3, 1), "z": (4, 1)}),
    ("u = x.T@A@y; L = u*u + u", {"x": (3, 1), "A": (3, 2), "y": (2, 1)}),
])
def test_a_one_by_one_result_is_a_scalar_wherever_one_is_meant(
        text: str, shapes: dict[str, Any]) -> None:
    d = sbp.derive(text, shapes=shapes)
    assert d.check().ok
    assert d.output.is_Symbol  # a scalar output, not a 1×1 MatrixSymbol


def test_inner_product_gradients_are_the_textbook_ones() -> None:
    x = sym("x", 3, 1)
    d = sbp.derive("log(x.T@x)", shapes={"x": (3, 1)})
    assert same(grad(d, "x"), 2 * x / (x.T * x)[0, 0])
    d = sbp.derive("sin(x).T@y", shapes={"x": (3, 1), "y": (3, 1)})
    xe = x.as_explicit()
    assert same(grad(d, "y"), sp.Matrix(3, 1, lambda i, j: sp.sin(xe[i, 0])))


def test_a_one_row_weight_matrix_keeps_its_layer_output() -> None:
    """W2 of shape (1, n) times h is the 1×1 output of a layer (loss='mse' needs it)."""
    sh = {"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (1, 3), "b2": (1, 1)}
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=sh, loss="mse")
    assert d.check().ok


def test_the_generated_code_reads_the_scalar() -> None:
    d = sbp.derive("s = x.T@y; L = s*s", shapes={"x": (3, 1), "y": (3, 1)})
    assert "(x.T @ y).item()" in d.to_python()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 1)), rng.normal(size=(3, 1))
    got = d.evaluate({"x": x, "y": y})
    np.testing.assert_allclose(got["x"], 2 * (x.T @ y).item() * y)


# ---------------------------------------------------------------------------------------
# 2. Matrix functions: the Cookbook's gradients


def test_the_trace_identity_of_the_cookbook() -> None:
    """∂/∂X tr(A Xᵀ B X C) = B X C A + Bᵀ X Aᵀ Cᵀ (Matrix Cookbook, eq. 116)."""
    sh = {"A": (2, 2), "X": (3, 2), "B": (3, 3), "C": (2, 2)}
    d = sbp.derive("tr(A@X.T@B@X@C)", shapes=sh)
    A, X, B, C = (sym(n, *sh[n]) for n in "AXBC")
    assert same(grad(d, "X"), B * X * C * A + B.T * X * A.T * C.T)
    assert d.check().ok


@pytest.mark.parametrize(("text", "textbook"), [
    ("det(X)", lambda X: X.det() * X.inverse().T),
    ("logdet(X)", lambda X: X.inverse().T),
    ("log(det(X))", lambda X: X.inverse().T),
    ("log(det(inv(X)))", lambda X: -X.inverse().T),
    ("sum(inv(X))", lambda X: -X.inverse().T * sp.ones(3, 3) * X.inverse().T),
])
def test_determinant_and_inverse_identities(text: str, textbook: Any) -> None:
    d = sbp.derive(text, shapes={"X": (3, 3)})
    Xs = sym("X", 3, 3)
    got = explicit(grad(d, "X"))
    want = sp.Matrix(textbook(Xs.as_explicit()))
    rng = np.random.default_rng(1)
    point = {Xs[i, j]: sp.Float(v) for (i, j), v in np.ndenumerate(
        rng.normal(size=(3, 3)) + 3 * np.eye(3))}
    np.testing.assert_allclose(np.array(got.subs(point).evalf(), dtype=float),
                               np.array(want.subs(point).evalf(), dtype=float), rtol=1e-9)
    values = {"X": np.array([[3.0, 0.2, 0.1], [0.3, 2.5, 0.4], [0.1, 0.2, 2.0]])}
    assert d.check(values).ok
    assert r"\det" in d.latex() or "det" not in text


@pytest.mark.parametrize(("text", "shapes", "textbook"), [
    ("norm2(A@x - y)", {"A": (2, 3), "x": (3, 1), "y": (2, 1)},
     lambda A, x, y: A.T * (A * x - y) / sp.sqrt(((A * x - y).T * (A * x - y))[0, 0])),
    ("sqnorm(A@x - y)", {"A": (2, 3), "x": (3, 1), "y": (2, 1)},
     lambda A, x, y: 2 * A.T * (A * x - y)),
])
def test_least_squares_gradients(text: str, shapes: dict[str, Any], textbook: Any) -> None:
    d = sbp.derive(text, shapes=shapes)
    A, x, y = (sym(n, *shapes[n]) for n in ("A", "x", "y"))
    assert same(grad(d, "x"), textbook(A.as_explicit(), x.as_explicit(), y.as_explicit()))
    assert d.check().ok


@pytest.mark.parametrize("text", [
    "mean((W@X - Y)**2)", "var(W@X)", "logsumexp(W@X)", "norm1(W@X - Y)", "norm(W)",
    "sum(arcsin(W/3) + asin(W/4) + arccos(W/3) + atan(W) + sinh(W) + cosh(W) + erf(W))",
    "sum(square(W) + sign(W))",
])
def test_the_reductions_and_functions_check(text: str) -> None:
    d = sbp.derive(text, shapes={"W": (2, 3), "X": (3, 4), "Y": (2, 4)})
    assert d.check().ok


def test_mean_and_variance_against_sympy_on_explicit_matrices() -> None:
    W = sp.Matrix(2, 2, lambda i, j: sp.Symbol(f"w{i}{j}", real=True))
    ws = list(W)
    mean = sum(ws) / 4
    var = sum((w - mean) ** 2 for w in ws) / 4
    d = sbp.derive("var(W) + mean(W)", shapes={"W": (2, 2)})
    got = explicit(grad(d, "W"))
    want = sp.Matrix(2, 2, lambda i, j: sp.diff(var + mean, W[i, j]))
    Ws = sym("W", 2, 2)
    got = got.subs({Ws[i, j]: W[i, j] for i in range(2) for j in range(2)}).doit()
    assert all(sp.simplify(a - b) == 0 for a, b in zip(got, want, strict=True))


# ---------------------------------------------------------------------------------------
# 3-5. Axes, broadcasting, constants


@pytest.mark.parametrize(("text", "shapes"), [
    ("mu = mean(X, axis=1); L = sum(mu)", {"X": (3, 4)}),
    ("sum((X - mean(X, axis=1))**2)", {"X": (3, 4)}),
    ("sum((X - mean(X, axis=0))**2)", {"X": (3, 4)}),
    ("sum(var(X, axis=0)) + sum(var(X, axis=-1))", {"X": (3, 4)}),
    ("sum(hadamard(B, softmax(S, axis=1)))", {"S": (3, 4), "B": (3, 4)}),
    ("sum(hadamard(B, softmax(S, axis=0)))", {"S": (3, 4), "B": (3, 4)}),
    ("sum(logsumexp(S, axis=-1))", {"S": (3, 4)}),
    ("sum(sum(X, axis=0)) + sum(X, axis=0) @ r", {"X": (3, 4), "r": (4, 1)}),
    ("sum(X / mean(X, axis=1))", {"X": (3, 4)}),
    ("sum(hadamard(X + r, X - c))", {"X": (3, 4), "r": (1, 4), "c": (3, 1)}),
    ("sum(X * (u.T @ v) + u.T @ v)", {"X": (3, 4), "u": (2, 1), "v": (2, 1)}),
    ("sum(hadamard(ones(3, 4), X) + zeros(3, 4)) + trace(eye(3)@A)", {"X": (3, 4), "A": (3, 3)}),
    ("sum(ones(n, 1).T @ X)", {"X": ("n", 4)}),
    ("sum(max(X, axis=1)) + sum(hadamard(r, min(X, axis=0)))", {"X": (3, 4), "r": (1, 4)}),
    ("m = max(S, axis=1); L = sum(exp(S - m))", {"S": (3, 4)}),
    ("S = Q@K.T/8; L = sum(hadamard(S, S))", {"Q": (4, 8), "K": (4, 8)}),
])
def test_axes_broadcasting_and_constants(text: str, shapes: dict[str, Any]) -> None:
    d = sbp.derive(text, shapes=shapes)
    assert d.check().ok


def test_a_reduction_along_an_axis_is_written_with_ones() -> None:
    d = sbp.derive("mu = mean(X, axis=1); L = sum(hadamard(mu, mu))", shapes={"X": (3, 4)})
    assert r"\mathbf{X}\mathbf{1}" in d.latex(sections="forward")
    assert r"\mathbf{1}^{\top}" in d.latex(sections="backward")


def test_keyword_arguments_and_sizes_are_checked() -> None:
    sh = {"X": (3, 4)}
    for text in ("sum(X, axis=2)", "sum(X, axis=3)", "sum(X, axis=(0, 1))"):
        with pytest.raises(sbp.ShapeError, match="axis"):  # a tensor's axes, not a matrix's
            sbp.derive(text, shapes=sh)
    for text, match in [("sum(X, axis=10**9)", "axis"), ('sum(X, axis="x")', "axis"),
                        ("sum(X, axis=64)", "axis"), ("sin(X, axis=0)", "keyword"),
                        ("sum(X, keepdims=1)", "keyword"), ("sum(sin(x, axis=1))", "keyword")]:
        with pytest.raises(sbp.ParseError, match=match):
            sbp.derive(text, shapes=sh)
    with pytest.raises(sbp.LimitError, match="max_elements"):
        sbp.derive("sum(ones(1000000000, 1000000000))")
    for text in ("sum(ones(10**9, 1))", "sum(ones(0, 1))", "sum(ones(x, 1))"):
        with pytest.raises(sbp.ParseError, match="size"):
            sbp.derive(text)
    with pytest.raises(sbp.ShapeError):
        sbp.derive("sum(X + Y)", shapes={"X": (3, 4), "Y": (2, 4)})


# ---------------------------------------------------------------------------------------
# 6. Readable results: the Cookbook's forms, compared as expressions (not as strings)


def _factored(e: sp.Basic, right: sp.Basic | None = None, left: sp.Basic | None = None,
              ) -> bool:
    """``e`` is one product c·M…  whose last (first) matrix factor is ``right`` (``left``)."""
    if not isinstance(e, sp.MatMul):
        return False
    mats = [a for a in e.args if getattr(a, "is_Matrix", False)]
    return (right is None or mats[-1] == right) and (left is None or mats[0] == left)


@pytest.mark.parametrize("layout", ["denominator", "numerator"])
def test_the_textbook_forms(layout: Literal["denominator", "numerator"]) -> None:
    sq = {"x": (3, 1), "A": (3, 3)}
    x, A = sym("x", 3, 1), sym("A", 3, 3)
    g = sbp.derive("0.5*x.T@A@x", shapes=sq, layout=layout).gradient("x")  # ½(A + Aᵀ)x
    assert _factored(g, right=x)
    assert same(g, sp.Rational(1, 2) * (A + A.T) * x)

    ls = {"A": (4, 3), "x": (3, 1), "y": (4, 1)}
    A4, y = sym("A", 4, 3), sym("y", 4, 1)
    g = sbp.derive("(A@x - y).T@(A@x - y)", shapes=ls, layout=layout).gradient("x")
    assert _factored(g, left=A4.T)  # 2Aᵀ(Ax − y)
    assert same(g, 2 * A4.T * (A4 * x - y))

    lr = {"X": (5, 3), "w": (3, 1), "y": (5, 1)}
    g = sbp.derive("sum(softplus(-hadamard(y, X@w)))", shapes=lr, layout=layout).gradient("w")
    X = sym("X", 5, 3)
    assert _factored(g, left=X.T)  # −Xᵀ(y ⊙ σ(−y ⊙ Xw))
    assert g.args[0] == -1


def test_ridge_regression_reads_as_the_book() -> None:
    d = sbp.derive("sqnorm(X@w - y) + lam*sqnorm(w)",
                   shapes={"X": (5, 3), "w": (3, 1), "y": (5, 1)}, wrt="w")
    X, w, y = sym("X", 5, 3), sym("w", 3, 1), sym("y", 5, 1)
    lam = sp.Symbol("lam", real=True)
    assert same(d.gradient("w"), 2 * X.T * (X * w - y) + 2 * lam * w)
    assert d.check().ok


def test_the_matrix_calculus_page_is_what_the_library_does() -> None:
    """docs/matrix-calculus.md: every identity derived, printed and checked today."""
    from tools.matrix_calculus import IDENTITIES, PAGE, page

    fresh = page()
    assert fresh == PAGE.read_text(encoding="utf-8"), "run python -m tools.matrix_calculus"
    assert fresh.count("✓") == len(IDENTITIES)
    math = [m for line in fresh.splitlines() if line.startswith("| ")
            for m in re.findall(r"\$([^$]+)\$", line)]
    assert len(math) == 2 * len(IDENTITIES)
    assert_latex_ok(math)  # KaTeX and pdflatex, where installed (CI installs both)


@pytest.mark.parametrize(("whole", "staged", "shapes"), [
    ("0.5*x.T@A@x + logdet(A)", "q = x.T@A@x; r = logdet(A); L = 0.5*q + r",
     {"x": (3, 1), "A": (3, 3)}),
    ("sum((X - mean(X, axis=1))**2) + norm2(X)",
     "mu = mean(X, axis=1); c = X - mu; L = sum(c**2) + norm2(c + mu)", {"X": (3, 4)}),
    ("sum(hadamard(B, softmax(S, axis=1))) + sum(max(S, axis=0))",
     "P = softmax(S, axis=1); m = max(S, axis=0); L = sum(hadamard(B, P)) + sum(m)",
     {"S": (3, 4), "B": (3, 4)}),
])
def test_the_numbers_do_not_depend_on_how_it_is_written(whole: str, staged: str,
                                                        shapes: dict[str, Any]) -> None:
    """Stage names, granularity and LaTeX input change the presentation, never the numbers."""
    rng = np.random.default_rng(3)
    values = {k: rng.uniform(0.5, 1.5, v) for k, v in shapes.items()}
    if "A" in values:
        values["A"] = values["A"] + 3 * np.eye(3)  # det > 0
    want = sbp.derive(whole, shapes=shapes).evaluate(values)
    variants = [sbp.derive(staged, shapes=shapes, granularity=g)
                for g in ("auto", "primitive", "layers", "stages")]
    variants += [sbp.derive(whole, shapes=shapes, granularity=g)
                 for g in ("primitive", "layers", "stages")]
    if "axis" not in whole:  # X𝟏𝟏ᵀ and max_col do not read back as LaTeX yet (see the note)
        tex = sbp.derive(whole, shapes=shapes).latex(sections="forward")
        variants.append(sbp.derive(tex, syntax="latex", shapes=shapes))
    for v in variants:
        got = v.evaluate(values)
        for k in want:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-10, atol=1e-12)
        assert v.check(values).ok


@pytest.mark.parametrize("order", ["1", "inf", "-1", "-inf", "2", "'fro'", "None"])
def test_the_norm_of_a_row_is_numpys_norm_of_a_2d_array(order: str) -> None:
    """NumPy reads a (1, n) row as a matrix: its 1-norm is the largest column sum (the
    largest |x_j|), its inf-norm the row sum. The text read a row as a vector and swapped
    them, and check() agreed, its witness reading the row the same way (a held-out case)."""
    import numpy as np

    row = np.array([[0.5, -2.0, 1.0]])
    ord_: Any = {"1": 1, "inf": np.inf, "-1": -1, "-inf": -np.inf, "2": 2, "'fro'": "fro",
                 "None": None}[order]
    d = sbp.derive(f"norm(r, {order})", shapes={"r": (1, 3)})
    assert float(d.trace({"r": row})["L"].value) == pytest.approx(np.linalg.norm(row, ord_))
    h = 1e-6
    fd = [(np.linalg.norm(row + h * e, ord_) - np.linalg.norm(row - h * e, ord_)) / (2 * h)
          for e in np.eye(3)[:, None, :]]
    np.testing.assert_allclose(d.evaluate({"r": row})["r"].ravel(), fd, atol=1e-8)
    assert d.check({"r": row}).ok


def test_a_row_against_a_column_broadcasts_both() -> None:
    """r − c with r (1, 3) and c (2, 1) is NumPy's (2, 3) matrix, 𝟏 r − c 𝟏ᵀ, in every
    element-wise operation; it was a ShapeError (a held-out case)."""
    import numpy as np

    r, c = np.array([[0.5, -1.0, 2.0]]), np.array([[0.3], [-0.7]])
    d = sbp.derive("sum(hadamard(tanh(r - c), where(c > 0, r, 2*c)))",
                   shapes={"r": (1, 3), "c": (2, 1)})
    g = d.evaluate({"r": r, "c": c})
    t, wsel = np.tanh(r - c), np.where(c > 0, r, 2 * c)
    dt = (1 - t**2) * wsel
    np.testing.assert_allclose(g["r"], dt.sum(0, keepdims=True)
                               + (t * (c > 0)).sum(0, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(g["c"], -dt.sum(1, keepdims=True)
                               + (2 * t * (c <= 0)).sum(1, keepdims=True), rtol=1e-12)
    assert d.check({"r": r, "c": c}).ok


def test_a_product_of_two_one_by_one_values_is_numpys() -> None:
    """(1, 1) @ (1, 1), of two 1×1 products or reductions, is NumPy's (1, 1) product; it was
    'scalar @ scalar (a name without a shape is a scalar...)', a misleading hint for stages
    (a held-out case). A sum of every entry is a number, and @ of it says to use *."""
    import numpy as np

    v = np.array([[1.0], [2.0], [4.0]])
    d = sbp.derive("o = v.T @ v; o @ o", shapes={"v": (3, 1)})
    np.testing.assert_allclose(d.evaluate({"v": v})["v"], 4 * 21.0 * v)
    assert sbp.derive("s1 = var(v, axis=0); sum(s1 @ s1)", shapes={"v": (3, 1)}).check().ok
    with pytest.raises(sbp.ShapeError, match=r"a 1×1 value is a scalar here: use \*"):
        sbp.derive("a = sum(v); a @ a", shapes={"v": (3, 1)})


@pytest.mark.parametrize("text", [
    "a**((2*x - y).T@(x - y))", "a**((x/2).T@(x - y))", "((2*x - y).T@(x - y))**a",
    "exp((2*x - y).T@x) + a", "a**sum(var(r, axis=1))", "a**var(r, axis=1)",
    "a**((r - 2*r)@x)", "b = a**var(r, axis=1); b + a**sum(var(r, axis=1))",
])
def test_a_one_by_one_with_numbers_in_a_matrix_sum_is_an_exponent(text: str) -> None:
    """A 1×1 whose matrix sum has a number in a term ((2x − y)ᵀ(x − y), the variance of a
    row) inside a power: SymPy's power runs factor_terms on its exponent, which cannot take
    the 2 out of 2x − y, and raised 'Mix of Matrix and Scalar symbols' or a bare
    AttributeError (a held-out case). The 1×1 is then a stage of its own."""
    d = sbp.derive(text, shapes={"x": (3, 1), "y": (3, 1), "r": (1, 3)})
    assert d.check().ok


def test_the_power_of_a_one_by_one_has_the_textbook_gradient() -> None:
    rng = np.random.default_rng(3)
    x, y, a = rng.normal(size=(3, 1)), rng.normal(size=(3, 1)), 1.7
    d = sbp.derive("a**((2*x - y).T@(x - y))", shapes={"x": (3, 1), "y": (3, 1)})
    s = ((2 * x - y).T @ (x - y)).item()
    got = d.evaluate({"a": a, "x": x, "y": y})
    np.testing.assert_allclose(got["a"], s * a ** (s - 1), rtol=1e-12)
    np.testing.assert_allclose(got["x"], a**s * np.log(a) * (2 * (x - y) + (2 * x - y)),
                               rtol=1e-12)
    r = rng.normal(size=(1, 3))
    d = sbp.derive("a**sum(var(r, axis=1))", shapes={"r": (1, 3)})
    v = r.var()
    got = d.evaluate({"a": a, "r": r})
    np.testing.assert_allclose(got["a"], v * a ** (v - 1), rtol=1e-12)
    np.testing.assert_allclose(got["r"], a**v * np.log(a) * 2 * (r - r.mean()) / 3,
                               rtol=1e-12)


ONE_BY_ONE = {"r": (1, 3), "y": (3, 1), "c": (1, 1), "x": (3, 1), "A": (3, 3), "X": (1, 1),
              "P": (1, 1), "k": (1, 1), "Wh1": (3, 3)}


@pytest.mark.parametrize("text", ["exp(r@y)", "c**2 + c", "(r@y)**2", "b*(r@y)",
                                  "s = x.T@y; L = max(s, axis=0)"])
def test_the_gradients_written_out_of_a_one_by_one(text: str) -> None:
    """A 1×1's cotangent is the scalar it equals (∂L/∂h = 1 of L = h); substituted into
    ∂L/∂h ⊙ h it raised 'Mix of Matrix and Scalar symbols' from d.gradients, markdown(),
    html(), to_json() and the CLI, and a KeyError on the next call (held-out round V)."""
    d = sbp.derive(text, shapes=ONE_BY_ONE)
    assert set(d.gradients) == set(d.wrt)
    assert d.markdown()
    json.loads(d.to_json())
    rng = np.random.default_rng(2)
    vals = {str(v.name): rng.uniform(0.5, 1.5, size=ONE_BY_ONE.get(str(v.name), ()))
            for v in d.inputs}
    got = d.evaluate(vals)
    for v, g in d.gradients.items():  # the written-out gradient is the evaluated one
        env = {s: np.asarray(vals[str(s.name)], float) for s in
               g.free_symbols | g.atoms(sp.MatrixSymbol) if str(s.name) in vals}
        value = compile_expr(g)({s: float(a) if a.ndim == 0 else a for s, a in env.items()})
        np.testing.assert_allclose(np.asarray(value, float).reshape(np.shape(got[str(v.name)])),
                                   got[str(v.name)], rtol=1e-12)


@pytest.mark.parametrize(("text", "wrt", "want"), [
    ("L = c**2 + c", "c", lambda v: np.array([[2.0]])),
    ("s = c**2; L = sum(s*x)", "c", lambda v: np.array([[2 * v["x"].sum()]])),
    ("L = (r@x)**2 + 2*(r@x) - 1", "x", lambda v: 2 * v["r"].T @ v["r"]),
    ("s = max(x.T@y, axis=0); L = sum(s*x)", "x",
     lambda v: v["y"] @ np.ones((1, 3)) + np.ones((3, 1)) @ v["y"].T),
])
def test_the_hessian_through_a_one_by_one_stage(text: str, wrt: str, want: Any) -> None:
    """Naming the output (L = …) or staging a 1×1 (s = c**2) made sbp.hessian raise SymPy's
    TypeError or an AttributeError, where the inlined form worked (held-out round V)."""
    rng = np.random.default_rng(4)
    v = {k: rng.uniform(0.5, 1.5, size=s) for k, s in ONE_BY_ONE.items()}
    h = sbp.hessian(text, wrt=wrt, shapes=ONE_BY_ONE)
    got = h.evaluate({k: v[k] for k in (str(s.name) for s in h.inputs)})[wrt]
    np.testing.assert_allclose(np.reshape(got, np.shape(want(v))), want(v), rtol=1e-10)


@pytest.mark.parametrize("text", [
    "L = sum((c + 2)*x)", "sum((r@x - 1)*A)", "sum(exp(A)**(c + 1))",
    "s = r@x; t = x.T@y; L = sum((s + t)*A@x)", "L = sum(2*(c + 1)*x)", "L = log(1 + c)",
    "sum(y/(1 + c))", "sum(X + eye(1))", "sum(P / (1 + X))",
    # held-out round W: a minus, ⊘ and ⊙ around a 1×1, 𝟏 ⊘ of a row, Wh1ᵀ, an input e
    "sum((k - 1)*(-A))", "sum((1 - k)*(-A))", "sum(-((k - 1)*A))",
    "u = (r@x/exp(k))*A; sum(u)", "u = hadamard(k, 2 + x.T@y); sum(u*A)", "sum(1/r)",
    "sum(1/A)", "sum(Wh1@Wh1.T)", "e**2*d",
])
def test_the_printed_forward_pass_of_a_one_by_one_sum_reads_back(text: str) -> None:
    """(c + 2)·x of a 1×1 c printed c + 2x (its sum an Item, which no printer bracketed),
    and the read-back derivation's gradients were wrong with no error; c + 𝟏 printed a ones
    vector whose length nothing fixed (held-out rounds V and Q). A 1×1 sum is bracketed as
    a factor, and the 1×1 ones and identity print as 1."""
    d = sbp.derive(text, shapes=ONE_BY_ONE)
    back = sbp.derive(sbp.parse_latex(d.latex(sections="forward"), shapes=ONE_BY_ONE))
    rng = np.random.default_rng(5)
    vals = {str(s.name): rng.uniform(0.5, 1.5, size=ONE_BY_ONE.get(str(s.name), ()))
            for s in d.inputs}
    got, want = back.evaluate(vals), d.evaluate(vals)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-12, err_msg=k)
    assert "(c + 2⋅𝟙)⋅x" in sbp.derive("L = sum((c + 2)*x)", shapes=ONE_BY_ONE).to("text")
    assert_latex_ok([d.latex(), d.latex(sections="result")])


def test_the_transpose_of_a_row_of_ones_is_a_column() -> None:
    r"""∂/∂c of sum((c y)ᵀ) printed \mathbf{1}^{	op}^{	op}, TeX's "Double superscript",
    in the result section, markdown() and html() (held-out round W)."""
    d = sbp.derive("sum((c*y).T)", shapes={"y": (3, 1)})
    text = d.latex(sections="result")
    assert r"^{\top}^" not in text
    assert_latex_ok([text])
