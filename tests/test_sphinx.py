"""The Sphinx directive, built by Sphinx's own test fixtures (html and latex builders)."""

from __future__ import annotations

import os
import re
import shutil
from html import unescape
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sphinx")

pytest_plugins = ("sphinx.testing.fixtures",)

_BLOCK = re.compile(r'<div class="backprop math[^"]*">\s*\\\[(.*?)\\\]</div>', re.S)


@pytest.fixture(scope="session")
def rootdir() -> Path:
    return Path(__file__).resolve().parent / "roots"


@pytest.mark.sphinx("html", testroot="backprop")
def test_html_builder_emits_math_blocks(app: Any) -> None:
    app.build()
    html = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    blocks = [unescape(b) for b in _BLOCK.findall(html)]
    assert len(blocks) == 4  # scalar, network, its trace, the staged one
    assert r"t &= x + y" in blocks[0]
    assert r"\frac{\partial z}{\partial t}\,\frac{\partial t}{\partial x}" in blocks[0]
    assert r"\textbf{forward}" in html
    assert r"\textbf{backward}" in html
    assert r"\begin{array}{llrr}" in html  # the trace table
    assert "backprop" in html
    if shutil.which("dot"):
        assert "graphviz" in html
    assert "ERROR" not in app._warning.getvalue()
    if shutil.which("node"):
        from latex_tools import assert_latex_ok

        assert_latex_ok(blocks)  # what MathJax/KaTeX get: \begin{split} around our block


@pytest.mark.sphinx("latex", testroot="backprop")
def test_latex_builder_emits_display_math(app: Any) -> None:
    if not shutil.which("dot"):
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("Graphviz dot is required in CI but missing")
        pytest.skip("Graphviz dot not installed (the latex builder renders the graph)")
    app.build()
    tex = (Path(app.outdir) / "backprop.tex").read_text(encoding="utf-8")
    assert r"\begin{aligned}" in tex
    assert r"t &= x + y" in tex
    assert r"\begin{array}{llrr}" in tex
    assert "ERROR" not in app._warning.getvalue()


@pytest.mark.sphinx("html", testroot="backprop-errors")
def test_bad_input_is_a_warning_not_a_crash(app: Any) -> None:
    app.build()
    warnings = app._warning.getvalue()
    assert "backprop: ParseError" in warnings
    assert "unknown :show: sideways" in warnings


@pytest.mark.sphinx("html", testroot="backprop-limits")
def test_huge_shapes_are_a_warning_and_a_placeholder(app: Any) -> None:
    """Issue 11 part 5: a 20,000 x 20,000 :shapes: aborted the build with NumPy's
    MemoryError; now each such directive is a warning and a placeholder, the rest builds."""
    app.build()
    warnings = app._warning.getvalue()
    assert warnings.count("backprop: LimitError") == 2
    assert "W (20000, 20000) has 400,000,000 entries" in warnings
    assert "t has 400,000,000 entries" in warnings  # x @ x.T, from the symbolic shapes
    assert "Limits.max_elements" in warnings
    html = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    assert html.count("backprop-placeholder") == 2
    assert len(_BLOCK.findall(html)) == 2  # the small ones are still there
    assert "ValueError" not in warnings  # the trace's random cross-entropy target sums to 1


@pytest.mark.sphinx("html", testroot="backprop-hostile")
def test_text_that_reaches_an_html_attribute_is_escaped(app: Any) -> None:
    """Issue 20 part 8: a # comment in the expression reached the graph's alt attribute
    unescaped (Sphinx's graphviz writer does not escape a given alt)."""
    if not shutil.which("dot"):
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("Graphviz dot is required in CI but missing")
        pytest.skip("Graphviz dot not installed")
    app.build()
    page = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    assert "<script>alert(1)" not in page
    assert "onerror=alert(2)>" not in page
    assert "&lt;script&gt;alert(1)" in page  # shown, as text


@pytest.mark.sphinx("html", testroot="backprop-latex")
def test_latex_and_paper_notation_in_the_directive(app: Any) -> None:
    app.build()
    html = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    blocks = [unescape(b) for b in _BLOCK.findall(html)]
    assert len(blocks) == 2
    assert blocks[0] == blocks[1]  # the same derivation, however it was written
    assert r"\sigma\left(\mathbf{z}\right)" in blocks[0]
    assert "WARNING" not in app._warning.getvalue()


@pytest.mark.sphinx("html", testroot="backprop-labels")
def test_label_name_granularity_and_names(app: Any) -> None:
    app.build()
    html = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    assert 'id="equation-seed-scalar"' in html
    assert 'href="#equation-seed-scalar"' in html  # the :eq: reference resolves
    assert 'href="#the-network"' in html  # and the :ref: one
    blocks = [unescape(b) for b in re.findall(r'<div class="backprop math[^"]*"[^>]*>(.*?)</div>',
                                              html, re.S)]
    assert len(blocks) == 2
    assert r"\mathbf{a} &=" in blocks[1]  # :names: renamed z1 and h
    assert r"\mathbf{g} &=" in blocks[1]
    assert "WARNING" not in app._warning.getvalue()
