"""A real notebook (issue 17 part 4): executed by nbclient on an IPython kernel, exported by
nbconvert to HTML and to LaTeX. Showing a derivation, a trace and a check report must give
each exporter a form it uses directly, so LaTeX export needs no Inkscape (no standalone SVG)
and no pandoc (text/latex before text/markdown).

Skipped, with the reason, where nbclient, nbconvert or ipykernel is missing; CI
(SYMBACKPROP_REQUIRE_TOOLS=1) fails instead.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import pytest

NET = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1)}
CELLS = [
    "import symbackprop as sbp\n"
    f"d = sbp.derive('W2@sigmoid(W1@x + b1) + b2', loss='mse', shapes={NET!r})\n"
    "d",
    "import numpy as np\n"
    "rng = np.random.default_rng(0)\n"
    f"t = d.trace({{k: rng.normal(size=s) for k, s in {NET!r}.items()}})\n"
    "t",
    "print(t)",
    "d.check()",
    "d.compact('backward')",
]


def _need(module: str) -> Any:
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{module} is required in CI but missing")
        pytest.skip(f"{module} not installed (pip install -e '.[dev]')")


@pytest.fixture(scope="module")
def notebook() -> Any:
    nbformat = _need("nbformat")
    nbclient = _need("nbclient")
    _need("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    with warnings.catch_warnings():  # jupyter_client's own deprecations are not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
    return nb


def _outputs(nb: Any, cell: int) -> list[Any]:
    return list(nb.cells[cell].outputs)


def test_the_notebook_shows_each_object_in_forms_every_exporter_reads(notebook: Any) -> None:
    for cell in (0, 1):
        (out,) = _outputs(notebook, cell)
        assert out.output_type == "execute_result"
        assert {"text/plain", "text/latex", "text/html"} <= set(out.data)
        assert "image/svg+xml" not in out.data  # would need Inkscape to export to LaTeX
    assert r"\begin{aligned}" in _outputs(notebook, 0)[0].data["text/latex"]
    assert 'class="sbp-trace"' in _outputs(notebook, 1)[0].data["text/html"]
    (printed,) = _outputs(notebook, 2)
    assert printed.output_type == "stream"
    head = printed.text.splitlines()[0].split()
    assert head[:3] == ["variable", "definition", "value"]
    (report,) = _outputs(notebook, 3)
    assert report.data["text/plain"].startswith("<CheckReport ok")
    assert "<table" in report.data["text/html"]
    (compact,) = _outputs(notebook, 4)
    assert set(compact.data) == {"text/plain", "text/latex", "text/markdown"}
    assert r"\textbf{backward}" in compact.data["text/latex"]
    assert r"\textbf{forward}" not in compact.data["text/latex"]


def test_the_notebook_exports_to_html_and_latex(notebook: Any) -> None:
    nbconvert = _need("nbconvert")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        page, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
        tex, resources = nbconvert.LatexExporter().from_notebook_node(notebook)
    assert page.count('class="sbp-trace"') == 1
    assert "Backpropagation" in page
    assert r"\begin{aligned}" in tex  # the derivation as its own LaTeX
    assert r"\begin{array}{llrr}" in tex  # the trace as its own LaTeX table
    assert tex.count(r"\textbf{backward}") == 2  # the note's and the compact display's
    assert not resources.get("outputs")  # no picture converted (Inkscape) or written
    assert r"\includegraphics" not in tex.split(r"\begin{document}", 1)[1]


def test_compact_shows_the_equations_alone() -> None:
    """Issue 17 part 4: a compact display, the aligned block without the note's prose."""
    import symbackprop as sbp

    d = sbp.derive("(x + y)**2", wrt="x")
    c = d.compact()
    bundle = c._repr_mimebundle_()
    assert bundle["text/latex"] == f"$$\n{d.latex()}\n$$" == c._repr_latex_()
    assert "text/html" not in bundle  # the notebook's math renderer takes the LaTeX
    assert bundle["text/plain"] == repr(c) == d.to("text")
    assert "Forward pass" in d._repr_mimebundle_()["text/markdown"]
    assert "Forward pass" not in bundle["text/markdown"]
    assert c._repr_mimebundle_(include=["text/latex"]).keys() == {"text/latex"}
    with pytest.raises(ValueError, match="choose from"):
        d.compact("f")
