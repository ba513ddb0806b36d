"""Build docs/tensors.md: what derive() takes of tensors of rank ≥ 3, how their derivations
print and how they are checked, every example on the page made by running it.

    python -m tools.tensors            # writes docs/tensors.md

``tests/test_conv.py`` rebuilds the page and fails when the committed one differs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

import symbackprop as sbp
from symbackprop.shapes import axes_of

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "tensors.md"

INTRO = """# Tensors: convolution, pooling, einsum and multi-head attention

`derive()` takes shapes of any rank. A shape of two entries is a matrix and one entry
(`(n,)`) a column, as everywhere in the text; a shape of three or more, such as
`(N, C, H, W)`, is a tensor. Tensors take the element-wise functions, `+ - * /` with
NumPy's broadcasting (a scalar, or an operand whose axes of length 1 stretch to the other's
shape: `X - mean(X, axis=(0, 2, 3))`), `sum`, `mean` and `var` of all their entries or over
an axis or a tuple of axes (kept with length 1, as `keepdims=True`), `max` and `min` of all
their entries (the largest and smallest; tied entries share the slope, as of a matrix), and
the functions below. Beside a tensor, in `+ - * /`, `**` or an element-wise function of
two or three arrays, a vector declared `(n,)` (or a stage made of one entry by entry:
`sin(b)`, `-b`, `2*b + 1`) is refused, whether or not its column (n, 1) would fit: NumPy
lines a 1-D array up with the last axis, the text's column with the one before. Write
`reshape(b, (1, n))` for NumPy's reading, or declare b `(n, 1)` (or write
`reshape(b, (n, 1))`, NumPy's 2-D column) for the column. Beside
matrices and vectors (`W @ x + b`) it stays the column. Their derivations print in index
notation; the numeric side (the engine, the witness, `d.check()`) runs on n-D arrays.
Every example on this page is made by running it: rebuilt by `python -m tools.tensors`,
and a test fails when the page is not what the code prints.

Images are NCHW, filters `(F, C, kh, kw)`, and a convolution is the frameworks'
cross-correlation (no kernel flip). The sizes after the batch must be numbers for
convolution and pooling; the batch `N` may be a name, bound from the values. `einsum`
reads its subscripts as NumPy does: one lowercase letter per axis, the output after `->`
or, without it, the indices used once in alphabetical order, `...` for the axes the
letters leave, a repeated index for a diagonal and a scalar result as a sum; the
derivation prints every index written out. An operand declared `(n,)` has one axis, as
NumPy's 1-D array: `...` beside its letter takes none (`'...i,...i->...'` of two vectors
is their dot product) and two letters are refused; one declared `(n, 1)` has two, and one
letter reads it as a vector too. A result of one index (`einsum('ijk->i', X)`) is NumPy's
1-D array, held as the column: beside a tensor it is refused as a vector declared `(n,)`
is, and beside the 1-D row of `squeeze` (below) too, where the text would make their
(n, m) table. `X.T` reverses all the axes of a tensor, as NumPy does.
`log_softmax(X, axis=k)` and `logsumexp(X, axis=k)` along one axis are computed shifted,
finite at logits 800 apart.

Code spelled with a library's calls (`np.`, `torch.`, `jnp.`, `F.`, `X.sum(...)`) means
what the library means on tensors too: `np.sum(X, axis=1)`, `torch.mean(X, dim=1)` drop
the axis, as NumPy and PyTorch do (`squeeze`: (2, 3, 4) gives (2, 4); a 1-D result is the
row (1, n); `keepdims=True` keeps it); and `np.inner` and `np.dot` of a tensor sum its
last axis (`np.inner` of (a, b, c) and (d, e, c) is `einsum('abc,dec->abde')`). Every
1-D value is NumPy's 1-D array there, however made: `np.ravel(X)`, `X.reshape(-1)`,
`X.flatten()`, `torch.flatten(X)` and `np.einsum` to one index are held as the column,
a reduction to one axis as the row, and where they meet they are read as NumPy reads them
(`np.einsum('ijk->i', X) + np.sum(X, axis=(1, 2))`, `np.dot`, `@`, `np.inner` and
`np.einsum('i,i->', …)` of two: their entries side by side, never the (n, n) table); a
column-held one beside a tensor is refused (NumPy lines it up with the last axis: write
`.reshape(1, -1)`), a row-held one lines up with the last axis, as NumPy's.
"""

# (text of the call, shapes, what to know); the result's shape is derived
CALLS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("conv2d(X, K, b, padding=1)", {"X": ("N", 3, 8, 8), "K": (4, 3, 3, 3), "b": (4,)},
     "`b` (one per filter) is optional; `stride=1`, `padding=0` by default"),
    ("conv2d(X, K, stride=2)", {"X": ("N", 3, 8, 8), "K": (4, 3, 3, 3)},
     "output size `(H + 2 padding − kh) // stride + 1`"),
    ("maxpool2d(X, 2)", {"X": ("N", 3, 8, 8)},
     "windows `size × size`, `stride=size` by default; the gradient goes to the first "
     "maximum"),
    ("avgpool2d(X, 3, stride=1)", {"X": ("N", 3, 8, 8)}, "each entry gets `1/size²`"),
    ("einsum('nchw,fc->nfhw', X, E)", {"X": ("N", 3, 8, 8), "E": (4, 3)},
     "any contraction, to a tensor, a matrix or a vector"),
    ("einsum('nchw,c->nhw', X, v)", {"X": ("N", 3, 8, 8), "v": (3,)},
     "a one-letter operand is a vector"),
    ("einsum('...ij,...j->...i', X, v)", {"X": ("N", 4, 3), "v": (3,)},
     "an operand declared `(n,)` has one axis, as NumPy's: `...` beside its letter takes "
     "none"),
    ("einsum('bii->bi', X)", {"X": ("N", 4, 4)},
     "an index repeated within an operand reads its diagonal, as NumPy's; the cotangent is "
     "printed with a Kronecker delta, `[δ_{ii'} (∂L/∂O)_{b,i}]_{b,i,i'}`"),
    ("transpose(X, (0, 2, 3, 1))", {"X": ("N", 3, 8, 8)}, "NumPy's `axes`; `X.T` reverses them"),
    ("reshape(X, (N, -1))", {"X": ("N", 3, 8, 8)},
     "row-major, as NumPy; one size may be `-1`, one a name"),
    ("flatten(X)", {"X": (2, 3, 8, 8)}, "every entry, row-major, as a column"),
    ("softmax(X, axis=1)", {"X": ("N", 3, 8, 8)}, "along one axis; `axis=-1` is the last"),
    ("squeeze(X, axis=1)", {"X": ("N", 1, 8)}, "NumPy's squeeze: axes of length 1 removed "
     "(all, without `axis=`); a 1-D result is the row (1, n), NumPy's 1-D"),
    ("mean(X, axis=(0, 2, 3))", {"X": ("N", 3, 8, 8)},
     "`sum`, `mean`, `var` over axes, kept with length 1; the sum's cotangent is spread back "
     "by broadcasting"),
    ("X * reshape(g, (1, 3, 1, 1))", {"X": ("N", 3, 8, 8), "g": (3,)},
     "NumPy's broadcasting, printed as the spread entry `[g_{·,j,·,·}]_{i,j,k,l}`"),
    ("batchnorm2d(X, gamma, beta, eps=1e-5)", {"X": ("N", 3, 8, 8), "gamma": (3,),
                                               "beta": (3,)},
     "training mode: each channel over axes 0, 2, 3"),
)


def _shape(s: Any) -> str:
    return "(" + ", ".join(str(d) for d in s) + ("," if len(s) == 1 else "") + ")"


def calls_table() -> str:
    """Each call derived as ``Y = call; L = sum(sin(Y))``: the shape of ``Y`` read back."""
    rows = ["| call | shapes | result | |", "|:--|:--|:--|:--|"]
    for text, shapes, words in CALLS:
        d = sbp.derive(f"Y = {text}; L = sum(sin(Y))", shapes=shapes)
        y = next(eq.lhs for eq in d.forward if str(eq.lhs) == "Y")
        given = ", ".join(f"{k} {_shape(v)}" for k, v in shapes.items())
        rows.append(f"| `{text}` | {given} | {_shape(axes_of(y.shape))} | {words} |")
    return "\n".join(rows)


LAYER = "Z = conv2d(X, K, b, padding=1); H = relu(Z); P = maxpool2d(H, 2); L = sum(P * R)"
LAYER_SHAPES = {"X": ("N", 3, 6, 6), "K": (4, 3, 3, 3), "b": (4,), "R": ("N", 4, 3, 3)}

PRINTING = """## How a derivation prints

A convolution, a ReLU and max pooling, with `L = Σ P ⊙ R`:

```python
sbp.derive("{layer}",
           shapes={shapes}, wrt=["X", "K", "b"])
```

$$
{latex}
$$

* `[ … ]_{{n,f,h,w}}` is the tensor whose `(n, f, h, w)` entry is `…`: the indices after
  the bracket run over the axes of the result, in order. Sums are written out (no Einstein
  convention), and a second index over the same axis is primed (`n'`, `l'`).
* `(pad_{{1,1}}(X))_{{n,c,h+i,w+j}}` reads the input padded by one on each side: `i, j` are
  the filter's taps, `h, w` the output position, `u, v` an input position. With `stride=2`
  the rows read are `2h + i`.
* The filter's cotangent `∂L/∂K` is the correlation of the padded input with `∂L/∂Z`
  over the batch and the image; the input's sums over the taps that read each entry
  (`h + i = u + 1`), which for stride 1 is the full correlation of `∂L/∂Z` with the filter
  turned by 180°.
* Max pooling's cotangent is `1[(i, j) = argmax^first …]`: each window sends its gradient
  to its first maximum in row-major order, as PyTorch and JAX do.
* Element-wise steps (`ReLU`, `⊙`) print as for matrices, and a result of rank ≤ 2 (such as
  `reshape(P, (N, -1))`) is a matrix again, in matrix notation.
"""

MHA = ("S = einsum('bhqd,bhkd->bhqk', Q, K) / sqrt(D); A = softmax(S, axis=-1); "
       "O = einsum('bhqk,bhkd->bhqd', A, V); L = sum(O * G)")
MHA_SHAPES = {"Q": (2, 2, 3, 2), "K": (2, 2, 4, 2), "V": (2, 2, 4, 2), "G": (2, 2, 3, 2),
              "D": ()}

ATTENTION = """## Multi-head attention with einsum

Batches `b`, heads `h`, queries `q`, keys `k`, the head width `D` (a scalar of the text,
its index `d`). Each einsum's cotangent is an einsum again, with `∂L/∂` of its output in
the operand's place; the softmax along the last axis has the row softmax's backward pass on
every `(b, h, q)`:

```python
sbp.derive("{text}",
           shapes={shapes}, wrt=["Q", "K", "V"])
```

$$
{latex}
$$

{checked}

The gallery derives whole layers: [a small CNN](gallery/small-cnn.md), [multi-head
attention with its projections](gallery/multi-head-attention.md) and [spatial batch
normalisation](gallery/spatial-batch-norm.md).
"""

TIE = "L = sum(maxpool2d(X, 2) * G)"
TIE_VALUES = {"X": [[[[1.0, 1.0, 0.0, 2.0], [0.0, 1.0, 0.0, -1.0]]]],
              "G": [[[[3.0, 5.0]]]]}

NUMBERS = """## Numbers: evaluate, the witnesses and d.check()

`d.evaluate(values)` takes and returns arrays of the declared shapes (a `(n,)` input comes
back as the column `(n, 1)`); `d.trace(values)` shows a tensor by a corner of its first
matrix. `d.check(values)` compares three witnesses that share no code: the symbolic
backward pass evaluated equation by equation, the independent NumPy engine (hand-written
VJPs: convolution by im2col, pooling by windows) and central finite differences of the text
as written, which the witness runs with NumPy loops of its own, tap by tap. {layer_check}

A tie in a max-pooling window is a kink: there the gradient is a convention (the first
maximum), not a derivative, and `d.check()` says so instead of reporting a mismatch:

```python
d = sbp.derive("{tie}", shapes={{"X": (1, 1, 2, 4), "G": (1, 1, 1, 2)}},
               wrt=["X"])
values = {{"X": np.array({x}),
          "G": np.array({g})}}
d.evaluate(values)["X"]
```

```text
{gradient}
```

`print(d.check(values))`:

```text
{report}
```

`python -m benchmarks.bench_conv` times conv2d forward + backward against an im2col NumPy
reference written in the benchmark (N=32, C=16, 32×32, F=32, 3×3; target ≤ 1.5×).
"""

# (text, shapes, the reason the refusal has), each refused with a typed error
REFUSED: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("sum(X @ Y)", {"X": (2, 3, 4), "Y": (2, 4, 3)},
     "`@` is the matrix product; which axes a product of tensors contracts is for `einsum` "
     "to say."),
    ("sum(max(X, axis=1))", {"X": (2, 3, 4)},
     "of the reductions along axes of a tensor, `sum`, `mean`, `var`, the softmax and "
     "`logsumexp` along one axis are read; write others with `einsum` or `reshape`. "
     "`max(X)` and `min(X)` of every entry are read."),
    ("sum(X * b)", {"X": (2, 4, 4), "b": (4,)},
     "a vector declared `(n,)` beside a tensor: NumPy lines it up with the last axis, the "
     "text's column with the one before; refused even where the column fits, as here."),
    ("sum(X - einsum('ijk->k', X))", {"X": (2, 4, 4)},
     "an `einsum` to one index is NumPy's 1-D array, refused beside a tensor as a vector "
     "declared `(n,)` is."),
    ("sum(einsum('ijk->k', X) + squeeze(sum(X, axis=(0, 1))))", {"X": (2, 4, 4)},
     "NumPy's 1-D value held as the column beside one `squeeze` holds as the row: NumPy "
     "adds their entries, the text's column and row would make the (n, m) table."),
    ("sum(X * c)", {"X": (2, 1, 4), "c": (1, 3, 4)},
     "broadcasting spreads one operand to the other's shape; when both would need it, "
     "bring one to the result's shape first."),
    ("sum(conv2d(X, K))", {"X": ("N", 3, "H", 8), "K": (4, 3, 3, 3)},
     "the image's size must be a number: the windows are laid out when the graph is built."),
    ("sum(einsum('i..j', A))", {"A": (2, 3)},
     "NumPy's implicit output (`'ij,jk'`), `...` and a scalar result (`'ii'`, "
     "`'ij,ij->'`) are read, and printed with every index written out; subscripts NumPy "
     "would refuse are refused."),
    ("sum(einsum('ij,jk->ik', A, B))", {"A": (2, 3), "B": (2, 2)},
     "an index has one size in every operand that uses it."),
)
HESSIAN = ("sum(conv2d(X, K) ** 2)", {"X": (1, 2, 4, 4), "K": (2, 2, 3, 3)}, "K")


def _refusal(run: Any) -> str:
    try:
        run()
    except sbp.SymbackpropError as e:
        return f"{type(e).__name__}: {e}"
    raise AssertionError("accepted, but the page says it is refused")


def refused() -> str:
    out = ["## What is refused, and why", "",
           "Each of these raises a typed error (the message below is the library's):", ""]
    for text, shapes, why in REFUSED:
        msg = _refusal(lambda t=text, s=shapes: sbp.derive(t, shapes=s))
        out += [f"* `{text}` with {', '.join(f'{k} {_shape(v)}' for k, v in shapes.items())}: "
                f"{why}", "", "  ```text", f"  {msg}", "  ```", ""]
    text, shapes, wrt = HESSIAN
    msg = _refusal(lambda: sbp.hessian(text, wrt, shapes=shapes))
    out += [f"* `sbp.hessian(\"{text}\", \"{wrt}\", ...)`: the cotangents of convolution, "
            "pooling, the softmax along an axis, `batchnorm2d` and an einsum that reads a "
            "diagonal are nodes of their own (printed in index notation), with no "
            "derivative of their own yet; other einsums (one that sums an index away too: "
            "its cotangent is an einsum broadcast back), transpose and reshape go through. "
            "Forward mode "
            "(`mode=\"forward\"`) works through all of them.", "", "  ```text", f"  {msg}",
            "  ```", ""]
    return "\n".join(out)


def _random(d: sbp.Derivation, seed: int, n: int) -> dict[str, Any]:
    """Every input N(0, 1), the named batch N set to n."""
    rng = np.random.default_rng(seed)
    return {str(s.name): rng.normal(size=tuple(n if str(k) == "N" else int(k)
                                               for k in axes_of(s.shape)))
            if hasattr(s, "shape") else 2.0 for s in d.inputs}


def _checked(d: sbp.Derivation, values: dict[str, Any], where: str) -> str:
    report = d.check(values)
    if not report.ok:
        raise AssertionError(f"{where}: {report}")
    return (f"Checked at {where}: the symbolic backward pass, the NumPy engine and finite "
            f"differences agree for {', '.join(r.name for r in report.rows)}.")


def page() -> str:
    layer = sbp.derive(LAYER, shapes=LAYER_SHAPES, wrt=["X", "K", "b"])
    mha = sbp.derive(MHA, shapes=MHA_SHAPES, wrt=["Q", "K", "V"])
    tie = sbp.derive(TIE, shapes={"X": (1, 1, 2, 4), "G": (1, 1, 1, 2)}, wrt=["X"])
    tie_values = {k: np.array(v) for k, v in TIE_VALUES.items()}
    sections = [
        INTRO, "## What the text accepts", "", calls_table(), "",
        PRINTING.format(layer=LAYER, shapes=LAYER_SHAPES,
                        latex=layer.latex(sections=["forward", "backward"])),
        ATTENTION.format(text=MHA, shapes=MHA_SHAPES,
                         latex=mha.latex(sections=["forward", "backward"]),
                         checked=_checked(mha, _random(mha, 1, 2), "D = 2 (every input "
                                          "N(0, 1))")),
        NUMBERS.format(layer_check=_checked(layer, _random(layer, 0, 2),
                                            "N = 2 for the layer above"),
                       tie=TIE, x=TIE_VALUES["X"], g=TIE_VALUES["G"],
                       gradient=np.array2string(tie.evaluate(tie_values)["X"]),
                       report=str(tie.check(tie_values))),
        refused(),
    ]
    return "\n".join(sections).rstrip("\n") + "\n"


def latex_blocks(text: str) -> list[str]:
    """The page's display math, for KaTeX and pdflatex."""
    return [b.strip() for b in text.split("$$")[1::2]]


def main(argv: list[str] | None = None) -> int:
    PAGE.write_text(page(), encoding="utf-8")
    print(PAGE.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
