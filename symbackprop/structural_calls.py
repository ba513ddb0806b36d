"""The text's structural calls, as the parser and the witness's interpreter read them: the
table ``STRUCTURAL`` (each name with the keywords it takes, how its operands and static
arguments come, and the ``indexing`` function that builds it), and how a call or an index
is read from the syntax tree: ``literal`` reads the static arguments (sizes, indices,
widths, a norm's order); they are numbers, never expressions. ``indexing.py`` builds the
operations themselves."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

import sympy as sp

from .algebra import is_matrix
from .builder import Term
from .errors import ShapeError, UnsupportedError
from .indexing import (
    Build,
    Key,
    concatenate,
    flatten,
    hstack,
    kron,
    norm,
    normalisation,
    pad,
    repeat,
    reshape,
    squeeze,
    stack,
    tensor_call,
    tile,
    transpose_call,
    vstack,
)
from .shapes import tensor_dims


def literal(node: ast.AST, dims: dict[str, sp.Expr] | None = None) -> Any:
    """A static argument as Python values: an int or float (a leading ``-`` allowed), None,
    a slice of ints, a tuple (or list) of these, or a dimension named in ``dims``. Anything
    else is a ValueError naming what it found."""
    if isinstance(node, ast.Constant) and (node.value is None or type(node.value) in (int,
                                                                                      float)):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
            isinstance(node.operand, ast.Constant) and type(node.operand.value) in (int, float):
        value: int | float = node.operand.value  # type: ignore[assignment]
        return -value
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(literal(e, dims) for e in node.elts)
    if isinstance(node, ast.Slice):
        parts = [None if p is None else literal(p, dims) for p in (node.lower, node.upper,
                                                                   node.step)]
        if not all(p is None or type(p) is int for p in parts):
            raise ValueError("a slice's bounds and step are whole numbers")
        return slice(*parts)
    if isinstance(node, ast.Name) and dims is not None and node.id in dims:
        return dims[node.id]
    raise ValueError("a number, a tuple of numbers or a slice of whole numbers")


# ---------------------------------------------------------------------------------------
# The text's functions: name -> (the keywords it takes, whether its operands come as one
# tuple, how many static positional arguments follow the operand, and how it builds from
# (builder, operands, static arguments, keywords, where))


STRUCTURAL: dict[str, tuple[frozenset[str], bool, int, Build]] = {
    "concatenate": (frozenset({"axis"}), True, 0,
                    lambda b, xs, a, kw, w: concatenate(b, xs, kw.get("axis", 0), w)),
    "stack": (frozenset({"axis"}), True, 0,
              lambda b, xs, a, kw, w: stack(b, xs, kw.get("axis", 0), w)),
    "vstack": (frozenset(), True, 0, lambda b, xs, a, kw, w: vstack(b, xs, w)),
    "hstack": (frozenset(), True, 0, lambda b, xs, a, kw, w: hstack(b, xs, w)),
    "reshape": (frozenset(), False, 1, lambda b, xs, a, kw, w: reshape(b, xs[0], a[0], w)),
    "flatten": (frozenset(), False, 0, lambda b, xs, a, kw, w: flatten(b, xs[0], w)),
    "squeeze": (frozenset({"axis"}), False, 1,
                lambda b, xs, a, kw, w: squeeze(b, xs[0], _axis_once(a, kw, w), w)),
    "ravel": (frozenset(), False, 0, lambda b, xs, a, kw, w: flatten(b, xs[0], w)),
    "tile": (frozenset(), False, 1, lambda b, xs, a, kw, w: tile(b, xs[0], a[0], w)),
    "repeat": (frozenset({"axis"}), False, 1,
               lambda b, xs, a, kw, w: repeat(b, xs[0], a[0], kw.get("axis"), w)),
    "pad": (frozenset({"constant_values"}), False, 1,
            lambda b, xs, a, kw, w: pad(b, xs[0], a[0], kw.get("constant_values", 0), w)),
    # kron(A, B): two operands (-2), no static arguments; batchnorm(X, γ, β): three
    "kron": (frozenset(), False, -2, lambda b, xs, a, kw, w: kron(b, xs[0], xs[1], w)),
    "batchnorm": (frozenset({"eps"}), False, -3,
                  lambda b, xs, a, kw, w: normalisation(b, xs, 1, kw.get("eps", 1e-5), w)),
    "layernorm": (frozenset({"eps"}), False, -3,
                  lambda b, xs, a, kw, w: normalisation(b, xs, 0, kw.get("eps", 1e-5), w)),
    "conv2d": (frozenset({"stride", "padding"}), False, -2,
               tensor_call("conv2d", stride=1, padding=0)),
    "maxpool2d": (frozenset({"stride"}), False, 1, tensor_call("maxpool2d", stride=None)),
    "avgpool2d": (frozenset({"stride"}), False, 1, tensor_call("avgpool2d", stride=None)),
    "einsum": (frozenset(), False, 0, tensor_call("einsum")),
    "transpose": (frozenset(), False, 1, transpose_call),
    "batchnorm2d": (frozenset({"eps"}), False, -3, tensor_call("batchnorm2d", eps=1e-5)),
    # norm(x) or norm(x, ord), NumPy's: the order a number, inf or a name of a norm
    "norm": (frozenset({"ord"}), False, 1,
             lambda b, xs, a, kw, w: norm(b, xs[0], _order(a, kw, w), w)),
}
# the calls that take tensors of rank ≥ 3; the others move a matrix's rows and columns
TENSOR_CALLS = frozenset({"reshape", "flatten", "ravel", "transpose", "conv2d", "maxpool2d",
                          "avgpool2d", "einsum", "batchnorm2d", "norm", "squeeze"})


def matrices_only(what: str, xs: Sequence[Term], where: str) -> None:
    """Refuse a tensor of rank ≥ 3 where only rows and columns have a meaning so far."""
    for x in xs:
        if is_matrix(x) and tensor_dims(x.shape) is not None:
            rank = len(tensor_dims(x.shape) or ())
            hint = "reshape it to a matrix, or use einsum"
            if what == "batchnorm" and rank == 4:
                hint = ("for images (N, C, H, W), each channel over axes 0, 2, 3: "
                        "batchnorm2d(X, gamma, beta)")
            raise UnsupportedError(f"{where}: {what} of a tensor of rank 3 or more is not a "
                                   f"primitive yet ({hint})")


# calls whose positional arguments vary: conv2d(X, W) or conv2d(X, W, b); einsum(spec,
# *operands), its spec a string first; transpose(X) or transpose(X, axes)
VARIADIC = {"conv2d": (2, 3), "einsum": (2, 9), "transpose": (1, 2), "norm": (1, 2),
            "squeeze": (1, 2)}


def _axis_once(static: tuple[Any, ...], kw: dict[str, Any], where: str) -> Any:
    if static and "axis" in kw:
        raise ShapeError(f"{where}: the axis is given twice (as an argument and as axis=)")
    return static[0] if static else kw.get("axis")


def _order(static: tuple[Any, ...], kw: dict[str, Any], where: str) -> Any:
    if static and "ord" in kw:
        raise ShapeError(f"{where}: the order is given twice (as an argument and as ord=)")
    return static[0] if static else kw.get("ord")


_INF = {"inf": float("inf"), "Inf": float("inf"), "infty": float("inf")}


def _norm_order(node: ast.AST) -> Any:
    """A norm's order as NumPy writes it: a number, None, inf (np.inf, math.inf, inf), -inf
    or the string 'fro' or 'nuc'."""
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        sign, node = -1.0, node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and sign > 0:
        return node.value
    name = node.attr if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
        and node.value.id in ("np", "numpy", "math", "torch", "jnp") else \
        node.id if isinstance(node, ast.Name) else None
    if name in _INF:
        return sign * _INF[name]
    why = "an order: a number, None, inf, -inf, 'fro' or 'nuc'"
    try:
        value = literal(node)
    except ValueError:
        raise ValueError(why) from None
    if value is not None and type(value) not in (int, float):
        raise ValueError(why)
    return value if value is None or sign > 0 else -value


# ---------------------------------------------------------------------------------------
# Reading the syntax tree (shared by the parser and the witness's interpreter)


class StaticError(ValueError):
    """A structural call or an index written in a way the text does not accept."""

    def __init__(self, node: ast.AST, message: str) -> None:
        super().__init__(message)
        self.node = node


Call = tuple[list[ast.AST], tuple[Any, ...], dict[str, Any], list[ast.AST]]


def read_call(node: ast.Call, dims: dict[str, sp.Expr] | None = None) -> Call:
    """A structural call's operand nodes, static arguments, keywords, and the syntax nodes
    that hold them (checked here, not walked again)."""
    assert isinstance(node.func, ast.Name)
    name = node.func.id
    keywords, seq, n_static, _ = STRUCTURAL[name]
    n_args = -n_static if n_static < 0 else 1 + n_static  # −k: k operands, nothing static
    lo, hi = VARIADIC.get(name, (n_args, n_args))
    if not lo <= len(node.args) <= hi:
        want = f"{lo}" if lo == hi else f"{lo} to {hi}"
        raise StaticError(node, f"{name} takes {want} argument{'s' * (hi > 1)}, got "
                          f"{len(node.args)}")
    static_nodes: list[ast.AST] = []
    operands: list[ast.AST] = list(node.args) if n_static < 0 else [node.args[0]]
    if name == "einsum":  # the spec, a string, then the operands
        spec = node.args[0]
        if not isinstance(spec, ast.Constant) or not isinstance(spec.value, str):
            raise StaticError(spec, 'einsum takes its subscripts first, as a string: '
                              'einsum("ij,jk->ik", A, B)')
        if node.keywords:
            raise StaticError(node.keywords[0], "einsum takes no keyword arguments")
        return list(node.args[1:]), (spec.value,), {}, [spec]
    if seq:
        first = node.args[0]
        if not isinstance(first, (ast.Tuple, ast.List)) or not first.elts:
            raise StaticError(first, f"{name} takes a tuple of arrays: {name}((A, B))")
        operands = list(first.elts)
    kw: dict[str, Any] = {}
    read = _order_literal if name == "norm" else _literal
    for k in node.keywords:
        if k.arg not in keywords:
            allowed = ", ".join(f"{a}=" for a in sorted(keywords)) or "none"
            raise StaticError(k, f"{name} takes no keyword {k.arg}= (its keywords: "
                              f"{allowed})")
        kw[k.arg] = read(k.value, dims)
        static_nodes.append(k)
    static = tuple(read(a, dims) for a in node.args[1:]) if n_static > 0 else ()
    static_nodes.extend(node.args[1:] if n_static > 0 else ())
    return operands, static, kw, static_nodes


def _order_literal(node: ast.AST, dims: dict[str, sp.Expr] | None) -> Any:
    try:
        return _norm_order(node)
    except ValueError as e:
        raise StaticError(node, f"expected {e}") from None


def _literal(node: ast.AST, dims: dict[str, sp.Expr] | None) -> Any:
    try:
        return literal(node, dims)
    except ValueError as e:
        raise StaticError(node, f"expected {e}") from None


def _none(p: ast.AST) -> bool:
    return (isinstance(p, ast.Constant) and p.value is None) or (
        isinstance(p, ast.Attribute) and p.attr == "newaxis")


def _whole(p: ast.AST) -> bool:
    return isinstance(p, ast.Slice) and p.lower is None and p.upper is None and p.step is None


def _parts(node: ast.Subscript) -> list[ast.expr]:
    return node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]


def new_axis(node: ast.Subscript) -> int | None:
    """``v[:, None]`` (``np.newaxis``): 1, the column (n, 1) of a 1-D ``v``; ``v[None, :]``:
    0, its row (1, n); None for any other index."""
    parts = _parts(node)
    if len(parts) == 2 and _whole(parts[0]) and _none(parts[1]):
        return 1
    if len(parts) == 2 and _none(parts[0]) and _whole(parts[1]):
        return 0
    return None


def read_key(node: ast.Subscript) -> Key:
    """The index of ``X[...]``: whole numbers and slices, one or two."""
    if any(_none(p) for p in _parts(node)):
        raise StaticError(node.slice, "a new axis (None, np.newaxis) is read only as v[:, None] "
                          "and v[None, :] of a 1-D v: write v.reshape(-1, 1) for the column "
                          "(n, 1), v.reshape(1, -1) for the row (1, n)")
    try:
        key = literal(node.slice)
    except ValueError:
        raise StaticError(node.slice, "an index is a whole number or a slice (a:b, a:b:s) "
                          "written as numbers") from None
    key = key if isinstance(key, tuple) and not isinstance(node.slice, ast.Slice) else (key,)
    for k in key:
        if not isinstance(k, slice) and type(k) is not int:
            raise StaticError(node.slice, "an index is a whole number or a slice (a:b, a:b:s)")
    return key
