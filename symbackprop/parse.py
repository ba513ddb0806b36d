"""The safe string front end: Python's ``ast``, a whitelist, and limits.

User text never reaches ``eval``, ``exec``, ``sympify`` or ``parse_expr``. It is parsed by
``ast.parse`` (which runs nothing), every node is checked against a short whitelist, and the
expression is built node by node into a ``Builder`` (no deep SymPy tree is made on the way).
Text may hold stages, one per line or separated by ``;``::

    z = W1@x + b1; h = sigmoid(z); W2@h + b2
"""

from __future__ import annotations

import ast
import builtins
import difflib
import keyword
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sympy as sp

from . import indexing, numpy_ranks, ops, structural_calls, written_ops
from .broadcasting import numpy_vectors, one_d_pair
from .builder import Builder, Term, assemble
from .composites import COMPOSITES, MOST_ARGS
from .errors import GraphError, LimitError, ShapeError
from .hadamard_precedence import hadamard_last
from .limits import DEFAULT_LIMITS, Limits
from .notation import GREEK as NOTATION_GREEK
from .paper_lexer import ONES
from .parse_code import ALIASES, ARITY
from .parse_code import FUNCTIONS as FUNCTIONS  # the table and type the API names here
from .parse_code import Syntax as Syntax
from .parse_numbers import Numbers
from .parse_numpy import NumpyReading
from .parse_readings import Readings
from .parse_tree import SECOND
from .screen import ATOM, EXPECTED, screen
from .shapes import axes_of, shape_of
from .spelling import (
    library_call_problem,
    numpy_spelling,
    pasted_product_problem,
    unread_call_hint,
    uses_torch,
)

_GREEK = set(NOTATION_GREEK)  # names a user may give: alpha, lam, Sigma, ...
_RESERVED = (
    (set(dir(builtins)) | {n for n in dir(sp) if len(n) > 1 and not n.startswith("_")}
     | set(keyword.kwlist) | set(keyword.softkwlist) | {"self", "cls", "os", "sys"})
    - _GREEK - {"pi"}
) | set(FUNCTIONS) | {"Lambda"}
_MARKS = (ast.expr_context, ast.operator, ast.unaryop)  # not counted as nodes
# % never comes from what a user types (the readers refuse it): it is what ⊙ is read as
_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**",
           ast.MatMult: "@", ast.Mod: "⊙"}
# the operators whose left operand is no level of nesting (A ⊙ B ⊙ C … is flat: paper's ⊙)
_FLAT = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult, ast.Mod)
# a > b is the number 𝟏[a > b] (NumPy's boolean as 0 or 1): step(a − b), entry by entry
_COMPARE = {ast.Gt: ">", ast.Lt: "<", ast.GtE: ">=", ast.LtE: "<="}
_ALLOWED = (ast.Module, ast.Expr, ast.Assign, ast.BinOp, ast.UnaryOp, ast.Call, ast.Name,
            ast.Constant, ast.Attribute, ast.Load, ast.Store, ast.USub, ast.UAdd,
            ast.keyword, ast.Subscript, ast.Slice, ast.Tuple, ast.List,
            ast.Compare, *_COMPARE,
            *_BINOPS)  # keywords, tuples, slices only where structural_calls.py reads them


def _describe(node: ast.AST) -> str:
    names = {
        ast.Lambda: "a lambda", ast.ListComp: "a comprehension", ast.GeneratorExp:
        "a generator", ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
        ast.JoinedStr: "an f-string", ast.NamedExpr: "an assignment expression (:=)",
        ast.Starred: "a starred argument", ast.Subscript: "indexing", ast.Compare:
        "a comparison", ast.BoolOp: "and/or", ast.IfExp: "if/else", ast.Tuple: "a tuple",
        ast.List: "a list", ast.Dict: "a dict", ast.Set: "a set", ast.Await: "await",
        ast.Import: "an import", ast.ImportFrom: "an import", ast.FunctionDef:
        "a function definition", ast.keyword: "a keyword argument",
    }
    return names.get(type(node), f"'{type(node).__name__}'")


_EXPECTED = EXPECTED


class _Parser(Readings, Numbers, NumpyReading):
    # ----------------------------------------------------------------------------------
    def program(self) -> Term:
        tree = self.tree()
        self.b.library = self.pasted  # NumPy's 1-D vectors in library code (ops._numpy_vectors)
        body = tree.body
        if not body:
            raise self.error(None, "empty expression: " + _EXPECTED)
        result: Term | None = None
        for i, stmt in enumerate(body):
            last = i == len(body) - 1
            if isinstance(stmt, ast.Assign):
                if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                    raise self.error(stmt, "a stage is written 'name = expression'")
                name = self.name_ok(stmt.targets[0])
                if name in self.constants_read:
                    raise self.error(stmt.targets[0], f"{name!r} was read as the constant "
                                     "before this line binds it: bind it first, or rename it")
                if name in self.b.symbols:
                    what = "an input" if self.b.symbols[name] in self.b.inputs else "a stage"
                    raise self.error(stmt.targets[0],
                                     f"{name!r} is already {what}: each name is bound once, "
                                     "before it is used")
                term = self.expr(stmt.value)
                self.check_finite(stmt.value, term)
                try:
                    result = self.b.bind(name, term)
                except GraphError as e:
                    raise self.error(stmt, str(e)) from None
            elif isinstance(stmt, ast.Expr):
                if not last:
                    raise self.error(stmt, "only the last line may be a bare expression; "
                                     "name the others ('t = ...')")
                result = self.expr(stmt.value)
                self.check_finite(stmt.value, result)
            else:
                raise self.error(stmt, f"{_EXPECTED}; found {_describe(stmt)}")
        assert result is not None
        return result

    def tree(self) -> ast.Module:
        text, lim = self.text, self.limits
        if len(text) > lim.max_length:
            raise LimitError(f"text is {len(text):,} characters; the limit is "
                             f"{lim.max_length:,} (Limits.max_length)")
        for atoms, _ in enumerate(ATOM.finditer(text), 1):
            if atoms > lim.max_nodes:
                raise LimitError(f"more than {lim.max_nodes:,} names and numbers "
                                 "(Limits.max_nodes)", text=text)
        code = self.read().code
        refused = screen(code, lim)  # so that ast.parse meets nothing it would warn about
        if refused is not None:
            at, why, cls = refused
            raise (cls(why, text=text) if at is None else self.code_error(at, why, cls))
        try:
            # a syntax error in "exec" mode makes CPython open the named file to quote the
            # line; os.devnull, not '<unknown>' in the working directory (a FIFO there blocks)
            tree = ast.parse(code, filename=os.devnull, mode="exec")
        except SyntaxError as e:
            msg = re.sub(r"\s*\([^()]*, line \d+\)", "", e.msg or "invalid syntax").strip()
            at = (sum(len(x) for x in code.splitlines(keepends=True)[:(e.lineno or 1) - 1])
                  + max((e.offset or 1) - 1, 0))
            at = min(at, max(len(code) - 1, 0))
            if "too many nested parentheses" in msg:
                raise self.code_error(at, "brackets nested deeper than Python's parser allows "
                                      "(about 200)", LimitError) from None
            if "integer string conversion" in msg:
                raise self.code_error(
                    at, f"an integer literal of more than {sys.get_int_max_str_digits()} "
                    f"digits (Limits.max_int_bits is {lim.max_int_bits} bits)",
                    LimitError) from None
            raise self.code_error(at, f"{msg}; {_EXPECTED}") from None
        except (MemoryError, RecursionError, ValueError, OverflowError):
            raise LimitError("too deep for Python's parser: a chain of thousands of operators "
                             "or unary signs at one level; split it into stages "
                             "('s1 = ...; s2 = s1 + ...')", text=text) from None
        if ".T" in code.replace(" ", "") and "**" in code:
            self.transposed_powers(tree)
        if "%" in code and hadamard_last(tree):  # ⊙ after the products around it, as on paper
            self.note("⊙ read after the products beside it (y ⊙ Xw is y ⊙ (X·w)): bracket a "
                      "product to multiply first")
        count = 0
        torch = ("torch." in code or "F." in code) and uses_torch(tree)
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        while stack:
            node, d = stack.pop()
            if not isinstance(node, _MARKS):
                count += 1
            if count > lim.max_nodes:
                raise self.error(node, f"more than {lim.max_nodes:,} syntax nodes "
                                 "(Limits.max_nodes)", LimitError)
            if d > lim.max_depth and not isinstance(node, _MARKS):
                raise self.error(node, f"nested more than {lim.max_depth} deep "
                                 "(Limits.max_depth)", LimitError)
            meant = numpy_spelling(node, FUNCTIONS, torch)  # why a library's call is refused
            if meant is not None:
                raise self.error(node, meant)
            if self.pasted is None and getattr(node, "library", None) is not None:
                self.pasted = self.source(node)  # code pasted from NumPy: its * is ⊙
            self.check(node)
            for child in reversed(list(ast.iter_child_nodes(node))):
                flat = (isinstance(node, ast.BinOp) and child is node.left
                        and type(node.op) in _FLAT)
                # a statement and the left operand of a flat chain are not a level of
                # nesting: sin(sin(x)) is 2 deep, as max_depth counts it
                level = flat or isinstance(node, (ast.Module, ast.stmt))
                stack.append((child, d if level else d + 1))
        return tree

    def one_axis(self, node: ast.Call, x: Term) -> None:
        """NumPy's 1-D value (held as a row or a column) has one axis: in code that uses a
        library's call, ``axis=1`` of it is NumPy's AxisError, refused (the text's row or
        column has two: ``keepdims=True`` made it read silently)."""
        axis = self.axis_of(node)
        if self.b.library is None or axis is None or not (self.b.is_row(x) or
                                                          self.b.is_flat(x)):
            return
        bad = [a for a in (axis if isinstance(axis, tuple) else (axis,))
               if isinstance(a, int) and a not in (0, -1)]
        if bad:
            raise ShapeError(f"{self.source(node)}: axis {bad[0]} of NumPy's 1-D value "
                             f"{self.source(node.args[0])}, whose only axis is 0 (NumPy "
                             "raises AxisError)")

    def check(self, node: ast.AST) -> None:
        """The whitelist, checked outermost first so the error names what the user wrote."""
        if id(node) in self.static:
            return
        if not isinstance(node, _ALLOWED) or isinstance(node, (ast.Slice, ast.Tuple, ast.List)):
            raise self.error(node, f"{_EXPECTED}; found {_describe(node)}")
        if isinstance(node, ast.Subscript) or (isinstance(node, ast.Call) and isinstance(
                node.func, ast.Name) and node.func.id in structural_calls.STRUCTURAL):
            self.check_structural(node)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.error(node, "only calls of a function by its name are allowed, "
                                 f"not {self.source(node.func)}(...)"
                                 + unread_call_hint(node.func, FUNCTIONS))
            if node.keywords:
                self.axis_of(node)
                self.static.update(id(n) for k in node.keywords for n in ast.walk(k.value))
            if node.func.id in FUNCTIONS and node.func.id in self.b.shapes:
                raise self.error(node.func, f"{node.func.id!r} is declared in shapes and is a "
                                 f"function of the text: {node.func.id}(…) would be the "
                                 "function and the declared variable unused; rename the "
                                 "variable")
            if node.func.id not in FUNCTIONS:
                near = difflib.get_close_matches(node.func.id, FUNCTIONS, n=3, cutoff=0.75)
                mean = f" (did you mean {' or '.join(map(repr, near))}?)" if near else ""
                raise self.error(node.func, f"unknown function {node.func.id!r}{mean}; the "
                                 "functions are " + ", ".join(FUNCTIONS))
            if node.func.id in ("ones", "zeros") and len(node.args) == 1 and isinstance(
                    node.args[0], (ast.Tuple, ast.List)) and node.args[0].elts:
                node.args = list(node.args[0].elts)  # ones((m, n)): NumPy's one tuple
            # along an axis, every reduction takes the one matrix (max(X, axis=1))
            arity = 1 if self.axis_of(node) is not None else \
                ARITY.get(ALIASES.get(node.func.id, node.func.id), 1)
            if node.func.id in ("max", "min") and len(node.args) == 1:
                arity = 1  # NumPy's max(X): the largest entry
            most = MOST_ARGS.get(node.func.id, arity)
            if not arity <= len(node.args) <= most:
                count = f"{arity} or {most}" if most > arity else str(arity)
                second = SECOND.get(node.func.id)
                raise self.error(node, f"{node.func.id} takes {count} argument"
                                 f"{'s' if most > 1 else ''}, got {len(node.args)}"
                                 + (f": write {second}" if second else ""))
        elif isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise self.error(node, "compare two values at a time: (a < b) * (b < c), "
                                 "not a < b < c")
            if type(node.ops[0]) not in _COMPARE:
                raise self.error(node, "a comparison is >, <, >= or <= (== and != have no "
                                 "derivative to speak of: they hold on a set of measure 0)")
        elif isinstance(node, ast.Attribute) and node.attr != "T":
            raise self.error(node, f"attribute '.{node.attr}' is not allowed; only .T "
                             "(transpose)")
        elif isinstance(node, ast.Attribute) and _number(node.value) and \
                self.written_at(node.value) not in ("\\", *ONES):  # (𝟏ᵀ is a vector)
            raise self.number_transposed(node)  # X⁻¹ᵀ⁻¹ᵀ, X**(-1).T: it would vanish
        elif isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.error(node, f"{_EXPECTED}; found the constant {v!r:.40}")
        elif isinstance(node, ast.Name) and not (isinstance(node.ctx, ast.Load)
                                                 and node.id in FUNCTIONS):
            self.name_ok(node)

    def check_structural(self, node: ast.Subscript | ast.Call) -> None:
        """An index or a structural call: its static parts read (and not walked again)."""
        try:
            if isinstance(node, ast.Subscript):
                if structural_calls.new_axis(node) is None:
                    structural_calls.read_key(node)
                static: list[ast.AST] = [node.slice]
            else:
                self.calls[id(node)] = self.read_call(node)
                static = self.calls[id(node)][3]
                if isinstance(node.args[0], (ast.Tuple, ast.List)):  # the tuple of operands
                    self.static.add(id(node.args[0]))
        except structural_calls.StaticError as e:
            raise self.error(e.node, f"{self.source(node)}: {e}") from None
        for s in static:
            self.static.update(id(n) for n in ast.walk(s))

    def check_pasted_product(self, node: ast.AST, factors: list[Term]) -> None:
        """``*`` between matrices in code written with a library's calls (spelling.py); a
        1-D array of NumPy's beside another shape is refused (numpy_vectors)."""
        if self.pasted is not None:
            numpy_vectors(self.b, factors, self.source(node), "*")
        one_d_pair(self.b, factors, self.source(node))  # (of text without one)
        meant = pasted_product_problem(self.pasted, [shape_of(f) for f in factors])
        if meant is not None:
            raise ShapeError(f"{self.source(node)}: {meant}")

    def sizes(self, node: ast.Call) -> list[sp.Expr]:
        """The sizes given to ``ones``, ``zeros`` or ``eye``: whole numbers, or the names
        of dimensions that ``shapes`` declares (``ones(n, 1)``)."""
        dims = {str(d): d for s in self.b.shapes.values() for d in axes_of(s)
                if isinstance(d, sp.Symbol)}
        out: list[sp.Expr] = []
        for a in node.args:
            if isinstance(a, ast.Constant) and type(a.value) is int and a.value >= 1:
                out.append(sp.Integer(a.value))
            elif isinstance(a, ast.Name) and a.id in dims:
                out.append(dims[a.id])
            else:
                raise self.error(a, f"{self.source(node)}: a size is a positive whole number or "
                                 "a dimension named in shapes")
        total = sp.Mul(*out) if len(out) > 1 else out[0] ** 2
        if total.is_Integer and total > self.limits.max_elements:
            raise self.error(node, f"{self.source(node)} has {int(total):,} entries; the limit "
                             f"is {self.limits.max_elements:,} (Limits.max_elements)", LimitError)
        return out

    def name_ok(self, node: ast.Name) -> str:
        n = node.id
        if len(n) > self.limits.max_name_length:
            raise self.error(node, f"a name of {len(n)} characters; the limit is "
                             f"{self.limits.max_name_length}", LimitError)
        if n.startswith("_") or n in _RESERVED:
            what = "a function: call it, as in " + n + "(x)" if n in FUNCTIONS else \
                "reserved"
            raise self.error(node, f"the name {n!r} is {what}")
        return n

    # ----------------------------------------------------------------------------------
    def expr(self, root: ast.AST) -> Term:
        """Post-order over the AST with an explicit stack: no recursion, any depth."""
        values: dict[int, Term] = {}
        stack: list[tuple[ast.AST, bool]] = [(root, False)]
        while stack:
            node, ready = stack.pop()
            if not ready:
                stack.append((node, True))
                stack.extend((c, False) for c in reversed(self.children(node)))
                continue
            values[id(node)] = self.build(node, [values[id(c)] for c in self.children(node)])
        return values[id(root)]

    def build(self, node: ast.AST, args: list[Term]) -> Term:
        since = len(self.b.nodes)
        if self.b.library is not None and (self.b.rows or self.b.flat):
            args = self.numpy_columns(node, args)
        if self.b.library is not None:
            args = self.entry_operands(node, args)
        out = self.build_one(node, args)
        if self.b.library is not None and isinstance(node, (ast.Call, ast.Subscript)):
            out = self.numpy_rank(node, args, out, since)
        if self.b.library is not None:
            out = self.numpy_one_entry(node, args, out, since)
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Call, ast.Subscript)):
            self.check_value(node, out, since)
        return out

    def build_one(self, node: ast.AST, args: list[Term]) -> Term:
        b = self.b
        if isinstance(node, ast.Name):
            name = self.name_ok(node)
            if name == "pi" and not self.bound(name):
                self.constants_read.add(name)  # π, unless the user gave the name a meaning
                return sp.pi
            if name == "inf" and not self.bound(name):
                self.constants_read.add(name)  # ∞: a branch of where only (check_value)
                return sp.oo
            value = b.lookup(name)
            if self.read().summands:
                self.check_summand(node, value)
            return value
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return ops.neg(b, args[0], self.source(node))
            return args[0]
        if isinstance(node, ast.Attribute):
            if id(node) in self.exponent_transposes and shape_of(args[0]) is None:
                raise self.number_transposed(node)
            return written_ops.written_transpose(b, args[0], self.source(node))
        if isinstance(node, ast.Compare):
            return ops.compare(b, _COMPARE[type(node.ops[0])], args[0], args[1],
                               self.source(node))
        if isinstance(node, ast.Subscript) and structural_calls.new_axis(node) is not None:
            return self.new_axis(node, args[0])
        if isinstance(node, ast.Subscript):
            structural_calls.matrices_only("an index", args, self.source(node))
            key = structural_calls.read_key(node)
            if b.library is not None:  # r[0] of a row (1, n): NumPy's axis 0
                numpy_ranks.numpy_key(b, args[0], key, self.source(node))
            return indexing.index(b, args[0], key, self.source(node))
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)
            if self.b.library is not None and node.func.id not in ops.CONSTANTS:
                static, kw = self.static_of(node)
                if node.func.id == "pad":  # of one entry: NumPy's 1-D or 2-D?
                    self.one_entry_pad(node, args)
                numpy = numpy_ranks.numpy_call(self.b, ALIASES.get(node.func.id, node.func.id),
                                               args, static, kw, self.source(node))
                if numpy is not None:
                    return numpy
            if node.func.id in structural_calls.STRUCTURAL:
                if node.func.id not in structural_calls.TENSOR_CALLS:
                    structural_calls.matrices_only(node.func.id, args, self.source(node))
                _, static, kw, _ = self.read_call(node)
                if node.func.id == "pad" and args and b.is_flat(args[0]):  # NumPy's 1-D
                    b.ends.add((self.offset(node), self.end_offset(node)))  # (an einsum's):
                    # its ends, as the witness pads them
                if node.func.id == "norm":  # (Σ|x|ᵖ)^(1/p): p and 1/p are exponents
                    self.check_norm_order(node, static[0] if static else kw.get("ord"))
                    matrix = None if b.library is None else self.numpy_norm(
                        node, args[0], static[0] if static else kw.get("ord"))
                    if matrix is not None:  # NumPy's matrix norm of a 2-D column
                        return matrix
                return structural_calls.STRUCTURAL[node.func.id][3](b, args, static, kw,
                                                                    self.source(node))
            if node.func.id in ops.CONSTANTS:
                return ops.constant_matrix(b, node.func.id, self.sizes(node), self.source(node))
            if args:  # a library's call: its default axis, its axis of a vector, keepdims
                meant = library_call_problem(node, shape_of(args[0]), self.axis_of(node),
                                             b.declared_two_d(args[0]))
                if meant is not None:
                    raise ShapeError(f"{self.source(node)}: {meant}")
                self.one_axis(node, args[0])
            if node.func.id in ("softmax", "log_softmax") and self.axis_of(node) is None:
                self.column_softmax(node, args[0])  # of a matrix: down each column, said
            if node.func.id == "power" and len(args) == 2:  # np.power(2, 10**10): as **
                self.check_power(node, args[0], args[1])
            if node.func.id in ("inner", "dot") and len(args) == 2:
                self.two_d_product(node, args)  # of a 2-D column: NumPy's x yᵀ (x y)
            if node.func.id in COMPOSITES:  # log1p(x) is log(1 + x), written out
                axis = self.axis_of(node)
                if axis is not None:  # std(X, axis=0): the root of the variance along it
                    where = self.source(node)
                    return ops.apply(b, "sqrt", [ops.apply(b, "var", args, where, axis=axis)],
                                     where)
                return COMPOSITES[node.func.id][1](b, *args, where=self.source(node))
            if node.func.id in ("norm2", "sqnorm") and self.read().spectral:
                self.check_spectral(node, args[0])
            if node.func.id == "abs" and self.offset(node) in self.read().bars:
                return self.bars(node, args[0])
            return ops.apply(b, ALIASES.get(node.func.id, node.func.id), args,
                             self.source(node), axis=self.axis_of(node))
        chain = self.chain(node)
        if chain is not None:  # a + b - c … or a * b / c …: one n-ary node, built once
            signs = [sign for sign, _ in chain]
            where = self.source(node)
            if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
                out = ops.add_many(b, list(zip(signs, args, strict=True)), where)
            else:
                self.check_pasted_product(node, [a for sign, a in zip(signs, args, strict=True)
                                                 if sign > 0])
                for (sign, operand), a in zip(chain, args, strict=True):
                    if sign < 0:
                        self.matrix_divisor(operand, a)
                out = ops.mul_many(b, list(zip(signs, args, strict=True)), where)
            self.check_number(node, out)
            return out
        if isinstance(node, ast.BinOp):
            x, y = args
            where = self.source(node)
            op = type(node.op)
            if op is ast.Pow:
                self.layer_not_power(node)
                self.check_power(node, x, y)
            if op is ast.Add:
                out = ops.add(b, x, y, where)
            elif op is ast.Sub:
                out = ops.sub(b, x, y, where)
            elif op is ast.Mult:
                if not self.ones_product(node):
                    self.check_pasted_product(node, [x, y])
                out = (written_ops.times_ones if self.ones_product(node) else ops.mul)(
                    b, x, y, where)
            elif op is ast.Div:
                self.matrix_divisor(node.right, y)
                out = ops.div(b, x, y, where)
            elif op is ast.Pow:
                out = written_ops.paper_power(b, x, y, where, self.as_written(node)) \
                    if self.paper_power(node) else ops.power(b, x, y, where)
            elif op is ast.MatMult and (self.offset(node), self.end_offset(node)) in b.dots:
                out = ops.apply(b, "sum", [ops.hadamard(b, x, y, where)], where)  # NumPy's dot
            elif op is ast.MatMult:  # (NumPy's rank of an operand of one entry:
                out = written_ops.written_matmul(b, x, y, where)  # entry_operands)
            elif op is ast.Mod:
                out = ops.hadamard(b, x, y, where)
            else:  # pragma: no cover - the whitelist has no other operators
                raise self.error(node, _EXPECTED)
            self.check_number(node, out)
            return out
        raise self.error(node, f"{_EXPECTED}; found {_describe(node)}")  # pragma: no cover


def _number(e: ast.AST) -> bool:
    """A number as written: ``2``, ``(-1)``, ``-1``."""
    while isinstance(e, ast.UnaryOp):
        e = e.operand
    return isinstance(e, ast.Constant)


def parse_into(b: Builder, text: str, limits: Limits | None = None,
               syntax: Syntax = "text") -> Term:
    """Parse ``text`` into an existing builder; returns the term of its output."""
    p = _Parser(text, b, DEFAULT_LIMITS if limits is None else limits, syntax)
    out = p.program()
    b.reading = p.read()
    if b.one_d:  # for the witness: which einsum operands are NumPy's 1-D arrays
        b.reading = replace(b.reading, vectors=frozenset(b.one_d))
    if b.columns or b.dots or b.matrices or b.ends or b.one_entries:  # for the witness: NumPy's
        # 1-D rows read as columns, dots, matrix norms, pads of 1-D values, one entries
        b.reading = replace(b.reading, columns=frozenset(b.columns), dots=frozenset(b.dots),
                            matrices=frozenset(b.matrices), ends=frozenset(b.ends),
                            one_entries=frozenset(b.one_entries))
    return out


def parse_program(text: str, shapes: Any = None, limits: Limits | None = None,
                  syntax: Syntax = "text") -> Builder:
    if shapes is not None and not isinstance(shapes, Mapping):
        raise ShapeError(f"shapes must map names to shapes, not {type(shapes).__name__}")
    b = Builder(shapes)
    b.output = parse_into(b, text, limits, syntax)
    return b


def parse(text: str, shapes: Any = None, *, limits: Limits | None = None,
          syntax: Syntax = "text") -> sp.Basic:
    """Parse text into one SymPy expression (stages substituted in), safely.

    ``syntax="latex"`` reads LaTeX (``\\frac``, ``\\mathbf{W}_1``, ``\\sigma``, ...).
    Raises ``ParseError`` (a ``ValueError``) with the column for text we do not accept,
    ``ShapeError`` for operands that do not fit, ``UnsupportedError`` for unknown primitives.
    """
    b = parse_program(text, shapes, limits, syntax)
    assert b.output is not None
    return assemble(b, b.output, limits)
