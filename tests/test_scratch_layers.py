"""course_lib.scratch.layers: every layer vs PyTorch, every backward gradient-checked."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch import layers as L
from course_lib.scratch.gradcheck import numeric_vjp, rel_error

SHAPES = [(1, 1), (1, 5), (4, 3), (7, 2), (3, 4, 5), (2, 3, 2, 2)]
GRAD_TOL = 1e-7


def _rng(*key):
    return np.random.default_rng(list(key))


def _away_from_kink(x, eps=1e-3):
    """Keep every entry at least eps from 0, where ReLU-like functions are not differentiable."""
    return np.where(np.abs(x) < eps, np.sign(x + 1e-12) * (eps + np.abs(x)), x)


def _dout(rng, shape):
    """An upstream gradient with entries of size 0.5 to 1.5 and random signs.

    A central difference has round-off ~ 1e-16 |f| / h; entries of dout near 0 would make
    some gradients tiny and their relative error meaningless."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)


def _t(a, grad=False):
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=grad)


def _torch_grads(fn, inputs, dout):
    ts = [_t(a, grad=True) for a in inputs]
    out = fn(*ts)
    out.backward(_t(dout))
    return out.detach().numpy(), [t.grad.numpy() for t in ts]


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("N, D, M", [(1, 1, 1), (1, 4, 3), (5, 3, 7), (8, 10, 2)])
def test_linear_forward_backward(N, D, M):
    rng = _rng(N, D, M)
    x, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
    out, cache = L.linear_forward(x, W, b)
    dout = rng.normal(size=out.shape)
    dx, dW, db = L.linear_backward(dout, cache)
    want, (tx, tW, tb) = _torch_grads(lambda x_, W_, b_: F.linear(x_, W_.T, b_), (x, W, b), dout)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    for got, ref in ((dx, tx), (dW, tW), (db, tb)):
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    assert rel_error(dx, numeric_vjp(lambda z: L.linear_forward(z, W, b)[0], x, dout)) < GRAD_TOL
    assert rel_error(dW, numeric_vjp(lambda z: L.linear_forward(x, z, b)[0], W, dout)) < GRAD_TOL
    assert rel_error(db, numeric_vjp(lambda z: L.linear_forward(x, W, z)[0], b, dout)) < GRAD_TOL


def test_linear_bad_input():
    with pytest.raises(ValueError, match="D's must match"):
        L.linear_forward(np.ones((2, 3)), np.ones((4, 5)), np.ones(5))
    with pytest.raises(ValueError, match="b must have shape"):
        L.linear_forward(np.ones((2, 3)), np.ones((3, 5)), np.ones(4))
    with pytest.raises(ValueError, match="2-D"):
        L.linear_forward(np.ones(3), np.ones((3, 5)), np.ones(5))
    with pytest.raises(TypeError, match="torch tensor"):
        L.linear_forward(torch.ones(2, 3), np.ones((3, 5)), np.ones(5))
    _, cache = L.linear_forward(np.ones((2, 3)), np.ones((3, 5)), np.ones(5))
    with pytest.raises(ValueError, match="dout must have the shape"):
        L.linear_backward(np.ones((5, 2)), cache)


# ---------------------------------------------------------------------------------------------
# Activations without parameters
# ---------------------------------------------------------------------------------------------

ACTS = {
    "sigmoid": (L.sigmoid_forward, L.sigmoid_backward, torch.sigmoid),
    "tanh": (L.tanh_forward, L.tanh_backward, torch.tanh),
    "relu": (L.relu_forward, L.relu_backward, F.relu),
    "leaky_relu": (L.leaky_relu_forward, L.leaky_relu_backward, F.leaky_relu),
    "leaky_relu_0.2": (lambda x: L.leaky_relu_forward(x, 0.2), L.leaky_relu_backward,
                       lambda x: F.leaky_relu(x, 0.2)),
    "elu": (L.elu_forward, L.elu_backward, F.elu),
    "elu_0.5": (lambda x: L.elu_forward(x, alpha=0.5), L.elu_backward,
                lambda x: F.elu(x, alpha=0.5)),
}


@pytest.mark.parametrize("name", ACTS)
@pytest.mark.parametrize("shape", SHAPES)
def test_activation_vs_torch_and_numeric(name, shape):
    """Against torch on a wide range (|x| up to ~8), and against central differences where
    these are accurate: at x = 6, tanh'(x) = 2.5e-5 while f(x ± h) ≈ 1 carries round-off
    1e-16, so the difference quotient has relative error ~1e-16 / (h · 2.5e-5) ≈ 4e-7
    whatever the backward does. |x| ≤ 4 keeps that below 1e-8 (saturation is tested against
    torch, here and in test_activation_extreme_inputs)."""
    fwd, bwd, ref = ACTS[name]
    rng = _rng(len(name), *shape)
    dout = _dout(rng, shape)
    for x in (_away_from_kink(3 * rng.normal(size=shape)),
              _away_from_kink(rng.uniform(-4, 4, size=shape))):
        out, cache = fwd(x)
        dx = bwd(dout, cache)
        want, (tdx,) = _torch_grads(ref, (x,), dout)
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(dx, tdx, rtol=1e-12, atol=1e-14)
    num = numeric_vjp(lambda z: fwd(z)[0], x, dout)   # the |x| <= 4 draw
    assert rel_error(dx, num) < GRAD_TOL


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu"])
def test_activation_extreme_inputs(name):
    fwd, bwd, ref = ACTS[name]
    x = np.array([-1000.0, -50.0, -1e-8, 0.0, 1e-8, 50.0, 1000.0])
    # No overflow, invalid or division warnings. Underflow is allowed (NumPy ignores it by
    # default): e^-1000 ≈ 5e-435 is below the smallest float64, and 0 is its correct rounding.
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, cache = fwd(x)
        dx = bwd(np.ones_like(x), cache)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    want, (tdx,) = _torch_grads(ref, (x,), np.ones_like(x))
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dx, tdx, rtol=1e-12, atol=1e-300)


def test_relu_gradient_at_zero_is_zero_like_torch():
    x = np.array([-1.0, 0.0, 2.0])
    _, cache = L.relu_forward(x)
    np.testing.assert_array_equal(L.relu_backward(np.ones(3), cache), [0.0, 0.0, 1.0])


def test_float32_stays_float32():
    x = np.linspace(-3, 3, 7, dtype=np.float32)
    for fwd, _, _ in ACTS.values():
        assert fwd(x)[0].dtype == np.float32


def test_activation_bad_input():
    with pytest.raises(TypeError, match="array of numbers"):
        L.relu_forward("abc")
    with pytest.raises(ValueError, match="negative_slope"):
        L.leaky_relu_forward(np.ones(3), -0.1)
    with pytest.raises(ValueError, match="alpha"):
        L.elu_forward(np.ones(3), alpha=-1.0)
    _, cache = L.sigmoid_forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="dout must have the shape"):
        L.sigmoid_backward(np.ones((3, 2)), cache)


# ---------------------------------------------------------------------------------------------
# PReLU (learnable slope)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, n_slopes", [((1, 1), 1), ((1, 4), 4), ((5, 3), 1), ((5, 3), 3),
                                             ((2, 3, 4), 3), ((2, 2, 3, 3), 2), ((7,), 1)])
def test_prelu_vs_torch_and_numeric(shape, n_slopes):
    rng = _rng(n_slopes, *shape)
    x = _away_from_kink(rng.normal(size=shape))
    a = rng.uniform(0.05, 0.5, size=n_slopes)
    out, cache = L.prelu_forward(x, a)
    dout = _dout(rng, shape)
    dx, da = L.prelu_backward(dout, cache)
    assert da.shape == a.shape
    want, (tdx, tda) = _torch_grads(F.prelu, (x, a), dout)
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, tdx, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(da, tda, rtol=1e-12, atol=1e-12)
    assert rel_error(dx, numeric_vjp(lambda z: L.prelu_forward(z, a)[0], x, dout)) < GRAD_TOL
    assert rel_error(da, numeric_vjp(lambda z: L.prelu_forward(x, z)[0], a, dout)) < GRAD_TOL


def test_prelu_bad_slopes():
    with pytest.raises(ValueError, match="channels on axis 1"):
        L.prelu_forward(np.ones((2, 3)), np.ones(4))
    with pytest.raises(ValueError, match="1-D array of slopes"):
        L.prelu_forward(np.ones((2, 3)), np.ones((3, 1)))


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("N, K", [(1, 2), (1, 10), (5, 3), (16, 10)])
@pytest.mark.parametrize("scale", [1.0, 30.0, 500.0])
def test_softmax_cross_entropy(N, K, scale):
    rng = _rng(N, K, int(scale))
    z = scale * rng.normal(size=(N, K))
    y = rng.integers(0, K, size=N)
    loss, dz = L.softmax_cross_entropy(z, y)
    tz = _t(z, grad=True)
    tloss = F.cross_entropy(tz, torch.from_numpy(y))
    tloss.backward()
    assert abs(loss - tloss.item()) <= 1e-12 * max(1.0, abs(tloss.item()))
    np.testing.assert_allclose(dz, tz.grad.numpy(), rtol=1e-10, atol=1e-14)
    if scale == 1.0:
        # A scalar loss: the difference quotient's round-off is ~1e-16 · loss / h for every
        # entry, 1e-11 at the best h of the 2-point formula, too much for entries of 1e-4;
        # the smooth loss allows the 4th-order stencil with h = 1e-3 (round-off ~1e-13).
        num = numeric_vjp(lambda s: L.softmax_cross_entropy(s, y)[0], z, h=1e-3, order=4)
        assert rel_error(dz, num) < GRAD_TOL


def test_softmax_cross_entropy_bad_input():
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 2\]"):
        L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"y must have shape \(2,\), one label per row of scores"):
        L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(TypeError, match="dtype"):
        L.softmax_cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="NaN or inf"):
        L.softmax_cross_entropy(np.array([[np.nan, 0.0]]), np.array([0]))


@pytest.mark.parametrize("shape", [(1,), (1, 1), (5, 3), (2, 3, 4)])
def test_mse_loss(shape):
    rng = _rng(*shape)
    p, t = rng.normal(size=shape), rng.normal(size=shape)
    loss, dp = L.mse_loss(p, t)
    tp = _t(p, grad=True)
    tl = F.mse_loss(tp, _t(t))
    tl.backward()
    assert abs(loss - tl.item()) < 1e-12
    np.testing.assert_allclose(dp, tp.grad.numpy(), rtol=1e-12, atol=1e-15)
    # The loss is quadratic, so the central difference has no truncation error and a large
    # step keeps its round-off (~1e-16 · loss / h) far below the smallest entries of dp.
    num = numeric_vjp(lambda z: L.mse_loss(z, t)[0], p, h=1e-2)
    assert rel_error(dp, num) < GRAD_TOL
    with pytest.raises(ValueError, match="same shape"):
        L.mse_loss(p, np.zeros((9, 9)))
