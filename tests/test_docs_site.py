"""The documentation site (issue 17 part 2): docs/conf.py builds every page of docs/ with
Sphinx in strict mode (a warning fails), the tutorial's derivations made by the directive at
build time, an API reference from the docstrings, and the math typeset offline by KaTeX in
Chromium.

Skipped, with the reason, where myst-parser (or Chromium, for the browser test) is missing;
CI (SYMBACKPROP_REQUIRE_TOOLS=1) fails instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from latex_tools import need_katex
from test_html_chromium import browser, dump_dom

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        import myst_parser  # noqa: F401
    except ImportError:
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("myst-parser is required in CI but missing")
        pytest.skip("myst-parser not installed (pip install -e '.[dev]')")
    need_katex()
    out = tmp_path_factory.mktemp("site")
    r = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                        "html", "-d", str(out / ".doctrees"), str(DOCS), str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    return out


def test_every_page_is_built_and_in_the_navigation(site: Path) -> None:
    pages = [p.relative_to(DOCS).with_suffix(".html") for p in DOCS.rglob("*.md")
             if "_build" not in p.parts]
    assert len(pages) > 20
    for page in pages:
        assert (site / page).is_file(), page
    nav = (site / "index.html").read_text(encoding="utf-8")
    for link in ("tutorial.html", "howto.html", "api.html", "gallery/index.html",
                 "writing-expressions.html"):
        assert f'href="{link}"' in nav, link


def test_the_tutorial_is_made_by_the_directive_and_cross_referenced(site: Path) -> None:
    text = (site / "tutorial.html").read_text(encoding="utf-8")
    assert "t &amp;= x + y" in text  # the seed's scalar derivation, derived at build time
    assert r"\delta" in text  # adjoint="delta"
    assert 'href="#equation-tutorial-delta"' in text  # {eq} finds :label:
    assert 'id="equation-tutorial-delta"' in text


def test_the_api_reference_comes_from_the_docstrings(site: Path) -> None:
    import symbackprop as sbp

    text = (site / "api.html").read_text(encoding="utf-8")
    for obj in (sbp.derive, sbp.Derivation.latex, sbp.Derivation.check, sbp.gradcheck,
                sbp.Trace.markdown):
        first = " ".join((obj.__doc__ or "").split()[:6])
        assert first, obj
        assert first.replace("``", "") in re.sub(r"<[^>]+>", "", text).replace("\n", " "), obj
    assert 'id="symbackprop.derive"' in text
    assert 'id="symbackprop.ParseError"' in text


def test_the_site_typesets_offline(site: Path) -> None:
    browser()
    assert (site / "_static" / "katex" / "katex.min.js").is_file()
    for page, at_least in (("tutorial.html", 8), ("index.html", 2), ("vocabulary.html", 50),
                           ("gallery/seed-network.html", 10)):
        dom = dump_dom(site / page)
        body = dom.split('<div class="body" role="main">', 1)[1]
        assert body.count('class="katex"') >= at_least, page
        assert "katex-error" not in body, page
        assert "sbp-nokatex" not in body, page
        assert not re.search(r'class="math[^"]*">\s*\\[\[(]', body), page  # no raw TeX left


_EXAMPLE = re.compile(r"```console\n\$ (symbackprop .*?)\n```\n\n\$\$\n(.*?)\n\$\$", re.S)


def test_the_front_page_examples_are_what_their_commands_print(
        capsys: pytest.CaptureFixture[str]) -> None:
    """docs/index.md shows a command and, below it, math: the command prints that math."""
    import shlex

    from symbackprop.cli import main

    examples = _EXAMPLE.findall((DOCS / "index.md").read_text(encoding="utf-8"))
    assert len(examples) == 2
    for command, math in examples:
        argv = shlex.split(command.replace("\\\n", " "))
        assert argv[0] == "symbackprop"
        assert main(argv[1:]) == 0
        assert math in capsys.readouterr().out, command
