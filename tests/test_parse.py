"""The safe front end: what it accepts, and errors that say where (column) and what."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp

X, Y = sp.symbols("x y", real=True)


@pytest.mark.parametrize(("text", "column", "fragment"), [
    ("x + foo(y)", 5, "unknown function 'foo'"),
    ("x.y", 1, "only .T"),
    ("(x + y", 1, "never closed"),
    ("x + 'a'", 5, "found the constant 'a'"),
    ("lambda x: x", 1, "found a lambda"),
    ("sigmoid + 1", 1, "is a function: call it"),
    ("x ** 10000", 1, "Limits.max_exponent"),
    ("y + \uff58", 5, "not allowed"),
    ("a = sin(x)\nb = a + [1]", 9, "found a list on line 2"),
    ("x = 1; x = 2", 8, "bound once"),
    ("f(x)(y)", 1, "unknown function 'f'"),  # (a)(b) is a product, written as on paper
    ("x.sin(y)", 1, "only calls of a function by its name"),
    ("x if y else z", 1, "found if/else"),
    ("exp(x) + sin(x, y)", 10, "sin takes 1 argument, got 2"),
    ("max(x, y, z)", 1, "max takes 2 arguments, got 3"),  # max(X): the largest entry
    ("x + __class__", 5, "reserved"),
])
def test_errors_name_the_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(sbp.ParseError) as info:
        sbp.parse(text)
    assert info.value.column == column
    assert fragment in str(info.value)
    assert f"(column {column})" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_accepted_forms() -> None:
    assert sbp.parse("(x + y)**2") == (X + Y) ** 2
    assert sbp.parse("t = x*y; u = sin(t); u + t") == sp.sin(X * Y) + X * Y
    assert sbp.parse("x - y/2") == X - Y / 2
    assert sbp.parse("-x + pi") == -X + sp.pi
    W = sp.MatrixSymbol("W", 2, 3)
    assert sbp.parse("W.T", shapes={"W": (2, 3)}) == W.T


def test_stages_by_newline_and_semicolon_agree() -> None:
    assert sbp.parse("a = x + y\nb = a*a\nb") == sbp.parse("a = x + y; b = a*a; b")


def test_unknown_names_are_inputs_not_functions() -> None:
    e = sbp.parse("alpha * beta + lam")
    assert {str(s) for s in e.free_symbols} == {"alpha", "beta", "lam"}


@pytest.mark.parametrize(("text", "values", "want"), [
    # NumPy's where(x > 0, x, 0.1 x): the leaky ReLU, slope 1 or 0.1
    ("where(x > 0, x, 0.1*x) * y", {"x": 0.7, "y": 1.3}, {"x": 1.3, "y": 0.7}),
    ("where(x > 0, x, 0.1*x) * y", {"x": -0.7, "y": 1.3}, {"x": 0.13, "y": -0.07}),
    ("(x >= y) * x + (x < y) * y", {"x": 0.3, "y": 0.5}, {"x": 0.0, "y": 1.0}),  # max
    ("(x <= y) * x**2 + (y < x) * y**2", {"x": 0.3, "y": 0.5}, {"x": 0.6, "y": 0.0}),
])
def test_a_comparison_is_the_number_numpy_makes_of_it(text, values, want):
    """a > b is 𝟏[a − b > 0] (0 or 1, NumPy's boolean as a number), derivative 0 where it
    has one; the gradient flows through what the comparison selects."""
    d = sbp.derive(text)
    assert d.check(values).ok
    got = d.evaluate(values)
    for k, v in want.items():
        assert got[k] == pytest.approx(v, abs=1e-12)


def test_comparisons_tie_as_numpy_does_and_read_back():
    """At a tie x > y is 0 and x >= y is 1, as NumPy's; matrices compare entry by entry;
    the derivation writes 𝟏[a > b] as the user compared."""
    a = np.array([[0.5, -1.0], [2.0, 0.5]])
    for text, want in (("x > y", a > 0.5), ("x >= y", a >= 0.5), ("x < y", a < 0.5),
                       ("x <= y", a <= 0.5)):
        d = sbp.derive(f"sum(hadamard(W, {text.replace('x', 'A').replace('y', 'B')}))",
                       shapes={"A": (2, 2), "B": (2, 2), "W": (2, 2)})
        values = {"A": a, "B": np.full((2, 2), 0.5), "W": np.ones((2, 2))}
        np.testing.assert_array_equal(d.evaluate(values)["W"], want.astype(float))
    assert r"\mathbf{1}\left[{x > y}\right]" in sbp.derive("(x > y) * x").latex()
    for paper, text in (("(x ≥ y)·x", "(x >= y) * x"), ("(x ≤ y)·x", "(x <= y) * x")):
        assert sbp.derive(paper).forward == sbp.derive(text).forward  # paper notation
    for tex, text in ((r"\mathbf{1}\left[{x > y}\right] x", "(x > y) * x"),
                      (r"\mathbf{1}[x \geq y^{2}] \cdot x", "(x >= y**2) * x")):
        assert sbp.derive(tex, syntax="latex").forward == sbp.derive(text).forward  # LaTeX
    for bad, match in (("x < y < z", "two values at a time"), ("x == y", "measure 0")):
        with pytest.raises(sbp.ParseError, match=match):
            sbp.derive(bad)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_of_one_array_is_its_largest_entry(name):
    """max(X) as NumPy's np.max: the largest entry, whose gradient is 1 there and 0 elsewhere
    (max(a, b) stays the larger of each pair)."""
    x = np.array([[0.3, -1.2], [2.5, 0.7], [-0.4, 1.1]])
    d = sbp.derive(f"{name}(X) * 3", shapes={"X": (3, 2)})
    assert d.check({"X": x}).ok
    want = np.zeros_like(x)
    want[np.unravel_index(np.argmax(x) if name == "max" else np.argmin(x), x.shape)] = 3.0
    np.testing.assert_array_equal(d.evaluate({"X": x})["X"], want)
    assert sbp.derive(f"{name}(x) * y").evaluate({"x": 0.5, "y": 2.0}) == {"x": 2.0, "y": 0.5}


@pytest.mark.parametrize(("numpy", "text"), [
    ("np.sum(np.tanh(W @ x))", "sum(tanh(W @ x))"),
    ("X.sum(axis=0).sum() + X.mean()", "sum(sum(X, axis=0)) + mean(X)"),
    ("np.sum(X.reshape(2, 3) @ v) + np.sum(X.reshape((3, 2)))",
     "sum(reshape(X, (2, 3)) @ v) + sum(reshape(X, (3, 2)))"),
    ("2 * np.pi * np.linalg.norm(v) + math.exp(c)", "2 * pi * norm(v) + exp(c)"),
    ("A.dot(B).max() + np.maximum(c, 0)", "max(dot(A, B)) + maximum(c, 0)"),
    ("X.T.sum() + np.linalg.det(A @ B)", "sum(X.T) + det(A @ B)"),
    ("np.sum(scipy.special.expit(W @ x)) + jax.numpy.sum(torch.nn.functional.softplus(v))",
     "sum(sigmoid(W @ x)) + sum(softplus(v))"),
])
def test_numpys_spellings_are_the_texts_functions(numpy, text):
    """Code pasted from NumPy: np.f(...), np.linalg.f(...), np.pi and the array methods
    (.sum(axis=…), .mean(), .reshape(…), .dot(…), …) are the text's functions, renamed before
    the whitelist sees them (nothing is evaluated); the witness reads the same."""
    shapes = {"W": (2, 3), "x": (3, 1), "X": (3, 2), "v": (3, 1), "A": (2, 3), "B": (3, 2)}
    d = sbp.derive(numpy, shapes=shapes)
    assert d.forward == sbp.derive(text, shapes=shapes).forward
    assert d.check().ok
    for bad in ("os.system(x)", "np.linalg.foo(x)", "x.__class__(x)", "x.cos()",
                "os.path.exp(x)", "scipy.special.foo(x)", "np.special.__import__(x)"):
        with pytest.raises(sbp.ParseError, match="only calls of a function by its name"):
            sbp.derive(bad)


def test_a_stage_the_output_never_reads_is_a_reading() -> None:
    """s = b; L = sum(tanh(c)): the stage s was dropped without a word (held-out round T);
    a slip such as h2 defined and h1 used again is easy to make, so the readings say so."""
    d = sbp.derive("s = b; h = 2*c; L = h")
    assert [str(e.lhs) for e in d.forward] == ["h", "L"]
    assert d.readings == ("the stage s: not used by the output, left out",)
    assert sbp.derive("h = x**2; L = h + 1").readings == ()
