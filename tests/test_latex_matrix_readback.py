"""LaTeX of matrices read back (held-out cases): the element-wise exponential of a matrix is
exp(A), never e^{A} (the matrix exponential); the ones vector 𝟏 and the identity I read back
with the size that what they multiply or are added to fixes, never as the number 1 or a new
input named I; a size nothing fixes is an error, not a guess."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.emit.printer import expr_latex
from symbackprop.emit.symbols import symbol_table

V, M = (3, 1), (3, 3)
SIZES = {"n": 3, "m": 4}  # the symbolic dimensions' values


def _values(d: sbp.Derivation, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for s in d.inputs:
        shape = getattr(s, "shape", None)
        size = () if shape is None else tuple(SIZES[str(k)] if k.is_Symbol else int(k)
                                               for k in shape)
        out[str(s.name)] = rng.uniform(0.5, 1.5, size)
    return out


def _names(d: sbp.Derivation) -> set[str]:
    return {str(s.name) for s in d.inputs}


def _read_back(text: str, shapes: dict[str, Any]) -> tuple[sbp.Derivation, sbp.Derivation]:
    """The derivation of ``text`` and the one of its forward stages read back as LaTeX."""
    d = sbp.derive(text, shapes=shapes)
    back = sbp.derive(d.latex(sections="forward"), syntax="latex", shapes=shapes,
                      wrt=[str(s.name) for s in d.wrt])
    return d, back


FAMILY: list[tuple[str, dict[str, Any]]] = [
    # the element-wise exponential of a matrix, of intermediates too
    ("sum(exp(A))", {"A": M}),
    ("sum(exp(-X.T@A@X))", {"X": (3, 2), "A": M}),
    ("sum(exp(A) @ u)", {"A": M, "u": V}),
    ("sum(exp(X))", {"X": ("n", "m")}),
    ("sum(exp(u)) + sum(exp(r))", {"u": V, "r": (1, 3)}),
    ("sum(sqrt(A)) + sum(log(A))", {"A": M}),
    # the ones vector, of outer products and stages
    ("sum(ones(3,1)@u.T)", {"u": V}),
    ("sum(ones(n,1)@u.T)", {"u": ("n", 1)}),
    ("sum(u@ones(1,3)@A)", {"u": V, "A": M}),
    ("sum(u@ones(1,m)@X)", {"u": ("n", 1), "X": ("m", "n")}),
    ("sum(2*ones(3,1)) * s", {"s": ()}),
    ("sum(outer(u, v) @ A)", {"u": V, "v": V, "A": M}),
    ("sum(exp(outer(u, v)))", {"u": V, "v": V}),
    ("sum(A @ ones(3,3) @ A)", {"A": M}),
    ("sum(X - mean(X, axis=0))", {"X": (3, 4)}),
    ("logsumexp(A@u) - sum(log_softmax(v))", {"A": M, "u": V, "v": V}),
    # the identity, and diag (written with 𝟏 and I)
    ("sum(diag(u)@v)", {"u": V, "v": V}),
    ("sum(diag(u)@v)", {"u": ("n", 1), "v": ("n", 1)}),
    ("sum(hadamard(eye(3), A))", {"A": M}),
    ("sum(eye(3)*2 + A)", {"A": M}),
    ("sum(diag(A))", {"A": M}),
    ("sum(diagonal(A)*1)", {"A": M}),
    ("sum(inv(A + eye(3)))", {"A": M}),
    ("u.T @ (eye(3) - A) @ u", {"u": V, "A": M}),
    ("sum(exp(A + eye(3)) @ diag(u))", {"A": M, "u": V}),
]


@pytest.mark.parametrize(("text", "shapes"), FAMILY)
def test_the_forward_stages_read_back_to_the_same_gradients(text: str,
                                                            shapes: dict[str, Any]) -> None:
    d, back = _read_back(text, shapes)
    assert _names(back) == _names(d)  # no input named I, none lost to a number
    values = _values(d)
    got, want = back.evaluate(values), d.evaluate(values)
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-9, atol=1e-12, err_msg=k)
    assert back.check(values).ok


def test_the_held_out_ones_cases_have_the_right_numbers() -> None:
    """𝟏uᵀ read back as uᵀ gave ∂L/∂u = [1, 1, 1]; it is [3, 3, 3]."""
    _, back = _read_back("sum(ones(3,1)@u.T)", {"u": V})
    np.testing.assert_allclose(back.evaluate({"u": np.zeros((3, 1))})["u"], np.full((3, 1), 3))


def test_the_identity_is_no_input_unless_declared() -> None:
    """\\mathbf{I} read as a new input I (with a gradient of its own); a declared I is the
    variable."""
    tex = sbp.derive("sum(hadamard(eye(3), A))", shapes={"A": M}).latex(sections="forward")
    assert r"\mathbf{I}" in tex
    back = sbp.derive(tex, syntax="latex", shapes={"A": M})
    assert _names(back) == {"A"}
    np.testing.assert_allclose(back.evaluate({"A": np.ones(M)})["A"], np.eye(3))
    declared = sbp.derive(tex, syntax="latex", shapes={"A": M, "I": M})
    assert _names(declared) == {"A", "I"}
    np.testing.assert_allclose(declared.evaluate({"A": np.ones(M), "I": np.ones(M)})["A"],
                               np.ones(M))


def test_the_exponential_of_a_matrix_is_printed_exp() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("sum(exp(A))", {"A": M}), ("sum(exp(-X.T@A@X))", {"X": (3, 2), "A": M}),
        ("sum(exp(X))", {"X": ("n", "m")})]
    for text, shapes in cases:
        d = sbp.derive(text, shapes=shapes)
        tex = d.latex(sections=("forward", "backward", "result"))
        assert "e^{" not in tex, text
        assert r"\exp\left(" in tex, text
        assert_latex_ok([d.latex(), tex])
    # of a scalar, a vector, a row and a 1×1: e^{x}, which has no other meaning
    for shape in ((), V, (1, 3), ("n", 1), (1, 1)):
        tex = sbp.derive("sum(exp(x))", shapes={"x": shape}).latex(sections="forward")
        assert r"e^{" in tex, shape
        assert r"\exp" not in tex, shape


def test_exp_of_a_matrix_reads_as_the_element_wise_exponential() -> None:
    shapes = {"A": M}
    ref = sbp.derive("sum(exp(A))", shapes=shapes)
    a = np.arange(9.0).reshape(3, 3) / 10
    for tex in (r"\operatorname{sum}\left(\exp\left(\mathbf{A}\right)\right)",
                r"\mathbf{1}^\top \exp(\mathbf{A}) \mathbf{1}"):
        got = sbp.derive(tex, syntax="latex", shapes=shapes).evaluate({"A": a})["A"]
        np.testing.assert_allclose(got, ref.evaluate({"A": a})["A"], rtol=1e-12)
        np.testing.assert_allclose(got, np.exp(a), rtol=1e-12)
    with pytest.raises(sbp.UnsupportedError, match="matrix exponential"):
        sbp.derive(r"\operatorname{sum}(e^{\mathbf{A}})", syntax="latex", shapes=shapes)


def test_a_product_of_ones_vectors_is_printed_as_the_number_it_is() -> None:
    """∂L/∂v of logsumexp(Au) − sum(log_softmax(v)) printed 𝟏𝟏ᵀ𝟏 ⊙ …, whose 𝟏ᵀ𝟏 has a
    length nothing fixes (read back as the number 1, silently): it is 3𝟏."""
    shapes = {"A": M, "u": V, "v": V}
    d = sbp.derive("logsumexp(A@u) - sum(log_softmax(v))", shapes=shapes)
    v = next(s for s in d.wrt if str(s.name) == "v")
    tex = expr_latex(d.gradients[v], symbol_table(d))
    assert r"\mathbf{1}\mathbf{1}^{\top}\mathbf{1}" not in tex
    assert tex.startswith(r"3\,\mathbf{1} \odot ")
    a = np.array([[1.0], [-2.0], [0.5]])
    values = {"A": np.eye(3), "u": np.ones(V), "v": np.array([[0.1], [0.5], [-0.3]])}
    as_function = sbp.derive(r"\mathbf{a}^\top\left(" + tex + r"\right)", syntax="latex",
                             shapes={**shapes, "a": V})
    np.testing.assert_allclose(as_function.evaluate({"v": values["v"], "a": a})["a"],
                               d.evaluate(values)["v"], rtol=1e-12)


@pytest.mark.parametrize(("tex", "shapes", "text"), [
    # sized by the product (the sums along an axis) and by what it is added to
    (r"\mathbf{1}^\top\mathbf{X}\mathbf{1}", {"X": (3, 4)}, "sum(X)"),
    (r"\operatorname{sum}(\mathbf{v} - \mathbf{1}\mathbf{u}^\top\mathbf{v})",
     {"u": V, "v": V}, "sum(v - u.T@v)"),
    (r"\operatorname{sum}(\mathbf{X} + \mathbf{b}\mathbf{1}^{\top} + 2\,\mathbf{1})",
     {"X": (3, 4), "b": V}, "sum(X + b + 2)"),
    (r"\mathbf{1}^\top\left(\mathbf{h} \odot (\mathbf{1} - \mathbf{h})\right)", {"h": V},
     "sum(h - h**2)"),
    # an outer product of ones spread against S (a mask): the number 1
    (r"\operatorname{sum}(\mathbf{S} \odot \mathbf{1}\mathbf{1}^\top)", {"S": (3, 4)},
     "sum(S)"),
    # the identity of the size that fits, across stages
    (r"t = \mathbf{u}\mathbf{1}^\top \\ L = \mathbf{1}^\top (t \odot \mathbf{I}) \mathbf{v}",
     {"u": V, "v": V}, "sum(hadamard(u, v))"),
    (r"\mathbf{u}^\top \mathbf{I} \mathbf{v} + \operatorname{sum}((\mathbf{I} - \mathbf{A})^{-1})",
     {"u": V, "v": V, "A": M}, "u.T@v + sum(inv(eye(3) - A))"),
    # sizes written: 𝟏ₙ, 𝟏_{m×n}, Iₙ (n a number or a dimension named in shapes)
    (r"\operatorname{sum}(\mathbf{1}_{3}\mathbf{u}^\top) + \operatorname{sum}(\mathbf{I}_3 "
     r"\odot \mathbf{A})", {"u": V, "A": M}, "3*sum(u) + trace(A)"),
    (r"\operatorname{sum}(\mathbf{1}_{n}\mathbf{x}^\top) + \operatorname{sum}(I_{n}\mathbf{x})",
     {"x": ("n", 1)}, "sum(ones(n, 1)@x.T) + sum(x)"),
    (r"\operatorname{sum}(\mathbf{1}_{2 \times 3} \mathbf{A})", {"A": M}, "2*sum(A)"),
])
def test_the_ones_vector_and_the_identity_are_sized(tex: str, shapes: dict[str, Any],
                                                    text: str) -> None:
    got = sbp.derive(tex, syntax="latex", shapes=shapes)
    want = sbp.derive(text, shapes=shapes)
    assert _names(got) == _names(want)
    values = _values(want, seed=1)
    g, w = got.evaluate(values), want.evaluate(values)
    for k in w:
        np.testing.assert_allclose(g[k], w[k], rtol=1e-9, atol=1e-12, err_msg=k)
    assert got.check(values).ok


@pytest.mark.parametrize(("tex", "shapes", "where"), [
    # the length of 𝟏 in an outer product that is only summed: nothing fixes it
    (r"t = \mathbf{1}\mathbf{u}^\top \\ L = \operatorname{sum}(t)", {"u": V}, 0),
    (r"\operatorname{sum}(2\,\mathbf{1})", {}, 0),
    # 𝟏ᵀ𝟏: the length of the inner 𝟏 (never the number 1)
    (r"\operatorname{sum}(\mathbf{1}\mathbf{1}^\top\mathbf{1} \odot \mathbf{v})", {"v": V}, 1),
    (r"\operatorname{sum}(\mathbf{I})", {}, 0),
    (r"\mathbf{x}^\top \mathbf{I}", {"x": ()}, 0),
])
def test_a_size_nothing_fixes_is_an_error(tex: str, shapes: dict[str, Any], where: int) -> None:
    """The error is at the 𝟏 or I (``where``: which of them, counted from 0)."""
    with pytest.raises(sbp.ParseError, match="not fixed by what it multiplies or is added "
                                             "to") as e:
        sbp.derive(tex, syntax="latex", shapes=shapes)
    at = [i for i in range(len(tex)) if tex.startswith((r"\mathbf{1}", r"\mathbf{I}"), i)]
    assert e.value.column == at[where] + 1


def test_a_written_size_is_a_number_or_a_declared_dimension() -> None:
    with pytest.raises(sbp.ParseError, match="a dimension named in shapes"):
        sbp.derive(r"\operatorname{sum}(\mathbf{1}_{k}\mathbf{x}^\top)", syntax="latex",
                   shapes={"x": ("n", 1)})
    # I_k whose subscript is no size stays a name, as before
    d = sbp.derive(r"I_k x", syntax="latex")
    assert _names(d) == {"I_k", "x"}


def test_the_printed_sizes_render() -> None:
    """𝟏ₙ at the edge of an outer product, exp(A), 3𝟏: KaTeX and pdflatex take them."""
    out = []
    for text, shapes in FAMILY:
        d = sbp.derive(text, shapes=shapes)
        out += [d.latex(), d.latex(sections="forward")]
    tex = "\n".join(out)
    assert r"\mathbf{1}_{3}\mathbf{u}^{\top}" in tex
    assert r"\mathbf{u}\mathbf{1}_{3}^{\top}" in tex
    assert r"\mathbf{1}_{n}" in tex
    assert_latex_ok(out)
