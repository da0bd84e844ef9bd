"""Probability and information in NumPy: a stable softmax, entropy, KL, and maximum likelihood.

Three groups of functions, each short enough to read in one go:

1. **The log-sum-exp trick.** ``log Σ_i exp(x_i)`` overflows for ``x_i ≈ 1000`` (``exp(1000)``
   is ``inf`` in float64) and underflows to ``log 0 = -inf`` for ``x_i ≈ -1000``. With
   ``m = max_i x_i``,

       log Σ_i exp(x_i) = m + log Σ_i exp(x_i - m),

   and now every exponent is ≤ 0 and the largest term is exactly ``exp(0) = 1``: no overflow,
   and the sum is ≥ 1, so no ``log 0``. ``softmax`` and ``log_softmax`` follow from it.
   (The three live in :mod:`course_lib.scratch.functional`, with the sigmoid, because every
   later chapter uses them; this module re-exports them.)

2. **Information measures** of discrete distributions along the last axis (Shannon 1948;
   Kullback & Leibler 1951; Cover & Thomas, *Elements of Information Theory*, ch. 2):

       H(p)     = -Σ_i p_i log p_i                  entropy
       H(p, q)  = -Σ_i p_i log q_i                  cross-entropy
       KL(p‖q)  =  Σ_i p_i log(p_i / q_i)           Kullback-Leibler divergence
       H(p, q)  =  H(p) + KL(p‖q)

   with the convention ``0 · log 0 = 0`` (and ``0 · log(0/0) = 0``).

3. **Maximum likelihood** in closed form for a Bernoulli coin (θ̂ = k / n) and a Gaussian
   (μ̂ = mean, σ̂² = mean squared deviation), and the negative log-likelihoods that become the
   losses of later chapters: binary cross-entropy (Bernoulli) and the Gaussian NLL (MSE up to
   constants).
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.functional import log_softmax, logsumexp, softmax
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    check_positive,
    check_same_shape,
)

# logsumexp, softmax and log_softmax live in functional (every chapter uses them); they are
# re-exported here for the chapter 03 notebook, which teaches them.
__all__ = [
    "logsumexp", "softmax", "log_softmax",
    "entropy", "cross_entropy", "kl_divergence",
    "bernoulli_mle", "bernoulli_log_likelihood", "binary_cross_entropy",
    "gaussian_mle", "gaussian_nll",
]

#: How far a row of a probability distribution may sum from 1 before it is refused.
SUM_TOL = 1e-6


# ---------------------------------------------------------------------------------------------
# 2. entropy, cross-entropy, KL divergence
# ---------------------------------------------------------------------------------------------

def _distribution(p, where: str, name: str) -> np.ndarray:
    """Validate probability vectors along the last axis: finite, ≥ 0, each row summing to 1."""
    p = as_float_array(p, where, name, finite=True, dtype=np.float64)
    if p.ndim == 0:
        raise ValueError(f"{where}: {name} must have at least one dimension (the outcomes), "
                         f"got a scalar")
    if np.any(p < 0):
        raise ValueError(f"{where}: {name} must have non-negative entries, "
                         f"got minimum {p.min():.6g}")
    sums = p.sum(axis=-1)
    worst = np.max(np.abs(sums - 1.0))
    if worst > SUM_TOL:
        bad = np.reshape(sums, -1)[np.argmax(np.abs(np.reshape(sums, -1) - 1.0))]
        raise ValueError(f"{where}: each row of {name} (last axis) must sum to 1 "
                         f"(tolerance {SUM_TOL:g}), got a row summing to {bad:.10g}")
    return p


def _pair(p, q, where: str) -> tuple[np.ndarray, np.ndarray]:
    p, q = _distribution(p, where, "p"), _distribution(q, where, "q")
    check_same_shape(p, q, where, "p", "q")
    return p, q


def _log_base(base: float | None, where: str) -> float:
    """The divisor turning natural logs into logs to ``base`` (1.0 for nats)."""
    if base is None:
        return 1.0
    base = check_positive(base, where, "base")
    if base == 1.0:
        raise ValueError(f"{where}: base must be positive and not 1, got 1")
    return float(np.log(base))


def _plogq(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise ``p · log q`` with ``0 · log q = 0`` even where q = 0 (so no NaN)."""
    with np.errstate(divide="ignore"):
        return np.where(p > 0, p * np.log(np.where(p > 0, q, 1.0)), 0.0)


def entropy(p, base: float | None = None) -> np.ndarray:
    """Shannon entropy ``H(p) = -Σ_i p_i log p_i`` along the last axis, with ``0 log 0 = 0``.

    Args:
        p: probabilities, shape ``(..., K)``, non-negative, each row summing to 1
            (within ``SUM_TOL``).
        base: logarithm base; None for natural logs (nats), 2 for bits.

    Returns:
        float64 array of shape ``p.shape[:-1]`` (a 0-d value for a single distribution),
        between 0 and ``log K``.
    """
    p = _distribution(p, "entropy", "p")
    return -np.sum(_plogq(p, p), axis=-1) / _log_base(base, "entropy")


def cross_entropy(p, q, base: float | None = None) -> np.ndarray:
    """Cross-entropy ``H(p, q) = -Σ_i p_i log q_i`` along the last axis.

    Terms with ``p_i = 0`` are 0; a ``q_i = 0`` where ``p_i > 0`` gives ``+inf`` (the model
    called an observed outcome impossible).

    Args:
        p: the true distribution, shape ``(..., K)``.
        q: the model's distribution, same shape.
        base: logarithm base; None for nats.

    Returns:
        float64 array of shape ``p.shape[:-1]``; ``H(p, q) = H(p) + KL(p‖q) ≥ H(p)``.
    """
    p, q = _pair(p, q, "cross_entropy")
    return -np.sum(_plogq(p, q), axis=-1) / _log_base(base, "cross_entropy")


def kl_divergence(p, q, base: float | None = None) -> np.ndarray:
    """Kullback-Leibler divergence ``KL(p‖q) = Σ_i p_i (log p_i - log q_i)`` along the last axis.

    Not symmetric: ``KL(p‖q)`` punishes ``q`` for putting little mass where ``p`` has much,
    ``KL(q‖p)`` the reverse. Always ≥ 0 (Gibbs' inequality), 0 exactly when ``p == q``.

    Args:
        p, q: probabilities of the same shape ``(..., K)``.
        base: logarithm base; None for nats.

    Returns:
        float64 array of shape ``p.shape[:-1]``; ``+inf`` where ``q_i = 0 < p_i``.
    """
    p, q = _pair(p, q, "kl_divergence")
    # Σ p log p - Σ p log q, term by term so that each term is exactly 0 where p = 0.
    kl = np.sum(_plogq(p, p) - _plogq(p, q), axis=-1)
    kl = np.maximum(kl, 0.0)                     # rounding may leave -1e-16 where p ≈ q
    return kl / _log_base(base, "kl_divergence")


# ---------------------------------------------------------------------------------------------
# 3. maximum likelihood: Bernoulli and Gaussian
# ---------------------------------------------------------------------------------------------

def _binary(x, where: str) -> np.ndarray:
    x = as_array(x, where, "x", dtype_kind="fiub")
    if not np.all((x == 0) | (x == 1)):
        bad = x[(x != 0) & (x != 1)].flat[0]
        raise ValueError(f"{where}: x must hold 0/1 outcomes, got a value {float(bad)!r}")
    return x.astype(np.float64)


def _probability(theta, where: str, name: str) -> np.ndarray:
    theta = as_float_array(theta, where, name, finite=True, dtype=np.float64)
    if np.any((theta < 0) | (theta > 1)):
        raise ValueError(f"{where}: {name} must lie in [0, 1], got values in "
                         f"[{theta.min():.6g}, {theta.max():.6g}]")
    return theta


def bernoulli_mle(x) -> float:
    """Maximum-likelihood estimate of a coin's heads probability: ``θ̂ = k / n``.

    Setting ``d/dθ [k log θ + (n - k) log(1 - θ)] = k/θ - (n - k)/(1 - θ)`` to 0 gives k / n.

    Args:
        x: 0/1 outcomes (ints, floats or bools), any shape; all entries are flips of one coin.

    Returns:
        θ̂ as a float in [0, 1].
    """
    return float(np.mean(_binary(x, "bernoulli_mle")))


def bernoulli_log_likelihood(theta, x) -> np.ndarray:
    """``log L(θ) = k log θ + (n - k) log(1 - θ)`` for 0/1 data ``x`` (k heads in n flips).

    Args:
        theta: heads probability, a scalar or an array of candidates (e.g. a grid) in [0, 1].
        x: 0/1 outcomes, any shape.

    Returns:
        float64 array of ``theta``'s shape; ``-inf`` where the data are impossible
        (e.g. θ = 0 but a head was seen), with ``0 log 0 = 0`` otherwise.
    """
    x = _binary(x, "bernoulli_log_likelihood")
    theta = _probability(theta, "bernoulli_log_likelihood", "theta")
    k, n = x.sum(), x.size
    with np.errstate(divide="ignore", invalid="ignore"):     # the branch np.where discards
        heads = np.where(k > 0, k * np.log(theta), 0.0)
        tails = np.where(n - k > 0, (n - k) * np.log1p(-theta), 0.0)
    return heads + tails


def binary_cross_entropy(p, y) -> float:
    """Mean Bernoulli negative log-likelihood (log loss): ``-mean[y log p + (1-y) log(1-p)]``.

    Matches ``torch.nn.functional.binary_cross_entropy(p, y)`` (which also clamps each log at
    -100, so a confident wrong prediction costs 100 rather than inf; we do the same).

    Args:
        p: predicted probabilities of class 1, any shape, in [0, 1].
        y: targets of the same shape, in [0, 1] (usually 0/1 labels).

    Returns:
        The mean loss as a float.
    """
    p = _probability(p, "binary_cross_entropy", "p")
    y = _probability(y, "binary_cross_entropy", "y")
    check_same_shape(p, y, "binary_cross_entropy", "p", "y")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(p), -100.0)
        log_1mp = np.maximum(np.log1p(-p), -100.0)
    return float(-np.mean(y * log_p + (1 - y) * log_1mp))


def gaussian_mle(x) -> tuple[float, float]:
    """Maximum-likelihood estimates of a Gaussian's mean and variance.

    ``μ̂ = (1/N) Σ x_i`` and ``σ̂² = (1/N) Σ (x_i - μ̂)²`` (dividing by N, not N - 1: the MLE
    of the variance is biased low by a factor (N - 1)/N).

    Args:
        x: samples, any shape with at least one element, finite.

    Returns:
        ``(mu_hat, sigma2_hat)`` as floats.
    """
    x = as_float_array(x, "gaussian_mle", "x", finite=True, dtype=np.float64)
    mu = float(np.mean(x))
    return mu, float(np.mean((x - mu) ** 2))


def gaussian_nll(x, mu, sigma2, reduction: str = "mean"):
    """Gaussian negative log-likelihood ``½ log(2π σ²) + (x - μ)² / (2σ²)`` per sample.

    With σ² fixed this is ``(x - μ)² / (2σ²)`` plus a constant: minimising it over μ (or over
    a model's predictions μ) is minimising the mean squared error. Matches
    ``torch.nn.functional.gaussian_nll_loss(mu, x, sigma2, full=True)``.

    Args:
        x: observations, any shape.
        mu: means (e.g. a model's predictions), broadcastable with ``x``.
        sigma2: variances > 0, broadcastable with ``x``.
        reduction: "mean" (a float), "sum" (a float) or "none" (the broadcast array).
    """
    where = "gaussian_nll"
    x = as_float_array(x, where, "x", finite=True, dtype=np.float64)
    mu = as_float_array(mu, where, "mu", finite=True, dtype=np.float64)
    sigma2 = as_float_array(sigma2, where, "sigma2", finite=True, dtype=np.float64)
    if np.any(sigma2 <= 0):
        raise ValueError(f"{where}: sigma2 must be > 0, got minimum {sigma2.min():.6g}")
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{where}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    try:
        shape = np.broadcast_shapes(x.shape, mu.shape, sigma2.shape)
    except ValueError:
        raise ValueError(f"{where}: x, mu and sigma2 must broadcast together, got shapes "
                         f"{x.shape}, {mu.shape} and {sigma2.shape}") from None
    nll = 0.5 * np.log(2 * np.pi * sigma2) + (x - mu) ** 2 / (2 * sigma2)
    nll = np.broadcast_to(nll, shape)
    if reduction == "none":
        return np.array(nll)
    return float(np.mean(nll) if reduction == "mean" else np.sum(nll))
