r"""The LaTeX reader against the held-out round E4 (printed gradients read back), each value
and gradient against an independent NumPy computation, each refusal by type and message.

* 1: a subscript after a group inside ``\|…\|`` or ``|…|`` (``\|{\mathbf{x}}_{1} − y\|^2``)
  was dropped with everything after it up to the closing bar (read as ‖x‖², no error);
  every token left unread in a delimited construct is now a ``ParseError``;
* 2: ``\log\det\left(X\right)^{2}``, as the printer writes (log det X)², was log(det(X)²),
  and ``\log\det\left(X\right)\,A`` log(det(X)·A): ``\log\det`` before a bracket is now one
  function of the bracket, so what follows it applies to its value;
* 3: errors blamed column 1 (``\frac is not read: it is not maths we know``) for an ``=``
  inside ``\mathbf{1}\left[a = b\right]`` or a norm; they now point at what is not read.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp

# --- 1: nothing inside a delimiter is dropped ------------------------------------------------
VEC = {"x": (2, 1), "y": (2, 1)}
X = np.array([[0.3], [-1.2]])
Y = np.array([[0.5], [0.4]])


@pytest.mark.parametrize(("src", "shapes"), [
    (r"\|{\mathbf{x}}_{zz} - \mathbf{y}\|^2", VEC),
    (r"\left\lVert {\mathbf{x}}_{1} - \mathbf{y} \right\rVert^{2}", VEC),
    (r"\left| {x}_{zz} - y \right|", None),
    (r"|{x}_{1} - y|", None),
    (r"\left\lVert \left(\mathbf{K}\right)_{1:,\,:} - \mathbf{R} \right\rVert_{F}",
     {"K": (3, 3), "R": (2, 3)}),
    (r"\left\lVert {\mathbf{W}}_{1:,\,1:} - \mathbf{R} \right\rVert^{2}",
     {"W": (3, 3), "R": (2, 2)}),
])
def test_a_subscript_after_a_group_in_a_norm_is_refused(src: str, shapes: Any) -> None:
    with pytest.raises(sbp.ParseError, match="a subscript after a group or a bracket is "
                                             "not read") as e:
        sbp.parse(src, shapes, syntax="latex")
    assert "(column 1)" not in str(e.value)


def test_the_rest_of_a_norm_is_never_dropped() -> None:
    with pytest.raises(sbp.ParseError, match="unexpected ','"):
        sbp.parse(r"\|\mathbf{x}, \mathbf{y}\|", VEC, syntax="latex")
    with pytest.raises(sbp.ParseError, match="unexpected ','"):
        sbp.parse(r"|x, y|", syntax="latex")


def test_a_norm_with_its_whole_inside_still_reads() -> None:
    d = sbp.derive(r"\left\lVert {\mathbf{x}} - \mathbf{y} \right\rVert^{2}", syntax="latex",
                   shapes=VEC, wrt="x")
    np.testing.assert_allclose(d.evaluate({"x": X, "y": Y})["x"], 2 * (X - Y))
    d = sbp.derive(r"\left| {x} - y \right|", syntax="latex", wrt="x")
    np.testing.assert_allclose(float(d.evaluate({"x": 0.3, "y": 0.5})["x"]), -1.0)


# every delimited construct, a group with a lexable junk subscript inside it: read (with the
# subscript) or refused, never read without it
_CONSTRUCTS = [
    r"\left\lVert {G} - \mathbf{{y}} \right\rVert^{{2}}",
    r"\|{G} - \mathbf{{y}}\|",
    r"\left| {G} - \mathbf{{y}} \right|",
    r"|{G} - \mathbf{{y}}|",
    r"\left[ {G} - \mathbf{{y}} \right]",
    r"\left( {G} - \mathbf{{y}} \right)",
    r"( {G} - \mathbf{{y}} )",
    r"\exp\left( {G} - \mathbf{{y}} \right)",
    r"\operatorname{{softplus}}\left( {G} - \mathbf{{y}} \right)",
    r"\sqrt{{{G} - \mathbf{{y}}}}",
    r"\sqrt[3]{{{G} - \mathbf{{y}}}}",
    r"\frac{{{G} - \mathbf{{y}}}}{{2}}",
    r"\frac{{1}}{{{G} + \mathbf{{y}}}}",
    r"e^{{{G} - \mathbf{{y}}}}",
    r"\sum ({G} - \mathbf{{y}})",
    r"\sum_{{i}} ({G}_i - y_i)",
    r"\left\langle {G} - \mathbf{{y}}, \mathbf{{y}} \right\rangle",
    r"\mathbf{{1}}^\top \left( {G} - \mathbf{{y}} \right)",
    r"\mathbf{{1}}\left[{G} > \mathbf{{y}}\right]",
]
_GROUPS = [r"{\mathbf{x}}", r"\left(\mathbf{x}\right)", r"(\mathbf{x})"]
_SUFFIXES = ["_{zz}", "_{1}", r"_{1:,\,:}", "_{i}"]


@pytest.mark.parametrize("template", _CONSTRUCTS)
def test_a_subscript_in_any_delimited_construct_is_never_dropped(template: str) -> None:
    for group in _GROUPS:
        for suffix in _SUFFIXES:
            src = template.format(G=group + suffix)
            with pytest.raises(sbp.ParseError, match="a subscript after a group or a "
                                                     "bracket is not read") as e:
                sbp.parse(src, VEC, syntax="latex")
            column = int(str(e.value).rsplit("(column ", 1)[1].rstrip(")"))
            assert src[column - 1] == "_", src  # at the subscript itself


# --- 2: \log\det before a bracket is one function ---------------------------------------------
SQ = {"X": (3, 3), "A": (3, 3)}
_rng = np.random.default_rng(0)
VALUES = {"X": 2 * np.eye(3) + 0.3 * _rng.normal(size=(3, 3)), "A": _rng.normal(size=(3, 3)),
          "a": 0.7}


def _logdet(x: np.ndarray) -> float:
    sign, value = np.linalg.slogdet(x)
    assert sign > 0
    return float(value)


def _forward(d: sbp.Derivation, values: dict[str, Any]) -> Any:
    inputs = {str(v): values[str(v)] for v in d.inputs}
    return np.asarray(list(d.trace(inputs))[-1].value, dtype=float)


@pytest.mark.parametrize(("src", "f"), [
    (r"\log\det\left(\mathbf{X}\right)^{2}", lambda v: _logdet(v["X"]) ** 2),
    (r"\log\det(\mathbf{X})^2", lambda v: _logdet(v["X"]) ** 2),
    (r"\ln \det\left(\mathbf{X}\right)", lambda v: _logdet(v["X"])),
    (r"\operatorname{sum}\left(\log\det\left(\mathbf{X}\right)\,\mathbf{A}\right)",
     lambda v: _logdet(v["X"]) * v["A"].sum()),
    (r"\log\det\mathbf{X}", lambda v: _logdet(v["X"])),  # bracketless: log(det X), as before
    (r"\det(\mathbf{X})^{2}", lambda v: np.linalg.det(v["X"]) ** 2),
    (r"\operatorname{tr}(\mathbf{X})^{2}", lambda v: np.trace(v["X"]) ** 2),
])
def test_log_det_of_a_bracket_is_logdet_and_a_power_after_it_of_its_value(src: str,
                                                                           f: Any) -> None:
    d = sbp.derive(src, syntax="latex", shapes=SQ)
    np.testing.assert_allclose(float(_forward(d, VALUES)), f(VALUES), rtol=1e-10)


def test_log_det_times_a_matrix_is_logdet_times_the_matrix() -> None:
    g = sbp.parse(r"\log\det\left(\mathbf{X}\right)\,\mathbf{A}", SQ, syntax="latex")
    assert str(g) == "logdet(X)*A"


@pytest.mark.parametrize(("text", "wrt", "grad"), [
    ("a*logdet(X)**2", "X", lambda v: 2 * v["a"] * _logdet(v["X"]) * np.linalg.inv(v["X"]).T),
    ("a*logdet(X)**2", "a", lambda v: _logdet(v["X"]) ** 2),
    ("trace(logdet(X)*A)", "X", lambda v: np.trace(v["A"]) * np.linalg.inv(v["X"]).T),
    ("trace(logdet(X)*A)", "A", lambda v: _logdet(v["X"]) * np.eye(3)),
    ("sum(logdet(X)*A)", "X", lambda v: v["A"].sum() * np.linalg.inv(v["X"]).T),
    ("sum(logdet(X)*A)", "A", lambda v: _logdet(v["X"]) * np.ones((3, 3))),
])
def test_the_printed_forward_pass_of_logdet_reads_back(text: str, wrt: str, grad: Any) -> None:
    shapes = {**SQ, "a": ()}
    d = sbp.derive(text, shapes=shapes, wrt=wrt)
    back = sbp.derive(sbp.parse_latex(d.latex(sections="forward"), shapes=shapes), wrt=wrt)
    values = {k: VALUES[k] for k in map(str, d.inputs)}
    np.testing.assert_allclose(_forward(back, values), _forward(d, values), rtol=1e-10)
    want = grad(VALUES)
    for got in (d.evaluate(values)[wrt], back.evaluate(values)[wrt]):
        np.testing.assert_allclose(np.asarray(got, dtype=float).reshape(np.shape(want)), want,
                                   rtol=1e-10, atol=1e-12)


# --- 3: the error points at what is not read --------------------------------------------------
@pytest.mark.parametrize(("src", "want"), [
    (r"\frac{1}{2}\,\mathbf{1}\left[\mathbf{A} = \mathbf{B}\right]", lambda a, b: 0.5 * (a == b)),
    (r"\mathbf{1}\left[\mathbf{A} = \mathbf{B}\right]", lambda a, b: 1.0 * (a == b)),
    (r"-\mathbf{A} + \mathbf{1}\left[\mathbf{A} = \mathbf{B}\right]", lambda a, b: -a + (a == b)),
    (r"\left(\mathbf{1}\left[\mathbf{A} = \mathbf{B}\right]\right)", lambda a, b: 1.0 * (a == b)),
    (r"\tanh\left(\mathbf{A}\right)\odot\mathbf{1}\left[\mathbf{A} = \mathbf{B}\right]",
     lambda a, b: np.tanh(a) * (a == b)),
])
def test_an_equality_indicator_reads_as_the_tie(src: str, want: Any) -> None:
    """𝟏[a = b], printed for max's slope at a tie, reads as 1 where a = b (it was refused at
    its 𝟏, then read as (a >= b) + (a <= b) - 1): its value is the gradient of Σ (·) ⊙ W."""
    a = np.array([[1.0, 2.0], [3.0, -1.0]])
    b = np.array([[1.0, 0.0], [3.0, 4.0]])
    d = sbp.derive(rf"\sum \left({src}\right) \odot \mathbf{{W}}", syntax="latex",
                   shapes={"A": (2, 2), "B": (2, 2), "W": (2, 2)}, wrt=["W"])
    got = d.evaluate({"A": a, "B": b, "W": np.ones((2, 2))})["W"]
    np.testing.assert_allclose(got, want(a, b), atol=1e-12)


@pytest.mark.parametrize(("src", "column"), [
    (r"\|\mathbf{x} = \mathbf{y}\|", 14),
    (r"|x = y|", 4),
    (r"-x = y", 4),
    (r"2 x = y", 5),
    (r"\frac{1}{2} x = y", 15),
])
def test_an_equals_sign_after_no_name_is_blamed(src: str, column: int) -> None:
    with pytest.raises(sbp.ParseError, match="unexpected '='") as e:
        sbp.parse(src, VEC if "mathbf" in src else None, syntax="latex")
    assert f"(column {column})" in str(e.value)


def test_an_equation_still_reads_and_an_unknown_command_is_still_named() -> None:
    d = sbp.derive(r"z = \mathbf{1}\left[x > y\right] \, x", syntax="latex")
    assert [str(e.lhs) for e in d.forward] == ["z"]
    got = d.evaluate({"x": 2.0, "y": 1.0})
    assert (float(got["x"]), float(got["y"])) == (1.0, 0.0)
    with pytest.raises(sbp.ParseError, match=r"\\input is not read"):
        sbp.parse(r"\input = x", syntax="latex")



def _inv_t(v: dict[str, Any]) -> np.ndarray:
    return np.linalg.inv(v["X"]).T


@pytest.mark.parametrize(("text", "wrt", "grad"), [
    ("a*logdet(X)**2", "X", lambda v: 2 * v["a"] * _logdet(v["X"]) * _inv_t(v)),
    ("a*logdet(X)**2", "a", lambda v: _logdet(v["X"]) ** 2),
    ("sum(logdet(X)*A)", "X", lambda v: v["A"].sum() * _inv_t(v)),
    ("trace(logdet(X)*A)", "X", lambda v: np.trace(v["A"]) * _inv_t(v)),
    ("logdet(X)*a + logdet(X)**3", "X", lambda v: (v["a"] + 3 * _logdet(v["X"]) ** 2)
     * _inv_t(v)),
    ("logdet(X)*a + logdet(X)**3", "a", lambda v: _logdet(v["X"])),
    ("sum(exp(logdet(X)*A))", "A", lambda v: _logdet(v["X"])
     * np.exp(_logdet(v["X"]) * v["A"])),
])
def test_a_printed_gradient_with_logdet_reads_back_as_its_value(text: str, wrt: str,
                                                                grad: Any) -> None:
    shapes = {**SQ, "a": ()}
    d = sbp.derive(text, shapes=shapes, wrt=wrt)
    rhs = json.loads(d.to_json())["gradients"][0]["latex"].split(" = ", 1)[1]
    got = _forward(sbp.derive(rhs, syntax="latex", shapes=shapes), VALUES)
    want = grad(VALUES)
    np.testing.assert_allclose(got.reshape(np.shape(want)), want, rtol=1e-10, atol=1e-12)
