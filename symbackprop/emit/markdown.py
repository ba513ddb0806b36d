"""Markdown: the derivation as a lecture note, with ``$$`` display math.

Headings and a sentence or two of prose per step — problem, forward pass, local derivatives,
backward pass, result — and one ``aligned`` block per step, built from the line functions of
``emit/latex.py``. Each block is ``$$`` on its own line, the body, ``$$`` on its own line,
with blank lines around: the form MkDocs (pymdownx.arithmatex), MyST (dollarmath) and
GitHub all read as display math. No body line starts with a Markdown marker.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy as sp

from ..notation import adjoint_latex, partial_latex
from .latex import (
    backward_lines,
    chain_lines,
    forward_lines,
    gradient_lines,
    jacobian_lines,
    layer_count,
    partial_lines,
    recursion_lines,
    tangent_lines,
)
from .printer import expr_latex
from .problem import problem_parts
from .recurrence import general_lines
from .sections import chosen
from .symbols import symbol_table

if TYPE_CHECKING:
    from ..derivation import Derivation

REVERSE = ("problem", "forward", "partials", "backward", "result")  # the default
FORWARD = ("problem", "forward", "tangents")  # the default of mode="forward"
JACOBIAN = ("problem", "forward", "jacobian")  # the default for a non-scalar output


def aligned(lines: Sequence[str]) -> str:
    """One ``aligned`` block (no delimiters) from ``lhs &= rhs`` lines."""
    return "\\begin{aligned}\n" + " \\\\\n".join("  " + ln for ln in lines) + "\n\\end{aligned}"


def display(body: str) -> str:
    return f"$$\n{body}\n$$"


def fence(text: str, lang: str = "text") -> str:
    """A fenced code block that no backtick run inside ``text`` can close."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def local_jacobian_lines(d: Derivation, names: dict[sp.Basic, str]) -> list[str]:
    """The local Jacobians of a matrix derivation that have a clean form (numerator layout)."""
    needed = set(d.adjoints)
    lines = []
    for eq in d.forward:
        for v in eq.atoms:
            if v not in needed:
                continue
            j = d.jacobian(eq.lhs, v)
            if j is not None:
                lines.append(rf"{partial_latex(names[eq.lhs], names[v])} &= {expr_latex(j, names)}")
    return lines


# ---------------------------------------------------------------------------------------
# The document: a list of blocks, written out as Markdown here and as HTML in emit/html.py

Inline = tuple[tuple[str, bool], ...]  # (text, is_math) runs


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # "heading" | "para" | "math" | "code" | "note"
    content: Inline = ()
    tex: str = ""  # "math": the display body; "code": the code
    level: int = 0  # "heading": its level; "code": unused
    lang: str = ""


def _p(*runs: str | tuple[str]) -> Inline:
    """``_p("We differentiate ", ("z",), " in x")``: 1-tuples are math."""
    return tuple((r[0], True) if isinstance(r, tuple) else (r, False) for r in runs)


def _wrt_runs(d: Derivation, names: dict[sp.Basic, str]) -> list[str | tuple[str]]:
    parts: list[str | tuple[str]] = []
    for i, v in enumerate(d.wrt):
        if i:
            parts.append(" and " if i == len(d.wrt) - 1 else ", ")
        parts.append((names[v],))
    return parts or ["nothing"]


LOSS_WORDS = {"mse": "the mean-squared-error loss", "cross_entropy": "the softmax "
              "cross-entropy loss"}


def document(d: Derivation, sections: Sequence[str] | str | None = None, level: int = 1,
             title: str | None = None) -> list[Block]:
    """The lecture note as blocks (see ``derivation_markdown``)."""
    sections = chosen(sections)
    if sections is None:
        sections = FORWARD if d.options.mode == "forward" else \
            JACOBIAN if d.is_jacobian else REVERSE
        if sections is REVERSE and d.is_matrix and layer_count(d) >= 2:  # as latex() does
            sections = (*REVERSE[:-1], "recursion", "result")
    if not 1 <= level <= 5:
        raise ValueError("level must be between 1 and 5")
    names = symbol_table(d)
    out = names[d.output]
    adj = adjoint_latex("v", out, d.options.adjoint)
    wrt = _wrt_runs(d, names)

    def heading(text: Inline, sub: int = 1) -> Block:
        return Block("heading", text, level=level + sub)

    what = "Forward mode: " if d.options.mode == "forward" else \
        "Jacobian: " if d.is_jacobian else "Backpropagation: "
    blocks = [Block("heading", _p(title) if title is not None else
                    _p(what, (out,), " with respect to ", *wrt), level=level)]

    if "problem" in sections:
        blocks.append(heading(_p("Problem")))
        if isinstance(d.source, str):
            loss = f", followed by {LOSS_WORDS[d.loss]} against a target y" if d.loss else ""
            blocks.append(Block("para", _p(f"The expression, as given{loss}:")))
            blocks.append(Block("code", tex=d.source.strip(), lang="python"))
        prob = problem_parts(d)
        if prob.function is not None:
            blocks.append(Block("para", _p("The Python function, and the same typeset by "
                                           "latexify-py:")))
            if prob.code is not None:
                blocks.append(Block("code", tex=prob.code, lang="python"))
            blocks.append(Block("math", tex=prob.function))
        if prob.note:
            blocks.append(Block("note", _p(f"The function's source is not shown: {prob.note}.")))
        if prob.output is not None:
            # the function's own variable of the output's name is another: say which
            which = f", the value {prob.shadowed}() returns (not its local variable " \
                f"{d.output.name})," if prob.shadowed else ""
            blocks.append(Block("para", _p("We differentiate ", (out,), f"{which} with "
                                           "respect to ", *wrt, ":")))
            blocks.append(Block("math", tex=prob.output))

    if "forward" in sections:
        blocks.append(heading(_p("Forward pass")))
        blocks.append(Block("para", _p(
            "The expression is split into named intermediate variables, each computed from "
            "the inputs and the variables before it (a Wengert list). The last one is the "
            "output ", (out,), ".")))
        blocks.append(Block("math", tex=aligned(forward_lines(d, names))))

    if "partials" in sections:
        if d.is_matrix:
            lines = local_jacobian_lines(d, names)
            text = ("Each equation is differentiated on its own. For matrices the backward "
                    "pass never forms these Jacobians: it multiplies by them "
                    "(a vector-Jacobian product). Where a local Jacobian has a clean form "
                    "(numerator layout) it is:")
        else:
            lines = partial_lines(d, names)
            text = ("Each equation is differentiated on its own, with respect to each of its "
                    "arguments; a derivative that SymPy writes with the equation's own "
                    "result reuses it:")
        if lines:
            blocks.append(heading(_p("Local derivatives")))
            blocks.append(Block("para", _p(text)))
            blocks.append(Block("math", tex=aligned(lines)))

    if "tangents" in sections:
        lines = tangent_lines(d, names)
        if lines:
            blocks.append(heading(_p("Tangents (forward mode)")))
            blocks.append(Block("para", _p(
                "Each variable that depends on ", *wrt, " gets a tangent, its derivative along "
                "a direction given by the tangents of ", *wrt, "; the equations are visited "
                "in the order of the forward pass, each tangent from the tangents of its "
                "arguments (a Jacobian-vector product):")))
            blocks.append(Block("math", tex=aligned(lines)))

    if "jacobian" in sections and d.is_jacobian:
        blocks.append(heading(_p("Jacobian")))
        blocks.append(Block("para", _p(
            "The output ", (out,), " is not a scalar: its derivative is a matrix, the product "
            "of the local Jacobians along each path from ", *wrt, " to it, summed over the "
            "paths (written out where each has a clean form; as numbers, ",
            "forward sweeps give a column each, reverse sweeps a row each):")))
        blocks.append(Block("math", tex=aligned(jacobian_lines(d, names))))

    if "backward" in sections:
        lines = backward_lines(d, names)
        if lines:
            blocks.append(heading(_p("Backward pass")))
            blocks.append(Block("para", _p(
                "Starting from ", (adjoint_latex(out, out, d.options.adjoint) + " = 1",),
                ", the equations are visited in reverse. Each variable's adjoint ", (adj,),
                " collects what flows back from every equation that uses it (a sum where the "
                "variable is used more than once):")))
            blocks.append(Block("math", tex=aligned(lines)))

    if "recursion" in sections:
        lines, steps = recursion_lines(d, names), general_lines(backward_lines(d, names))
        if lines:
            blocks.append(heading(_p("Recursion over the layers")))
            blocks.append(Block("para", _p(
                "Each layer's gradient comes from the next layer's, one Jacobian at a time; the "
                "parameters' gradients below refer to it:")))
            blocks.append(Block("math", tex=aligned(lines)))
        if steps:
            blocks.append(heading(_p("The general step")))
            blocks.append(Block("para", _p(
                "The backward equations repeat from step to step (layer to layer, or time "
                "step to time step); written once with the step t, and the parameters' "
                "gradients as sums over the steps:")))
            blocks.append(Block("math", tex=aligned(steps)))

    if "chain" in sections or "result" in sections:
        chain = chain_lines(d, names)
        if chain:
            blocks.append(heading(_p("Chain rule" if "result" not in sections else "Result")))
            if d.is_matrix:
                blocks.append(Block("para", _p(
                    f"The chain rule, as a product of local Jacobians in {d.options.layout} "
                    "layout, along every path to ", (out,), ":")))
            else:
                blocks.append(Block("para", _p(
                    "The chain rule multiplies the local derivatives along every path from a "
                    "variable to ", (out,), ", and adds the paths:")))
            blocks.append(Block("math", tex=aligned(chain)))
        elif "result" in sections:
            blocks.append(heading(_p("Result")))
        grads = gradient_lines(d, names) if "result" in sections and d.is_matrix else []
        if grads:
            blocks.append(Block("para", _p("Written in the inputs:")))
            blocks.append(Block("math", tex=aligned(grads)))
    if len(blocks) == 1:  # as latex() says: never a page with its title alone
        blocks.append(Block("note", _p(
            f"Nothing to show in the section{'s' * (len(sections) > 1)} "
            f"{', '.join(sections)} for this derivation.")))
    return blocks


def inline_markdown(runs: Inline) -> str:
    return "".join(f"${t}$" if math else t for t, math in runs)


def blocks_markdown(blocks: Sequence[Block]) -> str:
    parts = []
    for b in blocks:
        if b.kind == "heading":
            parts.append("#" * b.level + " " + inline_markdown(b.content))
        elif b.kind == "para":
            parts.append(inline_markdown(b.content))
        elif b.kind == "note":
            parts.append("*" + inline_markdown(b.content) + "*")
        elif b.kind == "math":
            parts.append(display(b.tex))
        elif b.kind == "code":
            parts.append(fence(b.tex, b.lang or "text"))
        else:
            raise ValueError(f"unknown block kind {b.kind!r}")
    return "\n\n".join(parts) + "\n"


def derivation_markdown(d: Derivation, sections: Sequence[str] | None = None, level: int = 1,
                        title: str | None = None) -> str:
    """The derivation as a Markdown lecture note (``level``: the top heading's level).

    ``sections``: any of ``problem``, ``forward``, ``partials`` (local derivatives),
    ``tangents`` (forward mode), ``backward``, ``result``, ``jacobian`` (a non-scalar output),
    in that order; by default the first three and the last two but ``jacobian``; ``problem``,
    ``forward``, ``tangents`` in forward mode; ``problem``, ``forward``, ``jacobian`` for a
    Jacobian. ``title``
    replaces the first heading's text (plain text: escaped, as ``html(title=...)`` escapes it).
    """
    return blocks_markdown(document(d, sections, level,
                                    None if title is None else markdown_text(title)))


_MD_SPECIAL = re.compile(r"([\\`*_\[\]#!|~$])")  # < > & are HTML-escaped first


def markdown_text(text: str) -> str:
    """Plain text that Markdown shows as written: one line, HTML escaped (no ``<script>``,
    no autolink), every character Markdown or its math extensions read backslash-escaped
    (no ``[a](javascript:...)`` link, no emphasis, no ``$`` math)."""
    line = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", html.escape(line, quote=True))
