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


@pytest.mark.sphinx("latex", testroot="sphinx-refs-dims")
def test_a_named_derivation_is_a_label_in_latex(app: Any) -> None:
    """:name: gave \\hyperref[net:netfull] in the .tex with no \\label to match (the LaTeX
    writer ignores a math_block's ids): a dangling link in the PDF."""
    app.build()
    tex = (Path(app.outdir) / "refs.tex").read_text(encoding="utf-8")
    for name in ("netfull", "both"):
        assert rf"\hyperref[\detokenize{{index:{name}}}]" in tex
        assert rf"\label{{\detokenize{{index:{name}}}}}" in tex
    assert r"\label{equation:index:eqy}" in tex
    assert r"\eqref{equation:index:eqy}" in tex
    assert "WARNING" not in app._warning.getvalue()


@pytest.mark.sphinx("html", testroot="sphinx-refs-dims")
def test_names_resolve_and_symbolic_dimensions_take_sizes_in_html(app: Any) -> None:
    app.build()
    html = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    assert 'id="netfull"' in html
    assert 'href="#netfull"' in html
    assert 'href="#both"' in html
    assert 'id="equation-eqy"' in html
    blocks = [unescape(b) for b in _BLOCK.findall(html)]
    traces = [b for b in blocks if r"\begin{array}{llrr}" in b]
    assert len(traces) == 2  # the trace needs numeric shapes: :dims:, or drawn
    assert r"\right]_{4\times 5}" in traces[0]  # X: 4 x B with B=5
    assert r"\right]_{3\times 5}" in traces[0]
    # B not given: 3, the size check() draws first; n, a scalar named like the dimension
    # of z, is that size
    assert r"0.3333 \\ 0.3333 \\ 0.3333" in traces[1]
    assert r"n & \text{input} & 3 &" in traces[1]
    assert "WARNING" not in app._warning.getvalue()


@pytest.mark.sphinx("html", testroot="sphinx-bad-values")
def test_values_and_dims_that_name_nothing_or_are_not_finite_are_errors(app: Any) -> None:
    """:values: q=3 was ignored and x=1e400 showed ∞; now each is a warning at its line."""
    app.build()
    warnings = app._warning.getvalue()
    assert ":values: q is not an input of the expression (inputs: x, y)" in warnings
    assert ":values: 'x=1e400': a value must be a finite number" in warnings
    assert ":values: 'y=nan': a value must be a finite number" in warnings
    assert ":dims: N is not a dimension of the derivation (its dimensions: B)" in warnings
    assert ":values: B is not an input" in warnings
    assert "a dimension's size goes in :dims:" in warnings
    assert "backprop: LimitError" in warnings  # :dims: B=100000000, before any allocation
    assert ":values: and :dims: are for :show: trace" in warnings
    html = (Path(app.outdir) / "index.html").read_text(encoding="utf-8")
    assert "∞" not in html
    assert r"\infty" not in html
