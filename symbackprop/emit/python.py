"""Generated code: the derivation as a readable NumPy forward + backward function.

The staged style of the CS231n notes: one line per intermediate in the forward pass, then
the backward pass in reverse with ``d``-prefixed adjoints (``dz``, ``dW1``), and ``+=`` where
a variable is used more than once (a fork), each ``+=`` saying which use it comes from::

    def forward_backward(x, y):
        t = x + y
        z = t**2
        dt = 2*t
        dx = dt
        return z, {"x": dx}

Every name written into the code is checked to be a plain Python identifier that is not a
keyword and not one of the helpers; nothing the user typed is copied into the code
otherwise. The expressions are written by ``code_printer.CodePrinter``; this module lays
out the function around them, and only writes text: it never runs it.
"""

from __future__ import annotations

import keyword
import re
import textwrap
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy as sp

from ..algebra import is_matrix
from ..errors import GraphError
from ..evaluate import cross_entropy_nodes
from ..jacobians import scalarised
from ..shapes import axes_of, shape_of, tensor_dims
from .code_printer import HELPER_NEEDS, HELPERS, CodePrinter

if TYPE_CHECKING:
    from ..derivation import Derivation

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

BUILTINS_USED = frozenset({"float"})  # Python builtins the generated code calls
RESERVED = frozenset({"np", "numpy", *HELPERS, "forward_backward", "grads"})


def rename_hint(name: str) -> str:
    return f"rename it, derive(..., names={{{name!r}: {name + '_1'!r}}})"


def check_identifier(name: str, what: str = "name") -> str:
    """``name`` if it can be written into Python code as a variable, else GraphError (a
    ValueError) with the way to rename it."""
    if not isinstance(name, str) or not _IDENT.match(name) or keyword.iskeyword(name) \
            or name in RESERVED or name.startswith("__"):
        hint = f": {rename_hint(name)}" if isinstance(name, str) and _IDENT.match(name) else ""
        raise GraphError(f"{what} {name!r} cannot be used as a variable in generated code{hint}")
    return name


def adjoint_names(d: Derivation) -> dict[sp.Basic, str]:
    """``d`` + name for each adjoint, with a longer prefix where that would clash."""
    taken = {str(s.name) for s in (*d.inputs, *(e.lhs for e in d.forward))}
    for prefix in ("d", "d_", "grad_", "adjoint_"):
        names = {a: f"{prefix}{v.name}" for v, a in d.adjoints.items()}
        if not taken & set(names.values()) and not RESERVED & set(names.values()):
            return names
    raise ValueError("cannot name the adjoints in generated code without a clash")


def _dimension_lines(inputs: Any, names: set[str]) -> list[str]:
    """``B = X.shape[1]`` for each symbolic dimension, taken from the first input that has
    it, so ``np.ones((1, B))`` runs with the sizes of the arrays passed in."""
    lines: list[str] = []
    bound: set[str] = set()
    for s in inputs:
        shape = shape_of(s)
        tensor = tensor_dims(shape) is not None
        for k, dim in enumerate(axes_of(shape)):
            if not isinstance(dim, sp.Symbol) or str(dim) in bound:
                continue
            n = check_identifier(str(dim), "dimension")
            if n in names:
                raise ValueError(f"the dimension {n} has the name of a variable: rename one "
                                 "for generated code")
            axis = "0" if shape is not None and not tensor and shape[1] == 1 and k == 0 \
                else str(k)
            lines.append(f"{n} = {s.name}.shape[{axis}]  # a dimension, from the array")
            bound.add(n)
    return lines


def _column(s: sp.Basic) -> bool:
    """A column vector (a tensor's shape (Extent, 1) is not one)."""
    return is_matrix(s) and s.shape[1] == 1 and tensor_dims(tuple(s.shape)) is None


def _tangent_code(d: Derivation, fname: str) -> str:
    """Forward mode: a NumPy function of the inputs and the wrt inputs' tangents
    (``dot_x``) that returns the output and its tangent, the tangent equations one line
    each after the forward pass."""
    variables = [*d.inputs, *(e.lhs for e in d.forward)]
    for v in variables:
        check_identifier(str(v.name), "variable")
    taken = {str(v.name) for v in variables} | RESERVED
    prefix = next(p for p in ("dot_", "tangent_", "dot_tangent_")
                  if not taken & {f"{p}{v.name}" for v in d.tangents})
    tan = {t: f"{prefix}{v.name}" for v, t in d.tangents.items()}
    p = CodePrinter(tan, numpy=True)
    args = [str(s.name) for s in d.inputs] + [tan[d.tangents[v]] for v in d.wrt]
    body = [f"{s.name} = np.asarray({s.name}, dtype=float)" + (
        ".reshape(-1, 1)" if _column(s) else "") for s in d.inputs]
    body += [f"{tan[d.tangents[v]]} = np.asarray({tan[d.tangents[v]]}, dtype=float)"
             + (".reshape(-1, 1)" if _column(v) else "") for v in d.wrt]
    body.extend(_dimension_lines(d.inputs, {str(v.name) for v in variables}))
    body += ["", "# forward pass: one line per intermediate"]
    numbers = Numbers(d)
    for eq in d.forward:
        code = p.doprint(eq.rhs)
        if numbers.stage(eq.lhs, eq.rhs) and eq.lhs == d.output:
            code = p.floating(eq.rhs)  # a constant output: a float, as evaluate's
        body.append(f"{eq.lhs.name} = {code}")
    body += ["", "# tangents (forward mode): one line per intermediate that depends on wrt",
             *_target_checks(d, p)]  # a cross-entropy's tangent reads softmax(o) - y too
    body += [f"{tan[eq.lhs]} = {p.doprint(eq.rhs)}" for eq in d.tangent_equations]
    out = d.output
    dot_out = tan[d.tangents[out]] if out in d.tangents else f"np.zeros_like({out.name})"
    body.append(f"return {out.name}, {dot_out}")
    helpers = [HELPERS[h] for h in HELPERS if h in p.used | {n for h in p.used
                                                            for n in HELPER_NEEDS.get(h, ())}]
    lines = ["import numpy as np", "", ""]
    for h in helpers:
        lines += [h.rstrip("\n"), "", ""]
    lines.append(f"def {fname}({', '.join(args)}):")
    lines.append(f'    """The output {out.name} and its tangent along the given tangents of '
                 f'{", ".join(str(v.name) for v in d.wrt)} (generated by symbackprop)."""')
    lines += [("    " + ln) if ln else "" for ln in body]
    return "\n".join(lines) + "\n"


class Numbers:
    """Which variables of the code hold a plain number, not an array: the stages and the
    adjoints whose values read no input, no array stage and no array adjoint (``z = 0``
    of ``x - x``, ``dy = 1`` of ``y + 3``; a dimension's size is a number too). Returned
    as they are, such values are Python ints where the inputs are floats: JAX's grad
    refuses an int output, PyTorch's backward a non-tensor."""

    def __init__(self, d: Derivation) -> None:
        self.held = {*d.inputs, *(e.lhs for e in d.forward), *d.adjoints.values()}
        self.numbers: set[sp.Basic] = set()

    def constant(self, value: sp.Basic) -> bool:
        """Whether ``value`` is a number (reads only variables that are numbers)."""
        return not is_matrix(value) and not (value.free_symbols & self.held) - self.numbers

    def stage(self, var: sp.Basic, value: sp.Basic) -> bool:
        """Record ``var = value``; whether it is a number."""
        if self.constant(value):
            self.numbers.add(var)
            return True
        return False


def staged_lines(d: Derivation, p: CodePrinter, adj: Mapping[sp.Basic, str],
                 like: dict[tuple[Any, Any], str],
                 zeros_like: str) -> tuple[list[str], list[str]]:
    """The forward pass, one line per intermediate, and the backward pass in reverse
    (``+=`` at forks): shared by the NumPy and the framework generators. What is returned
    is an array of the inputs' dtype even where it cancelled to a number: a constant output
    is ``p.floating``, an input's constant gradient ``zeros_like(input) + c``."""
    numbers = Numbers(d)
    inputs = set(d.inputs)
    body = ["", "# forward pass: one line per intermediate"]
    for eq in d.forward:
        code = p.stage(eq.rhs)
        if numbers.stage(eq.lhs, eq.rhs) and eq.lhs == d.output:
            code = p.floating(eq.rhs)  # z = 0 of x - x: a float, not Python's int
        body.append(f"{eq.lhs.name} = {code}")
        if is_matrix(eq.lhs):  # defined from here on (never np.ones_like of itself)
            like.setdefault(tuple(eq.lhs.shape), str(eq.lhs.name))
            p.like = like
    forward, body = body, ["", "# backward pass: adjoints in reverse, += where a variable is "
                           "used twice", *_target_checks(d, p)]
    referenced = any(d.adjoints[d.output] in e.rhs.free_symbols for e in d.backward)
    if referenced:
        body.append(f"{adj[d.adjoints[d.output]]} = 1.0")
        numbers.stage(d.adjoints[d.output], sp.S.One)
    forks = {v for v, ts in d.terms.items() if len(ts) > 1}
    started: set[sp.Basic] = set()
    for eq in reversed(d.forward):
        for v in eq.atoms:
            term = next((t for t in d.terms.get(v, []) if t.consumer == eq.lhs), None)
            if term is None:
                continue
            dv = adj[d.adjoints[v]]
            p.like = {**like, tuple(v.shape): str(v.name)} if is_matrix(v) else like
            code = p.doprint(term.value)
            if is_matrix(v) and not is_matrix(term.value):  # a number into a 1×1 (of .item())
                code = f"{zeros_like}({v.name}) + {code}"
            elif v not in forks and numbers.stage(d.adjoints[v], term.value) and v in inputs:
                code = f"{zeros_like}({v.name}) + {code}"  # a gradient dy = 1: of y's dtype
            if v not in forks:
                body.append(f"{dv} = {code}")
                continue
            if v not in started:
                started.add(v)
                body.append(f"{dv} = {zeros_like}({v.name})")
            body.append(f"{dv} += {code}  # through {eq.lhs.name}")
    for v in d.wrt:
        if v not in d.terms:
            body.append(f"{adj[d.adjoints[v]]} = {zeros_like}({v.name})"
                        f"  # {d.output.name} does not depend on {v.name}")
    return forward, body


def _target_checks(d: Derivation, p: CodePrinter) -> list[str]:
    """The refusal ``evaluate`` makes, in the code: the backward step softmax(o) − y of a
    cross-entropy is its gradient only when each column of y sums to 1, and code that took
    any y would return a wrong gradient without a word. JAX's VJP runs traced, where a
    Python ``if`` on an array cannot: there such a target becomes NaN, so every gradient is."""
    xp = getattr(p, "xp", "np")
    axis = "dim" if xp == "torch" else "axis"
    out: list[str] = []
    for ce in cross_entropy_nodes(d):  # a Hessian's: those of the gradient it came from
        y = ce.args[1]
        if not is_matrix(y):
            continue
        code = p.doprint(y)
        if xp == "jnp":
            if isinstance(y, sp.MatrixSymbol):  # a name can be rebound, not a sum
                out += [f"# NaN gradients for a target {code} whose columns do not sum to 1:",
                        "# softmax(o) - y is the gradient only then",
                        f"{code} = jnp.where(jnp.all(jnp.abs(jnp.sum({code}, axis=0) - 1.0) "
                        f"<= 1e-06), {code}, jnp.nan)"]
            continue
        first = repr(f"cross_entropy target {code}: each column must sum to 1 (one-hot or ")
        rest = repr(f"probabilities): softmax(o) - {code} is the gradient only then")
        out += [f"if {xp}.any({xp}.abs({xp}.sum({code}, {axis}=0) - 1.0) > 1e-06):",
                f"    raise ValueError({first}", f"                     {rest})"]
    return out


def python_code(d: Derivation, name: str = "forward_backward", about: str = "") -> str:
    """A NumPy function computing the output and the gradients, staged like the maths (in
    forward mode, ``forward_tangent``: the output and its tangent); ``about`` names the
    output in the docstring (a Jacobian's ⟨G, y⟩)."""
    if d.options.mode == "forward":
        fname = "forward_tangent" if name == "forward_backward" else \
            check_identifier(name, "function name")
        return _tangent_code(d, fname)
    if d.is_jacobian:  # the vector-Jacobian product: the gradients of <G, y> for a given G
        s = scalarised(d)
        given = set(d.inputs)
        g = next((str(v.name) for v in s.inputs if v not in given), "G")
        return python_code(s, "vector_jacobian" if name == "forward_backward" else name,
                           f"<{g}, {d.output.name}>, the output {d.output.name} weighted "
                           f"by the cotangent {g} (a vector-Jacobian product),")
    fname = name if name == "forward_backward" else check_identifier(name, "function name")
    variables = [*d.inputs, *(e.lhs for e in d.forward)]
    for v in variables:
        check_identifier(str(v.name), "variable")
    adj = adjoint_names(d)
    like: dict[tuple[Any, Any], str] = {}  # a shape -> a variable of it, once defined
    for v in d.inputs:
        if is_matrix(v):
            like.setdefault(tuple(v.shape), str(v.name))
    p = CodePrinter(adj, numpy=True, like=like)
    args = [str(s.name) for s in d.inputs]
    # float is the one builtin the code calls: a variable of that name hides it, so the
    # code then spells it np.float64 (the same type)
    flt = "np.float64" if any(str(v.name) in BUILTINS_USED for v in variables) else "float"
    body: list[str] = []
    for s in d.inputs:
        shape = shape_of(s)
        if shape is None:  # NumPy's float: x**2 at 1e300 is inf (Python's float raises)
            body.append(f"{s.name} = np.float64({s.name})")
        elif tensor_dims(shape) is not None:
            body.append(f"{s.name} = np.asarray({s.name}, dtype={flt})  # a tensor")
        elif shape[1] == 1:
            body.append(f"{s.name} = np.asarray({s.name}, dtype={flt}).reshape(-1, 1)"
                        "  # a column vector")
        else:
            body.append(f"{s.name} = np.asarray({s.name}, dtype={flt})")
    body.extend(_dimension_lines(d.inputs, {str(v.name) for v in variables}))
    forward, backward = staged_lines(d, p, adj, like, "np.zeros_like")
    body += forward + backward
    grads = ", ".join(f"{str(v.name)!r}: {adj[d.adjoints[v]]}" for v in d.wrt)
    body.append(f"return {d.output.name}, {{{grads}}}")
    used = set(p.used)
    for h in list(used):
        used.update(HELPER_NEEDS.get(h, ()))
    helpers = [HELPERS[h] for h in HELPERS if h in used]
    doc = "\n".join(textwrap.wrap(
        f'"""{about or "The output " + str(d.output.name)} and its gradients {{name: '
        'array} (generated by symbackprop)."""', 88, initial_indent="    ",
        subsequent_indent="    ", break_on_hyphens=False))
    lines = ["import numpy as np", "", ""]
    for h in helpers:
        lines += [h.rstrip("\n"), "", ""]
    lines.append(f"def {fname}({', '.join(args)}):")
    lines.append(doc)
    lines += [("    " + ln) if ln else "" for ln in body]
    return "\n".join(lines) + "\n"
