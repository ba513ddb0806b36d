"""Build docs/vocabulary.md: every function the text language knows, its other spellings,
how the derivation writes it, its derivative as the library derives it, and its domain.

    python -m tools.vocabulary            # writes docs/vocabulary.md

Each row is derived from a small input (``SAMPLES``, or ``f(x)``), so the notation and the
derivative are what the library prints today; ``tests/test_vocabulary.py`` rebuilds the page
and fails when the committed one differs or a function of the text has no row.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import symbackprop as sbp
from symbackprop.composites import COMPOSITES
from symbackprop.composites import DOMAINS as COMPOSITE_DOMAINS
from symbackprop.emit.printer import expr_latex
from symbackprop.emit.symbols import symbol_table
from symbackprop.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "vocabulary.md"

V, M, S = (3, 1), (3, 3), (2, 3)
# an input that uses the function (default ``f(x)``), its shapes, and the variable whose
# derivative the row shows
SAMPLES: dict[str, tuple[str, dict[str, Any], str]] = {
    "sum": ("sum(X)", {"X": S}, "X"), "mean": ("mean(X)", {"X": S}, "X"),
    "var": ("var(X)", {"X": S}, "X"), "prod": ("prod(X)", {"X": S}, "X"),
    "logsumexp": ("logsumexp(x)", {"x": V}, "x"),
    "softmax": ("sum(hadamard(a, softmax(x)))", {"x": V, "a": V}, "x"),
    "log_softmax": ("sum(hadamard(a, log_softmax(x)))", {"x": V, "a": V}, "x"),
    "norm2": ("norm2(X)", {"X": S}, "X"), "norm1": ("norm1(X)", {"X": S}, "X"),
    "sqnorm": ("sqnorm(X)", {"X": S}, "X"), "trace": ("trace(X)", {"X": M}, "X"),
    "det": ("det(X)", {"X": M}, "X"), "logdet": ("logdet(X)", {"X": M}, "X"),
    "inv": ("sum(inv(X))", {"X": M}, "X"), "transpose": ("sum(hadamard(A, transpose(X)))",
                                                         {"X": S, "A": (3, 2)}, "X"),
    "mse": ("mse(o, y)", {"o": V, "y": V}, "o"),
    "cross_entropy": ("cross_entropy(o, y)", {"o": V, "y": V}, "o"),
    "max": ("max(x, y)", {}, "x"), "min": ("min(x, y)", {}, "x"),
    "arctan2": ("arctan2(y, x)", {}, "x"), "atan2": ("atan2(y, x)", {}, "x"),
    "hypot": ("hypot(x, y)", {}, "x"), "logaddexp": ("logaddexp(x, y)", {}, "x"),
    "power": ("power(x, y)", {}, "x"), "clip": ("clip(x, a, b)", {}, "x"),
    "leaky_relu": ("leaky_relu(x, a)", {}, "x"), "elu": ("elu(x, alpha)", {}, "x"),
    "celu": ("celu(x, alpha)", {}, "x"), "where": ("where(c, x, y)", {}, "x"),
    "xlogy": ("xlogy(x, y)", {}, "y"),
    **{f: (f"{f}(x, y)", {}, "x") for f in ("add", "subtract", "multiply", "divide",
                                             "true_divide")},
    "matmul": ("sum(matmul(A, u))", {"A": M, "u": V}, "A"),
    "inner": ("inner(u, a)", {"u": V, "a": V}, "u"),
    "vdot": ("vdot(A, A)", {"A": S}, "A"),
    "solve": ("sum(solve(A, u))", {"A": M, "u": V}, "u"),
    "matrix_power": ("trace(matrix_power(A, 2))", {"A": M}, "A"),
    "norm(x, ord)": ("norm(u, 3)", {"u": V}, "u"),
    "polygamma": ("polygamma(2, x)", {}, "x"), "besseli": ("besseli(1, x)", {}, "x"),
    "cumsum": ("sum(hadamard(a, cumsum(u)))", {"a": V, "u": V}, "u"),
    "cumprod": ("sum(hadamard(a, cumprod(u)))", {"a": V, "u": V}, "u"),
    "flip": ("sum(hadamard(a, flip(X, axis=1)))", {"a": S, "X": S}, "X"),
    "outer": ("sum(hadamard(A, outer(u, v)))", {"A": (3, 2), "u": V, "v": (2, 1)}, "u"),
    "diag": ("sum(hadamard(A, diag(u)))", {"A": M, "u": V}, "u"),
    "diagonal": ("sum(hadamard(u, diagonal(X)))", {"X": M, "u": V}, "X"),
    # losses: scores and one-hot targets (classes down, samples across), labels ±1
    "multiclass_hinge": ("multiclass_hinge(S, Y)", {"S": S, "Y": S}, "S"),
    "svm_loss": ("svm_loss(S, Y)", {"S": S, "Y": S}, "S"),
    "hinge": ("hinge(s, y)", {}, "s"), "logistic_loss": ("logistic_loss(s, y)", {}, "s"),
    "huber": ("huber(a, delta)", {}, "a"), "mse_loss": ("mse_loss(o, y)", {"o": V, "y": V}, "o"),
    "binary_cross_entropy": ("binary_cross_entropy(p, y)", {"p": V, "y": V}, "p"),
    "binary_cross_entropy_with_logits": ("binary_cross_entropy_with_logits(s, y)",
                                         {"s": V, "y": V}, "s"),
    "std": ("std(X)", {"X": S}, "X"), "dot": ("dot(u, v)", {"u": V, "v": V}, "u"),
    "maximum": ("maximum(x, y)", {}, "x"), "minimum": ("minimum(x, y)", {}, "x"),
    # structural (symbackprop/structural_calls.py): static sizes, indices and widths
    "concatenate": ("sum(hadamard(A, concatenate((X, Y), axis=0)))",
                    {"A": (5, 3), "X": S, "Y": M}, "X"),
    "vstack": ("sum(hadamard(A, vstack((X, Y))))", {"A": (5, 3), "X": S, "Y": M}, "Y"),
    "hstack": ("sum(hadamard(A, hstack((X, u))))", {"A": (3, 4), "X": M, "u": V}, "u"),
    "stack": ("sum(hadamard(A, stack((u, v), axis=0)))", {"A": (2, 3), "u": V, "v": V}, "u"),
    "reshape": ("sum(hadamard(A, reshape(X, (3, 2))))", {"A": (3, 2), "X": S}, "X"),
    "flatten": ("sum(hadamard(a, flatten(X)))", {"a": (6, 1), "X": S}, "X"),
    "ravel": ("sum(hadamard(a, ravel(X)))", {"a": (6, 1), "X": S}, "X"),
    "kron": ("sum(hadamard(A, kron(X, Y)))", {"A": (6, 9), "X": S, "Y": M}, "X"),
    "tile": ("sum(hadamard(A, tile(X, (2, 1))))", {"A": (4, 3), "X": S}, "X"),
    "repeat": ("sum(hadamard(A, repeat(X, 2, axis=0)))", {"A": (4, 3), "X": S}, "X"),
    "pad": ("sum(hadamard(A, pad(X, 1)))", {"A": (4, 5), "X": S}, "X"),
    "X[a:b, c:d]": ("sum(hadamard(A, X[0:2, 1:]))", {"A": (2, 2), "X": M}, "X"),
    # the layers of issue 14: features down, samples across
    "batchnorm": ("sum(hadamard(A, batchnorm(X, g, b)))",
                  {"A": S, "X": S, "g": (2, 1), "b": (2, 1)}, "X"),
    "layernorm": ("sum(hadamard(A, layernorm(X, g, b, eps=0.01)))",
                  {"A": S, "X": S, "g": (2, 1), "b": (2, 1)}, "X"),
    # tensors of rank ≥ 3 (symbackprop/tensor_nodes.py): NCHW images, (F, C, kh, kw) filters
    "conv2d": ("sum(sin(conv2d(X, W, b, padding=1)))",
               {"X": (2, 3, 4, 4), "W": (2, 3, 3, 3), "b": (2,)}, "W"),
    "maxpool2d": ("sum(sin(maxpool2d(X, 2)))", {"X": (1, 2, 4, 4)}, "X"),
    "avgpool2d": ("sum(sin(avgpool2d(X, 2, stride=1)))", {"X": (1, 2, 4, 4)}, "X"),
    "einsum": ("sum(sin(einsum('nchw,fc->nfhw', X, W)))", {"X": (2, 3, 2, 2), "W": (4, 3)},
               "W"),
    "batchnorm2d": ("sum(sin(batchnorm2d(X, g, b)))",
                    {"X": (2, 3, 2, 2), "g": (3,), "b": (3,)}, "X"),
    "squeeze": ("sum(sin(squeeze(X, axis=1)))", {"X": (2, 1, 3)}, "X"),
}
TENSORS = {  # name -> (kind, domain)
    "conv2d": ("primitive: cross-correlation, `stride=`, `padding=`; the bias is optional",
               "X (N, C, H, W), W (F, C, kh, kw), b (F,); sizes after N are numbers"),
    "maxpool2d": ("primitive: the window's maximum, `stride=` (default the size)",
                  "X (N, C, H, W); differentiable where each window's maximum is unique"),
    "avgpool2d": ("primitive: the window's mean, `stride=` (default the size)",
                  "X (N, C, H, W)"),
    "einsum": ("primitive: NumPy's subscripts (`'ij,jk->ik'`, `'...ij,...jk->...ik'`)",
               "arrays of any rank; the result is not a scalar (write sum(...))"),
    "batchnorm2d": ("primitive: spatial batch normalisation (per channel over N, H, W), "
                    "`eps=`", "X (N, C, H, W), γ and β of one entry per channel"),
    "squeeze": ("written out (reshape): NumPy's squeeze of a tensor's axes of length 1, "
                "`axis=` (default all); a 1-D result is a row (1, n), as NumPy broadcasts "
                "it; a matrix stays as it is. A library's reduction along axes of a tensor "
                "(`np.sum(X, axis=1)`) drops them with it",
                "the axes removed have length 1"),
}
LAYERS = {  # the layers of issue 14 (symbackprop/layers.py)
    "batchnorm": "primitive (standardise along axis 1, each feature over the batch), "
                 "then γ𝟏ᵀ ⊙ X̂ + β𝟏ᵀ; `eps=` (default 1e-5)",
    "layernorm": "primitive (standardise along axis 0, each sample over its features), "
                 "then γ𝟏ᵀ ⊙ X̂ + β𝟏ᵀ; `eps=` (default 1e-5)",
}
STRUCTURAL_KINDS = {
    "concatenate": "primitive (concat): a block matrix", "vstack": "primitive (concat), axis 0",
    "hstack": "primitive (concat), axis 1", "stack": "primitive (concat) of vectors or scalars",
    "reshape": "primitive (row by row, as NumPy)", "flatten": "primitive (reshape to a column)",
    "ravel": "primitive (reshape to a column)", "kron": "primitive",
    "tile": "primitive (kron): 𝟏 ⊗ X", "repeat": "primitive (kron): X ⊗ 𝟏",
    "pad": "primitive (constant mode)",
}
# the polygamma and besseli primitives, spelled with their order
ORDERS = {"polygamma", "digamma", "trigamma", "besseli"}
# the text spells these through their function
AXES = {"max_axis": "max(X, axis=k)", "min_axis": "min(X, axis=k)",
        "prod_axis": "prod(X, axis=k)", "cumprod_axis": "cumprod(X, axis=k)",
        "softmax_rows": "softmax(X, axis=1)"}


def _cell(text: str) -> str:
    """A table cell: a ``|`` (absolute values, norms) would end the cell."""
    return text.replace("|", r"\|")


def _row(name: str, aliases: str, kind: str, domain: str) -> str:
    text, shapes, wrt = SAMPLES.get(name, (f"{name}(x)", {}, "x"))
    d = sbp.derive(text, shapes=shapes or None, wrt=wrt)
    names = symbol_table(d)
    forward = r",\ ".join(f"{expr_latex(e.lhs, names)} = {expr_latex(e.rhs, names)}"
                          for e in d.forward)
    v = next(s for s in d.inputs if str(s.name) == wrt)
    grad = expr_latex(d.gradient(v), names)
    out = expr_latex(d.output, names)
    arg = expr_latex(v, names)
    derivative = rf"\frac{{\partial {out}}}{{\partial {arg}}} = {grad}"
    return (f"| `{name}` | {aliases} | {kind} | `{text}` | ${_cell(forward)}$ | "
            f"${_cell(derivative)}$ | {_cell(domain or 'all')} |")


def page() -> str:
    lines = [
        "# Vocabulary",
        "",
        "Every function the text language knows (`derive(\"...\")`; the LaTeX reader and a "
        "traced NumPy function know the same names), as the library writes and "
        "differentiates it today. *Primitive* functions have a rule of their own "
        "(`symbackprop/rules.py`, `symbackprop/linalg.py`); *written out* ones are "
        "compositions of primitives (`symbackprop/composites.py`), and the derivation shows "
        "what they are. Each row derives the input shown: the forward equations, and the "
        "gradient of the output with respect to one variable written out in the inputs "
        "(`d.gradients()`). Rebuilt by `python -m tools.vocabulary`; a test fails when "
        "this page is not what the library does.",
        "",
        "Operators: `+ - * / **`, `@` (matrix product), `.T` (transpose), "
        "`hadamard(A, B)`; constants `ones(m, n)`, `zeros(m, n)`, `eye(n)`; "
        "`axis=0 | 1 | -1 | -2` for `sum`, `mean`, `var`, `softmax`, `log_softmax`, `logsumexp`, "
        "`max`, `min`, "
        "`prod`, `cumsum`, `cumprod`, `flip`; of a tensor (rank ≥ 3), an axis or a tuple of "
        "axes, `axis=(0, 2, 3)`, for `sum`, `mean`, `var` (kept with length 1) and one axis "
        "for `softmax`, `log_softmax`, `logsumexp`, and NumPy's broadcasting in `+ - * /`; "
        "`axis=` for `concatenate`, "
        "`stack`, `repeat`; `max(X)` and `min(X)` of one array are its largest and "
        "smallest entry (NumPy's `np.max`), `max(a, b)` the larger of each pair; a "
        "comparison `a > b` (`<`, `>=`, `<=`) is the number 0 or 1, as NumPy's boolean. "
        "Static arguments (sizes, counts, indices, pad widths) are numbers written in the text. "
        "See [writing expressions](writing-expressions.md) "
        "and [matrix calculus](matrix-calculus.md).",
        "",
        "| name | also | kind | input | written | derivative | domain |",
        "|---|---|---|---|---|---|---|",
    ]
    rows: list[str] = []
    for name, rule in sorted(RULES.items()):
        if not rule.arity:
            continue
        aliases = ", ".join(f"`{a}`" for a in rule.aliases)
        kind = "primitive, element-wise" if rule.sympy is not None else "primitive"
        rows.append(_row(name, aliases, kind, rule.domain))
    for name, kind in (("cumsum", "written out: a product with tril(𝟏)"),
                       ("cumprod", "primitive (cumprod_axis)"),
                       ("flip", "written out: a product with J")):  # ops.reduce_axis
        rows.append(_row(name, "", kind,
                         "a vector, or a matrix with axis=0 or 1 (NumPy would flatten it)"))
    rows.append(_row("log_softmax", "", "written out: x − logsumexp(x), of each column as "
                     "the softmax, or along axis=k", "all"))
    for name, kind in STRUCTURAL_KINDS.items():
        rows.append(_row(name, "", kind, "all (sizes, indices and widths are numbers)"))
    rows.append(_row("norm(x, ord)", "`ord=`", "NumPy's orders: None, 2, 'fro' are norm2, 1 "
                     "norm1; inf, -inf and p of a vector (a column), 1 and inf of a matrix or "
                     "a (1, n) row (2-D, as NumPy reads it) written out; in code that uses "
                     "a library's call, of NumPy's 1-D value (X[0] too) the vector norm, of a "
                     "2-D column the matrix norm (-1 is Σ|x|, -2 and 'nuc' its 2-norm, other "
                     "p refused)",
                     "x ≠ 0; a matrix's 2 and 'nuc' (spectral, nuclear) have no rule"))
    for name, (kind, domain) in TENSORS.items():
        rows.append(_row(name, "", kind, domain))
    for name, kind in LAYERS.items():
        rows.append(_row(name, "", kind, "X (features, samples), γ and β columns of its rows; "
                                         "ε > 0"))
    rows.append(_row("X[a:b, c:d]", "`x[i]`, `X[i]`, `X[:, j]`, `X[a:b:s]`, `x[::-1]`",
                     "primitive (slice), indices from 0; a negative step is the flip along "
                     "the axis, sliced forward", "all"))
    for name in sorted(COMPOSITES):
        kind = ("primitive, element-wise, with its order" if name in ORDERS
                else "written out")
        rows.append(_row(name, "", kind, COMPOSITE_DOMAINS.get(name, "")))
    lines += rows
    lines += ["", "Along an axis (`k` = 0: each column, a row; 1 or −1: each row, a column):", "",
              "| name | input | domain |", "|---|---|---|"]
    lines += [f"| `{n}` | `{t}` | {_cell(RULES[n].domain or 'all')} |" for n, t in AXES.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    PAGE.write_text(page(), encoding="utf-8")
    print(PAGE.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
