"""Chapter 06 exercise checks: correct answers pass, and the typical mistakes are caught
with a verdict that points at them (the notebook runs the worked solutions in strict mode)."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.exercises import ExerciseFailed, ch06
from course_lib.scratch.autograd import Value


def _sce(scores, y, stable=True):
    z = scores - scores.max(axis=1, keepdims=True) if stable else scores
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))     # overflows unless stable
    n = len(y)
    p = np.exp(log_p)
    p[np.arange(n), y] -= 1
    return -log_p[np.arange(n), y].mean(), p / n


def _sin(sign=1.0, op=math.sin):
    return lambda x: Value(op(x.data), parents=(x,), op="sin",
                           local_grads=(sign * math.cos(x.data),))


CASES = {
    "check_linear_backward": (
        lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.sum(axis=0)),
        [(lambda dout, x, W, b: (dout @ W.T, x.T @ dout, dout.mean(axis=0)), "wrong value"),
         (lambda dout, x, W, b: (dout @ W, x.T @ dout, dout.sum(axis=0)), "❌"),
         (lambda dout, x, W, b: (W @ dout.T, x.T @ dout, dout.sum(axis=0)), "❌")]),
    "check_elu_backward": (
        lambda dout, x, a: np.where(x > 0, dout, dout * a * np.exp(np.minimum(x, 0))),
        [(lambda dout, x, a: np.where(x > 0, dout, a * np.exp(np.minimum(x, 0))), "wrong value"),
         (lambda dout, x, a: np.where(x > 0, dout, dout * (a * np.expm1(np.minimum(x, 0)))),
          "wrong value")]),
    "check_softmax_cross_entropy": (
        _sce,
        [(lambda s, y: _sce(s, y, stable=False), "the loss is"),
         (lambda s, y: (_sce(s, y)[0], _sce(s, y)[1] * len(y)), "wrong dscores"),
         (lambda s, y: _sce(s, y)[0], "pair")]),
    "check_value_sin": (
        _sin(),
        [(_sin(-1.0), "wrong value"), (_sin(op=math.cos), "wrong value"),
         (lambda x: math.sin(x.data), "must return a Value")]),
    "check_elm_output_weights": (
        lambda H, Y, lam: np.linalg.solve(H.T @ H + lam * np.eye(H.shape[1]), H.T @ Y),
        [(lambda H, Y, lam: np.linalg.lstsq(H, Y, rcond=None)[0], "wrong value"),
         (lambda H, Y, lam: np.linalg.solve(H.T @ H + lam * np.eye(H.shape[1]), H.T @ Y).T,
          "❌")]),
}


@pytest.mark.parametrize("name", CASES)
def test_correct_solution_passes(name, capsys):
    assert getattr(ch06, name)(CASES[name][0], strict=True)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("name, i", [(n, i) for n, (_, wrong) in CASES.items()
                                     for i in range(len(wrong))])
def test_typical_mistakes_fail_with_a_pointer(name, i, capsys):
    fn, expected = CASES[name][1][i]
    with np.errstate(all="ignore"):
        v = getattr(ch06, name)(fn, strict=False)
    assert not v and expected in v.message, v.message


# ------------------------------------------------- check_mlp_module: the learner's nn.Module

class _MyMLP(nn.Module):
    """The worked solution: Linear layers in an nn.ModuleList, ReLU between them."""

    def __init__(self, sizes, bias=True, act=torch.relu, act_last=False, store=nn.ModuleList):
        super().__init__()
        self.layers = store(nn.Linear(a, b, bias=bias)
                            for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        self.act, self.act_last = act, act_last

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1 or self.act_last:
                x = self.act(x)
        return x


class _ByHand(nn.Module):
    """The x @ W + b convention, with nn.Parameter: weights (in, out), copied transposed."""

    def __init__(self, sizes):
        super().__init__()
        self.Ws = nn.ParameterList()
        self.bs = nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:], strict=True):
            self.Ws.append(nn.Parameter(torch.randn(a, b) / a ** 0.5))
            self.bs.append(nn.Parameter(torch.zeros(b)))

    def parameters(self, recurse=True):       # W1, b1, W2, b2, ...: the order of the contract
        for W, b in zip(self.Ws, self.bs, strict=True):
            yield W
            yield b

    def forward(self, x):
        for i, (W, b) in enumerate(zip(self.Ws, self.bs, strict=True)):
            x = x @ W + b
            if i < len(self.Ws) - 1:
                x = torch.relu(x)
        return x


class _Labels(_MyMLP):
    def forward(self, x):
        return super().forward(x).argmax(dim=1)          # labels, not logits


class _DetachedFirst(_MyMLP):
    def forward(self, x):
        x = torch.relu(self.layers[0](x).detach())       # no gradient reaches layer 0
        for layer in self.layers[1:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x)


MODULE_MISTAKES = [
    (lambda s: _MyMLP(s, act=lambda x: x), "logits differ"),            # no activation
    (lambda s: _MyMLP(s, act_last=True), "logits differ"),              # ReLU on the logits
    (lambda s: _MyMLP(s, act=torch.tanh), "logits differ"),             # another activation
    (lambda s: _MyMLP([s[0], s[1] + 1, *s[2:]]), "parameters, expected"),  # wrong width
    (lambda s: _MyMLP(s[:1] + s[2:]), "parameters, expected"),          # a layer missing
    (lambda s: _MyMLP(s, bias=False), "no bias"),
    (lambda s: _MyMLP(s, store=list), "parameters, expected"),          # not registered
    (lambda s: _MyMLP(s[:-1] + [s[-1] + 1]), "wrong output shape"),
    (_Labels, "wrong output shape"),
    (_DetachedFirst, "after one SGD step"),
    (lambda s: _MyMLP(s).layers, "has no forward method"),             # a ModuleList
    (lambda s: _MyMLP(s).forward, "must give an nn.Module"),
    (lambda s: nn.Sequential(*_MyMLP(s).layers), "logits differ"),      # Linear, Linear: no ReLU
]


def _sequential(sizes):
    """nn.Sequential(Linear, ReLU, ..., Linear): the same MLP without writing a class."""
    mods = [m for a, b in zip(sizes[:-1], sizes[1:], strict=True)
            for m in (nn.Linear(a, b), nn.ReLU())]
    return nn.Sequential(*mods[:-1])


@pytest.mark.parametrize("factory", [_MyMLP, _ByHand, _sequential])
def test_mlp_module_accepts_correct_modules(factory, capsys):
    assert ch06.check_mlp_module(factory, strict=True)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize("i", range(len(MODULE_MISTAKES)))
def test_mlp_module_catches_mistakes(i):
    factory, expected = MODULE_MISTAKES[i]
    v = ch06.check_mlp_module(factory, strict=False)
    assert not v and expected in v.message, v.message


def test_mlp_module_not_done_and_strict():
    class Stub(nn.Module):
        def __init__(self, sizes):
            raise NotImplementedError

    assert "not done yet" in ch06.check_mlp_module(Stub, strict=False).message
    assert "expected a function" in ch06.check_mlp_module(None, strict=False).message
    with pytest.raises(ExerciseFailed):
        ch06.check_mlp_module(_MyMLP([2, 3]), strict=True)       # an instance, not a class
    state = torch.random.get_rng_state()
    ch06.check_mlp_module(_MyMLP, strict=True)
    assert torch.equal(state, torch.random.get_rng_state())       # the global generator untouched
