"""The command line: the README's example, formats, one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.specs import parse_shape


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "symbackprop", *args], capture_output=True,
                          text=True, timeout=120)


def test_readme_example_prints_the_seed_derivation() -> None:
    r = run("derive", "(x + y)**2", "--wrt", "x")
    assert r.returncode == 0, r.stderr
    assert r"t &= x + y" in r.stdout
    assert r"z &= t^{2}" in r.stdout
    assert r"= 2 t \cdot 1 = 2 \left(x + y\right)" in r.stdout
    assert r.stderr == ""


def test_network_with_shapes_and_loss(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["derive", "W2@sigmoid(W1@x + b1) + b2", "--shape", "W1=4x3", "--shape", "x=3",
                 "--shape", "b1=4", "--shape", "W2=2x4", "--shape", "b2=2", "--loss", "mse",
                 "--wrt", "W1", "--wrt", "b1"])
    out = capsys.readouterr().out
    assert code == 0
    assert r"\frac{\partial L}{\partial \mathbf{W}^{(1)}}" in out


def test_symbolic_shapes_and_layout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "W@x", "--shape", "W=mxn", "--shape", "x=n", "--loss", "mse",
                 "--layout", "numerator"]) == 0
    assert "numerator layout" in capsys.readouterr().out


def test_forward_mode_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    """--mode forward prints the tangent equations (the mode had no flag)."""
    assert main(["derive", "sin(x*y)", "--wrt", "x", "--mode", "forward"]) == 0
    out = capsys.readouterr().out
    assert r"\textbf{tangents (forward mode)}" in out
    assert r"\dot{z} &= \dot{t} \cos\left(t\right)" in out


def test_output_file(tmp_path: Path) -> None:
    target = tmp_path / "out.tex"
    assert main(["derive", "x*y", "-o", str(target)]) == 0
    assert target.read_text().startswith(r"\begin{aligned}")


@pytest.mark.parametrize(("args", "needle"), [
    (["derive", "(x + y"], "ParseError"),
    (["derive", "__import__('os').system('echo hi')"], "ParseError"),
    (["derive", "W@x", "--shape", "W=2x3", "--shape", "x=2"], "ShapeError"),
    (["derive", "x*y", "--wrt", "w"], "not an input"),
    (["derive", "foo(x)"], "unknown function"),
    (["derive", "x", "--shape", "x=2y"], "ShapeError"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    r = run(*args)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1
    assert needle in lines[0]
    assert "Traceback" not in r.stderr


def test_debug_shows_the_traceback() -> None:
    r = run("--debug", "derive", "(x + y")
    assert r.returncode == 2  # still bad input's exit code, not Python's 1 for a crash
    assert "Traceback" in r.stderr


@pytest.mark.parametrize(("spec", "want"), [
    ("W1=4x3", ("W1", (4, 3))), ("x=3", ("x", (3,))), ("W=mxn", ("W", ("m", "n"))),
    ("lam=scalar", ("lam", ())), ("X=3xB", ("X", (3, "B"))),
    ("X=Nx3x8x8", ("X", ("N", 3, 8, 8))), ("K=(4, 3, 3, 3)", ("K", (4, 3, 3, 3))),
    ("b=(4,)", ("b", (4,))),
])
def test_shape_specs(spec: str, want: tuple[str, tuple[object, ...]]) -> None:
    assert parse_shape(spec) == want


def test_a_closed_pipe_exits_quietly() -> None:
    """Issue 11 part 7: ``symbackprop derive ... | head -1`` said "error ... exit 2"."""
    text = " + ".join(f"sin(x{i})" for i in range(300))  # 160 KB of Markdown: over 64 KB
    with subprocess.Popen([sys.executable, "-m", "symbackprop", "derive", text, "--format",
                           "markdown"], stdout=subprocess.PIPE, stderr=subprocess.PIPE) as p:
        assert p.stdout is not None
        assert p.stderr is not None
        first = p.stdout.readline()  # what head -1 reads
        p.stdout.close()
        err = p.stderr.read().decode()
        code = p.wait(timeout=120)
    assert first.startswith(b"# ")
    assert err == ""
    assert code == 141  # as a program killed by SIGPIPE: 128 + 13


def test_a_convolution_checks_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "sum(relu(conv2d(X, K, stride=2)))", "--shape", "X=Nx2x5x5",
                 "--shape", "K=3x2x3x3"])
    assert code == 0
    assert "ok" in capsys.readouterr().out


def test_check_takes_a_point_in_the_domain_with_value() -> None:
    """sqrt(x − 1e6) has no random point in its domain: check printed FAILED with no way to
    give one (held-out round I). --value NAME=NUMBER gives it; without it a note says so."""
    r = run("check", "sqrt(x - 1e6)")
    assert r.returncode == 1
    assert "--value NAME=NUMBER" in r.stderr
    r = run("check", "sqrt(x - 1e6)", "--value", "x=2e6")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "gradient check: ok" in r.stdout
    for bad, message in (("x", "--value takes NAME=NUMBER"), ("q=3", "--value q is not an "
                                                                    "input")):
        r = run("check", "sqrt(x - 1e6)", "--value", bad)
        assert r.returncode == 2, r.stderr
        assert message in r.stderr


def test_an_expression_starting_with_a_minus_gets_a_hint_and_works_after_dashes(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["derive", "-x**2"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "unrecognized arguments: -x**2" in err
    assert "goes last, after --" in err
    assert "-- '-x**2'" in err
    with pytest.raises(SystemExit):  # a misspelt flag is not told about --
        main(["derive", "x", "--frmat", "text"])
    assert "after --" not in capsys.readouterr().err
    assert main(["derive", "--format", "text", "--", "-x**2"]) == 0
    assert "x" in capsys.readouterr().out
    assert main(["derive", "--format", "json", "--", "-x**2"]) == 0
    assert '"source": "-x**2"' in capsys.readouterr().out


def test_a_byte_order_mark_is_dropped_from_a_file_and_stdin(tmp_path: Path) -> None:
    f = tmp_path / "expr.txt"
    f.write_bytes("\ufeff(x + y)**2".encode())  # Notepad's "UTF-8 with BOM"
    r = run("derive", "--file", str(f), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert '"source": "(x + y)**2"' in r.stdout
    piped = subprocess.run([sys.executable, "-m", "symbackprop", "check", "-"],
                           input="\ufeffsin(x)*y".encode(), capture_output=True, timeout=120)
    assert piped.returncode == 0, piped.stderr
    # the mark is not counted against --max-length, and what follows it still is
    f.write_bytes("\ufeffx*y".encode())
    assert run("derive", "--file", str(f), "--max-length", "3").returncode == 0
    f.write_bytes("\ufeffx*yy".encode())
    r = run("derive", "--file", str(f), "--max-length", "3")
    assert r.returncode == 2
    assert "--max-length" in r.stderr
    f.write_bytes("x*\ufeffy".encode())  # elsewhere it is still refused, with its code point
    r = run("derive", "--file", str(f))
    assert r.returncode == 2
    assert "U+FEFF" in r.stderr


@pytest.mark.parametrize("fmt", ["text", "latex", "markdown", "json", "dot", "python"])
def test_output_ends_with_one_newline_on_stdout_as_in_a_file(fmt: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run("derive", "x*sin(y)", "--format", fmt)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith("\n")
    assert not r.stdout.endswith("\n\n")
    assert run("derive", "x*sin(y)", "--format", fmt, "-o", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8") == r.stdout


@pytest.mark.parametrize("where", ["closed", "full"])
def test_an_error_on_a_closed_or_full_stderr_keeps_its_exit_code(where: str) -> None:
    """Exit code 1 means "check found a mismatch"; failing to print the message made it 1."""
    for args, code in ((["derive", "x*"], 2), (["--debug", "derive", "x*"], 2)):
        cmd = [sys.executable, "-m", "symbackprop", *args]
        if where == "closed":  # the shell closes it (no preexec_fn: a fork of a process
            # that has loaded JAX warns, and the warning fails the test)
            r = subprocess.run(["sh", "-c", 'exec "$0" "$@" 2>&-', *cmd],
                               stdout=subprocess.PIPE, timeout=120, check=False)
        else:
            with open("/dev/full", "w") as full:
                r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=full, timeout=120,
                                   check=False)
        assert r.returncode == code, (args, r.returncode)
        assert r.stdout == b""  # the message did not move to stdout
