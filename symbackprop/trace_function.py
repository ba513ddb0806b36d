"""Trace a plain Python function into a graph by calling it with symbolic stand-ins.

``function_builder(f, shapes)`` calls ``f`` once with a ``Traced`` value per parameter (a
SymPy symbol, or a MatrixSymbol for a name with a shape). Arithmetic on them (``+ - * / **
@``, unary minus, ``abs``, ``.T``) adds nodes to a ``Builder`` through ``ops``, so every
node stays shallow and shapes are checked as they are met. ``np.exp(x)``, ``np.maximum(x, 0)``
and friends reach us through NumPy's ``__array_ufunc__``/``__array_function__`` protocols;
``math.exp(x)``, ``max(a, b)`` and ``sbp.sigmoid(x)`` through shims put in place of those
names in a copy of the function's globals and closure (the function itself is not changed,
nothing is exec'd or eval'd, and no source code is needed: lambdas trace too).

Semantics follow NumPy, since the function is meant to run on arrays: ``*`` between two
matrices is the element-wise product, ``@`` the matrix product, and ``@``/``np.dot`` of two
vectors (1-D arrays, which arrive as columns) the inner product. Anything data-dependent (an
``if`` on a traced value, a comparison, ``float(x)``) raises ``UnsupportedError``.
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

from . import ops
from .errors import GraphError, UnsupportedError
from .functions import relu, sigmoid, softplus
from .graph import Builder, Term, check_name
from .rules import is_leaf, is_matrix

# math / builtins / SymPy functions a traced function may call, by the primitive they mean
_FUNCS: dict[Any, str] = {
    math.exp: "exp", math.log: "log", math.sqrt: "sqrt", math.sin: "sin", math.cos: "cos",
    math.tan: "tan", math.tanh: "tanh", math.fabs: "abs", math.pow: "pow",
    builtins.abs: "abs", builtins.max: "max", builtins.min: "min", builtins.pow: "pow",
    builtins.sum: "sum",
    sp.exp: "exp", sp.log: "log", sp.sqrt: "sqrt", sp.sin: "sin", sp.cos: "cos",
    sp.tan: "tan", sp.tanh: "tanh", sp.Abs: "abs", sp.Max: "max", sp.Min: "min",
    sigmoid: "sigmoid", relu: "relu", softplus: "softplus",
}
_UNARY = frozenset({"exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "abs", "sigmoid",
                    "relu", "softplus"})

# NumPy ufuncs and array functions, by name
_UFUNCS: dict[str, str] = {
    "exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "tanh": "tanh", "absolute": "abs", "fabs": "abs", "maximum": "max", "minimum": "min",
    "fmax": "max", "fmin": "min", "add": "+", "subtract": "-", "multiply": "*",
    "divide": "/", "true_divide": "/", "power": "**", "float_power": "**", "negative": "neg",
    "positive": "pos", "matmul": "@", "square": "square", "reciprocal": "reciprocal",
    "log1p": "log1p", "expm1": "expm1", "logaddexp": "logaddexp",
}
_ARRAY_FUNCS: dict[str, str] = {"sum": "sum", "mean": "mean", "transpose": "T", "dot": "@",
                                "matmul": "@", "inner": "@", "vdot": "@"}


class Traced:
    """A symbolic stand-in for one value of the traced function."""

    __slots__ = ("b", "term")
    __array_priority__ = 1000.0

    def __init__(self, b: Builder, term: Term) -> None:
        self.b = b
        self.term = term

    def __repr__(self) -> str:
        return f"Traced({self.term})"

    # arithmetic ---------------------------------------------------------------------------
    def __add__(self, o: Any) -> Traced:
        return _binary(self.b, "+", self, o)

    def __radd__(self, o: Any) -> Traced:
        return _binary(self.b, "+", o, self)

    def __sub__(self, o: Any) -> Traced:
        return _binary(self.b, "-", self, o)

    def __rsub__(self, o: Any) -> Traced:
        return _binary(self.b, "-", o, self)

    def __mul__(self, o: Any) -> Traced:
        return _binary(self.b, "*", self, o)

    def __rmul__(self, o: Any) -> Traced:
        return _binary(self.b, "*", o, self)

    def __truediv__(self, o: Any) -> Traced:
        return _binary(self.b, "/", self, o)

    def __rtruediv__(self, o: Any) -> Traced:
        return _binary(self.b, "/", o, self)

    def __pow__(self, o: Any) -> Traced:
        return _binary(self.b, "**", self, o)

    def __rpow__(self, o: Any) -> Traced:
        return _binary(self.b, "**", o, self)

    def __matmul__(self, o: Any) -> Traced:
        return _binary(self.b, "@", self, o)

    def __rmatmul__(self, o: Any) -> Traced:
        return _binary(self.b, "@", o, self)

    def __neg__(self) -> Traced:
        return Traced(self.b, ops.neg(self.b, self.term, "-x"))

    def __pos__(self) -> Traced:
        return self

    def __abs__(self) -> Traced:
        return _call(self.b, "abs", [self])

    @property
    def T(self) -> Traced:
        return Traced(self.b, ops.transpose(self.b, self.term, "x.T"))

    def sum(self) -> Traced:
        return _call(self.b, "sum", [self])

    def mean(self) -> Traced:
        size = sp.Mul(*self.term.shape) if is_matrix(self.term) else sp.S.One
        if not size.is_Integer:
            raise UnsupportedError(f"the mean over {size} entries: give numeric shapes")
        return _binary(self.b, "/", self.sum(), int(size))

    # what cannot be traced ----------------------------------------------------------------
    def __bool__(self) -> bool:
        raise UnsupportedError(
            "a traced value used as a condition (if/while/and/or on an argument): the gradient "
            "is traced once, symbolically; write np.maximum/np.minimum/abs instead of branches")

    def _compare(self, o: Any) -> Any:
        raise UnsupportedError(
            "a comparison of traced values: write np.maximum(a, b) or max(a, b) instead")

    __lt__ = __le__ = __gt__ = __ge__ = _compare

    def __float__(self) -> float:
        raise UnsupportedError(
            "float() of a traced value (a math function we do not know, or a conversion): "
            "use math.exp/log/sqrt/sin/cos/tan/tanh or their np.* forms")

    __int__ = __index__ = __complex__ = __float__  # type: ignore[assignment]

    def __array__(self, *a: Any, **k: Any) -> Any:
        raise UnsupportedError("a traced value turned into a NumPy array (np.asarray, "
                               "np.array or an unsupported NumPy function)")

    def _sympy_(self) -> sp.Basic:
        return self.term

    # NumPy protocols ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kw: Any) -> Any:
        name = getattr(ufunc, "__name__", str(ufunc))
        if method != "__call__" or kw or name not in _UFUNCS:
            raise UnsupportedError(f"np.{name}{'.' + method if method != '__call__' else ''}"
                                   f"{' with ' + ', '.join(kw) if kw else ''} has no rule")
        return _numpy(self.b, _UFUNCS[name], list(inputs))

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        name = getattr(func, "__name__", str(func))
        if name not in _ARRAY_FUNCS or kwargs or (name == "transpose" and len(args) > 1):
            raise UnsupportedError(f"np.{name}"
                                   f"{' with ' + ', '.join(kwargs) if kwargs else ''} has no rule")
        return _numpy(self.b, _ARRAY_FUNCS[name], list(args))


def _const(v: Any) -> sp.Basic:
    if isinstance(v, bool):
        raise UnsupportedError("a boolean in arithmetic")
    if isinstance(v, (int, np.integer)):
        return sp.Integer(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isfinite(f) and f == int(f) and abs(f) < 2**53:
            return sp.Integer(int(f))
        return sp.Float(f)
    if isinstance(v, np.ndarray):
        raise UnsupportedError(f"a NumPy array constant of shape {v.shape} inside the "
                               "function: pass it as an argument")
    raise UnsupportedError(f"a {type(v).__name__} in a traced function")


def _term(b: Builder, v: Any) -> Term:
    """A value met in the function: a traced value, a number, or a SymPy expression."""
    if isinstance(v, Traced):
        if v.b is not b:
            raise GraphError("a traced value from another trace")
        return v.term
    if isinstance(v, sp.Basic):
        return v if is_leaf(v) and v.is_Number else b.add_expr(v)
    return _const(v)


def _binary(b: Builder, op: str, x: Any, y: Any) -> Traced:
    tx, ty = _term(b, x), _term(b, y)
    where = f"a {op} b"
    if op == "+":
        t = ops.add(b, tx, ty, where)
    elif op == "-":
        t = ops.sub(b, tx, ty, where)
    elif op == "*":  # NumPy semantics: element-wise between two matrices
        both = is_matrix(tx) and is_matrix(ty)
        t = ops.hadamard(b, tx, ty, where) if both else ops.mul(b, tx, ty, where)
    elif op == "/":
        t = ops.div(b, tx, ty, where)
    elif op == "**":
        t = ops.power(b, tx, ty, where)
    elif _vectors(tx, ty):  # 1-D arrays arrive as columns; for them @ is the inner product
        t = ops.apply(b, "sum", [ops.hadamard(b, tx, ty, where)], where)
    else:
        t = ops.matmul(b, tx, ty, where)
    return Traced(b, t)


def _vectors(x: Term, y: Term) -> bool:
    return bool(is_matrix(x) and is_matrix(y) and x.shape == y.shape and x.shape[1] == 1
                and x.shape[0] != 1)


def _call(b: Builder, name: str, args: list[Any]) -> Traced:
    if name == "pow":
        if len(args) != 2:
            raise UnsupportedError("pow with a modulus")
        return _binary(b, "**", args[0], args[1])
    terms = [_term(b, a) for a in args]
    return Traced(b, ops.apply(b, name, terms, f"{name}(...)"))


def _numpy(b: Builder, name: str, args: list[Any]) -> Any:
    if name in ("+", "-", "*", "/", "**", "@"):
        return _binary(b, name, args[0], args[1])
    x = args[0]
    if name == "neg":
        return -_as_traced(b, x)
    if name == "pos":
        return x
    if name == "square":
        return _binary(b, "**", x, 2)
    if name == "reciprocal":
        return _binary(b, "/", 1, x)
    if name == "log1p":
        return _call(b, "log", [_binary(b, "+", 1, x)])
    if name == "expm1":
        return _binary(b, "-", _call(b, "exp", [x]), 1)
    if name == "logaddexp":
        return _call(b, "log", [_binary(b, "+", _call(b, "exp", [x]),
                                        _call(b, "exp", [args[1]]))])
    if name == "T":
        return _as_traced(b, x).T
    if name == "mean":
        return _as_traced(b, x).mean()
    if name in ("max", "min") and len(args) == 2:
        return _call(b, name, args)
    return _call(b, name, [x])


def _as_traced(b: Builder, x: Any) -> Traced:
    return x if isinstance(x, Traced) else Traced(b, _term(b, x))


def _traced_in(args: tuple[Any, ...]) -> Builder | None:
    for a in args:
        if isinstance(a, Traced):
            return a.b
        if isinstance(a, (list, tuple)):
            found = _traced_in(tuple(a))
            if found is not None:
                return found
    return None


def _shim(original: Any, name: str) -> Callable[..., Any]:
    """``original`` for plain numbers; the primitive ``name`` when handed a traced value."""

    def call(*args: Any, **kw: Any) -> Any:
        b = _traced_in(args)
        if b is None:
            return original(*args, **kw)
        if kw:
            raise UnsupportedError(f"{name}() with keyword arguments in a traced function")
        if name in ("max", "min", "sum"):
            items = list(args[0]) if len(args) == 1 else list(args)
            if not items:
                raise UnsupportedError(f"{name}() of nothing")
            if name == "sum" and len(args) == 1:
                acc: Any = items[0]
                for it in items[1:]:
                    acc = _binary(b, "+", acc, it)
                return acc
            if name == "sum":
                raise UnsupportedError("sum(iterable, start) in a traced function")
            acc = items[0]
            for it in items[1:]:
                acc = _call(b, name, [acc, it])
            return acc
        if name == "log" and len(args) == 2:
            return _binary(b, "/", _call(b, "log", [args[0]]), _call(b, "log", [args[1]]))
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
    return g


def parameter_names(f: Callable[..., Any]) -> list[str]:
    try:
        sig = inspect.signature(f)
    except (TypeError, ValueError):
        raise UnsupportedError(f"cannot read the parameters of {f!r}") from None
    names = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise UnsupportedError(f"*{p.name} / **{p.name}: a traced function takes named "
                                   "parameters only")
        if p.default is not p.empty:
            continue  # a parameter with a default is a constant, not an input
        names.append(check_name(p.name, "parameter name"))
    return names


_NUMPY_SHAPES: weakref.WeakKeyDictionary[Any, dict[str, tuple[int, ...]]] = \
    weakref.WeakKeyDictionary()


def numpy_shapes(f: Callable[..., Any]) -> dict[str, tuple[int, ...]]:
    """The NumPy shapes ``f`` was last traced with, where they say more than the graph's
    (``(3,)`` is a 1-D array, ``(3, 1)`` a column; the graph has a column for both)."""
    try:
        return dict(_NUMPY_SHAPES.get(f, {}))
    except TypeError:
        return {}


def function_builder(f: Callable[..., Any], shapes: Mapping[str, Any] | None = None) -> Builder:
    """Trace ``f`` with one symbolic input per parameter (shapes from ``shapes``)."""
    names = parameter_names(f)
    one_d: dict[str, tuple[int, ...]] = {k: (int(v[0]),) for k, v in (shapes or {}).items()
             if isinstance(v, tuple) and len(v) == 1 and isinstance(v[0], int | np.integer)}
    with contextlib.suppress(TypeError):  # not weakly referenceable: random values are columns
        _NUMPY_SHAPES[f] = one_d
    b = Builder(shapes)
    args = [Traced(b, b.lookup(n)) for n in names]
    try:
        result = _with_shims(f)(*args)
    except RecursionError:
        raise UnsupportedError("the traced function recursed too deeply") from None
    if isinstance(result, (tuple, list, dict)):
        raise UnsupportedError("the traced function must return one value, not a "
                               f"{type(result).__name__}")
    b.output = _term(b, result)
    return b
