"""Build docs/matrix-calculus.md: identities of the Matrix Cookbook and of classical ML, each
derived by symbackprop, its gradient printed as we print it, and checked three ways.

    python -m tools.matrix_calculus            # writes docs/matrix-calculus.md

``tests/test_matrix_calculus.py`` rebuilds the page and fails when the committed one differs,
so every row of the table is what the library does today.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import symbackprop as sbp
from symbackprop.emit.printer import expr_latex
from symbackprop.emit.symbols import symbol_table

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "matrix-calculus.md"


class Identity(NamedTuple):
    name: str
    textbook: str  # the identity as the book writes it (LaTeX)
    text: str  # our input
    shapes: dict[str, Any]
    wrt: str
    values: dict[str, Any] | None = None


SPD = np.array([[3.0, 0.2, 0.1], [0.3, 2.5, 0.4], [0.1, 0.2, 2.0]])  # det > 0
IDENTITIES = (
    Identity("linear form", r"\nabla_x\, a^\top x = a", "a.T@x",
             {"a": (3, 1), "x": (3, 1)}, "x"),
    Identity("quadratic form", r"\nabla_x\, x^\top A x = (A + A^\top)x", "x.T@A@x",
             {"x": (3, 1), "A": (3, 3)}, "x"),
    Identity("bilinear form", r"\nabla_A\, x^\top A y = x y^\top", "x.T@A@y",
             {"x": (3, 1), "A": (3, 2), "y": (2, 1)}, "A"),
    Identity("trace of a product", r"\nabla_X \operatorname{tr}(A X) = A^\top", "tr(A@X)",
             {"A": (2, 3), "X": (3, 2)}, "X"),
    Identity("Cookbook (116)",
             r"\nabla_X \operatorname{tr}(A X^\top B X C) = B X C A + B^\top X A^\top C^\top",
             "tr(A@X.T@B@X@C)", {"A": (2, 2), "X": (3, 2), "B": (3, 3), "C": (2, 2)}, "X"),
    Identity("determinant", r"\nabla_X \det X = \det(X)\, X^{-\top}", "det(X)",
             {"X": (3, 3)}, "X", {"X": SPD}),
    Identity("log-determinant", r"\nabla_X \log\det X = X^{-\top}", "logdet(X)",
             {"X": (3, 3)}, "X", {"X": SPD}),
    Identity("log-det of the inverse", r"\nabla_X \log\det X^{-1} = -X^{-\top}",
             "log(det(inv(X)))", {"X": (3, 3)}, "X", {"X": SPD}),
    Identity("Euclidean norm", r"\nabla_x \lVert Ax - y\rVert = A^\top(Ax - y)/\lVert Ax - y\rVert",
             "norm2(A@x - y)", {"A": (2, 3), "x": (3, 1), "y": (2, 1)}, "x"),
    Identity("least squares", r"\nabla_x \lVert Ax - y\rVert^2 = 2A^\top(Ax - y)",
             "(A@x - y).T@(A@x - y)", {"A": (4, 3), "x": (3, 1), "y": (4, 1)}, "x"),
    Identity("ridge regression",
             r"\nabla_w (\lVert Xw - y\rVert^2 + \lambda\lVert w\rVert^2)"
             r" = 2X^\top(Xw - y) + 2\lambda w",
             "sqnorm(X@w - y) + lam*sqnorm(w)", {"X": (5, 3), "w": (3, 1), "y": (5, 1)}, "w"),
    Identity("logistic regression",
             r"\nabla_w \textstyle\sum_i \log(1 + e^{-y_i x_i^\top w})"
             r" = -X^\top(y \odot \sigma(-y \odot Xw))",
             "sum(softplus(-hadamard(y, X@w)))", {"X": (5, 3), "w": (3, 1), "y": (5, 1)}, "w"),
    Identity("mean squared error",
             r"\nabla_W \operatorname{mean}((WX - Y)^{\circ 2}) = \tfrac{2}{N}(WX - Y)X^\top",
             "mean((W@X - Y)**2)", {"W": (2, 3), "X": (3, 4), "Y": (2, 4)}, "W"),
    Identity("centring by the row mean",
             r"\mu = \tfrac1n X\mathbf{1},\ \nabla_X \mu = \tfrac1n \mathbf{1}^\top",
             "mu = mean(X, axis=1); L = sum(hadamard(mu, mu))", {"X": (3, 4)}, "X"),
    Identity("max along rows",
             r"\nabla_S \textstyle\sum_i \max_j S_{ij} = \mathbf{1}[S = m\mathbf{1}^\top]",
             "sum(max(S, axis=1))", {"S": (3, 4)}, "S"),
    Identity("log-sum-exp", r"\nabla_x \operatorname{logsumexp}(x) = \operatorname{softmax}(x)",
             "logsumexp(x)", {"x": (4, 1)}, "x"),
    # losses (composites.py): the kinks' derivatives are the indicators 𝟏[m > 0]
    Identity("softmax cross-entropy over a batch",
             r"\nabla_W \tfrac1N \textstyle\sum_i -\log \operatorname{softmax}(W x_i)_{y_i}"
             r" = \tfrac1N (\operatorname{softmax}(WX) - Y) X^\top",
             "cross_entropy(W@X, Y) / 4", {"W": (3, 2), "X": (2, 4), "Y": (3, 4)}, "W",
             {"W": np.array([[0.5, -1.0], [0.3, 0.8], [-0.2, 0.1]]),
              "X": np.array([[1.0, -0.5, 0.3, 2.0], [0.2, 1.1, -0.7, 0.4]]),
              "Y": np.eye(3)[:, [0, 2, 1, 2]]}),
    Identity("multiclass SVM (CS231n)",
             r"\nabla_{s_j} \textstyle\sum_{k \ne y} \max(0, s_k - s_y + 1)"
             r" = \mathbf{1}[s_j - s_y + 1 > 0]\ (j \ne y),\ "
             r"\nabla_{s_y} = -\textstyle\sum_{j \ne y} \mathbf{1}[s_j - s_y + 1 > 0]",
             "multiclass_hinge(S, Y)", {"S": (3, 4), "Y": (3, 4)}, "S",
             {"S": np.array([[0.5, -1.0, 2.0, 0.1], [0.3, 0.8, -0.4, 0.6],
                             [-0.2, 0.1, 1.5, -0.9]]), "Y": np.eye(3)[:, [0, 2, 1, 2]]}),
    Identity("binary hinge", r"\nabla_s \max(0, 1 - ys) = -y\,\mathbf{1}[1 - ys > 0]",
             "sum(hinge(s, y))", {"s": (4, 1), "y": (4, 1)}, "s",
             {"s": np.array([[0.3], [-2.0], [1.7], [0.4]]),
              "y": np.array([[1.0], [-1.0], [1.0], [-1.0]])}),
    Identity("Huber (PyTorch's huber_loss)",
             r"\nabla_o \operatorname{mean}(\operatorname{huber}_\delta(o - y))"
             r" = \tfrac1n \operatorname{clip}(o - y, -\delta, \delta)",
             "mean(huber(o - y, 1))", {"o": (4, 1), "y": (4, 1)}, "o",
             {"o": np.array([[0.3], [-2.0], [1.7], [0.4]]),
              "y": np.array([[0.1], [0.5], [-0.2], [0.9]])}),
)


def row(ident: Identity) -> str:
    d = sbp.derive(ident.text, shapes=ident.shapes, wrt=ident.wrt)
    report = d.check(ident.values)
    got = expr_latex(d.gradient(ident.wrt), symbol_table(d))
    verdict = "✓ symbolic, NumPy engine, finite differences" if report.ok else "✗ " + str(report)
    return (f"| {ident.name} | ${ident.textbook}$ | `{ident.text}` | "
            f"${got}$ | {verdict} |")


def page() -> str:
    lines = [
        "# Matrix calculus",
        "",
        "Identities of the Matrix Cookbook and the losses of classical machine learning, as "
        "symbackprop derives them. Each row is derived from the input shown, its gradient "
        "(the backward pass written out in the inputs, `d.gradient(v)`) printed as the "
        "library prints it, and `d.check()` run on it: the symbolic gradient against the "
        "independent NumPy backprop and central finite differences of the text as written. "
        "Rebuilt by `python -m tools.matrix_calculus`; a test fails when this page is not "
        "what the library does today.",
        "",
        "What the language offers for matrix calculus (see also "
        "[writing expressions](writing-expressions.md)):",
        "",
        "* a 1×1 result is a scalar wherever one is meant: `x.T@A@x`, `log(x.T@x)`, "
        "`(x.T@y)*z`, `a.T@b/(norm2(a)*norm2(b))`;",
        "* `tr`/`trace`, `det`, `logdet`, `inv`, `norm2` (`norm`, Euclidean or Frobenius), "
        "`norm1`, `sqnorm`, `mean`, `var`, `logsumexp`, and the element-wise `arcsin`, "
        "`arccos`, `arctan` (`asin`, `acos`, `atan`), `sinh`, `cosh`, `erf`, `sign`, "
        "`square`;",
        "* `axis=0 | 1 | -1 | -2` for `sum`, `mean`, `var`, `softmax`, `logsumexp`, written with "
        "ones vectors (`sum(X, axis=1)` is `X 1`), and for `max`, `min` (the cotangent goes "
        "where the extreme was taken, shared among ties, `𝟏[X = m 1ᵀ] ⊘ (𝟏[X = m 1ᵀ] 1 1ᵀ)`; "
        "the slope of `max(a, b)` is `𝟏[a > b] + ½ 𝟏[a = b]`, ½ each at a tie), the axis "
        "kept so that the result "
        "broadcasts back (`X - mean(X, axis=1)`); a `softmax`, `log_softmax` or "
        "`cross_entropy` along an axis of length 1 of a row or a column (`softmax(r)` of a "
        "row r, each column) is 1 everywhere and its gradient 0: refused as a likely slip, "
        "naming the other axis (of a 1×1 or a tensor it is NumPy's);",
        "* NumPy's broadcasting of scalars, 1×1, columns and rows in every element-wise "
        "operation, a row against a column too (`r - c` is `𝟏 r − c 𝟏ᵀ`), written out in the "
        "forward pass (`μ 1ᵀ`) and summed back in the backward pass;",
        "* `ones(m, n)`, `zeros(m, n)`, `eye(n)`, with whole numbers or dimensions named in "
        "`shapes`;",
        "* the losses `cross_entropy(O, Y)` and `mse(O, Y)` (sums over the batch; divide by "
        "N for the mean), `mse_loss(O, Y)` (PyTorch's: `mean((O - Y)**2)`), "
        "`multiclass_hinge(S, Y)` (`svm_loss`: CS231n's multiclass SVM loss of scores S and "
        "one-hot targets Y, classes down and samples across, summed over the batch), and "
        "entry by entry `hinge(s, y)`, `logistic_loss(s, y)` (labels ±1), written out in "
        "primitives, so the backward pass names the margins and their indicator `𝟏[m > 0]` "
        "(ReLU′ and the max's derivative print as that indicator too), and the primitive "
        "`huber(a, delta)`, whose derivative is the clip `min(δ, max(a, −δ))`.",
        "",
        "Sums in the backward pass are written as the book writes them: equal terms merged "
        "and a factor every term shares taken out (`Aᵀx + Ax` is `(Aᵀ + A)x`), a rewriting "
        "of our own (`symbackprop.algebra.collect`, no `simplify`).",
        "",
        "| identity | textbook | our input | our gradient | checked |",
        "|---|---|---|---|---|",
    ]
    lines += [row(i) for i in IDENTITIES]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    PAGE.write_text(page(), encoding="utf-8")
    print(PAGE.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
