"""The printer of generated framework code: the NumPy one (``code_printer.CodePrinter``)
with the array namespace swapped. Each element-wise primitive maps to the framework's
function of the same maths (the tables of ``framework_tables.py``), and a primitive without
one is refused by name (UnsupportedError), never written as wrong code. The n-D primitives
(conv2d, pooling, einsum, transpose and reshape of axes, the softmax along an axis,
batchnorm2d) are written with the framework's own forward (``TENSOR_TORCH``,
``TENSOR_JAX``); a cotangent that is no primitive of ours (``TensorVJP``) is that one
call's VJP by ``torch.func.vjp`` / ``jax.vjp``, as the generated code says, not our index
form. An einsum's, a transpose's and a reshape's cotangents are those primitives again.
Normalisation's ``standardise`` and the row softmax get forwards only: their backward is
the derivation's matrix form. The structural primitives (an item, slices and their scatter
back, blocks, reshapes, padding, Kronecker products, cumsum's and flip's pattern matrices)
mirror the NumPy code's semantics with the framework's calls (JAX's scatter is
``.at[...].set``; PyTorch's writes into fresh zeros in a helper). ``frameworks.py`` lays
out the ``torch.autograd.Function`` and the ``jax.custom_vjp`` around it."""

from __future__ import annotations

from typing import Any

import sympy as sp

from ..errors import UnsupportedError
from ..functions import Softmax
from ..layers import InvStd
from ..recognise import node_operands
from ..rules import BY_NODE, BY_SYMPY
from ..structural import END, FULL
from ..structural import text_span as _text_span
from ..tensor_nodes import TensorOp, TensorVJP
from .code_printer import FUNCS, CodePrinter, call
from .framework_tables import (
    JAX,
    JAX_HELPERS,
    NEEDS,
    TORCH,
    TORCH_HELPERS,
)


class FrameworkPrinter(CodePrinter):
    """The NumPy printer with ``xp`` (``torch`` or ``jnp``) in place of ``np``; ``ref`` is
    an input whose dtype new arrays take."""

    int_limit = 2**31  # JAX's ints are int32 unless x64 is enabled: 3e9 * x overflows

    def __init__(self, names: Any, xp: str, ref: str | None, like: Any) -> None:
        super().__init__(names, numpy=True, like=like)
        self.xp = xp
        self.table = TORCH if xp == "torch" else JAX
        self.ref = ref

    def _func(self, name: str, args: list[str]) -> str:
        if name not in self.table:
            known = FUNCS.get(name, (None, name))[1]
            raise UnsupportedError(f"no {self.framework} code for the primitive {known}")
        if name == "Heaviside":
            args = args[:1]
        code = self.table[name]
        if code in self.helpers:  # written by a helper of ours
            self.used.add(code)
        return call(code, name, args)

    @property
    def helpers(self) -> dict[str, str]:
        return TORCH_HELPERS if self.xp == "torch" else JAX_HELPERS

    @property
    def framework(self) -> str:
        return "PyTorch" if self.xp == "torch" else "JAX"

    # PyTorch's functions take tensors, not Python numbers (torch.maximum(0, t), torch.sqrt
    # of a constant stage), and save_for_backward keeps tensors only: numbers there become
    # tensors of the first input's dtype
    first = ""

    def _dtype(self) -> str:
        """The inputs' dtype (the first input's; the default float without any input)."""
        if self.xp == "torch":
            return f"{self.first}.dtype" if self.first else "torch.get_default_dtype()"
        return f"jnp.result_type({self.first or 'float'})"  # of a Python float too

    def _number(self, e: sp.Basic, code: str) -> str:
        """``code`` of ``e``, as a tensor when PyTorch needs one (e a number)."""
        if self.xp == "torch" and e.is_number:
            return f"torch.as_tensor({code}, dtype={self._dtype()})"
        return code

    def floating(self, value: sp.Basic) -> str:
        """A constant output as an array of the inputs' dtype: JAX's grad refuses an int
        output, PyTorch's backward a number."""
        if self.xp == "torch":
            return f"torch.as_tensor({self.doprint(value)}, dtype={self._dtype()})"
        return f"jnp.asarray({self.doprint(value)}, dtype={self._dtype()})"

    def _print_Function(self, e: sp.Function) -> str:
        name = BY_SYMPY.get(type(e), type(e).__name__)
        return self._clamp(name, e.args) or self._func(name, self._operands(name, e.args))

    def _clamp(self, name: str, args: Any) -> str | None:
        """PyTorch's max / min of a tensor and a number (torch.maximum takes tensors only):
        ``torch.clamp(t, min=c)`` / ``torch.clamp(t, max=c)``."""
        numbers = [a for a in args if a.is_number]
        if self.xp != "torch" or name.lower() not in ("max", "min") or len(args) != 2 \
                or len(numbers) != 1:
            return None
        other = args[1] if args[0] is numbers[0] else args[0]
        bound = "min" if name.lower() == "max" else "max"  # max(t, c): t bounded below by c
        return f"torch.clamp({self._print(other)}, {bound}={self._print(numbers[0])})"

    def _operands(self, name: str, args: Any) -> list[str]:
        if name in ("where", "huber", "polygamma"):  # helpers take numbers; ψ's order an int
            return [self._print(a) for a in args]
        return [self._number(a, self._print(a)) for a in args]

    def _print_Elementwise(self, e: Any) -> str:  # max(A, 0.5) of a matrix: a tensor 0.5
        if e.name in ("pow", "add", "mul") or (e.name == "log" and isinstance(
                e.operands[0], Softmax)):  # log softmax: one log_softmax call
            return super()._print_Elementwise(e)  # type: ignore[no-any-return]
        return self._clamp(e.name, e.operands) or \
            self._func(e.name, self._operands(e.name, e.operands))

    _print_Max = _print_Min = _print_Heaviside = _print_Abs = _print_sign = _print_Function
    # (the NumPy printer's aliases name its own _print_Function: tan of a constant was
    # torch.tan(0.81), a float PyTorch refuses)
    _print_exp = _print_log = _print_sin = _print_cos = _print_tan = _print_tanh = \
        _print_Function

    def stage(self, rhs: sp.Basic) -> str:
        return self._number(rhs, self.doprint(rhs))

    # the structural primitives, as the NumPy code writes them (code_printer.CodePrinter)
    def _print_Item(self, e: Any) -> str:  # a 0-d array: .item() would leave the framework
        return f"{self._base(e.args[0])}.reshape(())"

    def _print_CumProd(self, e: Any) -> str:
        axis = "dim" if self.xp == "torch" else "axis"
        return f"{self.xp}.cumprod({self._print(e.args[0])}, {axis}={e.axis})"

    def _print_Pattern(self, e: Any) -> str:  # cumsum's and flip's constant matrices
        which = "tril_ones" if e.kind == "tril" else "flip_eye"
        self.used.add(which)
        return f"{which}({self._print(e.shape[0])}, {self._like()})"

    def _print_Slice(self, e: Any) -> str:  # positive steps only (the text's)
        rows, cols = (_text_span(a) for a in e.args[1:])
        return f"{self._base(e.args[0])}[{rows}, {cols}]"

    def _print_Embed(self, e: Any) -> str:
        g, like = (self._print(a) for a in e.args[:2])
        if self.xp == "jnp":
            rows, cols = (_text_span(a) for a in e.args[2:])
            return f"jnp.zeros_like({like}).at[{rows}, {cols}].set({g})"
        self.used.add("embed")
        at = ", ".join(_slice_code(a) for a in e.args[2:])
        return f"embed({g}, {like}, ({at}))"

    def _print_Concat(self, e: Any) -> str:
        blocks = ", ".join(self._print(x) for x in e.blocks)
        if self.xp == "torch":
            return f"torch.cat(({blocks}), dim={e.axis})"
        return f"jnp.concatenate(({blocks}), axis={e.axis})"

    def _print_Reshape(self, e: Any) -> str:  # row by row, as NumPy's
        r, c = (self._print(a) for a in e.args[1:])
        return f"{self.xp}.reshape({self._print(e.args[0])}, ({r}, {c}))"

    def _print_Pad(self, e: Any) -> str:
        rb, ra, cb, ca = e.widths
        x, fill = self._print(e.args[0]), float(e.args[2])
        if self.xp == "torch":  # the last axis's widths first
            return f"torch.nn.functional.pad({x}, ({cb}, {ca}, {rb}, {ra}), value={fill!r})"
        return f"jnp.pad({x}, (({rb}, {ra}), ({cb}, {ca})), constant_values={fill!r})"

    def _print_Kron(self, e: Any) -> str:
        a, b = (self._print(x) for x in e.args)
        if self.xp == "torch":  # torch.kron of a transposed (non-contiguous) operand raises
            self.used.add("kron")  # a view error: our kron makes them contiguous
            return f"kron({a}, {b})"
        return f"jnp.kron({a}, {b})"

    def _print_Basic(self, e: Any) -> str:
        rule = BY_NODE.get(type(e))
        name = rule.name if rule is not None else type(e).__name__
        if rule is None or name not in self.table:
            raise UnsupportedError(f"no {self.framework} code for the primitive {name}")
        args = ", ".join(self._print(a) for a in node_operands(e, rule))
        if self.table[name] in self.helpers:
            self.used.add(self.table[name])
        return f"{self.table[name]}({args})"

    def _print(self, e: Any, **kw: Any) -> str:
        if isinstance(e, sp.Expr) and e.is_number and not e.is_Rational and e.is_finite \
                and not isinstance(e, sp.NumberSymbol):  # ∞ is float("inf"), as NumPy's code
            return repr(float(e))  # 2/sqrt(pi): a number, not a framework call on a float
        if isinstance(e, InvStd):  # its own code form is NumPy's: σ⁻¹ along the axis
            x, eps, k = self._print(e.args[0]), float(e.args[1]), e.axis
            var = f"torch.var({x}, dim={k}, keepdim=True, unbiased=False)" if \
                self.xp == "torch" else f"jnp.var({x}, axis={k}, keepdims=True)"
            return f"(1.0 / {self.xp}.sqrt({var} + {eps!r}))"
        return super()._print(e, **kw)  # type: ignore[no-any-return]

    _print_Inverse = _print_Basic

    def _tensor_call(self, head: list[str], e: Any) -> str:
        """``conv2d(X, W, b, stride=1, padding=1)``; a cotangent ``vjp(conv2d, k, g, X, W,
        b, ...)`` (the primitive's output, which the VJP recomputes, left out)."""
        node = e if isinstance(e, TensorOp) else e.node  # a TensorOp, or a VJP / JVP of one
        if not isinstance(e, (TensorOp, TensorVJP)):  # a tangent: forward mode, refused
            raise UnsupportedError(f"no {self.framework} code for the primitive {node.op}")
        self.used.add(node.op)
        if self.xp == "jnp":
            self.used.update(NEEDS.get(node.op, ()))
        kw = [f"{k}={v!r}" for k, v in node.params.items() if v is not None]
        if isinstance(e, TensorVJP):
            self.used.add("vjp")
            head = [node.op, head[0], head[1], *head[3:]]  # f, k, g, operands
            return f"vjp({', '.join(head + kw)})"
        return f"{node.op}({', '.join(head + kw)})"

    def _print_Exp1(self, e: Any) -> str:
        self.used.add("math")
        return "math.e" if self.xp == "torch" else "jnp.e"

    def _print_Pi(self, e: Any) -> str:
        self.used.add("math")
        return "math.pi" if self.xp == "torch" else "jnp.pi"

    def _like(self) -> str:
        """An array whose dtype (and device) a constant array takes: the first array input;
        without one (every input a scalar, stacked into arrays), the first input itself in
        PyTorch (a 0-d tensor), a 0-d array of its dtype in JAX (a Python float has none)."""
        if self.ref is not None:
            return self.ref
        if self.xp == "torch":
            return self.first or "torch.zeros(())"
        return f"jnp.zeros((), dtype={self._dtype()})"

    def _new(self, what: str, dims: str) -> str:
        """``xp.ones``, ``xp.zeros``, ``xp.eye`` of the inputs' dtype (and device)."""
        if self.ref is None:  # the scalar inputs' dtype, or the default float
            device = f", device={self.first}.device" if self.xp == "torch" and \
                self.first else ""
            return f"{self.xp}.{what}({dims}, dtype={self._dtype()}{device})"
        device = f", device={self.ref}.device" if self.xp == "torch" else ""
        return f"{self.xp}.{what}({dims}, dtype={self.ref}.dtype{device})"

    def _print_OneMatrix(self, e: Any) -> str:
        like = self.like.get(tuple(e.shape))
        return f"{self.xp}.ones_like({like})" if like else self._new("ones", self._dims(e))

    def _print_ZeroMatrix(self, e: Any) -> str:
        like = self.like.get(tuple(e.shape))
        return f"{self.xp}.zeros_like({like})" if like else self._new("zeros", self._dims(e))

    def _print_Identity(self, e: Any) -> str:
        return self._new("eye", self._print(e.shape[0]))

    def _print__AlongAxis(self, e: Any) -> str:
        x = self._print(e.args[0])
        if self.xp == "jnp":
            xp = "jax.scipy.special" if e.which == "logsumexp" else "jnp"
            return f"{xp}.{e.which}({x}, axis={e.axis}, keepdims=True)"
        which = {"max": "amax", "min": "amin"}.get(e.which, e.which)
        return f"torch.{which}({x}, dim={e.axis}, keepdim=True)"

    def _print_Indicator(self, e: Any) -> str:
        a, b = (self._factor(x) for x in e.args[:2])
        if e.axis is not None:
            self.used.add("shared")
            return f"shared({a} == {b}, {e.axis}, {a}.dtype)"
        cast = "to" if self.xp == "torch" else "astype"
        return f"({a} == {b}).{cast}({a}.dtype)"

    def _print_Softmax(self, e: Any) -> str:
        self.used.add("log_softmax")
        return f"{self.xp}.exp(log_softmax({self._print(e.args[0])}))"

    def _print_SumAll(self, e: Any) -> str:
        return f"{self.xp}.sum({self._print(e.args[0])})"

    def _print_SqNorm(self, e: Any) -> str:
        return f"{self.xp}.sum({self._base(e.args[0])}**2)"

    def _print_MSE(self, e: Any) -> str:
        o, y = self._print(e.args[0]), self._factor(e.args[1])  # o − (p + p): bracketed
        return f"0.5*{self.xp}.sum(({o} - {y})**2)"

    def _print_CrossEntropy(self, e: Any) -> str:
        self.used.add("log_softmax")
        return f"-{self.xp}.sum({self._factor(e.args[1])}*log_softmax({self._print(e.args[0])}))"


def _slice_code(s: Any) -> str:
    """A span as Python's ``slice(start, stop, step)`` (``None`` for the end)."""
    start, stop, step = s
    if (start, stop, step) == FULL:
        return "slice(None)"
    return f"slice({start}, {None if stop == END else stop}" + (f", {step})" if step != 1 else ")")
