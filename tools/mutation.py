"""A sampled mutation test of the core modules: do the tests notice when the code changes?

    python -m tools.mutation                                   # every core module, 40 each
    python -m tools.mutation --modules emit/latex.py,graph.py --per-module 20 --seed 1
    python -m tools.mutation --rev HEAD                        # the last commit, not the work tree
    python -m tools.mutation --survivors-of run.json           # only the last run's survivors
    python -m tools.mutation --deselect tests/test_x.py::test_y  # a test that fails anyway

For each core module (``CORE``): the module's own test files run once under a line tracer
(``sys.settrace``) to learn which lines they execute; every small change of the source on an
executed line is a candidate mutant (comparison and boolean operators swapped, ``not``
dropped, ``+``/``-`` and ``*``/``/`` swapped, an integer constant plus one, a string constant
changed, ``True``/``False`` swapped, ``return X`` made ``return None``, a statement of an
``if``/``else`` body made ``pass``); ``--per-module`` of them are drawn with a fixed seed. Each
is written into a copy of the repository (made once, in a temporary directory) and the
module's tests run there with ``-x -q`` and a time limit, in a process forked from this one
with the copy first on ``sys.path`` and in ``PYTHONPATH`` (so the editable install of the
working tree does not win; every run checks ``symbackprop.__file__``). A mutant is *killed*
when a test fails, *timeout* when the limit is hit (counted as killed), *survived* when every
test passes, *equivalent* when ``EXCLUDED`` says that it cannot change behaviour (a one-line
reason each; such mutants are not run and not counted).

It uses the standard library only, runs one pytest at a time, and is an optional job: it is
not part of ``.ci/run``. See docs/testing.md for the command and the last scores.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "symbackprop"


# modules split out of a core module: their mutants' test file is the module's they left
_SPLIT_FROM = {"broadcasting.py": "ops.py", "sympy_input.py": "builder.py",
               "parse_numbers.py": "parse.py", "numpy_ranks.py": "parse.py",
               "parse_tree.py": "parse.py", "parse_numpy.py": "parse.py",
               "check/points.py": "check/compare.py", "check/tape.py": "check/engine.py",
               "check/diagnosis.py": "check/engine.py", "written_ops.py": "ops.py",
               "one_by_one.py": "ops.py"}


def _kills(module: str) -> str:
    """The test file written for the mutants of ``module`` that the other tests let live."""
    return f"tests/test_mutation_{Path(_SPLIT_FROM.get(module, module)).stem}.py"


# module (under symbackprop/) -> the test files that exercise it, fast ones first
CORE: dict[str, tuple[str, ...]] = {
    "emit/latex.py": ("tests/test_seed.py", "tests/test_text_assertions.py",
                      "tests/test_emit_markdown.py", "tests/test_emit_json.py",
                      "tests/test_emit_html.py", "tests/test_network.py",
                      "tests/test_registry.py", "tests/test_hostile_second_pass.py"),
    "graph.py": ("tests/test_mechanisms.py", "tests/test_errors.py", "tests/test_injection.py",
                 "tests/test_sympy_input.py", "tests/test_network.py",
                 "tests/test_text_assertions.py", "tests/test_values.py",
                 "tests/test_hostile_second_pass.py"),
    "sweep.py": ("tests/test_seed.py", "tests/test_network.py", "tests/test_registry.py",
                 "tests/test_mechanisms.py", "tests/test_numeric.py",
                 "tests/test_numpy_functions.py", "tests/test_hostile_second_pass.py"),
    "grouping.py": ("tests/test_seed.py", "tests/test_text_assertions.py",
                    "tests/test_network.py", "tests/test_mechanisms.py",
                    "tests/test_registry.py", "tests/test_sympy_input.py",
                    "tests/test_emit_dot.py"),
    "recognise.py": ("tests/test_registry.py", "tests/test_mechanisms.py",
                     "tests/test_numeric.py", "tests/test_network.py", "tests/test_ir.py",
                     "tests/test_numpy_functions.py", "tests/test_sympy_input.py"),
    "builder.py": ("tests/test_errors.py", "tests/test_injection.py",
                   "tests/test_sympy_input.py", "tests/test_mechanisms.py",
                   "tests/test_network.py", "tests/test_trace_function.py",
                   "tests/test_hostile_second_pass.py", "tests/test_limits.py"),
    "check/compare.py": ("tests/test_numeric.py", "tests/test_gradcheck.py",
                         "tests/test_witness.py", "tests/test_values.py",
                         "tests/test_text_assertions.py", "tests/test_errors.py",
                         "tests/test_hostile_second_pass.py"),
    "check/engine.py": ("tests/test_numeric.py", "tests/test_network.py",
                        "tests/test_registry.py", "tests/test_gradcheck.py",
                        "tests/test_values.py", "tests/test_witness.py",
                        "tests/test_hostile_second_pass.py"),
    "check/differences.py": ("tests/test_numeric.py", "tests/test_gradcheck.py",
                             "tests/test_witness.py", "tests/test_values.py",
                             "tests/test_hostile_second_pass.py"),
    "ops.py": ("tests/test_errors.py", "tests/test_network.py", "tests/test_registry.py",
               "tests/test_mechanisms.py", "tests/test_numpy_functions.py",
               "tests/test_values.py", "tests/test_hostile_second_pass.py"),
    "parse.py": ("tests/test_parse.py", "tests/test_errors.py", "tests/test_parse_hygiene.py",
                 "tests/test_injection.py", "tests/test_text_assertions.py",
                 "tests/test_hostile_second_pass.py", "tests/test_limits.py"),
    "spelling.py": ("tests/test_parse.py", "tests/test_mutation_parse.py"),
    "screen.py": ("tests/test_parse.py", "tests/test_errors.py",
                  "tests/test_parse_hygiene.py", "tests/test_limits.py",
                  "tests/test_hostile_second_pass.py"),
    "evaluate.py": ("tests/test_values.py", "tests/test_network.py", "tests/test_emit_trace.py",
                    "tests/test_numeric.py", "tests/test_registry.py", "tests/test_errors.py",
                    "tests/test_emit_python.py", "tests/test_hostile_second_pass.py"),
}
for _part, _whole in _SPLIT_FROM.items():  # code moved out of a core module keeps its tests
    CORE[_part] = CORE[_whole]
# every module's run ends with the tests written for the mutation runs (tests/test_mutation_*),
# its own file first: a mutant of one module is often caught by what another one's file prints
_KILL_FILES = tuple(dict.fromkeys(_kills(m) for m in CORE))
CORE = {m: (*tests, _kills(m), *(k for k in _KILL_FILES if k != _kills(m)))
        for m, tests in CORE.items()}

# Mutants that cannot change what the library does: (module, function, the source line with
# the changed text in ⟦ ⟧, the replacement) as the run prints them, each with the reason.
# They are not run and not counted. A line edited since no longer matches: review it again.
EXCLUDED: dict[tuple[str, str, str, str], str] = {
    ("emit/latex.py", "derivation_latex",
     "if ⟦d.is_matrix and _layer_count(d) >= 2⟧:",
     "(d.is_matrix or _layer_count(d) >= 2)"):
        "an Elementwise node is a matrix, so a layer count >= 2 implies d.is_matrix",
    ("graph.py", "Graph.symbol",
     "⟦return sym⟧",
     "pass"):
        "the loop below finds the same first symbol of that name (the fast path only)",
    ("grouping.py", "decompose",
     'pkind = kinds[parent] if parent is not None else ⟦""⟧',
     "'XX'"):
        "the output's parent kind is compared with primitive names only: '' and 'XX' are none",
    ("grouping.py", "_name_direct_terms",
     "⟦return⟧ # every term reads a stage (the common case: no penalty)",
     "pass"):
        "when every term reads a stage no term is a penalty: `if not direct` returns anyway",
    ("grouping.py", "rebuild",
     "⟦return rhs⟧",
     "pass"):
        "with nothing to replace, replace_args gives rhs back and a node's shallow right side "
        "has no nested sum or product to flatten (the fast path only)",
    ("builder.py", "_shares_assumptions",
     "return (⟦made == probe and hash(made) == hash(probe) and made.is_real is True…⟧",
     "(made == probe or hash(made) == hash(probe) or made.is_real is True or "
     "(made.assumptions0 == probe.assumptions0))"):
        "every conjunct is true on the SymPy installed; only another SymPy could tell them "
        "apart",
    ("builder.py", "Builder.adopt",
     "if ⟦have is not None⟧ and have == sym:",
     "(have is None)"):
        "a resolved symbol equal to the one adopted is resolved again on its next use; "
        "registering it changes no result",
    ("sympy_input.py", "SympyInput.add_expr",
     "stack.extend([(e, ⟦True⟧), (e2, False)])",
     "False"):
        "an aliased node is resolved by the alias check before its `ready` flag is read",
    ("sympy_input.py", "_binarize",
     "acc = e.func(e.args[0], e.args[1], evaluate=⟦False⟧)",
     "True"):
        "the arguments of a Max or Min that SymPy built are pairwise incomparable already: "
        "evaluating a pair of them builds the same node",
    ("builder.py", "occurrences",
     "elif ⟦isinstance(e, sp.Basic) and not is_leaf(e)⟧:",
     "(isinstance(e, sp.Basic) or not is_leaf(e))"):
        "every element reached is a SymPy Basic; a leaf's arguments are numbers and dimensions, "
        "which no caller looks up",
    ("builder.py", "assemble",
     "uses[a] = uses.get(a, ⟦0⟧) + 1",
     "1"):
        "every node then counts as used twice and is built eagerly: SymPy flattens the nested "
        "sums and products to the same expression (the gathering is an optimisation)",
    ("builder.py", "assemble",
     "return realize(term) if ⟦term in value⟧ or term in pending else substituted(term)",
     "(term not in value)"):
        "realize(term) and substituted(term) give the same expression for a node symbol",
    ("builder.py", "assemble",
     "return realize(term) if term in value or ⟦term in pending⟧ else substituted(term)",
     "(term not in pending)"):
        "realize(term) and substituted(term) give the same expression for a node symbol",
    ("screen.py", "<module>",
     '_NOT_ASCII = re.compile(⟦r"[^ -~\\n\\t\\r]"⟧)',
     "'XX[^ -~\\\\n\\\\t\\\\r]'"):
        "the check it feeds is unreachable: the text and LaTeX readers refuse such characters "
        "first (marked pragma: no cover)",
    ("sweep.py", "reverse_sweep",
     "total = sum_of(values) if ⟦len(values) > 1⟧ else None",
     "(len(values) >= 1)"):
        "sum_of of one term is that term (or None, and then the same term through madd)",
    ("sweep.py", "reverse_sweep",
     "total = sum_of(values) if len(values) > ⟦1⟧ else None",
     "2"):
        "sum_of of two terms is what SymPy's Add builds (or None, and then that Add): the fast "
        "path only",
    ("recognise.py", "_classify",
     "first = e.args[0] if len(e.args) == 2 else e.func(*e.args[:-1], evaluate=⟦False⟧)",
     "True"):
        "the arguments of a Max or Min that SymPy built are pairwise incomparable already: "
        "evaluating all but the last builds the same node",
    ("recognise.py", "lift",
     "if ⟦expr.is_Number or not (expr.free_symbols & set(env))⟧:",
     "(expr.is_Number and (not expr.free_symbols & set(env)))"):
        "a constant falls through to the scalar branch, which returns it unchanged",
    ("recognise.py", "lift",
     "⟦return expr⟧",
     "pass"):
        "a constant falls through to the scalar branch, which returns it unchanged",
    ("check/points.py", "random_values",
     "if ⟦not x.is_Integer and x not in dims⟧:",
     "(not x.is_Integer or x not in dims)"):
        "an integer has no free symbols and setdefault keeps a size once drawn",
    ("check/compare.py", "check",
     "for attempt in range(⟦1⟧ if given else max(1, attempts)):",
     "2"):
        "with values given, a second attempt uses the same values and finds the same issues",
    ("ops.py", "add_many",
     '"+" if ⟦sign > 0⟧ else "-")',
     "(sign >= 0)"):
        "a sign is +1 or -1, never 0",
    ("ops.py", "add_many",
     "const = sp.Add(*[t if ⟦sign > 0⟧ else -t for sign, t in terms if is_num(t)])",
     "(sign >= 0)"):
        "a sign is +1 or -1, never 0",
    ("check/engine.py", "Tolerances",
     "@dataclass(frozen=True, slots=⟦True⟧)",
     "False"):
        "a frozen record made once per check: slots change its memory layout only",
    ("check/engine.py", "Engine._step",
     "⟦(fwd, vjp), fresh = FAST[name], True⟧",
     "pass"):
        "the rule table's forward and VJP give the same numbers; the fast forms save "
        "temporaries (and, marked fresh, let a sum be written into them)",
    ("check/engine.py", "Engine._backward_program",
     "⟦break⟧",
     "pass"):
        "either operand may then take the sum in place: both are fresh temporaries used only by "
        "this sum",
    ("check/engine.py", "Engine._grads",
     "elif ⟦np.shape(g) != np.shape(x)⟧ or not isinstance(g, np.ndarray) or id(g) in seen \\",
     "(np.shape(g) == np.shape(x))"):
        "no rule's VJP returns a gradient shaped unlike its operand today (a defensive guard)",
    ("check/engine.py", "Engine._grads",
     "or ⟦not g.flags.writeable⟧:",
     "(g.flags.writeable)"):
        "no rule's VJP returns a read-only array today (a defensive guard)",
    ("check/diagnosis.py", "domain_message",
     'if (s.name == "mul" and any(⟦e < 0⟧ for e in s.params["exps"])) or (',
     "(e <= 0)"):
        "a product's exponents are never 0: x**0 is 1 before it is a node",
    ("check/diagnosis.py", "kink_message",
     '"min": "min with a tie", "sqrt": "sqrt at 0", ⟦"log"⟧: "log at 0",',
     "'XXlog'"):
        "log at 0 is -inf, which diagnose reports as a domain issue before it looks for kinks",
    ("check/differences.py", "errors_of",
     "rel = np.where(d == 0, 0.0, d / np.where(scale == ⟦0⟧, 1.0, scale))",
     "1"):
        "scale is 0 only where both values are 0, and there d == 0 picks 0 first",
    ("evaluate.py", "<module>",
     '_NUMPY_FUNCS.update({"Heaviside": lambda x, *h: np_heaviside(x), ⟦"sign"⟧: np.sign,',
     "'XXsign'"):
        "RULES has sign, whose forward is np.sign too: the entry only restates it",
    ("evaluate.py", "TraceRow",
     "@dataclass(frozen=True, slots=⟦True⟧)",
     "False"):
        "a frozen record: slots change its memory layout only",
    ("emit/latex.py", "needs_backward",
     "⟦return False⟧",
     "return None"):
        "needs_backward is only ever a condition, where None and False agree",
    ("emit/latex.py", "scalar_chain_lines",
     'final = _fmt(d, names, d.gradients[v]) if small else ⟦""⟧',
     "'XX'"):
        "final is printed only when small, and it is the empty string only when not",
    ("emit/latex.py", "scalar_chain_lines",
     "dedup = [s for i, s in enumerate(steps) if i == ⟦0⟧ or s != steps[i - 1]]",
     "1"):
        "the first step (a product of partial-derivative fractions) never equals the last (a "
        "value): it is kept either way",
    ("graph.py", "Graph.symbol",
     "if i < len(self.equations) and (⟦self.equations[i].lhs == sym or any(…⟧",
     "(self.equations[i].lhs == sym and any((a == sym for a in self.equations[i].atoms)))"):
        "the loop below finds the same first symbol of that name (the fast path only)",
    ("sweep.py", "_times",
     "⟦return -g⟧",
     "pass"):
        "times_symbol(g, -1) and g * -1 build the same -g (the fast path only)",
    ("builder.py", "atoms_in_order",
     "⟦return list(dict.fromkeys(args))⟧ # one scalar node over symbols: the common case",
     "pass"):
        "the general loop finds the same symbols in the same order (the fast path only)",
    ("builder.py", "Builder.adopt",
     "⟦self.symbols[name] = sym⟧",
     "pass"):
        "a resolved symbol equal to the one adopted is resolved again on its next use; "
        "registering it changes no result",
    ("builder.py", "Builder.adopt",
     "⟦self.temps.add(sym)⟧",
     "pass"):
        "a resolved symbol equal to the one adopted is resolved again on its next use; "
        "registering it changes no result",
    ("check/compare.py", "compare",
     "⟦runner.run(None)⟧",
     "pass"):
        "nothing reads the slots after the last row: restoring their values changes no result",
    ("check/points.py", "random_values",
     "v = ⟦v * rng.choice([-1.0, 1.0], size)⟧",
     "(v / rng.choice([-1.0, 1.0], size))"):
        "dividing by +1 or -1 is multiplying by it",
    ("check/differences.py", "fd_point",
     "x[idx] = old + ⟦2 * side⟧ * h",
     "(2 / side)"):
        "side is +1 or -1: dividing by it is multiplying by it",
    ("check/differences.py", "kink_within_step",
     '⟦return ""⟧',
     "return None"):
        "its one caller reads the sentence as a condition (`if kink:`): '' and None are both "
        "false",
    ("check/tape.py", "Step",
     "@dataclass(frozen=⟦True⟧, slots=True)",
     "False"):
        "nothing assigns to a Step's fields or hashes a Step: frozen only guards",
    ("check/diagnosis.py", "domain_message",
     'what = ⟦"NaN"⟧ if np.any(np.isnan(val)) else "inf"',
     "'XXNaN'"):
        "`what` is only compared with 'inf'; the NaN message names NaN itself",
    ("ops.py", "mul_many",
     "acc = factors[0][1] if factors[0][0] > 0 else div(b, sp.S.One, factors[⟦0⟧][1], where)",
     "1"):
        "the first factor of a chain always has the sign +1 (parse_tree._chain): the division "
        "branch is never taken",
    ("ops.py", "mul_many",
     "if e < ⟦0⟧ and is_num(t) and t.is_zero:",
     "1"):
        "a sign is +1 or -1: e < 1 is e < 0",
    ("ops.py", "mul",
     "if ⟦is_matrix(x) or is_matrix(y)⟧:",
     "(is_matrix(x) and is_matrix(y))"):
        "a scalar times a matrix then falls to b.node(sp.Mul(x, y)): SymPy's Mul of a scalar "
        "and a matrix is the same MatMul (and Mul(1, W) is W)",
    ("ops.py", "mul",
     "⟦return b.node(MatMul(s, m))⟧",
     "pass"):
        "b.node(sp.Mul(x, y)) below builds the same MatMul of the scalar and the matrix",
    ("parse_code.py", "<module>",
     "**{n: k for n, (k, _) in COMPOSITES.items() if ⟦k > 1⟧},",
     "(k >= 1)"):
        "ARITY is read with .get(name, 1) and no composite of arity 1 has another entry: an "
        "entry of 1 is the default",
    ("parse_code.py", "CodeText.error",
     'line = getattr(node, "lineno", ⟦1⟧) if node is not None else 1',
     "2"):
        "every node given to error() (statements, expressions, keywords) has a lineno on the "
        "Pythons supported",
    ("screen.py", "screen",
     'if m.end() < len(code) and (code[m.end()].isalpha() or code[m.end()] == ⟦"_"⟧):',
     "'XX_'"):
        "no code reaches it with a number followed by _: the number pattern takes the _ of "
        "2_ and 1e5_, and the text reader reads 1j_ as 1*j_ first",
    ("recognise.py", "_const_value",
     "if ⟦e.is_Number or e.is_NumberSymbol⟧:",
     "(e.is_Number and e.is_NumberSymbol)"):
        "a number term then becomes an operand 1 with the number as its coefficient: the same "
        "sum, and a constant operand has no adjoint (every output compared on a corpus)",
    ("recognise.py", "_const_value",
     "⟦return e⟧",
     "pass"):
        "a number term then becomes an operand 1 with the number as its coefficient: the same "
        "sum, and a constant operand has no adjoint (every output compared on a corpus)",
    ("recognise.py", "_const_value",
     "⟦return sp.S.One⟧",
     "return None"):
        "a 𝟏 term then becomes an operand of its own: the same sum, and a constant operand "
        "has no adjoint (every output compared on a corpus)",
    ("recognise.py", "_const_value",
     "⟦return c⟧",
     "return None"):
        "a c·𝟏 term then becomes an operand with the coefficient c: the same sum, and a "
        "constant operand has no adjoint (every output compared on a corpus)",
    ("recognise.py", "<module>",
     'OUT = sp.Symbol(⟦"_out"⟧, real=True)',
     "'XX_out'"):
        "OUT occurs only in partials over the placeholders and is replaced before any user "
        "symbol is near it: its name is never compared",
    ("recognise.py", "<module>",
     'OUT = sp.Symbol("_out", real=⟦True⟧)',
     "False"):
        "OUT is substituted for the node's own value before any simplification that reads "
        "assumptions (every output compared on a corpus)",
    ("recognise.py", "_local_partials",
     "if p.name == ⟦\"mul\"⟧: # c·Π x_k^e_k: e_j x_j^(e_j − 1) times the rest, what sp.diff "
     "gives",
     "'XXmul'"):
        "sp.diff of the template then gives the same partials (the fast path only)",
    ("sweep.py", "vjp",
     "c = SumAll(c) if is_matrix(c) else ⟦c * sp.Mul(*node.shape)⟧",
     "(c / sp.Mul(*node.shape))"):
        "not reachable: the front ends lift a scalar operand of a matrix element-wise node to "
        "s·𝟏 first, so the contribution is a matrix (no test of the whole suite takes it)",
    ("builder.py", "Builder.bind",
     "if is_leaf(term) or ⟦term in self.names⟧ or term not in self._node_lhs:",
     "(term not in self.names)"):
        "names and _node_lhs hold symbols, which are leaves: is_leaf(term) decides for them and "
        "any other term is in neither",
    ("builder.py", "substitute.leaf",
     "return e if ⟦not e.args or is_leaf(e)⟧ else None",
     "(not e.args and is_leaf(e))"):
        "a leaf with arguments (a 𝟏 or I with its sizes) is rebuilt from its unchanged "
        "arguments as the same leaf",
    ("builder.py", "assemble",
     "if ⟦a in b.temps⟧:",
     "(a not in b.temps)"):
        "no node then counts as used once and every one is built eagerly: SymPy flattens the "
        "nested sums and products to the same expression (the gathering is an optimisation)",
    ("builder.py", "assemble",
     "uses[a] = ⟦uses.get(a, 0) + 1⟧",
     "(uses.get(a, 0) - 1)"):
        "no node then counts as used once and every one is built eagerly: SymPy flattens the "
        "nested sums and products to the same expression (the gathering is an optimisation)",
    ("builder.py", "assemble",
     "uses[a] = uses.get(a, 0) + ⟦1⟧",
     "2"):
        "no node then counts as used once and every one is built eagerly: SymPy flattens the "
        "nested sums and products to the same expression (the gathering is an optimisation)",
    ("evaluate.py", "<module>",
     '⟦"Abs"⟧: np.abs, "Max": lambda *a: reduce(np.maximum, a),',
     "'XXAbs'"):
        "BY_SYMPY maps sp.Abs to the rule abs, whose forward is np.abs: the entry by class name "
        "is never read",
}


@dataclass(frozen=True)
class Mutant:
    module: str  # under symbackprop/, e.g. "emit/latex.py"
    line: int
    start: int  # byte offsets into the source
    end: int
    kind: str
    qualname: str
    before: str
    after: str
    site: str  # its source line, the changed text in ⟦ ⟧ (stable when lines move)

    @property
    def description(self) -> str:
        return f"`{_short(self.before)}` -> `{_short(self.after)}`"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.module, self.qualname, self.site, self.after)


def _short(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


# ---------------------------------------------------------------------------------------------
# Enumerating mutants

_SWAP_CMP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE,
    ast.GtE: ast.Gt, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_SWAP_BIN: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
}
_SIMPLE_STATEMENTS = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Return,
                      ast.Raise, ast.Delete, ast.Break, ast.Continue, ast.Assert)


class _Source:
    """A module's text with byte offsets (``ast`` columns count UTF-8 bytes)."""

    def __init__(self, text: str) -> None:
        self.data = text.encode()
        self.starts = [0]
        for i, byte in enumerate(self.data):
            if byte == 0x0A:
                self.starts.append(i + 1)

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.starts[node.lineno - 1] + node.col_offset  # type: ignore[attr-defined]
        end = self.starts[node.end_lineno - 1] + node.end_col_offset  # type: ignore[attr-defined]
        return start, end

    def text(self, start: int, end: int) -> str:
        return self.data[start:end].decode()

    def site(self, start: int, end: int) -> str:
        """The line of ``start`` with the bytes ``start:end`` (to the line's end) in ⟦ ⟧."""
        line_start = self.data.rfind(b"\n", 0, start) + 1
        line_end = self.data.find(b"\n", start)
        line_end = len(self.data) if line_end < 0 else line_end
        cut = min(end, line_end)
        marked = (self.data[line_start:start] + "⟦".encode() + self.data[start:cut]
                  + ("⟧" if end <= line_end else "…⟧").encode() + self.data[cut:line_end])
        return " ".join(marked.decode().split())

    def replaced(self, start: int, end: int, new: str) -> str:
        return (self.data[:start] + new.encode() + self.data[end:]).decode()


class _Enumerator(ast.NodeVisitor):
    def __init__(self, module: str, source: _Source) -> None:
        self.module = module
        self.source = source
        self.scope: list[str] = []
        self.mutants: list[Mutant] = []
        self.skip: set[int] = set()  # ids of nodes never mutated (annotations, docstrings, ...)

    # scopes, and what is never mutated -------------------------------------------------
    def _skip_tree(self, node: ast.AST | None) -> None:
        if node is not None:
            self.skip.update(id(n) for n in ast.walk(node))

    def _docstring(self, body: list[ast.stmt]) -> None:
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            self._skip_tree(body[0])

    def visit_Module(self, node: ast.Module) -> None:
        self._docstring(node.body)
        self.generic_visit(node)

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._docstring(node.body)
        if not isinstance(node, ast.ClassDef):
            for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs,
                      node.args.vararg, node.args.kwarg]:
                if a is not None:
                    self._skip_tree(a.annotation)
            self._skip_tree(node.returns)
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_FunctionDef = _scoped
    visit_AsyncFunctionDef = _scoped
    visit_ClassDef = _scoped

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._skip_tree(node.annotation)
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        self._skip_tree(node)  # columns inside f-strings are not reliable before 3.12

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
            self._skip_tree(node)
            return
        for body in (node.body, node.orelse):
            for stmt in body:
                if isinstance(stmt, _SIMPLE_STATEMENTS) and id(stmt) not in self.skip:
                    self._add(stmt, "statement removed", "pass", parenthesize=False)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        v = node.value
        if (isinstance(v, ast.Name) and v.id == "Literal") or (
                isinstance(v, ast.Attribute) and v.attr == "Literal"):
            self._skip_tree(node)  # a type, read by type checkers only
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if name in ("cast", "TypeVar", "NewType") and node.args:
            self._skip_tree(node.args[0])
        for kw in node.keywords:
            if kw.arg == "strict":  # zip(..., strict=True): an assertion on lengths
                self._skip_tree(kw.value)
        self.generic_visit(node)

    # the mutations ------------------------------------------------------------------------
    def _add(self, node: ast.AST, kind: str, after: str, parenthesize: bool = True) -> None:
        if id(node) in self.skip:
            return
        start, end = self.source.span(node)
        before = self.source.text(start, end)
        if parenthesize:
            after = f"({after})"
        self.mutants.append(Mutant(self.module, node.lineno, start, end,  # type: ignore[attr-defined]
                                   kind, ".".join(self.scope) or "<module>", before, after,
                                   self.source.site(start, end)))

    def visit_Compare(self, node: ast.Compare) -> None:
        for i, op in enumerate(node.ops):
            if type(op) in _SWAP_CMP:
                ops = list(node.ops)
                ops[i] = _SWAP_CMP[type(op)]()
                new = ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
                self._add(node, "comparison swapped", ast.unparse(new))
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self._add(node, "boolean operator swapped", ast.unparse(ast.BoolOp(op=op,
                                                                         values=node.values)))
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if type(node.op) in _SWAP_BIN:
            new = ast.BinOp(left=node.left, op=_SWAP_BIN[type(node.op)](), right=node.right)
            self._add(node, "arithmetic swapped", ast.unparse(new))
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, ast.Not):
            self._add(node, "not removed", ast.unparse(node.operand))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        v = node.value
        if isinstance(v, bool):
            self._add(node, "boolean constant swapped", repr(not v), parenthesize=False)
        elif isinstance(v, int):
            self._add(node, "integer plus one", repr(v + 1), parenthesize=False)
        elif isinstance(v, str):
            self._add(node, "string changed", repr("XX" + v), parenthesize=False)

    def visit_Return(self, node: ast.Return) -> None:
        v = node.value
        if v is not None and not (isinstance(v, ast.Constant) and v.value is None):
            self._add(node, "return None", "return None", parenthesize=False)
        self.generic_visit(node)


def enumerate_mutants(module: str, text: str) -> list[Mutant]:
    """Every mutant of a module's source, in source order, without duplicates."""
    source = _Source(text)
    e = _Enumerator(module, source)
    e.visit(ast.parse(text))
    seen: set[tuple[int, int, str]] = set()
    out = []
    for m in sorted(e.mutants, key=lambda m: (m.start, m.end, m.kind)):
        if (m.start, m.end, m.after) in seen or m.before == m.after:
            continue
        seen.add((m.start, m.end, m.after))
        out.append(m)
    return out


def mutated_source(text: str, m: Mutant) -> str:
    return _Source(text).replaced(m.start, m.end, m.after)


# ---------------------------------------------------------------------------------------------
# Running tests in the copy, one process at a time


def _preload(copy: Path) -> None:
    """Import, in this process, the third-party modules that the package and tests import, so
    that each forked run starts with them loaded (never anything from the copy itself)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    local = {p.stem for p in (copy / "tests").glob("*.py")} | {p.stem for p in copy.iterdir()}
    names: set[str] = set()
    for path in [*(copy / PACKAGE).rglob("*.py"), *(copy / "tests").glob("*.py")]:
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
    for name in sorted(names):
        if name.split(".")[0] in local:
            continue
        with contextlib.suppress(Exception):  # an optional dependency: the tests skip it
            __import__(name)
    mine = sorted(n for n in sys.modules if n.split(".")[0] in local - {"tools"})
    if mine:
        raise SystemExit(f"preloading imported modules of the repository: {', '.join(mine)}")
    import hypothesis
    import pytest  # noqa: F401

    hypothesis.settings.register_profile(
        "mutation", deadline=None, derandomize=True, database=None, max_examples=60,
        suppress_health_check=[hypothesis.HealthCheck.too_slow])


@dataclass
class Outcome:
    status: str  # "passed", "failed", "timeout", "error"
    seconds: float
    detail: str = ""


def _child(copy: Path, args: list[str], log: Path, trace_file: Path | None, write_pyc: bool,
           lines_out: Path | None) -> int:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.chdir(copy)
    root = os.path.realpath(ROOT)
    sys.path[:] = [str(copy)] + [p for p in sys.path
                                 if p and os.path.realpath(p) != root]
    sys.path_importer_cache.clear()
    for name in [n for n in sys.modules if n == "tools" or n.startswith("tools.")]:
        del sys.modules[name]
    os.environ["PYTHONPATH"] = str(copy)
    os.environ.pop("SYMBACKPROP_REQUIRE_TOOLS", None)
    sys.dont_write_bytecode = not write_pyc
    executed: set[int] = set()
    if trace_file is not None:
        import threading

        target = str(trace_file)

        def local(frame, event, arg):  # type: ignore[no-untyped-def]
            if event == "line":
                executed.add(frame.f_lineno)
            return local

        def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
            if frame.f_code.co_filename == target:
                executed.add(frame.f_lineno)
                return local
            return None

        threading.settrace(tracer)
        sys.settrace(tracer)
    import pytest

    code = int(pytest.main(args))
    sys.settrace(None)
    sys.stdout.flush()
    sys.stderr.flush()
    pkg = sys.modules.get(PACKAGE)
    where = getattr(pkg, "__file__", None) or ""
    if pkg is not None and not os.path.realpath(where).startswith(os.path.realpath(copy)):
        print(f"\nMUTATION-TOOL: {PACKAGE} was imported from {where}, not from {copy}")
        return 98
    if lines_out is not None:
        lines_out.write_text(json.dumps(sorted(executed)))
    return code


# tests left out of every run (--deselect): ones that fail without any mutant, for reasons
# outside the module mutated (a missing tool, work in progress); the report names them
DESELECTED: list[str] = []


def run_tests(copy: Path, tests: Sequence[str], log: Path, timeout: float, *,
              trace_file: Path | None = None, write_pyc: bool = False,
              lines_out: Path | None = None) -> Outcome:
    """Run pytest on ``tests`` in the copy, in a forked process; kill it after ``timeout``."""
    args = ["-x", "-q", "-p", "no:cacheprovider", "--hypothesis-profile=mutation",
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            "-o", "addopts=--strict-markers", "-rf", "--tb=line",
            *(f"--deselect={t}" for t in DESELECTED), *tests]
    sys.stdout.flush()
    sys.stderr.flush()
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        code = 99
        try:
            os.setpgid(0, 0)
            code = _child(copy, args, log, trace_file, write_pyc, lines_out)
        except BaseException:  # reported through the exit code and the log
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    with contextlib.suppress(OSError):  # the child may have done it first
        os.setpgid(pid, pid)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        elapsed = time.monotonic() - start
        if done:
            break
        if elapsed > timeout:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return Outcome("timeout", elapsed)
        time.sleep(0.02)
    code = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace") if log.exists() else ""
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", text, re.MULTILINE)
    if code == 0:
        return Outcome("passed", elapsed)
    if code == 1:
        return Outcome("failed", elapsed, failed[0] if failed else "")
    if code == 98:
        raise SystemExit(text.splitlines()[-1])
    return Outcome("error", elapsed, f"exit {code}" + (f": {failed[0]}" if failed else ""))


# ---------------------------------------------------------------------------------------------
# The copy


def make_copy(dest: Path, rev: str | None) -> None:
    """The working tree in ``dest``; or, with ``rev``, the repository at that commit and the
    files under tests/ and tools/ that git does not track yet (tests being written)."""
    if rev is None:
        ignore = shutil.ignore_patterns(".git", "node_modules", "__pycache__", ".hypothesis",
                                        ".mypy_cache", ".ruff_cache", ".pytest_cache", "*.pyc",
                                        "build", "dist", "*.egg-info")
        shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
        return
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    untracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "--others",
                                "--exclude-standard", "tests", "tools"], check=True,
                               capture_output=True, text=True).stdout.split()
    for name in untracked:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, dest / name)


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class Result:
    mutant: Mutant
    status: str  # killed, timeout, survived, equivalent, error
    seconds: float = 0.0
    detail: str = ""


def _rank(m: Mutant, seed: int) -> str:
    """A mutant's place in the draw: a hash of the seed and of the mutant itself (its site,
    not its line number), so the draw barely moves when code or tests change elsewhere."""
    return hashlib.sha256(f"{seed}\0{chr(0).join(m.key)}".encode()).hexdigest()


def _sample(mutants: list[Mutant], n: int, seed: int) -> list[Mutant]:
    chosen = sorted(mutants, key=lambda m: _rank(m, seed))[:n]
    return sorted(chosen, key=lambda m: (m.start, m.end, m.after))


def run_module(copy: Path, module: str, tests: Sequence[str], per_module: int, seed: int,
               only: set[tuple[str, str, str, str]] | None, work: Path) -> list[Result] | None:
    """The drawn mutants of one module and what became of each; None when the module's tests
    fail (or the traced run fails) without any mutant."""
    path = copy / PACKAGE / module
    original = path.read_text(encoding="utf-8")
    tests = [t for t in tests if (copy / t).exists()]
    stem = module.replace("/", "_")
    # baseline (writes the bytecode of everything else), then the lines the tests run
    base = run_tests(copy, tests, work / f"{stem}.base.log", 1800, write_pyc=True)
    if base.status != "passed":
        print(f"  {module}: the tests fail without a mutant ({base.status} {base.detail}); "
              f"see {work / (stem + '.base.log')}")
        return None
    lines_file = work / f"{stem}.lines.json"
    traced = run_tests(copy, tests, work / f"{stem}.trace.log", 3600,
                       trace_file=path, lines_out=lines_file)
    if traced.status != "passed":
        print(f"  {module}: the traced run failed ({traced.status} {traced.detail})")
        return None
    executed = set(json.loads(lines_file.read_text()))
    candidates = [m for m in enumerate_mutants(module, original)
                  if any(n in executed for n in range(m.line, m.line + 1
                                                      + m.before.count("\n")))]
    if only is None:
        chosen = _sample(candidates, per_module, seed)
    else:  # the survivors of an earlier run, wherever they are now
        chosen = [m for m in enumerate_mutants(module, original) if m.key in only]
    timeout = max(30.0, 3 * base.seconds + 10)
    print(f"  {module}: {len(candidates)} mutants on executed lines, {len(chosen)} drawn; "
          f"tests {base.seconds:.1f}s untraced, {traced.seconds:.1f}s traced; "
          f"limit {timeout:.0f}s", flush=True)
    for pyc in (path.parent / "__pycache__").glob(path.stem + ".*.pyc"):
        pyc.unlink()
    results = []
    try:
        for i, m in enumerate(chosen, 1):
            if m.key in EXCLUDED:
                results.append(Result(m, "equivalent", 0.0, EXCLUDED[m.key]))
                continue
            text = mutated_source(original, m)
            try:
                compile(text, str(path), "exec")
            except SyntaxError as e:
                results.append(Result(m, "error", 0.0, f"does not compile: {e}"))
                continue
            path.write_text(text, encoding="utf-8")
            out = run_tests(copy, tests, work / "mutant.log", timeout)
            status = {"failed": "killed", "passed": "survived"}.get(out.status, out.status)
            if out.status == "error":
                status = "killed"  # a mutant that breaks collection or import is noticed
            results.append(Result(m, status, out.seconds, out.detail))
            print(f"    [{i:>3}/{len(chosen)}] {status:<9} {out.seconds:5.1f}s "
                  f"{module}:{m.line} {m.description}", flush=True)
    finally:
        path.write_text(original, encoding="utf-8")
    return results


def score(results: Sequence[Result]) -> tuple[int, int, int, int, int, float]:
    killed = sum(r.status == "killed" for r in results)
    timeout = sum(r.status == "timeout" for r in results)
    survived = sum(r.status == "survived" for r in results)
    equivalent = sum(r.status == "equivalent" for r in results)
    counted = killed + timeout + survived
    return (len(results), equivalent, killed, timeout, survived,
            100.0 * (killed + timeout) / counted if counted else 100.0)


def report(all_results: dict[str, list[Result] | None]) -> str:
    rows = [("module", "drawn", "equivalent", "killed", "timeout", "survived", "score")]
    total: list[Result] = []
    for module, results in all_results.items():
        if results is None:
            rows.append((module, "-", "-", "-", "-", "-", "tests fail"))
            continue
        n, eq, k, t, s, pct = score(results)
        rows.append((module, str(n), str(eq), str(k), str(t), str(s), f"{pct:.0f}%"))
        total += results
    n, eq, k, t, s, pct = score(total)
    rows.append(("all", str(n), str(eq), str(k), str(t), str(s), f"{pct:.1f}%"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w)
                       in enumerate(zip(r, widths, strict=True))) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    survivors = [r for r in total if r.status == "survived"]
    if survivors:
        lines += ["", f"survivors ({len(survivors)}):"]
        lines += [f"  {PACKAGE}/{r.mutant.module}:{r.mutant.line} in {r.mutant.qualname}: "
                  f"{r.mutant.kind}: {r.mutant.description}" for r in survivors]
    equivalent = [r for r in total if r.status == "equivalent"]
    if equivalent:
        lines += ["", f"equivalent, not run ({len(equivalent)}):"]
        lines += [f"  {PACKAGE}/{r.mutant.module}:{r.mutant.line} {r.mutant.description}: "
                  f"{r.detail}" for r in equivalent]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.mutation", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modules", default=",".join(CORE),
                   help="comma-separated modules under symbackprop/ (default: every core one)")
    p.add_argument("--per-module", type=int, default=40, help="mutants drawn per module")
    p.add_argument("--seed", type=int, default=0, help="the seed of the draw")
    p.add_argument("--rev", default=None,
                   help="test this commit (with the untracked files under tests/ and tools/) "
                        "instead of the working tree")
    p.add_argument("--survivors-of", type=Path, default=None,
                   help="run only the mutants that survived in this --json file (no draw)")
    p.add_argument("--json", type=Path, default=None, help="write every result here")
    p.add_argument("--deselect", action="append", default=[], metavar="NODEID",
                   help="leave this test out of every run (repeatable): one that fails without "
                        "any mutant, for a reason outside the module mutated")
    p.add_argument("--keep", action="store_true", help="keep the temporary copy and logs")
    a = p.parse_args(argv)
    DESELECTED[:] = a.deselect
    modules = [m.strip() for m in a.modules.split(",") if m.strip()]
    unknown = [m for m in modules if m not in CORE]
    if unknown:
        p.error(f"not a core module: {', '.join(unknown)} (known: {', '.join(CORE)})")
    only = None
    if a.survivors_of is not None:
        previous = json.loads(a.survivors_of.read_text())
        only = {(r["module"], r["qualname"], r["site"], r["after"])
                for r in previous["results"] if r["status"] == "survived"}
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="symbackprop-mutation-"))
    copy = work / "repo"
    try:
        make_copy(copy, a.rev)
        _preload(copy)
        print(f"copy in {copy}; {a.per_module} mutants per module, seed {a.seed}", flush=True)
        for t in DESELECTED:
            print(f"deselected: {t}", flush=True)
        results: dict[str, list[Result] | None] = {}
        for module in modules:
            results[module] = run_module(copy, module, CORE[module], a.per_module, a.seed,
                                         only, work)
        print()
        print(report(results))
        print(f"\n{time.monotonic() - started:.0f}s in all")
        if a.json is not None:
            a.json.write_text(json.dumps({
                "seed": a.seed, "per_module": a.per_module, "rev": a.rev,
                "deselected": DESELECTED,
                "scores": {m: dict(zip(("drawn", "equivalent", "killed", "timeout",
                                        "survived", "score"), score(r), strict=True))
                           for m, r in results.items() if r is not None},
                "results": [{**asdict(r.mutant), "description": r.mutant.description,
                             "status": r.status, "seconds": round(r.seconds, 2),
                             "detail": r.detail}
                            for rs in results.values() if rs is not None for r in rs]},
                indent=1))
    finally:
        if a.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
