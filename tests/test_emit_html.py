"""HTML: a standalone page with KaTeX from local files, everything escaped."""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

import numpy as np
import pytest
from latex_tools import ROOT, assert_latex_ok, need_katex

import symbackprop as sbp
from symbackprop.cli import main
from symbackprop.emit.html import copy_katex, derivation_fragment, page
from tools.gallery import EXAMPLES

NET = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1)}
_MATH = re.compile(r'<(span|div) class="math (?:inline|display)">\\[\[(](.*?)\\[\])]</\1>',
                   re.S)


def html_math(text: str) -> list[str]:
    """Every math string of one of our pages (unescaped)."""
    return [html.unescape(m.group(2)) for m in _MATH.finditer(text)]



def test_fragment_structure_and_escaping() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    frag = derivation_fragment(d)
    assert frag.startswith('<h1>Backpropagation: <span class="math inline">\\(z\\)</span>')
    assert "<h2>Forward pass</h2>" in frag
    # the aligned block's & are escaped, and come back intact
    assert "t &amp;= x + y" in frag
    assert any("t &= x + y" in m for m in html_math(frag))
    assert '<pre><code class="language-python">(x + y)**2</code></pre>' in frag


def test_titles_and_sources_cannot_inject_markup() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    frag = derivation_fragment(d, title="<script>alert(1)</script> & co")
    assert "<script>" not in frag
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in frag
    p = page("<p>body</p>", title='</title><script>x</script>', assets="link",
             katex_href='"><script>')
    assert "<script>x</script>" not in p
    assert '"><script>' not in p


def test_linked_assets() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    p = d.html(assets="link", katex_href="../_katex")
    assert '<link rel="stylesheet" href="../_katex/katex.min.css">' in p
    assert '<script src="../_katex/katex.min.js"></script>' in p
    assert "http://" not in p
    assert "https://" not in p


def test_inline_page_is_self_contained() -> None:
    need_katex()
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=NET, loss="mse")
    p = d.html()
    assert p.startswith("<!DOCTYPE html>")
    assert "katex.render(" in p
    assert "renderToString" in p
    assert "data:font/woff2;base64," in p
    assert "url(fonts/" not in p  # every font is inlined
    assert not re.search(r'(src|href)="(https?:)?//', p)  # nothing from the network
    assert "</script" not in p.split("<script>", 1)[1].split("</script>", 1)[0]


def test_trace_and_graph_sections() -> None:
    need_katex()
    import shutil

    d = sbp.derive("(x + y)**2", wrt="x")
    p = d.html(values={"x": 1.5, "y": -0.25}, graph="auto")
    assert "<h2>Evaluation trace</h2>" in p
    assert 'class="sbp-trace"' in p
    if shutil.which("dot"):
        assert "<h2>Computation graph</h2>" in p
        assert "<svg" in p


def test_cli_writes_an_html_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    need_katex()
    out = tmp_path / "page.html"
    assert main(["derive", "(x + y)**2", "--wrt", "x", "--format", "html", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "katex" in text


def test_copy_katex(tmp_path: Path) -> None:
    need_katex()
    folder = copy_katex(tmp_path / "_katex")
    assert (folder / "katex.min.js").is_file()
    assert (folder / "katex.min.css").is_file()
    assert len(list((folder / "fonts").glob("*.woff2"))) > 10


@pytest.mark.tools
def test_every_html_math_string_renders() -> None:
    strings = []
    for ex in EXAMPLES:
        d = ex.derive()
        strings += html_math(derivation_fragment(d, trace=d.trace(ex.point(d))))
    rng = np.random.default_rng(0)
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=NET, loss="mse", adjoint="delta")
    strings += html_math(derivation_fragment(
        d, trace=d.trace({k: rng.normal(size=s) for k, s in NET.items()})))
    assert len(strings) > 100
    assert_latex_ok(strings)


def test_root_is_the_checkout() -> None:
    assert (ROOT / "package.json").is_file()


def test_missing_katex_is_one_clear_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from symbackprop.emit import html as html_mod

    monkeypatch.setattr(html_mod, "katex_candidates", lambda: [tmp_path / "nowhere"])
    with pytest.raises(html_mod.KatexNotFound, match="npm ci"):
        sbp.derive("(x + y)**2").html()
    assert main(["derive", "(x + y)**2", "--format", "html"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "KaTeX is not installed" in err[0]
    # the linked form needs no files at build time
    assert "<link" in sbp.derive("(x + y)**2").html(assets="link")


def test_katex_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    need_katex()
    from symbackprop.emit import html as html_mod

    monkeypatch.setenv("SYMBACKPROP_KATEX_DIR", str(ROOT / "node_modules" / "katex" / "dist"))
    assert html_mod.katex_candidates()[0] == ROOT / "node_modules" / "katex" / "dist"
    assert html_mod.katex_dir() == ROOT / "node_modules" / "katex" / "dist"


def test_cdn_assets_link_the_pinned_katex() -> None:
    """Issue 17 part 1: html(assets="cdn"), at the version package-lock.json pins."""
    import json
    from pathlib import Path

    from symbackprop.emit.html import KATEX_VERSION

    lock = json.loads((Path(__file__).resolve().parent.parent / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/katex"]["version"] == KATEX_VERSION
    page = sbp.derive("(x + y)**2", wrt="x").html(assets="cdn")
    base = f"https://cdn.jsdelivr.net/npm/katex@{KATEX_VERSION}/dist"
    assert f'href="{base}/katex.min.css"' in page
    assert f'src="{base}/katex.min.js"' in page
    assert "@font-face" not in page  # nothing inlined: a small page
    assert len(page) < 20_000



def test_cdn_assets_carry_the_bundled_files_integrity() -> None:
    """The CDN's files are checked by the browser against the SHA-384 of the bundled copy
    (subresource integrity, with crossorigin), so a tampered CDN file is not run (a
    held-out case: the links had no integrity)."""
    need_katex()  # (d.html() typesets with KaTeX's files)
    import base64
    import hashlib

    from symbackprop.emit.html import katex_dir

    page = sbp.derive("(x + y)**2", wrt="x").html(assets="cdn")
    for name in ("katex.min.css", "katex.min.js"):
        digest = hashlib.sha384((katex_dir() / name).read_bytes()).digest()
        want = f'{name}" integrity="sha384-{base64.b64encode(digest).decode()}" ' \
            'crossorigin="anonymous"'
        assert want in page
    assert "integrity" not in sbp.derive("(x + y)**2", wrt="x").html(assets="link")


@pytest.mark.parametrize("assets", ["link", "cdn"])
def test_a_page_whose_katex_does_not_load_says_so(assets: str) -> None:
    """Never raw TeX without a word: the render script puts this note at the page's top
    when KaTeX is missing (tests/test_html_print.py shows it in Chromium)."""
    from symbackprop.emit.html import no_katex_message

    p = sbp.derive("(x + y)**2").html(assets=assets, katex_href="../shared/_katex")  # type: ignore[arg-type]
    assert 'typeof katex === "undefined"' in p
    line = next(ln for ln in p.splitlines() if ln.startswith("var SBP_NO_KATEX = "))
    import json

    said = json.loads(line.removeprefix("var SBP_NO_KATEX = ").rstrip(";"))
    assert said == no_katex_message(assets, "../shared/_katex")  # type: ignore[arg-type]
    want = "the network" if assets == "cdn" else "../shared/_katex/katex.min.js"
    assert want in said


def test_the_no_katex_note_cannot_end_its_script() -> None:
    p = page("<p>x</p>", "t", assets="link", katex_href="</script><script>alert(1)//")
    script = p.split("<script>\nvar SBP_NO_KATEX", 1)[1].split("</script>", 1)[0]
    assert "<" not in script.split(";\n", 1)[0]
    assert "alert(1)" in script  # still said, as text (\u003c escapes)


def test_print_style_fits_wide_equations_and_keeps_code_on_the_page() -> None:
    p = page("<p>x</p>", "t", assets="cdn")
    style = p.split("@media print {", 1)[1].split("\n}\n", 1)[0]
    assert ".math.display { overflow: visible;" in style
    assert "pre { white-space: pre-wrap;" in style
    assert "@page { margin: 2cm; }" in p  # 17cm of line on A4 and Letter: sbpFitForPrint's
    assert "width:17cm" in p


def test_a_page_lays_a_wide_graph_out_top_to_bottom_when_that_is_narrower() -> None:
    """Issue 17 part 1: left to right when it fits the line, else the narrower layout."""
    need_katex()  # (d.html() typesets with KaTeX's files)
    from symbackprop.emit.dot import have_dot, render_svg, render_svg_to_fit, svg_size

    if not have_dot():
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("Graphviz dot is required in CI but missing")
        pytest.skip("Graphviz dot not installed")
    chain = sbp.derive("exp(sin(cos(tanh(sigmoid(x*y)))))")
    lr, tb = (svg_size(render_svg(chain, rankdir=r)) for r in ("LR", "TB"))
    assert tb[0] < lr[0]
    assert svg_size(render_svg_to_fit(chain, width=lr[0] + 1)) == lr  # fits: as it was
    assert svg_size(render_svg_to_fit(chain, width=lr[0] - 1)) == tb
    page = chain.html(graph=True)
    shown = svg_size(page[page.index('<figure class="sbp-graph">'):])
    assert shown == (lr if lr[0] <= 720 else tb)
    assert "rankdir=TB" in chain.to_dot(rankdir="TB")
    with pytest.raises(ValueError, match="rankdir must be 'LR' or 'TB'"):
        chain.to_dot(rankdir="RL")  # type: ignore[arg-type]
