"""Spellings that were read as another function, silently (check() differentiates what was
read, so it could not see them); each accepted reading against JAX's gradient of what the
literature means, each other spelling refused with a message that says what to write.

* LaTeX sum bounds (``\\sum_{i=1}^{3} y_i^2`` of a 5-vector) were dropped: every entry summed;
* a layer index and a power in one superscript (``X^{(1)-1}``, ``W^{(2)2}``) were read as
  arithmetic in the exponent (``X^{1-1} = 1``, ``W^{4}`` of an undeclared scalar W);
* paper notation's √ took a whole run of letters (``√xy`` was √(x·y), ``√W1x`` √(W1·x)) and
  a power after ``√x`` (``√x²``) with no reading; ``√e^x`` read e as a variable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import symbackprop as sbp

jax = pytest.importorskip("jax", reason="the [jax] extra is not installed")
jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
import jax.numpy as jnp  # noqa: E402  (after the skip)

RNG = np.random.default_rng(7)
Y = np.arange(1.0, 6.0).reshape(5, 1)
XV = RNG.standard_normal((5, 1))


def _derive(src: str, wrt: str | None, shapes: dict[str, Any], syntax: str = "latex") -> Any:
    return sbp.derive(src, wrt, shapes=shapes, syntax=syntax)  # type: ignore[arg-type]


# A: sum bounds ----------------------------------------------------------------------------
@pytest.mark.parametrize(("src", "part"), [
    (r"\sum_{i=1}^{3} y_i^2", "y[0:3]"), (r"\sum_{i=2}^{5} y_i^2", "y[1:5]"),
    (r"\sum_{i=3}^{3} y_i", "y[2:3]"), (r"\sum_{i=0}^{2} y_i", "y[0:3]"),
    (r"\sum_{i=1}^{n-1} y_i^2", "y[a:b]"), (r"\sum_{i=2} y_i", "y[a:b]"),
    (r"\sum_{i=k}^{n} y_i", "y[a:b]"),
])
def test_sum_bounds_that_are_a_part_of_the_range_are_refused_with_the_slice(
        src: str, part: str) -> None:
    """Before: read as the sum over every entry (the reproducer's gradient 2y, not
    [2, 4, 6, 0, 0]), with no reading."""
    with pytest.raises(sbp.ParseError, match=r"only the whole range") as e:
        _derive(src, None, {"y": (5, 1)})
    assert part in str(e.value)
    assert r"\sum_i" in str(e.value)


def test_the_slice_the_refusal_shows_is_the_partial_sum() -> None:
    got = sbp.derive("sum(y[0:3]**2)", shapes={"y": (5, 1)}).evaluate({"y": Y})["y"]
    np.testing.assert_allclose(got, jax.grad(lambda v: jnp.sum(v[0:3] ** 2))(Y), rtol=1e-12)


@pytest.mark.parametrize("src", [r"\sum_{i=1}^{10} y_i^2", r"\sum_{i=1}^{6} y_i",
                                 r"\sum_{i=0}^{5} y_i"])
def test_sum_bounds_past_the_end_are_refused(src: str) -> None:
    with pytest.raises(sbp.ParseError, match=r"past the end of y"):
        _derive(src, None, {"y": (5, 1)})


@pytest.mark.parametrize(("src", "reading"), [
    (r"\sum_{i=1}^{5} y_i^2", False), (r"\sum_{i=0}^{4} y_i^2", False),
    (r"\sum_{i=1}^{n} y_i^2", True), (r"\sum_{i=0}^{n-1} y_i^2", True),
    (r"\sum_{i=1}^{N} y_i^2", True), (r"\sum_i^{5} y_i^2", False),
    (r"\sum_{i=1} y_i^2", False), (r"\sum_{i=0} y_i^2", False),
])
def test_sum_bounds_over_the_whole_range_are_the_whole_sum(src: str, reading: bool) -> None:
    d = _derive(src, "y", {"y": (5, 1)})
    np.testing.assert_allclose(d.evaluate({"y": Y})["y"], jax.grad(lambda v: jnp.sum(v**2))(Y),
                               rtol=1e-12)
    assert any("over all 5 entries of y" in r for r in d.readings) == reading, d.readings


def test_sum_bounds_of_a_sum_of_two_vectors() -> None:
    """\\sum_{i=1}^{4} x_i y_i of 5-vectors was the full inner product, silently."""
    shapes = {"x": (5, 1), "y": (5, 1)}
    with pytest.raises(sbp.ParseError, match=r"x\[0:4\]"):
        _derive(r"\sum_{i=1}^{4} x_i y_i", "x", shapes)
    d = _derive(r"\sum_{i=1}^{5} x_i y_i", "x", shapes)
    oracle = jax.grad(lambda v: jnp.sum(v * Y))(XV)
    np.testing.assert_allclose(d.evaluate({"x": XV, "y": Y})["x"], oracle, rtol=1e-12)


def test_sum_bounds_with_a_symbolic_length_name_it() -> None:
    """x declared ("N", 1): the bound N (or N-1 from 0) is its length; another name is not."""
    for src in (r"\sum_{i=1}^{N} x_i^2", r"\sum_{i=0}^{N-1} x_i^2"):
        d = _derive(src, "x", {"x": ("N", 1)})
        np.testing.assert_allclose(d.evaluate({"x": XV})["x"], 2 * XV, rtol=1e-12)
        assert not d.readings
    for src in (r"\sum_{i=1}^{M} x_i^2", r"\sum_{i=1}^{5} x_i^2"):
        with pytest.raises(sbp.ParseError, match="over the N entries of x"):
            _derive(src, "x", {"x": ("N", 1)})


def test_a_sum_bound_that_is_a_variable_is_refused() -> None:
    with pytest.raises(sbp.ParseError, match="n is a declared variable, whose value is not "
                                             "known"):  # (the cause named: L7, F5)
        _derive(r"\sum_{i=1}^{n} y_i^2", "y", {"y": (5, 1), "n": ()})


def test_sum_bounds_of_the_rows_of_a_data_matrix() -> None:
    """x (5, 3) and w (3, 1): x_i the rows, so the length is 5, not 3."""
    shapes = {"w": (3, 1), "x": (5, 3)}
    data, w = RNG.standard_normal((5, 3)), RNG.standard_normal((3, 1))
    d = _derive(r"\sum_{i=1}^{5} (\mathbf{w}^\top\mathbf{x}_i)^2", "w", shapes)
    oracle = jax.grad(lambda v: jnp.sum((data @ v) ** 2))(w)
    np.testing.assert_allclose(d.evaluate({"w": w, "x": data})["w"], oracle, rtol=1e-9)
    with pytest.raises(sbp.ParseError, match="over the 5 entries of x"):
        _derive(r"\sum_{i=1}^{3} (\mathbf{w}^\top\mathbf{x}_i)^2", "w", shapes)


@pytest.mark.parametrize(("src", "message"), [
    # bounds without an index: nothing to check them against, refused
    (r"\sum^{5} y", "bounds without an index"),
    # an index no name of the summand has: refused as \sum_i c is, bounds or not
    (r"\sum_{i=1}^{5} y", "no name of the summand has the index i"),
    # bounds on a stage's entries (no declared length to check them against)
    (r"h = 2 y \\ L = \sum_{i=1}^{5} h_i^2", "no i-indexed name of the summand is declared"),
])
def test_sum_bounds_that_cannot_be_checked_are_refused(src: str, message: str) -> None:
    with pytest.raises(sbp.ParseError, match=message):
        _derive(src, None, {"y": (5, 1)})


def test_a_stage_summed_without_bounds_is_still_read() -> None:
    d = _derive(r"h = 2 y \\ L = \sum_i h_i^2", "y", {"y": (5, 1)})
    np.testing.assert_allclose(d.evaluate({"y": Y})["y"], 8 * Y, rtol=1e-12)


# B: a layer index and a power in one superscript ------------------------------------------
SQ = {"X1": (3, 3), "b": (3, 1), "W2": (3, 3)}
XM = RNG.standard_normal((3, 3)) + 3 * np.eye(3)
B = RNG.standard_normal((3, 1))


@pytest.mark.parametrize("src", [
    r"\mathbf{b}^\top \mathbf{X}^{(1)-1} \mathbf{b}", r"\mathbf{b}^\top \mathbf{X}^{[1]-1} \mathbf{b}",
    r"\mathbf{b}^\top \mathbf{X}^{(1)^{-1}} \mathbf{b}", r"\mathbf{b}^\top X^{( 1 ) -1}\mathbf{b}",
    r"\mathbf{b}^\top {\mathbf{X}^{(1)}}^{-1} \mathbf{b}",
])
def test_a_layer_index_then_an_inverse(src: str) -> None:
    """Before: X^{(1)-1} was X^{1-1} = 1 (the gradient 2b), X^{(1)^{-1}} the scalar X."""
    d = _derive(src, "b", SQ)
    oracle = jax.grad(lambda v: (v.T @ jnp.linalg.inv(XM) @ v)[0, 0])(B)
    np.testing.assert_allclose(d.evaluate({"X1": XM, "b": B})["b"], oracle, rtol=1e-9)
    assert "}}^" in src or any("the index, then the power" in r for r in d.readings)


def test_a_layer_index_then_an_inverse_transposed() -> None:
    d = _derive(r"\mathbf{b}^\top \mathbf{X}^{(1)-1\top} \mathbf{c}", "X1",
                {**SQ, "c": (3, 1)})
    c = RNG.standard_normal((3, 1))
    oracle = jax.grad(lambda m: (B.T @ jnp.linalg.inv(m).T @ c)[0, 0])(XM)
    np.testing.assert_allclose(d.evaluate({"X1": XM, "b": B, "c": c})["X1"], oracle, rtol=1e-9)


@pytest.mark.parametrize("src", [r"\mathbf{b}^\top\sigma(\mathbf{W}^{(2)2}\mathbf{b})",
                                 r"\mathbf{b}^\top\sigma(\mathbf{W}^{[2]2}\mathbf{b})"])
def test_a_layer_index_then_a_square(src: str) -> None:
    """Before: sigmoid(W**4*b), W an undeclared scalar."""
    d = _derive(src, "W2", SQ)
    w = RNG.standard_normal((3, 3)) / 3
    oracle = jax.grad(lambda m: (B.T @ jax.nn.sigmoid(m @ m @ B))[0, 0])(w)
    np.testing.assert_allclose(d.evaluate({"W2": w, "b": B})["W2"], oracle, rtol=1e-9)


def test_what_follows_a_layer_index_and_power_is_still_read() -> None:
    """The superscript rewritten keeps the statement's length: + x after it is read."""
    d = _derive(r"x^{(1)-1} + x", None, {"x1": (), "x": ()})
    got = d.evaluate({"x1": 2.0, "x": 3.0})
    assert abs(float(got["x1"]) + 0.25) < 1e-12
    assert abs(float(got["x"]) - 1) < 1e-12


# C, D: √ in paper notation ----------------------------------------------------------------
S = {"x": (), "y": ()}
V = {"x": 1.3, "y": 0.7}


def _scalar_grads(src: str, f: Any) -> tuple[Any, ...]:
    d = sbp.derive(src, shapes=S)
    got = d.evaluate(V)
    want = jax.grad(f, argnums=(0, 1))(V["x"], V["y"])
    for k, w in zip(("x", "y"), want, strict=True):
        if k not in got:
            assert float(w) == 0
            continue
        np.testing.assert_allclose(float(got[k]), float(w), rtol=1e-12)
    return tuple(d.readings)


@pytest.mark.parametrize("src", ["√xy", "√x y", "√x·y", "√xy + 0"])
def test_a_root_without_brackets_takes_the_next_name_only(src: str) -> None:
    """Before: √xy was √(x·y), with only the reading "'xy' read as x·y"."""
    readings = _scalar_grads(src, lambda x, y: jnp.sqrt(x) * y)
    if "·" not in src:
        assert any("√ without brackets takes the next name" in r for r in readings), readings


def test_a_root_of_a_product_of_declared_names() -> None:
    d = sbp.derive("sum(√W1x)", shapes={"W1": (3, 3), "x": (3, 1)})
    assert any("'√W1x' read as √(W1)·x" in r for r in d.readings), d.readings
    w = np.abs(RNG.standard_normal((3, 3)))
    x = RNG.standard_normal((3, 1))
    oracle = jax.grad(lambda m: jnp.sum(jnp.sqrt(m) @ x))(w)
    np.testing.assert_allclose(d.evaluate({"W1": w, "x": x})["W1"], oracle, rtol=1e-9)


def test_the_bracketed_root_of_a_product() -> None:
    _scalar_grads("√(xy)", lambda x, y: jnp.sqrt(x * y))


@pytest.mark.parametrize(("src", "power"), [("√x²", 2), ("√x^2", 2), ("√x^{2}", 2),
                                            ("√x⁻¹", -1), ("√x**3", 3)])
def test_a_power_after_a_root_without_brackets_is_of_the_root_with_a_reading(
        src: str, power: int) -> None:
    readings = _scalar_grads(src, lambda x, y: jnp.sqrt(x) ** power + 0 * y)
    assert any("the power is of the root" in r for r in readings), readings


def test_a_bracketed_or_single_symbol_root_has_no_root_reading() -> None:
    for src in ("√(x)²", "√(x²)", "√x"):
        d = sbp.derive(src, shapes=S)
        assert not any("√" in r for r in d.readings), (src, d.readings)


def test_a_root_of_e_to_a_power_is_the_exponential() -> None:
    """Before: √e^x read e as a variable ("no value for e")."""
    readings = _scalar_grads("√e^x + y", lambda x, y: jnp.exp(x / 2) + y)
    assert "'e^' read as the exponential" in readings


def test_a_layer_index_written_as_a_power_in_paper_notation_is_refused() -> None:
    """W^(1) x with W1 declared read the power 1 of a new scalar input W (round J2): refused,
    naming W1; a power of a declared name stays a power."""
    shapes = {"W1": (3, 3), "x": (3, 1)}
    with pytest.raises(sbp.ParseError, match=r"W\^\(1\) is the power 1 of W.*write W1 "
                                             r"\(or W⁽¹⁾\)"):
        sbp.derive("sum(W^(1) x)", shapes=shapes)
    d = sbp.derive("sum(x^(2))", shapes=shapes)
    assert [str(s) for s in d.inputs] == ["x"]
