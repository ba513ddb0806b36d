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
lines as the Sphinx directive's options: ``wrt`` (names), ``shapes`` (``NAME=RxC`` items),
``loss``, ``layout``, ``adjoint``, ``granularity``, ``syntax``, ``sections`` (as
``d.latex(sections=...)``). The output is display math in arithmatex's generic markup,
``<div class="arithmatex">\\[…\\]</div>``, typeset by whatever the site loads (MathJax or
KaTeX). A bad fence is a warning on MkDocs' logger, so ``mkdocs build --strict`` fails on it,
and the page shows the message instead of the derivation.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any

from .cli import parse_shape
from .derive import derive
from .errors import SymbackpropError

log = logging.getLogger("mkdocs.plugins.symbackprop")

OPTIONS = ("wrt", "shapes", "loss", "layout", "adjoint", "granularity", "syntax", "sections")
_OPTION = re.compile(r"^([a-z]+)\s*:\s*(.*)$")


def _words(text: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", text.strip()) if w]


def derivation_of(source: str) -> str:
    """The fence's text as one ``aligned`` block of LaTeX (raises on bad input)."""
    lines = [ln for ln in source.strip().splitlines() if ln.strip()]
    if not lines:
        raise ValueError("the backprop fence is empty: its first line is the expression")
    expression, opts = lines[0], {}
    for line in lines[1:]:
        m = _OPTION.match(line.strip())
        if m is None or m.group(1) not in OPTIONS:
            raise ValueError(f"{line.strip()!r} is no option: write key: value with key one "
                             f"of {', '.join(OPTIONS)}")
        opts[m.group(1)] = m.group(2).strip()
    kw: dict[str, Any] = {k: opts[k] for k in ("loss", "layout", "adjoint", "granularity",
                                               "syntax") if k in opts}
    if "wrt" in opts:
        kw["wrt"] = _words(opts["wrt"])
    if "shapes" in opts:
        kw["shapes"] = dict(parse_shape(s) for s in _words(opts["shapes"]))
    d = derive(expression, **kw)
    return d.latex(sections=_words(opts["sections"]) if "sections" in opts else None)


def fence(source: str, language: str, class_name: str, options: dict[str, Any], md: Any,
          **kwargs: Any) -> str:
    """The ``format`` function of a ``pymdownx.superfences`` custom fence."""
    try:
        tex = derivation_of(source)
    except (SymbackpropError, ValueError, TypeError) as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        log.warning("backprop fence: %s", message)
        return (f'<p class="{html.escape(class_name, quote=True)} error">backprop: '
                f"{html.escape(message)}</p>")
    return f'<div class="arithmatex">\\[\n{html.escape(tex, quote=False)}\n\\]</div>'
