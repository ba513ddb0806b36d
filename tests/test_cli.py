"""The command line: the README's example, formats, one-line errors with exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from symbackprop.cli import main, parse_shape


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
