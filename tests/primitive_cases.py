"""One table of test cases for every primitive of the rule table: what each is written as in
scalar and in matrix form, over the shapes ``M``, and whether its values must be positive.

``test_registry.py`` (parse, derive, print, check, generated code) and ``test_numeric.py``
(the engine against the symbolic gradients and finite differences) both read it. A unary
element-wise function needs no row: its forms are made from the table. Any other new
primitive needs one row here, and nothing else in the tests.
"""

from __future__ import annotations

from symbackprop.rules import RULES

M = {"A": (3, 2), "B": (3, 2), "C": (3, 2), "D": (2, 4), "E": (2, 3), "G": (3, 4),
     "Y": (3, 2), "u": (3, 1), "v": (2, 1), "eye2": (2, 2),
     "T": (2, 3, 5, 5), "K": (4, 3, 3, 3), "k": (4, 1)}  # an NCHW image batch, filters, bias

# every primitive in scalar and matrix form; True where the values must be positive
FORMS: dict[str, list[tuple[str, bool]]] = {
    "add": [("x + 2*y - 3", False), ("sum(hadamard(C, 2*A - B + 1))", False)],
    "mul": [("3*x*y/z", False), ("sum(hadamard(A, hadamard(B, C)))", False), ("sum(lam*A)", False)],
    "pow": [("x**3 + x**y", True), ("sum(hadamard(C, A**3))", False),
            ("sum(hadamard(C, A**0.5))", True), ("sum(A / B)", False)],
    "matmul": [("sum(hadamard(G, A @ D))", False), ("sum(hadamard(G.T, D.T @ A.T))", False)],
    "transpose": [("sum(hadamard(E, transpose(A)))", False)],
    "sum": [("sum(hadamard(A, B))", False)],
    "softmax": [("sum(hadamard(C, softmax(A)))", False)],
    "mse": [("mse(A, B)", False)],
    "cross_entropy": [("cross_entropy(A, Y)", False)],
    "sqnorm": [("sqnorm(A) + sum(B)", False)],
    "trace": [("trace(A.T @ B) + trace(x*y)", False)],
    "item": [("log(u.T @ u) * (u.T @ A @ v)", True)],
    # matrix calculus: on a scalar these are the scalar itself (det x = x), so every form
    # here is a matrix one
    "det": [("det(A.T @ B + 3*eye2)", False)],
    "inv": [("sum(hadamard(E, inv(A.T @ B + 3*eye2) @ E))", False)],
    "logdet": [("logdet(A.T @ A + eye2)", False)],
    "norm2": [("norm2(A - B) + norm(u)", False)],
    "norm1": [("norm1(A - 2*B)", False)],
    "mean": [("mean(hadamard(A, B))", False)],
    "var": [("var(hadamard(A, B))", False)],
    "logsumexp": [("logsumexp(A - B) + logsumexp(u)", False)],
    "max_axis": [("sum(hadamard(C, max(A, axis=1))) + sum(max(A.T, axis=-1))", False)],
    "min_axis": [("sum(hadamard(C, min(A - B, axis=0)))", False)],
    "prod": [("prod(2*u) + sum(u)", False), ("prod(A/2 + 1) + prod(u)", False)],
    "cumprod_axis": [("sum(hadamard(C, cumprod(A, axis=0))) + sum(hadamard(E, cumprod(A.T, axis=1)))"
                      " + sum(cumprod(u))", False)],
    "prod_axis": [("sum(hadamard(C, prod(A, axis=1))) + sum(prod(A.T - 1, axis=-1))", False)],
    "log1p": [("log1p(x*y/4) + sum(hadamard(C, log1p(A**2)))", False)],
    "expm1": [("expm1(x*y/4) + sum(hadamard(C, expm1(A/2)))", False)],
    "logsumexp_axis": [("sum(hadamard(C, logsumexp(A, axis=1))) + sum(logsumexp(A.T - B.T, "
                        "axis=0)**2) + sum(hadamard(C, log_softmax(A, axis=1)))", False)],
    "arcsin": [("arcsin(x*y/4)", False), ("sum(hadamard(C, asin(A/2)))", False)],
    "arccos": [("arccos(x*y/4)", False), ("sum(hadamard(C, acos(A/2)))", False)],
    "arccosh": [("arccosh(x*y + 2)", True), ("sum(hadamard(C, acosh(hadamard(A, A) + 2)))", False)],
    "arctanh": [("arctanh(x*y/4)", False), ("sum(hadamard(C, atanh(A/2)))", False)],
    "erfinv": [("erfinv(x*y/4)", False), ("sum(hadamard(C, erfinv(A/4)))", False)],
    # ψ⁽ⁿ⁾: the order is a whole number written in the text (digamma is ψ⁽⁰⁾)
    "polygamma": [("digamma(x*y + 1) + polygamma(2, y + 2)", True),
                  ("sum(hadamard(C, polygamma(1, hadamard(A, A) + 1) + digamma(A + 2)))", False)],
    # n-D: images T of shape (N, C, H, W), filters K (F, C, kh, kw), per-channel columns
    "conv2d": [("sum(sin(conv2d(T, K, k, stride=2, padding=1))) + sum(conv2d(T, K)**2)", False)],
    "maxpool2d": [("sum(maxpool2d(T, 2) * maxpool2d(T, 2)) + sum(sin(maxpool2d(T, 3, stride=1)))",
                   False)],
    "avgpool2d": [("sum(avgpool2d(T, 2)**2) + sum(cos(avgpool2d(T, (2, 3), stride=1)))", False)],
    "einsum": [("sum(sin(einsum('nchw,fc->nfhw', T, E))) + sum(hadamard(G, einsum('ij,jk->ik', A, D)))"
                " + sum(hadamard(u, einsum('ij,j->i', A, v))) + sum(einsum('nchw->nc', T)**2)", False),
               # an index repeated within an operand reads its diagonal
               ("sum(sin(einsum('nchh->nch', T))) + sum(hadamard(v, einsum('ii->i', D @ D.T)))"
                " + sum(einsum('ij,jj->i', A, eye2 + E @ A))", False)],
    "transpose_axes": [("sum(transpose(T, (0, 2, 3, 1)) * sin(transpose(T, (0, 2, 3, 1)))) + sum(T.T**3)",
                        False)],
    "reshape_nd": [("sum(sin(reshape(T, (2, -1)))) + sum(flatten(T)**2) + sum(reshape(A, (3, 2, 1))**3)",
                    False)],
    "softmax_axis": [("sum(sin(T) * softmax(T, axis=1)) + sum(softmax(T, axis=-1)**2)", False)],
    "batchnorm2d": [("sum(sin(T) * batchnorm2d(T, u, 2*u))", False)],
    "sum_axes": [("sum(sin(sum(T, axis=(0, 2)))) + sum(mean(T, axis=1)**2) + sum(var(T, axis=(2, 3)))",
                  False)],
    "broadcast": [("sum(sin(T - mean(T, axis=(0, 2, 3)))) + sum(T * reshape(u, (1, 3, 1, 1)))", False)],
    # structural: entries moved, not computed with (indices from 0, as NumPy)
    "slice": [("sum(hadamard(A[0:2, :], B[1:, :])) + u[2]*A[1, 0] + sum(A[::2, 1]**2)", False),
              ("sum(hadamard(eye2, A[-2:].T)) + sum(hadamard(u[1:], u[:-1])) + sum(A[1]**2)", False)],
    "concat": [("sum(hadamard(concatenate((A, B), axis=0), vstack((C, Y))))", False),
               ("sum(hadamard(G, hstack((A, B)))) + sum(stack((u, 2*u), axis=1)**2)", False),
               ("sum(stack((x, x*y))**3) + sum(vstack((y, 2*x))**2)", False)],  # of scalars
    "reshape": [("sum(hadamard(E, reshape(A, (2, 3)))) + sum(flatten(A)**3)", False),
                ("sum(hadamard(u, ravel(A.T)[0:3])) + sum(reshape(u, (1, -1))**2)", False)],
    "pad": [("sum(pad(A, ((1, 0), (2, 1)), constant_values=0.5)**2)", False),
            ("sum(pad(u, 1)**3)", False)],
    "kron": [("sum(kron(A, v)**2) + sum(kron(E, u.T)) + kron(x, y)**2", False),
             ("sum(tile(x, 3)**2) + sum(repeat(y, 2)**3) + sum(kron(u, x*v))", False),
             ("sum(tile(A, (2, 3))**3) + sum(repeat(A, 2, axis=1)**2) + sum(repeat(u, 3)**2)",
              False)],
    # I_n: the order is a whole number written in the text (SymPy's besseli)
    "besseli": [("besseli(0, x*y) + besseli(2, y)", False),
                ("sum(hadamard(C, besseli(1, A) + besseli(0, 2*A)))", False)],
    "max": [("max(x, y)", False), ("sum(hadamard(C, max(A, B)))", False)],
    "min": [("min(x, y)", False), ("sum(hadamard(C, min(A, B)))", False)],
    # the layers of issue 14: batch and layer normalisation's X̂ (columns are samples), and
    # attention's softmax of each row
    "standardise": [("sum(hadamard(C, batchnorm(A, u, 2*u, eps=0.01)))"
                     " + sum(hadamard(C, layernorm(A, u, u)))", False)],
    "softmax_rows": [("sum(hadamard(C, softmax(A, axis=1))) + sum(hadamard(E, softmax(A.T, axis=-1)))",
                      False)],
    # Huber's function: a residual and a threshold δ > 0 (its derivative clip(a, −δ, δ))
    "arctan2": [("arctan2(x - 1, y*y + 0.5)", False),
                ("sum(hadamard(C, arctan2(A, B))) + sum(arctan2(x, B))", False)],
    "huber": [("huber(x - 1, y*y + 0.5)", False),
              ("sum(hadamard(C, huber(A, 0.5))) + sum(huber(B, x*x + 0.2))", False)],
    # NumPy's where on a comparison, and on a condition given as an input (x where it is not
    # 0, no gradient into it), a scalar branch spread over a matrix
    "where": [("where(x > y, x*y, sin(x))", False),
              ("sum(hadamard(C, where(A > B, exp(A), B*x))) + sum(where(Y, A, x*x))", False)],
}
# Nodes only a backward pass writes (a slice's scatter, A ⊗ B's cotangents, max's 𝟙[X = M]):
# primitives a Hessian differentiates through. Each case is a text and the variable of its
# Hessian, whose gradient holds the node.
SECOND_ORDER: dict[str, tuple[str, str]] = {
    "embed": ("sum(A[0:2, ::2]**3) + sum(sin(A[1:]))*A[2, 1] + sum(A[-1]**2)", "A"),
    "kron_left": ("sum(hadamard(kron(u.T, v), kron(u.T, v))) + sum(kron(u, u)**3)", "u"),
    "kron_right": ("sum(kron(v, u)**3) + sum(tile(u, (2, 3))**3) + sum(repeat(u, 2)**3)", "u"),
    "indicator": ("sum(max(A, axis=0)**2) + sum(min(A**2, axis=1)**3)", "A"),
    "inv_std": ("sum(hadamard(C, batchnorm(A, u, 2*u, eps=0.01))**2)"
                " + sum(hadamard(C, layernorm(A, u, u)))", "A"),
}
POSITIVE = {"log", "sqrt"}  # element-wise functions whose values must be positive
for _f, _rule in RULES.items():  # every unary element-wise function: from the table itself
    if _rule.sympy is not None and _rule.arity == 1 and _f not in FORMS:
        _pos = _f in POSITIVE
        FORMS[_f] = [(f"{_f}(x*y)", _pos), (f"sum(hadamard(C, {_f}(A)))", _pos)]

