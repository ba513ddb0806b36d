"""The wheel a user installs: KaTeX inside it (HTML works without a checkout), the licence
files, and no repository tools (issue 17 parts 1 and 7)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from latex_tools import need_katex

import symbackprop as sbp

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_katex()
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                        str(out), str(ROOT)], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:  # pip fetches hatchling for the build: it needs the package index
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail(f"building the wheel failed:\n{r.stderr[-2000:]}")
        pytest.skip(f"cannot build the wheel here: {r.stderr.strip().splitlines()[-1:]}")
    (found,) = out.glob("symbackprop-*.whl")
    return found


def test_the_wheel_carries_katex_pinned_by_the_npm_lock(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in ("katex.min.js", "katex.min.css", "LICENSE"):
        assert f"symbackprop/_katex/{f}" in names
    fonts = {n for n in names if n.startswith("symbackprop/_katex/fonts/")}
    assert len(fonts) >= 10
    assert all(n.endswith(".woff2") for n in fonts)
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/katex"]["version"]
    npm = ROOT / "node_modules" / "katex"
    installed = json.loads((npm / "package.json").read_text(encoding="utf-8"))["version"]
    assert installed == pinned  # npm ci installed what the lock pins
    packed = zipfile.ZipFile(wheel).read("symbackprop/_katex/katex.min.js")
    assert packed == (npm / "dist" / "katex.min.js").read_bytes()


def test_the_wheel_has_the_licence_and_no_repository_tools(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names[-8:]
    assert not any(n.startswith(("tools/", "tests/", "benchmarks/")) for n in names)
    assert "symbackprop/gallery.py" not in names
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode("utf-8")
    assert "License-Expression: MIT" in text
    assert "Keywords:" in text


def test_html_typesets_from_the_katex_a_wheel_carries(wheel: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The packaged copy alone (no node_modules anywhere the search looks) makes the page."""
    from symbackprop.emit import html as html_mod

    pkg = tmp_path / "site" / "symbackprop"
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            if n.startswith("symbackprop/_katex/"):
                z.extract(n, tmp_path / "site")
    fake_module = pkg / "emit" / "html.py"
    monkeypatch.setattr(html_mod, "__file__", str(fake_module))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SYMBACKPROP_KATEX_DIR", raising=False)
    assert html_mod.katex_candidates()[0] == pkg / "_katex"
    assert html_mod.katex_dir() == pkg / "_katex"
    html_mod._inline_assets.cache_clear()
    page = sbp.derive("(x + y)**2").html()
    assert "katex.render" in page
    assert "data:font/woff2;base64," in page
    html_mod._inline_assets.cache_clear()
