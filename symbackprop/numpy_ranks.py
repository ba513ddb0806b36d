"""NumPy's 1-D arrays in text that uses a library's call. NumPy holds the result of
``ravel``, ``flatten``, ``reshape(X, -1)``, ``repeat`` without an axis, ``diag`` of a
matrix, ``diagonal``, ``cumsum``/``cumprod`` without an axis, ``X[:, j]`` and the like as a
1-D array, lined up with the last axis; the text holds it as the column (n, 1), lined up
with the one before. Such a value joins the builder's ``flat`` set, as a vector declared
``(n,)`` does, so that one beside an operand of another shape is refused
(``broadcasting.numpy_vectors``). A call whose NumPy reading of a 1-D operand is not the
text's reading of its column (``hstack`` of 1-D arrays joins them end to end) is refused,
with the way to write it. A value of one entry, held alike as a scalar or a 1×1, has
NumPy's rank too (0-d, 1-D (1,), 2-D (1, 1): ``Builder.entry_rank``), found here for each
call (``entry_call_rank``, ``product_rank``), and the calls whose result follows it refuse
what NumPy refuses of it (``entry_product``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import ops, written_ops
from .algebra import is_matrix
from .builder import Builder, Term
from .errors import ShapeError
from .indexing import Key, flatten
from .shapes import shape_of, tensor_dims

# the calls whose result has the rank of their operands (of 1-D operands, 1-D)
_SAME = frozenset({"concatenate", "hstack", "kron", "tile", "repeat", "cumsum", "cumprod",
                   "flip", "squeeze", "pad"})
_REDUCING = frozenset({"sum", "mean", "max", "min", "prod", "var", "std", "logsumexp"})
_HINT = ("write .reshape(-1, 1) for the column, .reshape(1, -1) for NumPy's reading of a "
         "1-D array as a row")


def _flats(b: Builder, xs: Sequence[Term]) -> list[bool]:
    """Which of ``xs`` are NumPy's 1-D values held as columns (of one entry too: an input
    declared (1,), ``u[0]`` of a column)."""
    return [is_matrix(x) and (b.is_flat(x) or (shape_of(x) == (1, 1)
                                               and b.entry_rank(x) == 1)) for x in xs]


def _refuse(where: str, why: str) -> ShapeError:
    return ShapeError(f"{where}: {why} in NumPy, which this text reads as (it uses a "
                      f"library's call): {_HINT}")


def numpy_call(b: Builder, name: str, xs: list[Term], static: tuple[Any, ...],
               kw: dict[str, Any], where: str) -> Term | None:
    """None to build a call as written; a ShapeError where NumPy's reading of its 1-D
    operands is not the text's (``np.matmul`` and ``np.dot`` of them are the written @)."""
    flats = _flats(b, xs)
    s0 = shape_of(xs[0]) if xs and is_matrix(xs[0]) else None
    if name in ("hstack", "vstack", "tile") and any(_one_entry(b, x) for x in xs):
        raise ShapeError(f"{where}: {name} of a value of one entry: NumPy's result depends "
                         "on whether it is 0-d, 1-D (1,) or 2-D (1, 1), which this text holds "
                         "alike: write np.concatenate of 1-D values, or declare a 2-D input "
                         "(1, 1) and join it by its name")
    if name == "matmul" and any(not is_matrix(x) for x in xs):
        raise ShapeError(f"{where}: np.matmul of a scalar (NumPy refuses it): write * for "
                         "the product by a number")
    if name in ("cumsum", "cumprod") and kw.get("axis") is None and s0 is not None \
            and tensor_dims(s0) is None and 1 not in s0:  # NumPy flattens a matrix first
        return ops.apply(b, name, [flatten(b, xs[0], where)], where)
    if name in ("matmul", "dot") and len(xs) == 2 and all(
            not is_matrix(x) or tensor_dims(shape_of(x)) is None for x in xs) and (
            (flats[0] and not (name == "dot" and flats[1]))
            or (is_matrix(xs[1]) and b.is_row(xs[1]))):
        return written_ops.written_matmul(b, xs[0], xs[1], where, name)  # NumPy's @ of 1-D arrays
    if not any(flats):
        s = shape_of(xs[0]) if xs else None
        if name == "diag" and s is not None and tensor_dims(s) is None and 1 in s \
                and s != (1, 1):
            raise _refuse(where, "diag of a 2-D vector (a column or a row) is its diagonal, "
                          "one entry,")
        return None
    if name in ("concatenate", "hstack", "vstack", "stack", "kron") and not all(flats):
        raise _refuse(where, f"{name} of a 1-D array and a 2-D one is refused")
    axis = kw.get("axis", static[0] if name == "squeeze" and static else None)
    if name in ("concatenate", "repeat") and axis not in (None, 0):
        raise _refuse(where, f"axis {axis} of a 1-D array is its only one (axis 0)" if
                      axis == -1 else f"a 1-D array has no axis {axis}")
    if name == "hstack":
        raise _refuse(where, "hstack of 1-D arrays joins them end to end (write "
                      "np.concatenate for that)")
    if name == "vstack":
        raise _refuse(where, "vstack of 1-D arrays makes them the rows of a matrix (write "
                      "np.stack for that)")
    if name == "tile":
        raise _refuse(where, "tile of a 1-D array repeats it end to end (write "
                      "np.concatenate for that)")
    return None


def _one_entry(b: Builder, x: Term) -> bool:
    """Whether ``x`` has one entry and NumPy's rank of it is not known to be 2-D
    (``Builder.two_d_entry``): an index's entry, an input declared (1,), a scalar."""
    if is_matrix(x) and shape_of(x) != (1, 1):
        return False
    return not b.two_d_entry(x)


def call_rank(b: Builder, name: str, xs: list[Term], static: tuple[Any, ...],
              axis: Any) -> int | None:
    """NumPy's rank of the result of a call of ``xs`` (1 or 2), None where the text's
    reading of its operands says it already (element-wise, a product)."""
    if name == "stack" and xs and not any(map(is_matrix, xs)):
        return 1  # np.stack of 0-d values: NumPy's 1-D array (the text's column of them)
    if not xs or not is_matrix(xs[0]) or (tensor_dims(shape_of(xs[0])) is not None
                                          and name not in ("flatten", "ravel", "reshape")):
        return None  # (of a tensor, an einsum to one index and squeeze's 1-D result are
        # NumPy's 1-D as built, in any text: indexing.py)
    if name in ("dot", "inner", "matmul") and len(xs) == 2:
        return product_rank([rank(b, x) for x in xs])
    flats = _flats(b, xs)
    s = shape_of(xs[0])
    assert s is not None  # a matrix's
    if name in ("flatten", "ravel", "diagonal"):
        return 1
    if name == "reshape" and static:
        shape = static[0]
        return 1 if not isinstance(shape, tuple) or len(shape) == 1 else len(shape)
    if name in ("repeat", "cumsum", "cumprod") and axis is None:
        return 1
    if name == "diag":
        return 2 if flats[0] else 1
    if name in ("stack", "vstack", "outer"):
        return 2
    if name == "squeeze" and axis is None:
        return 1 if flats[0] or 1 in s else None
    if name == "squeeze":
        return 1
    if name in _REDUCING and isinstance(axis, int) and b.declared_two_d(xs[0]) \
            and s[axis % 2] == 1 and s[1 - axis % 2] != 1:
        return 1  # along the axis of length 1 of a declared row or column: NumPy's 1-D
    if name in _REDUCING and axis in (0, -2) and 1 not in s:
        return 1  # NumPy's 1-D result, held as the row (1, n)
    if name in _REDUCING and axis in (1, -1) and 1 not in s:
        return 1  # NumPy's 1-D result, held as the column (m, 1)
    if name in _SAME:
        return 1 if all(flats) else 2
    if name == "einsum" and static and isinstance(static[0], str) and "->" in static[0]:
        return len(static[0].split("->")[1].replace(".", "").strip())
    return None


def numpy_key(b: Builder, x: Term, key: Key, where: str) -> None:
    """One index of a 2-D row (1, n) is along its axis 0 in NumPy (``r[0]`` is the whole
    row), along its entries in the text: refused; of NumPy's 1-D row (``X[0]``) both read
    along its entries."""
    s = shape_of(x)
    if len(key) == 1 and is_matrix(x) and s is not None and tensor_dims(s) is None \
            and s[0] == 1 and s[1] != 1 and not b.is_row(x):
        raise _refuse(where, "one index of a 2-D row (1, n) is along its axis 0 (r[0] is the "
                      "whole row; write r[0, i] or r[:, a:b] for its entries)")


def index_rank(b: Builder, x: Term, key: Key, where: str) -> int | None:
    """NumPy's rank of ``x[key]``: each whole number drops an axis."""
    if not is_matrix(x) or tensor_dims(shape_of(x)) is not None:
        return None
    ints = sum(type(k) is int for k in key)
    if b.is_flat(x) or b.is_row(x):
        if len(key) > 1:
            raise _refuse(where, "two indices of a 1-D array are refused (it has one axis)")
        return 1 - ints
    return 2 - ints


# ---------------------------------------------------------------------------------------
# NumPy's rank of every value, values of one entry too (0-d, 1-D (1,), 2-D (1, 1))

_SCALAR_CALLS = frozenset({"vdot", "trace", "det", "logdet", "norm2", "sqnorm"})
_JOINS = frozenset({"concatenate", "stack", "hstack", "vstack", "tile", "repeat", "kron",
                    "pad", "diag"})


def rank(b: Builder, t: Term) -> int | None:
    """NumPy's rank of ``t`` in text that uses a library's call: of a value of one entry
    as recorded (``Builder.entry_rank``; None where the text does not follow it), of a
    tensor its axes, of NumPy's 1-D value (held as a column or a row) 1, else 2."""
    if not is_matrix(t) or shape_of(t) == (1, 1):
        return b.entry_rank(t)
    dims = tensor_dims(shape_of(t))
    if dims is not None:
        return len(dims)
    return 1 if b.is_flat(t) or b.is_row(t) else 2


def product_rank(ranks: Sequence[int | None]) -> int | None:
    """NumPy's rank of ``np.dot``, ``np.inner`` or ``@`` of two values of these ranks (each
    1-D or 2-D operand gives up one axis; a 0-d one scales the other)."""
    if len(ranks) != 2 or None in ranks:
        return None
    p, q = ranks
    assert p is not None
    assert q is not None
    return q if p == 0 else p if q == 0 else p + q - 2


def entry_call_rank(b: Builder, name: str, xs: list[Term], static: tuple[Any, ...],
                    axis: Any, keepdims: bool) -> int | None:
    """NumPy's rank of a call's result of one entry, None where the text does not follow
    it."""
    ranks = [rank(b, x) for x in xs]
    r0 = ranks[0] if ranks else None
    same = ranks and None not in ranks and len(set(ranks)) == 1
    if keepdims:
        return r0
    if name in ("dot", "inner", "matmul"):
        return product_rank(ranks)
    if name in _SCALAR_CALLS or (name in _REDUCING | {"norm"} and axis is None):
        return 0
    if name in _REDUCING | {"norm"}:  # the text's keeps the axis (spelling._drop_axes
        return r0  # puts NumPy's np.sum(X, axis=0) inside squeeze(·, axis=0))
    if name == "squeeze":
        return 0 if axis is None else None if r0 is None else r0 - 1
    if name in ("ravel", "flatten", "diagonal") or (
            name in ("repeat", "cumsum", "cumprod") and axis is None):
        return 1
    if name == "outer":
        return 2
    if name == "reshape" and static:
        shape = static[0]
        return 1 if not isinstance(shape, tuple) else len(shape)
    if name == "diag":
        return {1: 2, 2: 1}.get(r0) if r0 is not None else None
    if not same:
        return None
    assert r0 is not None
    if name == "stack":
        return r0 + 1
    if name == "vstack":
        return 2
    if name in ("hstack", "tile"):
        return max(1, r0)
    if name == "flip":
        return r0  # (of a 0-d value, itself)
    if name in ("concatenate", "kron", "pad", "repeat", "cumsum", "cumprod"):
        return r0 if r0 else None
    return None


def entry_context(name: str | None, matmul: bool, subscript: bool,
                  axis: Any) -> str | None:
    """What makes NumPy's result of an operand of one entry follow its rank: a product, an
    index, a join, a reduction along an axis (None: the text's reading of it holds)."""
    if matmul:
        return "@"
    if subscript:
        return "index"
    if name in ("dot", "inner", "matmul") or name in _JOINS:
        return f"np.{name}"
    if axis is not None and name is not None:
        return f"np.{name} along an axis"
    return None


def entry_product(what: str, rank_: int, where: str, operand: str) -> None:
    """Refuse what NumPy refuses of an operand of one entry of this rank, or reads in a way
    the text's 1×1 does not: @ of a 0-d or 1-D one, a join of a 0-d one, a stack of one
    that is not 0-d (of 0-d ones NumPy's 1-D, ``call_rank``), an index of a 0-d one."""
    if what in ("@", "np.matmul") and rank_ == 0:
        raise ShapeError(f"{where}: {what} of a scalar ({operand} is 0-d in NumPy; NumPy "
                         "refuses it): write * for the product by a number")
    if what in ("@", "np.matmul") and rank_ == 1:
        raise ShapeError(f"{where}: {operand} is NumPy's 1-D (1,), held here as the 1×1: its "
                         f"{what} is refused; write np.dot(x, y) for the product of two 1-D "
                         "values, np.sum(x) * y for a scaling")
    if what == "np.pad" and rank_ == 0:
        raise ShapeError(f"{where}: pad of a value of one entry ({operand}, NumPy's 0-d): "
                         "NumPy's pad of a 0-d value is the value itself, the text's would be "
                         "a matrix: write it without np.pad")
    if (what == "np.stack" and rank_ != 0) or (what in ("np.concatenate", "np.diag", "np.kron",
                                                        "np.repeat", "np.pad") and rank_ == 0):
        held = "0-d" if rank_ == 0 else "1-D (1,)" if rank_ == 1 else "2-D (1, 1)"
        raise ShapeError(f"{where}: {what[3:]} of a value of one entry ({operand}, NumPy's "
                         f"{held}) is not read: write np.concatenate of 1-D values, or "
                         "declare an input of the shape meant")
    if what == "index" and rank_ == 0:
        raise ShapeError(f"{where}: {operand} is 0-d in NumPy, which has no index (NumPy "
                         "refuses it)")
