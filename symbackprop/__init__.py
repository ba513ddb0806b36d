"""symbackprop: readable, verified backpropagation derivations.

    import symbackprop as sbp
    d = sbp.derive("(x + y)**2", wrt="x")
    print(d.latex())
"""

from .builder import Equation
from .check.gradcheck import gradcheck
from .check.report import CheckReport
from .derivation import Options
from .derive import Derivation, Trace, derive, parse_latex
from .errors import (
    GradcheckError,
    GraphError,
    LimitError,
    OptionError,
    ParseError,
    ShapeError,
    SymbackpropError,
    UncheckedGradientWarning,
    UnsupportedError,
)
from .functions import relu, sigmoid, softplus
from .graph import Graph, validate
from .hessians import hessian
from .limits import Limits
from .parse import parse
from .torch_bridge import TorchDerivation, from_torch
from .version import __version__ as __version__

__all__ = [
    "CheckReport",
    "Derivation",
    "Equation",
    "GradcheckError",
    "Graph",
    "GraphError",
    "LimitError",
    "Limits",
    "OptionError",
    "Options",
    "ParseError",
    "ShapeError",
    "SymbackpropError",
    "TorchDerivation",
    "Trace",
    "UncheckedGradientWarning",
    "UnsupportedError",
    "derive",
    "from_torch",
    "gradcheck",
    "hessian",
    "parse",
    "parse_latex",
    "relu",
    "sigmoid",
    "softplus",
    "validate",
]
