"""Graphviz: the computation graph as DOT text, rendered by the real ``dot`` where it exists."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.emit import dot as dotmod
from symbackprop.emit.dot import BACKWARD, FORWARD, GraphvizNotFound, derivation_dot, render

NET = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1)}


def need_dot() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1":
            pytest.fail("Graphviz dot is required in CI but missing")
        pytest.skip("Graphviz dot not installed")


def test_seed_scalar_graph() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    for text in (derivation_dot(d), derivation_dot(d, use_package=False)):
        assert text.startswith("digraph backprop {")
        # forward edges x → t, y → t, t → z; backward z ⇢ t ⇢ x, labelled
        assert text.count(FORWARD) == 3
        assert text.count(BACKWARD) == 4
        assert "∂z/∂t = 2*t" in text
        assert "∂t/∂x = 1" in text
        assert "= x + y" in text
        assert "constraint" in text  # backward edges do not bend the layout


def test_trace_values_and_matrix_shapes_on_nodes() -> None:
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b1"], shapes=NET, loss="mse")
    rng = np.random.default_rng(0)
    t = d.trace({k: rng.normal(size=s) for k, s in NET.items()})
    text = d.to_dot(trace=t)
    assert "4×3" in text
    assert "2×1" in text
    assert "value [" in text
    assert "adjoint [" in text
    assert "∂h/∂z = diag(sigmoid'(z))" in text
    assert "∂L/∂W1 ← ∂L/∂z @ x.T" in text  # no clean Jacobian: what flows back


def test_labels_are_escaped() -> None:
    assert dotmod._label([("b", 'a<b>&"c"'), ("s", "x")]) == \
        '<<B>a&lt;b&gt;&amp;"c"</B><BR/><FONT POINT-SIZE="10">x</FONT>>'
    assert dotmod._quote('say "hi" \\ there') == '"say \\"hi\\" \\\\ there"'


def test_render_svg_and_png(tmp_path: object) -> None:
    need_dot()
    from pathlib import Path

    folder = Path(str(tmp_path))
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=NET, loss="mse")
    svg = render(d, folder / "g.svg").read_text(encoding="utf-8")
    assert "<svg" in svg
    assert "W1" in svg
    png = render(d, folder / "g.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    # the plain-text writer's DOT is valid too
    out = dotmod.run_dot(derivation_dot(d, use_package=False), "svg")
    assert b"<svg" in out


def test_missing_dot_is_said_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setattr("symbackprop.emit.dot.shutil.which", lambda name: None)
    d = sbp.derive("(x + y)**2")
    with pytest.raises(GraphvizNotFound, match="apt-get install graphviz"):
        render(d, f"{tmp_path}/g.svg")
    assert derivation_dot(d).startswith("digraph")  # the text needs no program


def test_bad_format() -> None:
    with pytest.raises(ValueError, match="format"):
        dotmod.run_dot("digraph {}", "gif")


def test_softmax_of_a_matrix_is_labelled_per_column() -> None:
    d = sbp.derive("W@x", shapes={"W": (3, 4), "x": (4, 2)}, loss="cross_entropy")
    assert "softmax_col(o)" in derivation_dot(d, use_package=False)
    v = sbp.derive("sum(hadamard(softmax(z), a))", shapes={"z": (3, 1), "a": (3, 1)})
    text = derivation_dot(v, use_package=False)
    assert "softmax(z)" in text
    assert "softmax_col" not in text
