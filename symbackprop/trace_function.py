"""Trace a plain Python function into a graph by calling it with symbolic stand-ins.

``function_builder(f, shapes)`` calls ``f`` once with a ``Traced`` value per parameter (a
SymPy symbol, or a MatrixSymbol for a name with a shape). Arithmetic on them (``+ - * / **
@``, unary minus, ``abs``, ``.T``) adds nodes to a ``Builder`` through ``ops``, so every
node stays shallow and shapes are checked as they are met. ``np.exp(x)``, ``np.maximum(x, 0)``
and friends reach us through NumPy's ``__array_ufunc__``/``__array_function__`` protocols;
``math.exp(x)``, ``max(a, b)`` and ``sbp.sigmoid(x)`` through shims put in place of those
names in a copy of the function's globals and closure (the function itself is not changed,
nothing is exec'd or eval'd, and no source code is needed: lambdas trace too).

Semantics are NumPy's exactly (``trace_numpy``): a parameter with shape ``(n,)`` is a 1-D
array, ``(n, 1)`` a column; broadcasting, ``*`` (element-wise), ``@``/``dot``/``inner``/``vdot``/
``outer`` and ``sum``/``mean`` with ``axis``/``keepdims`` give what NumPy gives, or are refused.
Anything data-dependent (an ``if`` on a traced value, a comparison, ``float(x)``, ``len``,
indexing) raises ``UnsupportedError``, as do ``math.*``, ``max()`` and ``min()`` of arrays
(on numbers they raise or compare whole arrays). ``d.check()`` then runs ``f`` itself on numbers
as the witness (``witness.py``).
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import math
import types
import weakref
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from . import trace_numpy as tn
from .builder import Builder, check_name
from .errors import UnsupportedError
from .functions import relu, sigmoid, softplus
from .rules import RULES
from .shapes import declared, tensor_dims
from .trace_numpy import Traced

# math / builtins / SymPy functions a traced function may call, by the primitive they mean
_FUNCS: dict[Any, str] = {
    math.exp: "exp", math.log: "log", math.sqrt: "sqrt", math.sin: "sin", math.cos: "cos",
    math.tan: "tan", math.tanh: "tanh", math.fabs: "abs", math.pow: "pow",
    math.atan2: "arctan2", sp.atan2: "arctan2",
    builtins.abs: "abs", builtins.max: "max", builtins.min: "min", builtins.pow: "pow",
    builtins.sum: "sum",
    sp.exp: "exp", sp.log: "log", sp.sqrt: "sqrt", sp.sin: "sin", sp.cos: "cos",
    sp.tan: "tan", sp.tanh: "tanh", sp.Abs: "abs", sp.Max: "max", sp.Min: "min",
    sigmoid: "sigmoid", relu: "relu", softplus: "softplus",
}
_UNARY = frozenset(n for n, r in RULES.items() if r.sympy is not None and r.arity == 1)

_ARRAY_OK = (builtins.abs, builtins.pow)  # the rest of _FUNCS work on numbers only

def _call(b: Builder, name: str, args: list[Any]) -> Traced:
    if name == "pow":
        if len(args) != 2:
            raise UnsupportedError("pow with a modulus")
        return tn.binary(b, "**", args[0], args[1])
    if name in ("max", "min", "arctan2"):
        return tn.binary(b, name, args[0], args[1])
    (x,) = args
    return tn.unary(b, name, x)


def _traced_in(args: tuple[Any, ...]) -> Builder | None:
    for a in args:
        if isinstance(a, Traced):
            return a.b
        if isinstance(a, (list, tuple)):
            found = _traced_in(tuple(a))
            if found is not None:
                return found
    return None


def _scalars_only(name: str, items: list[Any]) -> None:
    """math.* and max()/min() of arrays: NumPy raises there (or compares), so we refuse."""
    for it in items:
        if isinstance(it, Traced) and it.shape_:
            raise UnsupportedError(f"{name}() of an array of shape {tn._fmt(it.shape_)}: on "
                                   f"numbers it raises or compares whole arrays; use np.* "
                                   f"(np.maximum, np.exp, ...)")


def _shim(original: Any, name: str) -> Callable[..., Any]:
    """``original`` for plain numbers; the primitive ``name`` when handed a traced value."""

    def call(*args: Any, **kw: Any) -> Any:
        b = _traced_in(args)
        if b is None:
            return original(*args, **kw)
        if kw:
            raise UnsupportedError(f"{name}() with keyword arguments in a traced function")
        if name in ("max", "min", "sum"):
            if len(args) == 1 and isinstance(args[0], Traced):
                list(args[0])  # iterating over an array: refused by Traced
            items = list(args[0]) if len(args) == 1 else list(args)
            if not items:
                raise UnsupportedError(f"{name}() of nothing")
            if name == "sum" and len(args) == 1:
                acc: Any = items[0]
                for it in items[1:]:
                    acc = tn.binary(b, "+", acc, it)
                return acc
            if name == "sum":
                raise UnsupportedError("sum(iterable, start) in a traced function")
            _scalars_only(name, items)
            acc = items[0]
            for it in items[1:]:
                acc = _call(b, name, [acc, it])
            return acc
        if original not in _ARRAY_OK:
            mod = getattr(original, "__module__", None) or "math"
            _scalars_only(f"{mod}.{getattr(original, '__name__', name)}", list(args))
        if name == "log" and len(args) == 2:
            return tn.binary(b, "/", _call(b, "log", [args[0]]), _call(b, "log", [args[1]]))
        if name in _UNARY and len(args) != 1:
            raise UnsupportedError(f"{name}() takes one argument here, got {len(args)}")
        return _call(b, name, list(args))

    call.__name__ = getattr(original, "__name__", name)
    return call


class _MathShim(types.ModuleType):
    """``math`` as a traced function sees it: known functions shimmed, the rest as they are."""

    def __init__(self) -> None:
        super().__init__("math")
        for k in dir(math):
            v = getattr(math, k)
            setattr(self, k, _shim(v, _FUNCS[v]) if _hashable_in(v) else v)


def _hashable_in(v: Any) -> bool:
    try:
        return v in _FUNCS
    except TypeError:
        return False


def _replacement(v: Any, math_shim: _MathShim) -> Any:
    if v is math:
        return math_shim
    if _hashable_in(v):
        return _shim(v, _FUNCS[v])
    return v


def _with_shims(f: Callable[..., Any]) -> Callable[..., Any]:
    """A copy of ``f`` whose globals, builtins and closure see the shims; helper functions
    from the same module are copied onto the same shimmed globals."""
    if not isinstance(f, types.FunctionType):
        return f  # a builtin, a partial, a callable object: NumPy protocols still apply
    m = _MathShim()
    home = f.__globals__
    glob = {k: _replacement(v, m) for k, v in home.items()}
    base = home.get("__builtins__", builtins)
    names = base if isinstance(base, dict) else vars(base)
    glob["__builtins__"] = {k: _replacement(v, m) for k, v in names.items()}
    for k, v in list(glob.items()):
        if isinstance(v, types.FunctionType) and v.__globals__ is home and v is not f:
            glob[k] = _rebind(v, glob, v.__closure__)
    cells = None
    if f.__closure__:
        cells = []
        for c in f.__closure__:
            try:
                cells.append(types.CellType(_replacement(c.cell_contents, m)))
            except ValueError:  # an empty cell (a name assigned later)
                cells.append(c)
    return _rebind(f, glob, tuple(cells) if cells is not None else None)


def _rebind(f: types.FunctionType, glob: dict[str, Any], closure: Any) -> types.FunctionType:
    g = types.FunctionType(f.__code__, glob, f.__name__, f.__defaults__, closure)
    g.__kwdefaults__ = f.__kwdefaults__
    for attr in ("__signature__", "__wrapped__"):  # what inspect.signature reads first
        if attr in f.__dict__:
            setattr(g, attr, f.__dict__[attr])
    return g


def parameter_names(f: Callable[..., Any], given: Any = ()) -> list[str]:
    """The inputs of ``f``: its parameters without a default, and those with a default that
    ``given`` names (a value passed for it is an input, never silently the default)."""
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        raise UnsupportedError(f"cannot read the parameters of {f!r}") from None
    names = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise UnsupportedError(f"*{p.name} / **{p.name}: a traced function takes named "
                                   "parameters only")
        if p.default is not p.empty and p.name not in given:
            continue  # a parameter with a default is a constant, not an input
        names.append(check_name(p.name, "parameter name"))
    return names


def call(f: Callable[..., Any], values: Mapping[str, Any]) -> Any:
    """``f`` with ``values`` by name (positional-only parameters by position)."""
    args, kw = [], {}
    for p in inspect.signature(f).parameters.values():
        if p.name not in values:
            continue
        if p.kind is p.POSITIONAL_ONLY:
            args.append(values[p.name])
        else:
            kw[p.name] = values[p.name]
    return f(*args, **kw)


_TRACED: weakref.WeakKeyDictionary[Any, tuple[list[str], dict[str, tuple[int, ...]]]] = \
    weakref.WeakKeyDictionary()


def numpy_shapes(f: Callable[..., Any]) -> dict[str, tuple[int, ...]]:
    """The NumPy shapes ``f`` was last traced with, where they say more than the graph's
    (``(3,)`` is a 1-D array, ``(3, 1)`` a column; the graph has a column for both)."""
    try:
        return dict(_TRACED[f][1]) if f in _TRACED else {}
    except TypeError:
        return {}


def traced_parameters(f: Callable[..., Any]) -> list[str]:
    """The parameters ``f`` was last traced with as inputs."""
    try:
        if f in _TRACED:
            return list(_TRACED[f][0])
    except TypeError:
        pass
    return parameter_names(f)


def function_builder(f: Callable[..., Any], shapes: Mapping[str, Any] | None = None) -> Builder:
    """Trace ``f`` with one symbolic input per parameter (shapes from ``shapes``; a parameter
    with a default is an input when ``shapes`` names it)."""
    names = parameter_names(f, shapes or ())
    given = {k: declared(v) for k, v in (shapes or {}).items()}
    one_d: dict[str, tuple[int, ...]] = {k: (int(v[0]),) for k, v in given.items()
             if isinstance(v, tuple) and len(v) == 1 and isinstance(v[0], int | np.integer)}
    with contextlib.suppress(TypeError):  # not weakly referenceable: random values are columns
        _TRACED[f] = (names, one_d)
    b = Builder(shapes)
    tensors = [k for k, v in b.shapes.items() if tensor_dims(v) is not None]
    if tensors:
        raise UnsupportedError(f"a traced NumPy function takes scalars, vectors and matrices; "
                               f"{', '.join(tensors)} has rank 3 or more: write the function "
                               "in the text (conv2d, einsum, ... take tensors; docs/tensors.md)")
    args = {}
    for n in names:
        t = b.lookup(n)
        args[n] = Traced(b, t, (t.shape[0],) if n in one_d else None)
    b.order = tuple(a.term for a in args.values())  # generated code takes them in this order
    try:
        result = call(_with_shims(f), args)
    except RecursionError:
        raise UnsupportedError("the traced function recursed too deeply") from None
    except ValueError as e:  # NumPy's, for z[0] = x[0] of a traced x
        if "setting an array element with a sequence" not in str(e):
            raise
        raise UnsupportedError("assigning a traced value into a NumPy array (z[i] = x[i]): "
                               "build the array with np.stack, np.concatenate or np.where"
                               ) from None
    if isinstance(result, (tuple, list, dict)):
        raise UnsupportedError("the traced function must return one value, not a "
                               f"{type(result).__name__}")
    b.output = tn.traced(b, result).term
    return b
