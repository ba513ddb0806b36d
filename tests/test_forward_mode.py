"""Forward mode (``mode="forward"``, ``d.trace(values, tangents=...)``, ``d.jvp``): the tangent
equations v̇ = … of every primitive, against the reverse sweep's gradients (⟨∇f, ẋ⟩) and
central differences along the direction, the Baydin et al. table, the tangent column of every
trace format, and the errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from latex_tools import assert_latex_ok, need_katex
from primitive_cases import FORMS, M
from programs import points, programs

import symbackprop as sbp
from symbackprop.check.engine import Engine

RNG = np.random.default_rng(3)


def _direction(d: sbp.Derivation, values: dict[str, Any]) -> dict[str, Any]:
    return {str(v.name): RNG.normal(size=np.shape(values[str(v.name)])) if np.ndim(
        values[str(v.name)]) else float(RNG.normal()) for v in d.wrt}


def _along_gradient(d: sbp.Derivation, values: dict[str, Any], dirs: dict[str, Any]) -> float:
    grads = d.evaluate(values)
    with np.errstate(all="ignore"):  # a gradient may overflow at a random point: not finite
        return float(sum(np.sum(np.asarray(grads[k]) * np.asarray(v))
                         for k, v in dirs.items()))


def _central(d: sbp.Derivation, values: dict[str, Any], dirs: dict[str, Any],
             h: float = 1e-6) -> Any:
    """(f(x + hẋ) − f(x − hẋ)) / 2h of the derivation's own forward values."""
    def at(sign: float) -> Any:
        moved = {k: (np.asarray(v) + sign * h * np.asarray(dirs[k]) if k in dirs else v)
                 for k, v in values.items()}
        return np.asarray(d.trace(moved).rows[-1].value, dtype=float)
    return (at(1.0) - at(-1.0)) / (2 * h)


def test_the_baydin_table() -> None:
    """f(x1, x2) = ln x1 + x1 x2 − sin x2 at (2, 5), ẋ = (1, 0): the paper's tangents and
    adjoints (Baydin et al., 2018, tables 2 and 3)."""
    d = sbp.derive("log(x1) + x1*x2 - sin(x2)", mode="forward", granularity="primitive")
    t = d.trace({"x1": 2.0, "x2": 5.0}, tangents={"x1": 1.0, "x2": 0.0})
    tangents = {r.name: r.tangent for r in t.rows}
    assert tangents["t_1"] == pytest.approx(0.5)  # v̇1 = v̇−1 / v−1
    assert tangents["t_2"] == pytest.approx(5.0)  # v̇2 = v̇−1 v0 + v−1 v̇0
    assert tangents["t_3"] == pytest.approx(0.0)  # v̇3 = v̇0 cos v0
    assert t.rows[-1].tangent == pytest.approx(5.5)
    assert t["x1"].adjoint == pytest.approx(5.5)
    assert t["x2"].adjoint == pytest.approx(1.716, abs=5e-4)
    tex = d.latex()
    assert r"\dot{t}_{1} &= \frac{\dot{x}_{1}}{x_{1}}" in tex
    assert r"\dot{t}_{2} &= \dot{x}_{1} x_{2} + \dot{x}_{2} x_{1}" in tex
    assert r"\dot{z} &= \dot{t}_{1} + \dot{t}_{2} - \dot{t}_{3}" in tex
    assert r"\frac{\partial z}{\partial" not in tex  # forward mode prints no backward pass
    assert_latex_ok([tex, t.latex()])


def test_matrix_tangents_in_the_seed_notation() -> None:
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "x"], mode="forward",
                   shapes={"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (1, 3), "b2": (1, 1)})
    tex = d.latex()
    assert r"\dot{\mathbf{z}} &= \dot{\mathbf{W}}^{(1)}\mathbf{x} + \mathbf{W}^{(1)}" \
        r"\dot{\mathbf{x}}" in tex
    assert r"\dot{\mathbf{h}} &= \mathbf{h} \odot \left(\mathbf{1} - \mathbf{h}\right) \odot " \
        r"\dot{\mathbf{z}}" in tex
    assert_latex_ok([tex])


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_primitive_has_tangents_that_agree_with_its_gradient(name: str) -> None:
    """v̇ of the output = ⟨∇f, ẋ⟩ (the reverse sweep, checked three ways elsewhere) and the
    central difference along ẋ."""
    for text, positive in FORMS[name]:
        shapes = {k: v for k, v in M.items() if k in text}
        inputs = sbp.derive(text, shapes=shapes or None).inputs
        wrt = [s for s in inputs if str(s.name) != "Y"]  # a target stays one-hot
        d = sbp.derive(text, wrt=wrt, shapes=shapes or None, mode="forward")
        values: dict[str, Any] = {}
        for s in d.inputs:
            shape = M.get(str(s.name))
            v = RNG.uniform(0.5, 1.5, size=shape) if positive else RNG.normal(size=shape)
            if str(s.name) == "eye2":
                v = np.eye(2)
            if str(s.name) == "Y":
                v = np.eye(3, 2)[::-1]  # one-hot columns for cross_entropy
            values[str(s.name)] = v if shape else float(v)
        dirs = _direction(d, values)
        got = d.jvp(values, dirs)
        assert float(got) == pytest.approx(_along_gradient(d, values, dirs), rel=1e-6,
                                           abs=1e-8), text
        assert float(got) == pytest.approx(float(_central(d, values, dirs)), rel=1e-4,
                                           abs=1e-6), text
        namespace: dict[str, Any] = {}
        exec(d.to_python(), namespace)  # the generated forward-mode code, run
        args = [values[str(s.name)] for s in d.inputs] + [dirs[str(v.name)] for v in d.wrt]
        _, tangent = namespace["forward_tangent"](*args)
        assert float(tangent) == pytest.approx(float(got), rel=1e-10, abs=1e-12), text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_programs_forward_equals_reverse_along_a_direction(data: Any) -> None:
    prog = data.draw(programs(True, structural=True), label="program")
    point = data.draw(points(prog), label="point")
    try:
        d = sbp.derive(prog.text(), shapes=prog.shapes() or None, mode="forward")
        want = None
        dirs = _direction(d, point)
        want = _along_gradient(d, point, dirs)
    except (sbp.SymbackpropError, ValueError, ZeroDivisionError, FloatingPointError):
        return  # a program the library refuses, or a point off its domain: not this test's
    if not np.isfinite(want):
        return
    with np.errstate(all="ignore"):
        got = float(d.jvp(point, dirs))
        # the two sweeps round differently: with intermediates of 10⁶ and more (sqnorm of a
        # sqnorm into a cross-entropy) a small result is a difference of huge terms, and
        # each sweep's rounding of it is as good as the other's
        big = max((float(np.max(np.abs(r.value))) for r in d.trace(point).rows
                   if r.value is not None), default=0.0)
    if not np.isfinite(big) or big > 1e6:
        return
    if not np.isfinite(got) and _flagged(d, point):
        return  # a partial whose formula is 0/0 at a point its rule flags (i1e′ at 0)
    assert got == pytest.approx(want, rel=1e-6, abs=1e-7 * max(1.0, abs(want))), prog.text()


def _flagged(d: sbp.Derivation, point: dict[str, Any]) -> bool:
    """Whether the engine's forward run meets a kink or a point off a rule's domain."""
    engine = Engine(d)
    return bool(engine.diagnose(engine.bind(point, np.float64)))


def test_a_matrix_output_has_tangents_the_jacobian_times_the_direction() -> None:
    """A exp(x): no scalar is needed in forward mode; ẏ = A diag(exp x) ẋ."""
    d = sbp.derive("A@exp(x)", wrt="x", shapes={"A": (4, 3), "x": (3, 1)}, mode="forward")
    A, x, dx = RNG.normal(size=(4, 3)), RNG.normal(size=(3, 1)), RNG.normal(size=(3, 1))
    got = d.jvp({"A": A, "x": x}, {"x": dx})
    np.testing.assert_allclose(got, A @ np.diag(np.exp(x[:, 0])) @ dx, rtol=1e-12)
    jac = sbp.derive("A@exp(x)", wrt="x", shapes={"A": (4, 3), "x": (3, 1)},
                     layout="numerator").evaluate({"A": A, "x": x})["x"]
    np.testing.assert_allclose(jac @ dx, got, rtol=1e-12)  # the Jacobian times the direction


def test_every_trace_format_has_the_tangent_column() -> None:
    d = sbp.derive("sum(sigmoid(W@x))", wrt=["W"], shapes={"W": (2, 3), "x": (3, 1)},
                   mode="forward")
    values = {"W": RNG.normal(size=(2, 3)), "x": RNG.normal(size=(3, 1))}
    plain = d.trace(values)
    assert all(r.tangent is None for r in plain.rows)
    assert r"\dot{v}" not in plain.latex()
    t = d.trace(values, tangents={"W": np.ones((2, 3))})
    assert "tangent" in str(t).splitlines()[0]
    assert t.latex().startswith(r"\begin{array}{llrrr}")
    assert r"& \dot{v} \\ \hline" in t.latex()
    assert r"tangent $\dot{v}$ |" in t.markdown()
    assert r"<th>tangent <span class=" in t.html()
    assert "tangent " in d.to_dot(t)
    assert t["x"].tangent is None  # x is not among wrt: it has no tangent
    np.testing.assert_allclose(t["W"].tangent, np.ones((2, 3)))
    assert_latex_ok([t.latex()])


@pytest.mark.parametrize(("tangents", "error", "message"), [
    ({"x": 1.0}, sbp.OptionError, "tangents for x, which are not among wrt (W; an input"),
    ({"W": np.ones((3, 2))}, sbp.ShapeError, "the tangent of W"),
    ({"W": "1"}, TypeError, "the value of the tangent of W is a string"),
    ([1.0], TypeError, "tangents must map names"),
])
def test_wrong_tangents_are_refused(tangents: Any, error: type, message: str) -> None:
    d = sbp.derive("sum(W@x)", wrt=["W"], shapes={"W": (2, 3), "x": (3, 1)}, mode="forward")
    values = {"W": np.ones((2, 3)), "x": np.ones((3, 1))}
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        d.trace(values, tangents=tangents)


def test_mode_is_checked() -> None:
    with pytest.raises(ValueError, match="mode must be 'reverse' or 'forward'"):
        sbp.derive("x*y", mode="sideways")  # type: ignore[arg-type]


def test_the_forward_mode_page_shows_what_the_library_prints() -> None:
    """docs/forward-mode.md's LaTeX blocks and table are the library's output, not pasted."""
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "forward-mode.md").read_text(
        encoding="utf-8")
    d = sbp.derive("log(x1) + x1*x2 - sin(x2)", mode="forward", granularity="primitive")
    assert d.latex() in page
    assert d.trace({"x1": 2.0, "x2": 5.0}, tangents={"x1": 1.0}).markdown() in page
    dn = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "x"], mode="forward",
                    shapes={"W1": (3, 2), "x": (2, 1), "b1": (3, 1), "W2": (1, 3),
                            "b2": (1, 1)})
    assert dn.latex() in page
    j = sbp.derive("A@exp(x)", wrt="x", shapes={"A": (4, 3), "x": (3, 1)}, layout="numerator")
    assert j.latex() in page
    h = sbp.hessian("0.5*x.T@A@x", wrt="x", shapes={"x": (3, 1), "A": (3, 3)})
    assert h.latex() in page
    hl = sbp.hessian("sum(softplus(X@w) - hadamard(y, X@w))", wrt="w",
                     shapes={"w": (3, 1), "X": (6, 3), "y": (6, 1)})
    assert hl.latex() in page


def test_every_format_writes_forward_mode() -> None:
    """Markdown and HTML have a tangents section (and no backward pass by default), JSON the
    tangent equations; a non-scalar output works in every format."""
    need_katex()  # (d.html() typesets with KaTeX's files)
    import json

    d = sbp.derive("log(x1) + x1*x2 - sin(x2)", mode="forward")
    md = d.markdown()
    assert md.startswith("# Forward mode: $z$ with respect to $x_{1}$ and $x_{2}$")
    assert "## Tangents (forward mode)" in md
    assert r"\dot{t}_{2} &= \dot{x}_{1} x_{2} + \dot{x}_{2} x_{1}" in md
    assert "## Backward pass" not in md
    assert "## Backward pass" in d.markdown(sections=("forward", "backward"))
    doc = json.loads(d.to_json())
    assert doc["options"]["mode"] == "forward"
    assert [t["variable"] for t in doc["tangents"]] == ["t_1", "t_2", "t_3", "z"]
    assert doc["tangents"][1]["rhs"] == "dot:x1*x2 + dot:x2*x1"
    assert json.loads(sbp.derive("x1*x2").to_json())["tangents"] == []
    m = sbp.derive("A@exp(x)", wrt="x", shapes={"A": (4, 3), "x": (3, 1)}, mode="forward")
    assert r"\dot{\mathbf{L}} &= \mathbf{A}\dot{\mathbf{h}}" in m.markdown()
    assert r"\dot{\mathbf{h}} &= \mathbf{h} \odot \dot{\mathbf{x}}" in m.latex()
    assert "Tangents (forward mode)" in m.html()
    mdoc = json.loads(m.to_json())
    assert mdoc["gradients"] == [] and mdoc["backward"] == []  # noqa: PT018
    assert "forward_tangent" in m.to_python()
    assert_latex_ok([m.latex()])


def test_forward_code_refuses_a_cross_entropy_target_that_is_no_distribution() -> None:
    """The tangent of cross_entropy(O, Y) is ⟨softmax(O) − Y, Ȯ⟩ only when each column of
    Y sums to 1: ``d.jvp`` and the reverse code refuse other targets, and the forward code
    returned 1.0 where jax.jvp gives 0 (held-out tester N). It refuses them too, and for a
    distribution agrees with ``d.jvp``."""
    o = np.array([[0.2, -1.0], [1.5, 0.3], [-0.7, 0.8]])
    d = sbp.derive("cross_entropy(O, Y)", wrt="O", shapes={"O": (3, 2), "Y": (3, 2)},
                   mode="forward")
    namespace: dict[str, Any] = {}
    exec(d.to_python(), namespace)  # the generated forward-mode code, run
    run = namespace["forward_tangent"]
    with pytest.raises(ValueError, match="each column must sum to 1"):
        run(O=o, Y=np.array([[0.2, 0.1], [0.1, 0.3], [0.2, 0.1]]), dot_O=np.ones_like(o))
    y = np.array([[0.2, 0.1], [0.3, 0.3], [0.5, 0.6]])
    tangent = np.array([[0.3, -1.0], [2.0, 0.1], [0.5, 0.4]])
    _, dot = run(O=o, Y=y, dot_O=tangent)
    assert dot == pytest.approx(d.jvp({"O": o, "Y": y}, {"O": tangent}), rel=1e-12)
