"""From a PyTorch module to its derivation: ``from_torch(module, example_inputs, loss=...)``.

``torch.fx`` records the module (``torch_fx.trace``): its ``forward`` runs once, on fx's
proxies — a layer with hooks, or with a ``forward`` set on the instance, is refused, since
fx records the layer without them. fx does not record a no-grad block or an in-place change
of an aliased tensor, so ``torch_witness.check_fidelity`` runs the forward of a float64 copy
once more, on numbers, and refuses a module whose graph it does not match; no other code of
the user's runs. Each recorded node becomes text of the text language (``torch_walk.Walk``
for layers, the table in ``torch_calls`` for calls), and ``derive`` reads that text: the
derivation is a text derivation, and its finite differences are of that text. Anything
else raises ``UnsupportedError`` naming the op and the module path. ``d.check()`` adds a
fourth witness, torch.autograd in float64 on the traced module (``torch_witness``: fx's
generated code over ``torch.nn``'s own layers; the module's Python ``forward`` does not run
again).

Conventions: PyTorch computes on a batch of rows, ``x`` of shape (batch, in) and
``x Wᵀ + b``. ``convention="column"`` (the default) writes every activation transposed, a
sample per column, so a ``Linear`` reads ``z = W x + b`` as the seed's derivation does;
``"row"`` keeps PyTorch's ``x Wᵀ + b``. Weights keep PyTorch's shape either way; a 1-D
parameter (a bias) is a column in the column convention, a row in the row convention.
Tensors of rank ≥ 3 (images NCHW, filters, attention's (B, H, T, D)) keep PyTorch's layout
in both, written with the text's tensor functions (``conv2d``, ``einsum``, ...); a 2-D
result of them (``Flatten``) is an activation again.

``TorchDerivation.evaluate`` takes the module's own keys (``"0.weight"``, ``"x"``, ``"y"``)
with tensors or arrays in PyTorch's shapes and returns gradients under the same keys and
shapes, so they compare one to one with ``p.grad`` (``torch_keys`` moves the arrays). The
input's ``"x"`` and the target's ``"y"`` never take a key of the module's (a parameter
registered as ``"x"``): the input is then keyed by the forward's argument name, the target
``"target"`` (``Walk.free_key``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .check.points import random_values
from .check.report import CheckReport
from .derive import Derivation, Trace, derive, one_direction
from .errors import OptionError, ShapeError, UnsupportedError
from .evaluate import CE_TOLERANCE, cross_entropy_targets
from .notation import Layout
from .shapes import axes_of, shape_of
from .torch_fx import trace
from .torch_keys import Convention, Key, as_array, from_torch_gradient, to_ours, to_torch
from .torch_losses import LOSS_MODULES, loss_text, module_loss
from .torch_values import NoNode, Val
from .torch_walk import LATER, Walk, module_tensor
from .torch_witness import (
    WITNESS,
    check_fidelity,
    has_torch,
    input_keys,
    run,
)


class TorchDerivation(Derivation):
    """A derivation made by ``from_torch``: ``evaluate``, ``check`` and ``trace`` take the
    module's own keys in PyTorch's shapes; ``keys`` maps each of our names to its ``Key``;
    ``convention`` is ``"column"`` or ``"row"``; ``text`` is what was derived."""

    keys: Mapping[str, Key]
    convention: Convention
    text: str

    def __init__(self, d: Derivation, keys: Mapping[str, Key], convention: Convention,
                 gm: Any, loss: Any, masks: Mapping[str, tuple[str, float]],
                 buffers: Sequence[str] = (), targets: Mapping[str, str] | None = None,
                 inputs: Sequence[str] | None = None, target: str = "y") -> None:
        # the record derive made, as it is (a second sweep would only repeat it)
        for k, v in vars(d).items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "keys", dict(keys))
        object.__setattr__(self, "convention", convention)
        object.__setattr__(self, "text", d.source)
        object.__setattr__(self, "_torch", (gm, loss, dict(masks)))
        object.__setattr__(self, "_buffers", tuple(buffers))
        # inputs that are a loss's targets: "probability" (BCE) or "one-hot" (class indices)
        object.__setattr__(self, "_targets", dict(targets or {}))
        # the keys of the forward's inputs, in order, and of loss='s target: "x" and "y"
        # unless the module has keys of those names (Walk.free_key)
        object.__setattr__(self, "_inputs", tuple(input_keys(gm) if inputs is None
                                                  else inputs))
        object.__setattr__(self, "_target", target)

    # values between the module's terms and ours -----------------------------------------
    def to_ours(self, values: Mapping[str, Any], complete: bool = True) -> dict[str, Any]:
        """Values under the module's keys (tensors or arrays, PyTorch's shapes) as the
        derivation's inputs (our names, our shapes); a key that is already one of our names
        and not a module key is taken as it is. ``complete``: every input must be given;
        buffers (running statistics, ``register_buffer``) not given are the module's own."""
        if not isinstance(values, Mapping):
            raise TypeError(f"values must map the module's keys to tensors or arrays, not "
                            f"{type(values).__name__}")
        if complete:
            values = {**self.module_buffers(values), **values}
        by_key = {k.key: n for n, k in self.keys.items()}
        missing = [k.key for n, k in self.keys.items() if k.key not in values and n not in values
                   and n in {str(s.name) for s in self.inputs}]
        if missing and complete:
            raise OptionError(f"values: missing {', '.join(missing)} (the module's keys: "
                              f"{', '.join(by_key)})", tuple(by_key))
        used = {str(s.name) for s in self.inputs}
        out: dict[str, Any] = {}
        for key, v in values.items():
            if key not in by_key:
                out[key] = as_array(v)
                continue
            name = by_key[key]
            if name not in used:  # an input the output never reads: it has no role
                continue
            out[name] = to_ours(self.keys[name], as_array(v), self.convention == "column")
        if complete:
            self._check_targets(out)
        return out

    def _check_targets(self, ours: Mapping[str, Any]) -> None:
        """A cross-entropy target whose samples do not each sum to 1 (multi-hot, soft
        labels), refused in PyTorch's terms (a sample is a row of the target) before
        ``evaluate``'s own check says "column" of our transposed layout."""
        for s in cross_entropy_targets(self):
            name = str(s.name)
            if name not in ours or np.ndim(ours[name]) != 2:
                continue
            sums = np.sum(np.asarray(ours[name], dtype=float), axis=0)  # our columns
            with np.errstate(invalid="ignore"):
                bad = np.flatnonzero(np.abs(sums - 1.0) > CE_TOLERANCE)
            if bad.size:
                key = self.keys[name].key if name in self.keys else name
                raise UnsupportedError(
                    f"cross_entropy target {key!r}: sample {bad[0]} (row {bad[0]} of "
                    f"{key!r}) sums to {float(sums[bad[0]]):.6g}, not 1. The derivation's "
                    "step softmax(o) - y is the gradient only for targets whose samples each "
                    "sum to 1 (class indices, one-hot rows, probabilities), though PyTorch "
                    "takes any target: give such targets, or derive with convention='row', "
                    "whose cross-entropy is written out and holds for any target")

    def module_buffers(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The module's buffers that the derivation reads (running statistics of BatchNorm in
        eval mode, buffers of the forward) under their keys, those not in ``given`` (by key
        or by our name)."""
        gm, given = self.__dict__["_torch"][0], given or {}
        names = {k.key: n for n, k in self.keys.items()}
        return {k: module_tensor(gm, k) for k in self.__dict__["_buffers"]
                if k not in given and names[k] not in given}

    def to_torch_layout(self, name: str, value: Any) -> np.ndarray:
        """One of our arrays (a value or a gradient of our input ``name``) in PyTorch's shape."""
        return to_torch(self.keys[name], value, self.our_shape(name),
                        self.convention == "column")

    def our_shape(self, name: str) -> tuple[int, ...]:
        """The shape of our input ``name`` (``()`` for a scalar; a tensor's axes)."""
        for s in self.inputs:
            if str(s.name) == name:
                return tuple(int(k) for k in axes_of(shape_of(s)))
        raise KeyError(name)

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
        used = {str(s.name) for s in self.inputs}
        targets = {n: how for n, how in self.__dict__["_targets"].items() if n in used}
        if ours is None and (targets or self.__dict__["_buffers"]):
            # random values, with the module's buffers (a running variance is positive) and
            # the targets PyTorch takes: probabilities in (0, 1), one class per sample
            ours = {**random_values(self, seed),
                    **self.to_ours(self.module_buffers(), complete=False)}
            rng = np.random.default_rng([seed, 11])
            for n, how in targets.items():
                shape = np.shape(ours[n])
                if how == "probability":
                    ours[n] = rng.uniform(0.05, 0.95, shape)
                else:  # one-hot along the classes: our axis 0 in the column convention
                    axis = 0 if self.convention == "column" else 1
                    hot = np.eye(shape[axis])[rng.integers(0, shape[axis], shape[1 - axis])]
                    ours[n] = hot.T if axis == 0 else hot
        return super().check(ours, seed, **kw)

    def trace(self, values: Mapping[str, Any],
              tangents: Mapping[str, Any] | None = None) -> Trace:
        """``Derivation.trace`` with ``values`` and ``tangents`` under the module's keys."""
        return super().trace(self.to_ours(values),
                             None if tangents is None else self.to_ours(tangents, False))

    def hvp(self, values: Mapping[str, Any], direction: Any) -> Any:
        """``Derivation.hvp`` with ``values`` under the module's keys and ``direction`` a
        tensor or array shaped as the one ``wrt`` parameter in PyTorch (or ``{key: it}``);
        the product in that shape, as ``p.grad``."""
        if len(self.wrt) != 1:
            return super().hvp(values, direction)  # its error: one variable
        name = str(self.wrt[0].name)
        key = self.keys[name].key
        direction = one_direction(direction, key, repr)
        ours = self.to_ours({key: direction}, False)[name]
        return self.to_torch_layout(name, super().hvp(self.to_ours(values), ours))

    def analytic_witnesses(self) -> tuple[tuple[str, Callable[[Mapping[str, Any]],
                                                              Mapping[str, Any]]], ...]:
        return ((WITNESS, self.torch_gradients),) if has_torch() else ()

    def torch_gradients(self, values: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """torch.autograd's gradients at ``values`` (our names and shapes), in float64: the
        traced module run by fx's interpreter over ``torch.nn``'s own layers, then the loss."""
        import torch

        wrt = {str(s.name) for s in self.wrt}
        inputs = {str(s.name) for s in self.inputs}  # a layer the output never reaches: none
        placeholders = self.__dict__["_inputs"]
        t = {n: torch.tensor(self.to_torch_layout(n, values[n]), dtype=torch.float64,
                             requires_grad=n in wrt) for n in self.keys if n in inputs}
        # a forward input as a clone: a layer in place on its input (ReLU(inplace=True))
        # may change it, as it may a tensor the module is given; the leaf keeps the gradient
        by_key = {k.key: t[n].clone() if k.key in placeholders else t[n]
                  for n, k in self.keys.items() if n in t}
        for n, k in self.keys.items():
            if k.how == "target" and k.key in placeholders and n in t:
                by_key[k.key] = t[n].argmax(dim=1)  # class indices, as the module took them
            elif n not in t and k.key in placeholders:  # a forward input the output never
                by_key[k.key] = torch.zeros(k.shape, dtype=torch.float64)  # reads: any value
        with torch.enable_grad():
            self._run(by_key).backward()
        column = self.convention == "column"
        return {n: from_torch_gradient(self.keys[n], t[n].grad, self.our_shape(n), column)
                for n in wrt}

    def _run(self, tensors: Mapping[str, Any]) -> Any:
        """The traced module's output, then the loss of it against the target, with the
        tensors by key: the inputs' and the target's keys as the walk gave them (a module
        with a parameter named "x" has its input under another key)."""
        gm, loss, masks = self.__dict__["_torch"]
        return run(gm, tensors, masks, loss, inputs=self.__dict__["_inputs"],
                   target=self.__dict__["_target"])

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


def from_torch(module: Any, example_inputs: Any, loss: Any = None, *,
               names: Mapping[str, str] | None = None, convention: Convention = "column",
               wrt: str | Sequence[str] | None = None, layout: Layout = "denominator",
               granularity: Any = "layers") -> TorchDerivation:
    """The derivation of a PyTorch module's backward pass.

    ``example_inputs``: a tensor (or a tuple of tensors) of shape (batch, features), or
    of rank ≥ 3 (images (N, C, H, W), tokens (B, T, D)): the shapes. ``loss``:
    ``torch.nn.MSELoss``, ``CrossEntropyLoss``, ``L1Loss``, ``SmoothL1Loss``, ``HuberLoss``,
    ``BCELoss``, ``BCEWithLogitsLoss`` or ``NLLLoss`` (an instance, reduction ``"mean"`` or
    ``"sum"``) or the same as ``F``'s function, against a target ``y`` shaped like the
    output (class probabilities; ``evaluate`` also takes class indices for a cross-entropy or
    NLL), or None when the module returns a scalar. ``names`` maps the module's keys
    (``"0.weight"``) to our names (default ``W1``, ``b1``, ... in order of use); other keys rename
    intermediates as ``derive``'s ``names``. ``convention``: ``"column"`` (z = W x + b, a
    sample per column) or ``"row"`` (PyTorch's x Wᵀ + b). ``wrt``: module keys (default:
    every parameter that requires a gradient and that the output reaches). ``layout``,
    ``granularity``: as ``derive``.

    The module's ``forward`` runs once as torch.fx traces it (on proxies), and once on a
    float64 copy to check that fx's graph is the forward (a no-grad block or an in-place
    change of an aliased tensor is refused); nothing else of the user's runs. Unsupported
    layers and calls raise ``UnsupportedError`` naming them and their module path.
    """
    import torch

    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch takes a torch.nn.Module, not {type(module).__name__}")
    example = (example_inputs,) if isinstance(example_inputs, torch.Tensor) else \
        tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else ()
    if not example or not all(isinstance(t, torch.Tensor) for t in example):
        raise TypeError("example_inputs must be a tensor or a tuple of tensors")
    if convention not in ("column", "row"):
        raise OptionError(f"convention must be 'column' or 'row', not {convention!r}",
                          ("column", "row"))
    kind = type(module).__name__
    if kind in LATER:
        raise UnsupportedError(f"{kind} (the module itself) is not supported yet "
                               f"({LATER[kind]})")
    loss_fn = _loss_callable(loss)
    gm = trace(module)
    walk = Walk(gm, convention, names or {})
    out = walk.run(example)
    check_fidelity(module, gm, example)  # what fx recorded is what the forward computes
    if loss_fn is not None:
        o = "o"
        last = walk.stages[-1].split(" = ", 1) if walk.stages else ["", ""]
        if last[0] == out.text:  # the output is already a stage: call it o
            walk.stages[-1] = f"{o} = {last[1]}"
        else:
            walk.stages.append(f"{o} = {out.text}")
        if out.kind not in ("act", "nd"):
            raise ShapeError(f"the module returns a {out.shape} value, which loss= compares "
                             "with no target: pass loss=None for a module that returns its loss")
        ov = Val(o, out.kind, out.shape)  # (batch, n), or a tensor (B, T, D) as PyTorch's
        y = walk.target(ov, NoNode())
        if isinstance(loss, torch.nn.Module):
            lv = module_loss(walk, loss, [ov, y], NoNode())
        else:
            lv = loss_text(walk, loss.__name__, ov, y, "mean", NoNode(), {})
        out = lv
    elif out.kind != "scalar":
        raise ShapeError(f"the module returns a {out.shape} tensor: pass loss= "
                         "(torch.nn.MSELoss(), torch.nn.CrossEntropyLoss(), ...) or return "
                         "a scalar")
    text = "; ".join([*walk.stages, f"L = {out.text}"])
    by_key = {k.key: n for n, k in walk.keys.items()}
    rename = {k: v for k, v in (names or {}).items() if k not in by_key}
    reached = _reached(walk.stages, out.text)
    if wrt is None:  # every parameter the output reaches (a layer computed but unused: none)
        wrt_names = [n for n in walk.params if n in reached]
    else:
        if isinstance(wrt, str):  # one key, as derive takes one name
            wrt = [wrt]
        params = {k for k, _ in torch.nn.Module.named_parameters(module)}
        unused = [k for k in wrt if (k in by_key and by_key[k] not in reached)
                  or (k not in by_key and k in params)]
        if unused:  # PyTorch's gradient of these is None
            one = len(unused) == 1
            raise OptionError(f"wrt: {', '.join(map(str, unused))}: "
                              f"{'a parameter' if one else 'parameters'} the module's output "
                              f"never reaches ({'its' if one else 'their'} gradient is 0: "
                              "PyTorch's is None, or zeros where the module multiplies by a "
                              "zero, as an RNN cell's weight_hh with no state); leave "
                              f"{'it' if one else 'them'} out of wrt",
                              tuple(by_key))
        unknown = [k for k in wrt if k not in by_key]
        if unknown:
            raise OptionError(f"wrt: {', '.join(map(str, unknown))} not among the module's "
                              f"keys ({', '.join(by_key)})", tuple(by_key))
        wrt_names = [by_key[k] for k in wrt]
    d = derive(text, wrt=wrt_names, shapes=walk.shapes, names=rename, layout=layout,
               granularity=granularity)
    return TorchDerivation(d, walk.keys, convention, gm, loss_fn, walk.masks, walk.buffers,
                           walk.targets, walk.input_keys, walk.target_key or "y")


def _reached(stages: list[str], out: str) -> set[str]:
    """The names the output's text reads, through the stages it reads."""
    defs = dict(stage.split(" = ", 1) for stage in stages)
    seen: set[str] = set()
    todo = [out]
    while todo:
        for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", todo.pop()):
            if name not in seen:
                seen.add(name)
                if name in defs:
                    todo.append(defs[name])
    return seen


def _loss_callable(loss: Any) -> Any:
    """The loss, if it is one of PyTorch's that we read (identity and ``type``, so the
    object's own ``__eq__`` and ``__repr__`` never run)."""
    if loss is None:
        return None
    import torch
    import torch.nn.functional as F

    if any(type(loss) is getattr(torch.nn, n) for n in LOSS_MODULES) or any(
            loss is getattr(F, f) for f in LOSS_MODULES.values()):
        return loss
    raise UnsupportedError(f"loss= of type {type(loss).__name__} is not supported yet: "
                           + ", ".join(f"torch.nn.{n}" for n in LOSS_MODULES) + ", or "
                           + ", ".join(f"F.{f}" for f in LOSS_MODULES.values()))


__all__ = ["Key", "TorchDerivation", "from_torch"]
