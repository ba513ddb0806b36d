"""One vocabulary of section names across latex(), markdown(), html() and the CLI (issue 17)."""

from __future__ import annotations

import re

import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.cli import main
from symbackprop.emit.sections import MEANING, SECTIONS

NET = ("h1 = sigmoid(W1@x + b1); h2 = sigmoid(W2@h1 + b2); h3 = sigmoid(W3@h2 + b3); "
       "h4 = sigmoid(W4@h3 + b4); h4",
       {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (4, 4), "b2": (4, 1), "W3": (4, 4),
        "b3": (4, 1), "W4": (2, 4), "b4": (2, 1), "y": (2, 1)})
CASES = {
    "scalar": lambda: sbp.derive("sin(x*y) + x**2"),
    "network": lambda: sbp.derive(NET[0], shapes=NET[1], loss="mse", granularity="primitive"),
    "forward mode": lambda: sbp.derive("log(x1) + x1*x2 - sin(x2)", wrt=["x1"],
                                       mode="forward"),
    "jacobian": lambda: sbp.derive("A@exp(x)", wrt="x", shapes={"A": (4, 3), "x": (3, 1)}),
}


def test_every_name_has_a_meaning() -> None:
    assert set(MEANING) == set(SECTIONS)


@pytest.mark.parametrize("case", list(CASES))
def test_every_format_takes_every_name(case: str) -> None:
    d = CASES[case]()
    texs = []
    for section in SECTIONS:
        tex = d.latex(section)
        md = d.markdown(section)
        assert md.startswith("# ")
        assert d.latex([section]) == tex
        assert d.markdown([section]) == md
        texs.append(tex)
    texs.append(d.latex(SECTIONS))
    assert_latex_ok(texs)


@pytest.mark.parametrize("section", ["chain", "recursion", "result"])
def test_markdown_shows_what_latex_shows(section: str) -> None:
    """A section's equations are the same lines in the aligned block and the lecture note."""
    d = CASES["network"]()
    rows = [r.rstrip(" \\").strip() for r in d.latex(section, environment=False).splitlines()]
    body = [r for r in rows if r and not r.startswith(r"&\textbf") and "scriptstyle" not in r]
    assert body, section
    md = d.markdown(section)
    for row in body:
        assert row in md, (section, row)


def test_result_is_the_chain_rule_and_the_gradients_in_the_inputs() -> None:
    d = sbp.derive("sigmoid(W@x)", shapes={"W": (2, 3), "x": (3, 1)}, loss="mse")
    chain = d.latex("chain", environment=False)
    result = d.latex("result", environment=False)
    assert r"\nabla_{\mathbf{W}} L &=" in chain
    assert r"\nabla_{\mathbf{W}} L &=" in result
    assert r"\frac{\partial L}{\partial \mathbf{W}} &=" in result  # written in the inputs
    both = d.latex(["chain", "result"], environment=False)  # the chain is not printed twice
    assert both.count(r"\nabla_{\mathbf{W}} L &=") == 1


def test_the_problem_is_the_output_written_in_the_inputs() -> None:
    d = sbp.derive("h = x*y; sin(h) + h")
    assert d.latex("problem", environment=False).strip().startswith(
        r"&\textbf{problem}") is False  # one short section is not titled
    line = d.latex("problem", environment=False).strip()
    lhs, rhs = line.split("&=")
    assert lhs.strip() == "z"
    assert r"\sin" in rhs
    assert not re.search(r"\bh\b", rhs)


def test_a_deep_network_note_has_the_recursion_by_default_as_latex_does() -> None:
    d = CASES["network"]()
    assert r"\textbf{recursion over the layers}" in d.latex()
    assert "## Recursion over the layers" in d.markdown()


@pytest.mark.parametrize("bad", ["f", ["forward", "sideways"], [3]])
def test_a_wrong_name_is_an_option_error_listing_the_choices(bad: object) -> None:
    d = CASES["scalar"]()
    for method in (d.latex, d.markdown):
        with pytest.raises(sbp.OptionError, match="choose from " + ", ".join(SECTIONS)) as e:
            method(bad)  # type: ignore[arg-type]
        assert e.value.choices == SECTIONS
        assert isinstance(e.value, ValueError)


def test_the_cli_takes_the_same_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["derive", "sin(x*y)", "--sections", "forward, chain"]) == 0
    assert capsys.readouterr().out.strip() == sbp.derive("sin(x*y)").latex(["forward", "chain"])
    assert main(["derive", "sin(x*y)", "--sections", "result", "--format", "markdown"]) == 0
    assert "## Result" in capsys.readouterr().out
    assert main(["derive", "sin(x*y)", "--sections", "f"]) == 2
    assert "choose from problem" in capsys.readouterr().err
    assert main(["derive", "sin(x*y)", "--sections", "chain", "--format", "json"]) == 2
    assert "--sections is for --format latex, markdown or html" in capsys.readouterr().err
