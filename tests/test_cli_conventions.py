"""CLI conventions (issue 17 part 6): --version, the expression from stdin or a file, -o -."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from latex_tools import need_katex

import symbackprop as sbp
from symbackprop.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"symbackprop {sbp.__version__}"


@pytest.mark.parametrize("text", ["(x + y)**2", "t = x*y\nL = sin(t) + t"])
def test_the_expression_from_stdin_or_a_file_is_the_argument(
        text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["derive", text, "--format", "json"]) == 0
    want = capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO(text + "\n"))
    assert main(["derive", "-", "--format", "json"]) == 0
    from_stdin = capsys.readouterr().out
    f = tmp_path / "expr.txt"
    f.write_text(text, encoding="utf-8")
    assert main(["derive", "--file", str(f), "--format", "json"]) == 0
    from_file = capsys.readouterr().out
    # the JSON names its source text; everything else is the same document
    strip = lambda s: [ln for ln in s.splitlines() if '"source"' not in ln]  # noqa: E731
    assert strip(from_stdin) == strip(want) == strip(from_file)


def test_dash_output_is_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["derive", "x*y", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith(r"\begin{aligned}")
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["derive"], "no expression"),
    (["derive", "x", "--file", "f.txt"], "not both"),
    (["derive", "--file", "missing.txt"], "missing.txt"),
])
def test_a_missing_or_doubled_expression_is_a_clear_error(
        argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_stdin_is_read_only_up_to_the_length_limit(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    class Endless(io.TextIOBase):
        def read(self, n: int | None = -1) -> str:
            assert n is not None  # never "read everything"
            assert n > 0
            return "x+" * (n // 2) + "x"

    monkeypatch.setattr("sys.stdin", Endless())
    assert main(["derive", "-", "--max-length", "100"]) == 2
    assert "LimitError" in capsys.readouterr().err


def test_one_section_by_name_and_a_wrong_one_lists_the_choices() -> None:
    d = sbp.derive("x*y")
    assert d.markdown(sections="forward") == d.markdown(sections=["forward"])
    with pytest.raises(sbp.OptionError, match="choose from problem, forward, partials") as e:
        d.markdown(sections="f")
    assert "result" in e.value.choices


def test_gradcheck_can_answer_false_instead_of_raising() -> None:
    wrong = {"x": lambda x: {"x": 3 * x}}["x"]
    assert sbp.gradcheck("x**2", {"x": 0.7}, grad=wrong, raise_exception=False) is False
    assert sbp.gradcheck("x**2", {"x": 0.7}, raise_exception=False) is True
    with pytest.raises(sbp.GradcheckError):
        sbp.gradcheck("x**2", {"x": 0.7}, grad=wrong)


@pytest.mark.parametrize("argv", [["check", "x*y"], ["derive", "x*sin(y)", "--format", "text"],
                                  ["check", "exp(x) + sigmoid(x*y)"]])
def test_an_ascii_terminal_gets_escapes_not_a_failure(argv: list[str]) -> None:
    """PYTHONIOENCODING=ascii: the report's dash and the text format's ∂ are escaped, and
    the exit code is still the check's."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PYTHONIOENCODING="ascii", LC_ALL="C")
    r = subprocess.run([sys.executable, "-m", "symbackprop", *argv], capture_output=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr.decode("ascii", "replace")
    assert r.stdout.isascii()
    assert b"\\u" in r.stdout  # what could not be shown is escaped, not dropped


def test_latex_sections_are_checked_and_one_may_be_named() -> None:
    d = sbp.derive("sigmoid(W@x)", shapes={"W": (2, 3), "x": (3, 1)}, loss="mse")
    assert d.latex(sections="backward") == d.latex(sections=["backward"])
    assert r"\textbf{forward}" not in d.latex(sections="backward")
    with pytest.raises(ValueError, match="choose from problem, forward, partials"):
        d.latex(sections=["f"])
    need_katex()  # the page inlines KaTeX's files
    assert d.html(sections="forward") == d.html(sections=["forward"])


def test_the_output_methods_take_named_options_only() -> None:
    import inspect

    d = sbp.derive("x*y")
    for method in ("latex", "markdown", "html", "to_json", "to_dot", "to_python"):
        params = inspect.signature(getattr(d, method)).parameters.values()
        assert all(p.kind is not p.VAR_KEYWORD for p in params), method
        with pytest.raises(TypeError):
            getattr(d, method)(no_such_option=1)


def test_messages_speak_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 17 part 6: the API's syntax='latex' and Limits.max_exponent as flags (a
    matrix output is no error since it has a Jacobian; loss= typed in the expression is
    tested below)."""
    assert main(["derive", r"\frac{1}{2}x"]) == 2
    err = capsys.readouterr().err
    assert "--syntax latex" in err
    assert "syntax='latex'" not in err
    assert main(["derive", "x**10000"]) == 2
    assert "(--max-exponent)" in capsys.readouterr().err


def test_help_shows_examples_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "exit codes:" in out
    assert 'symbackprop derive "(x + y)^2" --wrt x' in out


def _actions(parser):
    import argparse

    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            for sub in a.choices.values():
                yield from _actions(sub)
        else:
            yield parser.prog, a


def test_every_flag_and_argument_has_help_text() -> None:
    import argparse

    from symbackprop.cli import _parser

    seen = 0
    for prog, a in _actions(_parser()):
        seen += 1
        assert a.help, (prog, a.dest)
        assert a.help is not argparse.SUPPRESS, (prog, a.dest)
        assert a.help.strip(), (prog, a.dest)
    assert seen > 30


@pytest.mark.parametrize("command", ["derive", "check"])
def test_each_command_help_shows_examples_and_exit_codes(
        command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out
    assert "exit codes:" in out


def test_assets_is_for_html_and_a_linked_page_on_stdout_says_what_it_needs(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "x*y", "--assets", "link"]) == 2
    assert "--assets is for --format html" in capsys.readouterr().err
    assert main(["derive", "x*y", "--format", "html", "--assets", "link"]) == 0
    out, err = capsys.readouterr()
    assert '<script src="_katex/katex.min.js"></script>' in out
    assert "_katex/ beside it" in err
    assert main(["derive", "x*y", "--format", "html", "--assets", "cdn"]) == 0
    out, err = capsys.readouterr()
    assert "cdn.jsdelivr.net" in out
    assert err == ""


def test_a_linked_page_written_to_a_file_gets_katex_beside_it(tmp_path: Path) -> None:
    need_katex()
    out = tmp_path / "sub" / "note.html"
    out.parent.mkdir()
    assert main(["derive", "x*y", "--format", "html", "--assets", "link", "-o", str(out)]) == 0
    assert (out.parent / "_katex" / "katex.min.css").is_file()
    assert len(list((out.parent / "_katex" / "fonts").glob("*.woff2"))) > 10
    assert '<link rel="stylesheet" href="_katex/katex.min.css">' in out.read_text("utf-8")


def test_an_api_keyword_in_the_expression_gets_the_flag_and_its_echo_is_the_users(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "loss='mse'"]) == 2
    err = capsys.readouterr().err
    assert ": loss='mse'; to add a loss, use --loss mse or --loss cross_entropy" in err


def test_check_and_the_trace_tables_take_named_options_with_docstrings() -> None:
    """Issue 17 part 3: no **kw behind check() or Trace's tables; check() says it returns
    a CheckReport, and a misspelt option is a TypeError naming it."""
    import inspect
    import typing

    d = sbp.derive("x*y")
    t = d.trace({"x": 1 / 3, "y": 2.0})
    for obj, method in [(d, "check"), (t, "latex"), (t, "markdown"), (t, "html")]:
        f = getattr(obj, method)
        params = inspect.signature(f).parameters.values()
        assert all(p.kind is not p.VAR_KEYWORD for p in params), method
        assert f.__doc__, method
        assert len(f.__doc__.split()) > 5, method
        wrong = {"atl": 1e-3} if method == "check" else {"digit": 3}
        with pytest.raises(TypeError, match=next(iter(wrong))):
            f(**wrong)
    hints = typing.get_type_hints(type(d).check)
    assert hints["return"] is sbp.CheckReport
    report = d.check(atol=1e-4, rtol=0.0, max_coords=3)
    assert isinstance(report, sbp.CheckReport)
    assert report.ok
    assert "0.33" in t.markdown(digits=2)
    assert "0.3333333" in t.markdown(digits=8)
    assert t.latex(digits=2) != t.latex(digits=8)
    assert isinstance(t, sbp.Trace)


@pytest.mark.parametrize(("text", "hint"), [
    ("x – y", "did you mean '-'?"),  # an en dash from a word processor
    ("x — y", "did you mean '-'?"),
    ("x ∗ y", "did you mean '*'?"),
    ("x ⁄ y", "did you mean '/'?"),
    ("x.^2", "a power is ** or ^ (.^ is MATLAB's)"),
    ("np.foo(x) + y", "write a function by its name alone, as in sin(x)"),
    ("scipy.special.foo(x) + y", "write a function by its name alone, as in sin(x)"),
    ("f(x) = x**2", "a stage is named without arguments, as in f = x**2"),
    ("t = x*y; g(t) = t**2", "a stage is named without arguments, as in f = x**2"),
])
def test_errors_hint_in_the_words_of_what_was_pasted(
        text: str, hint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", text]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.rstrip().endswith(hint), err
    assert f": {text}; " in err  # the user's text, as typed, before the hint


@pytest.mark.parametrize("text", ["x ** ", "sin x", "x @ y"])
def test_no_hint_where_none_applies(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", text]) == 2
    err = capsys.readouterr().err
    assert "did you mean" not in err
    assert "MATLAB" not in err
    assert "named without arguments" not in err
