"""Reading the syntax tree of the text: a node's operands (a chain of + or * read as one
node), a structural call's parts and an ``axis=``. A mixin of parse.py's ``_Parser``."""

from __future__ import annotations

import ast
from typing import Any

import sympy as sp

from . import ops, structural_calls
from .parse_code import ALIASES, CodeText
from .shapes import axes_of

_NOT_CHAINED = (ast.Pow, ast.MatMult, ast.Mod)

# what the text takes second where a library names it by keyword (F.elu(X, alpha=0.5) and
# F.leaky_relu(X) read as these: spelling.py)
SECOND = {
    "leaky_relu": "the slope below 0 second, leaky_relu(x, 0.01) (0.01 is F.leaky_relu's "
                  "and jax.nn.leaky_relu's default)",
    "elu": "α second, elu(x, 0.5) (α = 1 without it)",
    "celu": "α second, celu(x, 0.5) (α = 1 without it)",
}


def keeps_dims(k: ast.keyword) -> bool:
    """``keepdims=True``: a reduction along an axis keeps it in the text already."""
    return k.arg == "keepdims" and isinstance(k.value, ast.Constant) and k.value.value is True



class Tree(CodeText):
    """The operands and static parts of the tree's nodes (parse.py's ``_Parser`` builds them)."""

    def chain(self, node: ast.AST) -> list[tuple[int, ast.AST]] | None:
        """``_chain``, unless a product in it multiplies by a ones vector it sizes (X𝟏 is
        not X times the number 1: that product is a node of its own)."""
        chain = _chain(node)
        if chain is None or not self.read().ones:
            return chain
        cur = node
        while isinstance(cur, ast.BinOp) and isinstance(cur.op, (ast.Mult, ast.Div)):
            if isinstance(cur.op, ast.Mult) and self.ones_product(cur):
                return None
            cur = cur.left
        return chain

    def children(self, node: ast.AST) -> list[ast.AST]:
        chain = self.chain(node)
        if chain is not None:
            return [operand for _, operand in chain]
        if isinstance(node, ast.BinOp):
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp):
            return [node.operand]
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            if node.func.id in structural_calls.STRUCTURAL:
                return self.read_call(node)[0]
            return [] if node.func.id in ops.CONSTANTS else list(node.args)  # sizes: not values
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            return [node.value]
        if isinstance(node, ast.Compare):
            return [node.left, node.comparators[0]]
        return []

    def read_call(self, node: ast.Call) -> structural_calls.Call:
        if id(node) in self.calls:
            return self.calls[id(node)]
        dims = {str(d): d for s in self.b.shapes.values() for d in axes_of(s)
                if isinstance(d, sp.Symbol)}
        dims.update(self.dim_names)
        return structural_calls.read_call(node, dims)

    def axis_of(self, node: ast.Call) -> int | tuple[int, ...] | None:
        """The ``axis=`` of a call (None without one): an int, or a tuple of them for a
        tensor (``axis=(0, 2, 3)``); any other keyword is refused."""
        if not node.keywords:
            return None
        assert isinstance(node.func, ast.Name)
        name = ALIASES.get(node.func.id, node.func.id)
        keywords = [k for k in node.keywords  # keepdims=True: what the text does already
                    if not (keeps_dims(k) and name in ops.AXIS_FUNCTIONS)]
        if not keywords:
            return None
        kw = keywords[0]
        if name in SECOND and kw.arg != "axis":  # elu(X, alpha=0.5): the library's keyword
            raise self.error(kw, f"{name}'s {kw.arg}= is not read in the text: write "
                             f"{SECOND[name]}")
        if name not in ops.AXIS_FUNCTIONS or len(keywords) > 1 or kw.arg != "axis":
            raise self.error(kw, "the only keyword argument is axis=, of "
                             + ", ".join(ops.AXIS_FUNCTIONS)
                             + " (keepdims=True is what they do already)")
        try:
            axis = structural_calls.literal(kw.value)  # an int, or a tuple of them
        except ValueError:
            axis = None
        items = axis if isinstance(axis, tuple) and axis else (axis,)
        if not all(type(a) is int and abs(a) < 64 for a in items):
            raise self.error(kw.value, "axis= takes an axis, 0, 1 or -1 for a matrix, or a "
                             "tuple of axes of a tensor: axis=(0, 2, 3)")
        return axis  # type: ignore[no-any-return]

    def static_of(self, node: ast.Call) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """A call's static arguments and keywords (its axis=, of a function that takes one)."""
        assert isinstance(node.func, ast.Name)
        if node.func.id in structural_calls.STRUCTURAL:
            return self.read_call(node)[1:3]
        name = ALIASES.get(node.func.id, node.func.id)
        return (), {"axis": self.axis_of(node)} if name in ops.AXIS_FUNCTIONS else {}


def _chain(node: ast.AST) -> list[tuple[int, ast.AST]] | None:
    """The operands of a left-leaning chain of + and - (or * and /), with their signs."""
    if not isinstance(node, ast.BinOp) or isinstance(node.op, _NOT_CHAINED):
        return None
    kinds = (ast.Add, ast.Sub) if isinstance(node.op, (ast.Add, ast.Sub)) else (ast.Mult,
                                                                                  ast.Div)
    out: list[tuple[int, ast.AST]] = []
    cur: ast.AST = node
    while isinstance(cur, ast.BinOp) and isinstance(cur.op, kinds):
        out.append((-1 if isinstance(cur.op, (ast.Sub, ast.Div)) else 1, cur.right))
        cur = cur.left
    out.append((1, cur))
    return out[::-1]
