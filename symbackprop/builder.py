"""The builder of a computation graph: equations, shapes, and the ``Builder`` that every
front end feeds.

Every front end (text, SymPy expression, Python function, ``Graph.let`` stages) feeds a
``Builder``, which records primitive nodes bottom-up, each a temporary symbol with a
*shallow* right-hand side, shared subexpressions once. ``grouping.decompose`` then chooses
which nodes become named equations (every primitive, layers, or the user's stages) and names
them. Nothing here walks a deep SymPy tree recursively. ``Builder.add_expr``, a SymPy
expression read into nodes, is ``sympy_input.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

import sympy as sp
from sympy import MatMul, OneMatrix

from .algebra import is_matrix, rebuild
from .canonical import PROBE, is_leaf, replace_args
from .errors import GraphError, LimitError, ShapeError
from .limits import DEFAULT_LIMITS, Limits
from .shapes import Shape, fmt_shape, shape_of, tensor_dims, to_shape
from .shapes import declared as as_given
from .sympy_input import SympyInput

Term: TypeAlias = Any  # a SymPy leaf, node symbol, or small inline expression over them
Granularity = Literal["auto", "primitive", "layers", "stages"]

MAX_FACTORS = 32  # a longer product is split into nodes of this many (a partial lists the rest)


@dataclass(frozen=True, slots=True)
class Equation:
    """``lhs = rhs``: lhs a Symbol or MatrixSymbol, rhs in inputs and earlier lhs."""

    lhs: sp.Basic
    rhs: sp.Basic
    # the symbols of rhs in order of first appearance, found once (the graph, the grouping
    # and the sweep each ask for them)
    _atoms: tuple[sp.Basic, ...] | None = field(default=None, init=False, repr=False,
                                                 compare=False)

    def __iter__(self) -> Iterator[sp.Basic]:
        return iter((self.lhs, self.rhs))

    @property
    def atoms(self) -> tuple[sp.Basic, ...]:
        """The symbols and matrix symbols of ``rhs``, in order of first appearance."""
        if self._atoms is None:
            object.__setattr__(self, "_atoms", tuple(atoms_in_order(self.rhs)))
        return self._atoms  # type: ignore[return-value]


_SLOT_SETTERS: tuple[Callable[[Any, Any], None], ...] = tuple(
    Equation.__dict__[k].__set__ for k in ("lhs", "rhs", "_atoms"))


def equation(lhs: sp.Basic, rhs: sp.Basic, atoms: tuple[sp.Basic, ...] | None = None,
             _new: Callable[[type], Any] = object.__new__,
             _set: tuple[Callable[[Any, Any], None], ...] = _SLOT_SETTERS) -> Equation:
    """``Equation(lhs, rhs)``, its atoms when known, set through the slots themselves: the
    frozen dataclass's ``__init__`` goes through ``object.__setattr__`` per field, and a
    derivation makes a few equations per node."""
    eq: Equation = _new(Equation)
    _set[0](eq, lhs)
    _set[1](eq, rhs)
    _set[2](eq, atoms)
    return eq


def check_name(name: str, what: str = "name") -> str:
    # an ASCII identifier not starting with _ is exactly [A-Za-z][A-Za-z0-9_]*: string
    # methods in C instead of the regex (every input symbol of a SymPy expression is checked)
    if not (isinstance(name, str) and name.isascii() and name.isidentifier()
            and name[0] != "_"):
        raise GraphError(f"{what} {name!r} must be a plain identifier (letters, digits, _; "
                         "a letter first)")
    return name


def make_symbol(name: str, shape: Shape) -> sp.Basic:
    if shape is None:
        return _real_symbol(name)
    return sp.MatrixSymbol(name, *shape)


def _shares_assumptions() -> bool:
    """Whether SymPy keeps a symbol's assumptions in the three attributes its cached
    constructor shares between all symbols of the same assumptions (SymPy ≥ 1.13)."""
    probe = sp.Symbol("_probe", real=True)
    if not all(hasattr(probe, a) for a in _SHARED):
        return False
    made = _assumed("_probe")
    return (made == probe and hash(made) == hash(probe) and made.is_real is True
            and made.assumptions0 == probe.assumptions0)


_SHARED = ("_assumptions", "_assumptions_orig", "_assumptions0")
_REAL = PROBE  # the symbol whose assumption objects every intermediate shares
_SHARED_VALUES = tuple(getattr(_REAL, a, None) for a in _SHARED)


def _assumed(name: str, _new: Callable[[type], Any] = sp.Expr.__new__,
             _shared: tuple[Any, ...] = _SHARED_VALUES,
             _content: tuple[Any, ...] = getattr(_REAL, "_assumptions0", ())) -> sp.Basic:
    obj = _new(sp.Symbol)
    obj.name = name
    # the same objects SymPy's cached constructor hands every real symbol (_SHARED's order)
    obj._assumptions, obj._assumptions_orig, obj._assumptions0 = _shared
    # and the hash Basic.__hash__ would compute on first use, in C (most symbols a
    # derivation makes become dictionary keys); _shares_assumptions checks it is the same
    obj._mhash = hash(("Symbol", name, *_content))
    return obj


# ``Symbol(name, real=True)`` without re-deriving the assumptions and without SymPy's cache
# (a derivation makes a few symbols per node, each new): a fifth of the time; equal and
# hashed the same as the cached constructor's (checked once, at import)
_real_symbol: Callable[[str], sp.Basic] = (
    _assumed if _shares_assumptions() else lambda name: sp.Symbol(name, real=True))


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
    args = expr.args
    if args and not isinstance(expr, sp.MatrixExpr) and all(type(a) is sp.Symbol for a in args):
        return list(dict.fromkeys(args))  # one scalar node over symbols: the common case
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


def _flat(rhs: sp.Basic, flat: Set[sp.Basic], spreads: Set[sp.Basic] = frozenset(),
          row: bool = False) -> bool:
    """Whether a node's column is a 1-D array to NumPy, as its operands are: an
    element-wise combination of 1-D vectors (constants and scalars beside them), or a matrix
    times one (A @ x); with ``row``, whether a node's row is (x @ A, of a 1-D row x)."""
    shape = shape_of(rhs)
    if shape is None or shape[1 - row] != 1 or shape[row] == 1:
        return False
    mats = [a for a in rhs.args if is_matrix(a)]
    if type(rhs) is MatMul:  # (of an inline one too: 2*(-x), the -x unevaluated; a 1×1
        # factor is a number there: e * x of an e declared (1,))
        mats = [a for a in mats if shape_of(a) != (1, 1)]
        end = mats[0 if row else -1] if mats else None
        return end in flat or (type(end) is MatMul and _flat(end, flat, spreads, row))
    # any node of the column's shape (a sum, a product, softmax(b), where, maximum) whose
    # operands of that shape are all 1-D, the rest numbers or their spreads (b + s,
    # b − mean(b), exp(b − s)): 1-D too
    cols = [a for a in mats if shape_of(a) == shape and not _spread(a, spreads)]
    return bool(cols) and all(a in flat or (type(a) is MatMul and [
        m for m in a.args if is_matrix(m)][0 if row else -1] in flat) for a in cols)


def _spread(a: sp.Basic, spreads: Set[sp.Basic] = frozenset()) -> bool:
    """A constant column, or a number spread down one (c·𝟏, 𝟏c of a 1×1 c, −(c·𝟏)), or a
    node that is one (``spreads``)."""
    if isinstance(a, (OneMatrix, sp.ZeroMatrix)) or a in spreads:
        return True
    return type(a) is MatMul and any(isinstance(x, OneMatrix) or x in spreads
                                     for x in a.args) and all(
        isinstance(x, OneMatrix) or x in spreads or not is_matrix(x)
        or shape_of(x) in (None, (1, 1)) or _spread(x, spreads) for x in a.args)


class NamesTaken(Exception):
    """An input of a SymPy expression is named as a node of a builder with ``final_names``
    may be (``t_3``): build again without them (never reaches a user)."""


class Builder(SympyInput):
    """Collects primitive nodes bottom-up; hash-conses them on their shallow right-hand side."""

    def __init__(self, shapes: Mapping[str, Any] | None = None,
                 resolve: Callable[[str], sp.Basic | None] | None = None,
                 final_names: bool = False) -> None:
        self.resolve = resolve  # names known from elsewhere (a Graph's earlier stages)
        # final_names: the nodes are named t_1, t_2, … as the grouping names equations when
        # nothing is inlined and no input is named t_… (a SymPy expression's scalar
        # network), so that decompose keeps them as they are instead of renaming them all.
        # Then an input named t_… raises NamesTaken (a node's name could be the input's):
        # the caller builds again with the private names _0, _1, … (names no input has)
        self.final_names = final_names
        self.shapes: dict[str, Shape] = {}
        self.one_d: set[str] = set()  # inputs declared (n,), n ≠ 1: NumPy's 1-D arrays
        self.one_entry: set[str] = set()  # inputs declared (1,), held as the 1×1
        for k, v in (shapes or {}).items():
            self.shapes[check_name(k, "shape name")] = to_shape(k, v)
            given, declared = as_given(v), self.shapes[k]
            if (isinstance(given, (int, str)) or (isinstance(given, tuple) and len(given) == 1)) \
                    and declared is not None:
                (self.one_d if declared[0] != 1 else self.one_entry).add(k)
        # a library's call in the text (its source, set by the parser): its 1-D arrays are
        # NumPy's, lined up with the last axis, where the text's column (n, 1) is not
        self.library: str | None = None
        self.flat: set[sp.Basic] = set()  # NumPy's 1-D vectors, held as columns (n, 1)
        self.rows: set[sp.Basic] = set()  # NumPy's 1-D vectors held as rows (1, n): X[i]
        self.spreads: set[sp.Basic] = set()  # nodes that are a number down a column (s·𝟏)
        # (start, end) in the code of each row-held 1-D value read as its column beside a
        # column-held one, and of each ``a @ b`` of two 1-D values read as their dot product
        # (the witness reads them so too: Reading.columns, Reading.dots)
        self.columns: set[tuple[int, int]] = set()
        self.dots: set[tuple[int, int]] = set()
        self.matrices: set[tuple[int, int]] = set()  # norm(x, ord) of a 2-D column: NumPy's
        # matrix norm (Reading.matrices)
        # NumPy's rank (0, 1 or 2) of the values of one entry built (the inputs aside: their
        # declarations say it), held alike as scalars or 1×1s: u.T @ v and keepdims sums
        # 2-D, u[0] of a column and np.sum(u, axis=0) 1-D (1,), x[0] and np.sum(A) 0-d
        self.entry_ranks: dict[sp.Basic, int] = {}
        self.one_entries: set[tuple[int, int, int]] = set()  # (start, end, 0 or 2) of each
        # operand of one entry taken as a number or as its 1×1 (Reading.one_entries)
        self.ends: set[tuple[int, int]] = set()  # pad(x, …) of a 1-D x: its ends (Reading.ends)
        self.symbols: dict[str, sp.Basic] = {}  # inputs and named stages, by name
        self.inputs: dict[sp.Basic, None] = {}
        # inputs the derived graph keeps though its output may not read them (Graph.keep)
        self.kept: tuple[sp.Basic, ...] = ()
        self.order: tuple[sp.Basic, ...] = ()  # inputs first, in this order (a signature's)
        # the right side of a stage of an earlier Graph.let (looked up only when asked)
        self.earlier: Callable[[sp.Basic], sp.Basic | None] | None = None
        self.nodes: list[Equation] = []
        self.names: dict[sp.Basic, str] = {}  # node symbol -> user stage name
        self._memo: dict[sp.Basic, sp.Basic] = {}
        self.temps: set[sp.Basic] = set()
        self._node_lhs: set[sp.Basic] = set()
        self.output: Term | None = None
        self.reading: Any = None  # how the text was read (paper.Reading), for the witness

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
        if name in self.one_d:
            self.flat.add(sym)
        return sym

    def adopt(self, sym: sp.Basic) -> sp.Basic:
        """A symbol from a user's SymPy expression: checked against shapes and earlier uses."""
        name = check_name(str(sym.name), "symbol name")
        if self.final_names and name.startswith("t_"):
            raise NamesTaken(name)
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
            why = ""
            if type(have) is type(sym) is sp.Symbol:  # the same name, other assumptions
                why = (": one of them is not real=True" if have.is_real != sym.is_real else
                       ": they differ in their assumptions") + (
                    f" (a stage is real: write sp.Symbol({name!r}, real=True))")
            raise GraphError(f"two different symbols are both named {name!r}{why}")
        if have is None:
            self.symbols[name] = sym
            self.inputs[sym] = None
        return sym

    # nodes ------------------------------------------------------------------------------
    def node(self, rhs: sp.Basic, atoms: tuple[sp.Basic, ...] | None = None) -> Term:
        """The node computing ``rhs`` (shared if it exists), or ``rhs`` itself for a leaf;
        ``atoms``, when the caller knows them, spares the equation finding them."""
        if is_leaf(rhs):
            return rhs
        have = self._memo.get(rhs)
        if have is not None:
            return have
        # _temp and append written out: a node is made per operation of the expression
        nodes = self.nodes
        name = self._temp_name()
        lhs = make_symbol(name, tuple(rhs.shape)) if rhs.is_Matrix else _real_symbol(name)
        self.temps.add(lhs)
        eq = equation(lhs, rhs, atoms)
        nodes.append(eq)
        self._node_lhs.add(lhs)
        self._memo[rhs] = lhs
        if self.flat or self.rows:
            if _spread(rhs, self.spreads):
                self.spreads.add(lhs)
            elif _flat(rhs, self.flat, self.spreads):
                self.flat.add(lhs)
            elif self.rows and _flat(rhs, self.rows, self.spreads, row=True):
                self.rows.add(lhs)
        return lhs

    def is_row(self, t: Term) -> bool:
        """Whether ``t`` is NumPy's 1-D vector held as the row (1, n): ``X[i]``, a library's
        reduction along axis 0, what is made of them element-wise."""
        return bool(self.rows) and (t in self.rows or (
            is_matrix(t) and _flat(t, self.rows, self.spreads, row=True)))

    def is_flat(self, t: Term) -> bool:
        """Whether ``t`` is NumPy's 1-D vector held as the column (n, 1): an input declared
        ``(n,)``, a node of one, or an inline form of one (``-b``)."""
        return bool(self.flat) and (t in self.flat or (
            is_matrix(t) and _flat(t, self.flat, self.spreads)))

    def two_d_column(self, t: Term) -> bool:
        """Whether ``t``, in text that uses a library's call, is a column (n, 1) or a 1×1
        that NumPy holds 2-D (not one of its 1-D values): ``np.inner`` and ``np.dot`` read
        it as a matrix, not as a vector."""
        shape = shape_of(t)
        return self.library is not None and is_matrix(t) and shape is not None \
            and tensor_dims(shape) is None and shape[1] == 1 and not self.is_flat(t) \
            and not (shape == (1, 1) and self.entry_rank(t) in (0, 1))  # e (1,), u[0]

    def declared_two_d(self, t: Term) -> bool:
        """Whether ``t`` is an input declared 2-D (a matrix, a column (n, 1), a row (1, n);
        not ``(n,)`` or ``(1,)``): NumPy's 2-D array, by its name."""
        return t in self.inputs and is_matrix(t) and tensor_dims(shape_of(t)) is None \
            and str(t) not in self.one_d and str(t) not in self.one_entry

    def two_d_entry(self, t: Term) -> bool:
        """Whether ``t``, a value of one entry in text that uses a library's call, is known
        to be NumPy's 2-D (1, 1): an input declared (1, 1), or a value ranked 2 (a 1×1
        product, a reduction with keepdims, ``A[0:1, 1:2]``, what is made of them
        element-wise). The others of one entry (an input declared (1,), an index's entry, a
        scalar) are 0-d or 1-D there, or of a rank the text cannot tell."""
        return self.entry_rank(t) == 2

    def entry_rank(self, t: Term) -> int | None:
        """NumPy's rank of ``t``, a value of one entry in text that uses a library's call:
        2 for (1, 1), 1 for (1,), 0 for a 0-d value; None where the text does not follow it
        (a call whose rank of one entry is not read). An input's is its declaration's; an
        inline form's (-s, 2·E) the highest of its symbols'."""
        if t in self.entry_ranks:
            return self.entry_ranks[t]
        if t in self.inputs:
            if shape_of(t) == (1, 1):
                return 1 if str(t) in self.one_entry else 2
            return None if is_matrix(t) else 0
        if getattr(t, "is_number", False) is True:
            return 0
        if isinstance(t, (sp.Symbol, sp.MatrixSymbol)) or not isinstance(t, sp.Basic):
            return None
        ranks = [self.entry_rank(a) for a in atoms_in_order(t)]
        return None if not ranks or None in ranks else max(ranks)  # type: ignore[type-var]

    def as_numpy(self, t: Term, one_d: bool, since: int) -> Term:
        """``t`` marked as NumPy holds it, in text that uses a library's call: a column
        (n, 1) or a row (1, n) as the 1-D array (in ``flat`` or ``rows``) or as 2-D. A term
        not built since node ``since`` (an input, a node shared with another reading) gets
        an alias of its own."""
        shape = shape_of(t)
        if shape is None or not is_matrix(t) or tensor_dims(shape) is not None:
            return t
        row = shape[0] == 1
        if (one_d and (shape[1 - row] != 1 or shape[row] == 1)) or (
                self.is_row(t) if row else self.is_flat(t)) == one_d:
            return t
        if not any(eq.lhs == t for eq in self.nodes[since:]) or t in self.names:
            lhs = self._temp(shape)
            self.append(Equation(lhs, t))
            t = lhs
        marked = self.rows if row else self.flat
        if one_d:
            marked.add(t)
        else:
            marked.discard(t)
        return t

    def alias(self, t: Term) -> sp.Basic:
        """A name of its own for ``t`` (an equation ``_k = t``)."""
        lhs = self._temp(shape_of(t))
        self.append(Equation(lhs, t))
        return lhs

    def _temp(self, shape: Shape) -> sp.Basic:
        lhs = make_symbol(self._temp_name(), shape)
        self.temps.add(lhs)
        return lhs

    def _temp_name(self) -> str:
        """The next node's name: ``_k`` (no input's), or grouping's ``t_k`` (final_names)."""
        n = len(self.nodes)
        return f"t_{n + 1}" if self.final_names else f"_{n}"

    def bind(self, name: str, term: Term) -> sp.Basic:
        """Name a stage. A leaf or an already named node gets an alias equation of its own;
        a node just built is built as the alias from then on, so that a later use of the same
        expression (the mean inside var(X) after mu = mean(X)) reads the name."""
        check_name(name, "stage name")
        if name in self.symbols:
            raise GraphError(f"{name!r} is bound twice (or is also an input)")
        if is_leaf(term) or term in self.names or term not in self._node_lhs:
            lhs = self._temp(shape_of(term))
            last = self.nodes[-1] if self.nodes else None
            if last is not None and last.lhs == term and term not in self.names \
                    and self._memo.get(last.rhs) == term:
                self._memo[last.rhs] = lhs
            self.append(Equation(lhs, term))
            if self.is_flat(term):  # c = b of a b declared (n,): NumPy's 1-D too
                self.flat.add(lhs)
            if self.is_row(term):
                self.rows.add(lhs)
            term = lhs
        self.names[term] = name
        self.symbols[name] = term
        return term

    def append(self, eq: Equation) -> None:
        self.nodes.append(eq)
        self._node_lhs.add(eq.lhs)


def occurrences(expr: sp.Basic) -> Iterator[sp.Basic]:
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            yield e
        elif isinstance(e, sp.Basic) and not is_leaf(e):
            stack.extend(e.args)


def substitute(expr: sp.Basic, value: Mapping[sp.Basic, sp.Basic]) -> sp.Basic:
    """Replace symbols by their expressions without re-evaluating: 2t stays 2(x + y)."""
    if not any(a in value for a in occurrences(expr)):
        return expr

    def leaf(e: sp.Basic) -> sp.Basic | None:
        if isinstance(e, (sp.Symbol, sp.MatrixSymbol)):
            return value.get(e, e)
        return e if not e.args or is_leaf(e) else None

    def build(e: sp.Basic, args: list[sp.Basic]) -> sp.Basic:
        if all(x is y for x, y in zip(args, e.args, strict=True)):
            new = e
        elif isinstance(e, sp.Mul) and all(
                a.is_commutative and not isinstance(a, sp.Add) and not is_matrix(a)
                for a in args):  # scalars: (−x)·x is −x²; a sum stays as written, 2(x + y)
            new = sp.Mul(*args)
        elif isinstance(e, (sp.Add, sp.Mul, sp.Pow, sp.Max, sp.Min)) or (
                isinstance(e, sp.Function) and not isinstance(e, sp.MatrixExpr)):
            new = e.func(*args, evaluate=False)  # Max/Min: SymPy compares args
        else:
            new = e.func(*args)
        _ = new.is_commutative  # cache it now, while the children have theirs: no deep recursion
        return new

    return rebuild(expr, leaf, build, unchanged_stays=False)


def assemble(b: Builder, term: Term, limits: Limits | None = None) -> sp.Basic:
    """Substitute the nodes back into one expression (for ``parse`` and ``Graph.let``).

    Stages can make the one expression exponentially large (``t = t*t + x*t`` repeated), so
    its size as a tree is counted before it is built and bounded by ``10 * max_nodes``; a chain
    of sums (or products) used once is gathered into one n-ary node instead of being rebuilt
    at every step (quadratic). ``derive`` never needs this: it works stage by stage.
    """
    if is_leaf(term) and term not in b.temps:
        return term
    budget = 10 * (DEFAULT_LIMITS if limits is None else limits).max_nodes
    uses: dict[sp.Basic, int] = {}
    for eq in b.nodes:
        for a in eq.atoms:
            if a in b.temps:
                uses[a] = uses.get(a, 0) + 1
    size: dict[sp.Basic, int] = {}
    value: dict[sp.Basic, sp.Basic] = {}
    pending: dict[sp.Basic, tuple[type, list[sp.Basic]]] = {}  # single-use sums and products

    def made(cls: type, args: list[sp.Basic]) -> sp.Basic:
        try:
            return cls(*args)  # type: ignore[no-any-return]
        except TypeError:  # SymPy's powers factor an exponent holding sum(A + 2) and raise
            return cls(*args, evaluate=False)  # type: ignore[no-any-return]

    def realize(a: sp.Basic) -> sp.Basic:
        if a in pending:
            cls, args = pending.pop(a)
            value[a] = made(cls, args)
        return value.get(a, a)

    def substituted(e: sp.Basic) -> sp.Basic:
        subs = {a: realize(a) for a in atoms_in_order(e) if a in value or a in pending}
        return replace_args(e, subs) if subs else e

    try:
        for eq in b.nodes:
            rhs = eq.rhs
            size[eq.lhs] = n = tree_size(rhs, size)
            if n > budget:
                raise LimitError(f"the stages substituted into one expression would have "
                                 f"more than {budget:,} nodes (10 * Limits.max_nodes); "
                                 "derive() works stage by stage and needs no such expression")
            cls = type(rhs)
            if cls not in (sp.Add, sp.Mul):
                value[eq.lhs] = substituted(rhs)
                continue
            args: list[sp.Basic] = []
            for a in rhs.args:
                if a in pending and pending[a][0] is cls:
                    args.extend(pending.pop(a)[1])
                else:
                    args.append(substituted(a))
            if uses.get(eq.lhs, 0) == 1 and eq.lhs is not term:
                pending[eq.lhs] = (cls, args)
            else:
                value[eq.lhs] = made(cls, args)
        return realize(term) if term in value or term in pending else substituted(term)
    except RecursionError:
        raise LimitError("the expression is too deep to build as one SymPy expression; "
                         "derive() handles it stage by stage") from None
