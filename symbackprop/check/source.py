"""Running the source on numbers: the base ``Runner`` that finite differences drive, and the
text's own interpreter (Python's ``ast`` of the text, validated by the parser's whitelist and
limits, walked with NumPy under the semantics of README "What you can write"; its functions
are NumPy's, written here, not the engine's). ``witness.py`` picks the runner for a source.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import sympy as sp

from ..builder import Builder
from ..errors import UnsupportedError
from ..limits import Limits
from ..ops import CONSTANTS
from ..parse import FUNCTIONS, _Parser
from ..parse_tree import keeps_dims
from ..rules import FUNCTION_NAMES
from ..structural_calls import STRUCTURAL, new_axis, read_call, read_key
from .numpy_functions import AXIS_FUNCS as AXIS_FUNCS
from .numpy_functions import FUNCS as FUNCS
from .numpy_functions import LOSSES, STRUCTURAL_FUNCS, text_index, transpose_of

Array = Any
_NUMBERS = {"pi": np.pi, "inf": np.inf}  # names the text reads as numbers unless declared


def _matmul(a: Array, b: Array) -> Array:
    """``@`` of the text: a scalar beside a column's 1 or a row's 1 is the 1×1 matrix it
    may have come from (``u @ w[1]``, ``(xᵀy) @ zᵀ``), as ``ops.matmul`` reads it."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return np.multiply(a, b)
    return np.matmul(a, b)


def _times(a: Array, b: Array) -> Array:
    """``*`` of the text: the matrix product between two matrices, else element-wise; a 1×1
    matrix (xᵀy) is the scalar it is."""
    if np.ndim(a) == 2 and np.ndim(b) == 2 and (1, 1) not in (np.shape(a), np.shape(b)):
        return a @ b
    return np.multiply(a, b)


def _times_ones(a: Array, b: Array) -> Array:
    """LaTeX's X𝟏 (``b`` the 𝟏, the number 1) or 𝟏ᵀY (``a``'s 𝟏ᵀ the number 1): the ones
    vector the matrix beside it sizes, as ``written_ops.times_ones`` reads it."""
    if np.ndim(b) == 0 and b == 1 and np.ndim(a) == 2 and np.shape(a)[1] != 1:
        return a @ np.ones((np.shape(a)[1], 1))
    if np.ndim(b) == 2 and np.shape(b)[0] != 1 and not (np.ndim(b) == 0 and b == 1):
        return np.multiply(a, np.ones((1, np.shape(b)[0])) @ b)
    return _times(a, b)


_BINOPS: dict[type, Callable[[Array, Array], Array]] = {
    ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: _times, ast.Div: np.divide,
    ast.Pow: np.power, ast.MatMult: _matmul, ast.Mod: np.multiply,
}


_COMPARE: dict[type, Callable[[Array, Array], Array]] = {
    ast.Gt: np.greater, ast.Lt: np.less, ast.GtE: np.greater_equal, ast.LtE: np.less_equal}


def _math_power(x: Array, k: Array) -> Array:
    """``X^k`` as mathematics reads it: of a square matrix (not a vector) the matrix power."""
    x = np.asarray(x)
    if x.ndim == 2 and x.shape[0] == x.shape[1] > 1:
        return np.linalg.matrix_power(x, int(k))
    return np.power(x, k)


def scalar_value(v: Array) -> float:
    a = np.asarray(v, dtype=float)
    if a.size != 1:
        raise UnsupportedError(f"the source's value has shape {a.shape}, not a number")
    return float(a.reshape(()))




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
        program.sizes = {n: int(np.shape(arrays[i])[a]) for n, (i, a) in program.dims.items()
                         if i in arrays}
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
        return scalar_value(out)


class TextProgram:
    """The text's stages as ``(name, expression node, inputs it depends on)``."""

    def __init__(self, text: str, loss: str | None, names: Mapping[str, str],
                 declared: set[str], limits: Any = None, reading: Any = None,
                 dims: Mapping[str, tuple[str, int]] | None = None) -> None:
        self.dims = dict(dims or {})  # a dimension's name -> (input, axis) that has it

        accepted = Limits(max_length=2**62, max_depth=2**62, max_nodes=2**62,
                           max_int_bits=2**62, max_exponent=2**62, max_name_length=2**62)

        # the parser's whitelist; derive() applied the caller's limits to this text already
        parser = _Parser(text, Builder(), limits or accepted, reading=reading)
        parser.dim_names = {n: sp.Symbol(n) for n in self.dims}  # reshape(X, (N, -1))
        self.sizes: dict[str, int] = {}  # their values, bound by the runner from the arrays
        tree = parser.tree()
        self.parser = parser  # which ** are powers as mathematics reads them
        self.loss, self.names = loss, dict(names)
        self.functions = frozenset(FUNCTIONS)
        stages: list[tuple[str | None, ast.expr, frozenset[str]]] = []
        self.constants: dict[int, float] = {}  # ids of Name nodes that mean π or ∞
        self.stages: list[tuple[str | None, Tape, frozenset[str]]] = []
        stage_deps: dict[str, frozenset[str]] = {}
        inputs: dict[str, None] = {}
        # NumPy's 1-D arrays as the text reads them (an einsum's operand of one axis)
        self.vectors: set[str] = set(parser.read().vectors)
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
                elif n.id in _NUMBERS and n.id not in declared:
                    self.constants[id(n)] = _NUMBERS[n.id]
                else:
                    inputs.setdefault(self.rename(n.id), None)
                    deps |= {self.rename(n.id)}
            if name is not None:
                stage_deps[name] = deps
                if self.vectors and self.vector(node):
                    self.vectors.add(name)
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

    def vector(self, node: ast.AST) -> bool:
        """Whether ``node`` is NumPy's 1-D array: it reads one (an input declared ``(n,)``,
        a stage that is one) and only negations, sums, products with numbers and
        entry-wise functions of such."""
        one = False
        for n in ast.walk(node):
            if isinstance(n, ast.Call):
                if not (isinstance(n.func, ast.Name) and n.func.id in _ENTRYWISE
                        and len(n.args) == 1 and not n.keywords):
                    return False
            elif isinstance(n, ast.Name):
                if n.id in self.vectors:
                    one = True
                elif n.id not in _ENTRYWISE and id(n) not in self.constants:
                    return False
            elif isinstance(n, ast.Subscript | ast.Attribute | ast.Compare) or (
                    isinstance(n, ast.BinOp)
                    and not isinstance(n.op, ast.Add | ast.Sub | ast.Mult | ast.Div)):
                return False
        return one

    def rename(self, name: str) -> str:
        return self.names.get(name, name)

    def compile(self, root: ast.AST, stage_deps: Mapping[str, frozenset[str]]) -> Tape:
        """The expression as a tape, post-order with an explicit stack (any depth, no
        recursion): a leaf reads ``(env, arrays)``, an operation the values at ``args``; each
        entry with the inputs it depends on. A chain ``a + b - c ...`` is one entry, summed
        left to right as Python would."""
        tape: Tape = []
        at: dict[int, int] = {}
        inner: set[int] = set()  # nodes inside another of their span (squeeze(mean(…)))
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            chain, kids = _chain(node)
            if chain is not None and chain.product and self.parser.read().ones and \
                    self.parser.chain(node) is None:  # X𝟏: a product with a ones vector
                chain, kids = None, _children(node)
            if not ready and kids:
                inner.update(id(c) for c in kids if self.span(c) == self.span(node))
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
            if id(node) not in inner and self.span(node) in self.parser.read().columns:
                tape.append((transpose_of, (at[id(node)],), tape[-1][2]))  # NumPy's 1-D
                at[id(node)] += 1  # row, read as its column
            span = self.span(node)
            for start, end, rank in self.parser.read().one_entries:
                if id(node) not in inner and span == (start, end):  # one entry: a number
                    tape.append((_one_by_one if rank else _number, (at[id(node)],),
                                 tape[-1][2]))  # or its 1×1, as the parser took it
                    at[id(node)] += 1
        return tape

    def span(self, node: ast.AST) -> tuple[int, int] | None:
        if not hasattr(node, "end_col_offset"):
            return None
        return self.parser.offset(node), self.parser.end_offset(node)

    def _leaf_deps(self, node: ast.AST, stage_deps: Mapping[str, frozenset[str]],
                   ) -> frozenset[str]:
        if not isinstance(node, ast.Name) or id(node) in self.constants:
            return frozenset()
        if node.id in stage_deps:
            return stage_deps[node.id]
        return frozenset({self.rename(node.id)})

    def _leaf(self, node: ast.AST) -> Callable[..., Array]:
        name = _constant_call(node)
        if name is not None:  # ones(m, n), zeros(m, n), eye(n)
            assert isinstance(node, ast.Call)
            sizes: list[int | tuple[str, int]] = []
            for a in node.args:
                if isinstance(a, ast.Constant) and type(a.value) is int:
                    sizes.append(a.value)
                elif isinstance(a, ast.Name) and a.id in self.dims:
                    sizes.append(self.dims[a.id])  # read from the values: (input, axis)
                else:
                    raise UnsupportedError(f"a size of {name}(...) the source's own "
                                           "interpreter cannot read")
            make = {"ones": np.ones, "zeros": np.zeros}.get(name)

            def constant(env: Any, arrays: Mapping[str, Array]) -> Array:
                shape = tuple(k if isinstance(k, int) else np.shape(arrays[k[0]])[k[1]]
                              for k in sizes)
                return make(shape) if make else np.eye(shape[0])
            return constant
        if isinstance(node, ast.Name):
            name, renamed = node.id, self.rename(node.id)
            if id(node) in self.constants:
                number = self.constants[id(node)]
                return lambda env, arrays: number
            return lambda env, arrays: env[name] if name in env else arrays[renamed]
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            value = float(node.value)
            return lambda env, arrays: value
        raise UnsupportedError(f"{type(node).__name__} in the text")  # pragma: no cover

    def _op(self, node: ast.AST) -> Callable[..., Array]:
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow) and self.parser.paper_power(node):
                return _math_power
            if isinstance(node.op, ast.Mult) and self.parser.ones_product(node):
                return _times_ones
            if self.span(node) in self.parser.read().dots:  # two 1-D values: NumPy's dot
                return FUNCS["dot"]
            return _BINOPS[type(node.op)]
        if isinstance(node, ast.UnaryOp):
            return np.negative if isinstance(node.op, ast.USub) else _same
        if isinstance(node, ast.Attribute):
            return transpose_of
        if isinstance(node, ast.Compare):  # NumPy's boolean, as the number 0 or 1
            test = _COMPARE[type(node.ops[0])]
            return lambda x, y: np.asarray(test(x, y), dtype=float)
        if isinstance(node, ast.Subscript) and new_axis(node) is not None:
            shape = (-1, 1) if new_axis(node) == 1 else (1, -1)  # v[:, None] of a 1-D v
            return lambda a: np.reshape(a, shape)
        if isinstance(node, ast.Subscript):
            return functools.partial(text_index, key=read_key(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in STRUCTURAL:
            return _structural(node, self)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("inner", "dot") and \
                    self.span(node) in self.parser.read().matrices:
                return getattr(np, node.func.id)  # of NumPy's 2-D columns: x yᵀ, x y
            axis = self.parser.axis_of(node)  # the parser read and checked it already
            if axis is not None:  # NumPy's own reduction, keeping the axis
                return functools.partial(AXIS_FUNCS[node.func.id], axis=axis)
            if any(keeps_dims(k) for k in node.keywords):  # np.sum(A, keepdims=True): (1, 1)
                return functools.partial(_keeping, FUNCS[node.func.id])
            return FUNCS[node.func.id]
        raise UnsupportedError(f"{type(node).__name__} in the text")  # pragma: no cover


def _number(x: Array) -> Array:
    """A value of one entry as the number it holds (NumPy's 0-d)."""
    return np.reshape(x, ()) if np.size(x) == 1 else x


def _one_by_one(x: Array) -> Array:
    """A number as the 1×1 it is in NumPy (u.T @ u, u[0] of a column held as a number)."""
    return np.reshape(x, (1, 1)) if np.ndim(x) == 0 else x


def _keeping(f: Callable[..., Array], x: Array) -> Array:
    """A reduction of every entry with ``keepdims=True``: NumPy's array of one entry of
    ``x``'s rank, (1, 1) of a matrix."""
    return np.reshape(f(x), (1,) * np.ndim(x)) if np.ndim(x) else f(x)


_ENTRYWISE = FUNCTION_NAMES - {"max", "min", "where", "huber", "arctan2", "polygamma"}


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


def _constant_call(node: ast.AST) -> str | None:
    """The name of a call of ``ones``, ``zeros`` or ``eye`` (its arguments are sizes)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id in CONSTANTS:
        return node.func.id
    return None


def _same(a: Array) -> Array:
    return a


def _structural(node: ast.Call, prog: TextProgram) -> Callable[..., Array]:
    """NumPy's function of a structural call, its static arguments given (a size named in
    them, ``reshape(X, (N, -1))``, read from the arrays when it runs)."""
    assert isinstance(node.func, ast.Name)
    name = node.func.id
    _, static, kw, _ = read_call(node, {n: sp.Symbol(n) for n in prog.dims})
    f = STRUCTURAL_FUNCS[name]

    def sized(v: Any) -> Any:
        if isinstance(v, tuple):
            return tuple(sized(x) for x in v)
        return prog.sizes[str(v)] if isinstance(v, sp.Symbol) else v

    if name == "einsum" and prog.vectors:  # NumPy's 1-D operands, of one axis
        ones = [prog.vector(a) for a in read_call(node)[0]]
        return lambda *xs: f(*(np.ravel(x) if one else x
                               for x, one in zip(xs, ones, strict=True)), *static)
    if name == "pad" and (prog.span(node) in prog.parser.read().ends or (
            prog.vectors and prog.vector(read_call(node)[0][0]))):
        return lambda x: np.reshape(f(np.ravel(x), *sized(static), **kw), (-1, 1))  # its ends
    if name == "norm" and prog.span(node) in prog.parser.read().matrices:  # NumPy's 2-D
        return lambda x: np.linalg.norm(np.asarray(x, dtype=float), *static, **kw)
    if STRUCTURAL[name][1]:  # the operands come as one tuple
        return lambda *xs: f(xs, *sized(static), **kw)
    return lambda *xs: f(*xs, *sized(static), **kw)


class _AnyName(dict[str, sp.Expr]):
    """Every name a size, for reading a call's operands (its sizes are read when run)."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str) -> sp.Expr:
        return sp.Symbol(key)


def _children(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.BinOp):
        return [node.left, node.right]
    if isinstance(node, ast.UnaryOp):
        return [node.operand]
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id in STRUCTURAL:
            return read_call(node, _AnyName())[0]
        return [] if _constant_call(node) is not None else list(node.args)
    if isinstance(node, (ast.Attribute, ast.Subscript)):
        return [node.value]
    if isinstance(node, ast.Compare):
        return [node.left, node.comparators[0]]
    return []
