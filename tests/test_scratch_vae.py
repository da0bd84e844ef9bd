"""course_lib.scratch.vae against torch.distributions, torch autograd and Monte Carlo."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.vae import (
    bernoulli_log_likelihood_logits,
    elbo_terms,
    gaussian_kl,
    gaussian_log_density,
    monte_carlo_kl,
    reparameterize,
    reparameterize_backward,
)

D = torch.distributions
SHAPES = [(1,), (5,), (1, 1), (3, 4), (7, 2), (2, 3, 5)]


def normal(mu, logvar):
    return D.Normal(torch.as_tensor(mu), torch.as_tensor(np.exp(0.5 * logvar)))


@pytest.mark.parametrize("shape", SHAPES)
def test_kl_matches_torch_distributions(shape):
    rng = np.random.default_rng(len(shape) * 10 + shape[-1])
    mu, lv = rng.normal(size=shape), rng.normal(size=shape)
    mu_p, lv_p = rng.normal(size=shape), rng.normal(size=shape)
    ref = D.kl_divergence(normal(mu, lv), normal(mu_p, lv_p)).sum(-1).numpy()
    np.testing.assert_allclose(gaussian_kl(mu, lv, mu_p, lv_p), ref, rtol=1e-10, atol=1e-12)
    ref0 = D.kl_divergence(normal(mu, lv), normal(np.zeros(shape), np.zeros(shape))).sum(-1)
    np.testing.assert_allclose(gaussian_kl(mu, lv), ref0.numpy(), rtol=1e-10, atol=1e-12)
    assert gaussian_kl(mu, lv).shape == shape[:-1]


def test_kl_is_zero_for_equal_distributions_and_positive_otherwise():
    rng = np.random.default_rng(0)
    mu, lv = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    np.testing.assert_allclose(gaussian_kl(mu, lv, mu, lv), 0.0, atol=1e-12)
    assert np.all(gaussian_kl(mu + 0.1, lv, mu, lv) > 0)
    assert gaussian_kl([0.0, 0.0], [0.0, 0.0]) == 0.0


def test_kl_broadcasts_a_prior_over_a_batch():
    rng = np.random.default_rng(1)
    mu, lv = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    mu_p, lv_p = rng.normal(size=3), rng.normal(size=3)
    rows = [gaussian_kl(mu[i], lv[i], mu_p, lv_p) for i in range(6)]
    np.testing.assert_allclose(gaussian_kl(mu, lv, mu_p, lv_p), rows, rtol=1e-14)


@pytest.mark.parametrize("shape", SHAPES)
def test_log_density_matches_torch(shape):
    rng = np.random.default_rng(shape[-1])
    z, mu, lv = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    ref = normal(mu, lv).log_prob(torch.as_tensor(z)).sum(-1).numpy()
    np.testing.assert_allclose(gaussian_log_density(z, mu, lv), ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_reparameterize_matches_rsample_and_its_gradient(shape):
    rng = np.random.default_rng(shape[0] + 3)
    mu, lv, eps = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    dz = rng.normal(size=shape)
    z = reparameterize(mu, lv, eps)
    mu_t = torch.tensor(mu, requires_grad=True)
    lv_t = torch.tensor(lv, requires_grad=True)
    z_t = mu_t + torch.exp(0.5 * lv_t) * torch.tensor(eps)
    np.testing.assert_allclose(z, z_t.detach().numpy(), rtol=1e-14, atol=1e-14)
    (z_t * torch.tensor(dz)).sum().backward()
    dmu, dlv = reparameterize_backward(dz, lv, eps)
    np.testing.assert_allclose(dmu, mu_t.grad.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dlv, lv_t.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_reparameterize_equals_torch_rsample_with_the_same_noise():
    torch.manual_seed(0)
    mu, lv = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    q = D.Normal(mu, torch.exp(0.5 * lv))
    torch.manual_seed(1)
    z_t = q.rsample()
    torch.manual_seed(1)
    eps = torch.randn(5, 3, dtype=torch.float64)
    np.testing.assert_allclose(reparameterize(mu.numpy(), lv.numpy(), eps.numpy()), z_t.numpy(),
                               rtol=1e-14)


def test_reparameterize_broadcasts_over_samples():
    rng = np.random.default_rng(2)
    mu, lv = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    eps = rng.normal(size=(10, 4, 3))
    z = reparameterize(mu, lv, eps)
    assert z.shape == (10, 4, 3)
    np.testing.assert_allclose(z[7], reparameterize(mu, lv, eps[7]), rtol=1e-15)


def test_reparameterize_backward_matches_numeric_gradient():
    rng = np.random.default_rng(3)
    lv, eps, dz = rng.normal(size=4), rng.normal(size=4), rng.normal(size=4)
    mu = rng.normal(size=4)
    h = 1e-6
    num = np.array([(np.sum(dz * reparameterize(mu, lv + h * e, eps))
                     - np.sum(dz * reparameterize(mu, lv - h * e, eps))) / (2 * h)
                    for e in np.eye(4)])
    np.testing.assert_allclose(reparameterize_backward(dz, lv, eps)[1], num, rtol=1e-7)


@pytest.mark.parametrize("shape", [(1,), (4,), (3, 2)])
def test_monte_carlo_kl_agrees_with_closed_form(shape):
    rng = np.random.default_rng(4)
    mu, lv = rng.normal(size=shape), rng.normal(scale=0.5, size=shape)
    est, se = monte_carlo_kl(mu, lv, 20_000, np.random.default_rng(5))
    exact = gaussian_kl(mu, lv)
    assert est.shape == se.shape == shape[:-1]
    assert np.all(se > 0) and np.all(np.abs(est - exact) < 4 * se)
    # a general prior as well
    mp, lp = rng.normal(size=shape), rng.normal(size=shape)
    est, se = monte_carlo_kl(mu, lv, 20_000, np.random.default_rng(6), mp, lp)
    assert np.all(np.abs(est - gaussian_kl(mu, lv, mp, lp)) < 4 * se)


def test_monte_carlo_kl_is_exact_when_q_equals_p():
    est, se = monte_carlo_kl(np.zeros(3), np.zeros(3), 10, np.random.default_rng(0))
    assert est == 0.0 and se == 0.0


def test_monte_carlo_kl_is_reproducible():
    a = monte_carlo_kl([0.3, -1.0], [0.1, 0.2], 100, np.random.default_rng(7))
    b = monte_carlo_kl([0.3, -1.0], [0.1, 0.2], 100, np.random.default_rng(7))
    assert a == b


@pytest.mark.parametrize("shape", [(1, 1), (2, 784), (5, 3), (7,)])
def test_bernoulli_log_likelihood_matches_bce(shape):
    rng = np.random.default_rng(shape[-1])
    x = rng.random(shape)
    x[..., 0] = 1.0                                   # exact 0 and 1 as well as grey values
    x[..., -1] = 0.0
    logits = rng.normal(scale=5, size=shape)
    ref = -F.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(x),
                                              reduction="none").sum(-1).numpy()
    np.testing.assert_allclose(bernoulli_log_likelihood_logits(x, logits), ref, rtol=1e-12,
                               atol=1e-12)
    xb = (x > 0.5).astype(float)
    lp = D.Bernoulli(logits=torch.tensor(logits)).log_prob(torch.tensor(xb)).sum(-1).numpy()
    np.testing.assert_allclose(bernoulli_log_likelihood_logits(xb, logits), lp, rtol=1e-12,
                               atol=1e-12)


def test_bernoulli_log_likelihood_is_stable_for_huge_logits():
    x = np.array([[1.0, 0.0, 1.0, 0.0]])
    logits = np.array([[1000.0, -1000.0, -1000.0, 1000.0]])
    out = bernoulli_log_likelihood_logits(x, logits)
    np.testing.assert_allclose(out, [-2000.0], rtol=1e-12)


@pytest.mark.parametrize("n,D_,d", [(1, 1, 1), (4, 10, 2), (3, 784, 16)])
def test_elbo_terms_match_torch(n, D_, d):
    rng = np.random.default_rng(n + D_ + d)
    x, logits = rng.random((n, D_)), rng.normal(size=(n, D_))
    mu, lv = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    elbo, rec, kl = elbo_terms(x, logits, mu, lv)
    rec_t = -F.binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(x),
                                                reduction="none").sum(1)
    kl_t = D.kl_divergence(normal(mu, lv), D.Normal(0.0, 1.0)).sum(1)
    np.testing.assert_allclose(rec, rec_t.numpy(), rtol=1e-12)
    np.testing.assert_allclose(kl, kl_t.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(elbo, rec - kl, rtol=1e-15)
    assert elbo.shape == (n,)


def test_torch_ref_elbo_terms_match_scratch():
    from course_lib.torch_ref.generative import elbo_terms as elbo_terms_torch

    rng = np.random.default_rng(9)
    x, logits = rng.random((3, 784)), rng.normal(size=(3, 784))
    mu, lv = rng.normal(size=(3, 5)), rng.normal(size=(3, 5))
    ours = elbo_terms(x, logits, mu, lv)
    theirs = elbo_terms_torch(*(torch.tensor(a) for a in (x, logits, mu, lv)))
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="broadcastable"):
        gaussian_kl(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="latent axis"):
        gaussian_kl(0.0, 0.0)
    with pytest.raises(TypeError, match="torch tensor"):
        gaussian_kl(torch.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="NaN or inf"):
        reparameterize(np.array([np.nan]), np.zeros(1), np.zeros(1))
    with pytest.raises(TypeError, match=r"rng must be a numpy Generator \(np.random.default_rng"):
        monte_carlo_kl(np.zeros(2), np.zeros(2), 10, 0)
    with pytest.raises(ValueError, match="n_samples"):
        monte_carlo_kl(np.zeros(2), np.zeros(2), 1, np.random.default_rng())
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        bernoulli_log_likelihood_logits(np.array([2.0]), np.array([0.0]))
    with pytest.raises(ValueError, match="logits must have the shape of x"):
        elbo_terms(np.zeros((2, 3)), np.zeros((2, 4)), np.zeros((2, 1)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="mu and logvar"):
        elbo_terms(np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((3, 1)), np.zeros((3, 1)))
    with pytest.raises(TypeError, match="numbers"):
        gaussian_log_density("z", np.zeros(1), np.zeros(1))
