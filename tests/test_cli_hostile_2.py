"""Held-out findings on the integrations (second pass): the command line's streams, values
and KaTeX assets, the Sphinx directive's ``:label:``, generated framework code's names,
ranks NumPy cannot hold, and messages that name the option the user wrote."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from latex_tools import need_katex

import symbackprop as sbp
from symbackprop.errors import ShapeError
from symbackprop.mkdocs import fence
from symbackprop.shapes import MAX_RANK

CLI = [sys.executable, "-m", "symbackprop"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300,
                          check=False, cwd=cwd)


def shell(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``CLI args`` under ``sh -c script`` (the shell closes a stream: no preexec_fn, whose
    fork of a process that loaded JAX warns)."""
    return subprocess.run(["sh", "-c", script, *CLI, *args], capture_output=True, text=True,
                          timeout=300, check=False)


def one_refusal(r: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2, one line on stderr saying ``words``, no traceback."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert "internal error" not in r.stderr
    for w in words:
        assert w in lines[0], lines[0]


# ---------------------------------------------------------------------------------------
# F14: the Sphinx directive's :label: is an id made as Sphinx's own math makes it

_INDEX = r"""
Labels
======

.. math::
   :label: a"><img src=x onerror=alert(5)>

   x + y

.. backprop:: x*y
   :label: b"><img src=x onerror=alert(6)>

.. backprop:: (x + y)**2
   :wrt: x
   :label: my_eq

.. backprop:: x*y
   :shapes: x=<b>

.. backprop:: x*y
   :label: c}\input{/etc/passwd}

The chain rule is :eq:`my_eq`.
"""


def _sphinx(tmp_path: Path) -> tuple[str, str]:
    pytest.importorskip("sphinx")
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["symbackprop.sphinx"]\n', encoding="utf-8")
    (src / "index.rst").write_text(_INDEX, encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "sphinx", "-q", "-b", "html", str(src),
                        str(tmp_path / "out")], capture_output=True, text=True, timeout=600,
                       check=False)
    assert r.returncode == 0, r.stderr
    return (tmp_path / "out" / "index.html").read_text(encoding="utf-8"), r.stderr


def test_sphinx_label_is_an_id_never_markup_and_a_normal_label_still_resolves(
        tmp_path: Path) -> None:
    page, warnings = _sphinx(tmp_path)
    assert "<img" not in page  # the label's tag was raw in the permalink's href
    assert "onerror=alert(6)" not in page
    # the id as Sphinx's math domain makes it (make_id), so :eq: resolves; an underscore
    # became a dash in the href but not in the id before
    assert 'id="equation-my-eq"' in page
    assert 'href="#equation-my-eq"' in page
    # the directive's :shapes: is named as written (it said --shape)
    assert ":shapes: 'x=<b>': '<b>' is neither a size nor a name" in warnings
    assert "--shape" not in warnings
    # the LaTeX writer would put a label into \label{...} as given
    assert ":label: 'c}\\\\input{/etc/passwd}': a label may not hold" in warnings


# ---------------------------------------------------------------------------------------
# F12: --assets link copies KaTeX beside a regular file only, never through a link

def test_assets_link_beside_a_device_copies_nothing(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.symlink_to(os.devnull)  # -o /dev/null made /dev/_katex
    r = run("derive", "x*y", "--format", "html", "--assets", "link", "-o", str(page))
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "_katex").exists()
    assert "not a regular file" in r.stderr


def test_assets_link_refuses_a_symlinked_katex_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "_katex").symlink_to(tmp_path / "elsewhere")
    r = run("derive", "x*y", "--format", "html", "--assets", "link", "-o",
            str(tmp_path / "out" / "page.html"))
    one_refusal(r, "_katex is a symbolic link")
    assert list((tmp_path / "elsewhere").iterdir()) == []
    assert not (tmp_path / "out" / "page.html").exists()  # refused before writing


def test_copy_katex_never_writes_through_a_link(tmp_path: Path) -> None:
    from symbackprop.emit.html import copy_katex

    need_katex()
    target = tmp_path / "secret"
    target.write_text("keep", encoding="utf-8")
    folder = tmp_path / "_katex"
    (folder / "fonts").mkdir(parents=True)
    font = next(iter(sorted((Path(copy_katex(tmp_path / "real") / "fonts")).glob("*.woff2"))))
    (folder / "fonts" / font.name).symlink_to(target)
    with pytest.raises(sbp.SymbackpropError, match="symbolic link"):
        copy_katex(folder)
    assert target.read_text(encoding="utf-8") == "keep"
    linked = tmp_path / "linked"
    linked.symlink_to(tmp_path / "real")
    with pytest.raises(sbp.SymbackpropError, match="symbolic link"):
        copy_katex(linked)


# ---------------------------------------------------------------------------------------
# F05 and --help: closed or full streams are refusals (exit 2), never internal errors

def test_closed_stdin_is_a_refusal() -> None:
    one_refusal(shell('exec "$0" "$@" <&-', "derive", "-"), "stdin is closed")


@pytest.mark.parametrize("command", ["derive", "check"])
def test_closed_stdout_is_a_refusal(command: str) -> None:
    one_refusal(shell('exec "$0" "$@" >&-', command, "x*y"), "stdout is closed")


def test_closed_stdout_with_an_output_file_still_writes(tmp_path: Path) -> None:
    out = tmp_path / "d.tex"
    r = shell('exec "$0" "$@" >&-', "derive", "x*y", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8").strip()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["--help"], ["--version"], ["derive", "--help"]])
def test_help_to_a_full_device_is_an_error(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        r = subprocess.run([*CLI, *args], stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=300, check=False)
    one_refusal(r, "No space left")


def test_help_still_exits_0() -> None:
    r = run("--help")
    assert r.returncode == 0
    assert "exit codes" in r.stdout


# ---------------------------------------------------------------------------------------
# F07, F08: --value given twice, or not a finite number

@pytest.mark.parametrize("order", [("x=2e6", "x=-5"), ("x=-5", "x=2e6")])
def test_value_given_twice_is_refused(order: tuple[str, str]) -> None:
    r = run("check", "sqrt(x - 1e6)", "--value", order[0], "--value", order[1])
    one_refusal(r, "--value gives x twice")


def test_the_same_value_twice_is_one_value() -> None:
    r = run("check", "x*y", "--value", "x=2", "--value", "x=2.0")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_value_must_be_finite(value: str) -> None:
    one_refusal(run("check", "x*y", "--value", f"x={value}"),
                "a value must be a finite number")


def test_value_with_a_named_dimension_gets_its_size_drawn() -> None:
    """--value with --shape X=3xB said "give it with :dims:", an option the command lacks."""
    r = run("check", "sum(X)*x", "--shape", "X=3xB", "--value", "x=2")
    assert r.returncode == 0, r.stderr
    r = run("check", "sum(X)*x", "--shape", "X=3xB", "--value", "X=2")
    one_refusal(r, "--value X is an array", "(--seed)")
    assert ":values:" not in r.stderr


# ---------------------------------------------------------------------------------------
# F06: every name the generated framework code defines or calls, against the variables

@pytest.mark.parametrize("name", ["forward_backward_fwd", "forward_backward_bwd"])
def test_jax_function_names_give_way_to_the_variables(name: str) -> None:
    """A variable named as a generated function was refused; now the function is renamed
    (tests/test_codegen_i5.py runs such code against jax.grad)."""
    code = sbp.derive(f"{name}*sin(x)").to_jax()
    assert f"def {name}_1(" in code
    assert f"def forward_backward(x: jax.Array, {name}: jax.Array)" in code
    assert "def f_fwd(" in sbp.derive(f"{name}*sin(x)").to_jax(name="f")


def test_jax_column_function_name_gives_way() -> None:
    d = sbp.derive("sum(X)*y", shapes={"X": (3,)}, names={"y": "forward_backward_columns"})
    assert "def forward_backward_columns_1(" in d.to_jax()


def test_jax_explicit_function_name_that_clashes_gives_way() -> None:
    code = sbp.derive("f_fwd*sin(x)").to_jax(name="f")
    assert "def f_fwd_1(" in code
    assert "def f(x: jax.Array, f_fwd: jax.Array)" in code  # d.inputs's order


def test_a_builtin_the_torch_code_calls_gives_way() -> None:
    """``slice(1, 3)`` in PyTorch's scatter helper call read a tensor named slice: it was
    refused, and now the builtin is bound as slice_1."""
    d = sbp.derive("sum(X[1:3, :])*y", shapes={"X": (4, 4)}, names={"y": "slice"})
    code = d.to_torch()
    assert "slice_1 = slice" in code
    assert "slice_1(1, 3)" in code
    d.to_jax()  # JAX's code calls no slice()
    sbp.derive("x*y", names={"y": "slice"}).to_torch()


# ---------------------------------------------------------------------------------------
# F04: a rank NumPy cannot hold is a ShapeError where the shape is read

def test_rank_over_numpy_limit_is_a_shape_error_at_derive() -> None:
    assert MAX_RANK in (32, 64)
    with pytest.raises(ShapeError, match=rf"65 axes.*at most {MAX_RANK}"):
        sbp.derive("sum(x)", shapes={"x": (1,) * (MAX_RANK + 1)})
    assert sbp.derive("sum(x)", shapes={"x": (1,) * MAX_RANK}).check().ok


def test_rank_over_numpy_limit_on_the_command_line() -> None:
    r = run("check", "sum(x)", "--shape", "x=" + "x".join(["1"] * (MAX_RANK + 1)))
    one_refusal(r, "ShapeError", f"at most {MAX_RANK}")


# ---------------------------------------------------------------------------------------
# F20: the MkDocs fence's messages name its own keys

def test_fence_messages_name_the_fence_keys() -> None:
    out = fence("x*y\nshapes: x=<b>", "backprop", "backprop", {}, None)
    assert "shapes: &#x27;x=&lt;b&gt;&#x27;" in out
    assert "--shape" not in out
    out = fence("sum(X)*B\nshapes: X=3xB\nshow: trace\nvalues: X=3", "backprop", "backprop",
                {}, None)
    assert "values: X is an array" in out
    assert "(seed:)" in out
    assert ":values:" not in out
    out = fence("x*y\nshow: trace\ndims: N=2", "backprop", "backprop", {}, None)
    assert "dims: N is not a dimension" in out
    assert ":dims:" not in out


# ---------------------------------------------------------------------------------------
# wrt of an unhashable item: checked before any item is hashed (derive._wrt_items)

def test_wrt_of_a_list_is_a_type_error_with_a_message() -> None:
    with pytest.raises(TypeError, match="wrt takes"):
        sbp.derive("x", wrt=[["x"]])

