"""HTML: a standalone page typeset with KaTeX from local files (no CDN; it works offline).

``derivation_html(d)`` writes the lecture note of ``emit/markdown.py`` as HTML. Math goes in
``<span class="math inline">\\(…\\)</span>`` and ``<div class="math display">\\[…\\]</div>``
(the convention Sphinx and pandoc use), HTML-escaped; a few lines of script hand each one to
``katex.render``. KaTeX comes from the npm package, pinned by package-lock.json: a wheel
carries its files (``symbackprop/_katex``, put there by ``hatch_build.py``), a checkout finds
them in ``node_modules/katex/dist`` after ``npm ci``; ``SYMBACKPROP_KATEX_DIR`` can point
elsewhere:

* ``assets="inline"`` (the default): KaTeX's script and style are inlined, its fonts as
  ``data:`` URIs, so the page is one file (about 0.7 MB);
* ``assets="link"``: the page links ``<katex_href>/katex.min.css`` and ``katex.min.js``;
  ``copy_katex(folder)`` puts those files there (``symbackprop derive --format html
  --assets link -o page.html`` copies them beside the page; the gallery does it once for all
  pages);
* ``assets="cdn"``: the page links KaTeX on jsDelivr, at the version the npm lock pins
  (``KATEX_VERSION``): a small page that needs the network to typeset.

A linked page whose KaTeX does not load says so at its top, with the fix, instead of showing
raw TeX without a word. Printed (or saved as PDF), a display equation wider than the page is
scaled down to fit rather than cut at the margin.

Everything that goes into the page is escaped; nothing the user typed becomes markup.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import re
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from ..errors import OptionError, SymbackpropError
from .markdown import Block, Inline, document
from .trace import math_span, trace_html

if TYPE_CHECKING:
    from ..derivation import Derivation
    from ..evaluate import Trace

Assets = Literal["inline", "link", "cdn"]
KATEX_VERSION = "0.16.22"  # package-lock.json's; a test holds the two together
KATEX_CDN = f"https://cdn.jsdelivr.net/npm/katex@{KATEX_VERSION}/dist"


class KatexNotFound(FileNotFoundError):
    """The KaTeX files the HTML page needs are not installed."""


def katex_candidates() -> list[Path]:
    """Where KaTeX is looked for: $SYMBACKPROP_KATEX_DIR, the copy a wheel carries
    (``symbackprop/_katex``), ./node_modules, the checkout's."""
    candidates = []
    env = os.environ.get("SYMBACKPROP_KATEX_DIR")
    if env:
        candidates.append(Path(env))
    candidates.append(Path(__file__).resolve().parents[1] / "_katex")
    candidates.append(Path.cwd() / "node_modules" / "katex" / "dist")
    candidates.append(Path(__file__).resolve().parents[2] / "node_modules" / "katex" / "dist")
    return candidates


def katex_dir() -> Path:
    """The folder holding ``katex.min.js``, ``katex.min.css`` and ``fonts/``."""
    for c in katex_candidates():
        if (c / "katex.min.js").is_file() and (c / "katex.min.css").is_file():
            return c
    raise KatexNotFound(
        "KaTeX is not installed: run `npm ci` in the symbackprop checkout (or `npm install "
        "katex`), or set SYMBACKPROP_KATEX_DIR to a folder with katex.min.js, katex.min.css "
        "and fonts/")


_FONT_SRC = re.compile(r'url\(fonts/([A-Za-z0-9_-]+)\.woff2\) format\("woff2"\)'
                       r'(?:,url\(fonts/[A-Za-z0-9_-]+\.woff\) format\("woff"\))?'
                       r'(?:,url\(fonts/[A-Za-z0-9_-]+\.ttf\) format\("truetype"\))?')


@lru_cache(maxsize=4)
def _inline_assets(folder: str) -> tuple[str, str]:
    """KaTeX's CSS with its woff2 fonts as data: URIs, and its script, safe inside a page."""
    base = Path(folder)
    css = (base / "katex.min.css").read_text(encoding="utf-8")

    def font(m: re.Match[str]) -> str:
        data = (base / "fonts" / f"{m.group(1)}.woff2").read_bytes()
        return (f'url(data:font/woff2;base64,{base64.b64encode(data).decode("ascii")}) '
                'format("woff2")')

    css = _FONT_SRC.sub(font, css)
    js = (base / "katex.min.js").read_text(encoding="utf-8")
    js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
    css = re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)
    return css, js


def _refuse_link(p: Path) -> None:
    if p.is_symlink():
        raise SymbackpropError(
            f"{p} is a symbolic link: KaTeX's files are not written through one (remove it, "
            "or copy the files there yourself)")


def check_katex_folder(dest: str | os.PathLike[str]) -> None:
    """Refuse a ``dest`` for ``copy_katex`` that would send the files elsewhere: ``dest``, its
    ``fonts/`` or the script or style being a symbolic link (a ``_katex`` link beside a page
    would have the files written wherever it points)."""
    out = Path(dest)
    for p in (out, out / "fonts", out / "katex.min.css", out / "katex.min.js"):
        _refuse_link(p)


def _copy_no_follow(src: Path, dst: Path) -> None:
    """``src``'s bytes into ``dst``, never through a symbolic link at ``dst`` (a font file
    linked elsewhere, or a link made since the folder was checked)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    _refuse_link(dst)
    try:
        fd = os.open(dst, flags, 0o644)
    except OSError:
        _refuse_link(dst)
        raise
    with os.fdopen(fd, "wb") as f:
        f.write(src.read_bytes())


def copy_katex(dest: str | os.PathLike[str]) -> Path:
    """Copy KaTeX's script, style and woff2 fonts into ``dest`` (for ``assets="link"``).
    A ``dest`` that is a symbolic link (or holds one where a file goes) is refused, a
    ``SymbackpropError``: the files land in ``dest`` or nowhere."""
    src = katex_dir()
    out = Path(dest)
    check_katex_folder(out)
    (out / "fonts").mkdir(parents=True, exist_ok=True)
    check_katex_folder(out)
    for name in ("katex.min.css", "katex.min.js"):
        _copy_no_follow(src / name, out / name)
    for f in sorted((src / "fonts").glob("*.woff2")):
        _copy_no_follow(f, out / "fonts" / f.name)
    return out


RENDER_SCRIPT = """\
(function () {
  var math = document.querySelectorAll(".math");
  if (typeof katex === "undefined") {
    if (math.length) {
      var note = document.createElement("p");
      note.className = "sbp-nokatex";
      note.setAttribute("role", "alert");
      note.textContent = SBP_NO_KATEX;
      document.querySelector("main").prepend(note);
    }
    return;
  }
  math.forEach(function (el) {
    var tex = el.textContent.trim();
    if (/^\\\\[\\[(]/.test(tex)) { tex = tex.slice(2, -2); }
    // maxExpand grows with the formula: KaTeX's default, 1000 macro expansions per formula,
    // stops a long derivation (the chain block of an 85-term sum); our TeX defines no macro,
    // so nothing can expand without end, and the bound stays linear in the text.
    katex.render(tex, el, {displayMode: el.classList.contains("display"),
                           throwOnError: false, strict: "ignore",
                           maxExpand: Math.max(1000, 2 * tex.length)});
  });
})();
// A graph wider than the line is shown at no less than 3/4 of dot's size (its figure
// scrolls across) rather than shrunk until its labels cannot be read.
document.querySelectorAll("figure.sbp-graph svg").forEach(function (svg) {
  var natural = parseFloat(svg.getAttribute("width")) * 4 / 3;  // dot writes points
  if (natural && svg.parentNode.clientWidth < 0.75 * natural) {
    svg.style.maxWidth = "none";
    svg.style.width = (0.75 * natural).toFixed(1) + "px";
  }
});
// Printing: a display equation wider than the printed line (17cm, the A4 and Letter width
// inside @page's 2cm margins) is scaled down to fit instead of being cut at the margin.
function sbpFitForPrint() {
  var probe = document.createElement("div");
  probe.style.cssText = "position:absolute;visibility:hidden;width:17cm";
  document.body.appendChild(probe);
  var line = probe.getBoundingClientRect().width;
  probe.remove();
  function width(el) {  // the typeset line's extent, not its box's
    var left = Infinity, right = -Infinity;
    el.querySelectorAll(".base").forEach(function (b) {
      var r = b.getBoundingClientRect();
      left = Math.min(left, r.left);
      right = Math.max(right, r.right);
    });
    return right - left;
  }
  document.querySelectorAll(".math.display").forEach(function (el) {
    el.style.fontSize = "";
    var scale = 100;
    for (var i = 0; i < 3 && width(el) > line; i++) {  // rules and struts scale not quite
      scale = Math.floor(scale * line / width(el) * 100) / 100;
      el.style.fontSize = scale + "%";
    }
  });
}
window.addEventListener("beforeprint", sbpFitForPrint);
window.addEventListener("afterprint", function () {
  document.querySelectorAll(".math.display").forEach(function (el) { el.style.fontSize = ""; });
});
"""

PAGE_STYLE = """\
body { margin: 0; background: #fdfdfc; color: #1d1d1f;
       font: 17px/1.6 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 60rem; margin: 0 auto; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.6rem; line-height: 1.3; border-bottom: 1px solid #ddd; padding-bottom: .4rem; }
h2 { font-size: 1.25rem; margin-top: 2rem; }
.math.display { overflow-x: auto; overflow-y: hidden; padding: .2rem 0; }
pre { background: #f3f3f1; padding: .7rem 1rem; overflow-x: auto; border-radius: 4px; }
code { font-family: "SFMono-Regular", Consolas, "Liberation Mono", monospace; font-size: .9em; }
.note { color: #8a4b08; }
.sbp-nokatex { background: #fff4e5; border: 1px solid #e0a040; padding: .6rem 1rem; }
table.sbp-trace { border-collapse: collapse; margin: 1rem 0; }
table.sbp-trace th, table.sbp-trace td { padding: .3rem .8rem; border-bottom: 1px solid #e3e3e3;
                                         text-align: left; vertical-align: middle; }
table.sbp-trace td:nth-child(n+3) { text-align: right; }
figure.sbp-graph { margin: 1rem 0; overflow-x: auto; }
figure.sbp-graph svg { max-width: 100%; height: auto; }
footer { margin-top: 3rem; color: #777; font-size: .85rem; }
@page { margin: 2cm; }
@media print {
  body { background: #fff; }
  main { max-width: none; margin: 0; padding: 0; }
  .math.display { overflow: visible; break-inside: avoid; }
  pre { white-space: pre-wrap; overflow-wrap: anywhere; overflow: visible; }
  figure.sbp-graph { overflow: visible; break-inside: avoid; }
  figure.sbp-graph svg { max-width: 100% !important; width: auto !important; }
  table.sbp-trace tr { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
}
"""


def no_katex_message(assets: Assets, katex_href: str) -> str:
    """What a page says at its top when its KaTeX did not load (plain text)."""
    if assets == "cdn":
        return ("KaTeX did not load from cdn.jsdelivr.net, so the mathematics below is raw "
                "TeX: this page needs the network (make it with assets='inline' to read it "
                "offline).")
    where = katex_href.rstrip("/") or "."
    return (f"KaTeX did not load from {where}/katex.min.js, so the mathematics below is raw "
            f"TeX: copy KaTeX there (symbackprop.emit.html.copy_katex('{where}'), or "
            "symbackprop derive ... --format html --assets link -o PAGE copies it beside "
            "PAGE), or make the page with assets='inline'.")


def _script_string(text: str) -> str:
    """``text`` as a JavaScript string literal that cannot end the ``<script>`` around it."""
    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e")


LINE_PT = 720.0  # main's line on screen (60rem of 16px) in points: where a graph fits


def inline_html(runs: Inline) -> str:
    return "".join(math_span(t) if m else html.escape(t) for t, m in runs)


def blocks_html(blocks: Sequence[Block]) -> str:
    out = []
    for b in blocks:
        if b.kind == "heading":
            lv = min(b.level, 6)
            out.append(f"<h{lv}>{inline_html(b.content)}</h{lv}>")
        elif b.kind == "para":
            out.append(f"<p>{inline_html(b.content)}</p>")
        elif b.kind == "note":
            out.append(f'<p class="note"><em>{inline_html(b.content)}</em></p>')
        elif b.kind == "math":
            out.append(math_span(b.tex, display=True))
        elif b.kind == "code":
            lang = re.sub(r"[^a-z0-9]", "", b.lang.lower()) or "text"
            out.append(f'<pre><code class="language-{lang}">{html.escape(b.tex)}</code></pre>')
        else:
            raise ValueError(f"unknown block kind {b.kind!r}")
    return "\n".join(out)


def svg_inline(svg: str) -> str:
    """An SVG document from ``dot`` as an element to put inside a page."""
    start = svg.find("<svg")
    return svg[start:].strip() if start >= 0 else ""


def derivation_fragment(d: Derivation, *, sections: Sequence[str] | str | None = None,
                        level: int = 1,
                        title: str | None = None, trace: Trace | None = None,
                        graph: bool | str = False) -> str:
    """The derivation's HTML body (no page around it): for Jupyter and for ``derivation_html``.

    ``trace``: a ``d.trace(values)`` to show as a table; ``graph``: True to include the
    computation graph as SVG (needs the ``dot`` program), "auto" to include it where ``dot``
    exists.
    """
    parts = [blocks_html(document(d, sections, level, title))]
    h2 = min(level + 1, 6)
    if graph:
        from .dot import GraphvizNotFound, render_svg_to_fit

        try:
            svg = render_svg_to_fit(d, trace, width=LINE_PT)
        except GraphvizNotFound:
            if graph != "auto":
                raise
        else:
            parts.append(f"<h{h2}>Computation graph</h{h2}>")
            parts.append("<p>Forward edges in blue, backward edges (dashed, labelled with the "
                         "local derivative) in red.</p>")
            parts.append(f'<figure class="sbp-graph">{svg_inline(svg)}</figure>')
    if trace is not None:
        parts.append(f"<h{h2}>Evaluation trace</h{h2}>")
        parts.append("<p>Each variable's value in the forward pass and its adjoint in the "
                     "backward pass, at one point.</p>")
        parts.append(trace_html(trace))
    return "\n".join(parts)


@cache
def _integrity(name: str) -> str:
    """A subresource-integrity attribute for a KaTeX file on the CDN: the SHA-384 of the
    bundled copy (the npm lock pins both), so a tampered CDN file is not run. None
    bundled: no attribute."""
    try:
        data = (katex_dir() / name).read_bytes()
    except (KatexNotFound, OSError):
        return ""
    digest = base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")
    return f' integrity="sha384-{digest}"'


def page(body: str, title: str, *, assets: Assets = "inline",
         katex_href: str = "_katex") -> str:
    """A complete HTML page around ``body`` with KaTeX (inline or linked) and a render script."""
    if assets == "inline":
        css, js = _inline_assets(str(katex_dir()))
        head_assets = f"<style>{css}</style>"
        script = f"<script>{js}</script>"
    elif assets in ("link", "cdn"):
        href = html.escape(KATEX_CDN if assets == "cdn" else katex_href.rstrip("/"), quote=True)
        css_at = js_at = ""
        if assets == "cdn":  # the files the CDN serves are the bundled ones, at their version
            css_at = f'{_integrity("katex.min.css")} crossorigin="anonymous"'
            js_at = f'{_integrity("katex.min.js")} crossorigin="anonymous"'
        head_assets = f'<link rel="stylesheet" href="{href}/katex.min.css"{css_at}>'
        script = f'<script src="{href}/katex.min.js"{js_at}></script>'
    else:
        raise OptionError(f"assets must be 'inline', 'link' or 'cdn', not {assets!r}",
                          ("inline", "link", "cdn"))
    no_katex = _script_string(no_katex_message(assets, katex_href))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n"
        f"{head_assets}\n<style>\n{PAGE_STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n"
        '<footer>Made with symbackprop; typeset with KaTeX.</footer>\n'
        f"</main>\n{script}\n<script>\nvar SBP_NO_KATEX = {no_katex};\n{RENDER_SCRIPT}"
        "</script>\n</body>\n</html>\n"
    )


def page_title(d: Derivation) -> str:
    wrt = ", ".join(str(v.name) for v in d.wrt)
    src = d.source if isinstance(d.source, str) else str(d.output.name)
    src = " ".join(src.split())
    if len(src) > 60:
        src = src[:57] + "..."
    return f"Backpropagation: {src} (wrt {wrt})"


def derivation_html(d: Derivation, *, sections: Sequence[str] | str | None = None,
                    trace: Trace | None = None,
                    graph: bool | str = False, assets: Assets = "inline",
                    katex_href: str = "_katex", title: str | None = None) -> str:
    """A standalone HTML page of the derivation, typeset with local KaTeX.

    ``trace`` (``d.trace(values)``; ``d.html(values=...)`` makes it) adds the evaluation-trace
    table; ``graph=True`` the
    computation graph (needs ``dot``; ``"auto"``: where ``dot`` exists). ``assets`` and
    ``katex_href``: see the module's docstring. ``title``: the page's title (plain text).
    """
    body = derivation_fragment(d, sections=sections, trace=trace, graph=graph,
                               title=title)
    return page(body, title or page_title(d), assets=assets, katex_href=katex_href)


def trace_page(t: Trace, *, assets: Assets = "inline", katex_href: str = "_katex",
               title: str = "Evaluation trace") -> str:
    body = f"<h1>{html.escape(title)}</h1>\n{trace_html(t)}"
    return page(body, title, assets=assets, katex_href=katex_href)
