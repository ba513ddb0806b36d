"""fx's recorded calls written as text of the text language: the table ``FUNCTIONS``
(``torch.relu``, ``operator.matmul``, ``F.mse_loss``, ...) and the layers' forms that the
walk over a module (``torch_walk``) shares with it (``linear``, ``softmax``, the losses).

Each entry takes the operands as ``Val`` (their text in our layout and PyTorch's shape) and
returns the result's; in the column convention an activation's text is its transpose, so
``x Wᵀ`` is written ``W@x`` and ``a @ b`` is written ``b@a``. A call or an argument the
table cannot write raises ``UnsupportedError`` naming it and where it is.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import UnsupportedError


@dataclass(slots=True)
class Val:
    text: str  # the value in our layout, as text of the text language
    kind: str  # act (2-D), vec (a 1-D parameter), num (a Python number), scalar (0-D)
    shape: tuple[int, ...]  # PyTorch's shape


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
    if mod.startswith("torch.nn.functional") or any(t is f for f in _functional()):
        return f"F.{name}"
    return f"torch.{name}" if mod.startswith("torch") or mod == "" else f"{mod}.{name}"


def _functional() -> tuple[Any, ...]:
    import torch.nn.functional as F

    return tuple(getattr(F, n) for n in ("relu", "gelu", "linear", "softmax", "sigmoid",
                                         "tanh"))


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
    """x Wᵀ + b; in the column convention (x Wᵀ)ᵀ = W xᵀ, with our text of W being Wᵀ."""
    if a.kind != "act" or weight.kind != "act":
        raise UnsupportedError(f"linear of a {a.shape} input {w.where(node)}")
    text = f"{_t(weight.text)}@{_paren(a)}" if w.col else f"{_paren(a)}@{_t(weight.text)}"
    if bias is not None:
        text += f" + {bias.text}"
    return Val(text, "act", (a.shape[0], weight.shape[0]))


def _unary(fn: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        if kw.get("inplace"):
            raise UnsupportedError(f"{fname(node)}(inplace=True) {w.where(node)}")
        return Val(f"{fn}({args[0].text})", args[0].kind, args[0].shape)
    return build


def gelu(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    how = kw.get("approximate", "none")
    if how == "none":
        return Val(f"gelu({a.text})", a.kind, a.shape)
    if how != "tanh":
        raise UnsupportedError(f"GELU(approximate={how!r}) {w.where(node)}")
    if not a.text.isidentifier():  # used three times: a stage
        name = w.fresh("r")
        w.stages.append(f"{name} = {a.text}")
        a = Val(name, a.kind, a.shape)
    t = a.text  # PyTorch's tanh form: ½ a (1 + tanh(√(2/π) (a + 0.044715 a³)))
    return Val(f"0.5*hadamard({t}, 1 + tanh(sqrt(2/pi)*({t} + 0.044715*{t}**3)))", a.kind,
                a.shape)


def softmax(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    dim = kw.get("dim", args[1].text if len(args) > 1 else None)
    dim = 1 if dim is None else int(dim)  # PyTorch's implicit dim of a 2-D input
    if a.kind != "act" or dim not in (0, 1, -1, -2):
        raise UnsupportedError(f"softmax over dim {dim} of a {a.shape} tensor {w.where(node)}")
    axis = (1 - dim % 2) if w.col else dim % 2  # ours is transposed in the column convention
    return Val(f"softmax({a.text})" if axis == 0 else f"softmax({a.text}, axis=1)", "act",
                a.shape)


def _add(sign: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        a, b = args[:2]
        if kw.get("alpha", 1) != 1 or len(args) > 2:
            raise UnsupportedError(f"{fname(node)} with alpha {w.where(node)}")
        right = _paren(b) if sign == "-" else b.text
        return Val(f"{a.text} {sign} {right}", _kind(a, b), _bshape(a, b))
    return build


def _kind(a: Val, b: Val) -> str:
    return "act" if "act" in (a.kind, b.kind) else a.kind if a.kind != "num" else b.kind


def _bshape(a: Val, b: Val) -> tuple[int, ...]:
    return a.shape if len(a.shape) >= len(b.shape) else b.shape


def _mul(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, b = args[:2]
    if "num" in (a.kind, b.kind):
        return Val(f"{_paren(a)}*{_paren(b)}", _kind(a, b), _bshape(a, b))
    return Val(f"hadamard({a.text}, {b.text})", _kind(a, b), _bshape(a, b))


def _div(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, b = args[:2]
    if b.kind != "num":
        raise UnsupportedError(f"division by a tensor {w.where(node)} is not supported yet")
    return Val(f"{_paren(a)} / {_paren(b)}", a.kind, a.shape)


def _neg(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    return Val(f"-{_paren(args[0])}", args[0].kind, args[0].shape)


def _matmul(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a, b = args[:2]
    if a.kind != "act" or b.kind != "act":
        raise UnsupportedError(f"{fname(node)} of {a.shape} and {b.shape} {w.where(node)}: "
                               "only 2-D operands")
    text = f"{_paren(b)}@{_paren(a)}" if w.col else f"{_paren(a)}@{_paren(b)}"
    return Val(text, "act", (a.shape[0], b.shape[1]))


def transpose(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    a = args[0]
    dims = [int(x.text) % 2 for x in args[1:]]
    if a.kind != "act" or (dims and sorted(dims) != [0, 1]):
        raise UnsupportedError(f"{fname(node)} of a {a.shape} tensor {w.where(node)}")
    return Val(_t(a.text), "act", a.shape[::-1])


def _f_linear(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    bias = args[2] if len(args) > 2 else kw.get("bias")
    return linear(w, args[0], args[1], bias, node)


def _reduce(fn: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        if len(args) > 1 or kw:
            raise UnsupportedError(f"{fname(node)} along a dim {w.where(node)}: only of "
                                   "every entry")
        return Val(f"{fn}({args[0].text})", "scalar", ())
    return build


def _f_loss(name: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        return loss_text(w, name, args[0], args[1], kw.get("reduction", "mean"), node, kw)
    return build


def module_loss(w: Writer, m: Any, args: list[Val], node: Any) -> Val:
    name = "mse_loss" if type(m).__name__ == "MSELoss" else "cross_entropy"
    extra = {"weight": getattr(m, "weight", None),
             "label_smoothing": getattr(m, "label_smoothing", 0.0)}
    return loss_text(w, name, args[0], args[1], m.reduction, node, extra)


def loss_text(w: Writer, name: str, o: Val, y: Val, reduction: str, node: Any,
               extra: Mapping[str, Any]) -> Val:
    if reduction not in ("mean", "sum") or extra.get("weight") is not None or \
            extra.get("label_smoothing", 0.0) or o.kind != "act":
        raise UnsupportedError(f"{name}(reduction={reduction!r}) {w.where(node)}: only "
                               "reduction 'mean' or 'sum', no class weights, no label "
                               "smoothing, of a (batch, n) output")
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


FUNCTIONS: dict[str, Callable[..., Val]] = {
    **{f"{p}.{n}": _unary(n) for p in ("F", "torch", "Tensor") for n in ("relu", "sigmoid",
                                                                          "tanh")},
    "F.gelu": gelu, "F.softmax": softmax, "torch.softmax": softmax,
    "Tensor.softmax": softmax, "F.linear": _f_linear,
    "operator.add": _add("+"), "torch.add": _add("+"), "Tensor.add": _add("+"),
    "operator.sub": _add("-"), "torch.sub": _add("-"), "Tensor.sub": _add("-"),
    "operator.mul": _mul, "torch.mul": _mul, "Tensor.mul": _mul,
    "operator.truediv": _div, "operator.neg": _neg, "torch.neg": _neg,
    "operator.matmul": _matmul, "torch.matmul": _matmul, "torch.mm": _matmul,
    "Tensor.matmul": _matmul, "Tensor.t": transpose, "Tensor.transpose": transpose,
    "torch.t": transpose, "torch.transpose": transpose,
    "torch.sum": _reduce("sum"), "Tensor.sum": _reduce("sum"),
    "torch.mean": _reduce("mean"), "Tensor.mean": _reduce("mean"),
    "F.mse_loss": _f_loss("mse_loss"), "F.cross_entropy": _f_loss("cross_entropy"),
}
