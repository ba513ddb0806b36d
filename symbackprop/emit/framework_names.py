"""The generated framework code's own names kept apart from the user's: any input name works.

The code PyTorch's and JAX's emitters write uses names of its own: the cotangent ``g``,
``ctx``, ``res``, the modules (``torch``, ``jax``, ``jnp``, ``math``), ``FunctionCtx``,
``Callable``, the helpers (``log_softmax``, ``step``, ``vjp``, ...), the generated
functions (``forward_backward_fwd``) and Python's builtins. A variable of the derivation
with one of these names (a gain ``g`` of ``layernorm(X, g, b)``) is renamed in a copy of
the derivation (``g`` → ``g_1``, a name used nowhere), the code is written from the copy,
and then the two names are swapped in the code's tokens: the variable is ``g`` again (the
parameter, the docstring, the messages) and our name is ``g_1`` — a module imported ``as
torch_1``, a builtin bound once (``slice_1 = slice``). A renaming of names only, the same
in every scope, so the code means what it meant; an attribute (``.T``) and a keyword
argument (``dim=``) are not names and stay. Only text we wrote is tokenized; nothing runs.
A named dimension is written as a variable too (``n = X.shape[0]``) but lives in the
shapes, not the equations: one named as ours (a dimension ``g`` would read as the
cotangent) is refused (GraphError).
"""

from __future__ import annotations

import builtins
import io
import re
import tokenize
from typing import TYPE_CHECKING

import sympy as sp

from ..builder import Equation, make_symbol
from ..canonical import replace_args
from ..derivation import Derivation as Record
from ..errors import GraphError
from ..graph import Graph
from ..shapes import axes_of, shape_of

if TYPE_CHECKING:
    from ..derivation import Derivation

OWN = frozenset({"torch", "jax", "jnp", "math", "np", "numpy", "ctx", "g", "res",
                 "FunctionCtx", "Callable", *dir(builtins)})


def apart(d: Derivation, own: set[str] | frozenset[str]) -> tuple[Derivation, dict[str, str]]:
    """``d`` with each variable named as one of ``own`` (``OWN``, the helpers, ...) renamed
    (``g`` → ``g_1``), and the renaming {old: new}; ``d`` itself when no name is ours."""
    dims = sorted({str(n) for s in d.inputs for n in axes_of(shape_of(s))
                   if isinstance(n, sp.Symbol)} & own)
    if dims:  # written as variables (n = X.shape[0]): a dimension g would be the cotangent
        raise GraphError(f"the dimension {dims[0]!r} has the name of one the generated code "
                         "uses: name the dimension otherwise in shapes")
    syms = [*d.inputs, *(e.lhs for e in d.forward)]
    names = {str(s.name) for s in syms}
    taken = names | own
    new: dict[str, str] = {}
    for n in sorted(names & own):
        k = 1
        while f"{n}_{k}" in taken:
            k += 1
        new[n] = f"{n}_{k}"
        taken.add(new[n])
    if not new:
        return d, {}
    sub = {s: make_symbol(new[str(s.name)], shape_of(s)) for s in syms if str(s.name) in new}
    g = d.graph
    eqs = tuple(Equation(sub.get(e.lhs, e.lhs), replace_args(e.rhs, sub)) for e in g.equations)
    graph = Graph(eqs, g.shapes, keep=tuple(sub.get(k, k) for k in g.keep),  # inputs
                  order=tuple(sub.get(k, k) for k in d.inputs)).validate()  # in d's order
    wrt = [sub.get(w, w) for w in d.wrt]
    return Record(graph, wrt, d.options, loss=d.loss, source=d.source, limits=d.limits,
                  reading=d.reading), new


def swapped(code: str, new: dict[str, str]) -> str:
    """``code`` written from ``apart``'s copy with each renamed variable ``new[n]`` named
    ``n`` again and our own ``n`` named ``new[n]``: in names (not attributes, not keyword
    arguments), in the imports (``import torch as torch_1``), and, for the variable's name
    only, in strings and comments (the docstring, the messages)."""
    if not new:
        return code
    old = {v: k for k, v in new.items()}
    swap = {**new, **old}
    back = re.compile(r"\b(" + "|".join(map(re.escape, new.values())) + r")\b")
    lines = code.split("\n")
    edits: list[tuple[int, int, int, str]] = []
    toks = list(tokenize.generate_tokens(io.StringIO(code).readline))
    seen: set[str] = set()
    depth = 0
    for i, t in enumerate(toks):
        (row, col), (_, end) = t.start, t.end
        depth += t.string in ("(", "[", "{") and t.type == tokenize.OP
        depth -= t.string in (")", "]", "}") and t.type == tokenize.OP
        if t.type in (tokenize.STRING, tokenize.COMMENT):  # a docstring: line by line
            for r in range(row, t.end[0] + 1):
                a, b = col if r == row else 0, end if r == t.end[0] else len(lines[r - 1])
                text = back.sub(lambda m: old[m.group(1)], lines[r - 1][a:b])
                if text != lines[r - 1][a:b]:
                    edits.append((r, a, b, text))
        elif t.type == tokenize.NAME and t.string in swap and not lines[row - 1].lstrip(
                ).startswith(("import ", "from ")):
            attribute = i > 0 and toks[i - 1].string == "."
            keyword = depth > 0 and i + 1 < len(toks) and toks[i + 1].string == "="
            if not attribute and not keyword:
                edits.append((row, col, end, swap[t.string]))
                seen.add(t.string)
    for row, col, end, text in sorted(edits, reverse=True):
        ln = lines[row - 1]
        lines[row - 1] = ln[:col] + text + ln[end:]
    out = "\n".join(_import(ln, new) for ln in lines)
    aliases = [f"{new[n]} = {n}  # the builtin (a variable is named {n})" for n in sorted(new)
               if n in seen and n in dir(builtins) and not _defined(code, n)]
    if aliases:  # after the imports
        head, _, rest = out.partition("\n\n\n")
        out = "\n".join([head, "", *aliases, "", "", rest])
    return out


def _defined(code: str, n: str) -> bool:
    """Whether the module defines ``n`` (a helper, a generated function)."""
    return re.search(rf"^(def|class) {re.escape(n)}\b", code, re.M) is not None


def _import(line: str, new: dict[str, str]) -> str:
    """An import of a name ``n`` that is swapped: ``import torch as torch_1``."""
    m = re.fullmatch(r"(import [\w.]+|from [\w.]+ import \w+)(?: as (\w+))?", line)
    if m is None:
        return line
    bound = m.group(2) or m.group(1).split()[-1].split(".")[0]
    return f"{m.group(1)} as {new[bound]}" if bound in new else line
