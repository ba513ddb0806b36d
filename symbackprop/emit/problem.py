"""The problem statement above a derivation: what is differentiated, in which variables.

``problem_latex(d)`` is the output written in the inputs (``z = (x + y)^2``) when that is
small enough to read; a Python function's source is rendered with latexify-py
(``function_latex``), and where that cannot work (a lambda, a function without a source file,
a construct latexify does not know) the reason is said plainly instead of latexify's error.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..notation import escape_text
from .latex import output_in_inputs
from .printer import expr_latex
from .symbols import symbol_table

if TYPE_CHECKING:
    from ..derivation import Derivation

class SourceUnavailable(ValueError):
    """A Python function whose source latexify-py cannot show (with the reason)."""


def function_latex(fn: Any) -> str:
    """latexify-py's rendering of a Python function; ``SourceUnavailable`` says why not."""
    name = getattr(fn, "__name__", type(fn).__name__)
    if name == "<lambda>":
        raise SourceUnavailable("a lambda has no source latexify-py can read; "
                                "write it with def in a file to see it typeset")
    try:
        inspect.getsource(fn)
    except (OSError, TypeError):
        raise SourceUnavailable(f"the source of {name}() is not available (a function made "
                                "by exec or typed at an interactive prompt); define it in a "
                                "file to see it typeset") from None
    try:
        import latexify

        return str(latexify.get_latex(fn, use_math_symbols=True))
    except Exception as e:  # latexify raises many kinds; none of them may escape
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SourceUnavailable(f"latexify-py cannot typeset {name}(): {first}") from None


@dataclass(frozen=True, slots=True)
class Problem:
    """What the problem statement shows: the function (source and LaTeX), the output."""

    code: str | None = None  # a Python function's source
    function: str | None = None  # latexify-py's LaTeX of it
    output: str | None = None  # the output written in the inputs
    note: str | None = None  # why the function is not typeset
    # the function's name when one of its own variables has the output's name (a local z
    # beside the output z): the output is then said to be the function's value
    shadowed: str | None = None


def _binds(code: str, name: str) -> bool:
    """Whether the function's source binds ``name`` (a parameter or an assignment)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == name:
            return True
        if isinstance(node, ast.arg) and node.arg == name:
            return True
    return False


def problem_parts(d: Derivation) -> Problem:
    """The function (source and latexify-py's LaTeX), the output written in the inputs,
    and, where the function has a variable of the output's name (``z = w*x + b`` inside,
    the output z outside), the function's name: the output line is then written
    ``z = f(w, x, b) = …``, so the two z are never taken for one."""
    code = function = note = shadowed = None
    output = output_in_inputs(d)
    if callable(d.source) and not isinstance(d.source, (str, sp.Basic)):
        try:
            function = function_latex(d.source)
            code = textwrap.dedent(inspect.getsource(d.source)).strip()
        except SourceUnavailable as e:
            note = str(e)
        if code is not None and _binds(code, str(d.output.name)):
            shadowed = str(getattr(d.source, "__name__", "f"))
            if output is not None:
                names = symbol_table(d)
                head, _, rest = output.partition(" = ")
                args = ", ".join(names.get(v, escape_text(str(v))) for v in _parameters(d))
                output = rf"{head} = \operatorname{{{escape_text(shadowed)}}}({args}) = {rest}"
    return Problem(code, function, output, note, shadowed)


def _parameters(d: Derivation) -> list[Any]:
    """The function's parameters as the derivation's inputs (their names where not)."""
    by_name = {str(v.name): v for v in d.inputs}
    try:
        params = list(inspect.signature(d.source).parameters)
    except (TypeError, ValueError):
        return list(d.inputs)
    return [by_name.get(p, p) for p in params]


def problem(d: Derivation) -> tuple[list[str], str | None]:
    """The problem's display lines (LaTeX) and a note to show when the source could not be."""
    p = problem_parts(d)
    return [s for s in (p.function, p.output) if s is not None], p.note


def problem_latex(d: Derivation) -> str:
    """The problem as one LaTeX display string (``aligned`` when there are two lines)."""
    lines, _ = problem(d)
    if not lines:
        names = symbol_table(d)
        eq = d.forward[-1]
        lines = [f"{names[eq.lhs]} = {expr_latex(eq.rhs, names)}"]
    if len(lines) == 1:
        return lines[0]
    return "\\begin{gathered}\n" + " \\\\\n".join(lines) + "\n\\end{gathered}"


def wrt_latex(d: Derivation) -> list[str]:
    names = symbol_table(d)
    return [names[v] for v in d.wrt]
