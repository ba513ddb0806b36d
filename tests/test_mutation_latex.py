"""What ``emit/latex.py`` prints, asserted as text (issue 20 part 10): the mutants that
``python -m tools.mutation`` found alive in it — the sections chosen by default, the limits on
paths and chain length, the parentheses of a factor, the titles and the line breaks."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from latex_tools import need_katex
from programs import programs

import symbackprop as sbp

NET = "W2@sigmoid(W1@x + b1) + b2"
SH = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}
NET3 = "W3@tanh(W2@sigmoid(W1@x + b1) + b2) + b3"
SH3 = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (4, 4), "b2": (4, 1), "W3": (2, 4),
       "b3": (2, 1)}
FUNCTIONS = ("sin", "cos", "exp", "tanh", "sigmoid", "softplus", "sqrt", "log", "abs", "relu",
             "arctan", "sinh", "cosh")


def test_a_scalar_derivation_in_full() -> None:
    assert sbp.derive("x*y + sin(x)").latex() == r"""\begin{aligned}
  t_{1} &= x y \\
  t_{2} &= \sin\left(x\right) \\
  z &= t_{1} + t_{2} \\[6pt]
  \frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t_{1}}\,\frac{\partial t_{1}}{\partial x} + \frac{\partial z}{\partial t_{2}}\,\frac{\partial t_{2}}{\partial x} = 1 \cdot y + 1 \cdot \cos\left(x\right) = y + \cos\left(x\right) \\
  \frac{\partial z}{\partial y} &= \frac{\partial z}{\partial t_{1}}\,\frac{\partial t_{1}}{\partial y} = 1 \cdot x = x
\end{aligned}"""


def test_three_sections_are_titled_and_separated() -> None:
    tex = sbp.derive("x*y + sin(x)").latex(sections=["forward", "partials", "backward"])
    assert tex == r"""\begin{aligned}
  &\textbf{forward} \\
  t_{1} &= x y \\
  t_{2} &= \sin\left(x\right) \\
  z &= t_{1} + t_{2} \\[6pt]
  &\textbf{local derivatives} \\
  \frac{\partial z}{\partial t_{1}} &= 1 \\
  \frac{\partial z}{\partial t_{2}} &= 1 \\
  \frac{\partial t_{2}}{\partial x} &= \cos\left(x\right) \\
  \frac{\partial t_{1}}{\partial x} &= y \\
  \frac{\partial t_{1}}{\partial y} &= x \\[6pt]
  &\textbf{backward} \\
  \frac{\partial z}{\partial t_{1}} &= 1 \\
  \frac{\partial z}{\partial t_{2}} &= 1 \\
  \frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t_{1}} y + \frac{\partial z}{\partial t_{2}} \cos\left(x\right), \qquad \frac{\partial z}{\partial y} = \frac{\partial z}{\partial t_{1}} x
\end{aligned}"""
    # two sections of a scalar derivation are not titled; without the environment: the rows
    rows = sbp.derive("x*y + sin(x)").latex(sections=["forward", "chain"], environment=False)
    assert rows.splitlines()[0] == r"  t_{1} &= x y \\"
    assert r"\textbf" not in rows
    assert r"\begin" not in rows


def test_one_section_by_name_and_unknown_sections() -> None:
    d = sbp.derive("x*y")
    assert d.latex(sections="chain") == d.latex(sections=["chain"])
    assert d.latex(sections="chain") == r"""\begin{aligned}
  \frac{\partial z}{\partial x} &= y \\
  \frac{\partial z}{\partial y} &= x
\end{aligned}"""
    with pytest.raises(ValueError, match=r"unknown sections \['chains'\]; choose from problem, "
                                         r"forward, partials, tangents, backward, recursion, "
                                         r"chain, result, jacobian$"):
        d.latex(sections=["chains"])


@pytest.mark.parametrize(("text", "product"), [
    # a factor that is a sum gets parentheses; a sum inside a function's parentheses does not
    ("tanh(x)**3", r"3 t^{2} \cdot \left(1 - t^{2}\right)"),
    ("max(x, y) + min(x, 2)",
     r"1 \cdot \left(\mathbf{1}\left[{x > y}\right] + \tfrac{1}{2}\,\mathbf{1}\left[{x = y}"
     r"\right]\right) + 1 \cdot \left(\mathbf{1}\left[{2 > x}\right] + \tfrac{1}{2}\,"
     r"\mathbf{1}\left[{2 = x}\right]\right)"),
    ("t = X*y + X*X; sin(t)", r"\cos\left(t\right) \cdot \left(2 X + y\right)"),
    ("t = x*y; sin(t)*t + x",
     r"\left(t \cos\left(t\right) + \sin\left(t\right)\right) \cdot y + 1"),
    # a negative factor after the first is parenthesised, a first one is not
    ("sin(cos(x))", r"\cos\left(t\right) \cdot \left(- \sin\left(x\right)\right)"),
    ("cos(sin(x))", r"- \sin\left(t\right) \cdot \cos\left(x\right)"),
    # two paths: the adjoint in the intermediates, then in the inputs
    ("(x + y)**2 + exp(x + y)", r"1 \cdot 2 t_{1} \cdot 1 + 1 \cdot t_{3} \cdot 1 = 2 t_{1} + t_{3}"),
])
def test_factors_of_a_chain_product(text: str, product: str) -> None:
    assert f" = {product} = " in sbp.derive(text).latex()


def _sum_of_functions(n: int) -> sbp.Derivation:
    return sbp.derive(" + ".join(f"{f}(x)" for f in FUNCTIONS[:n]), wrt="x")


def test_twelve_paths_are_written_out_thirteen_are_not() -> None:
    twelve, thirteen = _sum_of_functions(12), _sum_of_functions(13)   # Options.max_paths = 12
    assert len(twelve.paths(twelve.wrt[0])) == 12
    tex = twelve.latex()
    assert r"\textbf" not in tex  # forward and chain only: no backward section needed
    assert (r"\frac{\partial z}{\partial t_{12}}\,\frac{\partial t_{12}}{\partial x} = "
            r"1 \cdot \cos\left(x\right) + 1 \cdot \left(- \sin\left(x\right)\right) + ") in tex
    tex = thirteen.latex()
    assert r"&\textbf{backward} \\" in tex
    assert (r"\frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t_{1}} "
            r"\cos\left(x\right) + \frac{\partial z}{\partial t_{10}} \mathbf{1}\left[{x > 0}\right]"
            r" + ") in tex
    assert r"\,\frac{\partial t_{12}}{\partial x}" not in tex


def _chain(n: int) -> sbp.Derivation:
    stages = ["t1 = sin(x)"] + [f"t{i} = sin(t{i - 1})" for i in range(2, n + 1)]
    return sbp.derive("; ".join(stages) + f"; t{n}*y", wrt="x")


def test_a_chain_of_twelve_is_written_out_thirteen_is_not() -> None:
    short, long = _chain(10), _chain(11)  # paths of 12 and 13 variables (MAX_CHAIN = 12)
    assert [len(p) for p in short.paths(short.wrt[0])] == [12]
    tex = short.latex()
    assert r"\textbf" not in tex
    assert (r"\frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t_{10}}\,"
            r"\frac{\partial t_{10}}{\partial t_{9}}\,") in tex
    assert r" = y \cdot \cos\left(t_{9}\right) \cdot \cos\left(t_{8}\right) \cdot " in tex
    tex = long.latex()
    assert tex.startswith("\\begin{aligned}\n  &\\textbf{forward} \\\\\n  t_{1} &= ")
    assert (r"\frac{\partial z}{\partial x} &= \frac{\partial z}{\partial t_{1}} "
            r"\cos\left(x\right) = y \cos\left(x\right) \cos\left(\sin\left(x\right)\right)") in tex


def test_the_network_in_full_denominator_layout() -> None:
    # paths of six edges (more than 4): the chain is written as the recursion, output side first
    tex = sbp.derive(NET3, shapes=SH3, loss="mse", wrt=["W1"]).latex()
    assert tex == r"""\begin{aligned}
  &\textbf{forward} \\
  \mathbf{z}^{(1)} &= \mathbf{W}^{(1)}\mathbf{x} + \mathbf{b}^{(1)} \\
  \mathbf{h}^{(1)} &= \sigma\left(\mathbf{z}^{(1)}\right) \\
  \mathbf{z}^{(2)} &= \mathbf{W}^{(2)}\mathbf{h}^{(1)} + \mathbf{b}^{(2)} \\
  \mathbf{h}^{(2)} &= \tanh\left(\mathbf{z}^{(2)}\right) \\
  \mathbf{o} &= \mathbf{W}^{(3)}\mathbf{h}^{(2)} + \mathbf{b}^{(3)} \\
  L &= \tfrac{1}{2}\left\lVert \mathbf{o} - \mathbf{y} \right\rVert^{2} \\[6pt]
  &\textbf{backward} \\
  \frac{\partial L}{\partial \mathbf{o}} &= \mathbf{o} - \mathbf{y} \\
  \frac{\partial L}{\partial \mathbf{h}^{(2)}} &= \mathbf{W}^{(3)\top}\,\frac{\partial L}{\partial \mathbf{o}} \\
  \frac{\partial L}{\partial \mathbf{z}^{(2)}} &= \frac{\partial L}{\partial \mathbf{h}^{(2)}} \odot \tanh'\left(\mathbf{z}^{(2)}\right) = \frac{\partial L}{\partial \mathbf{h}^{(2)}} \odot \left(\mathbf{1} - {\mathbf{h}^{(2)}}^{\circ 2}\right) \\
  \frac{\partial L}{\partial \mathbf{h}^{(1)}} &= \mathbf{W}^{(2)\top}\,\frac{\partial L}{\partial \mathbf{z}^{(2)}} \\
  \frac{\partial L}{\partial \mathbf{z}^{(1)}} &= \frac{\partial L}{\partial \mathbf{h}^{(1)}} \odot \sigma'\left(\mathbf{z}^{(1)}\right) = \frac{\partial L}{\partial \mathbf{h}^{(1)}} \odot \mathbf{h}^{(1)} \odot \left(\mathbf{1} - \mathbf{h}^{(1)}\right) \\
  \frac{\partial L}{\partial \mathbf{W}^{(1)}} &= \frac{\partial L}{\partial \mathbf{z}^{(1)}}\,\mathbf{x}^{\top} \\[6pt]
  &\textbf{recursion over the layers} \\
  \frac{\partial L}{\partial \mathbf{z}^{(2)}} &= \left(\mathbf{W}^{(3)\top}\,\frac{\partial L}{\partial \mathbf{o}}\right) \odot \tanh'\left(\mathbf{z}^{(2)}\right) \\
  \frac{\partial L}{\partial \mathbf{z}^{(1)}} &= \left(\mathbf{W}^{(2)\top}\,\frac{\partial L}{\partial \mathbf{z}^{(2)}}\right) \odot \sigma'\left(\mathbf{z}^{(1)}\right) \\[6pt]
  &\textbf{chain rule (denominator layout)} \\
  \nabla_{\mathbf{h}^{(2)}} L &= \left(\nabla_{\mathbf{h}^{(2)}} \mathbf{o}\right)\nabla_{\mathbf{o}} L, \quad \nabla_{\mathbf{h}^{(2)}} \mathbf{o} = \mathbf{W}^{(3)\top} \\
  \nabla_{\mathbf{z}^{(2)}} L &= \left(\nabla_{\mathbf{z}^{(2)}} \mathbf{h}^{(2)}\right)\nabla_{\mathbf{h}^{(2)}} L, \quad \nabla_{\mathbf{z}^{(2)}} \mathbf{h}^{(2)} = \operatorname{diag}\left(\tanh'\left(\mathbf{z}^{(2)}\right)\right) \\
  \nabla_{\mathbf{h}^{(1)}} L &= \left(\nabla_{\mathbf{h}^{(1)}} \mathbf{z}^{(2)}\right)\nabla_{\mathbf{z}^{(2)}} L, \quad \nabla_{\mathbf{h}^{(1)}} \mathbf{z}^{(2)} = \mathbf{W}^{(2)\top} \\
  \nabla_{\mathbf{z}^{(1)}} L &= \left(\nabla_{\mathbf{z}^{(1)}} \mathbf{h}^{(1)}\right)\nabla_{\mathbf{h}^{(1)}} L, \quad \nabla_{\mathbf{z}^{(1)}} \mathbf{h}^{(1)} = \operatorname{diag}\left(\sigma'\left(\mathbf{z}^{(1)}\right)\right) \\
  \nabla_{\mathbf{W}^{(1)}} L &= \left(\nabla_{\mathbf{W}^{(1)}} \mathbf{z}^{(1)}\right)\nabla_{\mathbf{z}^{(1)}} L \\
  &\scriptstyle \text{denominator layout: } \tfrac{\partial L}{\partial \mathbf{W}} \text{ has the shape of } \mathbf{W}
\end{aligned}"""


def test_one_activation_has_no_recursion_section() -> None:
    tex = sbp.derive(NET, shapes=SH, loss="mse").latex()
    assert r"&\textbf{backward} \\" in tex
    assert r"\textbf{recursion" not in tex
    # a scalar derivation through two functions is no network: forward and chain only
    assert r"\textbf" not in sbp.derive("sin(cos(x))").latex()


def test_each_local_jacobian_is_named_once_numerator_layout() -> None:
    tex = sbp.derive(NET, shapes=SH, loss="mse", layout="numerator").latex(sections="chain")
    lines = tex.splitlines()
    assert lines[2] == (
        r"  \frac{\partial L}{\partial \mathbf{W}^{(1)}} &= \frac{\partial L}{\partial "
        r"\mathbf{o}}\,\frac{\partial \mathbf{o}}{\partial \mathbf{h}}\,\frac{\partial "
        r"\mathbf{h}}{\partial \mathbf{z}}\,\frac{\partial \mathbf{z}}{\partial "
        r"\mathbf{W}^{(1)}}, \quad \frac{\partial \mathbf{h}}{\partial \mathbf{z}} = "
        r"\operatorname{diag}\left(\sigma'\left(\mathbf{z}\right)\right), \quad "
        r"\frac{\partial \mathbf{o}}{\partial \mathbf{h}} = \mathbf{W}^{(2)} \\")
    # x and b1 share the path through h and o: only their own first edge is named again
    assert lines[3] == (
        r"  \frac{\partial L}{\partial \mathbf{x}} &= \frac{\partial L}{\partial \mathbf{o}}\,"
        r"\frac{\partial \mathbf{o}}{\partial \mathbf{h}}\,\frac{\partial \mathbf{h}}{\partial "
        r"\mathbf{z}}\,\frac{\partial \mathbf{z}}{\partial \mathbf{x}}, \quad \frac{\partial "
        r"\mathbf{z}}{\partial \mathbf{x}} = \mathbf{W}^{(1)} \\")
    assert lines[-2].startswith(r"  &\scriptstyle \text{numerator layout: }")


def _matrix_functions(n: int) -> sbp.Derivation:
    text = " + ".join(f"sum({f}(A@x))" for f in FUNCTIONS[:n])
    return sbp.derive(text, wrt="x", shapes={"A": (2, 2), "x": (2, 1)})


def test_a_matrix_chain_of_twelve_paths_is_shown_thirteen_are_not() -> None:
    twelve = _matrix_functions(12)
    assert len(twelve.paths(twelve.wrt[0])) == 12
    chain = twelve.latex(sections="chain")
    assert chain.count(r"\left(\nabla_{\mathbf{x}} \mathbf{z}\right)") == 12
    assert r"\nabla_{\mathbf{x}} L &= " in chain
    tex = _matrix_functions(13).latex()
    assert r"\textbf{chain rule" not in tex
    assert r"\nabla_{\mathbf{x}} L" not in tex


def test_an_empty_chain_section_is_no_index_error() -> None:
    """A matrix derivation whose chain section is empty (direct edges only) raised
    IndexError on latex(sections='chain'); it says there is nothing to show."""
    tex = sbp.derive("sum(A)", shapes={"A": (2, 2)}).latex(sections="chain")
    assert tex.startswith("\\begin{aligned}\n")
    assert r"\text{(nothing to show in these sections)}" in tex


@pytest.mark.parametrize("sections", [["recursion"], ["recursion", "jacobian"]])
def test_markdown_and_html_of_empty_sections_say_so(sections: list[str]) -> None:
    """markdown() and html() of sections with nothing in them (no recursion in a scalar
    derivation) were the title alone; they say so, as latex() does."""
    need_katex()  # (d.html() typesets with KaTeX's files)
    d = sbp.derive("(x + y)**2", wrt="x")
    md = d.markdown(sections=sections)
    assert md.splitlines()[0].startswith("# Backpropagation")
    assert f"*Nothing to show in the section{'s' * (len(sections) > 1)} " \
        f"{', '.join(sections)} for this derivation.*" in md
    assert "Nothing to show" in d.html(sections=sections)
    assert "Nothing to show" not in d.markdown(sections=["recursion", "backward"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_path_shape_counts_what_paths_lists(data: st.DataObject) -> None:
    """The printers read how many paths a variable has and how long the longest is from
    ``path_shape`` (one pass over the graph), not by listing them: the two agree, with the
    count capped one past ``max_paths`` as ``paths`` stops there."""
    kind = data.draw(st.sampled_from(["scalar", "matrix"]))
    prog = data.draw(programs(kind == "matrix"))
    d = sbp.derive(prog.text(), shapes=prog.shapes())
    for v in (*d.wrt, *(eq.lhs for eq in d.forward)):
        listed = d.paths(v)
        assert d.path_shape(v) == (len(listed), max(map(len, listed), default=0))
    many = _sum_of_functions(13)  # thirteen paths: counted as max_paths + 1, as listed
    assert many.path_shape(many.wrt[0]) == (13, 3) == (len(many.paths(many.wrt[0])), 3)
