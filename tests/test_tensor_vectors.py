"""Vectors declared ``(n,)`` beside tensors, in einsum, and ``max(X)`` of a tensor.

A held-out tester (round F4) found two silent wrong answers that ``d.check()`` passed:
``X * b`` of X (2, 4, 4) and b declared (4,) lined b up with the axis before the last (the
text's column), where NumPy and whoever declared (4,) line it up with the last; and einsum
with ``...`` read a (3,) operand as (3, 1), so ``'...i,...i->...'`` of two vectors was their
element-wise product, not their dot product. And ``max(X)`` of a rank-3 tensor, its largest
entry, was refused as a reduction "along axes". The oracles here are NumPy and central
differences written out by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp

RNG = np.random.default_rng(4)


def _numeric(f: Callable[..., float], vals: dict[str, np.ndarray], name: str,
             eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``f(**vals)`` in ``vals[name]``, entry by entry."""
    g = np.zeros_like(vals[name])
    for i in np.ndindex(g.shape):
        up, down = {k: v.copy() for k, v in vals.items()}, {k: v.copy() for k, v in vals.items()}
        up[name][i] += eps
        down[name][i] -= eps
        g[i] = (f(**up) - f(**down)) / (2 * eps)
    return g


def _agrees(text: str, shapes: dict[str, Any], f: Callable[..., float]) -> sbp.Derivation:
    """The loss and every gradient of ``text`` are NumPy's ``f`` and its central
    differences (a (n,) input's gradient, which comes back as the column (n, 1), raveled),
    and d.check() passes."""
    vals = {k: RNG.standard_normal(v) for k, v in shapes.items()}
    d = sbp.derive(text, shapes=shapes)
    ns: dict[str, Any] = {}
    exec(d.to_python(), ns)  # the generated code, of the library's own making
    loss, _ = ns["forward_backward"](**vals)
    assert np.isclose(loss, f(**vals))
    got = d.evaluate(vals)
    for k, v in vals.items():
        assert np.allclose(np.reshape(got[k], v.shape), _numeric(f, vals, k), atol=1e-6), k
    assert d.check(vals).ok
    return d


# 1. a vector declared (n,) beside a tensor: refused, whether or not the column fits

REFUSED = [
    ("L = sum(sin(X * b))", (2, 4, 4)),  # the tester's: the column fits, silently wrong
    ("L = sum(sin(X * b))", (2, 3, 4)),  # neither fits the column: refused before too
    ("L = sum(X * b)", (2, 4, 3)),  # only the column fits (NumPy refuses)
    ("L = sum(X - b)", (1, 1, 4, 4)),
    ("L = sum(b + X)", (2, 4, 4)),
    ("L = sum(X / b)", (2, 4, 4)),
    ("L = sum(X ** b)", (2, 4, 4)),
    ("L = sum(X * sin(b))", (2, 4, 4)),  # an entry-wise function of it
    ("L = sum(X + -b)", (2, 4, 4)),
    ("L = sum(X * (2 * b + 1))", (2, 4, 4)),
    ("c = exp(b); L = sum(c * X)", (2, 4, 4)),  # a stage that is one
    ("c = b; L = sum(X * c)", (2, 4, 4)),
    ("L = sum(where(X, b, X))", (2, 4, 4)),
    ("L = sum(hadamard(X, b))", (2, 4, 4)),
]


@pytest.mark.parametrize(("text", "x"), REFUSED)
def test_a_vector_beside_a_tensor_is_refused(text: str, x: tuple[int, ...]) -> None:
    with pytest.raises(sbp.ShapeError) as e:
        sbp.derive(text, shapes={"X": x, "b": (4,)})
    said = str(e.value)
    assert "(4,) is the column (4, 1) in the text" in said
    assert "NumPy lines a 1-D array up with the last" in said
    assert "(1, 4))" in said
    assert "(4, 1) for the column" in said


def test_the_message_names_the_input() -> None:
    with pytest.raises(sbp.ShapeError, match=r"X \* b: \(2, 4, 4\) ⊙ \(4, 1\) .*write "
                       r"reshape\(b, \(1, 4\)\) for that, or declare b \(4, 1\)"):
        sbp.derive("L = sum(sin(X * b))", shapes={"X": (2, 4, 4), "b": (4,)})


def test_numpys_reading_written_out() -> None:
    """reshape(b, (1, 4)) is NumPy's X * b: the tester's numbers."""
    _agrees("L = sum(sin(X * reshape(b, (1, 4))))", {"X": (2, 4, 4), "b": (4,)},
            lambda X, b: float(np.sum(np.sin(X * b))))


def test_a_declared_column_beside_a_tensor_is_the_column() -> None:
    _agrees("L = sum(sin(X * b))", {"X": (2, 4, 4), "b": (4, 1)},
            lambda X, b: float(np.sum(np.sin(X * b))))


def test_beside_matrices_and_vectors_a_vector_stays_the_column() -> None:
    """As documented: W @ x + b with b (3,), and A + b of A (3, 4), b (3,), the column."""
    _agrees("L = sum(sin(W @ x + b))", {"W": (3, 4), "x": (4,), "b": (3,)},
            lambda W, x, b: float(np.sum(np.sin(W @ x + b))))
    _agrees("L = sum(sin(A + b))", {"A": (3, 4), "b": (3,)},
            lambda A, b: float(np.sum(np.sin(A + b[:, None]))))


def test_numpy_code_keeps_its_own_message() -> None:
    with pytest.raises(sbp.ShapeError, match="this text uses a library's call"):
        sbp.derive("L = np.sum(np.sin(X * b))", shapes={"X": (2, 4, 4), "b": (4,)})


# 2. einsum: an operand declared (n,) has one axis, as NumPy's

EINSUMS = [
    ("...c,...d->...d", {"A": (3, 2), "B": (3,)}),  # the tester's: '...' takes nothing of B
    ("...i,...i->...", {"A": (3,), "B": (3,)}),  # the dot product
    ("...ij,...j->...i", {"A": (2, 2, 3), "B": (3,)}),  # a batch of matrix-vector products
    ("i...,i->...", {"A": (3, 2), "B": (3,)}),
    ("i,i->", {"A": (3,), "B": (3,)}),
    ("ij,j->i", {"A": (2, 3), "B": (3,)}),
    ("...i,...i->...", {"A": (3, 1), "B": (3, 1)}),  # declared columns stay (3, 1)
    ("...,...->...", {"A": (3,), "B": (3,)}),  # '...' alone takes the one axis
]


@pytest.mark.parametrize(("spec", "shapes"), EINSUMS)
def test_einsum_of_a_vector_is_numpys(spec: str, shapes: dict[str, Any]) -> None:
    _agrees(f"E = einsum('{spec}', A, B); L = sum(sin(E))", shapes,
            lambda A, B: float(np.sum(np.sin(np.einsum(spec, A, B)))))


@pytest.mark.parametrize("operand", ["exp(B)", "-B", "2 * B + 1"])
def test_einsum_of_a_function_of_a_vector(operand: str) -> None:
    fs: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "exp(B)": np.exp, "-B": np.negative, "2 * B + 1": lambda B: 2 * B + 1}
    f = fs[operand]
    _agrees(f"E = einsum('...c,...d->...d', A, {operand}); L = sum(sin(E))",
            {"A": (3, 2), "B": (3,)},
            lambda A, B: float(np.sum(np.sin(np.einsum("...c,...d->...d", A, f(B))))))
    _agrees(f"c = {operand}; E = einsum('...c,...d->...d', A, c); L = sum(sin(E))",
            {"A": (3, 2), "B": (3,)},
            lambda A, B: float(np.sum(np.sin(np.einsum("...c,...d->...d", A, f(B))))))


def test_einsum_refuses_two_letters_for_a_vector() -> None:
    with pytest.raises(ValueError, match="too many subscripts"):
        np.einsum("ij->i", np.ones(3))  # NumPy's refusal
    with pytest.raises(sbp.ShapeError, match="'ij' has 2 indices for rank 1"):
        sbp.derive("L = sum(einsum('ij->i', A))", shapes={"A": (3,)})
    with pytest.raises(sbp.ShapeError, match="indices for rank 1"):
        sbp.derive("L = sum(einsum('...ij,...j->...i', B, A))",
                   shapes={"A": (3,), "B": (3,)})


# 3. max(X) and min(X) of a tensor: its largest (smallest) entry

@pytest.mark.parametrize("name", ["max", "min"])
def test_max_of_a_tensor_is_its_largest_entry(name: str) -> None:
    f = getattr(np, name)
    _agrees(f"L = {name}(sin(X))", {"X": (2, 3, 4)}, lambda X: float(f(np.sin(X))))


def test_max_of_a_tensor_with_a_named_batch() -> None:
    X = RNG.standard_normal((2, 3, 4))
    d = sbp.derive("L = max(X)", shapes={"X": ("N", 3, 4)})
    want = np.zeros_like(X)
    want[np.unravel_index(np.argmax(X), X.shape)] = 1.0
    assert np.array_equal(d.evaluate({"X": X})["X"], want)
    assert d.check({"X": X}).ok


def test_max_of_a_tensor_ties_share_the_slope() -> None:
    X = np.zeros((2, 2, 2))
    X[0, 1, 1] = X[1, 0, 1] = 3.0
    d = sbp.derive("L = max(X)", shapes={"X": (2, 2, 2)})
    want = np.zeros_like(X)
    want[0, 1, 1] = want[1, 0, 1] = 0.5
    assert np.array_equal(d.evaluate({"X": X})["X"], want)


def test_max_of_a_tensor_with_two_named_sizes_is_refused_and_said() -> None:
    with pytest.raises(sbp.UnsupportedError, match="more than one of its sizes is a name"):
        sbp.derive("L = max(X)", shapes={"X": ("N", "M", 4)})


@pytest.mark.parametrize("inner", [
    "b + s", "s + b", "b - s", "b - mean(b)", "b + sum(b)", "b - max(b)",
    "b - logsumexp(b)", "softmax(b)", "log_softmax(b)", "exp(b - s)", "relu(b - s)",
    "b**2 + s", "where(b > 0, b, s)", "maximum(b, s)"])
@pytest.mark.parametrize("lib", ["", "np."])
def test_a_vector_made_with_a_number_beside_a_tensor_is_refused_too(inner: str,
                                                                     lib: str) -> None:
    """b + s, b − mean(b), softmax(b) of a b declared (4,) are NumPy's 1-D arrays too: beside
    a tensor they were read as the column, silently (held-out round R3: NumPy's dL/db
    [-3.67, 0.11, -1.93, 0.62] against our [1.33, 3.00, -3.22, -5.98])."""
    with pytest.raises(sbp.ShapeError, match=r"NumPy lines (a 1-D array|it) up with the last"):
        sbp.derive(f"{lib}sum(X * ({inner}))", shapes={"X": (2, 4, 4), "b": (4,), "s": ()})


def test_the_transpose_of_a_1d_vector_in_numpy_code_is_refused() -> None:
    """NumPy's b.T of a 1-D b is b, so np.sum(b @ b.T) is the dot product; the text's is
    the outer product (R3: gradient 2·Σb for NumPy's 2b). Refused in code that uses a
    library's call; np.dot and np.outer say which."""
    b = np.array([0.5, -1.0, 2.0, 0.25])
    for text in ("np.sum(b @ b.T)", "np.sum(np.transpose(b) @ b)"):
        with pytest.raises(sbp.ShapeError, match=r"the transpose of a vector declared"):
            sbp.derive(text, shapes={"b": (4,)})
    dot = sbp.derive("np.dot(b, b)", shapes={"b": (4,)})
    np.testing.assert_allclose(dot.evaluate({"b": b})["b"], 2 * b)
    outer = sbp.derive("np.sum(np.outer(b, b))", shapes={"b": (4,)})
    np.testing.assert_allclose(outer.evaluate({"b": b})["b"], 2 * np.sum(b) * np.ones(4))
