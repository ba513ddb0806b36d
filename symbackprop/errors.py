"""The error types a caller can catch: every bad input ends in one of these."""

from __future__ import annotations


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

    def __init__(self, message: str, rows: tuple[object, ...] = ()) -> None:
        self.rows = rows
        super().__init__(message)


class LimitError(ParseError):
    """Input over a resource limit (length, depth, exponent, integer size, node count)."""


class GraphError(SymbackpropError, ValueError):
    """A graph that is not a valid Wengert list: a name bound twice, used before it is bound."""
