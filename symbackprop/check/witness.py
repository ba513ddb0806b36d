"""The user's program as written, on numbers: the witness that shares no step with the graph.

``d.check()`` compares gradients against finite differences. When those differences were taken
of the decomposed graph, a graph that had already lost a term (a stage named ``pi`` read as π,
``t - (t - z)`` cancelled with its other paths, a generated ``v_1`` colliding with the user's)
agreed with itself and was reported ok. So the finite differences and a forward value are
taken of the *source* the user gave, evaluated here without the parser's ``Builder``, ``ops``,
SymPy or the rule table:

* text: Python's ``ast`` of the text, validated by the parser's own whitelist and limits
  (``parse._Parser.tree``), then walked with NumPy (semantics of README "What you can write");
* a Python function: the function itself, called on numbers;
* a SymPy expression: the expression as given (not its decomposition), with ``compile_expr``;
* a ``Graph``: its equations, one by one.

``loss=`` is applied here too (``mse`` = ½‖o − y‖², ``cross_entropy`` = −Σ y log softmax(o),
per column). No recursion on user-sized structures: the AST walk keeps its own stack.
"""

from __future__ import annotations

import contextlib
import inspect
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from ..algebra import is_matrix
from ..graph import Graph
from ..programs import compile_expr
from ..shapes import axes_of
from ..trace_function import call, numpy_shapes, parameter_names, traced_parameters
from .numpy_functions import LOSSES
from .source import Array, Runner, TextProgram, TextRunner, scalar_value

if TYPE_CHECKING:
    from ..derivation import Derivation


# ---------------------------------------------------------------------------------------
# NumPy forms written out here (not the rule table's): the witness must not share them


class FunctionRunner(Runner):
    """The user's Python function, called on numbers (``torch.autograd.gradcheck``'s witness)."""

    def __init__(self, f: Callable[..., Any], params: Mapping[str, str], loss: str | None,
                 y: str, arrays: dict[str, Array]) -> None:
        super().__init__(arrays)
        self.f, self.params, self.loss, self.y = f, dict(params), loss, y

    def run(self, changed: str | None = None) -> float:

        # copies: a function that writes into its arguments must not move the point
        kw = {p: (float(self.arrays[n]) if np.ndim(self.arrays[n]) == 0 else
                  self.arrays[n].copy()) for p, n in self.params.items()}
        out = call(self.f, kw)
        if self.loss is not None:
            out = LOSSES[self.loss](out, self.arrays[self.y])
        return scalar_value(out)


class ExprRunner(Runner):
    """SymPy expressions (the source expression, or a Graph's equations) with ``compile_expr``."""

    def __init__(self, equations: list[tuple[sp.Basic | None, sp.Basic]],
                 symbols: Mapping[sp.Basic, str], loss: str | None, y: str,
                 arrays: dict[str, Array]) -> None:

        super().__init__(arrays)
        self.programs = [(lhs, compile_expr(rhs)) for lhs, rhs in equations]
        self.symbols, self.loss, self.y = dict(symbols), loss, y

    def run(self, changed: str | None = None) -> float:
        env: dict[sp.Basic, Any] = {}
        for s, n in self.symbols.items():
            v = self.arrays[n]
            env[s] = float(v) if np.ndim(v) == 0 else v
            if is_matrix(s):  # a named dimension (n of 𝟏ₙ in a Hessian's gradient), by value
                for k, size in zip(axes_of(tuple(s.shape)), np.shape(v), strict=False):
                    if isinstance(k, sp.Symbol):
                        env[k] = size
        out: Any = None
        for lhs, prog in self.programs:
            out = prog(env)
            if lhs is not None:
                env[lhs] = out
        if self.loss is not None:
            out = LOSSES[self.loss](out, self.arrays[self.y])
        return scalar_value(out)


# ---------------------------------------------------------------------------------------
# The witness of a derivation


class Witness:
    """What a derivation was made from, ready to run on numbers.

    ``inputs``: the names (as the derivation spells them) the source reads; ``kind``: what it
    is, for messages ("the text as written", "your function", ...); ``runner(values)``: a
    ``Runner`` over float64 copies of ``values``.
    """

    def __init__(self, kind: str, inputs: tuple[str, ...],
                 make: Callable[[dict[str, Array]], Runner],
                 numpy_shapes: Mapping[str, tuple[int, ...]] | None = None) -> None:
        self.kind, self.inputs, self._make = kind, inputs, make
        self.numpy_shapes = dict(numpy_shapes or {})
        self.shapes: dict[str, Any] = {}  # declared shapes, for inputs the graph lost

    def runner(self, values: Mapping[str, Any], coerced: Mapping[str, Array]) -> Runner:
        """A runner over private copies: ``coerced`` (the engine's checked 2-D values) for a
        symbolic source; the values as given (1-D stays 1-D) for a Python function."""
        arrays: dict[str, Array] = {}
        for n in self.inputs:
            v = values[n] if self.kind == FUNCTION and n in values else coerced[n]
            arrays[n] = np.array(v, dtype=np.float64)
            shape = self.numpy_shapes.get(n)
            if self.kind == FUNCTION and n not in values and shape is not None \
                    and arrays[n].size == int(np.prod(shape)):
                arrays[n] = arrays[n].reshape(shape)
        return self._make(arrays)


TEXT, FUNCTION, EXPRESSION, GRAPH = ("the text as written", "your function",
                                     "the SymPy expression as given", "the graph's equations")


_CACHE: weakref.WeakKeyDictionary[Any, Witness | None] = weakref.WeakKeyDictionary()


def witness(d: Derivation) -> Witness | None:
    """The source's witness, or None when the derivation does not know its source (built
    once per derivation: re-reading the text was a tenth of a small check)."""
    try:
        if d in _CACHE:
            return _CACHE[d]
    except TypeError:  # not weakly referenceable
        pass
    w = _witness(d)
    if w is not None:
        names = dict(d.options.names) if d.options is not None else {}
        w.shapes = {names.get(k, k): v for k, v in d.graph.shapes.items()}
    with contextlib.suppress(TypeError):
        _CACHE[d] = w
    return w


def _witness(d: Derivation) -> Witness | None:

    src, loss = d.source, d.loss
    names = dict(d.options.names) if d.options is not None else {}

    def ren(n: str) -> str:
        return names.get(n, n)

    if isinstance(src, str):
        declared = set(d.graph.shapes)
        # where each named dimension can be read from the values: (input, axis)
        where = {str(k): (ren(str(s.name)), i) for s in d.inputs if is_matrix(s)
                 for i, k in enumerate(axes_of(tuple(s.shape))) if isinstance(k, sp.Symbol)}
        prog = TextProgram(src, loss, names, declared, reading=d.reading, dims=where)
        return Witness(TEXT, prog.inputs, lambda a: TextRunner(prog, a))
    if isinstance(src, Graph):
        eqs: list[tuple[sp.Basic | None, sp.Basic]] = [(e.lhs, e.rhs) for e in src.equations]
        syms = {s: ren(str(s.name)) for s in src.inputs}
        return _expr_witness(GRAPH, eqs, syms, loss, ren("y"))
    if isinstance(src, sp.Basic):
        dims = set()
        for m in src.atoms(sp.MatrixSymbol):
            # a dimension is already a SymPy object (MatrixSymbol made it one): no sympify
            dims |= {x for k in m.shape for x in getattr(k, "free_symbols", ())}
        atoms = [a for a in src.atoms(sp.Symbol, sp.MatrixSymbol) if a not in dims]
        syms = {s: ren(str(s.name)) for s in sorted(atoms, key=lambda a: str(a.name))}
        return _expr_witness(EXPRESSION, [(None, src)], syms, loss, ren("y"))
    if callable(src):


        # required parameters, and a defaulted one where this graph has it as an input
        graph = {str(v.name) for v in d.inputs}
        given = {p for p in inspect.signature(src).parameters if ren(p) in graph}
        params = {p: ren(p) for p in parameter_names(src, given)}
        shapes = numpy_shapes(src) if set(traced_parameters(src)) == set(params) else {}
        inputs = tuple(params.values()) + ((ren("y"),) if loss is not None else ())
        f, y = src, ren("y")
        return Witness(FUNCTION, inputs, lambda a: FunctionRunner(f, params, loss, y, a),
                       {params[k]: v for k, v in shapes.items() if k in params})
    return None


def _expr_witness(kind: str, eqs: list[tuple[sp.Basic | None, sp.Basic]],
                  syms: Mapping[sp.Basic, str], loss: str | None, y: str) -> Witness:
    inputs = tuple(dict.fromkeys([*syms.values(), *([y] if loss is not None else [])]))
    return Witness(kind, inputs, lambda a: ExprRunner(eqs, syms, loss, y, a))


__all__ = ["FUNCTION", "Runner", "Witness", "witness"]
