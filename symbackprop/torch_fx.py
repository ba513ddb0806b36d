"""Recording a PyTorch module with torch.fx, and what the walk asks of the recorded nodes.

``trace`` runs the module's ``forward`` once, on fx's proxies (never on numbers), with
``torch.zeros``/``torch.ones`` of proxies' sizes recorded as calls; the graph module it
returns takes the layers and parameters from the module's own registries. A call is kept
only when its target is the very function of torch or ``operator`` whose name it has
(``genuine``); backward hooks, layers with a forward of their own, and in-place layers whose
input another node still reads (``aliased``) are refused: fx records none of them.
"""

from __future__ import annotations

import math
import operator
import threading
from typing import Any

from .errors import UnsupportedError
from .torch_calls import FUNCTIONS
from .torch_values import NoNode, fname


def trace(module: Any) -> Any:
    """The module as torch.fx records it (a ``GraphModule`` over the module's own layers and
    parameters); a module fx cannot trace raises ``UnsupportedError`` with fx's reason."""
    import torch
    import torch.fx

    try:
        graph = _tracer().trace(module)
    except Exception as e:  # the module's own forward, on fx's proxies, may raise anything
        raise UnsupportedError(f"torch.fx cannot trace {type(module).__name__}: "
                               f"{type(e).__name__}: {e}") from e
    _no_backward_hooks(module)
    own: dict[str, Any] = {}
    for table in (module.named_modules(remove_duplicate=False),
                  module.named_parameters(remove_duplicate=False),
                  module.named_buffers(remove_duplicate=False)):
        own.update(table)
    kept: dict[str, Any] = {}  # the tensors fx met in the forward (and plain attributes)
    for node in graph.nodes:  # before fx writes code for the graph: it would name them
        if node.op == "get_attr" and node.target not in own:
            # a tensor fx met in the forward (a plain tensor attribute, or one computed from
            # buffers) is kept on the module under the name it gave it, never a user's
            constant = vars(module).get(node.target)
            if isinstance(constant, torch.Tensor) and not isinstance(constant,
                                                                     torch.nn.Parameter):
                own[node.target] = kept[node.target] = constant
        if node.op in ("call_module", "get_attr") and node.target not in own:
            raise UnsupportedError(f"{node.target!r} is not a parameter or a layer of the "
                                   "module: not supported")
        if node.op == "call_function" and node.target is not getattr and not genuine(node):
            if fname(node) in FUNCTIONS:
                raise UnsupportedError(f"a function named {fname(node)} {where(node)} is not "
                                       "torch's own: not supported")
            raise UnsupportedError(f"{fname(node)} {where(node)} is not supported yet")
    gm = torch.fx.GraphModule(own, graph, "Traced")
    gm.meta["constants"] = frozenset(kept)  # no user's buffer: a 0-d one is its number
    return gm


# torch's factories whose sizes may be fx's proxies (``torch.zeros(x.size(0), H)``, an RNN's
# first state): fx cannot run them on proxies, so they are recorded as calls while it traces
_FACTORIES = ("zeros", "ones")
_PATCHING = threading.RLock()


def _tracer() -> Any:
    """fx's tracer, with ``torch.zeros`` and ``torch.ones`` of sizes that are fx's proxies
    recorded as calls (as fx records ``math.sqrt`` of one); of numbers they run as ever."""
    import torch
    import torch.fx

    def recorded(f: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            found: list[Any] = []
            torch.fx.node.map_aggregate((args, kwargs), lambda a: found.append(a) if isinstance(
                a, torch.fx.Proxy) else None)
            if not found:
                return f(*args, **kwargs)
            return found[0].tracer.create_proxy("call_function", f, args, kwargs)
        return call

    class Tracer(torch.fx.Tracer):  # type: ignore[misc]
        # a buffer read in the forward is a node (get_attr), as a parameter is: indexed by
        # a size of the input (nanoGPT's mask[:, :, :T, :T], T = x.size(1)) it is recorded,
        # where as a plain tensor it raised on fx's proxy for T
        proxy_buffer_attributes = True

        def trace(self, root: Any, concrete_args: Any = None) -> Any:
            with _PATCHING:  # one trace at a time puts torch's own functions back
                saved = {n: getattr(torch, n) for n in _FACTORIES}
                try:
                    for n, f in saved.items():
                        setattr(torch, n, recorded(f))
                    return super().trace(root, concrete_args)
                finally:
                    for n, f in saved.items():
                        setattr(torch, n, f)

    return Tracer()


def _no_backward_hooks(module: Any) -> None:
    """A hook on a parameter's gradient (``p.register_hook``) or a layer's backward changes
    what ``p.grad`` holds, and the derivation is of the forward alone: refused by name."""
    for k, p in module.named_parameters():
        if getattr(p, "_backward_hooks", None) or getattr(p, "_post_accumulate_grad_hooks",
                                                          None):
            raise UnsupportedError(f"parameter {k!r} has a gradient hook (register_hook), "
                                   "which changes p.grad but not the forward: not supported "
                                   "(derive without it, and apply it to the gradient after)")
    for k, m in module.named_modules():
        if getattr(m, "_backward_hooks", None) or getattr(m, "_backward_pre_hooks", None):
            raise UnsupportedError(f"{type(m).__name__} at {k or 'the module'!r} has a backward "
                                   "hook, which changes the gradients but not the forward: not "
                                   "supported")


def genuine(node: Any) -> bool:
    """Whether a call's target is the function of ``torch``, ``torch.nn.functional`` or
    ``operator`` that its name says (a function of the user's named ``relu`` is not)."""
    import torch
    import torch.nn.functional as F

    prefix, _, name = fname(node).partition(".")
    homes = {"torch": (torch,), "F": (F, torch._C._nn), "operator": (operator,),
             "math": (math,)}.get(prefix, ())
    return any(getattr(home, name, None) is node.target for home in homes)


def plain_layer(gm: Any, path: str) -> Any:
    """The layer at ``path``, if it is torch's own, without a forward of its own or hooks
    (fx records the layer without them)."""
    m = gm.get_submodule(path)
    if type(m).__module__.split(".")[0] != "torch" or "forward" in vars(m) or \
            m._forward_hooks or m._forward_pre_hooks:
        raise UnsupportedError(f"{type(m).__name__} at {path!r} has its own forward or "
                               "hooks, which torch.fx does not record: not supported")
    return m


# calls whose result may share its memory with their first argument (a view of it)
_VIEWS = frozenset({"Tensor.view", "Tensor.view_as", "Tensor.reshape", "Tensor.transpose",
                    "Tensor.permute", "Tensor.t", "Tensor.unsqueeze", "Tensor.squeeze",
                    "Tensor.flatten", "Tensor.contiguous", "Tensor.expand", "Tensor.narrow",
                    "operator.getitem", "torch.flatten", "torch.reshape", "torch.transpose"})


def aliased(node: Any) -> bool:
    """Whether an in-place layer's input, or a tensor it is a view of, has a reader other
    than the layer: PyTorch changes that reader's value too (fx records the same call, so
    only this can tell). A plain ``Sequential(..., nn.ReLU(inplace=True))`` is not."""
    user: Any = node
    base: Any = node.args[0] if node.args else None
    while hasattr(base, "op"):
        if any(u is not user for u in base.users):
            return True
        if not (_same_tensor(base) or (base.op in ("call_method", "call_function") and
                fname(base) in _VIEWS)) or not base.args or (
                fname(base) == "operator.getitem" and isinstance(base.args[1], int)):
            return False  # (an item of a tuple, h, c = cell(x), is no view)
        user, base = base, base.args[0]
    return False


def _same_tensor(node: Any) -> bool:
    """Whether a call may return its first argument itself: nn.Identity, a Dropout that
    drops nothing (eval mode, p = 0), F.dropout(training=False), ``.float()``/``.to()``
    of a tensor already of that type, ``h.T`` (a view)."""
    import torch

    if node.op == "call_module":
        m = node.graph.owning_module.get_submodule(node.target)
        return isinstance(m, torch.nn.Identity) or (
            isinstance(m, torch.nn.modules.dropout._DropoutNd) and (not m.training or m.p == 0))
    if node.op == "call_function" and node.target is getattr:
        return node.args[1] in ("T", "mT", "H", "data")
    name = fname(node) if node.op in ("call_method", "call_function") else ""
    if name in ("F.dropout", "F.dropout1d", "F.dropout2d"):
        training = node.kwargs.get("training", node.args[2] if len(node.args) > 2 else True)
        p = node.kwargs.get("p", node.args[1] if len(node.args) > 1 else 0.5)
        return training is False or p == 0
    return name in ("Tensor.float", "Tensor.double", "Tensor.to", "Tensor.type",
                    "Tensor.type_as", "Tensor.view_as")


def where(node: Any) -> str:
    """Where a node is, for errors: its module path, or the forward, or ``loss=``."""
    if isinstance(node, NoNode):
        return "in loss="
    stack = node.meta.get("nn_module_stack") or {}
    path = next(reversed(stack)) if stack else ""
    return f"at {path!r}" if path else "in the module's forward"
