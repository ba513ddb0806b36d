"""Plain text for a terminal: the derivation's equations as SymPy's pretty printer draws
them (Unicode, as ``sympy.pprint`` does), section by section as ``latex()`` chooses them:

* ``forward``, then ``backward`` (the adjoint equations) for a scalar output;
* ``forward``, then ``tangents (forward mode)`` (``ẋ``, ``ṫ₁ = …``) for ``mode="forward"``;
* ``forward``, then ``Jacobian (… layout)`` for a non-scalar output (a Hessian is the
  Jacobian of a gradient): ``∂y/∂v = …`` in closed form where there is one, in the
  derivation's layout, else the size of ∂vec(y)/∂vec(v); then how the numbers are made.

Adjoints are written as ``adjoint=`` says, as the LaTeX writes them: ``∂z/∂x`` (``"frac"``),
``x̄`` (``"bar"``), ``δₓ`` (``"delta"``; ``δ⁽ˡ⁾`` for the pre-activations of layer l).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.printing.conventions import split_super_sub
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_symbol, sub, sup
from sympy.printing.pretty.stringpict import prettyForm, stringPict
from sympy.printing.str import StrPrinter

from ..builder import Equation
from ..jacobians import closed_form, layout_form, sweeps
from ..shapes import axes_of, shape_of
from .symbols import delta_layers

if TYPE_CHECKING:
    from ..derivation import Derivation

TITLES = {"forward": "forward", "backward": "backward", "tangents": "tangents (forward mode)",
          "jacobian": "Jacobian ({layout} layout)"}  # as latex() titles its sections

_SUBSCRIPTS = set("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ")


def default_sections(d: Derivation) -> tuple[str, ...]:
    """The sections of the text: those ``latex()`` shows by default, from the same facts
    (``options.mode``, ``is_jacobian``); a scalar output in reverse mode keeps its adjoint
    equations (the text has no chain-rule section)."""
    if d.options.mode == "forward":
        return ("forward", "tangents")
    if d.is_jacobian:
        return ("forward", "jacobian")
    return ("forward", "backward")


class TextPrinter(PrettyPrinter):  # type: ignore[misc]
    """SymPy's Unicode pretty printer with a label for each symbol of the derivation (its
    adjoints and tangents among them), element-wise calls written as calls, and the display
    forms the chain rule writes (``diag(…)``, ``tanh′(z)``)."""

    def __init__(self, labels: Mapping[sp.Basic, str]) -> None:
        super().__init__({"use_unicode": True, "wrap_line": False})
        self.labels = labels
        self.plain = _LabelledStr(labels)

    def emptyPrinter(self, e: Any) -> Any:  # SymPy's name
        # a node SymPy has no drawing for prints as its str() (``sumall(h)``): with the
        # labels, so an adjoint or a tangent in it never shows as its internal name ("d:x")
        return prettyForm(self.plain.doprint(e))

    def _print_Symbol(self, e: Any, bold_name: bool = False) -> Any:
        label = self.labels.get(e)
        return prettyForm(label) if label is not None else super()._print_Symbol(e, bold_name)

    def _print_MatrixSymbol(self, e: Any) -> Any:
        label = self.labels.get(e)
        return prettyForm(label) if label is not None else super()._print_MatrixSymbol(e)

    def _call(self, name: str, args: tuple[sp.Basic, ...]) -> Any:
        inner = prettyForm(*self._print_seq(args, delimiter=", ").parens())
        out = prettyForm(*stringPict.next(prettyForm(name), inner), binding=prettyForm.FUNC)
        out.prettyFunc, out.prettyArgs = prettyForm(name), inner  # as SymPy's functions: a
        return out  # power of one (tanh(c)∘2) reads them

    def _print_Elementwise(self, e: Any) -> Any:
        return self._call(e.name, e.operands)

    def _print__MatrixReduction(self, e: Any) -> Any:  # sumall(h), sqnorm(t), mse(o, y)
        return self._call(type(e).__name__.lower(), e.args)

    def _print_OneMatrix(self, e: Any) -> Any:  # a row of ones is 𝟙ᵀ, as in the LaTeX
        rows, cols = e.shape
        return prettyForm("𝟙ᵀ" if rows == 1 and cols != 1 else "𝟙")

    def _print_Item(self, e: Any) -> Any:  # the one entry of a 1×1 product: the product
        inner = self._print(e.args[0])  # of a sum, bracketed: (c + 2⋅𝟙)⋅x
        return prettyForm(*inner.parens()) if isinstance(e.args[0], (sp.Add, sp.MatAdd)) else inner

    def _print_DiagJacobian(self, e: Any) -> Any:
        return self._call("diag", e.args[:1])

    def _print_ElementwiseDerivative(self, e: Any) -> Any:
        return self._call(f"{e.name}′", e.args[1:])

    def line(self, lhs: sp.Basic | str, rhs: sp.Basic) -> str:
        left = prettyForm(lhs) if isinstance(lhs, str) else self._print(lhs)
        return str(prettyForm(*left.right(" = ", self._print(rhs))))


class _LabelledStr(StrPrinter):  # type: ignore[misc]
    """SymPy's ``str`` with the labels of the symbols."""

    def __init__(self, labels: Mapping[sp.Basic, str]) -> None:
        super().__init__()
        self.labels = labels

    def _print_Symbol(self, e: Any) -> str:
        return self.labels.get(e, str(e.name))

    _print_MatrixSymbol = _print_Symbol


def symbol_names(d: Derivation) -> dict[sp.Basic, str]:
    """Each input and intermediate as the pretty printer writes it (``x1`` is ``x₁``,
    ``Omega`` ``Ω``); where several would look the same (``x`` and ``x_``, ``x1`` and
    ``x_1``), the one with the fewest underscores (then the shortest, then the first) keeps
    it and the others are written as they are spelled, as ``symbol_table`` does in the
    LaTeX: one text never stands for two variables."""
    names: dict[sp.Basic, str] = {}
    # the sweeps' graph may bind more than the forward pass shows (a dimension used as a
    # number): those too, after the forward pass's own
    swept = (*d.sweep.graph.inputs, *(eq.lhs for eq in d.sweep.graph.equations))
    symbols = list(dict.fromkeys((*d.inputs, *(eq.lhs for eq in d.forward), *swept,
                                  *d.adjoints)))
    order = {s: i for i, s in enumerate(symbols)}
    groups: dict[str, list[sp.Basic]] = {}
    for s in symbols:
        groups.setdefault(str(pretty_symbol(str(s.name))), []).append(s)
    used = set(groups)
    for text, group in groups.items():
        owner = min(group, key=lambda s: (str(s.name).count("_"), len(str(s.name)), order[s]))
        names[owner] = text
        for s in group:
            if s is not owner:
                spelled = str(s.name)
                while spelled in used:  # never another's text
                    spelled = f"'{spelled}'"
                names[s] = spelled
                used.add(spelled)
    return {s: names[s] for s in symbols}


def marked(v: sp.Basic, name: str, mark: str) -> str:
    """The variable written ``name`` with a combining ``mark`` over its base letters,
    before the subscripts: ``ẋ₁``, ``t̄₁`` (as ``\\dot``, ``\\bar`` mark the base in the
    LaTeX)."""
    base = str(pretty_symbol(split_super_sub(str(v.name))[0]))
    if name == pretty_symbol(str(v.name)) and base and name.startswith(base):
        return base + mark + name[len(base):]
    return name[:1] + mark + name[1:]  # written as spelled: the mark on its first letter


def _subscript(text: str) -> str | None:
    """``text`` in Unicode subscripts, or None when a character has none."""
    out = []
    for ch in text:
        if ch in _SUBSCRIPTS:
            out.append(ch)
        elif ch in sub:
            out.append(sub[ch])
        else:
            return None
    return "".join(out)


def adjoint_labels(d: Derivation, names: Mapping[sp.Basic, str]) -> dict[sp.Basic, str]:
    """Each adjoint symbol's text, in the style of ``options.adjoint`` (the choices of
    ``symbol_table``: ``∂z/∂v``, ``v̄``, ``δᵥ`` or ``δ⁽ˡ⁾`` for a layer's pre-activation)."""
    style = d.options.adjoint
    layers = delta_layers(d) if style == "delta" else {}
    labels = {}
    for v, a in d.adjoints.items():
        name = names[v]
        if v in layers:
            labels[a] = "δ⁽" + "".join(sup[c] for c in str(layers[v])) + "⁾"
        elif style == "delta":
            small = _subscript(name)
            labels[a] = f"δ{small}" if small is not None else f"δ_{name}"
        elif style == "bar":
            labels[a] = marked(v, name, "\u0304")  # combining macron: x̄
        else:
            labels[a] = f"∂{names[d.output]}/∂{name}"
    return labels


def tangent_labels(d: Derivation, names: Mapping[sp.Basic, str]) -> dict[sp.Basic, str]:
    """Each tangent symbol's text: the variable with a dot over it (``ẋ₁``, ``ṫ₂``)."""
    return {t: marked(v, names[v], "\u0307") for v, t in d.tangents.items()}


def jacobian_text(d: Derivation, p: TextPrinter, names: Mapping[sp.Basic, str]) -> list[str]:
    """∂y/∂v for each wrt variable (``latex.jacobian_lines`` in text): the closed form in
    the derivation's layout, or the size of ∂vec(y)/∂vec(v) where there is none; then how
    the numbers are made and what the layout means."""
    out, layout = names[d.output], d.options.layout
    lines = []
    for v in d.wrt:
        closed = closed_form(d, v)
        if closed is None:
            m, n = (str(p.doprint(entries(x))) for x in (d.output, v))
            size = f"{m} × {n}" if layout == "numerator" else f"{n} × {m}"
            lines.append(f"∂vec({out})/∂vec({names[v]}): {size}, no closed matrix form "
                         "(numbers by sweeps)")
            continue
        lines.append(p.line(f"∂{out}/∂{names[v]}", layout_form(d, closed)))
    try:
        kind, count = sweeps(d)
    except (TypeError, ValueError):  # symbolic sizes: counted when evaluated
        kind, count = None, 0
    if kind == "closed form":
        lines.append("numbers: the closed form, evaluated once")
    elif kind is not None:
        each = "input" if kind == "forward" else "output"
        lines.append(f"numbers: {count} {kind} sweep{'s' * (count != 1)}, one per {each} "
                     "entry")
    lines.append("numerator layout: row i is output entry i" if layout == "numerator" else
                 "denominator layout: the transpose, column i is output entry i")
    return lines


def entries(v: sp.Basic) -> sp.Basic:
    """How many entries ``v`` has (a product of its dimensions; 1 for a scalar)."""
    return sp.Mul(*axes_of(shape_of(v)))  # a tensor's axes, not its (Extent, 1) shape


def derivation_text(d: Derivation) -> str:
    """The derivation's sections (``default_sections``), each a title line, then one
    equation a line (or the few lines SymPy draws it on); a blank line between sections."""
    names = symbol_names(d)
    labels = {**names, **adjoint_labels(d, names)}
    sections = default_sections(d)
    if "tangents" in sections:
        labels.update(tangent_labels(d, names))
    p = TextPrinter(labels)

    def each(eqs: tuple[Equation, ...]) -> list[str]:
        return [p.line(eq.lhs, eq.rhs) for eq in eqs]

    bodies: dict[str, Callable[[], list[str]]] = {
        "forward": lambda: each(d.forward),
        "backward": lambda: each(d.backward),
        "tangents": lambda: each(d.tangent_equations),
        "jacobian": lambda: jacobian_text(d, p, names),
    }
    parts: list[str] = []
    for section in sections:
        if parts:
            parts.append("")
        parts.append(TITLES[section].format(layout=d.options.layout))
        parts.extend(bodies[section]())
    return "\n".join(parts)
