"""The evaluation trace as a table, as the AD literature draws it (Baydin et al., 2018).

One row per input and intermediate, in evaluation order: the variable, its defining
equation (``input`` for an input), its primal value and its adjoint value (the derivative
of the output in it; ``·`` where the output does not depend on it through the chosen
variables). Matrices are shown compactly: up to 3×3 in full, else a corner with dots and
the shape. LaTeX (an ``array``: KaTeX renders it, pdflatex compiles it), Markdown (a table,
inline ``$`` math only where it cannot break the table) and HTML (a ``<table>``).
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import UnsupportedError
from ..notation import adjoint_latex, tangent_latex
from .json import JsonText
from .printer import expr_latex
from .symbols import symbol_table

if TYPE_CHECKING:
    from ..evaluate import Trace, TraceRow

FULL = 3  # rows/columns shown in full; larger matrices show a 2×2 corner


def number_text(x: float, digits: int = 4) -> str:
    """A number in plain text, ``digits`` significant digits."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    s = format(x, f".{digits}g")
    return "0" if s == "-0" else s


def number_latex(x: float, digits: int = 4) -> str:
    s = number_text(x, digits)
    if s == "nan":
        return r"\mathrm{NaN}"
    if s in ("inf", "-inf"):
        return s.replace("inf", r"\infty")
    if "e" in s:
        mant, exp = s.split("e")
        return rf"{mant} \times 10^{{{int(exp)}}}"
    return s


Index = list[int | None]  # row or column indices; None stands for the elided middle


def _corner(v: Any) -> tuple[Any, Index | None, Index]:
    """A value as a float array and the rows/columns to show (all, or 0, 1, … when large);
    rows is None for a scalar, returned as a 0-d array."""
    a = np.asarray(v, dtype=float)
    if a.ndim > 2:  # a tensor: the matrix at index 0 of its leading axes (_lead says so)
        a = a[(0,) * (a.ndim - 2)]
    if a.ndim == 0 or (a.size == 1 and a.ndim < 2):
        return a.reshape(()), None, []
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    rows: Index = list(range(a.shape[0])) if a.shape[0] <= FULL else [0, 1, None]
    cols: Index = list(range(a.shape[1])) if a.shape[1] <= FULL else [0, 1, None]
    return a, rows, cols


def _lead(v: Any, sep: str, at: str = ", at ") -> str | None:
    """A tensor's whole shape and which of its matrices the corner shows; None for others."""
    shape = np.shape(v)
    if len(shape) <= 2:
        return None
    return sep.join(map(str, shape)) + at + ",".join(["0"] * (len(shape) - 2) + [":", ":"])


def value_latex(v: Any, digits: int = 4) -> str:
    """A scalar, or a matrix as a small bracketed array (a corner and dots when large)."""
    if v is None:
        return r"\cdot"
    a, rows, cols = _corner(v)
    if rows is None:
        return number_latex(float(a), digits)
    lines = []
    for r in rows:
        cells = []
        for c in cols:
            if r is None and c is None:
                cells.append(r"\ddots")
            elif r is None:
                cells.append(r"\vdots")
            elif c is None:
                cells.append(r"\cdots")
            else:
                cells.append(number_latex(a[r, c], digits))
        lines.append(" & ".join(cells))
    body = r"\left[\begin{smallmatrix}" + r" \\ ".join(lines) + r"\end{smallmatrix}\right]"
    lead = _lead(v, r"\times ", r",\ \text{at}\ ")
    if lead is not None:
        body += rf"_{{{lead}}}"
    elif None in rows or None in cols:
        body += rf"_{{{a.shape[0]}\times {a.shape[1]}}}"
    return body


def value_text(v: Any, digits: int = 4, with_shape: bool = True) -> str:
    """A scalar, or a matrix as ``[a, b, …; c, d, …; …] (4×3)`` in plain text."""
    if v is None:
        return "·"
    a, rows, cols = _corner(v)
    if rows is None:
        return number_text(float(a), digits)
    lines = []
    for r in rows:
        if r is None:
            lines.append("…")
            continue
        lines.append(", ".join("…" if c is None else number_text(a[r, c], digits)
                               for c in cols))
    lead = _lead(v, "×")
    shape = "" if not with_shape else f" ({lead})" if lead else f" ({a.shape[0]}×{a.shape[1]})"
    return "[" + "; ".join(lines) + "]" + shape


def has_tangents(t: Trace) -> bool:
    """Whether the trace was made with tangents (forward mode): a tangent column then."""
    return any(r.tangent is not None for r in t.rows)


def trace_text(t: Trace, digits: int = 4) -> str:
    """The trace as a plain-text table (``print(d.trace(values))``): each variable, its
    definition, its value and its adjoint (and its tangent, when the trace has them)."""
    out = str(t.derivation.output.name)
    tangents = has_tangents(t)
    head: tuple[str, ...] = ("variable", "definition", "value", f"∂{out}/∂·")
    text = JsonText({str(r.name) for r in t.rows}, display=True).doprint
    body: list[tuple[str, ...]] = [
        (r.name, "input" if r.equation is None else _sstr(r.equation, text),
         value_text(r.value, digits), value_text(r.adjoint, digits)) for r in t.rows]
    if tangents:
        head += ("tangent ·̇",)
        body = [(*b, value_text(r.tangent, digits)) for b, r in zip(body, t.rows, strict=True)]
    n = len(head) - 1
    widths = [max(len(x[i]) for x in (head, *body)) for i in range(n)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(x[:n], widths, strict=True)) + "  " + x[n]
             for x in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * len(head[n]))
    return "\n".join(line.rstrip() for line in lines)


def _sstr(e: Any, printer: Any, width: int = 40) -> str:
    """A definition as the JSON and the graph write it (``W1 @ x + b1 @ ones(1, 4)``,
    ``t**2``), never SymPy's class names (``HadamardPower(t, 2)``); cut at ``width``."""
    try:
        written = printer(e)
    except UnsupportedError:  # a form no printer has: SymPy's own
        written = str(e)
    text = " ".join(written.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _cells(t: Trace) -> list[tuple[str, str, Any, Any, Any]]:
    """(variable LaTeX, definition LaTeX, value, adjoint, tangent) per row."""
    d = t.derivation
    names = symbol_table(d)
    out = []
    for row in t.rows:
        var = names.get(row.symbol, expr_latex(row.symbol))
        definition = r"\text{input}" if row.equation is None else \
            f"{var} = {expr_latex(row.equation, names)}"
        out.append((var, definition, row.value, row.adjoint, row.tangent))
    return out


def _header(t: Trace) -> tuple[str, str]:
    d = t.derivation
    names = symbol_table(d)
    return names[d.output], adjoint_latex("v", names[d.output], d.options.adjoint)


TANGENT = tangent_latex("v")  # the tangent column's heading, v̇


def trace_latex(t: Trace, digits: int = 4) -> str:
    """The trace as one LaTeX ``array`` (put it in display math); a tangent column v̇ when
    the trace has tangents (forward mode)."""
    _, adj = _header(t)
    tangents = has_tangents(t)
    extra = rf" & {TANGENT}" if tangents else ""
    rows = [r"\text{variable} & \text{definition} & \text{value} & "
            + rf"{adj}{extra} \\ \hline"]
    for var, definition, value, adjoint, tangent in _cells(t):
        cell = f" & {value_latex(tangent, digits)}" if tangents else ""
        rows.append(f"{var} & {definition} & {value_latex(value, digits)} & "
                    rf"{value_latex(adjoint, digits)}{cell} \\")
    rows[-1] = rows[-1].removesuffix(r" \\")
    cols = "llrrr" if tangents else "llrr"
    return f"\\begin{{array}}{{{cols}}}\n" + "\n".join("  " + r for r in rows) + \
        "\n\\end{array}"


def _md_math(tex: str) -> str:
    # a | would split the table's cell; \vert is the same bar
    return "$" + tex.replace(r"\left|", r"\left\vert ").replace(r"\right|", r"\right\vert ")\
        .replace("|", r"\vert ") + "$"


def trace_markdown(t: Trace, digits: int = 4) -> str:
    """The trace as a Markdown table (math inline, values as text)."""
    _, adj = _header(t)
    tangents = has_tangents(t)
    extra = f" tangent {_md_math(TANGENT)} |" if tangents else ""
    lines = [f"| variable | definition | value | adjoint {_md_math(adj)} |{extra}",
             "|:--|:--|--:|--:|" + ("--:|" if tangents else "")]
    for var, definition, value, adjoint, tangent in _cells(t):
        d = "input" if definition == r"\text{input}" else _md_math(definition)
        cell = f" {value_text(tangent, digits)} |" if tangents else ""
        lines.append(f"| {_md_math(var)} | {d} | {value_text(value, digits)} | "
                     f"{value_text(adjoint, digits)} |{cell}")
    return "\n".join(lines) + "\n"


def math_span(tex: str, display: bool = False, *, inline_block: bool = False) -> str:
    """TeX for the page's renderer (KaTeX on our pages, MathJax in Jupyter), HTML-escaped;
    ``inline_block`` for a table cell that MathJax 2 must not break (see ``trace_html``)."""
    if display:
        return f'<div class="math display">\\[{html.escape(tex)}\\]</div>'
    style = ' style="display:inline-block"' if inline_block else ""
    return f'<span class="math inline"{style}>\\({html.escape(tex)}\\)</span>'


def trace_html(t: Trace, digits: int = 4, *, inline_blocks: bool = False) -> str:
    """The trace as an HTML ``<table>``; math in ``math`` spans, values typeset as LaTeX.

    ``inline_blocks`` puts each formula in an inline-block, for the notebook's HTML:
    nbconvert's pages turn MathJax 2's automatic line breaking on, which measures a cell
    before the table is laid out and broke ``z = W x + b`` over three lines at every page
    width; an inline-block measures as no width, and MathJax then takes the page's."""

    def span(tex: str) -> str:
        return math_span(tex, inline_block=inline_blocks)

    _, adj = _header(t)
    tangents = has_tangents(t)
    extra = f"<th>tangent {span(TANGENT)}</th>" if tangents else ""
    head = ("<thead><tr><th>variable</th><th>definition</th><th>value</th>"
            f"<th>adjoint {span(adj)}</th>{extra}</tr></thead>")
    body = []
    for var, definition, value, adjoint, tangent in _cells(t):
        d = "input" if definition == r"\text{input}" else span(definition)
        cell = f"<td>{span(value_latex(tangent, digits))}</td>" if tangents else ""
        body.append(f"<tr><td>{span(var)}</td><td>{d}</td>"
                    f"<td>{span(value_latex(value, digits))}</td>"
                    f"<td>{span(value_latex(adjoint, digits))}</td>{cell}</tr>")
    return (f'<table class="sbp-trace">\n{head}\n<tbody>\n' + "\n".join(body)
            + "\n</tbody>\n</table>")


def row_value_text(row: TraceRow, digits: int = 4) -> tuple[str, str]:
    return value_text(row.value, digits), value_text(row.adjoint, digits)
