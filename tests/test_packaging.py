"""What a pip user gets (issue 17 parts 1, 6 and 7): ``python -m build`` makes the sdist and,
from the sdist alone, the wheel; the wheel, installed by itself in a clean venv and run from
a folder with no checkout and no npm, answers ``--version``, reads stdin, and makes HTML pages
that typeset offline in Chromium with the KaTeX it carries (pinned by package-lock.json).

Built once for this module (a few seconds, plus a venv with NumPy and SymPy from the package
index). Skipped only where ``build`` or the package index is missing; CI
(SYMBACKPROP_REQUIRE_TOOLS=1) fails instead.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
from latex_tools import need_katex
from test_html_chromium import assert_typeset, browser, dump_dom

import symbackprop as sbp

ROOT = Path(__file__).resolve().parent.parent
VERSION = sbp.__version__
PINNED = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))[
    "packages"]["node_modules/katex"]["version"]
_RELATIVE = re.compile(r"\]\((?![a-z][a-z0-9+.-]*:|#)[^)]*\)", re.IGNORECASE)
_NO_INDEX = ("Could not find a version", "No matching distribution", "Failed to establish",
             "Network is unreachable", "Temporary failure in name resolution")


def _missing(what: str) -> None:
    if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} (required in CI)")
    pytest.skip(what)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sdist and the wheel ``python -m build`` makes (the wheel from the sdist)."""
    need_katex()
    try:
        import build  # noqa: F401
    except ImportError:
        _missing("the `build` package is not installed (pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "-o", str(out), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0 and any(s in r.stdout + r.stderr for s in _NO_INDEX):
        _missing(f"python -m build cannot fetch hatchling: {r.stderr.strip()[-300:]}")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    (sdist,) = out.glob("symbackprop-*.tar.gz")
    (wheel,) = out.glob("symbackprop-*.whl")
    return {"sdist": sdist, "wheel": wheel}


@pytest.fixture(scope="module")
def installed(dist: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean venv with the wheel alone installed (its dependencies from the index)."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True, clear=True)
    python = env_dir / "bin" / "python"
    r = subprocess.run([str(python), "-m", "pip", "install", "-q", str(dist["wheel"])],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0 and any(s in r.stderr for s in _NO_INDEX):
        _missing(f"cannot install the wheel's dependencies: {r.stderr.strip()[-300:]}")
    assert r.returncode == 0, r.stderr[-3000:]
    return env_dir


def _clean_env() -> dict[str, str]:
    """No way back to the checkout: no PYTHONPATH, no KaTeX folder of ours."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "SYMBACKPROP_KATEX_DIR", "VIRTUAL_ENV")}


def _run(env_dir: Path, args: list[str], cwd: Path, stdin: str | None = None,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, input=stdin, capture_output=True, text=True, cwd=cwd,
                          env=_clean_env(), timeout=300)


# ---------------------------------------------------------------------------------------
# what the archives hold


def test_the_wheel_carries_katex_pinned_by_the_npm_lock(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as z:
        names = set(z.namelist())
        packed = z.read("symbackprop/_katex/katex.min.js")
    for f in ("katex.min.js", "katex.min.css", "LICENSE"):
        assert f"symbackprop/_katex/{f}" in names
    fonts = {n for n in names if n.startswith("symbackprop/_katex/fonts/")}
    assert len(fonts) >= 10
    assert all(n.endswith(".woff2") for n in fonts)
    npm = ROOT / "node_modules" / "katex"
    installed = json.loads((npm / "package.json").read_text(encoding="utf-8"))["version"]
    assert installed == PINNED  # npm ci installed what the lock pins
    assert packed == (npm / "dist" / "katex.min.js").read_bytes()
    assert f'version:"{PINNED}"'.encode() in packed  # the script itself says the lock's


def test_the_wheel_has_the_licence_metadata_and_no_repository_tools(
        dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names[-8:]
    assert not any(n.startswith(("tools/", "tests/", "benchmarks/", "docs/", "node_modules/"))
                   for n in names)
    assert not any("gallery" in n for n in names)  # the gallery builder stays in tools/
    text = meta.decode("utf-8")
    assert f"\nVersion: {VERSION}\n" in text  # pyproject.toml's is symbackprop/version.py's
    assert "License-Expression: MIT" in text
    assert "Keywords:" in text
    assert "Classifier: Typing :: Typed" in text
    assert "Description-Content-Type: text/markdown" in text
    description = text.split("\n\n", 1)[1]
    assert description.startswith("# symbackprop\n\n```bash\npip install symbackprop\n")
    assert description.index("pip install symbackprop") < description.index('pip install -e ".[dev]"')
    assert not _RELATIVE.findall(description)  # nothing that only works in the repository


def test_the_description_renders_as_pypi_renders_it(dist: dict[str, Path]) -> None:
    """readme_renderer is what PyPI runs on an upload's description (twine check too)."""
    try:
        from readme_renderer.markdown import render, variants
    except ImportError:
        _missing("readme-renderer is not installed (pip install -e '.[dev]')")
    if not variants:  # without the [md] extra render() only warns and returns None
        _missing("readme-renderer has no Markdown renderer (pip install 'readme-renderer[md]')")
    with zipfile.ZipFile(dist["wheel"]) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA")))
    html = render(meta.decode("utf-8").split("\n\n", 1)[1])
    assert html is not None
    assert html.startswith('<h1 id="user-content-symbackprop">symbackprop')
    assert html.index("install<span") < html.index("-e")  # pip install symbackprop first
    hrefs = re.findall(r'<a href="([^"]*)"', html)
    assert hrefs
    assert all(h.startswith(("https://", "#")) for h in hrefs), hrefs
    assert "<img" not in html or all(
        src.startswith("https://") for src in re.findall(r'<img src="([^"]*)"', html))


def test_the_sdist_carries_katex_once_and_the_licence(dist: dict[str, Path]) -> None:
    with tarfile.open(dist["sdist"]) as t:
        names = [n.split("/", 1)[1] for n in t.getnames() if "/" in n]
        package = t.extractfile(f"symbackprop-{VERSION}/node_modules/katex/package.json")
        assert package is not None
        version = json.loads(package.read())["version"]
    assert "LICENSE" in names
    assert version == PINNED
    katex = [n for n in names if "katex.min.js" in n]
    assert katex == ["node_modules/katex/dist/katex.min.js"], katex  # not the gallery's copy
    npm = [n for n in names if n.startswith("node_modules/")]
    assert all(n.startswith("node_modules/katex/") for n in npm)
    assert not any(n.endswith((".ttf", ".woff", "katex.js", ".mjs")) for n in npm)


# ---------------------------------------------------------------------------------------
# the installed wheel, run from a folder that is no checkout


def test_version_and_stdin_from_the_installed_wheel(installed: Path, tmp_path: Path) -> None:
    exe = str(installed / "bin" / "symbackprop")
    r = _run(installed, [exe, "--version"], tmp_path)
    assert (r.returncode, r.stdout.strip()) == (0, f"symbackprop {VERSION}"), r.stderr
    r = _run(installed, [exe, "derive", "-", "--wrt", "x"], tmp_path, stdin="(x + y)**2\n")
    assert r.returncode == 0, r.stderr
    assert r"= 2 t \cdot 1 = 2 \left(x + y\right)" in r.stdout
    r = _run(installed, [exe, "derive", "(x + y)**2", "-o", "-"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(r"\begin{aligned}")
    assert not (tmp_path / "-").exists()
    r = _run(installed, [str(installed / "bin" / "python"), "-c",
                         "import importlib.metadata as m; "
                         "print(m.distribution('symbackprop').read_text('licenses/LICENSE'))"],
             tmp_path)
    assert "MIT License" in r.stdout, r.stderr


def test_html_from_the_installed_wheel_typesets_offline(installed: Path, tmp_path: Path) -> None:
    browser()
    python = str(installed / "bin" / "python")
    script = ("import pathlib, symbackprop as sbp\n"
              "from symbackprop.emit.html import katex_dir\n"
              "print(katex_dir())\n"
              "d = sbp.derive('W2@sigmoid(W1@x + b1) + b2', loss='mse', shapes={'W1': (4, 3), "
              "'x': (3, 1), 'b1': (4, 1), 'W2': (2, 4), 'b2': (2, 1), 'y': (2, 1)})\n"
              "pathlib.Path('page.html').write_text(d.html(), encoding='utf-8')\n")
    r = _run(installed, [python, "-c", script], tmp_path)
    assert r.returncode == 0, r.stderr
    found = Path(r.stdout.strip())
    assert found.is_relative_to(installed), found  # the wheel's copy, not the checkout's
    assert found.name == "_katex"
    dom = dump_dom(tmp_path / "page.html")
    assert_typeset(dom, 20)
    # the linked form: the command copies the wheel's KaTeX beside the page
    exe = str(installed / "bin" / "symbackprop")
    r = _run(installed, [exe, "derive", "(x + y)**2", "--format", "html", "--assets", "link",
                         "-o", "linked.html"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "_katex" / "fonts").is_dir()
    dom = dump_dom(tmp_path / "linked.html")
    assert_typeset(dom, 3)


# ---------------------------------------------------------------------------------------
# the description PyPI shows (hatch_build.py's metadata hook)


def _pypi_readme():
    try:
        import hatchling  # noqa: F401
    except ImportError:
        _missing("hatchling is not installed (pip install -e '.[dev]')")
    sys.path.insert(0, str(ROOT))
    try:
        from hatch_build import pypi_readme
    finally:
        sys.path.remove(str(ROOT))
    return pypi_readme


def test_the_pypi_description_puts_pip_install_first_and_resolves_links() -> None:
    pypi_readme = _pypi_readme()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    # the README's own first commands stay the development install and the tests
    first = readme.split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert first == ['pip install -e ".[dev]" && symbackprop derive "(x + y)**2" --wrt x',
                     "python -m pytest"]
    src = "https://example.org/sbp"
    text = pypi_readme(readme, src)
    assert text.startswith("# symbackprop\n\n```bash\npip install symbackprop\n")
    assert f"[docs/layouts.md]({src}/blob/HEAD/docs/layouts.md)" in text
    assert f"]({src}/raw/HEAD/docs/img/seed-network-page.png)" in text
    assert not _RELATIVE.findall(text)
    plain = pypi_readme(readme, None)
    assert not _RELATIVE.findall(plain)
    assert "docs/img/seed-network-page.png" not in plain  # no broken picture
    assert "`docs/layouts.md`" in plain
    # an absolute link stays; a relative one names its file
    assert pypi_readme("# t\n\nsee [a](b.md) and [c](https://x.org/c)\n", None).endswith(
        "\nsee a (`b.md`) and [c](https://x.org/c)\n")
