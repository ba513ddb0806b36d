"""The real tools every emitted LaTeX string must pass: KaTeX (node) and pdflatex (amsmath).

Where a tool is missing the check is skipped with a reason, except when
SYMBACKPROP_REQUIRE_TOOLS=1 (CI), where a missing tool fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KATEX_SCRIPT = Path(__file__).resolve().parent / "katex_check.js"
PREAMBLE = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n"


def _missing(what: str) -> None:
    if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
        pytest.fail(f"{what} is required in CI but missing")
    pytest.skip(f"{what} not installed")


def have_katex() -> bool:
    return shutil.which("node") is not None and (ROOT / "node_modules" / "katex").is_dir()


def need_katex() -> None:
    """Skip a test that needs KaTeX's files when they are missing (fail in CI, which has them)."""
    if not have_katex():
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("KaTeX (npm ci) is required in CI but missing")
        pytest.skip("KaTeX not installed (npm ci)")


def katex_errors(strings: Sequence[str]) -> list[tuple[str, str]]:
    """(string, error) for each string KaTeX refuses (throwOnError, strict)."""
    if not have_katex():
        _missing("KaTeX (node + npm ci)")
    proc = subprocess.run(["node", str(KATEX_SCRIPT)], input=json.dumps(list(strings)),
                          capture_output=True, text=True, cwd=ROOT, timeout=300, check=True)
    results = json.loads(proc.stdout)
    return [(s, e) for s, e in zip(strings, results, strict=True) if e is not None]


def _compile(body: str, workdir: str) -> tuple[bool, str]:
    tex = Path(workdir) / "doc.tex"
    tex.write_text(PREAMBLE + body + "\n\\end{document}\n", encoding="utf-8")
    proc = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                           "-no-shell-escape", "doc.tex"], cwd=workdir, capture_output=True,
                          text=True, timeout=300)
    log = proc.stdout[-2000:]
    return proc.returncode == 0, log


def pdflatex_errors(strings: Sequence[str]) -> list[tuple[str, str]]:
    """(string, log tail) for each string that does not compile in an amsmath document."""
    if shutil.which("pdflatex") is None:
        _missing("pdflatex (texlive-latex-base)")
    with tempfile.TemporaryDirectory() as d:
        body = "\n".join(f"\\[\n{s}\n\\]\n\\clearpage" for s in strings)
        ok, _ = _compile(body, d)
        if ok:
            return []
        bad = []
        for s in strings:
            ok, log = _compile(f"\\[\n{s}\n\\]", d)
            if not ok:
                bad.append((s, log))
        return bad


def assert_latex_ok(strings: Sequence[str]) -> None:
    strings = list(dict.fromkeys(strings))
    errors = katex_errors(strings)
    assert not errors, "KaTeX refuses:\n" + "\n\n".join(f"{s}\n--> {e}" for s, e in errors[:5])
    errors = pdflatex_errors(strings)
    assert not errors, "pdflatex refuses:\n" + "\n\n".join(f"{s}\n--> {e}" for s, e in errors[:3])
