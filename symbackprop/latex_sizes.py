"""The sizes of the ones vector 𝟏 and the identity I in LaTeX: what they multiply or are
added to fixes them, as on paper (``X𝟏``, ``𝟏ᵀX``, ``v − 𝟏c``, ``t ⊙ I``, across stages).
``latex_input`` writes each as a name (``_one0``, ``_eye1``); ``Sizes`` reads the code with
``ast`` (nothing runs) and the parser's own shapes of what holds none (a trial parser of a
builder of its own, made by ``parse.py``), and says the code of each, or raises a
ParseError where nothing fixes one (never the number 1 silently)."""

from __future__ import annotations

import ast
import copy
import os
import re
from typing import TYPE_CHECKING, Any

import sympy as sp

from .builder import Builder
from .errors import SymbackpropError
from .latex_lexer import Piece
from .rules import RULES
from .shapes import axes_of, shape_of, tensor_dims

if TYPE_CHECKING:
    from .latex_input import _Reader


_HOLE = re.compile(r"_(one|eye)(\d+)\Z")  # a 𝟏 or an I in the code Sizes reads
_OPAQUE = "opaque"  # a shape not known here: a tensor's, or what the parser refused
_OPEN = "open"  # (settled: neither operand decides the shape alone)
# functions whose value has their operands' shape (element-wise), or one number
_ELEMENTWISE = frozenset({n for n, r in RULES.items() if r.sympy is not None}
                         | {a for r in RULES.values() if r.sympy is not None for a in r.aliases}
                         | {"hadamard", "maximum", "minimum"})
_SAME_SHAPE = frozenset({"softmax", "log_softmax", "cumsum", "cumprod", "flip"})
_TO_NUMBER = frozenset({"sum", "mean", "var", "std", "trace", "det", "logdet", "sqnorm", "norm",
                        "norm2", "norm1", "prod", "logsumexp", "mse", "cross_entropy"})
_UNSIZED = {
    "one": r"the length of \mathbf{1} here is not fixed by what it multiplies or is added "
           r"to: write it, \mathbf{1}_{n} (n a whole number or a dimension named in shapes)",
    "eye": r"the size of \mathbf{I} here is not fixed by what it multiplies or is added to: "
           r"write it, \mathbf{I}_{n} (n a whole number or a dimension named in shapes)",
}


def dimension_names(b: Builder | None) -> set[str]:
    """The names of the symbolic sizes in ``b``'s shapes (what ``ones(n, 1)`` may name)."""
    if b is None:
        return set()
    return {str(d) for shape in b.shapes.values() for d in axes_of(shape)
            if isinstance(d, sp.Symbol)}


class _Size:
    """A size not known yet (a 𝟏's length, an I's order): a union-find of the sizes found
    equal, whose root holds the value once known and whether it matters (the 𝟏 is in a
    product summed over, summed by a function, or the output's; else the number 1 spread
    is the same)."""

    __slots__ = ("matters", "up", "value")

    def __init__(self) -> None:
        self.up: _Size | None = None
        self.value: sp.Expr | None = None
        self.matters = False

    def root(self) -> _Size:
        r = self
        while r.up is not None:
            r = r.up
        return r


Dim = Any  # sp.Expr or _Size
Shape = Any  # None (a scalar), (rows, cols) of Dims, or _OPAQUE


def _value(d: Dim) -> sp.Expr | None:
    return d.root().value if isinstance(d, _Size) else d


def _unify(a: Dim, b: Dim) -> None:
    """``a`` and ``b`` are one size (when both are known and differ, the parser says so)."""
    if isinstance(a, _Size) and isinstance(b, _Size):
        ra, rb = a.root(), b.root()
        if ra is not rb:
            ra.up = rb
            rb.matters |= ra.matters
            rb.value = ra.value if rb.value is None else rb.value
        return
    if isinstance(b, _Size):
        a, b = b, a
    if isinstance(a, _Size) and a.root().value is None:
        a.root().value = b


def _scalar(s: Shape) -> bool:
    """A number, or a 1×1 (which the parser reads as one)."""
    return s is None or (s is not _OPAQUE and _value(s[0]) == 1 and _value(s[1]) == 1)


class Sizes:
    """The size of each 𝟏 and I the reader read without one, from the shapes: ``X𝟏`` (𝟏 of
    X's width), ``𝟏ᵀX``, ``𝟏𝟏ᵀ`` between matrices, ``v − 𝟏c`` (v's length), ``t ⊙ I``,
    ``2I + A`` (A's size), across stages too (``t = u𝟏ᵀ`` sized where t is used). The code
    is read with ``ast`` (each 𝟏 and I a name ``_one0``, ``_eye1``); the shape of what holds
    none is the parser's own, built in a builder of its own (``oracle``). A 𝟏 whose size
    matters (a product sums over it, a function sums it, the output) is ``ones(n, 1)``, any
    other the number 1 spread by the operation around (the same numbers); an I is
    ``eye(n)``. A size that nothing fixes is a ParseError at the 𝟏 or I (never the number 1
    silently)."""

    def __init__(self, reader: _Reader, codes: list[Piece]) -> None:
        self.reader = reader
        self.b: Builder = reader.builder
        self.reading = reader.assemble(codes, None)
        self.holes = reader.unsized
        self.size: dict[int, _Size] = {}  # each 𝟏's length, each I's order
        self.rhs: dict[str, ast.expr] = {}  # the stages read so far
        self.shapes: dict[str, Shape] = {}  # their shapes, once asked for
        self.varies: dict[int, bool] = {}  # ids of nodes that hold a size not known yet
        self.failed = False  # the parser refused a part: it says why, when it reads it all
        self.trial: Any = None
        self.upto = 0  # the stages (in self.rhs's order) whose shapes oracle has found

    def fill(self) -> dict[int, str]:
        """The code of each 𝟏 and I."""
        try:
            tree = ast.parse(self.reading.code, filename=os.devnull, mode="exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
            tree = ast.Module([], [])  # the parser says what is wrong with the code
            self.failed = True
        for k, stmt in enumerate(tree.body):
            if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
                name: str | None = stmt.targets[0].id
                value = stmt.value
            elif isinstance(stmt, ast.Expr):
                name, value = None, stmt.value
            else:  # pragma: no cover - the reader writes no other statement
                self.failed = True
                break
            shape = self.infer(value) if self.varying(value) else None
            if name is not None:
                self.rhs[name] = value
                if self.varying(value):
                    self.shapes[name] = shape
            if k == len(tree.body) - 1:
                self.matter(shape)  # the output's size matters
        return {k: self.code(k) for k in range(len(self.holes))}

    def code(self, k: int) -> str:
        """The code of the 𝟏 or I number ``k``."""
        kind, at = self.holes[k]
        size = self.size[k].root() if k in self.size else None
        if size is None or size.value is None:
            if self.failed or (kind == "one" and size is not None and not size.matters):
                return "(1)"  # (the parser says what is wrong; a 𝟏 spread that nothing sums)
            why = _UNSIZED[kind]
            if kind == "eye" and "I" not in self.b.shapes:
                why += "; or, for a variable named I, declare it in shapes"
            raise self.reader.error(at, why)
        n = size.value
        if n == 1 or (kind == "one" and not size.matters):
            return "(1)"
        return f"ones({self.written(n, at)}, 1)" if kind == "one" else \
            f"eye({self.written(n, at)})"

    def written(self, n: sp.Expr, at: int) -> str:
        if n.is_Integer and n > 0:
            return str(n)
        if isinstance(n, sp.Symbol) and str(n) in dimension_names(self.b):
            return str(n)
        if self.failed:
            return "1"
        raise self.reader.error(at, f"the size {n} of the \\mathbf{{1}} or \\mathbf{{I}} "
                                "here is no whole number or dimension named in shapes: "
                                "write it (\\mathbf{1}_{n})")

    # what the code holds ----------------------------------------------------------------
    def hole(self, node: ast.AST) -> int | None:
        m = _HOLE.match(node.id) if isinstance(node, ast.Name) else None
        return int(m.group(2)) if m else None

    def varying(self, node: ast.AST) -> bool:
        """Whether ``node`` holds a 𝟏 or an I, or a stage whose shape holds a size that
        was not known when it was read."""
        varies = self.varies
        if id(node) not in varies:  # every node below, once (post-order, no recursion)
            stack: list[tuple[ast.AST, bool]] = [(node, False)]
            while stack:
                n, ready = stack.pop()
                if id(n) in varies:
                    continue
                kids = list(ast.iter_child_nodes(n))
                if not ready:
                    stack.append((n, True))
                    stack.extend((c, False) for c in kids)
                    continue
                varies[id(n)] = self.hole(n) is not None or (
                    isinstance(n, ast.Name) and n.id in self.shapes
                    and _sized(self.shapes[n.id])) or any(varies[id(c)] for c in kids)
        return varies[id(node)]

    def unknown(self, node: ast.AST) -> bool:
        """Whether a size in ``node`` is not known (yet)."""
        for n in ast.walk(node):
            k = self.hole(n)
            if k is not None and (k not in self.size or self.size[k].root().value is None):
                return True
            if isinstance(n, ast.Name) and n.id in self.shapes:
                s = self.shapes[n.id]
                if s is _OPAQUE or (s is not None and None in map(_value, s)):
                    return True
        return False

    def matter(self, s: Shape) -> None:
        if s is not None and s is not _OPAQUE:
            for d in s:
                if isinstance(d, _Size):
                    d.root().matters = True

    # shapes ---------------------------------------------------------------------------
    def infer(self, node: ast.AST) -> Shape:
        if not self.varying(node):
            return self.oracle(node)
        if isinstance(node, ast.Name):
            k = self.hole(node)
            if k is None:
                return self.shapes[node.id]
            size = self.size.setdefault(k, _Size())
            return (size, sp.S.One) if self.holes[k][0] == "one" else (size, size)
        if isinstance(node, ast.UnaryOp):
            return self.infer(node.operand)
        if isinstance(node, ast.Attribute):  # .T
            s = self.infer(node.value)
            return s if s is None or s is _OPAQUE else (s[1], s[0])
        if isinstance(node, ast.BinOp):  # a chain a + b - c …: along its spine, no recursion
            spine = []
            while isinstance(node, ast.BinOp) and self.varying(node):
                spine.append(node)
                node = node.left
            x = self.infer(node)
            for b in reversed(spine):
                x = self.binary(b.op, x, self.infer(b.right))
            return x
        if isinstance(node, ast.Compare):
            return self.entrywise(self.infer(node.left), self.infer(node.comparators[0]))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return self.call(node, node.func.id)
        if isinstance(node, ast.Subscript):  # an index: of a value sized here
            self.matter(self.infer(node.value))
        return _OPAQUE if self.unknown(node) else self.oracle(node)

    def binary(self, op: ast.operator, x: Shape, y: Shape) -> Shape:
        if isinstance(op, (ast.Mult, ast.MatMult)):
            return self.product(x, y)
        if isinstance(op, ast.Div) and _scalar(y):
            return x
        if isinstance(op, ast.Pow):  # e^x: the exponent's; X^2, X^{∘2}: X's
            return y if x is None else x
        return self.entrywise(x, y)

    def call(self, node: ast.Call, name: str) -> Shape:
        shapes = [self.infer(a) for a in node.args]
        if not shapes:
            return _OPAQUE
        if node.keywords and name not in _SAME_SHAPE:
            pass  # along an axis: the parser's shape, below
        elif name in _SAME_SHAPE:
            return shapes[0]
        elif name == "transpose":
            s = shapes[0]
            return s if s is None or s is _OPAQUE else (s[1], s[0])
        elif name in _TO_NUMBER or (name in ("max", "min") and len(shapes) == 1):
            for s in shapes:
                self.matter(s)
            return None
        elif name in _ELEMENTWISE:
            out = shapes[0]
            for s in shapes[1:]:
                out = self.entrywise(out, s)
            return out
        for s in shapes:
            self.matter(s)
        return _OPAQUE if self.unknown(node) else self.oracle(node)

    def settled(self, x: Shape, y: Shape) -> Shape:
        """x with y when one is not known here (both then matter) or a number (the other's
        shape); _OPEN when both are arrays of known kind, for the caller to combine."""
        if x is _OPAQUE or y is _OPAQUE:
            self.matter(x)
            self.matter(y)
            return _OPAQUE
        if _scalar(x):
            return y
        if _scalar(y):
            return x
        return _OPEN

    def product(self, x: Shape, y: Shape) -> Shape:
        """``x * y`` as the parser reads it: a scalar (or a 1×1) scales, matrices multiply.
        The length summed over matters (X𝟏, 𝟏ᵀX); the outer ones are the result's (𝟏𝟏ᵀ
        spread against S is the number 1, as is 𝟏uᵀ against S)."""
        plain = self.settled(x, y)
        if plain is not _OPEN:
            return plain
        _unify(x[1], y[0])
        self.matter((x[1], y[0]))
        return (x[0], y[1])

    def entrywise(self, x: Shape, y: Shape) -> Shape:
        """``x + y``, ``x ⊙ y``: a size not known is its partner's (𝟏 + v is of v's length);
        known sizes broadcast, as NumPy's. A partner's length 1 fixes nothing (it
        broadcasts): in 𝟏 ⊘ (x𝟏ᵀ) and 𝟏 − X𝟏𝟏ᵀ the row 𝟏ᵀ keeps its length open, for what
        else fixes it, or a ParseError (never the length 1 guessed)."""
        plain = self.settled(x, y)
        if plain is not _OPEN:
            return plain
        out = []
        for a, b in zip(x, y, strict=True):
            va, vb = _value(a), _value(b)
            if va == 1 or vb == 1:  # one side unknown, the other 1: the unknown one's
                out.append(a if vb == 1 else b)
            elif va is None or vb is None:
                _unify(a, b)
                out.append(a)
            else:
                out.append(b if va == 1 else a)
        return tuple(out)

    # the parser's own shapes --------------------------------------------------------------
    def oracle(self, node: ast.AST) -> Shape:
        """The shape of ``node`` as the parser builds it (its 𝟏 and I sized as known), in a
        builder of its own; _OPAQUE when it refuses it (it says why when it reads it all)."""
        if self.trial is None:
            trial = Builder(resolve=self.known)
            trial.shapes = dict(self.b.shapes)
            if self.reader.trial is None:  # (read_latex called without one)
                self.failed = True
                return _OPAQUE
            self.trial = self.reader.trial(self.reading, trial)
        if any(isinstance(n, ast.Name) and n.id in self.rhs and n.id not in self.shapes
               for n in ast.walk(node)):  # the earlier stages' shapes first, in their order
            stages = list(self.rhs)  # (each reads only those before it: no recursion down
            while self.upto < len(stages):  # a chain of a thousand stages)
                name = stages[self.upto]
                self.upto += 1
                if name not in self.shapes:
                    self.shapes[name] = self.oracle(self.rhs[name])
        for n in ast.walk(node):  # the stages it reads: inputs of their shapes, here
            if isinstance(n, ast.Name) and n.id in self.rhs and \
                    n.id not in self.trial.b.symbols:
                s = self.shapes[n.id]
                if s is _OPAQUE:
                    return _OPAQUE
                if s is not None:
                    self.trial.b.shapes[n.id] = (_value(s[0]), _value(s[1]))
        if any(self.hole(n) is not None for n in ast.walk(node)):
            node = _Fill(self).visit(copy.deepcopy(node))
        try:
            term = self.trial.expr(node)
        except (SymbackpropError, ValueError, TypeError, ArithmeticError, RecursionError):
            self.failed = True
            return _OPAQUE
        s = shape_of(term)
        return _OPAQUE if s is not None and tensor_dims(s) is not None else s


    def known(self, name: str) -> sp.Basic | None:
        """A name the parser's builder knows already (a Graph's earlier stage)."""
        got = self.b.symbols.get(name)
        if got is None and self.b.resolve is not None:
            got = self.b.resolve(name)
        return got


def _sized(s: Shape) -> bool:
    """Whether a shape holds a size of a 𝟏 or an I."""
    return s is not None and s is not _OPAQUE and any(isinstance(d, _Size) for d in s)


class _Fill(ast.NodeTransformer):
    """A copy of the code with each 𝟏 and I as the parser reads it, sized (for ``oracle``)."""

    def __init__(self, sizes: Sizes) -> None:
        self.sizes = sizes

    def visit_Name(self, node: ast.Name) -> ast.AST:
        k = self.sizes.hole(node)
        if k is None:
            return node
        n = self.sizes.size[k].root().value
        assert n is not None  # oracle is asked only once it is known
        dim: ast.expr = ast.Constant(int(n)) if n.is_Integer else ast.Name(str(n), ast.Load())
        if n == 1:
            made: ast.expr = ast.Constant(1)
        elif self.sizes.holes[k][0] == "one":
            made = ast.Call(ast.Name("ones", ast.Load()), [dim, ast.Constant(1)], [])
        else:
            made = ast.Call(ast.Name("eye", ast.Load()), [dim], [])
        for n2 in ast.walk(made):
            ast.copy_location(n2, node)
        return made
