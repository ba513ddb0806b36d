"""The error types a caller can catch: every bad input ends in one of these.

::

    SymbackpropError                  base of everything raised on purpose
    ├── ParseError (ValueError)       text we do not accept; .column (1-based), .text
    │   └── LimitError                text over a resource limit (Limits)
    ├── ShapeError (ValueError)       operands that do not fit; a name with two shapes
    ├── GraphError (ValueError)       not a valid Wengert list; a name that is not an identifier
    ├── OptionError (ValueError)      an option value outside its choices; .choices lists them
    ├── UnsupportedError (NotImplementedError)   a primitive or construct with no rule
    └── GradcheckError (AssertionError)          a gradient that disagrees with the numbers

An unknown option value (``wrt="q"``, ``layout="sideways"``, ``loss=``, ``order=``,
``names=``, a format) is an ``OptionError`` listing the choices. Arguments of the wrong type
(``derive(3)``) and ``values`` missing a name raise ``TypeError`` / ``ValueError`` from
symbackprop's own code, with a message. Nothing else escapes for bad input: no ``KeyError``,
``AttributeError``, ``IndexError`` or ``RecursionError``, and no ``TypeError``/``ValueError``
from inside SymPy or NumPy (``tests/test_errors.py`` holds us to that). See docs/security.md.
"""

from __future__ import annotations

from typing import Any


class SymbackpropError(Exception):
    """Base of every error symbackprop raises on purpose."""


class ParseError(SymbackpropError, ValueError):
    """The text is not an expression we accept; ``column`` is 1-based (0 when unknown)."""

    def __init__(self, message: str, column: int = 0, text: str | None = None) -> None:
        self.column = column
        self.text = text
        where = f" (column {column})" if column else ""
        super().__init__(f"{message}{where}")


class ShapeError(SymbackpropError, ValueError):
    """Operands whose shapes do not fit the operation, or a name with two shapes."""


class UnsupportedError(SymbackpropError, NotImplementedError):
    """A primitive, function or construct that has no rule in the table."""


class GradcheckError(SymbackpropError, AssertionError):
    """A gradient disagrees with the numbers; the message is a table of mismatches."""

    def __init__(self, message: str, rows: tuple[Any, ...] = ()) -> None:
        self.rows = rows
        super().__init__(message)


class LimitError(ParseError):
    """Input over a resource limit (length, depth, exponent, integer size, node count).

    The message names the limit (``Limits.max_depth``, ...) so a caller can raise it.
    """


class OptionError(SymbackpropError, ValueError):
    """An option value outside its vocabulary (a section name); ``choices`` lists the valid ones."""

    def __init__(self, message: str, choices: tuple[str, ...] = ()) -> None:
        self.choices = choices
        super().__init__(message)


class GraphError(SymbackpropError, ValueError):
    """A graph that is not a valid Wengert list: a name bound twice, used before it is bound."""


class UncheckedGradientWarning(UserWarning):
    """``gradcheck``'s ``grad`` left out an input whose gradient is not 0, without ``wrt=``
    to say it is data: only the names ``grad`` returns were checked."""
