"""Random text and random Python syntax trees: the answer is a derivation or a library error.

``derive`` + ``latex`` (+ ``evaluate`` where a derivation comes out) on token soup, on random
``ast`` trees unparsed with ``ast.unparse``, on arbitrary unicode, and on random expressions
inside the whitelist. Anything but a result or a ``SymbackpropError`` fails the test.

Examples per test: 10,000 in CI (``SYMBACKPROP_REQUIRE_TOOLS=1``), a few hundred locally;
``SYMBACKPROP_FUZZ_EXAMPLES=N`` sets it. ``python -m fuzz.fuzz_parse`` runs the long fuzzer.
"""

from __future__ import annotations

import ast
import os
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbackprop as sbp
from symbackprop.parse import FUNCTIONS


def _examples(ci: int, local: int) -> int:
    if os.environ.get("SYMBACKPROP_FUZZ_EXAMPLES"):
        return int(os.environ["SYMBACKPROP_FUZZ_EXAMPLES"])
    return ci if os.environ.get("SYMBACKPROP_REQUIRE_TOOLS") == "1" else local


FUZZ = settings(max_examples=_examples(10_000, 300), deadline=None, derandomize=False,
                suppress_health_check=list(HealthCheck))
GRAMMAR = settings(max_examples=_examples(2_000, 100), deadline=None,
                   suppress_health_check=list(HealthCheck))


def answer(text: str) -> None:
    """derive + latex (+ evaluate): a result, or a SymbackpropError; nothing else."""
    try:
        d = sbp.derive(text)
        d.latex()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # nan/inf at a point is fine here
            d.evaluate({str(s.name): 0.5 for s in d.inputs})
    except sbp.SymbackpropError:
        pass


# ---------------------------------------------------------------------------------------
# token soup

NAMES = ["x", "y", "z", "W", "b1", "t_1", "e", "E", "I", "S", "pi", "oo", "nan", "lam", "alpha",
         "os", "sys", "eval", "exec", "open", "lambda", "__import__", "__class__", "_x",
         "Symbol", "Function", "sympify", "Lambda", "Integral", "T", "self", "None", "True",
         *FUNCTIONS]
NUMBERS = ["0", "1", "2", "9", "0.5", "1e308", "1e-308", "1e400", "0x10", "0b1", "0o7", "1_000",
           "1j", "10**9", "9**9**9", "2**256", "1/3", ".5", "5.", "00", "1e5"]
OPS = ["+", "-", "*", "/", "**", "@", "%", "//", ".", ",", "(", ")", "[", "]", "{", "}", ":",
       ";", "=", ":=", "!", "~", "<", ">", "==", "'", '"', 'f"', "\\", "\n", "\t", " ", "#",
       "...", "->", "|", "&", "^", "<<", "@=", "+=", "**=", ".T", "if", "else", "for", "in",
       "not", "and", "or", "is", "yield", "await", "import", "from", "def", "return"]
tokens = st.sampled_from(NAMES) | st.sampled_from(NUMBERS) | st.sampled_from(OPS)
soup = st.lists(tokens, max_size=40).map(" ".join) | st.lists(tokens, max_size=40).map("".join)


@FUZZ
@given(soup)
def test_token_soup(text: str) -> None:
    answer(text)


@FUZZ
@given(st.text(max_size=60))
def test_arbitrary_unicode(text: str) -> None:
    answer(text)


# ---------------------------------------------------------------------------------------
# random syntax trees

_BIN = [ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.MatMult, ast.Mod, ast.FloorDiv,
        ast.LShift, ast.BitOr]
_UN = [ast.USub, ast.UAdd, ast.Not, ast.Invert]
name_ids = st.sampled_from(NAMES[:35]) | st.sampled_from(FUNCTIONS)
names = name_ids.map(lambda n: ast.Name(id=n, ctx=ast.Load()))
constants = st.one_of(
    st.integers(-(10**30), 10**30), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([None, True, False, "s", b"b", 1j, ...]),
).map(lambda v: ast.Constant(value=v))


def _extend(inner: st.SearchStrategy[ast.expr]) -> st.SearchStrategy[ast.expr]:
    lists = st.lists(inner, max_size=3)
    return st.one_of(
        st.builds(lambda a, op, b: ast.BinOp(a, op(), b), inner, st.sampled_from(_BIN), inner),
        st.builds(lambda op, a: ast.UnaryOp(op(), a), st.sampled_from(_UN), inner),
        st.builds(lambda f, args: ast.Call(f, args, []), names, lists),
        st.builds(lambda f, args, v: ast.Call(f, args, [ast.keyword("k", v)]), names, lists,
                  inner),
        st.builds(lambda f, a: ast.Call(ast.Attribute(f, "__call__", ast.Load()), [a], []),
                  names, inner),
        st.builds(lambda a, attr: ast.Attribute(a, attr, ast.Load()), inner,
                  st.sampled_from(["T", "__class__", "subs", "func", "args"])),
        st.builds(lambda a, i: ast.Subscript(a, i, ast.Load()), inner, inner),
        st.builds(lambda a: ast.Lambda(ast.arguments([], [], None, [], [], None, []), a), inner),
        st.builds(lambda a, b: ast.Compare(a, [ast.Lt()], [b]), inner, inner),
        st.builds(lambda a, b: ast.BoolOp(ast.And(), [a, b]), inner, inner),
        st.builds(lambda a, b, c: ast.IfExp(a, b, c), inner, inner, inner),
        st.builds(lambda xs: ast.Tuple(xs, ast.Load()), lists),
        st.builds(lambda xs: ast.List(xs, ast.Load()), lists),
        st.builds(lambda a: ast.Starred(a, ast.Load()), inner),
        st.builds(lambda a: ast.NamedExpr(ast.Name("w", ast.Store()), a), inner),
        st.builds(lambda a: ast.JoinedStr([ast.FormattedValue(a, -1, None)]), inner),
        st.builds(lambda a, b: ast.ListComp(a, [ast.comprehension(
            ast.Name("i", ast.Store()), b, [], 0)]), inner, inner),
    )


trees = st.recursive(names | constants, _extend, max_leaves=12)


def _statement(e: ast.expr, kind: int) -> list[ast.stmt]:
    if kind == 0:
        return [ast.Expr(e)]
    if kind == 1:
        return [ast.Assign([ast.Name("s", ast.Store())], e), ast.Expr(ast.Name("s", ast.Load()))]
    return [ast.Assign([ast.Name("__class__", ast.Store())], e)]


@FUZZ
@given(trees, st.integers(0, 2))
def test_random_syntax_trees(tree: ast.expr, kind: int) -> None:
    module = ast.fix_missing_locations(ast.Module(_statement(tree, kind), []))
    try:
        text = ast.unparse(module)
    except Exception:  # a tree ast.unparse cannot write is not text anyone can send
        return
    answer(text)


# ---------------------------------------------------------------------------------------
# random expressions inside the whitelist: SymPy's own behaviour on allowed input

UNARY = [f for f in FUNCTIONS if f not in ("max", "min", "mse", "cross_entropy", "hadamard")]
leaf = st.sampled_from(["x", "y", "z", "pi", "0", "1", "2", "0.5", "1e300", "1e-300", "3",
                        "(1/3)", "(-1)", "1000"])


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.builds(lambda a, op, b: f"({a} {op} {b})", inner,
                  st.sampled_from(["+", "-", "*", "/", "**", "@"]), inner),
        st.builds(lambda f, a: f"{f}({a})", st.sampled_from(UNARY), inner),
        st.builds(lambda f, a, b: f"{f}({a}, {b})", st.sampled_from(["max", "min", "hadamard"]),
                  inner, inner),
        st.builds(lambda a: f"-{a}", inner),
        st.builds(lambda a: f"{a}.T", inner),
    )


@GRAMMAR
@given(st.recursive(leaf, _grow, max_leaves=10))
def test_whitelisted_expressions(text: str) -> None:
    answer(text)


def test_a_product_sympy_cannot_split_into_a_fraction_prints() -> None:
    """Found by test_whitelisted_expressions (a CI run): SymPy's LaTeX printer splits a
    product with fraction(), which substituted into min(-1, 1/x) and raised ValueError ('zoo'
    is not comparable). The product prints factor by factor, and KaTeX and pdflatex take it."""
    from latex_tools import assert_latex_ok

    text = "(x ** min((-1), (x ** (-1))))"
    answer(text)
    assert_latex_ok([sbp.derive(text).latex()])
