"""The expression printer of generated code: an expression as NumPy code (``numpy=True``)
or as plain symbackprop text, with the table of NumPy functions each primitive calls and
the helper functions (``step``, ``log_softmax``, ``embed``, ``tensor_op``, ...) the code
defines when it calls them. ``python.py`` lays out the NumPy function around it,
``framework_printer.py`` swaps its array namespace for PyTorch's or JAX's, and ``json.py``
writes the text with it. It only writes text: it never runs it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy import HadamardPower, HadamardProduct, MatAdd, MatMul, OneMatrix, Transpose
from sympy.matrices.expressions.special import Identity, ZeroMatrix
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from ..algebra import is_matrix
from ..errors import UnsupportedError
from ..functions import MSE, CrossEntropy, Elementwise, Item, Softmax, SqNorm, SumAll
from ..recognise import node_operands
from ..rules import BY_NODE, BY_SYMPY, RULES
from ..shapes import Extent, axes_of
from ..structural import text_span as _text_span
from ..tensor_nodes import TensorJVP, TensorOp, TensorVJP
from .latex_forms import sides

if TYPE_CHECKING:
    pass

# name -> (NumPy code, plain name), from the primitives' declarations, and SymPy's own
# spellings of them; the helpers needed are added to the module text
FUNCS: dict[str, tuple[str, str]] = {
    **{n: (r.code, n) for n, r in RULES.items() if r.code},
    "Abs": ("np.abs", "abs"), "Max": ("np.maximum", "max"), "Min": ("np.minimum", "min"),
    "sign": ("np.sign", "sign"), "Heaviside": ("step", "step"),
}

HELPERS: dict[str, str] = {
    **{r.code: r.helper for r in RULES.values() if r.helper},
    "step": "def step(x):\n    return np.heaviside(x, 0.5)  # SymPy's Heaviside: max's slope\n",
    "log_softmax": ("def log_softmax(o):\n"
                   "    s = o - np.max(o, axis=0, keepdims=True)  # per column, shifted\n"
                   "    return s - np.log(np.sum(np.exp(s), axis=0, keepdims=True))\n"),
    "softmax": "def softmax(o):\n    return np.exp(log_softmax(o))\n",
    "logsumexp_along": ("def logsumexp_along(x, axis):  # shifted by the largest entry\n"
                        "    m = np.max(x, axis=axis, keepdims=True)\n"
                        "    m = np.where(np.isfinite(m), m, 0.0)\n"
                        "    return m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))"
                        "\n"),
    "shared": ("def shared(hit, axis):  # where the max is, ties sharing its slope\n"
               "    hit = hit.astype(float)\n"
               "    return hit / np.sum(hit, axis=axis, keepdims=True)\n"),
}
HELPERS.update({  # the backward passes of slices and Kronecker products
    "embed": ("def embed(g, like, at):\n    out = np.zeros_like(like)  # g placed at the slice\n"
              "    out[at] = g\n    return out\n"),
    "kron_left": ("def kron_left(g, b):  # entry (i, j): <block (i, j) of g, b>\n"
                  "    (p, q), (r, c) = b.shape, g.shape\n"
                  "    return np.einsum('ipjq,pq->ij', g.reshape(r // p, p, c // q, q), b)\n"),
    "kron_right": ("def kron_right(g, a):  # the blocks of g weighted by a's entries\n"
                   "    (m, n), (r, c) = a.shape, g.shape\n"
                   "    return np.einsum('ipjq,ij->pq', g.reshape(m, r // m, n, c // n), a)\n"),
    # the n-D primitives run with symbackprop's own NumPy (tensor_nodes.py), imported
    "tensor_op": ("from symbackprop.tensor_nodes import TENSOR_RULES\n\n\n"
                  "def tensor_op(name, *xs, **params):\n"
                  "    return TENSOR_RULES[name].forward(*xs, **params)\n"),
    "tensor_vjp": ("def tensor_vjp(name, k, g, out, *xs, **params):  # dL/d(operand k)\n"
                   "    return TENSOR_RULES[name].vjp(g, out, *xs, **params)[k]\n"),
    "tensor_jvp": ("from symbackprop.tensor_nodes import NUMERIC_JVPS\n\n\n"
                   "def tensor_jvp(name, dot, out, *xs, **params):  # the output's tangent\n"
                   "    return NUMERIC_JVPS[name](dot, out, *xs, **params)\n"),
})
HELPER_NEEDS = {"softmax": ("log_softmax",), "tensor_vjp": ("tensor_op",)}


def call(code: str, name: str, args: list[str]) -> str:
    """``code(args)``; SymPy's n-ary Max and Min pairwise (NumPy's maximum takes two)."""
    pairwise = name in ("Max", "Min", "max", "min")
    out = f"{code}({', '.join(args[:2] if pairwise else args)})"
    for a in args[2:] if pairwise else ():
        out = f"{code}({out}, {a})"
    return out


def float_literal(e: sp.Rational) -> str:
    """A number as a Python float literal (beyond the floats, ``float("inf")`` signed)."""
    try:
        return repr(float(e))
    except OverflowError:
        return ("-" if e < 0 else "") + 'float("inf")'


class CodePrinter(StrPrinter):  # type: ignore[misc]
    """Expressions as NumPy code (``numpy=True``) or as plain symbackprop text."""

    printmethod = "_symbackprop_code"  # not _sympystr: our classes' own str forms differ
    # an integer this large or larger is written as the float it is in the arithmetic (a
    # Python int times a float64 is rounded so): an exact int of 2**70 overflows PyTorch's
    # and JAX's integer types; smaller ones stay exact and readable
    int_limit = 2**53

    def __init__(self, names: Mapping[sp.Basic, str], numpy: bool = True,
                 like: Mapping[tuple[Any, Any], str] | None = None,
                 display: bool = False) -> None:
        super().__init__({"full_prec": False})
        self.names = dict(names)
        self.numpy = numpy
        self.display = display  # labels for people (DOT): softmax_col(Z), not re-parseable
        self.like = dict(like or {})  # shape -> a variable of that shape (for np.ones_like)
        self.used: set[str] = set()

    def _name(self, e: sp.Basic) -> str:
        if e in self.names:
            return str(self.names[e])
        return str(e.name)

    def _print_Symbol(self, e: sp.Symbol) -> str:
        return self._name(e)

    def _print_MatrixSymbol(self, e: sp.MatrixSymbol) -> str:
        return self._name(e)

    def _print_Integer(self, e: sp.Integer) -> str:
        if self.numpy and not self.display and abs(int(e)) >= self.int_limit:
            return float_literal(e)
        return super()._print_Integer(e)  # type: ignore[no-any-return]

    def _print_Rational(self, e: sp.Rational) -> str:
        if self.numpy and not self.display and max(abs(int(e.p)), int(e.q)) >= self.int_limit:
            return float_literal(e)
        return super()._print_Rational(e)  # type: ignore[no-any-return]

    def _print_Mul(self, e: sp.Mul) -> str:
        """A product; a coefficient p/q too large for exact ints one float, not p and q
        rounded apart (their quotient: of 3**700/3**699 inf/inf)."""
        c, rest = e.as_coeff_Mul()
        if self.numpy and not self.display and isinstance(c, sp.Rational) and not \
                c.is_Integer and max(abs(int(c.p)), int(c.q)) >= self.int_limit:
            return f"{float_literal(c)}*{self.parenthesize(rest, PRECEDENCE['Mul'])}"
        return super()._print_Mul(e)  # type: ignore[no-any-return]

    def floating(self, value: sp.Basic) -> str:
        """A number (a value of no array: an output or a gradient that cancelled to a
        constant) as a float of the inputs' dtype, as returned code gives every value."""
        return f"np.float64({self.doprint(value)})"

    def _print_Exp1(self, e: Any) -> str:
        return "np.e" if self.numpy else "E"

    def _print_Pi(self, e: Any) -> str:
        return "np.pi" if self.numpy else "pi"

    def _print_Infinity(self, e: Any) -> str:  # a masked branch of where (where(M, S, -inf))
        return 'float("inf")' if self.numpy else "inf"  # the same in PyTorch's and JAX's code

    def _print_NegativeInfinity(self, e: Any) -> str:
        return f"-{self._print_Infinity(e)}"

    def _print_NumberSymbol(self, e: Any) -> str:
        """SymPy's other named constants (EulerGamma, GoldenRatio, Catalan, ...): NumPy has
        no name for them, so the code holds their value."""
        return f"{float(e)!r}" if self.numpy else str(e)

    _print_EulerGamma = _print_GoldenRatio = _print_Catalan = _print_NumberSymbol
    _print_TribonacciConstant = _print_NumberSymbol

    def _func(self, name: str, args: list[str]) -> str:
        if name not in FUNCS:
            raise UnsupportedError(f"no code form for the function {name}")
        code, plain = FUNCS[name]
        if name == "Heaviside":
            args = args[:1]  # SymPy's H(x, 1/2): the value at 0 is part of step()
        if not self.numpy:
            return f"{plain}({', '.join(args)})"
        if code in HELPERS:
            self.used.add(code)
        return call(code, name, args)

    def _print_Heaviside(self, e: sp.Basic) -> str:
        """NumPy's ``step`` helper (H(0) = ½); in the text, whose step is 𝟏[x > 0] (0 at
        0), the mean of the strict and the non-strict comparison: ``(a > b)/2 + (a >= b)/2``
        (with a given H(0) of 0, ``(a > b)`` alone)."""
        if self.numpy or self.display:
            return self._print_Function(e)
        return self._half_step(e.args[0], e.args[1] if len(e.args) > 1 else sp.S.Half)

    def _half_step(self, x: sp.Basic, at0: sp.Basic) -> str:
        left, right = (self._factor(a) for a in sides(x))
        if at0 == 0:
            return f"({left} > {right})"
        if at0 == sp.S.Half:
            return f"({left} > {right})/2 + ({left} >= {right})/2"
        w = self.parenthesize(at0, PRECEDENCE["Mul"])
        return f"({left} > {right}) + {w}*(({left} >= {right}) - ({left} > {right}))"

    def _sum_form(self, e: sp.Basic) -> bool:
        """Whether the text writes ``e`` as a sum (max's slope, above): bracketed as an
        operand."""
        return not self.numpy and not self.display and (
            (isinstance(e, sp.Heaviside) and (len(e.args) < 2 or e.args[1] != 0))
            or (isinstance(e, Elementwise) and e.name == "Heaviside"))

    def _print_Function(self, e: sp.Function) -> str:
        name = BY_SYMPY.get(type(e), type(e).__name__)  # SymPy's asin is our arcsin
        return self._func(name, [self._print(a) for a in e.args])

    def stage(self, rhs: sp.Basic) -> str:
        """A forward stage's right side (a framework may need a constant as an array)."""
        return self.doprint(rhs)  # type: ignore[no-any-return]

    # StrPrinter has its own forms for these; ours are all calls
    _print_Max = _print_Min = _print_Abs = _print_sign = _print_Function
    _print_exp = _print_log = _print_sin = _print_cos = _print_tan = _print_tanh = _print_Function

    def _print_Pow(self, e: sp.Pow, rational: bool = False) -> str:
        if e.exp is sp.S.Half:
            return self._func("sqrt", [self._print(e.base)])
        if e.exp == -sp.S.Half:
            return f"1/{self._func('sqrt', [self._print(e.base)])}"
        return super()._print_Pow(e, rational=True)  # type: ignore[no-any-return]

    def _print_Elementwise(self, e: Elementwise) -> str:
        ops = e.operands
        if e.name == "pow":
            return (f"{self.parenthesize(ops[0], PRECEDENCE['Pow'], strict=True)}**"
                    f"{self.parenthesize(ops[1], PRECEDENCE['Pow'], strict=True)}")
        if e.name in ("add", "mul"):
            sym = " + " if e.name == "add" else "*"
            return sym.join(self.parenthesize(o, PRECEDENCE["Mul"]) for o in ops)
        if e.name == "Heaviside" and not self.numpy and not self.display:
            return self._half_step(ops[0], sp.S.Half)
        if self.numpy and e.name == "log" and isinstance(ops[0], Softmax):
            # one shifted log-sum-exp: log of a softmax that underflowed to 0 would be −∞
            self.used.add("log_softmax")  # (cross_entropy's gradient in y, −log softmax(o))
            return f"log_softmax({self._print(ops[0].args[0])})"
        return self._func(e.name, [self._print(o) for o in ops])

    # matrices --------------------------------------------------------------------------
    def _factor(self, a: sp.Basic) -> str:
        s = self._print(a)
        if isinstance(a, (MatAdd, sp.Add, HadamardProduct, MatMul)) or self._sum_form(a) or (
                isinstance(a, sp.Mul) and a.could_extract_minus_sign()) or s.startswith("-"):
            return f"({s})"
        return str(s)

    def _base(self, a: sp.Basic) -> str:
        """An operand before .T, [i, j] or **: a power bracketed too (x**2.T is a syntax
        error, x**2**3 is x**8 in Python)."""
        s = self._factor(a)
        return f"({s})" if isinstance(a, (HadamardPower, sp.Pow, sp.MatPow)) else s

    def _print_MatMul(self, e: MatMul) -> str:
        coeff = sp.Mul(*[a for a in e.args if not is_matrix(a)])
        mats = [a for a in e.args if is_matrix(a)]
        body = " @ ".join(self._factor(m) for m in mats)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"-{body}"
        c = self.parenthesize(coeff, PRECEDENCE["Mul"]) if isinstance(coeff, Item) \
            else self._print(coeff)
        if isinstance(coeff, sp.Add) or self._sum_form(coeff):
            c = f"({c})"
        return f"{c}*{body}"

    def _print_MatAdd(self, e: MatAdd) -> str:
        constant_ones = all(isinstance(t, OneMatrix) or (isinstance(t, MatMul) and any(
            isinstance(a, OneMatrix) for a in t.args)) for t in e.args)
        out = ""
        for i, t in enumerate(e.args):
            s = self._print(t) if constant_ones or not isinstance(t, OneMatrix) else "1"
            if i and s.startswith("-"):
                out += " - " + s[1:]
            else:
                out += (" + " if i else "") + s
        return out

    def _print_HadamardProduct(self, e: HadamardProduct) -> str:
        return "*".join(self._factor(a) for a in e.args)

    def _print_HadamardPower(self, e: HadamardPower) -> str:
        base, ex = e.args
        return f"{self._base(base)}**{self.parenthesize(ex, PRECEDENCE['Pow'], strict=True)}"

    def _print_Transpose(self, e: Transpose) -> str:
        return f"{self._base(e.args[0])}.T"

    def _dims(self, e: sp.Basic) -> str:
        axes = [self._print(d) for d in axes_of(tuple(e.shape))]
        return f"({', '.join(axes)})"

    def _print_Extent(self, e: Extent) -> str:  # a tensor's number of entries
        return "(" + "*".join(self._print(d) for d in e.args) + ")"

    def _print_OneMatrix(self, e: OneMatrix) -> str:
        if not self.numpy:
            return f"ones{self._dims(e)}"
        like = self.like.get(tuple(e.shape))
        return f"np.ones_like({like})" if like else f"np.ones({self._dims(e)})"

    def _print_ZeroMatrix(self, e: ZeroMatrix) -> str:
        if not self.numpy:
            return f"zeros{self._dims(e)}"
        like = self.like.get(tuple(e.shape))
        return f"np.zeros_like({like})" if like else f"np.zeros({self._dims(e)})"

    def _print_CumProd(self, e: Any) -> str:
        x = self._print(e.args[0])
        return f"np.cumprod({x}, axis={e.axis})" if self.numpy else \
            f"cumprod({x}, axis={e.axis})"

    def _print_Pattern(self, e: Any) -> str:
        n = self._print(e.shape[0])
        if not self.numpy:
            return str(e)  # cumsum(eye(n)), flip(eye(n), axis=0): the same numbers
        return f"np.tril(np.ones(({n}, {n})))" if e.kind == "tril" else f"np.eye({n})[::-1]"

    def _print_Identity(self, e: Identity) -> str:
        return f"np.eye({self._print(e.shape[0])})" if self.numpy else \
            f"eye({self._print(e.shape[0])})"

    def _print_Softmax(self, e: Softmax) -> str:
        if self.numpy:
            self.used.add("softmax")
        name = "softmax"
        if self.display and e.args[0].shape[1] != 1:
            name = "softmax_col"  # per column, as the LaTeX's softmax_{col} says
        return f"{name}({self._print(e.args[0])})"

    def _print__AlongAxis(self, e: Any) -> str:
        x = self._print(e.args[0])
        if self.numpy and e.which == "logsumexp":
            self.used.add("logsumexp_along")
            return f"logsumexp_along({x}, {e.axis})"
        if self.numpy:
            return f"np.{e.which}({x}, axis={e.axis}, keepdims=True)"
        return f"{e.which}({x}, axis={e.axis})"

    def _print_Indicator(self, e: Any) -> str:
        """Where X = M; along an axis shared among the ties, as the engine does: in NumPy
        the ``shared`` helper, in the text (which has no ``==``) X = M as
        ``(X >= M) + (X <= M) - 1``, divided by its sum along the axis (times ones)."""
        a, b = (self._factor(x) for x in e.args[:2])
        if self.numpy:
            if e.axis is None:
                return f"({a} == {b}).astype(float)"
            self.used.add("shared")
            return f"shared({a} == {b}, {e.axis})"
        if self.display:
            return f"({a} == {b})" if e.axis is None else f"shared({a} == {b}, axis={e.axis})"
        hit = f"(({a} >= {b}) + ({a} <= {b}) - 1)"
        if e.axis is None:
            return hit
        m, n = (self._print(d) for d in e.shape)
        count = f"{hit} @ ones({n}, {n})" if e.axis == 1 else f"ones({m}, {m}) @ {hit}"
        return f"({hit}/({count}))"

    # structural: NumPy's spelling; the text's own in display
    def _print_Slice(self, e: Any) -> str:
        rows, cols = (_text_span(a) for a in e.args[1:])
        return f"{self._base(e.args[0])}[{rows}, {cols}]"

    def _print_Embed(self, e: Any) -> str:
        g, like = (self._print(a) for a in e.args[:2])
        rows, cols = (_text_span(a) for a in e.args[2:])
        if self.numpy:
            self.used.add("embed")
            return f"embed({g}, {like}, np.s_[{rows}, {cols}])"
        return f"embed({g}, at={self._base(e.args[1])}[{rows}, {cols}])"  # valid Python

    def _print_Concat(self, e: Any) -> str:
        blocks = ", ".join(self._print(x) for x in e.blocks)
        return f"{'np.' * self.numpy}concatenate(({blocks}), axis={e.axis})"

    def _print_Reshape(self, e: Any) -> str:
        r, c = (self._print(a) for a in e.args[1:])
        return f"{'np.' * self.numpy}reshape({self._print(e.args[0])}, ({r}, {c}))"

    def _print_Pad(self, e: Any) -> str:
        rb, ra, cb, ca = e.widths
        return f"{'np.' * self.numpy}pad({self._print(e.args[0])}, (({rb}, {ra}), ({cb}, " \
            f"{ca})), constant_values={self._print(e.args[2])})"

    def _print_Kron(self, e: Any) -> str:
        a, b = (self._print(x) for x in e.args)
        return f"{'np.' * self.numpy}kron({a}, {b})"

    def _print_KronLeft(self, e: Any) -> str:
        return self._helper("kron_left", e)

    def _print_KronRight(self, e: Any) -> str:
        return self._helper("kron_right", e)

    def _helper(self, name: str, e: Any) -> str:
        if self.numpy:
            self.used.add(name)
        return f"{name}({', '.join(self._print(a) for a in e.args)})"

    def _print_Item(self, e: Any) -> str:
        if self.numpy:
            return f"({self._print(e.args[0])}).item()"
        return self._print(e.args[0])  # the text reads a 1×1 as a scalar (see parenthesize)

    def parenthesize(self, item: Any, level: int, strict: bool = False) -> str:
        """An operand: a 1×1 product (an ``Item``) in the text is bracketed whatever the
        operator's precedence, or ``a/(x.T @ x)`` would read ``a/x.T @ x``; so is the code
        of mse and cross_entropy (``0.5*np.sum(...)``, ``-np.sum(...)``: a product, which
        SymPy takes for a call) inside any operator: mse(o, u)**3 was ½·S³."""
        if not self.numpy and isinstance(item, Item):
            return self._factor(item.args[0])
        if self._sum_form(item) and level >= PRECEDENCE["Add"]:  # −y·H is Add-level
            return f"({self._print(item)})"
        if self.numpy and isinstance(item, (MSE, CrossEntropy)):
            return f"({self._print(item)})"
        return super().parenthesize(item, level, strict)  # type: ignore[no-any-return]

    def _print_SumAll(self, e: SumAll) -> str:
        return f"{'np.sum' if self.numpy else 'sum'}({self._print(e.args[0])})"

    def _print_SqNorm(self, e: SqNorm) -> str:
        a = self._print(e.args[0])
        return f"np.sum({self._base(e.args[0])}**2)" if self.numpy else f"sqnorm({a})"

    def _print_MSE(self, e: MSE) -> str:
        o, y = (self._print(a) for a in e.args)
        if not self.numpy:
            return f"mse({o}, {y})"
        return f"0.5*np.sum(({o} - {self._factor(e.args[1])})**2)"  # o − (p + p): bracketed

    def _print_CrossEntropy(self, e: CrossEntropy) -> str:
        o, y = (self._print(a) for a in e.args)
        if not self.numpy:
            return f"cross_entropy({o}, {y})"
        self.used.add("log_softmax")
        return f"-np.sum({self._factor(e.args[1])}*log_softmax({o}))"

    # display-only forms (chain-rule lines, graph labels): text, never code
    def _print_ElementwiseDerivative(self, e: Any) -> str:
        if self.numpy:
            raise UnsupportedError("no code form for a derivative written f'(z)")
        return f"{e.name}'({self._print(e.args[1])})"

    def _print_DiagJacobian(self, e: Any) -> str:
        if self.numpy:
            raise UnsupportedError("no code form for diag(...)")
        return f"diag({self._print(e.args[0])})"

    def _print_Basic(self, e: Any) -> str:
        rule = BY_NODE.get(type(e))
        if rule is not None and rule.code:  # a matrix primitive as its rule spells it
            args = ", ".join(self._print(a) for a in node_operands(e, rule))
            if self.numpy and rule.code in HELPERS:
                self.used.add(rule.code)
            return f"{rule.code if self.numpy else rule.name}({args})"
        if self.numpy:
            raise UnsupportedError(f"no code form for {type(e).__name__}")
        return super()._print_Basic(e)  # type: ignore[no-any-return]

    def _tensor_call(self, head: list[str], e: Any) -> str:
        node = e if isinstance(e, TensorOp) else e.node
        kw = [f"{k}={v!r}" for k, v in node.params.items()]  # numbers, einsum's checked spec
        if not self.numpy:
            return f"{node.op}({', '.join(head + kw)})"
        helper = "tensor_vjp" if isinstance(e, TensorVJP) else \
            "tensor_jvp" if isinstance(e, TensorJVP) else "tensor_op"
        self.used.add(helper)
        return f"{helper}({', '.join([repr(node.op), *head, *kw])})"

    def _print_TensorJVP(self, e: Any) -> str:
        return self._tensor_call([self._print(a) for a in e.args[1:-1]], e)

    def _print_TensorOp(self, e: Any) -> str:
        return self._tensor_call([self._print(x) for x in e.operands], e)

    def _print_TensorVJP(self, e: Any) -> str:
        args = [str(e.k), *(self._print(a) for a in e.args[2:4]),
                *(self._print(x) for x in e.operands)]
        return self._tensor_call(args, e)

    _print_Inverse = _print_Basic  # StrPrinter's X**(-1) is no call: inv(X)

    def emptyPrinter(self, e: Any) -> str:  # SymPy's name
        raise UnsupportedError(f"no code form for {type(e).__name__}")
