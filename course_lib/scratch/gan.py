"""The losses of a generative adversarial network, in NumPy (Goodfellow et al. 2014).

"Generative Adversarial Nets", NeurIPS 2014, arXiv:1406.2661. A discriminator D(x) = σ(a(x))
(a: its logit) and a generator G(z) play the minimax game

    min_G max_D  V(D, G) = E_{x ~ p_data}[log D(x)] + E_{z ~ p(z)}[log(1 − D(G(z)))].

Functions (``a`` are discriminator logits, any shape; losses are means over all elements):

- :func:`discriminator_loss`   −V as a loss for D: binary cross-entropy, real → 1, fake → 0;
- :func:`generator_loss`       the saturating log(1 − D(G(z))) of the game, or the
  non-saturating −log D(G(z)) the paper recommends in practice;
- :func:`generator_loss_grad`  its derivative with respect to the fake logits: −σ(a) and
  −(1 − σ(a)) respectively, which is why the first vanishes when D rejects the fakes;
- :func:`optimal_discriminator` D*(x) = p_data(x) / (p_data(x) + p_g(x)) for a fixed G;
- :func:`gan_value`            V(D, G) for densities tabulated on a grid of points.
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.functional import log_sigmoid, sigmoid
from course_lib.scratch.validate import as_array, as_float_array, check_positive, check_same_shape

__all__ = ["discriminator_loss", "generator_loss", "generator_loss_grad",
           "optimal_discriminator", "gan_value", "GENERATOR_LOSSES"]

#: The two generator losses of Goodfellow et al. (2014).
GENERATOR_LOSSES = ("saturating", "non_saturating")


def discriminator_loss(logits_real, logits_fake) -> float:
    """D's loss −[mean log D(x) + mean log(1 − D(G(z)))] from its logits on real and fake data.

    Args:
        logits_real: (N,) or any shape, a(x) on real data.
        logits_fake: (M,) or any shape, a(G(z)) on generated data.

    Returns:
        A float; its minimum over D is −max_D V(D, G).
    """
    w = "discriminator_loss"
    real = as_float_array(logits_real, w, "logits_real", finite=True, dtype=np.float64)
    fake = as_float_array(logits_fake, w, "logits_fake", finite=True, dtype=np.float64)
    return float(-np.mean(log_sigmoid(real)) - np.mean(log_sigmoid(-fake)))


def _kind(kind: str, where: str) -> str:
    if kind not in GENERATOR_LOSSES:
        raise ValueError(f"{where}: kind must be one of {GENERATOR_LOSSES}, got {kind!r}")
    return kind


def generator_loss(logits_fake, kind: str = "non_saturating") -> float:
    """The generator's loss from D's logits a on generated samples, averaged.

    - ``"saturating"``:     mean log(1 − σ(a)) (G minimises the game's value directly);
    - ``"non_saturating"``: mean −log σ(a)     (same fixed point, strong gradients early on).
    """
    w = "generator_loss"
    a = as_float_array(logits_fake, w, "logits_fake", finite=True, dtype=np.float64)
    if _kind(kind, w) == "saturating":
        return float(np.mean(log_sigmoid(-a)))
    return float(-np.mean(log_sigmoid(a)))


def generator_loss_grad(logits_fake, kind: str = "non_saturating") -> np.ndarray:
    """∂(generator loss)/∂a for every fake logit a, same shape as ``logits_fake``.

    Per element (before the 1/M of the mean): saturating −σ(a) = −D(G(z)), which goes to 0
    when D confidently rejects a fake; non-saturating −(1 − σ(a)) = −(1 − D(G(z))), which
    goes to −1 there.
    """
    w = "generator_loss_grad"
    a = as_float_array(logits_fake, w, "logits_fake", finite=True, dtype=np.float64)
    d = sigmoid(a)
    g = -d if _kind(kind, w) == "saturating" else -(1.0 - d)
    return g / a.size


def optimal_discriminator(p_data, p_g) -> np.ndarray:
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), the best discriminator against a fixed G.

    Args:
        p_data, p_g: densities (≥ 0) at the same points, same shape. Where both are 0 the
            value does not matter; 0.5 is returned.

    Returns:
        Array of the same shape with values in [0, 1].
    """
    w = "optimal_discriminator"
    p = as_array(p_data, w, "p_data").astype(np.float64)
    q = as_array(p_g, w, "p_g").astype(np.float64)
    check_same_shape(p, q, w, "p_data", "p_g")
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError(f"{w}: densities must be >= 0")
    total = p + q
    return np.where(total > 0, p / np.where(total > 0, total, 1.0), 0.5)


def gan_value(p_data, p_g, D, dx: float) -> float:
    """V(D, G) = ∫ p_data log D + p_g log(1 − D) dx, by a Riemann sum on a grid of spacing dx.

    Terms whose density is 0 count as 0 (so D may be exactly 0 or 1 where they vanish).

    Args:
        p_data, p_g: (K,) densities on the grid; D: (K,) discriminator outputs in [0, 1].
        dx: grid spacing > 0.

    Returns:
        A float ≤ 0; for D = D* it equals −log 4 + 2 JS(p_data ‖ p_g).
    """
    w = "gan_value"
    p = as_array(p_data, w, "p_data", ndim=1).astype(np.float64)
    q = as_array(p_g, w, "p_g", ndim=1).astype(np.float64)
    d = as_array(D, w, "D", ndim=1).astype(np.float64)
    dx = check_positive(dx, w, "dx")
    if not p.shape == q.shape == d.shape:
        raise ValueError(f"{w}: p_data, p_g and D must have the same shape (K,), got "
                         f"{p.shape}, {q.shape}, {d.shape}")
    if np.any(d < 0) or np.any(d > 1):
        raise ValueError(f"{w}: D must hold probabilities in [0, 1]")
    with np.errstate(divide="ignore"):
        real = np.where(p > 0, p * np.log(np.where(p > 0, d, 1.0)), 0.0)
        fake = np.where(q > 0, q * np.log(np.where(q > 0, 1.0 - d, 1.0)), 0.0)
    return float(np.sum(real + fake) * dx)
