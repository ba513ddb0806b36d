"""The gallery in ``docs/gallery``: every page made by this command from the list below.

    python -m tools.gallery                 # writes docs/gallery/*.md, *.html, *.svg
    python -m tools.gallery --images docs/img   # also the README's pictures (PNG)

Each example gives a Markdown page (the lecture note, the computation graph as SVG, the
evaluation trace at one point, the generated NumPy code) and the same as a standalone HTML
page typeset with KaTeX (``_katex/`` beside the pages, copied from ``node_modules``). A test
rebuilds the gallery and fails when the committed pages differ.
"""

from __future__ import annotations

import argparse
import html
import math
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from symbackprop.derive import Derivation, derive
from symbackprop.emit.dot import derivation_dot, render_svg_to_fit, run_dot
from symbackprop.emit.html import LINE_PT, blocks_html, copy_katex, page, svg_inline
from symbackprop.emit.markdown import Block, blocks_markdown, document, fence
from symbackprop.emit.trace import trace_html, trace_markdown
from symbackprop.shapes import axes_of

DOCS = Path("docs")


@dataclass(frozen=True)
class Example:
    slug: str
    title: str
    blurb: str
    source: str | Callable[..., Any]
    wrt: Sequence[str] | None = None
    shapes: Mapping[str, Any] = field(default_factory=dict)
    loss: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)  # missing ones: random, seeded
    reading: str = ""  # which textbook form the backward lines are, in a sentence or two

    def derive(self) -> Derivation:
        return derive(self.source, wrt=list(self.wrt) if self.wrt else None,
                      shapes=dict(self.shapes) or None, loss=self.loss)  # type: ignore[arg-type]

    def point(self, d: Derivation) -> dict[str, Any]:
        """The values the trace is shown at: given ones, else N(0, 1) rounded, seed 0."""
        rng = np.random.default_rng(0)
        out: dict[str, Any] = {}
        for s in d.inputs:
            name = str(s.name)
            if name in self.values:
                out[name] = self.values[name]
            elif hasattr(s, "shape"):  # a tensor's axes, not SymPy's (entries, 1)
                out[name] = np.round(rng.normal(size=tuple(int(k) for k in axes_of(s.shape))), 2)
            else:
                out[name] = round(float(rng.normal()), 2)
        return out


def neuron(w: float, x: float, b: float) -> float:
    """One tanh neuron (the gallery's Python-function example)."""
    return math.tanh(w * x + b)


NET = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1)}
DEEP = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (4, 4), "b2": (4, 1), "W3": (2, 4),
        "b3": (2, 1), "y": (2, 1), "lam": ()}

RNN = {"Wh": (3, 3), "Wx": (3, 2), "b": (3, 1), "h0": (3, 1), "v": (3, 1),
       **{f"x{t}": (2, 1) for t in range(1, 5)}}
LSTM = {"h0": (3, 1), "c0": (3, 1), "x": (2, 1),
        **{f"{m}_{k}": (3, 3) if m == "W" else (3, 2) if m == "U" else (3, 1)
           for k in "fiog" for m in "WUb"}}

CNN = {"X": (2, 3, 8, 8), "K1": (4, 3, 3, 3), "c1": (4,), "K2": (6, 4, 3, 3), "c2": (6,),
       "W": (5, 24), "b": (5,), "y": (5, 2)}
NORM = {"X": (3, 5), "gamma": (3, 1), "beta": (3, 1), "R": (3, 5)}
MHA = {"X": (2, 3, 4), **{f"W{k}": (2, 4, 2) for k in "qkv"}, "Wo": (2, 2, 4), "D": (),
       "R": (2, 3, 4)}


def _small(shape: tuple[int, ...], seed: int) -> Any:
    """Weights N(0, 0.3²), rounded: a network whose softmax is not saturated at the trace."""
    return np.round(0.3 * np.random.default_rng(seed).normal(size=shape), 2)


def _rnn_source(steps: int) -> str:
    """``h1 = tanh(Wh@h0 + Wx@x1 + b); …; L = vᵀ h_T``: the loop unrolled as named stages."""
    stages = [f"h{t} = tanh(Wh@h{t - 1} + Wx@x{t} + b)" for t in range(1, steps + 1)]
    return "; ".join([*stages, f"L = v.T@h{steps}"])


EXAMPLES: tuple[Example, ...] = (
    Example("seed-scalar", "The chain rule on (x + y)²",
            "The seed's scalar example: two intermediates and one path.",
            "(x + y)**2", wrt=("x",), values={"x": 1.5, "y": -0.25}),
    Example("seed-network", "A two-layer network with a squared-error loss",
            "The seed's network: o = W⁽²⁾σ(W⁽¹⁾x + b⁽¹⁾) + b⁽²⁾ with L = ½‖o − y‖².",
            "W2@sigmoid(W1@x + b1) + b2", wrt=("W1", "b1", "W2", "b2"), shapes=NET,
            loss="mse"),
    Example("tanh-neuron", "A tanh neuron, from a Python function",
            "One neuron written as a plain Python function, z = tanh(wx + b), typeset by "
            "latexify-py; the derivative of tanh reuses the node's value.",
            neuron, wrt=("w", "b"), values={"w": 0.5, "x": 2.0, "b": -0.3}),
    Example("softmax-cross-entropy", "Softmax cross-entropy",
            "A linear layer with softmax cross-entropy: the gradient at the logits is "
            "softmax(o) − y.",
            "W@x + b", wrt=("W", "b"), shapes={"W": (3, 4), "x": (4, 1), "b": (3, 1),
                                               "y": (3, 1)},
            loss="cross_entropy", values={"y": np.array([[0.0], [1.0], [0.0]])}),
    Example("three-layer-weight-decay", "Three layers with weight decay",
            "A three-layer sigmoid network, written as named stages, with squared error "
            "and an L2 penalty on every weight matrix.",
            "z1 = W1@x + b1; h1 = sigmoid(z1); z2 = W2@h1 + b2; h2 = sigmoid(z2); "
            "o = W3@h2 + b3; L = mse(o, y) + lam/2*(sqnorm(W1) + sqnorm(W2) + sqnorm(W3))",
            wrt=("W1", "b1", "W2", "b2", "W3", "b3"), shapes=DEEP, values={"lam": 0.01}),
    Example("quadratic-form", "A quadratic form",
            "f(x) = ½ xᵀAx: a 1×1 product is the scalar it is, and the gradient is the "
            "Matrix Cookbook's ½(A + Aᵀ)x.",
            "0.5*x.T@A@x", wrt=("x", "A"), shapes={"x": (3, 1), "A": (3, 3)}),
    Example("least-squares", "Least squares",
            "‖Xw − y‖²: the residual r = Xw − y, and the gradient 2Xᵀ(Xw − y).",
            "norm(X@w - y)**2", wrt=("w",), shapes={"X": (5, 3), "w": (3, 1), "y": (5, 1)}),
    Example("ridge-regression", "Ridge regression",
            "Least squares with an L2 penalty λ‖w‖²: the penalty is a stage of its own, "
            "and its gradient 2λw joins the data term's.",
            "sqnorm(X@w - y) + lam*sqnorm(w)", wrt=("w",),
            shapes={"X": (5, 3), "w": (3, 1), "y": (5, 1), "lam": ()}, values={"lam": 0.1}),
    Example("logistic-regression", "Logistic regression",
            "The logistic loss Σ log(1 + exp(−yᵢ xᵢᵀw)) written with softplus over labels "
            "y ∈ {−1, 1}: the gradient is −Xᵀ(σ(−y ⊙ Xw) ⊙ y).",
            "sum(softplus(-hadamard(y, X@w)))", wrt=("w",),
            shapes={"X": (5, 3), "w": (3, 1), "y": (5, 1)},
            values={"y": np.array([[1.0], [-1.0], [1.0], [1.0], [-1.0]])}),
    Example("rnn-bptt", "Backpropagation through time",
            "A tanh recurrent net unrolled over four steps with shared weights, the loss on "
            "the last state: the backward pass per step, then its general step — "
            "∂L/∂h⁽ᵗ⁾ = W_hᵀ δ⁽ᵗ⁺¹⁾ and ∂L/∂W_h = Σ_t δ⁽ᵗ⁾ h⁽ᵗ⁻¹⁾ᵀ.",
            _rnn_source(4), wrt=("Wh", "Wx", "b"), shapes=RNN),
    Example("lstm-step", "One LSTM step",
            "An LSTM cell: forget, input and output gates, the candidate g and the cell "
            "state c; the loss is the sum of the new hidden state.",
            "; ".join([*(f"{k} = {a}(W_{k}@h0 + U_{k}@x + b_{k})" for k, a in (
                ("f", "sigmoid"), ("i", "sigmoid"), ("o", "sigmoid"), ("g", "tanh"))),
                "c = hadamard(f, c0) + hadamard(i, g)", "h = hadamard(o, tanh(c))",
                "L = sum(h)"]),
            wrt=("W_f", "W_i", "W_o", "W_g", "c0", "h0"), shapes=LSTM),
    Example("small-cnn", "A small convolutional network",
            "Two 3×3 convolutions (padding 1) with ReLU, max pooling then average pooling, "
            "flattened into a linear layer with softmax cross-entropy; images are NCHW, "
            "filters (F, C, kh, kw), and the tensors print in index notation.",
            "z1 = conv2d(X, K1, c1, padding=1)\nh1 = relu(z1)\np1 = maxpool2d(h1, 2)\n"
            "z2 = conv2d(p1, K2, c2, padding=1)\nh2 = relu(z2)\np2 = avgpool2d(h2, 2)\n"
            "f = reshape(p2, (2, -1))\no = W@f.T + b@ones(1, 2)",
            wrt=("K1", "c1", "K2", "c2", "W", "b"), shapes=CNN, loss="cross_entropy",
            values={"y": np.eye(5)[:, [1, 3]],
                    **{k: _small(CNN[k], i) for i, k in enumerate(("K1", "K2", "W"))}},
            reading="A filter's gradient ∂L/∂K is the correlation of the padded input with "
            "∂L/∂z, summed over the batch and the image, and its bias's is the sum of ∂L/∂z; "
            "the gradient of a convolution's input (∂L/∂p⁽¹⁾) is the full correlation of "
            "∂L/∂z with the filter turned by 180° (stride 1), written as the sum over the "
            "taps that read each entry. Max pooling routes each gradient to the first maximum "
            "of its window (after the ReLU a window of zeros is a tie: the check names it), "
            "average pooling gives each entry a quarter, and reshape's backward reshapes back."),
    Example("batch-norm", "Batch normalisation",
            "Training mode, columns are samples: each feature (a row) is standardised over "
            "the batch, then scaled by γ and shifted by β.",
            "Y = batchnorm(X, gamma, beta); L = sum(hadamard(Y, R))",
            wrt=("X", "gamma", "beta"), shapes=NORM,
            reading="∂L/∂X is the compact form of the course notes, (1/N) σ⁻¹ ⊙ (N ∂L/∂X̂ − "
            "Σ ∂L/∂X̂ − X̂ ⊙ Σ(∂L/∂X̂ ⊙ X̂)) with the sums along each row (over the N = 5 "
            "samples) and ∂L/∂X̂ = ∂L/∂Y ⊙ γ; ∂L/∂γ and ∂L/∂β are the row sums of ∂L/∂Y ⊙ X̂ "
            "and ∂L/∂Y. How the rule is collected: docs/layers.md."),
    Example("layer-norm", "Layer normalisation",
            "Each sample (a column) is standardised over its features, then scaled by γ and "
            "shifted by β per feature.",
            "Y = layernorm(X, gamma, beta); L = sum(hadamard(Y, R))",
            wrt=("X", "gamma", "beta"), shapes=NORM,
            reading="The same compact form as batch normalisation's with the statistics of "
            "each column: the sums run down the columns (1 1ᵀ ∂L/∂X̂, over the d = 3 "
            "features); γ and β act per feature, so their gradients are still row sums."),
    Example("spatial-batch-norm", "Spatial batch normalisation",
            "batchnorm2d on an (N, C, H, W) tensor: each channel is standardised over the "
            "batch and the image (axes 0, 2, 3), then scaled by γ_c and shifted by β_c.",
            "Y = batchnorm2d(X, gamma, beta); L = sum(Y * R)", wrt=("X", "gamma", "beta"),
            shapes={"X": (2, 3, 2, 2), "gamma": (3,), "beta": (3,), "R": (2, 3, 2, 2)},
            reading="Batch normalisation's compact form per channel c, its sums over the "
            "M = NHW entries of the channel: ∂L/∂X = γ_c/(M σ_c) (M ∂L/∂Y − Σ ∂L/∂Y − "
            "X̂ Σ ∂L/∂Y X̂), with ∂L/∂γ_c = Σ ∂L/∂Y X̂ and ∂L/∂β_c = Σ ∂L/∂Y."),
    Example("attention", "Scaled dot-product attention",
            "One head, a query per row: S = QKᵀ/√d, A = softmax(S, axis=1) (each row), "
            "O = AV.",
            "S = Q@K.T/sqrt(d); A = softmax(S, axis=1); O = A@V; L = sum(hadamard(O, R))",
            wrt=("Q", "K", "V"),
            shapes={"Q": (3, 4), "K": (4, 4), "V": (4, 2), "R": (3, 2), "d": ()},
            values={"d": 4.0},
            reading="The row softmax's backward pass ∂L/∂S = A ⊙ (∂L/∂A − (∂L/∂A ⊙ A) 1 1ᵀ), "
            "each row's Jacobian diag(a) − aaᵀ applied to that row; the matrix products' "
            "∂L/∂A = ∂L/∂O Vᵀ and ∂L/∂V = Aᵀ ∂L/∂O, then ∂L/∂Q = ∂L/∂S K/√d and "
            "∂L/∂K = ∂L/∂Sᵀ Q/√d."),
    Example("multi-head-attention", "Multi-head attention with einsum",
            "Batches b, heads h, positions t, model width m, head width D: the projections, "
            "the scores and the output are einsums over (B, H, T, D) tensors, and the "
            "softmax runs along the keys (axis=-1).",
            "Q = einsum('btm,hmd->bhtd', X, Wq)\nK = einsum('btm,hmd->bhtd', X, Wk)\n"
            "V = einsum('btm,hmd->bhtd', X, Wv)\n"
            "S = einsum('bhqd,bhkd->bhqk', Q, K)/sqrt(D)\nA = softmax(S, axis=-1)\n"
            "O = einsum('bhqk,bhkd->bhqd', A, V)\nY = einsum('bhtd,hdm->btm', O, Wo)\n"
            "L = sum(Y * R)",
            wrt=("Wq", "Wk", "Wv", "Wo", "X"), shapes=MHA, values={"D": 2.0},
            reading="Each einsum's backward line is an einsum again, with ∂L/∂ of its output "
            "in the operand's place and the operand's indices as the result (∂L/∂V_bhkd = "
            "Σ_q ∂L/∂O_bhqd A_bhqk); the softmax along the last axis has the row softmax's "
            "backward pass on every (b, h, q), and X, used by three projections, collects "
            "three contractions."),
)


def _strip_svg(svg: str) -> str:
    """dot's SVG without the comment naming dot's version (the same picture either way)."""
    return re.sub(r"<!-- Generated by graphviz version [^>]*-->\n", "", svg)


CHECK_WORDS = (" at the point of the trace below: the symbolic backward pass, the independent "
               "NumPy engine and central finite differences of the input as written, compared "
               "entry by entry.")


def example_pages(ex: Example) -> dict[str, str]:
    """The files of one example: ``slug.md``, ``slug.html``, ``slug.svg``."""
    d = ex.derive()
    point = ex.point(d)
    t = d.trace(point)
    report = d.check(point)
    if not report.ok:  # a page shows only a derivation the witnesses agree with
        raise AssertionError(f"{ex.slug}: the check fails at the trace's point\n{report}")
    svg = _strip_svg(render_svg_to_fit(d, t, width=LINE_PT))  # as d.html(graph=True) lays it out
    code = d.to_python()
    blocks = document(d, title=ex.title)
    intro = Block("para", ((ex.blurb, False),))
    blocks.insert(1, intro)

    md = [blocks_markdown(blocks).rstrip("\n")]
    extra_html = []
    if ex.reading:
        md += ["## The textbook form", ex.reading]
        extra_html += ["<h2>The textbook form</h2>", f"<p>{html.escape(ex.reading)}</p>"]
    md += ["## Numeric check", f"`d.check(values)`{CHECK_WORDS}", fence(str(report))]
    extra_html += ["<h2>Numeric check</h2>", f"<p><code>d.check(values)</code>{CHECK_WORDS}</p>",
                   f"<pre><code>{html.escape(str(report))}</code></pre>"]
    md.append("## Computation graph")
    md.append("Forward edges in blue; backward edges dashed in red, each labelled with its "
              "local derivative; values and adjoints at the point of the trace below.")
    md.append(f"![The computation graph of {ex.slug}]({ex.slug}.svg)")
    md.append("## Evaluation trace")
    md.append("Every input and intermediate with its value in the forward pass and its "
              "adjoint in the backward pass.")
    md.append(trace_markdown(t).rstrip("\n"))
    md.append("## Generated code")
    md.append("`d.to_python()`: the same forward and backward pass as NumPy code.")
    md.append(fence(code.rstrip("\n"), "python"))
    md.append(f"[This page as HTML]({ex.slug}.html) · [all examples](index.md)")

    body = [blocks_html(blocks), *extra_html,
            "<h2>Computation graph</h2>",
            "<p>Forward edges in blue; backward edges dashed in red, each labelled with its "
            "local derivative.</p>",
            f'<figure class="sbp-graph">{svg_inline(svg)}</figure>',
            "<h2>Evaluation trace</h2>",
            "<p>Every input and intermediate with its value in the forward pass and its "
            "adjoint in the backward pass.</p>",
            trace_html(t),
            "<h2>Generated code</h2>",
            f'<pre><code class="language-python">{html.escape(code)}</code></pre>',
            f'<p><a href="{ex.slug}.md">This page as Markdown</a> · '
            '<a href="index.html">all examples</a></p>']
    return {
        f"{ex.slug}.md": "\n\n".join(md) + "\n",
        f"{ex.slug}.html": page("\n".join(body), ex.title, assets="link", katex_href="_katex"),
        f"{ex.slug}.svg": svg,
    }


def index_pages(examples: Sequence[Example]) -> dict[str, str]:
    md = ["# Gallery", "Every page here is made by `python -m tools.gallery` from the list "
          "in `tools/gallery.py`; a test fails when a committed page is out of date.",
          "| example | what it shows | pages |", "|:--|:--|:--|"]
    items = []
    for ex in examples:
        md.append(f"| {ex.title} | {ex.blurb} | [Markdown]({ex.slug}.md) · "
                  f"[HTML]({ex.slug}.html) · [graph]({ex.slug}.svg) |")
        items.append(f'<li><a href="{ex.slug}.html">{html.escape(ex.title)}</a>: '
                     f"{html.escape(ex.blurb)}</li>")
    body = ("<h1>Gallery</h1>\n<p>Made by <code>python -m tools.gallery</code>.</p>\n"
            "<ul>\n" + "\n".join(items) + "\n</ul>")
    return {"index.md": "\n\n".join(md[:2]) + "\n\n" + "\n".join(md[2:]) + "\n",
            "index.html": page(body, "symbackprop gallery", assets="link")}


def build(out: str | Path = DOCS / "gallery",
          examples: Sequence[Example] = EXAMPLES) -> list[Path]:
    """Write the gallery into ``out`` (pages, pictures and KaTeX's files); the paths written."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, str] = {}
    for ex in examples:
        files.update(example_pages(ex))
    files.update(index_pages(examples))
    written = []
    for name, text in files.items():
        p = folder / name
        p.write_text(text, encoding="utf-8")
        written.append(p)
    copy_katex(folder / "_katex")
    return written


# ---------------------------------------------------------------------------------------
# Pictures for the README (not compared by the tests: PNG bytes vary with the renderer)

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--hide-scrollbars", "--virtual-time-budget=5000")


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def screenshot(page_path: Path, png: Path, size: str = "1000,1500") -> None:
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("Chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                        f"--screenshot={png.resolve()}", f"--window-size={size}",
                        page_path.resolve().as_uri()],
                       check=True, capture_output=True, timeout=120)


def images(gallery: Path, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    net = next(ex for ex in EXAMPLES if ex.slug == "seed-network")
    d = net.derive()
    graph = out / "seed-network-graph.png"
    graph.write_bytes(run_dot(derivation_dot(d, d.trace(net.point(d))), "png"))
    shot = out / "seed-network-page.png"
    screenshot(gallery / "seed-network.html", shot)
    return [graph, shot]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.gallery",
                                description="Build the gallery pages in docs/gallery.")
    p.add_argument("--out", default=str(DOCS / "gallery"), help="the gallery folder")
    p.add_argument("--images", metavar="DIR", help="also write the README's PNG pictures here")
    args = p.parse_args(argv)
    for path in build(args.out):
        print(path, file=sys.stderr)
    if args.images:
        for path in images(Path(args.out), Path(args.images)):
            print(path, file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
