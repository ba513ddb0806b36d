"""Recurrent nets (issue 14 part A.4): an RNN, an LSTM and a GRU over T steps built in a loop
with ``Graph.let``; backpropagation through time is printed per step and as the general step
(``∂L/∂h⁽ᵗ⁾ = W_hᵀ δ⁽ᵗ⁺¹⁾``, ``∂L/∂W_h = Σ_t δ⁽ᵗ⁾ h⁽ᵗ⁻¹⁾ᵀ``), and the gradients agree with
a NumPy forward pass written here (central differences of it) and with the three witnesses."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp

N, M = 3, 2
RNG = np.random.default_rng(7)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def rnn(T: int, loss_every_step: bool = False) -> tuple[sbp.Graph, Callable[..., float]]:
    sh = {"Wh": (N, N), "Wx": (N, M), "b": (N, 1), "h0": (N, 1), "Wy": (1, N)}
    sh.update({f"x{t}": (M, 1) for t in range(1, T + 1)})
    g = sbp.Graph(shapes=sh)
    for t in range(1, T + 1):
        g = g.let(f"h{t}", f"tanh(Wh@h{t - 1} + Wx@x{t} + b)")
    total = " + ".join(f"sum(Wy@h{t})" for t in range(1, T + 1)) if loss_every_step \
        else f"sum(Wy@h{T})"
    g = g.let("L", total)

    def f(v: dict[str, np.ndarray]) -> float:
        h, out = v["h0"], 0.0
        for t in range(1, T + 1):
            h = np.tanh(v["Wh"] @ h + v["Wx"] @ v[f"x{t}"] + v["b"])
            if loss_every_step or t == T:
                out += float(np.sum(v["Wy"] @ h))
        return out
    return g, f


def lstm(T: int) -> tuple[sbp.Graph, Callable[..., float]]:
    sh = {"h0": (N, 1), "c0": (N, 1)}
    for k in "fiog":
        sh.update({f"W{k}": (N, N), f"U{k}": (N, M), f"b{k}": (N, 1)})
    sh.update({f"x{t}": (M, 1) for t in range(1, T + 1)})
    g = sbp.Graph(shapes=sh)
    for t in range(1, T + 1):
        p = t - 1
        for k, act in (("f", "sigmoid"), ("i", "sigmoid"), ("o", "sigmoid"), ("g", "tanh")):
            g = g.let(f"{k}{t}", f"{act}(W{k}@h{p} + U{k}@x{t} + b{k})")
        g = g.let(f"c{t}", f"hadamard(f{t}, c{p}) + hadamard(i{t}, g{t})")
        g = g.let(f"h{t}", f"hadamard(o{t}, tanh(c{t}))")
    g = g.let("L", f"sum(h{T})")

    def f(v: dict[str, np.ndarray]) -> float:
        h, c = v["h0"], v["c0"]
        for t in range(1, T + 1):
            pre = {k: v[f"W{k}"] @ h + v[f"U{k}"] @ v[f"x{t}"] + v[f"b{k}"] for k in "fiog"}
            c = _sigmoid(pre["f"]) * c + _sigmoid(pre["i"]) * np.tanh(pre["g"])
            h = _sigmoid(pre["o"]) * np.tanh(c)
        return float(np.sum(h))
    return g, f


def gru(T: int) -> tuple[sbp.Graph, Callable[..., float]]:
    sh = {"h0": (N, 1)}
    for k in "zrn":
        sh.update({f"W{k}": (N, N), f"U{k}": (N, M), f"b{k}": (N, 1)})
    sh.update({f"x{t}": (M, 1) for t in range(1, T + 1)})
    g = sbp.Graph(shapes=sh)
    for t in range(1, T + 1):
        p = t - 1
        g = g.let(f"z{t}", f"sigmoid(Wz@h{p} + Uz@x{t} + bz)")
        g = g.let(f"r{t}", f"sigmoid(Wr@h{p} + Ur@x{t} + br)")
        g = g.let(f"n{t}", f"tanh(Wn@hadamard(r{t}, h{p}) + Un@x{t} + bn)")
        g = g.let(f"h{t}", f"hadamard(1 - z{t}, n{t}) + hadamard(z{t}, h{p})")
    g = g.let("L", f"sum(h{T})")

    def f(v: dict[str, np.ndarray]) -> float:
        h = v["h0"]
        for t in range(1, T + 1):
            x = v[f"x{t}"]
            z = _sigmoid(v["Wz"] @ h + v["Uz"] @ x + v["bz"])
            r = _sigmoid(v["Wr"] @ h + v["Ur"] @ x + v["br"])
            n = np.tanh(v["Wn"] @ (r * h) + v["Un"] @ x + v["bn"])
            h = (1 - z) * n + z * h
        return float(np.sum(h))
    return g, f


def _central(f: Callable[..., float], values: dict[str, np.ndarray], name: str,
             eps: float = 1e-6) -> np.ndarray:
    out = np.zeros_like(values[name])
    for idx in np.ndindex(out.shape):
        plus = {k: v.copy() for k, v in values.items()}
        minus = {k: v.copy() for k, v in values.items()}
        plus[name][idx] += eps
        minus[name][idx] -= eps
        out[idx] = (f(plus) - f(minus)) / (2 * eps)
    return out


CELLS = {"rnn": lambda: rnn(5), "rnn, a loss at every step": lambda: rnn(4, True),
         "lstm": lambda: lstm(4), "gru": lambda: gru(4)}


@pytest.mark.parametrize("cell", list(CELLS))
def test_bptt_agrees_with_numpy_written_here_and_with_the_witnesses(cell: str) -> None:
    g, f = CELLS[cell]()
    params = [str(s.name) for s in g.inputs if re.fullmatch(r"[WUb][a-z]?|W[hxy]", str(s.name))]
    d = sbp.derive(g, wrt=params)
    values = {str(s.name): RNG.normal(scale=0.7, size=g.shapes[str(s.name)]) for s in g.inputs}
    got = d.evaluate(values)
    for p in params:
        np.testing.assert_allclose(got[p], _central(f, values, p), rtol=1e-6, atol=1e-8)
    assert d.check(values).ok
    assert_latex_ok([d.latex(), d.latex(sbp.emit.sections.SECTIONS)])


def _at(tex: str, t: int) -> str:
    """A general line's step numbers at step ``t``: ``h^{(t-1)}`` -> ``h^{(3)}`` at 4."""
    return re.sub(r"\^\{\(t([+-]\d+)?\)",
                  lambda k: "^{(" + str(t + int(k.group(1) or 0)) + ")", tex)


def _general(d: sbp.Derivation) -> list[str]:
    rows = d.latex("recursion", environment=False).splitlines()
    return [r.strip().removesuffix(r" \\") for r in rows if "textbf" not in r]


def test_the_rnn_prints_the_general_step_of_bptt() -> None:
    g, _ = rnn(5)
    d = sbp.derive(g, wrt=["Wh", "Wx", "b"])
    general = _general(d)
    h, delta = r"\mathbf{h}", r"\boldsymbol{\delta}"
    assert rf"\frac{{\partial L}}{{\partial {h}^{{(t)}}}} &= \mathbf{{W}}_{{h}}^{{\top}}" \
        rf"{delta}^{{(t+1)}} \quad (t = 4, \dots, 1)" in general
    assert rf"\frac{{\partial L}}{{\partial \mathbf{{W}}_{{h}}}} &= \sum_{{t=1}}^{{5}} " \
        rf"{delta}^{{(t)}}{h}^{{(t-1)\top}}" in general
    assert rf"\frac{{\partial L}}{{\partial \mathbf{{b}}}} &= \sum_{{t=1}}^{{5}} " \
        rf"{delta}^{{(t)}}" in general
    assert r"\textbf{the general step}" in d.latex()  # in the default sections
    assert "## The general step" in d.markdown()


@pytest.mark.parametrize("cell", list(CELLS))
def test_the_general_step_at_each_t_is_a_printed_step(cell: str) -> None:
    """Each general line, with t set to each step it names, is an equation of the backward
    section; each sum, written out, is the backward section's sum."""
    g, _ = CELLS[cell]()
    d = sbp.derive(g)
    backward = " \\qquad ".join(d.latex("backward", environment=False).splitlines())
    backward = backward.replace(" &= ", " = ")
    general = _general(d)
    assert general, cell
    for line in general:
        m = re.search(r" \\quad \(t = (\d+), (?:\\dots, )?(\d+)\)$", line)
        s = re.search(r"\\sum_\{t=(\d+)\}\^\{(\d+)\} (.*)$", line)
        assert m or s, line
        if m:
            a, b = sorted((int(m.group(1)), int(m.group(2))))
            body = line[:m.start()].replace(" &= ", " = ")
            for t in range(a, b + 1):
                assert _at(body, t) in backward, (cell, t, body)
        else:
            assert s is not None
            a, b, term = int(s.group(1)), int(s.group(2)), s.group(3)
            terms = [_at(term, t) for t in range(a, b + 1)]
            assert " + ".join(terms) in backward, (cell, line)


def test_layers_with_their_own_weights_give_the_textbook_general_step() -> None:
    """Nielsen's BP2 for a deep sigmoid network: ∂L/∂h⁽ᵗ⁾ = W⁽ᵗ⁺¹⁾ᵀ δ⁽ᵗ⁺¹⁾."""
    layers, shapes, prev = [], {"x": (4, 1), "y": (4, 1)}, "x"
    for k in range(1, 6):
        shapes[f"W{k}"], shapes[f"b{k}"] = (4, 4), (4, 1)
        layers.append(f"h{k} = sigmoid(W{k}@{prev} + b{k})")
        prev = f"h{k}"
    d = sbp.derive("; ".join([*layers, prev]), shapes=shapes, loss="mse")
    general = _general(d)
    assert r"\frac{\partial L}{\partial \mathbf{h}^{(t)}} &= \mathbf{W}^{(t+1)\top}" \
        r"\boldsymbol{\delta}^{(t+1)} \quad (t = 4, \dots, 1)" in general  # BP2
    assert r"\frac{\partial L}{\partial \mathbf{W}^{(t)}} &= \boldsymbol{\delta}^{(t)}" \
        r"\mathbf{h}^{(t-1)\top} \quad (t = 5, \dots, 2)" in general  # BP4


def test_two_steps_have_no_general_step() -> None:
    g, _ = rnn(2)
    d = sbp.derive(g, wrt=["Wh"])
    assert _general(d) == [] or all("(t" not in r for r in _general(d))
    assert "general step" not in d.latex()
