"""derive() of the n-D primitives over random geometry (issue 14 part B): convolution (N, C,
H, W, F, taps, stride, padding, with or without a bias), max and average pooling (window,
stride), and random einsum subscripts.

Each program is ``L = sum(G ⊙ op(...))`` with a cotangent ``G`` that is an input too, so the
gradients are the primitive's VJP at ``G`` and ``∂L/∂G`` is its forward value. Both are
compared with loops written here from the definitions (the library works tap by tap, by
windows and with np.einsum), and each derivation must also pass ``d.check()`` (the engine
and finite differences), run as generated Python with the same numbers, and agree in
forward mode (``d.jvp`` along a random direction is the gradient's inner product with it);
a few print LaTeX that KaTeX and pdflatex accept."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from latex_tools import assert_latex_ok
from test_emit_python import run_generated

import symbackprop as sbp

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------------------
# References: loops from the definitions, forward value and VJP at G together


def conv_loops(x: Any, w: Any, b: Any, g: Any, stride: tuple[int, int],
               padding: tuple[int, int]) -> dict[str, Any]:
    """Y[n,f,h,v] = b[f] + Σ_{c,i,j} W[f,c,i,j] X[n,c,sh·h+i−ph,sw·v+j−pw] (0 outside X),
    and the gradients of Σ G ⊙ Y, entry by entry."""
    (sh, sw), (ph, pw) = stride, padding
    _, c_, h_, w_ = x.shape
    f_, _, kh, kw = w.shape
    y = np.zeros(g.shape)
    grads = {"X": np.zeros_like(x), "W": np.zeros_like(w), "b": np.zeros((f_, 1))}
    for n, f, h, v in itertools.product(*map(range, g.shape)):
        y[n, f, h, v] = 0.0 if b is None else b[f, 0]
        grads["b"][f, 0] += g[n, f, h, v]
        for c, i, j in itertools.product(range(c_), range(kh), range(kw)):
            r, q = sh * h + i - ph, sw * v + j - pw
            if 0 <= r < h_ and 0 <= q < w_:
                y[n, f, h, v] += w[f, c, i, j] * x[n, c, r, q]
                grads["W"][f, c, i, j] += g[n, f, h, v] * x[n, c, r, q]
                grads["X"][n, c, r, q] += g[n, f, h, v] * w[f, c, i, j]
    return {**grads, "G": y}


def pool_loops(kind: str, x: Any, g: Any, size: tuple[int, int], stride: tuple[int, int]
               ) -> dict[str, Any]:
    """Each window's maximum (its gradient to the first maximum, row by row) or mean."""
    y, dx = np.zeros(g.shape), np.zeros_like(x)
    for n, c, h, v in itertools.product(*map(range, g.shape)):
        taps = [(stride[0] * h + i, stride[1] * v + j) for i in range(size[0])
                for j in range(size[1])]
        if kind == "maxpool2d":
            best = taps[0]
            for t in taps:
                if x[n, c, t[0], t[1]] > x[n, c, best[0], best[1]]:
                    best = t
            y[n, c, h, v] = x[n, c, best[0], best[1]]
            dx[n, c, best[0], best[1]] += g[n, c, h, v]
        else:
            for r, q in taps:
                y[n, c, h, v] += x[n, c, r, q] / len(taps)
                dx[n, c, r, q] += g[n, c, h, v] / len(taps)
    return {"X": dx, "G": y}


def einsum_loops(parts: list[str], out: str, xs: list[Any], g: Any) -> list[Any]:
    """Every assignment of the indices: its product added to the output's entry, and G's
    entry times the other factors to each operand's entry."""
    size = {c: n for p, x in zip(parts, xs, strict=True) for c, n in zip(p, x.shape,
                                                                         strict=True)}
    letters = sorted(size)
    y = np.zeros(tuple(size[c] for c in out))
    grads = [np.zeros_like(x) for x in xs]
    for idx in itertools.product(*(range(size[c]) for c in letters)):
        at = dict(zip(letters, idx, strict=True))
        factors = [x[tuple(at[c] for c in p)] for p, x in zip(parts, xs, strict=True)]
        o = tuple(at[c] for c in out)
        y[o] += np.prod(factors)
        for k, p in enumerate(parts):
            others = np.prod([v for i, v in enumerate(factors) if i != k])
            grads[k][tuple(at[c] for c in p)] += g[o] * others
    return [*grads, y]


# ---------------------------------------------------------------------------------------
# What every case must pass besides its loops


@dataclass(frozen=True)
class Case:
    text: str
    shapes: dict[str, tuple[int, ...]]
    values: dict[str, Any]


def pair(draw: Any, a: int, b: int, default: int | None) -> tuple[str, tuple[int, int]]:
    """A stride, padding or window: written as one int when both sides agree (or left out
    at its default), else as a pair."""
    v = (draw(st.integers(a, b)), draw(st.integers(a, b)))
    if v[0] != v[1] or draw(st.booleans()):
        return (f"({v[0]}, {v[1]})" if v[0] != v[1] or draw(st.booleans()) else str(v[0])), v
    return ("" if v[0] == default else str(v[0])), v


def derived(case: Case, want: dict[str, Any]) -> sbp.Derivation:
    """The derivation of ``case``, after every check but the loops (``want``)."""
    d = sbp.derive(case.text, shapes=case.shapes)
    got = d.evaluate(case.values)
    for name, w in want.items():  # each gradient in the shape of the value given
        assert np.shape(got[name]) == np.shape(case.values[name]), name
        np.testing.assert_allclose(np.reshape(got[name], np.shape(w)), w, rtol=1e-9,
                                   atol=1e-11, err_msg=name)
    report = d.check(case.values)
    assert report.ok, report
    _, generated = run_generated(d.to_python(), case.values)
    for name in want:  # the generated code's vector gradients are columns
        np.testing.assert_allclose(np.reshape(generated[name], np.shape(got[name])), got[name],
                                   rtol=1e-9, atol=1e-11)
    rng = np.random.default_rng(1)
    dirs = {n: rng.standard_normal(np.shape(v)) for n, v in case.values.items()}
    jvp = sbp.derive(case.text, shapes=case.shapes, mode="forward").jvp(case.values, dirs)
    along = sum(float(np.sum(np.reshape(got[n], np.shape(dirs[n])) * dirs[n]))
                for n in case.values)
    assert float(jvp) == pytest.approx(along, rel=1e-9, abs=1e-9)
    return d


def values_for(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, Any]:
    """Distinct entries (no pooling window has a tie), in [-1.5, 1.5)."""
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        out[name] = (rng.permutation(n) / n * 3 - 1.5).reshape(shape)
    return out


# ---------------------------------------------------------------------------------------
# Strategies


@st.composite
def conv_cases(draw: Any) -> tuple[Case, dict[str, Any]]:
    n, c, f = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    _, (kh, kw) = pair(draw, 1, 3, None)
    stride_text, stride = pair(draw, 1, 3, 1)
    padding_text, padding = pair(draw, 0, 2, 0)
    h = draw(st.integers(max(1, kh - 2 * padding[0]), 6))
    w = draw(st.integers(max(1, kw - 2 * padding[1]), 6))
    ho, wo = (h + 2 * padding[0] - kh) // stride[0] + 1, (w + 2 * padding[1] - kw) // stride[1] + 1
    bias = draw(st.booleans())
    shapes: dict[str, tuple[int, ...]] = {"X": (n, c, h, w), "W": (f, c, kh, kw),
                                          "G": (n, f, ho, wo)}
    if bias:
        shapes["b"] = (f, 1)
    args = ["X", "W", *(["b"] if bias else []),
            *([f"stride={stride_text}"] if stride_text else []),
            *([f"padding={padding_text}"] if padding_text else [])]
    case = Case(f"L = sum(hadamard(G, conv2d({', '.join(args)})))", shapes,
                values_for(shapes, draw(st.integers(0, 2**16))))
    v = case.values
    want = conv_loops(v["X"], v["W"], v.get("b"), v["G"], stride, padding)
    return case, want if bias else {k: x for k, x in want.items() if k != "b"}


@st.composite
def pool_cases(draw: Any) -> tuple[Case, dict[str, Any]]:
    kind = draw(st.sampled_from(["maxpool2d", "avgpool2d"]))
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    size_text, size = pair(draw, 1, 3, None)
    stride_text, stride = pair(draw, 1, 3, None)
    if stride == size and draw(st.booleans()):
        stride_text = ""  # the default stride is the window
    h, w = draw(st.integers(size[0], 7)), draw(st.integers(size[1], 7))
    shapes: dict[str, tuple[int, ...]] = {
        "X": (n, c, h, w),
        "G": (n, c, (h - size[0]) // stride[0] + 1, (w - size[1]) // stride[1] + 1)}
    written = f", stride={stride_text}" if stride_text else ""
    case = Case(f"L = sum(hadamard(G, {kind}(X, {size_text}{written})))", shapes,
                values_for(shapes, draw(st.integers(0, 2**16))))
    return case, pool_loops(kind, case.values["X"], case.values["G"], size, stride)


@st.composite
def einsum_cases(draw: Any) -> tuple[Case, dict[str, Any]]:
    """1-3 operands of rank 1-4 over 1-5 indices of sizes 1-3; the output any 1-4 of them
    (each once), so indices are contracted, reduced, broadcast or transposed; an index may
    repeat within an operand (its diagonal, 'ii->i')."""
    letters = draw(st.permutations("abcdefghijk"))[:draw(st.integers(1, 5))]
    size = {c: draw(st.integers(1, 3)) for c in letters}
    diagonals = draw(st.booleans())
    parts = [draw(st.lists(st.sampled_from(letters), min_size=1, max_size=4,
                           unique=not diagonals))
             for _ in range(draw(st.integers(1, 3)))]
    bound = set().union(*parts)
    out = draw(st.lists(st.sampled_from(sorted(bound)), min_size=1, max_size=4, unique=True))
    names = ["A", "B", "C"][:len(parts)]
    shapes = {n: tuple(size[c] for c in p) for n, p in zip(names, parts, strict=True)}
    shapes["G"] = tuple(size[c] for c in out)
    values = values_for(shapes, draw(st.integers(0, 2**16)))
    spec = ",".join("".join(p) for p in parts) + "->" + "".join(out)
    case = Case(f"L = sum(hadamard(G, einsum('{spec}', {', '.join(names)})))", shapes, values)
    *grads, y = einsum_loops(["".join(p) for p in parts], "".join(out),
                             [values[n] for n in names], values["G"])
    want = dict(zip(names, grads, strict=True))
    want["G"] = y
    # a vector is a column (n, 1) to the library: its gradient too
    return case, {n: (v.reshape(-1, 1) if np.ndim(v) == 1 else v) for n, v in want.items()}


# ---------------------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize(("short", "spec", "parts"), [
    ("ij,jk", "ij,jk->ik", [(2, 3), (3, 2)]), ("bij,bjk", "bij,bjk->ik", [(2, 3, 2), (2, 2, 3)]),
    ("ji", "ji->ij", [(2, 3)]), ("...ij,...jk", "aij,ajk->aik", [(2, 3, 2), (2, 2, 3)]),
    ("...ij,jk->...ik", "abij,jk->abik", [(2, 1, 3, 2), (2, 3)]),
    ("ab...,b", "abc,b->ca", [(2, 3, 2), (3,)]), ("...ii->...i", "aii->ai", [(2, 3, 3)]),
    ("ii", "ii->", [(3, 3)]), ("ij,ij->", "ij,ij->", [(2, 3), (2, 3)]),
    ("i,i", "i,i->", [(3,), (3,)]), ("...,...", "ab,ab->ab", [(2, 3), (2, 3)])])
def test_numpys_short_subscripts_are_read_as_numpy_reads_them(
        short: str, spec: str, parts: list[tuple[int, ...]]) -> None:
    """The implicit output (the indices used once, in alphabetical order), '...' (the axes
    the letters leave, from the right) and a scalar result, as NumPy's einsum reads them:
    ``spec`` is NumPy's reading (asserted with NumPy), the loops over it the gradient."""
    ins, out = spec.split("->")
    names = ["A", "B"][:len(parts)]
    shapes = dict(zip(names, parts, strict=True))
    size = {c: n for p, s in zip(ins.split(","), parts, strict=True)
            for c, n in zip(p, s, strict=True)}
    shapes["G"] = tuple(size[c] for c in out)
    values = values_for(shapes, 3)
    xs = [values[n] for n in names]
    np.testing.assert_array_equal(np.einsum(short, *xs), np.einsum(spec, *xs))
    call = f"einsum('{short}', {', '.join(names)})"
    text = f"L = sum(hadamard(G, {call}))" if out else f"L = G * {call}"
    *grads, y = einsum_loops(ins.split(","), out, xs, values["G"])
    want = {**dict(zip(names, grads, strict=True)), "G": y}
    d = derived(Case(text, shapes, values),
                {n: (v.reshape(-1, 1) if np.ndim(v) == 1 else v) for n, v in want.items()})
    assert "..." not in d.latex()  # every index written out


@pytest.mark.parametrize(("spec", "parts"), [
    ("ii->i", [(3, 3)]), ("bii->bi", [(2, 3, 3)]), ("iji->ij", [(3, 2, 3)]),
    ("iiji->ij", [(2, 2, 3, 2)]), ("ij,jj->i", [(2, 3), (3, 3)]),
    ("ii,ij->j", [(3, 3), (3, 2)]), ("aab,bcc->ac", [(2, 2, 3), (3, 2, 2)])])
def test_an_index_repeated_in_an_operand_reads_its_diagonal(
        spec: str, parts: list[tuple[int, ...]]) -> None:
    """'ii->i' as NumPy reads it: the forward value, the gradient (zero off the diagonal),
    check(), the generated code and the tangents against the loops over every index; the
    cotangent printed with a Kronecker delta."""
    ins, out = spec.split("->")
    names = ["A", "B"][:len(parts)]
    shapes = dict(zip(names, parts, strict=True))
    size = {c: n for p, s in zip(ins.split(","), parts, strict=True)
            for c, n in zip(p, s, strict=True)}
    shapes["G"] = tuple(size[c] for c in out)
    values = values_for(shapes, 7)
    case = Case(f"L = sum(hadamard(G, einsum('{spec}', {', '.join(names)})))", shapes, values)
    *grads, y = einsum_loops(ins.split(","), out, [values[n] for n in names], values["G"])
    want = {**dict(zip(names, grads, strict=True)), "G": y}
    d = derived(case, {n: (v.reshape(-1, 1) if np.ndim(v) == 1 else v) for n, v in want.items()})
    assert r"\delta_{" in d.latex()


@FUZZ
@given(conv_cases())
def test_conv2d_of_random_geometry(case_want: tuple[Case, dict[str, Any]]) -> None:
    derived(*case_want)


@FUZZ
@given(pool_cases())
def test_pooling_of_random_geometry(case_want: tuple[Case, dict[str, Any]]) -> None:
    derived(*case_want)


@FUZZ
@given(einsum_cases())
def test_einsum_of_random_subscripts(case_want: tuple[Case, dict[str, Any]]) -> None:
    derived(*case_want)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conv=conv_cases(), pool=pool_cases(), einsum=einsum_cases())
def test_latex_of_a_sample_passes_katex_and_pdflatex(conv: Any, pool: Any, einsum: Any
                                                     ) -> None:
    """Index notation for whatever geometry was drawn (sums, strides, paddings, windows)."""
    assert_latex_ok([sbp.derive(c.text, shapes=c.shapes).latex() for c, _ in (conv, pool,
                                                                                 einsum)])


# ---------------------------------------------------------------------------------------
# Found by SYMBACKPROP_FUZZ_PROGRAMS=2000 python -m pytest tests/test_differential.py
# (matrix programs)


def test_a_number_to_the_power_of_a_sum_over_gelu_derives() -> None:
    """The sum reaches the power through 4 + s: inlined there, SymPy's Pow factored the
    exponent, rebuilt gelu's matrix operand as a scalar sum and raised a bare ValueError."""
    d = sbp.derive("L = 5 ** (4 + sum(gelu(W)))", shapes={"W": (2, 2)})
    w = np.array([[0.7, -0.4], [1.3, 0.2]])
    assert d.check({"W": w}).ok
    cdf = 0.5 * (1 + np.vectorize(math.erf)(w / math.sqrt(2)))
    pdf = np.exp(-w * w / 2) / math.sqrt(2 * math.pi)
    loss = 5.0 ** (4 + np.sum(w * cdf))  # ∂L/∂W = L·ln 5·gelu'(W), gelu' = Φ + w·φ
    np.testing.assert_allclose(d.evaluate({"W": w})["W"], loss * math.log(5) * (cdf + w * pdf),
                               rtol=1e-12)


@pytest.mark.parametrize("text", ["L = 2 ** (1 + sum(gelu(W)))", "L = sin(2 + sum(gelu(W)))",
                                  "L = 3 * 5 ** (sum(gelu(W)) * 2 + 1)",
                                  "L = (1 + sum(gelu(W))) ** 3",
                                  "L = 5 ** (4 + sum(gelu(W))) + sum(W)"])
def test_a_function_of_a_sum_over_a_compound_matrix_derives(text: str) -> None:
    """Through any chain of sums and products; every granularity."""
    w = np.array([[0.7, -0.4], [1.3, 0.2]])
    for granularity in ("primitive", "layers", "stages"):
        assert sbp.derive(text, shapes={"W": (2, 2)}, granularity=granularity).check(
            {"W": w}).ok


def test_pad_of_a_one_by_one_product_in_a_later_let_derives() -> None:
    """In a later let v is no input of that stage's builder, so v @ v.T was read as the
    scalar vᵀv, which pad refused; a product read as a scalar is the 1×1 matrix again."""
    shapes = {"v": (1, 2)}
    g = sbp.Graph(shapes=shapes).let("h", "v").let("L", "sum(pad(v @ v.T, 1))")
    d = sbp.derive(g, shapes=shapes)
    v = np.array([[0.7, -0.4]])
    assert d.check({"v": v}).ok
    np.testing.assert_allclose(d.evaluate({"v": v})["v"], 2 * v, rtol=1e-14)  # L = v·v


@pytest.mark.parametrize("expr", ["sum(pad(tanh(v) @ v.T, 1))", "(tanh(v) @ v.T)[0, 0]",
                                  "sum(concatenate([tanh(v) @ v.T, v @ v.T], axis=1))",
                                  "sum(hstack([tanh(v) @ v.T, v]))",
                                  "sum(reshape(tanh(v) @ v.T, (1, 1)))",
                                  "sum(softmax(v @ tanh(v).T, axis=1))",
                                  "sum(cumsum(v @ tanh(v).T, axis=0))",
                                  "mse(v @ tanh(v).T, v[0:1, 1:2])"])
def test_a_one_by_one_product_read_as_a_scalar_pads_joins_and_indexes(expr: str) -> None:
    """Not an input's product (tanh(v) @ v.T): text and a later let alike."""
    shapes, v = {"v": (1, 2)}, np.array([[0.7, -0.4]])
    for source in (f"L = {expr}", sbp.Graph(shapes=shapes).let("h", "v").let("L", expr)):
        assert sbp.derive(source, shapes=shapes).check({"v": v}).ok


@pytest.mark.parametrize("axis", [0, 1])
def test_a_one_by_one_product_stacks_beside_a_matrix(axis: int) -> None:
    """stack([tanh(v) @ v.T, v @ v.T]) was refused as 'scalar, (1, 1)': the first read as
    the scalar it stands for, the second as the 1×1 matrix; beside a matrix both are one.
    L = tanh(v)·v + v·v, so ∇_v L = tanh(v) + v ⊙ (1 − tanh²v) + 2v."""
    shapes, v = {"v": (1, 2)}, np.array([[0.7, -0.4]])
    expr = f"sum(stack([tanh(v) @ v.T, v @ v.T], axis={axis}))"
    want = np.tanh(v) + v * (1 - np.tanh(v) ** 2) + 2 * v
    for source in (f"L = {expr}", sbp.Graph(shapes=shapes).let("h", "v").let("L", expr)):
        d = sbp.derive(source, shapes=shapes)
        assert d.check({"v": v}).ok
        np.testing.assert_allclose(d.evaluate({"v": v})["v"], want, rtol=1e-13)


@pytest.mark.parametrize(("expr", "shape"), [
    ("hstack((x.T@x, x.T@x))", (1, 2)), ("repeat(x.T@x, 3, axis=1)", (1, 3)),
    ("vstack((x.T@x, x.T@x))", (2, 1)), ("repeat(x.T@x, 2, axis=0)", (2, 1)),
    ("hstack((x.T@x, r@x))", (1, 2)), ("hstack((a, a))", (2, 1))])
def test_a_one_by_one_product_joins_and_repeats_as_numpys(expr: str,
                                                          shape: tuple[int, int]) -> None:
    """hstack((xᵀx, xᵀx)) and repeat(xᵀx, 3, axis=1) were columns, where NumPy's (1, 1)
    arrays make a row: sum(hadamard(hstack((xᵀx, xᵀx)), ones(2, 1))) was 2xᵀx, not 4xᵀx
    (a held-out case, which check() caught). Scalars side by side stay a 1-D column.
    Broadcast against ones of the other orientation, n copies of xᵀx make an n × n
    matrix of them: the gradient is n²·2x."""
    shapes = {"x": (3, 1), "r": (1, 3)}
    assert tuple(sbp.derive(f"L = {expr}", shapes=shapes).forward[-1].lhs.shape) == shape
    x, r = np.array([[0.5], [-1.0], [2.0]]), np.array([[1.0, 0.5, -0.5]])
    d = sbp.derive(f"sum(hadamard({expr}, ones({shape[1]}, {shape[0]})))", shapes=shapes)
    values = {k: v for k, v in {"x": x, "r": r, "a": 0.7}.items()
              if k in {str(s.name) for s in d.inputs}}
    assert d.check(values).ok
    if set(values) == {"x"}:
        n = shape[0] * shape[1]
        np.testing.assert_allclose(d.evaluate(values)["x"], 2 * x * n * n, rtol=1e-12)


@pytest.mark.parametrize("expr", ["vdot(y.T@x, r@x)", "vdot(r@x, y.T@x)"])
def test_vdot_of_two_one_by_one_products_read_alike(expr: str) -> None:
    """vdot(yᵀx, r x) was refused as 'scalar and (1, 1)' while vdot(r x, r x) was read (a
    held-out case): both are (1, 1) in NumPy. L = (yᵀx)(r x): ∇_x L = y (r x) + rᵀ (yᵀx)."""
    x, y, r = np.array([[0.5], [-1.0], [2.0]]), np.array([[1.0], [0.3], [-0.2]]), \
        np.array([[1.0, 0.5, -0.5]])
    d = sbp.derive(expr, shapes={"x": (3, 1), "y": (3, 1), "r": (1, 3)})
    got = d.evaluate({"x": x, "y": y, "r": r})
    np.testing.assert_allclose(got["x"], y * (r @ x) + r.T * (y.T @ x), rtol=1e-12)


@pytest.mark.parametrize("granularity", ["auto", "primitive", "stages"])
def test_a_one_by_one_product_scales_and_stacks_in_one_equation(granularity: str) -> None:
    """sum((yᵀx)yᵀ ⊙ σ([uᵀ, yᵀx])): yᵀx is a number where it scales yᵀ and a 1×1 matrix
    in the stack, in one right-hand side, and its two cotangents were added as they came
    ('Mix of Matrix and Scalar symbols', a held-out case). With s = yᵀx, p = σ([uᵀ, s]),
    L = s·Σ_j y_j p_j, so ∇_x L = (Σ_j y_j p_j + s·y₃ p₃(1 − p₃))·y (y₃ beside s),
    ∇_u L = s·y_{1:2} ⊙ p_{1:2} ⊙ (1 − p_{1:2})."""
    rng = np.random.default_rng(3)
    y, x, u = rng.standard_normal((3, 1)), rng.standard_normal((3, 1)), rng.standard_normal((2, 1))
    d = sbp.derive("L = sum(hadamard((y.T@x)@y.T, sigmoid(hstack((u.T, y.T@x)))))",
                   shapes={"y": (3, 1), "x": (3, 1), "u": (2, 1)},
                   granularity=granularity)  # type: ignore[arg-type]
    s = (y.T @ x).item()
    p = 1 / (1 + np.exp(-np.vstack([u, [[s]]])))
    got = d.evaluate({"y": y, "x": x, "u": u})
    np.testing.assert_allclose(got["x"], ((y.T @ p).item() + s * y[2, 0] * p[2, 0]
                                          * (1 - p[2, 0])) * y, rtol=1e-12)
    np.testing.assert_allclose(got["u"], s * y[:2] * p[:2] * (1 - p[:2]), rtol=1e-12)
    assert d.check({"y": y, "x": x, "u": u}).ok


@pytest.mark.parametrize("text", ["p = W[0:1, 0:1]; h = p @ W; L = softmax(h)",
                                  "h = W @ W; L = softmax(h)", "h = W @ W; L = log_softmax(h)",
                                  "p = W[0:1, 0:1]; h = p @ W; L = mse(W, h)"])
def test_a_named_one_by_one_product_is_a_matrix_to_a_matrix_function(text: str) -> None:
    """Found by the differential fuzzer (seed 8): a stage naming a 1×1 product was an alias
    that ``as_matrix`` did not follow, and the output Item(softmax(h)) of a named stage gave
    softmax's rule a scalar cotangent ('Mix of Matrix and Scalar symbols'). softmax of one
    entry is 1, so its gradient is 0; mse(W, W²) = ½(w − w²)² has (w − w²)(1 − 2w)."""
    w = np.array([[0.3]])
    d = sbp.derive(text, shapes={"W": (1, 1)})
    assert d.check({"W": w}).ok
    want = (0.3 - 0.09) * (1 - 0.6) if "mse" in text else 0.0
    np.testing.assert_allclose(d.evaluate({"W": w})["W"], [[want]], atol=1e-15)


@pytest.mark.parametrize(("text", "want"), [
    # L = 3w³ (pad adds zeros), so ∂L/∂w = 9w²
    ("h = W; s1 = h @ kron(W, W); L = sum(reshape(s1, (1, 1))) + sum(pad(2*s1, 1))",
     9 * 0.49),
    # softmax of one entry is 1; sin(w²) reshaped: 2w·cos(w²)
    ("L = sum(softmax(exp(W@W) + 1, axis=0)) + sum(reshape(sin(W@W), (1, 1)))",
     2 * 0.7 * np.cos(0.49))])
def test_arithmetic_on_a_one_by_one_product_stays_a_matrix_where_one_is_needed(
        text: str, want: float) -> None:
    """NumPy keeps a 1×1 product (1, 1) through arithmetic (2·s, exp(s) + 1): reshape, pad
    and softmax along an axis refused it as a scalar (SYMBACKPROP_FUZZ_SEED=13, also per
    stage through Graph.let). A declared scalar is still refused there."""
    shapes, w = {"W": (1, 1)}, np.array([[0.7]])
    stages = [s.split(" = ", 1) for s in text.split("; ")]
    g = sbp.Graph(shapes=shapes)
    for name, expr in stages:
        g = g.let(name, expr)
    for source in (text, g):
        d = sbp.derive(source, shapes=shapes)
        assert d.check({"W": w}).ok
        np.testing.assert_allclose(d.evaluate({"W": w})["W"], [[want]], rtol=1e-12)
    with pytest.raises(sbp.ShapeError, match="got a scalar"):
        sbp.derive("s = x*2; L = sum(pad(s, 1))")
