"""The output formats, by name: one registry that the API (``Derivation.to``), the CLI and
the documentation read. Each entry names the module and function that writes a derivation in
that format; a module is imported when its format is first asked for (the CLI starts
without importing every printer)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..errors import OptionError

# name -> (module in symbackprop.emit, function of (Derivation, **options) -> str)
FORMATS: dict[str, tuple[str, str]] = {
    "latex": ("latex", "derivation_latex"),
    "markdown": ("markdown", "derivation_markdown"),
    "json": ("json", "derivation_json"),
    "html": ("html", "derivation_html"),
    "dot": ("dot", "derivation_dot"),
    "python": ("python", "python_code"),
    "torch": ("frameworks", "torch_code"), "jax": ("frameworks", "jax_code"),
    "text": ("text", "derivation_text"),
}


def emitter(fmt: str) -> Callable[..., str]:
    """The function that writes a derivation as ``fmt``; OptionError naming the formats."""
    if fmt not in FORMATS:
        raise OptionError(f"unknown format {fmt!r}; the formats are {', '.join(FORMATS)}",
                          tuple(FORMATS))
    module, name = FORMATS[fmt]
    f: Any = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    return f  # type: ignore[no-any-return]
