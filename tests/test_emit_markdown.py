"""Markdown: a lecture note whose every math string renders (KaTeX) and compiles (pdflatex)."""

from __future__ import annotations

import re

import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.emit.markdown import fence
from tools.gallery import EXAMPLES

NET = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1)}
SYM = {"W1": ("m", "n"), "x": ("n", 1), "b1": ("m", 1), "W2": ("k", "m"), "b2": ("k", 1),
       "y": ("k", 1)}

_DISPLAY = re.compile(r"^\$\$\n(.*?)\n\$\$$", re.S | re.M)
_FENCE = re.compile(r"^(`{3,}).*?^\1$", re.S | re.M)
_INLINE = re.compile(r"\$([^$\n]+)\$")


def markdown_math(text: str) -> list[str]:
    """Every display (``$$``) and inline (``$``) math string of a Markdown text."""
    text = _FENCE.sub("", text)
    out = _DISPLAY.findall(text)
    out += _INLINE.findall(_DISPLAY.sub("", text))
    return out


def derivations() -> list[sbp.Derivation]:
    ds = [ex.derive() for ex in EXAMPLES]
    ds.append(sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=SYM, loss="mse",
                         layout="numerator", adjoint="bar"))
    ds.append(sbp.derive("z1 = W1@x + b1; h1 = tanh(z1); o = W2@h1; "
                         "L = cross_entropy(o, y) + 0.5*sum(h1)", shapes=SYM, adjoint="delta"))
    ds.append(sbp.derive("a = x*y; b = a + a; b*sin(a) + abs(x) + max(x, y)"))
    return ds


def test_seed_scalar_reads_like_a_lecture_note() -> None:
    md = sbp.derive("(x + y)**2", wrt="x").markdown()
    headings = [ln for ln in md.splitlines() if ln.startswith("#")]
    assert headings == ["# Backpropagation: $z$ with respect to $x$", "## Problem",
                        "## Forward pass", "## Local derivatives", "## Backward pass",
                        "## Result"]
    assert "$$\n\\begin{aligned}\n  t &= x + y \\\\\n  z &= t^{2}\n\\end{aligned}\n$$" in md
    assert (r"\frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t}\,"
            r"\frac{\partial t}{\partial x} = 2 t \cdot 1 = 2 \left(x + y\right)") in md
    assert "$$\nz = \\left(x + y\\right)^{2}\n$$" in md  # the problem, in the inputs
    assert "```python\n(x + y)**2\n```" in md


def test_display_blocks_are_delimited_for_mkdocs_myst_and_github() -> None:
    for d in derivations():
        md = d.markdown()
        lines = md.split("\n")
        for _i, ln in enumerate(lines):
            if ln.startswith("$$"):
                assert ln == "$$"  # alone on its line
        for block in _DISPLAY.findall(md):
            for ln in block.splitlines():
                # nothing a Markdown parser could read as a list, quote, heading or code
                assert not re.match(r"\s*([-+*>#]|\d+\.)\s", ln), ln
                assert not ln.startswith("    "), ln
                assert ln.strip(), "a blank line would end the block in some parsers"
        opened = [i for i, ln in enumerate(lines) if ln == "$$"]
        for a, b in zip(opened[::2], opened[1::2], strict=True):
            assert lines[a - 1] == ""
            assert lines[b + 1] == ""


def test_network_markdown_has_the_seed_backward_lines() -> None:
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b1", "W2", "b2"], shapes=NET,
                   loss="mse")
    md = d.markdown()
    assert "followed by the mean-squared-error loss" in md
    assert (r"\frac{\partial L}{\partial \mathbf{z}} &= \frac{\partial L}{\partial "
            r"\mathbf{h}} \odot \sigma'\left(\mathbf{z}\right)") in md
    assert r"\frac{\partial \mathbf{o}}{\partial \mathbf{h}} &= \mathbf{W}^{(2)}" in md
    assert "Written in the inputs:" in md


def test_sections_level_and_title() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    md = d.markdown(sections=("forward",), level=3, title="Worked example")
    assert md.startswith("### Worked example\n\n#### Forward pass")
    assert "Backward" not in md
    with pytest.raises(ValueError, match="unknown sections"):
        d.markdown(sections=("sideways",))
    with pytest.raises(ValueError, match="level"):
        d.markdown(level=0)


def test_fence_is_longer_than_any_backtick_run() -> None:
    assert fence("a ``` b", "text") == "````text\na ``` b\n````"
    assert fence("plain") == "```text\nplain\n```"


@pytest.mark.tools
def test_every_markdown_math_string_renders_and_compiles() -> None:
    strings = [s for d in derivations() for s in markdown_math(d.markdown())]
    assert len(strings) > 50
    assert_latex_ok(strings)


def test_title_is_plain_text_escaped_like_html() -> None:
    """Issue 11 part 7: a <script> and a javascript: link passed through markdown(title=)."""
    d = sbp.derive("(x + y)**2", wrt="x")
    md = d.markdown(title="<script>alert(1)</script> [click](javascript:alert(1)) *b* $x$\n# h")
    head = md.splitlines()[0]
    assert head == (r"# &lt;script&gt;alert(1)&lt;/script&gt; \[click\](javascript:alert(1)) "
                    r"\*b\* \$x\$ \# h")
    assert "<script>" not in md
    assert "[click](" not in md
    assert d.markdown(title="Worked example").startswith("# Worked example\n")


@pytest.mark.parametrize(("shape", "col"), [((3, 2), True), ((3, "B"), True), ((3, 1), False)])
def test_softmax_of_a_matrix_says_it_normalises_columns(shape: tuple[object, ...],
                                                        col: bool) -> None:
    """Issue 11 part 0: softmax(Z) of a (k, B) matrix is per column; attention normalises
    rows, so the printed form must say which."""
    d = sbp.derive("sum(hadamard(softmax(Z), A))", shapes={"Z": shape, "A": shape})
    tex = d.latex()
    md = d.markdown()
    assert (r"\operatorname{softmax}_{\text{col}}\left(\mathbf{Z}\right)" in tex) is col
    assert (r"\operatorname{softmax}_{\text{col}}" in md) is col
    assert r"\operatorname{softmax}\left(\mathbf{Z}\right)" in tex or col
    assert_latex_ok(_DISPLAY.findall(md))
