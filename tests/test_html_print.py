"""HTML pages in headless Chromium beyond "the math is typeset" (issue 17 part 1): a wide
equation scaled to the printed line, and a linked page whose KaTeX is missing says so.

Skipped, with the reason, where Chromium or KaTeX is absent; CI (SYMBACKPROP_REQUIRE_TOOLS=1)
fails instead.
"""

from __future__ import annotations

import json
import os
import re
from html import unescape
from pathlib import Path

import pytest
from latex_tools import need_katex
from test_html_chromium import assert_typeset, browser, dump_dom

import symbackprop as sbp
from symbackprop.cli import main


def need_dot() -> None:
    from symbackprop.emit.dot import have_dot

    if not have_dot():
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("Graphviz dot is required in CI but missing")
        pytest.skip("Graphviz dot not installed (Debian: apt-get install graphviz)")


# After the page's own scripts: run what printing runs, and record each display's typeset
# width and scale, and the printed line's width, where --dump-dom can read them.
_MEASURE = """<script>
sbpFitForPrint();
var line = document.createElement("div");
line.style.cssText = "position:absolute;width:17cm";
document.body.appendChild(line);
var eqs = [];
document.querySelectorAll(".math.display").forEach(function (el) {
  var l = Infinity, r = -Infinity;
  el.querySelectorAll(".base").forEach(function (b) {
    var q = b.getBoundingClientRect(); l = Math.min(l, q.left); r = Math.max(r, q.right);
  });
  eqs.push({width: r - l, scale: el.style.fontSize});
});
document.body.setAttribute("data-fit", JSON.stringify(
  {line: line.getBoundingClientRect().width, eqs: eqs}));
line.remove();
</script>
</body>"""


def test_a_wide_equation_is_scaled_to_the_printed_line(tmp_path: Path) -> None:
    browser()
    need_katex()
    wide = " + ".join(f"sin(x{i})*cos(y{i})" for i in range(12))
    page = sbp.derive(wide).html()
    assert "@media print" in page
    assert 'addEventListener("beforeprint", sbpFitForPrint)' in page
    path = tmp_path / "wide.html"
    path.write_text(page.replace("</body>", _MEASURE, 1), encoding="utf-8")
    dom = dump_dom(path)
    fit = json.loads(unescape(re.search(r'data-fit="([^"]*)"', dom).group(1)))  # type: ignore[union-attr]
    line, eqs = fit["line"], fit["eqs"]
    assert 600 < line < 700  # 17cm at 96 px per inch
    assert all(e["width"] <= line + 0.5 for e in eqs), eqs
    scaled = [e for e in eqs if e["scale"]]
    assert scaled  # the forward block of twelve terms did not fit at full size
    assert any(float(e["scale"].rstrip("%")) < 50 for e in scaled)
    assert any(not e["scale"] for e in eqs)  # a narrow one keeps its size
    assert_typeset(dom, 5)


def test_a_linked_page_without_katex_says_so(tmp_path: Path) -> None:
    browser()
    page = tmp_path / "alone.html"
    page.write_text(sbp.derive("(x + y)**2").html(assets="link"), encoding="utf-8")
    dom = dump_dom(page)
    main_part = dom.split("<main>", 1)[1].split("</main>", 1)[0]
    note = re.search(r'<p class="sbp-nokatex" role="alert">(.*?)</p>', main_part)
    assert note is not None, main_part[:500]
    assert "KaTeX did not load from _katex/katex.min.js" in unescape(note.group(1))
    assert "--assets link -o PAGE" in unescape(note.group(1))


def test_the_command_line_copies_katex_beside_a_linked_page(tmp_path: Path) -> None:
    browser()
    need_katex()
    out = tmp_path / "notes" / "page.html"
    out.parent.mkdir()
    assert main(["derive", "(x + y)**2", "--format", "html", "--assets", "link",
                 "-o", str(out)]) == 0
    assert (out.parent / "_katex" / "katex.min.js").is_file()
    assert len(out.read_text(encoding="utf-8")) < 20_000  # linked, not inlined
    dom = dump_dom(out)
    assert "sbp-nokatex" not in dom.split("<main>", 1)[1].split("</main>", 1)[0]
    assert_typeset(dom, 3)


_GRAPH = """<script>
var out = [];
document.querySelectorAll("figure.sbp-graph").forEach(function (fig) {
  var svg = fig.querySelector("svg");
  out.push({natural: parseFloat(svg.getAttribute("width")) * 4 / 3,
            shown: svg.getBoundingClientRect().width,
            room: fig.clientWidth, scrolls: fig.scrollWidth > fig.clientWidth});
});
document.body.setAttribute("data-graphs", JSON.stringify(out));
</script>
</body>"""


def _graphs(page: str, tmp_path: Path) -> list[dict[str, float]]:
    path = tmp_path / "graph.html"
    path.write_text(page.replace("</body>", _GRAPH, 1), encoding="utf-8")
    dom = dump_dom(path)
    return json.loads(unescape(re.search(r'data-graphs="([^"]*)"', dom).group(1)))  # type: ignore[union-attr]


def test_a_wide_graph_stays_readable_and_a_small_one_keeps_its_size(tmp_path: Path) -> None:
    """Issue 17 part 1: the graph readable at page width: never below 3/4 of dot's size
    (the figure scrolls across instead), and a graph that fits is not enlarged."""
    browser()
    need_katex()
    need_dot()
    wide = sbp.derive("sum(tanh(W3@tanh(W2@tanh(W1@x + b1) + b2) + b3)) + lam*sqnorm(W1)",
                      shapes={"W1": (5, 4), "x": (4, 1), "b1": (5, 1), "W2": (5, 5),
                              "b2": (5, 1), "W3": (3, 5), "b3": (3, 1)})
    (g,) = _graphs(wide.html(graph=True), tmp_path)
    assert g["natural"] * 0.75 > g["room"], g  # too wide for the line even laid out TB
    assert abs(g["shown"] - 0.75 * g["natural"]) < 2, g
    assert g["scrolls"], g
    (g,) = _graphs(sbp.derive("(x + y)**2").html(graph=True), tmp_path)
    assert g["natural"] < g["room"], g
    assert abs(g["shown"] - g["natural"]) < 2, g
    assert not g["scrolls"], g
