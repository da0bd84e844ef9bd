"""course_lib.scratch.regularization: penalties and their gradients against torch autograd,
weight decay = L2 for SGD, inverted dropout against torch's dropout (train and eval), label
smoothing against F.cross_entropy(label_smoothing=...), early stopping, clear errors."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.gradcheck import numeric_gradient
from course_lib.scratch.optim import SGD
from course_lib.scratch.regularization import (
    EarlyStopping,
    dropout_backward,
    dropout_forward,
    l1_penalty,
    l2_penalty,
    label_smoothing_cross_entropy,
    smooth_labels,
)

SHAPES = [(5, 3), (7,), (2, 3, 4), ()]


def _params(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) for s in SHAPES]


# ----------------------------------------------------------------------------- penalties

@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0])
def test_penalties_match_torch_autograd(lam):
    ps = _params()
    for ours, theirs in [(l2_penalty, lambda ts: 0.5 * lam * sum((t ** 2).sum() for t in ts)),
                         (l1_penalty, lambda ts: lam * sum(t.abs().sum() for t in ts))]:
        value, grads = ours(ps, lam)
        ts = [torch.tensor(p, requires_grad=True) for p in ps]
        ref = theirs(ts)
        ref.backward()
        assert value == pytest.approx(ref.item(), rel=1e-12, abs=1e-15)
        for g, t in zip(grads, ts, strict=True):
            assert g.shape == t.shape
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_l1_subgradient_is_zero_at_zero_and_single_array_accepted():
    value, (g,) = l1_penalty(np.array([-2.0, 0.0, 3.0]), 0.5)
    assert value == 2.5
    np.testing.assert_array_equal(g, [-0.5, 0.0, 0.5])
    value, (g,) = l2_penalty(np.array([1, 2]), 1.0)                # ints are fine
    assert value == 2.5 and g.dtype == np.float64


def test_sgd_weight_decay_is_sgd_on_the_l2_penalised_loss():
    rng = np.random.default_rng(1)
    A, b = rng.normal(size=(20, 4)), rng.normal(size=20)
    lam, lr = 0.3, 0.05

    def grad(w):                                  # of 1/(2N) |A w - b|^2
        return A.T @ (A @ w - b) / len(b)

    w_decay, w_l2 = np.ones(4), np.ones(4)
    opt = SGD([w_decay], lr=lr, weight_decay=lam)
    for _ in range(25):
        opt.step([grad(w_decay)])
        w_l2 -= lr * (grad(w_l2) + l2_penalty(w_l2, lam)[1][0])
    np.testing.assert_allclose(w_decay, w_l2, rtol=1e-13)


# ----------------------------------------------------------------------------- dropout

@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(64, 50), (1, 7), (3, 4, 5)])
def test_dropout_reproduces_torch_given_its_mask(shape, p):
    torch.manual_seed(0)
    x = np.random.default_rng(2).normal(size=shape) + 3.0         # no exact zeros in x
    xt = torch.tensor(x, requires_grad=True)
    yt = F.dropout(xt, p=p, training=True)
    dout = np.random.default_rng(3).normal(size=shape)
    yt.backward(torch.tensor(dout))
    mask = yt.detach().numpy() != 0                               # the units torch kept
    out, cache = dropout_forward(x, p, train=True, mask=mask)
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-15, atol=0)
    np.testing.assert_allclose(dropout_backward(dout, cache), xt.grad.numpy(), rtol=1e-15)


def test_dropout_eval_is_identity_like_torch():
    x = np.random.default_rng(4).normal(size=(6, 5))
    out, cache = dropout_forward(x, 0.7, train=False)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(out, F.dropout(torch.tensor(x), 0.7, training=False).numpy())
    np.testing.assert_array_equal(dropout_backward(np.ones_like(x), cache), np.ones_like(x))
    out, _ = dropout_forward(x, 0.0, train=True)                  # p = 0: nothing dropped
    np.testing.assert_array_equal(out, x)


def test_dropout_statistics_and_p_one():
    x = np.ones((400, 500))
    rng = np.random.default_rng(5)
    for p in (0.2, 0.5):
        out, _ = dropout_forward(x, p, train=True, rng=rng)
        n = x.size
        assert abs(np.mean(out == 0) - p) < 5 * np.sqrt(p * (1 - p) / n)
        assert abs(out.mean() - 1.0) < 5 * np.sqrt(p / (1 - p) / n)   # E[out] = x
        np.testing.assert_allclose(np.unique(out), [0.0, 1 / (1 - p)])
    out, cache = dropout_forward(x[:3], 1.0, train=True, rng=rng)
    np.testing.assert_array_equal(out, 0.0)
    np.testing.assert_array_equal(out, F.dropout(torch.ones(3, 500), 1.0, training=True))
    np.testing.assert_array_equal(dropout_backward(np.ones((3, 500)), cache), 0.0)
    a = dropout_forward(x[:5], 0.5, train=True, rng=np.random.default_rng(9))[0]
    b = dropout_forward(x[:5], 0.5, train=True, rng=np.random.default_rng(9))[0]
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- label smoothing

@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("N,K", [(16, 10), (1, 2), (5, 7)])
def test_label_smoothing_matches_torch(N, K, eps):
    rng = np.random.default_rng(N * K)
    z, y = 3 * rng.normal(size=(N, K)), rng.integers(0, K, size=N)
    loss, dz = label_smoothing_cross_entropy(z, y, eps)
    zt = torch.tensor(z, requires_grad=True)
    ref = F.cross_entropy(zt, torch.tensor(y), label_smoothing=eps)
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(dz, zt.grad.numpy(), rtol=1e-10, atol=1e-15)
    num = numeric_gradient(lambda a: label_smoothing_cross_entropy(a, y, eps)[0], z)
    # central differences carry ~1e-10 of round-off, so tiny entries get an absolute bound
    np.testing.assert_allclose(dz, num, rtol=1e-6, atol=1e-9)


def test_smooth_labels_and_stability():
    q = smooth_labels(np.array([0, 2]), 4, 0.2)
    np.testing.assert_allclose(q, [[0.85, 0.05, 0.05, 0.05], [0.05, 0.05, 0.85, 0.05]])
    np.testing.assert_allclose(q.sum(1), 1.0)
    loss, dz = label_smoothing_cross_entropy(np.array([[1000.0, -1000.0]]), np.array([0]), 0.1)
    assert np.isfinite(loss) and np.all(np.isfinite(dz))
    assert loss == pytest.approx(0.05 * 2000, rel=1e-9)           # ε/K of the mass on -1000


# ----------------------------------------------------------------------------- early stopping

def test_early_stopping_stops_after_patience_and_remembers_the_best():
    curve = [1.0, 0.8, 0.7, 0.72, 0.69, 0.75, 0.8, 0.9, 1.0, 1.1]
    stopper = EarlyStopping(patience=3)
    stopped_at, improved = None, []
    for epoch, v in enumerate(curve):
        stop = stopper.update(v)
        improved.append(stopper.improved)
        if stop:
            stopped_at = epoch
            break
    assert stopper.best_epoch == 4 and stopper.best == 0.69
    assert stopped_at == 7                                        # 3 epochs after epoch 4
    assert improved == [True, True, True, False, True, False, False, False]
    assert stopper.history == curve[:8]


def test_early_stopping_min_delta():
    stopper = EarlyStopping(patience=2, min_delta=0.05)
    assert not stopper.update(1.0)
    assert not stopper.update(0.97)                               # not enough of a gain
    assert stopper.update(0.96)
    assert stopper.best_epoch == 0


# ----------------------------------------------------------------------------- bad input

def test_bad_inputs_raise_clear_errors():
    with pytest.raises(TypeError, match="params must be an array or a non-empty list"):
        l2_penalty([], 0.1)
    with pytest.raises(ValueError, match="lam must be finite and >= 0"):
        l1_penalty(np.ones(2), -1.0)
    with pytest.raises(ValueError, match=r"p is a probability and must be in \[0, 1\]"):
        dropout_forward(np.ones(3), 1.5, train=True, rng=np.random.default_rng(0))
    with pytest.raises(TypeError,
                       match=r"rng \(needed in training mode without a mask\) must be a numpy"):
        dropout_forward(np.ones(3), 0.5, train=True)
    with pytest.raises(ValueError, match=r"mask must have the shape of x \(3,\)"):
        dropout_forward(np.ones(3), 0.5, train=True, mask=np.ones(4))
    with pytest.raises(ValueError, match="only 0/1"):
        dropout_forward(np.ones(3), 0.5, train=True, mask=np.array([0, 2, 1]))
    with pytest.raises(TypeError, match="dtype"):
        dropout_forward(np.ones(3, dtype=int), 0.5, train=False)
    with pytest.raises(TypeError, match="cache returned by dropout_forward"):
        dropout_backward(np.ones(3), {})
    _, cache = dropout_forward(np.ones(3), 0.5, train=True, mask=np.array([1, 0, 1]))
    with pytest.raises(ValueError, match=r"dout must have the shape of the forward output \(3,\)"):
        dropout_backward(np.ones(4), cache)
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 2\]"):
        label_smoothing_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\), one label per row"):
        label_smoothing_cross_entropy(np.zeros((2, 3)), np.array([0]))
    with pytest.raises(ValueError, match=r"must be a 2-D array"):
        label_smoothing_cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match=r"smoothing must be in \[0, 1\]"):
        smooth_labels(np.array([0]), 3, 1.5)
    with pytest.raises(ValueError, match="patience must be in"):
        EarlyStopping(patience=0)
    with pytest.raises(ValueError, match="NaN"):
        EarlyStopping().update(float("nan"))
    with pytest.raises(TypeError, match="val_loss must be a number"):
        EarlyStopping().update("0.5")
