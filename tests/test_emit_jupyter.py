"""Jupyter: Derivation and Trace display themselves, without IPython."""

from __future__ import annotations

import shutil
import sys

import pytest

import symbackprop as sbp


def test_derivation_mimebundle() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    b = d._repr_mimebundle_()
    assert b["text/plain"].startswith("<Derivation of z")
    assert b["text/latex"].startswith("$$\n\\begin{aligned}")
    assert b["text/markdown"].startswith("### Backpropagation")
    assert "<h4>Forward pass</h4>" in b["text/html"]
    assert "image/svg+xml" not in b  # opt-in: nbconvert to LaTeX/PDF needs no Inkscape
    if shutil.which("dot"):
        assert "<svg" in b["text/html"]
        svg = d._repr_mimebundle_(include=["image/svg+xml"])
        assert svg["image/svg+xml"].lstrip().startswith("<?xml")
    assert set(d._repr_mimebundle_(include=["text/latex"])) == {"text/latex"}
    assert "text/html" not in d._repr_mimebundle_(exclude=["text/html"])


def test_derivation_single_reprs() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    assert d._repr_latex_() == f"$$\n{d.latex()}\n$$"
    assert d._repr_markdown_() == d.markdown()
    assert "<h2>Problem</h2>" not in d._repr_html_()  # headings sit below a notebook's own
    assert "<h4>Problem</h4>" in d._repr_html_()


def test_trace_reprs() -> None:
    t = sbp.derive("(x + y)**2", wrt="x").trace({"x": 1.5, "y": -0.25})
    b = t._repr_mimebundle_()
    assert set(b) == {"text/plain", "text/latex", "text/markdown", "text/html"}
    assert b["text/latex"] == f"$$\n{t.latex()}\n$$"
    assert t._repr_html_() == b["text/html"]  # formulas kept whole, as the bundle's
    assert b["text/plain"] == str(t)  # the table print(t) shows
    assert "t         x + y       1.25   2.5" in b["text/plain"]


def test_no_ipython_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "IPython", None)  # importing it would now fail
    d = sbp.derive("(x + y)**2", wrt="x")
    assert d._repr_mimebundle_()["text/plain"]
