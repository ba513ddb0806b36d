"""einsum, transpose, reshape and flatten of ``symbackprop.tensors``: each VJP against
central differences and against the definition written here with loops or NumPy."""

from __future__ import annotations

import re
from itertools import product
from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.errors import ShapeError, UnsupportedError
from symbackprop.tensors import TENSORS, einsum_index, index_latex, softmax_index

RNG = np.random.default_rng(11)


def central(f: Any, xs: list[Any], k: int, g: Any, eps: float = 1e-6) -> Any:
    d = np.zeros_like(xs[k])
    for idx in np.ndindex(xs[k].shape):
        e = np.zeros_like(xs[k])
        e[idx] = eps
        up = [x + e if i == k else x for i, x in enumerate(xs)]
        down = [x - e if i == k else x for i, x in enumerate(xs)]
        d[idx] = (np.sum(g * f(*up)) - np.sum(g * f(*down))) / (2 * eps)
    return d


CASES: list[tuple[str, list[tuple[int, ...]]]] = [
    ("ij,jk->ik", [(3, 4), (4, 2)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),  # attention scores per head
    ("bhqk,bhkd->bhqd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    ("ij,j->", [(3, 4), (4,)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ij,kl->ijkl", [(2, 3), (2, 2)]),
    ("ijk,ik->j", [(2, 3, 4), (2, 4)]),  # i and k summed, j kept
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ij,k->i", [(2, 3), (4,)]),  # k summed away and in no other operand: broadcast back
]


@pytest.mark.parametrize(("spec", "shapes"), CASES)
def test_einsum_vjp_against_differences(spec: str, shapes: list[tuple[int, ...]]) -> None:
    xs = [RNG.standard_normal(s) for s in shapes]
    rule = TENSORS["einsum"]
    y = rule.forward(spec, *xs)
    np.testing.assert_allclose(y, np.einsum(spec, *xs), atol=1e-12)
    g = RNG.standard_normal(np.shape(y))
    grads = rule.vjp(g, y, spec, *xs)
    assert len(grads) == len(xs)
    for k, d in enumerate(grads):
        assert d.shape == xs[k].shape
        np.testing.assert_allclose(d, central(lambda *v: rule.forward(spec, *v), xs, k, g),
                                   atol=1e-6)


def test_einsum_vjp_is_the_swapped_einsum_by_loops() -> None:
    """For C = Σ_j A_ij B_jk: ∂L/∂A_ij = Σ_k G_ik B_jk, ∂L/∂B_jk = Σ_i G_ik A_ij."""
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal((4, 2))
    g = RNG.standard_normal((3, 2))
    da, db = TENSORS["einsum"].vjp(g, None, "ij,jk->ik", a, b)
    for i, j in product(range(3), range(4)):
        assert da[i, j] == pytest.approx(sum(g[i, k] * b[j, k] for k in range(2)))
    for j, k in product(range(4), range(2)):
        assert db[j, k] == pytest.approx(sum(g[i, k] * a[i, j] for i in range(3)))


@pytest.mark.parametrize(("spec", "shapes", "error", "match"), [
    ("i..j", [(2, 2)], UnsupportedError, "'...' at most once"),
    ("...i...->i", [(2, 2, 2)], UnsupportedError, "'...' at most once"),
    ("ij,jk,k->i", [(2, 2), (2, 2)], ShapeError, "names 3 operands"),
    ("ii->i", [(2, 3)], ShapeError, "index i has sizes 2 and 3"),  # a diagonal: square
    ("ij->k", [(2, 2)], ShapeError, "bound"),
    ("ij->ii", [(2, 2)], ShapeError, "once"),
    ("ij,jk->ik", [(2, 2)], ShapeError, "operands"),
    ("ijk->i", [(2, 2)], ShapeError, "rank"),
    ("IJ->I", [(2, 2)], UnsupportedError, "lowercase"),
])
def test_einsum_refusals_are_typed(spec: str, shapes: list[tuple[int, ...]], error: type,
                                   match: str) -> None:
    with pytest.raises(error, match=match):
        TENSORS["einsum"].forward(spec, *(np.zeros(s) for s in shapes))


@pytest.mark.parametrize(("name", "params", "shape"), [
    ("transpose", {"axes": (0, 2, 3, 1)}, (2, 3, 4, 5)),
    ("transpose", {"axes": (2, 0, 1)}, (2, 3, 4)),
    ("transpose", {}, (2, 3, 4)),
    ("reshape", {"shape": (6, -1)}, (2, 3, 4, 5)),
    ("flatten", {}, (2, 3, 4, 5)),
    ("flatten", {"start": 2}, (2, 3, 4, 5)),
])
def test_moving_entries(name: str, params: dict[str, Any], shape: tuple[int, ...]) -> None:
    x = RNG.standard_normal(shape)
    rule = TENSORS[name]
    y = rule.forward(x, **params)
    if name == "transpose":
        want = np.transpose(x, params.get("axes"))
    elif name == "reshape":
        want = x.reshape(params["shape"])
    else:
        want = x.reshape(*shape[:params.get("start", 1)], -1)
    np.testing.assert_array_equal(y, want)
    g = RNG.standard_normal(y.shape)
    (d,) = rule.vjp(g, y, x, **params)
    np.testing.assert_allclose(d, central(lambda v: rule.forward(v, **params), [x], 0, g),
                               atol=1e-6)


def test_multi_head_attention_with_einsum() -> None:
    """S = Q Kᵀ/√d per head (an einsum), A = softmax(S, axis=-1), O = A V (an einsum): the
    rules' VJPs chained by hand against central differences of Σ R ⊙ O in Q, K and V."""
    b, h, t, s, d = 2, 3, 4, 5, 2
    q, k, v = (RNG.standard_normal(sh) for sh in ((b, h, t, d), (b, h, s, d), (b, h, s, d)))
    r = RNG.standard_normal((b, h, t, d))
    es, sm = TENSORS["einsum"], TENSORS["softmax"]

    def out(q: Any, k: Any, v: Any) -> Any:
        a = sm.forward(es.forward("bhqd,bhkd->bhqk", q, k) / np.sqrt(d), axis=-1)
        return es.forward("bhqk,bhkd->bhqd", a, v)

    scores = es.forward("bhqd,bhkd->bhqk", q, k) / np.sqrt(d)
    a = sm.forward(scores, axis=-1)
    o = es.forward("bhqk,bhkd->bhqd", a, v)
    da, dv = es.vjp(r, o, "bhqk,bhkd->bhqd", a, v)
    (ds,) = sm.vjp(da, a, scores, axis=-1)
    dq, dk = es.vjp(ds / np.sqrt(d), None, "bhqd,bhkd->bhqk", q, k)
    for i, got in enumerate((dq, dk, dv)):
        np.testing.assert_allclose(got, central(out, [q, k, v], i, r), atol=1e-6)


def test_softmax_along_each_axis() -> None:
    x = RNG.standard_normal((2, 3, 4))
    rule = TENSORS["softmax"]
    for axis in (0, 1, -1):
        y = rule.forward(x, axis=axis)
        np.testing.assert_allclose(y.sum(axis=axis), 1.0)
        g = RNG.standard_normal(y.shape)
        (d,) = rule.vjp(g, None, x, axis=axis)
        np.testing.assert_allclose(
            d, central(lambda v, a=axis: rule.forward(v, axis=a), [x], 0, g), atol=1e-6)


def test_spatial_batchnorm() -> None:
    """Statistics per channel over axes (0, 2, 3), written here from the definition; the
    compact-form VJP against central differences in X, γ and β."""
    x = RNG.standard_normal((3, 2, 4, 5)) * 2 + 1
    gamma, beta = RNG.standard_normal(2), RNG.standard_normal(2)
    rule = TENSORS["batchnorm2d"]
    y = rule.forward(x, gamma, beta)
    for c in range(2):
        xc = x[:, c]
        want = gamma[c] * (xc - xc.mean()) / np.sqrt(((xc - xc.mean()) ** 2).mean() + 1e-5)
        np.testing.assert_allclose(y[:, c], want + beta[c], atol=1e-12)
    g = RNG.standard_normal(y.shape)
    grads = rule.vjp(g, y, x, gamma, beta)
    for i, got in enumerate(grads):
        np.testing.assert_allclose(got, central(rule.forward, [x, gamma, beta], i, g),
                                   atol=1e-5)
    with pytest.raises(ShapeError, match="one entry per channel"):
        rule.forward(x, np.ones(3), beta)
    with pytest.raises(ShapeError, match="N, C, H, W"):
        rule.forward(x[0], gamma, beta)


@pytest.mark.parametrize(("name", "args", "params", "match"), [
    ("einsum", ("ij,jk->ik", np.zeros((2, 3)), np.zeros((4, 2))), {}, "sizes 3 and 4"),
    ("einsum", (3, np.zeros((2, 3))), {}, "write 'ij,jk->ik'"),
    ("transpose", (np.zeros((2, 3, 4)),), {"axes": (0, 0, 1)}, "permutation"),
    ("transpose", (np.zeros((2, 3, 4)),), {"axes": (0, 1)}, "permutation"),
    ("transpose", (np.zeros((2, 3, 4)),), {"axes": (0, 1, 3)}, "permutation"),
    ("transpose", (np.zeros((2, 3, 4)),), {"axes": 5}, "permutation"),
    ("reshape", (np.zeros((2, 3, 4)),), {"shape": (5, -1)}, "cannot become"),
    ("reshape", (np.zeros((2, 3, 4)),), {"shape": (2, 3)}, "cannot become"),
    ("reshape", (np.zeros((2, 3, 4)),), {"shape": (-1, -1)}, "cannot become"),
    ("reshape", (np.zeros((2, 3, 4)),), {"shape": (0, 24)}, "cannot become"),
    ("flatten", (np.zeros((2, 3, 4)),), {"start": 3}, "not an axis"),
    ("conv2d", (np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 2, 2))), {"stride": 1.5}, "pair"),
    ("maxpool2d", (np.zeros((1, 1, 4, 4)),), {"size": "2"}, "pair"),
])
def test_bad_arguments_are_shape_errors(name: str, args: tuple[Any, ...],
                                        params: dict[str, Any], match: str) -> None:
    """The error contract (tests/test_errors.py): our own typed error, never NumPy's."""
    with pytest.raises((ShapeError, UnsupportedError), match=match):
        TENSORS[name].forward(*args, **params)


def test_negative_axes_and_minus_one() -> None:
    x = RNG.standard_normal((2, 3, 4))
    assert TENSORS["transpose"].forward(x, axes=(-1, 0, 1)).shape == (4, 2, 3)
    (d,) = TENSORS["transpose"].vjp(np.ones((4, 2, 3)), None, x, axes=(-1, 0, 1))
    assert d.shape == x.shape
    assert TENSORS["reshape"].forward(x, shape=(-1, 4)).shape == (6, 4)


def test_the_transpose_of_a_tensor_reverses_every_axis_in_every_witness() -> None:
    """X.T of a rank-3 tensor: the derivation reversed every axis, as NumPy does, but the
    text's own evaluation (the finite differences' witness) left the tensor as it was, so
    check() failed a correct derivation (a held-out case)."""
    d = sbp.derive("L = sum(X.T * G)", shapes={"X": (2, 3, 4), "G": (4, 3, 2)}, wrt=["X"])
    values = {"X": RNG.standard_normal((2, 3, 4)), "G": RNG.standard_normal((4, 3, 2))}
    np.testing.assert_allclose(d.evaluate(values)["X"], values["G"].transpose(2, 1, 0))
    report = d.check(values)
    assert report.ok, str(report)


@pytest.mark.parametrize(("spec", "shapes"), CASES)
def test_einsum_index_notation_is_what_the_vjp_computes(spec: str,
                                                        shapes: list[tuple[int, ...]]) -> None:
    """Each printed line read back into numbers: the indices of its factors (the subscripts
    in the LaTeX) run through np.einsum give the forward value and each hand-written VJP;
    the sum's letters are the ones the factors have and the left-hand side lacks (an index
    of the left-hand side that no factor has: the line does not depend on it)."""
    names = tuple("ABCDE"[:len(shapes)])
    xs = [RNG.standard_normal(s) for s in shapes]
    rule = TENSORS["einsum"]
    y = rule.forward(spec, *xs)
    g = RNG.standard_normal(np.shape(y))
    grads = rule.vjp(g, y, spec, *xs)
    fwd, back = einsum_index(spec, "O", names)
    values = {r"\mathbf{O}": g, **{rf"\mathbf{{{n}}}": x for n, x in zip(names, xs, strict=True)}}

    def read(lhs: str, rhs: str, shape: tuple[int, ...]) -> Any:
        factors = re.findall(r"(\\mathbf\{\w\})(?:_\{([a-z,]*)\})?", rhs)
        out = (re.findall(r"_\{([a-z,]*)\}", lhs) or [""])[-1].replace(",", "")
        letters = [f[1].replace(",", "") for f in factors]
        summed = re.match(r"\\sum_\{([a-z,]*)\}", rhs)
        assert set(summed.group(1).split(",") if summed else []) == \
            set("".join(letters)) - set(out)
        kept = "".join(c for c in out if c in "".join(letters))
        v = np.einsum(",".join(letters) + "->" + kept, *(values[f[0]] for f in factors))
        missing = [i for i, c in enumerate(out) if c not in kept]
        return np.broadcast_to(np.expand_dims(v, missing), shape)

    np.testing.assert_allclose(read(*fwd[0], np.shape(y)), y, atol=1e-12)
    assert len(back) == len(xs)
    for (lhs, rhs), d in zip(back, grads, strict=True):
        np.testing.assert_allclose(read(lhs, rhs, d.shape), d, atol=1e-12)


def test_einsum_index_notation_is_valid_latex() -> None:
    assert_latex_ok([index_latex(*einsum_index(spec, "O", tuple("ABC"[:len(shapes)])))
                     for spec, shapes in CASES])
    with pytest.raises(ShapeError, match="names"):
        einsum_index("ij,jk->ik", "O", ("A",))


def test_softmax_index_names_its_axis_and_refuses_a_clash() -> None:
    (fwd,), (back,) = softmax_index("A", "S", "bhq", "k")
    assert fwd[0] == r"\mathbf{A}_{b,h,q,k}"
    assert r"\sum_{k'}" in fwd[1]
    assert r"\mathbf{S}_{b,h,q,k'}" in fwd[1]
    assert r"\mathbf{A}_{b,h,q,k'}" in back[1]
    for lead, axis in (("bhq", "q"), ("bh", "kk"), ("B", "k")):
        with pytest.raises(UnsupportedError, match="indices"):
            softmax_index("A", "S", lead, axis)


@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (2, 3, 4), ("N", 3, 2, 2)])
def test_derive_takes_rank_three_and_more(shape: Any) -> None:
    """A tensor's shape is kept whole: its gradient has the array's axes."""
    import symbackprop as sbp
    d = sbp.derive("sum(X**2)", shapes={"X": shape})
    x = np.random.default_rng(0).normal(size=tuple(2 if d == "N" else d for d in shape))
    np.testing.assert_allclose(d.evaluate({"X": x})["X"], 2 * x)
    assert d.check({"X": x}).ok


def test_an_empty_shape_is_refused() -> None:
    import symbackprop as sbp
    with pytest.raises(ShapeError, match="rows, cols"):
        sbp.derive("sum(X)", shapes={"X": []})
