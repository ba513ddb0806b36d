"""A traced value of a NumPy function (``Traced``), the constants met in it, and NumPy's
operators, ufuncs and array functions on it, each dispatched to the module that holds its
meaning.

A ``Traced`` value carries its NumPy shape beside its graph term: ``()`` a scalar (a SymPy
scalar), ``(n,)`` a 1-D array (a column ``(n, 1)`` in the graph), ``(r, c)`` a matrix.
NumPy's arithmetic (broadcasting, the matmul family, sums and means along axes) is in
``trace_arrays``, its structural functions (indexing, concatenate, reshape, pad …) in
``trace_structural``, its linear algebra, extremes and spreads in ``trace_linalg``; all three
take and return ``(term, NumPy shape)`` values, wrapped here.

What cannot be reproduced exactly is refused with ``UnsupportedError`` naming the call or
construct (iteration, assignment, other keywords); a shape NumPy would reject is a
``ShapeError`` naming both shapes. Nothing here approximates.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import sympy as sp
from sympy import Identity, MatMul, OneMatrix, ZeroMatrix

from . import broadcasting, ops
from . import trace_arrays as arrays
from . import trace_linalg as linalg
from . import trace_structural as structural
from .algebra import is_matrix
from .builder import Builder, Term
from .canonical import is_leaf
from .composites import COMPOSITES
from .errors import GraphError, ShapeError, UnsupportedError
from .rules import RULES
from .shapes import shape_of

NpShape = tuple[Any, ...]

_ELEMENTWISE = frozenset({"+", "-", "*", "/", "**", "max", "min"})


class Traced:
    """A symbolic stand-in for one value of the traced function, with its NumPy shape."""

    __slots__ = ("b", "shape_", "term")
    __array_priority__ = 1000.0

    def __init__(self, b: Builder, term: Term, shape: NpShape | None = None) -> None:
        self.b = b
        self.term = term
        self.shape_ = tuple(term.shape) if shape is None and is_matrix(term) else (shape or ())

    def __repr__(self) -> str:
        return f"Traced({self.term}, shape={self.shape_})"

    @property
    def value(self) -> tuple[Term, NpShape]:
        """(term, NumPy shape), as ``trace_structural`` and ``trace_linalg`` take it."""
        return self.term, self.shape_

    # arithmetic ---------------------------------------------------------------------------
    def __add__(self, o: Any) -> Traced:
        return binary(self.b, "+", self, o)

    def __radd__(self, o: Any) -> Traced:
        return binary(self.b, "+", o, self)

    def __sub__(self, o: Any) -> Traced:
        return binary(self.b, "-", self, o)

    def __rsub__(self, o: Any) -> Traced:
        return binary(self.b, "-", o, self)

    def __mul__(self, o: Any) -> Traced:
        return binary(self.b, "*", self, o)

    def __rmul__(self, o: Any) -> Traced:
        return binary(self.b, "*", o, self)

    def __truediv__(self, o: Any) -> Traced:
        return binary(self.b, "/", self, o)

    def __rtruediv__(self, o: Any) -> Traced:
        return binary(self.b, "/", o, self)

    def __pow__(self, o: Any) -> Traced:
        return binary(self.b, "**", self, o)

    def __rpow__(self, o: Any) -> Traced:
        return binary(self.b, "**", o, self)

    def __matmul__(self, o: Any) -> Traced:
        return matmul(self.b, self, o, "@")

    def __rmatmul__(self, o: Any) -> Traced:
        return matmul(self.b, o, self, "@")

    def __neg__(self) -> Traced:
        return Traced(self.b, ops.neg(self.b, self.term, "-x"), self.shape_)

    def __pos__(self) -> Traced:
        return self

    def __abs__(self) -> Traced:
        return unary(self.b, "abs", self)

    @property
    def T(self) -> Traced:
        return transpose(self)

    def sum(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Traced:
        return reduce(self, "sum", axis, keepdims, kw)

    def mean(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Traced:
        return reduce(self, "mean", axis, keepdims, kw)

    def transpose(self, *axes: Any) -> Traced:
        if axes:
            raise UnsupportedError("x.transpose(axes) in a traced function: use x.T")
        return transpose(self)

    # what cannot be traced ----------------------------------------------------------------
    def __bool__(self) -> bool:
        raise UnsupportedError(
            "a traced value used as a condition (if/while/and/or on an argument): the gradient "
            "is traced once, symbolically; write np.maximum/np.minimum/abs instead of branches")

    # a comparison is NumPy's number 0 or 1 (for np.where(x > 0, x, 0.1 * x)); an ``if`` on
    # it is still a branch on a traced value (__bool__)
    def __lt__(self, o: Any) -> Traced:
        return binary(self.b, "<", self, o)

    def __le__(self, o: Any) -> Traced:
        return binary(self.b, "<=", self, o)

    def __gt__(self, o: Any) -> Traced:
        return binary(self.b, ">", self, o)

    def __ge__(self, o: Any) -> Traced:
        return binary(self.b, ">=", self, o)

    def __eq__(self, o: Any) -> Traced:  # type: ignore[override]
        """NumPy's == as its number 0 or 1: (a >= b) − (a > b); != is 1 minus it."""
        b = self.b
        return binary(b, "-", binary(b, ">=", self, o), binary(b, ">", self, o))

    def __ne__(self, o: Any) -> Traced:  # type: ignore[override]
        return binary(self.b, "-", 1, self.__eq__(o))

    __hash__ = object.__hash__  # an identity, as before == was defined

    def __float__(self) -> float:
        raise UnsupportedError(
            "float() of a traced value (a math function we do not know, or a conversion): "
            "use math.exp/log/sqrt/sin/cos/tan/tanh or their np.* forms")

    __int__ = __index__ = __complex__ = __float__  # type: ignore[assignment]

    def _whole(self, *a: Any) -> Any:
        raise UnsupportedError(
            "//, %, divmod, round, floor, ceil or trunc of a traced value: a step function, "
            "whose derivative is 0 where it has one; these have no rule")

    __floordiv__ = __rfloordiv__ = __mod__ = __rmod__ = __divmod__ = __rdivmod__ = _whole
    __round__ = __floor__ = __ceil__ = __trunc__ = _whole

    def __array__(self, *a: Any, **k: Any) -> Any:
        raise UnsupportedError(library_call("turned a traced value into a NumPy array") or
                               "a traced value turned into a NumPy array (np.asarray, "
                               "np.array or an unsupported NumPy function)")

    @property
    def shape(self) -> tuple[int, ...]:
        """NumPy's shape, as whole numbers (a dimension given by name is refused)."""
        if not all(getattr(d, "is_Integer", False) for d in self.shape_):
            raise UnsupportedError(f"the shape of a traced value with a named dimension "
                                   f"{_fmt(self.shape_)}: give numeric shapes")
        return tuple(int(d) for d in self.shape_)

    @property
    def ndim(self) -> int:
        return len(self.shape_)

    @property
    def size(self) -> int:
        out = 1
        for d in self.shape:
            out *= d
        return out

    def __len__(self) -> int:
        if not self.shape_:
            raise UnsupportedError("len() of a traced scalar (NumPy: len() of unsized object)")
        return self.shape[0]

    def __iter__(self) -> Any:
        raise UnsupportedError(library_call("iterated over a traced value") or
                               "iterating over a traced value (a for loop, unpacking, "
                               "sum() of an array): use np.sum or whole-array operations")

    def __getitem__(self, key: Any) -> Any:
        return Traced(self.b, *structural.index(self.b, (self.term, self.shape_), key))

    def reshape(self, *shape: Any, **kw: Any) -> Traced:
        if kw:
            raise UnsupportedError(f"x.reshape with {', '.join(kw)} (row by row is traced)")
        return _structural(self.b, "reshape", (self, shape[0] if len(shape) == 1 else shape))

    def flatten(self, order: str = "C") -> Traced:
        if order != "C":
            raise UnsupportedError(f"x.flatten/.ravel with order={order!r} (row by row, 'C', "
                                   "is traced)")
        return _structural(self.b, "reshape", (self, -1))

    ravel = flatten

    def __setitem__(self, key: Any, value: Any) -> None:
        raise UnsupportedError("assigning into a traced value (x[i] = ...)")

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # protocols probe these (SymPy's _op_priority, NumPy's)
            raise AttributeError(name)
        raise UnsupportedError(f"the attribute .{name} of a traced value has no rule "
                               "(the trace knows .T, .shape, .size, .ndim, .sum(), .mean(), "
                               ".max(), .min(), .prod(), .var(), .std(), .cumsum(), "
                               ".cumprod(), .reshape(), .flatten() and .ravel())")

    def _sympy_(self) -> sp.Basic:
        return self.term

    # NumPy protocols ----------------------------------------------------------------------
    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kw: Any) -> Any:
        return numpy_ufunc(self.b, ufunc, method, inputs, kw)

    def __array_function__(self, func: Any, types_: Any, args: Any, kwargs: Any) -> Any:
        return numpy_function(self.b, func, args, kwargs)


# what to write for a library function the trace cannot enter (scipy.special's, not ufuncs)
_INSTEAD = {"logsumexp": "np.log(np.sum(np.exp(x))), or the text's logsumexp(x)",
            "softmax": "np.exp(x) / np.sum(np.exp(x)), or the text's softmax(x)",
            "log_softmax": "x - np.log(np.sum(np.exp(x))), or the text's log_softmax(x)"}


def library_call(what: str) -> str | None:
    """The refusal naming the installed library's function (not NumPy's: scipy.special's
    logsumexp) that ``what`` (iterated over a traced value, ...) in the user's function,
    from the calling frames; None when the user's own code did (a for loop)."""
    frame: FrameType | None = sys._getframe(2)
    outer: tuple[str, str, str] | None = None
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        top = module.partition(".")[0]
        if top not in ("symbackprop", "numpy"):
            if not any(p in frame.f_code.co_filename for p in ("site-packages",
                                                              "dist-packages")):
                break
            if outer is not None and top != outer[0]:
                break
            outer = (top, module, frame.f_code.co_name)
        frame = frame.f_back
    if outer is None:
        return None
    public = ".".join(p for p in outer[1].split(".") if not p.startswith("_"))
    name = f"{public}.{outer[2]}"
    instead = _INSTEAD.get(outer[2], "its maths with NumPy's functions (np.exp, np.sum, "
                           "...), or in the text")
    return (f"{name} {what}: the trace follows NumPy's functions, not {outer[0]}'s; "
            f"write {instead}")


def _as_method(name: str) -> Callable[..., Any]:
    """``x.max(axis=1)`` as ``np.max(x, axis=1)``: through ``__array_function__``."""
    def method(self: Traced, *args: Any, **kw: Any) -> Any:
        import numpy as np

        return getattr(np, name)(self, *args, **kw)
    method.__name__ = name
    return method


for _name in ("max", "min", "prod", "var", "std", "cumsum", "cumprod"):
    setattr(Traced, _name, _as_method(_name))


# ---------------------------------------------------------------------------------------
# values met in the function


def _const(v: Any) -> sp.Basic:
    import math

    import numpy as np

    if isinstance(v, bool):
        raise UnsupportedError("a boolean in arithmetic")
    if isinstance(v, (int, np.integer)):
        return sp.Integer(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isfinite(f) and f == int(f) and abs(f) < 2**53:
            return sp.Integer(int(f))
        return sp.Float(f)
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return _const(v[()])
    raise UnsupportedError(f"a {type(v).__name__} in a traced function")


def _array(v: Any) -> tuple[sp.Basic, NpShape]:
    """A NumPy array made inside the function: one number throughout (np.zeros, np.ones,
    np.full) is c·𝟏, a multiple of the identity (np.eye) c·I; others are refused (the
    graph has no table of numbers: pass such an array as an argument)."""
    import numpy as np

    refused = UnsupportedError(f"a NumPy array constant of shape {v.shape} inside the "
                               "function that is not one number throughout or a multiple of "
                               "np.eye: pass it as an argument")
    if v.ndim > 2 or v.size == 0 or v.dtype.kind not in "iuf":
        raise refused
    a = v.astype(float).reshape(v.shape[0], -1)
    r, c = a.shape
    shape = (sp.Integer(r), sp.Integer(c))
    first = a[0, 0]
    if np.all(a == first):
        term: sp.Basic = ZeroMatrix(*shape) if first == 0 else OneMatrix(*shape) \
            if first == 1 else MatMul(_const(first), OneMatrix(*shape))
    elif r == c and np.all(a == first * np.eye(r)):
        term = Identity(r) if first == 1 else MatMul(_const(first), Identity(r))
    else:
        raise refused
    return term, tuple(sp.Integer(n) for n in v.shape)


def traced(b: Builder, v: Any) -> Traced:
    """A value met in the function as a ``Traced``: a traced value, a number, or SymPy."""
    if isinstance(v, Traced):
        if v.b is not b:
            raise GraphError("a traced value from another trace")
        return v
    if isinstance(v, sp.Basic):
        t = v if is_leaf(v) and v.is_Number else b.add_expr(v)
        return Traced(b, t)
    import numpy as np

    if isinstance(v, np.ndarray) and v.ndim:
        return Traced(b, *_array(v))
    return Traced(b, _const(v))


_fmt = arrays.fmt


# ---------------------------------------------------------------------------------------
# NumPy's arithmetic (``trace_arrays``) on values met in the function


def binary(b: Builder, op: str, x: Any, y: Any) -> Traced:
    """An element-wise operator or comparison with NumPy broadcasting."""
    return Traced(b, *arrays.binary(b, op, traced(b, x).value, traced(b, y).value))


def unary(b: Builder, name: str, x: Any) -> Traced:
    tx = traced(b, x)
    return Traced(b, ops.apply(b, name, [tx.term], f"{name}(...)"), tx.shape_)


def transpose(v: Traced) -> Traced:
    return Traced(v.b, *arrays.transpose(v.b, v.value))


def matmul(b: Builder, x: Any, y: Any, name: str) -> Traced:
    return Traced(b, *arrays.matmul(b, traced(b, x).value, traced(b, y).value, name))


def reduce(v: Traced, how: str, axis: Any, keepdims: Any, kw: dict[str, Any]) -> Traced:
    return Traced(v.b, *arrays.reduce(v.b, v.value, how, axis, keepdims, kw))


# ---------------------------------------------------------------------------------------
# NumPy's functions and ufuncs on traced values (``__array_ufunc__``, ``__array_function__``)

# NumPy ufuncs, by the primitive or operator they mean
_UFUNCS: dict[str, str] = {
    "exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "tanh": "tanh", "absolute": "abs", "fabs": "abs", "maximum": "max", "minimum": "min",
    "fmax": "max", "fmin": "min", "add": "+", "subtract": "-", "multiply": "*",
    "divide": "/", "true_divide": "/", "power": "**", "float_power": "**", "negative": "neg",
    "positive": "pos", "matmul": "@", "square": "square", "reciprocal": "reciprocal",
    "arctan2": "arctan2", "greater": ">", "less": "<", "greater_equal": ">=",
    "less_equal": "<=",  # np.float64(0.5) > a: NumPy's scalar on the left calls the ufunc
}
# and every element-wise primitive of the table spelled np.<name> (np.arcsin, np.sinh, …)
_UFUNCS.update({r.code[3:]: n for n, r in RULES.items()
                if r.sympy is not None and r.arity == 1 and r.code.startswith("np.")
                and r.code[3:] not in _UFUNCS})
# scipy.special's ufuncs, by the text's function they are (reached through
# ``__array_ufunc__`` as NumPy's are; told apart by identity with scipy.special's own)
_SPECIAL: dict[str, str] = {
    "expit": "sigmoid", "erf": "erf", "erfc": "erfc", "erfinv": "erfinv",
    "gammaln": "gammaln", "psi": "digamma", "i0e": "i0e", "i1e": "i1e", "logit": "logit",
    "log_expit": "logsigmoid", "xlogy": "xlogy",
}
# NumPy array functions (not ufuncs) that are element-wise in the text (composites or not)
_ELEMENTWISE_FUNCTIONS = frozenset({"clip", "where", "sinc"})
# NumPy array functions: (positional parameter names after the array, keywords allowed)
_REDUCE_ARGS = ("axis", "dtype", "out", "keepdims")


def numpy_ufunc(b: Builder, ufunc: Any, method: str, inputs: tuple[Any, ...],
                kw: dict[str, Any]) -> Any:
    """``np.exp(x)``, ``np.maximum(W, x)``, ``x + y`` … reached through ``__array_ufunc__``."""
    name = getattr(ufunc, "__name__", str(ufunc))
    special = sys.modules.get("scipy.special")
    if special is not None and getattr(special, name, None) is ufunc:
        if method != "__call__" or kw or name not in _SPECIAL:
            raise UnsupportedError(f"scipy.special.{name}"
                                   f"{'.' + method if method != '__call__' else ''}"
                                   f"{' with ' + ', '.join(kw) if kw else ''} has no rule "
                                   f"(the ones that do: {', '.join(sorted(_SPECIAL))})")
        text = _SPECIAL[name]
        if text in COMPOSITES:
            return composite(b, text, inputs)
        return unary(b, text, inputs[0])
    if method == "__call__" and not kw and name not in _UFUNCS and name in COMPOSITES \
            and COMPOSITES[name][0] == len(inputs):
        return composite(b, name, inputs)
    if method != "__call__" or kw or name not in _UFUNCS:
        raise UnsupportedError(f"np.{name}{'.' + method if method != '__call__' else ''}"
                               f"{' with ' + ', '.join(kw) if kw else ''} has no rule")
    op, args = _UFUNCS[name], list(inputs)
    if op == "@":
        return matmul(b, args[0], args[1], "np.matmul")
    if op in ("+", "-", "*", "/", "**", "max", "min", "arctan2", ">", "<", ">=", "<="):
        return binary(b, op, args[0], args[1])
    x = traced(b, args[0])
    if op == "neg":
        return -x
    if op == "pos":
        return x
    if op == "square":
        return binary(b, "**", x, 2)
    if op == "reciprocal":
        return binary(b, "/", 1, x)
    return unary(b, op, x)


def composite(b: Builder, name: str, inputs: tuple[Any, ...] | list[Any]) -> Traced:
    """A NumPy function the text writes out in primitives (``composites.py``: np.log1p,
    np.hypot, …) or a primitive of several operands (np.where, np.clip), with NumPy's
    broadcasting: the operands' shapes meet by NumPy's rule (trailing axes line up, so a 1-D
    operand beside a matrix is a row; size-1 axes spread) and each operand is spread to that
    shape first (a scalar stays a scalar), so the written-out function only ever meets
    operands of one shape. Shapes NumPy refuses are a ``ShapeError``."""
    xs = [traced(b, a) for a in inputs]
    where = f"np.{name}(...)"
    shape: NpShape = ()
    try:
        for x in xs:
            shape = arrays.broadcast_shape(shape, x.shape_, where)
    except ShapeError:
        raise ShapeError(f"np.{name} of operands shaped {', '.join(_fmt(x.shape_) for x in xs)}"
                         ": they do not broadcast (NumPy lines up the last axes)") from None
    terms = [arrays.spread(b, x.value, shape) for x in xs]
    term = (COMPOSITES[name][1](b, *terms, where=where) if name in COMPOSITES
            else ops.apply(b, name, terms, where))  # a primitive: np.where
    return Traced(b, term, shape)


_STRUCTURAL = ("concatenate", "stack", "vstack", "hstack", "reshape", "ravel", "kron", "tile",
               "repeat", "pad")


def _structural(b: Builder, name: str, args: tuple[Any, ...],
                kwargs: dict[str, Any] | None = None) -> Traced:
    """``np.concatenate``, ``np.reshape``, ``np.pad`` …: NumPy's signature read here, the
    operation built by ``trace_structural``."""
    kw = dict(kwargs or {})

    def value(v: Any) -> tuple[Term, NpShape]:
        return traced(b, v).value

    def arg(i: int, key: str, default: Any = None) -> Any:
        return args[i] if len(args) > i else kw.pop(key, default)

    if name in ("concatenate", "stack", "vstack", "hstack"):
        items = [value(v) for v in args[0]]
        if name in ("concatenate", "stack"):
            axis = arg(1, "axis", 0)
            out = (structural.concatenate if name == "concatenate" else structural.stack)(
                b, items, axis)
        else:
            out = (structural.vstack if name == "vstack" else structural.hstack)(b, items)
    elif name in ("reshape", "ravel"):
        shape = -1 if name == "ravel" else arg(1, "newshape", kw.pop("shape", None))
        if kw.pop("order", "C") != "C":
            raise UnsupportedError(f"np.{name} with an order other than 'C'")
        out = structural.reshape(b, value(args[0]), shape)
    elif name == "kron":
        out = structural.kron(b, value(args[0]), value(args[1]))
    elif name == "tile":
        out = structural.tile(b, value(args[0]), arg(1, "reps"))
    elif name == "repeat":
        out = structural.repeat(b, value(args[0]), arg(1, "repeats"), arg(2, "axis"))
    else:
        out = structural.pad(b, value(args[0]), arg(1, "pad_width"), kw)
    if kw and name != "pad":
        raise UnsupportedError(f"np.{name} with {', '.join(kw)} has no rule")
    return Traced(b, *out)


def _linalg(b: Builder, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """np.linalg's functions, np.trace, np.max, np.var … (``trace_linalg``): NumPy's
    positional parameters read by name, keywords left at None dropped, others refused."""
    count, allowed, run = linalg.FUNCTIONS[name]
    extra = linalg.POSITIONAL.get(name, ())
    if len(args) > count + len(extra):
        raise UnsupportedError(f"np.{name} with {len(args)} arguments has no rule")
    kw = dict(zip(extra, args[count:], strict=False)) | dict(kwargs)
    kw = {k: v for k, v in kw.items() if v is not None or k not in ("out", "dtype")}
    if set(kw) - allowed:
        raise UnsupportedError(f"np.{name} with {', '.join(sorted(set(kw) - allowed))} "
                               "has no rule")
    out = run(b, [traced(b, a).value for a in args[:count]], kw)
    if isinstance(out[0], tuple):  # slogdet: (sign, log |det|)
        return tuple(Traced(b, *v) for v in out)
    return Traced(b, *out)


def numpy_function(b: Builder, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                   ) -> Any:
    """``np.sum(W, 0)``, ``np.dot(a, b)``, ``np.inner`` … reached through
    ``__array_function__``: NumPy's meaning exactly, or ``UnsupportedError`` naming the call."""
    name = getattr(func, "__name__", str(func))
    if name in ("sum", "mean", "prod"):
        if len(args) > len(_REDUCE_ARGS) + 1:
            raise UnsupportedError(f"np.{name} with {len(args)} arguments has no rule")
        kw = dict(zip(_REDUCE_ARGS, args[1:], strict=False)) | dict(kwargs)
        for k in ("dtype", "out"):
            if kw.get(k, None) is None:
                kw.pop(k, None)
        axis, keepdims = kw.pop("axis", None), kw.pop("keepdims", False)
        return reduce(traced(b, args[0]), name, axis, keepdims, kw)
    if name in ("zeros_like", "ones_like", "full_like") and not kwargs and \
            len(args) == 1 + (name == "full_like"):
        v = traced(b, args[0])  # a constant of its shape: np.maximum(x, np.zeros_like(x))
        c = _const(args[1]) if name == "full_like" else sp.Integer(name == "ones_like")
        if not v.shape_:
            return Traced(b, c)
        shape = shape_of(v.term)
        assert shape is not None  # a traced array's term is a matrix
        return Traced(b, broadcasting.broadcast(b, c, shape), v.shape_)
    if name in arrays.PRODUCTS and len(args) == 2 and not kwargs:
        return Traced(b, *arrays.PRODUCTS[name](b, traced(b, args[0]).value,
                                                traced(b, args[1]).value))
    if name == "transpose" and len(args) == 1 and not kwargs:
        return transpose(traced(b, args[0]))
    if name in ("cumsum", "cumprod", "flip") and len(args) <= 2 and set(kwargs) <= {"axis"}:
        axis = kwargs.get("axis", args[1] if len(args) > 1 else None)
        return Traced(b, *arrays.scan(b, name, traced(b, args[0]).value, axis))
    if name in _STRUCTURAL:
        return _structural(b, name, args, dict(kwargs))
    if name in _ELEMENTWISE_FUNCTIONS and not kwargs and len(args) == (
            COMPOSITES[name][0] if name in COMPOSITES else RULES[name].arity):
        return composite(b, name, args)  # np.clip(x, lo, hi), np.where(c, x, y), np.sinc(x)
    if name in linalg.FUNCTIONS:
        return _linalg(b, name, args, kwargs)
    extra = f" with {', '.join(kwargs)}" if kwargs else ""
    raise UnsupportedError(f"np.{name}{extra} has no rule")
