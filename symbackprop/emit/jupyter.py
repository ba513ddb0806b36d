"""Jupyter display: what ``Derivation`` and ``Trace`` hand to IPython (no IPython needed).

``_repr_mimebundle_`` returns plain text, LaTeX, Markdown, HTML (the lecture note, math left
for the notebook's MathJax/KaTeX, with the computation graph as inline SVG where ``dot``
exists) and the graph alone as ``image/svg+xml``.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import TYPE_CHECKING, Any

from .dot import have_dot, render_svg
from .html import derivation_fragment, svg_inline
from .latex import derivation_latex
from .markdown import derivation_markdown
from .text import derivation_text
from .trace import trace_html, trace_latex, trace_markdown, trace_text

if TYPE_CHECKING:
    from ..derivation import Derivation
    from ..evaluate import Trace


def _filter(bundle: dict[str, Any], include: Container[str] | None,
            exclude: Container[str] | None) -> dict[str, Any]:
    return {k: v for k, v in bundle.items()
            if (include is None or k in include) and (exclude is None or k not in exclude)}


def derivation_html_repr(d: Derivation) -> str:
    return derivation_fragment(d, level=3, graph="auto")


def derivation_mimebundle(d: Derivation, include: Container[str] | None = None,
                          exclude: Container[str] | None = None) -> dict[str, Any]:
    def want(k: str) -> bool:
        return (include is None or k in include) and (exclude is None or k not in exclude)

    bundle: dict[str, Any] = {"text/plain": repr(d)}
    if want("text/latex"):
        bundle["text/latex"] = f"$$\n{derivation_latex(d)}\n$$"
    if want("text/markdown"):
        bundle["text/markdown"] = derivation_markdown(d, level=3)
    # the graph as a standalone image only when asked for by name: a notebook that merely
    # shows d would otherwise need Inkscape to export to LaTeX or PDF
    svg_asked = include is not None and "image/svg+xml" in include
    svg = render_svg(d) if have_dot() and (want("text/html") or svg_asked) else None
    if want("text/html"):
        html = derivation_fragment(d, level=3)
        if svg is not None:
            html += f'\n<figure class="sbp-graph">{svg_inline(svg)}</figure>'
        bundle["text/html"] = html
    if svg is not None and svg_asked:
        bundle["image/svg+xml"] = svg
    return _filter(bundle, include, exclude)


def trace_mimebundle(t: Trace, include: Container[str] | None = None,
                     exclude: Container[str] | None = None) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "text/plain": trace_text(t),  # the table print(t) shows (a console, nbconvert's text)
        "text/latex": f"$$\n{trace_latex(t)}\n$$",
        "text/markdown": trace_markdown(t),
        # MathJax 2 (nbconvert's pages) breaks a plain span in a table cell over lines
        "text/html": trace_html(t, inline_blocks=True),
    }
    return _filter(bundle, include, exclude)


class Compact:
    """A derivation shown by its equations alone (``d.compact()``): one aligned block, no
    headings or prose, for a notebook that shows many derivations. LaTeX only (no HTML), so
    the notebook's own math renderer and nbconvert's LaTeX export take it as it is."""

    def __init__(self, d: Derivation, sections: Sequence[str] | str | None = None) -> None:
        self.latex = derivation_latex(d, sections)  # a wrong section name fails here
        self.text = derivation_text(d)

    def __repr__(self) -> str:
        return self.text

    def _repr_latex_(self) -> str:
        return f"$$\n{self.latex}\n$$"

    def _repr_mimebundle_(self, include: Container[str] | None = None,
                          exclude: Container[str] | None = None) -> dict[str, Any]:
        bundle = {"text/plain": self.text, "text/latex": self._repr_latex_(),
                  "text/markdown": self._repr_latex_()}
        return _filter(bundle, include, exclude)
