"""fx's calls on tensors of rank >= 3 written as text (the n-D primitives of
docs/tensors.md: reshapes, permutations, einsum, batched products, convolution and pooling).
Their text keeps PyTorch's layout (NCHW, (B, H, T, D)); a 2-D result is an activation again,
transposed in the column convention, so a Linear after a Flatten reads W x + b as everywhere.
``TENSOR_CALLS`` is their part of ``torch_calls.FUNCTIONS``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from . import tensors
from .errors import UnsupportedError
from .torch_values import Val, Writer, call_name, fname, transposed_text


def torch_text(w: Writer, v: Val) -> str:
    """A value's text in PyTorch's layout (a 1-D parameter as a column, as ``einsum``
    and ``conv2d`` take it)."""
    if (v.kind == "act" and w.col) or (v.kind == "vec" and not w.col):
        return transposed_text(v.text)
    return v.text


def as_val(w: Writer, text: str, shape: tuple[int, ...], node: Any) -> Val:
    """A result written in PyTorch's layout as one of ours."""
    if len(shape) >= 3:
        return Val(text, "nd", shape)
    if len(shape) == 2:
        return Val(transposed_text(text) if w.col else text, "act", shape)
    raise UnsupportedError(f"{call_name(node)} {w.where(node)} gives a {shape} tensor: only "
                           "results of rank 2 or more are supported")


def int_arg(v: Any, w: Writer, node: Any) -> int:
    """An int argument: a Python int, or a number fx recorded (``x.size(0)``)."""
    if isinstance(v, Val) and v.kind == "num" and v.text.lstrip("-").isdigit():
        return int(v.text)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise UnsupportedError(f"{call_name(node)} {w.where(node)}: an argument that is not an int")


def ints_arg(v: Any, w: Writer, node: Any) -> tuple[int, ...]:
    """An int or a tuple of them, as fx records a stride, a size or dims."""
    if isinstance(v, Val) and v.kind in ("ints", "shape"):
        return v.shape
    if isinstance(v, (tuple, list)):
        return tuple(int_arg(x, w, node) for x in v)
    return (int_arg(v, w, node),)


def _pair(v: Any, w: Writer, node: Any, what: str, fn: str) -> tuple[int, int]:
    if isinstance(v, str):
        raise UnsupportedError(f"{fn} with {what}={v!r} {w.where(node)}: give {what} as "
                               "numbers")
    p = ints_arg(v, w, node)
    if len(p) == 1:
        return p[0], p[0]
    if len(p) != 2:
        raise UnsupportedError(f"{fn} with {what}={p} {w.where(node)}")
    return p[0], p[1]


def _only(w: Writer, fn: str, what: str, v: Any, ok: int, node: Any) -> None:
    """Refuses ``what`` unless it is ``ok`` (an int, or every entry of a pair)."""
    got = ints_arg(v, w, node)
    if set(got) != {ok}:
        shown = got[0] if len(got) == 1 else got
        raise UnsupportedError(f"{fn} with {what}={shown} {w.where(node)} is not supported: "
                               f"{what} {ok} only")


def _pair_text(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"({p[0]}, {p[1]})"


def permuted(w: Writer, a: Val, perm: tuple[int, ...], node: Any) -> Val:
    if sorted(perm) != list(range(len(a.shape))):
        raise UnsupportedError(f"{call_name(node)} by {perm} of a {a.shape} tensor "
                               f"{w.where(node)}")
    if perm == tuple(range(len(perm))):
        return a
    shape = tuple(a.shape[i] for i in perm)
    return as_val(w, f"transpose({torch_text(w, a)}, {perm})", shape, node)


def reshaped(w: Writer, a: Val, shape: tuple[int, ...], node: Any) -> Val:
    """``reshape`` in PyTorch's (row-major) order; one size may be -1. A 1-D value (a
    bias, ``h.sum(dim=1)``) is its column in PyTorch's layout: ``unsqueeze(1)`` is that
    column, ``unsqueeze(0)`` its row."""
    size = math.prod(a.shape)
    known = math.prod(d for d in shape if d != -1)
    if shape.count(-1) == 1 and known and size % known == 0:
        shape = tuple(size // known if d == -1 else d for d in shape)
    if math.prod(shape) != size or any(d < 1 for d in shape) or \
            a.kind not in ("act", "nd", "vec"):
        raise UnsupportedError(f"{call_name(node)} of a {a.shape} {a.kind} to {shape} "
                               f"{w.where(node)}")
    if shape == a.shape:
        return a
    source = a.before or torch_text(w, a)
    v = as_val(w, f"reshape({source}, {shape})", shape, node)
    v.before = source
    return v


def _reshape(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    shape = kw.get("shape", args[1:] if len(args) > 2 else args[1] if len(args) > 1 else ())
    return reshaped(w, args[0], ints_arg(shape, w, node), node)


def _flatten(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    start = int_arg(kw.get("start_dim", args[1] if len(args) > 1 else 0), w, node)
    end = int_arg(kw.get("end_dim", args[2] if len(args) > 2 else -1), w, node)
    return flattened(w, a, start, end, node)


def flattened(w: Writer, a: Val, start: int, end: int, node: Any) -> Val:
    """``torch.flatten(a, start, end)``: axes ``start`` to ``end`` made one."""
    n = len(a.shape)
    s, e = start % n, end % n
    if s > e:
        raise UnsupportedError(f"flatten from dim {start} to {end} {w.where(node)}")
    return reshaped(w, a, (*a.shape[:s], math.prod(a.shape[s:e + 1]), *a.shape[e + 1:]),
                    node)


def _permute(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    dims = kw.get("dims", args[1:] if len(args) > 2 else args[1] if len(args) > 1 else ())
    perm = tuple(d % len(args[0].shape) for d in ints_arg(dims, w, node))
    if args[0].kind == "act" and perm == (1, 0):
        return Val(transposed_text(args[0].text), "act", args[0].shape[::-1])
    return permuted(w, args[0], perm, node)


def _unsqueeze(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``x.unsqueeze(d)``: an axis of length 1 inserted, a reshape."""
    a = args[0]
    d = int_arg(kw.get("dim", args[1] if len(args) > 1 else None), w, node)
    d = d % (len(a.shape) + 1)
    return reshaped(w, a, (*a.shape[:d], 1, *a.shape[d:]), node)


def _squeeze(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``x.squeeze(d)`` (every axis of length 1 without ``d``): a reshape to rank 2 or more."""
    a = args[0]
    dim = kw.get("dim", args[1] if len(args) > 1 else None)
    dims = {d % len(a.shape) for d in ((int_arg(dim, w, node),) if dim is not None
                                       else range(len(a.shape)))}
    return reshaped(w, a, tuple(n for i, n in enumerate(a.shape)
                                if not (i in dims and n == 1)), node)


def _size(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``x.size(k)`` is a number of the example's shape (the shapes are the example's)."""
    a = args[0]
    dim = kw.get("dim", args[1] if len(args) > 1 else None)
    if dim is None:
        return Val("", "shape", a.shape)
    return Val(str(a.shape[int_arg(dim, w, node)]), "num", ())


def _getitem(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, k = args[:2]
    if a.kind == "parts":  # q, k, v = qkv.chunk(3, dim=-1)
        return a.parts[int_arg(k, w, node)]
    if a.kind != "shape":
        raise UnsupportedError(f"indexing a tensor {w.where(node)} is not supported yet")
    return Val(str(a.shape[int_arg(k, w, node)]), "num", ())


_SPEC = re.compile(r"[a-z]+(?:,[a-z]+)*->[a-z]+\Z")


def einsum_text(w: Writer, spec: str, xs: list[Val], node: Any) -> Val:
    """``torch.einsum``: lowercase letters, its implicit output and ``...`` made explicit
    as NumPy reads them (``tensors.explicit_spec``); the spec is checked before it is
    written into the text."""
    spec = tensors.explicit_spec(spec.replace(" ", ""), tuple(len(x.shape) for x in xs))
    if not _SPEC.match(spec):
        raise UnsupportedError(f"torch.einsum spec {spec!r} {w.where(node)}: write it with "
                               "lowercase letters, giving a tensor (a scalar einsum is a "
                               "sum of a product)")
    ins, out = spec.split("->")
    size: dict[str, int] = {}
    for letters, x in zip(ins.split(","), xs, strict=False):
        if x.kind not in ("act", "nd", "vec") or len(letters) != len(x.shape):
            raise UnsupportedError(f"torch.einsum {spec!r} {w.where(node)}: {letters!r} "
                                   f"for a {x.shape} operand")
        for c, n in zip(letters, x.shape, strict=True):
            if size.setdefault(c, n) != n:
                raise UnsupportedError(f"torch.einsum {spec!r} {w.where(node)}: index {c} "
                                       f"is {size[c]} and {n}")
    if len(ins.split(",")) != len(xs) or not set(out) <= set(size):
        raise UnsupportedError(f"torch.einsum {spec!r} {w.where(node)} with {len(xs)} "
                               "operands")
    text = f"einsum('{spec}', {', '.join(torch_text(w, x) for x in xs)})"
    return as_val(w, text, tuple(size[c] for c in out), node)


def _einsum(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    if not args or args[0].kind != "str":
        raise UnsupportedError(f"torch.einsum {w.where(node)} without a spec")
    return einsum_text(w, args[0].text, args[1:], node)


def batched_matmul(w: Writer, a: Val, b: Val, node: Any) -> Val:
    """``a @ b`` with a tensor of rank >= 3: an einsum over the last axis of ``a`` and the
    second last of ``b``, the batch axes shared (not broadcast)."""
    batch = a.shape[:-2] if len(a.shape) >= len(b.shape) else b.shape[:-2]
    if any(len(x.shape) > 2 and x.shape[:-2] != batch for x in (a, b)):
        raise UnsupportedError(f"{call_name(node)} of {a.shape} and {b.shape} {w.where(node)}: "
                               "broadcasting batch axes is not supported")
    lead = "abcdefgh"[:len(batch)]
    sa = (lead if len(a.shape) > 2 else "") + "ij"
    sb = (lead if len(b.shape) > 2 else "") + "jk"
    return einsum_text(w, f"{sa},{sb}->{lead}ik", [a, b], node)


def conv_text(w: Writer, x: Val, weight: Val, bias: Val | None, kw: Mapping[str, Any],
              node: Any, fn: str = "conv2d") -> Val:
    """``conv2d`` (NCHW, cross-correlation as PyTorch's): stride and zero padding, an int
    or a pair; dilation, groups and other padding modes are refused by name (as ``fn``'s)."""
    if x.kind != "nd" or len(x.shape) != 4 or weight.kind != "nd":
        raise UnsupportedError(f"conv2d of a {x.shape} input {w.where(node)}: (N, C, H, W) "
                               "only")
    for what, ok in (("dilation", 1), ("groups", 1)):
        _only(w, fn, what, kw.get(what, ok), ok, node)
    if kw.get("padding_mode", "zeros") != "zeros":
        raise UnsupportedError(f"{fn} with padding_mode={kw['padding_mode']!r} "
                               f"{w.where(node)}: zero padding only")
    stride = _pair(kw.get("stride", 1), w, node, "stride", fn)
    padding = _pair(kw.get("padding", 0), w, node, "padding", fn)
    shape = tensors.conv2d_shape(x.shape, weight.shape, stride, padding)
    parts = [x.text, weight.text, *([torch_text(w, bias)] if bias is not None else [])]
    parts += [f"stride={_pair_text(stride)}"] * (stride != (1, 1))
    parts += [f"padding={_pair_text(padding)}"] * (padding != (0, 0))
    return Val(f"conv2d({', '.join(parts)})", "nd", shape)


def conv1d_text(w: Writer, x: Val, weight: Val, bias: Val | None, kw: Mapping[str, Any],
                node: Any) -> Val:
    """``Conv1d`` as ``conv2d`` of one-row images: the input (N, C, L) as (N, C, 1, L), the
    filter (F, C, k) as (F, C, 1, k), stride, padding and dilation along the row; the
    result (N, F, 1, L') as (N, F, L')."""
    if x.kind != "nd" or len(x.shape) != 3 or weight.kind != "nd" or len(weight.shape) != 3:
        raise UnsupportedError(f"conv1d of a {x.shape} input {w.where(node)}: (N, C, L) only")

    def along_row(what: str, default: int) -> Any:
        v = kw.get(what, default)
        if isinstance(v, str):
            return v  # conv2d refuses it by name
        got = ints_arg(v, w, node)
        if len(got) != 1:
            raise UnsupportedError(f"conv1d with {what}={got} {w.where(node)}")
        return (0 if what == "padding" else 1, got[0])

    for what, ok in (("dilation", 1), ("groups", 1)):  # refused here, in conv1d's terms
        _only(w, "conv1d", what, kw.get(what, ok), ok, node)
    row = {k: along_row(k, d) for k, d in (("stride", 1), ("padding", 0))}
    (n, c, length), (f, _, k) = x.shape, weight.shape
    image = conv_text(w, reshaped(w, x, (n, c, 1, length), node),
                      reshaped(w, weight, (f, c, 1, k), node), bias, {**kw, **row}, node,
                      "conv1d")
    return reshaped(w, image, (n, f, image.shape[3]), node)


def adaptive_pool_text(w: Writer, how: str, x: Val, size: Any, node: Any) -> Val:
    """``AdaptiveAvgPool2d`` / ``AdaptiveMaxPool2d`` whose output size divides the input's:
    the pooling with windows of input / output (``AdaptiveAvgPool2d(1)``: global average
    pooling). Windows that would overlap (a size that does not divide) are refused."""
    if x.kind != "nd" or len(x.shape) != 4:
        raise UnsupportedError(f"adaptive {how} pooling of a {x.shape} input {w.where(node)}: "
                               "(N, C, H, W) only")
    sizes = (size, size) if isinstance(size, int) or size is None else tuple(size)
    out = tuple(n if s is None else int_arg(s, w, node) for n, s in zip(x.shape[2:], sizes,
                                                                        strict=True))
    if any(n % o for n, o in zip(x.shape[2:], out, strict=True)):
        raise UnsupportedError(f"adaptive {how} pooling of {x.shape[2:]} to {out} "
                               f"{w.where(node)}: only to a size that divides the input's")
    window = tuple(n // o for n, o in zip(x.shape[2:], out, strict=True))
    return pool_text(w, how, x, {"kernel_size": window, "stride": window}, node)


def _f_adaptive(how: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        k = named_args(("output_size", "return_indices"), args, kw)
        if k.get("return_indices"):
            raise UnsupportedError(f"{fname(node)} with return_indices {w.where(node)}")
        size = k.get("output_size")
        if isinstance(size, Val):  # (1, 1) as ints, 1 as a number fx recorded
            size = size.shape if size.kind == "ints" else int_arg(size, w, node)
        return adaptive_pool_text(w, how, args[0], size, node)
    return build


def pool_text(w: Writer, how: str, x: Val, kw: Mapping[str, Any], node: Any) -> Val:
    """``maxpool2d`` / ``avgpool2d``: a window and a stride (the window's by default), no
    padding, no dilation; ``ceil_mode`` only where no window hangs over the edge (then it
    changes nothing, nor does ``count_include_pad``)."""
    if x.kind != "nd" or len(x.shape) != 4:
        raise UnsupportedError(f"{how}pool2d of a {x.shape} input {w.where(node)}: "
                               "(N, C, H, W) only")
    size = _pair(kw["kernel_size"], w, node, "kernel_size", f"{how}pool2d")
    stride = kw.get("stride")
    stride = size if stride is None or stride == [] else \
        _pair(stride, w, node, "stride", f"{how}pool2d")
    for what, ok in (("padding", 0), ("dilation", 1)):
        _only(w, f"{how}pool2d", what, kw.get(what, ok), ok, node)
    if kw.get("return_indices") or kw.get("divisor_override") is not None:
        what = "return_indices" if kw.get("return_indices") else "divisor_override"
        raise UnsupportedError(f"{how}pool2d with {what} {w.where(node)} is not supported")
    shape = tensors.pool2d_shape(x.shape, size, stride)
    if kw.get("ceil_mode") and any((n - k) % s for n, k, s in zip(x.shape[2:], size, stride,
                                                                   strict=True)):
        raise UnsupportedError(f"{how}pool2d with ceil_mode=True {w.where(node)}: a window "
                               "would hang over the edge; not supported")
    parts = [x.text, _pair_text(size)] + [f"stride={_pair_text(stride)}"] * (stride != size)
    return Val(f"{how}pool2d({', '.join(parts)})", "nd", shape)


def named_args(names: tuple[str, ...], args: list[Val], kw: Mapping[str, Any]) -> dict[str, Any]:
    """Positional arguments after the input by their names, merged with the keywords."""
    return {**dict(zip(names, args[1:], strict=False)), **kw}


def _f_conv2d(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    k = named_args(("weight", "bias", "stride", "padding", "dilation", "groups"), args, kw)
    bias = k.get("bias")
    return conv_text(w, args[0], k["weight"], None if getattr(bias, "kind", "") == "none"
                     else bias, k, node)


def _f_conv1d(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    k = named_args(("weight", "bias", "stride", "padding", "dilation", "groups"), args, kw)
    bias = k.get("bias")
    return conv1d_text(w, args[0], k["weight"], None if getattr(bias, "kind", "") == "none"
                       else bias, k, node)


def _f_pool(how: str) -> Callable[..., Val]:
    names = ("kernel_size", "stride", "padding") + (
        ("dilation", "ceil_mode", "return_indices") if how == "max" else
        ("ceil_mode", "count_include_pad", "divisor_override"))

    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        k = {n: (v.shape if isinstance(v, Val) and v.kind == "ints" else
                 int_arg(v, w, node) if isinstance(v, Val) and v.kind == "num" else v)
             for n, v in named_args(names, args, kw).items()}
        return pool_text(w, how, args[0], k, node)
    return build


TENSOR_CALLS: dict[str, Callable[..., Val]] = {
    "F.conv2d": _f_conv2d, "F.max_pool2d": _f_pool("max"), "F.avg_pool2d": _f_pool("avg"),
    "F.adaptive_avg_pool2d": _f_adaptive("avg"), "F.adaptive_max_pool2d": _f_adaptive("max"),
    "torch.conv2d": _f_conv2d, "F.conv1d": _f_conv1d, "torch.conv1d": _f_conv1d,
    "torch.einsum": _einsum,
    "torch.flatten": _flatten, "Tensor.flatten": _flatten, "Tensor.view": _reshape,
    "Tensor.reshape": _reshape, "torch.reshape": _reshape, "Tensor.permute": _permute,
    "torch.permute": _permute, "Tensor.size": _size, "operator.getitem": _getitem,
    "Tensor.unsqueeze": _unsqueeze, "torch.unsqueeze": _unsqueeze,
    "Tensor.squeeze": _squeeze, "torch.squeeze": _squeeze,
}
