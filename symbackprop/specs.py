"""Options written as text, read one way for every front end: ``--shape W1=4x3``,
``--value x=0.5`` and ``--seed`` of the command line, ``:shapes:``/``:values:``/``:dims:``
of the Sphinx directive and ``shapes:``/``values:``/``dims:`` of an MkDocs fence, with the
point a check runs at (given values, sized dimensions, the rest drawn). An error names the
option as its front end spells it."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

from .errors import ShapeError
from .functions import number
from .shapes import axes_of, fmt_shape, shape_of
from .values import array_shape

if TYPE_CHECKING:
    from .derive import Derivation


# How each integration spells its options in messages: the command's flags, the Sphinx
# directive's fields, the MkDocs fence's keys (an error names what the user wrote)
COMMAND = {"shapes": "--shape", "values": "--value", "dims": "--shape", "seed": "--seed"}
SPHINX = {"shapes": ":shapes:", "values": ":values:", "dims": ":dims:", "seed": ":seed:"}
FENCE = {"shapes": "shapes:", "values": "values:", "dims": "dims:", "seed": "seed:"}


def parse_shape(spec: str, spelling: dict[str, str] = COMMAND) -> tuple[str, tuple[Any, ...]]:
    """``W1=4x3``, ``x=3`` (a column vector), ``W=mxn`` or ``W=m,n``, ``lam=scalar``; a
    tensor ``X=Nx3x32x32`` or ``X=(N,3,32,32)``. ``spelling``: how messages name the option
    (``--shape``, the directive's ``:shapes:``, the fence's ``shapes:``)."""
    option = spelling["shapes"]
    name, sep, dims = spec.partition("=")
    if not sep or not name.strip() or not dims.strip():
        raise ShapeError(f"{option} {spec!r}: expected NAME=ROWSxCOLS, e.g. W1=4x3 or x=3")
    dims = dims.strip()
    if dims == "scalar":
        return name.strip(), ()
    if dims.startswith("(") and dims.endswith(")"):  # Python's spelling: (2, 3, 8, 8)
        dims = dims[1:-1].rstrip(",")
    parts = dims.split(",") if "," in dims else dims.split("x")
    out: list[Any] = []
    for p in parts:
        p = p.strip()
        if p.isdigit():
            out.append(int(p))
        elif p.isidentifier():
            out.append(p)
        else:
            raise ShapeError(f"{option} {spec!r}: {p!r} is neither a size nor a name")
    return name.strip(), tuple(out)


# ---------------------------------------------------------------------------------------
# The trace's point, for the Sphinx directive and the MkDocs fence: their :values:, :dims:

def _pairs(text: str, option: str, expected: str) -> Iterator[tuple[str, str, str]]:
    """Each ``NAME=VALUE`` of ``text`` (split at spaces, commas or semicolons): the item as
    written, the name and the value's text; a name given twice is refused."""
    seen: set[str] = set()
    for item in re.split(r"[\s,;]+", text.strip()):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"{option} {item!r}: expected {expected}")
        if name in seen:
            raise ValueError(f"{option} gives {name} twice")
        seen.add(name)
        yield item, name, value


def parse_values(text: str, spelling: dict[str, str] = SPHINX) -> dict[str, float]:
    """``x=1.5 y=-0.25`` (the directive's ``:values:``, the fence's ``values:``): finite
    numbers by name, read by ``float()`` only."""
    option = spelling["values"]
    out = {}
    for item, name, value in _pairs(text, option, "NAME=NUMBER"):
        try:
            number = float(value)  # float() only: never evaluates anything
        except ValueError:
            raise ValueError(f"{option} {item!r}: {value!r} is not a number") from None
        if not math.isfinite(number):  # 1e400 is inf; nan and inf say nothing about a step
            raise ValueError(f"{option} {item!r}: a value must be a finite number (float64 "
                             "holds magnitudes up to about 1.8e308)")
        out[name] = number
    return out


def parse_dims(text: str, spelling: dict[str, str] = SPHINX) -> dict[str, int]:
    """``:dims: B=3 N=2``: the sizes of symbolic dimensions, for the trace."""
    option, expected = spelling["dims"], "NAME=SIZE with SIZE a whole number from 1"
    out = {}
    for item, name, size in _pairs(text, option, expected):
        if not size.strip().isdigit() or int(size) < 1:
            raise ValueError(f"{option} {item!r}: expected {expected}")
        out[name] = int(size)
    return out


def symbolic_dims(d: Derivation) -> list[sp.Symbol]:
    """The derivation's named dimensions (``B`` of ``X=4xB``), in the order of first use."""
    out: list[sp.Symbol] = []
    for s in d.inputs:
        for x in axes_of(shape_of(s)):
            for k in sorted(number(x).free_symbols, key=str):  # (strict: no text)
                if k not in out:
                    out.append(k)
    return out


def trace_dims(d: Derivation, given: dict[str, int],
               spelling: dict[str, str] = SPHINX) -> dict[sp.Symbol, int]:
    """Every named dimension's size: ``given`` (``:dims:``), the rest small sizes drawn as
    ``check()`` draws them (3, 2, 4, ...). A name that is no dimension is an error."""
    from .check.points import SIZES  # the sizes check() gives named dimensions

    names = symbolic_dims(d)
    unknown = sorted(set(given) - {str(k) for k in names})
    if unknown:
        raise ValueError(f"{spelling['dims']} {', '.join(unknown)} is not a dimension of the "
                         "derivation"
                         + (f" (its dimensions: {', '.join(map(str, names))})" if names
                            else " (its shapes are all numeric)"))
    dims: dict[sp.Symbol, int] = {}
    for k in names:
        dims[k] = given[str(k)] if str(k) in given else SIZES[len(dims) % len(SIZES)]
    return dims


def check_given(d: Derivation, given: dict[str, float],
                dims: dict[sp.Symbol, int] | None = None,
                spelling: dict[str, str] = SPHINX) -> None:
    """``:values:`` names scalar inputs of the derivation, and nothing else."""
    option = spelling["values"]
    inputs = {str(s.name): s for s in d.inputs}
    unknown = sorted(set(given) - set(inputs))
    if unknown:
        hint = (f"; a dimension's size goes in {spelling['dims']}"
                if any(u in {str(k) for k in dims or {}} for u in unknown) else "")
        raise ValueError(f"{option} {', '.join(unknown)} is not an input of the expression "
                         f"(inputs: {', '.join(inputs)}){hint}")
    for name in given:
        shape = shape_of(inputs[name])
        if axes_of(shape):
            raise ValueError(f"{option} {name} is an array of shape {fmt_shape(shape)}; {option} "
                             f"gives scalars, the arrays are drawn at random ({spelling['seed']})")


def point(d: Derivation, given: dict[str, float], seed: int,
          dims: dict[sp.Symbol, int] | None = None,
          spelling: dict[str, str] = SPHINX) -> dict[str, Any]:
    """The trace's values: ``given``, the rest random (2 decimals); a cross-entropy target
    gets columns that sum to 1, as its printed gradient softmax(o) - y needs. ``dims``: the
    sizes of named dimensions (``trace_dims``); a scalar input named like a dimension
    (``sum(z)/n``) is its size unless given. A name in ``given`` that is no input is an
    error, as is a value for an array."""
    rng = np.random.default_rng(seed)
    dims = dims or {}
    check_given(d, given, dims, spelling)
    sizes = {str(k): n for k, n in dims.items()}
    out: dict[str, Any] = {}
    from .evaluate import cross_entropy_targets

    targets = cross_entropy_targets(d)
    for s in d.inputs:
        name, shape = str(s.name), shape_of(s)
        if name in given:
            out[name] = given[name]
        elif axes_of(shape):
            try:
                size = array_shape(shape, dims)
            except (TypeError, ValueError, KeyError):
                raise ValueError(f"the trace needs the size of every dimension of {name} "
                                 f"({fmt_shape(shape)}): give it with {spelling['dims']}"
                                 ) from None
            out[name] = np.round(rng.normal(size=size), 2)
            if s in targets:
                p = np.abs(out[name]) + 0.01
                out[name] = p / np.sum(p, axis=0, keepdims=True)
        elif name in sizes:
            out[name] = float(sizes[name])
        else:
            out[name] = round(float(rng.normal()), 2)
    return out
