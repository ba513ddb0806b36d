"""from_torch reads what the module computes: what torch.fx does not record (a no-grad block,
an in-place change of an aliased tensor) is refused by the fidelity check, an in-place layer
whose input is read elsewhere is refused, each call of one Dropout takes its own mask, sizes
read from the input are numbers, and a 0-d tensor constant is its number. The oracle is
torch.autograd on the real module."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="from_torch needs PyTorch (pip install '.[torch]')")

import torch
import torch.nn.functional as F
from torch import nn

import symbackprop as sbp


def torch_grads(model: nn.Module, inputs: tuple[Any, ...], y: Any, loss: Any) -> dict[str, Any]:
    """The oracle: p.grad of the real module (None as zeros)."""
    model.zero_grad()
    loss(model(*inputs), y).backward()
    return {k: np.zeros(tuple(p.shape)) if p.grad is None else p.grad.numpy()
            for k, p in model.named_parameters()}


def assert_agrees(d: Any, model: nn.Module, x: Any, y: Any, loss: Any,
                  extra: dict[str, Any] | None = None) -> None:
    """d.evaluate under the module's keys is p.grad; the forward value is torch's."""
    values = {**dict(model.named_parameters()), "x": x, "y": y, **(extra or {})}
    want = torch_grads(model, (x,), y, loss)
    got = d.evaluate(values)
    for key, g in want.items():  # a layer the output never reaches: no gradient either way
        np.testing.assert_allclose(got.get(key, 0.0), g, rtol=1e-4, atol=1e-6, err_msg=key)
    with torch.no_grad():
        value = float(loss(model(x), y))
    assert d.trace(values).rows[-1].value == pytest.approx(value, rel=1e-5)


# 1. no-grad blocks: fx does not record them ---------------------------------------------


class NoGradBlock(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 2)

    @torch.no_grad()
    def frozen(self, x: Any) -> Any:
        return torch.tanh(self.a(x))

    def forward(self, x: Any) -> Any:
        if self.how == "decorator":
            return self.b(self.frozen(x))
        if self.how == "set_grad_enabled":
            with torch.set_grad_enabled(False):
                h = torch.tanh(self.a(x))
            return self.b(h)
        if self.how == "scale":  # normalised by a statistic that carries no gradient
            h = torch.tanh(self.a(x))
            with torch.no_grad():
                sc = (h * h).sum(1, keepdim=True)
            return self.b(h / sc)
        with torch.no_grad():
            h = torch.tanh(self.a(x))
        return self.b(h)


@pytest.mark.parametrize("how", ["block", "set_grad_enabled", "decorator", "scale"])
def test_a_no_grad_block_is_refused(how: str) -> None:
    torch.manual_seed(0)
    model, x, y = NoGradBlock(how), torch.randn(5, 4), torch.randn(5, 2)
    grads = torch_grads(model, (x,), y, nn.MSELoss())  # what PyTorch trains with
    if how != "scale":
        assert not grads["a.weight"].any()
    with pytest.raises(sbp.UnsupportedError, match=r"gradient of 'a\.(weight|bias)'") as e:
        sbp.from_torch(model, x, loss=nn.MSELoss())
    assert "torch.no_grad()" in str(e.value)
    assert "as an input" in str(e.value)


# 2. in-place arithmetic on a tensor another name holds ----------------------------------


class Aliased(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.l1, self.l2 = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: Any) -> Any:
        h = self.l1(x)
        if self.how == "iadd_skip":
            skip = h
            h += 1.0
            return torch.tanh(h) * skip
        if self.how == "imul":
            g = h
            h *= 2
            return self.l2(g) + h
        if self.how == "view":
            h2 = h.view(5, 4)
            h2 *= 3
            return h
        if self.how == "identity":  # PyTorch's own backward raises here
            out = torch.tanh(h)
            identity = out
            out += 0.5 * self.l2(out)
            return out + identity
        h += x  # no alias: read as it is
        return self.l2(torch.tanh(h))


@pytest.mark.parametrize("how", ["iadd_skip", "imul", "view", "identity"])
def test_an_in_place_change_of_an_aliased_tensor_is_refused(how: str) -> None:
    torch.manual_seed(0)
    model, x = Aliased(how), torch.randn(5, 4)
    with pytest.raises(sbp.UnsupportedError, match="in-place") as e:
        sbp.from_torch(model, x, loss=nn.MSELoss())
    assert "h = h + 1" in str(e.value)


def test_in_place_arithmetic_without_an_alias_and_the_module_untouched() -> None:
    """``h += x`` with no other name is read; the check runs on a float64 copy: the
    module's parameters, BatchNorm's running statistics and the random state stay."""
    torch.manual_seed(0)
    model, x, y = Aliased("plain"), torch.randn(5, 4), torch.randn(5, 4)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    assert_agrees(d, model, x, y, nn.MSELoss())

    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.3), nn.Linear(4, 2))
    before, x = copy.deepcopy(net.state_dict()), torch.randn(6, 3)
    rng = torch.random.get_rng_state()
    d = sbp.from_torch(net, x, loss=nn.MSELoss())
    assert torch.equal(torch.random.get_rng_state(), rng)
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), k
        assert v.dtype == before[k].dtype, k
    assert torch.get_default_dtype() == torch.float32
    assert d.check().ok


def test_a_forward_that_runs_in_float32_only_is_checked_in_its_own_dtype() -> None:
    """``x.float()`` makes the float64 copy fail; the check runs in the module's dtypes."""
    class Cast(nn.Module):
        def __init__(self, alias: bool) -> None:
            super().__init__()
            self.alias, self.l = alias, nn.Linear(3, 4)

        def forward(self, x: Any) -> Any:
            h = self.l(x.float())
            if self.alias:
                skip = h
                h += 1
                return h * skip
            return h

    torch.manual_seed(0)
    x, y = torch.randn(5, 3), torch.randn(5, 4)
    model = Cast(False)
    assert_agrees(sbp.from_torch(model, x, loss=nn.MSELoss()), model, x, y, nn.MSELoss())
    with pytest.raises(sbp.UnsupportedError, match="the output"):
        sbp.from_torch(Cast(True), x, loss=nn.MSELoss())


class Unpicklable(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def __getattr__(self, name: str) -> Any:
        if name == "fc":
            return super().__getattr__(name)
        raise RuntimeError(f"no {name}")

    def forward(self, x: Any) -> Any:
        return self.fc(x)


def test_a_module_that_cannot_be_copied_is_refused_by_name() -> None:
    with pytest.raises(sbp.UnsupportedError, match=r"copy\.deepcopy of it raised RuntimeError"):
        sbp.from_torch(Unpicklable(), torch.randn(2, 3), loss=nn.MSELoss())


def test_a_value_computed_from_the_parameters_is_refused() -> None:
    """fx keeps ``sum(p**2 for p in self.parameters())`` as a constant; PyTorch
    differentiates it."""
    class Decay(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = nn.Sequential(nn.Linear(3, 4))

        def forward(self, x: Any) -> Any:
            return self.net(x).sum() + 0.01 * sum((p ** 2).sum() for p in self.net.parameters())

    with pytest.raises(sbp.UnsupportedError, match=r"self\.parameters\(\)"):
        sbp.from_torch(Decay(), torch.randn(5, 3))


# 3. in-place layers whose input is read elsewhere ---------------------------------------


class InplaceLayer(nn.Module):
    def __init__(self, how: str, act: nn.Module) -> None:
        super().__init__()
        self.how, self.act = how, act
        self.fc, self.o = nn.Linear(4, 4), nn.Linear(4, 4)

    def forward(self, x: Any) -> Any:
        h = self.fc(x)
        if self.how == "skip":
            skip = h
            h = self.act(h)
            return self.o(h) + skip
        if self.how == "discarded":
            self.act(h)
            return self.o(h)
        if self.how == "view":
            skip = h
            self.act(h[:, :2])
            return self.o(skip)
        return self.o(self.act(h)) + x


@pytest.mark.parametrize("how", ["skip", "discarded", "view"])
@pytest.mark.parametrize("act", [nn.ReLU, nn.LeakyReLU, nn.ELU, nn.Hardtanh, nn.SiLU,
                                 nn.Dropout])
def test_an_in_place_layer_whose_input_is_read_elsewhere_is_refused(how: str,
                                                                     act: Any) -> None:
    torch.manual_seed(0)
    model = InplaceLayer(how, act(inplace=True))
    with pytest.raises(sbp.UnsupportedError, match=r"inplace=False"):
        sbp.from_torch(model, torch.randn(5, 4), loss=nn.MSELoss())


def test_an_in_place_layer_read_once_is_read() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(5, 4), torch.randn(5, 4)
    idle = InplaceLayer("skip", nn.Dropout(0.5, inplace=True)).eval()  # changes nothing
    for model in (InplaceLayer("plain", nn.ReLU(inplace=True)), idle,
                  nn.Sequential(nn.Linear(4, 6), nn.ReLU(inplace=True), nn.Linear(6, 4),
                                nn.LeakyReLU(0.1, inplace=True))):
        d = sbp.from_torch(model, x, loss=nn.MSELoss())
        assert_agrees(d, model, x, y, nn.MSELoss())


def test_an_in_place_layer_on_an_item_of_a_cell_s_pair_is_read() -> None:
    """``h, c = cell(x)``: h is an item of a tuple, not a view of something read again."""
    class Cell(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.cell, self.act, self.o = nn.LSTMCell(3, 4), nn.ReLU(inplace=True), \
                nn.Linear(4, 2)

        def forward(self, x: Any) -> Any:
            h, c = self.cell(x)
            return self.o(self.act(h)) + c.sum()

    torch.manual_seed(0)
    model, x, y = Cell(), torch.randn(5, 3), torch.randn(5, 2)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    assert_agrees(d, model, x, y, nn.MSELoss())


# 4. one Dropout called at several places ------------------------------------------------


class SharedDropout(nn.Module):
    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, hidden), nn.Linear(hidden, 4)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: Any) -> Any:
        return self.b(self.drop(F.relu(self.a(self.drop(x)))))


@pytest.mark.parametrize("hidden", [4, 6])
@pytest.mark.parametrize("convention", ["column", "row"])
def test_each_call_of_one_dropout_takes_its_own_mask(hidden: int, convention: str) -> None:
    torch.manual_seed(1)
    model, x, y = SharedDropout(hidden), torch.randn(5, 4), torch.randn(5, 4)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), convention=convention)  # type: ignore
    keys = {k.key: n for n, k in d.keys.items()}
    assert {"drop.mask", "drop.mask.2"} <= set(keys)
    assert keys["drop.mask"] != keys["drop.mask.2"]
    assert d.keys[keys["drop.mask.2"]].shape == (5, hidden)
    assert d.check().ok
    # the masks PyTorch draws, one per call, read back from each call's output
    masks: list[Any] = []
    hook = model.drop.register_forward_hook(
        lambda m, i, o: masks.append(((o != 0) | (i[0] == 0)).double()))
    torch.manual_seed(7)
    want = torch_grads(model, (x,), y, nn.MSELoss())
    hook.remove()
    assert len(masks) == 2
    values = {**dict(model.named_parameters()), "x": x, "y": y, "drop.mask": masks[0],
              "drop.mask.2": masks[1]}
    got = d.evaluate(values)
    for key, g in want.items():
        np.testing.assert_allclose(got[key], g, rtol=1e-4, atol=1e-6, err_msg=key)
    assert d.check(values).ok
    assert d.trace(values).rows[-1].value is not None


# 5. sizes read from the input -----------------------------------------------------------


class Sized(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.how = how
        self.l = nn.Linear(4, 4)
        self.rnn, self.lstm = nn.RNNCell(4, 5), nn.LSTMCell(4, 5)

    def forward(self, x: Any) -> Any:
        if self.how == "slice":  # x (2, 3, 4)
            T = x.shape[1]
            return self.l(x)[:, :T - 1]
        if self.how == "slice2d":
            n = x.size(1)
            return self.l(x)[:, n // 2:]
        if self.how == "rnn":
            return self.rnn(x, torch.zeros(x.size(0), 5))
        if self.how == "lstm":
            B = x.shape[0]
            state = (torch.zeros(B, 5, device=x.device), torch.zeros((B, 5), dtype=x.dtype))
            h, _ = self.lstm(x, state)
            return h + torch.ones(B, 5) + torch.ones(h.size(1))
        return self.l(x) * torch.ones(x.shape)  # x (2, 3, 4)


@pytest.mark.parametrize("how", ["slice", "slice2d", "rnn", "lstm", "ones3d"])
@pytest.mark.parametrize("convention", ["column", "row"])
def test_sizes_read_from_the_input_are_numbers(how: str, convention: str) -> None:
    torch.manual_seed(0)
    model = Sized(how)
    x = torch.randn(2, 3, 4) if how in ("slice", "ones3d") else torch.randn(3, 4)
    y = torch.randn(model(x).shape)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), convention=convention)  # type: ignore
    assert d.check().ok
    assert_agrees(d, model, x, y, nn.MSELoss())


def test_an_index_of_a_tensor_s_value_is_refused_by_name() -> None:
    class Bad(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l = nn.Linear(4, 4)

        def forward(self, x: Any) -> Any:
            return self.l(x)[:, :x.sum()]

    with pytest.raises(sbp.UnsupportedError, match="indexing with a computed"):
        sbp.from_torch(Bad(), torch.randn(3, 4), loss=nn.MSELoss())


# 6. a cross-entropy target whose samples do not sum to 1 --------------------------------


def test_a_soft_target_that_does_not_sum_to_one_is_refused_in_pytorch_s_terms() -> None:
    torch.manual_seed(0)
    m, x = nn.Linear(3, 4), torch.randn(4, 3)
    y = torch.tensor([[0.5, 0.5, 0, 0], [0, 1, 0, 1], [1, 0, 0, 0], [0, 0, 1, 1.0]])
    values = {**dict(m.named_parameters()), "x": x, "y": y}
    d = sbp.from_torch(m, x, loss=nn.CrossEntropyLoss())
    for call in (d.evaluate, d.check, d.trace):
        with pytest.raises(sbp.UnsupportedError, match=r"sample 1 \(row 1 of 'y'\) sums to 2"):
            call(values)
    # the row convention writes the cross-entropy out: PyTorch's gradient for any target
    row = sbp.from_torch(m, x, loss=nn.CrossEntropyLoss(), convention="row")
    assert_agrees(row, m, x, y, nn.CrossEntropyLoss())


# 7. a 0-d tensor constant ---------------------------------------------------------------


class Scalars(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l = nn.Linear(3, 4)

    def forward(self, x: Any) -> Any:
        h = self.l(x)
        return torch.min(h, torch.tensor(0.2)) * torch.tensor(3.0) + torch.max(
            h, torch.tensor(-1))


def test_a_0d_tensor_constant_is_its_number() -> None:
    torch.manual_seed(0)
    model, x, y = Scalars(), torch.randn(5, 3), torch.randn(5, 4)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    assert "0.2" in d.text
    assert "_tensor_constant" not in str(d.keys)
    assert d.check().ok
    assert_agrees(d, model, x, y, nn.MSELoss())


def test_a_0d_buffer_of_the_user_s_is_refused_by_its_name() -> None:
    class Buffered(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l = nn.Linear(3, 4)
            self.register_buffer("t", torch.tensor(2.0))

        def forward(self, x: Any) -> Any:
            return self.l(x) * self.t

    with pytest.raises(sbp.UnsupportedError, match=r"buffer 't' has shape \(\).*\(1,\)"):
        sbp.from_torch(Buffered(), torch.randn(5, 3), loss=nn.MSELoss())


def test_f_layer_norm_s_weight_and_bias_are_named_gamma_and_beta() -> None:
    class Normed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.rand(4) + 0.5)
            self.b = nn.Parameter(torch.randn(4))

        def forward(self, x: Any) -> Any:
            return F.layer_norm(x, (4,), self.w, self.b)

    torch.manual_seed(0)
    model, x, y = Normed(), torch.randn(5, 4), torch.randn(5, 4)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    assert {n: k.key for n, k in d.keys.items() if k.key in ("w", "b")} == {"gamma1": "w",
                                                                          "beta1": "b"}
    assert_agrees(d, model, x, y, nn.MSELoss())


def test_a_no_grad_block_over_a_parameter_of_the_module_itself_is_refused() -> None:
    """A parameter of the root module (read by get_attr, not by a layer) is compared too."""
    class Root(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.randn(4, 3))

        def forward(self, x: Any) -> Any:
            with torch.no_grad():
                h = x @ self.w.T
            return torch.tanh(h) * torch.tensor(2.0)

    with pytest.raises(sbp.UnsupportedError, match="gradient of 'w'"):
        sbp.from_torch(Root(), torch.randn(5, 3), loss=nn.MSELoss())


# --- re-test round J2 ----------------------------------------------------------------------


@pytest.mark.parametrize("through", ["identity", "eval_dropout", "f_dropout", "tt", "float"])
def test_an_in_place_layer_through_an_identity_like_call_is_refused(through: str) -> None:
    """nn.Identity, a Dropout that drops nothing, F.dropout(training=False), h.T.T and
    h.float() hand back h itself (or a view): ReLU(inplace=True) after them changes h, read
    elsewhere too; the alias check looked only through views."""
    class M(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)
            self.id, self.drop = nn.Identity(), nn.Dropout(0.3)
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x: Any) -> Any:
            h = self.a(x)
            ways: dict[str, Any] = {
                "identity": lambda: self.id(h), "eval_dropout": lambda: self.drop(h),
                "f_dropout": lambda: F.dropout(h, 0.3, training=False),
                "tt": lambda: h.T.T, "float": lambda: h.float()}
            g = ways[through]()
            return self.b(self.relu(g)) + h

    m = M().eval()
    with pytest.raises(sbp.UnsupportedError, match=r"ReLU\(inplace=True\).*read elsewhere"):
        sbp.from_torch(m, torch.randn(3, 4), loss=nn.MSELoss(reduction="sum"))


def test_tied_weights_are_one_parameter() -> None:
    """dec.weight = enc.weight (GPT-2's tied embedding): read as two independent weights,
    check() ok (its torch witness read dec.weight from the module), and the documented
    dict(m.named_parameters()) lacked dec.weight. One tensor is one input now."""
    torch.manual_seed(0)

    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.enc, self.dec = nn.Linear(6, 6), nn.Linear(6, 6)
            self.dec.weight = self.enc.weight

        def forward(self, x: Any) -> Any:
            return self.dec(torch.tanh(self.enc(x)))

    m, x, y = Tied().double(), torch.randn(5, 6, dtype=torch.float64), torch.randn(
        5, 6, dtype=torch.float64)
    loss = nn.MSELoss(reduction="sum")
    d = sbp.from_torch(m, x, loss=loss)
    vals = {**dict(m.named_parameters()), "x": x, "y": y}
    g = d.evaluate(vals)
    loss(m(x), y).backward()
    assert m.enc.weight.grad is not None
    np.testing.assert_allclose(g["enc.weight"], m.enc.weight.grad.numpy(), rtol=1e-10)
    assert "dec.weight" not in g
    assert d.check(vals).ok
    right = {k: p.grad for k, p in m.named_parameters()}
    assert sbp.gradcheck(d, vals, grad=lambda **v: right)


def test_a_gradient_hook_is_refused() -> None:
    """p.register_hook(lambda g: 10 * g) changes p.grad, not the forward: the derivation and
    check() disagreed with p.grad silently."""
    layer = nn.Linear(3, 2)
    layer.weight.register_hook(lambda g: 10 * g)  # type: ignore[no-untyped-call]
    m = nn.Sequential(layer)
    with pytest.raises(sbp.UnsupportedError, match="gradient hook"):
        sbp.from_torch(m, torch.randn(4, 3))


class FedBack(nn.Module):
    """An LSTMCell's pair fed back whole, PyTorch's idiom: ``st = cell(x, st)``."""

    def __init__(self) -> None:
        super().__init__()
        self.cell, self.out = nn.LSTMCell(2, 3), nn.Linear(3, 2)

    def forward(self, x: Any) -> Any:
        st = self.cell(x)
        st = self.cell(x, st)
        st = self.cell(x, st)
        return self.out(st[0]) + st[1][:, :2]


@pytest.mark.parametrize("convention", ["column", "row"])
def test_an_lstm_cell_s_pair_is_fed_back_whole(convention: str) -> None:
    """``st = cell(x, st)`` was refused ('the state is the pair (h, c)') where ``h, c =
    cell(x, (h, c))`` was read (a held-out case)."""
    torch.manual_seed(0)
    model, x, y = FedBack().double(), torch.randn(3, 2, dtype=torch.float64), \
        torch.randn(3, 2, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), convention=convention)  # type: ignore[arg-type]
    assert_agrees(d, model, x, y, nn.MSELoss())


class Unsqueezed(nn.Module):
    def __init__(self, dim: int, at: int) -> None:
        super().__init__()
        self.a, self.dim, self.at = nn.Linear(3, 4), dim, at

    def forward(self, x: Any) -> Any:
        h = self.a(x)
        return h * h.sum(dim=self.dim).unsqueeze(self.at)


@pytest.mark.parametrize(("dim", "at"), [(1, 1), (1, -1), (0, 0)])
@pytest.mark.parametrize("convention", ["column", "row"])
def test_a_one_d_value_unsqueezed_is_a_column_or_a_row(dim: int, at: int,
                                                       convention: str) -> None:
    """``h * h.sum(dim=1).unsqueeze(1)``: the (batch,) sum made (batch, 1) was refused
    ('Tensor.unsqueeze of a (2,) vec'; a held-out case). A 1-D value is its column in
    PyTorch's layout: unsqueeze(1) is it, unsqueeze(0) its row."""
    torch.manual_seed(1)
    model, x, y = Unsqueezed(dim, at).double(), torch.randn(2, 3, dtype=torch.float64), \
        torch.randn(2, 4, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), convention=convention)  # type: ignore[arg-type]
    assert_agrees(d, model, x, y, nn.MSELoss())


class _Embedded(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.e, self.o = nn.Embedding(5, 3), nn.Linear(3, 2)

    def forward(self, x: Any) -> Any:
        return self.o(self.e(x))


@pytest.mark.parametrize(("model", "where"), [
    (_Embedded(), "'e'"), (nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 2)), "'0'")])
def test_an_embedding_is_refused_by_name_however_it_is_called(model: nn.Module,
                                                              where: str) -> None:
    """A module's own nn.Embedding of an index tensor said 'class indices read by e: only
    as the target of a cross-entropy' where a Sequential's said the layer is not supported
    (a held-out case): both name the layer now."""
    with pytest.raises(sbp.UnsupportedError, match=f"Embedding at {where} is not supported"):
        sbp.from_torch(model, torch.tensor([1, 2, 3]), loss=nn.MSELoss())
