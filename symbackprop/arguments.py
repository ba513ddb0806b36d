"""The public calls' arguments checked where they arrive: each output method's options
(sections, flags, whole numbers, names, a trace) and ``derive``'s ``wrt=`` and ``names=``. A
wrong type or value is an ``OptionError`` (or, for an argument without a vocabulary, a
``TypeError``) naming the parameter and the choices, never Python's own message from deep
inside an emitter (``'int' object is not iterable``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from . import evaluate
from .builder import Builder
from .errors import OptionError, ShapeError
from .shapes import fmt_shape, shape_of


def sections_arg(method: str, sections: Any) -> Any:
    from .emit.sections import SECTIONS

    if sections is None or isinstance(sections, str):
        return sections
    if isinstance(sections, Iterable) and not isinstance(sections, (bytes, Mapping)):
        return tuple(sections)  # the names themselves are checked by the emitter
    raise OptionError(f"{method}(): sections must be a section name or a list of them, not "
                      f"{type(sections).__name__} {sections!r:.40}; choose from "
                      f"{', '.join(SECTIONS)}", SECTIONS)


def flag_arg(method: str, name: str, value: Any, choices: tuple[Any, ...]) -> None:
    if not any(value is c or (isinstance(value, str) and value == c) for c in choices):
        words = tuple(repr(c) if isinstance(c, str) else str(c) for c in choices)
        raise OptionError(f"{method}(): {name} must be {or_words(words)}, not {value!r:.40}",
                          words)


def whole_arg(method: str, name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or not low <= value <= high:
        raise OptionError(f"{method}(): {name} must be a whole number from {low} to {high}, "
                          f"not {value!r:.40}", tuple(str(i) for i in range(low, high + 1)))


def text_arg(method: str, name: str, value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{method}(): {name} must be a string (or None), not "
                        f"{type(value).__name__}")


def trace_arg(method: str, value: Any) -> None:
    if value is not None and not isinstance(value, evaluate.Trace):
        raise TypeError(f"{method}(): trace must be a trace made by d.trace(values), or None, "
                        f"not {type(value).__name__}")


def or_words(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def wrt_items(wrt: Any) -> Iterable[Any]:
    """``wrt`` as a collection: one name or symbol, or several."""
    if isinstance(wrt, (str, sp.Basic)):
        return [wrt]
    if not isinstance(wrt, Iterable):
        raise TypeError(f"wrt takes a name, a symbol or a list of them, not "
                        f"{type(wrt).__name__}")
    items = list(wrt)
    for w in items:  # (checked before any is hashed: [["x"]] is not Python's unhashable)
        if not isinstance(w, (str, sp.Symbol, sp.MatrixSymbol)):
            raise TypeError(f"wrt takes names or symbols, not {type(w).__name__} "
                            f"({w!r:.40})")
    return items


def names_arg(names: Any) -> dict[str, str]:
    if names is not None and not isinstance(names, Mapping):
        raise TypeError(f"names takes a dict {{old: new}}, not {type(names).__name__}")
    return dict(names or {})


def asked_inputs(wrt: Any, b: Builder, renamed: Mapping[str, str]) -> tuple[sp.Basic, ...]:
    """The inputs of the expression as written that ``wrt`` names (by its name, or by the
    new one ``names=`` gives it): they stay inputs of the graph when SymPy cancels them
    (x - x + y, 0*x): the gradient in them is 0, not an error (the Hessian of a function
    linear in x is that case)."""
    if wrt is None:
        return ()
    names = {str(w.name) if isinstance(w, (sp.Symbol, sp.MatrixSymbol)) else w
             for w in wrt_items(wrt)}
    names |= {old for old, new in renamed.items() if new in names}
    return tuple(s for s in b.inputs if str(s.name) in names)


def resolve_wrt(wrt: Any, inputs: Sequence[sp.Basic],
                 renamed: Mapping[str, str]) -> list[sp.Basic]:
    """The inputs ``wrt`` names: by name (an input ``names=`` renamed, by either name)."""
    by_name = {str(s.name): s for s in inputs}
    known = ", ".join(sorted(by_name)) or "none"
    by_name |= {old: by_name[new] for old, new in renamed.items()
                if new in by_name and old not in by_name}
    if wrt is None:
        return list(inputs)
    items = wrt_items(wrt)
    out: list[sp.Basic] = []
    seen: set[sp.Basic] = set()  # a set: a list lookup per parameter is quadratic
    for w in items:
        if type(w) is sp.Symbol and by_name.get(w.name) is w:  # the input itself
            if w not in seen:
                seen.add(w)
                out.append(w)
            continue
        name = str(w.name) if isinstance(w, (sp.Symbol, sp.MatrixSymbol)) else w
        if not isinstance(name, str):
            raise TypeError(f"wrt takes symbols or names, not {type(w).__name__}")
        if name not in by_name:
            hint = "; λ and \\lambda are the name lam (lambda is Python's keyword)" if (
                name == "lambda" and "lam" in by_name) else ""
            raise OptionError(f"wrt={name!r} is not an input of the expression (inputs: "
                              f"{known}{hint})", tuple(sorted(str(s.name) for s in inputs)))
        if isinstance(w, sp.MatrixSymbol) and shape_of(w) != shape_of(by_name[name]):
            raise ShapeError(f"wrt {name} is {fmt_shape(shape_of(w))} but the expression has "
                             f"{fmt_shape(shape_of(by_name[name]))}")
        if by_name[name] not in seen:
            seen.add(by_name[name])
            out.append(by_name[name])
    return out
