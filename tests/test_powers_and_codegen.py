"""``**`` with an array exponent (NumPy's power, as ``power(x, y)``), checked against
jax.grad; PyTorch and JAX code for programs whose inputs are all scalars but which build
arrays from them (stack, concatenate, ones, zeros, eye, cumsum), run against jax.grad and
torch.autograd.

The generated code is run here, made from these trusted test inputs only (as in
test_frameworks_codegen); the library itself never runs it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.errors import ShapeError, UnsupportedError

jax = pytest.importorskip("jax", reason="the [jax] extra is not installed")
torch = pytest.importorskip("torch", reason="the [torch] extra is not installed")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402  (after the skip)


def load(code: str, name: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(code, "<generated>", "exec"), namespace)  # trusted: made from test inputs
    return namespace[name]


def positive(shapes: Mapping[str, tuple[int, ...]], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: np.asarray(rng.uniform(0.4, 2.0, size=s)) for k, s in shapes.items()}


# finding 1: ``**`` with an array exponent ---------------------------------------------
POWERS: list[tuple[str, dict[str, tuple[int, ...]], Callable[..., Any]]] = [
    ("L = sum(2**v)", {"v": (3, 1)}, lambda v: jnp.sum(2.0**v)),
    ("L = sum(v**v)", {"v": (3, 1)}, lambda v: jnp.sum(v**v)),
    ("L = sum(X**X)", {"X": (2, 3)}, lambda X: jnp.sum(X**X)),
    ("L = sum(x**v)", {"x": (), "v": (3, 1)}, lambda x, v: jnp.sum(x**v)),
    ("L = sum(v**w)", {"v": (3, 1), "w": (3, 1)}, lambda v, w: jnp.sum(v**w)),
    ("L = sum((X + 1)**Y)", {"X": (2, 3), "Y": (2, 3)}, lambda X, Y: jnp.sum((X + 1)**Y)),
    ("L = sum(c**r)", {"c": (3, 1), "r": (1, 2)}, lambda c, r: jnp.sum(c**r)),
    ("L = sum(X**v)", {"X": (3, 2), "v": (3, 1)}, lambda X, v: jnp.sum(X**v)),
    ("L = sum(v**X)", {"X": (3, 2), "v": (3, 1)}, lambda X, v: jnp.sum(v**X)),
    # a variable scalar exponent of an array (it was refused: "needs a number")
    ("L = sum(v**t)", {"v": (3, 1), "t": ()}, lambda v, t: jnp.sum(v**t)),
    ("L = sum(X**(t*s))", {"X": (2, 3), "t": (), "s": ()}, lambda X, t, s: jnp.sum(X**(t * s))),
    ("L = sum(T**t)", {"T": (2, 3, 2), "t": ()}, lambda T, t: jnp.sum(T**t)),
]


@pytest.mark.parametrize(("text", "shapes", "f"), POWERS, ids=[p[0] for p in POWERS])
def test_array_exponent_is_numpys_power(text: str, shapes: dict[str, tuple[int, ...]],
                                        f: Callable[..., Any]) -> None:
    """``**`` is NumPy's power, element-wise always: an array exponent is taken (it was
    refused, "exponents must be scalars"), and the gradients are jax.grad's."""
    d = sbp.derive(text, shapes=shapes)
    vals = positive(shapes)
    assert_jax_grads(d, vals, f)
    assert d.check(vals).ok


def assert_jax_grads(d: Any, vals: dict[str, np.ndarray], f: Callable[..., Any]) -> None:
    """``d``'s gradients at ``vals`` are jax.grad's of ``f`` (its parameters in order)."""
    names = list(vals)
    grads = d.evaluate(vals)
    want = jax.grad(f, argnums=tuple(range(len(names))))(*(jnp.asarray(vals[n])
                                                          for n in names))
    for n, g in zip(names, want, strict=True):
        np.testing.assert_allclose(np.asarray(grads[n]).reshape(np.shape(g)), np.asarray(g),
                                   rtol=1e-10, atol=1e-12)


TRACED: list[tuple[Callable[..., Any], dict[str, tuple[int, ...]], Callable[..., Any]]] = [
    (lambda v: np.sum(2.0**v), {"v": (3,)}, lambda v: jnp.sum(2.0**v)),
    (lambda v, w: np.sum(v**w), {"v": (3,), "w": (3,)}, lambda v, w: jnp.sum(v**w)),
    (lambda v, t: np.sum(v**t), {"v": (3,), "t": ()}, lambda v, t: jnp.sum(v**t)),
    (lambda X, Y: np.sum(X**Y), {"X": (2, 3), "Y": (2, 3)}, lambda X, Y: jnp.sum(X**Y)),
    (lambda c, r: np.sum(c**r), {"c": (3, 1), "r": (1, 2)}, lambda c, r: jnp.sum(c**r)),
]


@pytest.mark.parametrize(("f", "shapes", "jf"), TRACED, ids=["2**v", "v**w", "v**t", "X**Y",
                                                             "c**r"])
def test_array_exponent_in_a_traced_numpy_function(f: Callable[..., Any],
                                                   shapes: dict[str, tuple[int, ...]],
                                                   jf: Callable[..., Any]) -> None:
    """A traced NumPy function's ``**`` is the text's: ``2.0**v`` was refused there."""
    assert_jax_grads(sbp.derive(f, shapes=shapes), positive(shapes, seed=5), jf)


def test_array_exponent_as_power_call() -> None:
    """``v**w`` and ``power(v, w)`` are one function: the same gradients."""
    shapes = {"v": (3, 1), "w": (3, 1)}
    vals = positive(shapes, seed=3)
    a = sbp.derive("L = sum(v**w)", shapes=shapes).evaluate(vals)
    b = sbp.derive("L = sum(power(v, w))", shapes=shapes).evaluate(vals)
    for n in shapes:
        np.testing.assert_allclose(a[n], b[n], rtol=1e-12)


def test_array_exponent_runs_as_generated_jax_code() -> None:
    d = sbp.derive("L = sum(v**w) + sum(2**v)", shapes={"v": (3, 1), "w": (3, 1)})
    fn = load(d.to_jax(), "forward_backward")
    vals = positive({"v": (3, 1), "w": (3, 1)}, seed=5)
    names = [str(s.name) for s in d.inputs]
    got = jax.grad(fn, argnums=tuple(range(len(names))))(*(jnp.asarray(vals[n])
                                                           for n in names))
    want = jax.grad(lambda v, w: jnp.sum(v**w) + jnp.sum(2.0**v), argnums=(0, 1))(
        jnp.asarray(vals["v"]), jnp.asarray(vals["w"]))
    by_name = dict(zip(names, got, strict=True))
    np.testing.assert_allclose(np.asarray(by_name["v"]), np.asarray(want[0]), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(by_name["w"]), np.asarray(want[1]), rtol=1e-10)


@pytest.mark.parametrize("text", ["L = sum((-2)**v)", "L = sum(0**v)"])
def test_array_exponent_of_a_number_at_most_zero_is_refused(text: str) -> None:
    """exp(v log x) has no real value for a number x ≤ 0 (NumPy's (-2.0)**2.0 is 4):
    refused by name, never NaN."""
    with pytest.raises(UnsupportedError, match="array exponent"):
        sbp.derive(text, shapes={"v": (3, 1)})


def test_array_exponent_shapes_that_do_not_broadcast() -> None:
    """The error names the operands as written (not the y ⊙ log x it is built as)."""
    with pytest.raises(ShapeError, match=r"X\*\*v: \(3, 2\) \*\* \(2, 1\)"):
        sbp.derive("L = sum(X**v)", shapes={"X": (3, 2), "v": (2, 1)})


def test_paper_matrix_power_unchanged() -> None:
    """``X^2`` of a square matrix in paper notation is still the matrix power, ``X^Y`` of
    one still refused."""
    X = np.array([[1.0, 2.0], [0.5, -1.0]])
    g = sbp.derive("L = sum(X^2)", shapes={"X": (2, 2)}).evaluate({"X": X})["X"]
    ones = np.ones((2, 2))
    np.testing.assert_allclose(g, ones @ X.T + X.T @ ones)  # d sum(X X) = 1 Xᵀ + Xᵀ 1
    with pytest.raises(ShapeError, match="exponents must be scalars"):
        sbp.derive("L = sum(X^Y)", shapes={"X": (2, 2), "Y": (2, 2)})


# finding 2: framework code for scalar inputs stacked into arrays -----------------------
SCALARS = {"s0": (), "s1": (), "s2": ()}


def _stack_min(xp: Any, s0: Any, s1: Any, s2: Any) -> Any:
    return s0 + xp.min(xp.stack([s1, s2, xp.asarray(2.0, dtype=xp.float64)]))


def _concat_stacks(xp: Any, s0: Any, s1: Any, s2: Any) -> Any:
    three = xp.asarray(3.0, dtype=xp.float64)
    return xp.sum(xp.exp(xp.concatenate([xp.stack([s0, s1]), xp.stack([s2, three])])))


def _concat_ones(xp: Any, s0: Any, s1: Any, s2: Any) -> Any:
    h = xp.concatenate([s0 * xp.ones(2, dtype=xp.float64), s1 * xp.ones(3, dtype=xp.float64)])
    return xp.sum(h**2) + s2


def _eye(xp: Any, s0: Any, s1: Any, s2: Any) -> Any:
    A = s0 * xp.eye(3, dtype=xp.float64) + s1 * xp.ones((3, 3), dtype=xp.float64)
    return xp.sum(A @ A) + s2


def _zeros(xp: Any, s0: Any, s1: Any, s2: Any) -> Any:
    m = xp.maximum(xp.zeros((2, 2), dtype=xp.float64), s0 * xp.ones((2, 2), dtype=xp.float64)
                   - s1)
    return xp.sum(m) + s2


def _cumsum(xp: Any, s0: Any, s1: Any, s2: Any) -> Any:
    return xp.sum(xp.cumsum(xp.stack([s0, s1, s2]), 0)**2)


STACKED: list[tuple[str, Callable[..., Any]]] = [
    ("h0 = stack((s1, s2, 2), axis=0)\nL = s0 + min(h0)", _stack_min),
    ("h = concatenate((stack((s0, s1)), stack((s2, 3.0))), axis=0)\nL = sum(exp(h))",
     _concat_stacks),
    ("h = concatenate((s0*ones(2, 1), s1*ones(3, 1)), axis=0)\nL = sum(h**2) + s2",
     _concat_ones),
    ("A = s0*eye(3) + s1*ones(3, 3)\nL = sum(A @ A) + s2", _eye),
    ("L = sum(maximum(zeros(2, 2), s0*ones(2, 2) - s1)) + s2", _zeros),
    ("L = sum(cumsum(stack((s0, s1, s2)))**2)", _cumsum),
]
IDS = ["stack-min", "concatenate-stacks", "concatenate-ones", "eye", "zeros", "cumsum"]
VALUES = {"s0": 0.3, "s1": -0.5, "s2": 1.2}


@pytest.mark.parametrize(("text", "f"), STACKED, ids=IDS)
def test_jax_code_for_scalars_stacked_into_arrays(text: str, f: Callable[..., Any]) -> None:
    """The generated JAX code builds its constant arrays in the scalar inputs' dtype (it
    was refused: "no JAX code for a constant array without an array input")."""
    d = sbp.derive(text, shapes=SCALARS)
    fn = load(d.to_jax(), "forward_backward")
    names = [str(s.name) for s in d.inputs]
    args = [jnp.asarray(VALUES[n], dtype=jnp.float64) for n in names]
    by_name = dict(zip(names, args, strict=True))
    got = jax.grad(fn, argnums=tuple(range(len(args))))(*args)
    want = jax.grad(lambda s0, s1, s2: f(jnp, s0, s1, s2), argnums=(0, 1, 2))(
        by_name["s0"], by_name["s1"], by_name["s2"])
    ours = d.evaluate(VALUES)
    for n, g in zip(names, got, strict=True):
        assert float(g) == pytest.approx(float(want[int(n[1])]), rel=1e-10, abs=1e-12)
        assert float(g) == pytest.approx(float(ours[n]), rel=1e-10, abs=1e-12)
    assert float(fn(*args)) == pytest.approx(float(f(jnp, *(by_name[f"s{i}"]
                                                           for i in range(3)))), rel=1e-12)


@pytest.mark.parametrize(("text", "f"), STACKED, ids=IDS)
def test_torch_code_for_scalars_stacked_into_arrays(text: str, f: Callable[..., Any]) -> None:
    d = sbp.derive(text, shapes=SCALARS)
    fn = load(d.to_torch(), "ForwardBackward")
    names = [str(s.name) for s in d.inputs]
    ours_t = {n: torch.tensor(VALUES[n], dtype=torch.float64, requires_grad=True)
              for n in names}
    out = fn.apply(*(ours_t[n] for n in names))
    out.backward()
    ref = {n: torch.tensor(VALUES[n], dtype=torch.float64, requires_grad=True) for n in names}
    want = f(torch, ref["s0"], ref["s1"], ref["s2"])
    want.backward()
    assert out.dtype == torch.float64
    assert float(out.detach()) == pytest.approx(float(want.detach()), rel=1e-12)
    for n in names:
        assert ours_t[n].grad is not None
        assert ref[n].grad is not None
        assert float(ours_t[n].grad) == pytest.approx(float(ref[n].grad), rel=1e-10,
                                                      abs=1e-12)
    assert torch.autograd.gradcheck(fn.apply, tuple(ours_t[n] for n in names))
