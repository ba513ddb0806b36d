"""Printed LaTeX keeps its grouping when it is read back: brackets around ⊘ and ⊙ in products,
signs inside products, the length of a ones row, a power of a variable named T.

Held-out findings: ``u.T@(1/v)`` printed ``uᵀ𝟏 ⊘ v``, read back as (uᵀ𝟏) ⊘ v (a Jacobian);
``sum(sin(u/(1/v)))`` printed ``sin(u ⊘ 𝟏 ⊘ v)``, which is u/v, not u·v. The reader (the
same shapes) took the ones row of a printed gradient ``𝟏 ⊘ (x𝟏ᵀ)``, ``𝟏 − (Bᵀ+Cᵀ)𝟏𝟏ᵀ`` as
length 1. ``x**T`` of a scalar T printed ``x^{T}``, read back as a transpose (silently x).
The identity's "size not fixed" error said a variable I was declared when none was. The docs
said ``np.pi`` is the name ``pi`` when it is declared.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.errors import ParseError, SymbackpropError

ROOT = Path(__file__).resolve().parent.parent
V = (3, 1)


def _round_trip(src: str, shapes: dict[str, Any], values: dict[str, Any],
                granularity: str = "auto") -> tuple[str, sbp.Derivation, sbp.Derivation]:
    """``src`` derived, its forward section printed and read back; the gradients compared."""
    d = sbp.derive(src, shapes=shapes, granularity=granularity)  # type: ignore[arg-type]
    tex = d.latex(sections="forward")
    back = sbp.derive(tex, syntax="latex", shapes=shapes)
    assert not back.is_jacobian, tex
    want = d.evaluate(values)
    got = back.evaluate({str(x): values[str(x)] for x in back.inputs})
    for name, g in want.items():
        h = got.get(name, np.zeros_like(np.asarray(g)))
        assert np.shape(h) == np.shape(g), (src, tex, name)
        assert np.allclose(h, g, rtol=1e-7, atol=1e-10), (src, tex, name, g, h)
    return tex, d, back


# 1. ⊘ and ⊙ in products ---------------------------------------------------------------------

VALUES = {"u": np.array([[1.0], [2.0], [3.0]]), "v": np.array([[0.5], [-1.0], [2.0]]),
          "A": np.array([[1.0, -0.5, 0.7], [0.3, 1.2, -0.9], [-0.6, 0.8, 1.1]]),
          "B": np.array([[0.9, 0.2, -0.4], [-0.7, 1.3, 0.5], [0.6, -1.1, 0.8]]),
          "a": 0.7, "b": -1.3}
SHAPES = {"u": V, "v": V, "A": (3, 3), "B": (3, 3), "a": (), "b": ()}


@pytest.mark.parametrize(("src", "bracketed"), [
    ("u.T@(1/v)", r"\left(\mathbf{1} \oslash \mathbf{v}\right)"),
    ("sum(sin(u/(1/v)))", r"\mathbf{u} \oslash \left(\mathbf{1} \oslash \mathbf{v}\right)"),
    ("sum(A@(u/(v - u)))", r"\left(\mathbf{u} \oslash \left(\mathbf{v} - \mathbf{u}\right)\right)"),
    ("u.T@(A@(1/v))", r"\left(\mathbf{1} \oslash \mathbf{v}\right)"),
])
@pytest.mark.parametrize("granularity", ["auto", "stages"])
def test_a_reciprocal_in_a_product_or_a_divisor_is_bracketed(src: str, bracketed: str,
                                                             granularity: str) -> None:
    tex, _, _ = _round_trip(src, SHAPES, VALUES, granularity)
    if granularity == "stages":
        assert bracketed in tex, tex


@pytest.mark.parametrize("src", [
    "u.T @ (((A + B) @ (-B)) @ v)",  # t·(−B) printed t − B
    "sum((b * (-v)) / u)",  # b·(−v) printed b\,−v
    "sum((2 * (2 * B))**2 @ (-tanh(B)))",
    "(u).T @ ((-(v / v)).T @ (1 / u) * ((-(a + b)) * (-u)))",  # −tᵀv after a factor
    "sum(sin(v.T @ u) * (-(v.T @ v)) * (A.T + A))",
    "sum(A - hadamard(-u, A@v))",  # A − (−u) ⊙ Av
])
@pytest.mark.parametrize("granularity", ["auto", "stages"])
def test_a_sign_inside_a_product_is_not_read_as_a_subtraction(src: str,
                                                              granularity: str) -> None:
    tex, _, _ = _round_trip(src, SHAPES, VALUES, granularity)
    assert not re.search(r"(\}|\\,)\s*-\\mathbf", tex.replace(r"\\", "")), tex


def _program(rng: random.Random, kind: str, depth: int) -> str:
    """A random expression of ``kind`` (M a 3×3 matrix, V a 3-vector, S a scalar) over
    +, −, @, ⊙, ⊘, 1/x, transposes, scalars and element-wise functions."""
    leaves = {"M": ["A", "B"], "V": ["u", "v"], "S": ["a", "b", "2"]}[kind]
    if depth <= 0 or rng.random() < 0.2:
        return rng.choice(leaves)

    def g(k: str = kind) -> str:
        return _program(rng, k, depth - 1)

    ops: list[Callable[[], str]]
    if kind == "S":
        ops = [
            lambda: f"({g('V')}).T @ ({g('V')})", lambda: f"sum({g('M')})",
            lambda: f"({g()} + {g()})", lambda: f"({g()} * {g()})", lambda: f"(-{g()})",
            lambda: f"sin({g()})", lambda: f"({g()} / (2 + sin({g()})))"]
        return rng.choice(ops)()
    ops = [
        lambda: f"({g()} + {g()})", lambda: f"({g()} - {g()})",
        lambda: f"hadamard({g()}, {g()})", lambda: f"({g()} / (2 + sin({g()})))",
        lambda: f"(1 / (2 + cos({g()})))", lambda: f"(-{g()})",
        lambda: f"({_program(rng, 'S', depth - 1)} * {g()})", lambda: f"tanh({g()})",
        lambda: f"({g()})**2", lambda: f"({g('M')} @ {g()})",
        lambda: f"({g()}).T" if kind == "M" else f"(({g('V')}).T @ {g('M')}).T",
        lambda: f"(1 / {rng.choice(leaves)})", lambda: f"({g()} / {rng.choice(leaves)})",
        lambda: f"(1 / {rng.choice(leaves)})", lambda: f"({g()} / {rng.choice(leaves)})"]
    return rng.choice(ops)()


@pytest.mark.parametrize("seed", [2, 3])
def test_random_matrix_programs_read_back_with_their_gradients(seed: int) -> None:
    """Random trees over vectors and matrices: printed, read back with the same shapes, the
    same gradients, or a typed refusal (rare); never another value silently."""
    rng = random.Random(seed)
    npr = np.random.default_rng(seed)
    values = {k: (npr.uniform(0.5, 1.5, size=s) * npr.choice([-1, 1], size=s) if s
                  else float(npr.uniform(0.5, 1.5))) for k, s in SHAPES.items()}
    read, refused, printed = 0, [], []
    for _ in range(120):
        kind = rng.choice("MVS")
        src = {"M": lambda: f"sum({_program(rng, 'M', 4)})",
               "V": lambda: f"u.T @ ({_program(rng, 'V', 4)})",
               "S": lambda: _program(rng, "S", 4)}[kind]()
        granularity = rng.choice(["auto", "stages"])
        try:
            d = sbp.derive(src, shapes=SHAPES, granularity=granularity)  # type: ignore[arg-type]
        except SymbackpropError:
            continue
        tex = d.latex(sections="forward")
        printed.append(tex)
        try:
            back = sbp.derive(tex, syntax="latex", shapes=SHAPES)
            got = back.evaluate({str(x): values[str(x)] for x in back.inputs})
        except SymbackpropError as e:
            refused.append((src, repr(e)))
            continue
        for name, g in d.evaluate(values).items():
            h = got.get(name, np.zeros_like(np.asarray(g)))
            assert np.shape(h) == np.shape(g), (src, tex, name)
            assert np.allclose(h, g, rtol=1e-6, atol=1e-9), (src, tex, name)
        read += 1
    assert read >= 100, refused
    assert len(refused) <= 3, refused
    assert_latex_ok(printed[:40])


# 2. the length of a ones row -----------------------------------------------------------------

def test_a_ones_row_beside_a_column_of_ones_is_not_guessed_as_length_1() -> None:
    d = sbp.derive("sum(A / x)", shapes={"A": (3, 4), "x": V})
    line = next(s for s in d.latex(sections="result").splitlines()
                if r"\partial \mathbf{A}}" in s)
    printed = line.split("&=")[1].strip().rstrip("\\").strip()
    # the ones of 1 ⊘ X have X's shape, 𝟏𝟏ᵀ (a column 𝟏 once, held-out round W)
    assert printed == (r"\mathbf{1}\mathbf{1}^{\top} \oslash "
                       r"\left(\mathbf{x}\mathbf{1}^{\top}\right)")
    with pytest.raises(ParseError, match=r"length of \\mathbf\{1\} here is not fixed"):
        sbp.derive(printed, syntax="latex", shapes={"A": (3, 4), "x": V})
    # written with its length, or fixed by what it is multiplied with entry by entry: read
    sized = sbp.derive(r"\mathbf{1} \oslash \left(\mathbf{x}\mathbf{1}_{4}^{\top}\right)",
                       syntax="latex", shapes={"x": V})
    x = np.array([[2.0], [4.0], [5.0]])
    assert np.shape(sized.trace({"x": x}).rows[-1].value) == (3, 4)
    fixed = sbp.derive(r"\operatorname{sum}\left(\mathbf{A} \odot \left(\mathbf{1} \oslash "
                       r"\left(\mathbf{x}\mathbf{1}^{\top}\right)\right)\right)",
                       syntax="latex", shapes={"A": (3, 4), "x": V})
    a = np.arange(12.0).reshape(3, 4)
    assert np.allclose(fixed.evaluate({"A": a, "x": x})["x"], -(a / x**2).sum(axis=1,
                                                                              keepdims=True))


def test_a_ones_matrix_beside_a_sum_is_refused_not_read_as_a_column() -> None:
    sh = {"A": (3, 3), "B": (3, 3), "C": (3, 3)}
    d = sbp.derive("sum(A - (B + C) @ A)", shapes=sh)
    line = next(s for s in d.latex(sections="result").splitlines()
                if r"\partial \mathbf{A}}" in s)
    printed = line.split("&=")[1].strip().rstrip("\\").strip()
    assert r"\mathbf{1}\mathbf{1}^{\top}" in printed
    with pytest.raises(ParseError, match=r"not fixed"):
        sbp.derive(printed, syntax="latex", shapes=sh)


def test_a_ones_row_is_still_sized_by_what_it_is_added_to() -> None:
    sh = {"W": (2, 3), "X": (3, 5), "b": (2, 1)}
    d = sbp.derive(r"\operatorname{sum}\left(\mathbf{W}\mathbf{X} + \mathbf{b}"
                   r"\mathbf{1}^{\top}\right)", syntax="latex", shapes=sh)
    g = d.evaluate({"W": np.ones((2, 3)), "X": np.ones((3, 5)), "b": np.ones((2, 1))})
    assert np.allclose(g["b"], 5.0)


# 3. a power of a variable named T -------------------------------------------------------------

@pytest.mark.parametrize("src", ["x**T + T", "(x + 1)**T", "sin(x)**T", "x**(-T)",
                                 "2**T + x", "x**T * y**(-T)"])
@pytest.mark.parametrize("declared", [True, False])
@pytest.mark.parametrize("granularity", ["auto", "stages"])
def test_a_power_of_a_variable_t_reads_back_as_the_power(src: str, declared: bool,
                                                         granularity: str) -> None:
    sh: dict[str, Any] = {"x": (), "y": (), "T": ()} if declared else {}
    tex, _, _ = _round_trip(src, sh, {"x": 0.7, "y": 1.1, "T": 1.3}, granularity)
    assert r"^{\,T}" in tex or r"^{- \,T}" in tex, tex
    assert_latex_ok([tex])


@pytest.mark.parametrize("text", [r"x^{T}", r"x^T", r"x^{\,T}"])
def test_a_scalar_to_the_t_with_t_declared_is_the_power(text: str) -> None:
    d = sbp.derive(text, syntax="latex", shapes={"x": (), "T": ()})
    assert str(d.forward[-1].rhs) == "x**T"
    assert np.isclose(d.evaluate({"x": 2.0, "T": 3.0})["T"], 8 * np.log(2))
    neg = sbp.derive(r"x^{-T}", syntax="latex", shapes={"x": (), "T": ()})
    assert str(neg.forward[-1].rhs) == "x**(-T)"


@pytest.mark.parametrize("mark", [r"^{T}", r"^{\top}", r"^T", r"^{\mathsf{T}}"])
def test_a_matrix_to_the_t_still_transposes(mark: str) -> None:
    for sh in ({"X": (3, 3), "A": (3, 3), "T": ()}, {"X": (3, 3), "A": (3, 3)}):
        d = sbp.derive(rf"\operatorname{{sum}}\left(\mathbf{{X}}{mark}\mathbf{{A}}\right)",
                       syntax="latex", shapes=sh)
        x, a = np.arange(9.0).reshape(3, 3), np.eye(3) + 1
        got = d.evaluate({"X": x, "A": a, **({"T": 1.0} if "T" in sh else {})})
        assert np.allclose(got["X"], a.sum(axis=1)[None, :] * np.ones((3, 1))), mark


def test_an_unclear_base_to_the_t_is_refused() -> None:
    with pytest.raises(ParseError, match=r"transpose or a power"):
        sbp.derive(r"\left(x + 1\right)^{T}", syntax="latex", shapes={"x": (), "T": ()})


# 4. the identity's size ------------------------------------------------------------------------

def test_the_identity_error_does_not_say_i_is_declared() -> None:
    with pytest.raises(ParseError) as e:
        sbp.derive(r"\operatorname{sum}\left(\mathbf{I}\right)", syntax="latex",
                   shapes={"A": (3, 3)})
    assert "a variable named I is declared" not in str(e.value)
    assert "or, for a variable named I, declare it in shapes" in str(e.value)


# 5. np.pi in the docs ----------------------------------------------------------------------------

def test_the_docs_say_a_librarys_pi_is_always_the_number() -> None:
    doc = (ROOT / "docs" / "writing-expressions.md").read_text(encoding="utf-8")
    row = next(line for line in doc.splitlines() if line.startswith("| the number π |"))
    assert "`np.pi`, `math.pi`, `jnp.pi`, `torch.pi` always the number π" in row
    d = sbp.derive("np.pi*x", shapes={"pi": (), "x": ()})
    assert np.isclose(d.evaluate({"x": 1.0, "pi": 2.0})["x"], np.pi)
