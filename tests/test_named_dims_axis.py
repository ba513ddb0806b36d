"""Named (symbolic) dimensions read as numbers: ``mean(X, axis=k)`` is ``(1/n)·X 1`` and a
Hessian's gradient holds ``2/n`` (var(x)), so the size n is a factor of an equation. A
dimension is never an input: the values' shapes give it, as they give the n of 𝟏ₙ and the
``1/(m n)`` of ``mean(X)``'s backward equation (a held-out case: n was asked for as a value,
check() failed and generated code refused the name)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.cli import main

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
jnp = pytest.importorskip("jax.numpy")

SIZES = {"m": 3, "n": 5, "B": 6, "a": 2, "b": 3, "c": 4}
EPS = 1e-5


def numeric(shapes: dict[str, tuple[Any, ...]]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(SIZES[d] if isinstance(d, str) else d for d in v) for k, v in shapes.items()}


def draw(shapes: dict[str, tuple[Any, ...]], seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.uniform(0.3, 1.3, s) * rng.choice([-1.0, 1.0], s)
            for k, s in numeric(shapes).items()}


def _layernorm(x: Any, g: Any, b: Any) -> Any:  # each column over its rows (axis 0)
    mu = jnp.mean(x, axis=0, keepdims=True)
    return (x - mu) / jnp.sqrt(jnp.var(x, axis=0, keepdims=True) + EPS) * g + b


def _batchnorm(x: Any, g: Any, b: Any) -> Any:  # each row over the batch (axis 1)
    mu = jnp.mean(x, axis=1, keepdims=True)
    return (x - mu) / jnp.sqrt(jnp.var(x, axis=1, keepdims=True) + EPS) * g + b


XMN = {"X": ("m", "n")}
NORM = {"X": ("m", "n"), "g": ("m", 1), "c": ("m", 1)}
BATCH = {"W1": (3, 4), "b1": (3, 1), "W2": (2, 3), "b2": (2, 1), "X": (4, "B"),
         "Y": (2, "B")}

# (text, shapes, wrt, the same function in JAX over the inputs by name)
GRADIENTS: list[tuple[str, dict[str, tuple[Any, ...]], list[str], Callable[..., Any]]] = [
    ("sum(mean(X, axis=1)**2)", XMN, ["X"],
     lambda X: jnp.sum(jnp.mean(X, axis=1) ** 2)),
    ("sum(mean(X, axis=0)**3)", XMN, ["X"],
     lambda X: jnp.sum(jnp.mean(X, axis=0) ** 3)),
    ("sum(var(X, axis=0))", XMN, ["X"], lambda X: jnp.sum(jnp.var(X, axis=0))),
    ("sum(var(X, axis=1)**2)", XMN, ["X"], lambda X: jnp.sum(jnp.var(X, axis=1) ** 2)),
    ("sum(std(X, axis=1))", XMN, ["X"], lambda X: jnp.sum(jnp.std(X, axis=1))),
    ("sum(hadamard(std(X, axis=0), mean(X, axis=0)))", XMN, ["X"],
     lambda X: jnp.sum(jnp.std(X, axis=0) * jnp.mean(X, axis=0))),
    ("sum(var(X, axis=1)) + mean(X)", XMN, ["X"],
     lambda X: jnp.sum(jnp.var(X, axis=1)) + jnp.mean(X)),
    ("sum(mean(T, axis=(1, 2))**2)", {"T": ("a", "b", "c")}, ["T"],
     lambda T: jnp.sum(jnp.mean(T, axis=(1, 2)) ** 2)),
    ("sum(layernorm(X, g, c)**3)", NORM, ["X", "g", "c"],
     lambda X, g, c: jnp.sum(_layernorm(X, g, c) ** 3)),
    ("sum(batchnorm(X, g, c)**3)", NORM, ["X", "g", "c"],
     lambda X, g, c: jnp.sum(_batchnorm(X, g, c) ** 3)),
    # a batch of B columns, averaged over the batch
    ("sum(mean((W2@tanh(W1@X + b1) + b2 - Y)**2, axis=1))", BATCH, ["W1", "b1", "W2", "b2"],
     lambda W1, b1, W2, b2, X, Y: jnp.sum(jnp.mean(
         (W2 @ jnp.tanh(W1 @ X + b1) + b2 - Y) ** 2, axis=1))),
    ("sqnorm(mean(W@X, axis=1) - y)", {"W": (3, 4), "X": (4, "B"), "y": (3, 1)}, ["W", "X"],
     lambda W, X, y: jnp.sum((jnp.mean(W @ X, axis=1, keepdims=True) - y) ** 2)),
]

# (text, shapes, wrt, the same function in JAX of the wrt variable, the others by name)
HESSIANS: list[tuple[str, dict[str, tuple[Any, ...]], str, Callable[..., Any]]] = [
    ("var(x)", {"x": ("n", 1)}, "x", lambda x: jnp.var(x)),
    ("mean(x**4)", {"x": ("n", 1)}, "x", lambda x: jnp.mean(x ** 4)),
    ("sqnorm(x - mean(x))", {"x": ("n", 1)}, "x", lambda x: jnp.sum((x - jnp.mean(x)) ** 2)),
    ("mse_loss(W@x, y)", {"W": ("m", "n"), "x": ("n", 1), "y": ("m", 1)}, "x",
     lambda x, W, y: jnp.mean((W @ x - y) ** 2)),
    ("sum(mean(X, axis=1)**2)", XMN, "X", lambda X: jnp.sum(jnp.mean(X, axis=1) ** 2)),
    ("sum(var(X, axis=0)**2)", XMN, "X", lambda X: jnp.sum(jnp.var(X, axis=0) ** 2)),
]


def dimension_names(shapes: dict[str, tuple[Any, ...]]) -> set[str]:
    return {d for s in shapes.values() for d in s if isinstance(d, str)}


def run_python(d: Any, values: dict[str, np.ndarray]) -> dict[str, Any]:
    """The generated NumPy code, run on ``values`` by parameter name (its function is the
    last one defined, after any helpers)."""
    code = d.to_python()
    ns: dict[str, Any] = {}
    exec(compile(code, "<generated>", "exec"), ns)  # our own code
    fn = ns[re.findall(r"^def (\w+)\(", code, re.M)[-1]]
    out = fn(**{p: values[p] for p in inspect.signature(fn).parameters})
    return out[1]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("text", "shapes", "wrt", "f"), GRADIENTS, ids=[g[0] for g in GRADIENTS])
def test_gradients_with_named_dimensions(text: str, shapes: dict[str, tuple[Any, ...]],
                                         wrt: list[str], f: Callable[..., Any]) -> None:
    d = sbp.derive(text, wrt=wrt, shapes=shapes)
    assert not {str(s.name) for s in d.inputs} & dimension_names(shapes), d.inputs
    values = draw(shapes)
    got = d.evaluate(values)
    args = [n for n in f.__code__.co_varnames[:f.__code__.co_argcount]]
    want = jax.grad(lambda *a: f(*a), argnums=tuple(args.index(w) for w in wrt))(
        *(jnp.asarray(values[n]) for n in args))
    for w, g in zip(wrt, want, strict=True):
        np.testing.assert_allclose(got[w], np.asarray(g), rtol=1e-8, atol=1e-10)
    # the same derivation with the sizes as numbers
    fixed = sbp.derive(text, wrt=wrt, shapes=numeric(shapes)).evaluate(values)
    for w in wrt:
        np.testing.assert_allclose(got[w], fixed[w], rtol=1e-10, atol=1e-12)
    report = d.check()
    assert report.ok, report
    assert d.check(values).ok
    trace = d.trace(values)
    assert len(trace) > 0
    code = run_python(d, values)
    for w in wrt:
        np.testing.assert_allclose(np.reshape(code[w], np.shape(got[w])), got[w], rtol=1e-10,
                                   atol=1e-12)
    forward = sbp.derive(text, wrt=wrt, shapes=shapes, mode="forward")
    assert not {str(s.name) for s in forward.inputs} & dimension_names(shapes)
    for w, g in forward.evaluate(values).items():
        np.testing.assert_allclose(g, got[w], rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize(("text", "shapes", "wrt", "f"), HESSIANS, ids=[h[0] for h in HESSIANS])
def test_hessians_whose_gradient_holds_one_over_n(text: str, shapes: dict[str, tuple[Any, ...]],
                                                   wrt: str, f: Callable[..., Any]) -> None:
    h = sbp.hessian(text, wrt, shapes=shapes)
    assert not {str(s.name) for s in h.inputs} & dimension_names(shapes), h.inputs
    values = draw(shapes, seed=3)
    got = h.evaluate(values)[wrt]
    others = [n for n in f.__code__.co_varnames[1:f.__code__.co_argcount]]
    x = jnp.asarray(values[wrt])
    want = np.asarray(jax.hessian(lambda v: f(v, *(jnp.asarray(values[n]) for n in others)))(x))
    size = int(np.size(values[wrt]))
    # vec is column by column (Fortran order), as the Hessian's rows and columns
    want = np.transpose(want, (1, 0, 3, 2)).reshape(size, size) if x.ndim == 2 \
        else want.reshape(size, size)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)
    fixed = sbp.hessian(text, wrt, shapes=numeric(shapes)).evaluate(values)[wrt]
    np.testing.assert_allclose(got, fixed, rtol=1e-10, atol=1e-12)
    assert h.check().ok
    assert len(h.trace(values)) > 0
    direction = np.random.default_rng(5).normal(size=np.shape(values[wrt]))
    np.testing.assert_allclose(
        np.reshape(h.hvp(values, direction), -1, order="F"),
        got @ np.reshape(direction, -1, order="F"), rtol=1e-8, atol=1e-10)
    forward = sbp.hessian(text, wrt, shapes=shapes, mode="forward")
    np.testing.assert_allclose(forward.evaluate(values)[wrt], got, rtol=1e-8, atol=1e-10)
    run_python(h, {**values, "G": np.ones(np.shape(values[wrt]))})  # its code runs


def test_the_held_out_example() -> None:
    """The report's example: evaluate, trace, check and to_python with X alone."""
    X = np.random.default_rng(0).normal(size=(3, 5))
    d = sbp.derive("sum(mean(X, axis=1)**2)", wrt="X", shapes={"X": ("m", "n")})
    assert [str(s.name) for s in d.inputs] == ["X"]
    want = np.repeat(2 * X.mean(axis=1, keepdims=True) / 5, 5, axis=1)
    np.testing.assert_allclose(d.evaluate({"X": X})["X"], want)
    assert d.trace({"X": X})["X"] is not None
    assert d.check().ok
    code = d.to_python()
    assert "n = X.shape[1]" in code
    np.testing.assert_allclose(run_python(d, {"X": X})["X"], want)
    for write in (d.to_torch, d.to_jax):
        assert "X.shape[1]" in write()
    h = sbp.hessian("var(x)", "x", shapes={"x": ("n", 1)})
    n = 3
    np.testing.assert_allclose(h.evaluate({"x": np.ones((n, 1))})["x"],
                               2 / n * (np.eye(n) - np.ones((n, n)) / n), atol=1e-14)


def test_the_generated_jax_code_agrees() -> None:
    shapes = {"W": (3, 4), "X": (4, "B"), "y": (3, 1)}
    d = sbp.derive("sqnorm(mean(W@X, axis=1) - y)", wrt=["W"], shapes=shapes)
    ns: dict[str, Any] = {}
    exec(compile(d.to_jax(), "<generated>", "exec"), ns)  # our own code
    values = draw(shapes, seed=7)
    fn = ns["forward_backward"]  # its VJP is the derived backward pass
    grad = jax.grad(fn)(*(jnp.asarray(values[k]) for k in ("W", "X", "y")))
    np.testing.assert_allclose(np.asarray(grad), d.evaluate(values)["W"], rtol=1e-8)


def test_a_graph_of_stages_with_named_dimensions() -> None:
    g = sbp.Graph(shapes={"X": ("m", "n")}).let("mu", "mean(X, axis=1)") \
        .let("L", "sum(mu**2)")
    assert [str(s.name) for s in g.inputs] == ["X"]
    d = sbp.derive(g, wrt="X")
    assert d.check().ok


def test_a_scalar_input_named_as_a_dimension_stays_an_input() -> None:
    """Text that names n beside a shape (n) reads a scalar input n; the values make it the
    size, and the 1/n of a mean along an axis is the dimension itself."""
    d = sbp.derive("sum(mean(z, axis=0))*n", wrt="z", shapes={"z": ("n", 1)})
    assert [str(s.name) for s in d.inputs] == ["n", "z"]
    np.testing.assert_allclose(d.evaluate({"z": np.ones((3, 1)), "n": 3.0})["z"], 1.0)
    with pytest.raises(ValueError, match="n is 5, but it also names a dimension"):
        d.evaluate({"z": np.ones((3, 1)), "n": 5.0})
    assert d.check().ok


def test_cli_check_with_a_batch_dimension(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "sqnorm(mean(W@X, axis=1) - y)", "--shape", "W=3x4",
                 "--shape", "X=4xB", "--shape", "y=3"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("parameter"))
    rows = [line.split()[0] for line in lines[head + 2:head + 5]]
    assert rows == ["W", "X", "y"], out  # B is a dimension, not a parameter


def test_the_graph_picture_draws_no_dimension_node() -> None:
    """The DOT graph's edges are between variables: 1/n of mean(X, axis=1) is a size."""
    d = sbp.derive("sum(mean(X, axis=1)**2)", wrt="X", shapes={"X": ("m", "n")})
    dot = d.to_dot()
    assert "X -> t_1" in dot
    assert not any(line.strip().startswith(("n ->", "m ->")) for line in dot.splitlines())
