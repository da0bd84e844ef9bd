"""The basic functions every chapter uses, in their numerically stable forms (NumPy only).

=================  =====================================================  =================
function           computes                                               torch equivalent
=================  =====================================================  =================
``sigmoid``        σ(z) = 1 / (1 + e^{−z}), elementwise                   ``torch.sigmoid``
``log_sigmoid``    log σ(z) = −softplus(−z), elementwise                  ``F.logsigmoid``
``logsumexp``      log Σ_i exp(x_i) along an axis                         ``torch.logsumexp``
``softmax``        exp(x_i) / Σ_j exp(x_j) along an axis                  ``torch.softmax``
``log_softmax``    x_i − logsumexp(x) along an axis                       ``torch.log_softmax``
``one_hot``        integer labels → rows of 0s with a 1 at the label      ``F.one_hot``
=================  =====================================================  =================

**Why "stable".** In float64 ``exp(z)`` overflows to ``inf`` for z > 709 and underflows to 0
for z < −745, so the textbook formulas give ``inf/inf = NaN`` or ``log 0 = −inf`` for logits
that are merely large. Each function here is rewritten so that every ``exp`` sees an exponent
≤ 0 (it can only underflow, harmlessly, to 0):

- sigmoid with ``e = exp(−|z|) ∈ (0, 1]``: ``σ(z) = 1/(1 + e)`` for z ≥ 0, ``e/(1 + e)`` for
  z < 0;
- log-sigmoid as ``−(max(−z, 0) + log1p(exp(−|z|)))``;
- the **log-sum-exp trick**: with ``m = max_i x_i``,
  ``log Σ_i exp(x_i) = m + log Σ_i exp(x_i − m)``; the largest term is exactly ``exp(0) = 1``,
  so the sum is ≥ 1 and its log is finite. ``softmax`` and ``log_softmax`` follow from it.

These functions are taught in chapter 03 (:mod:`course_lib.scratch.information`: log-sum-exp,
softmax) and chapter 05 (:mod:`course_lib.scratch.logistic`: the sigmoid), which re-export
them; every other module imports them from here. All return float64.
"""

from __future__ import annotations

import numpy as np

from course_lib.scratch.validate import as_array, as_float_array, check_int, check_labels

__all__ = ["sigmoid", "log_sigmoid", "logsumexp", "softmax", "log_softmax", "one_hot"]


# ---------------------------------------------------------------------------------------------
# Elementwise: the sigmoid and its log
# ---------------------------------------------------------------------------------------------

def sigmoid(z) -> np.ndarray:
    """The logistic sigmoid ``σ(z) = 1 / (1 + e^{-z})``, elementwise, without overflow.

    ``e^{-z}`` overflows for ``z < -709`` and ``e^{z} / (1 + e^{z})`` gives ``inf/inf`` for
    ``z > 709``. With ``e = e^{-|z|} ∈ (0, 1]`` both halves are safe:

        σ(z) = 1 / (1 + e)   for z ≥ 0,        σ(z) = e / (1 + e)   for z < 0.

    Args:
        z: logits, any shape (a scalar gives a 0-d array); ints are converted to float64.
            ``±inf`` give 1 and 0; NaN propagates.

    Returns:
        float64 array of ``z.shape`` with entries in [0, 1].
    """
    z = as_float_array(z, "sigmoid", "z", allow_empty=True, dtype=np.float64)
    e = np.exp(-np.abs(z))                                   # never overflows: exponent ≤ 0
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def log_sigmoid(z) -> np.ndarray:
    """``log σ(z) = −softplus(−z) = −(max(−z, 0) + log(1 + e^{−|z|}))``, finite for finite z.

    Note ``log(1 − σ(z)) = log σ(−z)``. Matches ``torch.nn.functional.logsigmoid``.

    Args:
        z: finite logits, any shape; ints are converted to float64.

    Returns:
        float64 array of ``z.shape`` with entries ≤ 0.
    """
    z = as_float_array(z, "log_sigmoid", "z", finite=True, allow_empty=True, dtype=np.float64)
    return -(np.maximum(-z, 0.0) + np.log1p(np.exp(-np.abs(z))))


# ---------------------------------------------------------------------------------------------
# Along an axis: log-sum-exp, softmax, log-softmax
# ---------------------------------------------------------------------------------------------

def _logits(x, where: str, axis: int) -> tuple[np.ndarray, int]:
    """Validate logits and an axis; return float64 logits (NaN/±inf allowed) and the axis."""
    x = as_float_array(x, where, "x", dtype=np.float64)
    if x.ndim == 0:
        raise ValueError(f"{where}: x must have at least one dimension, got a scalar")
    axis = check_int(axis, where, "axis", low=-x.ndim, high=x.ndim - 1)
    return x, axis


def _safe_max(x: np.ndarray, axis: int) -> np.ndarray:
    """max along ``axis`` (keepdims), replaced by 0 where it is ±inf so that x - m stays defined."""
    m = np.max(x, axis=axis, keepdims=True)
    return np.where(np.isfinite(m), m, 0.0)


def _undefined_if_posinf(out: np.ndarray, x: np.ndarray, axis: int) -> np.ndarray:
    """NaN for every slice holding +inf: inf/inf has no meaning (torch gives NaN there too)."""
    return np.where(np.any(np.isposinf(x), axis=axis, keepdims=True), np.nan, out)


def logsumexp(x, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """``log Σ_i exp(x_i)`` along ``axis``, computed as ``m + log Σ_i exp(x_i - m)``, m = max.

    Args:
        x: logits, any shape with at least one dimension (ints are converted to float64).
            ``-inf`` entries contribute ``exp(-inf) = 0``; a slice of only ``-inf`` gives
            ``-inf``; a ``+inf`` entry gives ``+inf``; NaN propagates (as in ``torch.logsumexp``).
        axis: the axis to reduce.
        keepdims: keep the reduced axis with length 1.

    Returns:
        float64 array of ``x.shape`` without ``axis`` (or with it of length 1 if ``keepdims``).
    """
    x, axis = _logits(x, "logsumexp", axis)
    m = _safe_max(x, axis)                                    # (..., 1, ...)
    # x - m may overflow to -inf for spreads beyond 1e308 (harmless: exp gives 0); log 0 = -inf
    # for slices of only -inf.
    with np.errstate(divide="ignore", over="ignore"):
        out = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def softmax(x, axis: int = -1) -> np.ndarray:
    """``softmax(x)_i = exp(x_i - m) / Σ_j exp(x_j - m)`` along ``axis`` (m = max, for stability).

    Args:
        x: logits, any shape with at least one dimension. ``-inf`` entries get probability 0
            (masking); a slice of only ``-inf`` or holding ``+inf`` has no distribution and
            gives NaN, as in torch.
        axis: the axis along which the result sums to 1.

    Returns:
        float64 array of ``x.shape``, entries in [0, 1].
    """
    x, axis = _logits(x, "softmax", axis)
    # Every exponent is ≤ 0, so exp cannot overflow (x - m may round to -inf: exp gives 0).
    # The only 0/0 is a slice of only -inf, which has no distribution: NaN.
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x - _safe_max(x, axis))
        return _undefined_if_posinf(e / np.sum(e, axis=axis, keepdims=True), x, axis)


def log_softmax(x, axis: int = -1) -> np.ndarray:
    """``log softmax(x)_i = x_i - logsumexp(x)`` along ``axis``, without forming ``exp(x)``.

    Args:
        x: logits, any shape with at least one dimension; ``-inf`` entries give ``-inf``
            (slices of only ``-inf``, or holding ``+inf``, give NaN, as in torch).
        axis: the axis to normalise along.

    Returns:
        float64 array of ``x.shape``, entries ≤ 0.
    """
    x, axis = _logits(x, "log_softmax", axis)
    # -inf - (-inf) = NaN for all -inf slices; x - lse may round to -inf beyond 1e308.
    with np.errstate(invalid="ignore", over="ignore"):
        return _undefined_if_posinf(x - logsumexp(x, axis=axis, keepdims=True), x, axis)


# ---------------------------------------------------------------------------------------------
# Labels to vectors
# ---------------------------------------------------------------------------------------------

def one_hot(labels, n_classes: int, dtype=np.float64) -> np.ndarray:
    """One-hot vectors: ``out[..., k] = 1`` where ``k = labels[...]``, 0 elsewhere.

    Args:
        labels: integer array of any shape (at least one entry), values in [0, n_classes).
        n_classes: K ≥ 1 (the vocabulary size V for characters or words).
        dtype: of the result.

    Returns:
        array of shape ``labels.shape + (K,)``, as ``torch.nn.functional.one_hot``.
        Multiplying a one-hot row by a (K, H) matrix picks one row of it: an embedding
        lookup.
    """
    k = check_int(n_classes, "one_hot", "n_classes", low=1)
    labels = as_array(labels, "one_hot", "labels")
    flat = check_labels(labels.reshape(-1), labels.size, k, "one_hot", "labels", per="entry")
    return (flat.reshape(labels.shape)[..., None] == np.arange(k)).astype(dtype)
