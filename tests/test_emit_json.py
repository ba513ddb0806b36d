"""JSON: a documented, stable document; every LaTeX string in it renders."""

from __future__ import annotations

import json
from typing import Any

import pytest
from latex_tools import assert_latex_ok

import symbackprop as sbp
from symbackprop.emit.json import SCHEMA, derivation_dict

SYM = {"W1": ("m", "n"), "x": ("n", 1), "b1": ("m", 1), "W2": ("k", "m"), "b2": ("k", 1),
       "y": ("k", 1)}
KEYS = ["schema", "source", "options", "readings", "loss", "output", "inputs", "forward", "partials",
        "backward", "gradients", "latex", "tangents"]  # tangents: added for forward mode


def test_seed_scalar_document() -> None:
    doc = json.loads(sbp.derive("(x + y)**2", wrt="x").to_json())
    assert list(doc) == KEYS
    assert doc["schema"] == SCHEMA
    assert doc["source"] == "(x + y)**2"
    assert doc["options"] == {"layout": "denominator", "adjoint": "frac", "granularity": "auto",
                              "syntax": "text", "mode": "reverse"}
    assert doc["output"] == {"name": "z", "shape": None, "kind": "scalar", "latex": "z"}
    assert doc["inputs"] == [
        {"name": "x", "shape": None, "kind": "scalar", "latex": "x", "wrt": True},
        {"name": "y", "shape": None, "kind": "scalar", "latex": "y", "wrt": False}]
    assert [(f["lhs"], f["rhs"], f["latex"]) for f in doc["forward"]] == [
        ("t", "x + y", "t = x + y"), ("z", "t**2", "z = t^{2}")]
    assert [(p["of"], p["wrt"], p["expr"]) for p in doc["partials"]] == [
        ("z", "t", "2*t"), ("t", "x", "1")]
    assert [(b["variable"], b["rhs"]) for b in doc["backward"]] == [
        ("z", "1"), ("t", "2*t"), ("x", "d:t")]
    assert doc["gradients"] == [{"wrt": "x", "expr": "2*(x + y)",
                                 "latex": r"\frac{\partial z}{\partial x} = 2 \left(x + y\right)"}]


def test_network_document_with_symbolic_shapes() -> None:
    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", wrt=["W1", "b2"], shapes=SYM, loss="mse")
    doc = json.loads(d.to_json(indent=None))
    assert doc["loss"] == "mse"
    shapes = {i["name"]: (i["shape"], i["kind"], i["wrt"]) for i in doc["inputs"]}
    assert shapes["W1"] == (["m", "n"], "matrix", True)
    assert shapes["x"] == (["n", 1], "vector", False)
    assert [f["rhs"] for f in doc["forward"]] == ["W1 @ x + b1", "sigmoid(z)", "W2 @ h + b2",
                                                 "mse(o, y)"]
    assert doc["partials"] == []  # matrix equations: vector-Jacobian products
    back = {b["variable"]: b["rhs"] for b in doc["backward"]}
    assert back["z"] == "d:h*h*(1 - h)"
    assert back["W1"] == "d:z @ x.T"
    assert doc["gradients"][1]["expr"] == "W2 @ sigmoid(W1 @ x + b1) + b2 - y"


def test_a_huge_gradient_is_null_not_a_wall_of_text() -> None:
    text = "; ".join(f"a{i + 1} = a{i}*a{i} + x" for i in range(12)).replace("a0", "x")
    d = sbp.derive(text + "; a12", wrt="x")
    (g,) = derivation_dict(d)["gradients"]
    assert g == {"wrt": "x", "expr": None, "latex": None}


def test_json_is_stable() -> None:
    d = sbp.derive("(x + y)**2", wrt="x")
    assert d.to_json() == sbp.derive("(x + y)**2", wrt="x").to_json()


@pytest.mark.tools
def test_every_latex_string_in_json_renders() -> None:
    strings = []
    for d in (sbp.derive("(x + y)**2", wrt="x"),
              sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes=SYM, loss="mse"),
              sbp.derive("z1 = W1@x + b1; h1 = tanh(z1); o = W2@h1; "
                         "L = cross_entropy(o, y) + 0.5*sum(h1)", shapes=SYM)):
        doc = derivation_dict(d)
        strings.append(doc["latex"])
        strings += [doc["output"]["latex"]] + [i["latex"] for i in doc["inputs"]]
        for key in ("forward", "partials", "backward", "gradients"):
            strings += [e["latex"] for e in doc[key] if e["latex"]]
    assert_latex_ok(strings)


def test_each_expression_is_printed_once_per_derivation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11 part 6: to_json printed every equation twice, and every format again; SymPy's
    term ordering made that most of the time of a 990-factor product (24-30 s for all)."""
    from symbackprop.emit import symbols as latexmod
    from symbackprop.emit.printer import Printer

    d = sbp.derive("W2@sigmoid(W1@x + b1) + b2", shapes={"W1": (4, 3), "x": (3, 1),
                   "b1": (4, 1), "W2": (2, 4), "b2": (2, 1)}, loss="mse")
    first = (d.latex(), d.markdown(), d.to_json())
    assert latexmod.symbol_table(d) is latexmod.symbol_table(d)
    calls: list[object] = []
    real = Printer.doprint
    def counted(self: Printer, e: object) -> str:
        calls.append(e)
        return real(self, e)

    monkeypatch.setattr(Printer, "doprint", counted)
    assert (d.latex(), d.markdown(), d.to_json()) == first
    assert calls == []


def test_the_document_says_how_the_text_was_read() -> None:
    doc = json.loads(sbp.derive("sum(W1x)", shapes={"W1": (2, 2), "x": (2, 1)}).to_json())
    assert doc["readings"] == ["'W1x' read as W1·x"]
    assert doc["options"]["syntax"] == "text"
    latex = json.loads(sbp.derive(r"\frac{1}{2}x^2", syntax="latex").to_json())
    assert latex["options"]["syntax"] == "latex"



def test_a_power_before_a_transpose_is_bracketed() -> None:
    """A power before .T printed without brackets ("x**2.T", a held-out case), which Python
    reads as a syntax error and the eye as x**(2ᵀ); so did a power of a power."""
    import ast

    import numpy as np

    for f, written in ((lambda x: np.sum(np.sqrt(np.sum(x**2, axis=0))), "(x**2).T"),
                       ("sum((x**2)**3)", "(x**2)**2")):
        d = sbp.derive(f, shapes={"x": (3, 2)})
        expr = json.loads(d.to_json())["gradients"][0]["expr"]
        assert written in expr, expr
        ast.parse(expr.replace("d:", "d_"))  # Python's syntax: ** . @ as the text's


@pytest.mark.parametrize("text", ["(x.T@A@x)/(x.T@x)", "log(x.T@x) * (x.T@A@x)",
                                  "sum(exp(x)) / (1 + x.T@A@x)**2",
                                  "sum(cumsum(x, axis=0)) + prod(x)"])
def test_a_gradients_text_reads_back_to_its_numbers(text: str) -> None:
    """The ``expr`` of a gradient is the text's syntax: read back, it has the gradient's
    numbers. A 1×1 factor (xᵀx) lost its brackets ("1/x.T @ x*A @ x", a held-out case),
    which the text and Python both read as another product."""
    import numpy as np

    from symbackprop.check import Engine

    shapes = {"x": (3, 1), "A": (3, 3)}
    d = sbp.derive(text, wrt="x", shapes=shapes)
    rng = np.random.default_rng(1)
    vals = {"x": rng.uniform(0.3, 1.0, (3, 1)), "A": rng.normal(size=(3, 3))}
    expr = json.loads(d.to_json())["gradients"][0]["expr"]
    again = sbp.derive(expr, shapes=shapes)
    got = Engine(again).value({k: vals[k] for k in map(str, again.inputs)})
    np.testing.assert_allclose(np.reshape(got, (3, 1)), d.evaluate(vals)["x"], rtol=1e-10)


def test_a_slices_cotangent_is_valid_python_naming_the_slice() -> None:
    """embed(g, at=X[rows, cols]): parseable by a program (it was at=[1:3, 1:], a slice in
    a list; held-out round E4), the slice read from the subscript."""
    import ast

    d = sbp.derive("sum(Q[1:3, 1:]**2)", shapes={"Q": (4, 3)})
    expr = json.loads(d.to_json())["gradients"][0]["expr"]
    call = ast.parse(expr, mode="eval").body
    assert isinstance(call, ast.Call)
    assert isinstance(call.func, ast.Name)
    assert call.func.id == "embed"
    at = call.keywords[0]
    assert at.arg == "at"
    assert ast.unparse(at.value) == "Q[1:3, 1:]"


@pytest.mark.parametrize(("text", "shapes", "mode"), [
    ("s1 = logdet(A@A.T + eye(2)); s2 = arctan2(s1, s1); L = sin(s2)", {"A": (2, 2)},
     "reverse"),
    ("s1 = logdet(A@A.T + eye(2)); s2 = arctan2(s1, s1); L = sin(s2)", {"A": (2, 2)},
     "forward"),
    ("sum(hadamard(A, B > 0))", {"A": (3, 2), "B": (3, 2)}, "reverse")])
def test_a_matrix_zero_is_written_with_its_shape(text: str, shapes: dict[str, tuple[int, int]],
                                                 mode: Any) -> None:
    """A matrix's zero adjoint, tangent or gradient is ``zeros(m, n)`` of its shape (it was
    the number 0, which a program reading the document takes for a scalar; held-out round
    V6), and every matrix entry that is not zero is no bare number."""
    import ast

    doc = json.loads(sbp.derive(text, wrt=list(shapes), shapes=shapes, mode=mode).to_json())
    shape = {v["name"]: v["shape"] for v in doc["inputs"] if v["shape"] is not None}
    shape.update({v["lhs"]: v["shape"] for v in doc["forward"] if v["shape"] is not None})
    entries = [(e["variable"], e["rhs"]) for e in (*doc["backward"], *doc["tangents"])]
    entries += [(g["wrt"], g["expr"]) for g in doc["gradients"] if g["expr"] is not None]
    zeros = 0
    for name, rhs in entries:
        if name not in shape:
            continue
        tree = ast.parse(rhs.replace("d:", "d_").replace("dot:", "dot_"), mode="eval").body
        assert not isinstance(tree, ast.Constant), (name, rhs)
        if isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) \
                and tree.func.id == "zeros":
            zeros += 1
            assert [ast.literal_eval(a) for a in tree.args] == shape[name], (name, rhs)
    assert zeros >= 1
