"""Small generative models for 28×28 digits and their training loops (chapter 14).

- :class:`VAE`: an MLP variational autoencoder (Kingma & Welling 2014, arXiv:1312.6114):
  the encoder gives μ and log σ² of q(z | x), the decoder Bernoulli logits for p(x | z);
  :func:`elbo_terms` and :func:`fit_vae` train it by maximising the ELBO.
- :class:`Generator` and :class:`Discriminator`: MLPs for a GAN (Goodfellow et al. 2014,
  arXiv:1406.2661). With ``n_classes > 0`` they are conditional (Mirza & Osindero 2014,
  arXiv:1411.1784): the generator receives a learned label embedding next to z, and the
  discriminator uses the projection of Miyato & Koyama (2018, arXiv:1802.05637),
  D(x, y) = ψ(φ(x)) + ⟨e_y, φ(x)⟩, which learns the conditioning much faster than feeding a
  one-hot label in with the 784 pixels. :func:`fit_gan` alternates one D step and one G step.
- :func:`predict_proba`: class probabilities from a classifier, in batches (the "judge").

Images are (N, 1, 28, 28) tensors with pixels in [0, 1] everywhere in the interface; the GAN
works in [−1, 1] inside (tanh output, D rescales its input). Every model takes a ``seed`` for
its initial weights and every training loop a ``seed`` for its batches and noise, drawn from a
``torch.Generator`` on the model's device, so runs reproduce on a given device. The data may
live anywhere: each batch is moved to the model's device. Training is bounded by a number of
steps and runs in :func:`course_lib.training.run_steps`, the course's step loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.env import seeded
from course_lib.scratch.validate import check_int
from course_lib.training import eval_mode, model_device, optimizer_step, run_steps, to_device

__all__ = ["VAE", "elbo_terms", "fit_vae", "VAEHistory", "Generator", "Discriminator",
           "fit_gan", "GANHistory", "predict_proba", "gradient_norm"]

IMAGE_SHAPE = (1, 28, 28)
N_PIXELS = 28 * 28


def _images(where: str, x) -> torch.Tensor:
    """Check (N, 1, 28, 28) or (N, 784) and return (N, 784)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{where}: x must be a torch.Tensor, got {type(x).__name__}")
    image = x.ndim == 4 and tuple(x.shape[1:]) == IMAGE_SHAPE
    if image or (x.ndim == 2 and x.shape[1] == N_PIXELS):
        return x.reshape(len(x), N_PIXELS)
    raise ValueError(f"{where}: x must be (N, 1, 28, 28) or (N, 784), got {tuple(x.shape)}")


# ------------------------------------------------------------------------------------ VAE

class VAE(nn.Module):
    """MLP VAE: 784 → hidden → (μ, log σ²) ∈ R^d × R^d;  z ∈ R^d → hidden → 784 logits.

    Args:
        latent_dim: d, the size of z.
        hidden: width of the one hidden layer of encoder and decoder.
        seed: seed for the initial weights (None: the global RNG).
    """

    def __init__(self, latent_dim: int = 16, hidden: int = 256, *, seed: int | None = 0):
        super().__init__()
        self.latent_dim = check_int(latent_dim, "VAE", "latent_dim", low=1)
        hidden = check_int(hidden, "VAE", "hidden", low=1)
        with seeded(seed, "VAE"):
            self.encoder = nn.Sequential(nn.Linear(N_PIXELS, hidden), nn.ReLU())
            self.to_mu = nn.Linear(hidden, latent_dim)
            self.to_logvar = nn.Linear(hidden, latent_dim)
            self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(),
                                         nn.Linear(hidden, N_PIXELS))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, 1, 28, 28) or (N, 784) in [0, 1] → (μ, log σ²), each (N, d)."""
        h = self.encoder(_images("VAE.encode", x))                   # (N, hidden)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, d) → Bernoulli logits (N, 1, 28, 28); ``torch.sigmoid`` gives pixel means."""
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.latent_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"VAE.decode: z must be (N, {self.latent_dim}), got {got}")
        return self.decoder(z).view(len(z), *IMAGE_SHAPE)

    def forward(self, x: torch.Tensor, eps: torch.Tensor | None = None):
        """Encode, sample z = μ + σ ε by reparameterization, decode.

        ``eps`` (N, d) is the standard-normal noise (drawn here when None).
        Returns ``(logits (N, 1, 28, 28), mu (N, d), logvar (N, d), z (N, d))``.
        """
        mu, logvar = self.encode(x)
        if eps is None:
            eps = torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps                       # (N, d)
        return self.decode(z), mu, logvar, z

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """n images decoded from z ~ N(0, I): pixel means sigmoid(logits), (n, 1, 28, 28)."""
        z = torch.randn(n, self.latent_dim, device=model_device(self), generator=generator)
        return torch.sigmoid(self.decode(z))


def elbo_terms(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor,
               logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-example ``(elbo, reconstruction, kl)``, each (N,): the torch twin of
    ``course_lib.scratch.vae.elbo_terms``.

    reconstruction = Σ_pixels [x log σ(ℓ) + (1 − x) log(1 − σ(ℓ))]  (one sample of z);
    kl = ½ Σ_j (μ² + σ² − 1 − log σ²)  (closed form against N(0, I)).
    """
    x = _images("elbo_terms", x)
    rec = -F.binary_cross_entropy_with_logits(logits.reshape(x.shape), x,
                                              reduction="none").sum(1)
    kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)
    return rec - kl, rec, kl


@dataclass
class VAEHistory:
    """``steps``: the steps at which the validation set was scored (0 = before training);
    ``val_elbo``, ``val_rec``, ``val_kl``: mean per image there (nats);
    ``train_elbo``: the mini-batch ELBO of every step."""

    steps: list[int] = field(default_factory=list)
    val_elbo: list[float] = field(default_factory=list)
    val_rec: list[float] = field(default_factory=list)
    val_kl: list[float] = field(default_factory=list)
    train_elbo: list[float] = field(default_factory=list)


@torch.no_grad()
def _score_vae(model: VAE, X: torch.Tensor, seed: int) -> tuple[float, float, float]:
    gen = torch.Generator(device=X.device).manual_seed(seed)
    mu, logvar = model.encode(X)
    eps = torch.randn(mu.shape, device=X.device, generator=gen)
    logits, mu, logvar, _ = model(X, eps)
    elbo, rec, kl = elbo_terms(X, logits, mu, logvar)
    return elbo.mean().item(), rec.mean().item(), kl.mean().item()


def fit_vae(model: VAE, X_train: torch.Tensor, X_val: torch.Tensor, *, steps: int,
            batch_size: int = 128, lr: float = 1e-3, eval_every: int = 100, seed: int = 0,
            progress: bool = True) -> VAEHistory:
    """Train ``model`` with Adam on −ELBO for ``steps`` mini-batches drawn with replacement.

    Args:
        X_train, X_val: (N, 1, 28, 28) images in [0, 1] (moved to the model's device).
        eval_every: score the validation set (one z per image, fixed noise) every this many
            steps, and at step 0 and at the end.
        seed: seed of the batches and of the noise ε.

    Returns:
        A :class:`VAEHistory`.
    """
    where = "fit_vae"
    steps = check_int(steps, where, "steps", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    eval_every = check_int(eval_every, where, "eval_every", low=1)
    X_train, X_val = _images(where, X_train), _images(where, X_val)
    device = model_device(model)
    X_val = to_device(X_val, device)
    gen = torch.Generator(device=device).manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    hist = VAEHistory()

    def score(step: int) -> None:
        e, r, k = _score_vae(model, X_val, seed + 1)
        hist.steps.append(step)
        hist.val_elbo.append(e)
        hist.val_rec.append(r)
        hist.val_kl.append(k)

    def step(i: int) -> dict[str, float]:
        idx = torch.randint(0, len(X_train), (batch_size,), device=device, generator=gen)
        x = to_device(X_train[idx.to(X_train.device)], device)     # (B, 784)
        eps = torch.randn(batch_size, model.latent_dim, device=device, generator=gen)
        logits, mu, logvar, _ = model(x, eps)
        elbo = elbo_terms(x, logits, mu, logvar)[0].mean()
        optimizer_step(opt, -elbo)
        if (i + 1) % eval_every == 0 or i + 1 == steps:
            score(i + 1)
        return {"elbo": elbo.item(), "val_elbo": hist.val_elbo[-1]}

    score(0)
    record = run_steps(step, steps=steps, models=[model], progress=progress, desc="VAE steps",
                       where=where)
    hist.train_elbo = record["elbo"]
    return hist


# ------------------------------------------------------------------------------------ GAN

class Generator(nn.Module):
    """MLP generator z (N, z_dim) [, labels (N,)] → images (N, 1, 28, 28) in [0, 1].

    z → Linear → LeakyReLU(0.2) → Linear → LeakyReLU(0.2) → Linear(784) → tanh, rescaled
    from [−1, 1] to [0, 1]. With ``n_classes > 0`` a learned (n_classes, z_dim) embedding of
    the label is concatenated to z.
    """

    def __init__(self, z_dim: int = 32, hidden: int = 256, n_classes: int = 0, *,
                 seed: int | None = 0):
        super().__init__()
        self.z_dim = check_int(z_dim, "Generator", "z_dim", low=1)
        hidden = check_int(hidden, "Generator", "hidden", low=1)
        self.n_classes = check_int(n_classes, "Generator", "n_classes", low=0)
        with seeded(seed, "Generator"):
            self.embed = nn.Embedding(n_classes, z_dim) if n_classes else None
            d_in = 2 * z_dim if n_classes else z_dim
            self.net = nn.Sequential(
                nn.Linear(d_in, hidden), nn.LeakyReLU(0.2),                 # (N, hidden)
                nn.Linear(hidden, hidden), nn.LeakyReLU(0.2),               # (N, hidden)
                nn.Linear(hidden, N_PIXELS), nn.Tanh())                     # (N, 784) in [-1, 1]

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if not isinstance(z, torch.Tensor) or z.ndim != 2 or z.shape[1] != self.z_dim:
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"Generator: z must be (N, {self.z_dim}), got {got}")
        if self.n_classes:
            y = _labels("Generator", labels, len(z), self.n_classes)       # (N,)
            z = torch.cat([z, self.embed(y)], dim=1)                        # (N, 2 z_dim)
        return (0.5 * (self.net(z) + 1.0)).view(len(z), *IMAGE_SHAPE)


def _labels(where: str, labels, n: int, n_classes: int) -> torch.Tensor:
    if labels is None:
        raise ValueError(f"{where}: this model is conditional ({n_classes} classes); "
                         f"pass labels, an int64 tensor of shape ({n},)")
    if not isinstance(labels, torch.Tensor) or labels.shape != (n,) or labels.dtype != torch.int64:
        got = (f"{labels.dtype} {tuple(labels.shape)}" if isinstance(labels, torch.Tensor)
               else type(labels).__name__)
        raise ValueError(f"{where}: labels must be an int64 tensor of shape ({n},), got {got}")
    return labels


class Discriminator(nn.Module):
    """MLP discriminator: images (N, 1, 28, 28) [, labels (N,)] → logits a (N,); D = σ(a).

    φ: 784 → hidden → hidden (LeakyReLU 0.2) on pixels rescaled to [−1, 1]; a = w·φ(x) + b,
    plus ⟨e_y, φ(x)⟩ with a learned (n_classes, hidden) embedding when ``n_classes > 0``
    (the projection discriminator).
    """

    def __init__(self, hidden: int = 256, n_classes: int = 0, *, seed: int | None = 0):
        super().__init__()
        hidden = check_int(hidden, "Discriminator", "hidden", low=1)
        self.n_classes = check_int(n_classes, "Discriminator", "n_classes", low=0)
        with seeded(seed, "Discriminator"):
            self.phi = nn.Sequential(
                nn.Linear(N_PIXELS, hidden), nn.LeakyReLU(0.2),             # (N, hidden)
                nn.Linear(hidden, hidden), nn.LeakyReLU(0.2))               # (N, hidden)
            self.out = nn.Linear(hidden, 1)
            self.embed = nn.Embedding(n_classes, hidden) if n_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.phi(2.0 * _images("Discriminator", x) - 1.0)          # (N, hidden)
        a = self.out(h).squeeze(1)                                       # (N,)
        if self.n_classes:
            e = self.embed(_labels("Discriminator", labels, len(h), self.n_classes))
            a = a + (e * h).sum(1)                                       # projection term
        return a


@dataclass
class GANHistory:
    """Per step: ``d_loss``, ``g_loss`` (the non-saturating or saturating one trained),
    ``d_real`` = mean D(x) and ``d_fake`` = mean D(G(z)) on the batch, before the updates.
    ``snapshots``: {step: G(z_fixed) on the CPU} (step 0 = the untrained generator)."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    snapshots: dict[int, torch.Tensor] = field(default_factory=dict)


def fit_gan(G: Generator, D: Discriminator, X: torch.Tensor, y: torch.Tensor | None = None,
            *, steps: int, batch_size: int = 64, lr: float = 2e-4,
            betas: tuple[float, float] = (0.5, 0.999), generator_loss: str = "non_saturating",
            z_fixed: torch.Tensor | None = None, labels_fixed: torch.Tensor | None = None,
            snapshot_at: Iterable[int] = (), seed: int = 0, progress: bool = True
            ) -> GANHistory:
    """Alternate one discriminator and one generator Adam step, ``steps`` times.

    D step: minimise BCE(a(x), 1) + BCE(a(G(z)), 0) (= −V(D, G)).
    G step: ``"non_saturating"`` minimises BCE(a(G(z)), 1) = −log D(G(z)); ``"saturating"``
    minimises log(1 − D(G(z))) = −BCE(a(G(z)), 0), the game's own objective.
    For a conditional pair (``n_classes > 0``) real images come with their labels ``y`` and
    fakes get uniformly random labels.

    Args:
        G, D: the two players, on the same device.
        X: (N, 1, 28, 28) real images in [0, 1]; y: (N,) labels (moved to the models' device).
        z_fixed, labels_fixed: noise (K, z_dim) [and labels (K,)] for the snapshots.
        snapshot_at: steps after which G(z_fixed) is stored (0: before training).
        seed: seed of the batches, the noise and the fake labels.

    Returns:
        A :class:`GANHistory`.
    """
    where = "fit_gan"
    steps = check_int(steps, where, "steps", low=1)
    batch_size = check_int(batch_size, where, "batch_size", low=1)
    if generator_loss not in ("non_saturating", "saturating"):
        raise ValueError(f"{where}: generator_loss must be 'non_saturating' or 'saturating', "
                         f"got {generator_loss!r}")
    if G.n_classes != D.n_classes:
        raise ValueError(f"{where}: G has {G.n_classes} classes but D has {D.n_classes}")
    cond = G.n_classes > 0
    X = _images(where, X)
    if cond and (y is None or y.shape != (len(X),)):
        raise ValueError(f"{where}: a conditional GAN needs labels y of shape ({len(X)},)")
    device = model_device(G)
    if model_device(D) != device:
        raise ValueError(f"{where}: G is on {device} but D on {model_device(D)}; "
                         f"put both on env.device")
    z_fixed, labels_fixed = to_device(z_fixed, device), to_device(labels_fixed, device)
    gen = torch.Generator(device=device).manual_seed(seed)
    opt_G = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    ones = torch.ones(batch_size, device=device)
    zeros = torch.zeros(batch_size, device=device)
    snapshot_at = set(snapshot_at)
    hist = GANHistory()

    def snapshot(step: int) -> None:
        if z_fixed is not None and step in snapshot_at:
            with torch.no_grad():
                hist.snapshots[step] = G(z_fixed, labels_fixed).cpu()

    def step(i: int) -> dict[str, float]:
        idx = torch.randint(0, len(X), (batch_size,), device=device, generator=gen)
        x_real = to_device(X[idx.to(X.device)], device)                  # (B, 784)
        y_real = to_device(y[idx.to(y.device)], device) if cond else None  # (B,)
        z = torch.randn(batch_size, G.z_dim, device=device, generator=gen)
        y_fake = (torch.randint(0, G.n_classes, (batch_size,), device=device, generator=gen)
                  if cond else None)
        x_fake = G(z, y_fake)                                             # (B, 1, 28, 28)
        # --- discriminator step: real -> 1, fake -> 0 (fakes detached: G is not updated)
        a_real, a_fake = D(x_real, y_real), D(x_fake.detach(), y_fake)
        d_loss = (F.binary_cross_entropy_with_logits(a_real, ones)
                  + F.binary_cross_entropy_with_logits(a_fake, zeros))
        optimizer_step(opt_D, d_loss)
        # --- generator step, through the just-updated discriminator
        a_gen = D(x_fake, y_fake)
        if generator_loss == "non_saturating":
            g_loss = F.binary_cross_entropy_with_logits(a_gen, ones)     # −log D(G(z))
        else:
            g_loss = -F.binary_cross_entropy_with_logits(a_gen, zeros)   # log(1 − D(G(z)))
        optimizer_step(opt_G, g_loss)
        snapshot(i + 1)
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(),
                "d_real": torch.sigmoid(a_real).mean().item(),
                "d_fake": torch.sigmoid(a_fake).mean().item()}

    snapshot(0)
    record = run_steps(step, steps=steps, models=[G, D], progress=progress, desc="GAN steps",
                       where=where)
    hist.d_loss, hist.g_loss = record["d_loss"], record["g_loss"]
    hist.d_real, hist.d_fake = record["d_real"], record["d_fake"]
    return hist


# --------------------------------------------------------------------------------- helpers

@torch.no_grad()
def predict_proba(classifier: nn.Module | Callable, images: torch.Tensor, *,
                  batch_size: int = 1000) -> torch.Tensor:
    """Softmax probabilities (N, K) of a classifier on images (N, 1, 28, 28), in batches.

    The classifier is put in eval mode for the call and restored afterwards.
    """
    if not isinstance(images, torch.Tensor) or images.ndim != 4:
        got = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"predict_proba: images must be (N, C, H, W), got {got}")
    with eval_mode(classifier):
        return torch.cat([F.softmax(classifier(images[i:i + batch_size]), dim=1)
                          for i in range(0, len(images), batch_size)])


def gradient_norm(module: nn.Module) -> float:
    """The global L2 norm of the ``.grad`` of every parameter of ``module`` (0 if none)."""
    sq = [p.grad.detach().pow(2).sum() for p in module.parameters() if p.grad is not None]
    return torch.stack(sq).sum().sqrt().item() if sq else 0.0
