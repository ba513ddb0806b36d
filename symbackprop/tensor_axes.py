"""The output axes of each n-D primitive from its operands' axes, or a ``ShapeError``
saying why the operands do not fit (``tensor_nodes.SPECS`` names one function per
primitive); NumPy's rules: broadcasting from the right, ``keepdims`` reductions, einsum's
letters."""

from __future__ import annotations

from typing import Any

import sympy as sp

from . import tensors
from .errors import ShapeError, UnsupportedError

Axes = tuple[Any, ...]




def _ints(axes: Axes, upto: int, what: str) -> tuple[int, ...]:
    """The axes from ``upto`` on as numbers (a batch axis before them may be a name)."""
    if not all(getattr(d, "is_Integer", isinstance(d, int)) for d in axes[upto:]):
        raise ShapeError(f"{what} needs numbers for the axes after the batch, not "
                         f"{tuple(axes)}")
    return tuple(int(d) for d in axes[upto:])


def _image(x: Axes, what: str) -> Axes:
    if len(x) != 4:
        raise ShapeError(f"{what} takes X of shape (N, C, H, W), not {tuple(x)}")
    return (x[0], *_ints(x, 1, what))


def _column_of(v: Axes, n: Any, what: str) -> None:
    if tuple(v) not in ((n, 1), (n,)):
        raise ShapeError(f"{what} has one entry per channel: shape ({n},), not {tuple(v)}")


def conv_axes(xs: tuple[Axes, ...], stride: Any = 1, padding: Any = 0) -> Axes:
    if len(xs) not in (2, 3):
        raise ShapeError("conv2d takes X, W and an optional bias b")
    x = _image(xs[0], "conv2d")
    w = _ints(xs[1], 0, "conv2d's filters W")
    out = tensors.conv2d_shape((1, *x[1:]), w, stride, padding)
    if len(xs) == 3:
        _column_of(xs[2], w[0], "conv2d's bias b")
    return (x[0], *out[1:])


def pool_axes(xs: tuple[Axes, ...], size: Any = 2, stride: Any = None) -> Axes:
    x = _image(xs[0], "pooling")
    return (x[0], *tensors.pool2d_shape((1, *x[1:]), size, stride)[1:])


def einsum_letters(spec: str, ranks: tuple[int, ...]) -> tuple[list[str], str]:
    """The operands' and the output's index letters (``tensors.einsum_spec``)."""
    return tensors.einsum_spec(spec, ranks)


def einsum_ranks(xs: tuple[Axes, ...], spec: str) -> tuple[Axes, ...]:
    """Each operand's axes as the spec reads it: a column (n, 1) is (n,) for one letter."""
    parts = spec.replace(" ", "").split("->")[0].split(",")
    if len(parts) != len(xs):
        raise ShapeError(f"einsum {spec!r} names {len(parts)} operands but has {len(xs)}")
    return tuple(x[:1] if len(p) == 1 and len(x) == 2 and x[1] == 1 else x
                 for p, x in zip(parts, xs, strict=True))


def einsum_axes(xs: tuple[Axes, ...], spec: str = "") -> Axes:
    if not xs or any(not x for x in xs):
        raise ShapeError("einsum takes arrays (a scalar factor multiplies the result)")
    xs = einsum_ranks(xs, spec)
    ins, out = einsum_letters(spec, tuple(map(len, xs)))
    size: dict[str, Any] = {}
    for letters, x in zip(ins, xs, strict=True):
        for c, n in zip(letters, x, strict=True):
            if size.setdefault(c, n) != n:
                raise ShapeError(f"einsum {spec!r}: index {c} is {size[c]} and {n}")
    if not out:
        raise UnsupportedError(f"einsum {spec!r} gives a scalar: write sum(...) of the "
                               "product instead")
    return tuple(size[c] for c in out)


def perm(n: int, axes: Any) -> tuple[int, ...]:
    items = tuple(reversed(range(n))) if axes is None else tuple(axes)
    if sorted(int(a) % n if type(a) is int and -n <= a < n else -1 for a in items) \
            != list(range(n)):
        raise ShapeError(f"transpose: axes {axes!r} are not a permutation of {n} axes")
    return tuple(int(a) % n for a in items)


def transpose_axes(xs: tuple[Axes, ...], axes: Any = None) -> Axes:
    x = xs[0]
    return tuple(x[a] for a in perm(len(x), axes))


def reshape_axes(xs: tuple[Axes, ...], shape: Any = (-1,)) -> Axes:
    size = sp.Mul(*xs[0])
    known = sp.Mul(*(d for d in shape if d != -1))
    if list(shape).count(-1) > 1 or any(d != -1 and not getattr(d, "is_positive", d > 0)
                                        for d in shape):
        raise ShapeError(f"reshape: {tuple(shape)} is not a shape (one size may be -1)")
    rest = sp.simplify(size / known)
    if -1 in shape:
        if rest.is_Integer is False and rest.is_integer is not True and rest.is_Rational:
            raise ShapeError(f"reshape: {tuple(xs[0])} cannot become {tuple(shape)}")
        return tuple(rest if d == -1 else d for d in shape)
    if rest != 1:
        raise ShapeError(f"reshape: {tuple(xs[0])} has {size} entries, {tuple(shape)} "
                         f"{known}")
    return tuple(shape)


def softmax_axes(xs: tuple[Axes, ...], axis: int = -1) -> Axes:
    if not -len(xs[0]) <= axis < len(xs[0]):
        raise ShapeError(f"softmax: axis {axis} of a rank-{len(xs[0])} tensor")
    return xs[0]


def reduced(n: int, axes: Any) -> tuple[int, ...]:
    """An axis or a tuple of them, of a rank-n tensor, as sorted non-negative ints."""
    items = tuple(axes) if isinstance(axes, (tuple, list)) else (axes,)
    if not items or any(type(a) is not int or not -n <= a < n for a in items) or \
            len({a % n for a in items}) != len(items):
        raise ShapeError(f"axis={axes!r} is not a set of axes of a rank-{n} tensor")
    return tuple(sorted(a % n for a in items))


def sum_axes(xs: tuple[Axes, ...], axes: Any = ()) -> Axes:
    x = xs[0]
    kept = reduced(len(x), axes)
    return tuple(sp.S.One if i in kept else d for i, d in enumerate(x))


def broadcast_axes(x: Axes, y: Axes) -> Axes | None:
    """NumPy's broadcast of two shapes (axes aligned from the right; a 1 stretches), or None."""
    n = max(len(x), len(y))
    a, b = (1,) * (n - len(x)) + tuple(x), (1,) * (n - len(y)) + tuple(y)
    out = []
    for p, q in zip(a, b, strict=True):
        if p != q and p != 1 and q != 1:
            return None
        out.append(q if p == 1 else p)
    return tuple(sp.Integer(d) if isinstance(d, int) else d for d in out)


def broadcast_like(xs: tuple[Axes, ...]) -> Axes:
    x, like = xs
    if broadcast_axes(x, like) != tuple(like):
        raise ShapeError(f"{tuple(x)} does not broadcast to {tuple(like)}")
    return like


def bn_axes(xs: tuple[Axes, ...], eps: float = 1e-5) -> Axes:
    x = _image(xs[0], "batchnorm2d")
    for v, what in zip(xs[1:], ("gamma", "beta"), strict=True):
        _column_of(v, x[1], f"batchnorm2d's {what}")
    return xs[0]
