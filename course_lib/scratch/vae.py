"""The pieces of a variational autoencoder, in NumPy (Kingma & Welling 2014).

"Auto-Encoding Variational Bayes", ICLR 2014, arXiv:1312.6114. The encoder gives, for each
input, the mean μ and the log-variance log σ² of a diagonal Gaussian q(z | x); the decoder
gives Bernoulli logits for every pixel. Training maximises the evidence lower bound (ELBO)

    log p(x) ≥ ELBO(x) = E_{z ~ q(z|x)}[log p(x | z)] − KL(q(z | x) ‖ p(z)),   p(z) = N(0, I).

Functions (arrays are float64; ``(..., d)`` means any leading batch shape and d latent
dimensions, reduced over the last axis):

- :func:`gaussian_kl`            KL(N(μ, σ²) ‖ N(μ_p, σ_p²)) in closed form, summed over d;
- :func:`gaussian_log_density`   log N(z; μ, σ²), summed over d;
- :func:`reparameterize`         z = μ + σ ⊙ ε with ε ~ N(0, I) drawn *outside* the model;
- :func:`reparameterize_backward` the gradients of z with respect to μ and log σ²;
- :func:`monte_carlo_kl`         the KL estimated by sampling, with its standard error;
- :func:`bernoulli_log_likelihood_logits` log p(x | logits), stable for large logits
  (chapter 03's :func:`~course_lib.scratch.information.bernoulli_log_likelihood` takes a
  probability θ and 0/1 data instead);
- :func:`elbo_terms`             (ELBO, reconstruction, KL) per example.
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.functional import log_sigmoid
from course_lib.scratch.validate import as_array, as_float_array, check_int, check_rng

__all__ = ["gaussian_kl", "gaussian_log_density", "reparameterize", "reparameterize_backward",
           "monte_carlo_kl", "bernoulli_log_likelihood_logits", "elbo_terms"]

_LOG_2PI = float(np.log(2 * np.pi))


def _broadcast(where: str, **arrays) -> list[np.ndarray]:
    """The arrays as finite float64, broadcast together to a shape (..., d)."""
    arrays = {k: as_float_array(v, where, k, finite=True, dtype=np.float64)
              for k, v in arrays.items()}
    try:
        out = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"{where}: the arrays must have broadcastable shapes (..., d), "
                         f"got {shapes}") from None
    if out[0].ndim == 0:
        raise ValueError(f"{where}: expected arrays of shape (..., d) with a latent axis, "
                         f"got scalars")
    return out


def gaussian_kl(mu, logvar, mu_p=0.0, logvar_p=0.0) -> np.ndarray:
    """Closed-form KL(N(μ, diag σ²) ‖ N(μ_p, diag σ_p²)), summed over the last axis.

    KL = ½ Σ_j [ log σ_p² − log σ² + (σ² + (μ − μ_p)²) / σ_p² − 1 ];
    for the standard-normal prior (the defaults μ_p = 0, log σ_p² = 0)
    KL = ½ Σ_j [ μ² + σ² − 1 − log σ² ].

    Args:
        mu, logvar: (..., d) mean and log-variance of q.
        mu_p, logvar_p: mean and log-variance of p, broadcastable to (..., d).

    Returns:
        (...) float64, ≥ 0.
    """
    w = "gaussian_kl"
    mu, logvar, mu_p, logvar_p = _broadcast(w, mu=mu, logvar=logvar, mu_p=mu_p,
                                            logvar_p=logvar_p)
    ratio = np.exp(logvar - logvar_p)                                   # σ² / σ_p²
    terms = logvar_p - logvar + ratio + (mu - mu_p) ** 2 * np.exp(-logvar_p) - 1.0
    return 0.5 * np.sum(terms, axis=-1)


def gaussian_log_density(z, mu, logvar) -> np.ndarray:
    """log N(z; μ, diag σ²) summed over the last axis.

    log N = −½ Σ_j [ log 2π + log σ_j² + (z_j − μ_j)² / σ_j² ].

    Args:
        z, mu, logvar: broadcastable arrays of shape (..., d).

    Returns:
        (...) float64.
    """
    w = "gaussian_log_density"
    z, mu, logvar = _broadcast(w, z=z, mu=mu, logvar=logvar)
    return -0.5 * np.sum(_LOG_2PI + logvar + (z - mu) ** 2 * np.exp(-logvar), axis=-1)


def reparameterize(mu, logvar, eps) -> np.ndarray:
    """The reparameterization trick: z = μ + exp(½ log σ²) ⊙ ε.

    The randomness ε ~ N(0, I) comes from outside, so z is a smooth, deterministic function
    of μ and log σ², and a gradient can flow back to the encoder.

    Args:
        mu, logvar: (..., d) parameters of q(z | x).
        eps: standard-normal noise broadcastable with them, e.g. (S, ..., d) for S samples.

    Returns:
        z with the broadcast shape of the three arguments.
    """
    w = "reparameterize"
    mu, logvar, eps = _broadcast(w, mu=mu, logvar=logvar, eps=eps)
    return mu + np.exp(0.5 * logvar) * eps


def reparameterize_backward(dz, logvar, eps) -> tuple[np.ndarray, np.ndarray]:
    """Backward pass of :func:`reparameterize`, CS231n style.

    With z = μ + exp(½ log σ²) ε:  ∂z/∂μ = 1 and ∂z/∂log σ² = ½ σ ε, so

        dμ = dz,    d log σ² = dz ⊙ ½ exp(½ log σ²) ⊙ ε.

    Args:
        dz: (..., d) upstream gradient ∂L/∂z.
        logvar, eps: the arguments of the forward call, broadcastable to dz.

    Returns:
        ``(dmu, dlogvar)``, each with dz's broadcast shape (sum over extra sample axes
        yourself when μ was broadcast over samples).
    """
    w = "reparameterize_backward"
    dz, logvar, eps = _broadcast(w, dz=dz, logvar=logvar, eps=eps)
    return dz.copy(), dz * 0.5 * np.exp(0.5 * logvar) * eps


def monte_carlo_kl(mu, logvar, n_samples: int, rng: np.random.Generator,
                   mu_p=0.0, logvar_p=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Estimate KL(q ‖ p) = E_{z ~ q}[log q(z) − log p(z)] by sampling, with a standard error.

    Draws z_s = μ + σ ε_s (s = 1..S) and averages log q(z_s) − log p(z_s). The standard error
    is the sample standard deviation of those S terms divided by √S.

    Args:
        mu, logvar: (..., d) parameters of q.
        n_samples: S ≥ 2.
        rng: a ``numpy.random.Generator`` (the only source of randomness).
        mu_p, logvar_p: parameters of p, broadcastable to (..., d); default N(0, I).

    Returns:
        ``(estimate, standard_error)``, each (...) float64.
    """
    w = "monte_carlo_kl"
    n_samples = check_int(n_samples, w, "n_samples", low=2)
    check_rng(rng, w)
    mu, logvar = _broadcast(w, mu=mu, logvar=logvar)
    eps = rng.standard_normal((n_samples, *mu.shape))                  # (S, ..., d)
    z = reparameterize(mu, logvar, eps)                                  # (S, ..., d)
    terms = gaussian_log_density(z, mu, logvar) - gaussian_log_density(z, mu_p, logvar_p)
    return terms.mean(axis=0), terms.std(axis=0, ddof=1) / np.sqrt(n_samples)


def bernoulli_log_likelihood_logits(x, logits) -> np.ndarray:
    """log p(x | logits) = Σ_i [ x_i log σ(ℓ_i) + (1 − x_i) log(1 − σ(ℓ_i)) ] over the last axis.

    Written as Σ_i [ x_i ℓ_i − softplus(ℓ_i) ] with −softplus(ℓ) = log σ(−ℓ) =
    −(max(ℓ, 0) + log(1 + e^{−|ℓ|})) (:func:`~course_lib.scratch.functional.log_sigmoid`),
    finite for logits of any size. x may be any value in [0, 1] (grey pixels), as is usual
    for MNIST VAEs: it is then the negative binary cross-entropy, not a normalised density.

    Args:
        x: (..., D) targets in [0, 1].
        logits: (..., D) decoder outputs, any real numbers.

    Returns:
        (...) float64, ≤ 0 for binary x.
    """
    w = "bernoulli_log_likelihood_logits"
    x, logits = _broadcast(w, x=x, logits=logits)
    if np.any(x < 0) or np.any(x > 1):
        raise ValueError(f"{w}: x must hold values in [0, 1], got values in "
                         f"[{x.min():.3g}, {x.max():.3g}]")
    return np.sum(x * logits + log_sigmoid(-logits), axis=-1)     # log σ(−ℓ) = −softplus(ℓ)


def elbo_terms(x, logits, mu, logvar) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ELBO of a Bernoulli-decoder VAE with a standard-normal prior, per example.

    ELBO = reconstruction − KL, with reconstruction = log p(x | z) for one sample z (whose
    decoder output is ``logits``) and KL = KL(N(μ, σ²) ‖ N(0, I)) in closed form.

    Args:
        x: (N, D) inputs in [0, 1]; logits: (N, D) decoder logits for z ~ q(z | x).
        mu, logvar: (N, d) encoder outputs.

    Returns:
        ``(elbo, reconstruction, kl)``, each (N,) float64; elbo = reconstruction − kl.
    """
    w = "elbo_terms"
    x = as_array(x, w, "x", ndim=2)
    mu = as_array(mu, w, "mu", ndim=2)
    if np.shape(logits) != x.shape:
        raise ValueError(f"{w}: logits must have the shape of x {x.shape}, "
                         f"got {np.shape(logits)}")
    if np.shape(logvar) != mu.shape or mu.shape[0] != x.shape[0]:
        raise ValueError(f"{w}: mu and logvar must both be (N, d) with N = {x.shape[0]}, "
                         f"got {mu.shape} and {np.shape(logvar)}")
    rec = bernoulli_log_likelihood_logits(x, logits)
    kl = gaussian_kl(mu, logvar)
    return rec - kl, rec, kl
