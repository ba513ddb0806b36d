"""The problem statement: the output in the inputs; a Python function's source via latexify-py."""

from __future__ import annotations

import math

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.emit.problem import SourceUnavailable, function_latex, problem, problem_latex


def neuron(w, x, b):  # type: ignore[no-untyped-def]
    return math.tanh(w * x + b)


def layer(W1, x, b1):  # type: ignore[no-untyped-def]
    z = W1 @ x + b1
    return np.tanh(z)


def comprehension(x):  # type: ignore[no-untyped-def]
    return sum([x for _ in range(3)])


def with_source(fn):  # type: ignore[no-untyped-def]
    """A derivation of the same expression whose source is the function ``fn``."""
    d = sbp.derive("tanh(w*x + b)", wrt=["w", "b"])
    return sbp.Derivation(d.graph, d.wrt, d.options, source=fn)  # a record: built anew


def test_output_written_in_the_inputs() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    assert problem_latex(d) == r"z = \left(x + y\right)^{2}"
    assert d.problem_latex() == r"z = \left(x + y\right)^{2}"


def test_function_source_is_typeset_by_latexify() -> None:
    assert function_latex(neuron) == (r"\mathrm{neuron}(w, x, b) = \tanh \mathopen{}\left( "
                                      r"w x + b \mathclose{}\right)")
    d = with_source(neuron)
    lines, note = problem(d)
    assert note is None
    assert lines[0].startswith(r"\mathrm{neuron}(w, x, b)")
    md = d.markdown()
    assert "$$\n\\mathrm{neuron}(w, x, b) = \\tanh" in md
    assert r"\mathrm{neuron}" in d.html(assets="link")
    assert d.problem_latex().startswith("\\begin{gathered}\n\\mathrm{neuron}")


def test_lambdas_and_sourceless_functions_get_a_clear_message() -> None:
    with pytest.raises(SourceUnavailable, match="a lambda has no source"):
        function_latex(lambda w, x, b: math.tanh(w * x + b))
    namespace: dict[str, object] = {}
    exec("def made(x):\n    return x * 2\n", namespace)  # a test-made function without a file
    with pytest.raises(SourceUnavailable, match=r"source of made\(\) is not available"):
        function_latex(namespace["made"])
    md = with_source(lambda w, x, b: math.tanh(w * x + b)).markdown()
    assert "*The function's source is not shown: a lambda has no source" in md
    assert "Traceback" not in md


def test_latexify_errors_are_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    import latexify

    def boom(fn, **kw):  # type: ignore[no-untyped-def]
        raise latexify.exceptions.LatexifyNotSupportedError("Unsupported AST: Yield")

    monkeypatch.setattr(latexify, "get_latex", boom)
    with pytest.raises(SourceUnavailable, match="latexify-py cannot typeset neuron"):
        function_latex(neuron)


def test_derive_a_python_function_end_to_end() -> None:
    pytest.importorskip("symbackprop.trace_function")
    d = sbp.derive(neuron, wrt=["w", "b"])
    md = d.markdown()
    assert r"\mathrm{neuron}(w, x, b)" in md
    got = d.evaluate({"w": 0.5, "x": 2.0, "b": -0.3})
    assert got["w"] == pytest.approx(2.0 * (1 - math.tanh(0.7) ** 2))


@pytest.mark.tools
def test_problem_strings_render() -> None:
    assert_latex_ok([function_latex(neuron), function_latex(layer),
                     function_latex(comprehension), with_source(neuron).problem_latex(),
                     sbp.derive("(x + y)**2").problem_latex()])
