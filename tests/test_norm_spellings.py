"""Proposed with the patch to spelling.py (F16) and parse.py (F25), files outside the
implementer's set: torch.norm's meaning (the flattened tensor's p-norm) and norm's p
bounded as an exponent."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symbackprop as sbp

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).normal(size=(3, 4))


@pytest.mark.parametrize(("text", "p"), [("torch.norm(X, 1)", 1), ("torch.norm(X, np.inf)", np.inf),
                                     ("torch.norm(X, -np.inf)", -np.inf),
                                     ("torch.norm(X, p=3)", 3), ("torch.norm(X, 2)", 2),
                                     ("torch.norm(X)", None), ("torch.linalg.norm(X, 1)", "L1"),
                                     ("torch.linalg.norm(X, np.inf)", "Linf")])
def test_torch_norms_mean_what_they_mean_in_torch(text: str, p: object) -> None:
    t = torch.tensor(X, requires_grad=True)
    ref = torch.linalg.norm(t, 1) if p == "L1" else \
        torch.linalg.norm(t, float("inf")) if p == "Linf" else \
        torch.norm(t) if p is None else torch.norm(t, float(p))  # type: ignore[arg-type]
    ref.backward()
    ref = ref.detach()
    d = sbp.derive(text, shapes={"X": (3, 4)})
    ns: dict[str, Any] = {}
    exec(d.to_python(), ns)  # our own generated code
    value, _ = ns["forward_backward"](X)
    assert float(value) == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(d.evaluate({"X": X})["X"], t.grad.numpy(), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("text", ["norm(v, 5000)", "norm(v, 1e300)", "norm(v, 1e-300)",
                                  "norm(v, -5000)", "norm(v, ord=0.0001)",
                                  "sum(abs(v)**5000)"])
def test_norms_order_is_bounded_as_an_exponent(text: str) -> None:
    with pytest.raises(sbp.LimitError, match=r"Limits\.max_exponent"):
        sbp.derive(text, shapes={"v": (4, 1)})


def test_norms_order_within_raised_limits() -> None:
    big = sbp.Limits(max_exponent=10_000)
    v = np.array([[0.5], [1.5], [2.0], [3.0]])
    g = sbp.derive("norm(v, 5)", shapes={"v": (4, 1)}).evaluate({"v": v})["v"]
    want = np.abs(v) ** 4 * np.sign(v) / np.sum(np.abs(v) ** 5) ** (4 / 5)
    np.testing.assert_allclose(g, want, rtol=1e-12)
    assert sbp.derive("norm(v, 5000)", shapes={"v": (4, 1)}, limits=big).inputs
