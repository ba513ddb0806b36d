"""Tensors of rank ≥ 3 through derive(): a CNN, multi-head attention and spatial batch
normalisation written in the text derive, print in index notation, and agree with the
symbolic derivation, the engine, finite differences, the textbook closed forms (the full
correlation with the turned filter) and, where installed, PyTorch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok, need_katex
from test_emit_python import run_generated

import symbackprop as sbp
from symbackprop.errors import ShapeError, UnsupportedError

RNG = np.random.default_rng(7)

CNN = """
z1 = conv2d(X, K1, c1, padding=1)
h1 = relu(z1)
p1 = maxpool2d(h1, 2)
z2 = conv2d(p1, K2, c2, stride=2, padding=1)
h2 = tanh(z2)
p2 = avgpool2d(h2, 2, stride=1)
f = reshape(p2, (N, -1))
o = W @ f.T + b @ ones(1, N)
"""
CNN_SHAPES: dict[str, tuple[Any, ...]] = {"X": ("N", 3, 8, 8), "K1": (4, 3, 3, 3), "c1": (4,), "K2": (6, 4, 3, 3),
              "c2": (6,), "W": (5, 6), "b": (5,), "y": (5, "N")}
CNN_WRT = ["K1", "c1", "K2", "c2", "W", "b", "X"]


def _cnn_values(n: int = 3) -> dict[str, Any]:
    v = {k: RNG.normal(size=tuple(n if d == "N" else d for d in s))
         for k, s in CNN_SHAPES.items() if k != "y"}
    v["y"] = np.eye(5)[:, RNG.integers(0, 5, n)]
    return v


@pytest.fixture(scope="module")
def cnn() -> sbp.Derivation:
    return sbp.derive(CNN, shapes=CNN_SHAPES, loss="cross_entropy", wrt=CNN_WRT)


def test_a_cnn_passes_three_witnesses_at_two_batch_sizes(cnn: sbp.Derivation) -> None:
    for n in (2, 5):  # the batch size N is a name: bound from the values
        report = cnn.check(_cnn_values(n))
        assert report.ok, report
        assert {r.name for r in report.rows} == set(CNN_WRT)


def test_a_cnn_prints_index_notation_that_katex_and_pdflatex_accept(cnn: sbp.Derivation
                                                                     ) -> None:
    tex = cnn.latex()
    # the convolution, its filter's cotangent (a correlation of the input with ∂L/∂Z) and
    # the bias's (a sum over the batch and the image), in the course notes' indices
    assert r"\sum_{c,i,j} {\mathbf{K}^{(1)}}_{f,c,i,j}" in tex
    assert r"\frac{\partial L}{\partial \mathbf{K}^{(2)}} &= \left[\sum_{n,h,w}" in tex
    assert r"_{n,c,2h+i,2w+j}\right]_{f,c,i,j}" in tex  # stride 2: rows 2h + i
    assert r"\operatorname*{argmax}^{\text{first}}" in tex  # max pooling routes to the first
    assert r"\operatorname{reshape}_{N \times 6}" in tex
    assert "TensorVJP" not in tex
    assert "Node" not in tex
    assert_latex_ok([tex, cnn.trace(_cnn_values(2)).latex()])


def test_a_cnn_in_every_format(cnn: sbp.Derivation) -> None:
    need_katex()  # (d.html() typesets with KaTeX's files)
    values = _cnn_values(2)
    assert "conv2d" in cnn.to_json()
    assert "N×3×8×8" in cnn.to_dot()
    assert r"\sum_{n,h,w}" in cnn.markdown()
    assert "katex" in cnn.html().lower()
    text = str(cnn.trace(values))
    assert "(2×3×8×8, at 0,0,:,:)" in text  # a tensor's value: a corner of its first matrix
    got = cnn.evaluate(values)
    _, grads = run_generated(cnn.to_python(), values)  # the generated code, run
    for k in CNN_WRT:  # evaluate's in the shape given, the code's a column for a vector
        assert np.shape(got[k]) == np.shape(values[k])
        np.testing.assert_allclose(np.reshape(grads[k], np.shape(got[k])), got[k], rtol=1e-10,
                                   atol=1e-12)


def _full_correlation_rot180(g: Any, w: Any) -> Any:
    """∂L/∂X of a stride-1, unpadded convolution as the textbooks write it: ∂L/∂Y padded by
    k − 1 and correlated with W turned by 180°, summed over the filters."""
    kh, kw = w.shape[2:]
    gp = np.pad(g, ((0, 0), (0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    rot = w[:, :, ::-1, ::-1]
    n, _, hp, wp = gp.shape
    out = np.zeros((n, w.shape[1], hp - kh + 1, wp - kw + 1))
    for u in range(out.shape[2]):
        for v in range(out.shape[3]):
            out[:, :, u, v] = np.einsum("nfij,fcij->nc", gp[:, :, u:u + kh, v:v + kw], rot)
    return out


def test_the_input_cotangent_is_the_full_correlation_with_the_turned_filter() -> None:
    d = sbp.derive("sum(conv2d(X, W) * G)", shapes={"X": (2, 3, 6, 5), "W": (4, 3, 3, 2),
                                                      "G": (2, 4, 4, 4)}, wrt=["X", "W"])
    v = {"X": RNG.normal(size=(2, 3, 6, 5)), "W": RNG.normal(size=(4, 3, 3, 2)),
         "G": RNG.normal(size=(2, 4, 4, 4))}
    np.testing.assert_allclose(d.evaluate(v)["X"], _full_correlation_rot180(v["G"], v["W"]),
                               rtol=1e-12, atol=1e-12)
    assert r"\star_{\text{full}} \operatorname{rot180}" in d.latex()  # and it says so


MHA = """
S = einsum('bhqd,bhkd->bhqk', Q, K) / 2
A = softmax(S, axis=-1)
O = einsum('bhqk,bhkd->bhqd', A, V)
L = sum(O * G)
"""
MHA_SHAPES = {k: (2, 3, 4, 4) for k in ("Q", "K", "V", "G")}


def test_multi_head_attention_with_einsum_and_the_softmax_along_the_last_axis() -> None:
    d = sbp.derive(MHA, shapes=MHA_SHAPES, wrt=["Q", "K", "V"])
    assert d.check().ok
    tex = d.latex()
    # the softmax's VJP, A ⊙ (∂L/∂A − Σ_k' ∂L/∂A ⊙ A), and the einsums' cotangents; the
    # softmax of the scores writes them with the letters their einsum gave them (b,h,q,k)
    assert r"\sum_{k'} \left(\frac{\partial L}{\partial \mathbf{A}}\right)_{b,h,q,k'}" in tex
    assert r"\frac{\exp {\mathbf{S}}_{b,h,q,k}}{\sum_{k'} \exp {\mathbf{S}}_{b,h,q,k'}}" in tex
    assert r"\frac{\partial L}{\partial \mathbf{V}} &= \left[\sum_{q}" in tex
    assert_latex_ok([tex])
    f = sbp.derive(MHA, shapes=MHA_SHAPES, wrt=["Q", "K", "V"], mode="forward")
    v = {k: RNG.normal(size=s) for k, s in MHA_SHAPES.items()}
    dirs = {k: RNG.normal(size=MHA_SHAPES[k]) for k in ("Q", "K", "V")}
    grads = d.evaluate(v)
    assert float(f.jvp(v, dirs)) == pytest.approx(
        sum(float(np.sum(grads[k] * dirs[k])) for k in dirs), rel=1e-10)


def test_spatial_batch_normalisation_prints_the_compact_form() -> None:
    d = sbp.derive("sum(sin(batchnorm2d(X, g, b, eps=0.001)))",
                   shapes={"X": (4, 3, 2, 2), "g": (3,), "b": (3,)})
    assert d.check().ok
    tex = d.latex()
    assert r"\frac{{\mathbf{g}}_{c}}{M \sigma_c}" in tex
    assert r"M = N H W" in tex
    assert_latex_ok([tex])


def test_max_pooling_sends_a_tie_to_the_first_maximum_and_check_names_the_kink() -> None:
    d = sbp.derive("sum(maxpool2d(X, 2) * G)", shapes={"X": (1, 1, 2, 4), "G": (1, 1, 1, 2)},
                   wrt=["X"])
    x = np.array([[[[1.0, 1.0, 0.0, 2.0], [0.0, 1.0, 0.0, -1.0]]]])
    v = {"X": x, "G": np.array([[[[3.0, 5.0]]]])}
    want = np.array([[[[3.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0]]]])
    np.testing.assert_array_equal(d.evaluate(v)["X"], want)
    report = d.check(v)
    assert not report.ok
    assert "not differentiable here" in str(report)
    assert "maxpool2d" in str(report)


@pytest.mark.parametrize(("text", "shapes", "error", "match"), [
    ("sum(X @ Y)", {"X": (2, 3, 4), "Y": (2, 4, 3)}, ShapeError, "einsum"),
    ("sum(X + A)", {"X": (2, 3, 4), "A": (6, 4)}, ShapeError, r"\(2, 3, 4\)"),
    ("sum(conv2d(X, W))", {"X": (1, 2, 5, 5), "W": (4, 3, 3, 3)}, ShapeError, "channels"),
    ("sum(conv2d(X, W))", {"X": (1, 3, "H", 5), "W": (4, 3, 3, 3)}, ShapeError, "numbers"),
    ("sum(max(X, axis=1))", {"X": (2, 3, 4)}, UnsupportedError, "einsum"),
    ("sum(einsum('ij,jk->ik', X, X))", {"X": (2, 3, 4)}, ShapeError, "2 indices for rank 3"),
    ("sum(reshape(X, (5, -1)))", {"X": (2, 3, 4)}, ShapeError, "reshape"),
    ("sum(transpose(X, (0, 0, 1)))", {"X": (2, 3, 4)}, ShapeError, "permutation"),
    ("sum(maxpool2d(X, 4))", {"X": (1, 1, 3, 3)}, ShapeError, "window"),
])
def test_tensors_that_do_not_fit_get_a_typed_error(text: str, shapes: dict[str, Any],
                                                   error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        sbp.derive(text, shapes=shapes)


def test_pytorch_agrees_on_the_cnn(cnn: sbp.Derivation) -> None:
    """A fourth witness, where PyTorch is installed: the same network in torch.nn.functional
    (cross-correlation, NCHW, max pooling's first maximum), its autograd at the same point."""
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional
    v = _cnn_values(3)
    t = {k: torch.tensor(a, dtype=torch.float64, requires_grad=k in CNN_WRT)
         for k, a in v.items()}
    z1 = fn.conv2d(t["X"], t["K1"], t["c1"].reshape(-1), padding=1)
    p1 = fn.max_pool2d(torch.relu(z1), 2)
    z2 = fn.conv2d(p1, t["K2"], t["c2"].reshape(-1), stride=2, padding=1)
    p2 = fn.avg_pool2d(torch.tanh(z2), 2, stride=1)
    o = t["W"] @ p2.reshape(3, -1).T + t["b"].reshape(-1, 1)
    loss = -(t["y"] * torch.log_softmax(o, dim=0)).sum()
    loss.backward()
    got = cnn.evaluate(v)
    for k in CNN_WRT:
        grad = t[k].grad
        assert grad is not None
        np.testing.assert_allclose(got[k], grad.numpy().reshape(np.shape(got[k])), rtol=1e-9,
                                   atol=1e-11)


def test_pytorch_agrees_on_spatial_batch_normalisation() -> None:
    torch = pytest.importorskip("torch")
    d = sbp.derive("sum(batchnorm2d(X, g, b) * G)",
                   shapes={"X": (4, 3, 2, 2), "g": (3,), "b": (3,), "G": (4, 3, 2, 2)},
                   wrt=["X", "g", "b"])
    v = {"X": RNG.normal(size=(4, 3, 2, 2)), "g": RNG.normal(size=(3, 1)),
         "b": RNG.normal(size=(3, 1)), "G": RNG.normal(size=(4, 3, 2, 2))}
    t = {k: torch.tensor(a, dtype=torch.float64, requires_grad=k != "G") for k, a in v.items()}
    y = torch.nn.functional.batch_norm(t["X"], None, None, t["g"].reshape(-1),
                                       t["b"].reshape(-1), training=True, eps=1e-5)
    (y * t["G"]).sum().backward()
    got = d.evaluate(v)
    for k in ("X", "g", "b"):
        grad = t[k].grad
        assert grad is not None
        np.testing.assert_allclose(got[k], grad.numpy(), rtol=1e-8, atol=1e-10)


def test_second_order_through_a_convolution_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedError, match="second order through conv2d"):
        sbp.hessian("sum(sin(conv2d(X, W)))", shapes={"X": (1, 1, 3, 3), "W": (1, 1, 2, 2)},
                    wrt=["W"])
    h = sbp.hessian("sum(sin(einsum('nchw,fc->nfhw', X, W)))",  # einsum's cotangent is one
                    shapes={"X": (1, 2, 2, 2), "W": (3, 2)}, wrt=["W"])
    assert h.check().ok


def _naive_pool_grad(x: Any, g: Any, k: int, s: int, how: str) -> Any:
    """∂L/∂X of pooling, loop by loop: each window's gradient to its first maximum, or
    shared equally."""
    out = np.zeros_like(x)
    n, c, ho, wo = g.shape
    for a in range(n):
        for b in range(c):
            for h in range(ho):
                for w in range(wo):
                    win = x[a, b, s * h:s * h + k, s * w:s * w + k]
                    if how == "max":
                        i, j = divmod(int(np.argmax(win)), k)  # the first, row by row
                        out[a, b, s * h + i, s * w + j] += g[a, b, h, w]
                    else:
                        out[a, b, s * h:s * h + k, s * w:s * w + k] += g[a, b, h, w] / k**2
    return out


@pytest.mark.parametrize(("how", "k", "s"), [("max", 2, 2), ("max", 3, 1), ("avg", 2, 1),
                                             ("avg", 3, 2)])
def test_pooling_gradients_match_a_naive_loop(how: str, k: int, s: int) -> None:
    x = RNG.normal(size=(2, 3, 7, 6))
    ho, wo = (7 - k) // s + 1, (6 - k) // s + 1
    g = RNG.normal(size=(2, 3, ho, wo))
    d = sbp.derive(f"sum({how}pool2d(X, {k}, stride={s}) * G)",
                   shapes={"X": x.shape, "G": g.shape}, wrt=["X"])
    got = d.evaluate({"X": x, "G": g})["X"]
    np.testing.assert_allclose(got, _naive_pool_grad(x, g, k, s, how), rtol=1e-12, atol=1e-14)
    assert d.check({"X": x, "G": g}).ok


def test_a_tensor_too_large_to_hold_is_refused_before_it_is_made() -> None:
    """Sizes of tensors count against Limits.max_elements like matrices' (an outer product
    of four vectors of 1000 would be 10¹² entries)."""
    d = sbp.derive("sum(einsum('i,j,k,l->ijkl', a, a, a, a))", shapes={"a": (1000,)})
    with pytest.raises(sbp.LimitError, match="1,000,000,000,000 entries"):
        d.check()


SPATIAL_BN = """
mu = mean(X, axis=(0, 2, 3))
v = var(X, axis=(0, 2, 3))
Xh = (X - mu) / sqrt(v + 0.00001)
L = sum(sin(reshape(g, (1, 3, 1, 1)) * Xh + reshape(b, (1, 3, 1, 1))))
"""


def test_spatial_batch_normalisation_written_out_agrees_with_the_primitive() -> None:
    """Both spellings: mean and var over axis=(0, 2, 3) with NumPy's broadcasting, and
    batchnorm2d (whose VJP is the compact form)."""
    shapes = {"X": (4, 3, 2, 2), "g": (3,), "b": (3,)}
    written = sbp.derive(SPATIAL_BN, shapes=shapes)
    primitive = sbp.derive("sum(sin(batchnorm2d(X, g, b)))", shapes=shapes)
    v = {"X": RNG.normal(size=(4, 3, 2, 2)), "g": RNG.normal(size=(3, 1)),
         "b": RNG.normal(size=(3, 1))}
    assert written.check(v).ok
    a, c = written.evaluate(v), primitive.evaluate(v)
    for k in ("X", "g", "b"):
        np.testing.assert_allclose(a[k], c[k], rtol=1e-9, atol=1e-12)
    tex = written.latex()
    assert r"\left[\sum_{i,k,l} {\mathbf{X}}_{i,j,k,l}\right]_{\cdot,j,\cdot,\cdot}" in tex
    assert r"\left[{\boldsymbol{\mu}}_{\cdot,j,\cdot,\cdot}\right]_{i,j,k,l}" in tex  # spread
    assert_latex_ok([tex])


@pytest.mark.parametrize(("text", "match"), [
    ("sum(softmax(X) * X)", "axis=k"),
    ("trace(X)", "not a tensor"),
    ("sum(X + Z)", "broadcasting"),
    ("sum(X, axis=(0, 0))", "axes"),
    ("sum(X, axis=3)", "axes"),
])
def test_what_a_tensor_does_not_mean_is_refused(text: str, match: str) -> None:
    with pytest.raises(ShapeError, match=match):
        sbp.derive(text, shapes={"X": (2, 1, 4), "Z": (1, 3, 4)})


def test_the_docs_directives_trace_a_tensor_at_its_own_axes() -> None:
    """The Sphinx directive's (and MkDocs') random point has each tensor's axes."""
    pytest.importorskip("sphinx")
    from symbackprop.sphinx import point
    d = sbp.derive("sum(relu(conv2d(X, W)))", shapes={"X": (1, 2, 4, 4), "W": (2, 2, 3, 3)})
    p = point(d, {}, 0)
    assert {k: np.shape(v) for k, v in p.items()} == {"X": (1, 2, 4, 4), "W": (2, 2, 3, 3)}
    assert "(1×2×4×4, at 0,0,:,:)" in str(d.trace(p))


@pytest.mark.parametrize("text", ["sum(T[0])", "sum(concatenate((T, T), axis=0))",
                                  "sum(kron(T, A))", "sum(pad(T, 1))", "sum(tile(T, 2))"])
def test_moving_rows_and_columns_of_a_tensor_is_refused_by_name(text: str) -> None:
    with pytest.raises(UnsupportedError, match="tensor of rank 3 or more"):
        sbp.derive(text, shapes={"T": (2, 3, 2, 2), "A": (2, 2)})


@pytest.mark.parametrize("text", ["logsumexp(T)", "norm2(T)", "prod(T/2 + 1)", "var(T)",
                                  "sqnorm(T) + norm1(T)"])
def test_reductions_over_every_entry_of_a_tensor(text: str) -> None:
    """logsumexp's gradient of a tensor is exp(T − L), not a column's softmax."""
    assert sbp.derive(text, shapes={"T": (2, 3, 2, 2)}).check(seed=3).ok


def test_a_traced_numpy_function_of_a_tensor_is_refused_by_name() -> None:
    with pytest.raises(UnsupportedError, match="rank 3 or more"):
        sbp.derive(lambda X: np.sum(X.sum(axis=1)), shapes={"X": (2, 3, 4)})


def test_json_gives_a_tensor_its_axes_and_kind() -> None:
    import json
    d = sbp.derive("sum(relu(conv2d(X, W)))", shapes={"X": ("N", 2, 4, 4), "W": (2, 2, 3, 3)})
    inputs = json.loads(d.to_json())["inputs"]
    assert [(i["shape"], i["kind"]) for i in inputs] == [(["N", 2, 4, 4], "tensor"),
                                                         ([2, 2, 3, 3], "tensor")]


def test_max_and_min_vjp_take_python_floats() -> None:
    """The engine may hand a scalar max two Python floats (bools have no astype)."""
    from symbackprop.rules import RULES
    assert RULES["max"].vjp(1.0, 2.0, 2.0, 1.0) == (1.0, 0.0)
    assert RULES["min"].vjp(1.0, 1.0, 1.0, 1.0) == (0.5, 0.5)


def test_padding_on_one_axis_prints_no_plus_zero() -> None:
    d = sbp.derive("L = sum(conv2d(X, W, padding=(1, 0)) * G)",
                   shapes={"X": (1, 1, 4, 4), "W": (1, 1, 3, 3), "G": (1, 1, 4, 2)}, wrt=["X"])
    tex = d.latex()
    assert "+0" not in tex
    assert r"h+i=u+1 \\ w,j:\ w+j=v}" in tex
    assert d.check().ok


def test_a_scalar_bias_or_scale_of_one_channel() -> None:
    """CI's fuzzer drew conv2d(W, W, (P1 + P1) @ P1): a 1×1 product is a scalar to the
    text, and a bias of one filter may be one; so may batchnorm2d's γ and β of one channel."""
    d = sbp.derive("sum(conv2d(X, W, (P @ P.T)))",
                   shapes={"X": (2, 2, 4, 4), "W": (1, 2, 3, 3), "P": (1, 2)})
    assert d.check().ok
    assert sbp.derive("sum(sin(batchnorm2d(X, 2*s, s)))", shapes={"X": (3, 1, 2, 2)}).check().ok
    with pytest.raises(ShapeError, match="one entry per channel"):
        sbp.derive("sum(conv2d(X, W, s))", shapes={"X": (2, 2, 4, 4), "W": (3, 2, 3, 3)})


def test_a_batch_size_named_only_in_a_tensor_shape() -> None:
    """N appears in no matrix: the parser and the witness read it from the tensor's axes."""
    d = sbp.derive("sum(ones(1, N) @ reshape(X, (N, -1)))", shapes={"X": ("N", 2, 2, 2)})
    assert d.check().ok
