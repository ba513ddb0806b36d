"""Keys and layouts between a PyTorch module and a derivation made by ``from_torch``.

Each input of the derivation is one of the module's keys (``"0.weight"``, ``"x"``, ``"y"``,
``"2.mask"``) with PyTorch's shape. PyTorch computes on a batch of rows; in the column
convention our activations are transposed (a sample per column) and a 1-D parameter (a
bias) is a column, in the row convention a row. Weights, filters and tensors of rank >= 3
(images, tokens) keep PyTorch's shape either way.
These functions move arrays between the two without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .errors import OptionError, ShapeError

Convention = Literal["column", "row"]


@dataclass(frozen=True, slots=True)
class Key:
    """How one input of the derivation is given in the module's terms: its ``key``
    (``"0.weight"``, ``"x"``), PyTorch's ``shape``, and how our array is made from it:
    ``"same"``, ``"transpose"`` (an activation in the column convention), ``"column"`` /
    ``"row"`` (a 1-D parameter), ``"target"`` (a loss target: class indices become one-hot)."""

    key: str
    shape: tuple[int, ...]
    how: str

    def ours(self, column: bool) -> tuple[int, ...]:
        """Our shape of the input (``column``: the column convention); a tensor of rank
        >= 3 keeps PyTorch's."""
        s = self.shape
        if self.how in ("transpose", "target"):
            return (s[1], s[0]) if column else (s[0], s[1])
        if self.how == "column":
            return (s[0], 1)
        if self.how == "row":
            return (1, s[0])
        return s

    def transposed(self, column: bool) -> bool:
        return self.how in ("transpose", "target") and column


def as_array(v: Any) -> np.ndarray:
    """A tensor, array or number as a NumPy array: float64, or the integers of class
    indices."""
    if hasattr(v, "detach") and hasattr(v, "cpu"):  # a torch.Tensor, without importing torch
        v = v.detach().cpu().numpy()
    a = np.asarray(v)
    if a.dtype.kind in "iu":
        return a
    if a.dtype.kind not in "fb":
        raise TypeError(f"values must be tensors, arrays or numbers, not {a.dtype} data")
    return np.asarray(a, dtype=np.float64)


def to_ours(k: Key, a: np.ndarray, column: bool) -> np.ndarray:
    """A value in PyTorch's shape (class indices for a target) as our array."""
    if k.how == "target" and a.ndim == 1 and a.dtype.kind in "iu":
        classes = k.shape[1]
        if a.size and not (a.min() >= 0 and a.max() < classes):
            raise OptionError(f"{k.key}: class indices must lie in 0..{classes - 1}")
        a = np.eye(classes)[a]
    a = np.asarray(a, dtype=np.float64)
    if a.shape != k.shape:
        raise ShapeError(f"{k.key} has shape {a.shape}, the module's is {k.shape}")
    if k.transposed(column):
        return a.T.copy()
    if k.how in ("column", "row"):
        return a.reshape(k.ours(column))
    return a


def to_torch(k: Key, value: Any, our_shape: tuple[int, ...], column: bool) -> np.ndarray:
    """One of our arrays (``our_shape``: a value or a gradient of the input) in PyTorch's
    shape."""
    a = np.asarray(value, dtype=np.float64).reshape(our_shape)
    if k.transposed(column):
        return a.T.copy()
    return a.reshape(k.shape)


def from_torch_gradient(k: Key, grad: Any, our_shape: tuple[int, ...],
                        column: bool) -> np.ndarray:
    """A gradient in PyTorch's shape (a ``p.grad``, or None: no gradient reached it) as our
    array."""
    g = np.zeros(k.shape) if grad is None else as_array(grad)
    if k.transposed(column):
        return g.T.copy()
    return g.reshape(our_shape)


def tied_keys(module: Any) -> dict[str, str]:
    """Each key of a parameter or buffer that is another key's tensor (``dec.weight =
    enc.weight``, tied embeddings) -> that first key, as ``named_parameters()`` lists it: one
    tensor is one input, whose gradient sums both uses."""
    first: dict[int, str] = {}
    tied: dict[str, str] = {}
    for table in (module.named_parameters(remove_duplicate=False),
                  module.named_buffers(remove_duplicate=False)):
        for k, t in table:
            if first.setdefault(id(t), k) != k:
                tied[k] = first[id(t)]
    return tied
