"""torch.autograd as a witness: the traced module run by fx's interpreter over
``torch.nn``'s own layers, in float64, at the point of our choosing.

The interpreter runs fx's recorded graph, not the module's Python ``forward``; parameters,
Dropout masks and running statistics are the ones given here (float64 copies of the module's
buffers for those not given, so the module's own are never touched). ``check_fidelity``
runs the module's own forward beside fx's graph once, to refuse what fx does not record.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import UnsupportedError
from .torch_keys import tied_keys
from .torch_losses import LOSS_MODULES

WITNESS = "torch.autograd"


def has_torch() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def run(gm: Any, tensors: Mapping[str, Any], masks: Mapping[str, tuple[str, float]],
        loss: Any = None, inputs: Sequence[str] | None = None, target: str = "y") -> Any:
    """The traced module's output (and ``loss(output, tensors[target])`` when given) with
    the tensors by the module's keys: parameters, inputs, masks (``masks``: each Dropout
    call's fx node name -> its mask's key, ``"<path>.mask"`` or ``"<path>.mask.2"``, ...,
    and p). ``inputs``: the keys of the forward's inputs, in order (``input_keys(gm)`` when
    None); ``target``: the key of the loss's target. A module with a parameter named
    ``"x"`` has its input under another key (``Walk.free_key``), the target ``"target"``."""
    args = [tensors[k] for k in (input_keys(gm) if inputs is None else inputs)]
    with _float64():  # torch.zeros(B, H) in the forward: float64, as the rest
        out = _interpreter(gm, tensors, masks).run(*args)
    if loss is None:
        return out
    y = tensors[target]
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

    tied = tied_keys(gm)

    class Run(_interpreter_base()):  # type: ignore[misc]
        def get_attr(self, target: str, args: Any, kwargs: Any) -> Any:
            own = super().get_attr(target, args, kwargs)
            target = tied.get(target, target)
            if target not in tensors:  # read by no part of the output: the module's own
                return own.detach().clone().to(torch.float64) if isinstance(
                    own, torch.Tensor) and own.is_floating_point() else own
            if isinstance(own, torch.Tensor) and own.dtype == torch.bool:
                return tensors[target] != 0  # a mask, given as our numbers 0 and 1
            return tensors[target]

        def run_node(self, n: Any) -> Any:
            if n.name in masks and masks[n.name][0] in tensors:  # a call of Dropout in
                key, p = masks[n.name]  # training mode: its own given mask (given unless
                args, _ = self.fetch_args_kwargs_from_env(n)  # the output never reads it)
                return args[0] * tensors[key] / (1 - p)
            return super().run_node(n)

        def call_module(self, target: str, args: Any, kwargs: Any) -> Any:
            m = gm.get_submodule(target)
            # a parameter the derivation does not read (a layer whose value the output
            # never reaches) runs with the module's own value
            key = {n: tied.get(f"{target}.{n}", f"{target}.{n}")
                   for n, _ in m.named_parameters()}  # a tied weight: its first key's
            own = {n: tensors[key[n]] if key[n] in tensors else
                   p.detach().clone().to(torch.float64) for n, p in m.named_parameters()}
            # buffers: the given running statistics, else copies of the module's own
            own |= {n: tensors.get(f"{target}.{n}", b).detach().clone().to(torch.float64)
                    if b.is_floating_point() else b.detach().clone()
                    for n, b in m.named_buffers()}
            return functional_call(m, own, tuple(args), dict(kwargs))

    return Run(gm)


# the cases torch.fx does not record, and what to write instead (the fidelity check's advice)
UNRECORDED = (
    "torch.fx does not record a `with torch.no_grad():` or `torch.set_grad_enabled(False)` "
    "block (or a method under @torch.no_grad()), an in-place change (`h += 1`, `h *= 2`, a "
    "view written in place) of a tensor that another name still holds (`skip = h`), a "
    "value computed from `self.parameters()` (fx keeps it as a constant), nor anything else "
    "that is not a call on its proxies, so the derivation would be of another function. "
    "Write in-place arithmetic out of place (`h = h + 1`); give a value that should carry "
    "no gradient to the module as an input, or drop the no-grad block if the gradient "
    "should flow through it")


def check_fidelity(module: Any, gm: Any, example: tuple[Any, ...], seed: int = 0) -> None:
    """Raise ``UnsupportedError`` unless the module's own ``forward`` and fx's graph of it
    agree at the example input, in value and in every gradient: fx does not record a
    no-grad block or an in-place change of an aliased tensor, and the torch witness, which
    runs fx's graph, would agree with a misreading. One forward and backward of each, on a
    float64 copy (the user's module and its buffers are never touched), with one seed for
    both (Dropout's masks agree) and one random cotangent; a forward that does not run in
    float64 (``x.float()``) is run in its own dtypes, with a looser tolerance."""
    import torch

    try:
        names, ours, fx = _both(module, gm, example, seed, double=True)
        rtol = 1e-7
    except _RunError:
        try:
            names, ours, fx = _both(module, gm, example, seed, double=False)
        except _RunError as e:
            raise UnsupportedError(str(e)) from e.__cause__
        rtol = 1e-4
    for what, a, b in zip(names, ours, fx, strict=True):
        if not _same(a, b, rtol):
            diff = (a - b).abs().max().item() if isinstance(a, torch.Tensor) and \
                isinstance(b, torch.Tensor) and a.shape == b.shape else float("nan")
            raise UnsupportedError(
                f"{type(module).__name__}'s forward and the graph torch.fx recorded of it "
                f"differ at the example input: {what} (by {diff:.3g}). {UNRECORDED}")


class _RunError(UnsupportedError):
    """The module or fx's graph raised when run on numbers (the fidelity check)."""


def _both(module: Any, gm: Any, example: tuple[Any, ...], seed: int,
          double: bool) -> tuple[list[str], list[Any], list[Any]]:
    """What is compared, and its values by the module's own forward and by fx's graph,
    each run once on a copy (in float64 with ``double``) with the same seed and cotangent:
    the output, then the gradients of the parameters and of the floating-point inputs."""
    import copy

    import torch

    kind = type(module).__name__
    # the tensors fx kept (it left them on the module too) may be results of the module's
    # parameters, which deepcopy refuses: copied as the constants they are in fx's graph
    kept = (getattr(gm, k, None) for k in gm.meta.get("constants", ()))
    memo = {id(t): t.detach().clone() for t in kept if isinstance(t, torch.Tensor)}
    try:
        m, g = copy.deepcopy((module, gm), memo)  # one copy: g reads m's layers, parameters
    except Exception as e:  # a module of the user's may refuse to be copied in any way
        raise UnsupportedError(
            f"from_torch runs a copy of {kind} once on numbers, to check that torch.fx "
            f"recorded its forward, but copy.deepcopy of it raised {type(e).__name__}: {e}; "
            "make the module copyable") from e
    if double:
        m.double()
        g.double()
    params = [(k, p) for k, p in m.named_parameters() if p.requires_grad]
    leaves = [(t.detach().to(torch.float64) if double else t.detach().clone()
               ).requires_grad_() if t.is_floating_point() else t.detach().clone()
              for t in example]
    wrt = [p for _, p in params] + [t for t in leaves if t.requires_grad]
    names = ["the output", *(f"the gradient of {k!r}" for k, _ in params), *(
        f"the gradient of the input {k!r}" for k, t in zip(input_keys(gm), leaves, strict=True)
        if t.requires_grad)]
    saved = [(b, b.detach().clone()) for b in (*m.buffers(), *g.buffers())]

    def run(f: Any, who: str) -> list[Any]:
        with torch.random.fork_rng(devices=[]), torch.enable_grad(), \
                _float64() if double else contextlib.nullcontext():
            torch.default_generator.manual_seed(seed)  # the CPU's: fork_rng restores it
            try:
                out = f(*[t.clone() for t in leaves])  # a clone: in place on it is allowed
                grads: Any = [None] * len(wrt)
                if isinstance(out, torch.Tensor) and out.requires_grad and wrt:
                    cot = torch.randn(out.shape, dtype=out.dtype,
                                      generator=torch.Generator().manual_seed(seed))
                    grads = torch.autograd.grad(out, wrt, cot, allow_unused=True)
            except Exception as e:  # PyTorch's own error (a tensor changed in place, ...)
                advice = " Write the in-place change out of place (`h = h + 1`)." if \
                    "inplace" in str(e) else ""
                raise _RunError(
                    f"{who}, run at the example input to check that torch.fx recorded the "
                    f"forward faithfully, raised {type(e).__name__}: {str(e).rstrip('.')}."
                    f"{advice}") from e
        with torch.no_grad():  # BatchNorm's running statistics as they were
            for b, v in saved:
                b.copy_(v)
        return [out.detach() if isinstance(out, torch.Tensor) else out,
                *(torch.zeros_like(p) if d is None else d
                  for p, d in zip(wrt, grads, strict=True))]

    return (names, run(m, f"{kind}'s own forward and backward"),
            run(g, f"torch.fx's graph of {kind}"))


_DEFAULT_DTYPE = threading.Lock()


@contextlib.contextmanager
def _float64() -> Iterator[None]:
    """float64 as torch's default dtype for a while (``torch.zeros(B, H)`` in a forward run
    in float64), one thread at a time: the default is the process's."""
    import torch

    with _DEFAULT_DTYPE:
        old = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            yield
        finally:
            torch.set_default_dtype(old)


def _same(a: Any, b: Any, rtol: float = 1e-7) -> bool:
    """Equal up to rounding (float64, the same operations): NaN where the other is NaN."""
    import torch

    if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)) or \
            a.shape != b.shape or a.dtype != b.dtype:
        return False
    finite = [v[torch.isfinite(v)].abs().max().item() for v in (a, b) if torch.isfinite(v).any()]
    scale = max(finite, default=0.0)
    return bool(torch.allclose(a, b, rtol=rtol, atol=rtol * scale, equal_nan=True))
