"""What the PyTorch walk and its table of calls share: a value written as text (``Val``),
what a call needs of the walk (``Writer``), and a call's name as the table spells it."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any, Protocol

from .errors import UnsupportedError


@dataclass(slots=True)
class Val:
    text: str  # the value in our layout, as text of the text language
    kind: str  # act (2-D), nd (rank >= 3, PyTorch's layout), vec (a 1-D parameter),
    # num (a Python number), ints (a tuple of them), shape (a tensor's .shape), scalar (0-D)
    shape: tuple[int, ...]  # PyTorch's shape (ints, shape: the numbers themselves)
    before: str = ""  # a reshape's operand in PyTorch's layout: reshapes in a row are one
    mask: bool = False  # known to be 0 or 1 (a comparison, a bool buffer): ~m is 1 − m
    parts: tuple[Val, ...] = ()  # of kind "parts": the pieces of x.chunk / x.split


class Writer(Protocol):
    """What a call needs of the walk: the convention, the stages written so far, fresh
    names, and where a node is (for errors)."""

    col: bool
    stages: list[str]
    targets: dict[str, str]  # a loss's target input -> "probability" or "one-hot"

    def fresh(self, letter: str) -> str: ...

    def where(self, node: Any) -> str: ...

    def one_hot(self, y: Val, classes: int, node: Any) -> Val: ...


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


def transposed_text(text: str) -> str:
    """The transpose of a value's text: ``W1.T`` of ``W1``, and ``W1`` of ``W1.T``."""
    if text.endswith(".T") and text[:-2].isidentifier():
        return text[:-2]
    return f"{text}.T" if text.isidentifier() else f"({text}).T"


def call_name(node: Any) -> str:
    """A call's name, or "the layer" for a module (its path follows in the message)."""
    return fname(node) if getattr(node, "op", "") in ("call_function", "call_method") \
        else "the layer"


def paren(v: Val) -> str:
    """A value's text as an operand: a name or a number as it is, else in parentheses."""
    atom = v.text.isidentifier() or (v.kind == "num" and not v.text.startswith("-"))
    return v.text if atom else f"({v.text})"


def number(v: Any, w: Writer, node: Any) -> float:
    """A parameter given as a number (a Python one, or one fx recorded)."""
    if isinstance(v, Val) and v.kind == "num":
        return float(v.text)
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return float(v)
    raise UnsupportedError(f"{call_name(node)} {w.where(node)}: a parameter that is not a "
                           "number")


def once(w: Writer, a: Val) -> Val:
    """A value read more than once in a formula: a stage of its own (unless a name)."""
    if a.text.isidentifier():
        return a
    name = w.fresh("r")
    w.stages.append(f"{name} = {a.text}")
    return Val(name, a.kind, a.shape)
