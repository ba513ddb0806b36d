"""The engine's tape: the ``Step`` record, and fast forms of a few primitives (fewer
temporaries, some fused or written in place) that planning puts in place of the rule table's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..rules import RULES

Array = Any


@dataclass(frozen=True, slots=True)
class Step:
    """One primitive: ``slots[out] = forward(*slots[args])``; ``vjp(g, out, *args)``."""

    name: str
    out: int
    args: tuple[int, ...]
    forward: Callable[..., Array]
    vjp: Callable[..., tuple[Array, ...]]
    params: Mapping[str, Any]
    where: str  # the equation it belongs to, for messages
    shapes: tuple[Any, ...] = ()  # symbolic shapes of the output and the operands
    fresh: bool = False  # forward returns a new array no one else holds


# Fast forms of a few primitives (same mathematics as the rule table, fewer temporaries);
# the engine's planning puts them in place of the rule's forward and VJP.


def bcast_forward(a: Array, ones: Array) -> Array:
    """``b 1ᵀ``: a column repeated over the batch (a read-only broadcast view, no copy)."""
    return np.broadcast_to(a, (a.shape[0], ones.shape[1]))


def bcast_vjp(g: Array, out: Array, a: Array, ones: Array) -> tuple[Array, ...]:
    return (np.sum(g, axis=1, keepdims=True), None)


def matmul_vjp(need: tuple[bool, ...]) -> Callable[..., tuple[Array, ...]]:
    """The matmul VJP computing only the cotangents somebody needs."""
    na, nb = need

    def vjp(g: Array, out: Array, a: Array, b: Array) -> tuple[Array, ...]:
        return (g @ b.T if na else None, a.T @ g if nb else None)

    return vjp


def _sigmoid(x: Array) -> Array:
    """σ(x) = 1 / (1 + e^{-x}) with one temporary. For x < −709 e^{-x} overflows to inf and σ
    comes out 0, which it is to within 1e-308, so the overflow is silenced, not reported."""
    if np.ndim(x) == 0:
        return RULES["sigmoid"].forward(x)
    t = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(t, out=t)
    t += 1.0
    np.reciprocal(t, out=t)
    return t


def _sigmoid_vjp(g: Array, out: Array, x: Array) -> tuple[Array, ...]:
    if np.ndim(out) == 0:
        return RULES["sigmoid"].vjp(g, out, x)  # type: ignore[no-any-return]
    t = 1.0 - out
    t *= out
    t *= g
    return (t,)


def _tanh_vjp(g: Array, out: Array, x: Array) -> tuple[Array, ...]:
    if np.ndim(out) == 0:
        return RULES["tanh"].vjp(g, out, x)  # type: ignore[no-any-return]
    t = out * out
    np.subtract(1.0, t, out=t)
    t *= g
    return (t,)


# element-wise primitives whose rule allocates many temporaries: the same formulas, in place
FAST: dict[str, tuple[Callable[..., Array], Callable[..., tuple[Array, ...]]]] = {
    "sigmoid": (_sigmoid, _sigmoid_vjp),
    "tanh": (np.tanh, _tanh_vjp),
}


def add2(a: Array, b: Array) -> Array:
    return a + b


def add2_into_first(a: Array, b: Array) -> Array:
    return np.add(a, b, out=a)


def add2_into_second(a: Array, b: Array) -> Array:
    return np.add(a, b, out=b)


def add2_same_vjp(g: Array, out: Array, a: Array, b: Array) -> tuple[Array, ...]:
    return (g, g)


def add2_vjp(g: Array, out: Array, a: Array, b: Array) -> tuple[Array, ...]:
    ga = np.sum(g) if np.ndim(a) == 0 and np.ndim(g) else g
    gb = np.sum(g) if np.ndim(b) == 0 and np.ndim(g) else g
    return (ga, gb)


def affine(a: Array, b: Array, c: Array) -> Array:
    """``A B + c 1ᵀ`` in one buffer: the product, then the column added in place (the
    three steps matmul, broadcast and add, fused when planning)."""
    t = a @ b
    t += c
    return t


def affine_vjp(need: tuple[bool, ...]) -> Callable[..., tuple[Array, ...]]:
    na, nb, nc = need

    def vjp(g: Array, out: Array, a: Array, b: Array, c: Array) -> tuple[Array, ...]:
        return (g @ b.T if na else None, a.T @ g if nb else None,
                np.add.reduce(g, axis=1, keepdims=True) if nc else None)

    return vjp


def cross_entropy_pair(need: tuple[bool, ...],
                        ) -> tuple[Callable[..., Array], Callable[..., tuple[Array, ...]]]:
    """−Σ y ⊙ log softmax(o) whose VJP reuses the forward's log softmax when it is given
    the same logits object (a fresh pair per engine; otherwise it recomputes)."""
    seen: list[Any] = [None, None]  # the logits, their log softmax

    def forward(o: Array, y: Array) -> Array:
        if np.ndim(o) != 2:
            return RULES["cross_entropy"].forward(o, y)
        s = o - np.maximum.reduce(o, axis=0, keepdims=True)
        e = np.exp(s)
        s -= np.log(np.add.reduce(e, axis=0, keepdims=True))
        seen[0], seen[1] = o, s
        return -float(np.vdot(y, s))

    def vjp(g: Array, out: Array, o: Array, y: Array) -> tuple[Array, ...]:
        if seen[0] is not o or need[1]:
            return RULES["cross_entropy"].vjp(g, out, o, y)  # type: ignore[no-any-return]
        logp = seen[1]
        seen[0] = seen[1] = None
        p = np.exp(logp)  # exact for any y; softmax(o) − y when each column sums to 1
        p *= np.add.reduce(y, axis=0, keepdims=True)
        p -= y
        if g != 1.0:
            p *= g
        return (p, None)

    return forward, vjp
