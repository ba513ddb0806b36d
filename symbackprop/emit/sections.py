"""One vocabulary of section names for every format: ``latex()``, ``markdown()``, ``html()``
and the CLI's ``--sections`` take the same names, and a name outside it is an ``OptionError``
that lists them (a bare ``KeyError`` once)."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import OptionError

SECTIONS = ("problem", "forward", "partials", "tangents", "backward", "recursion", "chain",
            "result", "jacobian")
MEANING = {
    "problem": "the expression as given, and the output written in the inputs",
    "forward": "the forward pass: the named intermediate variables",
    "partials": "each equation's local derivatives (local Jacobians for matrices)",
    "tangents": "forward mode's tangent equations",
    "backward": "the backward pass: one adjoint equation per variable",
    "recursion": "the backward recursion over the layers of a deep network",
    "chain": "the chain rule: products of local derivatives along the paths",
    "result": "the gradients: the chain rule, and each gradient written in the inputs where "
              "it is small enough to read",
    "jacobian": "the Jacobian of a non-scalar output",
}


def chosen(sections: Sequence[str] | str | None) -> tuple[str, ...] | None:
    """The names asked for, checked (None: the format's default); one name may be a string."""
    if sections is None:
        return None
    if isinstance(sections, str):  # one section by name, not its letters
        sections = (sections,)
    names = tuple(sections)
    unknown = [s for s in names if s not in SECTIONS]
    if unknown:
        raise OptionError(f"unknown sections {unknown!r}; choose from {', '.join(SECTIONS)}",
                          choices=SECTIONS)
    return names
