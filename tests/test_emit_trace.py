"""The evaluation-trace table (Baydin et al.): LaTeX array, Markdown table, HTML table."""

from __future__ import annotations

import re

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.derive import Trace
from symbackprop.emit.trace import number_latex, value_latex, value_text
from tools.gallery import EXAMPLES

NET = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1)}


def seed_trace() -> Trace:
    return sbp.derive("(x + y)**2", wrt="x").trace({"x": 1.5, "y": -0.25})


def test_seed_trace_latex_exactly() -> None:
    assert seed_trace().latex() == (
        "\\begin{array}{llrr}\n"
        "  \\text{variable} & \\text{definition} & \\text{value} & "
        "\\frac{\\partial z}{\\partial v} \\\\ \\hline\n"
        "  x & \\text{input} & 1.5 & 2.5 \\\\\n"
        "  y & \\text{input} & -0.25 & \\cdot \\\\\n"
        "  t & t = x + y & 1.25 & 2.5 \\\\\n"
        "  z & z = t^{2} & 1.562 & 1\n"
        "\\end{array}")


def test_seed_trace_markdown_and_html() -> None:
    t = seed_trace()
    md = t.markdown().splitlines()
    assert md[0] == r"| variable | definition | value | adjoint $\frac{\partial z}{\partial v}$ |"
    assert md[1] == "|:--|:--|--:|--:|"
    assert md[4] == "| $t$ | $t = x + y$ | 1.25 | 2.5 |"
    assert md[3] == "| $y$ | input | -0.25 | · |"
    h = t.html()
    assert h.startswith('<table class="sbp-trace">')
    assert r'<td><span class="math inline">\(t = x + y\)</span></td>' in h
    assert h.count("<tr>") == 5


def test_matrices_are_compact() -> None:
    a = np.arange(12.0).reshape(4, 3)
    assert value_latex(a) == (r"\left[\begin{smallmatrix}0 & 1 & 2 \\ 3 & 4 & 5 \\ "
                              r"\vdots & \vdots & \vdots\end{smallmatrix}\right]_{4\times 3}")
    assert value_latex(np.ones((2, 5))).count(r"\cdots") == 2
    assert r"\ddots" in value_latex(np.ones((5, 5)))
    assert value_latex(np.array([[1.0], [2.0]])) == \
        r"\left[\begin{smallmatrix}1 \\ 2\end{smallmatrix}\right]"
    assert value_text(a) == "[0, 1, 2; 3, 4, 5; …] (4×3)"
    assert value_text(np.array([1.0, 2.0])) == "[1; 2] (2×1)"
    assert value_text(None) == "·"


def test_numbers() -> None:
    assert number_latex(1.5e-7) == r"1.5 \times 10^{-7}"
    assert number_latex(123456.0) == r"1.235 \times 10^{5}"
    assert number_latex(float("nan")) == r"\mathrm{NaN}"
    assert number_latex(float("-inf")) == r"-\infty"
    assert number_latex(-0.0) == "0"


def test_abs_cannot_split_a_markdown_cell() -> None:
    t = sbp.derive("abs(x - y)*x").trace({"x": 1.0, "y": 3.0})
    for line in t.markdown().splitlines()[2:]:
        assert line.count("|") == 5, line


def test_html_cells_are_escaped() -> None:
    from symbackprop.emit.trace import math_span

    assert math_span("a < b & c") == r'<span class="math inline">\(a &lt; b &amp; c\)</span>'
    assert math_span("x", display=True) == r'<div class="math display">\[x\]</div>'


def _traces() -> list[Trace]:
    out = []
    for ex in EXAMPLES:
        d = ex.derive()
        out.append(d.trace(ex.point(d)))
    rng = np.random.default_rng(3)
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=NET, loss="mse", adjoint="bar")
    out.append(d.trace({k: rng.normal(size=s) * 1e-6 for k, s in NET.items()}))
    out.append(sbp.derive("abs(x - y)*exp(x)/y").trace({"x": 1.0, "y": 3.0}))
    return out


@pytest.mark.tools
def test_every_trace_table_renders_and_compiles() -> None:
    strings = []
    for t in _traces():
        strings.append(t.latex())
        strings += re.findall(r"\$([^$\n]+)\$", t.markdown())
    assert_latex_ok(strings)


def test_a_printed_trace_is_a_table() -> None:
    """Issue 17 part 4: print(d.trace(v)) shows the table, not the dataclass."""
    d = sbp.derive("(x + y)**2", wrt="x")
    lines = str(d.trace({"x": 1.0, "y": 2.0})).splitlines()
    assert lines[0].split() == ["variable", "definition", "value", "∂z/∂·"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert rows["t"] == ["x", "+", "y", "3", "6"]
    assert rows["z"][-2:] == ["9", "1"]
    assert rows["y"][-1] == "·"  # no adjoint: not a wrt variable


def test_a_check_report_shows_itself_as_html_in_a_notebook() -> None:
    d = sbp.derive("sum(hadamard(W, W))", shapes={"W": (2, 2)})
    report = d.check()
    page = report._repr_html_()
    assert "<table>" in page
    assert "gradient check: ok" in page
    assert page.count("<tr>") == 2  # the head and W
