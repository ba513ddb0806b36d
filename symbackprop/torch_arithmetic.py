"""fx's element-wise arithmetic and comparisons written as text: ``+ - * / // ** -x`` (sizes
fx recorded, ``x.size(0) * x.size(1)``, computed as the numbers they are), the operands
brought to one layout as PyTorch broadcasts them (``_aligned``), comparisons and PyTorch's
bool tensors as the text's numbers 0 and 1 (masks: ``~m``, ``m & n``, ``.bool()``),
``torch.where`` and ``masked_fill``, ``torch.maximum`` and ``torch.min`` of two values.
``ARITHMETIC_CALLS`` is their part of ``torch_calls.FUNCTIONS``."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .errors import UnsupportedError
from .torch_matrices import reduce
from .torch_tensors import torch_text
from .torch_values import Val, Writer, fname, paren


def _sizes(op: Callable[[int, int], int]) -> Callable[[Val, Val], Val | None]:
    """Arithmetic on two sizes fx recorded (``x.size(0) * x.size(1)``): a number again."""
    def on(a: Val, b: Val) -> Val | None:
        if a.kind == b.kind == "num" and all(v.text.lstrip("-").isdigit() for v in (a, b)):
            return Val(str(op(int(a.text), int(b.text))), "num", ())
        return None
    return on


def _add(sign: str) -> Callable[..., Val]:
    sizes = _sizes(operator.add if sign == "+" else operator.sub)

    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        a, b = args[:2]
        size = sizes(a, b)
        if size is not None:
            return size
        if "zeros" in (a.kind, b.kind) and _bshape(a, b) in (a.shape, b.shape):
            other = b if a.kind == "zeros" else a  # 0 + b, a + 0, a − 0: the other
            if other.kind != "zeros" and (sign == "+" or b.kind == "zeros") and \
                    other.shape == _bshape(a, b):
                return other
        if kw.get("alpha", 1) != 1 or len(args) > 2:
            raise UnsupportedError(f"{fname(node)} with alpha {w.where(node)}")
        if sign == "+" and a.mask and b.mask:  # bool + bool is PyTorch's or: True + True is True
            return _logical("or")(w, [a, b], {}, node)
        a, b = _aligned(w, a, b, node)
        right = paren(b) if sign == "-" else b.text
        return Val(f"{a.text} {sign} {right}", _kind(a, b), _bshape(a, b))
    return build


def _kind(a: Val, b: Val) -> str:
    kinds = (a.kind, b.kind)
    return "nd" if "nd" in kinds else "act" if "act" in kinds else a.kind if a.kind != "num" \
        else b.kind


def _aligned(w: Writer, a: Val, b: Val, node: Any) -> tuple[Val, Val]:
    """The operands of an element-wise ``+ - * /`` as the text takes them. Of 2-D values
    our layout broadcasts as PyTorch's (transposed or not); with a tensor of rank >= 3, an
    operand that PyTorch broadcasts to the other's shape (a (C, 1, 1) parameter, a bias
    (D,), a (T, D) table) is written in PyTorch's layout with leading axes of length 1,
    which the text broadcasts as NumPy does. Both operands broadcast: refused."""
    if "num" in (a.kind, b.kind) or "scalar" in (a.kind, b.kind) or a.shape == b.shape:
        return a, b
    rank = max(len(a.shape), len(b.shape))
    sa, sb = ((1,) * (rank - len(v.shape)) + v.shape for v in (a, b))
    if any(m != n and 1 not in (m, n) for m, n in zip(sa, sb, strict=True)):
        raise UnsupportedError(f"{fname(node)} of a {a.shape} and a {b.shape} tensor "
                               f"{w.where(node)}: the shapes do not broadcast")
    if "nd" not in (a.kind, b.kind):  # 2-D: the text spreads a row and a column both
        return a, b
    if _bshape(a, b) not in (sa, sb):
        raise UnsupportedError(f"{fname(node)} of a {a.shape} and a {b.shape} tensor "
                               f"{w.where(node)}: broadcasting both operands is not "
                               "supported (bring one to the result's shape first)")

    def spread(v: Val, shape: tuple[int, ...]) -> Val:
        if shape == v.shape:
            return v
        return Val(f"reshape({torch_text(w, v)}, {shape})", "nd", shape)

    return spread(a, sa), spread(b, sb)


def _bshape(a: Val, b: Val) -> tuple[int, ...]:
    """PyTorch's broadcast shape of two operands (a number's is ``()``)."""
    rank = max(len(a.shape), len(b.shape))
    sa, sb = ((1,) * (rank - len(v.shape)) + v.shape for v in (a, b))
    return tuple(map(max, sa, sb))


def _mul(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, b = args[:2]
    size = _sizes(operator.mul)(a, b)
    if size is not None:
        return size
    if "num" in (a.kind, b.kind):
        return Val(f"{paren(a)}*{paren(b)}", _kind(a, b), _bshape(a, b))
    a, b = _aligned(w, a, b, node)
    return Val(f"hadamard({a.text}, {b.text})", _kind(a, b), _bshape(a, b))


# masks: PyTorch's bool tensors as the text's numbers 0 and 1 ---------------------------


def _is(w: Writer, a: Val, b: Val, node: Any, equal: bool) -> Val:
    """a == b (or a != b) as 0 or 1: (a >= b) − (a > b); of a mask and 0 or 1, the mask or
    1 − mask."""
    if b.mask and not a.mask:
        a, b = b, a
    if a.mask and b.kind == "num" and b.text in ("0", "1", "0.0", "1.0"):
        same = (float(b.text) == 1) == equal
        return a if same else Val(f"1 - {paren(a)}", a.kind, a.shape, mask=True)
    a, b = _aligned(w, a, b, node)
    x, y = paren(a), paren(b)
    text = f"(({x} >= {y}) - ({x} > {y}))" if equal else f"(1 - ({x} >= {y}) + ({x} > {y}))"
    return Val(text, _kind(a, b), _bshape(a, b), mask=True)


def _compare(op: str) -> Callable[..., Val]:
    """``a > b`` (``<``, ``>=``, ``<=``, ``==``, ``!=``) entry by entry, PyTorch's bool
    tensor as the text's comparison: a number 0 or 1, through which nothing flows back."""
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        a, b = args[:2]
        if op in ("==", "!="):
            return _is(w, a, b, node, op == "==")
        a, b = _aligned(w, a, b, node)
        # in brackets: (h > 0) + (h < 1) is never the chained h > 0 + h < 1
        return Val(f"({paren(a)} {op} {paren(b)})", _kind(a, b), _bshape(a, b), mask=True)
    return build


def _logical(op: str) -> Callable[..., Val]:
    """``~m``, ``m & n``, ``m | n`` (and ``torch.logical_*``), ``.bool()``: of masks, 1 − m,
    m ⊙ n, m + n − m ⊙ n; any other value first compared with 0, as PyTorch reads it."""
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        zero = Val("0", "num", ())
        ms = [a if a.mask else _is(w, a, zero, node, False) for a in args[:1 if op in (
            "not", "bool") else 2]]
        if op == "bool":
            return ms[0]
        if op == "not":
            return Val(f"1 - {paren(ms[0])}", ms[0].kind, ms[0].shape, mask=True)
        a, b = _aligned(w, ms[0], ms[1], node)
        both = f"hadamard({a.text}, {b.text})" if "num" not in (a.kind, b.kind) else \
            f"{paren(a)}*{paren(b)}"
        text = both if op == "and" else f"{paren(a)} + {paren(b)} - ({both})"
        return Val(text, _kind(a, b), _bshape(a, b), mask=True)
    return build


_COMPARISONS = {"gt": ">", "lt": "<", "ge": ">=", "le": "<=", "eq": "==", "ne": "!=",
                "greater": ">", "less": "<", "greater_equal": ">=", "less_equal": "<=",
                "not_equal": "!="}


def _where(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``torch.where(c, a, b)`` and ``x.masked_fill(m, v)`` (v where m, else x): the text's
    where, whose branches may be ±∞ (a causal mask)."""
    if fname(node).endswith("masked_fill"):
        x, m, v = args[0], args[1], args[2] if len(args) > 2 else kw.get("value")
    elif len(args) == 3:
        m, v, x = args
    else:
        raise UnsupportedError(f"{fname(node)} with {len(args)} arguments {w.where(node)}: "
                               "only torch.where(condition, x, y)")
    if not isinstance(v, Val):
        raise UnsupportedError(f"{fname(node)} {w.where(node)}: a value that is not a "
                               "number or a tensor")
    # every operand in one layout: the condition against the branches' result (a (T, T)
    # mask's text is its transpose in the column convention, a (B, T, T) score's is not)
    v, x = _aligned(w, v, x, node)
    m = _aligned(w, m, Val("", _kind(v, x), _bshape(v, x)), node)[0]
    v, x = _aligned(w, v, m, node)[0], _aligned(w, x, m, node)[0]
    out = Val("", _kind(v, x), _bshape(v, x))
    return Val(f"where({m.text}, {v.text}, {x.text})", _kind(m, out), _bshape(m, out))


def _extreme(fn: str) -> Callable[..., Val]:
    """``torch.maximum(a, b)`` (``minimum``) entry by entry: the text's max(a, b)."""
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        if len(args) != 2 or kw:
            raise UnsupportedError(f"{fname(node)} {w.where(node)}: only of two tensors")
        a, b = _aligned(w, args[0], args[1], node)
        return Val(f"{fn}({a.text}, {b.text})", _kind(a, b), _bshape(a, b))
    return build


def _min_max(fn: str) -> Callable[..., Val]:
    """``torch.min(a, b)`` (``max``; a 0-d tensor among them is its number) as
    ``torch.minimum``; ``x.min()`` the least entry; along a dim (values and indices)
    refused."""
    both, every = _extreme(fn), reduce(fn)

    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        if len(args) == 2 and not kw and not (args[1].kind == "num" and
                                               args[1].text.lstrip("-").isdigit()):
            return both(w, args, kw, node)
        if len(args) == 1 and not kw:
            return every(w, args, kw, node)
        raise UnsupportedError(f"{fname(node)} along a dim {w.where(node)} gives values and "
                               f"indices: write torch.a{fn}(x, dim) for the values")
    return build


def _math_sqrt(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``math.sqrt(d)`` of a number fx recorded (the attention scale √d of a size)."""
    if len(args) != 1 or args[0].kind != "num" or float(args[0].text) < 0:
        raise UnsupportedError(f"{fname(node)} {w.where(node)}: only of a number")
    return Val(repr(math.sqrt(float(args[0].text))), "num", ())


def _floordiv(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    size = _sizes(lambda m, n: m // n if n else 0)(*args[:2])
    if size is None or args[1].text == "0":
        raise UnsupportedError(f"{fname(node)} {w.where(node)}: only of two sizes")
    return size


def _div(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``a / b`` entry by entry (a number, a value of the same layout, or one PyTorch
    broadcasts)."""
    if kw.get("rounding_mode") is not None:
        raise UnsupportedError(f"{fname(node)} with rounding_mode {w.where(node)}: its "
                               "gradient is 0 almost everywhere; not supported")
    a, b = _aligned(w, args[0], args[1], node)
    return Val(f"{paren(a)} / {paren(b)}", _kind(a, b), _bshape(a, b))


def _pow(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``a ** c`` entry by entry, ``c`` a number (the text's ``**`` of an array is
    element-wise, as PyTorch's)."""
    a, c = args[:2]
    if a.kind == c.kind == "num":  # x.size(-1) ** -0.5: a number
        return Val(repr(float(a.text) ** float(c.text)), "num", ())
    if c.kind != "num" or a.kind == "num":
        raise UnsupportedError(f"{fname(node)} {w.where(node)}: only a tensor to the power "
                               "of a number")
    exponent = c.text if not c.text.startswith("-") else f"({c.text})"
    return Val(f"{paren(a)}**{exponent}", a.kind, a.shape)


def _neg(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    return Val(f"-{paren(args[0])}", args[0].kind, args[0].shape)


# fx's calls -> text: their part of torch_calls.FUNCTIONS
ARITHMETIC_CALLS: dict[str, Callable[..., Val]] = {
    "operator.add": _add("+"), "torch.add": _add("+"), "Tensor.add": _add("+"),
    "operator.sub": _add("-"), "torch.sub": _add("-"), "Tensor.sub": _add("-"),
    "operator.mul": _mul, "torch.mul": _mul, "Tensor.mul": _mul,
    "operator.truediv": _div, "torch.div": _div, "Tensor.div": _div,
    "operator.floordiv": _floordiv, "operator.neg": _neg,
    "operator.pow": _pow, "torch.pow": _pow, "Tensor.pow": _pow,
    "torch.neg": _neg, "math.sqrt": _math_sqrt,
    **{f"{p}.{n}": _compare(op) for p, names in (
        ("operator", ("gt", "lt", "ge", "le", "eq", "ne")),
        ("torch", ("gt", "lt", "ge", "le", "eq", "ne", "greater", "less", "greater_equal",
                   "less_equal", "not_equal")),
        ("Tensor", ("gt", "lt", "ge", "le", "eq", "ne", "greater", "less", "greater_equal",
                    "less_equal", "not_equal")))
       for n, op in ((n, _COMPARISONS[n]) for n in names)},
    **{f"{p}.{n}": _logical(op) for p, n, op in (
        ("operator", "invert", "not"), ("operator", "and_", "and"), ("operator", "or_", "or"),
        *((q, f"logical_{o}", o) for q in ("torch", "Tensor") for o in ("not", "and", "or")),
        ("Tensor", "bool", "bool"), ("Tensor", "__and__", "and"), ("Tensor", "__or__", "or"),
        ("Tensor", "__invert__", "not"))},
    "torch.where": _where, "Tensor.masked_fill": _where, "torch.masked_fill": _where,
    "torch.maximum": _extreme("max"), "Tensor.maximum": _extreme("max"),
    "torch.minimum": _extreme("min"), "Tensor.minimum": _extreme("min"),
    **{f"{p}.{n}": _min_max(n) for p in ("torch", "Tensor") for n in ("min", "max")},
}
