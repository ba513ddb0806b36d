"""nbconvert's HTML page typeset by MathJax 2 in headless Chromium (issue 17 part 4).

nbconvert's templates load MathJax 2 from a CDN with automatic line breaking on; CI has no
internet, so the page points at the same configuration in ``node_modules/mathjax`` (npm ci).
MathJax 2 measures a table cell before the table is laid out, and broke the trace's formulas
over several lines at every page width until the notebook's HTML (``emit/jupyter.py``) put
each cell's formula in an inline-block. A control table written the old way must still
break, so the check for broken lines can fail.

Skipped, with the reason, where Chromium, node_modules/mathjax or the notebook tools are
missing; CI (SYMBACKPROP_REQUIRE_TOOLS=1) fails instead.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import tempfile
import warnings
from typing import Any

import pytest
from latex_tools import ROOT
from test_notebook import CELLS, _need

from tools.gallery import CHROMIUM_FLAGS, chromium

MATHJAX = ROOT / "node_modules" / "mathjax" / "MathJax.js"
WIDE, NARROW = 1024, 500  # a laptop's notebook page, and half of one (CSS pixels)

# Run after MathJax's first typesetting pass: what a reader sees, measured where it is drawn.
# A formula broken by MathJax 2 is an mjx-stack of two or more mjx-block lines.
PROBE = """<script>
MathJax.Hub.Register.StartupHook("End", function () { MathJax.Hub.Queue(function () {
  function broken(el) {
    return Array.prototype.some.call(el.querySelectorAll(".mjx-stack"), function (s) {
      return s.children.length > 1 && Array.prototype.every.call(s.children,
        function (c) { return c.classList.contains("mjx-block"); });
    });
  }
  function report(table) {
    var jax = MathJax.Hub.getAllJax(table);
    return {spans: table.querySelectorAll(".math").length, typeset: jax.length,
            errors: table.querySelectorAll(".mjx-merror").length, text: table.innerText,
            broken: jax.filter(function (j) {
              return broken(document.getElementById(j.inputID + "-Frame"));
            }).map(function (j) { return j.originalText; }),
            right: table.getBoundingClientRect().right, scrolls: scrolls(table)};
  }
  function scrolls(el) {  // an ancestor that scrolls sideways holds the table
    for (el = el.parentElement; el; el = el.parentElement) {
      var x = getComputedStyle(el).overflowX;
      if ((x === "auto" || x === "scroll") && el.scrollWidth > el.clientWidth) return true;
    }
    return false;
  }
  var out = document.createElement("pre");
  out.id = "sbp-probe";
  out.textContent = JSON.stringify({
    trace: report(document.querySelector("table.sbp-trace")),
    control: report(document.getElementById("sbp-control")),
    errors: document.querySelectorAll(".mjx-merror").length,
    page: document.documentElement.clientWidth,
    scroll: document.documentElement.scrollWidth});
  document.body.appendChild(out);
});});
</script>
"""


def _need_tool(present: bool, what: str, how: str) -> None:
    if present:
        return
    if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} not installed ({how})")


def _control(trace_html: str) -> str:
    """The trace's first definition as trace_html wrote it before the fix, in a table whose
    column is as narrow as the trace's (the word 'input' above it)."""
    tex = re.search(r"\\\((\S+ = .+?)\\\)</span></td>", trace_html)
    assert tex is not None, "the trace shows no definition"
    return ('<table id="sbp-control"><tr><td>input</td></tr><tr><td>'
            f'<span class="math inline">\\({tex.group(1)}\\)</span></td></tr></table>')


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The notebook executed and exported by nbconvert, with the control table and the probe;
    its file URL."""
    _need_tool(chromium() is not None, "Chromium", "Debian: apt-get install chromium")
    _need_tool(MATHJAX.is_file(), "MathJax 2 (node_modules/mathjax)", "npm ci")
    nbformat, nbclient, nbconvert = _need("nbformat"), _need("nbclient"), _need("nbconvert")
    _need("ipykernel")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    # nbconvert's own MathJax configuration, loaded from node_modules instead of the CDN
    config = nbconvert.HTMLExporter().mathjax_url.split("?", 1)[1]
    exporter = nbconvert.HTMLExporter(mathjax_url=f"{MATHJAX.as_uri()}?{config}")
    with warnings.catch_warnings():  # jupyter_client's own deprecations are not ours
        warnings.simplefilter("ignore", DeprecationWarning)
        nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute()
        text, _ = exporter.from_notebook_node(nb)
    assert MATHJAX.as_uri() in text
    trace = nb.cells[1].outputs[0].data["text/html"]
    path = tmp_path_factory.mktemp("nb") / "notebook.html"
    path.write_text(text.replace("</body>", _control(trace) + PROBE + "</body>", 1),
                    encoding="utf-8")
    return path.as_uri()


@pytest.fixture(scope="module", params=[WIDE, NARROW], ids=["wide", "narrow"])
def probe(page: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """What the probe measured once MathJax had typeset the page, at one window width."""
    exe = chromium()
    assert exe is not None
    flags = [f for f in CHROMIUM_FLAGS if not f.startswith("--virtual-time-budget")]
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run([exe, *flags, "--virtual-time-budget=30000",
                               f"--window-size={request.param},800",
                               f"--user-data-dir={profile}", "--dump-dom", page],
                              capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = re.search(r'<pre id="sbp-probe">(.*?)</pre>', proc.stdout, re.DOTALL)
    assert found is not None, "MathJax never finished typesetting the page"
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    assert result["page"] == request.param
    return result


def test_every_formula_of_the_trace_table_is_typeset(probe: dict[str, Any]) -> None:
    trace = probe["trace"]
    assert trace["spans"] >= 30  # 10 rows of a 2-layer network and the header
    assert trace["typeset"] == trace["spans"]
    assert trace["errors"] == 0
    assert probe["errors"] == 0  # nor anywhere on the page
    for raw in ("\\", "$"):
        assert raw not in trace["text"]  # no TeX left as text


def test_no_formula_of_the_trace_table_is_broken_across_lines(probe: dict[str, Any]) -> None:
    assert probe["control"]["broken"], "MathJax 2 line breaking is off: the check is blind"
    assert probe["trace"]["broken"] == []


def test_the_trace_table_fits_the_page_or_scrolls_in_its_output(probe: dict[str, Any]) -> None:
    assert probe["scroll"] <= probe["page"]  # the page itself never scrolls sideways
    if probe["page"] == WIDE:
        assert probe["trace"]["right"] <= probe["page"]
    else:  # the network's table (about 560 px) is wider than this page
        assert probe["trace"]["right"] > probe["page"]
        assert probe["trace"]["scrolls"]  # inside its output, as docs/howto.md says
