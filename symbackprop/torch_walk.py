"""Walking the graph torch.fx recorded (``torch_fx.trace``) into text of the text language.

``Walk.run`` writes each node as text: layers through ``Walk.module`` (``torch_layers``'s,
which ``Walk`` inherits), calls through the table in ``torch_calls``; a call is taken only
when its target is the very function of torch or ``operator`` whose name it has
(``torch_fx.genuine``). Anything else raises ``UnsupportedError`` naming the op and the module
path.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .builder import check_name
from .errors import ShapeError, UnsupportedError
from .torch_calls import FUNCTIONS, LOOSE, transpose
from .torch_fx import plain_layer, where
from .torch_keys import Convention, Key, tied_keys
from .torch_layers import Layers
from .torch_matrices import concatenated, indexed, stacked, tensor_indexed
from .torch_values import Val, fname

# the text's own names in from_torch's text: the output of a module given loss=, the loss
RESERVED = {"o": "module's output (before loss=)", "L": "loss"}
# layers refused by name, with the reason and what to write instead
_MHA = ("nn.MultiheadAttention runs one fused call (F.multi_head_attention_forward, with "
        "packed projections and masks) that fx records whole; write the block with "
        "nn.Linear, view/transpose, @ or torch.einsum and F.softmax(dim=-1)")
LATER = {
    "MultiheadAttention": _MHA, "TransformerEncoderLayer": _MHA,
    "TransformerDecoderLayer": _MHA, "Transformer": _MHA,
}


class Walk(Layers):
    """The walk over fx's graph: each node's text (``run``), the inputs' keys and
    shapes, the stages written so far."""

    def __init__(self, gm: Any, convention: Convention, names: Mapping[str, str]) -> None:
        self.gm, self.col = gm, convention == "column"
        self.names = dict(names)
        self.keys: dict[str, Key] = {}  # our name -> the module's key
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.stages: list[str] = []
        self.counts: dict[str, int] = {}
        self.by_key: dict[str, str] = {}
        self.params: list[str] = []  # our names of the parameters, in order of use
        # Dropout's calls in training mode: fx's node name -> (the mask's key, p)
        self.masks: dict[str, tuple[str, float]] = {}
        self.buffers: list[str] = []  # the keys of buffers read (inputs, never wrt)
        self.targets: dict[str, str] = {}  # a loss's target input -> probability, one-hot
        self.tied = tied_keys(gm)  # a key -> the first key of the same tensor
        # the module's own keys (parameters, buffers, tensors fx kept): an input's or a
        # target's key never takes one of them (a parameter registered as "x")
        self.module_keys = {k for table in (gm.named_parameters(remove_duplicate=False),
                                            gm.named_buffers(remove_duplicate=False))
                            for k, _ in table} | {
            str(n.target) for n in gm.graph.nodes if n.op == "get_attr"}
        self.input_keys: list[str] = []  # the forward's inputs' keys, in order
        self.target_key: str | None = None  # the key of loss='s target, when there is one

    # names ----------------------------------------------------------------------------
    def free_key(self, *candidates: str) -> str:
        """The first of ``candidates`` that is no key of the module nor of an input already
        named (else the first with a number): the key of an input or of a target, which
        ``evaluate`` and ``check`` take beside the parameters' keys."""
        taken = self.module_keys | set(self.by_key)
        for c in candidates:
            if c.isidentifier() and c not in taken:
                return c
        k = 2
        while f"{candidates[0]}{k}" in taken:
            k += 1
        return f"{candidates[0]}{k}"

    def fresh(self, letter: str) -> str:
        k = self.counts.get(letter, 0) + 1
        taken = set(self.keys) | set(self.names.values()) | RESERVED.keys()
        while f"{letter}{k}" in taken:
            k += 1
        self.counts[letter] = k
        return f"{letter}{k}"

    def symbol(self, key: str, shape: tuple[int, ...], how: str, letter: str,
               param: bool) -> str:
        if key in self.by_key:
            return self.by_key[key]
        taken = set(self.keys) | set(self.names.values()) | RESERVED.keys()
        # x, y, and an input's own name (x1, x2 of a forward(x1, x2)) as they are, unless
        # taken (by a name given in names=, or the text's o and L)
        own = (letter in ("x", "y") or letter == key) and letter not in taken
        name = check_name(self.names[key], "names value") if key in self.names else \
            letter if own else self.fresh(letter)
        if name in self.keys:
            raise ValueError(f"names: {name!r} would name both {self.keys[name].key!r} and "
                             f"{key!r}")
        if name in RESERVED:
            raise ValueError(f"names: {name!r} is the text's name of the "
                             f"{RESERVED[name]}: give {key!r} another name")
        self.keys[name], self.by_key[key] = Key(key, shape, how), name
        self.shapes[name] = self.keys[name].ours(self.col)
        if param:
            self.params.append(name)
        return name

    def parameter(self, key: str, letter: str, buffer: bool = False) -> Val:
        """A parameter (or, ``buffer``, a buffer: an input never differentiated, that
        ``evaluate`` and ``check`` take from the module unless given) in our layout."""
        key = self.tied.get(key, key)  # one tensor under two keys (tied weights): one
        p = module_tensor(self.gm, key) if buffer else self.gm.get_parameter(key)
        shape, param = tuple(p.shape), p.requires_grad and not buffer
        if buffer and shape and key not in self.by_key:
            self.buffers.append(key)
        if len(shape) >= 3:  # a filter (F, C, kh, kw): PyTorch's layout
            return Val(self.symbol(key, shape, "same", letter, param), "nd", shape)
        if len(shape) == 2:
            name = self.symbol(key, shape, "same", letter, param)
            return Val(f"{name}.T" if self.col else name, "act", shape)
        if len(shape) == 1:
            how = "column" if self.col else "row"
            name = self.symbol(key, shape, how, "b" if letter == "W" else letter, param)
            return Val(name, "vec", shape)
        what = "buffer" if buffer else "parameter"
        raise UnsupportedError(f"{what} {key!r} has shape {shape}: a scalar {what} is "
                               "not supported; give it shape (1,), which PyTorch broadcasts "
                               "alike")

    def constant(self, node: Any) -> Val:
        """A buffer the forward reads (``self.register_buffer``), a plain tensor attribute or
        a tensor fx kept: a floating-point or bool one is an input that is never
        differentiated; a 0-d one that is no buffer (``torch.tensor(0.2)``) is its number."""
        key = node.target
        b = module_tensor(self.gm, key)
        if b is not None and b.dim() == 0 and key in self.gm.meta.get("constants", ()) and \
                not b.is_complex():
            # torch.tensor(0.2) in the forward, which fx keeps as a tensor: its number, as
            # written (0.2, not float32's 0.20000000298...; an int as a float, never a dim)
            number = float(b.detach())
            short = b.is_floating_point() and b.element_size() < 8  # float32's digits
            return Val(str(np.float32(number)) if short else repr(number), "num", ())
        if b is None or not (b.is_floating_point() or b.dtype == torch_bool()):
            raise UnsupportedError(f"{key!r} {self.where(node)} is not a parameter or a "
                                   "floating-point or bool buffer or tensor: not supported")
        v = self.parameter(key, "c", buffer=True)
        v.mask = b.dtype == torch_bool()  # a bool mask: its numbers 0 and 1
        return v

    # the walk -------------------------------------------------------------------------
    def run(self, example: Sequence[Any]) -> Val:
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
        for node in nodes:  # a layer refused by name is named before any shape is read
            kind = type(self.gm.get_submodule(node.target)).__name__ \
                if node.op == "call_module" else ""
            if kind in LATER:
                raise UnsupportedError(f"{kind} at {node.target!r} is not supported yet "
                                       f"({LATER[kind]})")
        env: dict[Any, Val] = {}
        out: Any = None
        for node in nodes:
            if node.op == "placeholder":
                t = example[placeholders.index(node)]
                # "x" for one input, else fx's name of it; never a key of the module's (a
                # parameter registered as "x": the input is then the forward's argument)
                key = check_name(self.free_key("x", str(node.target), "x_input")
                                 if len(placeholders) == 1 else
                                 self.free_key(node.name, f"{node.name}_input"), "input name")
                self.input_keys.append(key)
                shape = tuple(t.shape)
                if len(shape) == 1 and not (t.is_floating_point() or t.is_complex()):
                    # class indices (B,): a cross-entropy's target, one-hot once the loss
                    # that reads it gives the number of classes (``one_hot``)
                    name = self.symbol(key, shape, "classes", key, False)
                    env[node] = Val(name, "classes", shape)
                    continue
                if len(shape) < 2:
                    raise ShapeError(f"from_torch takes inputs of shape (batch, features) "
                                     f"or (batch, ...) of rank 3 or more; {key} is {shape}")
                nd = len(shape) > 2  # images (N, C, H, W), tokens (B, T, D): as PyTorch's
                env[node] = Val(self.symbol(key, shape, "same" if nd else "transpose", key,
                                            False), "nd" if nd else "act", shape)
                continue
            if node.op == "output":
                out = node.args[0]
                break
            v = self.node(node, env)
            residual = fname(node) in ("operator.add", "torch.add", "Tensor.add") and all(
                hasattr(a, "op") and env[a].kind in ("act", "nd") for a in node.args[:2])
            shared = uses.get(node, 0) > 1 or residual
            if shared and not v.text.isidentifier() and v.kind in ("act", "nd", "vec", "scalar"):
                name = self.fresh("r")
                self.stages.append(f"{name} = {v.text}")
                v = Val(name, v.kind, v.shape)
            env[node] = v
        if not hasattr(out, "op") or out not in env:
            raise UnsupportedError("the module returns "
                                   f"{type(out).__name__}: from_torch needs one tensor")
        return env[out]

    def where(self, node: Any) -> str:
        return where(node)

    def one_hot(self, y: Val, classes: int, node: Any) -> Val:
        """Class indices (B,) given as a forward input, as the one-hot (B, classes) target
        they are: ``evaluate`` takes the indices, the torch witness gives them back."""
        old = self.keys[y.text]
        self.keys[y.text] = Key(old.key, (y.shape[0], classes), "target")
        self.shapes[y.text] = self.keys[y.text].ours(self.col)
        self.targets[y.text] = "one-hot"
        return Val(y.text, "act", (y.shape[0], classes))

    def node(self, node: Any, env: Mapping[Any, Val]) -> Val:
        loose = node.op != "call_module" and fname(node) in LOOSE

        def arg(a: Any) -> Val:
            if hasattr(a, "op") and env[a].kind == "classes" and not _takes_classes(
                    self.gm, node):
                if node.op == "call_module" and type(plain_layer(self.gm, node.target)) \
                        .__name__ == "Embedding":  # as in an nn.Sequential
                    raise UnsupportedError(f"Embedding at {node.target!r} is not supported "
                                           "yet (a lookup of integer indices)")
                raise UnsupportedError(f"class indices {env[a].text!r} read by "
                                       f"{_what(node)} {self.where(node)}: only as the "
                                       "target of a cross-entropy or NLL loss")
            if hasattr(a, "op") and env[a].kind == "zeros" and fname(node) not in (
                    "operator.add", "torch.add", "Tensor.add"):
                raise UnsupportedError(f"a tensor of zeros read by {_what(node)} "
                                       f"{self.where(node)}: only as a recurrent cell's "
                                       "state (nn.RNNCell, GRUCell, LSTMCell) or added")
            if hasattr(a, "op"):
                return env[a]
            if isinstance(a, (int, float)) and not isinstance(a, bool):
                return Val(repr(float(a)) if isinstance(a, float) else str(a), "num", ())
            if loose and (a is None or isinstance(a, str)):  # a bias left out, a spec
                return Val(a or "", "none" if a is None else "str", ())
            if loose and isinstance(a, bool):  # keepdim by position
                return Val(str(a), "bool", ())
            if loose and isinstance(a, (tuple, list)) and all(
                    type(b) is int or (hasattr(b, "op") and env[b].kind == "num"
                                       and env[b].text.lstrip("-").isdigit()) for b in a):
                return Val("", "ints", tuple(b if type(b) is int else int(env[b].text)
                                             for b in a))
            shown = f" {a!r}" if isinstance(a, (str, bool, type(None))) else ""  # no user repr
            raise UnsupportedError(f"{type(a).__name__} argument{shown} of {_what(node)} "
                                   f"{self.where(node)} is not supported")

        if node.op == "get_attr":
            try:
                self.gm.get_parameter(node.target)
            except AttributeError:
                return self.constant(node)
            return self.parameter(node.target, _letter(node))
        if node.op == "call_module" and type(self.gm.get_submodule(node.target)).__name__ in (
                "RNNCell", "GRUCell", "LSTMCell"):
            return self.cell(node, env)
        if node.op == "call_module":
            return self.module(node, [arg(a) for a in node.args], node.kwargs)
        if node.op == "call_function" and node.target is getattr and node.args[1] in (
                "T", "mT") and hasattr(node.args[0], "op"):  # x.T
            return transpose(self, [env[node.args[0]]], {}, node)
        if node.op == "call_function" and node.target is getattr and \
                node.args[1] == "shape" and hasattr(node.args[0], "op"):  # x.shape
            return Val("", "shape", env[node.args[0]].shape)
        if node.op == "call_function" and node.target is getattr and node.args[1] in (
                "device", "dtype") and hasattr(node.args[0], "op"):  # zeros(..., device=)
            return Val("", "none", ())
        if node.op == "call_function" and fname(node) == "operator.getitem" and \
                hasattr(node.args[0], "op") and env[node.args[0]].kind == "act":
            return indexed(self, env[node.args[0]], self.index(node, env), node)  # x[:, :3]
        if node.op == "call_function" and fname(node) == "operator.getitem" and \
                hasattr(node.args[0], "op") and env[node.args[0]].kind == "nd":
            return tensor_indexed(self, env[node.args[0]], self.index(node, env),
                                  node)  # h[:, -1]
        if node.op == "call_function" and fname(node) in ("torch.cat", "torch.concat",
                                                          "torch.stack") and \
                node.args and isinstance(node.args[0], (list, tuple)) and \
                set(node.kwargs) <= {"dim"}:
            dim = node.kwargs.get("dim", node.args[1] if len(node.args) > 1 else 0)
            parts = [arg(a) for a in node.args[0]]
            if fname(node) == "torch.stack":
                return stacked(self, parts, dim, node)
            return concatenated(self, parts, dim, node)
        if node.op in ("call_function", "call_method"):
            fn = FUNCTIONS.get(fname(node))
            if fn is None:
                raise UnsupportedError(f"{fname(node)} {self.where(node)} is not supported "
                                       f"yet")
            kwargs = {k: (arg(a) if hasattr(a, "op") else a) for k, a in node.kwargs.items()}
            return fn(self, [arg(a) for a in node.args], kwargs, node)
        raise UnsupportedError(f"fx node {node.op} {self.where(node)} is not supported")

    def index(self, node: Any, env: Mapping[Any, Val]) -> Any:
        """The key of ``a[key]`` with the sizes fx recorded in it (``T - 1`` of
        ``T = x.shape[1]``) as the ints they are: the shapes are the example's."""
        def number(v: Any) -> Any:
            if not hasattr(v, "op"):
                return v
            if env[v].kind == "num" and env[v].text.lstrip("-").isdigit():
                return int(env[v].text)
            raise UnsupportedError(f"indexing with a computed {env[v].kind} value "
                                   f"{self.where(node)}: only ints, sizes (x.shape[1] - 1) "
                                   "and slices of them")

        def part(k: Any) -> Any:
            if isinstance(k, slice):
                return slice(number(k.start), number(k.stop), number(k.step))
            return number(k)
        key = node.args[1]
        return tuple(part(k) for k in key) if isinstance(key, tuple) else part(key)

    def target(self, o: Val, node: Any) -> Val:
        """loss='s target: the key "y", unless the module has a key "y" or an input of
        that name (then "target", ...): never one of theirs."""
        if o.kind not in ("act", "nd"):
            raise UnsupportedError(f"a loss of a {o.shape} output {self.where(node)}")
        key = self.target_key = self.free_key("y", "target", "y_target")
        if o.kind == "nd":  # a tensor's target: its shape, in PyTorch's layout as it is
            return Val(self.symbol(key, o.shape, "same", "y", False), "nd", o.shape)
        return Val(self.symbol(key, o.shape, "target", "y", False), "act", o.shape)


def torch_bool() -> Any:
    import torch

    return torch.bool


def module_tensor(gm: Any, key: str) -> Any:
    """The buffer ``key`` of the traced module, or the tensor constant fx kept under that
    name (an attribute of the graph module: ``trace`` put it there); None otherwise."""
    import torch

    try:
        return gm.get_buffer(key)
    except AttributeError:
        v = vars(gm).get(key)
        return v if isinstance(v, torch.Tensor) else None


def _letter(node: Any) -> str:
    """The letter of a parameter read directly: γ and β of ``F.layer_norm`` as its layer's
    are named, else ``W`` (``b`` when it is 1-D)."""
    users = list(node.users)
    if len(users) == 1 and users[0].op == "call_function" and fname(users[0]) == "F.layer_norm":
        u = users[0]
        for k, (at, letter) in {"weight": (2, "gamma"), "bias": (3, "beta")}.items():
            if u.kwargs.get(k) is node or (len(u.args) > at and u.args[at] is node):
                return letter
    return "W"


def _takes_classes(gm: Any, node: Any) -> bool:
    """Whether a node is a loss that takes class indices as its target."""
    if node.op == "call_module":
        return type(gm.get_submodule(node.target)).__name__ in ("CrossEntropyLoss", "NLLLoss")
    return node.op == "call_function" and fname(node) in ("F.cross_entropy", "F.nll_loss")


def _what(node: Any) -> str:
    return node.target if isinstance(node.target, str) else fname(node)
