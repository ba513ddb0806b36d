"""The witness's dot, inner and matrix functions as the text defines them, and generated code
that returns floats: held-out cases.

* ``check()`` read ``np.dot(W, x)`` of a column x as NumPy's 1-D dot (a (2,) result that
  broadcast against a (2, 1) operand into a 2×2): the witness now follows the text's dot
  (the matrix product; of two columns their inner product) for each shape combination.
* ``check()`` said "nan" of ``inv(s)`` for a scalar s (NumPy's inv refuses a 0-d array); the
  witness's inv, solve, matrix_power and norm take a scalar and a 1×1 as the text does.
* generated PyTorch and JAX code wrote an integer constant ≥ 2**63 as a Python int (an
  overflow in both), and every generator returned a constant output or gradient as a Python
  int (JAX's grad refuses it; NumPy's code gave an int where evaluate gives a float).

The references are JAX's and PyTorch's autograd and ``d.evaluate``; the generated code is
run here, made from these trusted test inputs only (as in test_frameworks_codegen).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.algebra import is_matrix
from symbackprop.check.witness import witness

jax = pytest.importorskip("jax", reason="the [jax] extra is not installed")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402  (after the skip)

torch = pytest.importorskip("torch", reason="the [torch] extra is not installed")

RNG = np.random.default_rng(7)


def load(code: str, name: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(code, "<generated>", "exec"), namespace)  # trusted: made from test inputs
    return namespace[name]


def witness_value(d: sbp.Derivation, values: dict[str, Any]) -> float:
    """The text as written (the witness), run at ``values``."""
    w = witness(d)
    assert w is not None
    coerced = {k: np.asarray(v, dtype=float).reshape(-1, 1) if np.ndim(v) == 1
               else np.asarray(v, dtype=float) for k, v in values.items()}
    return w.runner(values, coerced).run()


def agrees_with_jax(d: sbp.Derivation, values: dict[str, Any], ref: Callable[..., Any],
                    wrt: list[str]) -> None:
    """check() passes, the witness's value is the reference's, and so are the gradients."""
    report = d.check(values)
    assert report.ok, str(report)
    args = [jnp.asarray(values[n]) for n in wrt]
    rest = {k: jnp.asarray(v) for k, v in values.items() if k not in wrt}

    def f(*a: Any) -> Any:
        return ref(**dict(zip(wrt, a, strict=True)), **rest)

    np.testing.assert_allclose(witness_value(d, values), float(f(*args)), rtol=1e-12)
    want = jax.grad(f, argnums=tuple(range(len(wrt))))(*args)
    got = d.evaluate(values)
    for n, g in zip(wrt, want, strict=True):
        np.testing.assert_allclose(np.asarray(got[n]).reshape(np.shape(g)), np.asarray(g),
                                   rtol=1e-10, atol=1e-12)


# --- 1. dot, inner, vdot as the text defines them ------------------------------------------


def test_np_dot_of_a_matrix_and_a_column_is_checked_against_the_text() -> None:
    """The held-out case: check() said FAILED (text 0.7368, graph 0.0291)."""
    W = np.array([[.3, -.2, .5], [.1, .4, -.6]])
    x = np.array([[1.], [-.5], [.2]])
    G = np.array([[1.], [2.]])
    d = sbp.derive("L = sum(hadamard(G, tanh(np.dot(W, x))))", wrt=["W", "x"],
                   shapes={"W": (2, 3), "x": (3, 1), "G": (2, 1)})
    agrees_with_jax(d, {"W": W, "x": x, "G": G},
                    lambda W, x, G: jnp.sum(G * jnp.tanh(W @ x)), ["W", "x"])


# (call, shapes of A and B, the text's value in JAX): a vector is a column (n, 1), or 1-D
DOTS: list[tuple[str, tuple[Any, Any], Callable[..., Any]]] = [
    ("dot(A, B)", ((2, 3), (3, 1)), lambda A, B: A @ B),
    ("np.dot(A, B)", ((2, 3), (3,)), lambda A, B: A @ B),  # NumPy's 1-D (2,), G too
    ("A.dot(B)", ((3, 3), (3, 1)), lambda A, B: A @ B),
    ("dot(A, B)", ((3, 1), (3, 1)), lambda A, B: jnp.sum(A * B)),  # two columns: xᵀy
    ("np.dot(A, B)", ((3,), (3,)), lambda A, B: jnp.dot(A, B)),
    ("dot(A, B)", ((1, 3), (3, 1)), lambda A, B: (A @ B)[0, 0]),  # a row times a column
    ("dot(A, B)", ((3, 1), (1, 2)), lambda A, B: A @ B),  # a column times a row: outer
    ("dot(A, B)", ((1, 3), (3, 2)), lambda A, B: A @ B),  # a row times a matrix
    ("dot(A, B)", ((2, 3), (3, 4)), lambda A, B: A @ B),
    ("dot(A, B)", ((), (3, 1)), lambda A, B: A * B),  # a scalar's product
    ("dot(A, B)", ((2, 1), ()), lambda A, B: A * B),
    ("dot(A, B)", ((1, 1), (3, 1)), lambda A, B: jnp.sum(A * B)),  # a 1×1 is a column
    ("inner(A, B)", ((3, 1), (3, 1)), lambda A, B: jnp.sum(A * B)),
    ("inner(A, B)", ((2, 3), (4, 3)), lambda A, B: A @ B.T),
    ("np.inner(A, B)", ((2, 3), (1, 3)), lambda A, B: A @ B.T),
    ("inner(A, B)", ((1, 1), (2, 1)), lambda A, B: jnp.sum(A * B)),
    ("vdot(A, B)", ((2, 3), (2, 3)), lambda A, B: jnp.sum(A * B)),
]


@pytest.mark.parametrize(("call", "shapes", "ref"), DOTS,
                         ids=[f"{c}-{s[0]}-{s[1]}" for c, s, _ in DOTS])
def test_dot_inner_vdot_follow_the_text_for_each_shape(call: str, shapes: tuple[Any, Any],
                                                       ref: Callable[..., Any]) -> None:
    sa, sb = shapes
    shaped = sbp.derive(call, wrt=["A", "B"], shapes={"A": sa, "B": sb})
    out = tuple(int(k) for k in shaped.output.shape) if is_matrix(shaped.output) else ()
    text = f"sum(hadamard(G, tanh({call})))" if out else f"G*tanh({call})"
    if call.startswith("np.") and len(sb) == 1 and out and out[1] == 1:
        out = out[:1]  # NumPy's 1-D result: G beside it 1-D too (a column would broadcast)
    d = sbp.derive(text, wrt=["A", "B"], shapes={"A": sa, "B": sb, "G": out})
    values = {"A": RNG.normal(size=sa), "B": RNG.normal(size=sb), "G": RNG.normal(size=out)}
    agrees_with_jax(d, values, lambda A, B, G: jnp.sum(G * jnp.tanh(ref(A, B))), ["A", "B"])


# --- 2. the matrix functions of a scalar and of a 1×1 ----------------------------------------


SCALARS: list[tuple[str, Any, Callable[..., Any]]] = [
    ("inv(s)", (), lambda s: 1 / s),
    ("inv(s)*s", (), lambda s: s / s),
    ("np.linalg.inv(s) + s", (), lambda s: 1 / s + s),
    ("sum(inv(s))", (1, 1), lambda s: jnp.sum(jnp.linalg.inv(s))),
    ("det(inv(s)) + trace(inv(s)) + logdet(s)", (), lambda s: 2 / s + jnp.log(s)),
    ("tr(inv(s))", (1, 1), lambda s: jnp.trace(jnp.linalg.inv(s))),
    ("sum(solve(s, 2.0))", (1, 1), lambda s: jnp.sum(2.0 * jnp.linalg.inv(s))),
    ("solve(s, s*s + 1)", (), lambda s: (s * s + 1) / s),
    ("matrix_power(s, -2)", (), lambda s: s**-2),
    ("sum(matrix_power(s, -3))", (1, 1), lambda s: jnp.sum(jnp.linalg.inv(s) ** 3)),
    ("norm(s, 1) + norm(s, 'fro') + norm(s, np.inf)", (), lambda s: 3 * jnp.abs(s)),
    ("norm(s) * norm(s, 1)", (1, 1), lambda s: jnp.sum(s * s)),
    ("sum(diag(inv(s)))", (), lambda s: 1 / s),
    ("sum(diagonal(inv(s)))", (1, 1), lambda s: jnp.trace(jnp.linalg.inv(s))),
]


@pytest.mark.parametrize(("text", "shape", "ref"), SCALARS,
                         ids=[f"{t}-{s}" for t, s, _ in SCALARS])
def test_matrix_functions_of_a_scalar_and_a_1x1_as_the_text(text: str, shape: Any,
                                                            ref: Callable[..., Any]) -> None:
    s = np.full(shape, 0.7)
    d = sbp.derive(text, wrt="s", shapes={"s": shape})
    agrees_with_jax(d, {"s": s}, ref, ["s"])


def test_inv_of_a_singular_scalar_is_nan_in_the_witness() -> None:
    d = sbp.derive("inv(s) + s", wrt="s", shapes={"s": ()})
    assert np.isnan(witness_value(d, {"s": np.float64(0.0)}))


# --- 3. large integer constants in generated code --------------------------------------------


BIG = ["2**70*x", "10**25*sin(x)", "2**70*x**2", "x/2**70 + 3**40*x**2 - 2**80/3*x",
       "3000000000*x + 2**40*cos(x)"]


@pytest.mark.parametrize("text", BIG)
def test_large_integers_run_in_numpy_torch_and_jax(text: str) -> None:
    d = sbp.derive(text)
    x = 0.3
    want = d.evaluate({"x": x})["x"]
    out, grads = load(d.to_python(), "forward_backward")(x)
    assert isinstance(grads["x"], np.floating | np.ndarray), type(grads["x"])
    assert np.asarray(grads["x"]).dtype == np.float64
    np.testing.assert_allclose(grads["x"], want, rtol=1e-12)
    assert isinstance(out, np.floating)

    f = load(d.to_jax(), "forward_backward")
    g = jax.grad(f)(jnp.float64(x))
    assert g.dtype == jnp.float64
    np.testing.assert_allclose(float(g), want, rtol=1e-12)

    F = load(d.to_torch(), "ForwardBackward")
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    F.apply(t).backward()
    assert t.grad is not None
    assert t.grad.dtype == torch.float64
    np.testing.assert_allclose(t.grad.item(), want, rtol=1e-12)


def test_large_integers_agree_with_autograd_of_the_plain_function() -> None:
    d = sbp.derive("sum(2**70*W@x) + 3**45*sum(x)/7", shapes={"W": (2, 3), "x": (3, 1)})
    W, x = RNG.normal(size=(2, 3)), RNG.normal(size=(3, 1))
    ref = jax.grad(lambda W, x: jnp.sum(2.0**70 * W @ x) + 3.0**45 * jnp.sum(x) / 7,
                   argnums=(0, 1))(W, x)
    f = load(d.to_jax(), "forward_backward")
    got = jax.grad(f, argnums=(0, 1))(jnp.asarray(W), jnp.asarray(x))
    F = load(d.to_torch(), "ForwardBackward")
    tW, tx = (torch.tensor(a, requires_grad=True) for a in (W, x))
    F.apply(tW, tx).backward()
    _, grads = load(d.to_python(), "forward_backward")(W, x)
    for want, j, t, n in zip(ref, got, (tW, tx), ("W", "x"), strict=True):
        np.testing.assert_allclose(np.asarray(j), np.asarray(want), rtol=1e-12)
        assert t.grad is not None
        np.testing.assert_allclose(t.grad.numpy(), np.asarray(want), rtol=1e-12)
        np.testing.assert_allclose(grads[n], np.asarray(want), rtol=1e-12)


def test_small_integers_stay_exact_in_the_code() -> None:
    code = sbp.derive("3*x**2 + 7*x").to_python()
    assert "3*" in code
    assert "7*" in code
    assert "3.0" not in code
    assert "1180591620717411303424" not in sbp.derive("2**70*x").to_torch()


# --- 4. constant outputs and gradients are floats of the inputs' dtype -----------------------


CANCELLED: list[tuple[str, Any, dict[str, Any]]] = [
    ("x - x", "x", {}),
    ("(x - y)/a*(a - a)**2", ["x", "y", "a"], {}),
    ("x - x + y", ["x", "y"], {}),
    ("y + 3", "y", {}),
    ("sum(W@x) - sum(W@x)", ["W", "x"], {"W": (2, 3), "x": (3, 1)}),
    ("sum(x) - sum(x) + 7", "x", {"x": (3, 1)}),
    ("sum(W@x) - sum(W@x) + 5*s", ["W", "x", "s"], {"W": (2, 3), "x": (3, 1), "s": ()}),
]


def _values(d: sbp.Derivation, shapes: dict[str, Any]) -> dict[str, np.ndarray]:
    return {str(s.name): 0.5 + RNG.random(size=shapes.get(str(s.name), ()))
            for s in d.inputs}


@pytest.mark.parametrize(("text", "wrt", "shapes"), CANCELLED,
                         ids=[t for t, _, _ in CANCELLED])
def test_a_cancelled_output_or_gradient_is_a_float_in_numpy_code(
        text: str, wrt: Any, shapes: dict[str, Any]) -> None:
    d = sbp.derive(text, wrt=wrt, shapes=shapes or None)
    values = _values(d, shapes)
    want = d.evaluate(values)
    out, grads = load(d.to_python(), "forward_backward")(**values)
    assert not isinstance(out, int)
    assert np.asarray(out).dtype == np.float64
    for n, g in grads.items():
        assert not isinstance(g, int), (n, g)
        assert np.asarray(g).dtype == np.float64, (n, g)
        assert np.shape(np.asarray(g).reshape(np.shape(want[n]))) == np.shape(want[n])
        np.testing.assert_allclose(np.asarray(g).reshape(np.shape(want[n])), want[n])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("text", "wrt", "shapes"), CANCELLED,
                         ids=[t for t, _, _ in CANCELLED])
def test_a_cancelled_output_or_gradient_is_a_tensor_of_the_inputs_dtype(
        text: str, wrt: Any, shapes: dict[str, Any], dtype: str) -> None:
    d = sbp.derive(text, wrt=wrt, shapes=shapes or None)
    values = _values(d, shapes)
    want = d.evaluate(values)
    names = [str(s.name) for s in d.inputs]

    f = load(d.to_jax(), "forward_backward")
    args = [jnp.asarray(values[n], dtype=dtype) for n in names]
    out = f(*args)
    assert out.dtype == jnp.dtype(dtype)
    for n, a, g in zip(names, args, jax.grad(f, argnums=tuple(range(len(names))))(*args),
                       strict=True):
        assert g.dtype == jnp.dtype(dtype)
        assert g.shape == a.shape
        np.testing.assert_allclose(np.asarray(g), want[n], rtol=1e-6)

    F = load(d.to_torch(), "ForwardBackward")
    ts = [torch.tensor(values[n], dtype=getattr(torch, dtype), requires_grad=True)
          for n in names]
    out_t = F.apply(*ts)
    assert isinstance(out_t, torch.Tensor)
    assert out_t.dtype == getattr(torch, dtype)
    out_t.backward()
    for n, t in zip(names, ts, strict=True):
        assert t.grad is not None
        assert t.grad.dtype == t.dtype
        assert t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad.numpy(), want[n], rtol=1e-6)


def test_an_output_of_no_input_is_a_float_everywhere() -> None:
    """Every input cancelled and none asked for: the code takes no argument, and still
    returns a float (the default dtype), never Python's int 0."""
    d = sbp.derive("(x - y)/a*(a - a)**2")
    out, grads = load(d.to_python(), "forward_backward")()
    assert isinstance(out, np.floating)
    assert grads == {}
    assert jnp.issubdtype(load(d.to_jax(), "forward_backward")().dtype, jnp.floating)
    out_t = load(d.to_torch(), "ForwardBackward").apply()
    assert isinstance(out_t, torch.Tensor)
    assert out_t.is_floating_point()


def test_forward_mode_code_returns_a_float_for_a_constant_output() -> None:
    d = sbp.derive("x - x", wrt="x", mode="forward")
    out, tangent = load(d.to_python(), "forward_tangent")(0.4, 1.0)
    assert np.asarray(out).dtype == np.float64
    assert np.asarray(tangent).dtype == np.float64
