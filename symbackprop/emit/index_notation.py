"""The n-D primitives in LaTeX, in index notation as course notes write them: a tensor is
given by its entry, ``[ … ]_{n,f,h,w}`` is "the tensor whose (n, f, h, w) entry is …", and
every sum is written out (no Einstein convention). Forward nodes (``TensorOp``) and the
cotangents that are no primitive of ours (``TensorVJP``) both print here, e.g. for
``Y = conv2d(X, W, b)``::

    Y = [ b_f + Σ_{c,i,j} W_{f,c,i,j} X_{n,c,h+i,w+j} ]_{n,f,h,w}
    ∂L/∂W = [ Σ_{n,h,w} (∂L/∂Y)_{n,f,h,w} X_{n,c,h+i,w+j} ]_{f,c,i,j}

Indices are NumPy's, from 0; a strided, padded convolution reads ``X̃_{n,c,s h+i,s w+j}``
with ``X̃ = pad_p(X)`` written out in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..shapes import axes_of
from ..tensor_axes import einsum_letters
from ..tensor_nodes import TensorJVP, TensorOp, TensorVJP
from ..tensors import _pair, diagonal_indices

Print = Callable[[Any], str]
LETTERS = "ijklmpqrs"  # the indices of a tensor with no layout of its own (transpose, softmax)


def _at(t: str, idx: str) -> str:
    """Entry ``idx`` of the printed tensor ``t``: braced, or in brackets if compound."""
    simple = not any(c in t for c in (" ", "\\frac", "\\left", "+", "-"))
    return f"{{{t}}}_{{{idx}}}" if simple else rf"\left({t}\right)_{{{idx}}}"


def _tensor(body: str, idx: str) -> str:
    return rf"\left[{body}\right]_{{{idx}}}"


def _row(s: int, var: str, tap: str) -> str:
    """The input row that output row ``var`` reads at tap ``tap``: s·var + tap."""
    return (f"{var}+{tap}" if s == 1 else f"{s}{var}+{tap}")


def _padded(x: str, ph: int, pw: int) -> str:
    return x if not (ph or pw) else rf"\operatorname{{pad}}_{{{ph},{pw}}}\left({x}\right)"


def _window(sh: int, sw: int) -> str:
    return rf"\substack{{h,i:\ {_row(sh, 'h', 'i')}=u \\ w,j:\ {_row(sw, 'w', 'j')}=v}}"


def _conv(pr: Print, xs: list[str], params: dict[str, Any], k: int | None, g: str) -> str:
    (sh, sw), (ph, pw) = _pair(params["stride"], "stride"), _pair(params["padding"], "padding")
    x, w = xs[0], xs[1]
    xt = _padded(x, ph, pw)
    xin = _at(xt, f"n,c,{_row(sh, 'h', 'i')},{_row(sw, 'w', 'j')}")
    if k is None:
        bias = f"{_at(xs[2], 'f')} + " if len(xs) == 3 else ""
        return _tensor(rf"{bias}\sum_{{c,i,j}} {_at(w, 'f,c,i,j')}\, {xin}", "n,f,h,w")
    gy = _at(g, "n,f,h,w")
    if k == 1:
        return _tensor(rf"\sum_{{n,h,w}} {gy}\, {xin}", "f,c,i,j")
    if k == 2:
        return _tensor(rf"\sum_{{n,h,w}} {gy}", "f")
    u, v = (f"u+{ph}" if ph else "u"), (f"v+{pw}" if pw else "v")
    hit = rf"\substack{{h,i:\ {_row(sh, 'h', 'i')}={u} \\ w,j:\ {_row(sw, 'w', 'j')}={v}}}"
    out = _tensor(rf"\sum_{{f}} \sum_{{{hit}}} {gy}\, {_at(w, 'f,c,i,j')}", "n,c,u,v")
    if sh == sw == 1:  # the textbook's form: the full correlation with the turned filter
        full = (rf"\left({_at(g, 'n,f')} \star_{{\text{{full}}}} "
                rf"\operatorname{{rot180}}\left({_at(w, 'f,c')}\right)\right)_{{{u},{v}}}")
        out += " = " + _tensor(rf"\sum_{{f}} {full}", "n,c,u,v")
    return out


def _geometry(params: dict[str, Any]) -> tuple[int, int, int, int]:
    """A pooling window's size and stride (the stride is the size unless given)."""
    stride = params["size"] if params["stride"] is None else params["stride"]
    return (*_pair(params["size"], "size"), *_pair(stride, "stride"))


def _pool(kind: str) -> Callable[..., str]:
    def latex(pr: Print, xs: list[str], params: dict[str, Any], k: int | None, g: str) -> str:
        kh, kw, sh, sw = _geometry(params)
        xin = _at(xs[0], f"n,c,{_row(sh, 'h', 'i')},{_row(sw, 'w', 'j')}")
        win = rf"0 \le i < {kh},\ 0 \le j < {kw}"
        if k is None:
            body = rf"\max_{{{win}}} {xin}" if kind == "max" else \
                rf"\frac{{1}}{{{kh * kw}}} \sum_{{{win}}} {xin}"
            return _tensor(body, "n,c,h,w")
        gp = _at(g, "n,c,h,w")
        if kind == "avg":
            return _tensor(rf"\frac{{1}}{{{kh * kw}}} \sum_{{{_window(sh, sw)}}} {gp}",
                           "n,c,u,v")
        ip, jp = "i'", "j'"
        at = _at(xs[0], f"n,c,{_row(sh, 'h', ip)},{_row(sw, 'w', jp)}")
        first = rf"\operatorname*{{argmax}}^{{\text{{first}}}}_{{(i',j')}} {at}"
        return _tensor(rf"\sum_{{{_window(sh, sw)}}} {gp}\, "
                       rf"\mathbf{{1}}\left[(i,j) = {first}\right]", "n,c,u,v")
    return latex


def _einsum(pr: Print, xs: list[str], params: dict[str, Any], k: int | None, g: str,
            ranks: tuple[int, ...] = ()) -> str:
    ins, res = einsum_letters(params["spec"], ranks)

    def line(factors: list[str], letters: str, keep: str) -> str:
        summed = "".join(dict.fromkeys(c for c in letters if c not in keep))
        body = r"\, ".join(factors)
        return rf"\sum_{{{','.join(summed)}}} {body}" if summed else body

    if k is None:
        factors = [_at(x, ",".join(t)) for x, t in zip(xs, ins, strict=True)]
        return _tensor(line(factors, "".join(ins), res), ",".join(res))
    others = [(x, t) for i, (x, t) in enumerate(zip(xs, ins, strict=True)) if i != k]
    factors = [_at(g, ",".join(res)), *(_at(x, ",".join(t)) for x, t in others)]
    letters = res + "".join(t for _, t in others)
    idx, deltas = diagonal_indices(ins[k])  # a repeated index read a diagonal: δ_{ii'}
    return _tensor((f"{deltas}\\, " if deltas else "") + line(factors, letters, ins[k]), idx)


def _transpose(pr: Print, xs: list[str], params: dict[str, Any], k: int | None, g: str,
               ranks: tuple[int, ...] = ()) -> str:
    n = ranks[0]
    perm = tuple(reversed(range(n))) if params["axes"] is None else \
        tuple(int(a) % n for a in params["axes"])
    out = LETTERS[:n]
    src = ["" for _ in range(n)]
    for o, a in enumerate(perm):  # output axis o is input axis a
        src[a] = out[o]
    return _tensor(_at(xs[0], ",".join(src)), ",".join(out))


def _reshape(pr: Print, xs: list[str], params: dict[str, Any], k: int | None, g: str,
             axes: tuple[Any, ...] = ()) -> str:
    dims = r" \times ".join(pr(d) for d in axes)
    return rf"\operatorname{{reshape}}_{{{dims}}}\left({xs[0]}\right)"


def _softmax(pr: Print, xs: list[str], params: dict[str, Any], k: int | None, g: str,
             ranks: tuple[int, ...] = (), out: str = "", letters: str = "") -> str:
    n = ranks[0]
    axis = int(params["axis"]) % n
    idx = list(letters or LETTERS[:n])
    at = ",".join(idx)
    summed = ",".join(c + "'" if i == axis else c for i, c in enumerate(idx))
    s = idx[axis] + "'"
    if k is None:
        return _tensor(rf"\frac{{\exp {_at(xs[0], at)}}}{{\sum_{{{s}}} "
                       rf"\exp {_at(xs[0], summed)}}}", at)
    a = out
    return _tensor(rf"{_at(a, at)} \left({_at(g, at)} - \sum_{{{s}}} {_at(g, summed)}\, "
                   rf"{_at(a, summed)}\right)", at)


def _sum_axes(xs: list[str], params: dict[str, Any], ranks: tuple[int, ...],
              letters: str = "") -> str:
    """The sum over some axes, kept with length 1 (written ·): [Σ_{i,k} X_{i,j,k}]_{·,j,·}."""
    n = ranks[0]
    idx = letters or LETTERS[:n]
    summed = [idx[a] for a in params["axes"]]
    kept = ",".join(r"\cdot" if c in summed else c for c in idx)
    return _tensor(rf"\sum_{{{','.join(summed)}}} {_at(xs[0], ','.join(idx))}", kept)


def _broadcast(xs: list[str], ranks: tuple[int, ...], x_axes: tuple[Any, ...],
               out_axes: tuple[Any, ...]) -> str:
    """NumPy's broadcast: each output entry reads x at its own index, 0 along an axis of
    length 1 that was stretched, and no index for an axis x lacks: [x_{·,j,·}]_{i,j,k}."""
    n = len(out_axes)
    idx = LETTERS[:n]
    lead = n - len(x_axes)
    at = [r"\cdot" if d == 1 and out_axes[lead + i] != 1 else idx[lead + i]
          for i, d in enumerate(x_axes)]
    return _tensor(_at(xs[0], ",".join(at)) if at else xs[0], ",".join(idx))


def _bn(pr: Print, xs: list[str], params: dict[str, Any], k: int | None, g: str) -> str:
    x, gamma, beta = xs
    eps = pr(params["eps"])
    hat = rf"\widehat{{{x}}}"
    where = (rf",\quad {_at(hat, 'n,c,h,w')} = \frac{{{_at(x, 'n,c,h,w')} - \mu_c}}"
             rf"{{\sigma_c}},\ \mu_c = \frac{{1}}{{M}} \sum_{{n,h,w}} {_at(x, 'n,c,h,w')},\ "
             rf"\sigma_c^2 = \frac{{1}}{{M}} \sum_{{n,h,w}} \left({_at(x, 'n,c,h,w')} - "
             rf"\mu_c\right)^2 + {eps},\ M = N H W")
    if k is None:
        return _tensor(rf"{_at(gamma, 'c')}\, {_at(hat, 'n,c,h,w')} + {_at(beta, 'c')}",
                       "n,c,h,w") + where
    gy = _at(g, "n,c,h,w")
    if k == 1:
        return _tensor(rf"\sum_{{n,h,w}} {gy}\, {_at(hat, 'n,c,h,w')}", "c")
    if k == 2:
        return _tensor(rf"\sum_{{n,h,w}} {gy}", "c")
    primed = "n',c,h',w'"
    gs, hs = _at(g, primed), _at(hat, primed)
    return _tensor(rf"\frac{{{_at(gamma, 'c')}}}{{M \sigma_c}} \left(M {gy} - "
                   rf"\sum_{{n',h',w'}} {gs} - {_at(hat, 'n,c,h,w')} \sum_{{n',h',w'}} "
                   rf"{gs}\, {hs}\right)", "n,c,h,w") + where


def _maxpool_tangent(e: TensorJVP, pr: Print) -> str:
    """Max pooling's tangent: each window's tangent at its first maximum."""
    params = e.node.params
    kh, kw, sh, sw = _geometry(params)
    x, dot = pr(e.operands[0]), pr(e.args[1])
    ip, jp = "i'", "j'"
    at = _at(x, f"n,c,{_row(sh, 'h', ip)},{_row(sw, 'w', jp)}")
    star = _at(dot, rf"n,c,{_row(sh, 'h', 'i^*')},{_row(sw, 'w', 'j^*')}")
    return _tensor(star, "n,c,h,w") + (
        rf",\quad (i^*,j^*) = \operatorname*{{argmax}}^{{\text{{first}}}}_{{0 \le i' < {kh},\ "
        rf"0 \le j' < {kw}}} {at}")


def node_latex(e: TensorOp | TensorVJP | TensorJVP, pr: Print,
               letters_of: Callable[[Any], str | None] = lambda x: None) -> str:
    """A forward node, one operand's cotangent, or a tangent, in index notation; a node
    that keeps its operand's axes writes them with the operand's letters (``letters_of``,
    an einsum's) where it has them."""
    if isinstance(e, TensorJVP):
        return _maxpool_tangent(e, pr)
    node = e.node if isinstance(e, TensorVJP) else e
    k = e.k if isinstance(e, TensorVJP) else None
    g = pr(e.args[2]) if isinstance(e, TensorVJP) else ""
    xs = [pr(x) for x in node.operands]
    params = node.params
    ranks = tuple(len(a) for a in _operand_axes(node))
    op = node.op
    if op == "conv2d":
        return _conv(pr, xs, params, k, g)
    if op in ("maxpool2d", "avgpool2d"):
        return _pool(op[:3])(pr, xs, params, k, g)
    if op == "einsum":
        return _einsum(pr, xs, params, k, g, ranks)
    if op == "transpose_axes":
        return _transpose(pr, xs, params, k, g, ranks)
    if op == "reshape_nd":
        return _reshape(pr, xs, params, k, g, node.axes)
    own = letters_of(node.operands[0]) or ""
    own = own if len(own) == ranks[0] and len(set(own)) == len(own) else ""
    if op == "sum_axes":
        return _sum_axes(xs, params, ranks, own)
    if op == "broadcast":
        return _broadcast(xs, ranks, _operand_axes(node)[0], node.axes)
    if op == "softmax_axis":
        return _softmax(pr, xs, params, k, g, ranks, pr(e.args[3]) if k is not None else "",
                        own)
    return _bn(pr, xs, params, k, g)


def _operand_axes(node: TensorOp) -> list[tuple[Any, ...]]:
    out = [axes_of(tuple(x.shape)) for x in node.operands]
    if node.op == "einsum":  # a column read with one index is a vector
        parts = str(node.params["spec"]).replace(" ", "").split("->")[0].split(",")
        out = [a[:1] if len(p) == 1 and len(a) == 2 else a for p, a in zip(parts, out,
                                                                            strict=True)]
    return out

