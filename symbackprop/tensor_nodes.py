"""The n-D primitives in the graph: convolution, pooling, ``einsum``, transposing and
reshaping axes, the softmax along an axis and spatial batch normalisation, each a node
class of its own (``TensorOp``) and one ``Rule`` of the table (``TENSOR_RULES``, taken into
``rules.RULES``), with the NumPy of ``tensors.py`` as the engine's step.

A node's arguments are its operands, then one ``Tuple`` of its parameters (``SPECS[op]``
names them); its shape is ``shapes.tensor_shape`` of its output's axes, so a tensor of rank
≥ 3 is a matrix of shape ``(Extent(N, C, H, W), 1)`` to SymPy (see ``shapes.py``) and a
rank-2 output (``reshape(X, (N, -1))``, ``einsum("nchw->nc", X)``) is a matrix as any other.

The backward pass is written with the same nodes where the literature does: an einsum's
cotangent is an einsum (the output's indices in the operand's place), a transpose's is the
inverse transpose, a reshape's the reshape back. Convolution, pooling, the softmax and
batch normalisation have a cotangent that is no primitive of ours: ``TensorVJP`` stands
for it (printed in index notation; evaluated with the rule's hand-written VJP, which finite
differences check independently).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

from . import tensors
from .algebra import madd
from .errors import UnsupportedError
from .functions import number
from .rule import Array, Rule
from .shapes import axes_of, tensor_shape
from .tensor_axes import (
    bn_axes,
    broadcast_like,
    conv_axes,
    einsum_axes,
    einsum_letters,
    einsum_ranks,
    perm,
    pool_axes,
    reshape_axes,
    softmax_axes,
    sum_axes,
    transpose_axes,
)

Axes = tuple[Any, ...]


def to_python(v: Any) -> Any:
    """A parameter as Python holds it: ints, floats, strings and tuples of them."""
    if isinstance(v, (tuple, sp.Tuple)):
        return tuple(to_python(x) for x in v)
    if isinstance(v, Str):
        return str(v.name)
    if isinstance(v, sp.Integer):
        return int(v)
    if isinstance(v, sp.Float):
        return float(v)
    return v


def _to_sympy(v: Any) -> Any:
    if isinstance(v, (tuple, list)):
        return sp.Tuple(*(_to_sympy(x) for x in v))
    if isinstance(v, str):
        return Str(v)
    if v is None:
        return Str("none")
    return number(v) if isinstance(v, (int, float)) else v


def _axes(e: sp.Basic) -> Axes:
    return axes_of(tuple(e.shape)) if getattr(e, "is_Matrix", False) else ()


class TensorOp(MatrixExpr):  # type: ignore[misc]
    """One n-D primitive applied: ``op`` names it in ``SPECS``; the arguments are the
    operands, then a ``Tuple`` of the parameters in ``SPECS[op].params`` order."""

    op = ""

    def __new__(cls, *args: Any) -> TensorOp:
        *xs, params = args
        if not isinstance(params, sp.Tuple):
            params = sp.Tuple(*(_to_sympy(v) for v in params))
        return sp.Basic.__new__(cls, *xs, params)  # type: ignore[no-any-return]

    @property
    def operands(self) -> tuple[sp.Basic, ...]:
        return tuple(self.args[:-1])

    @property
    def params(self) -> dict[str, Any]:
        p = {k: to_python(v) for k, v in zip(SPECS[self.op].params, self.args[-1],
                                               strict=True)}
        return {k: None if v == "none" else v for k, v in p.items()}

    @property
    def axes(self) -> Axes:
        return SPECS[self.op].axes(tuple(map(_axes, self.operands)), **self.params)

    @property
    def shape(self) -> tuple[Any, Any]:
        return tensor_shape(self.axes)

    def _sympystr(self, printer: Any) -> str:
        xs = [printer._print(x) for x in self.operands]
        if self.op == "einsum":
            xs.insert(0, repr(self.params["spec"]))
        kw = [f"{k}={v!r}" for k, v in self.params.items() if k != "spec" and v is not None]
        return f"{self.op}({', '.join(xs + kw)})"


class TensorVJP(MatrixExpr):  # type: ignore[misc]
    """∂L/∂(operand ``k``) of the n-D primitive ``op`` at cotangent ``g`` and output ``out``:
    arguments ``(Str(op), k, g, out, *operands, params)``, shaped as operand ``k``."""

    def __new__(cls, op: str | Str, k: int, g: sp.Basic, out: sp.Basic, *rest: Any
                ) -> TensorVJP:
        name = op if isinstance(op, Str) else Str(op)
        return sp.Basic.__new__(cls, name, sp.Integer(k), g,  # type: ignore[no-any-return]
                                out, *rest)

    @property
    def op(self) -> str:
        return str(self.args[0].name)

    @property
    def k(self) -> int:
        return int(self.args[1])

    @property
    def operands(self) -> tuple[sp.Basic, ...]:
        return tuple(self.args[4:-1])

    @property
    def node(self) -> TensorOp:
        """The forward node whose cotangent this is (rebuilt, for the printers)."""
        return NODES[self.op](*self.operands, self.args[-1])

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.operands[self.k].shape  # type: ignore[no-any-return]

    def _sympystr(self, printer: Any) -> str:
        g = printer._print(self.args[2])
        return f"vjp_{self.op}[{self.k}]({g}, {', '.join(map(printer._print, self.operands))})"


class TensorJVP(MatrixExpr):  # type: ignore[misc]
    """The tangent of an n-D primitive whose tangent is no primitive of ours (max pooling:
    the tangent at each window's first maximum): ``(Str(op), dot, out, *operands, params)``,
    shaped as the output."""

    def __new__(cls, op: str | Str, dot: sp.Basic, out: sp.Basic, *rest: Any) -> TensorJVP:
        name = op if isinstance(op, Str) else Str(op)
        return sp.Basic.__new__(cls, name, dot, out, *rest)  # type: ignore[no-any-return]

    @property
    def op(self) -> str:
        return str(self.args[0].name)

    @property
    def operands(self) -> tuple[sp.Basic, ...]:
        return tuple(self.args[3:-1])

    @property
    def node(self) -> TensorOp:
        return NODES[self.op](*self.operands, self.args[-1])

    @property
    def shape(self) -> tuple[Any, Any]:
        return self.args[2].shape  # type: ignore[no-any-return]

    def _sympystr(self, printer: Any) -> str:
        return f"jvp_{self.op}({printer._print(self.args[1])}, " \
            f"{', '.join(map(printer._print, self.operands))})"


# ---------------------------------------------------------------------------------------
# The engine's NumPy, in our layout (a vector is a column (n, 1), as everywhere)


def _pair(v: Any) -> Any:
    return tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else int(v)


def _operands(spec: str, xs: tuple[Array, ...]) -> list[Array]:
    parts = spec.replace(" ", "").split("->")[0].split(",")
    return [np.ravel(x) if len(p) == 1 else np.asarray(x, dtype=float)
            for p, x in zip(parts, xs, strict=True)]


def _ours(y: Array) -> Array:
    return np.reshape(y, (-1, 1)) if np.ndim(y) == 1 else y


def np_einsum(*xs: Array, spec: str = "") -> Array:
    return _ours(tensors.einsum(spec, *_operands(spec, xs)))


def np_einsum_vjp(g: Array, out: Array, *xs: Array, spec: str = "") -> tuple[Array, ...]:
    res = spec.replace(" ", "").split("->")[1]
    gs = np.ravel(g) if len(res) == 1 else g
    grads = tensors.einsum_vjp(gs, out, spec, *_operands(spec, xs))
    return tuple(np.reshape(d, np.shape(x)) for d, x in zip(grads, xs, strict=True))


def _conv(f: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Array, stride: Any = 1, padding: Any = 0) -> Any:
        return f(*args, stride=_pair(stride), padding=_pair(padding))
    return run


def _pool(f: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Array, size: Any = 2, stride: Any = None) -> Any:
        return f(*args, size=_pair(size), stride=None if stride is None else _pair(stride))
    return run


def np_sum_axes(x: Array, axes: Any = ()) -> Array:
    return np.sum(x, axis=tuple(int(a) for a in axes), keepdims=True)


def np_broadcast(x: Array, like: Array) -> Array:
    return np.broadcast_to(x, np.shape(like)).copy()


def np_broadcast_vjp(g: Array, out: Array, x: Array, like: Array) -> tuple[Array, ...]:
    """The cotangent summed over the axes the broadcast stretched or added, back to x's
    shape; ``like`` gave only the shape."""
    lead = np.ndim(g) - np.ndim(x)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(np.shape(x))
                                      if n == 1 and np.shape(g)[lead + i] != 1)
    return (np.reshape(np.sum(g, axis=axes), np.shape(x)), np.zeros(np.shape(like)))


def np_reshape(x: Array, shape: Any = (-1,)) -> Array:
    return _ours(np.reshape(x, tuple(int(d) for d in shape)))


def np_transpose(x: Array, axes: Any = None) -> Array:
    return np.transpose(x, None if axes is None else tuple(int(a) for a in axes))


def _softmax_vjp(g: Array, out: Array, x: Array, axis: Any = -1) -> tuple[Array, ...]:
    return tensors.softmax_vjp(g, out, x, int(axis))


def np_maxpool_jvp(dot: Array, out: Array, x: Array, size: Any = 2, stride: Any = None
                   ) -> Array:
    """Each window's tangent at its first maximum (the one the VJP sends the gradient to)."""
    size, stride = _pair(size), None if stride is None else _pair(stride)
    win, (kh, kw, sh, sw) = tensors._pool_windows(x, size, stride)  # as the forward's
    first = win.reshape(*win.shape[:4], kh * kw).argmax(axis=4)[..., None]
    dwin = tensors._windows(np.asarray(dot, dtype=float), kh, kw, sh, sw)
    return np.take_along_axis(dwin.reshape(*dwin.shape[:4], kh * kw), first, axis=4)[..., 0]


# ---------------------------------------------------------------------------------------
# The symbolic VJPs


def _generic(op: str) -> Callable[..., tuple[sp.Basic, ...]]:
    def vjp(g: sp.Basic, out: sp.Basic, *xs: sp.Basic, **params: Any) -> tuple[sp.Basic, ...]:
        p = sp.Tuple(*(_to_sympy(params[k]) for k in SPECS[op].params))
        return tuple(TensorVJP(op, k, g, out, *xs, p) for k in range(len(xs)))
    return vjp


def _einsum_sym_vjp(g: sp.Basic, out: sp.Basic, *xs: sp.Basic, spec: str = ""
                    ) -> tuple[sp.Basic, ...]:
    """For operand k: einsum of ∂L/∂O and the other operands, the output's indices in k's
    place — when every index of k appears there once; else the generic cotangent."""
    ins, res = einsum_letters(spec, tuple(map(len, einsum_ranks(tuple(map(_axes, xs)),
                                                                spec))))
    grads: list[sp.Basic] = []
    for k, s in enumerate(ins):
        others = [(t, x) for i, (t, x) in enumerate(zip(ins, xs, strict=True)) if i != k]
        letters = set(res).union(*(set(t) for t, _ in others))
        if len(set(s)) == len(s) and set(s) <= letters:
            back = ",".join([res, *(t for t, _ in others)]) + "->" + s
            grads.append(NODES["einsum"](g, *(x for _, x in others), (back,)))
        else:
            grads.append(TensorVJP("einsum", k, g, out, *xs, sp.Tuple(Str(spec))))
    return tuple(grads)


def expand_einsum_vjp(e: TensorVJP) -> sp.Basic | None:
    """An einsum cotangent written in index notation (``TensorVJP``) for an operand whose
    indices include some that neither the output nor another operand has (``nchw->nc``),
    as primitives a Hessian differentiates again: the einsum over the indices it shares,
    reshaped with 1s where the others were and broadcast back to the operand's shape (the
    cotangent spread over the summed axes). None when it cannot be written so: a repeated
    index (a diagonal), no index shared, more than one size that is a name."""
    spec, k, g, xs = str(e.args[-1][0]), e.k, e.args[2], e.operands
    ins, res = einsum_letters(spec, tuple(map(len, einsum_ranks(tuple(map(_axes, xs)),
                                                                spec))))
    s = ins[k]
    others = [(t, x) for i, (t, x) in enumerate(zip(ins, xs, strict=True)) if i != k]
    letters = set(res).union(*(set(t) for t, _ in others))
    kept = "".join(c for c in s if c in letters)
    shape = tuple(n if c in letters else 1 for c, n in zip(s, _axes(xs[k]), strict=True))
    if len(set(s)) != len(s) or not kept or \
            sum(1 for n in shape if not getattr(n, "is_Integer", True)) > 1:
        return None
    t = g if not others and kept == res else NODES["einsum"](
        g, *(x for _, x in others), (",".join([res, *(t for t, _ in others)]) + "->" + kept,))
    if len(kept) < len(s):
        t = NODES["reshape_nd"](t, (reshape_param(shape),))
    return NODES["broadcast"](t, xs[k], ())


def _transpose_sym_vjp(g: sp.Basic, out: sp.Basic, x: sp.Basic, axes: Any = None
                       ) -> tuple[sp.Basic, ...]:
    order = perm(len(_axes(x)), axes)
    return (NODES["transpose_axes"](g, (tuple(int(i) for i in np.argsort(order)),)),)


def _broadcast_sym_vjp(g: sp.Basic, out: sp.Basic, x: sp.Basic, like: sp.Basic
                       ) -> tuple[sp.Basic | None, ...]:
    """Summed over the stretched axes (a reshape after, where the broadcast added axes);
    ``like`` is read for its shape only: no cotangent."""
    ax, lk = _axes(x), _axes(like)
    lead = len(lk) - len(ax)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(ax)
                                      if n == 1 and lk[lead + i] != 1)
    total = NODES["sum_axes"](g, (axes,)) if axes else g
    if lead:
        total = NODES["reshape_nd"](total, (reshape_param(ax),))
    return (total, None)


def reshape_param(axes: Axes) -> tuple[Any, ...]:
    """A target shape as the engine takes it: numbers, a size that is a name as -1."""
    named = [d for d in axes if not getattr(d, "is_Integer", isinstance(d, int))]
    if len(named) > 1:
        raise UnsupportedError(f"a reshape to {tuple(axes)}: more than one size is a name; "
                               "give all but one as numbers")
    return tuple(-1 if d in named else int(d) for d in axes)


def _reshape_sym_vjp(g: sp.Basic, out: sp.Basic, x: sp.Basic, shape: Any = (-1,)
                     ) -> tuple[sp.Basic, ...]:
    return (NODES["reshape_nd"](g, (reshape_param(_axes(x)),)),)


def _zeros(x: sp.Basic) -> sp.Basic:
    return sp.ZeroMatrix(*x.shape)


def _total(parts: list[sp.Basic]) -> sp.Basic:
    return parts[0] if len(parts) == 1 else madd(*parts)


def _einsum_jvp(dots: Any, out: sp.Basic, *xs: sp.Basic, spec: str = "") -> sp.Basic:
    """Multilinear: the sum over operands of the einsum with that operand's tangent."""
    return _total([NODES["einsum"](*(d if i == k else x for i, x in enumerate(xs)), (spec,))
                   for k, d in enumerate(dots) if d is not None])


def _linear_jvp(op: str) -> Callable[..., sp.Basic]:
    """A linear primitive's tangent: the primitive of the tangent."""
    def jvp(dots: Any, out: sp.Basic, x: sp.Basic, **params: Any) -> sp.Basic:
        return NODES[op](dots[0], tuple(params[k] for k in SPECS[op].params))
    return jvp


def _conv_jvp(dots: Any, out: sp.Basic, *xs: sp.Basic, stride: Any = 1, padding: Any = 0
              ) -> sp.Basic:
    """Bilinear in X and W, affine in b: conv(Ẋ, W) + conv(X, Ẇ, ḃ) (0 for a constant)."""
    p, parts = (stride, padding), []
    if dots[0] is not None:
        parts.append(NODES["conv2d"](dots[0], xs[1], p))
    if any(d is not None for d in dots[1:]):
        rest = [d if d is not None else _zeros(x) for d, x in zip(dots[1:], xs[1:],
                                                                  strict=True)]
        parts.append(NODES["conv2d"](xs[0], *rest, p))
    return _total(parts)


def _softmax_jvp(dots: Any, out: sp.Basic, x: sp.Basic, axis: Any = -1) -> sp.Basic:
    """The softmax's Jacobian diag(a) − a aᵀ (per slice) is symmetric: its JVP is its VJP."""
    return TensorVJP("softmax_axis", 0, dots[0], out, x, sp.Tuple(_to_sympy(axis)))


def _bn_jvp(dots: Any, out: sp.Basic, x: sp.Basic, g: sp.Basic, b: sp.Basic,
            eps: Any = 1e-5) -> sp.Basic:
    """In X the Jacobian γ_c σ_c⁻¹ (I − 11ᵀ/M − X̂X̂ᵀ/M) per channel is symmetric (its JVP is
    its VJP); in γ and β the layer is linear: BN with γ̇, β̇ in their place."""
    parts = []
    if dots[0] is not None:
        parts.append(TensorVJP("batchnorm2d", 0, dots[0], out, x, g, b,
                               sp.Tuple(_to_sympy(eps))))
    if dots[1] is not None or dots[2] is not None:
        dg, db = (d if d is not None else _zeros(v) for d, v in zip(dots[1:], (g, b),
                                                                     strict=True))
        parts.append(NODES["batchnorm2d"](x, dg, db, (eps,)))
    return _total(parts)


def _maxpool_jvp(dots: Any, out: sp.Basic, x: sp.Basic, size: Any = 2, stride: Any = None
                 ) -> sp.Basic:
    return TensorJVP("maxpool2d", dots[0], out, x, sp.Tuple(_to_sympy(size),
                                                            _to_sympy(stride)))


class Spec(NamedTuple):
    """One n-D primitive: its parameters (names, in the node's order), output axes, NumPy
    forward and VJP in our layout, symbolic VJP, and name in LaTeX."""

    params: tuple[str, ...]
    axes: Callable[..., Axes]
    forward: Callable[..., Array]
    vjp: Callable[..., tuple[Array, ...]]
    sym_vjp: Callable[..., tuple[sp.Basic, ...]] | None
    latex: str
    sym_jvp: Callable[..., sp.Basic] | None = None
    nondiff: Callable[..., Array] | None = None
    domain: str = ""


SPECS: dict[str, Spec] = {
    "conv2d": Spec(("stride", "padding"), conv_axes, _conv(tensors.conv2d),
                   lambda g, out, *xs, **kw: _conv(tensors.conv2d_vjp)(g, out, *xs, **kw),
                   None, r"\operatorname{conv2d}", _conv_jvp),
    "maxpool2d": Spec(("size", "stride"), pool_axes, _pool(tensors.maxpool2d),
                      lambda g, out, x, **kw: _pool(tensors.maxpool2d_vjp)(g, out, x, **kw),
                      None, r"\operatorname{maxpool}", _maxpool_jvp,
                      nondiff=lambda x, **kw: _pool(tensors.maxpool_ties)(x, **kw),
                      domain="differentiable where each window's maximum is unique"),
    "avgpool2d": Spec(("size", "stride"), pool_axes, _pool(tensors.avgpool2d),
                      lambda g, out, x, **kw: _pool(tensors.avgpool2d_vjp)(g, out, x, **kw),
                      None, r"\operatorname{avgpool}", _linear_jvp("avgpool2d")),
    "einsum": Spec(("spec",), einsum_axes, np_einsum, np_einsum_vjp, _einsum_sym_vjp,
                   r"\operatorname{einsum}", _einsum_jvp),
    "transpose_axes": Spec(("axes",), transpose_axes, np_transpose,
                           lambda g, out, x, axes=None: (np.transpose(g, np.argsort(
                               perm(np.ndim(x), None if axes is None else tuple(
                                   int(a) for a in axes)))),),
                           _transpose_sym_vjp, r"\operatorname{transpose}",
                           _linear_jvp("transpose_axes")),
    "sum_axes": Spec(("axes",), sum_axes, np_sum_axes,
                     lambda g, out, x, axes=(): (np.broadcast_to(g, np.shape(x)).copy(),),
                     lambda g, out, x, axes=(): (NODES["broadcast"](g, x, ()),),
                     r"\operatorname{sum}", _linear_jvp("sum_axes")),
    "broadcast": Spec((), broadcast_like, np_broadcast, np_broadcast_vjp, _broadcast_sym_vjp,
                      r"\operatorname{broadcast}",
                      lambda dots, out, x, like: _zeros(out) if dots[0] is None
                      else NODES["broadcast"](dots[0], like, ())),
    "reshape_nd": Spec(("shape",), reshape_axes, np_reshape,
                       lambda g, out, x, shape=(-1,): (np.reshape(g, np.shape(x)),),
                       _reshape_sym_vjp, r"\operatorname{reshape}",
                       _linear_jvp("reshape_nd")),
    "softmax_axis": Spec(("axis",), softmax_axes,
                         lambda x, axis=-1: tensors.softmax(x, int(axis)), _softmax_vjp,
                         None, r"\operatorname{softmax}", _softmax_jvp),
    "batchnorm2d": Spec(("eps",), bn_axes,
                        lambda x, g, b, eps=1e-5: tensors.batchnorm2d(x, g, b, float(eps)),
                        lambda gr, out, x, g, b, eps=1e-5: tensors.batchnorm2d_vjp(
                            gr, out, x, g, b, float(eps)),
                        None, r"\operatorname{BN}", _bn_jvp),
}

NODES: dict[str, type[TensorOp]] = {
    op: type("".join(w.capitalize() for w in op.split("_")) + "Node", (TensorOp,), {"op": op})
    for op in SPECS}


# the NumPy of the tangents that are nodes of their own (TensorJVP)
NUMERIC_JVPS: dict[str, Callable[..., Array]] = {"maxpool2d": np_maxpool_jvp}


def _params_of(e: sp.Basic) -> tuple[tuple[str, Any], ...]:
    return tuple(e.params.items())


TENSOR_RULES: dict[str, Rule] = {
    op: Rule(op, forward=s.forward, vjp=s.vjp, matrix_vjp=s.sym_vjp or _generic(op),
             latex=s.latex, node=NODES[op], params_of=_params_of, operands=-1, arity=0,
             nondiff=s.nondiff, domain=s.domain, matrix_jvp=s.sym_jvp)
    for op, s in SPECS.items()}


def make(op: str, operands: list[sp.Basic], **params: Any) -> TensorOp:
    """The node of ``op`` on these operands, its shape checked now (a ShapeError here names
    the mismatch before anything is built on it)."""
    spec = SPECS[op]
    values = {k: params.get(k) for k in spec.params}
    node = NODES[op](*operands, tuple(values[k] for k in spec.params))
    node.axes  # noqa: B018 - raises ShapeError for operands that do not fit
    return node
