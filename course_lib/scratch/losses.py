"""A gallery of binary classification losses, each a function of the margin ``m = y·f(x)``.

With labels ``y ∈ {−1, +1}`` and a real score ``f(x)``, the margin ``m = y f(x)`` is positive
when the example is on the right side of the boundary and large when it is confidently right.
Every loss below is written once, as a function of ``m`` (elementwise, any shape), so the
chapter-06 plot and the tests use the same code:

======================  ==================================  ===============================
name                    ℓ(m)                                used by
======================  ==================================  ===============================
``zero_one``            1 if m ≤ 0 else 0                   the error rate (not trainable)
``absolute``            |1 − m|  (= |y − f| since y² = 1)   least absolute deviations
``square``              (1 − m)² (= (y − f)²)               least squares, Fisher LDA
``log``                 ln(1 + e^{−m})                      logistic regression
``exponential``         e^{−m}                              AdaBoost (Freund & Schapire)
``hinge``               max(0, 1 − m)                       support vector machines
``perceptron``          max(0, −m)                          Rosenblatt's perceptron
``cross_entropy_bits``  −log₂ σ(m) = ln(1 + e^{−m}) / ln 2  binary cross-entropy in bits
``focal``               −(1 − σ(m))^γ ln σ(m)               Lin et al., "Focal loss" (2017)
======================  ==================================  ===============================

``σ(m) = 1/(1 + e^{−m})`` is the probability the logistic model gives to the true class, so the
binary cross-entropy ``−ln σ(m)`` *is* the log loss; measured in bits it passes through
(0, 1) and bounds the 0-1 loss from above, like the hinge and exponential losses (Bishop, PRML
fig. 7.5; Hastie, Tibshirani & Friedman, ESL fig. 10.4). The focal loss with γ = 0 is the log
loss; γ > 0 down-weights the well-classified examples (large m).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from course_lib.scratch.validate import as_array, as_float_array, check_positive, check_same_shape

__all__ = ["margin", "zero_one", "absolute", "square", "log", "exponential", "hinge",
           "perceptron", "cross_entropy_bits", "focal", "MARGIN_LOSSES"]


def _m(m, where: str) -> np.ndarray:
    """The margins as a float array of any shape (ints become float64)."""
    return as_float_array(m, where, "m", allow_empty=True)


def margin(y, f) -> np.ndarray:
    """The margin ``m = y · f`` of labels ``y ∈ {−1, +1}`` and scores ``f`` (same shape)."""
    y = as_array(y, "margin", "y", dtype_kind="fiu", allow_empty=True)
    f = _m(f, "margin")
    check_same_shape(y, f, "margin", "y", "f")
    if not np.all(np.isin(y, (-1, 1))):
        raise ValueError(f"margin: labels y must be -1 or +1, got values {np.unique(y)[:5]}")
    return y * f


def zero_one(m) -> np.ndarray:
    """0-1 loss ``[m ≤ 0]``: 1 for a mistake (or a point on the boundary), else 0."""
    m = _m(m, "zero_one")
    return np.where(m <= 0, 1.0, 0.0)


def absolute(m) -> np.ndarray:
    """Absolute loss ``|1 − m|``, equal to ``|y − f|`` for y = ±1."""
    return np.abs(1.0 - _m(m, "absolute"))


def square(m) -> np.ndarray:
    """Square loss ``(1 − m)²``, equal to ``(y − f)²`` for y = ±1; it also punishes m > 1."""
    return (1.0 - _m(m, "square")) ** 2


def log(m) -> np.ndarray:
    """Logistic (log) loss ``ln(1 + e^{−m})``, computed as ``logaddexp(0, −m)`` (no overflow)."""
    return np.logaddexp(0.0, -_m(m, "log"))


def exponential(m) -> np.ndarray:
    """Exponential loss ``e^{−m}`` (AdaBoost); grows fastest for confident mistakes."""
    return np.exp(-_m(m, "exponential"))


def hinge(m) -> np.ndarray:
    """Hinge loss ``max(0, 1 − m)``: zero once the margin exceeds 1."""
    return np.maximum(0.0, 1.0 - _m(m, "hinge"))


def perceptron(m) -> np.ndarray:
    """Perceptron loss ``max(0, −m)``: the hinge without a margin; its subgradient step on a
    mistake is exactly the perceptron update."""
    return np.maximum(0.0, -_m(m, "perceptron"))


def cross_entropy_bits(m) -> np.ndarray:
    """Binary cross-entropy of the logistic model in bits: ``−log₂ σ(m) = ln(1 + e^{−m}) / ln 2``.

    With target ``t = (1 + y)/2`` and ``p = σ(f)``, ``−[t log p + (1 − t) log(1 − p)] = −log σ(m)``.
    """
    return np.logaddexp(0.0, -_m(m, "cross_entropy_bits")) / np.log(2.0)


def focal(m, gamma: float = 2.0) -> np.ndarray:
    """Focal loss ``−(1 − p_t)^γ ln p_t`` with ``p_t = σ(m)`` (Lin et al., ICCV 2017).

    ``ln p_t = −ln(1 + e^{−m})`` and ``1 − p_t = σ(−m)`` are computed stably. γ ≥ 0;
    γ = 0 gives the log loss.
    """
    m = _m(m, "focal")
    gamma = check_positive(gamma, "focal", "gamma", allow_zero=True)
    log_pt = -np.logaddexp(0.0, -m)                   # ln σ(m)
    one_minus_pt = np.exp(-np.logaddexp(0.0, m))      # σ(−m)
    return -(one_minus_pt ** gamma) * log_pt


#: name -> loss function of the margin (focal with its default γ = 2), in plotting order.
MARGIN_LOSSES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "0-1": zero_one, "absolute": absolute, "square": square, "log": log,
    "exponential": exponential, "hinge": hinge, "perceptron": perceptron,
    "cross-entropy (bits)": cross_entropy_bits, "focal (γ=2)": focal,
}
