"""Findings of the J5 tester: a function's power written as papers write it is entry by
entry; printed LaTeX of identities reads back; matrix_power(X, 0) keeps X an input; pad
widths as NumPy takes them; messages that say what to write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pytest

import symbackprop as sbp

Q = np.array([[1.0, 2.0], [3.0, 4.0]]) * 0.3


def value(d: sbp.Derivation, values: dict[str, np.ndarray]) -> float:
    return float(d.trace(values)[str(d.output)].value)


@pytest.mark.parametrize(("text", "syntax", "f"), [
    ("sum(tanh²(Q))", "text", np.tanh),
    ("sum(Tanh^2(Q))", "text", np.tanh),
    ("sum(σ²(Q))", "text", lambda q: 1 / (1 + np.exp(-q))),
    ("sum(ReLU^2(Q))", "text", lambda q: np.maximum(q, 0)),
    (r"\operatorname{sum}\left(\tanh^{2}(\mathbf{Q})\right)", "latex", np.tanh),
    (r"\operatorname{sum}\left(\sigma^{2}(\mathbf{Q})\right)", "latex",
     lambda q: 1 / (1 + np.exp(-q))),
])
def test_a_functions_power_is_entry_by_entry_of_a_square_matrix(
        text: str, syntax: Literal["text", "latex"], f: Callable[[np.ndarray], np.ndarray]) -> None:
    d = sbp.derive(text, shapes={"Q": (2, 2)}, syntax=syntax)
    assert value(d, {"Q": Q}) == pytest.approx(np.sum(f(Q) ** 2))
    assert d.check({"Q": Q}).ok


def test_a_superscript_on_a_square_matrix_stays_the_matrix_power() -> None:
    d = sbp.derive("sum(Q^2)", shapes={"Q": (2, 2)})
    assert value(d, {"Q": Q}) == pytest.approx(np.sum(Q @ Q))
    d = sbp.derive("sum(tanh(Q)^2)", shapes={"Q": (2, 2)})
    assert value(d, {"Q": Q}) == pytest.approx(np.sum(np.tanh(Q) @ np.tanh(Q)))
