"""Regularisation from scratch (NumPy only): L1/L2 penalties, inverted dropout, label
smoothing, early stopping.

    value, grads = l2_penalty([W1, W2], lam=1e-3)          # (λ/2) Σ‖W‖², grads λ W
    out, cache = dropout_forward(h, p=0.5, train=True, rng=rng)
    loss, dlogits = label_smoothing_cross_entropy(logits, y, smoothing=0.1)
    stopper = EarlyStopping(patience=5); stop = stopper.update(val_loss)

- **L2** (ridge, "weight decay" for plain SGD): R(θ) = (λ/2) Σ θ², ∇R = λθ. A step of SGD on
  loss + R is θ ← θ − η(g + λθ) = (1 − ηλ)θ − ηg: it shrinks every weight by the same factor.
- **L1** (lasso): R(θ) = λ Σ |θ|, subgradient λ·sign(θ). Its proximal step (soft thresholding,
  :func:`course_lib.scratch.sparse_coding.soft_threshold`) sets small weights exactly to zero.
- **Inverted dropout** (Srivastava et al., "Dropout: a simple way to prevent neural networks
  from overfitting", JMLR 2014): in training each unit is kept with probability 1 − p and the
  kept ones are divided by 1 − p, so E[out] = x and evaluation is the identity.
- **Label smoothing** (Szegedy et al., "Rethinking the Inception architecture", CVPR 2016):
  cross-entropy against q = (1 − ε)·one_hot(y) + ε/K instead of the one-hot target.
- **Early stopping**: keep the parameters of the epoch with the best validation loss and stop
  after ``patience`` epochs without improvement (Prechelt, "Early stopping — but when?", 1998).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from course_lib.scratch.functional import log_softmax
from course_lib.scratch.validate import (
    as_array,
    as_float_array,
    check_finite,
    check_grad_shape,
    check_int,
    check_labels,
    check_positive,
    check_rng,
)

__all__ = ["l1_penalty", "l2_penalty", "DropoutCache", "dropout_forward", "dropout_backward",
           "smooth_labels",
           "label_smoothing_cross_entropy", "EarlyStopping"]


# ----------------------------------------------------------------------------- penalties

def _params(params, where: str) -> list[np.ndarray]:
    if isinstance(params, np.ndarray):
        params = [params]
    if not isinstance(params, (list, tuple)) or not params:
        raise TypeError(f"{where}: params must be an array or a non-empty list of arrays, "
                        f"got {type(params).__name__}")
    return [as_float_array(p, where, f"params[{i}]", dtype=np.float64)
            for i, p in enumerate(params)]


def l2_penalty(params: Sequence[np.ndarray] | np.ndarray,
               lam: float) -> tuple[float, list[np.ndarray]]:
    """L2 penalty R = (λ/2) Σ_i ‖θ_i‖² over all parameter arrays, and its gradients λ θ_i.

    Args:
        params: one array or a list of arrays (any shapes).
        lam: λ >= 0.

    Returns:
        ``(R, [λ θ_i, ...])``, the gradients float64 and shaped like the parameters.
        With the factor ½, SGD on loss + R is SGD with ``weight_decay=λ``.
    """
    ps = _params(params, "l2_penalty")
    lam = check_positive(lam, "l2_penalty", "lam", allow_zero=True)
    return 0.5 * lam * float(sum(np.sum(p * p) for p in ps)), [lam * p for p in ps]


def l1_penalty(params: Sequence[np.ndarray] | np.ndarray,
               lam: float) -> tuple[float, list[np.ndarray]]:
    """L1 penalty R = λ Σ_i Σ |θ_i| and its subgradient λ·sign(θ_i) (0 at θ = 0, as torch).

    Args:
        params: one array or a list of arrays. lam: λ >= 0.

    Returns:
        ``(R, [λ sign(θ_i), ...])``.
    """
    ps = _params(params, "l1_penalty")
    lam = check_positive(lam, "l1_penalty", "lam", allow_zero=True)
    return lam * float(sum(np.sum(np.abs(p)) for p in ps)), [lam * np.sign(p) for p in ps]


# ----------------------------------------------------------------------------- dropout

@dataclass(frozen=True)
class DropoutCache:
    """What :func:`dropout_forward` keeps: the output ``shape`` and the ``scale`` m/(1 − p)
    applied to every element (None in evaluation mode or with p = 0: the identity)."""

    shape: tuple[int, ...]
    scale: np.ndarray | None


def dropout_forward(x: np.ndarray, p: float, *, train: bool,
                    rng: np.random.Generator | None = None,
                    mask: np.ndarray | None = None) -> tuple[np.ndarray, DropoutCache]:
    """Inverted dropout, as ``torch.nn.functional.dropout``.

    Training: ``out = x ⊙ m / (1 − p)`` with m_i ~ Bernoulli(1 − p) (1 = keep), so every
    unit is dropped with probability p and E[out] = x. Evaluation: ``out = x``.

    Args:
        x: activations, any shape, float.
        p: the drop probability in [0, 1] (p = 1 drops everything: out = 0).
        train: training mode (random mask) or evaluation mode (identity).
        rng: Generator for the mask (needed when training and ``mask`` is None).
        mask: optional given keep-mask of x's shape (bool or 0/1), e.g. to reproduce the
            mask another implementation drew.

    Returns:
        out (shaped like x) and the cache for :func:`dropout_backward`.
    """
    where = "dropout_forward"
    x = as_array(x, where, "x", dtype_kind="f", allow_empty=True)
    p = check_positive(p, where, "p", allow_zero=True)
    if p > 1:
        raise ValueError(f"{where}: p is a probability and must be in [0, 1], got {p}")
    if not train or p == 0:
        return x.copy(), DropoutCache(x.shape, None)
    if mask is None:
        rng = check_rng(rng, where, "rng (needed in training mode without a mask)")
        keep = rng.random(x.shape) >= p                           # P(keep) = 1 − p
    else:
        keep = as_array(mask, where, "mask", allow_empty=True)
        if keep.shape != x.shape:
            raise ValueError(f"{where}: mask must have the shape of x {x.shape}, "
                             f"got {keep.shape}")
        if not np.all((keep == 0) | (keep == 1)):
            raise ValueError(f"{where}: mask must hold only 0/1 (or False/True)")
        keep = keep.astype(bool)
    scale = keep / (1.0 - p) if p < 1 else np.zeros(x.shape)     # m / (1 − p)
    return x * scale, DropoutCache(x.shape, scale)


def dropout_backward(dout: np.ndarray, cache: DropoutCache) -> np.ndarray:
    """Backward pass of :func:`dropout_forward`: ``dx = dout ⊙ m / (1 − p)`` (training) or
    ``dout`` (evaluation). Returns dx shaped like dout."""
    if not isinstance(cache, DropoutCache):
        raise TypeError("dropout_backward: cache must be the cache returned by dropout_forward")
    dout = as_array(dout, "dropout_backward", "dout", dtype_kind="f", allow_empty=True)
    dout = check_grad_shape(dout, cache.shape, "dropout_backward", allow_empty=True)
    return dout.copy() if cache.scale is None else dout * cache.scale


# ----------------------------------------------------------------------------- label smoothing

def smooth_labels(y: np.ndarray, n_classes: int, smoothing: float) -> np.ndarray:
    """Smoothed targets q = (1 − ε)·one_hot(y) + ε / K.

    Args:
        y: (N,) integer labels in [0, K). n_classes: K >= 2. smoothing: ε in [0, 1].

    Returns:
        (N, K) float64 rows summing to 1: 1 − ε + ε/K on the true class, ε/K elsewhere.
    """
    where = "smooth_labels"
    K = check_int(n_classes, where, "n_classes", low=2)
    eps = check_positive(smoothing, where, "smoothing", allow_zero=True)
    if eps > 1:
        raise ValueError(f"{where}: smoothing must be in [0, 1], got {eps}")
    y = check_labels(y, len(np.asarray(y)), K, where)
    q = np.full((len(y), K), eps / K)
    q[np.arange(len(y)), y] += 1.0 - eps
    return q


def label_smoothing_cross_entropy(logits: np.ndarray, y: np.ndarray,
                                  smoothing: float = 0.1) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of softmax(logits) against smoothed targets, and its gradient.

    ``loss = −(1/N) Σ_n Σ_k q_nk log softmax(z_n)_k`` with q from :func:`smooth_labels`;
    ``∂loss/∂z = (softmax(z) − q) / N``. Equals ``torch.nn.functional.cross_entropy(z, y,
    label_smoothing=ε)``; ε = 0 is ordinary cross-entropy.

    Args:
        logits: (N, K) float scores. y: (N,) integer labels. smoothing: ε in [0, 1].

    Returns:
        ``(loss, dlogits)``: a float and an (N, K) float64 array.
    """
    where = "label_smoothing_cross_entropy"
    z = as_array(logits, where, "logits", ndim=2, dtype_kind="f").astype(np.float64)
    check_finite(z, where, "logits")
    N, K = z.shape
    if K < 2:
        raise ValueError(f"{where}: logits must have at least 2 classes (columns), got {K}")
    y = check_labels(y, N, K, where)
    q = smooth_labels(y, K, smoothing)                            # (N, K)
    logp = log_softmax(z, axis=1)                                 # (N, K), stable
    loss = -float(np.sum(q * logp)) / N
    return loss, (np.exp(logp) - q) / N


# ----------------------------------------------------------------------------- early stopping

class EarlyStopping:
    """Stop training when the validation loss has not improved for ``patience`` epochs.

        stopper = EarlyStopping(patience=5)
        for epoch in range(max_epochs):
            ...train one epoch...
            if stopper.update(val_loss):      # True: time to stop
                break
        # restore the parameters saved at stopper.best_epoch

    An epoch improves when ``val_loss < best − min_delta``.

    Attributes:
        best: the best validation loss so far (inf before the first update).
        best_epoch: the (0-based) epoch it occurred at (−1 before the first update).
        epoch: the number of updates so far.
        history: every value passed to :meth:`update`.
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0) -> None:
        self.patience = check_int(patience, "EarlyStopping", "patience", low=1)
        self.min_delta = check_positive(min_delta, "EarlyStopping", "min_delta",
                                        allow_zero=True)
        self.best, self.best_epoch, self.epoch = float("inf"), -1, 0
        self.history: list[float] = []

    @property
    def improved(self) -> bool:
        """Whether the latest update was a new best (save the parameters then)."""
        return self.best_epoch == self.epoch - 1 and self.epoch > 0

    def update(self, val_loss: float) -> bool:
        """Record one epoch's validation loss; return True when training should stop."""
        if isinstance(val_loss, bool) or not isinstance(val_loss, (int, float, np.number)):
            raise TypeError(f"EarlyStopping.update: val_loss must be a number, "
                            f"got {type(val_loss).__name__}")
        v = float(val_loss)
        if np.isnan(v):
            raise ValueError("EarlyStopping.update: val_loss is NaN; the run diverged")
        self.history.append(v)
        if v < self.best - self.min_delta:
            self.best, self.best_epoch = v, self.epoch
        self.epoch += 1
        return self.epoch - 1 - self.best_epoch >= self.patience
