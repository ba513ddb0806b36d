"""symbackprop: readable, verified backpropagation derivations.

    import symbackprop as sbp
    d = sbp.derive("(x + y)**2", wrt="x")
    print(d.latex())
"""

from .derive import Derivation, Options, derive
from .errors import (
    GradcheckError,
    GraphError,
    LimitError,
    ParseError,
    ShapeError,
    SymbackpropError,
    UnsupportedError,
)
from .functions import relu, sigmoid, softplus
from .graph import Equation, Graph, validate
from .numeric import gradcheck
from .parse import Limits, parse, parse_latex

__version__ = "0.1.0"

__all__ = [
    "Derivation",
    "Equation",
    "GradcheckError",
    "Graph",
    "GraphError",
    "LimitError",
    "Limits",
    "Options",
    "ParseError",
    "ShapeError",
    "SymbackpropError",
    "UnsupportedError",
    "derive",
    "gradcheck",
    "parse",
    "parse_latex",
    "relu",
    "sigmoid",
    "softplus",
    "validate",
]
