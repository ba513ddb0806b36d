"""Held-out findings on generated code (round I5): the generated code run and compared
with the library's evaluate, NumPy, torch.autograd and jax.grad."""

from __future__ import annotations

import ast
import math
import re
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp

# every name the PyTorch and JAX code uses of its own: the cotangent, ctx, res, the modules,
# the annotations' names, helpers, the generated functions, builtins it calls (slice)
OWN = ["g", "ctx", "res", "torch", "jax", "jnp", "math", "np", "numpy", "FunctionCtx",
       "Callable", "vjp", "embed", "standardise", "shared",
       "slice", "float", "forward_backward", "forward_backward_fwd", "forward_backward_bwd",
       "forward_backward_columns", "ForwardBackward", "tensor_op", "grads"]
TEXT = ("sum(sin(layernorm(X, N, b))) + sum(relu(X[0:2, :])) + cross_entropy(X, Y) "
        "+ sum(N)*pi")
SHAPES = {"X": (3, 4), "N": (3, 1), "b": (3, 1), "Y": (3, 4)}


def _values() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    v = {k: rng.standard_normal(s) for k, s in SHAPES.items()}
    v["Y"] = np.eye(3)[:, [0, 1, 2, 0]]  # one-hot columns
    return v


def _reference(xp: Any, X: Any, N: Any, b: Any, Y: Any) -> Any:
    """The text written in the framework's own functions (its autodiff differentiates it)."""
    if xp.__name__ == "torch":
        mu, var = X.mean(0, keepdim=True), X.var(0, unbiased=False, keepdim=True)
        log_p = xp.log_softmax(X, dim=0)
    else:
        import jax
        mu, var = xp.mean(X, 0, keepdims=True), xp.var(X, 0, keepdims=True)
        log_p = jax.nn.log_softmax(X, axis=0)
    z = (X - mu) / xp.sqrt(var + 1e-05) * N + b
    return (xp.sum(xp.sin(z)) + xp.sum(xp.maximum(X[0:2, :], 0 * X[0:2, :]))
            - xp.sum(Y * log_p) + xp.sum(N) * math.pi)


@pytest.mark.parametrize("name", OWN)
def test_an_input_named_as_the_generated_codes_own_works_in_torch(name: str) -> None:
    """Finding 1: to_torch refused an input g (layernorm(X, g, b) of the docs), ctx, torch,
    a helper's name; now our names give way and the gradients are torch.autograd's."""
    torch = pytest.importorskip("torch")
    d = sbp.derive(TEXT, shapes=SHAPES, names={"N": name})
    v = _values()
    ns: dict[str, Any] = {}
    exec(d.to_torch(), ns)  # our generated code
    order = [str(s.name) for s in d.inputs]
    ours = {k: torch.tensor(v["N" if k == name else k], requires_grad=True) for k in order}
    ns["ForwardBackward"].apply(*(ours[k] for k in order)).backward()
    ref = {k: torch.tensor(x, requires_grad=True) for k, x in v.items()}
    _reference(torch, ref["X"], ref["N"], ref["b"], ref["Y"]).backward()
    want = d.evaluate({(name if k == "N" else k): x for k, x in v.items()})
    for k in order:
        kk = "N" if k == name else k
        assert ours[k].grad is not None
        np.testing.assert_allclose(ours[k].grad.numpy(), ref[kk].grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(ours[k].grad.numpy(), want[k], atol=1e-10)


@pytest.mark.parametrize("name", OWN)
def test_an_input_named_as_the_generated_codes_own_works_in_jax(name: str) -> None:
    """Finding 1, JAX: the gradients of the custom_vjp are jax.grad's of the same maths."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    d = sbp.derive(TEXT, shapes=SHAPES, names={"N": name})
    v = _values()
    ns: dict[str, Any] = {}
    exec(d.to_jax(), ns)  # our generated code
    order = [str(s.name) for s in d.inputs]
    args = [jnp.asarray(v["N" if k == name else k]) for k in order]
    got = jax.grad(ns["forward_backward"], argnums=tuple(range(len(order))))(*args)
    want = jax.grad(lambda X, N, b, Y: _reference(jnp, X, N, b, Y), argnums=(0, 1, 2, 3))(
        *(jnp.asarray(v[k]) for k in "XNbY"))
    for k, gk in zip(order, got, strict=True):
        kk = "N" if k == name else k
        np.testing.assert_allclose(np.asarray(gk), np.asarray(want["XNbY".index(kk)]),
                                   atol=1e-10)


def step_input(X: Any, step: Any) -> Any:
    return np.sum(np.maximum(X * step, 0)) + np.sum(np.tanh(step))


def where_input(X: Any, where: Any) -> Any:
    return np.sum(np.maximum(X, 0) * where) + np.sum(np.exp(where))


@pytest.mark.parametrize("f", [step_input, where_input])
def test_a_traced_input_named_as_a_helper_of_the_generated_code(f: Any) -> None:
    """The generated code's helper step (the slope of max) gives way to a traced
    function's parameter of that name (names= refuses a function's name of the text: the
    printed equations would read it as the call, held-out round V6)."""
    torch = pytest.importorskip("torch")
    name = f.__code__.co_varnames[1]
    d = sbp.derive(f, shapes={"X": (2, 3), name: (2, 3)})
    assert name in [str(s.name) for s in d.inputs]
    rng = np.random.default_rng(3)
    v = {"X": rng.standard_normal((2, 3)), name: rng.standard_normal((2, 3))}
    want = d.evaluate(v)
    ns: dict[str, Any] = {}
    exec(d.to_torch(), ns)  # our generated code
    order = [str(s.name) for s in d.inputs]
    ours = {k: torch.tensor(v[k], requires_grad=True) for k in order}
    ns["ForwardBackward"].apply(*(ours[k] for k in order)).backward()
    ref = {k: torch.tensor(v[k], requires_grad=True) for k in order}
    (torch.sum(torch.clamp(ref["X"] * ref["step"], min=0)) + torch.sum(torch.tanh(ref["step"]))
     if name == "step" else torch.sum(torch.clamp(ref["X"], min=0) * ref["where"])
     + torch.sum(torch.exp(ref["where"]))).backward()
    for k in order:
        assert ours[k].grad is not None
        assert ref[k].grad is not None
        np.testing.assert_allclose(ours[k].grad.numpy(), ref[k].grad.numpy(), atol=1e-10)
        np.testing.assert_allclose(want[k], ref[k].grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("name", ["step", "log_softmax", "where"])
def test_names_refuses_a_function_of_the_text(name: str) -> None:
    with pytest.raises(sbp.OptionError, match=f"names: '{name}' is a function's name"):
        sbp.derive(TEXT, shapes=SHAPES, names={"N": name})


def test_the_docs_layernorm_with_a_gain_g_and_its_messages_keep_the_name() -> None:
    """vocabulary.md's layernorm(X, g, b): the code's parameter, docstring and the
    refusal of a gradient outside wrt say g, the user's name; our cotangent is g_1."""
    torch = pytest.importorskip("torch")
    sh = {"X": (3, 4), "g": (3, 1), "b": (3, 1)}
    d = sbp.derive("sum(sin(layernorm(X, g, b)))", shapes=sh, wrt=["X"])
    code = d.to_torch()
    assert "g: torch.Tensor" in code
    assert "g: (3, 1)" in code
    assert "g_1: (3" not in code
    assert "derive with g in wrt" in code
    ns: dict[str, Any] = {}
    exec(code, ns)  # our generated code
    X, g = torch.ones(3, 4, dtype=torch.float64), torch.ones(3, 1, requires_grad=True,
                                                            dtype=torch.float64)
    with pytest.raises(RuntimeError, match="g needs a gradient"):
        ns["ForwardBackward"].apply(X, g, torch.ones(3, 1, dtype=torch.float64)).backward()


def test_wrt_takes_the_old_name_of_an_input_names_renames() -> None:
    """wrt="g" with names={"g": "g_1"} said "wrt='g' is not an input (inputs: X, b, g_1)";
    now either name is taken, and an unknown name still lists the inputs as they are."""
    sh = {"X": (3, 4), "g": (3, 1), "b": (3, 1)}
    text = "sum(sin(layernorm(X, g, b)))"
    for wrt in (["X", "g"], ["X", "g_1"]):
        d = sbp.derive(text, shapes=sh, wrt=wrt, names={"g": "g_1"})
        assert [str(s.name) for s in d.wrt] == ["X", "g_1"]
    d = sbp.derive("0*x + y", wrt=["x", "y"], names={"x": "u"})  # kept though it cancels
    assert [str(s.name) for s in d.wrt] == ["u", "y"]
    with pytest.raises(sbp.OptionError, match=r"inputs: X, b, g_1\)"):
        sbp.derive(text, shapes=sh, wrt=["h"], names={"g": "g_1"})


@pytest.mark.parametrize("text", ["b*sin(g)", "g*sin(b)", "torch*sin(a) + ctx"])
def test_the_renamed_code_takes_the_inputs_in_their_order(text: str) -> None:
    """Renaming g to g_1 for a moment reorders SymPy's products: the parameters stay in
    d.inputs's order (positional calls, as apply(*inputs))."""
    d = sbp.derive(text)
    names = ", ".join(f"{s.name}: jax.Array" for s in d.inputs)
    assert f"def forward_backward({names}) -> jax.Array:" in d.to_jax()
    forward = next(f for f in ast.walk(ast.parse(d.to_torch()))
                   if isinstance(f, ast.FunctionDef) and f.name == "forward")
    assert [a.arg for a in forward.args.args[1:]] == [str(s.name) for s in d.inputs]


SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
REGULAR = np.array([[2.0, 1.0], [0.5, 3.0]])


def _det_gradients(d: Any, A: np.ndarray) -> dict[str, np.ndarray]:
    """det(A)'s gradient by evaluate and by the NumPy, PyTorch and JAX code."""
    out = {"evaluate": d.evaluate({"A": A})["A"]}
    ns: dict[str, Any] = {}
    exec(d.to_python(), ns)  # our generated code
    out["numpy"] = ns["forward_backward"](A)[1]["A"]
    torch = pytest.importorskip("torch")
    ns = {}
    exec(d.to_torch(), ns)
    t = torch.tensor(A, requires_grad=True)
    ns["ForwardBackward"].apply(t).backward()
    assert t.grad is not None
    out["torch"] = t.grad.numpy()
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    ns = {}
    exec(d.to_jax(), ns)
    out["jax"] = np.asarray(jax.grad(ns["forward_backward"])(jax.numpy.asarray(A)))
    return out


def test_det_at_a_singular_matrix_is_nan_in_every_generated_code() -> None:
    """Finding 2: det(X)·X⁻ᵀ at a singular X is NaN in evaluate (vocabulary.md); the NumPy
    code raised LinAlgError, PyTorch's backward _LinAlgError. Now each is NaN, and at a
    regular X each is evaluate's."""
    d = sbp.derive("det(A)", shapes={"A": (2, 2)})
    for name, grad in _det_gradients(d, SINGULAR).items():
        assert np.isnan(grad).all(), name
    want = np.linalg.det(REGULAR) * np.linalg.inv(REGULAR).T
    for name, grad in _det_gradients(d, REGULAR).items():
        np.testing.assert_allclose(grad, want, rtol=1e-12, err_msg=name)


def test_det_at_a_singular_matrix_in_forward_mode_and_a_vjp_is_nan_where_undefined() -> None:
    """forward_tangent and vector_jacobian raised LinAlgError too: NaN where the formula
    needs the inverse (the tangent, dA), a number elsewhere (dx = det(A)·G)."""
    ns: dict[str, Any] = {}
    exec(sbp.derive("det(A)", shapes={"A": (2, 2)}, mode="forward").to_python(), ns)
    value, tangent = ns["forward_tangent"](SINGULAR, np.ones((2, 2)))
    assert value == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(tangent)
    value, tangent = ns["forward_tangent"](REGULAR, np.eye(2))
    assert tangent == pytest.approx(np.linalg.det(REGULAR) * np.trace(np.linalg.inv(REGULAR)))
    d = sbp.derive("det(A)*x", shapes={"A": (2, 2), "x": (2, 1)})
    ns = {}
    exec(d.to_python(), ns)
    x, G = np.array([[1.0], [2.0]]), np.array([[0.5], [-1.0]])
    _, grads = ns["vector_jacobian"](SINGULAR, x, G)
    assert np.isnan(grads["A"]).all()
    np.testing.assert_allclose(grads["x"], np.linalg.det(SINGULAR) * G, atol=1e-12)
    _, grads = ns["vector_jacobian"](REGULAR, x, G)
    want = np.linalg.det(REGULAR) * np.sum(G * x) * np.linalg.inv(REGULAR).T
    np.testing.assert_allclose(grads["A"], want, rtol=1e-12)


def test_inv_of_a_singular_matrix_is_nan_in_the_generated_code() -> None:
    """The helper inv (NumPy's, PyTorch's inv_ex, JAX's) gives NaN, as evaluate's inverse."""
    d = sbp.derive("sum(inv(A))", shapes={"A": (2, 2)})
    assert np.isnan(d.evaluate({"A": SINGULAR})["A"]).all()
    ns: dict[str, Any] = {}
    exec(d.to_python(), ns)
    value, grads = ns["forward_backward"](SINGULAR)
    assert np.isnan(value)
    assert np.isnan(grads["A"]).all()
    np.testing.assert_allclose(ns["forward_backward"](REGULAR)[1]["A"],
                               d.evaluate({"A": REGULAR})["A"], rtol=1e-12)


@pytest.mark.parametrize(("name", "instead"), [
    ("logsumexp", "np.log(np.sum(np.exp(x)))"), ("softmax", "np.exp(x) / np.sum(np.exp(x))"),
    ("log_softmax", "x - np.log(np.sum(np.exp(x)))")])
def test_a_scipy_function_the_trace_cannot_enter_is_named(name: str, instead: str) -> None:
    """Finding 3: scipy.special.logsumexp(x) was refused as "iterating over a traced value
    (a for loop, ...)": the user wrote no loop. The message names scipy's function and
    the NumPy to write; that NumPy, traced, is scipy's value and gradient."""
    special = pytest.importorskip("scipy.special")
    f = getattr(special, name)
    with pytest.raises(sbp.UnsupportedError, match=rf"^scipy\.special\.{name} .*"
                       + re.escape(f"write {instead}, or the text's {name}(x)")):
        sbp.derive(lambda x: f(x), shapes={"x": (3,)})
    if name != "logsumexp":
        return
    x = np.array([0.3, -1.2, 2.0])
    d = sbp.derive(lambda x: np.log(np.sum(np.exp(x))), shapes={"x": (3,)})
    np.testing.assert_allclose(d.evaluate({"x": x})["x"].ravel(), special.softmax(x))
    ns: dict[str, Any] = {}
    exec(d.to_python(), ns)
    assert ns["forward_backward"](x)[0] == pytest.approx(special.logsumexp(x))


def test_a_for_loop_of_the_users_own_is_still_named_so() -> None:
    """The user's own loop (no library in between) keeps the message about loops."""
    def f(x: Any) -> Any:
        return sum(x)

    with pytest.raises(sbp.UnsupportedError, match=r"^iterating over a traced value \(a for"):
        sbp.derive(f, shapes={"x": (3,)})


def test_an_input_that_cancels_is_not_in_the_printed_forward_section() -> None:
    """Finding 4, as writing-expressions.md now says: y of sin(x) + (y - y) is kept for
    wrt (gradient 0) but no forward equation names it, so the read-back has x only."""
    d = sbp.derive("sin(x) + (y - y)", wrt=["x", "y"])
    assert [str(s.name) for s in d.inputs] == ["x", "y"]
    src = d.latex(sections="forward")
    assert "y" not in src
    back = sbp.derive(src, syntax="latex", wrt=["x"])
    assert [str(s.name) for s in back.inputs] == ["x"]
    assert back.gradients == {back.inputs[0]: d.gradients[d.inputs[0]]}
    with pytest.raises(sbp.OptionError, match=r"wrt='y' is not an input"):
        sbp.derive(src, syntax="latex", wrt=["x", "y"])


@pytest.mark.parametrize("dim", ["g", "ctx", "torch"])
def test_a_dimension_named_as_the_codes_own_is_refused(dim: str) -> None:
    """A dimension is written as a variable (g = X.shape[0]): one named g silently scaled
    PyTorch's gradient by X's row count (it replaced the cotangent); now it is refused."""
    d = sbp.derive("sum(sin(X))", shapes={"X": (dim, 3)})
    for emit in (d.to_torch, d.to_jax):
        with pytest.raises(sbp.GraphError, match=f"the dimension '{dim}'"):
            emit()
    assert "n = X.shape[0]" in sbp.derive("sum(sin(X))", shapes={"X": ("n", 3)}).to_torch()
