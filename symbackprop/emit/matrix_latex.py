"""The matrix functions and structural nodes in LaTeX, as the literature writes them: det,
X⁻¹ and X⁻ᵀ, the norms (‖X‖_F, the entry-wise ‖X‖₁,₁), reductions along an axis
(max_col), slices as subscripts, an embedded cotangent or a padding as a block matrix,
vec, Kronecker products, the shared indicator 𝟏[X = M] ⊘ (𝟏[X = M]𝟏𝟏ᵀ), and the losses.
``printer.Printer`` inherits them; its ``_call``, ``_wrap`` and ``_ones`` write the calls,
bracketed operands and ones factors they are made of."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy import OneMatrix, Transpose
from sympy.printing.latex import LatexPrinter

from ..algebra import is_matrix
from ..functions import (
    DiagJacobian,
    Elementwise,
    Indicator,
    Softmax,
)
from ..notation import Kind
from ..rules import BY_NODE
from ..shapes import shape_of, tensor_dims
from ..structural import END, FULL


def kind_of(s: sp.Basic) -> Kind:
    shape = shape_of(s)
    if shape is None:
        return "scalar"
    if tensor_dims(shape) is not None:
        return "tensor"
    return "vector" if shape[1] == 1 else "matrix"


def softmax_latex(o: sp.Basic) -> str:
    """softmax normalises each column: a matrix that may have more than one column says so
    (attention and row-major batches normalise rows; the reader must not guess)."""
    cols = o.shape[1] if is_matrix(o) else sp.S.One
    return r"\operatorname{softmax}" if cols == 1 else r"\operatorname{softmax}_{\text{col}}"


def bracketed(e: sp.Basic) -> bool:
    """Whether ``e`` prints in brackets of its own: max's slope of matrices, (𝟏[A > B] +
    ½ 𝟏[A = B]), and the shared 𝟏[X = M] along an axis."""
    return (isinstance(e, Elementwise) and e.name == "Heaviside") or (
        isinstance(e, Indicator) and e.axis is not None)



class MatrixLatex(LatexPrinter):  # type: ignore[misc]
    """The printer's methods for matrix functions, structural nodes and losses."""

    if TYPE_CHECKING:  # the Printer's
        def _call(self, name: str, args: tuple[sp.Basic, ...]) -> str: ...

        def _wrap(self, e: sp.Basic, strong: bool = False) -> str: ...

        def _ones(self, m: OneMatrix, first: bool, last: bool) -> str: ...

    def _print_DiagJacobian(self, e: DiagJacobian) -> str:
        return rf"\operatorname{{diag}}\left({self._print(e.args[0])}\right)"

    def _print_Softmax(self, e: Softmax) -> str:
        return self._call(softmax_latex(e.args[0]), e.args)

    def _print_Determinant(self, e: Any) -> str:
        return self._call(r"\det", e.args)

    def _print_Inverse(self, e: Any) -> str:
        a = e.args[0]  # SymPy's Inverse also holds the exponent −1
        if isinstance(a, Transpose):  # (Xᵀ)⁻¹ = X⁻ᵀ
            return rf"{self._operand(a.args[0])}^{{-\top}}"
        return rf"{self._operand(a)}^{{-1}}"

    def _operand(self, a: sp.Basic) -> str:
        """``a`` ready for a superscript: a symbol as it is (braced when it has one: W⁽¹⁾),
        anything else in parentheses."""
        s = str(self._print(a))
        if not isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not bracketed(a):
            return rf"\left({s}\right)"
        return f"{{{s}}}" if "^" in s else s

    def _print_Norm(self, e: Any) -> str:
        (a,) = e.args
        sub = "_{F}" if kind_of(a) == "matrix" else ""
        return rf"\left\lVert {self._print(a)} \right\rVert{sub}"

    def _print_Norm1(self, e: Any) -> str:
        """The sum of the entries' absolute values: ‖x‖₁ of a vector; of a matrix (a row
        too) the entry-wise norm ‖X‖₁,₁ (the L_{p,q} norms' ‖vec X‖₁), as ‖X‖₁ is the
        largest column sum there (the literature's and NumPy's ord=1, as the reader reads it)."""
        (a,) = e.args
        sub = "1,1" if kind_of(a) == "matrix" else "1"
        return rf"\left\lVert {self._print(a)} \right\rVert_{{{sub}}}"

    def _print__MatrixReduction(self, e: Any) -> str:
        rule = BY_NODE.get(type(e))
        name = rule.latex if rule is not None and rule.latex else \
            rf"\operatorname{{{type(e).__name__}}}"
        return self._call(name, e.args)

    def _print__AlongAxis(self, e: Any) -> str:
        per = r"\text{col}" if e.axis == 0 else r"\text{row}"  # the max of each column/row
        name = r"\operatorname{logsumexp}" if e.which == "logsumexp" else rf"\{e.which}"
        return self._call(rf"{name}_{{{per}}}", e.args[:1])

    def _print_CumProd(self, e: Any) -> str:
        per = r"\text{col}" if e.axis == 0 else r"\text{row}"  # down each column / row
        return self._call(rf"\operatorname{{cumprod}}_{{{per}}}", e.args[:1])

    # structural ---------------------------------------------------------------------------
    def _indexed(self, a: sp.Basic) -> str:
        """``a`` ready for a subscript: a symbol braced when it has a sub- or superscript
        (a second subscript is a TeX error), anything else in parentheses."""
        s = str(self._print(a))
        if isinstance(a, (sp.Symbol, sp.MatrixSymbol)) and not s.startswith(r"\frac"):
            return f"{{{s}}}" if "_" in s or "^" in s else s
        if bracketed(a):
            return s
        return rf"\left({s}\right)"  # an adjoint ∂L/∂t too: (∂L/∂t)_{0:2}

    def _span(self, s: Any) -> str:
        start, stop, step = s
        if tuple(s) == FULL:
            return ":"
        if (step == 1 and stop != END and (stop - start) == 1) or (start, stop) == (-1, END):
            return str(self._print(start))  # one entry: its index
        out = f"{self._print(start)}:{'' if stop == END else self._print(stop)}"
        return out + (f":{self._print(step)}" if step != 1 else "")

    def _spans(self, shape: Any, rows: Any, cols: Any) -> str:
        """The subscript of a slice: a vector's one index, a matrix's two."""
        if shape[1] == 1 and shape[0] != 1:
            return self._span(rows)
        if shape[0] == 1 and shape[1] != 1:
            return self._span(cols)
        return rf"{self._span(rows)},\,{self._span(cols)}"

    def _print_Slice(self, e: Any) -> str:
        x = e.args[0]
        return f"{self._indexed(x)}_{{{self._spans(x.shape, *e.spans)}}}"

    def _block_matrix(self, inner: str, sizes: tuple[Any, Any, Any, Any], fill: str) -> str:
        """``inner`` with blocks of ``fill`` before and after it along each axis (a block of
        size 0 left out)."""
        rb, ra, cb, ca = sizes
        rows = [k for k, n in (("b", rb), ("m", 1), ("a", ra)) if n != 0]
        cols = [k for k, n in (("b", cb), ("m", 1), ("a", ca)) if n != 0]
        if rows == cols == ["m"]:
            return inner
        body = r" \\ ".join(" & ".join(inner if (r, c) == ("m", "m") else fill for c in cols)
                              for r in rows)
        return rf"\begin{{bmatrix}} {body} \end{{bmatrix}}"

    def _print_Embed(self, e: Any) -> str:
        g, like = e.args[0], e.args[1]
        rows, cols = e.spans
        if rows[2] != 1 or cols[2] != 1:  # a strided slice: no block form
            return rf"\operatorname{{scatter}}_{{{self._spans(like.shape, rows, cols)}}}" \
                   rf"\left({self._print(g)}\right)"
        sizes: list[Any] = []
        for n, (start, stop, _) in zip(like.shape, (rows, cols), strict=True):
            lo = start + n if start.is_negative else start
            hi = n if stop == END else (stop + n if stop.is_negative else stop)
            sizes += [lo, n - hi]
        return self._block_matrix(self._print(g), tuple(sizes), r"\mathbf{0}")  # type: ignore

    def _print_Pad(self, e: Any) -> str:
        fill = e.args[2]
        block = r"\mathbf{0}" if fill == 0 else rf"{self._print(fill)}\,\mathbf{{1}}"
        return self._block_matrix(self._print(e.args[0]), e.widths, block)

    def _print_Concat(self, e: Any) -> str:
        sep = r" \\ " if e.axis == 0 else " & "
        return rf"\begin{{bmatrix}} {sep.join(self._print(x) for x in e.blocks)} \end{{bmatrix}}"

    def _print_Reshape(self, e: Any) -> str:
        x = e.args[0]
        rows, cols = e.shape
        if cols == 1 and x.shape[1] != 1:  # row by row into a column: vec of the transpose
            return rf"\operatorname{{vec}}\left({self._print(Transpose(x))}\right)"
        return rf"\operatorname{{reshape}}_{{{self._print(rows)} \times {self._print(cols)}}}" \
               rf"\left({self._print(x)}\right)"

    def _print_Kron(self, e: Any) -> str:
        """A ⊗ B; a ones factor (tile, repeat) with its size: 𝟏_{2×3} ⊗ X."""
        return r" \otimes ".join(
            rf"\mathbf{{1}}_{{{self._print(a.shape[0])} \times {self._print(a.shape[1])}}}"
            if isinstance(a, OneMatrix) else self._wrap(a, strong=True) for a in e.args)

    def _print_KronLeft(self, e: Any) -> str:
        g, b = e.args
        return rf"\left[\left\langle {self._indexed(g)}_{{(i,j)}}, {self._print(b)}" \
               rf"\right\rangle\right]_{{i,j}}"

    def _print_KronRight(self, e: Any) -> str:
        g, a = e.args
        weight = "" if isinstance(a, OneMatrix) else rf"{self._indexed(a)}_{{ij}}\,"
        return rf"\sum_{{i,j}} {weight}{self._indexed(g)}_{{(i,j)}}"

    def _print_Indicator(self, e: Any) -> str:
        """𝟏[X = M]; along an axis, divided by the number of ties in each row (column) that
        shares the slope: 𝟏[X = M] ⊘ (𝟏[X = M] 𝟏𝟏ᵀ), bracketed whole."""
        a, b = (self._print(x) for x in e.args[:2])
        hit = rf"\mathbf{{1}}\left[{a} = {b}\right]"
        if e.axis is None:
            return hit
        m, n = e.shape
        ones = self._ones(OneMatrix(n, n) if e.axis == 1 else OneMatrix(m, m), False, False)
        count = rf"{hit}\,{ones}" if e.axis == 1 else rf"{ones}\,{hit}"
        return rf"\left({hit} \oslash \left({count}\right)\right)"

    def _print_Item(self, e: Any) -> str:
        return str(self._print(e.args[0]))  # xᵀAx is a scalar: no [·]₁₁

    def _print_SumAll(self, e: Any) -> str:
        return self._call(r"\operatorname{sum}", e.args)

    def _print_SqNorm(self, e: Any) -> str:
        (a,) = e.args
        sub = "_{F}" if kind_of(a) == "matrix" else ""
        return rf"\left\lVert {self._print(a)} \right\rVert{sub}^{{2}}"

    def _print_MSE(self, e: Any) -> str:
        o, y = e.args
        diff = f"{self._print(o)} - {self._wrap(y)}"  # o − (a + b), never o − a + b
        return rf"\tfrac{{1}}{{2}}\left\lVert {diff} \right\rVert^{{2}}"

    def _print_CrossEntropy(self, e: Any) -> str:
        o, y = e.args
        logp = rf"\log {softmax_latex(o)}\left({self._print(o)}\right)"
        if kind_of(o) == "vector":
            return rf"-{self._print(Transpose(y))}\,{logp}"
        return rf"-\operatorname{{sum}}\left({self._print(y)} \odot {logp}\right)"
