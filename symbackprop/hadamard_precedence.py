"""The element-wise product ⊙ binds less tightly than the products beside it, as on paper and
in LaTeX (``y ⊙ Xw`` is y ⊙ (X·w)); the readers write ⊙ as Python's ``%``, which binds as
tightly as ``*`` and ``@``, so the parser regroups each chain of products in its syntax tree
(``hadamard_last``)."""

from __future__ import annotations

import ast
import itertools

_PRODUCTS = (ast.Mult, ast.Div, ast.MatMult, ast.Mod)


def hadamard_last(tree: ast.AST) -> bool:
    """Bind ⊙ (``%`` in the code) less tightly than the products around it, in place: on
    paper ``y ⊙ Xw`` is y ⊙ (X·w) and ``Wᵀδ ⊙ tanh(z)`` is (Wᵀδ) ⊙ tanh(z), as LaTeX's \\odot
    reads, where Python's ``%`` would group ``(y ⊙ X)·w``. Whether anything was regrouped.
    Iterative: a chain of thousands of operators does not recurse."""
    changed = False
    slots: list[tuple[ast.AST, str, int | None]] = [
        (tree, f, None) for f, _ in ast.iter_fields(tree)]
    while slots:
        owner, field, k = slots.pop()
        value = getattr(owner, field)
        kid = value[k] if k is not None else value
        if isinstance(kid, list):
            slots.extend((owner, field, j) for j in range(len(kid)))
            continue
        if not isinstance(kid, ast.AST):
            continue
        if isinstance(kid, ast.BinOp) and isinstance(kid.op, _PRODUCTS):
            new = _regrouped(kid)
            if new is not kid:
                changed = True
                if k is not None:
                    value[k] = new
                else:
                    setattr(owner, field, new)
            for n in _chain(new):  # its operands: each may hold chains of its own
                slots.append((n, "right", None))
                if not _chained(n.left, n):
                    slots.append((n, "left", None))
        else:
            slots.extend((kid, f, None) for f, _ in ast.iter_fields(kid))
    return changed


def _chain(node: ast.BinOp) -> list[ast.BinOp]:
    """The operator nodes of a left-nested chain of products, first to last. A bracketed
    left operand, ``(A ⊙ B)C``, starts after its parent and is an operand, not the chain."""
    nodes = [node]
    while _chained(nodes[-1].left, nodes[-1]):
        nodes.append(nodes[-1].left)  # type: ignore[arg-type]
    return nodes[::-1]


def _chained(e: ast.expr, parent: ast.BinOp) -> bool:
    if not (isinstance(e, ast.BinOp) and isinstance(e.op, _PRODUCTS)):
        return False
    if getattr(parent, "regrouped", False):  # made here: its chain is what was made with it
        return getattr(e, "regrouped", False)
    return (e.lineno, e.col_offset) == (parent.lineno, parent.col_offset)


def _regrouped(node: ast.BinOp) -> ast.BinOp:
    nodes = _chain(node)
    operands = [nodes[0].left, *(n.right for n in nodes)]
    cuts = [k for k, n in enumerate(nodes) if isinstance(n.op, ast.Mod)]
    if not cuts or len(cuts) == len(nodes):
        return node

    def spanning(op: ast.operator, left: ast.expr, right: ast.expr) -> ast.BinOp:
        e = ast.BinOp(left, op, right)
        e.lineno, e.col_offset = left.lineno, left.col_offset
        e.end_lineno, e.end_col_offset = right.end_lineno, right.end_col_offset
        e.regrouped = True  # type: ignore[attr-defined]
        return e

    def fold(lo: int, hi: int) -> ast.expr:  # operands lo..hi joined by their operators
        e = operands[lo]
        for k in range(lo, hi):
            e = spanning(nodes[k].op, e, operands[k + 1])
        return e

    bounds = [-1, *cuts, len(nodes)]
    segments = [fold(a + 1, b) for a, b in itertools.pairwise(bounds)]
    out = segments[0]
    for seg in segments[1:]:
        out = spanning(ast.Mod(), out, seg)
    assert isinstance(out, ast.BinOp)
    return out
