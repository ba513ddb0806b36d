"""fx's calls on (batch, features) values along an axis, written as text: sums, means and
log-sum-exps along a dim (``reduce``; of tensors of rank >= 3 too), PyTorch's corrected
variance and deviation (``spread``), ``F.normalize``, slices (``indexed``) and ``torch.cat``
(``concatenated``). In the column convention our value is the transpose of PyTorch's, so
PyTorch's dim d is our axis 1 − d; a 1-D result is written as a bias is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from .errors import UnsupportedError
from .torch_tensors import ints_arg, named_args, reshaped
from .torch_values import Val, Writer, fname, number, once, paren


def reduce(fn: str) -> Callable[..., Val]:
    """sum / mean of every entry, or along ``dim`` of a tensor of rank >= 3 (global average
    pooling, ``x.mean(dim=(2, 3))``): the text's reduction keeps the axes, a reshape drops
    them unless ``keepdim``."""
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        k = named_args(("dim", "keepdim"), args, kw)
        dim, keep = k.pop("dim", None), k.pop("keepdim", False)
        if isinstance(keep, Val) and keep.kind == "bool":  # torch.sum(x, 1, True)
            keep = keep.text == "True"
        a = args[0]
        if dim is None and not k and not keep:
            return Val(f"{fn}({a.text})", "scalar", ())
        if k or a.kind not in ("nd", "act") or dim is None or not isinstance(keep, bool):
            raise UnsupportedError(f"{fname(node)} along a dim {w.where(node)}: only of "
                                   "every entry, or along dims of a tensor of rank 2 or more")
        dims = tuple(sorted({d % len(a.shape) for d in ints_arg(dim, w, node)}))
        if a.kind == "act":
            return _reduce_matrix(w, fn, a, dims, keep, node)
        kept = tuple(1 if i in dims else n for i, n in enumerate(a.shape))
        v = Val(f"{fn}({a.text}, axis={dims if len(dims) > 1 else dims[0]})", "nd", kept)
        if keep:
            return v
        return reshaped(w, v, tuple(n for i, n in enumerate(a.shape) if i not in dims), node)
    return build


def spread(fn: str) -> Callable[..., Val]:
    """.var / .std (torch.var, torch.std) of every entry or along one dim of a (batch,
    features) value, with PyTorch's correction (1 unless ``unbiased=False`` or
    ``correction=0``): the text's population variance times n / (n − correction)."""
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        k = named_args(("dim", "unbiased", "keepdim"), args, kw)
        dim, keep = k.pop("dim", None), k.pop("keepdim", False)
        unbiased = k.pop("unbiased", True)
        correction = k.pop("correction", None)
        keep, unbiased = (v.text == "True" if isinstance(v, Val) and v.kind == "bool" else v
                          for v in (keep, unbiased))
        corr = (1 if unbiased else 0) if correction is None else number(correction, w, node)
        a = args[0]
        if k or a.kind not in ("act", "vec") or not isinstance(keep, bool):
            raise UnsupportedError(f"{fname(node)} {w.where(node)}: of every entry or along "
                                   "one dim of a (batch, features) value")
        if dim is None:
            n = math.prod(a.shape)
            v = Val(f"var({a.text})", "scalar", ())
        else:
            dims = tuple(sorted({d % len(a.shape) for d in ints_arg(dim, w, node)}))
            if len(dims) != 1 or a.kind != "act":
                raise UnsupportedError(f"{fname(node)} along {dim} {w.where(node)}: along one "
                                       "dim of a (batch, features) value")
            n = a.shape[dims[0]]
            v = _reduce_matrix(w, "var", a, dims, keep, node)
        if n - corr <= 0:
            raise UnsupportedError(f"{fname(node)} of {n} entries with correction {corr} "
                                   f"{w.where(node)}: no variance")
        text = f"{n / (n - corr)!r}*{paren(v)}" if corr else v.text
        return Val(f"sqrt({text})" if fn == "std" else text, v.kind, v.shape)
    return build


def normalize(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """F.normalize(a, p=2, dim=1, eps): a / max(‖a‖₂ along dim, eps) of a (batch, features)
    value (cosine similarity, contrastive losses)."""
    k = named_args(("p", "dim", "eps"), args, kw)
    p, dim, eps = (number(k.get(n, d), w, node) for n, d in (("p", 2.0), ("dim", 1),
                                                               ("eps", 1e-12)))
    a = args[0]
    if p != 2 or a.kind != "act" or dim not in (0, 1, -1, -2):
        raise UnsupportedError(f"{fname(node)} with p={p:g}, dim={dim:g} of a {a.shape} value "
                               f"{w.where(node)}: the 2-norm along a dim of a (batch, features) "
                               "value")
    a = once(w, a)
    ours = (1 - int(dim) % 2) if w.col else int(dim) % 2
    text = f"{a.text} / max(sqrt(sum({a.text}**2, axis={ours})), {eps!r})"
    return Val(text, "act", a.shape)


def _reduce_matrix(w: Writer, fn: str, a: Val, dims: tuple[int, ...], keep: bool,
                   node: Any) -> Val:
    """sum / mean of a (batch, features) value along one dim: the text's reduction along
    our axis (the other one in the column convention); kept, a (batch, 1) or (1, features)
    value; else a 1-D one, written as a bias is (a column, or a row in the row convention)."""
    if len(dims) == 2:
        if keep:
            raise UnsupportedError(f"{fname(node)} along both dims with keepdim "
                                   f"{w.where(node)} is not supported")
        return Val(f"{fn}({a.text})", "scalar", ())
    d = dims[0]
    ours = 1 - d if w.col else d
    text = f"{fn}({a.text}, axis={ours})"
    if keep:
        return Val(text, "act", (1, a.shape[1]) if d == 0 else (a.shape[0], 1))
    return Val(f"({text}).T" if d == 1 else text, "vec", (a.shape[1 - d],))


def indexed(w: Writer, a: Val, key: Any, node: Any) -> Val:
    """``a[key]`` of a (batch, features) value: slices with a positive step and ints, each
    axis in PyTorch's terms, written as the text's slice of our layout (the axes swapped in
    the column convention); an int drops its axis as PyTorch does (a 1-D result written as
    a bias is, an entry as a number)."""
    key = key if isinstance(key, tuple) else (key,)
    if len(key) > 2 or any(k is Ellipsis for k in key):
        raise UnsupportedError(f"indexing {a.shape} with {key!r} {w.where(node)}")
    key = (*key, slice(None))[:2]
    parts: list[str] = []
    for k, n in zip(key, a.shape, strict=True):
        if isinstance(k, int) and not isinstance(k, bool) and -n <= k < n:
            parts.append(str(k % n))
            continue
        if not isinstance(k, slice) or not all(
                v is None or (isinstance(v, int) and not isinstance(v, bool))
                for v in (k.start, k.stop, k.step)):
            raise UnsupportedError(f"indexing with {k!r} {w.where(node)}: only ints and "
                                   "slices written as numbers")
        start, stop, step = k.indices(n)
        if step < 1 or stop <= start:
            raise UnsupportedError(f"the slice {k!r} {w.where(node)}: an empty or reversed "
                                   "slice is not supported")
        parts.append(f"{start}:{stop}" + (f":{step}" if step != 1 else ""))
    kept = [len(range(*k.indices(n))) if isinstance(k, slice) else None
            for k, n in zip(key, a.shape, strict=True)]
    ours = parts[::-1] if w.col else parts
    text = f"{a.text if a.text.isidentifier() else f'({a.text})'}[{', '.join(ours)}]"
    if None not in kept:
        return Val(text, "act", (kept[0], kept[1]))  # type: ignore[arg-type]
    if kept == [None, None]:
        return Val(text, "scalar", ())
    dropped = kept.index(None)  # the other axis stays, as a column or row like a bias
    return Val(f"({text}).T" if dropped == 1 else text, "vec",
               tuple(k for k in kept if k is not None))


def tensor_indexed(w: Writer, a: Val, key: Any, node: Any) -> Val:
    """``a[key]`` of a tensor of rank >= 3 along one axis (``h[:, -1]``, ``x[:, t, :]``,
    ``x[:, :3]`` of images): the tensor as the matrix (axes before, the rest) in PyTorch's
    row-major order, a slice of its columns, and that reshaped to the result."""
    key = key if isinstance(key, tuple) else (key,)
    if key.count(Ellipsis) == 1:  # x[..., :3]: the ellipsis as full slices
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (len(a.shape) - len(key) + 1) + key[at + 1:]
    if len(key) > len(a.shape) or Ellipsis in key:
        raise UnsupportedError(f"indexing {a.shape} with {key!r} {w.where(node)}")
    key = key + (slice(None),) * (len(a.shape) - len(key))
    odd = [k for k in key if isinstance(k, slice) and not all(
        v is None or (isinstance(v, int) and not isinstance(v, bool))
        for v in (k.start, k.stop, k.step))]
    if odd:
        raise UnsupportedError(f"indexing with {odd[0]!r} {w.where(node)}: only ints and "
                               "slices written as numbers")
    moved = [k for k, (part, n) in enumerate(zip(key, a.shape, strict=True))
             if not (isinstance(part, slice) and part.indices(n) == (0, n, 1))]
    if len(moved) > 1:  # one axis at a time, the last first: the others keep their places
        for k in reversed(moved):
            one = tuple(part if i == k else slice(None) for i, part in enumerate(key))
            a = tensor_indexed(w, a, one, node) if a.kind == "nd" else \
                indexed(w, a, one[:len(a.shape)], node)
        return a
    if not moved:
        return a
    k = moved[0]
    n, inner = a.shape[k], math.prod(a.shape[k + 1:])
    part = key[k]
    if isinstance(part, int) and not isinstance(part, bool) and -n <= part < n:
        start, stop, step, size = part % n, part % n + 1, 1, None
    elif isinstance(part, slice) and all(
            v is None or (isinstance(v, int) and not isinstance(v, bool))
            for v in (part.start, part.stop, part.step)):
        start, stop, step = part.indices(n)
        size = len(range(start, stop, step))
        if step < 1 or size < 1 or (step > 1 and inner > 1):
            raise UnsupportedError(f"the slice {part!r} of {a.shape} {w.where(node)}: only "
                                   "a contiguous, non-empty one")
    else:
        raise UnsupportedError(f"indexing with {part!r} {w.where(node)}: only ints and "
                               "slices written as numbers")
    outer = math.prod(a.shape[:k])
    matrix = reshaped(w, a, (outer, n * inner), node)
    cols = slice(start * inner, stop * inner if step == 1 else stop, step)
    taken = indexed(w, matrix, (slice(None), cols), node)
    shape = a.shape[:k] + (() if size is None else (size,)) + a.shape[k + 1:]
    return reshaped(w, taken, shape, node)


def pieces(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``x.chunk(n, dim)`` and ``x.split(size or sizes, dim)`` (a packed q, k, v): the
    slices along ``dim``, each a value of its own; the tuple's items are read by index."""
    chunk = fname(node).endswith("chunk")
    k = named_args(("chunks" if chunk else "split_size_or_sections", "dim"), args, kw)
    how = k.get("chunks" if chunk else "split_size_or_sections", k.get("split_size"))
    a, dim = args[0], ints_arg(k.get("dim", 0), w, node)[0] % len(args[0].shape)
    n = a.shape[dim]
    sizes: list[int] = list(ints_arg(how, w, node))
    if chunk or len(sizes) == 1:
        step = -(-n // sizes[0]) if chunk else sizes[0]
        sizes = [min(step, n - s) for s in range(0, n, step)]
    if sum(sizes) != n or min(sizes) < 1:
        raise UnsupportedError(f"{fname(node)} of {a.shape} into {sizes} {w.where(node)}")
    a = once(w, a)
    out, start = [], 0
    for size in sizes:
        key = tuple(slice(start, start + size) if i == dim else slice(None)
                    for i in range(len(a.shape)))
        out.append(tensor_indexed(w, a, key, node) if a.kind == "nd" else
                   indexed(w, a, key, node))
        start += size
    return Val("", "parts", a.shape, parts=tuple(out))


def concatenated(w: Writer, parts: list[Val], dim: Any, node: Any) -> Val:
    """torch.cat of (batch, features) values along ``dim``: the text's concatenate along
    our axis (the other one in the column convention)."""
    if not parts or any(p.kind != "act" for p in parts) or isinstance(dim, bool) or \
            not isinstance(dim, int) or not -2 <= dim < 2:
        shapes = ", ".join(str(p.shape) for p in parts)
        raise UnsupportedError(f"{fname(node)} of {shapes} along {dim!r} {w.where(node)}: "
                               "only of (batch, features) values")
    d = dim % 2
    if any(p.shape[1 - d] != parts[0].shape[1 - d] for p in parts):
        raise UnsupportedError(f"{fname(node)} of {', '.join(str(p.shape) for p in parts)} "
                               f"along {dim} {w.where(node)}: the other axis differs")
    axis = 1 - d if w.col else d
    shape = list(parts[0].shape)
    shape[d] = sum(p.shape[d] for p in parts)
    items = ", ".join(p.text for p in parts)
    return Val(f"concatenate(({items},), axis={axis})", "act", (shape[0], shape[1]))


def stacked(w: Writer, parts: list[Val], dim: Any, node: Any) -> Val:
    """torch.stack of values of one shape S along a new axis k: the values as the matrices
    (S[:k], S[k:]) side by side, a (S[:k], n S[k:]) matrix, reshaped to (S[:k], n, S[k:])."""
    shape = parts[0].shape if parts else ()
    if not parts or any(p.kind not in ("act", "nd") or p.shape != shape for p in parts) or \
            isinstance(dim, bool) or not isinstance(dim, int) or \
            not -len(shape) - 1 <= dim <= len(shape):
        shapes = ", ".join(str(p.shape) for p in parts)
        raise UnsupportedError(f"{fname(node)} of {shapes} along {dim!r} {w.where(node)}: "
                               "only of values of one shape, of rank 2 or more")
    k = dim % (len(shape) + 1)
    outer, inner = math.prod(shape[:k]), math.prod(shape[k:])
    side = concatenated(w, [reshaped(w, p, (outer, inner), node) for p in parts], 1, node)
    return reshaped(w, side, (*shape[:k], len(parts), *shape[k:]), node)


def _along(w: Writer, a: Val, dim: Any, node: Any) -> int:
    """PyTorch's one dim of a (batch, features) value."""
    d = ints_arg(dim, w, node)
    if a.kind != "act" or len(d) != 1 or not -2 <= d[0] < 2:
        raise UnsupportedError(f"{fname(node)} along {dim!r} of a {a.shape} value "
                               f"{w.where(node)}: along one dim of a (batch, features) value")
    return d[0] % 2


def norm(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``x.norm()``, ``x.norm(dim=k, keepdim=...)``, ``torch.norm`` (the 2-norm): the square
    root of the sum of squares, of every entry or along one dim of a (batch, features)
    value."""
    k = {n: v for n, v in named_args(("p", "dim", "keepdim"), args, kw).items()
         if not (n in ("out", "dtype") and v is None)}  # torch.norm's, left out
    p = k.pop("p", 2)
    dim, keep = k.pop("dim", None), k.pop("keepdim", False)
    keep = keep.text == "True" if isinstance(keep, Val) and keep.kind == "bool" else keep
    a = args[0]
    if p == "fro" or (isinstance(p, Val) and p.kind == "str" and p.text == "fro"):
        p = 2  # of a matrix or along one dim, the 2-norm
    if k or number(p, w, node) != 2 or not isinstance(keep, bool):
        raise UnsupportedError(f"{fname(node)} {w.where(node)}: only the 2-norm")
    squares = Val(f"{paren(a)}**2", a.kind, a.shape)
    if dim is None and not keep:
        return Val(f"sqrt(sum({squares.text}))", "scalar", ())
    v = _reduce_matrix(w, "sum", squares, (_along(w, a, dim, node),), keep, node)
    return Val(f"sqrt({v.text})", v.kind, v.shape)


def cosine_similarity(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``F.cosine_similarity(a, b, dim, eps)`` of (batch, features) values: Σ a ⊙ b along
    dim over max(‖a‖, eps) max(‖b‖, eps), as PyTorch's."""
    k = named_args(("x2", "dim", "eps"), args, kw)
    a, b = args[0], k.get("x2")
    eps = number(k.get("eps", 1e-8), w, node)
    if not isinstance(b, Val) or b.kind != "act" or b.shape != a.shape:
        raise UnsupportedError(f"{fname(node)} {w.where(node)}: of two (batch, features) "
                               "values of one shape")
    d = (_along(w, a, k.get("dim", 1), node),)
    a, b = once(w, a), once(w, b)
    dot, na, nb = (_reduce_matrix(w, "sum", Val(t, "act", a.shape), d, False, node).text
                   for t in (f"hadamard({a.text}, {b.text})", f"{a.text}**2", f"{b.text}**2"))
    text = f"{dot} / hadamard(max(sqrt({na}), {eps!r}), max(sqrt({nb}), {eps!r}))"
    return Val(text, "vec", (a.shape[1 - d[0]],))


def layer_norm(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``F.layer_norm(a, (D,), weight, bias, eps)`` over the last axis: of (batch, D) the
    text's ``layernorm`` in the column convention with both γ and β, else (a − mean) /
    √(var + ε), γ ⊙ · + β; of tokens (B, T, D), each token of the (B T, D) matrix."""
    k = named_args(("normalized_shape", "weight", "bias", "eps"), args, kw)
    a, shape = args[0], ints_arg(k.get("normalized_shape"), w, node)
    g, b = (v if isinstance(v, Val) and v.kind == "vec" else None
            for v in (k.get("weight"), k.get("bias")))
    eps = number(k.get("eps", 1e-5), w, node)
    if shape != a.shape[-1:] or a.kind not in ("act", "nd") or any(
            isinstance(v, Val) and v.kind not in ("vec", "none") for v in (
                k.get("weight"), k.get("bias"))):
        raise UnsupportedError(f"{fname(node)} over {shape} of a {a.shape} value "
                               f"{w.where(node)}: only over the last axis")
    if a.kind == "nd":
        flat = reshaped(w, a, (math.prod(a.shape[:-1]), a.shape[-1]), node)
        return reshaped(w, layer_norm(w, [flat, *args[1:]], kw, node), a.shape, node)
    if w.col and g is not None and b is not None:
        return Val(f"layernorm({a.text}, {g.text}, {b.text}, eps={eps!r})", "act", a.shape)
    a = once(w, a)
    ax = 0 if w.col else 1
    text = f"({a.text} - mean({a.text}, axis={ax})) / sqrt(var({a.text}, axis={ax}) + {eps!r})"
    if g is not None:
        text = f"hadamard({g.text}, {text})"
    if b is not None:
        text = f"{text} + {b.text}"
    return Val(text, "act", a.shape)
