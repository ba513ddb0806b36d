"""A call spelled with a library's name means what it means in that library, or is refused.

``np.max(X, 0)`` was read as the text's element-wise ``max(X, 0)`` (a ReLU; check() agreed,
as its witness reads the text the same way), ``torch.std(X)`` as NumPy's std (n, not n − 1),
``jax.nn.softmax(X)`` of a matrix as the text's column softmax, ``scipy.special.huber(δ, r)``
with its arguments swapped. The net: every function of the text that a library also has,
called as that library calls it, against central differences of the library's own function.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import symbackprop as sbp
from symbackprop.parse import FUNCTIONS

REFUSED = (sbp.ParseError, sbp.ShapeError)


def _libraries() -> dict[str, tuple[Any, Callable[..., np.ndarray]]]:
    """prefix → (module, a call of one of its functions on NumPy arrays giving NumPy)."""
    out: dict[str, tuple[Any, Callable[..., np.ndarray]]] = {}
    out["np"] = (np, lambda f, *xs: np.asarray(f(*xs), float))
    out["np.linalg"] = (np.linalg, out["np"][1])
    with contextlib.suppress(ImportError):  # by name: SciPy has no type stubs here
        out["scipy.special"] = (importlib.import_module("scipy.special"), out["np"][1])
    try:
        import torch
        import torch.nn.functional as F

        def torch_call(f: Any, *xs: np.ndarray) -> np.ndarray:
            r = f(*[torch.tensor(x) for x in xs])
            return np.asarray((r[0] if isinstance(r, tuple) else r).detach().numpy(), float)
        for prefix, mod in (("torch", torch), ("F", F), ("torch.linalg", torch.linalg)):
            out[prefix] = (mod, torch_call)
    except ImportError:  # pragma: no cover
        pass
    try:
        import jax
        import jax.numpy as jnp
        jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
        for prefix, mod in (("jnp", jnp), ("jax.nn", jax.nn)):
            out[prefix] = (mod, out["np"][1])
    except ImportError:  # pragma: no cover
        pass
    return out


LIBRARIES = _libraries()


def _central(fun: Callable[..., np.ndarray], xs: list[np.ndarray], G: np.ndarray,
             i: int, h: float = 1e-6) -> np.ndarray:
    g = np.zeros_like(xs[i])
    for idx in np.ndindex(xs[i].shape):
        up = [a.copy() for a in xs]
        down = [a.copy() for a in xs]
        up[i][idx] += h
        down[i][idx] -= h
        g[idx] = (np.sum(G * fun(*up)) - np.sum(G * fun(*down))) / (2 * h)
    return g


@pytest.mark.parametrize("prefix", sorted(LIBRARIES))
def test_every_shared_function_means_the_librarys(prefix: str) -> None:
    """Called as the library is called, with its defaults: the gradient of sum(G ⊙ f(X))
    is the library function's, or the call is refused — never another function."""
    mod, call = LIBRARIES[prefix]
    rng = np.random.default_rng(7)
    compared = 0
    for name in sorted(FUNCTIONS):
        f = getattr(mod, name, None)
        if not callable(f):
            continue
        for shape in ((4,), (3, 4), (2, 3, 4)):  # a tensor: np.inner, np.transpose, ...
            if name == "transpose" and len(shape) == 1:
                continue  # a 1-D (n,) is a column in the text, so its transpose a row
            for nargs in (1, 2):
                xs = [rng.uniform(0.2, 0.8, shape) for _ in range(nargs)]
                try:
                    with np.errstate(all="ignore"):
                        y = call(f, *xs)
                except Exception:  # the library's own refusal: nothing to compare
                    continue
                if y.dtype == bool or not np.all(np.isfinite(y)):
                    continue
                names = ["X", "Y"][:nargs]
                G = rng.normal(size=y.shape)
                text = f"L = sum(hadamard(G, {prefix}.{name}({', '.join(names)})))"
                shapes: dict[str, Any] = {n: shape for n in names}
                shapes["G"] = y.shape
                if y.ndim == 0:
                    text, shapes["G"], G = f"L = G*{prefix}.{name}({', '.join(names)})", (), G
                try:
                    d = sbp.derive(text, wrt=names, shapes=shapes)
                    got = d.evaluate({**dict(zip(names, xs, strict=True)), "G": G})
                except (*REFUSED, ValueError):  # ValueError: targets that are no distribution
                    continue
                except sbp.UnsupportedError:  # what a tensor has no rule for yet (kron)
                    if len(shape) < 3:
                        raise
                    continue
                for i, n in enumerate(names):
                    ref = _central(lambda *a, f=f: call(f, *a), xs, G, i)
                    assert np.allclose(np.reshape(got[n], ref.shape), ref, rtol=1e-4,
                                       atol=1e-6), (text, shape, n)
                compared += 1
    assert compared > 0  # the net caught something to compare


X0 = np.random.default_rng(3).normal(size=(3, 4))
Y0 = np.random.default_rng(4).normal(size=(3, 4))
CASES: dict[str, Callable[[np.ndarray], Any]] = {  # text → the same function in NumPy
    "sum(np.max(X, 0)**2)": lambda X: np.sum(np.max(X, 0) ** 2),
    "sum(np.amax(X, -1, keepdims=True)**2)": lambda X: np.sum(np.max(X, -1) ** 2),
    "sum(X.max(1, keepdims=True)**2)": lambda X: np.sum(X.max(1) ** 2),
    "sum(X.min(0)**2)": lambda X: np.sum(X.min(0) ** 2),
    "sum(np.amin(X, +1, keepdims=True)**2)": lambda X: np.sum(np.min(X, 1) ** 2),
    "sum(torch.amax(X, 1, keepdim=True)**2)": lambda X: np.sum(np.max(X, 1) ** 2),
    "sum(torch.amin(X, dim=0, keepdim=True)**2)": lambda X: np.sum(np.min(X, 0) ** 2),
    "sum(np.sum(X, 0)**2)": lambda X: np.sum(np.sum(X, 0) ** 2),
    "sum(torch.mean(X, 1, keepdim=True)**2)": lambda X: np.sum(np.mean(X, 1) ** 2),
    "sum(sin(X - np.mean(X, 0)))": lambda X: np.sum(np.sin(X - np.mean(X, 0))),
    "sum(sin(X - X.mean(1, keepdims=True)))": lambda X: np.sum(
        np.sin(X - X.mean(1, keepdims=True))),
    "sum(np.flip(X, 0) * X[0, 0])": lambda X: np.sum(np.flip(X, 0) * X[0, 0]),
    "sum(torch.sum(X, dim=0)**2)": lambda X: np.sum(np.sum(X, 0) ** 2),
    "sum(X.sum(1, keepdims=True)**3)": lambda X: np.sum(X.sum(1) ** 3),
    "sum(np.cumsum(X, 1)**2)": lambda X: np.sum(np.cumsum(X, 1) ** 2),
    "torch.std(X, unbiased=False)": np.std,
    "torch.var(X, correction=0)": np.var,
    "np.var(X, ddof=0)": np.var,
    "torch.sum(X.var(1, unbiased=False)) + X.std(correction=0)": lambda X: np.sum(
        np.var(X, 1)) + np.std(X),
    "np.sum(X.std(1)) + X.var()": lambda X: np.sum(np.std(X, 1)) + np.var(X),  # NumPy's: n
    "np.sum(np.sin(X.transpose(1, 0)) @ X)": lambda X: np.sum(np.sin(X.transpose(1, 0)) @ X),
    "F.mse_loss(X, Y, reduction='mean')": lambda X: np.mean((X - Y0) ** 2),
    "torch.sum(torch.var(X, 1, False)) + torch.sum(X.std(0, False))": lambda X: np.sum(
        np.var(X, 1)) + np.sum(np.std(X, 0)),  # the third positional is unbiased
    # a method's dim= and keepdim= where the code calls PyTorch, as torch.sum's
    "torch.sum(torch.sin(X.sum(dim=1)))": lambda X: np.sum(np.sin(X.sum(1))),
    "torch.sum(torch.sin(X.mean(dim=0, keepdim=True) + X))": lambda X: np.sum(
        np.sin(X.mean(0, keepdims=True) + X)),
    "sum(F.softmax(X, 1)**2)": lambda X: np.sum((np.exp(X) / np.exp(X).sum(1, keepdims=True))
                                                ** 2),
    "sum(jax.nn.softmax(X, axis=0)**2)": lambda X: np.sum(
        (np.exp(X) / np.exp(X).sum(0, keepdims=True)) ** 2),
    "sum(torch.max(X, Y)**2)": lambda X: np.sum(np.maximum(X, Y0) ** 2),
    "sum(outer(X[0, :], X[:, 1]))": lambda X: np.sum(np.outer(X[0, :], X[:, 1])),
}


@pytest.mark.parametrize("text", sorted(CASES))
def test_the_librarys_axis_and_options(text: str) -> None:
    d = sbp.derive(text, wrt="X", shapes={"X": (3, 4), "Y": (3, 4)})
    got = d.evaluate({"X": X0, "Y": Y0})["X"]
    assert np.allclose(got, _central(lambda X: np.asarray(CASES[text](X)), [X0], np.ones(()), 0),
                       rtol=1e-5, atol=1e-7)
    assert d.check({"X": X0, "Y": Y0}).ok


@pytest.mark.parametrize(("text", "says"), [
    ("sum(torch.max(X, 1)**2)", "torch.amax(X, 1)"),
    ("sum(torch.min(X, dim=1))", "(values, indices)"),
    ("sum(np.max(X, Y))", "np.maximum(a, b)"),
    ("sum(X.min(Y))", "minimum(a, b)"),
    ("torch.std(X)", "unbiased=False"),
    ("torch.var(X, unbiased=True)", "Bessel"),
    # a tensor's method in code that calls PyTorch is PyTorch's (n − 1), as torch.var is
    ("torch.sum(X.std(1))", "tensor method .std()"),
    ("torch.sum(torch.sin(X.var(1)))", "unbiased=False"),
    ("torch.sum(torch.tanh(X)) + X.var()", "Bessel"),
    ("np.std(X, ddof=1)", "ddof"),
    ("sum(jax.nn.gelu(X))", "approximate=False"),
    ("sum(F.gelu(X, approximate='tanh'))", "tanh approximation"),
    ("sum(jax.nn.softmax(X)**2)", "each row"),
    ("sum(F.log_softmax(X))", "dim="),
    ("scipy.special.logsumexp(X)", "every entry"),
    ("sum(scipy.special.softmax(X)**2)", "every entry"),
    ("F.cross_entropy(X, Y)", "a row per sample"),
    ("torch.binary_cross_entropy_with_logits(X, Y)", "F.binary_cross_entropy_with_logits"),
    ("sum(outer(X, Y))", "two vectors"),
    # NumPy's 1-D results: a vector's only axis, and a reduction that broadcasts as a row
    ("sum(sin(np.sum(X[:, 0], -1)))", "its only one"),
    ("sum(sin(X - np.mean(X, 1)))", "keepdims=True"),
    ("sum(X / np.sum(exp(X), axis=1))", "lines it up with the last axis"),
    ("torch.logsumexp(X[0, :].T, dim=-1)", "transpose of NumPy's 1-D"),  # X[0, :] is 1-D
    # an axis NumPy's 1-D value does not have, keepdims or not (NumPy's AxisError)
    ("np.sum(np.sum(X, axis=0).sum(axis=1, keepdims=True))", "whose only axis is 0"),
    ("torch.sum(torch.sum(X, dim=0).sum(dim=1, keepdim=True))", "AxisError"),
    ("np.sum(np.mean(X[0], axis=1, keepdims=True))", "whose only axis is 0"),
])
def test_what_the_library_means_otherwise_is_refused(text: str, says: str) -> None:
    with pytest.raises(REFUSED, match=None) as e:
        sbp.derive(text, wrt="X", shapes={"X": (3, 4), "Y": (3, 4)})
    assert says in str(e.value)


def test_of_a_vector_the_defaults_agree() -> None:
    """Along the only axis of a vector, every library's softmax is the text's."""
    v = np.array([0.3, -1.0, 2.0, 0.5])
    ref = sbp.derive("sum(hadamard(g, softmax(v)))", wrt="v",
                     shapes={"v": (4,), "g": (4,)}).evaluate({"v": v, "g": v ** 2})["v"]
    for spelled in ("jax.nn.softmax(v)", "scipy.special.softmax(v)", "F.softmax(v, dim=0)"):
        d = sbp.derive(f"sum(hadamard(g, {spelled}))", wrt="v", shapes={"v": (4,), "g": (4,)})
        assert np.allclose(d.evaluate({"v": v, "g": v ** 2})["v"], ref)


def test_scipy_huber_takes_delta_first() -> None:
    r = np.array([[0.3, -2.0], [1.5, -0.2]])
    d = sbp.derive("sum(scipy.special.huber(1.0, X))", wrt="X", shapes={"X": (2, 2)})
    assert np.allclose(d.evaluate({"X": r})["X"], np.clip(r, -1.0, 1.0))


@pytest.mark.parametrize("text", ["np.sum(np.exp(X) * X)", "torch.sum(torch.sigmoid(X) * X)",
                                  "np.sum(X * Y * X)", "X.sum(axis=0) * X"])
def test_a_star_between_matrices_in_pasted_code_is_refused(text: str) -> None:
    """NumPy's * is element-wise, the text's between matrices the product (as on paper):
    in code written with a library's calls the two readings differ, so it is refused."""
    with pytest.raises(sbp.ShapeError, match="hadamard"):
        sbp.derive(text, shapes={"X": (3, 3), "Y": (3, 3)})


def test_a_star_reads_as_on_paper_without_a_library_call() -> None:
    X = np.random.default_rng(5).normal(size=(3, 3))
    d = sbp.derive("sum(exp(X) * X)", wrt="X", shapes={"X": (3, 3)})
    ref = sbp.derive("sum(exp(X) @ X)", wrt="X", shapes={"X": (3, 3)})
    assert np.allclose(d.evaluate({"X": X})["X"], ref.evaluate({"X": X})["X"])
    u, v = np.ones((3, 1)), np.arange(3.0).reshape(3, 1)  # a column times a row: one meaning
    outer = sbp.derive("np.sum(np.exp(u) * v.T)", wrt="u", shapes={"u": (3, 1), "v": (3, 1)})
    assert np.allclose(outer.evaluate({"u": u, "v": v})["u"], np.exp(u) * np.sum(v))


@pytest.mark.parametrize(("text", "says"), [
    ("torch.sum(F.max_pool2d(X, 2))", "maxpool2d(...)"),
    ("torch.sum(F.layer_norm(X, 2))", "layernorm(...)"),
    ("torch.sum(torch.cat((X, X)))", "not among the library calls read"),
    ("np.sum(X.permute(1, 0))", "the method .permute() is not read"),
    ("torch.sum(torch.transpose(X, 0, 1) @ X)", "swaps two dims in PyTorch"),
    ("F.mse_loss(X, Y, reduction='sum')", "reduction= other than 'mean'"),
    ("torch.sum(X.transpose(0, 1) @ X)", "transpose(X, (0, 2, 1))"),
])
def test_a_call_that_is_not_read_says_what_to_write(text: str, says: str) -> None:
    with pytest.raises(sbp.ParseError) as e:
        sbp.derive(text, shapes={"X": (3, 4)})
    assert says in str(e.value)
