"""course_lib.scratch.optim: every optimiser step for step against torch.optim, schedules
against torch.optim.lr_scheduler or their formulas, and clear errors."""

import math
import warnings

import numpy as np
import pytest
import torch

from course_lib.scratch import optim
from course_lib.scratch.optim import (
    SGD,
    AdaDelta,
    AdaGrad,
    Adam,
    AdamW,
    RMSprop,
    cosine_decay,
    cyclic_lr,
    exponential_decay,
    inverse_time_decay,
    natural_exp_decay,
    step_decay,
    warmup_cosine,
)

# ----------------------------------------------------------------------------- a real loss
# A small tanh network on fixed data: four parameter tensors of different shapes (matrix,
# vector, matrix, 0-d scalar), gradients that change from step to step.

_rng = np.random.default_rng(0)
X = torch.tensor(_rng.normal(size=(16, 5)))
Y = torch.tensor(_rng.integers(0, 3, size=16))
SHAPES = [(5, 4), (4,), (4, 3), ()]


def loss_and_grads(params_np):
    """Cross-entropy of softmax(s · tanh(X W1 + b1) W2) and its gradients, via autograd."""
    W1, b1, W2, s = (torch.tensor(p, requires_grad=True) for p in params_np)
    logits = s * torch.tanh(X @ W1 + b1) @ W2
    loss = torch.nn.functional.cross_entropy(logits, Y) + 0.1 * (W1 ** 4).sum()
    loss.backward()
    return loss.item(), [t.grad.numpy().copy() for t in (W1, b1, W2, s)]


def initial_params(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) if s else np.array(1.5) for s in SHAPES]


CONFIGS = [
    ("SGD", SGD, torch.optim.SGD, dict(lr=0.1)),
    ("SGD wd", SGD, torch.optim.SGD, dict(lr=0.1, weight_decay=0.05)),
    ("SGD momentum", SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("SGD dampening", SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.8, dampening=0.3)),
    ("SGD nesterov", SGD, torch.optim.SGD,
     dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("AdaGrad", AdaGrad, torch.optim.Adagrad, dict(lr=0.1)),
    ("AdaGrad wd init", AdaGrad, torch.optim.Adagrad,
     dict(lr=0.1, weight_decay=0.05, initial_accumulator_value=0.3, eps=1e-6)),
    ("AdaDelta", AdaDelta, torch.optim.Adadelta, dict()),
    ("AdaDelta wd", AdaDelta, torch.optim.Adadelta,
     dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.05)),
    ("RMSprop", RMSprop, torch.optim.RMSprop, dict(lr=0.01)),
    ("RMSprop centered", RMSprop, torch.optim.RMSprop,
     dict(lr=0.01, centered=True, weight_decay=0.02)),
    ("RMSprop momentum", RMSprop, torch.optim.RMSprop,
     dict(lr=0.005, momentum=0.9, alpha=0.9, weight_decay=0.02)),
    ("RMSprop centered momentum", RMSprop, torch.optim.RMSprop,
     dict(lr=0.005, momentum=0.5, centered=True)),
    ("Adam", Adam, torch.optim.Adam, dict(lr=0.05)),
    ("Adam wd", Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1)),
    ("AdamW", AdamW, torch.optim.AdamW, dict(lr=0.05)),
    ("AdamW wd", AdamW, torch.optim.AdamW,
     dict(lr=0.05, betas=(0.5, 0.9), eps=1e-6, weight_decay=0.3)),
]


@pytest.mark.parametrize("name,ours,theirs,kw", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_matches_torch_optim_step_for_step(name, ours, theirs, kw):
    params = initial_params()
    opt = ours(params, **kw)
    tparams = [torch.tensor(p, requires_grad=True) for p in initial_params()]
    topt = theirs(tparams, **kw)
    losses, worst = [], 0.0
    for _ in range(15):
        # each side follows its own trajectory: gradients at its own current parameters
        loss, grads = loss_and_grads(params)
        opt.step(grads)
        _, tgrads = loss_and_grads([t.detach().numpy() for t in tparams])
        for t, g in zip(tparams, tgrads, strict=True):
            t.grad = torch.tensor(g)
        topt.step()
        losses.append(loss)
        for p, t in zip(params, tparams, strict=True):
            worst = max(worst, float(np.max(np.abs(p - t.detach().numpy()))))
    assert opt.t == 15
    assert worst < 1e-10, f"{name}: max |ours - torch| = {worst:.2e}"
    assert losses[-1] < losses[0], f"{name}: the loss did not go down"
    # the state buffers are the ones torch keeps, under the same names
    for key, value in opt.state[0].items():
        if key in topt.state[tparams[0]]:
            np.testing.assert_allclose(value, topt.state[tparams[0]][key].numpy(),
                                       rtol=1e-9, atol=1e-12)


def test_changing_lr_between_steps_matches_torch():
    params, tparams = initial_params(), [torch.tensor(p, requires_grad=True)
                                         for p in initial_params()]
    opt, topt = Adam(params, lr=0.1), torch.optim.Adam(tparams, lr=0.1)
    for t in range(10):
        lr = cosine_decay(0.1, t, 10, lr_min=0.01)
        opt.lr = lr
        topt.param_groups[0]["lr"] = lr
        _, grads = loss_and_grads(params)
        opt.step(grads)
        for tp, g in zip(tparams, grads, strict=True):
            tp.grad = torch.tensor(g)
        topt.step()
    for p, t in zip(params, tparams, strict=True):
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=0, atol=1e-10)


def test_single_array_and_float32_param():
    w = np.ones(3, dtype=np.float32)
    SGD(w, lr=0.5).step(np.array([1.0, 2.0, 0.0]))
    np.testing.assert_allclose(w, [0.5, 0.0, 1.0])
    assert w.dtype == np.float32


def test_adam_l2_differs_from_adamw():
    """With Adam, L2 on the gradient is not weight decay; with SGD the two are the same."""
    a, b = [np.array([1.0, 1.0])], [np.array([1.0, 1.0])]
    g = np.array([10.0, 0.01])                       # one steep, one flat coordinate
    la, lb = Adam(a, lr=0.1, weight_decay=0.1), AdamW(b, lr=0.1, weight_decay=0.1)
    for _ in range(5):
        la.step([g])
        lb.step([g])
    assert not np.allclose(a[0], b[0])


def test_errors():
    p = [np.zeros(3)]
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        SGD(p, lr=0.0)
    with pytest.raises(ValueError, match="nesterov=True needs momentum > 0"):
        SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match=r"betas\[0\] must be in \[0.0, 1.0\)"):
        Adam(p, betas=(1.0, 0.999))
    with pytest.raises(ValueError, match=r"betas\[1\] must be in"):
        AdamW(p, betas=(0.9, 1.5))
    with pytest.raises(ValueError, match=r"betas\[1\] must be finite and >= 0"):
        Adam(p, betas=(0.9, -0.1))
    with pytest.raises(TypeError, match="betas must be a pair"):
        Adam(p, betas=0.9)
    with pytest.raises(ValueError, match=r"rho must be in \[0.0, 1.0\]"):
        AdaDelta(p, rho=1.5)
    with pytest.raises(ValueError, match="weight_decay must be finite and >= 0"):
        RMSprop(p, weight_decay=-1.0)
    with pytest.raises(TypeError, match=r"params\[0\] must be a float NumPy array"):
        SGD([np.zeros(3, dtype=int)], lr=0.1)
    with pytest.raises(TypeError, match=r"params\[0\] must be a float NumPy array"):
        SGD([[0.0, 1.0]], lr=0.1)
    with pytest.raises(TypeError, match="non-empty list"):
        SGD([], lr=0.1)
    opt = SGD([np.zeros(3), np.zeros((2, 2))], lr=0.1)
    with pytest.raises(ValueError, match=r"grads\[1\] must have the shape of params\[1\] "
                                         r"\(2, 2\), got \(4,\)"):
        opt.step([np.zeros(3), np.zeros(4)])
    with pytest.raises(ValueError, match="list of 2 arrays"):
        opt.step([np.zeros(3)])
    with pytest.raises(TypeError, match="torch tensor"):
        opt.step([torch.zeros(3), np.zeros((2, 2))])
    opt.lr = -1.0
    with pytest.raises(ValueError, match="lr must be finite and > 0"):
        opt.step([np.zeros(3), np.zeros((2, 2))])
    assert opt.t == 0


# ----------------------------------------------------------------------------- schedules

def _torch_lrs(make_scheduler, lr0, steps):
    """The learning rate torch's scheduler gives at t = 0, 1, ..., steps - 1."""
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr0)
    sched = make_scheduler(opt)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
    return np.array(lrs)


T = np.arange(60)


@pytest.mark.parametrize("gamma", [0.9, 0.5, 1.0])
def test_exponential_decay_matches_ExponentialLR(gamma):
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma), 0.3, 60)
    np.testing.assert_allclose(exponential_decay(0.3, T, gamma), ref, rtol=1e-12)
    # decay_steps stretches time
    assert exponential_decay(0.3, 10, gamma, decay_steps=5) == pytest.approx(0.3 * gamma ** 2)


@pytest.mark.parametrize("drop,every", [(0.5, 7), (0.1, 20), (0.9, 1)])
def test_step_decay_matches_StepLR(drop, every):
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, every, drop), 0.2, 60)
    np.testing.assert_allclose(step_decay(0.2, T, drop, every), ref, rtol=1e-12)


@pytest.mark.parametrize("total,lr_min", [(59, 0.0), (30, 0.01), (1, 0.05)])
def test_cosine_decay_matches_CosineAnnealingLR(total, lr_min):
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, total, lr_min),
                     0.1, total + 1)
    t = np.arange(total + 1)
    np.testing.assert_allclose(cosine_decay(0.1, t, total, lr_min), ref, rtol=1e-10)
    assert cosine_decay(0.1, total + 5, total, lr_min) == pytest.approx(lr_min)   # stays


@pytest.mark.parametrize("step_size", [1, 4, 10])
def test_cyclic_lr_matches_CyclicLR_triangular(step_size):
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=step_size, mode="triangular",
        cycle_momentum=False), 0.05, 60)
    np.testing.assert_allclose(cyclic_lr(0.01, 0.1, T, step_size), ref, rtol=1e-12)



@pytest.mark.parametrize("warmup,total", [(1, 2), (5, 40), (10, 11), (20, 60)])
def test_warmup_cosine_matches_LinearLR_then_CosineAnnealingLR(warmup, total):
    # LinearLR must start above 0: with start factor s it gives η·(s + (1 − s)·t/W) during the
    # warm-up, i.e. ours plus s·η·(1 − t/W); from t = W on, the cosine parts must agree.
    s, lr = 1e-3, 0.3
    S = torch.optim.lr_scheduler
    ref = _torch_lrs(lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=s, end_factor=1.0, total_iters=warmup),
            S.CosineAnnealingLR(o, T_max=total - warmup)], milestones=[warmup]), lr, total + 1)
    t = np.arange(total + 1)
    ours = warmup_cosine(lr, t, warmup, total)
    up = t < warmup
    np.testing.assert_allclose(ours[up] + s * lr * (1 - t[up] / warmup), ref[up], rtol=1e-12)
    np.testing.assert_allclose(ours[~up], ref[~up], rtol=1e-10, atol=1e-16)


def test_warmup_cosine_formula():
    lr, W, T = 2.0, 4, 12
    t = np.arange(20)
    eta = warmup_cosine(lr, t, W, T)
    np.testing.assert_allclose(eta[:W], lr * np.arange(W) / W, rtol=1e-15)   # 0, η/4, η/2, ...
    assert eta[W] == lr and eta[(W + T) // 2] == pytest.approx(lr / 2, rel=1e-15)
    np.testing.assert_allclose(eta[T:], 0.0, atol=1e-15)                     # 0 from T on
    assert np.all(np.diff(eta[: W + 1]) > 0) and np.all(np.diff(eta[W: T + 1]) < 0)
    # no warm-up: plain cosine decay
    np.testing.assert_allclose(warmup_cosine(lr, t, 0, T), cosine_decay(lr, t, T), rtol=1e-15)
    assert isinstance(warmup_cosine(lr, 3, W, T), float)
    assert warmup_cosine(lr, np.arange(6).reshape(2, 3), W, T).shape == (2, 3)


def test_warmup_cosine_errors():
    with pytest.raises(ValueError, match="total must be > warmup"):
        warmup_cosine(0.1, 3, 10, 10)
    with pytest.raises(ValueError, match="warmup must be finite and >= 0"):
        warmup_cosine(0.1, 3, -1, 10)
    with pytest.raises(ValueError, match="lr_max must be finite and > 0"):
        warmup_cosine(0.0, 3, 2, 10)
    with pytest.raises(ValueError, match="t must be >= 0"):
        warmup_cosine(0.1, np.array([0, -1]), 2, 10)
    with pytest.raises(TypeError, match="t must have a numeric dtype"):
        warmup_cosine(0.1, np.array(["a"]), 2, 10)


def test_formula_schedules():
    t = np.array([0, 1, 2, 10, 100])
    np.testing.assert_allclose(inverse_time_decay(1.0, t, 0.5), 1 / (1 + 0.5 * t), rtol=1e-15)
    np.testing.assert_allclose(inverse_time_decay(2.0, t, 1.0, decay_steps=10),
                               2 / (1 + t / 10), rtol=1e-15)
    np.testing.assert_allclose(natural_exp_decay(0.1, t, 0.05), 0.1 * np.exp(-0.05 * t),
                               rtol=1e-15)
    # natural_exp_decay(k) is exponential_decay with rate e^(-k)
    np.testing.assert_allclose(natural_exp_decay(0.1, t, 0.05),
                               exponential_decay(0.1, t, math.exp(-0.05)), rtol=1e-12)
    assert cyclic_lr(1.0, 3.0, 2, 4) == pytest.approx(2.0)          # half-way up


def test_schedules_scalar_and_array():
    for fn, args in [(inverse_time_decay, (0.1,)), (exponential_decay, (0.9,)),
                     (natural_exp_decay, (0.1,)), (step_decay, (0.5, 3)),
                     (cosine_decay, (10,))]:
        v = fn(1.0, 3, *args)
        assert isinstance(v, float)
        arr = fn(1.0, np.arange(6).reshape(2, 3), *args)
        assert arr.shape == (2, 3) and arr[1, 0] == pytest.approx(v)
    assert isinstance(cyclic_lr(0.1, 1.0, 3, 2), float)


def test_schedule_errors():
    with pytest.raises(ValueError, match="t must be >= 0"):
        exponential_decay(0.1, -1, 0.9)
    with pytest.raises(ValueError, match="t must be >= 0"):
        step_decay(0.1, np.array([0, 1, -2]), 0.5, 2)
    with pytest.raises(TypeError, match="t must have a numeric dtype"):
        cosine_decay(0.1, np.array(["a"]), 10)
    with pytest.raises(ValueError, match="lr0 must be finite and > 0"):
        natural_exp_decay(0.0, 1, 0.1)
    with pytest.raises(ValueError, match="max_lr must be >= base_lr"):
        cyclic_lr(0.1, 0.01, 3, 2)
    with pytest.raises(ValueError, match="lr_min must be <= lr0"):
        cosine_decay(0.1, 3, 10, lr_min=0.2)
    with pytest.raises(ValueError, match="every must be finite and > 0"):
        step_decay(0.1, 3, 0.5, 0)


def test_all_exported():
    for name in optim.__all__:
        assert getattr(optim, name).__doc__
