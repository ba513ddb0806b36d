"""The computation graph: an ordered, immutable list of equations (a Wengert list).

Every front end (text, SymPy expression, Python function, ``Graph.let`` stages) feeds a
``Builder``, which records primitive nodes bottom-up, each a temporary symbol with a
*shallow* right-hand side, shared subexpressions once. ``decompose`` then chooses which nodes
become named equations (every primitive, layers, or the user's stages) and names them.
Nothing here walks a deep SymPy tree recursively.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import sympy as sp
from sympy import HadamardProduct, MatAdd, MatMul

from .algebra import is_matrix, mmul
from .errors import GraphError, LimitError, ShapeError, UnsupportedError
from .recognise import classify, is_leaf, replace_args
from .rules import FUNCTION_NAMES, RULES

if TYPE_CHECKING:
    from .parse import Limits

Term: TypeAlias = Any  # a SymPy leaf, node symbol, or small inline expression over them
Shape = tuple[sp.Expr, sp.Expr] | None  # None: a scalar
Granularity = Literal["auto", "primitive", "layers", "stages"]

MAX_FACTORS = 32  # a longer product is split into nodes of this many (a partial lists the rest)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@dataclass(frozen=True, slots=True)
class Equation:
    """``lhs = rhs``: lhs a Symbol or MatrixSymbol, rhs in inputs and earlier lhs."""

    lhs: sp.Basic
    rhs: sp.Basic

    def __iter__(self) -> Iterator[sp.Basic]:
        return iter((self.lhs, self.rhs))


# ---------------------------------------------------------------------------------------
# Shapes


def dim(v: Any) -> sp.Expr:
    """A dimension: an int, or a name for a symbolic size (``"m"``)."""
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, bool):
        raise ShapeError(f"dimension {v!r} is not a size")
    if isinstance(v, int):
        if v < 1:
            raise ShapeError(f"dimension {v} must be positive")
        return sp.Integer(v)
    if isinstance(v, str) and _NAME.match(v):
        return sp.Symbol(v, integer=True, positive=True)
    raise ShapeError(f"dimension {v!r} is neither a positive int nor a name")


def to_shape(name: str, s: Any) -> Shape:
    """``(r, c)``, ``(n,)`` (a column vector), ``()`` / ``None`` (a scalar)."""
    if s is None or s == ():
        return None
    if isinstance(s, (int, str)):
        s = (s,)
    try:
        items = tuple(s)
    except TypeError:
        raise ShapeError(f"shape of {name!r} must be (rows, cols), (n,) or (), not {s!r}") from None
    if len(items) == 1:
        items = (items[0], 1)
    if len(items) != 2:
        raise ShapeError(f"shape of {name!r} must be (rows, cols), (n,) or (), not {s!r}")
    return (dim(items[0]), dim(items[1]))


def shape_of(t: Term) -> Shape:
    return tuple(t.shape) if is_matrix(t) else None  # type: ignore[return-value]


def fmt_shape(s: Shape) -> str:
    return "scalar" if s is None else f"({s[0]}, {s[1]})"


def check_name(name: str, what: str = "name") -> str:
    if not isinstance(name, str) or not _NAME.match(name) or name.startswith("_"):
        raise GraphError(f"{what} {name!r} must be a plain identifier (letters, digits, _)")
    return name


def make_symbol(name: str, shape: Shape) -> sp.Basic:
    if shape is None:
        return sp.Symbol(name, real=True)
    return sp.MatrixSymbol(name, *shape)


def tree_size(expr: sp.Basic, sizes: Mapping[sp.Basic, int]) -> int:
    """Nodes of ``expr`` as a tree once each symbol in ``sizes`` stands for a tree of that
    many nodes (a count, never a substitution: linear in the shallow expression)."""
    total, stack = 0, [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            total += sizes.get(e, 1)
        else:
            total += 1
            if not is_leaf(e):
                stack.extend(e.args)
    return total


def atoms_in_order(expr: sp.Basic) -> list[sp.Basic]:
    """Symbols and matrix symbols of a (shallow) expression, in order of first appearance."""
    seen: dict[sp.Basic, None] = {}
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            seen.setdefault(e, None)
        elif isinstance(e, sp.Basic) and not is_leaf(e):
            stack.extend(reversed(e.args))
    return list(seen)


# ---------------------------------------------------------------------------------------
# The builder


class Builder:
    """Collects primitive nodes bottom-up; hash-conses them on their shallow right-hand side."""

    def __init__(self, shapes: Mapping[str, Any] | None = None,
                 resolve: Callable[[str], sp.Basic | None] | None = None) -> None:
        self.resolve = resolve  # names known from elsewhere (a Graph's earlier stages)
        self.shapes: dict[str, Shape] = {}
        for k, v in (shapes or {}).items():
            self.shapes[check_name(k, "shape name")] = to_shape(k, v)
        self.symbols: dict[str, sp.Basic] = {}  # inputs and named stages, by name
        self.inputs: dict[sp.Basic, None] = {}
        self.nodes: list[Equation] = []
        self.names: dict[sp.Basic, str] = {}  # node symbol -> user stage name
        self._memo: dict[sp.Basic, sp.Basic] = {}
        self.temps: set[sp.Basic] = set()
        self._node_lhs: set[sp.Basic] = set()
        self.output: Term | None = None

    # inputs -----------------------------------------------------------------------------
    def lookup(self, name: str) -> sp.Basic:
        """A name in the text: an earlier stage, else an input with its declared shape."""
        if name in self.symbols:
            return self.symbols[name]
        known = self.resolve(name) if self.resolve else None
        if known is not None:
            self.symbols[name] = known
            self.temps.add(known)
            return known
        sym = make_symbol(name, self.shapes.get(name))
        self.symbols[name] = sym
        self.inputs[sym] = None
        return sym

    def adopt(self, sym: sp.Basic) -> sp.Basic:
        """A symbol from a user's SymPy expression: checked against shapes and earlier uses."""
        name = check_name(str(sym.name), "symbol name")
        if isinstance(sym, sp.MatrixSymbol):
            declared = self.shapes.get(name, tuple(sym.shape))
            if declared is None or tuple(declared) != tuple(sym.shape):
                raise ShapeError(f"{name} is {fmt_shape(tuple(sym.shape))} in the expression "
                                 f"but {fmt_shape(declared)} in shapes")
        elif name in self.shapes and self.shapes[name] is not None:
            raise ShapeError(f"{name} is a scalar symbol but shapes says "
                             f"{fmt_shape(self.shapes[name])}: use a MatrixSymbol")
        have = self.symbols.get(name)
        if have is None and self.resolve is not None:
            have = self.resolve(name)
            if have is not None and have == sym:
                self.symbols[name] = sym
                self.temps.add(sym)
                return sym
        if have is not None and have != sym:
            if shape_of(have) != shape_of(sym):
                raise ShapeError(f"{name} is used with two shapes: {fmt_shape(shape_of(have))} "
                                 f"and {fmt_shape(shape_of(sym))}")
            raise GraphError(f"two different symbols are both named {name!r}")
        if have is None:
            self.symbols[name] = sym
            self.inputs[sym] = None
        return sym

    # nodes ------------------------------------------------------------------------------
    def node(self, rhs: sp.Basic) -> Term:
        """The node computing ``rhs`` (shared if it exists), or ``rhs`` itself for a leaf."""
        if is_leaf(rhs):
            return rhs
        have = self._memo.get(rhs)
        if have is not None:
            return have
        lhs = self._temp(shape_of(rhs))
        self.append(Equation(lhs, rhs))
        self._memo[rhs] = lhs
        return lhs

    def _temp(self, shape: Shape) -> sp.Basic:
        lhs = make_symbol(f"_{len(self.nodes)}", shape)
        self.temps.add(lhs)
        return lhs

    def bind(self, name: str, term: Term) -> sp.Basic:
        """Name a stage. A leaf or an already named node gets an alias equation of its own."""
        check_name(name, "stage name")
        if name in self.symbols:
            raise GraphError(f"{name!r} is bound twice (or is also an input)")
        if is_leaf(term) or term in self.names or term not in self._node_lhs:
            lhs = self._temp(shape_of(term))
            self.append(Equation(lhs, term))
            term = lhs
        self.names[term] = name
        self.symbols[name] = term
        return term

    def append(self, eq: Equation) -> None:
        self.nodes.append(eq)
        self._node_lhs.add(eq.lhs)

    # from a SymPy expression ------------------------------------------------------------
    def add_expr(self, expr: sp.Basic, max_int_bits: int = 256) -> Term:
        """Decompose a (possibly deep) SymPy expression node by node, without recursion.

        Checked on the way, as the text parser checks text: operand shapes (symbolic
        dimensions must be the same symbol), and the size of every integer and fraction.
        """
        memo: dict[int, Term] = {}
        alias: dict[int, sp.Basic] = {}
        keep: list[sp.Basic] = [expr]  # keeps every id in memo alive
        ops_of: dict[int, tuple[sp.Basic, ...]] = {}
        stack: list[tuple[sp.Basic, bool]] = [(expr, False)]
        while stack:
            e, ready = stack.pop()
            if id(e) in memo:
                continue
            if id(e) in alias:
                memo[id(e)] = memo[id(alias[id(e)])]
                continue
            if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
                memo[id(e)] = e if e in self.temps else self.adopt(e)
                continue
            if is_leaf(e):
                memo[id(e)] = _bounded_number(e, max_int_bits)
                continue
            if not ready:
                _check_shapes(e)
                for a in e.args:  # numbers folded into a node's parameters (2·x) too
                    _bounded_number(a, max_int_bits)
                e2 = _binarize(e)
                if e2 is not e:
                    alias[id(e)] = e2
                    keep.append(e2)
                    stack.extend([(e, True), (e2, False)])
                    continue
                # classify once: it may build new operand objects (x - y*z gives y*z anew)
                ops_of[id(e)] = ops = classify(e).operands
                keep.extend(ops)
                stack.append((e, True))
                stack.extend((o, False) for o in reversed(ops) if id(o) not in memo)
                continue
            ops = ops_of[id(e)]
            rhs = replace_args(e, {o: memo[id(o)] for o in ops}) if ops else e
            memo[id(e)] = self.node(rhs)
        return memo[id(expr)]


def _bounded_number(e: sp.Basic, max_int_bits: int) -> sp.Basic:
    if e.is_Rational:
        bits = max(abs(int(e.p)).bit_length(), int(e.q).bit_length())
        if bits > max_int_bits:
            raise LimitError(f"a number of {bits:,} bits; the limit is {max_int_bits} "
                             "(Limits.max_int_bits)")
    return e


def _check_shapes(e: sp.Basic) -> None:
    """Operands of a matrix product, sum or element-wise product that cannot fit."""
    if isinstance(e, MatMul):
        mats = [a for a in e.args if is_matrix(a)]
        for a, b in itertools.pairwise(mats):
            if a.shape[1] != b.shape[0]:
                raise ShapeError(f"{sp.sstr(a)[:40]} {fmt_shape(shape_of(a))} times "
                                 f"{sp.sstr(b)[:40]} {fmt_shape(shape_of(b))}: {a.shape[1]} "
                                 f"columns against {b.shape[0]} rows")
    elif isinstance(e, (MatAdd, HadamardProduct)):
        shapes = {tuple(a.shape) for a in e.args}
        if len(shapes) > 1:
            raise ShapeError(f"{type(e).__name__} of operands shaped "
                             + " and ".join(fmt_shape(s) for s in sorted(shapes, key=str)))


def _binarize(e: sp.Basic) -> sp.Basic:
    """Products of three matrices and n-ary max/min as nested binary nodes."""
    if isinstance(e, MatMul):
        c, mats = e.as_coeff_matrices()  # c: every scalar factor, multiplied out
        if len(mats) > 2 or (len(mats) == 2 and c != 1):
            acc = MatMul(mats[0], mats[1])
            for m in mats[2:]:
                acc = MatMul(acc, m)
            return MatMul(c, acc) if c != 1 else acc
    if isinstance(e, (sp.Max, sp.Min)) and len(e.args) > 2:
        acc = e.func(e.args[0], e.args[1], evaluate=False)
        for a in e.args[2:]:
            acc = e.func(acc, a, evaluate=False)
        return acc
    return e


# ---------------------------------------------------------------------------------------
# The graph


@dataclass(frozen=True, slots=True)
class Graph:
    """Equations in topological order; the last one computes the output.

    Build one stage at a time with ``let`` (text or SymPy, over inputs and earlier stages)::

        g = Graph(shapes={"W1": (4, 3), "x": (3, 1), "b1": (4, 1)})
        g = g.let("z", "W1@x + b1").let("h", "sigmoid(z)")
    """

    equations: tuple[Equation, ...] = ()
    shapes: Mapping[str, Any] = field(default_factory=dict)
    # name -> (position of the equation that binds or first uses it, symbol); shared by the
    # graphs one ``let`` chain makes, so each ``let`` costs its own stage, not the whole graph
    _index: dict[str, tuple[int, sp.Basic]] = field(default_factory=dict, repr=False,
                                                    compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.equations, tuple):
            object.__setattr__(self, "equations", tuple(self.equations))
        if not self._index:
            for i, eq in enumerate(self.equations):
                for a in (*atoms_in_order(eq.rhs), eq.lhs):
                    self._index.setdefault(str(a.name), (i, a))

    def symbol(self, name: str) -> sp.Basic | None:
        """The input or stage called ``name`` in this graph, if any."""
        hit = self._index.get(name)
        if hit is None:
            return None
        i, sym = hit
        if i < len(self.equations) and (self.equations[i].lhs == sym or any(
                a == sym for a in atoms_in_order(self.equations[i].rhs))):
            return sym
        for eq in self.equations:  # the shared index holds a sibling's entry: look it up
            for a in (*atoms_in_order(eq.rhs), eq.lhs):
                if str(a.name) == name:
                    return a
        return None

    @property
    def output(self) -> sp.Basic:
        if not self.equations:
            raise GraphError("the graph is empty")
        return self.equations[-1].lhs

    @property
    def inputs(self) -> tuple[sp.Basic, ...]:
        bound = {eq.lhs for eq in self.equations}
        seen: dict[sp.Basic, None] = {}
        for eq in self.equations:
            for a in atoms_in_order(eq.rhs):
                if a not in bound:
                    seen.setdefault(a, None)
        return tuple(seen)

    def __len__(self) -> int:
        return len(self.equations)

    def __iter__(self) -> Iterator[Equation]:
        return iter(self.equations)

    def let(self, name: str, expr: str | sp.Basic, *, limits: Limits | None = None) -> Graph:
        """A new graph with one more stage ``name = expr`` (cost: this stage only).

        ``limits`` bounds text (``sbp.Limits``; the defaults suit a web service).
        """
        from .parse import assemble, parse_into

        check_name(name, "stage name")
        if self.symbol(name) is not None:
            raise GraphError(f"{name!r} is bound twice (or is also an input)")
        b = Builder(self.shapes, resolve=self.symbol)
        if isinstance(expr, str):
            term = parse_into(b, expr, limits)
        elif isinstance(expr, sp.Basic):
            term = b.add_expr(expr, *([limits.max_int_bits] if limits else []))
        else:
            raise TypeError(f"let() takes text or a SymPy expression, not {type(expr).__name__}")
        rhs = assemble(b, term, limits)
        lhs = make_symbol(name, shape_of(rhs))
        n = len(self.equations)
        for a in (*atoms_in_order(rhs), lhs):
            if self.symbol(str(a.name)) is None:
                self._index[str(a.name)] = (n, a)
        g = Graph((*self.equations, Equation(lhs, rhs)), self.shapes, self._index)
        return g

    def to_builder(self, max_int_bits: int = 256) -> Builder:
        b = Builder(self.shapes)
        for s in self.inputs:
            b.adopt(s)
        stage: dict[sp.Basic, sp.Basic] = {}
        for eq in self.equations:
            term = b.add_expr(replace_args(eq.rhs, stage), max_int_bits)
            stage[eq.lhs] = b.bind(str(eq.lhs.name), term)
        if self.equations:
            b.output = b.symbols[str(self.output.name)]
        return b

    def validate(self) -> Graph:
        validate(self)
        return self


def validate(g: Graph) -> None:
    """Every name bound once, never used before it is bound, shapes consistent."""
    bound: set[sp.Basic] = set()
    names: dict[str, sp.Basic] = {}
    later = {eq.lhs for eq in g.equations}
    for i, eq in enumerate(g.equations):
        if not isinstance(eq.lhs, (sp.Symbol, sp.MatrixSymbol)):
            raise GraphError(f"equation {i + 1}: the left side {eq.lhs} is not a symbol")
        if eq.lhs in bound:
            raise GraphError(f"equation {i + 1}: {eq.lhs} is bound twice")
        for a in atoms_in_order(eq.rhs):
            if a in later and a not in bound:
                raise GraphError(f"equation {i + 1}: {a} is used before it is bound")
            other = names.setdefault(str(a.name), a)
            if other != a:
                raise ShapeError(f"{a.name} is used with two shapes: "
                                 f"{fmt_shape(shape_of(other))} and {fmt_shape(shape_of(a))}")
        if shape_of(eq.lhs) != shape_of(eq.rhs):
            raise ShapeError(f"equation {i + 1}: {eq.lhs} is {fmt_shape(shape_of(eq.lhs))} "
                             f"but its right side is {fmt_shape(shape_of(eq.rhs))}")
        bound.add(eq.lhs)
        names.setdefault(str(eq.lhs.name), eq.lhs)


# ---------------------------------------------------------------------------------------
# Decomposition: which nodes become equations, and their names

_AFFINE = frozenset(n for n, r in RULES.items() if r.role == "affine")
_REDUCTIONS = frozenset(n for n, r in RULES.items() if r.role == "reduction")


def _node_prim(rhs: sp.Basic) -> str:
    try:
        return classify(rhs).name
    except UnsupportedError:
        return "?"


def _is_affine(rhs: sp.Basic) -> bool:
    name = _node_prim(rhs)
    if name in _AFFINE:
        return True
    if name == "mul":  # a scalar times a matrix is affine; a Hadamard product is not
        return sum(1 for a in classify(rhs).operands if is_matrix(a)) <= 1
    return False


def _is_scaled_term(rhs: sp.Basic) -> bool:
    """``c·v``: a number times one operand, read as a term of the sum it feeds."""
    p = classify(rhs) if _node_prim(rhs) == "mul" else None
    return p is not None and len(p.operands) == 1 and p.kw["exps"] == (1,)


def _uses(nodes: list[Equation]) -> dict[sp.Basic, int]:
    lhs = {eq.lhs for eq in nodes}
    count: dict[sp.Basic, int] = {}
    for eq in nodes:
        for a in _occurrences(eq.rhs):
            if a in lhs:
                count[a] = count.get(a, 0) + 1
    return count


def _occurrences(expr: sp.Basic) -> Iterator[sp.Basic]:
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            yield e
        elif isinstance(e, sp.Basic) and not is_leaf(e):
            stack.extend(e.args)


def _subnodes(expr: sp.Basic) -> Iterator[sp.Basic]:
    """Every non-leaf subexpression of a (shallow) right-hand side."""
    stack = [expr]
    while stack:
        e = stack.pop()
        if is_leaf(e) or not isinstance(e, sp.Basic):
            continue
        yield e
        stack.extend(a for a in e.args if isinstance(a, sp.Basic))


def choose_granularity(b: Builder, granularity: Granularity) -> Granularity:
    if granularity != "auto":
        return granularity
    if b.names:
        return "stages"
    if any(is_matrix(eq.lhs) for eq in b.nodes):
        return "layers"
    return "primitive"


def decompose(b: Builder, granularity: Granularity = "auto",
              output_name: str | None = None) -> Graph:
    """Pick the nodes that become equations, inline the rest, and name them."""
    if b.output is None:
        raise GraphError("nothing to derive: the expression is empty")
    out = b.output
    if out not in b._node_lhs:
        # a bare input, a constant or an inline expression: give it an equation of its own
        term = out
        out = b.node(out) if not is_leaf(out) else b._temp(shape_of(out))
        if out not in b._node_lhs:
            b.append(Equation(out, term))
    nodes = _reachable(b.nodes, out)
    granularity = choose_granularity(b, granularity)
    uses = _uses(nodes)
    by_lhs = {eq.lhs: eq for eq in nodes}
    cut: set[sp.Basic] = {out} | {s for s in b.names if s in by_lhs}
    consumers: dict[sp.Basic, list[sp.Basic]] = {}
    for eq in nodes:
        for a in _occurrences(eq.rhs):
            if a in by_lhs:
                consumers.setdefault(a, []).append(eq.lhs)
    kinds = {eq.lhs: _node_prim(eq.rhs) for eq in nodes}  # once: a wide node is O(width)
    for eq in nodes:
        s, kind = eq.lhs, kinds[eq.lhs]
        if granularity == "stages":
            continue
        if uses.get(s, 0) > 1:
            cut.add(s)
            continue
        if granularity == "primitive":
            parent = consumers.get(s, [None])[0]
            pkind = kinds[parent] if parent is not None else ""
            same = kind in ("add", "mul") and pkind == kind and not is_matrix(s) and (
                kind == "add" or len(classify(eq.rhs).operands) < MAX_FACTORS)
            if not (same or (_is_scaled_term(eq.rhs) and pkind == "add")):
                cut.add(s)
            continue
        # layers: cut at non-affine matrix nodes and at their non-leaf operands
        if is_matrix(s) and not _is_affine(eq.rhs):
            cut.add(s)
        if kind == "matmul" and any(kinds.get(c) == "matmul" for c in consumers.get(s, [])):
            cut.add(s)  # W2 (W1 x): a product of products reads better (and SymPy's MatMul
            # shape is exponential in its nesting depth)
        if kind != "?" and not _is_affine(eq.rhs) and (is_matrix(s) or kind in _REDUCTIONS):
            for o in classify(eq.rhs).operands:
                if o in by_lhs and is_matrix(o):
                    cut.add(o)
    # inline the nodes that are not cut, in topological order
    inlined: dict[sp.Basic, sp.Basic] = {}
    eqs: list[Equation] = []
    for eq in nodes:
        rhs = _inline(eq.rhs, inlined, eqs)
        if eq.lhs in cut:
            eqs.append(Equation(eq.lhs, rhs))
        else:
            inlined[eq.lhs] = rhs
    names = _choose_names(eqs, b, output_name)
    renamed = {eq.lhs: make_symbol(names[eq.lhs], shape_of(eq.lhs)) for eq in eqs}
    final = tuple(Equation(renamed[eq.lhs], replace_args(eq.rhs, renamed)) for eq in eqs)
    g = Graph(final, dict(b.shapes))
    validate(g)
    return g


def _inline(rhs: sp.Basic, inlined: dict[sp.Basic, sp.Basic], eqs: list[Equation]) -> sp.Basic:
    """``rhs`` with the inlined nodes substituted. Where SymPy cannot build the result (its
    scalar simplifications reach into ``sum(A + 2)`` inside ``x**s`` or ``sqrt(exp(s))``
    and raise), the inlined nodes that hold matrices stay equations of their own."""
    try:
        return rebuild(rhs, inlined)
    except (TypeError, NotImplementedError):
        held = [a for a in dict.fromkeys(_occurrences(rhs))
                if a in inlined and any(is_matrix(x) for x in _occurrences(inlined[a]))]
    for a in held:
        eqs.append(Equation(a, inlined.pop(a)))
    try:
        return rebuild(rhs, inlined)
    except (TypeError, NotImplementedError) as e:  # SymPy's own error: never a bare one
        raise UnsupportedError(f"SymPy cannot build {rhs} with its operands written out "
                               f"({type(e).__name__}: {e})") from e


def _reachable(nodes: list[Equation], out: sp.Basic) -> list[Equation]:
    by_lhs = {eq.lhs: eq for eq in nodes}
    need = {out}
    stack = [out]
    while stack:
        s = stack.pop()
        for a in _occurrences(by_lhs[s].rhs):
            if a in by_lhs and a not in need:
                need.add(a)
                stack.append(a)
    return [eq for eq in nodes if eq.lhs in need]


def rebuild(rhs: sp.Basic, mapping: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """``rhs`` with symbols replaced by expressions; nested sums and products flattened."""
    if not mapping or not any(a in mapping for a in _occurrences(rhs)):
        return rhs
    new = replace_args(rhs, mapping)
    if isinstance(new, MatMul) and any(isinstance(a, MatMul) for a in new.args):
        new = mmul(*new.args)  # c·(d·X) is (cd)·X: no MatMul nested in a MatMul
    if isinstance(new, (MatAdd, HadamardProduct)):
        flat: list[sp.Basic] = []
        for a in new.args:
            flat.extend(a.args if type(a) is type(new) else (a,))
        new = type(new)(*flat)
    return new


def _choose_names(eqs: list[Equation], b: Builder, output_name: str | None) -> dict[sp.Basic,
                                                                                    str]:
    taken = {str(s.name) for s in b.inputs} | set(b.names.values())
    names: dict[sp.Basic, str] = {}
    for eq in eqs:
        if eq.lhs in b.names:
            names[eq.lhs] = b.names[eq.lhs]
    out = eqs[-1].lhs
    if out not in names:
        lossy = any(is_matrix(a) for eq in eqs for a in _occurrences(eq.rhs))
        for cand in ([output_name] if output_name else []) + (["L"] if lossy else []) + [
                "z", "f", "F", "out"]:
            if cand and cand not in taken:
                names[out] = cand
                taken.add(cand)
                break
    rest = [eq for eq in eqs if eq.lhs not in names]
    if any(is_matrix(eq.lhs) for eq in eqs):
        names.update(_layer_names(eqs, rest, taken))
    rest = [eq for eq in rest if eq.lhs not in names]
    names.update(zip((eq.lhs for eq in rest), fresh_names(len(rest), taken), strict=True))
    return names


def fresh_names(count: int, taken: set[str]) -> list[str]:
    """``count`` names for intermediates, none of them a user's name: ``t`` alone, else
    ``t_1, t_2, …`` (``v_…``, ``u_…`` where the user has ``t`` names; taken ones skipped)."""
    base = next((b for b in ("t", "v", "u", "s", "w") if b not in taken
                 and not any(n.startswith(b + "_") for n in taken)), "t")
    if count == 1 and base not in taken:
        return [base]
    out: list[str] = []
    i = 0
    while len(out) < count:
        i += 1
        if f"{base}_{i}" not in taken:
            out.append(f"{base}_{i}")
    return out


def _layer_names(eqs: list[Equation], rest: list[Equation], taken: set[str]) -> dict[sp.Basic,
                                                                                      str]:
    """z / h / o for pre-activations, activations and the network output; indexed by layer."""
    by_lhs = {eq.lhs: eq for eq in eqs}
    role: dict[sp.Basic, str] = {}
    for eq in eqs:
        kind = _node_prim(eq.rhs)
        if kind in FUNCTION_NAMES and is_matrix(eq.lhs):
            ops = classify(eq.rhs).operands
            role[eq.lhs] = "h"
            for o in ops:
                if o in by_lhs and _is_affine(by_lhs[o].rhs):
                    role.setdefault(o, "z")
        elif kind == "softmax":
            role[eq.lhs] = "p"
        for node in _subnodes(eq.rhs):
            if _node_prim(node) in ("mse", "cross_entropy"):
                o = classify(node).operands[0]
                if o in by_lhs and is_matrix(o):
                    role[o] = "o"
    want = [eq.lhs for eq in rest if eq.lhs in role]
    zs = [s for s in want if role[s] == "z"]
    layer = {s: i + 1 for i, s in enumerate(zs)}
    for eq in eqs:  # an activation takes the layer of its pre-activation
        if role.get(eq.lhs) == "h":
            for o in classify(eq.rhs).operands:
                if o in layer:
                    layer[eq.lhs] = layer[o]
    many = len(zs) > 1
    out: dict[sp.Basic, str] = {}
    for s in want:
        name = role[s] + (str(layer[s]) if many and s in layer else "")
        if name in taken or name in out.values():
            continue
        out[s] = name
        taken.add(name)
    return out

