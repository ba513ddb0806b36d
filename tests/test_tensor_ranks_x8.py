"""Held-out round X8, findings F1, F1b and F3: NumPy's 1-D values made from tensors
(``np.ravel(X)``, ``X.reshape(-1)``, ``X.flatten()``, ``np.einsum('ijk->i', X)``, what is
made of them entry by entry) were 2-D columns to the text, not NumPy's 1-D values, so beside
a reduction's 1-D row (``np.sum(X, axis=(1, 2))``) they made the (n, n) outer table, and
beside a tensor they lined up with the axis before the last, silently (d.check() ok). Now
they are NumPy's 1-D as the ones made from matrices are: read as NumPy reads them, or
refused. Oracles: NumPy's own value, jax.grad."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symbackprop as sbp

SHAPES = {"X": (2, 3, 4), "Y": (2, 3, 4), "C": (2, 2, 2), "P": (2, 1, 1), "Q": (1, 2, 3),
          "Z": (1, 1, 4), "B": (4, 4), "u": (4,)}


def _values(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.standard_normal(s) for k, s in shapes.items()}


def _used(text: str, shapes: dict[str, tuple[int, ...]] = SHAPES
          ) -> dict[str, tuple[int, ...]]:
    return {k: s for k, s in shapes.items() if any(
        f"{k}{c}" in text or f"{c}{k}" in text for c in " ,()[].@*+-")}


def _agrees(text: str, shapes: dict[str, tuple[int, ...]] | None = None,
            seed: int = 0) -> None:
    """The library's value and gradients equal NumPy's value and jax.grad of the text as
    NumPy code, and d.check() passes."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    shapes = shapes or _used(text)
    v = _values(shapes, seed)
    d = sbp.derive(f"L = {text}", shapes=shapes)
    ours = d.trace(v).rows[-1].value
    want = eval(text, {"np": np}, dict(v))
    assert np.shape(np.squeeze(ours)) == np.shape(want), (text, ours, want)
    assert np.allclose(ours, want, rtol=1e-9, atol=1e-12), (text, ours, want)
    names = sorted(v)
    grads = jax.grad(lambda *a: eval(text, {"np": jax.numpy}, dict(zip(names, a, strict=True))),
                     argnums=tuple(range(len(names))))(*[jax.numpy.asarray(v[k]) for k in names])
    got = d.evaluate(v)
    for k, g in zip(names, grads, strict=True):
        assert np.allclose(np.reshape(got[k], np.shape(g)), g, rtol=1e-8, atol=1e-10), (text, k)
    assert d.check(v).ok, text


# F1: a column-held 1-D value of a tensor beside a row-held one (a reduction along axes)
MIXED = [
    "np.sum(np.einsum('ijk->i', C) + np.sum(C, axis=(1, 2)))",
    "np.dot(np.einsum('ijk->k', C), np.sum(C, axis=(0, 1)))",
    "np.sum(np.einsum('ijk->k', X) @ np.sum(X, axis=(0, 1)))",
    "np.sum(np.sin(np.ravel(Z) - np.mean(Y, axis=(0, 1))))",
    "np.sum(np.sin(np.einsum('ijk->j', X) + np.sum(X, axis=(0, 2))))",
    "np.sum(np.tanh(np.reshape(Z, (-1,))) - np.sum(Y, axis=(0, 1)))",
    "np.sum(np.exp(Z.reshape(-1)) / (2 + np.sum(Y, axis=(0, 1)) ** 2))",
    "np.sum(np.maximum(Z.flatten(), np.mean(X, axis=(0, 1))))",
    "np.dot(np.sum(X, axis=(0, 1)), np.einsum('ijk->k', X))",
    "np.sum(np.flip(np.einsum('ijk->k', X)) - np.sum(X, axis=(0, 1)))",
    "np.sum(np.sin(np.einsum('ijk->k', X) - u))",
]


@pytest.mark.parametrize("text", MIXED)
def test_one_d_values_of_tensors_mix_as_numpy_reads_them(text: str) -> None:
    _agrees(text)


def test_the_reported_gradient() -> None:
    """The report's first example: 7.2 (not 14.4) and a gradient of all 2 (not 4); gradcheck
    passes the true gradient and fails the doubled one."""
    X = np.arange(1., 9.).reshape(2, 2, 2) / 10
    f = "np.sum(np.einsum('ijk->i', X) + np.sum(X, axis=(1, 2)))"
    d = sbp.derive(f"L = {f}", shapes={"X": (2, 2, 2)})
    assert np.isclose(d.trace({"X": X}).rows[-1].value, 7.2)
    assert np.allclose(d.evaluate({"X": X})["X"], 2.0)
    assert sbp.gradcheck(f, {"X": X}, grad=lambda X: {"X": 2 * np.ones((2, 2, 2))},
                         raise_exception=False)
    assert not sbp.gradcheck(f, {"X": X}, grad=lambda X: {"X": 4 * np.ones((2, 2, 2))},
                             raise_exception=False)


# F3: NumPy-valid code of 1-D values of tensors, refused before
NUMPY_VALID = [
    "np.dot(np.ravel(X), np.ravel(X))",
    "np.dot(np.ravel(X), np.ravel(Y))",
    "np.inner(np.ravel(P), np.sum(Q, axis=(0, 2)))",
    "np.einsum('i,i->', np.ravel(P), np.sum(Q, axis=(0, 2)))",
    "np.einsum('i,i->', np.sum(X, axis=(0, 1)), u)",
    "np.sum(np.einsum('ij,j->i', B, np.sum(X, axis=(0, 1))) + u)",
    "np.sum(np.sum(X, axis=(0, 1)) @ B)",
    "np.sum(B @ np.sum(X, axis=(0, 1)))",
    "np.sum(np.ravel(Z) @ B)",
    "np.sum(np.sum(X, axis=(0, 1))[1:3])",
]


@pytest.mark.parametrize("text", NUMPY_VALID)
def test_numpy_valid_code_of_one_d_values_of_tensors(text: str) -> None:
    _agrees(text)


# F1b: beside a tensor, NumPy lines a 1-D value up with its last axis
COLUMN_HELD = ["np.reshape(Z, (-1,))", "Z.reshape(-1)", "Z.flatten()", "np.ravel(Z)",
               "np.tanh(np.einsum('ijk->k', X))", "np.exp(np.einsum('ijk->j', Y))",
               "np.flip(np.einsum('ijk->k', X))", "np.einsum('ijk->i', X)",
               "np.einsum('ij->i', B)", "np.einsum('ijk->k', X) - u"]


@pytest.mark.parametrize("value", COLUMN_HELD)
def test_a_column_held_one_d_value_beside_a_tensor_is_refused(value: str) -> None:
    text = f"np.sum(np.sin(X - {value}))"
    with pytest.raises(sbp.ShapeError, match="NumPy lines it up with the last axis"):
        sbp.derive(f"L = {text}", shapes=_used(text))


@pytest.mark.parametrize("text", [
    "np.sum(np.sin(X - np.sum(Y, axis=(0, 1))))",
    "np.sum(np.sin(X * np.exp(np.mean(Y, axis=(0, 1)))))",
    "np.sum(np.sin(X - np.squeeze(Z)))",
    "np.sum(np.sin(X - np.einsum('ijk->k', X).reshape(1, -1)))"])
def test_a_row_held_one_d_value_beside_a_tensor_is_numpys(text: str) -> None:
    _agrees(text)


@pytest.mark.parametrize("text", [
    "L = sum(sin(X - einsum('ijk->i', X)))",
    "L = sum(sin(X - einsum('ij->i', B)))",
    "L = sum(sin(X * exp(einsum('ijk->k', X))))",
    "e = einsum('ijk->k', X); L = sum(X * e)"])
def test_plain_text_einsum_to_one_index_beside_a_tensor_is_refused(text: str) -> None:
    """einsum reads its subscripts as NumPy does: one index is NumPy's 1-D array, refused
    beside a tensor as a vector declared (n,) is (before: the column, along axis -2)."""
    shapes = {"X": (2, 4, 4), "B": (4, 4)}
    with pytest.raises(sbp.ShapeError, match="NumPy lines a 1-D array up with the last"):
        sbp.derive(text, shapes=shapes)


def test_plain_text_einsum_written_as_numpy_reads_it() -> None:
    """The message's way: reshape to (1, n), NumPy's reading."""
    X = np.random.default_rng(1).standard_normal((2, 4, 4))
    d = sbp.derive("L = sum(sin(X - reshape(einsum('ijk->k', X), (1, 4))))",
                   shapes={"X": (2, 4, 4)})
    assert np.isclose(d.trace({"X": X}).rows[-1].value,
                      np.sum(np.sin(X - np.einsum('ijk->k', X))))
    assert d.check({"X": X}).ok


@pytest.mark.parametrize("text", [
    "L = sum(einsum('ijk->i', X) + squeeze(sum(X, axis=(1, 2))))",
    "L = sum(u + squeeze(sum(X, axis=(0, 1))))",
    "L = sum(u @ squeeze(sum(X, axis=(0, 1))))",
    "L = sum(sin(einsum('ijk->k', X)) * squeeze(sum(X, axis=(0, 1))))"])
def test_plain_text_column_and_squeezed_row_are_refused(text: str) -> None:
    """Both NumPy's 1-D: NumPy reads them entry by entry (their dot product for @), the text
    would make the (n, m) table: refused, with both ways to write it."""
    with pytest.raises(sbp.ShapeError, match="squeeze holds as the row"):
        sbp.derive(text, shapes={"X": (2, 4, 4), "u": (4,)})


def test_plain_text_documented_readings_stay() -> None:
    """flatten(Y) and reshape(Y, (-1,)) are columns in the text without a library's call
    (documented); squeeze's 1-D row lines up with the last axis, as NumPy's."""
    v = _values({"X": (3, 3, 3), "Y": (3, 1, 1)}, 3)
    d = sbp.derive("L = sum(sin(X - flatten(Y)))", shapes={"X": (3, 3, 3), "Y": (3, 1, 1)})
    assert np.isclose(d.trace(v).rows[-1].value,
                      np.sum(np.sin(v["X"] - np.reshape(v["Y"], (3, 1)))))
    d = sbp.derive("L = sum(sin(X - squeeze(sum(X, axis=(0, 1)))))", shapes={"X": (3, 3, 3)})
    assert np.isclose(d.trace(v).rows[-1].value,
                      np.sum(np.sin(v["X"] - np.sum(v["X"], axis=(0, 1)))))


# random programs: 1-D values of tensors, held either way, combined as NumPy combines them

_COLUMNS = ["np.ravel(P)", "P.reshape(-1)", "P.flatten()", "np.reshape(P, (-1,))",
            "np.einsum('ijk->i', X)", "np.einsum('ijk->i', C)", "np.einsum('ijk->i', Y)",
            "W", "np.sum(A, axis=1)", "A[:, 1]", "np.einsum('ij->j', A)"]
_ROWS = ["np.sum(X, axis=(1, 2))", "np.mean(Y, axis=(1, 2))", "np.sum(C, axis=(1, 2))",
         "np.sum(Q, axis=(0, 2))", "np.squeeze(P)", "A[0]", "np.mean(A, axis=0)"]
_UNARY = ["np.tanh({})", "np.exp({})", "np.sin({})", "np.flip({})", "-({})", "(2 * {})",
          "({} / 3)"]
_BINARY = ["({} + {})", "({} - {})", "np.maximum({}, {})", "np.arctan2({}, {})"]
_SCALAR = ["np.dot({}, {})", "np.inner({}, {})", "np.einsum('i,i->', {}, {})", "({} @ {})",
           "np.sum({} + {})"]


def _one_d(rng: np.random.Generator, depth: int) -> str:
    """A 1-D value of length 2 made from the tensors (X's, Y's, C's axis 0; P's entries), or
    from a matrix A (2, 2) or a vector W declared (2,)."""
    k = rng.integers(4 if depth else 2)
    if k == 0:
        return str(rng.choice(_COLUMNS))
    if k == 1:
        return str(rng.choice(_ROWS))
    if k == 2:
        return str(rng.choice(_UNARY)).format(_one_d(rng, depth - 1))
    return str(rng.choice(_BINARY)).format(_one_d(rng, depth - 1), _one_d(rng, depth - 1))


def _program(seed: int) -> str:
    rng = np.random.default_rng(seed)
    if rng.integers(3) == 0:  # beside a tensor whose last axis is 2
        return f"np.sum(np.sin(C - {_one_d(rng, 2)}))"
    return str(rng.choice(_SCALAR)).format(_one_d(rng, 2), _one_d(rng, 2))


def test_random_programs_are_numpys_or_refused() -> None:
    """Every program is read as NumPy reads it (value, jax.grad, d.check()) or refused with a
    typed error; never the outer table or the wrong axis."""
    shapes = {"X": (2, 3, 4), "Y": (2, 2, 3), "C": (2, 2, 2), "P": (2, 1, 1),
              "Q": (1, 2, 3), "A": (2, 2), "W": (2,)}
    read = refused = 0
    for seed in range(80):
        text = _program(seed)
        used = _used(text, shapes)
        try:
            sbp.derive(f"L = {text}", shapes=used)
        except sbp.SymbackpropError:
            refused += 1
            continue
        _agrees(text, used, seed)
        read += 1
    assert read >= 40, (read, refused)



@pytest.mark.parametrize(("text", "numpy"), [
    ("L = sum(sin(X - reshape(einsum('ijk->j', X), (4, 1))))",
     lambda X, u: np.sum(np.sin(X - np.einsum('ijk->j', X).reshape(4, 1)))),
    ("L = sum(sin(X * reshape(u, (4, 1))))", lambda X, u: np.sum(np.sin(X * u.reshape(4, 1)))),
    ("L = np.sum(np.sin(X - np.einsum('ijk->k', X).reshape(-1, 1)))",
     lambda X, u: np.sum(np.sin(X - np.einsum('ijk->k', X).reshape(-1, 1))))])
def test_the_column_written_out_beside_a_tensor(text: str, numpy: Any) -> None:
    """The messages' way to the column: reshape to (n, 1), NumPy's 2-D column, in any text."""
    v = _values({"X": (2, 4, 4), "u": (4,)}, 2)
    shapes = {"X": (2, 4, 4), "u": (4,)} if "(u," in text else {"X": (2, 4, 4)}
    d = sbp.derive(text, shapes=shapes)
    assert np.isclose(d.trace({k: v[k] for k in shapes}).rows[-1].value, numpy(**v))
    assert d.check({k: v[k] for k in shapes}).ok


def test_the_message_for_an_einsum_beside_a_tensor() -> None:
    with pytest.raises(sbp.ShapeError, match=r"write reshape\(…, \(1, 4\)\) of it for that, "
                       r"reshape\(…, \(4, 1\)\) for the column"):
        sbp.derive("L = sum(X - einsum('ijk->k', X))", shapes={"X": (2, 4, 4)})


@pytest.mark.parametrize("text", ["L = sum(cos(pad(einsum('ijk->j', X), 1)))",
                                  "e = einsum('ij->i', A); L = sum(cos(pad(e, (1, 2))))"])
def test_pad_of_an_einsums_one_d_value_pads_its_ends(text: str) -> None:
    """An einsum to one index is NumPy's 1-D array: pad pads its ends (the witness too)."""
    v = _values({"X": (2, 3, 4), "A": (3, 3)}, 4)
    shapes = {"X": (2, 3, 4)} if "X" in text else {"A": (3, 3)}
    vals = {k: v[k] for k in shapes}
    d = sbp.derive(text, shapes=shapes)
    want = (np.sum(np.cos(np.pad(np.einsum('ijk->j', v["X"]), 1))) if "X" in text else
            np.sum(np.cos(np.pad(np.einsum('ij->i', v["A"]), (1, 2)))))
    assert np.isclose(d.trace(vals).rows[-1].value, want)
    assert d.check(vals).ok
