"""Output injection: a name never becomes markup, a LaTeX command, DOT syntax or code.

Policy (docs/security.md): names are *validated* where they enter — text through the parser's
whitelist, SymPy symbols through ``Builder.adopt``, ``shapes``/``names``/stage names through
``check_name`` — so only plain identifiers ``[A-Za-z][A-Za-z0-9_]*`` reach any emitter. The
emitters *escape* as well (defence in depth): ``symbol_latex`` writes anything else as
``\\text{...}`` with every special character neutralised, HTML escapes its TeX, DOT escapes its
labels, and generated Python checks every name it writes.
"""

from __future__ import annotations

import importlib.util
import re

import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.notation import escape_text, symbol_latex

EVIL = [
    "<script>alert(1)</script>",
    "\\input{/etc/passwd}",
    "\\write18{touch /tmp/pwned}",
    "x}\\def\\y{z",
    "$x$",
    "x\ny",
    "a b",
    '"; import os; "',
    "__import__('os')",
    "x#y",
    "\\\\",
    "%",
    "&amp;",
    "\u0445",  # Cyrillic x
    "",
    "1x",
    "_private",
    "d:x",  # the form of our own adjoint symbols
]


@pytest.mark.parametrize("name", EVIL)
def test_sympy_symbols_with_such_names_are_refused(name: str) -> None:
    from symbackprop.builder import Builder

    with pytest.raises(sbp.GraphError):
        sbp.derive(sp.Symbol(name) ** 2 + sp.Symbol("x"))
    with pytest.raises(sbp.GraphError):
        Builder().adopt(sp.MatrixSymbol(name, 2, 1))


@pytest.mark.parametrize("name", EVIL)
def test_other_ways_in_are_refused(name: str) -> None:
    with pytest.raises(sbp.GraphError):
        sbp.derive("x * y", names={"x": name})
    with pytest.raises(sbp.GraphError):
        sbp.derive("x * y", shapes={name: (2, 1)})
    with pytest.raises(sbp.GraphError):
        sbp.Graph().let(name, "x * y")
    with pytest.raises(sbp.SymbackpropError):
        sbp.derive("x * y", output=name).latex()


@pytest.mark.parametrize("name", ["exp", "sum", "ones", "logdet", "norm", "softmax", "lambda",
                                  "None", "True", "abs", "max"])
def test_names_that_the_text_reads_as_functions_or_keywords_are_refused(name: str) -> None:
    """names={'z': 'exp'} printed ``exp = A @ x`` beside ``sum(exp(A))`` in the JSON (and
    ``lambda = …``): equations no reader can take back (held-out round V6). The text refuses
    such a variable name; names= does too."""
    text, shapes = "z = A@x; sum(exp(z))", {"A": (2, 2), "x": (2, 1)}
    with pytest.raises(sbp.OptionError, match=rf"names: '{name}' is a function's name or a "
                                              "keyword"):
        sbp.derive(text, shapes=shapes, names={"z": name})
    with pytest.raises(sbp.ParseError):  # the text's own refusal, for the same name
        sbp.derive(text.replace("z", name), shapes=shapes)


@pytest.mark.parametrize("name", EVIL)
def test_symbol_latex_escapes_anything_else(name: str) -> None:
    """Defence in depth: were such a name ever printed, no command or markup survives."""
    for kind in ("scalar", "vector", "matrix"):
        tex = symbol_latex(name, kind)  # type: ignore[arg-type]
        commands = re.findall(r"\\[A-Za-z]+", tex)
        assert set(commands) <= {r"\text", r"\mathrm", r"\mathbf", r"\boldsymbol"}, tex
        assert "<" not in tex
        assert not re.search(r"(?<!\\)[$%#&]", tex)  # every special character escaped
        assert "\n" not in tex
        assert tex.count("{") == tex.count("}")


@pytest.mark.parametrize(("name", "scalar", "matrix"), [
    ("W1x", r"\mathrm{W1x}", r"\mathbf{W1x}"),  # no empty subscript _{\mathrm{}}
    ("a1b", r"\mathrm{a1b}", r"\mathbf{a1b}"),
])
def test_names_with_digits_inside_print_upright(name: str, scalar: str, matrix: str) -> None:
    assert symbol_latex(name, "scalar") == scalar
    assert symbol_latex(name, "matrix") == matrix


def test_escape_text() -> None:
    assert escape_text("\\input{/etc/passwd}") == "?input\\{/etc/passwd\\}"
    assert escape_text("<b>&#$%_") == "?b?\\&\\#\\$\\%\\_"


def test_plain_identifiers_print_as_maths() -> None:
    d = sbp.derive(sp.Symbol("input") * sp.Symbol("textbf") + sp.Symbol("write18"))
    tex = d.latex()
    assert r"\input" not in tex
    assert r"\textbf" not in tex
    assert r"\write" not in tex
    assert r"\mathrm{input}" in tex


def test_html_escapes_its_tex() -> None:
    from symbackprop.emit.trace import math_span

    span = math_span("<script>alert(1)</script>", display=True)
    assert "<script>" not in span
    assert "&lt;script&gt;" in span
    d = sbp.derive("W@x", shapes={"W": (2, 2), "x": (2,)}, loss="mse")
    page = d.html(assets="link")
    assert "<script>alert" not in page


def test_dot_labels_are_escaped() -> None:
    from symbackprop.emit import dot

    assert dot._label([("b", "<script>&")]) == "<<B>&lt;script&gt;&amp;</B>>"
    assert dot._quote('a"b\\') == '"a\\"b\\\\"'
    d = sbp.derive("sigmoid(x*w + b)")
    src = d.to_dot()
    assert src.count("{") == src.count("}")


@pytest.mark.skipif(importlib.util.find_spec("symbackprop.emit.python") is None,
                    reason="no Python emitter")
@pytest.mark.parametrize("name", ["__import__", "np", "lambda", "a b", "x;import os", ""])
def test_generated_python_checks_names(name: str) -> None:
    from symbackprop.emit.python import check_identifier

    with pytest.raises(ValueError, match="generated code"):
        check_identifier(name)


def test_generated_python_holds_only_identifiers() -> None:
    d = sbp.derive("sigmoid(w*x + b) * y")
    code = d.to_python()
    compile(code, "<generated>", "exec")  # valid Python, never run here
    for line in code.splitlines():
        assert "__" not in line.replace("__name__", "")
        assert "import os" not in line
        assert "eval(" not in line
        assert "exec(" not in line
