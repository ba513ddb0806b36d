"""MkDocs (issue 17 part 2's how-to): a ```backprop fence (symbackprop.mkdocs.fence, a custom
fence of pymdownx.superfences) becomes the derivation in a real ``mkdocs build --strict``;
a bad fence fails the strict build with its message and shows it, escaped, otherwise.

Skipped, with the reason, where mkdocs or pymdown-extensions is missing; CI
(SYMBACKPROP_REQUIRE_TOOLS=1) fails instead.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.mkdocs import derivation_of

CONFIG = """site_name: fences
markdown_extensions:
  - pymdownx.arithmatex:
      generic: true
  - pymdownx.superfences:
      custom_fences:
        - name: backprop
          class: backprop
          format: !!python/name:symbackprop.mkdocs.fence
"""
GOOD = """# Fences

```backprop
(x + y)**2
wrt: x
```

```backprop
W2@sigmoid(W1@x + b1) + b2
wrt: W1 b1 W2 b2
shapes: W1=4x3 x=3 b1=4 W2=2x4 b2=2
loss: mse
sections: backward
```
"""
BAD = """# A bad fence

```backprop
<script>alert(1)</script> + x
```
"""
_MATH = re.compile(r'<div class="arithmatex">\\\[\n(.*?)\n\\\]</div>', re.S)


def _build(root: Path, page: str, strict: bool) -> subprocess.CompletedProcess[str]:
    for module in ("mkdocs", "pymdownx"):
        try:
            __import__(module)
        except ImportError:
            if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
                pytest.fail(f"{module} is required in CI but missing")
            pytest.skip(f"{module} not installed (pip install -e '.[dev]')")
    (root / "docs").mkdir(parents=True)
    (root / "mkdocs.yml").write_text(CONFIG, encoding="utf-8")
    (root / "docs" / "index.md").write_text(page, encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "-d", "site",
                           *(["--strict"] if strict else [])],
                          cwd=root, capture_output=True, text=True, timeout=300)


def test_a_fence_becomes_the_derivation_in_a_strict_build(tmp_path: Path) -> None:
    r = _build(tmp_path, GOOD, strict=True)
    assert r.returncode == 0, r.stderr[-2000:]
    page = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    scalar, network = (html.unescape(m) for m in _MATH.findall(page))
    assert scalar == sbp.derive("(x + y)**2", wrt="x").latex()
    assert r"\textbf{backward}" in network
    assert r"\textbf{forward}" not in network
    assert_latex_ok([scalar, network])  # KaTeX renders both


def test_a_bad_fence_fails_the_strict_build_and_is_shown_escaped(tmp_path: Path) -> None:
    r = _build(tmp_path / "strict", BAD, strict=True)
    assert r.returncode != 0
    assert "backprop fence: " in r.stdout + r.stderr
    r = _build(tmp_path / "lenient", BAD, strict=False)
    assert r.returncode == 0, r.stderr[-2000:]
    page = (tmp_path / "lenient" / "site" / "index.html").read_text(encoding="utf-8")
    shown = re.search(r'<p class="backprop error">backprop: (.*?)</p>', page)
    assert shown is not None
    assert "<script>" not in shown.group(1)  # the user's text, escaped
    assert "ParseError" in html.unescape(shown.group(1)) or "column" in shown.group(1)
    assert not _MATH.search(page)


@pytest.mark.parametrize(("source", "message"), [
    ("", "the backprop fence is empty"),
    ("x*y\ncolour: red", "'colour: red' is no option"),
    ("x*y\nwrt x", "'wrt x' is no option"),
    ("W@x\nshapes: W", "expected NAME=ROWSxCOLS"),
])
def test_fence_options_are_checked(source: str, message: str) -> None:
    with pytest.raises((ValueError, sbp.SymbackpropError), match=message):
        derivation_of(source)


OPTIONS_PAGE = """# Every option

```backprop
z1 = W1@x + b1; h = sigmoid(z1); W2@h + b2
shapes: W1=4x3 x=3 b1=4 W2=2x4 b2=2
loss: mse
granularity: stages
names: z1=a h=g
show: forward, trace
seed: 3
name: the-network
```

```backprop
(x + y)**2
wrt: x
show: backward, trace, graph
values: x=1.5 y=-0.25
```

```backprop
sum(tanh(W @ X))
shapes: W=3x4 X=4xB
show: trace
dims: B=5
```

See [the network](#the-network).
"""


def test_the_directives_options_work_in_a_strict_build(tmp_path: Path) -> None:
    """howto.md says the fence takes the directive's options; names, show, values, seed
    (and dims, name) were "is no option"."""
    import shutil

    if shutil.which("dot") is None:
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("Graphviz dot is required in CI but missing")
        pytest.skip("Graphviz dot not installed (show: graph)")
    r = _build(tmp_path, OPTIONS_PAGE, strict=True)
    assert r.returncode == 0, r.stderr[-2000:]
    page = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    blocks = [html.unescape(m) for m in _MATH.findall(page)]
    assert len(blocks) == 5  # forward and trace; backward and trace; the trace alone
    assert r"\mathbf{a} &=" in blocks[0]  # names: z1=a h=g
    assert r"\mathbf{g} &=" in blocks[0]
    assert r"\begin{array}{llrr}" in blocks[1]
    assert r"& 1.5 &" in blocks[3]  # values: x=1.5
    assert r"& -0.25 &" in blocks[3]
    assert r"\right]_{4\times 5}" in blocks[4]  # dims: B=5
    assert '<div id="the-network"><div class="arithmatex">' in page  # a block, never a
    assert '<p><div' not in page  # span and a div that Markdown wrapped in a <p>
    assert 'href="#the-network"' in page
    assert '<figure class="backprop-graph"><svg' in page
    assert_latex_ok(blocks)
    from symbackprop.mkdocs import fence_parts

    def trace(seed: int) -> str:
        return fence_parts(f"x*y\nshow: trace\nseed: {seed}")[0][1]

    assert trace(3) == trace(3)
    assert trace(3) != trace(4)  # seed: draws the inputs not given


@pytest.mark.parametrize(("source", "message"), [
    ("x*y\nshow: trace\nvalues: q=3", "q is not an input of the expression"),
    ("x*y\nshow: trace\nvalues: x=1e400", "must be a finite number"),
    ("x*y\nshow: trace\nvalues: x=inf", "must be a finite number"),
    ("x*y\nshow: sideways", "unknown show: sideways"),
    ("x*y\nsections: trace", "unknown sections: trace"),
    ("x*y\nsections: forward\nshow: trace", "sections: or show:, not both"),
    ("x*y\nshow: trace\nseed: -1", "seed: '-1': expected a whole number"),
    ("W@X\nshapes: W=3x4 X=4xB\nshow: trace\ndims: N=2", "N is not a dimension"),
    ("x*y\nnames: x", "names: 'x': expected OLD=NEW"),
    ("x*y\nwrt: x\nwrt: y", "wrt: is given twice"),
    ("x*y\nlabel: eq", "'label: eq' is no option"),
])
def test_the_new_fence_options_are_checked(source: str, message: str) -> None:
    with pytest.raises((ValueError, sbp.SymbackpropError), match=re.escape(message)):
        derivation_of(source)


def test_a_bad_name_or_values_without_a_trace_are_warnings(
        caplog: pytest.LogCaptureFixture) -> None:
    from symbackprop.mkdocs import fence

    out = fence("x*y\nname: <b>", "backprop", "backprop", {}, None)
    assert out.startswith('<p class="backprop error">')
    assert "<b>" not in out
    out = fence("x*y\nvalues: x=2", "backprop", "backprop", {}, None)
    assert '<div class="arithmatex">' in out  # shown, with a warning
    assert "nothing shows them here" in caplog.text
