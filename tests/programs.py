"""Random programs in symbackprop's text language, and two oracles that share no code with it.

The differential fuzzer (tests/test_differential.py) needs programs whose right gradient it
knows without asking the library. So a program is a small tree of our own (``Ex``), drawn by
hypothesis, printed as text for ``sbp.derive``, and given meaning here twice:

* ``sympy_gradient``: the stages inlined into one SymPy expression (matrices expanded entry
  by entry into ``sympy.Matrix`` of symbols), differentiated with ``sympy.diff``;
* ``fd_gradient``: central differences of ``forward``, a NumPy forward pass of the tree.

Nothing here imports symbackprop. Semantics follow the README ("What you can write") and
DESIGN ("Operators"): ``*`` between two matrices is the matrix product, a scalar times a
matrix scales it, ``+ - / **`` and functions act entry by entry with scalars and (m, 1)
columns spread, ``softmax`` normalises each column (``axis=1``: each row), ``batchnorm``
standardises each row and ``layernorm`` each column (ε = 1e-5) before γ and β, ``sum`` adds
every entry, ``sqnorm`` adds the squares, ``mse(o, y) = ½ Σ (o − y)²`` and
``cross_entropy(o, y) = −Σ y ⊙ log softmax(o)``.

Tensor programs (issue 14 part B, docs/tensors.md) also draw shapes of rank 3 and 4 (NCHW):
``+ - * /`` and functions entry by entry on equal shapes, ``conv2d`` (cross-correlation,
zero padding), max and average pooling, ``einsum``, ``transpose(X, axes)``, ``reshape`` and
``flatten`` (row by row, as NumPy), ``softmax(X, axis=k)`` and ``batchnorm2d`` (statistics
per channel over N, H, W). Each oracle writes them its own way: the NumPy forward pass a loop
over output pixels, SymPy a loop over every index of the definition.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import sympy as sp
from hypothesis import strategies as st

Shape = tuple[int, ...] | None  # None: a scalar; (rows, cols), or 3 or 4 axes

# Tricky names first come from the issue: SymPy constants (pi E I N S beta gamma), the
# library's generated names (t_1 v_1 t v z), and the names of the losses (L y).
ORDINARY_STAGES = ["h", "u", "a1", "q", "s2", "out"]
TRICKY = ["pi", "E", "I", "N", "S", "beta", "gamma", "lam", "v_1", "t_1", "t", "v", "z", "L", "y",
          "t_2", "v_2", "o"]
# an unbound pi is the number π by design, so no input is named pi
SCALAR_INPUTS = ["x", "b", "c", "w", "v_1", "t", "t_1", "lam", "E", "beta", "z", "I", "S",
                 "gamma", "y", "L", "t_2"]
MATRIX_INPUTS = ["W", "X", "B", "U", "V", "A", "v_1", "t_1", "Z", "N", "I", "E", "S", "v_2"]
CONSTANTS = [2, -1, 3, 0.5, -2, 1.5, 1, -0.5, 2.5, 0]
VALUES = [0.7, -0.4, 1.3, -1.1, 0.25, 1.8, -0.65, 0.45, -1.6]
SCALAR_FUNCS = ["exp", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus", "abs",
                "arctan", "sinh", "cosh", "erf", "arcsinh", "silu", "gelu", "softsign",
                "erfc", "expm1", "exp2", "square", "i0e", "i1e", "elu", "hardtanh"]


@dataclass(frozen=True)
class Ex:
    """A node: ``op`` is num, in, ref, neg, T, transpose, an operator or a function name;
    ``args`` holds the children (or the number / name of a leaf); ``shape`` is None for a
    scalar, else (rows, cols) or a tensor's axes. A tensor primitive keeps its static
    numbers in the op after a colon (``conv2d:sh:sw:ph:pw``, ``einsum:ij,jk->ik``)."""

    op: str
    args: tuple = ()
    shape: Shape = None

    def text(self) -> str:
        a = self.args
        if self.op.split(":")[0] in TENSOR_OPS:
            return _tensor_text(self)
        if self.op == "num":
            return str(a[0]) if a[0] >= 0 else f"({a[0]})"
        if self.op in ("in", "ref"):
            return a[0]
        if self.op in ("neg", "pos"):
            return f"({'-' if self.op == 'neg' else '+'}{a[0].text()})"
        if self.op == "T":
            return f"{a[0].text()}.T"
        if self.op in ("+", "-", "*", "/", "**", "@"):
            return f"({a[0].text()} {self.op} {a[1].text()})"
        if ":" in self.op:  # structural, its static numbers in the op: slice:r0:c0, pad:...
            kind, *n = self.op.split(":")
            k = [int(v) for v in n]
            if kind == "slice":
                r, c = self.shape  # type: ignore[misc]
                return f"{a[0].text()}[{k[0]}:{k[0] + r}, {k[1]}:{k[1] + c}]"
            if kind == "concat":
                return f"concatenate(({a[0].text()}, {a[1].text()}), axis={k[0]})"
            return f"pad({a[0].text()}, (({k[0]}, {k[1]}), ({k[2]}, {k[3]})), " \
                "constant_values=0.5)"
        if self.op == "reshape":
            return f"reshape({a[0].text()}, {self.shape})"
        if self.op == "softmax_rows":
            return f"softmax({a[0].text()}, axis=1)"
        if self.op == "where_gt":
            return f"where({a[0].text()} > {a[1].text()}, {a[2].text()}, {a[3].text()})"
        return f"{self.op}({', '.join(x.text() for x in a)})"

    def nodes(self):
        yield self
        if self.op not in ("num", "in", "ref"):
            for c in self.args:
                yield from c.nodes()

    def replace(self, old: Ex, new: Ex) -> Ex:
        """This tree with the first occurrence (by identity) of ``old`` replaced by ``new``."""
        if self is old:
            return new
        if self.op in ("num", "in", "ref"):
            return self
        return Ex(self.op, tuple(c.replace(old, new) for c in self.args), self.shape)

    def rename(self, names: dict[str, str]) -> Ex:
        if self.op == "ref":
            return Ex("ref", (names.get(self.args[0], self.args[0]),), self.shape)
        if self.op in ("num", "in"):
            return self
        return Ex(self.op, tuple(c.rename(names) for c in self.args), self.shape)


@dataclass(frozen=True)
class Program:
    """Stages ``name = expression`` (the last one is the scalar output) over named inputs.
    ``targets`` are cross_entropy targets: their values get one-hot columns."""

    inputs: dict[str, Shape]
    stages: tuple[tuple[str, Ex], ...]
    targets: frozenset[str] = frozenset()
    sep: str = "; "

    def text(self) -> str:
        return self.sep.join(f"{n} = {e.text()}" for n, e in self.stages)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        return {n: s for n, s in self.inputs.items() if s is not None}

    def inlined(self) -> Ex:
        """The output as one tree, every stage substituted."""
        env: dict[str, Ex] = {}

        def sub(e: Ex) -> Ex:
            if e.op == "ref":
                return env[e.args[0]]
            if e.op in ("num", "in"):
                return e
            return Ex(e.op, tuple(sub(c) for c in e.args), e.shape)

        for n, e in self.stages:
            env[n] = sub(e)
        return env[self.stages[-1][0]]

    def inlined_size(self) -> int:
        size: dict[str, int] = {}
        for n, e in self.stages:
            size[n] = sum(size[x.args[0]] if x.op == "ref" else 1 for x in e.nodes())
        return size[self.stages[-1][0]]

    def has_tensors(self) -> bool:
        return any(s is not None and len(s) > 2 for s in self.inputs.values())

    def sympy_work(self) -> int:
        """About how many nodes ``sympy.diff`` walks for the SymPy oracle: the size of one
        entry of the inlined output (a convolution's entry holds C·kh·kw products, a batch
        norm's every entry of its channel...) times the number of input entries."""
        size: dict[str, int] = {}
        for n, e in self.stages:
            size[n] = _entry_size(e, size)
        return size[self.stages[-1][0]] * sum(math.prod(s or (1,)) for s in self.inputs.values())


def _entry_size(e: Ex, stages: dict[str, int]) -> int:
    kind, _, arg = e.op.partition(":")
    if kind in ("num", "in"):
        return 1
    if kind == "ref":
        return stages[e.args[0]]
    xs = [_entry_size(c, stages) for c in e.args]
    shapes: list[tuple[int, ...]] = [c.shape or (1,) for c in e.args]
    if kind in ("*", "@") and all(len(v) == 2 for v in shapes):  # a matrix product
        return shapes[0][1] * sum(xs)
    if kind == "cross_entropy":  # each entry's log-softmax holds its whole column
        return math.prod(shapes[0]) * shapes[0][0] * sum(xs)
    if kind in ("sum", "sqnorm", "mean", "mse", "trace"):
        return math.prod(shapes[0]) * sum(xs)
    if kind in ("softmax", "softmax_rows", "softmax_axis", *NORMS):
        axis = {"softmax": 0, "softmax_rows": 1, "softmax_axis": int(arg or 0)}.get(kind)
        along = shapes[0][axis] if axis is not None else shapes[0][NORMS[kind]]
        return 3 * along * xs[0] + sum(xs[1:])
    if kind == "conv2d":
        return math.prod(shapes[1][1:]) * (xs[0] + xs[1]) + sum(xs[2:])
    if kind in ("maxpool2d", "avgpool2d"):
        return int(arg.split(":")[0]) * int(arg.split(":")[1]) * xs[0]
    if kind == "einsum":
        ins, out = arg.split("->")
        size = {c: n for p, v in zip(ins.split(","), shapes, strict=True)
                for c, n in zip(p, v, strict=False)}
        return math.prod(n for c, n in size.items() if c not in out) * sum(xs)
    if kind == "batchnorm2d":  # (x − μ)/σ: its derivatives are many times its size
        return 10 * (math.prod(shapes[0]) // shapes[0][1]) * xs[0] + xs[1] + xs[2]
    if kind == "reduce":
        return 3 * math.prod(shapes[0][a] for a in _axes_of(arg.split(":")[1])) * xs[0]
    return sum(xs) + 1


# ---------------------------------------------------------------------------------------
# The generator


@dataclass
class _Gen:
    draw: Any  # hypothesis' draw
    matrix: bool
    dims: list[int]
    structural: bool = False  # slices, blocks, reshapes, Kronecker products, padding; the
    # row softmax, batch and layer normalisation (the layers of issue 14)
    tdims: list[int] | None = None  # N, C, H, W, F of a tensor program (issue 14 part B)
    inputs: dict[str, Shape] = field(default_factory=dict)
    targets: set[str] = field(default_factory=set)
    stages: list[tuple[str, Ex]] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)
    used: list[Ex] = field(default_factory=list)  # leaves drawn so far, to draw again

    def pick(self, options):
        return self.draw(st.sampled_from(options))

    def fresh(self, pool: list[str], default: str) -> str:
        name = self.pick(pool)
        k = 0
        while name in self.taken:
            k += 1
            name = f"{default}{k}"
        self.taken.add(name)
        return name

    def new_input(self, shape: Shape) -> Ex:
        name = self.fresh(SCALAR_INPUTS if shape is None else MATRIX_INPUTS,
                          "p" if shape is None else "P")
        self.inputs[name] = shape
        return Ex("in", (name,), shape)

    def num(self) -> Ex:
        return Ex("num", (self.pick(CONSTANTS),))

    def shape(self) -> Shape:
        if self.tdims is not None and self.draw(st.integers(0, 2)) > 0:
            return self.tshape()
        return self.mshape()

    def mshape(self) -> tuple[int, int]:
        d = self.dims
        return self.pick([(d[0], d[1]), (d[0], 1), (d[1], d[2]), (d[0], d[2]), (d[2], d[1])])

    def tshape(self) -> tuple[int, ...]:
        n, c, h, w, f = self.tdims  # type: ignore[misc]
        return self.pick([(n, c, h, w), (n, c, h, w), (n, f, h, w), (c, h, w), (n, c, w, h)])

    def leaf(self, shape: Shape, allow_num: bool = True) -> Ex:
        """An earlier stage (most recent first), an input, a transpose, a constant, or a new
        input of this shape."""
        opts: list[Ex] = [Ex("ref", (n,), e.shape) for n, e in reversed(self.stages)
                          if e.shape == shape]
        opts += [Ex("in", (n,), s) for n, s in self.inputs.items()
                 if s == shape and n not in self.targets]
        if shape is not None and shape != shape[::-1]:  # .T reverses every axis
            opts += [Ex("T", (Ex("in", (n,), s),), shape) for n, s in self.inputs.items()
                     if s == shape[::-1] and n not in self.targets]
        if shape is None and allow_num:
            opts.append(self.num())
        opts.append(None)  # type: ignore[arg-type]  # None: a new input
        again = [x for x in self.used if x.shape == shape]
        if again and self.draw(st.integers(0, 3)) == 0:  # the same leaf twice: t - (t - z)
            return self.pick(again)
        choice = self.pick(opts)
        leaf = self.new_input(shape) if choice is None else choice
        self.used.append(leaf)
        return leaf

    def chain(self, e: Ex) -> Ex:
        """``e`` made to use the previous stage (unless it does): mostly a chain, sometimes
        a stage nobody uses, as real programs have."""
        name, prev = self.stages[-1]
        if any(x.op == "ref" and x.args[0] == name for x in e.nodes()):
            return e
        p = Ex("ref", (name,), prev.shape)
        if prev.shape is not None and prev.shape != e.shape:
            p = Ex(self.pick(["sum", "sqnorm"]), (p,))  # a reduction feeding the next stage
        op = self.pick(["+", "*", "-"] if p.shape is None or e.shape is None else
                       ["+", "hadamard", "-"])
        args = (p, e) if self.draw(st.booleans()) else (e, p)
        return Ex(op, args, e.shape)

    def positive(self, e: Ex) -> Ex:
        """An expression of e that is positive everywhere (arguments of log, sqrt, 1/x)."""
        kind = self.pick(["sq", "exp", "softplus"])
        if kind == "sq":
            return Ex("+", (Ex("num", (1,)), Ex("**", (e, Ex("num", (2,))), e.shape)), e.shape)
        if kind == "exp":
            return Ex("exp", (e,), e.shape)
        return Ex("+", (Ex("softplus", (e,), e.shape), Ex("num", (0.5,))), e.shape)

    def expr(self, shape: Shape, depth: int) -> Ex:
        if depth <= 0 or self.draw(st.integers(0, 3)) == 0:
            return self.leaf(shape)
        if shape is None:
            return self.scalar(depth - 1)
        if len(shape) > 2:
            return self.tensor(shape, depth - 1)
        return self.mat((shape[0], shape[1]), depth - 1)

    def scalar(self, d: int) -> Ex:
        kinds = ["+", "*", "fn", "-", "/", "**", "neg", "log", "sqrt", "maxmin", "pow",
                 "reduce"]
        if self.matrix:
            kinds += ["sum", "sqnorm", "mse", "cross_entropy", "sum", "trace"]
        if self.tdims is not None:
            kinds += ["tensor"] * 6
        k = self.pick(kinds)
        e = lambda: self.expr(None, d)  # noqa: E731
        if k == "tensor":
            return self.reduce_tensor(d)
        if k in ("+", "-"):
            return Ex(k, (e(), e()))
        if k == "*":
            return Ex("*", (self.num(), e()) if self.draw(st.booleans()) else (e(), e()))
        if k == "/":
            den = (self.positive(e()) if self.draw(st.booleans())
                   else Ex("num", (self.pick([2, -4, 0.5, 3]),)))
            return Ex("/", (e(), den))
        if k == "**":
            if self.draw(st.booleans()):
                return Ex("**", (e(), Ex("num", (self.pick([2, 3]),))))
            return Ex("**", (self.positive(e()), Ex("num", (self.pick([0.5, -1, 1.5, -2]),))))
        if k == "neg":
            return Ex(self.pick(["neg", "pos"]), (e(),))
        if k == "pow":  # a computed exponent on a positive base
            return Ex("**", (self.positive(e()), e()))
        if k == "reduce":  # the reductions accept a scalar: sum(x) = x, sqnorm(x) = x**2
            return Ex(self.pick(["sum", "sqnorm", "transpose", "trace"]), (e(),))
        if k == "fn":
            return Ex(self.pick(SCALAR_FUNCS), (e(),))
        if k in ("log", "sqrt"):
            return Ex(k, (self.positive(e()),))
        if k == "maxmin":
            if self.draw(st.integers(0, 3)) == 0:  # NumPy's where(a > b, x, y)
                return Ex("where_gt", (e(), e(), e(), e()))
            return Ex(self.pick(["max", "min"]), (e(), e()))
        s = self.mshape() if k in ("trace", "cross_entropy") else self.shape()
        if k == "trace":  # of a square matrix: a square shape, or a product A Aᵀ-like
            assert s is not None
            s = (s[0], s[0])
        m = lambda: self.expr(s, d)  # noqa: E731
        if k in ("sum", "sqnorm", "trace"):
            return Ex(k, (m(),))
        if k == "mse":
            return Ex("mse", (m(), m()))
        assert s is not None  # (cross_entropy's is a matrix shape)
        if s[0] == 1 and s[1] != 1:  # one class per column: refused (its softmax is 1)
            return Ex("mse", (m(), m()))
        target = self.new_input(s)
        self.targets.add(target.args[0])
        return Ex("cross_entropy", (m(), target))

    def mat(self, s: tuple[int, int], d: int) -> Ex:
        k = self.pick(["+", "fn", "scale", "@", "-", "hadamard", "col", "T", "softmax",
                       "num+", "/", "**", "maxnum", "neg", "maxmin", "log", "@", "@",
                       "scale", "col", *(["softmax_rows", "norm"] if self.structural else []),
                       *(["einsum", "from tensor"] * 2 if self.tdims is not None else [])])
        m = lambda shape=s: self.expr(shape, d)  # noqa: E731
        if self.structural and self.draw(st.integers(0, 3)) == 0:
            return self.structure(s, m)
        if k in ("+", "-", "fn", "log", "scale", "num+", "/", "**", "maxnum", "maxmin"):
            return self.elementwise(k, s, d)
        if k == "einsum":
            return self.einsum(s, d)
        if k == "from tensor":  # a tensor's entries, row by row, as this matrix
            views = [v for v in reshapes(s) if len(v) > 2]
            return self.reshape(s, self.pick(views), d) if views else self.einsum(s, d)
        if k == "@":
            inner = self.pick(sorted(set(self.dims)))
            a, b = m((s[0], inner)), m((inner, s[1]))
            return Ex(self.pick(["@", "*"]), (a, b), s)
        if k == "hadamard":
            return Ex("hadamard", (m(), m()), s)
        if k == "col":  # a column (m, 1) spread over (m, B)
            col = m((s[0], 1))
            return Ex(self.pick(["+", "-"]), (m(), col) if self.draw(st.booleans()) else
                      (col, m()), s)
        if k == "T":
            return Ex(self.pick(["T", "transpose"]), (m((s[1], s[0])),), s)
        if k in ("softmax", "softmax_rows"):
            return Ex(_softmax_along(k, s), (m(),), s)
        if k == "norm":  # batch (each row) or layer normalisation (each column), γ and β columns
            kinds = [n for n, a in NORMS.items() if s[a] >= 2]  # a row or column of one: σ = 0
            if kinds:
                return Ex(self.pick(kinds), (m(), m((s[0], 1)), m((s[0], 1))), s)
            return Ex(_softmax_along("softmax", s), (m(),), s)
        return Ex("neg", (m(),), s)

    def elementwise(self, k: str, s: tuple[int, ...], d: int) -> Ex:
        """An element-wise kind of ``mat`` at shape ``s`` (a matrix or a tensor's axes)."""
        m = lambda shape=s: self.expr(shape, d)  # noqa: E731
        if k in ("+", "-"):
            return Ex(k, (m(), m()), s)
        if k == "fn":
            return Ex(self.pick(SCALAR_FUNCS), (m(),), s)
        if k == "log":
            return Ex(self.pick(["log", "sqrt"]), (self.positive(m()),), s)
        if k == "scale":  # a scalar stage, reduction or number times a matrix
            c = self.expr(None, d)
            return Ex("*", (c, m()) if self.draw(st.booleans()) else (m(), c), s)
        if k == "num+":
            return Ex(self.pick(["+", "-"]), (self.num(), m()) if self.draw(st.booleans())
                      else (m(), self.num()), s)
        if k == "/":
            if self.draw(st.booleans()):
                return Ex("/", (m(), self.positive(m())), s)
            return Ex("/", (m(), self.positive(self.expr(None, d))), s)
        if k == "**":
            if self.draw(st.booleans()):
                return Ex("**", (m(), Ex("num", (2,))), s)
            return Ex("**", (self.positive(m()), Ex("num", (self.pick([0.5, -1]),))), s)
        if k == "maxnum":
            return Ex(self.pick(["max", "min"]), (m(), self.num()) if self.draw(st.booleans())
                      else (self.num(), m()), s)
        assert k == "maxmin", k
        if self.draw(st.integers(0, 3)) == 0:  # NumPy's where(a > b, x, y), entry by entry
            return Ex("where_gt", (m(), m(), m(), m()), s)
        return Ex(self.pick(["max", "min"]), (m(), m()), s)

    def structure(self, s: tuple[int, int], m: Any) -> Ex:
        """A structural operation whose result has shape ``s``."""
        k = self.pick(["slice", "concat", "reshape", "kron", "pad"])
        r, c = s
        if k == "slice":
            er, ec = self.draw(st.integers(0, 2)), self.draw(st.integers(0, 2))
            r0, c0 = self.draw(st.integers(0, er)), self.draw(st.integers(0, ec))
            return Ex(f"slice:{r0}:{c0}", (m((r + er, c + ec)),), s)
        if k == "concat" and max(s) >= 2:
            axis = 0 if r >= 2 and (c < 2 or self.draw(st.booleans())) else 1
            cut = self.draw(st.integers(1, s[axis] - 1))
            first, second = ((cut, c), (r - cut, c)) if axis == 0 else ((r, cut), (r, c - cut))
            if (1, 1) not in (first, second):  # a 1×1 product is a scalar: NumPy joins arrays
                return Ex(f"concat:{axis}", (m(first), m(second)), s)
        if k == "reshape":
            return Ex("reshape", (m(self.pick([(c, r), (r * c, 1), (1, r * c)])),), s)
        if k == "pad" and max(s) >= 2:
            rb = self.draw(st.integers(0, r - 1))
            ra = self.draw(st.integers(0, r - 1 - rb))
            cb = self.draw(st.integers(0, c - 1))
            ca = self.draw(st.integers(0, c - 1 - cb))
            return Ex(f"pad:{rb}:{ra}:{cb}:{ca}", (m((r - rb - ra, c - cb - ca)),), s)
        return Ex("kron", (m((r, 1)), m((1, c))), s)

    # -- tensors (issue 14 part B) ------------------------------------------------------

    def tensor(self, s: tuple[int, ...], d: int) -> Ex:
        """An expression with these axes (rank 3 or 4): element-wise, or an n-D primitive."""
        kinds = ["+", "-", "fn", "log", "scale", "num+", "/", "**", "maxnum", "maxmin", "*",
                 "neg", "einsum", "einsum", "permute", "T", "reshape", "reshape", "softmax",
                 "softmax", "broadcast", "broadcast", "broadcast",
                 *(["reduce"] * 2 if 1 in s else [])]
        if len(s) == 4:
            kinds += ["conv2d"] * 4 + ["pool"] * 3 + (["bn"] * 2 if s[0] * s[2] * s[3] >= 2
                                                      else [])
        k = self.pick(kinds)
        m = lambda shape=s: self.expr(shape, d)  # noqa: E731
        if k in ("+", "-", "fn", "log", "scale", "num+", "/", "**", "maxnum", "maxmin"):
            return self.elementwise(k, s, d)
        if k == "*":  # entry by entry, as NumPy's * of two arrays
            return Ex(self.pick(["*", "hadamard"]), (m(), m()), s)
        if k == "neg":
            return Ex("neg", (m(),), s)
        if k == "einsum":
            return self.einsum(s, d)
        if k == "broadcast":
            return self.broadcast(s, d)
        if k == "reduce":
            return self.reduction(s, d)
        if k == "permute":
            perm = self.draw(st.permutations(range(len(s))))
            source = [0] * len(s)
            for i, p in enumerate(perm):
                source[p] = s[i]
            return Ex("permute:" + ",".join(map(str, perm)), (m(tuple(source)),), s)
        if k == "T":
            return Ex(self.pick(["T", "transpose"]), (m(s[::-1]),), s)
        if k == "reshape":
            return self.reshape(s, self.pick(reshapes(s)), d)
        if k == "softmax":
            return Ex(f"softmax_axis:{self.pick(softmax_axes(len(s)))}", (m(),), s)
        if k == "conv2d":
            return self.conv2d(s, d)
        if k == "pool":
            return self.pool(s, d)
        eps = self.pick(["", "", "0.01"])  # batchnorm2d: γ and β one entry per channel
        return Ex(f"batchnorm2d:{eps}", (m(), m((s[1], 1)), m((s[1], 1))), s)

    def broadcast(self, s: tuple[int, ...], d: int) -> Ex:
        """An operator between an operand of shape ``s`` and one that NumPy's broadcasting
        stretches to it: some axes of length 1, maybe leading axes left out (rank ≥ 2, so a
        column (n, 1) is never a vector (n,)); often a reduction over those axes, as in
        ``X - mean(X, axis=(0, 2, 3))``."""
        flags = self.draw(st.lists(st.booleans(), min_size=len(s), max_size=len(s)))
        small = tuple(1 if one else n for one, n in zip(flags, s, strict=True))
        small = small[self.draw(st.integers(0, len(s) - 2)):]
        if len(small) > 2 and 1 in small and self.draw(st.booleans()):
            b = self.reduction(small, d)
        else:
            b = self.expr(small, d)
        op = self.pick(["+", "-", "*", "hadamard", "/", "max", "min"])
        a = self.expr(s, d)
        if op == "/":
            return Ex("/", (a, self.positive(b)) if self.draw(st.booleans()) else
                      (b, self.positive(a)), s)
        return Ex(op, (a, b) if self.draw(st.booleans()) else (b, a), s)

    def reduction(self, s: tuple[int, ...], d: int) -> Ex:
        """``sum``, ``mean`` or ``var`` over axes that ``s`` has of length 1 (kept, as
        keepdims=True), written ``axis=k``, ``axis=(k,)`` or a tuple, counted from either
        end."""
        ones = [i for i, n in enumerate(s) if n == 1]
        axes = sorted(self.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True)))
        source = tuple(self.draw(st.integers(1, 3)) if i in axes else n
                       for i, n in enumerate(s))
        written = ",".join(str(a - len(s) if self.draw(st.booleans()) else a) for a in axes)
        if len(axes) == 1 and self.draw(st.booleans()):
            written += ","  # a tuple of one axis
        how = self.pick(["sum", "mean", "var"])
        return Ex(f"reduce:{how}:{written}", (self.expr(source, d),), s)

    def reduce_tensor(self, d: int) -> Ex:
        """A scalar from a tensor: sum, mean or sqnorm, a loss of it reshaped to a matrix,
        or its flattened column against another."""
        ts = self.tshape()
        t = self.expr(ts, d)
        how = self.pick(["sum", "sum", "mean", "sqnorm", "mse", "cross_entropy", "flatten"])
        if how in ("sum", "mean", "sqnorm"):
            return Ex(how, (t,))
        size = math.prod(ts)
        if how == "flatten":
            col = Ex("flatten", (t,), (size, 1))
            return Ex("sum", (Ex("hadamard", (col, self.expr((size, 1), d)), (size, 1)),))
        ms = self.pick([(ts[0], size // ts[0]), (size // ts[-1], ts[-1])])
        o = Ex(f"reshape_nd:{self.pick(['', '0', '1'])}", (t,), ms)
        if how == "mse" or (ms[0] == 1 and ms[1] != 1):  # (one class per column: refused)
            return Ex("mse", (o, self.expr(ms, d)) if self.draw(st.booleans()) else
                      (self.expr(ms, d), o))
        target = self.new_input(ms)
        self.targets.add(target.args[0])
        return Ex("cross_entropy", (o, target))

    def reshape(self, s: tuple[int, ...], source: tuple[int, ...], d: int) -> Ex:
        """``reshape(X, s)`` of an expression of shape ``source``; maybe one size -1."""
        minus = self.pick([""] + [str(i) for i in range(len(s))])
        if len(source) == 2 and source[1] == 1 and self.draw(st.booleans()):
            return Ex(f"reshape_nd:{minus}", (self.flat(source[0], d),), s)
        return Ex(f"reshape_nd:{minus}", (self.expr(source, d),), s)

    def flat(self, n: int, d: int) -> Ex:
        """A column of n entries: a tensor flattened, when one of that size is drawn."""
        ts = self.tshape()
        if math.prod(ts) == n:
            return Ex("flatten", (self.expr(ts, d),), (n, 1))
        return self.expr((n, 1), d)

    def einsum(self, s: tuple[int, ...], d: int) -> Ex:
        """``einsum`` with random valid subscripts giving shape ``s`` (a column (n, 1) may
        be one index): 1-3 operands of rank 1-4, each output index in some operand, 0-2
        indices summed over, in any order (contractions, outer products, transposes,
        reductions)."""
        out_axes = s[:1] if len(s) == 2 and s[1] == 1 and self.draw(st.booleans()) else s
        letters = self.draw(st.permutations("abcdefghijkmnpqrstuvwxyz"))
        size = dict(zip(letters, out_axes, strict=False))
        out = "".join(letters[:len(out_axes)])
        for c in letters[len(out_axes):len(out_axes) + self.draw(st.integers(0, 2))]:
            size[c] = self.draw(st.integers(1, 3))
        every = list(size)
        parts: list[list[str]] = []
        for _ in range(self.draw(st.integers(1, 3))):
            chosen = self.draw(st.lists(st.sampled_from(every), min_size=1, max_size=4,
                                        unique=True))
            parts.append(chosen)
        for c in every:  # every index bound: a missing one goes where there is room
            if not any(c in p for p in parts):
                room = [p for p in parts if len(p) < 4]
                if not room:
                    parts.append([])
                    room = [parts[-1]]
                room[self.draw(st.integers(0, len(room) - 1))].append(c)
        ops = []
        for p in parts:
            shape = tuple(size[c] for c in p)
            ops.append(self.expr(shape if len(shape) > 1 else (shape[0], 1), d))
        spec = ",".join("".join(p) for p in parts) + "->" + out
        if len(out) == 1 and s[0] != 1:  # NumPy's 1-D value: its column (n, 1) written out,
            # 2-D wherever it goes (beside a tensor, two letters of an einsum)
            return Ex("reshape_nd:", (Ex(f"einsum:{spec}", tuple(ops), s),), s)
        return Ex(f"einsum:{spec}", tuple(ops), s)

    def conv2d(self, s: tuple[int, ...], d: int) -> Ex:
        """``conv2d`` giving (N, F, Ho, Wo): random taps, stride and zero padding; the input's
        size from them (a remainder the stride skips included), at most 6 a side."""
        n, f, ho, wo = s
        geometry = []
        for out in (ho, wo):
            k, st_, pad = (self.draw(st.integers(1, 3)), self.pick([1, 1, 2]),
                           self.draw(st.integers(0, 1)))
            size = (out - 1) * st_ + k - 2 * pad + self.draw(st.integers(0, st_ - 1))
            if not 1 <= size <= 6:
                st_, pad, size = 1, 0, out - 1 + k
            geometry.append((k, st_, pad, size))
        (kh, sh, ph, h), (kw, sw, pw, w) = geometry
        c = self.pick(sorted({self.tdims[1], self.tdims[4], 1}))  # type: ignore[index]
        x = self.expr((n, c, h, w), d)
        filters = self.expr((f, c, kh, kw), 0 if self.draw(st.booleans()) else d)
        bias = (self.expr((f, 1), d),) if self.draw(st.booleans()) else ()
        return Ex(f"conv2d:{sh}:{sw}:{ph}:{pw}", (x, filters, *bias), s)

    def pool(self, s: tuple[int, ...], d: int) -> Ex:
        """Max or average pooling giving (N, C, Ho, Wo): random window and stride (the
        window's size when not written)."""
        n, c, ho, wo = s
        kind = self.pick(["maxpool2d", "avgpool2d"])
        kh, kw = self.draw(st.integers(1, 3)), self.draw(st.integers(1, 3))
        sh, sw = (kh, kw) if self.draw(st.booleans()) else (self.draw(st.integers(1, 3)),
                                                            self.draw(st.integers(1, 3)))
        h = (ho - 1) * sh + kh + self.draw(st.integers(0, sh - 1))
        w = (wo - 1) * sw + kw + self.draw(st.integers(0, sw - 1))
        if h > 6 or w > 6:
            sh, sw, h, w = kh, kw, ho * kh, wo * kw
        return Ex(f"{kind}:{kh}:{kw}:{sh}:{sw}", (self.expr((n, c, h, w), d),), s)


def reshapes(s: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Shapes of rank 2-4 with as many entries as ``s`` (not ``s``): adjacent axes merged,
    an axis split, a 1 put in, the axes reversed; a rank-1 result as a column (n, 1)."""
    out: list[tuple[int, ...]] = [s[::-1]]
    for i in range(len(s) - 1):
        out.append((*s[:i], s[i] * s[i + 1], *s[i + 2:]))
    for i, n in enumerate(s):
        out += [(*s[:i], a, n // a, *s[i + 1:]) for a in range(2, n) if n % a == 0]
    out += [(*s[:i], 1, *s[i:]) for i in range(len(s) + 1)]
    shapes = [(v[0], 1) if len(v) == 1 else v for v in out]
    return sorted({v for v in shapes if 2 <= len(v) <= 4 and v != s})


def _softmax_along(kind: str, s: tuple[int, ...]) -> str:
    """The softmax of a row is along the row, of a column along the column: along an axis of
    length 1 with the other longer it is constant, and refused."""
    if kind == "softmax" and s[0] == 1 and s[1] != 1:
        return "softmax_rows"
    if kind == "softmax_rows" and s[1] == 1 and s[0] != 1:
        return "softmax"
    return kind


def softmax_axes(rank: int) -> list[int]:
    """The axes ``softmax(X, axis=k)`` is drawn along: any, counted from either end."""
    return list(range(-rank, rank))


TENSOR_OPS = ("conv2d", "maxpool2d", "avgpool2d", "einsum", "permute", "reshape_nd",
              "softmax_axis", "batchnorm2d", "flatten", "mean", "reduce")


def _tensor_text(e: Ex) -> str:
    kind, _, arg = e.op.partition(":")
    xs = [x.text() for x in e.args]
    if kind == "conv2d":
        sh, sw, ph, pw = arg.split(":")
        kw = [f"stride={_pair_text(sh, sw)}"] if (sh, sw) != ("1", "1") else []
        kw += [f"padding={_pair_text(ph, pw)}"] if (ph, pw) != ("0", "0") else []
        return f"conv2d({', '.join(xs + kw)})"
    if kind in ("maxpool2d", "avgpool2d"):
        kh, kw_, sh, sw = arg.split(":")
        stride = f", stride={_pair_text(sh, sw)}" if (sh, sw) != (kh, kw_) else ""
        return f"{kind}({xs[0]}, {_pair_text(kh, kw_)}{stride})"
    if kind == "einsum":
        return f"einsum({arg!r}, {', '.join(xs)})"
    if kind == "permute":
        return f"transpose({xs[0]}, ({arg.replace(',', ', ')}))"
    if kind == "reshape_nd":
        sizes = [str(-1 if arg and i == int(arg) else n) for i, n in enumerate(e.shape or ())]
        return f"reshape({xs[0]}, ({', '.join(sizes)}))"
    if kind == "softmax_axis":
        return f"softmax({xs[0]}, axis={arg})"
    if kind == "reduce":
        how, axes = arg.split(":")
        written = axes if "," not in axes else f"({axes.replace(',', ', ').strip()})"
        return f"{how}({xs[0]}, axis={written})"
    if kind == "batchnorm2d" and arg:
        return f"batchnorm2d({', '.join(xs)}, eps={arg})"
    return f"{kind}({', '.join(xs)})"


def _pair_text(a: str, b: str) -> str:
    return a if a == b else f"({a}, {b})"


@st.composite
def programs(draw, matrix: bool = False, structural: bool = False, tensor: bool = False
             ) -> Program:
    """A random program: 2–8 stages, the last a scalar named by the user; ``structural``
    also draws slices, blocks, reshapes, Kronecker products, padding, the row softmax and
    batch and layer normalisation; ``tensor`` (with matrices) shapes of rank 3 and 4 and
    the n-D primitives, the first input a tensor."""
    g = _Gen(draw, matrix or tensor, draw(st.lists(st.integers(1, 3), min_size=3,
                                                   max_size=3)), structural)
    if tensor:  # N, C, H, W, F: small, so that SymPy's diff of every entry stays quick
        g.tdims = [draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 3)),
                   draw(st.integers(1, 3)), draw(st.integers(1, 2))]
    n = draw(st.integers(2, 8))
    if tensor:
        g.new_input(g.tshape())
    else:
        g.new_input(g.shape() if matrix and draw(st.booleans()) else None)
    for i in range(n):
        last = i == n - 1
        if tensor:  # mostly tensor stages; the output reduces a tensor
            shape = None if last or draw(st.integers(0, 4)) == 0 else g.shape()
        else:
            shape = None if last or not matrix or draw(st.integers(0, 2)) == 0 else g.shape()
        depth = draw(st.integers(0 if not last else 1, 3))
        # the output of a matrix program reduces a matrix
        if last and tensor:
            e = g.reduce_tensor(depth)
        else:
            e = g.scalar(depth) if last and matrix else g.expr(shape, depth)
        if g.stages and (last or draw(st.integers(0, 3)) > 0):
            e = g.chain(e)
        name = g.fresh(ORDINARY_STAGES + TRICKY, "s")
        g.stages.append((name, e))
    return Program(dict(g.inputs), tuple(g.stages), frozenset(g.targets),
                   draw(st.sampled_from(["; ", "\n"])))


@st.composite
def points(draw, prog: Program) -> dict[str, object]:
    """Values for every input; cross_entropy targets get one one-hot column each."""
    vals: dict[str, object] = {}
    for name, shape in prog.inputs.items():
        if shape is None:
            vals[name] = draw(st.sampled_from(VALUES))
        elif name in prog.targets:
            y = np.zeros(shape)
            for j in range(shape[1]):
                y[draw(st.integers(0, shape[0] - 1)), j] = 1.0
            vals[name] = y
        elif len(shape) > 2:  # distinct values (a window's maximum must be unique)
            rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
            vals[name] = np.round(rng.uniform(-1.6, 1.6, shape), 3)
        else:
            entries = draw(st.lists(st.sampled_from(VALUES), min_size=shape[0] * shape[1],
                                    max_size=shape[0] * shape[1]))
            vals[name] = np.array(entries, dtype=float).reshape(shape)
    return vals


# ---------------------------------------------------------------------------------------
# Oracle 1: NumPy forward pass and central differences


class BadPoint(Exception):
    """The point is near a kink, outside a domain, or the values are too large to judge."""


KINK = 1e-2
BIG = 1e4


def _np_fn(name: str, a, guard: bool):
    if name in ("abs", "relu", "elu", "i0e", "i1e") and guard and np.min(np.abs(a)) < KINK:
        raise BadPoint(f"{name} near 0")
    if name == "hardtanh" and guard and np.min(np.abs(np.abs(a) - 1)) < KINK:
        raise BadPoint("hardtanh near ±1")
    if name == "tan" and guard and np.min(np.abs(np.cos(a))) < 0.1:
        raise BadPoint("tan near a pole")
    if name in ("log", "sqrt") and guard and np.min(a) < 1e-3:
        raise BadPoint(f"{name} of {np.min(a)}")
    table: dict[str, Any] = {
        "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin,
        "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
        "sigmoid": lambda v: 1 / (1 + np.exp(-v)), "relu": lambda v: np.maximum(v, 0),
        "softplus": lambda v: np.logaddexp(0, v),
        "arctan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "arcsinh": np.arcsinh,
        "erf": np.vectorize(math.erf, otypes=[float]),
        "silu": lambda v: v / (1 + np.exp(-v)), "softsign": lambda v: v / (1 + np.abs(v)),
        "gelu": lambda v: 0.5 * v * (1 + np.vectorize(math.erf, otypes=[float])(
            np.asarray(v) / math.sqrt(2))),
        "erfc": np.vectorize(math.erfc, otypes=[float]), "expm1": np.expm1, "exp2": np.exp2,
        "square": np.square, "i0e": lambda v: np.i0(v) * np.exp(-np.abs(v)), "i1e": _i1e,
        "elu": lambda v: np.where(np.asarray(v) > 0, v, np.expm1(np.minimum(v, 0))),
        "hardtanh": lambda v: np.clip(v, -1.0, 1.0),
    }
    return table[name](a)


def _np_structure(e: Ex, x: list) -> Any:
    kind, *n = e.op.split(":")
    k = [int(v) for v in n]
    if kind == "slice":
        return x[0][k[0]:k[0] + e.shape[0], k[1]:k[1] + e.shape[1]]  # type: ignore[index]
    if kind == "concat":
        return np.concatenate(x, axis=k[0])
    if kind == "pad":
        return np.pad(x[0], ((k[0], k[1]), (k[2], k[3])), constant_values=0.5)
    if kind == "reshape":
        return np.reshape(x[0], e.shape)
    return np.kron(x[0], x[1])


def _sp_structure(e: Ex, x: list) -> Any:
    kind, *n = e.op.split(":")
    k = [int(v) for v in n]
    r, c = e.shape  # type: ignore[misc]
    if kind == "slice":
        return x[0][k[0]:k[0] + r, k[1]:k[1] + c]
    if kind == "concat":
        return sp.Matrix.vstack(*x) if k[0] == 0 else sp.Matrix.hstack(*x)
    if kind == "pad":
        inner = x[0]
        return sp.Matrix(r, c, lambda i, j: inner[i - k[0], j - k[2]]
                         if k[0] <= i < r - k[1] and k[2] <= j < c - k[3] else sp.Rational(1, 2))
    if kind == "reshape":
        flat = [x[0][i, j] for i in range(x[0].shape[0]) for j in range(x[0].shape[1])]
        return sp.Matrix(r, c, flat)  # row by row
    a, b = x
    p, q = b.shape
    return sp.Matrix(r, c, lambda i, j: a[i // p, j // q] * b[i % p, j % q])


def _i1e(v):
    """e^{-|v|} I₁(v) by its power series Σ (v/2)^{2k+1} / (k! (k+1)!) (the oracle's own)."""
    v = np.asarray(v, dtype=float)
    total = np.zeros_like(v)
    for k in range(40):
        total = total + (v / 2) ** (2 * k + 1) / (math.factorial(k) * math.factorial(k + 1))
    return total * np.exp(-np.abs(v))


NORMS = {"batchnorm": 1, "layernorm": 0}  # the axis their statistics are taken along
EPS = 1e-5  # their default ε


def _softmax(o, axis: int = 0):
    e = np.exp(o - o.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


MAX_GAP = 1e-3  # a pooling window whose two largest entries are closer is a kink


def _axes_of(written: str) -> tuple[int, ...]:
    return tuple(int(a) for a in written.split(",") if a)


def _np_tensor(e: Ex, x: list, guard: bool) -> Any:
    """The n-D primitives in NumPy, one output pixel at a time (the library works tap by
    tap or through windows; this oracle shares neither)."""
    kind, _, arg = e.op.partition(":")
    k = [int(v) for v in arg.split(":")] if kind in ("conv2d", "maxpool2d", "avgpool2d") \
        else []
    out = np.zeros(e.shape or ())
    if kind == "conv2d":
        sh, sw, ph, pw = k
        xp = np.pad(x[0], ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        _, _, kh, kw = x[1].shape
        for h, w in np.ndindex(*out.shape[2:]):
            patch = xp[:, :, h * sh:h * sh + kh, w * sw:w * sw + kw]
            out[:, :, h, w] = np.tensordot(patch, x[1], axes=([1, 2, 3], [1, 2, 3]))
        return out + (x[2].reshape(1, -1, 1, 1) if len(x) == 3 else 0)
    if kind in ("maxpool2d", "avgpool2d"):
        kh, kw, sh, sw = k
        for h, w in np.ndindex(*out.shape[2:]):
            win = x[0][:, :, h * sh:h * sh + kh, w * sw:w * sw + kw].reshape(*out.shape[:2], -1)
            if kind == "avgpool2d":
                out[:, :, h, w] = win.mean(axis=2)
                continue
            top = np.sort(win, axis=2)
            if guard and win.shape[2] > 1 and np.min(top[..., -1] - top[..., -2]) < MAX_GAP:
                raise BadPoint("max pooling near a tie")
            out[:, :, h, w] = top[..., -1]
        return out
    if kind == "einsum":
        ins = arg.split("->")[0].split(",")
        r = np.einsum(arg, *(np.ravel(v) if len(i) == 1 else v for i, v in zip(ins, x,
                                                                                strict=True)))
        return np.reshape(r, e.shape)
    if kind == "permute":
        return np.transpose(x[0], [int(i) for i in arg.split(",")])
    if kind in ("reshape_nd", "flatten"):
        return np.reshape(x[0], e.shape)
    if kind == "softmax_axis":
        return _softmax(x[0], int(arg))
    if kind == "mean":
        return float(np.mean(x[0]))
    if kind == "reduce":
        how, axes = arg.split(":")
        return getattr(np, how)(x[0], axis=_axes_of(axes), keepdims=True)
    assert kind == "batchnorm2d", kind
    centred = x[0] - x[0].mean(axis=(0, 2, 3), keepdims=True)
    var = (centred * centred).mean(axis=(0, 2, 3), keepdims=True)
    if guard and np.min(var) < KINK:
        raise BadPoint("batchnorm2d of a near-constant channel")
    c = x[0].shape[1]
    eps = float(arg) if arg else EPS
    return x[1].reshape(1, c, 1, 1) * centred / np.sqrt(var + eps) + x[2].reshape(1, c, 1, 1)


def forward(prog: Program, values: dict, guard: bool = False) -> float:
    """The output of the program in float64; with guard, BadPoint near kinks or overflow."""
    env: dict[str, Any] = {}

    def ev(e: Ex):
        a = e.args
        if e.op == "num":
            return float(a[0])
        if e.op == "in":
            v = values[a[0]]
            return np.asarray(v, dtype=float).reshape(e.shape) if e.shape else float(v)
        if e.op == "ref":
            return env[a[0]]
        x = [ev(c) for c in a]
        if e.op.split(":")[0] in TENSOR_OPS:
            r = _np_tensor(e, x, guard)
        elif e.op == "neg":
            r = -x[0]
        elif e.op == "pos":
            r = x[0]
        elif e.op in ("T", "transpose"):
            r = x[0].T if np.ndim(x[0]) >= 2 else x[0]
        elif e.op == "+":
            r = x[0] + x[1]
        elif e.op == "-":
            r = x[0] - x[1]
        elif e.op == "*":
            both = np.ndim(x[0]) == 2 and np.ndim(x[1]) == 2
            r = x[0] @ x[1] if both else x[0] * x[1]
        elif e.op == "@":
            r = x[0] @ x[1]
        elif e.op == "/":
            if guard and np.min(np.abs(x[1])) < KINK:
                raise BadPoint("division by ~0")
            r = x[0] / x[1]
        elif e.op == "**":
            r = np.power(x[0], x[1])
        elif e.op == "hadamard":
            r = x[0] * x[1]
        elif e.op.startswith(("slice:", "concat:", "pad:")) or e.op in ("reshape", "kron"):
            r = _np_structure(e, x)
        elif e.op == "where_gt":
            if guard and np.min(np.abs(np.subtract(x[0], x[1]))) < KINK:
                raise BadPoint("a comparison near a tie")
            r = np.where(np.greater(x[0], x[1]), x[2], x[3])
        elif e.op in ("max", "min"):
            if guard and np.min(np.abs(np.subtract(x[0], x[1]))) < KINK:
                raise BadPoint(f"{e.op} near a tie")
            r = (np.maximum if e.op == "max" else np.minimum)(x[0], x[1])
        elif e.op == "sum":
            r = float(np.sum(x[0]))
        elif e.op == "sqnorm":
            r = float(np.sum(np.square(x[0])))
        elif e.op == "trace":
            r = float(np.trace(x[0])) if np.ndim(x[0]) == 2 else x[0]
        elif e.op == "softmax":
            r = _softmax(x[0])
        elif e.op == "softmax_rows":
            r = _softmax(x[0].T).T
        elif e.op in NORMS:
            k = NORMS[e.op]
            centred = x[0] - x[0].mean(axis=k, keepdims=True)
            var = (centred * centred).mean(axis=k, keepdims=True)
            if guard and np.min(var) < KINK:
                raise BadPoint(f"{e.op} of a near-constant row or column")
            r = x[1] * (centred / np.sqrt(var + EPS)) + x[2]
        elif e.op == "mse":
            r = float(0.5 * np.sum((x[0] - x[1]) ** 2))
        elif e.op == "cross_entropy":
            o = x[0]
            logp = o - o.max(axis=0, keepdims=True)
            logp = logp - np.log(np.exp(logp).sum(axis=0, keepdims=True))
            r = float(-np.sum(x[1] * logp))
        else:
            r = _np_fn(e.op, x[0], guard)
        if guard and not (np.all(np.isfinite(r)) and np.max(np.abs(r), initial=0) < BIG):
            raise BadPoint(f"{e.op} gives {np.max(np.abs(r))}")
        return r

    with np.errstate(all="ignore"):  # overflow is judged by the guard, not warned about
        for n, e in prog.stages:
            env[n] = ev(e)
    return float(env[prog.stages[-1][0]])  # type: ignore[arg-type]


def fd_gradient(prog: Program, values: dict, rel: float = 1e-5) -> dict[str, Any]:
    """Central differences of ``forward``, entry by entry, step ``rel·max(1, |x|)``."""
    out: dict[str, Any] = {}
    for name, shape in prog.inputs.items():
        base = np.array(values[name], dtype=float).reshape(shape or ())
        g = np.zeros_like(base)
        for idx in np.ndindex(base.shape):
            h = rel * max(1.0, float(abs(base[idx])))
            plus, minus = base.copy(), base.copy()
            plus[idx] += h
            minus[idx] -= h
            fp = forward(prog, {**values, name: plus if shape else float(plus)})
            fm = forward(prog, {**values, name: minus if shape else float(minus)})
            g[idx] = (fp - fm) / (2 * h)
        out[name] = g if shape else float(g)
    return out


# ---------------------------------------------------------------------------------------
# Oracle 2: sympy.diff of the inlined expression, matrices entry by entry


def _sym(name: str, shape: Shape):
    if shape is None:
        return sp.Symbol(f"in_{name}", real=True)
    if len(shape) > 2:  # a tensor: a NumPy array of SymPy symbols
        out = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            out[idx] = sp.Symbol(f"in_{name}[{','.join(map(str, idx))}]", real=True)
        return out
    return sp.Matrix(shape[0], shape[1],
                     lambda i, j: sp.Symbol(f"in_{name}[{i},{j}]", real=True))


def _spread(x, shape):
    if isinstance(x, sp.MatrixBase):
        if x.shape == shape:
            return x
        return sp.Matrix(shape[0], shape[1], lambda i, j: x[i, 0])  # a column over a batch
    return sp.Matrix(shape[0], shape[1], lambda i, j: x)


def _elementwise(f, *xs):
    if any(isinstance(x, np.ndarray) for x in xs):  # tensors, NumPy's broadcasting
        return np.frompyfunc(f, len(xs), 1)(*(_arr(x) if isinstance(x, sp.MatrixBase) else x
                                              for x in xs))
    mats = [x for x in xs if isinstance(x, sp.MatrixBase)]
    if not mats:
        return f(*xs)
    shape = max((m.shape for m in mats), key=lambda s: s[1])
    ys = [_spread(x, shape) for x in xs]
    return sp.Matrix(shape[0], shape[1], lambda i, j: f(*(y[i, j] for y in ys)))


_SP_FN = {
    # unevaluated: Piecewise.eval recursed without end on some drawn conditions (SymPy 1.14)
    "where_gt": lambda a, b, x, y: sp.Piecewise((x, a > b), (y, True), evaluate=False),
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "abs": sp.Abs, "sin": sp.sin,
    "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh, "sigmoid": lambda v: 1 / (1 + sp.exp(-v)),
    "relu": lambda v: sp.Max(v, 0), "softplus": lambda v: sp.log(1 + sp.exp(v)),
    "max": sp.Max, "min": sp.Min, "arctan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
    "erf": sp.erf, "arcsinh": sp.asinh, "silu": lambda v: v / (1 + sp.exp(-v)),
    "softsign": lambda v: v / (1 + sp.Abs(v)),
    "gelu": lambda v: v * (1 + sp.erf(v / sp.sqrt(2))) / 2,
    "erfc": sp.erfc, "expm1": lambda v: sp.exp(v) - 1, "exp2": lambda v: 2**v,
    "square": lambda v: v**2, "i0e": lambda v: sp.exp(-sp.Abs(v)) * sp.besseli(0, v),
    "i1e": lambda v: sp.exp(-sp.Abs(v)) * sp.besseli(1, v),
    "elu": lambda v: sp.Max(v, 0) + sp.Min(sp.exp(v) - 1, 0),
    "hardtanh": lambda v: sp.Max(-1, sp.Min(v, 1)),
}


class _Max(sp.Function):  # type: ignore[misc]
    """max of the arguments for tensor programs, where SymPy's Max is too slow: its
    derivative builds Max of the other arguments, comparing sums symbolically (3.5 s for the
    60 derivatives of one pooled convolution). A number once every argument is one;
    ∂/∂aᵢ = 1[aᵢ > the others] (no ties: those points are discarded)."""

    sign = 1

    @classmethod
    def eval(cls, *args):  # type: ignore[no-untyped-def]
        if len(args) == 1:
            return args[0]
        if all(a.is_Number for a in args):
            return max(args, key=lambda a: cls.sign * a)
        return None

    def _eval_evalf(self, prec):  # type: ignore[no-untyped-def]
        # max(2, gelu(0.7)) at a point: erf(0.35·√2) is a number but no Number until evalf
        args = [a.evalf(prec) for a in self.args]
        return type(self)(*args) if all(a.is_Number for a in args) else None

    def fdiff(self, argindex: int = 1):  # type: ignore[no-untyped-def]
        a = self.args[argindex - 1]
        rest = type(self)(*self.args[:argindex - 1], *self.args[argindex:])
        return sp.Heaviside(self.sign * (a - rest))


class _Min(_Max):  # type: ignore[misc]
    sign = -1


_SP_FN_TENSOR = {**_SP_FN, "max": _Max, "min": _Min, "relu": lambda v: _Max(v, 0),
                 "elu": lambda v: _Max(v, 0) + _Min(sp.exp(v) - 1, 0),
                 "hardtanh": lambda v: _Max(-1, _Min(v, 1))}


# SymPy's besseli for lambdify (NumPy has only I₀): mpmath, entry by entry
_BESSEL = {"besseli": np.vectorize(lambda n, v: float(mpmath.besseli(n, v)), otypes=[float])}


def _sp_softmax(o):
    cols = [sum(sp.exp(o[k, j]) for k in range(o.shape[0])) for j in range(o.shape[1])]
    return sp.Matrix(o.shape[0], o.shape[1], lambda i, j: sp.exp(o[i, j]) / cols[j])


def _sp_norm(x, gamma, beta, axis: int):
    """γ ⊙ (x − μ)/√(σ² + ε) + β with the statistics of each row (axis 1) or column."""
    v = x if axis == 1 else x.T
    rows = []
    for i in range(v.shape[0]):
        row = list(v.row(i))
        mu = sum(row) / len(row)
        var = sum((p - mu) ** 2 for p in row) / len(row)
        rows.append([(p - mu) / sp.sqrt(var + sp.nsimplify(EPS)) for p in row])
    xhat = sp.Matrix(rows) if axis == 1 else sp.Matrix(rows).T
    return sp.Matrix(x.shape[0], x.shape[1], lambda i, j: gamma[i] * xhat[i, j] + beta[i])


def _arr(x) -> np.ndarray:
    """A value as a NumPy array of SymPy entries (a matrix keeps its two axes)."""
    return x if isinstance(x, np.ndarray) else np.array(x.tolist(), dtype=object)


def _val(a: np.ndarray):
    """An array back as the oracle holds values: rank ≤ 2 a sympy.Matrix (rank 1 a column)."""
    if a.ndim > 2:
        return a
    return sp.Matrix(a.reshape(a.shape[0], -1).tolist())


def _sp_tensor(e: Ex, x: list):
    """The n-D primitives in SymPy, entry by entry from their definitions."""
    kind, _, arg = e.op.partition(":")
    shape = e.shape or ()
    out = np.empty(shape, dtype=object)
    if kind == "conv2d":  # Y[n,f,h,w] = b[f] + Σ_{c,i,j} W[f,c,i,j] X[n,c,sh h+i−ph,sw w+j−pw]
        sh, sw, ph, pw = (int(v) for v in arg.split(":"))
        xs, ws = _arr(x[0]), _arr(x[1])
        _, c, kh, kw = ws.shape

        def at(n, ch, r, q):  # X with zeros around it
            r, q = r - ph, q - pw
            inside = 0 <= r < xs.shape[2] and 0 <= q < xs.shape[3]
            return xs[n, ch, r, q] if inside else sp.S.Zero

        for n, f, h, w in np.ndindex(*shape):
            out[n, f, h, w] = sp.Add(*(ws[f, ch, i, j] * at(n, ch, sh * h + i, sw * w + j)
                                       for ch, i, j in np.ndindex(c, kh, kw)))
            if len(x) == 3:
                out[n, f, h, w] += x[2][f]
        return out
    if kind in ("maxpool2d", "avgpool2d"):
        kh, kw, sh, sw = (int(v) for v in arg.split(":"))
        xs = _arr(x[0])
        for n, ch, h, w in np.ndindex(*shape):
            win = [xs[n, ch, sh * h + i, sw * w + j] for i, j in np.ndindex(kh, kw)]
            out[n, ch, h, w] = _Max(*win) if kind == "maxpool2d" else sp.Add(*win) / len(win)
        return out
    if kind == "einsum":  # every index assignment, its product added to the output's entry
        ins, res = arg.split("->")
        parts = ins.split(",")
        ops = [_arr(v).reshape(-1) if len(p) == 1 else _arr(v) for p, v in zip(parts, x,
                                                                                strict=True)]
        size = {c: n for p, v in zip(parts, ops, strict=True) for c, n in zip(p, v.shape,
                                                                              strict=True)}
        letters = sorted(size)
        terms: dict[tuple, list] = {}
        for idx in itertools.product(*(range(size[c]) for c in letters)):
            index = dict(zip(letters, idx, strict=True))
            terms.setdefault(tuple(index[c] for c in res), []).append(
                sp.Mul(*(v[tuple(index[c] for c in p)] for p, v in zip(parts, ops,
                                                                       strict=True))))
        got = np.empty(tuple(size[c] for c in res), dtype=object)
        for key, ts in terms.items():
            got[key] = sp.Add(*ts)
        return _val(got.reshape(shape))
    if kind == "permute":
        return _val(np.transpose(_arr(x[0]), [int(i) for i in arg.split(",")]))
    if kind in ("reshape_nd", "flatten"):
        return _val(_arr(x[0]).reshape(shape))
    if kind == "softmax_axis":
        ex = np.frompyfunc(sp.exp, 1, 1)(_arr(x[0]))
        return _val(ex / ex.sum(axis=int(arg), keepdims=True))
    if kind == "mean":
        entries = list(_arr(x[0]).ravel())
        return sp.Add(*entries) / len(entries)
    if kind == "reduce":  # over the axes, each kept with length 1
        how, written = arg.split(":")
        xs, axes = _arr(x[0]), _axes_of(written)
        count = math.prod(xs.shape[a] for a in axes)
        mean = xs.sum(axis=axes, keepdims=True) / count
        if how == "var":
            return ((xs - mean) ** 2).sum(axis=axes, keepdims=True) / count
        return mean * count if how == "sum" else mean
    assert kind == "batchnorm2d", kind  # per channel c over n, h, w: γ_c x̂ + β_c
    xs = _arr(x[0])
    eps = sp.nsimplify(float(arg) if arg else EPS)
    for ch in range(shape[1]):
        entries = list(xs[:, ch].ravel())
        mu = sp.Add(*entries) / len(entries)
        sd = sp.sqrt(sp.Add(*((v - mu) ** 2 for v in entries)) / len(entries) + eps)
        for n, h, w in np.ndindex(shape[0], shape[2], shape[3]):
            out[n, ch, h, w] = x[1][ch] * (xs[n, ch, h, w] - mu) / sd + x[2][ch]
    return out


def sympy_expr(prog: Program, plain: bool = False):
    """The output as one SymPy expression of the input symbols (stages inlined); ``plain``:
    scalar inputs as ``Symbol(name, real=True)``, what a user would pass to ``sbp.derive``
    (a complex symbol makes SymPy write abs(exp(x)) as exp(re(x)))."""
    syms = {n: sp.Symbol(n, real=True) if plain and s is None else _sym(n, s)
            for n, s in prog.inputs.items()}
    env: dict[str, object] = {}
    functions = _SP_FN_TENSOR if prog.has_tensors() else _SP_FN

    def ev(e: Ex):
        a = e.args
        if e.op == "num":
            return sp.nsimplify(a[0])  # 0.5 -> 1/2: exact, like the text's constants
        if e.op == "in":
            return syms[a[0]]
        if e.op == "ref":
            return env[a[0]]
        x = [ev(c) for c in a]
        if e.op.split(":")[0] in TENSOR_OPS:
            return _sp_tensor(e, x)
        if e.op in ("sum", "sqnorm", "mse", "cross_entropy") and isinstance(x[0], np.ndarray):
            x = [sp.Matrix(list(v.ravel())) for v in x]  # every entry, row by row
        if e.op == "neg":
            return -x[0]
        if e.op == "pos":
            return x[0]
        if e.op == "*" and any(isinstance(v, np.ndarray) for v in x):
            return _elementwise(lambda p, q: p * q, *x)
        if not isinstance(x[0], sp.MatrixBase | np.ndarray) and e.op in ("T", "transpose", "sum", "sqnorm",
                                                           "trace"):
            return x[0] ** 2 if e.op == "sqnorm" else x[0]
        if e.op in ("T", "transpose"):
            return x[0].T  # a tensor's .T reverses its axes, as NumPy's
        if e.op in ("+", "-"):
            return _elementwise(lambda p, q: p + q if e.op == "+" else p - q, *x)
        if e.op in ("*", "@"):
            return x[0] * x[1]  # SymPy: a matrix product between matrices, else scaling
        if e.op in ("/", "hadamard"):
            return _elementwise(lambda p, q: p / q if e.op == "/" else p * q, *x)
        if e.op == "**":
            return _elementwise(lambda p, q: p ** q, *x)
        if e.op == "sum":
            return sum(x[0])
        if e.op == "sqnorm":
            return sum(v ** 2 for v in x[0])
        if e.op == "trace":
            return x[0].trace()
        if e.op.startswith(("slice:", "concat:", "pad:")) or e.op in ("reshape", "kron"):
            return _sp_structure(e, x)
        if e.op == "softmax":
            return _sp_softmax(x[0])
        if e.op == "softmax_rows":
            return _sp_softmax(x[0].T).T
        if e.op in NORMS:
            return _sp_norm(x[0], x[1], x[2], NORMS[e.op])
        if e.op == "mse":
            return sp.Rational(1, 2) * sum((p - q) ** 2 for p, q in zip(x[0], x[1], strict=False))
        if e.op == "cross_entropy":
            s = _sp_softmax(x[0])
            return -sum(q * sp.log(p) for p, q in zip(s, x[1], strict=False))
        return _elementwise(functions[e.op], *x)

    for n, e in prog.stages:
        env[n] = ev(e)
    return env[prog.stages[-1][0]], syms


def sympy_gradient(prog: Program, values: dict) -> dict[str, Any]:
    """``sympy.diff`` of the inlined output by every input entry, evaluated at the point."""
    expr, syms = sympy_expr(prog)
    flat: list[sp.Symbol] = []
    nums: list[float] = []
    for n, s in syms.items():
        if isinstance(s, sp.MatrixBase | np.ndarray):
            flat += list(s) if isinstance(s, sp.MatrixBase) else list(s.ravel())
            nums += list(np.asarray(values[n], dtype=float).reshape(s.shape).ravel())
        else:
            flat.append(s)
            nums.append(float(values[n]))
    diffs = [sp.diff(expr, v) for v in flat]
    at = {v: sp.Float(x) for v, x in zip(flat, nums, strict=True)}
    if any(isinstance(s, np.ndarray) for s in syms.values()):  # lambdify of the derivative
        got = [float(sp.N(d.xreplace(at))) for d in diffs]  # of a pooling window's Max:
    else:  # minutes (82 s for 9 windows of 4), substitution 0.1 s
        try:
            f = sp.lambdify(flat, diffs, modules=[_BESSEL, "numpy"], cse=True)
        except (SyntaxError, RecursionError):  # min/max of sums: SymPy's Piecewise nests
            got = [float(sp.N(d.xreplace(at))) for d in diffs]  # deeper than Python parses
        else:
            try:
                with np.errstate(all="ignore"):
                    got = [float(v) for v in f(*nums)]
            except TypeError:  # a Piecewise compared inside a condition: lambdify's select
                # got a 0.0/1.0 array where it wants booleans (fuzz seed 12)
                got = [float(sp.N(d.xreplace(at))) for d in diffs]
    out: dict[str, object] = {}
    k = 0
    for n, s in syms.items():
        if isinstance(s, sp.MatrixBase | np.ndarray):
            size = math.prod(s.shape)
            out[n] = np.array(got[k:k + size]).reshape(s.shape)
            k += size
        else:
            out[n] = got[k]
            k += 1
    return out


# ---------------------------------------------------------------------------------------
# Metamorphic variants: the same function, written differently


def inline_all(prog: Program) -> Program:
    """One expression, no stages (unused stages and their inputs drop out)."""
    return Program(prog.inputs, ((prog.stages[-1][0], prog.inlined()),), prog.targets)


def rename_stages(prog: Program, pool: list[str]) -> Program:
    """Every stage renamed (to names from ``pool`` where free), inputs unchanged."""
    taken = set(prog.inputs)
    names: dict[str, str] = {}
    for (old, _), new in zip(prog.stages, pool, strict=False):
        if new in taken or new in names.values():
            continue
        names[old] = new
        taken.add(new)
    for old, _ in prog.stages:
        if old not in names:
            k = 0
            while f"r{k}" in taken:
                k += 1
            names[old] = f"r{k}"
            taken.add(f"r{k}")
    return Program(prog.inputs, tuple((names[n], e.rename(names)) for n, e in prog.stages),
                   prog.targets, prog.sep)


def extract_stage(prog: Program, stage: int, node: int, name: str) -> Program | None:
    """The ``node``-th compound subexpression of stage ``stage`` pulled out into a new stage
    ``name`` just before it; None when that stage has no compound subexpression."""
    i = stage % len(prog.stages)
    lhs, e = prog.stages[i]
    subs = [x for x in e.nodes() if x.op not in ("num", "in", "ref") and x is not e]
    if not subs or name in prog.inputs or name in dict(prog.stages):
        return None
    sub = subs[node % len(subs)]
    new = e.replace(sub, Ex("ref", (name,), sub.shape))
    stages = (*prog.stages[:i], (name, sub), (lhs, new), *prog.stages[i + 1:])
    return Program(prog.inputs, stages, prog.targets, prog.sep)


# ---------------------------------------------------------------------------------------
# Regression cases are kept as text: read back into a tree (our own reading, with Python's ast)


def from_text(text: str, shapes: dict[str, tuple[int, int]]) -> Program:
    """A Program from text in the language, so the oracles can judge a kept reproducer."""
    import ast

    stages: list[tuple[str, Ex]] = []
    inputs: dict[str, Shape] = {}
    bound: dict[str, Shape] = {}

    def mk(node) -> Ex:
        if isinstance(node, ast.Constant):
            return Ex("num", (node.value,))
        if isinstance(node, ast.Name):
            if node.id in bound:
                return Ex("ref", (node.id,), bound[node.id])
            shape = _as_shape(shapes[node.id]) if node.id in shapes else None
            inputs[node.id] = shape
            return Ex("in", (node.id,), shape)
        if isinstance(node, ast.UnaryOp):
            a = mk(node.operand)
            if isinstance(node.op, ast.UAdd):
                return a
            if a.op == "num":
                return Ex("num", (-a.args[0],))
            return Ex("neg", (a,), a.shape)
        if isinstance(node, ast.Attribute):
            a = mk(node.value)
            return Ex("T", (a,), a.shape[::-1] if a.shape else None)
        if isinstance(node, ast.BinOp):
            op = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
                  ast.MatMult: "@"}[type(node.op)]
            a, b = mk(node.left), mk(node.right)
            return Ex(op, (a, b), _shape_of(op, a.shape, b.shape))
        assert isinstance(node, ast.Call)
        assert isinstance(node.func, ast.Name)
        f = node.func.id
        tensor = _tensor_call(f, node, mk)
        if tensor is not None:
            return tensor
        args = tuple(mk(x) for x in node.args)
        if f in ("sum", "sqnorm", "mse", "cross_entropy", "trace"):
            shape = None
        elif f == "transpose":
            shape = args[0].shape[::-1] if args[0].shape else None
        else:
            shape = _shape_of(f, *(a.shape for a in args)) if len(args) == 2 else args[0].shape
        return Ex(f, args, shape)

    body = ast.parse(text).body
    for i, stmt in enumerate(body):
        if isinstance(stmt, ast.Assign):
            target = stmt.targets[0]
            assert isinstance(target, ast.Name)
            name, e = target.id, mk(stmt.value)
        else:
            assert isinstance(stmt, ast.Expr)
            name, e = f"out{i}", mk(stmt.value)
        bound[name] = e.shape
        stages.append((name, e))
    return Program(inputs, tuple(stages))


def _as_shape(s) -> Shape:
    return (s[0], 1) if len(s) == 1 else tuple(s)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _tensor_call(f: str, node, mk) -> Ex | None:
    """A call of an n-D primitive read back with its shape (None: not one). Static
    arguments are literals (ast.literal_eval of the node: never code)."""
    import ast

    kw = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    if f == "einsum":
        spec = ast.literal_eval(node.args[0])
        xs = tuple(mk(a) for a in node.args[1:])
        ins, out = spec.replace(" ", "").split("->")
        size = {c: n for p, x in zip(ins.split(","), xs, strict=True)
                for c, n in zip(p, x.shape, strict=False)}
        dims = tuple(size[c] for c in out)
        return Ex(f"einsum:{spec}", xs, _as_shape(dims))
    if f not in ("conv2d", "maxpool2d", "avgpool2d", "transpose", "reshape", "flatten",
                 "softmax", "batchnorm2d", "mean", "sum", "var") \
            or (f == "transpose" and len(node.args) < 2):
        return None
    x = mk(node.args[0])
    rest = node.args[1:]
    if f in ("sum", "mean", "var"):
        if "axis" not in kw or x.shape is None or len(x.shape) < 3:
            return None if f != "mean" else Ex("mean", (x,))
        axes = kw["axis"] if isinstance(kw["axis"], tuple) else (kw["axis"],)
        written = ",".join(map(str, axes)) + ("," if isinstance(kw["axis"], tuple)
                                              and len(axes) == 1 else "")
        return Ex(f"reduce:{f}:{written}", (x,), tuple(
            1 if i in axes or i - len(x.shape) in axes else n for i, n in enumerate(x.shape)))
    if f == "conv2d":
        xs = (x, *(mk(a) for a in rest))
        (sh, sw), (ph, pw) = _pair(kw.get("stride", 1)), _pair(kw.get("padding", 0))
        n, _, h, w = x.shape  # type: ignore[misc]
        fo, _, kh, kw_ = xs[1].shape  # type: ignore[misc]
        return Ex(f"conv2d:{sh}:{sw}:{ph}:{pw}", xs,
                  (n, fo, (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw_) // sw + 1))
    if f in ("maxpool2d", "avgpool2d"):
        kh, kw_ = _pair(ast.literal_eval(rest[0]))
        sh, sw = _pair(kw.get("stride", (kh, kw_)))
        n, c, h, w = x.shape  # type: ignore[misc]
        return Ex(f"{f}:{kh}:{kw_}:{sh}:{sw}", (x,), (n, c, (h - kh) // sh + 1,
                                                      (w - kw_) // sw + 1))
    if f == "transpose":
        perm = ast.literal_eval(rest[0])
        return Ex("permute:" + ",".join(map(str, perm)), (x,),
                  tuple(x.shape[i] for i in perm))  # type: ignore[index]
    if f == "reshape":
        sizes = list(ast.literal_eval(rest[0]))
        minus = str(sizes.index(-1)) if -1 in sizes else ""
        if minus:
            sizes[int(minus)] = math.prod(x.shape or ()) // -math.prod(sizes)
        return Ex(f"reshape_nd:{minus}", (x,), _as_shape(sizes))
    if f == "flatten":
        return Ex("flatten", (x,), (math.prod(x.shape or ()), 1))
    if f == "softmax":
        axis = kw.get("axis", 0)
        if x.shape is not None and len(x.shape) > 2:
            return Ex(f"softmax_axis:{axis}", (x,), x.shape)
        return Ex("softmax_rows" if axis in (1, -1) else "softmax", (x,), x.shape)
    if f == "batchnorm2d":
        return Ex(f"batchnorm2d:{kw.get('eps', '')}", (x, *(mk(a) for a in rest)), x.shape)
    return Ex("mean", (x,))


def _shape_of(op: str, a: Shape, b: Shape) -> Shape:
    if a is not None and b is not None and op in ("*", "@") and len(a) == len(b) == 2:
        return (a[0], b[1])
    if a is None or b is None:
        return a or b
    if len(a) > 2 or len(b) > 2:  # NumPy's broadcasting
        return tuple(int(n) for n in np.broadcast_shapes(a, b))
    return a if a[1] >= b[1] else b  # a column spreads over a batch
