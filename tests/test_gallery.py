"""docs/: the committed gallery is what the command makes, and all its math renders."""

from __future__ import annotations

import os
import re
import shutil
from html import unescape
from pathlib import Path

import pytest
from latex_tools import ROOT, assert_latex_ok, have_katex

from tools.gallery import EXAMPLES, build, main

DOCS = ROOT / "docs"
GALLERY = DOCS / "gallery"
REBUILD = "python -m tools.gallery --images docs/img"

_DISPLAY = re.compile(r"^\$\$\n(.*?)\n\$\$$", re.S | re.M)
_FENCE = re.compile(r"^(`{3,}).*?^\1$", re.S | re.M)
_INLINE = re.compile(r"\$([^$\n]+)\$")
_HTML_MATH = re.compile(r'<(span|div) class="math (?:inline|display)">\\[\[(](.*?)\\[\])]</\1>',
                        re.S)


def _need(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{what} is required in CI but missing")
        pytest.skip(f"{what} not installed")


def markdown_math(text: str) -> list[str]:
    text = _FENCE.sub("", text)
    return _DISPLAY.findall(text) + _INLINE.findall(_DISPLAY.sub("", text))


def test_the_committed_gallery_is_current(tmp_path: Path) -> None:
    _need(shutil.which("dot") is not None, "Graphviz dot")
    _need(have_katex(), "KaTeX (npm ci)")
    fresh = tmp_path / "gallery"
    build(fresh)
    made = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(GALLERY) for p in GALLERY.rglob("*") if p.is_file())
    assert made == committed, f"the gallery's files changed: run {REBUILD}"
    stale = [str(p) for p in made
             if _normalise(fresh / p) != _normalise(GALLERY / p)]
    assert not stale, f"out of date: {', '.join(stale)}; run {REBUILD}"


_SVG = re.compile(r"<svg.*?</svg>", re.S)
_TAG = re.compile(r"<[^<>]*>")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_CHECK = re.compile(r"gradient check: .*?(?:```|</code>)", re.S)
_ERROR = re.compile(r"\d(?:\.\d+)?e-\d+")
_SPACES = re.compile(r"[ \t]+")  # a table's padding follows its longest error's digits


def _normalise(path: Path) -> bytes:
    """A file's bytes, with the coordinates in Graphviz's SVG pictures and the errors in
    d.check()'s reports blanked out.

    dot lays text out with whatever font fontconfig finds for Helvetica (DejaVu Sans on
    Debian), so positions may shift by a pixel between machines; every label, node and
    edge must still be the same. The errors of an agreeing check are the rounding noise of
    finite differences (1e-9 or so), whose digits follow the order NumPy's kernels add in
    on this CPU, and so does the report table's padding (9e-11 or 1.1e-10): both are blanked;
    the verdicts, the witnesses and the rows must still be the same.
    """
    data = path.read_bytes()
    if path.suffix not in (".svg", ".html", ".md"):
        return data
    text = _CHECK.sub(lambda m: _SPACES.sub(" ", _ERROR.sub("0", m.group(0))),
                      data.decode("utf-8"))
    def blank(svg: re.Match[str]) -> str:  # numbers inside tags (positions), not labels
        return _TAG.sub(lambda t: _NUMBER.sub("0", t.group(0)), svg.group(0))

    return _SVG.sub(blank, text).encode("utf-8")


def test_every_example_has_its_pages() -> None:
    for ex in EXAMPLES:
        for suffix in (".md", ".html", ".svg"):
            assert (GALLERY / f"{ex.slug}{suffix}").is_file()
        md = (GALLERY / f"{ex.slug}.md").read_text(encoding="utf-8")
        for heading in ("## Forward pass", "## Backward pass", "## Numeric check",
                        "## Evaluation trace", "## Computation graph", "## Generated code"):
            assert heading in md
        assert "gradient check: ok" in md
        assert ("## The textbook form" in md) == bool(ex.reading)
        assert f"![The computation graph of {ex.slug}]({ex.slug}.svg)" in md
    index = (GALLERY / "index.md").read_text(encoding="utf-8")
    assert all(f"({ex.slug}.html)" in index for ex in EXAMPLES)


def test_readme_links_the_pictures() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for link in ("docs/img/seed-network-page.png", "docs/img/seed-network-graph.png",
                 "docs/gallery/index.md"):
        assert link in readme
        assert (ROOT / link).is_file()
    assert (ROOT / "docs/img/seed-network-graph.png").read_bytes().startswith(b"\x89PNG")
    assert (ROOT / "docs/img/seed-network-page.png").read_bytes().startswith(b"\x89PNG")


def docs_math() -> list[str]:
    strings: list[str] = []
    for p in sorted(DOCS.rglob("*.md")):
        strings += markdown_math(p.read_text(encoding="utf-8"))
    for p in sorted(GALLERY.glob("*.html")):
        strings += [unescape(m.group(2)) for m in
                    _HTML_MATH.finditer(p.read_text(encoding="utf-8"))]
    return strings


@pytest.mark.tools
def test_every_latex_string_in_docs_renders() -> None:
    strings = docs_math()
    assert len(strings) > 200
    assert_latex_ok(strings)


def test_the_command_writes_into_a_folder(tmp_path: Path) -> None:
    _need(shutil.which("dot") is not None, "Graphviz dot")
    _need(have_katex(), "KaTeX (npm ci)")
    assert main(["--out", str(tmp_path / "g")]) == 0
    assert (tmp_path / "g" / "_katex" / "katex.min.js").is_file()
