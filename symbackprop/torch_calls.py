"""fx's recorded calls written as text of the text language: the table ``FUNCTIONS``
(``torch.relu``, ``operator.matmul``, ``F.mse_loss``, ...) and the layers' forms that the
walk over a module (``torch_walk``) shares with it (``linear``, ``softmax``, the
activations). The element-wise arithmetic, comparisons and masks are ``torch_arithmetic``'s
(its ``ARITHMETIC_CALLS``), the calls on tensors of rank >= 3 ``torch_tensors``'s (its
``TENSOR_CALLS``), the losses ``torch_losses``'s.

Each entry takes the operands as ``Val`` (their text in our layout and PyTorch's shape) and
returns the result's; in the column convention an activation's text is its transpose, so
``x Wᵀ`` is written ``W@x`` and ``a @ b`` is written ``b@a``. A call or an argument the
table cannot write raises ``UnsupportedError`` naming it and where it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from .errors import UnsupportedError
from .torch_arithmetic import ARITHMETIC_CALLS
from .torch_losses import LOSS_MODULES, f_loss
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
    if len(a.shape) == 2 and a.shape[dim] == 1:  # PyTorch's 1 everywhere, gradient 0
        fix = ("trace with an example batch of 2 or more" if dim % 2 == 0 else
               "a softmax over one feature is a constant: leave it out")
        raise UnsupportedError(f"{f} over dim {dim} of a {a.shape} tensor {w.where(node)}: "
                               f"dim {dim} has length 1, so the {f} is "
                               f"{'0' if log else '1'} everywhere and nothing flows back "
                               f"through it; {fix}")
    axis = (1 - dim % 2) if w.col else dim % 2  # ours is transposed in the column convention
    return Val(f"{f}({a.text})" if axis == 0 else f"{f}({a.text}, axis=1)", "act", a.shape)


def log_softmax(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
    return softmax(w, args, kw, node, log=True)


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


FUNCTIONS: dict[str, Callable[..., Val]] = {
    **{f"{p}.{n}": _activation(n) for p in ("F", "torch", "Tensor")
       for n in (*PLAIN_ACTIVATIONS, *ACTIVATION_PARAMS)},
    **{f"{p}.log_softmax": log_softmax for p in ("F", "torch", "Tensor")},
    "F.log_sigmoid": _activation("logsigmoid"),  # F.logsigmoid's own name
    "F._threshold": _activation("threshold"),  # F.threshold's
    "F.gelu": gelu, "F.softmax": softmax, "torch.softmax": softmax,
    "Tensor.softmax": softmax, "F.linear": _f_linear,
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
    **{f"{p}.{n}": reduce("max" if n == "amax" else "min") for p in ("torch", "Tensor")
       for n in ("amax", "amin")},
    "torch.bmm": _matmul, "Tensor.bmm": _matmul,
    **{f"{p}.{n}": pieces for p in ("torch", "Tensor") for n in ("chunk", "split")},
    "torch.var": spread("var"), "Tensor.var": spread("var"), "torch.std": spread("std"),
    "Tensor.std": spread("std"), "F.normalize": normalize,
    "torch.rsqrt": _rsqrt, "Tensor.rsqrt": _rsqrt,
    **{f"F.{n}": f_loss(n) for n in LOSS_MODULES.values()},
    **ARITHMETIC_CALLS,
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
