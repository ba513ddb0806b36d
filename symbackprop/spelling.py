"""NumPy's spellings of the text's functions: code pasted from NumPy reads as the text.

``np.tanh(x)``, ``np.linalg.norm(v)``, ``np.pi`` and the array methods ``X.sum(axis=0)``,
``X.reshape(2, 3)``, ``A.dot(B)`` are renamed, in the syntax tree, to the text's
``tanh(x)``, ``norm(v)``, the number π, ``sum(X, axis=0)``, ``reshape(X, (2, 3))``,
``dot(A, B)`` before the parser's whitelist checks the node. Nothing is evaluated and no
other attribute is read: what is not renamed is refused by the whitelist as before.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Collection
from typing import Any

from .shapes import fmt_shape, tensor_dims

_MODULES = frozenset({"np", "numpy", "math", "torch", "jnp", "F", "sp", "scipy", "jax"})
_SUBMODULES = frozenset({"linalg", "special", "nn", "functional", "numpy"})  # jax.numpy
# NumPy's other names of the text's functions (np.amax is np.max)
_SYNONYMS = {"amax": "max", "amin": "min", "absolute": "abs", "fabs": "abs"}
_METHODS = frozenset({"sum", "mean", "var", "std", "max", "min", "prod", "cumsum", "cumprod",
                      "dot", "flatten", "ravel", "transpose", "reshape"})


# the reductions whose second positional argument is the axis (NumPy's, SciPy's, JAX's) or
# the dim (PyTorch's): np.sum(X, 0) is sum(X, axis=0)
_AXIS_SECOND = frozenset({"sum", "mean", "var", "std", "prod", "cumsum", "cumprod", "max",
                          "min", "softmax", "log_softmax", "logsumexp", "flip"})
# where a library's default axis for a matrix is not the text's (each column): refused for a
# matrix without one (the parser reads ``library_default`` on the call)
_DEFAULT_AXIS = {
    ("torch", "softmax"): "PyTorch's softmax needs dim= (F.softmax without it takes each row "
                          "of a matrix, with a warning)",
    ("torch", "log_softmax"): "PyTorch's log_softmax needs dim= (without it, each row of a "
                              "matrix, with a warning)",
    ("torch", "logsumexp"): "PyTorch's logsumexp needs dim=",
    ("torch", "cross_entropy"): "PyTorch's cross_entropy takes a row per sample (N, C) and "
                                "averages over them; the text's takes a column per sample "
                                "and sums: write cross_entropy(X.T, Y.T) / N",
    ("jax.nn", "softmax"): "jax.nn.softmax normalises each row of a matrix (axis=-1)",
    ("jax.nn", "log_softmax"): "jax.nn.log_softmax normalises each row of a matrix (axis=-1)",
    ("jax.nn", "logsumexp"): "jax.nn.logsumexp takes every entry of a matrix (axis=None)",
    ("scipy", "softmax"): "scipy.special.softmax normalises every entry of a matrix together "
                          "(axis=None)",
    ("scipy", "log_softmax"): "scipy.special.log_softmax takes every entry of a matrix "
                              "together (axis=None)",
    ("scipy", "logsumexp"): "scipy.special.logsumexp takes every entry of a matrix (axis=None)",
}


# a library's keyword for what the text takes second, and its default (PyTorch's and
# jax.nn's documented signatures): F.elu(X, alpha=0.5) is elu(X, 0.5), F.leaky_relu(X)
# leaky_relu(X, 0.01); the text's elu and celu take α = 1 without it
_PARAMETER: dict[tuple[str, str], tuple[str, float | None]] = {
    (family, name): param for family in ("torch", "jax.nn") for name, param in (
        ("leaky_relu", ("negative_slope", 0.01)), ("elu", ("alpha", None)),
        ("celu", ("alpha", None)))}


def _family(path: list[str]) -> str:
    """The library a dotted call names: numpy (np, jnp, jax.numpy), torch (torch, F),
    jax.nn, scipy, math or sp."""
    root = path[0]
    if root in ("torch", "F"):
        return "torch"
    if root == "jax":
        return "jax.nn" if "nn" in path else "numpy"
    return "numpy" if root in ("np", "numpy", "jnp") else root


def _is_axis(v: ast.expr) -> bool:
    """An axis written as a literal: 1, -1, or a tuple of them."""
    if isinstance(v, ast.UnaryOp) and isinstance(v.op, (ast.USub, ast.UAdd)):
        v = v.operand
    if isinstance(v, ast.Tuple):
        return bool(v.elts) and all(_is_axis(e) for e in v.elts)
    return isinstance(v, ast.Constant) and type(v.value) is int


def _keyword(node: ast.Call, name: str) -> ast.keyword | None:
    return next((k for k in node.keywords if k.arg == name), None)


def _is_const(k: ast.keyword | None, *values: object) -> bool:
    return k is not None and isinstance(k.value, ast.Constant) and any(
        k.value.value is v or (type(k.value.value) is type(v) and k.value.value == v)
        for v in values)


def _library_call(node: ast.Call, family: str, called: str, name: str,
                  method: bool = False) -> str | None:
    """The library's meaning of a call read as the text's ``name``, made explicit in place
    (its axis or dim as ``axis=``, SciPy's huber(δ, r) as huber(r, δ)); why it is refused
    where its meaning is not the text's and cannot be written as it (None: it may be read).
    ``method``: a tensor's method (``X.var()``) in code that uses PyTorch's calls.
    """
    if family == "torch":
        _torch_keywords(node)
        if name in ("std", "var") and len(node.args) == 3 and isinstance(
                node.args[2], ast.Constant) and type(node.args[2].value) is bool:
            # torch.var(X, 1, False): the third is unbiased
            node.keywords.append(ast.copy_location(ast.keyword("unbiased", node.args[2]),
                                                   node.args[2]))
            node.args = node.args[:2]
    if name in ("ones", "zeros"):
        return _sizes(node, called)
    if name in ("max", "min") and len(node.args) == 2 and _keyword(node, "axis") is None:
        second = node.args[1]
        if family == "torch" and called in ("max", "min"):
            if _is_axis(second):  # torch.max(X, 1) is a (values, indices) pair
                return (f"torch.{called}(X, dim) gives (values, indices); for the "
                        f"values write torch.a{called}(X, {ast.unparse(second)})")
            return None  # torch.max(a, b): the larger of each pair, as the text's max(a, b)
        if family in ("numpy", "method") and not _is_axis(second):  # np.max(a, b): an error
            pair = ("np." if family == "numpy" else "") + (  # in NumPy: b is the axis
                "maximum" if name == "max" else "minimum")
            return (f"NumPy's second argument is the axis; the "
                    f"{'larger' if name == 'max' else 'smaller'} of each pair is "
                    f"{pair}(a, b)")
    if family == "torch" and called in ("max", "min") and _keyword(node, "axis") is not None:
        return (f"torch.{called}(X, dim=k) gives (values, indices); for the values "
                f"write torch.a{called}(X, dim=k)")
    if name in _AXIS_SECOND and len(node.args) == 2 and _is_axis(node.args[1]) \
            and _keyword(node, "axis") is None and family in ("numpy", "torch", "jax.nn",
                                                               "scipy", "method") \
            and not (name == "flip" and family == "torch"):  # torch.flip(X, dims): a tuple
        axis = node.args[1]
        if isinstance(axis, ast.UnaryOp) and isinstance(axis.op, ast.UAdd):
            axis = axis.operand  # np.max(X, +1)
        node.keywords.append(ast.copy_location(ast.keyword("axis", axis), node.args[1]))
        node.args = node.args[:1]
    if name in ("std", "var"):
        if family == "torch":  # Bessel's correction by default: n − 1
            kw = _keyword(node, "unbiased") or _keyword(node, "correction")
            if not (_is_const(_keyword(node, "unbiased"), False)
                    or _is_const(_keyword(node, "correction"), 0)):
                what = f"the tensor method .{name}()" if method else f"torch.{name}"
                return (f"{what} divides by n − 1 by default in PyTorch (Bessel's "
                        f"correction); the text's {name} is NumPy's, dividing by n: write "
                        "unbiased=False (or correction=0)")
            node.keywords.remove(kw)  # type: ignore[arg-type]
        ddof = _keyword(node, "ddof")
        if ddof is not None:
            if not _is_const(ddof, 0):
                return (f"the text's {name} divides by n (ddof=0); ddof= other than "
                        "0 is not read")
            node.keywords.remove(ddof)
    if family == "torch" and name in _MEAN_LOSSES:
        how = _keyword(node, "reduction")
        if how is not None:
            if not _is_const(how, "mean"):
                return (f"{called}'s reduction= other than 'mean' is not read (the text's "
                        f"{name} is the mean): write sum(...) of the terms, or the mean times "
                        "their count")
            node.keywords.remove(how)
    if name == "gelu":
        approx = _keyword(node, "approximate")
        exact = _is_const(approx, False) if family == "jax.nn" else (
            approx is None or _is_const(approx, "none"))
        if not exact:
            return ("the text's gelu is the exact x·Φ(x); "
                    + ("jax.nn.gelu is the tanh approximation unless approximate=False"
                       if family == "jax.nn" else "the tanh approximation is not read"))
        if approx is not None:
            node.keywords.remove(approx)
    if (family, name) in _PARAMETER and len(node.args) == 1:
        key, fallback = _PARAMETER[family, name]
        given = _keyword(node, key)
        if given is not None:
            node.keywords.remove(given)
            node.args.append(given.value)
        elif fallback is not None:
            node.args.append(ast.copy_location(ast.Constant(fallback), node))
    if family == "scipy" and name == "huber" and len(node.args) == 2:
        node.args = node.args[::-1]  # scipy.special.huber(delta, r)
    node.library = family  # type: ignore[attr-defined]  # its axes are NumPy's (parse.py)
    default = _DEFAULT_AXIS.get((family, name))
    if default is not None and _keyword(node, "axis") is None:
        node.library_default = default + (  # type: ignore[attr-defined]
            "" if name == "cross_entropy" else
            f"; write {'dim' if family == 'torch' else 'axis'}=0 for each column or =1 for "
            "each row")
    if name in _REDUCING and _keyword(node, "axis") is not None and family in _AXIS_FAMILIES:
        keep = _keyword(node, "keepdims")
        if keep is None or _is_const(keep, False):
            if keep is not None:
                node.keywords.remove(keep)
            _drop_axes(node)
    return None


_AXIS_FAMILIES = frozenset({"numpy", "torch", "jax.nn", "scipy", "method"})
# PyTorch's losses the text reads as their mean (reduction='mean', PyTorch's default)
_MEAN_LOSSES = frozenset({"mse_loss", "binary_cross_entropy",
                          "binary_cross_entropy_with_logits"})


def _sizes(node: ast.Call, called: str) -> str | None:
    """A library's ``ones``/``zeros`` with its shape given as ``shape=`` (``size=``) as one
    tuple, which the parser reads as the text's two sizes (``ones((m, n))``); one size is
    NumPy's 1-D array, which the text has no constant for: refused with the column to
    write."""
    shape = _keyword(node, "shape") or _keyword(node, "size")
    if shape is not None and not node.args:
        node.keywords.remove(shape)
        node.args = [shape.value]
    if len(node.args) != 1:
        return None  # torch.ones(m, n): the text's own
    sizes = node.args[0].elts if isinstance(node.args[0], (ast.Tuple, ast.List)) else \
        [node.args[0]]
    if len(sizes) == 1:
        n = ast.unparse(sizes[0])
        return (f"{called}({n}) is a 1-D array ({n},), which the text holds as a column: "
                f"give it the shape ({n}, 1) for the column, or (1, {n}) for NumPy's row "
                "reading")
    return None  # two sizes: the parser's; more: the parser says what it takes


def _drop_axes(node: ast.Call) -> None:
    """A library's reduction along axes, which drops them (NumPy's, PyTorch's, JAX's without
    keepdims), rewritten in place as the text's reduction, which keeps them with length 1,
    inside ``squeeze`` along the same axes: ``np.sum(X, axis=1)`` is
    ``squeeze(sum(X, axis=1), axis=1)``, of a tensor (2, 3, 4) the (2, 4) NumPy gives. (Of a
    matrix, squeeze leaves the row or column: ``library_call_problem`` refuses what NumPy
    would read otherwise.)"""
    inner = ast.copy_location(ast.Call(node.func, node.args, node.keywords), node)
    inner.library = node.library  # type: ignore[attr-defined]
    del node.library  # type: ignore[attr-defined]
    axis = _keyword(inner, "axis")
    assert axis is not None
    node.func = ast.copy_location(ast.Name("squeeze", ast.Load()), node.func)
    node.args = [inner]
    node.keywords = [ast.copy_location(ast.keyword("axis", copy.deepcopy(axis.value)), axis)]


def _number_pi(at: ast.AST) -> ast.AST:
    """A library's π (``np.pi``, ``math.pi``, ``torch.pi``) as ``arccos(-1)``, which SymPy
    makes the number π: the name ``pi`` would be the user's variable when one is declared
    (the text reads ``pi`` as π only while it is not bound), and a library's constant is
    always the number."""
    one = ast.copy_location(ast.Constant(1), at)
    minus = ast.copy_location(ast.UnaryOp(ast.USub(), one), at)
    func = ast.copy_location(ast.Name("arccos", ast.Load()), at)
    return ast.copy_location(ast.Call(func, [minus], []), at)


def _torch_norm(node: ast.Call) -> None:
    """``torch.norm(X, p)`` is the p-norm of every entry of X (the flattened tensor, whatever
    its rank: p = 1 is Σ|x|, inf max |x|, 2 the Frobenius norm), not NumPy's matrix norm
    (torch.linalg.norm's): written ``norm(flatten(X), p)``, ``p=`` as ``ord=``."""
    for k in node.keywords:
        if k.arg == "p":
            k.arg = "ord"
    given = len(node.args) > 1 or _keyword(node, "ord") is not None
    if node.args and given:
        x = node.args[0]
        node.args[0] = ast.copy_location(
            ast.Call(ast.copy_location(ast.Name("flatten", ast.Load()), x), [x], []), x)


def _torch_keywords(node: ast.Call) -> None:
    """PyTorch's ``dim=`` and ``keepdim=`` renamed ``axis=`` and ``keepdims=``, in place."""
    for k in node.keywords:
        k.arg = {"dim": "axis", "keepdim": "keepdims"}.get(k.arg or "", k.arg)


def _root(e: ast.expr) -> ast.expr:
    """The name a dotted expression starts with (``torch`` of ``torch.nn.functional.relu``)."""
    while isinstance(e, ast.Attribute):
        e = e.value
    return e


def unread_call_hint(func: ast.expr, functions: Collection[str]) -> str:
    """What to write for a library's call or a method the text does not read: the text's
    function of that name without underscores (``F.max_pool2d`` is ``maxpool2d``), else
    where the calls that are read are listed."""
    if not isinstance(func, ast.Attribute):
        return ""
    root = _root(func.value)
    plain = func.attr.replace("_", "").lower()
    if plain in functions and plain != func.attr:
        return (f": the text's function is {plain}(...) (its arguments as "
                "docs/vocabulary.md gives them)")
    if isinstance(root, ast.Name) and root.id in _MODULES:
        return (f": {func.attr} is not among the library calls read (docs/writing-"
                "expressions.md lists them; docs/vocabulary.md the text's functions)")
    return (f": the method .{func.attr}() is not read (of the array methods, "
            f"{', '.join(sorted(_METHODS))} are); call the text's function by its name")


def _swap(written: str) -> str:
    """Why PyTorch's transpose of two dims is refused: the text's transpose takes the whole
    order of the axes (NumPy's), and the rank is not known where the call is read."""
    return (f"{written} swaps two dims in PyTorch; the text's transpose takes the order of "
            "all the axes, as NumPy's: write X.T (or transpose(X)) for a matrix, "
            "transpose(X, (0, 2, 1)) for a rank-3 X swapping its last two")


def uses_torch(tree: ast.AST) -> bool:
    """Whether code calls PyTorch (``torch.…``, ``F.…``): its tensors' methods are
    PyTorch's then (``X.var()`` divides by n − 1)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            root = _root(node.func.value)
            if isinstance(root, ast.Name) and root.id in ("torch", "F"):
                return True
    return False


def numpy_spelling(node: ast.AST, functions: Collection[str], torch: bool = False
                   ) -> str | None:
    """NumPy's spellings read as the text's, in place, before the whitelist sees them:
    ``np.tanh(x)`` is ``tanh(x)``, ``np.pi`` is the number π (``arccos(-1)``, never a declared
    ``pi``; ``np.inf`` is ``inf``), and the array methods
    ``X.sum(axis=0)``, ``X.reshape(2, 3)``, ``A.dot(B)`` are ``sum(X, axis=0)``,
    ``reshape(X, (2, 3))``, ``dot(A, B)``. A library's call means what it means there:
    ``np.max(X, 0)`` is ``max(X, axis=0)``, ``torch.std(X)`` (n − 1) is refused, and so is
    ``X.std()`` where the code calls PyTorch (``torch``). Nothing is evaluated: names are
    renamed. Returns why the call is refused, or None."""
    def constant(v: object) -> object:  # np.pi, math.inf: the number π, the name inf
        if isinstance(v, ast.Attribute) and isinstance(v.value, ast.Name) and \
                v.value.id in _MODULES and v.attr in ("pi", "inf"):
            if v.attr == "pi":
                return _number_pi(v)
            return ast.copy_location(ast.Name(v.attr, ast.Load()), v)
        return v

    for field, value in ast.iter_fields(node):
        if isinstance(value, list):
            value[:] = [constant(v) for v in value]
        elif constant(value) is not value:
            setattr(node, field, constant(value))
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
        return None
    f = node.func
    module = f.value
    path: list[str] = []
    while isinstance(module, ast.Attribute) and module.attr in _SUBMODULES:
        path.insert(0, module.attr)
        module = module.value  # np.linalg.inv(A), scipy.special.expit(x), torch.nn.functional
    if isinstance(module, ast.Name) and module.id in _MODULES:
        name = _SYNONYMS.get(f.attr, f.attr)
        if name in functions:
            if module.id == "torch" and name.endswith("_with_logits") and not path:
                return (f"torch.{name}(...) is ATen's, with no reduction; PyTorch's loss "
                        f"(the mean) is F.{name}")
            node.func = ast.copy_location(ast.Name(name, ast.Load()), f)
            if module.id == "torch" and not path and name == "norm":
                _torch_norm(node)
            if module.id == "torch" and name == "transpose" and len(node.args) == 3:
                return _swap(f"torch.transpose(X, {ast.unparse(node.args[1])}, "
                             f"{ast.unparse(node.args[2])})")
            return _library_call(node, _family([module.id, *path]), f.attr, name)
        return None
    if f.attr in _METHODS:
        args = list(node.args)
        if f.attr == "transpose" and len(args) >= 2 and torch:  # (PyTorch takes two)
            return _swap(f"X.transpose({', '.join(map(ast.unparse, args))})")
        if f.attr in ("reshape", "transpose") and len(args) > 1:
            # X.reshape(2, 3), NumPy's X.transpose(1, 0, 2): the shape or axes as one tuple
            args = [ast.copy_location(ast.Tuple(args, ast.Load()), args[0])]
        node.func = ast.copy_location(ast.Name(f.attr, ast.Load()), f)
        node.args = [f.value, *args]
        if torch and f.attr in ("var", "std"):  # PyTorch's tensor method: n − 1
            return _library_call(node, "torch", f.attr, f.attr, method=True)
        if torch:  # X.sum(dim=1, keepdim=True): PyTorch's names of axis= and keepdims=
            _torch_keywords(node)
        return _library_call(node, "method", f.attr, f.attr)
    return None


# ---------------------------------------------------------------------------------------
# A library's meaning that only shapes tell apart from the text's (the parser asks, with them)

_REDUCING = frozenset({"sum", "mean", "var", "std", "prod", "max", "min", "logsumexp"})
# (an axis that goes: not cumsum, flip, softmax)


def library_call_problem(node: ast.Call, shape: Any, axis: Any, two_d: bool = False
                         ) -> str | None:
    """Why a library's call (marked by ``numpy_spelling``) of an operand of ``shape`` is
    refused, None when the text's reading is the library's: a default axis that is not the
    text's, for a matrix (``jax.nn.softmax(X)``: its rows); NumPy's axis, which the text's
    cannot say of two shapes: a vector is a column here (NumPy's 1-D x has one axis:
    np.sum(x, -1) is its total, not the column's rows). ``two_d``: the operand is known to
    be NumPy's 2-D (an input declared (1, n) or (n, 1)), whose axis of length 1 is NumPy's
    too."""
    if shape is None or tensor_dims(shape) is not None:
        return None
    default = getattr(node, "library_default", None)
    if default is not None and shape[0] != 1 and shape[1] != 1:
        return str(default)
    if getattr(node, "library", None) is None or not isinstance(axis, int):
        return None
    assert isinstance(node.func, ast.Name)
    k = axis % 2
    if shape[k] == 1 and shape[1 - k] != 1 and not two_d:
        return (f"along the axis of length 1 of {fmt_shape(shape)}, a vector the text holds "
                "as a column or a row, and does not tell here whether NumPy's is 1-D (whose "
                "axis is its only one) or 2-D: write "
                f"{node.func.id}(x) for the whole vector; along the axis of length 1 of an "
                "input declared 2-D, name it")
    return None  # (a reduction along axis 1 is NumPy's 1-D, held as a column: numpy_ranks)


def pasted_product_problem(pasted: str | None, shapes: list[Any]) -> str | None:
    """``*`` between matrices is the text's matrix product, as on paper; in code written
    with a library's call (``pasted``: ``np.sum(np.exp(A) * A)``) NumPy's and PyTorch's
    ``*`` is element-wise, so the readings differ: why it is refused, or None (a column
    times a row is the outer product in both)."""
    if pasted is None:
        return None
    mats = [s for s in shapes if s is not None and tensor_dims(s) is None and s != (1, 1)]
    if len(mats) < 2 or (len(mats) == 2 == len(shapes) and mats[0][1] == 1
                         and mats[1][0] == 1):
        return None
    return (f"'*' between matrices ({', '.join(map(fmt_shape, mats))}) is the matrix product "
            f"in the text, but this text uses a library's call ({pasted}), where * is "
            "element-wise: write hadamard(a, b) (or ⊙) for NumPy's *, a @ b for the product")
