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

import ast
import contextlib
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .errors import UnsupportedError

if TYPE_CHECKING:
    from .derive import Derivation

Array = Any


# ---------------------------------------------------------------------------------------
# NumPy forms written out here (not the rule table's): the witness must not share them


def _log_softmax(o: Array) -> Array:
    o = np.asarray(o, dtype=float)
    m = np.max(o, axis=0, keepdims=True)
    s = o - m
    return s - np.log(np.sum(np.exp(s), axis=0, keepdims=True))


def _sigmoid(x: Array) -> Array:
    """1 / (1 + e^{-x}); e^{-x} overflows to inf below x = −709, where σ is 0 to 1e-308."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _mse(o: Array, y: Array) -> float:
    return 0.5 * float(np.sum((np.asarray(o) - np.asarray(y).reshape(np.shape(o))) ** 2))


def _cross_entropy(o: Array, y: Array) -> float:
    return -float(np.sum(np.asarray(y).reshape(np.shape(o)) * _log_softmax(o)))


def _transpose(a: Array) -> Array:
    return np.transpose(a) if np.ndim(a) == 2 else a


FUNCS: dict[str, Callable[..., Array]] = {
    "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin,
    "cos": np.cos, "tan": np.tan, "tanh": np.tanh, "sigmoid": _sigmoid,
    "relu": lambda x: np.maximum(x, 0.0), "softplus": lambda x: np.logaddexp(0.0, x),
    "max": np.maximum, "min": np.minimum, "softmax": lambda x: np.exp(_log_softmax(x)),
    "sum": lambda x: np.sum(x) if np.ndim(x) else x, "transpose": _transpose,
    "mse": _mse, "cross_entropy": _cross_entropy,
    "sqnorm": lambda x: np.sum(np.square(x)), "hadamard": np.multiply,
    "trace": lambda x: np.trace(x) if np.ndim(x) == 2 else x,
}
LOSSES: dict[str, Callable[[Array, Array], float]] = {"mse": _mse,
                                                       "cross_entropy": _cross_entropy}


def _times(a: Array, b: Array) -> Array:
    """``*`` of the text: the matrix product between two matrices, else element-wise."""
    return a @ b if np.ndim(a) == 2 and np.ndim(b) == 2 else np.multiply(a, b)


_BINOPS: dict[type, Callable[[Array, Array], Array]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: _times, ast.Div: np.divide,
    ast.Pow: np.power, ast.MatMult: np.matmul, ast.Mod: np.multiply,
}


def _math_power(x: Array, k: Array) -> Array:
    """``X^k`` as mathematics reads it: of a square matrix (not a vector) the matrix power."""
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[0] == x.shape[1] > 1:
        return np.linalg.matrix_power(x, int(k))
    return np.power(x, k)


def _scalar(v: Array) -> float:
    a = np.asarray(v, dtype=float)
    if a.size != 1:
        raise UnsupportedError(f"the source's value has shape {a.shape}, not a number")
    return float(a.reshape(()))


# ---------------------------------------------------------------------------------------
# Runners: the source over arrays that finite differences perturb in place


class Runner:
    """The source at ``arrays`` (name → float64 array, 0-d for scalars, writable).

    ``run(changed)`` is the source's value; ``changed`` names the one input perturbed since
    the last run, so a runner may re-use what does not depend on it.
    """

    def __init__(self, arrays: dict[str, Array]) -> None:
        self.arrays = arrays

    def array(self, name: str) -> Array:
        return self.arrays[name]

    def run(self, changed: str | None = None) -> float:
        raise NotImplementedError


Tape = list[tuple[Callable[..., Array], tuple[int, ...], frozenset[str]]]


class TextRunner(Runner):
    """Runs the text's tapes; after a first full run, a run for ``changed`` recomputes only
    the entries that depend on it (finite differences in one input cost that input's part),
    and a chain ``a * b * c …`` with one such operand is its neighbours' partial results
    times the new operand (a product of 990 factors: O(1) a run, not O(990))."""

    def __init__(self, program: TextProgram, arrays: dict[str, Array]) -> None:
        super().__init__(arrays)
        self.program = program
        self.values: list[list[Array] | None] = [None] * len(program.stages)
        self.plans: dict[str, list[list[tuple[int, list[int]]]]] = {}
        self.sides: dict[tuple[int, int], tuple[list[Array], list[Array]]] = {}
        self.base: dict[str, Array] = {}  # the inputs when ``sides`` were computed
        self.moved: set[str] = set()  # inputs that differ from ``base`` now

    def _at_base_but(self, changed: str) -> bool:
        """Whether every input other than ``changed`` holds its value of the full run."""
        arrays = self.arrays
        for n in [*self.moved, changed]:
            if np.array_equal(arrays[n], self.base[n]):
                self.moved.discard(n)
            else:
                self.moved.add(n)
        return self.moved <= {changed}

    def run(self, changed: str | None = None) -> float:
        env: dict[str, Array] = {}
        p, arrays = self.program, self.arrays
        plan = None
        if changed is not None and all(v is not None for v in self.values):
            plan = self.plans.get(changed)
            if plan is None:
                plan = self.plans[changed] = [
                    [(i, [m for m, j in enumerate(e[1]) if changed in tape[j][2]])
                     for i, e in enumerate(tape) if changed in e[2]] for _, tape, _ in p.stages]
        if plan is None:
            self.sides.clear()
            self.base = {n: np.array(a, copy=True) for n, a in arrays.items()}
            self.moved = set()
        fast = plan is not None and self._at_base_but(changed or "")
        for k, (name, tape, _) in enumerate(p.stages):
            vals = self.values[k]
            if plan is None or vals is None:
                vals = self.values[k] = []
                for i, (fn, args, _) in enumerate(tape):
                    if isinstance(fn, Chain):
                        left, right = fn.sides([vals[j] for j in args])
                        self.sides[k, i] = (left, right)
                        vals.append(left[-1])
                    else:
                        vals.append(fn(*[vals[j] for j in args]) if args else fn(env, arrays))
            else:
                for i, moving in plan[k]:
                    fn, args, _ = tape[i]
                    if fast and isinstance(fn, Chain) and len(moving) == 1:
                        m = moving[0]
                        vals[i] = fn.one(m, vals[args[m]], *self.sides[k, i])
                    else:
                        vals[i] = fn(*[vals[j] for j in args]) if args else fn(env, arrays)
            if name is not None:
                env[name] = vals[-1]
        last = self.values[-1]
        assert last is not None
        out = last[-1]
        if p.loss is not None:
            out = LOSSES[p.loss](out, arrays[p.rename("y")])
        return _scalar(out)


class TextProgram:
    """The text's stages as ``(name, expression node, inputs it depends on)``."""

    def __init__(self, text: str, loss: str | None, names: Mapping[str, str],
                 declared: set[str], limits: Any = None, reading: Any = None) -> None:
        from .graph import Builder
        from .parse import FUNCTIONS, Limits, _Parser

        accepted = Limits(max_length=2**62, max_depth=2**62, max_nodes=2**62,
                           max_int_bits=2**62, max_exponent=2**62, max_name_length=2**62)

        # the parser's whitelist; derive() applied the caller's limits to this text already
        parser = _Parser(text, Builder(), limits or accepted, reading=reading)
        tree = parser.tree()
        self.parser = parser  # which ** are powers as mathematics reads them
        self.loss, self.names = loss, dict(names)
        self.functions = frozenset(FUNCTIONS)
        stages: list[tuple[str | None, ast.expr, frozenset[str]]] = []
        self.constants: set[int] = set()  # ids of Name nodes that mean π
        self.stages: list[tuple[str | None, Tape, frozenset[str]]] = []
        stage_deps: dict[str, frozenset[str]] = {}
        inputs: dict[str, None] = {}
        for stmt in tree.body:
            node: ast.expr
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                name: str | None = stmt.targets[0].id
                node = stmt.value
            elif isinstance(stmt, ast.Expr):
                name, node = None, stmt.value
            else:  # pragma: no cover - the parser accepted the text
                raise UnsupportedError(f"a statement {type(stmt).__name__} in the text")
            deps: frozenset[str] = frozenset()
            for n in ast.walk(node):
                if not isinstance(n, ast.Name) or n.id in self.functions:
                    continue
                if n.id in stage_deps:
                    deps |= stage_deps[n.id]
                elif n.id == "pi" and "pi" not in declared:
                    self.constants.add(id(n))
                else:
                    inputs.setdefault(self.rename(n.id), None)
                    deps |= {self.rename(n.id)}
            if name is not None:
                stage_deps[name] = deps
            stages.append((name, node, deps))
        # only what the output reads: a stage nobody uses is no part of the function
        live: set[str] = set()
        keep = []
        for k in range(len(stages) - 1, -1, -1):
            name, node, deps = stages[k]
            if k == len(stages) - 1 or name in live:
                keep.append((name, self.compile(node, stage_deps), deps))
                live |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
        self.stages = keep[::-1]
        used = self.stages[-1][2] if self.stages else frozenset()
        self.inputs = tuple(n for n in inputs if n in used)
        if loss is not None and self.rename("y") not in self.inputs:
            self.inputs += (self.rename("y"),)

    def rename(self, name: str) -> str:
        return self.names.get(name, name)

    def compile(self, root: ast.AST, stage_deps: Mapping[str, frozenset[str]]) -> Tape:
        """The expression as a tape, post-order with an explicit stack (any depth, no
        recursion): a leaf reads ``(env, arrays)``, an operation the values at ``args``; each
        entry with the inputs it depends on. A chain ``a + b - c ...`` is one entry, summed
        left to right as Python would."""
        tape: Tape = []
        at: dict[int, int] = {}
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            chain, kids = _chain(node)
            if not ready and kids:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(kids))
                continue
            at[id(node)] = len(tape)
            args = tuple(at[id(c)] for c in kids)
            if kids:
                deps = frozenset().union(*(tape[i][2] for i in args))
                fn = chain or self._op(node)
                tape.append((fn, args, deps))
            else:
                tape.append((self._leaf(node), (), self._leaf_deps(node, stage_deps)))
        return tape

    def _leaf_deps(self, node: ast.AST, stage_deps: Mapping[str, frozenset[str]],
                   ) -> frozenset[str]:
        if not isinstance(node, ast.Name) or id(node) in self.constants:
            return frozenset()
        if node.id in stage_deps:
            return stage_deps[node.id]
        return frozenset({self.rename(node.id)})

    def _leaf(self, node: ast.AST) -> Callable[..., Array]:
        if isinstance(node, ast.Name):
            name, renamed = node.id, self.rename(node.id)
            if id(node) in self.constants:
                return lambda env, arrays: np.pi
            return lambda env, arrays: env[name] if name in env else arrays[renamed]
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            value = float(node.value)
            return lambda env, arrays: value
        raise UnsupportedError(f"{type(node).__name__} in the text")  # pragma: no cover

    def _op(self, node: ast.AST) -> Callable[..., Array]:
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow) and self.parser.paper_power(node):
                return _math_power
            return _BINOPS[type(node.op)]
        if isinstance(node, ast.UnaryOp):
            return np.negative if isinstance(node.op, ast.USub) else _same
        if isinstance(node, ast.Attribute):
            return _transpose
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return FUNCS[node.func.id]
        raise UnsupportedError(f"{type(node).__name__} in the text")  # pragma: no cover


def _chain(node: ast.AST) -> tuple[Chain | None, list[ast.AST]]:
    """``a + b - c …`` or ``a * b * c …`` (a left spine of one kind of operator) as a chain
    and its operands; else no chain and the node's children."""
    kinds = (ast.Add, ast.Sub) if isinstance(getattr(node, "op", None), ast.Add | ast.Sub) \
        else (ast.Mult,)
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, kinds)):
        return None, _children(node)
    signs: list[int] = []
    operands: list[ast.AST] = []
    cur: ast.AST = node
    while isinstance(cur, ast.BinOp) and isinstance(cur.op, kinds):
        signs.append(-1 if isinstance(cur.op, ast.Sub) else 1)
        operands.append(cur.right)
        cur = cur.left
    signs.append(1)
    operands.append(cur)
    return Chain(tuple(signs[::-1]), kinds == (ast.Mult,)), operands[::-1]


class Chain:
    """A chain as one tape entry: summed (or multiplied: ``*`` of the text) left to right as
    Python would. ``sides`` also keeps the partial results left and right of each operand,
    from which ``one`` recomputes the chain when a single operand changed."""

    def __init__(self, signs: tuple[int, ...], product: bool) -> None:
        self.signs, self.product = signs, product

    def _term(self, m: int, x: Array) -> Array:
        return x if self.product or self.signs[m] > 0 else np.negative(x)

    def _join(self, a: Array, b: Array) -> Array:
        return _times(a, b) if self.product else a + b

    def __call__(self, *xs: Array) -> Array:
        acc = xs[0]
        for m in range(1, len(xs)):
            if self.product:
                acc = _times(acc, xs[m])
            else:
                acc = acc + xs[m] if self.signs[m] > 0 else acc - xs[m]
        return acc

    def sides(self, xs: list[Array]) -> tuple[list[Array], list[Array]]:
        """The value left to right (``left[-1]`` is the chain), and the joins from the
        right (``right[m]``: operands m … last)."""
        left = [xs[0]]
        for m in range(1, len(xs)):
            left.append(self(left[-1], xs[m]) if self.product else
                        (left[-1] + xs[m] if self.signs[m] > 0 else left[-1] - xs[m]))
        right = [self._term(len(xs) - 1, xs[-1])]
        for m in range(len(xs) - 2, -1, -1):
            right.append(self._join(self._term(m, xs[m]), right[-1]))
        return left, right[::-1]

    def one(self, m: int, x: Array, left: list[Array], right: list[Array]) -> Array:
        """The chain with operand ``m`` now ``x`` and the others as ``sides`` saw them."""
        v = self._term(m, x)
        if m > 0:
            v = self._join(left[m - 1], v)
        if m + 1 < len(right):
            v = self._join(v, right[m + 1])
        return v


def _same(a: Array) -> Array:
    return a


def _children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        return list(node.args)
    if isinstance(node, ast.Attribute):
        return [node.value]
    return []


class FunctionRunner(Runner):
    """The user's Python function, called on numbers (``torch.autograd.gradcheck``'s witness)."""

    def __init__(self, f: Callable[..., Any], params: Mapping[str, str], loss: str | None,
                 y: str, arrays: dict[str, Array]) -> None:
        super().__init__(arrays)
        self.f, self.params, self.loss, self.y = f, dict(params), loss, y

    def run(self, changed: str | None = None) -> float:
        from .trace_function import call

        # copies: a function that writes into its arguments must not move the point
        kw = {p: (float(self.arrays[n]) if np.ndim(self.arrays[n]) == 0 else
                  self.arrays[n].copy()) for p, n in self.params.items()}
        out = call(self.f, kw)
        if self.loss is not None:
            out = LOSSES[self.loss](out, self.arrays[self.y])
        return _scalar(out)


class ExprRunner(Runner):
    """SymPy expressions (the source expression, or a Graph's equations) with ``compile_expr``."""

    def __init__(self, equations: list[tuple[sp.Basic | None, sp.Basic]],
                 symbols: Mapping[sp.Basic, str], loss: str | None, y: str,
                 arrays: dict[str, Array]) -> None:
        from .evaluate import compile_expr

        super().__init__(arrays)
        self.programs = [(lhs, compile_expr(rhs)) for lhs, rhs in equations]
        self.symbols, self.loss, self.y = dict(symbols), loss, y

    def run(self, changed: str | None = None) -> float:
        env: dict[sp.Basic, Any] = {}
        for s, n in self.symbols.items():
            v = self.arrays[n]
            env[s] = float(v) if np.ndim(v) == 0 else v
        out: Any = None
        for lhs, prog in self.programs:
            out = prog(env)
            if lhs is not None:
                env[lhs] = out
        if self.loss is not None:
            out = LOSSES[self.loss](out, self.arrays[self.y])
        return _scalar(out)


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
    from .graph import Graph

    src, loss = d.source, d.loss
    names = dict(d.options.names) if d.options is not None else {}

    def ren(n: str) -> str:
        return names.get(n, n)

    if isinstance(src, str):
        declared = set(d.graph.shapes)
        prog = TextProgram(src, loss, names, declared, reading=d.reading)
        return Witness(TEXT, prog.inputs, lambda a: TextRunner(prog, a))
    if isinstance(src, Graph):
        eqs: list[tuple[sp.Basic | None, sp.Basic]] = [(e.lhs, e.rhs) for e in src.equations]
        syms = {s: ren(str(s.name)) for s in src.inputs}
        return _expr_witness(GRAPH, eqs, syms, loss, ren("y"))
    if isinstance(src, sp.Basic):
        dims = set()
        for m in src.atoms(sp.MatrixSymbol):
            dims |= {x for k in m.shape for x in sp.sympify(k).free_symbols}
        atoms = [a for a in src.atoms(sp.Symbol, sp.MatrixSymbol) if a not in dims]
        syms = {s: ren(str(s.name)) for s in sorted(atoms, key=lambda a: str(a.name))}
        return _expr_witness(EXPRESSION, [(None, src)], syms, loss, ren("y"))
    if callable(src):
        import inspect

        from .trace_function import numpy_shapes, parameter_names, traced_parameters

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
