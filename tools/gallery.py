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
            elif hasattr(s, "shape"):
                out[name] = np.round(rng.normal(size=tuple(int(k) for k in s.shape)), 2)
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
)


def _strip_svg(svg: str) -> str:
    """dot's SVG without the comment naming dot's version (the same picture either way)."""
    return re.sub(r"<!-- Generated by graphviz version [^>]*-->\n", "", svg)


def example_pages(ex: Example) -> dict[str, str]:
    """The files of one example: ``slug.md``, ``slug.html``, ``slug.svg``."""
    d = ex.derive()
    t = d.trace(ex.point(d))
    svg = _strip_svg(render_svg_to_fit(d, t, width=LINE_PT))  # as d.html(graph=True) lays it out
    code = d.to_python()
    blocks = document(d, title=ex.title)
    intro = Block("para", ((ex.blurb, False),))
    blocks.insert(1, intro)

    md = [blocks_markdown(blocks).rstrip("\n")]
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

    body = [blocks_html(blocks),
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
