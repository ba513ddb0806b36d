"""The documentation site: ``python -m sphinx -W --keep-going -b html docs SITE`` (strict).

Sphinx, because symbackprop ships a Sphinx directive: the tutorial's derivations are made by
``.. backprop::`` at build time, never pasted, and autodoc reads the API reference from the
docstrings. MyST reads the Markdown pages that GitHub also shows. Math is typeset by KaTeX
from local files (the copy ``symbackprop.emit.html.katex_dir()`` finds: node_modules in a
checkout, the wheel's own copy otherwise), so the built site works offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

project = "symbackprop"
author = "the symbackprop maintainers"
extensions = ["myst_parser", "sphinx.ext.autodoc", "symbackprop.sphinx"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path = ["_static"]
html_css_files = ["katex/katex.min.css"]
html_js_files = [("katex/katex.min.js", {"defer": "defer"}),
                 ("sbp-site.js", {"defer": "defer"})]
html_math_renderer = "sbp_katex"
autodoc_member_order = "bysource"
autodoc_typehints = "description"

# The site's navigation: GitHub shows docs/index.md as it is, the site adds this to it; a
# page not named here comes after these, so a new page is never left out of the site.
HERE = Path(__file__).parent
ORDER = ["tutorial", "howto", "writing-expressions", "vocabulary", "matrix-calculus",
         "layouts", "gallery/index", "testing", "security", "performance", "architecture"]
NAV = [*ORDER, *sorted(p.stem for p in HERE.glob("*.md")
                       if p.stem not in (*ORDER, "index", "api")), "api"]
GALLERY = sorted(p.stem for p in (HERE / "gallery").glob("*.md") if p.stem != "index")


def _navigation(app: Any, docname: str, source: list[str]) -> None:
    if docname == "index":
        source[0] += "\n\n```{toctree}\n:hidden:\n:maxdepth: 1\n\n" + "\n".join(NAV) + "\n```\n"
    elif docname == "gallery/index":
        source[0] += "\n\n```{toctree}\n:hidden:\n\n" + "\n".join(GALLERY) + "\n```\n"


def _katex(app: Any, exception: Exception | None) -> None:
    """KaTeX's files into the built site's _static/katex."""
    if exception is None and app.builder.format == "html":
        from symbackprop.emit.html import copy_katex

        out = Path(app.outdir) / "_static" / "katex"
        shutil.rmtree(out, ignore_errors=True)
        copy_katex(out)


def setup(app: Any) -> None:
    from sphinx.ext.mathjax import html_visit_displaymath, html_visit_math

    # MathJax's markup (\( \) and \[ \] in .math elements) without MathJax: sbp-site.js
    # hands each one to KaTeX
    app.add_html_math_renderer("sbp_katex", inline_renderers=(html_visit_math, None),
                               block_renderers=(html_visit_displaymath, None))
    app.connect("source-read", _navigation)
    app.connect("build-finished", _katex)
