"""The structural operations (``structural.py``, ``indexing.py``, ``trace_structural.py``):
slices, blocks, reshapes, padding, Kronecker products, tiling and repeating.

Gradients are compared with what NumPy computes directly (a slice's gradient is the
cotangent scattered into zeros, a block matrix's is split back, …), written here
independently of the package; the printed notation is asserted as text; every refusal has
its error type and message asserted.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from latex_tools import assert_latex_ok
from test_emit_python import run_generated

import symbackprop as sbp
from symbackprop.errors import ParseError, ShapeError, UnsupportedError

RNG = np.random.default_rng(7)


def _grad(text: str, values: dict[str, Any], wrt: str) -> np.ndarray:
    shapes = {k: np.shape(v) for k, v in values.items() if np.ndim(v)}
    d = sbp.derive(text, shapes=shapes, wrt=wrt)
    report = d.check(values)
    assert report.ok, report
    return np.asarray(d.evaluate(values)[wrt])


# ---------------------------------------------------------------------------------------
# gradients against NumPy written out here


def _span() -> st.SearchStrategy[slice]:
    bound = st.one_of(st.none(), st.integers(-6, 6))
    return st.builds(slice, bound, bound, st.one_of(st.none(), st.integers(1, 3)))


@settings(max_examples=40, deadline=None)
@given(rows=st.one_of(_span(), st.integers(-4, 3)), cols=st.one_of(_span(), st.integers(-5, 4)))
def test_a_slice_backward_is_the_cotangent_scattered_into_zeros(rows: Any, cols: Any) -> None:
    X = RNG.normal(size=(4, 5))
    picked = X[rows, cols]
    if np.size(picked) == 0:
        with pytest.raises(ShapeError, match="is empty"):
            sbp.derive(f"sum(X[{_text(rows)}, {_text(cols)}])", shapes={"X": (4, 5)})
        return
    C = RNG.normal(size=np.shape(np.atleast_2d(X[_keep(rows), _keep(cols)])))
    text = f"sum(hadamard(C, X[{_text(rows)}, {_text(cols)}]))"
    if np.ndim(picked) == 0:
        text = f"c*X[{_text(rows)}, {_text(cols)}]"
        values: dict[str, Any] = {"X": X, "c": float(C.ravel()[0])}
    else:
        values = {"X": X, "C": C}
    expected = np.zeros_like(X)
    expected[_keep(rows), _keep(cols)] = C  # the scatter, by NumPy
    np.testing.assert_allclose(_grad(text, values, "X"), expected, atol=1e-12)


def _keep(k: Any) -> slice:
    return slice(k, k + 1 if k != -1 else None) if isinstance(k, int) else k


def _text(k: Any) -> str:
    if isinstance(k, int):
        return str(k)
    parts = ["" if p is None else str(p) for p in (k.start, k.stop)]
    return ":".join(parts) + (f":{k.step}" if k.step is not None else "")


def test_blocks_split_back_and_reshapes_undo() -> None:
    X, Y = RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3))
    C = RNG.normal(size=(6, 3))
    g = _grad("sum(hadamard(C, concatenate((X, Y), axis=0)))", {"X": X, "Y": Y, "C": C}, "Y")
    np.testing.assert_allclose(g, C[2:])
    D = RNG.normal(size=(3, 6))
    g = _grad("sum(hadamard(D, hstack((Y.T, X.T))))", {"X": X, "Y": Y, "D": D}, "X")
    np.testing.assert_allclose(g, D[:, 4:].T)
    E = RNG.normal(size=(3, 2))
    g = _grad("sum(hadamard(E, reshape(X, (3, 2))))", {"X": X, "E": E}, "X")
    np.testing.assert_allclose(g, E.reshape(2, 3))  # row by row, both ways
    e = RNG.normal(size=(6, 1))
    g = _grad("sum(hadamard(e, flatten(X)))", {"X": X, "e": e}, "X")
    np.testing.assert_allclose(g, e.reshape(2, 3))


def test_kron_tile_repeat_and_pad_gradients() -> None:
    A, B = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 2))
    G = RNG.normal(size=(6, 6))
    blocks = G.reshape(2, 3, 3, 2)  # G_(i,j) = blocks[i, :, j, :]
    ga = _grad("sum(hadamard(G, kron(A, B)))", {"A": A, "B": B, "G": G}, "A")
    np.testing.assert_allclose(ga, np.einsum("ipjq,pq->ij", blocks, B))
    gb = _grad("sum(hadamard(G, kron(A, B)))", {"A": A, "B": B, "G": G}, "B")
    np.testing.assert_allclose(gb, sum(A[i, j] * blocks[i, :, j, :]
                                       for i in range(2) for j in range(3)))
    H = RNG.normal(size=(4, 9))
    g = _grad("sum(hadamard(H, tile(A, (2, 3))))", {"A": A, "H": H}, "A")
    np.testing.assert_allclose(g, H.reshape(2, 2, 3, 3).sum(axis=(0, 2)))
    K = RNG.normal(size=(2, 6))
    g = _grad("sum(hadamard(K, repeat(A, 2, axis=1)))", {"A": A, "K": K}, "A")
    np.testing.assert_allclose(g, K.reshape(2, 3, 2).sum(axis=2))
    P = RNG.normal(size=(3, 6))
    g = _grad("sum(hadamard(P, pad(A, ((1, 0), (2, 1)), constant_values=4)))",
              {"A": A, "P": P}, "A")
    np.testing.assert_allclose(g, P[1:, 2:5])


def test_vector_indices_run_along_the_entries_and_a_matrix_row_stays_a_row() -> None:
    x = RNG.normal(size=(5, 1))
    g = _grad("x[1]*x[-1] + sum(x[::2]**2)", {"x": x}, "x")
    expected = np.zeros(5)
    expected[1] += x[4, 0]
    expected[4] += x[1, 0]
    expected[::2] += 2 * x[::2, 0]
    np.testing.assert_allclose(g.ravel(), expected)
    d = sbp.derive("X[1]", shapes={"X": (3, 4)}, wrt="X", loss="mse")
    assert d.forward[0].lhs.shape == (1, 4)


def test_symbolic_shapes_bind_the_block_offsets_from_the_values() -> None:
    d = sbp.derive("sum(concatenate((X, Y), axis=0)**2)", shapes={"X": ("n", "m"),
                                                                 "Y": ("k", "m")})
    X, Y = RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3))
    report = d.check({"X": X, "Y": Y})
    assert report.ok, report
    np.testing.assert_allclose(d.evaluate({"X": X, "Y": Y})["Y"], 2 * Y)


# ---------------------------------------------------------------------------------------
# the notation


def test_a_slice_prints_as_index_notation_and_its_backward_as_blocks_of_zeros() -> None:
    d = sbp.derive("sum(X[0:2, 1:3]**2)", shapes={"X": (4, 5)})
    tex = d.latex()
    assert r"\mathbf{X}_{0:2,\,1:3}" in tex
    assert (r"\begin{bmatrix} \mathbf{0} & \frac{\partial L}{\partial \mathbf{t}^{(1)}} & "
            r"\mathbf{0} \\ \mathbf{0} & \mathbf{0} & \mathbf{0} \end{bmatrix}") in tex
    assert_latex_ok([tex])


def test_a_block_matrix_prints_as_bmatrix_and_its_cotangent_splits_back() -> None:
    d = sbp.derive("sum(vstack((X, Y))**2)", shapes={"X": (2, 3), "Y": (4, 3)})
    tex = d.latex()
    assert r"\begin{bmatrix} \mathbf{X} \\ \mathbf{Y} \end{bmatrix}" in tex
    assert r"\left(\frac{\partial L}{\partial \mathbf{t}^{(1)}}\right)_{0:2,\,:}" in tex
    assert r"\left(\frac{\partial L}{\partial \mathbf{t}^{(1)}}\right)_{2:,\,:}" in tex
    d = sbp.derive("sum(hstack((X, Z))**2)", shapes={"X": (2, 3), "Z": (2, 1)})
    assert r"\begin{bmatrix} \mathbf{X} & \mathbf{Z} \end{bmatrix}" in d.latex()
    assert_latex_ok([d.latex()])


@pytest.mark.parametrize(("text", "shapes", "fragments"), [
    ("sum(flatten(X)**3)", {"X": (2, 3)},
     [r"\operatorname{vec}\left(\mathbf{X}^{\top}\right)",
      r"\operatorname{reshape}_{2 \times 3}\left("]),
    ("sum(kron(A, B)**2)", {"A": (2, 3), "B": (3, 2)},
     [r"\mathbf{A} \otimes \mathbf{B}", r"\right\rangle\right]_{i,j}", r"\sum_{i,j} \mathbf{A}_{ij}"]),
    ("sum(tile(A, (2, 3))**2)", {"A": (2, 3)}, [r"\mathbf{1}_{2 \times 3} \otimes \mathbf{A}"]),
    ("sum(repeat(A, 2, axis=0)**2)", {"A": (2, 3)}, [r"\mathbf{A} \otimes \mathbf{1}_{2 \times 1}"]),
    ("sum(pad(A, 1, constant_values=2)**2)", {"A": (2, 3)},
     [r"\begin{bmatrix} 2\,\mathbf{1} & 2\,\mathbf{1} & 2\,\mathbf{1} \\ 2\,\mathbf{1} & "
      r"\mathbf{A} & 2\,\mathbf{1}"]),
    ("sum(W_1[::2]**2)", {"W_1": (4, 3)},
     [r"{\mathbf{W}^{(1)}}_{0::2,\,:}", r"\operatorname{scatter}_{0::2,\,:}"]),
])
def test_structural_notation(text: str, shapes: dict[str, Any], fragments: list[str]) -> None:
    tex = sbp.derive(text, shapes=shapes).latex()
    for f in fragments:
        assert f in tex, (f, tex)
    assert_latex_ok([tex])


def test_generated_code_runs_the_scatter_and_the_kronecker_backward() -> None:
    values = {"A": RNG.normal(size=(2, 3)), "B": RNG.normal(size=(3, 2)),
              "X": RNG.normal(size=(4, 5))}
    d = sbp.derive("sum(kron(A, B)**2) + sum(X[1:3, ::2]**3)",
                   shapes={k: v.shape for k, v in values.items()})
    code = d.to_python()
    assert "def embed(g, like, at):" in code
    assert "def kron_left(g, b):" in code
    _, grads = run_generated(code, values)
    for k, g in d.evaluate(values).items():
        np.testing.assert_allclose(grads[k], g, rtol=1e-10)


# ---------------------------------------------------------------------------------------
# refusals


@pytest.mark.parametrize(("text", "shapes", "error", "message"), [
    ("sum(X[4, :])", {"X": (4, 5)}, ShapeError, "index 4 is out of range for an axis of size 4"),
    ("sum(X[3:1])", {"X": (4, 5)}, ShapeError, "is empty"),
    ("sum(X[::0])", {"X": (4, 5)}, ShapeError, "step cannot be zero"),
    ("sum(X[::-1])", {"X": ("m", "n")}, ShapeError, "a step needs a known size"),
    ("sum(X[0:3:-1])", {"X": (4, 5)}, ShapeError, "is empty"),
    ("sum(X[1, 2, 3])", {"X": (4, 5)}, ShapeError, "3 indices for a matrix"),
    ("x[0]", {}, ShapeError, "a scalar cannot be indexed"),
    ("sum(X[i])", {"X": (4, 5)}, ParseError, "an index is a whole number or a slice"),
    ("sum(X[0.5])", {"X": (4, 5)}, ParseError, "an index is a whole number or a slice"),
    ("sum(X[None])", {"X": (4, 5)}, ParseError, "is read only as v[:, None]"),
    ("sum((X, X))", {"X": (4, 5)}, ParseError, "found a tuple"),
    ("sum(concatenate(X, X))", {"X": (4, 5)}, ParseError, "takes 1 argument"),
    ("sum(concatenate(X))", {"X": (4, 5)}, ParseError, "takes a tuple of arrays"),
    ("sum(concatenate((X, Y), axis=1))", {"X": (4, 5), "Y": (3, 5)}, ShapeError,
     "the blocks need as many rows: (4, 5), (3, 5)"),
    ("sum(concatenate((X, X), dtype=1))", {"X": (4, 5)}, ParseError,
     "concatenate takes no keyword dtype="),
    ("sum(reshape(X, (3, 3)))", {"X": (4, 5)}, ShapeError, "has 20 entries"),
    ("sum(reshape(X, (-1, -1)))", {"X": (4, 5)}, ShapeError, "only one size can be -1"),
    ("sum(reshape(X, (3, -1)))", {"X": (4, 5)}, ShapeError, "cannot be reshaped"),
    ("sum(reshape(X, (1 + 1, 10)))", {"X": (4, 5)}, ParseError, "expected a number"),
    ("sum(tile(X, (1, 2, 3)))", {"X": (4, 5)}, ShapeError, "one or two counts"),
    ("sum(repeat(X, 2))", {"X": (4, 5)}, ShapeError, "needs axis=0 or axis=1"),
    ("sum(repeat(X, 0, axis=0))", {"X": (4, 5)}, ShapeError, "whole number >= 1"),
    ("sum(pad(X, -1))", {"X": (4, 5)}, ShapeError, "a pad width is a whole number >= 0"),
    ("sum(pad(X, ((1, 1), (1, 1), (1, 1))))", {"X": (4, 5)}, ShapeError, "for 3 axes"),
    ("sum(stack((X, X)))", {"X": (4, 5)}, ShapeError, "3-D"),
])
def test_refusals_name_the_problem(text: str, shapes: dict[str, Any], error: type,
                                   message: str) -> None:
    with pytest.raises(error, match=_escaped(message)):
        sbp.derive(text, shapes=shapes or None)


def _escaped(s: str) -> str:
    return re.escape(s)


# ---------------------------------------------------------------------------------------
# traced NumPy functions


X4 = RNG.normal(size=(4, 5))
V6 = RNG.normal(size=6)
A23, B32 = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 2))
TRACED: dict[str, tuple[Any, dict[str, Any]]] = {
    "slice": (lambda X: np.sum(X[0:2, 1:3] ** 2), {"X": X4}),
    "row": (lambda X: np.sum(X[1] ** 3), {"X": X4}),
    "column": (lambda X: np.sum(np.exp(X[:, 2])), {"X": X4}),
    "entries": (lambda X, v: X[1, 2] * v[-1] + v[2] ** 2, {"X": X4, "v": V6}),
    "steps": (lambda X: np.sum(X[::2, 1:] ** 2), {"X": X4}),
    "concatenate": (lambda X: np.sum(np.concatenate([X, X ** 2], axis=1) ** 3), {"X": X4}),
    "concatenate 1-D": (lambda v: np.sum(np.concatenate([v, v ** 2]) ** 2), {"v": V6}),
    "stack": (lambda v: np.sum(np.stack([v, 2 * v], axis=1) ** 3), {"v": V6}),
    "vstack 1-D": (lambda v: np.sum(np.vstack([v, v ** 2]) ** 3), {"v": V6}),
    "hstack": (lambda X: np.sum(np.hstack([X, X ** 2]) ** 3), {"X": X4}),
    "reshape": (lambda X, c: np.sum(np.reshape(X, (-1,)) ** 3 * c), {"X": X4,
                                                                     "c": RNG.normal(size=20)}),
    "ravel": (lambda X: np.sum(X.ravel()[3:7] ** 2), {"X": X4}),
    "kron": (lambda A, B: np.sum(np.kron(A, B) ** 3), {"A": A23, "B": B32}),
    "kron 1-D with a matrix": (lambda A, v: np.sum(np.kron(A, v[:2]) ** 3), {"A": A23, "v": V6}),
    "tile": (lambda A: np.sum(np.tile(A, (2, 3)) ** 3), {"A": A23}),
    "tile 1-D": (lambda v: np.sum(np.tile(v, (2, 2)) ** 3), {"v": V6}),
    "repeat": (lambda A, c: np.sum(np.repeat(A, 2) ** 3 * c), {"A": A23,
                                                               "c": RNG.normal(size=12)}),
    "pad": (lambda A: np.sum(np.pad(A, ((1, 0), (2, 1)), constant_values=0.5) ** 3),
            {"A": A23}),
    "pad 1-D": (lambda v, c: np.sum(np.pad(v, 2) ** 2 * c), {"v": V6, "c": RNG.normal(size=10)}),
}


@pytest.mark.parametrize("name", sorted(TRACED))
def test_traced_numpy_structural_functions(name: str) -> None:
    f, values = TRACED[name]
    assert sbp.gradcheck(f, values)


def test_traced_gradient_of_a_row_is_the_scatter() -> None:
    c = RNG.normal(size=5)
    d = sbp.derive(lambda X, c: np.sum(X[1] * c), shapes={"X": (4, 5), "c": (5,)}, wrt="X")
    got = d.evaluate({"X": X4, "c": c})["X"]
    expected = np.zeros_like(X4)
    expected[1] = c
    np.testing.assert_allclose(got, expected)


@pytest.mark.parametrize(("f", "message"), [
    (lambda X: np.sum(X[[0, 1]]), "only whole numbers and slices"),
    (lambda X: np.sum(X[None]), "only whole numbers and slices"),
    (lambda X: np.sum(X[..., 0]), "only whole numbers and slices"),
    (lambda X: np.sum(np.pad(X, 1, mode="edge")), "mode='edge'"),
    (lambda X: np.sum(X.reshape(2, 2, 5)), "1-D and 2-D"),
    (lambda X: np.sum(np.stack([X, X])), "3-D"),
    (lambda X: np.sum(np.concatenate([X, X], axis=None)), "axis=None"),
])
def test_traced_refusals_name_the_call(f: Any, message: str) -> None:
    with pytest.raises(UnsupportedError, match=_escaped(message)):
        sbp.gradcheck(f, {"X": X4})
