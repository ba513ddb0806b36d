"""The error contract: typed errors for bad input; nothing internal escapes.

Allowed for bad input: a ``SymbackpropError``, or a ``TypeError``/``ValueError`` raised by
symbackprop's own code (a wrong argument type or option). Never a KeyError, AttributeError,
IndexError or RecursionError, and never a TypeError/ValueError raised inside SymPy or NumPy.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import sympy as sp

import symbackprop as sbp
from symbackprop.cli import main


def test_hierarchy() -> None:
    assert issubclass(sbp.ParseError, sbp.SymbackpropError)
    assert issubclass(sbp.ParseError, ValueError)
    assert issubclass(sbp.LimitError, sbp.ParseError)
    assert issubclass(sbp.ShapeError, sbp.SymbackpropError)
    assert issubclass(sbp.ShapeError,
                                                                            ValueError)
    assert issubclass(sbp.GraphError, sbp.SymbackpropError)
    assert issubclass(sbp.GraphError,
                                                                            ValueError)
    assert issubclass(sbp.UnsupportedError, sbp.SymbackpropError)
    assert issubclass(sbp.GradcheckError, sbp.SymbackpropError)
    e = sbp.ParseError("bad", column=3, text="x $ y")
    assert (e.column, e.text, str(e)) == (3, "x $ y", "bad (column 3)")


def fails_cleanly(f: Callable[[], Any]) -> BaseException:
    with pytest.raises((sbp.SymbackpropError, TypeError, ValueError)) as info:
        f()
    e = info.value
    if not isinstance(e, sbp.SymbackpropError):
        origin = traceback.extract_tb(e.__traceback__)[-1].filename.replace("\\", "/")
        assert "/symbackprop/" in origin, f"{type(e).__name__} from {origin}: {e}"
    assert str(e)
    return e


D = sbp.derive("x*y + sin(x)")
DM = sbp.derive("sum(W@x)", shapes={"W": (3, 3), "x": (3,)})
X = sp.Symbol("x")

BAD: dict[str, Callable[[], Any]] = {
    "parse-none": lambda: sbp.parse(None),  # type: ignore[arg-type]
    "parse-bytes": lambda: sbp.parse(b"x"),  # type: ignore[arg-type]
    "parse-shapes-int": lambda: sbp.parse("x", shapes=3),
    "parse-shapes-list": lambda: sbp.derive("x", shapes=[1, 2]),  # type: ignore[arg-type]
    "parse-limits-dict": lambda: sbp.parse("x", limits={}),  # type: ignore[arg-type]
    "derive-int": lambda: sbp.derive(3),
    "derive-none": lambda: sbp.derive(None),
    "derive-matrix": lambda: sbp.derive(sp.Matrix([[X]])),
    "derive-function": lambda: sbp.derive(sp.Function("f")(X)),
    "derive-complex": lambda: sbp.derive(sp.I * X),
    "derive-integral": lambda: sbp.derive(sp.Integral(X, X)),
    "derive-matrix-output-mismatch": lambda: sbp.derive("W@x", shapes={"W": (2, 2), "x": (3,)}),
    "wrt-missing": lambda: sbp.derive("x*y", wrt="z"),
    "wrt-int": lambda: sbp.derive("x*y", wrt=[3]),
    "wrt-none-in-list": lambda: sbp.derive("x*y", wrt=[None]),
    "loss-unknown": lambda: sbp.derive("W@x", shapes={"W": (2, 2), "x": (2,)}, loss="l1"),  # type: ignore[arg-type]
    "loss-scalar": lambda: sbp.derive("x*y", loss="mse"),
    "layout": lambda: sbp.derive("x*y", layout="sideways"),  # type: ignore[arg-type]
    "adjoint": lambda: sbp.derive("x*y", adjoint="hat"),  # type: ignore[arg-type]
    "granularity": lambda: sbp.derive("x*y", granularity="atoms"),  # type: ignore[arg-type]
    "names-unknown": lambda: sbp.derive("x*y", names={"q": "r"}),
    "names-clash": lambda: sbp.derive("x*y", names={"x": "y"}),
    "shape-zero": lambda: sbp.derive("x*y", shapes={"x": (0, 1)}),
    "shape-3d-zero": lambda: sbp.derive("x*y", shapes={"x": (1, 2, 0)}),
    "shape-float": lambda: sbp.derive("x*y", shapes={"x": (2.5,)}),
    "shape-text": lambda: sbp.derive("x*y", shapes={"x": "a b"}),
    # a value passed for its shape (held-out round W6: NumPy's ValueError from the library)
    "shape-a-value": lambda: sbp.derive("sum(W@x)", shapes={"W": np.ones((2, 3)), "x": (3,)}),
    "shape-float-array": lambda: sbp.derive("sum(W@x)", shapes={"W": np.array([2.0, 3.0])}),
    "shape-numpy-bool": lambda: sbp.derive("x*y", shapes={"x": (np.True_, 2)}),
    "mismatch": lambda: sbp.derive("sum(W@x)", shapes={"W": (3, 4), "x": (3,)}),
    "vector-for-matrix": lambda: sbp.derive("sum(W@x)", shapes={"W": (3,), "x": (3,)}),
    "missing-shape": lambda: sbp.derive("sum(W@x)", shapes={"W": (3, 3)}),
    "two-shapes": lambda: sbp.derive(sp.Trace(sp.MatrixSymbol("W", 2, 2)),
                                     shapes={"W": (3, 3)}),
    "arity": lambda: sbp.derive("max(x, y, z)"),  # max(X) alone is its largest entry
    "evaluate-missing": lambda: D.evaluate({"x": 1}),
    "evaluate-text": lambda: D.evaluate({"x": "abc", "y": 2}),
    "evaluate-object": lambda: D.evaluate({"x": object(), "y": 2}),
    "evaluate-complex": lambda: D.evaluate({"x": 1j, "y": 2}),
    "evaluate-array-for-scalar": lambda: D.evaluate({"x": [1, 2], "y": 2}),
    "evaluate-none": lambda: D.evaluate(None),  # type: ignore[arg-type]
    "evaluate-list": lambda: D.evaluate([1, 2]),  # type: ignore[arg-type]
    "evaluate-wrong-shape": lambda: DM.evaluate({"W": np.ones((2, 2)), "x": np.ones(3)}),
    "evaluate-3d": lambda: DM.evaluate({"W": np.ones((3, 3, 1)), "x": np.ones(3)}),
    "evaluate-number-text": lambda: D.evaluate({"x": "3", "y": 2}),  # was 3.0
    "evaluate-none-value": lambda: D.evaluate({"x": None, "y": 2}),  # was NaN
    "evaluate-complex-array": lambda: DM.evaluate({"W": np.ones((3, 3)) * 1j, "x": np.ones(3)}),
    "evaluate-ragged": lambda: DM.evaluate({"W": [[1, 2, 3], [1]], "x": np.ones(3)}),
    "evaluate-positive": lambda: sbp.derive(sp.log(sp.Symbol("p", positive=True))).evaluate(
        {"p": -2.0}),
    "evaluate-too-large": lambda: sbp.derive("sum(x@x.T)", shapes={"x": ("n", 1)}).evaluate(
        {"x": np.ones(20_000)}),
    "check-complex": lambda: DM.check({"W": np.ones((3, 3)) * 1j, "x": np.ones(3)}),
    "trace-object": lambda: D.trace({"x": object(), "y": 2}),
    "trace-missing": lambda: D.trace({}),
    "let-dunder": lambda: sbp.Graph().let("__class__", "x"),
    "let-object": lambda: sbp.Graph().let("z", object()),  # type: ignore[arg-type]
    "let-twice": lambda: sbp.Graph().let("z", "x").let("z", "x"),
    "let-name-int": lambda: sbp.Graph().let(3, "x"),  # type: ignore[arg-type]
    # a held-out tester's round: each was a message from inside Python or NumPy, or nothing
    "wrt-int-alone": lambda: sbp.derive("x*y", wrt=3),  # type: ignore[arg-type]
    "names-text": lambda: sbp.derive("x*y", names="x"),  # type: ignore[arg-type]
    "check-seed-negative": lambda: D.check(seed=-1),
    "check-seed-text": lambda: D.check(seed="a"),  # type: ignore[arg-type]
    "traced-floordiv": lambda: sbp.derive(lambda x: x // 2),
    "traced-round": lambda: sbp.derive(lambda x: round(x)),
    "gradcheck-grad-twice": lambda: sbp.gradcheck("x**2", {"x": 1.5},
                                                  grad={"x": "2*x", X: 99.0}),
    "jacobian-too-large": lambda: sbp.derive(
        "exp(x)", wrt="x", shapes={"x": (5000, 1)}, layout="numerator").evaluate(
        {"x": np.ones((5000, 1))}),
    "log-softmax-tensor": lambda: sbp.derive("sum(log_softmax(X))", shapes={"X": (2, 3, 4)}),
    "hessian-too-large": lambda: sbp.hessian("sum(exp(x))", wrt="x", shapes={
        "x": (4000, 1)}).evaluate({"x": np.ones((4000, 1))}),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_gets_a_typed_error(name: str) -> None:
    e = fails_cleanly(BAD[name])
    assert not isinstance(e, (KeyError, AttributeError, IndexError, RecursionError))


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"shapes": {"W": (3, 4), "x": (3,)}}, ["W@x", "(3, 4)", "(3, 1)"]),
    ({"shapes": {"W": (3,), "x": (3,)}}, ["(3, 1) @ (3, 1)"]),
    ({"shapes": {"W": (3, 3)}}, ["(3, 3) @ scalar", "give its shape"]),
])
def test_shape_errors_name_both_shapes(kwargs: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(sbp.ShapeError) as info:
        sbp.derive("sum(W@x)", **kwargs)
    for w in words:
        assert w in str(info.value)


def test_numpys_integers_and_arrays_of_them_are_shapes() -> None:
    """Sizes computed with NumPy (np.int64, np.array([2, 3]), a value's .shape) are shapes:
    np.int64(2) was 'neither a positive int nor a name' (held-out round W6)."""
    rng = np.random.default_rng(0)
    vals = {"W": rng.normal(size=(2, 3)), "x": rng.normal(size=(3, 1))}
    want = sbp.derive("sum(tanh(W@x))", shapes={"W": (2, 3), "x": (3, 1)}).evaluate(vals)
    for shapes in ({"W": np.array([2, 3]), "x": np.array([3, 1])},
                   {"W": (np.int64(2), np.int32(3)), "x": (np.int64(3), 1)},
                   {k: v.shape for k, v in vals.items()}):
        got = sbp.derive("sum(tanh(W@x))", shapes=shapes).evaluate(vals)
        for k in vals:
            np.testing.assert_allclose(got[k], want[k], rtol=1e-12)
    with pytest.raises(sbp.ShapeError, match=r"not an array of float64 \(2, 3\) \(a value\?"):
        sbp.derive("sum(W@x)", shapes={"W": vals["W"], "x": (3, 1)})
    with pytest.raises(sbp.ShapeError, match="must be positive"):
        sbp.derive("sum(W@x)", shapes={"W": (np.int64(0), 3), "x": (3, 1)})


@pytest.mark.parametrize("given", [(3,), [3], np.array([3])], ids=["tuple", "list", "array"])
def test_a_1d_declaration_however_written_is_numpys_1d(given: Any) -> None:
    """(3,), [3] and np.array([3]) each declare NumPy's 1-D array (the array was read as the
    column (3, 1) where the tuple was 1-D)."""
    rng = np.random.default_rng(1)
    a, x = rng.normal(size=(3, 3)), rng.normal(size=3)

    def f(A: Any, x: Any) -> Any:
        return np.sum(np.sin(A + x))  # NumPy lines x up with A's last axis

    d = sbp.derive(f, shapes={"A": (3, 3), "x": given})
    assert float(np.ravel(d.trace({"A": a, "x": x}).rows[-1].value)[0]) == pytest.approx(f(a, x))
    with pytest.raises(sbp.ShapeError, match=r"x is NumPy's 1-D \(3,\)"):
        sbp.derive("np.sum(np.sin(A + x))", shapes={"A": (3, 3), "x": given})


def test_a_name_with_two_shapes() -> None:
    with pytest.raises(sbp.ShapeError, match=r"W is \(2, 2\) in the expression but \(3, 3\)"):
        sbp.derive(sp.MatrixSymbol("W", 2, 2).T * sp.MatrixSymbol("W", 2, 2), shapes={"W": (3, 3)})
    w2, w3 = sp.MatrixSymbol("W", 2, 1), sp.MatrixSymbol("W", 3, 1)
    with pytest.raises(sbp.ShapeError, match=r"W is used with two shapes: \(2, 1\) and \(3, 1\)"):
        sbp.derive(sbp.functions.SumAll(w2) + sbp.functions.SumAll(w3))


def test_wrt_not_in_the_expression_names_it() -> None:
    with pytest.raises(ValueError, match=r"wrt='z' is not an input .*x, y"):
        sbp.derive("x*y", wrt="z")


def test_cli_bad_input_is_one_line_and_debug_shows_the_traceback(
        capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["derive", "x*y", "--wrt", "q"], ["derive", "sum(W@x)", "--shape", "W=3x4",
                                                  "--shape", "x=3"], ["check", "log(0)"],
                 ["derive", "W@x", "--shape", "W=2x2", "--shape", "x=3"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert "Traceback" not in err
    # --debug: the traceback, and still bad input's exit code (not Python's 1 of a crash)
    assert main(["--debug", "derive", "sum(W@x)", "--shape", "W=3x4", "--shape", "x=3"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "ShapeError" in err


@pytest.mark.parametrize(("kw", "choices"), [
    ({"layout": "row"}, ("numerator", "denominator")),
    ({"adjoint": "hat"}, ("frac", "bar", "delta")),
    ({"granularity": "layer"}, ("auto", "primitive", "layers", "stages")),
    ({"mode": "backward"}, ("reverse", "forward")),
    ({"loss": "l2"}, ("mse", "cross_entropy")),
    ({"order": 3}, ("1", "2")),
    ({"wrt": "Q"}, ("W", "x")),
])
def test_an_unknown_option_value_is_an_option_error_with_its_choices(kw: dict[str, Any],
                                                                    choices: tuple[str, ...]
                                                                    ) -> None:
    """They were bare ValueErrors (a held-out tester's list); OptionError is still one."""
    with pytest.raises(sbp.OptionError) as e:
        sbp.derive("sum(W@x)", shapes={"W": (2, 2), "x": (2, 1)}, **kw)
    assert e.value.choices == choices
    assert isinstance(e.value, ValueError)


def test_an_unknown_format_is_an_option_error() -> None:
    with pytest.raises(sbp.OptionError, match="the formats are latex") as e:
        sbp.derive("x*y").to("yaml")
    assert "json" in e.value.choices


# Any: the calls below pass what the signatures do not allow, on purpose
_D: Any = sbp.derive("x*y")
_T: Any = _D.trace({"x": 1.0, "y": 2.0})
_SECTIONS = ("problem", "forward", "partials", "tangents", "backward", "recursion", "chain",
             "result", "jacobian")


@pytest.mark.parametrize(("call", "words", "choices"), [
    (lambda: _D.latex(3), ["latex()", "sections", "int"], _SECTIONS),
    (lambda: _D.markdown(3), ["markdown()", "sections"], _SECTIONS),
    (lambda: _D.html(3), ["html()", "sections"], _SECTIONS),
    (lambda: _D.compact(3.5), ["compact()", "sections", "float"], _SECTIONS),
    (lambda: _D.to("latex", sections=7), ["to('latex')", "sections"], _SECTIONS),
    (lambda: _D.latex(environment="no"), ["latex()", "environment", "True or False"],
     ("True", "False")),
    (lambda: _D.markdown(level="2"), ["markdown()", "level", "from 1 to 5"],
     ("1", "2", "3", "4", "5")),
    (lambda: _D.html(graph="yes"), ["html()", "graph", "'auto'"], ("True", "False", "'auto'")),
    (lambda: _D.html(assets="offline"), ["html()", "assets", "'inline'"],
     ("'inline'", "'link'", "'cdn'")),
    (lambda: _D.to_dot(rankdir="RL"), ["to_dot()", "rankdir must be 'LR' or 'TB'"],
     ("'LR'", "'TB'")),
    (lambda: _D.to_dot(use_package="yes"), ["to_dot()", "use_package"],
     ("None", "True", "False")),
    (lambda: _D.to_json("  "), ["to_json()", "indent", "whole number"], None),
    (lambda: _T.latex(digits=2.5), ["latex()", "digits", "1 to 17"], None),
    (lambda: _D.to("latex", level=2), ["to('latex')", "'level'", "sections, environment"],
     ("sections", "environment")),
])
def test_output_methods_name_the_parameter_and_its_choices(
        call: Callable[[], Any], words: list[str], choices: tuple[str, ...] | None) -> None:
    """d.latex(3) was Python's "'int' object is not iterable" from inside an emitter."""
    with pytest.raises(sbp.OptionError) as info:
        call()
    for w in words:
        assert w in str(info.value)
    if choices is not None:
        assert info.value.choices == choices
    assert "not iterable" not in str(info.value)


@pytest.mark.parametrize(("call", "words"), [
    (lambda: _D.to_dot(3), ["to_dot()", "trace", "d.trace(values)", "int"]),
    (lambda: _D.html(trace={"x": 1.0}), ["html()", "trace", "dict"]),
    (lambda: _D.markdown(title=3), ["markdown()", "title", "string"]),
    (lambda: _D.html(katex_href=3), ["html()", "katex_href", "string"]),
])
def test_output_arguments_of_the_wrong_type_are_a_type_error_naming_them(
        call: Callable[[], Any], words: list[str]) -> None:
    with pytest.raises(TypeError) as info:
        call()
    for w in words:
        assert w in str(info.value)


def test_output_methods_still_take_what_they_document() -> None:
    assert _D.latex(s for s in ["forward"]) == _D.latex(["forward"]) == _D.latex("forward")
    assert _D.to_dot(_T) == _D.to_dot(trace=_T)
    assert _D.to_json(0).startswith("{\n")
    assert _T.latex(digits=2)
    assert _D.html(None, trace=_T, graph=False, assets="cdn")
    with pytest.raises(ValueError, match=r"values .* or trace, not both"):
        _D.html(values={"x": 1.0, "y": 2.0}, trace=_T)
