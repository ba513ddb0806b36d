"""Readings of the parser that depend on shapes or on how the source was typed.

Paper notation and LaTeX write some things that code spells otherwise: ``|Σ|`` of a square
matrix is its determinant, ``\\sum_i`` reads a summand entry by entry, ``X⁻¹ᵀ`` transposes
the power, ``W^(1)`` with W1 declared is the layer's W⁽¹⁾, ``‖W‖₂`` of a matrix is read as
Frobenius. Each is read as the literature means it, with a reading in ``d.readings``, or
refused with what to write; never read as another function in silence.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from typing import Any

import sympy as sp

from . import ops
from .builder import Term
from .errors import ParseError
from .latex_sums import VECTOR_FORM
from .parse_code import CodeText
from .shapes import fmt_shape, shape_of, tensor_dims

_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


class Readings(CodeText):
    """The parser's readings of notation (parse.py's ``_Parser`` adds the rest)."""

    def layer_not_power(self, node: ast.BinOp) -> None:
        """``W^(1)`` written for the layer's W⁽¹⁾: a power of W, a name nobody declared,
        while W1 is declared, is refused, never a new scalar input W (a power 1 of it)."""
        base, k = node.left, node.right
        if self.paper_power(node) and isinstance(base, ast.Name) and isinstance(
                k, ast.Constant) and type(k.value) is int and 0 <= k.value < 1000:
            layer = f"{base.id}{k.value}"
            if base.id not in self.b.shapes and layer in self.b.shapes:
                raise self.error(node, f"{base.id}^({k.value}) is the power {k.value} of "
                                 f"{base.id}, which is not declared, while {layer} is: "
                                 f"write {layer} (or {base.id}⁽{str(k.value).translate(_SUP)}⁾)"
                                 " for the layer's")

    def matrix_divisor(self, node: ast.AST, y: Term) -> None:
        r"""``\frac{1}{\mathbf{A}}``, ``\mathbf{B}/\mathbf{A}`` in LaTeX: a division by a
        matrix (not a row or column) is entry by entry, as the text's ``/`` is; a reader may
        expect the inverse, so a reading says so (in code ``/`` is NumPy's, no reading)."""
        shape = shape_of(y) if self.syntax == "latex" else None
        if shape is not None and tensor_dims(shape) is None and shape[0] != 1 \
                and shape[1] != 1:
            self.note(f"the division by {self.source(node)}, a {shape[0]}×{shape[1]} matrix, "
                      "read entry by entry (⊘; its inverse is written ^{-1})")

    def check_spectral(self, node: ast.Call, x: Term) -> None:
        """‖X‖₂ of a matrix (not a vector): the literature's spectral norm, which has no rule,
        or ML papers' ℓ2 weight decay ‖W‖₂², the Frobenius norm. Read as the latter, never
        silently: a reading says so."""
        shape = shape_of(x) if self.offset(node) in self.read().spectral else None
        if shape is not None and shape[0] != 1 and shape[1] != 1:
            self.note(f"‖{self.source(node.args[0])}‖₂ of a matrix read as the Frobenius "
                      "norm ‖·‖_F, as ML papers' ℓ2 weight decay means it (the spectral norm, "
                      "the largest singular value, is not a primitive)")

    def column_softmax(self, node: ast.Call, x: Term) -> None:
        r"""``softmax(X)`` of an m×n matrix (m, n > 1) without an axis: each column (our
        layout: classes down, samples across), where attention papers mean each row
        (``softmax(QKᵀ/√d)V``); a reading says so, and how to write the rows."""
        shape = shape_of(x)
        if shape is None or tensor_dims(shape) is not None or 1 in (shape[0], shape[1]):
            return
        fn = node.func.id  # type: ignore[attr-defined]
        latex = self.syntax == "latex"  # (its code is no source to quote)
        rows = r"\operatorname{softmax}_{\text{row}}(…)" if latex else f"{fn}(…, axis=1)"
        written = r"\operatorname{softmax}(…)" if latex else \
            f"{fn}({self.source(node.args[0])})"
        self.note(f"{written} of a {shape[0]}×{shape[1]} matrix read "
                  f"down each column (each column normalised: classes down, samples across); "
                  f"for each row, as attention papers mean it, write {rows}")

    def bars(self, node: ast.Call, x: Term) -> Term:
        """``|Σ|``, ``\\left|X\\right|``: of a square matrix (not 1×1) the determinant, as
        the Matrix Cookbook, Bishop and Wikipedia write it; of a matrix that is not square,
        the absolute values of its entries; of a number or a vector, those (no reading)."""
        shape = shape_of(x)
        where = self.source(node.args[0])
        if shape is None or tensor_dims(shape) is not None or 1 in (shape[0], shape[1]):
            return ops.apply(self.b, "abs", [x], self.source(node))
        if sp.simplify(shape[0] - shape[1]) == 0:
            self.note(f"|{where}| of a square matrix read as its determinant det({where}), "
                      "as the Matrix Cookbook and Bishop write it (for the absolute values "
                      f"of its entries write abs({where}), \\operatorname{{abs}} in LaTeX)")
            at = self.offset(node)  # the code says det( too: what check() runs reads it
            code = self.read().code
            self.code = code[:at] + "det(" + code[at + 4:]
            self.reading = replace(self.read(), code=self.code)
            return ops.apply(self.b, "det", [x], self.source(node))
        self.note(f"|{where}| of a {shape[0]}×{shape[1]} matrix (not square: no determinant) "
                  "read as the absolute values of its entries, abs(…)")
        return ops.apply(self.b, "abs", [x], self.source(node))

    def check_summand(self, node: ast.Name, value: Term) -> None:
        """A name in the summand of an index sum (``\\sum_i``, read entry by entry): with
        the index (``x_i``), a vector, of one shape in the summand; without it, a number.
        Anything else (a matrix's x_i, an unindexed w or W) is refused with the vector form
        to write: broadcast entry by entry it would be another function, silently."""
        at = self.offset(node)
        inside = [(lo, hi, i) for lo, hi, i in self.read().summands if lo <= at < hi]
        if not inside:
            return
        lo, hi, index = inside[-1]
        shape = shape_of(value)
        if shape is not None and tensor_dims(shape) is None and shape[0] == shape[1] == 1:
            shape = None  # a 1×1 is a number
        name = node.id
        if at in self.read().rows:  # wᵀxᵢ: entry i of x·w, an (n, 1) entry of the summand
            if shape is not None and 1 not in (shape[0], shape[1]):
                self.entry_shape(node, lo, hi, index, name, (shape[0], sp.Integer(1)))
            return
        if at not in self.read().entries:
            if shape is not None:
                raise self.error(node, f"\\sum_{index}: {name} is a {_kind(shape)} without the "
                                 f"index {index}: inside an index sum the factors without it "
                                 f"are numbers (products are read entry by entry); {VECTOR_FORM}")
            return
        if shape is None:
            return
        if tensor_dims(shape) is not None or 1 not in (shape[0], shape[1]):
            raise self.error(node, f"\\sum_{index}: {name}_{index} of the {_kind(shape)} {name} "
                             f"is not read: inside an index sum a name with the index is a "
                             f"vector, read entry by entry (a row or column of a matrix is "
                             f"not); {VECTOR_FORM}")
        self.entry_shape(node, lo, hi, index, name, shape)

    def entry_shape(self, node: ast.Name, lo: int, hi: int, index: str, name: str,
                    shape: Any) -> None:
        """The vectors of one index sum have one shape (x_i, y_i both (n, 1)): a column
        against a row would broadcast to a matrix, silently."""
        first = self.summand_shapes.setdefault((lo, hi), (name, shape))
        if first[1] != shape:
            raise self.error(node, f"\\sum_{index}: {first[0]}_{index} and {name}_{index} are "
                             f"entries of vectors of shapes {fmt_shape(first[1])} and "
                             f"{fmt_shape(shape)}: the vectors of an index sum have one shape")

    def transposed_powers(self, tree: ast.AST) -> None:
        """``X⁻¹ᵀ``, ``X^{-1}^{T}``, ``X^(-1)^T``, ``X⁻¹.T``, ``X²ᵀ``, ``X**(-1)ᵀ`` read as
        code ``X**(-1).T``, where Python binds ``.T`` before ``**``: the transpose would fall
        on the exponent, a number, and vanish. On paper it is the power's, so each such
        power is rewritten in place as ``(X**(-1)).T``. A typed ``X**(-1).T`` (NumPy's
        ``**``, Python's ``.T``) is left as Python reads it, and refused when the exponent
        is a number (``build_one``)."""
        for node in list(ast.walk(tree)):
            for field, value in ast.iter_fields(node):
                if isinstance(value, list):
                    value[:] = [self.power_transposed(v) for v in value]
                elif isinstance(value, ast.BinOp):
                    setattr(node, field, self.power_transposed(value))

    def power_transposed(self, node: Any) -> Any:
        """``node`` (a ``**`` whose exponent ends in ``.T``) as the transpose of the power,
        when paper notation wrote it; else ``node``."""
        if not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow)):
            return node
        signs: list[ast.UnaryOp] = []
        exponent = node.right
        while isinstance(exponent, ast.UnaryOp):  # X^-1.T: -(1 .T)
            signs.append(exponent)
            exponent = exponent.operand
        if not isinstance(exponent, ast.Attribute):
            return node
        attrs: list[ast.Attribute] = []
        while isinstance(exponent, ast.Attribute) and exponent.attr == "T":
            attrs.append(exponent)
            exponent = exponent.value
        if not attrs:
            return node
        written = self.transpose_char(attrs[-1])
        if written == "." and not self.paper_power(node):
            self.exponent_transposes[id(attrs[-1])] = self.source(node)  # Python's reading
            return node
        inner: ast.expr = exponent
        for sign in reversed(signs):  # the signs, around the exponent without its .T
            sign.operand = inner
            sign.end_lineno, sign.end_col_offset = inner.end_lineno, inner.end_col_offset
            inner = sign
        node.right = inner
        node.end_lineno, node.end_col_offset = inner.end_lineno, inner.end_col_offset
        out: ast.expr = node
        for a in reversed(attrs):  # (X**(-1)).T, its span the whole
            a.value = out
            a.lineno, a.col_offset = node.lineno, node.col_offset
            out = a
        return out

    def number_transposed(self, node: ast.Attribute) -> ParseError:
        """The error for ``.T`` of a number: it has no transpose, so it would vanish."""
        power = self.exponent_transposes.get(id(node))
        if power is not None:
            return self.error(node, f"{power}: Python binds .T before **, so this transposes "
                              f"the exponent {self.source(node.value)}, a number, which has "
                              "no transpose; bracket the power to transpose it, (X**k).T "
                              "(inv(X).T or X⁻ᵀ for the inverse)")
        return self.error(node, f"{self.source(node)}: a transpose of the number "
                          f"{self.source(node.value)}, which has none; bracket what it "
                          "transposes ((X⁻¹)ᵀ)")


def _kind(shape: Any) -> str:
    """``(3, 3) matrix``, ``(3, 1) vector`` for a message."""
    what = "tensor" if tensor_dims(shape) is not None else \
        "vector" if 1 in (shape[0], shape[1]) else "matrix"
    return f"{fmt_shape(shape)} {what}"
