"""Structural primitives: slices, blocks, reshapes, padding and the Kronecker product — each
one ``Rule`` of the table (``rules.RULES`` takes them from ``STRUCTURAL``), with the nodes
their backward passes write.

A structural operation moves entries without computing with them, so its VJP moves the
cotangent back: a slice's is the scatter (``∂L/∂X`` is ``∂L/∂Y`` inside the slice and 0
outside, written as a block matrix with zero blocks); a block matrix's splits into the
blocks (``∂L/∂X = (∂L/∂Z)_{0:m,:}`` for ``Z = [X; Y]``); a reshape's reshapes back; padding's
is the slice that drops the border; the Kronecker product's are ``[⟨G_{(i,j)}, B⟩]_{ij}`` and
``Σ_{ij} a_{ij} G_{(i,j)}``, with ``G_{(i,j)}`` the block of G that ``a_{ij} B`` produced.
Tiling and repeating are Kronecker products with a ones matrix (``tile(X, (a, b)) = 𝟏 ⊗ X``,
``repeat(X, k, axis=0) = X ⊗ 𝟏_k``). Indices are NumPy's: from 0, a stop excluded, a
negative index counted from the end; the engine's NumPy beside each is written by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

from .algebra import madd
from .functions import number
from .rule import Array, Rule

END = Str("end")  # a stop at the end of its axis (NumPy's None); not a number
Span = tuple[Any, Any, Any]  # (start, stop, step) of one axis, as SymPy numbers
FULL: Span = (sp.S.Zero, END, sp.S.One)


def span(start: Any, stop: Any, step: Any = 1) -> Span:
    return (number(start), END if stop is None else number(stop), number(step))


def extent(n: Any, s: Span) -> sp.Expr:
    """How many entries the span takes of an axis of length ``n`` (a number or a symbol)."""
    start, stop, step = s
    if all(v.is_Integer for v in (n, start, step)) and (stop == END or stop.is_Integer):
        return sp.Integer(len(range(int(n))[int(start):None if stop == END else int(stop):
                                            int(step)]))
    lo = start + n if start.is_negative else start
    hi = n if stop == END else (stop + n if stop.is_negative else stop)
    return sp.ceiling((hi - lo) / step) if step != 1 else hi - lo


def _py(v: Any) -> int | None:
    """A span's number as NumPy takes it: an int, or None for the end."""
    return None if v is None or v == END else int(v)


def _slice(s: Any) -> slice:
    return slice(_py(s[0]), _py(s[1]), _py(s[2]))


class Slice(MatrixExpr):  # type: ignore[misc]
    """``X[r0:r1:rs, c0:c1:cs]``: the entries of X in a span of rows and a span of columns
    (``X[i]`` is the span i:i+1; a single entry is the 1×1 slice)."""

    def __new__(cls, x: sp.Basic, rows: Span, cols: Span) -> Slice:
        return sp.Basic.__new__(cls, x, sp.Tuple(*rows), sp.Tuple(*cols))  # type: ignore

    @property
    def spans(self) -> tuple[Span, Span]:
        return tuple(self.args[1]), tuple(self.args[2])  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[Any, Any]:
        m, n = self.args[0].shape
        r, c = self.spans
        return (extent(m, r), extent(n, c))

    def _sympystr(self, printer: Any) -> str:
        return f"{printer._print(self.args[0])}[{text_span(self.args[1])}, " \
            f"{text_span(self.args[2])}]"


class Embed(MatrixExpr):  # type: ignore[misc]
    """The cotangent of a slice scattered back: a matrix shaped like ``like`` (the sliced
    operand, read for its shape only), zero outside the slice, ``g`` inside it."""

    def __new__(cls, g: sp.Basic, like: sp.Basic, rows: Span, cols: Span) -> Embed:
        return sp.Basic.__new__(cls, g, like, sp.Tuple(*rows),  # type: ignore[no-any-return]
                                sp.Tuple(*cols))

    @property
    def spans(self) -> tuple[Span, Span]:
        return tuple(self.args[2]), tuple(self.args[3])  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[1].shape  # type: ignore[no-any-return]

    def _sympystr(self, printer: Any) -> str:
        return f"embed({printer._print(self.args[0])}, at={printer._print(self.args[1])}[" \
            f"{text_span(self.args[2])}, {text_span(self.args[3])}])"  # valid Python


class Concat(MatrixExpr):  # type: ignore[misc]
    """The block matrix of its operands, one above the other (``axis`` 0) or side by side
    (``axis`` 1): NumPy's ``concatenate``; the last argument is the axis."""

    def __new__(cls, *args: Any) -> Concat:
        *xs, axis = args
        return sp.Basic.__new__(cls, *xs, sp.Integer(axis))  # type: ignore[no-any-return]

    @property
    def axis(self) -> int:
        return int(self.args[-1])

    @property
    def blocks(self) -> tuple[sp.Basic, ...]:
        return tuple(self.args[:-1])

    @property
    def shape(self) -> tuple[Any, Any]:
        first = self.args[0].shape
        total = sp.Add(*(x.shape[self.axis] for x in self.blocks))
        return (total, first[1]) if self.axis == 0 else (first[0], total)

    def _sympystr(self, printer: Any) -> str:
        inner = ", ".join(printer._print(x) for x in self.blocks)
        return f"concatenate(({inner}), axis={self.axis})"


class Reshape(MatrixExpr):  # type: ignore[misc]
    """The entries of X read row by row (NumPy's C order) into a ``rows`` × ``cols``
    matrix; one of the two may be −1 (what the size leaves)."""

    def __new__(cls, x: sp.Basic, rows: Any, cols: Any) -> Reshape:
        return sp.Basic.__new__(cls, x, number(rows),  # type: ignore[no-any-return]
                                number(cols))

    @property
    def shape(self) -> tuple[Any, Any]:
        m, n = self.args[0].shape
        r, c = self.args[1], self.args[2]
        if r == -1:
            r = m * n / c
        if c == -1:
            c = m * n / r
        return (r, c)

    def _sympystr(self, printer: Any) -> str:
        r, c = (printer._print(a) for a in self.args[1:])
        return f"reshape({printer._print(self.args[0])}, ({r}, {c}))"


class Pad(MatrixExpr):  # type: ignore[misc]
    """X with ``before``/``after`` rows and columns of the constant ``fill`` around it
    (NumPy's ``pad`` in constant mode)."""

    def __new__(cls, x: sp.Basic, widths: tuple[int, int, int, int], fill: Any) -> Pad:
        return sp.Basic.__new__(cls, x, sp.Tuple(*widths),  # type: ignore[no-any-return]
                                number(fill))

    @property
    def widths(self) -> tuple[int, int, int, int]:
        return tuple(int(w) for w in self.args[1])  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[Any, Any]:
        m, n = self.args[0].shape
        rb, ra, cb, ca = self.widths
        return (m + rb + ra, n + cb + ca)

    def _sympystr(self, printer: Any) -> str:
        rb, ra, cb, ca = self.widths
        return f"pad({printer._print(self.args[0])}, (({rb}, {ra}), ({cb}, {ca})), " \
            f"constant_values={printer._print(self.args[2])})"


class Kron(MatrixExpr):  # type: ignore[misc]
    """The Kronecker product A ⊗ B: the block matrix of the blocks a_ij B."""

    def __new__(cls, a: sp.Basic, b: sp.Basic) -> Kron:
        return sp.Basic.__new__(cls, a, b)  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        (m, n), (p, q) = self.args[0].shape, self.args[1].shape
        return (m * p, n * q)

    def _sympystr(self, printer: Any) -> str:
        return f"kron({printer._print(self.args[0])}, {printer._print(self.args[1])})"


class KronLeft(MatrixExpr):  # type: ignore[misc]
    """∂L/∂A of ``A ⊗ B``: entry (i, j) is ⟨G_(i,j), B⟩, the Frobenius product of B with the
    block of G that a_ij B produced."""

    def __new__(cls, g: sp.Basic, b: sp.Basic) -> KronLeft:
        return sp.Basic.__new__(cls, g, b)  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        (r, c), (p, q) = self.args[0].shape, self.args[1].shape
        return (r / p, c / q)

    def _sympystr(self, printer: Any) -> str:
        return f"kron_left({printer._print(self.args[0])}, {printer._print(self.args[1])})"


class KronRight(MatrixExpr):  # type: ignore[misc]
    """∂L/∂B of ``A ⊗ B``: Σ_ij a_ij G_(i,j), the blocks of G weighted by A's entries."""

    def __new__(cls, g: sp.Basic, a: sp.Basic) -> KronRight:
        return sp.Basic.__new__(cls, g, a)  # type: ignore[no-any-return]

    @property
    def shape(self) -> tuple[Any, Any]:
        (r, c), (m, n) = self.args[0].shape, self.args[1].shape
        return (r / m, c / n)

    def _sympystr(self, printer: Any) -> str:
        return f"kron_right({printer._print(self.args[0])}, {printer._print(self.args[1])})"


def text_span(s: Any) -> str:
    """A span as Python writes it: ``0:2``, ``:``, ``1::2``."""
    start, stop, step = s
    if (start, stop, step) == FULL:
        return ":"
    out = f"{start}:{'' if stop == END else stop}"
    return out + (f":{step}" if step != 1 else "")


# ---------------------------------------------------------------------------------------
# The engine's NumPy, by hand


def np_embed(g: Array, like: Array, rows: Any, cols: Any) -> Array:
    out = np.zeros(np.shape(like))
    out[_slice(rows), _slice(cols)] = g
    return out


def _blocks(x: Array, axis: int, sizes: list[int]) -> list[Array]:
    return np.split(np.asarray(x), np.cumsum(sizes)[:-1], axis=axis)


def np_kron_left(g: Array, b: Array) -> Array:
    p, q = np.shape(b)
    r, c = np.shape(g)
    return np.einsum("ipjq,pq->ij", np.reshape(g, (r // p, p, c // q, q)), b)


def np_kron_right(g: Array, a: Array) -> Array:
    m, n = np.shape(a)
    r, c = np.shape(g)
    return np.einsum("ipjq,ij->pq", np.reshape(g, (m, r // m, n, c // n)), a)


def _unpad(g: Array, widths: Any) -> Array:
    rb, ra, cb, ca = (int(w) for w in widths)
    r, c = np.shape(g)
    return np.asarray(g)[rb:r - ra, cb:c - ca]


def _four(w: Any) -> tuple[int, int, int, int]:
    return (int(w[0]), int(w[1]), int(w[2]), int(w[3]))


def _pad_span(before: int, after: int) -> Span:
    return span(before, -after if after else None)


# ---------------------------------------------------------------------------------------
# The symbolic VJPs


def _sym_slice_vjp(g: sp.Basic, out: sp.Basic, x: sp.Basic, rows: Any = FULL, cols: Any = FULL
                   ) -> tuple[sp.Basic, ...]:
    return (Embed(g, x, _ends(rows), _ends(cols)),)  # params come with None for the end


def _sym_concat_vjp(g: sp.Basic, out: sp.Basic, *xs: sp.Basic, axis: Any = 0
                    ) -> tuple[sp.Basic, ...]:
    k = int(axis)
    parts, at = [], sp.S.Zero
    for i, x in enumerate(xs):
        size = x.shape[k]
        block = span(at, None if i == len(xs) - 1 else at + size)
        parts.append(Slice(g, block, FULL) if k == 0 else Slice(g, FULL, block))
        at += size
    return tuple(parts)


def _sym_pad_vjp(g: sp.Basic, out: sp.Basic, x: sp.Basic, widths: Any = (0, 0, 0, 0),
                 fill: Any = 0) -> tuple[sp.Basic, ...]:
    rb, ra, cb, ca = (int(w) for w in widths)
    return (Slice(g, _pad_span(rb, ra), _pad_span(cb, ca)),)


def _concat_jvp(dots: Any, out: sp.Basic, *xs: sp.Basic, axis: Any = 0) -> sp.Basic:
    """The block matrix of the blocks' tangents (a constant block's is 0)."""
    blocks = [sp.ZeroMatrix(*x.shape) if d is None else d for d, x in zip(dots, xs, strict=True)]
    return Concat(*blocks, int(axis))


def _np_concat_vjp(g: Array, out: Array, *xs: Array, axis: float = 0.0) -> tuple[Array, ...]:
    k = int(axis)
    return tuple(_blocks(g, k, [np.shape(x)[k] for x in xs]))


def _np_reshape(a: Array, shape: Any = (-1, 1)) -> Array:
    return np.reshape(a, tuple(int(s) for s in shape))


def _ends(s: Any) -> Span:
    return tuple(END if v is None else v for v in s)  # type: ignore[return-value]


def _numbers(s: Any) -> tuple[Any, ...]:
    return tuple(None if v == END else v for v in s)


# The nodes a backward pass writes, as primitives of their own: a Hessian differentiates the
# gradient again, through them. Each is linear in the cotangent (the Kronecker ones bilinear),
# so its VJP is the structural operation it undoes: a slice's scatter is undone by the slice,
# ⟨G_(i,j), B⟩ by the Kronecker product, Σ a_ij G_(i,j) by a ⊗ and a ⟨·,·⟩.


def _embed_vjp(c: Array, out: Array, g: Array, like: Array, rows: Any, cols: Any
               ) -> tuple[Array, ...]:
    return (np.asarray(c)[_slice(rows), _slice(cols)], np.zeros(np.shape(like)))


def _sym_embed_vjp(c: sp.Basic, out: sp.Basic, g: sp.Basic, like: sp.Basic, rows: Any,
                   cols: Any) -> tuple[sp.Basic | None, ...]:
    return (Slice(c, _ends(rows), _ends(cols)), None)  # like: read for its shape only


def _sym_embed_jvp(dots: Any, out: sp.Basic, g: sp.Basic, like: sp.Basic, rows: Any,
                   cols: Any) -> sp.Basic:
    return Embed(dots[0], like, _ends(rows), _ends(cols)) if dots[0] is not None \
        else sp.ZeroMatrix(*out.shape)


def _bilinear_jvp(node: Any) -> Callable[..., sp.Basic]:
    """(f(G, B))˙ = f(Ġ, B) + f(G, Ḃ), for f linear in each operand ((A ⊗ B)˙ too)."""
    def jvp(dots: Any, out: sp.Basic, g: sp.Basic, b: sp.Basic) -> sp.Basic:
        dg, db = dots
        parts = ([node(dg, b)] if dg is not None else []) + \
            ([node(g, db)] if db is not None else [])
        return parts[0] if len(parts) == 1 else madd(*parts)
    return jvp


def _spans_after(k: int) -> Callable[[sp.Basic], tuple[tuple[str, Any], ...]]:
    return lambda e: (("rows", _numbers(e.args[k])), ("cols", _numbers(e.args[k + 1])))


STRUCTURAL: dict[str, Rule] = {
    "slice": Rule("slice", forward=lambda a, rows, cols: np.asarray(a)[_slice(rows),
                                                                       _slice(cols)],
                  vjp=lambda g, out, a, rows, cols: (np_embed(g, a, rows, cols),),
                  matrix_vjp=_sym_slice_vjp, latex=r"X_{a:b,\,c:d}", node=Slice,
                  matrix_jvp=lambda dots, out, a, rows, cols: Slice(dots[0], _ends(rows),
                                                                    _ends(cols)),
                  params_of=_spans_after(1), arity=0, operands=1),
    "concat": Rule("concat", forward=lambda *xs, axis=0.0: np.concatenate(xs, axis=int(axis)),
                   vjp=_np_concat_vjp, matrix_vjp=_sym_concat_vjp, matrix_jvp=_concat_jvp,
                   latex=r"\begin{bmatrix} X \\ Y \end{bmatrix}", node=Concat,
                   params_of=lambda e: (("axis", e.args[-1]),), arity=0, operands=-1),
    "reshape": Rule("reshape", forward=_np_reshape,
                    vjp=lambda g, out, a, shape=(-1, 1): (np.reshape(g, np.shape(a)),),
                    matrix_vjp=lambda g, out, a, shape=(-1, 1): (Reshape(g, *a.shape),),
                    matrix_jvp=lambda dots, out, a, shape=(-1, 1): Reshape(dots[0], *shape),
                    latex=r"\operatorname{reshape}", node=Reshape,
                    params_of=lambda e: (("shape", (e.args[1], e.args[2])),), arity=0,
                    operands=1),
    "pad": Rule("pad", forward=lambda a, widths=(0, 0, 0, 0), fill=0.0: np.pad(
                    np.asarray(a, dtype=float), ((int(widths[0]), int(widths[1])),
                                                 (int(widths[2]), int(widths[3]))),
                    constant_values=fill),
                vjp=lambda g, out, a, widths=(0, 0, 0, 0), fill=0.0: (_unpad(g, widths),),
                matrix_vjp=_sym_pad_vjp, latex=r"\operatorname{pad}", node=Pad,
                matrix_jvp=lambda dots, out, a, widths=(0, 0, 0, 0), fill=0: Pad(
                    dots[0], _four(widths), 0),
                params_of=lambda e: (("widths", tuple(e.args[1])), ("fill", e.args[2])),
                arity=0, operands=1),
    "kron": Rule("kron", forward=lambda a, b: np.kron(a, b),
                 vjp=lambda g, out, a, b: (np_kron_left(g, b), np_kron_right(g, a)),
                 matrix_vjp=lambda g, out, a, b: (KronLeft(g, b), KronRight(g, a)),
                 matrix_jvp=_bilinear_jvp(Kron),
                 latex=r"\otimes", node=Kron, arity=0),
    # only a backward pass writes these (a slice's scatter, A ⊗ B's two cotangents)
    "embed": Rule("embed", forward=np_embed, vjp=_embed_vjp, matrix_vjp=_sym_embed_vjp,
                  matrix_jvp=_sym_embed_jvp, node=Embed, params_of=_spans_after(2), arity=0,
                  operands=2),
    "kron_left": Rule("kron_left", forward=np_kron_left,
                      vjp=lambda c, out, g, b: (np.kron(c, b), np_kron_right(g, c)),
                      matrix_vjp=lambda c, out, g, b: (Kron(c, b), KronRight(g, c)),
                      matrix_jvp=_bilinear_jvp(KronLeft), node=KronLeft, arity=0),
    "kron_right": Rule("kron_right", forward=np_kron_right,
                       vjp=lambda c, out, g, a: (np.kron(a, c), np_kron_left(g, c)),
                       matrix_vjp=lambda c, out, g, a: (Kron(a, c), KronLeft(g, c)),
                       matrix_jvp=_bilinear_jvp(KronRight), node=KronRight, arity=0),
}
