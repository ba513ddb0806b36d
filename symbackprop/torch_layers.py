"""The layers of a module (``nn.Module`` calls fx recorded whole) written as text of the
text language: Linear, the activation layers, Conv1d/Conv2d, pooling (1-D pooling as the 2-D
pooling of one-row images), Dropout with its mask an input of its own, the normalisations
(LayerNorm; BatchNorm over the batch in training mode, with its running statistics in eval
mode), the recurrent cells (RNNCell, GRUCell, LSTMCell) written out as PyTorch computes them.
``torch_walk.Walk`` inherits them; what they need of the walk (its module, convention, names
and parameters) is declared here."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import UnsupportedError
from .torch_calls import ACTIVATION_PARAMS, activation, gelu, linear, log_softmax, softmax
from .torch_fx import aliased, plain_layer
from .torch_losses import LOSS_MODULES, module_loss
from .torch_matrices import indexed
from .torch_tensors import (
    adaptive_pool_text,
    conv1d_text,
    conv_text,
    flattened,
    pool_text,
    reshaped,
    torch_text,
)
from .torch_values import Val, once

# activation layers: class -> the function (its parameters are the layer's attributes of the
# same names: ELU.alpha, LeakyReLU.negative_slope, Softplus.beta, Hardtanh.min_val, ...)
ACTIVATIONS = {"ReLU": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU6": "relu6",
               "Hardswish": "hardswish", "Hardsigmoid": "hardsigmoid", "SiLU": "silu",
               "Mish": "mish", "SELU": "selu", "Softsign": "softsign",
               "LogSigmoid": "logsigmoid", "Tanhshrink": "tanhshrink", "ELU": "elu",
               "CELU": "celu", "LeakyReLU": "leaky_relu", "Hardtanh": "hardtanh",
               "Softplus": "softplus", "Softshrink": "softshrink", "Hardshrink": "hardshrink",
               "Threshold": "threshold"}


class Layers:
    """The walk's layers: ``module`` writes one, the rest are its parts."""

    gm: Any  # the graph module fx traced
    col: bool  # the column convention
    stages: list[str]
    counts: dict[str, int]
    masks: dict[str, tuple[str, float]]
    targets: dict[str, str]

    if TYPE_CHECKING:  # the Walk's
        def fresh(self, letter: str) -> str: ...

        def where(self, node: Any) -> str: ...

        def one_hot(self, y: Val, classes: int, node: Any) -> Val: ...

        def symbol(self, key: str, shape: tuple[int, ...], how: str, letter: str,
                   param: bool) -> str: ...

        def parameter(self, key: str, letter: str, buffer: bool = False) -> Val: ...

    def module(self, node: Any, args: list[Val], kwargs: Mapping[str, Any]) -> Val:
        import torch

        path = node.target
        m = plain_layer(self.gm, path)
        kind = type(m).__name__
        nn = torch.nn
        idle = isinstance(m, nn.modules.dropout._DropoutNd) and (not m.training or m.p == 0)
        if getattr(m, "inplace", False) is True and not idle and aliased(node):
            raise UnsupportedError(
                f"{kind}(inplace=True) at {path!r} changes its input in place, and that "
                "input (or a tensor it is a view of) is read elsewhere too: PyTorch changes "
                "it there as well, which the derivation would not. Construct the layer with "
                "inplace=False")
        if kind in LOSS_MODULES and type(m) is getattr(nn, kind) and len(args) == 2 \
                and not kwargs:
            return module_loss(self, m, args, node)
        if len(args) != 1 or kwargs:
            raise UnsupportedError(f"{kind} at {path!r} called with {len(args)} arguments")
        a = args[0]
        if type(m) is nn.Linear:
            self.sync_counts()
            w = self.parameter(f"{path}.weight", "W")
            return linear(self, a, w, self.parameter(f"{path}.bias", "b")
                           if m.bias is not None else None, node)
        if kind in ACTIVATIONS and type(m).__module__.startswith("torch.nn"):
            f = ACTIVATIONS[kind]
            return activation(self, f, a, {n: float(getattr(m, n))
                                           for n, _ in ACTIVATION_PARAMS.get(f, ())}, node)
        if type(m) is nn.Identity:
            return a
        if type(m) is nn.PReLU:  # max(0, a) + w min(0, a), w one slope or one per feature
            if a.kind != "act":
                raise UnsupportedError(f"PReLU at {path!r} of a {a.shape} input: only of "
                                       "(batch, features)")
            slope = self.parameter(f"{path}.weight", "a").text
            a = once(self, a)
            return Val(f"relu({a.text}) + hadamard({slope}, min({a.text}, 0))", "act", a.shape)
        if type(m) is nn.LogSoftmax:
            return log_softmax(self, [a], {"dim": m.dim}, node)
        if type(m) is nn.GELU:
            return gelu(self, [a], {"approximate": m.approximate}, node)
        if type(m) is nn.Softmax:
            return softmax(self, [a], {"dim": m.dim}, node)
        if type(m) is nn.Flatten:
            return flattened(self, a, m.start_dim, m.end_dim, node)
        if type(m) in (nn.Conv1d, nn.Conv2d):
            self.sync_counts()
            w = self.parameter(f"{path}.weight", "W")
            b = self.parameter(f"{path}.bias", "b") if m.bias is not None else None
            write = conv1d_text if type(m) is nn.Conv1d else conv_text
            return write(self, a, w, b, {
                "stride": m.stride, "padding": m.padding, "dilation": m.dilation,
                "groups": m.groups, "padding_mode": m.padding_mode}, node)
        if type(m) in (nn.MaxPool2d, nn.AvgPool2d):
            how = "max" if type(m) is nn.MaxPool2d else "avg"
            keys = ("kernel_size", "stride", "padding", "ceil_mode") + (
                ("dilation", "return_indices") if how == "max" else ("divisor_override",))
            return pool_text(self, how, a, {k: getattr(m, k) for k in keys}, node)
        if type(m) in (nn.MaxPool1d, nn.AvgPool1d, nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d):
            return self.pool1d(node, a, m, path)
        if type(m) in (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d):
            if getattr(m, "return_indices", False):
                raise UnsupportedError(f"{kind} at {path!r} with return_indices")
            how = "avg" if type(m) is nn.AdaptiveAvgPool2d else "max"
            return adaptive_pool_text(self, how, a, m.output_size, node)
        if type(m) is nn.BatchNorm2d:
            return self.batchnorm2d(node, a, m, path)
        if type(m) is nn.Dropout:
            if not m.training or m.p == 0:
                return a
            if m.p >= 1:
                raise UnsupportedError(f"Dropout(p={m.p}) at {path!r} drops everything")
            # each call draws its own mask: "<path>.mask", then "<path>.mask.2", ...
            calls = 1 + sum(k.rpartition(".mask")[0] == path for k, _ in self.masks.values())
            key = f"{path}.mask" + (f".{calls}" if calls > 1 else "")
            nd = a.kind == "nd"  # a tensor's mask keeps PyTorch's layout, as the tensor
            name = self.symbol(key, a.shape, "same" if nd else "transpose", "m", False)
            self.masks[node.name] = (key, float(m.p))
            return Val(f"hadamard({name}, {a.text}) / {1 - float(m.p)!r}", a.kind, a.shape)
        if type(m) is nn.LayerNorm:
            if tuple(m.normalized_shape) != a.shape[-1:]:
                raise UnsupportedError(f"LayerNorm at {path!r} over {tuple(m.normalized_shape)}"
                                       f" of a {a.shape} activation: only over the features")
            if a.kind == "nd":  # tokens (B, T, D): each token of the (B T, D) matrix
                lead = a.shape[:-1]
                flat = reshaped(self, a, (math.prod(lead), a.shape[-1]), node)
                return reshaped(self, self.norm(node, flat, 0 if self.col else 1, m, path),
                                a.shape, node)
            return self.norm(node, a, 0 if self.col else 1, m, path)
        if type(m) is nn.BatchNorm1d:
            if _running(m):
                return self.running_norm(a, m, path)
            if a.kind == "nd" and len(a.shape) == 3:  # (N, C, L), after a Conv1d: each
                n, c, length = a.shape  # channel over the batch and the length, as the
                image = reshaped(self, a, (n, c, 1, length), node)  # images' batchnorm2d
                return reshaped(self, self.batchnorm2d(node, image, m, path), a.shape, node)
            return self.norm(node, a, 1 if self.col else 0, m, path)
        raise UnsupportedError(f"{kind} at {path!r} is not supported yet")

    def cell(self, node: Any, env: Mapping[Any, Val]) -> Val:
        """``nn.RNNCell``, ``GRUCell``, ``LSTMCell`` of (batch, features), with a state or
        without (None, or zeros: a state of zeros), written out as PyTorch computes them:
        the gates ``x W_ihᵀ + b_ih + h W_hhᵀ + b_hh``, sliced in PyTorch's order (r, z, n;
        i, f, g, o), through sigmoid and tanh. An LSTM's result is the pair (h, c)."""
        path = node.target
        m = plain_layer(self.gm, path)
        kind = type(m).__name__
        args = [*node.args, *(node.kwargs[k] for k in ("hx",) if k in node.kwargs)]
        lstm = kind == "LSTMCell"
        if len(args) not in (1, 2) or set(node.kwargs) - {"hx"} or \
                not hasattr(args[0], "op") or env[args[0]].kind != "act":
            raise UnsupportedError(f"{kind} at {path!r}: only of a (batch, features) input "
                                   "and a state")
        x, given = env[args[0]], args[1] if len(args) > 1 else None
        states = list(given) if lstm and isinstance(given, (tuple, list)) else [given]
        if lstm and hasattr(given, "op") and env[given].kind == "parts":
            states = list(env[given].parts)  # an earlier step's pair, fed back as it is
        if lstm and given is not None and len(states) != 2:
            raise UnsupportedError(f"LSTMCell at {path!r}: the state is the pair (h, c)")
        vals: list[Val | None] = []
        for v in states:
            if v is not None and not isinstance(v, Val) and not hasattr(v, "op"):
                raise UnsupportedError(f"{kind} at {path!r}: a state of "
                                       f"{type(v).__name__} is not supported")
            s = v if isinstance(v, Val) else \
                None if v is None or env[v].kind == "zeros" else env[v]
            if s is not None and (s.kind != "act" or s.shape != (x.shape[0], m.hidden_size)):
                raise UnsupportedError(f"{kind} at {path!r}: a state of shape {s.shape}")
            vals.append(s)
        h, c = [*vals, None, None][:2]
        bias = m.bias
        self.sync_counts()
        gi = once(self, linear(self, x, self.parameter(f"{path}.weight_ih", "W"),
                               self.parameter(f"{path}.bias_ih", "b") if bias else None, node))
        self.sync_counts()
        w_hh = self.parameter(f"{path}.weight_hh", "W")
        b_hh = self.parameter(f"{path}.bias_hh", "b") if bias else None
        gh = once(self, linear(self, h, w_hh, b_hh, node)) if h is not None else b_hh
        size = m.hidden_size

        def gate(v: Val, k: int) -> Val:  # gate k of PyTorch's stacked gates
            if v.kind == "vec":  # a bias, alone when there is no state
                rows = f"{k * size}:{(k + 1) * size}"
                return Val(f"{v.text}[{rows}, 0:1]" if self.col else f"{v.text}[0:1, {rows}]",
                           "vec", (size,))
            return indexed(self, v, (slice(None), slice(k * size, (k + 1) * size)), node)

        def part(v: Val | None, k: int) -> Val | None:
            return None if v is None else gate(v, k)

        def plus(*vs: Val | None) -> str:
            return " + ".join(v.text for v in vs if v is not None)

        shape = (x.shape[0], size)
        if kind == "RNNCell":
            f = "tanh" if m.nonlinearity == "tanh" else "relu"
            return Val(f"{f}({plus(gi, gh)})", "act", shape)
        if kind == "GRUCell":
            r = once(self, Val(f"sigmoid({plus(part(gi, 0), part(gh, 0))})", "act", shape))
            z = once(self, Val(f"sigmoid({plus(part(gi, 1), part(gh, 1))})", "act", shape))
            hn = part(gh, 2)
            inner = plus(part(gi, 2), None if hn is None else
                         Val(f"hadamard({r.text}, {hn.text})", "act", shape))
            text = f"hadamard(1 - {z.text}, tanh({inner}))"
            return Val(text + (f" + hadamard({z.text}, {h.text})" if h is not None else ""),
                       "act", shape)
        g = once(self, Val(plus(gi, gh), "act", (x.shape[0], 4 * size)))
        i, forget, u, o = (gate(g, k) for k in range(4))
        cell = f"hadamard(sigmoid({i.text}), tanh({u.text}))"
        if c is not None:
            cell = f"hadamard(sigmoid({forget.text}), {c.text}) + {cell}"
        c2 = once(self, Val(cell, "act", shape))
        h2 = Val(f"hadamard(sigmoid({o.text}), tanh({c2.text}))", "act", shape)
        return Val("", "parts", shape, parts=(h2, c2))

    def pool1d(self, node: Any, a: Val, m: Any, path: str) -> Val:
        """1-D pooling of (N, C, L) as the 2-D pooling of one-row images: windows (1, k)
        and strides (1, s), the result reshaped back."""
        import torch

        nn = torch.nn
        if a.kind != "nd" or len(a.shape) != 3:
            raise UnsupportedError(f"{type(m).__name__} at {path!r} of a {a.shape} input: "
                                   "(N, C, L) only")
        n, c, length = a.shape
        image = reshaped(self, a, (n, c, 1, length), node)
        if type(m) in (nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool1d):
            if getattr(m, "return_indices", False):
                raise UnsupportedError(f"{type(m).__name__} at {path!r} with return_indices")
            how = "avg" if type(m) is nn.AdaptiveAvgPool1d else "max"
            size = m.output_size if isinstance(m.output_size, int) else m.output_size[0]
            out = adaptive_pool_text(self, how, image, (1, size), node)
        else:
            how = "max" if type(m) is nn.MaxPool1d else "avg"
            one = {k: (getattr(m, k) if isinstance(getattr(m, k), int) else getattr(m, k)[0])
                   for k in ("kernel_size", "stride", "padding")}
            keys = {"kernel_size": (1, one["kernel_size"]), "stride": (1, one["stride"]),
                    "padding": (0, one["padding"]), "ceil_mode": m.ceil_mode}
            if how == "max":
                keys |= {"dilation": (1, m.dilation if isinstance(m.dilation, int)
                                      else m.dilation[0]), "return_indices": m.return_indices}
            else:
                keys |= {"divisor_override": None}
            out = pool_text(self, how, image, keys, node)
        return reshaped(self, out, (n, c, out.shape[3]), node)

    def sync_counts(self) -> None:
        """A layer's weight and bias share its number (W2 and b2)."""
        k = max(self.counts.get("W", 0), self.counts.get("b", 0))
        self.counts["W"] = self.counts["b"] = k

    def batchnorm2d(self, node: Any, a: Val, m: Any, path: str) -> Val:
        """Training mode (or no running statistics): ``batchnorm2d``, each channel over the
        batch and the image with the biased variance, as PyTorch's. Eval mode is an affine
        map of the running statistics (``running_norm``)."""
        if _running(m):
            return self.running_norm(a, m, path)
        if a.kind != "nd" or len(a.shape) != 4:
            raise UnsupportedError(f"BatchNorm2d at {path!r} of a {a.shape} input (it takes "
                                   "(N, C, H, W)): not supported")
        if m.weight is None:  # affine=False: the normalisation alone, written out
            t = a.text if a.text.isidentifier() else f"({a.text})"
            mean, var = (f"{f}({t}, axis=(0, 2, 3))" for f in ("mean", "var"))
            return Val(f"({t} - {mean}) / sqrt({var} + {float(m.eps)!r})", "nd", a.shape)
        g = torch_text(self, self.parameter(f"{path}.weight", "gamma"))
        b = torch_text(self, self.parameter(f"{path}.bias", "beta"))
        return Val(f"batchnorm2d({a.text}, {g}, {b}, eps={float(m.eps)!r})", "nd", a.shape)

    def running_norm(self, a: Val, m: Any, path: str) -> Val:
        """BatchNorm in eval mode: (a − μ) / √(σ² + ε), then γ ⊙ · + β, each feature (or
        channel, axis 1 of a tensor) with PyTorch's running statistics μ and σ². They are
        inputs (``<path>.running_mean``, ``<path>.running_var``) that no gradient is taken
        in; ``evaluate`` and ``check`` read them from the module when not given."""
        if a.kind not in ("act", "nd") or a.shape[1] != m.num_features:
            raise UnsupportedError(f"{type(m).__name__} at {path!r} of a {a.shape} input: "
                                   "not supported")
        vecs = [self.parameter(f"{path}.running_mean", "mu", buffer=True),
                self.parameter(f"{path}.running_var", "v", buffer=True)]
        if m.weight is not None:
            vecs.append(self.parameter(f"{path}.weight", "gamma"))
        if m.bias is not None:
            vecs.append(self.parameter(f"{path}.bias", "beta"))
        if a.kind == "nd":  # each channel's number spread over the batch and the image
            spread = (1, a.shape[1], *[1] * (len(a.shape) - 2))
            texts = [f"reshape({v.text}, {spread})" for v in vecs]
        else:
            texts = [v.text for v in vecs]
        t = a.text if a.text.isidentifier() else f"({a.text})"
        text = f"({t} - {texts[0]}) / sqrt({texts[1]} + {float(m.eps)!r})"
        if m.weight is not None:
            text = f"hadamard({texts[2]}, {text})" if a.kind == "act" else \
                f"{text} * {texts[2]}"
        if m.bias is not None:
            text = f"{text} + {texts[-1]}"
        return Val(text, a.kind, a.shape)

    def norm(self, node: Any, a: Val, axis: int, m: Any, path: str) -> Val:
        """In the column convention with γ and β, the primitive (``layernorm`` over each
        column, ``batchnorm`` along each row); else (a − mean) / √(var + ε) along ``axis``
        (the biased variance, as PyTorch's), then γ ⊙ · + β."""
        affine = getattr(m, "weight", None) is not None and getattr(m, "bias", None) is not None
        if self.col and affine:
            g = self.parameter(f"{path}.weight", "gamma").text
            b = self.parameter(f"{path}.bias", "beta").text
            fn = "layernorm" if axis == 0 else "batchnorm"
            return Val(f"{fn}({a.text}, {g}, {b}, eps={float(m.eps)!r})", "act", a.shape)
        if not a.text.isidentifier():
            name = self.fresh("r")
            self.stages.append(f"{name} = {a.text}")
            a = Val(name, a.kind, a.shape)
        t = a.text
        text = f"({t} - mean({t}, axis={axis})) / sqrt(var({t}, axis={axis}) + {float(m.eps)!r})"
        if getattr(m, "weight", None) is not None:
            g = self.parameter(f"{path}.weight", "gamma").text
            text = f"hadamard({g}, {text})"
        if getattr(m, "bias", None) is not None:
            text = f"{text} + {self.parameter(f'{path}.bias', 'beta').text}"
        return Val(text, "act", a.shape)


def _running(m: Any) -> bool:
    """Whether a BatchNorm normalises by its running statistics (eval mode with them), as
    PyTorch decides: not in training mode, nor without running statistics."""
    return not m.training and m.running_mean is not None and m.running_var is not None
