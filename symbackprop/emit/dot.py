"""Graphviz: the computation graph, forward edges in blue and backward edges in red.

``derivation_dot(d)`` gives DOT text: inputs (ellipses; the ones not differentiated dashed),
intermediates (rounded boxes, with their defining equation), the output (a double box);
forward edges ``v → u`` in blue, backward edges ``u ⇢ v`` dashed in red, each labelled with
its local derivative (``∂z/∂t = 2*t``; for matrix equations the local Jacobian where it has
a clean form, else what flows back). Matrix nodes show their shape; after a ``trace`` every
node shows its value and adjoint. The text is built with the ``graphviz`` package when it
is installed (the optional extra ``symbackprop[graphviz]``), else written directly.

Labels are Graphviz HTML-like labels made of escaped text: no name or value can break out.
``render(d, path)`` runs the ``dot`` program (Debian: ``graphviz``) and says clearly when it
is missing.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import sympy as sp

from ..algebra import is_matrix
from ..shapes import fmt_shape, shape_of
from .json import JsonText
from .trace import value_text

if TYPE_CHECKING:
    from ..derivation import Derivation
    from ..evaluate import Trace

FORWARD = "#1f5fbf"
BACKWARD = "#c0392b"
MAX_LABEL = 44  # characters of an expression in a label

GRAPH_ATTR = {"rankdir": "LR", "fontname": "Helvetica", "nodesep": "0.35", "ranksep": "0.7"}
NODE_ATTR = {"fontname": "Helvetica", "fontsize": "12"}
EDGE_ATTR = {"fontname": "Helvetica", "fontsize": "10", "arrowsize": "0.7"}


class GraphvizNotFound(FileNotFoundError):
    """The ``dot`` program is not installed."""


def _short(s: str) -> str:
    s = " ".join(s.split())
    return s if len(s) <= MAX_LABEL else s[:MAX_LABEL - 1] + "…"


def _label(lines: list[tuple[str, str]]) -> str:
    """An HTML-like label: (style, text) lines; style "b" bold, "s" small, "" plain."""
    out = []
    for style, text in lines:
        t = html.escape(text, quote=False)
        if style == "b":
            t = f"<B>{t}</B>"
        elif style == "s":
            t = f'<FONT POINT-SIZE="10">{t}</FONT>'
        out.append(t)
    return "<" + "<BR/>".join(out) + ">"


def _shape(s: sp.Basic) -> str:
    shape = shape_of(s)
    assert shape is not None
    return fmt_shape(shape).strip("()").replace(", ", "×")


def graph_parts(d: Derivation, trace: Trace | None = None
                ) -> tuple[list[tuple[str, dict[str, str]]], list[tuple[str, str, dict[str, str]]]]:
    """The nodes (id, attributes) and edges (tail, head, attributes) of the picture."""
    out_name = str(d.output.name)
    adj_names = {a: f"∂{out_name}/∂{v.name}" for v, a in d.adjoints.items()}
    taken = {str(s.name) for s in (*d.inputs, *(eq.lhs for eq in d.forward))}
    text = JsonText(taken, adj_names, display=True).doprint  # exp(1), never an input's E
    rows = {r.name: r for r in trace} if trace is not None else {}
    wrt = set(d.wrt)
    rhs = {eq.lhs: eq.rhs for eq in d.forward}

    nodes: list[tuple[str, dict[str, str]]] = []
    for s in (*d.inputs, *(eq.lhs for eq in d.forward)):
        name = str(s.name)
        lines = [("b", name)]
        if s in rhs:
            lines.append(("", "= " + _short(text(rhs[s]))))
        if is_matrix(s):
            lines.append(("s", _shape(s)))
        row = rows.get(name)
        if row is not None:
            lines.append(("s", "value " + value_text(row.value, with_shape=False)))
            if row.adjoint is not None:
                lines.append(("s", "adjoint " + value_text(row.adjoint, with_shape=False)))
            if row.tangent is not None:
                lines.append(("s", "tangent " + value_text(row.tangent, with_shape=False)))
        attrs = {"label": _label(lines)}
        if s == d.output:
            attrs.update(shape="box", style="rounded,filled", fillcolor="#fdf0e3", peripheries="2")
        elif s in rhs:
            attrs.update(shape="box", style="rounded,filled", fillcolor="#ffffff")
        else:
            attrs.update(shape="ellipse", style="filled" if s in wrt else "dashed,filled",
                         fillcolor="#eaf1fb" if s in wrt else "#f6f6f6")
        nodes.append((name, attrs))

    edges: list[tuple[str, str, dict[str, str]]] = []
    sizes = set(d.graph.dimensions)  # 1/n of mean(X, axis=1): a size, not a node
    for eq in d.forward:
        for v in eq.atoms:
            if v in sizes:
                continue
            edges.append((str(v.name), str(eq.lhs.name), {"color": FORWARD}))
    for eq in reversed(d.forward):
        u = eq.lhs
        for v in eq.atoms:
            term = next((t for t in d.terms.get(v, []) if t.consumer == u), None)
            if term is None:
                continue
            head = f"∂{u.name}/∂{v.name}"
            if (u, v) in d.partials:
                label = f"{head} = {text(d.partials[(u, v)])}"
            else:
                j = d.jacobian(u, v)
                label = f"{head} = {text(j)}" if j is not None else \
                    f"{adj_names[d.adjoints[v]]} ← {text(term.value)}"
            edges.append((str(u.name), str(v.name), {
                "color": BACKWARD, "fontcolor": BACKWARD, "style": "dashed",
                "constraint": "false", "label": _label([("", _short(label))])}))
    return nodes, edges


def _quote(value: str) -> str:
    if value.startswith("<") and value.endswith(">"):
        return value  # an HTML-like label, escaped when it was made
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _attrs(a: dict[str, str]) -> str:
    return ", ".join(f"{k}={_quote(v)}" for k, v in a.items())


def _plain_dot(nodes: list[tuple[str, dict[str, str]]],
               edges: list[tuple[str, str, dict[str, str]]],
               graph_attr: dict[str, str]) -> str:
    lines = ["digraph backprop {", f"\tgraph [{_attrs(graph_attr)}]",
             f"\tnode [{_attrs(NODE_ATTR)}]", f"\tedge [{_attrs(EDGE_ATTR)}]"]
    lines += [f"\t{_quote(n)} [{_attrs(a)}]" for n, a in nodes]
    lines += [f"\t{_quote(t)} -> {_quote(h)} [{_attrs(a)}]" for t, h, a in edges]
    return "\n".join(lines) + "\n}\n"


Rankdir = Literal["LR", "TB"]


def derivation_dot(d: Derivation, trace: Trace | None = None, *,
                   use_package: bool | None = None, rankdir: Rankdir = "LR") -> str:
    """The computation graph as DOT text (``trace``: show values and adjoints on the nodes).

    ``rankdir``: "LR" (inputs on the left, the default) or "TB" (inputs on top: narrower
    for a long chain, which a page then shows larger); ``use_package``: build the text with
    the ``graphviz`` package (None: when it is installed)."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir must be 'LR' or 'TB', not {rankdir!r}")
    graph_attr = {**GRAPH_ATTR, "rankdir": rankdir}
    nodes, edges = graph_parts(d, trace)
    if use_package is None or use_package:
        try:
            import graphviz
        except ImportError:
            if use_package:
                raise
        else:
            g = graphviz.Digraph("backprop", graph_attr=graph_attr, node_attr=NODE_ATTR,
                                 edge_attr=EDGE_ATTR)
            for n, a in nodes:
                g.node(n, **a)
            for t, h, a in edges:
                g.edge(t, h, **a)
            return str(g.source)
    return _plain_dot(nodes, edges, graph_attr)


def dot_program() -> str:
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizNotFound(
            "the Graphviz program `dot` is not installed (Debian/Ubuntu: apt-get install "
            "graphviz; macOS: brew install graphviz); d.to_dot() still gives the DOT text")
    return exe


FORMATS = ("svg", "png", "pdf")


def run_dot(source: str, fmt: str = "svg") -> bytes:
    """``dot -T<fmt>`` on DOT text; the picture's bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    proc = subprocess.run([dot_program(), f"-T{fmt}"], input=source.encode("utf-8"),
                          capture_output=True, timeout=120, check=False)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RuntimeError(f"dot failed: {err[0] if err else proc.returncode}")
    return proc.stdout


def render_svg(d: Derivation, trace: Trace | None = None, *, rankdir: Rankdir = "LR") -> str:
    return run_dot(derivation_dot(d, trace, rankdir=rankdir), "svg").decode("utf-8")


_SVG_SIZE = re.compile(r'<svg[^>]*?\swidth="([\d.]+)pt"[^>]*?\sheight="([\d.]+)pt"')


def svg_size(svg: str) -> tuple[float, float]:
    """The width and height, in points, ``dot`` gave an SVG picture."""
    m = _SVG_SIZE.search(svg)
    if m is None:
        raise ValueError("not an SVG picture from dot (no width and height in pt)")
    return float(m.group(1)), float(m.group(2))


def render_svg_to_fit(d: Derivation, trace: Trace | None = None, *,
                      width: float = 672.0) -> str:
    """The graph as SVG for a page whose line is ``width`` points: left to right when that
    fits, else whichever of left-to-right and top-to-bottom is narrower (a page scrolls
    down, not across, and a narrower picture is shown larger)."""
    wide = render_svg(d, trace, rankdir="LR")
    if svg_size(wide)[0] <= width:
        return wide
    tall = render_svg(d, trace, rankdir="TB")
    return tall if svg_size(tall)[0] < svg_size(wide)[0] else wide


def render(d: Derivation, path: str | os.PathLike[str], format: str | None = None,
           trace: Trace | None = None) -> Path:
    """Draw the computation graph into ``path`` (svg, png or pdf; default from the suffix)."""
    p = Path(path)
    fmt = format or (p.suffix.lstrip(".").lower() or "svg")
    p.write_bytes(run_dot(derivation_dot(d, trace), fmt))
    return p


def have_dot() -> bool:
    return shutil.which("dot") is not None
