"""The framework code's tables: our primitives' PyTorch and JAX functions (``TORCH``,
``JAX``; absent: refused), the helpers the generated modules define when they use them
(``TORCH_HELPERS``, ``JAX_HELPERS``: NumPy's semantics where the framework has no call), and
the n-D primitives' forwards and VJPs (``TENSOR_TORCH``, ``TENSOR_JAX``). Data only: the
printer (``frameworks``) chooses from them."""

from __future__ import annotations

# our primitive (or SymPy's spelling) -> the framework's function; absent: refused
TORCH = {
    "exp": "torch.exp", "log": "torch.log", "sqrt": "torch.sqrt", "abs": "torch.abs",
    "sin": "torch.sin", "cos": "torch.cos", "tan": "torch.tan", "tanh": "torch.tanh",
    "sigmoid": "torch.sigmoid", "relu": "torch.relu",
    "softplus": "torch.nn.functional.softplus", "arcsin": "torch.arcsin",
    "arccos": "torch.arccos", "arctan": "torch.arctan", "arcsinh": "torch.arcsinh",
    "arctan2": "torch.atan2", "atan2": "torch.atan2",
    "arccosh": "torch.arccosh", "arctanh": "torch.arctanh", "sinh": "torch.sinh",
    "cosh": "torch.cosh", "erf": "torch.special.erf", "erfc": "torch.special.erfc",
    "log1p": "torch.log1p", "expm1": "torch.expm1",
    "erfinv": "torch.special.erfinv", "i0e": "torch.special.i0e", "i1e": "torch.special.i1e",
    "gammaln": "torch.special.gammaln", "sign": "torch.sign", "max": "torch.maximum",
    "min": "torch.minimum", "Abs": "torch.abs", "Max": "torch.maximum",
    "Min": "torch.minimum", "Heaviside": "step", "step": "step_gt0", "prod": "torch.prod",
    "trace": "torch.trace", "det": "torch.linalg.det", "inv": "inv",
    "norm2": "torch.linalg.norm", "mean": "torch.mean",
    "polygamma": "torch.special.polygamma",  # (n, x), n an integer
    "where": "where",  # a helper: NumPy's where, x where the condition is not 0
    # helpers (below), as NumPy's: logdet NaN unless det > 0, var the population variance
    "huber": "huber", "norm1": "norm1", "logdet": "logdet", "logsumexp": "logsumexp",
    "var": "var",
}
JAX = {
    **{k: v.replace("torch.", "jnp.") for k, v in TORCH.items()
       if v.count(".") == 1 or v.startswith("torch.linalg.")},
    "softplus": "jax.nn.softplus", "sigmoid": "jax.nn.sigmoid", "relu": "jax.nn.relu",
    "erf": "jax.scipy.special.erf", "erfc": "jax.scipy.special.erfc",
    "erfinv": "jax.scipy.special.erfinv", "i0e": "jax.scipy.special.i0e",
    "i1e": "jax.scipy.special.i1e", "gammaln": "jax.scipy.special.gammaln",
    "polygamma": "jax.scipy.special.polygamma",
    "Heaviside": "step", "step": "step_gt0",
    "var": "jnp.var",  # NumPy's population variance (torch.var is the sample one)
    "where": "where", "huber": "huber", "norm1": "norm1", "logdet": "logdet",
    "logsumexp": "jax.scipy.special.logsumexp",  # over every entry
    "arctan2": "jnp.arctan2", "atan2": "jnp.arctan2", "inv": "inv",
}

# (namespace, spellings, helpers, the ``keepdims`` keyword, the axis keyword)
TORCH_HELPERS = {"step": "def step(x: torch.Tensor) -> torch.Tensor:\n"
                          "    return torch.heaviside(x, torch.full_like(x, 0.5))  # max's slope\n",
                  "step_gt0": "def step_gt0(x: torch.Tensor) -> torch.Tensor:\n"
                              "    return (x > 0).to(x.dtype)  # a comparison of the text\n",
                  "log_softmax": "def log_softmax(o: torch.Tensor) -> torch.Tensor:\n"
                                 "    return torch.log_softmax(o, dim=0)  # per column\n",
                  "where": "def where(c: torch.Tensor, x: torch.Tensor | float,\n"
                           "          y: torch.Tensor | float) -> torch.Tensor:\n"
                           "    c = torch.as_tensor(c)  # NumPy's where: x where c is not 0\n"
                           "    floats = [t for t in (x, y, c) if isinstance(t, torch.Tensor)\n"
                           "              and t.is_floating_point()]  # a bool mask: x's dtype\n"
                           "    dtype = floats[0].dtype if floats else torch.get_default_dtype()"
                           "\n"
                           "    return torch.where(c != 0, torch.as_tensor(x, dtype=dtype),\n"
                           "                       torch.as_tensor(y, dtype=dtype))\n"}
TORCH_HELPERS |= {
    "huber": ("def huber(a: torch.Tensor, delta: torch.Tensor | float) -> torch.Tensor:\n"
              "    return torch.where(torch.abs(a) <= delta, 0.5 * a * a,\n"
              "                       delta * (torch.abs(a) - 0.5 * delta))\n"),
    "norm1": ("def norm1(a: torch.Tensor) -> torch.Tensor:\n"
              "    return torch.sum(torch.abs(a))\n"),
    "logdet": ("def logdet(a: torch.Tensor) -> torch.Tensor:\n"
               "    sign, value = torch.linalg.slogdet(a)  # NaN unless det(a) > 0\n"
               "    return torch.where(sign > 0, value, torch.full_like(value, torch.nan))\n"),
    "inv": ("def inv(a: torch.Tensor) -> torch.Tensor:\n"
            "    out, info = torch.linalg.inv_ex(a)  # singular: NaN, as evaluate's\n"
            "    return torch.where(info == 0, out, torch.full_like(out, torch.nan))\n"),
    "logsumexp": ("def logsumexp(a: torch.Tensor) -> torch.Tensor:\n"
                  "    return torch.logsumexp(a.reshape(-1), dim=0)  # over every entry\n"),
    "var": ("def var(a: torch.Tensor) -> torch.Tensor:\n"
            "    return torch.var(a, unbiased=False)  # NumPy's population variance\n"),
    # cumsum and flip are products with these (the NumPy code's np.tril(np.ones((n, n))) and
    # np.eye(n)[::-1]: PyTorch has no negative step)
    "tril_ones": ("def tril_ones(n: int, like: torch.Tensor) -> torch.Tensor:  # 1 where i >= j\n"
                  "    return torch.tril(torch.ones((n, n), dtype=like.dtype, device=like.device))"
                  "\n"),
    "flip_eye": ("def flip_eye(n: int, like: torch.Tensor) -> torch.Tensor:  # the exchange "
                 "matrix\n"
                 "    return torch.flip(torch.eye(n, dtype=like.dtype, device=like.device), "
                 "dims=(0,))\n"),
    # the backward passes of slices and Kronecker products, as the NumPy code's
    "embed": ("def embed(g: torch.Tensor, like: torch.Tensor, at: tuple[slice, slice]"
              ") -> torch.Tensor:\n"
              "    out = torch.zeros_like(like)  # g placed at the slice\n"
              "    out[at] = g\n"
              "    return out\n"),
    "kron": ("def kron(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:\n"
             "    return torch.kron(a.contiguous(), b.contiguous())  # (of a transpose too)\n"),
    "kron_left": ("def kron_left(g: torch.Tensor, b: torch.Tensor) -> torch.Tensor:\n"
                  "    (p, q), (r, c) = b.shape, g.shape  # entry (i, j): <block (i, j) of g, "
                  "b>\n"
                  "    return torch.einsum(\"ipjq,pq->ij\", g.reshape(r // p, p, c // q, q), "
                  "b)\n"),
    "kron_right": ("def kron_right(g: torch.Tensor, a: torch.Tensor) -> torch.Tensor:\n"
                   "    (m, n), (r, c) = a.shape, g.shape  # g's blocks weighted by a's "
                   "entries\n"
                   "    return torch.einsum(\"ipjq,ij->pq\", g.reshape(m, r // m, n, c // n), "
                   "a)\n"),
}
TORCH_HELPERS["shared"] = (
    "def shared(hit: torch.Tensor, axis: int, dtype: torch.dtype) -> torch.Tensor:\n"
    "    hit = hit.to(dtype)  # where the max is, ties sharing its slope\n"
    "    return hit / hit.sum(dim=axis, keepdim=True)\n")
JAX_HELPERS = {"step": "def step(x: jax.Array) -> jax.Array:\n"
                        "    return jnp.heaviside(x, 0.5)  # SymPy's Heaviside: max's slope\n",
                "step_gt0": "def step_gt0(x: jax.Array) -> jax.Array:\n"
                            "    return (x > 0).astype(x.dtype)  # a comparison of the text\n",
                "log_softmax": "def log_softmax(o: jax.Array) -> jax.Array:\n"
                               "    return jax.nn.log_softmax(o, axis=0)  # per column\n",
                "where": "def where(c: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:\n"
                         "    return jnp.where(jnp.asarray(c) != 0, x, y)  # NumPy's\n",
                "shared": "def shared(hit: jax.Array, axis: int, dtype: jnp.dtype) -> jax.Array:\n"
                          "    hit = hit.astype(dtype)  # where the max is, ties sharing its "
                          "slope\n"
                          "    return hit / jnp.sum(hit, axis=axis, keepdims=True)\n",
                "huber": ("def huber(a: jax.Array, delta: jax.Array | float) -> jax.Array:\n"
                          "    return jnp.where(jnp.abs(a) <= delta, 0.5 * a * a,\n"
                          "                     delta * (jnp.abs(a) - 0.5 * delta))\n"),
                "norm1": ("def norm1(a: jax.Array) -> jax.Array:\n"
                          "    return jnp.sum(jnp.abs(a))\n"),
                "logdet": ("def logdet(a: jax.Array) -> jax.Array:\n"
                           "    sign, value = jnp.linalg.slogdet(a)  # NaN unless det(a) > 0\n"
                           "    return jnp.where(sign > 0, value, jnp.nan)\n"),
                "inv": ("def inv(a: jax.Array) -> jax.Array:\n"
                        "    out = jnp.linalg.inv(a)  # singular: NaN, as evaluate's\n"
                        "    return jnp.where(jnp.all(jnp.isfinite(out)), out, jnp.nan)\n"),
                "tril_ones": ("def tril_ones(n: int, like: jax.Array) -> jax.Array:  # 1 where "
                              "i >= j\n"
                              "    return jnp.tril(jnp.ones((n, n), dtype=like.dtype))\n"),
                "flip_eye": ("def flip_eye(n: int, like: jax.Array) -> jax.Array:  # the "
                             "exchange matrix\n"
                             "    return jnp.flip(jnp.eye(n, dtype=like.dtype), axis=0)\n"),
                "kron_left": ("def kron_left(g: jax.Array, b: jax.Array) -> jax.Array:\n"
                              "    (p, q), (r, c) = b.shape, g.shape  # entry (i, j): <block "
                              "(i, j) of g, b>\n"
                              "    return jnp.einsum(\"ipjq,pq->ij\", g.reshape(r // p, p, "
                              "c // q, q), b)\n"),
                "kron_right": ("def kron_right(g: jax.Array, a: jax.Array) -> jax.Array:\n"
                               "    (m, n), (r, c) = a.shape, g.shape  # g's blocks weighted "
                               "by a's entries\n"
                               "    return jnp.einsum(\"ipjq,ij->pq\", g.reshape(m, r // m, "
                               "n, c // n), a)\n")}

# the n-D primitives in our layout (a vector is a column (n, 1), a bias one entry per
# channel), written with the framework's own functions; ``vjp`` is one call's cotangent
VJP_DOC = ("    # the framework's own VJP of this one primitive call, not the index form of "
            "the derivation\n")
TENSOR_TORCH = {
    "conv2d": ("def conv2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None,\n"
               "           stride: int | tuple[int, int] = 1,\n"
               "           padding: int | tuple[int, int] = 0) -> torch.Tensor:\n"
               "    bias = None if b is None else b.reshape(-1)\n"
               "    return torch.nn.functional.conv2d(x, w, bias, stride=stride, "
               "padding=padding)\n"),
    "maxpool2d": ("def maxpool2d(x: torch.Tensor, size: int | tuple[int, int],\n"
                  "              stride: int | tuple[int, int] | None = None) -> torch.Tensor:\n"
                  "    return torch.nn.functional.max_pool2d(x, size, stride=stride)\n"),
    "avgpool2d": ("def avgpool2d(x: torch.Tensor, size: int | tuple[int, int],\n"
                  "              stride: int | tuple[int, int] | None = None) -> torch.Tensor:\n"
                  "    return torch.nn.functional.avg_pool2d(x, size, stride=stride)\n"),
    "einsum": ("def einsum(*xs: torch.Tensor, spec: str) -> torch.Tensor:\n"
               "    ins, out = spec.split(\"->\")  # a one-letter operand is a column\n"
               "    ys = [x.reshape(-1) if len(p) == 1 else x for p, x in "
               "zip(ins.split(\",\"), xs)]\n"
               "    y = torch.einsum(spec, *ys)\n"
               "    return y.reshape(-1, 1) if len(out) == 1 else y\n"),
    "transpose_axes": ("def transpose_axes(x: torch.Tensor, axes: tuple[int, ...] | None = None"
                       ") -> torch.Tensor:\n"
                       "    return x.permute(*(range(x.dim() - 1, -1, -1) if axes is None "
                       "else axes))\n"),
    "reshape_nd": ("def reshape_nd(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:\n"
                   "    y = x.reshape(shape)  # row-major; a vector is a column\n"
                   "    return y.reshape(-1, 1) if y.dim() == 1 else y\n"),
    "broadcast": ("def broadcast(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:\n"
                  "    return torch.broadcast_to(x, like.shape)  # NumPy's rule\n"),
    "sum_axes": ("def sum_axes(x: torch.Tensor, axes: tuple[int, ...]) -> torch.Tensor:\n"
                 "    return x.sum(dim=axes, keepdim=True)\n"),
    "softmax_axis": ("def softmax_axis(x: torch.Tensor, axis: int) -> torch.Tensor:\n"
                     "    return torch.softmax(x, dim=axis)\n"),
    "batchnorm2d": ("def batchnorm2d(x: torch.Tensor, gamma: torch.Tensor, beta: torch.Tensor,\n"
                    "                eps: float = 1e-05) -> torch.Tensor:  # training mode\n"
                    "    return torch.nn.functional.batch_norm(\n"
                    "        x, None, None, gamma.reshape(-1), beta.reshape(-1), training=True, "
                    "eps=eps)\n"),
    "vjp": ("def vjp(f: Callable[..., torch.Tensor], k: int, g: torch.Tensor, *xs: torch.Tensor,\n"
            "        **params: object) -> torch.Tensor:\n"
            + VJP_DOC +
            "    return torch.func.vjp(lambda *a: f(*a, **params), *xs)[1](g)[k]\n"),
}
TENSOR_JAX = {
    "pair": ("def pair(v: int | tuple[int, int]) -> tuple[int, int]:\n"
             "    return (v, v) if isinstance(v, int) else (v[0], v[1])\n"),
    "conv2d": ("def conv2d(x: jax.Array, w: jax.Array, b: jax.Array | None = None,\n"
               "           stride: int | tuple[int, int] = 1,\n"
               "           padding: int | tuple[int, int] = 0) -> jax.Array:\n"
               "    (ph, pw) = pair(padding)  # cross-correlation, NCHW, as PyTorch's\n"
               "    y = jax.lax.conv_general_dilated(\n"
               "        x, w, pair(stride), [(ph, ph), (pw, pw)],\n"
               "        dimension_numbers=(\"NCHW\", \"OIHW\", \"NCHW\"),\n"
               "        precision=jax.lax.Precision.HIGHEST)\n"
               "    return y if b is None else y + b.reshape(1, -1, 1, 1)\n"),
    "maxpool2d": ("def maxpool2d(x: jax.Array, size: int | tuple[int, int],\n"
                  "              stride: int | tuple[int, int] | None = None) -> jax.Array:\n"
                  "    k, s = pair(size), pair(size if stride is None else stride)\n"
                  "    return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, *k), "
                  "(1, 1, *s), \"VALID\")\n"),
    "avgpool2d": ("def avgpool2d(x: jax.Array, size: int | tuple[int, int],\n"
                  "              stride: int | tuple[int, int] | None = None) -> jax.Array:\n"
                  "    k, s = pair(size), pair(size if stride is None else stride)\n"
                  "    total = jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 1, *k), "
                  "(1, 1, *s), \"VALID\")\n"
                  "    return total / (k[0] * k[1])\n"),
    "einsum": ("def einsum(*xs: jax.Array, spec: str) -> jax.Array:\n"
               "    ins, out = spec.split(\"->\")  # a one-letter operand is a column\n"
               "    ys = [x.reshape(-1) if len(p) == 1 else x for p, x in "
               "zip(ins.split(\",\"), xs)]\n"
               "    y = jnp.einsum(spec, *ys)\n"
               "    return y.reshape(-1, 1) if len(out) == 1 else y\n"),
    "transpose_axes": ("def transpose_axes(x: jax.Array, axes: tuple[int, ...] | None = None) "
                       "-> jax.Array:\n"
                       "    return jnp.transpose(x, axes)\n"),
    "reshape_nd": ("def reshape_nd(x: jax.Array, shape: tuple[int, ...]) -> jax.Array:\n"
                   "    y = jnp.reshape(x, shape)  # row-major; a vector is a column\n"
                   "    return y.reshape(-1, 1) if y.ndim == 1 else y\n"),
    "broadcast": ("def broadcast(x: jax.Array, like: jax.Array) -> jax.Array:\n"
                  "    return jnp.broadcast_to(x, like.shape)  # NumPy's rule\n"),
    "sum_axes": ("def sum_axes(x: jax.Array, axes: tuple[int, ...]) -> jax.Array:\n"
                 "    return jnp.sum(x, axis=axes, keepdims=True)\n"),
    "softmax_axis": ("def softmax_axis(x: jax.Array, axis: int) -> jax.Array:\n"
                     "    return jax.nn.softmax(x, axis=axis)\n"),
    "batchnorm2d": ("def batchnorm2d(x: jax.Array, gamma: jax.Array, beta: jax.Array,\n"
                    "                eps: float = 1e-05) -> jax.Array:  # training mode\n"
                    "    mean = jnp.mean(x, axis=(0, 2, 3), keepdims=True)\n"
                    "    var = jnp.var(x, axis=(0, 2, 3), keepdims=True)  # biased, as PyTorch's\n"
                    "    xhat = (x - mean) / jnp.sqrt(var + eps)\n"
                    "    return xhat * gamma.reshape(1, -1, 1, 1) + beta.reshape(1, -1, 1, 1)\n"),
    "vjp": ("def vjp(f: Callable[..., jax.Array], k: int, g: jax.Array, *xs: jax.Array,\n"
            "        **params: object) -> jax.Array:\n"
            + VJP_DOC +
            "    return jax.vjp(lambda *a: f(*a, **params), *xs)[1](g)[k]\n"),
}
# the layers whose backward the derivation writes in matrix form (layers.py): forwards only
TENSOR_TORCH |= {
    "standardise": ("def standardise(x: torch.Tensor, axis: int, eps: float) -> torch.Tensor:\n"
                    "    mu = torch.mean(x, dim=axis, keepdim=True)\n"
                    "    var = torch.var(x, dim=axis, keepdim=True, unbiased=False)\n"
                    "    return (x - mu) / torch.sqrt(var + eps)\n"),
    "softmax_rows": ("def softmax_rows(s: torch.Tensor) -> torch.Tensor:\n"
                     "    return torch.softmax(s, dim=1)\n"),
}
TENSOR_JAX |= {
    "standardise": ("def standardise(x: jax.Array, axis: int, eps: float) -> jax.Array:\n"
                    "    mu = jnp.mean(x, axis=axis, keepdims=True)\n"
                    "    return (x - mu) / jnp.sqrt(jnp.var(x, axis=axis, keepdims=True) + eps)\n"),
    "softmax_rows": ("def softmax_rows(s: jax.Array) -> jax.Array:\n"
                     "    return jax.nn.softmax(s, axis=1)\n"),
}
TORCH_HELPERS.update(TENSOR_TORCH)
JAX_HELPERS.update(TENSOR_JAX)
NEEDS = {"maxpool2d": ("pair",), "avgpool2d": ("pair",), "conv2d": ("pair",)}
