"""Build docs/layers.md: batch normalisation, layer normalisation and attention as
symbackprop derives them, each derivation printed by the library and checked three ways.

    python -m tools.layers            # writes docs/layers.md

``tests/test_normalisation.py`` rebuilds the page and fails when the committed one differs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import symbackprop as sbp

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "layers.md"

BN_SHAPES = {"X": ("d", "n"), "gamma": ("d", 1), "beta": ("d", 1), "R": ("d", "n")}
ATT_SHAPES = {"Q": ("t", "k"), "K": ("s", "k"), "V": ("s", "v"), "R": ("t", "v")}


class Example(NamedTuple):
    title: str
    words: str  # what it shows, before the derivation
    text: str
    shapes: dict[str, Any]
    wrt: list[str]
    numbers: dict[str, Any]  # the sizes the check runs at


EXAMPLES = (
    Example("Batch normalisation",
            "Training mode: each feature (a row) is standardised over the batch (the columns), "
            "then scaled and shifted. `batchnorm` makes the stage X̂ itself; its backward "
            "pass ends with the compact form.",
            "Y = batchnorm(X, gamma, beta); L = sum(hadamard(Y, R))", BN_SHAPES,
            ["X", "gamma", "beta"], {"d": 3, "n": 5}),
    Example("Layer normalisation",
            "Each sample (a column) is standardised over its features: the statistics are "
            "rows, `1 μᵀ` instead of `μ 1ᵀ`, and the sums of the compact form run down the "
            "columns (`1 1ᵀ ∂L/∂X̂`).",
            "Y = layernorm(X, gamma, beta, eps=1e-5); L = sum(hadamard(Y, R))", BN_SHAPES,
            ["X", "gamma", "beta"], {"d": 3, "n": 5}),
    Example("Batch normalisation written out",
            "The same layer in `mean`, `var` and `sqrt`: every link of the chain rule, "
            "through μ and the variance. It agrees with `batchnorm` in numbers (a test "
            "checks both against the literature's formulas); the compact form is the "
            "primitive's.",
            "mu = mean(X, axis=1); v = var(X, axis=1); Xh = (X - mu) / sqrt(v + 1e-5); "
            "Y = hadamard(gamma, Xh) + beta; L = sum(hadamard(Y, R))", BN_SHAPES,
            ["X"], {"d": 3, "n": 5}),
    Example("Scaled dot-product attention",
            "A query per row: `softmax(S, axis=1)` normalises each row, a primitive whose "
            "backward pass is the row softmax's `A ⊙ (∂L/∂A − (∂L/∂A ⊙ A) 1 1ᵀ)`.",
            "S = Q @ K.T / sqrt(k); A = softmax(S, axis=1); O = A @ V; "
            "L = sum(hadamard(O, R))", ATT_SHAPES, ["Q", "K", "V"],
            {"t": 3, "s": 4, "k": 4, "v": 2}),
    Example("Attention with a mask",
            "A mask is a constant: added to the scores (write a large negative number such "
            "as `-1e9` where −∞ is meant: the weight is then exactly 0), or multiplied into "
            "the weights as a 0/1 matrix `D` (dropout's mask, given).",
            "S = Q @ K.T / sqrt(k) + M; A = softmax(S, axis=1); O = hadamard(A, D) @ V; "
            "L = sum(hadamard(O, R))", {**ATT_SHAPES, "M": ("t", "s"), "D": ("t", "s")},
            ["Q", "K", "V"], {"t": 3, "s": 4, "k": 4, "v": 2}),
)

INTRO = """# Layers: normalisation and attention

The layers a deep-learning course derives by hand, as symbackprop derives them today. Columns
are samples: `X` is (features, samples), `γ` and `β` are columns of one entry per feature.
Every derivation below is printed by the library from the input shown and checked by
`d.check()` (the symbolic backward pass, the independent NumPy engine and central finite
differences of the text as written); rebuilt by `python -m tools.layers`, and a test fails
when this page is not what the library does. [The gallery](gallery/index.md) has batch
normalisation, layer normalisation and attention with their traces and graphs; the same
layers on tensors of rank ≥ 3 (`batchnorm2d` over `(N, C, H, W)`, multi-head attention with
`einsum` and `softmax(S, axis=-1)`) are in [Tensors](tensors.md).

* `batchnorm(X, gamma, beta, eps=1e-5)`: `γ1ᵀ ⊙ X̂ + β1ᵀ`, `X̂ = (X − μ1ᵀ) ⊘ (σ1ᵀ)` with
  the mean `μ` and `σ = √(var + ε)` of each row (a feature, over the batch; training mode);
* `layernorm(X, gamma, beta, eps=1e-5)`: the same with the statistics of each column (a
  sample, over its features);
* `softmax(S, axis=1)` (or `axis=-1`): the softmax of each row; `softmax(S)` and `axis=0` are
  of each column.

## Which rewriting gives the compact form

`batchnorm` and `layernorm` build a stage `X̂ = standardise(X)`, a primitive of its own
(`symbackprop/layers.py`). Its VJP is not found by `simplify`: it is the chain rule through
`μ` and `σ²`, collected once by hand and stated in the rule. Along the axis (N entries),

* through `X` directly: `∂L/∂X̂ ⊘ σ1ᵀ`;
* through `μ`: `−(1/N) (∂L/∂X̂ 1 ⊘ σ) 1ᵀ`;
* through `σ²`: `−(1/N) ((∂L/∂X̂ ⊙ (X − μ1ᵀ)) 1 ⊘ σ³) 1ᵀ ⊙ (X − μ1ᵀ)`, and writing
  `X − μ1ᵀ = X̂ ⊙ σ1ᵀ` twice turns it into `−(1/N) X̂ ⊙ ((∂L/∂X̂ ⊙ X̂) 1 ⊘ σ) 1ᵀ`;

and the factor `(1/N) σ⁻¹` they share, taken out, leaves

`∂L/∂X = (1/N) σ⁻¹1ᵀ ⊙ (N ∂L/∂X̂ − ∂L/∂X̂ 1 1ᵀ − X̂ ⊙ (∂L/∂X̂ ⊙ X̂) 1 1ᵀ)`.

With `∂L/∂X̂ = ∂L/∂Y ⊙ γ1ᵀ` and `γ` constant along a row, batch normalisation's form is the
course notes' `(1/N) γ ⊙ σ⁻¹ ⊙ (N ∂L/∂Y − Σ ∂L/∂Y − X̂ ⊙ Σ(∂L/∂Y ⊙ X̂))`. The engine has its
own hand-written NumPy VJP of the same primitive. Written out with `mean` and `var`, the same
layer derives link by link instead (the third example): equal numbers, a longer form.
"""


def _values(ex: Example, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for name, shape in ex.shapes.items():
        dims = tuple(ex.numbers.get(str(s), s) for s in shape)
        out[name] = rng.normal(size=dims)
    if "M" in out:  # causal: query i sees keys ≤ i
        out["M"] = np.triu(np.full(out["M"].shape, -1e9), k=1)
    if "D" in out:
        out["D"] = (rng.random(out["D"].shape) > 0.3).astype(float)
    return out


def section(ex: Example) -> str:
    d = sbp.derive(ex.text, shapes=ex.shapes, wrt=ex.wrt)
    numbers = sbp.derive(ex.text, shapes={k: tuple(ex.numbers.get(str(s), s) for s in v)
                                          for k, v in ex.shapes.items()}, wrt=ex.wrt)
    values: dict[str, Any] = _values(ex)
    for v in numbers.inputs:  # √k: the width, a scalar of the text, at the size checked
        if str(v.name) not in values:
            values[str(v.name)] = float(ex.numbers[str(v.name)])
    report = numbers.check(values)
    if not report.ok:
        raise AssertionError(f"{ex.title}: {report}")
    sizes = ", ".join(f"{k} = {v}" for k, v in ex.numbers.items())
    return "\n".join([
        f"## {ex.title}", "", ex.words, "", "```python", ex.text, "```", "",
        "$$", d.latex(sections=["forward", "backward"]), "$$", "",
        f"Checked at {sizes}: the symbolic backward pass, the NumPy engine and finite "
        "differences agree.", ""])


def page() -> str:
    return INTRO + "\n" + "\n".join(section(ex) for ex in EXAMPLES)


def main(argv: list[str] | None = None) -> int:
    PAGE.write_text(page(), encoding="utf-8")
    print(PAGE.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
