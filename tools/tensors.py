"""Build docs/tensors.md: a convolution and max-pooling layer in index notation, printed by
``symbackprop.tensors`` and checked in numbers when the page is built.

    python -m tools.tensors            # writes docs/tensors.md

``tests/test_conv.py`` rebuilds the page and fails when the committed one differs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from symbackprop.tensors import (
    TENSORS,
    conv2d_index,
    einsum_index,
    index_latex,
    pool2d_index,
    softmax_index,
)

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "tensors.md"
SIZES = {"N": 2, "C": 3, "H": 6, "W": 6, "F": 4, "k": 3}

INTRO = """# Tensors: convolution, pooling and multi-head attention

Images are NCHW (`X` is (N, C, H, W)), filters (F, C, kh, kw); a convolution is the
frameworks' cross-correlation (no kernel flip). The primitives live in
`symbackprop/tensors.py`, each with a NumPy forward and a hand-written VJP:

* `conv2d(X, W, b=None, stride=1, padding=0)`, by im2col (one matrix product each way);
* `maxpool2d(X, size, stride=size)`: each window's gradient goes to its first maximum in
  row-major order, as PyTorch and JAX do; `maxpool_ties` marks the windows whose maximum is
  not unique (a kink: there the gradient is a convention, not a derivative);
* `avgpool2d(X, size, stride=size)`;
* `einsum(spec, *operands)`, whose VJP for an operand is the einsum of the cotangent and
  the other operands with the output's indices in that operand's place; `transpose`,
  `reshape`, `flatten`;
* `softmax(X, axis=-1)` and spatial `batchnorm2d(X, gamma, beta, eps=1e-5)` (statistics per
  channel over axes 0, 2, 3; the compact-form VJP), for multi-head attention written with
  einsum and for convolutional nets.

Tests check each against loops written from the definitions, central differences and, where
installed, PyTorch (`tests/test_conv.py`, `tests/test_tensors.py`).

`derive()` does not take them yet: its front ends, grouping and printers are rank 2, and
shapes of rank 3 or more are refused (`docs/architecture.md`, "Not yet"). What is here is the
numeric side and the index notation the derivations will print. Sums are written out (no
Einstein convention); `w` is an output column, `u, v` an input position, `i, j` a tap.

`python -m benchmarks.bench_conv` times conv2d forward + backward against an im2col NumPy
reference written in the benchmark (N=32, C=16, 32×32, F=32, 3×3; target ≤ 1.5×).
Rebuilt by `python -m tools.tensors`; a test fails when this page is not what the code
prints.
"""


def _check_layer(stride: int, padding: int) -> str:
    """L = Σ R ⊙ maxpool2d(conv2d(X, W, b)): the rules' VJPs chained by hand against central
    differences of L in every entry of X, W and b; raises when they disagree."""
    rng = np.random.default_rng(0)
    n, c, h, w, f, k = SIZES.values()
    x, wt, b = rng.normal(size=(n, c, h, w)), rng.normal(size=(f, c, k, k)), rng.normal(size=f)
    conv, pool = TENSORS["conv2d"], TENSORS["maxpool2d"]
    geo = {"stride": stride, "padding": padding}
    y = conv.forward(x, wt, b, **geo)
    p = pool.forward(y, 2)
    r = rng.normal(size=p.shape)
    if pool.nondiff is not None and np.any(pool.nondiff(y, 2)):
        raise AssertionError("a tie in a pooling window: draw other numbers")
    (gy,) = pool.vjp(r, p, y, 2)
    grads = conv.vjp(gy, y, x, wt, b, **geo)

    def loss(xs: list[Any]) -> float:
        return float(np.sum(r * pool.forward(conv.forward(*xs, **geo), 2)))

    worst = 0.0
    for slot, g in enumerate(grads):
        xs = [x, wt, b]
        for idx in np.ndindex(xs[slot].shape):
            up, down = [a.copy() for a in xs], [a.copy() for a in xs]
            up[slot][idx] += 1e-6
            down[slot][idx] -= 1e-6
            worst = max(worst, abs((loss(up) - loss(down)) / 2e-6 - g[idx]))
    if worst > 1e-5:
        raise AssertionError(f"conv + pool: the VJPs and central differences differ by {worst}")
    return (f"Checked at N = {n}, C = {c}, H = W = {h}, F = {f}, 3×3 filters, stride {stride}, "
            f"padding {padding}, 2×2 pooling, `L = Σ R ⊙ P`: the hand-written VJPs chained "
            "and central differences of `L` in every entry of `X`, `W` and `b` agree to 1e-5.")


def section(title: str, words: str, stride: int, padding: int) -> str:
    cf, cb = conv2d_index("Y", "X", "W", "b", stride=stride, padding=padding)
    pf, pb = pool2d_index("max", "P", "Y", 2)
    code = (f'forward, backward = conv2d_index("Y", "X", "W", "b", stride={stride}, '
            f'padding={padding})\npool_forward, pool_backward = pool2d_index("max", "P", "Y", 2)'
            "\nindex_latex(forward + pool_forward, pool_backward + backward)")
    return "\n".join([f"## {title}", "", f"{words} Printed by", "", "```python", code, "```", "",
                      "$$", index_latex(cf + pf, pb + cb), "$$", "",
                      _check_layer(stride, padding), ""])


SCORES, MIX = "bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd"


def _check_attention() -> str:
    """L = Σ R ⊙ O for O = softmax(Q Kᵀ/√D, axis=-1) V per head: the rules' VJPs chained by
    hand against central differences in every entry of Q, K and V; raises when they differ."""
    rng = np.random.default_rng(1)
    b, h, t, k, d = 2, 2, 3, 4, 2
    q, kk, v = rng.normal(size=(b, h, t, d)), rng.normal(size=(b, h, k, d)), \
        rng.normal(size=(b, h, k, d))
    r = rng.normal(size=(b, h, t, d))
    es, sm = TENSORS["einsum"], TENSORS["softmax"]

    def run(q: Any, kk: Any, v: Any) -> tuple[Any, Any, Any]:
        s = es.forward(SCORES, q, kk) / np.sqrt(d)
        a = sm.forward(s, axis=-1)
        return s, a, es.forward(MIX, a, v)

    s, a, o = run(q, kk, v)
    da, dv = es.vjp(r, o, MIX, a, v)
    (ds,) = sm.vjp(da, a, s, axis=-1)
    dq, dk = es.vjp(ds / np.sqrt(d), None, SCORES, q, kk)
    worst = 0.0
    for slot, g in enumerate((dq, dk, dv)):
        xs = [q, kk, v]
        for idx in np.ndindex(g.shape):
            up, down = [x.copy() for x in xs], [x.copy() for x in xs]
            up[slot][idx] += 1e-6
            down[slot][idx] -= 1e-6
            diff = float(np.sum(r * run(*up)[2]) - np.sum(r * run(*down)[2])) / 2e-6
            worst = max(worst, abs(diff - g[idx]))
    if worst > 1e-5:
        raise AssertionError(f"attention: the VJPs and central differences differ by {worst}")
    return (f"Checked at {b} batches, {h} heads, {t} queries, {k} keys, width D = "
            f"{d}, `L = Σ R ⊙ O`: the hand-written VJPs chained and central differences of "
            "`L` in every entry of `Q`, `K` and `V` agree to 1e-5.")


def attention_section() -> str:
    sf, sb = einsum_index(SCORES, "T", ("Q", "K"))
    af, ab = softmax_index("A", "S", "bhq", "k")
    of, ob = einsum_index(MIX, "O", ("A", "V"))
    scale = (r"\mathbf{S}_{b,h,q,k}", r"\frac{1}{\sqrt{D}}\, \mathbf{T}_{b,h,q,k}")
    unscale = (r"\frac{\partial L}{\partial \mathbf{T}_{b,h,q,k}}",
               r"\frac{1}{\sqrt{D}}\, \frac{\partial L}{\partial \mathbf{S}_{b,h,q,k}}")
    code = (f'einsum_index("{SCORES}", "T", ("Q", "K"))\n'
            'softmax_index("A", "S", "bhq", "k")\n'
            f'einsum_index("{MIX}", "O", ("A", "V"))')
    words = ("Batches `b`, heads `h`, queries `q`, keys `k`, the width `D` (its index `d`): "
             "the scores are an einsum, the softmax runs along the keys (`axis=-1`), and the "
             "output is an einsum again. Each einsum's backward lines are einsums with `∂L/∂` "
             "of its output in the operand's place; the scaling by `1/√D` is written by hand here. "
             "Printed by")
    return "\n".join(["## Multi-head attention with einsum", "", words, "", "```python", code,
                      "```", "", "$$", index_latex([*sf, scale, *af, *of],
                                                   [*ob, *ab, unscale, *sb]),
                      "$$", "", _check_attention(), ""])


def page() -> str:
    return INTRO + "\n" + "\n".join([
        section("Convolution and max pooling, stride 1",
                "With stride 1 the input's cotangent is also the full correlation of "
                "`∂L/∂Y` with the filter turned by 180° (the last form of its line).", 1, 1),
        section("Strided convolution",
                "With stride 2 each input entry is read by the taps `i` with `2h + i = u`: "
                "the sum over them replaces the full correlation.", 2, 1),
        attention_section(),
    ])


def latex_blocks(text: str) -> list[str]:
    """The page's display math, for KaTeX and pdflatex."""
    return [b.strip() for b in text.split("$$")[1::2]]


def main(argv: list[str] | None = None) -> int:
    PAGE.write_text(page(), encoding="utf-8")
    print(PAGE.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
