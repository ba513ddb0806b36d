"""fx's recorded calls written as text of the text language: the table ``FUNCTIONS``
(``torch.relu``, ``operator.matmul``, ``F.mse_loss``, ...) and the layers' forms that the
walk over a module (``torch_walk``) shares with it (``linear``, ``softmax``, the losses).

Each entry takes the operands as ``Val`` (their text in our layout and PyTorch's shape) and
returns the result's; in the column convention an activation's text is its transpose, so
``x Wᵀ`` is written ``W@x`` and ``a @ b`` is written ``b@a``. A call or an argument the
table cannot write raises ``UnsupportedError`` naming it and where it is.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from . import tensors
from .errors import UnsupportedError


@dataclass(slots=True)
class Val:
    text: str  # the value in our layout, as text of the text language
    kind: str  # act (2-D), nd (rank >= 3, PyTorch's layout), vec (a 1-D parameter),
    # num (a Python number), ints (a tuple of them), shape (a tensor's .shape), scalar (0-D)
    shape: tuple[int, ...]  # PyTorch's shape (ints, shape: the numbers themselves)
    before: str = ""  # a reshape's operand in PyTorch's layout: reshapes in a row are one


class Writer(Protocol):
    """What a call needs of the walk: the convention, the stages written so far, fresh
    names, and where a node is (for errors)."""

    col: bool
    stages: list[str]

    def fresh(self, letter: str) -> str: ...

    def where(self, node: Any) -> str: ...


class NoNode:
    """The node of a loss given as ``loss=``, outside the module."""

    meta: dict[str, Any] = {}  # noqa: RUF012


def fname(node: Any) -> str:
    """A call's name as the table spells it: ``torch.relu``, ``F.linear``, ``Tensor.sum``,
    ``operator.add`` (identity, not ``==``, decides: a target's own ``__eq__`` never runs)."""
    t = node.target
    if node.op == "call_method":
        return f"Tensor.{t}"
    mod = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", type(t).__name__)
    if not isinstance(mod, str) or not isinstance(name, str):
        return type(t).__name__
    if mod == "_operator" or any(t is f for f in vars(operator).values()):
        return f"operator.{name}"
    if mod.startswith(("torch.nn.functional", "torch._C._nn")) or \
            any(t is f for f in _functional()):
        return f"F.{name}"  # F.softplus is torch._C._nn.softplus
    return f"torch.{name}" if mod.startswith("torch") or mod == "" else f"{mod}.{name}"


def _functional() -> tuple[Any, ...]:
    import torch.nn.functional as F

    return tuple(getattr(F, n) for n in ("relu", "gelu", "linear", "softmax", "sigmoid",
                                         "tanh", "conv2d", "max_pool2d", "avg_pool2d"))


# ---------------------------------------------------------------------------------------
# The table: fx calls -> text


def _paren(v: Val) -> str:
    atom = v.text.isidentifier() or (v.kind == "num" and not v.text.startswith("-"))
    return v.text if atom else f"({v.text})"


def _t(text: str) -> str:
    """The transpose of a value's text: ``W1.T`` of ``W1``, and ``W1`` of ``W1.T``."""
    if text.endswith(".T") and text[:-2].isidentifier():
        return text[:-2]
    return f"{text}.T" if text.isidentifier() else f"({text}).T"


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
    text = f"{_t(weight.text)}@{_paren(a)}" if w.col else f"{_paren(a)}@{_t(weight.text)}"
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
                     "sin", "cos", "sqrt", "abs", "square")


def _number(v: Any, w: Writer, node: Any) -> float:
    if isinstance(v, Val) and v.kind == "num":
        return float(v.text)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise UnsupportedError(f"{_name(node)} {w.where(node)}: a parameter that is not a number")


def once(w: Writer, a: Val) -> Val:
    """A value read more than once in a formula: a stage of its own (unless a name)."""
    if a.text.isidentifier():
        return a
    name = w.fresh("r")
    w.stages.append(f"{name} = {a.text}")
    return Val(name, a.kind, a.shape)


def activation(w: Writer, name: str, a: Val, params: Mapping[str, float], node: Any) -> Val:
    """f(a) entry by entry, PyTorch's parameters written into the formula: elu with α as
    relu(a) + α min(eᵃ − 1, 0), softplus with β as softplus(β a)/β (PyTorch's switch to a
    above ``threshold`` differs from it by less than e⁻²⁰), softshrink as a − clip(a, −λ, λ),
    hardshrink as a ⊙ 𝟏[|a| > λ], threshold as where(a > t, a, v)."""
    p = dict(params)
    if name in PLAIN_ACTIVATIONS:
        return Val(f"{name}({a.text})", a.kind, a.shape)
    if name == "leaky_relu":
        return Val(f"leaky_relu({a.text}, {p['negative_slope']!r})", a.kind, a.shape)
    if name == "hardtanh":
        return Val(f"clip({a.text}, {p['min_val']!r}, {p['max_val']!r})", a.kind, a.shape)
    if name == "softplus":
        beta = p["beta"]
        return Val(f"softplus({a.text})" if beta == 1 else
                   f"softplus({beta!r}*{_paren(a)})/{beta!r}", a.kind, a.shape)
    if name in ("elu", "celu") and p["alpha"] == 1:
        return Val(f"elu({a.text})", a.kind, a.shape)
    a = once(w, a)
    x = a.text
    if name == "elu":
        text = f"relu({x}) + {p['alpha']!r}*min(exp({x}) - 1, 0)"
    elif name == "celu":
        alpha = p["alpha"]
        text = f"relu({x}) + min({alpha!r}*(exp({x}/{alpha!r}) - 1), 0)"
    elif name == "softshrink":
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
        k = _named((*names, "inplace"), args, kw)
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
            params[n] = _number(k[n], w, node) if n in k else float(default)  # type: ignore
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
        if kw.get("alpha", 1) != 1 or len(args) > 2:
            raise UnsupportedError(f"{fname(node)} with alpha {w.where(node)}")
        _same_layout(w, a, b, node)
        right = _paren(b) if sign == "-" else b.text
        return Val(f"{a.text} {sign} {right}", _kind(a, b), _bshape(a, b))
    return build


def _kind(a: Val, b: Val) -> str:
    kinds = (a.kind, b.kind)
    return "nd" if "nd" in kinds else "act" if "act" in kinds else a.kind if a.kind != "num" \
        else b.kind


def _same_layout(w: Writer, a: Val, b: Val, node: Any) -> None:
    """A tensor of rank >= 3 meets another only at its own shape, or a number: PyTorch's
    broadcasting of a (C, 1, 1) parameter or a 2-D value is not written."""
    if "nd" in (a.kind, b.kind) and "num" not in (a.kind, b.kind) and a.shape != b.shape:
        raise UnsupportedError(f"{fname(node)} of a {a.shape} and a {b.shape} tensor "
                               f"{w.where(node)}: broadcasting between tensors is not "
                               "supported")


def _bshape(a: Val, b: Val) -> tuple[int, ...]:
    return a.shape if len(a.shape) >= len(b.shape) else b.shape


def _mul(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, b = args[:2]
    size = _sizes(operator.mul)(a, b)
    if size is not None:
        return size
    if "num" in (a.kind, b.kind):
        return Val(f"{_paren(a)}*{_paren(b)}", _kind(a, b), _bshape(a, b))
    _same_layout(w, a, b, node)
    return Val(f"hadamard({a.text}, {b.text})", _kind(a, b), _bshape(a, b))


def _floordiv(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    size = _sizes(lambda m, n: m // n if n else 0)(*args[:2])
    if size is None or args[1].text == "0":
        raise UnsupportedError(f"{fname(node)} {w.where(node)}: only of two sizes")
    return size


def _div(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, b = args[:2]
    if b.kind != "num":
        raise UnsupportedError(f"division by a tensor {w.where(node)} is not supported yet")
    return Val(f"{_paren(a)} / {_paren(b)}", a.kind, a.shape)


def _neg(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    return Val(f"-{_paren(args[0])}", args[0].kind, args[0].shape)


def _matmul(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, b = args[:2]
    if "nd" in (a.kind, b.kind) and {a.kind, b.kind} <= {"nd", "act"}:
        return _batched_matmul(w, a, b, node)
    if a.kind != "act" or b.kind != "act":
        raise UnsupportedError(f"{fname(node)} of {a.shape} and {b.shape} {w.where(node)}: "
                               "only 2-D operands")
    text = f"{_paren(b)}@{_paren(a)}" if w.col else f"{_paren(a)}@{_paren(b)}"
    return Val(text, "act", (a.shape[0], b.shape[1]))


def transpose(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    if a.kind == "nd" and len(args) == 3:  # swap two axes
        i, j = (_int(x, w, node) % len(a.shape) for x in args[1:])
        perm = list(range(len(a.shape)))
        perm[i], perm[j] = j, i
        return permuted(w, a, tuple(perm), node)
    dims = [int(x.text) % 2 for x in args[1:]]
    if a.kind != "act" or (dims and sorted(dims) != [0, 1]):
        raise UnsupportedError(f"{fname(node)} of a {a.shape} tensor {w.where(node)}")
    return Val(_t(a.text), "act", a.shape[::-1])


def _f_linear(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    bias = args[2] if len(args) > 2 else kw.get("bias")
    return linear(w, args[0], args[1], bias, node)


def _reduce(fn: str) -> Callable[..., Val]:
    """sum / mean of every entry, or along ``dim`` of a tensor of rank >= 3 (global average
    pooling, ``x.mean(dim=(2, 3))``): the text's reduction keeps the axes, a reshape drops
    them unless ``keepdim``."""
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        k = _named(("dim", "keepdim"), args, kw)
        dim, keep = k.pop("dim", None), k.pop("keepdim", False)
        a = args[0]
        if dim is None and not k and not keep:
            return Val(f"{fn}({a.text})", "scalar", ())
        if k or a.kind != "nd" or dim is None or not isinstance(keep, bool):
            raise UnsupportedError(f"{fname(node)} along a dim {w.where(node)}: only of "
                                   "every entry, or along dims of a tensor of rank 3 or more")
        dims = tuple(sorted({d % len(a.shape) for d in _ints(dim, w, node)}))
        kept = tuple(1 if i in dims else n for i, n in enumerate(a.shape))
        v = Val(f"{fn}({a.text}, axis={dims if len(dims) > 1 else dims[0]})", "nd", kept)
        if keep:
            return v
        return reshaped(w, v, tuple(n for i, n in enumerate(a.shape) if i not in dims), node)
    return build


def _f_loss(name: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
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
    extra = {k: getattr(m, k) for k in ("weight", "pos_weight", "label_smoothing", "beta",
                                         "delta") if hasattr(m, k)}
    return loss_text(w, name, args[0], args[1], m.reduction, node, extra)


def _entries(name: str, o: str, y: str, extra: Mapping[str, Any]) -> str:
    """An entry-wise loss of output o and target y (of one shape), before the reduction."""
    if name == "l1_loss":
        return f"abs({o} - {y})"
    if name in ("huber_loss", "smooth_l1_loss"):  # PyTorch's: SmoothL1 is Huber / β
        k = float(extra.get("delta" if name == "huber_loss" else "beta", 1.0))
        if k <= 0:
            return f"abs({o} - {y})"
        return f"huber({o} - {y}, {k!r})" + ("" if name == "huber_loss" else f" / {k!r}")
    if name == "binary_cross_entropy":
        return f"-(hadamard({y}, log({o})) + hadamard(1 - {y}, log(1 - {o})))"
    return f"softplus({o}) - hadamard({y}, {o})"  # with logits: log(1 + eᵒ) − y o


def loss_text(w: Writer, name: str, o: Val, y: Val, reduction: str, node: Any,
               extra: Mapping[str, Any]) -> Val:
    if reduction not in ("mean", "sum") or extra.get("weight") is not None or \
            extra.get("pos_weight") is not None or extra.get("label_smoothing", 0.0) or \
            o.kind != "act":
        raise UnsupportedError(f"{name}(reduction={reduction!r}) {w.where(node)}: only "
                               "reduction 'mean' or 'sum', no class weights, no label "
                               "smoothing, of a (batch, n) output")
    if name in ("l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
                "binary_cross_entropy_with_logits"):
        o = once(w, o)
        entries = _entries(name, o.text, _paren(y), extra)
        return Val(f"{'mean' if reduction == 'mean' else 'sum'}({entries})", "scalar", ())
    if name == "nll_loss":  # log-probabilities o, one-hot y: −Σ y ⊙ o (over the batch)
        text = f"-sum(hadamard({y.text}, {o.text}))"
        return Val(f"{text} / {o.shape[0]}" if reduction == "mean" else text, "scalar", ())
    if name == "mse_loss":
        text = f"sqnorm({o.text} - {_paren(y)})" if reduction == "sum" else \
            f"mse_loss({o.text}, {y.text})"
        return Val(text, "scalar", ())
    if w.col:
        text = f"cross_entropy({o.text}, {y.text})"
    else:  # one sample per row: −Σ y ⊙ log softmax along each row
        text = f"-sum(hadamard({y.text}, log(softmax({o.text}, axis=1))))"
    if reduction == "mean":
        text = f"{text} / {o.shape[0]}" if w.col else f"-sum(hadamard({y.text}, log(softmax(" \
            f"{o.text}, axis=1)))) / {o.shape[0]}"
    return Val(text, "scalar", ())


# ---------------------------------------------------------------------------------------
# Tensors of rank >= 3 (the n-D primitives of docs/tensors.md): their text keeps PyTorch's
# layout (NCHW, (B, H, T, D)); a 2-D result is an activation again, transposed in the column
# convention, so a Linear after a Flatten reads W x + b as everywhere.


def _name(node: Any) -> str:
    """A call's name, or "the layer" for a module (its path follows in the message)."""
    return fname(node) if getattr(node, "op", "") in ("call_function", "call_method") \
        else "the layer"


def torch_text(w: Writer, v: Val) -> str:
    """A value's text in PyTorch's layout (a 1-D parameter as a column, as ``einsum``
    and ``conv2d`` take it)."""
    if (v.kind == "act" and w.col) or (v.kind == "vec" and not w.col):
        return _t(v.text)
    return v.text


def as_val(w: Writer, text: str, shape: tuple[int, ...], node: Any) -> Val:
    """A result written in PyTorch's layout as one of ours."""
    if len(shape) >= 3:
        return Val(text, "nd", shape)
    if len(shape) == 2:
        return Val(_t(text) if w.col else text, "act", shape)
    raise UnsupportedError(f"{_name(node)} {w.where(node)} gives a {shape} tensor: only "
                           "results of rank 2 or more are supported")


def _int(v: Any, w: Writer, node: Any) -> int:
    """An int argument: a Python int, or a number fx recorded (``x.size(0)``)."""
    if isinstance(v, Val) and v.kind == "num" and v.text.lstrip("-").isdigit():
        return int(v.text)
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    raise UnsupportedError(f"{_name(node)} {w.where(node)}: an argument that is not an int")


def _ints(v: Any, w: Writer, node: Any) -> tuple[int, ...]:
    """An int or a tuple of them, as fx records a stride, a size or dims."""
    if isinstance(v, Val) and v.kind in ("ints", "shape"):
        return v.shape
    if isinstance(v, (tuple, list)):
        return tuple(_int(x, w, node) for x in v)
    return (_int(v, w, node),)


def _pair(v: Any, w: Writer, node: Any, what: str, fn: str) -> tuple[int, int]:
    if isinstance(v, str):
        raise UnsupportedError(f"{fn} with {what}={v!r} {w.where(node)}: give {what} as "
                               "numbers")
    p = _ints(v, w, node)
    if len(p) == 1:
        return p[0], p[0]
    if len(p) != 2:
        raise UnsupportedError(f"{fn} with {what}={p} {w.where(node)}")
    return p[0], p[1]


def _only(w: Writer, fn: str, what: str, v: Any, ok: int, node: Any) -> None:
    """Refuses ``what`` unless it is ``ok`` (an int, or every entry of a pair)."""
    got = _ints(v, w, node)
    if set(got) != {ok}:
        shown = got[0] if len(got) == 1 else got
        raise UnsupportedError(f"{fn} with {what}={shown} {w.where(node)} is not supported: "
                               f"{what} {ok} only")


def _pair_text(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"({p[0]}, {p[1]})"


def permuted(w: Writer, a: Val, perm: tuple[int, ...], node: Any) -> Val:
    if sorted(perm) != list(range(len(a.shape))):
        raise UnsupportedError(f"{_name(node)} by {perm} of a {a.shape} tensor "
                               f"{w.where(node)}")
    if perm == tuple(range(len(perm))):
        return a
    shape = tuple(a.shape[i] for i in perm)
    return as_val(w, f"transpose({torch_text(w, a)}, {perm})", shape, node)


def reshaped(w: Writer, a: Val, shape: tuple[int, ...], node: Any) -> Val:
    """``reshape`` in PyTorch's (row-major) order; one size may be -1."""
    size = math.prod(a.shape)
    known = math.prod(d for d in shape if d != -1)
    if shape.count(-1) == 1 and known and size % known == 0:
        shape = tuple(size // known if d == -1 else d for d in shape)
    if math.prod(shape) != size or any(d < 1 for d in shape) or a.kind not in ("act", "nd"):
        raise UnsupportedError(f"{_name(node)} of a {a.shape} {a.kind} to {shape} "
                               f"{w.where(node)}")
    if shape == a.shape:
        return a
    source = a.before or torch_text(w, a)
    v = as_val(w, f"reshape({source}, {shape})", shape, node)
    v.before = source
    return v


def _reshape(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    shape = kw.get("shape", args[1:] if len(args) > 2 else args[1] if len(args) > 1 else ())
    return reshaped(w, args[0], _ints(shape, w, node), node)


def _flatten(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    start = _int(kw.get("start_dim", args[1] if len(args) > 1 else 0), w, node)
    end = _int(kw.get("end_dim", args[2] if len(args) > 2 else -1), w, node)
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
    perm = tuple(d % len(args[0].shape) for d in _ints(dims, w, node))
    if args[0].kind == "act" and perm == (1, 0):
        return Val(_t(args[0].text), "act", args[0].shape[::-1])
    return permuted(w, args[0], perm, node)


def _size(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    """``x.size(k)`` is a number of the example's shape (the shapes are the example's)."""
    a = args[0]
    dim = kw.get("dim", args[1] if len(args) > 1 else None)
    if dim is None:
        return Val("", "shape", a.shape)
    return Val(str(a.shape[_int(dim, w, node)]), "num", ())


def _getitem(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, k = args[:2]
    if a.kind != "shape":
        raise UnsupportedError(f"indexing a tensor {w.where(node)} is not supported yet")
    return Val(str(a.shape[_int(k, w, node)]), "num", ())


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


def _batched_matmul(w: Writer, a: Val, b: Val, node: Any) -> Val:
    """``a @ b`` with a tensor of rank >= 3: an einsum over the last axis of ``a`` and the
    second last of ``b``, the batch axes shared (not broadcast)."""
    batch = a.shape[:-2] if len(a.shape) >= len(b.shape) else b.shape[:-2]
    if any(len(x.shape) > 2 and x.shape[:-2] != batch for x in (a, b)):
        raise UnsupportedError(f"{_name(node)} of {a.shape} and {b.shape} {w.where(node)}: "
                               "broadcasting batch axes is not supported")
    lead = "abcdefgh"[:len(batch)]
    sa = (lead if len(a.shape) > 2 else "") + "ij"
    sb = (lead if len(b.shape) > 2 else "") + "jk"
    return einsum_text(w, f"{sa},{sb}->{lead}ik", [a, b], node)


def conv_text(w: Writer, x: Val, weight: Val, bias: Val | None, kw: Mapping[str, Any],
              node: Any) -> Val:
    """``conv2d`` (NCHW, cross-correlation as PyTorch's): stride and zero padding, an int
    or a pair; dilation, groups and other padding modes are refused by name."""
    if x.kind != "nd" or len(x.shape) != 4 or weight.kind != "nd":
        raise UnsupportedError(f"conv2d of a {x.shape} input {w.where(node)}: (N, C, H, W) "
                               "only")
    for what, ok in (("dilation", 1), ("groups", 1)):
        _only(w, "conv2d", what, kw.get(what, ok), ok, node)
    if kw.get("padding_mode", "zeros") != "zeros":
        raise UnsupportedError(f"conv2d with padding_mode={kw['padding_mode']!r} "
                               f"{w.where(node)}: zero padding only")
    stride = _pair(kw.get("stride", 1), w, node, "stride", "conv2d")
    padding = _pair(kw.get("padding", 0), w, node, "padding", "conv2d")
    shape = tensors.conv2d_shape(x.shape, weight.shape, stride, padding)
    parts = [x.text, weight.text, *([torch_text(w, bias)] if bias is not None else [])]
    parts += [f"stride={_pair_text(stride)}"] * (stride != (1, 1))
    parts += [f"padding={_pair_text(padding)}"] * (padding != (0, 0))
    return Val(f"conv2d({', '.join(parts)})", "nd", shape)


def adaptive_pool_text(w: Writer, how: str, x: Val, size: Any, node: Any) -> Val:
    """``AdaptiveAvgPool2d`` / ``AdaptiveMaxPool2d`` whose output size divides the input's:
    the pooling with windows of input / output (``AdaptiveAvgPool2d(1)``: global average
    pooling). Windows that would overlap (a size that does not divide) are refused."""
    if x.kind != "nd" or len(x.shape) != 4:
        raise UnsupportedError(f"adaptive {how} pooling of a {x.shape} input {w.where(node)}: "
                               "(N, C, H, W) only")
    sizes = (size, size) if isinstance(size, int) or size is None else tuple(size)
    out = tuple(n if s is None else _int(s, w, node) for n, s in zip(x.shape[2:], sizes,
                                                                        strict=True))
    if any(n % o for n, o in zip(x.shape[2:], out, strict=True)):
        raise UnsupportedError(f"adaptive {how} pooling of {x.shape[2:]} to {out} "
                               f"{w.where(node)}: only to a size that divides the input's")
    window = tuple(n // o for n, o in zip(x.shape[2:], out, strict=True))
    return pool_text(w, how, x, {"kernel_size": window, "stride": window}, node)


def _f_adaptive(how: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        k = _named(("output_size", "return_indices"), args, kw)
        if k.get("return_indices"):
            raise UnsupportedError(f"{fname(node)} with return_indices {w.where(node)}")
        size = k.get("output_size")
        size = size.shape if isinstance(size, Val) and size.kind == "ints" else size
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


def _named(names: tuple[str, ...], args: list[Val], kw: Mapping[str, Any]) -> dict[str, Any]:
    """Positional arguments after the input by their names, merged with the keywords."""
    return {**dict(zip(names, args[1:], strict=False)), **kw}


def _f_conv2d(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    k = _named(("weight", "bias", "stride", "padding", "dilation", "groups"), args, kw)
    bias = k.get("bias")
    return conv_text(w, args[0], k["weight"], None if getattr(bias, "kind", "") == "none"
                     else bias, k, node)


def _f_pool(how: str) -> Callable[..., Val]:
    names = ("kernel_size", "stride", "padding") + (
        ("dilation", "ceil_mode", "return_indices") if how == "max" else
        ("ceil_mode", "count_include_pad", "divisor_override"))

    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        k = {n: (v.shape if isinstance(v, Val) and v.kind == "ints" else
                 _int(v, w, node) if isinstance(v, Val) and v.kind == "num" else v)
             for n, v in _named(names, args, kw).items()}
        return pool_text(w, how, args[0], k, node)
    return build


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
    "operator.truediv": _div, "operator.floordiv": _floordiv, "operator.neg": _neg,
    "torch.neg": _neg,
    "operator.matmul": _matmul, "torch.matmul": _matmul, "torch.mm": _matmul,
    "Tensor.matmul": _matmul, "Tensor.t": transpose, "Tensor.transpose": transpose,
    "torch.t": transpose, "torch.transpose": transpose,
    "torch.sum": _reduce("sum"), "Tensor.sum": _reduce("sum"),
    "torch.mean": _reduce("mean"), "Tensor.mean": _reduce("mean"),
    **{f"F.{n}": _f_loss(n) for n in LOSS_MODULES.values()},
    "F.conv2d": _f_conv2d, "F.max_pool2d": _f_pool("max"), "F.avg_pool2d": _f_pool("avg"),
    "F.adaptive_avg_pool2d": _f_adaptive("avg"), "F.adaptive_max_pool2d": _f_adaptive("max"),
    "torch.conv2d": _f_conv2d, "torch.einsum": _einsum,
    "torch.flatten": _flatten, "Tensor.flatten": _flatten, "Tensor.view": _reshape,
    "Tensor.reshape": _reshape, "torch.reshape": _reshape, "Tensor.permute": _permute,
    "torch.permute": _permute, "Tensor.size": _size, "operator.getitem": _getitem,
}
# calls that take a None, a string or a tuple of ints among their arguments (the others
# refuse them by name)
LOOSE = frozenset({"F.conv2d", "torch.conv2d", "F.max_pool2d", "F.avg_pool2d",
                   "F.adaptive_avg_pool2d", "F.adaptive_max_pool2d", "torch.sum", "Tensor.sum",
                   "torch.mean", "Tensor.mean",
                   "torch.einsum", "Tensor.view", "Tensor.reshape", "torch.reshape",
                   "Tensor.permute", "torch.permute"})
