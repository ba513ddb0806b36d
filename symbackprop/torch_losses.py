"""PyTorch's losses written as text: the functionals (``F.mse_loss``, ``F.cross_entropy``,
...), the loss layers (``nn.MSELoss``, ``LOSS_MODULES``) and a loss given as ``from_torch``'s
``loss=`` all through ``loss_text``: the reduction, class indices read as the one-hot target
they are, label smoothing, and what PyTorch's loss takes that the text cannot write refused
by name. ``torch_calls.FUNCTIONS`` takes the functionals (``f_loss``), the walk the layers,
``torch_bridge`` ``loss=``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import ShapeError, UnsupportedError
from .torch_values import Val, Writer, once, paren

# the keywords of PyTorch's losses that loss_text reads (it refuses what it cannot write)
_LOSS_KEYWORDS = frozenset({"reduction", "weight", "pos_weight", "label_smoothing", "beta",
                            "delta", "ignore_index"})


def f_loss(name: str) -> Callable[..., Val]:
    def build(w: Writer, args: list[Val], kw: Mapping[str, Any], node: Any) -> Val:
        other = [k for k, v in kw.items() if k not in _LOSS_KEYWORDS and v is not None]
        if other:  # size_average=, reduce= (deprecated): never dropped silently
            raise UnsupportedError(f"{name} with {', '.join(other)} {w.where(node)}")
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
    extra = {k: getattr(m, k) for k in _LOSS_KEYWORDS if hasattr(m, k)}
    return loss_text(w, name, args[0], args[1], m.reduction, node, extra)


_ENTRY_WISE = ("l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
               "binary_cross_entropy_with_logits")


def _entries(name: str, o: str, y: str, extra: Mapping[str, Any]) -> str:
    """An entry-wise loss of output o and target y (of one shape), before the reduction."""
    if name == "mse_loss":  # of a tensor: the text's mse_loss takes matrices
        return f"({o} - {y})**2"
    if name == "l1_loss":
        return f"abs({o} - {y})"
    if name in ("huber_loss", "smooth_l1_loss"):  # PyTorch's: SmoothL1 is Huber / β
        what = "delta" if name == "huber_loss" else "beta"
        k = float(extra.get(what, 1.0))
        if k < 0 or (k == 0 and name == "huber_loss") or k != k:
            # PyTorch raises for them (HuberLoss: delta > 0; SmoothL1Loss: beta ≥ 0)
            raise UnsupportedError(f"{name} with {what}={k!r}: PyTorch's needs {what} "
                                   f"{'> 0' if name == 'huber_loss' else '≥ 0'}")
        if k == 0:  # SmoothL1Loss(beta=0) is the L1 loss, as PyTorch's
            return f"abs({o} - {y})"
        return f"huber({o} - {y}, {k!r})" + ("" if name == "huber_loss" else f" / {k!r}")
    if name == "binary_cross_entropy":
        return f"-(hadamard({y}, log({o})) + hadamard(1 - {y}, log(1 - {o})))"
    return f"softplus({o}) - hadamard({y}, {o})"  # with logits: log(1 + eᵒ) − y o


def loss_text(w: Writer, name: str, o: Val, y: Val, reduction: str, node: Any,
               extra: Mapping[str, Any]) -> Val:
    refused = [what for what, no in (
        (f"reduction={reduction!r}", reduction not in ("mean", "sum")),
        ("class weights", extra.get("weight") is not None),
        ("pos_weight", extra.get("pos_weight") is not None),
        # the samples of that class left out, and the mean over the others: not written yet
        (f"ignore_index={extra.get('ignore_index')!r}",
         extra.get("ignore_index", -100) not in (-100, None)),
        # a tensor (B, T, D): the entry-wise losses only (a class axis is PyTorch's 1)
        (f"a {o.shape} output", o.kind != "act" and not (o.kind == "nd" and name in (
            "mse_loss", *_ENTRY_WISE)))) if no]
    if refused:
        raise UnsupportedError(f"{name} with {', '.join(refused)} {w.where(node)}: only "
                               "reduction 'mean' or 'sum', no class weights or ignored "
                               "index, of a (batch, n) output")
    if y.kind == "classes":  # class indices (B,): the one-hot target they are
        if name not in ("cross_entropy", "nll_loss"):
            raise UnsupportedError(f"{name} of class indices {w.where(node)}: only a "
                                   "cross-entropy or NLL loss takes them")
        if o.kind != "act" or y.shape[0] != o.shape[0]:
            raise ShapeError(f"{name} of a {o.shape} output and {y.shape} class indices "
                             f"{w.where(node)}")
        y = w.one_hot(y, o.shape[1], node)
    if y.text.isidentifier() and name in ("binary_cross_entropy", "nll_loss"):
        w.targets[y.text] = "probability" if name == "binary_cross_entropy" else "one-hot"
    smoothing = float(extra.get("label_smoothing", 0.0) or 0.0)
    if smoothing:
        if name != "cross_entropy":
            raise UnsupportedError(f"{name} with label_smoothing {w.where(node)}")
        # the target mixed with the uniform distribution, as PyTorch's: (1 − ε) y + ε / C
        y = Val(f"({1 - smoothing!r}*{paren(y)} + {smoothing / o.shape[1]!r})", y.kind,
                y.shape)
    if name in _ENTRY_WISE or (name == "mse_loss" and o.kind == "nd"):
        o = once(w, o)
        entries = _entries(name, o.text, paren(y), extra)
        return Val(f"{'mean' if reduction == 'mean' else 'sum'}({entries})", "scalar", ())
    if name == "nll_loss":  # log-probabilities o, one-hot y: −Σ y ⊙ o (over the batch)
        text = f"-sum(hadamard({y.text}, {o.text}))"
        return Val(f"{text} / {o.shape[0]}" if reduction == "mean" else text, "scalar", ())
    if name == "mse_loss":
        text = f"sqnorm({o.text} - {paren(y)})" if reduction == "sum" else \
            f"mse_loss({o.text}, {y.text})"
        return Val(text, "scalar", ())
    if w.col and not smoothing:  # the primitive: its target's columns sum to 1
        text = f"cross_entropy({o.text}, {y.text})"
    else:  # −Σ y ⊙ log softmax along each sample (a column, or a row)
        along = "" if w.col else ", axis=1"
        text = f"-sum(hadamard({y.text}, log(softmax({o.text}{along}))))"
    if reduction == "mean":
        text = f"{text} / {o.shape[0]}"
    return Val(text, "scalar", ())
