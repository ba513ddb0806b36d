"""fx's recorded calls written as text of the text language: the table ``FUNCTIONS``
(``torch.relu``, ``operator.matmul``, ``F.mse_loss``, ...) and the layers' forms that the
walk over a module (``torch_walk``) shares with it (``linear``, ``softmax``, the losses).
The calls on tensors of rank >= 3 are ``torch_tensors``'s (its ``TENSOR_CALLS``).

Each entry takes the operands as ``Val`` (their text in our layout and PyTorch's shape) and
returns the result's; in the column convention an activation's text is its transpose, so
``x Wᵀ`` is written ``W@x`` and ``a @ b`` is written ``b@a``. A call or an argument the
table cannot write raises ``UnsupportedError`` naming it and where it is.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from .errors import ShapeError, UnsupportedError
from .torch_matrices import (
    cosine_similarity,
    layer_norm,
    norm,
    normalize,
    pieces,
    reduce,
    spread,
)
from .torch_tensors import (
    TENSOR_CALLS,
    batched_matmul,
    int_arg,
    ints_arg,
    named_args,
    permuted,
    reshaped,
    torch_text,
)
from .torch_values import Val, Writer, fname, number, once, paren, transposed_text

# ---------------------------------------------------------------------------------------
# The table: fx calls -> text


def linear(w: Writer, a: Val, weight: Val, bias: Val | None, node: Any) -> Val:
    """x Wᵀ + b; in the column convention (x Wᵀ)ᵀ = W xᵀ, with our text of W being Wᵀ. A
    tensor of rank >= 3 (tokens (B, T, D)) goes through as a (B T, D) matrix, as PyTorch's
    Linear acts on the last axis."""
    if a.kind == "nd" and weight.kind == "act":
        lead = a.shape[:-1]
        flat = linear(w, reshaped(w, a, (math.prod(lead), a.shape[-1]), node), weight, bias,
                      node)
        return reshaped(w, flat, (*lead, weight.shape[0]), node)
    if a.kind != "act" or weight.kind != "act":
        raise UnsupportedError(f"linear of a {a.shape} input {w.where(node)}")
    wt = transposed_text(weight.text)
    text = f"{wt}@{paren(a)}" if w.col else f"{paren(a)}@{wt}"
    if bias is not None:
        text += f" + {bias.text}"
    return Val(text, "act", (a.shape[0], weight.shape[0]))


# PyTorch's element-wise activations with parameters: name -> the parameters after the input,
# with PyTorch's defaults (the text has each parameterless one under PyTorch's name)
ACTIVATION_PARAMS: dict[str, tuple[tuple[str, float | None], ...]] = {
    "elu": (("alpha", 1.0),), "celu": (("alpha", 1.0),),
    "leaky_relu": (("negative_slope", 0.01),),
    "hardtanh": (("min_val", -1.0), ("max_val", 1.0)),
    "softplus": (("beta", 1.0), ("threshold", 20.0)),
    "softshrink": (("lambd", 0.5),), "hardshrink": (("lambd", 0.5),),
    "threshold": (("threshold", None), ("value", None)),
}
PLAIN_ACTIVATIONS = ("relu", "sigmoid", "tanh", "relu6", "hardsigmoid", "hardswish", "silu",
                     "mish", "selu", "softsign", "logsigmoid", "tanhshrink", "exp", "log",
                     "sin", "cos", "sqrt", "abs", "square", "erf",
                     # torch's element-wise maths of the same names as the text's
                     "log1p", "expm1", "exp2", "log2", "log10", "reciprocal", "sign", "tan",
                     "sinh", "cosh", "arcsin", "arccos", "arctan", "asin", "acos", "atan",
                     "arcsinh", "arccosh", "arctanh", "erfc")


def activation(w: Writer, name: str, a: Val, params: Mapping[str, float], node: Any) -> Val:
    """f(a) entry by entry, PyTorch's parameters written into the formula: elu(a, α),
    softplus with β as softplus(β a)/β and PyTorch's switch to a where β a > ``threshold``
    (left out at a threshold of 20 or more, where the two differ by less than e⁻²⁰),
    softshrink as a − clip(a, −λ, λ), hardshrink as a ⊙ 𝟏[|a| > λ], threshold as
    where(a > t, a, v)."""
    p = dict(params)
    if name in PLAIN_ACTIVATIONS:
        return Val(f"{name}({a.text})", a.kind, a.shape)
    if name == "leaky_relu":
        return Val(f"leaky_relu({a.text}, {p['negative_slope']!r})", a.kind, a.shape)
    if name == "hardtanh":
        return Val(f"clip({a.text}, {p['min_val']!r}, {p['max_val']!r})", a.kind, a.shape)
    if name == "softplus":
        beta, limit = p["beta"], p["threshold"]
        if limit < 20:
            a = once(w, a)
        scaled = a.text if beta == 1 else f"{beta!r}*{paren(a)}"
        text = f"softplus({a.text})" if beta == 1 else f"softplus({scaled})/{beta!r}"
        if limit < 20:  # PyTorch's linear branch, far enough in to matter
            text = f"where({scaled} > {limit!r}, {a.text}, {text})"
        return Val(text, a.kind, a.shape)
    if name in ("elu", "celu"):  # the text's, α given unless 1
        alpha = "" if p["alpha"] == 1 else f", {p['alpha']!r}"
        return Val(f"{'elu' if not alpha else name}({a.text}{alpha})", a.kind, a.shape)
    a = once(w, a)
    x = a.text
    if name == "softshrink":
        text = f"{x} - clip({x}, {-p['lambd']!r}, {p['lambd']!r})"
    elif name == "hardshrink":
        text = f"hadamard({x}, abs({x}) > {p['lambd']!r})"
    else:  # threshold
        text = f"where({x} > {p['threshold']!r}, {x}, {p['value']!r})"
    return Val(text, a.kind, a.shape)


def _activation(name: str) -> Callable[..., Val]:
    """F.<name>, torch.<name>, Tensor.<name>: the parameters by position or by name."""
    names = tuple(n for n, _ in ACTIVATION_PARAMS.get(name, ()))

    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        k = named_args((*names, "inplace"), args, kw)
        if k.pop("inplace", False):
            raise UnsupportedError(f"{fname(node)}(inplace=True) {w.where(node)}")
        extra = set(k) - set(names)
        if extra:
            raise UnsupportedError(f"{fname(node)} with {', '.join(sorted(extra))} "
                                   f"{w.where(node)}")
        params = {}
        for n, default in ACTIVATION_PARAMS.get(name, ()):
            if n not in k and default is None:
                raise UnsupportedError(f"{fname(node)} without {n} {w.where(node)}")
            params[n] = number(k[n], w, node) if n in k else float(default)  # type: ignore
        return activation(w, name, args[0], params, node)
    return build


def gelu(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    how = kw.get("approximate", "none")
    if how == "none":
        return Val(f"gelu({a.text})", a.kind, a.shape)
    if how != "tanh":
        raise UnsupportedError(f"GELU(approximate={how!r}) {w.where(node)}")
    a = once(w, a)  # used three times
    t = a.text  # PyTorch's tanh form: ½ a (1 + tanh(√(2/π) (a + 0.044715 a³)))
    return Val(f"0.5*hadamard({t}, 1 + tanh(sqrt(2/pi)*({t} + 0.044715*{t}**3)))", a.kind,
                a.shape)


def softmax(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any,
            log: bool = False) -> Val:
    """softmax (log_softmax with ``log``) along PyTorch's ``dim``."""
    f = "log_softmax" if log else "softmax"
    a = args[0]
    dim = kw.get("dim", args[1].text if len(args) > 1 else None)
    if a.kind == "nd":  # PyTorch's layout: the same axis
        if dim is None or not -len(a.shape) <= int(dim) < len(a.shape):
            raise UnsupportedError(f"softmax over dim {dim} of a {a.shape} tensor "
                                   f"{w.where(node)}: give dim")
        return Val(f"{f}({a.text}, axis={int(dim)})", "nd", a.shape)
    dim = 1 if dim is None else int(dim)  # PyTorch's implicit dim of a 2-D input
    if a.kind != "act" or dim not in (0, 1, -1, -2):
        raise UnsupportedError(f"softmax over dim {dim} of a {a.shape} tensor {w.where(node)}")
    axis = (1 - dim % 2) if w.col else dim % 2  # ours is transposed in the column convention
    return Val(f"{f}({a.text})" if axis == 0 else f"{f}({a.text}, axis=1)", "act", a.shape)


def log_softmax(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    return softmax(w, args, kw, node, log=True)


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


def _matmul(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, b = args[:2]
    if "nd" in (a.kind, b.kind) and {a.kind, b.kind} <= {"nd", "act"}:
        return batched_matmul(w, a, b, node)
    if a.kind != "act" or b.kind != "act":
        raise UnsupportedError(f"{fname(node)} of {a.shape} and {b.shape} {w.where(node)}: "
                               "only 2-D operands")
    text = f"{paren(b)}@{paren(a)}" if w.col else f"{paren(a)}@{paren(b)}"
    return Val(text, "act", (a.shape[0], b.shape[1]))


def transpose(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    if a.kind == "nd" and len(args) == 3:  # swap two axes
        i, j = (int_arg(x, w, node) % len(a.shape) for x in args[1:])
        perm = list(range(len(a.shape)))
        perm[i], perm[j] = j, i
        return permuted(w, a, tuple(perm), node)
    dims = [int(x.text) % 2 for x in args[1:]]
    if a.kind != "act" or (dims and sorted(dims) != [0, 1]):
        raise UnsupportedError(f"{fname(node)} of a {a.shape} tensor {w.where(node)}")
    return Val(transposed_text(a.text), "act", a.shape[::-1])


def _f_linear(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    bias = args[2] if len(args) > 2 else kw.get("bias")
    return linear(w, args[0], args[1], bias, node)


def _clamp(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """torch.clamp(a, min, max) (either may be None): clip(a, lo, hi), max(a, lo) or
    min(a, hi); a bound is a number."""
    name = fname(node)
    k = named_args(("min", "max"), args, kw)
    if name.endswith("clamp_min"):
        k = {"min": k.pop("min", None)}
    elif name.endswith("clamp_max"):
        k = {"max": k.pop("min", k.pop("max", None))}
    lo, hi = (k.get(b) for b in ("min", "max"))
    lo, hi = (None if v is None or (isinstance(v, Val) and v.kind == "none")
              else number(v, w, node) for v in (lo, hi))
    a = args[0]
    if lo is not None and hi is not None:
        return Val(f"clip({a.text}, {lo!r}, {hi!r})", a.kind, a.shape)
    if lo is not None:
        return Val(f"max({a.text}, {lo!r})", a.kind, a.shape)
    if hi is not None:
        return Val(f"min({a.text}, {hi!r})", a.kind, a.shape)
    raise UnsupportedError(f"{name} without a bound {w.where(node)}")


def _zeros(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``x.new_zeros(B, H)``, ``torch.zeros_like(x)``, ``torch.zeros(x.size(0), H)`` (sizes
    read from the input are the example's): zeros, taken only as a recurrent cell's state or
    added. ``torch.ones(x.size(0), H)``: the text's ``ones`` in our layout."""
    if set(kw) - {"dtype", "device", "requires_grad", "size"} or kw.get("requires_grad"):
        raise UnsupportedError(f"{fname(node)} with {', '.join(kw)} {w.where(node)}")
    if fname(node).endswith("zeros_like"):
        return Val("0", "zeros", args[0].shape)
    first = 1 if fname(node).startswith("Tensor.") else 0  # x.new_zeros: after x
    size = kw.get("size", args[first] if len(args) == first + 1 else args[first:])
    shape = ints_arg(size, w, node)
    if not fname(node).endswith("ones"):
        return Val("0", "zeros", shape)
    if len(shape) == 2:
        text = f"ones({shape[1]}, {shape[0]})" if w.col else f"ones({shape[0]}, {shape[1]})"
        return Val(text, "act", shape)
    if len(shape) == 1:  # as a bias is: a column, or a row in the row convention
        return Val(f"ones({shape[0]}, 1)" if w.col else f"ones(1, {shape[0]})", "vec", shape)
    if len(shape) >= 3:  # PyTorch's layout, as every tensor of rank >= 3
        return Val(f"reshape(ones({math.prod(shape[:-1])}, {shape[-1]}), {shape})", "nd",
                   shape)
    raise UnsupportedError(f"{fname(node)} of shape {shape} {w.where(node)}: write the number")


def _same(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """.clone(), .contiguous(): the value itself."""
    if kw:
        raise UnsupportedError(f"{fname(node)} with {', '.join(kw)} {w.where(node)}")
    return args[0]


def _dropout(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """F.dropout(a, p, training=False) is a itself; in training mode its random mask is an
    input of its own (nn.Dropout), not of a call."""
    k = named_args(("p", "training", "inplace"), args, kw)
    training = k.get("training", True)
    if isinstance(training, Val):
        training = training.text == "True"
    if training and number(k.get("p", 0.5), w, node) != 0:
        raise UnsupportedError(f"{fname(node)} in training mode {w.where(node)}: use "
                               "nn.Dropout, whose mask is given as '<path>.mask'")
    return args[0]


def _rsqrt(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    return Val(f"sqrt({a.text})**(-1)", a.kind, a.shape)


# the keywords of PyTorch's losses that loss_text reads (it refuses what it cannot write)
_LOSS_KEYWORDS = frozenset({"reduction", "weight", "pos_weight", "label_smoothing", "beta",
                            "delta", "ignore_index"})


def _f_loss(name: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        other = [k for k, v in kw.items() if k not in _LOSS_KEYWORDS and v is not None]
        if other:  # size_average=, reduce= (deprecated): never dropped silently
            raise UnsupportedError(f"{name} with {', '.join(other)} {w.where(node)}")
        return loss_text(w, name, args[0], args[1], kw.get("reduction", "mean"), node, kw)
    return build


# PyTorch's loss layers: class -> the functional's name
LOSS_MODULES = {"MSELoss": "mse_loss", "CrossEntropyLoss": "cross_entropy",
                "L1Loss": "l1_loss", "SmoothL1Loss": "smooth_l1_loss",
                "HuberLoss": "huber_loss", "BCELoss": "binary_cross_entropy",
                "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
                "NLLLoss": "nll_loss"}


def module_loss(w: Writer, m: Any, args: list[Val], node: Any) -> Val:
    name = LOSS_MODULES[type(m).__name__]
    extra = {k: getattr(m, k) for k in _LOSS_KEYWORDS if hasattr(m, k)}
    return loss_text(w, name, args[0], args[1], m.reduction, node, extra)


_ENTRY_WISE = ("l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
               "binary_cross_entropy_with_logits")


def _entries(name: str, o: str, y: str, extra: Mapping[str, Any]) -> str:
    """An entry-wise loss of output o and target y (of one shape), before the reduction."""
    if name == "mse_loss":  # of a tensor: the text's mse_loss takes matrices
        return f"({o} - {y})**2"
    if name == "l1_loss":
        return f"abs({o} - {y})"
    if name in ("huber_loss", "smooth_l1_loss"):  # PyTorch's: SmoothL1 is Huber / β
        what = "delta" if name == "huber_loss" else "beta"
        k = float(extra.get(what, 1.0))
        if k < 0 or (k == 0 and name == "huber_loss") or k != k:
            # PyTorch raises for them (HuberLoss: delta > 0; SmoothL1Loss: beta ≥ 0)
            raise UnsupportedError(f"{name} with {what}={k!r}: PyTorch's needs {what} "
                                   f"{'> 0' if name == 'huber_loss' else '≥ 0'}")
        if k == 0:  # SmoothL1Loss(beta=0) is the L1 loss, as PyTorch's
            return f"abs({o} - {y})"
        return f"huber({o} - {y}, {k!r})" + ("" if name == "huber_loss" else f" / {k!r}")
    if name == "binary_cross_entropy":
        return f"-(hadamard({y}, log({o})) + hadamard(1 - {y}, log(1 - {o})))"
    return f"softplus({o}) - hadamard({y}, {o})"  # with logits: log(1 + eᵒ) − y o


def loss_text(w: Writer, name: str, o: Val, y: Val, reduction: str, node: Any,
               extra: Mapping[str, Any]) -> Val:
    refused = [what for what, no in (
        (f"reduction={reduction!r}", reduction not in ("mean", "sum")),
        ("class weights", extra.get("weight") is not None),
        ("pos_weight", extra.get("pos_weight") is not None),
        # the samples of that class left out, and the mean over the others: not written yet
        (f"ignore_index={extra.get('ignore_index')!r}",
         extra.get("ignore_index", -100) not in (-100, None)),
        # a tensor (B, T, D): the entry-wise losses only (a class axis is PyTorch's 1)
        (f"a {o.shape} output", o.kind != "act" and not (o.kind == "nd" and name in (
            "mse_loss", *_ENTRY_WISE)))) if no]
    if refused:
        raise UnsupportedError(f"{name} with {', '.join(refused)} {w.where(node)}: only "
                               "reduction 'mean' or 'sum', no class weights or ignored "
                               "index, of a (batch, n) output")
    if y.kind == "classes":  # class indices (B,): the one-hot target they are
        if name not in ("cross_entropy", "nll_loss"):
            raise UnsupportedError(f"{name} of class indices {w.where(node)}: only a "
                                   "cross-entropy or NLL loss takes them")
        if o.kind != "act" or y.shape[0] != o.shape[0]:
            raise ShapeError(f"{name} of a {o.shape} output and {y.shape} class indices "
                             f"{w.where(node)}")
        y = w.one_hot(y, o.shape[1], node)
    if y.text.isidentifier() and name in ("binary_cross_entropy", "nll_loss"):
        w.targets[y.text] = "probability" if name == "binary_cross_entropy" else "one-hot"
    smoothing = float(extra.get("label_smoothing", 0.0) or 0.0)
    if smoothing:
        if name != "cross_entropy":
            raise UnsupportedError(f"{name} with label_smoothing {w.where(node)}")
        # the target mixed with the uniform distribution, as PyTorch's: (1 − ε) y + ε / C
        y = Val(f"({1 - smoothing!r}*{paren(y)} + {smoothing / o.shape[1]!r})", y.kind,
                y.shape)
    if name in _ENTRY_WISE or (name == "mse_loss" and o.kind == "nd"):
        o = once(w, o)
        entries = _entries(name, o.text, paren(y), extra)
        return Val(f"{'mean' if reduction == 'mean' else 'sum'}({entries})", "scalar", ())
    if name == "nll_loss":  # log-probabilities o, one-hot y: −Σ y ⊙ o (over the batch)
        text = f"-sum(hadamard({y.text}, {o.text}))"
        return Val(f"{text} / {o.shape[0]}" if reduction == "mean" else text, "scalar", ())
    if name == "mse_loss":
        text = f"sqnorm({o.text} - {paren(y)})" if reduction == "sum" else \
            f"mse_loss({o.text}, {y.text})"
        return Val(text, "scalar", ())
    if w.col and not smoothing:  # the primitive: its target's columns sum to 1
        text = f"cross_entropy({o.text}, {y.text})"
    else:  # −Σ y ⊙ log softmax along each sample (a column, or a row)
        along = "" if w.col else ", axis=1"
        text = f"-sum(hadamard({y.text}, log(softmax({o.text}{along}))))"
    if reduction == "mean":
        text = f"{text} / {o.shape[0]}"
    return Val(text, "scalar", ())


FUNCTIONS: dict[str, Callable[..., Val]] = {
    **{f"{p}.{n}": _activation(n) for p in ("F", "torch", "Tensor")
       for n in (*PLAIN_ACTIVATIONS, *ACTIVATION_PARAMS)},
    **{f"{p}.log_softmax": log_softmax for p in ("F", "torch", "Tensor")},
    "F.log_sigmoid": _activation("logsigmoid"),  # F.logsigmoid's own name
    "F._threshold": _activation("threshold"),  # F.threshold's
    "F.gelu": gelu, "F.softmax": softmax, "torch.softmax": softmax,
    "Tensor.softmax": softmax, "F.linear": _f_linear,
    "operator.add": _add("+"), "torch.add": _add("+"), "Tensor.add": _add("+"),
    "operator.sub": _add("-"), "torch.sub": _add("-"), "Tensor.sub": _add("-"),
    "operator.mul": _mul, "torch.mul": _mul, "Tensor.mul": _mul,
    "operator.truediv": _div, "torch.div": _div, "Tensor.div": _div,
    "operator.floordiv": _floordiv, "operator.neg": _neg,
    "operator.pow": _pow, "torch.pow": _pow, "Tensor.pow": _pow,
    "torch.neg": _neg,
    "operator.matmul": _matmul, "torch.matmul": _matmul, "torch.mm": _matmul,
    "Tensor.matmul": _matmul, "Tensor.t": transpose, "Tensor.transpose": transpose,
    "torch.t": transpose, "torch.transpose": transpose,
    "torch.sum": reduce("sum"), "Tensor.sum": reduce("sum"),
    "torch.mean": reduce("mean"), "Tensor.mean": reduce("mean"),
    "torch.logsumexp": reduce("logsumexp"), "Tensor.logsumexp": reduce("logsumexp"),
    **{f"{p}.{n}": _clamp for p in ("torch", "Tensor")
       for n in ("clamp", "clip", "clamp_min", "clamp_max")},
    "F.layer_norm": layer_norm, "F.cosine_similarity": cosine_similarity,
    "torch.cosine_similarity": cosine_similarity,
    "Tensor.norm": norm, "torch.norm": norm,
    "Tensor.new_zeros": _zeros, "torch.zeros_like": _zeros, "torch.zeros": _zeros,
    "torch.ones": _zeros,
    "Tensor.clone": _same, "Tensor.contiguous": _same, "F.dropout": _dropout,
    "Tensor.float": _same, "Tensor.double": _same,  # a mask as numbers: the values it has
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
    **{f"{p}.{n}": reduce("max" if n == "amax" else "min") for p in ("torch", "Tensor")
       for n in ("amax", "amin")},
    "math.sqrt": _math_sqrt, "torch.bmm": _matmul, "Tensor.bmm": _matmul,
    **{f"{p}.{n}": pieces for p in ("torch", "Tensor") for n in ("chunk", "split")},
    "torch.var": spread("var"), "Tensor.var": spread("var"), "torch.std": spread("std"),
    "Tensor.std": spread("std"), "F.normalize": normalize,
    "torch.rsqrt": _rsqrt, "Tensor.rsqrt": _rsqrt,
    **{f"F.{n}": _f_loss(n) for n in LOSS_MODULES.values()},
    **TENSOR_CALLS,
}
# calls that take a None, a string or a tuple of ints among their arguments (the others
# refuse them by name)
LOOSE = frozenset({"F.conv2d", "torch.conv2d", "F.conv1d", "torch.conv1d",
                   "F.max_pool2d", "F.avg_pool2d",
                   "F.adaptive_avg_pool2d", "F.adaptive_max_pool2d", "torch.sum", "Tensor.sum",
                   "torch.mean", "Tensor.mean", "torch.logsumexp", "Tensor.logsumexp",
                   *(f"{p}.{n}" for p in ("torch", "Tensor")
                     for n in ("clamp", "clip", "clamp_min", "clamp_max")), "F.dropout",
                   "torch.var", "Tensor.var", "torch.std", "Tensor.std",
                   "torch.einsum", "Tensor.view", "Tensor.reshape", "torch.reshape",
                   "Tensor.permute", "torch.permute", "Tensor.split", "torch.split",
                   "Tensor.new_zeros", "torch.zeros", "torch.ones", "F.layer_norm",
                   "Tensor.norm", "torch.norm"})
