"""From a PyTorch module to its derivation: ``from_torch(module, example_inputs, loss=...)``.

``torch.fx.symbolic_trace`` records the module: its ``forward`` runs once, on fx's proxies
(never on numbers), and no other code of the user's runs — a layer with hooks, or with a
``forward`` set on the instance, is refused, since fx records the layer without them. Each
recorded node becomes text of the text language (``_Walk.module`` for layers, the table
``_FUNCTIONS`` for calls), and ``derive`` reads that text: the derivation is a text
derivation, and its finite differences are of that text. Anything else raises
``UnsupportedError`` naming the op and the module path. ``d.check()`` adds a fourth
witness, torch.autograd in float64 on the traced module (fx's generated code over
``torch.nn``'s own layers; the module's Python ``forward`` does not run again).

Conventions: PyTorch computes on a batch of rows, ``x`` of shape (batch, in) and
``x Wᵀ + b``. ``convention="column"`` (the default) writes every activation transposed, a
sample per column, so a ``Linear`` reads ``z = W x + b`` as the seed's derivation does;
``"row"`` keeps PyTorch's ``x Wᵀ + b``. Weights keep PyTorch's shape either way; a 1-D
parameter (a bias) is a column in the column convention, a row in the row convention.

``TorchDerivation.evaluate`` takes the module's own keys (``"0.weight"``, ``"x"``, ``"y"``)
with tensors or arrays in PyTorch's shapes and returns gradients under the same keys and
shapes, so they compare one to one with ``p.grad``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .builder import check_name
from .check.report import CheckReport
from .derive import Derivation, Trace, derive
from .errors import ShapeError, UnsupportedError
from .notation import Layout

Convention = Literal["column", "row"]
WITNESS = "torch.autograd"

# refusals that name the issue where the primitive comes (the layers issue)
_LATER = {
    "Conv1d": "conv1d is issue 14's primitive", "Conv2d": "conv2d is issue 14's primitive",
    "MaxPool2d": "maxpool2d is issue 14's primitive",
    "AvgPool2d": "avgpool2d is issue 14's primitive",
    "MultiheadAttention": "multi-head attention is issue 14's",
    "TransformerEncoderLayer": "multi-head attention is issue 14's",
    "TransformerDecoderLayer": "multi-head attention is issue 14's",
    "Transformer": "multi-head attention is issue 14's",
    "BatchNorm2d": "4-D activations come with issue 14",
}
_ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}


@dataclass(frozen=True, slots=True)
class Key:
    """How one input of the derivation is given in the module's terms: its ``key``
    (``"0.weight"``, ``"x"``), PyTorch's ``shape``, and how our array is made from it:
    ``"same"``, ``"transpose"`` (an activation in the column convention), ``"column"`` /
    ``"row"`` (a 1-D parameter), ``"target"`` (a loss target: class indices become one-hot)."""

    key: str
    shape: tuple[int, ...]
    how: str


@dataclass(slots=True)
class _Val:
    text: str  # the value in our layout, as text of the text language
    kind: str  # act (2-D), vec (a 1-D parameter), num (a Python number), scalar (0-D)
    shape: tuple[int, ...]  # PyTorch's shape


# ---------------------------------------------------------------------------------------
# The walk over fx's graph


class _Walk:
    def __init__(self, gm: Any, convention: Convention, names: Mapping[str, str]) -> None:
        self.gm, self.col = gm, convention == "column"
        self.names = dict(names)
        self.keys: dict[str, Key] = {}  # our name -> the module's key
        self.shapes: dict[str, tuple[int, int]] = {}
        self.stages: list[str] = []
        self.counts: dict[str, int] = {}
        self.by_key: dict[str, str] = {}
        self.params: list[str] = []  # our names of the parameters, in order of use
        self.masks: dict[str, tuple[str, float]] = {}  # module path -> (mask name, p)

    # names ----------------------------------------------------------------------------
    def fresh(self, letter: str) -> str:
        k = self.counts.get(letter, 0) + 1
        taken = set(self.keys) | set(self.names.values())
        while f"{letter}{k}" in taken:
            k += 1
        self.counts[letter] = k
        return f"{letter}{k}"

    def symbol(self, key: str, shape: tuple[int, ...], how: str, letter: str,
               param: bool) -> str:
        if key in self.by_key:
            return self.by_key[key]
        name = check_name(self.names[key], "names value") if key in self.names else \
            letter if letter in ("x", "y") else self.fresh(letter)
        if name in self.keys:
            raise ValueError(f"names: {name!r} would name both {self.keys[name].key!r} and "
                             f"{key!r}")
        self.keys[name], self.by_key[key] = Key(key, shape, how), name
        self.shapes[name] = self.ours(shape, how)
        if param:
            self.params.append(name)
        return name

    def ours(self, shape: tuple[int, ...], how: str) -> tuple[int, int]:
        if how in ("transpose", "target"):
            return (shape[1], shape[0]) if self.col else (shape[0], shape[1])
        if how == "column":
            return (shape[0], 1)
        if how == "row":
            return (1, shape[0])
        return (shape[0], shape[1])

    def parameter(self, key: str, letter: str) -> _Val:
        p = self.gm.get_parameter(key)
        shape = tuple(p.shape)
        if len(shape) == 2:
            name = self.symbol(key, shape, "same", letter, p.requires_grad)
            return _Val(f"{name}.T" if self.col else name, "act", shape)
        if len(shape) == 1:
            how = "column" if self.col else "row"
            name = self.symbol(key, shape, how, "b" if letter == "W" else letter,
                               p.requires_grad)
            return _Val(name, "vec", shape)
        raise UnsupportedError(f"parameter {key!r} has shape {shape}: from_torch takes 1-D "
                               f"and 2-D parameters (n-D arrays come with issue 14)")

    # the walk -------------------------------------------------------------------------
    def run(self, example: Sequence[Any]) -> _Val:
        nodes = list(self.gm.graph.nodes)
        uses: dict[Any, int] = {}  # occurrences, not users: x * x uses x twice
        for n in nodes:
            for a in (*n.args, *n.kwargs.values()):
                for b in (a if isinstance(a, (list, tuple)) else (a,)):
                    if hasattr(b, "op"):
                        uses[b] = uses.get(b, 0) + 1
        placeholders = [n for n in nodes if n.op == "placeholder"]
        if len(placeholders) != len(example):
            raise ValueError(f"the module's forward takes {len(placeholders)} inputs, "
                             f"example_inputs gives {len(example)}")
        for node in nodes:  # a CNN is refused for its first convolution, not its input
            kind = type(self.gm.get_submodule(node.target)).__name__ \
                if node.op == "call_module" else ""
            if kind in _LATER:
                raise UnsupportedError(f"{kind} at {node.target!r} is not supported yet "
                                       f"({_LATER[kind]})")
        env: dict[Any, _Val] = {}
        out: Any = None
        for node in nodes:
            if node.op == "placeholder":
                t = example[placeholders.index(node)]
                key = "x" if len(placeholders) == 1 else check_name(node.name, "input name")
                shape = tuple(t.shape)
                if len(shape) != 2:
                    raise ShapeError(f"from_torch takes inputs of shape (batch, features); "
                                     f"{key} is {shape}")
                env[node] = _Val(self.symbol(key, shape, "transpose", key, False), "act",
                                 shape)
                continue
            if node.op == "output":
                out = node.args[0]
                break
            v = self.node(node, env)
            residual = _fname(node) in ("operator.add", "torch.add", "Tensor.add") and all(
                hasattr(a, "op") and env[a].kind == "act" for a in node.args[:2])
            shared = uses.get(node, 0) > 1 or residual
            if shared and not v.text.isidentifier() and v.kind != "num":
                name = self.fresh("r")
                self.stages.append(f"{name} = {v.text}")
                v = _Val(name, v.kind, v.shape)
            env[node] = v
        if not hasattr(out, "op") or out not in env:
            raise UnsupportedError("the module returns "
                                   f"{type(out).__name__}: from_torch needs one tensor")
        return env[out]

    def where(self, node: Any) -> str:
        if isinstance(node, _NoNode):
            return "in loss="
        stack = node.meta.get("nn_module_stack") or {}
        path = next(reversed(stack)) if stack else ""
        return f"at {path!r}" if path else "in the module's forward"

    def node(self, node: Any, env: Mapping[Any, _Val]) -> _Val:
        def arg(a: Any) -> _Val:
            if hasattr(a, "op"):
                return env[a]
            if isinstance(a, (int, float)) and not isinstance(a, bool):
                return _Val(repr(float(a)) if isinstance(a, float) else str(a), "num", ())
            raise UnsupportedError(f"{type(a).__name__} argument {a!r} of {node.target} "
                                   f"{self.where(node)} is not supported")

        if node.op == "get_attr":
            try:
                self.gm.get_parameter(node.target)
            except AttributeError:
                raise UnsupportedError(f"{node.target!r} {self.where(node)} is not a "
                                       "parameter: buffers and constants are not supported "
                                       "yet") from None
            return self.parameter(node.target, "W")
        if node.op == "call_module":
            return self.module(node, [arg(a) for a in node.args], node.kwargs)
        if node.op == "call_function" and node.target is getattr and node.args[1] in (
                "T", "mT") and hasattr(node.args[0], "op"):  # x.T
            return _transpose(self, [env[node.args[0]]], {}, node)
        if node.op in ("call_function", "call_method"):
            fn = _FUNCTIONS.get(_fname(node))
            if fn is None:
                raise UnsupportedError(f"{_fname(node)} {self.where(node)} is not supported "
                                       f"yet")
            kwargs = {k: (arg(a) if hasattr(a, "op") else a) for k, a in node.kwargs.items()}
            return fn(self, [arg(a) for a in node.args], kwargs, node)
        raise UnsupportedError(f"fx node {node.op} {self.where(node)} is not supported")

    def module(self, node: Any, args: list[_Val], kwargs: Mapping[str, Any]) -> _Val:
        import torch

        path = node.target
        m = self.gm.get_submodule(path)
        kind = type(m).__name__
        if type(m).__module__.split(".")[0] != "torch" or "forward" in vars(m) or \
                m._forward_hooks or m._forward_pre_hooks:
            raise UnsupportedError(f"{kind} at {path!r} has its own forward or hooks, which "
                                   "torch.fx does not record: not supported")
        nn = torch.nn
        if isinstance(m, (nn.MSELoss, nn.CrossEntropyLoss)) and len(args) == 2 and not kwargs:
            return _loss(self, m, args, node)
        if len(args) != 1 or kwargs:
            raise UnsupportedError(f"{kind} at {path!r} called with {len(args)} arguments")
        a = args[0]
        if type(m) is nn.Linear:
            k = max(self.counts.get("W", 0), self.counts.get("b", 0)) + 1
            self.counts["W"] = self.counts["b"] = k - 1
            w = self.parameter(f"{path}.weight", "W")
            return _linear(self, a, w, self.parameter(f"{path}.bias", "b")
                           if m.bias is not None else None, node)
        if kind in _ACTIVATIONS and type(m).__module__.startswith("torch.nn"):
            return _Val(f"{_ACTIVATIONS[kind]}({a.text})", a.kind, a.shape)
        if type(m) is nn.GELU:
            return _gelu(self, [a], {"approximate": m.approximate}, node)
        if type(m) is nn.Softmax:
            return _softmax(self, [a], {"dim": m.dim}, node)
        if type(m) is nn.Flatten:
            if len(a.shape) == 2 and m.start_dim in (1, -1):
                return a
            raise UnsupportedError(f"Flatten at {path!r} of a {a.shape} activation: "
                                   "n-D activations come with issue 14")
        if type(m) is nn.Dropout:
            if not m.training or m.p == 0:
                return a
            if m.p >= 1:
                raise UnsupportedError(f"Dropout(p={m.p}) at {path!r} drops everything")
            name = self.symbol(f"{path}.mask", a.shape, "transpose", "m", False)
            self.masks[path] = (name, float(m.p))
            return _Val(f"hadamard({name}, {a.text}) / {1 - float(m.p)!r}", "act", a.shape)
        if type(m) is nn.LayerNorm:
            if tuple(m.normalized_shape) != a.shape[-1:]:
                raise UnsupportedError(f"LayerNorm at {path!r} over {tuple(m.normalized_shape)}"
                                       f" of a {a.shape} activation: only over the features")
            return self.norm(node, a, 0 if self.col else 1, m, path)
        if type(m) is nn.BatchNorm1d:
            if not m.training:
                raise UnsupportedError(f"BatchNorm1d at {path!r} in eval mode (running "
                                       "statistics) is not supported yet: training mode is")
            return self.norm(node, a, 1 if self.col else 0, m, path)
        raise UnsupportedError(f"{kind} at {path!r} is not supported yet")

    def norm(self, node: Any, a: _Val, axis: int, m: Any, path: str) -> _Val:
        """In the column convention with γ and β, the primitive (``layernorm`` over each
        column, ``batchnorm`` along each row); else (a − mean) / √(var + ε) along ``axis``
        (the biased variance, as PyTorch's), then γ ⊙ · + β."""
        affine = getattr(m, "weight", None) is not None and getattr(m, "bias", None) is not None
        if self.col and affine:
            g = self.parameter(f"{path}.weight", "gamma").text
            b = self.parameter(f"{path}.bias", "beta").text
            fn = "layernorm" if axis == 0 else "batchnorm"
            return _Val(f"{fn}({a.text}, {g}, {b}, eps={float(m.eps)!r})", "act", a.shape)
        if not a.text.isidentifier():
            name = self.fresh("r")
            self.stages.append(f"{name} = {a.text}")
            a = _Val(name, a.kind, a.shape)
        t = a.text
        text = f"({t} - mean({t}, axis={axis})) / sqrt(var({t}, axis={axis}) + {float(m.eps)!r})"
        if getattr(m, "weight", None) is not None:
            g = self.parameter(f"{path}.weight", "gamma").text
            text = f"hadamard({g}, {text})"
        if getattr(m, "bias", None) is not None:
            text = f"{text} + {self.parameter(f'{path}.bias', 'beta').text}"
        return _Val(text, "act", a.shape)

    def target(self, o: _Val, node: Any) -> _Val:
        if o.kind != "act":
            raise UnsupportedError(f"a loss of a {o.shape} output {self.where(node)}")
        return _Val(self.symbol("y", o.shape, "target", "y", False), "act", o.shape)


def _fname(node: Any) -> str:
    t = node.target
    if node.op == "call_method":
        return f"Tensor.{t}"
    mod = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", repr(t))
    if mod == "_operator" or t in vars(operator).values():
        return f"operator.{name}"
    if mod.startswith("torch.nn.functional") or t in _functional():
        return f"F.{name}"
    return f"torch.{name}" if mod.startswith("torch") or mod == "" else f"{mod}.{name}"


def _functional() -> set[Any]:
    import torch.nn.functional as F

    return {getattr(F, n) for n in ("relu", "gelu", "linear", "softmax", "sigmoid", "tanh")}


# ---------------------------------------------------------------------------------------
# The table: fx calls -> text


def _paren(v: _Val) -> str:
    atom = v.text.isidentifier() or (v.kind == "num" and not v.text.startswith("-"))
    return v.text if atom else f"({v.text})"


def _t(text: str) -> str:
    """The transpose of a value's text: ``W1.T`` of ``W1``, and ``W1`` of ``W1.T``."""
    if text.endswith(".T") and text[:-2].isidentifier():
        return text[:-2]
    return f"{text}.T" if text.isidentifier() else f"({text}).T"


def _linear(w: _Walk, a: _Val, weight: _Val, bias: _Val | None, node: Any) -> _Val:
    """x Wᵀ + b; in the column convention (x Wᵀ)ᵀ = W xᵀ, with our text of W being Wᵀ."""
    if a.kind != "act" or weight.kind != "act":
        raise UnsupportedError(f"linear of a {a.shape} input {w.where(node)}")
    text = f"{_t(weight.text)}@{_paren(a)}" if w.col else f"{_paren(a)}@{_t(weight.text)}"
    if bias is not None:
        text += f" + {bias.text}"
    return _Val(text, "act", (a.shape[0], weight.shape[0]))


def _unary(fn: str) -> Callable[..., _Val]:
    def build(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
        if kw.get("inplace"):
            raise UnsupportedError(f"{_fname(node)}(inplace=True) {w.where(node)}")
        return _Val(f"{fn}({args[0].text})", args[0].kind, args[0].shape)
    return build


def _gelu(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
    a = args[0]
    how = kw.get("approximate", "none")
    if how == "none":
        return _Val(f"gelu({a.text})", a.kind, a.shape)
    if how != "tanh":
        raise UnsupportedError(f"GELU(approximate={how!r}) {w.where(node)}")
    if not a.text.isidentifier():  # used three times: a stage
        name = w.fresh("r")
        w.stages.append(f"{name} = {a.text}")
        a = _Val(name, a.kind, a.shape)
    t = a.text  # PyTorch's tanh form: ½ a (1 + tanh(√(2/π) (a + 0.044715 a³)))
    return _Val(f"0.5*hadamard({t}, 1 + tanh(sqrt(2/pi)*({t} + 0.044715*{t}**3)))", a.kind,
                a.shape)


def _softmax(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
    a = args[0]
    dim = kw.get("dim", args[1].text if len(args) > 1 else None)
    dim = 1 if dim is None else int(dim)  # PyTorch's implicit dim of a 2-D input
    if a.kind != "act" or dim not in (0, 1, -1, -2):
        raise UnsupportedError(f"softmax over dim {dim} of a {a.shape} tensor {w.where(node)}")
    axis = (1 - dim % 2) if w.col else dim % 2  # ours is transposed in the column convention
    return _Val(f"softmax({a.text})" if axis == 0 else f"softmax({a.text}, axis=1)", "act",
                a.shape)


def _add(sign: str) -> Callable[..., _Val]:
    def build(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
        a, b = args[:2]
        if kw.get("alpha", 1) != 1 or len(args) > 2:
            raise UnsupportedError(f"{_fname(node)} with alpha {w.where(node)}")
        right = _paren(b) if sign == "-" else b.text
        return _Val(f"{a.text} {sign} {right}", _kind(a, b), _bshape(a, b))
    return build


def _kind(a: _Val, b: _Val) -> str:
    return "act" if "act" in (a.kind, b.kind) else a.kind if a.kind != "num" else b.kind


def _bshape(a: _Val, b: _Val) -> tuple[int, ...]:
    return a.shape if len(a.shape) >= len(b.shape) else b.shape


def _mul(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
    a, b = args[:2]
    if "num" in (a.kind, b.kind):
        return _Val(f"{_paren(a)}*{_paren(b)}", _kind(a, b), _bshape(a, b))
    return _Val(f"hadamard({a.text}, {b.text})", _kind(a, b), _bshape(a, b))


def _div(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
    a, b = args[:2]
    if b.kind != "num":
        raise UnsupportedError(f"division by a tensor {w.where(node)} is not supported yet")
    return _Val(f"{_paren(a)} / {_paren(b)}", a.kind, a.shape)


def _neg(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
    return _Val(f"-{_paren(args[0])}", args[0].kind, args[0].shape)


def _matmul(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
    a, b = args[:2]
    if a.kind != "act" or b.kind != "act":
        raise UnsupportedError(f"{_fname(node)} of {a.shape} and {b.shape} {w.where(node)}: "
                               "only 2-D operands")
    text = f"{_paren(b)}@{_paren(a)}" if w.col else f"{_paren(a)}@{_paren(b)}"
    return _Val(text, "act", (a.shape[0], b.shape[1]))


def _transpose(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
    a = args[0]
    dims = [int(x.text) % 2 for x in args[1:]]
    if a.kind != "act" or (dims and sorted(dims) != [0, 1]):
        raise UnsupportedError(f"{_fname(node)} of a {a.shape} tensor {w.where(node)}")
    return _Val(_t(a.text), "act", a.shape[::-1])


def _f_linear(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
    bias = args[2] if len(args) > 2 else kw.get("bias")
    return _linear(w, args[0], args[1], bias, node)


def _reduce(fn: str) -> Callable[..., _Val]:
    def build(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
        if len(args) > 1 or kw:
            raise UnsupportedError(f"{_fname(node)} along a dim {w.where(node)}: only of "
                                   "every entry")
        return _Val(f"{fn}({args[0].text})", "scalar", ())
    return build


def _f_loss(name: str) -> Callable[..., _Val]:
    def build(w: _Walk, args: list[_Val], kw: Mapping[str, Any], node: Any) -> _Val:
        return _loss_text(w, name, args[0], args[1], kw.get("reduction", "mean"), node, kw)
    return build


def _loss(w: _Walk, m: Any, args: list[_Val], node: Any) -> _Val:
    name = "mse_loss" if type(m).__name__ == "MSELoss" else "cross_entropy"
    extra = {"weight": getattr(m, "weight", None),
             "label_smoothing": getattr(m, "label_smoothing", 0.0)}
    return _loss_text(w, name, args[0], args[1], m.reduction, node, extra)


def _loss_text(w: _Walk, name: str, o: _Val, y: _Val, reduction: str, node: Any,
               extra: Mapping[str, Any]) -> _Val:
    if reduction not in ("mean", "sum") or extra.get("weight") is not None or \
            extra.get("label_smoothing", 0.0) or o.kind != "act":
        raise UnsupportedError(f"{name}(reduction={reduction!r}) {w.where(node)}: only "
                               "reduction 'mean' or 'sum', no class weights, no label "
                               "smoothing, of a (batch, n) output")
    if name == "mse_loss":
        text = f"sqnorm({o.text} - {_paren(y)})" if reduction == "sum" else \
            f"mse_loss({o.text}, {y.text})"
        return _Val(text, "scalar", ())
    if w.col:
        text = f"cross_entropy({o.text}, {y.text})"
    else:  # one sample per row: −Σ y ⊙ log softmax along each row
        text = f"-sum(hadamard({y.text}, log(softmax({o.text}, axis=1))))"
    if reduction == "mean":
        text = f"{text} / {o.shape[0]}" if w.col else f"-sum(hadamard({y.text}, log(softmax(" \
            f"{o.text}, axis=1)))) / {o.shape[0]}"
    return _Val(text, "scalar", ())


_FUNCTIONS: dict[str, Callable[..., _Val]] = {
    **{f"{p}.{n}": _unary(n) for p in ("F", "torch", "Tensor") for n in ("relu", "sigmoid",
                                                                          "tanh")},
    "F.gelu": _gelu, "F.softmax": _softmax, "torch.softmax": _softmax,
    "Tensor.softmax": _softmax, "F.linear": _f_linear,
    "operator.add": _add("+"), "torch.add": _add("+"), "Tensor.add": _add("+"),
    "operator.sub": _add("-"), "torch.sub": _add("-"), "Tensor.sub": _add("-"),
    "operator.mul": _mul, "torch.mul": _mul, "Tensor.mul": _mul,
    "operator.truediv": _div, "operator.neg": _neg, "torch.neg": _neg,
    "operator.matmul": _matmul, "torch.matmul": _matmul, "torch.mm": _matmul,
    "Tensor.matmul": _matmul, "Tensor.t": _transpose, "Tensor.transpose": _transpose,
    "torch.t": _transpose, "torch.transpose": _transpose,
    "torch.sum": _reduce("sum"), "Tensor.sum": _reduce("sum"),
    "torch.mean": _reduce("mean"), "Tensor.mean": _reduce("mean"),
    "F.mse_loss": _f_loss("mse_loss"), "F.cross_entropy": _f_loss("cross_entropy"),
}


# ---------------------------------------------------------------------------------------
# The derivation with the module's keys


class TorchDerivation(Derivation):
    """A derivation made by ``from_torch``: ``evaluate``, ``check`` and ``trace`` take the
    module's own keys in PyTorch's shapes; ``keys`` maps each of our names to its ``Key``;
    ``convention`` is ``"column"`` or ``"row"``; ``text`` is what was derived."""

    keys: Mapping[str, Key]
    convention: Convention
    text: str

    def __init__(self, d: Derivation, keys: Mapping[str, Key], convention: Convention,
                 gm: Any, loss: Any, masks: Mapping[str, tuple[str, float]]) -> None:
        # the record derive made, as it is (a second sweep would only repeat it)
        for k, v in vars(d).items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "keys", dict(keys))
        object.__setattr__(self, "convention", convention)
        object.__setattr__(self, "text", d.source)
        object.__setattr__(self, "_torch", (gm, loss, dict(masks)))

    # values between the module's terms and ours -----------------------------------------
    def to_ours(self, values: Mapping[str, Any], complete: bool = True) -> dict[str, Any]:
        """Values under the module's keys (tensors or arrays, PyTorch's shapes) as the
        derivation's inputs (our names, our shapes); a key that is already one of our names
        and not a module key is taken as it is. ``complete``: every input must be given."""
        if not isinstance(values, Mapping):
            raise TypeError(f"values must map the module's keys to tensors or arrays, not "
                            f"{type(values).__name__}")
        by_key = {k.key: n for n, k in self.keys.items()}
        missing = [k.key for n, k in self.keys.items() if k.key not in values and n not in values
                   and n in {str(s.name) for s in self.inputs}]
        if missing and complete:
            raise ValueError(f"values: missing {', '.join(missing)} (the module's keys: "
                             f"{', '.join(by_key)})")
        out: dict[str, Any] = {}
        for key, v in values.items():
            if key not in by_key:
                out[key] = _array(v)
                continue
            name = by_key[key]
            out[name] = self._ours(name, _array(v))
        return out

    def _ours(self, name: str, a: np.ndarray) -> np.ndarray:
        k = self.keys[name]
        if k.how == "target" and a.ndim == 1 and a.dtype.kind in "iu":
            classes = k.shape[1]
            if a.size and not (a.min() >= 0 and a.max() < classes):
                raise ValueError(f"{k.key}: class indices must lie in 0..{classes - 1}")
            a = np.eye(classes)[a]
        a = np.asarray(a, dtype=np.float64)
        if a.shape != k.shape:
            raise ShapeError(f"{k.key} has shape {a.shape}, the module's is {k.shape}")
        if k.how in ("transpose", "target"):
            return a.T.copy() if self.convention == "column" else a
        if k.how == "column":
            return a.reshape(-1, 1)
        if k.how == "row":
            return a.reshape(1, -1)
        return a

    def to_torch_layout(self, name: str, value: Any) -> np.ndarray:
        """One of our arrays (a value or a gradient of our input ``name``) in PyTorch's shape."""
        k = self.keys[name]
        a = np.asarray(value, dtype=np.float64).reshape(_our_shape(self, name))
        if k.how in ("transpose", "target") and self.convention == "column":
            return a.T.copy()
        return a.reshape(k.shape)

    # the API with the module's keys ------------------------------------------------------
    def evaluate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The gradients at ``values`` (the module's keys: ``"0.weight"``, ``"x"``, ``"y"``;
        tensors or arrays in PyTorch's shapes; ``y`` may be class indices for a
        cross-entropy), under the same keys and in the same shapes as ``p.grad``."""
        grads = super().evaluate(self.to_ours(values))
        return {self.keys[n].key: self.to_torch_layout(n, g) for n, g in grads.items()}

    def check(self, values: Mapping[str, Any] | None = None, seed: int = 0,
              **kw: Any) -> CheckReport:
        """``Derivation.check`` with ``values`` under the module's keys; torch.autograd is
        the fourth witness. The rows name our variables (``keys`` maps them)."""
        ours = None if values is None else self.to_ours(values)
        return super().check(ours, seed, **kw)

    def trace(self, values: Mapping[str, Any],
              tangents: Mapping[str, Any] | None = None) -> Trace:
        """``Derivation.trace`` with ``values`` and ``tangents`` under the module's keys."""
        return super().trace(self.to_ours(values),
                             None if tangents is None else self.to_ours(tangents, False))

    def analytic_witnesses(self) -> tuple[tuple[str, Callable[[Mapping[str, Any]],
                                                              Mapping[str, Any]]], ...]:
        return ((WITNESS, self.torch_gradients),) if _has_torch() else ()

    def torch_gradients(self, values: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """torch.autograd's gradients at ``values`` (our names and shapes), in float64: the
        traced module run by fx's interpreter over ``torch.nn``'s own layers, then the loss."""
        import torch

        gm, loss, masks = self.__dict__["_torch"]
        wrt = {str(s.name) for s in self.wrt}
        t = {n: torch.tensor(self.to_torch_layout(n, values[n]), dtype=torch.float64,
                             requires_grad=n in wrt) for n in self.keys}
        by_key = {k.key: t[n] for n, k in self.keys.items()}
        with torch.enable_grad():
            out = _Interpreter(gm, by_key, masks).run(*[
                by_key[n.name if len(gm.graph.find_nodes(op="placeholder")) > 1 else "x"]
                for n in gm.graph.find_nodes(op="placeholder")])
            if loss is not None:
                out = loss(out, by_key["y"])
            out.backward()
        return {n: _our_of(self, n, t[n].grad) for n in wrt}

    def to(self, fmt: str, **kw: Any) -> str:
        """``Derivation.to``; LaTeX and Markdown end by saying which convention is used."""
        text = super().to(fmt, **kw)
        note = CONVENTION_NOTE[self.convention]
        end = "\n\\end{aligned}"
        if fmt == "latex" and text.endswith(end):
            return f"{text.removesuffix(end)} \\\\\n  &\\scriptstyle {note}{end}"
        if fmt == "markdown":
            return f"{text.rstrip()}\n\n*From PyTorch:* ${note}$\n"
        return text

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f"; from PyTorch, {self.convention} convention>"


CONVENTION_NOTE = {
    "column": r"\text{PyTorch's rows transposed, one sample per column: } "
              r"\mathbf{z} = \mathbf{W}\mathbf{x} + \mathbf{b}",
    "row": r"\text{PyTorch's layout, one sample per row: } "
           r"\mathbf{z} = \mathbf{x}\mathbf{W}^{\top} + \mathbf{b}",
}


def _our_shape(d: TorchDerivation, name: str) -> tuple[int, ...]:
    for s in d.inputs:
        if str(s.name) == name:
            return tuple(int(k) for k in s.shape) if hasattr(s, "shape") else ()
    raise KeyError(name)


def _our_of(d: TorchDerivation, name: str, grad: Any) -> np.ndarray:
    g = np.zeros(d.keys[name].shape) if grad is None else grad.detach().numpy()
    k = d.keys[name]
    if k.how in ("transpose", "target") and d.convention == "column":
        return g.T.copy()
    return g.reshape(_our_shape(d, name))


def _array(v: Any) -> np.ndarray:
    if hasattr(v, "detach") and hasattr(v, "cpu"):  # a torch.Tensor, without importing torch
        v = v.detach().cpu().numpy()
    a = np.asarray(v)
    if a.dtype.kind in "iu":
        return a
    if a.dtype.kind not in "fb":
        raise TypeError(f"values must be tensors, arrays or numbers, not {a.dtype} data")
    return np.asarray(a, dtype=np.float64)


def _has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _interpreter_base() -> type:
    import torch.fx

    return torch.fx.Interpreter  # type: ignore[no-any-return]


class _Interpreter:
    """fx's interpreter over the traced module, with parameters, masks and buffers of our
    choosing (float64 copies: the module's own buffers, BatchNorm's running statistics, are
    not touched)."""

    def __new__(cls, gm: Any, tensors: Mapping[str, Any],
                masks: Mapping[str, tuple[str, float]]) -> Any:
        import torch
        from torch.func import functional_call

        base = _interpreter_base()

        class Run(base):  # type: ignore[misc, valid-type]
            def get_attr(self, target: str, args: Any, kwargs: Any) -> Any:
                return tensors[target]

            def call_module(self, target: str, args: Any, kwargs: Any) -> Any:
                m = gm.get_submodule(target)
                if target in masks:  # Dropout in training mode: the given mask
                    p = masks[target][1]
                    return args[0] * tensors[f"{target}.mask"] / (1 - p)
                own = {n: tensors[f"{target}.{n}"] for n, _ in m.named_parameters()}
                own |= {n: b.detach().clone().to(torch.float64) if b.is_floating_point()
                        else b.detach().clone() for n, b in m.named_buffers()}
                return functional_call(m, own, tuple(args), dict(kwargs))

        return Run(gm)


# ---------------------------------------------------------------------------------------
# The entry point


def from_torch(module: Any, example_inputs: Any, loss: Any = None, *,
               names: Mapping[str, str] | None = None, convention: Convention = "column",
               wrt: Sequence[str] | None = None, layout: Layout = "denominator",
               granularity: Any = "layers") -> TorchDerivation:
    """The derivation of a PyTorch module's backward pass.

    ``example_inputs``: a tensor (or a tuple of tensors) of shape (batch, features): the
    shapes. ``loss``: ``torch.nn.MSELoss`` or ``CrossEntropyLoss`` (an instance, reduction
    ``"mean"`` or ``"sum"``), ``F.mse_loss`` or ``F.cross_entropy``, against a target ``y``
    shaped like the output (class probabilities; ``evaluate`` also takes class indices), or
    None when the module returns a scalar. ``names`` maps the module's keys (``"0.weight"``)
    to our names (default ``W1``, ``b1``, ... in order of use); other keys rename
    intermediates as ``derive``'s ``names``. ``convention``: ``"column"`` (z = W x + b, a
    sample per column) or ``"row"`` (PyTorch's x Wᵀ + b). ``wrt``: module keys (default:
    every parameter that requires a gradient). ``layout``, ``granularity``: as ``derive``.

    The module's ``forward`` runs once, as torch.fx traces it (on proxies); nothing else of
    the user's runs. Unsupported layers and calls raise ``UnsupportedError`` naming them and
    their module path.
    """
    import torch
    import torch.fx

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch takes a torch.nn.Module, not {type(module).__name__}")
    example = (example_inputs,) if isinstance(example_inputs, torch.Tensor) else \
        tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else ()
    if not example or not all(isinstance(t, torch.Tensor) for t in example):
        raise TypeError("example_inputs must be a tensor or a tuple of tensors")
    if convention not in ("column", "row"):
        raise ValueError(f"convention must be 'column' or 'row', not {convention!r}")
    kind = type(module).__name__
    if kind in _LATER:
        raise UnsupportedError(f"{kind} (the module itself) is not supported yet "
                               f"({_LATER[kind]})")
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as e:  # the module's own forward, on fx's proxies, may raise anything
        raise UnsupportedError(f"torch.fx cannot trace {kind}: {type(e).__name__}: {e}") \
            from e
    walk = _Walk(gm, convention, names or {})
    out = walk.run(example)
    loss_fn = _loss_callable(loss)
    if loss_fn is not None:
        o = "o"
        last = walk.stages[-1].split(" = ", 1) if walk.stages else ["", ""]
        if last[0] == out.text:  # the output is already a stage: call it o
            walk.stages[-1] = f"{o} = {last[1]}"
        else:
            walk.stages.append(f"{o} = {out.text}")
        y = walk.target(_Val(o, "act", out.shape), None)
        if isinstance(loss, torch.nn.Module):
            lv = _loss(walk, loss, [_Val(o, "act", out.shape), y], _NoNode())
        else:
            lv = _loss_text(walk, loss.__name__, _Val(o, "act", out.shape), y, "mean",
                            _NoNode(), {})
        out = lv
    elif out.kind != "scalar":
        raise ShapeError(f"the module returns a {out.shape} tensor: pass loss= "
                         "(torch.nn.MSELoss(), torch.nn.CrossEntropyLoss(), ...) or return "
                         "a scalar")
    text = "; ".join([*walk.stages, f"L = {out.text}"])
    by_key = {k.key: n for n, k in walk.keys.items()}
    rename = {k: v for k, v in (names or {}).items() if k not in by_key}
    if wrt is None:
        wrt_names = walk.params
    else:
        unknown = [k for k in wrt if k not in by_key]
        if unknown:
            raise ValueError(f"wrt: {', '.join(unknown)} not among the module's keys "
                             f"({', '.join(by_key)})")
        wrt_names = [by_key[k] for k in wrt]
    d = derive(text, wrt=wrt_names, shapes=walk.shapes, names=rename, layout=layout,
               granularity=granularity)
    return TorchDerivation(d, walk.keys, convention, gm, loss_fn, walk.masks)


class _NoNode:
    meta: dict[str, Any] = {}  # noqa: RUF012  (a loss given as loss=, outside the module)


def _loss_callable(loss: Any) -> Any:
    if loss is None:
        return None
    import torch
    import torch.nn.functional as F

    if type(loss) in (torch.nn.MSELoss, torch.nn.CrossEntropyLoss) or loss in (
            F.mse_loss, F.cross_entropy):
        return loss
    raise UnsupportedError(f"loss={loss!r} is not supported yet: torch.nn.MSELoss, "
                           "torch.nn.CrossEntropyLoss, F.mse_loss or F.cross_entropy")


__all__ = ["Key", "TorchDerivation", "from_torch"]
