"""sbp.from_torch: recurrent cells, torch.stack, zeros, class-index targets, BCE targets in
the module, inputs the output never reads, F.layer_norm, cosine similarity and norms; each
derivation's gradients compared with p.grad (float64) and check() with torch.autograd."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pytest

pytest.importorskip("torch", reason="from_torch needs PyTorch (pip install '.[torch]')")

import torch
import torch.nn.functional as F
from torch import nn

import symbackprop as sbp


@pytest.fixture(autouse=True)
def _float64() -> Any:
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def _same_as_p_grad(d: Any, model: nn.Module, loss: Any, values: dict[str, Any]) -> None:
    """check() ok with torch.autograd among its witnesses; evaluate's gradients are p.grad
    of ``loss()`` (which calls the model), for every parameter."""
    report = d.check()
    assert report.ok, str(report)
    assert "torch.autograd" in report.witnesses
    model.zero_grad()
    loss().backward()
    grads = d.evaluate({**dict(model.named_parameters()), **values})
    assert set(grads) == {k for k, _ in model.named_parameters()}
    for key, p in model.named_parameters():
        assert p.grad is not None
        np.testing.assert_allclose(grads[key], p.grad.numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=key)


# --------------------------------------------------------------------------------------
# an input the output never reads


class Unused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l = nn.Linear(3, 2)

    def forward(self, x: Any, unused: Any) -> Any:
        return (self.l(x) ** 2).sum()


def test_an_input_the_output_never_reads_has_no_role() -> None:
    torch.manual_seed(0)
    m, x, u = Unused(), torch.randn(4, 3), torch.randn(4, 3)
    d = sbp.from_torch(m, (x, u))
    assert "unused" not in {str(s.name) for s in d.inputs}
    assert "unused" not in d.to_ours({**dict(m.named_parameters()), "x": x, "unused": u})
    _same_as_p_grad(d, m, lambda: m(x, u), {"x": x, "unused": u})
    ns: dict[str, Any] = {}
    exec(d.to_python(), ns)  # the generated function takes what to_ours gives
    out, _ = ns["forward_backward"](**d.to_ours({**dict(m.named_parameters()), "x": x,
                                                 "unused": u}))
    assert abs(float(out) - m(x, u).item()) < 1e-12


# --------------------------------------------------------------------------------------
# targets: probabilities of a BCE computed in the module, class indices


class OwnBCE(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l = nn.Linear(3, 3)

    def forward(self, x: Any, t: Any) -> Any:
        return F.binary_cross_entropy(torch.sigmoid(self.l(x)), t)


@pytest.mark.parametrize("convention", ["column", "row"])
def test_a_bce_target_in_the_module_is_drawn_as_probabilities(convention: Literal["column", "row"]) -> None:
    torch.manual_seed(1)
    m, x, t = OwnBCE(), torch.randn(4, 3), torch.rand(4, 3)
    d = sbp.from_torch(m, (x, t), convention=convention)
    for seed in range(3):  # without values: t in (0, 1), or PyTorch refuses it
        report = d.check(seed=seed)
        assert report.ok, str(report)
        assert "torch.autograd" in report.witnesses
    _same_as_p_grad(d, m, lambda: m(x, t), {"x": x, "t": t})


class ClassIndices(nn.Module):
    def __init__(self, nll: bool) -> None:
        super().__init__()
        self.l, self.nll = nn.Linear(3, 5), nll

    def forward(self, x: Any, target: Any) -> Any:
        o = self.l(x)
        if self.nll:
            return F.nll_loss(F.log_softmax(o, dim=1), target, reduction="sum")
        return F.cross_entropy(o, target)


@pytest.mark.parametrize("nll", [False, True])
@pytest.mark.parametrize("convention", ["column", "row"])
def test_class_indices_as_a_forward_input_are_a_one_hot_target(nll: bool,
                                                                convention: Literal["column", "row"]) -> None:
    torch.manual_seed(2)
    m, x, t = ClassIndices(nll), torch.randn(4, 3), torch.randint(0, 5, (4,))
    d = sbp.from_torch(m, (x, t), convention=convention)
    assert d.keys["target"].shape == (4, 5)
    _same_as_p_grad(d, m, lambda: m(x, t), {"x": x, "target": t})
    assert d.check({**dict(m.named_parameters()), "x": x, "target": t}).ok


def test_class_indices_read_by_anything_but_a_loss_are_refused() -> None:
    class Times(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l = nn.Linear(3, 4)

        def forward(self, x: Any, t: Any) -> Any:
            return (self.l(x) * t.unsqueeze(1)).sum()

    with pytest.raises(sbp.UnsupportedError, match=r"class indices 't'.*cross-entropy"):
        sbp.from_torch(Times(), (torch.randn(4, 3), torch.randint(0, 4, (4,))))
    with pytest.raises(sbp.ShapeError, match="class indices"):
        sbp.from_torch(ClassIndices(False), (torch.randn(4, 3), torch.randint(0, 5, (3,))))


# --------------------------------------------------------------------------------------
# recurrent cells, stack, zeros


class Recurrent(nn.Module):
    """A cell over three steps of (B, 3, 3): the state None first (RNN, LSTM) or zeros
    (GRU, x.new_zeros), the states stacked and read back."""

    def __init__(self, kind: str, bias: bool) -> None:
        super().__init__()
        self.kind, self.cell = kind, getattr(nn, kind)(3, 4, bias=bias)
        self.out = nn.Linear(4, 2)

    def forward(self, x: Any) -> Any:
        h = x.new_zeros(x.shape[0], 4) if self.kind == "GRUCell" else None
        c = None
        states = []
        for t in range(3):
            if self.kind == "LSTMCell":
                h, c = self.cell(x[:, t], None if c is None else (h, c))
            else:
                h = self.cell(x[:, t], h)
            states.append(h)
        s = torch.stack(states, dim=1)  # (B, 3, 4)
        return self.out(s[:, -1] + s.sum(1))


@pytest.mark.parametrize("kind", ["RNNCell", "GRUCell", "LSTMCell"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("convention", ["column", "row"])
def test_recurrent_cells_equal_p_grad(kind: str, bias: bool, convention: Literal["column", "row"]) -> None:
    torch.manual_seed(3)
    m, x, y = Recurrent(kind, bias), torch.randn(2, 3, 3), torch.randn(2, 2)
    d = sbp.from_torch(m, x, loss=nn.MSELoss(), convention=convention)
    _same_as_p_grad(d, m, lambda: nn.MSELoss()(m(x), y), {"x": x, "y": y})


def test_a_relu_rnn_cell_and_stack_along_the_first_axis() -> None:
    class Relu(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell = nn.RNNCell(3, 4, nonlinearity="relu")

        def forward(self, x: Any, h: Any) -> Any:
            h1 = self.cell(x, h)
            h2 = self.cell(x, h1)
            return (torch.stack([h1, h2]) ** 2)[1].sum() + torch.stack([h1, h2], -1).mean()

    torch.manual_seed(4)
    m, x, h = Relu(), torch.randn(3, 3), torch.randn(3, 4)
    d = sbp.from_torch(m, (x, h), wrt=["cell.weight_ih", "cell.weight_hh", "cell.bias_ih",
                                        "cell.bias_hh", "h"])
    assert d.check().ok
    hh = h.clone().requires_grad_(True)
    m.zero_grad()
    m(x, hh).backward()
    g = d.evaluate({**dict(m.named_parameters()), "x": x, "h": h})
    assert hh.grad is not None
    np.testing.assert_allclose(g["h"], hh.grad.numpy(), rtol=1e-7, atol=1e-10)
    for key, p in m.named_parameters():
        assert p.grad is not None
        np.testing.assert_allclose(g[key], p.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_zeros_read_by_anything_but_a_cell_or_a_sum_are_refused() -> None:
    class Z(nn.Module):
        def forward(self, x: Any) -> Any:
            return (x * x.new_zeros(x.shape)).sum()

    with pytest.raises(sbp.UnsupportedError, match=r"zeros read by operator\.mul"):
        sbp.from_torch(Z(), torch.randn(3, 4))


# --------------------------------------------------------------------------------------
# F.layer_norm, F.cosine_similarity, norms


class Norms(nn.Module):
    def __init__(self, affine: bool) -> None:
        super().__init__()
        self.l, self.k = nn.Linear(3, 4), nn.Linear(3, 4)
        self.g = nn.Parameter(torch.randn(4)) if affine else None
        self.b = nn.Parameter(torch.randn(4)) if affine else None

    def forward(self, x: Any) -> Any:
        h = F.layer_norm(self.l(x), (4,), self.g, self.b, eps=1e-5)
        k = self.k(x)
        cos = F.cosine_similarity(h, k, dim=1)
        return (cos ** 2).sum() + h.norm() + h.norm(dim=1).sum() + \
            torch.norm(k, dim=0, keepdim=True).sum()


class TokenNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l, self.g = nn.Linear(3, 4), nn.Parameter(torch.randn(4))

    def forward(self, x: Any) -> Any:
        return F.layer_norm(self.l(x), (4,), self.g)


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("convention", ["column", "row"])
def test_layer_norm_cosine_similarity_and_norms_equal_p_grad(affine: bool,
                                                            convention: Literal["column", "row"]) -> None:
    torch.manual_seed(5)
    m, x = Norms(affine), torch.randn(5, 3)
    d = sbp.from_torch(m, x, convention=convention)
    _same_as_p_grad(d, m, lambda: m(x), {"x": x})


@pytest.mark.parametrize("convention", ["column", "row"])
def test_layer_norm_of_tokens_equals_p_grad(convention: Literal["column", "row"]) -> None:
    torch.manual_seed(6)
    m, x = TokenNorm(), torch.randn(2, 3, 3)
    y = torch.randn(2, 3, 4)
    d = sbp.from_torch(m, x, loss=nn.MSELoss(), convention=convention)
    _same_as_p_grad(d, m, lambda: nn.MSELoss()(m(x), y), {"x": x, "y": y})


def test_norms_other_than_the_2_norm_are_refused() -> None:
    class L1(nn.Module):
        def forward(self, x: Any) -> Any:
            return x.norm(p=1)

    with pytest.raises(sbp.UnsupportedError, match="only the 2-norm"):
        sbp.from_torch(L1(), torch.randn(3, 4))
