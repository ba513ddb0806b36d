"""Names and conventions, in one place: how a variable, its adjoint and a layout are written.

* ``W1`` (a matrix) → ``\\mathbf{W}^{(1)}``; ``b2`` (a vector) → ``\\mathbf{b}^{(2)}``;
  ``Wh`` (a matrix) → ``\\mathbf{W}_{h}`` (a capital with a lowercase tail is a subscript);
  ``x1`` (a scalar) → ``x_{1}``; ``t_3`` → ``t_{3}``; ``alpha`` → ``\\alpha``;
  ``lam`` → ``\\lambda``, ``Lam`` → ``\\Lambda`` (SymPy's ``Lambda`` is a reserved name);
  ``Xhat`` → ``\\hat{\\mathbf{X}}``.
* adjoints: ``"frac"`` → ``\\frac{\\partial L}{\\partial \\mathbf{h}}``,
  ``"bar"`` → ``\\bar{\\mathbf{h}}``, ``"delta"`` → ``\\delta_{\\mathbf{h}}``
  (``\\boldsymbol{\\delta}^{(l)}`` for a layer's pre-activation ``z<l>``).
* layouts: ``"denominator"`` (gradient layout: ``∂L/∂W`` has the shape of ``W``, chain lines
  as ``∇`` products from the parameter outwards) or ``"numerator"`` (Jacobian layout: ``∂y/∂x`` is
  (len y, len x), chain lines from the loss inwards).
"""

from __future__ import annotations

import re
from typing import Literal

AdjointStyle = Literal["frac", "bar", "delta"]
Layout = Literal["numerator", "denominator"]
Kind = Literal["scalar", "vector", "matrix", "tensor"]

GREEK = {
    "alpha": r"\alpha", "beta": r"\beta", "gamma": r"\gamma", "delta": r"\delta",
    "epsilon": r"\epsilon", "zeta": r"\zeta", "eta": r"\eta", "theta": r"\theta",
    "iota": r"\iota", "kappa": r"\kappa", "lam": r"\lambda", "mu": r"\mu", "nu": r"\nu",
    "xi": r"\xi", "rho": r"\rho", "sigma": r"\sigma", "tau": r"\tau", "phi": r"\phi",
    "chi": r"\chi", "psi": r"\psi", "omega": r"\omega", "Gamma": r"\Gamma",
    "Delta": r"\Delta", "Theta": r"\Theta", "Lam": r"\Lambda", "Xi": r"\Xi", "Pi": r"\Pi",
    "Sigma": r"\Sigma", "Phi": r"\Phi", "Psi": r"\Psi", "Omega": r"\Omega",
    "Upsilon": r"\Upsilon", "upsilon": r"\upsilon",
    "omicron": r"\mathrm{omicron}",  # (an o would read back as the name o)
}
_SPLIT = re.compile(r"([A-Za-z]+?)_?(\d+)?(?:_([A-Za-z0-9]+))?\Z")
_TAIL = re.compile(r"([A-Z])([a-z]{1,3})(\d*)\Z")
_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_HAT = re.compile(r"([A-Za-z])hat(\d*)\Z")

LAYOUT_NOTE = {
    "denominator": r"\text{denominator layout: } \tfrac{\partial L}{\partial \mathbf{W}} "
                   r"\text{ has the shape of } \mathbf{W}",
    "numerator": r"\text{numerator layout: } \tfrac{\partial \mathbf{y}}{\partial \mathbf{x}} "
                 r"\text{ is } (\dim \mathbf{y}) \times (\dim \mathbf{x})\text{; the backward "
                 r"lines give the gradients } \tfrac{\partial L}{\partial \mathbf{v}}^{\top}",
}


def layout_note(layout: Layout, output: str = "L") -> str:
    """``LAYOUT_NOTE[layout]`` with the derivation's output as it is printed (an input
    named ``L`` renames the loss: the note then speaks of ``∂z/∂W``, never of the input)."""
    note = LAYOUT_NOTE[layout]
    return note.replace(r"\partial L}", rf"\partial {output}}}") if output != "L" else note


def _base(letters: str, kind: Kind) -> str:
    if letters in GREEK:
        body = GREEK[letters]
        return rf"\boldsymbol{{{body}}}" if kind != "scalar" else body
    body = letters if len(letters) == 1 else rf"\mathrm{{{letters}}}"
    return rf"\mathbf{{{letters}}}" if kind != "scalar" else body


def symbol_latex(name: str, kind: Kind = "scalar") -> str:
    """LaTeX for a variable name; anything that is not a plain identifier is escaped."""
    if not _SAFE.match(name):
        return rf"\text{{{escape_text(name)}}}"
    if name == "e" and kind == "scalar":  # a variable, never Euler's number (e^{2} reads as
        return r"\mathit{e}"  # exp(2) back)
    hat = _HAT.match(name)
    if hat:  # Xhat, xhat1: the hat the notes put on a standardised X (batch normalisation)
        digits = hat.group(2)
        return rf"\hat{{{_base(hat.group(1), kind)}}}" + (
            (f"_{{{digits}}}" if kind == "scalar" else rf"^{{({digits})}}") if digits else "")
    cap = _TAIL.match(name)
    if cap and kind != "scalar" and name not in GREEK and cap.group(1) + cap.group(2) \
            not in GREEK:  # Wh, Wxh: a capital matrix name with a lowercase tail (W_h)
        out = _base(cap.group(1), kind) + (rf"^{{({cap.group(3)})}}" if cap.group(3) else "")
        return out + "_{" + cap.group(2) + "}"
    m = _SPLIT.match(name)
    if not m:
        head, _, tail = name.partition("_")
        if not tail:  # W1x: letters, digits and letters, no underscore: the name upright
            return _base(head, kind)
        return rf"{_base(head, kind)}_{{\mathrm{{{escape_text(tail)}}}}}"
    letters, digits, sub = m.groups()
    out = _base(letters, kind)
    subs = []
    if digits is not None:
        if kind == "scalar":
            subs.append(digits)
        else:
            out += rf"^{{({digits})}}"
    if sub:
        subs.append(sub if len(sub) == 1 or sub.isdigit() else GREEK[sub]
                    if sub in GREEK and sub != "omicron" else rf"\mathrm{{{sub}}}")
    if subs:
        out += "_{" + ",".join(subs) + "}"
    return out


def escape_text(s: str) -> str:
    """Text safe inside ``\\text{}``: LaTeX specials escaped, no commands survive."""
    out = []
    for ch in s:
        if (ch.isalnum() and ch.isascii()) or ch in " .,:;!?()-+=/'":
            out.append(ch)
        elif ch in "#$%&_{}":
            out.append("\\" + ch)
        else:
            out.append("?")
    return "".join(out)


def adjoint_latex(var: str, output: str, style: AdjointStyle) -> str:
    """How the adjoint (the derivative of the output in ``var``) is written."""
    if style == "bar":
        return rf"\bar{{{var}}}" if len(var) <= 2 else rf"\overline{{{var}}}"
    if style == "delta":
        return rf"\delta_{{{var}}}"
    return rf"\frac{{\partial {output}}}{{\partial {var}}}"


_BASE = re.compile(r"(\\[A-Za-z]+\{[^{}]*\}|\\[A-Za-z]+|[A-Za-z0-9])(.*)", re.S)


def tangent_latex(var: str) -> str:
    r"""The tangent v̇ of a variable, the dot on its base letter (``\dot{t}_{1}``,
    ``\dot{\mathbf{W}}^{(1)}``), as the forward-mode literature writes it."""
    if var.startswith("\\hat{"):  # \hat{\mathbf{X}}^{(2)}: the dot over the hat
        depth = 0
        for k, ch in enumerate(var):
            depth += (ch == "{") - (ch == "}")
            if ch == "}" and depth == 0:
                return rf"\dot{{{var[:k + 1]}}}{var[k + 1:]}"
    m = _BASE.fullmatch(var)
    if m is None:
        return rf"\dot{{{var}}}"
    return rf"\dot{{{m.group(1)}}}{m.group(2)}"


def partial_latex(num: str, den: str) -> str:
    return rf"\frac{{\partial {num}}}{{\partial {den}}}"


def nabla_latex(num: str, den: str) -> str:
    return rf"\nabla_{{{den}}} {num}"
