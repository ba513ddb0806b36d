"""The engine's plan (fused affine and cross-entropy steps, re-binding arrays of the same
shapes) gives the gradients a hand-written NumPy step gives, call after call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.check import Engine


def _net() -> tuple[Engine, dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    v = {"W1": rng.standard_normal((6, 4)), "b1": rng.standard_normal((6, 1)),
         "W2": rng.standard_normal((3, 6)), "b2": rng.standard_normal((3, 1)),
         "x": rng.standard_normal((4, 5)), "y": np.eye(3)[:, rng.integers(0, 3, 5)]}
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b1", "W2", "b2"],
                   shapes={k: a.shape for k, a in v.items() if k != "y"},
                   loss="cross_entropy")
    return Engine(d), v


def _hand(W1: Any, b1: Any, W2: Any, b2: Any, x: Any, y: Any) -> tuple[Any, dict[str, Any]]:
    h = 1 / (1 + np.exp(-(W1 @ x + b1)))
    o = W2 @ h + b2
    logp = o - o.max(0) - np.log(np.exp(o - o.max(0)).sum(0))
    do = np.exp(logp) - y
    dz = (W2.T @ do) * h * (1 - h)
    return -np.sum(y * logp), {"W1": dz @ x.T, "b1": dz.sum(1, keepdims=True),
                               "W2": do @ h.T, "b2": do.sum(1, keepdims=True)}


def test_fused_steps_and_rebinding_agree_with_the_hand_step_each_call() -> None:
    engine, v = _net()
    assert "affine" in {s.name for s in engine._fused()}
    rng = np.random.default_rng(2)
    for _ in range(3):  # the second and third bind take the fast path
        value, grads = engine.value_and_grad(v)
        want_value, want = _hand(**v)
        assert value == pytest.approx(want_value, rel=1e-12)
        for k, g in want.items():
            np.testing.assert_allclose(grads[k], g, rtol=1e-10, atol=1e-12)
        v = {k: a + 0.1 * rng.standard_normal(a.shape) if k != "y" else a
             for k, a in v.items()}


def test_rebinding_copies_and_still_checks() -> None:
    engine, v = _net()
    engine.value_and_grad(v)
    slots = engine.bind(v)
    assert all(not np.shares_memory(slots[i], v[n])
               for n, i in zip(engine.inputs, engine.input_slots, strict=True))
    before = {k: a.copy() for k, a in v.items()}
    _, grads = engine.value_and_grad(v)  # the run's inputs are read-only views
    for k, a in v.items():
        np.testing.assert_array_equal(a, before[k])
        assert a.flags.writeable
    assert all(g.flags.writeable and not any(np.shares_memory(g, a) for a in v.values())
               for g in grads.values())
    with pytest.raises(sbp.ShapeError):  # another shape: bound afresh, checked again
        engine.bind({**v, "x": v["x"][:, :3]})
    with pytest.raises(ValueError, match="no value for x"):
        engine.bind({k: a for k, a in v.items() if k != "x"})


def test_a_float32_call_after_float64_is_bound_afresh() -> None:
    engine, v = _net()
    engine.value_and_grad(v)
    _, grads = engine.value_and_grad({k: a.astype(np.float32) for k, a in v.items()})
    assert all(g.dtype == np.float32 for g in grads.values())
