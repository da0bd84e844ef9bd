"""course_lib.scratch.gan against torch losses, torch autograd and the theory of the game."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from course_lib.scratch.functional import log_sigmoid
from course_lib.scratch.gan import (
    discriminator_loss,
    gan_value,
    generator_loss,
    generator_loss_grad,
    optimal_discriminator,
)
from course_lib.scratch.information import kl_divergence

SHAPES = [(1,), (2,), (7,), (3, 5)]


def test_log_sigmoid_matches_torch_and_survives_huge_logits():
    a = np.concatenate([np.linspace(-50, 50, 101), [-1000.0, 1000.0, 0.0]])
    np.testing.assert_allclose(log_sigmoid(a), F.logsigmoid(torch.tensor(a)).numpy(),
                               rtol=1e-13, atol=1e-300)
    assert np.all(np.isfinite(log_sigmoid(a)))


@pytest.mark.parametrize("shape", SHAPES)
def test_discriminator_loss_is_bce(shape):
    rng = np.random.default_rng(shape[0])
    ar, af = rng.normal(scale=4, size=shape), rng.normal(scale=4, size=(shape[0] + 1,))
    ref = (F.binary_cross_entropy_with_logits(torch.tensor(ar), torch.ones(shape, dtype=float))
           + F.binary_cross_entropy_with_logits(torch.tensor(af), torch.zeros(len(af),
                                                                              dtype=float)))
    assert abs(discriminator_loss(ar, af) - ref.item()) < 1e-12 * max(1, abs(ref.item()))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", ["saturating", "non_saturating"])
def test_generator_loss_and_grad_match_autograd(shape, kind):
    rng = np.random.default_rng(sum(shape))
    a = rng.normal(scale=5, size=shape)
    a_t = torch.tensor(a, requires_grad=True)
    d = torch.sigmoid(a_t)
    loss_t = torch.log1p(-d).mean() if kind == "saturating" else -torch.log(d).mean()
    loss_t.backward()
    assert abs(generator_loss(a, kind) - loss_t.item()) < 1e-10 * max(1, abs(loss_t.item()))
    np.testing.assert_allclose(generator_loss_grad(a, kind), a_t.grad.numpy(), rtol=1e-10,
                               atol=1e-15)


def test_saturating_gradient_vanishes_when_the_discriminator_wins():
    a = np.array([-10.0, -8.0, -6.0])                     # D(G(z)) ≈ 5e-5 .. 2e-3
    sat = np.abs(generator_loss_grad(a, "saturating"))
    non = np.abs(generator_loss_grad(a, "non_saturating"))
    assert np.all(non / sat > 100)
    a = np.array([6.0])                                   # D fooled: the roles swap
    assert abs(generator_loss_grad(a, "saturating")[0]) > 100 * abs(
        generator_loss_grad(a, "non_saturating")[0])


def test_optimal_discriminator_maximises_the_value():
    x = np.linspace(-8, 8, 4001)
    dx = x[1] - x[0]
    p = np.exp(-0.5 * (x - 1) ** 2) / np.sqrt(2 * np.pi)
    q = np.exp(-0.5 * ((x + 1) / 1.5) ** 2) / (1.5 * np.sqrt(2 * np.pi))
    p, q = p / (p.sum() * dx), q / (q.sum() * dx)         # densities on the grid: Σ p dx = 1
    d_star = optimal_discriminator(p, q)
    v_star = gan_value(p, q, d_star, dx)
    rng = np.random.default_rng(0)
    for _ in range(5):
        other = np.clip(d_star + 0.05 * rng.normal(size=x.shape), 1e-6, 1 - 1e-6)
        assert gan_value(p, q, other, dx) < v_star
    # V(D*, G) = −log 4 + 2 JS(p ‖ q), JS computed from KL on the same grid
    pm, qm = p * dx, q * dx
    m = (pm + qm) / 2
    js = 0.5 * kl_divergence(pm, m) + 0.5 * kl_divergence(qm, m)
    assert abs(v_star - (-np.log(4) + 2 * js)) < 1e-10
    # p = q: D* = 1/2 everywhere and V = −log 4
    assert np.allclose(optimal_discriminator(p, p), 0.5)
    assert abs(gan_value(p, p, np.full_like(p, 0.5), dx) + np.log(4)) < 1e-12


def test_optimal_discriminator_edge_cases():
    np.testing.assert_allclose(optimal_discriminator([0.0, 1.0, 0.0], [0.0, 0.0, 2.0]),
                               [0.5, 1.0, 0.0])
    assert gan_value([1.0, 0.0], [0.0, 1.0], [1.0, 0.0], 1.0) == 0.0   # perfect D: V = 0


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="kind must be one of"):
        generator_loss(np.zeros(3), "minimax")
    with pytest.raises(ValueError, match="kind must be one of"):
        generator_loss_grad(np.zeros(3), "wasserstein")
    with pytest.raises(ValueError, match="same shape"):
        optimal_discriminator(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match=">= 0"):
        optimal_discriminator(np.array([-1.0]), np.array([1.0]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        gan_value(np.ones(2), np.ones(2), np.array([0.5, 1.5]), 0.1)
    with pytest.raises(ValueError, match="dx"):
        gan_value(np.ones(2), np.ones(2), np.full(2, 0.5), 0.0)
    with pytest.raises(TypeError, match="torch tensor"):
        discriminator_loss(torch.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="NaN or inf"):
        generator_loss(np.array([np.inf]))
