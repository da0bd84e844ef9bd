"""Checks for the exercises of chapter 03 (Probability and information).

Each check runs the learner's function on seeded random inputs, including the extreme
logits and log-likelihoods (around ±1000) and the zero probabilities where a naive formula
breaks, and compares it with the references in :mod:`course_lib.scratch.functional` and
:mod:`course_lib.scratch.information`.
"""

from __future__ import annotations

import numpy as np

from course_lib.exercises import Verdict, check_function, random_shape
from course_lib.scratch import information as info
from course_lib.scratch.functional import log_softmax, logsumexp


def _logits_inputs(rng: np.random.Generator) -> tuple[np.ndarray]:
    shape = random_shape(rng, max_ndim=3)
    scale = [1.0, 1000.0, -1000.0][int(rng.integers(0, 3))]
    x = rng.normal(size=shape)
    return (x + scale if scale != 1.0 else x,)


def check_logsumexp(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x) -> array``: log Σ exp(x) over the last axis, shape ``x.shape[:-1]``,
    finite even for logits around ±1000."""
    return check_function(
        fn, lambda x: logsumexp(x, axis=-1), _logits_inputs, strict=strict,
        name="log-sum-exp",
        trials=8, rtol=1e-10, atol=1e-10,
        hint="subtract m = x.max(axis=-1, keepdims=True) before exp, add m back after log "
             "(and drop the kept axis)")


def _distribution(rng: np.random.Generator, shape: tuple[int, ...], zeros: bool) -> np.ndarray:
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    if zeros and shape[-1] > 1:
        p = np.where(rng.random(shape) < 0.3, 0.0, p)
        p[..., 0] += 0.05                              # every row keeps some mass
        p /= p.sum(axis=-1, keepdims=True)
    return p


def _kl_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    k = int(rng.integers(2, 7))
    shape = (k,) if rng.random() < 0.5 else (int(rng.integers(1, 5)), k)   # one row or a batch
    return _distribution(rng, shape, zeros=True), _distribution(rng, shape, zeros=False)


def check_kl_divergence(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(p, q) -> array``: KL(p‖q) = Σ p log(p/q) over the last axis, with p having
    some zero entries (whose terms must count as 0)."""
    return check_function(
        fn, info.kl_divergence, _kl_inputs, strict=strict,
        name="KL divergence", trials=6,
        rtol=1e-9, atol=1e-12,
        hint="sum p * (log p - log q) over the last axis, counting terms with p == 0 as 0 "
             "(e.g. np.where(p > 0, ..., 0.0)); 0 * log 0 would give NaN")


def _nll_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    n = int(rng.integers(1, 30))
    x = rng.normal(2.0, 3.0, size=n)
    mu = x + rng.normal(size=n)
    return x, mu, float(rng.uniform(0.1, 5.0))


def check_gaussian_nll(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(x, mu, sigma2) -> float``: the mean Gaussian negative log-likelihood
    ½ log(2πσ²) + (x - μ)²/(2σ²) of (N,) arrays ``x`` and ``mu`` and a variance ``sigma2``."""
    return check_function(
        fn, lambda x, mu, s2: info.gaussian_nll(x, mu, s2), _nll_inputs,
        strict=strict,
        name="Gaussian negative log-likelihood", trials=6, rtol=1e-10, atol=1e-12,
        hint="per sample 0.5 * np.log(2 * np.pi * sigma2) + (x - mu) ** 2 / (2 * sigma2), "
             "then the mean")


def _ce_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n, k = int(rng.integers(1, 8)), int(rng.integers(2, 6))
    z = rng.normal(size=(n, k)) * [1.0, 30.0, 500.0][int(rng.integers(0, 3))]
    return z, rng.integers(0, k, size=n)


def _ce_reference(z: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(log_softmax(z)[np.arange(len(y)), y]))


def check_cross_entropy_from_logits(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(z, y) -> float``: the mean of -log softmax(z)[i, y_i] for logits (N, K) and
    integer labels (N,), finite for logits in the hundreds (as ``F.cross_entropy``)."""
    return check_function(
        fn, _ce_reference, _ce_inputs, strict=strict,
        name="cross-entropy from logits", trials=6,
        rtol=1e-9, atol=1e-9,
        hint="log softmax(z) = z - logsumexp(z) over axis 1 (with the max subtracted); "
             "pick column y_i of row i with [np.arange(N), y], negate and average")


def _bayes_inputs(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    shape = random_shape(rng, max_ndim=2, max_size=4) + (int(rng.integers(2, 6)),)   # (..., K)
    log_prior = log_softmax(rng.normal(size=shape))            # a proper prior over K hypotheses
    # log-likelihoods of a whole data set: often around -1000, where exp underflows to 0
    offset = [0.0, -1000.0][int(rng.integers(0, 2))]
    log_lik = offset + rng.normal(size=shape) * [1.0, 30.0][int(rng.integers(0, 2))]
    return log_prior, log_lik


def check_log_posterior(fn, *, strict: bool | None = None) -> Verdict:
    """Check ``fn(log_prior, log_lik) -> array``: Bayes' rule in log space over the last
    axis, log p(h | D) = log p(h) + log p(D | h) - log Σ_h' p(h') p(D | h'), for arrays of
    shape (..., K) with log-likelihoods around -1000 (where exp underflows)."""
    return check_function(
        fn, lambda lp, ll: log_softmax(lp + ll, axis=-1), _bayes_inputs, strict=strict,
        name="log posterior (Bayes' rule)", trials=8, rtol=1e-9, atol=1e-9,
        hint="add log prior and log-likelihood, then subtract their log-sum-exp over the last "
             "axis (with the max subtracted, keepdims=True) so the posterior sums to 1")
