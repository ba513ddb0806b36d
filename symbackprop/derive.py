"""The chain rule, link by link: local partials, one reverse sweep, path products, gradients.

For every equation ``u = f(v₁, …)`` the reverse sweep asks the rule table for the
vector-Jacobian product of ``f`` (element-wise primitives through SymPy's own derivative,
written back in terms of the node's output, so ``d exp(v) = exp(v)`` reads as ``u``) and adds
it to each ``v``'s adjoint. A variable used on two paths gets the sum. Everything works
equation by equation on shallow right-hand sides; only ``gradients`` substitutes the whole
graph back into the inputs, and only when asked.
"""

from __future__ import annotations

import gc
import inspect
import keyword
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import sympy as sp

from . import broadcasting, evaluate, ops
from . import derivation as record
from .algebra import is_matrix
from .arguments import (
    asked_inputs,
    flag_arg,
    names_arg,
    resolve_wrt,
    sections_arg,
    text_arg,
    trace_arg,
    whole_arg,
)
from .builder import Builder, Equation, Granularity, NamesTaken, check_name, make_symbol
from .canonical import replace_args
from .check.compare import check
from .check.engine import ATOL, ATTEMPTS, EPS, MAX_COORDS, RTOL
from .check.report import CheckReport
from .derivation import Mode, Options
from .emit import emitter
from .emit.jupyter import (
    Compact,
    derivation_html_repr,
    derivation_mimebundle,
    trace_mimebundle,
)
from .emit.problem import problem_latex
from .emit.trace import trace_html, trace_latex, trace_markdown, trace_text
from .errors import GraphError, LimitError, OptionError, ShapeError
from .evaluate import bind_values, evaluate_gradients
from .evaluate import trace as trace_of
from .graph import Graph
from .grouping import decompose
from .jacobians import gradient_graph, jacobian_values, scalarised, seed_symbol, sweeps
from .limits import DEFAULT_LIMITS, Limits, written_out_problem
from .notation import AdjointStyle, Layout
from .parse import Syntax, parse_program
from .parse_code import FUNCTIONS
from .recognise import remembered
from .shapes import fmt_shape, shape_of
from .trace_function import function_builder
from .values import array_shape

Loss = Literal["mse", "cross_entropy"]


class Trace(evaluate.Trace):
    """The evaluation trace (``d.trace(values)``), which shows itself as a table: ``print``,
    ``latex()``, ``markdown()``, ``html()`` and in Jupyter."""

    def latex(self, *, digits: int = 4) -> str:
        """One LaTeX ``array`` (put it in display math); values to ``digits`` significant
        digits."""
        whole_arg("latex", "digits", digits, 1, 17)
        return trace_latex(self, digits=digits)

    def markdown(self, *, digits: int = 4) -> str:
        """A Markdown table, math inline; values to ``digits`` significant digits."""
        whole_arg("markdown", "digits", digits, 1, 17)
        return trace_markdown(self, digits=digits)

    def html(self, *, digits: int = 4) -> str:
        """An HTML ``<table>`` with math in ``math`` spans (typeset by the page's KaTeX)."""
        whole_arg("html", "digits", digits, 1, 17)
        return trace_html(self, digits=digits)

    def __str__(self) -> str:
        return trace_text(self)

    def _repr_latex_(self) -> str:
        return f"$$\n{self.latex()}\n$$"

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_html_(self) -> str:  # as the notebook's bundle: formulas kept whole
        return trace_html(self, inline_blocks=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return trace_mimebundle(self, include, exclude)


class Derivation(record.Derivation):
    """A derivation: forward equations, local partials, backward (adjoint) equations, gradients.

    Build one with ``derive``. Emit it with ``latex()``, ``markdown()``, ``html()``,
    ``to_json()``, ``to_dot()``; evaluate it with ``evaluate(values)``, ``trace(values)``;
    verify it with ``check()``.
    """

    # emitters and numbers ------------------------------------------------------------------
    def to(self, fmt: str, **kw: Any) -> str:
        """The derivation as ``fmt`` (``symbackprop.emit.FORMATS``: latex, markdown, json,
        html, dot, python), with that format's options."""
        write = emitter(fmt)
        if fmt == "html":  # the page shows the values' trace
            values = kw.pop("values", None)
            if values is not None and kw.get("trace") is not None:
                raise ValueError("html(): give values (the trace is made from them) or "
                                 "trace, not both")
            if values is not None:
                kw["trace"] = self.trace(values)
        params = list(inspect.signature(write).parameters.values())[1:]
        options = [p.name for p in params]
        anything = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        unknown = [k for k in kw if k not in options]
        if unknown and not anything:
            raise OptionError(f"to({fmt!r}) takes no option {', '.join(map(repr, unknown))}; "
                              f"its options: {', '.join(options) or 'none'}", tuple(options))
        if "sections" in kw:
            kw["sections"] = sections_arg(f"to({fmt!r})", kw["sections"])
        return write(self, **kw)

    def latex(self, sections: Sequence[str] | str | None = None, *,
              environment: bool = True) -> str:
        """One ``aligned`` block (no ``$$``). ``sections``: names from the one vocabulary of
        every format (``problem``, ``forward``, ``partials``, ``tangents``, ``backward``,
        ``recursion``, ``chain``, ``result``, ``jacobian``; another is an ``OptionError``),
        default: what this derivation needs; ``environment=False`` gives the rows without
        ``\\begin{aligned}``."""
        sections = sections_arg("latex", sections)
        flag_arg("latex", "environment", environment, (True, False))
        return self.to("latex", sections=sections, environment=environment)

    def markdown(self, sections: Sequence[str] | str | None = None, *, level: int = 1,
                 title: str | None = None) -> str:
        """A lecture note. ``sections``: names as for ``latex()`` (default: problem, forward
        pass, local derivatives, backward pass, result); ``level``: the heading level;
        ``title``."""
        sections = sections_arg("markdown", sections)
        whole_arg("markdown", "level", level, 1, 5)
        text_arg("markdown", "title", title)
        kw: dict[str, Any] = {"level": level, "title": title}
        return self.to("markdown", **kw, **({"sections": sections} if sections else {}))

    def html(self, sections: Sequence[str] | str | None = None, *,
             values: Mapping[str, Any] | None = None, trace: Trace | None = None,
             graph: bool | str = False, assets: Literal["inline", "link", "cdn"] = "inline",
             katex_href: str = "_katex", title: str | None = None) -> str:
        """A standalone page typeset with KaTeX (offline); ``sections`` as for ``markdown()``.
        ``values`` or ``trace`` add the
        evaluation table; ``graph`` the computation graph (``True``, or ``"auto"``);
        ``assets="link"`` links ``katex_href`` instead of inlining KaTeX, ``"cdn"`` links
        KaTeX on jsDelivr at the pinned version."""
        sections = sections_arg("html", sections)
        trace_arg("html", trace)
        flag_arg("html", "graph", graph, (True, False, "auto"))
        flag_arg("html", "assets", assets, ("inline", "link", "cdn"))
        text_arg("html", "katex_href", katex_href)
        text_arg("html", "title", title)
        kw: dict[str, Any] = {"values": values, "trace": trace, "graph": graph,
                              "assets": assets, "katex_href": katex_href, "title": title}
        return self.to("html", **kw, **({"sections": sections} if sections else {}))

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON document (``schema: "symbackprop.derivation/1"``)."""
        if indent is not None:
            whole_arg("to_json", "indent", indent, 0, 16)
        return self.to("json", indent=indent)

    def to_dot(self, trace: Trace | None = None, *, use_package: bool | None = None,
               rankdir: Literal["LR", "TB"] = "LR") -> str:
        """Graphviz DOT of the computation graph, with the trace's values when given;
        ``rankdir="TB"`` lays it out top to bottom (narrower for a long chain)."""
        trace_arg("to_dot", trace)
        flag_arg("to_dot", "use_package", use_package, (None, True, False))
        flag_arg("to_dot", "rankdir", rankdir, ("LR", "TB"))
        return self.to("dot", trace=trace, use_package=use_package, rankdir=rankdir)

    def evaluate(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The gradients as numbers, from the symbolic equations compiled one by one, each in
        the shape of the value given (a 1-D array's gradient is 1-D). For a
        non-scalar output (a Jacobian), each wrt variable's Jacobian ∂vec(y)/∂vec(v) as an
        ``(output size, input size)`` array in numerator layout (its transpose in
        denominator layout), vec column by column, by the cheaper kind of sweep
        (``d.sweeps(values)`` says which). A Jacobian or Hessian in closed form checks the
        values once: a later call with values of the same signature (a dict of the same
        names, float64 arrays of the same shapes) skips the checks."""
        if self.is_jacobian:
            return jacobian_values(self, values)
        out = evaluate_gradients(self, values)
        if self in _HESSIANS:  # of a (1,) variable: the (1, 1) matrix, as every (n, n) one
            out = {k: np.reshape(g, (1, 1)) if np.ndim(g) == 1 else g for k, g in out.items()}
        return out

    def sweeps(self, values: Mapping[str, Any] | None = None) -> tuple[str, int]:
        """How ``evaluate`` computes a Jacobian: ``("forward", n)`` sweeps, one per input
        entry, or ``("reverse", m)``, one per output entry, whichever is fewer (symbolic
        sizes are bound from ``values``)."""
        dims = {} if values is None else {k: v for k, v in bind_values(self, values).items()
                                          if isinstance(v, int)}
        return sweeps(self, dims)

    def trace(self, values: Mapping[str, Any],
              tangents: Mapping[str, Any] | None = None) -> Trace:
        """Every input's and intermediate's value and adjoint at ``values``, as a table.
        ``tangents``: the direction ẋ of the ``wrt`` inputs (name → number or array; a
        missing one is 0), which adds each variable's tangent v̇ (forward mode) as a
        column and as ``rows[i].tangent``."""
        t = trace_of(self, values, tangents)
        return Trace(t.derivation, t.rows)

    def jvp(self, values: Mapping[str, Any], tangents: Mapping[str, Any]) -> Any:
        """The output's tangent at ``values`` along ``tangents`` (a Jacobian-vector
        product, by the tangent equations): a number, or an array for a matrix output."""
        last = self.trace(values, tangents).rows[-1]
        if last.tangent is None:  # the output does not depend on wrt: its tangent is 0
            return np.zeros_like(last.value) if np.ndim(last.value) else 0.0
        return last.tangent

    def hvp(self, values: Mapping[str, Any], direction: Any) -> Any:
        """The Hessian of the output in the one ``wrt`` variable times ``direction``: the
        gradient's tangent along it (forward over reverse), without the matrix; shaped like
        the variable as given (``direction`` an array, or ``{name: array}`` as ``jvp`` takes
        it). Of ``sbp.hessian``'s derivation, or of a first-order one of a scalar output
        (its Hessian derived once, on the first call)."""
        if len(self.wrt) != 1:
            raise OptionError(f"hvp needs a derivation in one variable, not {len(self.wrt)} "
                              "(sbp.hessian(..., wrt=) or derive(..., wrt=) of one)")
        name = str(self.wrt[0].name)
        direction = one_direction(direction, name)
        out = _hessian_of(self).jvp(values, {name: direction})
        given = next((v for k, v in values.items() if str(getattr(k, "name", k)) == name), 0.0)
        if np.ndim(given) and np.size(out) == np.size(given):  # a 1-D variable's: 1-D, a
            out = np.reshape(out, np.shape(given))  # 1×1's: (1, 1), as evaluate's
        return out

    def check(self, values: Mapping[str, Any] | None = None, seed: int = 0, *,
              eps: float = EPS, atol: float = ATOL, rtol: float = RTOL,
              max_coords: int = MAX_COORDS, attempts: int = ATTEMPTS) -> CheckReport:
        """The gradients compared three ways: symbolic, an independent NumPy backprop, and
        central finite differences (step ``eps``) of the source as written. ``values``: the
        point (default: random, from ``seed``, redrawn up to ``attempts`` times off kinks,
        then one input at a time from other ranges into the functions' domains);
        a gradient agrees within ``atol + rtol * |reference|``; at most ``max_coords``
        coordinates per parameter are differenced. ``report.ok`` says whether all agree.
        For a non-scalar output ``y`` (a Jacobian), the gradients of ``⟨G, y⟩`` are checked,
        ``G`` drawn at random (from ``seed``) unless ``values`` gives it: a random
        projection of every Jacobian."""
        if self.is_jacobian:
            s = scalarised(self)
            g = str(seed_symbol(self).name)
            if values is not None and g not in values:  # its shape: dims bound by values
                shape = array_shape(shape_of(seed_symbol(self)), bind_values(self, values))
                values = {**values, g: np.random.default_rng(seed).normal(size=shape)}
            return check(s, values, seed=seed, eps=eps, atol=atol, rtol=rtol,
                         max_coords=max_coords, attempts=attempts)
        return check(self, values, seed=seed, eps=eps, atol=atol, rtol=rtol,
                     max_coords=max_coords, attempts=attempts)

    def _repr_latex_(self) -> str:
        return f"$$\n{self.latex()}\n$$"

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def _repr_html_(self) -> str:
        return derivation_html_repr(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return derivation_mimebundle(self, include, exclude)

    def compact(self, sections: Sequence[str] | str | None = None) -> Compact:
        """The derivation to show by its equations alone in a notebook cell: one aligned
        block (``d.latex(sections)``), without the lecture note's headings and prose."""
        return Compact(self, sections_arg("compact", sections))

    def to_python(self, name: str = "forward_backward") -> str:
        """A NumPy function ``name(**inputs) -> (output, {name: gradient})``, staged like the
        derivation; a vector's gradient is a column (``evaluate`` gives the shape given)."""
        return self.to("python", name=name)

    def to_torch(self, name: str = "ForwardBackward") -> str:
        """The source of a ``torch.autograd.Function`` whose ``backward`` is this backward
        pass, one line per adjoint (``name.apply(*inputs)`` runs it). Any input name works:
        the code's own names (the cotangent ``g``, ``ctx``, ``torch``, its helpers) give way."""
        return self.to("torch", name=name)

    def to_jax(self, name: str = "forward_backward") -> str:
        """The source of a ``jax.custom_vjp`` function whose VJP is this backward pass (any
        input name works: the code's own names give way, as ``to_torch``'s)."""
        return self.to("jax", name=name)

    def problem_latex(self) -> str:
        return problem_latex(self)



# ---------------------------------------------------------------------------------------
# The entry point


def _to_builder(source: Any, shapes: Mapping[str, Any] | None,
                limits: Limits | None = None, syntax: Syntax = "text") -> Builder:
    if isinstance(source, str):
        return parse_program(source, shapes, limits, syntax)
    bits = (limits or DEFAULT_LIMITS).max_int_bits
    if isinstance(source, Graph):
        g = source
        if shapes:
            g = Graph(g.equations, {**g.shapes, **shapes}, keep=g.keep, order=g.order,
                      notes=g.notes)
        return g.to_builder(bits)
    if isinstance(source, sp.Basic):
        try:  # the nodes named as the grouping will name them (Builder's final_names)
            b = Builder(shapes, final_names=True)
            b.output = b.add_expr(source, bits, inputs_only=True)
        except NamesTaken:  # an input named t_…: the nodes get private names
            b = Builder(shapes)
            b.output = b.add_expr(source, bits, inputs_only=True)
        return b
    if callable(source):
        return function_builder(source, shapes)
    raise TypeError(f"derive() takes text, a SymPy expression, a Graph or a function, "
                    f"not {type(source).__name__}")


def parse_latex(text: str, shapes: Mapping[str, Any] | None = None, *,
                limits: Limits | None = None) -> Graph:
    """LaTeX of a forward pass (one expression, or stages ``z &= ... \\\\ h &= ...``) as a
    ``Graph`` of its stages, safely; ``derive(g, ...)`` takes it. The reading is the one
    ``derive(text, syntax="latex")`` makes (docs/writing-expressions.md)."""
    b = parse_program(text, shapes, limits, "latex")
    g = decompose(b, "stages")
    return replace(g, notes=b.reading.notes) if b.reading is not None and b.reading.notes else g


def _attach_loss(b: Builder, loss: str) -> None:
    if loss not in ("mse", "cross_entropy"):
        raise OptionError(f"loss must be 'mse' or 'cross_entropy', not {loss!r}",
                          ("mse", "cross_entropy"))
    o = b.output
    if not is_matrix(o):
        raise ShapeError(f"loss={loss!r} needs a vector or matrix output, "
                         f"but the expression is a scalar")
    declared = b.shapes.get("y")
    if "y" in b.symbols:  # the target would be the user's own y: mse(y, y), silently 0
        what = "an input" if b.symbols["y"] in b.inputs else "a stage"
        raise GraphError(f"loss={loss!r} compares the output with a target named y, but the "
                         f"expression already has y ({what}): rename that y, or write the "
                         f"loss in the expression with a target of another name")
    if declared is not None and declared != shape_of(o):
        raise ShapeError(f"shapes gives y as {fmt_shape(declared)} but the output is "
                         f"{fmt_shape(shape_of(o))}")
    b.shapes["y"] = shape_of(o)
    y = b.lookup("y")
    b.output = ops.apply(b, loss, [o, y], f"{loss}(output, y)")


def derive(source: Any, wrt: Any = None, *, shapes: Mapping[str, Any] | None = None,
           loss: Loss | None = None, names: Mapping[str, str] | None = None,
           layout: Layout = "denominator", adjoint: AdjointStyle = "frac",
           granularity: Granularity = "auto", output: str | None = None,
           limits: Limits | None = None, syntax: Syntax = "text",
           mode: Mode = "reverse", order: int = 1) -> Derivation:
    """Derive the gradients of ``source`` (text, SymPy expression, Graph or Python function).

    ``wrt``: a symbol, a name, or a list of them (None: every input). ``shapes`` maps names to
    ``(rows, cols)`` (``(n,)`` for a column vector; dimensions may be names). ``loss`` appends
    ``L = ½‖o − y‖²`` (``"mse"``) or softmax cross-entropy against a new input ``y`` (a
    source with a ``y`` of its own is a ``GraphError``: rename it). ``names``
    renames variables (``{"t": "u"}``; an input renamed is given to ``evaluate`` under its
    new name, to ``wrt`` under either; a new name that is a function of the text, ``exp``, or
    a keyword is an ``OptionError``). ``output`` names the output when the text does not.
    ``layout`` and ``adjoint`` choose the notation. ``granularity``: ``"primitive"`` (an
    equation per operation), ``"layers"`` (z, h, o of a network), ``"stages"`` (the stages
    the user named), or ``"auto"``.
    ``limits``: resource limits for text (``sbp.Limits``; the defaults suit a web service).
    ``syntax``: how text is written: ``"text"`` (``W2@sigmoid(W1@x + b1)``, also with paper
    notation: ``W2·σ(W1x + b1)``, ``(x+y)^2``) or ``"latex"`` (``\\mathbf{W}_2\\sigma(...)``);
    ``d.readings`` says how implicit products were read. See docs/writing-expressions.md.
    ``mode``: ``"reverse"`` prints the backward (adjoint) equations; ``"forward"`` the
    tangent equations v̇ = … of forward mode (an output need not be a scalar then;
    ``d.trace(values, tangents=...)``, ``d.jvp(...)``). Both modes have every equation.
    ``order=2``: the Hessian in one ``wrt`` variable (``sbp.hessian``): the gradient's
    equations differentiated again, forward over reverse.
    """
    if order == 2:
        first = derive(source, wrt, shapes=shapes, loss=loss, names=names, adjoint=adjoint,
                       granularity=granularity, output=output, limits=limits, syntax=syntax)
        if len(first.wrt) != 1:
            listed = ", ".join(str(v.name) for v in first.wrt)
            raise OptionError(f"a Hessian (order=2, sbp.hessian) takes one variable, not "
                              f"{len(first.wrt)} ({listed}): stack them in one vector (the "
                              "Hessian in two is a block of the Hessian in both stacked), or "
                              "take one at a time")
        if first.is_jacobian:
            raise OptionError("a Hessian (order=2, sbp.hessian) needs a scalar output (pass "
                             "loss=, or write sum(...))")
        return _second(first, layout, limits, mode)
    if order != 1:
        raise OptionError(f"order must be 1 or 2, not {order!r}", ("1", "2"))
    opts = Options(layout=layout, adjoint=adjoint, granularity=granularity,
                   names=names_arg(names), syntax=syntax, mode=mode)
    for k, v in opts.names.items():
        check_name(k, "names key")
        check_name(v, "names value")
    if output is not None:
        check_name(output, "output name")
    try:
        return _derive(source, wrt, shapes, loss, opts, granularity, output, limits, syntax)
    except RecursionError:  # SymPy's own recursion, in a chain of thousands of products
        raise LimitError("the expression is too deep for SymPy's recursion: split it into "
                         "stages ('s1 = ...; s2 = s1 ...')") from None


def _derive(source: Any, wrt: Any, shapes: Any, loss: Any, opts: Options, granularity: Any,
            output: Any, limits: Any, syntax: Any) -> Derivation:
    """The derivation of a first order (``derive``'s arguments checked)."""
    with _gc_paused(), remembered():
        b = _to_builder(source, shapes, limits, syntax)
        if loss is not None:
            _attach_loss(b, loss)
        b.output = broadcasting.as_scalar(b, b.output)  # a 1×1 output (xᵀAx) is the scalar it is
        b.kept = (*b.kept, *asked_inputs(wrt, b, opts.names))
        # an input names= renames t_2: no equation is named t_2 (the names would clash)
        renamed_inputs = frozenset(v for k, v in opts.names.items() if k in b.symbols
                                   and b.symbols[k] in b.inputs)
        g = decompose(b, granularity, output_name=output, reserved=renamed_inputs)
        if opts.names:
            g = _rename(g, opts.names)
        wrt_syms = resolve_wrt(wrt, g.inputs, opts.names)
        d = Derivation(g, wrt_syms, opts, loss=loss, source=source, limits=limits,
                       reading=b.reading)
        if isinstance(source, str):  # text's limits: of the numbers SymPy made as well
            why = written_out_problem((*g.equations, *d.backward), limits or DEFAULT_LIMITS)
            if why is not None:
                raise LimitError(why)
        return d


def one_direction(direction: Any, key: str, show: Callable[[str], str] = str) -> Any:
    """hvp's ``direction``: an array, or ``{key: array}`` along the one variable ``key``
    (``show`` writes a key in the message)."""
    if not isinstance(direction, Mapping):
        return direction
    if set(map(str, direction)) != {key}:
        raise OptionError(f"hvp's direction is along {show(key)} only, not "
                          f"{', '.join(show(str(k)) for k in direction)}", (key,))
    return next(iter(direction.values()))


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cycle collector while a derivation is built.

    A derivation allocates a few SymPy objects per node and keeps most of them; every full
    collection walks all of them again, which made the time per node grow by ~1.5x from
    1,000 to 10,000 nodes. Reference counting still frees the temporaries; any cycles are
    collected once the collector is back on (it is left off if it was off).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_HESSIANS: weakref.WeakSet[Derivation] = weakref.WeakSet()  # sbp.hessian's derivations
_HESSIAN_OF: weakref.WeakKeyDictionary[Derivation, Derivation] = weakref.WeakKeyDictionary()


def _second(first: Derivation, layout: Layout, limits: Limits | None, mode: Mode
            ) -> Derivation:
    """The Hessian's derivation of a first-order one (scalar output, one variable): its
    gradient's equations differentiated again. It is its own Hessian for ``hvp``."""
    h = derive(gradient_graph(first, first.wrt[0]), wrt=str(first.wrt[0].name),
               layout=layout, limits=limits, mode=mode)
    evaluate.carry_targets(h, first)
    _HESSIANS.add(h)
    return h


def _hessian_of(d: Derivation) -> Derivation:
    """``d`` itself if it is a Hessian's derivation, else its Hessian (made once): the
    derivation whose tangent along v is H v. A derivation of a non-scalar output has no
    Hessian: its ``jvp`` is the Jacobian's product, so ``hvp`` refuses rather than give it."""
    if d in _HESSIANS:
        return d
    h = _HESSIAN_OF.get(d)
    if h is None:
        if d.is_jacobian:
            raise OptionError("hvp needs a scalar output's derivation (sbp.hessian, or derive "
                              "with a scalar output); for a Jacobian-vector product use jvp")
        h = _HESSIAN_OF[d] = _second(d, d.options.layout, d.limits, d.options.mode)
    return h


def _rename(g: Graph, names: Mapping[str, str]) -> Graph:
    syms = {str(s.name): s for s in (*g.inputs, *(e.lhs for e in g.equations))}
    unknown = [k for k in names if k not in syms]
    if unknown:
        raise OptionError(f"names: {', '.join(unknown)} not in the graph "
                          f"(variables: {', '.join(syms)})", tuple(syms))
    for v in names.values():  # a printed `exp = A@x` beside exp(A), or `lambda = …`,
        if v in FUNCTIONS or keyword.iskeyword(v):  # reads as no program (JSON, the text)
            raise OptionError(f"names: {v!r} is a function's name or a keyword in the text "
                              "and the printed equations; choose another name")
    new = {syms[k]: make_symbol(v, shape_of(syms[k])) for k, v in names.items()}
    targets = [v for v in names.values()]
    clash = [v for v in targets if v in syms and v not in names] or (
        [v for v in targets if targets.count(v) > 1])
    if clash:
        raise GraphError(f"names: {clash[0]!r} would name two variables")
    eqs = tuple(Equation(new.get(e.lhs, e.lhs), replace_args(e.rhs, new)) for e in g.equations)
    return Graph(eqs, g.shapes, keep=tuple(new.get(k, k) for k in g.keep),
                 order=tuple(new.get(k, k) for k in g.order)).validate()

