"""Hostile strings: every one is a ParseError from parse, derive, Graph.let and the CLI, and
nothing in them runs (a marker file never appears; an audit hook sees no exec, import, open or
process while the text is handled)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_inputs import HOSTILE, HOSTILE_LATEX

import symbackprop as sbp
from symbackprop.cli import main
from symbackprop.paper import read_text
from symbackprop.parse import FUNCTIONS

IDS = sorted(HOSTILE)


def payload(name: str, tmp_path: Path) -> str:
    return HOSTILE[name].replace("MARKER", str(tmp_path / "pwned"))


def test_the_corpus_is_large_and_mostly_real_python() -> None:
    assert len(HOSTILE) >= 60
    real = 0
    for text in HOSTILE.values():
        try:
            compile(text, "<hostile>", "exec", flags=0x400, dont_inherit=True)  # AST only
            real += 1
        except (SyntaxError, ValueError):
            pass
    assert real >= 120  # rejected by the whitelist, not by a syntax error


@pytest.mark.parametrize("name", IDS)
def test_parse_derive_and_let_raise_parse_error(name: str, tmp_path: Path) -> None:
    text = payload(name, tmp_path)
    with pytest.raises(sbp.ParseError):
        sbp.parse(text)
    with pytest.raises(sbp.ParseError):
        sbp.derive(text)
    with pytest.raises(sbp.ParseError):
        sbp.Graph().let("z", text)
    assert not (tmp_path / "pwned").exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", IDS)
def test_cli_one_line_exit_2(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                             ) -> None:
    assert main(["derive", payload(name, tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("symbackprop: ")
    assert "Error: " in err
    assert "Traceback" not in err
    assert all(ch.isprintable() for ch in err.rstrip("\n"))  # no control or bidi characters
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", ["dunder-import-system", "f-string", "lambda-call",
                                  "fullwidth-eval", "escape-sequence", "try", "long-name-10000"])
def test_cli_process(name: str, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "symbackprop", "derive", payload(name, tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "pwned").exists()


def test_the_payloads_are_live(tmp_path: Path) -> None:
    """Control: run by Python (in a child process) two payloads do create the marker."""
    for name in ("open-write", "dunder-import-pathlib"):
        marker = tmp_path / "pwned"
        subprocess.run([sys.executable, "-c", payload(name, tmp_path)], check=True, timeout=60)
        assert marker.exists()
        marker.unlink()


# ---------------------------------------------------------------------------------------
# An audit hook: while a hostile text is handled, nothing may be executed, imported, opened,
# spawned or compiled except the text itself by ast.parse.

_WATCH = ("exec", "import", "open", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
          "os.fork", "subprocess.Popen", "compile", "builtins.input", "socket.connect",
          "ctypes.dlopen", "os.remove", "os.rename", "shutil.rmtree", "pty.spawn")
_events: list[tuple[str, Any]] | None = None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _events is not None and event.startswith(_WATCH):
        _events.append((event, args[0] if args else None))


_installed = False


@pytest.fixture
def audit() -> Iterator[list[tuple[str, Any]]]:
    global _events, _installed
    if not _installed:  # an audit hook cannot be removed: install one, switch it on and off
        sys.addaudithook(_hook)
        _installed = True
    warm = sbp.derive("W@x", shapes={"W": (2, 2), "x": (2,)}, loss="mse")  # import it all
    warm.latex()
    warm.evaluate({"W": [[1, 2], [3, 4]], "x": [1, 1], "y": [0, 1]})
    _events = []
    try:
        yield _events
    finally:
        _events = None


@pytest.mark.parametrize("name", IDS)
def test_nothing_runs(name: str, tmp_path: Path, audit: list[tuple[str, Any]]) -> None:
    text = payload(name, tmp_path)
    audit.clear()  # only what happens from here on
    for call in (sbp.parse, sbp.derive, lambda t: sbp.Graph().let("z", t)):
        with pytest.raises(sbp.ParseError):
            call(text)
    try:  # what is compiled is the text as the text language reads it (2x is 2*x)
        code = read_text(text, lambda name: False, FUNCTIONS).code
    except sbp.ParseError:
        code = text
    allowed = {("compile", c) for c in (text, text.encode(), code, code.encode())}
    allowed.add(("open", os.devnull))  # CPython quotes a syntax error's line from the file
    for event, arg in audit:
        assert (event, arg) in allowed
    assert not (tmp_path / "pwned").exists()


def test_a_syntax_error_reads_nothing_in_the_working_directory(tmp_path: Path) -> None:
    """CPython opens the file a syntax error is in to quote its line; named '<unknown>', a
    FIFO of that name in the working directory blocked the parse until a writer came."""
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(tmp_path / "<unknown>")
    r = subprocess.run([sys.executable, "-m", "symbackprop", "derive", "z = x*(y +"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 2
    assert "was never closed" in r.stderr


def test_the_audit_hook_is_live(tmp_path: Path, audit: list[tuple[str, Any]]) -> None:
    sbp.parse("x + y")  # SymPy imports some modules on first use
    audit.clear()
    sbp.parse("x + y")
    assert audit == [("compile", "x + y")] or audit == [("compile", b"x + y")]
    (tmp_path / "f").write_text("")
    assert any(e == "open" for e, _ in audit)


# ---------------------------------------------------------------------------------------
# LaTeX input (issue 12): the LaTeX corpus is refused, and the Python corpus read as LaTeX
# either is refused or is plain maths (None is N·o·n·e); nothing runs either way.


def latex_payload(name: str, tmp_path: Path) -> str:
    return HOSTILE_LATEX[name].replace("MARKER", str(tmp_path / "pwned"))


def _warm_latex() -> None:
    """Import what reading LaTeX and a product of many scalars use, before the audit."""
    sbp.derive(r"\frac{a w}{x} + a a i t x", syntax="latex").latex()
    with contextlib.suppress(sbp.SymbackpropError):
        sbp.derive("{" * 200 + "x" + "}" * 200, syntax="latex")


@pytest.mark.parametrize("name", sorted(HOSTILE_LATEX))
def test_hostile_latex_is_a_parse_error(name: str, tmp_path: Path,
                                        audit: list[tuple[str, Any]]) -> None:
    text = latex_payload(name, tmp_path)
    _warm_latex()
    audit.clear()
    with pytest.raises(sbp.ParseError):
        sbp.derive(text, syntax="latex")
    with pytest.raises(sbp.ParseError):
        sbp.parse_latex(text)
    assert [e for e, _ in audit if e != "compile"] == []
    assert main(["derive", "--syntax", "latex", text]) == 2
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("name", IDS)
def test_the_python_corpus_read_as_latex_runs_nothing(name: str, tmp_path: Path,
                                                      audit: list[tuple[str, Any]]) -> None:
    text = payload(name, tmp_path)
    _warm_latex()
    audit.clear()
    with contextlib.suppress(sbp.SymbackpropError):
        sbp.derive(text, syntax="latex")
    assert [e for e, _ in audit if e != "compile"] == []
    assert not (tmp_path / "pwned").exists()
