"""Library-spelled text: values NumPy holds as 1-D arrays (ravel, X[:, j], diag of a
matrix, cumsum without an axis, ...) are NumPy's there, never the text's column: beside a
row or a matrix they are refused (the message says how to write either reading), and where
NumPy and the text agree whatever the rank the value is NumPy's own."""

import random
import re

import numpy as np
import pytest
from numpy_oracle import numpy_gradient, numpy_or_refused, numpy_value

import symbackprop as sbp
from symbackprop.errors import ShapeError, UnsupportedError

SHAPES = {"X": (3, 3), "c": (1, 9), "u": (3, 1), "r": (1, 3), "w": (3, 1)}
RNG = np.random.default_rng(0)
VALUES = {k: RNG.normal(size=s) for k, s in SHAPES.items()}


def _text(text: str) -> float:
    d = sbp.derive(text, shapes=SHAPES)
    return float(np.asarray(d.trace(VALUES)["L"].value).ravel()[0])


def _numpy(text: str) -> float:
    return float(np.asarray(eval(text, {"np": np}, dict(VALUES))).ravel()[0])


@pytest.mark.parametrize("text", [
    "np.sum(np.ravel(X) * c)", "np.sum(X.flatten() * c)", "np.sum(np.repeat(u, 3) * c)",
    "np.sum(np.diag(X) * r)", "np.sum(np.diagonal(X) * r)", "np.sum(X[:, 0] * r)",
    "np.sum(np.ravel(u) * r)", "np.sum(np.cumsum(u) * r)", "np.sum(np.ravel(u) + r)",
    "np.sum(np.reshape(X, -1) - c)", "np.sum(np.exp(np.ravel(u)) * r)",
    "np.sum(np.tile(np.ravel(u), 3) * c)", "np.sum((X @ np.ravel(u)) * r)",
    "np.sum(np.einsum('ij->i', X) * r)",
])
def test_one_d_beside_another_shape_is_refused(text: str) -> None:
    with pytest.raises(ShapeError, match="1-D") as e:
        _text(text)
    assert "reshape(1, -1)" in str(e.value)


@pytest.mark.parametrize("text", [
    "np.sum(np.ravel(u) + np.ravel(w))", "np.dot(np.ravel(u), np.ravel(w))",
    "np.sum(X @ np.ravel(u))", "np.sum(np.ravel(X) * 2)",
    "np.sum(np.exp(X[:, 1]) / np.ravel(u))", "np.sum(np.ravel(u).reshape(1, -1) + r)",
    "np.sum(np.ravel(u).reshape(-1, 1) + r)",
    "np.sum(np.concatenate([np.ravel(u), np.ravel(w)]) ** 3 / (1 + np.ravel(X)[3:] ** 2))",
    "np.sum(np.stack([np.ravel(u), np.ravel(w)]) - r)",
    "np.sum(np.cumsum(u) - np.diag(X))", "np.sum(np.repeat(np.ravel(w), 2) ** 3)",
    "np.sum(np.linalg.solve(X, np.ravel(u)) - X[:, 2])", "np.sum(X[1] + r)",
    "np.sum(np.exp(X[0]) @ X)", "np.sum(X - np.mean(X, axis=0))", "np.sum(u * X[0])",
    "np.sum(np.ravel(X) ** 3 / np.repeat(np.exp(w), 3))", "np.sum(X[0, 0:2])",
    "np.sum(np.ravel(u) @ X)", "np.sum(np.dot(np.ravel(u), X))", "np.sum(X @ X[0])",
])
def test_agrees_with_numpy(text: str) -> None:
    assert _text(text) == pytest.approx(_numpy(text), rel=1e-10, abs=1e-12)
    assert sbp.derive(text, shapes=SHAPES).check(VALUES).ok


@pytest.mark.parametrize(("text", "gist"), [
    ("np.sum(np.diag(u))", "diagonal"),
    ("np.sum(np.kron(np.ravel(u), X))", "1-D array and a 2-D"),
    ("np.sum(np.tile(np.ravel(u), 2))", "np.concatenate"),
    ("np.sum(np.hstack([np.ravel(u), np.ravel(w)]))", "np.concatenate"),
    ("np.sum(np.vstack([np.ravel(u), np.ravel(w)]))", "np.stack"),
    ("np.sum(np.concatenate([np.ravel(u), np.ravel(w)], axis=-1))", "only one"),
    ("np.ravel(X)[0, 0]", "two indices"), ("np.sum(r[0:2])", "axis 0"),
    ("np.sum(np.outer(c, r[0]))", "axis 0"),
    ("np.matmul(X[0], X[1])", "on the right of @"), ("np.sum(np.matmul(np.ravel(u), c))", "np.dot"),
    ("np.sum(np.sum(X, axis=0).T * u)", "transpose"), ("np.sum(np.cumsum(r).T)", "transpose"),
    ("np.sum(u @ X[1])", "on the right of @"), ("np.sum(np.ravel(u) @ r)", "on the left of @"),
])
def test_no_numpy_reading_is_refused(text: str, gist: str) -> None:
    with pytest.raises(ShapeError, match=gist):
        _text(text)


def test_the_text_without_library_calls_keeps_its_column() -> None:
    d = sbp.derive("sum(ravel(u) * r)", shapes=SHAPES)
    assert float(d.trace(VALUES)["L"].value) == pytest.approx(
        float(np.sum(VALUES["u"] * VALUES["r"])))


_ONE_D = ["np.ravel({m})", "{m}.flatten()", "np.reshape({m}, -1)", "np.diag(X)",
          "np.diagonal(X)", "X[:, {i}]", "X[{i}]", "np.sum(X, axis=0)", "np.cumsum(u)", "np.repeat(u, 3)",
          "np.ravel(u)", "X @ np.ravel(u)", "np.exp(np.ravel(w))"]
_OTHER = ["r", "u", "c", "X", "np.ravel(w)", "2", "X[{i}, :]", "np.diag(X)", "np.mean(X, 0)",
          "X[{i}].T"]


def test_generated_expressions_are_numpy_s_or_refused() -> None:
    rnd = random.Random(5)
    agreed = 0
    for _ in range(300):
        a = rnd.choice(_ONE_D).format(m=rnd.choice("Xuc"), i=rnd.randrange(3))
        o = rnd.choice(_OTHER).format(i=rnd.randrange(3))
        op = rnd.choice(["*", "+", "-"] if o == "2" else ["*", "+", "-", "@"])  # x @ 2: the
        # text's product by a scalar, which NumPy refuses
        text = f"np.sum({a} {op} {o})" if rnd.random() < 0.5 else f"np.sum({o} {op} {a})"
        try:
            want = _numpy(text)
        except ValueError:
            want = None
        try:
            got = _text(text)
        except (ShapeError, UnsupportedError):
            continue
        assert want is not None, text
        assert got == pytest.approx(want, rel=1e-9, abs=1e-12), text
        agreed += 1
    assert agreed > 20


# NumPy's 1-D values held as columns (an input declared (n,), np.ravel, np.diag(B)) beside
# ones held as rows (Y[1], np.sum(Y, 0)): element-wise, np.dot and @ of two, as NumPy
R4 = {"x": (4,), "Y": (3, 4), "B": (4, 4), "M": (2, 2), "X": (4, 3), "u": (4, 1), "y": (4,)}
R4_VALUES = {k: np.random.default_rng(4).normal(size=s) for k, s in R4.items()}


def _agrees(text: str) -> None:
    d = sbp.derive(text, shapes=R4)
    got = np.asarray(d.trace(R4_VALUES)["L"].value, dtype=float).ravel()
    want = np.asarray(eval(text, {"np": np}, dict(R4_VALUES)), dtype=float).ravel()
    assert got == pytest.approx(want, rel=1e-10, abs=1e-12), text
    assert d.check(R4_VALUES).ok, text


@pytest.mark.parametrize("text", [
    "np.sum(np.sin(x + Y[1]))", "np.sum(np.ravel(M) + Y[1])", "np.sum(np.diag(B) + B[2])",
    "np.sum(np.maximum(np.cumprod(y), B[2]))",
    "np.sum(np.arctan2(np.einsum('ij->i', X), Y[1]))", "np.sum((x - Y[1]) / np.sum(Y, 0))",
    "np.sum(Y[1] - x + Y[2])", "np.sum(np.where(x > 0, Y[1], x))",
    "np.dot(x, Y[1])", "np.dot(Y[1], Y[2])", "np.sum(Y[1] @ Y[2])", "np.ravel(u) @ x",
    "np.dot(np.diag(B), np.mean(Y, axis=0))", "np.dot(np.ravel(u), np.ravel(u))",
    "np.sum(B @ Y[1])", "np.sum(np.dot(B, Y[1]))", "np.sum(np.matmul(B, Y[1]))",
    "np.sum(x @ B)", "np.sum(np.dot(x, B))", "np.sum(np.matmul(x, X))",
    "np.sum(np.dot(x, X) + Y[0][:3])", "np.sum(x @ X @ Y)",
])
def test_one_d_columns_beside_one_d_rows(text: str) -> None:
    _agrees(text)


@pytest.mark.parametrize(("text", "gist"), [
    ("np.sum(x + Y[1][:3])", r"NumPy refuses 1-D \(4,\) beside \(3,\)"),
    ("np.sum(x * Y[1])", "hadamard"),
])
def test_one_d_beside_a_one_d_row_refused_says_why(text: str, gist: str) -> None:
    with pytest.raises(ShapeError, match=gist) as e:
        sbp.derive(text, shapes=R4)
    assert "against (1, " not in str(e.value)


@pytest.mark.parametrize("text", [
    "np.max(X, axis=1).reshape(-1, 1).sum()", "np.sum(np.tanh(np.max(X, axis=1)))",
    "np.sum(np.sum(X, 1) + np.diag(B))", "np.dot(np.sum(X, axis=1), x)",
    "np.sum(np.sum(B, -1) - B[0])", "np.sum(B @ np.sum(B, 1))",
    "np.sum(B - np.mean(B, 1, keepdims=True))", "np.sum(B @ np.sum(B, 0, keepdims=True).T)",
])
def test_reductions_along_axis_1_are_numpy_s_1_d(text: str) -> None:
    _agrees(text)


def test_a_reduction_along_axis_1_beside_a_matrix_is_refused() -> None:
    with pytest.raises(ShapeError, match="keepdims=True"):
        sbp.derive("np.sum(B - np.mean(B, 1))", shapes=R4)


@pytest.mark.parametrize("text", ["np.sum(np.dot(x, u))", "np.sum(np.dot(x, Y))"])
def test_np_dot_refused_never_says_write_np_dot_x_y(text: str) -> None:
    with pytest.raises(ShapeError) as e:
        sbp.derive(text, shapes=R4)
    assert "write np.dot(x, y)" not in str(e.value)


@pytest.mark.parametrize("text", [
    "np.sum(x[:, None] + B)", "np.sum(x[:, np.newaxis] * 2)", "np.sum(Y[1][:, None] - B)",
    "np.sum(x[None, :] + B)", "np.sum(Y[1][None, :] + B)", "np.sum(x[:, None] @ x[None, :])",
    "np.sum(np.tanh(np.sum(X, axis=1)[:, None] - np.sum(X, axis=1, keepdims=True)))",
    "np.sum((B[2] / np.cumprod(y)) * np.sum(x))",
])
def test_a_new_axis_of_a_one_d_value(text: str) -> None:
    _agrees(text)


@pytest.mark.parametrize("text", ["np.sum(B[:, None])", "np.sum(u[:, None])",
                                  "np.sum(x[:, None, None])"])
def test_a_new_axis_of_another_value_says_reshape(text: str) -> None:
    with pytest.raises(sbp.ParseError, match=r"reshape\(-1, 1\)"):
        sbp.derive(text, shapes=R4)


@pytest.mark.parametrize(("text", "want"), [
    ("sum(ones((2, 3)) @ X.T @ u)", lambda v: np.sum(np.ones((2, 3)) @ v["X"].T @ v["u"])),
    ("sum(zeros([4, 1]) + u)", lambda v: np.sum(v["u"])),
])
def test_the_text_s_ones_of_one_tuple(text: str, want: object) -> None:
    d = sbp.derive(text, shapes=R4)
    assert float(d.trace(R4_VALUES)["L"].value) == pytest.approx(want(R4_VALUES))  # type: ignore[operator]
    assert d.check(R4_VALUES).ok


@pytest.mark.parametrize("text", [
    "np.sum(-x * 2 + x)", "np.sum(np.hypot(-x * 2, x))", "np.sum(-y[1:] * 2 + x[:3])",
    "np.sum(np.hypot(-(x) * np.sum(y), np.log1p(np.exp(y)) + np.sum(x)))",
])
def test_a_negated_one_d_value_times_a_number_stays_one_d(text: str) -> None:
    _agrees(text)


@pytest.mark.parametrize("text", [
    "np.sum(np.sin(np.cumsum(M)))", "np.sum(np.cumprod(M) + x)", "np.sum(np.cumsum(B) * 2)",
    "np.sum(np.cumsum(M) + Y[1])", "np.dot(np.cumsum(M), x)",
])
def test_cumsum_of_a_matrix_flattens_it_as_numpy(text: str) -> None:
    _agrees(text)


def test_the_text_s_cumsum_of_a_matrix_says_what_to_write() -> None:
    with pytest.raises(ShapeError, match=r"cumsum\(ravel\(M\)\)"):
        sbp.derive("sum(cumsum(M))", shapes=R4)


# Seeded random families against NumPy (held-out round U6): each generated text gives
# NumPy's value and the central differences of NumPy's function as its gradient, or is
# refused (never a number where NumPy refuses)
F_SHAPES = {"A": (3, 3), "B": (2, 3), "r": (1, 3), "u": (3, 1), "w": (3,), "E": (1, 1),
            "e": (1,), "v": (3, 1)}
F_VALUES = {k: np.random.default_rng(6).uniform(-1.5, 1.5, s) for k, s in F_SHAPES.items()}


def _numpy_or_refused(text: str, grads: bool = True) -> bool:
    """True when ``text`` gave NumPy's value (and gradient), False when refused."""
    return numpy_or_refused(text, F_SHAPES, F_VALUES, grads)


_F_ONE_D = ["w", "np.mean(A, 1)", "np.mean(A, 0)", "A[1]", "A[:, 2]", "np.ravel(A)[:3]",
            "np.diag(A)", "np.cumsum(w)", "B @ w", "w @ A", "np.sum(B, axis=0)"]
_F_UNARY = ["-{}", "np.negative({})", "+{}", "-(-{})", "np.abs({})", "np.sin({})",
            "2 * {}", "{} / 2", "{} ** 2", "np.square({})", "-np.exp({})", "np.positive({})",
            "-{} * 2", "np.tanh(-{})"]
_F_BESIDE = ["A", "B", "r", "u", "E", "w", "A[0]", "np.mean(A, 0)", "2", "np.sum(A)"]


def test_element_wise_functions_of_one_d_values_stay_one_d() -> None:
    """-w, np.negative(w) (an inline -1·w in the graph) and every other element-wise
    function of a 1-D value is 1-D: beside a row, a column or a matrix refused."""
    rnd, agreed = random.Random(2), 0
    for _ in range(160):
        a = rnd.choice(_F_UNARY).format(rnd.choice(_F_ONE_D))
        if rnd.random() < 0.3:
            a = rnd.choice(_F_UNARY).format(a)
        o, op = rnd.choice(_F_BESIDE), rnd.choice("+-*/")
        inner = f"{a} {op} {o}" if rnd.random() < 0.5 else f"{o} {op} {a}"
        agreed += _numpy_or_refused(f"np.sum(np.sin({inner}))", grads=rnd.random() < 0.2)
    assert agreed > 40


@pytest.mark.parametrize("text", [
    "np.sum(np.sin(A + (-np.mean(A, 1))))", "np.sum(np.sin(r + (-w)))",
    "np.sum(np.sin(u + np.negative(w)))", "np.sum(A - (-w))", "np.sum(A + (-(A @ w)))",
    "np.sum(np.where(u > -w, u, -w))",
])
def test_a_negated_one_d_value_beside_another_shape_is_refused(text: str) -> None:
    with pytest.raises(ShapeError, match="1-D") as e:
        sbp.derive(text, shapes=F_SHAPES)
    assert "reshape(1, -1)" in str(e.value)


_F_NORMED = ["w", "A[0]", "np.mean(A, 0)", "A[:, 1]", "np.ravel(A)", "u", "r", "E", "e", "B",
             "A @ u", "np.mean(A, 1)", "B @ w", "w @ A", "np.sum(A, 0, keepdims=True)",
             "-A[1]", "np.exp(A[2])", "A[0] + A[1]", "np.ravel(E)", "A[0:1]", "u.T"]
_F_ORDERS = ["", ", 1", ", -1", ", 2", ", -2", ", np.inf", ", -np.inf", ", 3", ", 0.5",
             ", 'fro'", ", 'nuc'"]


@pytest.mark.parametrize("x", _F_NORMED)
def test_norm_is_numpy_s_vector_or_matrix_norm(x: str) -> None:
    """np.linalg.norm of NumPy's 1-D value (held as a row too: A[0], np.mean(A, 0)) is the
    vector norm; of a 2-D column, row or 1×1 the matrix norm (ord -1 of a column Σ|x|, -2
    its 2-norm), the orders NumPy refuses refused."""
    agreed = sum(_numpy_or_refused(f"np.linalg.norm({x}{o})") for o in _F_ORDERS)
    assert agreed >= 5


@pytest.mark.parametrize(("text", "gist"), [
    ("np.linalg.norm(u, 3)", "matrix norm"), ("np.linalg.norm(w, 'fro')", "1-D"),
    ("np.linalg.norm(A[0], 'nuc')", "1-D"), ("np.linalg.norm(e, 'nuc')", r"np\.abs"),
    ("np.linalg.norm(E, 3)", r"np\.abs"), ("np.linalg.norm(np.sum(w), 1)", "0-d"),
])
def test_norms_numpy_refuses_are_refused(text: str, gist: str) -> None:
    with pytest.raises(ShapeError, match=gist):
        sbp.derive(text, shapes=F_SHAPES)


@pytest.mark.parametrize("text", ["np.linalg.norm(u, -1)", "np.linalg.norm(u, -2)",
                                  "np.linalg.norm(A[0], 1)", "np.linalg.norm(A[0], np.inf)",
                                  # O5 of round R5: the declaration tells (1,) and (1, 1) apart
                                  "np.linalg.norm(e, 3)", "np.linalg.norm(E, 'nuc')",
                                  "np.linalg.norm(u.T @ u, 'nuc')", "np.linalg.norm(u[0], 3)"])
def test_norm_check_agrees(text: str) -> None:
    assert _numpy_or_refused(text)
    assert sbp.derive(text, shapes=F_SHAPES).check(F_VALUES).ok


_F_PADDED = ["w", "A[0]", "np.mean(A, 0)", "A[:, 1]", "np.ravel(A)", "u", "r", "E", "e", "B",
             "np.mean(A, 1)", "B @ w", "w @ A", "-A[1]", "np.exp(A[2])", "A[0] + A[1]",
             "np.ravel(E)", "A[0:1]", "u.T", "w[0:1]", "e + w", "2 * w", "A[0][1:]",
             "np.cumsum(w)", "np.sum(B, 0)"]
_F_WIDTHS = ["1", "(1, 2)", "((1, 2),)", "((1, 0), (2, 1))", "2, constant_values=0.5"]


@pytest.mark.parametrize("x", _F_PADDED)
def test_pad_of_a_one_d_value_pads_its_ends(x: str) -> None:
    """np.pad of NumPy's 1-D value however made or held (X[0] as a row, np.ravel, A @ w)
    pads its ends, of a 2-D value every side; of one entry, whose rank the text cannot
    tell, only an input declared (1, 1) is padded."""
    for w in _F_WIDTHS:
        p = f"np.pad({x}, {w})"
        _numpy_or_refused(f"np.sum(np.cos({p}) ** 3) + np.sum({p}[-1])")


@pytest.mark.parametrize("x", ["e", "np.ravel(E)", "w[0:1]"])
def test_pad_of_one_entry_is_refused(x: str) -> None:
    with pytest.raises(ShapeError, match="one entry"):
        sbp.derive(f"np.sum(np.pad({x}, 1))", shapes=F_SHAPES)


@pytest.mark.parametrize("text", ["np.sum(np.cos(np.pad(A[0], 1)))",
                                  "np.sum(np.cos(np.pad(np.ravel(A), (1, 2))) * 2)",
                                  "np.sum(np.cos(np.pad(E, 1)))"])
def test_pad_check_agrees(text: str) -> None:
    d = sbp.derive(text, shapes=F_SHAPES)
    assert float(d.trace(F_VALUES).rows[-1].value) == pytest.approx(
        float(eval(text, {"np": np}, dict(F_VALUES))))
    assert d.check(F_VALUES).ok


_F_PRODUCT = ["w", "A[0]", "np.mean(A, 1)", "A[:, 1]", "u", "v", "r", "E", "e", "B", "A",
              "u.T", "B @ w", "A @ u", "np.sum(w)", "np.ravel(u)", "A[0:1]", "2 * u"]


@pytest.mark.parametrize("f", ["np.inner", "np.dot", "np.vdot", "np.outer", "np.matmul"])
def test_products_of_columns_rows_and_one_d_values(f: str) -> None:
    """np.inner of a 2-D column is NumPy's x yᵀ (not the dot product), np.dot of 2-D
    columns NumPy's matrix product (refused where NumPy refuses it), np.matmul of a scalar
    refused: each pair gives NumPy's value and gradient or is refused."""
    rnd = random.Random(f)
    for x in _F_PRODUCT:
        for y in _F_PRODUCT:
            _numpy_or_refused(f"np.sum(np.sin({f}({x}, {y})))", grads=rnd.random() < 0.1)


@pytest.mark.parametrize("text", ["np.sum(np.inner(u, u))", "np.sum(np.sin(np.inner(u, E)))",
                                  "np.sum(np.inner(u, v))", "np.sum(np.sin(np.dot(u, E)))"])
def test_products_of_2_d_columns_check_agrees(text: str) -> None:
    d = sbp.derive(text, shapes=F_SHAPES)
    assert float(d.trace(F_VALUES).rows[-1].value) == pytest.approx(
        float(eval(text, {"np": np}, dict(F_VALUES))))
    assert d.check(F_VALUES).ok


@pytest.mark.parametrize(("text", "gist"), [
    ("np.sum(np.dot(u, u))", "2-D"), ("np.sum(np.inner(u, r))", "lengths 1 and 3"),
    ("np.sum(np.inner(w, E))", "last axes"), ("np.sum(np.matmul(w, np.sum(w)))", "scalar"),
    ("np.sum(e @ e)", "1-D"), ("np.sum(np.matmul(e, e))", "1-D"),
])
def test_products_numpy_refuses_are_refused(text: str, gist: str) -> None:
    with pytest.raises(ShapeError, match=re.escape(gist)):
        sbp.derive(text, shapes=F_SHAPES)


_F_ONE_ENTRY = ["E", "e", "np.sum(A, keepdims=True)", "u.T @ u", "np.ravel(E)", "w[0:1]",
                "np.exp(e)", "2 * E", "np.sum(w)", "A[0:1, 1:2]", "-e", "r @ u", "E[0, 0]",
                "np.log2(E + 2)", "np.square(E)"]
_F_BINARY = ["{a} + {b}", "{a} * {b}", "{b} - {a}", "np.maximum({a}, {b})",
             "np.minimum({b}, {a})", "np.where({b} > 0, {a}, {b})", "{b} / (2 + {a} ** 2)"]
_F_HEADS = ["np.sum(np.sin({}))", "np.sum(np.sin(np.sum({}, axis=0)))",
            "np.sum(np.sin(({})[0]))", "np.sum(np.sin(({})[-1]))", "np.linalg.norm({}, 1)"]


def test_a_one_entry_value_beside_a_one_d_value() -> None:
    """NumPy's result of a 2-D value of one entry (an input declared (1, 1), u.T @ v, a
    reduction with keepdims, A[0:1, 1:2], what is made of them element-wise) and a 1-D
    value is 2-D (1, n): refused, where the text's would stay 1-D; of a scalar or a 1-D
    value of one entry (declared (1,)) 1-D, as the text's."""
    rnd, agreed = random.Random(3), 0
    for _ in range(150):
        inner = rnd.choice(_F_BINARY).format(a=rnd.choice(_F_ONE_ENTRY),
                                             b=rnd.choice(_F_ONE_D))
        agreed += _numpy_or_refused(rnd.choice(_F_HEADS).format(inner),
                                    grads=rnd.random() < 0.2)
    assert agreed > 30


@pytest.mark.parametrize("text", ["np.sum(np.sin(np.sum(E + w, axis=0)))",
                                  "np.sum(np.sin((E + w)[0]))", "np.sum(u.T @ u * A[0])",
                                  "np.sum(np.maximum(w, np.sum(A, keepdims=True))[0])",
                                  "np.sum(np.log2(E) - np.mean(A, 1))", "np.sum(E.T + w)"])
def test_a_2_d_one_entry_value_beside_a_one_d_value_is_refused(text: str) -> None:
    with pytest.raises(ShapeError, match=r"2-D row \(1, 3\)"):
        sbp.derive(text, shapes=F_SHAPES)


@pytest.mark.parametrize("text", [
    "np.linalg.norm(A[0], 1) + np.sum(np.sin(A[1] + w))",
    "np.sum(np.inner(u, u)) + np.linalg.norm(u, -1)",
    "np.sum(np.cos(np.pad(A[0], 1))) * np.sum(w)",
])
def test_gradcheck_accepts_jax_s_gradient(text: str) -> None:
    """gradcheck of library-spelled text reads a 1-D value as NumPy's (n,) and its finite
    differences as NumPy's: JAX's gradient of the same code passes."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    names = [k for k in ("A", "w", "u") if re.search(rf"\b{k}\b", text)]
    values = {k: F_VALUES[k] for k in names}

    def grad(**kw: np.ndarray) -> dict[str, np.ndarray]:
        g = jax.grad(lambda *a: eval(text, {"np": jax.numpy}, dict(zip(names, a, strict=True))),
                     argnums=tuple(range(len(names))))(*[jax.numpy.asarray(kw[k]) for k in names])
        return {k: np.asarray(x) for k, x in zip(names, g, strict=True)}
    assert sbp.gradcheck(text, values, grad=grad)


def test_gradcheck_refuses_what_the_text_refuses() -> None:
    with pytest.raises(ShapeError, match="1-D"):
        sbp.gradcheck("np.sum(np.sin(r + (-w)))", {"r": F_VALUES["r"], "w": F_VALUES["w"]},
                      grad=lambda **kw: {})


@pytest.mark.parametrize("text", [
    "np.sum(np.cos(w / (2 + np.cumprod(np.tanh(1 / (2 + E ** 2))) ** 2)))",
    "np.mean(np.tanh(np.multiply((E * E).max(axis=-1), w)))",
    "np.sum(np.sin(np.ravel(E) + w))", "np.sum(np.sin(np.sum(E, axis=0) + w))",
    "np.sum(np.sin(E[0, 0] + w))", "np.sum(np.sin(np.sum(E) * w))",
])
def test_a_one_entry_value_numpy_makes_1_d_stays_readable(text: str) -> None:
    """np.cumprod, np.ravel, a reduction along an axis and an index of a 2-D value of one
    entry are NumPy's 1-D (or 0-D) values: beside a 1-D value read, as NumPy."""
    assert _numpy_or_refused(text), text


_F_ROW_HELD = ["A[0]", "np.min(B, axis=0)", "np.mean(A, 0)", "A[1, :]"]
_F_ONE_AXIS = ["np.repeat({x}, 3, axis=0)", "np.repeat({x}, 2)", "np.concatenate([{x}, {x}])",
               "np.hstack([{x}, {x}])", "np.tile({x}, 2)", "np.cumsum({x})",
               "np.cumprod({x}, axis=0)", "np.flip({x})", "np.kron({x}, {x})", "np.diag({x})",
               "np.squeeze({x})", "np.stack([{x}, {x}])", "np.vstack([{x}, {x}])"]


@pytest.mark.parametrize("x", _F_ROW_HELD)
def test_calls_of_a_one_d_value_held_as_a_row(x: str) -> None:
    """np.repeat(X[0], 3, axis=0), np.concatenate of X[0] ... read the 1-D value held as a
    row as its column (NumPy's one axis), as the other 1-D values are held."""
    agreed = 0
    for f in _F_ONE_AXIS:
        for h in ["np.sum(({})**2)", "np.sum(({}).mean(axis=0)**2)", "np.sum(np.sin(({})[-1]))"]:
            agreed += _numpy_or_refused(h.format(f.format(x=x)), grads=False)
    assert agreed > 10


# held-out round R5: values of one entry whose NumPy rank (0-d, 1-D (1,), 2-D (1, 1)) the
# text cannot tell gave NumPy-different numbers in hstack, tile and pad (norm ord 1 and inf
# swapped, a pad on every side where NumPy pads the ends); @ of a scalar was answered
_ONE_ENTRY = {"u": (3, 1), "A": (3, 4), "e": (1,), "z": (1,), "x": (4,), "c": None,
              "E": (1, 1), "r": (1, 3)}


@pytest.mark.parametrize(("text", "gist"), [
    ("np.linalg.norm(np.hstack((e, z)), 1)", "hstack of a value of one entry"),
    ("np.linalg.norm(np.hstack((u[0], u[1])), np.inf)", "hstack of a value of one entry"),
    ("np.linalg.norm(np.tile(e, 3), 1)", "tile of a value of one entry"),
    ("np.sum(np.vstack((u[0], u[2])))", "vstack of a value of one entry"),
    ("np.sum(np.cos(np.pad(u[0], 1)))", "pad of a value of one entry"),
    ("np.sum(np.cos(np.pad(x[0], 1)))", "pad of a value of one entry"),
    ("np.sum(np.cos(np.pad(A[0, 0], 1)))", "pad of a value of one entry"),
    ("np.sum(np.sin(u @ c))", "@ of a scalar"),
    ("np.sum(np.sin(c @ u.T))", "@ of a scalar"),
    ("np.sum(np.sin(u @ 2))", "@ of a scalar"),
])
def test_one_entry_of_unknown_rank_is_refused(text: str, gist: str) -> None:
    shapes = {k: s for k, s in _ONE_ENTRY.items() if s is not None and re.search(rf"\b{k}\b", text)}
    with pytest.raises(ShapeError, match=re.escape(gist)):
        sbp.derive(text, shapes=shapes)


@pytest.mark.parametrize("text", [
    "np.sum(np.cos(np.tile(E, 3)))",
    "np.sum(np.cos(np.hstack((E, r))))",
    "np.sum(np.cos(np.pad(E, 1)))",
    "np.sum(np.cos(np.tile(r, 2)))",
    "np.sum(np.sin((u.T @ u) @ r))",
    "np.sum(np.sin(u * c))",
])
def test_one_entry_known_two_d_agrees_with_numpy(text: str) -> None:
    """A declared (1, 1) input by its name, or a 1×1 product, is NumPy's 2-D (1, 1)."""
    rng = np.random.default_rng(8)
    names = [k for k in _ONE_ENTRY if re.search(rf"\b{k}\b", text)]
    values = {k: (rng.uniform(0.5, 1.5, _ONE_ENTRY[k]) if _ONE_ENTRY[k] is not None
                  else float(rng.uniform(0.5, 1.5))) for k in names}
    d = sbp.derive(text, shapes={k: _ONE_ENTRY[k] for k in names if _ONE_ENTRY[k] is not None})
    want = float(eval(text, {"np": np, **values}))  # the test's own text, NumPy as the oracle
    np.testing.assert_allclose(d.trace(values).rows[-1].value, want, rtol=1e-12)
    assert d.check(values).ok


@pytest.mark.parametrize("text", [
    # O1 of round R5: np.stack of NumPy's 1-D values held as rows stacks them as rows
    "np.sum(np.sin(np.stack((A[0], w))))", "np.sum(np.sin(np.stack((A[0], A[1]))))",
    "np.sum(np.sin(np.stack((-A[0], np.abs(w)))))", "np.sum(np.sin(np.stack((A[0], w)) @ w))",
    "np.sum(np.sin(np.stack((np.mean(A, 0), w), axis=1)))",
    "np.sum(np.sin(np.stack((A[0], w))[:, 1]))",
    # O4: np.vdot of 1-D values however held is their dot product
    "np.sum(np.sin(np.vdot(A[0], w) * w))", "np.vdot(np.mean(A, 0), r)", "np.vdot(A[0], A[1])",
    "np.vdot(np.ravel(A[0]), np.ravel(u))",
])
def test_stack_and_vdot_of_one_d_values_held_as_rows(text: str) -> None:
    assert _numpy_or_refused(text), text
    assert sbp.derive(text, shapes=F_SHAPES).check(F_VALUES).ok


@pytest.mark.parametrize(("text", "gist"), [
    ("np.vdot(A[0], u)", "np.vdot(np.ravel(a), np.ravel(b))"),  # (NumPy's: both flattened)
    # O6: a join of (1,) values is NumPy's 1-D (2,): beside a column the 1-D message
    ("np.sum(np.sin(np.concatenate((e, e)) + u))", "reshape(1, -1)"),
])
def test_messages_say_what_to_write(text: str, gist: str) -> None:
    with pytest.raises(ShapeError, match=re.escape(gist)):
        sbp.derive(text, shapes=F_SHAPES)


_DECLARED_2D = {"R": (1, 3), "K": (3, 2), "C": (3, 1), "M": (2, 3)}


@pytest.mark.parametrize("text", [
    "np.sum(np.tanh(np.sum(R, axis=0, keepdims=True) @ K))",
    "np.sum(np.tanh(np.sum(R, axis=0) @ K))", "np.sum(np.tanh(np.sum(R, axis=0) + M))",
    "np.sum(np.sin(np.mean(C, axis=1, keepdims=True) + R))",
    "np.sum(np.sin(np.sum(R, axis=-2)[1] * M))", "np.sum(np.sin(np.sum(C, axis=1) @ K))",
    "np.sum(np.sin(np.prod(R, axis=0)[0:2]))", "np.sum(np.sin(np.max(C, axis=-1)))",
])
def test_a_reduction_along_the_axis_of_length_1_of_a_declared_row_or_column(text: str) -> None:
    """An input declared (1, n) or (n, 1) is NumPy's 2-D array: its axis of length 1 is
    NumPy's too (np.sum(R, axis=0, keepdims=True) is R; without keepdims NumPy's 1-D), where
    it was refused as 'NumPy's axis of a 1-D array' (held-out round W6, F3)."""
    rng = np.random.default_rng(4)
    vals = {k: rng.uniform(-1.0, 1.0, s) for k, s in _DECLARED_2D.items()}
    d = sbp.derive(text, shapes=_DECLARED_2D)
    got = float(np.ravel(d.trace(vals).rows[-1].value)[0])
    assert got == pytest.approx(numpy_value(text, vals), rel=1e-12)
    grads = d.evaluate(vals)
    for k in d.wrt:
        np.testing.assert_allclose(np.reshape(grads[str(k)], _DECLARED_2D[str(k)]),
                                   numpy_gradient(text, vals, str(k)), rtol=1e-6, atol=1e-8)
    assert d.check(vals).ok


def test_the_axis_of_length_1_of_a_value_of_unknown_rank_is_refused_saying_so() -> None:
    with pytest.raises(ShapeError, match="does not tell here whether NumPy's is 1-D"):
        sbp.derive("np.sum(np.exp(R) / np.sum(np.exp(R), axis=0, keepdims=True))",
                   shapes=_DECLARED_2D)
