"""Output that grows linearly with depth (issue 22 part 1): an L-layer network's derivation
adds the same number of characters per layer in every format, from L = 32 to L = 128 — the
chain rule of a deep graph is written as the recursion over the intermediates
(∇_h L = (∇_h h') ∇_{h'} L), not as each parameter's whole path product."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import symbackprop as sbp


def _network(layers: int, width: int = 8) -> sbp.Derivation:
    lines, shapes, prev = [], {"x": (width, 1), "y": (width, 1)}, "x"
    for k in range(1, layers + 1):
        shapes[f"W{k}"], shapes[f"b{k}"] = (width, width), (width, 1)
        lines.append(f"h{k} = sigmoid(W{k}@{prev} + b{k})")
        prev = f"h{k}"
    return sbp.derive("; ".join([*lines, prev]), shapes=shapes, loss="mse")


FORMATS: dict[str, Callable[[sbp.Derivation], str]] = {
    "latex": lambda d: d.latex(), "markdown": lambda d: d.markdown(),
    "json": lambda d: d.to_json(), "dot": lambda d: d.to_dot(),
    "python": lambda d: d.to_python(),
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_characters_per_layer_are_constant(fmt: str) -> None:
    size = {n: len(FORMATS[fmt](_network(n))) for n in (32, 64, 128)}
    first = (size[64] - size[32]) / 32  # what a layer adds, beyond what every page has
    second = (size[128] - size[64]) / 64
    assert 0.8 <= second / first <= 1.2, (fmt, size)


def test_a_deep_chain_is_written_as_the_recursion() -> None:
    tex = _network(6).latex()
    assert r"\nabla_{\mathbf{h}^{(1)}} L &= \left(\nabla_{\mathbf{h}^{(1)}} \mathbf{h}^{(2)}" \
        r"\right)\nabla_{\mathbf{h}^{(2)}} L" in tex
    assert r"\nabla_{\mathbf{W}^{(1)}} L &= \left(\nabla_{\mathbf{W}^{(1)}} \mathbf{h}^{(1)}" \
        r"\right)\nabla_{\mathbf{h}^{(1)}} L" in tex
    short = _network(2).latex()  # a short path keeps the seed's whole product
    assert r"\left(\nabla_{\mathbf{W}^{(1)}} \mathbf{h}^{(1)}\right)\left(\nabla_{\mathbf{h}" \
        r"^{(1)}} \mathbf{h}^{(2)}\right)\left(\nabla_{\mathbf{h}^{(2)}} L\right)" in short


def test_the_shared_product_is_named_delta_once_per_layer() -> None:
    """∂L/∂h ⊙ h ⊙ (1 − h), used by ∂L/∂W, ∂L/∂b and ∂L/∂h_prev, is δ⁽ˡ⁾ on a line of its
    own (Nielsen, Goodfellow), not written three times."""
    from latex_tools import assert_latex_ok

    tex = _network(3).latex()
    for k in (1, 2, 3):
        assert tex.count(rf"\boldsymbol{{\delta}}^{{({k})}} &= \frac{{\partial L}}"
                         rf"{{\partial \mathbf{{h}}^{{({k})}}}} \odot") == 1
    assert r"\frac{\partial L}{\partial \mathbf{W}^{(3)}} &= \boldsymbol{\delta}^{(3)}" \
        r"\mathbf{h}^{(2)\top}, \qquad \frac{\partial L}{\partial \mathbf{b}^{(3)}} = " \
        r"\boldsymbol{\delta}^{(3)}" in tex
    assert r"\frac{\partial L}{\partial \mathbf{h}^{(2)}} &= \mathbf{W}^{(3)\top}" \
        r"\boldsymbol{\delta}^{(3)}" in tex
    assert tex.count(r"\odot \mathbf{h}^{(2)} \odot") == 1  # once, in δ⁽²⁾'s line
    assert_latex_ok([tex])


def test_under_the_delta_notation_no_shared_product_is_named_delta() -> None:
    """adjoint="delta" writes every adjoint δ_v: a shared product named δ⁽ˡ⁾ too would read
    as one of them, so it stays written out."""
    d = _network(3)
    shapes = {str(s.name): tuple(s.shape) for s in d.inputs}
    plain = sbp.derive(d.source, shapes=shapes, loss="mse")
    delta = sbp.derive(d.source, shapes=shapes, loss="mse", adjoint="delta")
    assert r"\boldsymbol{\delta}^{(3)} &=" in plain.latex()
    assert r"\boldsymbol{\delta}" not in delta.latex()
    assert r"\delta_{\mathbf{h}^{(3)}} \odot \mathbf{h}^{(3)} \odot" in delta.latex()
