"""The printed slope of max and min at a tie: SymPy's Heaviside (½ each, as the engine and
JAX share it) was printed 𝟏[a − b > 0] in LaTeX and step(a − b) in the JSON, 0 at a tie;
the slope of a max along an axis (each of k tied entries 1/k) was printed 𝟏[X = M], the
full slope to each. Where ties are structural (max(A, Aᵀ) on the diagonal, max(x, x)) the
printed gradient was wrong for every input. Each printed gradient here is evaluated on its
own (the JSON ``expr`` by a small NumPy reader of its syntax; a scalar one by the text's
own reader) and compared with ``d.evaluate`` and with finite differences."""

from __future__ import annotations

import ast
import json
import operator
from typing import Any

import numpy as np
import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.check import Engine

X = np.array([[0.3], [-1.2], [0.7]])
A = np.array([[0.5, -1.0, 2.0], [0.3, 1.5, -0.7], [1.1, 0.2, -0.4]])

_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.MatMult: operator.matmul, ast.Pow: operator.pow}
_CMP = {ast.Gt: np.greater, ast.GtE: np.greater_equal, ast.Lt: np.less,
        ast.LtE: np.less_equal}


def _along(f: Any) -> Any:
    def call(*xs: Any, axis: int | None = None) -> Any:
        if len(xs) == 2:  # max(a, b): the larger of each pair
            return np.maximum(*xs) if f is np.max else np.minimum(*xs)
        return f(xs[0]) if axis is None else f(xs[0], axis=axis, keepdims=True)
    return call


_CALLS: dict[str, Any] = {
    "ones": lambda m, n: np.ones((m, n)), "zeros": lambda m, n: np.zeros((m, n)),
    "max": _along(np.max), "min": _along(np.min), "sum": _along(np.sum),
    "concatenate": lambda xs, axis=0: np.concatenate(xs, axis=axis), "kron": np.kron,
    "abs": np.abs, "sign": np.sign,
    "kron_left": lambda g, b: np.einsum(  # entry (i, j): <block (i, j) of g, b>
        "ipjq,pq->ij", g.reshape(g.shape[0] // b.shape[0], b.shape[0],
                                 g.shape[1] // b.shape[1], b.shape[1]), b),
    "kron_right": lambda g, a: np.einsum(  # the blocks of g weighted by a's entries
        "ipjq,ij->pq", g.reshape(a.shape[0], g.shape[0] // a.shape[0],
                                 a.shape[1], g.shape[1] // a.shape[1]), a),
}


def npeval(expr: str, env: dict[str, Any]) -> Any:
    """A JSON expression string's value, read as its schema says (``*`` element-wise, a
    comparison NumPy's 0 or 1), node by node: nothing is executed."""
    def ev(n: ast.AST) -> Any:
        if isinstance(n, ast.Expression):
            return ev(n.body)
        if isinstance(n, ast.Constant):
            return n.value
        if isinstance(n, ast.Name):
            return env[n.id]
        if isinstance(n, ast.Tuple):
            return tuple(ev(e) for e in n.elts)
        if isinstance(n, ast.BinOp):
            return _BIN[type(n.op)](ev(n.left), ev(n.right))
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.USub):
            return -ev(n.operand)
        if isinstance(n, ast.Compare):
            (op,), (right,) = n.ops, n.comparators
            return _CMP[type(op)](ev(n.left), ev(right)).astype(float)
        if isinstance(n, ast.Attribute) and n.attr == "T":
            return np.transpose(ev(n.value))
        if isinstance(n, ast.Subscript):
            return ev(n.value)[ev(n.slice)]
        if isinstance(n, ast.Slice):
            return slice(*(None if p is None else ev(p) for p in (n.lower, n.upper, n.step)))
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            kw = {str(k.arg): ev(k.value) for k in n.keywords}
            return _CALLS[n.func.id](*(ev(a) for a in n.args), **kw)
        raise AssertionError(f"not in the JSON's syntax: {ast.dump(n)}")
    return np.asarray(ev(ast.parse(expr.replace("d:", "d_"), mode="eval")), dtype=float)


def _fd(text: str, shapes: dict[str, Any], values: dict[str, Any], wrt: str) -> Any:
    """Central differences of the program (its own forward values, the engine's)."""
    d = sbp.derive(text, wrt=wrt, shapes=shapes)
    value = Engine(d).value
    x = values[wrt]
    out = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = 1e-6
        out[i] = (value({**values, wrt: x + e}) - value({**values, wrt: x - e})) / 2e-6
    return out


# (program, shapes, values, wrt, the true gradient where it is known)
STRUCTURAL = [
    ("sum(max(A, A.T))", {"A": (3, 3)}, {"A": A}, "A", None),
    ("sum(min(A, A.T))", {"A": (3, 3)}, {"A": A}, "A", None),
    ("sum(max(x, x))", {"x": (3, 1)}, {"x": X}, "x", np.ones((3, 1))),
    ("sum(min(x, x))", {"x": (3, 1)}, {"x": X}, "x", np.ones((3, 1))),
    ("sum(max(hstack((x, x)), axis=1))", {"x": (3, 1)}, {"x": X}, "x", np.ones((3, 1))),
    ("sum(min(hstack((x, x)), axis=1))", {"x": (3, 1)}, {"x": X}, "x", np.ones((3, 1))),
    ("max(hstack((x, x)))", {"x": (3, 1)}, {"x": X}, "x", np.array([[0.0], [0.0], [1.0]])),
    ("min(hstack((x, x)))", {"x": (3, 1)}, {"x": X}, "x", np.array([[0.0], [1.0], [0.0]])),
    ("sum(max(repeat(x, 2, axis=1), axis=1))", {"x": (3, 1)}, {"x": X}, "x",
     np.ones((3, 1))),
]
# a margin exactly 0: hinge's and multiclass_hinge's kink, clip's (huber's slope) at ±1
S = np.array([[1.0], [0.5], [-2.0]])
KINKS = [
    ("sum(hinge(s, y))", {"s": (3, 1), "y": (3, 1)},
     {"s": S, "y": np.array([[1.0], [2.0], [-0.5]])}, "s"),
    ("multiclass_hinge(S, Y)", {"S": (3, 2), "Y": (3, 2)},
     {"S": np.array([[1.0, 0.0], [0.0, 2.0], [0.5, 0.5]]),
      "Y": np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])}, "S"),
    ("sum(clip(x, -1, 1))", {"x": (3, 1)}, {"x": np.array([[1.0], [-1.0], [0.25]])}, "x"),
]


def _printed(d: Any) -> tuple[str, str]:
    g = json.loads(d.to_json())["gradients"][0]
    return g["expr"], g["latex"]


@pytest.mark.parametrize(("text", "shapes", "values", "wrt", "true"), STRUCTURAL)
def test_a_structural_tie_prints_the_gradient(text: str, shapes: Any, values: Any, wrt: str,
                                              true: Any) -> None:
    """Printed, evaluated: the engine's numbers, and the program's finite differences (the
    program is differentiable: a tie of an entry with itself)."""
    d = sbp.derive(text, wrt=wrt, shapes=shapes)
    expr, _ = _printed(d)
    got = npeval(expr, values)
    want = d.evaluate(values)[wrt]
    np.testing.assert_allclose(got, want, atol=1e-12, err_msg=expr)
    np.testing.assert_allclose(got, _fd(text, shapes, values, wrt), atol=1e-6, err_msg=expr)
    if true is not None:
        np.testing.assert_allclose(got, true, atol=1e-12, err_msg=expr)


def test_max_of_a_matrix_and_its_transpose_has_slope_1_on_the_diagonal() -> None:
    d = sbp.derive("sum(max(A, A.T))", wrt="A", shapes={"A": (3, 3)})
    got = npeval(_printed(d)[0], {"A": A})
    np.testing.assert_allclose(np.diag(got), np.ones(3))


@pytest.mark.parametrize(("text", "shapes", "values", "wrt"), KINKS)
def test_a_loss_at_its_kink_prints_the_engines_slope(text: str, shapes: Any, values: Any,
                                                      wrt: str) -> None:
    """At a margin of exactly 0 the engine shares max's slope (½); the printed gradient and
    every printed backward equation composed say the same."""
    d = sbp.derive(text, wrt=wrt, shapes=shapes)
    expr, _ = _printed(d)
    want = d.evaluate(values)[wrt]
    np.testing.assert_allclose(npeval(expr, values), want, atol=1e-12, err_msg=expr)
    doc = json.loads(d.to_json())
    env = dict(values)
    for eq in doc["forward"]:
        env[eq["lhs"]] = npeval(eq["rhs"], env)
    env[f"d_{doc['output']['name']}"] = 1.0
    for eq in doc["backward"]:
        env[f"d_{eq['variable']}"] = npeval(eq["rhs"], env)
    np.testing.assert_allclose(np.broadcast_to(env[f"d_{wrt}"], want.shape), want, atol=1e-12)
    assert np.any(want != 0)  # the kink's slope, shared, is not 0


def test_a_scalar_slope_reads_back_in_the_text() -> None:
    """The JSON's form of max's slope is the text's: read back by the text's own reader, it
    gives ½ at the tie (the text's step(·) is 𝟏[· > 0], 0 there)."""
    d = sbp.derive("hinge(s, y)", wrt="s")
    expr, _ = _printed(d)
    again = sbp.derive(expr)
    for s, y, slope in ((1.0, 1.0, -0.5), (0.5, 1.0, -1.0), (2.0, 1.0, 0.0)):
        assert Engine(again).value({"s": s, "y": y}) == pytest.approx(slope)
        assert d.evaluate({"s": s, "y": y})["s"] == pytest.approx(slope)


def test_the_forms_printed() -> None:
    """½ at a tie, in LaTeX; ReLU′ stays the strict 𝟏[x > 0]."""
    _, tex = _printed(sbp.derive("hinge(s, y)", wrt="s"))
    assert r"\tfrac{1}{2}\,\mathbf{1}\left[{1 = s y}\right]" in tex, tex
    _, tex = _printed(sbp.derive("sum(max(hstack((x, x)), axis=1))", wrt="x",
                                 shapes={"x": (3, 1)}))
    assert r"\oslash" in tex, tex
    assert r"\mathbf{1}\mathbf{1}^{\top}" in tex, tex
    expr, tex = _printed(sbp.derive("sum(relu(x))", wrt="x", shapes={"x": (3, 1)}))
    assert r"\tfrac" not in tex, tex
    assert "/2" not in expr, expr


def test_the_changed_latex_renders() -> None:
    """Every LaTeX string of these derivations (gradients, backward equations, the whole
    derivation) typesets in KaTeX and compiles with pdflatex."""
    strings = []
    for text, shapes, _, wrt, _ in STRUCTURAL:
        strings.append(sbp.derive(text, wrt=wrt, shapes=shapes).latex())
    for text, shapes, _, wrt in KINKS:
        d = sbp.derive(text, wrt=wrt, shapes=shapes)
        strings += [d.latex(), _printed(d)[1]]
    strings.append(sbp.derive("hinge(s, y)", wrt="s").latex())
    assert_latex_ok(strings)


@pytest.mark.parametrize(("text", "shapes", "v", "point"), [
    ("sum(max(A, A.T))", {"A": (3, 3)}, "A",
     {"A": np.array([[1.0, 2.0, 0.5], [-1.0, 0.3, 4.0], [0.5, 2.0, -2.0]])}),
    ("sum(max(x, y))", {"x": (3, 1), "y": (3, 1)}, "x",
     {"x": np.array([[1.0], [2.0], [3.0]]), "y": np.array([[1.0], [0.0], [5.0]])}),
    ("sum(max(X, axis=1))", {"X": (2, 3)}, "X",
     {"X": np.array([[1.0, 3.0, 3.0], [2.0, -1.0, 0.0]])}),
])
def test_the_printed_tie_reads_back_as_the_numbers(text: str, shapes: dict[str, Any], v: str,
                                                   point: dict[str, Any]) -> None:
    r"""The printed gradient, 𝟏[a > b] + ½𝟏[a = b] and the shared 𝟏[X = M] ⊘ (…), read back
    by the LaTeX reader (𝟏[a = b] was refused) gives the gradient at a tie: read as
    G in Σ G ⊙ W, whose gradient in W is G's value."""
    d = sbp.derive(text, shapes=shapes)
    g = json.loads(d.to_json())["gradients"][0]["latex"].split("=", 1)[1]
    reader = sbp.derive(rf"\sum \left({g}\right) \odot \mathbf{{W}}", syntax="latex",
                        shapes={**shapes, "W": shapes[v]}, wrt=["W"])
    got = reader.evaluate({**point, "W": np.ones(shapes[v])})["W"]
    np.testing.assert_allclose(got, d.evaluate(point)[v], atol=1e-12)
