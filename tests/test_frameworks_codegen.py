"""Generated PyTorch and JAX code: gradcheck / check_grads pass on it, its gradients are
d.evaluate's, and a primitive without a framework form is refused by name.

The generated code is run here, made from these trusted test inputs only (as in
test_emit_python); the library itself never runs it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import sympy as sp
from primitive_cases import FORMS, M
from test_tensor_layers import CNN, CNN_SHAPES, CNN_WRT, MHA, MHA_SHAPES

import symbackprop as sbp
from symbackprop.check import random_values
from symbackprop.emit.framework_tables import JAX, TORCH
from symbackprop.errors import UnsupportedError
from symbackprop.shapes import axes_of, shape_of

torch = pytest.importorskip("torch", reason="the [torch] extra is not installed")
jax = pytest.importorskip("jax", reason="the [jax] extra is not installed")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402  (after the skip)

NET = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "y": (2, 1)}
SEED = ("W2@sigmoid(W1@x + b1) + b2", {"shapes": NET, "loss": "mse",
                                       "wrt": ["W1", "b1", "W2", "b2"]})
LONG = ("a = x*y; b = a + a; c = b*sin(a)/x + max(x, y) + min(x, y) + sqrt(y) + log(x)"
        " + relu(a) + sigmoid(y)/y + abs(x)**3 - tan(y) + cos(x) + softplus(x*y) + tanh(x)"
        " + exp(-y)")  # long lines, wrapped at top-level + and -
CASES: list[tuple[str, dict[str, Any]]] = [
    ("(x + y)**2", {"wrt": "x"}),
    (LONG, {}),
    ("a = x*y; b = a + a; b*sin(a)/x + max(x, y) + sqrt(y) + log(x) + tanh(x) + exp(-y)", {}),
    SEED,
    ("W@X + b", {"shapes": {"W": (3, 4), "X": (4, 5), "b": (3, 1), "y": (3, 5)},
                 "loss": "cross_entropy", "wrt": ["W", "b"]}),
    ("z1 = W1@X + b1; o = W2@relu(z1) + b2",  # a symbolic batch B
     {"shapes": {"W1": (4, 3), "X": (3, "B"), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1),
                 "y": (2, "B")}, "loss": "mse", "wrt": ["W1", "b1", "W2", "b2"]}),
    # numbers where PyTorch wants tensors: a function of a number, a constant stage (kept by
    # save_for_backward), where with a number (held-out cases crashed in torch)
    ("max(0, 1 - x) + x*sqrt(2/pi) + x*exp(2) + clip(x, 0, 1)*y + where(x > y, 2, x)", {}),
]
IDS = ["scalar", "long-lines", "scalar-fork", "seed-network", "softmax-xent", "batch-B",
       "numbers"]


def load(code: str, name: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(code, "<generated>", "exec"), namespace)  # trusted: made from test inputs
    return namespace[name]


def sized(d: sbp.Derivation, batch: int = 5) -> dict[str, np.ndarray]:
    """Random values, a symbolic dimension set to ``batch``; a cross-entropy target's
    columns sum to 1 (the printed softmax(o) - y is the gradient only then)."""
    rng = np.random.default_rng(1)
    out = {}
    for s in d.inputs:  # a tensor's axes, a matrix's two, a scalar's none
        shape = tuple(int(k.subs({b: batch for b in k.free_symbols}))
                      for k in axes_of(shape_of(s)))
        out[str(s.name)] = np.asarray(rng.normal(size=shape))
    if any("CrossEntropy" in sp.srepr(e.rhs) for e in d.forward):
        y = np.abs(out["y"])
        out["y"] = y / np.sum(y, axis=0, keepdims=True)
    return out


def keep_positive(d: sbp.Derivation, vals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Scalars away from 0 and from each other (log, sqrt, max's kink)."""
    if all(v.ndim == 0 for v in vals.values()):
        return {k: np.asarray(1.0 + 0.7 * i) for i, k in enumerate(vals)}
    return vals


def check_torch(d: sbp.Derivation, vals: dict[str, np.ndarray], rtol: float = 1e-8) -> None:
    """gradcheck on the generated Function; its output and gradients are the NumPy code's
    and d.evaluate's (to ``rtol``)."""
    fn = load(d.to_torch(), "ForwardBackward")
    wrt = {str(v.name) for v in d.wrt}
    args = [torch.tensor(vals[str(s.name)], dtype=torch.float64,
                         requires_grad=str(s.name) in wrt) for s in d.inputs]
    assert torch.autograd.gradcheck(fn.apply, args)
    out = fn.apply(*args)
    out.backward()
    grads = d.evaluate(vals)
    value = load(d.to_python(), "forward_backward")(**vals)[0]  # the NumPy code's output
    assert float(out.detach()) == pytest.approx(float(value), rel=rtol)  # torch.special: ~1e-10
    for s, a in zip(d.inputs, args, strict=True):
        if str(s.name) in wrt:
            np.testing.assert_allclose(a.grad.numpy(), grads[str(s.name)], rtol=rtol,
                                       atol=1e-12)


def check_jax(d: sbp.Derivation, vals: dict[str, np.ndarray],
              every: sbp.Derivation | None = None, rtol: float = 1e-8) -> None:
    """check_grads (reverse mode) on the generated custom_vjp in every input, not only
    ``wrt``; its gradients are d.evaluate's, and those of the inputs outside ``wrt`` are
    ``every``'s (the same source derived with respect to every input)."""
    fn = load(d.to_jax(), "forward_backward")
    names = [str(s.name) for s in d.inputs]
    args = [jax.numpy.asarray(vals[n]) for n in names]
    check_grads(fn, args, order=1, modes=["rev"])  # type: ignore[no-untyped-call]
    got = jax.grad(fn, argnums=tuple(range(len(args))))(*args)
    grads = {**(every.evaluate(vals) if every is not None else {}), **d.evaluate(vals)}
    assert set(grads) == set(names)
    for n, g in zip(names, got, strict=True):
        np.testing.assert_allclose(np.asarray(g), grads[n], rtol=rtol, atol=1e-12)


@pytest.mark.parametrize(("text", "kw"), CASES, ids=IDS)
def test_torch_function_passes_gradcheck_and_matches_evaluate(text: str,
                                                              kw: dict[str, Any]) -> None:
    d = sbp.derive(text, **kw)
    check_torch(d, keep_positive(d, sized(d)))


@pytest.mark.parametrize(("text", "kw"), CASES, ids=IDS)
def test_jax_custom_vjp_passes_check_grads_and_matches_evaluate(text: str,
                                                                kw: dict[str, Any]) -> None:
    d = sbp.derive(text, **kw)
    every = sbp.derive(text, **{k: v for k, v in kw.items() if k != "wrt"})
    check_jax(d, keep_positive(d, sized(d)), every)
    code = d.to_jax()
    assert "zeros_like" not in code[code.rindex("return ("):]  # no made-up zero cotangent


# What users wrote and were refused: an item (a 1×1 product used as a number), slices and
# their scatter back (embed), blocks, reshapes, running products, cumsum and flip (products
# with a pattern matrix), padding, Kronecker products (whose cotangents are kron_left and
# kron_right), and the rules logdet, logsumexp, var, norm1 and huber
MORE: list[tuple[str, dict[str, Any]]] = [
    ("x.T@A@x", {"shapes": {"x": (3, 1), "A": (3, 3)}}),
    ("max(v) + log(v.T @ v) * (v.T @ A @ v)", {"shapes": {"v": (3, 1), "A": (3, 3)}}),
    ("sum(X[0:2, 1:3]**2) + sum(sin(X[1:, ::2])) + X[2, 3]*X[0, 0] + sum(X[-1]**3)"
     " + sum(hadamard(x[1:], x[:-1]))", {"shapes": {"X": (3, 4), "x": (3, 1)}}),
    ("sum(hadamard(concatenate((x, 2*x), axis=0), y)) + sum(hstack((X, Y))**2)"
     " + sum(vstack((X, Y.T @ X))**3)",
     {"shapes": {"x": (3, 1), "y": (6, 1), "X": (3, 2), "Y": (3, 3)}}),
    ("sum(reshape(X, (3, 2))**3) + sum(hadamard(reshape(X, (-1, 1)), w)) + sum(flatten(X.T)**2)",
     {"shapes": {"X": (2, 3), "w": (6, 1)}}),
    ("sum(hadamard(cumprod(X, axis=1), Y)) + sum(cumprod(X, axis=0)**2) + sum(cumprod(x))",
     {"shapes": {"X": (3, 2), "Y": (3, 2), "x": (3, 1)}}),
    ("sum(hadamard(cumsum(x, axis=0), x)) + sum(hadamard(flip(X, axis=0), X))"
     " + sum(cumsum(X, axis=1)**2) + sum(hadamard(flip(x, axis=0), cumsum(x)))",
     {"shapes": {"x": (3, 1), "X": (3, 2)}}),
    ("sum(pad(X, ((1, 0), (2, 1)), constant_values=0.5)**2) + sum(pad(x, 1)**3)",
     {"shapes": {"X": (3, 2), "x": (3, 1)}}),
    ("sum(kron(X, v)**2) + sum(hadamard(kron(v.T, X), Y)) + sum(tile(X, (2, 3))**3)"
     " + sum(repeat(v, 2)**3) + sum(repeat(X, 2, axis=1)**2)",
     {"shapes": {"X": (3, 2), "v": (2, 1), "Y": (3, 4)}}),
    ("logdet(S.T @ S) + logsumexp(X) + sum(logsumexp(X, axis=0)) + var(X)"
     " + sum(var(X, axis=1)) + norm1(X - 2*Y)",
     {"shapes": {"S": (4, 3), "X": (3, 2), "Y": (3, 2)}}),
    ("sum(huber(x, 1.5)) + sum(hadamard(huber(X, 0.5), Y)) + huber(a*b, 0.25)"
     " + max(0.5, 1 - a) + sum(hadamard(min(X, 0.5), Y))",  # torch.clamp: max of a number
     {"shapes": {"x": (3, 1), "X": (3, 2), "Y": (3, 2)}}),
    # a masked branch of −∞ prints float("inf") (it printed inf, an unknown name)
    ("sum(softmax(where(S > 100, -inf, S), axis=1)**2)", {"shapes": {"S": (3, 3)}}),
]
MORE_IDS = ["item-quadratic-form", "item-max", "slice-embed", "concat", "reshape", "cumprod",
            "cumsum-flip", "pad", "kron-tile-repeat", "logdet-logsumexp-var-norm1", "huber",
            "minus-infinity"]


@pytest.mark.parametrize(("text", "kw"), MORE, ids=MORE_IDS)
def test_structural_primitives_and_rules_run_in_torch_and_jax(text: str,
                                                               kw: dict[str, Any]) -> None:
    """Each was refused ('no PyTorch code for the primitive ...'): now the generated
    Function and custom_vjp pass gradcheck / check_grads, and their values and gradients are
    d.evaluate's to 1e-10 at float64 (JAX's under jit as well)."""
    d = sbp.derive(text, **kw)
    vals = sized(d)
    check_torch(d, vals, rtol=1e-10)
    check_jax(d, vals, rtol=1e-10)
    fn = load(d.to_jax(), "forward_backward")
    args = [jnp.asarray(vals[str(s.name)]) for s in d.inputs]
    got = jax.jit(jax.grad(fn, argnums=tuple(range(len(args)))))(*args)
    grads = d.evaluate(vals)
    for s, g in zip(d.inputs, got, strict=True):
        np.testing.assert_allclose(np.asarray(g), grads[str(s.name)], rtol=1e-10, atol=1e-12)
    value = load(d.to_python(), "forward_backward")(**vals)[0]  # the NumPy code's output
    assert float(jax.jit(fn)(*args)) == pytest.approx(float(value), rel=1e-10)


def test_the_backward_is_ours_one_line_per_adjoint() -> None:
    d = sbp.derive(SEED[0], **SEED[1])  # type: ignore[arg-type]
    for code in (d.to_torch(), d.to_jax()):
        for line in ("do = o - y", "dW2 = do @ h.T", "dh = W2.T @ do", "dz = dh*h*(1 - h)",
                     "dW1 = dz @ x.T", "db1 = dz"):
            assert f"    {line}\n" in code
        assert "torch.autograd" in code or "jax.custom_vjp" in code
        assert not re.search(r"\bnp\.", code)


def test_torch_refuses_the_gradient_of_an_input_outside_wrt_instead_of_none() -> None:
    """A None in backward's answer for an input that needs a gradient reads, to PyTorch, as
    no gradient at all: the Function refuses by name, and works once the input is detached
    (or derived with it in wrt)."""
    d = sbp.derive("sum(tanh(W@x))", wrt="W", shapes={"W": (2, 3), "x": (3, 1)})
    fn = load(d.to_torch(), "ForwardBackward")
    rng = np.random.default_rng(0)
    w = torch.tensor(rng.normal(size=(2, 3)), requires_grad=True)
    x = torch.tensor(rng.normal(size=(3, 1)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"x needs a gradient.*derive with x in wrt"):
        fn.apply(w, x).backward()
    fn.apply(w, x.detach()).backward()
    np.testing.assert_allclose(w.grad.numpy(), d.evaluate(
        {"W": w.detach().numpy(), "x": x.detach().numpy()})["W"], rtol=1e-12)
    both = sbp.derive("sum(tanh(W@x))", shapes={"W": (2, 3), "x": (3, 1)})
    assert torch.autograd.gradcheck(load(both.to_torch(), "ForwardBackward").apply, (w, x))


def test_torch_refuses_a_target_whose_columns_do_not_sum_to_one() -> None:
    """backward's softmax(o) − y is the gradient only for such targets: the Function refuses
    others as evaluate does, and agrees with evaluate for probabilities."""
    d = sbp.derive("W@X + b", wrt=["W", "b"], loss="cross_entropy",
                   shapes={"W": (3, 4), "X": (4, 5), "b": (3, 1), "y": (3, 5)})
    fn = load(d.to_torch(), "ForwardBackward")
    values = sized(d)
    w = torch.tensor(values["W"], requires_grad=True)
    args = (w, *(torch.tensor(values[k]) for k in ("X", "b")))
    with pytest.raises(ValueError, match="must sum to 1"):
        fn.apply(*args, torch.tensor(2 * values["y"])).backward()
    fn.apply(*args, torch.tensor(values["y"])).backward()
    np.testing.assert_allclose(w.grad.numpy(), d.evaluate(values)["W"], rtol=1e-12)


def test_jax_gives_nan_gradients_for_a_target_whose_columns_do_not_sum_to_one() -> None:
    """JAX's VJP runs traced (no Python ``if`` on an array): a target the printed
    softmax(o) − y is not the gradient for becomes NaN, so no gradient is silently wrong;
    probabilities give evaluate's gradient, under jit."""
    d = sbp.derive("W@X + b", wrt=["W", "b"], loss="cross_entropy",
                   shapes={"W": (3, 4), "X": (4, 5), "b": (3, 1), "y": (3, 5)})
    f = load(d.to_jax(), "forward_backward")
    values = sized(d)
    args = [values[k] for k in ("W", "X", "b")]
    grad = jax.jit(jax.grad(f, argnums=(0, 2)))
    g_w, _ = grad(*args, values["y"])
    np.testing.assert_allclose(np.asarray(g_w), d.evaluate(values)["W"], rtol=1e-12)
    g_w, g_b = grad(*args, 2 * values["y"])
    assert np.isnan(np.asarray(g_w)).all()
    assert np.isnan(np.asarray(g_b)).all()


def test_generated_code_is_formatted_and_typed() -> None:
    """ruff finds nothing (PEP 8, 99 columns) and every def is annotated."""
    import subprocess
    import sys
    for text, kw in CASES + MORE:
        d = sbp.derive(text, **kw)
        for code in (d.to_torch(), d.to_jax()):
            r = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                                "--line-length", "99", "--select", "E,W,F,ANN", "-"],
                               input=code, capture_output=True, text=True, check=False)
            assert r.returncode == 0, r.stdout + code


def test_names_are_validated_identifiers() -> None:
    d = sbp.derive("(x + y)**2")
    with pytest.raises(ValueError, match="cannot be used"):
        d.to_torch(name="F(): import os")
    assert "import torch as torch_1" in sbp.derive("torch*x").to_torch()  # (ours gives way)


def test_a_variable_named_as_the_generated_codes_own_keeps_its_name() -> None:
    """An input g (a gate, γ) clashed with the generated code's cotangent g: a GraphError
    asked for a rename. Now the code's own names give way (tests/test_codegen_i5.py runs
    the code); the NumPy code's np is still refused with the rename that works."""
    sh = {"W": (3, 2), "x": (2, 1), "g": (3, 1)}
    d = sbp.derive("sum(hadamard(tanh(W@x), g))", shapes=sh, wrt=["W"])
    assert "def backward(ctx: FunctionCtx, g_1: torch.Tensor)" in d.to_torch()
    assert "def forward_backward_bwd(res: tuple[jax.Array, ...], g_1: jax.Array)" in d.to_jax()
    with pytest.raises(sbp.GraphError, match=r"names=\{'np': 'np_1'\}"):
        sbp.derive("np*x", wrt=["x"]).to_python()
    assert "def forward_backward_fwd_1(" in sbp.derive("forward_backward_fwd*x").to_jax()


@pytest.mark.parametrize("name", sorted(FORMS))
def test_every_registry_primitive_generates_working_code_or_is_refused_by_name(
        name: str) -> None:
    """Every form of each primitive in the one table of cases (``primitive_cases.FORMS``,
    as test_registry.py runs them): the generated code passes gradcheck / check_grads and
    agrees with d.evaluate, or is refused naming the primitive — never code that calls a
    NumPy helper it does not define. (The nodes only a backward pass writes live in
    Hessians, whose output is no scalar: framework code is refused for them as a whole.)"""
    for text, positive in FORMS[name]:
        d = sbp.derive(text, shapes=M)
        vals = {k: np.asarray(v) for k, v in
                random_values(d, 0, attempt=1 if positive else 0).items()}
        for xp, table in (("torch", TORCH), ("jax", JAX)):
            err = ""
            try:
                d.to_torch() if xp == "torch" else d.to_jax()
            except UnsupportedError as e:
                err = str(e)
            if err:
                assert name in err or "constant array" in err, (text, err)
                assert name not in table
            elif xp == "torch":
                check_torch(d, vals)
            else:
                check_jax(d, vals, sbp.derive(text, shapes=M))


def test_the_docs_torch_example_is_what_its_command_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    """docs/index.md's ``--format torch`` block is that command's output, verbatim."""
    import shlex
    from pathlib import Path

    from symbackprop.cli import main

    page = (Path(__file__).parent.parent / "docs" / "index.md").read_text(encoding="utf-8")
    found = re.search(r"```console\n\$ (symbackprop [^`]*?--format torch)\n```\n\n```python\n"
                      r"(.*?)```", page, re.S)
    assert found is not None
    argv = shlex.split(found.group(1).replace("\\\n", " "))
    assert main(argv[1:]) == 0
    assert capsys.readouterr().out.rstrip("\n") + "\n" == found.group(2)


# ---------------------------------------------------------------------------------------
# The n-D primitives: the frameworks' own forwards, and a cotangent that is no primitive of
# ours as that one call's VJP (torch.func.vjp / jax.vjp)

HEADS = """
Q = reshape(einsum('btd,ed->bte', X, Wq), (2, 3, 2, 2))
K = reshape(einsum('btd,ed->bte', X, Wk), (2, 3, 2, 2))
V = reshape(einsum('btd,ed->bte', X, Wv), (2, 3, 2, 2))
S = einsum('bqhd,bkhd->bhqk', Q, K) / 2
A = softmax(S, axis=-1)
O = transpose(einsum('bhqk,bkhd->bhqd', A, V), (0, 2, 1, 3))
Z = reshape(O, (6, 4))
L = sum(hadamard(tanh(Z @ Wo.T), G))
"""
TENSOR_CASES: list[tuple[str, dict[str, Any]]] = [
    (CNN, {"shapes": CNN_SHAPES, "loss": "cross_entropy", "wrt": CNN_WRT}),
    (MHA, {"shapes": MHA_SHAPES, "wrt": ["Q", "K", "V"]}),
    (HEADS, {"shapes": {"X": (2, 3, 4), "Wq": (4, 4), "Wk": (4, 4), "Wv": (4, 4),
                        "Wo": (5, 4), "G": (6, 5)}}),
    ("n = batchnorm2d(X, gamma, b, eps=0.001); L = sum(sin(n) * G) + sum(hadamard(einsum("
     "'nchw,c->n', n, v), u)) + sum(hadamard(flatten(X.T), f))",
     {"shapes": {"X": (3, 2, 2, 3), "gamma": (2,), "b": (2,), "G": (3, 2, 2, 3), "v": (2,),
                 "u": (3,), "f": (36,)}}),
]
TENSOR_IDS = ["cnn", "attention-einsum", "multi-head-projections", "batchnorm2d-einsum-vector"]


@pytest.mark.parametrize(("text", "kw"), TENSOR_CASES, ids=TENSOR_IDS)
def test_tensor_primitives_pass_gradcheck_and_check_grads(text: str, kw: dict[str, Any]
                                                          ) -> None:
    """A CNN (conv2d, max and average pooling, reshape), multi-head attention (einsum,
    softmax along the last axis, transpose of axes) and spatial batch normalisation:
    torch.autograd.gradcheck and jax check_grads on the generated code, whose gradients are
    d.evaluate's."""
    d = sbp.derive(text, **kw)
    vals = sized(d, 2)
    check_torch(d, vals)
    check_jax(d, vals, sbp.derive(text, **{k: v for k, v in kw.items() if k != "wrt"}))


def test_a_tensor_cotangent_is_the_primitives_vjp_and_says_so() -> None:
    """Convolution's and pooling's cotangents call the framework's VJP of that one call (the
    comment says so); an einsum's cotangent is an einsum again, written out."""
    d = sbp.derive(CNN, **TENSOR_CASES[0][1])  # type: ignore[arg-type]
    for code, call in ((d.to_torch(), "torch.func.vjp("), (d.to_jax(), "jax.vjp(")):
        assert "# the framework's own VJP of this one primitive call, not the index form" \
            in code
        assert call in code
        assert "vjp(conv2d, 1, dz1, X, K1, c1, stride=1, padding=1)" in code
        assert "vjp(maxpool2d, 0, dp1, h1, size=2)" in code
    d = sbp.derive(MHA, **TENSOR_CASES[1][1])  # type: ignore[arg-type]
    for code in (d.to_torch(), d.to_jax()):
        assert "dV = einsum(dO, A, spec='bhqd,bhqk->bhkd')" in code
        assert "dS = vjp(softmax_axis, 0, dA, S, axis=3)" in code


@pytest.mark.parametrize(("text", "kw"), TENSOR_CASES, ids=TENSOR_IDS)
def test_tensor_code_is_formatted_and_typed(text: str, kw: dict[str, Any]) -> None:
    import subprocess
    import sys
    d = sbp.derive(text, **kw)
    for code in (d.to_torch(), d.to_jax()):  # E741: the user's O (attention's output)
        r = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated",
                            "--line-length", "99", "--select", "E,W,F,ANN", "--ignore",
                            "E741", "-"],
                           input=code, capture_output=True, text=True, check=False)
        assert r.returncode == 0, r.stdout + code


def test_a_variable_named_as_a_helper_keeps_its_name() -> None:
    """The helpers' names that the text allows as variables (vjp, pair) were refused; now
    the helper is renamed (vjp_1) and the variable keeps its name."""
    d = sbp.derive("vjp = conv2d(X, W); L = sum(sin(vjp))",
                   shapes={"X": (1, 1, 3, 3), "W": (1, 1, 2, 2)})
    for emit in (d.to_torch, d.to_jax):
        code = emit()
        assert "def vjp_1(" in code
        assert "vjp = conv2d(" in code


def test_a_transformer_block_from_torch_nn_passes_gradcheck_and_check_grads() -> None:
    """from_torch's pre-LN Transformer block (attention over heads with einsum, transpose
    and reshape, LayerNorm as standardise, GELU, Dropout's mask): its generated Function and
    custom_vjp pass gradcheck / check_grads and agree with d.evaluate."""
    from test_from_torch import Block

    torch.manual_seed(0)
    d = sbp.from_torch(Block(), torch.randn(2, 3, 4), loss=torch.nn.MSELoss())
    shapes = {str(s.name): d.our_shape(str(s.name)) for s in d.inputs}
    # the same text derived plainly takes values in our layout (d's take the module's keys)
    plain = sbp.derive(d.text, shapes=shapes, wrt=[str(s.name) for s in d.wrt],
                       granularity="layers")
    assert plain.to_torch() == d.to_torch()
    assert "standardise(" in plain.to_torch()
    vals = sized(plain)
    check_torch(plain, vals)
    check_jax(plain, vals, sbp.derive(d.text, shapes=shapes, granularity="layers"))


def test_a_refusal_names_the_users_operation_not_our_node() -> None:
    """'no PyTorch code for the primitive Pattern' named a node of ours (a held-out note):
    cumsum and flip (products with a pattern) and an item are now written; what is still
    refused is named as the text writes it."""
    cumsum = sbp.derive("sum(hadamard(cumsum(x), x))", shapes={"x": (3, 1)})
    assert "tril_ones(3, x) @ x" in cumsum.to_torch()
    assert "tril_ones(3, x) @ x" in cumsum.to_jax()
    item = sbp.derive("x.T@A@x", shapes={"x": (3, 1), "A": (3, 3)})
    assert "L = (x.T @ A @ x).reshape(())" in item.to_jax()
    for emit, framework in ((sbp.derive("besseli(1, x)").to_torch, "PyTorch"),
                            (sbp.derive("besseli(1, x)").to_jax, "JAX")):
        with pytest.raises(UnsupportedError, match=f"no {framework} code for the primitive "
                                                   "besseli$"):
            emit()


def test_ties_of_a_max_share_its_slope_in_every_witness_and_printer() -> None:
    """At a tie max(X, axis=k) is not differentiable; NumPy, JAX and the engine share the
    slope among the tied entries (a subgradient). The printed 𝟙[X = max] gave each the
    whole slope, twice the gradient in total (a held-out case: max pooling, np.max)."""
    text = "sum(max(X, axis=1)) + sum(min(X, axis=0)) + sum(max(v, axis=0))"
    d = sbp.derive(text, shapes={"X": (2, 3), "v": (3, 1)})
    X = np.array([[0.0, 0.0, 1.0], [2.0, 2.0, -1.0]])
    v = np.array([[1.0], [1.0], [0.0]])

    def reference(X: Any, v: Any) -> Any:
        return jnp.sum(jnp.max(X, axis=1)) + jnp.sum(jnp.min(X, axis=0)) + jnp.max(v)

    want = [np.asarray(g) for g in jax.grad(reference, argnums=(0, 1))(X, v)]
    np.testing.assert_allclose(want[0], [[1.0, 1.0, 1.0], [0.5, 0.5, 1.0]])
    got = d.evaluate({"X": X, "v": v})
    for name, w in zip(("X", "v"), want, strict=True):
        np.testing.assert_allclose(got[name], w, rtol=1e-12)
    _, numpy_grads = load(d.to_python(), "forward_backward")(X, v)
    args = [torch.tensor(a, requires_grad=True) for a in (X, v)]
    load(d.to_torch(), "ForwardBackward").apply(*args).backward()
    jax_grads = jax.grad(load(d.to_jax(), "forward_backward"), argnums=(0, 1))(X, v)
    for k, name in enumerate(("X", "v")):
        for g in (numpy_grads[name], args[k].grad.numpy(), np.asarray(jax_grads[k])):
            np.testing.assert_allclose(g, want[k], rtol=1e-12)
    # forward mode: the tangent at a tie is the mean of the tied entries' tangents
    assert sbp.derive("max(v)", shapes={"v": (3, 1)}).jvp(
        {"v": v}, {"v": np.array([[2.0], [4.0], [8.0]])}) == pytest.approx(3.0)


def test_generated_code_stays_finite_at_extreme_logits() -> None:
    """cross_entropy's gradient in y is −log softmax(o): written log(softmax(o)) it was ∞
    where the softmax underflowed (o = ±800) in all three backends; the NumPy sigmoid helper
    lost log σ(−40) to −∞ (held-out cases)."""
    d = sbp.derive("cross_entropy(o, y)", wrt=["o", "y"], shapes={"o": (2, 1), "y": (2, 1)})
    o, y = np.array([[800.0], [-800.0]]), np.array([[1.0], [0.0]])
    want = d.evaluate({"o": o, "y": y})["y"]
    np.testing.assert_allclose(want, [[0.0], [1600.0]])
    np.testing.assert_allclose(load(d.to_python(), "forward_backward")(o, y)[1]["y"], want)
    ot, yt = (torch.tensor(a, requires_grad=True) for a in (o, y))
    load(d.to_torch(), "ForwardBackward").apply(ot, yt).backward()
    np.testing.assert_allclose(yt.grad.numpy(), want)
    got = jax.grad(load(d.to_jax(), "forward_backward"), argnums=1)(o, y)
    np.testing.assert_allclose(np.asarray(got), want)
    value, grads = load(sbp.derive("log(sigmoid(x))").to_python(), "forward_backward")(-40.0)
    assert value == pytest.approx(-40.0)
    assert grads["x"] == pytest.approx(1.0)


def test_the_torch_where_helper_takes_a_bool_mask() -> None:
    """A bool mask made S bool in the helper (both branches cast to the condition's dtype):
    L was 22.75 for 9.90 (a held-out case)."""
    M = np.tril(np.ones((3, 3)))
    S = np.array([[0.5, -1.0, 0.3], [1.2, 0.1, -0.4], [0.7, -0.2, 0.9]])
    for text in ("sum(exp(where(M, S, -inf)))", "sum(exp(where(M, S, 0)))"):
        d = sbp.derive(text, wrt="S", shapes={"M": (3, 3), "S": (3, 3)})
        want = d.evaluate({"M": M, "S": S})["S"]
        for mask in (torch.tensor(M, dtype=torch.bool), torch.tensor(M)):
            s = torch.tensor(S, requires_grad=True)
            loss = load(d.to_torch(), "ForwardBackward").apply(mask, s)
            assert float(loss.detach()) == pytest.approx(float(np.sum(np.exp(np.where(M > 0, S, (
                -np.inf if "inf" in text else 0.0))))))
            loss.backward()
            np.testing.assert_allclose(s.grad.numpy(), want, rtol=1e-12)


@pytest.mark.parametrize(("text", "reference"), [
    ("logaddexp(a, b) + sum(logsumexp(X, axis=0)) + sum(hadamard(log_softmax(X, axis=1), X))",
     lambda a, b, X: jnp.logaddexp(a, b) + jnp.sum(jax.scipy.special.logsumexp(X, axis=0))
     + jnp.sum(jax.nn.log_softmax(X, axis=1) * X)),
    ("sum(logsumexp(X, axis=1)**2) + sum(hadamard(log_softmax(X), X)) + a*b",
     lambda a, b, X: jnp.sum(jax.scipy.special.logsumexp(X, axis=1) ** 2)
     + jnp.sum(jax.nn.log_softmax(X, axis=0) * X) + a * b),
])
def test_log_sum_exps_stay_finite_at_800(text: str, reference: Any) -> None:
    """logaddexp was log(eˣ + eʸ) and logsumexp along an axis log(eˣ 1), so log_softmax along
    an axis too: inf and NaN at 800 where jax is finite (held-out cases). Now y + softplus(x −
    y) and a primitive shifted by its largest entry, in evaluate and in every backend."""
    vals = {"a": 800.0, "b": 799.0, "X": np.array([[800.0, 1.0], [0.0, 2.0], [-3.0, 799.5]])}
    d = sbp.derive(text, shapes={"X": (3, 2)})
    want = [np.asarray(g) for g in jax.grad(reference, argnums=(0, 1, 2))(
        vals["a"], vals["b"], vals["X"])]
    got = d.evaluate(vals)
    _, code = load(d.to_python(), "forward_backward")(**vals)
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in vals.items()}
    load(d.to_torch(), "ForwardBackward").apply(*(tensors[str(s.name)] for s in d.inputs)).backward()
    jax_grads = jax.grad(load(d.to_jax(), "forward_backward"), argnums=(0, 1, 2))(
        *(vals[str(s.name)] for s in d.inputs))
    for k, name in enumerate(str(s.name) for s in d.inputs):
        w = want[("a", "b", "X").index(name)]
        for g in (got[name], code[name], tensors[name].grad.numpy(), np.asarray(jax_grads[k])):
            np.testing.assert_allclose(g, w, rtol=1e-9, atol=1e-12, err_msg=name)
    assert d.check(vals).ok


def test_log1p_and_expm1_keep_their_digits_near_zero() -> None:
    """Written out as log(1 + x) and exp(x) − 1 they lost every digit near 0: the gradient
    of log1p(x)/x at 1e-10 was −828 for −0.5 (a held-out case); now primitives, np.log1p and
    np.expm1 in evaluate and in every backend."""
    d = sbp.derive("log1p(x)/x - expm1(x)/x")
    x = 1e-10
    want = -0.5 - 0.5
    assert d.evaluate({"x": x})["x"] == pytest.approx(want, abs=1e-6)
    assert load(d.to_python(), "forward_backward")(x)[1]["x"] == pytest.approx(want, abs=1e-6)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    load(d.to_torch(), "ForwardBackward").apply(xt).backward()
    assert float(xt.grad) == pytest.approx(want, abs=1e-6)
    assert float(jax.grad(load(d.to_jax(), "forward_backward"))(x)) == pytest.approx(
        want, abs=1e-6)


# Traced NumPy functions with 1-D parameters (a bias of shape (n,)): to_python reshapes each
# vector into a column, and the framework code now does too, so it takes the function's own
# arrays. Each function is written once for NumPy, PyTorch and JAX (``xp``).
def bias_tanh(xp: Any) -> Any:
    def f(X: Any, W: Any, b: Any) -> Any:
        return xp.sum(xp.tanh(X @ W + b) ** 2)
    return f


def mlp(xp: Any) -> Any:
    def f(X: Any, W1: Any, b1: Any, W2: Any, b2: Any, Y: Any) -> Any:
        return 0.5 * xp.sum((xp.tanh(X @ W1 + b1) @ W2 + b2 - Y) ** 2)
    return f


def logistic(xp: Any) -> Any:
    def f(X: Any, w: Any, c: Any, y: Any) -> Any:
        return xp.sum(xp.log1p(xp.exp(-y * (X @ w + c))))
    return f


def layer(xp: Any) -> Any:
    def f(W: Any, x: Any, b: Any, v: Any) -> Any:
        return xp.sum(xp.tanh(W @ x + b) * v) + xp.sum(b * b) * xp.sum(x)
    return f


def inner_outer(xp: Any) -> Any:
    def f(A: Any, u: Any, v: Any) -> Any:
        return xp.sum(xp.outer(u, v) * A) + xp.dot(u, v) ** 2
    return f


VECTOR_CASES: list[tuple[Any, dict[str, Any], list[str]]] = [
    # the batch equals the bias length: JAX's ones_like(b) @ b.T of a 1-D b was a dot
    # product, silently wrong numbers (a held-out case)
    (bias_tanh, {"X": (3, 2), "W": (2, 3), "b": (3,)}, ["W", "b"]),
    (mlp, {"X": (5, 4), "W1": (4, 3), "b1": (3,), "W2": (3, 2), "b2": (2,), "Y": (5, 2)},
     ["W1", "b1", "W2", "b2"]),
    (logistic, {"X": (5, 4), "w": (4,), "c": (), "y": (5,)}, ["w", "c"]),
    (layer, {"W": (3, 4), "x": (4,), "b": (3,), "v": (3,)}, ["W", "b", "v"]),
    (inner_outer, {"A": (3, 3), "u": (3,), "v": (3,)}, ["u", "v"]),
]
VECTOR_IDS = ["batch-equals-bias", "mlp", "logistic", "matrix-vector", "inner-outer"]


@pytest.mark.parametrize(("make", "shapes", "wrt"), VECTOR_CASES, ids=VECTOR_IDS)
def test_framework_code_takes_the_traced_functions_1d_arrays(
        make: Any, shapes: dict[str, tuple[int, ...]], wrt: list[str]) -> None:
    """Given the traced function's own 1-D arrays, the PyTorch and JAX code return its value,
    and gradients of the shapes given equal to d.evaluate's and to torch autograd's / jax.grad's
    of the same function (JAX's under jit too); given columns, to_python's columns."""
    d = sbp.derive(make(np), wrt=wrt, shapes=shapes)
    rng = np.random.default_rng(3)
    vals = {k: rng.normal(size=s) for k, s in shapes.items()}
    names = [str(s.name) for s in d.inputs]  # the generated code's order: first use
    value, want = make(np)(**vals), d.evaluate(vals)
    # PyTorch: the generated Function against autograd of the function written in torch
    fn = load(d.to_torch(), "ForwardBackward")
    args = [torch.tensor(vals[n], requires_grad=n in wrt) for n in names]
    assert torch.autograd.gradcheck(fn.apply, args)
    out = fn.apply(*args)
    out.backward()
    ref = [torch.tensor(vals[n], requires_grad=n in wrt) for n in names]
    auto = torch.autograd.grad(make(torch)(**dict(zip(names, ref, strict=True))),
                               [r for r in ref if r.requires_grad])
    assert float(out.detach()) == pytest.approx(float(value), rel=1e-12)
    for n, a, g in zip([n for n in names if n in wrt], [a for a in args if a.requires_grad],
                       auto, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), want[n], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(a.grad.numpy(), g.numpy(), rtol=1e-10, atol=1e-12)
    # JAX: the generated custom_vjp against jax.grad of the function written in jnp, in every
    # input (each gets its derived cotangent)
    g_fn = load(d.to_jax(), "forward_backward")
    every = tuple(range(len(names)))
    ref_grads = jax.grad(lambda *a: make(jnp)(**dict(zip(names, a, strict=True))),
                         argnums=every)(*(vals[n] for n in names))
    for run in (jax.value_and_grad(g_fn, argnums=every),
                jax.jit(jax.value_and_grad(g_fn, argnums=every))):
        v, grads = run(*(vals[n] for n in names))
        assert float(v) == pytest.approx(float(value), rel=1e-12)
        for n, g, r in zip(names, grads, ref_grads, strict=True):
            np.testing.assert_allclose(np.asarray(g), np.asarray(r), rtol=1e-10, atol=1e-12)
            if n in wrt:
                np.testing.assert_allclose(np.asarray(g), want[n], rtol=1e-10, atol=1e-12)
    # columns, as to_python takes and returns them: the same numbers, as columns
    cols = {n: v.reshape(-1, 1) if v.ndim == 1 else v for n, v in vals.items()}
    _, py = load(d.to_python(), "forward_backward")(**vals)
    args = [torch.tensor(cols[n], requires_grad=n in wrt) for n in names]
    fn.apply(*args).backward()
    grads = jax.grad(g_fn, argnums=every)(*(cols[n] for n in names))
    for n, a, g in zip(names, args, grads, strict=True):
        if n in wrt:
            np.testing.assert_allclose(a.grad.numpy(), py[n], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(np.asarray(g), py[n], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("text", ["mse(W@x, u)**3", "2/cross_entropy(W@x, y)", "mse(W@x, u + u)",
                                  "sqrt(1 + cross_entropy(W@x, y)**2)"])
def test_an_inlined_loss_keeps_its_brackets_in_torch_and_jax(text: str) -> None:
    """to_torch and to_jax wrote mse(o, u)**3 as 0.5*sum((o − u)**2)**3, as to_python did
    (held-out cases): their values and gradients are evaluate's now."""
    shapes = {"W": (3, 2), "x": (2, 1), "u": (3, 1), "y": (3, 1)}
    d = sbp.derive(text, shapes={k: v for k, v in shapes.items()
                                 if re.search(rf"\b{k}\b", text)})
    vals = sized(d)
    if "y" in vals:  # a target: columns that sum to 1
        vals["y"] = np.abs(vals["y"]) / np.sum(np.abs(vals["y"]), axis=0, keepdims=True)
    check_torch(d, vals)
    check_jax(d, vals, d)


@pytest.mark.parametrize("text", ["sum(kron(A, B.T))", "sum(tanh(kron(A.T, B + A)))",
                                  "sum(tile(A.T, (2, 1))**2)",
                                  "sum(repeat(A.T, 2, axis=0)**2) + sum(B)"])
def test_a_kronecker_product_of_a_transpose_runs_in_torch(text: str) -> None:
    """torch.kron of a transposed operand raises a view error in PyTorch itself (a held-out
    case: the generated Function failed on sum(kron(A, B.T))); its operands are made
    contiguous first."""
    d = sbp.derive(text, shapes={"A": (2, 2), "B": (2, 2)})
    vals = sized(d)
    check_torch(d, vals)
    check_jax(d, vals, d)


def test_a_function_of_a_constant_is_given_a_tensor_in_torch() -> None:
    """1/torch.tan(0.81): tan, exp, log, sin, cos and tanh of a constant were printed with
    the NumPy printer's method, which gives PyTorch a float it refuses (a held-out case);
    they take a tensor of the inputs' dtype, as every other function does."""
    d = sbp.derive("a*tan(sigmoid(0.5) + 0.1) + exp(sigmoid(0.3))*a + log(sigmoid(0.2)) "
                   "+ sin(sigmoid(0.2))*cos(sigmoid(0.4))*a + tanh(sigmoid(0.1))")
    vals = {"a": np.array(0.7)}
    check_torch(d, vals)
    check_jax(d, vals, d)
