"""Checks for the exercises of chapter 14 (Generative models).

Each check runs the learner's function on seeded random inputs and compares it with the
reference in :mod:`course_lib.scratch.vae` or :mod:`course_lib.scratch.gan`.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function
from course_lib.scratch import gan as sgan
from course_lib.scratch import vae as svae


def _latent(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, d = int(rng.integers(1, 6)), int(rng.integers(1, 9))
    return rng.normal(size=(n, d)), rng.normal(scale=1.5, size=(n, d))


# ------------------------------------------------------------------- 1. the Gaussian KL

def check_gaussian_kl(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(mu, logvar) -> (N,)``: KL(N(μ, diag σ²) ‖ N(0, I)) for (N, d) arrays,
    summed over the d latent dimensions."""
    return check_function(
        fn, svae.gaussian_kl, _latent, name="Gaussian KL to N(0, I)", trials=6,
        rtol=1e-9, atol=1e-12, strict=strict,
        hint="0.5 * (mu**2 + np.exp(logvar) - 1 - logvar), summed over axis=-1 (the latent "
             "dimensions), not over the batch; remember logvar is log σ², so σ² = exp(logvar)")


# ------------------------------------------------------ 2. the reparameterized sample

def _reparam_inputs(rng: np.random.Generator):
    mu, logvar = _latent(rng)
    return mu, logvar, rng.normal(size=mu.shape)


def check_reparameterize(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(mu, logvar, eps) -> z``: z = μ + σ ε with σ = exp(½ log σ²), all (N, d)."""
    return check_function(
        fn, svae.reparameterize, _reparam_inputs, name="reparameterized sample", trials=6,
        rtol=1e-10, atol=1e-12, strict=strict,
        hint="σ = np.exp(0.5 * logvar) (the square root of the variance, not exp(logvar)); "
             "then z = mu + σ * eps, with eps given: do not draw new noise")


# -------------------------------------------------------------------------- 3. the ELBO

def _elbo_inputs(rng: np.random.Generator):
    n, D, d = int(rng.integers(1, 5)), int(rng.integers(2, 20)), int(rng.integers(1, 5))
    x = rng.random((n, D))
    x[:, 0], x[:, -1] = 0.0, 1.0                             # pure black and white pixels too
    scale = 60.0 if rng.random() < 0.4 else 4.0              # a confident decoder, sometimes
    logits = rng.normal(scale=scale, size=(n, D))
    mu, logvar = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    return x, logits, mu, logvar


def check_elbo(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, logits, mu, logvar) -> (N,)``: the ELBO per example, Bernoulli
    reconstruction log p(x | logits) minus the closed-form KL, finite for logits of ±200."""
    return check_function(
        fn, lambda x, lg, mu, lv: svae.elbo_terms(x, lg, mu, lv)[0], _elbo_inputs,
        name="ELBO per example", trials=8, rtol=1e-9, atol=1e-9, strict=strict,
        hint="reconstruction = sum over pixels of x * logits - softplus(logits), with a stable "
             "softplus(l) = np.maximum(l, 0) + np.log1p(np.exp(-np.abs(l))) (log(sigmoid(l)) "
             "gives -inf once sigmoid rounds to 0 or 1); then subtract the KL of exercise 1")


# ----------------------------------------------------- 4. the two generator gradients

def _logit_inputs(rng: np.random.Generator):
    n = int(rng.integers(1, 12))
    return (rng.normal(scale=float(rng.choice([1.0, 8.0])), size=n),)


def _per_element_grads(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (sgan.generator_loss_grad(a, "saturating") * a.size,
            sgan.generator_loss_grad(a, "non_saturating") * a.size)


def check_generator_gradients(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(a) -> (g_sat, g_ns)``: for discriminator logits a (N,) on fakes, the
    derivatives of log(1 − σ(a)) and of −log σ(a) with respect to each a (no 1/N)."""
    return check_function(
        fn, _per_element_grads, _logit_inputs, name="saturating and non-saturating gradients",
        trials=6, rtol=1e-9, atol=1e-12, strict=strict,
        hint="with D = σ(a) and σ'(a) = σ(a)(1 − σ(a)): d/da log(1 − σ(a)) = −σ(a) and "
             "d/da [−log σ(a)] = −(1 − σ(a)); return the two arrays as a tuple")
