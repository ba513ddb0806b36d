"""conv2d, maxpool2d and avgpool2d of ``symbackprop.tensors`` against loops written here from
the definitions (cross-correlation, NCHW; the first maximum of a window takes the gradient)
and against central differences."""

from __future__ import annotations

from itertools import product
from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

from symbackprop.errors import ShapeError, UnsupportedError
from symbackprop.tensors import (
    TENSORS,
    conv2d_index,
    index_latex,
    maxpool_ties,
    pool2d_index,
)

RNG = np.random.default_rng(7)


def loop_conv(x: Any, w: Any, b: Any, s: int, p: int) -> tuple[Any, ...]:
    """Y[n,f,h,v] = b[f] + Σ_{c,i,j} W[f,c,i,j] X̃[n,c,s h+i,s v+j], and with G = 1·dY the
    three gradients, each accumulated entry by entry."""
    n_, c_, h_, w_ = x.shape
    f_, _, kh, kw = w.shape
    xp = np.zeros((n_, c_, h_ + 2 * p, w_ + 2 * p))
    xp[:, :, p:p + h_, p:p + w_] = x
    ho, wo = (h_ + 2 * p - kh) // s + 1, (w_ + 2 * p - kw) // s + 1
    y = np.zeros((n_, f_, ho, wo))
    for n, f, h, v in product(range(n_), range(f_), range(ho), range(wo)):
        y[n, f, h, v] = (0.0 if b is None else b[f]) + sum(
            w[f, c, i, j] * xp[n, c, s * h + i, s * v + j]
            for c, i, j in product(range(c_), range(kh), range(kw)))
    return y, xp, ho, wo


def loop_conv_grads(g: Any, x: Any, w: Any, s: int, p: int) -> tuple[Any, Any, Any]:
    _, xp, ho, wo = loop_conv(x, w, None, s, p)
    dxp, dw, db = np.zeros_like(xp), np.zeros_like(w), np.zeros(w.shape[0])
    for n, f, h, v in product(range(x.shape[0]), range(w.shape[0]), range(ho), range(wo)):
        db[f] += g[n, f, h, v]
        for c, i, j in product(range(w.shape[1]), range(w.shape[2]), range(w.shape[3])):
            dw[f, c, i, j] += g[n, f, h, v] * xp[n, c, s * h + i, s * v + j]
            dxp[n, c, s * h + i, s * v + j] += g[n, f, h, v] * w[f, c, i, j]
    return dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]], dw, db


def loop_pool(x: Any, k: int, s: int, kind: str) -> tuple[Any, Any]:
    """The pooled output and, for G of ones times a random cotangent, the gradient: all of a
    window's gradient to its first maximum (row-major), or shared equally for the average."""
    n_, c_, h_, w_ = x.shape
    ho, wo = (h_ - k) // s + 1, (w_ - k) // s + 1
    g = RNG.standard_normal((n_, c_, ho, wo))
    y, dx = np.zeros((n_, c_, ho, wo)), np.zeros_like(x)
    for n, c, h, v in product(range(n_), range(c_), range(ho), range(wo)):
        taps = [(s * h + i, s * v + j) for i in range(k) for j in range(k)]
        vals = [x[n, c, a, b] for a, b in taps]
        if kind == "max":
            best = vals.index(max(vals))
            y[n, c, h, v] = vals[best]
            dx[n, c, taps[best][0], taps[best][1]] += g[n, c, h, v]
        else:
            y[n, c, h, v] = sum(vals) / len(vals)
            for a, b in taps:
                dx[n, c, a, b] += g[n, c, h, v] / len(vals)
    return y, (g, dx)


def central(f: Any, x: Any, g: Any, eps: float = 1e-6) -> Any:
    d = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = eps
        d[idx] = (np.sum(g * f(x + e)) - np.sum(g * f(x - e))) / (2 * eps)
    return d


@pytest.mark.parametrize(("stride", "padding", "bias"), [(1, 0, True), (2, 1, False), (1, 2, True),
                                                 (3, 0, True)])
def test_conv2d_against_loops_and_differences(stride: int, padding: int, bias: bool) -> None:
    x, w = RNG.standard_normal((2, 3, 7, 6)), RNG.standard_normal((4, 3, 3, 2))
    b = RNG.standard_normal(4) if bias else None
    rule = TENSORS["conv2d"]
    y = rule.forward(x, w, b, stride=stride, padding=padding)
    want, *_ = loop_conv(x, w, b, stride, padding)
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    g = RNG.standard_normal(y.shape)
    grads = rule.vjp(g, y, x, w, b, stride=stride, padding=padding)
    dx, dw, db = loop_conv_grads(g, x, w, stride, padding)
    np.testing.assert_allclose(grads[0], dx, atol=1e-12)
    np.testing.assert_allclose(grads[1], dw, atol=1e-12)
    assert len(grads) == (3 if bias else 2)
    if bias:
        np.testing.assert_allclose(grads[2], db, atol=1e-12)
    np.testing.assert_allclose(grads[0], central(
        lambda v: rule.forward(v, w, b, stride=stride, padding=padding), x, g), atol=1e-6)
    np.testing.assert_allclose(grads[1], central(
        lambda v: rule.forward(x, v, b, stride=stride, padding=padding), w, g), atol=1e-6)


def test_conv2d_rectangular_stride_and_padding() -> None:
    x, w = RNG.standard_normal((1, 2, 6, 7)), RNG.standard_normal((3, 2, 2, 3))
    rule = TENSORS["conv2d"]
    y = rule.forward(x, w, stride=(2, 1), padding=(0, 1))
    assert y.shape == (1, 3, 3, 7)
    g = RNG.standard_normal(y.shape)
    dx, dw = rule.vjp(g, y, x, w, stride=(2, 1), padding=(0, 1))
    f = lambda v: rule.forward(v, w, stride=(2, 1), padding=(0, 1))  # noqa: E731
    np.testing.assert_allclose(dx, central(f, x, g), atol=1e-6)
    np.testing.assert_allclose(
        dw, central(lambda v: rule.forward(x, v, stride=(2, 1), padding=(0, 1)), w, g), atol=1e-6)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(("k", "s"), [(2, 2), (3, 1), (3, 2)])
def test_pooling_against_loops(kind: str, k: int, s: int) -> None:
    x = RNG.standard_normal((2, 3, 7, 8))
    rule = TENSORS[f"{kind}pool2d"]
    y = rule.forward(x, k, s)
    want, (g, dx) = loop_pool(x, k, s, kind)
    np.testing.assert_allclose(y, want, atol=1e-12)
    (got,) = rule.vjp(g, y, x, k, s)
    np.testing.assert_allclose(got, dx, atol=1e-12)
    # off the ties, the gradient is the derivative
    assert not maxpool_ties(x, k, s).any()
    np.testing.assert_allclose(got, central(lambda v: rule.forward(v, k, s), x, g), atol=1e-6)


def test_maxpool_tie_goes_to_the_first_and_is_named() -> None:
    x = np.zeros((1, 1, 2, 4))
    x[0, 0] = [[1.0, 3.0, 5.0, 0.0], [3.0, 2.0, 5.0, 5.0]]
    rule = TENSORS["maxpool2d"]
    (dx,) = rule.vjp(np.ones((1, 1, 1, 2)), None, x, 2)
    assert dx[0, 0].tolist() == [[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    assert maxpool_ties(x, 2).tolist() == [[[[True, True]]]]
    assert rule.nondiff is maxpool_ties
    x[0, 0, 0, 1] = 4.0
    assert maxpool_ties(x, 2).tolist() == [[[[False, True]]]]


@pytest.mark.parametrize(("x", "w", "kw", "match"), [
    ((2, 3, 8), (4, 3, 3, 3), {}, "shape"),
    ((2, 3, 8, 8), (4, 2, 3, 3), {}, "channels"),
    ((2, 3, 2, 8), (4, 3, 3, 3), {}, "does not fit"),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": 0}, "stride"),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"padding": (1, 2, 3)}, "pair"),
    ((2, 3, 8, 8), (4, 3, 3, 3), {"stride": True}, "pair"),
])
def test_conv2d_refusals_are_shape_errors(x: tuple[int, ...], w: tuple[int, ...],
                                          kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ShapeError, match=match):
        TENSORS["conv2d"].forward(np.zeros(x), np.zeros(w), **kw)


def test_pool_refusals_are_shape_errors() -> None:
    with pytest.raises(ShapeError, match="N, C, H, W"):
        TENSORS["maxpool2d"].forward(np.zeros((3, 4, 4)), 2)
    with pytest.raises(ShapeError, match="does not fit"):
        TENSORS["avgpool2d"].forward(np.zeros((1, 1, 4, 1)), 2)
    with pytest.raises(ShapeError, match="size"):
        TENSORS["avgpool2d"].forward(np.zeros((1, 1, 4, 4)), 0)


def test_conv2d_bias_needs_one_entry_per_filter() -> None:
    with pytest.raises(ShapeError, match="one entry per filter"):
        TENSORS["conv2d"].forward(np.zeros((1, 2, 4, 4)), np.zeros((3, 2, 2, 2)), np.zeros(2))


def full_correlation_rot180(g: Any, w: Any) -> Any:
    """Σ_f (G_{n,f} ⋆_full rot180(W_{f,c})): G padded by k−1 on each side, correlated with
    the kernel turned by 180°, by loops (the stride-1 line of the index notation)."""
    n_, f_, ho, wo = g.shape
    _, c_, kh, kw = w.shape
    gp = np.zeros((n_, f_, ho + 2 * (kh - 1), wo + 2 * (kw - 1)))
    gp[:, :, kh - 1:kh - 1 + ho, kw - 1:kw - 1 + wo] = g
    rot = w[:, :, ::-1, ::-1]
    out = np.zeros((n_, c_, ho + kh - 1, wo + kw - 1))
    for n, c, u, v in product(range(n_), range(c_), range(out.shape[2]), range(out.shape[3])):
        out[n, c, u, v] = np.sum(gp[n, :, u:u + kh, v:v + kw] * rot[:, c])
    return out


def test_stride_one_input_gradient_is_the_full_correlation_with_rot180() -> None:
    x, w = RNG.standard_normal((2, 3, 6, 5)), RNG.standard_normal((4, 3, 3, 2))
    rule = TENSORS["conv2d"]
    y = rule.forward(x, w, padding=1)
    g = RNG.standard_normal(y.shape)
    dx, _ = rule.vjp(g, y, x, w, padding=1)
    np.testing.assert_allclose(full_correlation_rot180(g, w)[:, :, 1:-1, 1:-1], dx, atol=1e-12)
    _, back = conv2d_index("Y", "X", "W", padding=1)
    assert any(r"\operatorname{rot180}" in rhs for _, rhs in back)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), ((2, 3), (0, 1))])
def test_conv_index_notation_reads_the_geometry(stride: Any, padding: Any) -> None:
    fwd, back = conv2d_index("Y", "X", "W", "b", stride=stride, padding=padding)
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    padded = padding != 0
    tap = (f"{sh}h+i" if sh > 1 else "h+i", f"{sw}w+j" if sw > 1 else "w+j")
    assert f"_{{n,c,{tap[0]},{tap[1]}}}" in fwd[-1][1]
    assert (r"\tilde{\mathbf{X}}" in fwd[-1][1]) == padded
    assert len(fwd) == 1 + padded
    assert len(back) == 3 + padded  # W, b, X-tilde, and X when padded
    assert any(r"\operatorname{rot180}" in rhs for _, rhs in back) == (sh == sw == 1)


def test_index_notation_is_valid_latex() -> None:
    blocks = [index_latex(*conv2d_index("Y", "X", "W", "b", stride=s, padding=p))
              for s, p in [(1, 0), (2, 1)]]
    blocks += [index_latex(*pool2d_index(k, "P", "Y", 3, 2)) for k in ("max", "avg")]
    assert_latex_ok(blocks)


def test_index_notation_refuses_other_names_and_kinds() -> None:
    with pytest.raises(UnsupportedError, match="letters"):
        conv2d_index("Y_1", "X", "W")
    with pytest.raises(UnsupportedError, match="max"):
        pool2d_index("min", "P", "Y")


def test_the_tensors_page_is_what_the_code_prints() -> None:
    """docs/tensors.md: rebuilt (``tools.tensors`` raises when its numeric check fails), the
    committed page the same, its math accepted by KaTeX and pdflatex."""
    from tools.tensors import PAGE, latex_blocks, page
    fresh = page()
    assert fresh == PAGE.read_text(encoding="utf-8"), "run python -m tools.tensors"
    blocks = latex_blocks(fresh)
    assert len(blocks) == 2  # the conv + pool layer and multi-head attention
    assert_latex_ok(blocks)


def test_against_pytorch() -> None:
    """A fourth witness where PyTorch is installed: conv2d, both poolings (a tied window
    included: the gradient goes where PyTorch sends it) and spatial batch normalisation,
    forward and backward, against torch.nn.functional and autograd."""
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional
    x, w, b = RNG.standard_normal((2, 3, 7, 6)), RNG.standard_normal((4, 3, 3, 2)), \
        RNG.standard_normal(4)
    x[0, 0, 0, :2] = 5.0  # a tie in the first 2x2 window of maxpool(x)
    assert maxpool_ties(x, 2)[0, 0, 0, 0]
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    cases = [
        ("conv2d", (x, w, b), {"stride": 2, "padding": 1}, (tx, tw, tb),
         lambda: fn.conv2d(tx, tw, tb, stride=2, padding=1)),
        ("maxpool2d", (x,), {"size": 2}, (tx,), lambda: fn.max_pool2d(tx, 2)),
        ("maxpool2d", (x,), {"size": 3, "stride": 1}, (tx,), lambda: fn.max_pool2d(tx, 3, 1)),
        ("avgpool2d", (x,), {"size": 3, "stride": 2}, (tx,), lambda: fn.avg_pool2d(tx, 3, 2)),
        ("batchnorm2d", (x, b[:3], w[0, :, 0, 0]), {},
         (tx,), lambda: fn.batch_norm(tx, None, None, torch.tensor(b[:3]),
                                      torch.tensor(w[0, :, 0, 0]), training=True)),
    ]
    for name, args, params, leaves, run in cases:
        rule = TENSORS[name]
        y = rule.forward(*args, **params)
        ty = run()  # type: ignore[no-untyped-call]
        np.testing.assert_allclose(y, ty.detach().numpy(), atol=1e-10, err_msg=name)
        g = RNG.standard_normal(y.shape)
        for t in leaves:
            t.grad = None
        ty.backward(torch.tensor(g))
        grads = rule.vjp(g, y, *args, **params)
        for got, t in zip(grads, leaves, strict=False):
            np.testing.assert_allclose(got, t.grad.numpy(), atol=1e-10, err_msg=name)
