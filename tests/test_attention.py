"""Scaled dot-product attention (issue 14, part A item 2): S = Q Kᵀ/√d, A = softmax(S,
axis=1), O = A V, a query per row. The row softmax's backward pass prints
∂L/∂S = A ⊙ (∂L/∂A − (∂L/∂A ⊙ A) 1 1ᵀ); the gradients agree with the attention backward pass
written here in NumPy and with the three witnesses of ``d.check()``; masks work as an additive
constant (a large negative number where −∞ is meant) and as a 0/1 Hadamard mask."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok
from test_emit_python import run_generated

import symbackprop as sbp

T, S_, DK, DV = 3, 5, 4, 2  # queries, keys, key width, value width
SHAPES = {"Q": (T, DK), "K": (S_, DK), "V": (S_, DV), "R": (T, DV)}
ATTENTION = "S = Q @ K.T / sqrt({d}); A = softmax(S, axis=1); O = A @ V; L = sum(hadamard(O, R))"
DS = r"\frac{\partial L}{\partial \mathbf{S}}"
DA = r"\frac{\partial L}{\partial \mathbf{A}}"


def _values(seed: int, shapes: dict[str, tuple[int, int]] = SHAPES) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s) for k, s in shapes.items()}


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, r: np.ndarray,
               add: np.ndarray | None = None, keep: np.ndarray | None = None,
               ) -> tuple[float, dict[str, np.ndarray]]:
    """L = Σ R ⊙ O and its gradients by the attention backward pass (not the library's):
    dV = Aᵀ dO, dA = dO Vᵀ, dS = A ⊙ (dA − rowsum(dA ⊙ A)), dQ = dS K/√d, dK = dSᵀ Q/√d;
    an additive mask is added to S, a 0/1 mask multiplies A."""
    scale = 1 / np.sqrt(q.shape[1])
    s = q @ k.T * scale + (0 if add is None else add)
    e = np.exp(s - s.max(axis=1, keepdims=True))
    a = e / e.sum(axis=1, keepdims=True)
    w = a if keep is None else a * keep
    o = w @ v
    do = r
    dw = do @ v.T
    da = dw if keep is None else dw * keep
    ds = a * (da - np.sum(da * a, axis=1, keepdims=True))
    return float(np.sum(o * r)), {"Q": ds @ k * scale, "K": ds.T @ q * scale, "V": w.T @ do}


def _ok(report: Any) -> None:
    assert report.ok, report
    assert "mismatch" not in str(report), report


def _agrees(d: sbp.Derivation, values: dict[str, np.ndarray], want: dict[str, np.ndarray],
            loss: float) -> None:
    _ok(d.check(values))
    got = d.evaluate(values)
    for name, g in want.items():
        np.testing.assert_allclose(got[name], g, rtol=1e-10, atol=1e-12)
    assert float(next(r.value for r in d.trace(values) if str(r.name) == "L")) == \
        pytest.approx(loss, rel=1e-12)
    _, code = run_generated(d.to_python(), values)
    for name, g in want.items():
        np.testing.assert_allclose(code[name], g, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attention_agrees_with_its_backward_pass_and_three_witnesses(seed: int) -> None:
    values = _values(seed)
    d = sbp.derive(ATTENTION.format(d=DK), shapes=SHAPES, wrt=["Q", "K", "V"])
    loss, want = _attention(values["Q"], values["K"], values["V"], values["R"])
    _agrees(d, values, want, loss)


def test_the_row_softmax_prints_the_notes_form() -> None:
    d = sbp.derive(ATTENTION.format(d=DK), shapes=SHAPES, wrt=["Q", "K", "V"])
    tex = d.latex()
    assert r"\mathbf{A} &= \operatorname{softmax}_{\text{row}}\left(\mathbf{S}\right)" in tex
    line = next(ln for ln in tex.splitlines() if ln.strip().startswith(f"{DS} &="))
    rhs = line.split("&=", 1)[1].strip()
    # A ⊙ (∂L/∂A − (∂L/∂A ⊙ A) 1 1ᵀ): the cotangent first, then the sum of each row spread back
    assert rhs.startswith(r"\mathbf{A} \odot \left(" + DA + " - "), rhs
    assert rf"\left({DA} \odot \mathbf{{A}}\right)\,\mathbf{{1}}\mathbf{{1}}^{{\top}}" in rhs
    assert r"\mathbf{S}^{\top}" not in tex  # not the column softmax of Sᵀ, transposed
    assert rf"{DS}\,\mathbf{{K}}" in tex  # ∂L/∂Q = ½ ∂L/∂S K
    assert r"\mathbf{A}^{\top}\,\frac{\partial L}{\partial \mathbf{O}}" in tex  # ∂L/∂V = Aᵀ ∂L/∂O
    assert_latex_ok([tex])


def test_the_column_softmax_still_prints_its_own_form() -> None:
    d = sbp.derive("A = softmax(S, axis=0); L = sum(hadamard(A, R))",
                   shapes={"S": (3, 4), "R": (3, 4)})
    tex = d.latex(sections="backward")
    assert (rf"{DS} &= \mathbf{{A}} \odot \left({DA} - \mathbf{{1}}\mathbf{{1}}^{{\top}}\,"
            rf"\left(\mathbf{{A}} \odot {DA}\right)\right)") in tex


def test_axis_minus_one_is_the_row_softmax_and_a_vector_row_too() -> None:
    values = {"S": np.array([[1.0, -2.0, 0.5]]), "R": np.array([[0.3, 1.0, -1.0]])}
    d = sbp.derive("sum(hadamard(R, softmax(S, axis=-1)))", shapes={"S": (1, 3), "R": (1, 3)})
    _ok(d.check(values))
    a = np.exp(values["S"]) / np.exp(values["S"]).sum()
    want = a * (values["R"] - np.sum(values["R"] * a))
    np.testing.assert_allclose(d.evaluate(values)["S"], want, rtol=1e-12)


def test_large_scores_stay_finite() -> None:
    values = _values(3)
    values["Q"] = values["Q"] * 300  # scores of several hundred: exp overflows unshifted
    d = sbp.derive(ATTENTION.format(d=DK), shapes=SHAPES, wrt=["Q", "K", "V"])
    _loss, want = _attention(values["Q"], values["K"], values["V"], values["R"])
    got = d.evaluate(values)
    for name, g in want.items():
        assert np.all(np.isfinite(got[name]))
        np.testing.assert_allclose(got[name], g, rtol=1e-9, atol=1e-9)


def _causal(big: float) -> np.ndarray:
    """0 on and below the diagonal, ``big`` (negative) above: query i sees keys ≤ i."""
    return np.triu(np.full((T, S_), big), k=1)


@pytest.mark.parametrize("seed", [0, 1])
def test_an_additive_mask_of_a_large_negative_constant(seed: int) -> None:
    """A causal mask M with −1e9 where −∞ is meant (exp underflows to exactly 0 there):
    S = QKᵀ/√d + M. Its masked scores get no gradient and no weight."""
    shapes = {**SHAPES, "M": (T, S_)}
    values = {**_values(seed), "M": _causal(-1e9)}
    d = sbp.derive("S = Q @ K.T / sqrt(4) + M; A = softmax(S, axis=1); O = A @ V; "
                   "L = sum(hadamard(O, R))", shapes=shapes, wrt=["Q", "K", "V"])
    loss, want = _attention(values["Q"], values["K"], values["V"], values["R"],
                            add=values["M"])
    _agrees(d, values, want, loss)
    a = next(r.value for r in d.trace(values) if str(r.name) == "A")
    assert np.all(np.asarray(a)[values["M"] < 0] == 0)
    np.testing.assert_array_equal(d.evaluate(values)["V"][T:], 0)  # keys no query sees


@pytest.mark.parametrize("seed", [0, 1])
def test_a_causal_mask_of_minus_infinity_in_where(seed: int) -> None:
    """where(C, S, -inf), as the literature writes the mask: ∞ is read as a branch of where
    (nothing flows into it, exp(−∞) = 0), in the text, paper notation (−∞) and LaTeX
    (-\\infty); the same gradients as the additive mask, and the code runs."""
    shapes = {**SHAPES, "C": (T, S_)}
    values = {**_values(seed), "C": np.tril(np.ones((T, S_)))}
    loss, want = _attention(values["Q"], values["K"], values["V"], values["R"],
                            add=_causal(-np.inf))
    text = ("S = where(C, Q @ K.T / sqrt(4), {inf}); A = softmax(S, axis=1); O = A @ V; "
            "L = sum(hadamard(O, R))")
    for inf in ("-inf", "−∞"):
        d = sbp.derive(text.format(inf=inf), shapes=shapes, wrt=["Q", "K", "V"])
        _agrees(d, values, want, loss)
        back = sbp.derive(d.latex(sections="forward"), syntax="latex", shapes=shapes,
                          wrt=["Q", "K", "V"])
        for name, g in back.evaluate(values).items():
            np.testing.assert_allclose(g, want[name], rtol=1e-10, atol=1e-12)
    assert r"-\infty" in d.latex()
    assert_latex_ok([d.latex()])


@pytest.mark.parametrize(("text", "message"), [
    ("inf", "inf is read only as a branch of where"),
    ("a = -inf; a * x", "inf is read only as a branch of where"),
    ("x + inf", "x + inf is infinite: inf is read only as a branch of where"),
    ("sum(v + inf)", "not a finite real number (it is oo); inf is read only as a branch of "
                     "where"),
    ("sum(where(v > 0, v, -inf * ones(3, 1)))", "inf is read only as a branch of where"),
])
def test_infinity_anywhere_but_a_branch_of_where_is_refused(text: str, message: str) -> None:
    with pytest.raises(sbp.ParseError, match=re.escape(message)):
        sbp.derive(text, shapes={"v": (3, 1)})
    assert sbp.derive("inf = 2; inf * x").evaluate({"inf": 2.0, "x": 1.0})["x"] == 2.0


@pytest.mark.parametrize("seed", [0, 1])
def test_a_hadamard_mask_of_zeros_and_ones(seed: int) -> None:
    """Dropout-style: a fixed 0/1 matrix D multiplies the weights, O = (A ⊙ D) V; the
    gradient reaches only the kept weights."""
    shapes = {**SHAPES, "D": (T, S_)}
    rng = np.random.default_rng(10 + seed)
    values = {**_values(seed), "D": (rng.random((T, S_)) > 0.4).astype(float)}
    d = sbp.derive("S = Q @ K.T / sqrt(4); A = softmax(S, axis=1); W = hadamard(A, D); "
                   "O = W @ V; L = sum(hadamard(O, R))", shapes=shapes, wrt=["Q", "K", "V"])
    loss, want = _attention(values["Q"], values["K"], values["V"], values["R"],
                            keep=values["D"])
    _agrees(d, values, want, loss)
    tex = d.latex()
    assert rf"{DA} &= \frac{{\partial L}}{{\partial \mathbf{{W}}}} \odot \mathbf{{D}}" in tex
    assert_latex_ok([tex])


def test_a_traced_numpy_attention_derives_the_same() -> None:
    def attention(Q: Any, K: Any, V: Any, R: Any) -> Any:
        s = Q @ K.T / np.sqrt(4)
        e = np.exp(s)  # softmax written out, each row (the tracer reads it link by link)
        return np.sum(R * ((e / np.sum(e, axis=1, keepdims=True)) @ V))

    values = _values(6)
    _loss, want = _attention(values["Q"], values["K"], values["V"], values["R"])
    d = sbp.derive(attention, shapes=SHAPES, wrt=["Q", "K", "V"])
    _ok(d.check(values))
    for name, g in want.items():
        np.testing.assert_allclose(d.evaluate(values)[name], g, rtol=1e-9, atol=1e-12)


def test_the_printed_forward_pass_reads_back() -> None:
    """softmax_{row} in LaTeX input is softmax(·, axis=1): the derivation reads back and gives
    the same numbers."""
    d = sbp.derive(ATTENTION.format(d=DK), shapes=SHAPES, wrt=["Q", "K", "V"])
    back = sbp.derive(d.latex(sections="forward"), syntax="latex", shapes=SHAPES,
                      wrt=["Q", "K", "V"])
    assert back.latex() == d.latex()
    values = _values(8)
    got, want = back.evaluate(values), d.evaluate(values)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12)


def test_a_fully_masked_column_passes_no_nan_back() -> None:
    """A column of −∞ has a NaN softmax; sliced away, the loss is finite and jax and torch
    give its scores the gradient 0 (their where is a select). The backward pass wrote
    dh ⊙ where(M, 1, 0), NaN · 0 = NaN (a held-out case); now where(M, dh, 0)."""
    jax = pytest.importorskip("jax", reason="the [jax] extra is not installed")
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    M = np.tril(np.ones((4, 4)))
    M[:, 2] = 0
    S = np.random.default_rng(0).normal(size=(4, 4))
    d = sbp.derive("sum(sin(softmax(where(M, S, -inf))[:, 0:2]))", wrt="S",
                   shapes={"M": (4, 4), "S": (4, 4)})
    got = d.evaluate({"M": M, "S": S})["S"]

    def reference(S: Any) -> Any:
        A = jax.nn.softmax(jnp.where(M > 0, S, -jnp.inf), axis=0)
        return jnp.sum(jnp.sin(A[:, 0:2]))

    np.testing.assert_allclose(got, jax.grad(reference)(S), rtol=1e-12)
    assert not np.isnan(got).any()
