"""A Sphinx extension: ``.. backprop::`` puts a derivation into the docs as math blocks.

In ``conf.py``: ``extensions = ["symbackprop.sphinx"]``. Then::

    .. backprop:: (x + y)**2
       :wrt: x

    .. backprop:: W2@sigmoid(W1@x + b1) + b2
       :shapes: W1=4x3 x=3 b1=4 W2=2x4 b2=2
       :loss: mse
       :layout: denominator
       :show: forward,backward,chain,trace,graph

The argument (and any content lines, for stages written one per line) is the expression,
read by the safe parser. Options: ``:wrt:`` names (commas or spaces), ``:shapes:``
``NAME=RxC`` items separated by spaces, ``:loss:`` ``mse`` or ``cross_entropy``,
``:layout:``, ``:adjoint:`` (``frac``, ``bar``, ``delta``), ``:granularity:``, ``:names:``
``OLD=NEW`` items, ``:syntax:`` ``latex`` for LaTeX input, ``:label:`` (numbered, for
``:eq:`label```), ``:name:`` (a target for ``:ref:``), ``:show:`` any of the section names
every format takes (``forward``, ``backward``, ``chain``, ``result``, …), ``trace``, ``graph``
(default: the derivation as ``d.latex()`` shows it), ``:values:`` ``x=1.5 y=-0.25`` for the
trace's scalar inputs (finite numbers; a name that is no scalar input is an error; other
inputs: random, from ``:seed:``), ``:dims:`` ``B=3 N=2`` the sizes of symbolic dimensions
(``:shapes: X=4xB``) for the trace (a dimension not given gets a small size, 3, 2, 4, …, as
``check()`` draws them; a scalar input named like a dimension, ``sum(z)/n``, is its size).
``:values:`` or ``:dims:`` without ``:show: trace`` (or ``graph``) is a warning. The output
is docutils ``math_block`` nodes, shown by whichever math renderer the project uses (MathJax,
KaTeX, imgmath; LaTeX for PDF), and the graph a ``sphinx.ext.graphviz`` node; ``:name:`` is
a target node before the first block, so ``:ref:`` resolves in HTML and in LaTeX/PDF. A bad
expression is a build warning at the directive's line, not a crash. Sizes are checked
against ``Limits.max_elements`` (``:shapes:``, and what the derivation's numbers would hold
with the ``:dims:``) before anything is allocated: over the limit, or out of memory, the page
gets a warning and a placeholder paragraph, and the build goes on.
"""

from __future__ import annotations

import html
import re
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .derive import derive
from .emit.latex import derivation_latex
from .emit.sections import SECTIONS
from .errors import LimitError, SymbackpropError
from .evaluate import check_sizes
from .specs import SPHINX, check_given, parse_dims, parse_shape, parse_values, point, trace_dims
from .values import check_shape_sizes

logger = logging.getLogger(__name__)

SHOW = (*SECTIONS, "trace", "graph")  # the sections of every format, and two of its own
_TEX_SPECIAL = re.compile(r"[\\{}%#\x00-\x1f\x7f]")
__all__ = ["SHOW", "BackpropDirective", "point", "setup"]


def _names(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]


def _shapes(text: str) -> dict[str, Any]:
    return dict(parse_shape(item, SPHINX) for item in re.split(r"[\s;]+", text.strip()) if item)


def _renames(text: str) -> dict[str, str]:
    """``:names: t=u z=out``: the variables renamed in the output, as ``derive(names=...)``."""
    out = {}
    for item in _names(text):
        old, eq, new = item.partition("=")
        if not eq or not old or not new:
            raise ValueError(f":names: {item!r}: expected OLD=NEW")
        out[old] = new
    return out


class BackpropDirective(SphinxDirective):
    """``.. backprop:: EXPRESSION`` — see the module's docstring."""

    optional_arguments = 1
    final_argument_whitespace = True
    has_content = True
    option_spec: ClassVar[dict[str, Any]] = {
        "wrt": directives.unchanged,
        "shapes": directives.unchanged,
        "loss": lambda a: directives.choice(a, ("mse", "cross_entropy")),
        "layout": lambda a: directives.choice(a, ("denominator", "numerator")),
        "adjoint": lambda a: directives.choice(a, ("frac", "bar", "delta")),
        "show": directives.unchanged,
        "values": directives.unchanged,
        "dims": directives.unchanged,
        "seed": directives.nonnegative_int,
        "syntax": lambda a: directives.choice(a, ("text", "latex")),
        "granularity": lambda a: directives.choice(a, ("auto", "primitive", "layers",
                                                       "stages")),
        "names": directives.unchanged,
        "label": directives.unchanged_required,
        "name": directives.unchanged_required,
    }

    def _docname(self) -> str:
        current = getattr(self.env, "current_document", None)
        name = getattr(current, "docname", None)
        return str(name if name is not None else self.env.docname)

    def _math(self, latex: str) -> nodes.math_block:
        node = nodes.math_block(latex, latex, docname=self._docname(), number=None,
                                label=None, nowrap=False)
        node["classes"].append("backprop")
        return node

    def run(self) -> list[nodes.Node]:
        text = "\n".join([*self.arguments, *self.content]).strip()
        if not text:
            raise self.error("backprop: give the expression as the argument or the content")
        show = _names(self.options.get("show", "").replace(",", " "))
        unknown = [s for s in show if s not in SHOW]
        if unknown:
            raise self.error(f"backprop: unknown :show: {', '.join(unknown)}; "
                             f"choose from {', '.join(SHOW)}")
        try:
            shapes = _shapes(self.options.get("shapes", ""))
            check_shape_sizes(shapes)
            d = derive(text, wrt=_names(self.options["wrt"]) if "wrt" in self.options else None,
                       shapes=shapes or None,
                       loss=self.options.get("loss"),
                       layout=self.options.get("layout", "denominator"),
                       adjoint=self.options.get("adjoint", "frac"),
                       granularity=self.options.get("granularity", "auto"),
                       names=_renames(self.options.get("names", "")),
                       syntax=self.options.get("syntax", "text"))
            check_sizes(d)
            out: list[nodes.Node] = []
            sections = tuple(s for s in show if s not in ("trace", "graph"))
            if not show:
                out.append(self._math(derivation_latex(d)))
            elif sections:
                out.append(self._math(derivation_latex(d, sections=sections)))
            trace = None
            given = parse_values(self.options.get("values", ""))
            dims = trace_dims(d, parse_dims(self.options.get("dims", "")))
            if "trace" in show or ("graph" in show and "values" in self.options):
                check_sizes(d, dims)  # :dims: B=100000000 is refused before anything is made
                trace = d.trace(point(d, given, self.options.get("seed", 0), dims))
            elif "values" in self.options or "dims" in self.options:
                check_given(d, given, dims)  # checked even when nothing shows them
                logger.warning("backprop: :values: and :dims: are for :show: trace (or graph);"
                               " nothing shows them here",
                               location=(self._docname(), self.lineno))
            if "graph" in show:
                from sphinx.ext.graphviz import graphviz

                from .emit.dot import derivation_dot

                g = graphviz()
                g["code"] = derivation_dot(d, trace)
                g["options"] = {"docname": self._docname()}
                # Sphinx's graphviz writer puts a given alt into the page as it is
                g["alt"] = html.escape(f"computation graph of {' '.join(text.split())}")
                out.append(g)
            if "trace" in show and trace is not None:
                out.append(self._math(trace.latex()))
            self._target(out)
        except (LimitError, MemoryError) as e:
            return self._placeholder(e)
        except (SymbackpropError, ValueError, TypeError, KeyError) as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise self.error(f"backprop: {type(e).__name__}: {msg}") from None
        return out

    def _target(self, out: list[nodes.Node]) -> None:
        """``:label:`` numbers the first math block for ``:eq:`label```, as ``.. math::``
        does; ``:name:`` makes it a target for ``:ref:``."""
        block = next((n for n in out if isinstance(n, nodes.math_block)), None)
        if block is None:
            return
        label = self.options.get("label")
        if label and _TEX_SPECIAL.search(label):  # the LaTeX writer puts it into \label{...}
            raise ValueError(f":label: {label!r}: a label may not hold \\ {{ }} % # or a "
                             "control character (LaTeX reads them)")
        if label:
            domain = self.env.get_domain("math")
            block["label"] = label
            domain.note_equation(self._docname(), label, location=block)  # type: ignore
            block["number"] = domain.get_equation_number_for(label)  # type: ignore
            # the id as Sphinx's own ``.. math:: :label:`` makes it (and its math domain
            # resolves ``:eq:``): make_id keeps only [a-z0-9-], so no quote or tag of a
            # hostile label reaches the page's id or href
            target = nodes.target("", "", ids=[nodes.make_id(f"equation-{label}")])
            self.state.document.note_explicit_target(target)
            out.insert(out.index(block), target)
        if "name" in self.options:
            # a target node of its own before the block, not the name on the math_block: the
            # LaTeX writer ignores a math_block's ids (\hyperref to a label never written)
            name = nodes.fully_normalize_name(self.options["name"])
            target = nodes.target("", "", names=[name])
            self.set_source_info(target)
            self.state.document.note_explicit_target(target, target)
            out.insert(out.index(block), target)

    def _placeholder(self, e: BaseException) -> list[nodes.Node]:
        """Too large to show: a warning at the directive's line, a note in its place."""
        why = str(e).strip().splitlines()[0] if str(e).strip() else "out of memory"
        logger.warning("backprop: %s: %s", type(e).__name__, why,
                       location=(self._docname(), self.lineno))
        note = nodes.paragraph(text=f"[backprop: derivation not shown: {why}]")
        note["classes"].append("backprop-placeholder")
        return [note]


def setup(app: Any) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.graphviz")
    app.add_directive("backprop", BackpropDirective)
    from .version import __version__

    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
