"""course_lib.scratch.init against torch.nn.init: fans, variances, orthogonality, deep-net probe."""

import numpy as np
import pytest
import torch

from course_lib.scratch.init import (
    METHODS,
    fans,
    forward_activation_stats,
    init_std,
    init_weights,
)

SHAPES = [(300, 200), (64, 513), (40, 3, 5, 5), (17, 11, 3), (1000, 1)]


def _torch_fans(shape):
    return torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))


@pytest.mark.parametrize("shape", SHAPES + [(1, 1), (2, 3, 1, 1)])
def test_fans_match_torch(shape):
    assert fans(shape) == _torch_fans(shape)


def _torch_std(shape, method, gain=1.0):
    fan_in, fan_out = _torch_fans(shape)
    if method.startswith("xavier"):
        return gain * np.sqrt(2.0 / (fan_in + fan_out))
    return gain * torch.nn.init.calculate_gain("relu") / np.sqrt(fan_in)


TORCH_INIT = {
    "xavier_normal": lambda w, g: torch.nn.init.xavier_normal_(w, gain=g),
    "xavier_uniform": lambda w, g: torch.nn.init.xavier_uniform_(w, gain=g),
    "he_normal": lambda w, g: torch.nn.init.kaiming_normal_(w, nonlinearity="relu").mul_(g),
    "he_uniform": lambda w, g: torch.nn.init.kaiming_uniform_(w, nonlinearity="relu").mul_(g),
}


@pytest.mark.parametrize("gain", [1.0, 5 / 3])
@pytest.mark.parametrize("method", list(TORCH_INIT))
@pytest.mark.parametrize("shape", SHAPES)
def test_variance_scaling_matches_torch(shape, method, gain):
    rng = np.random.default_rng(1)
    W = init_weights(shape, method, rng=rng, gain=gain)
    assert W.shape == shape and W.dtype == np.float64
    sigma = _torch_std(shape, method, gain)
    assert init_std(shape, method, gain=gain) == pytest.approx(sigma, rel=1e-12)
    torch.manual_seed(0)
    Wt = TORCH_INIT[method](torch.empty(shape, dtype=torch.float64), gain).numpy()
    n = W.size
    # sample variance of n i.i.d. draws: relative standard error sqrt(2/n) (normal), less for
    # uniform; allow 6 standard errors.
    tol = 6 * np.sqrt(2.0 / n)
    for sample in (W, Wt):
        assert sample.var() / sigma**2 == pytest.approx(1.0, abs=tol)
        assert abs(sample.mean()) < 6 * sigma / np.sqrt(n)
    if method.endswith("uniform"):
        r = np.sqrt(3) * sigma
        assert np.abs(W).max() <= r and np.abs(W).max() > 0.95 * r
        assert np.abs(Wt).max() <= r * (1 + 1e-12)


@pytest.mark.parametrize("method,std", [("normal", 0.3), ("uniform", 0.3), ("uniform", 2.0)])
def test_fixed_variance(method, std):
    W = init_weights((400, 500), method, rng=np.random.default_rng(2), std=std)
    assert W.var() == pytest.approx(std**2, rel=6 * np.sqrt(2 / W.size))
    if method == "uniform":
        assert np.abs(W).max() <= np.sqrt(3 * std**2)
    t = torch.empty(400, 500, dtype=torch.float64)
    if method == "normal":
        torch.nn.init.normal_(t, std=std)
    else:
        r = np.sqrt(3 * std**2)
        torch.nn.init.uniform_(t, -r, r)
    assert t.var().item() == pytest.approx(std**2, rel=6 * np.sqrt(2 / W.size))


def test_zeros_and_constant():
    rng = np.random.default_rng(0)
    assert np.array_equal(init_weights((3, 4), "zeros", rng=rng), np.zeros((3, 4)))
    W = init_weights((2, 5), "constant", rng=rng, value=0.7)
    t = torch.nn.init.constant_(torch.empty(2, 5, dtype=torch.float64), 0.7)
    np.testing.assert_array_equal(W, t.numpy())


@pytest.mark.parametrize("shape", [(50, 30), (30, 50), (7, 7), (16, 4, 3, 3), (1, 9), (9, 1)])
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_orthogonal(shape, gain):
    W = init_weights(shape, "orthogonal", rng=np.random.default_rng(3), gain=gain)
    assert W.shape == shape
    M = W.reshape(shape[0], -1) / gain
    I_small = np.eye(min(M.shape))
    gram = M.T @ M if M.shape[0] >= M.shape[1] else M @ M.T
    np.testing.assert_allclose(gram, I_small, atol=1e-12)
    t = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain)
    Mt = t.reshape(shape[0], -1).numpy() / gain
    gram_t = Mt.T @ Mt if Mt.shape[0] >= Mt.shape[1] else Mt @ Mt.T
    np.testing.assert_allclose(gram_t, I_small, atol=1e-12)


def test_seeded_and_deterministic():
    for method in METHODS:
        kw = {"std": 0.1} if method in ("normal", "uniform") else {}
        a = init_weights((6, 5), method, rng=np.random.default_rng(9), **kw)
        b = init_weights((6, 5), method, rng=np.random.default_rng(9), **kw)
        np.testing.assert_array_equal(a, b)


def test_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="method must be one of"):
        init_weights((3, 3), "glorot", rng=rng)
    with pytest.raises(ValueError, match="needs std"):
        init_weights((3, 3), "normal", rng=rng)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init_weights((5,), "he_normal", rng=rng)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init_weights((5,), "orthogonal", rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        init_weights((3, 3), "he_normal", rng=0)
    with pytest.raises(ValueError, match=">= 1"):
        init_weights((0, 3), "zeros", rng=rng)
    with pytest.raises(TypeError, match="tuple of ints"):
        init_weights((3.0, 3), "zeros", rng=rng)
    with pytest.raises(ValueError, match="gain"):
        init_weights((3, 3), "xavier_normal", rng=rng, gain=-1.0)
    with pytest.raises(ValueError, match="activation"):
        forward_activation_stats(np.ones((2, 3)), n_layers=2, width=4, method="he_normal",
                                 activation="gelu", rng=rng)
    with pytest.raises(ValueError, match="2-D"):
        forward_activation_stats(np.ones(3), n_layers=2, width=4, method="he_normal",
                                 activation="relu", rng=rng)


def test_forward_stats_he_vs_small_and_gradients_by_autograd():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((500, 128))
    he = forward_activation_stats(X, n_layers=10, width=128, method="he_normal",
                                  activation="relu", rng=np.random.default_rng(1))
    assert he.act_var.max() / he.act_var.min() < 2
    assert he.grad_var.max() / he.grad_var.min() < 2
    small = forward_activation_stats(X, n_layers=10, width=128, method="normal", std=0.01,
                                     activation="relu", rng=np.random.default_rng(1))
    assert small.act_var[0] / small.act_var[-1] > 100
    # the backward pass equals autograd's gradient of <g_top, h_L>
    for act, fn in [("tanh", torch.tanh), ("sigmoid", torch.sigmoid), ("relu", torch.relu),
                    ("linear", lambda z: z)]:
        st = forward_activation_stats(X[:7, :5], n_layers=3, width=4, method="xavier_normal",
                                      activation=act, rng=np.random.default_rng(2))
        replay = np.random.default_rng(2)
        for W in st.weights:              # the weights were drawn first, then the top gradient
            replay.normal(size=W.shape)
        g_top = torch.tensor(replay.standard_normal((7, 4)))
        hs = [torch.tensor(X[:7, :5], requires_grad=True)]
        for W in st.weights:
            h = fn(hs[-1] @ torch.tensor(W).T)
            h.retain_grad()
            hs.append(h)
        (hs[-1] * g_top).sum().backward()
        for l in range(3):
            np.testing.assert_allclose(hs[l + 1].detach().numpy(), st.activations[l],
                                       rtol=1e-12, atol=1e-15)
            assert hs[l + 1].grad.var(unbiased=False).item() == pytest.approx(
                st.grad_var[l], rel=1e-10)
