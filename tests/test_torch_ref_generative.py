"""course_lib.torch_ref.generative: shapes, seeding, the training loops and clear errors."""

import numpy as np
import pytest
import torch
from torch import nn

from course_lib.scratch.vae import elbo_terms as elbo_terms_np
from course_lib.torch_ref.generative import (
    VAE,
    Discriminator,
    Generator,
    elbo_terms,
    fit_gan,
    fit_vae,
    gradient_norm,
    predict_proba,
)


def blobs(n=64, seed=0):
    """n (n, 1, 28, 28) images in [0, 1]: a bright square at one of two places, and labels."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = 0.05 * torch.rand(n, 1, 28, 28, generator=g)
    for i in range(n):
        r = 4 if y[i] == 0 else 16
        X[i, 0, r:r + 8, r:r + 8] = 1.0
    return X, y


def test_vae_shapes_and_reparameterization():
    vae = VAE(latent_dim=3, hidden=20)
    x = torch.rand(5, 1, 28, 28)
    mu, logvar = vae.encode(x)
    assert mu.shape == logvar.shape == (5, 3)
    eps = torch.randn(5, 3)
    logits, mu2, lv2, z = vae(x, eps)
    assert logits.shape == (5, 1, 28, 28)
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps)
    torch.testing.assert_close(vae(x.flatten(1), eps)[0], logits)     # (N, 784) works too
    s = vae.sample(4, torch.Generator().manual_seed(0))
    assert s.shape == (4, 1, 28, 28) and s.min() >= 0 and s.max() <= 1


def test_gradient_reaches_the_encoder_through_z():
    vae = VAE(latent_dim=2, hidden=8)
    x = torch.rand(3, 784)
    logits, mu, logvar, _ = vae(x)
    elbo_terms(x, logits, mu, logvar)[0].sum().backward()
    assert gradient_norm(vae.to_mu) > 0 and gradient_norm(vae.to_logvar) > 0


def test_models_are_seeded_and_leave_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = VAE(seed=7), VAE(seed=7)
    assert torch.rand(1) == before                                     # global state untouched
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    assert not torch.equal(VAE(seed=8).to_mu.weight, a.to_mu.weight)
    assert torch.equal(Generator(seed=3).net[0].weight, Generator(seed=3).net[0].weight)


def test_elbo_terms_match_scratch_float64():
    rng = np.random.default_rng(0)
    x, logits = rng.random((4, 784)), rng.normal(scale=3, size=(4, 784))
    mu, lv = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    ours = elbo_terms(*(torch.tensor(a) for a in (x, logits, mu, lv)))
    for a, b in zip(ours, elbo_terms_np(x, logits, mu, lv), strict=True):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-12)


def test_train_vae_improves_the_validation_elbo_and_reproduces():
    X, _ = blobs(96)
    runs = []
    for _ in range(2):
        vae = VAE(latent_dim=2, hidden=32, seed=0)
        h = fit_vae(vae, X[:64], X[64:], steps=60, batch_size=32, lr=3e-3, eval_every=20,
                    progress=False)
        runs.append(h)
    h = runs[0]
    assert h.steps == [0, 20, 40, 60] and len(h.train_elbo) == 60
    assert h.val_elbo[-1] > h.val_elbo[0] + 100
    np.testing.assert_allclose(np.array(h.val_elbo), np.array(h.val_rec) - np.array(h.val_kl),
                               rtol=1e-5)
    assert runs[0].val_elbo == runs[1].val_elbo                        # same seed, same numbers


def test_generator_and_discriminator_shapes():
    G, D = Generator(z_dim=4, hidden=16), Discriminator(hidden=16)
    x = G(torch.randn(6, 4))
    assert x.shape == (6, 1, 28, 28) and x.min() >= 0 and x.max() <= 1
    assert D(x).shape == (6,)
    Gc, Dc = Generator(z_dim=4, hidden=16, n_classes=3), Discriminator(hidden=16, n_classes=3)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    xc = Gc(torch.randn(6, 4), y)
    assert xc.shape == (6, 1, 28, 28) and Dc(xc, y).shape == (6,)
    # the projection term: D's logit depends on the label
    assert not torch.allclose(Dc(xc, y), Dc(xc, (y + 1) % 3))


def test_train_gan_records_and_snapshots():
    X, y = blobs(64)
    G, D = Generator(z_dim=8, hidden=32, n_classes=2), Discriminator(hidden=32, n_classes=2)
    zf, lf = torch.randn(4, 8), torch.tensor([0, 1, 0, 1])
    h = fit_gan(G, D, X, y, steps=30, batch_size=16, z_fixed=zf, labels_fixed=lf,
                snapshot_at=[0, 10, 30], progress=False)
    assert len(h.d_loss) == len(h.g_loss) == len(h.d_real) == len(h.d_fake) == 30
    assert sorted(h.snapshots) == [0, 10, 30] and h.snapshots[30].shape == (4, 1, 28, 28)
    assert not torch.equal(h.snapshots[0], h.snapshots[30])            # G moved
    assert all(0 <= v <= 1 for v in h.d_real + h.d_fake)
    # reproducible with the same seeds
    G2, D2 = Generator(z_dim=8, hidden=32, n_classes=2), Discriminator(hidden=32, n_classes=2)
    h2 = fit_gan(G2, D2, X, y, steps=30, batch_size=16, progress=False)
    assert h2.d_loss == h.d_loss


class _LoudDiscriminator(Discriminator):
    """A discriminator whose logits are scaled up, so that D(G(z)) saturates."""

    def __init__(self, scale: float, **kw):
        super().__init__(**kw)
        self.scale = scale

    def forward(self, x, labels=None):
        return self.scale * super().forward(x, labels)


@pytest.mark.parametrize("scale", [1.0, 300.0])
def test_saturating_generator_loss_is_log_one_minus_d(scale):
    X, _ = blobs(32)
    G, D = Generator(z_dim=4, hidden=16), _LoudDiscriminator(scale, hidden=16)
    logits = []                          # D runs 3 times a step: real, fake (D step), fake (G)
    D.register_forward_hook(lambda mod, inp, out: logits.append(out.detach().double().numpy()))
    h = fit_gan(G, D, X, steps=3, batch_size=8, generator_loss="saturating", progress=False)
    assert len(logits) == 9
    a_gen = np.stack(logits[2::3])                                     # (steps, batch)
    if scale > 1:
        assert np.abs(a_gen).max() > 40                                # σ(a) rounds to 0 or 1
    # log(1 − D(G(z))) = log(1 − σ(a)) = −log(1 + e^a), computed here in float64 by NumPy
    expected = np.mean(-np.logaddexp(0.0, a_gen), axis=1)
    np.testing.assert_allclose(h.g_loss, expected, rtol=1e-5, atol=1e-6)
    # ... which is the literal log1p(−σ(a)) wherever that does not round σ(a) to 1
    small = np.abs(a_gen) < 10
    naive = np.log1p(-1.0 / (1.0 + np.exp(-a_gen[small])))
    np.testing.assert_allclose(naive, -np.logaddexp(0.0, a_gen[small]), rtol=1e-9)
    assert all(np.isfinite(h.g_loss)) and all(v <= 0 for v in h.g_loss)   # log(1 − D) <= 0


def test_discriminator_learns_to_separate_blobs_from_noise():
    X, _ = blobs(64)
    G, D = Generator(z_dim=4, hidden=16), Discriminator(hidden=32)
    h = fit_gan(G, D, X, steps=40, batch_size=32, lr=1e-3, progress=False)
    assert np.mean(h.d_real[-10:]) > np.mean(h.d_fake[-10:])


def test_predict_proba_batches_and_restores_mode():
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 3), nn.Dropout(0.5))
    net.train()
    x = torch.rand(7, 1, 28, 28)
    p = predict_proba(net, x, batch_size=3)
    assert p.shape == (7, 3) and net.training
    torch.testing.assert_close(p.sum(1), torch.ones(7))
    torch.testing.assert_close(p, predict_proba(net, x, batch_size=100))   # eval: no dropout


def test_gradient_norm():
    lin = nn.Linear(2, 1)
    assert gradient_norm(lin) == 0.0
    lin(torch.tensor([[3.0, 4.0]])).sum().backward()
    assert abs(gradient_norm(lin) - np.sqrt(9 + 16 + 1)) < 1e-6


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"VAE: latent_dim must be in \[1, inf\]"):
        VAE(latent_dim=0)
    with pytest.raises(ValueError, match=r"x must be \(N, 1, 28, 28\) or \(N, 784\)"):
        VAE().encode(torch.zeros(2, 28, 28))
    with pytest.raises(ValueError, match=r"z must be \(N, 16\)"):
        VAE().decode(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="pass labels"):
        Generator(n_classes=10)(torch.zeros(2, 32))
    with pytest.raises(ValueError, match="int64 tensor of shape"):
        Discriminator(n_classes=10)(torch.zeros(2, 784), torch.zeros(2))
    with pytest.raises(ValueError, match=r"Generator: n_classes must be in \[0, inf\]"):
        Generator(n_classes=-1)
    X, y = blobs(8)
    with pytest.raises(ValueError, match="G has 2 classes but D has 0"):
        fit_gan(Generator(n_classes=2), Discriminator(), X, y, steps=1, progress=False)
    with pytest.raises(ValueError, match="needs labels"):
        fit_gan(Generator(n_classes=2), Discriminator(n_classes=2), X, steps=1,
                progress=False)
    with pytest.raises(ValueError, match="generator_loss must be"):
        fit_gan(Generator(), Discriminator(), X, steps=1, generator_loss="minimax")
    with pytest.raises(ValueError, match=r"fit_vae: steps must be in \[1, inf\]"):
        fit_vae(VAE(), X, X, steps=0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        fit_vae(VAE(), X.numpy(), X, steps=1)
