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
trace (other inputs: random, ``:seed:``). The output is docutils ``math_block`` nodes, shown by
whichever math renderer the project uses (MathJax, KaTeX, imgmath; LaTeX for PDF), and the
graph a ``sphinx.ext.graphviz`` node. A bad expression is a build warning at the directive's
line, not a crash. Sizes are checked against ``Limits.max_elements`` (``:shapes:`` and what the
derivation's numbers would hold) before anything is allocated: over the limit, or out of
memory, the page gets a warning and a placeholder paragraph, and the build goes on.
"""

from __future__ import annotations

import html
import re
from typing import Any, ClassVar

import numpy as np
from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .cli import parse_shape
from .derive import Derivation, derive
from .emit.latex import derivation_latex
from .emit.sections import SECTIONS
from .errors import LimitError, SymbackpropError
from .evaluate import check_sizes, cross_entropy_targets
from .shapes import axes_of
from .values import check_shape_sizes

logger = logging.getLogger(__name__)

SHOW = (*SECTIONS, "trace", "graph")  # the sections of every format, and two of its own


def _names(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]


def _shapes(text: str) -> dict[str, Any]:
    return dict(parse_shape(item) for item in re.split(r"[\s;]+", text.strip()) if item)


def _renames(text: str) -> dict[str, str]:
    """``:names: t=u z=out``: the variables renamed in the output, as ``derive(names=...)``."""
    out = {}
    for item in _names(text):
        old, eq, new = item.partition("=")
        if not eq or not old or not new:
            raise ValueError(f":names: {item!r}: expected OLD=NEW")
        out[old] = new
    return out


def _values(text: str) -> dict[str, float]:
    out = {}
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f":values: {item!r}: expected NAME=NUMBER")
        out[name.strip()] = float(value)  # float() only: never evaluates anything
    return out


def point(d: Derivation, given: dict[str, float], seed: int) -> dict[str, Any]:
    """The trace's values: ``given``, the rest random (2 decimals); a cross-entropy target
    gets columns that sum to 1, as its printed gradient softmax(o) - y needs."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    targets = cross_entropy_targets(d)
    for s in d.inputs:
        name = str(s.name)
        if name in given:
            out[name] = given[name]
        elif hasattr(s, "shape"):
            try:
                shape = tuple(int(k) for k in axes_of(tuple(s.shape)))  # a tensor's axes
            except TypeError:
                raise ValueError(f"the trace needs numeric shapes; {name} is {s.shape}") \
                    from None
            out[name] = np.round(rng.normal(size=shape), 2)
            if s in targets:
                p = np.abs(out[name]) + 0.01
                out[name] = p / np.sum(p, axis=0, keepdims=True)
        else:
            out[name] = round(float(rng.normal()), 2)
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
            if "trace" in show or ("graph" in show and "values" in self.options):
                given = _values(self.options.get("values", ""))
                trace = d.trace(point(d, given, self.options.get("seed", 0)))
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
        if label:
            domain = self.env.get_domain("math")
            block["label"] = label
            domain.note_equation(self._docname(), label, location=block)  # type: ignore
            block["number"] = domain.get_equation_number_for(label)  # type: ignore
            target = nodes.target("", "", ids=[f"equation-{label}"])
            self.state.document.note_explicit_target(target)
            out.insert(out.index(block), target)
        if "name" in self.options:
            self.add_name(block)

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
