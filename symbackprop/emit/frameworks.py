"""Generated framework code: the derivation as a ``torch.autograd.Function`` or a
``jax.custom_vjp`` whose backward pass is ours, one line per adjoint.

The expressions are written by ``framework_printer.FrameworkPrinter``, the NumPy printer
with the array namespace swapped; this module lays out the code around them: the forward
and backward lines, the saved values, the docstring, the refusals and the lines fitted
to 99 columns.
A vector input is reshaped into a column at the top, as ``to_python`` does, so a traced
NumPy function's 1-D arrays are taken; its gradient keeps the shape given (PyTorch's
backward reshapes it to ``ctx.shapes``; JAX's public function reshapes, then calls the
``custom_vjp`` of columns, and JAX's own VJP of the reshape does it).
As with ``to_python``, the only user text written is identifiers checked by
``check_identifier``; this module only writes text, it never runs it.
"""

from __future__ import annotations

import ast
import textwrap
from typing import TYPE_CHECKING, Any

from ..algebra import is_matrix
from ..derivation import Derivation as Record
from ..errors import GraphError, UnsupportedError
from ..shapes import fmt_shape, shape_of
from .framework_names import OWN, apart, swapped
from .framework_printer import FrameworkPrinter
from .framework_tables import JAX_HELPERS, TORCH_HELPERS
from .python import (
    RESERVED,
    _column,
    _dimension_lines,
    adjoint_names,
    check_identifier,
    rename_hint,
    staged_lines,
)

if TYPE_CHECKING:
    from ..derivation import Derivation


def _parts(d: Derivation, xp: str) -> tuple[list[str], list[str], list[str], dict[Any, str],
                                             FrameworkPrinter]:
    """The names of the inputs, the forward and the backward lines, the adjoints' names."""
    if d.options.mode == "forward" or d.is_jacobian:
        raise UnsupportedError("framework code is written for a scalar output in reverse "
                               "mode; use to_python() for forward mode or a Jacobian")
    variables = [*d.inputs, *(e.lhs for e in d.forward)]
    for v in variables:  # apart renamed those named as the code's own (but JAX's fname)
        if str(v.name) not in RESERVED:
            check_identifier(str(v.name), "variable")
    adj = adjoint_names(d)
    like: dict[tuple[Any, Any], str] = {}
    for s in d.inputs:
        if is_matrix(s):
            like.setdefault(tuple(s.shape), str(s.name))
    ref = next((str(s.name) for s in d.inputs if is_matrix(s)), None)
    p = FrameworkPrinter(adj, xp, ref, like)
    p.first = str(d.inputs[0].name) if d.inputs else ""
    dims = _dimension_lines(d.inputs, {str(v.name) for v in variables})
    forward, backward = staged_lines(d, p, adj, like, f"{xp}.zeros_like")
    ours = TORCH_HELPERS if xp == "torch" else JAX_HELPERS
    numpy_only = sorted(p.used - set(ours) - {"math"})  # the NumPy code's helpers
    if numpy_only:
        raise UnsupportedError(f"no {p.framework} code for the primitive "
                               f"{', '.join(numpy_only)}")
    return [str(s.name) for s in d.inputs], dims + forward[1:], dims + backward, adj, p


def _clash(name: str, why: str, also: str = "") -> GraphError:
    return GraphError(f"variable {name!r} cannot be used in generated framework code ({why}): "
                      f"{rename_hint(name)}{also}")


def _wrap(head: str, items: list[str], tail: str, indent: int,
          tuple_: bool = False) -> list[str]:
    """``head(items)tail`` on one line if it fits in 99 columns, else one item a line;
    ``tuple_``: a tuple of one keeps its comma."""
    one = " " * indent + head + ", ".join(items) + "," * (tuple_ and len(items) == 1) + tail
    if len(one) <= 99:
        return [one]
    pad = " " * (indent + 4)
    return [" " * indent + head, *(f"{pad}{i}," for i in items), " " * indent + tail]


def _fit(line: str, n: int) -> list[str]:
    """A statement longer than 99 columns at indent ``n`` as ``v = (`` and its sum's terms,
    a few a line, each break before a top-level ``+`` or ``-`` (PEP 8); a product's factors
    so, before a top-level ``*``, when it is no sum."""
    words = line.split(" ", 2)
    if n + len(line) <= 99 or len(words) < 3 or words[1] not in ("=", "+="):
        return [line]
    code, _, comment = line.partition("  # ")
    op = f" {words[1]} "
    lhs, rhs = code.split(op, 1)
    terms = _top_level(rhs, lambda i: rhs[i - 1:i + 2] in (" + ", " - "), 1)
    if len(terms) == 1:  # a product, broken before a * (not a **)
        terms = _top_level(rhs, lambda i: rhs[i] == "*" and "*" not in rhs[i - 1:i + 2:2], 0)
    if len(terms) == 1:
        return [line]
    out = [f"{lhs}{op}(" + (f"  # {comment}" if comment else "")]
    for t in terms:
        sep = "" if t.startswith("*") else " "
        if out[-1].startswith("    ") and n + len(out[-1]) + len(sep) + len(t) <= 99:
            out[-1] += sep + t
        else:
            out += ["    " + part for part in _broken(t, 99 - n - 4)]
    return [*out, ")"]


def _broken(term: str, width: int) -> list[str]:
    """A term still longer than ``width`` (a bracket's contents: (dp − (dp⊙p) @ 𝟏 @ 𝟏ᵀ) of a
    row softmax), broken before an inner `` @ ``, `` + ``, `` - `` (a piece still too long
    after its ``, ``): inside the statement's brackets any break is Python, and each
    continuation is indented once more."""
    if len(term) <= width:
        return [term]
    pieces = _top_level(term, lambda i: term[i - 1:i + 2] in (" @ ", " + ", " - "), 1,
                        anywhere=True)
    pieces = [q for p in pieces for q in ([p] if len(p) <= width else _top_level(
        p, lambda i, p=p: p[i - 2:i] == ", ", 1, anywhere=True))]
    lines = [pieces[0]]
    for p in pieces[1:]:
        if len(lines[-1]) + 1 + len(p) <= width:
            lines[-1] += " " + p
        else:
            lines.append("    " + p)
    return lines


def _top_level(rhs: str, breaks: Any, gap: int, anywhere: bool = False) -> list[str]:
    """``rhs`` cut before each character at bracket depth 0 (``anywhere``: at any depth)
    where ``breaks(i)``, the ``gap`` characters before it (a space) dropped."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(rhs):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if (depth == 0 or anywhere) and i > start and breaks(i):
            terms.append(rhs[start:i - gap])
            start = i
    return [*terms, rhs[start:]]


def _indent(lines: list[str], n: int) -> list[str]:
    return [(" " * n + part) if part else "" for ln in lines for part in _fit(ln, n)]


def _helpers(p: FrameworkPrinter, table: dict[str, str]) -> list[str]:
    out: list[str] = []
    for h in table:
        if h in p.used:
            out += [table[h].rstrip("\n"), "", ""]
    return out


def _shapes_doc(d: Derivation, indent: int) -> list[str]:
    parts = []
    for s in d.inputs:
        shape = shape_of(s)
        parts.append(f"{s.name}: {fmt_shape(shape)}")
    text = "Shapes (columns are vectors): " + ", ".join(parts) + "."
    if _columns(d):
        text += (" A 1-D vector (n,) is read as a column, as to_python reads it; its "
                 "gradient keeps the shape given.")
    return textwrap.wrap(text, 99 - indent, initial_indent=" " * indent,
                         subsequent_indent=" " * indent)


def _columns(d: Derivation) -> list[str]:
    """The vector inputs: as to_python's, the code reshapes each into a column (a 1-D array
    of the traced NumPy function too)."""
    return [str(s.name) for s in d.inputs if _column(s)]


def torch_code(d: Derivation, name: str = "ForwardBackward") -> str:
    """A ``torch.autograd.Function`` named ``name``: ``forward`` is the forward pass and
    ``backward`` the derived adjoints, scaled by the incoming gradient ``g``."""
    fname = name if name == "ForwardBackward" else check_identifier(name, "class name")
    d, new = apart(d, OWN | RESERVED | set(TORCH_HELPERS))  # a variable g: our g is g_1
    args, forward, backward, adj, p = _parts(d, "torch")
    out = str(d.output.name)
    saved = [*args, *(str(e.lhs.name) for e in d.forward)]
    columns = _columns(d)
    given = [c for c in columns if c in {str(v.name) for v in d.wrt}]  # their gradients
    grads = [f"g*{adj[d.adjoints[s]]}" if s in d.wrt else "None" for s in d.inputs]
    grads = [f"({g}).reshape(ctx.shapes[{a!r}])" if a in given else g
             for a, g in zip(args, grads, strict=True)]
    reshape = [f"        {c} = {c}.reshape(-1, 1)  # a column vector" for c in columns]
    if given:
        reshape = ["        # a vector may be 1-D: its gradient goes back in the shape given",
                   *_wrap("ctx.shapes = {", [f"{c!r}: {c}.shape" for c in given], "}", 8),
                   *reshape]
    lines = [*(["import math", ""] if "math" in p.used else []),
             *(["from collections.abc import Callable", ""] if "vjp" in p.used else []),
             "import torch", "from torch.autograd.function import FunctionCtx", "", ""]
    lines += _helpers(p, TORCH_HELPERS)
    params = [f"{a}: torch.Tensor" for a in args]
    lines += [
        f"class {fname}(torch.autograd.Function):",
        f'    """{out} and, in backward, its gradients (generated by symbackprop).',
        "",
        *_shapes_doc(d, 4),
        '    """',
        "",
        "    @staticmethod",
        *_wrap("def forward(", ["ctx: FunctionCtx", *params], ") -> torch.Tensor:", 4),
        *reshape, *([""] if columns else []),
        *_indent(forward, 8),
        *_wrap("ctx.save_for_backward(", saved, ")", 8),
        f"        return {out}",
        "",
        "    @staticmethod",
        "    def backward(ctx: FunctionCtx, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:",
        *_wrap("(", saved, ") = ctx.saved_tensors", 8, True),
        *_outside_wrt(d, args),
        *_indent(backward, 8),
        *_wrap("return (", grads, ")", 8, True),
    ]
    code = "\n".join(lines) + "\n"
    _check_scope(d, adj, code, {"forward", "backward"})
    return swapped(code, new)


def _outside_wrt(d: Derivation, args: list[str]) -> list[str]:
    """Backward's refusal when PyTorch asks the gradient of an input outside ``wrt``: a
    None for it would read as no gradient at all, silently."""
    out: list[str] = []
    for k, (s, a) in enumerate(zip(d.inputs, args, strict=True)):
        if s not in d.wrt:
            out += [f"        if ctx.needs_input_grad[{k}]:",
                    f'            raise RuntimeError("{a} needs a gradient, but the derivation '
                    'is not "',
                    f'                               "with respect to {a}: derive with {a} in wrt '
                    f'(or detach {a})")']
    return out


def every_input(d: Derivation) -> Derivation:
    """``d`` swept again with every input in ``wrt``: JAX asks a VJP for a cotangent of each
    input, and a zero one for an input outside ``wrt`` would be a wrong gradient. The same
    graph and forward equations; one more reverse sweep (as derive(wrt=None) makes)."""
    if len(d.wrt) == len(d.inputs) or d.options.mode == "forward" or d.is_jacobian:
        return d
    return Record(d.graph, d.inputs, d.options, loss=d.loss, source=d.source,
                  limits=d.limits, reading=d.reading)


def jax_code(d: Derivation, name: str = "forward_backward") -> str:
    """A ``jax.custom_vjp`` function ``name`` whose VJP is the derived backward pass, with a
    derived cotangent for every input, in ``wrt`` or not (``every_input``)."""
    fname = name if name == "forward_backward" else check_identifier(name, "function name")
    columns = _columns(d)
    core = f"{fname}_columns" if columns else fname  # the custom_vjp, of column vectors
    ours = {f"{fname}_fwd", f"{fname}_bwd", core} - {fname}  # called in a body (not fname)
    d, new = apart(every_input(d), (OWN | RESERVED | {*JAX_HELPERS, *ours}) - {fname})
    args, forward, backward, adj, p = _parts(d, "jnp")
    columns = _columns(d)
    taken = {str(v.name) for v in (*d.inputs, *(e.lhs for e in d.forward))} | set(adj.values())
    defined = sorted(taken & ours)
    if defined:  # the functions the code defines: fname_fwd is called inside fname's body
        var = _variable_named(d, adj, defined[0])
        if name == "forward_backward":
            raise _clash(var, f"the generated function {defined[0]!r} would have the name "
                         "of a variable" if var == defined[0] else f"its adjoint is "
                         f"{defined[0]!r}, a function the generated code defines",
                         ", or pass to_jax(name=...)")
        raise GraphError(f"to_jax(name={fname!r}) defines a function {defined[0]!r}, a name "
                         f"of the derivation (variable {var!r}): pass another name")
    out = str(d.output.name)
    saved = [*args, *(str(e.lhs.name) for e in d.forward)]
    grads = [f"g*{adj[d.adjoints[s]]}" for s in d.inputs]
    params = [f"{a}: jax.Array" for a in args]
    doc = [f'    """{out} (generated by symbackprop); its VJP is the derived backward pass.',
           "", *_shapes_doc(d, 4), '    """']
    lines = _helpers(p, JAX_HELPERS)
    if columns:  # JAX's VJP of the reshape gives each gradient the shape given
        lines += [
            *_wrap(f"def {fname}(", params, ") -> jax.Array:", 0),
            *doc,
            *(f"    {c} = jnp.reshape({c}, (-1, 1))  # a column vector" for c in columns),
            *_wrap(f"return {core}(", args, ")", 4),
            "",
            "",
        ]
        doc = [f'    """{fname} of column vectors; its VJP is the derived backward pass."""']
    lines += [
        "@jax.custom_vjp",
        *_wrap(f"def {core}(", params, ") -> jax.Array:", 0),
        *doc,
        *_wrap(f"return {fname}_fwd(", args, ")[0]", 4),
        "",
        "",
        *_wrap(f"def {fname}_fwd(", params, ") -> tuple[jax.Array, tuple[jax.Array, ...]]:",
               0),
        *_indent(forward, 4),
        *_wrap(f"return {out}, (", saved, ")", 4, True),
        "",
        "",
        f"def {fname}_bwd(res: tuple[jax.Array, ...], g: jax.Array) -> "
        "tuple[jax.Array, ...]:",
        *_wrap("(", saved, ") = res", 4, True),
        *_indent(backward, 4),
        *_wrap("return (", grads, ")", 4, True),
        "",
        "",
        f"{core}.defvjp({fname}_fwd, {fname}_bwd)",
    ]
    uses_jnp = any("jnp." in ln for ln in lines)  # (x + y)**2 needs none
    head = [*(["from collections.abc import Callable", ""] if "vjp" in p.used else []),
            "import jax", *(["import jax.numpy as jnp"] if uses_jnp else []), "", ""]
    code = "\n".join(head + lines) + "\n"
    _check_scope(d, adj, code, {fname, core, f"{fname}_fwd", f"{fname}_bwd"})
    return swapped(code, new)


def _variable_named(d: Derivation, adj: dict[Any, str], name: str) -> str:
    """The variable ``name`` is, or whose adjoint is named ``name``."""
    for s, a in d.adjoints.items():
        if adj.get(a) == name:
            return str(s.name)
    return name


def _check_scope(d: Derivation, adj: dict[Any, str], code: str, functions: set[str]) -> None:
    """Every function the generated ``functions`` (those holding the derivation's
    variables) call — a helper, another generated function (``forward_backward_fwd``), a
    builtin (``slice``) — against the variables and adjoints there: one of them of the same
    name would shadow it (the code would call a tensor; a variable itself is never called).
    Only text we wrote is parsed (``ast.parse`` builds a tree; nothing runs)."""
    called: set[str] = set()
    for f in ast.walk(ast.parse(code)):
        if isinstance(f, ast.FunctionDef) and f.name in functions:
            called |= {n.func.id for st in f.body for n in ast.walk(st)
                       if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    ours = {str(v.name) for v in (*d.inputs, *(e.lhs for e in d.forward))} | set(adj.values())
    hit = sorted(called & ours)
    if hit:
        var = _variable_named(d, adj, hit[0])
        raise _clash(var, "a name the generated code uses" if var == hit[0] else
                     f"its adjoint is {hit[0]!r}, a name the generated code uses")
