"""torch.autograd as a witness: the traced module run by fx's interpreter over
``torch.nn``'s own layers, in float64, at the point of our choosing.

The interpreter runs fx's recorded graph, not the module's Python ``forward``; parameters,
Dropout masks and running statistics are the ones given here (float64 copies of the module's
buffers for those not given, so the module's own are never touched).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .torch_calls import LOSS_MODULES

WITNESS = "torch.autograd"


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run(gm: Any, tensors: Mapping[str, Any], masks: Mapping[str, tuple[str, float]],
        loss: Any = None) -> Any:
    """The traced module's output (and ``loss(output, tensors["y"])`` when given) with the
    tensors by the module's keys: parameters, inputs, masks (``"<path>.mask"``)."""
    inputs = [tensors[k] for k in input_keys(gm)]
    out = _interpreter(gm, tensors, masks).run(*inputs)
    if loss is None:
        return out
    y = tensors["y"]
    if loss_name(loss) == "nll_loss":  # our one-hot target as the class indices it takes
        y = y.argmax(dim=1)
    return loss(out, y)


def input_keys(gm: Any) -> list[str]:
    """The keys of the forward's inputs, in order: ``"x"`` for one, else fx's names."""
    placeholders = list(gm.graph.find_nodes(op="placeholder"))
    return [n.name if len(placeholders) > 1 else "x" for n in placeholders]


def loss_name(loss: Any) -> str:
    """The functional's name of a loss (a layer, or F's function itself)."""
    return LOSS_MODULES.get(type(loss).__name__, getattr(loss, "__name__", ""))


def _interpreter_base() -> type:
    import torch.fx

    return torch.fx.Interpreter  # type: ignore[no-any-return]


def _interpreter(gm: Any, tensors: Mapping[str, Any],
                 masks: Mapping[str, tuple[str, float]]) -> Any:
    import torch
    from torch.func import functional_call

    class Run(_interpreter_base()):  # type: ignore[misc]
        def get_attr(self, target: str, args: Any, kwargs: Any) -> Any:
            own = super().get_attr(target, args, kwargs)
            if target not in tensors:  # read by no part of the output: the module's own
                return own.detach().clone().to(torch.float64) if isinstance(
                    own, torch.Tensor) and own.is_floating_point() else own
            if isinstance(own, torch.Tensor) and own.dtype == torch.bool:
                return tensors[target] != 0  # a mask, given as our numbers 0 and 1
            return tensors[target]

        def call_module(self, target: str, args: Any, kwargs: Any) -> Any:
            m = gm.get_submodule(target)
            if target in masks:  # Dropout in training mode: the given mask
                p = masks[target][1]
                return args[0] * tensors[f"{target}.mask"] / (1 - p)
            # a parameter the derivation does not read (a layer whose value the output
            # never reaches) runs with the module's own value
            own = {n: tensors[f"{target}.{n}"] if f"{target}.{n}" in tensors else
                   p.detach().clone().to(torch.float64) for n, p in m.named_parameters()}
            # buffers: the given running statistics, else copies of the module's own
            own |= {n: tensors.get(f"{target}.{n}", b).detach().clone().to(torch.float64)
                    if b.is_floating_point() else b.detach().clone()
                    for n, b in m.named_buffers()}
            return functional_call(m, own, tuple(args), dict(kwargs))

    return Run(gm)
