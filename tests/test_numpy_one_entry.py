"""Library-spelled text: values of ONE entry, which the text holds alike as a scalar or a
1×1, have NumPy's rank (0-d ``x[0]``, ``np.sum(A)``; 1-D (1,) an input declared (1,),
``u[0]`` of a column, ``B[0][1:]``, ``np.sum(u, axis=0)``; 2-D (1, 1) an input declared
(1, 1), ``u.T @ u``, a keepdims reduction), however they are made, and every call whose
NumPy result follows that rank (np.inner, np.dot, np.matmul, @, np.pad, np.concatenate,
an index, a reduction along an axis, beside a 1-D value) gives NumPy's number or is
refused (ShapeError, UnsupportedError, ParseError), never another number. Held-out round
R5: R1, R2b, R5a, R5b and O5's np.matmul."""

import random
import re

import numpy as np
import pytest
from numpy_oracle import numpy_or_refused

import symbackprop as sbp
from symbackprop.errors import ShapeError

SHAPES = {"A": (3, 4), "B": (3, 2), "C": (3, 1), "u": (3, 1), "q": (1, 3), "x": (4,),
          "y": (3,), "e": (1,), "z": (1,), "E": (1, 1)}
_RNG = np.random.default_rng(11)
VALUES = {k: _RNG.uniform(0.3, 1.4, s) * _RNG.choice([-1.0, 1.0], s)
          for k, s in SHAPES.items()}


def _numpy_or_refused(text: str, grads: bool = True, check: bool = False) -> bool:
    """True when the text gives NumPy's value (and central differences' gradient), False
    when it is refused; a different number fails."""
    shapes = {k: s for k, s in SHAPES.items() if k in text}
    return numpy_or_refused(text, shapes, VALUES, grads, check)


# values of one entry, however made: declared, indexed, sliced, products, reductions, norms
_ONE_ENTRY = ["e", "E", "u[0]", "A[0, 0]", "x[0]", "u.T @ u", "np.sum(A, keepdims=True)",
              "B[0][1:]", "np.mean(B, 0)[1:]", "np.sum(u, axis=0)", "np.prod(C, axis=0)",
              "np.sum(C, axis=0, keepdims=True)", "np.linalg.norm(x)", "np.ravel(E)",
              "np.squeeze(E)", "E[0]", "u[0:1]", "x[1:2]", "np.exp(e)", "2 * E", "np.max(y)",
              "np.dot(e, z)", "q @ u", "np.inner(e, z)", "-(u.T @ u)", "np.sum(x)",
              "np.squeeze(u.T @ u)", "np.cumsum(e)", "np.flip(E)", "np.kron(e, z)",
              "np.outer(e, z)", "np.reshape(E, -1)", "np.diag(e)", "np.diag(E)",
              "np.sum(E, axis=0)", "np.max(u, axis=0)", "np.linalg.norm(u, np.inf)",
              "np.vdot(e, z)", "np.trace(E)", "E.T", "e[0]", "E[0, 0]",
              "np.sum(E, axis=1, keepdims=True)", "np.mean(C, axis=0) * E"]
# what stands beside them: columns, rows, 1-D values (declared, row-held, made with a (1,))
_OTHER = ["u", "q", "y", "A[0]", "x", "C", "E", "e", "B[0]", "np.dot(C, e)", "A",
          "np.concatenate((e, z))", "np.mean(A, 1)"]
_OPS = ["np.inner({a}, {b})", "np.dot({a}, {b})", "np.dot({b}, {a})", "np.matmul({a}, {b})",
        "np.matmul({b}, {a})", "{a} @ {b}", "{b} @ {a}", "np.pad({a}, 1)",
        "np.concatenate(({a}, {c}))", "np.concatenate(({a}, {c})) + {b}",
        "np.pad(np.concatenate(({a}, {c})), 1)", "{a} + {b}", "{b} * {a}",
        "np.minimum({a}, {b})", "np.maximum({b}, {a}) - {a}", "np.outer({a}, {b})",
        "np.linalg.norm({a}, 1) * {b}", "np.kron({a}, {b})", "np.cumsum({a}) + {b}",
        "np.flip({a}) * {b}", "np.repeat({a}, 2)", "np.tile({a}, 2)", "np.hstack(({a}, {c}))",
        "np.vstack(({a}, {c}))", "np.where({b} > 0, {a}, {b})", "np.vdot({a}, {c}) * {b}",
        "np.diag({a})", "np.linalg.norm({a}, 3) + {b}", "np.linalg.norm({a}, 'nuc') * {b}",
        "np.linalg.norm({a}, np.inf) - {b}"]
_HEADS = ["np.sum(np.sin({}))", "np.sum(np.sin(({})[0]))", "np.sum(np.sin(({})[-1]))",
          "np.sum(np.sin(np.sum({}, axis=0)))", "np.sum(np.cos(np.mean({}, axis=-1)))"]


def test_one_entry_values_under_products_joins_and_indexes() -> None:
    rnd, agreed = random.Random(17), 0
    for _ in range(500):
        inner = rnd.choice(_OPS).format(a=rnd.choice(_ONE_ENTRY), b=rnd.choice(_OTHER),
                                        c=rnd.choice(_ONE_ENTRY))
        agreed += _numpy_or_refused(rnd.choice(_HEADS).format(inner),
                                    grads=rnd.random() < 0.25)
    assert agreed > 60


@pytest.mark.parametrize("text", [
    # R1: a 1×1 made by a product or a keepdims reduction is NumPy's (1, 1) in np.inner
    "np.sum(np.sin(np.inner(u.T @ u, u) - q))", "np.sum(np.sin(np.inner(u.T @ u, u) @ u))",
    "np.sum(np.sin(np.inner(np.sum(A, keepdims=True), u) - q))",
    "np.sum(np.sin(np.matmul(u.T @ u, q) - u))",  # O5: NumPy's (1, 1) @ (1, 3)
    "np.sum(np.cos(np.pad(u.T @ u, 1)))",
    # R2b: a concatenation of (1,) values is 1-D (2,): its pad pads the ends
    "np.sum(np.cos(np.pad(np.concatenate((e, z)), 1)))",
    "np.sum(np.cos(np.pad(np.concatenate((e, z, e)), 1)))",
    # R5a: one-entry slices of row-held 1-D values are 1-D (1,), their join 1-D (2,)
    "np.sum((np.concatenate((B[0][1:], B[1][1:])) + B[0]) ** 2)",
    "np.sum((np.concatenate((np.mean(B, 0)[1:], np.mean(B, 0)[1:])) + B[2]) ** 2)",
    # np.dot with a (1,) operand: NumPy's 1-D result
    "np.sum(np.sin(np.dot(C, e) + y))", "np.sum(np.sin(np.dot(e, q) + A[0, 0:3]))",
    "np.sum(np.sin(np.dot(e, z) * y))", "np.sum(np.sin(np.inner(C, e) - y))",
    # the witness told so too: a join of u[0] (a number there) is of 1×1 blocks, np.squeeze
    # of a 1×1 is 0-d, np.dot of two (1,) values is a number
    "np.sum(np.sin(np.pad(np.concatenate((u[0], e)), 1)))",
    "np.sum(np.sin(np.pad(np.concatenate((u[0], np.ravel(E))), 1)))",
    "np.sum(np.sin((np.dot(np.squeeze(E), np.mean(A, 1)))[0]))",
    "np.sum(np.sin((np.dot(B[0], np.dot(e, z)))[-1]))",
    "np.sum(np.sin(np.flip(np.linalg.norm(x, 1)) + y))",  # np.flip of a 0-d value: itself
    # an operand the graph takes as a number (0-d) or as its 1×1, the witness too
    "np.sum(np.sin(np.dot(A, e[0])))", "np.sum(np.sin((np.dot(e, u.T @ u))[-1]))",
    "np.sum(np.sin((np.dot(np.prod(C, axis=0), E))[0]))",
    "np.sum(np.sin((np.inner(e[0], y))[-1]))",
])
def test_one_entry_values_read_as_numpy(text: str) -> None:
    assert _numpy_or_refused(text, check=True), text


@pytest.mark.parametrize(("text", "gist"), [
    # R5b: NumPy's 1-D np.dot(C, e) beside a 2-D one-entry value: the 2-D row (1, 3)
    ("np.sum(np.sin(np.mean(np.dot(C, e) * E, axis=0)))", "2-D row (1, 3)"),
    ("np.sum(np.sin((np.dot(C, e) + E)[0]))", "2-D row (1, 3)"),
    ("np.sum(np.minimum(np.sum(A, keepdims=True), np.dot(C, e))[-1])", "2-D row (1, 3)"),
    ("np.sum(np.sin(np.sum(C, axis=0, keepdims=True) + y))", "2-D row (1, 3)"),
    ("np.sum(np.sin(u[0:1] + y))", "2-D row (1, 3)"),
    ("np.sum(np.sin(u[0] @ q))", "1-D (1,)"), ("np.sum(np.sin(np.matmul(x[0], q)))", "scalar"),
    ("np.sum(np.sin(x[0][0]))", "no index"), ("np.sum(np.sin(e[0, 0]))", "fewer"),
    ("np.sum(np.sin(np.sum(e, axis=1)))", "fewer"),
    ("np.sum(np.sin(np.concatenate((x[0], u[1]))))", "concatenate of a value of one entry"),
    ("np.sum(np.sin(np.stack((e, z))))", "stack of a value of one entry"),
    ("np.sum(np.cos(np.pad(np.linalg.norm(x), 1)))", "the value itself"),
    ("np.sum(np.sin(np.dot(e, y)))", "two lengths"), ("np.sum(np.sin(np.inner(e, y)))", "two lengths"),
    ("np.sum(np.sin(np.dot(x, np.prod(C, axis=0))))", "two lengths"),
])
def test_one_entry_readings_numpy_does_not_share_are_refused(text: str, gist: str) -> None:
    shapes = {k: s for k, s in SHAPES.items() if k in text}
    with pytest.raises(ShapeError, match=re.escape(gist)):
        sbp.derive(text, shapes=shapes)


@pytest.mark.parametrize("text", [
    "np.sum(np.sin(np.inner(np.stack((a, a)), np.stack((a, c)))))",
    "np.sum(np.sin(np.stack((a, c)) @ M))", "np.sum(np.sin(M @ np.stack((a, c))))",
    "np.sum(np.sin(np.stack((a, c))[1] * M))", "np.sum(np.sin(np.stack((a, 2.0 * c, a * c))))",
    "np.sum(np.sin(np.outer(np.stack((a, c)), w)))", "np.sum(np.sin(np.stack((M[0, 0], M[1, 1])) @ w))",
    "np.sum(np.sin(np.concatenate((np.stack((a, c)), w))))",
    "np.sum(np.sin(np.stack((np.sum(M), c)) + w))",
])
def test_a_stack_of_scalars_is_numpys_1d(text: str) -> None:
    """np.stack of 0-d values is NumPy's 1-D (n,): it was held as the 2-D column, so beside
    a row it broadcast to a matrix and np.inner of two was their outer product (found by
    tests/test_numpy_fuzz.py); then it was refused."""
    shapes = {"a": (), "c": (), "M": (2, 2), "w": (2,)}
    rng = np.random.default_rng(8)
    values = {"a": 0.93, "c": -0.41, "M": rng.uniform(-1, 1, (2, 2)), "w": rng.uniform(-1, 1, 2)}
    assert numpy_or_refused(text, {k: s for k, s in shapes.items() if re.search(rf"\b{k}\b", text)},
                            values, check=True)


def test_a_stack_of_a_scalar_and_a_1d_value_of_one_entry_is_refused() -> None:
    with pytest.raises(ShapeError, match=r"stack of a value of one entry \(e, NumPy's 1-D"):
        sbp.derive("np.sum(np.stack((a, e)))", shapes={"a": (), "e": (1,)})
