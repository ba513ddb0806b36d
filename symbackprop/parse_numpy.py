"""NumPy's 1-D values as the parser meets them in text that uses a library's call: 1-D
values of one length side by side or in a product read as NumPy reads them, a new axis, and
each call's result marked 1-D or 2-D (numpy_ranks.py says which). A mixin of parse.py's
``_Parser``."""

from __future__ import annotations

import ast
from typing import Any

import sympy as sp
from sympy import OneMatrix

from . import indexing, numpy_ranks, ops, structural_calls
from .algebra import is_matrix, mscale
from .builder import Term
from .composites import COMPOSITES
from .errors import ShapeError
from .parse_code import ALIASES
from .parse_tree import Tree, keeps_dims
from .rules import FUNCTION_NAMES
from .shapes import fmt_shape, shape_of, tensor_dims

_ELEMENTWISE = FUNCTION_NAMES | {"maximum", "minimum", "hypot"}  # of two operands or more
_ARITHMETIC = frozenset(COMPOSITES) - {  # the element-wise ones written out, and ⊙
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "diag", "diagonal", "dot",
    "hinge", "inner", "logistic_loss", "matmul", "matrix_power", "mse_loss",
    "multiclass_hinge", "outer", "solve", "std", "svm_loss", "vdot"} | {"hadamard",
                                                                         "transpose"}
# the calls of NumPy's 1-D values held as rows (X[0]) that read them as their columns, as
# the other 1-D values are held (np.repeat(X[0], 2, axis=0) repeats its entries; einsum
# gives each one letter: np.einsum('i,i->', X[0], u))
_ONE_AXIS = frozenset({"repeat", "concatenate", "hstack", "tile", "cumsum", "cumprod", "flip",
                       "stack", "kron", "diag", "einsum"})


def _element_wise(node: ast.AST, n: int) -> bool:
    """Whether ``node`` is an element-wise operation of its ``n`` operands."""
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod))
    if isinstance(node, (ast.UnaryOp, ast.Compare, ast.Attribute)):  # (.T of a 1×1 too)
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        name = ALIASES.get(node.func.id, node.func.id)
        return (name in _ELEMENTWISE or name in _ARITHMETIC) and (
            n > 1 or name not in ("max", "min"))
    return False


class NumpyReading(Tree):
    """The parser's reading of NumPy's 1-D values (parse.py's ``_Parser`` adds the rest)."""

    def numpy_columns(self, node: ast.AST, args: list[Term]) -> list[Term]:
        """NumPy's 1-D values of one length side by side, element-wise (``x + X[0]``,
        ``np.maximum(np.ravel(A), B[2])``) or in ``np.dot``/``@`` of two: those held as rows
        (``X[0]``, a reduction along axis 0) are read as their columns, as the others are
        held (a vector declared ``(n,)``, ``np.ravel``), so the result is 1-D too; the
        witness transposes them so too (``b.columns``), and reads such an ``@`` as the dot
        product (``b.dots``)."""
        b = self.b
        if isinstance(node, ast.BinOp):
            pair = isinstance(node.op, ast.MatMult)
            if not (pair or isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div))):
                return args
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = ALIASES.get(node.func.id, node.func.id)
            if node.func.id in _ONE_AXIS and any(is_matrix(a) and b.is_row(a) for a in args):
                return [self.transposed(k, a, b.flat) if is_matrix(a) and b.is_row(a) else a
                        for k, a in zip(self.children(node), args, strict=True)]
            if node.func.id in ("norm", "pad") and args and is_matrix(args[0]) and (
                    b.is_row(args[0]) or b.is_flat(args[0])):
                # NumPy's norm of a 1-D value is a vector's, of the row (1, n) a matrix's;
                # its pad pads its ends, the row's every side
                if node.func.id == "pad":
                    b.ends.add((self.offset(node), self.end_offset(node)))
                if b.is_row(args[0]):
                    return [self.transposed(self.children(node)[0], args[0], b.flat),
                            *args[1:]]
                return args
            pair = name in ("dot", "vdot") and len(args) == 2  # (vdot: of their entries)
            if name == "matmul" and len(args) == 2:
                return self.numpy_sides(node, args)
            if not pair and (name not in _ELEMENTWISE or node.keywords or len(args) < 2):
                return args
        else:
            return args
        vdot = isinstance(node, ast.Call) and getattr(node.func, "id", None) == "vdot"
        if pair and not vdot:  # (vdot: of their entries, whatever their shapes)
            args = self.numpy_sides(node, args)
        mats = [a for a in args if is_matrix(a) and shape_of(a) not in (None, (1, 1))]
        rows = [a for a in mats if b.is_row(a)]
        lengths = {shape_of(a)[1] if a in rows else shape_of(a)[0]  # type: ignore[index]
                   for a in mats}
        if (not rows and not pair) or len(lengths) != 1 or (pair and len(mats) != 2) \
                or (not pair and len(rows) == len(mats)) \
                or not all(a in rows or b.is_flat(a) for a in mats):
            return args
        out = list(args)
        for i, c in enumerate(self.children(node)):
            if out[i] in rows:
                out[i] = self.transposed(c, out[i], b.flat)
        if pair and isinstance(node, ast.BinOp):
            b.dots.add((self.offset(node), self.end_offset(node)))
        return out

    def numpy_sides(self, node: ast.AST, args: list[Term]) -> list[Term]:
        """A matrix times NumPy's 1-D value as NumPy reads it: ``A @ Y[1]``,
        ``np.dot(A, Y[1])`` (1-D held as a row) take its column, ``x @ A``, ``np.dot(x, A)``
        (held as a column) its row; the witness transposes it so too."""
        b = self.b
        x, y = args
        sx, sy = shape_of(x), shape_of(y)
        if sx is None or sy is None or tensor_dims(sx) is not None \
                or tensor_dims(sy) is not None:
            return args
        kids = self.children(node)
        if 1 not in sx and b.is_row(y) and sx[1] == sy[1] and not b.is_flat(x) \
                and not b.is_row(x):
            return [x, self.transposed(kids[1], y, b.flat)]
        if 1 not in sy and b.is_flat(x) and sx[0] == sy[0] and not b.is_row(y) \
                and not b.is_flat(y):
            return [self.transposed(kids[0], x, b.rows), y]
        return args

    def transposed(self, c: ast.AST, t: Term, marked: set[sp.Basic]) -> Term:
        """NumPy's 1-D ``t`` (written as ``c``) held the other way, a column or a row."""
        out = ops.transpose(self.b, t, self.source(c))
        marked.add(out)
        self.b.columns.add((self.offset(c), self.end_offset(c)))
        return out

    def numpy_norm(self, node: ast.Call, x: Term, order: Any) -> Term | None:
        """NumPy's ``norm(x, ord)`` of a value it holds 2-D though its shape is a vector's
        (a column (n, 1), a row (1, n), a 1×1): the matrix norm, which for such an array is a
        vector norm of another order (ord -1 of a column is Σ|x|, -2 and 'nuc' its 2-norm);
        the orders NumPy refuses for a matrix are refused. None where the text's reading is
        NumPy's already; the witness takes NumPy's matrix norm there (``b.matrices``). Of a
        1-D value, 'fro' and 'nuc' are refused (NumPy's are a matrix's only)."""
        b, s = self.b, shape_of(x)
        inf, where = float("inf"), self.source(node)
        if is_matrix(x) and (b.is_flat(x) or b.is_row(x)) and order in ("fro", "nuc"):
            raise ShapeError(f"{where}: ord {order!r} is a matrix norm's, and this is NumPy's "
                             "1-D value (NumPy refuses it): write np.linalg.norm(x) or ord=2 "
                             "for its Euclidean norm")
        if order is not None and (not is_matrix(x) or s == (1, 1)) \
                and getattr(x, "is_number", False) is not True:
            return self.one_entry_norm(node, x, order)
        if not is_matrix(x) or s is None or tensor_dims(s) is not None or 1 not in s \
                or b.is_flat(x) or b.is_row(x) or order is None or (
                    order == "fro" and s != (1, 1)):
            return None
        if s == (1, 1) and order not in (1, -1, 2, -2, inf, -inf):
            raise ShapeError(f"{where}: ord {order!r} of a value of one entry: NumPy's norm of "
                             "it differs as it is 1-D (1,) or 2-D (1, 1), which this text does "
                             "not tell apart: write np.abs(x)")
        if order not in (1, -1, 2, -2, inf, -inf, "nuc"):
            raise ShapeError(f"{where}: NumPy's norm of a 2-D array {fmt_shape(s)} is a "
                             "matrix norm, whose ord is None, 'fro', 'nuc', 1, -1, 2, -2, inf "
                             f"or -inf, not {order!r} (NumPy refuses it): for the vector's "
                             "norm write np.linalg.norm(np.ravel(x), ord)")
        if order in (1, 2, inf, -inf) or (order == -1 and s[0] == 1 and s[1] != 1):
            return None  # the text's norm of it is NumPy's matrix norm already
        b.matrices.add((self.offset(node), self.end_offset(node)))
        vector = 1 if order == -1 else 2 if order in (-2, "nuc") else order
        return indexing.norm(b, x, vector, where)

    def one_entry_norm(self, node: ast.Call, x: Term, order: Any) -> Term:
        """NumPy's ``norm(x, ord)`` of a value of one entry: |x| for the orders NumPy takes of
        its rank (a vector's of a 1-D (1,), a matrix's of a 2-D (1, 1)); of a 0-d value, or
        one whose rank the text does not follow, refused."""
        b, where, inf = self.b, self.source(node), float("inf")
        rank = b.entry_rank(x)
        matrix = (1, -1, 2, -2, inf, -inf, "fro", "nuc")
        if rank is None or rank == 0 or (rank == 1 and (order in ("fro", "nuc") or order == 0)) \
                or (rank == 2 and order not in matrix):
            held = {None: "of a rank this text does not follow (0-d, 1-D (1,) or 2-D (1, 1))",
                    0: "0-d in NumPy", 1: "NumPy's 1-D (1,)", 2: "NumPy's 2-D (1, 1)"}[rank]
            raise ShapeError(f"{where}: ord {order!r} of a value of one entry, {held}: NumPy's "
                             "norm of it takes no such ord (or differs by its rank): write "
                             "np.abs(x)")
        if rank == 2:
            b.matrices.add((self.offset(node), self.end_offset(node)))  # NumPy's matrix norm
        return indexing.norm(b, x, 2, where) if is_matrix(x) else ops.apply(b, "abs", [x], where)

    def numpy_one_entry(self, node: ast.AST, args: list[Term], out: Term, since: int) -> Term:
        """NumPy's rank of a value of one entry, which the text holds alike as a scalar or a
        1×1 (0-d ``np.sum(A)``, ``x[0]``; 1-D ``u[0]`` of a column, ``np.sum(u, axis=0)``, an
        input declared (1,); 2-D ``u.T @ v``, a keepdims reduction, ``A[0:1, 1:2]``, an input
        declared (1, 1)), recorded (``b.entry_ranks``): a term that another reading built
        already, of another rank, gets a name of its own. A 2-D value of one entry, or one
        whose rank the text does not follow, beside NumPy's 1-D value is refused: NumPy's
        result is the 2-D row (1, n), where the text's stays 1-D."""
        b = self.b
        if _element_wise(node, len(args)):
            self.one_entry_beside(node, args)
        if (is_matrix(out) and shape_of(out) != (1, 1)) or isinstance(node, ast.Name) \
                or getattr(out, "is_number", False) is True:
            return out
        rank = self.entry_rank_of(node, args)
        if rank == b.entry_rank(out):
            return out
        if not isinstance(out, (sp.Symbol, sp.MatrixSymbol)) or out in b.inputs \
                or out in args or not any(eq.lhs == out for eq in b.nodes[since:]):
            out = b.alias(out)  # (np.ravel(E) is E in the text, 1-D in NumPy)
        if rank is None:
            b.entry_ranks.pop(out, None)
        else:
            b.entry_ranks[out] = rank
        return out

    def one_entry_beside(self, node: ast.AST, args: list[Term]) -> None:
        """An element-wise operation of NumPy's 1-D value and a 2-D value of one entry (or one
        whose rank the text does not follow): refused."""
        b = self.b
        if not any(not (is_matrix(a) and shape_of(a) != (1, 1)) and b.entry_rank(a) in (2, None)
                   and not getattr(a, "is_number", False) for a in args):
            return
        for a in args:
            s = shape_of(a)
            if is_matrix(a) and s not in (None, (1, 1)) and (b.is_flat(a) or b.is_row(a)):
                n = max(s)  # type: ignore[type-var]
                raise ShapeError(f"{self.source(node)}: a 2-D value of one entry (1, 1) (or "
                                 f"one whose NumPy rank this text does not follow) beside "
                                 f"NumPy's 1-D ({n},): NumPy's result of a 2-D one is the 2-D "
                                 f"row (1, {n}), where this text's stays 1-D: write np.sum(e) "
                                 "(a scalar) for a 1-D result, or .reshape(1, -1) of the 1-D "
                                 "value for the row")

    def entry_rank_of(self, node: ast.AST, args: list[Term]) -> int | None:
        """NumPy's rank of the value of one entry that ``node`` makes of ``args``; None where
        the text does not follow it."""
        b = self.b
        ranks = [numpy_ranks.rank(b, a) for a in args]
        known = None if None in ranks else [r for r in ranks if r is not None]
        if isinstance(node, ast.Constant):
            return 0
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            return numpy_ranks.product_rank(ranks)
        if isinstance(node, ast.Subscript):
            if structural_calls.new_axis(node) is not None or known is None:
                return None
            key = structural_calls.read_key(node)
            return known[0] - sum(type(k) is int for k in key)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and not _element_wise(node, len(args)):
            name = ALIASES.get(node.func.id, node.func.id)
            static, kw = self.static_of(node)
            return numpy_ranks.entry_call_rank(
                b, name, args, static, kw.get("axis"),
                any(keeps_dims(k) for k in node.keywords))
        if not _element_wise(node, len(args)) and not isinstance(node, ast.Attribute):
            return None
        return None if known is None or not known else max(known)

    def entry_operands(self, node: ast.AST, args: list[Term]) -> list[Term]:
        """The operands of one entry of a call whose NumPy result follows their rank (a
        product, an index, a join, a pad, a reduction along an axis): one whose rank the
        text does not follow is refused; a 1-D or 2-D one held as a scalar is taken to its
        1×1 (np.inner(u.T @ u, u) is NumPy's (1, n), not a scaled column)."""
        b = self.b
        name, axis = None, None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = ALIASES.get(node.func.id, node.func.id)
            axis = self.static_of(node)[1].get("axis")
        subscript = isinstance(node, ast.Subscript) \
            and structural_calls.new_axis(node) is None
        what = numpy_ranks.entry_context(
            name, isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult), subscript,
            axis)
        if what is None or isinstance(axis, tuple):
            return args
        kids, where = self.children(node), self.source(node)
        out = list(args)
        for i, (k, a) in enumerate(zip(kids, args, strict=False)):
            if (is_matrix(a) and shape_of(a) != (1, 1)) or getattr(a, "is_number", False) \
                    or (i and (subscript or axis is not None)):
                continue
            rank = b.entry_rank(a)
            if rank is None:
                raise ShapeError(f"{where}: {self.source(k)} has one entry, and NumPy's "
                                 f"{what} of it differs as it is 0-d, 1-D (1,) or 2-D (1, 1), "
                                 "which this text does not follow for it: write np.sum(...) "
                                 "of it for a number, or declare an input (1,) or (1, 1) in "
                                 "its place")
            numpy_ranks.entry_product(what, rank, where, self.source(k))
            used = len(structural_calls.read_key(node)) if isinstance(node, ast.Subscript) \
                and subscript else \
                0 if axis is None else (axis if axis >= 0 else -axis - 1) + 1
            if used > rank:
                raise ShapeError(f"{where}: {self.source(k)} has {rank} ax"
                                 f"{'is' if rank == 1 else 'es'} in NumPy (a value of one "
                                 "entry), fewer than this reads (NumPy refuses it)")
            if rank:  # the witness takes it as its 1×1 too
                b.one_entries.add((self.offset(k), self.end_offset(k), 2))
            if rank and not is_matrix(a):
                out[i] = b.node(mscale(a, OneMatrix(1, 1)))
                b.entry_ranks[out[i]] = rank
            elif not rank and is_matrix(a) and name in ("dot", "inner"):
                out[i] = indexing.index(b, a, (0, 0), where)  # NumPy's product by a number
                b.entry_ranks[out[i]] = 0
                b.one_entries.add((self.offset(k), self.end_offset(k), 0))
        return out

    def two_d_product(self, node: ast.Call, args: list[Term]) -> None:
        """``np.inner(x, y)`` of a 2-D column (x yᵀ, composites.py) and ``np.dot(u, E)`` of
        one and a 1×1 (the matrix product): the witness takes NumPy's own (``b.matrices``)."""
        b, inner = self.b, isinstance(node.func, ast.Name) and node.func.id == "inner"
        if (inner and any(b.two_d_column(a) for a in args)) or (
                b.two_d_column(args[0]) and shape_of(args[1]) == (1, 1)):
            b.matrices.add((self.offset(node), self.end_offset(node)))

    def one_entry_pad(self, node: ast.Call, args: list[Term]) -> None:
        """``np.pad`` of a value of one entry: NumPy pads a 1-D (1,) at its ends, a 2-D
        (1, 1) on every side; the text holds both as the 1×1, so only NumPy's 2-D one (an
        input declared (1, 1), ``u.T @ u``: ``Builder.two_d_entry``) is padded (as a
        matrix); the rest is refused."""
        kids = self.children(node)
        if not args or not kids or (is_matrix(args[0]) and shape_of(args[0]) != (1, 1)):
            return  # (a scalar is one entry too: u[0] of a column is NumPy's 1-D (1,))
        if is_matrix(args[0]) and self.b.two_d_entry(args[0]):
            return  # NumPy's (1, 1): an input declared so, u.T @ u, a keepdims sum
        raise ShapeError(f"{self.source(node)}: pad of a value of one entry: NumPy pads a 1-D "
                         "(1,) at its ends, a 2-D (1, 1) on every side, and this text holds "
                         "both as the 1×1: a 1-D value of one entry is not padded here; a 2-D "
                         "one (an input declared (1, 1), u.T @ u) is padded as a matrix")

    def new_axis(self, node: ast.Subscript, v: Term) -> Term:
        """``v[:, None]`` (``np.newaxis``) of NumPy's 1-D ``v`` in library-spelled text: its
        column (n, 1), 2-D; ``v[None, :]`` its row (1, n); of anything else refused (the
        witness reshapes it so: source.py)."""
        b, column = self.b, structural_calls.new_axis(node) == 1
        if b.library is None or not is_matrix(v) or not (b.is_flat(v) or b.is_row(v)):
            raise self.error(node, f"{self.source(node)}: a new axis is read only of NumPy's "
                             "1-D value (v[:, None] its column, v[None, :] its row) in "
                             "library-spelled text: write v.reshape(-1, 1) for a column "
                             "(n, 1), v.reshape(1, -1) for a row (1, n)")
        if b.is_flat(v) != column:
            return ops.transpose(b, v, self.source(node))
        return b.as_numpy(v, False, len(b.nodes))  # the same entries, 2-D

    def numpy_rank(self, node: ast.Call | ast.Subscript, args: list[Term], out: Term,
                   since: int) -> Term:
        """``out`` marked as NumPy holds it (1-D or 2-D), in text that uses a library's
        call (numpy_ranks.py)."""
        b = self.b
        if isinstance(node, ast.Subscript) and structural_calls.new_axis(node) is not None:
            return out  # v[:, None]: 2-D (new_axis)
        if isinstance(node, ast.Subscript):
            rank = numpy_ranks.index_rank(b, args[0], structural_calls.read_key(node),
                                          self.source(node))
        else:
            assert isinstance(node.func, ast.Name)
            if any(keeps_dims(k) for k in node.keywords):
                return b.as_numpy(out, False, since)  # keepdims=True: 2-D, as the text's
            static, kw = self.static_of(node)
            rank = numpy_ranks.call_rank(b, ALIASES.get(node.func.id, node.func.id), args,
                                         static, kw.get("axis"))
        return out if rank is None else b.as_numpy(out, rank == 1, since)
