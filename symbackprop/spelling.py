"""NumPy's spellings of the text's functions: code pasted from NumPy reads as the text.

``np.tanh(x)``, ``np.linalg.norm(v)``, ``np.pi`` and the array methods ``X.sum(axis=0)``,
``X.reshape(2, 3)``, ``A.dot(B)`` are renamed, in the syntax tree, to the text's
``tanh(x)``, ``norm(v)``, ``pi``, ``sum(X, axis=0)``, ``reshape(X, (2, 3))``,
``dot(A, B)`` before the parser's whitelist checks the node. Nothing is evaluated and no
other attribute is read: what is not renamed is refused by the whitelist as before.
"""

from __future__ import annotations

import ast
from collections.abc import Collection

_MODULES = frozenset({"np", "numpy", "math", "torch", "jnp", "F", "sp", "scipy", "jax"})
_SUBMODULES = frozenset({"linalg", "special", "nn", "functional", "numpy"})  # jax.numpy
# NumPy's other names of the text's functions (np.amax is np.max)
_SYNONYMS = {"amax": "max", "amin": "min", "absolute": "abs", "fabs": "abs"}
_METHODS = frozenset({"sum", "mean", "var", "std", "max", "min", "prod", "cumsum", "cumprod",
                      "dot", "flatten", "ravel", "transpose", "reshape"})


def numpy_spelling(node: ast.AST, functions: Collection[str]) -> None:
    """NumPy's spellings read as the text's, in place, before the whitelist sees them:
    ``np.tanh(x)`` is ``tanh(x)``, ``np.pi`` is ``pi`` (``np.inf`` ``inf``), and the array methods
    ``X.sum(axis=0)``, ``X.reshape(2, 3)``, ``A.dot(B)`` are ``sum(X, axis=0)``,
    ``reshape(X, (2, 3))``, ``dot(A, B)``. Nothing is evaluated: names are renamed."""
    def constant(v: object) -> object:  # np.pi, math.inf: the names pi, inf
        if isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and \
                v.value.id in _MODULES and v.attr in ("pi", "inf"):
            return ast.copy_location(ast.Name(v.attr, ast.Load()), v)
        return v

    for field, value in ast.iter_fields(node):
        if isinstance(value, list):
            value[:] = [constant(v) for v in value]
        elif constant(value) is not value:
            setattr(node, field, constant(value))
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return
    f = node.func
    module = f.value
    while isinstance(module, ast.Attribute) and module.attr in _SUBMODULES:
        module = module.value  # np.linalg.inv(A), scipy.special.expit(x), torch.nn.functional
    if isinstance(module, ast.Name) and module.id in _MODULES:
        name = _SYNONYMS.get(f.attr, f.attr)
        if name in functions:
            node.func = ast.copy_location(ast.Name(name, ast.Load()), f)
        return
    if f.attr in _METHODS:
        args = list(node.args)
        if f.attr == "reshape" and len(args) > 1:  # X.reshape(2, 3): the shape as one tuple
            args = [ast.copy_location(ast.Tuple(args, ast.Load()), args[0])]
        node.func = ast.copy_location(ast.Name(f.attr, ast.Load()), f)
        node.args = [f.value, *args]
