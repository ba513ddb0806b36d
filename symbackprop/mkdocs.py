"""MkDocs: a ```` ```backprop ```` fence becomes the derivation, made when the site is built.

A custom fence of ``pymdownx.superfences`` (Python-Markdown, so any MkDocs site). In
``mkdocs.yml``::

    markdown_extensions:
      - pymdownx.arithmatex:
          generic: true
      - pymdownx.superfences:
          custom_fences:
            - name: backprop
              class: backprop
              format: !!python/name:symbackprop.mkdocs.fence

and in a page::

    ```backprop
    W2@sigmoid(W1@x + b1) + b2
    shapes: W1=4x3 x=3 b1=4 W2=2x4 b2=2
    loss: mse
    ```

The first line is the expression (read by the safe parser, as everywhere); then ``key: value``
lines, most of them the Sphinx directive's options: ``wrt`` (names), ``shapes`` (``NAME=RxC``
items), ``loss``, ``layout``, ``adjoint``, ``granularity``, ``syntax``, ``names``
(``OLD=NEW`` items), ``sections`` (as ``d.latex(sections=...)``) or ``show`` (the section
names, ``trace`` and ``graph``, as the directive's ``:show:``), ``values`` (``x=1.5 y=-0.25``,
finite numbers for scalar inputs of the trace), ``seed`` (the other inputs' random values),
``dims`` (``B=3``: sizes of symbolic dimensions for the trace; the rest drawn as ``check()``
draws them) and ``name`` (an HTML id before the derivation, for ``[text](#name)``). The
directive's ``label`` (equation numbers) has no counterpart: numbering is the site's MathJax
or KaTeX configuration. The output is display math in arithmatex's generic markup,
``<div class="arithmatex">\\[…\\]</div>``, typeset by whatever the site loads (MathJax or
KaTeX), and the graph (``show: graph``, needs Graphviz's ``dot``) an inline SVG in a
``<figure class="backprop-graph">``. A bad fence is a warning on MkDocs' logger, so
``mkdocs build --strict`` fails on it, and the page shows the message instead of the
derivation; ``values``, ``dims`` or ``seed`` without ``show: trace`` (or ``graph``) is a
warning too.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from .derive import derive
from .emit.sections import SECTIONS
from .errors import OptionError, SymbackpropError
from .evaluate import check_sizes
from .specs import FENCE, check_given, parse_dims, parse_shape, parse_values, point, trace_dims
from .values import check_shape_sizes

log = logging.getLogger("mkdocs.plugins.symbackprop")

OPTIONS = ("wrt", "shapes", "loss", "layout", "adjoint", "granularity", "syntax", "names",
           "sections", "show", "values", "seed", "dims", "name")
SHOW = (*SECTIONS, "trace", "graph")
_OPTION = re.compile(r"^([a-z]+)\s*:\s*(.*)$")
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]*\Z")


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]


def _options(source: str) -> tuple[str, dict[str, str]]:
    lines = [ln for ln in source.strip().splitlines() if ln.strip()]
    if not lines:
        raise ValueError("the backprop fence is empty: its first line is the expression")
    expression, opts = lines[0], {}
    for line in lines[1:]:
        m = _OPTION.match(line.strip())
        if m is None or m.group(1) not in OPTIONS:
            raise ValueError(f"{line.strip()!r} is no option: write key: value with key one "
                             f"of {', '.join(OPTIONS)}")
        if m.group(1) in opts:
            raise ValueError(f"{m.group(1)}: is given twice")
        opts[m.group(1)] = m.group(2).strip()
    if "sections" in opts and "show" in opts:
        raise ValueError("give sections: or show:, not both (show: takes the section names, "
                         "and trace and graph)")
    return expression, opts


def _renames(text: str) -> dict[str, str]:
    out = {}
    for item in _words(text):
        old, eq, new = item.partition("=")
        if not eq or not old or not new:
            raise ValueError(f"names: {item!r}: expected OLD=NEW")
        out[old] = new
    return out


def _seed(text: str) -> int:
    if not text.isdigit():
        raise ValueError(f"seed: {text!r}: expected a whole number from 0")
    return int(text)


def fence_parts(source: str) -> list[tuple[str, str]]:
    """What a fence shows, in order: ``("math", latex)`` blocks and a ``("svg", svg)``
    graph (raises on bad input)."""
    expression, opts = _options(source)
    kw: dict[str, Any] = {k: opts[k] for k in ("loss", "layout", "adjoint", "granularity",
                                               "syntax") if k in opts}
    if "wrt" in opts:
        kw["wrt"] = _words(opts["wrt"])
    if "shapes" in opts:
        kw["shapes"] = dict(parse_shape(s, FENCE) for s in _words(opts["shapes"]))
        check_shape_sizes(kw["shapes"])
    if "names" in opts:
        kw["names"] = _renames(opts["names"])
    show = _words(opts.get("show", opts.get("sections", "")))
    unknown = [s for s in show if s not in (SHOW if "show" in opts else SECTIONS)]
    if unknown:
        choices = SHOW if "show" in opts else SECTIONS
        raise OptionError(f"unknown {'show' if 'show' in opts else 'sections'}: "
                          f"{', '.join(unknown)}; choose from {', '.join(choices)}", choices)
    d = derive(expression, **kw)
    check_sizes(d)
    given = parse_values(opts.get("values", ""), FENCE)
    dims = trace_dims(d, parse_dims(opts.get("dims", ""), FENCE), FENCE)
    parts: list[tuple[str, str]] = []
    sections = [s for s in show if s not in ("trace", "graph")]
    if not show or sections:
        parts.append(("math", d.latex(sections=sections or None)))
    trace = None
    if "trace" in show or ("graph" in show and "values" in opts):
        check_sizes(d, dims)
        trace = d.trace(point(d, given, _seed(opts.get("seed", "0")), dims, FENCE))
    elif any(k in opts for k in ("values", "dims", "seed")):
        check_given(d, given, dims, FENCE)  # checked even when nothing shows them
        _seed(opts.get("seed", "0"))
        log.warning("backprop fence: values:, dims: and seed: are for show: trace (or "
                    "graph); nothing shows them here")
    if "graph" in show:
        from .emit.dot import render_svg_to_fit
        from .emit.html import LINE_PT, svg_inline

        parts.append(("svg", svg_inline(render_svg_to_fit(d, trace, width=LINE_PT))))
    if "trace" in show and trace is not None:
        parts.append(("math", trace.latex()))
    return parts


def derivation_of(source: str) -> str:
    """The fence's derivation as one ``aligned`` block of LaTeX (raises on bad input); the
    first block when ``show:`` asks for more."""
    parts = fence_parts(source)
    return next(text for kind, text in parts if kind == "math")


def fence(source: str, language: str, class_name: str, options: dict[str, Any], md: Any,
          **kwargs: Any) -> str:
    """The ``format`` function of a ``pymdownx.superfences`` custom fence."""
    try:
        parts = fence_parts(source)
        name = _options(source)[1].get("name")
        if name is not None and not _ID.match(name):
            raise ValueError(f"name: {name!r}: expected a letter, then letters, digits, _ or -")
    except (SymbackpropError, ValueError, TypeError, OSError, MemoryError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        log.warning("backprop fence: %s", message)
        return (f'<p class="{html.escape(class_name, quote=True)} error">backprop: '
                f"{html.escape(message)}</p>")
    out = []
    for kind, text in parts:
        if kind == "math":
            out.append(f'<div class="arithmatex">\\[\n{html.escape(text, quote=False)}\n\\]'
                       "</div>")
        else:
            out.append(f'<figure class="{html.escape(class_name, quote=True)}-graph">{text}'
                       "</figure>")
    if name:  # a block with the id (a span before a div: Markdown wraps both in a <p>)
        return f'<div id="{name}">' + "\n".join(out) + "</div>"
    return "\n".join(out)
