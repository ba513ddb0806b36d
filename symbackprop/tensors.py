"""The n-D primitives of the numeric side: ``conv2d``, ``maxpool2d``, ``avgpool2d``,
``einsum``, ``transpose``, ``reshape``, ``flatten``, ``softmax`` along an axis and spatial
``batchnorm2d`` — each one ``Rule`` (``TENSORS``) with a NumPy forward and a VJP written by
hand; convolution and pooling also in index notation (``conv2d_index``, ``pool2d_index``).

They are not in ``rules.RULES`` yet: the front ends and the grouping are still rank 2
(``shapes.py``), so no text spells them; tests and ``benchmarks/bench_conv.py`` call them.

Layouts are the frameworks': NCHW for images, (F, C, kh, kw) for filters, cross-correlation
(no kernel flip). Convolution runs as im2col (the columns copied tap by tap, one matrix
product each way); the VJP of an einsum is an einsum with the output's indices put in the
operand's place; max pooling sends each gradient to the first maximum of its window, as
PyTorch and JAX do, and ``maxpool_ties`` says where a window's maximum is not unique (a kink).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .errors import ShapeError, UnsupportedError
from .rule import Array, Rule


def _pair(v: Any, what: str) -> tuple[int, int]:
    """A stride, padding or size: one int for both axes, or (height, width)."""
    items = (v, v) if isinstance(v, (int, np.integer)) else \
        tuple(v) if isinstance(v, (tuple, list)) else ()
    if len(items) != 2 or not all(isinstance(i, (int, np.integer)) and not isinstance(i, bool)
                                  for i in items):
        raise ShapeError(f"{what} must be an int or a pair of ints, not {v!r}")
    return int(items[0]), int(items[1])


def _windows(x: Array, kh: int, kw: int, sh: int, sw: int) -> Array:
    """The (N, C, Ho, Wo, kh, kw) view of x's windows, no copy."""
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


def _out_size(n: int, k: int, s: int, p: int, what: str) -> int:
    if s < 1 or p < 0:
        raise ShapeError(f"{what}: stride must be ≥ 1 and padding ≥ 0")
    if n + 2 * p < k:
        raise ShapeError(f"{what}: a window of {k} does not fit an axis of {n} (padding {p})")
    return (n + 2 * p - k) // s + 1


def _pad(x: Array, ph: int, pw: int) -> Array:
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x


# ---------------------------------------------------------------------------------------
# Convolution: Y[n,f,h,w] = b[f] + Σ_{c,i,j} W[f,c,i,j] X̃[n,c,s_h h+i,s_w w+j]


def conv2d_shape(x: tuple[int, ...], w: tuple[int, ...], stride: Any = 1, padding: Any = 0
                 ) -> tuple[int, int, int, int]:
    """The output's shape, or a ``ShapeError`` saying why the operands do not fit."""
    if len(x) != 4 or len(w) != 4:
        raise ShapeError(f"conv2d takes X of shape (N, C, H, W) and W of shape (F, C, kh, kw), "
                         f"not {x} and {w}")
    if x[1] != w[1]:
        raise ShapeError(f"conv2d: X has {x[1]} channels but W expects {w[1]}")
    (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
    return (x[0], w[0], _out_size(x[2], w[2], sh, ph, "conv2d"),
            _out_size(x[3], w[3], sw, pw, "conv2d"))


def _taps(kh: int, kw: int, sh: int, sw: int, ho: int, wo: int
          ) -> Iterator[tuple[int, int, tuple[slice, ...]]]:
    """Each tap (i, j) of the window with the slices of X̃ it reads for all outputs."""
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(None), slice(i, i + sh * (ho - 1) + 1, sh),
                         slice(j, j + sw * (wo - 1) + 1, sw))


def _im2col(xp: Array, kh: int, kw: int, sh: int, sw: int, ho: int, wo: int) -> Array:
    """cols[(c,i,j), (n,h,w)] = X̃[n,c,s_h h+i,s_w w+j], copied tap by tap (each copy a
    strided block, so it runs at memory speed)."""
    n, c = xp.shape[:2]
    cols = np.empty((c, kh, kw, n, ho, wo))
    for i, j, at in _taps(kh, kw, sh, sw, ho, wo):
        cols[:, i, j] = xp[at].transpose(1, 0, 2, 3)
    return cols.reshape(c * kh * kw, n * ho * wo)


def _geometry(x: Array, w: Array, stride: Any, padding: Any) -> tuple[int, ...]:
    _, _, ho, wo = conv2d_shape(np.shape(x), np.shape(w), stride, padding)
    return (*_pair(stride, "stride"), *_pair(padding, "padding"), ho, wo)


def conv2d(x: Array, w: Array, b: Array | None = None, stride: Any = 1, padding: Any = 0
           ) -> Array:
    sh, sw, ph, pw, ho, wo = _geometry(x, w, stride, padding)
    w = np.asarray(w, dtype=float)
    f, _, kh, kw = w.shape
    cols = _im2col(_pad(np.asarray(x, dtype=float), ph, pw), kh, kw, sh, sw, ho, wo)
    y = np.reshape(w, (f, -1)) @ cols  # (F, N·Ho·Wo)
    if b is not None:
        if np.size(b) != f:
            raise ShapeError(f"conv2d: b needs one entry per filter ({f}), not {np.shape(b)}")
        y += np.reshape(b, (-1, 1))
    return np.ascontiguousarray(y.reshape(f, -1, ho, wo).transpose(1, 0, 2, 3))


def conv2d_vjp(g: Array, out: Array, x: Array, w: Array, b: Array | None = None,
               stride: Any = 1, padding: Any = 0) -> tuple[Array, ...]:
    """∂L/∂W[f,c,i,j] = Σ_{n,h,w} G[n,f,h,w] X̃[n,c,s_h h+i,s_w w+j] (G times the columns);
    ∂L/∂X̃ is Wᵀ G, the columns' cotangent, added back onto the windows they came from
    (col2im), the padding cut off; ∂L/∂b[f] = Σ_{n,h,w} G[n,f,h,w]."""
    sh, sw, ph, pw, ho, wo = _geometry(x, w, stride, padding)
    w = np.asarray(w, dtype=float)
    f, c, kh, kw = w.shape
    xp = _pad(np.asarray(x, dtype=float), ph, pw)
    g2 = np.ascontiguousarray(np.transpose(g, (1, 0, 2, 3))).reshape(f, -1)
    dw = (g2 @ _im2col(xp, kh, kw, sh, sw, ho, wo).T).reshape(w.shape)
    dcols = (np.reshape(w, (f, -1)).T @ g2).reshape(c, kh, kw, -1, ho, wo)
    dxp = np.zeros_like(xp)
    for i, j, at in _taps(kh, kw, sh, sw, ho, wo):
        dxp[at] += dcols[:, i, j].transpose(1, 0, 2, 3)
    dx = dxp[:, :, ph:xp.shape[2] - ph, pw:xp.shape[3] - pw]
    grads: tuple[Array, ...] = (dx, dw)
    if b is not None:
        grads += (g2.sum(axis=1).reshape(np.shape(b)),)
    return grads


# ---------------------------------------------------------------------------------------
# Pooling


def pool2d_shape(x: tuple[int, ...], size: Any, stride: Any = None) -> tuple[int, int, int, int]:
    if len(x) != 4:
        raise ShapeError(f"pooling takes X of shape (N, C, H, W), not {x}")
    kh, kw = _pair(size, "size")
    sh, sw = _pair(size if stride is None else stride, "stride")
    if kh < 1 or kw < 1:
        raise ShapeError("pooling: the window size must be ≥ 1")
    return (x[0], x[1], _out_size(x[2], kh, sh, 0, "pooling"),
            _out_size(x[3], kw, sw, 0, "pooling"))


def _pool_windows(x: Array, size: Any, stride: Any
                  ) -> tuple[Array, tuple[int, int, int, int]]:
    pool2d_shape(np.shape(x), size, stride)
    kh, kw = _pair(size, "size")
    sh, sw = _pair(size if stride is None else stride, "stride")
    return _windows(np.asarray(x, dtype=float), kh, kw, sh, sw), (kh, kw, sh, sw)


def maxpool2d(x: Array, size: Any = 2, stride: Any = None) -> Array:
    win, _ = _pool_windows(x, size, stride)
    return win.max(axis=(4, 5))


def _scatter(x: Array, per_tap: Any, geometry: tuple[int, int, int, int], ho: int, wo: int
             ) -> Array:
    """Σ over the window's taps (i, j) of ``per_tap(i, j)`` (an (N, C, Ho, Wo) array) added
    where that tap read X: the adjoint of taking windows (overlapping windows add)."""
    kh, kw, sh, sw = geometry
    dx = np.zeros(np.shape(x))
    for i, j, at in _taps(kh, kw, sh, sw, ho, wo):
        dx[at] += per_tap(i, j)
    return dx


def maxpool2d_vjp(g: Array, out: Array, x: Array, size: Any = 2, stride: Any = None
                  ) -> tuple[Array, ...]:
    """Each window's gradient goes to its first maximum (row-major order in the window)."""
    win, geometry = _pool_windows(x, size, stride)
    kh, kw = geometry[:2]
    first = win.reshape(*win.shape[:4], kh * kw).argmax(axis=4)
    ho, wo = g.shape[2], g.shape[3]
    return (_scatter(x, lambda i, j: np.where(first == i * kw + j, g, 0.0), geometry, ho, wo),)


def maxpool_ties(x: Array, size: Any = 2, stride: Any = None) -> Array:
    """True where a window's maximum is taken more than once: max pooling has a kink there
    (the gradient is the first maximum's by convention, not a derivative)."""
    win, _ = _pool_windows(x, size, stride)
    top = win.max(axis=(4, 5), keepdims=True)
    return (win == top).sum(axis=(4, 5)) > 1  # type: ignore[no-any-return]


def avgpool2d(x: Array, size: Any = 2, stride: Any = None) -> Array:
    win, _ = _pool_windows(x, size, stride)
    return win.mean(axis=(4, 5))


def avgpool2d_vjp(g: Array, out: Array, x: Array, size: Any = 2, stride: Any = None
                  ) -> tuple[Array, ...]:
    _, geometry = _pool_windows(x, size, stride)
    share = g / (geometry[0] * geometry[1])
    return (_scatter(x, lambda i, j: share, geometry, g.shape[2], g.shape[3]),)


# ---------------------------------------------------------------------------------------
# einsum: the VJP of operand k is an einsum of the cotangent and the other operands with
# the output's indices in operand k's place: for C = einsum("ij,jk->ik", A, B),
# ∂L/∂A = einsum("ik,jk->ij", G, B).

_SPEC = re.compile(r"([a-z]*(?:,[a-z]*)*)->([a-z]*)\Z")


def explicit_spec(spec: str, ranks: tuple[int, ...]) -> str:
    """NumPy's shorter ways of writing subscripts, as the explicit form the derivation
    prints: without ``->`` the output is the indices used once, in alphabetical order
    (``'ij,jk'`` is ``'ij,jk->ik'``); ``...`` stands for the axes an operand's letters leave,
    aligned from the right and written with letters the spec does not use (``'...ij,...jk'``
    of two rank-3 operands is ``'aij,ajk->aik'``). Anything else is left for
    ``einsum_spec`` to refuse."""
    if not isinstance(spec, str):
        return spec
    s = spec.replace(" ", "")
    lhs, arrow, out = s.partition("->")
    parts = lhs.split(",")
    if len(parts) != len(ranks) or s.count("->") > 1 or any(
            p.count("...") > 1 or "." in p.replace("...", "") for p in (*parts, out)):
        return spec
    ell = ""
    if "..." in s:
        left = [r - len(p.replace("...", "")) for p, r in zip(parts, ranks, strict=True)
                if "..." in p]
        free = [c for c in "abcdefghijklmnopqrstuvwxyz" if c not in s]
        width = max(left, default=0)
        if min(left, default=0) < 0 or width > len(free):
            return spec
        ell = "".join(free[:width])
        parts = [p.replace("...", ell[width - (r - len(p) + 3):]) if "..." in p else p
                 for p, r in zip(parts, ranks, strict=True)]
        if arrow and "..." not in out and width > 0:  # NumPy's rule
            raise ShapeError(f"einsum {spec!r}: '...' stands for {width} "
                             f"ax{'is' if width == 1 else 'es'} here, and NumPy refuses an "
                             "output without '...' then: keep them in the output with "
                             f"'...', or name them to sum them ('{','.join(parts)}->{out}')")
        out = out.replace("...", ell) if arrow else out
    if not arrow:
        letters = "".join(parts)
        out = ell + "".join(sorted(c for c in set(letters) - set(ell)
                                   if letters.count(c) == 1))
    return ",".join(parts) + "->" + out


def einsum_spec(spec: str, ranks: tuple[int, ...]) -> tuple[list[str], str]:
    """The operands' and the output's index letters, or why the spec is refused: explicit
    ``->`` only, one lowercase letter per axis, no ellipsis, every output index bound by an
    operand and used once. An index repeated within one operand reads its diagonal
    (``'ii->i'``, ``'ij,jj->i'``), as NumPy's does."""
    m = _SPEC.match(spec.replace(" ", "")) if isinstance(spec, str) else None
    if m is None:
        raise UnsupportedError(f"einsum spec {spec!r}: write 'ij,jk->ik' or 'ij,jk' "
                               "(lowercase letters, '...' at most once an operand)")
    ins, out = m.group(1).split(","), m.group(2)
    if len(ins) != len(ranks):
        raise ShapeError(f"einsum {spec!r} names {len(ins)} operands but has {len(ranks)}")
    for s, r in zip(ins, ranks, strict=True):
        if len(s) != r:
            raise ShapeError(f"einsum {spec!r}: {s!r} has {len(s)} indices for rank {r}")
    if len(set(out)) != len(out) or not set(out) <= set("".join(ins)):
        raise ShapeError(f"einsum {spec!r}: each output index once, each bound by an operand")
    return ins, out


def _einsum_sizes(spec: str, ins: list[str], xs: tuple[Array, ...]) -> None:
    sizes: dict[str, int] = {}
    for s, x in zip(ins, xs, strict=True):
        for c, n in zip(s, np.shape(x), strict=True):
            if sizes.setdefault(c, n) != n:
                raise ShapeError(f"einsum {spec!r}: index {c} has sizes {sizes[c]} and {n}")


def einsum(spec: str, *xs: Array) -> Array:
    spec = explicit_spec(spec, tuple(np.ndim(x) for x in xs))
    ins, out = einsum_spec(spec, tuple(np.ndim(x) for x in xs))
    _einsum_sizes(spec, ins, xs)
    return np.einsum(f"{','.join(ins)}->{out}", *xs, optimize=len(xs) > 2)


def einsum_vjp(g: Array, out: Array, spec: str, *xs: Array) -> tuple[Array, ...]:
    spec = explicit_spec(spec, tuple(np.ndim(x) for x in xs))
    ins, res = einsum_spec(spec, tuple(np.ndim(x) for x in xs))
    grads = []
    for k, s in enumerate(ins):
        others = [(t, x) for i, (t, x) in enumerate(zip(ins, xs, strict=True)) if i != k]
        letters = set(res).union(*(set(t) for t, _ in others))
        once = "".join(dict.fromkeys(s))  # a repeated index: the diagonal it reads
        kept = "".join(c for c in once if c in letters)  # an index of x_k alone is broadcast
        d = np.einsum(",".join([res, *(t for t, _ in others)]) + "->" + kept,
                      g, *(x for _, x in others))
        size = dict(zip(s, np.shape(xs[k]), strict=True))
        if kept != once:  # put the missing axes where once has them, then fill them
            d = np.broadcast_to(np.expand_dims(d, [i for i, c in enumerate(once)
                                                   if c not in kept]),
                                tuple(size[c] for c in once))
        if once != s:  # only the diagonal was read: the rest of x_k has no gradient
            full = np.zeros(np.shape(xs[k]))
            np.einsum(f"{s}->{once}", full)[...] = d  # NumPy's diagonal view is writeable
            d = full
        grads.append(np.array(d, dtype=float))
    return tuple(grads)


# ---------------------------------------------------------------------------------------
# Moving entries: transpose, reshape, flatten


def _axes(x: Array, axes: Any) -> tuple[int, ...]:
    """The permutation, NumPy's default (all axes reversed) for None; else why not."""
    rank = np.ndim(x)
    if axes is None:
        return tuple(reversed(range(rank)))
    items = tuple(axes) if isinstance(axes, (tuple, list)) else ()
    if sorted(int(a) % rank if isinstance(a, (int, np.integer)) and -rank <= a < rank else -1
              for a in items) != list(range(rank)):
        raise ShapeError(f"transpose: axes {axes!r} are not a permutation of {rank} axes")
    return tuple(int(a) % rank for a in items)


def transpose(x: Array, axes: Any = None) -> Array:
    return np.transpose(x, _axes(x, axes))


def reshape(x: Array, shape: Any) -> Array:
    items = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    size = np.size(x)
    ok = all(isinstance(d, (int, np.integer)) and (d > 0 or d == -1) for d in items) \
        and items.count(-1) <= 1
    known = int(np.prod([d for d in items if d != -1], dtype=int)) if ok else 0
    if not ok or (size % known if -1 in items else size != known):
        raise ShapeError(f"reshape: {np.shape(x)} ({size} entries) cannot become {shape!r}")
    return np.reshape(x, items)


def transpose_vjp(g: Array, out: Array, x: Array, axes: Any = None) -> tuple[Array, ...]:
    return (np.transpose(g, np.argsort(_axes(x, axes))),)


def flatten(x: Array, start: int = 1) -> Array:
    """The axes from ``start`` on made one (``nn.Flatten``'s default keeps the batch axis)."""
    s = np.shape(x)
    if not isinstance(start, (int, np.integer)) or not 0 <= start < max(len(s), 1):
        raise ShapeError(f"flatten: start {start!r} is not an axis of a rank-{len(s)} array")
    return np.reshape(x, (*s[:start], int(np.prod(s[start:], dtype=int))))


# ---------------------------------------------------------------------------------------
# Along an axis: the softmax (multi-head attention's, axis=-1) and spatial batch
# normalisation (statistics over axes (0, 2, 3), one per channel)


def softmax(x: Array, axis: int = -1) -> Array:
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_vjp(g: Array, out: Array, x: Array, axis: int = -1) -> tuple[Array, ...]:
    """∂L/∂S = A ⊙ (∂L/∂A − Σ_axis(∂L/∂A ⊙ A)), A the softmax (recomputed when not given)."""
    a = softmax(x, axis) if out is None else out
    return (a * (g - np.sum(g * a, axis=axis, keepdims=True)),)


def _bn_stats(x: Array, eps: float) -> tuple[Array, Array]:
    if np.ndim(x) != 4:
        raise ShapeError(f"batchnorm2d takes X of shape (N, C, H, W), not {np.shape(x)}")
    mu = x.mean(axis=(0, 2, 3), keepdims=True)
    sigma = np.sqrt(x.var(axis=(0, 2, 3), keepdims=True) + eps)
    return (x - mu) / sigma, sigma


def _per_channel(v: Array, c: int, what: str) -> Array:
    if np.size(v) != c:
        raise ShapeError(f"batchnorm2d: {what} needs one entry per channel ({c}), "
                         f"not shape {np.shape(v)}")
    return np.reshape(v, (1, c, 1, 1))


def batchnorm2d(x: Array, gamma: Array, beta: Array, eps: float = 1e-5) -> Array:
    """Y = γ_c X̂ + β_c, X̂ standardised per channel over the batch and the image (training
    mode, the biased variance, as the frameworks)."""
    xhat, _ = _bn_stats(np.asarray(x, dtype=float), eps)
    c = xhat.shape[1]
    return _per_channel(gamma, c, "gamma") * xhat + _per_channel(beta, c, "beta")


def batchnorm2d_vjp(g: Array, out: Array, x: Array, gamma: Array, beta: Array,
                    eps: float = 1e-5) -> tuple[Array, ...]:
    """The compact form over the M = N·H·W entries of a channel: ∂L/∂X = (1/M) σ⁻¹ ⊙
    (M ∂L/∂X̂ − Σ ∂L/∂X̂ − X̂ ⊙ Σ(∂L/∂X̂ ⊙ X̂)), ∂L/∂X̂ = γ ∂L/∂Y; ∂L/∂γ = Σ ∂L/∂Y ⊙ X̂;
    ∂L/∂β = Σ ∂L/∂Y (sums over axes 0, 2, 3)."""
    xhat, sigma = _bn_stats(np.asarray(x, dtype=float), eps)
    m = xhat.size // xhat.shape[1]
    dxhat = g * _per_channel(gamma, xhat.shape[1], "gamma")
    axes = (0, 2, 3)
    dx = (m * dxhat - dxhat.sum(axis=axes, keepdims=True)
          - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True)) / (m * sigma)
    return (dx, (g * xhat).sum(axis=axes).reshape(np.shape(gamma)),
            g.sum(axis=axes).reshape(np.shape(beta)))


TENSORS: dict[str, Rule] = {
    "conv2d": Rule("conv2d", forward=conv2d, vjp=conv2d_vjp, latex=r"\operatorname{conv2d}",
                   arity=0),
    "maxpool2d": Rule("maxpool2d", forward=maxpool2d, vjp=maxpool2d_vjp, nondiff=maxpool_ties,
                      latex=r"\operatorname{maxpool}", arity=0,
                      domain="differentiable where each window's maximum is unique"),
    "avgpool2d": Rule("avgpool2d", forward=avgpool2d, vjp=avgpool2d_vjp,
                      latex=r"\operatorname{avgpool}", arity=0),
    "einsum": Rule("einsum", forward=einsum, vjp=einsum_vjp, arity=0, code="np.einsum"),
    "transpose": Rule("transpose", forward=transpose,
                      vjp=transpose_vjp, arity=0, code="np.transpose"),
    "reshape": Rule("reshape", forward=reshape,
                    vjp=lambda g, out, x, shape: (np.reshape(g, np.shape(x)),), arity=0,
                    code="np.reshape"),
    "softmax": Rule("softmax", forward=softmax, vjp=softmax_vjp, arity=0),
    "batchnorm2d": Rule("batchnorm2d", forward=batchnorm2d, vjp=batchnorm2d_vjp, arity=0),
    "flatten": Rule("flatten", forward=flatten,
                    vjp=lambda g, out, x, start=1: (np.reshape(g, np.shape(x)),), arity=0),
}


# ---------------------------------------------------------------------------------------
# Index notation: each rule's forward and backward equations, sums written out (no Einstein
# convention), in the derivations' LaTeX (bold names, ∂L/∂· for a cotangent).

Equation = tuple[str, str]  # (left-hand side, right-hand side), LaTeX
_LETTERS = re.compile(r"[A-Za-z]+\Z")


def _t(name: str, idx: str = "") -> str:
    if not _LETTERS.match(name):
        raise UnsupportedError(f"index notation takes names of letters only, not {name!r}")
    return rf"\mathbf{{{name}}}_{{{idx}}}" if idx else rf"\mathbf{{{name}}}"


def _adj(name: str, idx: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {_t(name, idx)}}}"


def _at(s: int, var: str, tap: str) -> str:
    """The input row of output row ``var`` at tap ``tap``: s·var + tap."""
    return f"{var}+{tap}" if s == 1 else f"{s}{var}+{tap}"


def conv2d_index(out: str, x: str, w: str, b: str | None = None, stride: Any = 1,
                 padding: Any = 0) -> tuple[list[Equation], list[Equation]]:
    """Y_{n,f,h,w} = b_f + Σ_{c,i,j} W_{f,c,i,j} X̃_{n,c,s h+i,s w+j}, then the three
    cotangents; for stride 1, ∂L/∂X̃ is also the full correlation with W turned by 180°."""
    (sh, sw), (ph, pw) = _pair(stride, "stride"), _pair(padding, "padding")
    xt = rf"\tilde{{{_t(x)}}}" if ph or pw else _t(x)
    xin = rf"{xt}_{{n,c,{_at(sh, 'h', 'i')},{_at(sw, 'w', 'j')}}}"
    fwd: list[Equation] = []
    if ph or pw:
        fwd.append((xt, rf"\operatorname{{pad}}_{{{ph},{pw}}}\left({_t(x)}\right)"))
    bias = f"{_t(b, 'f')} + " if b else ""
    fwd.append((_t(out, "n,f,h,w"), rf"{bias}\sum_{{c,i,j}} {_t(w, 'f,c,i,j')}\, {xin}"))
    eqs: list[Equation] = []
    g = _adj(out, "n,f,h,w")
    eqs.append((_adj(w, "f,c,i,j"), rf"\sum_{{n,h,w}} {g}\, {xin}"))
    if b:
        eqs.append((_adj(b, "f"), rf"\sum_{{n,h,w}} {g}"))
    lhs = rf"\frac{{\partial L}}{{\partial {xt}_{{n,c,u,v}}}}"
    rhs = (rf"\sum_{{f}} \sum_{{\substack{{h,i:\ {_at(sh, 'h', 'i')}=u \\ "
           rf"w,j:\ {_at(sw, 'w', 'j')}=v}}}} {g}\, {_t(w, 'f,c,i,j')}")
    if sh == sw == 1:
        rhs += (rf" = \sum_{{f}} \left(\frac{{\partial L}}{{\partial {_t(out, 'n,f')}}} "
                rf"\star_{{\text{{full}}}} \operatorname{{rot180}}\left({_t(w, 'f,c')}\right)"
                rf"\right)_{{u,v}}")
    eqs.append((lhs, rhs))
    if ph or pw:
        eqs.append((_adj(x, "n,c,u,v"),
                    rf"\frac{{\partial L}}{{\partial {xt}_{{n,c,u+{ph},v+{pw}}}}}"))
    return fwd, eqs


def pool2d_index(kind: str, out: str, x: str, size: Any = 2, stride: Any = None
                 ) -> tuple[list[Equation], list[Equation]]:
    """P_{n,c,h,w} = max (or mean) of X over the window at (s h, s w); max pooling's
    cotangent goes to a_{n,c,h,w}, the window's first maximum in row-major order."""
    kh, kw = _pair(size, "size")
    sh, sw = _pair(size if stride is None else stride, "stride")
    xin = rf"{_t(x)}_{{n,c,{_at(sh, 'h', 'i')},{_at(sw, 'w', 'j')}}}"
    win = rf"0 \le i < {kh},\ 0 \le j < {kw}"
    g = _adj(out, "n,c,h,w")
    hit = rf"\substack{{h,i:\ {_at(sh, 'h', 'i')}=u \\ w,j:\ {_at(sw, 'w', 'j')}=v}}"
    if kind == "max":
        first = (rf"\operatorname*{{argmax}}_{{(i,j):\ {win}}} {xin}"
                 rf"\ \text{{(the first in row-major order)}}")
        return ([(_t(out, "n,c,h,w"), rf"\max_{{{win}}} {xin}"),
                 (r"\mathbf{a}_{n,c,h,w}", first)],
                [(_adj(x, "n,c,u,v"), rf"\sum_{{{hit}}} {g}\, "
                  r"\mathbf{1}\left[{(i,j) = \mathbf{a}_{n,c,h,w}}\right]")])
    if kind != "avg":
        raise UnsupportedError(f"pooling is 'max' or 'avg', not {kind!r}")
    return ([(_t(out, "n,c,h,w"), rf"\frac{{1}}{{{kh * kw}}} \sum_{{{win}}} {xin}")],
            [(_adj(x, "n,c,u,v"), rf"\frac{{1}}{{{kh * kw}}} \sum_{{{hit}}} {g}")])


def diagonal_indices(s: str) -> tuple[str, str]:
    r"""An operand's indices for its cotangent, and the Kronecker deltas that put it on the
    diagonal an index repeated in ``s`` read: ``"ii"`` → ``("i,i'", r"\delta_{ii'}")`` —
    the entries off the diagonal have no gradient."""
    seen: dict[str, int] = {}
    idx, deltas = [], []
    for c in s:
        if c in seen:
            seen[c] += 1
            idx.append(c + "'" * (seen[c] - 1))
            deltas.append(rf"\delta_{{{c}{idx[-1]}}}")
        else:
            seen[c] = 1
            idx.append(c)
    return ",".join(idx), r"\, ".join(deltas)


def einsum_index(spec: str, out: str, operands: tuple[str, ...]
                 ) -> tuple[list[Equation], list[Equation]]:
    """The einsum written out, O_{..} = Σ_{summed} Π operands, and each operand's cotangent:
    the same product with ∂L/∂O in the operand's place, summed over the indices it lacks."""
    parts = spec.replace(" ", "").split("->")[0].split(",") if isinstance(spec, str) else []
    ins, res = einsum_spec(spec, tuple(len(t) for t in parts))
    if len(operands) != len(ins):
        raise ShapeError(f"einsum {spec!r} takes {len(ins)} operands, not {len(operands)} names")

    def line(factors: list[str], letters: str, keep: str) -> str:
        summed = "".join(dict.fromkeys(c for c in letters if c not in keep))
        body = r"\, ".join(factors)
        return rf"\sum_{{{','.join(summed)}}} {body}" if summed else body

    fwd = [(_t(out, ",".join(res)), line([_t(n, ",".join(t)) for n, t in zip(
        operands, ins, strict=True)], "".join(ins), res))]
    back = []
    for k, (name, s) in enumerate(zip(operands, ins, strict=True)):
        others = [(n, t) for i, (n, t) in enumerate(zip(operands, ins, strict=True)) if i != k]
        factors = [_adj(out, ",".join(res))]
        factors += [_t(n, ",".join(t)) for n, t in others]
        letters = res + "".join(t for _, t in others)
        idx, deltas = diagonal_indices(s)
        back.append((_adj(name, idx), (f"{deltas}\\, " if deltas else "")
                     + line(factors, letters, s)))
    return fwd, back


def softmax_index(out: str, x: str, lead: str, axis: str
                  ) -> tuple[list[Equation], list[Equation]]:
    """The softmax along the index ``axis`` (the others, ``lead``, fixed) and its VJP,
    ∂L/∂S = A ⊙ (∂L/∂A − Σ_axis ∂L/∂A ⊙ A), with a primed index for the sum."""
    if not re.fullmatch(r"[a-z]*", lead) or not re.fullmatch(r"[a-z]", axis) or axis in lead:
        raise UnsupportedError(f"softmax_index: indices {lead!r} and {axis!r}")
    at, sums = ",".join([*lead, axis]), ",".join([*lead, axis + "'"])
    fwd = [(_t(out, at), rf"\frac{{\exp {_t(x, at)}}}{{\sum_{{{axis}'}} \exp {_t(x, sums)}}}")]
    back = [(_adj(x, at), rf"{_t(out, at)} \left({_adj(out, at)} - \sum_{{{axis}'}} "
             rf"{_adj(out, sums)}\, {_t(out, sums)}\right)")]
    return fwd, back


def index_latex(forward: list[Equation], backward: list[Equation]) -> str:
    """One ``aligned`` block, as the derivations lay out theirs: forward, then backward."""
    rows = [r"&\textbf{forward} \\"]
    rows += [rf"{lhs} &= {rhs} \\" for lhs, rhs in forward]
    rows[-1] += "[6pt]"
    rows.append(r"&\textbf{backward} \\")
    rows += [rf"{lhs} &= {rhs} \\" for lhs, rhs in backward]
    rows[-1] = rows[-1][:-3]
    return "\\begin{aligned}\n  " + "\n  ".join(rows) + "\n\\end{aligned}"
