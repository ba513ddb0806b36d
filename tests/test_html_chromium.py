"""The HTML pages in a real browser: headless Chromium must show math typeset by KaTeX.

Skipped, with the reason, only where Chromium is absent; with SYMBACKPROP_REQUIRE_TOOLS=1
(CI) a missing Chromium fails instead.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from latex_tools import ROOT, have_katex

import symbackprop as sbp
from tools.gallery import CHROMIUM_FLAGS, EXAMPLES, chromium

GALLERY = ROOT / "docs" / "gallery"


def browser() -> str:
    exe = chromium()
    if exe is None:
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("Chromium is required in CI but missing")
        pytest.skip("Chromium not installed (Debian: apt-get install chromium)")
    return exe


def dump_dom(page: Path) -> str:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([browser(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               "--dump-dom", page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def assert_typeset(dom: str, at_least: int) -> None:
    main = dom.split("<main>", 1)[1].split("</main>", 1)[0]  # not the inlined script
    assert main.count('class="katex"') >= at_least
    assert "katex-error" not in main
    assert "ParseError" not in main
    # every math span was replaced by KaTeX's output: none still holds its raw TeX
    assert '<span class="math inline">\\(' not in main
    assert '<div class="math display">\\[' not in main


@pytest.mark.parametrize("slug", [ex.slug for ex in EXAMPLES])
def test_gallery_pages_are_typeset(slug: str) -> None:
    dom = dump_dom(GALLERY / f"{slug}.html")
    assert_typeset(dom, 10)
    assert "<svg" in dom  # the graph picture


def test_a_standalone_page_works_offline(tmp_path: Path) -> None:
    browser()
    if not have_katex():
        pytest.skip("KaTeX not installed (npm ci)")
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", loss="mse",
                   shapes={"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4),
                           "b2": (2, 1), "y": (2, 1)})
    page = tmp_path / "page.html"
    page.write_text(d.html(), encoding="utf-8")  # inline KaTeX: one file, nothing fetched
    dom = dump_dom(page)
    assert_typeset(dom, 20)


def test_a_long_derivation_is_typeset_whole(tmp_path: Path) -> None:
    """A 150-term sum: its chain block needs about 1,800 KaTeX macro expansions (three per
    thin space), beyond KaTeX's default maxExpand of 1000 ("Too many expansions" from 85
    terms); the page's renderer allows expansions in proportion to each formula."""
    browser()
    if not have_katex():
        pytest.skip("KaTeX not installed (npm ci)")
    d = sbp.derive(" + ".join(f"tanh(x{i}*y{i})" for i in range(150)))
    page = tmp_path / "long.html"
    page.write_text(d.html(), encoding="utf-8")
    dom = dump_dom(page)
    assert "Too many expansions" not in dom.split("<main>", 1)[1].split("</main>", 1)[0]
    assert_typeset(dom, 300)


def test_the_renderer_allows_expansions_in_proportion_to_the_formula(tmp_path: Path) -> None:
    """Independent of how our LaTeX happens to be written: one formula with 1,500 thin spaces
    (4,500 expansions) typesets, as does a 250-line block of \\qquad."""
    browser()
    if not have_katex():
        pytest.skip("KaTeX not installed (npm ci)")
    from symbackprop.emit.html import page as make_page
    from symbackprop.emit.trace import math_span

    spaces = "a" + "".join(rf"\,b_{{{i}}}" for i in range(1500))
    quads = r"\begin{aligned}" + r" \\ ".join(rf"x_{{{i}}} &= 1, \qquad y = 2"
                                               for i in range(250)) + r"\end{aligned}"
    body = math_span(spaces, display=True) + "\n" + math_span(quads, display=True)
    out = tmp_path / "spaces.html"
    out.write_text(make_page(body, "spaces"), encoding="utf-8")
    dom = dump_dom(out)
    assert "Too many expansions" not in dom.split("<main>", 1)[1].split("</main>", 1)[0]
    assert_typeset(dom, 2)
